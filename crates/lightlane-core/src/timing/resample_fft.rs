//! FFT resampling (the method of `scipy.signal.resample`): the capture is taken as one period of
//! a periodic band-limited signal, its spectrum is cut or zero-padded to the new length, and the
//! inverse FFT gives the samples at the new rate.

use super::realfft::{Packed, RealFft};
use crate::{Error, Result};
use rustfft::num_complex::Complex32;

/// Longest input or output [`FftResampler`] plans for (2³⁰ samples).
pub const MAX_FFT_RESAMPLE_LEN: usize = 1 << 30;
/// Largest `out_rate / in_rate` [`resample_fft`] accepts.
pub const MAX_FFT_RESAMPLE_RATIO: f64 = 256.0;

/// Plans an FFT resampler from `n_in` to `n_out` samples, as `scipy.signal.resample(x, n_out)`
/// on float32 input:
///
/// `X = rfft(x)`, keep the bins below `m/2` with `m = min(n_in, n_out)`; when `m` is even and
/// the lengths differ, the unpaired bin `m/2` is doubled (down-sampling, joining the ± pair) or
/// halved (up-sampling, splitting it); `y = irfft(X · n_out/n_in, n_out)`.
///
/// The signal is treated as periodic (the FFT's circular wrap), so the first and last few output
/// samples ring when the capture's ends do not join smoothly, exactly as in scipy.
///
/// ```
/// use lightlane_core::timing::FftResampler;
/// let x: Vec<f32> = (0..64).map(|i| (i as f32 * std::f32::consts::TAU / 16.0).sin()).collect();
/// let r = FftResampler::new(64, 80).unwrap();
/// let y = r.process_vec(&x).unwrap();
/// // 5 output samples per period of the sine now, phase 0 at sample 0.
/// assert!((y[1] - (std::f32::consts::TAU / 20.0).sin()).abs() < 1e-5);
/// ```
pub struct FftResampler {
    n_in: usize,
    n_out: usize,
    forward: RealFft<f32>,
    inverse: RealFft<f32>,
}

/// Reusable buffers of [`FftResampler::process`].
#[derive(Default)]
pub struct FftResampleScratch {
    /// The kept bins of the input spectrum (odd lengths).
    spectrum: Vec<Complex32>,
    fft: Vec<Complex32>,
    /// The forward transform's packed FFT and the inverse transform's input (even lengths).
    packed_in: Vec<Complex32>,
    packed_out: Vec<Complex32>,
}

impl FftResampler {
    /// Plans the two transforms. Errors: a length of 0 or above [`MAX_FFT_RESAMPLE_LEN`].
    pub fn new(n_in: usize, n_out: usize) -> Result<Self> {
        for (name, n) in [("input length", n_in), ("output length", n_out)] {
            if n == 0 || n > MAX_FFT_RESAMPLE_LEN {
                return Err(Error::invalid(name, n, format!("must be within 1..={MAX_FFT_RESAMPLE_LEN}")));
            }
        }
        Ok(FftResampler {
            n_in,
            n_out,
            forward: RealFft::new(n_in),
            inverse: RealFft::new(n_out),
        })
    }

    /// Input length this resampler was planned for.
    pub fn input_len(&self) -> usize {
        self.n_in
    }

    /// Output length this resampler was planned for.
    pub fn output_len(&self) -> usize {
        self.n_out
    }

    /// Resamples `x` (length [`input_len`](Self::input_len)) into `out` (length
    /// [`output_len`](Self::output_len)).
    pub fn process(&self, x: &[f32], out: &mut [f32], scratch: &mut FftResampleScratch) -> Result<()> {
        if x.len() != self.n_in {
            return Err(Error::LengthMismatch {
                what: "FFT resampler input",
                expected: self.n_in,
                got: x.len(),
            });
        }
        if out.len() != self.n_out {
            return Err(Error::LengthMismatch {
                what: "FFT resampler output",
                expected: self.n_out,
                got: out.len(),
            });
        }
        if self.forward.is_packed() && self.inverse.is_packed() {
            self.process_packed(x, out, scratch);
        } else {
            self.process_stored(x, out, scratch);
        }
        Ok(())
    }

    /// The kept bins `0..keep`, the bin whose weight changes (`m/2` for an even `m` when the
    /// lengths differ: doubled down, halved up) and the output scale `n_out/n_in`.
    fn cut(&self) -> (usize, Option<(usize, f32)>, f32) {
        let m = self.n_in.min(self.n_out);
        let fix = (m.is_multiple_of(2) && self.n_in != self.n_out).then_some((m / 2, if self.n_out < self.n_in { 2.0 } else { 0.5 }));
        (m / 2 + 1, fix, self.n_out as f32 / self.n_in as f32)
    }

