//! Continuous-time linear equalizer (CTLE) in the pole/zero form of IEEE 802.3 Annex 93A
//! (equation 93A-22, the two-stage form of 802.3ck/dj COM):
//!
//! `H(f) = [(G + j f/f_z) / ((1 + j f/f_p1)(1 + j f/f_p2))] · [(G2 + j f/f_LF) / (1 + j f/f_LF)]`,
//! `G = 10^(g_DC/20)`, `G2 = 10^(g_DC2/20)`.
//!
//! The first stage boosts high frequencies by `1/G` (relative to DC) between `f_z` and the poles;
//! the second stage, a low-frequency pole/zero pair at `f_LF`, shapes the long tail of the pulse.
//! The DC gain is `G·G2`. The receiver sweeps `g_DC` (and `g_DC2`) and keeps the setting with the
//! best figure of merit; [`ctle_auto_select`] does that sweep with any score, and
//! [`level_separation_score`] is a score that needs no known pattern.
//!
//! The filter acts on a waveform at its sample rate with the exact analog phase (no delay is
//! removed), as the COM reference receiver does; run timing recovery after it.
//!
//! ```
//! use lightlane_core::eq::ctle::{Ctle, CtleConfig};
//! let cfg = CtleConfig { gdc_db: -6.0, ..CtleConfig::ieee_8023dj(106.25e9) };
//! let ctle = Ctle::new(cfg, 4.0 * 106.25e9).unwrap();
//! // DC gain 10^(-6/20): the low frequencies are cut by 6 dB relative to the peak.
//! assert!((ctle.response(0.0).norm() - 10f64.powf(-6.0 / 20.0)).abs() < 1e-12);
//! ```

use super::analog::AnalogFir;
use crate::timing::{recover_phase, PhaseConfig};
use crate::{Error, Modulation, Result};
use rustfft::num_complex::Complex64;
use serde::{Deserialize, Serialize};

/// Most settings [`ctle_auto_select`] sweeps in one call.
pub const MAX_GDC_SWEEP: usize = 1024;

/// Pole/zero parameters of the two-stage CTLE (802.3 Annex 93A-22).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtleConfig {
    /// DC gain of the first stage, dB (`g_DC`, typically 0 down to −20).
    pub gdc_db: f64,
    /// Zero frequency of the first stage, Hz (`f_z`).
    pub fz_hz: f64,
    /// First pole, Hz (`f_p1`).
    pub fp1_hz: f64,
    /// Second pole, Hz (`f_p2`).
    pub fp2_hz: f64,
    /// DC gain of the low-frequency stage, dB (`g_DC2`; 0 disables that stage).
    pub gdc2_db: f64,
    /// Pole/zero frequency of the low-frequency stage, Hz (`f_LF`).
    pub f_lf_hz: f64,
}

impl CtleConfig {
    /// The 802.3dj electrical (200G/lane) CTLE, scaled to `baud`: `f_z = f_p1 = baud/2.5`,
    /// `f_p2 = baud`, `f_LF = baud/80` (42.5, 42.5, 106.25 and 1.328125 GHz at 106.25 GBd, the
    /// 802.3dj COM set), `g_DC = g_DC2 = 0`. Sweep `g_DC` over [`CtleConfig::ieee_8023dj_gdc_sweep`].
    pub fn ieee_8023dj(baud: f64) -> CtleConfig {
        CtleConfig {
            gdc_db: 0.0,
            fz_hz: baud / 2.5,
            fp1_hz: baud / 2.5,
            fp2_hz: baud,
            gdc2_db: 0.0,
            f_lf_hz: baud / 80.0,
        }
    }

    /// `g_DC` values of the 802.3dj COM set: 0 to −15 dB in 1 dB steps.
    pub fn ieee_8023dj_gdc_sweep() -> Vec<f64> {
        (0..=15).map(|i| -(i as f64)).collect()
    }

    /// `g_DC2` values of the 802.3dj COM set: 0 to −5 dB in 0.5 dB steps.
    pub fn ieee_8023dj_gdc2_sweep() -> Vec<f64> {
        (0..=10).map(|i| -0.5 * i as f64).collect()
    }

