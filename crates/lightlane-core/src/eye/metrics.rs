//! Level and eye metrics of an [`EyeSignal`], each defined as in the 802.3 clause it cites
//! (see `shared/reference/standards.md` §4–§5 for the sources and their confidence).

use super::{EyeDiagram, EyeSignal};
use crate::eq::lsq::Cholesky;
use crate::stats::{q_function, q_inverse};
use crate::timing::phase::radix_sort_keys;
use crate::{Modulation, Result};
use rayon::prelude::*;
use std::ops::Range;
use serde::{Deserialize, Serialize};

/// Symbols per chunk of the parallel passes over the eye signal. Fixed, so that every sum is
/// combined in the same order whatever the thread count (the results do not depend on it).
const CHUNK_SYMBOLS: usize = 4096;
/// Samples per chunk of the parallel passes over the raw samples (crossings, P_ave); fixed, as
/// [`CHUNK_SYMBOLS`].
const CHUNK_SAMPLES: usize = 1 << 17;

/// Parameters of the eye metrics; defaults are the standards' values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EyeMetricsConfig {
    /// Target (detector) error ratio of eye height and width: DER₀ = 1e-5, the 802.3ck Annex 120G
    /// C2M value (COM config sheet; standards.md §5.2).
    pub target_ber: f64,
    /// Half width of the time window around the sampling instant whose samples form the eye
    /// height histograms, UI: T_O = 0.05 UI (802.3ck Annex 120G, COM config; standards.md §5.2).
    pub eh_window_ui: f64,
    /// Pre-cursor taps of the linear fit for SNDR (Annex 120D.3.1.6 fits the pulse response).
    pub sndr_precursors: usize,
    /// Post-cursor taps of the SNDR linear fit.
    pub sndr_postcursors: usize,
}

impl Default for EyeMetricsConfig {
    fn default() -> Self {
        EyeMetricsConfig { target_ber: 1e-5, eh_window_ui: 0.05, sndr_precursors: 2, sndr_postcursors: 13 }
    }
}

/// Horizontal statistics of one sub-eye's threshold crossings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossingStats {
    /// Threshold crossings found.
    pub count: usize,
    /// Crossings per UI (transition density ρ).
    pub density: f64,
    /// Crossing time offsets from the nominal UI boundary, UI, sorted (in [−0.5, 0.5)).
    #[serde(skip)]
    pub offsets: Vec<f64>,
    /// Dual-Dirac fit of the tail that reaches into the eye from the left boundary: (μ, σ), UI.
    pub left_boundary_fit: (f64, f64),
    /// Dual-Dirac fit of the tail that reaches into the eye from the right boundary (relative
    /// to the boundary at 1 UI): (μ, σ), UI.
    pub right_boundary_fit: (f64, f64),
}

/// Level and eye metrics of one signal. Values that a degenerate eye leaves undefined are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EyeMetrics {
    /// Level means at the sampling instant, ascending.
    pub levels: Vec<f64>,
    /// Standard deviation of each level at the sampling instant.
    pub level_sigma: Vec<f64>,
    /// RLM per 802.3 Annex 120D.3.1.2: min(3·ES1, 3·ES2, 2 − 3·ES1, 2 − 3·ES2) (PAM4 only).
    pub rlm: Option<f64>,
    /// RLM per Clause 94 (Keysight "RLMC94"): 3·min(V1−V0, V2−V1, V3−V2)/(V3−V0) (PAM4 only).
    pub rlm_cl94: Option<f64>,
    /// Per sub-eye height at `target_ber`, Gaussian extrapolation of each level over the
    /// T_s ± T_O window (802.3ck Annex 120G). Negative when closed.
    pub eye_heights: Vec<f64>,
    /// Per sub-eye height measured from the samples at probability `max(target_ber, 1/n)`.
    pub eye_heights_measured: Vec<f64>,
    /// Per sub-eye width at `target_ber`, dual-Dirac extrapolation of the crossing tails, UI
    /// (`None` without crossings).
    pub eye_widths: Vec<Option<f64>>,
    /// Per sub-eye width measured from the crossings (extreme crossings inward), UI.
    pub eye_widths_measured: Vec<Option<f64>>,
    /// Horizontal centre of each sub-eye's opening minus the mean of all centres, UI.
    pub eye_skew_ui: Vec<Option<f64>>,
    /// Vertical eye closure, 802.3ck Annex 120G: max over sub-eyes of 20·log10(level spacing /
    /// eye height), dB; `None` when an eye is closed.
    pub vec_db: Option<f64>,
    /// SNDR per Annex 120D.3.1.6: 10·log10(p_max² / σ_e²) from a linear fit of the symbol-centre
    /// samples to the decided symbols (σ_n is folded into the residual σ_e).
    pub sndr_db: Option<f64>,
    /// Outer OMA, 802.3 121.8.4: P3 − P0 from the central 2 UI of runs of ≥7 top / ≥6 bottom
    /// symbols (level means when the signal has no such runs).
    pub oma_outer: f64,
    /// Outer extinction ratio 10·log10(P3/P0), dB (optical signals with P0 > 0).
    pub er_db: Option<f64>,
    /// Mean of the signal (P_ave).
    pub p_ave: f64,
    /// Crossing statistics of each sub-eye.
    pub crossings: Vec<CrossingStats>,
    /// Things the user should know about these numbers.
    pub warnings: Vec<String>,
}

/// Decision region of `v` given ascending thresholds.
#[inline]
pub(crate) fn region(v: f64, thresholds: &[f64]) -> usize {
    thresholds.partition_point(|&t| t <= v)
}

/// [`region`] against fixed `thresholds`, for a pass over many values: for ascending
/// thresholds (none NaN) the count of thresholds at or below the value, the same partition
/// point without its branches; else `region` itself.
pub(crate) fn region_of(thresholds: &[f64]) -> impl Fn(f64) -> usize + '_ {
    let ascending = thresholds.windows(2).all(|w| w[0] <= w[1]) && !thresholds.iter().any(|t| t.is_nan());
    move |v| if ascending { thresholds.iter().map(|&t| (t <= v) as usize).sum() } else { region(v, thresholds) }
}

/// Samples of `signal` whose time lies within `half_window_ui` of a symbol centre.
pub(crate) fn window_samples(signal: &EyeSignal, centre_ui: f64, half_window_ui: f64) -> Vec<f32> {
    let s = signal.samples_per_ui;
    let idx = window_indices(s, centre_ui, half_window_ui);
    signal.samples.chunks_exact(s).flat_map(|c| idx.iter().map(move |&i| c[i])).collect()
}

/// Indices within a UI of `s` samples whose time lies within `half_window_ui` of `centre_ui`
/// (the centre sample when none does).
pub(crate) fn window_indices(s: usize, centre_ui: f64, half_window_ui: f64) -> Vec<usize> {
    let idx: Vec<usize> = (0..s).filter(|&i| ((i as f64 / s as f64) - centre_ui).abs() <= half_window_ui + 1e-9).collect();
    if idx.is_empty() {
        vec![s / 2]
    } else {
        idx
    }
}

/// The level groups of the eye-height window ([`window_samples`] split at `thresholds` as by
/// [`split_levels`]), kept per fixed chunk of symbols: chunk `c`'s samples of level `g`, in
/// signal order, are `parts[c].level(g)` (concatenating the chunks gives `split_levels`'
/// groups). One parallel pass; the moments and quantiles are read without concatenating or
/// sorting.
pub(crate) struct LevelParts {
    parts: Vec<ChunkLevels>,
    counts: Vec<usize>,
}

/// One chunk's window samples grouped by level ([`LevelParts`]): level `g`'s samples, in signal
/// order, are `values[starts[g]..starts[g + 1]]`.
struct ChunkLevels {
    values: Vec<f64>,
    starts: Vec<usize>,
}

impl ChunkLevels {
    /// Groups samples `idx` of every stride-`s` symbol of `c` (whole symbols) by level: each
    /// sample is gathered once with its region, then placed from that copy by a counting sort
    /// (no per-sample growth of a group, no second read of `c` at its stride).
    fn split(c: &[f32], s: usize, idx: &[usize], thresholds: &[f64]) -> Self {
        let groups = thresholds.len() + 1;
        let region = region_of(thresholds);
        let n = c.len() / s * idx.len();
        let mut window: Vec<f32> = Vec::with_capacity(n);
        let mut regions: Vec<u32> = Vec::with_capacity(n);
        let mut counts = vec![0usize; groups];
        for sym in c.chunks_exact(s) {
            for &i in idx {
                let r = region(sym[i] as f64);
                counts[r] += 1;
                window.push(sym[i]);
                regions.push(r as u32);
            }
        }
        let mut starts = Vec::with_capacity(groups + 1);
        starts.push(0);
        for g in 0..groups {
            starts.push(starts[g] + counts[g]);
        }
        let mut next = starts[..groups].to_vec();
        let mut values = vec![0f64; n];
        for (&v, &r) in window.iter().zip(&regions) {
            let at = &mut next[r as usize];
            values[*at] = v as f64;
            *at += 1;
        }
        ChunkLevels { values, starts }
    }

