//! Criterion benches of the GPU engine: each kernel (raw codes → volts, FFE, the BT4 reference
//! filter, eye histogram, KP4 syndromes, slice + count, resampling) with upload, compute and
//! readback timed apart (compute by GPU timestamps where the adapter has them, else the host
//! wall clock around submit + wait; see `lightlane::gpu::bench`), the block DFE and MLSE, the
//! eye passes, TDECQ's histogram evaluation, the staging ring, the fused pass, and capture (in
//! memory, and from a .trc file) → report on the CPU vs the GPU engine. Skips (printing why)
//! when no adapter is usable. Size: LIGHTLANE_BENCH_SAMPLES (default 2^22).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightlane::analysis::AnalysisConfig;
use lightlane::eq::Ffe;
use lightlane::fec::{ReedSolomon, RsCode};
use lightlane::gpu::bench::{self, PhaseTimes};
use lightlane::gpu::{EyeGeometry, GpuContext};
use lightlane::pattern::Pattern;
use lightlane::sim::LinkModel;
use lightlane::{Backend, Modulation};
use rand::{Rng, SeedableRng};
use std::time::Duration;

fn phases(c: &mut Criterion, name: &str, elems: u64, run: &dyn Fn() -> PhaseTimes) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(elems));
    g.sample_size(10);
    for (phase, pick) in [
        ("upload", (|t: &PhaseTimes| t.upload_s) as fn(&PhaseTimes) -> f64),
        ("compute", |t: &PhaseTimes| t.compute_s),
        ("readback", |t: &PhaseTimes| t.readback_s),
    ] {
        g.bench_function(phase, |b| b.iter_custom(|iters| (0..iters).map(|_| Duration::from_secs_f64(pick(&run()))).sum()));
    }
    g.finish();
}

