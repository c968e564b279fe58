//! Symbol-rate estimation from the spectral line of the squared signal derivative.
//!
//! A data signal has no spectral line at its symbol rate, but any even nonlinearity of it does:
//! the transitions happen on a grid of period T, so `|Δx|²` (the squared first difference, large
//! at transitions and small inside symbols) is cyclostationary and its spectrum carries lines at
//! multiples of 1/T (the square-law / edge-detector timing estimate of Gardner 1986 and Oerder &
//! Meyr 1988). [`estimate_baud`] finds the strongest such line and refines its frequency:
//!
//! 1. **Coarse**: Hann-windowed f32 FFT of `|Δx|²` (its first 2²⁰ samples, zero-padded ×2 or
//!    more; plans for the last two lengths are cached),
//!    peak over `[fs/64, fs/2]`, or ±1 % around the nominal rate when one is given, with a
//!    parabolic fit of the log power around the peak bin. A peak at a harmonic is replaced by the
//!    fundamental (the line at 1/2 or 1/3 of the peak frequency) when that is within 10 dB of it.
//! 2. **Fine**: the phase slope of the line across the whole capture. `|Δx|²` is demodulated at
//!    the coarse frequency in 4–64 segments; the residual frequency is the least-squares slope of
//!    the unwrapped segment phases over time (a zoom DFT around the peak that resolves a small
//!    fraction of the 1/T_capture bin). Two passes.
//!
//! The line's strength over the median spectral floor (`line_snr_db`) must reach
//! [`MIN_LINE_SNR_DB`]: the largest of a million bins of white noise lies about 13 dB above the
//! median, so 20 dB rejects noise with margin, while real captures show 45–70 dB.

use super::edges::{count_transitions, Levels};
use super::realfft::RealFft;
use crate::{Error, Modulation, Result};
use rustfft::num_complex::{Complex32, Complex64};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock};

/// Smallest line-over-floor ratio, dB, that counts as a symbol-rate line.
pub const MIN_LINE_SNR_DB: f64 = 20.0;
/// Fewest threshold transitions a capture needs for a rate estimate.
pub const MIN_TRANSITIONS: usize = 100;
/// Fewest samples [`estimate_baud`] accepts.
pub const MIN_BAUD_SAMPLES: usize = 1024;
/// Half-width of the search window around a nominal rate, as a fraction of it (±1 %).
pub const NOMINAL_WINDOW: f64 = 0.01;
/// Samples of `|Δx|²` in the coarse FFT.
const COARSE_MAX: usize = 1 << 20;

/// Result of [`estimate_baud`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaudEstimate {
    /// Symbol rate, Bd.
    pub baud: f64,
    /// `(baud / nominal − 1) · 10⁶` when a nominal rate was given.
    pub ppm_from_nominal: Option<f64>,
    /// Power of the line over the median of the spectrum in `[fs/64, fs/2]`, dB.
    pub line_snr_db: f64,
}

