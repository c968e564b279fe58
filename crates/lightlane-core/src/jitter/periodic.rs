//! Periodic jitter: tones in the TIE spectrum.
//!
//! Edges fall on a subset of the unit intervals, so the TIE is first interpolated linearly onto
//! every UI (a uniform grid at the symbol rate), Hann-windowed and transformed. A bin is a tone
//! when it is a local maximum whose power exceeds the local noise floor by the factor at which
//! noise alone would cross it somewhere in the spectrum with probability `false_alarm` (the
//! periodogram of Gaussian noise is exponential per bin, so `ln(bins/false_alarm)` times its
//! mean). The floor is the median of 64-bin blocks divided by ln 2 (the mean of an exponential
//! from its median), which follows a coloured floor (the reference PLL's high-pass) and ignores the
//! tones themselves. Each tone's frequency is refined by a parabola through the log powers of
//! the peak and its neighbours, and its amplitude comes from a least-squares sinusoid fit on the
//! edges themselves ([`fit_tone`](crate::timing::fit_tone)), one tone after another with the
//! fitted ones subtracted.

use super::four_step;
use crate::timing::Tone;
use crate::timing::{add_tone_point, solve3};
use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::{Arc, Mutex};

/// Bins per block of the running noise-floor median.
const FLOOR_BLOCK: usize = 64;
/// Lowest bin searched (the window's DC leakage lives below).
const FIRST_BIN: usize = 3;
/// Two tones closer than this many bins count as one.
const MIN_SEPARATION_BINS: usize = 3;
/// Edges (or grid points) per chunk of the parallel passes; fixed, so the sums are combined in
/// the same order whatever the thread count.
const CHUNK: usize = 8192;
/// FFT lengths from which the spectrum is the four-step FFT on the pool
/// ([`four_step::real_power_spectrum`]); shorter ones use rustfft's plan (cached), bit for bit
/// the reference's.
pub(crate) const FOUR_STEP_MIN_LEN: usize = 1 << 16;

/// Most FFT lengths whose plans the process-wide cache ([`forward_plan`]) keeps.
const PLAN_CACHE_LENGTHS: usize = 4;
/// Most points of all plans the process-wide cache keeps together (a plan holds about 16
/// bytes of twiddles per point, so at most about 128 MiB); a longer plan is made for its call
/// only.
const PLAN_CACHE_POINTS: usize = 1 << 23;

/// Forward FFT plans by length, least recently used first, within a number of lengths and a
/// total of points. A cached plan is the one `FftPlanner` makes again for its length, so the
/// results do not depend on the cache.
pub(crate) struct PlanCache {
    plans: Vec<(usize, Arc<dyn Fft<f64>>)>,
    max_lengths: usize,
    max_points: usize,
}

impl PlanCache {
    /// An empty cache of at most `max_lengths` lengths and `max_points` points in all.
    pub(crate) const fn new(max_lengths: usize, max_points: usize) -> Self {
        PlanCache { plans: Vec::new(), max_lengths, max_points }
    }

    /// The forward plan of length `n`: the cached one (now the most recently used), or a new
    /// one, kept (dropping the least recently used beyond the limits) unless `n` alone exceeds
    /// `max_points` or `max_lengths` is 0.
    pub(crate) fn forward(&mut self, n: usize) -> Arc<dyn Fft<f64>> {
        if let Some(i) = self.plans.iter().position(|&(len, _)| len == n) {
            let entry = self.plans.remove(i);
            let plan = Arc::clone(&entry.1);
            self.plans.push(entry);
            return plan;
        }
        let plan = FftPlanner::new().plan_fft_forward(n);
        if n <= self.max_points && self.max_lengths > 0 {
            while self.plans.len() >= self.max_lengths || self.plans.iter().map(|&(len, _)| len).sum::<usize>() + n > self.max_points {
                self.plans.remove(0);
            }
            self.plans.push((n, Arc::clone(&plan)));
        }
        plan
    }

    /// The cached lengths, least recently used first.
    #[cfg(test)]
    pub(crate) fn lengths(&self) -> Vec<usize> {
        self.plans.iter().map(|&(len, _)| len).collect()
    }
}

