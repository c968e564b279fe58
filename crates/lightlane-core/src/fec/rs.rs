//! RS(544,514) "KP4" and RS(528,514) "KR4" Reed–Solomon codes over GF(2^10):
//! systematic encoder and errors-and-erasures decoder.
//!
//! Code definition (IEEE 802.3 91.5.2.7, 119.2.4.6): symbols of m = 10 bits in GF(2^10) with
//! p(x) = x^10 + x^3 + 1; generator g(x) = Π_{j=0}^{2t−1} (x − α^j), first root α^0.
//! Systematic encoding c(x) = m(x)·x^{2t} + (m(x)·x^{2t} mod g(x)).
//!
//! **Symbol order.** A codeword slice holds the symbols in transmission order: `codeword[0]`
//! = c_{n−1} = m_{k−1} (sent first), `codeword[k−1]` = m_0, then the parity p_{2t−1} … p_0.
//! A message slice likewise starts with m_{k−1}.
//!
//! **Decoder.** Syndromes S_j = r(α^j), j = 0…2t−1 first (bit-sliced across 256 codewords
//! in [`ReedSolomon::decode_batch`], split tables in [`ReedSolomon::decode`]); codewords with all
//! syndromes zero stop there. Otherwise Berlekamp–Massey (initialised with the erasure locator
//! for errors-and-erasures decoding) finds the errata locator Ψ(x) of degree L; a single error
//! is located directly (X = Ψ_1), larger locators by a SIMD Chien search over the n valid
//! positions of the shortened code only; Forney's formula Y = X·Ω(X⁻¹)/Ψ′(X⁻¹) (first root
//! α^0) gives the values. The decoder corrects any ν errors and ρ erasures with 2ν + ρ ≤ 2t.
//! It reports [`DecodeOutcome::Uncorrectable`] (and leaves the codeword untouched) when it can
//! tell the word is beyond that: 2ν + ρ > 2t, Ψ without exactly L distinct roots among the n
//! valid positions, or a zero error value at a located error. Beyond 2t it may, rarely, return a
//! wrong codeword (miscorrection), as every bounded-distance decoder does; the rates are
//! measured in the tests (see the module report).
//!
//! The naive oracle is [`super::rs_reference`] (polynomial division, direct syndromes,
//! Euclid/Sugiyama, full-field Chien, final syndrome check).

use super::gf::{self, check_symbols, ConstMul, NibbleTables, FIELD_SIZE, GROUP_ORDER};
use super::bitslice::{self, Sliced, SLICE};
use super::simd::{SimdLevel, BLOCK};
use crate::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The two IEEE 802.3 RS codes over GF(2^10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RsCode {
    /// RS(544,514), t = 15: "KP4" (802.3 Cl. 91 for 100GBASE-KP4/CR4-PAM4, Cl. 119 for
    /// 200G/400GBASE-R, Cl. 172 for 800GBASE-R).
    #[default]
    Kp4,
    /// RS(528,514), t = 7: "KR4" (802.3 Cl. 91, 100GBASE-R NRZ).
    Kr4,
}

impl RsCode {
    /// Codeword length n in symbols.
    pub const fn n(self) -> usize {
        match self {
            RsCode::Kp4 => 544,
            RsCode::Kr4 => 528,
        }
    }

    /// Message length k in symbols (514 for both codes).
    pub const fn k(self) -> usize {
        514
    }

    /// Correctable symbol errors t = (n − k) / 2.
    pub const fn t(self) -> usize {
        (self.n() - self.k()) / 2
    }

    /// Parity symbols 2t.
    pub const fn parity_len(self) -> usize {
        self.n() - self.k()
    }

    /// Bits per symbol (10).
    pub const fn symbol_bits(self) -> usize {
        gf::SYMBOL_BITS as usize
    }

    /// Name on the command line and in reports ("kp4" or "kr4").
    pub const fn name(self) -> &'static str {
        match self {
            RsCode::Kp4 => "kp4",
            RsCode::Kr4 => "kr4",
        }
    }
}

impl std::fmt::Display for RsCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for RsCode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "kp4" | "rs544" | "rs(544,514)" => Ok(RsCode::Kp4),
            "kr4" | "rs528" | "rs(528,514)" => Ok(RsCode::Kr4),
            _ => Err(Error::invalid("fec code", s, "expected 'kp4' or 'kr4'")),
        }
    }
}

/// Result of decoding one codeword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "outcome")]
pub enum DecodeOutcome {
    /// All syndromes zero: the word is a codeword and was not changed.
    #[default]
    Clean,
    /// The decoder changed `symbols` symbols (errors plus erasures whose value was wrong).
    Corrected {
        /// Number of symbols whose value was changed.
        symbols: u16,
    },
    /// The decoder detected more errata than it can correct; the word was left unchanged.
    Uncorrectable,
}

impl DecodeOutcome {
    /// Symbols changed by the decoder (0 for clean and uncorrectable words).
    pub const fn corrected_symbols(self) -> u16 {
        match self {
            DecodeOutcome::Corrected { symbols } => symbols,
            _ => 0,
        }
    }

    /// Whether the decoder flagged the word.
    pub const fn is_uncorrectable(self) -> bool {
        matches!(self, DecodeOutcome::Uncorrectable)
    }
}

