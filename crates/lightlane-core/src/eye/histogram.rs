//! The canonical eye histogram (`EYE_HIST_SPEC.md`): a 2-D count of time × amplitude built from
//! a signal on the recovered clock, with linear interpolation between samples so sparse sampling
//! still fills the eye. Integer after one float step, so the naive reference, the fast path and
//! the GPU kernel produce identical counts.

use crate::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Largest number of time bins.
pub const MAX_TIME_BINS: usize = 4096;
/// Largest number of amplitude bins.
pub const MAX_AMP_BINS: usize = 1024;
/// Largest number of interpolated columns per sample interval (`time_bins / (S·U)`).
pub const MAX_COLUMNS_PER_SAMPLE: usize = 1024;
/// Samples per chunk of the multi-threaded path (each worker owns one partial histogram).
const PAR_CHUNK: usize = 1 << 18;

/// Shape of an eye histogram: the display window, the binning and the amplitude range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EyeGeometry {
    /// Samples per UI of the input signal (S ≥ 1).
    pub samples_per_ui: usize,
    /// Display span in UI (1 or 2).
    pub span_ui: usize,
    /// Time bins across the span; a multiple of `samples_per_ui · span_ui`, at most 4096.
    pub time_bins: usize,
    /// Amplitude bins, at most 1024.
    pub amp_bins: usize,
    /// Amplitude of the bottom edge of row 0 (inclusive).
    pub lo: f32,
    /// Amplitude of the top edge of the last row (exclusive).
    pub hi: f32,
}

impl EyeGeometry {
    /// Checks the constraints of the spec.
    pub fn validate(&self) -> Result<()> {
        if self.samples_per_ui == 0 {
            return Err(Error::invalid("samples_per_ui", self.samples_per_ui, "must be at least 1"));
        }
        if !(self.span_ui == 1 || self.span_ui == 2) {
            return Err(Error::invalid("span_ui", self.span_ui, "the eye spans 1 or 2 UI"));
        }
        let p = self.period();
        if self.time_bins == 0 || self.time_bins > MAX_TIME_BINS || !self.time_bins.is_multiple_of(p) {
            return Err(Error::invalid(
                "time_bins",
                self.time_bins,
                format!("must be a multiple of samples_per_ui·span_ui = {p}, at most {MAX_TIME_BINS}"),
            ));
        }
        if self.time_bins / p > MAX_COLUMNS_PER_SAMPLE {
            return Err(Error::invalid("time_bins", self.time_bins, "more than 1024 columns per sample interval"));
        }
        if self.amp_bins == 0 || self.amp_bins > MAX_AMP_BINS {
            return Err(Error::invalid("amp_bins", self.amp_bins, format!("must be within 1..={MAX_AMP_BINS}")));
        }
        if !(self.lo.is_finite() && self.hi.is_finite() && self.hi > self.lo) {
            return Err(Error::invalid("amplitude range", format!("[{}, {})", self.lo, self.hi), "need finite lo < hi"));
        }
        let s256 = self.amp_scale();
        if !(s256.is_finite() && s256 > 0.0) {
            return Err(Error::invalid("amplitude range", format!("[{}, {})", self.lo, self.hi), "too narrow or too wide for f32"));
        }
        Ok(())
    }

    /// Samples per display period, P = S·U.
    pub fn period(&self) -> usize {
        self.samples_per_ui * self.span_ui
    }

    /// Columns per sample interval, m = B / P.
    pub fn columns_per_sample(&self) -> usize {
        self.time_bins / self.period()
    }

    /// `s256 = (A / (hi − lo)) · 256` in f32, exactly as the spec computes it.
    pub fn amp_scale(&self) -> f32 {
        (self.amp_bins as f32 / (self.hi - self.lo)) * 256.0
    }

    /// Amplitude bin height.
    pub fn amp_step(&self) -> f64 {
        (self.hi as f64 - self.lo as f64) / self.amp_bins as f64
    }

    /// Centre amplitude of row `r`.
    pub fn row_amplitude(&self, r: usize) -> f64 {
        self.lo as f64 + (r as f64 + 0.5) * self.amp_step()
    }

    /// Row holding amplitude `v` (clamped to the grid).
    pub fn row_of(&self, v: f64) -> usize {
        (((v - self.lo as f64) / self.amp_step()).floor().max(0.0) as usize).min(self.amp_bins - 1)
    }

