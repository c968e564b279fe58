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
    // The first non-finite sample is named, whichever kind, in any chunk of the range pass.
    bad[10] = 0.0;
    bad[70_000] = f32::NEG_INFINITY;
    bad[90_001] = f32::NAN;
    assert!(matches!(recover_clock(&bad, fs, 10e9, Modulation::Nrz, &cfg), Err(Error::NonFinite { what: "capture", index: 70_000, .. })));
}

#[test]
fn reference_pll_blocks_stitch_on_a_closed_isi_pam4_eye() {
    // The demo link's ISI spreads the PAM4 data edges over much of the UI, so some
    // edges lie near the ±½ UI boundary where two runs a hair apart give them to different UIs:
    // each such event moves the runs apart again by about α UI, which then decays with the loop.
    // The handover must still find a cut where the neighbouring runs agree (not fall back to the
    // sequential run), and the result stays within the stated bound of the sequential loop.
    let model = LinkModel::demo_pam4();
    let (baud, fs, n) = (model.baud, model.fs, 400_000);
    let symbols = random_symbols(n, Modulation::Pam4, 23);
    let cap = model.run(&symbols).unwrap();
    let x = &cap.waveform.samples;
    let kind = CdrKind::reference_pll(4e6);
    let seq = recover_clock(x, fs, baud, Modulation::Pam4, &CdrConfig { kind, block_symbols: 0, ..Default::default() }).unwrap();
    let (par, (stitched, fell_back)) = recover_blocked(x, fs, baud, Modulation::Pam4, kind, 60_000);
    assert_eq!((stitched, fell_back), (1, 0), "the block path must stitch");
    let spu = fs / baud;
    assert_eq!(par.symbol_positions.len(), seq.symbol_positions.len());
    assert_eq!(par.edge_positions, seq.edge_positions);
    let worst = par.symbol_positions.iter().zip(&seq.symbol_positions).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) / spu;
    assert!(worst <= 2.0 * super::LINEAR_TOLERANCE_UI, "{worst} UI");
}

#[test]
fn config_round_trips_through_json() {
    let cfg = CdrConfig {
        kind: CdrKind::ReferencePll { corner_hz: 4e6, order: 2, damping: 0.9 },
        samples_per_ui_out: 2,
        hysteresis_fraction: 0.12,
        block_symbols: 5000,
    };
    let s = serde_json::to_string(&cfg).unwrap();
    assert_eq!(serde_json::from_str::<CdrConfig>(&s).unwrap(), cfg);
    let d: CdrConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(d, CdrConfig::default());
}


/// Runs `recover_clock` with blocks of `block` UI; returns the clock and how many block runs
/// (reference PLL and timing-error-detector loop) were stitched / fell back on this thread.
fn recover_blocked(x: &[f32], fs: f64, baud: f64, m: Modulation, kind: CdrKind, block: usize) -> (RecoveredClock, (usize, usize)) {
    super::cdr_block::BLOCK_RUNS.with(|c| c.set((0, 0)));
    let clock = recover_clock(x, fs, baud, m, &CdrConfig { kind, block_symbols: block, ..Default::default() }).unwrap();
    (clock, super::cdr_block::BLOCK_RUNS.with(|c| c.get()))
}