/// Largest number of parity symbols (KP4), sizing the fixed polynomial buffers.
const MAX_PARITY: usize = 30;
/// Polynomial buffer length (degree ≤ 2t plus slack for the x^m·B shift).
const POLY: usize = 64;

/// A Reed–Solomon encoder/decoder for one [`RsCode`]. Construction builds all tables; the
/// methods are `&self` and can be shared between threads.
///
/// ```
/// use lightlane_core::fec::{DecodeOutcome, ReedSolomon, RsCode};
/// let rs = ReedSolomon::new(RsCode::Kp4);
/// let msg: Vec<u16> = (0..514).map(|i| (i * 7 % 1024) as u16).collect();
/// let mut cw = vec![0u16; 544];
/// rs.encode(&msg, &mut cw).unwrap();
/// cw[10] ^= 0x155;
/// cw[300] ^= 1;
/// let out = rs.decode(&mut cw, &[]).unwrap();
/// assert_eq!(out, DecodeOutcome::Corrected { symbols: 2 });
/// assert_eq!(&cw[..514], &msg[..]);
/// ```
#[derive(Debug, Clone)]
pub struct ReedSolomon {
    code: RsCode,
    level: SimdLevel,
    /// g_0 … g_{2t} (ascending powers, monic).
    generator: Vec<u16>,
    /// Syndrome constants α^j in split-table form (single-codeword path).
    syndrome_scalar: Vec<ConstMul>,
    /// Chien step constants α^(−32k), k = 1 … 2t.
    chien_step: Vec<NibbleTables>,
}

/// Caller-owned scratch for [`ReedSolomon::decode_batch_serial`]: one bit-sliced block of
/// 256 codewords and its syndromes (about 190 KiB for KP4). One per thread.
#[derive(Debug, Clone)]
pub struct DecodeScratch {
    symbols: Vec<Sliced>,
    syndromes: Vec<Sliced>,
}

impl DecodeScratch {
    /// Scratch sized for `code`.
    pub fn new(code: RsCode) -> Self {
        DecodeScratch {
            symbols: vec![[[0; 4]; 10]; code.n()],
            syndromes: vec![[[0; 4]; 10]; code.parity_len()],
        }
    }
}

impl ReedSolomon {
    /// Encoder/decoder for `code` with the fastest SIMD level of this CPU.
    pub fn new(code: RsCode) -> Self {
        Self::build(code, SimdLevel::detect())
    }

    /// Encoder/decoder with an explicit SIMD level (for conformance tests and benchmarks).
    pub fn with_simd(code: RsCode, level: SimdLevel) -> Result<Self> {
        if !level.is_available() {
            return Err(Error::invalid("simd level", format!("{level:?}"), "not supported by this CPU"));
        }
        Ok(Self::build(code, level))
    }

    fn build(code: RsCode, level: SimdLevel) -> Self {
        let two_t = code.parity_len();
        let mut g = vec![1u16];
        for j in 0..two_t {
            // g ← g·(x + α^j)
            let r = gf::exp(j);
            let mut next = vec![0u16; g.len() + 1];
            for (i, &c) in g.iter().enumerate() {
                next[i + 1] ^= c;
                next[i] ^= gf::mul(c, r);
            }
            g = next;
        }
        ReedSolomon {
            code,
            level,
            generator: g,
            syndrome_scalar: (0..two_t).map(|j| ConstMul::new(gf::exp(j))).collect(),
            chien_step: (1..=two_t)
                .map(|k| NibbleTables::new(gf::exp((GROUP_ORDER - (BLOCK * k) % GROUP_ORDER) % GROUP_ORDER)))
                .collect(),
        }
    }

    /// The code.
    pub fn code(&self) -> RsCode {
        self.code
    }

    /// The SIMD level in use.
    pub fn simd_level(&self) -> SimdLevel {
        self.level
    }

    /// Generator polynomial coefficients g_0 … g_{2t}, ascending powers (g_{2t} = 1).
    pub fn generator(&self) -> &[u16] {
        &self.generator
    }

    /// Systematic encoding of `msg` (k symbols, `msg[0]` = m_{k−1}) into `codeword`
    /// (n symbols: the message, then the 2t parity symbols p_{2t−1} … p_0).
    pub fn encode(&self, msg: &[u16], codeword: &mut [u16]) -> Result<()> {
        let (n, k, two_t) = (self.code.n(), self.code.k(), self.code.parity_len());
        if msg.len() != k {
            return Err(Error::LengthMismatch { what: "rs message", expected: k, got: msg.len() });
        }
        if codeword.len() != n {
            return Err(Error::LengthMismatch { what: "rs codeword", expected: n, got: codeword.len() });
        }
        check_symbols("rs message", msg)?;
        let glog: Vec<u16> = self.generator[..two_t].iter().map(|&c| gf::log(c).unwrap_or(u16::MAX)).collect();
        // rem[i] = coefficient of x^i of the running remainder.
        let mut rem = [0u16; MAX_PARITY];
        let rem = &mut rem[..two_t];
        for &s in msg {
            let fb = s ^ rem[two_t - 1];
            rem.copy_within(0..two_t - 1, 1);
            rem[0] = 0;
            if let Some(lf) = gf::log(fb) {
                for (r, &lg) in rem.iter_mut().zip(&glog) {
                    if lg != u16::MAX {
                        *r ^= gf::exp_small(lf as usize + lg as usize);
                    }
                }
            }
        }
        codeword[..k].copy_from_slice(msg);
        for i in 0..two_t {
            codeword[k + i] = rem[two_t - 1 - i];
        }
        Ok(())
    }