    /// Even lengths (the usual case): one pass from the forward packed FFT to the inverse one,
    /// the spectrum read where it is needed and never stored.
    fn process_packed(&self, x: &[f32], out: &mut [f32], scratch: &mut FftResampleScratch) {
        let (keep, fix, scale) = self.cut();
        let zero = Complex32::new(0.0, 0.0);
        scratch.packed_in.resize(self.n_in / 2, zero);
        scratch.packed_out.resize(self.n_out / 2, zero);
        scratch.fft.resize(self.forward.inner_scratch_len().max(self.inverse.inner_scratch_len()), zero);
        self.forward.forward_packed(x, &mut scratch.packed_in, &mut scratch.fft);
        let from = Packed {
            z: &scratch.packed_in,
            twiddles: self.forward.twiddles(),
            keep,
            fix,
        };
        self.inverse.inverse_through(&from, out, scale, &mut scratch.packed_out, &mut scratch.fft);
    }

    /// Any lengths: the kept half spectrum stored between the two transforms.
    fn process_stored(&self, x: &[f32], out: &mut [f32], scratch: &mut FftResampleScratch) {
        let (keep, fix, scale) = self.cut();
        scratch.spectrum.resize(keep, Complex32::new(0.0, 0.0));
        self.forward.forward_bins(x, &mut scratch.spectrum, &mut scratch.fft);
        self.inverse.inverse_from(&scratch.spectrum, fix, out, scale, &mut scratch.fft);
    }

    /// Allocating convenience wrapper around [`FftResampler::process`].
    pub fn process_vec(&self, x: &[f32]) -> Result<Vec<f32>> {
        let mut out = vec![0f32; self.n_out];
        self.process(x, &mut out, &mut FftResampleScratch::default())?;
        Ok(out)
    }
}

