//! Analytic and degenerate cases of the eye metrics and TDECQ.

use super::*;
use crate::stats::q_inverse;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// PAM-N (levels given; random symbols plus long runs) at `s` samples/UI: flat at the level from 0.25 to 0.75 UI, linear ramps
/// to the neighbours' midpoints at the UI boundaries; centres at 0.5 UI; Gaussian noise σ per sample.
pub(super) fn synth(levels: &[f32], nsym: usize, s: usize, sigma: f32, seed: u64) -> (EyeSignal, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut lcg = seed.wrapping_mul(2862933555777941757).wrapping_add(3037000493);
    let syms: Vec<usize> = (0..nsym + 1)
        .map(|_| {
            lcg = lcg.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((lcg >> 33) % levels.len() as u64) as usize
        })
        .collect();
    // A run of 8 top and one of 7 bottom symbols every 2000 symbols (the OMA_outer runs of
    // 121.8.4, as SSPRQ and PRBS13Q have them).
    let mut syms = syms;
    let top = levels.len() - 1;
    for start in (100..nsym.saturating_sub(20)).step_by(2000) {
        syms[start..start + 8].iter_mut().for_each(|v| *v = top);
        syms[start + 8..start + 15].iter_mut().for_each(|v| *v = 0);
    }
    let noise = Normal::new(0.0f32, sigma.max(1e-30)).unwrap();
    let mut y = Vec::with_capacity(nsym * s);
    for k in 0..nsym {
        let a = levels[syms[k]];
        let prev = if k > 0 { levels[syms[k - 1]] } else { a };
        let b = levels[syms[k + 1]];
        for i in 0..s {
            let t = i as f32 / s as f32;
            let v = if t < 0.25 {
                a + (prev - a) * (0.25 - t) * 2.0
            } else if t < 0.75 {
                a
            } else {
                a + (b - a) * (t - 0.75) * 2.0
            };
            y.push(v + if sigma > 0.0 { noise.sample(&mut rng) } else { 0.0 });
        }
    }
    (EyeSignal::new(y, s).unwrap(), syms[..nsym].to_vec())
}

const PAM4: [f32; 4] = [-3.0, -1.0, 1.0, 3.0];

#[test]
fn ideal_pam4_with_gaussian_noise_gives_closed_form_eye_height_and_sndr() {
    let sigma = 0.1;
    let (sig, _) = synth(&PAM4, 40_000, 16, sigma as f32, 1);
    let eye = EyeDiagram::build(&sig, Modulation::Pam4, &EyeConfig { samples_per_ui: 16, ..EyeConfig::default() }).unwrap();
    let cfg = EyeMetricsConfig::default();
    let m = eye_metrics(&sig, &eye, &cfg).unwrap();
    for (l, e) in m.levels.iter().zip(PAM4) {
        assert!((l - e as f64).abs() < 0.01, "levels {:?}", m.levels);
    }
    for s in &m.level_sigma {
        assert!((s - sigma).abs() < 0.005, "sigmas {:?}", m.level_sigma);
    }
    // EH = spacing − 2·Q⁻¹(BER)·σ; σ estimated from ~120k samples per level: ±2 %.
    let eh = 2.0 - 2.0 * q_inverse(cfg.target_ber) * sigma;
    for h in &m.eye_heights {
        assert!((h - eh).abs() < 0.02 * eh, "eye heights {:?}, expected {eh}", m.eye_heights);
    }
    // SNDR = 20·log10(p_max/σ) with p_max = 3 (levels ±3, ±1 = 3 × {±1, ±1/3}).
    let sndr = 20.0 * (3.0 / sigma).log10();
    assert!((m.sndr_db.unwrap() - sndr).abs() < 0.2, "SNDR {:?} vs {sndr}", m.sndr_db);
    assert!((m.rlm.unwrap() - 1.0).abs() < 0.01);
    assert!((m.oma_outer - 6.0).abs() < 0.02, "OMA {}", m.oma_outer);
    // VEC = 20·log10(spacing / EH).
    assert!((m.vec_db.unwrap() - 20.0 * (2.0 / eh).log10()).abs() < 0.2);
    // Transitions over 3 levels cross the outer thresholds up to 1/6 UI from the boundary
    // (deterministic ISI-like jitter): the widths lie well inside (0.4, 0.75).
    for w in &m.eye_widths {
        let w = w.unwrap();
        assert!(w > 0.4 && w < 0.75, "widths {:?}", m.eye_widths);
    }
}

