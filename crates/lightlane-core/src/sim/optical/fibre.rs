//! Single-mode fibre: chromatic dispersion per the IEEE 802.3 formula, attenuation, the field
//! transfer function and the small-signal IM/DD (power-fading) response.

use crate::{Error, Result};
use rustfft::num_complex::Complex64;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Speed of light in vacuum, m/s.
pub const SPEED_OF_LIGHT: f64 = 299_792_458.0;
/// Shortest wavelength of the fibre model, nm (start of the O band).
pub const MIN_WAVELENGTH_NM: f64 = 1260.0;
/// Longest wavelength of the fibre model, nm (end of the L band).
pub const MAX_WAVELENGTH_NM: f64 = 1625.0;
/// Longest fibre, km.
pub const MAX_LENGTH_KM: f64 = 10_000.0;
/// Default zero-dispersion slope of standard SMF, ps/(nm²·km).
pub const SMF_S0: f64 = 0.092;
/// Default zero-dispersion wavelength of standard SMF, nm.
pub const SMF_LAMBDA0_NM: f64 = 1312.0;
/// Default attenuation of standard SMF in the O band, dB/km.
pub const SMF_ATTENUATION_DB_PER_KM: f64 = 0.35;

/// Chromatic dispersion coefficient of a fibre, ps/(nm·km).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum DispersionModel {
    /// The IEEE 802.3 single-mode-fibre formula (e.g. footnotes of Tables 121-13, 140-11):
    /// `D(λ) = S0/4 · (λ − λ0⁴/λ³)` ps/(nm·km), λ in nm.
    Smf {
        /// Zero-dispersion slope S0, ps/(nm²·km) (default 0.092; 802.3 bounds it by 0.093).
        s0_ps_per_nm2_km: f64,
        /// Zero-dispersion wavelength λ0, nm (default 1312; 802.3 allows 1300..=1324).
        lambda0_nm: f64,
    },
    /// A fixed coefficient at every wavelength, ps/(nm·km) (either sign).
    Explicit {
        /// Dispersion coefficient D, ps/(nm·km).
        ps_per_nm_km: f64,
    },
}

impl Default for DispersionModel {
    fn default() -> Self {
        DispersionModel::Smf {
            s0_ps_per_nm2_km: SMF_S0,
            lambda0_nm: SMF_LAMBDA0_NM,
        }
    }
}

/// `D(λ) = S0/4 · (λ − λ0⁴/λ³)` in ps/(nm·km) (IEEE 802.3, e.g. Table 121-13 footnote), λ, λ0 in nm.
pub fn smf_dispersion_ps_per_nm_km(wavelength_nm: f64, lambda0_nm: f64, s0_ps_per_nm2_km: f64) -> f64 {
    let r = lambda0_nm / wavelength_nm;
    s0_ps_per_nm2_km / 4.0 * (wavelength_nm - lambda0_nm * r * r * r)
}

/// A length of fibre. Also available as [`FiberConfig`].
///
/// The fibre acts on the optical field's complex envelope `E(t)` (carrier removed, √W) as the
/// all-pass `H(f) = exp(j·θ(f))`, `θ(f) = π·D·L·λ²·f²/c` (e^{+j2πft} convention; this is
/// `exp(−j·β₂·L·ω²/2)` with `β₂ = −D·λ²/(2πc)`), followed by the power loss
/// `10^(−attenuation·L/10)`. The fibre's mean group delay is not modelled (it would only shift
/// the waveform).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fiber {
    /// Length in km (0 = back-to-back).
    pub length_km: f64,
    /// Carrier wavelength in nm, within 1260..=1625.
    pub wavelength_nm: f64,
    /// Dispersion coefficient model (default: SMF formula with S0 = 0.092, λ0 = 1312 nm).
    #[serde(default)]
    pub dispersion: DispersionModel,
    /// Attenuation in dB/km (default 0.35).
    #[serde(default = "default_attenuation")]
    pub attenuation_db_per_km: f64,
}

/// The fibre configuration (same type as [`Fiber`]).
pub type FiberConfig = Fiber;

fn default_attenuation() -> f64 {
    SMF_ATTENUATION_DB_PER_KM
}

/// Minimum and maximum accumulated dispersion of a link, ps/nm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DispersionCorners {
    /// Minimum (most negative) accumulated dispersion, ps/nm.
    pub min_ps_per_nm: f64,
    /// Maximum accumulated dispersion, ps/nm.
    pub max_ps_per_nm: f64,
}

