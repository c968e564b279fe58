//! End-to-end tests of the link simulator against analytic ground truth and a naive reference.

use super::fir::fir_valid_naive;
use super::jitter::EdgeTable;
use super::tx::{fill_cells_naive, TxLevels};
use super::*;
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

fn random_symbols(n: usize, m: Modulation, seed: u64) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(0..m.levels() as u8)).collect()
}

fn volts(model: &LinkModel, v: f64) -> f32 {
    (model.offset + model.amplitude * v) as f32
}

/// Naive whole-signal reference of the noise-free waveform: full fine grid by the per-cell
/// overlap sum, direct convolution, cubic interpolation in the textbook form.
fn reference_run(model: &LinkModel, symbols: &[u8]) -> Vec<f64> {
    let n_out = model.output_len(symbols.len()).unwrap();
    let design = model.channel.design(model.baud, model.oversampling).unwrap();
    let os = model.oversampling;
    let osf = os as f64;
    let cps = osf * model.baud / model.fs;
    let u0 = osf * (0.5 - model.first_symbol_time * model.baud) - 0.5;
    let len = design.fir.taps.len() as i64;
    let lead = design.fir.lead as i64;
    let out_lo = u0.floor() as i64 - 1;
    let out_hi = (u0 + (n_out - 1) as f64 * cps).floor() as i64 + 3;
    let in_lo = out_lo + lead - (len - 1);
    let in_hi = out_hi + lead;
    let edges = EdgeTable::generate(
        &model.jitter,
        model.baud,
        model.first_symbol_time,
        model.seed,
        os,
        in_lo.div_euclid(os as i64) - 50,
        in_hi.div_euclid(os as i64) + 50,
    );
    let tx = TxLevels::new(model.modulation, symbols, &model.tx_ffe, model.tx_ffe_main);
    let mut x = vec![0.0; (in_hi - in_lo) as usize];
    fill_cells_naive(&tx, &edges, in_lo, &mut x);
    let y = fir_valid_naive(&design.fir.taps, &x); // y[j] is cell out_lo + j
    (0..n_out)
        .map(|i| {
            let u = u0 + i as f64 * cps;
            let m = u.floor();
            let t = u - m;
            let j = (m as i64 - 1 - out_lo) as usize;
            let (p0, p1, p2, p3) = (y[j], y[j + 1], y[j + 2], y[j + 3]);
            let v = p1
                + 0.5 * t * (p2 - p0)
                + t * t * (p0 - 2.5 * p1 + 2.0 * p2 - 0.5 * p3)
                + t * t * t * (-0.5 * p0 + 1.5 * p1 - 1.5 * p2 + 0.5 * p3);
            model.offset + model.amplitude * v
        })
        .collect()
}

#[test]
fn ideal_channel_integer_sps_hits_levels_exactly() {
    let baud = 25e9;
    let fs = 8.0 * baud;
    for m in [Modulation::Nrz, Modulation::Pam4] {
        let mut model = LinkModel::new(m, baud, fs).unwrap();
        model.first_symbol_time = 3.0 / fs;
        model.offset = 0.013;
        let symbols = random_symbols(500, m, 1);
        let cap = model.run(&symbols).unwrap();
        assert_eq!(cap.waveform.len(), 4000);
        assert_eq!(cap.waveform.meta.source.as_deref(), Some("simulation"));
        assert_eq!(cap.waveform.t0, 0.0);
        assert!((cap.waveform.fs() - fs).abs() < 1e-3);
        for (k, &s) in symbols.iter().enumerate() {
            let i = 3 + 8 * k;
            assert_eq!(cap.waveform.samples[i], volts(&model, m.level(s) as f64), "symbol {k}");
        }
    }
}

#[test]
fn ideal_channel_fractional_sps_matches_levels_away_from_edges() {
    let model = LinkModel::new(Modulation::Pam4, 53.125e9, 256e9).unwrap();
    let symbols = random_symbols(3000, Modulation::Pam4, 2);
    let cap = model.run(&symbols).unwrap();
    let n = symbols.len() as i64;
    let mut checked = 0;
    for (i, &v) in cap.waveform.samples.iter().enumerate() {
        let t = i as f64 / model.fs;
        let ui = (t - model.first_symbol_time) * model.baud; // symbol k centred at ui = k
        let k = ui.round();
        // Interpolation reaches ±2 cells; stay 3 cells (3/32 UI) away from the edges.
        if (ui - k).abs() > 0.5 - 3.0 / 32.0 {
            continue;
        }
        let s = symbols[(k as i64).rem_euclid(n) as usize];
        let expect = model.amplitude * Modulation::Pam4.level(s) as f64;
        assert!((v as f64 - expect).abs() <= 1e-5 * model.amplitude, "i={i}: {v} vs {expect}");
        checked += 1;
    }
    assert!(checked > cap.waveform.len() / 2);
}

