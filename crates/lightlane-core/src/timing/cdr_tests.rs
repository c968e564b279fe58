//! Clock recovery on simulated links with known timing.

use super::*;
use crate::sim::{Channel, Jitter, LinkModel, Noise, SimCapture};
use crate::{Error, Modulation};

fn random_symbols(n: usize, m: Modulation, seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) % m.levels() as u64) as u8
        })
        .collect()
}

struct Link {
    symbols: Vec<u8>,
    cap: SimCapture,
    fs: f64,
}

fn simulate(m: Modulation, baud: f64, fs: f64, n: usize, jitter: Jitter, snr_db: f64) -> Link {
    let mut model = LinkModel::new(m, baud, fs).unwrap();
    model.channel = Channel::BesselThomson { f3db_hz: 0.6 * baud, order: 4 };
    model.noise = Noise::SnrDb(snr_db);
    model.jitter = jitter;
    model.oversampling = 8;
    let symbols = random_symbols(n, m, 17);
    let cap = model.run(&symbols).unwrap();
    Link { symbols, cap, fs }
}

impl Link {
    /// Symbol index whose true centre is nearest to input position `p`.
    fn symbol_at(&self, p: f64) -> usize {
        let st = &self.cap.symbol_times;
        ((p / self.fs - st.first_symbol_time) * st.baud).round() as usize
    }

    /// Decisions at the recovered centres against the transmitted symbols, after settling:
    /// returns (errors, compared, worst |recovered − true centre| in UI).
    fn check(&self, clock: &RecoveredClock, m: Modulation) -> (usize, usize, f64) {
        let x = &self.cap.waveform.samples;
        let levels = super::edges::Levels::estimate(x, m, 0.1).unwrap();
        let st = &self.cap.symbol_times;
        let spu = self.fs / st.baud;
        let (mut errors, mut n, mut worst) = (0, 0, 0f64);
        for &p in &clock.symbol_positions[clock.settled_from..] {
            let k = self.symbol_at(p);
            if k >= self.symbols.len() {
                break;
            }
            let truth = st.centre(k) * self.fs;
            worst = worst.max((p - truth).abs() / spu);
            errors += (levels.decide(cubic_at(x, p)) != self.symbols[k] as usize) as usize;
            n += 1;
        }
        (errors, n, worst)
    }
}

#[test]
fn every_loop_recovers_a_ppm_offset_within_one_ppm() {
    // 10.3125 GBd + 150 ppm at 40 GSa/s (3.879 samples per UI), 220k symbols; the CDR is told
    // the nominal rate.
    let nominal = 10.3125e9;
    let ppm = 150.0;
    let link = simulate(Modulation::Nrz, nominal * (1.0 + ppm * 1e-6), 40e9, 220_000, Jitter { rj_rms_ui: 0.01, ..Jitter::none() }, 22.0);
    let x = &link.cap.waveform.samples;
    let kinds = [
        CdrKind::reference_pll(4e6),
        CdrKind::ReferencePll { corner_hz: 4e6, order: 2, damping: 0.707 },
        CdrKind::MuellerMuller { bandwidth_fraction: 2e-3 },
        CdrKind::Gardner { bandwidth_fraction: 2e-3 },
        CdrKind::BangBang { gain: 2e-3 },
    ];
    for kind in kinds {
        let cfg = CdrConfig { kind, ..Default::default() };
        let clock = recover_clock(x, link.fs, nominal, Modulation::Nrz, &cfg).unwrap();
        let (errors, n, worst) = link.check(&clock, Modulation::Nrz);
        eprintln!(
            "{}: ppm {:.3}, baud {:.1}, TIE rms {:.3} ps, {errors}/{n} errors, worst centre error {worst:.3} UI",
            kind.name(),
            clock.ppm_offset,
            clock.baud,
            clock.tie_rms_s * 1e12
        );
        assert!((clock.ppm_offset - ppm).abs() < 1.0, "{}: {} ppm", kind.name(), clock.ppm_offset);
        assert!(n > 200_000 && errors == 0, "{}: {errors} errors in {n}", kind.name());
        assert!(worst < 0.2, "{}: sampling {worst} UI from the true centre", kind.name());
        // Jitter: 0.01 UI RJ plus the ISI of the channel; well below 0.1 UI.
        assert!(clock.tie_rms_s * nominal < 0.1, "{}", kind.name());
        assert_eq!(clock.tie_s.len(), clock.edge_positions.len());
    }
}

