//! Eye diagrams and the standard eye, level and transmitter metrics.
//!
//! - [`EyeHistogram`]: the canonical 2-D eye histogram (`EYE_HIST_SPEC.md`; the GPU kernel
//!   implements the same integer algorithm), naive reference + fast multi-core path, mergeable
//!   across chunks and captures.
//! - [`EyeSignal`], [`eye_signal_from_waveform`], [`apply_ffe_oversampled`]: the raw capture on
//!   its recovered clock at S samples/UI (centres at 0.5 UI), and the equalized eye.
//! - [`EyeDiagram`]: histogram + the N levels and N−1 thresholds (PAM-N aware), auto range.
//! - [`eye_metrics`]: levels/σ, RLM (Annex 120D and Clause 94), eye height/width per sub-eye at
//!   a BER (measured and extrapolated), eye skew, VEC (802.3ck Annex 120G), SNDR (Annex 120D),
//!   OMA_outer and outer ER (121.8.4).
//! - [`tdecq()`]: TDECQ/TECQ (802.3 121.8.5; the 802.3dj variant by [`TdecqConfig::ieee_8023dj`]).
//! - [`horizontal_bathtubs`], [`vertical_bathtubs`], [`ber_contours`]: bathtubs and contours.
//! - [`render_eye_png`], [`render_bathtub_png`]: pictures.
//!
//! ```
//! use lightlane_core::eye::{eye_metrics, EyeConfig, EyeDiagram, EyeMetricsConfig, EyeSignal};
//! use lightlane_core::Modulation;
//! // An ideal NRZ signal at 8 samples/UI with linear edges, centres at 0.5 UI.
//! let bits = [0u8, 1, 1, 0, 1, 0, 0, 1].repeat(50);
//! let mut y = Vec::new();
//! for w in bits.windows(2) {
//!     let (a, b) = (w[0] as f32 * 2.0 - 1.0, w[1] as f32 * 2.0 - 1.0);
//!     for i in 0..8 {
//!         // Flat until 0.75 UI, then a ramp to the next symbol over the boundary.
//!         let t = i as f32 / 8.0;
//!         y.push(if t < 0.75 { a } else { a + (b - a) * (t - 0.75) * 2.0 });
//!     }
//! }
//! let sig = EyeSignal::new(y, 8).unwrap();
//! let eye = EyeDiagram::build(&sig, Modulation::Nrz, &EyeConfig { samples_per_ui: 8, ..EyeConfig::default() }).unwrap();
//! let m = eye_metrics(&sig, &eye, &EyeMetricsConfig::default()).unwrap();
//! assert!((m.eye_heights[0] - 2.0).abs() < 1e-6);
//! ```

mod bathtub;
mod diagram;
mod histogram;
mod kept;
mod metrics;
mod render;
mod scan;
mod signal;
mod tdecq;

#[cfg(test)]
mod tests;

pub use bathtub::{ber_contours, horizontal_bathtubs, vertical_bathtubs, Bathtub, BerContour};
pub use diagram::{find_levels, EyeConfig, EyeDiagram, HistogramFn};
pub use kept::KeptEye;
pub use histogram::{EyeGeometry, EyeHistogram, MAX_AMP_BINS, MAX_COLUMNS_PER_SAMPLE, MAX_TIME_BINS};
pub use metrics::{eye_metrics, oma_outer_from_runs, sndr, CrossingStats, EyeMetrics, EyeMetricsConfig};
pub use render::{render_bathtub_png, render_eye_png, viridis};
pub use signal::{apply_ffe_oversampled, eye_signal_from_waveform, within_capture, EyeSignal};
pub use tdecq::{
    reference_noise_autocorrelation, tdecq, tdecq_on, tdecq_waveform, tdecq_window_counts_reference, tdecq_with, SerCombine, TapBounds, TdecqBins, TdecqConfig,
    TdecqEngine, TdecqHistograms, TdecqResult, TdecqWindow,
};