    fn level(&self, g: usize) -> &[f64] {
        &self.values[self.starts[g]..self.starts[g + 1]]
    }

    fn level_mut(&mut self, g: usize) -> &mut [f64] {
        &mut self.values[self.starts[g]..self.starts[g + 1]]
    }
}

impl LevelParts {
    /// Splits the window samples of `signal` (see [`window_samples`]) at `thresholds`.
    pub(crate) fn new(signal: &EyeSignal, centre_ui: f64, half_window_ui: f64, thresholds: &[f64]) -> Self {
        let s = signal.samples_per_ui;
        let idx = window_indices(s, centre_ui, half_window_ui);
        let whole = signal.symbols() * s;
        Self::split(&signal.samples[..whole], s, &idx, thresholds)
    }

    /// From the window's columns alone: `columns` holds, symbol-major, the `ncols` samples of
    /// the eye-height window ([`window_indices`], in that order) of every whole symbol; the
    /// same parts as [`new`](Self::new) of the signal they were taken from.
    pub(crate) fn from_columns(columns: &[f32], ncols: usize, thresholds: &[f64]) -> Self {
        let ncols = ncols.max(1);
        let idx: Vec<usize> = (0..ncols).collect();
        Self::split(&columns[..columns.len() / ncols * ncols], ncols, &idx, thresholds)
    }

    /// Splits samples `idx` of every stride-`s` symbol of `x` (whole symbols), in chunks of
    /// [`CHUNK_SYMBOLS`] symbols.
    fn split(x: &[f32], s: usize, idx: &[usize], thresholds: &[f64]) -> Self {
        let groups = thresholds.len() + 1;
        let parts: Vec<ChunkLevels> = x.par_chunks(CHUNK_SYMBOLS * s).map(|c| ChunkLevels::split(c, s, idx, thresholds)).collect();
        let counts = (0..groups).map(|g| parts.iter().map(|p| p.level(g).len()).sum()).collect();
        LevelParts { parts, counts }
    }

    /// Samples of level `g`.
    pub(crate) fn len(&self, g: usize) -> usize {
        self.counts[g]
    }

    /// (mean, σ) of level `g` as [`mean_std`] of its group (NaN when empty); the sums run per
    /// chunk and are combined in chunk order (so they differ from `mean_std`'s in the last
    /// bits only, and not with the thread count).
    pub(crate) fn mean_std(&self, g: usize) -> (f64, f64) {
        let n = self.counts[g];
        if n == 0 {
            return (f64::NAN, f64::NAN);
        }
        let sums: Vec<f64> = self.parts.par_iter().map(|p| p.level(g).iter().sum::<f64>()).collect();
        let m = sums.iter().sum::<f64>() / n as f64;
        let sq: Vec<f64> = self.parts.par_iter().map(|p| p.level(g).iter().map(|x| (x - m) * (x - m)).sum::<f64>()).collect();
        let var = sq.iter().sum::<f64>() / n as f64;
        (m, var.sqrt())
    }

    /// [`quantile`] of level `g`'s group at `p` (as if sorted by `total_cmp`): exact, by
    /// selection (reorders the chunks' samples of that level; `g` must not be empty).
    pub(crate) fn quantile(&mut self, g: usize, p: f64) -> f64 {
        let n = self.counts[g];
        let k = ((p * n as f64).floor() as usize).min(n - 1);
        let mut parts: Vec<&mut [f64]> = self.parts.iter_mut().map(|p| p.level_mut(g)).collect();
        select_kth(&mut parts, n, k)
    }
}

/// The `k`-th smallest (0-based, by `total_cmp`) of the union of `parts` (`n` values in all):
/// each part keeps its `k + 1` smallest (or, for `k` in the upper half, its `n − k` largest),
/// which must contain the answer, by selection in parallel; one more selection on their union.
fn select_kth(parts: &mut [&mut [f64]], n: usize, k: usize) -> f64 {
    let low = k < n / 2;
    let keep = if low { k + 1 } else { n - k };
    let mut union: Vec<f64> = parts
        .par_iter_mut()
        .map(|p| {
            let len = p.len();
            if keep >= len {
                return p.to_vec();
            }
            if low {
                p.select_nth_unstable_by(keep - 1, f64::total_cmp);
                p[..keep].to_vec()
            } else {
                p.select_nth_unstable_by(len - keep, f64::total_cmp);
                p[len - keep..].to_vec()
            }
        })
        .flatten_iter()
        .collect();
    let u = union.len();
    let at = if low { k } else { u - (n - k) };
    *union.select_nth_unstable_by(at, f64::total_cmp).1
}

/// Per-level sample groups of `x` split at `thresholds`.
pub(crate) fn split_levels(x: &[f32], thresholds: &[f64]) -> Vec<Vec<f64>> {
    let mut groups = vec![Vec::new(); thresholds.len() + 1];
    for &v in x {
        groups[region(v as f64, thresholds)].push(v as f64);
    }
    groups
}

pub(crate) fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64;
    (m, var.sqrt())
}

/// Quantile of sorted `v` at probability `p` (nearest rank): the reference of
/// [`LevelParts::quantile`].
#[cfg(test)]
pub(crate) fn quantile(v: &[f64], p: f64) -> f64 {
    let i = ((p * v.len() as f64).floor() as usize).min(v.len() - 1);
    v[i]
}

/// Least-squares fit `x = μ + σ·z` of the tail of sorted `v` on the Q scale (the dual-Dirac
/// tail fit): `upper` picks the upper tail. Points with tail probability in
/// `[max(5/n, 1e-7), 0.05]` are used; fewer than 8 such points fall back to mean/σ.
pub(crate) fn tail_fit(v: &[f64], upper: bool) -> (f64, f64) {
    let n = v.len();
    // Mean and σ only where the fit falls back to them (two passes over all of `v`).
    let fallback = || mean_std(v);
    if n < 200 {
        return fallback();
    }
    let p_lo = (5.0 / n as f64).max(1e-7);
    let (mut sz, mut sx, mut szz, mut szx, mut k) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let lo_rank = (p_lo * n as f64).ceil() as usize;
    let hi_rank = (0.05 * n as f64) as usize;
    let step = ((hi_rank - lo_rank.min(hi_rank)) / 400).max(1);
    let mut r = lo_rank;
    while r <= hi_rank {
        let p = r as f64 / n as f64;
        let z = q_inverse(p);
        let x = if upper { v[n - r] } else { -v[r - 1] };
        sz += z;
        sx += x;
        szz += z * z;
        szx += z * x;
        k += 1.0;
        r += step;
    }
    if k < 8.0 {
        return fallback();
    }
    let den = k * szz - sz * sz;
    if den.abs() < 1e-30 {
        return fallback();
    }
    let sigma = (k * szx - sz * sx) / den;
    let mu = (sx - sigma * sz) / k;
    if !(sigma.is_finite() && sigma >= 0.0) {
        return fallback();
    }
    (if upper { mu } else { -mu }, sigma)
}

/// Threshold crossings of `signal` at `threshold`, as offsets from the nearest UI boundary
/// (linear interpolation between samples), sorted.
pub(crate) fn crossings(signal: &EyeSignal, threshold: f64) -> Vec<f64> {
    crossing_pass(signal, &[threshold]).0.pop().unwrap_or_default()
}

/// Samples per block of threshold masks in [`crossing_pass`].
const MASK_BLOCK: usize = 2048;

/// `out[i]` = bit j set where `x[i] − ts[j] < 0` (in f32, the crossing test of
/// [`crossings_reference`]); `ts.len() ≤ 64`. Unrolled for one to three thresholds (NRZ,
/// PAM4) so that it vectorizes.
fn threshold_masks(x: &[f32], ts: &[f32], out: &mut [u64]) {
    let below = |v: f32, t: f32| ((v - t) < 0.0) as u64;
    match *ts {
        [a] => out.iter_mut().zip(x).for_each(|(o, &v)| *o = below(v, a)),
        [a, b] => out.iter_mut().zip(x).for_each(|(o, &v)| *o = below(v, a) | below(v, b) << 1),
        [a, b, c] => out.iter_mut().zip(x).for_each(|(o, &v)| *o = below(v, a) | below(v, b) << 1 | below(v, c) << 2),
        _ => out.iter_mut().zip(x).for_each(|(o, &v)| *o = ts.iter().enumerate().fold(0u64, |m, (j, &t)| m | below(v, t) << j)),
    }
}

/// Sum of `x` in f64 over 8 interleaved lanes (lane `i mod 8`), combined in lane order.
fn sum_f64(x: &[f32]) -> f64 {
    let mut lanes = [0f64; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += v as f64;
        }
    }
    for (l, &v) in lanes.iter_mut().zip(it.remainder()) {
        *l += v as f64;
    }
    lanes.iter().sum()
}

