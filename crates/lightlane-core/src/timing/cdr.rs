//! Clock and data recovery: the 802.3 reference PLL ("golden PLL"), Mueller-Müller and Gardner
//! timing-error detectors, and a bang-bang (Alexander) loop.
//!
//! Every kind produces the centre of each symbol as a fractional input-sample index, which
//! [`resample_at`](super::resample_at) turns into N samples per UI for the equalizer, and the
//! time-interval error (TIE) of every data edge against the recovered clock.

use super::cdr_block::{note_block_run, par_circular_mean, stitch_centres, Blocks, PllClock, PllLoop, SUM_CHUNK, BANG_BANG_TOLERANCE_STEPS, DEFAULT_CDR_BLOCK, LINEAR_TOLERANCE_UI, RUN_PAST_UI};
use super::edges::{data_edges_parallel, Levels};
use super::interp::cubic_at;
use super::tie::{circular_mean, wrap};
use crate::{Error, Modulation, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Fewest symbols [`recover_clock`] works on.
pub const MIN_CDR_SYMBOLS: usize = 256;
/// Fewest usable data edges [`recover_clock`] needs.
pub const MIN_CDR_EDGES: usize = 64;
/// Floor of the smallest concentration `R = |mean e^{j2π·TIE/UI}|` of the data edges around the
/// recovered clock that counts as a recovered clock (see [`min_edge_concentration`]). Gaussian
/// edge jitter of σ UI rms gives R = e^{−2π²σ²}: 0.45 at 0.2 UI, 0.1 at 0.34 UI; edges spread
/// evenly over the UI, as noise or a rate far from the capture's give, about 1/√N. Measured on
/// white noise (0.5k–0.9M edges) and on captures 1–10 % off the given rate: R ≤ 0.04 for every
/// loop; a heavily band-limited 53.125 GBd PAM4 capture whose clock the PLL recovers to 0.2 ppm
/// (the demo capture, ISI jitter ≈ 0.25 UI rms): R = 0.19.
pub const MIN_EDGE_CONCENTRATION: f64 = 0.1;

/// Standard deviations of the concentration of `n` evenly spread edges (≈ 1/√n for a Rayleigh
/// statistic) that [`min_edge_concentration`] demands above it on short captures.
const EDGE_CONCENTRATION_SIGMAS: f64 = 3.0;

/// Smallest edge concentration that counts as a recovered clock with `edges` data edges:
/// `max(MIN_EDGE_CONCENTRATION, 3/√edges)`, so that a short capture of noise, whose few edges
/// gather by chance (R ≈ 1/√n), is not taken for a clock.
pub fn min_edge_concentration(edges: usize) -> f64 {
    MIN_EDGE_CONCENTRATION.max(EDGE_CONCENTRATION_SIGMAS / (edges.max(1) as f64).sqrt())
}
/// Symbols over which a timing-error detector's slope is measured before its loop starts.
const TED_CALIBRATION_SYMBOLS: usize = 16384;
/// Offset, UI, either side of the initial phase at which the detector slope is measured.
const TED_CALIBRATION_OFFSET_UI: f64 = 0.1;

/// Clock-recovery loop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CdrKind {
    /// The reference clock recovery of IEEE 802.3 eye and TDECQ measurements (Clause 120E
    /// C2M eye, 121.8.5 TDECQ and their successors: a CRU whose jitter transfer has a
    /// `corner_hz` corner, 4 MHz, and a 20 dB/decade slope): a phase detector on the data
    /// edges (threshold crossings) driving a PLL whose closed-loop jitter transfer `H` has its
    /// −3 dB point at `corner_hz`.
    ///
    /// Order 1: `H(s) = ω_c / (s + ω_c)`, so the TIE sees `1 − H = s / (s + ω_c)`, a first-order
    /// high-pass (20 dB/decade below the corner). A frequency offset leaves a constant phase lag,
    /// which the symbol centres take out (they sit half a UI after the mean crossing).
    /// Order 2 (type II, proportional + integral): `H(s) = (2ζω_n s + ω_n²) / (s² + 2ζω_n s + ω_n²)`
    /// with `damping` ζ and ω_n set so that |H| is −3 dB at the corner; it tracks a frequency offset
    /// with no lag. Between edges the loop holds the last measured data phase, so its bandwidth
    /// does not depend on the transition density.
    ReferencePll {
        /// −3 dB corner of the jitter transfer, Hz (802.3: 4 MHz).
        corner_hz: f64,
        /// Loop order, 1 or 2.
        order: u8,
        /// Damping factor of the order-2 loop (0.707 for a maximally flat response).
        damping: f64,
    },
    /// Mueller-Müller timing-error detector at one sample per symbol,
    /// `e_k = y_k·â_{k−1} − y_{k−1}·â_k` (decision-directed), in a second-order loop.
    MuellerMuller {
        /// Loop noise bandwidth times the symbol period, B_L·T (0 < · ≤ 0.1).
        bandwidth_fraction: f64,
    },
    /// Gardner timing-error detector on two samples per symbol,
    /// `e_k = (y_k − y_{k−1})·y_{k−½}` (non-data-aided), in a second-order loop.
    Gardner {
        /// Loop noise bandwidth times the symbol period, B_L·T (0 < · ≤ 0.1).
        bandwidth_fraction: f64,
    },
    /// Bang-bang (Alexander) phase detector: the sign of the sample between two different
    /// decisions says early or late; the phase steps by `gain` UI per decision (first order; it
    /// follows a frequency offset while `gain` × transition density exceeds it).
    BangBang {
        /// Phase step per early/late decision, UI (0 < · ≤ 0.1).
        gain: f64,
    },
}

impl CdrKind {
    /// The 802.3 reference CDR: first-order PLL with the given corner.
    pub fn reference_pll(corner_hz: f64) -> Self {
        CdrKind::ReferencePll {
            corner_hz,
            order: 1,
            damping: std::f64::consts::FRAC_1_SQRT_2,
        }
    }

