//! Jitter decomposition of the recovered-clock TIE: RJ/DJ by dual-Dirac tail fit, DDJ by pattern
//! context (with its DCD and ISI parts), periodic jitter from the TIE spectrum, TJ at a BER and
//! the horizontal bathtub.
//!
//! The definitions are those behind the jitter specifications of IEEE 802.3 (the transmitter
//! jitter notes of Clause 68 and Annex 86A, whose J2/J9 are TJ at 10⁻² and 10⁻⁹, and Annex 120D,
//! whose J_RMS/J4u/even-odd jitter are measured with the Clause 120 reference CRU) and of the
//! Fibre Channel "Methodologies for Jitter and Signal Quality Specification" (MJSQ, INCITS
//! TR-35-2004), which defines the dual-Dirac model: TJ(BER) = DJ(δδ) + 2·Q_BER·RJ with
//! `Q_BER = Q⁻¹(BER/ρ_T)` (ρ_T the transition density; 7.034 at 10⁻¹² for ρ_T = 1). The 802.3
//! clause text was not available to this project (see `shared/reference/standards.md`), so the
//! clause pointers above are to be checked against it; the algorithms follow MJSQ.
//!
//! The TIE comes from the clock recovery ([`crate::timing::recover_clock`], the 802.3 reference
//! PLL by default), so every component is what that clock leaves: a jitter tone at `f` appears
//! with `|1 − H(f)|` of its amplitude (see
//! [`CdrKind::observed_jitter_transfer`](crate::timing::CdrKind::observed_jitter_transfer)).
//!
//! Steps of [`JitterAnalyzer::analyze`]:
//! 1. TIE of every settled data edge, mean removed → `tie_rms_s`.
//! 2. DDJ: mean TIE per context ([`DdjContext`]: the edge's position in a repeating pattern, or
//!    the symbols around it) → `ddj_pp_s`; DCD = mean TIE of rising minus falling edges (NRZ; for
//!    PAM4 the 0→3 minus 3→0 edges, the transitions symmetric about the centre threshold);
//!    `isi_pp_s` = peak-to-peak of the context means with each polarity's mean removed.
//! 3. PJ: tones in the spectrum of the TIE minus DDJ ([`PeriodicTone`]).
//! 4. RJ: dual-Dirac tail fit ([`DualDiracFit`]) of the TIE (`rj_rms_s`, `dj_pp_s`) and of the
//!    TIE minus DDJ (`tail_fit_without_ddj`); cross-check `rj_residual_rms_s` = rms of the TIE
//!    minus DDJ and PJ.
//! 5. `tj_s` = DJ + 2·Q_BER·RJ; [`JitterReport::bathtub`].
//!
//! Every pass over the edges, the TIE grid and its spectrum runs on the rayon pool in fixed
//! chunks whose results are combined in order, so a report does not depend on the thread count;
//! sums over more than one chunk differ from a serial loop's in the last bits only. Long PJ
//! grids (FFT lengths from 2^16) are transformed by a four-step FFT on the pool instead of one
//! rustfft plan (equal to rounding).
//!
//! ```
//! use lightlane_core::jitter::{analyze_jitter, JitterConfig};
//! use lightlane_core::sim::{Channel, Jitter, LinkModel};
//! use lightlane_core::timing::{recover_clock, CdrConfig};
//! use lightlane_core::Modulation;
//! let (baud, fs) = (10e9, 40e9);
//! let mut m = LinkModel::new(Modulation::Nrz, baud, fs).unwrap();
//! m.channel = Channel::BesselThomson { f3db_hz: 0.75 * baud, order: 4 };
//! m.jitter = Jitter { rj_rms_ui: 0.02, ..Jitter::none() };
//! let mut s = 1u64; // random bits from an LCG's top bit
//! let bits: Vec<u8> = (0..60_000).map(|_| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1); (s >> 63) as u8 }).collect();
//! let x = m.run(&bits).unwrap().waveform.samples;
//! let clock = recover_clock(&x, fs, baud, Modulation::Nrz, &CdrConfig::default()).unwrap();
//! let decided: Vec<u8> = clock.resample(&x, 1).iter().map(|&v| (v > 0.0) as u8).collect();
//! let report = analyze_jitter(&clock, &decided, Modulation::Nrz, &JitterConfig::default()).unwrap();
//! let rj_ui = report.rj_residual_rms_s.unwrap() * baud;
//! assert!((rj_ui - 0.02).abs() < 0.003, "{rj_ui}");
//! assert!(report.tj_s.unwrap() > report.dj_pp_s.unwrap());
//! ```