/// The process-wide plans of the TIE spectra, kept across analyses (and
/// [`JitterAnalyzer`](super::JitterAnalyzer)s, which [`analyze_jitter`](super::analyze_jitter)
/// makes afresh on every call).
static PLANS: Mutex<PlanCache> = Mutex::new(PlanCache::new(PLAN_CACHE_LENGTHS, PLAN_CACHE_POINTS));

/// The forward FFT plan of length `n` from the process-wide cache ([`PlanCache::forward`]);
/// the lock is held to look up or plan, not while the plan runs.
pub(crate) fn forward_plan(n: usize) -> Arc<dyn Fft<f64>> {
    PLANS.lock().unwrap_or_else(|p| p.into_inner()).forward(n)
}

/// A periodic-jitter tone found in the TIE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PeriodicTone {
    /// Frequency, Hz.
    pub freq_hz: f64,
    /// Amplitude (0-peak) in the TIE, seconds: what the recovered clock leaves of the tone (a
    /// reference PLL passes `|1 − H(f)|` of a transmit tone).
    pub amplitude_s: f64,
    /// Peak power over the local noise floor, dB.
    pub snr_db: f64,
}

/// Smallest FFT length ≥ `n` of the form 2^a·3^b·5^c.
pub(crate) fn fft_len(n: usize) -> usize {
    let mut best = n.next_power_of_two();
    let mut p5 = 1usize;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            let mut m = p35;
            while m < n {
                m *= 2;
            }
            best = best.min(m);
            p35 *= 3;
        }
        p5 *= 5;
    }
    best
}

/// Values of the edges `(ui[i], v[i])` (ascending `ui`) linearly interpolated onto every UI from
/// `ui[0]` to `ui[last]`. The segments between edges fill disjoint ranges of the grid, in
/// parallel by fixed chunks of segments (each value is computed as in the serial loop).
pub(crate) fn to_uniform_grid(ui: &[usize], v: &[f64], out: &mut Vec<f64>) {
    out.clear();
    if ui.is_empty() {
        return;
    }
    // A fresh zeroed allocation (untouched pages, faulted in by the writes on the pool), not a
    // serial fill on the calling thread.
    *out = vec![0.0; ui[ui.len() - 1] - ui[0] + 1];
    out[0] = v[0];
    // Segment i (1..ui.len()) fills the gap = ui[i] − ui[i−1] grid points after ui[i−1].
    let segments = ui.len() - 1;
    let mut jobs = Vec::with_capacity(segments.div_ceil(CHUNK));
    let mut rest = &mut out[1..];
    let mut first = 1;
    while first <= segments {
        let last = (first + CHUNK - 1).min(segments);
        let (dst, tail) = rest.split_at_mut(ui[last] - ui[first - 1]);
        jobs.push((first, last, dst));
        rest = tail;
        first = last + 1;
    }
    jobs.into_par_iter().for_each(|(first, last, dst)| {
        let mut o = 0;
        for i in first..=last {
            let gap = ui[i] - ui[i - 1];
            let (a, b) = (v[i - 1], v[i]);
            for s in 1..=gap {
                dst[o] = a + (b - a) * s as f64 / gap as f64;
                o += 1;
            }
        }
    });
}

/// Naive reference of [`to_uniform_grid`] (the serial loop).
#[cfg(test)]
pub(crate) fn to_uniform_grid_reference(ui: &[usize], v: &[f64], out: &mut Vec<f64>) {
    out.clear();
    if ui.is_empty() {
        return;
    }
    out.reserve(ui[ui.len() - 1] - ui[0] + 1);
    out.push(v[0]);
    for i in 1..ui.len() {
        let gap = ui[i] - ui[i - 1];
        let (a, b) = (v[i - 1], v[i]);
        for s in 1..=gap {
            out.push(a + (b - a) * s as f64 / gap as f64);
        }
    }
}

