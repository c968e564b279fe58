// Weighted column sum binned into a 1-D histogram: the inner loop of the TDECQ optimizer
// (lightlane_core::eye::tdecq, IEEE 802.3 121.8.5). Row i of the equalized window is
//   y[i] = w[0]·c_0[i] + w[1]·c_1[i] + … (f32, columns in order; c_t[i] = data[offs[t] + i])
// and falls in bin trunc(clamp((y − lo)·inv, 0, bins − 1)) evaluated in f64 as the CPU does (a
// NaN in bin 0): the f32 estimate of that coordinate is within one bin (the host checks the
// range), and `edges[b]`, the smallest f32 whose f64 coordinate reaches b, settles it. Each workgroup
// counts into a private histogram and adds it to the global one at the end; each invocation
// handles `rows_per_thread` rows, 256 apart (coalesced), so its loops stay far below lavapipe's
// 65535 iterations.

struct Params {
    n: u32,               // rows
    ncols: u32,           // columns (1..=64)
    bins: u32,            // 1..=4096
    rows_per_thread: u32,
    lo: f32,
    inv: f32,             // 1 / bin width
    top: f32,             // bins − 1
    wg_x: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> data: array<f32>;
@group(0) @binding(2) var<storage, read> offs: array<u32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read> edges: array<f32>;

var<workgroup> local_hist: array<atomic<u32>, 4096>;

@compute @workgroup_size(256)
fn weighted_histogram(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    for (var b = lid; b < p.bins; b = b + 256u) {
        atomicStore(&local_hist[b], 0u);
    }
    workgroupBarrier();
    let g = wid.x + wid.y * p.wg_x;
    let base = g * 256u * p.rows_per_thread;
    for (var r = 0u; r < p.rows_per_thread; r = r + 1u) {
        let i = base + r * 256u + lid;
        if (i < p.n) {
            var y = w[0] * data[offs[0] + i];
            for (var t = 1u; t < p.ncols; t = t + 1u) {
                y = y + w[t] * data[offs[t] + i];
            }
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
            atomicAdd(&local_hist[b], 1u);
        }
    }
    workgroupBarrier();
    for (var b = lid; b < p.bins; b = b + 256u) {
        let c = atomicLoad(&local_hist[b]);
        if (c != 0u) {
            atomicAdd(&hist[b], c);
        }
    }
}
