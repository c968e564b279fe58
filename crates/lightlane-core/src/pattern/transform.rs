//! The ways a received symbol stream can differ from the pattern definition without being in
//! error: polarity, complemented data, swapped PAM4 bit lanes, binary instead of Gray mapping.

use crate::modulation::{BitMapping, Modulation};
use serde::{Deserialize, Serialize};

/// Maps a canonical pattern symbol to what the receiver decides when the link is error free.
///
/// Applied in this order to the pattern's bits `(msb, lsb)` (PAM4) or bit (NRZ):
/// 1. `data_inverted`: every pattern bit complemented (a generator without the output inverter
///    of 802.3 Fig. 49-9, or a BERT "invert data" setting);
/// 2. `msb_lsb_swapped`: the two bits of each PAM4 pair exchanged (swapped DAC lanes);
/// 3. `binary_mapping`: pairs mapped `00→0, 01→1, 10→2, 11→3` instead of the 802.3 Gray code;
/// 4. `inverted`: levels flipped, `s → M − 1 − s` (swapped P/N, inverting optics).
///
/// On NRZ `data_inverted` and `inverted` are the same operation (sync reports it as
/// `inverted`), and the two PAM4-only flags have no effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SymbolTransform {
    /// Received levels are flipped (`M − 1 − s`).
    pub inverted: bool,
    /// PAM4 bit pairs are sent LSB first.
    pub msb_lsb_swapped: bool,
    /// PAM4 pairs are mapped in natural binary, not Gray.
    pub binary_mapping: bool,
    /// The pattern bits are complemented.
    pub data_inverted: bool,
}

/// `d = c ⊕ (s₀ · col0) ⊕ (s₁ · col1)` over GF(2)²: every transform above is affine on the
/// two bits of the symbol value, which lets whole words be transformed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Affine {
    c: u8,
    col0: u8,
    col1: u8,
}

impl SymbolTransform {
    /// No change.
    pub const IDENTITY: SymbolTransform = SymbolTransform {
        inverted: false,
        msb_lsb_swapped: false,
        binary_mapping: false,
        data_inverted: false,
    };

    /// Received symbol for canonical symbol `s` (`s ≤ max_symbol`).
    pub fn apply(&self, modulation: Modulation, s: u8) -> u8 {
        match modulation {
            Modulation::Nrz => (s & 1) ^ (self.inverted as u8) ^ (self.data_inverted as u8),
            Modulation::Pam4 => {
                let (mut m, mut l) = crate::modulation::gray_decode(s & 3);
                if self.data_inverted {
                    m ^= 1;
                    l ^= 1;
                }
                if self.msb_lsb_swapped {
                    std::mem::swap(&mut m, &mut l);
                }
                let level = if self.binary_mapping {
                    (m << 1) | l
                } else {
                    crate::modulation::gray_encode(m, l)
                };
                if self.inverted {
                    3 - level
                } else {
                    level
                }
            }
        }
    }

    /// `apply` for every symbol value (entries above `max_symbol` unused).
    pub fn lut(&self, modulation: Modulation) -> [u8; 4] {
        let mut t = [0u8; 4];
        for (s, v) in t.iter_mut().enumerate().take(modulation.levels()) {
            *v = self.apply(modulation, s as u8);
        }
        t
    }

    /// Inverse of [`SymbolTransform::lut`]: canonical symbol for each received symbol.
    pub fn inverse_lut(&self, modulation: Modulation) -> [u8; 4] {
        let fwd = self.lut(modulation);
        let mut inv = [0u8; 4];
        for s in 0..modulation.levels() {
            inv[fwd[s] as usize] = s as u8;
        }
        inv
    }

    /// How the receiver turns its decisions into bits under this transform.
    pub fn bit_mapping(&self) -> BitMapping {
        if self.binary_mapping {
            BitMapping::Binary
        } else {
            BitMapping::Gray
        }
    }

    /// The same transform with the flags that do nothing on `modulation` cleared and NRZ data
    /// inversion folded into `inverted`.
    pub fn normalized(&self, modulation: Modulation) -> SymbolTransform {
        match modulation {
            Modulation::Nrz => SymbolTransform {
                inverted: self.inverted ^ self.data_inverted,
                ..SymbolTransform::IDENTITY
            },
            Modulation::Pam4 => *self,
        }
    }

    /// Every distinct transform allowed by the flags, identity first (the preferred answer on
    /// ties). Transforms with the same effect are listed once, the first of them kept: on NRZ
    /// data inversion is inversion, and with binary mapping flipping the level flips both bits,
    /// so data inversion is inversion there as well (PAM4: 8 Gray + 4 binary = 12 transforms).
    pub fn candidates(
        modulation: Modulation,
        allow_inversion: bool,
        allow_data_inversion: bool,
        allow_msb_lsb_swap: bool,
        allow_binary_mapping: bool,
    ) -> Vec<SymbolTransform> {
        let pam4 = modulation == Modulation::Pam4;
        let opts = |allowed: bool| if allowed { vec![false, true] } else { vec![false] };
        let mut out = Vec::new();
        for binary_mapping in opts(pam4 && allow_binary_mapping) {
            for msb_lsb_swapped in opts(pam4 && allow_msb_lsb_swap) {
                for data_inverted in opts(pam4 && allow_data_inversion) {
                    for inverted in opts(allow_inversion || (!pam4 && allow_data_inversion)) {
                        let t = SymbolTransform {
                            inverted,
                            msb_lsb_swapped,
                            binary_mapping,
                            data_inverted,
                        };
                        if !out.iter().any(|o: &SymbolTransform| o.lut(modulation) == t.lut(modulation)) {
                            out.push(t);
                        }
                    }
                }
            }
        }
        out
    }

