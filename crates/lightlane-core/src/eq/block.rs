//! Block parallelism for sequential detectors (DFE, MLSE): the input is cut into blocks that are
//! detected independently, each with `warmup` symbols of overlap on both sides — interleaved in
//! the SIMD lanes of one thread (`detect_interleaved`: 16 DFE or 8 Viterbi runs in lockstep, which
//! breaks the decision-feedback / add-compare-select dependency chain of a single run) and
//! spread over the rayon pool (`detect_parallel`). [`detect_blocks`] is the naive runner; the
//! interleaved and parallel detectors return exactly its result, tested.
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

/// Default symbols per block of [`Dfe::detect_parallel`] and [`Mlse::detect_parallel`] (and of
/// their single-thread `detect_interleaved`): short enough that a capture of a few hundred
/// thousand symbols fills every SIMD lane, long enough that the overlap costs a few percent.
pub const DEFAULT_BLOCK: usize = 8192;
/// Default overlap of [`Dfe::detect_parallel`] and [`Mlse::detect_parallel`].
pub const DEFAULT_WARMUP: usize = 256;

/// Runs the sequential detector `f` on overlapping blocks of `y` in parallel and stitches the
/// owned parts (see the module docs). `f` must return one decision per input value. This is
/// the naive block runner: the interleaved detectors ([`Dfe::detect_interleaved`],
/// [`Mlse::detect_interleaved`]) are tested to return exactly its result.
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

/// Reusable buffers of one worker of the interleaved block runner.
#[derive(Default)]
pub(crate) struct LaneScratch {
    pub(crate) bytes: Vec<u8>,
    pub(crate) words: Vec<u32>,
}

/// A sequential detector that can also run a group of equal-length windows at once, one per
/// SIMD lane (the windows' dependency chains are independent, so the lanes break the
/// decision-feedback / add-compare-select chain of a single run).
pub(crate) trait LaneDetector: Sync {
    /// Windows per group.
    const LANES: usize;
    /// Decisions of `count ≤ LANES` windows of `len` values, window `j` being
    /// `y[j·stride..j·stride + len]`; writes decisions `[skip, skip + keep)` of window `j` to
    /// `out[j·keep..(j + 1)·keep]`. Must equal the sequential detector on each window.
    #[allow(clippy::too_many_arguments)]
    fn detect_group(&self, y: &[f32], stride: usize, count: usize, len: usize, skip: usize, keep: usize, out: &mut [u8], scratch: &mut LaneScratch);
    /// The sequential detector on one window.
    fn detect_window(&self, y: &[f32], out: &mut [u8]);
    /// What the decisions are called in errors ("DFE decisions").
    const DECISIONS: &'static str;

    /// The sequential detector on all of `y`, one decision per value (the detectors' `detect`).
    fn detect_all(&self, y: &[f32]) -> Vec<u8> {
        let mut out = vec![0u8; y.len()];
        self.detect_window(y, &mut out);
        out
    }

    /// [`LaneDetector::detect_all`] into `out` (the detectors' `detect_into`);
    /// [`Error::LengthMismatch`] unless the lengths agree.
    fn detect_all_into(&self, y: &[f32], out: &mut [u8]) -> Result<()> {
        if out.len() != y.len() {
            return Err(Error::LengthMismatch {
                what: Self::DECISIONS,
                expected: y.len(),
                got: out.len(),
            });
        }
        self.detect_window(y, out);
        Ok(())
    }
}

/// One unit of work of [`run_lanes`]: a lone block, or `count` consecutive full-window blocks.
#[derive(Clone, Copy)]
enum Task {
    Single(usize),
    Group(usize, usize),
}

