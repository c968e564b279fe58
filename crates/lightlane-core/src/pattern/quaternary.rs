//! PAM4 ("quaternary") test patterns of IEEE 802.3: PRBSnQ and SSPRQ, and the Gray pairing of
//! bits into symbols that they share with plain PRBS on PAM4.
//!
//! * PRBSnQ (120.5.11.2.1 PRBS13Q, 802.3dj 120.5.11.2.a PRBS9Q, PRBS31Q): successive bit pairs of
//!   the PRBS, first bit = MSB, Gray-mapped `00→0, 01→1, 11→2, 10→3`. The bit period 2ⁿ − 1 is
//!   odd, so one symbol period (2ⁿ − 1 symbols) spans two bit periods.
//! * SSPRQ (120.5.11.2.3, Table 120-2): 65 535 symbols built from three PRBS31 sections
//!   (standards.md §3.3).

use super::prbs::{Lfsr, PRBS31};
use crate::modulation::Modulation;

/// Four Gray-mapped PAM4 symbols per byte of MSB-first bits, packed little-endian in a `u32`
/// (byte 0 holds the symbol of bits 7–6).
static GRAY_PAIRS: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        let mut v = 0u32;
        let mut i = 0;
        while i < 4 {
            let m = ((b >> (7 - 2 * i)) & 1) as u32;
            let l = ((b >> (6 - 2 * i)) & 1) as u32;
            let s = (m << 1) | (m ^ l);
            v |= s << (8 * i);
            i += 1;
        }
        t[b] = v;
        b += 1;
    }
    t
};

/// Eight NRZ symbols (one bit per byte) per byte of MSB-first bits, packed little-endian.
static BIT_BYTES: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut v = 0u64;
        let mut i = 0;
        while i < 8 {
            v |= (((b >> (7 - i)) & 1) as u64) << (8 * i);
            i += 1;
        }
        t[b] = v;
        b += 1;
    }
    t
};

/// Writes the symbols of `word` (bits MSB-first, the first `out.len() * bits_per_symbol` of them
/// used) into `out`: up to 64 NRZ or 32 PAM4 symbols.
#[inline]
pub(crate) fn word_to_symbols(word: u64, modulation: Modulation, out: &mut [u8]) {
    let bytes = word.to_be_bytes();
    // Full words: fixed-size stores, no per-byte length bookkeeping.
    if let Ok(full) = <&mut [u8; 64]>::try_from(&mut *out) {
        for (dst, &b) in full.chunks_exact_mut(8).zip(&bytes) {
            dst.copy_from_slice(&BIT_BYTES[b as usize].to_le_bytes());
        }
        return;
    }
    if let Ok(full) = <&mut [u8; 32]>::try_from(&mut *out) {
        if modulation == Modulation::Pam4 {
            for (dst, b) in full.chunks_exact_mut(8).zip(bytes.chunks_exact(2)) {
                let v = GRAY_PAIRS[b[0] as usize] as u64 | (GRAY_PAIRS[b[1] as usize] as u64) << 32;
                dst.copy_from_slice(&v.to_le_bytes());
            }
            return;
        }
    }
    match modulation {
        Modulation::Nrz => {
            debug_assert!(out.len() <= 64);
            for (dst, &b) in out.chunks_mut(8).zip(&bytes) {
                let v = BIT_BYTES[b as usize].to_le_bytes();
                dst.copy_from_slice(&v[..dst.len()]);
            }
        }
        Modulation::Pam4 => {
            debug_assert!(out.len() <= 32);
            for (dst, &b) in out.chunks_mut(4).zip(&bytes) {
                let v = GRAY_PAIRS[b as usize].to_le_bytes();
                dst.copy_from_slice(&v[..dst.len()]);
            }
        }
    }
}

/// Fills `out` with the canonical symbols (Gray pairs on PAM4, bits on NRZ) of the LFSR output
/// that starts at `state`, advancing `state` by `out.len() * bits_per_symbol` clocks.
pub(crate) fn fill_lfsr_symbols(lfsr: &Lfsr, state: &mut u64, modulation: Modulation, out: &mut [u8]) {
    let per_word = 64 / modulation.bits_per_symbol();
    for chunk in out.chunks_mut(per_word) {
        let nbits = (chunk.len() * modulation.bits_per_symbol()) as u32;
        let word = lfsr.next_bits(state, nbits) << (64 - nbits);
        word_to_symbols(word, modulation, chunk);
    }
}

/// Table 94-11 PRBS13Q seeds per PMD lane, written S0…S12 (leftmost bit = S0).
pub const PRBS13Q_LANE_SEEDS: [&str; 4] = ["0000010101011", "0011101000001", "1001000101100", "0100010000010"];

/// Register value (bit i = S_i) of a seed written S0 first, as in Table 94-11. `None` when the
/// text holds anything but 0/1 or is longer than 63 bits.
pub fn seed_from_s0_first(text: &str) -> Option<u64> {
    if text.len() > 63 {
        return None;
    }
    let mut v = 0u64;
    for (i, c) in text.chars().enumerate() {
        match c {
            '0' => {}
            '1' => v |= 1 << i,
            _ => return None,
        }
    }
    Some(v)
}

