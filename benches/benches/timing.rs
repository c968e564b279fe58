//! Timing-stage throughput, single thread: symbol-rate estimate, clock recovery (every loop),
//! and resampling (FFT, polyphase, cubic).
//!
//! Input: a simulated 10.3125 GBd NRZ capture + 40 ppm at 40 GSa/s (3.88 samples per UI),
//! Bessel-Thomson channel, 25 dB SNR, 2^20 samples. Throughput is counted in input samples for
//! `estimate_baud`, `recover_clock` and `resample_fft`, and in output samples (2 per UI) for the
//! positional resamplers. Quick run:
//! `cargo bench -p lightlane-benches --bench timing -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightlane::sim::{Channel, LinkModel, Noise};
use lightlane::timing::{
    estimate_baud, recover_clock, resample_at_into, CdrConfig, CdrKind, FftResampleScratch, FftResampler, PolyphaseConfig,
    PolyphaseResampler,
};
use lightlane::Modulation;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const SAMPLES: usize = 1 << 20;
const FS: f64 = 40e9;
const BAUD: f64 = 10.3125e9;

fn capture() -> Vec<f32> {
    let mut model = LinkModel::new(Modulation::Nrz, BAUD * (1.0 + 40e-6), FS).expect("valid model");
    model.channel = Channel::BesselThomson { f3db_hz: 0.6 * BAUD, order: 4 };
    model.noise = Noise::SnrDb(25.0);
    model.oversampling = 8;
    let n_sym = (SAMPLES as f64 * BAUD / FS) as usize + 256;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let bits: Vec<u8> = (0..n_sym).map(|_| rng.random_range(0..2u8)).collect();
    let mut x = model.run(&bits).expect("simulation").waveform.samples;
    assert!(x.len() >= SAMPLES, "simulated {} samples", x.len());
    x.truncate(SAMPLES);
    x
}

fn timing(c: &mut Criterion) {
    // Run on one thread, as the throughput targets are per core.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("thread pool");
    let x = pool.install(capture);

    let mut group = c.benchmark_group("timing");
    group.throughput(Throughput::Elements(x.len() as u64));
    group.bench_function("estimate_baud", |b| {
        b.iter(|| estimate_baud(black_box(&x), FS, Some(BAUD), Modulation::Nrz).expect("rate"))
    });
    for kind in [
        CdrKind::reference_pll(4e6),
        CdrKind::ReferencePll { corner_hz: 4e6, order: 2, damping: 0.707 },
        CdrKind::MuellerMuller { bandwidth_fraction: 2e-3 },
        CdrKind::Gardner { bandwidth_fraction: 2e-3 },
        CdrKind::BangBang { gain: 2e-3 },
    ] {
        let name = match kind {
            CdrKind::ReferencePll { order: 2, .. } => "reference-pll-2".to_string(),
            k => k.name().to_string(),
        };
        let cfg = CdrConfig { kind, ..Default::default() };
        group.bench_function(BenchmarkId::new("recover_clock", name), |b| {
            b.iter(|| recover_clock(black_box(&x), FS, BAUD, Modulation::Nrz, &cfg).expect("clock"))
        });
    }
    // The simulated capture is a few samples short of SAMPLES: plan for its real length.
    let n_out = x.len() * 25 / 32;
    let fft = FftResampler::new(x.len(), n_out).expect("plan");
    let mut y = vec![0f32; n_out];
    let mut scratch = FftResampleScratch::default();
    group.bench_function(BenchmarkId::new("resample_fft", format!("{}->{n_out}", x.len())), |b| {
        b.iter(|| fft.process(black_box(&x), &mut y, &mut scratch).expect("sized"))
    });
    group.finish();

    let clock = recover_clock(&x, FS, BAUD, Modulation::Nrz, &CdrConfig::default()).expect("clock");
    let positions = &clock.symbol_positions;
    let sps = 2;
    let mut out = vec![0f32; positions.len() * sps];
    let mut group = c.benchmark_group("resample_ui");
    group.throughput(Throughput::Elements(out.len() as u64));
    let poly = PolyphaseResampler::new(&PolyphaseConfig::default()).expect("design");
    group.bench_function("polyphase-16", |b| {
        b.iter(|| poly.process_ui(black_box(&x), positions, sps, &mut out).expect("sized"))
    });
    let poly32 = PolyphaseResampler::new(&PolyphaseConfig { taps: 32, ..Default::default() }).expect("design");
    group.bench_function("polyphase-32", |b| {
        b.iter(|| poly32.process_ui(black_box(&x), positions, sps, &mut out).expect("sized"))
    });
    group.bench_function("cubic", |b| {
        b.iter(|| resample_at_into(black_box(&x), positions, sps, &mut out).expect("sized"))
    });
    group.finish();
}

criterion_group!(benches, timing);
criterion_main!(benches);
