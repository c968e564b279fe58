//! Decision-feedback equalizer (DFE) with 1..=32 taps, and error-propagation statistics.
//!
//! The DFE removes the post-cursor ISI of symbols already decided:
//!
//! `z[k] = y[k] − Σ_{i=1..N} b[i] · α(d[k−i])`,  `d[k] = slice(z[k])`,
//!
//! where `α(s)` is the nominal level of symbol `s` ([`Modulation::level`]: ±1 for NRZ,
//! ±1, ±1/3 for PAM4), `b` the feedback taps in output units, and the slicer thresholds lie
//! halfway between the expected main-cursor levels `levels[s]`. This is the DFE of IEEE 802.3
//! Annex 93A-26/27 (COM: `b(n) = h(n)/h(0)`, the ISI subtracted is `b·h(0)`), here without the
//! tap limits (apply them to the taps if a standard bounds them: 802.3dj COM uses one tap in
//! [0, 0.85], 802.3cd limits tap 1 to 0.7 and taps 2–12 to 0.2).
//!
//! Decisions before the first symbol are unknown and contribute no feedback.
//!
//! The one-tap detector speculates on the previous decision (the loop-unrolled DFE of hardware
//! receivers): for each possible `d[k−1]` it slices `z` in advance, in batches the compiler
//! vectorizes over time, so the only loop-carried dependency is selecting one of `M`
//! precomputed candidates. Longer DFEs run the direct form with the last decision in a register.
//! Both perform exactly the same floating-point operations as [`reference_detect`], so they
//! agree bit for bit:
//! `p = y[k] − b[2]α(d[k−2]) − … − b[N]α(d[k−N])` (in that order), `z = p − b[1]α(d[k−1])`,
//! `d[k] = #{j : z ≥ t_j}`.

use super::linear_model::LinearIsiModel;
use crate::{Error, Modulation, Result};
use serde::{Deserialize, Serialize};

/// Most feedback taps a [`Dfe`] may have.
pub const MAX_DFE_TAPS: usize = 32;

/// Blocks a [`Dfe::detect_interleaved`] group runs at once (two AVX2 vectors of 8 lanes).
pub const DFE_LANES: usize = 16;

/// Symbols per batch of precomputed candidates in the one-tap detector.
const ONE_TAP_BATCH: usize = 256;

/// Longest burst length the histogram of [`ErrorPropagation`] resolves; longer bursts go to
/// the last bin.
pub const MAX_BURST_BIN: usize = 64;

/// A decision-feedback equalizer (see the module docs). Serializes as
/// `{taps, levels, modulation}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DfeParams", into = "DfeParams")]
pub struct Dfe {
    taps: Vec<f32>,
    levels: Vec<f32>,
    modulation: Modulation,
    /// Slicer thresholds, halfway between `levels`.
    thresholds: Vec<f32>,
    /// `feedback[(i − 1)·M + s] = b[i] · α(s)`.
    feedback: Vec<f32>,
}

#[derive(Serialize, Deserialize)]
struct DfeParams {
    taps: Vec<f32>,
    levels: Vec<f32>,
    modulation: Modulation,
}

impl TryFrom<DfeParams> for Dfe {
    type Error = Error;
    fn try_from(p: DfeParams) -> Result<Dfe> {
        Dfe::new(p.taps, p.levels, p.modulation)
    }
}

impl From<Dfe> for DfeParams {
    fn from(d: Dfe) -> DfeParams {
        DfeParams {
            taps: d.taps,
            levels: d.levels,
            modulation: d.modulation,
        }
    }
}

/// Step sizes of [`Dfe::detect_adaptive`] (LMS on the slicer error `e = z − levels[d]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DfeAdaptation {
    /// Step of the feedback taps: `b[i] += mu_taps · e · α(d[k−i])`.
    pub mu_taps: f32,
    /// Step of the slicer levels: `levels[d] += mu_levels · e`.
    pub mu_levels: f32,
}

impl Default for DfeAdaptation {
    fn default() -> Self {
        DfeAdaptation {
            mu_taps: 1e-3,
            mu_levels: 1e-3,
        }
    }
}

/// Decisions of a DFE run together with their error-propagation statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct DfeResult {
    /// One decision per input value.
    pub decisions: Vec<u8>,
    /// Error statistics against the true symbols.
    pub stats: ErrorPropagation,
}

/// Error statistics of a decision sequence against the true symbols, focused on how errors
/// cluster (DFE error propagation).
///
/// A burst is a maximal group of symbol errors in which consecutive errors are separated by at
/// most `max_gap` correct symbols ([`error_propagation`] uses `max_gap = 0`: runs of consecutive
/// errors). Its length is the span from its first to its last error, inclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorPropagation {
    /// Symbols compared.
    pub symbols: u64,
    /// Symbol errors.
    pub errors: u64,
    /// Bursts.
    pub bursts: u64,
    /// `burst_length_histogram[i]`: bursts of length `i + 1`; the last bin counts every burst
    /// of length ≥ `MAX_BURST_BIN`. Empty without errors.
    pub burst_length_histogram: Vec<u64>,
    /// Mean burst length (NaN without bursts).
    pub mean_burst_length: f64,
    /// Longest burst.
    pub max_burst_length: u64,
    /// Mean symbol errors per burst (NaN without bursts).
    pub mean_errors_per_burst: f64,
    /// `P(error at k | error at k−1)` (NaN when no error is followed by a symbol).
    pub p_error_given_previous_error: f64,
    /// `P(error at k | no error at k−1)` (NaN when no correct symbol is followed by one).
    pub p_error_given_previous_correct: f64,
    /// The gap used to group errors into bursts.
    pub max_gap: u64,
}

