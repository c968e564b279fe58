//! Eye histogram (256 × 256 bins, 2 UI, 32 samples/UI; one core and all cores; naive reference
//! beside them) and TDECQ of a PAM4 signal. Throughput in input samples per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightlane::eye::{tdecq, EyeGeometry, EyeHistogram, EyeSignal, TdecqConfig};
use lightlane::timing::resample_at;
use lightlane::Modulation;
use lightlane_benches::eq_data::isi_link;

fn signal(symbols: usize) -> Vec<f32> {
    let (_, y1) = isi_link(Modulation::Pam4, symbols, &[1.0, 0.3], 0.05, 7);
    let positions: Vec<f64> = (0..y1.len()).map(|k| k as f64).collect();
    resample_at(&y1, &positions, 32)
}

fn eye_histogram(c: &mut Criterion) {
    let y = signal(1 << 15);
    let (mn, mx) = y.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let g = EyeGeometry { samples_per_ui: 32, span_ui: 2, time_bins: 256, amp_bins: 256, lo: mn - 0.1, hi: mx + 0.1 };
    let mut group = c.benchmark_group("eye_histogram_256x256");
    group.throughput(Throughput::Elements(y.len() as u64));
    group.bench_with_input(BenchmarkId::new("cpu-scalar-1t", y.len()), &y, |b, y| {
        b.iter(|| {
            let mut h = EyeHistogram::new(g).unwrap();
            h.accumulate_single_thread(y);
            h
        })
    });
    group.bench_with_input(BenchmarkId::new("cpu-mt", y.len()), &y, |b, y| {
        b.iter(|| {
            let mut h = EyeHistogram::new(g).unwrap();
            h.accumulate(y).unwrap();
            h
        })
    });
    group.bench_with_input(BenchmarkId::new("naive", y.len()), &y, |b, y| {
        b.iter(|| {
            let mut h = EyeHistogram::new(g).unwrap();
            h.accumulate_naive(y);
            h
        })
    });
    group.finish();
}

fn tdecq_bench(c: &mut Criterion) {
    let y = signal(1 << 15);
    let sig = EyeSignal::from_centred(&y, 32).unwrap();
    let mut group = c.benchmark_group("tdecq");
    group.sample_size(10);
    group.throughput(Throughput::Elements(sig.samples.len() as u64));
    group.bench_function(BenchmarkId::new("cpu", sig.samples.len()), |b| b.iter(|| tdecq(&sig, None, &TdecqConfig::default()).unwrap()));
    group.finish();
}

criterion_group!(benches, eye_histogram, tdecq_bench);
criterion_main!(benches);
