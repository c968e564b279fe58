//! IEEE 802.3 RS-FEC layout: symbol packing and bit order, PAM4 symbol ↔ FEC bit mapping,
//! codeword interleaving, and codeword alignment.
//!
//! - **Bit order** (802.3 119.2.4.6, 91.5.2.x): a 10-bit RS symbol is sent LSB first; the first
//!   bit in time is bit 0 of the symbol. Bits are `u8` values 0/1, first in time first.
//! - **PAM4 mapping** (802.3 120.5.7.1/.2): bit pairs {first, second} = {MSB, LSB} are Gray
//!   mapped 00→0, 01→1, 11→2, 10→3, optionally followed by the 1/(1+D) mod 4 precoder; see
//!   [`crate::modulation`].
//! - **Interleaving**: 1 codeword per group (100G, Cl. 91), 2 codewords in the 802.3 Cl. 119
//!   "checkerboard" order (200G/400G, 119.2.4.7), 4 codewords round robin (800G, Cl. 172,
//!   modelled as symbol round robin; the exact 800G symbol order is not confirmed, see
//!   standards.md §1.2).

use super::gf::check_symbols;
use super::rs::{DecodeOutcome, ReedSolomon, RsCode};
use crate::modulation::{decode_precoded, gray_decode, gray_encode, precode, BitMapping, Modulation};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Bits per RS symbol.
pub const SYMBOL_BITS: usize = 10;

fn check_bits(what: &'static str, bits: &[u8]) -> Result<()> {
    match bits.iter().position(|&b| b > 1) {
        None => Ok(()),
        Some(index) => Err(Error::ValueOutOfRange { what, index, value: bits[index] as u64, max: 1 }),
    }
}

/// Packs bits (first in time first) into 10-bit symbols, LSB first in time. `out.len()`
/// symbols are written and must equal `bits.len() / 10` (trailing bits are not used).
pub fn pack_symbols(bits: &[u8], out: &mut [u16]) -> Result<()> {
    if out.len() != bits.len() / SYMBOL_BITS {
        return Err(Error::LengthMismatch { what: "packed symbols", expected: bits.len() / SYMBOL_BITS, got: out.len() });
    }
    check_bits("fec bits", bits)?;
    for (o, chunk) in out.iter_mut().zip(bits.chunks_exact(SYMBOL_BITS)) {
        *o = chunk.iter().enumerate().fold(0u16, |acc, (i, &b)| acc | (b as u16) << i);
    }
    Ok(())
}

/// Allocating wrapper around [`pack_symbols`].
pub fn pack_symbols_vec(bits: &[u8]) -> Result<Vec<u16>> {
    let mut out = vec![0u16; bits.len() / SYMBOL_BITS];
    pack_symbols(bits, &mut out)?;
    Ok(out)
}

/// Inverse of [`pack_symbols`]: `out.len()` must be `10 · symbols.len()`.
pub fn unpack_symbols(symbols: &[u16], out: &mut [u8]) -> Result<()> {
    if out.len() != symbols.len() * SYMBOL_BITS {
        return Err(Error::LengthMismatch { what: "unpacked bits", expected: symbols.len() * SYMBOL_BITS, got: out.len() });
    }
    check_symbols("fec symbols", symbols)?;
    for (&s, chunk) in symbols.iter().zip(out.chunks_exact_mut(SYMBOL_BITS)) {
        for (i, b) in chunk.iter_mut().enumerate() {
            *b = ((s >> i) & 1) as u8;
        }
    }
    Ok(())
}

/// Allocating wrapper around [`unpack_symbols`].
pub fn unpack_symbols_vec(symbols: &[u16]) -> Result<Vec<u8>> {
    let mut out = vec![0u8; symbols.len() * SYMBOL_BITS];
    unpack_symbols(symbols, &mut out)?;
    Ok(out)
}

/// How PAM4 symbols carry the FEC bit stream (802.3 120.5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Pam4BitMapping {
    /// Bit-pair to level mapping (802.3: Gray).
    pub mapping: BitMapping,
    /// Whether the 1/(1+D) mod 4 precoder is in use (802.3 120.5.7.2; off by default).
    pub precoding: bool,
    /// Precoder state P(−1) before the first symbol (the standard leaves it open).
    pub precoder_initial: u8,
}