/// The dispersion corners of an IEEE 802.3 PMD the way its tables compute them (e.g. Table
/// 121-13 for 400GBASE-DR4: −0.93 and +0.80 ps/nm for 500 m, 1304.5..1317.5 nm,
/// λ0 = 1300..1324 nm, S0 ≤ 0.093): the minimum is `D(λ_min)` with λ0 = `lambda0_max_nm`, the
/// maximum `D(λ_max)` with λ0 = `lambda0_min_nm`, both with S0 = `s0_max` and times the length.
///
/// Errors for non-finite values, `λ_min > λ_max`, `λ0_min > λ0_max`, wavelengths outside
/// 1260..=1625 nm (λ0 may be anywhere in 1200..=1700 nm), a negative length or `s0_max ≤ 0`.
pub fn dispersion_corners(
    lambda_min_nm: f64,
    lambda_max_nm: f64,
    length_km: f64,
    lambda0_min_nm: f64,
    lambda0_max_nm: f64,
    s0_max_ps_per_nm2_km: f64,
) -> Result<DispersionCorners> {
    check_wavelength("lambda_min_nm", lambda_min_nm)?;
    check_wavelength("lambda_max_nm", lambda_max_nm)?;
    if lambda_min_nm > lambda_max_nm {
        return Err(Error::invalid("lambda_min_nm", lambda_min_nm, format!("above lambda_max_nm = {lambda_max_nm}")));
    }
    check_length(length_km)?;
    for (name, v) in [("lambda0_min_nm", lambda0_min_nm), ("lambda0_max_nm", lambda0_max_nm)] {
        if !(v.is_finite() && (1200.0..=1700.0).contains(&v)) {
            return Err(Error::invalid(name, v, "zero-dispersion wavelength must be within 1200..=1700 nm"));
        }
    }
    if lambda0_min_nm > lambda0_max_nm {
        return Err(Error::invalid("lambda0_min_nm", lambda0_min_nm, format!("above lambda0_max_nm = {lambda0_max_nm}")));
    }
    check_s0(s0_max_ps_per_nm2_km)?;
    Ok(DispersionCorners {
        min_ps_per_nm: smf_dispersion_ps_per_nm_km(lambda_min_nm, lambda0_max_nm, s0_max_ps_per_nm2_km) * length_km,
        max_ps_per_nm: smf_dispersion_ps_per_nm_km(lambda_max_nm, lambda0_min_nm, s0_max_ps_per_nm2_km) * length_km,
    })
}

fn check_wavelength(name: &'static str, v: f64) -> Result<()> {
    if !(v.is_finite() && (MIN_WAVELENGTH_NM..=MAX_WAVELENGTH_NM).contains(&v)) {
        return Err(Error::invalid(
            name,
            v,
            format!("wavelength must be within the fibre model's range {MIN_WAVELENGTH_NM}..={MAX_WAVELENGTH_NM} nm"),
        ));
    }
    Ok(())
}

fn check_length(v: f64) -> Result<()> {
    if !(v.is_finite() && (0.0..=MAX_LENGTH_KM).contains(&v)) {
        return Err(Error::invalid("fiber.length_km", v, format!("fibre length must be within 0..={MAX_LENGTH_KM} km")));
    }
    Ok(())
}

fn check_s0(v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0 && v <= 1.0) {
        return Err(Error::invalid("fiber.dispersion.s0_ps_per_nm2_km", v, "zero-dispersion slope must be within (0, 1] ps/(nm²·km)"));
    }
    Ok(())
}

impl Fiber {
    /// Standard SMF (S0 = 0.092 ps/(nm²·km), λ0 = 1312 nm, 0.35 dB/km) of `length_km` at
    /// `wavelength_nm`, validated.
    pub fn smf(length_km: f64, wavelength_nm: f64) -> Result<Fiber> {
        let f = Fiber {
            length_km,
            wavelength_nm,
            dispersion: DispersionModel::default(),
            attenuation_db_per_km: SMF_ATTENUATION_DB_PER_KM,
        };
        f.validate()?;
        Ok(f)
    }

    /// A lossless fibre with the given accumulated dispersion (ps/nm, either sign) at
    /// `wavelength_nm`: 1 km of `Explicit` dispersion. This is how a PMD's dispersion corner
    /// (see [`dispersion_corners`]) is emulated.
    pub fn with_accumulated_dispersion(ps_per_nm: f64, wavelength_nm: f64) -> Result<Fiber> {
        let f = Fiber {
            length_km: 1.0,
            wavelength_nm,
            dispersion: DispersionModel::Explicit { ps_per_nm_km: ps_per_nm },
            attenuation_db_per_km: 0.0,
        };
        f.validate()?;
        Ok(f)
    }