/// Number of SSPRQ symbols.
pub const SSPRQ_LEN: usize = 65_535;

/// The SSPRQ sections: PRBS31 seed (S30…S0, MSB → S30) and bit count (Table 120-2).
const SSPRQ_SECTIONS: [(u64, usize); 3] = [(0x0000_0002, 10_924), (0x3401_3FF7, 10_922), (0x0CCC_CCCC, 10_922)];

/// SSPRQ, IEEE 802.3 120.5.11.2.3 (construction of standards.md §3.3): the 32 768-bit sequence A
/// from three PRBS31 sections (Fig. 49-9 generator, inverted output), bits `A, A, A[1:], A[:−1]`
/// Gray-mapped in pairs, and the symbols of the 2nd and 4th repetitions inverted (`3 − s`).
pub fn ssprq_symbols() -> Vec<u8> {
    let lfsr = PRBS31.lfsr();
    let mut a = Vec::with_capacity(32_768);
    for &(seed, n) in &SSPRQ_SECTIONS {
        let mut s = seed;
        for _ in 0..n {
            a.push(lfsr.next_bits(&mut s, 1) as u8);
        }
    }
    debug_assert_eq!(a.len(), 32_768);
    let mut bits = Vec::with_capacity(2 * SSPRQ_LEN);
    bits.extend_from_slice(&a);
    bits.extend_from_slice(&a);
    bits.extend_from_slice(&a[1..]);
    bits.extend_from_slice(&a[..a.len() - 1]);
    let mut sym: Vec<u8> = bits.chunks_exact(2).map(|p| crate::modulation::gray_encode(p[0], p[1])).collect();
    for range in [16_384..32_768, 49_151..SSPRQ_LEN] {
        for s in &mut sym[range] {
            *s = 3 - *s;
        }
    }
    sym
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modulation::{bits_to_symbols, BitMapping};
    use crate::pattern::prbs::{PRBS13, PRBS9};

    #[test]
    fn word_to_symbols_matches_bits_to_symbols() {
        let word = 0xD3A5_0F1E_7788_C0DEu64;
        let bits: Vec<u8> = (0..64).map(|i| ((word >> (63 - i)) & 1) as u8).collect();
        let mut pam = [0u8; 32];
        word_to_symbols(word, Modulation::Pam4, &mut pam);
        assert_eq!(pam.to_vec(), bits_to_symbols(&bits, Modulation::Pam4, BitMapping::Gray));
        let mut nrz = [0u8; 64];
        word_to_symbols(word, Modulation::Nrz, &mut nrz);
        assert_eq!(nrz.to_vec(), bits);
        let mut part = [0u8; 5];
        word_to_symbols(word, Modulation::Pam4, &mut part);
        assert_eq!(part[..], pam[..5]);
    }

    #[test]
    fn prbs9q_and_prbs13q_start_as_in_the_standard() {
        // PRBS9Q, seed 111111111 (802.3dj 120.5.11.2.a example), standards.md §3.2.
        let mut s = PRBS9.lfsr().state_mask();
        let mut out = vec![0u8; 30];
        fill_lfsr_symbols(&PRBS9.lfsr(), &mut s, Modulation::Pam4, &mut out);
        let text: String = out.iter().map(|d| char::from(b'0' + d)).collect();
        assert_eq!(text, "001232230323131001033121330220");
        // PRBS13Q lane 0 seed with the output = fb convention (standards.md §3.2).
        let mut s = seed_from_s0_first(PRBS13Q_LANE_SEEDS[0]).unwrap();
        let mut out = vec![0u8; 32];
        fill_lfsr_symbols(&PRBS13.lfsr(), &mut s, Modulation::Pam4, &mut out);
        let text: String = out.iter().map(|d| char::from(b'0' + d)).collect();
        assert_eq!(text, "10313202201111301031212312100121");
    }

    #[test]
    fn ssprq_statistics_match_the_construction() {
        // standards.md §3.3 (calc/ssprq.py): counts, longest runs, first symbols.
        let s = ssprq_symbols();
        assert_eq!(s.len(), SSPRQ_LEN);
        let mut counts = [0usize; 4];
        for &v in &s {
            counts[v as usize] += 1;
        }
        assert_eq!(counts, [15_215, 17_553, 17_552, 15_215]);
        let mut longest = [0usize; 4];
        let (mut run, mut prev) = (0usize, 255u8);
        for &v in s.iter().chain(&s[..100]) {
            run = if v == prev { run + 1 } else { 1 };
            prev = v;
            longest[v as usize] = longest[v as usize].max(run);
        }
        assert_eq!(longest, [14, 15, 15, 14]);
        let head: String = s[..40].iter().map(|d| char::from(b'0' + d)).collect();
        assert_eq!(head, "2222222222222132222222222221221222222222");
    }
}