use crate::{Modulation, Result};
use serde::{Deserialize, Serialize};

/// What the analysis pipeline does for the eye.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EyeAnalysisConfig {
    /// Histogram binning and resampling.
    pub eye: EyeConfig,
    /// Metric parameters.
    pub metrics: EyeMetricsConfig,
    /// TDECQ parameters (PAM4 only); `None` skips TDECQ.
    pub tdecq: Option<TdecqConfig>,
    /// The capture is back-to-back (no test fibre): the TDECQ algorithm's result is TECQ
    /// (standards.md §4.3) and is reported as `tecq_db` as well.
    pub back_to_back: bool,
    /// Render the eye and bathtub PNGs into the report (not serialized; the CLI writes them).
    pub render_png: bool,
    /// Points per bathtub curve.
    pub bathtub_points: usize,
    /// Accumulated test-fibre dispersions (ps/nm) at which TDECQ is also measured, by emulating
    /// the fibre on the capture ([`crate::optical::FiberEmulator`]) as scope software does
    /// (IEEE 802.3 121.8.5 / 124.8.5: TDECQ at the PMD's minimum and maximum dispersion, from
    /// one back-to-back capture). Empty (default): none. Optical presets fill in their
    /// [`crate::analysis::OpticalPmd`] corners. The capture must be optical power (positive mean).
    pub dispersion_corners_ps_per_nm: Vec<f64>,
    /// Carrier wavelength of the corner emulation, nm (default 1310; presets: the centre of
    /// the PMD's wavelength range).
    pub corner_wavelength_nm: f64,
    /// Emulation options of the corners: the transmitter's chirp and the dispersion already in
    /// the capture (default: chirp-free, back-to-back).
    pub corner_emulation: crate::optical::EmulationOptions,
}

impl Default for EyeAnalysisConfig {
    fn default() -> Self {
        EyeAnalysisConfig {
            eye: EyeConfig::default(),
            metrics: EyeMetricsConfig::default(),
            tdecq: Some(TdecqConfig::default()),
            back_to_back: false,
            render_png: false,
            bathtub_points: 101,
            dispersion_corners_ps_per_nm: Vec::new(),
            corner_wavelength_nm: 1310.0,
            corner_emulation: crate::optical::EmulationOptions::default(),
        }
    }
}

/// Jitter figures of the report. `tie_rms` comes from clock recovery; the rest is filled by the
/// jitter decomposition module when wired in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EyeJitter {
    /// RMS TIE of the data edges against the recovered clock, s.
    pub tie_rms: Option<f64>,
    /// Random jitter, rms, s.
    pub rj_rms: Option<f64>,
    /// Deterministic jitter (dual-Dirac), peak-to-peak, s.
    pub dj_pp: Option<f64>,
    /// Total jitter at the target BER, s.
    pub tj: Option<f64>,
}

/// TDECQ at one test-fibre dispersion corner (IEEE 802.3 121.8.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TdecqCorner {
    /// Accumulated dispersion emulated on the capture, ps/nm.
    pub dispersion_ps_per_nm: f64,
    /// TDECQ, dB; `None` when undefined there (a warning in the report says why).
    pub tdecq_db: Option<f64>,
    /// Within the TDECQ limit; `None` when not checked (no limit known to the analysis; the
    /// CLI fills it from its limits) or undefined (`tdecq_db` is `None`: a fail in the limit
    /// check).
    pub pass: Option<bool>,
}

/// PNG pictures of the eye (not serialized).
#[derive(Debug, Clone, PartialEq)]
pub struct EyePictures {
    /// The eye diagram.
    pub eye: Vec<u8>,
    /// The bathtub curves.
    pub bathtub: Vec<u8>,
}