/// Naive reference of [`crossings`] (the serial scan and full sort it replaces).
#[cfg(test)]
pub(crate) fn crossings_reference(signal: &EyeSignal, threshold: f64) -> Vec<f64> {
    let s = signal.samples_per_ui as f64;
    let t = threshold as f32;
    let mut out = Vec::new();
    for (k, w) in signal.samples.windows(2).enumerate() {
        let (a, b) = (w[0] - t, w[1] - t);
        if (a < 0.0) != (b < 0.0) {
            let frac = a as f64 / (a as f64 - b as f64);
            let time_ui = (k as f64 + frac) / s;
            let mut e = time_ui - time_ui.round();
            if e >= 0.5 {
                e -= 1.0;
            }
            out.push(e);
        }
    }
    out.sort_by(f64::total_cmp);
    out
}

/// The crossings of every threshold (each as [`crossings`]: sorted offsets, the same values)
/// and the sum of all samples in f64 (for P_ave), in one parallel pass over fixed chunks of
/// sample pairs; the per-chunk crossing lists are joined in order and sorted in parallel.
pub(crate) fn crossing_pass(signal: &EyeSignal, thresholds: &[f64]) -> (Vec<Vec<f64>>, f64) {
    let x = &signal.samples;
    let s = signal.samples_per_ui as f64;
    let nt = thresholds.len();
    if x.is_empty() {
        return (vec![Vec::new(); nt], 0.0);
    }
    let pairs = x.len() - 1;
    let ts: Vec<f32> = thresholds.iter().map(|&t| t as f32).collect();
    // Bit j of the mask: sample − t_j < 0 (the reference's test, in f32); up to 64 thresholds
    // per mask word.
    let words = nt.div_ceil(64).max(1);
    let chunks = pairs.div_ceil(CHUNK_SAMPLES);
    let parts: Vec<(Vec<Vec<f64>>, f64)> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let (k0, k1) = (c * CHUNK_SAMPLES, ((c + 1) * CHUNK_SAMPLES).min(pairs));
            let mut out = vec![Vec::new(); nt];
            let mut masks = vec![0u64; MASK_BLOCK + 1];
            for w in 0..words {
                let tw = &ts[64 * w..(64 * w + 64).min(nt)];
                let mut k = k0;
                while k < k1 {
                    let e = (k + MASK_BLOCK).min(k1);
                    let masks = &mut masks[..e - k + 1];
                    threshold_masks(&x[k..=e], tw, masks);
                    for (i, m) in masks.windows(2).enumerate() {
                        let mut diff = m[0] ^ m[1];
                        while diff != 0 {
                            let j = 64 * w + diff.trailing_zeros() as usize;
                            diff &= diff - 1;
                            let kk = k + i;
                            out[j].push(crossing_offset(kk, x[kk], x[kk + 1], ts[j], s));
                        }
                    }
                    k = e;
                }
            }
            (out, sum_f64(&x[k0..k1]))
        })
        .collect();
    let sum = parts.iter().map(|p| p.1).sum::<f64>() + x[pairs] as f64;
    let mut all: Vec<Vec<f64>> = (0..nt)
        .into_par_iter()
        .map(|j| {
            let mut v = Vec::with_capacity(parts.iter().map(|p| p.0[j].len()).sum());
            for p in &parts {
                v.extend_from_slice(&p.0[j]);
            }
            v
        })
        .collect();
    drop(parts);
    for v in &mut all {
        sort_total(v);
    }
    (all, sum)
}

/// The offset (UI from the nearest UI boundary, in [−0.5, 0.5)) of the crossing of threshold
/// `t` between samples `k` (value `x0`) and `k + 1` (`x1`) at `s` samples per UI, by linear
/// interpolation (the differences in f32, the rest in f64).
#[inline]
pub(crate) fn crossing_offset(k: usize, x0: f32, x1: f32, t: f32, s: f64) -> f64 {
    let (a, b) = (x0 - t, x1 - t);
    let frac = a as f64 / (a as f64 - b as f64);
    let time_ui = (k as f64 + frac) / s;
    let e = time_ui - time_ui.round();
    if e >= 0.5 {
        e - 1.0
    } else {
        e
    }
}

/// Sorts `v` ascending by `f64::total_cmp`, exactly as `sort_by(f64::total_cmp)` (equal under
/// `total_cmp` means bit-identical, so stability does not matter): the values map to unsigned
/// keys whose integer order is `total_cmp`'s ([`total_key`]), which a radix sort orders by
/// their bytes ([`radix_sort_keys`]: the bytes that all values share, such as the sign and
/// exponent of offsets within a UI, cost nothing), and map back. From [`PARALLEL_SORT_KEYS`]
/// keys they sort on the pool instead (one thread's radix sort would be a serial step there);
/// the sorted order is unique, so either gives the same vector.
pub(crate) fn sort_total(v: &mut [f64]) {
    let mut keys: Vec<u64> = v.par_iter().with_min_len(CHUNK_SAMPLES).map(|&x| total_key(x)).collect();
    if keys.len() >= PARALLEL_SORT_KEYS {
        keys.par_sort_unstable();
    } else {
        radix_sort_keys(&mut keys, &mut Vec::new());
    }
    v.par_iter_mut().zip(keys.par_iter()).with_min_len(CHUNK_SAMPLES).for_each(|(x, &k)| *x = from_total_key(k));
}

/// Keys from which [`sort_total`] sorts on the pool rather than by one thread's radix sort (the
/// crossings at one threshold of a 2^22-sample capture, some 300 k, stay below).
const PARALLEL_SORT_KEYS: usize = 1 << 20;

/// Unsigned key of `x` whose order is `f64::total_cmp`'s: negative values (sign bit set) have
/// every bit flipped, the others only the sign bit.
#[inline]
fn total_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | 1 << 63
    }
}

/// Inverse of [`total_key`].
#[inline]
fn from_total_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Computes every metric of `eye` (built from `signal`).
///
/// Every pass over the samples runs on the rayon pool in fixed chunks combined in order, so
/// the result does not depend on the thread count; it equals the serial definition exactly
/// except for the last bits of the sums (level means/σ, SNDR's normal equations, P_ave).
pub fn eye_metrics(signal: &EyeSignal, eye: &EyeDiagram, config: &EyeMetricsConfig) -> Result<EyeMetrics> {
    check_target_ber(config)?;
    let m = eye.modulation;
    let nl = m.levels();
    let th = &eye.thresholds;
    let mut warnings = Vec::new();

    // Vertical: level distributions over T_s ± T_O.
    let groups = LevelParts::new(signal, 0.5, config.eh_window_ui, th);
    let (eye_heights, eye_heights_measured, vec_db) = vertical(groups, nl, config, &mut warnings);

    // Horizontal: crossings of each threshold (and the sample sum for P_ave, in the same pass).
    let (offsets, sample_sum) = crossing_pass(signal, th);

    // SNDR from a linear fit of the centre samples to the decided symbols.
    let s = signal.samples_per_ui;
    let centre: Vec<f32> = signal.samples.par_chunks_exact(s).map(|c| c[s / 2]).collect();
    let decisions: Vec<usize> = centre.par_iter().map(|&x| region(x as f64, th)).collect();
    let sndr_db = sndr(&centre, &decisions, m, config.sndr_precursors, config.sndr_postcursors);
    let oma = oma_outer_from_runs(signal, &decisions, nl);
    crate::par::free_in_background(decisions);

    let p_ave = sample_sum / signal.samples.len().max(1) as f64;
    let measured = Measured { eye_heights, eye_heights_measured, vec_db, offsets, oma, sndr_db, p_ave };
    Ok(assemble(signal.symbols(), signal.is_optical(), eye, config, measured, warnings))
}

/// The extrapolated and measured eye height of each sub-eye and VEC from the level groups of
/// the eye-height window (warnings for empty groups to `warnings`): the vertical part of
/// [`eye_metrics`] and of [`super::KeptEye::metrics`].
pub(crate) fn vertical(mut groups: LevelParts, nl: usize, config: &EyeMetricsConfig, warnings: &mut Vec<String>) -> (Vec<f64>, Vec<f64>, Option<f64>) {
    let q = q_inverse(config.target_ber);
    let fits: Vec<(f64, f64)> = (0..nl).map(|g| groups.mean_std(g)).collect();
    let mut eye_heights = Vec::new();
    let mut eye_heights_measured = Vec::new();
    let mut vec_db: Option<f64> = Some(f64::NEG_INFINITY);
    for i in 0..nl - 1 {
        let (n_lo, n_hi) = (groups.len(i), groups.len(i + 1));
        if n_lo == 0 || n_hi == 0 {
            eye_heights.push(0.0);
            eye_heights_measured.push(0.0);
            vec_db = None;
            warnings.push(format!("sub-eye {i}: a level has no samples in the eye-height window"));
            continue;
        }
        let (ml, sl) = fits[i];
        let (mh, sh) = fits[i + 1];
        let eh = (mh - q * sh) - (ml + q * sl);
        let p = config.target_ber.max(1.0 / n_lo.min(n_hi) as f64);
        let ehm = groups.quantile(i + 1, p) - groups.quantile(i, 1.0 - p);
        eye_heights.push(eh);
        eye_heights_measured.push(ehm);
        vec_db = match vec_db {
            Some(best) if eh > 0.0 => Some(best.max(20.0 * ((mh - ml) / eh).log10())),
            _ => None,
        };
    }
    (eye_heights, eye_heights_measured, vec_db)
}

