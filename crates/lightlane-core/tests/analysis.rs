//! End-to-end checks of `analysis::analyze` on simulated captures with known answers.

use lightlane_core::analysis::{analyze, AnalysisConfig};
use lightlane_core::pattern::Pattern;
use lightlane_core::sim::{Channel, LinkModel, Noise};
use lightlane_core::stats::q_function;
use lightlane_core::modulation::BitMapping;
use lightlane_core::{Backend, Error, Modulation, Waveform};

fn pam4_symbols(n: usize) -> Vec<u8> {
    Pattern::parse("prbs15").unwrap().generate(Modulation::Pam4, n).unwrap()
}

/// Two-sided binomial interval half-width in units of the count, 3.5 standard deviations.
fn within_binomial(measured: u64, n: u64, p: f64) -> bool {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (measured as f64 - mean).abs() <= 3.5 * sd + 1.0
}

#[test]
fn pam4_ser_matches_awgn_theory() {
    // Ideal channel, integer 4 samples/UI so the sampler sits on a sample: the slicer sees
    // levels ±A, ±A/3 plus Gaussian noise of rms σ, so SER = 1.5·Q(A / (3σ)).
    let baud = 26.5625e9;
    let amplitude = 0.3;
    let symbols = pam4_symbols(120_000);
    for (i, &q) in [2.6f64, 2.9, 3.2].iter().enumerate() {
        let sigma = amplitude / (3.0 * q);
        let mut model = LinkModel::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
        model.amplitude = amplitude;
        model.noise = Noise::Rms(sigma);
        model.seed = 100 + i as u64;
        let capture = model.run(&symbols).unwrap();
        let mut config = AnalysisConfig::pam4(baud);
        config.pattern = "prbs15".into();
        // An ideal clock: this checks the slicer statistics, not the CDR.
        config.clock = lightlane_core::analysis::ClockRecovery::Fixed;
        let report = analyze(&capture.waveform, &config, Backend::Cpu).unwrap();
        let theory = 1.5 * q_function(q);
        eprintln!(
            "PAM4 AWGN Q={q}: SER measured {:.4e} ({} / {}), theory {:.4e}, BER {:.4e}",
            report.ser, report.symbol_errors, report.symbols, theory, report.ber
        );
        assert!(
            within_binomial(report.symbol_errors, report.symbols, theory),
            "Q={q}: measured SER {:.4e} ({} / {}), theory {:.4e}",
            report.ser,
            report.symbol_errors,
            report.symbols,
            theory
        );
        // Gray coding: almost every symbol error is a single bit error.
        assert!(report.bit_errors >= report.symbol_errors);
        assert!((report.bit_errors as f64) < 1.02 * report.symbol_errors as f64 + 2.0);
        assert!(report.ber_ci95.0 <= report.ber && report.ber <= report.ber_ci95.1, "{:?} {}", report.ber_ci95, report.ber);
    }
}

#[test]
fn mmse_ffe_recovers_three_tap_isi_channel() {
    let baud = 26.5625e9;
    let symbols = pam4_symbols(60_000);
    let mut model = LinkModel::new(Modulation::Pam4, baud, 100e9).unwrap();
    model.channel = Channel::SymbolFir { taps: vec![1.0, 0.55, 0.25], main: 0 };
    model.noise = Noise::SnrDb(30.0);
    let capture = model.run(&symbols).unwrap();
    let mut config = AnalysisConfig::pam4(baud);
    config.pattern = "prbs15".into();
    let report = analyze(&capture.waveform, &config, Backend::Cpu).unwrap();
    let pre = &report.stages[0];
    assert!(pre.ser > 0.05, "the channel should close the raw eye, pre-EQ SER {}", pre.ser);
    assert_eq!(report.symbol_errors, 0, "after the FFE: {report:?}");
    assert!(report.symbols > 50_000);
    // The FFE approximates the channel inverse 1/(1 + 0.55 D + 0.25 D^2): first post-cursor ≈ −0.55·main.
    let c = report.ffe_reference_tap;
    let ratio = report.ffe_taps[c + 1] / report.ffe_taps[c];
    assert!((ratio + 0.55).abs() < 0.1, "post-cursor ratio {ratio}, taps {:?}", report.ffe_taps);
}

