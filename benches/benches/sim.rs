//! Link-simulator throughput (scope samples per second) for the demo links.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightlane::sim::LinkModel;
use rand::{Rng, SeedableRng};

fn symbols(n: usize, levels: u8) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    (0..n).map(|_| rng.random_range(0..levels)).collect()
}

fn bench_sim(c: &mut Criterion) {
    let mut group = c.benchmark_group("sim");
    group.sample_size(10);
    for (name, model) in [("demo_pam4", LinkModel::demo_pam4()), ("demo_nrz", LinkModel::demo_nrz())] {
        let n = 100_000;
        let syms = symbols(n, model.modulation.levels() as u8);
        group.throughput(Throughput::Elements(model.output_len(n).unwrap() as u64));
        group.bench_with_input(BenchmarkId::new(name, n), &syms, |b, s| b.iter(|| model.run(s).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench_sim);
criterion_main!(benches);
