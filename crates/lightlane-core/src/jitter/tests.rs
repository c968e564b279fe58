//! Jitter decomposition on simulated links with known jitter, and on synthetic edges.

use super::tails::{dual_dirac_fit, tail_extremes};
use super::*;
use crate::sim::{Channel, Jitter, LinkModel, Noise};
use crate::stats::q_function;
use crate::timing::{recover_clock, CdrConfig, CdrKind};
use proptest::prelude::*;

fn lcg(s: &mut u64) -> u64 {
    *s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *s >> 33
}

fn random_symbols(n: usize, m: Modulation, seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..n).map(|_| (lcg(&mut s) % m.levels() as u64) as u8).collect()
}

/// Standard normal deviates (Box-Muller on the LCG).
fn gaussians(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let mut u = || (lcg(&mut s) as f64 + 0.5) / (1u64 << 31) as f64;
    (0..n)
        .map(|_| {
            let (a, b) = (u(), u());
            (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
        })
        .collect()
}

struct SimRun {
    report: JitterReport,
    /// TIE of the analysed edges, seconds.
    tie: Vec<f64>,
    baud: f64,
    kind: CdrKind,
}

/// Simulates `n` random symbols, recovers the clock with the 802.3 reference PLL, decides at the
/// recovered centres and decomposes the jitter.
fn run(m: Modulation, baud: f64, sps: f64, n: usize, channel: Channel, jitter: Jitter, config: &JitterConfig) -> SimRun {
    let fs = baud * sps;
    let mut model = LinkModel::new(m, baud, fs).unwrap();
    model.channel = channel;
    model.noise = Noise::None;
    model.jitter = jitter;
    model.oversampling = 16;
    let symbols = random_symbols(n, m, 23);
    let cap = model.run(&symbols).unwrap();
    let x = &cap.waveform.samples;
    let cdr = CdrConfig::default();
    let clock = recover_clock(x, fs, baud, m, &cdr).unwrap();
    let levels = crate::timing::cluster_levels(&clock.resample(x, 1), m.levels()).unwrap();
    let th: Vec<f32> = levels.means.windows(2).map(|w| (0.5 * (w[0] + w[1])) as f32).collect();
    let decided: Vec<u8> = clock.resample(x, 1).iter().map(|&v| th.iter().filter(|&&t| v >= t).count() as u8).collect();
    let report = analyze_jitter(&clock, &decided, m, config).unwrap();
    let tie = edges_from_clock(&clock, &decided, m).unwrap().edges.iter().map(|e| e.tie_s).collect();
    SimRun { report, tie, baud, kind: cdr.kind }
}

fn print(name: &str, r: &SimRun) {
    let ui = |v: Option<f64>| v.map(|s| format!("{:.4}", s * r.baud)).unwrap_or_else(|| "-".into());
    eprintln!(
        "{name}: TIE rms {:.4} UI, RJ {} (residual {}), DJ {}, TJ {} UI; DDJ {} ISI {} DCD {}; {} edges ({} rejected), {}/{} contexts",
        r.report.tie_rms_s * r.baud,
        ui(r.report.rj_rms_s),
        ui(r.report.rj_residual_rms_s),
        ui(r.report.dj_pp_s),
        ui(r.report.tj_s),
        ui(r.report.ddj_pp_s),
        ui(r.report.isi_pp_s),
        ui(r.report.dcd_s),
        r.report.edges.used,
        r.report.edges.rejected,
        r.report.edges.contexts_used,
        r.report.edges.contexts,
    );
    if let Some(f) = r.report.tail_fit {
        eprintln!(
            "    fit: left μ {:.4} σ {:.4} ρ {:.3}; right μ {:.4} σ {:.4} ρ {:.3}; p {:?}",
            f.left.mean_s * r.baud,
            f.left.sigma_s * r.baud,
            f.left.amplitude,
            f.right.mean_s * r.baud,
            f.right.sigma_s * r.baud,
            f.right.amplitude,
            f.left.probability_range
        );
    }
    for t in &r.report.pj {
        eprintln!("    PJ {:.4e} Hz {:.4} UI ({:.1} dB)", t.freq_hz, t.amplitude_s * r.baud, t.snr_db);
    }
}


fn ui(v: Option<f64>, baud: f64) -> f64 {
    v.expect("value present") * baud
}

/// Empirical peak-to-peak of `tie` between the tail probabilities `p` and `1 − p`.
fn empirical_width(tie: &[f64], p: f64) -> f64 {
    let mut v = tie.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((q * v.len() as f64) as usize).min(v.len() - 1)];
    at(1.0 - p) - at(p)
}

/// TJ from the fit at a BER the record reaches matches the measured TIE spread there.
fn check_tj_against_histogram(r: &SimRun, tolerance: f64) {
    let model = r.report.tj_at(1e-3).unwrap();
    let measured = empirical_width(&r.tie, 1e-3);
    eprintln!("    TJ(1e-3): model {:.4} UI, histogram {:.4} UI", model * r.baud, measured * r.baud);
    assert!((model / measured - 1.0).abs() < tolerance, "TJ(1e-3) {model} vs histogram {measured}");
    // And TJ at the report's BER follows the dual-Dirac formula.
    let q = crate::stats::q_inverse(r.report.ber / r.report.transition_density);
    let tj = r.report.dj_pp_s.unwrap() + 2.0 * q * r.report.rj_rms_s.unwrap();
    assert!((r.report.tj_s.unwrap() - tj).abs() <= 1e-9 * tj);
}

#[test]
fn nrz_random_jitter_is_recovered() {
    let baud = 10e9;
    let rj = 0.02;
    let wide = Channel::BesselThomson { f3db_hz: baud, order: 4 };
    let r = run(Modulation::Nrz, baud, 6.3, 200_000, wide, Jitter { rj_rms_ui: rj, ..Jitter::none() }, &JitterConfig::default());
    print("NRZ, RJ 0.02 UI", &r);
    let rep = &r.report;
    assert!(rep.edges.used > 90_000 && rep.edges.rejected == 0, "{:?}", rep.edges);
    // RJ passes the 4 MHz reference PLL almost whole (it is white).
    assert!((ui(rep.rj_residual_rms_s, baud) / rj - 1.0).abs() < 0.10);
    assert!((ui(rep.rj_rms_s, baud) / rj - 1.0).abs() < 0.15);
    assert!((rep.tie_rms_s * baud / rj - 1.0).abs() < 0.10);
    // Little ISI through a channel as wide as the symbol rate; no tone near the RJ level.
    assert!(ui(rep.ddj_pp_s, baud) < 0.25 * rj);
    assert!(rep.pj.iter().all(|t| t.amplitude_s * baud < 0.25 * rj), "{:?}", rep.pj);
    // TJ(1e-12) of pure RJ: 2·Q(1e-12)·σ = 14.07 σ.
    assert!((ui(rep.tj_s, baud) / (14.069 * rj) - 1.0).abs() < 0.10);
    check_tj_against_histogram(&r, 0.10);
}

#[test]
fn nrz_sinusoidal_jitter_tone_is_found() {
    let (baud, rj, sj, f_sj) = (10e9, 0.01, 0.05, 23e6);
    let wide = Channel::BesselThomson { f3db_hz: baud, order: 4 };
    let jitter = Jitter { rj_rms_ui: rj, sj_amplitude_ui: sj, sj_frequency_hz: f_sj };
    let r = run(Modulation::Nrz, baud, 6.3, 200_000, wide, jitter, &JitterConfig::default());
    print("NRZ, RJ 0.01 + SJ 0.05 UI at 23 MHz", &r);
    let rep = &r.report;
    let tone = rep.pj[0];
    let want = sj * r.kind.observed_jitter_transfer(f_sj).unwrap();
    assert!((tone.freq_hz - f_sj).abs() <= rep.pj_resolution_hz.unwrap(), "{tone:?}");
    assert!((tone.amplitude_s * baud / want - 1.0).abs() < 0.10, "{tone:?} vs {want} UI");
    // Every other line (the crossing interpolation's beat with the sample clock) is far smaller.
    assert!(rep.pj[1..].iter().all(|t| t.amplitude_s * baud < 0.2 * want), "{:?}", rep.pj);
    assert!((ui(rep.rj_residual_rms_s, baud) / rj - 1.0).abs() < 0.10);
    // The tail fit sees the sinusoid's tails as partly Gaussian; it stays within 25 %.
    assert!((ui(rep.rj_rms_s, baud) / rj - 1.0).abs() < 0.25);
    // DJ(δδ) of a sinusoid is below its peak-to-peak, but most of it.
    let dj = ui(rep.dj_pp_s, baud);
    assert!(dj > 0.6 * 2.0 * want && dj < 1.1 * 2.0 * want, "DJ {dj}");
    check_tj_against_histogram(&r, 0.10);
}

