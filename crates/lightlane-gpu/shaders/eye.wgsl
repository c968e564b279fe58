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
// The privatized kernels (eye_private, eye_tiled) count into a workgroup histogram of 16-bit
// counts, two bins a u32 word (bin b: word b >> 1, the low half for even b), so one atomic adds
// both columns of a pair when a segment's line stays in one row across them (most do: a row
// is 1/A of the range, a column pair 2/m of a sample interval). The host bounds the segments
// a workgroup counts so that no count passes 65 535 (each segment adds at most one to a bin).
//
// eye_private: each workgroup accumulates into a private histogram in workgroup memory
// (A*B <= EYE_BINS) and adds its non-zero bins to the global one at the end. The host gives
// each workgroup enough segments (SEGS*256) that the end-of-workgroup flush stays small beside
// the counting.
// eye_tiled: larger histograms whose columns of PH sample phases fit EYE_BINS (A*m*PH <=
// EYE_BINS): workgroup (tile, chunk) counts the segments of phases tile*PH .. +PH in the
// periods of its chunk into a private A x (PH*m) histogram, then adds it to its columns of
// the global one. Workgroups of one chunk are adjacent, so they read the chunk from L2.
// eye_global: global atomics (histograms too large for either); each thread walks SEGS
// consecutive segments so a workgroup's writes stay within a few columns.

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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> hist: array<atomic<u32>>;

// The workgroup histogram: EYE_BINS 16-bit counts in EYE_BINS / 2 words.
const EYE_BINS: u32 = 8192u;
var<workgroup> eye_priv: array<atomic<u32>, 4096>;

// Clears the words of bins 0..bins.
fn eye_clear(lid: u32, bins: u32) {
    for (var w = lid; w < (bins + 1u) / 2u; w = w + 256u) {
        atomicStore(&eye_priv[w], 0u);
    }
    workgroupBarrier();
}

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

// Visits the bins of segment k in the global histogram: bin = row * B + col + j.
fn segment_global(k: u32, col: u32) {
    let qa = quant(y[k]);
    let qb = quant(y[k + 1u]);
    let mi = i32(p.m);
    let qr = div_m(qb - qa);
    var a = qa;
    var acc = 0;
    for (var j = 0u; j < p.m; j = j + 1u) {
        let r = a >> 8u;
        if (r >= 0 && r < i32(p.bins_a)) {
            atomicAdd(&hist[u32(r) * p.bins_t + col + j], 1u);
        }
        // a = qa + floor_div((qb - qa) * (j + 1), m)
        a = a + qr.x;
        acc = acc + qr.y;
        if (acc >= mi) {
            acc = acc - mi;
            a = a + 1;
        }
    }
}

// Visits the bins of segment k in the workgroup histogram: bin = row * stride + col + j; an
// even bin whose right neighbour (column j + 1) is in the same row takes both in one atomic.
fn segment_priv(k: u32, stride: u32, col: u32) {
    let qa = quant(y[k]);
    let qb = quant(y[k + 1u]);
    let mi = i32(p.m);
    let qr = div_m(qb - qa);
    var a = qa;
    var acc = 0;
    var j = 0u;
    loop {
        if (j >= p.m) {
            break;
        }
        let r = a >> 8u;
        // Row of column j + 1.
        var a1 = a + qr.x;
        var acc1 = acc + qr.y;
        if (acc1 >= mi) {
            acc1 = acc1 - mi;
            a1 = a1 + 1;
        }
        var step = 1u;
        if (r >= 0 && r < i32(p.bins_a)) {
            let bin = u32(r) * stride + col + j;
            if ((bin & 1u) == 0u && j + 1u < p.m && (a1 >> 8u) == r) {
                atomicAdd(&eye_priv[bin >> 1u], 0x10001u);
                step = 2u;
            } else {
                atomicAdd(&eye_priv[bin >> 1u], 1u << ((bin & 1u) * 16u));
            }
        }
        a = a1;
        acc = acc1;
        if (step == 2u) {
            a = a + qr.x;
            acc = acc + qr.y;
            if (acc >= mi) {
                acc = acc - mi;
                a = a + 1;
            }
        }
        j = j + step;
    }
}

