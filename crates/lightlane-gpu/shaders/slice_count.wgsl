// Slicer + pattern comparison + error counting, fused (lightlane_core::modulation::Slicer and
// lightlane_core::pattern::count_errors semantics).
//
// decision d = number of thresholds t with y >= t; expected symbols arrive packed 4 per u32
// (byte k&3 of word k>>2). Both are masked to the modulation's bit width (1 for NRZ, 3 for
// PAM4); bit errors are popcount(x) (binary mapping) or popcount(x ^ (x >> 1)) (Gray) of
// x = d ^ e. Counts are reduced per workgroup, then added to 64-bit counters (lo/hi u32 with
// carry). Symbol-error positions (index + `first`) are appended, unordered, up to `cap`, into
// slots each workgroup reserves with one global atomic.
//
// slice_count: y given. ffe_slice_count: y[k] = sum_j w[j] x[k*sps + base - j] computed in place
// (zero outside x), so the equalized signal never exists in memory (the fused pass);
// ffe_slice_count_unrolled: the same for sps = 1 with the unrolled FFE of ffe_window.wgsl
// (prepended by shaders.rs).

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
// x as vec4s (the unrolled fused kernel; the same buffer as binding 6).
@group(0) @binding(7) var<storage, read> xv: array<vec4<f32>>;

var<workgroup> wg_sym: atomic<u32>;
var<workgroup> wg_bit: atomic<u32>;
// First slot of `positions` reserved for this workgroup's error positions (cap: none).
var<workgroup> wg_slot: u32;

fn decide(v: f32) -> u32 {
    var d = 0u;
    for (var i = 0u; i < p.nthr; i = i + 1u) {
        d = d + select(0u, 1u, v >= p.thr[i >> 2u][i & 3u]);
    }
    return d;
}

// Symbols k0 .. k0+3 (those < n) with values v and expected bytes `word`: (mask of the
// symbol errors, bit errors).
fn judge4(k0: u32, v: vec4<f32>, word: u32) -> vec2<u32> {
    var mask = 0u;
    var bits = 0u;
    for (var r = 0u; r < 4u; r = r + 1u) {
        if (k0 + r < p.n) {
            let d = decide(v[r]) & p.mask;
            let e = extractBits(word, r * 8u, 8u) & p.mask;
            var xd = d ^ e;
            if (p.gray == 1u) {
                xd = xd ^ (xd >> 1u);
            }
            if (d != e) {
                mask = mask | (1u << r);
                bits = bits + countOneBits(xd);
            }
        }
    }
    return vec2<u32>(mask, bits);
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

fn init(lid: u32) {
    if (lid == 0u) {
        atomicStore(&wg_sym, 0u);
        atomicStore(&wg_bit, 0u);
    }
    workgroupBarrier();
}

// Adds the invocation's result `res` (judge4 of symbols k0 ..) to the workgroup's counts, the
// workgroup's to the global counters, and writes the symbol-error positions. One global
// atomic per workgroup reserves the workgroup's position slots (none once `cap` slots are
// taken), so a capture full of errors does not serialize on one counter. counters[4] may pass
// `cap` (the host reads min(counters[4], cap)). Contains barriers: call from uniform control flow.
fn finish(lid: u32, k0: u32, res: vec2<u32>) {
    let nerr = countOneBits(res.x);
    var local = 0u;
    if (nerr != 0u) {
        local = atomicAdd(&wg_sym, nerr);
        atomicAdd(&wg_bit, res.y);
    }
    workgroupBarrier();
    if (lid == 0u) {
        let total = atomicLoad(&wg_sym);
        add64(0u, total);
        add64(2u, atomicLoad(&wg_bit));
        var slot = p.cap;
        if (total != 0u && atomicLoad(&counters[4]) < p.cap) {
            slot = atomicAdd(&counters[4], total);
        }
        wg_slot = slot;
    }
    workgroupBarrier();
    let base = wg_slot;
    if (nerr != 0u && base < p.cap) {
        var s = base + local;
        for (var r = 0u; r < 4u; r = r + 1u) {
            if ((res.x & (1u << r)) != 0u) {
                if (s < p.cap) {
                    positions[s] = p.first + k0 + r;
                }
                s = s + 1u;
            }
        }
    }
}

@compute @workgroup_size(256)
fn slice_count(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    init(lid);
    let t = (wid.x + wid.y * p.wg_x) * 256u + lid;
    let k0 = t * 4u;
    var res = vec2<u32>(0u, 0u);
    if (k0 < p.n) {
        var v = vec4<f32>(0.0);
        for (var r = 0u; r < 4u; r = r + 1u) {
            if (k0 + r < p.n) {
                v[r] = y[p.y0 + k0 + r];
            }
        }
        res = judge4(k0, v, expected[t]);
    }
    finish(lid, k0, res);
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
    var res = vec2<u32>(0u, 0u);
    if (k0 < p.n) {
        var v = vec4<f32>(0.0);
        for (var r = 0u; r < 4u; r = r + 1u) {
            if (k0 + r < p.n) {
                let centre = i32((k0 + r) * p.sps + p.base);
                var acc = 0.0;
                for (var j = 0u; j < p.ntaps; j = j + 1u) {
                    acc = acc + taps[j] * load_x(centre - i32(j));
                }
                v[r] = acc;
            }
        }
        res = judge4(k0, v, expected[t]);
    }
    finish(lid, k0, res);
}

// The fused pass with the unrolled symbol-spaced FFE of ffe_window.wgsl (sps = 1; the host
// sets FW_TAPS = ntaps and FW_BASE = base).
@compute @workgroup_size(256)
fn ffe_slice_count_unrolled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    init(lid);
    let t = (wid.x + wid.y * p.wg_x) * 256u + lid;
    let k0 = t * 4u;
    var res = vec2<u32>(0u, 0u);
    if (k0 < p.n) {
        res = judge4(k0, ffe4(t, p.n_in), expected[t]);
    }
    finish(lid, k0, res);
}
