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
///
/// A cluster's sums (of values and of squares, in f64) add its values in sorted order within
/// each [`SUM_GROUP`] of the sorted values, each group's part from zero, and the parts in order
/// ([`group_sums`]): a fixed grouping, so the result does not depend on the thread count, and
/// a group wholly inside a cluster has the same part in every iteration.
///
/// The values are sorted, so every cluster is a contiguous run, found by bisection. The sums
/// of the whole groups are taken once, on the pool; an iteration adds those of its runs and
/// sums only the partial groups at the runs' ends: the same sums, means and result as the
/// element-by-element walk of [`cluster_levels_reference`] (no per-element cluster search or
/// indexed updates, and no pass over the values per iteration). An iteration whose runs equal
/// the previous one's would repeat its sums exactly, so the loop stops there. Input with NaN
/// takes the reference path.
///
/// Long inputs (at least [`PARALLEL_SORT_VALUES`]) are copied and sorted entirely on the thread
/// pool ([`sorted_by_total_order`]); the sorted order is unique, so the result does not depend
/// on how or where they are sorted.
pub fn cluster_levels(x: &[f32], levels: usize) -> Result<LevelClusters> {
    check_cluster_input(x, levels)?;
    let sorted = sorted_by_total_order(x, PARALLEL_SORT_VALUES);
    let n = sorted.len();
    // `total_cmp` puts NaN (of either sign) at the ends, so these two tell whether there is any.
    if sorted[0].is_nan() || sorted[n - 1].is_nan() {
        return cluster_levels_reference(x, levels);
    }
    let mut means: Vec<f64> = (0..levels).map(|i| sorted[((2 * i + 1) * n / (2 * levels)).min(n - 1)] as f64).collect();
    let mut sums = vec![0f64; levels];
    let mut sq = vec![0f64; levels];
    let mut counts = vec![0u64; levels];
    let mut runs = vec![0usize; levels + 1];
    let mut previous: Option<Vec<usize>> = None;
    let whole = whole_group_sums(&sorted);
    for _ in 0..12 {
        let thresholds: Vec<f64> = means.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        // Cluster c holds sorted[runs[c]..runs[c + 1]]: the reference's walk moves on from
        // cluster c at the first value at or above threshold c (values ascend, no NaN).
        runs[levels] = n;
        for c in 1..levels {
            let from = runs[c - 1];
            // Negated `>=`, not `<`: a NaN threshold (infinite input) moves on nowhere, as in the walk.
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            let below = |&v: &f32| !((v as f64) >= thresholds[c - 1]);
            runs[c] = from + sorted[from..].partition_point(below);
        }
        if previous.as_deref() == Some(&runs[..]) {
            break;
        }
        // Each cluster's sums by group: the whole groups' from the table, the partial ones
        // at the ends of its run summed here.
        for c in 0..levels {
            (sums[c], sq[c]) = run_group_sums(&sorted, &whole, runs[c]..runs[c + 1]);
            counts[c] = (runs[c + 1] - runs[c]) as u64;
        }
        previous = Some(runs.clone());
        if !update_means(&mut means, &sums, &counts) {
            break;
        }
    }
    if n >= PARALLEL_SORT_VALUES {
        crate::par::free_on_pool(sorted);
    }
    Ok(finish_clusters(means, &sums, &sq, counts))
}

/// Sorted values per group of a level cluster's sums ([`cluster_levels`]).
const SUM_GROUP: usize = 4096;

/// Sum and sum of squares (f64) of `v` in order from zero: one group's part of a cluster's sums.
#[inline]
fn group_sums(v: &[f32]) -> (f64, f64) {
    let (mut s1, mut s2) = (0f64, 0f64);
    for &v in v {
        let v = v as f64;
        s1 += v;
        s2 += v * v;
    }
    (s1, s2)
}

/// [`group_sums`] of every whole [`SUM_GROUP`] of `sorted`, on the pool.
fn whole_group_sums(sorted: &[f32]) -> Vec<(f64, f64)> {
    use rayon::prelude::*;
    sorted.par_chunks_exact(SUM_GROUP).with_min_len(16).map(group_sums).collect()
}

