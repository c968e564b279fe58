//! [`PatternChecker`]: the planned pattern (reference period, LFSR tables, correlation FFTs),
//! alignment, expected-stream generation and the error-counting loop with resynchronisation.

use super::count::{count_errors, error_mask, for_each_error, ErrorCounts};
use super::prbs::{Lfsr, StateIndex};
use super::quaternary::{fill_lfsr_symbols, ssprq_symbols};
use super::sync::{Alignment, SyncConfig};
use super::transform::SymbolTransform;
use super::{fill_cyclic, Pattern, PatternKind};
use crate::modulation::{BitMapping, Modulation};
use crate::stats::clopper_pearson;
use crate::{Error, Result};
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// PRBS orders up to this keep one period of symbols in memory (PRBS23 on PAM4: 8 MiB);
/// longer ones (PRBS31) are generated word-parallel from the LFSR state.
const MAX_STORED_ORDER: u32 = 23;
/// Symbols per task of [`PatternChecker::expected`].
pub const EXPECTED_BLOCK: usize = 1 << 16;

/// A symbol that was received in error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorPosition {
    /// Index into the decisions.
    pub symbol_index: u64,
    /// Wrong bits of that symbol as the receiver maps it (its detected Gray or binary mapping):
    /// bit 1 = MSB (first in time) and bit 0 = LSB on PAM4; bit 0 on NRZ.
    pub bit_mask: u8,
}

/// Result of [`PatternChecker::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// Pattern name.
    pub pattern: String,
    /// Modulation of the decisions.
    pub modulation: Modulation,
    /// How the received stream relates to the pattern (from the first sync).
    pub transform: SymbolTransform,
    /// The first sync: where the decisions start in the pattern.
    pub alignment: Alignment,
    /// Symbols compared (in sync).
    pub symbols: u64,
    /// Symbols in error.
    pub symbol_errors: u64,
    /// Bits compared (`symbols × bits per symbol`).
    pub bits: u64,
    /// Bits in error.
    pub bit_errors: u64,
    /// Symbol error ratio.
    pub ser: f64,
    /// Bit error ratio.
    pub ber: f64,
    /// 95 % Clopper–Pearson interval of the bit error ratio.
    pub ber_ci95: (f64, f64),
    /// Times the alignment changed (slips, re-acquisitions).
    pub resyncs: u32,
    /// First decision counted.
    pub first_synced_symbol: u64,
    /// Decisions not compared: before the first sync, unrecoverable stretches between a loss of
    /// sync and the re-acquisition, and the tail after a loss of sync that never recovered.
    pub skipped_symbols: u64,
    /// Sync was lost and not re-acquired before the end.
    pub sync_lost: bool,
    /// Errored symbols in order, at most [`SyncConfig::max_error_positions`].
    pub error_positions: Vec<ErrorPosition>,
    /// More errors occurred than `error_positions` holds.
    pub error_positions_truncated: bool,
}

impl ErrorReport {
    /// Index of every errored bit in the decided bit stream (`symbol_index × bits_per_symbol`
    /// + bit within the symbol, MSB first), in order. Covers the kept `error_positions` only.
    pub fn error_bit_indices(&self) -> impl Iterator<Item = u64> + '_ {
        let bps = self.modulation.bits_per_symbol() as u64;
        self.error_positions.iter().flat_map(move |e| {
            (0..bps).filter_map(move |k| {
                let bit = bps - 1 - k; // MSB first
                ((e.bit_mask >> bit) & 1 == 1).then_some(e.symbol_index * bps + k)
            })
        })
    }
}

pub(crate) struct PrbsSync {
    pub lfsr: Lfsr,
    /// 64 clocks at a time, for the acquisition's seed search.
    pub word: super::prbs::LfsrWord,
    pub seed: u64,
    pub index: StateIndex,
}

/// FFT plan and reference spectra for correlation sync of stored patterns: one indicator
/// channel per level (`R_v[i] = [period[i mod P] == v]`), transformed once here. Two real
/// channels share one complex FFT (`R0 + i·R1`) and are separated by conjugate symmetry.
///
/// Two layouts give the match count at every cyclic offset `o < P` exactly:
/// * `fold` (window ≥ period): decisions are folded modulo P and correlated circularly over P;
/// * linear (window < period): the window is correlated against the period repeated to
///   `P + W − 1` symbols, over a power-of-two length — much faster than a prime-factor length
///   such as SSPRQ's 65 535 = 3·5·17·257.
pub(crate) struct Correlator {
    fwd: Arc<dyn Fft<f32>>,
    inv: Arc<dyn Fft<f32>>,
    reference: Vec<Vec<Complex32>>,
    len: usize,
    fold: bool,
    /// Reusable buffers (several MiB; fresh pages cost more than the FFTs).
    pool: Mutex<Vec<CorrelationWorkspace>>,
}

