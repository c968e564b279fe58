//! NRZ and PAM4 symbol mapping, Gray coding, 1/(1+D) precoding and slicing.
//!
//! PAM4 Gray mapping follows IEEE 802.3 Clause 120.5.7.1 (also Clauses 94, 135): bits are taken
//! in pairs, the first in time is the MSB, and `{00, 01, 11, 10} → {0, 1, 2, 3}`. Symbol `s`
//! of an M-level signal is transmitted at the normalised level `-1 + 2 s / (M - 1)`
//! (PAM4: −1, −1/3, +1/3, +1, as in the COM reference code).
//!
//! Precoding is the 1/(1+D) mod M precoder of 802.3 120.5.7.2 / 94.2.2.6:
//! `P(j) = (T(j) − P(j−1)) mod M` at the transmitter, `T(j) = (P(j) + P(j−1)) mod M` at the
//! receiver, applied to the Gray-mapped symbol values.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Line modulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modulation {
    /// Two levels, one bit per symbol.
    Nrz,
    /// Four levels, two bits per symbol.
    Pam4,
}

impl Modulation {
    /// Number of amplitude levels (2 or 4).
    pub const fn levels(self) -> usize {
        match self {
            Modulation::Nrz => 2,
            Modulation::Pam4 => 4,
        }
    }

    /// Bits carried per symbol (1 or 2).
    pub const fn bits_per_symbol(self) -> usize {
        match self {
            Modulation::Nrz => 1,
            Modulation::Pam4 => 2,
        }
    }

    /// Largest symbol value (`levels - 1`).
    pub const fn max_symbol(self) -> u8 {
        (self.levels() - 1) as u8
    }

    /// Normalised level of symbol `s` in [−1, 1].
    #[inline]
    pub fn level(self, s: u8) -> f32 {
        let m = (self.levels() - 1) as f32;
        -1.0 + 2.0 * s as f32 / m
    }

    /// All normalised levels, lowest first.
    pub fn level_set(self) -> Vec<f32> {
        (0..self.levels() as u8).map(|s| self.level(s)).collect()
    }

    /// Maps symbols to their normalised levels.
    pub fn symbols_to_levels(self, symbols: &[u8]) -> Vec<f32> {
        symbols.iter().map(|&s| self.level(s)).collect()
    }

    /// Name as used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Modulation::Nrz => "nrz",
            Modulation::Pam4 => "pam4",
        }
    }
}

impl std::fmt::Display for Modulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Modulation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "nrz" | "pam2" => Ok(Modulation::Nrz),
            "pam4" => Ok(Modulation::Pam4),
            _ => Err(Error::invalid("modulation", s, "expected 'nrz' or 'pam4'")),
        }
    }
}

/// How bit pairs become PAM4 symbol values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BitMapping {
    /// 802.3 Gray mapping 00→0, 01→1, 11→2, 10→3.
    #[default]
    Gray,
    /// Natural binary 00→0, 01→1, 10→2, 11→3.
    Binary,
}

/// Gray-maps a PAM4 bit pair (MSB first in time).
#[inline]
pub const fn gray_encode(msb: u8, lsb: u8) -> u8 {
    (msb << 1) | (msb ^ lsb)
}

/// Inverse of [`gray_encode`]: returns `(msb, lsb)`.
#[inline]
pub const fn gray_decode(symbol: u8) -> (u8, u8) {
    let msb = (symbol >> 1) & 1;
    (msb, msb ^ (symbol & 1))
}

/// Packs a bit stream (one bit per byte, 0/1) into symbols.
/// For PAM4 the first bit of each pair is the MSB; a trailing odd bit is dropped.
pub fn bits_to_symbols(bits: &[u8], modulation: Modulation, mapping: BitMapping) -> Vec<u8> {
    match modulation {
        Modulation::Nrz => bits.iter().map(|b| b & 1).collect(),
        Modulation::Pam4 => bits
            .chunks_exact(2)
            .map(|p| {
                let (m, l) = (p[0] & 1, p[1] & 1);
                match mapping {
                    BitMapping::Gray => gray_encode(m, l),
                    BitMapping::Binary => (m << 1) | l,
                }
            })
            .collect(),
    }
}

/// Unpacks symbols into bits (one bit per byte), MSB first for PAM4.
pub fn symbols_to_bits(symbols: &[u8], modulation: Modulation, mapping: BitMapping) -> Vec<u8> {
    let mut out = Vec::with_capacity(symbols.len() * modulation.bits_per_symbol());
    for &s in symbols {
        match modulation {
            Modulation::Nrz => out.push(s & 1),
            Modulation::Pam4 => {
                let (m, l) = match mapping {
                    BitMapping::Gray => gray_decode(s & 3),
                    BitMapping::Binary => ((s >> 1) & 1, s & 1),
                };
                out.push(m);
                out.push(l);
            }
        }
    }
    out
}

