//! The Bessel-Thomson reference receiver of optical PAM4 measurements.
//!
//! IEEE 802.3 Clause 121.8.5.1 (TDECQ, also 138.8.5, 139.7.5, 140.7.5 and the 802.3cu/db/dj
//! optical clauses) filters the captured signal with a fourth-order Bessel-Thomson response whose
//! −3 dB frequency is half the signalling rate (13.28125 GHz at 26.5625 GBd, 26.5625 GHz at
//! 53.125 GBd):
//!
//! `H(p) = 105 / (p⁴ + 10p³ + 45p² + 105p + 105)`, `p = j·ω₀·f / f3dB`, `ω₀ = 2.113917674904…`
//!
//! (the general order-n form is [`crate::sim::bessel_thomson_response`]). The filter's group
//! delay at DC, `ω₀ / (2π·f3dB)`, is removed, so a symbol's sampling instant is the same before
//! and after the filter.
//!
//! ```
//! use lightlane_core::eq::reference_rx::bessel_thomson_filter;
//! // A constant passes unchanged (unit DC gain).
//! let y = bessel_thomson_filter(&[0.25f32; 64], 4.0 * 26.5625e9, 13.28125e9, 4).unwrap();
//! assert!(y.iter().all(|v| (v - 0.25).abs() < 1e-5));
//! ```

use super::analog::AnalogFir;
use crate::sim::{bessel_thomson_omega0, bessel_thomson_response};
use crate::{Error, Result};
use rustfft::num_complex::Complex64;

/// Reference-receiver bandwidth as a fraction of the signalling rate (IEEE 802.3 121.8.5.1:
/// f3dB = 0.5 × baud).
pub const REFERENCE_F3DB_PER_BAUD: f64 = 0.5;

/// The order of the 802.3 reference receiver.
pub const REFERENCE_ORDER: usize = 4;

/// A Bessel-Thomson low-pass planned for one sample rate (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct BesselThomsonFilter {
    f3db_hz: f64,
    order: usize,
    fir: AnalogFir,
}

impl BesselThomsonFilter {
    /// Plans an order-`order` (1..=8) Bessel-Thomson filter with −3 dB frequency `f3db_hz` for
    /// a signal sampled at `fs`.
    ///
    /// Errors ([`Error::InvalidParameter`]): `fs` or `f3db_hz` not finite and positive, `f3db_hz`
    /// not below `fs / 2`, `order` outside 1..=8.
    pub fn new(fs: f64, f3db_hz: f64, order: usize) -> Result<BesselThomsonFilter> {
        if !(fs.is_finite() && fs > 0.0) {
            return Err(Error::invalid("fs", fs, "sample rate must be finite and > 0"));
        }
        if !(f3db_hz.is_finite() && f3db_hz > 0.0 && f3db_hz < 0.5 * fs) {
            return Err(Error::invalid(
                "Bessel-Thomson f3db_hz",
                f3db_hz,
                format!("must be > 0 and below fs/2 = {:.6e} Hz", 0.5 * fs),
            ));
        }
        if !(1..=8).contains(&order) {
            return Err(Error::invalid("Bessel-Thomson order", order, "must be 1..=8"));
        }
        let w0 = bessel_thomson_omega0(order);
        let tau = w0 / (2.0 * std::f64::consts::PI * f3db_hz);
        let bt = crate::sim::bessel_thomson_response_fn(order);
        let resp = move |f: f64| bt(f / f3db_hz) * Complex64::from_polar(1.0, 2.0 * std::f64::consts::PI * f * tau);
        // The delay-compensated impulse response dies out within a few group delays.
        let fir = AnalogFir::design(&resp, fs, 12.0 * tau + 4.0 / f3db_hz)?;
        Ok(BesselThomsonFilter {
            f3db_hz,
            order,
            fir,
        })
    }

    /// The 802.3 reference receiver (order 4, f3dB = 0.5 × `baud`) at sample rate `fs`.
    pub fn reference(fs: f64, baud: f64) -> Result<BesselThomsonFilter> {
        BesselThomsonFilter::new(fs, REFERENCE_F3DB_PER_BAUD * baud, REFERENCE_ORDER)
    }

    /// The −3 dB frequency in Hz.
    pub fn f3db_hz(&self) -> f64 {
        self.f3db_hz
    }

    /// The filter order.
    pub fn order(&self) -> usize {
        self.order
    }

    /// The analog response at `f_hz` with the DC group delay removed (what the filter aims at).
    pub fn response(&self, f_hz: f64) -> Complex64 {
        let tau = bessel_thomson_omega0(self.order) / (2.0 * std::f64::consts::PI * self.f3db_hz);
        bessel_thomson_response(self.order, f_hz / self.f3db_hz)
            * Complex64::from_polar(1.0, 2.0 * std::f64::consts::PI * f_hz * tau)
    }

    /// The response of the FIR actually applied at `f_hz` (|f| < fs/2).
    pub fn realised_response(&self, f_hz: f64) -> Complex64 {
        self.fir.realised_response(f_hz)
    }

    /// The FIR taps; the tap at index `taps().len() / 2` acts at `t = 0`.
    pub fn taps(&self) -> &[f32] {
        self.fir.taps()
    }

    /// Index of the tap that acts at `t = 0` (`taps().len() / 2`): output `k` is
    /// `Σ_j taps()[j]·x[k + lead − j]`, the input's end samples held beyond its ends.
    pub fn lead(&self) -> usize {
        self.fir.lead()
    }