#[test]
fn pam4_random_and_sinusoidal_jitter_are_recovered() {
    let (baud, rj, sj, f_sj) = (26.5625e9, 0.015, 0.05, 41e6);
    let channel = Channel::BesselThomson { f3db_hz: baud, order: 4 };
    let jitter = Jitter { rj_rms_ui: rj, sj_amplitude_ui: sj, sj_frequency_hz: f_sj };
    let r = run(Modulation::Pam4, baud, 5.1, 200_000, channel, jitter, &JitterConfig::default());
    print("PAM4, RJ 0.015 + SJ 0.05 UI at 41 MHz", &r);
    let rep = &r.report;
    let tone = rep.pj[0];
    let want = sj * r.kind.observed_jitter_transfer(f_sj).unwrap();
    assert!((tone.freq_hz - f_sj).abs() <= rep.pj_resolution_hz.unwrap(), "{tone:?}");
    assert!((tone.amplitude_s * baud / want - 1.0).abs() < 0.10, "{tone:?} vs {want} UI");
    assert!((ui(rep.rj_residual_rms_s, baud) / rj - 1.0).abs() < 0.10);
    assert!((ui(rep.rj_rms_s, baud) / rj - 1.0).abs() < 0.25);
    // PAM4 edges between adjacent levels and 0↔3 cross with different slopes: ISI is present even
    // through a wide channel; DCD (0→3 vs 3→0) is not.
    assert!(ui(rep.dcd_s, baud).abs() < 0.01);
    assert!(rep.edges.contexts_used > 100);
}

#[test]
fn ddj_follows_the_channel_isi() {
    // A narrow channel makes the crossing time depend on the bits before it; a wide one hardly.
    // Reference: without RJ every edge's TIE is its DDJ (plus a small sampling-phase term), so
    // its spread is the DDJ peak-to-peak the decomposition must find under 0.01 UI of RJ.
    let baud = 10e9;
    let cfg = JitterConfig::default();
    let narrow = Channel::BesselThomson { f3db_hz: 0.3 * baud, order: 4 };
    let wide = Channel::BesselThomson { f3db_hz: baud, order: 4 };
    let rj = Jitter { rj_rms_ui: 0.01, ..Jitter::none() };
    let isi = run(Modulation::Nrz, baud, 6.3, 150_000, narrow.clone(), rj, &cfg);
    print("NRZ through 0.3·baud", &isi);
    let clean = run(Modulation::Nrz, baud, 6.3, 150_000, narrow, Jitter::none(), &cfg);
    let truth = empirical_width(&clean.tie, 0.0);
    let flat = run(Modulation::Nrz, baud, 6.3, 150_000, wide, rj, &cfg);
    let (ddj, ddj_flat) = (ui(isi.report.ddj_pp_s, baud), ui(flat.report.ddj_pp_s, baud));
    eprintln!("    DDJ {ddj:.4} UI (jitter-free TIE spread {:.4} UI), wide channel {ddj_flat:.4} UI", truth * baud);
    assert!((ddj / (truth * baud) - 1.0).abs() < 0.15, "{ddj} vs {}", truth * baud);
    assert!(ddj > 5.0 * ddj_flat && ddj > 0.02);
    // DDJ of random NRZ data through a symmetric channel is mostly ISI; the small DCD (0.2 of it
    // here) comes from the threshold, set midway between level means that ISI this strong biases.
    assert!(ui(isi.report.isi_pp_s, baud) > 0.7 * ddj);
    assert!(ui(isi.report.dcd_s, baud).abs() < 0.3 * ddj);
    // RJ is still found under the ISI once the DDJ is removed (the ISI of bits beyond the 5-symbol
    // history stays in the residual: about 10 % here).
    assert!((ui(isi.report.rj_residual_rms_s, baud) / 0.01 - 1.0).abs() < 0.15);
    let without = isi.report.tail_fit_without_ddj.unwrap();
    assert!((without.rj_rms_s * baud / 0.01 - 1.0).abs() < 0.20, "{without:?}");
}

// ---------------------------------------------------------------------------------------------
// Synthetic edges.

/// Edges on every other UI (alternating symbols 0/1), with the given TIE.
fn synthetic(tie_ui: &[f64], ui_s: f64) -> (Vec<JitterEdge>, Vec<u8>) {
    let n = tie_ui.len();
    let symbols: Vec<u8> = (0..2 * n + 4).map(|k| ((k / 2) % 2) as u8).collect();
    let edges = (0..n)
        .map(|i| {
            let k = 2 * i + 2;
            JitterEdge { ui_index: k, tie_s: tie_ui[i] * ui_s, from: symbols[k - 1], to: symbols[k] }
        })
        .collect();
    (edges, symbols)
}

#[test]
fn dual_dirac_jitter_is_separated_exactly() {
    // TIE = ±D/2 (equiprobable) + N(0, σ²): the dual-Dirac model itself.
    let (d, sigma, n) = (0.06, 0.01, 400_000);
    let g = gaussians(n, 3);
    let mut s = 9u64;
    let tie: Vec<f64> = g.iter().map(|z| sigma * z + if lcg(&mut s) & 1 == 1 { 0.5 * d } else { -0.5 * d }).collect();
    let fit = dual_dirac_fit(&tie, 1e-5, 1e-2, 20, Some(0.5)).unwrap();
    eprintln!("dual-Dirac: {fit:?}");
    assert!((fit.dj_pp_s / d - 1.0).abs() < 0.05 && (fit.rj_rms_s / sigma - 1.0).abs() < 0.05, "{fit:?}");
    // The plain Q-scale fit (ρ = 1) of pure Gaussian jitter gives σ and no DJ.
    let gauss: Vec<f64> = g.iter().map(|z| sigma * z).collect();
    let fit = dual_dirac_fit(&gauss, 1e-5, 1e-2, 20, Some(1.0)).unwrap();
    assert!((fit.rj_rms_s / sigma - 1.0).abs() < 0.03 && fit.dj_pp_s < 0.05 * sigma, "{fit:?}");
    // A fitted ρ lands between the two and keeps RJ within 25 %.
    let fit = dual_dirac_fit(&gauss, 1e-5, 1e-2, 20, None).unwrap();
    assert!((fit.rj_rms_s / sigma - 1.0).abs() < 0.25, "{fit:?}");
    // Too few edges for any tail range.
    assert!(dual_dirac_fit(&gauss[..100], 1e-5, 1e-2, 20, None).is_none());
}

#[test]
fn pattern_context_separates_isi_dcd_and_rj() {
    // A 127-symbol NRZ pattern repeated; every edge position gets a fixed ISI offset, rising edges
    // are late by DCD/2 and falling early by DCD/2, plus Gaussian RJ.
    let (period, dcd, sigma, ui_s) = (127usize, 0.03, 0.01, 1e-10);
    let pattern = random_symbols(period, Modulation::Nrz, 5);
    let mut s = 77u64;
    let isi: Vec<f64> = (0..period).map(|_| 0.04 * ((lcg(&mut s) % 1000) as f64 / 999.0 - 0.5)).collect();
    let symbols: Vec<u8> = (0..300 * period).map(|k| pattern[(k + 11) % period]).collect();
    let g = gaussians(symbols.len(), 8);
    let mut edges = Vec::new();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for k in 1..symbols.len() {
        if symbols[k] == symbols[k - 1] {
            continue;
        }
        let pos = (k + 11) % period;
        let rising = symbols[k] > symbols[k - 1];
        let det = isi[pos] + if rising { 0.5 * dcd } else { -0.5 * dcd };
        lo = lo.min(det);
        hi = hi.max(det);
        edges.push(JitterEdge { ui_index: k, tie_s: (det + sigma * g[k]) * ui_s, from: symbols[k - 1], to: symbols[k] });
    }
    let cfg = JitterConfig { ddj_context: Some(DdjContext::PatternPeriod { period, offset: 11 }), ..Default::default() };
    let rep = JitterAnalyzer::new(Modulation::Nrz, &cfg).unwrap().analyze(&edges, &symbols, ui_s).unwrap();
    let u = |v: Option<f64>| v.unwrap() / ui_s;
    eprintln!("pattern: DDJ {:.4} (true {:.4}), DCD {:.4}, ISI {:.4}, RJ residual {:.4}", u(rep.ddj_pp_s), hi - lo, u(rep.dcd_s), u(rep.isi_pp_s), u(rep.rj_residual_rms_s));
    // Each position's mean has σ/√300 of RJ left in it.
    assert!((u(rep.ddj_pp_s) - (hi - lo)).abs() < 0.004);
    // DCD: the ISI offsets average out over the pattern's edges only to about 0.04/√(edges/2).
    assert!((u(rep.dcd_s) - dcd).abs() < 0.006, "{}", u(rep.dcd_s));
    assert!(u(rep.isi_pp_s) < u(rep.ddj_pp_s));
    assert!((u(rep.rj_residual_rms_s) / sigma - 1.0).abs() < 0.05);
    assert!(rep.pj.is_empty(), "{:?}", rep.pj);
    // The same edges by history context (the pattern is random, so 5 preceding symbols do not fix
    // the position): less DDJ is explained, but it is still most of it.
    let by_history = JitterAnalyzer::new(Modulation::Nrz, &JitterConfig::default()).unwrap().analyze(&edges, &symbols, ui_s).unwrap();
    assert!(u(by_history.ddj_pp_s) > 0.5 * (hi - lo) && u(by_history.ddj_pp_s) <= (hi - lo) + 0.004);
}

