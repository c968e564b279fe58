//! Naive textbook Reed–Solomon encoder and decoder for the KP4/KR4 codes: the oracle the fast
//! paths of [`super::rs`] are tested against. Deliberately independent of them: polynomial long
//! division for encoding, syndromes by direct evaluation, the Euclidean (Sugiyama) algorithm
//! instead of Berlekamp–Massey, Chien search over the whole field, and a final syndrome check
//! before accepting a correction. Slow (allocates, no tables beyond `gf`), never used on data.

use super::gf;
use super::rs::{DecodeOutcome, RsCode};
use crate::{Error, Result};

/// Polynomial with ascending coefficients.
type Poly = Vec<u16>;

fn trim(mut p: Poly) -> Poly {
    while p.len() > 1 && *p.last().unwrap_or(&0) == 0 {
        p.pop();
    }
    if p.is_empty() {
        p.push(0);
    }
    p
}

/// Degree, `None` for the zero polynomial.
fn degree(p: &[u16]) -> Option<usize> {
    p.iter().rposition(|&c| c != 0)
}

fn poly_add(a: &[u16], b: &[u16]) -> Poly {
    let mut r = vec![0u16; a.len().max(b.len())];
    for (i, &c) in a.iter().enumerate() {
        r[i] ^= c;
    }
    for (i, &c) in b.iter().enumerate() {
        r[i] ^= c;
    }
    trim(r)
}

fn poly_mul(a: &[u16], b: &[u16]) -> Poly {
    let mut r = vec![0u16; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            r[i + j] ^= gf::mul(x, y);
        }
    }
    trim(r)
}

/// (quotient, remainder) of a / b, b ≠ 0.
fn poly_divmod(a: &[u16], b: &[u16]) -> (Poly, Poly) {
    let db = degree(b).expect("division by the zero polynomial");
    let lead_inv = gf::inv(b[db]).expect("non-zero leading coefficient");
    let mut rem = a.to_vec();
    let mut q = vec![0u16; a.len().max(1)];
    while let Some(dr) = degree(&rem) {
        if dr < db {
            break;
        }
        let coef = gf::mul(rem[dr], lead_inv);
        q[dr - db] = coef;
        for (i, &c) in b.iter().enumerate() {
            rem[dr - db + i] ^= gf::mul(coef, c);
        }
    }
    (trim(q), trim(rem))
}

fn poly_eval(p: &[u16], x: u16) -> u16 {
    p.iter().rev().fold(0u16, |acc, &c| gf::mul(acc, x) ^ c)
}

/// Generator g(x) = Π_{j=0}^{2t−1} (x + α^j), ascending coefficients.
pub fn generator(code: RsCode) -> Vec<u16> {
    (0..code.parity_len()).fold(vec![1u16], |g, j| poly_mul(&g, &[gf::exp(j), 1]))
}

/// Systematic encoding by long division: returns the n-symbol codeword in transmission order
/// (`msg[0]` = m_{k−1} first, parity p_{2t−1} … p_0 last).
pub fn encode(code: RsCode, msg: &[u16]) -> Result<Vec<u16>> {
    let (k, two_t) = (code.k(), code.parity_len());
    if msg.len() != k {
        return Err(Error::LengthMismatch { what: "rs message", expected: k, got: msg.len() });
    }
    gf::check_symbols("rs message", msg)?;
    // m(x)·x^{2t}, ascending: coefficient of x^{2t + k − 1 − i} is msg[i].
    let mut shifted = vec![0u16; two_t + k];
    for (i, &s) in msg.iter().enumerate() {
        shifted[two_t + k - 1 - i] = s;
    }
    let (_, rem) = poly_divmod(&shifted, &generator(code));
    let mut cw = msg.to_vec();
    for i in (0..two_t).rev() {
        cw.push(rem.get(i).copied().unwrap_or(0));
    }
    Ok(cw)
}

/// Syndromes S_j = Σ_i r_i·α^{j·(n−1−i)}, j = 0 … 2t−1, by direct evaluation.
pub fn syndromes(code: RsCode, cw: &[u16]) -> Vec<u16> {
    let n = cw.len();
    (0..code.parity_len())
        .map(|j| {
            cw.iter()
                .enumerate()
                .fold(0u16, |acc, (i, &r)| acc ^ gf::mul(r, gf::exp(j * (n - 1 - i))))
        })
        .collect()
}

