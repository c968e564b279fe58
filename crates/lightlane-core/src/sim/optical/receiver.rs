//! The optical receiver (photodiode, noise, TIA) and the sampling scope.

use crate::sim::{Channel, Noise};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Elementary charge, C.
pub const ELEMENTARY_CHARGE: f64 = 1.602_176_634e-19;

/// What the receiver's output samples are.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum RxOutput {
    /// Input-referred optical power in W: the (filtered, noisy) photocurrent divided by
    /// `responsivity · apd_gain`, as a calibrated optical scope channel reports it.
    #[default]
    Watts,
    /// Photocurrent, A.
    Amperes,
    /// TIA output voltage: photocurrent times the transimpedance.
    Volts {
        /// Transimpedance gain, Ω.
        transimpedance_ohm: f64,
    },
}

/// A PIN or APD photodiode with a transimpedance amplifier.
///
/// Photocurrent `I = M·(R·P + I_dark)`; white Gaussian noise with one-sided current PSD
/// `2q·M²·F·(R·P + I_dark)` (shot noise, signal-dependent) plus `i_th²` (thermal/TIA input
/// noise) is added over the simulation bandwidth, then the TIA response `bandwidth` filters it
/// (delay removed as [`Channel`] describes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpticalReceiver {
    /// Responsivity R, A/W (default 0.8).
    #[serde(default = "default_responsivity")]
    pub responsivity_a_per_w: f64,
    /// APD multiplication gain M (1 = PIN; default 1).
    #[serde(default = "one")]
    pub apd_gain: f64,
    /// Excess noise factor F of the APD (1 for a PIN; default 1). For an APD with ionisation
    /// ratio k, McIntyre's `F = k·M + (1 − k)·(2 − 1/M)` ([`mcintyre_excess_noise`]).
    #[serde(default = "one")]
    pub excess_noise_factor: f64,
    /// Dark current (primary, before multiplication), A (default 0).
    #[serde(default)]
    pub dark_current_a: f64,
    /// Input-referred thermal noise current density, pA/√Hz (default 0).
    #[serde(default)]
    pub thermal_noise_pa_per_rthz: f64,
    /// Include shot noise (default true; it is zero unless there is power or dark current).
    #[serde(default = "yes")]
    pub shot_noise: bool,
    /// TIA / receiver response (default `Ideal`).
    #[serde(default)]
    pub bandwidth: Channel,
    /// Output quantity (default input-referred W).
    #[serde(default)]
    pub output: RxOutput,
}

fn default_responsivity() -> f64 {
    0.8
}
fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}

impl Default for OpticalReceiver {
    fn default() -> Self {
        OpticalReceiver {
            responsivity_a_per_w: default_responsivity(),
            apd_gain: 1.0,
            excess_noise_factor: 1.0,
            dark_current_a: 0.0,
            thermal_noise_pa_per_rthz: 0.0,
            shot_noise: true,
            bandwidth: Channel::Ideal,
            output: RxOutput::Watts,
        }
    }
}

/// McIntyre's APD excess noise factor `F = k·M + (1 − k)·(2 − 1/M)` for gain `M ≥ 1` and
/// ionisation ratio `k ∈ [0, 1]`.
pub fn mcintyre_excess_noise(gain: f64, k: f64) -> f64 {
    k * gain + (1.0 - k) * (2.0 - 1.0 / gain)
}

impl OpticalReceiver {
    /// Checks every field; errors name it (`rx.responsivity_a_per_w`, ...).
    pub fn validate(&self) -> Result<()> {
        let r = self.responsivity_a_per_w;
        if !(r.is_finite() && r > 0.0 && r <= 2.0) {
            return Err(Error::invalid("rx.responsivity_a_per_w", r, "responsivity must be within (0, 2] A/W"));
        }
        if !(self.apd_gain.is_finite() && (1.0..=1000.0).contains(&self.apd_gain)) {
            return Err(Error::invalid("rx.apd_gain", self.apd_gain, "APD gain must be within 1..=1000"));
        }
        if !(self.excess_noise_factor.is_finite() && (1.0..=1e4).contains(&self.excess_noise_factor)) {
            return Err(Error::invalid("rx.excess_noise_factor", self.excess_noise_factor, "excess noise factor must be within 1..=10⁴"));
        }
        if !(self.dark_current_a.is_finite() && (0.0..=1e-3).contains(&self.dark_current_a)) {
            return Err(Error::invalid("rx.dark_current_a", self.dark_current_a, "dark current must be within 0..=1 mA"));
        }
        let th = self.thermal_noise_pa_per_rthz;
        if !(th.is_finite() && (0.0..=1e6).contains(&th)) {
            return Err(Error::invalid("rx.thermal_noise_pa_per_rthz", th, "thermal noise must be within 0..=10⁶ pA/√Hz"));
        }
        if let RxOutput::Volts { transimpedance_ohm } = self.output {
            if !(transimpedance_ohm.is_finite() && transimpedance_ohm > 0.0 && transimpedance_ohm <= 1e9) {
                return Err(Error::invalid("rx.output.transimpedance_ohm", transimpedance_ohm, "transimpedance must be within (0, 10⁹] Ω"));
            }
        }
        Ok(())
    }

    /// Factor from photocurrent (A) to the output unit.
    pub fn output_scale(&self) -> f64 {
        match self.output {
            RxOutput::Watts => 1.0 / (self.responsivity_a_per_w * self.apd_gain),
            RxOutput::Amperes => 1.0,
            RxOutput::Volts { transimpedance_ohm } => transimpedance_ohm,
        }
    }

    /// Unit name of the output ("W", "A" or "V").
    pub fn output_unit(&self) -> &'static str {
        match self.output {
            RxOutput::Watts => "W",
            RxOutput::Amperes => "A",
            RxOutput::Volts { .. } => "V",
        }
    }
}

/// The sampling oscilloscope after the receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Sample rate, Sa/s (≥ 2 × baud).
    pub fs: f64,
    /// ADC resolution in bits (1..=16); `None` = no quantisation. Quantised captures carry the
    /// codes as [`crate::waveform::RawCodes::I16`].
    #[serde(default)]
    pub adc_bits: Option<u32>,
    /// ADC full-scale range `[low, high]` in output units; `None` = the capture's range widened
    /// by 5 % of its span at each side. Samples outside clip.
    #[serde(default)]
    pub adc_range: Option<[f64; 2]>,
    /// Additive scope noise in output units (or as an SNR against the noise-free signal).
    #[serde(default)]
    pub noise: Noise,
}

impl Scope {
    /// Checks the scope for `baud`.
    pub fn validate(&self, baud: f64) -> Result<()> {
        if !(self.fs.is_finite() && self.fs >= 2.0 * baud) {
            return Err(Error::invalid("scope.fs", self.fs, format!("sample rate must be finite and at least 2 × baud = {}", 2.0 * baud)));
        }
        if let Some(b) = self.adc_bits {
            if !(1..=16).contains(&b) {
                return Err(Error::invalid("scope.adc_bits", b, "ADC resolution must be 1..=16 bits"));
            }
        }
        if let Some([lo, hi]) = self.adc_range {
            if !(lo.is_finite() && hi.is_finite() && hi > lo) {
                return Err(Error::invalid("scope.adc_range", format!("[{lo}, {hi}]"), "need finite low < high"));
            }
        }
        self.noise.validate()
    }
}