#[test]
fn dfe_and_mlse_chains_reach_their_oracles_on_one_plus_half_d() {
    // A 1 + 0.5D channel with white noise, ideal clock at 4 samples/UI. Oracles on the
    // symbol-centre samples with the true channel: the DFE (identity FFE, tap 0.5, true levels,
    // its own decisions fed back) and the MLSE (Viterbi for 1 + 0.5D on the true levels).
    // `ffe:15,dfe:1` trains its FFE jointly with the feedback tap (the MMSE-DFE: here ≈ the
    // identity and tap ≈ 0.5), so it must reach the DFE oracle; trained towards a flat
    // response first (stop 14) it inverted 1 + 0.5D and reached only 4.79e-3 (1.8× the oracle).
    // `ffe:15,mlse:1` trains its FFE for the partial-response target, decides its `ffe` stage
    // with the target fed back (the same MMSE-DFE receiver) and its `mlse` stage by Viterbi.
    let baud = 26.5625e9;
    let n = 150_000;
    let symbols = pam4_symbols(n);
    let mut model = LinkModel::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    model.channel = Channel::SymbolFir { taps: vec![1.0, 0.5], main: 0 };
    model.first_symbol_time = 0.0; // symbol k at sample 4k
    let a = model.amplitude;
    model.noise = Noise::Rms(a / 8.5); // 1.5·Q(8.5/3) ≈ 3.5e-3 symbol errors with ideal feedback
    model.seed = 7;
    let capture = model.run(&symbols).unwrap();
    let y: Vec<f32> = (0..n).map(|k| (capture.waveform.samples[4 * k] as f64 / a) as f32).collect();
    let level = |s: u8| Modulation::Pam4.level(s) as f64;
    let slice = |v: f64| (v >= -2.0 / 3.0) as u8 + (v >= 0.0) as u8 + (v >= 2.0 / 3.0) as u8;
    let bits = |d: u8, s: u8| lightlane_core::modulation::bit_errors_between(d, s, Modulation::Pam4, BitMapping::Gray) as u64;
    let (mut oracle_errors, mut sliced_errors) = (0u64, 0u64);
    let mut prev = symbols[0];
    for k in 1..n {
        let d = slice(y[k] as f64 - 0.5 * level(prev));
        oracle_errors += bits(d, symbols[k]);
        sliced_errors += (slice(y[k] as f64) != symbols[k]) as u64;
        prev = d;
    }
    let oracle_ber = oracle_errors as f64 / (2 * (n - 1)) as f64;
    let pam4 = Modulation::Pam4;
    let viterbi = lightlane_core::eq::Mlse::new(pam4, &[1.0, 0.5], &pam4.level_set()).unwrap().detect(&y);
    let oracle_mlse_errors: u64 = (1..n).map(|k| bits(viterbi[k], symbols[k])).sum();
    let oracle_mlse_ber = oracle_mlse_errors as f64 / (2 * (n - 1)) as f64;

    let run = |chain: &str| {
        let mut config = AnalysisConfig::pam4(baud);
        config.pattern = "prbs15".into();
        config.clock = lightlane_core::analysis::ClockRecovery::Fixed;
        config.equalizer = chain.parse().unwrap();
        config.eye = None;
        analyze(&capture.waveform, &config, Backend::Cpu).unwrap()
    };
    let (dfe, mlse) = (run("ffe:15,dfe:1"), run("ffe:15,mlse:1"));
    let names = |r: &lightlane_core::analysis::Report| r.stages.iter().map(|s| s.stage.clone()).collect::<Vec<_>>();
    assert_eq!(names(&dfe), ["pre_eq", "ffe", "dfe"]);
    assert_eq!(names(&mlse), ["pre_eq", "ffe", "mlse"]);
    let (dfe_ffe, dfe_stage) = (&dfe.stages[1], &dfe.stages[2]);
    let (mlse_ffe, mlse_stage) = (&mlse.stages[1], &mlse.stages[2]);
    eprintln!(
        "1+0.5D: oracle DFE BER {oracle_ber:.3e} ({oracle_errors} bits; slicer without feedback: SER {:.3}), oracle MLSE {oracle_mlse_ber:.3e}; \
         ffe,dfe:1 ffe {:.3e} dfe {:.3e} (taps {:?}, P(e|e) {:.3}); ffe,mlse:1 ffe stage {:.3e}, mlse {:.3e}, target {:?}",
        sliced_errors as f64 / (n - 1) as f64,
        dfe_ffe.ber,
        dfe_stage.ber,
        dfe.dfe_taps,
        dfe.dfe_error_propagation.as_ref().map_or(f64::NAN, |p| p.p_error_given_previous_error),
        mlse_ffe.ber,
        mlse_stage.ber,
        mlse.mlse_target,
    );
    assert!(oracle_errors > 200, "the noise must cause errors for the comparison to mean something");
    // Slicing the partial-response output would count the target's own ISI.
    assert!(sliced_errors as f64 > 0.1 * n as f64);
    // The same receiver as the oracle: the same BER within the statistics (±20 %: the counts are
    // ~800 bits, ±3σ ≈ ±11 %, and the trained FFE and levels differ a little from the true ones).
    for (what, ber) in [("dfe stage of ffe,dfe:1", dfe_stage.ber), ("ffe stage of ffe,mlse:1", mlse_ffe.ber)] {
        assert!((ber - oracle_ber).abs() <= 0.2 * oracle_ber, "{what}: BER {ber:.3e} vs the DFE oracle {oracle_ber:.3e}");
    }
    // The feedback tap is the MMSE-DFE target's post-cursor: 0.5 shrunk by the MMSE bias
    // (1/(1 + σ²/E[a²]) ≈ 0.976 here).
    let taps = dfe.dfe_taps.as_ref().expect("DFE taps reported");
    assert!(taps.len() == 1 && (taps[0] - 0.488).abs() < 0.02, "{taps:?}");
    // The `ffe` stage of the DFE chain decides with the same DFE: the same errors (its span
    // is counted against the aligned symbols, the `dfe` stage against the pattern).
    assert!(dfe_ffe.bit_errors.abs_diff(dfe_stage.bit_errors) <= 2 + dfe_stage.bit_errors / 100, "{dfe_ffe:?} vs {dfe_stage:?}");
    // Error propagation is still measured: the DFE's errors cluster.
    let ep = dfe.dfe_error_propagation.as_ref().expect("DFE error propagation reported");
    assert!(ep.errors.abs_diff(dfe_stage.symbol_errors) <= 2 + dfe_stage.symbol_errors / 100, "{ep:?} vs {dfe_stage:?}");
    assert!(ep.bursts > 0 && ep.bursts <= ep.errors);
    assert!(ep.p_error_given_previous_error > 10.0 * ep.p_error_given_previous_correct, "{ep:?}");
    // The MLSE stage reaches the Viterbi oracle and keeps its margin over the DFE: the chains'
    // DFE/MLSE ratio is the oracles' within the statistics.
    assert!(
        (mlse_stage.ber - oracle_mlse_ber).abs() <= 0.25 * oracle_mlse_ber,
        "mlse stage {:.3e} vs the MLSE oracle {oracle_mlse_ber:.3e}",
        mlse_stage.ber
    );
    let (ratio, oracle_ratio) = (dfe_stage.ber / mlse_stage.ber, oracle_ber / oracle_mlse_ber);
    assert!(oracle_ratio > 2.0, "the MLSE must gain clearly here: oracle ratio {oracle_ratio}");
    assert!((ratio / oracle_ratio - 1.0).abs() <= 0.3, "DFE/MLSE BER ratio {ratio:.2} vs the oracles' {oracle_ratio:.2}");
    let alpha = mlse.mlse_target.as_ref().unwrap()[1];
    assert!((alpha - 0.5).abs() < 0.1, "target 1+{alpha}D");

    // The adaptive chains adapt FFE and feedback tap jointly (DFE-LMS, RLS): they approach the
    // MMSE-DFE from an identity FFE and no feedback.
    for chain in ["ffe:15:lms,dfe:1", "ffe:15:nlms,dfe:1", "ffe:15:rls,dfe:1"] {
        let r = run(chain);
        let stage = &r.stages[2];
        eprintln!("{chain}: dfe {:.3e}, taps {:?}", stage.ber, r.dfe_taps);
        assert!(stage.ber <= 1.3 * oracle_ber, "{chain}: BER {:.3e} vs the DFE oracle {oracle_ber:.3e}", stage.ber);
        // The gradient rules leave part of the post-cursor to the FFE (that direction
        // converges slowly at this SNR, and costs little); RLS lands on the MMSE-DFE.
        let tap = r.dfe_taps.as_ref().unwrap()[0];
        let tol = if chain.contains("rls") { 0.03 } else { 0.15 };
        assert!((tap - 0.488).abs() < tol, "{chain}: feedback tap {tap}");
    }
}

