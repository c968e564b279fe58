//! Jitter-decomposition throughput, single thread, in data edges per second.
//!
//! Input: a simulated 10.3125 GBd NRZ capture of 2^20 symbols at 40 GSa/s (3.88 samples per UI),
//! Bessel-Thomson channel at 0.6 × baud, 25 dB SNR, RJ 0.01 UI and SJ 0.05 UI at 20 MHz; clock
//! recovered with the 802.3 reference PLL and bits decided at the recovered centres (setup, not
//! timed). Timed: pairing the edges with the decisions (`edges_from_clock`) and the whole
//! decomposition (`JitterAnalyzer::analyze`: DDJ by history, tail fits, PJ spectrum), and the
//! same with a new analyzer per call (`analyze_fresh`, as `analyze_jitter` does; the PJ
//! spectrum's FFT plan comes from the process-wide plan cache either way).
//! Besides criterion's wall-clock numbers, the on-CPU rate (thread CPU time from
//! /proc/thread-self/schedstat, insensitive to other processes sharing the cores) is printed.
//! Quick run: `cargo bench -p lightlane-benches --bench jitter -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightlane::jitter::{edges_from_clock, JitterAnalyzer, JitterConfig};
use lightlane::sim::{Channel, Jitter, LinkModel, Noise};
use lightlane::timing::{recover_clock, CdrConfig};
use lightlane::Modulation;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const SYMBOLS: usize = 1 << 20;
const FS: f64 = 40e9;
const BAUD: f64 = 10.3125e9;

/// On-CPU time of this thread, nanoseconds (None where /proc is unavailable).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

fn jitter(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("thread pool");
    let (clock, decided) = pool.install(|| {
        let mut model = LinkModel::new(Modulation::Nrz, BAUD, FS).expect("valid model");
        model.channel = Channel::BesselThomson { f3db_hz: 0.6 * BAUD, order: 4 };
        model.noise = Noise::SnrDb(25.0);
        model.oversampling = 8;
        model.jitter = Jitter { rj_rms_ui: 0.01, sj_amplitude_ui: 0.05, sj_frequency_hz: 20e6 };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let bits: Vec<u8> = (0..SYMBOLS).map(|_| rng.random_range(0..2u8)).collect();
        let x = model.run(&bits).expect("simulation").waveform.samples;
        let clock = recover_clock(&x, FS, BAUD, Modulation::Nrz, &CdrConfig::default()).expect("clock");
        let decided: Vec<u8> = clock.resample(&x, 1).iter().map(|&v| (v > 0.0) as u8).collect();
        (clock, decided)
    });
    let timed = edges_from_clock(&clock, &decided, Modulation::Nrz).expect("edges");
    let analyzer = JitterAnalyzer::new(Modulation::Nrz, &JitterConfig::default()).expect("config");
    let n_edges = timed.edges.len();

    // On-CPU rate, measured on this thread.
    let report = analyzer.analyze(&timed.edges, &decided, timed.ui_s).expect("report");
    if let Some(t0) = thread_cpu_ns() {
        let reps = 5;
        for _ in 0..reps {
            black_box(analyzer.analyze(black_box(&timed.edges), &decided, timed.ui_s).expect("report"));
        }
        let dt = (thread_cpu_ns().unwrap_or(t0) - t0) as f64 * 1e-9 / reps as f64;
        eprintln!(
            "jitter/analyze: {n_edges} edges of {} symbols, {:.1} ms on-CPU per decomposition = {:.2} M edges/s (thread CPU time); RJ {:.4} UI, DJ {:.4} UI, TJ {:.4} UI, {} tones",
            decided.len(),
            dt * 1e3,
            n_edges as f64 / dt * 1e-6,
            report.rj_rms_s.unwrap_or(f64::NAN) * BAUD,
            report.dj_pp_s.unwrap_or(f64::NAN) * BAUD,
            report.tj_s.unwrap_or(f64::NAN) * BAUD,
            report.pj.len()
        );
        // A new analyzer per decomposition (what `analyze_jitter` does on every call).
        let t0 = thread_cpu_ns().unwrap_or(0);
        for _ in 0..reps {
            let fresh = JitterAnalyzer::new(Modulation::Nrz, &JitterConfig::default()).expect("config");
            black_box(fresh.analyze(black_box(&timed.edges), &decided, timed.ui_s).expect("report"));
        }
        let dt = (thread_cpu_ns().unwrap_or(t0) - t0) as f64 * 1e-9 / reps as f64;
        eprintln!("jitter/analyze_fresh: {:.1} ms on-CPU per decomposition with a new analyzer each (thread CPU time)", dt * 1e3);
    }

    let mut group = c.benchmark_group("jitter");
    group.throughput(Throughput::Elements(n_edges as u64));
    group.sample_size(10);
    group.bench_function("edges_from_clock", |b| {
        b.iter(|| edges_from_clock(black_box(&clock), &decided, Modulation::Nrz).expect("edges"))
    });
    group.bench_function("analyze", |b| {
        b.iter(|| analyzer.analyze(black_box(&timed.edges), &decided, timed.ui_s).expect("report"))
    });
    group.bench_function("analyze_fresh", |b| {
        b.iter(|| {
            let fresh = JitterAnalyzer::new(Modulation::Nrz, &JitterConfig::default()).expect("config");
            fresh.analyze(black_box(&timed.edges), &decided, timed.ui_s).expect("report")
        })
    });
    group.finish();
}

criterion_group!(benches, jitter);
criterion_main!(benches);