mod ddj;
mod edges;
mod four_step;
mod periodic;
mod tails;

#[cfg(test)]
mod tests;

pub use edges::{edges_from_clock, JitterEdge, TimedEdges};
pub use periodic::PeriodicTone;
pub use tails::{DualDiracFit, TailFit};

use crate::stats::q_inverse;
use crate::timing::RecoveredClock;
use crate::{Error, Modulation, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Fewest edges [`JitterAnalyzer::analyze`] works on.
pub const MIN_JITTER_EDGES: usize = 64;
/// Largest pattern period [`DdjContext::PatternPeriod`] accepts (symbols).
pub const MAX_PATTERN_PERIOD: usize = 1 << 24;
/// Longest span of unit intervals (first to last edge) searched for periodic jitter; longer
/// records skip the PJ search (its uniform grid and FFT would take 24 bytes per UI).
pub const MAX_PJ_SPAN_UI: usize = 1 << 25;
/// Most contexts a [`DdjContext::History`] window may have (`levels^(preceding + 1 + following)`).
pub const MAX_HISTORY_CONTEXTS: usize = 1 << 16;

/// How edges are grouped for the data-dependent jitter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DdjContext {
    /// The data are a repeating pattern of `period` symbols: edges at the same position
    /// `(ui_index + offset) mod period` share a context (the pattern alignment from the pattern
    /// sync). Averages out everything that is not synchronous with the pattern.
    PatternPeriod {
        /// Pattern length, symbols (1..=[`MAX_PATTERN_PERIOD`]).
        period: usize,
        /// Pattern position of symbol 0 of the decided symbols.
        offset: usize,
    },
    /// Edges share a context when the `preceding` symbols before the edge (the one it leaves
    /// included), the symbol it enters and the `following` symbols after that are equal: the
    /// transition history that sets the ISI for any data.
    History {
        /// Symbols before the edge (≥ 1; the first is the one the edge leaves).
        preceding: usize,
        /// Symbols after the one the edge enters.
        following: usize,
    },
}

impl DdjContext {
    /// The default for random data: 5 preceding and 1 following symbol for NRZ (128 contexts),
    /// 2 and 1 for PAM4 (256 contexts).
    pub fn history_for(modulation: Modulation) -> Self {
        match modulation {
            Modulation::Nrz => DdjContext::History { preceding: 5, following: 1 },
            Modulation::Pam4 => DdjContext::History { preceding: 2, following: 1 },
        }
    }
}

/// Settings of the jitter decomposition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JitterConfig {
    /// BER at which TJ is reported (MJSQ / 802.3: 10⁻¹²).
    pub ber: f64,
    /// Transition density ρ_T in `Q_BER = Q⁻¹(BER/ρ_T)` (0 < ρ_T ≤ 1; 1 gives the 14.07·RJ of
    /// MJSQ at 10⁻¹²).
    pub transition_density: f64,
    /// Context of the DDJ; `None` picks [`DdjContext::history_for`] the modulation.
    pub ddj_context: Option<DdjContext>,
    /// Fewest edges a context needs for its mean to count (≥ 1). Fewer make the DDJ estimate
    /// pick up RJ (the context means scatter by σ_RJ/√count).
    pub min_context_edges: usize,
    /// Smallest tail probability of the dual-Dirac fit (MJSQ practice: 10⁻⁵ or as the data
    /// allow).
    pub tail_probability_min: f64,
    /// Largest tail probability of the dual-Dirac fit (10⁻²).
    pub tail_probability_max: f64,
    /// Dirac amplitude ρ of the tail fit (see [`DualDiracFit`]): `Some(ρ)` fixes it (½, the
    /// default, is the dual-Dirac model's own: each Dirac holds half the edges; 1 is the plain
    /// Q-scale fit, exact for pure Gaussian jitter); `None` fits it per tail (unstable on short
    /// records).
    pub tail_amplitude: Option<f64>,
    /// Fewest edges beyond the smallest fitted tail probability (the fit range starts at
    /// `max(tail_probability_min, min_tail_edges / edges)`).
    pub min_tail_edges: usize,
    /// Most periodic tones reported (0 disables the PJ search).
    pub max_tones: usize,
    /// Probability that noise alone produces a false tone anywhere in the spectrum (sets the
    /// detection threshold).
    pub tone_false_alarm: f64,
}

