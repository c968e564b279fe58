//! Dual-Dirac tail fit in Q-scale.
//!
//! The dual-Dirac model (Fibre Channel MJSQ, INCITS TR-35-2004; the RJ/DJ separation behind the
//! jitter limits of IEEE 802.3) describes each tail of the TIE distribution as a Gaussian of rms
//! σ (random jitter) displaced by a Dirac at μ (half the deterministic jitter):
//! `P(T > t) ≈ ρ·Q((t − μ_R)/σ_R)` on the right, `P(T < t) ≈ ρ·Q((μ_L − t)/σ_L)` on the left.
//! In Q-scale, `Q⁻¹(P/ρ)` is a straight line in `t` with slope `1/σ` and root `μ`; the amplitude ρ
//! (the share of edges in that Dirac: ½ for an ideal dual-Dirac, 1 for pure Gaussian jitter) is
//! either fixed (by default ½, the dual-Dirac model itself; 1 gives the plain Q-scale fit) or
//! chosen as the one that makes the tail straightest (least-squares residual), as in the
//! normalised Q-scale of Stephens ("Jitter analysis: the dual-Dirac model, RJ/DJ, and Q-scale",
//! Agilent, 2004). Then `RJ = (σ_L + σ_R)/2`, `DJ(δδ) = μ_R − μ_L`.
//!
//! Fitting ρ as well is ill-conditioned over the two or three decades of probability a capture
//! reaches (ρ and σ trade off; on 10⁵ Gaussian edges the fitted ρ wanders over 0.1..1 and σ by
//! ±20 %), which is why it is not the default. With ρ = ½, pure Gaussian jitter reads about 5 %
//! low in RJ with a small DJ (about 0.6 σ), and TJ(10⁻¹²) stays within about 1 % of the truth.

use crate::stats::q_inverse;
use serde::{Deserialize, Serialize};

/// Probabilities at which each tail is sampled (log-spaced).
const TAIL_POINTS: usize = 24;
/// Candidate Dirac amplitudes ρ (log-spaced between `2·p_max` and 1), before a golden-section
/// refinement around the best.
const RHO_GRID: usize = 40;

/// Straight-line fit of one tail in Q-scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TailFit {
    /// Position of the tail's Dirac, seconds (relative to the mean TIE).
    pub mean_s: f64,
    /// Gaussian rms of the tail, seconds.
    pub sigma_s: f64,
    /// Dirac amplitude ρ (0..=1) that makes the tail straightest in Q-scale.
    pub amplitude: f64,
    /// Rms distance of the tail quantiles from the fitted line, seconds.
    pub residual_s: f64,
    /// Smallest and largest tail probability fitted.
    pub probability_range: (f64, f64),
}

/// Dual-Dirac fit of both tails.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DualDiracFit {
    /// Early-edge tail.
    pub left: TailFit,
    /// Late-edge tail.
    pub right: TailFit,
    /// `(σ_L + σ_R)/2`, seconds.
    pub rj_rms_s: f64,
    /// `μ_R − μ_L`, seconds, floored at 0 (a negative value means the tails are steeper than
    /// Gaussian around the mean and there is no resolvable DJ).
    pub dj_pp_s: f64,
}

/// Values from which [`tail_extremes`] selects on the pool.
const PARALLEL_MIN: usize = 1 << 16;
/// Values per chunk of the parallel candidate filter.
const CHUNK: usize = 1 << 14;
/// Points of the strided sample that sets the candidate thresholds.
const SAMPLE: usize = 4096;

