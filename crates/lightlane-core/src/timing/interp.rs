use crate::{Error, Result};

/// Keys cubic-convolution interpolation (a = −0.5) of `x` at fractional index `pos`.
/// Positions outside `[0, len-1]` clamp to the nearest sample.
#[inline]
pub fn cubic_at(x: &[f32], pos: f64) -> f32 {
    let n = x.len();
    if n == 0 {
        return 0.0;
    }
    let last = (n - 1) as f64;
    let pos = pos.clamp(0.0, last);
    let i = pos.floor() as isize;
    let t = (pos - i as f64) as f32;
    if t == 0.0 {
        return x[i as usize];
    }
    let at = |k: isize| x[k.clamp(0, n as isize - 1) as usize];
    let (p0, p1, p2, p3) = (at(i - 1), at(i), at(i + 1), at(i + 2));
    // Catmull-Rom form of Keys' kernel with a = -0.5.
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
    Ok((0..n).map(|m| cubic_at(x, start + m as f64 * step)).collect())
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
}
