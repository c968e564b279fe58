//! Pattern synchronisation: where in the pattern do the decisions start, and under which
//! [`SymbolTransform`].
//!
//! Two acquisition methods, both robust at 20 % symbol errors:
//! * **PRBS family** (LFSR structure): take n consecutive received bits as the register, run
//!   the generator forward and compare with the following bits. A seed containing an error gives
//!   a different phase of the sequence and ≈ 50 % disagreement; a clean seed gives the channel's
//!   BER. Seeds are tried at every symbol until one validates, so a run of n clean bits is all
//!   that is needed. The position in the pattern then follows from a discrete logarithm.
//! * **Stored patterns** (SSPRQ, user): the decisions are folded modulo the period into one
//!   indicator sequence per level, and the number of matching symbols at every cyclic offset is
//!   obtained for all transforms at once by FFT cross-correlation. The best offset is then
//!   validated by an exact bit-error count.
//!
//! A candidate is accepted when its bit error ratio over the validation window is at most
//! [`SyncConfig::align_max_ber`]; random data sits near 0.5, so a stream that is not the
//! pattern fails with [`crate::Error::PatternSyncFailed`] instead of reporting BER ≈ 0.5.

use super::checker::{CorrelationWorkspace, Correlator, PatternChecker};
use super::count::count_errors;
use super::transform::SymbolTransform;
use crate::modulation::{gray_to_binary, Modulation};
use crate::{Error, Result};
use rustfft::num_complex::Complex32;
use serde::{Deserialize, Serialize};

/// Synchronisation and error-counting settings. Defaults follow usual BERT behaviour with
/// automatic detection of every transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncConfig {
    /// Try inverted polarity (`M − 1 − s`).
    pub allow_inversion: bool,
    /// Try complemented pattern bits (PAM4; on NRZ this is the same as inversion).
    pub allow_data_inversion: bool,
    /// Try swapped PAM4 bit pairs.
    pub allow_msb_lsb_swap: bool,
    /// Try natural-binary PAM4 mapping.
    pub allow_binary_mapping: bool,
    /// Decisions from the start (or from a loss of sync) in which acquisition looks for a sync
    /// point before giving up.
    pub search_symbols: usize,
    /// Bits compared to validate a candidate alignment.
    pub validate_bits: usize,
    /// Fewest bits a validation may use (shorter inputs are [`Error::InputTooShort`]).
    pub min_validate_bits: usize,
    /// Largest bit error ratio over the validation window for a candidate to be accepted.
    pub align_max_ber: f64,
    /// Decisions folded per correlation window for stored patterns (SSPRQ, user).
    pub correlation_window: usize,
    /// Symbols per monitoring window: when a window's bit error ratio exceeds
    /// `resync_ber_threshold`, sync is checked and re-acquired if it slipped.
    pub resync_window: usize,
    /// Bit error ratio of a window above which loss of sync is suspected.
    pub resync_ber_threshold: f64,
    /// Largest slip (symbols, either direction) searched locally before a full re-acquisition.
    pub max_slip: usize,
    /// Error positions kept in the report (the rest are counted only).
    pub max_error_positions: usize,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            allow_inversion: true,
            allow_data_inversion: true,
            allow_msb_lsb_swap: true,
            allow_binary_mapping: true,
            search_symbols: 1 << 16,
            validate_bits: 2048,
            min_validate_bits: 256,
            align_max_ber: 0.25,
            correlation_window: 1 << 14,
            resync_window: 1024,
            resync_ber_threshold: 0.25,
            max_slip: 64,
            max_error_positions: 1 << 20,
        }
    }
}

