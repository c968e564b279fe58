use crate::{Error, Result};

/// Keys cubic-convolution interpolation (a = −0.5) of `x` at fractional index `pos`.
/// Positions outside `[0, len-1]` clamp to the nearest sample.
#[inline]
pub fn cubic_at(x: &[f32], pos: f64) -> f32 {
    cubic_kernel(x, pos)
}

/// The body of [`cubic_at`], forced inline into the resampling loops.
#[inline(always)]
pub(crate) fn cubic_kernel(x: &[f32], pos: f64) -> f32 {
    let n = x.len();
    if n == 0 {
        return 0.0;
    }
    let last = (n - 1) as i64;
    let pos = pos.clamp(0.0, last as f64);
    // pos ≥ 0, so truncation is the floor; i64 conversions are single instructions on x86-64
    // (and avoid a libm floor on the baseline ISA).
    let i = pos as i64;
    let t = (pos - i as f64) as f32;
    let (p0, p1, p2, p3) = if i >= 1 && i + 2 <= last {
        let w = &x[(i - 1) as usize..(i + 3) as usize];
        (w[0], w[1], w[2], w[3])
    } else {
        let at = |k: i64| x[k.clamp(0, last) as usize];
        (at(i - 1), at(i), at(i + 1), at(i + 2))
    };
    // Catmull-Rom form of Keys' kernel with a = -0.5 (exactly p1 at t = 0).
    let a0 = -0.5 * p0 + 1.5 * p1 - 1.5 * p2 + 0.5 * p3;
    let a1 = p0 - 2.5 * p1 + 2.0 * p2 - 0.5 * p3;
    let a2 = -0.5 * p0 + 0.5 * p2;
    ((a0 * t + a1) * t + a2) * t + p1
}

/// Where the resampled points lie: output `m` is at input index
/// `(phase_ui + m / sps_out) * samples_per_ui`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResampleGrid {
    /// Input samples per UI (fs / baud).
    pub samples_per_ui: f64,
    /// Position of output sample 0, in UI from input sample 0.
    pub phase_ui: f64,
    /// Output samples per UI.
    pub sps_out: usize,
}

impl ResampleGrid {
    /// Number of output points that fit inside an input of `len` samples.
    pub fn output_len(&self, len: usize) -> usize {
        if len < 2 {
            return 0;
        }
        let last = (len - 1) as f64;
        let step = self.samples_per_ui / self.sps_out as f64;
        let start = self.phase_ui * self.samples_per_ui;
        if start > last {
            return 0;
        }
        ((last - start) / step).floor() as usize + 1
    }
}

/// Resamples `x` on `grid`.
pub fn resample(x: &[f32], grid: &ResampleGrid) -> Result<Vec<f32>> {
    if !(grid.samples_per_ui.is_finite() && grid.samples_per_ui > 0.0) {
        return Err(Error::invalid("samples_per_ui", grid.samples_per_ui, "must be positive"));
    }
    if grid.sps_out == 0 || grid.sps_out > 64 {
        return Err(Error::invalid("sps_out", grid.sps_out, "must be 1..=64"));
    }
    if !(grid.phase_ui.is_finite() && grid.phase_ui >= 0.0) {
        return Err(Error::invalid("phase_ui", grid.phase_ui, "must be finite and non-negative"));
    }
    let n = grid.output_len(x.len());
    let step = grid.samples_per_ui / grid.sps_out as f64;
    let start = grid.phase_ui * grid.samples_per_ui;
    Ok((0..n).map(|m| cubic_kernel(x, start + m as f64 * step)).collect())
}

/// The input positions of a resampling at `sps_out` points per UI between consecutive symbol
/// positions, in output order: point `m = k·sps_out + j` lies at
/// `p[k] + j·(p[k+1] − p[k]) / sps_out`; the last symbol reuses the spacing before it.
#[inline(always)]
pub(crate) fn ui_positions(positions: &[f64], sps_out: usize) -> UiPositions<'_> {
    UiPositions {
        positions,
        sps: sps_out,
        inv: 1.0 / sps_out.max(1) as f64,
        k: 0,
        j: sps_out,
        p: 0.0,
        step: 0.0,
    }
}