    /// Short name ("reference-pll", "mueller-muller", "gardner", "bang-bang").
    pub fn name(&self) -> &'static str {
        match self {
            CdrKind::ReferencePll { .. } => "reference-pll",
            CdrKind::MuellerMuller { .. } => "mueller-muller",
            CdrKind::Gardner { .. } => "gardner",
            CdrKind::BangBang { .. } => "bang-bang",
        }
    }

    /// Natural frequency ω_n (rad/s) of the order-2 reference PLL whose |H| is −3 dB at the corner:
    /// `ω_3dB = ω_n·√(1 + 2ζ² + √((1 + 2ζ²)² + 1))`.
    fn natural_frequency(corner_hz: f64, damping: f64) -> f64 {
        let a = 1.0 + 2.0 * damping * damping;
        2.0 * PI * corner_hz / (a + (a * a + 1.0).sqrt()).sqrt()
    }

    /// Jitter transfer |H(j2πf)| of the reference PLL: the share of a jitter tone at `f` that the
    /// recovered clock follows. `None` for the other kinds (their bandwidth depends on the signal).
    pub fn jitter_transfer(&self, frequency_hz: f64) -> Option<f64> {
        let (h, _) = self.pll_response(frequency_hz)?;
        Some(h)
    }

    /// Observed jitter transfer |1 − H(j2πf)| of the reference PLL: the share of a jitter tone at
    /// `f` that remains in the TIE. `None` for the other kinds.
    pub fn observed_jitter_transfer(&self, frequency_hz: f64) -> Option<f64> {
        let (_, o) = self.pll_response(frequency_hz)?;
        Some(o)
    }

    fn pll_response(&self, f: f64) -> Option<(f64, f64)> {
        let CdrKind::ReferencePll { corner_hz, order, damping } = *self else {
            return None;
        };
        let w = 2.0 * PI * f;
        if order == 1 {
            let wc = 2.0 * PI * corner_hz;
            let d = (w * w + wc * wc).sqrt();
            Some((wc / d, w / d))
        } else {
            let wn = Self::natural_frequency(corner_hz, damping);
            let re = wn * wn - w * w;
            let im = 2.0 * damping * wn * w;
            let d = re.hypot(im);
            Some(((wn * wn).hypot(im) / d, w * w / d))
        }
    }

    fn validate(&self, baud: f64) -> Result<()> {
        match *self {
            CdrKind::ReferencePll { corner_hz, order, damping } => {
                if !(corner_hz.is_finite() && corner_hz > 0.0 && corner_hz <= baud / 20.0) {
                    return Err(Error::invalid(
                        "corner_hz",
                        corner_hz,
                        format!("must be positive and at most baud/20 = {} Hz", baud / 20.0),
                    ));
                }
                if order != 1 && order != 2 {
                    return Err(Error::invalid("order", order, "the reference PLL has order 1 or 2"));
                }
                if !(damping.is_finite() && (0.1..=10.0).contains(&damping)) {
                    return Err(Error::invalid("damping", damping, "must be within 0.1..=10"));
                }
            }
            CdrKind::MuellerMuller { bandwidth_fraction } | CdrKind::Gardner { bandwidth_fraction } => {
                if !(bandwidth_fraction.is_finite() && bandwidth_fraction > 0.0 && bandwidth_fraction <= 0.1) {
                    return Err(Error::invalid("bandwidth_fraction", bandwidth_fraction, "must be within (0, 0.1]"));
                }
            }
            CdrKind::BangBang { gain } => {
                if !(gain.is_finite() && gain > 0.0 && gain <= 0.1) {
                    return Err(Error::invalid("gain", gain, "must be within (0, 0.1] UI"));
                }
            }
        }
        Ok(())
    }

    /// Symbols the loop needs to acquire (start-up transient excluded from the statistics).
    fn settle_symbols(&self, baud: f64) -> usize {
        let s = match *self {
            CdrKind::ReferencePll { corner_hz, order, damping } => {
                if order == 1 {
                    6.0 / (2.0 * PI * corner_hz) * baud
                } else {
                    8.0 / (damping * Self::natural_frequency(corner_hz, damping)) * baud
                }
            }
            CdrKind::MuellerMuller { bandwidth_fraction } | CdrKind::Gardner { bandwidth_fraction } => 8.0 / bandwidth_fraction,
            CdrKind::BangBang { gain } => 4.0 / gain,
        };
        s.ceil().min(1e15) as usize
    }
}

/// Settings of [`recover_clock`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CdrConfig {
    /// The loop.
    pub kind: CdrKind,
    /// Samples per UI the equalizer wants from [`RecoveredClock::resample`] (1..=64; 1 or 2
    /// usually). Not used by the loop itself.
    pub samples_per_ui_out: usize,
    /// Half-width of the hysteresis band around each decision threshold, as a fraction of the
    /// spacing between adjacent levels (0..=0.45): crossings count only once the signal leaves
    /// the band, so noise on a slow edge does not make several edges.
    pub hysteresis_fraction: f64,
    /// Block parallelism: UI per block of a capture whose loop runs block-parallel on the rayon
    /// pool (each block with a warm-up of 16 loop time constants, blocks at least four warm-ups
    /// long; see [`LINEAR_TOLERANCE_UI`] for how far the result may differ from the sequential
    /// loop). Captures shorter than two blocks, and `0`, run the loop sequentially (the naive
    /// reference). The result does not depend on the number of threads.
    pub block_symbols: usize,
}

impl Default for CdrConfig {
    /// The 802.3 reference CDR (first order, 4 MHz), one sample per UI, hysteresis 0.1,
    /// blocks of [`DEFAULT_CDR_BLOCK`] UI.
    fn default() -> Self {
        CdrConfig {
            kind: CdrKind::reference_pll(4e6),
            samples_per_ui_out: 1,
            hysteresis_fraction: 0.1,
            block_symbols: DEFAULT_CDR_BLOCK,
        }
    }
}

