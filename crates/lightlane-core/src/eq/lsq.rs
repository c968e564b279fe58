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

/// Row groups of [`LeastSquares::from_rows`]: tasks per accumulation.
pub(crate) const ROW_GROUPS: usize = 4;

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

    /// The normal equations of `count` equations at once, equation `e` written by
    /// `row(e, u)` (which fills `u` and returns `t`): the same accumulator, bit for bit, as
    /// [`LeastSquares::add`] of the equations in order, with the work on the thread pool.
    ///
    /// Why bit for bit: every entry of `R`, `p` and `tᵀt` is still one sum over the equations
    /// in order; the tasks split the entries (rows of `R` in [`ROW_GROUPS`] groups of about
    /// equal size, independent of the thread count), not the equations. Each task regenerates
    /// the equations it reads, so `row` must be cheap next to the `n²/2` products per equation
    /// it saves (a gather of tap and target values).
    pub(crate) fn from_rows(n: usize, count: usize, row: impl Fn(usize, &mut [f64]) -> f64 + Sync) -> LeastSquares {
        use rayon::prelude::*;
        // Row groups with about equal entry counts (row i holds n − i entries of R and p[i]).
        let total: usize = (0..n).map(|i| n - i + 1).sum();
        let mut bounds = vec![0usize];
        let mut filled = 0;
        for i in 0..n {
            filled += n - i + 1;
            if filled * ROW_GROUPS >= total * bounds.len() && i + 1 < n {
                bounds.push(i + 1);
            }
        }
        bounds.push(n);
        bounds.dedup();
        let groups: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        let parts: Vec<(Vec<f64>, Vec<f64>, f64)> = groups
            .par_iter()
            .map(|&(i0, i1)| {
                let mut r = vec![0.0; (i1 - i0) * n];
                let mut p = vec![0.0; i1 - i0];
                let mut tt = 0.0;
                let mut u = vec![0.0; n];
                for e in 0..count {
                    let t = row(e, &mut u);
                    for i in i0..i1 {
                        let ui = u[i];
                        let r_row = &mut r[(i - i0) * n..(i - i0 + 1) * n];
                        for (rij, &uj) in r_row[i..].iter_mut().zip(&u[i..]) {
                            *rij += ui * uj;
                        }
                        p[i - i0] += ui * t;
                    }
                    if i0 == 0 {
                        tt += t * t;
                    }
                }
                (r, p, tt)
            })
            .collect();
        let mut ls = LeastSquares::new(n);
        for (&(i0, i1), (r, p, tt)) in groups.iter().zip(parts) {
            ls.r[i0 * n..i1 * n].copy_from_slice(&r);
            ls.p[i0..i1].copy_from_slice(&p);
            if i0 == 0 {
                ls.tt = tt;
            }
        }
        ls.count = count as u64;
        ls
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

    /// Accumulating by row groups on the pool gives the sums of adding the equations one by
    /// one, bit for bit, for sizes around the group layout and for no equations at all.
    #[test]
    fn row_group_accumulation_equals_adding_in_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(41);
        for n in [1usize, 2, 3, ROW_GROUPS, ROW_GROUPS + 1, 16, 23] {
            for count in [0usize, 1, 7, 1000] {
                let eqs: Vec<(Vec<f64>, f64)> = (0..count).map(|_| ((0..n).map(|_| rng.random_range(-1.0..1.0)).collect(), rng.random_range(-3.0..3.0))).collect();
                let mut want = LeastSquares::new(n);
                for (u, t) in &eqs {
                    want.add(u, *t);
                }
                let got = LeastSquares::from_rows(n, count, |e, u| {
                    u.copy_from_slice(&eqs[e].0);
                    eqs[e].1
                });
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!((bits(&got.r), bits(&got.p), got.tt.to_bits(), got.count), (bits(&want.r), bits(&want.p), want.tt.to_bits(), want.count), "n = {n}, count = {count}");
            }
        }
    }

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