#[test]
fn block_parallel_loops_match_the_sequential_loops() {
    // Noisy NRZ (+150 ppm) and PAM4 (−100 ppm), both with RJ and 0.2 UI of SJ at 1 MHz, and
    // blocks of 10 000 UI (raised to four warm-ups where a loop is slow): every loop's clock
    // equals the sequential loop's within the stated tolerance, the same edges in the same UIs.
    let jitter = Jitter { rj_rms_ui: 0.01, sj_amplitude_ui: 0.2, sj_frequency_hz: 1e6 };
    let cases = [
        (Modulation::Nrz, 10.3125e9, 150.0, 40e9, 150_000, 22.0, 2e-3),
        (Modulation::Pam4, 26.5625e9, -100.0, 93e9, 120_000, 32.0, 5e-3),
    ];
    for (m, nominal, ppm, fs, n, snr, bw) in cases {
        let link = simulate(m, nominal * (1.0 + ppm * 1e-6), fs, n, jitter, snr);
        let x = &link.cap.waveform.samples;
        let spu = fs / nominal;
        for kind in [
            CdrKind::reference_pll(4e6),
            CdrKind::ReferencePll { corner_hz: 4e6, order: 2, damping: 0.707 },
            CdrKind::MuellerMuller { bandwidth_fraction: bw },
            CdrKind::Gardner { bandwidth_fraction: bw },
            CdrKind::BangBang { gain: 2e-3 },
        ] {
            let seq = recover_clock(x, fs, nominal, m, &CdrConfig { kind, block_symbols: 0, ..Default::default() }).unwrap();
            let (par, (stitched, fell_back)) = recover_blocked(x, fs, nominal, m, kind, 10_000);
            let runs = match kind {
                // 16 time constants of the order-2 loop at 26.5625 GBd are 49 000 UI: four
                // warm-ups per block leave fewer than two blocks, so it runs sequentially.
                CdrKind::ReferencePll { order: 2, .. } if m == Modulation::Pam4 => 0,
                CdrKind::ReferencePll { .. } => 1,
                _ => 2,
            };
            assert_eq!((stitched, fell_back), (runs, 0), "{} {}: the block path must run", m.name(), kind.name());
            // The stated bound, UI: twice the handover tolerance for the linear loops, the
            // hunting range for bang-bang.
            let tol = match kind {
                CdrKind::BangBang { gain } => 0.5 * super::BANG_BANG_TOLERANCE_STEPS * gain,
                _ => super::LINEAR_TOLERANCE_UI,
            };
            assert_eq!(par.symbol_positions.len(), seq.symbol_positions.len(), "{}", kind.name());
            assert_eq!(par.edge_positions, seq.edge_positions);
            assert_eq!(par.settled_from, seq.settled_from);
            assert_eq!(par.settled_edge_index(), seq.settled_edge_index());
            let worst = par.symbol_positions.iter().zip(&seq.symbol_positions).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) / spu;
            let worst_tie = par.tie_s.iter().zip(&seq.tie_s).map(|(a, b)| (a - b).abs() as f64).fold(0.0, f64::max) * nominal;
            eprintln!(
                "{} {}: worst centre difference {worst:.2e} UI, TIE {worst_tie:.2e} UI, ppm {:.4} vs {:.4}, TIE rms {:.4} vs {:.4} ps",
                m.name(),
                kind.name(),
                par.ppm_offset,
                seq.ppm_offset,
                par.tie_rms_s * 1e12,
                seq.tie_rms_s * 1e12
            );
            assert!(worst <= 2.0 * tol, "{} {}: {worst} UI", m.name(), kind.name());
            // The TIE also carries the difference of the mean TIE removed (f32 storage: 1e-7 UI).
            assert!(worst_tie <= 4.0 * tol + 1e-6, "{} {}: TIE {worst_tie} UI", m.name(), kind.name());
            assert!((par.ppm_offset - seq.ppm_offset).abs() < 0.2, "{}", kind.name());
            assert!((par.tie_rms_s / seq.tie_rms_s - 1.0).abs() < 1e-2, "{}", kind.name());
            let (errors, compared, _) = link.check(&par, m);
            assert!(compared > n / 2 && (errors as f64) < 1e-3 * compared as f64, "{}: {errors}/{compared}", kind.name());
        }
        // The result does not depend on the number of threads.
        let cfg = CdrConfig { kind: CdrKind::MuellerMuller { bandwidth_fraction: bw }, block_symbols: 10_000, ..Default::default() };
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| recover_clock(x, fs, nominal, m, &cfg).unwrap());
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap().install(|| recover_clock(x, fs, nominal, m, &cfg).unwrap());
        assert_eq!(one, three);
        // The parallel TIE search equals the sequential sweep.
        let (tie, ui) = super::cdr::tie_against_centres_seq(&one.edge_positions, &one.symbol_positions);
        assert_eq!(tie, super::cdr::tie_against_centres(&one.edge_positions, &one.symbol_positions));
        // The settled edge by bisection is the sweep's first edge of that UI.
        for settle in [0, 1, 2, 3, 777, 5_000, ui[ui.len() / 2], one.symbol_positions.len() - 2, one.symbol_positions.len() + 9] {
            let want = ui.partition_point(|&k| k < settle);
            assert_eq!(super::cdr::first_edge_of_ui(&one.edge_positions, &one.symbol_positions, settle), want, "settle {settle}");
        }
    }
}

/// On-CPU time of the calling thread, seconds (Linux).
fn thread_cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    s.split_whitespace().next().unwrap().parse::<f64>().unwrap() * 1e-9
}