impl Default for JitterConfig {
    /// TJ at 10⁻¹², ρ_T = 1, automatic DDJ context, 16 edges per context, tails 10⁻⁵..10⁻² with at
    /// least 20 edges and ρ = ½, up to 8 tones at a 10⁻³ false-alarm probability.
    fn default() -> Self {
        JitterConfig {
            ber: 1e-12,
            transition_density: 1.0,
            ddj_context: None,
            min_context_edges: 16,
            tail_probability_min: 1e-5,
            tail_probability_max: 1e-2,
            tail_amplitude: Some(0.5),
            min_tail_edges: 20,
            max_tones: 8,
            tone_false_alarm: 1e-3,
        }
    }
}

impl JitterConfig {
    /// Checks every field for `modulation`.
    pub fn validate(&self, modulation: Modulation) -> Result<()> {
        if !(self.ber.is_finite() && self.ber > 0.0 && self.ber < 0.5) {
            return Err(Error::invalid("ber", self.ber, "must be within (0, 0.5)"));
        }
        if !(self.transition_density.is_finite() && self.transition_density > 0.0 && self.transition_density <= 1.0) {
            return Err(Error::invalid("transition_density", self.transition_density, "must be within (0, 1]"));
        }
        if self.ber / self.transition_density >= 0.5 {
            return Err(Error::invalid("ber", self.ber, "BER / transition_density must be below 0.5"));
        }
        match self.context(modulation) {
            DdjContext::PatternPeriod { period, .. } => {
                if !(1..=MAX_PATTERN_PERIOD).contains(&period) {
                    return Err(Error::invalid("ddj_context.period", period, format!("must be within 1..={MAX_PATTERN_PERIOD}")));
                }
            }
            DdjContext::History { preceding, following } => {
                if preceding == 0 {
                    return Err(Error::invalid("ddj_context.preceding", preceding, "must be at least 1"));
                }
                if history_contexts_ok(modulation, preceding, following).is_none() {
                    return Err(Error::invalid(
                        "ddj_context.preceding",
                        preceding,
                        format!(
                            "levels^(preceding + 1 + following) with following = {following} exceeds {MAX_HISTORY_CONTEXTS} contexts"
                        ),
                    ));
                }
            }
        }
        if self.min_context_edges == 0 {
            return Err(Error::invalid("min_context_edges", 0, "must be at least 1"));
        }
        let (lo, hi) = (self.tail_probability_min, self.tail_probability_max);
        if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && hi <= 0.1 && lo * 3.0 <= hi) {
            return Err(Error::invalid(
                "tail_probability_min",
                lo,
                format!("the tail range must satisfy 0 < min ≤ max/3 and max ≤ 0.1 (max = {hi})"),
            ));
        }
        if let Some(rho) = self.tail_amplitude {
            if !(rho.is_finite() && rho > 2.0 * hi && rho <= 1.0) {
                return Err(Error::invalid(
                    "tail_amplitude",
                    rho,
                    format!("must be within (2·tail_probability_max, 1] = ({}, 1]", 2.0 * hi),
                ));
            }
        }
        if self.min_tail_edges == 0 {
            return Err(Error::invalid("min_tail_edges", 0, "must be at least 1"));
        }
        if self.max_tones > 1024 {
            return Err(Error::invalid("max_tones", self.max_tones, "must be at most 1024"));
        }
        if !(self.tone_false_alarm.is_finite() && self.tone_false_alarm > 0.0 && self.tone_false_alarm < 1.0) {
            return Err(Error::invalid("tone_false_alarm", self.tone_false_alarm, "must be within (0, 1)"));
        }
        Ok(())
    }

    /// The DDJ context in effect.
    pub fn context(&self, modulation: Modulation) -> DdjContext {
        self.ddj_context.unwrap_or_else(|| DdjContext::history_for(modulation))
    }

    /// `Q_BER = Q⁻¹(BER/ρ_T)`.
    pub fn q_ber(&self) -> f64 {
        q_inverse(self.ber / self.transition_density)
    }
}

