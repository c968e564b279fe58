//! Pseudo-random binary sequences: the IEEE 802.3 Fibonacci LFSR, word-parallel stepping,
//! O(log k) jumps and discrete logarithms (state → position).
//!
//! Convention (standards.md §3.1, the one that reproduces the 802.3 PRBS9Q example bit for
//! bit): the register is S0…S(n−1); each clock computes `fb = ⊕ S(e−1)` over the exponents `e`
//! of the polynomial, shifts `S_i → S_{i+1}`, loads `S0 = fb` and outputs `fb`. A state is kept
//! as an integer with bit `i` = `S_i`, so `S0` is the newest bit. With this layout a seed written
//! "S30…S0, MSB → S30" (SSPRQ, Table 120-2) is the integer itself.
//!
//! In sequence terms the output obeys `b[t] = ⊕_e b[t − e]` and the state before bit `t` holds
//! `b[t−1] … b[t−n]`, which is what makes word-parallel stepping and jumps straightforward.

use std::collections::HashMap;

/// A PRBS generator polynomial with its 802.3 conventions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lfsr {
    order: u32,
    /// Exponents of the polynomial terms other than the constant, descending (first = order).
    exponents: Vec<u32>,
    /// Smallest exponent: how many bits one word-parallel step can produce.
    step: u32,
    /// `true` when the generator has an inverter on its output (802.3 Fig. 49-9, PRBS31).
    output_inverted: bool,
    /// Characteristic polynomial of the output sequence, `x^n + Σ_e x^(n−e)` (bit i = x^i).
    charpoly: u64,
}

/// 64 clocks of an [`Lfsr`] at once ([`Lfsr::word_table`]): the raw output word and the
/// register after 64 clocks are linear over GF(2) in the register, so the XOR of one table entry
/// per register byte gives both — the same bits as [`Lfsr::next_bits`] with `k = 64`, in a few
/// lookups where that steps by the polynomial's smallest exponent (one bit for PRBS13).
#[derive(Debug, Clone)]
pub struct LfsrWord {
    /// Per register byte: (raw output word, register after 64 clocks) of that byte alone.
    tables: Vec<[(u64, u64); 256]>,
    output_inverted: bool,
}

impl LfsrWord {
    /// [`Lfsr::next_bits`]`(state, 64)`.
    #[inline]
    pub fn next64(&self, state: &mut u64) -> u64 {
        let (mut out, mut next) = (0u64, 0u64);
        for (b, t) in self.tables.iter().enumerate() {
            let (o, n) = t[((*state >> (8 * b)) & 0xff) as usize];
            out ^= o;
            next ^= n;
        }
        *state = next;
        if self.output_inverted {
            !out
        } else {
            out
        }
    }
}

impl Lfsr {
    /// LFSR for the polynomial `1 + Σ x^e` (give the exponents other than 0, any order).
    ///
    /// Panics (programmer contract) unless the exponents are distinct, the largest is 2…31
    /// and there are at least two of them; every PRBS in this module satisfies that.
    pub fn new(exponents: &[u32], output_inverted: bool) -> Self {
        let mut e = exponents.to_vec();
        e.sort_unstable_by(|a, b| b.cmp(a));
        e.dedup();
        assert!(e.len() >= 2 && e.len() == exponents.len(), "LFSR exponents must be distinct, at least two");
        let order = e[0];
        assert!((2..=31).contains(&order), "LFSR order must be 2..=31");
        let step = *e.last().expect("non-empty");
        assert!(step >= 1);
        let mut charpoly = 0u64;
        for &x in &e {
            charpoly |= 1u64 << (order - x);
        }
        charpoly |= 1u64 << order;
        Lfsr {
            order,
            exponents: e,
            step,
            output_inverted,
            charpoly,
        }
    }

    /// Register length n.
    pub fn order(&self) -> u32 {
        self.order
    }

    /// Whether the output passes through an inverter.
    pub fn output_inverted(&self) -> bool {
        self.output_inverted
    }

    /// Period of the bit sequence, 2ⁿ − 1 (the polynomials here are primitive).
    pub fn period(&self) -> u64 {
        (1u64 << self.order) - 1
    }

    /// Mask of the n state bits.
    #[inline]
    pub fn state_mask(&self) -> u64 {
        (1u64 << self.order) - 1
    }

