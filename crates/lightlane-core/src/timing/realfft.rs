//! Real-input FFT and its inverse, planned once, on top of rustfft.
//!
//! An even length `n` runs one complex FFT of length `n/2` on the samples packed as
//! `x[2r] + j·x[2r+1]` and untangles the even and odd halves with the twiddles `e^{−j2πk/n}`
//! (the classic "two real halves in one complex FFT" split). An odd length runs a full complex FFT.
//! The tests check both against a naive DFT.

use rustfft::num_complex::Complex;
use rustfft::num_traits::{Float, FloatConst};
use rustfft::{Fft, FftNum, FftPlanner};
use std::sync::Arc;

/// Float types the split runs on; `f32` has an AVX2/FMA kernel for the split (see `simd.rs`),
/// the default methods leave every pair to the portable loop.
pub(crate) trait SplitFloat: FftNum + Float + FloatConst {
    /// Forward split of as many leading pairs `k = 1..` as a vector kernel handles; returns the
    /// first pair index it did not handle.
    fn forward_split_fast(_work: &[Complex<Self>], _twiddles: &[Complex<Self>], _out: &mut [Complex<Self>], _m: usize) -> usize {
        1
    }
    /// Inverse split (see [`inverse_pair`]) of leading pairs; returns the first pair not handled.
    fn inverse_split_fast(_bins: &Bins<'_, Self>, _twiddles: &[Complex<Self>], _work: &mut [Complex<Self>], _m: usize, _factor: Self) -> usize {
        1
    }
    /// Inverse split of leading pairs with the spectrum read from a [`Packed`] FFT (the forward
    /// split fused in); returns the first pair not handled.
    fn through_split_fast(_from: &Packed<'_, Self>, _twiddles: &[Complex<Self>], _work: &mut [Complex<Self>], _m: usize, _factor: Self) -> usize {
        1
    }
}

impl SplitFloat for f64 {}

impl SplitFloat for f32 {
    fn forward_split_fast(work: &[Complex<f32>], twiddles: &[Complex<f32>], out: &mut [Complex<f32>], m: usize) -> usize {
        super::simd::forward_split_f32(work, twiddles, out, m)
    }
    fn inverse_split_fast(bins: &Bins<'_, f32>, twiddles: &[Complex<f32>], work: &mut [Complex<f32>], m: usize, factor: f32) -> usize {
        super::simd::inverse_split_f32(bins, twiddles, work, m, factor)
    }
    fn through_split_fast(from: &Packed<'_, f32>, twiddles: &[Complex<f32>], work: &mut [Complex<f32>], m: usize, factor: f32) -> usize {
        super::simd::through_split_f32(from, twiddles, work, m, factor)
    }
}

/// A half spectrum the inverse split reads bin by bin.
pub(crate) trait HalfSpectrum<T> {
    /// Bin `k`.
    fn get(&self, k: usize) -> Complex<T>;
}

/// A half spectrum given by its first `bins.len()` bins (higher bins zero), with bin `fix.0`
/// multiplied by `fix.1`.
pub(crate) struct Bins<'a, T> {
    pub bins: &'a [Complex<T>],
    pub fix: Option<(usize, T)>,
}

impl<T: FftNum + Float> HalfSpectrum<T> for Bins<'_, T> {
    #[inline(always)]
    fn get(&self, k: usize) -> Complex<T> {
        if k >= self.bins.len() {
            return Complex::new(T::zero(), T::zero());
        }
        match self.fix {
            Some((f, g)) if f == k => self.bins[k] * g,
            _ => self.bins[k],
        }
    }
}

/// The spectrum of an even-length real input, held as its packed complex FFT `z` (length `m`,
/// the output of [`RealFft::forward_packed`]) and read one bin at a time, cut to the bins below
/// `keep` with bin `fix.0` multiplied by `fix.1`: the spectrum a resampler hands to the inverse
/// transform, never stored.
pub(crate) struct Packed<'a, T> {
    pub z: &'a [Complex<T>],
    /// `e^{−j2πk/2m}` for `k = 0..m`.
    pub twiddles: &'a [Complex<T>],
    pub keep: usize,
    pub fix: Option<(usize, T)>,
}

