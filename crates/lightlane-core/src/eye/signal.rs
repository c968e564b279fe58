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
    /// are dropped in place (no second buffer of the signal's size; long signals are shifted
    /// on the thread pool). The same samples and errors as `from_centred(&x, samples_per_ui)`.
    pub fn from_centred_vec(mut x: Vec<f32>, samples_per_ui: usize) -> Result<Self> {
        check_sps(samples_per_ui)?;
        let half = samples_per_ui / 2;
        if x.len() < half + 2 * samples_per_ui {
            return Err(Error::InputTooShort { what: "eye signal (samples)", needed: half + 2 * samples_per_ui, got: x.len() });
        }
        drop_front_parallel(&mut x, half);
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

/// Removes the first `k` elements of `x` in place: `x.drain(..k)` (one serial `memmove` of the
/// whole signal, 445 MB for a 2^24-sample capture's eye at 32 samples per UI) cut into blocks
/// that move on the thread pool. Block `b` moves its own elements `k` places left within itself
/// and takes its last `k` from the first `k` of block `b + 1`, saved before any block moves.
pub(crate) fn drop_front_parallel<T: Copy + Send + Sync>(x: &mut Vec<T>, k: usize) {
    use rayon::prelude::*;
    const BLOCK: usize = 1 << 20;
    let k = k.min(x.len());
    if x.len() < 4 * BLOCK || k == 0 || k > BLOCK / 2 {
        x.drain(..k);
        return;
    }
    // The first k elements of every block but the first: where the previous block's tail goes.
    let heads: Vec<T> = x.chunks(BLOCK).skip(1).flat_map(|c| c[..k.min(c.len())].iter().copied()).collect();
    let len = x.len();
    x.par_chunks_mut(BLOCK).enumerate().for_each(|(b, c)| {
        let n = c.len();
        if n <= k {
            return; // the last block's whole content is dropped or lies in the previous block
        }
        c.copy_within(k.., 0);
        // The tail takes the next block's head (absent for the last block: truncated below).
        let h = &heads[(b * k).min(heads.len())..];
        let t = h.len().min(k);
        c[n - k..n - k + t].copy_from_slice(&h[..t]);
    });
    x.truncate(len - k);
}

pub(crate) fn check_sps(s: usize) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::drop_front_parallel;

    #[test]
    fn parallel_drop_front_equals_drain_at_every_block_layout() {
        const B: usize = 1 << 20;
        // Below the parallel threshold, whole blocks, a last block shorter than k, one longer
        // than k, one exactly k, and k = 0, 1, typical half-UIs and the largest parallel k.
        for len in [100, 4 * B - 1, 4 * B, 4 * B + 1, 4 * B + 7, 5 * B + 16, 5 * B + 17, 6 * B + 300] {
            for k in [0usize, 1, 3, 16, 128, B / 2, B / 2 + 1] {
                let x: Vec<u32> = (0..len as u32).map(|i| i.wrapping_mul(2654435761)).collect();
                let mut want = x.clone();
                want.drain(..k.min(len));
                let mut got = x;
                drop_front_parallel(&mut got, k);
                assert!(got == want, "len {len} k {k}");
            }
        }
    }
}
