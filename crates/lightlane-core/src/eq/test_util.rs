//! Test helpers shared by the equalizer and detector tests (DFE, MLSE).

use crate::Modulation;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `n` uniformly random symbols of `m`, seeded.
pub(crate) fn random_symbols(m: Modulation, n: usize, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(0..=m.max_symbol())).collect()
}

/// Symbol-spaced received samples: the levels of `s` through the channel `h` (h[0] the main
/// cursor, the symbols before the first taken as absent), summed in f64, plus seeded Gaussian
/// noise of rms `sigma`.
pub(crate) fn channel(m: Modulation, s: &[u8], h: &[f32], sigma: f64, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, sigma).unwrap();
    (0..s.len())
        .map(|k| {
            let v: f64 = h
                .iter()
                .enumerate()
                .filter(|&(i, _)| i <= k)
                .map(|(i, &hv)| hv as f64 * m.level(s[k - i]) as f64)
                .sum();
            (v + noise.sample(&mut rng)) as f32
        })
        .collect()
}
