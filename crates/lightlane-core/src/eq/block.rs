//! Block parallelism for sequential detectors (DFE, MLSE): the input is cut into blocks that are
//! detected independently on the rayon pool, each with `warmup` symbols of overlap on both sides.
//!
//! Block `b` owns symbols `[b·B, (b+1)·B)`. Its detector runs on
//! `[b·B − W, (b+1)·B + W)` (clipped to the input) and only the owned part of its output is kept.
//! The leading overlap lets the detector's state (DFE feedback, Viterbi path metrics) converge
//! to the sequential run's before the owned part starts; the trailing overlap gives an MLSE the
//! look-ahead its traceback needs at the end of the owned part.
//!
//! **Bound.** The result equals the sequential run's everywhere except possibly within `W`
//! symbols of a block boundary (after it for a causal detector such as the DFE, either side for
//! MLSE), and only where the sequential run itself is inside an error event that spans the
//! overlap: a DFE's state is its last N decisions, so once the block's run makes N decisions
//! equal to the sequential ones, the two stay equal; two Viterbi runs agree once their survivor
//! paths have merged. Tests measure the mismatches against that bound on noisy inputs.

use super::dfe::Dfe;
use super::mlse::Mlse;
use crate::{Error, Result};
use rayon::prelude::*;

/// Default symbols per block of [`Dfe::detect_parallel`] and [`Mlse::detect_parallel`].
pub const DEFAULT_BLOCK: usize = 1 << 16;
/// Default overlap of [`Dfe::detect_parallel`] and [`Mlse::detect_parallel`].
pub const DEFAULT_WARMUP: usize = 256;

/// Runs the sequential detector `f` on overlapping blocks of `y` in parallel and stitches the
/// owned parts (see the module docs). `f` must return one decision per input value.
///
/// Errors: `block == 0` ([`Error::InvalidParameter`]); `f` returning the wrong number of
/// decisions ([`Error::LengthMismatch`]).
pub fn detect_blocks<F>(y: &[f32], block: usize, warmup: usize, f: F) -> Result<Vec<u8>>
where
    F: Fn(&[f32]) -> Vec<u8> + Sync,
{
    if block == 0 {
        return Err(Error::invalid("block", 0, "must be at least 1 symbol"));
    }
    let n = y.len();
    let mut out = vec![0u8; n];
    out.par_chunks_mut(block).enumerate().try_for_each(|(b, owned)| {
        let start = b * block;
        let lo = start.saturating_sub(warmup);
        let hi = (start + owned.len()).saturating_add(warmup).min(n);
        let decisions = f(&y[lo..hi]);
        if decisions.len() != hi - lo {
            return Err(Error::LengthMismatch {
                what: "block detector decisions",
                expected: hi - lo,
                got: decisions.len(),
            });
        }
        owned.copy_from_slice(&decisions[start - lo..start - lo + owned.len()]);
        Ok(())
    })?;
    Ok(out)
}

impl Dfe {
    /// [`Dfe::detect`] on blocks of [`DEFAULT_BLOCK`] symbols with [`DEFAULT_WARMUP`] overlap,
    /// on the rayon pool (see [`detect_blocks`] for the bound on differences from the sequential
    /// run).
    pub fn detect_parallel(&self, y: &[f32]) -> Vec<u8> {
        detect_blocks(y, DEFAULT_BLOCK, DEFAULT_WARMUP, |b| self.detect(b)).expect("block size is positive and detect returns one decision per value")
    }
}

impl Mlse {
    /// [`Mlse::detect`] on blocks of [`DEFAULT_BLOCK`] symbols with [`DEFAULT_WARMUP`] overlap,
    /// on the rayon pool (see [`detect_blocks`] for the bound on differences from the sequential
    /// run). The result is exactly `detect_blocks(y, DEFAULT_BLOCK, DEFAULT_WARMUP, detect)`;
    /// each task runs two neighbouring blocks in lockstep, which lets the 4-state PAM4 detector
    /// overlap their dependency chains (about 1.5× the sequential throughput per core).
    pub fn detect_parallel(&self, y: &[f32]) -> Vec<u8> {
        self.detect_parallel_with(y, DEFAULT_BLOCK, DEFAULT_WARMUP)
            .expect("default block size is positive")
    }

