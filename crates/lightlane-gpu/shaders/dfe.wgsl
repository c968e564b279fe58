// Block-parallel DFE (lightlane_core::eq::block::detect_blocks with Dfe::detect): block b owns
// symbols [b*B, (b+1)*B); one thread runs the sequential DFE from max(b*B - W, 0) with no
// history (decisions before its start contribute no feedback) and keeps its owned part. The
// floating-point operations are those of lightlane_core::eq::dfe::reference_detect:
//   p = y[k] - fb[(2-1)*M + d[k-2]] - ... - fb[(N-1)*M + d[k-N]]   (terms inside the run only)
//   z = p - fb[d[k-1]]  (if k-1 is inside the run),  d[k] = #{j : z >= t_j}
// with fb[(i-1)*M + s] = b[i] * alpha(s) precomputed on the host. Decisions are written packed
// 4 per u32 (B is a multiple of 4, so blocks own whole words).
// The run is split into segments of `seg_len` symbols, one dispatch each (the decision history
// lives in `scratch`, so nothing else carries over): Mesa's llvmpipe (lavapipe) stops every loop
// of a shader invocation after 65535 iterations in total (gallivm's LP_MAX_TGSI_LOOP_ITERATIONS,
// shared by all loops), which a whole block with many taps exceeded — the cause of the
// divergence seen with 12 and 32 taps.

struct Params {
    n: u32,
    block: u32,
    warmup: u32,
    ntaps: u32,
    levels: u32,     // M
    nthr: u32,
    blocks: u32,
    wg_x: u32,
    seg_begin: u32,  // first run index (k - lo) of this dispatch
    seg_len: u32,
    _p0: u32,
    _p1: u32,
    thr: vec4<f32>,  // up to 3 thresholds (PAM4)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> fb: array<f32>;      // ntaps * M
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
// Per-block decision history: block b's run uses scratch[b*(B+W) ..].
@group(0) @binding(4) var<storage, read_write> scratch: array<u32>;

@compute @workgroup_size(64)
fn dfe_blocks(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x + gid.y * p.wg_x * 64u;
    if (b >= p.blocks) {
        return;
    }
    let start = b * p.block;
    let end = min(start + p.block, p.n);
    var lo = 0u;
    if (start > p.warmup) {
        lo = start - p.warmup;
    }
    let h0 = b * (p.block + p.warmup);   // scratch index of the run's first decision
    let k0 = lo + p.seg_begin;
    if (k0 >= end) {
        return;
    }
    let k1 = min(k0 + p.seg_len, end);
    // A packed word split by the segment start: its earlier decisions from the history.
    var word = 0u;
    if (k0 > start) {
        for (var k = k0 & ~3u; k < k0; k = k + 1u) {
            word = word | (scratch[h0 + k - lo] << ((k & 3u) * 8u));
        }
    }
    for (var k = k0; k < k1; k = k + 1u) {
        let run = k - lo;   // decisions available before k
        var acc = y[k];
        for (var i = 2u; i <= p.ntaps; i = i + 1u) {
            if (i <= run) {
                let d_old = scratch[h0 + run - i];
                acc = acc - fb[(i - 1u) * p.levels + d_old];
            }
        }
        var z = acc;
        if (run >= 1u) {
            z = acc - fb[scratch[h0 + run - 1u]];
        }
        var d = 0u;
        for (var j = 0u; j < p.nthr; j = j + 1u) {
            d = d + select(0u, 1u, z >= p.thr[j]);
        }
        scratch[h0 + run] = d;
        if (k >= start) {
            word = word | (d << ((k & 3u) * 8u));
            if ((k & 3u) == 3u || k + 1u == end) {
                out[k >> 2u] = word;
                word = 0u;
            }
        }
    }
}
