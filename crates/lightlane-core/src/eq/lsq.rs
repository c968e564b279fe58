//! Small dense linear least squares: Cholesky factorisation of symmetric positive-definite
//! normal-equation matrices (`R w = p`), in f64.
//!
//! Sized for equalizer training (tens to about a thousand unknowns); O(n³/3) factorisation,
//! O(n²) per right-hand side, so one factorisation serves many right-hand sides (for example one
//! per candidate delay).

use crate::{Error, Result};

/// Largest matrix order [`Cholesky::factor`] accepts (keeps the n² allocation bounded).
pub const MAX_ORDER: usize = 4096;

/// Lower-triangular Cholesky factor `L` of a symmetric positive-definite matrix `A = L Lᵀ`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cholesky {
    n: usize,
    /// Row-major n×n; only the lower triangle (j ≤ i) is meaningful.
    l: Vec<f64>,
}

impl Cholesky {
    /// Factors the row-major `n`×`n` matrix `a` (only its lower triangle is read).
    ///
    /// Errors: [`Error::LengthMismatch`] if `a.len() != n²`, [`Error::InvalidParameter`] for
    /// `n == 0` or `n > MAX_ORDER`, [`Error::NonFinite`] for a NaN/∞ entry, and
    /// [`Error::Unusable`] if the matrix is not (numerically) positive definite.
    pub fn factor(a: &[f64], n: usize) -> Result<Cholesky> {
        if n == 0 || n > MAX_ORDER {
            return Err(Error::invalid(
                "matrix order",
                n,
                format!("must be 1..={MAX_ORDER}"),
            ));
        }
        if a.len() != n * n {
            return Err(Error::LengthMismatch {
                what: "Cholesky matrix (n·n entries)",
                expected: n * n,
                got: a.len(),
            });
        }
        if let Some(index) = a.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "Cholesky matrix",
                index,
                value: a[index],
            });
        }
        let mut l = vec![0.0f64; n * n];
        for i in 0..n {
            for j in 0..=i {
                let mut s = a[i * n + j];
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                if i == j {
                    // Relative pivot test: a pivot that lost all but rounding noise of the
                    // diagonal entry means the matrix is singular for practical purposes.
                    if s.is_nan() || s <= a[i * n + i].abs() * 1e-14 {
                        return Err(Error::Unusable {
                            stage: "least-squares solve",
                            reason: format!(
                                "normal-equation matrix is not positive definite (pivot {i} = {s:e}); \
                                 the input has too little energy or too few independent samples"
                            ),
                        });
                    }
                    l[i * n + i] = s.sqrt();
                } else {
                    l[i * n + j] = s / l[j * n + j];
                }
            }
        }
        Ok(Cholesky { n, l })
    }

    /// Matrix order.
    pub fn order(&self) -> usize {
        self.n
    }

    /// Solves `A x = b` into `x` (forward then back substitution).
    /// [`Error::LengthMismatch`] unless `b.len() == x.len() == order`.
    pub fn solve_into(&self, b: &[f64], x: &mut [f64]) -> Result<()> {
        let n = self.n;
        for (what, len) in [("right-hand side", b.len()), ("solution buffer", x.len())] {
            if len != n {
                return Err(Error::LengthMismatch {
                    what,
                    expected: n,
                    got: len,
                });
            }
        }
        let l = &self.l;
        for i in 0..n {
            let mut s = b[i];
            for k in 0..i {
                s -= l[i * n + k] * x[k];
            }
            x[i] = s / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = x[i];
            for k in i + 1..n {
                s -= l[k * n + i] * x[k];
            }
            x[i] = s / l[i * n + i];
        }
        Ok(())
    }

    /// Allocating convenience wrapper around [`Cholesky::solve_into`].
    pub fn solve(&self, b: &[f64]) -> Result<Vec<f64>> {
        let mut x = vec![0.0; self.n];
        self.solve_into(b, &mut x)?;
        Ok(x)
    }
}

/// Incremental normal equations of a small least-squares fit `min_w Σ (wᵀu − t)²`, in f64
/// (for the DFE and partial-response target fits; the FFE trainer has its own parallel one).
#[derive(Debug, Clone)]
pub(crate) struct LeastSquares {
    n: usize,
    r: Vec<f64>,
    p: Vec<f64>,
    tt: f64,
    count: u64,
}