    /// Time of column `c` from the window's left edge, UI.
    pub fn column_time_ui(&self, c: usize) -> f64 {
        c as f64 / self.time_bins as f64 * self.span_ui as f64
    }

    /// Column at time `t_ui` from the left edge (clamped).
    pub fn column_of(&self, t_ui: f64) -> usize {
        ((t_ui / self.span_ui as f64 * self.time_bins as f64).round().max(0.0) as usize).min(self.time_bins - 1)
    }

    /// Quantized amplitude `q` of one sample (the spec's float step).
    #[inline(always)]
    fn quantize(&self, y: f32, s256: f32) -> i32 {
        let lim = (self.amp_bins * 256) as f32;
        let v = ((y - self.lo) * s256).floor();
        if v.is_nan() {
            -(lim as i32)
        } else {
            v.clamp(-lim, 2.0 * lim) as i32
        }
    }
}

/// Floor division for a positive divisor.
#[inline(always)]
fn floor_div(a: i32, m: i32) -> i32 {
    a.div_euclid(m)
}

/// A 2-D eye histogram (row-major, row = amplitude bin from `lo` upwards, column = time bin)
/// with the samples counted so far.
///
/// ```
/// use lightlane_core::eye::{EyeGeometry, EyeHistogram};
/// let g = EyeGeometry { samples_per_ui: 4, span_ui: 1, time_bins: 8, amp_bins: 4, lo: -1.0, hi: 1.0 };
/// let mut h = EyeHistogram::new(g).unwrap();
/// h.accumulate(&[0.5, 0.5, 0.5, 0.5, 0.5]).unwrap();
/// assert_eq!(h.total(), 8); // 4 segments × 2 columns each, all in row 3
/// assert_eq!(h.count(3, 0), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EyeHistogram {
    geometry: EyeGeometry,
    counts: Vec<u32>,
    /// Sample index (modulo P) that the next `accumulate` call's first sample has.
    phase: usize,
}

impl EyeHistogram {
    /// An empty histogram of geometry `g`.
    pub fn new(g: EyeGeometry) -> Result<Self> {
        g.validate()?;
        Ok(EyeHistogram {
            geometry: g,
            counts: vec![0; g.time_bins * g.amp_bins],
            phase: 0,
        })
    }

    /// The geometry.
    pub fn geometry(&self) -> &EyeGeometry {
        &self.geometry
    }

    /// All counts, row-major (`counts[r · time_bins + c]`).
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// Count of amplitude row `r`, time column `c`.
    pub fn count(&self, r: usize, c: usize) -> u32 {
        self.counts[r * self.geometry.time_bins + c]
    }

