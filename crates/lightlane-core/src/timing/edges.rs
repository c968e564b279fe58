//! Data edges: threshold crossings of the capture, with hysteresis and sub-sample timing.
//!
//! The clock recovery's phase detector needs edges whose crossing time does not depend on the
//! symbols around them. For NRZ every crossing of the decision threshold qualifies. For PAM4
//! only transitions that are symmetric about the threshold they cross do: between adjacent levels
//! through their midpoint (0↔1 at the lower threshold, 1↔2 at the centre, 2↔3 at the upper) and
//! the outer transitions 0↔3 through the centre threshold. A 0→2 edge, for instance, crosses
//! the lower threshold early and the centre threshold late, and is not used.

use super::interp::cubic_at;
use super::phase::cluster_levels;
use crate::{Error, Modulation, Result};

/// Most samples the level clustering looks at (evenly strided over the capture).
const CLUSTER_SAMPLES: usize = 1 << 15;

/// Amplitude model of the capture: level means, the thresholds between them, and the hysteresis.
#[derive(Debug, Clone)]
pub(crate) struct Levels {
    /// Level means, ascending.
    pub means: Vec<f32>,
    /// Thresholds halfway between adjacent means.
    pub thresholds: Vec<f32>,
    /// Half-width of the hysteresis band around each threshold, volts.
    pub hysteresis: f32,
}

impl Levels {
    /// Clusters a strided subset of `x` into the modulation's levels. Errors: a constant capture
    /// or levels that collapse ([`Error::Unusable`], stage "timing").
    pub fn estimate(x: &[f32], modulation: Modulation, hysteresis_fraction: f64) -> Result<Levels> {
        Self::estimate_with(x, modulation, hysteresis_fraction, None)
    }

    /// [`Levels::estimate`] that first rejects a non-finite sample ([`Error::NonFinite`] naming
    /// `what` and the first such index), checked in the same pass over `x` as the range.
    pub fn estimate_finite(x: &[f32], modulation: Modulation, hysteresis_fraction: f64, what: &'static str) -> Result<Levels> {
        Self::estimate_with(x, modulation, hysteresis_fraction, Some(what))
    }

    fn estimate_with(x: &[f32], modulation: Modulation, hysteresis_fraction: f64, finite: Option<&'static str>) -> Result<Levels> {
        use rayon::prelude::*;
        // min/max ignore NaN and are exact in any order, so the parallel fold is deterministic.
        // The same pass picks the clustering's strided subset (every `stride`-th sample from 0),
        // each chunk its own part while the chunk is in cache.
        const CHUNK: usize = 1 << 16;
        let stride = x.len().div_ceil(CLUSTER_SAMPLES).max(1);
        let parts: Vec<(f32, f32, bool, Vec<f32>)> = x
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let (lo, hi, bad) = range_and_finite(chunk);
                let first = (c * CHUNK).next_multiple_of(stride) - c * CHUNK;
                (lo, hi, bad, chunk.iter().skip(first).step_by(stride).copied().collect())
            })
            .collect();
        let (lo, hi, bad) = parts.iter().fold((f32::INFINITY, f32::NEG_INFINITY, false), |(a, b, p), (c, d, q, _)| (a.min(*c), b.max(*d), p | q));
        if let (Some(what), true) = (finite, bad) {
            crate::error::check_finite(what, x)?;
        }
        if x.is_empty() || lo >= hi {
            return Err(Error::Unusable {
                stage: "timing",
                reason: format!("the capture is constant ({lo} V): there are no transitions to recover a clock from"),
            });
        }
        let sub: Vec<f32> = parts.into_iter().flat_map(|p| p.3).collect();
        debug_assert_eq!(sub.len(), x.len().div_ceil(stride));
        let clusters = cluster_levels(&sub, modulation.levels())?;
        let means: Vec<f32> = clusters.means.iter().map(|&m| m as f32).collect();
        let spacing = means.windows(2).map(|w| w[1] - w[0]).fold(f32::INFINITY, f32::min);
        if spacing.is_nan() || spacing <= 1e-6 * (hi - lo) {
            return Err(Error::Unusable {
                stage: "timing",
                reason: format!("the capture does not separate into {} levels", modulation.levels()),
            });
        }
        Ok(Levels {
            thresholds: means.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect(),
            means,
            hysteresis: (hysteresis_fraction * spacing as f64) as f32,
        })
    }

    /// Symbol decision of one value.
    #[inline]
    pub fn decide(&self, v: f32) -> usize {
        self.thresholds.iter().filter(|&&t| v >= t).count()
    }
}