/// The `m` smallest and `m` largest values of `v` (in `f64::total_cmp` order), each sorted
/// ascending: the tail quantiles without a full sort.
///
/// From [`PARALLEL_MIN`] values (and `m` below 1/8 of them) the selection runs on the pool: a
/// strided sample of [`SAMPLE`] values gives a threshold on each side a few standard errors
/// beyond the sample's `m/n` quantile; the values at or beyond each threshold are filtered in
/// fixed chunks (in order), and when each side holds at least `m` of them they contain the `m`
/// most extreme values (all values beyond the threshold are in), so a selection and sort of the
/// small candidate sets gives exactly the vectors of a full sort (`tail_extremes_reference`). Otherwise (an
/// unlucky sample: too few candidates) it falls back to the serial selection on a copy.
pub(crate) fn tail_extremes(v: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    use rayon::prelude::*;
    use std::cmp::Ordering;
    let n = v.len();
    let m = m.min(n);
    if m == 0 {
        return (Vec::new(), Vec::new());
    }
    if n < PARALLEL_MIN || 8 * m >= n {
        return tail_extremes_serial(&mut v.to_vec(), m);
    }
    let stride = n / SAMPLE;
    let mut sample: Vec<f64> = (0..SAMPLE).map(|i| v[i * stride]).collect();
    sample.sort_unstable_by(f64::total_cmp);
    // Expected sample count below the m-th value, plus 4 standard deviations and a floor.
    let expected = m as f64 / n as f64 * SAMPLE as f64;
    let rank = ((expected + 4.0 * expected.sqrt() + 8.0).ceil() as usize).min(SAMPLE - 1);
    let (lo, hi) = (sample[rank], sample[SAMPLE - 1 - rank]);
    let parts: Vec<(Vec<f64>, Vec<f64>)> = v
        .par_chunks(CHUNK)
        .map(|c| {
            let low = c.iter().copied().filter(|x| x.total_cmp(&lo) != Ordering::Greater).collect();
            let high = c.iter().copied().filter(|x| x.total_cmp(&hi) != Ordering::Less).collect();
            (low, high)
        })
        .collect();
    let (n_low, n_high) = parts.iter().fold((0, 0), |(a, b), (l, h)| (a + l.len(), b + h.len()));
    if n_low < m || n_high < m {
        return tail_extremes_serial(&mut v.to_vec(), m);
    }
    let (mut low, mut high) = (Vec::with_capacity(n_low), Vec::with_capacity(n_high));
    for (l, h) in &parts {
        low.extend_from_slice(l);
        high.extend_from_slice(h);
    }
    drop(parts);
    rayon::join(
        || {
            low.select_nth_unstable_by(m - 1, f64::total_cmp);
            low.truncate(m);
            low.sort_unstable_by(f64::total_cmp);
        },
        || {
            let r = high.len();
            high.select_nth_unstable_by(r - m, f64::total_cmp);
            high.drain(..r - m);
            high.sort_unstable_by(f64::total_cmp);
        },
    );
    (low, high)
}