impl SyncConfig {
    /// Checks ranges; every field is used as a size or a ratio.
    pub fn validate(&self) -> Result<()> {
        let ratio = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 && v < 0.5 {
                Ok(())
            } else {
                Err(Error::invalid(name, v, "must be in (0, 0.5): random data has a bit error ratio of 0.5"))
            }
        };
        ratio("align_max_ber", self.align_max_ber)?;
        ratio("resync_ber_threshold", self.resync_ber_threshold)?;
        let positive = |name: &'static str, v: usize| {
            if v == 0 {
                Err(Error::invalid(name, v, "must be at least 1"))
            } else {
                Ok(())
            }
        };
        positive("search_symbols", self.search_symbols)?;
        positive("correlation_window", self.correlation_window)?;
        positive("resync_window", self.resync_window)?;
        if self.min_validate_bits < 64 {
            return Err(Error::invalid(
                "min_validate_bits",
                self.min_validate_bits,
                "at least 64 bits are needed to tell a pattern from random data",
            ));
        }
        if self.validate_bits < self.min_validate_bits {
            return Err(Error::invalid(
                "validate_bits",
                self.validate_bits,
                format!("must be at least min_validate_bits = {}", self.min_validate_bits),
            ));
        }
        if self.correlation_window > 1 << 22 {
            return Err(Error::invalid(
                "correlation_window",
                self.correlation_window,
                "at most 2^22 symbols (the correlation FFT grows with it)",
            ));
        }
        if self.max_slip > 1 << 20 {
            return Err(Error::invalid("max_slip", self.max_slip, "at most 2^20 symbols"));
        }
        Ok(())
    }

    pub(crate) fn transforms(&self, modulation: Modulation) -> Vec<SymbolTransform> {
        SymbolTransform::candidates(
            modulation,
            self.allow_inversion,
            self.allow_data_inversion,
            self.allow_msb_lsb_swap,
            self.allow_binary_mapping,
        )
    }
}

/// Where decisions sit in the pattern: enough to regenerate the expected symbol of any decision
/// index ([`PatternChecker::expected`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Alignment {
    /// How the received symbols relate to the pattern.
    pub transform: SymbolTransform,
    /// Pattern symbol index (0 ≤ position < period) that `decisions[0]` carries. Symbol 0 is
    /// the first symbol [`super::Pattern::generate`] returns.
    pub position: u64,
    /// Pattern period in symbols.
    pub period: u64,
    /// Decision index where the alignment was found and validated.
    pub sync_index: u64,
    /// Bits in the validation window.
    pub validation_bits: u64,
    /// Bit errors in the validation window.
    pub validation_bit_errors: u64,
}

impl Alignment {
    /// Bit error ratio over the validation window.
    pub fn validation_ber(&self) -> f64 {
        if self.validation_bits == 0 {
            0.0
        } else {
            self.validation_bit_errors as f64 / self.validation_bits as f64
        }
    }

    /// Pattern symbol index carried by decision `index`.
    pub fn pattern_position(&self, index: u64) -> u64 {
        if self.period == 0 {
            return 0;
        }
        ((self.position as u128 + index as u128) % self.period as u128) as u64
    }

    /// The same alignment moved by `delta` pattern symbols (a slip of `delta`).
    pub(crate) fn shifted(&self, delta: i64) -> Alignment {
        let p = self.period as i128;
        Alignment {
            position: (self.position as i128 + delta as i128).rem_euclid(p.max(1)) as u64,
            ..*self
        }
    }
}

/// Received bits for LFSR seeding, packed MSB-first (bit r at word r/64, bit 63 − r%64).
struct PackedBits {
    words: Vec<u64>,
}

impl PackedBits {
    fn new(decisions: &[u8], canonical_bits: &[u8; 4], modulation: Modulation) -> Self {
        let bps = modulation.bits_per_symbol();
        let len = decisions.len() * bps;
        let mut words = vec![0u64; len.div_ceil(64) + 1];
        let mut acc = 0u64;
        let mut filled = 0usize;
        let mut w = 0usize;
        for &d in decisions {
            acc = (acc << bps) | canonical_bits[(d & 3) as usize] as u64;
            filled += bps;
            if filled == 64 {
                words[w] = acc;
                w += 1;
                acc = 0;
                filled = 0;
            }
        }
        if filled > 0 {
            words[w] = acc << (64 - filled);
        }
        PackedBits { words }
    }

    /// `k ≤ 64` bits from bit `r`, MSB-first in the low `k` bits. Reads past the end are zero.
    #[inline]
    fn get(&self, r: usize, k: u32) -> u64 {
        if k == 0 {
            return 0;
        }
        let (w, o) = (r / 64, (r % 64) as u32);
        let hi = self.words.get(w).copied().unwrap_or(0);
        let lo = self.words.get(w + 1).copied().unwrap_or(0);
        let v = if o == 0 { hi } else { (hi << o) | (lo >> (64 - o)) };
        v >> (64 - k)
    }
}

