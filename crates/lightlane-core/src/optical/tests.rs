use super::*;
use crate::sim::optical::field::SpectralFilter;
use crate::sim::optical::{DispersionModel, OpticalLink, OpticalPower};
use crate::sim::Channel;
use crate::Modulation;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

fn random_power(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // Smoothed random levels around 1 mW.
    let mut v = 1e-3f64;
    (0..n)
        .map(|_| {
            let target = 1e-3 * (0.3 + 1.4 * rng.random::<f64>());
            v += 0.3 * (target - v);
            v as f32
        })
        .collect()
}

#[test]
fn block_emulation_matches_the_whole_capture_oracle() {
    let fs = 256e9;
    let capture = Waveform::new(random_power(60_000, 3), fs).unwrap();
    for (dl, alpha, kappa) in [(-0.93, 0.0, 0.0), (40.0, -0.7, 0.0), (300.0, 2.5, 1e13)] {
        let fiber = Fiber::with_accumulated_dispersion(dl, 1550.0).unwrap();
        let chirp = Chirp {
            alpha,
            adiabatic_k_per_w_s: kappa,
        };
        let em = FiberEmulator::new(fs, &fiber, &EmulationOptions { chirp, ..Default::default() }).unwrap();
        assert!(em.edge_samples() < 20_000, "{}", em.edge_samples());
        let fast = em.emulate(&capture).unwrap();
        let naive = emulate_fiber_naive(&capture, &fiber, chirp).unwrap();
        let mut scratch = EmulatorScratch::default();
        let mut serial = vec![0f32; capture.len()];
        em.process(&capture.samples, &mut serial, &mut scratch).unwrap();
        assert_eq!(serial, fast.samples);
        let e = em.edge_samples();
        let worst = fast.samples[e..capture.len() - e]
            .iter()
            .zip(&naive.samples[e..capture.len() - e])
            .map(|(a, b)| (a - b).abs() as f64)
            .fold(0.0, f64::max);
        // The adiabatic phase integral starts at each window, which only adds a constant phase.
        assert!(worst < 1e-4 * 1e-3, "D·L {dl}: worst {worst:e} W");
        // The fibre does something.
        let change = fast.samples.iter().zip(&capture.samples).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(change > 1e-6, "D·L {dl}: change {change}");
        assert_eq!(fast.meta.extra["emulated_dispersion_ps_per_nm"], dl.to_string());
    }
}

#[test]
fn emulating_on_a_back_to_back_capture_matches_simulating_with_the_fibre() {
    let baud = 26.5625e9;
    let mut b2b = OpticalLink::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    b2b.tx.power = OpticalPower::AverageDbm(1.0);
    b2b.tx.extinction_ratio_db = 4.0;
    b2b.tx.bandwidth = Channel::BesselThomson {
        f3db_hz: 0.75 * baud,
        order: 4,
    };
    b2b.tx.chirp = Chirp::transient(-0.8);
    let fiber = Fiber {
        length_km: 10.0,
        wavelength_nm: 1271.0,
        dispersion: DispersionModel::Explicit { ps_per_nm_km: -6.0 },
        attenuation_db_per_km: 0.4,
    };
    let mut with_fiber = b2b.clone();
    with_fiber.fiber = Some(fiber.clone());
    let symbols = crate::pattern::Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
    let cap = b2b.run(&symbols).unwrap();
    let direct = with_fiber.run(&symbols).unwrap();
    let emulated = emulate_fiber(&cap.waveform, &fiber, Chirp::transient(-0.8)).unwrap();
    let em = FiberEmulator::new(cap.waveform.fs(), &fiber, &EmulationOptions::default()).unwrap();
    let e = em.edge_samples();
    let oma_rx = cap.tx_levels.oma_w * fiber.power_transmission();
    let n = cap.waveform.len();
    let worst = direct.waveform.samples[e..n - e]
        .iter()
        .zip(&emulated.samples[e..n - e])
        .map(|(a, b)| (a - b).abs() as f64)
        .fold(0.0, f64::max);
    let effect = direct.waveform.samples[e..n - e]
        .iter()
        .zip(&cap.waveform.samples[e..n - e])
        .map(|(a, b)| (*a as f64 - *b as f64 * fiber.power_transmission()).abs())
        .fold(0.0, f64::max);
    assert!(effect > 0.1 * oma_rx, "the fibre must matter: {}", effect / oma_rx);
    assert!(worst < 0.02 * oma_rx, "emulated vs simulated: {} of OMA", worst / oma_rx);
    assert_eq!(emulated.meta.vertical_unit, "W");
    assert_eq!(emulated.len(), n);
}

