// Reed-Solomon syndromes over GF(2^10) (IEEE 802.3 Cl. 91/119: p(x) = x^10 + x^3 + 1, alpha = 2)
// for a batch of received words: S_j = sum_i r_i * alpha^(j*(n-1-i)), j = 0..2t-1
// (the same values as lightlane_core::fec::ReedSolomon::syndromes).
//
// Symbols arrive as u16 packed 2 per u32 (host `&[u16]` reinterpreted), words back to back.
// A workgroup of 64 threads takes 2 words: the word's symbols are converted to logs once into
// workgroup memory, then thread j of the word's 32 accumulates S_j with one antilog lookup per
// non-zero symbol, the exponent j*(n-1-i) mod 1023 updated by subtraction.

struct Params {
    words: u32,      // received words in the batch
    n: u32,          // symbols per word (544 KP4, 528 KR4)
    two_t: u32,      // syndromes per word (30 / 14)
    wg_x: u32,
}

const MAX_N: u32 = 544u;
const ORDER: i32 = 1023;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> symbols: array<u32>;
@group(0) @binding(2) var<storage, read> gf_log: array<u32>;   // 1024 entries, log[0] unused
@group(0) @binding(3) var<storage, read> gf_exp: array<u32>;   // 2048 entries, exp[i] = alpha^(i mod 1023)
@group(0) @binding(4) var<storage, read_write> out: array<u32>; // words * two_t

var<workgroup> logs: array<u32, 1088>;   // 2 words x MAX_N; 0xffff marks a zero symbol
var<workgroup> antilog: array<u32, 2048>;

@compute @workgroup_size(64)
fn syndromes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    for (var i = lid; i < 2048u; i = i + 64u) {
        antilog[i] = gf_exp[i];
    }
    let w0 = (wid.x + wid.y * p.wg_x) * 2u;
    for (var i = lid; i < 2u * p.n; i = i + 64u) {
        let w = w0 + i / p.n;
        var l = 0xffffu;
        if (w < p.words) {
            let s = w * p.n + (i % p.n);
            let sym = extractBits(symbols[s >> 1u], (s & 1u) * 16u, 16u) & 0x3ffu;
            if (sym != 0u) {
                l = gf_log[sym];
            }
        }
        logs[(i / p.n) * MAX_N + (i % p.n)] = l;
    }
    workgroupBarrier();
    let half = lid / 32u;
    let j = lid % 32u;
    let w = w0 + half;
    if (w >= p.words || j >= p.two_t) {
        return;
    }
    // exponent e_i = j*(n-1-i) mod 1023, starting at i = 0
    var e = i32((j * (p.n - 1u)) % 1023u);
    let step = i32(j);
    var acc = 0u;
    let b = half * MAX_N;
    for (var i = 0u; i < p.n; i = i + 1u) {
        let l = logs[b + i];
        if (l != 0xffffu) {
            acc = acc ^ antilog[l + u32(e)];
        }
        e = e - step;
        if (e < 0) {
            e = e + ORDER;
        }
    }
    out[w * p.two_t + j] = acc;
}
