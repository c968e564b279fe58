//! Error-counting kernels: decisions against an expected symbol stream.
//!
//! [`count_errors`] is the hot loop (word-parallel, branch-free, auto-vectorized);
//! [`count_errors_naive`] is its oracle, one symbol at a time through
//! [`crate::modulation::bit_errors_between`]. Both count symbol errors and bit errors in the
//! receiver's bit mapping: with Gray mapping the bits that differ between `a` and `b` are
//! `x ⊕ (x ≫ 1)` for `x = a ⊕ b`.

use crate::modulation::{bit_errors_between, BitMapping, Modulation};

/// Error counts of a compared stretch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErrorCounts {
    /// Symbols that differ.
    pub symbol_errors: u64,
    /// Bits that differ.
    pub bit_errors: u64,
}

impl std::ops::AddAssign for ErrorCounts {
    fn add_assign(&mut self, o: ErrorCounts) {
        self.symbol_errors += o.symbol_errors;
        self.bit_errors += o.bit_errors;
    }
}

/// Which bits of a symbol differ, as the receiver maps symbols to bits: bit 1 = MSB (first in
/// time) and bit 0 = LSB for PAM4, bit 0 for NRZ. Values above the modulation's largest symbol
/// are masked to its bit width.
#[inline]
pub fn error_mask(decision: u8, expected: u8, modulation: Modulation, mapping: BitMapping) -> u8 {
    match modulation {
        Modulation::Nrz => (decision ^ expected) & 1,
        Modulation::Pam4 => {
            let x = (decision ^ expected) & 3;
            match mapping {
                BitMapping::Gray => x ^ (x >> 1),
                BitMapping::Binary => x,
            }
        }
    }
}

/// Reference counter: symbol by symbol over the common length of the two slices.
pub fn count_errors_naive(decisions: &[u8], expected: &[u8], modulation: Modulation, mapping: BitMapping) -> ErrorCounts {
    let mut c = ErrorCounts::default();
    let m = modulation.max_symbol();
    for (&d, &e) in decisions.iter().zip(expected) {
        let b = bit_errors_between(d & m, e & m, modulation, mapping) as u64;
        c.bit_errors += b;
        c.symbol_errors += (d & m != e & m) as u64;
    }
    c
}

const LANES: u64 = 0x0101_0101_0101_0101;
/// Words summed in byte lanes before they could overflow (≤ 2 per lane per word).
const WORDS_PER_FLUSH: usize = 127;
/// Bytes handled per inner iteration: four independent 64-bit words, so the compiler can keep
/// them in one 256-bit or two 128-bit registers.
const STRIDE: usize = 32;

#[inline(always)]
fn load(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"))
}

/// Sums the eight byte lanes of `v` (each ≤ 255).
#[inline(always)]
fn sum_lanes(v: u64) -> u64 {
    let pairs = (v & 0x00FF_00FF_00FF_00FF) + ((v >> 8) & 0x00FF_00FF_00FF_00FF);
    pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48
}

/// Per-word error lanes: `(symbol error per byte, bit errors per byte)`.
#[inline(always)]
fn word_errors(d: u64, e: u64, modulation: Modulation, gray: bool) -> (u64, u64) {
    match modulation {
        Modulation::Nrz => {
            let x = (d ^ e) & LANES;
            (x, x)
        }
        Modulation::Pam4 => {
            let x = (d ^ e) & (3 * LANES);
            let y = if gray { x ^ (x >> 1) } else { x };
            ((x | (x >> 1)) & LANES, (y & LANES) + ((y >> 1) & LANES))
        }
    }
}

