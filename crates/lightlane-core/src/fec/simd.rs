//! The one place with architecture-specific code for the FEC module: runtime-dispatched SIMD
//! kernels, each with a portable fallback that is also its oracle in the conformance tests.
//!
//! Kernels:
//! - [`SimdLevel::mul_const_slice`]: c·x over a slice of `u16` symbols, `pshufb` split tables
//!   (see [`NibbleTables`]): six 16-entry lookups per 16 or 32 lanes.
//! - `slice_block` / `unslice_group`: transposition of 256 codewords into bit planes (8×8
//!   `u16` transposes, then `movemask`) and of syndromes back (`pshufb` bit spreading).
//! - `syndromes_sliced`: the bit-sliced Horner syndromes of [`super::bitslice`], compiled with
//!   AVX2 enabled so each 256-bit plane operation is one instruction.
//! - `chien_block`: evaluation of an error-locator polynomial at 32 consecutive positions per
//!   step (byte-planar `pshufb` multiply); term k advances by the constant α^(−32k).
//!
//! AVX2 is used when the CPU has it (detected at run time). AVX-512/GFNI would double the
//! width, but their intrinsics need Rust 1.89 and the workspace's minimum is 1.85.

use super::bitslice::{self, Sliced, SLICE};
use super::gf::NibbleTables;
use serde::{Deserialize, Serialize};

/// Lanes of one 256-bit register of bytes: codewords per lane group, positions per Chien step.
pub const BLOCK: usize = 32;

/// Instruction-set level of the GF(2^10) kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimdLevel {
    /// Portable table lookups; always available.
    Scalar,
    /// x86-64 AVX2 (`vpshufb` split tables).
    Avx2,
}

impl SimdLevel {
    /// The fastest level this CPU supports.
    pub fn detect() -> Self {
        if SimdLevel::Avx2.is_available() {
            SimdLevel::Avx2
        } else {
            SimdLevel::Scalar
        }
    }

    /// Whether this CPU can run the level.
    pub fn is_available(self) -> bool {
        match self {
            SimdLevel::Scalar => true,
            SimdLevel::Avx2 => crate::simd::avx2(),
        }
    }

    /// All levels this CPU can run, scalar first.
    pub fn available() -> Vec<SimdLevel> {
        [SimdLevel::Scalar, SimdLevel::Avx2]
            .into_iter()
            .filter(|l| l.is_available())
            .collect()
    }

