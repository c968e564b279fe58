//! FEC codeword statistics from measured bit errors: what a KP4/KR4 decoder would have seen.
//!
//! The received bit stream (bit 0 first in time) is cut into *virtual* codeword groups from
//! `bit_offset` on: a group is `interleave` codewords of n symbols of 10 bits, RS symbol = 10
//! consecutive bits (802.3 119.2.4.6, LSB first), and the symbols of a group go to its
//! codewords as [`CodewordInterleaver`] describes (802.3 119.2.4.7 checkerboard for 2-way).
//! Only complete groups are counted. Each codeword's number of symbols with at least one bit
//! error goes into a histogram with one bin per count 0 … t and one bin for > t (the
//! "FEC codeword error bins" of 802.3ck/df as ethtool `ETHTOOL_A_FEC_STAT_HIST` and SAI
//! `SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_Sx` report them).
//!
//! Beside the measured histogram, [`RandomErrorModel`] gives what independent bit errors at
//! the same pre-FEC BER would produce (binomial symbol errors; the anslow_01_0613 method used
//! for the 802.3 FLR figures). Bursts, e.g. from DFE error propagation, show up as a measured
//! tail above the prediction.

use super::layout::{CodewordInterleaver, Pam4BitMapping, SYMBOL_BITS};
use super::rs::RsCode;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Bits on the wire per 64-octet frame for the frame-loss estimate: 64-octet frame + 8 octets
/// preamble/SFD + 12 octets inter-packet gap (standards.md §1.4).
pub const FRAME_BITS_64B: u32 = 672;

/// Settings of [`codeword_statistics`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FecStatsConfig {
    /// The RS code of the virtual codewords.
    pub code: RsCode,
    /// Codewords per interleaved group: 1 (100G), 2 (200G/400G checkerboard), 4 (800G).
    pub interleave: usize,
    /// Bit index where the first group starts (802.3 alignment; 0 when unknown).
    pub bit_offset: u64,
    /// Frame length in bits on the wire for the frame-loss estimate (672 = 64-octet frames).
    pub frame_bits: u32,
    /// How the analysis turned PAM4 symbols into the FEC bit stream (Gray, precoding); used by
    /// [`super::layout::bit_error_positions`], recorded here so a report says what was assumed.
    pub mapping: Pam4BitMapping,
}

impl Default for FecStatsConfig {
    fn default() -> Self {
        FecStatsConfig {
            code: RsCode::Kp4,
            interleave: 1,
            bit_offset: 0,
            frame_bits: FRAME_BITS_64B,
            mapping: Pam4BitMapping::default(),
        }
    }
}

/// Expected FEC statistics under independent bit errors (802.3 FLR model, standards.md §1.4):
/// p_s = 1 − (1 − BER)^10, P(k) = C(n,k) p_s^k (1 − p_s)^{n−k}.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RandomErrorModel {
    /// Symbol error probability p_s.
    pub symbol_error_probability: f64,
    /// P(k symbol errors) for k = 0 … t, then P(k > t).
    pub histogram: Vec<f64>,
    /// Codeword error ratio P(k > t).
    pub cer: f64,
    /// Post-FEC BER ≈ Σ_{k>t} (k/n) P(k) · BER/p_s (uncorrectable words keep their errors).
    pub post_fec_ber: f64,
    /// 64-octet frame loss ratio ≈ N·CER·(1 + frame_bits/(N·k·10)), N = interleave.
    pub frame_loss_ratio: f64,
}