    /// Allocating wrapper around [`ReedSolomon::encode`].
    pub fn encode_vec(&self, msg: &[u16]) -> Result<Vec<u16>> {
        let mut cw = vec![0u16; self.code.n()];
        self.encode(msg, &mut cw)?;
        Ok(cw)
    }

    /// Syndromes S_j = r(α^j), j = 0 … 2t−1, of one received word (`out.len()` = 2t).
    pub fn syndromes(&self, codeword: &[u16], out: &mut [u16]) -> Result<()> {
        self.check_word(codeword)?;
        if out.len() != self.code.parity_len() {
            return Err(Error::LengthMismatch {
                what: "syndrome buffer",
                expected: self.code.parity_len(),
                got: out.len(),
            });
        }
        self.syndromes_scalar(codeword, out);
        Ok(())
    }

    fn check_word(&self, codeword: &[u16]) -> Result<()> {
        if codeword.len() != self.code.n() {
            return Err(Error::LengthMismatch {
                what: "rs codeword",
                expected: self.code.n(),
                got: codeword.len(),
            });
        }
        check_symbols("rs codeword", codeword)
    }

    fn syndromes_scalar(&self, codeword: &[u16], out: &mut [u16]) {
        out.fill(0);
        for &r in codeword {
            for (s, m) in out.iter_mut().zip(&self.syndrome_scalar) {
                *s = m.apply(*s) ^ r;
            }
        }
    }

    /// Decodes one received word in place. `erasures` are indices into `codeword` (0 = first
    /// symbol) of symbols known to be unreliable; they must be distinct and `< n`.
    ///
    /// Errors (`Err`) are reserved for bad arguments: wrong length, a value ≥ 1024, an erasure
    /// index out of range or repeated. More than 2t erasures is a property of the data and
    /// gives [`DecodeOutcome::Uncorrectable`].
    pub fn decode(&self, codeword: &mut [u16], erasures: &[usize]) -> Result<DecodeOutcome> {
        self.check_word(codeword)?;
        let n = self.code.n();
        let mut seen = [false; 1024];
        for (i, &e) in erasures.iter().enumerate() {
            if e >= n {
                return Err(Error::ValueOutOfRange {
                    what: "rs erasure index",
                    index: i,
                    value: e as u64,
                    max: n as u64 - 1,
                });
            }
            if std::mem::replace(&mut seen[e], true) {
                return Err(Error::invalid("rs erasures", e, "erasure index listed twice"));
            }
        }
        let mut s = [0u16; MAX_PARITY];
        let s = &mut s[..self.code.parity_len()];
        self.syndromes_scalar(codeword, s);
        if s.iter().all(|&v| v == 0) {
            return Ok(DecodeOutcome::Clean);
        }
        if erasures.len() > self.code.parity_len() {
            return Ok(DecodeOutcome::Uncorrectable);
        }
        let mut ex = [0u16; MAX_PARITY];
        for (x, &e) in ex.iter_mut().zip(erasures) {
            *x = gf::exp(n - 1 - e);
        }
        Ok(self.correct(codeword, s, &ex[..erasures.len()]))
    }

    /// Decodes `codewords.len() / n` words laid end to end, in place, on all cores (rayon's
    /// current pool). `outcomes` gets one entry per word. Words are validated first (length
    /// a multiple of n, values < 1024); on error nothing is modified.
    pub fn decode_batch(&self, codewords: &mut [u16], outcomes: &mut [DecodeOutcome]) -> Result<()> {
        let n = self.code.n();
        self.check_batch(codewords, outcomes)?;
        codewords
            .par_chunks_mut(n * SLICE)
            .zip(outcomes.par_chunks_mut(SLICE))
            .for_each_init(
                || DecodeScratch::new(self.code),
                |scratch, (cws, outs)| self.decode_block_unchecked(cws, outs, scratch),
            );
        Ok(())
    }

    /// Single-threaded [`ReedSolomon::decode_batch`] with caller-owned scratch.
    pub fn decode_batch_serial(
        &self,
        codewords: &mut [u16],
        outcomes: &mut [DecodeOutcome],
        scratch: &mut DecodeScratch,
    ) -> Result<()> {
        let n = self.code.n();
        self.check_batch(codewords, outcomes)?;
        if scratch.symbols.len() != n || scratch.syndromes.len() != self.code.parity_len() {
            *scratch = DecodeScratch::new(self.code);
        }
        for (cws, outs) in codewords.chunks_mut(n * SLICE).zip(outcomes.chunks_mut(SLICE)) {
            self.decode_block_unchecked(cws, outs, scratch);
        }
        Ok(())
    }

