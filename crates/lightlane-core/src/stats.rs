//! Statistics shared by several stages: the Gaussian tail function and its inverse, and
//! binomial confidence intervals for error ratios.

/// Complementary error function, |relative error| < 1.2e-7 over the real line
/// (Numerical Recipes `erfcc`, Chebyshev fit).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Gaussian tail probability Q(x) = P(N(0,1) > x).
pub fn q_function(x: f64) -> f64 {
    0.5 * erfc(x / std::f64::consts::SQRT_2)
}

/// Inverse of [`q_function`] for p in (0, 1), by Newton steps from a rational first guess.
pub fn q_inverse(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return if p <= 0.0 { f64::INFINITY } else { f64::NEG_INFINITY };
    }
    // Acklam-style initial guess via the logit; refined with bisection-safe Newton.
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    let mut x = if p < 0.5 { (-2.0 * p.ln()).sqrt() - 0.5 } else { 0.0 };
    for _ in 0..200 {
        let f = q_function(x) - p;
        if f > 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut next = x + f / pdf.max(1e-300);
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        if (next - x).abs() < 1e-12 * (1.0 + x.abs()) {
            return next;
        }
        x = next;
    }
    x
}

/// Natural logarithm of the gamma function for `x > 0` (Lanczos, g = 7, n = 9;
/// relative error below 1e-14 for moderate `x`; Stirling series above 1e3).
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x >= 1e3 {
        return 0.5 * (2.0 * std::f64::consts::PI).ln() + (x - 0.5) * x.ln() - x + stirling_tail(x);
    }
    if x < 0.5 {
        // Reflection keeps the Lanczos sum in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `ln Γ(x) − [(x − ½) ln x − x + ½ ln 2π]`, the Stirling series remainder, for `x ≥ 10`.
fn stirling_tail(x: f64) -> f64 {
    let r = 1.0 / x;
    let r2 = r * r;
    r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0))))
}

/// `ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b)`, computed without cancellation when one or both
/// arguments are huge (binomial intervals with 10¹² bits).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, large) = if a <= b { (a, b) } else { (b, a) };
    if large < 10.0 {
        return ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
    }
    let sum = small + large;
    // ln Γ(large) − ln Γ(small + large) by Stirling, arranged so that no large terms cancel.
    let diff = -(large - 0.5) * (small / large).ln_1p() - small * sum.ln()
        + small
        + stirling_tail(large)
        - stirling_tail(sum);
    if small < 10.0 {
        ln_gamma(small) + diff
    } else {
        // Both large: ln Γ(small) by Stirling as well, folded into one stable expression.
        0.5 * (2.0 * std::f64::consts::PI).ln() + (small - 0.5) * (small / sum).ln()
            - (large - 0.5) * (small / large).ln_1p()
            - 0.5 * sum.ln()
            + stirling_tail(small)
            + stirling_tail(large)
            - stirling_tail(sum)
    }
}

/// Regularized incomplete beta function `I_x(a, b)` for `a, b > 0`, `x ∈ [0, 1]`
/// (continued fraction, modified Lentz, Numerical Recipes §6.4), accurate for the huge `b` of
/// bit-error statistics.
pub fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if !(a > 0.0 && b > 0.0) || x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = a * x.ln() + b * (-x).ln_1p() - ln_beta(a, b);
    if x < (a + 1.0) / (a + b + 2.0) {
        (ln_front.exp() * beta_continued_fraction(a, b, x) / a).clamp(0.0, 1.0)
    } else if x >= 1e-9 {
        // 1 − x keeps x to a relative 1e-16 / x ≤ 1e-7 here, far inside the fraction's accuracy.
        (1.0 - ln_front.exp() * beta_continued_fraction(b, a, 1.0 - x) / b).clamp(0.0, 1.0)
    } else if ln_front < -60.0 {
        // Far above the mean: the complement I_{1−x}(b, a) ≈ front / ((a + b) x − a) is below
        // 1e-26, invisible next to 1.
        1.0
    } else {
        // Tiny x with b ≫ a: the symmetric form would need 1 − x, which loses the digits of x
        // (relative error 1e-16 / x). The direct fraction still converges here.
        (ln_front.exp() * beta_continued_fraction(a, b, x) / a).clamp(0.0, 1.0)
    }
}

fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let fix = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / fix(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..100_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / fix(1.0 + aa * d);
        c = fix(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / fix(1.0 + aa * d);
        c = fix(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Solves `I_x(a, b) = p` for x by bisection on a log scale below 1e-3 and a linear scale
/// above (the function is monotone in x), to about 1e-12 relative accuracy.
fn inverse_regularized_incomplete_beta(a: f64, b: f64, p: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..2000 {
        let mid = if hi < 1e-3 && lo > 0.0 {
            (lo * hi).sqrt()
        } else if hi < 1e-3 {
            hi * 1e-3
        } else {
            0.5 * (lo + hi)
        };
        if mid <= lo || mid >= hi {
            break;
        }
        if regularized_incomplete_beta(a, b, mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Clopper–Pearson ("exact") two-sided confidence interval for a binomial proportion:
/// `k` events in `n` trials at confidence level `confidence` (e.g. 0.95). The interval is
/// conservative (coverage ≥ `confidence`). Returns `(0, 1)` when `n == 0`.
///
/// Used for bit error ratios: with no errors in 10⁶ bits the 95 % upper bound is 3.69·10⁻⁶
/// (≈ 3.69/n, the "rule of three" for the two-sided 97.5 % bound).
///
/// ```
/// let (lo, hi) = lightlane_core::stats::clopper_pearson(10, 1000, 0.95);
/// assert!((lo - 0.004_805_5).abs() < 1e-6 && (hi - 0.018_313_2).abs() < 1e-6);
/// ```
pub fn clopper_pearson(k: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 || !(confidence > 0.0 && confidence < 1.0) {
        return (0.0, 1.0);
    }
    let k = k.min(n);
    let alpha = 1.0 - confidence;
    let (kf, nf) = (k as f64, n as f64);
    let lower = if k == 0 {
        0.0
    } else if k == n {
        (alpha / 2.0).powf(1.0 / nf)
    } else {
        inverse_regularized_incomplete_beta(kf, nf - kf + 1.0, alpha / 2.0)
    };
    let upper = if k == n {
        1.0
    } else if k == 0 {
        // Closed form; -expm1 keeps precision for huge n.
        -((alpha / 2.0).ln() / nf).exp_m1()
    } else {
        inverse_regularized_incomplete_beta(kf + 1.0, nf - kf, 1.0 - alpha / 2.0)
    };
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_known_values() {
        assert!((q_function(0.0) - 0.5).abs() < 1e-7);
        assert!((q_function(3.0) - 1.349_898e-3).abs() < 1e-8);
        assert!((q_function(-1.0) - 0.841_344_7).abs() < 1e-6);
        // TDECQ target: Q^-1(4.8e-4 / 1.5) = 3.414 (802.3 Table 121-12).
        assert!((q_inverse(4.8e-4 / 1.5) - 3.414).abs() < 1e-3);
        for &p in &[1e-12, 1e-6, 0.01, 0.3, 0.7] {
            assert!((q_function(q_inverse(p)) / p - 1.0).abs() < 1e-5, "p={p}");
        }
    }

    #[test]
    fn ln_gamma_known_values() {
        assert!((ln_gamma(1.0)).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-12);
        // ln Γ(1001) = ln 1000!
        let lf: f64 = (1..=1000).map(|i| (i as f64).ln()).sum();
        assert!((ln_gamma(1001.0) - lf).abs() < 1e-9);
        assert!((ln_gamma(999.0) - (lf - 1000f64.ln() - 999f64.ln())).abs() < 1e-9);
        // ln B computed stably agrees with the plain sum where the latter is accurate.
        for &(a, b) in &[(3.0, 7.0), (11.0, 50.0), (200.0, 300.0), (0.5, 20.0)] {
            let direct = ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
            assert!((ln_beta(a, b) - direct).abs() < 1e-10, "a={a} b={b}");
        }
    }

    #[test]
    fn clopper_pearson_near_mean_for_large_n() {
        // Reference values from direct binomial tail sums (123 errors in 240 000 bits).
        let (lo, hi) = clopper_pearson(123, 240_000, 0.95);
        assert!((lo / 4.259_551_6e-4 - 1.0).abs() < 1e-6, "{lo}");
        assert!((hi / 6.114_548_2e-4 - 1.0).abs() < 1e-6, "{hi}");
    }

    #[test]
    fn incomplete_beta_known_values() {
        // I_x(1, 1) = x; I_x(2, 3) = 6x²/2 − 8x³/3·… closed form: 6x² − 8x³ + 3x⁴.
        assert!((regularized_incomplete_beta(1.0, 1.0, 0.3) - 0.3).abs() < 1e-14);
        let x: f64 = 0.4;
        let exact = 6.0 * x.powi(2) - 8.0 * x.powi(3) + 3.0 * x.powi(4);
        assert!((regularized_incomplete_beta(2.0, 3.0, x) - exact).abs() < 1e-13);
        assert!((regularized_incomplete_beta(3.0, 2.0, 1.0 - x) - (1.0 - exact)).abs() < 1e-13);
    }

    #[test]
    fn clopper_pearson_known_values() {
        // References: mpmath (50 digits) on the binomial tail sums.
        let cases: [(u64, u64, f64, f64); 8] = [
            (0, 1_000_000, 0.0, 3.688_872_650_206_49e-6),
            (10, 1000, 0.004_805_510_691_049_31, 0.018_313_243_055_112_5),
            (1, 10, 0.002_528_578_544_461_79, 0.445_016_117_028_195),
            (5, 5, 0.478_176_249_895_019, 1.0),
            (0, 1, 0.0, 0.975),
            (3, 1_000_000_000_000, 6.186_721_228_960_29e-13, 8.767_273_069_717_04e-12),
            (100, 1_000_000_000, 8.136_399_196_839_12e-8, 1.216_267_924_772_28e-7),
            (1000, 10_000_000, 9.389_758_366_703_08e-5, 1.063_948_733_838_8e-4),
        ];
        for (k, n, lo, hi) in cases {
            let (l, h) = clopper_pearson(k, n, 0.95);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-300) || a == b;
            assert!(close(l, lo), "k={k} n={n}: lower {l} vs {lo}");
            assert!(close(h, hi), "k={k} n={n}: upper {h} vs {hi}");
        }
        assert_eq!(clopper_pearson(0, 0, 0.95), (0.0, 1.0));
    }
}