impl<T: FftNum + Float> Packed<'_, T> {
    /// Length of the packed FFT (half the real length).
    #[inline(always)]
    pub fn m(&self) -> usize {
        self.z.len()
    }

    /// Bin `k` (`0 ≤ k ≤ m`) of the real input's spectrum, without the cut:
    /// `X[k] = E + W^k·O` with `E = (Z[k] + Z*[m−k])/2`, `O = (Z[k] − Z*[m−k])/(2j)`, which holds
    /// on both sides of `m/2` (see [`forward_pair`]).
    #[inline(always)]
    pub fn bin(&self, k: usize) -> Complex<T> {
        let m = self.m();
        if k == 0 || k == m {
            let z0 = self.z[0];
            return Complex::new(if k == 0 { z0.re + z0.im } else { z0.re - z0.im }, T::zero());
        }
        let half = T::from_f64(0.5).expect("0.5 fits");
        let a = self.z[k];
        let b = self.z[m - k].conj();
        let even = (a + b) * half;
        let d = (a - b) * half;
        even + self.twiddles[k] * Complex::new(d.im, -d.re)
    }

}

impl<T: FftNum + Float> HalfSpectrum<T> for Packed<'_, T> {
    /// Bin `k` of the cut spectrum: zero from `keep` on, the gain applied at `fix.0`.
    #[inline(always)]
    fn get(&self, k: usize) -> Complex<T> {
        if k >= self.keep {
            return Complex::new(T::zero(), T::zero());
        }
        match self.fix {
            Some((f, g)) if f == k => self.bin(k) * g,
            _ => self.bin(k),
        }
    }
}

/// Forward split of pair `k` (`1 ≤ k ≤ m/2`): bins `k` and `m − k` of the real input's spectrum
/// from the packed FFT `work`, stored where below `out.len()`. With `E = (Z[k] + Z*[m−k])/2` and
/// `O = (Z[k] − Z*[m−k])/(2j)`: `X[k] = E + W^k·O` and `X[m−k] = (E − W^k·O)*`.
#[inline(always)]
pub(crate) fn forward_pair<T: FftNum + Float>(work: &[Complex<T>], twiddles: &[Complex<T>], out: &mut [Complex<T>], m: usize, k: usize) {
    let half = T::from_f64(0.5).expect("0.5 fits");
    let a = work[k];
    let b = work[m - k].conj();
    let even = (a + b) * half;
    let d = (a - b) * half;
    let wo = twiddles[k] * Complex::new(d.im, -d.re);
    if k < out.len() {
        out[k] = even + wo;
    }
    if m - k < out.len() {
        out[m - k] = (even - wo).conj();
    }
}

/// Inverse split of pair `k` (`1 ≤ k ≤ m/2`): the packed spectrum `Z[k] = E + jO` and
/// `Z[m−k] = (E − jO)*` with `E = (Y[k] + Y*[m−k])·f`, `O = (Y[k] − Y*[m−k])·W^{−k}·f`, where
/// `f` (`factor`) is ½ times the output scale.
#[inline(always)]
pub(crate) fn inverse_pair<T: FftNum + Float>(bins: &impl HalfSpectrum<T>, twiddles: &[Complex<T>], work: &mut [Complex<T>], m: usize, k: usize, factor: T) {
    let half = factor;
    let a = bins.get(k);
    let b = bins.get(m - k).conj();
    let even = (a + b) * half;
    let odd = (a - b) * half * twiddles[k].conj();
    work[k] = Complex::new(even.re - odd.im, even.im + odd.re);
    if m - k != k {
        work[m - k] = Complex::new(even.re + odd.im, odd.re - even.im);
    }
}

/// `x` (even length) viewed as complex numbers `x[2r] + j·x[2r+1]`.
fn as_complex<T>(x: &[T]) -> &[Complex<T>] {
    assert!(x.len().is_multiple_of(2));
    // SAFETY: `Complex<T>` is `#[repr(C)]` with exactly two `T` fields (re, im), so it has the
    // size of `[T; 2]` and the alignment of `T`; the length is halved.
    unsafe { std::slice::from_raw_parts(x.as_ptr() as *const Complex<T>, x.len() / 2) }
}