#[test]
fn tones_on_irregular_edges() {
    // Two tones plus RJ on edges at random UIs; the frequencies fall between bins.
    let (ui_s, sigma) = (1e-10, 0.01);
    let tones = [(7.31e6, 0.03), (95.7e6, 0.012)];
    let mut s = 4u64;
    let mut k = 1usize;
    let g = gaussians(300_000, 12);
    let mut edges = Vec::new();
    for z in g {
        k += 1 + (lcg(&mut s) % 3) as usize;
        let t = k as f64 * ui_s;
        let v: f64 = tones.iter().map(|(f, a)| a * (2.0 * std::f64::consts::PI * f * t + 0.3).sin()).sum::<f64>() + sigma * z;
        edges.push(JitterEdge { ui_index: k, tie_s: v * ui_s, from: 0, to: 1 });
    }
    let symbols = vec![0u8; k + 2];
    let cfg = JitterConfig { ddj_context: Some(DdjContext::PatternPeriod { period: 1, offset: 0 }), ..Default::default() };
    let rep = JitterAnalyzer::new(Modulation::Nrz, &cfg).unwrap().analyze(&edges, &symbols, ui_s).unwrap();
    eprintln!("tones: {:?}", rep.pj);
    assert_eq!(rep.pj.len(), 2, "{:?}", rep.pj);
    let bin = rep.pj_resolution_hz.unwrap();
    for (t, (f, a)) in rep.pj.iter().zip(tones) {
        assert!((t.freq_hz - f).abs() < 0.5 * bin, "{t:?} vs {f}");
        assert!((t.amplitude_s / ui_s / a - 1.0).abs() < 0.03, "{t:?} vs {a}");
    }
    assert!((rep.rj_residual_rms_s.unwrap() / ui_s / sigma - 1.0).abs() < 0.03);
}

#[test]
fn bathtub_follows_the_dual_dirac_model() {
    let g = gaussians(100_000, 21);
    let tie: Vec<f64> = g.iter().enumerate().map(|(i, z)| 0.02 * z + if i % 3 == 0 { 0.03 } else { -0.03 }).collect();
    let (edges, symbols) = synthetic(&tie, 1e-10);
    let rep = analyze(&edges, &symbols);
    let grid: Vec<f64> = (3..=15).map(|e| 10f64.powi(-e)).collect();
    let tub = rep.bathtub(&grid);
    assert_eq!(tub.len(), 2 * grid.len());
    // Symmetric about the UI centre, BER falling towards the centre.
    for (a, b) in tub.iter().zip(tub.iter().rev()) {
        assert!((a.0 + b.0 - 1.0).abs() < 1e-12 && a.1 == b.1);
    }
    for w in tub[..grid.len()].windows(2) {
        assert!(w[0].0 < w[1].0 && w[0].1 > w[1].1);
    }
    // The eye opening at the report's BER is 1 UI − TJ.
    let at = rep.bathtub(&[rep.ber]);
    assert!((at[1].0 - at[0].0 - (1.0 - rep.tj_s.unwrap() / rep.ui_s)).abs() < 1e-12);
    assert!(rep.bathtub(&[0.0, -1.0, f64::NAN, 0.6]).is_empty());
}

fn analyze(edges: &[JitterEdge], symbols: &[u8]) -> JitterReport {
    JitterAnalyzer::new(Modulation::Nrz, &JitterConfig::default()).unwrap().analyze(edges, symbols, 1e-10).unwrap()
}

/// Every number in the serialized report is finite (serde_json would write NaN as null).
fn assert_json_finite(rep: &JitterReport) {
    fn walk(v: &serde_json::Value, path: &str) {
        match v {
            serde_json::Value::Number(n) => assert!(n.as_f64().is_some_and(f64::is_finite), "{path}"),
            serde_json::Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| walk(x, &format!("{path}[{i}]"))),
            serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| walk(x, &format!("{path}.{k}"))),
            _ => {}
        }
    }
    let v = serde_json::to_value(rep).unwrap();
    walk(&v, "");
    for key in ["tie_rms_s", "ui_s", "ber", "pj", "edges"] {
        assert!(!v[key].is_null(), "{key}");
    }
}

#[test]
fn degenerate_inputs_give_typed_errors_or_flagged_results() {
    let an = JitterAnalyzer::new(Modulation::Nrz, &JitterConfig::default()).unwrap();
    let (edges, symbols) = synthetic(&vec![0.0; 10_000], 1e-10);
    // No edges / too few.
    assert!(matches!(an.analyze(&[], &symbols, 1e-10), Err(Error::InputTooShort { .. })));
    assert!(matches!(an.analyze(&edges[..10], &symbols, 1e-10), Err(Error::InputTooShort { .. })));
    // Constant TIE (a perfect clock): zero jitter, nothing undefined, no tones.
    let rep = an.analyze(&edges, &symbols, 1e-10).unwrap();
    assert_eq!(rep.tie_rms_s, 0.0);
    assert_eq!(rep.rj_rms_s, Some(0.0));
    assert_eq!(rep.tj_s, Some(0.0));
    assert!(rep.pj.is_empty());
    assert_json_finite(&rep);
    // Too few edges for a tail fit: the fit fields are None, the rest is there.
    let (few, few_symbols) = synthetic(&gaussians(500, 2), 1e-10);
    let rep = an.analyze(&few, &few_symbols, 1e-10).unwrap();
    assert!(rep.tail_fit.is_none() && rep.rj_rms_s.is_none() && rep.tj_s.is_none() && rep.bathtub(&[1e-12]).is_empty());
    assert!(rep.rj_residual_rms_s.is_some());
    assert_json_finite(&rep);
    // Bad values.
    let mut bad = edges.clone();
    bad[5].tie_s = f64::NAN;
    assert!(matches!(an.analyze(&bad, &symbols, 1e-10), Err(Error::NonFinite { index: 5, .. })));
    let mut bad = edges.clone();
    bad.swap(3, 4);
    assert!(matches!(an.analyze(&bad, &symbols, 1e-10), Err(Error::InvalidParameter { .. })));
    let mut bad = edges.clone();
    bad[2].to = 2;
    assert!(matches!(an.analyze(&bad, &symbols, 1e-10), Err(Error::ValueOutOfRange { .. })));
    assert!(matches!(an.analyze(&edges, &symbols[..1000], 1e-10), Err(Error::InvalidParameter { .. })));
    assert!(matches!(an.analyze(&edges, &symbols, 0.0), Err(Error::InvalidParameter { .. })));
    // Bad configuration names the field.
    let name = |c: JitterConfig| match JitterAnalyzer::new(Modulation::Pam4, &c) {
        Err(Error::InvalidParameter { name, .. }) => name,
        other => panic!("{:?}", other.map(|_| ())),
    };
    let d = JitterConfig::default();
    assert_eq!(name(JitterConfig { ber: 0.0, ..d.clone() }), "ber");
    assert_eq!(name(JitterConfig { transition_density: 1.5, ..d.clone() }), "transition_density");
    assert_eq!(name(JitterConfig { ddj_context: Some(DdjContext::PatternPeriod { period: 0, offset: 0 }), ..d.clone() }), "ddj_context.period");
    assert_eq!(name(JitterConfig { ddj_context: Some(DdjContext::History { preceding: 12, following: 1 }), ..d.clone() }), "ddj_context.preceding");
    assert_eq!(name(JitterConfig { ddj_context: Some(DdjContext::History { preceding: 0, following: 1 }), ..d.clone() }), "ddj_context.preceding");
    assert_eq!(name(JitterConfig { tail_probability_min: 0.05, ..d.clone() }), "tail_probability_min");
    assert_eq!(name(JitterConfig { tail_amplitude: Some(0.0), ..d.clone() }), "tail_amplitude");
    assert_eq!(name(JitterConfig { min_context_edges: 0, ..d.clone() }), "min_context_edges");
    assert_eq!(name(JitterConfig { tone_false_alarm: 1.0, ..d.clone() }), "tone_false_alarm");
}