impl CdrConfig {
    /// Checks every field for a capture at `baud`.
    pub fn validate(&self, baud: f64) -> Result<()> {
        self.kind.validate(baud)?;
        if !(1..=64).contains(&self.samples_per_ui_out) {
            return Err(Error::invalid("samples_per_ui_out", self.samples_per_ui_out, "must be 1..=64"));
        }
        if !(self.hysteresis_fraction.is_finite() && (0.0..=0.45).contains(&self.hysteresis_fraction)) {
            return Err(Error::invalid("hysteresis_fraction", self.hysteresis_fraction, "must be within 0..=0.45"));
        }
        Ok(())
    }
}

/// Result of [`recover_clock`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveredClock {
    /// Mean recovered symbol rate, Bd (least-squares slope of the settled symbol positions).
    pub baud: f64,
    /// `(baud / given baud − 1) · 10⁶`.
    pub ppm_offset: f64,
    /// Centre of each symbol, as a fractional input-sample index, ascending, all within the
    /// capture.
    pub symbol_positions: Vec<f64>,
    /// Index of the first symbol after the loop's start-up transient; statistics use the
    /// symbols and edges from there on.
    pub settled_from: usize,
    /// Position (fractional input-sample index) of each data edge the detector used.
    pub edge_positions: Vec<f64>,
    /// TIE of each data edge against the recovered clock, seconds, with the mean over the settled
    /// edges removed (the clock edge being half a UI before each symbol centre).
    pub tie_s: Vec<f32>,
    /// RMS of `tie_s` over the settled edges, seconds.
    pub tie_rms_s: f64,
}

impl RecoveredClock {
    /// `sps_out` samples per UI at the recovered symbol positions (Keys cubic, see
    /// [`resample_at`](super::resample_at)).
    pub fn resample(&self, x: &[f32], sps_out: usize) -> Vec<f32> {
        super::resample_at(x, &self.symbol_positions, sps_out)
    }

    /// Index of the first settled data edge in `edge_positions` / `tie_s`.
    pub fn settled_edge_index(&self) -> usize {
        let start = self.symbol_positions.get(self.settled_from).copied().unwrap_or(f64::INFINITY);
        self.edge_positions.partition_point(|&e| e < start)
    }
}

/// Recovers the symbol clock of `x` (sampled at `fs`) whose nominal symbol rate is `baud`.
///
/// The loop's NCO starts at `baud` and at the phase of the first data edges; the recovered rate
/// and its offset from `baud` come out in the result. For a rate known only roughly, estimate it
/// first with [`estimate_baud`](super::estimate_baud).
///
/// Runs on the rayon pool: the phase detector, the statistics and, on captures of at least two
/// [`CdrConfig::block_symbols`] blocks, the loop itself (overlapping blocks with a warm-up of
/// [`WARMUP_TIME_CONSTANTS`](super::WARMUP_TIME_CONSTANTS) loop time constants, equal to the
/// sequential loop within [`LINEAR_TOLERANCE_UI`] / [`BANG_BANG_TOLERANCE_STEPS`]; `block_symbols:
/// 0` runs the loop sequentially, the naive reference). The result does not depend on the number
/// of threads.
///
/// Errors: [`Error::InvalidParameter`] for a non-finite or non-positive `fs`/`baud`, fewer than
/// 2 samples per UI, or a bad `config`; [`Error::InputTooShort`] below [`MIN_CDR_SYMBOLS`] UI;
/// [`Error::NonFinite`] for NaN/Inf samples; [`Error::Unusable`] (stage "timing") for a constant
/// capture, fewer than [`MIN_CDR_EDGES`] usable edges, a timing-error detector without slope, or
/// edges that do not gather around any clock at this rate (noise, or a rate far from `baud`).
///
/// ```
/// use lightlane_core::sim::{Channel, LinkModel};
/// use lightlane_core::timing::{recover_clock, CdrConfig};
/// use lightlane_core::Modulation;
/// let (baud, fs) = (10.3125e9, 40e9);
/// let mut m = LinkModel::new(Modulation::Nrz, baud * (1.0 + 50e-6), fs).unwrap();
/// m.channel = Channel::BesselThomson { f3db_hz: 7e9, order: 4 };
/// let mut s = 1u64; // random bits from an LCG's top bit
/// let bits: Vec<u8> = (0..50_000).map(|_| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1); (s >> 63) as u8 }).collect();
/// let cap = m.run(&bits).unwrap();
/// let clock = recover_clock(&cap.waveform.samples, fs, baud, Modulation::Nrz, &CdrConfig::default()).unwrap();
/// assert!((clock.ppm_offset - 50.0).abs() < 2.0);
/// let symbols = clock.resample(&cap.waveform.samples, 1); // one sample per UI, at the centres
/// assert!(symbols.len() > 49_000);
/// ```
pub fn recover_clock(x: &[f32], fs: f64, baud: f64, modulation: Modulation, config: &CdrConfig) -> Result<RecoveredClock> {
    if !(fs.is_finite() && fs > 0.0) {
        return Err(Error::invalid("fs", fs, "must be a positive finite sample rate"));
    }
    if !(baud.is_finite() && baud > 0.0) {
        return Err(Error::invalid("baud", baud, "must be a positive finite symbol rate"));
    }
    let spu = fs / baud;
    if spu < 2.0 - 1e-9 {
        return Err(Error::invalid(
            "baud",
            baud,
            format!("above fs/2 = {} Bd: the capture has fewer than 2 samples per UI", 0.5 * fs),
        ));
    }
    config.validate(baud)?;
    let n_sym = (x.len() as f64 / spu).floor() as usize;
    if n_sym < MIN_CDR_SYMBOLS {
        return Err(Error::InputTooShort {
            what: "capture for clock recovery (UI)",
            needed: MIN_CDR_SYMBOLS,
            got: n_sym,
        });
    }
    let levels = Levels::estimate_finite(x, modulation, config.hysteresis_fraction, "capture")?;
    // The phase detector (every sample) runs block-parallel and exact; the loops below run on
    // overlapping blocks of `config.block_symbols` UI (see `cdr_block`).
    let edges = data_edges_parallel(x, &levels, modulation, spu);
    if edges.len() < MIN_CDR_EDGES {
        return Err(Error::Unusable {
            stage: "timing",
            reason: format!(
                "too few transitions: {} usable data edges in {n_sym} UI; clock recovery needs at least {MIN_CDR_EDGES}",
                edges.len()
            ),
        });
    }
    // Initial phase: circular mean of the first edges modulo the nominal UI.
    let (theta0, _) = circular_mean(edges.iter().take(64).copied(), spu);
    let theta0 = theta0.rem_euclid(spu);

    let settle = config.kind.settle_symbols(baud).min(n_sym / 2);
    let (centres, tie, settled_edge) = match config.kind {
        CdrKind::ReferencePll { corner_hz, order, damping } => {
            let pll = reference_pll(x.len(), &edges, spu, baud, theta0, corner_hz, order, damping, config.block_symbols, settle);
            (pll.centres, pll.tie, pll.settled_edge)
        }
        kind => {
            // The detector's gain is measured around symbol centres from a reference PLL (robust
            // to a frequency offset and wander), then the loop runs on its own from the nominal
            // rate and the initial edge phase.
            let mut reference = reference_pll(x.len(), &edges, spu, baud, theta0, baud * 4e-4, 1, 0.707, config.block_symbols, 0);
            let (pll_shift, _) = par_circular_mean(&reference.tie, spu);
            drop(std::mem::take(&mut reference.tie));
            // The loop reads a few reference centres (block starts, the calibration span): the
            // mean-TIE shift goes on those as they are read, not on the whole array.
            let shifted = Shifted { v: &reference.centres, by: pll_shift };
            let centres = ted_loop(x, &levels, spu, theta0, kind, shifted, config.block_symbols)?;
            drop(reference);
            let tie = tie_against_centres(&edges, &centres);
            let settled_edge = first_edge_of_ui(&edges, &centres, settle);
            (centres, tie, settled_edge)
        }
    };

    // Statistics over the settled edges.
    let settled_edges = if edges.len() - settled_edge >= MIN_CDR_EDGES { settled_edge } else { 0 };
    let (mean_tie, concentration) = par_circular_mean(&tie[settled_edges..], spu);
    let needed = min_edge_concentration(tie.len() - settled_edges);
    if concentration < needed {
        return Err(Error::Unusable {
            stage: "timing",
            reason: format!(
                "no recoverable clock at {baud:.6e} Bd: the data edges spread over the whole UI around the recovered clock (concentration {concentration:.3}, need {needed:.3}); the capture may be noise or its rate far from the given one"
            ),
        });
    }
    let (tie_s, sum_sq) = centred_tie(&tie, mean_tie, spu, fs, settled_edges);
    drop(tie);
    let rms = (sum_sq / (tie_s.len() - settled_edges) as f64).sqrt();

    // Symbol centres: the reference PLL's are half a UI after its clock edges, shifted by the
    // mean TIE (the UI centre sits half a UI from the mean crossing, as in TDECQ).
    let shift = if matches!(config.kind, CdrKind::ReferencePll { .. }) { mean_tie } else { 0.0 };
    let kept = kept_centres(centres, shift, (x.len() - 1) as f64, false);
    finish(kept, settle, fs, baud, edges, tie_s, rms)
}