    /// Sum of all counts.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| c as u64).sum()
    }

    /// Sample index modulo P of the first sample of the next [`accumulate`](Self::accumulate)
    /// call (continues across calls; see [`set_phase`](Self::set_phase)).
    pub fn phase(&self) -> usize {
        self.phase
    }

    /// Sets the index modulo P of the next call's first sample.
    pub fn set_phase(&mut self, phase: usize) {
        self.phase = phase % self.geometry.period();
    }

    /// Adds the segments of `y` (fast path, all cores for long inputs). `y[0]` has index
    /// [`phase`](Self::phase) modulo P; afterwards the phase points at `y`'s last sample, so the
    /// next chunk must start with that sample again (the spec's chunking rule).
    pub fn accumulate(&mut self, y: &[f32]) -> Result<()> {
        if y.len() < 2 {
            return Ok(());
        }
        let g = self.geometry;
        let p = g.period();
        let segments = y.len() - 1;
        if segments <= PAR_CHUNK || rayon::current_num_threads() == 1 {
            accumulate_fast(&g, y, self.phase, &mut self.counts);
        } else {
            let phase = self.phase;
            let partial = (0..segments.div_ceil(PAR_CHUNK))
                .into_par_iter()
                .fold(
                    || vec![0u32; self.counts.len()],
                    |mut acc, i| {
                        let start = i * PAR_CHUNK;
                        let end = (start + PAR_CHUNK).min(segments);
                        accumulate_fast(&g, &y[start..=end], (phase + start) % p, &mut acc);
                        acc
                    },
                )
                .reduce_with(|mut a, b| {
                    add_counts(&mut a, &b);
                    a
                });
            if let Some(part) = partial {
                add_counts(&mut self.counts, &part);
            }
        }
        self.phase = (self.phase + segments) % p;
        Ok(())
    }

    /// Adds `counts` computed elsewhere (an accelerator engine, e.g. the GPU) for the segments
    /// of `samples` samples whose first has index [`phase`](Self::phase) modulo P, and advances
    /// the phase as [`accumulate`](Self::accumulate) of those samples would. Errors:
    /// `counts` not of `time_bins · amp_bins` entries.
    pub fn add_counts(&mut self, counts: &[u32], samples: usize) -> Result<()> {
        if counts.len() != self.counts.len() {
            return Err(Error::LengthMismatch { what: "eye histogram counts", expected: self.counts.len(), got: counts.len() });
        }
        add_counts(&mut self.counts, counts);
        if samples >= 2 {
            self.phase = (self.phase + samples - 1) % self.geometry.period();
        }
        Ok(())
    }

    /// [`accumulate`](Self::accumulate) on the calling thread only.
    pub fn accumulate_single_thread(&mut self, y: &[f32]) {
        if y.len() < 2 {
            return;
        }
        accumulate_fast(&self.geometry, y, self.phase, &mut self.counts);
        self.phase = (self.phase + y.len() - 1) % self.geometry.period();
    }

    /// The naive reference: the spec's loops written out literally (the oracle of the fast path
    /// and of the GPU kernel).
    pub fn accumulate_naive(&mut self, y: &[f32]) {
        let g = self.geometry;
        let (p, m) = (g.period(), g.columns_per_sample());
        let (a, b) = (g.amp_bins as i32, g.time_bins);
        let s256 = g.amp_scale();
        for k in 0..y.len().saturating_sub(1) {
            let qk = g.quantize(y[k], s256);
            let qk1 = g.quantize(y[k + 1], s256);
            let c0 = ((self.phase + k) % p) * m;
            for j in 0..m {
                let av = qk + floor_div((qk1 - qk) * j as i32, m as i32);
                let r = av >> 8;
                if 0 <= r && r < a {
                    self.counts[r as usize * b + c0 + j] += 1;
                }
            }
        }
        if y.len() >= 2 {
            self.phase = (self.phase + y.len() - 1) % p;
        }
    }

    /// Adds another histogram of the same geometry.
    pub fn merge(&mut self, other: &EyeHistogram) -> Result<()> {
        if other.geometry != self.geometry {
            return Err(Error::invalid("eye histogram geometry", format!("{:?}", other.geometry), "differs from this histogram's"));
        }
        add_counts(&mut self.counts, &other.counts);
        Ok(())
    }

    /// Counts in amplitude row order for the columns `cols` (summed), as f64.
    pub fn column_profile(&self, cols: std::ops::Range<usize>) -> Vec<f64> {
        let b = self.geometry.time_bins;
        (0..self.geometry.amp_bins)
            .map(|r| self.counts[r * b + cols.start..r * b + cols.end].iter().map(|&c| c as f64).sum())
            .collect()
    }
}

fn add_counts(a: &mut [u32], b: &[u32]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x = x.wrapping_add(*y);
    }
}

/// Samples quantized per block of the fast path (a stack buffer; the block's last sample is
/// quantized again as the next block's first).
const QBLOCK: usize = 1024;

/// The spec's quantization of a block, written so that it vectorizes on baseline x86-64 (no
/// `floor` call): the float is clamped first (floor commutes with clamping to integer bounds,
/// and a NaN fails the first comparison, landing on `−A·256` as the spec says), then truncated
/// and moved down by one where truncation rounded up (negative non-integers).
#[inline(always)]
fn quantize_block(y: &[f32], lo: f32, s256: f32, lim: f32, q: &mut [i32]) {
    for (o, &v) in q.iter_mut().zip(y) {
        let x = (v - lo) * s256;
        #[allow(clippy::manual_clamp)] // NaN must go low, which `clamp` would not do
        let x = if x >= -lim { x } else { -lim };
        let x = if x <= 2.0 * lim { x } else { 2.0 * lim };
        // SAFETY: x is finite (a NaN failed the first comparison) and |x| ≤ 2·1024·256 < 2³¹,
        // so the conversion is exact truncation; `as` would add saturation/NaN code that keeps
        // the loop from vectorizing.
        let t: i32 = unsafe { x.to_int_unchecked() };
        *o = t - ((t as f32) > x) as i32;
    }
}