@compute @workgroup_size(256)
fn eye_private(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let bins = p.bins_a * p.bins_t;
    eye_clear(lid, bins);
    let wg = wid.x + wid.y * p.wg_x;
    let first = wg * 256u * p.segs;
    // Interleaved within the workgroup's range: neighbouring threads take neighbouring segments.
    // The phase (k0 + k) % P advances by 256 % P a step (no division per segment).
    let step = 256u % p.period;
    var ph = (p.k0 + first + lid) % p.period;
    for (var s = 0u; s < p.segs; s = s + 1u) {
        let k = first + s * 256u + lid;
        if (k + 1u < p.n) {
            segment_priv(k, p.bins_t, ph * p.m);
        }
        ph = ph + step;
        if (ph >= p.period) {
            ph = ph - p.period;
        }
    }
    // Both halves of each word to their global bins.
    workgroupBarrier();
    for (var w = lid; w < (bins + 1u) / 2u; w = w + 256u) {
        let c = atomicLoad(&eye_priv[w]);
        if ((c & 0xffffu) != 0u) {
            atomicAdd(&hist[2u * w], c & 0xffffu);
        }
        if ((c >> 16u) != 0u) {
            atomicAdd(&hist[2u * w + 1u], c >> 16u);
        }
    }
}

@compute @workgroup_size(256)
fn eye_global(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let wg = wid.x + wid.y * p.wg_x;
    let first = wg * 256u * p.segs;
    for (var s = 0u; s < p.segs; s = s + 1u) {
        let k = first + s * 256u + lid;
        if (k + 1u < p.n) {
            segment_global(k, ((p.k0 + k) % p.period) * p.m);
        }
    }
}

@compute @workgroup_size(256)
fn eye_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let ph_n = p.tile_phases;
    let tiles = (p.period + ph_n - 1u) / ph_n;
    let wg = wid.x + wid.y * p.wg_x;
    let tile = wg % tiles;
    let chunk = wg / tiles;
    let ph0 = tile * ph_n;
    let nph = min(ph_n, p.period - ph0);
    let width = ph_n * p.m;
    let bins = p.bins_a * width;
    eye_clear(lid, bins);
    // Segment k has phase (k0 + k) % P; item i is phase ph0 + i % nph of period
    // chunk*chunk_periods + i / nph, counted from the period holding sample 0.
    // (q, rr) = (i / nph, i % nph), stepped without a division per item.
    let items = p.chunk_periods * nph;
    let first = chunk * p.chunk_periods;
    let step_q = 256u / nph;
    let step_r = 256u % nph;
    var q = lid / nph;
    var rr = lid % nph;
    for (var i = lid; i < items; i = i + 256u) {
        let g = (first + q) * p.period + ph0 + rr;
        if (g >= p.k0 && g - p.k0 + 1u < p.n) {
            segment_priv(g - p.k0, width, rr * p.m);
        }
        q = q + step_q;
        rr = rr + step_r;
        if (rr >= nph) {
            rr = rr - nph;
            q = q + 1u;
        }
    }
    // Local bin r * width + c is global bin r * B + ph0 * m + c.
    workgroupBarrier();
    for (var w = lid; w < (bins + 1u) / 2u; w = w + 256u) {
        let c = atomicLoad(&eye_priv[w]);
        for (var h = 0u; h < 2u; h = h + 1u) {
            let v = (c >> (16u * h)) & 0xffffu;
            if (v != 0u) {
                let b = 2u * w + h;
                atomicAdd(&hist[(b / width) * p.bins_t + ph0 * p.m + b % width], v);
            }
        }
    }
}
