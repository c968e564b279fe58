use super::interp::cubic_at;
use crate::{Error, Modulation, Result};
use serde::{Deserialize, Serialize};

/// Settings of the sampling-phase search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhaseConfig {
    /// Candidate phases evaluated across one UI.
    pub candidates: usize,
    /// Symbols used to score each candidate.
    pub max_symbols: usize,
    /// With an integer number of samples per UI, keep the phase on a sample (no interpolation).
    pub snap_to_samples: bool,
}

impl Default for PhaseConfig {
    fn default() -> Self {
        PhaseConfig {
            candidates: 32,
            max_symbols: 40_000,
            snap_to_samples: true,
        }
    }
}

/// Result of [`recover_phase`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingPhase {
    /// Sampling instant of the first symbol, in UI after input sample 0 (in [0, 1)).
    pub phase_ui: f64,
    /// Level-separation figure at that phase (between-level over within-level variance).
    pub separation: f64,
    /// The score of every candidate phase, for plots and diagnostics.
    pub scores: Vec<f64>,
}

/// Level means and decision thresholds found by clustering samples into M levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelClusters {
    /// Level means, ascending.
    pub means: Vec<f64>,
    /// Standard deviation within each level.
    pub sigmas: Vec<f64>,
    /// Samples in each level.
    pub counts: Vec<u64>,
    /// Between-level variance over mean within-level variance.
    pub separation: f64,
}

/// Clusters `x` into `levels` amplitude groups (Lloyd iterations started at the quantiles that
/// equiprobable symbols would have).
pub fn cluster_levels(x: &[f32], levels: usize) -> Result<LevelClusters> {
    if levels < 2 {
        return Err(Error::invalid("levels", levels, "need at least two levels"));
    }
    if x.len() < levels * 8 {
        return Err(Error::InputTooShort {
            what: "samples to cluster",
            needed: levels * 8,
            got: x.len(),
        });
    }
    let mut sorted: Vec<f32> = x.to_vec();
    // Values equal under `total_cmp` are the same bits, so an unstable sort gives the same order.
    {
        use rayon::slice::ParallelSliceMut;
        sorted.par_sort_unstable_by(|a, b| a.total_cmp(b));
    }
    let n = sorted.len();
    let mut means: Vec<f64> = (0..levels)
        .map(|i| sorted[((2 * i + 1) * n / (2 * levels)).min(n - 1)] as f64)
        .collect();
    let mut sums = vec![0f64; levels];
    let mut sq = vec![0f64; levels];
    let mut counts = vec![0u64; levels];
    for _ in 0..12 {
        let thresholds: Vec<f64> = means.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        sums.iter_mut().for_each(|v| *v = 0.0);
        sq.iter_mut().for_each(|v| *v = 0.0);
        counts.iter_mut().for_each(|v| *v = 0);
        // x is sorted: each cluster is a contiguous run.
        let mut c = 0usize;
        for &v in &sorted {
            let v = v as f64;
            while c < levels - 1 && v >= thresholds[c] {
                c += 1;
            }
            sums[c] += v;
            sq[c] += v * v;
            counts[c] += 1;
        }
        let mut changed = false;
        for i in 0..levels {
            if counts[i] > 0 {
                let m = sums[i] / counts[i] as f64;
                changed |= (m - means[i]).abs() > 1e-9 * (1.0 + m.abs());
                means[i] = m;
            }
        }
        if !changed {
            break;
        }
    }
    let total: f64 = counts.iter().sum::<u64>() as f64;
    let grand = sums.iter().sum::<f64>() / total;
    let mut within = 0.0;
    let mut between = 0.0;
    let mut sigmas = vec![0.0; levels];
    for i in 0..levels {
        if counts[i] == 0 {
            continue;
        }
        let c = counts[i] as f64;
        let var = (sq[i] / c - means[i] * means[i]).max(0.0);
        sigmas[i] = var.sqrt();
        within += var * c;
        between += (means[i] - grand).powi(2) * c;
    }
    let separation = if within > 0.0 {
        between / within
    } else if between > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    Ok(LevelClusters {
        means,
        sigmas,
        counts,
        separation,
    })
}

/// Index at the centre of the (circular) run of candidates that tie for the best score, so a
/// flat-topped eye is sampled in its middle rather than at an edge of the flat region.
fn centre_of_best_run(scores: &[f64], best: f64) -> usize {
    let n = scores.len();
    let tied = |i: usize| scores[i % n] >= best * (1.0 - 1e-9);
    let first = (0..n).find(|&i| tied(i)).unwrap_or(0);
    // Walk back to the start of the run that contains `first` (it may wrap around).
    let mut start = first;
    while tied(start + n - 1) && (start + n - 1) % n != first {
        start = (start + n - 1) % n;
    }
    let mut len = 1;
    while len < n && tied(start + len) {
        len += 1;
    }
    (start + (len - 1) / 2) % n
}