/// Buffers of one correlation acquisition.
pub(crate) struct CorrelationWorkspace {
    pub fold_a: Vec<Complex32>,
    pub fold_b: Vec<Complex32>,
    pub work: Vec<Complex32>,
    pub folds: Vec<Vec<Complex32>>,
    pub scratch: Vec<Complex32>,
}

/// Splits the spectrum of `X + iY` (X, Y real) into the spectra of X and Y.
pub(crate) fn unpack_pair(z: &[Complex32], x: &mut [Complex32], y: &mut [Complex32]) {
    let p = z.len();
    for k in 0..p {
        let a = z[k];
        let b = z[(p - k) % p].conj();
        x[k] = (a + b) * 0.5;
        y[k] = (a - b) * Complex32::new(0.0, -0.5);
    }
}

impl Correlator {
    fn new(period: &[u8], modulation: Modulation, window: usize) -> Self {
        let p = period.len();
        let fold = window >= p;
        let len = if fold { p } else { (p + window - 1).next_power_of_two() };
        let mut planner = FftPlanner::new();
        let fwd = planner.plan_fft_forward(len);
        let inv = planner.plan_fft_inverse(len);
        let mut scratch = vec![Complex32::new(0.0, 0.0); fwd.get_inplace_scratch_len()];
        let mut reference = Vec::new();
        for pair in 0..modulation.levels() / 2 {
            let (a, b) = (2 * pair as u8, 2 * pair as u8 + 1);
            let mut z: Vec<Complex32> = period
                .iter()
                .cycle()
                .take(len)
                .map(|&s| Complex32::new((s == a) as u8 as f32, (s == b) as u8 as f32))
                .collect();
            fwd.process_with_scratch(&mut z, &mut scratch);
            let mut x = vec![Complex32::new(0.0, 0.0); len];
            let mut y = vec![Complex32::new(0.0, 0.0); len];
            unpack_pair(&z, &mut x, &mut y);
            reference.push(x);
            reference.push(y);
        }
        Correlator {
            fwd,
            inv,
            reference,
            len,
            fold,
            pool: Mutex::new(Vec::new()),
        }
    }

    /// Buffers for one acquisition, from the pool when one is free.
    pub(crate) fn take_workspace(&self, modulation: Modulation) -> CorrelationWorkspace {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        pooled.unwrap_or_else(|| {
            let zero = Complex32::new(0.0, 0.0);
            let levels = modulation.levels();
            CorrelationWorkspace {
                fold_a: vec![zero; self.len],
                fold_b: vec![zero; if levels == 4 { self.len } else { 0 }],
                work: vec![zero; self.len],
                folds: vec![vec![zero; self.len]; levels],
                scratch: vec![zero; self.scratch_len()],
            }
        })
    }

    /// Gives buffers back to the pool (at most a few are kept).
    pub(crate) fn return_workspace(&self, ws: CorrelationWorkspace) {
        if let Ok(mut p) = self.pool.lock() {
            if p.len() < 4 {
                p.push(ws);
            }
        }
    }

    /// FFT length.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }

    /// Whether decisions are folded modulo the period (else laid out linearly).
    #[cfg(test)]
    fn folds(&self) -> bool {
        self.fold
    }

    fn scratch_len(&self) -> usize {
        self.fwd.get_inplace_scratch_len().max(self.inv.get_inplace_scratch_len())
    }

    fn forward(&self, buf: &mut [Complex32], scratch: &mut [Complex32]) {
        self.fwd.process_with_scratch(buf, &mut scratch[..self.fwd.get_inplace_scratch_len()]);
    }

    fn inverse(&self, buf: &mut [Complex32], scratch: &mut [Complex32]) {
        self.inv.process_with_scratch(buf, &mut scratch[..self.inv.get_inplace_scratch_len()]);
    }

