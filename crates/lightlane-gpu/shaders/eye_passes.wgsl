// The eye metrics' passes over points kept on the device (lightlane_core::accel::KeptSignal):
// the points of one eye signal are x[x0 .. x0 + n]; index k below is relative to x0.
//
// eye_scan: per workgroup of SCAN_PER * 256 points, the smallest point and how many equal it,
//   the largest and how many equal it, the first non-finite index (0xffffffff: none; tested
//   on the bits, as WGSL may assume floats finite) and the f32 sum; six words per workgroup
//   (min bits, at min, max bits, at max, first bad, sum bits). The host combines them in
//   workgroup order: the extremes and their counts exactly (a workgroup whose extreme equals
//   the global one holds all its copies there), the sum in f64.
// eye_crossings: for each sample pair (k, k + 1) and threshold t_j, a crossing when exactly one
//   of x[k], x[k + 1] lies below t_j (x < t, which is the CPU's `x - t < 0` in IEEE f32); each
//   is appended, unordered, as (k, bits x[k], bits x[k + 1]) to threshold j's region of
//   `cross` (cap entries of three words), in slots each workgroup reserves with one global
//   atomic per threshold; counts[j] ends as the number of crossings (including those past cap).
// eye_gather: out[i] = x[x0 + idx[i]].
// eye_window: out[r * ncols + j] = x[x0 + clamp((first + r * stride) * s + offs[j], 0, n - 1)]
//   for rows r < rows, the offsets (signed) in idx: TDECQ's histogram windows, and the eye
//   metrics' columns (first 0, stride 1, a row per whole UI, offsets below s).

const WG: u32 = 256u;
const SCAN_PER: u32 = 16u;
const CROSS_PER: u32 = 16u;
const MAX_THR: u32 = 16u;
const NONE: u32 = 0xffffffffu;

