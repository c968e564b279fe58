// Eye histogram: the canonical algorithm of EYE_HIST_SPEC (shared with lightlane_core::eye and
// lightlane_gpu::reference::eye_histogram). Integer after one float step:
//   q_k = i32(clamp(floor((y_k - lo) * s256), -(A*256), 2*A*256))   (NaN -> -(A*256))
//   segment k (k = 0..n-2), column base c0 = ((k0 + k) % P) * m, for j in 0..m:
//     a = q_k + floor_div((q_{k+1} - q_k) * j, m);  r = a >> 8;  if 0 <= r < A: hist[r*B + c0 + j] += 1
//
// eye_private: each workgroup accumulates into a private histogram in workgroup memory
// (A*B <= PRIV_BINS) and adds its non-zero bins to the global one at the end
// (private_histogram.wgsl, prepended by shaders.rs).
// eye_global: global atomics; each thread walks SEGS consecutive segments (tiling) so a
// workgroup's writes stay within a few columns.

struct Params {
    n: u32,          // samples in this chunk (segments = n - 1)
    k0: u32,         // (global index of sample 0) % P
    period: u32,     // P = S*U
    m: u32,          // columns per sample interval
    bins_t: u32,     // B
    bins_a: u32,     // A
    lo: f32,
    s256: f32,
    wg_x: u32,
    segs: u32,       // segments per thread
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> hist: array<atomic<u32>>;

fn quant(v: f32) -> i32 {
    let lim = f32(p.bins_a * 256u);
    let f = floor((v - p.lo) * p.s256);
    // NaN test on the bits: compilers may fold `f != f` away.
    let bits = bitcast<u32>(f) & 0x7fffffffu;
    if (bits > 0x7f800000u) {
        return -i32(p.bins_a * 256u);
    }
    return i32(clamp(f, -lim, 2.0 * lim));
}

fn floor_div(a: i32, b: i32) -> i32 {
    var q = a / b;
    if ((a % b) != 0 && a < 0) {
        q = q - 1;
    }
    return q;
}

// Visits the bins of segment k; `priv` selects the workgroup histogram.
fn segment(k: u32, use_priv: bool) {
    let qa = quant(y[k]);
    let qb = quant(y[k + 1u]);
    let d = qb - qa;
    let c0 = ((p.k0 + k) % p.period) * p.m;
    let mi = i32(p.m);
    for (var j = 0u; j < p.m; j = j + 1u) {
        let a = qa + floor_div(d * i32(j), mi);
        let r = a >> 8u;
        if (r >= 0 && r < i32(p.bins_a)) {
            let bin = u32(r) * p.bins_t + c0 + j;
            if (use_priv) {
                atomicAdd(&priv_hist[bin], 1u);
            } else {
                atomicAdd(&hist[bin], 1u);
            }
        }
    }
}

@compute @workgroup_size(256)
fn eye_private(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let bins = p.bins_a * p.bins_t;
    priv_clear(lid, bins);
    let wg = wid.x + wid.y * p.wg_x;
    let first = wg * 256u * p.segs;
    // Interleaved within the workgroup's range: neighbouring threads take neighbouring segments.
    for (var s = 0u; s < p.segs; s = s + 1u) {
        let k = first + s * 256u + lid;
        if (k + 1u < p.n) {
            segment(k, true);
        }
    }
    priv_flush(lid, bins);
}

@compute @workgroup_size(256)
fn eye_global(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let wg = wid.x + wid.y * p.wg_x;
    let first = wg * 256u * p.segs;
    for (var s = 0u; s < p.segs; s = s + 1u) {
        let k = first + s * 256u + lid;
        if (k + 1u < p.n) {
            segment(k, false);
        }
    }
}