/// PAM4 symbols (0..=3) → FEC bits, two per symbol, first bit in time (MSB) first: removes the
/// precoding, then demaps. `out.len()` must be `2 · symbols.len()`.
pub fn pam4_to_bits(symbols: &[u8], map: &Pam4BitMapping, out: &mut [u8]) -> Result<()> {
    if out.len() != 2 * symbols.len() {
        return Err(Error::LengthMismatch { what: "pam4 bits", expected: 2 * symbols.len(), got: out.len() });
    }
    if let Some(index) = symbols.iter().position(|&s| s > 3) {
        return Err(Error::ValueOutOfRange { what: "pam4 symbols", index, value: symbols[index] as u64, max: 3 });
    }
    let decoded;
    let symbols = if map.precoding {
        let mut s = symbols.to_vec();
        decode_precoded(&mut s, Modulation::Pam4, map.precoder_initial);
        decoded = s;
        &decoded[..]
    } else {
        symbols
    };
    for (&s, pair) in symbols.iter().zip(out.chunks_exact_mut(2)) {
        let (m, l) = match map.mapping {
            BitMapping::Gray => gray_decode(s),
            BitMapping::Binary => (s >> 1, s & 1),
        };
        pair[0] = m;
        pair[1] = l;
    }
    Ok(())
}

/// FEC bits → PAM4 symbols (mapping, then precoding): the transmit side of [`pam4_to_bits`].
/// `bits.len()` must be even and `out.len() = bits.len() / 2`.
pub fn bits_to_pam4(bits: &[u8], map: &Pam4BitMapping, out: &mut [u8]) -> Result<()> {
    if !bits.len().is_multiple_of(2) || out.len() != bits.len() / 2 {
        return Err(Error::LengthMismatch { what: "pam4 symbols", expected: bits.len() / 2, got: out.len() });
    }
    check_bits("fec bits", bits)?;
    for (o, pair) in out.iter_mut().zip(bits.chunks_exact(2)) {
        *o = match map.mapping {
            BitMapping::Gray => gray_encode(pair[0], pair[1]),
            BitMapping::Binary => (pair[0] << 1) | pair[1],
        };
    }
    if map.precoding {
        precode(out, Modulation::Pam4, map.precoder_initial);
    }
    Ok(())
}

/// Positions (ascending bit indices of the FEC bit stream) where the received PAM4 symbols
/// decode to different bits than the expected ones. With precoding, one wrong symbol gives
/// errors in two consecutive decoded symbols, as in a real receiver.
pub fn bit_error_positions(received: &[u8], expected: &[u8], map: &Pam4BitMapping) -> Result<Vec<u64>> {
    if received.len() != expected.len() {
        return Err(Error::LengthMismatch { what: "expected pam4 symbols", expected: received.len(), got: expected.len() });
    }
    let mut a = vec![0u8; 2 * received.len()];
    let mut b = vec![0u8; 2 * received.len()];
    pam4_to_bits(received, map, &mut a)?;
    pam4_to_bits(expected, map, &mut b)?;
    Ok(a.iter().zip(&b).enumerate().filter(|(_, (x, y))| x != y).map(|(i, _)| i as u64).collect())
}

/// Symbol-level codeword interleaving of `ways` codewords (1, 2 or 4) per group.
///
/// Stream symbol `s` of a group (0 … ways·n−1, in time order) comes from codeword
/// `source(s).0`, symbol index `source(s).1` (0 = first symbol of that codeword):
/// - 1 way: (0, s).
/// - 2 ways, 802.3 119.2.4.7 checkerboard: with s = 16k + 2j + b (j < 8, b ∈ {0,1}), codeword
///   b ⊕ (k mod 2), index 8k + j, i.e. `out[16k+2j] = cA[543−8k−j]`, `out[16k+2j+1] =
///   cB[543−8k−j]` for even k and A/B swapped for odd k.
/// - 4 ways: round robin, (s mod 4, s / 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodewordInterleaver {
    code: RsCode,
    ways: usize,
}

