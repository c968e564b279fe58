//! Time-interval-error (TIE) helpers: the recovered clock's error at each data edge, its
//! statistics, and sinusoidal-jitter tones in it.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A sinusoid fitted to irregularly spaced samples: `offset + amplitude · sin(2π f t + phase)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tone {
    /// Peak amplitude, in the unit of the values.
    pub amplitude: f64,
    /// Phase of the sine at t = 0, radians.
    pub phase_rad: f64,
    /// Constant term.
    pub offset: f64,
}

/// Least-squares fit of `offset + a·cos(2πft) + b·sin(2πft)` to `(times_s[i], values[i])`: the
/// amplitude of a sinusoidal-jitter tone of known frequency in a TIE record (edges are not
/// evenly spaced, so an FFT does not apply directly).
///
/// Errors: lengths that differ, fewer than 4 points, non-finite inputs or a frequency that is
/// not finite and positive, or points that do not resolve the tone (the normal equations are
/// singular, e.g. all at one phase).
pub fn fit_tone(times_s: &[f64], values: &[f64], frequency_hz: f64) -> Result<Tone> {
    if times_s.len() != values.len() {
        return Err(Error::LengthMismatch {
            what: "tone fit values",
            expected: times_s.len(),
            got: values.len(),
        });
    }
    if times_s.len() < 4 {
        return Err(Error::InputTooShort {
            what: "tone fit points",
            needed: 4,
            got: times_s.len(),
        });
    }
    if !(frequency_hz.is_finite() && frequency_hz > 0.0) {
        return Err(Error::invalid("frequency_hz", frequency_hz, "must be finite and positive"));
    }
    if let Some(i) = times_s.iter().chain(values).position(|v| !v.is_finite()) {
        let (what, index, value) = if i < times_s.len() {
            ("tone fit times", i, times_s[i])
        } else {
            ("tone fit values", i - times_s.len(), values[i - times_s.len()])
        };
        return Err(Error::NonFinite { what, index, value });
    }
    // Normal equations of the basis (1, cos, sin), accumulated in f64.
    let mut a = [[0f64; 3]; 3];
    let mut r = [0f64; 3];
    let w = 2.0 * PI * frequency_hz;
    for (&t, &v) in times_s.iter().zip(values) {
        add_tone_point(&mut a, &mut r, (w * t).sin_cos(), v);
    }
    let coef = solve3(a, r).ok_or_else(|| Error::Unusable {
        stage: "tone fit",
        reason: format!("the {} points do not resolve a tone at {frequency_hz} Hz", times_s.len()),
    })?;
    let (c, s) = (coef[1], coef[2]);
    // c·cos + s·sin = A·sin(wt + φ) with A sin φ = c, A cos φ = s.
    Ok(Tone {
        amplitude: c.hypot(s),
        phase_rad: c.atan2(s),
        offset: coef[0],
    })
}

/// Adds one point to the normal equations `a`·x = `r` of [`fit_tone`]'s basis (1, cos, sin):
/// `sin_cos` = (sin ωt, cos ωt) at the point's time, `v` its value. Shared by `fit_tone` and
/// the parallel tone fit of the jitter decomposition, so both sum the same terms per point.
#[inline]
pub(crate) fn add_tone_point(a: &mut [[f64; 3]; 3], r: &mut [f64; 3], sin_cos: (f64, f64), v: f64) {
    let (s, c) = sin_cos;
    let basis = [1.0, c, s];
    for i in 0..3 {
        r[i] += basis[i] * v;
        for j in 0..3 {
            a[i][j] += basis[i] * basis[j];
        }
    }
}