/// [`error_propagation_with_gap`] with `max_gap = 0` (bursts are runs of consecutive errors).
pub fn error_propagation(decisions: &[u8], truth: &[u8]) -> ErrorPropagation {
    error_propagation_with_gap(decisions, truth, 0)
}

/// Error statistics of `decisions` against `truth` over their common length (see
/// [`ErrorPropagation`]); errors at most `max_gap` correct symbols apart belong to one burst
/// (for an N-tap DFE, `max_gap = N − 1` groups everything one wrong feedback can cause).
///
/// The error positions are found on the thread pool in blocks of [`ERROR_SCAN_BLOCK`] symbols
/// (concatenated in order); the bursts and transition counts follow from the positions alone,
/// so the statistics are those of the symbol-by-symbol walk (`error_propagation_serial` in the
/// tests) for any thread count, with the serial work proportional to the errors.
pub fn error_propagation_with_gap(decisions: &[u8], truth: &[u8], max_gap: usize) -> ErrorPropagation {
    error_propagation_in_blocks(decisions, truth, max_gap, ERROR_SCAN_BLOCK)
}

/// Symbols per task of the error scan of [`error_propagation_with_gap`].
pub const ERROR_SCAN_BLOCK: usize = 1 << 16;

fn error_propagation_in_blocks(decisions: &[u8], truth: &[u8], max_gap: usize, block: usize) -> ErrorPropagation {
    use rayon::prelude::*;
    let n = decisions.len().min(truth.len());
    let (decisions, truth) = (&decisions[..n], &truth[..n]);
    let positions: Vec<usize> = decisions
        .par_chunks(block)
        .zip(truth.par_chunks(block))
        .enumerate()
        .flat_map_iter(|(b, (d, t))| {
            // Equal blocks (nearly all of them) cost one comparison of the two slices.
            let found: Vec<usize> = if d == t { Vec::new() } else { (0..d.len()).filter(|&j| d[j] != t[j]).map(|j| b * block + j).collect() };
            found
        })
        .collect();
    let mut bursts = Bursts::default();
    for &k in &positions {
        bursts.error_at(k, max_gap);
    }
    // Transitions k−1 → k for k in 1..n: from an error at every error but one at n − 1, from a
    // correct symbol at the rest; error→error at adjacent positions, correct→error at the other
    // errors but one at 0.
    let errors = positions.len() as u64;
    let is_error = |k: usize| positions.binary_search(&k).is_ok() as u64;
    let transitions = if n == 0 {
        [0; 4]
    } else {
        let ee = positions.windows(2).filter(|w| w[1] == w[0] + 1).count() as u64;
        let e_prev = errors - is_error(n - 1);
        [ee, e_prev, errors - is_error(0) - ee, (n as u64 - 1) - e_prev]
    };
    bursts.report(n, errors, transitions, max_gap)
}

/// The burst statistics of [`ErrorPropagation`], one burst closed at a time.
#[derive(Default)]
struct Bursts {
    hist: Vec<u64>,
    count: u64,
    max_len: u64,
    len_sum: u64,
    /// The burst in progress: its first and last error index.
    open: Option<(usize, usize)>,
}

impl Bursts {
    /// An error at symbol `k` (ascending): it extends the open burst when at most `max_gap`
    /// correct symbols lie between, else it closes that burst and opens one.
    fn error_at(&mut self, k: usize, max_gap: usize) {
        self.open = match self.open {
            Some((first, last)) if k - last - 1 <= max_gap => Some((first, k)),
            Some((first, last)) => {
                self.close(first, last);
                Some((k, k))
            }
            None => Some((k, k)),
        };
    }

    /// Closes the burst of errors `first..=last`.
    fn close(&mut self, first: usize, last: usize) {
        let len = (last - first + 1) as u64;
        let bin = (len as usize).min(MAX_BURST_BIN) - 1;
        if self.hist.len() <= bin {
            self.hist.resize(bin + 1, 0);
        }
        self.hist[bin] += 1;
        self.count += 1;
        self.len_sum += len;
        self.max_len = self.max_len.max(len);
    }

    /// The statistics of `n` symbols with `errors` errors, these bursts and the transitions
    /// `[error→error, from an error, correct→error, from a correct symbol]`.
    fn report(mut self, n: usize, errors: u64, [ee, e_prev, ce, c_prev]: [u64; 4], max_gap: usize) -> ErrorPropagation {
        if let Some((first, last)) = self.open.take() {
            self.close(first, last);
        }
        let ratio = |a: u64, b: u64| if b == 0 { f64::NAN } else { a as f64 / b as f64 };
        ErrorPropagation {
            symbols: n as u64,
            errors,
            bursts: self.count,
            burst_length_histogram: self.hist,
            mean_burst_length: ratio(self.len_sum, self.count),
            max_burst_length: self.max_len,
            mean_errors_per_burst: ratio(errors, self.count),
            p_error_given_previous_error: ratio(ee, e_prev),
            p_error_given_previous_correct: ratio(ce, c_prev),
            max_gap: max_gap as u64,
        }
    }
}