    /// One clock, bit-serial (the reference the fast paths are tested against):
    /// returns the output bit and advances `state`.
    #[inline]
    pub fn step_naive(&self, state: &mut u64) -> u8 {
        let mut fb = 0u64;
        for &e in &self.exponents {
            fb ^= (*state >> (e - 1)) & 1;
        }
        *state = ((*state << 1) | fb) & self.state_mask();
        (fb as u8) ^ self.output_inverted as u8
    }

    /// The next `k ≤ 64` output bits, first in time in bit `k − 1` (MSB-first), advancing `state`.
    /// Produces up to `min exponent` bits per register update.
    #[inline]
    pub fn next_bits(&self, state: &mut u64, k: u32) -> u64 {
        debug_assert!(k <= 64);
        let mask_n = self.state_mask();
        let mut out = 0u64;
        let mut left = k;
        let mut s = *state;
        while left > 0 {
            let c = left.min(self.step);
            let mut w = 0u64;
            for &e in &self.exponents {
                w ^= s >> (e - c);
            }
            let cmask = low_mask(c);
            w &= cmask;
            s = ((s << c) | w) & mask_n;
            out = (out << c) | w;
            left -= c;
        }
        *state = s;
        if self.output_inverted {
            out ^ low_mask(k)
        } else {
            out
        }
    }

    /// Byte tables for [`LfsrWord::next64`]: 64 output bits in `⌈order / 8⌉` lookups.
    pub fn word_table(&self) -> LfsrWord {
        let bytes = self.order.div_ceil(8) as usize;
        let tables = (0..bytes)
            .map(|b| {
                let mut t = [(0u64, 0u64); 256];
                for (v, e) in t.iter_mut().enumerate() {
                    let mut s = ((v as u64) << (8 * b)) & self.state_mask();
                    let out = self.next_raw_bits(&mut s, 64);
                    *e = (out, s);
                }
                t
            })
            .collect();
        LfsrWord { tables, output_inverted: self.output_inverted }
    }

    /// Raw register bits (no output inversion) for a jump: `k ≤ 64` next feedback bits.
    #[inline]
    fn next_raw_bits(&self, state: &mut u64, k: u32) -> u64 {
        let b = self.next_bits(state, k);
        if self.output_inverted {
            b ^ low_mask(k)
        } else {
            b
        }
    }

    /// `x^k mod C(x)`: the coefficients that express a jump of `k` clocks.
    pub fn jump_polynomial(&self, k: u64) -> u64 {
        let mut result = 1u64; // x^0
        let mut base = self.reduce(2); // x
        let mut k = k;
        while k > 0 {
            if k & 1 == 1 {
                result = self.mulmod(result, base);
            }
            base = self.mulmod(base, base);
            k >>= 1;
        }
        result
    }

    /// The state `k` clocks after `state`, in O(n log k) (`k` may exceed the period).
    pub fn jump(&self, state: u64, k: u64) -> u64 {
        self.jump_with(state, self.jump_polynomial(k % self.period()))
    }

    /// Applies a jump polynomial from [`Lfsr::jump_polynomial`] to a state.
    pub fn jump_with(&self, state: u64, poly: u64) -> u64 {
        // The registers R(t+j), j < n, span the jump: R(t+k) = ⊕_{j: c_j = 1} R(t+j).
        // They all sit in the 2n−1 bits b[t+n−2] … b[t−n]: state followed by n−1 new bits.
        let n = self.order;
        let mut s = state & self.state_mask();
        let ext = (s << (n - 1)) | self.next_raw_bits(&mut s, n - 1);
        let mut out = 0u64;
        let mut c = poly;
        while c != 0 {
            let j = c.trailing_zeros();
            out ^= ext >> (n - 1 - j);
            c &= c - 1;
        }
        out & self.state_mask()
    }

    fn mulmod(&self, a: u64, b: u64) -> u64 {
        let mut p = 0u64;
        let mut b = b;
        let mut shift = 0;
        while b != 0 {
            if b & 1 == 1 {
                p ^= a << shift;
            }
            b >>= 1;
            shift += 1;
        }
        self.reduce(p)
    }

    fn reduce(&self, mut p: u64) -> u64 {
        let n = self.order;
        while p >> n != 0 {
            let top = 63 - p.leading_zeros();
            p ^= self.charpoly << (top - n);
        }
        p
    }
}

