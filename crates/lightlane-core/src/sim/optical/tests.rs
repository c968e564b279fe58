use super::*;
use crate::pattern::Pattern;
use crate::sim::Channel;

fn prbs(name: &str, modulation: Modulation, n: usize) -> Vec<u8> {
    Pattern::parse(name).unwrap().generate(modulation, n).unwrap()
}

/// Samples of `w` at the nominal symbol centres when `fs = spui · baud` and symbol 0 is centred
/// at `first_symbol_ui = 0.5` (sample `spui·k + spui/2`).
fn centres(w: &Waveform, spui: usize) -> Vec<f64> {
    w.samples.iter().skip(spui / 2).step_by(spui).map(|&v| v as f64).collect()
}

#[test]
fn er_oma_and_average_power_match_their_definitions() {
    for (modulation, pattern) in [(Modulation::Nrz, "prbs15"), (Modulation::Pam4, "prbs13q")] {
        let baud = 26.5625e9;
        let mut link = OpticalLink::new(modulation, baud, 4.0 * baud).unwrap();
        link.first_symbol_ui = 0.5;
        link.tx.power = OpticalPower::AverageDbm(-1.5);
        link.tx.extinction_ratio_db = 4.2;
        let n = if modulation == Modulation::Nrz { 32767 } else { 8191 };
        let symbols = prbs(pattern, modulation, n);
        let cap = link.run(&symbols).unwrap();
        let c = centres(&cap.waveform, 4);
        let top = modulation.max_symbol();
        let mean_level = |s: u8| {
            let v: Vec<f64> = c.iter().zip(&symbols).filter(|(_, &x)| x == s).map(|(v, _)| *v).collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let (p0, p3) = (mean_level(0), mean_level(top));
        let er = 10.0 * (p3 / p0).log10();
        assert!((er - 4.2).abs() < 1e-4, "{modulation}: ER {er}");
        assert!(((p3 - p0) / cap.tx_levels.oma_w - 1.0).abs() < 1e-5, "{modulation}: OMA");
        let mean = cap.waveform.samples.iter().map(|&v| v as f64).sum::<f64>() / cap.waveform.len() as f64;
        assert!((w_to_dbm(mean) - (-1.5)).abs() < 0.01, "{modulation}: average {} dBm", w_to_dbm(mean));
        // Every symbol centre sits on its level (ideal bandwidth, no noise).
        for (v, &s) in c.iter().zip(&symbols) {
            assert!((v / cap.tx_levels.levels_w[s as usize] - 1.0).abs() < 1e-5);
        }
    }
    // OMA-specified power and fibre loss.
    let baud = 53.125e9;
    let mut link = OpticalLink::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    link.first_symbol_ui = 0.5;
    link.tx.power = OpticalPower::OmaDbm(2.0);
    link.fiber = Some(Fiber {
        dispersion: DispersionModel::Explicit { ps_per_nm_km: 0.0 },
        ..Fiber::smf(10.0, 1310.0).unwrap()
    });
    let symbols = prbs("prbs13q", Modulation::Pam4, 8191);
    let cap = link.run(&symbols).unwrap();
    let c = centres(&cap.waveform, 4);
    let lo = c.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = c.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let loss_db = 10.0 * 0.35;
    assert!((w_to_dbm(hi - lo) - (2.0 - loss_db)).abs() < 1e-4, "{}", w_to_dbm(hi - lo));
}

#[test]
fn rin_shot_and_thermal_noise_give_the_analytic_snr() {
    let baud = 26.5625e9;
    let f3db = 20e9;
    let mut clean = OpticalLink::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    clean.rx.responsivity_a_per_w = 0.8;
    clean.rx.apd_gain = 5.0;
    clean.rx.excess_noise_factor = mcintyre_excess_noise(5.0, 0.2);
    clean.rx.bandwidth = Channel::Gaussian { f3db_hz: f3db };
    clean.rx.output = RxOutput::Amperes;
    let mut noisy = clean.clone();
    noisy.tx.rin_db_per_hz = Some(-150.0);
    noisy.rx.thermal_noise_pa_per_rthz = 100.0;
    noisy.rx.shot_noise = true;
    noisy.seed = 99;
    let symbols = vec![3u8; 40_000];
    let a = clean.run(&symbols).unwrap();
    let b = noisy.run(&symbols).unwrap();
    let n = a.waveform.len() as f64;
    let signal = a.waveform.samples.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = a
        .waveform
        .samples
        .iter()
        .zip(&b.waveform.samples)
        .map(|(&x, &y)| (y as f64 - x as f64).powi(2))
        .sum::<f64>()
        / n;
    // Analytic: one-sided PSDs (A²/Hz) times the noise bandwidth of the Gaussian TIA,
    // ∫₀^∞ exp(−ln2·(f/f3)²) df = (f3/2)·√(π/ln2).
    let p3 = a.tx_levels.levels_w[3];
    let (r, m, f): (f64, f64, f64) = (0.8, 5.0, mcintyre_excess_noise(5.0, 0.2));
    let p_avg = a.tx_levels.average_w;
    let rin = (m * r).powi(2) * 1e-15 * p_avg * p_avg;
    let shot = 2.0 * ELEMENTARY_CHARGE * m * m * f * r * p3;
    let thermal = (100e-12f64).powi(2);
    let neb = 0.5 * f3db * (PI / 2f64.ln()).sqrt();
    let expect = (rin + shot + thermal) * neb;
    assert!((signal / (m * r * p3) - 1.0).abs() < 1e-6);
    assert!((var / expect - 1.0).abs() < 0.04, "variance {var:e}, analytic {expect:e}");
    let snr_db = 10.0 * (signal * signal / var).log10();
    let snr_analytic = 10.0 * (signal * signal / expect).log10();
    assert!((snr_db - snr_analytic).abs() < 0.2, "{snr_db} vs {snr_analytic}");
    // Each source alone scales as its own PSD (thermal only, RIN only).
    for (rin_db, th, shot_on, psd) in [(None, 100.0, false, thermal), (Some(-150.0), 0.0, false, rin)] {
        let mut one = clean.clone();
        one.tx.rin_db_per_hz = rin_db;
        one.rx.thermal_noise_pa_per_rthz = th;
        one.rx.shot_noise = shot_on;
        let c = one.run(&symbols).unwrap();
        let v = a.waveform.samples.iter().zip(&c.waveform.samples).map(|(&x, &y)| (y as f64 - x as f64).powi(2)).sum::<f64>() / n;
        assert!((v / (psd * neb) - 1.0).abs() < 0.04, "{rin_db:?} {th}: {v:e} vs {:e}", psd * neb);
    }
}

/// Small-signal IM/DD transfer of the simulated link (fibre run over back-to-back run, same
/// periodic pattern, so the DFT over the whole capture has no leakage), compared with
/// `cos θ − α sin θ` and checked for notches at the analytic frequencies.
#[test]
fn power_fading_notches_land_at_the_analytic_frequencies() {
    let baud = 25e9;
    let symbols = prbs("prbs13", Modulation::Nrz, 8191);
    for (dl, alpha) in [(340.0, 0.0), (340.0, 2.0), (-340.0, 2.0), (200.0, -1.5)] {
        // Scope at the internal rate (8 samples per UI): no decimation, so nothing aliases.
        let mut b2b = OpticalLink::new(Modulation::Nrz, baud, 8.0 * baud).unwrap();
        b2b.tx.extinction_ratio_db = 0.05; // small signal: distortion products stay small
        b2b.tx.chirp = Chirp::transient(alpha);
        b2b.tx.bandwidth = Channel::Gaussian { f3db_hz: 30e9 };
        let mut with_fiber = b2b.clone();
        let fiber = Fiber::with_accumulated_dispersion(dl, 1550.0).unwrap();
        with_fiber.fiber = Some(fiber.clone());
        let x = b2b.run(&symbols).unwrap().waveform;
        let y = with_fiber.run(&symbols).unwrap().waveform;
        let spec = |w: &Waveform| {
            let n = w.len();
            let mean = w.samples.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let mut buf: Vec<Complex64> = w.samples.iter().map(|&v| Complex64::new(v as f64 - mean, 0.0)).collect();
            FftPlanner::new().plan_fft_forward(n).process(&mut buf);
            buf
        };
        let (sx, sy) = (spec(&x), spec(&y));
        let n = x.len();
        let fs = x.fs();
        let peak = sx.iter().map(|c| c.norm()).fold(0.0, f64::max);
        let mut worst: f64 = 0.0;
        let mut measured = Vec::new();
        for k in 1..n / 2 {
            if sx[k].norm() < 0.1 * peak || k as f64 * fs / n as f64 > 45e9 {
                continue;
            }
            let f = k as f64 * fs / n as f64;
            let h = (sy[k] / sx[k]).re;
            let expect = fiber.im_response(f, alpha);
            worst = worst.max((h - expect).abs());
            measured.push((f, h));
        }
        // Relative to the response's peak √(1+α²).
        let scale = (1.0 + alpha * alpha).sqrt();
        assert!(worst < 0.03 * scale, "D·L {dl}, α {alpha}: worst deviation {worst}");
        let notches = fiber.fading_notches_hz(alpha, 45e9);
        assert!(notches.len() >= 2, "{notches:?}");
        for fk in notches {
            // The measured response changes sign across the notch, within 0.3 GHz of it.
            let below = measured.iter().filter(|(f, _)| (fk - 0.3e9..fk).contains(f)).map(|m| m.1).collect::<Vec<_>>();
            let above = measured.iter().filter(|(f, _)| (fk..fk + 0.3e9).contains(f)).map(|m| m.1).collect::<Vec<_>>();
            if below.is_empty() || above.is_empty() {
                continue; // the notch falls in a spectral null of the pattern
            }
            assert!(below[0] * above[above.len() - 1] < 0.0, "D·L {dl}, α {alpha}: no sign change at {fk:e}");
        }
    }
}

#[test]
fn unphysical_parameters_are_typed_errors() {
    let baud = 53.125e9;
    let link = OpticalLink::new(Modulation::Pam4, baud, 256e9).unwrap();
    let name_of = |l: &OpticalLink| match l.validate() {
        Err(Error::InvalidParameter { name, .. }) => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    };
    let mut l = link.clone();
    l.fiber = Some(Fiber {
        length_km: -1.0,
        ..Fiber::smf(1.0, 1310.0).unwrap()
    });
    assert_eq!(name_of(&l), "fiber.length_km");
    l.fiber = Some(Fiber {
        wavelength_nm: 1650.0,
        ..Fiber::smf(1.0, 1310.0).unwrap()
    });
    assert_eq!(name_of(&l), "fiber.wavelength_nm");
    l.fiber = Some(Fiber {
        wavelength_nm: f64::NAN,
        ..Fiber::smf(1.0, 1310.0).unwrap()
    });
    assert_eq!(name_of(&l), "fiber.wavelength_nm");
    let mut l = link.clone();
    l.tx.extinction_ratio_db = 0.0;
    assert_eq!(name_of(&l), "tx.extinction_ratio_db");
    l.tx.extinction_ratio_db = f64::NAN;
    assert_eq!(name_of(&l), "tx.extinction_ratio_db");
    let mut l = link.clone();
    l.rx.responsivity_a_per_w = -0.5;
    assert_eq!(name_of(&l), "rx.responsivity_a_per_w");
    let mut l = link.clone();
    l.rx.bandwidth = Channel::BesselThomson { f3db_hz: -1.0, order: 4 };
    assert_eq!(name_of(&l), "rx.bandwidth");
    let mut l = link.clone();
    l.scope.fs = 1.5 * baud;
    assert_eq!(name_of(&l), "scope.fs");
    let mut l = link.clone();
    l.tx.chirp.alpha = f64::INFINITY;
    assert_eq!(name_of(&l), "chirp.alpha");
    assert!(matches!(link.run(&[]), Err(Error::InputTooShort { .. })));
    assert!(matches!(link.run(&[0, 4]), Err(Error::ValueOutOfRange { index: 1, .. })));
}

#[test]
fn adc_quantises_and_keeps_codes() {
    let baud = 26.5625e9;
    let mut link = OpticalLink::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    link.scope.adc_bits = Some(8);
    link.scope.noise = Noise::SnrDb(30.0);
    let symbols = prbs("prbs13q", Modulation::Pam4, 2000);
    let cap = link.run(&symbols).unwrap();
    let Some(RawCodes::I16 { codes, gain, offset }) = &cap.waveform.raw else { panic!("no codes") };
    let distinct: std::collections::BTreeSet<i16> = codes.iter().copied().collect();
    assert!(distinct.len() <= 256 && distinct.len() > 20, "{}", distinct.len());
    for (&c, &v) in codes.iter().zip(&cap.waveform.samples) {
        assert!(((c as f64 * gain + offset) - v as f64).abs() <= 1e-6 * v.abs() as f64 + 1e-12);
    }
    // Same seed, same result; different seed, different noise.
    assert_eq!(link.run(&symbols).unwrap().waveform.samples, cap.waveform.samples);
    link.seed = 2;
    assert_ne!(link.run(&symbols).unwrap().waveform.samples, cap.waveform.samples);
}

#[test]
fn jitter_ground_truth_maps_to_the_pattern_symbols() {
    let baud = 26.5625e9;
    let mut link = OpticalLink::new(Modulation::Nrz, baud, 4.0 * baud).unwrap();
    link.jitter = Jitter {
        rj_rms_ui: 0.02,
        ..Jitter::none()
    };
    let symbols = prbs("prbs9", Modulation::Nrz, 511);
    let cap = link.run(&symbols).unwrap();
    assert_eq!(cap.symbol_times.edge_jitter_ui.len(), 512);
    assert!(cap.symbol_times.edge_jitter_ui.iter().any(|&j| j != 0.0));
    assert_eq!(cap.waveform.len(), 511 * 4);
}

#[test]
fn output_len_is_the_link_models_rule_and_guard() {
    let baud = 26.5625e9;
    let link = OpticalLink::new(Modulation::Pam4, baud, 2.5 * baud).unwrap();
    let model = LinkModel::new(Modulation::Pam4, baud, 2.5 * baud).unwrap();
    for n in [0usize, 1, 3, 1000, 8191] {
        assert_eq!(link.output_len(n).unwrap(), model.output_len(n).unwrap(), "{n}");
    }
    assert_eq!(link.output_len(3).unwrap(), 7);
    let huge = crate::sim::MAX_OUTPUT_SAMPLES;
    assert!(matches!(link.output_len(huge), Err(Error::InvalidParameter { name: "symbols", .. })));
}
