//! Additive noise of the link simulator and the counter-based Gaussian source shared with jitter.

use crate::{Error, Result};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// ChaCha stream of the random-jitter deviates.
pub(crate) const STREAM_JITTER: u64 = 1;
/// ChaCha stream of the additive-noise deviates.
pub(crate) const STREAM_NOISE: u64 = 2;

/// Additive white Gaussian noise at the scope samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Noise {
    /// No noise.
    #[default]
    None,
    /// Signal-to-noise ratio in dB: variance of the noise-free sampled signal (about its mean)
    /// divided by the noise variance, both at the scope samples.
    SnrDb(f64),
    /// Noise standard deviation in volts.
    Rms(f64),
}

impl Noise {
    /// Checks the noise parameter; errors name the field `noise`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Noise::None => Ok(()),
            Noise::SnrDb(db) => {
                if !db.is_finite() || !(-40.0..=300.0).contains(&db) {
                    return Err(Error::invalid("noise", format!("SnrDb({db})"), "SNR must be finite, within −40..=300 dB"));
                }
                Ok(())
            }
            Noise::Rms(s) => {
                if !(s.is_finite() && s >= 0.0) {
                    return Err(Error::invalid("noise", format!("Rms({s})"), "noise rms must be finite and non-negative volts"));
                }
                Ok(())
            }
        }
    }

    /// Noise rms for a noise-free signal of `variance` (about its mean): 0, the given rms, or
    /// `sqrt(variance / 10^(SNR/10))`. [`Error::Unusable`] at `stage` for an SNR on a signal
    /// of zero variance (`signal` names it in the reason).
    pub(crate) fn rms_for_variance(&self, variance: f64, stage: &'static str, signal: &str) -> Result<f64> {
        Ok(match *self {
            Noise::None => 0.0,
            Noise::Rms(s) => s,
            Noise::SnrDb(db) => {
                if variance <= 0.0 {
                    return Err(Error::Unusable {
                        stage,
                        reason: format!("{signal} has zero variance, so an SNR does not define the noise; use Noise::Rms"),
                    });
                }
                (variance / 10f64.powf(db / 10.0)).sqrt()
            }
        })
    }
}

/// Standard normal deviates from ChaCha8 by Box-Muller, two deviates per pair of `u64`s, so the
/// deviate at any index can be reached by seeking (results never depend on block or thread layout).
/// |deviate| ≤ √(2·53·ln 2) ≈ 8.57 by construction.
pub(crate) struct GaussianStream {
    rng: ChaCha8Rng,
}

impl GaussianStream {
    /// Positioned at pair `pair_index` (deviates `2·pair_index` and `2·pair_index + 1`).
    pub fn new(seed: u64, stream: u64, pair_index: u128) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        // Two u64 = four 32-bit words per pair.
        rng.set_word_pos(pair_index * 4);
        GaussianStream { rng }
    }

    /// The next pair of independent standard normal deviates.
    #[inline]
    pub fn next_pair(&mut self) -> (f64, f64) {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        let u1 = ((a >> 11) as f64 + 1.0) * SCALE; // (0, 1]
        let u2 = (b >> 11) as f64 * SCALE; // [0, 1)
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (2.0 * std::f64::consts::PI * u2).sin_cos();
        (r * c, r * s)
    }
}

/// Adds `sigma · N(0,1)` to `out`, whose first sample has global index `first_index` (even).
pub(crate) fn add_noise(out: &mut [f32], first_index: usize, sigma: f64, seed: u64) {
    debug_assert!(first_index.is_multiple_of(2));
    let mut g = GaussianStream::new(seed, STREAM_NOISE, (first_index / 2) as u128);
    for pair in out.chunks_mut(2) {
        let (z0, z1) = g.next_pair();
        pair[0] = (pair[0] as f64 + sigma * z0) as f32;
        if let Some(v) = pair.get_mut(1) {
            *v = (*v as f64 + sigma * z1) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_stream_is_standard_normal_and_seekable() {
        let mut g = GaussianStream::new(7, STREAM_NOISE, 0);
        let n = 200_000;
        let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
        let mut first = Vec::new();
        for i in 0..n / 2 {
            let (a, b) = g.next_pair();
            if (1000..1010).contains(&i) {
                first.push((a, b));
            }
            for z in [a, b] {
                s1 += z;
                s2 += z * z;
                s4 += z * z * z * z;
            }
        }
        let nf = n as f64;
        assert!((s1 / nf).abs() < 0.01);
        assert!((s2 / nf - 1.0).abs() < 0.01);
        assert!((s4 / nf - 3.0).abs() < 0.1, "kurtosis {}", s4 / nf);
        let mut h = GaussianStream::new(7, STREAM_NOISE, 1000);
        for expect in first {
            assert_eq!(h.next_pair(), expect);
        }
    }

    #[test]
    fn chunked_noise_equals_whole() {
        let mut whole = vec![0.0f32; 1001];
        add_noise(&mut whole, 0, 0.5, 3);
        let mut parts = vec![0.0f32; 1001];
        let (a, b) = parts.split_at_mut(400);
        add_noise(a, 0, 0.5, 3);
        add_noise(b, 400, 0.5, 3);
        assert_eq!(whole, parts);
    }

    #[test]
    fn noise_validation() {
        assert!(Noise::Rms(-1.0).validate().is_err());
        assert!(Noise::Rms(f64::NAN).validate().is_err());
        assert!(Noise::SnrDb(f64::INFINITY).validate().is_err());
        assert!(Noise::SnrDb(20.0).validate().is_ok());
        assert!(Noise::None.validate().is_ok());
    }
}