    /// Loads the channel spectra of a decision window into `ws.folds`. Channel v at q counts
    /// the decisions equal to v at offset j ≡ q (mod `period`) when folding, at j = q
    /// otherwise (the window is never longer than the FFT then).
    pub(crate) fn load_window(&self, window: &[u8], period: usize, ws: &mut CorrelationWorkspace) {
        let wrap = if self.fold { period } else { self.len };
        let zero = Complex32::new(0.0, 0.0);
        ws.fold_a.iter_mut().for_each(|c| *c = zero);
        ws.fold_b.iter_mut().for_each(|c| *c = zero);
        let mut q = 0usize;
        for &d in window {
            match d {
                0 => ws.fold_a[q].re += 1.0,
                1 => ws.fold_a[q].im += 1.0,
                2 => ws.fold_b[q].re += 1.0,
                _ => ws.fold_b[q].im += 1.0,
            }
            q += 1;
            if q == wrap {
                q = 0;
            }
        }
        self.forward(&mut ws.fold_a, &mut ws.scratch);
        if let [f0, f1, ..] = &mut ws.folds[..] {
            unpack_pair(&ws.fold_a, f0, f1);
        }
        if ws.folds.len() == 4 {
            self.forward(&mut ws.fold_b, &mut ws.scratch);
            if let [_, _, f2, f3] = &mut ws.folds[..] {
                unpack_pair(&ws.fold_b, f2, f3);
            }
        }
    }

    /// After [`Correlator::load_window`]: `ws.work[o]` holds `len ×` the number of symbols of
    /// the window that match the pattern from position o under `pair[0]` (real part) and
    /// `pair[1]` (imaginary part), for every o below the period.
    pub(crate) fn correlate_pair(&self, pair: &[SymbolTransform], modulation: Modulation, ws: &mut CorrelationWorkspace) {
        self.cross_spectrum(&ws.folds, pair, modulation, &mut ws.work);
        self.inverse(&mut ws.work, &mut ws.scratch);
    }

    /// Spectrum whose inverse FFT holds, at each cyclic offset o, the number of matching
    /// symbols for `pair[0]` in the real part and for `pair[1]` (if any) in the imaginary part:
    /// `Σ_v conj(F̂_{T(v)}) · R̂_v`. `folds[v]` is the spectrum of the decisions' channel v.
    fn cross_spectrum(
        &self,
        folds: &[Vec<Complex32>],
        pair: &[SymbolTransform],
        modulation: Modulation,
        out: &mut [Complex32],
    ) {
        let lut = |i: usize| pair.get(i).map(|t| t.lut(modulation));
        let (l0, l1) = (lut(0).unwrap_or([0, 1, 2, 3]), lut(1));
        let r = &self.reference;
        // One fused pass per pair: the arrays are large, memory traffic is the cost.
        match modulation.levels() {
            2 => {
                for (k, o) in out.iter_mut().enumerate() {
                    let f = [folds[0][k], folds[1][k]];
                    let rv = [r[0][k], r[1][k]];
                    let s0 = f[l0[0] as usize].conj() * rv[0] + f[l0[1] as usize].conj() * rv[1];
                    let s1 = l1.map_or(Complex32::new(0.0, 0.0), |l| {
                        f[l[0] as usize].conj() * rv[0] + f[l[1] as usize].conj() * rv[1]
                    });
                    *o = s0 + Complex32::new(-s1.im, s1.re);
                }
            }
            _ => {
                for (k, o) in out.iter_mut().enumerate() {
                    let f = [folds[0][k], folds[1][k], folds[2][k], folds[3][k]];
                    let rv = [r[0][k], r[1][k], r[2][k], r[3][k]];
                    let sum = |l: [u8; 4]| {
                        f[l[0] as usize].conj() * rv[0]
                            + f[l[1] as usize].conj() * rv[1]
                            + f[l[2] as usize].conj() * rv[2]
                            + f[l[3] as usize].conj() * rv[3]
                    };
                    let s0 = sum(l0);
                    let s1 = l1.map_or(Complex32::new(0.0, 0.0), sum);
                    *o = s0 + Complex32::new(-s1.im, s1.re);
                }
            }
        }
    }
}

/// Checks received decisions against a pattern. Build once per (pattern, modulation, config);
/// the expensive parts (reference period, LFSR discrete-log table, FFT plans and reference
/// spectra) are prepared here and shared by every call.
#[derive(Clone)]
pub struct PatternChecker {
    name: String,
    modulation: Modulation,
    config: SyncConfig,
    period: u64,
    stored: Option<Arc<[u8]>>,
    prbs: Option<Arc<PrbsSync>>,
    corr: Option<Arc<Correlator>>,
    transforms: Vec<SymbolTransform>,
}

impl std::fmt::Debug for PatternChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatternChecker")
            .field("pattern", &self.name)
            .field("modulation", &self.modulation)
            .field("period", &self.period)
            .field("stored", &self.stored.is_some())
            .field("transforms", &self.transforms.len())
            .field("config", &self.config)
            .finish()
    }
}

/// What a suspected loss of sync turned out to be.
enum Recovery {
    /// The same alignment holds again from `resume` (≥ the window end): an error burst,
    /// counted as is.
    Burst { resume: usize },
    /// New alignment, valid from `resume`.
    Resynced { alignment: Alignment, resume: usize },
    /// No alignment found again.
    Lost,
}