/// Iterator of [`ui_positions`] (a plain state machine, so it inlines into the resampling loops).
pub(crate) struct UiPositions<'a> {
    positions: &'a [f64],
    sps: usize,
    inv: f64,
    /// Next symbol to start.
    k: usize,
    /// Next point within the current symbol (`sps` when a new symbol starts).
    j: usize,
    p: f64,
    step: f64,
}

impl Iterator for UiPositions<'_> {
    type Item = f64;

    #[inline(always)]
    fn next(&mut self) -> Option<f64> {
        if self.j == self.sps {
            let n = self.positions.len();
            if self.k >= n || self.sps == 0 {
                return None;
            }
            let k = self.k;
            self.p = self.positions[k];
            self.step = if k + 1 < n {
                self.positions[k + 1] - self.p
            } else if n >= 2 {
                self.p - self.positions[k - 1]
            } else {
                0.0
            } * self.inv;
            self.k += 1;
            self.j = 0;
        }
        let v = self.p + self.j as f64 * self.step;
        self.j += 1;
        Some(v)
    }
}

/// Resamples `x` at `sps_out` points per UI from the symbol-centre positions a clock recovery
/// produced (fractional input-sample indices, ascending): output `k·sps_out + j` is the Keys cubic
/// interpolation of `x` at `p[k] + j·(p[k+1] − p[k]) / sps_out` (the last symbol reuses the
/// spacing before it), so output `k·sps_out` is the centre of symbol `k`, as the FFE expects.
/// Returns `positions.len() · sps_out` samples (none when `x` is empty or `sps_out` is 0);
/// positions outside the capture clamp to its ends.
///
/// ```
/// use lightlane_core::timing::resample_at;
/// let x: Vec<f32> = (0..10).map(|i| i as f32).collect();
/// assert_eq!(resample_at(&x, &[1.0, 3.0, 5.0], 2), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// ```
pub fn resample_at(x: &[f32], positions: &[f64], sps_out: usize) -> Vec<f32> {
    if x.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0f32; positions.len() * sps_out];
    super::simd::cubic_ui(x, positions, sps_out, &mut out);
    out
}

/// [`resample_at`] into a caller-owned buffer of `positions.len() · sps_out` samples.
pub fn resample_at_into(x: &[f32], positions: &[f64], sps_out: usize, out: &mut [f32]) -> Result<()> {
    if x.is_empty() {
        return Err(Error::InputTooShort {
            what: "samples to resample",
            needed: 1,
            got: 0,
        });
    }
    let expected = positions.len() * sps_out;
    if out.len() != expected {
        return Err(Error::LengthMismatch {
            what: "resample_at output",
            expected,
            got: out.len(),
        });
    }
    super::simd::cubic_ui(x, positions, sps_out, out);
    Ok(())
}

/// [`resample_at`] on the thread pool: the positions are cut into blocks, each block's last
/// UI taking its step from the next block's first position exactly as the serial loop does,
/// so the result is bit-identical to [`resample_at`] for any number of threads.
pub fn resample_at_parallel(x: &[f32], positions: &[f64], sps_out: usize) -> Vec<f32> {
    use rayon::prelude::*;
    const BLOCK: usize = 8192;
    if x.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0f32; positions.len() * sps_out];
    if sps_out == 0 {
        return out;
    }
    out.par_chunks_mut(BLOCK * sps_out).enumerate().for_each(|(b, o)| {
        let k0 = b * BLOCK;
        let k1 = (k0 + BLOCK).min(positions.len());
        // One position beyond the block (when there is one) gives its last UI's step; the final
        // block takes one position before it along, for the serial loop's backward difference.
        if k1 < positions.len() {
            super::simd::cubic_ui(x, &positions[k0..=k1], sps_out, o);
        } else if k0 > 0 {
            let mut tmp = vec![0f32; (k1 - k0 + 1) * sps_out];
            super::simd::cubic_ui(x, &positions[k0 - 1..k1], sps_out, &mut tmp);
            o.copy_from_slice(&tmp[sps_out..]);
        } else {
            super::simd::cubic_ui(x, &positions[k0..k1], sps_out, o);
        }
    });
    out
}