/// Gaussian elimination with partial pivoting; `None` when singular.
pub(crate) fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    let scale = a.iter().flatten().fold(0f64, |m, v| m.max(v.abs()));
    for col in 0..3 {
        let piv = (col..3).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col];
        for row in col + 1..3 {
            let f = a[row][col] / pivot_row[col];
            for (v, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0f64; 3];
    for row in (0..3).rev() {
        let s: f64 = (row + 1..3).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// Circular mean of `values` taken modulo `period` (in (−period/2, period/2]) and the
/// concentration `R = |mean e^{j2π v/period}|` (1 for identical values, about 0 for values spread
/// uniformly over the period).
pub(crate) fn circular_mean(values: impl Iterator<Item = f64>, period: f64) -> (f64, f64) {
    let (mut c, mut s, mut n) = (0f64, 0f64, 0usize);
    for v in values {
        let (si, co) = sin_cos_turns(v / period);
        c += co;
        s += si;
        n += 1;
    }
    if n == 0 {
        return (0.0, 0.0);
    }
    let (c, s) = (c / n as f64, s / n as f64);
    (s.atan2(c) / (2.0 * PI) * period, c.hypot(s))
}

/// `(sin 2πu, cos 2πu)`: `u` reduced to a quarter turn `q/4` plus `r ∈ [−1/8, 1/8]`, Taylor
/// series of `2πr` to the 15th / 16th order (truncation below 1e-15), then rotated by `q`
/// quarter turns. About twice as fast as `f64::sin_cos`, within 1e-15 of it for |u| ≤ 1 (the
/// reduction, like that of `sin_cos` on `2πu`, loses accuracy in proportion to |u|).
#[inline]
pub(crate) fn sin_cos_turns(u: f64) -> (f64, f64) {
    // Nearest quarter turn (ties to even) by the 1.5·2^52 shift: exact for |4u| < 2^51, and
    // without `round`, a library call on the baseline x86-64 target. Beyond that, `4u` is an
    // integer already (or NaN/∞, which the comparison passes through).
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let q = if (4.0 * u).abs() < 2_251_799_813_685_248.0 { (4.0 * u + SHIFT) - SHIFT } else { 4.0 * u };
    let x = 2.0 * PI * (u - 0.25 * q);
    let x2 = x * x;
    let s = x * (1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5_040.0 + x2 * (1.0 / 362_880.0 + x2 * (-1.0 / 39_916_800.0 + x2 * (1.0 / 6_227_020_800.0 - x2 / 1_307_674_368_000.0)))))));
    let c = 1.0 + x2 * (-0.5 + x2 * (1.0 / 24.0 + x2 * (-1.0 / 720.0 + x2 * (1.0 / 40_320.0 + x2 * (-1.0 / 3_628_800.0 + x2 * (1.0 / 479_001_600.0 + x2 * (-1.0 / 87_178_291_200.0 + x2 / 20_922_789_888_000.0)))))));
    // Rotated by q quarter turns without branches (the quadrant of a spread of phases is
    // random): 0 → (s, c), 1 → (c, −s), 2 → (−s, −c), 3 → (−c, s).
    let k = q as i64;
    let (a, b) = if k & 1 == 0 { (s, c) } else { (c, s) };
    let sign = |neg: bool| if neg { -1.0 } else { 1.0 };
    (a * sign(k & 2 != 0), b * sign((k + 1) & 2 != 0))
}

/// `v` wrapped into `[−period/2, period/2)`.
#[inline]
pub(crate) fn wrap(v: f64, period: f64) -> f64 {
    v - (v / period + 0.5).floor() * period
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sin_cos_of_turns_follows_the_library() {
        // Quadrant edges, both signs, and random turns up to 1e3 (where the library's own
        // argument rounding, about 6e3·ε, sets the tolerance).
        let mut r = 7u64;
        let mut us: Vec<f64> = (-16..=16).flat_map(|k| [k as f64 / 8.0, k as f64 / 8.0 + 1e-12, k as f64 / 8.0 - 1e-12]).collect();
        us.extend((0..20_000).map(|i| {
            r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let f = (r >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            if i % 2 == 0 { 2.0 * f } else { 2_000.0 * f }
        }));
        for u in us {
            let (s, c) = sin_cos_turns(u);
            let (s0, c0) = (2.0 * PI * u).sin_cos();
            let tol = if u.abs() <= 1.0 { 2e-15 } else { 4e-12 };
            assert!((s - s0).abs() <= tol && (c - c0).abs() <= tol, "u {u}: ({s}, {c}) vs ({s0}, {c0})");
        }
    }

    #[test]
    fn fits_a_tone_on_irregular_times() {
        let mut s = 5u64;
        let mut t = 0.0;
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        for _ in 0..5000 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            t += 1e-10 * (1.0 + (s >> 62) as f64);
            ts.push(t);
            vs.push(0.2e-12 + 3e-12 * (2.0 * PI * 4e6 * t + 0.7).sin());
        }
        let tone = fit_tone(&ts, &vs, 4e6).unwrap();
        assert!((tone.amplitude - 3e-12).abs() < 1e-16, "{tone:?}");
        assert!((tone.phase_rad - 0.7).abs() < 1e-6, "{tone:?}");
        assert!((tone.offset - 0.2e-12).abs() < 1e-20);
        assert!(fit_tone(&ts[..3], &vs[..3], 4e6).is_err());
        assert!(fit_tone(&ts, &vs[1..], 4e6).is_err());
        assert!(fit_tone(&ts, &vs, 0.0).is_err());
        // All points at one instant cannot resolve a tone.
        assert!(matches!(fit_tone(&[1.0; 10], &[0.0; 10], 1.0), Err(Error::Unusable { .. })));
    }

    #[test]
    fn circular_statistics() {
        let (m, r) = circular_mean([0.9, 1.1, -0.9, -1.1].into_iter().map(|v| v + 5.0 * 10.0), 10.0);
        assert!((m - 0.0).abs() < 1e-9 && r > 0.75 && r < 0.85, "{m} {r}");
        let (m, r) = circular_mean([4.9, -4.9].into_iter(), 10.0);
        assert!((m.abs() - 5.0).abs() < 1e-9 && r > 0.99);
        let (_, r) = circular_mean((0..100).map(|i| i as f64 * 0.1), 10.0);
        assert!(r < 1e-9);
        assert_eq!(wrap(7.0, 10.0), -3.0);
        assert_eq!(wrap(-5.0, 10.0), -5.0);
        assert_eq!(wrap(5.0, 10.0), -5.0);
    }
}