/// Running totals of a check.
struct Tally {
    counts: ErrorCounts,
    symbols: u64,
    positions: Vec<ErrorPosition>,
    cap: usize,
}

impl Tally {
    fn add(&mut self, start: usize, dec: &[u8], exp: &[u8], c: ErrorCounts, m: Modulation, mapping: BitMapping) {
        self.symbols += dec.len() as u64;
        self.counts += c;
        if c.symbol_errors > 0 && self.positions.len() < self.cap {
            let (positions, cap) = (&mut self.positions, self.cap);
            for_each_error(dec, exp, m, mapping, |i, mask| {
                if positions.len() < cap {
                    positions.push(ErrorPosition {
                        symbol_index: (start + i) as u64,
                        bit_mask: mask,
                    });
                }
            });
        }
    }

    fn add_masks(&mut self, start: usize, masks: &[u8]) {
        self.symbols += masks.len() as u64;
        for (i, &mask) in masks.iter().enumerate() {
            if mask != 0 {
                self.counts.symbol_errors += 1;
                self.counts.bit_errors += mask.count_ones() as u64;
                if self.positions.len() < self.cap {
                    self.positions.push(ErrorPosition {
                        symbol_index: (start + i) as u64,
                        bit_mask: mask,
                    });
                }
            }
        }
    }
}

/// Sequential generator of canonical symbols from a pattern position.
struct Cursor {
    position: u64,
    state: u64,
}

impl PatternChecker {
    /// Plans checking of `pattern` on `modulation`. Errors: invalid config, a PAM4-only
    /// pattern on NRZ, user symbols outside the alphabet.
    pub fn new(pattern: &Pattern, modulation: Modulation, config: SyncConfig) -> Result<Self> {
        config.validate()?;
        pattern.check_modulation(modulation)?;
        let period = pattern.period_symbols(modulation);
        let (stored, prbs, corr): (Option<Arc<[u8]>>, _, _) = match pattern.kind() {
            PatternKind::Prbs { spec, seed, .. } => {
                let lfsr = spec.lfsr();
                let stored = (spec.order <= MAX_STORED_ORDER).then(|| {
                    let mut v = vec![0u8; period as usize];
                    let mut s = *seed;
                    fill_lfsr_symbols(&lfsr, &mut s, modulation, &mut v);
                    Arc::<[u8]>::from(v)
                });
                let index = StateIndex::new(&lfsr, *seed);
                (stored, Some(Arc::new(PrbsSync { word: lfsr.word_table(), lfsr, seed: *seed, index })), None)
            }
            PatternKind::Ssprq => {
                let s: Arc<[u8]> = ssprq_symbols().into();
                let c = Correlator::new(&s, modulation, config.correlation_window);
                (Some(s), None, Some(Arc::new(c)))
            }
            PatternKind::User { symbols } => {
                let c = Correlator::new(symbols, modulation, config.correlation_window);
                (Some(symbols.clone()), None, Some(Arc::new(c)))
            }
        };
        let transforms = config.transforms(modulation);
        Ok(PatternChecker {
            name: pattern.name().to_string(),
            modulation,
            config,
            period,
            stored,
            prbs,
            corr,
            transforms,
        })
    }

    /// Pattern name.
    pub fn pattern_name(&self) -> &str {
        &self.name
    }

    /// Modulation of the decisions this checker expects.
    pub fn modulation(&self) -> Modulation {
        self.modulation
    }

    /// The settings.
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// Pattern period in symbols.
    pub fn period(&self) -> u64 {
        self.period
    }

    pub(crate) fn prbs_order(&self) -> Option<u32> {
        self.prbs.as_ref().map(|p| p.lfsr.order())
    }

    pub(crate) fn prbs_state(&self) -> Option<&PrbsSync> {
        self.prbs.as_deref()
    }

    pub(crate) fn correlator(&self) -> Option<&Correlator> {
        self.corr.as_deref()
    }

    /// LFSR clock of pattern symbol `position`.
    fn bit_clock(&self, position: u64) -> u64 {
        let bps = self.modulation.bits_per_symbol() as u128;
        ((position as u128 % self.period as u128) * bps % self.period as u128) as u64
    }

    fn cursor(&self, position: u64) -> Cursor {
        let position = position % self.period;
        let state = match (&self.stored, &self.prbs) {
            (None, Some(p)) => p.lfsr.jump(p.seed, self.bit_clock(position)),
            _ => 0,
        };
        Cursor { position, state }
    }