impl RandomErrorModel {
    /// The model for `code` at pre-FEC bit error ratio `ber` (0 ≤ ber ≤ 1).
    pub fn new(code: RsCode, ber: f64, interleave: usize, frame_bits: u32) -> Result<Self> {
        if !(0.0..=1.0).contains(&ber) {
            return Err(Error::invalid("pre-FEC BER", ber, "must be within [0, 1]"));
        }
        check_interleave(interleave)?;
        let (n, t) = (code.n(), code.t());
        let ps = -(SYMBOL_BITS as f64 * (-ber).ln_1p()).exp_m1();
        let ps = ps.clamp(0.0, 1.0);
        let mut pk = vec![0.0f64; n + 1];
        if ps == 0.0 {
            pk[0] = 1.0;
        } else if ps == 1.0 {
            pk[n] = 1.0;
        } else {
            let (lp, lq) = (ps.ln(), (-ps).ln_1p());
            let mut ln_c = 0.0f64;
            for (k, p) in pk.iter_mut().enumerate() {
                if k > 0 {
                    ln_c += ((n - k + 1) as f64).ln() - (k as f64).ln();
                }
                *p = (ln_c + k as f64 * lp + (n - k) as f64 * lq).exp();
            }
        }
        let cer: f64 = pk[t + 1..].iter().sum();
        let ser_out: f64 = pk.iter().enumerate().skip(t + 1).map(|(k, p)| k as f64 / n as f64 * p).sum();
        let post_fec_ber = if ps > 0.0 { ser_out * ber / ps } else { 0.0 };
        let mut histogram = pk[..=t].to_vec();
        histogram.push(cer);
        Ok(RandomErrorModel {
            symbol_error_probability: ps,
            histogram,
            cer,
            post_fec_ber,
            frame_loss_ratio: frame_loss(cer * interleave as f64, interleave, code, frame_bits),
        })
    }
}

/// FLR from the probability that a codeword group fails: a frame is lost when it overlaps a
/// failed group, 1 + frame_bits/group_payload_bits groups per frame on average.
fn frame_loss(group_failure: f64, interleave: usize, code: RsCode, frame_bits: u32) -> f64 {
    let group_payload = (interleave * code.k() * SYMBOL_BITS) as f64;
    (group_failure * (1.0 + frame_bits as f64 / group_payload)).min(1.0)
}

fn check_interleave(interleave: usize) -> Result<()> {
    if matches!(interleave, 1 | 2 | 4) {
        Ok(())
    } else {
        Err(Error::invalid("fec interleave", interleave, "expected 1, 2 or 4 codewords"))
    }
}

/// Codeword statistics of one measurement (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodewordStatistics {
    /// The RS code.
    pub code: RsCode,
    /// Codewords per interleaved group.
    pub interleave: usize,
    /// Complete codewords counted.
    pub codewords: u64,
    /// Codewords with k symbol errors, k = 0 … t, then the codewords with more than t.
    pub histogram: Vec<u64>,
    /// Codewords with more than t symbol errors (= the last histogram bin).
    pub uncorrectable: u64,
    /// Codeword error ratio, uncorrectable / codewords.
    pub cer: f64,
    /// Bit errors in the counted groups / bits in the counted groups.
    pub pre_fec_ber: f64,
    /// Bit errors in the counted groups.
    pub pre_fec_bit_errors: u64,
    /// Symbol errors (symbols with ≥ 1 bit error) in the counted groups.
    pub symbol_errors: u64,
    /// Bit errors left after decoding (those of uncorrectable codewords) / counted bits.
    pub post_fec_ber: f64,
    /// Bit errors left after decoding.
    pub post_fec_bit_errors: u64,
    /// Largest number of symbol errors in one codeword.
    pub max_symbol_errors: u64,
    /// Complete codeword groups counted.
    pub groups: u64,
    /// Groups with at least one uncorrectable codeword (802.3 marks the whole group bad).
    pub failed_groups: u64,
    /// Frame loss ratio estimated from the failed groups (672-bit frames by default).
    pub frame_loss_ratio: f64,
    /// Bits inside the counted groups.
    pub counted_bits: u64,
    /// Bit errors outside the counted groups (before `bit_offset` or in a trailing partial group).
    pub ignored_bit_errors: u64,
    /// CER that independent errors at the measured pre-FEC BER would give.
    pub predicted_cer_random: f64,
    /// Histogram (as probabilities) that independent errors would give.
    pub predicted_histogram_random: Vec<f64>,
    /// Post-FEC BER that independent errors would give.
    pub predicted_post_fec_ber_random: f64,
    /// Frame loss ratio that independent errors would give.
    pub predicted_frame_loss_ratio_random: f64,
}

