//! Dispersion emulation on captured optical waveforms, as scope software applies a test fibre
//! (IEEE 802.3 121.8.5 / 138.8.5: TDECQ at the PMD's minimum and maximum dispersion, measured
//! from one back-to-back capture).
//!
//! The captured optical power `P(t)` (W) becomes a field `√P · e^{jφ}` (φ from the [`Chirp`]
//! model, optional), passes the fibre's all-pass dispersion `exp(j·π·D·L·λ²·f²/c)` and its loss,
//! and is detected by square law, so dispersion-induced power fading appears exactly as in the
//! link simulator ([`crate::sim::optical`]), which uses the same code.
//!
//! ```
//! use lightlane_core::optical::emulate_fiber;
//! use lightlane_core::sim::optical::{Chirp, Fiber};
//! use lightlane_core::Waveform;
//! let fs = 256e9;
//! let p: Vec<f32> = (0..4096).map(|i| (1e-3 * (1.0 + 0.5 * (i as f64 * 0.3).sin())) as f32).collect();
//! let capture = Waveform::new(p, fs).unwrap();
//! let corner = Fiber::with_accumulated_dispersion(-0.93, 1304.5).unwrap(); // DR4 minimum
//! let out = emulate_fiber(&capture, &corner, Chirp::default()).unwrap();
//! assert_eq!(out.len(), capture.len());
//! ```
//!
//! The capture has ends, and the fibre's impulse response reaches [`FiberEmulator::edge_samples`]
//! samples: within that distance of either end the capture is continued by mirroring, so those
//! samples are approximate. Negative power samples (scope noise and offset) are clipped to zero
//! in the field.
//!
//! **Removing dispersion.** Any signed accumulated dispersion can be applied (a negative one is a
//! physical fibre below its zero-dispersion wavelength, or a compensator). When the capture
//! itself was taken through dispersion (`capture_dispersion_ps_per_nm ≠ 0`), the emulator applies
//! the difference; since the detected power has lost the phase, this can only restore what the
//! capture did not fade away. The emulator therefore refuses when the capture's small-signal
//! fading `|cos θ − α sin θ|` drops below `−max_inverse_gain_db` anywhere in the band (restoring it
//! would amplify noise beyond that bound).

use crate::sim::optical::field::{bin_frequency, impulse_reach, power_to_field, window_size};
use crate::sim::optical::{Chirp, Fiber, SPEED_OF_LIGHT};
use crate::timing::realfft::RealFft;
use crate::{Error, Result, Waveform};
use rayon::prelude::*;
use rustfft::num_complex::{Complex32, Complex64};
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;
use serde::{Deserialize, Serialize};
use std::f64::consts::{PI, TAU};

/// Options of [`FiberEmulator`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmulationOptions {
    /// Chirp of the transmitter that produced the capture (default none).
    pub chirp: Chirp,
    /// Accumulated dispersion already in the capture, ps/nm (default 0: back-to-back).
    pub capture_dispersion_ps_per_nm: f64,
    /// Largest small-signal gain (dB) that removing `capture_dispersion_ps_per_nm` may need
    /// (default 6 dB).
    pub max_inverse_gain_db: f64,
    /// Band over which that gain is checked, Hz (default: the capture's Nyquist frequency).
    pub band_hz: Option<f64>,
}

impl Default for EmulationOptions {
    fn default() -> Self {
        EmulationOptions {
            chirp: Chirp::default(),
            capture_dispersion_ps_per_nm: 0.0,
            max_inverse_gain_db: 6.0,
            band_hz: None,
        }
    }
}