    fn check_batch(&self, codewords: &[u16], outcomes: &[DecodeOutcome]) -> Result<()> {
        let n = self.code.n();
        if !codewords.len().is_multiple_of(n) {
            return Err(Error::invalid(
                "rs codeword buffer length",
                codewords.len(),
                format!("must be a multiple of n = {n}"),
            ));
        }
        if outcomes.len() != codewords.len() / n {
            return Err(Error::LengthMismatch {
                what: "rs outcomes",
                expected: codewords.len() / n,
                got: outcomes.len(),
            });
        }
        const CHUNK: usize = 1 << 16;
        codewords
            .par_chunks(CHUNK)
            .enumerate()
            .try_for_each(|(ci, ch)| {
                check_symbols("rs codewords", ch).map_err(|e| match e {
                    Error::ValueOutOfRange { what, index, value, max } => Error::ValueOutOfRange {
                        what,
                        index: ci * CHUNK + index,
                        value,
                        max,
                    },
                    other => other,
                })
            })
    }

    /// Decodes up to [`SLICE`] (256) consecutive codewords; values must be `< 1024`.
    fn decode_block_unchecked(&self, cws: &mut [u16], outs: &mut [DecodeOutcome], sc: &mut DecodeScratch) {
        let n = self.code.n();
        let two_t = self.code.parity_len();
        let m = outs.len();
        debug_assert_eq!(cws.len(), m * n);
        self.level.slice_block(cws, n, m, &mut sc.symbols);
        self.level.syndromes_sliced(&sc.symbols, &mut sc.syndromes);
        let nonzero = bitslice::nonzero_lanes(&sc.syndromes);
        let mut s = [0u16; MAX_PARITY];
        let mut lo = [[0u8; BLOCK]; MAX_PARITY];
        let mut hi = [[0u8; BLOCK]; MAX_PARITY];
        for (k, group) in outs.chunks_mut(BLOCK).enumerate() {
            let mask = (nonzero[k / 2] >> ((k % 2) * 32)) as u32;
            if mask != 0 {
                self.level.unslice_group(&sc.syndromes, k, &mut lo, &mut hi);
            }
            for (l, out) in group.iter_mut().enumerate() {
                if (mask >> l) & 1 == 0 {
                    *out = DecodeOutcome::Clean;
                    continue;
                }
                for j in 0..two_t {
                    s[j] = lo[j][l] as u16 | (hi[j][l] as u16) << 8;
                }
                let c = k * BLOCK + l;
                *out = self.correct(&mut cws[c * n..(c + 1) * n], &s[..two_t], &[]);
            }
        }
    }

    /// Algebraic decoding from non-zero syndromes `s` (2t of them) and erasure locators
    /// `erasure_x` (X = α^power). Modifies `cw` only on success.
    fn correct(&self, cw: &mut [u16], s: &[u16], erasure_x: &[u16]) -> DecodeOutcome {
        let n = self.code.n();
        let two_t = s.len();
        let rho = erasure_x.len();
        if rho == 0 {
            if let Some(outcome) = single_error(cw, s, n) {
                return outcome;
            }
        }
        let mut psi = [0u16; POLY];
        let l = berlekamp_massey(s, erasure_x, &mut psi);
        let nu = l - rho;
        if 2 * nu + rho > two_t || l == 0 || psi[l] == 0 || psi[l + 1..].iter().any(|&c| c != 0) {
            return DecodeOutcome::Uncorrectable;
        }
        // Error locations as powers p (codeword index n−1−p).
        let mut powers = [0u16; MAX_PARITY];
        let found = if l == 1 {
            // Ψ(x) = 1 + X·x: the single root is X⁻¹.
            let p = gf::log_nonzero(psi[1]) as usize;
            if p >= n {
                return DecodeOutcome::Uncorrectable;
            }
            powers[0] = p as u16;
            1
        } else {
            match self.chien(&psi[..=l], n, &mut powers) {
                Some(f) => f,
                None => return DecodeOutcome::Uncorrectable,
            }
        };
        if found != l {
            return DecodeOutcome::Uncorrectable;
        }
        // Ω(x) = S(x)Ψ(x) mod x^L (higher coefficients vanish by the key equation).
        let mut omega = [0u16; MAX_PARITY];
        for i in 0..l {
            let mut acc = 0u16;
            for j in 0..=i {
                acc ^= gf::mul(s[j], psi[i - j]);
            }
            omega[i] = acc;
        }
        let mut values = [0u16; MAX_PARITY];
        let mut changed = 0u16;
        for (idx, &p) in powers[..l].iter().enumerate() {
            let p = p as usize;
            // x = X⁻¹ = α^(−p); evaluate Ω(x) and Ψ′(x) (odd terms of Ψ) in the log domain.
            let lx = (GROUP_ORDER - p) % GROUP_ORDER;
            let mut om = 0u16;
            let mut e = 0usize;
            for &c in &omega[..l] {
                if c != 0 {
                    om ^= gf::exp_small(gf::log_nonzero(c) as usize + e);
                }
                e = (e + lx) % GROUP_ORDER;
            }
            let mut dpsi = 0u16;
            let mut e = 0usize; // exponent of x^(i−1) for odd i
            let lx2 = (2 * lx) % GROUP_ORDER;
            for i in (1..=l).step_by(2) {
                if psi[i] != 0 {
                    dpsi ^= gf::exp_small(gf::log_nonzero(psi[i]) as usize + e);
                }
                e = (e + lx2) % GROUP_ORDER;
            }
            if dpsi == 0 {
                return DecodeOutcome::Uncorrectable;
            }
            // Y = X·Ω(X⁻¹)/Ψ′(X⁻¹)
            let y = match gf::log(om) {
                None => 0,
                Some(lo) => gf::exp(lo as usize + p + GROUP_ORDER - gf::log_nonzero(dpsi) as usize),
            };
            if y == 0 {
                let is_erasure = erasure_x.contains(&gf::exp(p));
                if !is_erasure {
                    return DecodeOutcome::Uncorrectable;
                }
            } else {
                changed += 1;
            }
            values[idx] = y;
        }
        for (&p, &y) in powers[..l].iter().zip(&values[..l]) {
            cw[n - 1 - p as usize] ^= y;
        }
        if changed == 0 {
            DecodeOutcome::Clean
        } else {
            DecodeOutcome::Corrected { symbols: changed }
        }
    }