#[test]
fn degenerate_captures() {
    // A constant capture has no clock to recover; decided symbols without transitions leave no
    // edge; out-of-alphabet decisions are refused.
    let x = vec![0.1f32; 20_000];
    assert!(matches!(recover_clock(&x, 40e9, 10e9, Modulation::Nrz, &CdrConfig::default()), Err(Error::Unusable { .. })));
    let mut model = LinkModel::new(Modulation::Nrz, 10e9, 40e9).unwrap();
    model.channel = Channel::BesselThomson { f3db_hz: 7e9, order: 4 };
    let cap = model.run(&random_symbols(5000, Modulation::Nrz, 3)).unwrap();
    let clock = recover_clock(&cap.waveform.samples, 40e9, 10e9, Modulation::Nrz, &CdrConfig::default()).unwrap();
    let flat = vec![1u8; clock.symbol_positions.len()];
    assert!(matches!(analyze_jitter(&clock, &flat, Modulation::Nrz, &JitterConfig::default()), Err(Error::Unusable { .. })));
    let wrong = vec![3u8; clock.symbol_positions.len()];
    assert!(matches!(edges_from_clock(&clock, &wrong, Modulation::Nrz), Err(Error::ValueOutOfRange { .. })));
    assert!(matches!(edges_from_clock(&clock, &[], Modulation::Nrz), Err(Error::Unusable { .. })));
}

#[test]
fn config_and_report_round_trip_through_json() {
    let cfg = JitterConfig { ddj_context: Some(DdjContext::PatternPeriod { period: 8191, offset: 3 }), ..Default::default() };
    let back: JitterConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
    let partial: JitterConfig = serde_json::from_str(r#"{"ber": 1e-15}"#).unwrap();
    assert_eq!(partial.ber, 1e-15);
    assert_eq!(partial.min_context_edges, JitterConfig::default().min_context_edges);
    let (edges, symbols) = synthetic(&gaussians(20_000, 5).iter().map(|z| 0.01 * z).collect::<Vec<_>>(), 1e-10);
    let rep = analyze(&edges, &symbols);
    assert_json_finite(&rep);
    let back: JitterReport = serde_json::from_str(&serde_json::to_string(&rep).unwrap()).unwrap();
    assert_eq!(back.edges, rep.edges);
}

// ---------------------------------------------------------------------------------------------
// Fast paths against naive references.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tail_extremes_match_a_full_sort(v in prop::collection::vec(-1e3f64..1e3, 0..400), m in 0usize..250) {
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        let work = v.clone();
        let (low, high) = tail_extremes(&work, m);
        let m = m.min(v.len());
        prop_assert_eq!(&low[..], &sorted[..m]);
        prop_assert_eq!(&high[..], &sorted[v.len() - m..]);
    }

    #[test]
    fn uniform_grid_matches_pointwise_interpolation(gaps in prop::collection::vec(1usize..6, 1..60), seed in 0u64..1000) {
        let mut ui = vec![3usize];
        for g in &gaps {
            ui.push(ui[ui.len() - 1] + g);
        }
        let mut s = seed;
        let v: Vec<f64> = ui.iter().map(|_| (lcg(&mut s) % 1000) as f64 - 500.0).collect();
        let mut grid = Vec::new();
        super::periodic::to_uniform_grid(&ui, &v, &mut grid);
        prop_assert_eq!(grid.len(), ui[ui.len() - 1] - ui[0] + 1);
        for (j, &g) in grid.iter().enumerate() {
            let k = ui[0] + j;
            // Naive: the edges either side of UI k.
            let i = ui.iter().position(|&u| u >= k).unwrap();
            let want = if ui[i] == k { v[i] } else {
                let f = (k - ui[i - 1]) as f64 / (ui[i] - ui[i - 1]) as f64;
                v[i - 1] + f * (v[i] - v[i - 1])
            };
            prop_assert!((g - want).abs() < 1e-9);
        }
    }

    #[test]
    fn reports_are_finite_and_consistent(n in 64usize..3000, sigma in 0.0f64..0.05, dj in 0.0f64..0.2, seed in 0u64..50) {
        let g = gaussians(n, seed);
        let tie: Vec<f64> = g.iter().enumerate().map(|(i, z)| sigma * z + if i % 2 == 0 { 0.5 * dj } else { -0.5 * dj }).collect();
        let (edges, symbols) = synthetic(&tie, 1e-10);
        let rep = analyze(&edges, &symbols);
        assert_json_finite(&rep);
        prop_assert!(rep.tie_rms_s >= 0.0);
        if let (Some(tj), Some(dj), Some(rj)) = (rep.tj_s, rep.dj_pp_s, rep.rj_rms_s) {
            prop_assert!(dj >= 0.0 && rj >= 0.0 && tj >= dj);
        }
        for (x, ber) in rep.bathtub(&[1e-3, 1e-6, 1e-12]) {
            prop_assert!(x > 0.0 && x < 1.0 && ber > 0.0);
        }
    }
}

#[test]
fn fft_lengths_are_smooth_and_minimal() {
    for n in [1usize, 7, 64, 100, 1000, 4097, 199_999, 1_000_001] {
        let m = super::periodic::fft_len(n);
        let mut r = m;
        for p in [2, 3, 5] {
            while r.is_multiple_of(p) {
                r /= p;
            }
        }
        assert!(m >= n && r == 1, "{n} → {m}");
        // No smaller 5-smooth length fits.
        assert!(!(n..m).any(|k| {
            let mut r = k;
            for p in [2, 3, 5] {
                while r > 0 && r % p == 0 {
                    r /= p;
                }
            }
            r == 1
        }), "{n} → {m}");
    }
    let _ = q_function(1.0);
}

/// Throughput of the decomposition on a 2^20-symbol NRZ capture (the bench's input), on-CPU time
/// of this thread. `cargo test -p lightlane-core --lib jitter::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let cpu_ns = || -> Option<u64> { std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok() };
    let (baud, fs) = (10.3125e9, 40e9);
    let mut model = LinkModel::new(Modulation::Nrz, baud, fs).unwrap();
    model.channel = Channel::BesselThomson { f3db_hz: 0.6 * baud, order: 4 };
    model.noise = Noise::SnrDb(25.0);
    model.oversampling = 8;
    model.jitter = Jitter { rj_rms_ui: 0.01, sj_amplitude_ui: 0.05, sj_frequency_hz: 20e6 };
    let x = model.run(&random_symbols(1 << 20, Modulation::Nrz, 7)).unwrap().waveform.samples;
    let clock = recover_clock(&x, fs, baud, Modulation::Nrz, &CdrConfig::default()).unwrap();
    let decided: Vec<u8> = clock.resample(&x, 1).iter().map(|&v| (v > 0.0) as u8).collect();
    let an = JitterAnalyzer::new(Modulation::Nrz, &JitterConfig::default()).unwrap();
    let t0 = cpu_ns().unwrap_or(0);
    let timed = edges_from_clock(&clock, &decided, Modulation::Nrz).unwrap();
    let t1 = cpu_ns().unwrap_or(0);
    let reps = 5;
    let mut rep = None;
    for _ in 0..reps {
        rep = Some(an.analyze(&timed.edges, &decided, timed.ui_s).unwrap());
    }
    let t2 = cpu_ns().unwrap_or(0);
    let n = timed.edges.len() as f64;
    let (pair, dec) = ((t1 - t0) as f64 * 1e-9, (t2 - t1) as f64 * 1e-9 / reps as f64);
    eprintln!(
        "{} edges of {} symbols: edges_from_clock {:.1} ms ({:.1} M edges/s), analyze {:.1} ms ({:.2} M edges/s), on-CPU",
        n,
        decided.len(),
        pair * 1e3,
        n / pair * 1e-6,
        dec * 1e3,
        n / dec * 1e-6
    );
    let rep = rep.unwrap();
    eprintln!("RJ {:?} DJ {:?} TJ {:?} (s), tones {:?}", rep.rj_rms_s, rep.dj_pp_s, rep.tj_s, rep.pj);
}