impl CodewordInterleaver {
    /// Interleaver for `ways` ∈ {1, 2, 4} codewords of `code`.
    pub fn new(code: RsCode, ways: usize) -> Result<Self> {
        if !matches!(ways, 1 | 2 | 4) {
            return Err(Error::invalid("fec interleave", ways, "expected 1, 2 or 4 codewords"));
        }
        Ok(CodewordInterleaver { code, ways })
    }

    /// Codewords per group.
    pub fn ways(&self) -> usize {
        self.ways
    }

    /// Symbols per group (ways · n).
    pub fn group_symbols(&self) -> usize {
        self.ways * self.code.n()
    }

    /// (codeword, symbol index) of stream symbol `s` of a group (`s < group_symbols()`).
    #[inline]
    pub fn source(&self, s: usize) -> (usize, usize) {
        match self.ways {
            1 => (0, s),
            2 => (((s & 1) ^ ((s >> 4) & 1)), s >> 1),
            _ => (s % self.ways, s / self.ways),
        }
    }

    /// Interleaves one group: `codewords` holds the `ways` codewords end to end, `stream`
    /// receives them in transmission order (both `ways · n` long).
    pub fn interleave(&self, codewords: &[u16], stream: &mut [u16]) -> Result<()> {
        self.check(codewords.len(), stream.len())?;
        let n = self.code.n();
        for (s, out) in stream.iter_mut().enumerate() {
            let (c, i) = self.source(s);
            *out = codewords[c * n + i];
        }
        Ok(())
    }

    /// Inverse of [`CodewordInterleaver::interleave`].
    pub fn deinterleave(&self, stream: &[u16], codewords: &mut [u16]) -> Result<()> {
        self.check(stream.len(), codewords.len())?;
        let n = self.code.n();
        for (s, &v) in stream.iter().enumerate() {
            let (c, i) = self.source(s);
            codewords[c * n + i] = v;
        }
        Ok(())
    }

    fn check(&self, a: usize, b: usize) -> Result<()> {
        let g = self.group_symbols();
        if a != g {
            return Err(Error::LengthMismatch { what: "interleave group", expected: g, got: a });
        }
        if b != g {
            return Err(Error::LengthMismatch { what: "interleave output", expected: g, got: b });
        }
        Ok(())
    }
}

/// Where RS codeword groups start in a bit stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CodewordAlignment {
    /// Bit index of the first symbol of the first complete group.
    pub bit_offset: usize,
    /// Codewords at that offset that decoded (clean or corrected).
    pub decodable: usize,
    /// Codewords tested at each candidate offset.
    pub tested: usize,
}