/// A planned fibre emulation for captures at one sample rate (plan once, process many).
///
/// Block-wise overlap-save in single precision (the capture is f32; the FFT error, about 1e-6
/// of the signal, is far below a scope's noise): FFT size `n` (a power of two, at least
/// `8·reach` and 2¹⁴), `n − 2·reach` output samples per block. A chirp-free capture has a real
/// field, so its forward transform is a real FFT of half the cost.
pub struct FiberEmulator {
    fs: f64,
    net_dispersion_ps_per_nm: f64,
    chirp: Chirp,
    transmission: f64,
    margin: usize,
    pub(crate) n: usize,
    /// `exp(jθ(f))/n` on the n-point grid; `None` when the net dispersion is zero.
    filter: Option<Filter32>,
}

/// The dispersion filter in f32: the response with the inverse FFT's 1/n, both complex
/// transforms, and the real forward transform for chirp-free captures.
struct Filter32 {
    h: Vec<Complex32>,
    fwd: Arc<dyn Fft<f32>>,
    inv: Arc<dyn Fft<f32>>,
    real: RealFft<f32>,
}

/// Caller-owned buffers of [`FiberEmulator::process`].
#[derive(Default)]
pub struct EmulatorScratch {
    p: Vec<f64>,
    field: Vec<Complex32>,
    fft: Vec<Complex32>,
    real: Vec<f32>,
    spectrum: Vec<Complex32>,
    real_scratch: Vec<Complex32>,
}

impl FiberEmulator {
    /// Plans the emulation of `fiber` (dispersion at its wavelength and length, and its loss) on
    /// captures sampled at `fs`.
    ///
    /// Errors: [`Error::InvalidParameter`] for an invalid fibre, chirp, options or `fs`, for an
    /// impulse response longer than [`crate::sim::optical::MAX_FILTER_REACH`] samples, and (field
    /// `capture_dispersion_ps_per_nm`) when removing the capture's own dispersion would need more
    /// than `max_inverse_gain_db`.
    pub fn new(fs: f64, fiber: &Fiber, options: &EmulationOptions) -> Result<FiberEmulator> {
        if !(fs.is_finite() && fs > 0.0) {
            return Err(Error::invalid("fs", fs, "sample rate must be positive and finite"));
        }
        fiber.validate()?;
        options.chirp.validate()?;
        let cap = options.capture_dispersion_ps_per_nm;
        if !(cap.is_finite() && cap.abs() <= 1e6) {
            return Err(Error::invalid("capture_dispersion_ps_per_nm", cap, "must be finite, within ±10⁶ ps/nm"));
        }
        if !(options.max_inverse_gain_db.is_finite() && options.max_inverse_gain_db >= 0.0) {
            return Err(Error::invalid("max_inverse_gain_db", options.max_inverse_gain_db, "must be finite and ≥ 0 dB"));
        }
        let band = options.band_hz.unwrap_or(0.5 * fs);
        if !(band.is_finite() && band > 0.0) {
            return Err(Error::invalid("band_hz", band, "must be a positive finite frequency"));
        }
        let lambda = fiber.wavelength_nm * 1e-9;
        let coeff = |ps_per_nm: f64| PI * ps_per_nm * 1e-3 * lambda * lambda / SPEED_OF_LIGHT;
        if cap != 0.0 {
            let a = coeff(cap);
            let alpha = options.chirp.alpha;
            let bound = 10f64.powf(-options.max_inverse_gain_db / 20.0);
            let steps = 4096;
            for i in 1..=steps {
                let f = band * i as f64 / steps as f64;
                let th = a * f * f;
                let g = (th.cos() - alpha * th.sin()).abs();
                if g < bound {
                    return Err(Error::invalid(
                        "capture_dispersion_ps_per_nm",
                        cap,
                        format!(
                            "the capture is faded by {:.1} dB at {:.3} GHz; removing its dispersion would amplify by more than max_inverse_gain_db = {} dB",
                            -20.0 * g.max(1e-30).log10(),
                            f / 1e9,
                            options.max_inverse_gain_db
                        ),
                    ));
                }
            }
        }
        let a = coeff(fiber.accumulated_dispersion_ps_per_nm() - cap);
        let resp = move |f: f64| Complex64::from_polar(1.0, a * f * f);
        let (margin, filter, n) = if a == 0.0 {
            (0, None, 1 << 16)
        } else {
            // Group delay spans ±|a|·fs/(2π)·... in samples: |dθ/dω|·fs at f = fs/2.
            let spread = (a.abs() * fs * fs / (2.0 * PI)).ceil() as usize;
            let probe = window_size(spread, 1 << 12)?.max(4 * (spread + 1024).next_power_of_two());
            let margin = impulse_reach(probe, fs, &resp).min(probe / 4) + 1;
            let n = window_size(margin, 1 << 14)?;
            let scale = 1.0 / n as f64;
            let h = (0..n)
                .map(|k| {
                    let v = resp(bin_frequency(k, n, fs)) * scale;
                    Complex32::new(v.re as f32, v.im as f32)
                })
                .collect();
            let mut planner = FftPlanner::<f32>::new();
            let filter = Filter32 {
                h,
                fwd: planner.plan_fft_forward(n),
                inv: planner.plan_fft_inverse(n),
                real: RealFft::new(n),
            };
            (margin, Some(filter), n)
        };
        Ok(FiberEmulator {
            fs,
            net_dispersion_ps_per_nm: fiber.accumulated_dispersion_ps_per_nm() - cap,
            chirp: options.chirp,
            transmission: fiber.power_transmission(),
            margin,
            n,
            filter,
        })
    }

