//! GF(2^10) arithmetic for the IEEE 802.3 Clause 91/119 Reed–Solomon codes.
//!
//! The field is GF(2)[x] / p(x) with the primitive polynomial p(x) = x^10 + x^3 + 1 (0x409) and
//! primitive element α = x = 0x002 (802.3 91.5.2.7, 119.2.4.6). An element is a `u16` in
//! `0..1024` whose bit `i` is the coefficient of α^i.
//!
//! Multiplication uses log/antilog tables built at compile time. The log of zero is a sentinel
//! that lands in a zero-filled tail of the antilog table, so [`mul`] needs no branch.
//! Multiplication by a fixed constant, the inner operation of syndrome computation and Chien
//! search, has two table forms: [`ConstMul`] (two 32-entry tables, scalar) and [`NibbleTables`]
//! (six 16-entry byte tables, the shape of one `pshufb`, used by the SIMD kernels in
//! [`super::simd`]). [`mul_const_slice`] is the vectorized multiply of a slice by a constant.
//!
//! Functions take field elements as `u16`; values must be below [`FIELD_SIZE`]. Passing a larger
//! value is a programmer error and panics (out-of-bounds table index); the public decoders
//! validate user data before it reaches these functions.

/// Bits per symbol (m).
pub const SYMBOL_BITS: u32 = 10;
/// Number of field elements, 2^10.
pub const FIELD_SIZE: usize = 1 << SYMBOL_BITS;
/// Order of the multiplicative group, 2^10 − 1.
pub const GROUP_ORDER: usize = FIELD_SIZE - 1;
/// The primitive polynomial x^10 + x^3 + 1 as a bit mask (802.3 91.5.2.7).
pub const PRIMITIVE_POLY: u16 = 0x409;

/// log(0) sentinel: large enough that log a + log b for any zero operand indexes the zero tail.
const LOG_ZERO: u16 = 2047;
/// Antilog table length: indices up to 2·LOG_ZERO must be valid.
const EXP_LEN: usize = 4096;

struct Tables {
    exp: [u16; EXP_LEN],
    log: [u16; FIELD_SIZE],
}

const fn build_tables() -> Tables {
    let mut exp = [0u16; EXP_LEN];
    let mut log = [0u16; FIELD_SIZE];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < GROUP_ORDER {
        exp[i] = x;
        exp[i + GROUP_ORDER] = x;
        log[x as usize] = i as u16;
        x <<= 1;
        if x & (1 << SYMBOL_BITS) != 0 {
            x ^= PRIMITIVE_POLY;
        }
        i += 1;
    }
    // exp[2·1023 ..] stays zero: reached only through LOG_ZERO.
    log[0] = LOG_ZERO;
    Tables { exp, log }
}

static TABLES: Tables = build_tables();

/// Addition (and subtraction): bitwise XOR.
#[inline(always)]
pub const fn add(a: u16, b: u16) -> u16 {
    a ^ b
}

/// Product a·b.
#[inline(always)]
pub fn mul(a: u16, b: u16) -> u16 {
    TABLES.exp[(TABLES.log[a as usize] + TABLES.log[b as usize]) as usize]
}

/// α^e for any exponent (reduced mod 1023).
#[inline(always)]
pub fn exp(e: usize) -> u16 {
    TABLES.exp[e % GROUP_ORDER]
}

/// α^e for `e < 2·1023` without a modulo (hot loops keep exponents in that range).
#[inline(always)]
pub(crate) fn exp_small(e: usize) -> u16 {
    TABLES.exp[e]
}

/// Discrete logarithm: `Some(e)` with α^e = a, `None` for zero.
#[inline(always)]
pub fn log(a: u16) -> Option<u16> {
    if a == 0 {
        None
    } else {
        Some(TABLES.log[a as usize])
    }
}

/// Discrete log of a non-zero element (callers check for zero first).
#[inline(always)]
pub(crate) fn log_nonzero(a: u16) -> u16 {
    debug_assert!(a != 0);
    TABLES.log[a as usize]
}

/// Multiplicative inverse; `None` for zero.
#[inline]
pub fn inv(a: u16) -> Option<u16> {
    log(a).map(|l| TABLES.exp[(GROUP_ORDER - l as usize) % GROUP_ORDER])
}