/// Finds the codeword-group boundary of an RS-encoded bit stream: tries every bit offset in
/// one group (ways · n · 10 bits) and keeps the one where most of the first `groups` groups
/// decode. Fails with [`Error::Unusable`] unless more than half of them decode there, and with
/// [`Error::InputTooShort`] when the stream does not hold `groups` groups after every offset.
pub fn find_codeword_alignment(bits: &[u8], code: RsCode, ways: usize, groups: usize) -> Result<CodewordAlignment> {
    let il = CodewordInterleaver::new(code, ways)?;
    if groups == 0 || groups > 64 {
        return Err(Error::invalid("alignment groups", groups, "expected 1 ..= 64"));
    }
    check_bits("fec bits", bits)?;
    let gsym = il.group_symbols();
    let gbits = gsym * SYMBOL_BITS;
    // Offsets 0 … gbits−1, each needs `groups` full groups.
    let needed = gbits - 1 + groups * gbits;
    if bits.len() < needed {
        return Err(Error::InputTooShort { what: "bit stream for codeword alignment", needed, got: bits.len() });
    }
    let rs = ReedSolomon::new(code);
    let tested = groups * ways;
    let mut best = CodewordAlignment { bit_offset: 0, decodable: 0, tested };
    // One packing per bit phase; candidate symbol offsets then slice the packed stream.
    let sym_needed = gsym - 1 + groups * gsym;
    let mut packed = vec![0u16; sym_needed];
    // Candidate offsets are decoded together, a few thousand codewords per batch.
    let per_offset = gsym * groups;
    let offsets_per_batch = (4096 / tested).max(1);
    let mut words = vec![0u16; per_offset * offsets_per_batch];
    let mut outs = vec![DecodeOutcome::Clean; tested * offsets_per_batch];
    for phase in 0..SYMBOL_BITS {
        pack_symbols(&bits[phase..phase + sym_needed * SYMBOL_BITS], &mut packed)?;
        for first in (0..gsym).step_by(offsets_per_batch) {
            let count = offsets_per_batch.min(gsym - first);
            for o in 0..count {
                for g in 0..groups {
                    let start = first + o + g * gsym;
                    let dst = o * per_offset + g * gsym;
                    il.deinterleave(&packed[start..start + gsym], &mut words[dst..dst + gsym])?;
                }
            }
            rs.decode_batch(&mut words[..count * per_offset], &mut outs[..count * tested])?;
            for o in 0..count {
                let ok = outs[o * tested..(o + 1) * tested].iter().filter(|x| !x.is_uncorrectable()).count();
                let bit_offset = (first + o) * SYMBOL_BITS + phase;
                if ok > best.decodable || (ok == best.decodable && ok > 0 && bit_offset < best.bit_offset) {
                    best = CodewordAlignment { bit_offset, decodable: ok, tested };
                }
            }
        }
    }
    if 2 * best.decodable <= tested {
        return Err(Error::Unusable {
            stage: "fec codeword alignment",
            reason: format!(
                "no bit offset where most {code} codewords decode (best: {} of {tested} at bit {})",
                best.decodable, best.bit_offset
            ),
        });
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn symbol_bits_are_lsb_first() {
        let bits = [1u8, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(pack_symbols_vec(&bits).unwrap(), vec![0x201, 0x002]);
        assert_eq!(unpack_symbols_vec(&[0x201, 0x002]).unwrap(), bits.to_vec());
        assert!(pack_symbols_vec(&[2u8; 10]).is_err());
        assert!(unpack_symbols_vec(&[1024]).is_err());
        let mut out = [0u16; 3];
        assert!(pack_symbols(&bits, &mut out).is_err());
    }

    #[test]
    fn pam4_mapping_round_trips_and_precoding_doubles_errors() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let bits: Vec<u8> = (0..400).map(|_| rng.random_range(0..2)).collect();
        for precoding in [false, true] {
            for mapping in [BitMapping::Gray, BitMapping::Binary] {
                let map = Pam4BitMapping { mapping, precoding, precoder_initial: 1 };
                let mut sym = vec![0u8; 200];
                bits_to_pam4(&bits, &map, &mut sym).unwrap();
                let mut back = vec![0u8; 400];
                pam4_to_bits(&sym, &map, &mut back).unwrap();
                assert_eq!(back, bits);
                // One symbol moved to an adjacent level.
                let mut rx = sym.clone();
                rx[50] = if rx[50] == 0 { 1 } else { rx[50] - 1 };
                let errs = bit_error_positions(&rx, &sym, &map).unwrap();
                let touched: std::collections::BTreeSet<u64> = errs.iter().map(|b| b / 2).collect();
                if precoding {
                    assert_eq!(touched.into_iter().collect::<Vec<_>>(), vec![50, 51]);
                } else {
                    assert_eq!(touched.into_iter().collect::<Vec<_>>(), vec![50]);
                    if mapping == BitMapping::Gray {
                        assert_eq!(errs.len(), 1, "adjacent Gray levels differ in one bit");
                    }
                }
            }
        }
        // Gray: first bit is the MSB, 802.3 table 00→0, 01→1, 11→2, 10→3.
        let mut s = [0u8; 4];
        bits_to_pam4(&[0, 0, 0, 1, 1, 1, 1, 0], &Pam4BitMapping::default(), &mut s).unwrap();
        assert_eq!(s, [0, 1, 2, 3]);
        assert!(pam4_to_bits(&[4], &Pam4BitMapping::default(), &mut [0u8; 2]).is_err());
    }

    #[test]
    fn checkerboard_matches_the_802_3_formula() {
        let il = CodewordInterleaver::new(RsCode::Kp4, 2).unwrap();
        // Codeword A = 0..544, B = 1000..1544 (values only used as labels here).
        let a: Vec<u16> = (0..544).map(|i| i as u16).collect();
        let b: Vec<u16> = (0..544).map(|i| (i + 1000) as u16 % 2048).collect();
        let cws: Vec<u16> = a.iter().chain(&b).copied().collect();
        let mut out = vec![0u16; 1088];
        il.interleave(&cws, &mut out).unwrap();
        // 802.3 writes cA[543−8k−j] for coefficient index; index i = 543 − coefficient.
        let ca = |coef: usize| a[543 - coef];
        let cb = |coef: usize| b[543 - coef];
        for k in 0..68 {
            for j in 0..8 {
                let (x, y) = if k % 2 == 0 {
                    (ca(543 - 8 * k - j), cb(543 - 8 * k - j))
                } else {
                    (cb(543 - 8 * k - j), ca(543 - 8 * k - j))
                };
                assert_eq!(out[16 * k + 2 * j], x, "k={k} j={j}");
                assert_eq!(out[16 * k + 2 * j + 1], y);
            }
        }
        let mut back = vec![0u16; 1088];
        il.deinterleave(&out, &mut back).unwrap();
        assert_eq!(back, cws);
        for ways in [1, 4] {
            let il = CodewordInterleaver::new(RsCode::Kr4, ways).unwrap();
            let cws: Vec<u16> = (0..528 * ways).map(|i| (i % 1024) as u16).collect();
            let mut s = vec![0u16; cws.len()];
            il.interleave(&cws, &mut s).unwrap();
            let mut back = vec![0u16; cws.len()];
            il.deinterleave(&s, &mut back).unwrap();
            assert_eq!(back, cws);
        }
        assert!(CodewordInterleaver::new(RsCode::Kp4, 3).is_err());
        assert!(il.interleave(&[0; 10], &mut [0; 10]).is_err());
    }

    #[test]
    fn alignment_finds_the_group_boundary() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for (code, ways) in [(RsCode::Kr4, 1usize), (RsCode::Kp4, 2)] {
            let rs = ReedSolomon::new(code);
            let il = CodewordInterleaver::new(code, ways).unwrap();
            let groups = 3;
            let mut stream = Vec::new();
            for _ in 0..groups + 1 {
                let mut cws = Vec::new();
                for _ in 0..ways {
                    let msg: Vec<u16> = (0..514).map(|_| rng.random_range(0..1024)).collect();
                    cws.extend(rs.encode_vec(&msg).unwrap());
                }
                let mut s = vec![0u16; cws.len()];
                il.interleave(&cws, &mut s).unwrap();
                stream.extend(s);
            }
            let mut bits = unpack_symbols_vec(&stream).unwrap();
            // A few bit errors, then 1234 junk bits in front.
            for k in 0..20 {
                bits[k * 997 + 11] ^= 1;
            }
            let lead: Vec<u8> = (0..1234).map(|_| rng.random_range(0..2)).collect();
            let bits: Vec<u8> = lead.iter().chain(&bits).copied().collect();
            let al = find_codeword_alignment(&bits, code, ways, 2).unwrap();
            let gbits = ways * code.n() * 10;
            assert_eq!(al.bit_offset, 1234 % gbits, "{code} {ways}");
            assert_eq!(al.decodable, al.tested);
            // Random bits do not align.
            let noise: Vec<u8> = (0..bits.len()).map(|_| rng.random_range(0..2)).collect();
            assert!(matches!(find_codeword_alignment(&noise, code, ways, 2), Err(Error::Unusable { .. })));
            assert!(matches!(
                find_codeword_alignment(&bits[..gbits], code, ways, 2),
                Err(Error::InputTooShort { .. })
            ));
        }
    }
}