/// NRZ ±1 at `s` samples/UI with linear edges 0.5 UI long, each edge's centre moved from the UI
/// boundary by Gaussian timing jitter of σ_j UI (no amplitude noise).
fn synth_nrz_jitter(nsym: usize, s: usize, sigma_j: f64, seed: u64) -> EyeSignal {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = Normal::new(0.0, sigma_j).unwrap();
    let bits: Vec<f64> = (0..nsym + 1).map(|_| if rand::Rng::random::<bool>(&mut rng) { 1.0 } else { -1.0 }).collect();
    let delta: Vec<f64> = (0..nsym + 1).map(|_| n.sample(&mut rng)).collect();
    let mut y = Vec::with_capacity(nsym * s);
    for k in 0..nsym {
        let (prev, a, b) = (bits[k.saturating_sub(1)], bits[k], bits[k + 1]);
        for i in 0..s {
            let t = i as f64 / s as f64;
            let v = if t < 0.5 {
                prev + (a - prev) * ((t - delta[k] + 0.25) * 2.0).clamp(0.0, 1.0)
            } else {
                a + (b - a) * ((t - 1.0 - delta[k + 1] + 0.25) * 2.0).clamp(0.0, 1.0)
            };
            y.push(v as f32);
        }
    }
    EyeSignal::new(y, s).unwrap()
}

#[test]
fn nrz_eye_width_matches_gaussian_jitter() {
    // Crossings at the edge centres: jitter σ_j exactly, density ρ = 1/2, so
    // EW = 1 − 2·Q⁻¹(BER/ρ)·σ_j.
    let sigma_j = 0.02;
    let sig = synth_nrz_jitter(60_000, 16, sigma_j, 21);
    let eye = EyeDiagram::build(&sig, Modulation::Nrz, &EyeConfig { samples_per_ui: 16, ..EyeConfig::default() }).unwrap();
    let cfg = EyeMetricsConfig::default();
    let m = eye_metrics(&sig, &eye, &cfg).unwrap();
    let rho = m.crossings[0].density;
    assert!((rho - 0.5).abs() < 0.01, "density {rho}");
    let ew = 1.0 - 2.0 * q_inverse(cfg.target_ber / rho) * sigma_j;
    let got = m.eye_widths[0].unwrap();
    assert!((got - ew).abs() < 0.02, "EW {got} vs {ew}");
    assert!(m.eye_widths_measured[0].unwrap() > got - 0.05);
    assert!(m.eye_skew_ui[0].unwrap().abs() < 1e-12);
    // The amplitude is noiseless: the eye is as tall as the level spacing.
    assert!((m.eye_heights[0] - 2.0).abs() < 1e-6);
    assert!(m.rlm.is_none());
}

#[test]
fn tdecq_of_ideal_pam4_with_noise_matches_closed_form() {
    let sigma = 0.1f64;
    let (sig, _) = synth(&PAM4, 30_000, 16, sigma as f32, 2);
    let r = tdecq(&sig, None, &TdecqConfig::default()).unwrap();
    // σ_ideal = OMA/(6·Q_t); the eye already carries σ, so σ_G² = σ_ideal² − σ².
    let q_t = q_inverse(4.8e-4 / 1.5);
    let s_ideal = 6.0 / (6.0 * q_t);
    let expected = 10.0 * (s_ideal / (s_ideal * s_ideal - sigma * sigma).sqrt()).log10();
    assert!((r.tdecq_db - expected).abs() < 0.1, "TDECQ {} vs {expected} (taps {:?})", r.tdecq_db, r.taps);
    assert!((q_t - 3.414).abs() < 0.01);
}

#[test]
fn tdecq_of_an_open_eye_is_zero() {
    let (sig, _) = synth(&PAM4, 5_000, 16, 0.0, 3);
    let r = tdecq(&sig, None, &TdecqConfig::default()).unwrap();
    assert!(r.tdecq_db.abs() < 0.1, "TDECQ {}", r.tdecq_db);
    assert!((r.c_eq - 1.0).abs() < 1e-6 || r.tdecq_db.abs() < 0.1);
}

