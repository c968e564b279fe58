//! Optical field from power (with laser chirp) and block-wise spectral filtering (overlap-save
//! with whole-FFT windows), shared by the link simulator and the capture emulation.

use crate::{Error, Result};
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Largest one-sided impulse-response reach (samples) of a spectral filter; bounds FFT sizes.
pub const MAX_FILTER_REACH: usize = 1 << 20;
/// Relative impulse-response energy allowed outside the reach of a filter.
const REACH_ENERGY_TOL: f64 = 1e-9;
/// Power floor of the chirp phase `ln P`, as a fraction of the mean power.
pub const CHIRP_POWER_FLOOR: f64 = 1e-3;

/// Laser/modulator chirp (Henry linewidth-enhancement factor model, Koch and Linke 1986):
/// instantaneous frequency offset `Δν(t) = α/(4π) · (d ln P/dt + κ·(P − P̄))`, i.e. the field
/// phase `φ(t) = (α/2) · (ln P(t) + κ ∫ (P − P̄) dt)`.
///
/// The first term is the transient chirp (all modulators with α ≠ 0: EML, MZM with imbalance,
/// DML); the second the adiabatic chirp of a DML (κ in 1/(W·s)). The adiabatic term is taken
/// about the mean power P̄ so the carrier stays at the nominal frequency. `ln P` uses
/// `max(P, 10⁻³·P̄)` (see [`CHIRP_POWER_FLOOR`]).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chirp {
    /// Henry factor α (transient chirp), dimensionless; 0 = chirp-free.
    #[serde(default)]
    pub alpha: f64,
    /// Adiabatic chirp coefficient κ, 1/(W·s) (0 = none); only acts when α ≠ 0.
    #[serde(default)]
    pub adiabatic_k_per_w_s: f64,
}

impl Chirp {
    /// Transient chirp only.
    pub fn transient(alpha: f64) -> Chirp {
        Chirp {
            alpha,
            adiabatic_k_per_w_s: 0.0,
        }
    }

    /// Checks `|α| ≤ 20` and `0 ≤ κ ≤ 10¹⁶` 1/(W·s), finite.
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha.is_finite() && self.alpha.abs() <= 20.0) {
            return Err(Error::invalid("chirp.alpha", self.alpha, "Henry factor must be finite, within ±20"));
        }
        if !(self.adiabatic_k_per_w_s.is_finite() && (0.0..=1e16).contains(&self.adiabatic_k_per_w_s)) {
            return Err(Error::invalid(
                "chirp.adiabatic_k_per_w_s",
                self.adiabatic_k_per_w_s,
                "adiabatic chirp coefficient must be within 0..=1e16 1/(W·s)",
            ));
        }
        Ok(())
    }

    /// True when the field has no phase modulation.
    pub fn is_none(&self) -> bool {
        self.alpha == 0.0
    }
}

/// Field envelope (√W) of the power samples `p` (W) with `chirp`: `√max(P,0) · e^{jφ}`.
/// `p_mean` is P̄ of the chirp model; `dt` the sample interval. The adiabatic phase integral
/// starts at the first sample of `p` (a constant phase does not change detected power).
pub(crate) fn power_to_field(p: &[f64], chirp: &Chirp, p_mean: f64, dt: f64, out: &mut [Complex64]) {
    debug_assert_eq!(p.len(), out.len());
    if chirp.is_none() {
        for (o, &v) in out.iter_mut().zip(p) {
            *o = Complex64::new(v.max(0.0).sqrt(), 0.0);
        }
        return;
    }
    let floor = (CHIRP_POWER_FLOOR * p_mean).max(f64::MIN_POSITIVE);
    let half_alpha = 0.5 * chirp.alpha;
    let k_dt = chirp.adiabatic_k_per_w_s * dt;
    let mut integral = 0.0;
    for (o, &v) in out.iter_mut().zip(p) {
        integral += k_dt * (v - p_mean);
        let phase = half_alpha * (v.max(floor).ln() + integral);
        *o = Complex64::from_polar(v.max(0.0).sqrt(), phase);
    }
}

/// Frequency of FFT bin `k` of an `n`-point transform at sample rate `fs` (negative above n/2;
/// the Nyquist bin counts as +fs/2).
#[inline]
pub(crate) fn bin_frequency(k: usize, n: usize, fs: f64) -> f64 {
    if k <= n / 2 {
        k as f64 * fs / n as f64
    } else {
        (k as f64 - n as f64) * fs / n as f64
    }
}