/// Maps measured bit errors onto virtual KP4/KR4 codewords and summarises them.
///
/// `error_bits` are the ascending (strictly increasing) indices of bit errors in a received
/// stream of `total_bits` bits. Errors are an [`Error::InvalidParameter`] when an index is not
/// increasing or not below `total_bits`; a stream without one complete group is
/// [`Error::InputTooShort`].
pub fn codeword_statistics(
    error_bits: impl IntoIterator<Item = u64>,
    total_bits: u64,
    config: &FecStatsConfig,
) -> Result<CodewordStatistics> {
    check_interleave(config.interleave)?;
    if config.frame_bits == 0 {
        return Err(Error::invalid("frame_bits", 0, "must be positive"));
    }
    let code = config.code;
    let (n, t) = (code.n(), code.t());
    let il = CodewordInterleaver::new(code, config.interleave)?;
    let ways = config.interleave;
    let group_bits = (il.group_symbols() * SYMBOL_BITS) as u64;
    let groups = total_bits.saturating_sub(config.bit_offset) / group_bits;
    if groups == 0 {
        return Err(Error::InputTooShort {
            what: "bit stream for FEC codeword statistics",
            needed: (config.bit_offset + group_bits).min(usize::MAX as u64) as usize,
            got: total_bits.min(usize::MAX as u64) as usize,
        });
    }
    let start = config.bit_offset;
    let end = start + groups * group_bits;

    let mut histogram = vec![0u64; t + 2];
    let (mut bit_errors, mut symbol_errors, mut post_bits, mut ignored) = (0u64, 0u64, 0u64, 0u64);
    let (mut failed_groups, mut max_sym) = (0u64, 0u64);
    let mut sym_err = [0u64; 4];
    let mut bit_err = [0u64; 4];
    let mut cur_group: Option<u64> = None;
    let mut last_symbol = u64::MAX;
    let mut prev: Option<u64> = None;

    let mut flush = |sym_err: &mut [u64; 4], bit_err: &mut [u64; 4]| {
        let mut failed = false;
        for c in 0..ways {
            let k = sym_err[c];
            if k > 0 {
                histogram[(k as usize).min(t + 1)] += 1;
                max_sym = max_sym.max(k);
                if k as usize > t {
                    failed = true;
                    post_bits += bit_err[c];
                }
            }
        }
        failed_groups += failed as u64;
        *sym_err = [0; 4];
        *bit_err = [0; 4];
    };

    for (idx, b) in error_bits.into_iter().enumerate() {
        if b >= total_bits {
            return Err(Error::invalid(
                "error bit index",
                b,
                format!("entry {idx} is not below total_bits = {total_bits}"),
            ));
        }
        if let Some(p) = prev {
            if b <= p {
                return Err(Error::invalid(
                    "error bit index",
                    b,
                    format!("entry {idx} is not above the previous index {p}; indices must increase"),
                ));
            }
        }
        prev = Some(b);
        if b < start || b >= end {
            ignored += 1;
            continue;
        }
        let rel = b - start;
        let g = rel / group_bits;
        if cur_group != Some(g) {
            if cur_group.is_some() {
                flush(&mut sym_err, &mut bit_err);
            }
            cur_group = Some(g);
            last_symbol = u64::MAX;
        }
        let s = (rel % group_bits) / SYMBOL_BITS as u64;
        let (c, _) = il.source(s as usize);
        bit_err[c] += 1;
        bit_errors += 1;
        if s != last_symbol {
            sym_err[c] += 1;
            symbol_errors += 1;
            last_symbol = s;
        }
    }
    if cur_group.is_some() {
        flush(&mut sym_err, &mut bit_err);
    }

    let codewords = groups * ways as u64;
    let with_errors: u64 = histogram[1..].iter().sum();
    histogram[0] = codewords - with_errors;
    let uncorrectable = histogram[t + 1];
    let counted_bits = groups * group_bits;
    let pre_fec_ber = bit_errors as f64 / counted_bits as f64;
    let model = RandomErrorModel::new(code, pre_fec_ber, ways, config.frame_bits)?;
    debug_assert_eq!(counted_bits, codewords * (n * SYMBOL_BITS) as u64);
    Ok(CodewordStatistics {
        code,
        interleave: ways,
        codewords,
        histogram,
        uncorrectable,
        cer: uncorrectable as f64 / codewords as f64,
        pre_fec_ber,
        pre_fec_bit_errors: bit_errors,
        symbol_errors,
        post_fec_ber: post_bits as f64 / counted_bits as f64,
        post_fec_bit_errors: post_bits,
        max_symbol_errors: max_sym,
        groups,
        failed_groups,
        frame_loss_ratio: frame_loss(failed_groups as f64 / groups as f64, ways, code, config.frame_bits),
        counted_bits,
        ignored_bit_errors: ignored,
        predicted_cer_random: model.cer,
        predicted_histogram_random: model.histogram,
        predicted_post_fec_ber_random: model.post_fec_ber,
        predicted_frame_loss_ratio_random: model.frame_loss_ratio,
    })
}