/// Number of bits that differ between two received symbols under `mapping`
/// (1 for adjacent Gray-coded PAM4 levels).
#[inline]
pub fn bit_errors_between(a: u8, b: u8, modulation: Modulation, mapping: BitMapping) -> u32 {
    match modulation {
        Modulation::Nrz => ((a ^ b) & 1) as u32,
        Modulation::Pam4 => {
            let (x, y) = match mapping {
                BitMapping::Gray => (gray_to_binary(a), gray_to_binary(b)),
                BitMapping::Binary => (a & 3, b & 3),
            };
            (x ^ y).count_ones()
        }
    }
}

/// The two data bits of a Gray-mapped PAM4 symbol as a binary number `msb<<1 | lsb`.
#[inline]
pub const fn gray_to_binary(symbol: u8) -> u8 {
    let (m, l) = gray_decode(symbol & 3);
    (m << 1) | l
}

/// 1/(1+D) mod M precoder (802.3 120.5.7.2): `P(j) = (T(j) − P(j−1)) mod M`, starting from
/// `initial` = P(−1). Works in place on symbol values.
pub fn precode(symbols: &mut [u8], modulation: Modulation, initial: u8) {
    let m = modulation.levels() as u8;
    let mut prev = initial % m;
    for s in symbols.iter_mut() {
        let p = (*s % m + m - prev) % m;
        *s = p;
        prev = p;
    }
}

/// Inverse of [`precode`]: `T(j) = (P(j) + P(j−1)) mod M`, with `initial` = P(−1).
pub fn decode_precoded(symbols: &mut [u8], modulation: Modulation, initial: u8) {
    let m = modulation.levels() as u8;
    let mut prev = initial % m;
    for s in symbols.iter_mut() {
        let p = *s % m;
        *s = (p + prev) % m;
        prev = p;
    }
}

/// A multi-threshold decision device.
///
/// ```
/// use lightlane_core::modulation::Slicer;
/// use lightlane_core::Modulation;
/// let s = Slicer::for_levels(&Modulation::Pam4.level_set()).unwrap();
/// let mut out = [0u8; 4];
/// s.slice(&[-0.9, -0.2, 0.4, 2.0], &mut out);
/// assert_eq!(out, [0, 1, 2, 3]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slicer {
    thresholds: Vec<f32>,
}

impl Slicer {
    /// Slicer with explicit ascending thresholds (`levels - 1` of them).
    pub fn new(thresholds: Vec<f32>) -> Result<Self> {
        if thresholds.is_empty() || thresholds.len() > 15 {
            return Err(Error::invalid(
                "thresholds",
                thresholds.len(),
                "need between 1 and 15 thresholds",
            ));
        }
        crate::error::check_finite("slicer thresholds", &thresholds)?;
        if thresholds.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(
                "thresholds",
                format!("{thresholds:?}"),
                "thresholds must be strictly ascending",
            ));
        }
        Ok(Slicer { thresholds })
    }

    /// Slicer with thresholds halfway between adjacent (ascending) levels.
    pub fn for_levels(levels: &[f32]) -> Result<Self> {
        if levels.len() < 2 {
            return Err(Error::invalid("levels", levels.len(), "need at least two levels"));
        }
        Slicer::new(levels.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect())
    }

    /// The thresholds, ascending.
    pub fn thresholds(&self) -> &[f32] {
        &self.thresholds
    }

    /// Decision for one sample: the number of thresholds it is at or above.
    #[inline]
    pub fn decide(&self, x: f32) -> u8 {
        let mut s = 0u8;
        for &t in &self.thresholds {
            s += (x >= t) as u8;
        }
        s
    }

    /// Slices `input` into `output` (same length; extra elements of the longer are ignored).
    pub fn slice(&self, input: &[f32], output: &mut [u8]) {
        match *self.thresholds.as_slice() {
            [t0] => {
                for (o, &x) in output.iter_mut().zip(input) {
                    *o = (x >= t0) as u8;
                }
            }
            [t0, t1, t2] => {
                for (o, &x) in output.iter_mut().zip(input) {
                    *o = (x >= t0) as u8 + (x >= t1) as u8 + (x >= t2) as u8;
                }
            }
            _ => {
                for (o, &x) in output.iter_mut().zip(input) {
                    *o = self.decide(x);
                }
            }
        }
    }

    /// Allocating convenience wrapper around [`Slicer::slice`].
    pub fn slice_vec(&self, input: &[f32]) -> Vec<u8> {
        let mut out = vec![0u8; input.len()];
        self.slice(input, &mut out);
        out
    }

    /// [`Slicer::slice_vec`] on the thread pool, in blocks of [`SLICE_BLOCK`] samples, for long
    /// inputs (millions of symbols) that would otherwise keep the calling thread busy. Each
    /// decision depends on its sample alone, so the result is the same as
    /// [`Slicer::slice_vec`]'s for any block layout and thread count.
    pub fn slice_vec_parallel(&self, input: &[f32]) -> Vec<u8> {
        self.slice_vec_in_blocks(input, SLICE_BLOCK)
    }

    fn slice_vec_in_blocks(&self, input: &[f32], block: usize) -> Vec<u8> {
        use rayon::prelude::*;
        // Zeroed on the pool (a `vec!` the heap cannot serve from fresh pages is a memset here).
        let mut out: Vec<u8> = (0..input.len()).into_par_iter().with_min_len(block).map(|_| 0).collect();
        out.par_chunks_mut(block).zip(input.par_chunks(block)).for_each(|(o, x)| self.slice(x, o));
        out
    }
}