impl Dfe {
    /// A DFE with feedback taps `taps` (`taps[i − 1]` = `b[i]`, 1..=32 taps) and main-cursor
    /// levels `levels` (one per symbol, strictly ascending).
    ///
    /// Errors: wrong tap or level count, non-ascending levels ([`Error::InvalidParameter`]),
    /// non-finite values ([`Error::NonFinite`]).
    pub fn new(taps: Vec<f32>, levels: Vec<f32>, modulation: Modulation) -> Result<Dfe> {
        if taps.is_empty() || taps.len() > MAX_DFE_TAPS {
            return Err(Error::invalid("DFE taps", taps.len(), format!("need 1..={MAX_DFE_TAPS} taps")));
        }
        if levels.len() != modulation.levels() {
            return Err(Error::invalid(
                "DFE levels",
                levels.len(),
                format!("{modulation} needs {} levels", modulation.levels()),
            ));
        }
        crate::error::check_finite("DFE taps", &taps)?;
        crate::error::check_finite("DFE levels", &levels)?;
        if levels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid("DFE levels", format!("{levels:?}"), "must be strictly ascending"));
        }
        let thresholds = levels.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        let alphabet = modulation.level_set();
        let feedback = taps.iter().flat_map(|&b| alphabet.iter().map(move |&a| b * a)).collect();
        Ok(Dfe {
            taps,
            levels,
            modulation,
            thresholds,
            feedback,
        })
    }

    /// Least-squares DFE for the equalized signal `y_ffe` whose true symbols are
    /// `known_symbols` (aligned: `known_symbols[k]` is the symbol of `y_ffe[k]`; the common
    /// length is used). Fits `y[k] ≈ Σ_{i=0..N} h[i]·α(s[k−i]) + c` and returns `b = h[1..]`,
    /// `levels = h[0]·α + c`.
    ///
    /// Errors: `n_taps` outside 1..=32, fewer than `8·(n_taps + 2)` symbols, a symbol above the
    /// modulation's range ([`Error::ValueOutOfRange`]), a non-finite sample, or a fit whose main
    /// cursor is not positive ([`Error::Unusable`]).
    pub fn train(y_ffe: &[f32], known_symbols: &[u8], n_taps: usize, modulation: Modulation) -> Result<Dfe> {
        if n_taps == 0 || n_taps > MAX_DFE_TAPS {
            return Err(Error::invalid("DFE n_taps", n_taps, format!("must be 1..={MAX_DFE_TAPS}")));
        }
        let n = y_ffe.len().min(known_symbols.len());
        let needed = 8 * (n_taps + 2);
        if n < needed + n_taps {
            return Err(Error::InputTooShort {
                what: "DFE training symbols",
                needed: needed + n_taps,
                got: n,
            });
        }
        let names = super::linear_model::FitNames {
            min_symbols: needed + n_taps,
            symbols: "DFE training symbols",
            input: "DFE training input",
            stage: "DFE training",
        };
        Dfe::from_model(&LinearIsiModel::fit_named(y_ffe, known_symbols, n_taps, modulation, &names)?)
    }

    /// The DFE of a fitted linear ISI model: feedback taps `h[1..]`, slicer levels `h[0]·α + c`
    /// (what [`Dfe::train`] returns for the same training data).
    ///
    /// Errors as [`Dfe::new`]: levels that collapse in f32 (a main cursor negligible against
    /// the offset).
    pub fn from_model(model: &LinearIsiModel) -> Result<Dfe> {
        let taps = model.cursors()[1..].iter().map(|&v| v as f32).collect();
        Dfe::new(taps, model.levels(), model.modulation())
    }

    /// The DFE with the given feedback taps `b[1..=N]` (for example the post-cursors of a
    /// jointly trained MMSE-DFE target, [`train_ffe_and_target`](super::train_ffe_and_target))
    /// and slicer levels measured on training data: `levels[s]` is the mean of
    /// `z[k] = y[k] − Σ_i b[i]·α(s[k−i])` over the training symbols `k ≥ N` with `s[k] = s`
    /// (`known_symbols` aligned with `y`; the common length is used). The MMSE solution shrinks
    /// the main cursor below 1 (the MMSE bias); the measured levels place the thresholds for
    /// the actual output (the unbiased MMSE-DFE), and follow level-dependent (nonlinear)
    /// spacing too.
    ///
    /// Errors: `taps` as [`Dfe::new`]; fewer than `8·(N + 2) + N` pairs; a symbol out of range;
    /// a non-finite sample; a symbol absent from the training span, or measured levels that do
    /// not ascend ([`Error::Unusable`]: the signal does not follow the symbols).
    pub fn with_measured_levels(taps: Vec<f32>, y: &[f32], known_symbols: &[u8], modulation: Modulation) -> Result<Dfe> {
        let nt = taps.len();
        if nt == 0 || nt > MAX_DFE_TAPS {
            return Err(Error::invalid("DFE taps", nt, format!("need 1..={MAX_DFE_TAPS} taps")));
        }
        crate::error::check_finite("DFE taps", &taps)?;
        let n = y.len().min(known_symbols.len());
        let needed = 8 * (nt + 2) + nt;
        if n < needed {
            return Err(Error::InputTooShort {
                what: "DFE training symbols",
                needed,
                got: n,
            });
        }
        check_symbols("DFE training symbols", &known_symbols[..n], modulation)?;
        crate::error::check_finite("DFE training input", &y[..n])?;
        let alphabet = modulation.level_set();
        let m = modulation.levels();
        let (mut sums, mut counts) = (vec![0.0f64; m], vec![0u64; m]);
        for k in nt..n {
            let mut z = y[k] as f64;
            for (i, &b) in taps.iter().enumerate() {
                z -= b as f64 * alphabet[known_symbols[k - 1 - i] as usize] as f64;
            }
            let s = known_symbols[k] as usize;
            sums[s] += z;
            counts[s] += 1;
        }
        if let Some(s) = counts.iter().position(|&c| c == 0) {
            return Err(Error::Unusable {
                stage: "DFE training",
                reason: format!("symbol {s} does not occur in the training span: its slicer level is unknown"),
            });
        }
        let levels: Vec<f32> = sums.iter().zip(&counts).map(|(&s, &c)| (s / c as f64) as f32).collect();
        if levels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::Unusable {
                stage: "DFE training",
                reason: format!("measured levels {levels:?} do not ascend: the signal does not follow the symbols"),
            });
        }
        Dfe::new(taps, levels, modulation)
    }

    /// The feedback taps `b[1..=N]`.
    pub fn taps(&self) -> &[f32] {
        &self.taps
    }

    /// The main-cursor levels the slicer decides between.
    pub fn levels(&self) -> &[f32] {
        &self.levels
    }

    /// The modulation.
    pub fn modulation(&self) -> Modulation {
        self.modulation
    }

    /// Decisions for `y` (allocating wrapper of [`Dfe::detect_into`]).
    pub fn detect(&self, y: &[f32]) -> Vec<u8> {
        super::block::LaneDetector::detect_all(self, y)
    }

    /// Decisions for `y` into `out`; [`Error::LengthMismatch`] unless the lengths agree.
    /// NaN decides as the lowest symbol.
    pub fn detect_into(&self, y: &[f32], out: &mut [u8]) -> Result<()> {
        super::block::LaneDetector::detect_all_into(self, y, out)
    }

    /// Decisions and their [`ErrorPropagation`] against `truth` (aligned with `y`), with bursts
    /// grouped by `max_gap = N − 1`.
    pub fn detect_with_stats(&self, y: &[f32], truth: &[u8]) -> DfeResult {
        let decisions = self.detect(y);
        let stats = error_propagation_with_gap(&decisions, truth, self.taps.len() - 1);
        DfeResult { decisions, stats }
    }

    /// Decision-directed (or, with `known`, data-aided) LMS adaptation while detecting: the
    /// feedback taps and slicer levels follow the slicer error. Returns the decisions and the
    /// adapted DFE. `known[k]` (if given) replaces the decision in the update for `k < known.len()`
    /// (the feedback always uses the decisions).
    ///
    /// Errors: step sizes not finite and ≥ 0 ([`Error::InvalidParameter`]), a symbol out of range
    /// in `known`, adapted levels that stop being ascending or finite ([`Error::Unusable`]).
    pub fn detect_adaptive(&self, y: &[f32], known: Option<&[u8]>, adapt: &DfeAdaptation) -> Result<(Vec<u8>, Dfe)> {
        for (name, v) in [("DFE mu_taps", adapt.mu_taps), ("DFE mu_levels", adapt.mu_levels)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(name, v, "must be finite and ≥ 0"));
            }
        }
        let known = known.unwrap_or(&[]);
        check_symbols("DFE known symbols", known, self.modulation)?;
        let m = self.modulation.levels();
        let nt = self.taps.len();
        let alphabet = self.modulation.level_set();
        let mut taps = self.taps.clone();
        let mut levels = self.levels.clone();
        let mut out = vec![0u8; y.len()];
        for k in 0..y.len() {
            let mut z = y[k];
            for i in 1..=nt.min(k) {
                z -= taps[i - 1] * alphabet[out[k - i] as usize];
            }
            let mut d = 0usize;
            for j in 0..m - 1 {
                d += (z >= 0.5 * (levels[j] + levels[j + 1])) as usize;
            }
            out[k] = d as u8;
            let r = known.get(k).map_or(d, |&s| s as usize);
            let e = z - levels[r];
            for i in 1..=nt.min(k) {
                taps[i - 1] += adapt.mu_taps * e * alphabet[out[k - i] as usize];
            }
            levels[r] += adapt.mu_levels * e;
        }
        let dfe = Dfe::new(taps, levels, self.modulation).map_err(|e| Error::Unusable {
            stage: "adaptive DFE",
            reason: format!("adaptation diverged ({e}); lower the step sizes"),
        })?;
        Ok((out, dfe))
    }

    fn run(&self, y: &[f32], out: &mut [u8]) {
        match (self.modulation, self.taps.len()) {
            (Modulation::Pam4, 1) => self.run_one_tap::<4>(y, out),
            (Modulation::Nrz, 1) => self.run_one_tap::<2>(y, out),
            (Modulation::Pam4, _) => self.run_many_taps::<4>(y, out),
            (Modulation::Nrz, _) => self.run_many_taps::<2>(y, out),
        }
    }

    /// The first `min(N, len)` decisions, where fewer than N decisions are in the past.
    fn run_head(&self, y: &[f32], out: &mut [u8]) -> usize {
        let head = self.taps.len().min(y.len());
        reference_detect_into(self, &y[..head], &mut out[..head]);
        head
    }

    /// Slicer decisions for `p − f[s]` for every candidate previous symbol `s`, packed one byte
    /// per candidate.
    #[inline(always)]
    fn candidates<const M: usize>(p: f32, f1: &[f32; M], t: &[f32; 3]) -> u32 {
        let mut packed = 0u32;
        for (s, &f) in f1.iter().enumerate() {
            let z = p - f;
            // Unused thresholds are NaN and never count.
            let d = (z >= t[0]) as u32 + (z >= t[1]) as u32 + (z >= t[2]) as u32;
            packed |= d << (8 * s);
        }
        packed
    }

    fn run_one_tap<const M: usize>(&self, y: &[f32], out: &mut [u8]) {
        let head = self.run_head(y, out);
        if head == y.len() {
            return;
        }
        let mut f1 = [0.0f32; M];
        f1.copy_from_slice(&self.feedback[..M]);
        let mut t = [f32::NAN; 3];
        t[..M - 1].copy_from_slice(&self.thresholds);
        let mut prev = out[head - 1] as u32;
        // The candidates do not depend on earlier decisions: compute them for a batch of
        // symbols first (a loop over time the compiler vectorizes), then select serially.
        let mut cand = [0u32; ONE_TAP_BATCH];
        for (yc, oc) in y[head..].chunks(ONE_TAP_BATCH).zip(out[head..].chunks_mut(ONE_TAP_BATCH)) {
            for (c, &yk) in cand.iter_mut().zip(yc) {
                *c = Self::candidates::<M>(yk, &f1, &t);
            }
            for (o, &c) in oc.iter_mut().zip(&cand) {
                prev = (c >> (8 * prev)) & 0xff;
                *o = prev as u8;
            }
        }
    }

    /// Two or more taps: the direct form with the last decision kept in a register. Speculating
    /// on `d[k−1]` does not pay here: the feedback of the older taps needs `d[k−2]` anyway, and
    /// the four candidate slicings cost more than the one load they save.
    fn run_many_taps<const M: usize>(&self, y: &[f32], out: &mut [u8]) {
        let head = self.run_head(y, out);
        if head == y.len() {
            return;
        }
        let nt = self.taps.len();
        let mut f1 = [0.0f32; M];
        f1.copy_from_slice(&self.feedback[..M]);
        let rest = &self.feedback[M..];
        let mut t = [f32::NAN; 3];
        t[..M - 1].copy_from_slice(&self.thresholds);
        let mut prev = out[head - 1] as usize;
        for k in head..y.len() {
            let mut p = y[k];
            for i in 2..=nt {
                p -= rest[(i - 2) * M + out[k - i] as usize];
            }
            let z = p - f1[prev];
            // Unused thresholds are NaN and never count.
            prev = (z >= t[0]) as usize + (z >= t[1]) as usize + (z >= t[2]) as usize;
            out[k] = prev as u8;
        }
    }
}

