//! Criterion benchmarks of KP4/KR4 decoding (payload bits per second) for every SIMD engine,
//! single core, at pre-FEC BER 0 and 2.4e-4; plus encoding.
//!
//! `cargo bench -p lightlane-benches --bench fec -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightlane::fec::{DecodeOutcome, DecodeScratch, ReedSolomon, RsCode, SimdLevel};
use lightlane_benches::fec_data::corrupted_codewords;

fn decode(c: &mut Criterion) {
    let count = 2048;
    for code in [RsCode::Kp4, RsCode::Kr4] {
        let mut g = c.benchmark_group(format!("{code}-decode"));
        g.throughput(Throughput::Bits((count * code.k() * 10) as u64));
        for ber in [0.0, 2.4e-4] {
            let (words, _, _) = corrupted_codewords(code, count, ber, 3);
            for level in SimdLevel::available() {
                let rs = ReedSolomon::with_simd(code, level).expect("available");
                let mut scratch = DecodeScratch::new(code);
                let mut buf = words.clone();
                let mut outs = vec![DecodeOutcome::Clean; count];
                let name = format!("cpu-{}", format!("{level:?}").to_lowercase());
                g.bench_with_input(BenchmarkId::new(name, format!("ber{ber:e}")), &words, |b, w| {
                    b.iter(|| {
                        buf.copy_from_slice(w);
                        rs.decode_batch_serial(&mut buf, &mut outs, &mut scratch).expect("valid");
                    })
                });
            }
        }
        g.finish();
    }
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("kp4-encode");
    let rs = ReedSolomon::new(RsCode::Kp4);
    let msg: Vec<u16> = (0..514).map(|i| (i * 37 % 1024) as u16).collect();
    let mut cw = vec![0u16; 544];
    g.throughput(Throughput::Bits(5140));
    g.bench_function("cpu-scalar", |b| b.iter(|| rs.encode(&msg, &mut cw).expect("valid")));
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
