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
        use rayon::prelude::*;
        // min/max ignore NaN and are exact in any order, so the parallel fold is deterministic.
        let (lo, hi) = x
            .par_chunks(1 << 16)
            .map(|c| c.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v))))
            .reduce(|| (f32::INFINITY, f32::NEG_INFINITY), |(a, b), (c, d)| (a.min(c), b.max(d)));
        if x.is_empty() || lo >= hi {
            return Err(Error::Unusable {
                stage: "timing",
                reason: format!("the capture is constant ({lo} V): there are no transitions to recover a clock from"),
            });
        }
        let stride = x.len().div_ceil(CLUSTER_SAMPLES).max(1);
        let sub: Vec<f32> = x.iter().step_by(stride).copied().collect();
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

/// Time (fractional sample index in `[s, s+1]`) where the Keys cubic through `x` crosses
/// `threshold`, given `x[s]` and `x[s+1]` on opposite sides (or on it): Newton steps from the
/// linear estimate, kept only when they stay in the interval and improve on it.
#[inline]
fn refine_crossing(x: &[f32], s: usize, threshold: f32) -> f64 {
    let n = x.len();
    let at = |k: isize| x[k.clamp(0, n as isize - 1) as usize] as f64;
    let si = s as isize;
    let (p0, p1, p2, p3) = (at(si - 1), at(si), at(si + 1), at(si + 2));
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
                let t = refine_crossing(x, s, th);
                let keep = match modulation {
                    Modulation::Nrz => true,
                    Modulation::Pam4 => {
                        let a = levels.decide(cubic_at(x, t - half_ui));
                        let b = levels.decide(cubic_at(x, t + half_ui));
                        a != b && a + b == 2 * j + 1
                    }
                };
                if keep {
                    edges.push(t);
                }
            }
        }
        debug_assert!(edges[start..].windows(2).all(|w| w[0] <= w[1]));
    }
    if levels.thresholds.len() > 1 {
        edges.sort_by(|a, b| a.total_cmp(b));
    }
    edges
}

/// Samples per block of [`data_edges_parallel`].
pub(crate) const EDGE_BLOCK: usize = 1 << 16;

/// The hysteresis comparator of one threshold in [`data_edges`]: side of the band (0 unknown,
/// −1 low, +1 high) and the last samples at or below / at or above the threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Comparator {
    state: i8,
    last_le: usize,
    last_ge: usize,
}

impl Comparator {
    const START: Comparator = Comparator { state: 0, last_le: 0, last_ge: 0 };

    /// The comparator after the samples `x[range]`, from `self` before them. Only the last
    /// out-of-band sample and the last samples on either side of the threshold matter, so the
    /// block is searched backwards and the search usually stops within a few samples.
    fn after(self, x: &[f32], range: std::ops::Range<usize>, th: f32, lo: f32, hi: f32) -> Comparator {
        let (mut state, mut le, mut ge) = (None, None, None);
        for i in range.rev() {
            let v = x[i];
            if state.is_none() && (v > hi || v < lo) {
                state = Some(if v > hi { 1 } else { -1 });
            }
            if le.is_none() && v <= th {
                le = Some(i);
            }
            if ge.is_none() && v >= th {
                ge = Some(i);
            }
            if state.is_some() && le.is_some() && ge.is_some() {
                break;
            }
        }
        Comparator {
            state: state.unwrap_or(self.state),
            last_le: le.unwrap_or(self.last_le),
            last_ge: ge.unwrap_or(self.last_ge),
        }
    }
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
    let mut edges = Vec::new();
    for (j, &th) in levels.thresholds.iter().enumerate() {
        let (lo, hi) = (th - h, th + h);
        let mut entry = Vec::with_capacity(blocks);
        let mut c = Comparator::START;
        for b in 0..blocks {
            entry.push(c);
            c = c.after(x, range(b), th, lo, hi);
        }
        let parts: Vec<Vec<f64>> = (0..blocks)
            .into_par_iter()
            .map(|b| {
                let mut part = Vec::new();
                let mut c = entry[b];
                for i in range(b) {
                    let v = x[i];
                    if v <= th {
                        c.last_le = i;
                    }
                    if v >= th {
                        c.last_ge = i;
                    }
                    let crossing = if v > hi {
                        let rising = c.state == -1;
                        c.state = 1;
                        rising.then_some(c.last_le)
                    } else if v < lo {
                        let falling = c.state == 1;
                        c.state = -1;
                        falling.then_some(c.last_ge)
                    } else {
                        None
                    };
                    if let Some(s) = crossing {
                        if s + 1 > i {
                            continue;
                        }
                        let t = refine_crossing(x, s, th);
                        let keep = match modulation {
                            Modulation::Nrz => true,
                            Modulation::Pam4 => {
                                let a = levels.decide(cubic_at(x, t - half_ui));
                                let b = levels.decide(cubic_at(x, t + half_ui));
                                a != b && a + b == 2 * j + 1
                            }
                        };
                        if keep {
                            part.push(t);
                        }
                    }
                }
                part
            })
            .collect();
        for part in parts {
            edges.extend(part);
        }
    }
    if levels.thresholds.len() > 1 {
        // A total order on the values: the same result as the sequential `sort_by`.
        edges.par_sort_unstable_by(|a, b| a.total_cmp(b));
    }
    edges
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
    fn constant_capture_is_unusable() {
        assert!(matches!(Levels::estimate(&[0.3; 100], Modulation::Nrz, 0.1), Err(Error::Unusable { .. })));
    }

    #[test]
    fn block_parallel_edges_equal_the_sequential_scan() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        for (m, lv) in [(Modulation::Nrz, vec![-1.0f32, 1.0]), (Modulation::Pam4, vec![-3.0, -1.0, 1.0, 3.0])] {
            // Random symbols at 3.7 samples per UI with noise, and long flat stretches right on
            // a threshold (inside the hysteresis band) that straddle block boundaries.
            let spu = 3.7;
            let mut x = Vec::new();
            let mut level = lv[0];
            while x.len() < 60_000 {
                if rng.random_range(0..400u32) == 0 {
                    let th = 0.5 * (lv[0] + lv[1]);
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
            let want = data_edges(&x, &levels, m, spu);
            assert!(want.len() > 3000, "{m}: {} edges", want.len());
            for block in [1usize, 7, 100, 999, 4096, 100_000] {
                assert_eq!(data_edges_blocks(&x, &levels, m, spu, block), want, "{m} block {block}");
            }
            assert_eq!(data_edges_parallel(&x, &levels, m, spu), want);
        }
        let levels = Levels { means: vec![-1.0, 1.0], thresholds: vec![0.0], hysteresis: 0.1 };
        assert!(data_edges_blocks(&[], &levels, Modulation::Nrz, 4.0, 16).is_empty());
    }
}