impl super::block::LaneDetector for Dfe {
    const LANES: usize = DFE_LANES;

    fn detect_group(&self, y: &[f32], stride: usize, count: usize, len: usize, skip: usize, keep: usize, out: &mut [u8], scratch: &mut super::block::LaneScratch) {
        debug_assert!(count <= DFE_LANES && skip + keep <= len && out.len() == count * keep);
        #[cfg(target_arch = "x86_64")]
        if crate::simd::avx2() {
            let dec = &mut scratch.bytes;
            dec.clear();
            dec.resize(len * DFE_LANES, 0);
            let alphabet = self.modulation.level_set();
            // SAFETY: AVX2 is present (checked above); the kernel reads `y` only within the
            // `count` windows, which the caller guarantees lie inside `y`.
            unsafe {
                match self.modulation {
                    Modulation::Pam4 => super::simd::dfe_lanes_avx2::<4>(&self.taps, &alphabet, &self.thresholds, y, stride, count, len, dec),
                    Modulation::Nrz => super::simd::dfe_lanes_avx2::<2>(&self.taps, &alphabet, &self.thresholds, y, stride, count, len, dec),
                }
            }
            deinterleave(dec, DFE_LANES, count, skip, keep, out);
            return;
        }
        // Scalar fallback: the windows one after the other.
        let dec = &mut scratch.bytes;
        dec.clear();
        dec.resize(len, 0);
        for (j, o) in out.chunks_exact_mut(keep).enumerate().take(count) {
            self.run(&y[j * stride..j * stride + len], dec);
            o.copy_from_slice(&dec[skip..skip + keep]);
        }
    }

