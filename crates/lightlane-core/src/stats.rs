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
}
