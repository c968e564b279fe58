//! Adaptive FFE: LMS, normalised LMS, sign-sign LMS and RLS, trained on known symbols and then
//! (optionally) decision-directed.
//!
//! The equalizer convention is [`Ffe`]'s: `y[k] = Σ_j w[j] · x[k·sps + c − j]` (samples outside
//! `x` are 0). The desired output of symbol `k` is `targets[k]` during training (the caller aligns
//! the targets with the outputs, for example with the delay found by [`Ffe::train_mmse`]) and the
//! nearest slicer level afterwards when `decision_directed` is set. With error
//! `e[k] = d[k] − y[k]` and tap-input vector `u[k]` (`u[k][j] = x[k·sps + c − j]`):
//!
//! | rule | update |
//! |---|---|
//! | LMS | `w += μ · e · u` |
//! | NLMS | `w += μ · e · u / (ε + ‖u‖²)` (0 < μ < 2) |
//! | sign-sign LMS | `w += μ · sgn(e) · sgn(u)` (the rule of many SerDes receivers) |
//! | RLS | `k = P u / (λ + uᵀ P u)`, `w += k · e`, `P = (P − k uᵀ P) / λ`, `P₀ = I / δ` |
//!
//! LMS and NLMS converge in the mean to the MMSE (Wiener) solution that [`Ffe::train_mmse`]
//! computes directly; RLS with `λ = 1` computes the regularised least-squares solution exactly
//! (ridge `δ`). Sign-sign LMS converges to a nearby solution (it minimises a different cost).
//!
//! Training runs `passes` times over the first `training_symbols` outputs; the remaining outputs
//! are then either equalized with the final taps (`decision_directed = false`) or processed once
//! more with the taps adapting on decisions.

use super::ffe::Ffe;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Most passes over the training symbols.
pub const MAX_PASSES: usize = 1000;
/// Most taps the RLS rule accepts (its `P` matrix costs `n_taps²` per symbol).
pub const MAX_RLS_TAPS: usize = 256;

/// The adaptation rule of [`adapt_ffe`] (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Adaptation {
    /// Least mean squares with step `mu` (> 0; stable for `mu < 2 / (n_taps · input power)`).
    Lms {
        /// Step size.
        mu: f64,
    },
    /// Normalised LMS with step `mu` (0 < mu < 2).
    Nlms {
        /// Step size.
        mu: f64,
    },
    /// Sign-sign LMS with step `mu` (> 0): each tap moves by ±mu per symbol.
    SignSignLms {
        /// Step size.
        mu: f64,
    },
    /// Recursive least squares with forgetting factor `lambda` (0 < λ ≤ 1) and initial inverse
    /// correlation `P₀ = I / delta` (delta > 0).
    Rls {
        /// Forgetting factor.
        lambda: f64,
        /// Initial regularisation.
        delta: f64,
    },
}