/// Finds the sampling phase within the UI at which the `modulation` levels separate best.
///
/// `samples_per_ui` = fs / baud must be at least 2 (baud ≤ fs/2).
pub fn recover_phase(x: &[f32], samples_per_ui: f64, modulation: Modulation, config: &PhaseConfig) -> Result<SamplingPhase> {
    if !(samples_per_ui.is_finite() && samples_per_ui >= 2.0 - 1e-9) {
        return Err(Error::invalid(
            "baud",
            format!("fs/{samples_per_ui:.4}"),
            "symbol rate above fs/2: the capture has fewer than 2 samples per UI",
        ));
    }
    if config.candidates < 4 || config.candidates > 4096 {
        return Err(Error::invalid("candidates", config.candidates, "must be 4..=4096"));
    }
    let nsym = ((x.len() as f64 - 2.0) / samples_per_ui).floor().max(0.0) as usize;
    let min_symbols = 64 * modulation.levels();
    if nsym < min_symbols {
        return Err(Error::InputTooShort {
            what: "capture (symbols)",
            needed: min_symbols,
            got: nsym,
        });
    }
    let use_syms = nsym.min(config.max_symbols.max(min_symbols));
    let stride = (nsym / use_syms).max(1);
    let integer_sps = (samples_per_ui - samples_per_ui.round()).abs() < 1e-9 && config.snap_to_samples;
    let ncand = if integer_sps {
        samples_per_ui.round() as usize
    } else {
        config.candidates
    };
    let mut buf = Vec::with_capacity(use_syms);
    let mut scores = Vec::with_capacity(ncand);
    for c in 0..ncand {
        let phi = c as f64 / ncand as f64;
        buf.clear();
        for j in 0..use_syms {
            let k = j * stride;
            buf.push(cubic_at(x, (phi + k as f64) * samples_per_ui));
        }
        let s = cluster_levels(&buf, modulation.levels())?.separation;
        scores.push(if s.is_finite() { s } else { 1e12 });
    }
    let best_score = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let best = centre_of_best_run(&scores, best_score);
    let mut phase = best as f64 / ncand as f64;
    if !integer_sps {
        // Parabolic refinement on the circular score curve.
        let l = scores[(best + ncand - 1) % ncand];
        let r = scores[(best + 1) % ncand];
        let denom = l - 2.0 * best_score + r;
        if denom < 0.0 {
            let delta = (0.5 * (l - r) / denom).clamp(-0.5, 0.5);
            phase = (phase + delta / ncand as f64).rem_euclid(1.0);
        }
    }
    if best_score.is_nan() || best_score <= 0.0 {
        return Err(Error::Unusable {
            stage: "timing",
            reason: "no sampling phase separates the levels (flat or constant signal)".into(),
        });
    }
    Ok(SamplingPhase {
        phase_ui: phase,
        separation: best_score,
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rectangular NRZ-shaped PAM4 with a smooth edge, symbol centres at (k + 0.5) UI + offset.
    fn pam4_wave(sps: f64, offset_ui: f64, n: usize) -> Vec<f32> {
        let mut state = 12345u64;
        let syms: Vec<u8> = (0..n)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 62) as u8
            })
            .collect();
        let len = ((n as f64 - 1.0) * sps) as usize;
        (0..len)
            .map(|i| {
                let t = i as f64 / sps - offset_ui; // in UI, symbol k centred at k
                let k = t.round();
                let frac = t - k; // -0.5..0.5
                let kk = (k as isize).clamp(0, n as isize - 1) as usize;
                let next = if frac > 0.0 { (kk + 1).min(n - 1) } else { kk.saturating_sub(1) };
                let a = Modulation::Pam4.level(syms[kk]);
                let b = Modulation::Pam4.level(syms[next]);
                // Raised-cosine edge over the outer 30 % of the UI.
                let w = ((frac.abs() - 0.35) / 0.3).clamp(0.0, 1.0);
                let mix = 0.5 - 0.5 * (std::f64::consts::PI * w).cos();
                (a as f64 * (1.0 - 0.5 * mix) + b as f64 * 0.5 * mix) as f32
            })
            .collect()
    }

    #[test]
    fn finds_eye_centre_with_fractional_sps() {
        let sps = 256.0 / 53.125;
        let x = pam4_wave(sps, 0.37, 5000);
        let p = recover_phase(&x, sps, Modulation::Pam4, &PhaseConfig::default()).unwrap();
        let err = (p.phase_ui - 0.37).abs().min(1.0 - (p.phase_ui - 0.37).abs());
        assert!(err < 0.06, "phase {} vs 0.37", p.phase_ui);
    }

    #[test]
    fn integer_sps_snaps_to_a_sample() {
        let x = pam4_wave(8.0, 0.25, 4000);
        let p = recover_phase(&x, 8.0, Modulation::Pam4, &PhaseConfig::default()).unwrap();
        assert!(((p.phase_ui * 8.0) - (p.phase_ui * 8.0).round()).abs() < 1e-12);
        assert!((p.phase_ui - 0.25).abs() < 0.13, "{p:?}");
    }

    #[test]
    fn rejects_undersampled_and_short() {
        let x = vec![0.0f32; 10000];
        assert!(matches!(recover_phase(&x, 1.5, Modulation::Pam4, &PhaseConfig::default()), Err(Error::InvalidParameter { .. })));
        assert!(matches!(recover_phase(&x[..100], 4.0, Modulation::Pam4, &PhaseConfig::default()), Err(Error::InputTooShort { .. })));
        assert!(recover_phase(&x, 4.0, Modulation::Pam4, &PhaseConfig::default()).is_err());
    }

    #[test]
    fn clusters_pam4_levels() {
        let x: Vec<f32> = (0..4000).map(|i| Modulation::Pam4.level((i % 4) as u8) + 0.01 * ((i * 7919 % 13) as f32 - 6.0) / 6.0).collect();
        let c = cluster_levels(&x, 4).unwrap();
        for (m, l) in c.means.iter().zip(Modulation::Pam4.level_set()) {
            assert!((m - l as f64).abs() < 0.01);
        }
        assert!(c.separation > 100.0);
    }
}