    /// Roots of Ψ (degree ≥ 2) among the powers 0 … n−1, written to `powers`.
    /// `None` when more roots are found than fit (cannot happen for a consistent locator).
    fn chien(&self, psi: &[u16], n: usize, powers: &mut [u16]) -> Option<usize> {
        let deg = psi.len() - 1;
        let mut il = [[0u8; BLOCK]; MAX_PARITY];
        let mut ih = [[0u8; BLOCK]; MAX_PARITY];
        for k in 1..=deg {
            match gf::log(psi[k]) {
                None => {
                    il[k - 1] = [0; BLOCK];
                    ih[k - 1] = [0; BLOCK];
                }
                Some(lk) => {
                    // term k at position l: ψ_k·α^(−k·l)
                    let mut e = lk as usize;
                    let step = (GROUP_ORDER - k % GROUP_ORDER) % GROUP_ORDER;
                    for l in 0..BLOCK {
                        let v = gf::exp_small(e);
                        il[k - 1][l] = v as u8;
                        ih[k - 1][l] = (v >> 8) as u8;
                        e = (e + step) % GROUP_ORDER;
                    }
                }
            }
        }
        let blocks = n.div_ceil(BLOCK);
        let mut masks = [0u32; FIELD_SIZE / BLOCK];
        self.level
            .chien_block(&self.chien_step, &mut il[..deg], &mut ih[..deg], &mut masks[..blocks]);
        let mut found = 0usize;
        for (b, &m) in masks[..blocks].iter().enumerate() {
            let mut m = m;
            while m != 0 {
                let l = m.trailing_zeros() as usize;
                m &= m - 1;
                let p = b * BLOCK + l;
                if p >= n {
                    break;
                }
                if found == powers.len() {
                    return None;
                }
                powers[found] = p as u16;
                found += 1;
            }
        }
        Some(found)
    }
}

/// Fast path for the most common non-zero case, one symbol error: S_j = Y·X^j for all j with
/// Y = S_0 ≠ 0 and X = S_1/S_0 = α^p (the answer Berlekamp–Massey would give, checked in the
/// log domain with one table lookup per syndrome). `None` when the syndromes are not of that
/// form; uncorrectable when the position lies outside the shortened code.
fn single_error(cw: &mut [u16], s: &[u16], n: usize) -> Option<DecodeOutcome> {
    let l0 = gf::log(s[0])? as usize;
    let l1 = gf::log(s[1])? as usize;
    let p = (l1 + GROUP_ORDER - l0) % GROUP_ORDER;
    let mut e = l0;
    for &sj in &s[2..] {
        e += p;
        if e >= GROUP_ORDER {
            e -= GROUP_ORDER;
        }
        if sj != gf::exp_small(e) {
            return None;
        }
    }
    if p >= n {
        return Some(DecodeOutcome::Uncorrectable);
    }
    cw[n - 1 - p] ^= s[0];
    Some(DecodeOutcome::Corrected { symbols: 1 })
}

/// Berlekamp–Massey for the errata locator. `s` = S_0 … S_{2t−1}; `erasure_x` the erasure
/// locators. Writes Ψ (ascending, Ψ_0 = 1) into `psi` and returns the LFSR length L
/// (= ρ + number of errors). With erasures the iteration starts from Γ(x) = Π(1 + X_e·x) and
/// at step ρ (Blahut, "Algebraic Codes for Data Transmission", §7.7).
fn berlekamp_massey(s: &[u16], erasure_x: &[u16], psi: &mut [u16; POLY]) -> usize {
    let two_t = s.len();
    let rho = erasure_x.len();
    let mut c = [0u16; POLY];
    c[0] = 1;
    for (d, &x) in erasure_x.iter().enumerate() {
        for i in (1..=d + 1).rev() {
            c[i] ^= gf::mul(c[i - 1], x);
        }
    }
    let mut b = c;
    let mut deg_b = rho; // degree bound of b
    let mut l = rho;
    let mut m = 1usize;
    let mut last_d = 1u16;
    for r in rho..two_t {
        let mut d = 0u16;
        for i in 0..=l.min(r) {
            d ^= gf::mul(c[i], s[r - i]);
        }
        if d == 0 {
            m += 1;
            continue;
        }
        let coef = gf::div(d, last_d).unwrap_or(0);
        // i + m stays below POLY: deg_b ≤ 2t ≤ 30 and m ≤ 2t + 1.
        let span = (deg_b + 1).min(POLY - m);
        if 2 * l <= r + rho {
            let t = c;
            for i in 0..span {
                c[i + m] ^= gf::mul(coef, b[i]);
            }
            deg_b = l;
            l = r + 1 + rho - l;
            b = t;
            last_d = d;
            m = 1;
        } else {
            for i in 0..span {
                c[i + m] ^= gf::mul(coef, b[i]);
            }
            m += 1;
        }
    }
    *psi = c;
    l
}