    /// Filters `x` into `out` (same length); samples beyond the ends are taken equal to the end
    /// samples. `scratch` is reusable. [`Error::LengthMismatch`] if `out.len() != x.len()`.
    pub fn apply_into(&self, x: &[f32], out: &mut [f32], scratch: &mut Vec<f32>) -> Result<()> {
        self.fir.apply_into(x, out, scratch)
    }

    /// Allocating wrapper of [`BesselThomsonFilter::apply_into`]. Non-finite samples propagate.
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        self.fir.apply(x)
    }
}

/// Filters `x` (sampled at `fs`) with an order-`order` Bessel-Thomson low-pass at `f3db_hz`, DC
/// group delay removed; the 802.3 reference receiver is `order = 4`, `f3db_hz = 0.5 × baud`.
/// Errors as [`BesselThomsonFilter::new`], plus [`Error::NonFinite`] for a NaN/∞ sample.
pub fn bessel_thomson_filter(x: &[f32], fs: f64, f3db_hz: f64, order: usize) -> Result<Vec<f32>> {
    crate::error::check_finite("Bessel-Thomson filter input", x)?;
    Ok(BesselThomsonFilter::new(fs, f3db_hz, order)?.apply(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bt4_is_minus_3_01_db_at_f3db_with_unit_dc_gain() {
        let baud = 53.125e9;
        for sps in [2.0, 4.0, 256.0 / 53.125] {
            let fs = sps * baud;
            let bt = BesselThomsonFilter::reference(fs, baud).unwrap();
            assert_eq!(bt.f3db_hz(), 26.5625e9);
            let at_f3 = 20.0 * bt.realised_response(26.5625e9).norm().log10();
            assert!((at_f3 + 3.0103).abs() < 0.01, "sps {sps}: {at_f3} dB");
            assert!((bt.realised_response(0.0).re - 1.0).abs() < 1e-6);
            let sum: f64 = bt.taps().iter().map(|&v| v as f64).sum();
            assert!((sum - 1.0).abs() < 1e-5, "{sum}");
            // The FIR follows the analog response over the band.
            for i in 0..=40 {
                let f = i as f64 / 40.0 * 0.9 * fs / 2.0;
                let d = (bt.realised_response(f) - bt.response(f)).norm();
                assert!(d < 3e-3, "sps {sps} f {f:e}: {d}");
            }
            // A sinusoid at f3dB is attenuated by 3 dB, measured on the filtered samples.
            let n = 4096;
            let x: Vec<f32> = (0..n)
                .map(|i| (2.0 * std::f64::consts::PI * 26.5625e9 * i as f64 / fs).sin() as f32)
                .collect();
            let y = bt.apply(&x);
            let rms = |v: &[f32]| (v.iter().map(|&a| (a as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            let g = 20.0 * (rms(&y[500..n - 500]) / rms(&x[500..n - 500])).log10();
            assert!((g + 3.01).abs() < 0.05, "sps {sps}: {g} dB");
        }
    }

    #[test]
    fn analog_response_matches_the_802_3_polynomial() {
        // 105 / (p⁴ + 10p³ + 45p² + 105p + 105), p = j·ω₀·f/f3dB (121.8.5.1 / Annex 93A).
        let w0 = 2.113917674904;
        let bt = BesselThomsonFilter::new(100e9, 13.28125e9, 4).unwrap();
        let tau = w0 / (2.0 * std::f64::consts::PI * 13.28125e9);
        for f in [1e9, 5e9, 13.28125e9, 20e9, 30e9] {
            let p = Complex64::new(0.0, w0 * f / 13.28125e9);
            let h = 105.0 / (p.powi(4) + 10.0 * p.powi(3) + 45.0 * p.powi(2) + 105.0 * p + 105.0);
            let want = h * Complex64::from_polar(1.0, 2.0 * std::f64::consts::PI * f * tau);
            assert!((bt.response(f) - want).norm() < 1e-9, "f {f:e}");
        }
    }

    #[test]
    fn preserves_symbol_timing() {
        // A symmetric pulse keeps its centre of mass: the DC group delay is removed.
        let fs = 4.0 * 26.5625e9;
        let bt = BesselThomsonFilter::reference(fs, 26.5625e9).unwrap();
        let mut x = vec![0.0f32; 400];
        for v in &mut x[196..=204] {
            *v = 1.0;
        }
        let y = bt.apply(&x);
        let (m0, m1) = y.iter().enumerate().fold((0.0, 0.0), |(a, b), (i, &v)| {
            (a + v as f64, b + v as f64 * i as f64)
        });
        let centre = m1 / m0;
        assert!((centre - 200.0).abs() < 0.05, "centre {centre}");
    }

    #[test]
    fn bad_parameters_are_named_errors() {
        assert!(matches!(
            BesselThomsonFilter::new(100e9, 60e9, 4),
            Err(Error::InvalidParameter { name: "Bessel-Thomson f3db_hz", .. })
        ));
        assert!(BesselThomsonFilter::new(100e9, 10e9, 0).is_err());
        assert!(BesselThomsonFilter::new(100e9, 10e9, 9).is_err());
        assert!(BesselThomsonFilter::new(-1.0, 10e9, 4).is_err());
        assert!(matches!(
            bessel_thomson_filter(&[0.0, f32::NAN], 100e9, 10e9, 4),
            Err(Error::NonFinite { index: 1, .. })
        ));
    }
}