/// The loop of [`resample_at_into`] for a non-empty `x` and an `out` of
/// `positions.len() · sps_out` samples; inlined into each instruction-set version.
#[inline(always)]
pub(crate) fn cubic_ui_loop(x: &[f32], positions: &[f64], sps_out: usize, out: &mut [f32]) {
    if sps_out == 1 {
        for (o, &p) in out.iter_mut().zip(positions) {
            *o = cubic_kernel(x, p);
        }
    } else {
        for (o, p) in out.iter_mut().zip(ui_positions(positions, sps_out)) {
            *o = cubic_kernel(x, p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_at_integers_and_cubic_exact_for_quadratics() {
        let x: Vec<f32> = (0..20).map(|i| (i as f32 * 0.3).sin()).collect();
        for i in 0..20 {
            assert_eq!(cubic_at(&x, i as f64), x[i]);
        }
        let q: Vec<f32> = (0..20).map(|i| 0.5 * (i as f32).powi(2) - 2.0 * i as f32 + 1.0).collect();
        let v = cubic_at(&q, 7.25);
        let t = 7.25f32;
        assert!((v - (0.5 * t * t - 2.0 * t + 1.0)).abs() < 1e-4);
    }

    #[test]
    fn resample_sine_accurately() {
        // 4.8 samples per period of a sine: cubic interpolation error stays small.
        let fs = 256e9;
        let f = 26.5625e9 / 2.0;
        let x: Vec<f32> = (0..4000).map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / fs).sin() as f32).collect();
        let grid = ResampleGrid { samples_per_ui: fs / 53.125e9, phase_ui: 0.3, sps_out: 2 };
        let y = resample(&x, &grid).unwrap();
        assert_eq!(y.len(), grid.output_len(x.len()));
        let spu = fs / 53.125e9;
        for (m, v) in y.iter().enumerate().skip(2).take(1000) {
            let pos = (0.3 + m as f64 / 2.0) * spu;
            let exact = (2.0 * std::f64::consts::PI * f * pos / fs).sin();
            assert!((*v as f64 - exact).abs() < 0.02, "m={m}");
        }
        assert!(resample(&x, &ResampleGrid { sps_out: 0, ..grid }).is_err());
    }

    #[test]
    fn resample_at_follows_the_positions() {
        let x: Vec<f32> = (0..50).map(|i| (i as f32 * 0.21).sin()).collect();
        let pos = [2.5, 5.25, 8.5, 11.0];
        let y = resample_at(&x, &pos, 3);
        assert_eq!(y.len(), 12);
        // Symbol centres, the thirds between them, and the last UI extrapolated with its spacing.
        let want = [2.5, 2.5 + 2.75 / 3.0, 2.5 + 5.5 / 3.0, 5.25, 6.333333333333333, 7.416666666666667, 8.5, 9.333333333333334, 10.166666666666666, 11.0, 11.833333333333334, 12.666666666666666];
        for (v, p) in y.iter().zip(want) {
            assert!((v - cubic_at(&x, p)).abs() < 1e-6);
        }
        assert_eq!(resample_at(&x, &pos, 1), pos.iter().map(|&p| cubic_at(&x, p)).collect::<Vec<_>>());
        assert!(resample_at(&[], &pos, 2).is_empty());
        let mut out = vec![0.0; 12];
        resample_at_into(&x, &pos, 3, &mut out).unwrap();
        assert_eq!(out, y);
        assert!(matches!(resample_at_into(&x, &pos, 2, &mut out), Err(Error::LengthMismatch { .. })));
    }
}