/// Quotient a / b; `None` when b = 0.
#[inline]
pub fn div(a: u16, b: u16) -> Option<u16> {
    let lb = log(b)?;
    Some(match log(a) {
        None => 0,
        Some(la) => TABLES.exp[la as usize + GROUP_ORDER - lb as usize],
    })
}

/// a^e (with 0^0 = 1).
#[inline]
pub fn pow(a: u16, e: u64) -> u16 {
    if e == 0 {
        return 1;
    }
    match log(a) {
        None => 0,
        Some(la) => exp(((la as u64 * (e % GROUP_ORDER as u64)) % GROUP_ORDER as u64) as usize),
    }
}

/// Bit-serial "schoolbook" product: carry-less multiply, then reduction by p(x).
/// Independent of the tables; the oracle for [`mul`] in tests.
pub const fn mul_schoolbook(a: u16, b: u16) -> u16 {
    let mut acc: u32 = 0;
    let mut i = 0;
    while i < SYMBOL_BITS {
        if (b >> i) & 1 == 1 {
            acc ^= (a as u32) << i;
        }
        i += 1;
    }
    let mut bit = 2 * SYMBOL_BITS - 2;
    loop {
        if (acc >> bit) & 1 == 1 {
            acc ^= (PRIMITIVE_POLY as u32) << (bit - SYMBOL_BITS);
        }
        if bit == SYMBOL_BITS {
            break;
        }
        bit -= 1;
    }
    acc as u16
}

/// Multiplication by a fixed constant `c` with two 32-entry tables:
/// c·x = lo[x & 31] ⊕ hi[x >> 5] (multiplication is GF(2)-linear in x).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConstMul {
    lo: [u16; 32],
    hi: [u16; 32],
}

impl ConstMul {
    /// Tables for multiplication by `c` (`c < 1024`).
    pub fn new(c: u16) -> Self {
        let mut lo = [0u16; 32];
        let mut hi = [0u16; 32];
        for v in 0..32u16 {
            lo[v as usize] = mul(c, v);
            hi[v as usize] = mul(c, v << 5);
        }
        ConstMul { lo, hi }
    }

    /// c·x for `x < 1024`.
    #[inline(always)]
    pub fn apply(&self, x: u16) -> u16 {
        self.lo[(x & 31) as usize] ^ self.hi[(x >> 5) as usize & 31]
    }
}

/// Multiplication by a fixed constant `c` in `pshufb` form: with x split into the nibbles
/// n0 = x & 15, n1 = (x >> 4) & 15 and n2 = x >> 8 (0..3), the low byte of c·x is
/// `lo[0][n0] ^ lo[1][n1] ^ lo[2][n2]` and the high byte `hi[0][n0] ^ hi[1][n1] ^ hi[2][n2]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct NibbleTables {
    /// Low bytes of c·(v << 4k), k = 0, 1, 2.
    pub lo: [[u8; 16]; 3],
    /// High bytes (bits 8–9) of c·(v << 4k).
    pub hi: [[u8; 16]; 3],
}

impl NibbleTables {
    /// Tables for multiplication by `c` (`c < 1024`).
    pub fn new(c: u16) -> Self {
        let mut lo = [[0u8; 16]; 3];
        let mut hi = [[0u8; 16]; 3];
        for k in 0..3 {
            for v in 0..16u16 {
                // n2 only takes values 0..3; entries 4..15 are never indexed but kept exact.
                let x = (v << (4 * k)) & (FIELD_SIZE as u16 - 1);
                let p = mul(c, x);
                lo[k][v as usize] = p as u8;
                hi[k][v as usize] = (p >> 8) as u8;
            }
        }
        NibbleTables { lo, hi }
    }

    /// c·x computed the way the SIMD kernels do it (scalar model of one lane).
    #[inline(always)]
    pub fn apply(&self, x: u16) -> u16 {
        let (n0, n1, n2) = ((x & 15) as usize, ((x >> 4) & 15) as usize, (x >> 8) as usize & 3);
        let lo = self.lo[0][n0] ^ self.lo[1][n1] ^ self.lo[2][n2];
        let hi = self.hi[0][n0] ^ self.hi[1][n1] ^ self.hi[2][n2];
        lo as u16 | (hi as u16) << 8
    }
}