/// The serial selection of [`tail_extremes`] (reorders `v`): O(n) `select_nth_unstable`
/// instead of a full sort.
pub(crate) fn tail_extremes_serial(v: &mut [f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    let n = v.len();
    let m = m.min(n);
    if m == 0 {
        return (Vec::new(), Vec::new());
    }
    if 2 * m >= n {
        v.sort_unstable_by(f64::total_cmp);
        return (v[..m].to_vec(), v[n - m..].to_vec());
    }
    v.select_nth_unstable_by(m - 1, f64::total_cmp);
    let mut low = v[..m].to_vec();
    let rest = &mut v[m..];
    let r = rest.len();
    rest.select_nth_unstable_by(r - m, f64::total_cmp);
    let mut high = rest[r - m..].to_vec();
    low.sort_unstable_by(f64::total_cmp);
    high.sort_unstable_by(f64::total_cmp);
    (low, high)
}

/// Naive reference of [`tail_extremes`]: a full sort.
#[cfg(test)]
pub(crate) fn tail_extremes_reference(v: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    let m = m.min(v.len());
    (sorted[..m].to_vec(), sorted[v.len() - m..].to_vec())
}

/// Empirical quantile of a tail: `ordered[j]` is the j-th most extreme value of `n`
/// (j = 0 the most extreme); the value beyond which a fraction `p` of the edges lie
/// (order statistic `p·n − ½`, linearly interpolated).
fn tail_quantile(ordered: impl Fn(usize) -> f64, len: usize, n: usize, p: f64) -> f64 {
    let pos = (p * n as f64 - 0.5).clamp(0.0, (len - 1) as f64);
    let j = pos.floor() as usize;
    let f = pos - j as f64;
    if j + 1 < len {
        ordered(j) * (1.0 - f) + ordered(j + 1) * f
    } else {
        ordered(j)
    }
}

/// Fits one tail. `depth[j]` are the tail quantiles as distances beyond the mean in the tail's
/// direction (so larger = more extreme), at probabilities `p[j]`.
fn fit_tail(p: &[f64], depth: &[f64], amplitude: Option<f64>) -> (f64, f64, f64, f64) {
    // For a given ρ: depth = μ + σ·Q⁻¹(p/ρ); least squares in depth.
    let line = |rho: f64| {
        let z: Vec<f64> = p.iter().map(|&pj| q_inverse(pj / rho)).collect();
        let n = z.len() as f64;
        let mz = z.iter().sum::<f64>() / n;
        let md = depth.iter().sum::<f64>() / n;
        let (mut szz, mut szd) = (0.0, 0.0);
        for (zj, dj) in z.iter().zip(depth) {
            szz += (zj - mz) * (zj - mz);
            szd += (zj - mz) * (dj - md);
        }
        let sigma = if szz > 0.0 { (szd / szz).max(0.0) } else { 0.0 };
        let mu = md - sigma * mz;
        let ss: f64 = z.iter().zip(depth).map(|(zj, dj)| (dj - mu - sigma * zj).powi(2)).sum();
        (ss, mu, sigma)
    };
    let p_max = p.iter().copied().fold(0.0, f64::max);
    if let Some(rho) = amplitude {
        let rho = rho.clamp((2.0 * p_max).min(1.0), 1.0);
        let (ss, mu, sigma) = line(rho);
        return (mu, sigma, rho, (ss / p.len() as f64).sqrt());
    }
    let lo = (2.0 * p_max).min(1.0).ln();
    let at = |i: usize| (lo * (1.0 - i as f64 / (RHO_GRID - 1) as f64)).exp();
    let mut best = (f64::INFINITY, 0usize);
    for i in 0..RHO_GRID {
        let (ss, _, _) = line(at(i));
        // Ties (e.g. a constant TIE) go to the larger ρ, the plain Gaussian.
        if ss <= best.0 {
            best = (ss, i);
        }
    }
    // Golden-section refinement in ln ρ between the neighbours of the best grid point.
    let (mut a, mut b) = (at(best.1.saturating_sub(1)).ln(), at((best.1 + 1).min(RHO_GRID - 1)).ln());
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let f = |u: f64| line(u.exp()).0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..20 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let mut rho = (0.5 * (a + b)).exp();
    let mut fit = line(rho);
    if best.0 < fit.0 {
        rho = at(best.1);
        fit = line(rho);
    }
    let (ss, mu, sigma) = fit;
    (mu, sigma, rho.min(1.0), (ss / p.len() as f64).sqrt())
}

/// Dual-Dirac fit of `values` (TIE in seconds, mean already removed) over
/// tail probabilities `[max(p_min, min_tail_edges/n), p_max]`. `None` when the data do not
/// reach a useful range (the lower bound would exceed a third of the upper).
pub(crate) fn dual_dirac_fit(
    values: &[f64],
    p_min: f64,
    p_max: f64,
    min_tail_edges: usize,
    amplitude: Option<f64>,
) -> Option<DualDiracFit> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let p_lo = p_min.max(min_tail_edges as f64 / n as f64);
    if p_lo * 3.0 > p_max {
        return None;
    }
    let m = ((p_max * n as f64).ceil() as usize + 2).min(n);
    let (low, high) = tail_extremes(values, m);
    let probs: Vec<f64> = (0..TAIL_POINTS)
        .map(|j| (p_lo.ln() + (p_max / p_lo).ln() * j as f64 / (TAIL_POINTS - 1) as f64).exp())
        .collect();
    let left_depth: Vec<f64> = probs.iter().map(|&p| -tail_quantile(|j| low[j], low.len(), n, p)).collect();
    let right_depth: Vec<f64> = probs.iter().map(|&p| tail_quantile(|j| high[high.len() - 1 - j], high.len(), n, p)).collect();
    let (ml, sl, rl, el) = fit_tail(&probs, &left_depth, amplitude);
    let (mr, sr, rr, er) = fit_tail(&probs, &right_depth, amplitude);
    let range = (p_lo, p_max);
    let left = TailFit {
        mean_s: -ml,
        sigma_s: sl,
        amplitude: rl,
        residual_s: el,
        probability_range: range,
    };
    let right = TailFit {
        mean_s: mr,
        sigma_s: sr,
        amplitude: rr,
        residual_s: er,
        probability_range: range,
    };
    Some(DualDiracFit {
        left,
        right,
        rj_rms_s: 0.5 * (sl + sr),
        dj_pp_s: (right.mean_s - left.mean_s).max(0.0),
    })
}