/// Smallest and largest non-NaN value of `x` (±∞ when there is none) and whether any value is
/// not finite: the fold of `f32::min` / `f32::max` / `is_finite` in 16 lanes, compared so that a
/// NaN never replaces the running value (as `f32::min` ignores NaN), so it vectorises.
fn range_and_finite(x: &[f32]) -> (f32, f32, bool) {
    const L: usize = 16;
    let (mut lo, mut hi, mut bad) = ([f32::INFINITY; L], [f32::NEG_INFINITY; L], [0u32; L]);
    let mut step = |k: usize, v: f32| {
        lo[k] = if v < lo[k] { v } else { lo[k] };
        hi[k] = if v > hi[k] { v } else { hi[k] };
        bad[k] |= (!v.is_finite()) as u32;
    };
    let mut chunks = x.chunks_exact(L);
    for c in &mut chunks {
        for (k, &v) in c.iter().enumerate() {
            step(k, v);
        }
    }
    for (k, &v) in chunks.remainder().iter().enumerate() {
        step(k, v);
    }
    (lo.iter().fold(f32::INFINITY, |a, &b| a.min(b)), hi.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)), bad.iter().any(|&b| b != 0))
}

/// The linear estimate of a crossing of `threshold` between `x[s]` and `x[s+1]` (fractional
/// sample index in `[s, s+1]`): where a PAM4 edge's symmetry is judged, before
/// [`refine_crossing`] times the edges that are kept.
#[inline]
fn linear_crossing(x: &[f32], s: usize, threshold: f32) -> f64 {
    let (p1, p2) = (x[s] as f64, x[(s + 1).min(x.len() - 1)] as f64);
    let denom = p2 - p1;
    s as f64 + if denom != 0.0 { ((threshold as f64 - p1) / denom).clamp(0.0, 1.0) } else { 0.5 }
}

/// Whether the crossing of threshold `j` near `t` is a data edge: always for NRZ; for PAM4 when
/// the decisions half a UI either side are symmetric about threshold `j` (see the module docs).
#[inline]
fn keep_edge(x: &[f32], levels: &Levels, modulation: Modulation, j: usize, t: f64, half_ui: f64) -> bool {
    match modulation {
        Modulation::Nrz => true,
        Modulation::Pam4 => {
            let a = levels.decide(cubic_at(x, t - half_ui));
            let b = levels.decide(cubic_at(x, t + half_ui));
            a != b && a + b == 2 * j + 1
        }
    }
}

/// Time (fractional sample index in `[s, s+1]`) where the Keys cubic through `x` crosses
/// `threshold`, given `x[s]` and `x[s+1]` on opposite sides (or on it): Newton steps from the
/// linear estimate, kept only when they stay in the interval and improve on it.
#[inline]
fn refine_crossing(x: &[f32], s: usize, threshold: f32) -> f64 {
    let n = x.len();
    let (p0, p1, p2, p3) = if s >= 1 && s + 2 < n {
        let w = &x[s - 1..s + 3];
        (w[0] as f64, w[1] as f64, w[2] as f64, w[3] as f64)
    } else {
        let at = |k: isize| x[k.clamp(0, n as isize - 1) as usize] as f64;
        let si = s as isize;
        (at(si - 1), at(si), at(si + 1), at(si + 2))
    };
    let th = threshold as f64;
    let denom = p2 - p1;
    let lin = if denom != 0.0 { ((th - p1) / denom).clamp(0.0, 1.0) } else { 0.5 };
    // Catmull-Rom in differences to p1 (as the simulator's interpolation).
    let (d0, d2, d3) = (p0 - p1, p2 - p1, p3 - p1);
    let c1 = 0.5 * (d2 - d0);
    let c2 = d0 + 2.0 * d2 - 0.5 * d3;
    let c3 = -1.5 * d2 + 0.5 * (d3 - d0);
    let f = |t: f64| p1 + t * (c1 + t * (c2 + t * c3)) - th;
    let df = |t: f64| c1 + t * (2.0 * c2 + 3.0 * c3 * t);
    let mut t = lin;
    // Two Newton steps: the linear start is within a few percent of a sample on band-limited
    // edges, and Newton converges quadratically from there.
    for _ in 0..2 {
        let d = df(t);
        if d == 0.0 || !d.is_finite() {
            break;
        }
        t -= f(t) / d;
        if !(0.0..=1.0).contains(&t) {
            t = lin;
            break;
        }
    }
    if f(t).abs() <= f(lin).abs() {
        s as f64 + t
    } else {
        s as f64 + lin
    }
}