/// A cluster's sums over `sorted[run]`: the parts of the groups the run meets, in order from
/// zero, each whole group's from `whole` ([`whole_group_sums`]).
fn run_group_sums(sorted: &[f32], whole: &[(f64, f64)], run: std::ops::Range<usize>) -> (f64, f64) {
    let (mut s1, mut s2) = (0f64, 0f64);
    let mut i = run.start;
    while i < run.end {
        let g = i / SUM_GROUP;
        let end = ((g + 1) * SUM_GROUP).min(run.end);
        let (p1, p2) = if i == g * SUM_GROUP && end - i == SUM_GROUP { whole[g] } else { group_sums(&sorted[i..end]) };
        s1 += p1;
        s2 += p2;
        i = end;
    }
    (s1, s2)
}

/// Values from which [`cluster_levels`] sorts with [`sample_sort_total_order`] on the pool
/// instead of rayon's quicksort, which partitions the whole slice on the calling thread before
/// it splits (and whose merge sort does twice the work). The sample sort's buckets are
/// radix-sorted, so it wins on one core too: 0.90 against 1.71 ms for 2^16 noisy PAM4
/// values, 9.1 against 25.8 ms for 870 k (a 4 M-sample capture's symbols); at 2^14 on two
/// threads the quicksort still led (0.17 against 0.22 ms).
const PARALLEL_SORT_VALUES: usize = 1 << 16;

/// `x` sorted ascending under [`f32::total_cmp`]: below `parallel_from` values by rayon's
/// quicksort, from there on by [`sample_sort_total_order`]. Values equal under `total_cmp` have
/// the same bits, so every sort gives the same vector.
fn sorted_by_total_order(x: &[f32], parallel_from: usize) -> Vec<f32> {
    use rayon::prelude::*;
    if x.len() < parallel_from {
        let mut sorted = x.to_vec();
        sorted.par_sort_unstable_by(|a, b| a.total_cmp(b));
        return sorted;
    }
    sample_sort_total_order(x, SORT_BLOCK)
}

/// Buckets of [`sample_sort_total_order`] (fixed: the work split does not follow the thread
/// count, and the result does not depend on it anyway).
const SORT_BUCKETS: usize = 64;
// The bucket ids are bytes, and `bucket_by_halving` halves a power of two down to 1.
const _: () = assert!(SORT_BUCKETS.is_power_of_two() && SORT_BUCKETS <= 256);
/// Sample keys per bucket from which the splitters are picked.
const SORT_OVERSAMPLE: usize = 16;
/// Values per classification task of [`sample_sort_total_order`].
const SORT_BLOCK: usize = 1 << 16;

/// The key of `v` whose unsigned order is [`f32::total_cmp`]'s (the integer map `total_cmp`
/// compares by, offset to unsigned).
#[inline]
fn total_order_key(v: f32) -> u32 {
    let b = v.to_bits();
    b ^ ((((b as i32) >> 31) as u32) >> 1) ^ 0x8000_0000
}

/// Inverse of [`total_order_key`].
#[inline]
fn from_total_order_key(k: u32) -> f32 {
    let b = k ^ 0x8000_0000;
    f32::from_bits(b ^ ((((b as i32) >> 31) as u32) >> 1))
}

