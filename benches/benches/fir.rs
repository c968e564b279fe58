//! FIR and FFE throughput, single thread, in input samples per second.
//!
//! `BenchmarkId::new(engine, taps)` for every engine this CPU runs, at 5/15/31 taps on 1 Mi
//! samples, plus the 15-tap FFE, T- and T/2-spaced (`Ffe::equalize_with_scratch`). Quick run:
//! `cargo bench -p lightlane-benches --bench fir -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightlane::eq::Ffe;
use lightlane::filter::{Fir, FirEngine};
use lightlane_benches::random_signal;
use std::hint::black_box;

const SAMPLES: usize = 1 << 20;

fn fir(c: &mut Criterion) {
    let x = random_signal(SAMPLES, 1);
    let mut group = c.benchmark_group("fir_valid");
    group.throughput(Throughput::Elements(SAMPLES as u64));
    for taps in [5usize, 15, 31] {
        let h = random_signal(taps, 2);
        for engine in FirEngine::available() {
            let fir = Fir::with_engine(&h, engine).expect("available engine");
            let mut y = vec![0.0f32; fir.valid_len(x.len())];
            group.bench_with_input(BenchmarkId::new(engine.name(), taps), &x, |b, x| {
                b.iter(|| {
                    fir.process_valid(black_box(x), &mut y)
                        .expect("sized output")
                })
            });
        }
    }
    group.finish();
}

fn ffe(c: &mut Criterion) {
    let x = random_signal(SAMPLES, 1);
    let mut group = c.benchmark_group("ffe_equalize");
    group.throughput(Throughput::Elements(SAMPLES as u64));
    for (sps, taps) in [(1usize, 15usize), (2, 15)] {
        let ffe = Ffe::new(random_signal(taps, 2), sps, 3).expect("valid FFE");
        let mut y = vec![0.0f32; ffe.output_len(x.len())];
        let mut scratch = Vec::new();
        let name = if sps == 1 { "t-spaced" } else { "t/2-spaced" };
        group.bench_with_input(BenchmarkId::new(name, taps), &x, |b, x| {
            b.iter(|| {
                ffe.equalize_with_scratch(black_box(x), &mut y, &mut scratch)
                    .expect("sized output")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, fir, ffe);
criterion_main!(benches);
