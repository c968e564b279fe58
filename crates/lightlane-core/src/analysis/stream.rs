//! [`analyze_stream`]: the analysis of [`super::analyze`] over a capture read a chunk at a
//! time, with memory bounded by the block size instead of the capture length.
//!
//! ```text
//! chunks ─► blocks of samples (overlapping by a pre-roll)
//!   first block: baud / CTLE gain / sampling phase or CDR, level normalisation, pattern
//!                alignment, FFE (+ DFE / MLSE) training — the same steps as analyze()
//!   every block: analog stages ─► clock (CDR re-run over the pre-roll, or the ideal grid) ─►
//!                symbols after the last one emitted ─► FFE (tap history carried) ─►
//!                decisions (DFE/MLSE with history and look-ahead) ─► pattern check
//!                (alignment carried, re-acquired at a slip) ─► error positions for FEC
//! ```
//!
//! Differences from [`super::analyze`] on a capture that fits in memory, and their bounds:
//! - level means, training, the CTLE choice and the sampling phase come from the first block
//!   (`analyze` clusters the levels over the whole capture): identical when the capture fits in
//!   the first block;
//! - with clock recovery the loop is re-run from the start of every block's pre-roll
//!   ([`StreamOptions::overlap_ui`] UI, several loop time constants), so symbol positions after
//!   a join differ from one continuous loop by the residual of its settling; a join whose symbol
//!   spacing is off by more than ¼ UI is reported in `warnings`. With an ideal clock the grid is
//!   global and joins are exact;
//! - the analog stages are FIR filters and the FFE is a FIR: values more than the filter half
//!   length from a block edge are the same as in one pass;
//! - DFE/MLSE decisions restart [`StreamOptions::decision_history`] symbols before each join,
//!   like `detect_parallel` does between its blocks;
//! - the pattern check runs per batch of whole resync windows with the alignment carried; a slip
//!   inside a batch is handled by the checker, a slip at a batch start by re-acquisition (one
//!   resync each);
//! - adaptive FFE methods (LMS, NLMS, sign-sign, RLS) adapt over the first block and are then
//!   frozen (a warning says so);
//! - `Report::decisions` stays empty (the decisions of a long capture are not kept) and the
//!   DFE error propagation is measured over the first block.

use super::pipeline::{
    best_precoded, chain_detectors, ctle_config, ffe_guard, known_symbols, raw_decisions, samples_per_ui, train_ffe_for_chain, unbiased_slicer, ChainDetectors,
    RawDecisions, TrainedFfe,
};
use super::{AnalysisConfig, ClockRecovery, EqStage, FfeMethod, Report, StageErrors};
use crate::eq::{error_propagation, BesselThomsonFilter, Ctle, Dfe, Ffe, FfeConfig, Mlse};
use crate::fec::codeword_statistics;
use crate::modulation::{bit_errors_between, precode, BitMapping, Slicer};
use crate::pattern::{Alignment, ErrorPosition, Pattern, PatternChecker};
use crate::stats::clopper_pearson;
use crate::timing::{estimate_baud, recover_clock, recover_phase, resample_at};
use crate::{Backend, Error, Modulation, Result};
use std::collections::VecDeque;

/// A capture delivered in chunks of samples (a file read piece by piece, a socket, ...).
pub trait ChunkSource {
    /// Sample rate in Sa/s.
    fn fs(&self) -> f64;

    /// Name for the report (the file path); `"stream"` by default.
    fn name(&self) -> String {
        "stream".into()
    }

    /// Replaces the contents of `out` with the next chunk of samples; returns its length, 0 at
    /// the end of the capture. Chunks may have any length.
    fn next_chunk(&mut self, out: &mut Vec<f32>) -> Result<usize>;
}

/// A [`ChunkSource`] over an iterator of sample chunks.
#[derive(Debug, Clone)]
pub struct IterSource<I> {
    iter: I,
    fs: f64,
    name: String,
}

impl<I: Iterator<Item = Result<Vec<f32>>>> IterSource<I> {
    /// Chunks from `iter`, sampled at `fs`, reported as `name`.
    pub fn new(iter: I, fs: f64, name: impl Into<String>) -> Self {
        IterSource { iter, fs, name: name.into() }
    }
}

impl<I: Iterator<Item = Result<Vec<f32>>>> ChunkSource for IterSource<I> {
    fn fs(&self) -> f64 {
        self.fs
    }
    fn name(&self) -> String {
        self.name.clone()
    }
    fn next_chunk(&mut self, out: &mut Vec<f32>) -> Result<usize> {
        out.clear();
        // Skip empty chunks: 0 means the end.
        for c in self.iter.by_ref() {
            let c = c?;
            if !c.is_empty() {
                out.extend_from_slice(&c);
                return Ok(out.len());
            }
        }
        Ok(0)
    }
}

/// A [`ChunkSource`] over samples in memory, `chunk` at a time (tests, and captures already
/// loaded).
#[derive(Debug, Clone)]
pub struct SliceSource<'a> {
    samples: &'a [f32],
    pos: usize,
    chunk: usize,
    fs: f64,
    name: String,
}

impl<'a> SliceSource<'a> {
    /// `samples` at `fs`, delivered `chunk` (≥ 1) samples at a time.
    pub fn new(samples: &'a [f32], fs: f64, chunk: usize, name: impl Into<String>) -> Self {
        SliceSource { samples, pos: 0, chunk: chunk.max(1), fs, name: name.into() }
    }
}

impl ChunkSource for SliceSource<'_> {
    fn fs(&self) -> f64 {
        self.fs
    }
    fn name(&self) -> String {
        self.name.clone()
    }
    fn next_chunk(&mut self, out: &mut Vec<f32>) -> Result<usize> {
        out.clear();
        let end = (self.pos + self.chunk).min(self.samples.len());
        out.extend_from_slice(&self.samples[self.pos..end]);
        self.pos = end;
        Ok(out.len())
    }
}

/// Block sizes of [`analyze_stream`]; memory use is a small multiple of `block_samples`.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamOptions {
    /// Capture samples per processing block (the first block is enlarged to hold the training
    /// and sync spans).
    pub block_samples: usize,
    /// UI of overlap before each block in which clock recovery and the analog filters settle
    /// again (≥ 8 time constants of the 802.3 reference CDR at its 4 MHz corner up to 106 GBd).
    pub overlap_ui: usize,
    /// Symbols of history (and MLSE look-ahead) around each join for DFE/MLSE decisions.
    pub decision_history: usize,
    /// Decisions per pattern-check batch (rounded up to whole
    /// [`crate::pattern::SyncConfig::resync_window`]s and to at least the sync search span).
    pub check_batch_symbols: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            block_samples: 1 << 22,
            overlap_ui: 1 << 15,
            decision_history: crate::eq::block::DEFAULT_WARMUP * 4,
            check_batch_symbols: 1 << 18,
        }
    }
}

impl StreamOptions {
    fn validate(&self) -> Result<()> {
        if self.block_samples < 1 << 12 {
            return Err(Error::invalid("block_samples", self.block_samples, "at least 4096 samples per block"));
        }
        if !(64..=1 << 24).contains(&self.overlap_ui) {
            return Err(Error::invalid("overlap_ui", self.overlap_ui, "must be within 64..=16 Mi UI"));
        }
        if self.check_batch_symbols == 0 || self.check_batch_symbols > 1 << 26 {
            return Err(Error::invalid("check_batch_symbols", self.check_batch_symbols, "must be within 1..=64 Mi symbols"));
        }
        if !(16..=1 << 20).contains(&self.decision_history) {
            return Err(Error::invalid("decision_history", self.decision_history, "must be within 16..=1 Mi symbols"));
        }
        Ok(())
    }
}

/// Pulls chunks from a source into a block buffer.
struct Feeder<'s, S: ChunkSource + ?Sized> {
    src: &'s mut S,
    chunk: Vec<f32>,
    at: usize,
    eof: bool,
    total: u64,
}