#[test]
fn tdecq_reference_ffe_opens_an_isi_closed_eye() {
    // ISI: y_k = x_k + 0.45·x_{k−1} closes the PAM4 eye without equalization.
    let (sig, syms) = synth(&PAM4, 8_000, 16, 0.02, 4);
    let syms: Vec<u8> = syms.iter().map(|&v| v as u8).collect();
    let s = sig.samples_per_ui;
    let y: Vec<f32> = (0..sig.samples.len()).map(|i| sig.samples[i] + 0.45 * if i >= s { sig.samples[i - s] } else { 0.0 }).collect();
    let isi = EyeSignal::new(y, s).unwrap();
    // Each histogram bin is charged only for leaving its own decision region (Eq. 121-4…8), so
    // the closed eye is not an error at σ → 0 but a large penalty.
    let plain = tdecq(&isi, Some(&syms), &TdecqConfig { optimize_ffe: false, ..TdecqConfig::default() }).unwrap();
    let eq = tdecq(&isi, Some(&syms), &TdecqConfig::default()).unwrap();
    // Without the symbols the runs of 121.8.4 are found on sliced (partly wrong) decisions, so
    // OMA_outer and the thresholds differ; the optimized FFE still beats no FFE.
    let blind_plain = tdecq(&isi, None, &TdecqConfig { optimize_ffe: false, ..TdecqConfig::default() }).unwrap();
    let blind = tdecq(&isi, None, &TdecqConfig::default()).unwrap();
    assert!(blind.tdecq_db < blind_plain.tdecq_db - 0.5, "blind {} vs {}", blind.tdecq_db, blind_plain.tdecq_db);
    assert!(tdecq(&isi, Some(&syms[..10]), &TdecqConfig::default()).is_err());
    assert!(plain.tdecq_db > 5.0, "{plain:?}");
    assert!(eq.tdecq_db.is_finite() && eq.tdecq_db > 0.3 && eq.tdecq_db < plain.tdecq_db - 3.0, "{eq:?}");
    assert!((eq.taps.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(eq.c_eq > 1.0);
}

#[test]
fn level_compression_gives_the_right_rlm() {
    let lv = [-3.0f32, -1.2, 0.6, 3.0];
    let (sig, _) = synth(&lv, 20_000, 8, 0.02, 5);
    let eye = EyeDiagram::build(&sig, Modulation::Pam4, &EyeConfig { samples_per_ui: 8, ..EyeConfig::default() }).unwrap();
    let m = eye_metrics(&sig, &eye, &EyeMetricsConfig::default()).unwrap();
    // V_mid = 0: ES1 = 0.4, ES2 = 0.2 → R_LM = min(1.2, 0.6, 0.8, 1.4) = 0.6;
    // Clause 94: 3·min(1.8, 1.8, 2.4)/6 = 0.9.
    assert!((m.rlm.unwrap() - 0.6).abs() < 0.005, "{:?}", m.rlm);
    assert!((m.rlm_cl94.unwrap() - 0.9).abs() < 0.005, "{:?}", m.rlm_cl94);
}

#[test]
fn one_level_is_a_clear_error() {
    let sig = EyeSignal::new(vec![0.3; 4000], 8).unwrap();
    let e = EyeDiagram::build(&sig, Modulation::Pam4, &EyeConfig { samples_per_ui: 8, ..EyeConfig::default() });
    assert!(matches!(e, Err(crate::Error::Unusable { .. })), "{e:?}");
    let mut noisy = vec![0f32; 4000];
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let n = Normal::new(0.0f32, 0.01).unwrap();
    noisy.iter_mut().for_each(|v| *v = n.sample(&mut rng));
    // Pure noise has no separated levels: k-means still splits it; the report flags the
    // overlap and holds no NaN.
    let sig = EyeSignal::new(noisy, 8).unwrap();
    let r = eye_report(&sig, None, None, Modulation::Pam4, None, &EyeAnalysisConfig::default()).unwrap();
    let js = serde_json::to_string(&r).unwrap();
    assert!(!js.contains("NaN") && !js.contains("nan") && !js.contains("inf"), "{js}");
    assert!(r.warnings.iter().any(|w| w.contains("overlap")), "{:?}", r.warnings);
}

#[test]
fn no_transitions_flags_the_eye_width() {
    // Two levels, one step in the middle: levels exist, crossings do not (only one).
    let mut y = vec![-1.0f32; 4000];
    y[2000..].iter_mut().for_each(|v| *v = 1.0);
    let sig = EyeSignal::new(y, 8).unwrap();
    let r = eye_report(&sig, None, None, Modulation::Nrz, None, &EyeAnalysisConfig::default()).unwrap();
    assert_eq!(r.eye_widths, vec![None]);
    assert!(r.warnings.iter().any(|w| w.contains("no transitions")), "{:?}", r.warnings);
    let js = serde_json::to_string(&r).unwrap();
    assert!(!js.contains("NaN"));
}

#[test]
fn clipped_signal_is_flagged() {
    let (mut sig, _) = synth(&PAM4, 5000, 8, 0.1, 6);
    sig.samples.iter_mut().for_each(|v| *v = v.min(2.9));
    let eye = EyeDiagram::build(&sig, Modulation::Pam4, &EyeConfig { samples_per_ui: 8, ..EyeConfig::default() }).unwrap();
    assert!(eye.warnings.iter().any(|w| w.contains("clipped at the top")), "{:?}", eye.warnings);
}

#[test]
fn range_that_excludes_the_data_errors_or_warns() {
    let (sig, _) = synth(&PAM4, 2000, 8, 0.05, 7);
    let cfg = EyeConfig { samples_per_ui: 8, range: Some((10.0, 11.0)), ..EyeConfig::default() };
    let e = EyeDiagram::build(&sig, Modulation::Pam4, &cfg);
    assert!(matches!(e, Err(crate::Error::Unusable { .. })), "{e:?}");
    let cfg = EyeConfig { samples_per_ui: 8, range: Some((-1.5, 4.0)), ..EyeConfig::default() };
    let eye = EyeDiagram::build(&sig, Modulation::Pam4, &cfg).unwrap();
    assert!(eye.warnings.iter().any(|w| w.contains("outside the amplitude range")), "{:?}", eye.warnings);
}

#[test]
fn nan_samples_are_rejected() {
    let (mut sig, _) = synth(&PAM4, 2000, 8, 0.05, 8);
    sig.samples[100] = f32::NAN;
    assert!(matches!(
        EyeDiagram::build(&sig, Modulation::Pam4, &EyeConfig { samples_per_ui: 8, ..EyeConfig::default() }),
        Err(crate::Error::NonFinite { index: 100, .. })
    ));
}

#[test]
fn bathtubs_and_contours_agree_with_the_eye_height() {
    let sigma = 0.1;
    let (sig, _) = synth(&PAM4, 20_000, 16, sigma as f32, 10);
    let eye = EyeDiagram::build(&sig, Modulation::Pam4, &EyeConfig { samples_per_ui: 16, ..EyeConfig::default() }).unwrap();
    let cfg = EyeMetricsConfig::default();
    let m = eye_metrics(&sig, &eye, &cfg).unwrap();
    let v = vertical_bathtubs(&sig, &eye, &cfg, 401);
    assert_eq!(v.len(), 3);
    // The vertical bathtub at BER·(weight) opens about as wide as the eye height; the level
    // weights (~1/4 each) make it a little wider: between EH and EH + 2·σ.
    for (b, eh) in v.iter().zip(&m.eye_heights) {
        let o = b.opening_at(cfg.target_ber).unwrap();
        assert!(o > eh - 0.02 && o < eh + 2.0 * sigma, "opening {o} vs EH {eh}");
        // Measured points far from the levels see no errors.
        assert_eq!(b.measured[200], None);
    }
    let h = horizontal_bathtubs(&m, sig.symbols(), 101);
    for b in &h {
        assert!(b.extrapolated[50] < 1e-12, "centre of the UI is open");
        assert!(b.extrapolated[0] > 0.01 && b.extrapolated[100] > 0.01, "edges are closed");
    }
    let c = ber_contours(&eye, cfg.target_ber);
    assert_eq!(c.len(), 3);
    // At the sampling instant (0.5 UI) the contour opening is about the eye height.
    let col = eye.histogram.geometry().column_of(0.5);
    for (ci, eh) in c.iter().zip(&m.eye_heights) {
        let (lo, hi) = ci.extrapolated[col].unwrap();
        assert!(((hi - lo) - eh).abs() < 0.1 * eh, "contour {} vs {eh}", hi - lo);
    }
}

#[test]
fn pictures_are_valid_pngs() {
    let (sig, _) = synth(&PAM4, 3000, 16, 0.1, 11);
    let cfg = EyeAnalysisConfig { render_png: true, tdecq: None, ..EyeAnalysisConfig::default() };
    let r = eye_report(&sig, None, None, Modulation::Pam4, Some(1e-12), &cfg).unwrap();
    let p = r.pictures.unwrap();
    for bytes in [&p.eye, &p.bathtub] {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let dec = png::Decoder::new(std::io::Cursor::new(bytes.as_slice()));
        let info = dec.read_info().unwrap();
        assert!(info.info().width > 500 && info.info().height > 300);
    }
    assert_eq!(r.jitter.tie_rms, Some(1e-12));
}

#[test]
fn equalized_eye_from_the_ffe() {
    // The same ISI as above, removed by the inverse FFE [1, −0.45, 0.2025] at T spacing.
    let (sig, _) = synth(&PAM4, 4000, 8, 0.0, 12);
    let s = 8;
    let y: Vec<f32> = (0..sig.samples.len()).map(|i| sig.samples[i] + 0.45 * if i >= s { sig.samples[i - s] } else { 0.0 }).collect();
    let eq = apply_ffe_oversampled(&y, s, &[1.0, -0.45, 0.2025, -0.091125], 1, 0).unwrap();
    let eye = EyeDiagram::build(&EyeSignal::new(eq, s).unwrap(), Modulation::Pam4, &EyeConfig { samples_per_ui: 8, ..EyeConfig::default() }).unwrap();
    for (l, e) in eye.levels.iter().zip(PAM4) {
        assert!((l - e as f64).abs() < 0.05, "{:?}", eye.levels);
    }
    assert!(apply_ffe_oversampled(&y, s, &[1.0], 3, 0).is_err());
}