#[test]
fn reference_pll_tracks_sj_below_the_corner_and_shows_it_above() {
    // SJ of 0.3 UI at a tenth of, at, and ten times the 4 MHz corner. The recovered clock
    // follows |H(f)| of the tone and the TIE keeps |1 − H(f)| of it, within 10 %.
    let (baud, fs) = (10e9, 37e9);
    let amplitude = 0.3;
    for (order, f_sj) in [(1u8, 0.4e6), (1, 4e6), (1, 40e6), (2, 4e6), (2, 1e6)] {
        let jitter = Jitter { rj_rms_ui: 0.005, sj_amplitude_ui: amplitude, sj_frequency_hz: f_sj };
        let link = simulate(Modulation::Nrz, baud, fs, 100_000, jitter, 25.0);
        let x = &link.cap.waveform.samples;
        let kind = CdrKind::ReferencePll { corner_hz: 4e6, order, damping: 0.707 };
        let clock = recover_clock(x, fs, baud, Modulation::Nrz, &CdrConfig { kind, ..Default::default() }).unwrap();
        let spu = fs / baud;
        // TIE tone.
        let e0 = clock.settled_edge_index();
        let times: Vec<f64> = clock.edge_positions[e0..].iter().map(|p| p / fs).collect();
        let tie_ui: Vec<f64> = clock.tie_s[e0..].iter().map(|&t| t as f64 * baud).collect();
        let tie_tone = fit_tone(&times, &tie_ui, f_sj).unwrap().amplitude;
        // Clock tone: symbol positions minus their straight line.
        let pos = &clock.symbol_positions[clock.settled_from..];
        let (a, b) = line_fit(pos);
        let ptimes: Vec<f64> = pos.iter().map(|p| p / fs).collect();
        let dev_ui: Vec<f64> = pos.iter().enumerate().map(|(k, p)| (p - (a + b * k as f64)) / spu).collect();
        let clock_tone = fit_tone(&ptimes, &dev_ui, f_sj).unwrap().amplitude;
        let want_tie = amplitude * kind.observed_jitter_transfer(f_sj).unwrap();
        let want_clock = amplitude * kind.jitter_transfer(f_sj).unwrap();
        eprintln!("order {order}, SJ {f_sj:e} Hz: TIE tone {tie_tone:.4} UI (expect {want_tie:.4}), clock tone {clock_tone:.4} UI (expect {want_clock:.4})");
        assert!((tie_tone / want_tie - 1.0).abs() < 0.1, "order {order} f {f_sj}: TIE tone {tie_tone} vs {want_tie}");
        assert!((clock_tone / want_clock - 1.0).abs() < 0.1, "order {order} f {f_sj}: clock tone {clock_tone} vs {want_clock}");
        // Above the corner the TIE carries essentially the whole SJ; below it only a little.
        if f_sj >= 40e6 {
            assert!(tie_tone > 0.9 * amplitude);
        }
        if f_sj <= 0.4e6 {
            assert!(tie_tone < 0.15 * amplitude && clock_tone > 0.95 * amplitude);
        }
    }
}

fn line_fit(p: &[f64]) -> (f64, f64) {
    let n = p.len() as f64;
    let kc = 0.5 * (n - 1.0);
    let mean = p.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (k, &v) in p.iter().enumerate() {
        sxy += (k as f64 - kc) * (v - mean);
        sxx += (k as f64 - kc).powi(2);
    }
    let b = sxy / sxx;
    (mean - b * kc, b)
}

#[test]
fn pam4_loops_converge_and_decide_correctly() {
    // 26.5625 GBd − 100 ppm at 93 GSa/s (3.501 samples per UI).
    let nominal = 26.5625e9;
    let link = simulate(Modulation::Pam4, nominal * (1.0 - 100e-6), 93e9, 60_000, Jitter { rj_rms_ui: 0.005, ..Jitter::none() }, 32.0);
    let x = &link.cap.waveform.samples;
    for kind in [
        CdrKind::reference_pll(4e6),
        CdrKind::MuellerMuller { bandwidth_fraction: 5e-3 },
        CdrKind::Gardner { bandwidth_fraction: 5e-3 },
        CdrKind::BangBang { gain: 2e-3 },
    ] {
        let clock = recover_clock(x, link.fs, nominal, Modulation::Pam4, &CdrConfig { kind, ..Default::default() }).unwrap();
        let (errors, n, worst) = link.check(&clock, Modulation::Pam4);
        eprintln!("pam4 {}: ppm {:.2}, {errors}/{n} errors, worst {worst:.3} UI", kind.name(), clock.ppm_offset);
        assert!((clock.ppm_offset + 100.0).abs() < 3.0, "{}: {}", kind.name(), clock.ppm_offset);
        assert!(n > 50_000 && (errors as f64) < 1e-3 * n as f64, "{}: {errors}/{n}", kind.name());
        assert!(worst < 0.25, "{}: {worst}", kind.name());
    }
}