impl Adaptation {
    pub(super) fn validate(&self, n_taps: usize) -> Result<()> {
        let positive = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::invalid(name, v, "must be finite and > 0"))
            }
        };
        match *self {
            Adaptation::Lms { mu } | Adaptation::SignSignLms { mu } => positive("adaptation mu", mu),
            Adaptation::Nlms { mu } => {
                if mu.is_finite() && mu > 0.0 && mu < 2.0 {
                    Ok(())
                } else {
                    Err(Error::invalid("adaptation mu", mu, "NLMS needs 0 < mu < 2"))
                }
            }
            Adaptation::Rls { lambda, delta } => {
                if !(lambda.is_finite() && lambda > 0.0 && lambda <= 1.0) {
                    return Err(Error::invalid("RLS lambda", lambda, "must be in (0, 1]"));
                }
                positive("RLS delta", delta)?;
                if n_taps > MAX_RLS_TAPS {
                    return Err(Error::invalid(
                        "FFE n_taps",
                        n_taps,
                        format!("RLS supports at most {MAX_RLS_TAPS} taps"),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Settings of [`adapt_ffe`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdaptiveConfig {
    /// The update rule. Default LMS, μ = 1e-3.
    pub adaptation: Adaptation,
    /// Outputs (from the first) trained on the known targets. Default 4096.
    pub training_symbols: usize,
    /// After training, keep adapting on slicer decisions. Default true.
    pub decision_directed: bool,
    /// Passes over the training outputs (1..=1000). Default 1.
    pub passes: usize,
    /// Symbols averaged into each point of the MSE trace (≥ 1). Default 256.
    pub trace_decimation: usize,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        AdaptiveConfig {
            adaptation: Adaptation::Lms { mu: 1e-3 },
            training_symbols: 4096,
            decision_directed: true,
            passes: 1,
            trace_decimation: 256,
        }
    }
}

/// Result of [`adapt_ffe_into`] (the outputs went to the caller's buffer).
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptSummary {
    /// The equalizer with the final taps.
    pub ffe: Ffe,
    /// Mean squared adaptation error per block of `trace_decimation` adapted symbols, in the order
    /// processed (training passes first, then the decision-directed part).
    pub mse_trace: Vec<f64>,
    /// Mean squared error against the targets over the last training pass (NaN without training).
    pub training_mse: f64,
    /// Outputs trained on known targets per pass.
    pub trained_symbols: usize,
}

/// Result of [`adapt_ffe`].
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptResult {
    /// The equalizer with the final taps.
    pub ffe: Ffe,
    /// One output per symbol (`x.len() / sps`): the training region holds the outputs of the
    /// last training pass, the rest the outputs as they were produced (taps of that moment when
    /// decision-directed, the final trained taps otherwise, computed with the adapter's own
    /// taps: f64 for RLS).
    pub output: Vec<f32>,
    /// Mean squared adaptation error per block of `trace_decimation` adapted symbols, in the order
    /// processed (training passes first, then the decision-directed part).
    pub mse_trace: Vec<f64>,
    /// Mean squared error against the targets over the last training pass (NaN without training).
    pub training_mse: f64,
    /// Outputs trained on known targets per pass.
    pub trained_symbols: usize,
}

/// Nearest-level slicer with precomputed thresholds.
pub(super) struct LevelSlicer {
    levels: Vec<f32>,
    thresholds: Vec<f32>,
}

impl LevelSlicer {
    pub(super) fn new(levels: &[f32]) -> Result<LevelSlicer> {
        if levels.len() < 2 || levels.len() > 16 {
            return Err(Error::invalid("slicer levels", levels.len(), "need 2..=16 levels"));
        }
        crate::error::check_finite("slicer levels", levels)?;
        if levels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(
                "slicer levels",
                format!("{levels:?}"),
                "must be strictly ascending",
            ));
        }
        Ok(LevelSlicer {
            levels: levels.to_vec(),
            thresholds: levels.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect(),
        })
    }

    #[inline]
    pub(super) fn nearest(&self, y: f32) -> f32 {
        let mut i = 0usize;
        for &t in &self.thresholds {
            i += (y >= t) as usize;
        }
        self.levels[i]
    }
}

/// `Σ a[i]·b[i]` over equal-length slices whose length is a multiple of 8, with eight
/// independent accumulators so that the loop vectorizes.
#[inline]
fn dot8(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Adapts the taps of `init` on `x` (`sps` samples per UI, as [`Ffe`]).
///
/// `targets`: the desired output of symbol `k` (aligned with the outputs, `targets[k]` for
/// `y[k]`) for the first `min(cfg.training_symbols, targets.len())` outputs; `None` runs
/// decision-directed from the first symbol (blind start: `init` must already open the eye).
/// `slicer_levels`: the ascending decision levels in the output domain (e.g. the PAM4 levels
/// the targets use).
///
/// Errors: `sps` differs from `init`'s, invalid config/levels ([`Error::InvalidParameter`]),
/// no target and no decision-directed mode (nothing to adapt), a non-finite sample or target
/// ([`Error::NonFinite`]), an input shorter than one symbol ([`Error::InputTooShort`]), taps
/// that diverge to non-finite values ([`Error::Unusable`], lower `mu`).
pub fn adapt_ffe(
    x: &[f32],
    sps: usize,
    targets: Option<&[f32]>,
    init: &Ffe,
    slicer_levels: &[f32],
    cfg: &AdaptiveConfig,
) -> Result<AdaptResult> {
    let mut output = vec![0.0f32; x.len() / sps.max(1)];
    let s = adapt_ffe_into(x, sps, targets, init, slicer_levels, cfg, &mut output, &mut Vec::new())?;
    Ok(AdaptResult {
        ffe: s.ffe,
        output,
        mse_trace: s.mse_trace,
        training_mse: s.training_mse,
        trained_symbols: s.trained_symbols,
    })
}

/// The checks shared by [`adapt_ffe_into`] and [`adapt_ffe_dfe`](super::adapt_ffe_dfe): `init`
/// at `sps` samples per UI, the adaptation's parameters, targets unless decision-directed,
/// finite input and targets, at least one output. Returns the slicer and the number of
/// outputs (`x.len() / sps`).
pub(super) fn validate_adaptation(
    x: &[f32],
    sps: usize,
    targets: Option<&[f32]>,
    init: &Ffe,
    slicer_levels: &[f32],
    cfg: &AdaptiveConfig,
) -> Result<(LevelSlicer, usize)> {
    if sps != init.samples_per_symbol() {
        return Err(Error::invalid(
            "samples_per_symbol",
            sps,
            format!("the initial FFE has {} samples per symbol", init.samples_per_symbol()),
        ));
    }
    let l = init.taps().len();
    cfg.adaptation.validate(l)?;
    if cfg.passes == 0 || cfg.passes > MAX_PASSES {
        return Err(Error::invalid("adaptation passes", cfg.passes, format!("must be 1..={MAX_PASSES}")));
    }
    if cfg.trace_decimation == 0 {
        return Err(Error::invalid("trace_decimation", 0, "must be at least 1"));
    }
    if targets.is_none() && !cfg.decision_directed {
        return Err(Error::invalid(
            "decision_directed",
            false,
            "without targets only decision-directed adaptation is possible",
        ));
    }
    let slicer = LevelSlicer::new(slicer_levels)?;
    crate::error::check_finite("adaptive FFE input", x)?;
    if let Some(t) = targets {
        crate::error::check_finite("adaptive FFE targets", t)?;
    }
    let n_out = x.len() / sps;
    if n_out == 0 {
        return Err(Error::InputTooShort {
            what: "adaptive FFE input (samples)",
            needed: sps,
            got: x.len(),
        });
    }
    Ok((slicer, n_out))
}

/// [`adapt_ffe`] writing the outputs into `output` (length `x.len() / sps`, else
/// [`Error::LengthMismatch`]) and keeping its padded copy of the input in `scratch` (grown as
/// needed, reusable across calls): no allocation proportional to the input.
#[allow(clippy::too_many_arguments)]
pub fn adapt_ffe_into(
    x: &[f32],
    sps: usize,
    targets: Option<&[f32]>,
    init: &Ffe,
    slicer_levels: &[f32],
    cfg: &AdaptiveConfig,
    output: &mut [f32],
    scratch: &mut Vec<f32>,
) -> Result<AdaptSummary> {
    let (slicer, n_out) = validate_adaptation(x, sps, targets, init, slicer_levels, cfg)?;
    let l = init.taps().len();
    if output.len() != n_out {
        return Err(Error::LengthMismatch {
            what: "adaptive FFE output (input length / samples_per_symbol)",
            expected: n_out,
            got: output.len(),
        });
    }
    let n_train = targets.map_or(0, |t| t.len().min(cfg.training_symbols).min(n_out));
    let targets = targets.unwrap_or(&[]);

    // Padded input: the tap window of output k is xp[k·sps + c + pad0 − (L − 1) ..][..L] with
    // taps reversed; `lanes` (a multiple of 8) ≥ L, the extra leading lanes carry zero taps.
    let c = init.reference_tap();
    let lanes = l.next_multiple_of(8);
    pad_input(x, sps, c, lanes, n_out, scratch);
    let xp = &scratch[..];
    // Window of output k starts at k·sps + c (in xp) and spans `lanes` samples; the last L of
    // them are the real tap window.
    let dummy = lanes - l;
    let mut wr = vec![0.0f32; lanes];
    for (j, &w) in init.taps().iter().enumerate() {
        wr[lanes - 1 - j] = w;
    }

    let mut trace = Trace::new(cfg.trace_decimation);
    let mut training_mse = f64::NAN;
    let run = Run {
        xp,
        sps,
        c,
        lanes,
        targets,
        n_train,
        n_out,
        passes: if n_train > 0 { cfg.passes } else { 0 },
        decision_directed: cfg.decision_directed,
        slicer: &slicer,
    };
    // LMS, the rule that must keep up with the line rate, runs on fixed-size tap arrays that
    // stay in registers; the other rules and long LMS equalizers on the general engine.
    let taps = match (cfg.adaptation, lanes) {
        (Adaptation::Lms { mu }, 8) => run.drive_lms(FixedLms::<8>::new(&wr, dummy, mu), output, &mut trace, &mut training_mse),
        (Adaptation::Lms { mu }, 16) => run.drive_lms(FixedLms::<16>::new(&wr, dummy, mu), output, &mut trace, &mut training_mse),
        (Adaptation::Lms { mu }, 24) => run.drive_lms(FixedLms::<24>::new(&wr, dummy, mu), output, &mut trace, &mut training_mse),
        (Adaptation::Lms { mu }, 32) => run.drive_lms(FixedLms::<32>::new(&wr, dummy, mu), output, &mut trace, &mut training_mse),
        (Adaptation::Lms { mu }, 48) => run.drive_lms(FixedLms::<48>::new(&wr, dummy, mu), output, &mut trace, &mut training_mse),
        (Adaptation::Lms { mu }, 64) => run.drive_lms(FixedLms::<64>::new(&wr, dummy, mu), output, &mut trace, &mut training_mse),
        _ => run.drive(Engine::new(cfg.adaptation, &wr, dummy), output, &mut trace, &mut training_mse),
    };
    let taps: Vec<f32> = taps.into_iter().take(l).collect();
    if let Some(index) = taps.iter().position(|v| !v.is_finite()) {
        return Err(Error::Unusable {
            stage: "adaptive FFE",
            reason: format!("tap {index} diverged to {}; lower the step size", taps[index]),
        });
    }
    Ok(AdaptSummary {
        ffe: Ffe::new(taps, sps, c)?,
        mse_trace: trace.finish(),
        training_mse,
        trained_symbols: n_train,
    })
}

/// The padded input of the adapters: `lanes − 1` zeros, then `x` up to the last sample output
/// `n_out − 1` reads (zeros past the end), so that the tap window of output `k` is
/// `scratch[k·sps + c..][..lanes]` (taps reversed).
pub(super) fn pad_input(x: &[f32], sps: usize, c: usize, lanes: usize, n_out: usize, scratch: &mut Vec<f32>) {
    let pad0 = lanes - 1;
    let xp_len = pad0 + (n_out - 1) * sps + c + 1;
    let copy = x.len().min(xp_len - pad0);
    scratch.clear();
    scratch.resize(pad0, 0.0);
    scratch.extend_from_slice(&x[..copy]);
    scratch.resize(xp_len, 0.0);
}

/// The loops of [`adapt_ffe`] over the padded input.
struct Run<'a> {
    xp: &'a [f32],
    sps: usize,
    c: usize,
    lanes: usize,
    targets: &'a [f32],
    n_train: usize,
    n_out: usize,
    passes: usize,
    decision_directed: bool,
    slicer: &'a LevelSlicer,
}

impl Run<'_> {
    /// Training passes, then the decision-directed part; returns the taps in [`Ffe`] order
    /// (at least `L` of them). The adapter is taken by value so that its taps live in
    /// registers for the whole loop.
    fn drive<A: Adapter>(&self, mut a: A, output: &mut [f32], trace: &mut Trace, training_mse: &mut f64) -> Vec<f32> {
        let (sps, c, lanes) = (self.sps, self.c, self.lanes);
        for _ in 0..self.passes {
            let mut sum = 0.0f64;
            for (k, (out, &t)) in output[..self.n_train].iter_mut().zip(self.targets).enumerate() {
                let u = &self.xp[k * sps + c..k * sps + c + lanes];
                let y = a.output(u);
                let e = t - y;
                a.update(u, e);
                *out = y;
                sum += (e as f64) * (e as f64);
                trace.push(e);
            }
            *training_mse = sum / self.n_train as f64;
        }
        if self.decision_directed {
            for (k, out) in output.iter_mut().enumerate().take(self.n_out).skip(self.n_train) {
                let u = &self.xp[k * sps + c..k * sps + c + lanes];
                let y = a.output(u);
                let e = self.slicer.nearest(y) - y;
                a.update(u, e);
                *out = y;
                trace.push(e);
            }
        } else {
            for (k, out) in output.iter_mut().enumerate().take(self.n_out).skip(self.n_train) {
                *out = a.output(&self.xp[k * sps + c..k * sps + c + lanes]);
            }
        }
        a.taps()
    }
}

impl Run<'_> {
    /// [`Run::drive`] for LMS with the output computed one symbol ahead, which takes the tap
    /// dot product off the error-feedback loop: since `w[k+1] = w[k] + g[k]·u[k]` (masked),
    /// `y[k+1] = w[k]·u[k+1] + g[k]·(u[k]·u[k+1])`, and both dot products are known before
    /// the error `e[k]` is. The loop-carried chain shrinks from dot product + error + update to
    /// error, one multiply and one add. The same LMS recursion as [`Run::drive`]; outputs and
    /// taps differ from it only by rounding (tested against the direct form in f64).
    fn drive_lms<const L: usize>(&self, mut a: FixedLms<L>, output: &mut [f32], trace: &mut Trace, training_mse: &mut f64) -> Vec<f32> {
        debug_assert_eq!(self.lanes, L);
        for _ in 0..self.passes {
            let targets = self.targets;
            let sum = self.lms_phase(&mut a, 0..self.n_train, output, trace, |k, y| targets[k] - y);
            *training_mse = sum / self.n_train as f64;
        }
        if self.decision_directed {
            let slicer = self.slicer;
            self.lms_phase(&mut a, self.n_train..self.n_out, output, trace, |_, y| slicer.nearest(y) - y);
        } else {
            for (k, out) in output.iter_mut().enumerate().take(self.n_out).skip(self.n_train) {
                *out = a.output(self.window::<L>(k));
            }
        }
        a.taps()
    }

    /// The tap window of output `k`.
    #[inline(always)]
    fn window<const L: usize>(&self, k: usize) -> &[f32; L] {
        let at = k * self.sps + self.c;
        self.xp[at..at + L].try_into().expect("window of L lanes")
    }

    /// One phase of [`Run::drive_lms`]: outputs `range`, the error of output `k` being
    /// `err(k, y)`; returns the sum of squared errors.
    #[inline(always)]
    fn lms_phase<const L: usize>(
        &self,
        a: &mut FixedLms<L>,
        range: std::ops::Range<usize>,
        output: &mut [f32],
        trace: &mut Trace,
        err: impl Fn(usize, f32) -> f32,
    ) -> f64 {
        let mut sum = 0.0f64;
        if range.is_empty() {
            return sum;
        }
        let end = range.end;
        #[cfg(target_arch = "x86_64")]
        if L <= 64 && crate::simd::avx2() {
            // SAFETY: AVX2 is present; the windows `k·sps + c .. + L` of the outputs `k` in
            // `range` lie inside `xp` (sized for the last output); L is a multiple of 8, ≤ 64.
            unsafe { lms_avx2::phase::<L>(self.xp, self.sps, self.c, a, range, output, trace, &err, &mut sum) };
            return sum;
        }
        let mut y = a.output(self.window::<L>(range.start));
        for k in range {
            let u = self.window::<L>(k);
            let e = err(k, y);
            let g = a.mu * e;
            let mut um = [0.0f32; L];
            for ((m, &ui), &mi) in um.iter_mut().zip(u).zip(&a.mask) {
                *m = ui * mi;
            }
            let next = if k + 1 < end {
                let un = self.window::<L>(k + 1);
                a.output(un) + g * dot_fixed(&um, un)
            } else {
                0.0
            };
            for (w, &v) in a.w.iter_mut().zip(&um) {
                *w += g * v;
            }
            output[k] = y;
            sum += (e as f64) * (e as f64);
            trace.push(e);
            y = next;
        }
        sum
    }
}

/// [`Run::lms_phase`] with explicit AVX2 vectors: taps, mask and windows as `L/8` registers
/// each (the compiler's own vectorization of the fixed-size loops interleaves the two dot
/// products lane by lane and spills). Per lane the same multiplies and adds as the portable
/// loop; only the final horizontal sum of the eight partial sums is ordered differently, so
/// results agree with it to rounding (both are tested against the f64 direct form).
#[cfg(target_arch = "x86_64")]
mod lms_avx2 {
    use super::{FixedLms, Trace};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2")]
    #[inline]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let t = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps::<1>(t, t)))
    }

    /// # Safety
    /// AVX2 must be available; `L` a multiple of 8 and ≤ 64; `xp[k·sps + c..][..L]` in bounds
    /// for every `k` in `range`; `output.len() ≥ range.end`.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)] // i indexes several registers
    pub(super) unsafe fn phase<const L: usize>(
        xp: &[f32],
        sps: usize,
        c: usize,
        a: &mut FixedLms<L>,
        range: std::ops::Range<usize>,
        output: &mut [f32],
        trace: &mut Trace,
        err: &impl Fn(usize, f32) -> f32,
        sum: &mut f64,
    ) {
        const MAXV: usize = 8;
        let v = L / 8;
        debug_assert!((1..=MAXV).contains(&v) && L.is_multiple_of(8));
        debug_assert!(range.is_empty() || (range.end - 1) * sps + c + L <= xp.len());
        unsafe {
            let p = xp.as_ptr();
            let mut w = [_mm256_setzero_ps(); MAXV];
            let mut m = [_mm256_setzero_ps(); MAXV];
            for i in 0..v {
                w[i] = _mm256_loadu_ps(a.w.as_ptr().add(8 * i));
                m[i] = _mm256_loadu_ps(a.mask.as_ptr().add(8 * i));
            }
            let end = range.end;
            let at0 = range.start * sps + c;
            let mut acc = _mm256_mul_ps(w[0], _mm256_loadu_ps(p.add(at0)));
            for i in 1..v {
                acc = _mm256_add_ps(acc, _mm256_mul_ps(w[i], _mm256_loadu_ps(p.add(at0 + 8 * i))));
            }
            let mut y = hsum(acc);
            let mu = a.mu;
            for k in range {
                let at = k * sps + c;
                let mut um = [_mm256_setzero_ps(); MAXV];
                for i in 0..v {
                    um[i] = _mm256_mul_ps(_mm256_loadu_ps(p.add(at + 8 * i)), m[i]);
                }
                let e = err(k, y);
                let g = mu * e;
                let next = if k + 1 < end {
                    let an = at + sps;
                    let un0 = _mm256_loadu_ps(p.add(an));
                    let mut acc_a = _mm256_mul_ps(w[0], un0);
                    let mut acc_r = _mm256_mul_ps(um[0], un0);
                    for i in 1..v {
                        let un = _mm256_loadu_ps(p.add(an + 8 * i));
                        acc_a = _mm256_add_ps(acc_a, _mm256_mul_ps(w[i], un));
                        acc_r = _mm256_add_ps(acc_r, _mm256_mul_ps(um[i], un));
                    }
                    hsum(acc_a) + g * hsum(acc_r)
                } else {
                    0.0
                };
                let gv = _mm256_set1_ps(g);
                for i in 0..v {
                    w[i] = _mm256_add_ps(w[i], _mm256_mul_ps(gv, um[i]));
                }
                output[k] = y;
                *sum += (e as f64) * (e as f64);
                trace.push(e);
                y = next;
            }
            for i in 0..v {
                _mm256_storeu_ps(a.w.as_mut_ptr().add(8 * i), w[i]);
            }
        }
    }
}