/// Sorts `x` under [`f32::total_cmp`] entirely on the pool: splitters from a sorted sample of
/// the keys cut the key range into [`SORT_BUCKETS`] buckets; blocks of `block` values are
/// classified and grouped by bucket in parallel; each bucket gathers its pieces (in block
/// order) and is sorted by its own task. The calling thread only sorts the sample and lays out
/// the buckets. The sorted order is unique, so this is the serial sort's vector.
fn sample_sort_total_order(x: &[f32], block: usize) -> Vec<f32> {
    use rayon::prelude::*;
    let n = x.len();
    let sample_len = (SORT_BUCKETS * SORT_OVERSAMPLE).min(n);
    let mut sample: Vec<u32> = (0..sample_len).map(|i| total_order_key(x[i * n / sample_len.max(1)])).collect();
    sample.sort_unstable();
    let splitters: Vec<u32> = (1..SORT_BUCKETS).filter_map(|b| sample.get(b * SORT_OVERSAMPLE).copied()).collect();
    let buckets = splitters.len() + 1;
    // A full set of splitters: the branch-free search (the same bucket as `partition_point`).
    let full: Option<&[u32; SORT_BUCKETS - 1]> = splitters.as_slice().try_into().ok();
    let bucket_of = |key: u32| match full {
        Some(sp) => bucket_by_halving(sp, key),
        None => splitters.partition_point(|&s| s <= key),
    };
    // Per block: its keys grouped by bucket (a counting sort by bucket) and the group sizes.
    let grouped: Vec<(Vec<u32>, Vec<usize>)> = x
        .par_chunks(block)
        .map(|c| {
            let mut counts = vec![0usize; buckets];
            let ids: Vec<u8> = c
                .iter()
                .map(|&v| {
                    let id = bucket_of(total_order_key(v));
                    counts[id] += 1;
                    id as u8
                })
                .collect();
            let mut next: Vec<usize> = counts.iter().scan(0, |acc, &c| Some(std::mem::replace(acc, *acc + c))).collect();
            let mut keys = vec![0u32; c.len()];
            for (&v, &id) in c.iter().zip(&ids) {
                keys[next[id as usize]] = total_order_key(v);
                next[id as usize] += 1;
            }
            (keys, counts)
        })
        .collect();
    // Disjoint output slices, one per bucket, then every bucket filled and sorted on the pool.
    // Zeroed on the pool: a calloc the heap cannot serve from fresh pages is a 14 MB memset.
    let mut sorted: Vec<u32> = (0..n).into_par_iter().with_min_len(block).map(|_| 0).collect();
    let mut slots: Vec<(usize, &mut [u32])> = Vec::with_capacity(buckets);
    let mut rest: &mut [u32] = &mut sorted;
    for b in 0..buckets {
        let size: usize = grouped.iter().map(|(_, counts)| counts[b]).sum();
        let (slot, tail) = rest.split_at_mut(size);
        slots.push((b, slot));
        rest = tail;
    }
    slots.into_par_iter().for_each_init(Vec::new, |scratch, (b, slot)| {
        let mut at = 0;
        for (keys, counts) in &grouped {
            let from: usize = counts[..b].iter().sum();
            slot[at..at + counts[b]].copy_from_slice(&keys[from..from + counts[b]]);
            at += counts[b];
        }
        radix_sort_keys(slot, scratch);
    });
    let values = sorted.par_iter().with_min_len(block).map(|&k| from_total_order_key(k)).collect();
    crate::par::free_on_pool((sorted, grouped));
    values
}

/// The number of `splitters` (ascending) at or below `key`, i.e. `partition_point(|&s| s <= key)`,
/// by six halvings without branches (a sample sort's bucket: the binary search's branches
/// mispredict on every other value of noisy data).
#[inline]
fn bucket_by_halving(splitters: &[u32; SORT_BUCKETS - 1], key: u32) -> usize {
    let mut i = 0;
    let mut step = SORT_BUCKETS / 2;
    while step > 0 {
        // splitters[..i] are all ≤ key; so are the next `step` when the last of them is.
        i += step * (splitters[i + step - 1] <= key) as usize;
        step /= 2;
    }
    i
}

/// Keys from which [`radix_sort_keys`] sorts by bytes (below, `sort_unstable`).
const RADIX_MIN_KEYS: usize = 256;

/// An unsigned key that [`radix_sort_keys`] sorts by its bytes (u32 or u64).
pub(crate) trait RadixKey: Copy + Ord + Default + Into<u64> {
    /// Bytes in the key.
    const BYTES: usize;
}

impl RadixKey for u32 {
    const BYTES: usize = 4;
}

impl RadixKey for u64 {
    const BYTES: usize = 8;
}

/// Byte `d` (0 the least significant) of `k`.
#[inline]
fn key_byte<K: RadixKey>(k: K, d: usize) -> usize {
    ((k.into() >> (8 * d)) & 0xff) as usize
}

