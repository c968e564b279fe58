//! FIR realisation of analog (continuous-time) receiver responses at a sample rate.
//!
//! The CTLE (IEEE 802.3 Annex 93A-22) and the Bessel-Thomson reference receiver (121.8.5.1) are
//! defined by their frequency response `H(f)`. To apply one to a capture at `fs`, the response is
//! sampled on a fine FFT grid over `[0, fs)` (conjugate-symmetric, the Nyquist bin real),
//! inverse-transformed, and the impulse response is cut to `2·half + 1` taps around `t = 0`
//! (non-causal taps allowed) with a raised-cosine taper over the outer quarter. The DC gain is
//! restored exactly after the taper. The FIR then runs on the SIMD [`Fir`] engine.
//!
//! Inside the band the FIR matches `H(f)` to the truncation error of the impulse response
//! (tested to 1e-3 of the peak gain below 0.9·fs/2); near `fs/2` the response is smoothed because
//! a response whose phase is not zero at `fs/2` has no exact discrete-time equivalent there.

use crate::filter::{Fir, MAX_FIR_TAPS};
use crate::{Error, Result};
use rustfft::num_complex::Complex64;
use rustfft::FftPlanner;

/// Most taps on either side of `t = 0` a designed filter may have.
pub(crate) const MAX_HALF_TAPS: usize = (MAX_FIR_TAPS - 1) / 2;
/// Fewest taps on either side of `t = 0`.
const MIN_HALF_TAPS: usize = 16;
/// Fewest taps on either side of `t = 0` when the response is still significant at `fs/2`: the
/// smoothing there then spans fewer frequencies (about `fs / half`).
const MIN_HALF_TAPS_AT_NYQUIST: usize = 128;

/// An analog response realised as a (possibly non-causal) FIR at one sample rate:
/// `y[n] = Σ_m h[m] · x[n + lead − m]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AnalogFir {
    fir: Fir,
    lead: usize,
    fs: f64,
}

impl AnalogFir {
    /// Designs the FIR of `resp` (a function of frequency in Hz) at sample rate `fs`, with
    /// `duration_s` the time on either side of `t = 0` after which the impulse response is
    /// negligible (clamped to 16..=2047 samples).
    pub(crate) fn design(
        resp: &(dyn Fn(f64) -> Complex64 + Sync),
        fs: f64,
        duration_s: f64,
    ) -> Result<AnalogFir> {
        if !(fs.is_finite() && fs > 0.0) {
            return Err(Error::invalid("fs", fs, "sample rate must be finite and > 0"));
        }
        let want = (duration_s * fs).ceil();
        let peak = (0..=64)
            .map(|i| resp(i as f64 / 128.0 * fs).norm())
            .fold(0.0f64, f64::max);
        let min_half = if resp(0.5 * fs).norm() > 1e-3 * peak {
            MIN_HALF_TAPS_AT_NYQUIST
        } else {
            MIN_HALF_TAPS
        };
        let half = if want.is_finite() {
            (want.max(min_half as f64) as usize).min(MAX_HALF_TAPS)
        } else {
            MAX_HALF_TAPS
        };
        // A grid 8× the filter span keeps the time aliasing of the sampled response negligible.
        let n = (8 * (2 * half + 1)).next_power_of_two().max(1024);
        // The response on the grid's n/2 + 1 frequencies, on the thread pool (a 4th-order
        // Bessel-Thomson response costs ~0.1 µs a point; long spans have 2^16 points).
        let resp_at: Vec<Complex64> = {
            use rayon::prelude::*;
            (0..n / 2 + 1).into_par_iter().with_min_len(4096).map(|k| resp(k as f64 * fs / n as f64)).collect()
        };
        let mut buf = vec![Complex64::new(0.0, 0.0); n];
        for (k, &h) in resp_at.iter().enumerate() {
            if !(h.re.is_finite() && h.im.is_finite()) {
                return Err(Error::Unusable {
                    stage: "analog filter design",
                    reason: format!("the response is not finite at {:.6e} Hz", k as f64 * fs / n as f64),
                });
            }
            buf[k] = if k == n / 2 { Complex64::new(h.re, 0.0) } else { h };
            if k > 0 && k < n / 2 {
                buf[n - k] = h.conj();
            }
        }
        FftPlanner::<f64>::new().plan_fft_inverse(n).process(&mut buf);
        let taper_start = (3 * half) / 4;
        let mut taps = vec![0.0f64; 2 * half + 1];
        for (i, t) in taps.iter_mut().enumerate() {
            let m = i as isize - half as isize;
            let v = buf[m.rem_euclid(n as isize) as usize].re / n as f64;
            let a = m.unsigned_abs();
            let w = if a <= taper_start {
                1.0
            } else {
                let u = (a - taper_start) as f64 / (half + 1 - taper_start) as f64;
                0.5 * (1.0 + (std::f64::consts::PI * u).cos())
            };
            *t = v * w;
        }
        // Restore the exact DC gain the taper disturbed.
        let dc = resp(0.0).re;
        let sum: f64 = taps.iter().sum();
        if sum.abs() > 1e-12 * dc.abs().max(1e-300) && dc != 0.0 {
            let s = dc / sum;
            taps.iter_mut().for_each(|t| *t *= s);
        }
        let taps32: Vec<f32> = taps.iter().map(|&v| v as f32).collect();
        Ok(AnalogFir {
            fir: Fir::new(&taps32)?,
            lead: half,
            fs,
        })
    }

