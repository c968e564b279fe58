//! Bit-sliced syndrome computation for 256 codewords at a time.
//!
//! A block holds symbol `i` of 256 codewords as ten 256-bit *planes*: plane `b` has bit `c`
//! set when bit `b` of codeword `c`'s symbol is set. Multiplication by a constant is GF(2)-linear,
//! so in this form it is a fixed XOR network on the ten planes; for α^j it is sparse
//! (α^0 … α^29 need 0 … 31 XORs, 14.8 on average, versus six table lookups per 32 lanes in
//! `pshufb` form). The Horner step S_j ← S_j·α^j ⊕ r_i therefore costs about 25 plane XORs
//! for 256 codewords. Each α^j gets its own monomorphized network (`const J`), whose
//! constant matrix the compiler folds into straight-line XORs.
//!
//! The code is portable Rust over `[u64; 4]` planes; [`super::simd`] compiles it once with AVX2
//! enabled (each plane operation becomes one `vpxor`) and once for the baseline target, and
//! provides the transposition into and out of planes.

use super::gf;

/// Codewords per bit-sliced block.
pub const SLICE: usize = 256;
/// One 256-bit plane (bit `c` of word `c / 64`).
pub type Plane = [u64; 4];
/// One symbol of 256 codewords: ten planes, least significant bit first.
pub type Sliced = [Plane; 10];

/// Largest number of syndromes (KP4).
pub const MAX_SYNDROMES: usize = 30;

/// Symbols per chunk of the Horner loop: the chunk (10 KiB) stays in L1 across all 2t passes.
const CHUNK: usize = 32;

/// Row masks of the GF(2) matrix of multiplication by α^j: output bit `o` is the XOR of the
/// input bits set in `rows[o]`.
const fn alpha_pow_rows(j: usize) -> [u16; 10] {
    let mut c: u16 = 1;
    let mut k = 0;
    while k < j {
        c <<= 1;
        if c & (1 << gf::SYMBOL_BITS) != 0 {
            c ^= gf::PRIMITIVE_POLY;
        }
        k += 1;
    }
    let mut rows = [0u16; 10];
    let mut b = 0;
    while b < 10 {
        let col = gf::mul_schoolbook(c, 1 << b);
        let mut o = 0;
        while o < 10 {
            if (col >> o) & 1 == 1 {
                rows[o] |= 1 << b;
            }
            o += 1;
        }
        b += 1;
    }
    rows
}

#[inline(always)]
fn xor(a: Plane, b: Plane) -> Plane {
    [a[0] ^ b[0], a[1] ^ b[1], a[2] ^ b[2], a[3] ^ b[3]]
}

/// S ← S·α^J ⊕ r on every lane.
#[inline(always)]
fn step<const J: usize>(s: &mut Sliced, r: &Sliced) {
    let rows = const { alpha_pow_rows(J) };
    let old = *s;
    for o in 0..10 {
        let mut acc = r[o];
        for (b, &plane) in old.iter().enumerate() {
            if (rows[o] >> b) & 1 == 1 {
                acc = xor(acc, plane);
            }
        }
        s[o] = acc;
    }
}

#[inline(always)]
fn horner_chunk<const J: usize>(state: &mut Sliced, chunk: &[Sliced]) {
    let mut s = *state;
    for r in chunk {
        step::<J>(&mut s, r);
    }
    *state = s;
}

macro_rules! dispatch_j {
    ($j:expr, $state:expr, $chunk:expr; $($n:literal)*) => {
        match $j {
            $( $n => horner_chunk::<$n>($state, $chunk), )*
            _ => unreachable!("at most {} syndromes", MAX_SYNDROMES),
        }
    };
}

/// Syndromes S_0 … S_{out.len()−1} of the 256 codewords in `symbols` (symbol 0 = highest
/// power), bit-sliced. `out.len() <= 30`. Inlined into the SIMD wrappers of
/// [`super::simd`], which compile it with their target features.
#[inline(always)]
pub(crate) fn syndromes(symbols: &[Sliced], out: &mut [Sliced]) {
    assert!(out.len() <= MAX_SYNDROMES);
    out.fill([[0; 4]; 10]);
    for chunk in symbols.chunks(CHUNK) {
        for (j, state) in out.iter_mut().enumerate() {
            dispatch_j!(j, state, chunk; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29);
        }
    }
}

/// Bit-slices up to 256 codewords (`cws`, `n` symbols each, end to end) into `out[i]`
/// (portable version; missing codewords are zero).
pub(crate) fn slice_scalar(cws: &[u16], n: usize, out: &mut [Sliced]) {
    out[..n].fill([[0; 4]; 10]);
    for (c, cw) in cws.chunks_exact(n).enumerate() {
        let (w, bit) = (c / 64, c % 64);
        for (sym, &v) in out.iter_mut().zip(cw) {
            for (b, plane) in sym.iter_mut().enumerate() {
                plane[w] |= (((v >> b) & 1) as u64) << bit;
            }
        }
    }
}

/// Value of bit-sliced symbol `s` for lane `c`.
#[inline]
pub(crate) fn lane_value(s: &Sliced, c: usize) -> u16 {
    let (w, bit) = (c / 64, c % 64);
    let mut v = 0u16;
    for (b, plane) in s.iter().enumerate() {
        v |= (((plane[w] >> bit) & 1) as u16) << b;
    }
    v
}

/// Lanes whose syndromes are not all zero, as a plane (bit `c` set for codeword `c`).
#[inline]
pub(crate) fn nonzero_lanes(syn: &[Sliced]) -> Plane {
    let mut m = [0u64; 4];
    for s in syn {
        for p in s {
            m = [m[0] | p[0], m[1] | p[1], m[2] | p[2], m[3] | p[3]];
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_multiply_by_alpha_pow() {
        for j in [0usize, 1, 7, 10, 29] {
            let rows = alpha_pow_rows(j);
            for x in [1u16, 2, 0x3FF, 0x155, 777] {
                let mut y = 0u16;
                for (o, &r) in rows.iter().enumerate() {
                    y |= (((r & x).count_ones() & 1) as u16) << o;
                }
                assert_eq!(y, gf::mul(gf::exp(j), x), "j={j} x={x}");
            }
        }
    }

    #[test]
    fn bitsliced_syndromes_match_direct_evaluation() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let n = 70;
        let count = 200; // partial block
        let cws: Vec<u16> = (0..n * count).map(|_| rng.random_range(0..1024)).collect();
        let mut planes = vec![[[0u64; 4]; 10]; n];
        slice_scalar(&cws, n, &mut planes);
        assert_eq!(lane_value(&planes[3], 17), cws[17 * n + 3]);
        let mut syn = vec![[[0u64; 4]; 10]; 30];
        syndromes(&planes, &mut syn);
        for c in [0usize, 1, 63, 64, 199, 255] {
            for (j, s) in syn.iter().enumerate() {
                let want = if c < count {
                    (0..n).fold(0u16, |acc, i| acc ^ gf::mul(cws[c * n + i], gf::exp(j * (n - 1 - i))))
                } else {
                    0
                };
                assert_eq!(lane_value(s, c), want, "c={c} j={j}");
            }
        }
        let nz = nonzero_lanes(&syn);
        assert_eq!(nz[3] >> 8, 0, "lanes beyond the codewords stay zero");
        assert_eq!(nz[0] & 1, 1);
    }
}