    /// Sample rate the emulator was planned for, Hz.
    pub fn fs(&self) -> f64 {
        self.fs
    }

    /// Accumulated dispersion the emulator applies (fibre minus the capture's own), ps/nm.
    pub fn net_dispersion_ps_per_nm(&self) -> f64 {
        self.net_dispersion_ps_per_nm
    }

    /// Samples at each end of a capture that depend on the mirrored continuation.
    pub fn edge_samples(&self) -> usize {
        self.margin
    }

    fn block_len(&self) -> usize {
        self.n - 2 * self.margin
    }

    /// Emulates the fibre on `input` (optical power, W) into `output` (same length).
    ///
    /// Errors: [`Error::LengthMismatch`], [`Error::InputTooShort`] below 2 samples,
    /// [`Error::NonFinite`], and [`Error::Unusable`] when the mean power is not positive.
    pub fn process(&self, input: &[f32], output: &mut [f32], scratch: &mut EmulatorScratch) -> Result<()> {
        let p_mean = self.check(input, output)?;
        for (b, out) in output.chunks_mut(self.block_len()).enumerate() {
            self.block(input, b * self.block_len(), out, p_mean, scratch);
        }
        Ok(())
    }

    /// Emulates the fibre on a captured optical power waveform (W), in parallel. The result keeps
    /// `dt`, `t0` and the metadata (with `extra["emulated_dispersion_ps_per_nm"]` added); raw codes
    /// are dropped since the samples change.
    pub fn emulate(&self, waveform: &Waveform) -> Result<Waveform> {
        waveform.validate()?;
        if ((waveform.fs() - self.fs) / self.fs).abs() > 1e-9 {
            return Err(Error::invalid(
                "fs",
                waveform.fs(),
                format!("the emulator was planned for {} Sa/s", self.fs),
            ));
        }
        let mut out = vec![0f32; waveform.len()];
        let p_mean = self.check(&waveform.samples, &out)?;
        let bl = self.block_len();
        out.par_chunks_mut(bl).enumerate().for_each_init(EmulatorScratch::default, |s, (b, o)| {
            self.block(&waveform.samples, b * bl, o, p_mean, s)
        });
        let mut w = Waveform {
            samples: out,
            dt: waveform.dt,
            t0: waveform.t0,
            raw: None,
            meta: waveform.meta.clone(),
        };
        w.meta
            .extra
            .insert("emulated_dispersion_ps_per_nm".into(), self.net_dispersion_ps_per_nm.to_string());
        Ok(w)
    }