/// Tones in `residual` (TIE in seconds at the edges `ui`, ascending UI indices, mean removed),
/// strongest first; `residual` comes back with the fitted tones subtracted. `ui_s` is the unit
/// interval. Returns the tones and the frequency resolution (bin width, Hz).
pub(crate) fn find_tones(
    ui: &[usize],
    residual: &mut [f64],
    ui_s: f64,
    max_tones: usize,
    false_alarm: f64,
) -> (Vec<PeriodicTone>, Option<f64>) {
    let mut grid = Vec::new();
    to_uniform_grid(ui, residual, &mut grid);
    let m = grid.len();
    if max_tones == 0 || m < 4 * FLOOR_BLOCK {
        return (Vec::new(), None);
    }
    let n = fft_len(m);
    let power = if n >= FOUR_STEP_MIN_LEN {
        // The spectrum on the pool (the four-step FFT, no n-point plan); the mean is summed in
        // fixed chunks and the window's cosines come from two short tables (a `cos` per
        // sample cost a third of the spectrum), so it (and the spectrum) differ from the
        // reference's in the last bits.
        let mean = chunked_sum(&grid) / m as f64;
        let grid = &grid;
        let turns = four_step::Twiddles::new(m - 1);
        // cos(2π·i/(m − 1)), i = m − 1 being a whole turn.
        let hann_t = |i: usize| 0.5 - 0.5 * turns.get(if i + 1 < m { i } else { 0 }).re;
        four_step::real_power_spectrum(n, |i| if i < m { (grid[i] - mean) * hann_t(i) } else { 0.0 })
    } else {
        let hann = |i: usize| 0.5 - 0.5 * (2.0 * PI * i as f64 / (m - 1) as f64).cos();
        let mean = grid.iter().sum::<f64>() / m as f64;
        let mut buf: Vec<Complex<f64>> = Vec::with_capacity(n);
        grid.par_iter()
            .enumerate()
            .with_min_len(CHUNK)
            .map(|(i, &v)| Complex::new((v - mean) * hann(i), 0.0))
            .collect_into_vec(&mut buf);
        buf.resize(n, Complex::new(0.0, 0.0));
        forward_plan(n).process(&mut buf);
        let mut power = Vec::new();
        buf[..n / 2].par_iter().with_min_len(CHUNK).map(|c| c.norm_sqr()).collect_into_vec(&mut power);
        power
    };
    super::free_on_pool(grid);
    let chosen = spectral_peaks(&power, max_tones, false_alarm);
    let bin_hz = 1.0 / (n as f64 * ui_s);
    let mut tones = Vec::with_capacity(chosen.len());
    let mut sin_cos = Vec::new();
    for (k, ratio) in chosen {
        let freq_hz = peak_frequency(&power, k, bin_hz);
        let Some(tone) = fit_and_remove_tone(ui, ui_s, residual, freq_hz, &mut sin_cos) else {
            continue;
        };
        tones.push(PeriodicTone {
            freq_hz,
            amplitude_s: tone.amplitude,
            snr_db: 10.0 * ratio.log10(),
        });
    }
    super::free_on_pool((power, sin_cos));
    (tones, Some(bin_hz))
}

/// The tones of the one-sided power spectrum `power` (bins 0..n/2 of the windowed,
/// zero-padded grid's FFT): the bins from [`FIRST_BIN`] that are local maxima above
/// `ln(searched bins / false_alarm)` times the noise floor of their [`FLOOR_BLOCK`]-bin block
/// (the block median / ln 2), strongest first (equal ratios in ascending bin order), at least
/// [`MIN_SEPARATION_BINS`] apart, at most `max_tones`: `(bin, power / floor)`.
///
/// The block medians and the peak filter run on the pool in fixed chunks of blocks and bins,
/// the candidates collected in bin order, so the result is `spectral_peaks_reference`'s
/// exactly (each block's median is an order statistic, each candidate a pointwise test).
pub(crate) fn spectral_peaks(power: &[f64], max_tones: usize, false_alarm: f64) -> Vec<(usize, f64)> {
    let half = power.len();
    if half < 3 {
        return Vec::new();
    }
    let blocks = half.div_ceil(FLOOR_BLOCK);
    let mut floor = Vec::new();
    (0..blocks)
        .into_par_iter()
        .with_min_len(CHUNK / FLOOR_BLOCK)
        .map_init(
            || Vec::with_capacity(FLOOR_BLOCK),
            |scratch: &mut Vec<f64>, b| {
                scratch.clear();
                scratch.extend_from_slice(&power[b * FLOOR_BLOCK..((b + 1) * FLOOR_BLOCK).min(half)]);
                let mid = scratch.len() / 2;
                let (_, med, _) = scratch.select_nth_unstable_by(mid, f64::total_cmp);
                *med / std::f64::consts::LN_2
            },
        )
        .collect_into_vec(&mut floor);
    let searched = half.saturating_sub(FIRST_BIN + 1).max(1);
    let factor = (searched as f64 / false_alarm).ln().max(1.0);
    let mut peaks: Vec<(usize, f64)> = (FIRST_BIN..half - 1)
        .into_par_iter()
        .with_min_len(CHUNK)
        .filter_map(|k| tone_candidate(power, &floor, factor, k))
        .collect();
    // Stable: equal ratios stay in bin order.
    peaks.sort_by(|a, b| b.1.total_cmp(&a.1));
    choose_separated(peaks, max_tones)
}