#[test]
fn jitter_transfer_formulas() {
    let k1 = CdrKind::reference_pll(4e6);
    let s = std::f64::consts::FRAC_1_SQRT_2;
    assert!((k1.jitter_transfer(4e6).unwrap() - s).abs() < 1e-12);
    assert!((k1.observed_jitter_transfer(4e6).unwrap() - s).abs() < 1e-12);
    // 20 dB/decade below the corner.
    assert!((k1.observed_jitter_transfer(4e4).unwrap() - 0.01).abs() < 1e-6);
    let k2 = CdrKind::ReferencePll { corner_hz: 4e6, order: 2, damping: 0.707 };
    assert!((k2.jitter_transfer(4e6).unwrap() - s).abs() < 1e-9);
    // Type II: 40 dB/decade high-pass far below the corner.
    let r = k2.observed_jitter_transfer(1e4).unwrap() / k2.observed_jitter_transfer(1e5).unwrap();
    assert!((r - 0.01).abs() < 1e-4, "{r}");
    assert!(CdrKind::Gardner { bandwidth_fraction: 0.01 }.jitter_transfer(1e6).is_none());
}

#[test]
fn bad_inputs_give_typed_errors() {
    let fs = 40e9;
    let cfg = CdrConfig::default();
    // Constant capture.
    let e = recover_clock(&vec![0.1f32; 40_000], fs, 10e9, Modulation::Nrz, &cfg).unwrap_err();
    assert!(matches!(e, Error::Unusable { stage: "timing", .. }), "{e}");
    // White noise: edges everywhere, no clock.
    let mut s = 3u64;
    let noise: Vec<f32> = (0..200_000)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let e = recover_clock(&noise, fs, 10e9, Modulation::Nrz, &cfg).unwrap_err();
    assert!(matches!(&e, Error::Unusable { reason, .. } if reason.contains("no recoverable clock")), "{e}");
    // Too few transitions.
    let steps: Vec<f32> = (0..100_000).map(|i| if (i / 5000) % 2 == 0 { -0.3 } else { 0.3 }).collect();
    let e = recover_clock(&steps, fs, 10e9, Modulation::Nrz, &cfg).unwrap_err();
    assert!(matches!(&e, Error::Unusable { reason, .. } if reason.contains("too few transitions")), "{e}");
    // A rate 10 % off the capture's.
    let link = simulate(Modulation::Nrz, 10e9, fs, 30_000, Jitter::none(), 30.0);
    let x = &link.cap.waveform.samples;
    for kind in [CdrKind::reference_pll(4e6), CdrKind::Gardner { bandwidth_fraction: 0.002 }] {
        let e = recover_clock(x, fs, 11e9, Modulation::Nrz, &CdrConfig { kind, ..Default::default() }).unwrap_err();
        assert!(matches!(&e, Error::Unusable { reason, .. } if reason.contains("no recoverable clock")), "{}: {e}", kind.name());
    }
    // Parameters.
    assert!(matches!(recover_clock(x, fs, 25e9, Modulation::Nrz, &cfg), Err(Error::InvalidParameter { name: "baud", .. })));
    assert!(matches!(recover_clock(x, fs, f64::NAN, Modulation::Nrz, &cfg), Err(Error::InvalidParameter { .. })));
    assert!(matches!(recover_clock(&x[..400], fs, 10e9, Modulation::Nrz, &cfg), Err(Error::InputTooShort { .. })));
    for kind in [
        CdrKind::ReferencePll { corner_hz: 0.0, order: 1, damping: 0.7 },
        CdrKind::ReferencePll { corner_hz: 4e6, order: 3, damping: 0.7 },
        CdrKind::ReferencePll { corner_hz: 1e9, order: 1, damping: 0.7 },
        CdrKind::MuellerMuller { bandwidth_fraction: 0.5 },
        CdrKind::BangBang { gain: -1.0 },
    ] {
        let e = recover_clock(x, fs, 10e9, Modulation::Nrz, &CdrConfig { kind, ..Default::default() }).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { .. }), "{kind:?}: {e}");
    }
    let e = recover_clock(x, fs, 10e9, Modulation::Nrz, &CdrConfig { samples_per_ui_out: 0, ..Default::default() }).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { name: "samples_per_ui_out", .. }));
    let mut bad = x.clone();
    bad[10] = f32::INFINITY;
    assert!(matches!(recover_clock(&bad, fs, 10e9, Modulation::Nrz, &cfg), Err(Error::NonFinite { index: 10, .. })));
}

#[test]
fn config_round_trips_through_json() {
    let cfg = CdrConfig {
        kind: CdrKind::ReferencePll { corner_hz: 4e6, order: 2, damping: 0.9 },
        samples_per_ui_out: 2,
        hysteresis_fraction: 0.12,
    };
    let s = serde_json::to_string(&cfg).unwrap();
    assert_eq!(serde_json::from_str::<CdrConfig>(&s).unwrap(), cfg);
    let d: CdrConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(d, CdrConfig::default());
}