    fn detect_window(&self, y: &[f32], out: &mut [u8]) {
        self.run(y, out);
    }

    const DECISIONS: &'static str = "DFE decisions";
}

/// Copies lane `j`'s decisions `[skip, skip + keep)` from the lane-major `dec`
/// (`dec[t·lanes + j]`) to `out[j·keep..]`.
pub(crate) fn deinterleave(dec: &[u8], lanes: usize, count: usize, skip: usize, keep: usize, out: &mut [u8]) {
    let rows = &dec[skip * lanes..(skip + keep) * lanes];
    for (j, o) in out.chunks_exact_mut(keep).enumerate().take(count) {
        for (d, row) in o.iter_mut().zip(rows.chunks_exact(lanes)) {
            *d = row[j];
        }
    }
}

fn check_symbols(what: &'static str, symbols: &[u8], modulation: Modulation) -> Result<()> {
    let max = modulation.max_symbol();
    match symbols.iter().position(|&s| s > max) {
        Some(index) => Err(Error::ValueOutOfRange {
            what,
            index,
            value: symbols[index] as u64,
            max: max as u64,
        }),
        None => Ok(()),
    }
}

/// The direct-form DFE (the oracle of the fast detector): one symbol at a time, feedback summed
/// in the order of the module docs, no speculation.
pub fn reference_detect(dfe: &Dfe, y: &[f32]) -> Vec<u8> {
    let mut out = vec![0u8; y.len()];
    reference_detect_into(dfe, y, &mut out);
    out
}