    /// Checks every field; errors are [`Error::InvalidParameter`] naming it (`fiber.length_km`, ...).
    pub fn validate(&self) -> Result<()> {
        check_length(self.length_km)?;
        check_wavelength("fiber.wavelength_nm", self.wavelength_nm)?;
        match self.dispersion {
            DispersionModel::Smf {
                s0_ps_per_nm2_km,
                lambda0_nm,
            } => {
                check_s0(s0_ps_per_nm2_km)?;
                if !(lambda0_nm.is_finite() && (1200.0..=1700.0).contains(&lambda0_nm)) {
                    return Err(Error::invalid(
                        "fiber.dispersion.lambda0_nm",
                        lambda0_nm,
                        "zero-dispersion wavelength must be within 1200..=1700 nm",
                    ));
                }
            }
            DispersionModel::Explicit { ps_per_nm_km } => {
                if !(ps_per_nm_km.is_finite() && ps_per_nm_km.abs() <= 1e4) {
                    return Err(Error::invalid(
                        "fiber.dispersion.ps_per_nm_km",
                        ps_per_nm_km,
                        "dispersion must be finite, within ±10⁴ ps/(nm·km)",
                    ));
                }
            }
        }
        if !(self.attenuation_db_per_km.is_finite() && (0.0..=100.0).contains(&self.attenuation_db_per_km)) {
            return Err(Error::invalid(
                "fiber.attenuation_db_per_km",
                self.attenuation_db_per_km,
                "attenuation must be within 0..=100 dB/km",
            ));
        }
        if self.length_km * self.attenuation_db_per_km > 300.0 {
            return Err(Error::invalid(
                "fiber.length_km",
                self.length_km,
                "the fibre loss would exceed 300 dB; no signal would be left",
            ));
        }
        Ok(())
    }

    /// Dispersion coefficient D at `wavelength_nm`, ps/(nm·km) (the `Explicit` model returns its
    /// constant at every wavelength).
    pub fn dispersion_ps_per_nm_km(&self, wavelength_nm: f64) -> f64 {
        match self.dispersion {
            DispersionModel::Smf {
                s0_ps_per_nm2_km,
                lambda0_nm,
            } => smf_dispersion_ps_per_nm_km(wavelength_nm, lambda0_nm, s0_ps_per_nm2_km),
            DispersionModel::Explicit { ps_per_nm_km } => ps_per_nm_km,
        }
    }

    /// Accumulated dispersion `D(λ)·L` of this fibre at `wavelength_nm`, ps/nm.
    pub fn dispersion_ps_per_nm(&self, wavelength_nm: f64) -> f64 {
        self.dispersion_ps_per_nm_km(wavelength_nm) * self.length_km
    }

    /// Accumulated dispersion at the fibre's own wavelength, ps/nm.
    pub fn accumulated_dispersion_ps_per_nm(&self) -> f64 {
        self.dispersion_ps_per_nm(self.wavelength_nm)
    }

    /// Group-velocity dispersion β₂ = −D·λ²/(2πc) at the fibre's wavelength, s²/m.
    pub fn beta2_s2_per_m(&self) -> f64 {
        let d = self.dispersion_ps_per_nm_km(self.wavelength_nm) * 1e-6; // s/m²
        let lambda = self.wavelength_nm * 1e-9;
        -d * lambda * lambda / (2.0 * PI * SPEED_OF_LIGHT)
    }

    /// `θ(f) / f²` in s²: the dispersion phase is `θ(f) = π·D·L·λ²·f²/c`.
    pub fn phase_coefficient_s2(&self) -> f64 {
        let dl = self.accumulated_dispersion_ps_per_nm() * 1e-3; // ps/nm → s/m
        let lambda = self.wavelength_nm * 1e-9;
        PI * dl * lambda * lambda / SPEED_OF_LIGHT
    }

    /// Power transmission `10^(−attenuation·L/10)`.
    pub fn power_transmission(&self) -> f64 {
        10f64.powf(-self.attenuation_db_per_km * self.length_km / 10.0)
    }

    /// The all-pass field response `exp(j·θ(f))` at baseband frequency `f_hz`.
    pub fn field_response(&self, f_hz: f64) -> Complex64 {
        Complex64::from_polar(1.0, self.phase_coefficient_s2() * f_hz * f_hz)
    }

    /// Small-signal intensity-to-intensity response of IM/DD through this (lossless) fibre for a
    /// transmitter with transient chirp `alpha`: `cos θ(f) − α·sin θ(f)`
    /// (= √(1+α²)·cos(θ + arctan α); F. Koyama and K. Iga / Wang and Petermann, 1992).
    pub fn im_response(&self, f_hz: f64, alpha: f64) -> f64 {
        let th = self.phase_coefficient_s2() * f_hz * f_hz;
        th.cos() - alpha * th.sin()
    }