/// The `eye` object of the JSON report. `None` marks a value the signal leaves undefined (a
/// warning in `warnings` says why); no field is ever NaN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EyeReport {
    /// Level means at the sampling instant, ascending (capture units).
    pub levels: Vec<f64>,
    /// σ of each level at the sampling instant.
    pub level_sigma: Vec<f64>,
    /// RLM, Annex 120D.3.1.2 (PAM4).
    pub rlm: Option<f64>,
    /// RLM, Clause 94 form (PAM4).
    pub rlm_cl94: Option<f64>,
    /// Eye height per sub-eye at `target_ber`, extrapolated (802.3ck Annex 120G).
    pub eye_heights: Vec<f64>,
    /// Eye height per sub-eye measured from the samples.
    pub eye_heights_measured: Vec<f64>,
    /// Eye width per sub-eye at `target_ber`, dual-Dirac extrapolated, UI.
    pub eye_widths: Vec<Option<f64>>,
    /// Eye width per sub-eye measured, UI.
    pub eye_widths_measured: Vec<Option<f64>>,
    /// Sub-eye centre offsets, UI.
    pub eye_skew_ui: Vec<Option<f64>>,
    /// BER of eye heights and widths.
    pub target_ber: f64,
    /// Vertical eye closure, dB (Annex 120G).
    pub vec_db: Option<f64>,
    /// SNDR, dB (Annex 120D.3.1.6).
    pub sndr_db: Option<f64>,
    /// Outer OMA (121.8.4), capture units.
    pub oma_outer: Option<f64>,
    /// Outer extinction ratio, dB (optical only).
    pub er_db: Option<f64>,
    /// TDECQ, dB (121.8.5; PAM4).
    pub tdecq_db: Option<f64>,
    /// TECQ, dB (back-to-back captures).
    pub tecq_db: Option<f64>,
    /// Reference FFE taps chosen by TDECQ.
    pub tdecq_taps: Option<Vec<f64>>,
    /// TDECQ at each test-fibre dispersion corner
    /// ([`EyeAnalysisConfig::dispersion_corners_ps_per_nm`]), in that order; empty when none
    /// were asked for.
    pub tdecq_corners: Vec<TdecqCorner>,
    /// Jitter.
    pub jitter: EyeJitter,
    /// Eye PNG written for this capture.
    pub eye_png: Option<String>,
    /// Bathtub PNG written for this capture.
    pub bathtub_png: Option<String>,
    /// Degenerate cases and other notes.
    pub warnings: Vec<String>,
    /// Rendered pictures when `render_png` was set.
    #[serde(skip)]
    pub pictures: Option<EyePictures>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Everything eye-related for one signal already on its recovered clock: the diagram, the
/// metrics, TDECQ on `tdecq_signal` (the reference-receiver-filtered signal on the same clock,
/// when given; `symbols`: the known level of each symbol, see [`tdecq()`]), the pictures.
/// Everything runs on the CPU; [`eye_report_using`] takes accelerator engines and stage marks.
pub fn eye_report(
    signal: &EyeSignal,
    tdecq_signal: Option<&EyeSignal>,
    symbols: Option<&[u8]>,
    modulation: Modulation,
    tie_rms: Option<f64>,
    config: &EyeAnalysisConfig,
) -> Result<EyeReport> {
    eye_report_using(signal, tdecq_signal, symbols, modulation, tie_rms, config, &EyeEngines::default())
}

/// The optional engines and hooks of [`eye_report_using`]; the default (all `None`) is the CPU
/// with no marks, which is [`eye_report`]. None of them changes the report.
#[derive(Clone, Copy, Default)]
pub struct EyeEngines<'a> {
    /// Counts the eye histogram (an accelerator engine, see [`EyeDiagram::build_with`]).
    pub histogram: Option<&'a HistogramFn<'a>>,
    /// Runs TDECQ's histogram evaluations ([`tdecq_with`]).
    pub tdecq: Option<&'a dyn TdecqEngine>,
    /// Called as each part ends: "eye histogram", "eye metrics", "TDECQ", "eye pictures" (the
    /// pipeline's stage marks, `crate::analysis::StageMark`).
    pub mark: Option<&'a (dyn Fn(&'static str) + Sync)>,
    /// [`eye_report_beside`] makes the TDECQ signal and runs TDECQ after the diagram and the
    /// metrics instead of beside them, so that each mark times its part alone (the report is
    /// the same).
    pub serial: bool,
}