fn history_contexts_ok(modulation: Modulation, preceding: usize, following: usize) -> Option<usize> {
    ddj::history_contexts(modulation.levels(), preceding, following).filter(|&n| n <= MAX_HISTORY_CONTEXTS)
}

/// Edge counts behind a [`JitterReport`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EdgeCounts {
    /// Edges analysed.
    pub used: usize,
    /// Detector edges rejected when pairing them with the decided symbols (see [`TimedEdges`]).
    pub rejected: usize,
    /// Rising edges among `used` (`to > from`).
    pub rising: usize,
    /// Falling edges among `used`.
    pub falling: usize,
    /// DDJ contexts seen.
    pub contexts: usize,
    /// Contexts with at least `min_context_edges` edges (those in `ddj_pp_s`).
    pub contexts_used: usize,
    /// Edges in those contexts (the ones the PJ and the DDJ-free fits use).
    pub edges_in_contexts: usize,
}

/// Result of the jitter decomposition. Times are seconds; a value the data cannot give is `None`
/// (never NaN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JitterReport {
    /// Unit interval, seconds.
    pub ui_s: f64,
    /// BER of `tj_s`.
    pub ber: f64,
    /// Transition density used in `Q_BER`.
    pub transition_density: f64,
    /// Rms TIE over the edges, seconds.
    pub tie_rms_s: f64,
    /// RJ rms from the dual-Dirac tail fit of the TIE.
    pub rj_rms_s: Option<f64>,
    /// DJ(δδ) from the same fit (peak-to-peak of the two Diracs).
    pub dj_pp_s: Option<f64>,
    /// TJ at `ber`: `dj_pp_s + 2·Q_BER·rj_rms_s`.
    pub tj_s: Option<f64>,
    /// Peak-to-peak of the per-context mean TIE (DDJ = ISI + DCD).
    pub ddj_pp_s: Option<f64>,
    /// Duty-cycle distortion: mean TIE of rising minus falling edges (PAM4: 0→3 minus 3→0),
    /// signed (positive when rising edges are late).
    pub dcd_s: Option<f64>,
    /// Peak-to-peak of the per-context mean TIE with the mean of each polarity removed (DDJ
    /// without DCD).
    pub isi_pp_s: Option<f64>,
    /// Periodic-jitter tones in the TIE minus DDJ, strongest first.
    pub pj: Vec<PeriodicTone>,
    /// Frequency resolution of the PJ search (bin width), Hz; `None` when it did not run (too
    /// few edges, or a span over [`MAX_PJ_SPAN_UI`]).
    pub pj_resolution_hz: Option<f64>,
    /// Rms of the TIE minus DDJ and the PJ tones: an RJ estimate that does not depend on tails
    /// (it includes any other bounded uncorrelated jitter).
    pub rj_residual_rms_s: Option<f64>,
    /// The dual-Dirac fit behind `rj_rms_s` / `dj_pp_s`.
    pub tail_fit: Option<DualDiracFit>,
    /// The dual-Dirac fit of the TIE minus DDJ.
    pub tail_fit_without_ddj: Option<DualDiracFit>,
    /// Edge counts.
    pub edges: EdgeCounts,
}