/// Rejects a `target_ber` outside (0, 0.5).
pub(crate) fn check_target_ber(config: &EyeMetricsConfig) -> Result<()> {
    if !(config.target_ber > 0.0 && config.target_ber < 0.5) {
        return Err(crate::Error::invalid("target_ber", config.target_ber, "must be in (0, 0.5)"));
    }
    Ok(())
}

/// What [`eye_metrics`] and `eye_metrics_reference` each compute their own way (the fast
/// passes and their naive references), handed to [`assemble`] for the metrics derived from it.
pub(crate) struct Measured {
    /// Extrapolated eye height of each sub-eye.
    pub(crate) eye_heights: Vec<f64>,
    /// Measured eye height of each sub-eye.
    pub(crate) eye_heights_measured: Vec<f64>,
    /// VEC, `None` when an eye is closed or a level group empty.
    pub(crate) vec_db: Option<f64>,
    /// Sorted crossing offsets at each threshold.
    pub(crate) offsets: Vec<Vec<f64>>,
    /// (P0, P3) from the outer runs of the decisions ([`oma_outer_from_runs`]).
    pub(crate) oma: Option<(f64, f64)>,
    /// SNDR, dB.
    pub(crate) sndr_db: Option<f64>,
    /// Mean of the samples.
    pub(crate) p_ave: f64,
}

/// The shared tail of [`eye_metrics`] and its reference: RLM (Annex 120D.3.1.2, Clause 94) from
/// the diagram's levels, eye widths and skew from the crossing offsets (dual-Dirac tails),
/// OMA_outer and outer ER (121.8.4), the warnings that go with them (after the vertical ones
/// already in `warnings`) and the [`EyeMetrics`] itself.
pub(crate) fn assemble(symbols: usize, optical: bool, eye: &EyeDiagram, config: &EyeMetricsConfig, measured: Measured, mut warnings: Vec<String>) -> EyeMetrics {
    let Measured { eye_heights, eye_heights_measured, vec_db, offsets, oma, sndr_db, p_ave } = measured;
    let nl = eye.modulation.levels();
    let v = &eye.levels;
    let (rlm, rlm_cl94) = if nl == 4 {
        let mid = 0.5 * (v[0] + v[3]);
        let es1 = (v[1] - mid) / (v[0] - mid);
        let es2 = (v[2] - mid) / (v[3] - mid);
        let r = (3.0 * es1).min(3.0 * es2).min(2.0 - 3.0 * es1).min(2.0 - 3.0 * es2);
        let c94 = 3.0 * (v[1] - v[0]).min(v[2] - v[1]).min(v[3] - v[2]) / (v[3] - v[0]);
        (Some(r), Some(c94))
    } else {
        (None, None)
    };
    if vec_db.is_none() {
        warnings.push("an eye is closed at the target BER: VEC undefined".into());
    }

    // Horizontal: eye width and skew from each threshold's crossings.
    let nui = symbols.max(1) as f64;
    let mut eye_widths = Vec::new();
    let mut eye_widths_measured = Vec::new();
    let mut centres = Vec::new();
    let mut crossing_stats = Vec::new();
    for (i, offsets) in offsets.into_iter().enumerate() {
        let density = offsets.len() as f64 / nui;
        if offsets.len() < 2 {
            warnings.push(format!("sub-eye {i}: no transitions across the threshold; eye width undefined"));
            eye_widths.push(None);
            eye_widths_measured.push(None);
            centres.push(None);
            crossing_stats.push(CrossingStats { count: offsets.len(), density, offsets, left_boundary_fit: (0.0, 0.0), right_boundary_fit: (0.0, 0.0) });
            continue;
        }
        let left = tail_fit(&offsets, true);
        let right = tail_fit(&offsets, false);
        let qh = q_inverse((config.target_ber / density.min(1.0)).min(0.49));
        let l_edge = left.0 + qh * left.1;
        let r_edge = 1.0 + right.0 - qh * right.1;
        let w = r_edge - l_edge;
        let wm = 1.0 + offsets[0] - offsets[offsets.len() - 1];
        eye_widths.push(Some(w));
        eye_widths_measured.push(Some(wm));
        centres.push(Some(0.5 * (l_edge + r_edge)));
        crossing_stats.push(CrossingStats { count: offsets.len(), density, offsets, left_boundary_fit: left, right_boundary_fit: right });
    }
    let known: Vec<f64> = centres.iter().flatten().copied().collect();
    let mean_c = known.iter().sum::<f64>() / known.len().max(1) as f64;
    let eye_skew_ui = centres.iter().map(|c| c.map(|c| c - mean_c)).collect();

    if sndr_db.is_none() {
        warnings.push("SNDR undefined (too few symbols or singular fit)".into());
    }

    // OMA_outer, outer ER.
    let (p0, p3) = match oma {
        Some(v) => v,
        None => {
            if nl == 4 {
                warnings.push("no runs of 7 top / 6 bottom symbols: OMA_outer from the outer level means".into());
            }
            (v[0], v[nl - 1])
        }
    };
    let er_db = if optical {
        if p0 > 0.0 {
            Some(10.0 * (p3 / p0).log10())
        } else {
            warnings.push("outer ER undefined: P0 ≤ 0".into());
            None
        }
    } else {
        None
    };
    EyeMetrics {
        levels: eye.levels.clone(),
        level_sigma: eye.level_sigma.clone(),
        rlm,
        rlm_cl94,
        eye_heights,
        eye_heights_measured,
        eye_widths,
        eye_widths_measured,
        eye_skew_ui,
        vec_db,
        sndr_db,
        oma_outer: p3 - p0,
        er_db,
        p_ave,
        crossings: crossing_stats,
        warnings,
    }
}

/// Naive reference of [`eye_metrics`]: the serial passes, full sorts and serial normal
/// equations it replaces (eye heights from sorted level groups, crossings from the serial
/// scan, SNDR from the serial normal equations, P_ave from a serial sum); what follows from
/// those is [`assemble`], shared with the fast path.
#[cfg(test)]
pub(crate) fn eye_metrics_reference(signal: &EyeSignal, eye: &EyeDiagram, config: &EyeMetricsConfig) -> Result<EyeMetrics> {
    check_target_ber(config)?;
    let m = eye.modulation;
    let nl = m.levels();
    let th = &eye.thresholds;
    let mut warnings = Vec::new();

    // Vertical: level distributions over T_s ± T_O.
    let q = q_inverse(config.target_ber);
    let win = window_samples(signal, 0.5, config.eh_window_ui);
    let mut groups = split_levels(&win, th);
    for g in &mut groups {
        g.sort_by(f64::total_cmp);
    }
    let fits: Vec<(f64, f64)> = groups.iter().map(|g| mean_std(g)).collect();
    let mut eye_heights = Vec::new();
    let mut eye_heights_measured = Vec::new();
    let mut vec_db: Option<f64> = Some(f64::NEG_INFINITY);
    for i in 0..nl - 1 {
        let (lo, hi) = (&groups[i], &groups[i + 1]);
        if lo.is_empty() || hi.is_empty() {
            eye_heights.push(0.0);
            eye_heights_measured.push(0.0);
            vec_db = None;
            warnings.push(format!("sub-eye {i}: a level has no samples in the eye-height window"));
            continue;
        }
        let (ml, sl) = fits[i];
        let (mh, sh) = fits[i + 1];
        let eh = (mh - q * sh) - (ml + q * sl);
        let p = config.target_ber.max(1.0 / lo.len().min(hi.len()) as f64);
        let ehm = quantile(hi, p) - quantile(lo, 1.0 - p);
        eye_heights.push(eh);
        eye_heights_measured.push(ehm);
        vec_db = match vec_db {
            Some(best) if eh > 0.0 => Some(best.max(20.0 * ((mh - ml) / eh).log10())),
            _ => None,
        };
    }

    // Horizontal: crossings of each threshold.
    let offsets = th.iter().map(|&t| crossings_reference(signal, t)).collect();

    // SNDR from a linear fit of the centre samples to the decided symbols.
    let centre = signal.centres();
    let decisions: Vec<usize> = centre.iter().map(|&x| region(x as f64, th)).collect();
    let sndr_db = sndr_reference(&centre, &decisions, m, config.sndr_precursors, config.sndr_postcursors);

    let p_ave = signal.samples.iter().map(|&x| x as f64).sum::<f64>() / signal.samples.len().max(1) as f64;
    let oma = oma_outer_from_runs_reference(signal, &decisions, nl);
    let measured = Measured { eye_heights, eye_heights_measured, vec_db, offsets, oma, sndr_db, p_ave };
    Ok(assemble(signal.symbols(), signal.is_optical(), eye, config, measured, warnings))
}