// ---- The parallel fast paths against their naive references ----

/// Naive reference of [`edges_from_clock`]: a binary search per edge inside the serial loop.
fn edges_from_clock_reference(clock: &crate::timing::RecoveredClock, symbols: &[u8], modulation: Modulation) -> (Vec<JitterEdge>, usize) {
    let positions = &clock.symbol_positions[..symbols.len().min(clock.symbol_positions.len())];
    let first = clock.settled_edge_index();
    let n_edges = clock.edge_positions.len().min(clock.tie_s.len());
    let (mut edges, mut rejected) = (Vec::new(), 0usize);
    for i in first..n_edges {
        let e = clock.edge_positions[i];
        let k = positions.partition_point(|&p| p < e);
        if k == 0 || k >= positions.len() {
            rejected += 1;
            continue;
        }
        let (from, to) = (symbols[k - 1], symbols[k]);
        let valid = from != to && (modulation == Modulation::Nrz || (from + to) % 2 == 1);
        let tie = clock.tie_s[i] as f64;
        if !valid || !tie.is_finite() || edges.last().is_some_and(|p: &JitterEdge| p.ui_index == k) {
            rejected += 1;
            continue;
        }
        edges.push(JitterEdge { ui_index: k, tie_s: tie, from, to });
    }
    (edges, rejected)
}

/// A simulated capture's recovered clock and decisions (as `run`, without the analysis).
fn clock_and_decisions(m: Modulation, n: usize, jitter: Jitter, seed: u64) -> (crate::timing::RecoveredClock, Vec<u8>) {
    let (baud, fs) = (10e9, 40e9);
    let mut model = LinkModel::new(m, baud, fs).unwrap();
    model.channel = Channel::BesselThomson { f3db_hz: 0.75 * baud, order: 4 };
    model.jitter = jitter;
    let cap = model.run(&random_symbols(n, m, seed)).unwrap();
    let x = &cap.waveform.samples;
    let clock = recover_clock(x, fs, baud, m, &CdrConfig::default()).unwrap();
    let c = clock.resample(x, 1);
    let levels = crate::timing::cluster_levels(&c, m.levels()).unwrap();
    let th: Vec<f32> = levels.means.windows(2).map(|w| (0.5 * (w[0] + w[1])) as f32).collect();
    let decided = c.iter().map(|&v| th.iter().filter(|&&t| v >= t).count() as u8).collect();
    (clock, decided)
}

#[test]
fn edges_from_clock_equals_the_serial_search() {
    for (m, n) in [(Modulation::Nrz, 30_000), (Modulation::Pam4, 20_000), (Modulation::Nrz, 300)] {
        let (clock, decided) = clock_and_decisions(m, n, Jitter { rj_rms_ui: 0.02, ..Jitter::none() }, 5);
        let fast = edges_from_clock(&clock, &decided, m).unwrap();
        let (edges, rejected) = edges_from_clock_reference(&clock, &decided, m);
        assert!(edges.len() > n / 10, "{m:?}: {} edges", edges.len());
        assert_eq!((fast.edges, fast.rejected), (edges, rejected), "{m:?} {n}");
        // Fewer decisions than symbol positions: edges beyond them are rejected alike.
        let short = &decided[..decided.len() / 2];
        let (edges, rejected) = edges_from_clock_reference(&clock, short, m);
        match edges_from_clock(&clock, short, m) {
            Ok(fast) => assert_eq!((fast.edges, fast.rejected), (edges, rejected)),
            Err(e) => assert!(edges.is_empty(), "{e}"),
        }
    }
}

/// Edges at a random ~40 % of `n` UIs carrying two tones plus noise, mean removed.
fn toned_residual(n: usize, ui_s: f64, seed: u64) -> (Vec<usize>, Vec<f64>) {
    let mut s = seed;
    let ui: Vec<usize> = (0..n).filter(|_| lcg(&mut s) % 5 < 2).collect();
    let g = gaussians(ui.len(), seed + 1);
    let mut v: Vec<f64> = ui
        .iter()
        .zip(&g)
        .map(|(&u, &z)| {
            let t = u as f64 * ui_s;
            2e-13 * (2.0 * std::f64::consts::PI * 3.1e6 * t).sin() + 1e-13 * (2.0 * std::f64::consts::PI * 41.7e6 * t + 0.3).cos() + 2e-13 * z
        })
        .collect();
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    v.iter_mut().for_each(|x| *x -= mean);
    (ui, v)
}

/// `find_tones` equals its serial reference: bit for bit in frequency and SNR while the spectrum
/// is rustfft's (below `FOUR_STEP_MIN_LEN`), within 1e-9 relative on the four-step spectrum
/// (which differs from rustfft's in the last bits); amplitudes and residuals within rounding of
/// the fit's sums (and of the frequency).
fn assert_tones_match(ui: &[usize], residual: &[f64], ui_s: f64, what: &str) {
    let (mut fast_res, mut ref_res) = (residual.to_vec(), residual.to_vec());
    let (fast, fres) = periodic::find_tones(ui, &mut fast_res, ui_s, 8, 1e-3);
    let (reference, rres) = periodic::find_tones_reference(ui, &mut ref_res, ui_s, 8, 1e-3);
    assert_eq!(fres.map(f64::to_bits), rres.map(f64::to_bits), "{what}");
    assert_eq!(fast.len(), reference.len(), "{what}: {fast:?} vs {reference:?}");
    let four_step = periodic::fft_len(ui[ui.len() - 1] - ui[0] + 1) >= periodic::FOUR_STEP_MIN_LEN;
    let tol = if four_step { 1e-9 } else { 1e-13 * ui.len() as f64 };
    for (a, b) in fast.iter().zip(&reference) {
        if four_step {
            assert!((a.freq_hz - b.freq_hz).abs() <= 1e-9 * b.freq_hz, "{what}: {a:?} vs {b:?}");
            assert!((a.snr_db - b.snr_db).abs() <= 1e-9 * b.snr_db.abs(), "{what}: {a:?} vs {b:?}");
        } else {
            // The spectrum is bit-identical, so are the frequencies and SNRs; the fit's sums
            // differ in order only.
            assert_eq!((a.freq_hz.to_bits(), a.snr_db.to_bits()), (b.freq_hz.to_bits(), b.snr_db.to_bits()), "{what}");
        }
        assert!((a.amplitude_s - b.amplitude_s).abs() <= tol * b.amplitude_s.abs(), "{what}: {} vs {}", a.amplitude_s, b.amplitude_s);
    }
    let scale = residual.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (a, b) in fast_res.iter().zip(&ref_res) {
        assert!((a - b).abs() <= tol * scale, "{what}: residual {a} vs {b}");
    }
}

#[test]
fn the_tone_rotor_gives_each_edges_sine_and_cosine() {
    // Edges 1–5 UI apart from far into a record, with jumps past the rotor's table (new
    // anchors), at tone frequencies up to nearly the symbol rate: within a few ulps of
    // `sin_cos` per edge plus the rounding of its angle (what `fit_tone` computes).
    let ui_s = 1e-10;
    let mut s = 5u64;
    let mut u = 1_000_000usize;
    let mut ui: Vec<usize> = (0..60_000)
        .map(|i| {
            u += 1 + (lcg(&mut s) % 5) as usize + if i % 997 == 0 { 3000 } else { 0 };
            u
        })
        .collect();
    // Out of order at the end: such an edge is an anchor, not a wrapped table index.
    ui.push(ui[0] + 7);
    for freq_hz in [1.3e3, 3.1e6, 41.7e6, 4.99e9] {
        let w = 2.0 * std::f64::consts::PI * freq_hz;
        for span in [1usize, 100, usize::MAX] {
            let rotor = periodic::ToneRotor::new(w, ui_s, span);
            let mut got = vec![(0.0, 0.0); ui.len()];
            rotor.fill(&ui, &mut got);
            for (i, (&u, &(sin, cos))) in ui.iter().zip(&got).enumerate() {
                let angle = w * (u as f64 * ui_s);
                let (es, ec) = angle.sin_cos();
                let tol = 1e-14 + 8e-16 * angle.abs();
                assert!((sin - es).abs() <= tol && (cos - ec).abs() <= tol, "{freq_hz} Hz, span {span}, edge {i} (UI {u}): ({sin}, {cos}) vs ({es}, {ec})");
            }
        }
    }
}