/// `Σ a[i]·b[i]` on fixed-size arrays, in the order of [`dot8`].
#[inline(always)]
fn dot_fixed<const L: usize>(a: &[f32; L], b: &[f32; L]) -> f32 {
    let mut acc = [0.0f32; 8];
    for c in 0..L / 8 {
        for i in 0..8 {
            acc[i] += a[c * 8 + i] * b[c * 8 + i];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// One adaptation rule acting on tap windows of `lanes` samples (taps reversed).
trait Adapter {
    fn output(&self, u: &[f32]) -> f32;
    fn update(&mut self, u: &[f32], e: f32);
    /// Taps in [`Ffe`] order, dummy lanes last.
    fn taps(&self) -> Vec<f32>;
}

/// LMS on `L` lanes held in a fixed-size array (the compiler keeps it in vector registers);
/// the `dummy` leading lanes are masked out of the update so their taps stay zero.
struct FixedLms<const L: usize> {
    w: [f32; L],
    mask: [f32; L],
    mu: f32,
}

impl<const L: usize> FixedLms<L> {
    fn new(wr: &[f32], dummy: usize, mu: f64) -> Self {
        let mut w = [0.0f32; L];
        w.copy_from_slice(wr);
        let mut mask = [1.0f32; L];
        mask[..dummy].iter_mut().for_each(|m| *m = 0.0);
        FixedLms { w, mask, mu: mu as f32 }
    }
}

impl<const L: usize> Adapter for FixedLms<L> {
    /// The same sum, in the same order, as [`dot8`], on fixed-size arrays (fully unrolled).
    #[inline(always)]
    fn output(&self, u: &[f32]) -> f32 {
        let u: &[f32; L] = u[..L].try_into().expect("window of L lanes");
        let mut acc = [0.0f32; 8];
        for c in 0..L / 8 {
            for i in 0..8 {
                acc[i] += self.w[c * 8 + i] * u[c * 8 + i];
            }
        }
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
    }

    #[inline(always)]
    fn update(&mut self, u: &[f32], e: f32) {
        let u: &[f32; L] = u[..L].try_into().expect("window of L lanes");
        let g = self.mu * e;
        for ((w, &ui), &m) in self.w.iter_mut().zip(u).zip(&self.mask) {
            *w += g * (ui * m);
        }
    }

    fn taps(&self) -> Vec<f32> {
        self.w.iter().rev().copied().collect()
    }
}

impl Adapter for Engine {
    #[inline(always)]
    fn output(&self, u: &[f32]) -> f32 {
        Engine::output(self, u)
    }

    #[inline(always)]
    fn update(&mut self, u: &[f32], e: f32) {
        Engine::update(self, u, e)
    }

    fn taps(&self) -> Vec<f32> {
        Engine::taps(self)
    }
}

/// Decimated mean-squared-error trace.
pub(super) struct Trace {
    every: usize,
    sum: f64,
    count: usize,
    points: Vec<f64>,
}

impl Trace {
    pub(super) fn new(every: usize) -> Trace {
        Trace { every, sum: 0.0, count: 0, points: Vec::new() }
    }

    #[inline]
    pub(super) fn push(&mut self, e: f32) {
        self.sum += (e as f64) * (e as f64);
        self.count += 1;
        if self.count == self.every {
            self.points.push(self.sum / self.every as f64);
            self.sum = 0.0;
            self.count = 0;
        }
    }

    pub(super) fn finish(mut self) -> Vec<f64> {
        if self.count > 0 {
            self.points.push(self.sum / self.count as f64);
        }
        self.points
    }
}

/// State of one adaptation rule. Taps are kept reversed over `lanes` (a multiple of 8) with
/// `dummy` leading zero lanes that are never updated.
pub(super) enum Engine {
    Lms { w: Vec<f32>, mu: f32, dummy: usize },
    Nlms { w: Vec<f32>, mu: f32, dummy: usize },
    SignSign { w: Vec<f32>, mu: f32, dummy: usize },
    Rls(Box<RlsState>),
}

pub(super) struct RlsState {
    w: Vec<f64>,
    p: Vec<f64>,
    lambda: f64,
    dummy: usize,
    u: Vec<f64>,
    pu: Vec<f64>,
    updates: usize,
}

impl Engine {
    pub(super) fn new(rule: Adaptation, wr: &[f32], dummy: usize) -> Engine {
        match rule {
            Adaptation::Lms { mu } => Engine::Lms { w: wr.to_vec(), mu: mu as f32, dummy },
            Adaptation::Nlms { mu } => Engine::Nlms { w: wr.to_vec(), mu: mu as f32, dummy },
            Adaptation::SignSignLms { mu } => Engine::SignSign { w: wr.to_vec(), mu: mu as f32, dummy },
            Adaptation::Rls { lambda, delta } => {
                let n = wr.len() - dummy;
                let mut p = vec![0.0f64; n * n];
                for i in 0..n {
                    p[i * n + i] = 1.0 / delta;
                }
                Engine::Rls(Box::new(RlsState {
                    w: wr[dummy..].iter().map(|&v| v as f64).collect(),
                    p,
                    lambda,
                    dummy,
                    u: vec![0.0; n],
                    pu: vec![0.0; n],
                    updates: 0,
                }))
            }
        }
    }

    #[inline]
    pub(super) fn output(&self, u: &[f32]) -> f32 {
        match self {
            Engine::Lms { w, .. } | Engine::Nlms { w, .. } | Engine::SignSign { w, .. } => dot8(w, u),
            Engine::Rls(s) => s
                .w
                .iter()
                .zip(&u[s.dummy..])
                .map(|(&a, &b)| a * b as f64)
                .sum::<f64>() as f32,
        }
    }

    #[inline]
    pub(super) fn update(&mut self, u: &[f32], e: f32) {
        match self {
            Engine::Lms { w, mu, dummy } => {
                let g = *mu * e;
                for (wi, &ui) in w[*dummy..].iter_mut().zip(&u[*dummy..]) {
                    *wi += g * ui;
                }
            }
            Engine::Nlms { w, mu, dummy } => {
                let norm = dot8(u, u) - u[..*dummy].iter().map(|v| v * v).sum::<f32>();
                let g = *mu * e / (1e-12 + norm.max(0.0));
                for (wi, &ui) in w[*dummy..].iter_mut().zip(&u[*dummy..]) {
                    *wi += g * ui;
                }
            }
            Engine::SignSign { w, mu, dummy } => {
                let g = if e > 0.0 { *mu } else if e < 0.0 { -*mu } else { 0.0 };
                for (wi, &ui) in w[*dummy..].iter_mut().zip(&u[*dummy..]) {
                    let s = if ui > 0.0 { g } else if ui < 0.0 { -g } else { 0.0 };
                    *wi += s;
                }
            }
            Engine::Rls(s) => s.update(u, e),
        }
    }

    /// Taps in [`Ffe`] order (`w[j]` multiplies `x[k·sps + c − j]`).
    pub(super) fn taps(&self) -> Vec<f32> {
        match self {
            Engine::Lms { w, .. } | Engine::Nlms { w, .. } | Engine::SignSign { w, .. } => {
                w.iter().rev().copied().collect()
            }
            Engine::Rls(s) => s.w.iter().rev().map(|&v| v as f32).collect(),
        }
    }
}

impl RlsState {
    fn update(&mut self, u32s: &[f32], e: f32) {
        let n = self.w.len();
        for (d, &s) in self.u.iter_mut().zip(&u32s[self.dummy..]) {
            *d = s as f64;
        }
        // π = P u (P symmetric), denominator λ + uᵀ π.
        for i in 0..n {
            let row = &self.p[i * n..(i + 1) * n];
            self.pu[i] = row.iter().zip(&self.u).map(|(a, b)| a * b).sum();
        }
        let denom = self.lambda + self.pu.iter().zip(&self.u).map(|(a, b)| a * b).sum::<f64>();
        let inv = 1.0 / denom;
        let e = e as f64;
        for (wi, &pi) in self.w.iter_mut().zip(&self.pu) {
            *wi += pi * inv * e;
        }
        let il = 1.0 / self.lambda;
        for i in 0..n {
            let ki = self.pu[i] * inv;
            let row = &mut self.p[i * n..(i + 1) * n];
            for (pij, &pj) in row.iter_mut().zip(&self.pu) {
                *pij = (*pij - ki * pj) * il;
            }
        }
        self.updates += 1;
        // Keep P symmetric against rounding drift.
        if self.updates.is_multiple_of(1024) {
            for i in 0..n {
                for j in 0..i {
                    let m = 0.5 * (self.p[i * n + j] + self.p[j * n + i]);
                    self.p[i * n + j] = m;
                    self.p[j * n + i] = m;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eq::FfeConfig;
    use crate::Modulation;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    /// T-spaced ISI channel `x[k] = Σ_m h_k[m] · a[k − m]` (h may vary with k) plus AWGN.
    fn isi(levels: &[f32], h: impl Fn(usize) -> Vec<f32>, sigma: f32, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0f32, sigma).unwrap();
        (0..levels.len())
            .map(|k| {
                let hk = h(k);
                let s: f32 = hk.iter().enumerate().filter(|&(m, _)| m <= k).map(|(m, &v)| v * levels[k - m]).sum();
                s + noise.sample(&mut rng)
            })
            .collect()
    }

    fn pam4(n: usize, seed: u64) -> (Vec<u8>, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s: Vec<u8> = (0..n).map(|_| rng.random_range(0..4u8)).collect();
        let l = Modulation::Pam4.symbols_to_levels(&s);
        (s, l)
    }

    fn aligned(levels: &[f32], delay: isize) -> Vec<f32> {
        (0..levels.len() as isize)
            .map(|k| levels.get((k + delay) as usize).copied().filter(|_| k + delay >= 0).unwrap_or(0.0))
            .collect()
    }

    fn mse(y: &[f32], t: &[f32], range: std::ops::Range<usize>) -> f64 {
        let n = range.len() as f64;
        range.map(|k| ((y[k] - t[k]) as f64).powi(2)).sum::<f64>() / n
    }

    /// Direct-form reference LMS (f64, no padding tricks): the oracle for the fast loop.
    fn reference_lms(x: &[f32], t: &[f32], w0: &[f32], c: usize, mu: f64, n_train: usize) -> Vec<f64> {
        let mut w: Vec<f64> = w0.iter().map(|&v| v as f64).collect();
        for (k, &tk) in t.iter().enumerate().take(n_train) {
            let u: Vec<f64> = (0..w.len())
                .map(|j| {
                    let i = k as isize + c as isize - j as isize;
                    if i >= 0 && (i as usize) < x.len() { x[i as usize] as f64 } else { 0.0 }
                })
                .collect();
            let y: f64 = w.iter().zip(&u).map(|(a, b)| a * b).sum();
            let e = tk as f64 - y;
            for (wj, uj) in w.iter_mut().zip(&u) {
                *wj += mu * e * uj;
            }
        }
        w
    }

    #[test]
    fn fast_lms_matches_the_direct_form() {
        let (_, lv) = pam4(3000, 1);
        let x = isi(&lv, |_| vec![1.0, 0.4, 0.1], 0.05, 2);
        for l in [1usize, 5, 8, 15, 17, 41, 70] {
            let c = l / 3;
            let init = Ffe::identity(l, 1, c).unwrap();
            let t = aligned(&lv, 0);
            let cfg = AdaptiveConfig {
                adaptation: Adaptation::Lms { mu: 5e-3 },
                training_symbols: 3000,
                decision_directed: false,
                ..Default::default()
            };
            let r = adapt_ffe(&x, 1, Some(&t), &init, &Modulation::Pam4.level_set(), &cfg).unwrap();
            let want = reference_lms(&x, &t, init.taps(), c, 5e-3, 3000);
            for (a, b) in r.ffe.taps().iter().zip(&want) {
                assert!((*a as f64 - b).abs() < 1e-3, "L {l}: {:?} vs {want:?}", r.ffe.taps());
            }
        }
    }

    #[test]
    fn every_rule_converges_to_the_mmse_solution() {
        let n = 30_000;
        let (_, lv) = pam4(n, 3);
        let x = isi(&lv, |_| vec![0.2, 1.0, 0.45, 0.15], 0.05, 4);
        let fcfg = FfeConfig { n_taps: 15, delay_search: 3, ridge: 0.0, ..Default::default() };
        let mmse = Ffe::train_mmse(&x, &lv, &fcfg).unwrap();
        let t = aligned(&lv, mmse.delay);
        let eval = 100..n - 100;
        let y_star = mmse.ffe.equalize(&x);
        let mse_star = mse(&y_star, &t, eval.clone());
        let norm_star: f64 = mmse.ffe.taps().iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        let init = Ffe::identity(15, 1, mmse.ffe.reference_tap()).unwrap();
        for (rule, passes, mse_tol, tap_tol) in [
            (Adaptation::Lms { mu: 2e-3 }, 4, 0.03, 0.05),
            (Adaptation::Nlms { mu: 5e-3 }, 4, 0.03, 0.05),
            (Adaptation::SignSignLms { mu: 1e-4 }, 4, 0.10, 0.10),
            (Adaptation::Rls { lambda: 1.0, delta: 1e-3 }, 1, 0.002, 0.005),
        ] {
            let cfg = AdaptiveConfig {
                adaptation: rule,
                training_symbols: n,
                decision_directed: false,
                passes,
                ..Default::default()
            };
            let r = adapt_ffe(&x, 1, Some(&t), &init, &Modulation::Pam4.level_set(), &cfg).unwrap();
            let y = r.ffe.equalize(&x);
            let m = mse(&y, &t, eval.clone());
            let dist: f64 = r
                .ffe
                .taps()
                .iter()
                .zip(mmse.ffe.taps())
                .map(|(&a, &b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(m < mse_star * (1.0 + mse_tol), "{rule:?}: mse {m} vs MMSE {mse_star}");
            assert!(dist < tap_tol * norm_star, "{rule:?}: taps {:?} vs {:?}", r.ffe.taps(), mmse.ffe.taps());
            // The trace falls from the initial (identity) error to the MMSE floor (last 8 full
            // blocks averaged); RLS gets there within the first trace block.
            let first = r.mse_trace[0];
            let tr = &r.mse_trace[r.mse_trace.len() - 9..r.mse_trace.len() - 1];
            let last = tr.iter().sum::<f64>() / 8.0;
            println!("{rule:?}: mse {m:.5} (MMSE {mse_star:.5}), first trace block {first:.5}, last {last:.5}");
            if matches!(rule, Adaptation::Rls { .. }) {
                assert!(r.mse_trace[1] < 1.3 * last && last < mse_star * 1.3, "{rule:?}: trace {first} → {last}");
            } else {
                assert!(first > 2.0 * last, "{rule:?}: trace {first} → {last}");
            }
        }
    }

    #[test]
    fn decision_directed_tracks_a_drifting_channel() {
        let n = 60_000;
        let train = 10_000;
        let (sym, lv) = pam4(n, 5);
        // The post-cursor drifts from 0.45 to 0.8 after training.
        let post = |k: usize| if k < train { 0.45 } else { 0.45 + 0.35 * (k - train) as f32 / (n - train) as f32 };
        let x = isi(&lv, |k| vec![1.0, post(k), 0.1], 0.02, 6);
        let t = aligned(&lv, 0);
        let init = Ffe::identity(11, 1, 0).unwrap();
        let run = |dd: bool| {
            let cfg = AdaptiveConfig {
                adaptation: Adaptation::Nlms { mu: 0.02 },
                training_symbols: train,
                decision_directed: dd,
                passes: 2,
                ..Default::default()
            };
            adapt_ffe(&x, 1, Some(&t), &init, &Modulation::Pam4.level_set(), &cfg).unwrap()
        };
        let slicer = crate::modulation::Slicer::for_levels(&Modulation::Pam4.level_set()).unwrap();
        let errors = |r: &AdaptResult, range: std::ops::Range<usize>| {
            range.filter(|&k| slicer.decide(r.output[k]) != sym[k]).count()
        };
        let frozen = run(false);
        let tracking = run(true);
        let tail = n - 10_000..n;
        assert!(errors(&frozen, tail.clone()) > 200, "frozen taps should fail: {}", errors(&frozen, tail.clone()));
        assert_eq!(errors(&tracking, train..n), 0);
        // The frozen result keeps the trained taps; the tracking one moved.
        assert_ne!(frozen.ffe.taps(), tracking.ffe.taps());
    }

    #[test]
    fn blind_decision_directed_start() {
        let n = 20_000;
        let (sym, lv) = pam4(n, 7);
        let x = isi(&lv, |_| vec![1.0, 0.25, 0.05], 0.02, 8);
        let init = Ffe::identity(9, 1, 0).unwrap();
        let cfg = AdaptiveConfig {
            adaptation: Adaptation::Lms { mu: 5e-3 },
            ..Default::default()
        };
        let r = adapt_ffe(&x, 1, None, &init, &Modulation::Pam4.level_set(), &cfg).unwrap();
        assert_eq!(r.trained_symbols, 0);
        assert!(r.training_mse.is_nan());
        let slicer = crate::modulation::Slicer::for_levels(&Modulation::Pam4.level_set()).unwrap();
        let errs = (n / 2..n).filter(|&k| slicer.decide(r.output[k]) != sym[k]).count();
        assert_eq!(errs, 0);
        let first = r.mse_trace[0];
        let last = *r.mse_trace.last().unwrap();
        assert!(last < 0.3 * first, "{first} → {last}");
        // The first post-cursor tap cancels the channel's 0.25.
        assert!((r.ffe.taps()[1] + 0.25).abs() < 0.05, "{:?}", r.ffe.taps());
    }

    #[test]
    fn fractionally_spaced_lms_runs() {
        // T/2 input: the tap window steps by two samples per symbol.
        let n = 20_000;
        let (sym, lv) = pam4(n, 9);
        let mut x = vec![0.0f32; 2 * n];
        for k in 0..n {
            x[2 * k] += lv[k];
            x[2 * k + 1] += 0.5 * lv[k];
            if k + 1 < n {
                x[2 * k + 2] += 0.3 * lv[k];
            }
        }
        let t = aligned(&lv, 0);
        let init = Ffe::identity(8, 2, 0).unwrap();
        let cfg = AdaptiveConfig {
            adaptation: Adaptation::Nlms { mu: 0.05 },
            training_symbols: 5000,
            ..Default::default()
        };
        let r = adapt_ffe(&x, 2, Some(&t), &init, &Modulation::Pam4.level_set(), &cfg).unwrap();
        let slicer = crate::modulation::Slicer::for_levels(&Modulation::Pam4.level_set()).unwrap();
        assert_eq!((5000..n).filter(|&k| slicer.decide(r.output[k]) != sym[k]).count(), 0);
    }

    #[test]
    fn bad_inputs_are_named_errors() {
        let init = Ffe::identity(5, 1, 1).unwrap();
        let lv = Modulation::Pam4.level_set();
        let x = vec![0.1f32; 100];
        let cfg = AdaptiveConfig::default();
        assert!(adapt_ffe(&x, 2, None, &init, &lv, &cfg).is_err());
        let bad = |a: Adaptation| AdaptiveConfig { adaptation: a, ..Default::default() };
        assert!(adapt_ffe(&x, 1, None, &init, &lv, &bad(Adaptation::Lms { mu: -1.0 })).is_err());
        assert!(adapt_ffe(&x, 1, None, &init, &lv, &bad(Adaptation::Nlms { mu: 2.5 })).is_err());
        assert!(adapt_ffe(&x, 1, None, &init, &lv, &bad(Adaptation::Rls { lambda: 1.5, delta: 1.0 })).is_err());
        assert!(adapt_ffe(&x, 1, None, &init, &[1.0, 0.0], &cfg).is_err());
        assert!(adapt_ffe(&x, 1, None, &init, &lv, &AdaptiveConfig { decision_directed: false, ..Default::default() }).is_err());
        assert!(matches!(
            adapt_ffe(&[0.0, f32::NAN], 1, None, &init, &lv, &cfg),
            Err(Error::NonFinite { index: 1, .. })
        ));
        assert!(matches!(adapt_ffe(&[], 1, None, &init, &lv, &cfg), Err(Error::InputTooShort { .. })));
        assert!(matches!(
            adapt_ffe_into(&x, 1, None, &init, &lv, &cfg, &mut [0.0; 99], &mut Vec::new()),
            Err(Error::LengthMismatch { .. })
        ));
        // The buffer-taking form gives the same result as the allocating one, scratch reused.
        let t: Vec<f32> = (0..100).map(|k| if k % 3 == 0 { 1.0 } else { -1.0 / 3.0 }).collect();
        let a = adapt_ffe(&x, 1, Some(&t), &init, &lv, &cfg).unwrap();
        let mut out = vec![0.0; 100];
        let mut scratch = vec![5.0; 7];
        for _ in 0..2 {
            let b = adapt_ffe_into(&x, 1, Some(&t), &init, &lv, &cfg, &mut out, &mut scratch).unwrap();
            assert_eq!((&b.ffe, &b.mse_trace), (&a.ffe, &a.mse_trace));
            assert_eq!(out, a.output);
        }
        // A step far too large diverges: a typed error, not NaN taps.
        let big: Vec<f32> = (0..2000).map(|k| if k % 2 == 0 { 30.0 } else { -30.0 }).collect();
        assert!(matches!(
            adapt_ffe(&big, 1, None, &init, &lv, &bad(Adaptation::Lms { mu: 10.0 })),
            Err(Error::Unusable { .. })
        ));
        let json = serde_json::to_string(&AdaptiveConfig::default()).unwrap();
        assert!(json.contains("\"rule\":\"lms\""), "{json}");
        assert_eq!(serde_json::from_str::<AdaptiveConfig>(&json).unwrap(), AdaptiveConfig::default());
    }
}