#[inline(always)]
fn count_words(d: &[u8], e: &[u8], modulation: Modulation, gray: bool) -> ErrorCounts {
    debug_assert_eq!(d.len(), e.len());
    let mut total = ErrorCounts::default();
    let block = WORDS_PER_FLUSH * STRIDE;
    let mut start = 0;
    while start + STRIDE <= d.len() {
        let end = (start + block).min(d.len() / STRIDE * STRIDE);
        let (mut s0, mut s1, mut s2, mut s3) = (0u64, 0u64, 0u64, 0u64);
        let (mut b0, mut b1, mut b2, mut b3) = (0u64, 0u64, 0u64, 0u64);
        let mut i = start;
        while i < end {
            let (s, b) = word_errors(load(d, i), load(e, i), modulation, gray);
            s0 += s;
            b0 += b;
            let (s, b) = word_errors(load(d, i + 8), load(e, i + 8), modulation, gray);
            s1 += s;
            b1 += b;
            let (s, b) = word_errors(load(d, i + 16), load(e, i + 16), modulation, gray);
            s2 += s;
            b2 += b;
            let (s, b) = word_errors(load(d, i + 24), load(e, i + 24), modulation, gray);
            s3 += s;
            b3 += b;
            i += STRIDE;
        }
        total.symbol_errors += sum_lanes(s0) + sum_lanes(s1) + sum_lanes(s2) + sum_lanes(s3);
        total.bit_errors += sum_lanes(b0) + sum_lanes(b1) + sum_lanes(b2) + sum_lanes(b3);
        start = end;
    }
    total += count_errors_naive(&d[start..], &e[start..], modulation, if gray { BitMapping::Gray } else { BitMapping::Binary });
    total
}

/// Counts symbol and bit errors of `decisions` against `expected` over their common length
/// (word-parallel; equal to [`count_errors_naive`]). Symbol values are masked to the
/// modulation's bit width.
pub fn count_errors(decisions: &[u8], expected: &[u8], modulation: Modulation, mapping: BitMapping) -> ErrorCounts {
    let n = decisions.len().min(expected.len());
    let (d, e) = (&decisions[..n], &expected[..n]);
    // Monomorphised per case so the inner loop has no data-dependent branches.
    match (modulation, mapping) {
        (Modulation::Nrz, _) => count_words(d, e, Modulation::Nrz, true),
        (Modulation::Pam4, BitMapping::Gray) => count_words(d, e, Modulation::Pam4, true),
        (Modulation::Pam4, BitMapping::Binary) => count_words(d, e, Modulation::Pam4, false),
    }
}

/// Calls `f(index, mask)` for every symbol that differs (index relative to the slices).
pub fn for_each_error(
    decisions: &[u8],
    expected: &[u8],
    modulation: Modulation,
    mapping: BitMapping,
    mut f: impl FnMut(usize, u8),
) {
    let n = decisions.len().min(expected.len());
    let (d, e) = (&decisions[..n], &expected[..n]);
    let wide = (modulation.max_symbol() as u64) * LANES;
    let mut i = 0;
    // Skip clean words quickly; low-BER streams have few errors.
    while i + 8 <= n {
        if (load(d, i) ^ load(e, i)) & wide != 0 {
            for j in i..i + 8 {
                let m = error_mask(d[j], e[j], modulation, mapping);
                if m != 0 {
                    f(j, m);
                }
            }
        }
        i += 8;
    }
    for j in i..n {
        let m = error_mask(d[j], e[j], modulation, mapping);
        if m != 0 {
            f(j, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_equals_naive(d in proptest::collection::vec(0u8..4, 0..5000), seed in any::<u64>(), pam4 in any::<bool>(), binary in any::<bool>()) {
            let m = if pam4 { Modulation::Pam4 } else { Modulation::Nrz };
            let map = if binary { BitMapping::Binary } else { BitMapping::Gray };
            let d: Vec<u8> = d.iter().map(|v| v & m.max_symbol()).collect();
            // Expected = decisions with a pseudo-random subset changed.
            let mut x = seed | 1;
            let e: Vec<u8> = d.iter().map(|&v| {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                if x % 5 == 0 { (v + 1 + (x >> 8) as u8 % m.max_symbol().max(1)) & m.max_symbol() } else { v }
            }).collect();
            let fast = count_errors(&d, &e, m, map);
            prop_assert_eq!(fast, count_errors_naive(&d, &e, m, map));
            let mut sym = 0u64; let mut bits = 0u64;
            for_each_error(&d, &e, m, map, |_, mask| { sym += 1; bits += mask.count_ones() as u64; });
            prop_assert_eq!(ErrorCounts { symbol_errors: sym, bit_errors: bits }, fast);
        }
    }

    #[test]
    fn all_wrong_long_stream_does_not_overflow_lanes() {
        let d = vec![0u8; 100_003];
        let e = vec![2u8; 100_003];
        let c = count_errors(&d, &e, Modulation::Pam4, BitMapping::Gray);
        assert_eq!(c, ErrorCounts { symbol_errors: 100_003, bit_errors: 200_006 });
        assert_eq!(c, count_errors_naive(&d, &e, Modulation::Pam4, BitMapping::Gray));
    }
}