#[test]
fn tone_fit_and_removal_match_fit_tone_and_the_serial_subtraction() {
    let ui_s = 1e-10;
    // Edge counts around the parallel chunk (8192), grids either side of the four-step FFT's
    // threshold (65_536 points), and larger.
    for (t, n) in [700usize, 20_470, 20_480, 20_482, 61_447, 65_536, 65_537, 200_000].into_iter().enumerate() {
        let (ui, v) = toned_residual(n, ui_s, 40 + t as u64);
        assert_tones_match(&ui, &v, ui_s, &format!("{n} UIs"));
    }
    // The synthetic tones are found (so the comparison covers fits and subtractions).
    let (ui, mut v) = toned_residual(200_000, ui_s, 45);
    let (tones, _) = periodic::find_tones(&ui, &mut v, ui_s, 8, 1e-3);
    assert!(tones.iter().any(|t| (t.freq_hz - 3.1e6).abs() < 2e4) && tones.iter().any(|t| (t.freq_hz - 41.7e6).abs() < 2e4), "{tones:?}");
}

#[test]
fn tones_of_a_long_grid_match_the_full_rustfft_spectrum() {
    // A grid past 2^21 UIs (the four-step FFT, its spectrum's length 2^a·3^b·5^c with odd
    // factors): the tone list equals the reference's and the two tones are found.
    let ui_s = 1e-10;
    let (ui, v) = toned_residual(2_300_000, ui_s, 61);
    let n = periodic::fft_len(ui[ui.len() - 1] - ui[0] + 1);
    assert!(n >= 1 << 21 && !n.is_power_of_two(), "{n}");
    assert_tones_match(&ui, &v, ui_s, "2.3 M UIs");
    let (tones, _) = periodic::find_tones(&ui, &mut v.clone(), ui_s, 8, 1e-3);
    assert!(tones.iter().any(|t| (t.freq_hz - 3.1e6).abs() < 2e3) && tones.iter().any(|t| (t.freq_hz - 41.7e6).abs() < 2e3), "{tones:?}");
}

#[test]
fn spectral_peaks_equal_the_serial_passes() {
    // Noise with planted peaks, ties (equal ratios, flat tops) and zero blocks, at lengths
    // around the block (64) and the parallel chunk (8192).
    let mut s = 11u64;
    for half in [3usize, 64, 65, 8191, 8192, 8193, 3 * 8192 + 67, 100_000] {
        let mut p: Vec<f64> = (0..half).map(|_| (lcg(&mut s) % 1000) as f64 * 1e-3).collect();
        for j in 0..half / 97 {
            let k = 5 + (lcg(&mut s) as usize % (half - 7).max(1));
            p[k] = 1e3 * (1 + j % 3) as f64;
            if j % 5 == 0 {
                p[k + 1] = p[k];
            }
        }
        if half > 200 {
            p[128..192].iter_mut().for_each(|v| *v = 0.0);
        }
        for max_tones in [0usize, 1, 8, 1024] {
            let fast = periodic::spectral_peaks(&p, max_tones, 1e-3);
            let reference = periodic::spectral_peaks_reference(&p, max_tones, 1e-3);
            assert_eq!(fast, reference, "{half} bins, {max_tones} tones");
            if half > 1000 && max_tones > 8 {
                assert!(fast.len() > 8, "{half}: {fast:?}");
            }
        }
    }
}

#[test]
fn jitter_results_do_not_depend_on_the_thread_count() {
    let (clock, decided) = clock_and_decisions(Modulation::Pam4, 40_000, Jitter { rj_rms_ui: 0.01, sj_amplitude_ui: 0.05, sj_frequency_hz: 20e6 }, 8);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| analyze_jitter(&clock, &decided, Modulation::Pam4, &JitterConfig::default()).unwrap())
    };
    let one = run(1);
    assert!(!one.pj.is_empty(), "the tone is found: {:?}", one.pj);
    for threads in [2, 3] {
        let other = run(threads);
        assert_eq!(format!("{one:?}"), format!("{other:?}"), "{threads} threads");
    }
}

#[test]
fn jitter_fast_paths_on_a_real_10gbase_r_capture() {
    // Real 10GBASE-R NRZ (LeCroy SDA 816Zi, 40 GS/s float32 volts, no header); see
    // shared/captures/MANIFEST.md. `$LIGHTLANE_CAPTURES` overrides the folder, as for the
    // workspace's other real-capture tests.
    let dir = std::env::var("LIGHTLANE_CAPTURES").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures").to_string());
    let path = format!("{dir}/scopehal_ngscopeclient/10GBASE-R_waveform_1_channel_3.densev1.f32le.bin");
    let Ok(bytes) = std::fs::read(&path) else {
        println!("skipped: capture not found at {path}");
        return;
    };
    let x: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let m = Modulation::Nrz;
    let clock = recover_clock(&x, 40e9, 10.3125e9, m, &CdrConfig::default()).unwrap();
    let decided: Vec<u8> = clock.resample(&x, 1).iter().map(|&v| (v >= 0.0) as u8).collect();
    let fast = edges_from_clock(&clock, &decided, m).unwrap();
    let (edges, rejected) = edges_from_clock_reference(&clock, &decided, m);
    assert!(edges.len() > 10_000, "{} edges", edges.len());
    assert_eq!((&fast.edges, fast.rejected), (&edges, rejected));
    let ui: Vec<usize> = edges.iter().map(|e| e.ui_index).collect();
    let mean = edges.iter().map(|e| e.tie_s).sum::<f64>() / edges.len() as f64;
    let tie: Vec<f64> = edges.iter().map(|e| e.tie_s - mean).collect();
    assert_tones_match(&ui, &tie, fast.ui_s, "10GBASE-R TIE");
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| format!("{:?}", analyze_jitter(&clock, &decided, m, &JitterConfig::default()).unwrap()))
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn boundaries_equal_partition_point_whatever_the_order() {
    let mut s = 77u64;
    let mut u = move || (lcg(&mut s) % 10_000) as f64 * 0.37;
    for (np, ne) in [(0usize, 5usize), (1, 1), (100, 20_000), (50_000, 30_000), (30_000, 8192), (30_000, 8193)] {
        let mut positions: Vec<f64> = (0..np).map(|_| u()).collect();
        positions.sort_by(f64::total_cmp);
        // Ascending edges (some equal to positions, some repeated), then shuffled runs, then NaN.
        let mut edges: Vec<f64> = (0..ne).map(|_| u()).collect();
        edges.sort_by(f64::total_cmp);
        if np > 0 && ne > 10 {
            edges[3] = positions[np / 2];
            edges[4] = edges[3];
            edges.swap(ne / 2, ne - 2);
            edges[ne - 1] = f64::NAN;
        }
        let reference: Vec<usize> = edges.iter().map(|&e| positions.partition_point(|&p| p < e)).collect();
        assert_eq!(edges::boundaries(&positions, &edges), reference, "{np} positions, {ne} edges");
        // Positions out of order: the binary search's answer, whatever it is.
        if np > 2 {
            positions.swap(0, np - 1);
            let reference: Vec<usize> = edges.iter().map(|&e| positions.partition_point(|&p| p < e)).collect();
            assert_eq!(edges::boundaries(&positions, &edges), reference, "unsorted, {np} positions");
        }
    }
}

#[test]
fn uniform_grid_equals_the_serial_loop_bit_for_bit() {
    let mut s = 5u64;
    // Edge counts around the chunk of segments (8192 + 1 edges per chunk boundary).
    for n in [0usize, 1, 2, 8192, 8193, 8194, 3 * 8192 + 7] {
        let mut ui = Vec::with_capacity(n);
        let mut u = 2usize;
        for _ in 0..n {
            u += 1 + (lcg(&mut s) % 4) as usize;
            ui.push(u);
        }
        let v: Vec<f64> = (0..n).map(|_| (lcg(&mut s) % 100_000) as f64 * 1e-3 - 50.0).collect();
        let (mut fast, mut reference) = (vec![1.0], vec![2.0]);
        periodic::to_uniform_grid(&ui, &v, &mut fast);
        periodic::to_uniform_grid_reference(&ui, &v, &mut reference);
        assert_eq!(fast.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), reference.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), "{n} edges");
    }
}