    /// Multiplies each symbol by the constant described by `t`, in place.
    /// Symbols must be `< 1024` (checked by the callers).
    pub(crate) fn mul_const_slice(self, t: &NibbleTables, data: &mut [u16]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 if crate::simd::avx2() => {
                // SAFETY: AVX2 presence was checked at run time just above.
                unsafe { x86::mul_const_slice_avx2(t, data) }
            }
            _ => mul_const_slice_scalar(t, data),
        }
    }

    /// Bit-slices `count` (≤ 256) codewords of `n` symbols (`cws`, end to end) into
    /// `out[0..n]`; lanes `count..256` are zero.
    pub(crate) fn slice_block(self, cws: &[u16], n: usize, count: usize, out: &mut [Sliced]) {
        assert!(count <= SLICE && cws.len() == count * n && out.len() >= n);
        match self {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 if crate::simd::avx2() => {
                // SAFETY: AVX2 checked; lengths asserted above.
                unsafe { x86::slice_block_avx2(cws, n, count, out) }
            }
            _ => bitslice::slice_scalar(cws, n, out),
        }
    }

    /// Un-slices the 32 lanes of group `k` (codewords 32k … 32k+31) of each bit-sliced
    /// syndrome: `lo[j][l]`/`hi[j][l]` are the low/high bytes of S_j of codeword 32k+l.
    pub(crate) fn unslice_group(self, syn: &[Sliced], k: usize, lo: &mut [[u8; BLOCK]], hi: &mut [[u8; BLOCK]]) {
        assert!(k < SLICE / BLOCK && lo.len() >= syn.len() && hi.len() >= syn.len());
        match self {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 if crate::simd::avx2() => {
                // SAFETY: AVX2 checked; lengths asserted above.
                unsafe { x86::unslice_group_avx2(syn, k, lo, hi) }
            }
            _ => {
                for (j, s) in syn.iter().enumerate() {
                    for l in 0..BLOCK {
                        let v = bitslice::lane_value(s, k * BLOCK + l);
                        lo[j][l] = v as u8;
                        hi[j][l] = (v >> 8) as u8;
                    }
                }
            }
        }
    }

    /// Bit-sliced syndromes S_j, j < `out.len()` (≤ 30), of 256 codewords
    /// (see [`bitslice`]).
    pub(crate) fn syndromes_sliced(self, symbols: &[Sliced], out: &mut [Sliced]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 if crate::simd::avx2() => {
                // SAFETY: AVX2 checked.
                unsafe { x86::syndromes_sliced_avx2(symbols, out) }
            }
            _ => bitslice::syndromes(symbols, out),
        }
    }

    /// Chien search kernel. `init_lo[k]`/`init_hi[k]` hold term k+1 of the locator at the 32
    /// positions of the first block, `step[k]` multiplies by α^(−32(k+1)). Writes into
    /// `roots[b]` a bit mask of the positions `32b + l` where 1 + Σ terms = 0, for
    /// `b < roots.len()`. The `init` arrays are used as scratch.
    pub(crate) fn chien_block(
        self,
        step: &[NibbleTables],
        init_lo: &mut [[u8; BLOCK]],
        init_hi: &mut [[u8; BLOCK]],
        roots: &mut [u32],
    ) {
        let terms = init_lo.len();
        assert!(init_hi.len() == terms && step.len() >= terms);
        match self {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 if crate::simd::avx2() => {
                // SAFETY: AVX2 checked; lengths asserted above.
                unsafe { x86::chien_block_avx2(step, init_lo, init_hi, roots) }
            }
            _ => chien_block_scalar(step, init_lo, init_hi, roots),
        }
    }
}

fn mul_const_slice_scalar(t: &NibbleTables, data: &mut [u16]) {
    for x in data {
        *x = t.apply(*x);
    }
}