/// Sorts `keys` ascending: a least-significant-digit radix sort by bytes through `scratch`,
/// skipping every byte that all keys share (a sample-sort bucket's keys share their high
/// bits; values in a narrow range share their exponent). Below [`RADIX_MIN_KEYS`] keys,
/// `sort_unstable`. Sorted order is unique, so the result is `sort_unstable`'s.
pub(crate) fn radix_sort_keys<K: RadixKey>(keys: &mut [K], scratch: &mut Vec<K>) {
    let n = keys.len();
    if n < RADIX_MIN_KEYS {
        keys.sort_unstable();
        return;
    }
    let mut hist = vec![[0usize; 256]; K::BYTES];
    for &k in keys.iter() {
        for (d, h) in hist.iter_mut().enumerate() {
            h[key_byte(k, d)] += 1;
        }
    }
    scratch.clear();
    scratch.resize(n, K::default());
    let mut in_keys = true;
    for (d, h) in hist.iter().enumerate() {
        if h.contains(&n) {
            continue;
        }
        let mut next = [0usize; 256];
        let mut at = 0;
        for (o, &c) in next.iter_mut().zip(h) {
            *o = at;
            at += c;
        }
        let mut scatter = |src: &[K], dst: &mut [K]| {
            for &k in src {
                let b = key_byte(k, d);
                dst[next[b]] = k;
                next[b] += 1;
            }
        };
        if in_keys {
            scatter(keys, scratch);
        } else {
            scatter(scratch, keys);
        }
        in_keys = !in_keys;
    }
    if !in_keys {
        keys.copy_from_slice(scratch);
    }
}

fn check_cluster_input(x: &[f32], levels: usize) -> Result<()> {
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
    Ok(())
}

/// The means of the clusters with members; whether any moved by more than 1e-9 (relative).
fn update_means(means: &mut [f64], sums: &[f64], counts: &[u64]) -> bool {
    let mut changed = false;
    for i in 0..means.len() {
        if counts[i] > 0 {
            let m = sums[i] / counts[i] as f64;
            changed |= (m - means[i]).abs() > 1e-9 * (1.0 + m.abs());
            means[i] = m;
        }
    }
    changed
}

fn finish_clusters(means: Vec<f64>, sums: &[f64], sq: &[f64], counts: Vec<u64>) -> LevelClusters {
    let levels = means.len();
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
    LevelClusters { means, sigmas, counts, separation }
}