    fn fill_next(&self, cursor: &mut Cursor, out: &mut [u8]) {
        match (&self.stored, &self.prbs) {
            (Some(s), _) => fill_cyclic(s, cursor.position as usize, out),
            (None, Some(p)) => fill_lfsr_symbols(&p.lfsr, &mut cursor.state, self.modulation, out),
            (None, None) => out.fill(0),
        }
        cursor.position = (cursor.position + out.len() as u64 % self.period) % self.period;
    }

    /// Canonical (untransformed) pattern symbols from pattern position `position`.
    pub(crate) fn fill_canonical(&self, position: u64, out: &mut [u8]) {
        let mut c = self.cursor(position);
        self.fill_next(&mut c, out);
    }

    fn check_decisions(&self, decisions: &[u8]) -> Result<()> {
        let max = self.modulation.max_symbol();
        // OR-reduce in blocks (vectorizes); locate the offender only when there is one.
        let clean = decisions.chunks(4096).all(|c| c.iter().fold(0u8, |a, &d| a | d) & !max == 0);
        if let Some(index) = (!clean).then(|| decisions.iter().position(|&d| d > max)).flatten() {
            return Err(Error::ValueOutOfRange {
                what: "decisions",
                index,
                value: decisions[index] as u64,
                max: max as u64,
            });
        }
        let needed = self.min_symbols();
        if decisions.len() < needed {
            return Err(Error::InputTooShort {
                what: "decisions",
                needed,
                got: decisions.len(),
            });
        }
        Ok(())
    }

    /// Finds where `decisions` sit in the pattern and under which transform. Robust to high
    /// symbol error ratios (20 % and more, e.g. unequalized ISI), so it can train an equalizer
    /// against the known pattern. Searches the first [`SyncConfig::search_symbols`] decisions.
    ///
    /// Errors: [`Error::PatternSyncFailed`] when nothing fits (e.g. random data),
    /// [`Error::InputTooShort`], [`Error::ValueOutOfRange`] for a decision above the alphabet.
    pub fn align(&self, decisions: &[u8]) -> Result<Alignment> {
        self.check_decisions(decisions)?;
        let to = self.config.search_symbols.min(decisions.len());
        match self.acquire(decisions, 0, to, &self.transforms) {
            Some(found) => Ok(found.alignment),
            None => Err(Error::PatternSyncFailed {
                pattern: self.name.clone(),
                reason: format!(
                    "no alignment with bit error ratio ≤ {} in the first {} of {} decisions ({} transform(s) tried)",
                    self.config.align_max_ber,
                    to,
                    decisions.len(),
                    self.transforms.len()
                ),
            }),
        }
    }

    /// Expected symbols for decision indices `range`, in the received domain (transform
    /// applied), directly comparable with the decisions. Any range from 0 up, also past the end
    /// of the decisions.
    ///
    /// Long ranges (a capture's millions of symbols) are filled in blocks of
    /// [`EXPECTED_BLOCK`] symbols on the thread pool, each from its own start
    /// ([`PatternChecker::expected_into`] at any start continues the same sequence), so the
    /// result is the one fill's for any thread count.
    pub fn expected(&self, alignment: &Alignment, range: Range<usize>) -> Vec<u8> {
        self.expected_in_blocks(alignment, range, EXPECTED_BLOCK)
    }

    fn expected_in_blocks(&self, alignment: &Alignment, range: Range<usize>, block: usize) -> Vec<u8> {
        use rayon::prelude::*;
        // Zeroed on the pool (a `vec!` the heap cannot serve from fresh pages is a memset here).
        let mut out: Vec<u8> = range.clone().into_par_iter().with_min_len(block).map(|_| 0).collect();
        out.par_chunks_mut(block).enumerate().for_each(|(b, o)| self.expected_into(alignment, (range.start + b * block) as u64, o));
        out
    }

    /// [`PatternChecker::expected`] into a caller-owned buffer: `out[i]` is the expected
    /// decision at index `start + i`.
    pub fn expected_into(&self, alignment: &Alignment, start: u64, out: &mut [u8]) {
        self.fill_canonical(alignment.pattern_position(start), out);
        alignment.transform.apply_in_place(self.modulation, out);
    }

    /// Synchronises ([`PatternChecker::align`]) and counts errors
    /// ([`PatternChecker::check_aligned`]).
    pub fn check(&self, decisions: &[u8]) -> Result<ErrorReport> {
        let alignment = self.align(decisions)?;
        self.check_aligned(decisions, &alignment)
    }