#[inline]
pub(crate) fn low_mask(k: u32) -> u64 {
    if k >= 64 {
        u64::MAX
    } else {
        (1u64 << k) - 1
    }
}

/// Discrete logarithm of LFSR states by baby-step giant-step: which clock `t` (counted from a
/// reference state) a state belongs to. Memory and time O(√period).
#[derive(Debug, Clone)]
pub struct StateIndex {
    lfsr: Lfsr,
    reference: u64,
    stride: u64,
    baby: HashMap<u32, u32>,
    back_stride: u64,
}

impl StateIndex {
    /// Index of the states of `lfsr`, with clock 0 at `reference` (which must be non-zero).
    pub fn new(lfsr: &Lfsr, reference: u64) -> Self {
        let period = lfsr.period();
        let stride = ((period as f64).sqrt().ceil() as u64).max(1);
        let mut baby = HashMap::with_capacity(stride as usize);
        let mut s = reference & lfsr.state_mask();
        for j in 0..stride {
            baby.entry(s as u32).or_insert(j as u32);
            lfsr.next_raw_bits(&mut s, 1);
        }
        let back_stride = lfsr.jump_polynomial(period - stride % period);
        StateIndex {
            lfsr: lfsr.clone(),
            reference: reference & lfsr.state_mask(),
            stride,
            baby,
            back_stride,
        }
    }

    /// The reference state (clock 0).
    pub fn reference(&self) -> u64 {
        self.reference
    }

    /// Clock `t < period` with `jump(reference, t) == state`; `None` for the all-zero state.
    pub fn position(&self, state: u64) -> Option<u64> {
        let period = self.lfsr.period();
        let mut cur = state & self.lfsr.state_mask();
        if cur == 0 {
            return None;
        }
        let giants = period / self.stride + 1;
        for i in 0..=giants {
            if let Some(&j) = self.baby.get(&(cur as u32)) {
                return Some((i * self.stride + j as u64) % period);
            }
            cur = self.lfsr.jump_with(cur, self.back_stride);
        }
        None
    }
}

/// The PRBS of 802.3 (standards.md §3.1): name, polynomial exponents, output inverter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrbsSpec {
    /// Register length n (the "PRBSn").
    pub order: u32,
    /// Exponents of the polynomial other than the constant term.
    pub exponents: &'static [u32],
    /// Inverter on the generator output (Fig. 49-9 PRBS31).
    pub output_inverted: bool,
}

impl PrbsSpec {
    /// The generator of this PRBS.
    pub fn lfsr(&self) -> Lfsr {
        Lfsr::new(self.exponents, self.output_inverted)
    }
}