#[test]
fn symbol_fir_and_tx_ffe_equal_the_convolution_at_symbol_centres() {
    let baud = 10e9;
    let mut model = LinkModel::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    model.first_symbol_time = 1.0 / model.fs;
    let ch = [0.1, 1.0, -0.25, 0.05];
    model.channel = Channel::SymbolFir { taps: ch.to_vec(), main: 1 };
    let ffe = [-0.1, 0.75, -0.15];
    model.tx_ffe = ffe.to_vec();
    model.tx_ffe_main = 1;
    let symbols = random_symbols(400, Modulation::Pam4, 3);
    let n = symbols.len() as i64;
    let lv = |k: i64| Modulation::Pam4.level(symbols[k.rem_euclid(n) as usize]) as f64;
    let tx = |k: i64| (0..3).map(|i| ffe[i] * lv(k - i as i64 + 1)).sum::<f64>();
    let cap = model.run(&symbols).unwrap();
    for k in 0..n {
        let expect: f64 = (0..4).map(|i| ch[i] * tx(k - (i as i64 - 1))).sum();
        let got = cap.waveform.samples[1 + 4 * k as usize] as f64;
        assert!((got - model.amplitude * expect).abs() < 1e-6, "k={k}: {got} vs {}", model.amplitude * expect);
    }
    assert_eq!(cap.symbol_times.channel_delay, 0.0);
}

/// Ratio of the clock-pattern fundamental through a low-pass channel to that through the ideal
/// channel equals |H(baud/2)|; with f3dB = baud/2 that is −3.01 dB.
#[test]
fn low_pass_channels_are_minus_3db_at_f3db_end_to_end() {
    let baud = 20e9;
    let symbols: Vec<u8> = (0..2000).map(|k| (k % 2) as u8).collect();
    let fundamental = |channel: Channel| {
        let mut model = LinkModel::new(Modulation::Nrz, baud, 64.0 * baud).unwrap();
        model.channel = channel;
        let cap = model.run(&symbols).unwrap();
        let w = 2.0 * PI * 0.5 * baud / model.fs;
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &v) in cap.waveform.samples.iter().enumerate() {
            re += v as f64 * (w * i as f64).cos();
            im -= v as f64 * (w * i as f64).sin();
        }
        (re * re + im * im).sqrt()
    };
    let ideal = fundamental(Channel::Ideal);
    for ch in [
        Channel::BesselThomson { f3db_hz: 0.5 * baud, order: 4 },
        Channel::BesselThomson { f3db_hz: 0.5 * baud, order: 2 },
        Channel::Gaussian { f3db_hz: 0.5 * baud },
    ] {
        let db = 20.0 * (fundamental(ch.clone()) / ideal).log10();
        assert!((db + 3.0103).abs() < 0.02, "{ch:?}: {db} dB");
    }
}

/// The Bessel-Thomson delay is removed: an isolated pulse peaks at its symbol's centre.
#[test]
fn bessel_thomson_delay_is_compensated() {
    let baud = 20e9;
    let mut model = LinkModel::new(Modulation::Nrz, baud, 64.0 * baud).unwrap();
    model.channel = Channel::BesselThomson { f3db_hz: 0.5 * baud, order: 4 };
    let mut symbols = vec![0u8; 64];
    symbols[20] = 1;
    let cap = model.run(&symbols).unwrap();
    let s = &cap.waveform.samples;
    let i = (1..s.len() - 1).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap();
    let (a, b, c) = (s[i - 1] as f64, s[i] as f64, s[i + 1] as f64);
    let peak = i as f64 + 0.5 * (a - c) / (a - 2.0 * b + c);
    let t_peak = peak / model.fs;
    let off_ui = (t_peak - cap.symbol_times.nominal_centre(20)) * baud;
    assert!(off_ui.abs() < 0.05, "pulse peak {off_ui} UI from the symbol centre");
    assert!((cap.symbol_times.channel_delay * baud - 2.113_917_674_904 / PI).abs() < 1e-9);
}