/// Estimates the symbol rate of `x` (sampled at `fs`) from the spectral line of `|Δx|²`.
///
/// `nominal`, when given, restricts the search to ±1 % around it and fills `ppm_from_nominal`;
/// a line there that is only a harmonic of a line more than 10 dB stronger (a nominal at 2× or 3×
/// the capture's rate) is rejected.
/// The rate must lie within `[fs/64, fs/2]` without a nominal (at least 2 samples per UI), and
/// within `(0, fs/2]` with one.
///
/// Errors:
/// - [`Error::InvalidParameter`]: `fs` or `nominal` not finite and positive, a nominal above
///   `fs/2`, or a nominal more than 1 % away from the rate the capture shows (both rates are named);
/// - [`Error::InputTooShort`] below [`MIN_BAUD_SAMPLES`]; [`Error::NonFinite`] for NaN/Inf samples;
/// - [`Error::Unusable`] (stage "timing"): a constant capture, fewer than [`MIN_TRANSITIONS`]
///   transitions, or no spectral line [`MIN_LINE_SNR_DB`] above the floor (noise).
///
/// ```
/// use lightlane_core::sim::{Channel, LinkModel};
/// use lightlane_core::timing::estimate_baud;
/// use lightlane_core::Modulation;
/// let mut m = LinkModel::new(Modulation::Nrz, 10.3125e9, 40e9).unwrap();
/// m.channel = Channel::BesselThomson { f3db_hz: 7e9, order: 4 };
/// let mut s = 1u64; // random bits from an LCG's top bit
/// let bits: Vec<u8> = (0..20_000).map(|_| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1); (s >> 63) as u8 }).collect();
/// let cap = m.run(&bits).unwrap();
/// let est = estimate_baud(&cap.waveform.samples, 40e9, None, Modulation::Nrz).unwrap();
/// assert!((est.baud / 10.3125e9 - 1.0).abs() < 20e-6);
/// ```
pub fn estimate_baud(x: &[f32], fs: f64, nominal: Option<f64>, modulation: Modulation) -> Result<BaudEstimate> {
    if !(fs.is_finite() && fs > 0.0) {
        return Err(Error::invalid("fs", fs, "must be a positive finite sample rate"));
    }
    if let Some(nom) = nominal {
        if !(nom.is_finite() && nom > 0.0) {
            return Err(Error::invalid("nominal baud", nom, "must be a positive finite symbol rate"));
        }
        if nom > 0.5 * fs * (1.0 + 1e-9) {
            return Err(Error::invalid(
                "nominal baud",
                nom,
                format!("above fs/2 = {} Bd: the capture has fewer than 2 samples per UI", 0.5 * fs),
            ));
        }
    }
    if x.len() < MIN_BAUD_SAMPLES {
        return Err(Error::InputTooShort {
            what: "capture for the symbol-rate estimate (samples)",
            needed: MIN_BAUD_SAMPLES,
            got: x.len(),
        });
    }
    crate::error::check_finite("capture", x)?;
    let levels = Levels::estimate(x, modulation, 0.1)?;
    let transitions = count_transitions(x, &levels);
    if transitions < MIN_TRANSITIONS {
        return Err(Error::Unusable {
            stage: "timing",
            reason: format!("only {transitions} transitions through the decision thresholds; the symbol-rate estimate needs at least {MIN_TRANSITIONS}"),
        });
    }

    // |Δx|², mean removed.
    let mean = x.windows(2).map(|w| (w[1] as f64 - w[0] as f64).powi(2)).sum::<f64>() / (x.len() - 1) as f64;
    let y: Vec<f32> = x.windows(2).map(|w| ((w[1] as f64 - w[0] as f64).powi(2) - mean) as f32).collect();

    let spec = CoarseSpectrum::new(&y, fs);
    let k_lo = spec.bin_at_or_above(fs / 64.0);
    let k_hi = spec.power.len() - 1;
    let floor = spec.median(k_lo, k_hi);
    let snr_db = |p: f64| 10.0 * (p / floor).log10();
    let clear = |p: f64| snr_db(p) >= MIN_LINE_SNR_DB;

    let (k_global, p_global) = spec.strongest_fundamental(k_lo, k_hi, floor);
    let chosen = match nominal {
        None => {
            if !clear(p_global) {
                return Err(no_line(snr_db(p_global), format!("{:.6e}..{:.6e} Hz", fs / 64.0, fs / 2.0)));
            }
            k_global
        }
        Some(nom) => {
            let w_lo = spec.bin_at_or_above(nom * (1.0 - NOMINAL_WINDOW)).max(1);
            let w_hi = spec.bin_at_or_below(nom * (1.0 + NOMINAL_WINDOW)).min(k_hi).max(w_lo);
            let (k_win, p_win) = spec.peak(w_lo, w_hi);
            // A line in the window that is a harmonic (2×, 3×, ...) of a much stronger line
            // elsewhere means the nominal is a multiple of the capture's rate.
            let f_global = spec.interpolated_frequency(k_global);
            let harmonic = (nom / f_global).round();
            let harmonic_of_stronger = !(w_lo..=w_hi).contains(&k_global)
                && clear(p_global)
                && p_global > 10.0 * p_win
                && harmonic >= 2.0
                && (nom / (harmonic * f_global) - 1.0).abs() <= NOMINAL_WINDOW;
            if clear(p_win) && !harmonic_of_stronger {
                k_win
            } else if clear(p_global) {
                let f = spec.interpolated_frequency(k_global);
                return Err(Error::invalid(
                    "nominal baud",
                    nom,
                    format!(
                        "the capture's symbol-rate line is at {f:.6e} Bd ({:+.3} % from the nominal {nom:.6e} Bd); nothing clear within ±{} %",
                        100.0 * (f / nom - 1.0),
                        100.0 * NOMINAL_WINDOW
                    ),
                ));
            } else {
                return Err(no_line(snr_db(p_win.max(p_global)), format!("±1 % of {nom:.6e} Hz and {:.6e}..{:.6e} Hz", fs / 64.0, fs / 2.0)));
            }
        }
    };
    let line_snr_db = snr_db(spec.power[chosen] as f64);
    let mut f = spec.interpolated_frequency(chosen);
    for _ in 0..2 {
        f = refine_phase_slope(&y, fs, f, spec.bin_hz);
    }
    Ok(BaudEstimate {
        baud: f,
        ppm_from_nominal: nominal.map(|nom| (f / nom - 1.0) * 1e6),
        line_snr_db,
    })
}