impl<S: ChunkSource + ?Sized> Feeder<'_, S> {
    /// Appends samples until `block` holds `target`; returns true when the source is exhausted.
    fn fill(&mut self, block: &mut Vec<f32>, target: usize) -> Result<bool> {
        while block.len() < target && !self.eof {
            if self.at >= self.chunk.len() {
                self.at = 0;
                if self.src.next_chunk(&mut self.chunk)? == 0 {
                    self.eof = true;
                    break;
                }
                if let Some(i) = self.chunk.iter().position(|v| !v.is_finite()) {
                    return Err(Error::NonFinite {
                        what: "capture samples",
                        index: (self.total as usize).saturating_add(i),
                        value: self.chunk[i] as f64,
                    });
                }
                self.total += self.chunk.len() as u64;
            }
            let k = (target - block.len()).min(self.chunk.len() - self.at);
            block.extend_from_slice(&self.chunk[self.at..self.at + k]);
            self.at += k;
        }
        // Exhausted only when nothing is left in the current chunk either.
        Ok(self.eof && self.at >= self.chunk.len())
    }
}

/// An analog stage of the chain (a planned FIR), applied to each block.
type Analog = Box<dyn Fn(&[f32]) -> Vec<f32>>;

/// How symbol instants are found in every block.
enum Clock {
    /// Ideal clock: symbol k at `(phase_ui + k) · spu` (global sample index).
    Fixed { phase_ui: f64 },
    /// The CDR of the configuration, re-run per block.
    Cdr(crate::timing::CdrConfig),
}

/// Online least-squares fit of symbol position against symbol index (the recovered rate).
#[derive(Default)]
struct RateFit {
    n: f64,
    mean_k: f64,
    mean_p: f64,
    c_kp: f64,
    c_kk: f64,
}

impl RateFit {
    fn add(&mut self, k: f64, p: f64) {
        self.n += 1.0;
        let dk = k - self.mean_k;
        self.mean_k += dk / self.n;
        self.mean_p += (p - self.mean_p) / self.n;
        self.c_kp += dk * (p - self.mean_p);
        self.c_kk += dk * (k - self.mean_k);
    }
    fn slope(&self) -> Option<f64> {
        (self.n >= 2.0 && self.c_kk > 0.0).then(|| self.c_kp / self.c_kk)
    }
}

/// Running error counts of a stage.
#[derive(Default, Clone, Copy)]
struct Counts {
    symbols: u64,
    symbol_errors: u64,
    bit_errors: u64,
}

impl Counts {
    fn stage(&self, name: &str, m: Modulation) -> StageErrors {
        let bits = self.symbols * m.bits_per_symbol() as u64;
        StageErrors {
            stage: name.into(),
            symbols: self.symbols,
            symbol_errors: self.symbol_errors,
            ser: self.symbol_errors as f64 / self.symbols.max(1) as f64,
            bit_errors: self.bit_errors,
            ber: self.bit_errors as f64 / bits.max(1) as f64,
        }
    }
}

/// Transmitted symbols in increasing index order (precoded with the chosen initial state when
/// the link precodes), generated on demand.
struct TxGen {
    next: u64,
    prev: u8,
    precode_init: Option<u8>,
    buf: Vec<u8>,
}

impl TxGen {
    /// Transmitted symbols `from..from + n` (`from` never below the previous call's start).
    fn get(&mut self, checker: &PatternChecker, alignment: &Alignment, m: Modulation, from: u64, n: usize) -> Result<&[u8]> {
        match self.precode_init {
            None => {
                self.buf.resize(n, 0);
                checker.expected_into(alignment, from, &mut self.buf);
                Ok(&self.buf)
            }
            Some(init) => {
                if self.next == 0 {
                    self.prev = init;
                }
                if from < self.next {
                    return Err(Error::invalid("stream symbol index", from, "precoded symbols are generated in order"));
                }
                // Advance over the gap, then generate the span.
                let mut tmp = vec![0u8; 4096];
                while self.next < from {
                    let k = ((from - self.next) as usize).min(tmp.len());
                    checker.expected_into(alignment, self.next, &mut tmp[..k]);
                    precode(&mut tmp[..k], m, self.prev);
                    self.prev = tmp[k - 1];
                    self.next += k as u64;
                }
                self.buf.resize(n, 0);
                checker.expected_into(alignment, from, &mut self.buf);
                precode(&mut self.buf, m, self.prev);
                // Only the part past `next` advances the state (spans never overlap backwards).
                if n > 0 {
                    self.prev = self.buf[n - 1];
                    self.next = from + n as u64;
                }
                Ok(&self.buf)
            }
        }
    }
}

fn count_into(c: &mut Counts, dec: &[u8], exp: &[u8], m: Modulation, mapping: BitMapping) {
    for (&d, &e) in dec.iter().zip(exp) {
        if d != e {
            c.symbol_errors += 1;
            c.bit_errors += bit_errors_between(d, e, m, mapping) as u64;
        }
    }
    c.symbols += dec.len().min(exp.len()) as u64;
}

/// Pattern check over batches of decisions with the alignment carried between batches.
struct StreamChecker {
    checker: PatternChecker,
    /// Alignment in global decision indices (`pattern_position(global index)`).
    global: Option<Alignment>,
    first: Option<crate::pattern::ErrorReport>,
    pending: Vec<u8>,
    /// Global index of `pending[0]`.
    start: u64,
    batch: usize,
    symbols: u64,
    symbol_errors: u64,
    bit_errors: u64,
    resyncs: u32,
    positions: Vec<ErrorPosition>,
    cap: usize,
    truncated: bool,
}

impl StreamChecker {
    fn new(checker: PatternChecker, batch_symbols: usize) -> Self {
        let w = checker.config().resync_window.max(1);
        let first = checker.config().search_symbols.max(w);
        let batch = first.max(batch_symbols).div_ceil(w) * w;
        let cap = checker.config().max_error_positions;
        StreamChecker {
            checker,
            global: None,
            first: None,
            pending: Vec::new(),
            start: 0,
            batch,
            symbols: 0,
            symbol_errors: 0,
            bit_errors: 0,
            resyncs: 0,
            positions: Vec::new(),
            cap,
            truncated: false,
        }
    }

    fn push(&mut self, d: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(d);
        // Keep at least one batch back so the last batch is never a short remainder.
        while self.pending.len() >= 2 * self.batch {
            let n = self.batch;
            self.check_batch(n)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let n = self.pending.len();
            self.check_batch(n)?;
        }
        Ok(())
    }

