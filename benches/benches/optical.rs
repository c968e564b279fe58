//! Fibre-emulation throughput (capture samples per second) on a 1M-sample optical capture at
//! 256 GSa/s, at the 400GBASE-DR4 minimum dispersion, an LR-like 10 km corner and 20 km at 1550 nm;
//! the parallel `emulate` and the single-thread `process` side by side.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightlane::optical::{EmulationOptions, EmulatorScratch, FiberEmulator};
use lightlane::sim::optical::{Chirp, Fiber};
use lightlane::Waveform;
use rand::{Rng, SeedableRng};

fn capture(n: usize, fs: f64) -> Waveform {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut v = 1e-3f64;
    let samples = (0..n)
        .map(|_| {
            v += 0.2 * (1e-3 * (0.3 + 1.4 * rng.random::<f64>()) - v);
            v as f32
        })
        .collect();
    Waveform::new(samples, fs).unwrap()
}

fn bench_emulation(c: &mut Criterion) {
    let fs = 256e9;
    let n = 1 << 20;
    let w = capture(n, fs);
    let mut group = c.benchmark_group("optical_emulation");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    for (name, dl, lambda) in [("dr4_min_-0.93psnm", -0.93, 1304.5), ("lr_-40psnm", -40.0, 1295.0), ("c_band_340psnm", 340.0, 1550.0)] {
        let fiber = Fiber::with_accumulated_dispersion(dl, lambda).unwrap();
        let options = EmulationOptions {
            chirp: Chirp::transient(-0.5),
            ..Default::default()
        };
        let em = FiberEmulator::new(fs, &fiber, &options).unwrap();
        group.bench_with_input(BenchmarkId::new(format!("cpu-parallel/{name}"), n), &w, |b, w| {
            b.iter(|| em.emulate(w).unwrap())
        });
        let mut out = vec![0f32; n];
        let mut scratch = EmulatorScratch::default();
        group.bench_with_input(BenchmarkId::new(format!("cpu-serial/{name}"), n), &w, |b, w| {
            b.iter(|| em.process(&w.samples, &mut out, &mut scratch).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_emulation);
criterion_main!(benches);