/// The fast path: samples quantized in blocks (vectorized), the interpolation without division
/// for power-of-two `m` (`floor_div(d·j, m)` is an arithmetic shift) and with one incremental
/// quotient/remainder otherwise, the bounds test done once per segment for segments whose both
/// ends lie inside the grid (every interpolated point lies between them), and the column base
/// advancing with the sample phase.
fn accumulate_fast(g: &EyeGeometry, y: &[f32], phase: usize, counts: &mut [u32]) {
    let (p, m) = (g.period(), g.columns_per_sample());
    let s256 = g.amp_scale();
    let lim = (g.amp_bins * 256) as f32;
    debug_assert_eq!(counts.len(), g.amp_bins * g.time_bins);
    if m == 1 && p >= 16 {
        accumulate_points(g, y, phase % p, counts);
        return;
    }
    let mut qbuf = [0i32; QBLOCK + 1];
    let mut phase = phase % p;
    let mut start = 0;
    while start + 1 < y.len() {
        let end = (start + QBLOCK).min(y.len() - 1);
        let q = &mut qbuf[..end - start + 1];
        quantize_block(&y[start..=end], g.lo, s256, lim, q);
        phase = match m {
            1 => scatter_pow2::<1>(g, q, phase, counts),
            2 => scatter_pow2::<2>(g, q, phase, counts),
            4 => scatter_pow2::<4>(g, q, phase, counts),
            8 => scatter_pow2::<8>(g, q, phase, counts),
            16 => scatter_pow2::<16>(g, q, phase, counts),
            _ => scatter_general(g, q, phase, counts),
        };
        start = end;
    }
}

/// The fast path for `m = 1` (one column per sample: each sample but the last is counted
/// once, no interpolation) and long periods: per run of consecutive phases (columns `phase…`),
/// one vectorizable pass quantizes and turns every sample into its counts index (or a
/// sentinel when outside the grid), then a tight loop increments.
fn accumulate_points(g: &EyeGeometry, y: &[f32], mut phase: usize, counts: &mut [u32]) {
    let (p, b) = (g.period(), g.time_bins as u32);
    let s256 = g.amp_scale();
    let lim = (g.amp_bins * 256) as f32;
    let a256 = (g.amp_bins * 256) as u32;
    let (lo, len) = (g.lo, counts.len());
    let n = y.len().saturating_sub(1);
    let mut idx = [0u32; QBLOCK];
    let mut k = 0;
    while k < n {
        let run = (p - phase).min(n - k).min(QBLOCK);
        let ph = phase as u32;
        for (i, (o, &v)) in idx[..run].iter_mut().zip(&y[k..k + run]).enumerate() {
            // The spec's quantization, as in `quantize_block`.
            let x = (v - lo) * s256;
            #[allow(clippy::manual_clamp)]
            let x = if x >= -lim { x } else { -lim };
            let x = if x <= 2.0 * lim { x } else { 2.0 * lim };
            // SAFETY: as in `quantize_block` (finite, |x| < 2³¹).
            let t: i32 = unsafe { x.to_int_unchecked() };
            let q = t - ((t as f32) > x) as i32;
            let at = ((q >> 8) as u32).wrapping_mul(b).wrapping_add(ph + i as u32);
            *o = if (q as u32) < a256 { at } else { u32::MAX };
        }
        for &i in &idx[..run] {
            let i = i as usize;
            if i < len {
                // SAFETY: just checked.
                unsafe { *counts.get_unchecked_mut(i) += 1 };
            }
        }
        k += run;
        phase += run;
        if phase == p {
            phase = 0;
        }
    }
}

/// Counts the segments of the quantized block `q` for `m = M` (a power of two): point `j` of a
/// segment is at `q0 + ((q1 − q0)·j >> log2 M)`. Returns the phase after the block.
#[inline(always)]
fn scatter_pow2<const M: usize>(g: &EyeGeometry, q: &[i32], mut phase: usize, counts: &mut [u32]) -> usize {
    let (p, b, a) = (g.period(), g.time_bins, g.amp_bins as i32);
    let a256 = a * 256;
    let sh = M.trailing_zeros();
    let len = counts.len();
    for w in q.windows(2) {
        let (q0, q1) = (w[0], w[1]);
        let d = q1 - q0;
        let base = phase * M;
        if (q0 as u32) < (a256 as u32) && (q1 as u32) < (a256 as u32) {
            for j in 0..M {
                let r = ((q0 + ((d * j as i32) >> sh)) >> 8) as usize;
                let idx = r * b + base + j;
                debug_assert!(idx < len);
                // SAFETY: q0, q1 ∈ [0, A·256) and the point lies between them, so r < A; and
                // base + j < P·M = B, so idx < A·B = counts.len() (checked by debug_assert).
                unsafe { *counts.get_unchecked_mut(idx) += 1 };
            }
        } else if !((q0 < 0 && q1 < 0) || (q0 >= a256 && q1 >= a256)) {
            for j in 0..M {
                let r = (q0 + ((d * j as i32) >> sh)) >> 8;
                if (0..a).contains(&r) {
                    counts[r as usize * b + base + j] += 1;
                }
            }
        }
        phase += 1;
        if phase == p {
            phase = 0;
        }
    }
    phase
}