    fn check_batch(&mut self, n: usize) -> Result<()> {
        let m = self.checker.modulation();
        let bps = m.bits_per_symbol();
        let batch: Vec<u8> = self.pending.drain(..n).collect();
        let g = self.start;
        self.start += n as u64;
        let local = match self.global {
            None => {
                let a = self.checker.align(&batch)?;
                self.global = Some(a);
                a
            }
            Some(gl) => {
                let local = Alignment {
                    position: gl.pattern_position(g),
                    sync_index: 0,
                    ..gl
                };
                // Does the carried alignment still hold at the start of this batch?
                let w = self.checker.config().resync_window.min(n);
                let mut exp = vec![0u8; w];
                self.checker.expected_into(&local, 0, &mut exp);
                let mut c = Counts::default();
                count_into(&mut c, &batch[..w], &exp, m, local.transform.bit_mapping());
                let bad = w * bps >= self.checker.config().min_validate_bits
                    && c.bit_errors as f64 > self.checker.config().resync_ber_threshold * (w * bps) as f64;
                if bad {
                    match self.checker.align(&batch) {
                        Ok(a) => {
                            self.resyncs += 1;
                            let p = self.checker.period() as i128;
                            let position = (a.position as i128 - g as i128).rem_euclid(p.max(1)) as u64;
                            self.global = Some(Alignment { position, ..a });
                            a
                        }
                        // No sync in this batch: count it against the carried alignment.
                        Err(_) => local,
                    }
                } else {
                    local
                }
            }
        };
        if batch.len() < self.checker.config().min_validate_bits.div_ceil(bps) {
            // Too short for the checker's validation: count it directly.
            let mut exp = vec![0u8; batch.len()];
            self.checker.expected_into(&local, 0, &mut exp);
            let mut c = Counts::default();
            count_into(&mut c, &batch, &exp, m, local.transform.bit_mapping());
            self.symbols += c.symbols;
            self.symbol_errors += c.symbol_errors;
            self.bit_errors += c.bit_errors;
            return Ok(());
        }
        let r = self.checker.check_aligned(&batch, &local)?;
        self.symbols += r.symbols;
        self.symbol_errors += r.symbol_errors;
        self.bit_errors += r.bit_errors;
        self.resyncs += r.resyncs;
        for e in &r.error_positions {
            if self.positions.len() < self.cap {
                self.positions.push(ErrorPosition { symbol_index: e.symbol_index + g, bit_mask: e.bit_mask });
            } else {
                self.truncated = true;
            }
        }
        self.truncated |= r.error_positions_truncated;
        if self.first.is_none() {
            self.first = Some(r);
        }
        Ok(())
    }

    fn error_bit_indices(&self) -> impl Iterator<Item = u64> + '_ {
        let bps = self.checker.modulation().bits_per_symbol() as u64;
        self.positions.iter().flat_map(move |e| {
            (0..bps).filter_map(move |k| {
                let bit = bps - 1 - k;
                ((e.bit_mask >> bit) & 1 == 1).then_some(e.symbol_index * bps + k)
            })
        })
    }
}

/// FFE outputs before a block that the `ffe` stage's DFE of an MLSE chain re-runs over (its
/// state is only the last one or two decisions; an error burst of a 1+αD target with α < 1
/// ends within a few symbols).
const FFE_STAGE_DFE_WARMUP: usize = 64;

/// The detector after the FFE.
enum Decider {
    Slicer,
    Dfe(Dfe),
    Mlse(Mlse),
}

/// Analyses a capture delivered in chunks, with memory bounded by `options.block_samples`
/// (independent of the capture length): the streaming form of [`super::analyze`], producing
/// the same [`Report`] fields (see the [module docs](self) for where and by how much the
/// results can differ at block joins).
///
/// Errors: as [`super::analyze`]; [`Error::InvalidParameter`] for bad `options`; errors of
/// the source are passed through.
///
/// ```
/// use lightlane_core::analysis::{analyze_stream, AnalysisConfig, ClockRecovery, SliceSource, StreamOptions};
/// use lightlane_core::{pattern::Pattern, sim::LinkModel, Backend, Modulation};
///
/// let (baud, fs) = (26.5625e9, 4.0 * 26.5625e9);
/// let model = LinkModel::new(Modulation::Pam4, baud, fs).unwrap();
/// let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 40_000).unwrap();
/// let capture = model.run(&symbols).unwrap();
/// let mut config = AnalysisConfig::pam4(baud);
/// config.clock = ClockRecovery::Fixed;
/// let opts = StreamOptions { block_samples: 50_000, ..Default::default() };
/// let mut src = SliceSource::new(&capture.waveform.samples, fs, 12_345, "sim");
/// let report = analyze_stream(&mut src, &config, Backend::Auto, &opts).unwrap();
/// assert_eq!(report.bit_errors, 0);
/// assert!(report.symbols > 39_000);
/// ```
pub fn analyze_stream<S: ChunkSource + ?Sized>(source: &mut S, config: &AnalysisConfig, backend: Backend, options: &StreamOptions) -> Result<Report> {
    // Core alone has only the CPU engine: every backend runs on it here (the GPU engine comes in
    // through `analyze_stream_with`, which `lightlane::analyze_stream` calls).
    analyze_stream_with(source, config, backend, options, None)
}