/// Resamples `x` by `ratio = out_rate / in_rate` with the FFT method of `scipy.signal.resample`
/// (see [`FftResampler`]); the output has `round(len · ratio)` samples. Output sample `m` lies
/// at input position `m / ratio` (exactly `m · len / n_out`).
///
/// Errors: an empty or non-finite input, a ratio that is not finite and positive or is above
/// [`MAX_FFT_RESAMPLE_RATIO`], or an output of zero samples or above [`MAX_FFT_RESAMPLE_LEN`].
pub fn resample_fft(x: &[f32], ratio: f64) -> Result<Vec<f32>> {
    if x.is_empty() {
        return Err(Error::InputTooShort {
            what: "samples to resample",
            needed: 1,
            got: 0,
        });
    }
    crate::error::check_finite("samples to resample", x)?;
    if !(ratio.is_finite() && ratio > 0.0 && ratio <= MAX_FFT_RESAMPLE_RATIO) {
        return Err(Error::invalid("ratio", ratio, format!("must be finite, positive and at most {MAX_FFT_RESAMPLE_RATIO}")));
    }
    let n_out = (x.len() as f64 * ratio).round();
    if n_out < 1.0 || n_out > MAX_FFT_RESAMPLE_LEN as f64 {
        return Err(Error::invalid(
            "ratio",
            ratio,
            format!("{} samples × {ratio} gives {n_out} output samples; need 1..={MAX_FFT_RESAMPLE_LEN}", x.len()),
        ));
    }
    FftResampler::new(x.len(), n_out as usize)?.process_vec(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// The oracle: scipy's algorithm written with naive O(n²) DFTs in f64.
    fn naive_resample(x: &[f32], n_out: usize) -> Vec<f64> {
        let n = x.len();
        let m = n.min(n_out);
        let keep = m / 2 + 1;
        let mut spec: Vec<(f64, f64)> = (0..keep)
            .map(|k| {
                x.iter().enumerate().fold((0.0, 0.0), |acc, (t, &v)| {
                    let a = -2.0 * PI * ((k * t) % n) as f64 / n as f64;
                    (acc.0 + v as f64 * a.cos(), acc.1 + v as f64 * a.sin())
                })
            })
            .collect();
        if m.is_multiple_of(2) && n != n_out {
            let f = if n_out < n { 2.0 } else { 0.5 };
            spec[m / 2].0 *= f;
            spec[m / 2].1 *= f;
        }
        (0..n_out)
            .map(|t| {
                let mut s = 0.0;
                for (k, &(re, im)) in spec.iter().enumerate() {
                    let a = 2.0 * PI * ((k * t) % n_out) as f64 / n_out as f64;
                    let real_only = k == 0 || (n_out.is_multiple_of(2) && k == n_out / 2);
                    let w = if real_only { 1.0 } else { 2.0 };
                    let im = if real_only { 0.0 } else { im };
                    s += w * (re * a.cos() - im * a.sin());
                }
                s / n_out as f64 * (n_out as f64 / n as f64)
            })
            .collect()
    }

    #[test]
    fn matches_naive_dft_oracle_for_every_parity() {
        let mut state = 99u64;
        for &(n, n_out) in &[(16usize, 24usize), (24, 16), (17, 24), (24, 17), (15, 21), (21, 15), (32, 32), (40, 7), (7, 40), (100, 64), (64, 100), (1, 5), (5, 1), (2, 3)] {
            let x: Vec<f32> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                })
                .collect();
            let got = FftResampler::new(n, n_out).unwrap().process_vec(&x).unwrap();
            let want = naive_resample(&x, n_out);
            assert_eq!(got.len(), n_out);
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!((*a as f64 - b).abs() < 1e-5, "{n}->{n_out} at {i}: {a} vs {b}");
            }
        }
    }

    fn lcg_signal(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn packed_path_matches_naive_oracle_where_vector_blocks_run() {
        // Even lengths large enough for many four-bin blocks; the cut (keep) and the zero upper
        // bins fall inside blocks, on both sides of the mirror, down and up.
        let cases = [(256usize, 200usize), (200, 256), (1000, 782), (782, 1000), (512, 512), (258, 130), (130, 258), (64, 1024), (1024, 64), (96, 94), (94, 96), (300, 298), (298, 300), (40, 58), (200, 258), (120, 202), (400, 522)];
        for (i, &(n, n_out)) in cases.iter().enumerate() {
            let x = lcg_signal(n, 11 + i as u64);
            let r = FftResampler::new(n, n_out).unwrap();
            assert!(r.forward.is_packed() && r.inverse.is_packed());
            let got = r.process_vec(&x).unwrap();
            let want = naive_resample(&x, n_out);
            let tol = 2e-6 * (n.max(n_out) as f64).sqrt();
            for (t, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!((*a as f64 - b).abs() < tol, "{n}->{n_out} at {t}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn packed_and_stored_paths_agree_on_long_inputs() {
        // The fused pass against the path that stores the spectrum (both checked against the
        // naive oracle on small sizes), at lengths the naive DFT is too slow for.
        let mut scratch = FftResampleScratch::default();
        for (i, &(n, n_out)) in [(1usize << 16, 51200usize), (1 << 16, 81920), (30000, 30002), (48000, 44100)].iter().enumerate() {
            let x = lcg_signal(n, 5 + i as u64);
            let r = FftResampler::new(n, n_out).unwrap();
            let (mut a, mut b) = (vec![0f32; n_out], vec![0f32; n_out]);
            r.process_packed(&x, &mut a, &mut scratch);
            r.process_stored(&x, &mut b, &mut scratch);
            let worst = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
            assert!(worst < 2e-6, "{n}->{n_out}: paths differ by {worst}");
            assert!(a.iter().any(|&v| v.abs() > 0.1), "{n}->{n_out}: output lost its signal");
        }
    }

    #[test]
    fn periodic_band_limited_signal_is_exact() {
        // A periodic signal with tones below both Nyquist rates: resampling is exact.
        let n = 1000;
        let f = |t: f64| (2.0 * PI * 3.0 * t).sin() + 0.3 * (2.0 * PI * 41.0 * t + 0.2).cos();
        let x: Vec<f32> = (0..n).map(|i| f(i as f64 / n as f64) as f32).collect();
        for ratio in [0.37, 1.0, 1.5, 2.75] {
            let y = resample_fft(&x, ratio).unwrap();
            let n_out = y.len();
            assert_eq!(n_out, (n as f64 * ratio).round() as usize);
            for (i, v) in y.iter().enumerate() {
                assert!((*v as f64 - f(i as f64 / n_out as f64)).abs() < 2e-5, "ratio {ratio} at {i}");
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(resample_fft(&[], 2.0), Err(Error::InputTooShort { .. })));
        assert!(matches!(resample_fft(&[1.0, f32::NAN], 2.0), Err(Error::NonFinite { .. })));
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e6] {
            assert!(matches!(resample_fft(&[1.0; 8], r), Err(Error::InvalidParameter { .. })), "{r}");
        }
        assert!(matches!(resample_fft(&[1.0; 8], 0.01), Err(Error::InvalidParameter { .. })));
        let r = FftResampler::new(8, 4).unwrap();
        assert!(matches!(r.process(&[0.0; 7], &mut [0.0; 4], &mut Default::default()), Err(Error::LengthMismatch { .. })));
        assert!(FftResampler::new(0, 4).is_err());
    }
}