/// PRBS7 x⁷ + x⁶ + 1.
pub const PRBS7: PrbsSpec = PrbsSpec { order: 7, exponents: &[7, 6], output_inverted: false };
/// PRBS9 x⁹ + x⁵ + 1 (802.3 Table 68-6; reproduces the PRBS9Q example).
pub const PRBS9: PrbsSpec = PrbsSpec { order: 9, exponents: &[9, 5], output_inverted: false };
/// PRBS11 x¹¹ + x⁹ + 1 (802.3 Eq. 72-1).
pub const PRBS11: PrbsSpec = PrbsSpec { order: 11, exponents: &[11, 9], output_inverted: false };
/// PRBS13 1 + x + x² + x¹² + x¹³ (802.3 Eq. 94-3, Fig. 94-6; the PRBS13Q polynomial).
pub const PRBS13: PrbsSpec = PrbsSpec { order: 13, exponents: &[13, 12, 2, 1], output_inverted: false };
/// PRBS15 x¹⁵ + x¹⁴ + 1.
pub const PRBS15: PrbsSpec = PrbsSpec { order: 15, exponents: &[15, 14], output_inverted: false };
/// PRBS23 x²³ + x¹⁸ + 1.
pub const PRBS23: PrbsSpec = PrbsSpec { order: 23, exponents: &[23, 18], output_inverted: false };
/// PRBS31 x³¹ + x²⁸ + 1 with the output inverter of 802.3 Fig. 49-9.
pub const PRBS31: PrbsSpec = PrbsSpec { order: 31, exponents: &[31, 28], output_inverted: true };

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all() -> [PrbsSpec; 7] {
        [PRBS7, PRBS9, PRBS11, PRBS13, PRBS15, PRBS23, PRBS31]
    }

    fn prime_factors(mut v: u64) -> Vec<u64> {
        let mut f = Vec::new();
        let mut p = 2;
        while p * p <= v {
            if v.is_multiple_of(p) {
                f.push(p);
                while v.is_multiple_of(p) {
                    v /= p;
                }
            }
            p += 1;
        }
        if v > 1 {
            f.push(v);
        }
        f
    }

    #[test]
    fn polynomials_are_primitive() {
        // Period exactly 2^n − 1: x^P ≡ 1 and x^(P/q) ≢ 1 for every prime q | P.
        for spec in all() {
            let l = spec.lfsr();
            let p = l.period();
            assert_eq!(l.jump_polynomial(p), 1, "PRBS{}", spec.order);
            for q in prime_factors(p) {
                assert_ne!(l.jump_polynomial(p / q), 1, "PRBS{} q={q}", spec.order);
            }
        }
    }

    #[test]
    fn word_tables_equal_sixty_four_clocks() {
        let mut r = 0x9e37_79b9_7f4a_7c15u64;
        for spec in all() {
            let l = spec.lfsr();
            let w = l.word_table();
            for _ in 0..200 {
                r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let mut a = (r >> 17) & l.state_mask();
                let mut b = a;
                for _ in 0..3 {
                    assert_eq!(w.next64(&mut a), l.next_bits(&mut b, 64), "PRBS{}", spec.order);
                    assert_eq!(a, b, "PRBS{}", spec.order);
                }
            }
        }
        // The inverted-output generator (802.3 PRBS31) as well.
        let l = Lfsr::new(&[31, 28], true);
        let (mut a, mut b) = (0x1234_5678u64, 0x1234_5678u64);
        assert_eq!(l.word_table().next64(&mut a), l.next_bits(&mut b, 64));
        assert_eq!(a, b);
    }

    #[test]
    fn word_parallel_equals_bit_serial() {
        for spec in all() {
            let l = spec.lfsr();
            let mut a = l.state_mask();
            let mut b = a;
            for k in [1u32, 7, 28, 64, 3, 64, 13, 31, 64] {
                let fast = l.next_bits(&mut a, k);
                let mut slow = 0u64;
                for _ in 0..k {
                    slow = (slow << 1) | l.step_naive(&mut b) as u64;
                }
                assert_eq!(fast, slow, "PRBS{} k={k}", spec.order);
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn prbs31_first_bits_follow_fig_49_9() {
        // Literal transcription of the convention: fb = S30 ⊕ S27; out = NOT fb; state = state<<1 | fb.
        let mut st: u64 = 0x7FFF_FFFF;
        let mut expect = Vec::new();
        for _ in 0..100 {
            let fb = ((st >> 30) ^ (st >> 27)) & 1;
            expect.push((fb ^ 1) as u8);
            st = ((st << 1) | fb) & 0x7FFF_FFFF;
        }
        let l = PRBS31.lfsr();
        let mut s = 0x7FFF_FFFF;
        let got: Vec<u8> = (0..100).map(|_| l.next_bits(&mut s, 1) as u8).collect();
        assert_eq!(got, expect);
        // All-ones seed: the first 31 feedback bits are 0 ⊕ … patterns; output starts 1,1,1 (inverted zeros).
        assert_eq!(&got[..3], &[1, 1, 1]);
    }

    proptest! {
        #[test]
        fn jump_equals_stepping(k in 0u64..5000, idx in 0usize..7, seed in 1u64..u64::MAX) {
            let l = all()[idx].lfsr();
            let s0 = (seed & l.state_mask()).max(1);
            let mut s = s0;
            for _ in 0..k { l.step_naive(&mut s); }
            prop_assert_eq!(l.jump(s0, k), s);
        }

        #[test]
        fn discrete_log_inverts_jump(t in 0u64..(1u64 << 31) - 1, idx in 0usize..7) {
            let l = all()[idx].lfsr();
            let t = t % l.period();
            let idx = StateIndex::new(&l, l.state_mask());
            prop_assert_eq!(idx.position(l.jump(l.state_mask(), t)), Some(t));
        }
    }
}