/// [`scatter_pow2`] for any `m`: one division per segment, then an incremental quotient and
/// remainder (exactly `floor_div((q1 − q0)·j, m)`).
fn scatter_general(g: &EyeGeometry, q: &[i32], mut phase: usize, counts: &mut [u32]) -> usize {
    let (p, m, b, a) = (g.period(), g.columns_per_sample(), g.time_bins, g.amp_bins as i32);
    let a256 = a * 256;
    let mi = m as i32;
    for w in q.windows(2) {
        let (q0, q1) = (w[0], w[1]);
        let d = q1 - q0;
        let step_q = d.div_euclid(mi);
        let step_r = d - step_q * mi;
        let base = phase * m;
        let (mut quot, mut rem) = (0i32, 0i32);
        let inside = (0..a256).contains(&q0) && (0..a256).contains(&q1);
        if inside || !((q0 < 0 && q1 < 0) || (q0 >= a256 && q1 >= a256)) {
            for j in 0..m {
                let r = (q0 + quot) >> 8;
                if inside || (0..a).contains(&r) {
                    counts[r as usize * b + base + j] += 1;
                }
                quot += step_q;
                rem += step_r;
                if rem >= mi {
                    rem -= mi;
                    quot += 1;
                }
            }
        }
        phase += 1;
        if phase == p {
            phase = 0;
        }
    }
    phase
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn geom(s: usize, u: usize, mcols: usize, a: usize, lo: f32, hi: f32) -> EyeGeometry {
        EyeGeometry { samples_per_ui: s, span_ui: u, time_bins: s * u * mcols, amp_bins: a, lo, hi }
    }

    #[test]
    fn rejects_bad_geometry() {
        assert!(EyeHistogram::new(geom(4, 3, 2, 16, -1.0, 1.0)).is_err());
        assert!(EyeHistogram::new(EyeGeometry { time_bins: 10, ..geom(4, 1, 2, 16, -1.0, 1.0) }).is_err());
        assert!(EyeHistogram::new(geom(4, 1, 2, 2000, -1.0, 1.0)).is_err());
        assert!(EyeHistogram::new(geom(4, 1, 2, 16, 1.0, 1.0)).is_err());
        assert!(EyeHistogram::new(geom(4, 1, 2, 16, f32::NAN, 1.0)).is_err());
        assert!(EyeHistogram::new(geom(0, 1, 2, 16, -1.0, 1.0)).is_err());
    }

    #[test]
    fn interpolates_a_ramp_exactly() {
        // One segment from the bottom to the top of a 4-row grid over 4 columns: one count in
        // each row, on the diagonal.
        let mut h = EyeHistogram::new(geom(1, 1, 4, 4, 0.0, 4.0)).unwrap();
        h.accumulate_naive(&[0.0, 4.0]);
        for r in 0..4 {
            for c in 0..4 {
                assert_eq!(h.count(r, c), (r == c) as u32, "row {r} col {c}");
            }
        }
    }

    #[test]
    fn nan_and_out_of_range_samples_count_nowhere() {
        // Segments whose ends are both NaN or both outside on the same side count nothing; a
        // segment from NaN (= far below) to far above crosses the grid and is counted where
        // its interpolated points fall, as the spec says.
        let g = geom(2, 1, 2, 8, 0.0, 1.0);
        for y in [vec![f32::NAN, f32::NAN, f32::NAN], vec![5.0, 5.0, 6.0], vec![-3.0, f32::NAN, -1e30]] {
            let mut h = EyeHistogram::new(g).unwrap();
            h.accumulate_naive(&y);
            assert_eq!(h.total(), 0, "{y:?}");
            let mut f = EyeHistogram::new(g).unwrap();
            f.accumulate(&y).unwrap();
            assert_eq!(f.total(), 0, "{y:?}");
        }
        let mut h = EyeHistogram::new(g).unwrap();
        h.accumulate_naive(&[f32::NAN, 5.0]);
        // q from −2048 to +4096 (clamped), m = 2: j = 1 lands on −2048 + 3072 = 1024 → row 4.
        assert_eq!(h.total(), 1);
        assert_eq!(h.count(4, 1), 1);
    }

    #[test]
    fn chunked_equals_whole_and_parallel_equals_serial() {
        let g = geom(8, 2, 4, 256, -1.2, 1.2);
        let mut s = 7u64;
        let y: Vec<f32> = (0..(PAR_CHUNK * 3 + 1234))
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.6 - 1.3
            })
            .collect();
        let mut whole = EyeHistogram::new(g).unwrap();
        whole.accumulate_naive(&y);
        let mut par = EyeHistogram::new(g).unwrap();
        par.accumulate(&y).unwrap();
        assert_eq!(whole.counts(), par.counts());
        let mut chunked = EyeHistogram::new(g).unwrap();
        let mut start = 0;
        for len in [1000usize, 77, 300_000, 5] {
            let end = (start + len).min(y.len() - 1);
            chunked.accumulate(&y[start..=end]).unwrap();
            start = end;
        }
        chunked.accumulate(&y[start..]).unwrap();
        assert_eq!(whole.counts(), chunked.counts());
        // Merge: two halves in separate histograms add up to the whole.
        let mid = y.len() / 2;
        let mut a = EyeHistogram::new(g).unwrap();
        a.accumulate(&y[..=mid]).unwrap();
        let mut b = EyeHistogram::new(g).unwrap();
        b.set_phase(mid % g.period());
        b.accumulate(&y[mid..]).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(whole.counts(), a.counts());
        assert!(a.merge(&EyeHistogram::new(geom(8, 1, 4, 256, -1.2, 1.2)).unwrap()).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn fast_equals_naive(
            s in 1usize..9, u in 1usize..3, mcols in 1usize..7, a in 1usize..300,
            lo in -2.0f32..0.5, width in 0.01f32..4.0, phase in 0usize..20,
            y in proptest::collection::vec(prop_oneof![-3.0f32..3.0, Just(f32::NAN), Just(1e30f32), Just(-1e30f32)], 0..400),
        ) {
            let g = geom(s, u, mcols, a, lo, lo + width);
            let mut naive = EyeHistogram::new(g).unwrap();
            naive.set_phase(phase);
            naive.accumulate_naive(&y);
            let mut fast = EyeHistogram::new(g).unwrap();
            fast.set_phase(phase);
            fast.accumulate(&y).unwrap();
            prop_assert_eq!(naive.counts(), fast.counts());
            prop_assert_eq!(naive.phase(), fast.phase());
        }

        /// Every specialised scatter (m = 1 with short and long periods — the latter the
        /// points path —, 2, 4, 8, 16 and the general path) across several quantization
        /// blocks, single-threaded, and the block quantizer against the spec's.
        #[test]
        fn fast_equals_naive_across_blocks(
            s in prop_oneof![1usize..5, Just(8), Just(16), Just(128)], u in 1usize..3, mcols in prop_oneof![Just(1usize), Just(2), Just(4), Just(8), Just(16), Just(3), Just(7), Just(17)],
            a in 1usize..1025, lo in -2.0f32..0.5, width in 0.001f32..4.0, phase in 0usize..20,
            y in proptest::collection::vec(prop_oneof![8 => -3.0f32..3.0, 1 => Just(f32::NAN), 1 => Just(f32::INFINITY), 1 => Just(-1e30f32)], 0..(3 * QBLOCK)),
        ) {
            let g = geom(s, u, mcols, a, lo, lo + width);
            prop_assume!(g.validate().is_ok());
            let mut naive = EyeHistogram::new(g).unwrap();
            naive.set_phase(phase);
            naive.accumulate_naive(&y);
            let mut fast = EyeHistogram::new(g).unwrap();
            fast.set_phase(phase);
            fast.accumulate_single_thread(&y);
            prop_assert_eq!(naive.counts(), fast.counts());
            prop_assert_eq!(naive.phase(), fast.phase());
            let s256 = g.amp_scale();
            let mut q = vec![0i32; y.len()];
            quantize_block(&y, g.lo, s256, (g.amp_bins * 256) as f32, &mut q);
            for (v, qv) in y.iter().zip(&q) {
                prop_assert_eq!(*qv, g.quantize(*v, s256), "sample {}", v);
            }
        }
    }
}