fn reference_detect_into(dfe: &Dfe, y: &[f32], out: &mut [u8]) {
    let m = dfe.modulation.levels();
    let nt = dfe.taps.len();
    for k in 0..y.len() {
        let mut p = y[k];
        for i in 2..=nt.min(k) {
            p -= dfe.feedback[(i - 1) * m + out[k - i] as usize];
        }
        let z = if k >= 1 { p - dfe.feedback[out[k - 1] as usize] } else { p };
        out[k] = dfe.thresholds.iter().filter(|&&t| z >= t).count() as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eq::{Ffe, FfeConfig};
    use proptest::prelude::*;
    use crate::eq::test_util::{channel, random_symbols};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn fast_detector_is_bit_exact_with_the_direct_form() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for m in [Modulation::Nrz, Modulation::Pam4] {
            for nt in [1usize, 2, 3, 5, 8, 32] {
                for trial in 0..3 {
                    let taps: Vec<f32> = (0..nt).map(|i| rng.random_range(-0.6f32..0.6) / (1 + i) as f32).collect();
                    let levels = m.level_set();
                    let dfe = Dfe::new(taps, levels, m).unwrap();
                    // Random inputs: many decisions disagree with any "truth", exercising every
                    // feedback combination.
                    let y: Vec<f32> = (0..20_000).map(|_| rng.random_range(-2.0f32..2.0)).collect();
                    assert_eq!(dfe.detect(&y), reference_detect(&dfe, &y), "{m} {nt} taps, trial {trial}");
                }
            }
        }
        // Non-finite inputs: both agree, and every decision is a valid symbol.
        for m in [Modulation::Nrz, Modulation::Pam4] {
            for nt in [1usize, 3] {
                let dfe = Dfe::new(vec![0.3; nt], m.level_set(), m).unwrap();
                let y = [0.5, f32::INFINITY, -0.2, f32::NAN, f32::NEG_INFINITY, 0.9, 0.1, -0.7];
                let d = dfe.detect(&y);
                assert_eq!(d, reference_detect(&dfe, &y));
                assert!(d.iter().all(|&s| s <= m.max_symbol()), "{m}: {d:?}");
            }
        }
        // Inputs shorter than the tap count.
        let dfe = Dfe::new(vec![0.1; 5], Modulation::Pam4.level_set(), Modulation::Pam4).unwrap();
        for n in 0..7 {
            let y: Vec<f32> = (0..n).map(|i| i as f32 * 0.3 - 1.0).collect();
            assert_eq!(dfe.detect(&y), reference_detect(&dfe, &y));
        }
    }

    #[test]
    fn strong_postcursor_dfe_is_error_free_where_the_ffe_is_not() {
        // y = a[k] + 0.8·a[k−1] + noise: the linear equalizer must invert 1 + 0.8D and enhances
        // the noise power by Σ 0.8^(2i) = 2.78 (4.4 dB); the DFE subtracts the ISI noise-free.
        // At σ = 0.064 the DFE's SER is ~1.5·Q(5.2) ≈ 2e-7, the FFE's ~1.5·Q(3.1) ≈ 1e-3.
        let m = Modulation::Pam4;
        let n = 100_000;
        let s = random_symbols(m, n, 12);
        let x = channel(m, &s, &[1.0, 0.8], 0.064, 13);
        let lv = m.symbols_to_levels(&s);
        let ffe = Ffe::train_mmse(&x[..20_000], &lv[..20_000], &FfeConfig { n_taps: 15, reference_tap: Some(0), delay_search: 0, ..Default::default() }).unwrap();
        assert_eq!(ffe.delay, 0);
        let y_ffe = ffe.ffe.equalize(&x);
        let slicer = crate::modulation::Slicer::for_levels(&m.level_set()).unwrap();
        let ffe_errors = (20_000..n).filter(|&k| slicer.decide(y_ffe[k]) != s[k]).count();
        let dfe = Dfe::train(&x[..20_000], &s[..20_000], 1, m).unwrap();
        assert!((dfe.taps()[0] - 0.8).abs() < 0.01, "{:?}", dfe.taps());
        let r = dfe.detect_with_stats(&x, &s);
        let dfe_errors = (20_000..n).filter(|&k| r.decisions[k] != s[k]).count();
        assert_eq!(dfe_errors, 0, "DFE errors, FFE errors {ffe_errors}");
        assert!(ffe_errors > 20, "FFE alone should err: {ffe_errors}");
    }

    #[test]
    fn training_recovers_taps_and_levels() {
        let m = Modulation::Pam4;
        let s = random_symbols(m, 20_000, 14);
        let h = [0.8f32, 0.4, -0.15, 0.05];
        let mut x = channel(m, &s, &h, 0.01, 15);
        x.iter_mut().for_each(|v| *v += 0.1);
        let dfe = Dfe::train(&x, &s, 3, m).unwrap();
        for (a, b) in dfe.taps().iter().zip(&h[1..]) {
            assert!((a - b).abs() < 2e-3, "{:?}", dfe.taps());
        }
        for (a, b) in dfe.levels().iter().zip(m.level_set()) {
            assert!((a - (0.8 * b + 0.1)).abs() < 2e-3, "{:?}", dfe.levels());
        }
        assert_eq!(dfe.detect(&x)[3..], s[3..]);
    }

    #[test]
    fn measured_levels_follow_the_signal_under_given_taps() {
        let m = Modulation::Pam4;
        let s = random_symbols(m, 20_000, 16);
        let h = [0.8f32, 0.4, -0.15];
        let mut x = channel(m, &s, &h, 0.02, 17);
        // A compressed top level (IM/DD optics): the measured level follows it.
        for (v, &sym) in x.iter_mut().zip(&s) {
            *v += if sym == 3 { 0.1 - 0.05 } else { 0.1 };
        }
        let dfe = Dfe::with_measured_levels(h[1..].to_vec(), &x, &s, m).unwrap();
        assert_eq!(dfe.taps(), &h[1..]);
        for (sym, (&got, &a)) in dfe.levels().iter().zip(&m.level_set()).enumerate() {
            let want = 0.8 * a + 0.1 - if sym == 3 { 0.05 } else { 0.0 };
            assert!((got - want).abs() < 2e-3, "{:?}", dfe.levels());
        }
        assert_eq!(dfe.detect(&x)[2..], s[2..]);
        // A signal that does not follow the symbols (inverted): the levels cannot be ordered.
        let inverted: Vec<f32> = x.iter().map(|v| -v).collect();
        assert!(matches!(Dfe::with_measured_levels(h[1..].to_vec(), &inverted, &s, m), Err(Error::Unusable { .. })));
        // A symbol that never occurs has no level.
        let no_top: Vec<u8> = s.iter().map(|&v| v.min(2)).collect();
        assert!(matches!(Dfe::with_measured_levels(vec![0.4], &x, &no_top, m), Err(Error::Unusable { .. })));
        assert!(matches!(Dfe::with_measured_levels(vec![], &x, &s, m), Err(Error::InvalidParameter { .. })));
        assert!(matches!(Dfe::with_measured_levels(vec![0.4], &x[..20], &s, m), Err(Error::InputTooShort { .. })));
        let mut bad = s.clone();
        bad[5] = 7;
        assert!(matches!(Dfe::with_measured_levels(vec![0.4], &x, &bad, m), Err(Error::ValueOutOfRange { index: 5, .. })));
    }

    #[test]
    fn adaptive_dfe_converges_from_zero_taps() {
        let m = Modulation::Pam4;
        let s = random_symbols(m, 60_000, 16);
        let x = channel(m, &s, &[1.0, 0.3, 0.1], 0.02, 17);
        let start = Dfe::new(vec![0.0, 0.0], m.level_set(), m).unwrap();
        // Data-aided first 10k symbols, decision-directed after.
        let (dec, adapted) = start
            .detect_adaptive(&x, Some(&s[..10_000]), &DfeAdaptation { mu_taps: 2e-3, mu_levels: 1e-3 })
            .unwrap();
        assert!((adapted.taps()[0] - 0.3).abs() < 0.02 && (adapted.taps()[1] - 0.1).abs() < 0.02, "{:?}", adapted.taps());
        assert_eq!(dec[30_000..], s[30_000..]);
        assert_eq!(adapted.detect(&x)[2..], s[2..]);
    }

    #[test]
    fn error_propagation_on_hand_made_sequences() {
        let truth = [0u8; 20];
        //            0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19
        let dec = [0u8, 1, 1, 1, 0, 0, 2, 0, 0, 0, 3, 0, 3, 3, 0, 0, 0, 0, 0, 1];
        let e = error_propagation(&dec, &truth);
        assert_eq!(e.symbols, 20);
        assert_eq!(e.errors, 8);
        // Runs: [1..=3], [6], [10], [12..=13], [19].
        assert_eq!(e.bursts, 5);
        assert_eq!(e.burst_length_histogram, vec![3, 1, 1]);
        assert_eq!(e.max_burst_length, 3);
        assert!((e.mean_burst_length - 8.0 / 5.0).abs() < 1e-12);
        // After an error (at 1,2,3,6,10,12,13; 19 is last): next is an error at 1→2, 2→3, 12→13.
        assert!((e.p_error_given_previous_error - 3.0 / 7.0).abs() < 1e-12);
        // After a correct symbol (0,4,5,7,8,9,11,14..18 = 12 followed): errors at 1,6,10,12,19.
        assert!((e.p_error_given_previous_correct - 5.0 / 12.0).abs() < 1e-12);
        // With a gap of 1: [1..=3], [6], [10..=13] (10, gap 1, 12, 13), [19].
        let g = error_propagation_with_gap(&dec, &truth, 1);
        assert_eq!(g.bursts, 4);
        assert_eq!(g.burst_length_histogram, vec![2, 0, 1, 1]);
        assert!((g.mean_errors_per_burst - 2.0).abs() < 1e-12);
        // With a gap of 3 everything up to 13 joins; 19 is 5 correct symbols later.
        let g3 = error_propagation_with_gap(&dec, &truth, 3);
        assert_eq!(g3.bursts, 2);
        assert_eq!(g3.max_burst_length, 13);
        // No errors.
        let none = error_propagation(&truth, &truth);
        assert_eq!((none.errors, none.bursts), (0, 0));
        assert!(none.burst_length_histogram.is_empty());
        assert!(none.mean_burst_length.is_nan() && none.p_error_given_previous_error.is_nan());
        assert_eq!(none.p_error_given_previous_correct, 0.0);
        // A burst longer than the histogram goes to the last bin.
        let long = error_propagation(&[1u8; 100], &[0u8; 100]);
        assert_eq!(long.burst_length_histogram.len(), MAX_BURST_BIN);
        assert_eq!(long.burst_length_histogram[MAX_BURST_BIN - 1], 1);
        assert_eq!(long.max_burst_length, 100);
        assert_eq!(long.p_error_given_previous_error, 1.0);
    }

    #[test]
    fn error_propagation_shows_dfe_bursts() {
        // A wrong decision feeds back 2·b of error: with b = 0.7 on PAM4 and moderate noise the
        // DFE's errors cluster: P(error | previous error) far above the overall error rate.
        let m = Modulation::Pam4;
        let s = random_symbols(m, 200_000, 18);
        let x = channel(m, &s, &[1.0, 0.7], 0.11, 19);
        let dfe = Dfe::new(vec![0.7], m.level_set(), m).unwrap();
        let r = dfe.detect_with_stats(&x, &s);
        let ser = r.stats.errors as f64 / r.stats.symbols as f64;
        assert!(ser > 1e-3 && ser < 0.1, "ser {ser}");
        assert!(r.stats.p_error_given_previous_error > 3.0 * ser, "{:?}", r.stats);
        assert!(r.stats.mean_burst_length > 1.1, "{:?}", r.stats);
    }

    #[test]
    fn bad_inputs_are_named_errors() {
        let m = Modulation::Pam4;
        assert!(Dfe::new(vec![], m.level_set(), m).is_err());
        assert!(Dfe::new(vec![0.1; 33], m.level_set(), m).is_err());
        assert!(Dfe::new(vec![0.1], vec![0.0, 1.0], m).is_err());
        assert!(Dfe::new(vec![0.1], vec![0.0, 1.0, 0.5, 2.0], m).is_err());
        assert!(matches!(Dfe::new(vec![f32::NAN], m.level_set(), m), Err(Error::NonFinite { .. })));
        assert!(matches!(Dfe::train(&[0.0; 10], &[0; 10], 1, m), Err(Error::InputTooShort { .. })));
        assert!(matches!(Dfe::train(&[0.0; 100], &[5; 100], 1, m), Err(Error::ValueOutOfRange { .. })));
        assert!(Dfe::train(&[0.0; 100], &[0; 100], 0, m).is_err());
        // A constant input does not follow the symbols.
        let s = random_symbols(m, 500, 20);
        assert!(matches!(Dfe::train(&[0.5; 500], &s, 1, m), Err(Error::Unusable { .. })));
        let dfe = Dfe::new(vec![0.2], m.level_set(), m).unwrap();
        assert!(matches!(dfe.detect_into(&[0.0; 3], &mut [0u8; 2]), Err(Error::LengthMismatch { what: "DFE decisions", expected: 3, got: 2 })));
        assert!(dfe.detect_adaptive(&[0.0; 3], None, &DfeAdaptation { mu_taps: -1.0, mu_levels: 0.0 }).is_err());
        let json = serde_json::to_string(&dfe).unwrap();
        assert_eq!(serde_json::from_str::<Dfe>(&json).unwrap(), dfe);
    }


    /// The symbol-by-symbol walk [`error_propagation_with_gap`] replaced: its reference.
    fn error_propagation_serial(decisions: &[u8], truth: &[u8], max_gap: usize) -> ErrorPropagation {
        let n = decisions.len().min(truth.len());
        let mut bursts = Bursts::default();
        let mut errors = 0u64;
        let (mut ee, mut e_prev, mut ce, mut c_prev) = (0u64, 0u64, 0u64, 0u64);
        let mut prev_err = false;
        for k in 0..n {
            let err = decisions[k] != truth[k];
            if k > 0 {
                if prev_err {
                    e_prev += 1;
                    ee += err as u64;
                } else {
                    c_prev += 1;
                    ce += err as u64;
                }
            }
            if err {
                errors += 1;
                bursts.error_at(k, max_gap);
            }
            prev_err = err;
        }
        bursts.report(n, errors, [ee, e_prev, ce, c_prev], max_gap)
    }

    /// Block-parallel statistics equal the walk's: errors at block edges, bursts across them,
    /// error-free input, all-error input, and lengths around the block size.
    #[test]
    fn blockwise_error_propagation_equals_the_walk() {
        let block = 64;
        let mut r = ChaCha8Rng::seed_from_u64(17);
        let bits = |s: &ErrorPropagation| format!("{s:?}");
        for n in [0, 1, 2, block - 1, block, block + 1, 7 * block + 5] {
            let truth: Vec<u8> = (0..n).map(|_| r.random_range(0..4u8)).collect();
            let mut patterns: Vec<Vec<bool>> = vec![vec![false; n], vec![true; n]];
            patterns.push((0..n).map(|_| r.random_bool(0.05)).collect());
            patterns.push((0..n).map(|_| r.random_bool(0.6)).collect());
            // Errors on both sides of every block edge, and at the ends.
            patterns.push((0..n).map(|k| k % block == 0 || k % block == block - 1 || k + 1 == n).collect());
            for errs in &patterns {
                let dec: Vec<u8> = truth.iter().zip(errs).map(|(&t, &e)| if e { (t + 1 + (t % 2)) % 4 } else { t }).collect();
                for gap in [0, 1, 3, block] {
                    let want = error_propagation_serial(&dec, &truth, gap);
                    assert_eq!(bits(&error_propagation_in_blocks(&dec, &truth, gap, block)), bits(&want), "n = {n}, gap = {gap}");
                    assert_eq!(bits(&error_propagation_with_gap(&dec, &truth, gap)), bits(&want));
                }
            }
            // Unequal lengths: the common prefix.
            assert_eq!(bits(&error_propagation_in_blocks(&truth, &truth[..n / 2], 0, block)), bits(&error_propagation_serial(&truth, &truth[..n / 2], 0)));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn fast_equals_reference(
            taps in proptest::collection::vec(-1.0f32..1.0, 1..6),
            y in proptest::collection::vec(-2.0f32..2.0, 0..300),
            pam4 in any::<bool>(),
        ) {
            let m = if pam4 { Modulation::Pam4 } else { Modulation::Nrz };
            let dfe = Dfe::new(taps, m.level_set(), m).unwrap();
            prop_assert_eq!(dfe.detect(&y), reference_detect(&dfe, &y));
        }

        #[test]
        fn burst_statistics_are_consistent(
            errs in proptest::collection::vec(any::<bool>(), 0..200),
            gap in 0usize..4,
        ) {
            let truth = vec![0u8; errs.len()];
            let dec: Vec<u8> = errs.iter().map(|&e| e as u8).collect();
            let s = error_propagation_with_gap(&dec, &truth, gap);
            prop_assert_eq!(s.errors, errs.iter().filter(|&&e| e).count() as u64);
            prop_assert_eq!(s.burst_length_histogram.iter().sum::<u64>(), s.bursts);
            let spans = (s.mean_burst_length * s.bursts as f64).round() as u64;
            prop_assert!(spans >= s.errors || s.bursts == 0);
            if gap == 0 && s.bursts > 0 {
                prop_assert_eq!(spans, s.errors);
            }
        }
    }
}