    /// Counts errors from a known alignment. Counting extends backwards from
    /// `alignment.sync_index` over whole windows that are in sync, then runs forward in windows
    /// of [`SyncConfig::resync_window`] symbols. A window whose bit error ratio exceeds
    /// [`SyncConfig::resync_ber_threshold`] triggers a sync check: if the old alignment still
    /// holds right after it, it was an error burst and is counted; otherwise a slip of up to
    /// [`SyncConfig::max_slip`] symbols is searched, then a full re-acquisition. Around a slip
    /// the counting switches alignment at the symbol that minimises the errors, so a slip costs
    /// a handful of errors rather than a window of random ones.
    pub fn check_aligned(&self, decisions: &[u8], alignment: &Alignment) -> Result<ErrorReport> {
        self.check_decisions(decisions)?;
        if alignment.period != self.period {
            return Err(Error::invalid(
                "alignment.period",
                alignment.period,
                format!("the alignment belongs to another pattern (period of {} is {})", self.name, self.period),
            ));
        }
        let n = decisions.len();
        let m = self.modulation;
        let bps = m.bits_per_symbol();
        let w = self.config.resync_window.min(n);
        let thr = self.config.resync_ber_threshold;
        let mut buf = vec![0u8; w];
        let mut align = *alignment;

        let window_bad = |range: Range<usize>, align: &Alignment, buf: &mut Vec<u8>| {
            buf.resize(range.len(), 0);
            self.expected_into(align, range.start as u64, buf);
            let c = count_errors(&decisions[range.clone()], buf, m, align.transform.bit_mapping());
            c.bit_errors as f64 > thr * (range.len() * bps) as f64
        };

        // Extend backwards from the sync point over windows that agree with the alignment.
        let mut first = (alignment.sync_index as usize).min(n);
        while first > 0 {
            let a = first.saturating_sub(w);
            if window_bad(a..(a + w).min(n), &align, &mut buf) {
                break;
            }
            first = a;
        }

        let mut tally = Tally {
            counts: ErrorCounts::default(),
            symbols: 0,
            positions: Vec::new(),
            cap: self.config.max_error_positions,
        };
        let mut skipped = first as u64;
        let mut resyncs = 0u32;
        let mut sync_lost = false;
        let mut pos = first;
        let mut cursor = self.cursor(align.pattern_position(pos as u64));
        // The previous window stays pending (uncounted) one step, so that a slip that begins
        // inside it can still be counted across the right switch point.
        let mut pending: Option<(Range<usize>, ErrorCounts, SymbolTransform)> = None;
        let mut pending_exp = vec![0u8; w];
        let commit = |tally: &mut Tally, p: Option<(Range<usize>, ErrorCounts, SymbolTransform)>, exp: &[u8]| {
            if let Some((r, pc, t)) = p {
                let len = r.len();
                tally.add(r.start, &decisions[r], &exp[..len], pc, m, t.bit_mapping());
            }
        };
        buf.resize(w, 0);
        while pos < n {
            let end = (pos + w).min(n);
            let exp = &mut buf[..end - pos];
            self.fill_next(&mut cursor, exp);
            align.transform.apply_in_place(m, exp);
            let dec = &decisions[pos..end];
            let c = count_errors(dec, exp, m, align.transform.bit_mapping());
            let bits = ((end - pos) * bps) as f64;
            let bad = (end - pos) * bps >= self.config.min_validate_bits && c.bit_errors as f64 > thr * bits;
            let recovery = if bad {
                self.recover(decisions, pos, end, &align)
            } else {
                Recovery::Burst { resume: end }
            };
            match recovery {
                Recovery::Burst { resume } if resume == end => {
                    commit(&mut tally, pending.take(), &pending_exp);
                    pending = Some((pos..end, c, align.transform));
                    std::mem::swap(&mut buf, &mut pending_exp);
                    pos = end;
                }
                Recovery::Burst { resume } => {
                    commit(&mut tally, pending.take(), &pending_exp);
                    tally.add_masks(pos, &self.masks(decisions, pos..resume, &align));
                    pos = resume;
                    cursor = self.cursor(align.pattern_position(pos as u64));
                }
                Recovery::Resynced { alignment: new, resume } => {
                    let from = pending.take().map_or(pos, |(r, _, _)| r.start);
                    skipped += self.tally_split(decisions, from..resume, &align, &new, &mut tally);
                    align = new;
                    resyncs += 1;
                    pos = resume;
                    cursor = self.cursor(align.pattern_position(pos as u64));
                }
                Recovery::Lost => {
                    let from = pending.take().map_or(pos, |(r, _, _)| r.start);
                    let masks = self.masks(decisions, from..n, &align);
                    let keep = best_prefix(&masks, thr * bps as f64);
                    tally.add_masks(from, &masks[..keep]);
                    skipped += (n - from - keep) as u64;
                    sync_lost = true;
                    break;
                }
            }
        }
        commit(&mut tally, pending.take(), &pending_exp);

        let symbols = tally.symbols;
        let bits = symbols * bps as u64;
        let ratio = |k: u64, n: u64| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let truncated = tally.counts.symbol_errors > tally.positions.len() as u64;
        Ok(ErrorReport {
            pattern: self.name.clone(),
            modulation: m,
            transform: alignment.transform,
            alignment: *alignment,
            symbols,
            symbol_errors: tally.counts.symbol_errors,
            bits,
            bit_errors: tally.counts.bit_errors,
            ser: ratio(tally.counts.symbol_errors, symbols),
            ber: ratio(tally.counts.bit_errors, bits),
            ber_ci95: clopper_pearson(tally.counts.bit_errors, bits, 0.95),
            resyncs,
            first_synced_symbol: first as u64,
            skipped_symbols: skipped,
            sync_lost,
            error_positions: tally.positions,
            error_positions_truncated: truncated,
        })
    }