/// `(k, power / floor)` when bin `k` is a local maximum above `factor` times its block's noise
/// floor.
fn tone_candidate(power: &[f64], floor: &[f64], factor: f64, k: usize) -> Option<(usize, f64)> {
    let p = power[k];
    let fl = floor[k / FLOOR_BLOCK];
    (p > factor * fl && p >= power[k - 1] && p > power[k + 1] && fl > 0.0).then_some((k, p / fl))
}

/// The strongest of `peaks` (sorted strongest first) at least [`MIN_SEPARATION_BINS`] apart,
/// at most `max_tones`.
fn choose_separated(peaks: Vec<(usize, f64)>, max_tones: usize) -> Vec<(usize, f64)> {
    let mut chosen: Vec<(usize, f64)> = Vec::new();
    for (k, ratio) in peaks {
        if chosen.len() >= max_tones {
            break;
        }
        if chosen.iter().all(|&(c, _)| c.abs_diff(k) >= MIN_SEPARATION_BINS) {
            chosen.push((k, ratio));
        }
    }
    chosen
}

/// Naive reference of [`spectral_peaks`] (the serial passes).
#[cfg(test)]
pub(crate) fn spectral_peaks_reference(power: &[f64], max_tones: usize, false_alarm: f64) -> Vec<(usize, f64)> {
    let half = power.len();
    if half < 3 {
        return Vec::new();
    }
    let blocks = half.div_ceil(FLOOR_BLOCK);
    let floor: Vec<f64> = (0..blocks)
        .map(|b| {
            let mut block = power[b * FLOOR_BLOCK..((b + 1) * FLOOR_BLOCK).min(half)].to_vec();
            block.sort_by(f64::total_cmp);
            block[block.len() / 2] / std::f64::consts::LN_2
        })
        .collect();
    let searched = half.saturating_sub(FIRST_BIN + 1).max(1);
    let factor = (searched as f64 / false_alarm).ln().max(1.0);
    let mut peaks: Vec<(usize, f64)> = (FIRST_BIN..half - 1)
        .filter_map(|k| tone_candidate(power, &floor, factor, k))
        .collect();
    peaks.sort_by(|a, b| b.1.total_cmp(&a.1));
    choose_separated(peaks, max_tones)
}

/// Sum of `v` in fixed chunks of [`CHUNK`] on the pool, the chunk sums added in order: the
/// serial sum for up to one chunk, and the same value whatever the thread count.
pub(crate) fn chunked_sum(v: &[f64]) -> f64 {
    let parts: Vec<f64> = v.par_chunks(CHUNK).map(|c| c.iter().sum::<f64>()).collect();
    parts.iter().sum()
}

/// Frequency of the peak at bin `k` (0 < k < `power.len()` − 1), refined by the vertex of the
/// parabola through the log powers of bins k − 1, k, k + 1 (at most half a bin away).
fn peak_frequency(power: &[f64], k: usize, bin_hz: f64) -> f64 {
    let (a, b, c) = (power[k - 1].max(1e-300).ln(), power[k].max(1e-300).ln(), power[k + 1].max(1e-300).ln());
    let denom = a - 2.0 * b + c;
    let delta = if denom < 0.0 { (0.5 * (a - c) / denom).clamp(-0.5, 0.5) } else { 0.0 };
    (k as f64 + delta) * bin_hz
}