    /// The 802.3ck chip-to-module CTLE (Annex 120G COM configuration), scaled to `baud`:
    /// `f_z = 12.58`, `f_p1 = 20`, `f_p2 = 28` and `f_LF = 1.328125` GHz at 53.125 GBd,
    /// `g_DC = g_DC2 = 0`. Sweep `g_DC` over [`CtleConfig::ieee_8023ck_gdc_sweep`].
    pub fn ieee_8023ck(baud: f64) -> CtleConfig {
        let s = baud / 53.125e9;
        CtleConfig {
            gdc_db: 0.0,
            fz_hz: 12.58e9 * s,
            fp1_hz: 20e9 * s,
            fp2_hz: 28e9 * s,
            gdc2_db: 0.0,
            f_lf_hz: 1.328125e9 * s,
        }
    }

    /// `g_DC` values of the 802.3ck C2M set: 0 to −13 dB in 1 dB steps.
    pub fn ieee_8023ck_gdc_sweep() -> Vec<f64> {
        (0..=13).map(|i| -(i as f64)).collect()
    }

    /// Checks every field; [`Error::InvalidParameter`] naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [("CTLE gdc_db", self.gdc_db), ("CTLE gdc2_db", self.gdc2_db)] {
            if !(v.is_finite() && (-60.0..=20.0).contains(&v)) {
                return Err(Error::invalid(name, v, "must be between -60 and +20 dB"));
            }
        }
        for (name, v) in [
            ("CTLE fz_hz", self.fz_hz),
            ("CTLE fp1_hz", self.fp1_hz),
            ("CTLE fp2_hz", self.fp2_hz),
            ("CTLE f_lf_hz", self.f_lf_hz),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(name, v, "must be finite and > 0"));
            }
        }
        Ok(())
    }

    /// The response `H(f)` of 93A-22 at `f_hz` (see the module docs).
    pub fn response(&self, f_hz: f64) -> Complex64 {
        let j = |x: f64| Complex64::new(0.0, x);
        let g = 10f64.powf(self.gdc_db / 20.0);
        let g2 = 10f64.powf(self.gdc2_db / 20.0);
        let stage1 = (g + j(f_hz / self.fz_hz))
            / ((1.0 + j(f_hz / self.fp1_hz)) * (1.0 + j(f_hz / self.fp2_hz)));
        let stage2 = (g2 + j(f_hz / self.f_lf_hz)) / (1.0 + j(f_hz / self.f_lf_hz));
        stage1 * stage2
    }
}

/// A CTLE planned for one sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Ctle {
    config: CtleConfig,
    fs: f64,
    fir: AnalogFir,
}

impl Ctle {
    /// Plans the CTLE `config` for a waveform sampled at `fs`.
    ///
    /// The poles and zeros may lie above `fs/2`; only the response below `fs/2` is realised.
    /// The FIR spans 16 time constants of the slowest pole on either side of `t = 0`, at most
    /// 2047 samples each way: beyond about 1 TSa/s with `f_LF` near 1 GHz the low-frequency
    /// tail is cut there (the DC gain stays exact).
    /// Errors: an invalid config or `fs` ([`Error::InvalidParameter`]).
    pub fn new(config: CtleConfig, fs: f64) -> Result<Ctle> {
        config.validate()?;
        if !(fs.is_finite() && fs > 0.0) {
            return Err(Error::invalid("fs", fs, "sample rate must be finite and > 0"));
        }
        // The slowest pole sets how long the impulse response lasts (e^-16 ≈ 1e-7 after 16 τ).
        let slowest = config.fp1_hz.min(config.fp2_hz).min(config.f_lf_hz);
        let duration = 16.0 / (2.0 * std::f64::consts::PI * slowest);
        let c = config.clone();
        let fir = AnalogFir::design(&move |f| c.response(f), fs, duration)?;
        Ok(Ctle { config, fs, fir })
    }

    /// The configuration.
    pub fn config(&self) -> &CtleConfig {
        &self.config
    }

    /// The sample rate the filter was planned for.
    pub fn fs(&self) -> f64 {
        self.fs
    }

    /// The analog response `H(f)` of 93A-22 at `f_hz`.
    pub fn response(&self, f_hz: f64) -> Complex64 {
        self.config.response(f_hz)
    }

    /// The response of the FIR actually applied, at `f_hz` (|f| < fs/2).
    pub fn realised_response(&self, f_hz: f64) -> Complex64 {
        self.fir.realised_response(f_hz)
    }

    /// Number of FIR taps realising the response.
    pub fn n_taps(&self) -> usize {
        self.fir.taps().len()
    }

    /// Filters `x` into `out` (same length; samples beyond the ends are taken equal to the end
    /// samples). `scratch` is reusable. [`Error::LengthMismatch`] if `out.len() != x.len()`.
    pub fn apply_into(&self, x: &[f32], out: &mut [f32], scratch: &mut Vec<f32>) -> Result<()> {
        self.fir.apply_into(x, out, scratch)
    }