    /// Decides what the bad window `pos..end` was.
    fn recover(&self, decisions: &[u8], pos: usize, end: usize, align: &Alignment) -> Recovery {
        let n = decisions.len();
        let bps = self.modulation.bits_per_symbol();
        let min_symbols = self.config.min_validate_bits.div_ceil(bps);
        let probe = if n - end >= min_symbols {
            end..(end + self.config.resync_window.max(min_symbols)).min(n)
        } else {
            pos..end
        };
        if let Some(delta) = self.local_search(decisions, probe, align) {
            return if delta == 0 {
                Recovery::Burst { resume: end }
            } else {
                Recovery::Resynced {
                    alignment: align.shifted(delta),
                    resume: end,
                }
            };
        }
        let to = end.saturating_add(self.config.search_symbols).min(n);
        match self.acquire(decisions, end, to, &[align.transform]) {
            // Found where it was: a long burst, not a slip.
            Some(found) if found.alignment.position == align.position => Recovery::Burst {
                resume: (found.alignment.sync_index as usize).max(end),
            },
            Some(found) => Recovery::Resynced {
                resume: (found.alignment.sync_index as usize).max(end),
                alignment: found.alignment,
            },
            None => Recovery::Lost,
        }
    }

    /// Best slip `δ` (pattern symbols, |δ| ≤ max_slip, 0 first, smaller first on ties) for the
    /// decisions in `probe`, if it validates.
    fn local_search(&self, decisions: &[u8], probe: Range<usize>, align: &Alignment) -> Option<i64> {
        let m = self.modulation;
        let len = probe.len();
        let dm = (self.config.max_slip as u64).min(self.period.saturating_sub(1) / 2) as usize;
        let mut buf = vec![0u8; len + 2 * dm];
        let start = align.shifted(-(dm as i64)).pattern_position(probe.start as u64);
        self.fill_canonical(start, &mut buf);
        align.transform.apply_in_place(m, &mut buf);
        let dec = &decisions[probe];
        let mapping = align.transform.bit_mapping();
        let limit = (self.config.align_max_ber * (len * m.bits_per_symbol()) as f64).floor() as u64;
        let mut best: Option<(i64, u64)> = None;
        for step in 0..=2 * dm as i64 {
            let delta = if step % 2 == 1 { (step + 1) / 2 } else { -(step / 2) };
            let at = (dm as i64 + delta) as usize;
            let e = count_errors(dec, &buf[at..at + len], m, mapping).bit_errors;
            if best.is_none_or(|(_, be)| e < be) {
                best = Some((delta, e));
            }
        }
        best.filter(|&(_, e)| e <= limit).map(|(d, _)| d)
    }

    /// Error masks of decisions `range` against `align`.
    fn masks(&self, decisions: &[u8], range: Range<usize>, align: &Alignment) -> Vec<u8> {
        let mut exp = vec![0u8; range.len()];
        self.expected_into(align, range.start as u64, &mut exp);
        let mapping = align.transform.bit_mapping();
        decisions[range]
            .iter()
            .zip(&exp)
            .map(|(&d, &e)| error_mask(d, e, self.modulation, mapping))
            .collect()
    }

