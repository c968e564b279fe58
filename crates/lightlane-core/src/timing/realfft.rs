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

/// Forward real FFT `x (n) → X[0..=n/2]` and inverse `X[0..=n/2] → x (n)`, unnormalised forward
/// (`X[k] = Σ x[t] e^{−j2πkt/n}`) and normalised inverse (`x = (1/n) Σ X[k] e^{+j2πkt/n}`, the
/// imaginary parts of `X[0]` and, for even `n`, `X[n/2]` ignored, as numpy's `irfft`).
pub(crate) struct RealFft<T: FftNum> {
    n: usize,
    forward: Arc<dyn Fft<T>>,
    inverse: Arc<dyn Fft<T>>,
    /// `e^{−j2πk/n}` for `k = 0..n/2` (even `n` only).
    twiddles: Vec<Complex<T>>,
}

impl<T: FftNum + Float + FloatConst> RealFft<T> {
    /// Plans both directions for length `n ≥ 1`.
    pub fn new(n: usize) -> Self {
        let mut planner = FftPlanner::<T>::new();
        let inner = if n.is_multiple_of(2) { n / 2 } else { n };
        let forward = planner.plan_fft_forward(inner.max(1));
        let inverse = planner.plan_fft_inverse(inner.max(1));
        let twiddles = if n.is_multiple_of(2) {
            let nf = T::from_usize(n).expect("length fits the float type");
            (0..n / 2)
                .map(|k| {
                    let a = -T::TAU() * T::from_usize(k).expect("index fits") / nf;
                    Complex::new(a.cos(), a.sin())
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
        self.work_len() + self.forward.get_inplace_scratch_len().max(self.inverse.get_inplace_scratch_len())
    }

    /// Forward transform of `input` (length n) into `output` (length n/2+1).
    pub fn forward(&self, input: &[T], output: &mut [Complex<T>], scratch: &mut Vec<Complex<T>>) {
        debug_assert_eq!(input.len(), self.n);
        debug_assert_eq!(output.len(), self.spectrum_len());
        scratch.resize(self.scratch_len(), Complex::new(T::zero(), T::zero()));
        let (work, fft_scratch) = scratch.split_at_mut(self.work_len());
        let half = T::from_f64(0.5).expect("0.5 fits");
        if self.n.is_multiple_of(2) {
            let m = self.n / 2;
            for (w, p) in work.iter_mut().zip(input.chunks_exact(2)) {
                *w = Complex::new(p[0], p[1]);
            }
            self.forward.process_with_scratch(work, fft_scratch);
            let z0 = work[0];
            output[0] = Complex::new(z0.re + z0.im, T::zero());
            output[m] = Complex::new(z0.re - z0.im, T::zero());
            for k in 1..m {
                let a = work[k];
                let b = work[m - k].conj();
                let even = (a + b) * half;
                // (a − b) / (2j) = −j·(a − b)/2
                let d = (a - b) * half;
                let odd = Complex::new(d.im, -d.re);
                output[k] = even + self.twiddles[k] * odd;
            }
        } else {
            for (w, &v) in work.iter_mut().zip(input) {
                *w = Complex::new(v, T::zero());
            }
            self.forward.process_with_scratch(work, fft_scratch);
            output.copy_from_slice(&work[..self.spectrum_len()]);
        }
    }

    /// Inverse transform of `input` (length n/2+1, destroyed) into `output` (length n), scaled
    /// by `scale / n` instead of `1 / n`.
    pub fn inverse_scaled(&self, input: &mut [Complex<T>], output: &mut [T], scale: T, scratch: &mut Vec<Complex<T>>) {
        debug_assert_eq!(input.len(), self.spectrum_len());
        debug_assert_eq!(output.len(), self.n);
        scratch.resize(self.scratch_len(), Complex::new(T::zero(), T::zero()));
        let (work, fft_scratch) = scratch.split_at_mut(self.work_len());
        let zero = T::zero();
        input[0].im = zero;
        if self.n.is_multiple_of(2) {
            let m = self.n / 2;
            input[m].im = zero;
            let half = T::from_f64(0.5).expect("0.5 fits");
            for k in 0..m {
                let a = input[k];
                let b = input[m - k].conj();
                let even = (a + b) * half;
                let odd = (a - b) * half * self.twiddles[k].conj();
                // Z = E + j·O
                work[k] = Complex::new(even.re - odd.im, even.im + odd.re);
            }
            self.inverse.process_with_scratch(work, fft_scratch);
            let s = scale / T::from_usize(m).expect("length fits");
            for (o, w) in output.chunks_exact_mut(2).zip(work.iter()) {
                o[0] = w.re * s;
                o[1] = w.im * s;
            }
        } else {
            let n = self.n;
            work[..input.len()].copy_from_slice(input);
            for k in 1..input.len() {
                work[n - k] = input[k].conj();
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
                    let c = if k == 0 || (n % 2 == 0 && k == n / 2) { Complex::new(c.re, 0.0) } else { c };
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
            let mut s2: Vec<Complex<f64>> = (0..plan.spectrum_len()).map(|_| Complex::new(rnd(), rnd())).collect();
            let want = naive_irdft(&s2, n);
            let mut y = vec![0.0; n];
            plan.inverse_scaled(&mut s2, &mut y, 1.0, &mut scratch);
            for (t, (a, b)) in y.iter().zip(&want).enumerate() {
                assert!((a - b).abs() < 1e-12 * n as f64, "n={n} t={t}: {a} vs {b}");
            }
        }
    }
}