/// A seed of the LFSR acquisition, tested against every transform's packed bits.
enum SeedFit {
    /// Fewer than `n + min_validate_bits` bits from the seed on.
    TooShort,
    /// The transform, error count and state of the best fit within the error limit over
    /// `v_bits` validation bits, if any.
    Tried { best: Option<(usize, u64, u64)>, v_bits: usize },
}

/// What testing one seed needs: the generator, the received bits of the chunk under each
/// transform, and the limits.
struct SeedProbe<'a> {
    lfsr: &'a super::prbs::Lfsr,
    word: &'a super::prbs::LfsrWord,
    packed: &'a [PackedBits],
    n: usize,
    inv_out: u64,
    total_bits: usize,
    cfg: &'a SyncConfig,
}

impl SeedProbe<'_> {
    /// The fit of the seed at bit `r0` of the chunk: the register is the `n` bits there, and
    /// the generator run on from it is compared with the following bits.
    fn fit(&self, r0: usize) -> SeedFit {
        let (n, cfg) = (self.n, self.cfg);
        if r0 + n + cfg.min_validate_bits > self.total_bits {
            return SeedFit::TooShort;
        }
        let v_bits = cfg.validate_bits.min(self.total_bits - r0 - n);
        let limit = (cfg.align_max_ber * v_bits as f64).floor() as u64;
        let mut best: Option<(usize, u64, u64)> = None; // (transform, errors, state)
        for (ti, bits) in self.packed.iter().enumerate() {
            let state = bits.get(r0, n as u32) ^ self.inv_out;
            if state == 0 {
                continue;
            }
            let mut s = state;
            let mut errors = 0u64;
            let mut checked = 0usize;
            let mut pos = r0 + n;
            while checked < v_bits {
                let k = (v_bits - checked).min(64) as u32;
                let g = if k == 64 { self.word.next64(&mut s) } else { self.lfsr.next_bits(&mut s, k) };
                errors += (g ^ bits.get(pos, k)).count_ones() as u64;
                checked += k as usize;
                pos += k as usize;
                // A wrong seed disagrees on half the bits; stop as soon as it cannot pass,
                // and early when the first word already looks random.
                if errors > limit || (checked == 64 && errors > 24) {
                    break;
                }
            }
            if errors <= limit && checked >= v_bits && best.is_none_or(|(_, e, _)| errors < e) {
                best = Some((ti, errors, state));
            }
        }
        SeedFit::Tried { best, v_bits }
    }
}

/// Seeds tried before the first batch of a whole chunk (a clean capture syncs on its first).
const FIRST_SEEDS: usize = 64;
/// Seeds per task of the acquisition's batches.
const SEED_TASK: usize = 256;

/// An accepted acquisition candidate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    pub alignment: Alignment,
}

/// Seeds examined after a marginal (high-BER) fit before the best of them is taken.
const MARGINAL_SPAN: usize = 4096;
/// Seeds examined per packing of the received bits.
const SEED_CHUNK: usize = 4096;

impl PatternChecker {
    /// Shortest input acquisition can work with, in symbols.
    pub(crate) fn min_symbols(&self) -> usize {
        let bps = self.modulation().bits_per_symbol();
        let seed_bits = self.prbs_order().unwrap_or(0) as usize;
        (seed_bits + self.config().min_validate_bits).div_ceil(bps)
    }

    /// Finds the first sync point with index in `from..to` (seed start or correlation window
    /// start), trying `transforms`.
    pub(crate) fn acquire(
        &self,
        decisions: &[u8],
        from: usize,
        to: usize,
        transforms: &[SymbolTransform],
    ) -> Option<Found> {
        if self.prbs_order().is_some() {
            self.acquire_lfsr(decisions, from, to, transforms)
        } else {
            self.acquire_correlation(decisions, from, to, transforms)
        }
    }

    /// The alignment of a PRBS fit at seed symbol `i` under `transform` whose LFSR state
    /// before the seed's received bits is `state` (`errors` in `v_bits` validation bits).
    fn lfsr_found(&self, i: usize, transform: SymbolTransform, errors: u64, state: u64, v_bits: usize) -> Option<Found> {
        let prbs = self.prbs_state()?;
        let lfsr = &prbs.lfsr;
        let m = self.modulation();
        let (bps, n) = (m.bits_per_symbol(), lfsr.order() as usize);
        // The seed state precedes received bit R; find its clock t in the pattern.
        let t = prbs.index.position(state)?;
        let pb = lfsr.period();
        let r_global = ((i * bps + n) as u64) % pb;
        let u = (t + pb - r_global) % pb; // pattern bit of decisions[0]
        let position = match m {
            Modulation::Nrz => u,
            Modulation::Pam4 => ((u as u128 * pb.div_ceil(2) as u128) % pb as u128) as u64,
        };
        Some(Found {
            alignment: Alignment {
                transform,
                position,
                period: self.period(),
                sync_index: i as u64,
                validation_bits: v_bits as u64,
                validation_bit_errors: errors,
            },
        })
    }