    /// Frequencies in (0, `f_max_hz`] where [`Fiber::im_response`] is zero (the power-fading
    /// notches): `θ(f_k) = π/2 + kπ − arctan α` for integers `k`, ascending.
    pub fn fading_notches_hz(&self, alpha: f64, f_max_hz: f64) -> Vec<f64> {
        let a = self.phase_coefficient_s2();
        let mut out = Vec::new();
        if a == 0.0 || f_max_hz.is_nan() || f_max_hz <= 0.0 {
            return out;
        }
        let th_max = a * f_max_hz * f_max_hz; // signed
        let base = PI / 2.0 - alpha.atan();
        // θ_k = base + kπ must have the sign of a and |θ_k| ≤ |θ_max|.
        let k_lo = ((th_max.min(0.0) - base) / PI).floor() as i64 - 1;
        let k_hi = ((th_max.max(0.0) - base) / PI).ceil() as i64 + 1;
        for k in k_lo..=k_hi {
            let th = base + k as f64 * PI;
            let f2 = th / a;
            if f2 > 0.0 && f2 <= f_max_hz * f_max_hz {
                out.push(f2.sqrt());
            }
        }
        out.sort_by(f64::total_cmp);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dr4_dispersion_corners_match_802_3_table_121_13() {
        let c = dispersion_corners(1304.5, 1317.5, 0.5, 1300.0, 1324.0, 0.093).unwrap();
        assert!((c.min_ps_per_nm - (-0.93)).abs() < 0.005, "{c:?}");
        assert!((c.max_ps_per_nm - 0.80).abs() < 0.005, "{c:?}");
        // 10 km at 1310 nm LR-style ranges: min negative, max positive, both scale with length.
        let c10 = dispersion_corners(1304.5, 1317.5, 5.0, 1300.0, 1324.0, 0.093).unwrap();
        assert!((c10.min_ps_per_nm - 10.0 * c.min_ps_per_nm).abs() < 1e-9);
    }

    #[test]
    fn smf_formula_zero_at_lambda0_and_slope_s0() {
        assert_eq!(smf_dispersion_ps_per_nm_km(1312.0, 1312.0, 0.092), 0.0);
        let h = 1e-3;
        let slope = (smf_dispersion_ps_per_nm_km(1312.0 + h, 1312.0, 0.092)
            - smf_dispersion_ps_per_nm_km(1312.0 - h, 1312.0, 0.092))
            / (2.0 * h);
        assert!((slope - 0.092).abs() < 1e-6, "{slope}");
        // C band: about 17 ps/(nm·km) at 1550 nm.
        let d1550 = smf_dispersion_ps_per_nm_km(1550.0, 1312.0, 0.092);
        assert!((15.0..19.0).contains(&d1550), "{d1550}");
    }

    #[test]
    fn unphysical_fibres_are_rejected() {
        assert!(Fiber::smf(-1.0, 1310.0).is_err());
        assert!(Fiber::smf(f64::NAN, 1310.0).is_err());
        assert!(Fiber::smf(2.0, 1200.0).is_err());
        assert!(Fiber::smf(2.0, 1700.0).is_err());
        assert!(Fiber::smf(2.0, f64::NAN).is_err());
        let mut f = Fiber::smf(2.0, 1310.0).unwrap();
        f.attenuation_db_per_km = -0.1;
        assert!(matches!(f.validate(), Err(Error::InvalidParameter { name: "fiber.attenuation_db_per_km", .. })));
        f.attenuation_db_per_km = 0.3;
        f.dispersion = DispersionModel::Smf {
            s0_ps_per_nm2_km: 0.0,
            lambda0_nm: 1312.0,
        };
        assert!(f.validate().is_err());
        assert!(dispersion_corners(1317.5, 1304.5, 0.5, 1300.0, 1324.0, 0.093).is_err());
        assert!(dispersion_corners(1304.5, 1317.5, -0.5, 1300.0, 1324.0, 0.093).is_err());
    }

    #[test]
    fn notches_solve_the_fading_equation() {
        let f = Fiber::with_accumulated_dispersion(340.0, 1550.0).unwrap(); // 20 km at 17 ps/(nm·km)
        for alpha in [0.0, 2.0, -1.5] {
            let notches = f.fading_notches_hz(alpha, 60e9);
            assert!(notches.len() >= 3, "{alpha}: {notches:?}");
            for &fk in &notches {
                assert!(f.im_response(fk, alpha).abs() < 1e-9, "{alpha} {fk}");
            }
        }
        // Without chirp the first notch is at f = sqrt(c / (2·D·L·λ²)).
        let dl = 340.0e-3;
        let f1 = (SPEED_OF_LIGHT / (2.0 * dl * 1550e-9 * 1550e-9)).sqrt();
        assert!((f.fading_notches_hz(0.0, 60e9)[0] / f1 - 1.0).abs() < 1e-12);
        // Positive chirp on positive dispersion moves the first notch down; negative D moves it up.
        assert!(f.fading_notches_hz(2.0, 60e9)[0] < f1);
        let g = Fiber::with_accumulated_dispersion(-340.0, 1550.0).unwrap();
        assert!(g.fading_notches_hz(2.0, 60e9)[0] > f1);
    }
}