/// [`analyze_stream`] with an accelerator engine ([`crate::accel`]): per block, the FFE, the
/// `ffe` stage's slicer (or, in an MLSE chain, its partial-response DFE) and the decision
/// stage's slicer / block-parallel DFE / MLSE run on `accel`, all reading the block's FFE
/// output where `accel` keeps it (one upload per block; the detectors' history from earlier
/// blocks joins it there, [`crate::accel::Equalized::dfe_detect_after`]). A slicer chain's
/// `ffe`-stage errors are counted there too ([`crate::accel::Equalized::slice_count`]), except
/// the last `guard` symbols of each block, which the host holds back (the end drops them, see
/// the module docs); the final stage's decisions come back for the pattern checker and FEC.
/// The decisions and counts equal the CPU engine's. A failing accelerator operation falls back
/// to the CPU with a warning (once: later blocks then run on the CPU), or is the error when
/// the accelerator does not allow fallback (`Backend::Gpu`).
pub fn analyze_stream_with<S: ChunkSource + ?Sized>(
    source: &mut S,
    config: &AnalysisConfig,
    backend: Backend,
    options: &StreamOptions,
    accel: Option<&dyn crate::accel::Accelerator>,
) -> Result<Report> {
    let _backend = backend; // The engine is `accel` (when given) or the CPU.
    // The report's engine: the accelerator given (a fallback drops `accel` below).
    let engine = accel;
    let mut accel = accel;
    config.validate()?;
    options.validate()?;
    let fs = source.fs();
    if !(fs.is_finite() && fs > 0.0) {
        return Err(Error::invalid("fs", fs, "must be a positive finite sample rate"));
    }
    let file = source.name();
    let m = config.modulation;
    let pattern = Pattern::parse(&config.pattern)?;
    let checker = PatternChecker::new(&pattern, m, config.sync.clone())?;
    let mut warnings = Vec::new();
    let mut feeder = Feeder { src: source, chunk: Vec::new(), at: 0, eof: false, total: 0 };

    // ---- First block: everything analyze() derives from the capture. ----
    let mut block: Vec<f32> = Vec::new();
    let mut eof = feeder.fill(&mut block, options.block_samples)?;
    let (nominal_baud, baud_estimated) = match config.baud {
        Some(b) => (b, false),
        None => (estimate_baud(&block, fs, None, m)?.baud, true),
    };
    let spu = samples_per_ui(fs, nominal_baud)?;
    let (ffe_taps, sps, ffe_method) = config.equalizer.ffe().unwrap_or((1, 1, FfeMethod::Mmse));
    let history = options.decision_history;
    // The first block holds the training span, the sync search and the margins.
    let need_symbols = config.training_symbols + config.sync.search_symbols + 4 * history + ffe_taps + 1024;
    let first_len = options.block_samples.max((need_symbols as f64 * spu).ceil() as usize + 2 * options.overlap_ui * spu.ceil() as usize);
    if !eof {
        eof = feeder.fill(&mut block, first_len)?;
    }

    // Analog stages, planned on the first block.
    let mut analog: Vec<Analog> = Vec::new();
    let mut analog_half = 0usize;
    let mut ctle_gdc_db = None;
    {
        let mut x = std::borrow::Cow::Borrowed(block.as_slice());
        for stage in &config.equalizer.stages {
            match stage {
                EqStage::Bt4 { f3db_baud } => {
                    let f = BesselThomsonFilter::new(fs, f3db_baud * nominal_baud, 4)?;
                    analog_half += f.lead() + 1;
                    x = f.apply(&x).into();
                    analog.push(Box::new(move |v: &[f32]| f.apply(v)));
                }
                EqStage::Ctle { gdc_db } => {
                    let cfg = ctle_config(*gdc_db, &x, fs, nominal_baud, m)?;
                    ctle_gdc_db = Some(cfg.gdc_db);
                    let c = Ctle::new(cfg, fs)?;
                    analog_half += c.n_taps() / 2 + 1;
                    x = c.apply(&x).into();
                    analog.push(Box::new(move |v: &[f32]| c.apply(v)));
                }
                _ => {}
            }
        }
    }
    let run_analog = |x: &[f32]| -> Vec<f32> {
        let mut v = x.to_vec();
        for f in &analog {
            v = f(&v);
        }
        v
    };
    // Samples of overlap before a block and kept back at its end.
    let preroll = ((options.overlap_ui as f64 * spu).ceil() as usize).max(4 * analog_half + 16);
    let tail = analog_half + (16.0 * spu).ceil() as usize;

    // Timing on the first block.
    let filtered = run_analog(&block);
    let mut clock = match &config.clock {
        ClockRecovery::Fixed => Clock::Fixed { phase_ui: recover_phase(&filtered, spu, m, &config.phase)?.phase_ui },
        ClockRecovery::Cdr(cdr) => match recover_clock(&filtered, fs, nominal_baud, m, cdr) {
            Ok(_) => Clock::Cdr(cdr.clone()),
            Err(Error::Unusable { reason, .. }) if config.baud.is_some() => {
                warnings.push(format!("clock recovery failed ({reason}); used an ideal clock at the given baud"));
                Clock::Fixed { phase_ui: recover_phase(&filtered, spu, m, &config.phase)?.phase_ui }
            }
            Err(e) => return Err(e),
        },
    };
    drop(filtered);

    let ffe_cfg = FfeConfig { n_taps: ffe_taps, samples_per_symbol: sps, ..config.ffe.clone() };
    let decision_stage = config.equalizer.stages.iter().find(|s| matches!(s, EqStage::Dfe { .. } | EqStage::Mlse { .. })).cloned();

    // State carried across blocks.
    let mut b0: u64 = 0; // global index of block[0]
    let mut last_pos = f64::NEG_INFINITY; // global position of the last symbol emitted
    let mut next_k: u64 = 0; // global index of the next symbol
    let mut rate = RateFit::default();
    let mut tie_sq = (0f64, 0f64); // Σ tie_rms² · n, Σ n
    let mut first_pos = None;
    let mut joins_off = 0u64;
    let mut setup: Option<Setup> = None;
    let mut sym = SymbolPipe::default();

    loop {
        let final_block = eof;
        let x = run_analog(&block);
        let len = x.len();
        let b1 = b0 + len as u64;
        let limit = if final_block { f64::INFINITY } else { (b1 as f64) - tail as f64 };
        // Global positions of the symbols to emit from this block (+ one past, for spacing).
        let mut pos: Vec<f64> = Vec::new();
        match &clock {
            Clock::Fixed { phase_ui } => {
                let last_ok = (len - 1) as f64 + b0 as f64;
                let at = |k: u64| (phase_ui + k as f64) * spu;
                let mut k = next_k;
                while at(k) + (sps - 1) as f64 / sps as f64 * spu <= last_ok.min(limit) {
                    pos.push(at(k));
                    k += 1;
                }
                if !pos.is_empty() {
                    pos.push(at(k));
                }
            }
            Clock::Cdr(cdr) => {
                match recover_clock(&x, fs, nominal_baud, m, cdr) {
                    Ok(rc) => {
                        let g: Vec<f64> = rc.symbol_positions.iter().map(|p| p + b0 as f64).collect();
                        let from = g.partition_point(|&p| p <= last_pos + 0.5 * spu);
                        let to = g.partition_point(|&p| p <= limit);
                        if to > from {
                            if last_pos.is_finite() {
                                let gap = (g[from] - last_pos) / spu;
                                if (gap - 1.0).abs() > 0.25 {
                                    joins_off += 1;
                                }
                            }
                            pos.extend_from_slice(&g[from..to]);
                            // One position past the last, for the spacing of its sub-UI points.
                            let next = if to < g.len() {
                                g[to]
                            } else if to - from >= 2 {
                                2.0 * g[to - 1] - g[to - 2]
                            } else {
                                g[to - 1] + spu
                            };
                            pos.push(next);
                            let n_settled = (to - from) as f64;
                            tie_sq.0 += rc.tie_rms_s * rc.tie_rms_s * n_settled;
                            tie_sq.1 += n_settled;
                        }
                    }
                    // A short last block: too few UI for the loop; continue on the previous rate.
                    Err(Error::InputTooShort { .. }) if last_pos.is_finite() => {
                        let step = rate.slope().unwrap_or(spu);
                        let mut p = last_pos + step;
                        while p <= ((len - 1) as f64 + b0 as f64).min(limit) {
                            pos.push(p);
                            p += step;
                        }
                        if !pos.is_empty() {
                            pos.push(p);
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let n_new = pos.len().saturating_sub(1);
        if n_new > 0 {
            let local: Vec<f64> = pos.iter().map(|p| p - b0 as f64).collect();
            let mut xr = resample_at(&x, &local, sps);
            xr.truncate(n_new * sps);
            for (i, &p) in pos[..n_new].iter().enumerate() {
                rate.add((next_k + i as u64) as f64, p);
            }
            first_pos.get_or_insert(pos[0]);
            last_pos = pos[n_new - 1];
            next_k += n_new as u64;
            if setup.is_none() {
                let s = Setup::train(&xr, config, &checker, &pattern, m, sps, &ffe_cfg, ffe_method, decision_stage.as_ref(), &mut warnings)?;
                setup = Some(s);
            }
            let s = setup.as_ref().ok_or_else(|| Error::Unusable { stage: "stream", reason: "no setup".into() })?;
            let before = warnings.len();
            sym.push(s, &checker, &xr, final_block, history, options.check_batch_symbols, accel, &mut warnings)?;
            if warnings.len() > before {
                accel = None; // the accelerator fell back: the CPU runs the remaining blocks
            }
        } else if final_block {
            match setup.as_ref() {
                Some(s) => sym.push(s, &checker, &[], true, history, options.check_batch_symbols, accel, &mut warnings)?,
                None => return Err(Error::InputTooShort { what: "capture (symbols)", needed: 64 * m.levels(), got: 0 }),
            }
        }
        if final_block {
            break;
        }
        // Keep the pre-roll, read the next block.
        let keep_from = block.len().saturating_sub(preroll + tail);
        block.drain(..keep_from);
        b0 += keep_from as u64;
        let before = block.len();
        eof = feeder.fill(&mut block, options.block_samples.max(before + 1))?;
        if block.len() == before && !eof {
            return Err(Error::Unusable { stage: "stream", reason: "the source returned no samples before its end".into() });
        }
    }

    let s = setup.ok_or(Error::InputTooShort { what: "capture (symbols)", needed: 64 * m.levels(), got: 0 })?;
    sym.checker_finish()?;
    if joins_off > 0 {
        warnings.push(format!("{joins_off} block join(s) with a symbol spacing more than 1/4 UI off nominal (clock recovery did not re-settle within the overlap)"));
    }
    let sc = sym.sc.take().ok_or(Error::InputTooShort { what: "decisions", needed: 1, got: 0 })?;
    let first = sc.first.clone().ok_or(Error::InputTooShort { what: "decisions", needed: sc.batch, got: 0 })?;
    let symbols = sc.symbols;
    let bits = symbols * m.bits_per_symbol() as u64;
    let ratio = |k: u64, n: u64| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    if symbols < 10_000 {
        warnings.push(format!("only {symbols} symbols compared: the BER confidence interval is wide"));
    }
    let fec = match &config.fec {
        // Error indices count every decision (also any skipped while out of sync), so the bit
        // stream is all decisions, not only the compared ones.
        Some(c) => Some(codeword_statistics(sc.error_bit_indices(), bits.max(sc.start * m.bits_per_symbol() as u64), c)?),
        None => None,
    };
    let mut stages = vec![sym.pre.stage("pre_eq", m), sym.ffe_stage.stage("ffe", m)];
    let stage_name = match &s.decider {
        Decider::Slicer => None,
        Decider::Dfe(_) => Some("dfe"),
        Decider::Mlse(_) => Some("mlse"),
    };
    if let Some(name) = stage_name {
        stages.push(StageErrors {
            stage: name.into(),
            symbols,
            symbol_errors: sc.symbol_errors,
            ser: ratio(sc.symbol_errors, symbols),
            bit_errors: sc.bit_errors,
            ber: ratio(sc.bit_errors, bits),
        });
    }
    let baud = match (&clock, rate.slope()) {
        (Clock::Cdr(_), Some(step)) if step > 0.0 => fs / step,
        _ => nominal_baud,
    };
    let cdr_ran = matches!(clock, Clock::Cdr(_));
    let phase_ui = match &mut clock {
        Clock::Fixed { phase_ui } => *phase_ui,
        Clock::Cdr(_) => (first_pos.unwrap_or(0.0) / spu).fract(),
    };
    warnings.extend(s.warnings.iter().cloned());
    Ok(Report {
        // The eye and TDECQ of a streamed capture are not computed (the whole-file analysis
        // gives them); the streamed report carries the link figures only.
        eye: None,
        file,
        modulation: m,
        baud,
        baud_estimated,
        ppm_offset: cdr_ran.then(|| (baud / nominal_baud - 1.0) * 1e6),
        tie_rms_s: cdr_ran.then(|| (tie_sq.0 / tie_sq.1.max(1.0)).sqrt()),
        equalizer: config.equalizer.to_string(),
        ctle_gdc_db,
        dfe_taps: s.dfe_taps.clone(),
        dfe_error_propagation: s.dfe_error_propagation.clone(),
        mlse_target: s.mlse_target.clone(),
        fs,
        samples_per_ui: fs / baud,
        sampling_phase_ui: phase_ui,
        pattern: pattern.name().to_string(),
        transform: first.transform,
        bits,
        bit_errors: sc.bit_errors,
        ber: ratio(sc.bit_errors, bits),
        ber_ci95: clopper_pearson(sc.bit_errors, bits, 0.95),
        symbols,
        symbol_errors: sc.symbol_errors,
        ser: ratio(sc.symbol_errors, symbols),
        resyncs: sc.resyncs,
        ffe_taps: s.ffe.taps().to_vec(),
        ffe_reference_tap: s.ffe.reference_tap(),
        ffe_samples_per_symbol: sps,
        ffe_mse_db: 10.0 * s.mse.max(1e-30).log10(),
        levels: s.levels.clone(),
        stages,
        fec,
        engine: crate::accel::engine_label(engine, &warnings),
        warnings,
        decisions: Vec::new(),
    })
}

/// Everything trained on the first block.
struct Setup {
    scale: f64,
    offset: f64,
    pre_slicer: Slicer,
    alignment: Alignment,
    precode_init: Option<u8>,
    ffe: Ffe,
    delay: isize,
    mse: f64,
    guard: usize,
    slicer: Slicer,
    /// The `ffe` stage's detector of a chain with a decision stage (the FFE target's
    /// post-cursors fed back, see [`ChainDetectors`]); `None`: the slicer.
    ffe_stage_dfe: Option<Dfe>,
    decider: Decider,
    levels: Vec<f64>,
    dfe_taps: Option<Vec<f32>>,
    dfe_error_propagation: Option<crate::eq::ErrorPropagation>,
    mlse_target: Option<Vec<f32>>,
    warnings: Vec<String>,
}

impl Setup {
    #[allow(clippy::too_many_arguments)]
    fn train(
        x: &[f32],
        config: &AnalysisConfig,
        checker: &PatternChecker,
        pattern: &Pattern,
        m: Modulation,
        sps: usize,
        ffe_cfg: &FfeConfig,
        ffe_method: FfeMethod,
        decision_stage: Option<&EqStage>,
        outer_warnings: &mut Vec<String>,
    ) -> Result<Setup> {
        let warnings = Vec::new();
        let RawDecisions { nsym, levels, scale, offset, xn, pre_slicer, pre_raw, alignment, expected, .. } = raw_decisions(x, sps, config, checker, pattern)?;
        let (tx_symbols, precode_init) = if config.precoding {
            let tx = best_precoded(&expected, &pre_raw, m);
            // The initial state best_precoded chose: the one that reproduces tx[0].
            let init = (0..m.levels() as u8)
                .find(|&i| {
                    let mut p = [expected[0]];
                    precode(&mut p, m, i);
                    p[0] == tx[0]
                })
                .unwrap_or(0);
            (tx, Some(init))
        } else {
            (expected.clone(), None)
        };
        let target: Vec<f32> = tx_symbols.iter().map(|&s| m.level(s)).collect();
        let ntrain = config.training_symbols.min(nsym);
        let ffe_taps = ffe_cfg.n_taps;
        let trained = train_ffe_for_chain(&xn, sps, &target, ntrain, decision_stage, ffe_method, ffe_cfg, m)?;
        if trained.adapted {
            outer_warnings.push("streamed analysis: the adaptive FFE adapted over the first block and was then frozen".into());
        }
        let y = trained.ffe.equalize(&xn);
        let delay = trained.delay;
        let known = known_symbols(&tx_symbols, delay);
        let guard = ffe_guard(ffe_taps, sps, delay, nsym);
        let slicer = unbiased_slicer(&y, &tx_symbols, delay, guard, ntrain, m)?;
        let train_end = ntrain.min(nsym - guard);
        let detectors = chain_detectors(&y[guard..train_end], &known[guard..train_end], &trained, decision_stage, m)?;
        let TrainedFfe { ffe, mse, .. } = trained;
        let (mut dfe_taps, mut dfe_error_propagation, mut mlse_target, mut ffe_stage_dfe) = (None, None, None, None);
        let decider = match detectors {
            ChainDetectors::Dfe(dfe) => {
                let d = dfe.detect_parallel(&y);
                dfe_error_propagation = Some(error_propagation(&d[guard..nsym - guard], &known[guard..nsym - guard]));
                dfe_taps = Some(dfe.taps().to_vec());
                ffe_stage_dfe = Some(dfe.clone());
                Decider::Dfe(dfe)
            }
            ChainDetectors::Mlse { ffe_stage, mlse, target } => {
                ffe_stage_dfe = Some(ffe_stage);
                mlse_target = Some(target);
                Decider::Mlse(mlse)
            }
            ChainDetectors::Slicer => Decider::Slicer,
        };
        Ok(Setup {
            scale,
            offset,
            pre_slicer,
            alignment,
            precode_init,
            ffe,
            delay,
            mse,
            guard,
            slicer,
            ffe_stage_dfe,
            decider,
            levels,
            dfe_taps,
            dfe_error_propagation,
            mlse_target,
            warnings,
        })
    }
}

/// The symbol-rate part of the pipeline, fed block by block.
#[derive(Default)]
struct SymbolPipe {
    /// Normalised FFE input (`sps` per symbol) of global symbols `xs_start..`.
    xs: Vec<f32>,
    xs_start: u64,
    /// Next symbol whose FFE output is not yet computed.
    y_next: u64,
    /// FFE outputs of global symbols `ys_start..` (with decision history in front).
    ys: Vec<f32>,
    ys_start: u64,
    /// Next symbol to decide.
    d_next: u64,
    /// Total symbols pushed.
    n_in: u64,
    /// Raw pre-slicer decision before the next (precoding state of the pre-EQ stage).
    pre_prev: u8,
    /// Decision before the next (precoding state).
    dec_prev: u8,
    pre: Counts,
    ffe_stage: Counts,
    /// FFE-stage (symbol errors, bit errors) of the last `guard` symbols, not yet committed.
    ffe_tail: VecDeque<(u64, u64)>,
    /// The last FFE outputs (at most [`FFE_STAGE_DFE_WARMUP`]) the `ffe` stage's DFE restarts
    /// from in the next block.
    ffe_stage_history: Vec<f32>,
    /// Final decisions of the last `guard` symbols, held back (the end drops them).
    held: VecDeque<u8>,
    tx: Option<TxGen>,
    sc: Option<StreamChecker>,
    exp: Vec<u8>,
}

impl SymbolPipe {
    /// Runs the FFE and the detectors on `accel` when given (see [`analyze_stream_with`]).
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        s: &Setup,
        checker: &PatternChecker,
        xr: &[f32],
        last: bool,
        history: usize,
        batch: usize,
        accel: Option<&dyn crate::accel::Accelerator>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let m = checker.modulation();
        let sps = s.ffe.samples_per_symbol();
        let warned = warnings.len();
        if self.sc.is_none() {
            self.sc = Some(StreamChecker::new(checker.clone(), batch));
            self.tx = Some(TxGen { next: 0, prev: 0, precode_init: s.precode_init, buf: Vec::new() });
        }
        // Pre-EQ stage: slicer on the normalised symbol centres against the pattern.
        let n_new = xr.len() / sps;
        let base = self.n_in;
        let start = self.xs.len();
        self.xs.extend(xr[..n_new * sps].iter().map(|&v| (v as f64 * s.scale + s.offset) as f32));
        let centres: Vec<f32> = self.xs[start..].iter().step_by(sps).copied().collect();
        let mut pre = s.pre_slicer.slice_vec(&centres);
        if s.precode_init.is_some() {
            let first_raw = pre.first().copied();
            let init = if base == 0 { 0 } else { self.pre_prev };
            let last_raw = pre.last().copied();
            crate::modulation::decode_precoded(&mut pre, m, init);
            if let (Some(_), Some(l)) = (first_raw, last_raw) {
                self.pre_prev = l;
            }
        }
        self.exp.resize(n_new, 0);
        checker.expected_into(&s.alignment, base, &mut self.exp);
        count_into(&mut self.pre, &pre, &self.exp, m, s.alignment.transform.bit_mapping());
        self.n_in += n_new as u64;

        // FFE over the buffered input; keep outputs whose tap window is complete.
        let n = self.xs.len() / sps;
        let (lo, hi) = s.ffe.interior(self.xs.len());
        let hi_valid = if last { n } else { hi };
        let from = (self.y_next - self.xs_start) as usize;
        // The FFE output of the buffered input, on the accelerator when there is one: kept
        // (resident) for this block's detectors, which read it there (no second upload).
        let mut eq = None;
        // The slicer's decisions of the whole resident signal when the `ffe` stage already
        // made them (a slicer chain on the host: one slicer pass for both stages).
        let mut sliced: Option<Vec<u8>> = None;
        if hi_valid > from {
            let mut e = crate::accel::EqualizedSignal::new(accel, &s.ffe, &self.xs, warnings)?;
            let new_y = e.read(from..hi_valid, warnings)?;
            let new_y = new_y.as_slice();
            let tx_from = (self.y_next as i64 + s.delay as i64).max(0) as u64;
            let txg = self.tx.as_mut().ok_or(Error::Unusable { stage: "stream", reason: "no tx generator".into() })?;
            let known = txg.get(checker, &s.alignment, m, tx_from, new_y.len())?;
            let skip = if self.y_next as i64 + (s.delay as i64) < 0 { (-(self.y_next as i64 + s.delay as i64)) as usize } else { 0 };
            // FFE stage errors against the transmitted symbols, for k in guard..nsym-guard: the
            // outputs i0.. of this block count, all but the last `guard` of them at once.
            let i0 = skip.max((s.guard as u64).saturating_sub(self.y_next) as usize).min(new_y.len());
            let (dec, tail_from) = match &s.ffe_stage_dfe {
                None => {
                    // The slicer's counts of the outputs no later block can drop, where the
                    // signal lives (on the device: only the counts come back).
                    let direct = (new_y.len() - i0).saturating_sub(s.guard);
                    if direct > 0 {
                        let expected = &known[i0 - skip..i0 - skip + direct];
                        let c = if matches!(s.decider, Decider::Slicer) && !e.on_accelerator() {
                            let (c, d) = e.slice_and_count(from + i0, expected, &s.slicer, m, BitMapping::Gray, warnings)?;
                            sliced = Some(d);
                            c
                        } else {
                            e.slice_count(from + i0, expected, &s.slicer, m, BitMapping::Gray, warnings)?
                        };
                        self.ffe_stage.symbols += direct as u64;
                        self.ffe_stage.symbol_errors += c.symbol_errors;
                        self.ffe_stage.bit_errors += c.bit_errors;
                    }
                    let t = i0 + direct;
                    (new_y[t..].iter().map(|&v| s.slicer.decide(v)).collect::<Vec<u8>>(), t)
                }
                Some(dfe) => {
                    // Restart the DFE on the last outputs of the previous block: its feedback
                    // state is the last decisions, which a warm-up this long reproduces.
                    let h = self.ffe_stage_history.len();
                    let d = e.dfe_detect_after(dfe, &self.ffe_stage_history, from..hi_valid, warnings)?;
                    self.ffe_stage_history.extend_from_slice(new_y);
                    let keep = self.ffe_stage_history.len().saturating_sub(FFE_STAGE_DFE_WARMUP);
                    self.ffe_stage_history.drain(..keep);
                    (d[h + i0..].to_vec(), i0)
                }
            };
            for (j, &d) in dec.iter().enumerate() {
                let i = tail_from + j;
                let e = known[i - skip];
                let (se, be) = if d != e { (1, bit_errors_between(d, e, m, BitMapping::Gray) as u64) } else { (0, 0) };
                self.ffe_tail.push_back((se, be));
                if self.ffe_tail.len() > s.guard {
                    let (se, be) = self.ffe_tail.pop_front().unwrap_or_default();
                    self.ffe_stage.symbols += 1;
                    self.ffe_stage.symbol_errors += se;
                    self.ffe_stage.bit_errors += be;
                }
            }
            self.ys.extend_from_slice(new_y);
            self.y_next = self.xs_start + hi_valid as u64;
            eq = Some((e, from..hi_valid));
        }

        // A fallback in this block's FFE or `ffe` stage: the CPU runs the rest of it too (the
        // resident signal has dropped the accelerator; by the caller, the remaining blocks).
        let accel = if warnings.len() > warned { None } else { accel };

        // Decisions. The new outputs are the resident signal's `range`; the ones before them
        // (the detector's history) are on the host.
        let ys_end = self.ys_start + self.ys.len() as u64;
        let ahead = match s.decider {
            Decider::Mlse(_) if !last => history as u64,
            _ => 0,
        };
        let d_end = ys_end.saturating_sub(ahead);
        if d_end > self.d_next {
            let from = (self.d_next - self.ys_start) as usize;
            let old = self.ys.len() - eq.as_ref().map_or(0, |(_, r)| r.len());
            let all = match (&s.decider, eq.as_mut()) {
                (Decider::Slicer, Some((e, r))) if from >= old => {
                    // Only new outputs to decide: the slicer's decisions of the resident ones.
                    let mut v = vec![0u8; from];
                    let d = match sliced.take() {
                        Some(d) => d,
                        None => e.slice(&s.slicer, warnings)?,
                    };
                    v.extend_from_slice(&d[r.start + (from - old)..r.end]);
                    v
                }
                (Decider::Slicer, _) => {
                    let mut v = vec![0u8; from];
                    v.extend(s.slicer.slice_vec(&self.ys[from..]));
                    v
                }
                (Decider::Dfe(d), Some((e, r))) => e.dfe_detect_after(d, &self.ys[..old], r.clone(), warnings)?,
                (Decider::Mlse(ml), Some((e, r))) => e.mlse_detect_after(ml, &self.ys[..old], r.clone(), warnings)?,
                (Decider::Dfe(d), None) => on_engine(accel, &self.ys, warnings, |e, w| e.dfe_detect(d, w))?,
                (Decider::Mlse(ml), None) => on_engine(accel, &self.ys, warnings, |e, w| e.mlse_detect(ml, w))?,
            };
            let from = (self.d_next - self.ys_start) as usize;
            let to = (d_end - self.ys_start) as usize;
            let mut out = Vec::with_capacity(to - from);
            for (i, &d) in all[from..to].iter().enumerate() {
                let k = self.d_next + i as u64;
                let g = s.guard as u64;
                if k + 1 < g {
                    continue;
                }
                let prev = self.dec_prev;
                self.dec_prev = d;
                if k + 1 == g {
                    continue; // the precoder state of the first kept decision
                }
                let v = if s.precode_init.is_some() { (d % m.levels() as u8 + prev % m.levels() as u8) % m.levels() as u8 } else { d };
                self.held.push_back(v);
                if self.held.len() > s.guard {
                    out.push(self.held.pop_front().unwrap_or_default());
                }
            }
            self.d_next = d_end;
            if let Some(sc) = self.sc.as_mut() {
                sc.push(&out)?;
            }
            // Keep `history` outputs before the next decision.
            let keep_from = self.d_next.saturating_sub(history as u64).max(self.ys_start);
            self.ys.drain(..(keep_from - self.ys_start) as usize);
            self.ys_start = keep_from;
        }
        drop(eq);
        // Drop FFE input no longer needed (keep the tap history of the next output).
        let keep_from = self.y_next.saturating_sub(lo as u64).max(self.xs_start);
        let drop = ((keep_from - self.xs_start) as usize * sps).min(self.xs.len());
        self.xs.drain(..drop);
        self.xs_start = keep_from;
        Ok(())
    }

    fn checker_finish(&mut self) -> Result<()> {
        match self.sc.as_mut() {
            Some(sc) => sc.finish(),
            None => Ok(()),
        }
    }
}

/// Runs `op` (a detector) on the signal `y` held by `accel` when given (uploaded as is: the
/// identity FFE, exact on every engine), else on the host; failures fall back as in
/// [`crate::accel::EqualizedSignal`].
fn on_engine(
    accel: Option<&dyn crate::accel::Accelerator>,
    y: &[f32],
    warnings: &mut Vec<String>,
    op: impl FnOnce(&mut crate::accel::EqualizedSignal<'_>, &mut Vec<String>) -> Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    let identity = Ffe::identity(1, 1, 0)?;
    let mut sig = crate::accel::EqualizedSignal::new(accel, &identity, y, warnings)?;
    op(&mut sig, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;
    use crate::sim::LinkModel;
    use crate::Waveform;

    /// The demo PAM4 link (SER about 1e-4 after a 15-tap FFE), `n` PRBS13Q symbols.
    fn capture(n: usize, ppm: f64) -> Waveform {
        let mut model = LinkModel::demo_pam4();
        model.baud *= 1.0 + ppm * 1e-6;
        let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, n).unwrap();
        model.run(&symbols).unwrap().waveform
    }

    /// A link whose raw edges a CDR can follow: Bessel-Thomson at 0.45 × baud, 19 dB SNR,
    /// SJ 0.1 UI at 1 MHz, 30 ppm off the nominal rate.
    fn cdr_capture(n: usize) -> Waveform {
        let baud = 53.125e9;
        let model = LinkModel {
            amplitude: 0.4,
            channel: crate::sim::Channel::BesselThomson { f3db_hz: 0.45 * baud, order: 4 },
            noise: crate::sim::Noise::SnrDb(19.0),
            jitter: crate::sim::Jitter { rj_rms_ui: 0.01, sj_amplitude_ui: 0.1, sj_frequency_hz: 1e6 },
            seed: 7,
            ..LinkModel::new(Modulation::Pam4, baud * (1.0 + 30e-6), 256e9).unwrap()
        };
        let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, n).unwrap();
        model.run(&symbols).unwrap().waveform
    }

    fn config(fixed: bool, chain: &str) -> AnalysisConfig {
        let mut c = AnalysisConfig::pam4(53.125e9);
        if fixed {
            c.clock = ClockRecovery::Fixed;
        }
        c.equalizer = chain.parse().unwrap();
        c.training_symbols = 16_384;
        c
    }

    fn small_blocks() -> StreamOptions {
        StreamOptions { block_samples: 1 << 17, overlap_ui: 4096, check_batch_symbols: 20_000, ..Default::default() }
    }

    fn stream(wf: &Waveform, c: &AnalysisConfig, o: &StreamOptions, chunk: usize) -> Report {
        let mut src = SliceSource::new(&wf.samples, wf.fs(), chunk, "array");
        analyze_stream(&mut src, c, Backend::Auto, o).unwrap()
    }

    #[test]
    fn one_block_reproduces_analyze() {
        let wf = capture(150_000, 0.0);
        // The MLSE chain's `ffe` stage is a DFE with the target's taps; the MLSE itself removes
        // nearly every error of the demo link, so that case runs 3.5 dB noisier.
        let noisy = {
            let mut model = LinkModel::demo_pam4();
            model.noise = crate::sim::Noise::SnrDb(23.0);
            model.run(&Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 150_000).unwrap()).unwrap().waveform
        };
        // The DFE chains (MMSE-DFE, and FFE + feedback adapted jointly over the one block) run
        // on the noisier capture too.
        for (fixed, chain, wf) in [
            (true, "ffe:15", &wf),
            (false, "ffe:15", &wf),
            (true, "ffe:15,mlse:1", &noisy),
            (true, "ffe:15,dfe:2", &noisy),
            (true, "ffe:15:lms,dfe:1", &noisy),
        ] {
            let c = config(fixed, chain);
            let whole = analyze(wf, &c, Backend::Auto).unwrap();
            let s = stream(wf, &c, &StreamOptions { block_samples: wf.len() + 1, ..Default::default() }, 100_003);
            assert!(whole.bit_errors > 5, "{chain}: the capture must have errors for this test to mean something");
            assert_eq!(s.symbols, whole.symbols, "fixed={fixed}");
            assert_eq!(s.bit_errors, whole.bit_errors, "fixed={fixed}");
            assert_eq!(s.symbol_errors, whole.symbol_errors);
            assert_eq!(s.stages.len(), whole.stages.len());
            for (a, b) in s.stages.iter().zip(&whole.stages) {
                assert_eq!((a.symbols, a.symbol_errors, a.bit_errors), (b.symbols, b.symbol_errors, b.bit_errors), "{}", a.stage);
            }
            for (a, b) in s.levels.iter().zip(&whole.levels) {
                // Same samples; the grid positions are computed in another order (≤ 1 ulp).
                assert!((a - b).abs() < 1e-9, "{a} vs {b}");
            }
            for (a, b) in s.ffe_taps.iter().zip(&whole.ffe_taps) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
            assert_eq!(s.dfe_taps, whole.dfe_taps, "{chain}");
            assert_eq!(s.dfe_error_propagation, whole.dfe_error_propagation, "{chain}");
            assert_eq!(s.mlse_target, whole.mlse_target, "{chain}");
            assert_eq!(whole.dfe_taps.is_some(), chain.contains("dfe"), "{chain}");
            assert_eq!(s.fec.as_ref().map(|f| f.codewords), whole.fec.as_ref().map(|f| f.codewords));
            assert_eq!(s.fec.as_ref().map(|f| f.histogram.clone()), whole.fec.as_ref().map(|f| f.histogram.clone()));
            assert!(s.decisions.is_empty());
        }
    }

    #[test]
    fn chunk_size_does_not_change_the_result() {
        let wf = capture(60_000, 0.0);
        let c = config(true, "ffe:15");
        let o = small_blocks();
        let a = stream(&wf, &c, &o, 1000);
        let b = stream(&wf, &c, &o, 77_777);
        let d = stream(&wf, &c, &o, 1);
        assert_eq!(a, b);
        assert_eq!(a, d);
    }

    #[test]
    fn many_blocks_stay_within_the_join_bound() {
        // About 12 blocks. With an ideal clock the grid is global: the symbol count is exact
        // and errors differ only through the first-block level estimate (bound: 10 % or 5).
        // With the CDR re-run per block, the joins must all re-settle (no warning) and the
        // error count stays within 20 % or 8.
        let locked = capture(300_000, 0.0);
        let offset = cdr_capture(300_000);
        // The MMSE-DFE leaves only a couple of errors on the demo link: 3 dB more noise.
        let noisy = {
            let mut model = LinkModel::demo_pam4();
            model.noise = crate::sim::Noise::SnrDb(24.0);
            model.run(&Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 300_000).unwrap()).unwrap().waveform
        };

        for (fixed, chain) in [(true, "ffe:15"), (false, "ffe:15"), (true, "ffe:15,dfe:1"), (false, "ffe:15,mlse:1")] {
            let wf = match (fixed, chain.contains("dfe")) {
                (true, true) => &noisy,
                (true, false) => &locked,
                (false, _) => &offset,
            };
            let c = config(fixed, chain);
            let whole = analyze(wf, &c, Backend::Auto).unwrap();
            let s = stream(wf, &c, &small_blocks(), 65_536);
            let what = format!(
                "fixed={fixed} {chain}: stream {} / {} vs whole {} / {}; warnings {:?} / {:?}",
                s.bit_errors, s.bits, whole.bit_errors, whole.bits, s.warnings, whole.warnings
            );
            assert!(!fixed || whole.bit_errors > 5, "{what}");
            if fixed {
                assert_eq!(s.symbols, whole.symbols, "{what}");
            } else {
                assert!((s.symbols as i64 - whole.symbols as i64).abs() <= 16, "{what}");
                assert!(!s.warnings.iter().any(|w| w.contains("join")), "{what}: {:?}", s.warnings);
                let (a, b) = (s.ppm_offset.expect(&what), whole.ppm_offset.expect(&what));
                assert!((a - b).abs() < 2.0 && (a - 30.0).abs() < 5.0, "{what}: ppm {a} vs {b}");
            }
            eprintln!("{what}; symbols {} vs {}", s.symbols, whole.symbols);
            let tol = if fixed { (whole.bit_errors / 10).max(5) } else { (whole.bit_errors / 5).max(8) };
            assert!(s.bit_errors.abs_diff(whole.bit_errors) <= tol, "{what}");
            assert_eq!(s.resyncs, 0, "{what}");
            assert_eq!(s.stages.len(), whole.stages.len(), "{what}");
            let pre = (s.stages[0].ser, whole.stages[0].ser);
            assert!((pre.0 - pre.1).abs() <= 0.1 * pre.1 + 1e-4, "{what}: pre-EQ SER {pre:?}");
            if chain.contains("mlse") || chain.contains("dfe") {
                // The `ffe` stage's DFE restarts per block from the previous block's outputs.
                let ffe = (s.stages[1].bit_errors, whole.stages[1].bit_errors);
                assert!(ffe.0.abs_diff(ffe.1) <= (ffe.1 / 5).max(8), "{what}: ffe stage bit errors {ffe:?}");
            }
        }
    }

    #[test]
    fn chain_detectors_fit_once_and_decide_as_the_separate_trainers() {
        // The MLSE chain's `ffe`-stage DFE and its MLSE come from one linear fit: the same
        // detectors, hence the same decisions, as the two separate fits (Dfe::train,
        // Mlse::fit_linear) the pipeline ran before. The DFE chain's DFE uses the feedback taps
        // trained with the FFE.
        use super::super::pipeline::{chain_detectors, ChainDetectors, TrainedFfe};
        use crate::eq::{Dfe, Ffe, Mlse};
        let m = Modulation::Pam4;
        let s = Pattern::parse("prbs15").unwrap().generate(m, 30_000).unwrap();
        let mut state = 1u32;
        let y: Vec<f32> = (0..s.len())
            .map(|k| {
                // Deterministic noise: a small LCG, uniform ±0.25.
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                0.9 * m.level(s[k]) + if k > 0 { 0.45 * m.level(s[k - 1]) } else { 0.0 } + 0.5 * noise
            })
            .collect();
        let trained = TrainedFfe { ffe: Ffe::identity(1, 1, 0).unwrap(), delay: 0, mse: 0.0, adapted: false, feedback: vec![0.5] };
        let Ok(ChainDetectors::Mlse { ffe_stage, mlse, target }) = chain_detectors(&y, &s, &trained, Some(&EqStage::Mlse { memory: 1 }), m) else {
            panic!("an MLSE chain gives the MLSE detectors");
        };
        let dfe_alone = Dfe::train(&y, &s, 1, m).unwrap();
        let (mlse_alone, target_alone) = Mlse::fit_linear(&y, &s, 1, m).unwrap();
        assert_eq!(ffe_stage, dfe_alone);
        assert_eq!(mlse, mlse_alone);
        assert_eq!(target, target_alone);
        let (d, v) = (ffe_stage.detect(&y), mlse.detect(&y));
        assert_eq!(d, dfe_alone.detect(&y));
        assert_eq!(v, mlse_alone.detect(&y));
        // (Bounded noise favours symbol decisions: the DFE is error-free here, the MLSE is not;
        // the MLSE's gain on Gaussian noise is tested in tests/analysis.rs.)
        let errors = |x: &[u8]| x.iter().zip(&s).filter(|(a, b)| a != b).count();
        assert!(errors(&v) < s.len() / 100 && errors(&d) < s.len() / 100, "MLSE {} / DFE {} symbol errors", errors(&v), errors(&d));
        let Ok(ChainDetectors::Dfe(dfe)) = chain_detectors(&y, &s, &trained, Some(&EqStage::Dfe { taps: 1 }), m) else {
            panic!("a DFE chain gives its DFE");
        };
        assert_eq!(dfe.taps(), &[0.5]);
        assert!(matches!(chain_detectors(&y, &s, &trained, None, m), Ok(ChainDetectors::Slicer)));
    }

    #[test]
    fn bad_options_and_source_errors_are_typed() {
        let wf = capture(20_000, 0.0);
        let c = config(true, "ffe:15");
        let mut src = SliceSource::new(&wf.samples, wf.fs(), 4096, "a");
        let o = StreamOptions { block_samples: 10, ..Default::default() };
        assert!(matches!(analyze_stream(&mut src, &c, Backend::Auto, &o), Err(Error::InvalidParameter { name: "block_samples", .. })));
        let chunks = vec![Ok(wf.samples[..5000].to_vec()), Err(Error::Unusable { stage: "source", reason: "disk".into() })];
        let mut src = IterSource::new(chunks.into_iter(), wf.fs(), "a");
        assert!(matches!(analyze_stream(&mut src, &c, Backend::Auto, &StreamOptions::default()), Err(Error::Unusable { stage: "source", .. })));
        let mut bad = wf.samples[..30_000].to_vec();
        bad[12_345] = f32::NAN;
        let mut src = SliceSource::new(&bad, wf.fs(), 4096, "a");
        assert!(matches!(
            analyze_stream(&mut src, &c, Backend::Auto, &StreamOptions::default()),
            Err(Error::NonFinite { index: 12_345, .. })
        ));
        let mut src = SliceSource::new(&[], wf.fs(), 4096, "a");
        assert!(matches!(analyze_stream(&mut src, &c, Backend::Auto, &StreamOptions::default()), Err(Error::InputTooShort { .. }) | Err(Error::Unusable { .. })));
    }
}
