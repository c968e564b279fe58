//! FFE and DFE adapted jointly: the DFE-LMS of SerDes receivers, with the NLMS, sign-sign and
//! RLS rules of [`adapt_ffe`](super::adapt_ffe).
//!
//! The slicer sees `z[k] = wᵀu[k] − Σ_{i=1..N} b[i]·â[k−i]` ([`Ffe`]'s tap windows `u[k]`, the
//! DFE's feedback taps `b` in output units as in [`Dfe`](super::Dfe)), where `â` are the levels
//! fed back: the known levels (`targets[k−i]`) while training, the decided levels (the nearest
//! slicer level of `z`) once decision-directed; none before the first output. With the error
//! `e[k] = d[k] − z[k]` (`d` the target, or the decision) every rule of [`adapt_ffe`] acts on
//! the augmented vector `v = [u; −â[k−1], …, −â[k−N]]` and weights `θ = [w; b]`, so that
//! `z = θᵀv`: LMS `θ += μ·e·v` (`w += μ·e·u`, `b −= μ·e·â`), NLMS with `‖v‖²`, sign-sign
//! with `sgn(v)`, RLS on `v`.
//!
//! This is the adaptation that converges to the MMSE-DFE, the solution
//! [`train_ffe_and_target`](super::train_ffe_and_target) computes directly (its target's
//! post-cursors are the `b`): the FFE is adapted against the slicer error *after* feedback.
//! Adapting the FFE alone against a plain slicer would drive it to invert the post-cursor ISI
//! that the DFE removes for free (noise enhancement); decision-directed adaptation on the FFE
//! output without feedback would even slice the post-cursor ISI as errors.

use super::adaptive::{pad_input, validate_adaptation, AdaptiveConfig, Engine, Trace};
use super::dfe::MAX_DFE_TAPS;
use super::ffe::Ffe;
use crate::{Error, Result};

/// Result of [`adapt_ffe_dfe`].
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptDfeResult {
    /// The FFE with the final taps.
    pub ffe: Ffe,
    /// The final feedback taps `b[1..=N]` (output units per nominal level, as [`Dfe`](super::Dfe)).
    pub feedback: Vec<f32>,
    /// Mean squared slicer error per block of `trace_decimation` adapted symbols, in the order
    /// processed (training passes first, then the decision-directed part).
    pub mse_trace: Vec<f64>,
    /// Mean squared slicer error against the targets over the last training pass (NaN without
    /// training).
    pub training_mse: f64,
    /// Outputs trained on known targets per pass.
    pub trained_symbols: usize,
}

