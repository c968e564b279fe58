//! Equalizer throughput, single thread unless stated, in symbols per second.
//!
//! Groups: `adaptive_ffe` (LMS, NLMS, sign-sign LMS at 15 T-spaced taps, RLS at 15 taps),
//! `dfe` (PAM4 1/2/3/4/8 taps, NRZ 1 tap) and `mlse` (PAM4 4 and 16 states, NRZ 2 states), each
//! sequential (the reference) and interleaved (blocks in SIMD lanes, one thread), and
//! `block_parallel` (DFE and 4-state MLSE on 4 Mi symbols with 1 and 2 rayon threads).
//! Quick run: `cargo bench -p lightlane-benches --bench eq -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightlane::eq::block::{DEFAULT_BLOCK, DEFAULT_WARMUP};
use lightlane::eq::{adapt_ffe_into, Adaptation, AdaptiveConfig, Dfe, Ffe, Mlse};
use lightlane::Modulation;
use lightlane_benches::eq_data::isi_link;
use std::hint::black_box;

const SYMBOLS: usize = 1 << 20;

fn adaptive(c: &mut Criterion) {
    let m = Modulation::Pam4;
    let (symbols, x) = isi_link(m, SYMBOLS, &[1.0, 0.45, 0.15], 0.05, 1);
    let targets = m.symbols_to_levels(&symbols);
    let init = Ffe::identity(15, 1, 3).expect("valid FFE");
    let mut group = c.benchmark_group("adaptive_ffe");
    for (name, rule, n) in [
        ("lms", Adaptation::Lms { mu: 1e-3 }, SYMBOLS),
        ("nlms", Adaptation::Nlms { mu: 1e-2 }, SYMBOLS),
        ("sign-sign-lms", Adaptation::SignSignLms { mu: 1e-4 }, SYMBOLS),
        ("rls", Adaptation::Rls { lambda: 0.9999, delta: 1e-2 }, SYMBOLS / 16),
    ] {
        let cfg = AdaptiveConfig {
            adaptation: rule,
            training_symbols: n,
            decision_directed: true,
            passes: 1,
            trace_decimation: 4096,
        };
        group.throughput(Throughput::Elements(n as u64));
        let mut out = vec![0.0f32; n];
        let mut scratch = Vec::new();
        group.bench_with_input(BenchmarkId::new(name, 15), &x[..n], |b, x| {
            b.iter(|| {
                adapt_ffe_into(black_box(x), 1, Some(&targets[..n]), &init, &m.level_set(), &cfg, &mut out, &mut scratch)
                    .expect("adapts")
            })
        });
    }
    group.finish();
}

fn dfe(c: &mut Criterion) {
    let mut group = c.benchmark_group("dfe");
    group.throughput(Throughput::Elements(SYMBOLS as u64));
    for (m, taps) in [
        (Modulation::Pam4, vec![0.5f32]),
        (Modulation::Pam4, vec![0.5, 0.2]),
        (Modulation::Pam4, vec![0.5, 0.2, 0.1]),
        (Modulation::Pam4, vec![0.5, 0.2, 0.1, 0.05]),
        (Modulation::Pam4, vec![0.5, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.01]),
        (Modulation::Nrz, vec![0.5]),
    ] {
        let mut h = vec![1.0f32];
        h.extend(&taps);
        let (_, y) = isi_link(m, SYMBOLS, &h, 0.05, 2);
        let dfe = Dfe::new(taps.clone(), m.level_set(), m).expect("valid DFE");
        let mut out = vec![0u8; SYMBOLS];
        group.bench_with_input(BenchmarkId::new(format!("{}-sequential", m.name()), taps.len()), &y, |b, y| {
            b.iter(|| dfe.detect_into(black_box(y), &mut out).expect("sized"))
        });
        group.bench_with_input(BenchmarkId::new(format!("{}-interleaved", m.name()), taps.len()), &y, |b, y| {
            b.iter(|| dfe.detect_interleaved_with(black_box(y), &mut out, DEFAULT_BLOCK, DEFAULT_WARMUP).expect("sized"))
        });
    }
    group.finish();
}

fn mlse(c: &mut Criterion) {
    let mut group = c.benchmark_group("mlse");
    group.throughput(Throughput::Elements(SYMBOLS as u64));
    for (m, target) in [
        (Modulation::Pam4, vec![1.0f32, 0.5]),
        (Modulation::Pam4, vec![1.0, 0.5, 0.2]),
        (Modulation::Nrz, vec![1.0, 0.5]),
    ] {
        let (_, y) = isi_link(m, SYMBOLS, &target, 0.05, 3);
        let mlse = Mlse::new(m, &target, &m.level_set()).expect("valid MLSE");
        let mut out = vec![0u8; SYMBOLS];
        let id = format!("{}-{}states", m.name(), mlse.states());
        group.bench_with_input(BenchmarkId::new(format!("{id}-sequential"), SYMBOLS), &y, |b, y| {
            b.iter(|| mlse.detect_into(black_box(y), &mut out).expect("sized"))
        });
        group.bench_with_input(BenchmarkId::new(format!("{id}-interleaved"), SYMBOLS), &y, |b, y| {
            b.iter(|| mlse.detect_interleaved_with(black_box(y), &mut out, DEFAULT_BLOCK, DEFAULT_WARMUP).expect("sized"))
        });
    }
    group.finish();
}

fn block_parallel(c: &mut Criterion) {
    let n = 4 * SYMBOLS;
    let m = Modulation::Pam4;
    let (_, y) = isi_link(m, n, &[1.0, 0.5], 0.05, 4);
    let dfe = Dfe::new(vec![0.5], m.level_set(), m).expect("valid DFE");
    let mlse = Mlse::new(m, &[1.0, 0.5], &m.level_set()).expect("valid MLSE");
    let mut group = c.benchmark_group("block_parallel");
    group.throughput(Throughput::Elements(n as u64));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        group.bench_with_input(BenchmarkId::new("dfe-1tap", threads), &y, |b, y| {
            b.iter(|| pool.install(|| dfe.detect_parallel(black_box(y))))
        });
        group.bench_with_input(BenchmarkId::new("mlse-4states", threads), &y, |b, y| {
            b.iter(|| pool.install(|| mlse.detect_parallel(black_box(y))))
        });
    }
    group.finish();
}

criterion_group!(benches, adaptive, dfe, mlse, block_parallel);
criterion_main!(benches);