    /// The taps; `taps()[lead]` is the `t = 0` tap.
    pub(crate) fn taps(&self) -> &[f32] {
        self.fir.taps()
    }

    /// Index of the `t = 0` tap.
    pub(crate) fn lead(&self) -> usize {
        self.lead
    }

    /// Frequency response of the realised FIR at `f_hz` (for checks against the analog one).
    pub(crate) fn realised_response(&self, f_hz: f64) -> Complex64 {
        let w = -2.0 * std::f64::consts::PI * f_hz / self.fs;
        self.taps()
            .iter()
            .enumerate()
            .map(|(m, &h)| Complex64::from_polar(h as f64, w * (m as f64 - self.lead as f64)))
            .sum()
    }

    /// Filters `x` into `out` (same length). Samples before the start and after the end are
    /// taken equal to the first and last sample, so a constant input gives the DC gain times
    /// that constant everywhere. `scratch` is grown as needed and reusable.
    pub(crate) fn apply_into(&self, x: &[f32], out: &mut [f32], scratch: &mut Vec<f32>) -> Result<()> {
        if out.len() != x.len() {
            return Err(Error::LengthMismatch {
                what: "analog filter output (same length as the input)",
                expected: x.len(),
                got: out.len(),
            });
        }
        if x.is_empty() {
            return Ok(());
        }
        let l = self.taps().len();
        let front = l - 1 - self.lead;
        let back = self.lead;
        let (n, first, last) = (x.len(), x[0], x[x.len() - 1]);
        scratch.clear();
        if n < l - 1 {
            // Shorter than the filter: the whole padded input at once.
            scratch.extend(std::iter::repeat_n(first, front));
            scratch.extend_from_slice(x);
            scratch.extend(std::iter::repeat_n(last, back));
            return self.fir.process_valid_par(scratch, out);
        }
        // The outputs whose taps all fall inside `x` straight from `x`; only the ends go through
        // a short padded copy (l − 1 + front or back samples), not the whole capture.
        let (head, rest) = out.split_at_mut(front);
        let (middle, tail) = rest.split_at_mut(n - (l - 1));
        self.fir.process_valid_par(x, middle)?;
        scratch.extend(std::iter::repeat_n(first, front));
        scratch.extend_from_slice(&x[..l - 1]);
        self.fir.process_valid_par(scratch, head)?;
        scratch.clear();
        scratch.extend_from_slice(&x[n - (l - 1)..]);
        scratch.extend(std::iter::repeat_n(last, back));
        self.fir.process_valid_par(scratch, tail)
    }