fn no_line(snr_db: f64, range: String) -> Error {
    Error::Unusable {
        stage: "timing",
        reason: format!(
            "no symbol-rate line: the strongest spectral line of |Δx|² in {range} is {snr_db:.1} dB above the floor (need {MIN_LINE_SNR_DB} dB); the capture looks like noise or has too few transitions"
        ),
    }
}

/// FFT plan and Hann window of the coarse step for one length, kept in a small process-wide
/// cache: batches of captures of one length plan once.
struct CoarsePlan {
    nc: usize,
    nfft: usize,
    fft: RealFft<f32>,
    window: Vec<f32>,
}

/// Plans kept (each a few ten MB at the largest length).
const COARSE_PLANS_KEPT: usize = 2;

fn coarse_plan(nc: usize) -> Arc<CoarsePlan> {
    static CACHE: OnceLock<Mutex<Vec<Arc<CoarsePlan>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    // A poisoned lock only means another thread panicked while holding it; the plans are intact.
    if let Some(p) = cache.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|p| p.nc == nc) {
        return p.clone();
    }
    let nfft = (2 * nc).next_power_of_two();
    let plan = Arc::new(CoarsePlan {
        nc,
        nfft,
        fft: RealFft::new(nfft),
        window: (0..nc).map(|i| (0.5 - 0.5 * (2.0 * PI * (i as f64 + 0.5) / nc as f64).cos()) as f32).collect(),
    });
    let mut guard = cache.lock().unwrap_or_else(|e| e.into_inner());
    if guard.len() >= COARSE_PLANS_KEPT {
        guard.remove(0);
    }
    guard.push(plan.clone());
    plan
}

/// Power spectrum of the coarse step.
struct CoarseSpectrum {
    power: Vec<f32>,
    bin_hz: f64,
}

impl CoarseSpectrum {
    fn new(y: &[f32], fs: f64) -> Self {
        let plan = coarse_plan(y.len().min(COARSE_MAX));
        let mut buf = vec![0f32; plan.nfft];
        for ((b, &v), &w) in buf.iter_mut().zip(&y[..plan.nc]).zip(&plan.window) {
            *b = v * w;
        }
        let mut spec = vec![Complex32::new(0.0, 0.0); plan.fft.spectrum_len()];
        plan.fft.forward(&buf, &mut spec, &mut Vec::new());
        CoarseSpectrum {
            power: spec.iter().map(|c| c.norm_sqr()).collect(),
            bin_hz: fs / plan.nfft as f64,
        }
    }

    fn bin_at_or_above(&self, f: f64) -> usize {
        ((f / self.bin_hz).ceil().max(0.0) as usize).min(self.power.len() - 1)
    }

    fn bin_at_or_below(&self, f: f64) -> usize {
        ((f / self.bin_hz).floor().max(0.0) as usize).min(self.power.len() - 1)
    }

