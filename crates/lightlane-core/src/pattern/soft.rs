//! Alignment from soft samples: circular cross-correlation of the received levels with the
//! pattern's levels, for captures whose raw eye is closed (heavy ISI) so that slicer decisions
//! are too wrong for [`super::PatternChecker::align`].
//!
//! The correlation peak of an ISI channel sits at the main cursor, `h₀·N` above a noise floor of
//! about `√N`, so alignment succeeds long before the eye opens. The result seeds the MMSE
//! equalizer, whose delay search absorbs a peak that lands a cursor or two away.

use super::{Alignment, PatternChecker, SymbolTransform};
use crate::{Error, Result};
use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

/// Longest pattern period aligned by correlation (2^22 symbols: every stored-period pattern up
/// to PRBS21; PRBS23/31 and their Q forms sync from decisions only).
pub const MAX_SOFT_PERIOD: u64 = 1 << 22;

/// Outcome of [`align_soft`]: the alignment and how far its peak stood above the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftAlignment {
    /// Alignment usable with [`PatternChecker::expected`].
    pub alignment: Alignment,
    /// Normalised correlation at the peak (1 = noiseless, ISI-free).
    pub peak: f64,
    /// Peak over the rms of all other lags.
    pub peak_to_floor: f64,
}

/// Aligns the soft samples `x` (one per symbol, at the symbol centres; any scale and offset)
/// to the pattern of `checker`, over the transforms its configuration allows.
///
/// Errors: [`Error::PatternSyncFailed`] when no lag stands out of the correlation floor,
/// [`Error::InvalidParameter`] when the pattern is longer than [`MAX_SOFT_PERIOD`].
pub fn align_soft(checker: &PatternChecker, pattern: &super::Pattern, x: &[f32]) -> Result<SoftAlignment> {
    let m = checker.modulation();
    let period = checker.period();
    if period > MAX_SOFT_PERIOD {
        return Err(Error::invalid(
            "pattern",
            checker.pattern_name(),
            format!("period {period} is too long for soft alignment (max {MAX_SOFT_PERIOD})"),
        ));
    }
    let p = period as usize;
    if x.len() < 64 {
        return Err(Error::InputTooShort {
            what: "symbols for soft alignment",
            needed: 64,
            got: x.len(),
        });
    }
    // Fold the samples onto one period (zero-mean), so every lag of a capture longer than the
    // period contributes.
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
    let mut folded = vec![0f64; p];
    for (k, &v) in x.iter().enumerate() {
        folded[k % p] += v as f64 - mean;
    }
    let canonical = pattern.generate(m, p)?;
    let mut planner = FftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(p);
    let inv = planner.plan_fft_inverse(p);
    let mut fx: Vec<Complex<f64>> = folded.iter().map(|&v| Complex::new(v, 0.0)).collect();
    fwd.process(&mut fx);
    let x_energy: f64 = folded.iter().map(|v| v * v).sum();

    let cfg = checker.config();
    // Inversion is a sign of the correlation; search the other flags explicitly.
    let transforms = SymbolTransform::candidates(m, false, cfg.allow_data_inversion, cfg.allow_msb_lsb_swap, cfg.allow_binary_mapping);
    let mut best: Option<(f64, usize, SymbolTransform, f64)> = None;
    let mut received = vec![0u8; p];
    for t in transforms {
        received.copy_from_slice(&canonical);
        t.apply_in_place(m, &mut received);
        let levels: Vec<f64> = received.iter().map(|&s| m.level(s) as f64).collect();
        let rmean = levels.iter().sum::<f64>() / p as f64;
        let mut fr: Vec<Complex<f64>> = levels.iter().map(|&v| Complex::new(v - rmean, 0.0)).collect();
        let r_energy: f64 = fr.iter().map(|c| c.re * c.re).sum();
        if r_energy == 0.0 || x_energy == 0.0 {
            continue;
        }
        fwd.process(&mut fr);
        // c[lag] = Σ_j X[j] r[(lag + j) mod P]  ⇔  C = conj(FX) · FR.
        let mut c: Vec<Complex<f64>> = fx.iter().zip(&fr).map(|(a, b)| a.conj() * b).collect();
        inv.process(&mut c);
        let norm = 1.0 / (p as f64 * (x_energy * r_energy).sqrt());
        let (lag, val) = c
            .iter()
            .enumerate()
            .map(|(i, v)| (i, v.re * norm))
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .expect("non-empty period");
        let floor = (c.iter().map(|v| (v.re * norm).powi(2)).sum::<f64>() / p as f64).sqrt();
        if val < 0.0 && !cfg.allow_inversion {
            continue;
        }
        if best.as_ref().is_none_or(|b| val.abs() > b.0.abs()) {
            let mut t = t;
            t.inverted = val < 0.0;
            best = Some((val, lag, t, floor));
        }
    }
    let (val, lag, transform, floor) = best.ok_or_else(|| Error::PatternSyncFailed {
        pattern: checker.pattern_name().to_string(),
        reason: "the signal or the pattern has no variation".into(),
    })?;
    let peak_to_floor = val.abs() / floor.max(1e-300);
    // Independent lags give a floor of 1/sqrt(N); a real peak stands many times above it.
    let n_eff = x.len().min(p) as f64;
    if val.abs() < 6.0 / n_eff.sqrt() || peak_to_floor < 6.0 {
        return Err(Error::PatternSyncFailed {
            pattern: checker.pattern_name().to_string(),
            reason: format!(
                "no correlation peak with the pattern (peak {:.3}, {:.1}× the floor)",
                val.abs(),
                peak_to_floor
            ),
        });
    }
    Ok(SoftAlignment {
        alignment: Alignment {
            transform: transform.normalized(m),
            position: lag as u64,
            period,
            sync_index: 0,
            validation_bits: 0,
            validation_bit_errors: 0,
        },
        peak: val.abs(),
        peak_to_floor,
    })
}