#[test]
fn inverse_dispersion_is_refused_beyond_the_gain_bound() {
    let fs = 256e9;
    let fiber = Fiber::with_accumulated_dispersion(0.0, 1550.0).unwrap();
    // A capture through 2 ps/nm at 1550 nm fades only slightly below 128 GHz: removing it is fine.
    let ok = EmulationOptions {
        capture_dispersion_ps_per_nm: 2.0,
        ..Default::default()
    };
    let em = FiberEmulator::new(fs, &fiber, &ok).unwrap();
    assert_eq!(em.net_dispersion_ps_per_nm(), -2.0);
    // Through 100 ps/nm the capture has fading notches in band: refused.
    let bad = EmulationOptions {
        capture_dispersion_ps_per_nm: 100.0,
        ..Default::default()
    };
    assert!(matches!(
        FiberEmulator::new(fs, &fiber, &bad),
        Err(Error::InvalidParameter { name: "capture_dispersion_ps_per_nm", .. })
    ));
    // ... unless the band of interest stays below the first notch.
    let narrow = EmulationOptions {
        band_hz: Some(5e9),
        ..bad
    };
    assert!(FiberEmulator::new(fs, &fiber, &narrow).is_ok());
}

#[test]
fn bad_captures_are_typed_errors() {
    let fiber = Fiber::smf(2.0, 1310.0).unwrap();
    let mut w = Waveform::new(vec![1e-3; 100], 100e9).unwrap();
    w.samples[7] = f32::NAN;
    assert!(matches!(emulate_fiber(&w, &fiber, Chirp::default()), Err(Error::NonFinite { index: 7, .. })));
    let w = Waveform::new(vec![-1e-3; 100], 100e9).unwrap();
    assert!(matches!(emulate_fiber(&w, &fiber, Chirp::default()), Err(Error::Unusable { .. })));
    let w = Waveform::new(vec![1e-3], 100e9).unwrap();
    assert!(matches!(emulate_fiber(&w, &fiber, Chirp::default()), Err(Error::InputTooShort { .. })));
    assert!(emulate_fiber(&w, &fiber, Chirp::transient(f64::NAN)).is_err());
    let em = FiberEmulator::new(50e9, &fiber, &EmulationOptions::default()).unwrap();
    let w = Waveform::new(vec![1e-3; 100], 100e9).unwrap();
    assert!(matches!(em.emulate(&w), Err(Error::InvalidParameter { name: "fs", .. })));
}