fn gpu(c: &mut Criterion) {
    let ctx = match GpuContext::shared() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIPPED gpu benches: {e}");
            return;
        }
    };
    eprintln!("adapter: {:?}", ctx.adapter());
    let n: usize = std::env::var("LIGHTLANE_BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(1 << 22);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let x: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
    let taps: Vec<f32> = (0..15).map(|i| if i == 7 { 1.0 } else { 0.02 }).collect();
    phases(c, "gpu_ffe15", n as u64, &|| bench::fir(ctx, &x, &taps, 1).expect("fir"));
    let bt = lightlane::eq::BesselThomsonFilter::reference(4.8 * 53.125e9, 53.125e9).expect("BT4");
    phases(c, "gpu_reference_bt4", n as u64, &|| bench::reference_filter(ctx, &x, bt.taps(), bt.lead(), 1).expect("BT4"));
    let g = EyeGeometry { samples_per_ui: 8, span_ui: 2, time_bins: 64, amp_bins: 64, lo: -1.5, hi: 1.5 };
    phases(c, "gpu_eye64x64", n as u64, &|| bench::eye(ctx, &x, &g, 1).expect("eye"));
    let code = RsCode::Kp4;
    let words = (n / 4 / code.n()).max(2);
    let msg: Vec<u16> = (0..code.k()).map(|_| rng.random_range(0..1024u16)).collect();
    let cw = ReedSolomon::new(code).encode_vec(&msg).unwrap();
    let batch: Vec<u16> = cw.iter().copied().cycle().take(words * code.n()).collect();
    phases(c, "gpu_kp4_syndromes", (words * code.n()) as u64, &|| bench::rs_syndromes(ctx, code, &batch, 1).expect("rs"));

    let codes: Vec<i16> = x.iter().map(|&v| (v * 30_000.0) as i16).collect();
    let raw = lightlane::waveform::RawCodes::I16 { codes, gain: 1.0 / 30_000.0, offset: 0.0 };
    phases(c, "gpu_codes_to_volts_i16", n as u64, &|| bench::convert(ctx, &raw, 1).expect("convert").0);
    drop(raw);
    let sym: Vec<u8> = (0..n).map(|_| rng.random_range(0..4u8)).collect();
    phases(c, "gpu_slice_count", n as u64, &|| bench::slice_count(ctx, &x, &sym, 1024, 1).expect("slice_count").0);
    drop(sym);

    let rgrid = lightlane::timing::ResampleGrid { samples_per_ui: 4.8, phase_ui: 0.3, sps_out: 2 };
    let nout = rgrid.output_len(n) as u64;
    phases(c, "gpu_resample_cubic", nout, &|| bench::resample(ctx, &x, &rgrid, 1).expect("resample").0);
    let nd = (n / 4).max(1 << 16);
    let y: Vec<f32> = x[..nd.min(n)].iter().map(|v| v * 1.5).collect();
    let mut gd = c.benchmark_group("gpu_block_detectors");
    gd.throughput(Throughput::Elements(y.len() as u64));
    gd.sample_size(10);
    let mlse = lightlane::eq::Mlse::new(Modulation::Pam4, &[1.0, 0.5], &Modulation::Pam4.level_set()).unwrap();
    gd.bench_function("mlse_pam4_4state", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| Duration::from_secs_f64(bench::mlse_blocks(ctx, &mlse, &y, lightlane::gpu::GPU_MLSE_BLOCK, 256, 1).unwrap())).sum())
    });
    let dfe = lightlane::eq::Dfe::new((0..32).map(|i| 0.1 / (1 + i) as f32).collect(), Modulation::Pam4.level_set(), Modulation::Pam4).unwrap();
    gd.bench_function("dfe_pam4_32taps", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| Duration::from_secs_f64(bench::dfe_blocks(ctx, &dfe, &y, lightlane::gpu::GPU_DFE_BLOCK, 256, 1).unwrap())).sum())
    });
    gd.finish();

    // The eye metrics' passes over a resident eye (32 points/UI), each a whole call, and the
    // read-back of the whole eye they replace.
    let eye = bench::pam4_eye(n, 32, 5);
    let mut ge = c.benchmark_group("gpu_eye_passes");
    ge.throughput(Throughput::Elements(eye.len() as u64));
    ge.sample_size(10);
    for (i, pass) in ["scan", "columns", "crossings", "gather", "readback"].into_iter().enumerate() {
        ge.bench_function(pass, |b| {
            b.iter_custom(|iters| {
                (0..iters).map(|_| Duration::from_secs_f64(bench::eye_passes(ctx, &eye, 32, &[15, 16, 17, 16], &[-2.0 / 3.0, 0.0, 2.0 / 3.0], 1 << 17, 1).unwrap()[i])).sum()
            })
        });
    }
    ge.finish();
    drop(eye);

    // TDECQ's histogram evaluation (2 windows × 16 columns, 1024 bins a window): wall per
    // candidate one at a time, its dispatch alone on the device, and wall per candidate in full
    // batches (the pattern search's round trips).
    let rows = (n / 8).max(4096);
    let mut gt = c.benchmark_group("gpu_tdecq_evaluation");
    gt.throughput(Throughput::Elements((2 * rows) as u64));
    gt.sample_size(10);
    for part in ["one_candidate", "dispatch", "batched_per_candidate"] {
        let pick = |t: &bench::TdecqEvaluation| match part {
            "one_candidate" => t.wall_s,
            "dispatch" => t.device_s,
            _ => t.batched_s,
        };
        gt.bench_function(part, |b| b.iter_custom(|iters| (0..iters).map(|_| Duration::from_secs_f64(pick(&bench::tdecq_evaluation(ctx, rows, 16, 1).unwrap()))).sum()));
    }
    gt.finish();

    let mut g2 = c.benchmark_group("gpu_h2d_ring");
    g2.throughput(Throughput::Bytes((n * 4) as u64));
    g2.sample_size(10);
    let bytes = lightlane::gpu::bytes_of_f32(&x);
    g2.bench_function("staging_ring", |b| b.iter(|| bench::h2d(ctx, bytes, (16usize << 20).min(bytes.len())).unwrap()));
    let ffe = Ffe::new(taps.clone(), 1, 7).unwrap();
    let expected: Vec<u8> = (0..n).map(|_| rng.random_range(0..4u8)).collect();
    g2.throughput(Throughput::Elements(n as u64));
    g2.bench_function("fused_ffe_slice_count_eye", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| Duration::from_secs_f64(bench::fused_pass(ctx, &ffe, &x, &expected, &g, 1).unwrap())).sum())
    });
    g2.finish();

    let model = LinkModel::demo_pam4();
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 4 * 8191).unwrap();
    let cap = model.run(&symbols).unwrap();
    let cfg = AnalysisConfig::pam4(model.baud);
    let mut g3 = c.benchmark_group("capture_to_report");
    g3.sample_size(10);
    g3.bench_function("cpu", |b| b.iter(|| lightlane::analyze(&cap.waveform, &cfg, Backend::Cpu).unwrap()));
    g3.bench_function("gpu", |b| b.iter(|| lightlane::analyze(&cap.waveform, &cfg, Backend::Gpu).unwrap()));
    g3.finish();
    // From the capture file (LeCroy .trc) to the report, ffe+dfe chain with the eye stage.
    let file = std::env::temp_dir().join(format!("lightlane-gpu-criterion-{}.trc", std::process::id()));
    lightlane::io::lecroy::write(&file, std::slice::from_ref(&cap.waveform)).unwrap();
    let mut cfg_dfe = cfg.clone();
    cfg_dfe.equalizer = "ffe:15,dfe:1".parse().unwrap();
    let load = || lightlane::io::read_capture(&file, &Default::default()).unwrap();
    let mut g4 = c.benchmark_group("capture_file_to_report");
    g4.sample_size(10);
    g4.throughput(Throughput::Elements(cap.waveform.len() as u64));
    g4.bench_function("cpu", |b| b.iter(|| lightlane::analyze(&load(), &cfg_dfe, Backend::Cpu).unwrap()));
    g4.bench_function("gpu", |b| b.iter(|| lightlane::analyze(&load(), &cfg_dfe, Backend::Gpu).unwrap()));
    g4.finish();
    let _ = std::fs::remove_file(&file);
}

criterion_group!(benches, gpu);
criterion_main!(benches);