/// Counts the crossings of every threshold (with hysteresis) without timing them.
pub(crate) fn count_transitions(x: &[f32], levels: &Levels) -> usize {
    let h = levels.hysteresis;
    levels
        .thresholds
        .iter()
        .map(|&th| {
            let (lo, hi) = (th - h, th + h);
            let mut state = 0i8; // 0 unknown, −1 low, +1 high
            let mut count = 0usize;
            for &v in x {
                if v > hi {
                    count += (state == -1) as usize;
                    state = 1;
                } else if v < lo {
                    count += (state == 1) as usize;
                    state = -1;
                }
            }
            count
        })
        .sum()
}

/// Data-edge times (fractional sample indices, ascending) for the phase detector; `samples_per_ui`
/// places the symbol decisions half a UI either side of a PAM4 crossing.
// The sequential reference of `data_edges_parallel` (tests compare the two).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn data_edges(x: &[f32], levels: &Levels, modulation: Modulation, samples_per_ui: f64) -> Vec<f64> {
    let h = levels.hysteresis;
    let mut edges = Vec::new();
    let half_ui = 0.5 * samples_per_ui;
    for (j, &th) in levels.thresholds.iter().enumerate() {
        let (lo, hi) = (th - h, th + h);
        let mut state = 0i8;
        // Last sample at or below / at or above the threshold.
        let (mut last_le, mut last_ge) = (0usize, 0usize);
        let start = edges.len();
        for (i, &v) in x.iter().enumerate() {
            if v <= th {
                last_le = i;
            }
            if v >= th {
                last_ge = i;
            }
            let crossing = if v > hi {
                let rising = state == -1;
                state = 1;
                rising.then_some(last_le)
            } else if v < lo {
                let falling = state == 1;
                state = -1;
                falling.then_some(last_ge)
            } else {
                None
            };
            if let Some(s) = crossing {
                if s + 1 > i {
                    continue;
                }
                if keep_edge(x, levels, modulation, j, linear_crossing(x, s, th), half_ui) {
                    edges.push(refine_crossing(x, s, th));
                }
            }
        }
        // Ascending (an edge beside a NaN sample, itself NaN, is not compared).
        debug_assert!(edges[start..].windows(2).all(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Greater)));
    }
    if levels.thresholds.len() > 1 {
        edges.sort_by(|a, b| a.total_cmp(b));
    }
    edges
}

/// Samples per block of [`data_edges_parallel`].
pub(crate) const EDGE_BLOCK: usize = 1 << 16;

/// Side of the hysteresis band (0 unknown, −1 low, +1 high) after the samples `x[range]`,
/// entering them at `state`: the last out-of-band sample decides, so the block is searched
/// backwards and the search usually stops within a few samples.
fn state_after(state: i8, x: &[f32], range: std::ops::Range<usize>, lo: f32, hi: f32) -> i8 {
    match x[range].iter().rev().find(|&&v| v > hi || v < lo) {
        Some(&v) => if v > hi { 1 } else { -1 },
        None => state,
    }
}