impl EyeEngines<'_> {
    /// Calls the stage mark, if any, with `stage`.
    fn mark_stage(&self, stage: &'static str) {
        if let Some(m) = self.mark {
            m(stage)
        }
    }
}

impl std::fmt::Debug for EyeEngines<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EyeEngines")
            .field("histogram", &self.histogram.is_some())
            .field("tdecq", &self.tdecq.is_some())
            .field("mark", &self.mark.is_some())
            .field("serial", &self.serial)
            .finish()
    }
}

/// [`eye_report`] with the eye histogram and TDECQ's histogram evaluations on the given
/// `engines` and their stage marks; the report is the same. An engine error that its failure
/// rule does not turn into a fallback (`Error::Unusable { stage: "gpu", .. }`) is returned,
/// not a warning.
pub fn eye_report_using(
    signal: &EyeSignal,
    tdecq_signal: Option<&EyeSignal>,
    symbols: Option<&[u8]>,
    modulation: Modulation,
    tie_rms: Option<f64>,
    config: &EyeAnalysisConfig,
    engines: &EyeEngines<'_>,
) -> Result<EyeReport> {
    let (eye, m) = diagram_and_metrics(signal.into(), modulation, config, engines)?;
    let tdecq = tdecq_part(tdecq_signal.map(EyeSource::Host).unwrap_or(signal.into()), symbols, modulation, config, engines.tdecq, engines.mark);
    finish_report(signal.into(), tdecq, tie_rms, config, engines, eye, m)
}

/// [`eye_report_using`] with the TDECQ signal made by `make_tdecq_signal` (when given), and
/// TDECQ on it, beside the diagram and the metrics (`rayon::join`; the maker and TDECQ after
/// them with [`EyeEngines::serial`]): the pipeline resamples the reference receiver's signal
/// there, so on an accelerator its transfers and TDECQ's evaluations overlap the metrics' work
/// on the cores. Returns the report and the signal made (for the caller to free): an
/// [`EyeSignal`] or an accelerator's [`KeptEye`] ([`HeldSignal`]). The diagram's or the
/// metrics' error comes first, then the maker's, then TDECQ's.
///
/// `signal` is the host's [`EyeSignal`] or an accelerator's [`KeptEye`] ([`EyeSource`]), and
/// so is the TDECQ signal made: from a kept one the diagram, the metrics, the bathtubs and
/// TDECQ ([`tdecq_on`]) come from the engine's passes (the same report), and it never comes
/// back.
pub fn eye_report_beside<'s, 'k, F, M>(
    signal: impl Into<EyeSource<'s>>,
    make_tdecq_signal: Option<F>,
    symbols: Option<&[u8]>,
    modulation: Modulation,
    tie_rms: Option<f64>,
    config: &EyeAnalysisConfig,
    engines: &EyeEngines<'_>,
) -> Result<(EyeReport, Option<HeldSignal<'k>>)>
where
    F: FnOnce() -> Result<M> + Send,
    M: Into<HeldSignal<'k>> + Send,
{
    let signal = signal.into();
    let (tdecq_engine, mark) = (engines.tdecq, engines.mark);
    let make = || -> Result<Option<HeldSignal<'k>>> { Ok(make_tdecq_signal.map(|make| make()).transpose()?.map(Into::into)) };
    // The signal made (or `signal` without a maker) with its TDECQ.
    let with_tdecq = |made: Option<HeldSignal<'k>>| {
        let t = tdecq_part(made.as_ref().map(HeldSignal::source).unwrap_or(signal), symbols, modulation, config, tdecq_engine, mark);
        (made, t)
    };
    // On the pool, not a thread of its own: the maker's parallel work needs the pool, which a
    // worker blocked waiting for that thread could starve. The maker and TDECQ need neither
    // the diagram nor the metrics: they run beside them (`serial`: after them, so that the
    // diagram's and the metrics' marks time those alone, on any number of threads, and
    // "TDECQ" times the maker and TDECQ).
    let (parts, side) = crate::par::join_if(!engines.serial, || diagram_and_metrics(signal, modulation, config, engines), || make().map(with_tdecq));
    let (eye, m) = parts?;
    let (made, tdecq) = side?;
    let report = finish_report(signal, tdecq, tie_rms, config, engines, eye, m)?;
    Ok((report, made))
}

