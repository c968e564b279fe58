//! The eye diagram of one signal: its histogram, the N levels of the modulation and the N−1
//! decision thresholds between them.

// The negated comparisons are deliberate: NaN must fail them.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use super::{EyeGeometry, EyeHistogram, EyeSignal};
use crate::{Error, Modulation, Result};
use serde::{Deserialize, Serialize};

/// An engine that counts an eye histogram: `(geometry, samples) → counts` equal to
/// [`EyeHistogram::accumulate`] of the samples from phase 0 (see [`EyeDiagram::build_with`]).
pub type HistogramFn<'a> = dyn Fn(&EyeGeometry, &[f32]) -> Result<Vec<u32>> + Sync + 'a;

/// How the eye histogram is binned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EyeConfig {
    /// Samples per UI the raw waveform is resampled to (even).
    pub samples_per_ui: usize,
    /// Display span, UI (1 or 2).
    pub span_ui: usize,
    /// Time bins across the span (a multiple of `samples_per_ui · span_ui`).
    pub time_bins: usize,
    /// Amplitude bins.
    pub amp_bins: usize,
    /// Amplitude range `[lo, hi)`; `None`: the data's range plus `range_margin` on each side.
    pub range: Option<(f32, f32)>,
    /// Margin added above and below the data's range by the auto range, as a fraction of it.
    pub range_margin: f64,
}

impl Default for EyeConfig {
    fn default() -> Self {
        EyeConfig { samples_per_ui: 32, span_ui: 2, time_bins: 256, amp_bins: 256, range: None, range_margin: 0.08 }
    }
}

/// An eye diagram: the histogram plus the level structure found in the signal.
#[derive(Debug, Clone, PartialEq)]
pub struct EyeDiagram {
    /// The 2-D histogram.
    pub histogram: EyeHistogram,
    /// Modulation (N levels).
    pub modulation: Modulation,
    /// Level means at the sampling instant, ascending (capture units).
    pub levels: Vec<f64>,
    /// Standard deviation of each level at the sampling instant.
    pub level_sigma: Vec<f64>,
    /// Decision thresholds midway between adjacent levels (N−1 of them, one per sub-eye).
    pub thresholds: Vec<f64>,
    /// Vertical unit.
    pub unit: String,
    /// Things the user should know (clipping, data outside the range).
    pub warnings: Vec<String>,
}

/// Levels of `centres` for `modulation` (k-means from the quantiles), with the checks every
/// metric relies on: at least two distinct levels.
pub fn find_levels(centres: &[f32], modulation: Modulation) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = modulation.levels();
    let c = crate::timing::cluster_levels(centres, n)?;
    let spread = c.means[n - 1] - c.means[0];
    let scale = c.means.iter().fold(0f64, |a, v| a.max(v.abs()));
    if !(spread > 1e-9 * scale.max(1e-30)) || c.counts.contains(&0) {
        return Err(Error::Unusable { stage: "eye levels", reason: format!("the signal does not show {n} distinct levels (single level or no modulation)") });
    }
    for w in c.means.windows(2) {
        if !(w[1] - w[0] > 1e-6 * spread) {
            return Err(Error::Unusable { stage: "eye levels", reason: format!("levels {:?} do not separate into {n} distinct amplitudes", c.means) });
        }
    }
    Ok((c.means, c.sigmas))
}

impl EyeDiagram {
    /// Builds the eye of `signal`: finds the levels at the symbol centres, picks the amplitude
    /// range (auto unless configured) and accumulates the histogram on all cores.
    ///
    /// Errors: [`Error::Unusable`] for a signal without `modulation.levels()` distinct levels or
    /// a range that excludes every sample; [`Error::NonFinite`] for NaN/∞ samples; geometry
    /// errors from [`EyeGeometry::validate`]. A clipped signal or a range that cuts off part of
    /// the data is flagged in `warnings`.
    pub fn build(signal: &EyeSignal, modulation: Modulation, config: &EyeConfig) -> Result<EyeDiagram> {
        Self::build_with(signal, modulation, config, None)
    }