    fn median(&self, lo: usize, hi: usize) -> f64 {
        let mut v = self.power[lo..=hi].to_vec();
        let mid = v.len() / 2;
        let (_, m, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
        (*m as f64).max(f64::MIN_POSITIVE)
    }

    fn peak(&self, lo: usize, hi: usize) -> (usize, f64) {
        let mut best = (lo, self.power[lo]);
        for k in lo..=hi {
            if self.power[k] > best.1 {
                best = (k, self.power[k]);
            }
        }
        (best.0, best.1 as f64)
    }

    /// The strongest line in `[lo, hi]`, replaced by a line at 1/3 or 1/2 of its frequency when
    /// that one is clear and within 10 dB of it (the peak was a harmonic of the symbol rate).
    fn strongest_fundamental(&self, lo: usize, hi: usize, floor: f64) -> (usize, f64) {
        let (k, p) = self.peak(lo, hi);
        for d in [3usize, 2] {
            let centre = k / d;
            let reach = 2 + d;
            if centre < lo + reach {
                continue;
            }
            let (ks, ps) = self.peak(centre - reach, (centre + reach).min(hi));
            if ps >= 0.1 * p && 10.0 * (ps / floor).log10() >= MIN_LINE_SNR_DB {
                return (ks, ps);
            }
        }
        (k, p)
    }

    /// Frequency of the peak at bin `k`, from a parabola through the log powers of `k − 1..=k + 1`
    /// (mirrored at DC and Nyquist, where the spectrum of a real signal is symmetric).
    fn interpolated_frequency(&self, k: usize) -> f64 {
        let last = self.power.len() - 1;
        let at = |i: isize| {
            let j = if i < 0 {
                (-i) as usize
            } else if i as usize > last {
                2 * last - i as usize
            } else {
                i as usize
            };
            (self.power[j.min(last)] as f64).max(f64::MIN_POSITIVE).ln()
        };
        let (l, c, r) = (at(k as isize - 1), at(k as isize), at(k as isize + 1));
        let denom = l - 2.0 * c + r;
        let delta = if denom < 0.0 { (0.5 * (l - r) / denom).clamp(-0.5, 0.5) } else { 0.0 };
        (k as f64 + delta) * self.bin_hz
    }
}

/// One pass of the phase-slope refinement: demodulates `y` at `f` in segments and returns `f`
/// plus the frequency of the least-squares line through the unwrapped segment phases. Keeps `f`
/// when the correction exceeds two coarse bins (no coherent line to follow).
fn refine_phase_slope(y: &[f32], fs: f64, f: f64, coarse_bin_hz: f64) -> f64 {
    let n = y.len();
    let segments = (n / 2048).clamp(4, 64);
    let seg = n / segments;
    let cycles_per_sample = f / fs;
    let w = Complex64::from_polar(1.0, -2.0 * PI * cycles_per_sample);
    let mut phases = Vec::with_capacity(segments);
    let mut centres = Vec::with_capacity(segments);
    for s in 0..segments {
        let start = s * seg;
        let turns = (cycles_per_sample * start as f64).fract();
        let mut rot = Complex64::from_polar(1.0, -2.0 * PI * turns);
        let mut z = Complex64::new(0.0, 0.0);
        for (i, &v) in y[start..start + seg].iter().enumerate() {
            z += rot * v as f64;
            rot *= w;
            if i % 4096 == 4095 {
                rot /= rot.norm();
            }
        }
        phases.push(z.arg());
        centres.push(start as f64 + 0.5 * seg as f64);
    }
    for i in 1..phases.len() {
        let d = phases[i] - phases[i - 1];
        phases[i] -= (d / (2.0 * PI)).round() * 2.0 * PI;
    }
    let m = segments as f64;
    let (sx, sy) = (centres.iter().sum::<f64>() / m, phases.iter().sum::<f64>() / m);
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (c, p) in centres.iter().zip(&phases) {
        sxx += (c - sx) * (c - sx);
        sxy += (c - sx) * (p - sy);
    }
    let slope = sxy / sxx; // rad per sample
    let df = slope / (2.0 * PI) * fs;
    if df.is_finite() && df.abs() <= 2.0 * coarse_bin_hz {
        f + df
    } else {
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Channel, Jitter, LinkModel, Noise};

    fn random_symbols(n: usize, m: Modulation, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) % m.levels() as u64) as u8
            })
            .collect()
    }

    fn capture(m: Modulation, baud: f64, fs: f64, n: usize) -> Vec<f32> {
        let mut model = LinkModel::new(m, baud, fs).unwrap();
        model.channel = Channel::BesselThomson { f3db_hz: 0.6 * baud, order: 4 };
        model.noise = Noise::SnrDb(25.0);
        model.jitter = Jitter { rj_rms_ui: 0.01, ..Jitter::none() };
        model.oversampling = 8;
        model.run(&random_symbols(n, m, 3)).unwrap().waveform.samples
    }

    #[test]
    fn long_nrz_capture_within_one_ppm_non_integer_ratio() {
        // 10.3125 GBd + 37 ppm at 40 GSa/s (3.879 samples per UI), 220k symbols.
        let true_baud = 10.3125e9 * (1.0 + 37e-6);
        let x = capture(Modulation::Nrz, true_baud, 40e9, 220_000);
        let blind = estimate_baud(&x, 40e9, None, Modulation::Nrz).unwrap();
        let ppm = (blind.baud / true_baud - 1.0) * 1e6;
        eprintln!("blind: {blind:?}, error {ppm:+.4} ppm");
        assert!(ppm.abs() < 1.0, "blind estimate {} off by {ppm} ppm", blind.baud);
        assert!(blind.line_snr_db > 40.0, "{blind:?}");
        let told = estimate_baud(&x, 40e9, Some(10.3125e9), Modulation::Nrz).unwrap();
        assert!((told.ppm_from_nominal.unwrap() - 37.0).abs() < 1.0, "{told:?}");
    }

    #[test]
    fn pam4_capture_at_awkward_ratio() {
        // 26.5625 GBd − 80 ppm at 93 GSa/s (3.501 samples per UI).
        let true_baud = 26.5625e9 * (1.0 - 80e-6);
        let x = capture(Modulation::Pam4, true_baud, 93e9, 120_000);
        let est = estimate_baud(&x, 93e9, None, Modulation::Pam4).unwrap();
        let ppm = (est.baud / true_baud - 1.0) * 1e6;
        eprintln!("pam4: {est:?}, error {ppm:+.4} ppm");
        assert!(ppm.abs() < 1.0, "{est:?} off by {ppm} ppm");
    }

    #[test]
    fn sharp_edges_still_give_the_fundamental() {
        // An ideal channel (edges a fraction of a sample wide) puts strong harmonics and aliases
        // next to the fundamental.
        let mut model = LinkModel::new(Modulation::Nrz, 1e9, 8.3e9).unwrap();
        model.oversampling = 16;
        let x = model.run(&random_symbols(30_000, Modulation::Nrz, 5)).unwrap().waveform.samples;
        let est = estimate_baud(&x, 8.3e9, None, Modulation::Nrz).unwrap();
        assert!((est.baud / 1e9 - 1.0).abs() < 20e-6, "{est:?}");
    }

    #[test]
    fn bad_inputs_give_typed_errors() {
        let fs = 40e9;
        // Constant.
        let e = estimate_baud(&vec![0.25f32; 50_000], fs, None, Modulation::Nrz).unwrap_err();
        assert!(matches!(e, Error::Unusable { stage: "timing", .. }), "{e}");
        // White noise: transitions everywhere but no line.
        let mut s = 11u64;
        let noise: Vec<f32> = (0..200_000)
            .map(|_| {
                let mut acc = 0.0;
                for _ in 0..4 {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    acc += (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                }
                acc
            })
            .collect();
        let e = estimate_baud(&noise, fs, None, Modulation::Nrz).unwrap_err();
        assert!(matches!(&e, Error::Unusable { reason, .. } if reason.contains("no symbol-rate line")), "{e}");
        // Too few transitions: a handful of slow steps.
        let steps: Vec<f32> = (0..100_000).map(|i| if (i / 2000) % 2 == 0 { -0.3 } else { 0.3 }).collect();
        let e = estimate_baud(&steps, fs, None, Modulation::Nrz).unwrap_err();
        assert!(matches!(&e, Error::Unusable { reason, .. } if reason.contains("transitions")), "{e}");
        // Nominal 10 % off: both rates named.
        let x = capture(Modulation::Nrz, 10e9, fs, 20_000);
        let e = estimate_baud(&x, fs, Some(11e9), Modulation::Nrz).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::InvalidParameter { name: "nominal baud", .. }), "{msg}");
        assert!(msg.contains("nominal 1.100000e10") && (msg.contains("at 1.0000") || msg.contains("at 9.9999")), "{msg}");
        // Twice the true rate: the harmonic there is much weaker than the real line.
        assert!(matches!(estimate_baud(&x, fs, Some(20e9), Modulation::Nrz), Err(Error::InvalidParameter { .. })));
        // Parameters.
        assert!(matches!(estimate_baud(&x, f64::NAN, None, Modulation::Nrz), Err(Error::InvalidParameter { .. })));
        assert!(matches!(estimate_baud(&x, fs, Some(25e9), Modulation::Nrz), Err(Error::InvalidParameter { .. })));
        assert!(matches!(estimate_baud(&x[..500], fs, None, Modulation::Nrz), Err(Error::InputTooShort { .. })));
        let mut bad = x.clone();
        bad[7] = f32::NAN;
        assert!(matches!(estimate_baud(&bad, fs, None, Modulation::Nrz), Err(Error::NonFinite { index: 7, .. })));
    }
}
