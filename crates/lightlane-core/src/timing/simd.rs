//! The architecture-specific code of `timing`, chosen at run time:
//!
//! - AVX2/FMA kernels of the real-FFT split for f32 (see `realfft.rs`): four complex bins per
//!   256-bit vector, the mirrored bins `m − k` loaded and stored in reversed order. Blocks the
//!   vector path cannot take whole (the limit of the kept bins or the bin with a gain falls inside
//!   them) go through the portable pair functions. The real-FFT and resampler tests compare both
//!   paths with naive DFTs.
//! - The fused kernel of the FFT resampler (`through_split`): the forward split, the cut of the
//!   spectrum and the inverse split in one pass from one packed FFT to the other, on the same
//!   four-bin vectors.
//! - The cubic interpolation loop compiled a second time for AVX2/FMA (the same source, inlined
//!   into a `#[target_feature]` function), and the polyphase loop with its dot product in 256-bit
//!   FMA vectors (8 taps per vector; the table tests compare it with the naive windowed sinc).
//!
//! CPUs without AVX2/FMA run the portable code for everything.

use super::polyphase::PolyphaseResampler;
use super::realfft::{forward_pair, inverse_pair, Bins, Packed};
use rustfft::num_complex::Complex32;

/// Cubic interpolation at `sps_out` points per UI (see `interp::cubic_ui_loop`).
pub(crate) fn cubic_ui(x: &[f32], positions: &[f64], sps_out: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above); the loop is safe code.
        unsafe { x86::cubic_ui(x, positions, sps_out, out) };
        return;
    }
    super::interp::cubic_ui_loop(x, positions, sps_out, out);
}

/// Polyphase interpolation at `sps_out` points per UI (see `PolyphaseResampler::ui_loop`).
pub(crate) fn polyphase_ui(r: &PolyphaseResampler, x: &[f32], positions: &[f64], sps_out: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above); the loop is safe code.
        unsafe { x86::polyphase_ui(r, x, positions, sps_out, out) };
        return;
    }
    r.ui_loop(x, positions, sps_out, out);
}

/// Forward split of pairs `k = 1..` in blocks of four; returns the first pair not handled.
pub(crate) fn forward_split_f32(work: &[Complex32], twiddles: &[Complex32], out: &mut [Complex32], m: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above); the kernel only touches indices
        // `k..k+4` and `m−k−3..=m−k` with `2k + 6 < m`, inside `work` (length m), `twiddles`
        // (length m) and, where it stores, `out` (checked against `out.len()`).
        return unsafe { x86::forward_split(work, twiddles, out, m) };
    }
    let _ = (work, twiddles, out, m);
    1
}

/// Inverse split of pairs `k = 1..` in blocks of four; returns the first pair not handled.
pub(crate) fn inverse_split_f32(bins: &Bins<'_, f32>, twiddles: &[Complex32], work: &mut [Complex32], m: usize, factor: f32) -> usize {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: as above; loads from `bins.bins` are checked against its length.
        return unsafe { x86::inverse_split(bins, twiddles, work, m, factor) };
    }
    let _ = (bins, twiddles, work, m, factor);
    1
}

/// Fused forward-then-inverse split of pairs `k = 1..` in blocks of four; returns the first pair
/// not handled.
pub(crate) fn through_split_f32(from: &Packed<'_, f32>, twiddles: &[Complex32], work: &mut [Complex32], m: usize, factor: f32) -> usize {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above); the kernel stores only to
        // `k..k+4` and `m−k−3..=m−k` with `2k + 6 < m` inside `work` (length m), and loads the
        // packed FFT and its twiddles only at bins `1..mf` it checks against `mf = from.z.len()`.
        return unsafe { x86::through_split(from, twiddles, work, m, factor) };
    }
    let _ = (from, twiddles, work, m, factor);
    1
}