/// The symbol centres that become the symbol positions, before the pass of [`finish`] that
/// drops `skip` leading values and adds `shift` to the rest.
#[derive(Debug)]
struct KeptCentres {
    centres: Vec<f64>,
    skip: usize,
    /// Index among all the loop's centres of the first kept one.
    first_kept: Option<usize>,
    shift: f64,
}

/// The centres from the first one at or after sample 0 (after `shift`) up to the first one past
/// `last`. The loops' centres ascend, which is checked: then only the ends are cut (no pass
/// over the values). Otherwise, or with `general`, every value is filtered.
fn kept_centres(centres: Vec<f64>, shift: f64, last: f64, general: bool) -> KeptCentres {
    let from = centres.iter().position(|&c| c + shift >= 0.0).unwrap_or(centres.len());
    if !general && ascending(&centres[from..]) {
        let to = from + centres[from..].partition_point(|&c| c + shift <= last);
        let mut centres = centres;
        centres.truncate(to);
        KeptCentres { centres, skip: from, first_kept: (to > from).then_some(from), shift }
    } else {
        let to = from + crate::par::position_first(&centres[from..], |&c| c + shift > last).unwrap_or(centres.len() - from);
        let kept: Vec<f64> = centres[from..to].iter().map(|&c| c + shift).filter(|&p| p >= 0.0).collect();
        // Already shifted and in place: the pass in `finish` moves and adds nothing.
        KeptCentres { centres: kept, skip: 0, first_kept: (to > from).then_some(from), shift: 0.0 }
    }
}

/// The end of [`recover_clock`]: the kept centres become the symbol positions, whose settled
/// part gives the recovered rate.
fn finish(kept: KeptCentres, settle: usize, fs: f64, baud: f64, edges: Vec<f64>, tie_s: Vec<f32>, rms: f64) -> Result<RecoveredClock> {
    let KeptCentres { centres: mut positions, skip, first_kept, shift } = kept;
    let kept = positions.len().saturating_sub(skip);
    if kept < MIN_CDR_SYMBOLS / 2 {
        return Err(Error::InputTooShort {
            what: "recovered symbols inside the capture",
            needed: MIN_CDR_SYMBOLS / 2,
            got: kept,
        });
    }
    let settled_from = settle.saturating_sub(first_kept.unwrap_or(0)).min(kept - MIN_CDR_SYMBOLS / 2);
    let spu_rec = shift_and_slope(&mut positions, skip, shift, settled_from);
    let baud_rec = fs / spu_rec;
    Ok(RecoveredClock {
        baud: baud_rec,
        ppm_offset: (baud_rec / baud - 1.0) * 1e6,
        symbol_positions: positions,
        settled_from,
        edge_positions: edges,
        tie_s,
        tie_rms_s: rms / fs,
    })
}

