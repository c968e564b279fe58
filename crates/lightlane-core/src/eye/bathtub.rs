//! Bathtub curves (BER against sampling time or decision threshold) and BER contours of the
//! eye, measured from the data and extrapolated (Gaussian levels, dual-Dirac crossing tails).

use super::metrics::{mean_std, region, split_levels, vertical_ber, window_samples, EyeMetrics, EyeMetricsConfig};
use super::{EyeDiagram, EyeSignal};
use crate::stats::{q_function, q_inverse};
use serde::{Deserialize, Serialize};

/// A bathtub curve of one sub-eye.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bathtub {
    /// Sub-eye index (0 = lowest).
    pub sub_eye: usize,
    /// Sampling time (UI, eye centre at 0.5) or decision threshold (capture units).
    pub position: Vec<f64>,
    /// Measured error probability per symbol (`None` where no error was seen).
    pub measured: Vec<Option<f64>>,
    /// Extrapolated error probability per symbol.
    pub extrapolated: Vec<f64>,
}

impl Bathtub {
    /// Width of the region where the extrapolated curve is at or below `ber` (positions
    /// interpolated on the log scale), or `None` when it never is.
    pub fn opening_at(&self, ber: f64) -> Option<f64> {
        let lb = ber.log10();
        let l: Vec<f64> = self.extrapolated.iter().map(|&b| b.max(1e-300).log10()).collect();
        let inside: Vec<usize> = (0..l.len()).filter(|&i| l[i] <= lb).collect();
        let (&a, &b) = (inside.first()?, inside.last()?);
        let cross = |i: usize, j: usize| {
            // Position where the curve crosses lb between samples i (inside) and j (outside).
            let t = (lb - l[i]) / (l[j] - l[i]);
            self.position[i] + t * (self.position[j] - self.position[i])
        };
        let left = if a > 0 { cross(a, a - 1) } else { self.position[a] };
        let right = if b + 1 < l.len() { cross(b, b + 1) } else { self.position[b] };
        Some(right - left)
    }
}

/// Horizontal bathtubs (one per sub-eye) over `points` sampling times across the UI. Measured:
/// crossings beyond the sampling time per UI; extrapolated: ρ·[Q((x − μ_L)/σ_L) + Q((1 + μ_R −
/// x)/σ_R)] with the dual-Dirac tail fits of [`EyeMetrics::crossings`].
pub fn horizontal_bathtubs(metrics: &EyeMetrics, nui: usize, points: usize) -> Vec<Bathtub> {
    let points = points.max(3);
    metrics
        .crossings
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let position: Vec<f64> = (0..points).map(|k| k as f64 / (points - 1) as f64).collect();
            let n = c.offsets.len();
            let (mut measured, mut extrapolated) = (Vec::new(), Vec::new());
            for &x in &position {
                if n < 2 {
                    measured.push(None);
                    extrapolated.push(0.5);
                    continue;
                }
                let beyond_left = n - c.offsets.partition_point(|&e| e <= x);
                let beyond_right = c.offsets.partition_point(|&e| e < x - 1.0);
                let m = (beyond_left + beyond_right) as f64 / nui.max(1) as f64;
                measured.push((m > 0.0).then_some(m.min(1.0)));
                let (ml, sl) = c.left_boundary_fit;
                let (mr, sr) = c.right_boundary_fit;
                let t = |z: f64, s: f64| if s > 0.0 { q_function(z / s) } else if z > 0.0 { 0.0 } else { 1.0 };
                extrapolated.push((c.density * (t(x - ml, sl) + t(1.0 + mr - x, sr))).min(0.5));
            }
            Bathtub { sub_eye: i, position, measured, extrapolated }
        })
        .collect()
}

/// Vertical bathtubs at the sampling instant (T_s ± T_O window of `config`), one per sub-eye,
/// over `points` thresholds from the lower to the upper level mean. Measured: share of window
/// samples on the wrong side; extrapolated: Gaussian tails of the two levels.
pub fn vertical_bathtubs(signal: &EyeSignal, eye: &EyeDiagram, config: &EyeMetricsConfig, points: usize) -> Vec<Bathtub> {
    vertical_bathtubs_of(&window_samples(signal, 0.5, config.eh_window_ui), eye, points)
}