/// Adapts the FFE taps of `init` and the feedback taps `init_feedback` (`N` = its length,
/// 1..=32) jointly on `x` (`sps` samples per UI), see the module docs.
///
/// `targets`, `slicer_levels` and `cfg` as in [`adapt_ffe`](super::adapt_ffe): `targets[k]` is
/// the level output `k` should decide (it is also what is fed back during training); `None`
/// runs decision-directed from the first symbol (`init` and `init_feedback` must already open
/// the eye). Each training pass starts with an empty feedback history.
///
/// Errors: those of [`adapt_ffe`](super::adapt_ffe), a feedback length outside 1..=32 or a
/// non-finite feedback tap ([`Error::InvalidParameter`], [`Error::NonFinite`]), and taps that
/// diverge ([`Error::Unusable`], lower `mu`).
pub fn adapt_ffe_dfe(
    x: &[f32],
    sps: usize,
    targets: Option<&[f32]>,
    init: &Ffe,
    init_feedback: &[f32],
    slicer_levels: &[f32],
    cfg: &AdaptiveConfig,
) -> Result<AdaptDfeResult> {
    let nfb = init_feedback.len();
    if nfb == 0 || nfb > MAX_DFE_TAPS {
        return Err(Error::invalid("DFE feedback taps", nfb, format!("need 1..={MAX_DFE_TAPS} taps")));
    }
    crate::error::check_finite("DFE feedback taps", init_feedback)?;
    let (slicer, n_out) = validate_adaptation(x, sps, targets, init, slicer_levels, cfg)?;
    let l = init.taps().len();
    let n_train = targets.map_or(0, |t| t.len().min(cfg.training_symbols).min(n_out));
    let targets = targets.unwrap_or(&[]);

    let c = init.reference_tap();
    let lanes = l.next_multiple_of(8);
    let fb_lanes = nfb.next_multiple_of(8);
    let mut xp = Vec::new();
    pad_input(x, sps, c, lanes, n_out, &mut xp);
    // θ = [w reversed over `lanes` (dummy lanes first); b; zero lanes]; the zero lanes see a
    // zero input, so no rule moves them.
    let dummy = lanes - l;
    let mut theta = vec![0.0f32; lanes + fb_lanes];
    for (j, &w) in init.taps().iter().enumerate() {
        theta[lanes - 1 - j] = w;
    }
    theta[lanes..lanes + nfb].copy_from_slice(init_feedback);
    let mut engine = Engine::new(cfg.adaptation, &theta, dummy);
    let mut v = vec![0.0f32; lanes + fb_lanes];
    let mut trace = Trace::new(cfg.trace_decimation);
    let mut training_mse = f64::NAN;
    // `v[lanes + i − 1] = −â[k − i]`: shift the history by one and put the newest in front.
    let feed = |v: &mut [f32], level: f32| {
        v.copy_within(lanes..lanes + nfb - 1, lanes + 1);
        v[lanes] = -level;
    };
    let passes = if n_train > 0 { cfg.passes } else { 0 };
    for _ in 0..passes {
        v[lanes..].iter_mut().for_each(|f| *f = 0.0);
        let mut sum = 0.0f64;
        for (k, &t) in targets[..n_train].iter().enumerate() {
            v[..lanes].copy_from_slice(&xp[k * sps + c..k * sps + c + lanes]);
            let z = engine.output(&v);
            let e = t - z;
            engine.update(&v, e);
            sum += (e as f64) * (e as f64);
            trace.push(e);
            feed(&mut v, t);
        }
        training_mse = sum / n_train as f64;
    }
    if cfg.decision_directed {
        if passes == 0 {
            v[lanes..].iter_mut().for_each(|f| *f = 0.0);
        }
        for k in n_train..n_out {
            v[..lanes].copy_from_slice(&xp[k * sps + c..k * sps + c + lanes]);
            let z = engine.output(&v);
            let d = slicer.nearest(z);
            let e = d - z;
            engine.update(&v, e);
            trace.push(e);
            feed(&mut v, d);
        }
    }
    // Engine::taps reverses the lanes it adapts: the feedback lanes come first (reversed),
    // then the FFE taps in Ffe order.
    let mut lane_order = engine.taps();
    lane_order.reverse();
    let split = lane_order.len() - fb_lanes;
    let feedback: Vec<f32> = lane_order[split..split + nfb].to_vec();
    let taps: Vec<f32> = lane_order[..split].iter().rev().take(l).copied().collect();
    if let Some(bad) = taps.iter().chain(&feedback).find(|v| !v.is_finite()) {
        return Err(Error::Unusable {
            stage: "adaptive FFE+DFE",
            reason: format!("a tap diverged to {bad}; lower the step size"),
        });
    }
    Ok(AdaptDfeResult {
        ffe: Ffe::new(taps, sps, c)?,
        feedback,
        mse_trace: trace.finish(),
        training_mse,
        trained_symbols: n_train,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eq::{train_ffe_and_target, Adaptation, FfeConfig};
    use crate::Modulation;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    /// PAM4 through a T-spaced channel `h` (main cursor first) plus white noise.
    fn link(n: usize, h: &[f32], sigma: f32, seed: u64) -> (Vec<f32>, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a: Vec<f32> = (0..n).map(|_| Modulation::Pam4.level(rng.random_range(0..4u8))).collect();
        let noise = Normal::new(0.0f32, sigma).unwrap();
        let x = (0..n)
            .map(|k| h.iter().enumerate().filter(|&(i, _)| i <= k).map(|(i, &v)| v * a[k - i]).sum::<f32>() + noise.sample(&mut rng))
            .collect();
        (a, x)
    }

    fn aligned(a: &[f32], delay: isize) -> Vec<f32> {
        (0..a.len() as isize).map(|k| a[(k + delay).clamp(0, a.len() as isize - 1) as usize]).collect()
    }

    /// The DFE-LMS recursion written out in f64, one symbol at a time (the oracle).
    fn naive_lms(x: &[f32], targets: &[f32], l: usize, c: usize, nfb: usize, mu: f64) -> (Vec<f64>, Vec<f64>) {
        let mut w = vec![0.0f64; l];
        w[c] = 1.0;
        let mut b = vec![0.0f64; nfb];
        for k in 0..targets.len() {
            let u: Vec<f64> = (0..l).map(|j| (k + c).checked_sub(j).and_then(|i| x.get(i)).map_or(0.0, |&v| v as f64)).collect();
            let fb: Vec<f64> = (1..=nfb).map(|i| if k >= i { targets[k - i] as f64 } else { 0.0 }).collect();
            let z = w.iter().zip(&u).map(|(a, b)| a * b).sum::<f64>() - b.iter().zip(&fb).map(|(a, b)| a * b).sum::<f64>();
            let e = targets[k] as f64 - z;
            for (wj, uj) in w.iter_mut().zip(&u) {
                *wj += mu * e * uj;
            }
            for (bi, fi) in b.iter_mut().zip(&fb) {
                *bi -= mu * e * fi;
            }
        }
        (w, b)
    }

    #[test]
    fn lms_follows_the_written_out_recursion() {
        let (a, x) = link(6000, &[0.2, 1.0, 0.45, 0.1], 0.05, 1);
        let (l, c, nfb) = (11, 3, 2);
        let t = aligned(&a, -1);
        let cfg = AdaptiveConfig { adaptation: Adaptation::Lms { mu: 2e-3 }, training_symbols: 6000, decision_directed: false, ..Default::default() };
        let r = adapt_ffe_dfe(&x, 1, Some(&t), &Ffe::identity(l, 1, c).unwrap(), &[0.0; 2], &Modulation::Pam4.level_set(), &cfg).unwrap();
        let (w, b) = naive_lms(&x, &t, l, c, nfb, 2e-3);
        for (got, want) in r.ffe.taps().iter().zip(&w).chain(r.feedback.iter().zip(&b)) {
            assert!((*got as f64 - want).abs() < 2e-4, "{:?} {:?} vs {w:?} {b:?}", r.ffe.taps(), r.feedback);
        }
        assert_eq!(r.trained_symbols, 6000);
        assert!(r.feedback[0] > 0.2, "{:?}", r.feedback);
    }

    /// Mean squared slicer error of an FFE + feedback over outputs `range` with the known
    /// levels `t` fed back.
    fn mse_with_feedback(ffe: &Ffe, b: &[f32], x: &[f32], t: &[f32], range: std::ops::Range<usize>) -> f64 {
        let y = ffe.equalize(x);
        let n = range.len() as f64;
        range
            .map(|k| {
                let z = y[k] as f64 - b.iter().enumerate().map(|(i, &bi)| bi as f64 * t[k - 1 - i] as f64).sum::<f64>();
                (t[k] as f64 - z).powi(2)
            })
            .sum::<f64>()
            / n
    }

    #[test]
    fn every_rule_reaches_the_mmse_dfe() {
        // A precursor and two post-cursors: the direct MMSE-DFE solve is the fixed point of
        // every rule. RLS (λ = 1) computes it (up to its ridge δ); the gradient rules approach
        // its MSE (the FFE-versus-feedback direction converges at a rate ∝ the noise power, so
        // their taps stay a little off at this SNR while the MSE is already close).
        let (a, x) = link(40_000, &[0.15, 1.0, 0.5, 0.2], 0.06, 2);
        let cfg_ffe = FfeConfig { n_taps: 9, reference_tap: Some(2), delay_search: 2, ..Default::default() };
        let ntrain = 20_000;
        let joint = train_ffe_and_target(&x[..ntrain], &a[..ntrain], 2, &cfg_ffe).unwrap();
        let t = aligned(&a, joint.delay);
        let optimum = mse_with_feedback(&joint.ffe, &joint.target[1..], &x, &t, 100..ntrain);
        let flat = Ffe::train_mmse(&x[..ntrain], &a[..ntrain], &cfg_ffe).unwrap();
        assert!(flat.mse > 1.3 * optimum, "the DFE must matter here: flat FFE {} vs MMSE-DFE {optimum}", flat.mse);
        for (rule, passes, tol) in [
            (Adaptation::Rls { lambda: 1.0, delta: 1e-2 }, 1, 0.01),
            (Adaptation::Lms { mu: 2e-3 }, 4, 0.15),
            (Adaptation::Nlms { mu: 0.01 }, 4, 0.15),
            (Adaptation::SignSignLms { mu: 1e-4 }, 4, 0.3),
        ] {
            let cfg = AdaptiveConfig { adaptation: rule, training_symbols: ntrain, passes, decision_directed: true, ..Default::default() };
            let r = adapt_ffe_dfe(&x, 1, Some(&t), &Ffe::identity(9, 1, 2).unwrap(), &[0.0; 2], &Modulation::Pam4.level_set(), &cfg).unwrap();
            let mse = mse_with_feedback(&r.ffe, &r.feedback, &x, &t, 100..ntrain);
            eprintln!("{rule:?}: MSE {mse:.5} (MMSE-DFE {optimum:.5}, flat FFE {:.5}), feedback {:?} vs {:?}", flat.mse, r.feedback, joint.target);
            assert!(mse < (1.0 + tol) * optimum, "{rule:?}: MSE {mse} vs MMSE-DFE {optimum}");
            if let Adaptation::Rls { .. } = rule {
                for (&b, &g) in r.feedback.iter().zip(&joint.target[1..]) {
                    assert!((b - g).abs() < 0.01, "RLS feedback {:?} vs MMSE-DFE target {:?}", r.feedback, joint.target);
                }
            }
            // The decision-directed part (decisions fed back) keeps the error near the
            // optimum; slicing without feedback would see the post-cursor ISI as error.
            let dd = r.mse_trace.last().copied().unwrap();
            assert!(dd < 2.0 * optimum, "{rule:?}: decision-directed MSE {dd} vs MMSE-DFE {optimum}");
        }
    }

    #[test]
    fn blind_decision_directed_run_keeps_an_open_eye() {
        let (a, x) = link(20_000, &[1.0, 0.5], 0.05, 3);
        let cfg = AdaptiveConfig { adaptation: Adaptation::Lms { mu: 1e-3 }, ..Default::default() };
        // Started at the channel's own solution (identity FFE, feedback 0.5), no targets.
        let r = adapt_ffe_dfe(&x, 1, None, &Ffe::identity(5, 1, 0).unwrap(), &[0.5], &Modulation::Pam4.level_set(), &cfg).unwrap();
        assert_eq!(r.trained_symbols, 0);
        assert!(r.training_mse.is_nan());
        assert!((r.feedback[0] - 0.5).abs() < 0.05, "{:?}", r.feedback);
        assert!((r.ffe.taps()[0] - 1.0).abs() < 0.05, "{:?}", r.ffe.taps());
        let _ = a;
    }

    /// Throughput on one thread (run with `--ignored --nocapture`; `LIGHTLANE_DFE_SYMBOLS`
    /// sets the length): 15 T-spaced taps, 1 feedback tap, every rule, trained on 64k symbols
    /// then decision-directed.
    #[test]
    #[ignore]
    fn profile_adapt_ffe_dfe() {
        let n: usize = std::env::var("LIGHTLANE_DFE_SYMBOLS").ok().and_then(|v| v.parse().ok()).unwrap_or(1 << 20);
        let (a, x) = link(n, &[1.0, 0.5], 0.05, 9);
        for rule in [Adaptation::Lms { mu: 1e-3 }, Adaptation::Nlms { mu: 0.05 }, Adaptation::SignSignLms { mu: 1e-4 }, Adaptation::Rls { lambda: 0.9995, delta: 0.01 }] {
            let cfg = AdaptiveConfig { adaptation: rule, training_symbols: 65_536, ..Default::default() };
            let t = std::time::Instant::now();
            let r = adapt_ffe_dfe(&x, 1, Some(&a), &Ffe::identity(15, 1, 0).unwrap(), &[0.0], &Modulation::Pam4.level_set(), &cfg).unwrap();
            let s = t.elapsed().as_secs_f64();
            println!("{rule:?}: {n} symbols in {s:.3} s = {:.1} Msym/s (feedback {:?})", n as f64 / s / 1e6, r.feedback);
        }
    }

    #[test]
    fn bad_inputs_are_named_errors() {
        let (a, x) = link(2000, &[1.0, 0.5], 0.05, 4);
        let init = Ffe::identity(5, 1, 0).unwrap();
        let lv = Modulation::Pam4.level_set();
        let cfg = AdaptiveConfig::default();
        assert!(matches!(adapt_ffe_dfe(&x, 1, Some(&a), &init, &[], &lv, &cfg), Err(Error::InvalidParameter { .. })));
        assert!(matches!(adapt_ffe_dfe(&x, 1, Some(&a), &init, &[0.0; 33], &lv, &cfg), Err(Error::InvalidParameter { .. })));
        assert!(matches!(adapt_ffe_dfe(&x, 1, Some(&a), &init, &[f32::NAN], &lv, &cfg), Err(Error::NonFinite { .. })));
        assert!(matches!(adapt_ffe_dfe(&x, 2, Some(&a), &init, &[0.0], &lv, &cfg), Err(Error::InvalidParameter { .. })));
        let no_dd = AdaptiveConfig { decision_directed: false, ..Default::default() };
        assert!(matches!(adapt_ffe_dfe(&x, 1, None, &init, &[0.0], &lv, &no_dd), Err(Error::InvalidParameter { .. })));
        assert!(matches!(adapt_ffe_dfe(&[], 1, Some(&a), &init, &[0.0], &lv, &cfg), Err(Error::InputTooShort { .. })));
        let mut nan = x.clone();
        nan[3] = f32::INFINITY;
        assert!(matches!(adapt_ffe_dfe(&nan, 1, Some(&a), &init, &[0.0], &lv, &cfg), Err(Error::NonFinite { .. })));
        // A step far too large diverges: a typed error, not NaN taps.
        let wild = AdaptiveConfig { adaptation: Adaptation::Lms { mu: 50.0 }, ..Default::default() };
        assert!(matches!(adapt_ffe_dfe(&x, 1, Some(&a), &init, &[0.0], &lv, &wild), Err(Error::Unusable { .. })));
    }
}