#[test]
fn fast_path_matches_naive_reference() {
    let mut model = LinkModel::demo_pam4();
    model.noise = Noise::None;
    model.fs = 3.3 * model.baud;
    model.oversampling = 16;
    model.offset = -0.02;
    let symbols = random_symbols(12_000, Modulation::Pam4, 4);
    let cap = model.run(&symbols).unwrap();
    let reference = reference_run(&model, &symbols);
    assert_eq!(cap.waveform.len(), reference.len());
    for (i, (&a, &b)) in cap.waveform.samples.iter().zip(&reference).enumerate() {
        assert!((a as f64 - b).abs() < 1e-6, "i={i}: {a} vs {b}");
    }
}

#[test]
fn impulse_channel_matches_analytic_gaussian_end_to_end() {
    let baud = 25e9;
    let f3 = 0.7 * baud;
    let sigma_t = (2f64.ln()).sqrt() / (2.0 * PI * f3);
    let dt = 1.0 / (baud * 23.1);
    let delay = 7.0 / baud;
    let taps: Vec<f64> = (0..((2.0 * delay / dt) as usize))
        .map(|n| {
            let t = n as f64 * dt - delay;
            dt * (-(t * t) / (2.0 * sigma_t * sigma_t)).exp() / ((2.0 * PI).sqrt() * sigma_t)
        })
        .collect();
    let symbols = random_symbols(2000, Modulation::Pam4, 5);
    let mut model = LinkModel::new(Modulation::Pam4, baud, 2.7 * baud).unwrap();
    model.channel = Channel::Gaussian { f3db_hz: f3 };
    let a = model.run(&symbols).unwrap();
    model.channel = Channel::Impulse { dt, taps };
    let b = model.run(&symbols).unwrap();
    assert!((b.symbol_times.channel_delay - delay).abs() < 1e-3 / baud);
    for (x, y) in a.waveform.samples.iter().zip(&b.waveform.samples) {
        assert!((x - y).abs() < 1e-4 * model.amplitude as f32, "{x} vs {y}");
    }
}