#[test]
fn the_plan_cache_reuses_plans_within_its_limits() {
    use rustfft::num_complex::Complex;
    use std::sync::Arc;
    let mut cache = periodic::PlanCache::new(3, 1000);
    let first = cache.forward(100);
    assert!(Arc::ptr_eq(&first, &cache.forward(100)), "a second request reuses the plan");
    cache.forward(200);
    cache.forward(300);
    assert_eq!(cache.lengths(), [100, 200, 300]);
    cache.forward(100);
    assert_eq!(cache.lengths(), [200, 300, 100], "a hit becomes the most recently used");
    cache.forward(50);
    assert_eq!(cache.lengths(), [300, 100, 50], "a fourth length drops the least recently used");
    cache.forward(600);
    assert_eq!(cache.lengths(), [100, 50, 600], "the point budget drops the least recently used");
    cache.forward(2000);
    assert_eq!(cache.lengths(), [100, 50, 600], "a plan longer than the budget is not kept");
    assert!(Arc::ptr_eq(&first, &cache.forward(100)));
    // A kept plan transforms exactly as a fresh one (and as the process-wide cache's).
    for n in [100usize, 600, 2000, 4096] {
        let x: Vec<Complex<f64>> = gaussians(2 * n, n as u64).chunks_exact(2).map(|c| Complex::new(c[0], c[1])).collect();
        let run = |plan: Arc<dyn rustfft::Fft<f64>>| {
            let mut y = x.clone();
            plan.process(&mut y);
            y.iter().flat_map(|c| [c.re.to_bits(), c.im.to_bits()]).collect::<Vec<u64>>()
        };
        let fresh = run(rustfft::FftPlanner::new().plan_fft_forward(n));
        assert_eq!(run(cache.forward(n)), fresh, "length {n}");
        assert_eq!(run(cache.forward(n)), fresh, "length {n}, again");
        assert_eq!(run(periodic::forward_plan(n)), fresh, "length {n}, process-wide");
        assert_eq!(run(periodic::forward_plan(n)), fresh, "length {n}, process-wide again");
    }
}

#[test]
fn repeated_jitter_analyses_are_bit_identical() {
    // The second analysis plans nothing (the spectrum's plan is cached across analyzers) and
    // must give the same report, bit for bit.
    let (clock, decided) = clock_and_decisions(Modulation::Pam4, 30_000, Jitter { rj_rms_ui: 0.01, sj_amplitude_ui: 0.04, sj_frequency_hz: 30e6 }, 12);
    let first = analyze_jitter(&clock, &decided, Modulation::Pam4, &JitterConfig::default()).unwrap();
    assert!(!first.pj.is_empty(), "the tone is found: {:?}", first.pj);
    for _ in 0..2 {
        let again = analyze_jitter(&clock, &decided, Modulation::Pam4, &JitterConfig::default()).unwrap();
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
    }
    let analyzer = JitterAnalyzer::new(Modulation::Pam4, &JitterConfig::default()).unwrap();
    let timed = edges_from_clock(&clock, &decided, Modulation::Pam4).unwrap();
    let mut third = analyzer.analyze(&timed.edges, &decided, timed.ui_s).unwrap();
    third.edges.rejected = timed.rejected;
    assert_eq!(format!("{first:?}"), format!("{third:?}"));
}

#[test]
fn parallel_tail_extremes_equal_a_full_sort() {
    use super::tails::tail_extremes_reference;
    let mut s = 19u64;
    // Sizes across the parallel threshold (65_536) and the filter chunk (16_384), ragged last
    // chunks; values with many ties, ±0 and a few NaN/±inf (total order).
    for n in [1000usize, 65_535, 65_536, 65_537, 3 * 16_384 + 4 * 16_384 + 5, 300_001] {
        let mut v: Vec<f64> = (0..n).map(|_| ((lcg(&mut s) % 2001) as f64 - 1000.0) * 0.25).collect();
        v[n / 3] = -0.0;
        v[n / 5] = 0.0;
        v[n / 7] = f64::INFINITY;
        v[n / 11] = f64::NEG_INFINITY;
        v[n / 13] = f64::NAN;
        let typical = (0.01 * n as f64).ceil() as usize + 2;
        for m in [0usize, 1, 2, typical, n / 9, n / 8, n / 2, n, n + 3] {
            let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
            let (low, high) = tail_extremes(&v, m);
            let (rl, rh) = tail_extremes_reference(&v, m);
            assert_eq!((bits(&low), bits(&high)), (bits(&rl), bits(&rh)), "{n} values, m = {m}");
            // And the serial selection (the code before the parallel path) agrees.
            let (sl, sh) = super::tails::tail_extremes_serial(&mut v.clone(), m);
            assert_eq!((bits(&sl), bits(&sh)), (bits(&rl), bits(&rh)), "{n} values, m = {m}, serial");
        }
    }
    // A sample that misleads the thresholds (every sampled point extreme): the fallback still
    // gives the exact tails.
    let n = 200_000;
    let stride = n / 4096;
    let mut v: Vec<f64> = (0..n).map(|_| (lcg(&mut s) % 100_000) as f64).collect();
    for i in 0..4096 {
        v[i * stride] = if i % 2 == 0 { -1e9 } else { 1e9 };
    }
    for m in [100usize, 2047, 2048, 2049, 5000] {
        assert_eq!(tail_extremes(&v, m), tail_extremes_reference(&v, m), "misleading sample, m = {m}");
    }
}

#[test]
fn ddj_groups_equal_the_serial_loop() {
    // Edge counts across the sum chunk (65_536 edges; 4·contexts for large history windows),
    // NRZ/PAM4 history contexts and a pattern period.
    for (m, n, context) in [
        (Modulation::Nrz, 5_000usize, DdjContext::History { preceding: 5, following: 1 }),
        (Modulation::Nrz, 65_536, DdjContext::History { preceding: 5, following: 1 }),
        (Modulation::Nrz, 65_537, DdjContext::History { preceding: 5, following: 1 }),
        (Modulation::Pam4, 200_003, DdjContext::History { preceding: 2, following: 1 }),
        (Modulation::Pam4, 300_000, DdjContext::History { preceding: 6, following: 1 }),
        (Modulation::Nrz, 150_001, DdjContext::PatternPeriod { period: 8191, offset: 17 }),
    ] {
        let symbols = random_symbols(3 * n + 10, m, n as u64);
        let mut s = 3u64;
        let edges: Vec<JitterEdge> = (1..symbols.len())
            .filter(|&k| symbols[k] != symbols[k - 1])
            .take(n)
            .map(|k| JitterEdge { ui_index: k, tie_s: ((lcg(&mut s) % 1000) as f64 - 500.0) * 1e-15, from: symbols[k - 1], to: symbols[k] })
            .collect();
        let tie: Vec<f64> = edges.iter().map(|e| e.tie_s).collect();
        let fast = ddj::group(&edges, &tie, &symbols, m.levels(), &context);
        let reference = ddj::group_reference(&edges, &tie, &symbols, m.levels(), &context);
        let what = format!("{m:?} {n} {context:?}");
        assert_eq!(fast.key, reference.key, "{what}");
        assert_eq!(fast.count, reference.count, "{what}");
        assert_eq!(fast.rising, reference.rising, "{what}");
        let scale: f64 = 500e-15 * n as f64;
        for (a, b) in fast.sum.iter().zip(&reference.sum) {
            if edges.len() <= 65_536 {
                assert_eq!(a.to_bits(), b.to_bits(), "{what}: one chunk is the serial sum");
            }
            assert!((a - b).abs() <= 1e-15 * scale, "{what}: {a} vs {b}");
        }
    }
}