/// TDECQ of `signal` (IEEE 802.3 121.8.5) when the config asks for it and the signal is PAM4,
/// marked "TDECQ" when done; `None` when not asked for.
fn tdecq_part(
    signal: EyeSource<'_>,
    symbols: Option<&[u8]>,
    modulation: Modulation,
    config: &EyeAnalysisConfig,
    engine: Option<&dyn TdecqEngine>,
    mark: Option<&(dyn Fn(&'static str) + Sync)>,
) -> Option<Result<TdecqResult>> {
    let (Some(tc), Modulation::Pam4) = (&config.tdecq, modulation) else {
        return None;
    };
    let r = tdecq_on(signal, symbols, tc, engine);
    if let Some(mark) = mark {
        mark("TDECQ");
    }
    Some(r)
}

/// An eye signal held on the host or kept by an accelerator (what a TDECQ signal's maker
/// returns, see [`eye_report_beside`]).
#[derive(Debug)]
pub enum HeldSignal<'a> {
    /// The samples on the host.
    Host(EyeSignal),
    /// The samples an accelerator kept.
    Kept(KeptEye<'a>),
}

impl HeldSignal<'_> {
    /// Where its samples are.
    pub fn source(&self) -> EyeSource<'_> {
        match self {
            HeldSignal::Host(s) => EyeSource::Host(s),
            HeldSignal::Kept(k) => EyeSource::Kept(k),
        }
    }
}

impl From<EyeSignal> for HeldSignal<'_> {
    fn from(s: EyeSignal) -> Self {
        HeldSignal::Host(s)
    }
}

/// Where the eye's signal is: on the host, or kept by an accelerator.
#[derive(Debug, Clone, Copy)]
pub enum EyeSource<'a> {
    /// The samples on the host.
    Host(&'a EyeSignal),
    /// The samples an accelerator kept.
    Kept(&'a KeptEye<'a>),
}

impl<'a> From<&'a EyeSignal> for EyeSource<'a> {
    fn from(s: &'a EyeSignal) -> Self {
        EyeSource::Host(s)
    }
}

impl<'a> From<&'a KeptEye<'a>> for EyeSource<'a> {
    fn from(s: &'a KeptEye<'a>) -> Self {
        EyeSource::Kept(s)
    }
}

