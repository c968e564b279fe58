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
fn tdecq_clusters_the_levels_only_where_it_uses_them() {
    // Known symbols with the runs of 121.8.4 take OMA_outer from the runs: a signal of two
    // values, which the clustering rejects as four levels, gets past the levels; without the
    // symbols its decisions need the clustering, and that is the error.
    let (sig, syms) = synth(&[-1.0, -1.0, 1.0, 1.0], 3_000, 16, 0.0, 5);
    let syms: Vec<u8> = syms.iter().map(|&v| v as u8).collect();
    let unusable_levels = |r: &crate::Result<TdecqResult>| matches!(r, Err(crate::Error::Unusable { stage: "eye levels", .. }));
    assert!(unusable_levels(&tdecq(&sig, None, &TdecqConfig::default())));
    let known = tdecq(&sig, Some(&syms), &TdecqConfig::default());
    assert!(!unusable_levels(&known), "{known:?}");
    // Symbols without qualifying runs (too short for synth to insert them): OMA_outer from the
    // clustered levels of the centres.
    let (sig, syms) = synth(&PAM4, 110, 16, 0.02, 6);
    let syms: Vec<u8> = syms.iter().map(|&v| v as u8).collect();
    let centres: Vec<f32> = sig.samples.chunks_exact(16).map(|c| c[8]).collect();
    let (levels, _) = crate::eye::find_levels(&centres, Modulation::Pam4).unwrap();
    let r = tdecq(&sig, Some(&syms), &TdecqConfig { optimize_ffe: false, ..TdecqConfig::default() }).unwrap();
    assert_eq!(r.oma_outer.to_bits(), (levels[3] - levels[0]).to_bits(), "{r:?}");
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

/// TDECQ of fixed signals with the constraint set of the original (pre-speed-up) optimizer
/// (`main_tap_min` 0.5): the values it produced, which the faster search must reproduce within
/// 0.01 dB.
#[test]
fn tdecq_speed_up_keeps_the_results() {
    let legacy = TdecqConfig { main_tap_min: 0.5, main_tap_positions: vec![1, 2], ..TdecqConfig::default() };
    let (noisy, _) = synth(&PAM4, 30_000, 16, 0.1, 2);
    let (sig, syms) = synth(&PAM4, 8_000, 16, 0.02, 4);
    let syms: Vec<u8> = syms.iter().map(|&v| v as u8).collect();
    let s = sig.samples_per_ui;
    let y: Vec<f32> = (0..sig.samples.len()).map(|i| sig.samples[i] + 0.45 * if i >= s { sig.samples[i - s] } else { 0.0 }).collect();
    let isi = EyeSignal::new(y, s).unwrap();
    let got = [
        tdecq(&noisy, None, &legacy).unwrap().tdecq_db,
        tdecq(&isi, Some(&syms), &legacy).unwrap().tdecq_db,
        tdecq(&isi, None, &legacy).unwrap().tdecq_db,
    ];
    let before = [0.29414296283367547, 2.221608873145378, 8.289247528783903];
    for (g, b) in got.iter().zip(before) {
        assert!((g - b).abs() < 0.01, "now {got:?}, before {before:?}");
    }
}

/// The two-stage search (stage 1 on every k-th symbol, stage 2 refining on all) ends within
/// 0.01 dB of the search on all symbols throughout, with fewer full-length evaluations.
#[test]
fn tdecq_decimated_search_matches_the_full_search() {
    let (sig, syms) = synth(&PAM4, 8_000, 16, 0.02, 4);
    let syms: Vec<u8> = syms.iter().map(|&v| v as u8).collect();
    let s = sig.samples_per_ui;
    let y: Vec<f32> = (0..sig.samples.len()).map(|i| sig.samples[i] + 0.45 * if i >= s { sig.samples[i - s] } else { 0.0 }).collect();
    let isi = EyeSignal::new(y, s).unwrap();
    // (Without the symbols this closed eye is ill-posed for any local search: the sliced
    // decisions steer the least-squares start, and which basin it lands in depends on the
    // data subset; so both cases here know the symbols.)
    let (noisy, _) = synth(&PAM4, 8_000, 16, 0.1, 2);
    for (sig, known) in [(&isi, Some(syms.as_slice())), (&noisy, None)] {
        let full = tdecq(sig, known, &TdecqConfig { search_symbols: 0, ..TdecqConfig::default() }).unwrap();
        let fast = tdecq(sig, known, &TdecqConfig { search_symbols: 1000, ..TdecqConfig::default() }).unwrap();
        println!("full {} ({} evals) decimated {} ({} evals)", full.tdecq_db, full.evaluations, fast.tdecq_db, fast.evaluations);
        assert!((full.tdecq_db - fast.tdecq_db).abs() < 0.01, "full {full:?}\ndecimated {fast:?}");
    }
}

/// 802.3dj's 1-tap DFE (0 ≤ b(1) ≤ 0.3, FFE taps summing to 1 + b(1)): on a `1 + 0.3·D`
/// channel it cancels the post-cursor without the FFE's noise enhancement, so TDECQ drops.
#[test]
fn tdecq_dfe_lowers_tdecq_on_a_post_cursor_channel() {
    let (sig, syms) = synth(&PAM4, 8_000, 16, 0.12, 13);
    let syms: Vec<u8> = syms.iter().map(|&v| v as u8).collect();
    let s = sig.samples_per_ui;
    let y: Vec<f32> = (0..sig.samples.len()).map(|i| sig.samples[i] + 0.3 * if i >= s { sig.samples[i - s] } else { 0.0 }).collect();
    let ch = EyeSignal::new(y, s).unwrap();
    let no_dfe = tdecq(&ch, Some(&syms), &TdecqConfig::default()).unwrap();
    let dfe = tdecq(&ch, Some(&syms), &TdecqConfig { dfe_tap_max: 0.3, ..TdecqConfig::default() }).unwrap();
    println!("no DFE {no_dfe:?}\nDFE {dfe:?}");
    assert_eq!(no_dfe.dfe_tap, 0.0);
    assert!(dfe.dfe_tap > 0.1 && dfe.dfe_tap <= 0.3, "{dfe:?}");
    assert!((dfe.taps.iter().sum::<f64>() - (1.0 + dfe.dfe_tap)).abs() < 1e-9, "{dfe:?}");
    assert!(dfe.tdecq_db < no_dfe.tdecq_db - 0.1, "DFE {} vs FFE only {}", dfe.tdecq_db, no_dfe.tdecq_db);
    // The 802.3dj configuration carries the DFE; its result honours the draft bounds.
    let dj = TdecqConfig::ieee_8023dj();
    assert_eq!(dj.dfe_tap_max, 0.3);
    let r = tdecq(&ch, Some(&syms), &dj).unwrap();
    assert!(r.dfe_tap >= 0.0 && r.dfe_tap <= 0.3);
    let wm = r.taps[r.main_tap];
    assert!((0.8..=2.5).contains(&wm), "{r:?}");
    assert!((r.taps.iter().sum::<f64>() - (1.0 + r.dfe_tap)).abs() < 1e-9);
}

/// The default reference equalizer follows 802.3 121.8.5.4 as amended: the largest-magnitude
/// coefficient is tap 1, 2 or 3 and at least 0.8, the taps summing to 1.
#[test]
fn tdecq_default_taps_follow_the_standard_constraint() {
    let cfg = TdecqConfig::default();
    assert_eq!(cfg.main_tap_positions, vec![0, 1, 2]);
    assert_eq!(cfg.main_tap_min, 0.8);
    let (sig, syms) = synth(&PAM4, 8_000, 16, 0.02, 4);
    let syms: Vec<u8> = syms.iter().map(|&v| v as u8).collect();
    let s = sig.samples_per_ui;
    let y: Vec<f32> = (0..sig.samples.len()).map(|i| sig.samples[i] + 0.45 * if i >= s { sig.samples[i - s] } else { 0.0 }).collect();
    let r = tdecq(&EyeSignal::new(y, s).unwrap(), Some(&syms), &cfg).unwrap();
    let wm = r.taps[r.main_tap];
    assert!(r.main_tap <= 2 && wm >= 0.8 - 1e-12, "{r:?}");
    assert!(r.taps.iter().all(|v| v.abs() <= wm), "{r:?}");
    assert!((r.taps.iter().sum::<f64>() - 1.0).abs() < 1e-9);
}

/// Step response of the BT4 reference receiver at f3dB = 0.5/UI with its DC group delay τ
/// removed (as [`crate::eq::bessel_thomson_filter`] does), by RK4 on the controllable canonical
/// form of H(p) = 105/(p⁴ + 10p³ + 45p² + 105p + 105), p = s·τ, τ = ω₀/(2π·f3dB): independent
/// of the library's FIR design.
struct Bt4Step {
    dt: f64,
    tau: f64,
    v: Vec<f64>,
}

impl Bt4Step {
    #[allow(clippy::needless_range_loop)]
    fn new() -> Self {
        let tau = 2.113_917_674_904 / (2.0 * std::f64::consts::PI * 0.5);
        let (a3, a2, a1, a0) = (10.0 / tau, 45.0 / tau.powi(2), 105.0 / tau.powi(3), 105.0 / tau.powi(4));
        let dt = 1.0 / 2048.0;
        let f = |x: [f64; 4]| [x[1], x[2], x[3], -a0 * x[0] - a1 * x[1] - a2 * x[2] - a3 * x[3] + 1.0];
        let mut x = [0f64; 4];
        let mut v = Vec::new();
        let add = |x: [f64; 4], k: [f64; 4], h: f64| [x[0] + h * k[0], x[1] + h * k[1], x[2] + h * k[2], x[3] + h * k[3]];
        for _ in 0..(24.0 / dt) as usize {
            v.push(a0 * x[0]);
            let k1 = f(x);
            let k2 = f(add(x, k1, 0.5 * dt));
            let k3 = f(add(x, k2, 0.5 * dt));
            let k4 = f(add(x, k3, dt));
            for i in 0..4 {
                x[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
            }
        }
        Bt4Step { dt, tau, v }
    }

    /// Step response at `t` UI (the step at t = 0, group delay removed).
    fn at(&self, t: f64) -> f64 {
        let u = (t + self.tau) / self.dt;
        if u <= 0.0 {
            return 0.0;
        }
        let i = u.floor() as usize;
        if i + 1 >= self.v.len() {
            return 1.0;
        }
        let f = u - i as f64;
        self.v[i] * (1.0 - f) + self.v[i + 1] * f
    }

    /// Normalised noise autocorrelation at lags of whole UI, from the impulse response (the
    /// derivative of the step response) in the time domain.
    fn noise_autocorrelation(&self, lags: usize) -> Vec<f64> {
        let h: Vec<f64> = self.v.windows(2).map(|w| w[1] - w[0]).collect();
        let per_ui = (1.0 / self.dt).round() as usize;
        let r = |d: usize| -> f64 { h.iter().zip(h.iter().skip(d * per_ui)).map(|(a, b)| a * b).sum() };
        let r0 = r(0);
        (0..lags).map(|d| r(d) / r0).collect()
    }
}

/// Issue 5's question: an ideal (noise-free, rectangular-pulse) PAM4 capture gets a small
/// positive TDECQ through the BT4 reference receiver — right or a bug? The BT4 at 0.5·baud
/// leaves ISI at the 0.45/0.55 UI windows that the 5-tap FFE (main tap ≥ 0.8) removes only
/// partly, and the FFE enhances noise (C_eq > 1); both cost margin. Here the TDECQ of the taps
/// the library chose is recomputed independently: the BT4 pulse by RK4 integration (not the
/// library's FIR), the eye centre as the mean middle-threshold crossing over all 7-symbol
/// contexts, the exact ISI distribution of i.i.d. symbols by enumeration of the equalized
/// cursors (not a histogram of a finite pattern), C_eq from the time-domain autocorrelation
/// (not the library's frequency-domain one), and the SER/σ_G search of 121.8.5.3 written out.
/// The two agree within 0.03 dB (histogram binning and the finite pattern), so the value is the
/// method's, not a bug; the test also checks that no nearby feasible tap set does better.
#[test]
fn tdecq_of_an_ideal_capture_through_bt4_matches_an_independent_computation() {
    const S: usize = 32;
    let levels = [-3.0f64, -1.0, 1.0, 3.0];
    let nsym = 40_000;
    let mut lcg = 99u64;
    let mut syms: Vec<u8> = (0..nsym)
        .map(|_| {
            lcg = lcg.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (lcg >> 62) as u8
        })
        .collect();
    for start in (100..nsym - 20).step_by(2000) {
        syms[start..start + 8].iter_mut().for_each(|v| *v = 3);
        syms[start + 8..start + 15].iter_mut().for_each(|v| *v = 0);
    }
    let x: Vec<f32> = syms.iter().flat_map(|&a| std::iter::repeat_n(levels[a as usize] as f32, S)).collect();
    let y = crate::eq::bessel_thomson_filter(&x, S as f64, 0.5, 4).unwrap();
    let sig = EyeSignal::new(y, S).unwrap();
    let r = tdecq(&sig, Some(&syms), &TdecqConfig::default()).unwrap();
    println!("library: {r:?}");

    // Sample n is at time n/S UI; symbol j's rectangle spans [j − o, j + 1 − o), o = 1/(2S).
    let bt = Bt4Step::new();
    let o = 0.5 / S as f64;
    let p = |t: f64| bt.at(t + o) - bt.at(t + o - 1.0);
    let th = [r.thresholds[0], r.thresholds[1], r.thresholds[2]];
    // Mean crossing time of the middle threshold (relative to the nearest UI boundary) over
    // every context a_{−3..3} whose a_0 → a_1 transition crosses it.
    let (mut sum, mut count) = (0.0, 0usize);
    for ctx in 0..4usize.pow(7) {
        let a: Vec<f64> = (0..7).map(|j| levels[(ctx >> (2 * j)) & 3]).collect(); // a[j] = a_{j−3}
        if (a[3] < th[1]) == (a[4] < th[1]) {
            continue;
        }
        let v = |t: f64| (0..7).map(|j| a[j] * p(t - (j as f64 - 3.0))).sum::<f64>() - th[1];
        let (mut lo, mut hi) = (0.5, 1.5);
        let up = v(lo) < 0.0;
        for _ in 0..50 {
            let mid = 0.5 * (lo + hi);
            if (v(mid) < 0.0) == up {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        sum += 0.5 * (lo + hi) - 1.0;
        count += 1;
    }
    let shift = sum / count as f64;
    // The window sample phases (the library's rule: samples within ±0.02 UI of 0.45/0.55 UI
    // after the shift), the equalized cursors g(d) = Σ_t w_t p(d + main − t + φ).
    let phases = |c: f64| -> Vec<f64> {
        (-(S as isize)..2 * S as isize).map(|i| i as f64 / S as f64).filter(|&f| (f - c - shift).abs() <= 0.02 + 1e-9).collect()
    };
    let ser_terms = |w: &[f64], main: usize, c: f64| -> Vec<(f64, f64)> {
        // The exact distribution of the equalized sample, merged on a 1e-5 grid (far finer
        // than σ_G ≈ 0.3) to keep the SER sums short.
        let mut pmf: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
        let ph = phases(c);
        for &phi in &ph {
            let g: Vec<f64> = (-6..=6).map(|d| w.iter().enumerate().map(|(t, wt)| wt * p(d as f64 + main as f64 - t as f64 + phi)).sum()).collect();
            let sig_cur: Vec<usize> = (0..g.len()).filter(|&i| g[i].abs() > 2e-4).collect();
            let l = sig_cur.len();
            assert!(l <= 10, "cursors {g:?}");
            let prob = 1.0 / (ph.len() as f64 * 4f64.powi(l as i32));
            for combo in 0..4usize.pow(l as u32) {
                let yv: f64 = sig_cur.iter().enumerate().map(|(q, &i)| g[i] * levels[(combo >> (2 * q)) & 3]).sum();
                *pmf.entry((yv * 1e5).round() as i64).or_insert(0.0) += prob;
            }
        }
        let mut terms = Vec::new();
        for (&k, &prob) in &pmf {
            let yv = k as f64 * 1e-5;
            let reg = th.iter().filter(|&&t| yv >= t).count();
            if reg > 0 {
                terms.push((yv - th[reg - 1], prob));
            }
            if reg < 3 {
                terms.push((th[reg] - yv, prob));
            }
        }
        terms
    };
    let autocorr = bt.noise_autocorrelation(5);
    let lib_autocorr = reference_noise_autocorrelation(0.5, 5);
    for (a, b) in autocorr.iter().zip(&lib_autocorr) {
        assert!((a - b).abs() < 2e-3, "autocorrelation {autocorr:?} vs {lib_autocorr:?}");
    }
    let q_t = q_inverse(4.8e-4 / 1.5);
    let independent_tdecq = |w: &[f64], main: usize| -> f64 {
        let (l, rr) = (ser_terms(w, main, 0.45), ser_terms(w, main, 0.55));
        let ser = |t: &[(f64, f64)], s: f64| t.iter().map(|&(d, pr)| pr * crate::stats::q_function(d / s)).sum::<f64>();
        let (mut a, mut b) = (1e-6f64.ln(), 10f64.ln());
        for _ in 0..60 {
            let mid = 0.5 * (a + b);
            if ser(&l, mid.exp()).max(ser(&rr, mid.exp())) > 4.8e-4 {
                b = mid;
            } else {
                a = mid;
            }
        }
        let c_eq: f64 = w.iter().enumerate().map(|(k, x)| w.iter().enumerate().map(|(m, y)| x * y * autocorr[k.abs_diff(m)]).sum::<f64>()).sum::<f64>().sqrt();
        let sigma_g = a.exp() / c_eq;
        10.0 * (r.oma_outer / (6.0 * q_t) / sigma_g).log10()
    };
    let expected = independent_tdecq(&r.taps, r.main_tap);
    println!("independent: {expected:.4} dB (library {:.4} dB, C_eq {:.4}, taps {:?})", r.tdecq_db, r.c_eq, r.taps);
    assert!((r.tdecq_db - expected).abs() < 0.03, "library {} vs independent {expected}", r.tdecq_db);
    assert!(expected > 0.05 && expected < 1.0, "{expected}");
    // No nearby feasible tap set (moves of ±0.01 on a free tap, the main tap compensating) is
    // better by more than 0.01 dB: the optimizer found the optimum.
    let identity: Vec<f64> = (0..5).map(|i| if i == r.main_tap { 1.0 } else { 0.0 }).collect();
    assert!(independent_tdecq(&identity, r.main_tap) > expected - 0.01);
    for i in (0..5).filter(|&i| i != r.main_tap) {
        for d in [0.01, -0.01] {
            let mut w = r.taps.clone();
            w[i] += d;
            w[r.main_tap] -= d;
            if w[r.main_tap] >= 0.8 && w.iter().all(|v| v.abs() <= w[r.main_tap]) {
                let t = independent_tdecq(&w, r.main_tap);
                assert!(t > expected - 0.01, "taps {w:?} give {t} < {expected}");
            }
        }
    }
}

/// The block-parallel resampler is bit-identical to the serial one, for lengths around its
/// block boundaries (the last UI of each block takes its step from the next block).
#[test]
fn resample_at_parallel_is_bit_identical_to_resample_at() {
    use crate::timing::{resample_at, resample_at_parallel};
    let x: Vec<f32> = (0..80_000).map(|i| ((i as f32) * 0.37).sin() + 0.1 * ((i as f32) * 0.011).cos()).collect();
    for n in [1usize, 2, 8191, 8192, 8193, 16_385, 19_000] {
        let pos: Vec<f64> = (0..n).map(|k| 3.0 + 3.9 * k as f64 + 0.3 * (k as f64 * 0.01).sin()).collect();
        for sps in [1usize, 2, 32] {
            let a = resample_at(&x, &pos, sps);
            let b = resample_at_parallel(&x, &pos, sps);
            assert_eq!(a.len(), b.len());
            let diff = a.iter().zip(&b).position(|(u, v)| u.to_bits() != v.to_bits());
            assert!(diff.is_none(), "n {n} sps {sps}: first difference at {diff:?}");
        }
    }
}

/// The tap search runs its main-tap positions, stage-2 refinements and the two windows on the
/// thread pool: the result is the same on 1 and on 2 threads (long enough for the two-stage
/// search and the parallel windows).
#[test]
fn tdecq_is_the_same_on_one_and_two_threads() {
    let (sig, _) = synth(&PAM4, 80_000, 8, 0.06, 21);
    let cfg = TdecqConfig { search_symbols: 8_000, ..TdecqConfig::default() };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| tdecq(&sig, None, &cfg).unwrap())
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one, two);
}

/// The pattern search's step rule: equal scores never gain, for failing (negative) scores as
/// well as passing ones, so the search ends.
#[test]
fn tdecq_search_step_needs_a_strict_gain() {
    use super::tdecq::is_gain;
    for old in [-0.3, -1e-6, 0.0, 1e-6, 0.02, 5.0] {
        assert!(!is_gain(old, old), "{old}");
        assert!(!is_gain(old - 1e-3, old), "{old}");
        assert!(is_gain(old + 1e-3, old), "{old}");
    }
}

#[test]
fn eye_engines_are_used_and_change_nothing() {
    // A histogram engine (the naive CPU count) and a stage mark: each is called, the report
    // equals eye_report's, and the marks come in order.
    let (sig, _) = synth(&PAM4, 3000, 16, 0.05, 21);
    let cfg = EyeAnalysisConfig::default();
    assert!(cfg.tdecq.is_some());
    let plain = eye_report(&sig, None, None, Modulation::Pam4, None, &cfg).unwrap();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let hist = |g: &EyeGeometry, y: &[f32]| -> crate::Result<Vec<u32>> {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut h = EyeHistogram::new(*g)?;
        h.accumulate_naive(y);
        Ok(h.counts().to_vec())
    };
    let marks = std::sync::Mutex::new(Vec::new());
    let mark = |s: &'static str| marks.lock().unwrap().push(s);
    let engines = EyeEngines { histogram: Some(&hist), tdecq: None, mark: Some(&mark), serial: false };
    let r = eye_report_using(&sig, None, None, Modulation::Pam4, None, &cfg, &engines).unwrap();
    assert_eq!(calls.into_inner(), 1);
    assert_eq!(serde_json::to_value(&r).unwrap(), serde_json::to_value(&plain).unwrap());
    assert_eq!(marks.into_inner().unwrap(), ["eye histogram", "eye metrics", "TDECQ", "eye pictures"]);
    // A failing engine is the report's error (the CPU does not quietly take over here).
    let failing = |_: &EyeGeometry, _: &[f32]| -> crate::Result<Vec<u32>> { Err(crate::Error::invalid("engine", 0, "test failure")) };
    let e = eye_report_using(&sig, None, None, Modulation::Pam4, None, &cfg, &EyeEngines { histogram: Some(&failing), ..EyeEngines::default() });
    assert!(e.unwrap_err().to_string().contains("test failure"));
}

#[test]
fn a_tdecq_signal_made_beside_the_metrics_gives_the_same_report() {
    // TDECQ on a second signal (the raw eye with ISI: a different TDECQ than the first's),
    // made by a closure beside the diagram and the metrics: the report of eye_report with
    // that signal, and the signal back; without a maker, eye_report without one. A failing
    // maker is the report's error, after a failing diagram's.
    let (sig, _) = synth(&PAM4, 3000, 16, 0.05, 21);
    let s = sig.samples_per_ui;
    let isi: Vec<f32> = (0..sig.samples.len()).map(|i| sig.samples[i] + 0.3 * if i >= s { sig.samples[i - s] } else { 0.0 }).collect();
    let second = EyeSignal::new(isi, s).unwrap();
    let cfg = EyeAnalysisConfig::default();
    let want = eye_report(&sig, Some(&second), None, Modulation::Pam4, None, &cfg).unwrap();
    assert_ne!(want.tdecq_db, eye_report(&sig, None, None, Modulation::Pam4, None, &cfg).unwrap().tdecq_db, "the second signal decides TDECQ");
    // TDECQ beside the diagram and the metrics, and after them (`serial`): the same report,
    // the stages marked once each (in order when serial).
    for serial in [false, true] {
        let marks = std::sync::Mutex::new(Vec::new());
        let mark = |s: &'static str| marks.lock().unwrap().push(s);
        let engines = EyeEngines { mark: Some(&mark), serial, ..EyeEngines::default() };
        let (got, made) = eye_report_beside(&sig, Some(|| Ok(second.clone())), None, Modulation::Pam4, None, &cfg, &engines).unwrap();
        assert_eq!(got, want, "serial {serial}");
        assert!(matches!(made, Some(HeldSignal::Host(m)) if m.samples == second.samples));
        let mut marks = marks.into_inner().unwrap();
        if !serial {
            marks.sort_unstable();
        }
        let mut order = vec!["eye histogram", "eye metrics", "TDECQ", "eye pictures"];
        if !serial {
            order.sort_unstable();
        }
        assert_eq!(marks, order, "serial {serial}");
        let engines = EyeEngines { serial, ..EyeEngines::default() };
        let none: Option<fn() -> crate::Result<EyeSignal>> = None;
        let (alone, made) = eye_report_beside(&sig, none, None, Modulation::Pam4, None, &cfg, &engines).unwrap();
        assert_eq!(alone, eye_report(&sig, None, None, Modulation::Pam4, None, &cfg).unwrap());
        assert!(made.is_none());
        let failing_maker = || -> crate::Result<EyeSignal> { Err(crate::Error::invalid("maker", 0, "test failure")) };
        let e = eye_report_beside(&sig, Some(failing_maker), None, Modulation::Pam4, None, &cfg, &engines).unwrap_err();
        assert!(e.to_string().contains("maker"), "{e}");
        let failing = |_: &EyeGeometry, _: &[f32]| -> crate::Result<Vec<u32>> { Err(crate::Error::invalid("engine", 0, "diagram failure")) };
        let engines = EyeEngines { histogram: Some(&failing), serial, ..EyeEngines::default() };
        let e = eye_report_beside(&sig, Some(failing_maker), None, Modulation::Pam4, None, &cfg, &engines).unwrap_err();
        assert!(e.to_string().contains("diagram failure"), "{e}");
    }
}