/// Samples per block of [`Slicer::slice_vec_parallel`].
pub const SLICE_BLOCK: usize = 1 << 16;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn block_parallel_slicing_equals_slice_vec_at_every_block_layout() {
        let levels = Modulation::Pam4.level_set();
        let s = Slicer::for_levels(&levels).unwrap();
        let block = 64;
        // Below one block, exactly one, one more, several with a ragged last block; the
        // samples sweep across every threshold, including exact threshold values.
        for n in [0, 1, block - 1, block, block + 1, 5 * block + 17] {
            let x: Vec<f32> = (0..n).map(|k| -1.3 + 2.6 * ((k * 37) % 101) as f32 / 100.0).chain(s.thresholds().iter().copied()).collect();
            let want = s.slice_vec(&x);
            assert_eq!(s.slice_vec_in_blocks(&x, block), want, "n = {n}");
            assert_eq!(s.slice_vec_parallel(&x), want, "n = {n}");
        }
    }

    #[test]
    fn gray_table_matches_802_3() {
        assert_eq!(gray_encode(0, 0), 0);
        assert_eq!(gray_encode(0, 1), 1);
        assert_eq!(gray_encode(1, 1), 2);
        assert_eq!(gray_encode(1, 0), 3);
    }

    #[test]
    fn adjacent_gray_levels_differ_by_one_bit() {
        for s in 0..3u8 {
            assert_eq!(bit_errors_between(s, s + 1, Modulation::Pam4, BitMapping::Gray), 1);
        }
        assert_eq!(bit_errors_between(0, 3, Modulation::Pam4, BitMapping::Gray), 1);
        assert_eq!(bit_errors_between(0, 2, Modulation::Pam4, BitMapping::Gray), 2);
    }

    #[test]
    fn precoder_known_sequence() {
        // T = 1,1,1,1 from P(-1)=0: P = 1,0,1,0.
        let mut s = vec![1u8, 1, 1, 1];
        precode(&mut s, Modulation::Pam4, 0);
        assert_eq!(s, vec![1, 0, 1, 0]);
    }

    #[test]
    fn slicer_rejects_bad_thresholds() {
        assert!(Slicer::new(vec![]).is_err());
        assert!(Slicer::new(vec![0.5, 0.1]).is_err());
        assert!(Slicer::new(vec![f32::NAN]).is_err());
    }

    proptest! {
        #[test]
        fn bits_symbols_round_trip(bits in proptest::collection::vec(0u8..2, 0..512), binary in any::<bool>(), pam4 in any::<bool>()) {
            let m = if pam4 { Modulation::Pam4 } else { Modulation::Nrz };
            let map = if binary { BitMapping::Binary } else { BitMapping::Gray };
            let even = &bits[..bits.len() / m.bits_per_symbol() * m.bits_per_symbol()];
            let syms = bits_to_symbols(even, m, map);
            prop_assert!(syms.iter().all(|&s| s <= m.max_symbol()));
            prop_assert_eq!(symbols_to_bits(&syms, m, map), even.to_vec());
        }

        #[test]
        fn precoding_round_trip(symbols in proptest::collection::vec(0u8..4, 0..512), init in 0u8..4, pam4 in any::<bool>()) {
            let m = if pam4 { Modulation::Pam4 } else { Modulation::Nrz };
            let orig: Vec<u8> = symbols.iter().map(|s| s % m.levels() as u8).collect();
            let mut s = orig.clone();
            precode(&mut s, m, init);
            prop_assert!(s.iter().all(|&v| v <= m.max_symbol()));
            decode_precoded(&mut s, m, init);
            prop_assert_eq!(s, orig);
        }

        #[test]
        fn slicer_inverts_levels(symbols in proptest::collection::vec(0u8..4, 1..256), noise in proptest::collection::vec(-0.3f32..0.3, 256)) {
            let m = Modulation::Pam4;
            let sl = Slicer::for_levels(&m.level_set()).unwrap();
            let x: Vec<f32> = symbols.iter().zip(&noise).map(|(&s, &n)| m.level(s) + n).collect();
            prop_assert_eq!(sl.slice_vec(&x), symbols);
        }
    }
}