/// Block runner over lanes: block `b` owns `[b·B, (b+1)·B)` and its detector sees
/// `[b·B − lead, (b+1)·B + trail)` clipped to the input, exactly as [`detect_blocks`] with
/// `warmup = lead = trail` (a causal detector such as the DFE may pass `trail = 0`: its owned
/// decisions do not depend on later inputs). Blocks whose window is not clipped run in groups of
/// `D::LANES` on one thread; the others (at most the first `⌈lead/B⌉` and the last one or
/// two) run alone. With `parallel`, tasks go to the rayon pool.
pub(crate) fn run_lanes<D: LaneDetector>(
    d: &D,
    y: &[f32],
    out: &mut [u8],
    block: usize,
    lead: usize,
    trail: usize,
    parallel: bool,
) -> Result<()> {
    if block == 0 {
        return Err(Error::invalid("block", 0, "must be at least 1 symbol"));
    }
    if out.len() != y.len() {
        return Err(Error::LengthMismatch {
            what: "block detector decisions",
            expected: y.len(),
            got: out.len(),
        });
    }
    let n = y.len();
    let blocks = n.div_ceil(block);
    // Full windows: b·B ≥ lead and (b+1)·B + trail ≤ n. The SIMD kernels address lanes with
    // 32-bit offsets, so a group's span must fit one.
    let len = lead.saturating_add(block).saturating_add(trail);
    let span_fits = D::LANES.saturating_mul(block).saturating_add(len) < i32::MAX as usize;
    let first_full = lead.div_ceil(block).min(blocks);
    let end_full = if span_fits && n >= trail.saturating_add(block) { ((n - trail) / block).max(first_full) } else { first_full };
    let mut tasks: Vec<(Task, &mut [u8])> = Vec::new();
    let mut rest = out;
    fn take<'a>(rest: &mut &'a mut [u8], len: usize) -> &'a mut [u8] {
        let (head, tail) = std::mem::take(rest).split_at_mut(len);
        *rest = tail;
        head
    }
    for b in 0..first_full {
        let owned = block.min(n - b * block);
        tasks.push((Task::Single(b), take(&mut rest, owned)));
    }
    let mut b = first_full;
    while b < end_full {
        let count = D::LANES.min(end_full - b);
        let task = if count == 1 { Task::Single(b) } else { Task::Group(b, count) };
        tasks.push((task, take(&mut rest, count * block)));
        b += count;
    }
    for b in end_full..blocks {
        let owned = block.min(n - b * block);
        tasks.push((Task::Single(b), take(&mut rest, owned)));
    }
    let run = |scratch: &mut LaneScratch, (task, owned): (Task, &mut [u8])| match task {
        Task::Single(b) => {
            let start = b * block;
            let lo = start.saturating_sub(lead);
            let hi = (start + owned.len()).saturating_add(trail).min(n);
            let decisions = &mut scratch.bytes;
            decisions.clear();
            decisions.resize(hi - lo, 0);
            d.detect_window(&y[lo..hi], decisions);
            owned.copy_from_slice(&decisions[start - lo..start - lo + owned.len()]);
        }
        Task::Group(b, count) => {
            let lo = b * block - lead;
            d.detect_group(&y[lo..], block, count, len, lead, block, owned, scratch);
        }
    };
    if parallel {
        tasks.into_par_iter().for_each_init(LaneScratch::default, run);
    } else {
        let mut scratch = LaneScratch::default();
        tasks.into_iter().for_each(|t| run(&mut scratch, t));
    }
    Ok(())
}

impl Dfe {
    /// [`Dfe::detect`] on blocks of [`DEFAULT_BLOCK`] symbols with [`DEFAULT_WARMUP`] overlap,
    /// interleaved in SIMD lanes ([`Dfe::detect_interleaved_with`]) and spread over the rayon
    /// pool. Equal to `detect_blocks(y, DEFAULT_BLOCK, DEFAULT_WARMUP, |b| self.detect(b))`
    /// (see [`detect_blocks`] for the bound on differences from the sequential run).
    pub fn detect_parallel(&self, y: &[f32]) -> Vec<u8> {
        let mut out = vec![0u8; y.len()];
        run_lanes(self, y, &mut out, DEFAULT_BLOCK, DEFAULT_WARMUP, 0, true).expect("positive block, sized output");
        out
    }

    /// Single-thread block detection with [`DEFAULT_BLOCK`] and [`DEFAULT_WARMUP`]: 16
    /// consecutive blocks run interleaved, one per SIMD lane (AVX2; one block after the other
    /// without it). Equal to `detect_blocks(y, DEFAULT_BLOCK, DEFAULT_WARMUP, |b| self.detect(b))`.
    pub fn detect_interleaved(&self, y: &[f32]) -> Vec<u8> {
        let mut out = vec![0u8; y.len()];
        self.detect_interleaved_with(y, &mut out, DEFAULT_BLOCK, DEFAULT_WARMUP).expect("positive block, sized output");
        out
    }

    /// [`Dfe::detect_interleaved`] with a chosen block size and overlap, into `out`; equal to
    /// `detect_blocks(y, block, warmup, |b| self.detect(b))`.
    /// Errors: `block == 0` ([`Error::InvalidParameter`]), `out.len() != y.len()`
    /// ([`Error::LengthMismatch`]).
    pub fn detect_interleaved_with(&self, y: &[f32], out: &mut [u8], block: usize, warmup: usize) -> Result<()> {
        run_lanes(self, y, out, block, warmup, 0, false)
    }
}

impl Mlse {
    /// [`Mlse::detect`] on blocks of [`DEFAULT_BLOCK`] symbols with [`DEFAULT_WARMUP`] overlap,
    /// interleaved in SIMD lanes ([`Mlse::detect_interleaved_with`]) and spread over the rayon
    /// pool. Equal to
    /// `detect_blocks(y, DEFAULT_BLOCK, DEFAULT_WARMUP, |b| self.detect(b))`.
    pub fn detect_parallel(&self, y: &[f32]) -> Vec<u8> {
        self.detect_parallel_with(y, DEFAULT_BLOCK, DEFAULT_WARMUP)
            .expect("default block size is positive")
    }