/// On-CPU rates of `recover_clock` (every loop, default blocks) on one thread, and on a pool of
/// two with each worker's on-CPU time, whose maximum is the critical path on an idle machine
/// (the projected speed-up is the one-thread time over it): run with
/// `cargo test -p lightlane-core --lib profile_cdr -- --ignored --nocapture`
/// (`LIGHTLANE_CDR_SYMBOLS` sets the symbols, 2²⁰ by default).
#[test]
#[ignore]
fn profile_cdr_stages() {
    let n: usize = std::env::var("LIGHTLANE_CDR_SYMBOLS").ok().and_then(|v| v.parse().ok()).unwrap_or(1 << 20);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    for (m, baud, fs) in [(Modulation::Nrz, 10.3125e9, 40e9), (Modulation::Pam4, 26.5625e9, 80e9)] {
        let link = simulate(m, baud * (1.0 + 50e-6), fs, n, Jitter::none(), 30.0);
        let x = &link.cap.waveform.samples;
        let (edge_cpu, n_edges) = one.install(|| {
            let levels = super::edges::Levels::estimate(x, m, 0.1).unwrap();
            let t = thread_cpu();
            let edges = super::edges::data_edges_parallel(x, &levels, m, fs / baud);
            (thread_cpu() - t, edges.len())
        });
        eprintln!("{} {} samples, {} symbols, {n_edges} edges: phase detector {:.1} ms on one thread", m.name(), x.len(), n, edge_cpu * 1e3);
        for kind in [
            CdrKind::reference_pll(4e6),
            CdrKind::ReferencePll { corner_hz: 4e6, order: 2, damping: 0.707 },
            CdrKind::MuellerMuller { bandwidth_fraction: 2e-3 },
            CdrKind::Gardner { bandwidth_fraction: 2e-3 },
            CdrKind::BangBang { gain: 2e-3 },
        ] {
            let cfg = CdrConfig { kind, ..Default::default() };
            let run = || drop(recover_clock(x, fs, baud, m, &cfg).unwrap());
            let reps = 3;
            one.install(run);
            let t1 = one.install(|| {
                let t = thread_cpu();
                (0..reps).for_each(|_| run());
                (thread_cpu() - t) / reps as f64
            });
            two.install(run);
            let before = two.broadcast(|_| thread_cpu());
            let wall = std::time::Instant::now();
            two.install(|| (0..reps).for_each(|_| run()));
            let wall = wall.elapsed().as_secs_f64() / reps as f64;
            let after = two.broadcast(|_| thread_cpu());
            let per: Vec<f64> = after.iter().zip(&before).map(|(a, b)| (a - b) / reps as f64).collect();
            let crit = per.iter().cloned().fold(0.0, f64::max);
            let total: f64 = per.iter().sum();
            eprintln!(
                "  {:<16} 1 thread {:6.1} ms on-CPU ({:5.1} MS/s); 2 threads: on-CPU {:6.1} + {:6.1} ms (work x{:.2}), projected speed-up {:.2}, wall {:6.1} ms",
                kind.name(),
                t1 * 1e3,
                x.len() as f64 / t1 / 1e6,
                per[0] * 1e3,
                per[1] * 1e3,
                total / t1,
                t1 / crit,
                wall * 1e3
            );
        }
    }
}


#[test]
fn noise_and_wrong_rates_stay_below_the_concentration_bound_at_every_length() {
    // The bound max(0.1, 3/√N) against what evenly spread edges give: white noise from a few
    // hundred to ~900k edges, and simulated captures 1 % and 10 % off the given rate.
    let fs = 40e9;
    let mut s = 3u64;
    for n in [4_000usize, 40_000, 2_000_000] {
        let noise: Vec<f32> = (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        for kind in [CdrKind::reference_pll(4e6), CdrKind::Gardner { bandwidth_fraction: 0.002 }, CdrKind::BangBang { gain: 2e-3 }] {
            let e = recover_clock(&noise, fs, 10e9, Modulation::Nrz, &CdrConfig { kind, ..Default::default() }).unwrap_err();
            assert!(matches!(&e, Error::Unusable { reason, .. } if reason.contains("no recoverable clock")), "noise {n} {}: {e}", kind.name());
        }
    }
    let link = simulate(Modulation::Nrz, 10e9, fs, 300_000, Jitter::none(), 30.0);
    for given in [10.1e9, 11e9] {
        let e = recover_clock(&link.cap.waveform.samples, fs, given, Modulation::Nrz, &CdrConfig::default()).unwrap_err();
        assert!(matches!(&e, Error::Unusable { reason, .. } if reason.contains("no recoverable clock")), "{given}: {e}");
    }
    assert_eq!(min_edge_concentration(100), 0.3);
    assert_eq!(min_edge_concentration(1_000_000), MIN_EDGE_CONCENTRATION);
}

#[test]
fn a_closed_isi_eye_still_gives_its_clock() {
    // The demo capture (53.125 GBd PAM4 at 256 GSa/s through a long lossy channel, simulated at
    // exactly the nominal rate; raw int16 codes): its data edges spread ≈ 0.25 UI rms from ISI,
    // so they concentrate only to R ≈ 0.19 around the clock, but the clock is there.
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/demo_pam4.bin")).expect("demo capture in the repository");
    let x: Vec<f32> = bytes.chunks_exact(2).map(|c| f32::from(i16::from_le_bytes([c[0], c[1]]))).collect();
    let (fs, baud) = (256e9, 53.125e9);
    for kind in [CdrKind::reference_pll(4e6), CdrKind::BangBang { gain: 2e-3 }] {
        let c = recover_clock(&x, fs, baud, Modulation::Pam4, &CdrConfig { kind, ..Default::default() }).unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        assert!(c.ppm_offset.abs() < 1.0, "{}: {} ppm", kind.name(), c.ppm_offset);
        let tie_ui = c.tie_rms_s * baud;
        assert!((0.15..0.33).contains(&tie_ui), "{}: TIE {tie_ui} UI rms", kind.name());
        assert!(c.symbol_positions.len() > 30_000);
    }
}