/// Mutable version of [`as_complex`].
fn as_complex_mut<T>(x: &mut [T]) -> &mut [Complex<T>] {
    assert!(x.len().is_multiple_of(2));
    // SAFETY: as in `as_complex`; the borrow is exclusive.
    unsafe { std::slice::from_raw_parts_mut(x.as_mut_ptr() as *mut Complex<T>, x.len() / 2) }
}

/// Forward real FFT `x (n) → X[0..=n/2]` and inverse `X[0..=n/2] → x (n)`, unnormalised forward
/// (`X[k] = Σ x[t] e^{−j2πkt/n}`) and normalised inverse (`x = (1/n) Σ X[k] e^{+j2πkt/n}`, the
/// imaginary parts of `X[0]` and, for even `n`, `X[n/2]` ignored, as numpy's `irfft`).
pub(crate) struct RealFft<T: FftNum> {
    n: usize,
    forward: Arc<dyn Fft<T>>,
    inverse: Arc<dyn Fft<T>>,
    /// `e^{−j2πk/n}` for `k = 0..n/2` (even `n` only), computed in f64.
    twiddles: Vec<Complex<T>>,
}

impl<T: SplitFloat> RealFft<T> {
    /// Plans both directions for length `n ≥ 1`.
    pub fn new(n: usize) -> Self {
        let mut planner = FftPlanner::<T>::new();
        let inner = if n.is_multiple_of(2) { n / 2 } else { n };
        let forward = planner.plan_fft_forward(inner.max(1));
        let inverse = planner.plan_fft_inverse(inner.max(1));
        let twiddles = if n.is_multiple_of(2) {
            (0..n / 2)
                .map(|k| {
                    let a = -std::f64::consts::TAU * k as f64 / n as f64;
                    Complex::new(T::from_f64(a.cos()).expect("fits"), T::from_f64(a.sin()).expect("fits"))
                })
                .collect()
        } else {
            Vec::new()
        };
        RealFft {
            n,
            forward,
            inverse,
            twiddles,
        }
    }

    /// Number of spectrum bins, `n/2 + 1`.
    pub fn spectrum_len(&self) -> usize {
        self.n / 2 + 1
    }

    /// Length of the complex work buffer `process_*` need (plus the FFT's own scratch).
    fn work_len(&self) -> usize {
        if self.n.is_multiple_of(2) {
            self.n / 2
        } else {
            self.n
        }
    }

    /// Scratch elements both directions need, in one buffer.
    pub fn scratch_len(&self) -> usize {
        self.work_len()
            + self
                .forward
                .get_inplace_scratch_len()
                .max(self.inverse.get_inplace_scratch_len())
                .max(self.inverse.get_outofplace_scratch_len())
    }

    /// Forward transform of `input` (length n) into `output` (length n/2+1).
    pub fn forward(&self, input: &[T], output: &mut [Complex<T>], scratch: &mut Vec<Complex<T>>) {
        self.forward_bins(input, output, scratch);
    }

    /// Forward transform of `input` (length n), writing only the first `output.len()` bins
    /// (at most n/2+1): a resampler that keeps part of the spectrum skips the rest.
    pub fn forward_bins(&self, input: &[T], output: &mut [Complex<T>], scratch: &mut Vec<Complex<T>>) {
        debug_assert_eq!(input.len(), self.n);
        let limit = output.len();
        debug_assert!(limit <= self.spectrum_len());
        scratch.resize(self.scratch_len(), Complex::new(T::zero(), T::zero()));
        let (work, fft_scratch) = scratch.split_at_mut(self.work_len());
        if limit == 0 {
            return;
        }
        if self.n.is_multiple_of(2) {
            let m = self.n / 2;
            self.forward_packed(input, work, fft_scratch);
            let z0 = work[0];
            output[0] = Complex::new(z0.re + z0.im, T::zero());
            if m < limit {
                output[m] = Complex::new(z0.re - z0.im, T::zero());
            }
            let first = T::forward_split_fast(work, &self.twiddles, output, m);
            for k in first..=m / 2 {
                forward_pair(work, &self.twiddles, output, m, k);
            }
        } else {
            for (w, &v) in work.iter_mut().zip(input) {
                *w = Complex::new(v, T::zero());
            }
            self.forward.process_with_scratch(work, fft_scratch);
            output.copy_from_slice(&work[..limit]);
        }
    }