/// One-sided reach (samples) holding all but [`REACH_ENERGY_TOL`] of the energy of the impulse
/// response of `resp` sampled on an `n`-point grid at `fs` (zero-delay responses).
pub(crate) fn impulse_reach(n: usize, fs: f64, resp: &dyn Fn(f64) -> Complex64) -> usize {
    let mut h: Vec<Complex64> = (0..n).map(|k| resp(bin_frequency(k, n, fs))).collect();
    FftPlanner::<f64>::new().plan_fft_inverse(n).process(&mut h);
    let e: Vec<f64> = h.iter().map(|c| c.norm_sqr()).collect();
    let total: f64 = e.iter().sum();
    if total <= 0.0 {
        return 0;
    }
    let mut acc = e[0];
    let mut m = 0;
    while acc < (1.0 - REACH_ENERGY_TOL) * total && m < n / 2 - 1 {
        m += 1;
        acc += e[m] + e[n - m];
    }
    m
}

/// A frequency response sampled on an `n`-point FFT grid, applied to whole windows.
pub(crate) struct SpectralFilter {
    h: Vec<Complex64>,
    fwd: Arc<dyn Fft<f64>>,
    inv: Arc<dyn Fft<f64>>,
}

impl SpectralFilter {
    /// Samples `resp(f)` (f in Hz) on the `n`-point grid at `fs`, with the 1/n of the inverse FFT.
    pub fn new(n: usize, fs: f64, resp: &dyn Fn(f64) -> Complex64, planner: &mut FftPlanner<f64>) -> Self {
        let scale = 1.0 / n as f64;
        let h = (0..n).map(|k| resp(bin_frequency(k, n, fs)) * scale).collect();
        SpectralFilter {
            h,
            fwd: planner.plan_fft_forward(n),
            inv: planner.plan_fft_inverse(n),
        }
    }

    /// Scratch length of [`SpectralFilter::apply`].
    pub fn scratch_len(&self) -> usize {
        self.fwd.get_inplace_scratch_len().max(self.inv.get_inplace_scratch_len())
    }

    /// Circular filtering of `buf` (length n) in place.
    pub fn apply(&self, buf: &mut [Complex64], scratch: &mut [Complex64]) {
        self.fwd.process_with_scratch(buf, scratch);
        for (b, h) in buf.iter_mut().zip(&self.h) {
            *b *= h;
        }
        self.inv.process_with_scratch(buf, scratch);
    }
}

/// Window layout of block-wise (overlap-save) processing: FFT size `n`, `margin` samples
/// discarded at each side, so `n − 2·margin` valid samples per window.
pub(crate) fn window_size(margin: usize, min_valid: usize) -> Result<usize> {
    if margin > MAX_FILTER_REACH {
        return Err(Error::invalid(
            "dispersion",
            format!("{margin} samples of impulse response"),
            format!("more than {MAX_FILTER_REACH} samples; lower the sample rate or the dispersion"),
        ));
    }
    Ok((8 * margin).max(2 * margin + min_valid).max(1 << 13).next_power_of_two())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chirp_free_field_is_sqrt_power() {
        let p = [0.0, 1.0, 4.0, -1.0];
        let mut e = [Complex64::default(); 4];
        power_to_field(&p, &Chirp::default(), 1.0, 1.0, &mut e);
        assert_eq!(e.map(|c| c.re), [0.0, 1.0, 2.0, 0.0]);
        assert!(e.iter().all(|c| c.im == 0.0));
    }

    #[test]
    fn transient_chirp_phase_is_half_alpha_ln_p() {
        let p = [1.0, 2.0];
        let mut e = [Complex64::default(); 2];
        power_to_field(&p, &Chirp::transient(3.0), 1.5, 1.0, &mut e);
        let dphi = e[1].arg() - e[0].arg();
        assert!((dphi - 1.5 * 2f64.ln()).abs() < 1e-12);
        assert!((e[1].norm_sqr() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn reach_of_identity_is_zero_and_of_delay_is_the_delay() {
        let one = |_f: f64| Complex64::new(1.0, 0.0);
        assert_eq!(impulse_reach(1024, 1.0, &one), 0);
        let delay = |f: f64| Complex64::from_polar(1.0, -2.0 * std::f64::consts::PI * f * 5.0);
        assert_eq!(impulse_reach(1024, 1.0, &delay), 5);
    }

    #[test]
    fn chirp_validation() {
        assert!(Chirp::transient(f64::NAN).validate().is_err());
        assert!(Chirp::transient(25.0).validate().is_err());
        assert!(Chirp {
            alpha: 1.0,
            adiabatic_k_per_w_s: -1.0
        }
        .validate()
        .is_err());
        assert!(Chirp::transient(-3.0).validate().is_ok());
    }
}
