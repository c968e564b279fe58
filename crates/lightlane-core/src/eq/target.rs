//! MMSE FFE training towards a partial-response target, the front end of an MLSE or DFE.
//!
//! Instead of forcing the FFE output to the transmitted levels (`y[k] ≈ a[k+d]`, which must
//! undo all the ISI and enhances noise where the channel is weak), the FFE is trained towards
//! `y[k] ≈ Σ_i g[i]·a[k+d−i]` with `g[0] = 1`: it keeps a known amount of post-cursor ISI that the
//! MLSE (or DFE) removes without noise enhancement. 802.3dj receivers use `g = [1, α]`.
//!
//! - [`train_ffe_for_target`]: fixed target `g`; the least-squares problem
//!   `min_w Σ_k (wᵀu[k] − Σ_i g[i]·a[k+d−i])²` is [`Ffe::train_mmse`] on the filtered target.
//! - [`train_ffe_and_target`]: `g[1..]` estimated jointly with the taps,
//!   `min_{w, g} Σ_k (wᵀu[k] − a[k+d] − Σ_{i≥1} g[i]·a[k+d−i])²` (monic constraint); its
//!   solution is the feed-forward filter and feedback taps of the MMSE-DFE, and the MMSE
//!   `1 + αD` target of an MLSE.

use super::ffe::{Ffe, FfeConfig, FfeTraining};
use super::lsq::LeastSquares;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Largest target memory (post-cursor coefficients) the trainers accept.
pub const MAX_TARGET_MEMORY: usize = 32;

/// Result of [`train_ffe_and_target`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetTraining {
    /// The trained FFE.
    pub ffe: Ffe,
    /// The target `[1, g1, …, gm]`.
    pub target: Vec<f32>,
    /// `y[k]` estimates `Σ_i target[i]·a[k + delay − i]`.
    pub delay: isize,
    /// Mean squared error against the target sequence over the training symbols (f32 taps).
    pub mse: f64,
    /// `10·log10(mean (target sequence)² / mse)`, in dB.
    pub snr_db: f64,
    /// Training symbols used.
    pub n_symbols: usize,
}

fn check_target(target: &[f32]) -> Result<()> {
    if target.is_empty() || target.len() > MAX_TARGET_MEMORY + 1 {
        return Err(Error::invalid(
            "FFE target",
            target.len(),
            format!("need 1..={} coefficients", MAX_TARGET_MEMORY + 1),
        ));
    }
    crate::error::check_finite("FFE target", target)?;
    if target[0] == 0.0 {
        return Err(Error::invalid("FFE target", format!("{target:?}"), "the main coefficient must not be 0"));
    }
    Ok(())
}

/// `Σ_i g[i]·a[k−i]` with `a[j] = 0` before the start.
fn filtered(known_levels: &[f32], target: &[f32]) -> Vec<f32> {
    (0..known_levels.len())
        .map(|k| {
            target
                .iter()
                .enumerate()
                .filter(|&(i, _)| i <= k)
                .map(|(i, &g)| g as f64 * known_levels[k - i] as f64)
                .sum::<f64>() as f32
        })
        .collect()
}

/// Trains the FFE towards the fixed partial-response `target` (`target[0]` the main
/// coefficient, usually 1): [`Ffe::train_mmse`] against `Σ_i target[i]·known_levels[k−i]`,
/// with the same delay search and conventions (`y[k]` estimates that sequence at `k + delay`).
///
/// Errors: an empty or too long target, `target[0] = 0`, non-finite values, and every error of
/// [`Ffe::train_mmse`].
pub fn train_ffe_for_target(x: &[f32], known_levels: &[f32], target: &[f32], cfg: &FfeConfig) -> Result<FfeTraining> {
    check_target(target)?;
    crate::error::check_finite("FFE training target", known_levels)?;
    Ffe::train_mmse(x, &filtered(known_levels, target), cfg)
}

