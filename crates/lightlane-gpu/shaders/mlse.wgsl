// Block-parallel Viterbi MLSE (lightlane_core::eq::block::detect_blocks with Mlse::detect): block
// b owns symbols [b*B, (b+1)*B); one invocation runs the whole Mlse::detect (the generic trellis
// of lightlane_core::eq::mlse::run_generic: M levels, memory 1 or 2, at most 16 states) on
// [b*B - W, (b+1)*B + W) clipped to the input, and keeps the owned part. Same floating-point
// operations in the same order as the CPU:
//   yk = clamp(y[k]) ; per new state nx (s = nx % M, base = nx / M), for j = 0..M-1 in order:
//   p = base + j*stride, idx = p*M + s, d = yk - mu[idx],
//   c = pm[p] + d*d        (Euclidean)   or   c = pm[p] + (d*d*w[idx] + b[idx])  (weighted)
//   the first strictly smaller c wins; every 8th symbol state 0's metric is subtracted;
//   block traceback every `tb_block + tb_depth` symbols as on the CPU.
// Products pass through `opaque` (an xor with a uniform zero) so that no compiler contracts
// them with the following add into an FMA, which would round differently from the CPU.
// The run is split into segments of `seg_len` symbols, one dispatch each, with the path metrics
// and traceback progress kept in `state` between them: Mesa's llvmpipe (lavapipe) stops every
// loop of a shader invocation after 65535 iterations in total (gallivm's
// LP_MAX_TGSI_LOOP_ITERATIONS, shared by all loops), which a whole window would exceed.
// Survivors: one u32 per symbol, 2 bits per state (the winning j), in `surv` at the block's
// own range; decisions packed 4 per u32 (B is a multiple of 4, so blocks own whole words).

struct Params {
    n: u32,
    block: u32,
    warmup: u32,
    blocks: u32,
    m: u32,          // levels
    states: u32,
    stride: u32,     // states / m
    weighted: u32,
    tb_block: u32,
    tb_depth: u32,
    wg_x: u32,
    zero: u32,       // always 0 (see opaque)
    lo: f32,         // input clamp range
    hi: f32,
    seg_begin: u32,  // first window symbol of this dispatch
    seg_len: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
// Per branch idx = p*M + s: (mu, w, b, 0).
@group(0) @binding(2) var<storage, read> table: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<storage, read_write> surv: array<u32>;
// Per block: path metrics (16 words, f32 bits), symbols decided (word 16).
@group(0) @binding(5) var<storage, read_write> state: array<u32>;

fn opaque(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ p.zero);
}

fn clamp_input(v: f32) -> f32 {
    let t = select(p.hi, v, v < p.hi);
    return select(p.lo, t, t > p.lo);
}

fn prev_state(base: u32, t: u32, s0: u32) -> u32 {
    let j = (surv[base + t] >> (2u * s0)) & 3u;
    return s0 / p.m + j * p.stride;
}

fn put(lo: u32, t: u32, start: u32, end: u32, d: u32) {
    let k = lo + t;
    if (k >= start && k < end) {
        let sh = (k & 3u) * 8u;
        out[k >> 2u] = (out[k >> 2u] & ~(0xffu << sh)) | (d << sh);
    }
}

@compute @workgroup_size(64)
fn mlse_blocks(@builtin(global_invocation_id) gid: vec3<u32>) {
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
    let hi = min(end + p.warmup, p.n);
    let len = hi - lo;
    let sbase = b * (p.block + 2u * p.warmup);
    let ring_len = p.tb_block + p.tb_depth;
    if (p.seg_begin >= len) {
        return;
    }
    let st = b * 17u;
    var pm: array<f32, 16>;
    var nxt: array<f32, 16>;
    var decided = 0u;
    if (p.seg_begin == 0u) {
        for (var i = 0u; i < 16u; i = i + 1u) {
            pm[i] = 0.0;
        }
    } else {
        for (var i = 0u; i < p.states; i = i + 1u) {
            pm[i] = bitcast<f32>(state[st + i]);
        }
        decided = state[st + 16u];
    }
    let inf = bitcast<f32>(0x7f800000u);
    let seg_end = min(p.seg_begin + p.seg_len, len);
    for (var k = p.seg_begin; k < seg_end; k = k + 1u) {
        let yk = clamp_input(y[lo + k]);
        var word = 0u;
        for (var nx = 0u; nx < p.states; nx = nx + 1u) {
            let s = nx % p.m;
            let base = nx / p.m;
            var best = inf;
            var arg = 0u;
            for (var j = 0u; j < p.m; j = j + 1u) {
                let pr = base + j * p.stride;
                let e = table[pr * p.m + s];
                let d = yk - e.x;
                let sq = opaque(d * d);
                var c: f32;
                if (p.weighted != 0u) {
                    c = pm[pr] + (opaque(sq * e.y) + e.z);
                } else {
                    c = pm[pr] + sq;
                }
                if (c < best) {
                    best = c;
                    arg = j;
                }
            }
            nxt[nx] = best;
            word = word | (arg << (2u * nx));
        }
        if ((k & 7u) == 7u) {
            let b0 = nxt[0];
            for (var i = 0u; i < p.states; i = i + 1u) {
                nxt[i] = nxt[i] - b0;
            }
        }
        for (var i = 0u; i < p.states; i = i + 1u) {
            pm[i] = nxt[i];
        }
        surv[sbase + k] = word;
        if (k + 1u - decided == ring_len) {
            var sx = 0u;
            for (var i = 1u; i < p.states; i = i + 1u) {
                if (pm[i] < pm[sx]) {
                    sx = i;
                }
            }
            var t = k;
            for (var i = 0u; i < p.tb_depth; i = i + 1u) {
                sx = prev_state(sbase, t, sx);
                t = t - 1u;
            }
            for (var i = 0u; i < p.tb_block; i = i + 1u) {
                put(lo, t, start, end, sx % p.m);
                sx = prev_state(sbase, t, sx);
                t = t - 1u;
            }
            decided = decided + p.tb_block;
        }
    }
    if (seg_end < len) {
        for (var i = 0u; i < p.states; i = i + 1u) {
            state[st + i] = bitcast<u32>(pm[i]);
        }
        state[st + 16u] = decided;
        return;
    }
    var sx = 0u;
    for (var i = 1u; i < p.states; i = i + 1u) {
        if (pm[i] < pm[sx]) {
            sx = i;
        }
    }
    for (var t = len; t > decided; t = t - 1u) {
        put(lo, t - 1u, start, end, sx % p.m);
        sx = prev_state(sbase, t - 1u, sx);
    }
}
