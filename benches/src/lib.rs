//! Benchmark helpers shared by the criterion benches and the throughput binaries.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` seeded uniform f32 samples in [-1, 1).
pub fn random_signal(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Best (smallest) wall time in seconds of `repeats` calls of `f`, after one warm-up call.
pub fn seconds_best_of(repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..repeats.max(1))
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}
