// Eye histogram: the canonical algorithm of EYE_HIST_SPEC (shared with lightlane_core::eye and
// lightlane_gpu::reference::eye_histogram). Integer after one float step:
//   q_k = i32(clamp(floor((y_k - lo) * s256), -(A*256), 2*A*256))   (NaN -> -(A*256))
//   segment k (k = 0..n-2), column base c0 = ((k0 + k) % P) * m, for j in 0..m:
//     a = q_k + floor_div((q_{k+1} - q_k) * j, m);  r = a >> 8;  if 0 <= r < A: hist[r*B + c0 + j] += 1
//
// floor_div(d*j, m) is stepped without a division per column: d = q*m + rem (0 <= rem < m), so
// floor(d*j/m) = q*j + floor(rem*j/m), whose second term grows by one each time rem*j passes
// a multiple of m.
//
// eye_private: each workgroup accumulates into a private histogram in workgroup memory
// (A*B <= PRIV_BINS) and adds its non-zero bins to the global one at the end
// (private_histogram.wgsl, prepended by shaders.rs). The host gives each workgroup enough
// segments (SEGS*256) that the end-of-workgroup flush stays small beside the counting.
// eye_tiled: larger histograms whose columns of PH sample phases fit PRIV_BINS (A*m*PH <=
// PRIV_BINS): workgroup (tile, chunk) counts the segments of phases tile*PH .. +PH in the
// periods of its chunk into a private A x (PH*m) histogram, then adds it to its columns of
// the global one. Workgroups of one chunk are adjacent, so they read the chunk from L2.
// eye_global: global atomics (histograms too large for either); each thread walks SEGS
// consecutive segments so a workgroup's writes stay within a few columns.
// eye_private_runs, eye_tiled_runs: the same histograms with each invocation counting RUN
// consecutive segments (eye_private_runs) or a tile's consecutive phases of one period
// (eye_tiled_runs), so each sample is loaded and quantized once for the two segments it
// ends and starts, instead of twice (the per-sample work beside the m counts).

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
    segs: u32,       // segments per thread (eye_private, eye_global)
    tile_phases: u32,   // PH (eye_tiled)
    chunk_periods: u32, // periods per workgroup (eye_tiled)
    swz: u32,           // row-swizzle mask of the workgroup histogram (0: rows in plain order)
    _p0: u32,
    _p1: u32,
    _p2: u32,
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

// (floor_div(d, m), d - m * floor_div(d, m)): a shift and a mask when m is a power of two
// (the usual eye), else a division.
fn div_m(d: i32) -> vec2<i32> {
    let mi = i32(p.m);
    if ((p.m & (p.m - 1u)) == 0u) {
        return vec2<i32>(d >> firstTrailingBit(p.m), d & (mi - 1));
    }
    let q = floor_div(d, mi);
    return vec2<i32>(q, d - q * mi);
}

// Counts column c at quantized level a (row a >> 8, if inside) into the workgroup histogram
// (use_priv; rows of `stride` columns, swizzled) or the global one (bin = row * B + c).
fn eye_bin(a: i32, stride: u32, c: u32, use_priv: bool) {
    let r = a >> 8u;
    if (r >= 0 && r < i32(p.bins_a)) {
        if (use_priv) {
            atomicAdd(&priv_hist[u32(r) * stride + swizzle(u32(r), c)], 1u);
        } else {
            atomicAdd(&hist[u32(r) * p.bins_t + c], 1u);
        }
    }
}

// Position of column c in row r of a workgroup histogram: c XOR (r & swz), where the host sets
// swz to the row width − 1 (a power of two) when a subgroup's invocations share their columns
// (a phase tile of fewer than 4 phases, the tile run kernel): a permutation of each row that
// spreads the rows' same columns over the memory banks (without it, 16-way conflicts at one
// phase of 16 columns a tile). Else swz is 0 and the rows are in plain order: invocations on
// many phases hit distinct banks already, and the swizzle cost 5–10% there on the H200.
// Its own inverse.
fn swizzle(r: u32, c: u32) -> u32 {
    return c ^ (r & p.swz);
}

// Adds the workgroup histogram (rows of `stride` columns, swizzled) to the global one at
// column offset `col0`: local column c of row r is global bin r * B + col0 + c.
fn eye_flush(lid: u32, bins: u32, stride: u32, col0: u32) {
    workgroupBarrier();
    for (var b = lid; b < bins; b = b + 256u) {
        let v = atomicLoad(&priv_hist[b]);
        if (v != 0u) {
            let r = b / stride;
            atomicAdd(&hist[r * p.bins_t + col0 + swizzle(r, b % stride)], v);
        }
    }
}

// Visits the bins of segment k: bin = row * stride + col + j. This is the form for any m;
// shaders.rs `eye_segment_source` writes straight-line code for a fixed m (no loop, which wgpu
// would bound with a counter), used when the histogram's m is 1..=EYE_SEGMENT_MAX_M.
// BEGIN segment
fn segment(k: u32, stride: u32, col: u32, use_priv: bool) {
    segment_q(quant(y[k]), quant(y[k + 1u]), stride, col, use_priv);
}

// The segment from quantized level qa to qb.
fn segment_q(qa: i32, qb: i32, stride: u32, col: u32, use_priv: bool) {
    let mi = i32(p.m);
    let qr = div_m(qb - qa);
    var a = qa;
    var acc = 0;
    for (var j = 0u; j < p.m; j = j + 1u) {
        eye_bin(a, stride, col + j, use_priv);
        // a = qa + floor_div((qb - qa) * (j + 1), m)
        a = a + qr.x;
        acc = acc + qr.y;
        if (acc >= mi) {
            acc = acc - mi;
            a = a + 1;
        }
    }
}
// END segment