impl JitterReport {
    /// `Q_BER = Q⁻¹(BER/ρ_T)` of this report's transition density.
    fn q_of(&self, ber: f64) -> Option<f64> {
        let p = ber / self.transition_density;
        (ber.is_finite() && p > 0.0 && p < 0.5).then(|| q_inverse(p))
    }

    /// TJ at another BER from the same dual-Dirac fit, seconds.
    pub fn tj_at(&self, ber: f64) -> Option<f64> {
        Some(self.dj_pp_s? + 2.0 * self.q_of(ber)? * self.rj_rms_s?)
    }

    /// Horizontal bathtub from the dual-Dirac model: for every BER of `ber_grid` (values outside
    /// `(0, ρ_T/2)` are skipped) the two sampling instants, in UI from the left crossing, where
    /// the BER reaches it: `x = DJ/2 + Q_BER·RJ` and `1 − x` (the tail of the nearer crossing
    /// dominates). BERs at which the eye is closed (`x ≥ ½`) are left out. Sorted by `x`.
    pub fn bathtub(&self, ber_grid: &[f64]) -> Vec<(f64, f64)> {
        let (Some(dj), Some(rj)) = (self.dj_pp_s, self.rj_rms_s) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(2 * ber_grid.len());
        for &ber in ber_grid {
            let Some(q) = self.q_of(ber) else { continue };
            let x = (0.5 * dj + q * rj) / self.ui_s;
            if x.is_finite() && x < 0.5 {
                out.push((x, ber));
                out.push((1.0 - x, ber));
            }
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }
}

/// The jitter decomposition, planned once for a modulation and configuration.
pub struct JitterAnalyzer {
    modulation: Modulation,
    config: JitterConfig,
    context: DdjContext,
}

impl JitterAnalyzer {
    /// Checks `config` for `modulation`.
    pub fn new(modulation: Modulation, config: &JitterConfig) -> Result<Self> {
        config.validate(modulation)?;
        Ok(JitterAnalyzer {
            modulation,
            config: config.clone(),
            context: config.context(modulation),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &JitterConfig {
        &self.config
    }

    /// Decomposes the jitter of `edges` (ascending `ui_index`, from [`edges_from_clock`] or built
    /// by the caller) whose `ui_index` points into `symbols` (the decided symbols; used for the
    /// history contexts); `ui_s` is the unit interval.
    ///
    /// Errors: [`Error::InputTooShort`] below [`MIN_JITTER_EDGES`] edges;
    /// [`Error::InvalidParameter`] for a bad `ui_s`, edges out of order or a `ui_index` beyond
    /// `symbols`; [`Error::NonFinite`] for a NaN/Inf TIE; [`Error::ValueOutOfRange`] for a symbol
    /// outside the alphabet.
    pub fn analyze(&self, edges: &[JitterEdge], symbols: &[u8], ui_s: f64) -> Result<JitterReport> {
        let cfg = &self.config;
        let levels = self.modulation.levels();
        if !(ui_s.is_finite() && ui_s > 0.0) {
            return Err(Error::invalid("ui_s", ui_s, "must be a positive finite unit interval"));
        }
        if edges.len() < MIN_JITTER_EDGES {
            return Err(Error::InputTooShort {
                what: "data edges for jitter analysis",
                needed: MIN_JITTER_EDGES,
                got: edges.len(),
            });
        }
        // The first bad edge, exactly: the first chunk holding one is found on the pool, then
        // searched in order.
        let check = |i: usize| -> Result<()> {
            let e = &edges[i];
            if !e.tie_s.is_finite() {
                return Err(Error::NonFinite {
                    what: "edge TIE",
                    index: i,
                    value: e.tie_s,
                });
            }
            if e.from as usize >= levels || e.to as usize >= levels {
                return Err(Error::ValueOutOfRange {
                    what: "edge transition symbols",
                    index: i,
                    value: e.from.max(e.to) as u64,
                    max: levels as u64 - 1,
                });
            }
            if i > 0 && e.ui_index <= edges[i - 1].ui_index {
                return Err(Error::invalid("edges", format!("ui_index {} at edge {i}", e.ui_index), "must be strictly ascending"));
            }
            Ok(())
        };
        if let Some(i) = first_index_where(edges.len(), |i| check(i).is_err()) {
            check(i)?;
        }
        if let Some(index) = first_index_where(symbols.len(), |i| symbols[i] as usize >= levels) {
            return Err(Error::ValueOutOfRange {
                what: "decided symbols",
                index,
                value: symbols[index] as u64,
                max: levels as u64 - 1,
            });
        }
        if matches!(self.context, DdjContext::History { .. }) && edges[edges.len() - 1].ui_index >= symbols.len() {
            return Err(Error::invalid(
                "edges",
                format!("ui_index {}", edges[edges.len() - 1].ui_index),
                format!("beyond the {} decided symbols", symbols.len()),
            ));
        }

        // 1. TIE, mean removed (sums in fixed chunks on the pool, added in order).
        let n = edges.len();
        let mean = chunked_sum(edges, |e| e.tie_s) / n as f64;
        let mut tie = Vec::new();
        edges.par_iter().with_min_len(EDGE_CHUNK).map(|e| e.tie_s - mean).collect_into_vec(&mut tie);
        let tie_rms_s = (chunked_sum(&tie, |t| t * t) / n as f64).sqrt();
        let rising = edges.par_iter().with_min_len(EDGE_CHUNK).filter(|e| e.rising()).count();

        // 2. DDJ, DCD, ISI.
        let groups = ddj::group(edges, &tie, symbols, levels, &self.context);
        let min = cfg.min_context_edges;
        // (A pattern period may have millions of contexts: these passes run on the pool too.)
        let used_groups: Vec<usize> = (0..groups.count.len()).into_par_iter().with_min_len(EDGE_CHUNK).filter(|&g| groups.mean(g, min).is_some()).collect();
        let pp = |vals: &mut dyn Iterator<Item = f64>| {
            let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
            (lo <= hi).then_some(hi - lo)
        };
        let ddj_pp_s = pp(&mut used_groups.iter().filter_map(|&g| groups.mean(g, min)));
        let dcd_s = self.dcd(edges, &tie);
        let polarity_mean = |r: bool| {
            let (s, c) = used_groups
                .iter()
                .filter(|&&g| groups.rising[g] == r)
                .fold((0.0, 0usize), |(s, c), &g| (s + groups.sum[g], c + groups.count[g]));
            (c > 0).then(|| s / c as f64)
        };
        let (mean_r, mean_f) = (polarity_mean(true), polarity_mean(false));
        let isi_pp_s = pp(&mut used_groups.iter().filter_map(|&g| {
            let pm = if groups.rising[g] { mean_r } else { mean_f }?;
            Some(groups.mean(g, min)? - pm)
        }));

        // TIE minus DDJ, on the edges whose context has a mean (in edge order).
        let (res_ui, mut residual) = residual_of_contexts(edges, &tie, &groups.key, |g| groups.mean(g, min));
        let edges_in_contexts = residual.len();
        let counts = EdgeCounts {
            used: n,
            rejected: 0,
            rising,
            falling: n - rising,
            contexts: groups.count.par_iter().with_min_len(EDGE_CHUNK).filter(|&&c| c > 0).count(),
            contexts_used: used_groups.len(),
            edges_in_contexts,
        };
        free_on_pool(groups);

        // 4. Dual-Dirac fits of the TIE and of the TIE minus DDJ, side by side.
        let fit = |v: &[f64]| tails::dual_dirac_fit(v, cfg.tail_probability_min, cfg.tail_probability_max, cfg.min_tail_edges, cfg.tail_amplitude);
        let (tail_fit, tail_fit_without_ddj) = rayon::join(|| fit(&tie), || fit(&residual));
        free_on_pool(tie);

        // 3. PJ on the TIE minus DDJ; the residual loses the fitted tones.
        let span_ok = res_ui.last().zip(res_ui.first()).is_some_and(|(l, f)| l - f < MAX_PJ_SPAN_UI);
        let (pj, pj_resolution_hz) = if residual.len() >= MIN_JITTER_EDGES && span_ok {
            periodic::find_tones(&res_ui, &mut residual, ui_s, cfg.max_tones, cfg.tone_false_alarm)
        } else {
            (Vec::new(), None)
        };
        let rj_residual_rms_s = (residual.len() >= MIN_JITTER_EDGES).then(|| {
            let m = chunked_sum(&residual, |&r| r) / residual.len() as f64;
            (chunked_sum(&residual, |&r| (r - m) * (r - m)) / residual.len() as f64).sqrt()
        });
        free_on_pool((res_ui, residual));

        // 5. TJ.
        let q = cfg.q_ber();
        let rj_rms_s = tail_fit.map(|f| f.rj_rms_s);
        let dj_pp_s = tail_fit.map(|f| f.dj_pp_s);
        let tj_s = tail_fit.map(|f| f.dj_pp_s + 2.0 * q * f.rj_rms_s);
        let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
        Ok(JitterReport {
            ui_s,
            ber: cfg.ber,
            transition_density: cfg.transition_density,
            tie_rms_s,
            rj_rms_s: finite(rj_rms_s),
            dj_pp_s: finite(dj_pp_s),
            tj_s: finite(tj_s),
            ddj_pp_s: finite(ddj_pp_s),
            dcd_s: finite(dcd_s),
            isi_pp_s: finite(isi_pp_s),
            pj: pj.into_iter().filter(|t| t.freq_hz.is_finite() && t.amplitude_s.is_finite() && t.snr_db.is_finite()).collect(),
            pj_resolution_hz,
            rj_residual_rms_s: finite(rj_residual_rms_s),
            tail_fit: tail_fit.filter(fit_is_finite),
            tail_fit_without_ddj: tail_fit_without_ddj.filter(fit_is_finite),
            edges: counts,
        })
    }

    /// Mean TIE of rising minus falling edges (NRZ), or of 0→3 minus 3→0 (PAM4); `None` when
    /// either side has fewer than `min_context_edges` edges.
    /// Sums per fixed chunk of [`EDGE_CHUNK`] edges on the pool, added in order (the serial
    /// loop's sums for up to one chunk).
    fn dcd(&self, edges: &[JitterEdge], tie: &[f64]) -> Option<f64> {
        let top = (self.modulation.levels() - 1) as u8;
        let modulation = self.modulation;
        let parts: Vec<(f64, usize, f64, usize)> = edges
            .par_chunks(EDGE_CHUNK)
            .zip(tie.par_chunks(EDGE_CHUNK))
            .map(|(es, ts)| {
                let (mut sr, mut nr, mut sf, mut nf) = (0.0, 0usize, 0.0, 0usize);
                for (e, &t) in es.iter().zip(ts) {
                    let (r, f) = match modulation {
                        Modulation::Nrz => (e.rising(), !e.rising()),
                        Modulation::Pam4 => (e.from == 0 && e.to == top, e.from == top && e.to == 0),
                    };
                    if r {
                        sr += t;
                        nr += 1;
                    } else if f {
                        sf += t;
                        nf += 1;
                    }
                }
                (sr, nr, sf, nf)
            })
            .collect();
        let (mut sr, mut nr, mut sf, mut nf) = (0.0, 0usize, 0.0, 0usize);
        for (a, b, c, d) in parts {
            sr += a;
            nr += b;
            sf += c;
            nf += d;
        }
        let min = self.config.min_context_edges;
        (nr >= min && nf >= min).then(|| sr / nr as f64 - sf / nf as f64)
    }
}

/// Edges (or values) per chunk of the parallel passes of [`JitterAnalyzer::analyze`]; fixed, so
/// sums are added in the same order whatever the thread count.
const EDGE_CHUNK: usize = 1 << 14;

/// `Σ f(v[i])` in fixed chunks of [`EDGE_CHUNK`] on the pool, the chunk sums added in order:
/// the serial sum for up to one chunk, otherwise within rounding of it, and the same value
/// whatever the thread count.
fn chunked_sum<T: Sync>(v: &[T], f: impl Fn(&T) -> f64 + Sync) -> f64 {
    let parts: Vec<f64> = v.par_chunks(EDGE_CHUNK).map(|c| c.iter().map(&f).sum::<f64>()).collect();
    parts.iter().sum()
}

/// The edges whose context has a mean (`mean(key[i])`) in edge order: their `ui_index` and
/// `tie[i]` minus that mean. Each fixed chunk of [`EDGE_CHUNK`] edges filters on the pool;
/// the kept counts give every chunk its place, and both outputs are written on the pool (no
/// serial concatenation).
fn residual_of_contexts(edges: &[JitterEdge], tie: &[f64], key: &[Option<usize>], mean: impl Fn(usize) -> Option<f64> + Sync) -> (Vec<usize>, Vec<f64>) {
    let parts: Vec<Vec<(usize, f64)>> = (0..edges.len().div_ceil(EDGE_CHUNK))
        .into_par_iter()
        .map(|c| {
            (c * EDGE_CHUNK..((c + 1) * EDGE_CHUNK).min(edges.len()))
                .filter_map(|i| Some((edges[i].ui_index, tie[i] - key[i].and_then(&mean)?)))
                .collect()
        })
        .collect();
    let mut offsets = Vec::with_capacity(parts.len());
    let mut total = 0;
    for p in &parts {
        offsets.push(total);
        total += p.len();
    }
    let at = |j: usize| {
        let p = offsets.partition_point(|&o| o <= j) - 1;
        parts[p][j - offsets[p]]
    };
    let (mut ui, mut residual) = (Vec::new(), Vec::new());
    (0..total).into_par_iter().with_min_len(EDGE_CHUNK).map(|j| at(j).0).collect_into_vec(&mut ui);
    (0..total).into_par_iter().with_min_len(EDGE_CHUNK).map(|j| at(j).1).collect_into_vec(&mut residual);
    (ui, residual)
}

pub(crate) use crate::par::free_on_pool;

/// The first `i < n` where `bad(i)` holds: the first chunk of [`EDGE_CHUNK`] indices holding
/// one is found on the pool, then searched in order, so the index is the serial search's.
fn first_index_where(n: usize, bad: impl Fn(usize) -> bool + Sync) -> Option<usize> {
    let c = (0..n.div_ceil(EDGE_CHUNK)).into_par_iter().position_first(|c| (c * EDGE_CHUNK..((c + 1) * EDGE_CHUNK).min(n)).any(&bad))?;
    (c * EDGE_CHUNK..n).find(|&i| bad(i))
}

fn fit_is_finite(f: &DualDiracFit) -> bool {
    [f.rj_rms_s, f.dj_pp_s, f.left.mean_s, f.left.sigma_s, f.left.residual_s, f.right.mean_s, f.right.sigma_s, f.right.residual_s]
        .iter()
        .all(|v| v.is_finite())
}

/// Jitter decomposition of a recovered clock: [`edges_from_clock`] then
/// [`JitterAnalyzer::analyze`] (the report's `edges.rejected` counts the edges the pairing
/// dropped). `symbols[k]` is the decision at `clock.symbol_positions[k]`.
pub fn analyze_jitter(clock: &RecoveredClock, symbols: &[u8], modulation: Modulation, config: &JitterConfig) -> Result<JitterReport> {
    let analyzer = JitterAnalyzer::new(modulation, config)?;
    let timed = edges_from_clock(clock, symbols, modulation)?;
    let mut report = analyzer.analyze(&timed.edges, symbols, timed.ui_s)?;
    report.edges.rejected = timed.rejected;
    Ok(report)
}