#[cfg(test)]
mod tests {
    use super::super::rs_reference as reference;
    use super::super::test_support::shared_dir;
    use super::*;
    use proptest::prelude::*;
    use rand::seq::index::sample;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// standards.md §1.1: g(x) of RS(544,514), ascending g0 … g30 (matches Table 119-3).
    const KP4_G: [u16; 31] = [
        523, 834, 128, 158, 185, 127, 392, 193, 610, 788, 361, 883, 503, 942, 385, 495, 720, 94, 132, 593, 249,
        282, 565, 108, 1, 552, 230, 187, 552, 575, 1,
    ];
    /// standards.md §1.1: g(x) of RS(528,514), ascending g0 … g14.
    const KR4_G: [u16; 15] = [432, 290, 945, 265, 592, 391, 614, 900, 925, 656, 32, 701, 6, 904, 1];

    fn ramp_down() -> Vec<u16> {
        (510..=1023u16).rev().collect()
    }

    fn random_msg(rng: &mut impl Rng, code: RsCode) -> Vec<u16> {
        (0..code.k()).map(|_| rng.random_range(0..1024)).collect()
    }

    #[test]
    fn generators_match_standard() {
        assert_eq!(ReedSolomon::new(RsCode::Kp4).generator(), &KP4_G);
        assert_eq!(ReedSolomon::new(RsCode::Kr4).generator(), &KR4_G);
        assert_eq!(reference::generator(RsCode::Kp4), KP4_G.to_vec());
        assert_eq!(reference::generator(RsCode::Kr4), KR4_G.to_vec());
    }

    /// Parity vectors of standards.md §1.1 (gustlin_01_0312, anslow_01a_0712 examples).
    #[test]
    fn parity_vectors_from_standards_md() {
        let cases: [(RsCode, Vec<u16>, Vec<u16>); 3] = [
            (
                RsCode::Kr4,
                ramp_down(),
                vec![451, 952, 674, 140, 539, 287, 460, 438, 559, 883, 542, 885, 930, 191],
            ),
            (
                RsCode::Kr4,
                {
                    let mut m = vec![0u16; 514];
                    m[513] = 0x100;
                    m
                },
                vec![1019, 521, 222, 72, 397, 726, 992, 600, 105, 61, 850, 645, 8, 780],
            ),
            (
                RsCode::Kp4,
                ramp_down(),
                vec![
                    891, 340, 52, 854, 570, 330, 214, 373, 389, 815, 601, 552, 127, 992, 898, 522, 193, 5, 813, 678,
                    205, 269, 401, 216, 742, 697, 415, 633, 799, 563,
                ],
            ),
        ];
        for (code, msg, parity) in cases {
            let cw = ReedSolomon::new(code).encode_vec(&msg).unwrap();
            assert_eq!(&cw[code.k()..], &parity[..], "{code}");
            assert_eq!(reference::encode(code, &msg).unwrap(), cw, "{code} reference");
            assert!(reference::syndromes(code, &cw).iter().all(|&s| s == 0));
        }
    }

    #[test]
    fn kp4_vectors_from_shared_json() {
        let Some(dir) = shared_dir() else {
            eprintln!("SKIP kp4_vectors_from_shared_json: ../shared not found");
            return;
        };
        let path = dir.join("captures/patterns/rs544_514_vectors.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let to_vec = |x: &serde_json::Value| -> Vec<u16> {
            x.as_array().unwrap().iter().map(|e| e.as_u64().unwrap() as u16).collect()
        };
        let mut g = to_vec(&v["generator_poly_coeffs_high_to_low_degree"]);
        g.reverse();
        let rs = ReedSolomon::new(RsCode::Kp4);
        assert_eq!(rs.generator(), &g[..]);
        let vectors = v["vectors"].as_array().unwrap();
        assert_eq!(vectors.len(), 5);
        for vec in vectors {
            let msg = to_vec(&vec["message_514"]);
            let parity = to_vec(&vec["parity_30"]);
            let cw = rs.encode_vec(&msg).unwrap();
            assert_eq!(&cw[514..], &parity[..], "{}", vec["name"]);
        }
        let dt = &v["decode_test"];
        let mut cw = to_vec(&dt["corrupted_codeword_544"]);
        let want = to_vec(&dt["expected_message_514"]);
        let n_err = dt["errors_corrected"].as_u64().unwrap() as u16;
        let mut cw2 = cw.clone();
        let mut cw3 = cw.clone();
        assert_eq!(rs.decode(&mut cw, &[]).unwrap(), DecodeOutcome::Corrected { symbols: n_err });
        assert_eq!(&cw[..514], &want[..]);
        let mut out = [DecodeOutcome::Clean];
        rs.decode_batch(&mut cw2, &mut out).unwrap();
        assert_eq!(out[0], DecodeOutcome::Corrected { symbols: n_err });
        assert_eq!(cw2, cw);
        assert_eq!(reference::decode(RsCode::Kp4, &mut cw3, &[]).unwrap(), out[0]);
        assert_eq!(cw3, cw);
    }