    fn acquire_lfsr(&self, decisions: &[u8], from: usize, to: usize, transforms: &[SymbolTransform]) -> Option<Found> {
        let prbs = self.prbs_state()?;
        let lfsr = &prbs.lfsr;
        let m = self.modulation();
        let bps = m.bits_per_symbol();
        let cfg = self.config();
        let n = lfsr.order() as usize;
        let mask = lfsr.state_mask();
        let inv_out = if lfsr.output_inverted() { mask } else { 0 };
        let tail_symbols = (n + cfg.validate_bits).div_ceil(bps) + 1;
        let to = to.min(decisions.len());
        // A marginal fit (e.g. a Gray stream read as binary: 25 % BER on every seed) must not
        // win over the true transform whose first seed happened to hold an error. Accept a
        // clean fit at once; otherwise keep the best fit over a further span of seeds.
        let mut marginal: Option<Found> = None;
        let mut marginal_deadline = usize::MAX;
        let build = |i: usize, ti: usize, errors: u64, state: u64, v_bits: usize| self.lfsr_found(i, transforms[ti], errors, state, v_bits);
        // Every seed's fit is a pure function of the seed, so the fits are computed on the pool
        // (a batch of seeds at a time) and then walked in seed order by the sequential rules
        // below: the same sync point as testing the seeds one by one, for any thread count.
        let mut chunk_start = from;
        while chunk_start < to {
            let chunk_end = (chunk_start + SEED_CHUNK).min(to);
            let window = &decisions[chunk_start..(chunk_end + tail_symbols).min(decisions.len())];
            let packed: Vec<PackedBits> = {
                use rayon::prelude::*;
                transforms.par_iter().map(|t| transform_bits(window, t, m)).collect()
            };
            let total_bits = window.len() * bps;
            let probe = SeedProbe { lfsr, word: &prbs.word, packed: &packed, n, inv_out, total_bits, cfg };
            // A clean capture syncs on its first seed: try a few before a whole chunk.
            let mut batch_start = chunk_start;
            let mut batch = if chunk_start == from { FIRST_SEEDS } else { SEED_CHUNK };
            while batch_start < chunk_end {
                let batch_end = (batch_start + batch).min(chunk_end);
                batch = SEED_CHUNK;
                let fits: Vec<SeedFit> = {
                    use rayon::prelude::*;
                    (batch_start..batch_end).into_par_iter().with_min_len(SEED_TASK).map(|i| probe.fit((i - chunk_start) * bps)).collect()
                };
                for (i, fit) in (batch_start..batch_end).zip(fits) {
                    let (best, v_bits) = match fit {
                        SeedFit::TooShort => return None, // later seeds have even less data behind them
                        SeedFit::Tried { best, v_bits } => (best, v_bits),
                    };
                    if i >= marginal_deadline {
                        return marginal;
                    }
                    if let Some((ti, errors, state)) = best {
                        let limit = (cfg.align_max_ber * v_bits as f64).floor() as u64;
                        if errors * 4 <= limit {
                            return build(i, ti, errors, state, v_bits);
                        }
                        let ber = errors as f64 / v_bits as f64;
                        if marginal.as_ref().is_none_or(|f| ber < f.alignment.validation_ber()) {
                            marginal = build(i, ti, errors, state, v_bits);
                            marginal_deadline = marginal_deadline.min(i + MARGINAL_SPAN);
                        }
                    }
                }
                batch_start = batch_end;
            }
            chunk_start = chunk_end;
        }
        marginal
    }

    fn acquire_correlation(
        &self,
        decisions: &[u8],
        from: usize,
        to: usize,
        transforms: &[SymbolTransform],
    ) -> Option<Found> {
        let corr = self.correlator()?;
        let mut ws = corr.take_workspace(self.modulation());
        let found = self.acquire_correlation_in(decisions, from, to, transforms, corr, &mut ws);
        corr.return_workspace(ws);
        found
    }