    /// Whether the packed path ([`forward_packed`](Self::forward_packed),
    /// [`inverse_through`](Self::inverse_through)) applies: an even length.
    pub fn is_packed(&self) -> bool {
        self.n.is_multiple_of(2) && self.n > 0
    }

    /// Scratch the packed path's transforms need besides their own buffers.
    pub fn inner_scratch_len(&self) -> usize {
        self.forward
            .get_inplace_scratch_len()
            .max(self.inverse.get_inplace_scratch_len())
            .max(self.inverse.get_outofplace_scratch_len())
    }

    /// The packed FFT `Z` (length n/2) of `input` (even length n): `Z = FFT(x[2r] + j·x[2r+1])`,
    /// from which [`Packed::bin`] reads the spectrum.
    pub fn forward_packed(&self, input: &[T], z: &mut [Complex<T>], fft_scratch: &mut [Complex<T>]) {
        debug_assert!(self.is_packed() && input.len() == self.n && z.len() == self.n / 2);
        z.copy_from_slice(as_complex(input));
        self.forward.process_with_scratch(z, fft_scratch);
    }

    /// `e^{−j2πk/n}` for `k = 0..n/2` (even n; empty for odd n): the twiddles [`Packed`] reads
    /// this transform's spectrum with.
    pub fn twiddles(&self) -> &[Complex<T>] {
        &self.twiddles
    }

    /// Inverse transform (even length n) of the cut spectrum `from` reads, into `output`
    /// (length n) scaled by `scale / n`: [`inverse_from`](Self::inverse_from) without the
    /// spectrum ever stored. `work` holds n/2 elements.
    pub fn inverse_through(&self, from: &Packed<'_, T>, output: &mut [T], scale: T, work: &mut [Complex<T>], fft_scratch: &mut [Complex<T>]) {
        debug_assert!(self.is_packed() && output.len() == self.n && work.len() == self.n / 2);
        self.inverse_even(from, |work, factor| T::through_split_fast(from, &self.twiddles, work, self.n / 2, factor), output, scale, work, fft_scratch);
    }

    /// The even-length inverse: the packed spectrum `Z` of `spectrum` by the inverse split (the
    /// leading pairs by `fast`, which gets `work` and the factor and returns the first pair it
    /// left), then one complex FFT of n/2 points straight into `output`.
    fn inverse_even<S: HalfSpectrum<T>>(&self, spectrum: &S, fast: impl FnOnce(&mut [Complex<T>], T) -> usize, output: &mut [T], scale: T, work: &mut [Complex<T>], fft_scratch: &mut [Complex<T>]) {
        let m = self.n / 2;
        // The output scale folds into the split: factor = ½ · scale / m.
        let factor = T::from_f64(0.5).expect("0.5 fits") * scale / T::from_usize(m).expect("length fits");
        // Bin 0 and bin m (DC and Nyquist) are real.
        let (y0, ym) = (spectrum.get(0).re, spectrum.get(m).re);
        work[0] = Complex::new((y0 + ym) * factor, (y0 - ym) * factor);
        let first = fast(work, factor);
        for k in first..=m / 2 {
            inverse_pair(spectrum, &self.twiddles, work, m, k, factor);
        }
        // Straight into the caller's buffer: sample pairs are the real and imaginary parts.
        self.inverse.process_outofplace_with_scratch(work, as_complex_mut(output), fft_scratch);
    }

    /// Inverse transform of `input` (length n/2+1) into `output` (length n), scaled by `scale / n`
    /// instead of `1 / n`.
    #[cfg(test)]
    pub fn inverse_scaled(&self, input: &[Complex<T>], output: &mut [T], scale: T, scratch: &mut Vec<Complex<T>>) {
        debug_assert_eq!(input.len(), self.spectrum_len());
        self.inverse_from(input, None, output, scale, scratch);
    }