    /// Corrupts `cw` at `errors` random positions (random non-zero values) plus `erasures`
    /// positions (random values, possibly unchanged). Returns the erasure indices.
    fn corrupt(rng: &mut impl Rng, cw: &mut [u16], errors: usize, erasures: usize) -> Vec<usize> {
        let pos = sample(rng, cw.len(), errors + erasures).into_vec();
        for &p in &pos[..errors] {
            cw[p] ^= rng.random_range(1..1024);
        }
        for &p in &pos[errors..] {
            cw[p] = rng.random_range(0..1024);
        }
        pos[errors..].to_vec()
    }

    fn all_decoders(code: RsCode) -> Vec<ReedSolomon> {
        SimdLevel::available()
            .into_iter()
            .map(|l| ReedSolomon::with_simd(code, l).unwrap())
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        /// Every errata pattern with 2·errors + erasures ≤ 2t is corrected, by every engine,
        /// the batch path (errors only) and the reference, with the exact changed-symbol count.
        #[test]
        fn corrects_up_to_t(seed in any::<u64>(), kp4 in any::<bool>(), frac in 0.0f64..=1.0, erase_share in 0.0f64..=1.0) {
            let code = if kp4 { RsCode::Kp4 } else { RsCode::Kr4 };
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let two_t = code.parity_len();
            // Pick a budget 2ν + ρ ≤ 2t.
            let budget = (frac * two_t as f64).round() as usize;
            let rho = ((erase_share * budget as f64).round() as usize).min(budget);
            let nu = (budget - rho) / 2;
            let msg = random_msg(&mut rng, code);
            let clean = reference::encode(code, &msg).unwrap();
            let mut rx = clean.clone();
            let erasures = corrupt(&mut rng, &mut rx, nu, rho);
            let changed = rx.iter().zip(&clean).filter(|(a, b)| a != b).count() as u16;
            let want = if changed == 0 { DecodeOutcome::Clean } else { DecodeOutcome::Corrected { symbols: changed } };
            for rs in all_decoders(code) {
                let mut w = rx.clone();
                prop_assert_eq!(rs.decode(&mut w, &erasures).unwrap(), want, "{:?}", rs.simd_level());
                prop_assert_eq!(&w, &clean);
                let mut e = rx.clone();
                let got = rs.decode(&mut e, &[]).unwrap();
                if 2 * changed as usize <= two_t {
                    prop_assert_eq!(got, want);
                    prop_assert_eq!(&e, &clean);
                }
            }
            let mut w = rx.clone();
            prop_assert_eq!(reference::decode(code, &mut w, &erasures).unwrap(), want);
            prop_assert_eq!(&w, &clean);
        }
    }

    /// Fast single, batch (every engine, odd batch sizes) and reference agree on random words
    /// with 0 … t+5 errors, including the uncorrectable ones.
    #[test]
    fn engines_agree_with_reference_beyond_t() {
        for code in [RsCode::Kp4, RsCode::Kr4] {
            let mut rng = ChaCha8Rng::seed_from_u64(7 + code.n() as u64);
            let n = code.n();
            let count = 45; // not a multiple of the 32-codeword block
            let mut words = Vec::with_capacity(count * n);
            for w in 0..count {
                let msg = random_msg(&mut rng, code);
                let mut cw = reference::encode(code, &msg).unwrap();
                corrupt(&mut rng, &mut cw, w % (code.t() + 6), 0);
                words.extend_from_slice(&cw);
            }
            let mut want_words = words.clone();
            let want: Vec<DecodeOutcome> = want_words
                .chunks_mut(n)
                .map(|cw| reference::decode(code, cw, &[]).unwrap())
                .collect();
            assert!(want.iter().any(|o| o.is_uncorrectable()));
            for rs in all_decoders(code) {
                let mut single = words.clone();
                let got: Vec<DecodeOutcome> = single.chunks_mut(n).map(|cw| rs.decode(cw, &[]).unwrap()).collect();
                assert_eq!(got, want, "{code} {:?} single", rs.simd_level());
                assert_eq!(single, want_words);
                let mut batch = words.clone();
                let mut outs = vec![DecodeOutcome::Clean; count];
                rs.decode_batch(&mut batch, &mut outs).unwrap();
                assert_eq!(outs, want, "{code} {:?} batch", rs.simd_level());
                assert_eq!(batch, want_words);
                let mut serial = words.clone();
                let mut scratch = DecodeScratch::new(code);
                rs.decode_batch_serial(&mut serial, &mut outs, &mut scratch).unwrap();
                assert_eq!(outs, want);
                assert_eq!(serial, want_words);
            }
        }
    }