/// First index in `from..end` where `f` holds (`end` if none): eight samples at a time, the
/// test folded without branches so it vectorises, then the exact index.
#[inline]
fn find_first(x: &[f32], from: usize, end: usize, f: impl Fn(f32) -> bool) -> usize {
    let mut i = from;
    while i + 8 <= end && !x[i..i + 8].iter().fold(false, |a, &v| a | f(v)) {
        i += 8;
    }
    while i < end && !f(x[i]) {
        i += 1;
    }
    i
}

/// Last index before `i` where `f` holds, or 0 if none (the comparator's initial value).
#[inline]
fn last_before(x: &[f32], i: usize, f: impl Fn(f32) -> bool) -> usize {
    x[..i].iter().rposition(|&v| f(v)).unwrap_or(0)
}

/// [`data_edges`] with the comparator scan (the phase detector, the part of clock recovery that
/// touches every sample) split into blocks of [`EDGE_BLOCK`] samples on the rayon pool. Exactly
/// equal to [`data_edges`]: the comparator state entering each block is found first by a short
/// backward search per block and a sequential pass over the blocks, so every block scans from
/// the state the sequential scan has there.
pub(crate) fn data_edges_parallel(x: &[f32], levels: &Levels, modulation: Modulation, samples_per_ui: f64) -> Vec<f64> {
    data_edges_blocks(x, levels, modulation, samples_per_ui, EDGE_BLOCK)
}

/// [`data_edges_parallel`] with a chosen block length (≥ 1).
pub(crate) fn data_edges_blocks(x: &[f32], levels: &Levels, modulation: Modulation, samples_per_ui: f64, block: usize) -> Vec<f64> {
    use rayon::prelude::*;
    let block = block.max(1);
    let n = x.len();
    let blocks = n.div_ceil(block);
    let h = levels.hysteresis;
    let half_ui = 0.5 * samples_per_ui;
    let range = |b: usize| b * block..((b + 1) * block).min(n);
    let nt = levels.thresholds.len();
    // The comparator state entering every block, per threshold (`entry[b·nt + j]`).
    let mut entry = vec![0i8; blocks * nt];
    for (j, &th) in levels.thresholds.iter().enumerate() {
        let (lo, hi) = (th - h, th + h);
        let mut state = 0i8;
        for b in 0..blocks {
            entry[b * nt + j] = state;
            state = state_after(state, x, range(b), lo, hi);
        }
    }
    // Each block scans its samples once per threshold while they sit in cache (one pass over
    // the capture from memory for every threshold together). The scan jumps from one state
    // change to the next (the only samples where the sequential comparator can see a crossing)
    // and finds the last sample on the far side of the threshold by a backward search: the
    // sequential scan's `last_le` / `last_ge`.
    let parts: Vec<Vec<Vec<f64>>> = (0..blocks)
        .into_par_iter()
        .map(|b| {
            let (start, end) = (range(b).start, range(b).end);
            levels
                .thresholds
                .iter()
                .enumerate()
                .map(|(j, &th)| {
                    let (lo, hi) = (th - h, th + h);
                    let mut part = Vec::new();
                    let mut state = entry[b * nt + j];
                    let mut i = start;
                    while i < end {
                        i = match state {
                            -1 => find_first(x, i, end, |v| v > hi),
                            1 => find_first(x, i, end, |v| v < lo),
                            _ => find_first(x, i, end, |v| (v > hi) | (v < lo)),
                        };
                        if i == end {
                            break;
                        }
                        let rising = x[i] > hi;
                        let crossing = state == if rising { -1 } else { 1 };
                        state = if rising { 1 } else { -1 };
                        if crossing {
                            let s = if rising { last_before(x, i, |v| v <= th) } else { last_before(x, i, |v| v >= th) };
                            if s < i && keep_edge(x, levels, modulation, j, linear_crossing(x, s, th), half_ui) {
                                part.push(refine_crossing(x, s, th));
                            }
                        }
                        i += 1;
                    }
                    part
                })
                .collect()
        })
        .collect();
    // Per threshold, the edges of each block (ascending within a threshold).
    let mut lists: Vec<Vec<Vec<f64>>> = (0..nt).map(|_| Vec::with_capacity(blocks)).collect();
    for block_parts in parts {
        for (list, part) in lists.iter_mut().zip(block_parts) {
            list.push(part);
        }
    }
    let flat: Vec<Vec<f64>> = lists.into_iter().map(concat_parallel).collect();
    match <[Vec<f64>; 1]>::try_from(flat) {
        Ok([one]) => one,
        // Several thresholds: merged in value order (the sequential `sort_by` of `total_cmp`).
        Err(flat) => merge_sorted(&flat, blocks.max(1), block as f64),
    }
}