/// Trains the FFE and a monic target `[1, g1, …, g_memory]` jointly by least squares (see the
/// module docs). The delay is the one [`Ffe::train_mmse`] picks for the plain target (main
/// cursor on the reference tap).
///
/// Errors: `memory` above [`MAX_TARGET_MEMORY`], too few training symbols, and every error of
/// [`Ffe::train_mmse`].
pub fn train_ffe_and_target(x: &[f32], known_levels: &[f32], memory: usize, cfg: &FfeConfig) -> Result<TargetTraining> {
    if memory > MAX_TARGET_MEMORY {
        return Err(Error::invalid("target memory", memory, format!("must be at most {MAX_TARGET_MEMORY}")));
    }
    let plain = Ffe::train_mmse(x, known_levels, cfg)?;
    let delay = plain.delay;
    let l = cfg.n_taps;
    let sps = cfg.samples_per_symbol;
    let c = cfg.resolved_reference_tap();
    let (lo, hi) = plain.ffe.interior(x.len());
    // Symbols with a full tap window and every target term a[k+d−i] (i = 0..=memory) present.
    let k0 = (lo as isize).max(memory as isize - delay).max(0) as usize;
    let k1 = (hi as isize).min(known_levels.len() as isize - delay).max(0) as usize;
    let n_symbols = k1.saturating_sub(k0);
    let unknowns = l + memory;
    if n_symbols < 2 * unknowns {
        return Err(Error::InputTooShort {
            what: "FFE+target training symbols",
            needed: 2 * unknowns,
            got: n_symbols,
        });
    }
    // Unknowns v = [w; g1..gm]; equation wᵀu[k] − Σ g_i a[k+d−i] ≈ a[k+d].
    // On the pool, the same sums as adding the symbols' equations in order.
    let ls = LeastSquares::from_rows(unknowns, n_symbols, |e, v| {
        let k = k0 + e;
        let centre = k * sps + c;
        for j in 0..l {
            v[j] = x[centre - j] as f64;
        }
        let t = (k as isize + delay) as usize;
        for i in 1..=memory {
            v[l + i - 1] = -(known_levels[t - i] as f64);
        }
        known_levels[t] as f64
    });
    // Ridge as in Ffe::train_mmse: `ridge · trace / unknowns` on every diagonal entry.
    let (sol, _) = ls.solve(cfg.ridge).map_err(|e| match e {
        Error::Unusable { reason, .. } => Error::Unusable { stage: "FFE+target training", reason },
        other => other,
    })?;
    let ffe = Ffe::new(sol[..l].iter().map(|&v| v as f32).collect(), sps, c)?;
    let mut target = vec![1.0f32];
    target.extend(sol[l..].iter().map(|&v| v as f32));
    let y = ffe.equalize(x);
    let want = filtered(known_levels, &target);
    let (mut err2, mut sig2) = (0.0f64, 0.0f64);
    for k in k0..k1 {
        let t = want[(k as isize + delay) as usize] as f64;
        let e = y[k] as f64 - t;
        err2 += e * e;
        sig2 += t * t;
    }
    let mse = err2 / n_symbols as f64;
    Ok(TargetTraining {
        ffe,
        target,
        delay,
        mse,
        snr_db: 10.0 * (sig2 / n_symbols as f64 / mse.max(f64::MIN_POSITIVE)).log10(),
        n_symbols,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Modulation;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn link(n: usize, h: &[f32], sigma: f32, seed: u64) -> (Vec<u8>, Vec<f32>, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s: Vec<u8> = (0..n).map(|_| rng.random_range(0..4u8)).collect();
        let a = Modulation::Pam4.symbols_to_levels(&s);
        let noise = Normal::new(0.0f32, sigma).unwrap();
        let x = (0..n)
            .map(|k| h.iter().enumerate().filter(|&(i, _)| i <= k).map(|(i, &v)| v * a[k - i]).sum::<f32>() + noise.sample(&mut rng))
            .collect();
        (s, a, x)
    }

    #[test]
    fn fixed_target_keeps_the_wanted_isi() {
        // Channel 1 + 0.5D + 0.2D² with a precursor; target 1 + 0.5D: the FFE removes the rest.
        let (_, a, x) = link(30_000, &[0.15, 1.0, 0.5, 0.2], 0.01, 1);
        let cfg = FfeConfig { n_taps: 21, ..Default::default() };
        let tr = train_ffe_for_target(&x, &a, &[1.0, 0.5], &cfg).unwrap();
        assert!(tr.snr_db > 30.0, "{}", tr.snr_db);
        let y = tr.ffe.equalize(&x);
        let k = 1000;
        let want = a[(k as isize + tr.delay) as usize] + 0.5 * a[(k as isize + tr.delay - 1) as usize];
        assert!((y[k] - want).abs() < 0.05);
        assert!(train_ffe_for_target(&x, &a, &[0.0, 1.0], &cfg).is_err());
        assert!(train_ffe_for_target(&x, &a, &[], &cfg).is_err());
    }

    #[test]
    fn joint_training_estimates_alpha() {
        // A pure 1 + 0.6D channel: the FFE+target optimum is w = identity, g1 = 0.6 (nothing
        // to equalize, no noise enhancement), where a plain FFE would have to invert 1 + 0.6D.
        let (_, a, x) = link(30_000, &[1.0, 0.6], 0.05, 2);
        let cfg = FfeConfig { n_taps: 11, reference_tap: Some(2), delay_search: 2, ..Default::default() };
        let tr = train_ffe_and_target(&x, &a, 1, &cfg).unwrap();
        assert_eq!(tr.target.len(), 2);
        assert!((tr.target[1] - 0.6).abs() < 0.01, "{:?}", tr.target);
        let taps = tr.ffe.taps();
        for (j, &w) in taps.iter().enumerate() {
            let want = if j == 2 { 1.0 } else { 0.0 };
            assert!((w - want).abs() < 0.02, "{taps:?}");
        }
        // Its MSE is the noise floor; the plain MMSE FFE pays for inverting the channel.
        let plain = Ffe::train_mmse(&x, &a, &cfg).unwrap();
        assert!(tr.mse < 0.0027 && plain.mse > 1.3 * tr.mse, "joint {} plain {}", tr.mse, plain.mse);
        // Fixing the target at the estimate reproduces the joint solution.
        let fixed = train_ffe_for_target(&x, &a, &tr.target, &cfg).unwrap();
        assert!((fixed.mse - tr.mse).abs() < 0.02 * tr.mse, "{} vs {}", fixed.mse, tr.mse);
        // Memory 0 is the plain MMSE FFE.
        let zero = train_ffe_and_target(&x, &a, 0, &cfg).unwrap();
        assert_eq!(zero.target, vec![1.0]);
        assert!((zero.mse - plain.mse).abs() < 0.01 * plain.mse);
        assert!(train_ffe_and_target(&x, &a, 99, &cfg).is_err());
    }
}