#[test]
fn non_integer_samples_per_ui_band_limited_link() {
    let model = LinkModel::demo_pam4();
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 2 * 8191).unwrap();
    let capture = model.run(&symbols).unwrap();
    let report = analyze(&capture.waveform, &AnalysisConfig::pam4(model.baud), Backend::Cpu).unwrap();
    // The reference CDR recovers the clock of this ISI-heavy eye (no ideal-clock fallback),
    // at the simulated rate.
    assert!(report.warnings.iter().all(|w| !w.contains("clock recovery failed")), "{:?}", report.warnings);
    let ppm = report.ppm_offset.expect("recovered clock");
    assert!(ppm.abs() < 5.0, "{ppm} ppm");
    assert!((report.samples_per_ui / (model.fs / model.baud) - 1.0).abs() < 5e-6, "{}", report.samples_per_ui);
    assert!(report.samples_per_ui.fract() > 0.1);
    assert!(report.ber < 1e-3, "{report:?}");
    assert!(report.symbols > 16_000);
    let fec = report.fec.as_ref().expect("KP4 statistics by default");
    assert_eq!(fec.histogram.iter().sum::<u64>(), fec.codewords);
}

#[test]
fn nrz_prbs31_link() {
    let baud = 25.78125e9;
    let symbols = Pattern::parse("prbs31").unwrap().generate(Modulation::Nrz, 100_000).unwrap();
    let mut model = LinkModel::new(Modulation::Nrz, baud, 80e9).unwrap();
    model.channel = Channel::Gaussian { f3db_hz: 0.5 * baud };
    model.noise = Noise::SnrDb(25.0);
    let capture = model.run(&symbols).unwrap();
    let report = analyze(&capture.waveform, &AnalysisConfig::nrz(baud), Backend::Cpu).unwrap();
    assert_eq!(report.bit_errors, 0, "{report:?}");
    assert_eq!(report.bits, report.symbols);
}