    pub(crate) fn affine(&self, modulation: Modulation) -> Affine {
        let t = self.lut(modulation);
        match modulation {
            Modulation::Nrz => Affine {
                c: t[0],
                col0: 1,
                col1: 0,
            },
            Modulation::Pam4 => Affine {
                c: t[0],
                col0: t[1] ^ t[0],
                col1: t[2] ^ t[0],
            },
        }
    }

    /// Transforms canonical symbols in place into the received domain (word-parallel).
    pub fn apply_in_place(&self, modulation: Modulation, symbols: &mut [u8]) {
        let a = self.affine(modulation);
        if a == (Affine { c: 0, col0: 1, col1: 2 }) || (modulation == Modulation::Nrz && a.c == 0) {
            return;
        }
        a.apply(symbols);
    }
}

impl Affine {
    fn apply(&self, symbols: &mut [u8]) {
        const L: u64 = 0x0101_0101_0101_0101;
        let bcast = |v: u8| L * v as u64;
        // s₀·col0 for s₀ ∈ {0, 1} per byte is a mask select: (s₀ · 0xFF) & col0.
        let (c, m0, m1) = (bcast(self.c), bcast(self.col0), bcast(self.col1));
        let mut chunks = symbols.chunks_exact_mut(8);
        for ch in &mut chunks {
            let s = u64::from_le_bytes(ch.try_into().expect("8 bytes"));
            let s0 = s & L;
            let s1 = (s >> 1) & L;
            let d = c ^ ((s0 * 0xFF) & m0) ^ ((s1 * 0xFF) & m1);
            ch.copy_from_slice(&d.to_le_bytes());
        }
        for v in chunks.into_remainder() {
            let s = *v;
            *v = self.c ^ if s & 1 != 0 { self.col0 } else { 0 } ^ if s & 2 != 0 { self.col1 } else { 0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_pam4_transforms_are_distinct_bijections() {
        let all = SymbolTransform::candidates(Modulation::Pam4, true, true, true, true);
        assert_eq!(all.len(), 12);
        assert_eq!(all[0], SymbolTransform::IDENTITY);
        let mut luts: Vec<[u8; 4]> = all.iter().map(|t| t.lut(Modulation::Pam4)).collect();
        for l in &luts {
            let mut s = *l;
            s.sort();
            assert_eq!(s, [0, 1, 2, 3]);
        }
        luts.sort();
        luts.dedup();
        assert_eq!(luts.len(), 12);
        // Binary mapping: level inversion and data inversion coincide.
        let b = |i, d| SymbolTransform { inverted: i, binary_mapping: true, data_inverted: d, ..SymbolTransform::IDENTITY };
        assert_eq!(b(true, false).lut(Modulation::Pam4), b(false, true).lut(Modulation::Pam4));
        let nrz = SymbolTransform::candidates(Modulation::Nrz, true, true, true, true);
        assert_eq!(nrz.len(), 2);
    }

    #[test]
    fn known_transforms() {
        let m = Modulation::Pam4;
        let t = |i, s, b, d| SymbolTransform {
            inverted: i,
            msb_lsb_swapped: s,
            binary_mapping: b,
            data_inverted: d,
        };
        assert_eq!(t(true, false, false, false).lut(m), [3, 2, 1, 0]);
        // Gray 0,1,2,3 carry bits 00,01,11,10; binary-mapped they become 0,1,3,2.
        assert_eq!(t(false, false, true, false).lut(m), [0, 1, 3, 2]);
        // Swapping bits: 00→00, 01→10 (3), 11→11 (2), 10→01 (1).
        assert_eq!(t(false, true, false, false).lut(m), [0, 3, 2, 1]);
        // Complemented bits: 00→11 (2), 01→10 (3), 11→00 (0), 10→01 (1).
        assert_eq!(t(false, false, false, true).lut(m), [2, 3, 0, 1]);
    }

    #[test]
    fn word_parallel_transform_equals_lut() {
        let src: Vec<u8> = (0..1000u32).map(|i| ((i * 7 + i / 3) % 4) as u8).collect();
        for m in [Modulation::Pam4, Modulation::Nrz] {
            for t in SymbolTransform::candidates(m, true, true, true, true) {
                let lut = t.lut(m);
                let input: Vec<u8> = src.iter().map(|&s| s % m.levels() as u8).collect();
                let mut fast = input.clone();
                t.apply_in_place(m, &mut fast);
                let slow: Vec<u8> = input.iter().map(|&s| lut[s as usize]).collect();
                assert_eq!(fast, slow, "{t:?} {m}");
                let inv = t.inverse_lut(m);
                assert!(input.iter().all(|&s| inv[lut[s as usize] as usize] == s));
            }
        }
    }
}