fn chien_block_scalar(
    step: &[NibbleTables],
    init_lo: &mut [[u8; BLOCK]],
    init_hi: &mut [[u8; BLOCK]],
    roots: &mut [u32],
) {
    for mask in roots.iter_mut() {
        let mut acc = [1u16; BLOCK];
        for k in 0..init_lo.len() {
            for l in 0..BLOCK {
                let v = init_lo[k][l] as u16 | (init_hi[k][l] as u16) << 8;
                acc[l] ^= v;
                let w = step[k].apply(v);
                init_lo[k][l] = w as u8;
                init_hi[k][l] = (w >> 8) as u8;
            }
        }
        *mask = acc
            .iter()
            .enumerate()
            .fold(0u32, |m, (l, &a)| m | ((a == 0) as u32) << l);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! AVX2 kernels. They are `unsafe fn` (callers must have checked AVX2 at run time and the
    //! slice lengths documented on the dispatching methods), written so they build with the
    //! workspace's minimum Rust (1.85, before safe `#[target_feature]` functions).
    use super::{bitslice, NibbleTables, Sliced, BLOCK, SLICE};
    use std::arch::x86_64::*;

    /// The six tables of a constant, broadcast to both 128-bit halves.
    struct Ymm6 {
        l: [__m256i; 3],
        h: [__m256i; 3],
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn row(r: &[u8; 16]) -> __m256i {
        _mm256_broadcastsi128_si256(_mm_loadu_si128(r.as_ptr() as *const __m128i))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load_tables(t: &NibbleTables) -> Ymm6 {
        Ymm6 {
            l: [row(&t.lo[0]), row(&t.lo[1]), row(&t.lo[2])],
            h: [row(&t.hi[0]), row(&t.hi[1]), row(&t.hi[2])],
        }
    }

    /// c·x on byte-planar lanes: returns (low bytes, high bytes). High bytes must be 0..=3.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn mul_planar(t: &Ymm6, x_lo: __m256i, x_hi: __m256i, nib: __m256i) -> (__m256i, __m256i) {
        let n0 = _mm256_and_si256(x_lo, nib);
        let n1 = _mm256_and_si256(_mm256_srli_epi16(x_lo, 4), nib);
        let n2 = x_hi;
        let lo = _mm256_xor_si256(
            _mm256_xor_si256(_mm256_shuffle_epi8(t.l[0], n0), _mm256_shuffle_epi8(t.l[1], n1)),
            _mm256_shuffle_epi8(t.l[2], n2),
        );
        let hi = _mm256_xor_si256(
            _mm256_xor_si256(_mm256_shuffle_epi8(t.h[0], n0), _mm256_shuffle_epi8(t.h[1], n1)),
            _mm256_shuffle_epi8(t.h[2], n2),
        );
        (lo, hi)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn mul_const_slice_avx2(t: &NibbleTables, data: &mut [u16]) {
        let tb = load_tables(t);
        let low4 = _mm256_set1_epi16(0x000F);
        let mut chunks = data.chunks_exact_mut(16);
        for ch in &mut chunks {
            // A chunk is 16 u16 = 32 bytes.
            let x = _mm256_loadu_si256(ch.as_ptr() as *const __m256i);
            // Nibble indices sit in the low byte of each u16 lane; the high byte of each index
            // is 0, which looks up c·0 = 0, so the lookups fill the low bytes only.
            let (lo, hi) = mul_planar(&tb, x, _mm256_srli_epi16(x, 8), low4);
            let r = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 8));
            _mm256_storeu_si256(ch.as_mut_ptr() as *mut __m256i, r);
        }
        super::mul_const_slice_scalar(t, chunks.into_remainder());
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn syndromes_sliced_avx2(symbols: &[Sliced], out: &mut [Sliced]) {
        bitslice::syndromes(symbols, out)
    }

    /// Bit-slicing: per 32-codeword sub-block, 8×8 u16 transposes give symbol-major low and
    /// high byte planes, and `movemask` after a shift collects one bit of 32 codewords.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn slice_block_avx2(cws: &[u16], n: usize, count: usize, out: &mut [Sliced]) {
        let full_sub = count / BLOCK;
        let mut lo = [0u8; BLOCK];
        let mut hi = [0u8; BLOCK];
        for k in 0..full_sub {
            let sub = &cws[k * BLOCK * n..(k + 1) * BLOCK * n];
            transpose_tiles(sub, n, |i, l, h| set_planes(&mut out[i], k, l, h));
            // Symbols past the last full tile of 8.
            for i in n / 8 * 8..n {
                for c in 0..BLOCK {
                    lo[c] = sub[c * n + i] as u8;
                    hi[c] = (sub[c * n + i] >> 8) as u8;
                }
                let l = _mm256_loadu_si256(lo.as_ptr() as *const __m256i);
                let h = _mm256_loadu_si256(hi.as_ptr() as *const __m256i);
                set_planes(&mut out[i], k, l, h);
            }
        }
        if full_sub < SLICE / BLOCK {
            // Zero the remaining 32-lane groups, then add a partial one bit by bit.
            let zero = _mm256_setzero_si256();
            for sym in out[..n].iter_mut() {
                for k in full_sub..SLICE / BLOCK {
                    set_planes(sym, k, zero, zero);
                }
            }
            for c in full_sub * BLOCK..count {
                let (w, bit) = (c / 64, c % 64);
                for (sym, &v) in out.iter_mut().zip(&cws[c * n..(c + 1) * n]) {
                    for (b, plane) in sym.iter_mut().enumerate() {
                        plane[w] |= (((v >> b) & 1) as u64) << bit;
                    }
                }
            }
        }
    }

    /// Writes the ten bit planes of 32 symbols (low bytes `l`, high bytes `h`) as 32-bit lane
    /// group `k` (codewords 32k … 32k+31) of `out`. `movemask` reads bit 7 of each byte; adding
    /// a byte to itself moves the next lower bit there.
    #[inline(always)]
    unsafe fn set_planes(out: &mut Sliced, k: usize, l: __m256i, h: __m256i) {
        // x86-64 is little endian: u32 k of a plane holds bits 32k … 32k+31.
        let put = |plane: &mut [u64; 4], m: i32| (plane.as_mut_ptr() as *mut u32).add(k).write(m as u32);
        let mut x = l;
        for b in (0..8).rev() {
            put(&mut out[b], _mm256_movemask_epi8(x));
            x = _mm256_add_epi8(x, x);
        }
        put(&mut out[8], _mm256_movemask_epi8(_mm256_slli_epi16(h, 7)));
        put(&mut out[9], _mm256_movemask_epi8(_mm256_slli_epi16(h, 6)));
    }

    /// Inverse of [`set_planes`] for lane group `k`: returns the low and high bytes of the 32
    /// lanes. Each mask bit is spread to its byte with `pshufb`, selected and compared.
    #[inline(always)]
    unsafe fn get_planes(sym: &Sliced, k: usize) -> (__m256i, __m256i) {
        let get = |plane: &[u64; 4]| (plane.as_ptr() as *const u32).add(k).read() as i32;
        let spread = _mm256_setr_epi8(
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
        );
        let select = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
        let bits = |m: i32, value: u8| {
            let v = _mm256_shuffle_epi8(_mm256_set1_epi32(m), spread);
            let on = _mm256_cmpeq_epi8(_mm256_and_si256(v, select), select);
            _mm256_and_si256(on, _mm256_set1_epi8(value as i8))
        };
        let mut lo = _mm256_setzero_si256();
        for (b, plane) in sym.iter().take(8).enumerate() {
            lo = _mm256_or_si256(lo, bits(get(plane), 1 << b));
        }
        let hi = _mm256_or_si256(bits(get(&sym[8]), 1), bits(get(&sym[9]), 2));
        (lo, hi)
    }

    /// Un-slices lane group `k` of every syndrome into `lo[j]`/`hi[j]`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn unslice_group_avx2(
        syn: &[Sliced],
        k: usize,
        lo: &mut [[u8; BLOCK]],
        hi: &mut [[u8; BLOCK]],
    ) {
        for (j, s) in syn.iter().enumerate() {
            let (l, h) = get_planes(s, k);
            _mm256_storeu_si256(lo[j].as_mut_ptr() as *mut __m256i, l);
            _mm256_storeu_si256(hi[j].as_mut_ptr() as *mut __m256i, h);
        }
    }

    /// Calls `emit(i, lo, hi)` for every symbol `i` in the full 8-symbol tiles of 32 codewords
    /// `cws` (`n` symbols each): `lo`/`hi` hold the low/high bytes of symbol `i` of the 32
    /// codewords.
    #[inline(always)]
    unsafe fn transpose_tiles(cws: &[u16], n: usize, mut emit: impl FnMut(usize, __m256i, __m256i)) {
        debug_assert!(cws.len() == BLOCK * n);
        let base = cws.as_ptr();
        let ff = _mm_set1_epi16(0x00FF);
        for i0 in (0..n / 8 * 8).step_by(8) {
            let mut t = [[_mm_setzero_si128(); 8]; 4];
            for (g, tg) in t.iter_mut().enumerate() {
                let mut r = [_mm_setzero_si128(); 8];
                for (q, rq) in r.iter_mut().enumerate() {
                    // Codeword 8g+q, symbols i0 … i0+7 (in bounds: i0 + 8 <= n).
                    *rq = _mm_loadu_si128(base.add((8 * g + q) * n + i0) as *const __m128i);
                }
                let a0 = _mm_unpacklo_epi16(r[0], r[1]);
                let a1 = _mm_unpackhi_epi16(r[0], r[1]);
                let a2 = _mm_unpacklo_epi16(r[2], r[3]);
                let a3 = _mm_unpackhi_epi16(r[2], r[3]);
                let a4 = _mm_unpacklo_epi16(r[4], r[5]);
                let a5 = _mm_unpackhi_epi16(r[4], r[5]);
                let a6 = _mm_unpacklo_epi16(r[6], r[7]);
                let a7 = _mm_unpackhi_epi16(r[6], r[7]);
                let b0 = _mm_unpacklo_epi32(a0, a2);
                let b1 = _mm_unpackhi_epi32(a0, a2);
                let b2 = _mm_unpacklo_epi32(a1, a3);
                let b3 = _mm_unpackhi_epi32(a1, a3);
                let b4 = _mm_unpacklo_epi32(a4, a6);
                let b5 = _mm_unpackhi_epi32(a4, a6);
                let b6 = _mm_unpacklo_epi32(a5, a7);
                let b7 = _mm_unpackhi_epi32(a5, a7);
                tg[0] = _mm_unpacklo_epi64(b0, b4);
                tg[1] = _mm_unpackhi_epi64(b0, b4);
                tg[2] = _mm_unpacklo_epi64(b1, b5);
                tg[3] = _mm_unpackhi_epi64(b1, b5);
                tg[4] = _mm_unpacklo_epi64(b2, b6);
                tg[5] = _mm_unpackhi_epi64(b2, b6);
                tg[6] = _mm_unpacklo_epi64(b3, b7);
                tg[7] = _mm_unpackhi_epi64(b3, b7);
            }
            #[allow(clippy::needless_range_loop)] // s indexes four tile columns at once
            for s in 0..8 {
                let l01 = _mm_packus_epi16(_mm_and_si128(t[0][s], ff), _mm_and_si128(t[1][s], ff));
                let l23 = _mm_packus_epi16(_mm_and_si128(t[2][s], ff), _mm_and_si128(t[3][s], ff));
                let h01 = _mm_packus_epi16(_mm_srli_epi16(t[0][s], 8), _mm_srli_epi16(t[1][s], 8));
                let h23 = _mm_packus_epi16(_mm_srli_epi16(t[2][s], 8), _mm_srli_epi16(t[3][s], 8));
                emit(i0 + s, _mm256_set_m128i(l23, l01), _mm256_set_m128i(h23, h01));
            }
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn chien_block_avx2(
        step: &[NibbleTables],
        init_lo: &mut [[u8; BLOCK]],
        init_hi: &mut [[u8; BLOCK]],
        roots: &mut [u32],
    ) {
        let nib = _mm256_set1_epi8(0x0F);
        let zero = _mm256_setzero_si256();
        let one = _mm256_set1_epi8(1);
        for mask in roots.iter_mut() {
            let mut acc_lo = one;
            let mut acc_hi = zero;
            for k in 0..init_lo.len() {
                let tb = load_tables(&step[k]);
                let v_lo = _mm256_loadu_si256(init_lo[k].as_ptr() as *const __m256i);
                let v_hi = _mm256_loadu_si256(init_hi[k].as_ptr() as *const __m256i);
                acc_lo = _mm256_xor_si256(acc_lo, v_lo);
                acc_hi = _mm256_xor_si256(acc_hi, v_hi);
                let (w_lo, w_hi) = mul_planar(&tb, v_lo, v_hi, nib);
                _mm256_storeu_si256(init_lo[k].as_mut_ptr() as *mut __m256i, w_lo);
                _mm256_storeu_si256(init_hi[k].as_mut_ptr() as *mut __m256i, w_hi);
            }
            let is_zero = _mm256_cmpeq_epi8(_mm256_or_si256(acc_lo, acc_hi), zero);
            *mask = _mm256_movemask_epi8(is_zero) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::gf;
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn every_level_matches_scalar_mul_slice() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let data: Vec<u16> = (0..1037).map(|_| rng.random_range(0..1024)).collect();
        for level in SimdLevel::available() {
            for c in [0u16, 1, 2, 555, 1023] {
                let mut d = data.clone();
                level.mul_const_slice(&NibbleTables::new(c), &mut d);
                for (x, y) in d.iter().zip(&data) {
                    assert_eq!(*x, gf::mul(c, *y), "{level:?}");
                }
            }
        }
    }

    #[test]
    fn every_level_slices_and_computes_syndromes_like_scalar() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for (n, count) in [(544usize, 256usize), (528, 200), (37, 77), (40, 5)] {
            let cws: Vec<u16> = (0..n * count).map(|_| rng.random_range(0..1024)).collect();
            let mut want = vec![[[0u64; 4]; 10]; n];
            bitslice::slice_scalar(&cws, n, &mut want);
            let mut want_syn = vec![[[0u64; 4]; 10]; 30];
            bitslice::syndromes(&want, &mut want_syn);
            for level in SimdLevel::available() {
                let mut got = vec![[[1u64; 4]; 10]; n];
                level.slice_block(&cws, n, count, &mut got);
                assert_eq!(got, want, "{level:?} n={n}");
                let mut syn = vec![[[1u64; 4]; 10]; 30];
                level.syndromes_sliced(&got, &mut syn);
                assert_eq!(syn, want_syn, "{level:?} n={n}");
                let mut lo = vec![[0u8; BLOCK]; 30];
                let mut hi = vec![[0u8; BLOCK]; 30];
                for k in 0..SLICE / BLOCK {
                    level.unslice_group(&syn, k, &mut lo, &mut hi);
                    for j in 0..30 {
                        for l in 0..BLOCK {
                            let v = bitslice::lane_value(&syn[j], k * BLOCK + l);
                            assert_eq!((lo[j][l], hi[j][l]), (v as u8, (v >> 8) as u8), "{level:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_level_matches_direct_chien() {
        // Locator with roots at x = α^(−p) for p in {3, 40, 77}: Λ(x) = Π(1 − α^p x).
        let roots = [3usize, 40, 77];
        let mut lam = vec![1u16];
        for &p in &roots {
            let x = gf::exp(p);
            let mut next = vec![0u16; lam.len() + 1];
            for (i, &c) in lam.iter().enumerate() {
                next[i] ^= c;
                next[i + 1] ^= gf::mul(c, x);
            }
            lam = next;
        }
        let deg = lam.len() - 1;
        let step: Vec<NibbleTables> = (1..=deg)
            .map(|k| NibbleTables::new(gf::exp(gf::GROUP_ORDER * 32 - 32 * k)))
            .collect();
        for level in SimdLevel::available() {
            let mut il = vec![[0u8; BLOCK]; deg];
            let mut ih = vec![[0u8; BLOCK]; deg];
            for k in 1..=deg {
                for l in 0..BLOCK {
                    let v = gf::mul(lam[k], gf::exp(gf::GROUP_ORDER * 32 - k * l));
                    il[k - 1][l] = v as u8;
                    ih[k - 1][l] = (v >> 8) as u8;
                }
            }
            let mut masks = [0u32; 3];
            level.chien_block(&step, &mut il, &mut ih, &mut masks);
            let found: Vec<usize> = (0..96).filter(|&p| masks[p / 32] >> (p % 32) & 1 == 1).collect();
            assert_eq!(found, roots.to_vec(), "{level:?}");
        }
    }
}