    /// Counts, for e = t+1 … t+5 random symbol errors, how often the decoder flags the word,
    /// how often it returns a wrong codeword, and (never allowed) a "success" that is not a
    /// codeword or is claimed clean.
    fn beyond_t_rates(code: RsCode, trials: usize, seed: u64) -> Vec<(usize, usize, usize)> {
        let rs = ReedSolomon::new(code);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = code.n();
        let mut res = Vec::new();
        for e in code.t() + 1..=code.t() + 5 {
            let (mut flagged, mut miscorrected) = (0, 0);
            let mut words = Vec::with_capacity(trials * n);
            let mut clean = Vec::with_capacity(trials * n);
            for _ in 0..trials {
                let msg = random_msg(&mut rng, code);
                let cw = rs.encode_vec(&msg).unwrap();
                clean.extend_from_slice(&cw);
                let mut rx = cw;
                corrupt(&mut rng, &mut rx, e, 0);
                words.extend_from_slice(&rx);
            }
            let mut outs = vec![DecodeOutcome::Clean; trials];
            rs.decode_batch(&mut words, &mut outs).unwrap();
            for (i, o) in outs.iter().enumerate() {
                let w = &words[i * n..(i + 1) * n];
                match o {
                    DecodeOutcome::Uncorrectable => flagged += 1,
                    DecodeOutcome::Clean => panic!("{e} errors reported clean"),
                    DecodeOutcome::Corrected { .. } => {
                        let mut s = vec![0u16; code.parity_len()];
                        rs.syndromes(w, &mut s).unwrap();
                        assert!(s.iter().all(|&v| v == 0), "success that is not a codeword");
                        assert_ne!(w, &clean[i * n..(i + 1) * n]);
                        miscorrected += 1;
                    }
                }
            }
            res.push((e, flagged, miscorrected));
        }
        res
    }

    #[test]
    fn more_than_t_errors_are_flagged() {
        for code in [RsCode::Kp4, RsCode::Kr4] {
            for (e, flagged, mis) in beyond_t_rates(code, 300, 11) {
                // Theory: miscorrection ≈ 5e-17 (KP4), 2e-6 (KR4) per word.
                assert_eq!(mis, 0, "{code}: {e} errors miscorrected");
                assert_eq!(flagged, 300);
            }
        }
    }

    /// The measurement quoted in the report: `cargo test -p lightlane-core --release
    /// beyond_t_rate_measurement -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn beyond_t_rate_measurement() {
        for code in [RsCode::Kp4, RsCode::Kr4] {
            let trials = 200_000;
            for (e, flagged, mis) in beyond_t_rates(code, trials, 2024) {
                println!(
                    "{code} errors={e}: flagged {flagged}/{trials} ({:.6}), miscorrected {mis}",
                    flagged as f64 / trials as f64
                );
            }
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let rs = ReedSolomon::new(RsCode::Kp4);
        let mut cw = vec![0u16; 544];
        assert!(matches!(rs.encode(&[0; 513], &mut cw), Err(Error::LengthMismatch { .. })));
        assert!(matches!(rs.encode(&[0; 514], &mut cw[..543]), Err(Error::LengthMismatch { .. })));
        let mut msg = vec![0u16; 514];
        msg[9] = 1024;
        assert!(matches!(rs.encode(&msg, &mut cw), Err(Error::ValueOutOfRange { index: 9, .. })));
        assert!(matches!(rs.decode(&mut cw[..100], &[]), Err(Error::LengthMismatch { .. })));
        cw[500] = 0xFFFF;
        assert!(matches!(rs.decode(&mut cw, &[]), Err(Error::ValueOutOfRange { index: 500, .. })));
        cw[500] = 0;
        assert!(rs.decode(&mut cw, &[544]).is_err());
        assert!(rs.decode(&mut cw, &[3, 3]).is_err());
        let many: Vec<usize> = (0..31).collect();
        assert_eq!(rs.decode(&mut cw, &many).unwrap(), DecodeOutcome::Clean);
        cw[0] = 5;
        assert_eq!(rs.decode(&mut cw, &many).unwrap(), DecodeOutcome::Uncorrectable);
        assert_eq!(cw[0], 5, "uncorrectable words are left unchanged");
        let mut two = vec![0u16; 544 * 2 + 1];
        let mut outs = [DecodeOutcome::Clean; 2];
        assert!(rs.decode_batch(&mut two, &mut outs).is_err());
        let mut two = vec![0u16; 544 * 2];
        assert!(rs.decode_batch(&mut two, &mut outs[..1]).is_err());
        two[544 + 7] = 2000;
        let err = rs.decode_batch(&mut two, &mut outs).unwrap_err();
        assert!(matches!(err, Error::ValueOutOfRange { index: 551, value: 2000, .. }), "{err}");
        assert!("kp5".parse::<RsCode>().is_err());
        assert_eq!("KR4".parse::<RsCode>().unwrap(), RsCode::Kr4);
    }

    #[test]
    fn single_error_everywhere_and_burst_at_the_ends() {
        for code in [RsCode::Kp4, RsCode::Kr4] {
            let rs = ReedSolomon::new(code);
            let msg: Vec<u16> = (0..514).map(|i| (i * 31 % 1024) as u16).collect();
            let clean = rs.encode_vec(&msg).unwrap();
            for p in 0..code.n() {
                let mut w = clean.clone();
                w[p] ^= 1 + (p as u16 % 1023);
                assert_eq!(rs.decode(&mut w, &[]).unwrap(), DecodeOutcome::Corrected { symbols: 1 });
                assert_eq!(w, clean);
            }
            for start in [0, code.n() - code.t()] {
                let mut w = clean.clone();
                for v in &mut w[start..start + code.t()] {
                    *v ^= 0x3FF;
                }
                assert_eq!(
                    rs.decode(&mut w, &[]).unwrap(),
                    DecodeOutcome::Corrected { symbols: code.t() as u16 }
                );
                assert_eq!(w, clean);
            }
        }
    }
}