    /// [`AnalogFir::apply_into`] the plain way, for the tests: the whole input padded with its
    /// end samples, then one valid-mode pass.
    #[cfg(test)]
    pub(crate) fn apply_padded(&self, x: &[f32]) -> Vec<f32> {
        let l = self.taps().len();
        let mut padded = vec![x[0]; l - 1 - self.lead];
        padded.extend_from_slice(x);
        padded.extend(std::iter::repeat_n(x[x.len() - 1], self.lead));
        let mut out = vec![0.0; x.len()];
        self.fir.process_valid_par(&padded, &mut out).expect("sized");
        out
    }

    /// Allocating wrapper of [`AnalogFir::apply_into`].
    pub(crate) fn apply(&self, x: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0f32; x.len()];
        self.apply_into(x, &mut out, &mut Vec::new())
            .expect("output sized to the input");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_pole_lowpass_matches_its_response() {
        let fs = 100e9;
        let fc = 5e9;
        let resp = move |f: f64| Complex64::new(1.0, 0.0) / Complex64::new(1.0, f / fc);
        let tau = 1.0 / (2.0 * std::f64::consts::PI * fc);
        let a = AnalogFir::design(&resp, fs, 16.0 * tau).unwrap();
        for f in [0.0, 1e9, 5e9, 20e9, 40e9, 44e9] {
            let d = (a.realised_response(f) - resp(f)).norm();
            assert!(d < 1e-3, "f {f:e}: {d}");
        }
        // A constant passes with the DC gain, the edges included.
        let y = a.apply(&[0.7f32; 300]);
        assert!(y.iter().all(|&v| (v - 0.7).abs() < 1e-5), "{:?}", &y[..5]);
        // The impulse response of the causal pole peaks at t = 0, not before.
        let taps = a.taps();
        // (The sample at t = 0 sits on the step of the exponential and holds about half of it.)
        let peak = (0..taps.len()).max_by(|&i, &j| taps[i].total_cmp(&taps[j])).unwrap();
        assert!(peak == a.lead() || peak == a.lead() + 1, "peak {peak}, lead {}", a.lead());
        let pre: f64 = taps[..a.lead() - 2].iter().map(|&v| v as f64).sum();
        assert!(pre.abs() < 0.02, "pre-cursor area {pre}");
    }

    #[test]
    fn ends_through_short_copies_equal_the_whole_padded_input() {
        // apply_into filters the interior straight from x and pads only the ends: the same
        // outputs as padding the whole input, bit for bit, for lengths around the filter span
        // (shorter, equal, just longer) and long enough for the parallel path.
        let fs = 100e9;
        let fc = 5e9;
        let resp = move |f: f64| Complex64::new(1.0, 0.0) / Complex64::new(1.0, f / fc);
        let a = AnalogFir::design(&resp, fs, 16.0 / (2.0 * std::f64::consts::PI * fc)).unwrap();
        let l = a.taps().len();
        assert!(a.lead() > 0 && a.lead() < l - 1, "the test needs taps on both sides");
        let mut state = 17u64;
        for n in [1, 2, l / 2, l - 2, l - 1, l, l + 1, 2 * l + 3, 5000, 300_001] {
            let x: Vec<f32> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                })
                .collect();
            let mut out = vec![f32::NAN; n];
            a.apply_into(&x, &mut out, &mut Vec::new()).unwrap();
            let want = a.apply_padded(&x);
            for (i, (p, q)) in out.iter().zip(&want).enumerate() {
                assert!(p.to_bits() == q.to_bits(), "n={n} (l={l}) at {i}: {p} vs {q}");
            }
        }
    }

    #[test]
    fn rejects_bad_rate_and_length() {
        let resp = |_f: f64| Complex64::new(1.0, 0.0);
        assert!(AnalogFir::design(&resp, 0.0, 1e-9).is_err());
        assert!(AnalogFir::design(&resp, f64::NAN, 1e-9).is_err());
        let a = AnalogFir::design(&resp, 1e9, 1e-9).unwrap();
        assert!(matches!(
            a.apply_into(&[1.0; 4], &mut [0.0; 3], &mut Vec::new()),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(a.apply(&[]).is_empty());
        // The all-pass design is the identity.
        let y = a.apply(&[1.0, -2.0, 3.0]);
        for (a, b) in y.iter().zip([1.0f32, -2.0, 3.0]) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