#[test]
fn the_first_bad_edge_is_reported_at_every_chunk_position() {
    // Errors placed either side of the parallel chunk (16_384 edges) and at the end; with
    // several bad edges the first is reported, with its own kind.
    let an = JitterAnalyzer::new(Modulation::Nrz, &JitterConfig::default()).unwrap();
    let (edges, symbols) = synthetic(&gaussians(50_000, 4).iter().map(|z| 0.01 * z).collect::<Vec<_>>(), 1e-10);
    let index_of = |r: Result<JitterReport>| match r {
        Err(Error::NonFinite { index, .. }) => ("non-finite", index),
        Err(Error::ValueOutOfRange { index, what, .. }) => (what, index),
        Err(Error::InvalidParameter { value, .. }) => ("order", value.split(' ').next_back().unwrap().parse().unwrap()),
        other => panic!("{:?}", other.map(|_| ())),
    };
    for i in [1usize, 16_383, 16_384, 16_385, 32_768, 49_999] {
        let mut bad = edges.clone();
        bad[i].tie_s = f64::INFINITY;
        assert_eq!(index_of(an.analyze(&bad, &symbols, 1e-10)), ("non-finite", i));
        // A later out-of-order edge and an earlier bad transition: the earlier one wins.
        let mut bad = edges.clone();
        bad[i].to = 7;
        if i + 1 < bad.len() {
            bad[i + 1].ui_index = bad[i].ui_index;
        }
        assert_eq!(index_of(an.analyze(&bad, &symbols, 1e-10)), ("edge transition symbols", i));
        let mut bad = edges.clone();
        bad[i].ui_index = bad[i - 1].ui_index;
        if i + 1 < bad.len() {
            bad[i + 1].tie_s = f64::NAN;
        }
        assert_eq!(index_of(an.analyze(&bad, &symbols, 1e-10)), ("order", i));
        let mut bad_symbols = symbols.clone();
        bad_symbols[2 * i] = 2;
        bad_symbols[2 * i + 1] = 5;
        assert_eq!(index_of(an.analyze(&edges, &bad_symbols, 1e-10)), ("decided symbols", 2 * i));
    }
}

/// Edges at random UIs over `n` UIs with two tones, a DCD-like polarity offset and RJ.
fn long_toned_edges(n: usize, ui_s: f64, seed: u64) -> (Vec<JitterEdge>, Vec<u8>) {
    let symbols = random_symbols(n, Modulation::Nrz, seed);
    let g = gaussians(n, seed + 1);
    let edges = (1..n)
        .filter(|&k| symbols[k] != symbols[k - 1])
        .map(|k| {
            let t = k as f64 * ui_s;
            let v = 0.03 * (2.0 * std::f64::consts::PI * 7.31e6 * t).sin() + 0.01 * (2.0 * std::f64::consts::PI * 95.7e6 * t + 0.3).sin() + 0.01 * g[k];
            let from = symbols[k - 1];
            JitterEdge { ui_index: k, tie_s: (v + if from == 0 { 0.004 } else { -0.004 }) * ui_s, from, to: symbols[k] }
        })
        .collect();
    (edges, symbols)
}

#[test]
fn long_analyses_do_not_depend_on_the_thread_count() {
    // 600_000 UIs: several chunks of every edge pass, the four-step FFT, the parallel tails.
    let ui_s = 1e-10;
    let (edges, symbols) = long_toned_edges(600_000, ui_s, 31);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| JitterAnalyzer::new(Modulation::Nrz, &JitterConfig::default()).unwrap().analyze(&edges, &symbols, ui_s).unwrap())
    };
    let one = run(1);
    assert_eq!(one.pj.len(), 2, "{:?}", one.pj);
    assert!(one.tail_fit.is_some() && one.dcd_s.is_some());
    assert_eq!(format!("{one:?}"), format!("{:?}", run(3)));
}

#[test]
fn chunked_sums_and_searches_equal_the_serial_ones() {
    let mut s = 8u64;
    for n in [0usize, 1, 16_383, 16_384, 16_385, 5 * 16_384 + 9] {
        let v: Vec<f64> = (0..n).map(|_| ((lcg(&mut s) % 10_000) as f64 - 5000.0) * 1e-3).collect();
        let fast = super::chunked_sum(&v, |&x| x);
        let serial = v.iter().sum::<f64>();
        if n <= 16_384 {
            assert_eq!(fast.to_bits(), serial.to_bits(), "{n}");
        }
        assert!((fast - serial).abs() <= 1e-15 * 5.0 * n as f64, "{n}: {fast} vs {serial}");
        for at in [0usize, 16_383, 16_384, 16_385, n.saturating_sub(1)] {
            let bad = |i: usize| i >= at && i < n && v[i] >= v[at.min(n.saturating_sub(1))];
            assert_eq!(super::first_index_where(n, bad), (0..n).position(bad), "{n} at {at}");
        }
    }
}

/// Naive reference of `edges::pair_edges` (the serial loop of `edges_from_clock`).
fn pair_edges_reference(boundary: &[usize], tie: &[f32], symbols: &[u8], used: usize, modulation: Modulation) -> (Vec<JitterEdge>, usize) {
    let (mut edges, mut rejected) = (Vec::new(), 0usize);
    for (&k, &t) in boundary.iter().zip(tie) {
        if k == 0 || k >= used {
            rejected += 1;
            continue;
        }
        let (from, to) = (symbols[k - 1], symbols[k]);
        let valid = from != to && (modulation == Modulation::Nrz || (from + to) % 2 == 1);
        let tie = t as f64;
        if !valid || !tie.is_finite() || edges.last().is_some_and(|p: &JitterEdge| p.ui_index == k) {
            rejected += 1;
            continue;
        }
        edges.push(JitterEdge { ui_index: k, tie_s: tie, from, to });
    }
    (edges, rejected)
}

#[test]
fn edge_pairing_equals_the_serial_loop_across_chunks() {
    // Boundaries with glitches (repeats, also straddling the 16_384-edge chunks and across a
    // chunk with no candidate), out-of-range and invalid transitions, non-finite TIE.
    const C: usize = 1 << 14;
    for m in [Modulation::Nrz, Modulation::Pam4] {
        let symbols = random_symbols(400_000, m, 9);
        let used = symbols.len() - 5;
        let mut s = 1u64;
        for n in [0usize, 10, C - 1, C, C + 1, 5 * C + 77] {
            let mut k = 0usize;
            let mut boundary: Vec<usize> = (0..n)
                .map(|_| {
                    if !lcg(&mut s).is_multiple_of(4) {
                        k += 1 + (lcg(&mut s) % 3) as usize;
                    }
                    k
                })
                .collect();
            let mut tie: Vec<f32> = (0..n).map(|_| (lcg(&mut s) % 1000) as f32 * 1e-15).collect();
            if n > 2 * C + 10 {
                // A repeat straddling the first chunk boundary; a whole chunk rejected (out of
                // range), then a repeat of the last candidate before it.
                boundary[C] = boundary[C - 1];
                tie[C - 1] = 1e-13;
                let last = boundary[2 * C - 1];
                for b in &mut boundary[2 * C..3 * C] {
                    *b = used + 3;
                }
                boundary[3 * C] = last;
                tie[3 * C + 1] = f32::NAN;
            }
            let fast = edges::pair_edges(&boundary, &tie, &symbols, used, m);
            let reference = pair_edges_reference(&boundary, &tie, &symbols, used, m);
            assert_eq!(fast, reference, "{m:?} {n}");
            let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            assert_eq!(one.install(|| edges::pair_edges(&boundary, &tie, &symbols, used, m)), reference, "{m:?} {n}, 1 thread");
        }
    }
}

#[test]
fn residuals_of_contexts_keep_the_serial_order() {
    // Keys with and without a context, contexts with and without a mean; edge counts across
    // the 16_384-edge chunk, with whole chunks that keep nothing.
    let mut s = 4u64;
    for n in [0usize, 5, 16_383, 16_384, 16_385, 4 * 16_384 + 3] {
        let edges: Vec<JitterEdge> = (0..n).map(|i| JitterEdge { ui_index: 3 * i + 1, tie_s: 0.0, from: 0, to: 1 }).collect();
        let tie: Vec<f64> = (0..n).map(|_| (lcg(&mut s) % 1000) as f64 * 1e-3).collect();
        let means: Vec<Option<f64>> = (0..16).map(|g| (g % 3 != 0).then_some(g as f64 * 0.1)).collect();
        let key: Vec<Option<usize>> = (0..n)
            .map(|i| if (16_384..2 * 16_384).contains(&i) { None } else { (!lcg(&mut s).is_multiple_of(5)).then(|| (lcg(&mut s) % 16) as usize) })
            .collect();
        let (mut ui, mut residual) = (Vec::new(), Vec::new());
        for i in 0..n {
            if let Some(d) = key[i].and_then(|g| means[g]) {
                ui.push(edges[i].ui_index);
                residual.push(tie[i] - d);
            }
        }
        assert_eq!(super::residual_of_contexts(&edges, &tie, &key, |g| means[g]), (ui, residual), "{n}");
    }
}
