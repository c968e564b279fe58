//! Level and eye metrics of an [`EyeSignal`], each defined as in the 802.3 clause it cites
//! (see `shared/reference/standards.md` §4–§5 for the sources and their confidence).

use super::{EyeDiagram, EyeSignal};
use crate::eq::lsq::Cholesky;
use crate::stats::{q_function, q_inverse};
use crate::{Modulation, Result};
use serde::{Deserialize, Serialize};

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

/// Samples of `signal` whose time lies within `half_window_ui` of a symbol centre.
pub(crate) fn window_samples(signal: &EyeSignal, centre_ui: f64, half_window_ui: f64) -> Vec<f32> {
    let s = signal.samples_per_ui;
    let idx: Vec<usize> = (0..s).filter(|&i| ((i as f64 / s as f64) - centre_ui).abs() <= half_window_ui + 1e-9).collect();
    let idx = if idx.is_empty() { vec![s / 2] } else { idx };
    signal.samples.chunks_exact(s).flat_map(|c| idx.iter().map(move |&i| c[i])).collect()
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

/// Quantile of sorted `v` at probability `p` (nearest rank).
pub(crate) fn quantile(v: &[f64], p: f64) -> f64 {
    let i = ((p * v.len() as f64).floor() as usize).min(v.len() - 1);
    v[i]
}

/// Least-squares fit `x = μ + σ·z` of the tail of sorted `v` on the Q scale (the dual-Dirac
/// tail fit): `upper` picks the upper tail. Points with tail probability in
/// `[max(5/n, 1e-7), 0.05]` are used; fewer than 8 such points fall back to mean/σ.
pub(crate) fn tail_fit(v: &[f64], upper: bool) -> (f64, f64) {
    let n = v.len();
    let (m, s) = mean_std(v);
    if n < 200 {
        return (m, s);
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
        return (m, s);
    }
    let den = k * szz - sz * sz;
    if den.abs() < 1e-30 {
        return (m, s);
    }
    let sigma = (k * szx - sz * sx) / den;
    let mu = (sx - sigma * sz) / k;
    if !(sigma.is_finite() && sigma >= 0.0) {
        return (m, s);
    }
    (if upper { mu } else { -mu }, sigma)
}

/// Threshold crossings of `signal` at `threshold`, as offsets from the nearest UI boundary
/// (linear interpolation between samples), sorted.
pub(crate) fn crossings(signal: &EyeSignal, threshold: f64) -> Vec<f64> {
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

/// Computes every metric of `eye` (built from `signal`).
pub fn eye_metrics(signal: &EyeSignal, eye: &EyeDiagram, config: &EyeMetricsConfig) -> Result<EyeMetrics> {
    if !(config.target_ber > 0.0 && config.target_ber < 0.5) {
        return Err(crate::Error::invalid("target_ber", config.target_ber, "must be in (0, 0.5)"));
    }
    let m = eye.modulation;
    let nl = m.levels();
    let th = &eye.thresholds;
    let mut warnings = Vec::new();
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
    if vec_db.is_none() {
        warnings.push("an eye is closed at the target BER: VEC undefined".into());
    }

    // Horizontal: crossings of each threshold.
    let nui = signal.symbols().max(1) as f64;
    let mut eye_widths = Vec::new();
    let mut eye_widths_measured = Vec::new();
    let mut centres = Vec::new();
    let mut crossing_stats = Vec::new();
    for (i, &t) in th.iter().enumerate() {
        let offsets = crossings(signal, t);
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

    // SNDR from a linear fit of the centre samples to the decided symbols.
    let centre = signal.centres();
    let decisions: Vec<usize> = centre.iter().map(|&x| region(x as f64, th)).collect();
    let sndr_db = sndr(&centre, &decisions, m, config.sndr_precursors, config.sndr_postcursors);
    if sndr_db.is_none() {
        warnings.push("SNDR undefined (too few symbols or singular fit)".into());
    }

    // OMA_outer, P_ave, outer ER.
    let p_ave = signal.samples.iter().map(|&x| x as f64).sum::<f64>() / signal.samples.len().max(1) as f64;
    let oma = oma_outer_from_runs(signal, &decisions, nl);
    let (p0, p3) = match oma {
        Some(v) => v,
        None => {
            if nl == 4 {
                warnings.push("no runs of 7 top / 6 bottom symbols: OMA_outer from the outer level means".into());
            }
            (v[0], v[nl - 1])
        }
    };
    let er_db = if signal.is_optical() {
        if p0 > 0.0 {
            Some(10.0 * (p3 / p0).log10())
        } else {
            warnings.push("outer ER undefined: P0 ≤ 0".into());
            None
        }
    } else {
        None
    };
    Ok(EyeMetrics {
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
    })
}

/// SNDR (Annex 120D.3.1.6 form): least-squares pulse response over `pre + 1 + post` symbols
/// plus an offset, `p_max` its largest magnitude, σ_e the rms residual.
pub fn sndr(centres: &[f32], symbols: &[usize], m: Modulation, pre: usize, post: usize) -> Option<f64> {
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

/// (P0, P3) per 802.3 121.8.4: means over the central 2 UI of runs of ≥ 6 bottom and ≥ 7 top
/// symbols; `None` when either kind of run is missing (or for NRZ, which has no such rule).
pub fn oma_outer_from_runs(signal: &EyeSignal, decisions: &[usize], levels: usize) -> Option<(f64, f64)> {
    if levels != 4 {
        return None;
    }
    let s = signal.samples_per_ui;
    let mut sums = [(0f64, 0usize); 2];
    let mut k = 0;
    while k < decisions.len() {
        let d = decisions[k];
        let mut e = k;
        while e < decisions.len() && decisions[e] == d {
            e += 1;
        }
        let len = e - k;
        let which = if d == 0 && len >= 6 {
            Some(0)
        } else if d == levels - 1 && len >= 7 {
            Some(1)
        } else {
            None
        };
        if let Some(w) = which {
            // Symbol j spans samples [j·S, (j+1)·S); the run's centre is at (k + len/2)·S.
            let mid = (2 * k + len) * s / 2;
            let (a, b) = (mid - s, (mid + s).min(signal.samples.len()));
            for &x in &signal.samples[a..b] {
                sums[w].0 += x as f64;
                sums[w].1 += 1;
            }
        }
        k = e;
    }
    if sums[0].1 == 0 || sums[1].1 == 0 {
        return None;
    }
    Some((sums[0].0 / sums[0].1 as f64, sums[1].0 / sums[1].1 as f64))
}

/// Gaussian tail BER of a sub-eye at amplitude `v` between two levels (μ, σ) each carrying
/// probability `w`.
pub(crate) fn vertical_ber(v: f64, lower: (f64, f64), upper: (f64, f64), w_lower: f64, w_upper: f64) -> f64 {
    let t = |x: f64, s: f64| if s > 0.0 { q_function(x / s) } else if x > 0.0 { 0.0 } else { 1.0 };
    w_lower * t(v - lower.0, lower.1) + w_upper * t(upper.0 - v, upper.1)
}