    fn acquire_correlation_in(
        &self,
        decisions: &[u8],
        from: usize,
        to: usize,
        transforms: &[SymbolTransform],
        corr: &Correlator,
        ws: &mut CorrelationWorkspace,
    ) -> Option<Found> {
        let m = self.modulation();
        let bps = m.bits_per_symbol();
        let cfg = self.config();
        let p = self.period() as usize;
        let to = to.min(decisions.len());
        let mut start = from;
        let mut expected = Vec::new();
        while start < to {
            let w = cfg.correlation_window.min(decisions.len() - start);
            if w * bps < cfg.min_validate_bits {
                return None;
            }
            let win = &decisions[start..start + w];
            corr.load_window(win, p, ws);
            // Best cyclic offset (pattern position of decisions[start]) per transform, then an
            // exact bit-error count there. Patterns with internal symmetry (SSPRQ repeats its
            // 16 384-symbol core inverted) fit several transforms over one window, so a
            // candidate is settled at once only if it also fits a full period beyond the window;
            // otherwise all transforms are scored and the longest available stretch decides.
            let bits = (w * bps) as u64;
            let limit = (cfg.align_max_ber * bits as f64).floor() as u64;
            let decider = (start + w + p).min(decisions.len());
            let span = &decisions[start..decider];
            let long_limit = (cfg.align_max_ber * (span.len() * bps) as f64).floor() as u64;
            let full_span = decider == start + w + p;
            let mut offsets = vec![0usize; transforms.len()];
            let mut valid: Vec<(usize, u64)> = Vec::new();
            let mut settled = None;
            'pairs: for (pi, pair) in transforms.chunks(2).enumerate() {
                corr.correlate_pair(pair, m, ws);
                for (k, &t) in pair.iter().enumerate() {
                    let ti = 2 * pi + k;
                    let score = |c: &Complex32| if k == 0 { c.re } else { c.im };
                    let mut best = (0usize, f32::MIN);
                    for (o, c) in ws.work[..p].iter().enumerate() {
                        let s = score(c);
                        if s > best.1 {
                            best = (o, s);
                        }
                    }
                    offsets[ti] = best.0;
                    expected.resize(w, 0);
                    self.fill_canonical(best.0 as u64, &mut expected);
                    t.apply_in_place(m, &mut expected);
                    let e = count_errors(win, &expected, m, t.bit_mapping()).bit_errors;
                    if e > limit {
                        continue;
                    }
                    if full_span {
                        expected.resize(span.len(), 0);
                        self.fill_canonical(best.0 as u64, &mut expected);
                        t.apply_in_place(m, &mut expected);
                        if count_errors(span, &expected, m, t.bit_mapping()).bit_errors <= long_limit {
                            settled = Some(ti);
                            break 'pairs;
                        }
                    }
                    valid.push((ti, e));
                }
            }
            if let Some(ti) = settled {
                valid = vec![(ti, 0)];
            } else if valid.len() > 1 && decider > start + w {
                expected.resize(span.len(), 0);
                let mut scored: Vec<(usize, u64, u64)> = valid
                    .iter()
                    .map(|&(ti, e)| {
                        let t = transforms[ti];
                        self.fill_canonical(offsets[ti] as u64, &mut expected);
                        t.apply_in_place(m, &mut expected);
                        (ti, e, count_errors(span, &expected, m, t.bit_mapping()).bit_errors)
                    })
                    .collect();
                scored.sort_by_key(|&(ti, _, long)| (long, ti));
                valid = scored.into_iter().map(|(ti, e, _)| (ti, e)).collect();
            } else {
                valid.sort_by_key(|&(ti, e)| (e, ti));
            }
            if let Some(&(ti, _)) = valid.first() {
                let t = transforms[ti];
                // The window may begin in garbage (after a loss of sync, or a capture that
                // starts early): sync starts where the alignment starts to fit.
                expected.resize(w, 0);
                self.fill_canonical(offsets[ti] as u64, &mut expected);
                t.apply_in_place(m, &mut expected);
                let masks: Vec<u8> = win
                    .iter()
                    .zip(&expected)
                    .rev()
                    .map(|(&d, &e)| super::count::error_mask(d, e, m, t.bit_mapping()))
                    .collect();
                let fit = super::checker::best_prefix(&masks, cfg.align_max_ber * bps as f64);
                let skip = w - fit;
                let errors: u64 = masks[..fit].iter().map(|x| x.count_ones() as u64).sum();
                let position = ((offsets[ti] as u64 + p as u64) - (start % p) as u64) % p as u64;
                return Some(Found {
                    alignment: Alignment {
                        transform: t,
                        position,
                        period: self.period(),
                        sync_index: (start + skip) as u64,
                        validation_bits: (fit * bps) as u64,
                        validation_bit_errors: errors,
                    },
                });
            }
            start += (w / 2).max(1);
        }
        None
    }
}