// A workgroup-private kernel's start: its histogram cleared, and its first segment (each
// workgroup counts 256 * segs of them).
fn private_start(wid: vec3<u32>, lid: u32) -> u32 {
    priv_clear(lid, p.bins_a * p.bins_t);
    return (wid.x + wid.y * p.wg_x) * 256u * p.segs;
}

@compute @workgroup_size(256)
fn eye_private(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let first = private_start(wid, lid);
    // Interleaved within the workgroup's range: neighbouring threads take neighbouring segments.
    // The phase (k0 + k) % P advances by 256 % P a step (no division per segment).
    let step = 256u % p.period;
    var ph = (p.k0 + first + lid) % p.period;
    for (var s = 0u; s < p.segs; s = s + 1u) {
        let k = first + s * 256u + lid;
        if (k + 1u < p.n) {
            segment(k, p.bins_t, ph * p.m, true);
        }
        ph = ph + step;
        if (ph >= p.period) {
            ph = ph - p.period;
        }
    }
    eye_flush(lid, p.bins_a * p.bins_t, p.bins_t, 0u);
}

@compute @workgroup_size(256)
fn eye_global(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let wg = wid.x + wid.y * p.wg_x;
    let first = wg * 256u * p.segs;
    for (var s = 0u; s < p.segs; s = s + 1u) {
        let k = first + s * 256u + lid;
        if (k + 1u < p.n) {
            segment(k, p.bins_t, ((p.k0 + k) % p.period) * p.m, false);
        }
    }
}

// A phase-tile workgroup's share: phases ph0 .. ph0 + nph of the periods from
// chunk * chunk_periods, into a private histogram of `width` columns a row, cleared.
struct Tile {
    ph0: u32,
    nph: u32,
    chunk: u32,
    width: u32,
}

fn tile_start(wid: vec3<u32>, lid: u32) -> Tile {
    let ph_n = p.tile_phases;
    let tiles = (p.period + ph_n - 1u) / ph_n;
    let wg = wid.x + wid.y * p.wg_x;
    let ph0 = (wg % tiles) * ph_n;
    let width = ph_n * p.m;
    priv_clear(lid, p.bins_a * width);
    return Tile(ph0, min(ph_n, p.period - ph0), wg / tiles, width);
}

@compute @workgroup_size(256)
fn eye_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = tile_start(wid, lid);
    let ph0 = t.ph0;
    let nph = t.nph;
    let width = t.width;
    // Segment k has phase (k0 + k) % P; item i is phase ph0 + i % nph of period
    // chunk*chunk_periods + i / nph, counted from the period holding sample 0.
    // (q, rr) = (i / nph, i % nph), stepped without a division per item.
    let items = p.chunk_periods * nph;
    let first = t.chunk * p.chunk_periods;
    let step_q = 256u / nph;
    let step_r = 256u % nph;
    var q = lid / nph;
    var rr = lid % nph;
    for (var i = lid; i < items; i = i + 256u) {
        let g = (first + q) * p.period + ph0 + rr;
        if (g >= p.k0 && g - p.k0 + 1u < p.n) {
            segment(g - p.k0, width, rr * p.m, true);
        }
        q = q + step_q;
        rr = rr + step_r;
        if (rr >= nph) {
            rr = rr - nph;
            q = q + 1u;
        }
    }
    // Local column c of row r is global bin r * B + ph0 * m + c.
    eye_flush(lid, p.bins_a * width, width, ph0 * p.m);
}

// Segments per invocation and run of eye_private_runs.
const RUN: u32 = 4u;

@compute @workgroup_size(256)
fn eye_private_runs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    // The workgroup's 256·segs segments (segs a multiple of RUN) in runs of RUN: run r of
    // pass s is segments first + (s·256 + lid)·RUN … + RUN − 1.
    let first = private_start(wid, lid);
    for (var s = 0u; s < p.segs / RUN; s = s + 1u) {
        let k0 = first + (s * 256u + lid) * RUN;
        if (k0 + 1u < p.n) {
            var ph = (p.k0 + k0) % p.period;
            var qa = quant(y[k0]);
            for (var j = 0u; j < RUN; j = j + 1u) {
                let k = k0 + j;
                if (k + 1u < p.n) {
                    let qb = quant(y[k + 1u]);
                    segment_q(qa, qb, p.bins_t, ph * p.m, true);
                    qa = qb;
                }
                ph = ph + 1u;
                if (ph == p.period) {
                    ph = 0u;
                }
            }
        }
    }
    eye_flush(lid, p.bins_a * p.bins_t, p.bins_t, 0u);
}

@compute @workgroup_size(256)
fn eye_tiled_runs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = tile_start(wid, lid);
    // Invocation lid counts the tile's phases ph0 … ph0 + nph − 1 of periods
    // chunk·chunk_periods + lid, + 256, …: nph consecutive segments each.
    let first = t.chunk * p.chunk_periods;
    for (var q = lid; q < p.chunk_periods; q = q + 256u) {
        let g0 = (first + q) * p.period + t.ph0;
        // Stream index g is segment g − k0 (when inside 0 … n − 2).
        var have = false;
        var qa = 0;
        for (var rr = 0u; rr < t.nph; rr = rr + 1u) {
            let g = g0 + rr;
            if (g >= p.k0 && g - p.k0 + 1u < p.n) {
                let k = g - p.k0;
                if (!have) {
                    qa = quant(y[k]);
                }
                let qb = quant(y[k + 1u]);
                segment_q(qa, qb, t.width, rr * p.m, true);
                qa = qb;
                have = true;
            }
        }
    }
    // Local column c of row r is global bin r * B + ph0 * m + c.
    eye_flush(lid, p.bins_a * t.width, t.width, t.ph0 * p.m);
}