#[cfg(target_arch = "x86_64")]
use crate::simd::avx2_fma;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{forward_pair, inverse_pair, Bins, Complex32, Packed, PolyphaseResampler};
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn cubic_ui(x: &[f32], positions: &[f64], sps_out: usize, out: &mut [f32]) {
        crate::timing::interp::cubic_ui_loop(x, positions, sps_out, out)
    }

    /// # Safety
    /// AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn polyphase_ui(r: &PolyphaseResampler, x: &[f32], positions: &[f64], sps_out: usize, out: &mut [f32]) {
        if sps_out == 1 {
            polyphase_run(r, x, positions.iter().copied(), out);
        } else {
            polyphase_run(r, x, crate::timing::interp::ui_positions(positions, sps_out), out);
        }
    }

    /// # Safety
    /// AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn polyphase_run(r: &PolyphaseResampler, x: &[f32], positions: impl Iterator<Item = f64>, out: &mut [f32]) {
        let n = x.len();
        let (rows, deltas, taps) = r.table();
        assert!(taps.is_multiple_of(8) && n > 0);
        for (o, pos) in out.iter_mut().zip(positions) {
            let (base, offset, w) = r.locate(n, pos);
            if base < 0 || base as usize + taps > n {
                *o = r.edge_value(x, base, offset, w);
                continue;
            }
            let base = base as usize;
            let (xs, hs, ds) = (&x[base..base + taps], &rows[offset..offset + taps], &deltas[offset..offset + taps]);
            let wv = _mm256_set1_ps(w);
            let mut acc = _mm256_setzero_ps();
            let mut c = 0;
            while c < taps {
                // h = row + w·delta; acc += x·h (c + 8 ≤ taps = every slice's length).
                let h = _mm256_fmadd_ps(wv, _mm256_loadu_ps(ds.as_ptr().add(c)), _mm256_loadu_ps(hs.as_ptr().add(c)));
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(xs.as_ptr().add(c)), h, acc);
                c += 8;
            }
            let s4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
            let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
            *o = _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
        }
    }

    /// Four complex numbers in reversed order.
    #[inline(always)]
    unsafe fn reverse(v: __m256) -> __m256 {
        _mm256_castpd_ps(_mm256_permute4x64_pd::<0b00_01_10_11>(_mm256_castps_pd(v)))
    }

    /// (re, im) → (im, re) in every complex lane.
    #[inline(always)]
    unsafe fn swap(v: __m256) -> __m256 {
        _mm256_permute_ps::<0b10_11_00_01>(v)
    }

    #[inline(always)]
    unsafe fn load(p: &[Complex32], at: usize) -> __m256 {
        debug_assert!(at + 4 <= p.len());
        _mm256_loadu_ps(p.as_ptr().add(at) as *const f32)
    }

    #[inline(always)]
    unsafe fn store(p: &mut [Complex32], at: usize, v: __m256) {
        debug_assert!(at + 4 <= p.len());
        _mm256_storeu_ps(p.as_mut_ptr().add(at) as *mut f32, v)
    }

    /// # Safety
    /// AVX2 and FMA; `work` and `twiddles` hold at least `m` elements.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn forward_split(work: &[Complex32], twiddles: &[Complex32], out: &mut [Complex32], m: usize) -> usize {
        assert!(work.len() >= m && twiddles.len() >= m);
        let limit = out.len();
        let imag_sign = _mm256_castsi256_ps(_mm256_set1_epi64x(i64::MIN)); // −0.0 in the imaginary lanes
        let mut k = 1;
        while 2 * k + 6 < m {
            if k >= limit {
                // Neither k.. nor the mirrored bins (≥ m/2 > k) are kept from here on.
                return m / 2 + 1;
            }
            let lo_store = k + 4 <= limit;
            let hi = m - k - 3;
            let hi_store = m - k < limit;
            if !lo_store || (!hi_store && hi < limit) {
                for j in k..k + 4 {
                    forward_pair(work, twiddles, out, m, j);
                }
                k += 4;
                continue;
            }
            let (even, wo) = split_parts(work, twiddles, m, k);
            store(out, k, _mm256_add_ps(even, wo));
            if hi_store {
                let mirrored = _mm256_xor_ps(_mm256_sub_ps(even, wo), imag_sign);
                store(out, hi, reverse(mirrored));
            }
            k += 4;
        }
        k
    }

    /// The inverse split (see `inverse_pair`) of the four pairs `k..k+4` given their spectrum
    /// bins `a = Y[k..k+4]` and `b = Y*[m−k..]` (in `k` order), the factor `half` and the
    /// twiddles `t = W^{k..k+4}`: stores `Z[k..k+4]` and, reversed, `Z[hi..hi+4]`
    /// (`hi = m − k − 3`).
    #[inline(always)]
    unsafe fn inverse_block(a: __m256, b: __m256, half: __m256, t: __m256, work: &mut [Complex32], k: usize, hi: usize) {
        let imag_sign = _mm256_castsi256_ps(_mm256_set1_epi64x(i64::MIN));
        let real_sign = _mm256_castsi256_ps(_mm256_set1_epi64x(1 << 31));
        let even = _mm256_mul_ps(_mm256_add_ps(a, b), half);
        let d = _mm256_mul_ps(_mm256_sub_ps(a, b), half);
        // O = d · conj(W^k)
        let odd = _mm256_fmsubadd_ps(_mm256_moveldup_ps(t), d, _mm256_mul_ps(_mm256_movehdup_ps(t), swap(d)));
        // jO = (−O.im, O.re)
        let j_odd = _mm256_xor_ps(swap(odd), real_sign);
        store(work, k, _mm256_add_ps(even, j_odd));
        // Z[m−k] = (E − jO)*
        let mirrored = _mm256_xor_ps(_mm256_sub_ps(even, j_odd), imag_sign);
        store(work, hi, reverse(mirrored));
    }

    /// # Safety
    /// AVX2 and FMA; `work` and `twiddles` hold at least `m` elements.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn inverse_split(bins: &Bins<'_, f32>, twiddles: &[Complex32], work: &mut [Complex32], m: usize, factor: f32) -> usize {
        assert!(work.len() >= m && twiddles.len() >= m);
        let valid = bins.bins.len();
        let half = _mm256_set1_ps(factor);
        let imag_sign = _mm256_castsi256_ps(_mm256_set1_epi64x(i64::MIN));
        let fix_in = |lo: usize| matches!(bins.fix, Some((f, _)) if f >= lo && f < lo + 4);
        let mut k = 1;
        while 2 * k + 6 < m {
            let hi = m - k - 3;
            let lo_whole = k + 4 <= valid;
            let hi_whole = m - k < valid;
            let hi_zero = hi >= valid;
            if !lo_whole || !(hi_whole || hi_zero) || fix_in(k) || fix_in(hi) {
                for j in k..k + 4 {
                    inverse_pair(bins, twiddles, work, m, j, factor);
                }
                k += 4;
                continue;
            }
            let a = load(bins.bins, k);
            let b = if hi_zero { _mm256_setzero_ps() } else { _mm256_xor_ps(reverse(load(bins.bins, hi)), imag_sign) };
            inverse_block(a, b, half, load(twiddles, k), work, k, hi);
            k += 4;
        }
        k
    }

    /// The two halves of bins `j..j+4` (`1 ≤ j`, `j + 3 < mf`) of the spectrum held as the
    /// packed FFT `z` (length `mf`): `E` and `W^j·O` (see `forward_pair`), so that
    /// `X[j] = E + W^j·O` and `X[mf−j] = (E − W^j·O)*`.
    #[inline(always)]
    unsafe fn split_parts(z: &[Complex32], twiddles: &[Complex32], mf: usize, j: usize) -> (__m256, __m256) {
        let half = _mm256_set1_ps(0.5);
        let imag_sign = _mm256_castsi256_ps(_mm256_set1_epi64x(i64::MIN));
        let a = load(z, j);
        let b = _mm256_xor_ps(reverse(load(z, mf - j - 3)), imag_sign);
        let even = _mm256_mul_ps(_mm256_add_ps(a, b), half);
        let d = _mm256_mul_ps(_mm256_sub_ps(a, b), half);
        // O = (d.im, −d.re)
        let odd = _mm256_xor_ps(swap(d), imag_sign);
        let t = load(twiddles, j);
        (even, _mm256_fmaddsub_ps(_mm256_moveldup_ps(t), odd, _mm256_mul_ps(_mm256_movehdup_ps(t), swap(odd))))
    }

    /// Bins `j..j+4` of the spectrum held as the packed FFT `z`: [`Packed::bin`] four at a time.
    #[inline(always)]
    unsafe fn packed_bins(z: &[Complex32], twiddles: &[Complex32], mf: usize, j: usize) -> __m256 {
        let (even, wo) = split_parts(z, twiddles, mf, j);
        _mm256_add_ps(even, wo)
    }

    /// # Safety
    /// AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn through_split(from: &Packed<'_, f32>, twiddles: &[Complex32], work: &mut [Complex32], m: usize, factor: f32) -> usize {
        let mf = from.z.len();
        assert!(work.len() >= m && twiddles.len() >= m && from.twiddles.len() >= mf);
        let keep = from.keep;
        let half = _mm256_set1_ps(factor);
        let imag_sign = _mm256_castsi256_ps(_mm256_set1_epi64x(i64::MIN));
        if matches!(from.fix, Some((f, _)) if f < mf && f < m) {
            // A weighted bin the blocks could reach: all pairs to the portable path. (The
            // resampler's weighted bin is a Nyquist bin, the input's (mf) or the output's (m),
            // which no block reaches.)
            return 1;
        }
        // Bins j..j+4 read whole from the packed FFT: inside 1..mf and below the cut.
        let whole = |j: usize| j >= 1 && j + 4 <= keep && j + 3 < mf;
        let mut k = 1;
        while 2 * k + 6 < m {
            let hi = m - k - 3;
            let hi_zero = hi >= keep;
            if !whole(k) || !(hi_zero || whole(hi)) {
                for j in k..k + 4 {
                    inverse_pair(from, twiddles, work, m, j, factor);
                }
                k += 4;
                continue;
            }
            let a = packed_bins(from.z, from.twiddles, mf, k);
            let b = if hi_zero {
                _mm256_setzero_ps()
            } else {
                _mm256_xor_ps(reverse(packed_bins(from.z, from.twiddles, mf, hi)), imag_sign)
            };
            inverse_block(a, b, half, load(twiddles, k), work, k, hi);
            k += 4;
        }
        k
    }
}