/// SNDR (Annex 120D.3.1.6 form): least-squares pulse response over `pre + 1 + post` symbols
/// plus an offset, `p_max` its largest magnitude, σ_e the rms residual. `None` with too few
/// symbols (fewer than 20 per fitted tap), a singular fit, or a symbol outside `m`'s alphabet.
///
/// The normal equations are built from lag sums: entry (i, j) of the Gram matrix is
/// `Σ_u x_u·x_{u+i−j}` over a window that slides with `i`, i.e. one sum per lag over the common
/// core plus a few end terms (`pre + 1 + post` multiply-adds per symbol instead of their
/// square); the sums run on the rayon pool in fixed chunks combined in order (the result does
/// not depend on the thread count, and differs from the serial sums in the last bits only).
pub fn sndr(centres: &[f32], symbols: &[usize], m: Modulation, pre: usize, post: usize) -> Option<f64> {
    // (Absurd tap counts: too few symbols, as for a short input.)
    let nt = pre.checked_add(1)?.checked_add(post)?;
    let n = centres.len().min(symbols.len());
    if n < nt.saturating_mul(20) {
        return None;
    }
    let lv: Vec<f64> = m.level_set().iter().map(|&x| x as f64).collect();
    if symbols[..n].par_iter().any(|&s| s >= lv.len()) {
        return None;
    }
    let dim = nt + 1;
    // The levels, with SNDR_LANES zeros after them: the fixed-width sums read that far.
    let mut x: Vec<f64> = Vec::with_capacity(n + SNDR_LANES);
    symbols[..n].par_iter().map(|&s| lv[s]).collect_into_vec(&mut x);
    x.resize(n + SNDR_LANES, 0.0);
    let rows = post..n - pre;
    // Lag sums over the core u ∈ [pre + post, n − nt], which every (i, j) window contains.
    let (core0, core1) = (pre + post, n - nt + 1);
    let sums = window_sums(&x, &centres[..n], core0..core1, rows.clone(), post, nt);
    let lag = sums.lag;
    // b_i and the column sums in tap order: window index nt − 1 − i.
    let bsum: Vec<f64> = sums.b.iter().rev().copied().collect();
    let sx: Vec<f64> = sums.sx.iter().rev().copied().collect();
    let sy = sums.sy;
    let mut a = vec![0f64; dim * dim];
    let mut b = vec![0f64; dim];
    for i in 0..nt {
        for j in 0..=i {
            let l = i - j;
            // The window of (i, j): u = k + pre − i for k in rows, i.e. u ∈ [pre + post − i, n − 1 − i].
            let mut v = lag[l];
            for u in (pre + post - i)..core0 {
                v += x[u] * x[u + l];
            }
            for u in core1..(n - i) {
                v += x[u] * x[u + l];
            }
            a[i * dim + j] = v;
        }
        a[nt * dim + i] = sx[i];
        b[i] = bsum[i];
    }
    a[nt * dim + nt] = rows.len() as f64;
    b[nt] = sy;
    let p = Cholesky::factor(&a, dim).ok()?.solve(&b).ok()?;
    // The taps in window order: x[k − post + jj] multiplies tap nt − 1 − jj.
    let p_window: Vec<f64> = p[..nt].iter().rev().copied().collect();
    let se_parts: Vec<f64> = rows
        .clone()
        .into_par_iter()
        .fold_chunks(CHUNK_SYMBOLS, || 0f64, |se, k| {
            let fit = dot4(&x[k - post..=k + pre], &p_window) + p[nt];
            let e = centres[k] as f64 - fit;
            se + e * e
        })
        .collect();
    let se: f64 = se_parts.iter().sum();
    let var = se / rows.len() as f64;
    let pmax = p[..nt].iter().fold(0f64, |a, v| a.max(v.abs()));
    let r = 10.0 * (pmax * pmax / var.max(1e-300)).log10();
    r.is_finite().then_some(r.min(200.0))
}

/// Lags and window entries [`sndr`] sums at once, in fixed-width accumulators (registers, not
/// a vector's memory); more taps take several passes of this many.
const SNDR_LANES: usize = 16;

/// The sums behind [`sndr`]'s normal equations, each added over fixed chunks of
/// [`CHUNK_SYMBOLS`] in order and the chunks' parts in order (independent of the thread count).
struct WindowSums {
    /// `lag[l] = Σ_{u ∈ core} x_u·x_{u+l}`.
    lag: Vec<f64>,
    /// `b[j] = Σ_{k ∈ rows} x_{k−post+j}·y_k` (window order).
    b: Vec<f64>,
    /// `sx[j] = Σ_{k ∈ rows} x_{k−post+j}` (window order).
    sx: Vec<f64>,
    /// `Σ_{k ∈ rows} y_k`.
    sy: f64,
}

/// [`WindowSums`] of the levels `x` (followed by at least [`SNDR_LANES`] zeros) and the centres
/// `y` for `nt` taps: [`SNDR_LANES`] lags or window entries a pass, each chunk summed in a
/// loop of its own.
fn window_sums(x: &[f64], y: &[f32], core: std::ops::Range<usize>, rows: std::ops::Range<usize>, post: usize, nt: usize) -> WindowSums {
    const W: usize = SNDR_LANES;
    let lanes = |i: usize| -> [f64; W] { x[i..i + W].try_into().expect("levels padded by SNDR_LANES") };
    let chunks = |r: &std::ops::Range<usize>| (0..r.len().div_ceil(CHUNK_SYMBOLS)).into_par_iter();
    let chunk = |r: &std::ops::Range<usize>, c: usize| r.start + c * CHUNK_SYMBOLS..(r.start + (c + 1) * CHUNK_SYMBOLS).min(r.end);
    let mut out = WindowSums { lag: vec![0.0; nt], b: vec![0.0; nt], sx: vec![0.0; nt], sy: 0.0 };
    for b0 in (0..nt).step_by(W) {
        let w = (nt - b0).min(W);
        let lag_parts: Vec<[f64; W]> = chunks(&core)
            .map(|c| {
                let mut acc = [0f64; W];
                for u in chunk(&core, c) {
                    let (xu, win) = (x[u], lanes(u + b0));
                    for (a, xv) in acc.iter_mut().zip(win) {
                        *a += xu * xv;
                    }
                }
                acc
            })
            .collect();
        let row_parts: Vec<([f64; W], [f64; W], f64)> = chunks(&rows)
            .map(|c| {
                let (mut b, mut sx, mut sy) = ([0f64; W], [0f64; W], 0f64);
                for k in chunk(&rows, c) {
                    let (yk, win) = (y[k] as f64, lanes(k - post + b0));
                    for ((bj, sj), xv) in b.iter_mut().zip(sx.iter_mut()).zip(win) {
                        *bj += xv * yk;
                        *sj += xv;
                    }
                    sy += yk;
                }
                (b, sx, sy)
            })
            .collect();
        for p in &lag_parts {
            for (t, v) in out.lag[b0..b0 + w].iter_mut().zip(p) {
                *t += v;
            }
        }
        for (b, sx, sy) in &row_parts {
            for j in 0..w {
                out.b[b0 + j] += b[j];
                out.sx[b0 + j] += sx[j];
            }
            if b0 == 0 {
                out.sy += sy;
            }
        }
    }
    out
}

/// Naive reference of [`sndr`]: the serial normal equations (dim² multiply-adds per symbol).
#[cfg(test)]
pub(crate) fn sndr_reference(centres: &[f32], symbols: &[usize], m: Modulation, pre: usize, post: usize) -> Option<f64> {
    let nt = pre + 1 + post;
    let n = centres.len().min(symbols.len());
    if n < nt * 20 {
        return None;
    }
    let lv: Vec<f64> = m.level_set().iter().map(|&x| x as f64).collect();
    let dim = nt + 1;
    let mut a = vec![0f64; dim * dim];
    let mut b = vec![0f64; dim];
    let mut row = vec![0f64; dim];
    let rows = post..n - pre;
    let fill = |k: usize, row: &mut [f64]| {
        for j in 0..nt {
            // Tap j multiplies symbol k + pre − j.
            row[j] = lv[symbols[k + pre - j]];
        }
        row[nt] = 1.0;
    };
    for k in rows.clone() {
        fill(k, &mut row);
        let y = centres[k] as f64;
        for i in 0..dim {
            b[i] += row[i] * y;
            for j in 0..=i {
                a[i * dim + j] += row[i] * row[j];
            }
        }
    }
    let p = Cholesky::factor(&a, dim).ok()?.solve(&b).ok()?;
    let mut se = 0.0;
    for k in rows.clone() {
        fill(k, &mut row);
        let fit: f64 = row.iter().zip(&p).map(|(r, w)| r * w).sum();
        let e = centres[k] as f64 - fit;
        se += e * e;
    }
    let var = se / rows.len() as f64;
    let pmax = p[..nt].iter().fold(0f64, |a, v| a.max(v.abs()));
    let r = 10.0 * (pmax * pmax / var.max(1e-300)).log10();
    r.is_finite().then_some(r.min(200.0))
}

