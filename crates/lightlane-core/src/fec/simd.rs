//! The one place with architecture-specific code for the FEC module: runtime-dispatched SIMD
//! kernels for GF(2^10) multiplication by constants, with scalar fallbacks that are also the
//! oracles in the conformance tests.
//!
//! Kernels:
//! - [`SimdLevel::mul_const_slice`]: c·x over a slice of `u16` symbols.
//! - `syndromes_block`: Horner evaluation r(α^j) for [`BLOCK`] codewords at once. The codewords
//!   are stored *byte-planar and symbol-major* (the low bytes of symbol `i` of the 32 codewords,
//!   then separately their high bytes), so one AVX2 register holds one symbol of 32 codewords
//!   and every lane is multiplied by the same constant α^j: six `pshufb` per step
//!   (see [`NibbleTables`]).
//! - `chien_block`: evaluation of an error-locator polynomial at 32 consecutive positions per
//!   step; term k of the block advances by the constant α^(−32k).
//!
//! AVX2 is used when the CPU has it (detected at run time); AVX-512/GFNI would double the
//! width but their intrinsics need a newer Rust than the workspace's minimum (1.85).

use super::gf::NibbleTables;
use serde::{Deserialize, Serialize};

/// Number of codewords (syndrome kernel) or positions (Chien kernel) per SIMD block.
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
            SimdLevel::Avx2 => avx2_available(),
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
            SimdLevel::Avx2 if avx2_available() => {
                // SAFETY: AVX2 presence was checked at run time just above.
                unsafe { x86::mul_const_slice_avx2(t, data) }
            }
            _ => mul_const_slice_scalar(t, data),
        }
    }

    /// Horner syndromes of [`BLOCK`] codewords in byte-planar, symbol-major layout:
    /// `lo[i * BLOCK + c]` / `hi[i * BLOCK + c]` are the low/high bytes of symbol `i`
    /// (symbol 0 = highest power) of codeword `c`. `plan[j]` multiplies by α^j; the result
    /// S_j of codeword `c` is `out_lo[j][c] | out_hi[j][c] << 8`.
    pub(crate) fn syndromes_block(
        self,
        plan: &[NibbleTables],
        lo: &[u8],
        hi: &[u8],
        out_lo: &mut [[u8; BLOCK]],
        out_hi: &mut [[u8; BLOCK]],
    ) {
        assert!(lo.len() == hi.len() && lo.len() % BLOCK == 0);
        assert!(out_lo.len() >= plan.len() && out_hi.len() >= plan.len());
        match self {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 if avx2_available() => {
                // SAFETY: AVX2 checked; lengths asserted above.
                unsafe { x86::syndromes_block_avx2(plan, lo, hi, out_lo, out_hi) }
            }
            _ => syndromes_block_scalar(plan, lo, hi, out_lo, out_hi),
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
            SimdLevel::Avx2 if avx2_available() => {
                // SAFETY: AVX2 checked; lengths asserted above.
                unsafe { x86::chien_block_avx2(step, init_lo, init_hi, roots) }
            }
            _ => chien_block_scalar(step, init_lo, init_hi, roots),
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2_available() -> bool {
    std::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_available() -> bool {
    false
}

fn mul_const_slice_scalar(t: &NibbleTables, data: &mut [u16]) {
    for x in data {
        *x = t.apply(*x);
    }
}

fn syndromes_block_scalar(
    plan: &[NibbleTables],
    lo: &[u8],
    hi: &[u8],
    out_lo: &mut [[u8; BLOCK]],
    out_hi: &mut [[u8; BLOCK]],
) {
    for (j, t) in plan.iter().enumerate() {
        let mut s = [0u16; BLOCK];
        for (rl, rh) in lo.chunks_exact(BLOCK).zip(hi.chunks_exact(BLOCK)) {
            for c in 0..BLOCK {
                s[c] = t.apply(s[c]) ^ (rl[c] as u16 | (rh[c] as u16) << 8);
            }
        }
        for c in 0..BLOCK {
            out_lo[j][c] = s[c] as u8;
            out_hi[j][c] = (s[c] >> 8) as u8;
        }
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
    use super::{NibbleTables, BLOCK};
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
            let n0 = _mm256_and_si256(x, low4);
            let n1 = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
            let n2 = _mm256_srli_epi16(x, 8);
            let lo = _mm256_xor_si256(
                _mm256_xor_si256(_mm256_shuffle_epi8(tb.l[0], n0), _mm256_shuffle_epi8(tb.l[1], n1)),
                _mm256_shuffle_epi8(tb.l[2], n2),
            );
            let hi = _mm256_xor_si256(
                _mm256_xor_si256(_mm256_shuffle_epi8(tb.h[0], n0), _mm256_shuffle_epi8(tb.h[1], n1)),
                _mm256_shuffle_epi8(tb.h[2], n2),
            );
            let r = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 8));
            _mm256_storeu_si256(ch.as_mut_ptr() as *mut __m256i, r);
        }
        super::mul_const_slice_scalar(t, chunks.into_remainder());
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn syndromes_block_avx2(
        plan: &[NibbleTables],
        lo: &[u8],
        hi: &[u8],
        out_lo: &mut [[u8; BLOCK]],
        out_hi: &mut [[u8; BLOCK]],
    ) {
        let nib = _mm256_set1_epi8(0x0F);
        let steps = lo.len() / BLOCK;
        let (plo, phi) = (lo.as_ptr(), hi.as_ptr());
        for (j, t) in plan.iter().enumerate() {
            let tb = load_tables(t);
            let mut s_lo = _mm256_setzero_si256();
            let mut s_hi = _mm256_setzero_si256();
            for i in 0..steps {
                // i * BLOCK + 32 <= lo.len() == hi.len() (asserted by the caller).
                let r_lo = _mm256_loadu_si256(plo.add(i * BLOCK) as *const __m256i);
                let r_hi = _mm256_loadu_si256(phi.add(i * BLOCK) as *const __m256i);
                let (m_lo, m_hi) = mul_planar(&tb, s_lo, s_hi, nib);
                s_lo = _mm256_xor_si256(m_lo, r_lo);
                s_hi = _mm256_xor_si256(m_hi, r_hi);
            }
            _mm256_storeu_si256(out_lo[j].as_mut_ptr() as *mut __m256i, s_lo);
            _mm256_storeu_si256(out_hi[j].as_mut_ptr() as *mut __m256i, s_hi);
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
    fn every_level_matches_direct_syndromes() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let n = 37;
        let cws: Vec<Vec<u16>> = (0..BLOCK)
            .map(|_| (0..n).map(|_| rng.random_range(0..1024)).collect())
            .collect();
        let mut lo = vec![0u8; n * BLOCK];
        let mut hi = vec![0u8; n * BLOCK];
        for (c, cw) in cws.iter().enumerate() {
            for (i, &v) in cw.iter().enumerate() {
                lo[i * BLOCK + c] = v as u8;
                hi[i * BLOCK + c] = (v >> 8) as u8;
            }
        }
        let plan: Vec<NibbleTables> = (0..9).map(|j| NibbleTables::new(gf::exp(j))).collect();
        for level in SimdLevel::available() {
            let mut ol = vec![[0u8; BLOCK]; 9];
            let mut oh = vec![[0u8; BLOCK]; 9];
            level.syndromes_block(&plan, &lo, &hi, &mut ol, &mut oh);
            for (c, cw) in cws.iter().enumerate() {
                for j in 0..9 {
                    // r(α^j) with r's first element the highest power.
                    let want = cw.iter().enumerate().fold(0u16, |acc, (i, &v)| {
                        acc ^ gf::mul(v, gf::exp(j * (n - 1 - i)))
                    });
                    let got = ol[j][c] as u16 | (oh[j][c] as u16) << 8;
                    assert_eq!(got, want, "{level:?} c={c} j={j}");
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