    /// [`Mlse::detect_parallel`] with a chosen block size and overlap; equal to
    /// `detect_blocks(y, block, warmup, |b| self.detect(b))`.
    /// [`Error::InvalidParameter`] for `block == 0`.
    pub fn detect_parallel_with(&self, y: &[f32], block: usize, warmup: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; y.len()];
        run_lanes(self, y, &mut out, block, warmup, warmup, true)?;
        Ok(out)
    }

    /// Single-thread block detection with [`DEFAULT_BLOCK`] and [`DEFAULT_WARMUP`]: 8
    /// consecutive blocks run interleaved, one per AVX2 lane (every trellis: PAM4 4/16 states,
    /// NRZ 2/4 states, with or without per-pattern noise); without AVX2 the 4-state PAM4 blocks
    /// run two at a time in SSE2 and the others one after the other. Equal to
    /// `detect_blocks(y, DEFAULT_BLOCK, DEFAULT_WARMUP, |b| self.detect(b))`.
    pub fn detect_interleaved(&self, y: &[f32]) -> Vec<u8> {
        let mut out = vec![0u8; y.len()];
        self.detect_interleaved_with(y, &mut out, DEFAULT_BLOCK, DEFAULT_WARMUP).expect("positive block, sized output");
        out
    }

    /// [`Mlse::detect_interleaved`] with a chosen block size and overlap, into `out`; equal to
    /// `detect_blocks(y, block, warmup, |b| self.detect(b))`.
    /// Errors: `block == 0` ([`Error::InvalidParameter`]), `out.len() != y.len()`
    /// ([`Error::LengthMismatch`]).
    pub fn detect_interleaved_with(&self, y: &[f32], out: &mut [u8], block: usize, warmup: usize) -> Result<()> {
        run_lanes(self, y, out, block, warmup, warmup, false)
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
        for (h, sigma) in [(vec![1.0f32, 0.7], 0.12), (vec![1.0, 0.7, 0.2], 0.1), (vec![1.0, 0.6, 0.25, 0.1, -0.05], 0.12)] {
            let (s, y) = noisy_link(300_000, &h, sigma, 1);
            let dfe = Dfe::new(h[1..].to_vec(), m.level_set(), m).unwrap();
            let seq = dfe.detect(&y);
            let errors = mismatches(&seq, &s).len();
            assert!(errors > 300, "the test needs errors: {errors}");
            for (block, warmup) in [(1000usize, 32usize), (4096, 64), (777, 16)] {
                let mut par = vec![0u8; y.len()];
                dfe.detect_interleaved_with(&y, &mut par, block, warmup).unwrap();
                let diff = mismatches(&par, &seq);
                for &i in &diff {
                    assert!(i % block < warmup && i >= block, "{} taps, block {block} warmup {warmup}: mismatch at {i}", h.len() - 1);
                }
                assert!(diff.len() <= errors / 50, "{} mismatches for {errors} errors", diff.len());
            }
        }
        let (_, y) = noisy_link(300_000, &[1.0, 0.7, 0.2], 0.1, 1);
        let dfe = Dfe::new(vec![0.7, 0.2], m.level_set(), m).unwrap();
        let seq = dfe.detect(&y);
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
                let mut par = vec![0u8; y.len()];
                mlse.detect_interleaved_with(&y, &mut par, block, warmup).unwrap();
                let diff = mismatches(&par, &seq);
                for &i in &diff {
                    let r = i % block;
                    assert!(r < warmup || block - r <= warmup, "block {block}: mismatch at {i}");
                }
                assert!(diff.len() <= errors / 50, "{} mismatches for {errors} errors", diff.len());
            }
            assert_eq!(mlse.detect_parallel(&y[..1000]), mlse.detect(&y[..1000]));
            // The interleaved runs equal the generic block runner exactly, and so stay within
            // the bound above.
            for (block, warmup) in [(1000usize, 64usize), (999, 0), (4096, 256), (70_000, 100)] {
                assert_eq!(
                    mlse.detect_parallel_with(&y, block, warmup).unwrap(),
                    detect_blocks(&y, block, warmup, |b| mlse.detect(b)).unwrap(),
                    "block {block} warmup {warmup}"
                );
            }
        }
    }

    /// Inputs with every kind of value the detectors must agree on: noise, outliers, NaN, ±∞.
    fn rough_input(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| match rng.random_range(0..1000u32) {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => f32::NEG_INFINITY,
                3 => 0.0,
                _ => rng.random_range(-1.6f32..1.6),
            })
            .collect()
    }

    #[test]
    fn interleaved_dfe_equals_the_block_runner_exactly() {
        println!("AVX2 lane kernel in use: {}", crate::simd::avx2());
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for m in [Modulation::Pam4, Modulation::Nrz] {
            for nt in [1usize, 2, 3, 4, 8, 32] {
                let taps: Vec<f32> = (0..nt).map(|i| rng.random_range(-0.6f32..0.6) / (1 + i) as f32).collect();
                let dfe = Dfe::new(taps, m.level_set(), m).unwrap();
                // Lengths hitting: no full block, one group, a partial last group, clipped ends.
                for (n, block, warmup) in [(50usize, 16usize, 8usize), (3000, 100, 40), (20_011, 500, 64), (9000, 64, 300), (70_000, 1000, 0)] {
                    let y = rough_input(n, (n + nt) as u64);
                    let want = detect_blocks(&y, block, warmup, |b| dfe.detect(b)).unwrap();
                    let mut got = vec![9u8; n];
                    dfe.detect_interleaved_with(&y, &mut got, block, warmup).unwrap();
                    assert_eq!(got, want, "{m} {nt} taps, n {n} block {block} warmup {warmup}");
                }
            }
        }
        let y = rough_input(300_000, 3);
        let dfe = Dfe::new(vec![0.4, -0.1], Modulation::Pam4.level_set(), Modulation::Pam4).unwrap();
        let want = detect_blocks(&y, DEFAULT_BLOCK, DEFAULT_WARMUP, |b| dfe.detect(b)).unwrap();
        assert_eq!(dfe.detect_interleaved(&y), want);
        assert_eq!(dfe.detect_parallel(&y), want);
        assert!(matches!(dfe.detect_interleaved_with(&y, &mut [0u8; 3], 10, 1), Err(Error::LengthMismatch { .. })));
        assert!(matches!(dfe.detect_interleaved_with(&y, &mut vec![0u8; y.len()], 0, 1), Err(Error::InvalidParameter { .. })));
    }

    #[test]
    fn interleaved_mlse_equals_the_block_runner_exactly() {
        let m = Modulation::Pam4;
        let four = Mlse::new(m, &[1.0, 0.5], &m.level_set()).unwrap();
        let weighted = Mlse::from_table_with_noise(m, 1, four.expected().to_vec(), &(0..16).map(|i| 0.1 + 0.01 * i as f32).collect::<Vec<_>>()).unwrap();
        // A short traceback exercises the traceback points inside the windows.
        let short_tb = Mlse::new(m, &[1.0, 0.4], &m.level_set()).unwrap().with_traceback(300, 40).unwrap();
        let sixteen = Mlse::new(m, &[1.0, 0.5, 0.2], &m.level_set()).unwrap();
        let sixteen_weighted = Mlse::from_table_with_noise(m, 2, sixteen.expected().to_vec(), &(0..64).map(|i| 0.1 + 0.002 * i as f32).collect::<Vec<_>>()).unwrap();
        let sixteen_short_tb = Mlse::new(m, &[1.0, 0.3, -0.1], &m.level_set()).unwrap().with_traceback(200, 30).unwrap();
        let nrz = Mlse::new(Modulation::Nrz, &[1.0, 0.5], &Modulation::Nrz.level_set()).unwrap();
        let nrz_mem2 = Mlse::new(Modulation::Nrz, &[1.0, 0.5, 0.2], &Modulation::Nrz.level_set()).unwrap().with_traceback(300, 40).unwrap();
        let nrz_weighted = Mlse::from_table_with_noise(Modulation::Nrz, 1, nrz.expected().to_vec(), &[0.1, 0.2, 0.15, 0.12]).unwrap();
        for mlse in [&four, &weighted, &short_tb, &sixteen, &sixteen_weighted, &sixteen_short_tb, &nrz, &nrz_mem2, &nrz_weighted] {
            for (n, block, warmup) in [(50usize, 16usize, 8usize), (5000, 200, 40), (30_011, 1000, 64), (20_000, 64, 300), (40_000, 999, 0)] {
                let y = rough_input(n, n as u64 + mlse.states() as u64);
                let want = detect_blocks(&y, block, warmup, |b| mlse.detect(b)).unwrap();
                let mut got = vec![9u8; n];
                mlse.detect_interleaved_with(&y, &mut got, block, warmup).unwrap();
                assert_eq!(got, want, "{} states, n {n} block {block} warmup {warmup}", mlse.states());
                assert_eq!(mlse.detect_parallel_with(&y, block, warmup).unwrap(), want);
            }
        }
        let y = rough_input(200_000, 5);
        let want = detect_blocks(&y, DEFAULT_BLOCK, DEFAULT_WARMUP, |b| four.detect(b)).unwrap();
        assert_eq!(four.detect_interleaved(&y), want);
        assert_eq!(four.detect_parallel(&y), want);
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