/// Errors-and-erasures decoding (Sugiyama). Same contract as
/// [`super::ReedSolomon::decode`]: bad arguments give `Err`; the word is changed only on
/// success.
pub fn decode(code: RsCode, cw: &mut [u16], erasures: &[usize]) -> Result<DecodeOutcome> {
    let (n, two_t) = (code.n(), code.parity_len());
    if cw.len() != n {
        return Err(Error::LengthMismatch { what: "rs codeword", expected: n, got: cw.len() });
    }
    gf::check_symbols("rs codeword", cw)?;
    let mut sorted = erasures.to_vec();
    sorted.sort_unstable();
    if let Some(&e) = sorted.iter().find(|&&e| e >= n) {
        return Err(Error::invalid("rs erasure index", e, "out of range"));
    }
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::invalid("rs erasures", format!("{erasures:?}"), "repeated index"));
    }
    let s = syndromes(code, cw);
    if s.iter().all(|&v| v == 0) {
        return Ok(DecodeOutcome::Clean);
    }
    let rho = erasures.len();
    if rho > two_t {
        return Ok(DecodeOutcome::Uncorrectable);
    }
    // Erasure locator Γ(x) = Π (1 + X_e x).
    let gamma = erasures
        .iter()
        .fold(vec![1u16], |g, &e| poly_mul(&g, &[1, gf::exp(n - 1 - e)]));
    // Modified syndrome Ξ = S·Γ mod x^{2t}.
    let mut xi = poly_mul(&s, &gamma);
    xi.truncate(two_t);
    let xi = trim(xi);
    // Euclid on (x^{2t}, Ξ) until 2·deg r < 2t + ρ.
    let mut x2t = vec![0u16; two_t + 1];
    x2t[two_t] = 1;
    let (mut r_prev, mut r_cur) = (x2t, xi);
    let (mut v_prev, mut v_cur): (Poly, Poly) = (vec![0], vec![1]);
    while let Some(d) = degree(&r_cur) {
        if 2 * d < two_t + rho {
            break;
        }
        let (q, r) = poly_divmod(&r_prev, &r_cur);
        let v_next = poly_add(&v_prev, &poly_mul(&q, &v_cur));
        r_prev = std::mem::replace(&mut r_cur, r);
        v_prev = std::mem::replace(&mut v_cur, v_next);
    }
    let Some(norm) = gf::inv(v_cur[0]) else {
        return Ok(DecodeOutcome::Uncorrectable);
    };
    let lambda: Poly = v_cur.iter().map(|&c| gf::mul(c, norm)).collect();
    let omega: Poly = r_cur.iter().map(|&c| gf::mul(c, norm)).collect();
    let nu = degree(&lambda).unwrap_or(0);
    if 2 * nu + rho > two_t {
        return Ok(DecodeOutcome::Uncorrectable);
    }
    let psi = poly_mul(&lambda, &gamma);
    let deg_psi = degree(&psi).unwrap_or(0);
    // Chien search over every non-zero field element: Ψ(α^{−p}) = 0.
    let roots: Vec<usize> = (0..gf::GROUP_ORDER)
        .filter(|&p| poly_eval(&psi, gf::exp(gf::GROUP_ORDER - p)) == 0)
        .collect();
    if roots.len() != deg_psi || roots.iter().any(|&p| p >= n) {
        return Ok(DecodeOutcome::Uncorrectable);
    }
    // Forney with first root α^0: Y = X·Ω(X⁻¹)/Ψ′(X⁻¹).
    let dpsi: Poly = (1..psi.len())
        .map(|i| if i % 2 == 1 { psi[i] } else { 0 })
        .collect();
    let mut fixed = cw.to_vec();
    let mut changed = 0u16;
    for &p in &roots {
        let x = gf::exp(p);
        let xinv = gf::exp(gf::GROUP_ORDER - p);
        let den = poly_eval(&dpsi, xinv);
        let Some(y) = gf::div(gf::mul(x, poly_eval(&omega, xinv)), den) else {
            return Ok(DecodeOutcome::Uncorrectable);
        };
        if y != 0 {
            changed += 1;
        }
        fixed[n - 1 - p] ^= y;
    }
    if syndromes(code, &fixed).iter().any(|&v| v != 0) {
        return Ok(DecodeOutcome::Uncorrectable);
    }
    cw.copy_from_slice(&fixed);
    Ok(if changed == 0 {
        DecodeOutcome::Clean
    } else {
        DecodeOutcome::Corrected { symbols: changed }
    })
}