/// Dot product of equal-length `a` and `b` over 4 interleaved lanes.
fn dot4(a: &[f64], b: &[f64]) -> f64 {
    let mut l = [0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (u, v) in ca.zip(cb) {
        for i in 0..4 {
            l[i] += u[i] * v[i];
        }
    }
    for (i, (u, v)) in ra.iter().zip(rb).enumerate() {
        l[i] += u * v;
    }
    (l[0] + l[1]) + (l[2] + l[3])
}

/// (P0, P3) per 802.3 121.8.4: means over the central 2 UI of runs of ≥ 6 bottom and ≥ 7 top
/// symbols; `None` when either kind of run is missing (or for NRZ, which has no such rule).
///
/// Each qualifying run's central samples are summed on their own, and the run sums added in
/// run order. The runs and their sums are found on the thread pool (fixed chunks of decisions;
/// a chunk owns the runs that start in it and follows them past its end): bit-identical to the
/// serial scan ([`oma_outer_from_runs_reference`]) whatever the thread count.
pub fn oma_outer_from_runs(signal: &EyeSignal, decisions: &[usize], levels: usize) -> Option<(f64, f64)> {
    let spans = outer_run_spans(decisions, levels, signal.samples_per_ui, signal.samples.len());
    let sums: Vec<(f64, usize)> = spans.par_iter().map(|(_, r)| (signal.samples[r.clone()].iter().map(|&x| x as f64).sum(), r.len())).collect();
    outer_run_means(&spans, &sums)
}

/// The qualifying runs of [`oma_outer_from_runs`] in run order: (0 for a bottom run, 1 for a
/// top one; the samples of its central 2 UI in a signal of `len` samples at `s` per UI). None
/// unless `levels` is 4.
pub(crate) fn outer_run_spans(decisions: &[usize], levels: usize, s: usize, len: usize) -> Vec<(usize, Range<usize>)> {
    const RUN_CHUNK: usize = 1 << 16;
    if levels != 4 {
        return Vec::new();
    }
    let n = decisions.len();
    // Per chunk, in order: (which, samples) of the qualifying runs.
    let runs: Vec<Vec<(usize, Range<usize>)>> = (0..n.div_ceil(RUN_CHUNK))
        .into_par_iter()
        .map(|c| {
            let (c0, c1) = (c * RUN_CHUNK, ((c + 1) * RUN_CHUNK).min(n));
            let mut k = c0;
            // The run in progress at c0 belongs to the chunk it started in.
            if k > 0 {
                while k < c1 && decisions[k] == decisions[c0 - 1] {
                    k += 1;
                }
            }
            let mut found = Vec::new();
            while k < c1 {
                let d = decisions[k];
                let mut e = k + 1;
                while e < n && decisions[e] == d {
                    e += 1;
                }
                if let Some(w) = outer_run(d, e - k, levels) {
                    found.push((w, run_centre_span(s, len, k, e - k)));
                }
                k = e;
            }
            found
        })
        .collect();
    runs.into_iter().flatten().collect()
}

/// (P0, P3) from the runs `spans` and each one's (sample sum, samples), added in run order;
/// `None` when either kind of run is missing.
pub(crate) fn outer_run_means(spans: &[(usize, Range<usize>)], sums: &[(f64, usize)]) -> Option<(f64, f64)> {
    let mut total = [(0f64, 0usize); 2];
    for ((w, _), &(sum, count)) in spans.iter().zip(sums) {
        total[*w].0 += sum;
        total[*w].1 += count;
    }
    outer_means(&total)
}

/// Which outer level a run of `len` decisions `d` measures: 0 for ≥ 6 bottom symbols, 1 for
/// ≥ 7 top symbols (802.3 121.8.4), else `None`.
fn outer_run(d: usize, len: usize, levels: usize) -> Option<usize> {
    if d == 0 && len >= 6 {
        Some(0)
    } else if d == levels - 1 && len >= 7 {
        Some(1)
    } else {
        None
    }
}

/// The samples of the central 2 UI of the run of `run` symbols from symbol `k` in a signal of
/// `len` samples at `s` per UI.
fn run_centre_span(s: usize, len: usize, k: usize, run: usize) -> Range<usize> {
    // Symbol j spans samples [j·S, (j+1)·S); the run's centre is at (k + run/2)·S.
    let mid = (2 * k + run) * s / 2;
    mid - s..(mid + s).min(len)
}

/// Sum and number of the samples of the central 2 UI of the run of `len` symbols from symbol `k`.
#[cfg(test)]
fn run_centre_sum(signal: &EyeSignal, k: usize, len: usize) -> (f64, usize) {
    let r = run_centre_span(signal.samples_per_ui, signal.samples.len(), k, len);
    (signal.samples[r.clone()].iter().map(|&x| x as f64).sum(), r.len())
}

fn outer_means(sums: &[(f64, usize); 2]) -> Option<(f64, f64)> {
    if sums[0].1 == 0 || sums[1].1 == 0 {
        return None;
    }
    Some((sums[0].0 / sums[0].1 as f64, sums[1].0 / sums[1].1 as f64))
}

/// The serial scan of [`oma_outer_from_runs`] (its reference).
#[cfg(test)]
pub(crate) fn oma_outer_from_runs_reference(signal: &EyeSignal, decisions: &[usize], levels: usize) -> Option<(f64, f64)> {
    if levels != 4 {
        return None;
    }
    let mut sums = [(0f64, 0usize); 2];
    let mut k = 0;
    while k < decisions.len() {
        let d = decisions[k];
        let mut e = k;
        while e < decisions.len() && decisions[e] == d {
            e += 1;
        }
        if let Some(w) = outer_run(d, e - k, levels) {
            let (sum, count) = run_centre_sum(signal, k, e - k);
            sums[w].0 += sum;
            sums[w].1 += count;
        }
        k = e;
    }
    outer_means(&sums)
}

/// Gaussian tail BER of a sub-eye at amplitude `v` between two levels (μ, σ) each carrying
/// probability `w`.
pub(crate) fn vertical_ber(v: f64, lower: (f64, f64), upper: (f64, f64), w_lower: f64, w_upper: f64) -> f64 {
    let t = |x: f64, s: f64| if s > 0.0 { q_function(x / s) } else if x > 0.0 { 0.0 } else { 1.0 };
    w_lower * t(v - lower.0, lower.1) + w_upper * t(upper.0 - v, upper.1)
}

#[cfg(test)]
mod fast_path_tests {
    //! The parallel passes of [`eye_metrics`] against their naive references: bit-exact where
    //! the arithmetic is the same (crossings, quantiles, counts, decisions), within a tolerance
    //! scaled to the size where only the summation order changed (means, σ, SNDR, P_ave); and
    //! identical results on 1-, 2- and 3-thread pools.
    use super::*;
    use crate::eye::EyeConfig;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A PAM-`levels` eye signal: random symbols, raised-cosine-like transitions over the UI
    /// boundary, Gaussian-ish noise of `noise` rms.
    fn random_eye(symbols: usize, s: usize, levels: usize, noise: f32, seed: u64) -> EyeSignal {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let lv: Vec<f32> = (0..levels).map(|i| -1.0 + 2.0 * i as f32 / (levels - 1) as f32).collect();
        let syms: Vec<usize> = (0..symbols + 1).map(|_| rng.random_range(0..levels)).collect();
        let mut y = Vec::with_capacity(symbols * s);
        for k in 0..symbols {
            let (a, b) = (lv[syms[k]], lv[syms[k + 1]]);
            for i in 0..s {
                let t = i as f32 / s as f32;
                let ramp = if t < 0.7 { 0.0 } else { (t - 0.7) / 0.6 };
                let v = a + (b - a) * ramp.min(1.0) * 0.5;
                let n: f32 = (0..4).map(|_| rng.random::<f32>() - 0.5).sum::<f32>() * noise;
                y.push(v + n);
            }
        }
        EyeSignal::new(y, s).unwrap()
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        a == b || (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn crossing_pass_equals_the_serial_scan_bit_for_bit() {
        // Sizes around the chunk of sample pairs, and tiny ones.
        let sizes = [1usize, 2, 3, 17, CHUNK_SAMPLES - 1, CHUNK_SAMPLES, CHUNK_SAMPLES + 1, CHUNK_SAMPLES + 2, 2 * CHUNK_SAMPLES + 1, 3 * CHUNK_SAMPLES + 37];
        for (t, &n) in sizes.iter().enumerate() {
            let sig = random_eye(n.div_ceil(8), 8, 4, 0.05, 100 + t as u64);
            let mut samples = sig.samples.clone();
            samples.truncate(n);
            // Samples exactly on a threshold take the reference's `< 0` side.
            if n > 10 {
                samples[5] = 0.0;
                samples[6] = 0.0;
            }
            let sig = EyeSignal::new(samples, 8).unwrap();
            let th = [-2.0 / 3.0, 0.0, 2.0 / 3.0, 0.1, 5.0];
            let (all, sum) = crossing_pass(&sig, &th);
            let mut total = 0;
            for (j, &t) in th.iter().enumerate() {
                let r = crossings_reference(&sig, t);
                assert_eq!(bits(&all[j]), bits(&r), "size {n}, threshold {t}");
                assert_eq!(bits(&crossings(&sig, t)), bits(&r));
                total += r.len();
            }
            assert!(n < 1000 || total > n / 100, "the test signal must cross its thresholds ({total})");
            let serial: f64 = sig.samples.iter().map(|&x| x as f64).sum();
            assert!((sum - serial).abs() <= 1e-12 * sig.samples.len().max(1) as f64, "size {n}: {sum} vs {serial}");
        }
    }

    #[test]
    fn outer_runs_equal_the_serial_scan_bit_for_bit() {
        const C: usize = 1 << 16; // the run scan's chunk
        let s = 4;
        for (t, &n) in [1usize, 13, C - 1, C, C + 1, 2 * C + 3, 3 * C + 37].iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(300 + t as u64);
            // Runs of 1..=12 symbols, so runs of ≥ 6 zeros and ≥ 7 threes are common and many
            // cross a chunk boundary.
            let mut d = Vec::with_capacity(n);
            while d.len() < n {
                let (v, len) = (rng.random_range(0..4usize), rng.random_range(1..=12usize));
                d.extend(std::iter::repeat_n(v, len.min(n - d.len())));
            }
            // Runs ending exactly at, and starting exactly at, the first chunk boundary.
            if n > C + 20 {
                d[C - 8..C].fill(0);
                d[C] = 1;
                d[C + 1..C + 9].fill(3);
                d[C + 9] = 2;
            }
            // A bottom run across the second boundary (3 symbols before it, 8 after) and a top
            // run across the third (4 before, 4 after): each counts once, whole.
            if n > 3 * C + 20 {
                d[2 * C - 4] = 2;
                d[2 * C - 3..2 * C + 8].fill(0);
                d[2 * C + 8] = 1;
                d[3 * C - 5] = 1;
                d[3 * C - 4..3 * C + 4].fill(3);
                d[3 * C + 4] = 2;
            }
            let samples: Vec<f32> = (0..n * s).map(|_| rng.random::<f32>() - 0.5).collect();
            let sig = EyeSignal::new(samples, s).unwrap();
            let (fast, reference) = (oma_outer_from_runs(&sig, &d, 4), oma_outer_from_runs_reference(&sig, &d, 4));
            assert_eq!(fast.map(|(a, b)| (a.to_bits(), b.to_bits())), reference.map(|(a, b)| (a.to_bits(), b.to_bits())), "{n} decisions");
            assert!(n < 1000 || reference.is_some(), "the test must have outer runs");
        }
        // NRZ has no such rule; decisions without top runs give None.
        let sig = EyeSignal::new(vec![0.0; 400], 4).unwrap();
        assert_eq!(oma_outer_from_runs(&sig, &[0; 100], 2), None);
        assert_eq!(oma_outer_from_runs(&sig, &[0; 100], 4), None);
    }

    #[test]
    fn crossing_pass_handles_more_than_64_thresholds() {
        let sig = random_eye(3000, 8, 4, 0.05, 7);
        let th: Vec<f64> = (0..130).map(|i| -1.2 + 2.4 * i as f64 / 129.0).collect();
        let (all, _) = crossing_pass(&sig, &th);
        for (j, &t) in th.iter().enumerate() {
            assert_eq!(bits(&all[j]), bits(&crossings_reference(&sig, t)), "threshold {j}");
        }
    }

    #[test]
    fn level_parts_give_the_sorted_groups_statistics() {
        let s = 8;
        for (t, &nsym) in [1usize, 5, CHUNK_SYMBOLS - 1, CHUNK_SYMBOLS, CHUNK_SYMBOLS + 1, 3 * CHUNK_SYMBOLS + 11].iter().enumerate() {
            let mut sig = random_eye(nsym, s, 4, 0.3, 200 + t as u64);
            sig.samples[s / 2] = f32::NAN;
            if nsym > 1 {
                sig.samples[s + s / 2] = 0.0; // on a threshold: the region above it
            }
            // Ascending thresholds (the counted regions), and out of order or NaN (the
            // partition point's regions, as split_levels finds them).
            let sets = [[-2.0 / 3.0, 0.0, 2.0 / 3.0], [0.0, -2.0 / 3.0, 2.0 / 3.0], [-2.0 / 3.0, f64::NAN, 2.0 / 3.0]];
            for (th, half) in sets.iter().flat_map(|th| [0.05, 0.2, 0.0].map(|half| (th, half))) {
                let mut groups = split_levels(&window_samples(&sig, 0.5, half), th);
                for g in &mut groups {
                    g.sort_by(f64::total_cmp);
                }
                let mut parts = LevelParts::new(&sig, 0.5, half, th);
                for (g, v) in groups.iter().enumerate() {
                    assert_eq!(parts.len(g), v.len());
                    if v.is_empty() {
                        assert!(parts.mean_std(g).0.is_nan());
                        continue;
                    }
                    let (m, sd) = parts.mean_std(g);
                    let (rm, rsd) = mean_std(v);
                    let tol = 1e-14 * v.len() as f64;
                    let close = |a: f64, b: f64| (a - b).abs() <= tol || (a.is_nan() && b.is_nan());
                    assert!(close(m, rm) && close(sd, rsd), "{nsym} symbols, level {g}: ({m}, {sd}) vs ({rm}, {rsd})");
                    for p in [0.0, 1e-12, 1e-5, 1.0 / v.len() as f64, 0.1, 0.4999, 0.5, 0.5001, 0.9, 1.0 - 1e-5, 1.0 - 1e-12, 1.0] {
                        assert_eq!(parts.quantile(g, p).to_bits(), quantile(v, p).to_bits(), "{nsym} symbols, level {g}, p {p}");
                    }
                }
            }
        }
    }

    #[test]
    fn sort_total_equals_sort_by_total_cmp_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let specials = [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -f64::NAN, f64::MIN_POSITIVE, -f64::MIN_POSITIVE, 5e-324, -5e-324, f64::MAX, f64::MIN];
        for n in [0usize, 1, 2, 13, CHUNK_SAMPLES + 3, 3 * CHUNK_SAMPLES, PARALLEL_SORT_KEYS + 5] {
            let mut v: Vec<f64> = (0..n).map(|i| if i % 97 == 0 { specials[i / 97 % specials.len()] } else { rng.random::<f64>() - 0.5 }).collect();
            let mut r = v.clone();
            r.sort_by(f64::total_cmp);
            sort_total(&mut v);
            assert_eq!(bits(&v), bits(&r), "{n} values");
        }
    }

    #[test]
    fn select_kth_is_exact_with_ties_and_uneven_parts() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for trial in 0..40 {
            let nparts = 1 + trial % 7;
            let mut parts: Vec<Vec<f64>> = (0..nparts).map(|_| (0..rng.random_range(0..50)).map(|_| (rng.random_range(0..9) as f64) * 0.5 - 1.0).collect()).collect();
            let mut all: Vec<f64> = parts.iter().flatten().copied().collect();
            if all.is_empty() {
                continue;
            }
            all.sort_by(f64::total_cmp);
            for k in 0..all.len() {
                let mut refs: Vec<&mut [f64]> = parts.iter_mut().map(|p| p.as_mut_slice()).collect();
                assert_eq!(select_kth(&mut refs, all.len(), k).to_bits(), all[k].to_bits(), "trial {trial}, k {k}");
            }
        }
    }

    /// A PAM4 symbol stream through a short ISI channel plus noise, as (centres, symbols).
    fn isi_centres(n: usize, seed: u64, noise: f64) -> (Vec<f32>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let lv = [-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0];
        let h = [0.05, -0.1, 1.0, 0.3, -0.08, 0.02];
        let syms: Vec<usize> = (0..n).map(|_| rng.random_range(0..4)).collect();
        let y = (0..n)
            .map(|k| {
                let isi: f64 = h.iter().enumerate().map(|(j, &hj)| hj * lv[syms[(k + j).saturating_sub(2).min(n - 1)]]).sum();
                (isi + 0.1 + noise * (rng.random::<f64>() - 0.5)) as f32
            })
            .collect();
        (y, syms)
    }

    #[test]
    fn sndr_from_lag_sums_matches_the_serial_normal_equations() {
        // One pass of the fixed-width sums up to 16 taps, two beyond (4 + 1 + 13).
        for (pre, post) in [(0usize, 0usize), (2, 13), (1, 3), (5, 0), (0, 7), (4, 13)] {
            let nt = pre + 1 + post;
            for &n in &[nt * 20, nt * 20 + 1, CHUNK_SYMBOLS - 1, CHUNK_SYMBOLS + pre + post, 3 * CHUNK_SYMBOLS + 5] {
                let (y, syms) = isi_centres(n, (n * 31 + pre) as u64, 0.2);
                let fast = sndr(&y, &syms, Modulation::Pam4, pre, post).unwrap();
                let reference = sndr_reference(&y, &syms, Modulation::Pam4, pre, post).unwrap();
                assert!(close(fast, reference, 1e-13 * n as f64), "pre {pre} post {post} n {n}: {fast} vs {reference}");
            }
            let (y, syms) = isi_centres(nt * 20 - 1, 1, 0.2);
            assert_eq!(sndr(&y, &syms, Modulation::Pam4, pre, post), None);
        }
    }

    #[test]
    fn sndr_window_sums_are_the_plain_chunked_sums_bit_for_bit() {
        // One pass of lanes (1, 5, 16 taps) and several (17, 33): each sum as a plain loop over
        // the same chunks, in the same order.
        for nt in [1usize, 5, 16, 17, 33] {
            let post = nt / 3;
            let n = 2 * CHUNK_SYMBOLS + 77;
            let (y, syms) = isi_centres(n, nt as u64, 0.2);
            let mut x: Vec<f64> = syms.iter().map(|&s| Modulation::Pam4.level_set()[s] as f64).collect();
            x.resize(n + SNDR_LANES, 0.0);
            let (core, rows) = (nt - 1..n - nt + 1, post..n - (nt - 1 - post));
            let got = window_sums(&x, &y, core.clone(), rows.clone(), post, nt);
            let chunked = |r: &std::ops::Range<usize>, f: &dyn Fn(usize) -> f64| {
                r.clone().collect::<Vec<_>>().chunks(CHUNK_SYMBOLS).map(|c| c.iter().fold(0.0, |s, &i| s + f(i))).fold(0.0, |s, p| s + p)
            };
            for j in 0..nt {
                assert_eq!(got.lag[j].to_bits(), chunked(&core, &|u| x[u] * x[u + j]).to_bits(), "{nt} taps, lag {j}");
                assert_eq!(got.b[j].to_bits(), chunked(&rows, &|k| x[k - post + j] * y[k] as f64).to_bits(), "{nt} taps, b {j}");
                assert_eq!(got.sx[j].to_bits(), chunked(&rows, &|k| x[k - post + j]).to_bits(), "{nt} taps, sx {j}");
            }
            assert_eq!(got.sy.to_bits(), chunked(&rows, &|k| y[k] as f64).to_bits(), "{nt} taps");
        }
        // Tap counts that overflow: no SNDR, no panic.
        let (y, syms) = isi_centres(1000, 1, 0.2);
        assert_eq!(sndr(&y, &syms, Modulation::Pam4, usize::MAX, 1), None);
        assert_eq!(sndr(&y, &syms, Modulation::Pam4, usize::MAX / 40, 0), None);
    }

    #[test]
    fn sndr_rejects_a_symbol_outside_the_alphabet() {
        let (y, mut syms) = isi_centres(2000, 5, 0.2);
        assert!(sndr(&y, &syms, Modulation::Pam4, 2, 3).is_some());
        syms[1500] = 4;
        assert_eq!(sndr(&y, &syms, Modulation::Pam4, 2, 3), None);
        // NRZ takes 0 and 1 only.
        let nrz: Vec<usize> = syms.iter().map(|&s| s % 2).collect();
        assert!(sndr(&y, &nrz, Modulation::Nrz, 2, 3).is_some());
    }

    /// Everything but the summation-order fields exactly; those within `rel`.
    fn assert_metrics_match(fast: &EyeMetrics, reference: &EyeMetrics, rel: f64, what: &str) {
        let opt = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => close(a, b, rel),
            (a, b) => a.is_none() && b.is_none(),
        };
        assert_eq!(fast.levels, reference.levels, "{what}");
        assert_eq!(fast.level_sigma, reference.level_sigma, "{what}");
        assert_eq!((fast.rlm, fast.rlm_cl94), (reference.rlm, reference.rlm_cl94), "{what}");
        assert_eq!(fast.eye_heights.len(), reference.eye_heights.len());
        for (a, b) in fast.eye_heights.iter().zip(&reference.eye_heights) {
            assert!(close(*a, *b, rel), "{what}: eye height {a} vs {b}");
        }
        assert_eq!(bits(&fast.eye_heights_measured), bits(&reference.eye_heights_measured), "{what}");
        assert_eq!(fast.eye_widths, reference.eye_widths, "{what}");
        assert_eq!(fast.eye_widths_measured, reference.eye_widths_measured, "{what}");
        assert_eq!(fast.eye_skew_ui, reference.eye_skew_ui, "{what}");
        assert!(opt(fast.vec_db, reference.vec_db), "{what}: VEC {:?} vs {:?}", fast.vec_db, reference.vec_db);
        assert!(opt(fast.sndr_db, reference.sndr_db), "{what}: SNDR {:?} vs {:?}", fast.sndr_db, reference.sndr_db);
        assert_eq!(fast.oma_outer.to_bits(), reference.oma_outer.to_bits(), "{what}");
        assert_eq!(fast.er_db, reference.er_db, "{what}");
        assert!(close(fast.p_ave, reference.p_ave, rel) || (fast.p_ave - reference.p_ave).abs() < 1e-15, "{what}: P_ave {} vs {}", fast.p_ave, reference.p_ave);
        assert_eq!(fast.crossings.len(), reference.crossings.len());
        for (a, b) in fast.crossings.iter().zip(&reference.crossings) {
            assert_eq!(bits(&a.offsets), bits(&b.offsets), "{what}");
            assert_eq!(a, b, "{what}");
        }
        assert_eq!(fast.warnings, reference.warnings, "{what}");
    }

    #[test]
    fn eye_metrics_equal_the_naive_reference_on_random_eyes() {
        let cases = [(Modulation::Pam4, 2usize, 3 * CHUNK_SYMBOLS + 3, 0.15f32), (Modulation::Pam4, 16, CHUNK_SYMBOLS + 1, 0.6), (Modulation::Nrz, 8, 2 * CHUNK_SYMBOLS, 0.2), (Modulation::Pam4, 32, 700, 0.1)];
        for (t, &(m, s, nsym, noise)) in cases.iter().enumerate() {
            let sig = random_eye(nsym, s, m.levels(), noise, 300 + t as u64);
            let eye = EyeDiagram::build(&sig, m, &EyeConfig { samples_per_ui: s, ..EyeConfig::default() }).unwrap();
            let cfg = EyeMetricsConfig::default();
            let fast = eye_metrics(&sig, &eye, &cfg).unwrap();
            let reference = eye_metrics_reference(&sig, &eye, &cfg).unwrap();
            assert!(fast.sndr_db.is_some() && fast.crossings.iter().all(|c| c.count > 10), "case {t}: a degenerate test eye");
            assert_metrics_match(&fast, &reference, 1e-14 * (nsym * s) as f64, &format!("case {t}"));
        }
    }

    #[test]
    fn eye_metrics_do_not_depend_on_the_thread_count() {
        let sig = random_eye(2 * CHUNK_SYMBOLS + 77, 8, 4, 0.2, 9);
        let eye = EyeDiagram::build(&sig, Modulation::Pam4, &EyeConfig { samples_per_ui: 8, ..EyeConfig::default() }).unwrap();
        let cfg = EyeMetricsConfig::default();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| eye_metrics(&sig, &eye, &cfg).unwrap())
        };
        let one = run(1);
        for threads in [2, 3] {
            let other = run(threads);
            assert_eq!(one, other, "{threads} threads");
            assert_eq!(format!("{one:?}"), format!("{other:?}"), "{threads} threads (bit for bit)");
        }
    }

    #[test]
    fn eye_metrics_equal_the_reference_on_a_real_10gbase_r_capture() {
        // Real 10GBASE-R NRZ (LeCroy SDA 816Zi, 40 GS/s float32 volts, no header); see
        // shared/captures/MANIFEST.md.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures/scopehal_ngscopeclient/10GBASE-R_waveform_1_channel_3.densev1.f32le.bin");
        let Ok(bytes) = std::fs::read(path) else {
            println!("skipped: capture not found at {path}");
            return;
        };
        let x: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let wf = crate::Waveform::new(x, 40e9).unwrap();
        for s in [32usize, 8] {
            let sig = crate::eye::eye_signal_from_waveform(&wf, 10.3125e9, Modulation::Nrz, s, &crate::timing::CdrConfig::default()).unwrap();
            let eye = EyeDiagram::build(&sig, Modulation::Nrz, &EyeConfig { samples_per_ui: s, ..EyeConfig::default() }).unwrap();
            let cfg = EyeMetricsConfig::default();
            let fast = eye_metrics(&sig, &eye, &cfg).unwrap();
            let reference = eye_metrics_reference(&sig, &eye, &cfg).unwrap();
            assert!(fast.crossings[0].count > 10_000, "{}", fast.crossings[0].count);
            assert_metrics_match(&fast, &reference, 1e-14 * sig.samples.len() as f64, &format!("10GBASE-R at {s} samples/UI"));
        }
    }
}