/// Multiplies every element of `data` by `c` in place, with the best SIMD engine available
/// (AVX2 `pshufb` on x86-64, scalar otherwise).
///
/// Returns an error naming the index of the first element that is not a field element
/// (≥ 1024); `data` is left unchanged in that case.
pub fn mul_const_slice(c: u16, data: &mut [u16]) -> crate::Result<()> {
    check_symbols("gf multiply input", data)?;
    if c as usize >= FIELD_SIZE {
        return Err(crate::Error::invalid("gf constant", c, "must be below 1024"));
    }
    super::simd::SimdLevel::detect().mul_const_slice(&NibbleTables::new(c), data);
    Ok(())
}

/// Checks that every value is a 10-bit symbol (`< 1024`); the error names the first bad index.
pub fn check_symbols(what: &'static str, data: &[u16]) -> crate::Result<()> {
    // Branch-free OR reduction first (vectorizes); locate only on failure.
    if data.iter().fold(0u16, |acc, &v| acc | v) < FIELD_SIZE as u16 {
        return Ok(());
    }
    let index = data.iter().position(|&v| v as usize >= FIELD_SIZE).unwrap_or(0);
    Err(crate::Error::ValueOutOfRange {
        what,
        index,
        value: data[index] as u64,
        max: GROUP_ORDER as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_a_cyclic_group() {
        // α^1023 = 1 and every non-zero element appears exactly once among α^0..α^1022.
        let mut seen = [false; FIELD_SIZE];
        for e in 0..GROUP_ORDER {
            let v = exp(e);
            assert!(v != 0 && !seen[v as usize], "repeat at {e}");
            seen[v as usize] = true;
            assert_eq!(log(v), Some(e as u16));
        }
        assert_eq!(exp(GROUP_ORDER), 1);
        // α^10 = α^3 + 1 by the definition of p(x).
        assert_eq!(exp(10), 0b1001);
    }

    #[test]
    fn table_mul_matches_schoolbook_exhaustively() {
        for a in 0..FIELD_SIZE as u16 {
            for b in 0..FIELD_SIZE as u16 {
                assert_eq!(mul(a, b), mul_schoolbook(a, b), "{a}·{b}");
            }
        }
    }

    #[test]
    fn inverse_division_power() {
        assert_eq!(inv(0), None);
        assert_eq!(div(5, 0), None);
        assert_eq!(div(0, 7), Some(0));
        for a in 1..FIELD_SIZE as u16 {
            let ia = inv(a).unwrap();
            assert_eq!(mul(a, ia), 1);
            assert_eq!(div(1, a), Some(ia));
            assert_eq!(pow(a, 1023), 1);
            assert_eq!(pow(a, 2), mul(a, a));
        }
        assert_eq!(pow(0, 0), 1);
        assert_eq!(pow(0, 5), 0);
    }

    #[test]
    fn const_mul_forms_agree() {
        for c in [0u16, 1, 2, 3, 0x3FF, 0x200, 523, 834] {
            let cm = ConstMul::new(c);
            let nt = NibbleTables::new(c);
            for x in 0..FIELD_SIZE as u16 {
                assert_eq!(cm.apply(x), mul(c, x));
                assert_eq!(nt.apply(x), mul(c, x));
            }
        }
    }

    #[test]
    fn mul_const_slice_matches_scalar_and_validates() {
        let data: Vec<u16> = (0..1000u32).map(|i| ((i * 7919) % 1024) as u16).collect();
        for c in [0u16, 1, 77, 1023] {
            let mut d = data.clone();
            mul_const_slice(c, &mut d).unwrap();
            let want: Vec<u16> = data.iter().map(|&x| mul(c, x)).collect();
            assert_eq!(d, want);
        }
        let mut bad = data.clone();
        bad[123] = 1024;
        let err = mul_const_slice(3, &mut bad).unwrap_err();
        assert!(matches!(err, crate::Error::ValueOutOfRange { index: 123, value: 1024, .. }));
        assert!(mul_const_slice(1024, &mut [1u16]).is_err());
    }
}