#[test]
fn mirror_reflects_about_the_end_samples() {
    let idx: Vec<usize> = (-4..9).map(|i| mirror(i, 4)).collect();
    assert_eq!(idx, vec![2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The lossless fibre is all-pass on the field: energy is conserved and D then −D is identity.
    #[test]
    fn all_pass_fibre_conserves_field_energy(seed in any::<u64>(), dl in -2000.0f64..2000.0, log_n in 6u32..12) {
        let n = 1usize << log_n;
        let fs = 100e9;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let field: Vec<Complex64> = (0..n).map(|_| Complex64::new(rng.random::<f64>() - 0.3, rng.random::<f64>() - 0.5)).collect();
        let fiber = Fiber::with_accumulated_dispersion(dl, 1310.0).unwrap();
        let a = fiber.phase_coefficient_s2();
        let mut planner = FftPlanner::new();
        let fwd = SpectralFilter::new(n, fs, &|f: f64| Complex64::from_polar(1.0, a * f * f), &mut planner);
        let back = SpectralFilter::new(n, fs, &|f: f64| Complex64::from_polar(1.0, -a * f * f), &mut planner);
        let mut scratch = vec![Complex64::default(); fwd.scratch_len().max(back.scratch_len())];
        let mut buf = field.clone();
        fwd.apply(&mut buf, &mut scratch);
        let e_in: f64 = field.iter().map(|c| c.norm_sqr()).sum();
        let e_out: f64 = buf.iter().map(|c| c.norm_sqr()).sum();
        prop_assert!((e_out / e_in - 1.0).abs() < 1e-10 * n as f64);
        back.apply(&mut buf, &mut scratch);
        let err = buf.iter().zip(&field).map(|(a, b)| (a - b).norm()).fold(0.0, f64::max);
        prop_assert!(err < 1e-12 * n as f64);
    }

    /// The emulated capture's mean power is the input mean times the fibre transmission (the
    /// all-pass conserves energy; the mirrored ends only perturb it by the edge share).
    #[test]
    fn emulation_conserves_mean_power(seed in any::<u64>(), dl in -50.0f64..50.0, alpha in -3.0f64..3.0) {
        let n = 20_000;
        let w = Waveform::new(random_power(n, seed), 256e9).unwrap();
        let fiber = Fiber { attenuation_db_per_km: 0.5, ..Fiber::with_accumulated_dispersion(dl, 1310.0).unwrap() };
        let out = emulate_fiber(&w, &fiber, Chirp::transient(alpha)).unwrap();
        let m_in = w.samples.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let m_out = out.samples.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        prop_assert!((m_out / (m_in * fiber.power_transmission()) - 1.0).abs() < 2e-3, "{} {}", m_out, m_in);
    }
}

/// TDECQ (802.3 121.8.5, 5-tap reference FFE, BT4 at 0.5 × baud) of a raw capture.
fn tdecq_db(w: &Waveform, baud: f64) -> f64 {
    let cfg = crate::eye::TdecqConfig {
        samples_per_ui: 16,
        ..crate::eye::TdecqConfig::default()
    };
    crate::eye::tdecq_waveform(w, baud, &crate::timing::CdrConfig::default(), &cfg)
        .unwrap()
        .tdecq_db
}

/// A 26.5625 GBd PAM4 EML-like transmitter: 4.5 dB ER, 0.6 × baud BT4 bandwidth, RIN −140 dB/Hz,
/// a noiseless ideal receiver in W and a scope at 8 samples/UI. Back-to-back TDECQ is 1–2 dB.
fn tdecq_link(alpha: f64) -> OpticalLink {
    let baud = 26.5625e9;
    let mut link = OpticalLink::new(Modulation::Pam4, baud, 8.0 * baud).unwrap();
    link.tx.power = OpticalPower::AverageDbm(0.0);
    link.tx.extinction_ratio_db = 4.5;
    link.tx.bandwidth = Channel::BesselThomson {
        f3db_hz: 0.6 * baud,
        order: 4,
    };
    link.tx.rin_db_per_hz = Some(-140.0);
    link.tx.chirp = Chirp::transient(alpha);
    link
}

/// TDECQ through dispersion: rises monotonically with |D·L| (0 → corner → 2 × corner), is even in
/// the sign of D·L without chirp (the real field makes ±D conjugate), and "simulate with the
/// fibre" agrees with "emulate the fibre on the back-to-back capture" at both corners of a
/// 10 km CWDM-1271-like PMD (802.3 121.8.5: TDECQ at the test fibre's min and max dispersion).
#[test]
fn tdecq_rises_with_dispersion_and_emulation_matches_simulation() {
    let baud = 26.5625e9;
    let symbols = crate::pattern::Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
    let b2b = tdecq_link(0.0);
    let cap = b2b.run(&symbols).unwrap();
    let t0 = tdecq_db(&cap.waveform, baud);
    assert!((0.8..2.5).contains(&t0), "back-to-back TDECQ {t0} dB");
    // 100GBASE-LR1-like corners (10 km, 1264.5..1277.5 nm): about −59 and −21 ps/nm.
    let corners = crate::sim::optical::dispersion_corners(1264.5, 1277.5, 10.0, 1300.0, 1324.0, 0.093).unwrap();
    let lambda = 1271.0;
    let at = |dl: f64, w: &Waveform, alpha: f64| -> f64 {
        let fiber = Fiber::with_accumulated_dispersion(dl, lambda).unwrap();
        tdecq_db(&emulate_fiber(w, &fiber, Chirp::transient(alpha)).unwrap(), baud)
    };
    let c = corners.min_ps_per_nm;
    let (t1, t2) = (at(c, &cap.waveform, 0.0), at(2.0 * c, &cap.waveform, 0.0));
    assert!(t0 < t1 && t1 < t2, "TDECQ must rise with |D·L|: {t0} {t1} {t2}");
    eprintln!("TDECQ at 0, corner, 2 × corner ({c:.1} ps/nm): {t0:.3} {t1:.3} {t2:.3} dB");
    assert!(t2 - t0 > 0.15, "2 × corner must cost noticeably: {t0} → {t2}");
    let (u1, u2) = (at(-c, &cap.waveform, 0.0), at(-2.0 * c, &cap.waveform, 0.0));
    assert!((u1 - t1).abs() < 0.05 && (u2 - t2).abs() < 0.05, "α = 0 must be even in D: {t1} {u1}, {t2} {u2}");
    // Simulate through the fibre vs emulate on the back-to-back capture, at both corners.
    for dl in [corners.min_ps_per_nm, corners.max_ps_per_nm] {
        let mut link = b2b.clone();
        link.fiber = Some(Fiber::with_accumulated_dispersion(dl, lambda).unwrap());
        let direct = tdecq_db(&link.run(&symbols).unwrap().waveform, baud);
        let emulated = at(dl, &cap.waveform, 0.0);
        eprintln!("D·L {dl:.1} ps/nm: simulated {direct:.3} dB, emulated {emulated:.3} dB");
        assert!((direct - emulated).abs() < 0.2, "D·L {dl}: simulated {direct} dB, emulated {emulated} dB");
    }
    // With chirp α < 0 (EML-like) positive dispersion first compresses then fades: the two signs differ.
    let chirped = tdecq_link(-0.8).run(&symbols).unwrap();
    let (neg, pos) = (at(2.0 * c, &chirped.waveform, -0.8), at(-2.0 * c, &chirped.waveform, -0.8));
    eprintln!("α = −0.8 at ±2 × corner: {neg:.3} {pos:.3} dB");
    assert!((neg - pos).abs() > 0.05, "chirp must break the ±D symmetry: {neg} {pos}");
}

/// The analysis reports TDECQ per dispersion corner (emulated on the capture); the plain
/// `tdecq_db` stays the back-to-back value.
#[test]
fn analysis_reports_tdecq_per_dispersion_corner() {
    use crate::analysis::{analyze, Preset};
    let preset = Preset::named("400GBASE-DR4").unwrap();
    let pmd = preset.optical.clone().unwrap();
    let baud = preset.config.baud.unwrap();
    let mut link = tdecq_link(0.0);
    link.baud = baud;
    link.scope.fs = 4.0 * baud;
    link.tx.bandwidth = Channel::BesselThomson {
        f3db_hz: 0.6 * baud,
        order: 4,
    };
    let symbols = crate::pattern::Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
    let cap = link.run(&symbols).unwrap();
    let eye_cfg = preset.config.eye.clone().unwrap();
    assert_eq!(eye_cfg.dispersion_corners_ps_per_nm, vec![pmd.dispersion_min_ps_per_nm, pmd.dispersion_max_ps_per_nm]);
    assert_eq!(eye_cfg.corner_wavelength_nm, 1311.0);
    let r = analyze(&cap.waveform, &preset.config, crate::Backend::Cpu).unwrap();
    // The corners beside the eye and each other give the report of one after another.
    let serial = |wf: &crate::Waveform, config: &crate::analysis::AnalysisConfig| {
        let hooks = crate::analysis::AnalysisHooks { serial: true, ..Default::default() };
        serde_json::to_value(crate::analysis::analyze_using(wf, config, crate::Backend::Cpu, &hooks).unwrap()).unwrap()
    };
    assert_eq!(serde_json::to_value(&r).unwrap(), serial(&cap.waveform, &preset.config));
    let eye = r.eye.unwrap();
    let b2b = eye.tdecq_db.unwrap();
    assert!((0.5..3.0).contains(&b2b), "{b2b}");
    assert_eq!(eye.tdecq_corners.len(), 2);
    for (c, want) in eye.tdecq_corners.iter().zip([pmd.dispersion_min_ps_per_nm, pmd.dispersion_max_ps_per_nm]) {
        assert_eq!(c.dispersion_ps_per_nm, want);
        assert_eq!(c.pass, None);
        // Under 1 ps/nm at 53 GBd the fibre barely matters without chirp.
        let t = c.tdecq_db.unwrap();
        assert!((t - b2b).abs() < 0.1, "{want} ps/nm: {t} vs back-to-back {b2b}");
    }
    // Without corners the back-to-back value is the same; at 0 ps/nm the corner equals it, and a
    // long fibre's corner is worse.
    let mut config = preset.config.clone();
    config.eye.as_mut().unwrap().dispersion_corners_ps_per_nm = vec![0.0, -120.0];
    let r2 = analyze(&cap.waveform, &config, crate::Backend::Cpu).unwrap().eye.unwrap();
    assert_eq!(r2.tdecq_db, Some(b2b));
    assert_eq!(r2.tdecq_corners[0].tdecq_db, Some(b2b));
    match r2.tdecq_corners[1].tdecq_db {
        Some(t) => assert!(t > b2b + 1.0, "{t}"),
        None => assert!(r2.warnings.iter().any(|w| w.contains("TDECQ at -120 ps/nm")), "{:?}", r2.warnings),
    }
    // A capture that is not optical power (zero mean): corners skipped with a warning.
    let mut electrical = cap.waveform.clone();
    let mean = electrical.samples.iter().map(|&v| v as f64).sum::<f64>() / electrical.len() as f64;
    electrical.samples.iter_mut().for_each(|v| *v -= mean as f32 * 1.5);
    let r3 = analyze(&electrical, &preset.config, crate::Backend::Cpu).unwrap();
    assert_eq!(serde_json::to_value(&r3).unwrap(), serial(&electrical, &preset.config));
    let r3 = r3.eye.unwrap();
    assert!(r3.tdecq_corners.is_empty());
    let skipped: Vec<_> = r3.warnings.iter().filter(|w| w.contains("skipped") && w.contains("mean power")).collect();
    assert!(skipped.len() == 2 && skipped[0].contains(&format!("TDECQ at {} ps/nm", pmd.dispersion_min_ps_per_nm)), "{:?}", r3.warnings);
}
