// Weighted column sums binned into 1-D histograms: the inner loop of the TDECQ optimizer
// (lightlane_core::eye::tdecq, IEEE 802.3 121.8.5), for several windows at once (TDECQ's two
// vertical histograms). Row i of window h is
//   y = w[0]·c_0[i] + w[1]·c_1[i] + … (f32, columns in order; c_t[i] = data[offs[h·ncols + t] + i])
// and falls in bin trunc(clamp((y − lo)·inv, 0, bins − 1)) evaluated in f64 as the CPU does (a
// NaN in bin 0) of window h's histogram (hist[h·bins ..]): the f32 estimate of that coordinate
// is within one bin (the host checks the range), and `edges[b]`, the smallest f32 whose f64
// coordinate reaches b, settles it. Each product passes through `exact` (an XOR with the
// uniform 0 `p.zero`), which a compiler cannot see through: it cannot contract the product and
// the sum into a fused multiply-add, so the sums round as the CPU's do and the counts are
// exact. Rows of every window are laid out window after window, `stride` apart (≥ the longest
// window); each invocation handles `rows_per_thread` of them, 256 apart (coalesced), so its
// loops stay far below lavapipe's 65535 iterations. Private histogram: private_histogram.wgsl.
// Several candidates in one dispatch: workgroup z evaluates candidate z, whose weights are
// w[z·wstride ..] and whose counts go to hist[z·hstride ..] (one candidate: z = 0).
// shaders.rs `weighted_unrolled_source` writes the regions between the BEGIN/END markers as
// straight-line code for a fixed column count: the weights loaded once per invocation into
// registers, the row's sum unrolled in the same order (the same rounding, the same counts).

struct Params {
    stride: u32,          // row slots per window (the longest window's rows)
    ncols: u32,           // columns (1..=64)
    bins: u32,            // bins per window; windows·bins ≤ PRIV_BINS
    rows_per_thread: u32,
    lo: f32,
    inv: f32,             // 1 / bin width
    top: f32,             // bins − 1
    wg_x: u32,
    windows: u32,
    zero: u32,            // 0 (opaque to the compiler: see `exact`)
    wstride: u32,         // weights from one candidate to the next (ncols)
    hstride: u32,         // counts from one candidate to the next (windows·bins)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> data: array<f32>;
@group(0) @binding(2) var<storage, read> offs: array<u32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read> edges: array<f32>;
@group(0) @binding(6) var<storage, read> rows: array<u32>;

// `v`, but not foldable into a fused multiply-add with the sum it enters.
fn exact(v: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(v) ^ p.zero);
}

@compute @workgroup_size(256)
fn weighted_histogram(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let total_bins = p.windows * p.bins;
    let wb = wid.z * p.wstride;
    priv_clear(lid, total_bins);
    let g = wid.x + wid.y * p.wg_x;
    let base = g * 256u * p.rows_per_thread;
    // BEGIN weights
    // END weights
    for (var r = 0u; r < p.rows_per_thread; r = r + 1u) {
        let slot = base + r * 256u + lid;
        let h = slot / p.stride;
        let i = slot - h * p.stride;
        if (h < p.windows && i < rows[h]) {
            let o = h * p.ncols;
            // BEGIN row
            var y = exact(w[wb] * data[offs[o] + i]);
            for (var t = 1u; t < p.ncols; t = t + 1u) {
                y = y + exact(w[wb + t] * data[offs[o + t] + i]);
            }
            // END row
            var x = (y - p.lo) * p.inv;
            // NaN fails the first test and lands in bin 0 (and fails every edge test below).
            x = select(0.0, x, x > 0.0);
            x = select(p.top, x, x < p.top);
            var b = u32(x);
            if (b + 1u < p.bins && y >= edges[b + 1u]) {
                b = b + 1u;
            } else if (b > 0u && !(y >= edges[b])) {
                b = b - 1u;
            }
            atomicAdd(&priv_hist[h * p.bins + b], 1u);
        }
    }
    priv_flush(lid, total_bins, wid.z * p.hstride);
}
