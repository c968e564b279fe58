//! Benchmark helpers shared by the criterion benches and the throughput binaries.

pub mod harness;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` seeded uniform f32 samples in [-1, 1).
pub fn random_signal(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

pub mod fec_data {
    //! Seeded test data for the FEC benchmarks.
    use lightlane::fec::{ReedSolomon, RsCode};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `count` random codewords (laid end to end) with independent bit errors at `ber` in
    /// their 10-bit symbols. Returns (received words, clean words, number of bit errors).
    pub fn corrupted_codewords(code: RsCode, count: usize, ber: f64, seed: u64) -> (Vec<u16>, Vec<u16>, u64) {
        let rs = ReedSolomon::new(code);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = code.n();
        let mut clean = vec![0u16; count * n];
        let mut msg = vec![0u16; code.k()];
        for cw in clean.chunks_mut(n) {
            msg.iter_mut().for_each(|m| *m = rng.random_range(0..1024));
            rs.encode(&msg, cw).expect("valid message");
        }
        let mut words = clean.clone();
        let total_bits = (count * n * 10) as u64;
        let mut flips = 0u64;
        if ber > 0.0 {
            // Geometric gaps between independent bit errors.
            let ln_q = (1.0 - ber).ln();
            let mut bit: u64 = 0;
            loop {
                let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                bit += (u.ln() / ln_q).floor() as u64;
                if bit >= total_bits {
                    break;
                }
                words[(bit / 10) as usize] ^= 1 << (bit % 10);
                flips += 1;
                bit += 1;
            }
        }
        (words, clean, flips)
    }
}

pub mod eq_data {
    //! Seeded test data for the equalizer benchmarks.
    use lightlane::Modulation;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `n` random symbols of `modulation` through the symbol-spaced channel `h` (main cursor
    /// `h[0]`) plus Gaussian noise of standard deviation `sigma` (Box-Muller on the seeded
    /// generator). Returns (symbols, received values).
    pub fn isi_link(modulation: Modulation, n: usize, h: &[f32], sigma: f32, seed: u64) -> (Vec<u8>, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let symbols: Vec<u8> = (0..n).map(|_| rng.random_range(0..=modulation.max_symbol())).collect();
        let mut y = vec![0.0f32; n];
        for (k, out) in y.iter_mut().enumerate() {
            let mut v = 0.0f32;
            for (i, &hi) in h.iter().enumerate().take(k + 1) {
                v += hi * modulation.level(symbols[k - i]);
            }
            let u1: f32 = rng.random_range(f32::MIN_POSITIVE..1.0);
            let u2: f32 = rng.random_range(0.0..1.0);
            *out = v + sigma * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
        }
        (symbols, y)
    }
}