/// The parts laid end to end, copied in parallel.
fn concat_parallel(parts: Vec<Vec<f64>>) -> Vec<f64> {
    use rayon::prelude::*;
    let mut out = vec![0f64; parts.iter().map(Vec::len).sum()];
    let mut rest = &mut out[..];
    let mut jobs = Vec::with_capacity(parts.len());
    for p in &parts {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(p.len());
        rest = tail;
        jobs.push((head, p));
    }
    jobs.into_par_iter().for_each(|(dst, src)| dst.copy_from_slice(src));
    out
}

/// Merges ascending `lists` into one ascending list (ordered by `total_cmp`, so exactly what
/// sorting their concatenation gives), in parallel over `segments` value ranges of `width`
/// (the last one open-ended): each range's pieces of the lists merged into its place.
fn merge_sorted(lists: &[Vec<f64>], segments: usize, width: f64) -> Vec<f64> {
    use rayon::prelude::*;
    // Start of every range in every list.
    let bound = |b: usize, l: &Vec<f64>| if b == 0 { 0 } else if b >= segments { l.len() } else { l.partition_point(|&v| v < b as f64 * width) };
    let starts: Vec<Vec<usize>> = (0..=segments).map(|b| lists.iter().map(|l| bound(b, l)).collect()).collect();
    let mut out = vec![0f64; lists.iter().map(Vec::len).sum()];
    let mut rest = &mut out[..];
    let mut jobs = Vec::with_capacity(segments);
    for b in 0..segments {
        let pieces: Vec<&[f64]> = lists.iter().enumerate().map(|(t, l)| &l[starts[b][t]..starts[b + 1][t]]).collect();
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(pieces.iter().map(|p| p.len()).sum());
        rest = tail;
        jobs.push((head, pieces));
    }
    jobs.into_par_iter().for_each(|(dst, mut pieces)| {
        for d in dst.iter_mut() {
            // The smallest head (the earliest list on a tie: equal under `total_cmp` is equal).
            let mut best = usize::MAX;
            for (t, p) in pieces.iter().enumerate() {
                if let Some(v) = p.first() {
                    if best == usize::MAX || v.total_cmp(&pieces[best][0]).is_lt() {
                        best = t;
                    }
                }
            }
            *d = pieces[best][0];
            pieces[best] = &pieces[best][1..];
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nrz_edges_land_on_the_true_crossings() {
        // A sine crosses zero at known times; 7.3 samples per half period.
        let period = 14.6;
        let x: Vec<f32> = (0..2000).map(|i| (2.0 * std::f64::consts::PI * i as f64 / period).sin() as f32).collect();
        let levels = Levels::estimate(&x, Modulation::Nrz, 0.1).unwrap();
        let e = data_edges(&x, &levels, Modulation::Nrz, period / 2.0);
        assert!(e.len() > 250);
        let th = levels.thresholds[0] as f64;
        for &t in &e {
            // Nearest exact crossing of the threshold by the sine.
            let phase = (th.asin() / (2.0 * std::f64::consts::PI)) * period;
            let k = ((t - phase) / (period / 2.0)).round();
            let exact = if (k as i64) % 2 == 0 { phase + k * period / 2.0 } else { k * period / 2.0 - phase };
            assert!((t - exact).abs() < 0.01, "edge {t} vs {exact}");
        }
        assert_eq!(count_transitions(&x, &levels), e.len());
    }

    #[test]
    fn hysteresis_ignores_noise_about_the_threshold() {
        let mut x = vec![-1.0f32; 100];
        x.extend((0..50).map(|i| if i % 2 == 0 { 0.01 } else { -0.01 }));
        x.extend(vec![1.0f32; 100]);
        x.extend(vec![-1.0f32; 100]);
        let levels = Levels {
            means: vec![-1.0, 1.0],
            thresholds: vec![0.0],
            hysteresis: 0.1,
        };
        let e = data_edges(&x, &levels, Modulation::Nrz, 8.0);
        // One rising edge where the signal leaves the band (after the last sample below 0) and
        // one falling edge.
        assert_eq!(e.len(), 2, "{e:?}");
        assert!((e[0] - 149.01).abs() < 0.02 && (e[1] - 249.5).abs() < 0.01, "{e:?}");
        assert_eq!(count_transitions(&x, &levels), 2);
    }

    #[test]
    fn pam4_keeps_only_symmetric_transitions() {
        // Symbols held for 8 samples with linear 2-sample ramps; the sequence has every kind of
        // transition once.
        let syms = [0usize, 1, 2, 3, 0, 3, 1, 3, 2, 0, 2, 1, 0];
        let lv = [-3.0f32, -1.0, 1.0, 3.0];
        let mut x = Vec::new();
        for w in syms.windows(2) {
            x.extend(std::iter::repeat_n(lv[w[0]], 7));
            x.push(0.5 * (lv[w[0]] + lv[w[1]]));
        }
        x.extend(std::iter::repeat_n(lv[*syms.last().unwrap()], 8));
        let levels = Levels {
            means: lv.to_vec(),
            thresholds: vec![-2.0, 0.0, 2.0],
            hysteresis: 0.2,
        };
        let e = data_edges(&x, &levels, Modulation::Pam4, 8.0);
        // Symmetric: 0-1, 1-2, 2-3, 3-0, 0-3, 3-2, 2-1, 1-0 → 8 of the 12 transitions.
        let kept: Vec<usize> = e.iter().map(|t| (t / 8.0).floor() as usize).collect();
        assert_eq!(kept, vec![0, 1, 2, 3, 4, 7, 10, 11], "{e:?}");
        for &t in &e {
            assert!((t - (8.0 * (t / 8.0).floor() + 7.0)).abs() < 1e-9, "{t}");
        }
    }

    #[test]
    fn levels_cluster_the_strided_subset_of_the_whole_capture() {
        // The range pass gathers the clustering's subset chunk by chunk: the same samples as
        // striding over the whole capture (strides 1, 11 and 31; chunk edges off the stride).
        let mut s = 9u64;
        for n in [20_000usize, 65_536 * 5 + 123, 1_000_003] {
            let x: Vec<f32> = (0..n)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    [-3.0f32, -1.0, 1.0, 3.0][(s >> 62) as usize] + ((s >> 20) & 0xffff) as f32 / 65_536.0 - 0.5
                })
                .collect();
            let stride = n.div_ceil(CLUSTER_SAMPLES);
            let sub: Vec<f32> = x.iter().step_by(stride).copied().collect();
            let want = cluster_levels(&sub, 4).unwrap();
            let got = Levels::estimate(&x, Modulation::Pam4, 0.1).unwrap();
            let want_means: Vec<f32> = want.means.iter().map(|&m| m as f32).collect();
            assert_eq!(got.means, want_means, "n {n} stride {stride}");
        }
    }

    #[test]
    fn range_and_finite_is_the_ignoring_nan_fold() {
        let mut s = 3u64;
        for n in [0usize, 1, 15, 16, 17, 1000] {
            for special in [None, Some(f32::NAN), Some(f32::INFINITY), Some(f32::NEG_INFINITY)] {
                let mut x: Vec<f32> = (0..n)
                    .map(|_| {
                        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        (s >> 40) as f32 / 1e6 - 8.0
                    })
                    .collect();
                if let (Some(v), true) = (special, n > 0) {
                    x[n / 2] = v;
                }
                let want = x.iter().fold((f32::INFINITY, f32::NEG_INFINITY, false), |(a, b, bad), &v| (a.min(v), b.max(v), bad | !v.is_finite()));
                assert_eq!(range_and_finite(&x), want, "n {n} {special:?}");
            }
        }
        assert_eq!(range_and_finite(&[f32::NAN; 20]), (f32::INFINITY, f32::NEG_INFINITY, true));
    }

    #[test]
    fn constant_capture_is_unusable() {
        assert!(matches!(Levels::estimate(&[0.3; 100], Modulation::Nrz, 0.1), Err(Error::Unusable { .. })));
    }

    #[test]
    fn block_parallel_edges_equal_the_sequential_scan() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let cases = [(Modulation::Nrz, vec![-1.0f32, 1.0]), (Modulation::Pam4, vec![-3.0, -1.0, 1.0, 3.0])];
        // Starting at the lowest or the highest level: the comparators leave their unknown
        // state downwards or upwards.
        for ((m, lv), first) in cases.iter().flat_map(|c| [(c, 0), (c, c.1.len() - 1)]) {
            let m = *m;
            // Random symbols at 3.7 samples per UI with noise, and long flat stretches right on
            // a threshold (inside the hysteresis band) that straddle block boundaries.
            let spu = 3.7;
            let mut x = Vec::new();
            let mut level = lv[first];
            while x.len() < 60_000 {
                if rng.random_range(0..400u32) == 0 {
                    let k = rng.random_range(0..lv.len() - 1);
                    let th = 0.5 * (lv[k] + lv[k + 1]);
                    x.extend(std::iter::repeat_n(th, rng.random_range(1..300usize)));
                }
                let next = lv[rng.random_range(0..lv.len())];
                let k0 = x.len();
                while (x.len() as f64) < (k0 as f64 + spu) {
                    let f = (x.len() - k0) as f32 / spu as f32;
                    x.push(level + (next - level) * f.min(1.0) + rng.random_range(-0.15f32..0.15));
                }
                level = next;
            }
            let levels = Levels::estimate(&x, m, 0.1).unwrap();
            // A few NaN samples, which no comparator takes as a side.
            for _ in 0..20 {
                let k = rng.random_range(0..x.len());
                x[k] = f32::NAN;
            }
            // (Bit patterns: an edge beside a NaN sample is NaN in both.)
            let bits = |e: Vec<f64>| e.into_iter().map(f64::to_bits).collect::<Vec<_>>();
            let want = bits(data_edges(&x, &levels, m, spu));
            assert!(want.len() > 3000, "{m}: {} edges", want.len());
            for block in [1usize, 7, 100, 999, 4096, 100_000] {
                assert_eq!(bits(data_edges_blocks(&x, &levels, m, spu, block)), want, "{m} block {block}");
            }
            assert_eq!(bits(data_edges_parallel(&x, &levels, m, spu)), want);
        }
        let levels = Levels { means: vec![-1.0, 1.0], thresholds: vec![0.0], hysteresis: 0.1 };
        assert!(data_edges_blocks(&[], &levels, Modulation::Nrz, 4.0, 16).is_empty());
    }

    #[test]
    fn parallel_merge_equals_sorting_the_concatenation() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (lists_n, len, segments, width) in [(3usize, 5_000usize, 37usize, 100.0), (2, 10, 1, 1.0), (3, 0, 4, 10.0), (4, 3_000, 1000, 0.5)] {
            // Values on a coarse grid, so the lists share values, some lists empty or short.
            let lists: Vec<Vec<f64>> = (0..lists_n)
                .map(|t| {
                    let mut l: Vec<f64> = (0..len / (t + 1)).map(|_| rng.random_range(0..4000u32) as f64 * 0.25).collect();
                    l.sort_by(f64::total_cmp);
                    l
                })
                .collect();
            let mut want: Vec<f64> = lists.concat();
            want.sort_by(f64::total_cmp);
            assert_eq!(merge_sorted(&lists, segments, width), want, "{lists_n} lists, {segments} segments of {width}");
        }
        assert_eq!(concat_parallel(vec![vec![1.0, 2.0], vec![], vec![3.0]]), vec![1.0, 2.0, 3.0]);
    }
}