/// Offsets (UI) from an anchor edge within which [`ToneRotor`] rotates the anchor's phasor by
/// a table entry; an edge this far or farther from the anchor becomes the next anchor.
const ROTOR_SPAN: usize = 2048;

/// `sin_cos(w·t)` at the edges `t = u·ui_s` (ascending UI indices `u`) without a `sin_cos` per
/// edge: at an anchor edge `u_a` it is computed as the reference does (`(w·(u_a·ui_s)).sin_cos()`),
/// at the edges after it (`u − u_a < ROTOR_SPAN`) it is the anchor's phasor times the table
/// entry `(w·ui_s·(u − u_a)).sin_cos()` (one complex product, no chain of them, so the error
/// stays within a few ulps of the sine and cosine and of the angle's rounding over the span).
pub(super) struct ToneRotor {
    /// Angular frequency, rad/s.
    w: f64,
    /// Unit interval, s.
    ui_s: f64,
    /// `(w·ui_s·d).sin_cos()` for `d < table.len()` (at most [`ROTOR_SPAN`]).
    table: Vec<(f64, f64)>,
}

impl ToneRotor {
    /// The rotor of angular frequency `w` on UI `ui_s`, its table as long as `span` UI need
    /// (≤ [`ROTOR_SPAN`]).
    pub(super) fn new(w: f64, ui_s: f64, span: usize) -> Self {
        let per_ui = w * ui_s;
        let table = (0..span.clamp(1, ROTOR_SPAN)).map(|d| (per_ui * d as f64).sin_cos()).collect();
        ToneRotor { w, ui_s, table }
    }

    /// `(sin, cos)` at each edge of `ui` into `out` (same length). An edge before the anchor
    /// (not ascending) becomes an anchor too.
    pub(super) fn fill(&self, ui: &[usize], out: &mut [(f64, f64)]) {
        let Some(&first) = ui.first() else {
            return;
        };
        let anchor_at = |u: usize| (self.w * (u as f64 * self.ui_s)).sin_cos();
        let (mut ua, mut anchor) = (first, anchor_at(first));
        for (o, &u) in out.iter_mut().zip(ui) {
            *o = match self.table.get(u.wrapping_sub(ua)) {
                Some(&(sd, cd)) => (anchor.0 * cd + anchor.1 * sd, anchor.1 * cd - anchor.0 * sd),
                None => {
                    (ua, anchor) = (u, anchor_at(u));
                    anchor
                }
            };
        }
    }
}

/// [`fit_tone`](crate::timing::fit_tone) of `residual` at `freq_hz` (edge times `ui[i]·ui_s`)
/// and the subtraction of the fitted sinusoid from `residual`, sharing one sine and cosine per
/// edge (`sin_cos`: scratch) from a [`ToneRotor`] (within a few ulps of `sin_cos` per edge),
/// both on the rayon pool: the normal equations are summed per fixed chunk and combined in
/// order (the fit differs from `fit_tone`'s in the last bits only, and not with the thread
/// count); the subtraction is `find_tones_reference`'s, element by element, to those ulps.
/// `None` where `fit_tone` fails (too few or non-finite points, a bad frequency, singular
/// equations); `residual` is then unchanged.
fn fit_and_remove_tone(ui: &[usize], ui_s: f64, residual: &mut [f64], freq_hz: f64, sin_cos: &mut Vec<(f64, f64)>) -> Option<Tone> {
    if ui.len() != residual.len() || ui.len() < 4 || !(freq_hz.is_finite() && freq_hz > 0.0) {
        return None;
    }
    let w = 2.0 * PI * freq_hz;
    if sin_cos.len() != ui.len() {
        // Zeroed pages, faulted in by the writes on the pool (not a serial fill).
        *sin_cos = vec![(0.0, 0.0); ui.len()];
    }
    // Every edge time finite (`ui` ascends, so the last is the largest), as `fit_tone` requires.
    let (first, last) = (ui[0], ui[ui.len() - 1]);
    let times_finite = (last as f64 * ui_s).is_finite();
    let rotor = ToneRotor::new(w, ui_s, last.saturating_sub(first) + 1);
    type Sums = ([[f64; 3]; 3], [f64; 3], bool);
    let parts: Vec<Sums> = sin_cos
        .par_chunks_mut(CHUNK)
        .zip(ui.par_chunks(CHUNK))
        .zip(residual.par_chunks(CHUNK))
        .map(|((sc, us), vs)| {
            rotor.fill(us, sc);
            let mut a = [[0f64; 3]; 3];
            let mut r = [0f64; 3];
            let mut finite = true;
            for (&o, &v) in sc.iter().zip(vs) {
                finite &= v.is_finite();
                add_tone_point(&mut a, &mut r, o, v);
            }
            (a, r, finite && times_finite)
        })
        .collect();
    let mut a = [[0f64; 3]; 3];
    let mut r = [0f64; 3];
    for (pa, pr, finite) in &parts {
        if !finite {
            return None;
        }
        for i in 0..3 {
            r[i] += pr[i];
            for j in 0..3 {
                a[i][j] += pa[i][j];
            }
        }
    }
    let coef = solve3(a, r)?;
    let (c, s) = (coef[1], coef[2]);
    let tone = Tone {
        amplitude: c.hypot(s),
        phase_rad: c.atan2(s),
        offset: coef[0],
    };
    let (ca, sa) = (tone.amplitude * tone.phase_rad.cos(), tone.amplitude * tone.phase_rad.sin());
    residual.par_chunks_mut(CHUNK).zip(sin_cos.par_chunks(CHUNK)).for_each(|(rs, sc)| {
        for (r, &(s, c)) in rs.iter_mut().zip(sc) {
            *r -= tone.offset + ca * s + sa * c;
        }
    });
    Some(tone)
}

