// Slicer + pattern comparison + error counting, fused (lightlane_core::modulation::Slicer and
// lightlane_core::pattern::count_errors semantics).
//
// decision d = number of thresholds t with y >= t; expected symbols arrive packed 4 per u32
// (byte k&3 of word k>>2). Both are masked to the modulation's bit width (1 for NRZ, 3 for
// PAM4); bit errors are popcount(x) (binary mapping) or popcount(x ^ (x >> 1)) (Gray) of
// x = d ^ e. Counts are reduced per workgroup, then added to 64-bit counters (lo/hi u32 with
// carry). Symbol-error positions (index + `first`) are appended, unordered, up to `cap`.
//
// slice_count: y given. ffe_slice_count: y[k] = sum_j w[j] x[k*sps + base - j] computed in place
// (zero outside x), so the equalized signal never exists in memory (the fused pass).

struct Params {
    n: u32,          // symbols
    nthr: u32,       // thresholds (1..=15)
    mask: u32,       // 1 (NRZ) or 3 (PAM4)
    gray: u32,       // 1: Gray bit mapping
    cap: u32,        // capacity of `positions`
    first: u32,      // global index of symbol 0 (for positions)
    wg_x: u32,
    ntaps: u32,      // fused kernel only
    n_in: u32,       // fused kernel only
    sps: u32,        // fused kernel only
    base: u32,       // fused kernel only
    y0: u32,         // slice_count: index in y of symbol 0
    thr: array<vec4<f32>, 4>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> expected: array<u32>;
// [symbol errors lo, hi, bit errors lo, hi, positions written (saturating past cap)]
@group(0) @binding(3) var<storage, read_write> counters: array<atomic<u32>, 5>;
@group(0) @binding(4) var<storage, read_write> positions: array<u32>;
@group(0) @binding(5) var<storage, read> taps: array<f32>;
@group(0) @binding(6) var<storage, read> x: array<f32>;

var<workgroup> wg_sym: atomic<u32>;
var<workgroup> wg_bit: atomic<u32>;

fn decide(v: f32) -> u32 {
    var d = 0u;
    for (var i = 0u; i < p.nthr; i = i + 1u) {
        d = d + select(0u, 1u, v >= p.thr[i >> 2u][i & 3u]);
    }
    return d;
}

fn account(k: u32, v: f32, word: u32) -> vec2<u32> {
    let d = decide(v) & p.mask;
    let e = extractBits(word, (k & 3u) * 8u, 8u) & p.mask;
    var xd = d ^ e;
    if (p.gray == 1u) {
        xd = xd ^ (xd >> 1u);
    }
    if (d != e) {
        let slot = atomicAdd(&counters[4], 1u);
        if (slot < p.cap) {
            positions[slot] = p.first + k;
        } else {
            atomicSub(&counters[4], 1u);
        }
        return vec2<u32>(1u, countOneBits(xd));
    }
    return vec2<u32>(0u, 0u);
}

fn add64(lo: u32, v: u32) {
    if (v == 0u) {
        return;
    }
    let old = atomicAdd(&counters[lo], v);
    if (old + v < old) {
        atomicAdd(&counters[lo + 1u], 1u);
    }
}

fn flush(lid: u32) {
    workgroupBarrier();
    if (lid == 0u) {
        add64(0u, atomicLoad(&wg_sym));
        add64(2u, atomicLoad(&wg_bit));
    }
}

fn init(lid: u32) {
    if (lid == 0u) {
        atomicStore(&wg_sym, 0u);
        atomicStore(&wg_bit, 0u);
    }
    workgroupBarrier();
}

@compute @workgroup_size(256)
fn slice_count(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    init(lid);
    let t = (wid.x + wid.y * p.wg_x) * 256u + lid;
    let k0 = t * 4u;
    var c = vec2<u32>(0u, 0u);
    if (k0 < p.n) {
        let word = expected[t];
        for (var r = 0u; r < 4u; r = r + 1u) {
            let k = k0 + r;
            if (k < p.n) {
                c = c + account(k, y[p.y0 + k], word);
            }
        }
    }
    if (c.x != 0u) {
        atomicAdd(&wg_sym, c.x);
        atomicAdd(&wg_bit, c.y);
    }
    flush(lid);
}

// slice_only: the decisions alone (Slicer::slice_vec), packed 4 per u32 (byte k&3 of word k>>2)
// into `positions`, which serves as the output words. Invocation t packs symbols 4t .. 4t+3.
@compute @workgroup_size(256)
fn slice_only(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = (wid.x + wid.y * p.wg_x) * 256u + lid;
    let k0 = t * 4u;
    if (k0 >= p.n) {
        return;
    }
    var w = 0u;
    for (var r = 0u; r < 4u; r = r + 1u) {
        let k = k0 + r;
        if (k < p.n) {
            w = w | (decide(y[k]) << (8u * r));
        }
    }
    positions[t] = w;
}

fn load_x(i: i32) -> f32 {
    if (i < 0 || u32(i) >= p.n_in) {
        return 0.0;
    }
    return x[u32(i)];
}

@compute @workgroup_size(256)
fn ffe_slice_count(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    init(lid);
    let t = (wid.x + wid.y * p.wg_x) * 256u + lid;
    let k0 = t * 4u;
    var c = vec2<u32>(0u, 0u);
    if (k0 < p.n) {
        let word = expected[t];
        for (var r = 0u; r < 4u; r = r + 1u) {
            let k = k0 + r;
            if (k < p.n) {
                let centre = i32(k * p.sps + p.base);
                var acc = 0.0;
                for (var j = 0u; j < p.ntaps; j = j + 1u) {
                    acc = acc + taps[j] * load_x(centre - i32(j));
                }
                c = c + account(k, acc, word);
            }
        }
    }
    if (c.x != 0u) {
        atomicAdd(&wg_sym, c.x);
        atomicAdd(&wg_bit, c.y);
    }
    flush(lid);
}