    fn check(&self, input: &[f32], output: &[f32]) -> Result<f64> {
        if input.len() != output.len() {
            return Err(Error::LengthMismatch {
                what: "fibre emulation output",
                expected: input.len(),
                got: output.len(),
            });
        }
        if input.len() < 2 {
            return Err(Error::InputTooShort {
                what: "optical capture",
                needed: 2,
                got: input.len(),
            });
        }
        crate::error::check_finite("optical capture", input)?;
        let mean = input.iter().map(|&v| v as f64).sum::<f64>() / input.len() as f64;
        if mean.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(Error::Unusable {
                stage: "fibre emulation",
                reason: format!("the capture's mean power is {mean:e}; an optical power waveform (W) must be positive"),
            });
        }
        Ok(mean)
    }

    fn block(&self, input: &[f32], o0: usize, out: &mut [f32], p_mean: f64, s: &mut EmulatorScratch) {
        let Some(filter) = &self.filter else {
            for (o, &v) in out.iter_mut().zip(&input[o0..]) {
                let p = (v as f64).max(0.0);
                *o = (p * self.transmission) as f32;
            }
            return;
        };
        let n = self.n;
        let len = input.len();
        let start = o0 as i64 - self.margin as i64;
        // The window's input: a plain copy inside the capture, mirrored across its ends.
        let window = |t: usize| -> f32 {
            let i = start + t as i64;
            if i >= 0 && (i as usize) < len {
                input[i as usize]
            } else {
                input[mirror(i, len as i64)]
            }
        };
        let interior = start >= 0 && start as usize + n <= len;
        s.field.resize(n, Complex32::default());
        s.fft.resize(filter.fwd.get_inplace_scratch_len().max(filter.inv.get_inplace_scratch_len()), Complex32::default());
        if self.chirp.is_none() {
            // Real field √P: real forward FFT, then the full spectrum H·X with X[n−k] = X[k]*.
            s.real.resize(n, 0.0);
            if interior {
                let src = &input[start as usize..start as usize + n];
                for (r, &v) in s.real.iter_mut().zip(src) {
                    *r = v.max(0.0).sqrt();
                }
            } else {
                for (t, r) in s.real.iter_mut().enumerate() {
                    *r = window(t).max(0.0).sqrt();
                }
            }
            s.spectrum.resize(filter.real.spectrum_len(), Complex32::default());
            filter.real.forward(&s.real, &mut s.spectrum, &mut s.real_scratch);
            let half = n / 2;
            s.field[0] = s.spectrum[0] * filter.h[0];
            s.field[half] = s.spectrum[half] * filter.h[half];
            for k in 1..half {
                let x = s.spectrum[k];
                s.field[k] = x * filter.h[k];
                s.field[n - k] = x.conj() * filter.h[n - k];
            }
        } else {
            s.p.resize(n, 0.0);
            if interior {
                for (p, &v) in s.p.iter_mut().zip(&input[start as usize..start as usize + n]) {
                    *p = v as f64;
                }
            } else {
                for (t, p) in s.p.iter_mut().enumerate() {
                    *p = window(t) as f64;
                }
            }
            power_to_field32(&s.p, &self.chirp, p_mean, 1.0 / self.fs, &mut s.field);
            filter.fwd.process_with_scratch(&mut s.field, &mut s.fft);
            for (b, h) in s.field.iter_mut().zip(&filter.h) {
                *b *= h;
            }
        }
        filter.inv.process_with_scratch(&mut s.field, &mut s.fft);
        let tr = self.transmission as f32;
        for (o, e) in out.iter_mut().zip(&s.field[self.margin..]) {
            *o = e.norm_sqr() * tr;
        }
    }
}