/// Naive reference of [`find_tones`] (serial window, `fit_tone` and subtraction with a
/// second `sin_cos` per edge).
///
/// Tones in `residual` (TIE in seconds at the edges `ui`, ascending UI indices, mean removed),
/// strongest first; `residual` comes back with the fitted tones subtracted. `ui_s` is the unit
/// interval. Returns the tones and the frequency resolution (bin width, Hz).
#[cfg(test)]
pub(crate) fn find_tones_reference(
    ui: &[usize],
    residual: &mut [f64],
    ui_s: f64,
    max_tones: usize,
    false_alarm: f64,
) -> (Vec<PeriodicTone>, Option<f64>) {
    let mut grid = Vec::new();
    to_uniform_grid_reference(ui, residual, &mut grid);
    let m = grid.len();
    if max_tones == 0 || m < 4 * FLOOR_BLOCK {
        return (Vec::new(), None);
    }
    let n = fft_len(m);
    let mean = grid.iter().sum::<f64>() / m as f64;
    let mut buf: Vec<Complex<f64>> = Vec::with_capacity(n);
    buf.extend(grid.iter().enumerate().map(|(i, &v)| {
        let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / (m - 1) as f64).cos();
        Complex::new((v - mean) * w, 0.0)
    }));
    buf.resize(n, Complex::new(0.0, 0.0));
    drop(grid);
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    let power: Vec<f64> = buf[..n / 2].iter().map(|c| c.norm_sqr()).collect();
    drop(buf);
    let chosen = spectral_peaks_reference(&power, max_tones, false_alarm);
    let bin_hz = 1.0 / (n as f64 * ui_s);
    let times: Vec<f64> = ui.iter().map(|&u| u as f64 * ui_s).collect();
    let mut tones = Vec::with_capacity(chosen.len());
    for (k, ratio) in chosen {
        let freq_hz = peak_frequency(&power, k, bin_hz);
        let Ok(tone) = crate::timing::fit_tone(&times, residual, freq_hz) else {
            continue;
        };
        let w = 2.0 * PI * freq_hz;
        let (ca, sa) = (tone.amplitude * tone.phase_rad.cos(), tone.amplitude * tone.phase_rad.sin());
        for (r, &t) in residual.iter_mut().zip(&times) {
            let (s, c) = (w * t).sin_cos();
            *r -= tone.offset + ca * s + sa * c;
        }
        tones.push(PeriodicTone {
            freq_hz,
            amplitude_s: tone.amplitude,
            snr_db: 10.0 * ratio.log10(),
        });
    }
    (tones, Some(bin_hz))
}