/// Whether `v` never descends, checked in parallel chunks (each with its successor's first
/// element).
fn ascending(v: &[f64]) -> bool {
    const CHUNK: usize = 1 << 16;
    v.par_chunks(CHUNK).enumerate().all(|(c, chunk)| {
        let next = v.get((c + 1) * CHUNK).copied().unwrap_or(f64::INFINITY);
        chunk.windows(2).all(|w| w[0] <= w[1]) && chunk[chunk.len() - 1] <= next
    })
}

/// Drops the first `skip` elements of `p`, adds `shift` to the rest and returns the
/// least-squares slope of the result's `p[k]` over `k ≥ from` — one parallel pass (no serial
/// move of the whole vector for the dropped head), the sums taken in fixed chunks
/// ([`SUM_CHUNK`]) of the result added in order, so the result does not depend on the number of
/// threads. Σ(k − k̄)² has its closed form; the cross sum is taken against the first value,
/// which leaves it unchanged (Σ(k − k̄) = 0) and keeps its terms small. NaN when fewer than two
/// elements from `from` on.
pub(super) fn shift_and_slope(p: &mut Vec<f64>, skip: usize, shift: f64, from: usize) -> f64 {
    let len = p.len().saturating_sub(skip);
    if skip >= SUM_CHUNK {
        // Not the recovered clock's case (the head is the centres before sample 0): a plain move.
        p.drain(..skip);
        return shift_and_slope(p, 0, shift, from);
    }
    // Chunk c of the result is written over p[c·C..end_c] from p[c·C + skip..end_c + skip]: the
    // part of its source inside its own chunk moves down as a memmove would; the last `skip`
    // values lie past its end, in the next chunk, which another thread may already be
    // overwriting, so they are read out first.
    let heads: Vec<f64> = if skip == 0 {
        Vec::new()
    } else {
        (0..len.div_ceil(SUM_CHUNK)).flat_map(|c| {
            let end = ((c + 1) * SUM_CHUNK).min(len);
            p[end..end + skip].iter().copied()
        }).collect()
    };
    let n = len.saturating_sub(from);
    let kc = 0.5 * n.saturating_sub(1) as f64;
    let p0 = p.get(from + skip).copied().unwrap_or(0.0);
    let parts: Vec<f64> = p[..len]
        .par_chunks_mut(SUM_CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let m = chunk.len();
            let head = &heads[c * skip..(c + 1) * skip];
            let mut sxy = 0.0;
            let mut put = |chunk: &mut [f64], i: usize, v: f64| {
                chunk[i] = v + shift;
                let k = c * SUM_CHUNK + i;
                if k >= from {
                    sxy += ((k - from) as f64 - kc) * (v - p0);
                }
            };
            let own = m.saturating_sub(skip);
            for i in 0..own {
                let v = chunk[i + skip];
                put(chunk, i, v);
            }
            for i in own..m {
                put(chunk, i, head[i + skip - m]);
            }
            sxy
        })
        .collect();
    p.truncate(len);
    if n < 2 {
        return f64::NAN;
    }
    let sxy: f64 = parts.iter().sum();
    let nf = n as f64;
    sxy / (nf * (nf * nf - 1.0) / 12.0)
}

/// The TIE of every edge with `mean` removed, wrapped into ±½ UI, in seconds (f32), and the sum
/// of squares (samples²) of the wrapped TIE from edge `settled` on: one parallel pass, summed in
/// fixed chunks in order.
fn centred_tie(tie: &[f64], mean: f64, spu: f64, fs: f64, settled: usize) -> (Vec<f32>, f64) {
    let mut out = vec![0f32; tie.len()];
    let parts: Vec<f64> = out
        .par_chunks_mut(SUM_CHUNK)
        .zip(tie.par_chunks(SUM_CHUNK))
        .enumerate()
        .map(|(c, (out, tie))| {
            let mut sum_sq = 0.0;
            for (i, (o, &t)) in out.iter_mut().zip(tie).enumerate() {
                let w = wrap(t - mean, spu);
                if c * SUM_CHUNK + i >= settled {
                    sum_sq += w * w;
                }
                *o = (w / fs) as f32;
            }
            sum_sq
        })
        .collect();
    (out, parts.iter().sum())
}

/// Least-squares slope of `p[k]` over `k` (the naive reference of `shift_and_slope`).
#[cfg(test)]
pub(super) fn slope(p: &[f64]) -> f64 {
    let n = p.len() as f64;
    let kc = 0.5 * (n - 1.0);
    let mean = p.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (k, &v) in p.iter().enumerate() {
        let d = k as f64 - kc;
        sxy += d * (v - mean);
        sxx += d * d;
    }
    sxy / sxx
}

/// The reference PLL: the symbol centres before the mean-TIE shift (midway between consecutive
/// clock edges), the raw TIE of every edge (samples, against the clock edge of its UI before
/// that edge's correction) and the first edge of a UI at or after `settle`. Runs on blocks of
/// `block` UI (see `cdr_block`) where the capture is long enough, else sequentially.
#[allow(clippy::too_many_arguments)]
fn reference_pll(
    len: usize,
    edges: &[f64],
    spu: f64,
    baud: f64,
    theta0: f64,
    corner_hz: f64,
    order: u8,
    damping: f64,
    block: usize,
    settle: usize,
) -> PllClock {
    let t_ui = 1.0 / baud;
    // Per-UI gains: order 1 is the exact step-invariant discretisation of ω_c/(s + ω_c) with the
    // held input; order 2 the forward-Euler PI loop (ω_n·T ≤ 0.16 by the corner limit).
    let wn = CdrKind::natural_frequency(corner_hz, damping);
    let pll = PllLoop {
        spu,
        alpha: 1.0 - (-2.0 * PI * corner_hz * t_ui).exp(),
        a1: 2.0 * damping * wn * t_ui,
        a2: (wn * t_ui).powi(2),
        order,
    };
    let c_start = theta0 - spu;
    let end = (len - 1) as f64 + spu;
    let n_ui = (len as f64 / spu) as usize;
    let blocked = Blocks::new(n_ui, block, pll.time_constant()).and_then(|b| {
        let clock = pll.run_blocks(edges, c_start, end, b, settle);
        note_block_run(clock.is_some());
        clock
    });
    blocked.unwrap_or_else(|| pll.run(edges, 0, c_start, end).into_clock(settle))
}