/// [`power_to_field`] into single-precision samples, in the emulator's precision: `ln(P/P̄)`
/// instead of `ln P` (a constant phase, which detection cannot see) and the logarithm and the
/// sine/cosine in f32 (the phase reduced to ±π in f64 first, so its error stays ~1e-7 rad).
fn power_to_field32(p: &[f64], chirp: &Chirp, p_mean: f64, dt: f64, out: &mut [Complex32]) {
    let inv_mean = 1.0 / p_mean;
    let floor = crate::sim::optical::CHIRP_POWER_FLOOR as f32;
    let half_alpha = 0.5 * chirp.alpha;
    let k_dt = chirp.adiabatic_k_per_w_s * dt;
    let mut integral = 0.0;
    for (o, &v) in out.iter_mut().zip(p) {
        integral += k_dt * (v - p_mean);
        let ln_rel = ((v * inv_mean) as f32).max(floor).ln();
        let mut phase = half_alpha * (ln_rel as f64 + integral);
        if phase.abs() > PI {
            phase -= (phase / TAU).round() * TAU;
        }
        let (sin, cos) = (phase as f32).sin_cos();
        let r = (v.max(0.0) as f32).sqrt();
        *o = Complex32::new(r * cos, r * sin);
    }
}

/// Index `i` of a sequence of length `len ≥ 2` continued by mirroring about its end samples.
#[inline]
fn mirror(i: i64, len: i64) -> usize {
    let period = 2 * (len - 1);
    let r = i.rem_euclid(period);
    (if r < len { r } else { period - r }) as usize
}

/// Applies `fiber` to a captured optical power waveform (W) from a transmitter with `chirp`
/// (back-to-back capture); see the module documentation. Plans a [`FiberEmulator`] each call.
pub fn emulate_fiber(waveform: &Waveform, fiber: &Fiber, chirp: Chirp) -> Result<Waveform> {
    let options = EmulationOptions {
        chirp,
        ..EmulationOptions::default()
    };
    FiberEmulator::new(waveform.fs(), fiber, &options)?.emulate(waveform)
}

/// The reference emulation: one FFT over the whole capture mirrored to twice its length, no
/// blocks (allocates the whole padded capture; the oracle the block-wise emulator is tested
/// against).
pub fn emulate_fiber_naive(waveform: &Waveform, fiber: &Fiber, chirp: Chirp) -> Result<Waveform> {
    fiber.validate()?;
    chirp.validate()?;
    let n = waveform.len();
    if n < 2 {
        return Err(Error::InputTooShort {
            what: "optical capture",
            needed: 2,
            got: n,
        });
    }
    let fs = waveform.fs();
    let p: Vec<f64> = waveform.samples.iter().map(|&v| v as f64).collect();
    let p_mean = p.iter().sum::<f64>() / n.max(1) as f64;
    let lambda = fiber.wavelength_nm * 1e-9;
    let a = PI * fiber.accumulated_dispersion_ps_per_nm() * 1e-3 * lambda * lambda / SPEED_OF_LIGHT;
    // Mirror-extend by n/2 on each side (capture in the middle), then circular filtering.
    let pad = n / 2;
    let ext: Vec<f64> = (0..n + 2 * pad).map(|t| p[mirror(t as i64 - pad as i64, n as i64)]).collect();
    let m = ext.len();
    let mut field = vec![Complex64::default(); m];
    power_to_field(&ext, &chirp, p_mean, 1.0 / fs, &mut field);
    let mut planner = FftPlanner::new();
    planner.plan_fft_forward(m).process(&mut field);
    for (k, v) in field.iter_mut().enumerate() {
        let f = crate::sim::optical::field::bin_frequency(k, m, fs);
        *v *= Complex64::from_polar(1.0 / m as f64, a * f * f);
    }
    planner.plan_fft_inverse(m).process(&mut field);
    let tr = fiber.power_transmission();
    let samples = field[pad..pad + n].iter().map(|e| (e.norm_sqr() * tr) as f32).collect();
    let mut w = Waveform::new(samples, fs)?;
    w.t0 = waveform.t0;
    w.meta = waveform.meta.clone();
    Ok(w)
}

#[cfg(test)]
mod tests;