    /// Counts `region` across a change of alignment: the old alignment up to the point where
    /// it stops fitting, the new one from where it starts fitting, and, if these leave a gap
    /// (garbage between them), skips the gap. Returns the symbols skipped.
    fn tally_split(&self, decisions: &[u8], region: Range<usize>, old: &Alignment, new: &Alignment, tally: &mut Tally) -> u64 {
        const MIN_GAP: usize = 16;
        if region.is_empty() {
            return 0;
        }
        let per_symbol = self.config.resync_ber_threshold * self.modulation.bits_per_symbol() as f64;
        let mo = self.masks(decisions, region.clone(), old);
        let mn = self.masks(decisions, region.clone(), new);
        let s1 = best_prefix(&mo, per_symbol);
        let rev: Vec<u8> = mn.iter().rev().copied().collect();
        let s2 = mn.len() - best_prefix(&rev, per_symbol);
        if s2 > s1 + MIN_GAP {
            tally.add_masks(region.start, &mo[..s1]);
            tally.add_masks(region.start + s2, &mn[s2..]);
            return (s2 - s1) as u64;
        }
        // One switch point: minimise errors(old before) + errors(new after).
        let total_new: i64 = mn.iter().map(|m| m.count_ones() as i64).sum();
        let (mut best_s, mut best_cost) = (0usize, total_new);
        let (mut cum_old, mut cum_new) = (0i64, 0i64);
        for s in 1..=mo.len() {
            cum_old += mo[s - 1].count_ones() as i64;
            cum_new += mn[s - 1].count_ones() as i64;
            let cost = cum_old + total_new - cum_new;
            if cost < best_cost {
                best_cost = cost;
                best_s = s;
            }
        }
        tally.add_masks(region.start, &mo[..best_s]);
        tally.add_masks(region.start + best_s, &mn[best_s..]);
        0
    }
}

/// Length of the prefix of `masks` that maximises Σ (allowance − bit errors): where an
/// alignment stops fitting (earliest maximum).
pub(crate) fn best_prefix(masks: &[u8], allowance: f64) -> usize {
    let (mut best, mut best_score, mut score) = (0usize, 0.0f64, 0.0f64);
    for (i, m) in masks.iter().enumerate() {
        score += allowance - m.count_ones() as f64;
        if score > best_score {
            best_score = score;
            best = i + 1;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Block-wise expected symbols equal one fill from the start, for LFSR and stored patterns,
    /// every transform, starts past the period, and block layouts around the range length.
    #[test]
    fn blockwise_expected_equals_one_fill() {
        let block = 100;
        for (name, m) in [("prbs9q", Modulation::Pam4), ("prbs9", Modulation::Nrz), ("ssprq", Modulation::Pam4), ("prbs13q", Modulation::Pam4)] {
            let pattern = crate::pattern::Pattern::parse(name).unwrap();
            let checker = PatternChecker::new(&pattern, m, SyncConfig::default()).unwrap();
            let period = checker.period();
            for (ti, transform) in SymbolTransform::candidates(m, true, true, true, true).into_iter().enumerate() {
                let alignment = Alignment { transform, position: (37 * ti as u64 + 5) % period, period, sync_index: 0, validation_bits: 0, validation_bit_errors: 0 };
                for (start, len) in [(0, 0), (3, 1), (0, block - 1), (0, block), (7, block + 1), (period as usize - 50, 5 * block + 33)] {
                    let mut want = vec![0u8; len];
                    checker.expected_into(&alignment, start as u64, &mut want);
                    assert_eq!(checker.expected_in_blocks(&alignment, start..start + len, block), want, "{name} {transform:?} start {start} len {len}");
                    assert_eq!(checker.expected(&alignment, start..start + len), want);
                }
            }
        }
    }

    /// The FFT match counts equal brute-force counting, in both layouts and for every transform.
    #[test]
    fn correlation_equals_brute_force() {
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for (m, p, window) in [(Modulation::Pam4, 50, 300), (Modulation::Pam4, 500, 200), (Modulation::Nrz, 37, 100), (Modulation::Nrz, 300, 120)] {
            let levels = m.levels() as u8;
            let period: Vec<u8> = (0..p).map(|_| r.random_range(0..levels)).collect();
            let dec: Vec<u8> = (0..window).map(|_| r.random_range(0..levels)).collect();
            let corr = Correlator::new(&period, m, window);
            assert_eq!(corr.folds(), window >= p);
            let mut ws = corr.take_workspace(m);
            corr.load_window(&dec, p, &mut ws);
            for pair in SymbolTransform::candidates(m, true, true, true, true).chunks(2) {
                corr.correlate_pair(pair, m, &mut ws);
                for (k, t) in pair.iter().enumerate() {
                    let lut = t.lut(m);
                    for o in 0..p {
                        let brute = (0..window).filter(|&j| dec[j] == lut[period[(o + j) % p] as usize]).count();
                        let c = ws.work[o];
                        let fft = if k == 0 { c.re } else { c.im } / corr.len() as f32;
                        assert!((fft - brute as f32).abs() < 1e-2, "{m} p={p} {t:?} o={o}: {fft} vs {brute}");
                    }
                }
            }
        }
    }
}