/// Clock edge `k`: midway between symbol centres `k` and `k + 1`.
#[inline]
fn clock_edge(centres: &[f64], k: usize) -> f64 {
    0.5 * (centres[k] + centres[k + 1])
}

/// Raw TIE (samples) of every edge against the nearest clock edge, the clock edges lying midway
/// between consecutive symbol centres (edge `j` goes to clock edge `k`, the UI `k + 1`). In
/// parallel chunks of edges, each starting its search at the last clock edge before its first
/// edge: the same result as the sequential sweep ([`tie_against_centres_seq`], tested).
pub(super) fn tie_against_centres(edges: &[f64], centres: &[f64]) -> Vec<f64> {
    const CHUNK: usize = 1 << 14;
    let n_clock = centres.len().saturating_sub(1);
    if n_clock == 0 {
        return Vec::new();
    }
    let mut tie = vec![0f64; edges.len()];
    tie.par_chunks_mut(CHUNK).enumerate().for_each(|(c, tie)| {
        let part = &edges[c * CHUNK..c * CHUNK + tie.len()];
        let mut k = if c == 0 { 0 } else { first_clock_at_or_after(centres, part[0]).saturating_sub(1) };
        for (&e, t) in part.iter().zip(tie.iter_mut()) {
            while k + 1 < n_clock && (clock_edge(centres, k + 1) - e).abs() <= (clock_edge(centres, k) - e).abs() {
                k += 1;
            }
            *t = e - clock_edge(centres, k);
        }
    });
    tie
}

/// Index of the first clock edge (see [`clock_edge`]) at or after `t`, by bisection.
fn first_clock_at_or_after(centres: &[f64], t: f64) -> usize {
    let (mut lo, mut hi) = (0, centres.len().saturating_sub(1));
    while lo < hi {
        let mid = (lo + hi) / 2;
        if clock_edge(centres, mid) < t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Index of the first edge that [`tie_against_centres`] gives to a UI at or after `ui` (clock
/// edge `ui − 1` or later), by bisection over the edges: the sweep's rule (on to the next clock
/// edge when it is at least as near) is monotone in the edge position for ascending centres.
pub(super) fn first_edge_of_ui(edges: &[f64], centres: &[f64], ui: usize) -> usize {
    let n_clock = centres.len().saturating_sub(1);
    if ui <= 1 || n_clock == 0 {
        return 0;
    }
    if ui > n_clock {
        return edges.len();
    }
    let (a, b) = (clock_edge(centres, ui - 2), clock_edge(centres, ui - 1));
    edges.partition_point(|&e| (b - e).abs() > (a - e).abs())
}

/// The sequential sweep of [`tie_against_centres`] (its naive reference), with the UI of every
/// edge.
#[cfg(test)]
pub(super) fn tie_against_centres_seq(edges: &[f64], centres: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let clock: Vec<f64> = centres.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    let mut tie = Vec::with_capacity(edges.len());
    let mut ui = Vec::with_capacity(edges.len());
    if clock.is_empty() {
        return (tie, ui);
    }
    let mut k = 0usize;
    for &e in edges {
        while k + 1 < clock.len() && (clock[k + 1] - e).abs() <= (clock[k] - e).abs() {
            k += 1;
        }
        tie.push(e - clock[k]);
        ui.push(k + 1);
    }
    (tie, ui)
}

/// Ascending values `v` read as `v[k] + by` (each value shifted as it is read, the same float
/// as shifting the array first).
#[derive(Clone, Copy)]
struct Shifted<'a> {
    v: &'a [f64],
    by: f64,
}

impl Shifted<'_> {
    fn len(&self) -> usize {
        self.v.len()
    }

    fn get(&self, k: usize) -> f64 {
        self.v[k] + self.by
    }

    /// First index whose shifted value fails `pred` (the values ascend).
    fn partition_point(&self, pred: impl Fn(f64) -> bool) -> usize {
        self.v.partition_point(|&c| pred(c + self.by))
    }
}

/// Symbol-synchronous loops (Mueller-Müller, Gardner, bang-bang): symbol centres. Runs on
/// blocks of `block` UI (see `cdr_block`; each block starts from the `reference` centres and
/// their local rate) where the capture is long enough, else sequentially.
#[allow(clippy::too_many_arguments)]
fn ted_loop(x: &[f32], levels: &Levels, spu: f64, theta0: f64, kind: CdrKind, reference: Shifted<'_>, block: usize) -> Result<Vec<f64>> {
    let detector = Detector::new(levels, kind);
    // First symbol centre half a UI after the initial edge phase, inside the capture.
    let mut pos0 = (theta0 + 0.5 * spu).rem_euclid(spu);
    if pos0 < 1.0 {
        pos0 += spu;
    }
    let (kp, ki, kd) = match kind {
        CdrKind::MuellerMuller { bandwidth_fraction } | CdrKind::Gardner { bandwidth_fraction } => {
            let kd = detector.calibrate(x, reference, spu);
            if kd.is_nan() || kd.abs() <= 1e-3 {
                return Err(Error::Unusable {
                    stage: "timing",
                    reason: format!(
                        "the {} timing-error detector shows no slope on this capture (gain {kd:.2e} per UI)",
                        kind.name()
                    ),
                });
            }
            // Loop gains for noise bandwidth B_L·T and ζ = 1/√2 with unit detector gain
            // (Rice, Digital Communications, eq. C.60–C.61).
            let zeta = std::f64::consts::FRAC_1_SQRT_2;
            let th = bandwidth_fraction / (zeta + 0.25 / zeta);
            let d = 1.0 + 2.0 * zeta * th + th * th;
            (4.0 * zeta * th / d, 4.0 * th * th / d, kd)
        }
        _ => (0.0, 0.0, 1.0),
    };
    let gain = if let CdrKind::BangBang { gain } = kind { gain } else { 0.0 };
    let ted = TedLoop {
        detector,
        spu,
        kp,
        ki,
        kd,
        gain,
        last: (x.len() - 2) as f64,
    };
    // Time constant: the slow mode of the ζ = 1/√2 loop decays at kp/2 per UI; a bang-bang loop
    // pulls in at `gain` UI per decision.
    let (tau, tol) = match kind {
        CdrKind::BangBang { gain } => (1.0 / gain, BANG_BANG_TOLERANCE_STEPS * gain * spu),
        _ => (2.0 / kp, LINEAR_TOLERANCE_UI * spu),
    };
    let n_ui = (x.len() as f64 / spu) as usize;
    if let Some(blocks) = Blocks::new(n_ui, block, tau).filter(|_| reference.len() >= 2) {
        let past = RUN_PAST_UI as f64 * spu;
        let parts: Vec<Vec<f64>> = (0..blocks.count)
            .into_par_iter()
            .map(|b| {
                let stop = if b + 1 == blocks.count { f64::INFINITY } else { blocks.start(b + 1, spu) + past };
                if b == 0 {
                    return ted.run(x, pos0, 0.0, stop);
                }
                // Start at the reference centre at the warm-up's start, at the reference's
                // rate over the next 1024 UI.
                let w = blocks.start(b, spu) - blocks.warmup as f64 * spu;
                let r = reference.partition_point(|c| c < w).min(reference.len() - 2);
                let l = 1024.min(reference.len() - 1 - r);
                let nu = (reference.get(r + l) - reference.get(r)) / l as f64 - spu;
                ted.run(x, reference.get(r).max(1.0), nu, stop)
            })
            .collect();
        let stitched = stitch_centres(parts, blocks, spu, tol);
        note_block_run(stitched.is_some());
        if let Some(centres) = stitched {
            return Ok(centres);
        }
    }
    Ok(ted.run(x, pos0, 0.0, f64::INFINITY))
}

/// A Mueller-Müller, Gardner or bang-bang loop with its gains.
struct TedLoop<'a> {
    detector: Detector<'a>,
    spu: f64,
    /// Proportional and integral gains per UI of lateness, and the detector gain per UI.
    kp: f64,
    ki: f64,
    kd: f64,
    /// Bang-bang phase step, UI.
    gain: f64,
    /// Last position the detector may sample.
    last: f64,
}