    /// [`Mlse::detect_parallel`] with a chosen block size and overlap; equal to
    /// `detect_blocks(y, block, warmup, |b| self.detect(b))`.
    /// [`Error::InvalidParameter`] for `block == 0`.
    pub fn detect_parallel_with(&self, y: &[f32], block: usize, warmup: usize) -> Result<Vec<u8>> {
        if block == 0 {
            return Err(Error::invalid("block", 0, "must be at least 1 symbol"));
        }
        let n = y.len();
        let mut out = vec![0u8; n];
        let window = |b: usize| {
            let start = b * block;
            let end = (start + block).min(n);
            (start.saturating_sub(warmup), start, end, end.saturating_add(warmup).min(n))
        };
        out.par_chunks_mut(2 * block).enumerate().for_each(|(pair, owned)| {
            let first = 2 * pair;
            let (lo_a, start_a, end_a, hi_a) = window(first);
            let mut da = vec![0u8; hi_a - lo_a];
            if owned.len() > block {
                let (lo_b, start_b, end_b, hi_b) = window(first + 1);
                let mut db = vec![0u8; hi_b - lo_b];
                self.detect_pair(&y[lo_a..hi_a], &mut da, &y[lo_b..hi_b], &mut db);
                owned[block..].copy_from_slice(&db[start_b - lo_b..end_b - lo_b]);
            } else {
                self.detect_into(&y[lo_a..hi_a], &mut da).expect("sized window");
            }
            owned[..end_a - start_a].copy_from_slice(&da[start_a - lo_a..end_a - lo_a]);
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Modulation;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn noisy_link(n: usize, h: &[f32], sigma: f32, seed: u64) -> (Vec<u8>, Vec<f32>) {
        let m = Modulation::Pam4;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s: Vec<u8> = (0..n).map(|_| rng.random_range(0..4u8)).collect();
        let noise = Normal::new(0.0f32, sigma).unwrap();
        let y = (0..n)
            .map(|k| h.iter().enumerate().filter(|&(i, _)| i <= k).map(|(i, &v)| v * m.level(s[k - i])).sum::<f32>() + noise.sample(&mut rng))
            .collect();
        (s, y)
    }

    /// Positions where `a` and `b` differ.
    fn mismatches(a: &[u8], b: &[u8]) -> Vec<usize> {
        a.iter().zip(b).enumerate().filter(|(_, (x, y))| x != y).map(|(i, _)| i).collect()
    }

    #[test]
    fn block_dfe_equals_sequential_outside_the_bound() {
        let m = Modulation::Pam4;
        // Strong feedback and noise: plenty of error bursts, some across block boundaries.
        let (s, y) = noisy_link(300_000, &[1.0, 0.7, 0.2], 0.1, 1);
        let dfe = Dfe::new(vec![0.7, 0.2], m.level_set(), m).unwrap();
        let seq = dfe.detect(&y);
        let errors = mismatches(&seq, &s).len();
        assert!(errors > 300, "the test needs errors: {errors}");
        for (block, warmup) in [(1000usize, 32usize), (4096, 64), (777, 16)] {
            let par = detect_blocks(&y, block, warmup, |b| dfe.detect(b)).unwrap();
            let diff = mismatches(&par, &seq);
            for &i in &diff {
                assert!(i % block < warmup && i >= block, "block {block} warmup {warmup}: mismatch at {i}");
            }
            assert!(diff.len() <= errors / 50, "{} mismatches for {errors} errors", diff.len());
        }
        // No overlap: the first symbols of each block start without feedback and may differ,
        // but only right after the boundary.
        let par = detect_blocks(&y, 1000, 0, |b| dfe.detect(b)).unwrap();
        for i in mismatches(&par, &seq) {
            assert!(i % 1000 < 64, "mismatch at {i}");
        }
        assert_eq!(dfe.detect_parallel(&y), detect_blocks(&y, DEFAULT_BLOCK, DEFAULT_WARMUP, |b| dfe.detect(b)).unwrap());
    }

    #[test]
    fn block_mlse_equals_sequential_outside_the_bound() {
        let m = Modulation::Pam4;
        let (s, y) = noisy_link(200_000, &[1.0, 0.5], 0.13, 2);
        for mlse in [
            Mlse::new(m, &[1.0, 0.5], &m.level_set()).unwrap(),
            Mlse::new(m, &[1.0, 0.5, 0.0], &m.level_set()).unwrap(),
            Mlse::from_table_with_noise(
                m,
                1,
                Mlse::new(m, &[1.0, 0.5], &m.level_set()).unwrap().expected().to_vec(),
                &(0..16).map(|i| 0.1 + 0.01 * i as f32).collect::<Vec<_>>(),
            )
            .unwrap(),
        ] {
            let seq = mlse.detect(&y);
            let errors = mismatches(&seq, &s).len();
            assert!(errors > 300, "the test needs errors: {errors}");
            for (block, warmup) in [(1000usize, 64usize), (5000, 128)] {
                let par = detect_blocks(&y, block, warmup, |b| mlse.detect(b)).unwrap();
                let diff = mismatches(&par, &seq);
                for &i in &diff {
                    let r = i % block;
                    assert!(r < warmup || block - r <= warmup, "block {block}: mismatch at {i}");
                }
                assert!(diff.len() <= errors / 50, "{} mismatches for {errors} errors", diff.len());
            }
            assert_eq!(mlse.detect_parallel(&y[..1000]), mlse.detect(&y[..1000]));
            // The paired (interleaved) runs equal the generic block runner exactly.
            for (block, warmup) in [(1000usize, 64usize), (999, 0), (4096, 256), (70_000, 100)] {
                assert_eq!(
                    mlse.detect_parallel_with(&y, block, warmup).unwrap(),
                    detect_blocks(&y, block, warmup, |b| mlse.detect(b)).unwrap(),
                    "block {block} warmup {warmup}"
                );
            }
        }
    }

    #[test]
    fn edges_and_errors() {
        let y: Vec<f32> = (0..10).map(|i| i as f32).collect();
        // Identity "detector" keeps positions: the stitching is exact for any block/warmup.
        let ident = |b: &[f32]| b.iter().map(|&v| v as u8).collect::<Vec<u8>>();
        for block in 1..12 {
            for warmup in [0, 1, 3, 20] {
                assert_eq!(detect_blocks(&y, block, warmup, ident).unwrap(), (0..10).collect::<Vec<u8>>());
            }
        }
        assert!(detect_blocks(&[], 4, 2, ident).unwrap().is_empty());
        assert!(matches!(detect_blocks(&y, 0, 2, ident), Err(Error::InvalidParameter { .. })));
        assert!(matches!(detect_blocks(&y, 4, 2, |_| vec![0u8; 1]), Err(Error::LengthMismatch { .. })));
    }
}