/// The element-by-element Lloyd iterations over the sorted values, each cluster's sums taken
/// by [`SUM_GROUP`] as [`cluster_levels`] defines them: its reference (and its path for input
/// with NaN).
pub(crate) fn cluster_levels_reference(x: &[f32], levels: usize) -> Result<LevelClusters> {
    check_cluster_input(x, levels)?;
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
        // x is sorted: each cluster is a contiguous run. Its sums add the values in order
        // within each SUM_GROUP of the sorted values, each group's part from zero, the parts
        // added to the cluster's sums as the walk leaves the group or the cluster.
        let mut c = 0usize;
        let (mut p1, mut p2, mut in_part) = (0f64, 0f64, 0usize);
        for (i, &v) in sorted.iter().enumerate() {
            let v = v as f64;
            let from = c;
            while c < levels - 1 && v >= thresholds[c] {
                c += 1;
            }
            if in_part > 0 && (c != from || i % SUM_GROUP == 0) {
                sums[from] += p1;
                sq[from] += p2;
                (p1, p2, in_part) = (0.0, 0.0, 0);
            }
            p1 += v;
            p2 += v * v;
            in_part += 1;
            counts[c] += 1;
        }
        if in_part > 0 {
            sums[c] += p1;
            sq[c] += p2;
        }
        if !update_means(&mut means, &sums, &counts) {
            break;
        }
    }
    Ok(finish_clusters(means, &sums, &sq, counts))
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

    /// Random values: Gaussian clusters around `levels` levels with `spread`, plus extremes.
    fn noisy_levels(n: usize, levels: usize, spread: f32, seed: u64) -> Vec<f32> {
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32
        };
        (0..n)
            .map(|_| {
                let l = ((next() * levels as f32) as usize).min(levels - 1) as f32;
                let g = (0..4).map(|_| next()).sum::<f32>() - 2.0;
                l + spread * g
            })
            .collect()
    }

    #[test]
    fn clusters_equal_the_element_by_element_reference() {
        let mut cases: Vec<(Vec<f32>, usize)> = Vec::new();
        for (seed, (levels, spread)) in [(2usize, 0.1f32), (4, 0.05), (4, 0.3), (4, 0.6), (8, 0.2), (3, 1.5)].into_iter().enumerate() {
            for n in [32usize * levels, 1000, 65_537] {
                cases.push((noisy_levels(n, levels, spread, seed as u64 + n as u64), levels));
            }
        }
        // Unequal clusters, a constant run, infinities, and all-equal input.
        let mut skewed = noisy_levels(20_000, 4, 0.05, 9);
        skewed.iter_mut().take(15_000).for_each(|v| *v = v.min(0.2));
        cases.push((skewed, 4));
        let mut inf = noisy_levels(5_000, 4, 0.1, 10);
        inf[7] = f32::INFINITY;
        inf[99] = f32::NEG_INFINITY;
        cases.push((inf, 4));
        cases.push((vec![0.25; 400], 4));
        // +∞ and −∞ in one cluster: an infinite or NaN mean, so NaN thresholds.
        let mut both = noisy_levels(3_000, 2, 0.1, 12);
        both[1] = f32::INFINITY;
        both[2] = f32::NEG_INFINITY;
        both.extend([f32::INFINITY; 40]);
        cases.push((both, 2));
        for (x, levels) in &cases {
            let (a, b) = (cluster_levels(x, *levels).unwrap(), cluster_levels_reference(x, *levels).unwrap());
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!((bits(&a.means), bits(&a.sigmas), &a.counts), (bits(&b.means), bits(&b.sigmas), &b.counts), "{} values, {levels} levels", x.len());
            assert_eq!(a.separation.to_bits(), b.separation.to_bits());
        }
        // NaN takes the reference path (same result, no panic).
        let mut nan = noisy_levels(1_000, 4, 0.1, 11);
        nan[5] = f32::NAN;
        assert_eq!(format!("{:?}", cluster_levels(&nan, 4)), format!("{:?}", cluster_levels_reference(&nan, 4)));
        assert!(cluster_levels(&[1.0; 10], 4).is_err() && cluster_levels(&[1.0; 100], 1).is_err());
    }

    #[test]
    fn radix_sort_and_halving_search_equal_sort_and_partition_point() {
        let mut s = 3u64;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 32) as u32
        };
        let (mut scratch, mut scratch64) = (Vec::new(), Vec::new());
        // Sizes around the radix threshold; keys spread over all bits, sharing their high bytes
        // (a bucket's), sharing their low byte, with many ties, and all equal.
        for n in [0usize, 1, RADIX_MIN_KEYS - 1, RADIX_MIN_KEYS, RADIX_MIN_KEYS + 1, 5000, 70_001] {
            let spread: Vec<u32> = (0..n).map(|_| next()).collect();
            let kinds: [Vec<u32>; 5] = [
                spread.clone(),
                spread.iter().map(|k| 0x3f80_0000 | (k & 0x000f_ffff)).collect(),
                spread.iter().map(|k| k & 0xffff_ff00).collect(),
                spread.iter().map(|k| k % 7).collect(),
                vec![0xdead_beef; n],
            ];
            for (kind, keys) in kinds.iter().enumerate() {
                let mut want = keys.clone();
                want.sort_unstable();
                let mut got = keys.clone();
                radix_sort_keys(&mut got, &mut scratch);
                assert_eq!(got, want, "n = {n}, kind {kind}");
                // The same keys as the high and as the low half of 64-bit keys (the others'
                // bytes all shared, or spread).
                for (half, wide) in [(32, spread.clone()), (0, vec![0x0123_4567; n])] {
                    let keys64: Vec<u64> = keys.iter().zip(&wide).map(|(&k, &w)| (k as u64) << half | (w as u64) << (32 - half)).collect();
                    let mut want64 = keys64.clone();
                    want64.sort_unstable();
                    let mut got64 = keys64.clone();
                    radix_sort_keys(&mut got64, &mut scratch64);
                    assert_eq!(got64, want64, "n = {n}, kind {kind}, 64-bit keys, high half at {half}");
                }
            }
        }
        // The bucket of every key (splitters with ties, keys at, between and beyond them).
        let mut splitters: Vec<u32> = (0..SORT_BUCKETS - 1).map(|_| next() >> 4).collect();
        splitters.sort_unstable();
        splitters[10] = splitters[9];
        splitters[40] = splitters[41];
        let sp: &[u32; SORT_BUCKETS - 1] = splitters.as_slice().try_into().unwrap();
        let keys = splitters.iter().flat_map(|&k| [k.saturating_sub(1), k, k + 1]).chain([0, u32::MAX]).chain((0..10_000).map(|_| next()));
        for key in keys {
            assert_eq!(bucket_by_halving(sp, key), splitters.partition_point(|&s| s <= key), "key {key}");
        }
    }

    #[test]
    fn parallel_sort_equals_the_serial_sort_around_its_threshold() {
        let from = 4096;
        let mut x = noisy_levels(3 * from + 77, 4, 0.3, 21);
        // Ties, signed zeros, infinities and NaN of both signs.
        x[10] = -0.0;
        x[11] = 0.0;
        x[12] = f32::INFINITY;
        x[13] = f32::NEG_INFINITY;
        x[14] = f32::NAN;
        x[15] = -f32::NAN;
        x[16] = x[17];
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for n in [0, 1, from - 1, from, from + 1, 3 * from + 77] {
            let mut want = x[..n].to_vec();
            want.sort_by(|a, b| a.total_cmp(b));
            assert_eq!(bits(&sorted_by_total_order(&x[..n], from)), bits(&want), "n = {n}");
            // The sample sort itself at every size, with blocks of 1000 (a ragged last one).
            assert_eq!(bits(&sample_sort_total_order(&x[..n], 1000)), bits(&want), "n = {n}");
        }
        // Heavy ties (fewer distinct values than buckets; one value filling most buckets),
        // and keys that round-trip.
        let ties: Vec<f32> = (0..20_000).map(|k| [0.5f32, -0.25, 0.5, 0.5, 1.0][k % 5]).collect();
        let mut want = ties.clone();
        want.sort_by(|a, b| a.total_cmp(b));
        assert_eq!(bits(&sample_sort_total_order(&ties, 1000)), bits(&want));
        for v in [0.0f32, -0.0, 1.5, -1.5, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::MIN_POSITIVE, -f32::MAX] {
            assert_eq!(from_total_order_key(total_order_key(v)).to_bits(), v.to_bits());
            for w in [0.0f32, -0.0, 2.0, -3.0, f32::NAN, -f32::NAN, f32::INFINITY] {
                assert_eq!(total_order_key(v).cmp(&total_order_key(w)), v.total_cmp(&w), "{v} vs {w}");
            }
        }
    }

    #[test]
    fn long_inputs_cluster_as_the_reference() {
        // Above the parallel-sort threshold, with a NaN (reference path) and without.
        let mut x = noisy_levels(PARALLEL_SORT_VALUES + 1234, 4, 0.2, 33);
        let (a, b) = (cluster_levels(&x, 4).unwrap(), cluster_levels_reference(&x, 4).unwrap());
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!((bits(&a.means), bits(&a.sigmas), &a.counts), (bits(&b.means), bits(&b.sigmas), &b.counts));
        assert_eq!(a.separation.to_bits(), b.separation.to_bits());
        x[PARALLEL_SORT_VALUES / 2] = -f32::NAN;
        assert_eq!(format!("{:?}", cluster_levels(&x, 4)), format!("{:?}", cluster_levels_reference(&x, 4)));
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