/// [`vertical_bathtubs`] from the eye-height window's samples `win` (`window_samples`).
pub(crate) fn vertical_bathtubs_of(win: &[f32], eye: &EyeDiagram, points: usize) -> Vec<Bathtub> {
    let points = points.max(3);
    let mut groups = split_levels(win, &eye.thresholds);
    for g in &mut groups {
        g.sort_by(f64::total_cmp);
    }
    let total = win.len().max(1) as f64;
    (0..eye.thresholds.len())
        .map(|i| {
            let (lo, hi) = (&groups[i], &groups[i + 1]);
            let (a, b) = (eye.levels[i], eye.levels[i + 1]);
            let position: Vec<f64> = (0..points).map(|k| a + (b - a) * k as f64 / (points - 1) as f64).collect();
            let (fl, fh) = (mean_std(lo), mean_std(hi));
            let (wl, wh) = (lo.len() as f64 / total, hi.len() as f64 / total);
            let mut measured = Vec::new();
            let mut extrapolated = Vec::new();
            for &v in &position {
                let above = lo.len() - lo.partition_point(|&x| x <= v);
                let below = hi.partition_point(|&x| x < v);
                let m = (above + below) as f64 / total;
                measured.push((m > 0.0).then_some(m));
                let e = if lo.is_empty() || hi.is_empty() { 0.5 } else { vertical_ber(v, fl, fh, wl, wh) };
                extrapolated.push(e.min(0.5));
            }
            Bathtub { sub_eye: i, position, measured, extrapolated }
        })
        .collect()
}

/// The eye opening of one sub-eye at a BER, per time column of the histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BerContour {
    /// The BER of the contour.
    pub ber: f64,
    /// Sub-eye index.
    pub sub_eye: usize,
    /// Column times, UI from the window's left edge.
    pub time_ui: Vec<f64>,
    /// Extrapolated (Gaussian per column) bottom and top of the opening; `None` where closed.
    pub extrapolated: Vec<Option<(f64, f64)>>,
    /// Measured bottom and top (quantiles of the column's counts at max(ber, 1/n)); `None`
    /// where closed.
    pub measured: Vec<Option<(f64, f64)>>,
}

/// BER contours of every sub-eye from the histogram columns.
pub fn ber_contours(eye: &EyeDiagram, ber: f64) -> Vec<BerContour> {
    let g = *eye.histogram.geometry();
    let q = q_inverse(ber.clamp(1e-300, 0.49));
    let rows: Vec<f64> = (0..g.amp_bins).map(|r| g.row_amplitude(r)).collect();
    let region_of: Vec<usize> = rows.iter().map(|&v| region(v, &eye.thresholds)).collect();
    let nsub = eye.thresholds.len();
    let mut out: Vec<BerContour> = (0..nsub)
        .map(|i| BerContour { ber, sub_eye: i, time_ui: Vec::new(), extrapolated: Vec::new(), measured: Vec::new() })
        .collect();
    for c in 0..g.time_bins {
        let t = g.column_time_ui(c) + 0.5 * g.span_ui as f64 / g.time_bins as f64;
        // Per level: (count, Σv, Σv²) and the rows in order for quantiles.
        let nl = nsub + 1;
        let mut acc = vec![(0f64, 0f64, 0f64); nl];
        for r in 0..g.amp_bins {
            let k = eye.histogram.count(r, c) as f64;
            if k > 0.0 {
                let a = &mut acc[region_of[r]];
                a.0 += k;
                a.1 += k * rows[r];
                a.2 += k * rows[r] * rows[r];
            }
        }
        let stats: Vec<Option<(f64, f64, f64)>> = acc
            .iter()
            .map(|&(n, s, s2)| (n > 0.0).then(|| (n, s / n, ((s2 / n) - (s / n) * (s / n)).max(0.0).sqrt())))
            .collect();
        for i in 0..nsub {
            let o = &mut out[i];
            o.time_ui.push(t);
            let (Some(l), Some(h)) = (stats[i], stats[i + 1]) else {
                o.extrapolated.push(None);
                o.measured.push(None);
                continue;
            };
            let (bot, top) = (l.1 + q * l.2, h.1 - q * h.2);
            o.extrapolated.push((top > bot).then_some((bot, top)));
            // Measured: walk the rows of each level from the eye inwards.
            let p = ber.max(1.0 / l.0.min(h.0));
            let mut seen = 0.0;
            let mut mb = None;
            for r in (0..g.amp_bins).rev() {
                if region_of[r] == i {
                    seen += eye.histogram.count(r, c) as f64;
                    if seen > p * l.0 {
                        mb = Some(rows[r] + 0.5 * g.amp_step());
                        break;
                    }
                }
            }
            seen = 0.0;
            let mut mt = None;
            for r in 0..g.amp_bins {
                if region_of[r] == i + 1 {
                    seen += eye.histogram.count(r, c) as f64;
                    if seen > p * h.0 {
                        mt = Some(rows[r] - 0.5 * g.amp_step());
                        break;
                    }
                }
            }
            o.measured.push(match (mb, mt) {
                (Some(b), Some(t)) if t > b => Some((b, t)),
                _ => None,
            });
        }
    }
    out
}