impl LeastSquares {
    /// An empty accumulator for `n` unknowns.
    pub(crate) fn new(n: usize) -> LeastSquares {
        LeastSquares {
            n,
            r: vec![0.0; n * n],
            p: vec![0.0; n],
            tt: 0.0,
            count: 0,
        }
    }

    /// Adds one equation `wᵀu ≈ t` (`u.len() == n`).
    #[inline]
    pub(crate) fn add(&mut self, u: &[f64], t: f64) {
        let n = self.n;
        for i in 0..n {
            let ui = u[i];
            let row = &mut self.r[i * n..(i + 1) * n];
            for (rij, &uj) in row[i..].iter_mut().zip(&u[i..]) {
                *rij += ui * uj;
            }
            self.p[i] += ui * t;
        }
        self.tt += t * t;
        self.count += 1;
    }

    /// The least-squares solution with relative ridge `ridge · trace / n` on the diagonal, and
    /// its mean squared residual (without the ridge term).
    pub(crate) fn solve(&self, ridge: f64) -> Result<(Vec<f64>, f64)> {
        let n = self.n;
        let mut a = self.r.clone();
        for i in 0..n {
            for j in 0..i {
                a[i * n + j] = a[j * n + i];
            }
        }
        let full = a.clone();
        let trace: f64 = (0..n).map(|i| a[i * n + i]).sum();
        for i in 0..n {
            a[i * n + i] += ridge * trace / n as f64;
        }
        let w = Cholesky::factor(&a, n)?.solve(&self.p)?;
        let wp: f64 = w.iter().zip(&self.p).map(|(a, b)| a * b).sum();
        let wrw: f64 = (0..n)
            .map(|i| w[i] * (0..n).map(|j| full[i * n + j] * w[j]).sum::<f64>())
            .sum();
        let mse = ((self.tt - 2.0 * wp + wrw) / self.count.max(1) as f64).max(0.0);
        Ok((w, mse))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Reference solver: Gaussian elimination with partial pivoting.
    fn gauss_solve(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
        let mut m: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let mut row = a[i * n..(i + 1) * n].to_vec();
                row.push(b[i]);
                row
            })
            .collect();
        for c in 0..n {
            let p = (c..n)
                .max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))
                .unwrap();
            m.swap(c, p);
            let pivot = m[c].clone();
            for row in m.iter_mut().skip(c + 1) {
                let f = row[c] / pivot[c];
                for (a, &b) in row[c..].iter_mut().zip(&pivot[c..]) {
                    *a -= f * b;
                }
            }
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|k| m[i][k] * x[k]).sum();
            x[i] = (m[i][n] - s) / m[i][i];
        }
        x
    }

    #[test]
    fn matches_gaussian_elimination_on_random_spd() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for &n in &[1usize, 2, 3, 7, 15, 40] {
            // A = Bᵀ B + n I is symmetric positive definite.
            let b_mat: Vec<f64> = (0..n * n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] = (0..n)
                        .map(|k| b_mat[k * n + i] * b_mat[k * n + j])
                        .sum::<f64>();
                }
                a[i * n + i] += n as f64;
            }
            let rhs: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let x = Cholesky::factor(&a, n).unwrap().solve(&rhs).unwrap();
            let reference = gauss_solve(&a, &rhs, n);
            for (p, q) in x.iter().zip(&reference) {
                assert!((p - q).abs() < 1e-10 * (1.0 + q.abs()), "n {n}: {p} vs {q}");
            }
        }
    }

    #[test]
    fn rejects_singular_and_bad_input() {
        assert!(matches!(
            Cholesky::factor(&[1.0, 1.0, 1.0, 1.0], 2),
            Err(Error::Unusable { .. })
        ));
        assert!(matches!(
            Cholesky::factor(&[0.0], 1),
            Err(Error::Unusable { .. })
        ));
        assert!(matches!(
            Cholesky::factor(&[-1.0], 1),
            Err(Error::Unusable { .. })
        ));
        assert!(matches!(
            Cholesky::factor(&[1.0, 0.0, 0.0], 2),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            Cholesky::factor(&[], 0),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Cholesky::factor(&[f64::NAN], 1),
            Err(Error::NonFinite { .. })
        ));
        let c = Cholesky::factor(&[4.0], 1).unwrap();
        assert_eq!(c.solve(&[2.0]).unwrap(), vec![0.5]);
        assert!(matches!(
            c.solve(&[1.0, 2.0]),
            Err(Error::LengthMismatch { .. })
        ));
    }
}