impl EyeSource<'_> {
    /// Number of whole symbols.
    pub fn symbols(&self) -> usize {
        match self {
            EyeSource::Host(s) => s.symbols(),
            EyeSource::Kept(k) => k.symbols(),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            EyeSource::Host(s) => s.samples.len(),
            EyeSource::Kept(k) => k.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples per UI.
    pub fn samples_per_ui(&self) -> usize {
        match self {
            EyeSource::Host(s) => s.samples_per_ui,
            EyeSource::Kept(k) => k.samples_per_ui,
        }
    }

    /// Vertical unit of the samples.
    pub fn unit(&self) -> &str {
        match self {
            EyeSource::Host(s) => &s.unit,
            EyeSource::Kept(k) => &k.unit,
        }
    }
}

/// The eye diagram (histogram on `engines.histogram`, or the kept signal's engine) and the
/// metrics of `signal`, marked.
fn diagram_and_metrics(signal: EyeSource<'_>, modulation: Modulation, config: &EyeAnalysisConfig, engines: &EyeEngines<'_>) -> Result<(EyeDiagram, EyeMetrics)> {
    let mark = |stage| engines.mark_stage(stage);
    let (eye, m) = match signal {
        EyeSource::Host(signal) => {
            let eye_cfg = EyeConfig { samples_per_ui: signal.samples_per_ui, ..config.eye.clone() };
            let eye = EyeDiagram::build_with(signal, modulation, &eye_cfg, engines.histogram)?;
            mark("eye histogram");
            let m = eye_metrics(signal, &eye, &config.metrics)?;
            (eye, m)
        }
        EyeSource::Kept(kept) => {
            let eye = kept.diagram(modulation, &config.eye)?;
            mark("eye histogram");
            let m = kept.metrics(&eye, &config.metrics)?;
            (eye, m)
        }
    };
    mark("eye metrics");
    Ok((eye, m))
}

/// The rest of [`eye_report_using`] after [`diagram_and_metrics`]: TDECQ, the pictures, the
/// report.
#[allow(clippy::too_many_arguments)]
fn finish_report(
    signal: EyeSource<'_>,
    tdecq: Option<Result<TdecqResult>>,
    tie_rms: Option<f64>,
    config: &EyeAnalysisConfig,
    engines: &EyeEngines<'_>,
    eye: EyeDiagram,
    m: EyeMetrics,
) -> Result<EyeReport> {
    let mark = |stage| engines.mark_stage(stage);
    let mut warnings = eye.warnings.clone();
    warnings.extend(m.warnings.iter().cloned());
    let (mut tdecq_db, mut taps) = (None, None);
    match tdecq {
        Some(Ok(r)) => {
            tdecq_db = finite(r.tdecq_db);
            taps = Some(r.taps);
        }
        Some(Err(e @ crate::Error::Unusable { stage: "gpu", .. })) => return Err(e),
        Some(Err(e)) => warnings.push(format!("TDECQ: {e}")),
        None => {}
    }
    let pictures = if config.render_png {
        let contours = ber_contours(&eye, config.metrics.target_ber);
        let h = horizontal_bathtubs(&m, signal.symbols(), config.bathtub_points);
        let v = match signal {
            EyeSource::Host(signal) => vertical_bathtubs(signal, &eye, &config.metrics, config.bathtub_points),
            EyeSource::Kept(kept) => kept.vertical_bathtubs(&eye, &config.metrics, config.bathtub_points)?,
        };
        Some(EyePictures {
            eye: render_eye_png(&eye, &contours)?,
            bathtub: render_bathtub_png(&h, &v, signal.unit(), config.metrics.target_ber.min(1e-12))?,
        })
    } else {
        None
    };
    mark("eye pictures");
    Ok(EyeReport {
        levels: m.levels.clone(),
        level_sigma: m.level_sigma.clone(),
        rlm: m.rlm.and_then(finite),
        rlm_cl94: m.rlm_cl94.and_then(finite),
        eye_heights: m.eye_heights.iter().map(|&v| if v.is_finite() { v } else { 0.0 }).collect(),
        eye_heights_measured: m.eye_heights_measured.iter().map(|&v| if v.is_finite() { v } else { 0.0 }).collect(),
        eye_widths: m.eye_widths.iter().map(|v| v.and_then(finite)).collect(),
        eye_widths_measured: m.eye_widths_measured.iter().map(|v| v.and_then(finite)).collect(),
        eye_skew_ui: m.eye_skew_ui.iter().map(|v| v.and_then(finite)).collect(),
        target_ber: config.metrics.target_ber,
        vec_db: m.vec_db.and_then(finite),
        sndr_db: m.sndr_db.and_then(finite),
        oma_outer: finite(m.oma_outer),
        er_db: m.er_db.and_then(finite),
        tdecq_db,
        tecq_db: if config.back_to_back { tdecq_db } else { None },
        tdecq_taps: taps,
        tdecq_corners: Vec::new(),
        jitter: EyeJitter { tie_rms: tie_rms.and_then(finite), ..EyeJitter::default() },
        eye_png: None,
        bathtub_png: None,
        warnings,
        pictures,
    })
}
