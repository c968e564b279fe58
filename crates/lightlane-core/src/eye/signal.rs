//! Putting a capture on the eye's time grid: S samples per UI on the recovered clock, the
//! symbol sampling instant at 0.5 UI of each period.

use crate::timing::{recover_clock, resample_at_parallel, CdrConfig};
use crate::{Error, Modulation, Result, Waveform};

/// A signal on the recovered clock at `samples_per_ui` samples per UI, aligned so that sample
/// `k·S + S/2` is the sampling instant (centre) of symbol `k` and sample `k·S` its left UI
/// boundary: the input [`super::EyeHistogram`] and the metrics expect.
#[derive(Debug, Clone, PartialEq)]
pub struct EyeSignal {
    /// The samples (capture units: V, or W/mW for optical captures).
    pub samples: Vec<f32>,
    /// Samples per UI (even, ≥ 2).
    pub samples_per_ui: usize,
    /// Symbol rate, baud (`None` when unknown, e.g. a synthetic signal).
    pub baud: Option<f64>,
    /// Vertical unit of the samples (`V`, `W`, `mW`, …).
    pub unit: String,
}

impl EyeSignal {
    /// Wraps samples that are already aligned (symbol `k`'s centre at index `k·S + S/2`).
    pub fn new(samples: Vec<f32>, samples_per_ui: usize) -> Result<Self> {
        check_sps(samples_per_ui)?;
        Ok(EyeSignal { samples, samples_per_ui, baud: None, unit: "V".into() })
    }

    /// From a signal resampled at `S` samples per UI whose sample `k·S` is the centre of symbol
    /// `k` (the layout of [`crate::timing::resample_at`] and the pipeline): drops the first
    /// `S/2` samples so centres land at 0.5 UI. Symbol `k` of the result is symbol `k + 1` of `x`.
    pub fn from_centred(x: &[f32], samples_per_ui: usize) -> Result<Self> {
        check_sps(samples_per_ui)?;
        let half = samples_per_ui / 2;
        if x.len() < half + 2 * samples_per_ui {
            return Err(Error::InputTooShort { what: "eye signal (samples)", needed: half + 2 * samples_per_ui, got: x.len() });
        }
        EyeSignal::new(x[half..].to_vec(), samples_per_ui)
    }

    /// [`from_centred`](Self::from_centred) taking ownership of `x`: the first `S/2` samples
    /// are dropped in place (one `memmove`, no second buffer of the signal's size). The same
    /// samples and errors as `from_centred(&x, samples_per_ui)`.
    pub fn from_centred_vec(mut x: Vec<f32>, samples_per_ui: usize) -> Result<Self> {
        check_sps(samples_per_ui)?;
        let half = samples_per_ui / 2;
        if x.len() < half + 2 * samples_per_ui {
            return Err(Error::InputTooShort { what: "eye signal (samples)", needed: half + 2 * samples_per_ui, got: x.len() });
        }
        x.drain(..half);
        EyeSignal::new(x, samples_per_ui)
    }

    /// Number of whole symbols.
    pub fn symbols(&self) -> usize {
        self.samples.len() / self.samples_per_ui
    }

    /// The sample at the centre of every whole symbol.
    pub fn centres(&self) -> Vec<f32> {
        let s = self.samples_per_ui;
        self.samples.chunks_exact(s).map(|c| c[s / 2]).collect()
    }

    /// Whether the unit is optical power.
    pub fn is_optical(&self) -> bool {
        matches!(self.unit.as_str(), "W" | "mW" | "uW" | "µW" | "nW")
    }
}

/// The prefix of `positions` (symbol centres, capture samples) whose whole UI lies inside a
/// capture of `len` samples: the resampler clamps beyond the ends, which would draw flat lines
/// through the eye.
pub fn within_capture(positions: &[f64], samples_per_ui: f64, len: usize) -> &[f64] {
    let last = len as f64 - 2.0 - samples_per_ui;
    &positions[..positions.partition_point(|&p| p <= last)]
}

fn check_sps(s: usize) -> Result<()> {
    if s < 2 || !s.is_multiple_of(2) || s > 256 {
        return Err(Error::invalid("samples_per_ui", s, "the eye needs an even number of samples per UI in 2..=256"));
    }
    Ok(())
}

/// The raw waveform on its recovered clock: the 802.3 reference CDR (`cdr`) at nominal `baud`,
/// then Keys-cubic resampling to `samples_per_ui` samples per UI (centres at 0.5 UI).
///
/// Errors: those of [`recover_clock`], and [`Error::InvalidParameter`] for an odd or out-of-range
/// `samples_per_ui`.
pub fn eye_signal_from_waveform(
    waveform: &Waveform,
    baud: f64,
    modulation: Modulation,
    samples_per_ui: usize,
    cdr: &CdrConfig,
) -> Result<EyeSignal> {
    check_sps(samples_per_ui)?;
    waveform.validate()?;
    let clock = recover_clock(&waveform.samples, waveform.fs(), baud, modulation, cdr)?;
    let settled = &clock.symbol_positions[clock.settled_from.min(clock.symbol_positions.len())..];
    let settled = within_capture(settled, waveform.fs() / clock.baud, waveform.samples.len());
    let x = resample_at_parallel(&waveform.samples, settled, samples_per_ui);
    let mut sig = EyeSignal::from_centred_vec(x, samples_per_ui)?;
    sig.baud = Some(clock.baud);
    sig.unit = waveform.meta.vertical_unit.clone();
    Ok(sig)
}

/// The equalized eye: a feed-forward equalizer with `taps` spaced `S / taps_per_symbol` samples
/// apart (T-spaced: 1, T/2: 2), main tap `reference_tap`, applied at every one of the `S`
/// samples per UI of `x` (laid out as for [`EyeSignal::from_centred`]); output sample `i` is
/// `Σ_j taps[j] · x[i + (reference_tap − j)·S/taps_per_symbol]` (samples beyond the ends of `x` repeat
/// the end samples), so sample `k·S` still is symbol `k`'s centre.
pub fn apply_ffe_oversampled(x: &[f32], samples_per_ui: usize, taps: &[f32], taps_per_symbol: usize, reference_tap: usize) -> Result<Vec<f32>> {
    if taps.is_empty() || reference_tap >= taps.len() {
        return Err(Error::invalid("reference_tap", reference_tap, format!("must index one of {} taps", taps.len())));
    }
    if taps_per_symbol == 0 || !samples_per_ui.is_multiple_of(taps_per_symbol) {
        return Err(Error::invalid("taps_per_symbol", taps_per_symbol, format!("must divide samples_per_ui = {samples_per_ui}")));
    }
    let step = (samples_per_ui / taps_per_symbol) as isize;
    let n = x.len() as isize;
    if n == 0 {
        return Ok(Vec::new());
    }
    let offsets: Vec<isize> = (0..taps.len()).map(|j| (reference_tap as isize - j as isize) * step).collect();
    let dmax = offsets.iter().copied().max().unwrap_or(0);
    let dmin = offsets.iter().copied().min().unwrap_or(0);
    let mut out = vec![0f32; x.len()];
    for (i, o) in out.iter_mut().enumerate() {
        let i = i as isize;
        let mut acc = 0f32;
        if i >= -dmin && i < n - dmax {
            for (t, &d) in taps.iter().zip(&offsets) {
                acc += t * x[(i + d) as usize];
            }
        } else {
            for (t, &d) in taps.iter().zip(&offsets) {
                acc += t * x[(i + d).clamp(0, n - 1) as usize];
            }
        }
        *o = acc;
    }
    Ok(out)
}