impl TedLoop<'_> {
    /// Symbol centres from `pos` (frequency offset `nu` samples per UI) while they stay at or
    /// before `stop` and inside the capture.
    fn run(&self, x: &[f32], mut pos: f64, mut nu: f64, stop: f64) -> Vec<f64> {
        match self.detector.kind {
            CdrKind::MuellerMuller { .. } => self.run_kind::<0>(x, &mut pos, &mut nu, stop),
            CdrKind::Gardner { .. } => self.run_kind::<1>(x, &mut pos, &mut nu, stop),
            _ => self.run_kind::<2>(x, &mut pos, &mut nu, stop),
        }
    }

    /// [`TedLoop::run`] for one detector (0 Mueller-Müller, 1 Gardner, 2 bang-bang), so the
    /// per-UI loop does not dispatch.
    fn run_kind<const K: u8>(&self, x: &[f32], pos: &mut f64, nu: &mut f64, stop: f64) -> Vec<f64> {
        let spu = self.spu;
        let limit = self.last.min(stop);
        let mut centres = Vec::with_capacity(((limit - *pos) / spu).clamp(0.0, 1e9) as usize + 2);
        let d = &self.detector;
        let (kp, ki, inv_kd, step) = (self.kp * spu, self.ki * spu, 1.0 / self.kd, self.gain * spu);
        if *pos > limit {
            return centres;
        }
        centres.push(*pos);
        let mut prev = d.sample(x, *pos);
        *pos += spu + *nu;
        while *pos <= limit {
            centres.push(*pos);
            let cur = d.sample(x, *pos);
            let raw = match K {
                0 => d.mueller_muller(&prev, &cur),
                1 => d.gardner(x, &prev, &cur),
                _ => d.bang_bang(x, &prev, &cur),
            };
            if K == 2 {
                *pos -= step * raw;
            } else {
                let late_ui = (raw * inv_kd).clamp(-0.5, 0.5);
                *pos -= kp * late_ui;
                *nu -= ki * late_ui;
            }
            prev = cur;
            *pos += spu + *nu;
        }
        centres
    }
}

/// A symbol-centre sample and its decision.
#[derive(Clone, Copy)]
struct Sample {
    pos: f64,
    /// Sample minus the mid level.
    y: f32,
    symbol: usize,
}

/// Timing-error detectors on interpolated samples.
struct Detector<'a> {
    levels: &'a Levels,
    kind: CdrKind,
    mid: f32,
    /// Decided levels relative to `mid`.
    centred: Vec<f32>,
    /// Mean of `centred²` (equiprobable symbols), normalising the detector outputs.
    power: f32,
}

impl<'a> Detector<'a> {
    fn new(levels: &'a Levels, kind: CdrKind) -> Self {
        let mid = 0.5 * (levels.means[0] + levels.means[levels.means.len() - 1]);
        let centred: Vec<f32> = levels.means.iter().map(|m| m - mid).collect();
        let power = centred.iter().map(|v| v * v).sum::<f32>() / centred.len() as f32;
        Detector {
            levels,
            kind,
            mid,
            centred,
            power,
        }
    }

