//! Pattern error counting and checking throughput, in decided bits per second.
//!
//! * `pattern/count`: the counting kernel alone on a precomputed expected stream, `naive`
//!   (symbol by symbol, the oracle) against `fast` (word-parallel), PAM4 Gray and NRZ.
//! * `pattern/check`: the whole `PatternChecker::check` (sync, expected-stream generation,
//!   counting, error positions) on 1 M symbols with BER ≈ 1e-4.
//! * `pattern/align`: acquisition alone (LFSR seeding for PRBS, FFT correlation for SSPRQ).
//! * `pattern/expected`: expected-stream generation (stored period vs word-parallel PRBS31 LFSR).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightlane::modulation::BitMapping;
use lightlane::pattern::{count_errors, count_errors_naive, Pattern, PatternChecker, SyncConfig};
use lightlane::Modulation;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const SYMBOLS: usize = 1 << 20;

fn received(pattern: &str, m: Modulation, symbol_error_ratio: f64) -> (Vec<u8>, Vec<u8>) {
    let expected = Pattern::parse(pattern).unwrap().generate(m, SYMBOLS).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let levels = m.levels() as u8;
    let decisions = expected
        .iter()
        .map(|&s| if rng.random_bool(symbol_error_ratio) { (s + 1) % levels } else { s })
        .collect();
    (decisions, expected)
}

fn count(c: &mut Criterion) {
    let mut g = c.benchmark_group("pattern/count");
    for (label, m, pattern) in [("pam4-gray", Modulation::Pam4, "prbs13q"), ("nrz", Modulation::Nrz, "prbs31")] {
        let (d, e) = received(pattern, m, 1e-3);
        g.throughput(Throughput::Elements((SYMBOLS * m.bits_per_symbol()) as u64));
        g.bench_with_input(BenchmarkId::new("naive", label), &(&d, &e), |b, (d, e)| {
            b.iter(|| count_errors_naive(black_box(d), black_box(e), m, BitMapping::Gray))
        });
        g.bench_with_input(BenchmarkId::new("fast", label), &(&d, &e), |b, (d, e)| {
            b.iter(|| count_errors(black_box(d), black_box(e), m, BitMapping::Gray))
        });
    }
    g.finish();
}

fn check(c: &mut Criterion) {
    let mut g = c.benchmark_group("pattern/check");
    g.sample_size(10);
    for (pattern, m) in [("prbs13q", Modulation::Pam4), ("prbs31q", Modulation::Pam4), ("ssprq", Modulation::Pam4), ("prbs31", Modulation::Nrz)] {
        let (d, _) = received(pattern, m, 1e-4);
        let checker = PatternChecker::new(&Pattern::parse(pattern).unwrap(), m, SyncConfig::default()).unwrap();
        g.throughput(Throughput::Elements((SYMBOLS * m.bits_per_symbol()) as u64));
        g.bench_with_input(BenchmarkId::new("check", pattern), &d, |b, d| b.iter(|| checker.check(black_box(d)).unwrap()));
    }
    g.finish();
}

fn align(c: &mut Criterion) {
    let mut g = c.benchmark_group("pattern/align");
    g.sample_size(10);
    for (pattern, m) in [("prbs13q", Modulation::Pam4), ("prbs31q", Modulation::Pam4), ("ssprq", Modulation::Pam4)] {
        let (d, _) = received(pattern, m, 1e-4);
        let checker = PatternChecker::new(&Pattern::parse(pattern).unwrap(), m, SyncConfig::default()).unwrap();
        g.bench_with_input(BenchmarkId::new("align", pattern), &d, |b, d| b.iter(|| checker.align(black_box(d)).unwrap()));
    }
    g.finish();
}

fn expected(c: &mut Criterion) {
    let mut g = c.benchmark_group("pattern/expected");
    for pattern in ["prbs13q", "prbs31q"] {
        let m = Modulation::Pam4;
        let checker = PatternChecker::new(&Pattern::parse(pattern).unwrap(), m, SyncConfig::default()).unwrap();
        let d = Pattern::parse(pattern).unwrap().generate(m, 8192).unwrap();
        let a = checker.align(&d).unwrap();
        let mut out = vec![0u8; SYMBOLS];
        g.throughput(Throughput::Elements((SYMBOLS * 2) as u64));
        g.bench_function(BenchmarkId::new("expected", pattern), |b| {
            b.iter(|| checker.expected_into(&a, 12_345, black_box(&mut out)))
        });
    }
    g.finish();
}

criterion_group!(benches, count, check, align, expected);
criterion_main!(benches);