    /// Allocating wrapper of [`Ctle::apply_into`]. Non-finite samples propagate.
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        self.fir.apply(x)
    }
}

/// Sweeps `g_DC` of `base` over `gdc_sweep_db`, filters `x` (sampled at `fs`) with each CTLE and
/// keeps the setting whose output `score` rates highest (ties: the first).
///
/// Returns the chosen configuration and every `(g_DC, score)` pair in sweep order. `baud` is
/// checked only for sanity (the CTLE itself does not depend on it; presets take it). The
/// pipeline passes an SNR score (for example the MMSE-FFE SNR against the known pattern);
/// [`level_separation_score`] needs no pattern.
///
/// Errors: empty or oversized sweep, a non-finite sweep value, an invalid `base`/`fs`/`baud`
/// ([`Error::InvalidParameter`]); a non-finite input sample ([`Error::NonFinite`]); no setting
/// with a finite score ([`Error::Unusable`]).
pub fn ctle_auto_select(
    x: &[f32],
    fs: f64,
    baud: f64,
    base: &CtleConfig,
    gdc_sweep_db: &[f64],
    score: impl Fn(&[f32]) -> f64,
) -> Result<(CtleConfig, Vec<(f64, f64)>)> {
    if gdc_sweep_db.is_empty() || gdc_sweep_db.len() > MAX_GDC_SWEEP {
        return Err(Error::invalid(
            "CTLE gdc sweep",
            gdc_sweep_db.len(),
            format!("need 1..={MAX_GDC_SWEEP} values"),
        ));
    }
    if !(baud.is_finite() && baud > 0.0 && baud <= fs) {
        return Err(Error::invalid("baud", baud, "must be finite, > 0 and at most fs"));
    }
    crate::error::check_finite("CTLE input", x)?;
    let mut scores = Vec::with_capacity(gdc_sweep_db.len());
    let mut best: Option<(f64, CtleConfig)> = None;
    let mut y = vec![0.0f32; x.len()];
    let mut scratch = Vec::new();
    for &g in gdc_sweep_db {
        let cfg = CtleConfig {
            gdc_db: g,
            ..base.clone()
        };
        let ctle = Ctle::new(cfg.clone(), fs)?;
        ctle.apply_into(x, &mut y, &mut scratch)?;
        let s = score(&y);
        scores.push((g, s));
        if s.is_finite() && best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, cfg));
        }
    }
    match best {
        Some((_, cfg)) => Ok((cfg, scores)),
        None => Err(Error::Unusable {
            stage: "CTLE auto-select",
            reason: "no g_DC setting gave a finite score".into(),
        }),
    }
}