    #[inline]
    fn sample(&self, x: &[f32], pos: f64) -> Sample {
        let v = cubic_at(x, pos);
        Sample {
            pos,
            y: v - self.mid,
            symbol: self.levels.decide(v),
        }
    }

    /// Detector output for the step from `prev` to `cur`; positive means late for bang-bang.
    #[inline]
    fn raw(&self, x: &[f32], prev: &Sample, cur: &Sample) -> f64 {
        match self.kind {
            CdrKind::MuellerMuller { .. } => self.mueller_muller(prev, cur),
            CdrKind::Gardner { .. } => self.gardner(x, prev, cur),
            CdrKind::BangBang { .. } => self.bang_bang(x, prev, cur),
            CdrKind::ReferencePll { .. } => 0.0,
        }
    }

    /// `(y_k·â_{k−1} − y_{k−1}·â_k) / P`.
    #[inline(always)]
    fn mueller_muller(&self, prev: &Sample, cur: &Sample) -> f64 {
        let (a_prev, a_cur) = (self.centred[prev.symbol], self.centred[cur.symbol]);
        ((cur.y * a_prev - prev.y * a_cur) / self.power) as f64
    }

    /// `(y_k − y_{k−1})·y_{k−½} / P`.
    #[inline(always)]
    fn gardner(&self, x: &[f32], prev: &Sample, cur: &Sample) -> f64 {
        let mid = cubic_at(x, 0.5 * (prev.pos + cur.pos)) - self.mid;
        ((cur.y - prev.y) * mid / self.power) as f64
    }

    /// ±1 when the sample between two different decisions that cross one threshold mid-UI says
    /// late / early, else 0.
    #[inline(always)]
    fn bang_bang(&self, x: &[f32], prev: &Sample, cur: &Sample) -> f64 {
        let (a, b) = (prev.symbol, cur.symbol);
        if a == b {
            return 0.0;
        }
        // Only transitions symmetric about one threshold cross it mid-UI.
        if !(a + b).is_multiple_of(2) {
            let j = (a + b) / 2;
            let edge = cubic_at(x, 0.5 * (prev.pos + cur.pos));
            let above = edge > self.levels.thresholds[j];
            let rising = b > a;
            if above == rising {
                1.0
            } else {
                -1.0
            }
        } else {
            0.0
        }
    }

    /// Mean detector output per UI of lateness, measured at offsets either side of the
    /// `reference` symbol centres (after the first tenth, where a loop may still be settling).
    fn calibrate(&self, x: &[f32], reference: Shifted<'_>, spu: f64) -> f64 {
        let last = (x.len() - 2) as f64;
        // The reference centres ascend: those inside the capture are one range of them.
        let lo = reference.partition_point(|p| p < 1.0);
        let hi = reference.partition_point(|p| p <= last).max(lo);
        let start = (hi - lo) / 10;
        let used = (lo + start)..(lo + start + TED_CALIBRATION_SYMBOLS).min(hi);
        let mean_at = |offset_ui: f64| {
            let mut acc = 0f64;
            let mut prev = self.sample(x, reference.get(used.start) + offset_ui * spu);
            for k in used.start + 1..used.end {
                let cur = self.sample(x, reference.get(k) + offset_ui * spu);
                acc += self.raw(x, &prev, &cur);
                prev = cur;
            }
            acc / (used.len() - 1).max(1) as f64
        };
        if used.len() < 2 {
            return 0.0;
        }
        let d = TED_CALIBRATION_OFFSET_UI;
        (mean_at(d) - mean_at(-d)) / (2.0 * d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The symbol positions [`finish`] makes of `kept`, by its own pass.
    fn positions(kept: KeptCentres) -> (Vec<f64>, Option<usize>) {
        let first = kept.first_kept;
        let KeptCentres { mut centres, skip, shift, .. } = kept;
        shift_and_slope(&mut centres, skip, shift, 0);
        (centres, first)
    }

    #[test]
    fn kept_centres_cut_the_ends_or_filter_every_value() {
        // Ascending centres from before sample 0 to past the last sample, at 3.3 samples per UI;
        // heads of 0 to 40 000 centres before sample 0 (across a sum chunk).
        let last = 200_000.0;
        for head in [0usize, 1, 7, 20_000, 40_000] {
            let centres: Vec<f64> = (0..70_000).map(|k| (k as f64 - head as f64) * 3.3 + 0.4).collect();
            for shift in [0.0, -0.5, 0.25] {
                let want: Vec<f64> = centres.iter().map(|&c| c + shift).filter(|&p| (0.0..=last).contains(&p)).collect();
                let want_first = centres.iter().position(|&c| c + shift >= 0.0);
                let fast = kept_centres(centres.clone(), shift, last, false);
                assert_eq!(fast.skip, want_first.unwrap(), "head {head}: only the ends are cut");
                let general = kept_centres(centres.clone(), shift, last, true);
                assert_eq!(general.skip, 0);
                for (name, got) in [("fast", positions(fast)), ("general", positions(general))] {
                    assert_eq!(got.0, want, "{name} head {head} shift {shift}");
                    assert_eq!(got.1, want_first, "{name} head {head} shift {shift}");
                }
            }
        }
        // Not ascending (a loop that stepped back): the general filter is taken and keeps every
        // in-range value up to the first one past the end, in order.
        let centres = vec![-2.0, 1.0, 4.0, 3.5, -0.5, 7.0, 12.0, 9.0];
        let kept = kept_centres(centres, 0.5, 10.0, false);
        assert_eq!(kept.skip, 0);
        assert_eq!(positions(kept), (vec![1.5, 4.5, 4.0, 0.0, 7.5], Some(1)));
        // Nothing inside the capture.
        let kept = kept_centres(vec![-3.0, -2.0], 0.0, 10.0, false);
        assert_eq!((kept.centres.len() - kept.skip, kept.first_kept), (0, None));
    }
}