#[cfg(test)]
mod tests {
    use super::super::rs::{DecodeOutcome, ReedSolomon};
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    /// standards.md §1.3/§1.4: the 802.3 numbers at BER 2.4e-4.
    #[test]
    fn random_model_reproduces_802_3_figures() {
        let m = RandomErrorModel::new(RsCode::Kp4, 2.4e-4, 1, FRAME_BITS_64B).unwrap();
        assert!(rel(m.symbol_error_probability, 2.397e-3) < 1e-3);
        assert!(rel(m.cer, 8.15e-13) < 5e-3, "cer {}", m.cer);
        assert!(rel(m.frame_loss_ratio, 9.22e-13) < 5e-3, "{}", m.frame_loss_ratio);
        assert!(rel(m.post_fec_ber, 2.4e-15) < 0.05, "{}", m.post_fec_ber);
        let f2 = RandomErrorModel::new(RsCode::Kp4, 2.4e-4, 2, FRAME_BITS_64B).unwrap().frame_loss_ratio;
        let f4 = RandomErrorModel::new(RsCode::Kp4, 2.4e-4, 4, FRAME_BITS_64B).unwrap().frame_loss_ratio;
        assert!(rel(f2, 1.74e-12) < 5e-3, "{f2}");
        assert!(rel(f4, 3.37e-12) < 5e-3, "{f4}");
        // Binomial table P(k) of standards.md §1.3 (3 significant digits, 2 for the tail).
        let table = [
            0.271, 0.354, 0.231, 0.100, 3.26e-2, 8.47e-3, 1.83e-3, 3.38e-4, 5.4e-5, 7.8e-6, 1.0e-6, 1.2e-7, 1.2e-8,
            1.2e-9, 1.1e-10, 9.5e-12, 7.5e-13,
        ];
        // The last entry is P(16) alone; the model's last bin is P(k > 15) = CER, slightly more.
        assert!(m.histogram[16] > table[16] && m.histogram[16] < 1.1 * table[16]);
        for (k, &want) in table.iter().enumerate().take(16) {
            let got = m.histogram[k];
            let tol = if want >= 1e-4 { 6e-3 } else { 0.06 };
            assert!(rel(got, want) < tol, "P({k}) = {got}, table {want}");
        }
        assert!((m.histogram.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Other KP4 points of §1.4.
        for (ber, cer) in [(1e-4, 1.4e-18), (2e-4, 5.4e-14), (1e-3, 1.5e-4)] {
            let c = RandomErrorModel::new(RsCode::Kp4, ber, 1, 672).unwrap().cer;
            assert!(rel(c, cer) < 0.04, "ber {ber}: {c}");
        }
        let z = RandomErrorModel::new(RsCode::Kr4, 0.0, 1, 672).unwrap();
        assert_eq!((z.cer, z.histogram[0]), (0.0, 1.0));
        assert!(RandomErrorModel::new(RsCode::Kr4, 1.5, 1, 672).is_err());
    }

    #[test]
    fn counts_symbols_per_codeword_with_checkerboard() {
        let cfg = FecStatsConfig { code: RsCode::Kp4, interleave: 2, ..Default::default() };
        let group = 2 * 544 * 10;
        // Group 0: stream symbol 0 (cw A) with two bit errors, symbol 1 (cw B), symbol 16
        // (k = 1: swapped, so cw B). Group 1: stream symbols 0..16 (8 in A, 8 in B).
        let mut errs = vec![0u64, 5, 10, 160];
        for s in 0..16u64 {
            errs.push(group + s * 10 + 3);
        }
        let total = 3 * group + 7;
        let st = codeword_statistics(errs.clone(), total, &cfg).unwrap();
        assert_eq!(st.codewords, 6);
        assert_eq!(st.groups, 3);
        // Group 0: A has 1 symbol error, B 2; group 1: 8 each; group 2: none.
        let mut want = vec![0u64; 17];
        want[0] = 2;
        want[1] = 1;
        want[2] = 1;
        want[8] = 2;
        assert_eq!(st.histogram, want);
        assert_eq!(st.pre_fec_bit_errors, 20);
        assert_eq!(st.symbol_errors, 19);
        assert_eq!(st.uncorrectable, 0);
        assert_eq!(st.max_symbol_errors, 8);
        // 1-way: the same errors.
        let st1 = codeword_statistics(errs, total, &FecStatsConfig::default()).unwrap();
        assert_eq!(st1.codewords, 6);
        assert_eq!(st1.histogram[3], 1);
        assert_eq!(st1.histogram[16], 1);
        assert_eq!(st1.uncorrectable, 1);
        assert_eq!(st1.post_fec_bit_errors, 16);
        assert_eq!(st1.failed_groups, 1);
    }

    #[test]
    fn offset_partial_groups_and_bad_input() {
        let cfg = FecStatsConfig { code: RsCode::Kr4, bit_offset: 100, ..Default::default() };
        let st = codeword_statistics([5u64, 100, 5379, 5380, 5400], 5380 + 5000, &cfg).unwrap();
        assert_eq!((st.codewords, st.histogram[2], st.histogram[0]), (1, 1, 0));
        assert_eq!(st.ignored_bit_errors, 3);
        assert!(matches!(
            codeword_statistics([3u64, 3], 10_000, &cfg),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(codeword_statistics([9_999_999u64], 10_000, &cfg).is_err());
        assert!(matches!(codeword_statistics([], 5000, &cfg), Err(Error::InputTooShort { .. })));
        let bad = FecStatsConfig { interleave: 3, ..Default::default() };
        assert!(codeword_statistics([], 1 << 20, &bad).is_err());
        let json = serde_json::to_value(codeword_statistics([], 1 << 20, &cfg).unwrap()).unwrap();
        for key in ["code", "interleave", "codewords", "histogram", "uncorrectable", "cer", "post_fec_ber", "predicted_cer_random"] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["code"], "kr4");
    }

    /// The virtual-codeword statistics agree with really encoding, corrupting and decoding
    /// the same stream (random errors, t ± a few per codeword to exercise the > t bin).
    #[test]
    fn matches_real_decoding() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for ways in [1usize, 2, 4] {
            let code = RsCode::Kr4;
            let rs = ReedSolomon::new(code);
            let il = CodewordInterleaver::new(code, ways).unwrap();
            let groups = 40;
            let gsym = il.group_symbols();
            let mut stream = vec![0u16; groups * gsym];
            let mut cws = vec![0u16; gsym];
            for g in 0..groups {
                for c in 0..ways {
                    let msg: Vec<u16> = (0..514).map(|_| rng.random_range(0..1024)).collect();
                    rs.encode(&msg, &mut cws[c * 528..(c + 1) * 528]).unwrap();
                }
                il.interleave(&cws, &mut stream[g * gsym..(g + 1) * gsym]).unwrap();
            }
            let total = (stream.len() * 10) as u64;
            // Bursty errors: per group a random number of bursts of 1..12 bits.
            let mut errs = std::collections::BTreeSet::new();
            for g in 0..groups as u64 {
                for _ in 0..rng.random_range(0..(10 * ways)) {
                    let start = g * gsym as u64 * 10 + rng.random_range(0..gsym as u64 * 10 - 12);
                    for b in 0..rng.random_range(1..12) {
                        if rng.random_bool(0.7) {
                            errs.insert(start + b);
                        }
                    }
                }
            }
            for &b in &errs {
                stream[(b / 10) as usize] ^= 1 << (b % 10);
            }
            let st = codeword_statistics(errs.iter().copied(), total, &FecStatsConfig {
                code,
                interleave: ways,
                ..Default::default()
            })
            .unwrap();
            let mut words = vec![0u16; stream.len()];
            for g in 0..groups {
                il.deinterleave(&stream[g * gsym..(g + 1) * gsym], &mut words[g * gsym..(g + 1) * gsym]).unwrap();
            }
            let mut outs = vec![DecodeOutcome::Clean; groups * ways];
            rs.decode_batch(&mut words, &mut outs).unwrap();
            let mut hist = vec![0u64; code.t() + 2];
            for o in &outs {
                match o {
                    DecodeOutcome::Clean => hist[0] += 1,
                    DecodeOutcome::Corrected { symbols } => hist[*symbols as usize] += 1,
                    DecodeOutcome::Uncorrectable => hist[code.t() + 1] += 1,
                }
            }
            assert_eq!(st.histogram, hist, "ways {ways}");
            assert!(st.uncorrectable > 0 && st.histogram[1..=code.t()].iter().sum::<u64>() > 0);
        }
    }
}