    /// Inverse transform of the spectrum whose bins `0..bins.len()` are `bins` (bin `fix.0`
    /// multiplied by `fix.1` when given) and whose higher bins are zero, into `output` (length n),
    /// scaled by `scale / n`. The imaginary parts of bin 0 and, for even n, bin n/2 are ignored.
    pub fn inverse_from(&self, bins: &[Complex<T>], fix: Option<(usize, T)>, output: &mut [T], scale: T, scratch: &mut Vec<Complex<T>>) {
        debug_assert_eq!(output.len(), self.n);
        scratch.resize(self.scratch_len(), Complex::new(T::zero(), T::zero()));
        let (work, fft_scratch) = scratch.split_at_mut(self.work_len());
        let bins = Bins {
            bins: &bins[..bins.len().min(self.spectrum_len())],
            fix,
        };
        if self.n.is_multiple_of(2) {
            let m = self.n / 2;
            self.inverse_even(&bins, |work, factor| T::inverse_split_fast(&bins, &self.twiddles, work, m, factor), output, scale, work, fft_scratch);
        } else {
            let n = self.n;
            work[0] = Complex::new(bins.get(0).re, T::zero());
            for k in 1..self.spectrum_len() {
                let v = bins.get(k);
                work[k] = v;
                work[n - k] = v.conj();
            }
            self.inverse.process_with_scratch(work, fft_scratch);
            let s = scale / T::from_usize(n).expect("length fits");
            for (o, w) in output.iter_mut().zip(work.iter()) {
                *o = w.re * s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_rdft(x: &[f64]) -> Vec<Complex<f64>> {
        let n = x.len();
        (0..=n / 2)
            .map(|k| {
                x.iter().enumerate().fold(Complex::new(0.0, 0.0), |acc, (t, &v)| {
                    let a = -2.0 * std::f64::consts::PI * ((k * t) % n) as f64 / n as f64;
                    acc + Complex::new(a.cos(), a.sin()) * v
                })
            })
            .collect()
    }

    fn naive_irdft(spec: &[Complex<f64>], n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| {
                let mut s = 0.0;
                for k in 0..n {
                    // Hermitian extension; DC and Nyquist contribute their real parts.
                    let c = if k < spec.len() { spec[k] } else { spec[n - k].conj() };
                    let c = if k == 0 || (n.is_multiple_of(2) && k == n / 2) { Complex::new(c.re, 0.0) } else { c };
                    let a = 2.0 * std::f64::consts::PI * ((k * t) % n) as f64 / n as f64;
                    s += (c * Complex::new(a.cos(), a.sin())).re;
                }
                s / n as f64
            })
            .collect()
    }

    #[test]
    fn forward_and_inverse_match_naive_dft() {
        let mut state = 7u64;
        let mut rnd = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        for n in [1usize, 2, 3, 4, 5, 6, 7, 8, 12, 15, 16, 30, 31, 64, 97, 100] {
            let x: Vec<f64> = (0..n).map(|_| rnd()).collect();
            let plan = RealFft::<f64>::new(n);
            let mut spec = vec![Complex::new(0.0, 0.0); plan.spectrum_len()];
            let mut scratch = Vec::new();
            plan.forward(&x, &mut spec, &mut scratch);
            let want = naive_rdft(&x);
            for (k, (a, b)) in spec.iter().zip(&want).enumerate() {
                assert!((a - b).norm() < 1e-12 * n as f64, "n={n} k={k}: {a} vs {b}");
            }
            // Inverse of an arbitrary (non-Hermitian at DC/Nyquist) spectrum follows irfft.
            let s2: Vec<Complex<f64>> = (0..plan.spectrum_len()).map(|_| Complex::new(rnd(), rnd())).collect();
            let want = naive_irdft(&s2, n);
            let mut y = vec![0.0; n];
            plan.inverse_scaled(&s2, &mut y, 1.0, &mut scratch);
            for (t, (a, b)) in y.iter().zip(&want).enumerate() {
                assert!((a - b).abs() < 1e-12 * n as f64, "n={n} t={t}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn inverse_through_matches_stored_spectrum_for_every_cut_and_weight() {
        // The fused pass (vector blocks and portable pairs) against forward_bins + inverse_from
        // on the same input, for cuts and weighted bins anywhere, including inside blocks.
        let mut state = 5u64;
        let mut rnd = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) as f32 - 0.5
        };
        for (n_in, n_out) in [(256usize, 256usize), (256, 200), (200, 256), (130, 514), (514, 130), (96, 98)] {
            let x: Vec<f32> = (0..n_in).map(|_| rnd()).collect();
            let (fwd, inv) = (RealFft::<f32>::new(n_in), RealFft::<f32>::new(n_out));
            let spectrum_len = fwd.spectrum_len().min(inv.spectrum_len());
            let mut z = vec![Complex::new(0f32, 0.0); n_in / 2];
            let mut fft_scratch = vec![Complex::new(0f32, 0.0); fwd.inner_scratch_len().max(inv.inner_scratch_len())];
            fwd.forward_packed(&x, &mut z, &mut fft_scratch);
            let mut scratch = Vec::new();
            for keep in [spectrum_len, spectrum_len - 1, spectrum_len / 2, 23, 9, 1] {
                let mut bins = vec![Complex::new(0f32, 0.0); keep];
                fwd.forward_bins(&x, &mut bins, &mut scratch);
                for fix in [None, Some((keep - 1, 0.5f32)), Some((keep / 2, 2.0)), Some((7.min(keep - 1), 3.0))] {
                    let from = Packed {
                        z: &z,
                        twiddles: fwd.twiddles(),
                        keep,
                        fix,
                    };
                    let (mut a, mut b) = (vec![0f32; n_out], vec![0f32; n_out]);
                    let mut work = vec![Complex::new(0f32, 0.0); n_out / 2];
                    inv.inverse_through(&from, &mut a, 1.5, &mut work, &mut fft_scratch);
                    inv.inverse_from(&bins, fix, &mut b, 1.5, &mut scratch);
                    for (t, (p, q)) in a.iter().zip(&b).enumerate() {
                        assert!((p - q).abs() < 1e-6, "{n_in}->{n_out} keep={keep} fix={fix:?} t={t}: {p} vs {q}");
                    }
                }
            }
        }
    }

    #[test]
    fn f32_split_kernels_match_naive_for_every_limit() {
        // Sizes where the 4-wide kernels run many blocks, with kept-bin limits and gain bins
        // that fall inside blocks, on both sides of the mirror.
        let mut state = 3u64;
        let mut rnd = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        for n in [40usize, 58, 64, 90, 128, 202, 255, 256] {
            let x: Vec<f64> = (0..n).map(|_| rnd()).collect();
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let plan = RealFft::<f32>::new(n);
            let want = naive_rdft(&x);
            let tol = 1e-5 * (n as f64).sqrt() * 4.0;
            let mut scratch = Vec::new();
            for limit in [plan.spectrum_len(), plan.spectrum_len() - 1, n / 3, n / 4 + 1, 7, 1] {
                let mut out = vec![Complex::new(0f32, 0.0); limit];
                plan.forward_bins(&x32, &mut out, &mut scratch);
                for (k, (a, b)) in out.iter().zip(&want).enumerate() {
                    let d = Complex::new(a.re as f64 - b.re, a.im as f64 - b.im).norm();
                    assert!(d < tol, "n={n} limit={limit} k={k}: {a} vs {b}");
                }
            }
            let spec: Vec<Complex<f64>> = (0..plan.spectrum_len()).map(|_| Complex::new(rnd(), rnd())).collect();
            for valid in [plan.spectrum_len(), n / 2 - 3, n / 3, n / 4 + 2, 5] {
                for fix in [None, Some((valid - 1, 0.5)), Some((valid / 2, 2.0)), Some((3, 2.0))] {
                    let mut full: Vec<Complex<f64>> = spec[..valid].to_vec();
                    full.resize(plan.spectrum_len(), Complex::new(0.0, 0.0));
                    if let Some((f, g)) = fix {
                        full[f] *= g;
                    }
                    let want = naive_irdft(&full, n);
                    let bins32: Vec<Complex<f32>> = spec[..valid].iter().map(|c| Complex::new(c.re as f32, c.im as f32)).collect();
                    let mut y = vec![0f32; n];
                    plan.inverse_from(&bins32, fix.map(|(f, g)| (f, g as f32)), &mut y, 1.0, &mut scratch);
                    for (t, (a, b)) in y.iter().zip(&want).enumerate() {
                        assert!((*a as f64 - b).abs() < tol / n as f64 * 4.0, "n={n} valid={valid} fix={fix:?} t={t}: {a} vs {b}");
                    }
                }
            }
        }
    }
}