#[test]
fn noise_rms_is_realised() {
    let mut model = LinkModel::new(Modulation::Pam4, 53.125e9, 256e9).unwrap();
    let symbols = random_symbols(20_000, Modulation::Pam4, 6);
    let clean = model.run(&symbols).unwrap();
    model.noise = Noise::Rms(0.01);
    let noisy = model.run(&symbols).unwrap();
    assert_eq!(noisy.noise_rms, 0.01);
    let n = clean.waveform.len() as f64;
    let diff: Vec<f64> = noisy.waveform.samples.iter().zip(&clean.waveform.samples).map(|(a, b)| (*a - *b) as f64).collect();
    let mean = diff.iter().sum::<f64>() / n;
    let sd = (diff.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
    // ~96k samples: relative standard error of σ̂ ≈ 0.23 %.
    assert!((sd / 0.01 - 1.0).abs() < 0.01, "measured σ {sd}");
    assert!(mean.abs() < 4.0 * 0.01 / n.sqrt());
    assert!(clean.noise_rms == 0.0);
}

#[test]
fn snr_is_realised_at_the_scope_samples() {
    let mut model = LinkModel::new(Modulation::Pam4, 53.125e9, 256e9).unwrap();
    model.channel = Channel::BesselThomson { f3db_hz: 0.5 * 53.125e9, order: 4 };
    model.offset = 0.1;
    let symbols = random_symbols(20_000, Modulation::Pam4, 7);
    let clean = model.run(&symbols).unwrap();
    model.noise = Noise::SnrDb(20.0);
    let noisy = model.run(&symbols).unwrap();
    let c = &clean.waveform.samples;
    let n = c.len() as f64;
    let mean_c = c.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var_c = c.iter().map(|&v| (v as f64 - mean_c).powi(2)).sum::<f64>() / n;
    let var_n = noisy.waveform.samples.iter().zip(c).map(|(a, b)| ((*a - *b) as f64).powi(2)).sum::<f64>() / n;
    let snr = 10.0 * (var_c / var_n).log10();
    assert!((snr - 20.0).abs() < 0.1, "realised SNR {snr} dB");
    assert!((noisy.signal_rms - var_c.sqrt()).abs() < 1e-6);
    assert!((20.0 * (noisy.signal_rms / noisy.noise_rms).log10() - 20.0).abs() < 1e-9);
}

/// Crossing times measured on the waveform, by linear interpolation at NRZ transitions:
/// (edge index k, displacement from the nominal edge in UI).
fn crossings(model: &LinkModel, symbols: &[u8], cap: &SimCapture) -> Vec<(usize, f64)> {
    let s = &cap.waveform.samples;
    let mut out = Vec::new();
    for k in 1..symbols.len() {
        if symbols[k] == symbols[k - 1] {
            continue;
        }
        let te = model.first_symbol_time + (k as f64 - 0.5) / model.baud;
        let i_lo = ((te - 0.45 / model.baud) * model.fs).ceil() as usize;
        let i_hi = (((te + 0.45 / model.baud) * model.fs).floor() as usize).min(s.len() - 1);
        for i in i_lo..i_hi {
            let (a, b) = (s[i] as f64 - model.offset, s[i + 1] as f64 - model.offset);
            if (a < 0.0) != (b < 0.0) {
                let t = (i as f64 + a / (a - b)) / model.fs;
                out.push((k, (t - te) * model.baud));
                break;
            }
        }
    }
    out
}

#[test]
fn random_jitter_appears_at_the_crossings() {
    let baud = 10e9;
    let mut model = LinkModel::new(Modulation::Nrz, baud, 128.0 * baud).unwrap();
    model.oversampling = 64;
    model.jitter.rj_rms_ui = 0.03;
    let symbols = random_symbols(20_000, Modulation::Nrz, 8);
    let cap = model.run(&symbols).unwrap();
    let xs = crossings(&model, &symbols, &cap);
    assert!(xs.len() > 9000);
    let rms = (xs.iter().map(|(_, d)| d * d).sum::<f64>() / xs.len() as f64).sqrt();
    assert!((rms / 0.03 - 1.0).abs() < 0.1, "crossing rms {rms} UI");
    // Each crossing sits where the ground truth says the edge is.
    let worst = xs.iter().map(|&(k, d)| (d - cap.symbol_times.edge_jitter(k)).abs()).fold(0.0, f64::max);
    assert!(worst < 0.005, "worst crossing vs ground truth {worst} UI");
    assert_eq!(cap.symbol_times.edge_jitter_ui.len(), symbols.len() + 1);
    // The ground-truth centre is the midpoint of the jittered edges.
    let st = &cap.symbol_times;
    assert!((st.centre(7) - 0.5 * (st.edge_time(7) + st.edge_time(8))).abs() < 1e-18);
}

#[test]
fn sinusoidal_jitter_amplitude_is_recovered() {
    let baud = 10e9;
    let mut model = LinkModel::new(Modulation::Nrz, baud, 128.0 * baud).unwrap();
    model.oversampling = 64;
    model.jitter.sj_amplitude_ui = 0.2;
    model.jitter.sj_frequency_hz = baud / 997.0;
    let symbols = random_symbols(8000, Modulation::Nrz, 9);
    let cap = model.run(&symbols).unwrap();
    let xs = crossings(&model, &symbols, &cap);
    // Least squares for d = a·sin(wt) + b·cos(wt) + c.
    let w = 2.0 * PI * model.jitter.sj_frequency_hz;
    let mut ata = [[0.0f64; 3]; 3];
    let mut atb = [0.0f64; 3];
    for &(k, d) in &xs {
        let t = model.first_symbol_time + (k as f64 - 0.5) / baud;
        let row = [(w * t).sin(), (w * t).cos(), 1.0];
        for r in 0..3 {
            atb[r] += row[r] * d;
            for c in 0..3 {
                ata[r][c] += row[r] * row[c];
            }
        }
    }
    let x = solve(ata.iter().map(|r| r.to_vec()).collect(), atb.to_vec());
    let amp = (x[0] * x[0] + x[1] * x[1]).sqrt();
    assert!((amp / 0.2 - 1.0).abs() < 0.02, "SJ amplitude {amp} UI");
    assert!(x[1].abs() < 0.005, "SJ phase: cos term {}", x[1]);
}

/// Gaussian elimination with partial pivoting (test helper).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let p = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs())).unwrap();
        a.swap(col, p);
        b.swap(col, p);
        let pivot_row = a[col].clone();
        for r in col + 1..n {
            let f = a[r][col] / pivot_row[col];
            for (x, p) in a[r][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|c| a[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x
}

#[test]
fn same_seed_reproduces_and_other_seed_differs() {
    let model = LinkModel::demo_pam4();
    let symbols = random_symbols(3000, Modulation::Pam4, 10);
    let a = model.run(&symbols).unwrap();
    let b = model.run(&symbols).unwrap();
    assert_eq!(a.waveform.samples, b.waveform.samples);
    assert_eq!(a.symbol_times, b.symbol_times);
    let mut other = model.clone();
    other.seed += 1;
    let c = other.run(&symbols).unwrap();
    let differing = a.waveform.samples.iter().zip(&c.waveform.samples).filter(|(x, y)| x != y).count();
    assert!(differing > a.waveform.len() * 9 / 10);
    assert_ne!(a.symbol_times.edge_jitter_ui, c.symbol_times.edge_jitter_ui);
}

#[test]
fn bad_parameters_are_rejected_naming_the_field() {
    let base = LinkModel::new(Modulation::Pam4, 53.125e9, 256e9).unwrap();
    type Mutation = Box<dyn Fn(&mut LinkModel)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("baud", Box::new(|m| m.baud = 0.0)),
        ("baud", Box::new(|m| m.baud = f64::NAN)),
        ("fs", Box::new(|m| m.fs = 10e9)),
        ("fs", Box::new(|m| m.fs = f64::INFINITY)),
        ("fs", Box::new(|m| m.fs = 1e6 * m.baud)),
        ("amplitude", Box::new(|m| m.amplitude = 0.0)),
        ("offset", Box::new(|m| m.offset = f64::NAN)),
        ("tx_ffe", Box::new(|m| m.tx_ffe = vec![])),
        ("tx_ffe", Box::new(|m| m.tx_ffe = vec![1.0, f64::NAN])),
        ("tx_ffe", Box::new(|m| m.tx_ffe = vec![0.0])),
        ("tx_ffe_main", Box::new(|m| m.tx_ffe_main = 1)),
        ("oversampling", Box::new(|m| m.oversampling = 3)),
        ("oversampling", Box::new(|m| m.oversampling = 257)),
        ("first_symbol_time", Box::new(|m| m.first_symbol_time = f64::NAN)),
        ("first_symbol_time", Box::new(|m| m.first_symbol_time = 1.0)),
        ("noise", Box::new(|m| m.noise = Noise::Rms(-0.1))),
        ("noise", Box::new(|m| m.noise = Noise::SnrDb(f64::NAN))),
        ("jitter.rj_rms_ui", Box::new(|m| m.jitter.rj_rms_ui = f64::INFINITY)),
        ("jitter.sj_amplitude_ui", Box::new(|m| m.jitter.sj_amplitude_ui = -1.0)),
        ("jitter.sj_frequency_hz", Box::new(|m| m.jitter.sj_frequency_hz = m.baud)),
        ("channel.f3db_hz", Box::new(|m| m.channel = Channel::BesselThomson { f3db_hz: 0.0, order: 4 })),
        ("channel.order", Box::new(|m| m.channel = Channel::BesselThomson { f3db_hz: 1e10, order: 12 })),
        ("channel.taps", Box::new(|m| m.channel = Channel::Impulse { dt: 1e-12, taps: vec![] })),
    ];
    let symbols = [0u8, 1, 2, 3];
    for (field, mutate) in cases {
        let mut m = base.clone();
        mutate(&mut m);
        for result in [m.validate(), m.run(&symbols).map(|_| ())] {
            match result {
                Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, field),
                other => panic!("{field}: expected InvalidParameter, got {other:?}"),
            }
        }
    }
    assert!(LinkModel::new(Modulation::Nrz, -1.0, 1e9).is_err());
}

#[test]
fn bad_symbols_are_rejected() {
    let model = LinkModel::new(Modulation::Nrz, 1e9, 4e9).unwrap();
    assert!(matches!(model.run(&[]), Err(Error::InputTooShort { what: "symbols", .. })));
    match model.run(&[0, 1, 2]) {
        Err(Error::ValueOutOfRange { index, value, max, .. }) => assert_eq!((index, value, max), (2, 2, 1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn snr_on_a_constant_signal_is_an_error() {
    let mut model = LinkModel::new(Modulation::Nrz, 1e9, 4e9).unwrap();
    model.noise = Noise::SnrDb(20.0);
    assert!(matches!(model.run(&[1, 1, 1, 1]), Err(Error::Unusable { .. })));
}

#[test]
fn oversized_output_is_rejected_before_allocating() {
    let mut model = LinkModel::new(Modulation::Nrz, 1e9, 4e9).unwrap();
    model.fs = 60_000.0 * model.baud;
    let symbols = vec![0u8; 100_000]; // 6e9 samples
    let start = std::time::Instant::now();
    match model.run(&symbols) {
        Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "symbols"),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed().as_millis() < 200);
    assert!(model.output_len(usize::MAX).is_err());
    assert_eq!(LinkModel::new(Modulation::Nrz, 1e9, 4e9).unwrap().output_len(1000).unwrap(), 4000);
    assert_eq!(LinkModel::new(Modulation::Pam4, 53.125e9, 256e9).unwrap().output_len(1000).unwrap(), 4818);
}

#[test]
fn model_round_trips_through_json() {
    let model = LinkModel::demo_pam4();
    let json = serde_json::to_string(&model).unwrap();
    let back: LinkModel = serde_json::from_str(&json).unwrap();
    assert_same_model(&back, &model);
    let nrz = LinkModel::demo_nrz();
    nrz.validate().unwrap();
    let back: LinkModel = serde_json::from_str(&serde_json::to_string(&nrz).unwrap()).unwrap();
    assert_same_model(&back, &nrz);
}

/// serde_json (without its `float_roundtrip` feature) may change the last bit of a float.
fn assert_same_model(a: &LinkModel, b: &LinkModel) {
    let rel = |x: f64, y: f64| (x - y).abs() <= 1e-15 * x.abs().max(y.abs());
    assert!(rel(a.first_symbol_time, b.first_symbol_time) && rel(a.baud, b.baud) && rel(a.fs, b.fs));
    let mut a = a.clone();
    a.first_symbol_time = b.first_symbol_time;
    a.baud = b.baud;
    a.fs = b.fs;
    assert_eq!(&a, b);
}

/// Samples at time `t` by cubic (Catmull-Rom) interpolation of the scope samples.
fn sample_at(w: &Waveform, t: f64) -> f64 {
    let u = (t - w.t0) / w.dt;
    let i = u.floor() as usize;
    let p: Vec<f64> = (0..4).map(|d| w.samples[(i + d).saturating_sub(1).min(w.len() - 1)] as f64).collect();
    catmull_rom(&p, u - i as f64)
}

/// Symbol-rate samples at the nominal symbol centres → MMSE FFE (least squares, `pre` + 1 +
/// `post` taps and a bias) → slicer. Returns (rms error / half eye spacing, slicer symbol errors,
/// symbols checked).
fn mmse_ffe_margin(model: &LinkModel, symbols: &[u8], cap: &SimCapture, pre: usize, post: usize) -> (f64, usize, usize) {
    let m = model.modulation;
    let r: Vec<f64> = (0..symbols.len())
        .map(|k| sample_at(&cap.waveform, cap.symbol_times.nominal_centre(k)) - model.offset)
        .collect();
    let n_taps = pre + post + 2;
    let row = |k: usize| -> Vec<f64> {
        let mut v: Vec<f64> = (0..=pre + post).map(|i| r[k + pre - i]).collect();
        v.push(1.0);
        v
    };
    let target = |k: usize| model.amplitude * m.level(symbols[k]) as f64;
    let range = post + 1..symbols.len() - pre - 1;
    let mut ata = vec![vec![0.0; n_taps]; n_taps];
    let mut atb = vec![0.0; n_taps];
    for k in range.clone() {
        let x = row(k);
        for a in 0..n_taps {
            atb[a] += x[a] * target(k);
            for b in 0..n_taps {
                ata[a][b] += x[a] * x[b];
            }
        }
    }
    let c = solve(ata, atb);
    let (mut se, mut errors, mut count) = (0.0, 0usize, 0usize);
    let half = model.amplitude / (m.levels() - 1) as f64;
    for k in range {
        let y: f64 = row(k).iter().zip(&c).map(|(a, b)| a * b).sum();
        se += (y - target(k)).powi(2);
        let decided = ((y / model.amplitude + 1.0) / 2.0 * (m.levels() - 1) as f64).round().clamp(0.0, (m.levels() - 1) as f64) as u8;
        errors += (decided != symbols[k]) as usize;
        count += 1;
    }
    ((se / count as f64).sqrt() / half, errors, count)
}

/// The PAM4 demo is tuned to a symbol error ratio near 1e-4 after a 21-tap MMSE FFE
/// (Gaussian estimate `1.5·Q(1/ratio)`), the NRZ demo to a BER near 1e-6 after a 16-tap FFE.
#[test]
fn demo_links_have_the_documented_margin() {
    let model = LinkModel::demo_pam4();
    let symbols = random_symbols(1 << 15, Modulation::Pam4, 11);
    let cap = model.run(&symbols).unwrap();
    let (ratio, errors, count) = mmse_ffe_margin(&model, &symbols, &cap, 7, 13);
    let ser = 1.5 * crate::stats::q_function(1.0 / ratio);
    eprintln!("demo_pam4: σ_e/h = {ratio:.4}, Gaussian SER {ser:.2e}, counted {errors}/{count}");
    assert!((2e-5..=5e-4).contains(&ser), "demo_pam4 SER estimate {ser:.2e}");
    assert!(errors < 20);

    let model = LinkModel::demo_nrz();
    let symbols = random_symbols(1 << 15, Modulation::Nrz, 12);
    let cap = model.run(&symbols).unwrap();
    let (ratio, errors, count) = mmse_ffe_margin(&model, &symbols, &cap, 5, 10);
    let ber = crate::stats::q_function(1.0 / ratio);
    eprintln!("demo_nrz: σ_e/h = {ratio:.4}, Gaussian BER {ber:.2e}, counted {errors}/{count}");
    assert!((1e-7..=1e-5).contains(&ber), "demo_nrz BER estimate {ber:.2e}");
    assert!(errors < 10);
}



fn arb_channel() -> impl proptest::strategy::Strategy<Value = Channel> {
    use proptest::prelude::*;
    prop_oneof![
        Just(Channel::Ideal),
        (proptest::collection::vec(-0.5f64..1.0, 1..6), 0usize..6).prop_map(|(mut taps, main)| {
            let main = main % taps.len();
            taps[main] = 1.0;
            Channel::SymbolFir { taps, main }
        }),
        (0.2f64..2.0).prop_map(|r| Channel::Gaussian { f3db_hz: r * 1e10 }),
        (0.2f64..2.0, 1usize..=8).prop_map(|(r, order)| Channel::BesselThomson { f3db_hz: r * 1e10, order }),
        (0.01f64..0.3, proptest::collection::vec(-0.2f64..1.0, 1..40))
            .prop_map(|(dt_ui, taps)| Channel::Impulse { dt: dt_ui * 1e-10, taps: taps.into_iter().chain([1.0]).collect() }),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// Any valid model runs, gives the documented length and finite samples, and the noise-free
    /// output scales linearly with the amplitude.
    #[test]
    fn valid_models_run_and_scale(pam4 in proptest::prelude::any::<bool>(), sps in 1.0f64..9.0, os in 4usize..48,
                                  channel in arb_channel(), rj in 0.0f64..0.1, sj in 0.0f64..0.3, fst_ui in -3.0f64..3.0,
                                  n in 1usize..300, seed in 0u64..1000) {
        let m = if pam4 { Modulation::Pam4 } else { Modulation::Nrz };
        let baud = 1e10;
        let mut model = LinkModel::new(m, baud, sps * baud).unwrap();
        model.oversampling = os.max(8);
        model.channel = channel;
        model.jitter = Jitter { rj_rms_ui: rj, sj_amplitude_ui: sj, sj_frequency_hz: baud / 50.0 };
        model.first_symbol_time = fst_ui / baud;
        model.seed = seed;
        if model.validate().is_err() {
            // Only the bandwidth limit of the internal grid may reject these.
            let ok = matches!(model.validate(), Err(Error::InvalidParameter { name: "channel.f3db_hz", .. }));
            proptest::prop_assert!(ok);
            return Ok(());
        }
        let symbols = random_symbols(n, m, seed);
        let a = model.run(&symbols).unwrap();
        proptest::prop_assert_eq!(a.waveform.len(), model.output_len(n).unwrap());
        proptest::prop_assert!(a.waveform.samples.iter().all(|v| v.is_finite()));
        model.amplitude *= 2.0;
        let b = model.run(&symbols).unwrap();
        for (x, y) in a.waveform.samples.iter().zip(&b.waveform.samples) {
            proptest::prop_assert!((2.0 * x - y).abs() <= 1e-5 * (1.0 + y.abs()));
        }
    }
}