/// The pattern bits `window` carries under `transform`: each decision mapped back through the
/// transform (and from Gray for PAM4), packed for the seed fits.
fn transform_bits(window: &[u8], transform: &SymbolTransform, m: Modulation) -> PackedBits {
    let inv = transform.inverse_lut(m);
    let mut bits = [0u8; 4];
    for (d, b) in bits.iter_mut().enumerate().take(m.levels()) {
        *b = match m {
            Modulation::Nrz => inv[d],
            Modulation::Pam4 => gray_to_binary(inv[d]),
        };
    }
    PackedBits::new(window, &bits, m)
}

/// The seed-by-seed acquisition that [`PatternChecker::acquire`] replaced for PRBS patterns:
/// the reference its parallel seed search must reproduce.
#[cfg(test)]
impl PatternChecker {
    pub(super) fn acquire_lfsr_serial(&self, decisions: &[u8], from: usize, to: usize, transforms: &[SymbolTransform]) -> Option<Found> {
        let prbs = self.prbs_state()?;
        let lfsr = &prbs.lfsr;
        let m = self.modulation();
        let bps = m.bits_per_symbol();
        let cfg = self.config();
        let n = lfsr.order() as usize;
        let mask = lfsr.state_mask();
        let inv_out = if lfsr.output_inverted() { mask } else { 0 };
        let tail_symbols = (n + cfg.validate_bits).div_ceil(bps) + 1;
        let to = to.min(decisions.len());
        // A marginal fit (e.g. a Gray stream read as binary: 25 % BER on every seed) must not
        // win over the true transform whose first seed happened to hold an error. Accept a
        // clean fit at once; otherwise keep the best fit over a further span of seeds.
        let mut marginal: Option<Found> = None;
        let mut marginal_deadline = usize::MAX;
        let build = |i: usize, ti: usize, errors: u64, state: u64, v_bits: usize| self.lfsr_found(i, transforms[ti], errors, state, v_bits);
        let mut chunk_start = from;
        while chunk_start < to {
            let chunk_end = (chunk_start + SEED_CHUNK).min(to);
            let window = &decisions[chunk_start..(chunk_end + tail_symbols).min(decisions.len())];
            let packed: Vec<PackedBits> = transforms.iter().map(|t| transform_bits(window, t, m)).collect();
            let total_bits = window.len() * bps;
            for i in chunk_start..chunk_end {
                let r0 = (i - chunk_start) * bps;
                if r0 + n + cfg.min_validate_bits > total_bits {
                    return None; // later seeds have even less data behind them
                }
                let v_bits = cfg.validate_bits.min(total_bits - r0 - n);
                let limit = (cfg.align_max_ber * v_bits as f64).floor() as u64;
                let mut best: Option<(usize, u64, u64)> = None; // (transform, errors, state)
                for (ti, bits) in packed.iter().enumerate() {
                    let state = bits.get(r0, n as u32) ^ inv_out;
                    if state == 0 {
                        continue;
                    }
                    let mut s = state;
                    let mut errors = 0u64;
                    let mut checked = 0usize;
                    let mut pos = r0 + n;
                    while checked < v_bits {
                        let k = (v_bits - checked).min(64) as u32;
                        let g = if k == 64 { prbs.word.next64(&mut s) } else { lfsr.next_bits(&mut s, k) };
                        errors += (g ^ bits.get(pos, k)).count_ones() as u64;
                        checked += k as usize;
                        pos += k as usize;
                        // A wrong seed disagrees on half the bits; stop as soon as it cannot pass,
                        // and early when the first word already looks random.
                        if errors > limit || (checked == 64 && errors > 24) {
                            break;
                        }
                    }
                    if errors <= limit && checked >= v_bits && best.is_none_or(|(_, e, _)| errors < e) {
                        best = Some((ti, errors, state));
                    }
                }
                if i >= marginal_deadline {
                    return marginal;
                }
                if let Some((ti, errors, state)) = best {
                    if errors * 4 <= limit {
                        return build(i, ti, errors, state, v_bits);
                    }
                    let ber = errors as f64 / v_bits as f64;
                    if marginal.as_ref().is_none_or(|f| ber < f.alignment.validation_ber()) {
                        marginal = build(i, ti, errors, state, v_bits);
                        marginal_deadline = marginal_deadline.min(i + MARGINAL_SPAN);
                    }
                }
            }
            chunk_start = chunk_end;
        }
        marginal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_bits_reads_any_offset() {
        let d: Vec<u8> = (0..300u32).map(|i| ((i * 5 + i / 7) % 4) as u8).collect();
        let bits: Vec<u8> = d.iter().flat_map(|&s| [(s >> 1) & 1, s & 1]).collect();
        let p = PackedBits::new(&d, &[0, 1, 2, 3], Modulation::Pam4);
        for r in [0usize, 1, 63, 64, 65, 127, 300, 536] {
            for k in [1u32, 13, 31, 64] {
                let want = bits[r..(r + k as usize).min(600)]
                    .iter()
                    .fold(0u64, |a, &b| (a << 1) | b as u64)
                    << (r + k as usize).saturating_sub(600);
                assert_eq!(p.get(r, k), want, "r={r} k={k}");
            }
        }
    }

    /// The parallel seed search finds what the seed-by-seed walk finds: clean and noisy
    /// decisions (first seeds, a marginal fit held over the span, the sync point past the first
    /// batch and past chunk edges), random data (no fit), a tail too short to validate, and
    /// every transform.
    #[test]
    fn parallel_acquisition_equals_the_serial_walk() {
        use rand::{Rng, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for (name, m) in [("prbs13q", Modulation::Pam4), ("prbs9", Modulation::Nrz), ("prbs9q", Modulation::Pam4)] {
            let pattern = super::super::Pattern::parse(name).unwrap();
            let checker = PatternChecker::new(&pattern, m, SyncConfig::default()).unwrap();
            let levels = m.levels() as u8;
            let clean = pattern.generate(m, 3 * SEED_CHUNK + 700).unwrap();
            let transforms = checker.config().transforms(m);
            let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
            for t in &transforms {
                let mut d = clean.clone();
                t.apply_in_place(m, &mut d);
                cases.push((format!("clean {t:?}"), d));
            }
            // Symbol error ratios from clean to hopeless; random data; a garbled prefix that
            // pushes the sync point past the first batch and past the first chunk.
            for ser in [0.002, 0.02, 0.06, 0.12, 0.3] {
                cases.push((format!("ser {ser}"), clean.iter().map(|&s| if r.random_bool(ser) { r.random_range(0..levels) } else { s }).collect()));
            }
            cases.push(("random".into(), (0..clean.len()).map(|_| r.random_range(0..levels)).collect()));
            for garbled in [FIRST_SEEDS + 3, SEED_CHUNK - 10, SEED_CHUNK + 5] {
                let mut d = clean.clone();
                d[..garbled].iter_mut().for_each(|s| *s = r.random_range(0..levels));
                cases.push((format!("garbled to {garbled}"), d));
            }
            for (what, d) in &cases {
                for (from, to) in [(0, d.len()), (0, SEED_CHUNK + 1), (FIRST_SEEDS - 1, 2 * SEED_CHUNK), (d.len() - 900, d.len()), (d.len() - 10, d.len())] {
                    let got = checker.acquire(d, from, to, &transforms).map(|f| f.alignment);
                    let want = checker.acquire_lfsr_serial(d, from, to, &transforms).map(|f| f.alignment);
                    assert_eq!(got, want, "{name} {what} {from}..{to}");
                }
            }
        }
    }

    #[test]
    fn config_validation() {
        assert!(SyncConfig::default().validate().is_ok());
        let bad = SyncConfig {
            align_max_ber: 0.5,
            ..SyncConfig::default()
        };
        assert!(bad.validate().is_err());
        let bad = SyncConfig {
            min_validate_bits: 10,
            ..SyncConfig::default()
        };
        assert!(bad.validate().is_err());
    }
}