    /// [`build`](Self::build) with the histogram counted by `histogram` (an accelerator engine:
    /// it gets the geometry and the samples and returns the `amp_bins · time_bins` counts of
    /// [`EyeHistogram::accumulate`] from phase 0); `None` counts on the CPU.
    pub fn build_with(signal: &EyeSignal, modulation: Modulation, config: &EyeConfig, histogram: Option<&HistogramFn<'_>>) -> Result<EyeDiagram> {
        // One parallel pass: finiteness, extremes, their counts and the symbol centres.
        let scan = super::scan::scan_signal(signal, false);
        if !scan.finite {
            crate::error::check_finite("eye signal", &signal.samples)?;
        }
        let shape = SignalShape { len: signal.samples.len(), samples_per_ui: signal.samples_per_ui, unit: &signal.unit };
        Self::from_scan(&scan, shape, modulation, config, |h| match histogram {
            Some(f) => {
                let g = *h.geometry();
                h.add_counts(&f(&g, &signal.samples)?, signal.samples.len())
            }
            None => h.accumulate(&signal.samples),
        })
    }

    /// The diagram of a signal of `shape` from its [`SignalScan`](super::scan::SignalScan)
    /// (finite), `count` filling its empty histogram (from phase 0): the shared body of [`build_with`](Self::build_with) and [`super::KeptEye::diagram`].
    pub(crate) fn from_scan(
        scan: &super::scan::SignalScan,
        shape: SignalShape<'_>,
        modulation: Modulation,
        config: &EyeConfig,
        count: impl FnOnce(&mut EyeHistogram) -> Result<()>,
    ) -> Result<EyeDiagram> {
        let len = shape.len;
        let (levels, level_sigma) = find_levels(&scan.centres, modulation)?;
        let thresholds: Vec<f64> = levels.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        let mut warnings = Vec::new();
        for i in 0..levels.len() - 1 {
            if levels[i + 1] - levels[i] < 2.0 * (level_sigma[i] + level_sigma[i + 1]) {
                warnings.push(format!("levels {i} and {} overlap (spacing below 2·(σ₁ + σ₂)): the eye is closed", i + 1));
            }
        }
        let (mn, mx) = (scan.min, scan.max);
        // Clipping: a noticeable share of samples pinned at the extremes.
        let pinned = |count: usize| count as f64 / len as f64;
        for (name, e, count) in [("top", mx, scan.at_max), ("bottom", mn, scan.at_min)] {
            let f = pinned(count);
            if f > 0.005 {
                warnings.push(format!("signal looks clipped at the {name} ({:.2} % of samples at {e})", 100.0 * f));
            }
        }
        let (lo, hi) = match config.range {
            Some(r) => r,
            None => {
                let pad = (mx - mn) as f64 * config.range_margin;
                ((mn as f64 - pad) as f32, (mx as f64 + pad) as f32)
            }
        };
        let g = EyeGeometry {
            samples_per_ui: shape.samples_per_ui,
            span_ui: config.span_ui,
            time_bins: config.time_bins,
            amp_bins: config.amp_bins,
            lo,
            hi,
        };
        let mut histogram_out = EyeHistogram::new(g)?;
        count(&mut histogram_out)?;
        let histogram = histogram_out;
        let expected = len.saturating_sub(1) as u64 * g.columns_per_sample() as u64;
        let got = histogram.total();
        if got == 0 {
            return Err(Error::Unusable { stage: "eye histogram", reason: format!("the amplitude range [{lo}, {hi}) excludes all of the data ({mn} … {mx})") });
        }
        if (got as f64) < 0.999 * expected as f64 {
            warnings.push(format!(
                "{:.2} % of the eye lies outside the amplitude range [{lo}, {hi})",
                100.0 * (1.0 - got as f64 / expected as f64)
            ));
        }
        Ok(EyeDiagram { histogram, modulation, levels, level_sigma, thresholds, unit: shape.unit.to_string(), warnings })
    }
}

/// What the diagram needs to know of a signal besides its samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignalShape<'a> {
    /// Number of samples.
    pub len: usize,
    /// Samples per UI.
    pub samples_per_ui: usize,
    /// Vertical unit.
    pub unit: &'a str,
}