struct Params {
    n: u32,       // points in the range
    x0: u32,      // index in x of point 0
    wg_x: u32,    // workgroups along x (the grid may be 2D)
    s: u32,       // samples per UI (eye_window)
    ncols: u32,   // offsets in idx (eye_window) or indices (eye_gather)
    nthr: u32,    // thresholds (eye_crossings, <= 16)
    cap: u32,     // entries per threshold region (eye_crossings)
    rows: u32,    // rows (eye_window)
    first: i32,   // first row's symbol (eye_window)
    stride: u32,  // symbols between rows (eye_window)
    _p0: u32,
    _p1: u32,
    thr: array<vec4<f32>, 4>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read> idx: array<u32>;

fn group_index(wid: vec3<u32>) -> u32 {
    return wid.y * p.wg_x + wid.x;
}

fn finite_bits(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

var<workgroup> r_min: array<f32, WG>;
var<workgroup> r_nmin: array<u32, WG>;
var<workgroup> r_max: array<f32, WG>;
var<workgroup> r_nmax: array<u32, WG>;
var<workgroup> r_bad: array<u32, WG>;
var<workgroup> r_sum: array<f32, WG>;

@compute @workgroup_size(256)
fn eye_scan(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = group_index(wid);
    let base = g * (WG * SCAN_PER);
    var mn = bitcast<f32>(0x7f800000u);
    var mx = bitcast<f32>(0xff800000u);
    var nmn = 0u;
    var nmx = 0u;
    var bad = NONE;
    var sum = 0.0;
    for (var i = 0u; i < SCAN_PER; i = i + 1u) {
        let k = base + i * WG + lid;
        if (k < p.n) {
            let v = x[p.x0 + k];
            if (!finite_bits(v)) {
                bad = min(bad, k);
            } else {
                if (v < mn) {
                    mn = v;
                    nmn = 1u;
                } else if (v == mn) {
                    nmn = nmn + 1u;
                }
                if (v > mx) {
                    mx = v;
                    nmx = 1u;
                } else if (v == mx) {
                    nmx = nmx + 1u;
                }
                sum = sum + v;
            }
        }
    }
    r_min[lid] = mn;
    r_nmin[lid] = nmn;
    r_max[lid] = mx;
    r_nmax[lid] = nmx;
    r_bad[lid] = bad;
    r_sum[lid] = sum;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h = h >> 1u) {
        if (lid < h) {
            let o = lid + h;
            let a = r_min[lid];
            let b = r_min[o];
            if (b < a) {
                r_min[lid] = b;
                r_nmin[lid] = r_nmin[o];
            } else if (b == a) {
                r_nmin[lid] = r_nmin[lid] + r_nmin[o];
            }
            let c = r_max[lid];
            let d = r_max[o];
            if (d > c) {
                r_max[lid] = d;
                r_nmax[lid] = r_nmax[o];
            } else if (d == c) {
                r_nmax[lid] = r_nmax[lid] + r_nmax[o];
            }
            r_bad[lid] = min(r_bad[lid], r_bad[o]);
            r_sum[lid] = r_sum[lid] + r_sum[o];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let w = g * 6u;
        out[w] = bitcast<u32>(r_min[0]);
        out[w + 1u] = r_nmin[0];
        out[w + 2u] = bitcast<u32>(r_max[0]);
        out[w + 3u] = r_nmax[0];
        out[w + 4u] = r_bad[0];
        out[w + 5u] = bitcast<u32>(r_sum[0]);
    }
}

@compute @workgroup_size(256)
fn eye_gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let o = group_index(wid) * WG + lid;
    if (o >= p.ncols) {
        return;
    }
    out[o] = bitcast<u32>(x[p.x0 + idx[o]]);
}

@compute @workgroup_size(256)
fn eye_window(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let o = group_index(wid) * WG + lid;
    if (o >= p.rows * p.ncols || p.n == 0u) {
        return;
    }
    let r = o / p.ncols;
    let j = o - r * p.ncols;
    let at = (p.first + i32(r * p.stride)) * i32(p.s) + bitcast<i32>(idx[j]);
    out[o] = bitcast<u32>(x[p.x0 + u32(clamp(at, 0, i32(p.n) - 1))]);
}

var<workgroup> wg_count: array<atomic<u32>, MAX_THR>;
var<workgroup> wg_base: array<u32, MAX_THR>;

fn threshold(j: u32) -> f32 {
    return p.thr[j >> 2u][j & 3u];
}

// Walks this thread's sample pairs, advancing `at[j]` at each crossing of threshold j; with
// `write`, each crossing goes to slot at[j] (before the advance) of threshold j's region.
fn walk(base: u32, lid: u32, at: ptr<function, array<u32, MAX_THR>>, write: bool) {
    let pairs = select(0u, p.n - 1u, p.n > 0u);
    for (var i = 0u; i < CROSS_PER; i = i + 1u) {
        let k = base + i * WG + lid;
        if (k < pairs) {
            let a = x[p.x0 + k];
            let b = x[p.x0 + k + 1u];
            for (var j = 0u; j < p.nthr; j = j + 1u) {
                let t = threshold(j);
                if ((a < t) != (b < t)) {
                    let slot = (*at)[j];
                    (*at)[j] = slot + 1u;
                    if (write && slot < p.cap) {
                        let w = (j * p.cap + slot) * 3u;
                        out[w] = k;
                        out[w + 1u] = bitcast<u32>(a);
                        out[w + 2u] = bitcast<u32>(b);
                    }
                }
            }
        }
    }
}

@compute @workgroup_size(256)
fn eye_crossings(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    if (lid < MAX_THR) {
        atomicStore(&wg_count[lid], 0u);
    }
    workgroupBarrier();
    let base = group_index(wid) * (WG * CROSS_PER);
    // Pass 1: this thread's crossings per threshold.
    var mine: array<u32, MAX_THR>;
    for (var j = 0u; j < MAX_THR; j = j + 1u) {
        mine[j] = 0u;
    }
    walk(base, lid, &mine, false);
    var at: array<u32, MAX_THR>;
    for (var j = 0u; j < p.nthr; j = j + 1u) {
        at[j] = 0u;
        if (mine[j] > 0u) {
            at[j] = atomicAdd(&wg_count[j], mine[j]);
        }
    }
    workgroupBarrier();
    if (lid < p.nthr) {
        let c = atomicLoad(&wg_count[lid]);
        wg_base[lid] = 0u;
        if (c > 0u) {
            wg_base[lid] = atomicAdd(&counts[lid], c);
        }
    }
    workgroupBarrier();
    for (var j = 0u; j < p.nthr; j = j + 1u) {
        at[j] = at[j] + wg_base[j];
    }
    // Pass 2: write them (the pairs are in cache).
    walk(base, lid, &at, true);
}