#[test]
fn precoded_link_is_decoded() {
    let baud = 26.5625e9;
    let mut symbols = pam4_symbols(40_000);
    lightlane_core::modulation::precode(&mut symbols, Modulation::Pam4, 2);
    let mut model = LinkModel::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    model.noise = Noise::SnrDb(35.0);
    let capture = model.run(&symbols).unwrap();
    let mut config = AnalysisConfig::pam4(baud);
    config.pattern = "prbs15".into();
    config.precoding = true;
    let report = analyze(&capture.waveform, &config, Backend::Cpu).unwrap();
    assert_eq!(report.bit_errors, 0);
    config.precoding = false;
    // Without decoding, the precoded stream does not match the pattern at all.
    assert!(analyze(&capture.waveform, &config, Backend::Cpu).is_err());
}

#[test]
fn bad_inputs_are_typed_errors() {
    let baud = 26.5625e9;
    let config = AnalysisConfig::pam4(baud);
    // Empty and too short.
    let empty = Waveform::new(vec![], 100e9).unwrap();
    assert!(matches!(analyze(&empty, &config, Backend::Cpu), Err(Error::InputTooShort { .. })));
    let short = Waveform::new([0.1, -0.1, 0.3, -0.3].repeat(20), 100e9).unwrap();
    assert!(matches!(analyze(&short, &config, Backend::Cpu), Err(Error::InputTooShort { .. })));
    // NaN smuggled past the constructor.
    let mut nan = Waveform::new(vec![0.0; 10_000], 100e9).unwrap();
    nan.samples[1234] = f32::NAN;
    assert!(matches!(analyze(&nan, &config, Backend::Cpu), Err(Error::NonFinite { index: 1234, .. })));
    // Baud above fs/2.
    let w = Waveform::new(vec![0.0; 10_000], 40e9).unwrap();
    let err = analyze(&w, &config, Backend::Cpu).unwrap_err();
    assert!(err.to_string().contains("fs/2"), "{err}");
    // Unknown pattern.
    let mut c = config.clone();
    c.pattern = "prbs8".into();
    let model = LinkModel::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    let cap = model.run(&pam4_symbols(5000)).unwrap();
    assert!(matches!(analyze(&cap.waveform, &c, Backend::Cpu), Err(Error::UnknownPattern { .. })));
    // A signal that is not the pattern: sync failure, not BER 0.5.
    let mut c = config.clone();
    c.pattern = "ssprq".into();
    assert!(matches!(analyze(&cap.waveform, &c, Backend::Cpu), Err(Error::PatternSyncFailed { .. })));
    // Constant signal.
    let flat = Waveform::new(vec![0.25; 20_000], 4.0 * baud).unwrap();
    assert!(analyze(&flat, &config, Backend::Cpu).is_err());
    // Absurd configuration.
    let mut c = config.clone();
    c.baud = Some(-1.0);
    assert!(matches!(analyze(&cap.waveform, &c, Backend::Cpu), Err(Error::InvalidParameter { name: "baud", .. })));
}