/// A pattern-free CTLE score: the level separation at the best sampling phase, in dB.
///
/// For each candidate output, [`recover_phase`] finds the phase that separates the
/// `modulation` levels best and the score is `10·log10(between-level / within-level variance)`
/// there (the SNR of the eye at its best phase, residual ISI counted as noise). Inputs too short
/// or without levels score `−∞`. `samples_per_ui = fs / baud` must be at least 2.
pub fn level_separation_score(modulation: Modulation, samples_per_ui: f64) -> impl Fn(&[f32]) -> f64 {
    let cfg = PhaseConfig::default();
    move |y: &[f32]| match recover_phase(y, samples_per_ui, modulation, &cfg) {
        Ok(p) if p.separation > 0.0 => 10.0 * p.separation.log10(),
        _ => f64::NEG_INFINITY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};
    use rustfft::FftPlanner;

    fn db(c: Complex64) -> f64 {
        20.0 * c.norm().log10()
    }

    #[test]
    fn response_has_the_annex_93a_corners() {
        let baud = 106.25e9;
        let cfg = CtleConfig {
            gdc_db: -10.0,
            gdc2_db: -3.0,
            ..CtleConfig::ieee_8023dj(baud)
        };
        assert_eq!(cfg.fz_hz, 42.5e9);
        assert_eq!(cfg.fp2_hz, 106.25e9);
        assert_eq!(cfg.f_lf_hz, 1.328125e9);
        // DC gain = g_DC + g_DC2 in dB.
        assert!((db(cfg.response(0.0)) + 13.0).abs() < 1e-9);
        // Well above f_LF, the LF stage is flat at 0 dB; well below f_z the first stage is at
        // g_DC: the mid band sits at g_DC.
        let mid = cfg.response(40e9);
        let stage1_at_mid = CtleConfig { gdc2_db: 0.0, ..cfg.clone() }.response(40e9);
        assert!((db(mid) - db(stage1_at_mid)).abs() < 0.01, "LF stage flat at 40 GHz");
        // LF stage alone: |(G2 + j)/(1 + j)| at f = f_LF.
        let lf_only = CtleConfig {
            gdc_db: 0.0,
            fz_hz: 1e15,
            fp1_hz: 1e15,
            fp2_hz: 1e15,
            ..cfg.clone()
        };
        let g2 = 10f64.powf(-3.0 / 20.0);
        let want = ((g2 * g2 + 1.0) / 2.0).sqrt();
        assert!((lf_only.response(1.328125e9).norm() - want).abs() < 1e-9);
        // With f_z = f_p1 far below f_p2, zero and pole cancel well above them and the gain is
        // 1/|1 + j f/f_p2|: -3.01 dB at f = f_p2.
        let hf = CtleConfig { gdc2_db: 0.0, gdc_db: -60.0, fz_hz: 1e9, fp1_hz: 1e9, ..cfg.clone() };
        assert!((db(hf.response(106.25e9)) + 3.0103).abs() < 0.01, "{}", db(hf.response(106.25e9)));
        // The zero: with poles far away, |G + j f/f_z| is √2·G at f = G·f_z.
        let zero_only = CtleConfig {
            gdc_db: -10.0,
            fz_hz: 10e9,
            fp1_hz: 1e15,
            fp2_hz: 1e15,
            gdc2_db: 0.0,
            f_lf_hz: 1e9,
        };
        let g = 10f64.powf(-10.0 / 20.0);
        assert!((zero_only.response(g * 10e9).norm() - 2f64.sqrt() * g).abs() < 1e-6);
        // Peaking: with g_DC = -10 dB the high band is ~10 dB above DC before the f_p2 roll-off.
        let peak = (1..200)
            .map(|i| db(cfg.response(i as f64 * 0.5e9)))
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(peak - db(cfg.response(0.0)) > 9.0 && peak < 0.5, "peak {peak}");
    }

    #[test]
    fn realised_filter_matches_the_formula() {
        for (cfg, fs) in [
            (CtleConfig { gdc_db: -8.0, gdc2_db: -2.0, ..CtleConfig::ieee_8023dj(106.25e9) }, 4.0 * 106.25e9),
            (CtleConfig { gdc_db: -12.0, ..CtleConfig::ieee_8023ck(53.125e9) }, 256e9),
            (CtleConfig { gdc_db: -4.0, ..CtleConfig::ieee_8023ck(26.5625e9) }, 2.0 * 26.5625e9),
        ] {
            let ctle = Ctle::new(cfg.clone(), fs).unwrap();
            let peak = (0..100).map(|i| cfg.response(i as f64 * fs / 200.0).norm()).fold(0.0, f64::max);
            for i in 0..=90 {
                let f = i as f64 / 100.0 * fs / 2.0;
                let d = (ctle.realised_response(f) - cfg.response(f)).norm();
                assert!(d < 2e-3 * peak, "{cfg:?} fs {fs:e} f {f:e}: {d}");
            }
            // DC: a constant comes out scaled by the DC gain.
            let y = ctle.apply(&[1.0f32; 200]);
            let dc = cfg.response(0.0).re as f32;
            assert!(y.iter().all(|&v| (v - dc).abs() < 1e-4 * dc.max(1e-3)), "{:?}", &y[..4]);
        }
    }

    #[test]
    fn sinusoid_gain_is_the_response_magnitude() {
        let cfg = CtleConfig { gdc_db: -9.0, ..CtleConfig::ieee_8023dj(53.125e9) };
        let fs = 4.0 * 53.125e9;
        let ctle = Ctle::new(cfg.clone(), fs).unwrap();
        let n = 1 << 14;
        for f in [2e9, 10e9, 21.25e9, 40e9] {
            // On an FFT bin so the steady-state gain is exact for the periodic part.
            let bin = (f / fs * n as f64).round();
            let f = bin * fs / n as f64;
            let x: Vec<f32> = (0..n)
                .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / fs).cos() as f32)
                .collect();
            let y = ctle.apply(&x);
            let m = 3000..n - 3000;
            let rms = |v: &[f32]| (v.iter().map(|&a| (a as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            let g = rms(&y[m.clone()]) / rms(&x[m]);
            assert!((g / cfg.response(f).norm() - 1.0).abs() < 2e-3, "f {f:e}: {g} vs {}", cfg.response(f).norm());
        }
    }

    /// Periodic PAM4 waveform at `sps` samples per UI through the frequency response `h`
    /// (circular, so no edge effects), plus white Gaussian noise.
    fn periodic_link(symbols: &[u8], sps: usize, fs: f64, h: impl Fn(f64) -> Complex64, sigma: f64, seed: u64) -> Vec<f32> {
        let n = symbols.len() * sps;
        let mut buf: Vec<Complex64> = (0..n)
            .map(|i| Complex64::new(Modulation::Pam4.level(symbols[i / sps]) as f64, 0.0))
            .collect();
        let mut planner = FftPlanner::<f64>::new();
        planner.plan_fft_forward(n).process(&mut buf);
        for (k, v) in buf.iter_mut().enumerate() {
            let f = if k <= n / 2 { k as f64 } else { k as f64 - n as f64 } * fs / n as f64;
            let hk = if f >= 0.0 { h(f) } else { h(-f).conj() };
            *v *= if k == n / 2 { Complex64::new(hk.re, 0.0) } else { hk };
        }
        planner.plan_fft_inverse(n).process(&mut buf);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0, sigma).unwrap();
        buf.iter().map(|c| (c.re / n as f64 + noise.sample(&mut rng)) as f32).collect()
    }

    #[test]
    fn auto_select_finds_the_gdc_that_inverts_the_channel() {
        // The channel is the inverse of the CTLE at g_DC = -9 dB (a stable minimum-phase
        // loss: DC attenuated relative to nothing, high frequencies attenuated by ~9 dB),
        // band-limited by a BT4 at 1.5·baud. CTLE(-9 dB) undoes it exactly, so the eye is
        // clean only there; neighbours leave ISI.
        let baud = 25e9;
        let sps = 8;
        let fs = sps as f64 * baud;
        let base = CtleConfig::ieee_8023dj(baud);
        let truth = CtleConfig { gdc_db: -9.0, ..base.clone() };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let symbols: Vec<u8> = (0..4096).map(|_| rng.random_range(0..4u8)).collect();
        let t = truth.clone();
        let chan = move |f: f64| {
            crate::sim::bessel_thomson_response(4, f / (1.5 * baud)) / t.response(f) * t.response(0.0)
        };
        let x = periodic_link(&symbols, sps, fs, chan, 0.01, 8);
        let score = level_separation_score(Modulation::Pam4, sps as f64);
        let (chosen, scores) =
            ctle_auto_select(&x, fs, baud, &base, &CtleConfig::ieee_8023dj_gdc_sweep(), score).unwrap();
        assert_eq!(scores.len(), 16);
        assert_eq!(chosen.gdc_db, -9.0, "{scores:?}");
        // Clearly better than the unequalized and the over-equalized ends of the sweep.
        let s = |g: f64| scores.iter().find(|p| p.0 == g).unwrap().1;
        assert!(s(-9.0) > s(0.0) + 3.0 && s(-9.0) > s(-15.0) + 3.0, "{scores:?}");
    }

    #[test]
    fn bad_inputs_are_named_errors() {
        let base = CtleConfig::ieee_8023dj(53.125e9);
        assert!(matches!(
            Ctle::new(CtleConfig { fz_hz: 0.0, ..base.clone() }, 1e11),
            Err(Error::InvalidParameter { name: "CTLE fz_hz", .. })
        ));
        assert!(matches!(
            Ctle::new(CtleConfig { gdc_db: f64::NAN, ..base.clone() }, 1e11),
            Err(Error::InvalidParameter { name: "CTLE gdc_db", .. })
        ));
        assert!(Ctle::new(base.clone(), 0.0).is_err());
        let x = vec![0.0f32; 1000];
        assert!(ctle_auto_select(&x, 2e11, 53.125e9, &base, &[], |_| 0.0).is_err());
        assert!(matches!(
            ctle_auto_select(&x, 2e11, 53.125e9, &base, &[0.0], |_| f64::NAN),
            Err(Error::Unusable { .. })
        ));
        assert!(matches!(
            ctle_auto_select(&[0.0, f32::INFINITY], 2e11, 53.125e9, &base, &[0.0], |_| 0.0),
            Err(Error::NonFinite { .. })
        ));
        let json = serde_json::to_string(&base).unwrap();
        assert_eq!(serde_json::from_str::<CtleConfig>(&json).unwrap(), base);
    }
}
