//! GPU engine benchmark: prints ONE table of every kernel's rate against the issue-7 targets
//! (H200). Upload, compute and readback are timed apart (see `lightlane::gpu::bench`).
//!
//! Sizes: `LIGHTLANE_BENCH_SAMPLES` (default 2^26; use ~2^20 on lavapipe). Adapter:
//! `LIGHTLANE_GPU_ADAPTER` (substring of the name).

use lightlane::analysis::AnalysisConfig;
use lightlane::eq::Ffe;
use lightlane::fec::{ReedSolomon, RsCode};
use lightlane::gpu::{bench, EyeGeometry, GpuContext};
use lightlane::pattern::Pattern;
use lightlane::sim::LinkModel;
use lightlane::Modulation;
use rand::{Rng, SeedableRng};

fn row(
    kernel: &str,
    size: &str,
    up_gbs: Option<f64>,
    rate: String,
    rb_ms: Option<f64>,
    target: &str,
    ok: Option<bool>,
) {
    let f = |v: Option<f64>, p: usize| v.map(|x| format!("{x:.p$}")).unwrap_or_else(|| "-".into());
    let verdict = match ok {
        Some(true) => "MET",
        Some(false) => "below",
        None => "-",
    };
    println!(
        "| {kernel:<28} | {size:>10} | {:>9} | {rate:>16} | {:>9} | {target:<16} | {verdict:<5} |",
        f(up_gbs, 2),
        f(rb_ms, 3)
    );
}

/// A row of a phase-timed kernel run: upload rate of `up_bytes`, `rate` in `unit` (GSa/s,
/// Gb/s), readback time, against `target` (in `unit`) when the issue sets one.
fn timed_row(label: &str, size: &str, up_bytes: usize, t: &bench::PhaseTimes, rate: f64, unit: &str, target: Option<f64>) {
    row(
        label,
        size,
        Some(up_bytes as f64 / t.upload_s / 1e9),
        format!("{rate:.4} {unit}"),
        Some(t.readback_s * 1e3),
        &target.map_or_else(|| "-".to_string(), |v| format!(">= {v} {unit}")),
        target.map(|v| rate >= v),
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Named pool threads: the host work lines split the host's on-CPU time from the driver's.
    bench::name_pool_threads()?;
    let n: usize = std::env::var("LIGHTLANE_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1 << 26);
    let reps: usize = std::env::var("LIGHTLANE_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let ctx = GpuContext::shared()?;
    let a = ctx.adapter();
    println!(
        "adapter: {} ({}, {}, driver {}), timestamps: {}",
        a.name, a.backend, a.device_type, a.driver, a.timestamps
    );
    let clock = if bench::has_timestamps(ctx) {
        "GPU timestamp queries"
    } else {
        "host wall clock (no TIMESTAMP_QUERY)"
    };
    println!("samples per run: {n}, compute = mean of {reps} back-to-back dispatches, timed by {clock}\n");
    println!(
        "| {:<28} | {:>10} | {:>9} | {:>16} | {:>9} | {:<16} | {:<5} |",
        "kernel", "size", "H2D GB/s", "compute", "readback ms", "target (H200)", ""
    );
    println!("|{}|", ["-"; 7].map(|_| "---").join("|"));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let x: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();

    let taps: Vec<f32> = (0..15).map(|i| if i == 7 { 1.0 } else { 0.02 }).collect();
    let t = bench::fir(ctx, &x, &taps, reps)?;
    let r = n as f64 / t.compute_s / 1e9;
    timed_row("FFE 15 taps", &format!("{n}"), n * 4, &t, r, "GSa/s", Some(250.0));
    // TDECQ's reference receiver (BT4 at 0.5 x 53.125 GBd, 4.8 samples/UI: 257 taps).
    let bt = lightlane::eq::BesselThomsonFilter::reference(4.8 * 53.125e9, 53.125e9)?;
    let t = bench::reference_filter(ctx, &x, bt.taps(), bt.lead(), reps)?;
    let r = n as f64 / t.compute_s / 1e9;
    timed_row(&format!("BT4 reference {} taps", bt.taps().len()), &format!("{n}"), n * 4, &t, r, "GSa/s", None);
    let probe = &x[..x.len().min(4096)];
    let (fused, unfused) = bench::held_filter_rounding(ctx, probe, bt.taps(), bt.lead())?;
    let how = match (fused == probe.len(), unfused == probe.len()) {
        (true, _) => "fused: the CPU engine's bits",
        (_, true) => "multiply-then-add: within rounding of the CPU engine",
        _ => "MIXED: a kernel error",
    };
    println!("| WGSL fma in the BT4 reference filter ({} outputs): {fused} match the CPU's fused sum, {unfused} its multiply-then-add sum ({how}) |", probe.len());

    // Eye histograms over 2 UI from -1.5 to 1.5: the workgroup-private kernel (64 x 64), phase
    // tiles with 16 columns a sample interval, and the analysis's eye (32 samples/UI, m = 4).
    let eye_geom = |samples_per_ui: usize, bins: usize| EyeGeometry {
        samples_per_ui,
        span_ui: 2,
        time_bins: bins,
        amp_bins: bins,
        lo: -1.5,
        hi: 1.5,
    };
    let g = eye_geom(8, 64);
    for (label, geom) in [
        ("eye 64x64 (private)", g),
        ("eye 256x256 (phase tiles)", eye_geom(8, 256)),
        ("eye 256x256 32/UI (analysis)", eye_geom(32, 256)),
    ] {
        let t = bench::eye(ctx, &x, &geom, reps)?;
        let r = n as f64 / t.compute_s / 1e9;
        timed_row(label, &format!("{n}"), n * 4, &t, r, "GSa/s", Some(200.0));
    }
    // Beside them: each invocation counting runs of consecutive segments (each sample loaded
    // and quantized once; GpuContext::set_eye_runs), and the analysis's eye on a PAM4 eye
    // signal at 32 points/UI (levels and transitions, not uniform noise) under both.
    let pam4 = bench::pam4_eye(n, 32, 6);
    let variants = [
        ("eye 64x64 (private, runs)", g, &x, true),
        ("eye 256x256 (tiles, runs)", eye_geom(8, 256), &x, true),
        ("eye 256x256 32/UI (runs)", eye_geom(32, 256), &x, true),
        ("eye 32/UI, PAM4 eye", eye_geom(32, 256), &pam4, false),
        ("eye 32/UI, PAM4 eye (runs)", eye_geom(32, 256), &pam4, true),
    ];
    for (label, geom, y, runs) in variants {
        ctx.set_eye_runs(runs);
        let t = bench::eye(ctx, y, &geom, reps);
        ctx.set_eye_runs(false);
        let t = t?;
        let r = y.len() as f64 / t.compute_s / 1e9;
        timed_row(label, &format!("{}", y.len()), y.len() * 4, &t, r, "GSa/s", Some(200.0));
    }
    drop(pam4);

    let code = RsCode::Kp4;
    let words = (n / 4 / code.n()).max(2);
    let rs = ReedSolomon::new(code);
    let msg: Vec<u16> = (0..code.k())
        .map(|_| rng.random_range(0..1024u16))
        .collect();
    let cw = rs.encode_vec(&msg)?;
    let mut batch: Vec<u16> = Vec::with_capacity(words * code.n());
    for _ in 0..words {
        batch.extend_from_slice(&cw);
    }
    let t = bench::rs_syndromes(ctx, code, &batch, reps)?;
    let r = (words * code.n() * 10) as f64 / t.compute_s / 1e9;
    timed_row("KP4 syndromes", &format!("{words} cw"), batch.len() * 2, &t, r, "Gb/s", Some(100.0));

    // The front end's raw-code conversion (16-bit codes, as most scopes store them) and the
    // fused slicer + comparison + count alone (the fused pass below adds the FFE and the eye).
    let codes: Vec<i16> = x.iter().map(|&v| (v * 30_000.0) as i16).collect();
    let raw = lightlane::waveform::RawCodes::I16 { codes, gain: 1.0 / 30_000.0, offset: 0.0 };
    let (t, volts) = bench::convert(ctx, &raw, reps)?;
    let r = volts.len() as f64 / t.compute_s / 1e9;
    timed_row("raw codes -> volts (int16)", &format!("{}", volts.len()), volts.len() * 2, &t, r, "GSa/s", None);
    drop((raw, volts));
    let sym: Vec<u8> = (0..n).map(|_| rng.random_range(0..4u8)).collect();
    let (t, counted, _) = bench::slice_count(ctx, &x, &sym, 1024, reps)?;
    let r = counted as f64 / t.compute_s / 1e9;
    timed_row("slice + compare + count", &format!("{counted}"), counted * 5, &t, r, "GSa/s", None);
    drop(sym);

    let bytes: &[u8] = bytemuck_cast(&x);
    let chunk = (64usize << 20).min(bytes.len());
    let bw = bench::h2d(ctx, bytes, chunk)? / 1e9;
    row(
        "H2D staging ring",
        &format!("{} MiB", bytes.len() >> 20),
        Some(bw),
        format!("{bw:.3} GB/s"),
        None,
        ">= 20 GB/s",
        Some(bw >= 20.0),
    );

    // TDECQ's evaluation at the all-symbol refinement's size (4.2 M symbols x 2 offsets a
    // window, 15 FFE taps + the DFE column): the round trip per candidate and the kernel.
    let trows = (n / 8).max(1 << 16);
    let bench::TdecqEvaluation { wall_s: wall, device_s: device, lone_s: lone, parts_s: parts, batched_s: batched } = bench::tdecq_evaluation(ctx, trows, 16, reps)?;
    println!(
        "| TDECQ evaluation: wall {:.3} ms a candidate ({:.3} ms in batches of {}), kernel {:.3} ms back to back, {:.3} ms alone; parts submitted alone (wall ms): weights {:.3}, clear {:.3}, dispatch {:.3}, copy+map {:.3} |",
        wall * 1e3,
        batched * 1e3,
        lightlane::gpu::WEIGHTED_BATCH,
        device * 1e3,
        lone * 1e3,
        parts[0] * 1e3,
        parts[1] * 1e3,
        parts[2] * 1e3,
        parts[3] * 1e3
    );
    row(
        "TDECQ evaluation, 16 cols",
        &format!("2x{trows}"),
        None,
        format!("{:.3} Grow/s", 2.0 * trows as f64 / device / 1e9),
        Some(wall * 1e3),
        "- (readback: wall ms/eval)",
        None,
    );
    // Beside it (the kernel written for 16 columns, the default: weights in registers, the
    // row's sum in straight-line code), the loop over any column count
    // (GpuContext::set_weighted_unrolled).
    ctx.set_weighted_unrolled(false);
    let looped = bench::tdecq_evaluation(ctx, trows, 16, reps);
    ctx.set_weighted_unrolled(true);
    let bench::TdecqEvaluation { wall_s: wall, device_s: device, batched_s: batched, .. } = looped?;
    row(
        "TDECQ eval, 16 cols, loop",
        &format!("2x{trows}"),
        None,
        format!("{:.3} Grow/s", 2.0 * trows as f64 / device / 1e9),
        Some(wall * 1e3),
        &format!("- ({:.3} ms a candidate in batches)", batched * 1e3),
        None,
    );

    let [submit, readback, scopes] = bench::round_trips(ctx, 50)?;
    println!(
        "| round trip: empty submit+wait {:.3} ms, 8 KiB readback {:.3} ms, error scopes {:.3} ms |",
        submit * 1e3,
        readback * 1e3,
        scopes * 1e3
    );

    // Host -> device one-shot uploads: the engine's write_buffer beside a staging ring.
    let nup = (n * 4).min(256 << 20);
    let [wb, staged] = bench::upload_paths(ctx, nup, 3)?;
    for (label, bw) in [("H2D upload, write_buffer", wb), ("H2D upload, staged ring", staged)] {
        row(
            label,
            &format!("{} MiB", nup >> 20),
            Some(bw / 1e9),
            format!("{:.3} GB/s", bw / 1e9),
            None,
            "-",
            None,
        );
    }

    // Device -> host (the analysis reads back its 32/UI eye signals, ~0.9 GB): into a new
    // vector as the engine does, with huge pages advised, faulted on the pool first, and into
    // memory already faulted.
    let nd2h = n.min(1 << 26);
    let [plain, huge, pooled, faulted] = bench::d2h(ctx, nd2h, 3)?;
    for (label, bw) in [
        ("D2H into new Vec", plain),
        ("D2H new Vec, huge pages", huge),
        ("D2H new Vec, pool-faulted", pooled),
        ("D2H into faulted Vec", faulted),
    ] {
        row(
            label,
            &format!("{} MiB", (nd2h * 4) >> 20),
            None,
            format!("{:.3} GB/s", bw / 1e9),
            None,
            "-",
            None,
        );
    }

    let ffe = Ffe::new(taps.clone(), 1, 7)?;
    let expected: Vec<u8> = (0..n).map(|_| rng.random_range(0..4u8)).collect();
    for (label, runs) in [("fused FFE>slice>count>eye", false), ("fused, eye runs", true)] {
        ctx.set_eye_runs(runs);
        let s = bench::fused_pass(ctx, &ffe, &x, &expected, &g, reps);
        ctx.set_eye_runs(false);
        let r = n as f64 / s? / 1e9;
        row(label, &format!("{n}"), None, format!("{r:.4} GSa/s"), None, ">= 100 GSa/s", Some(r >= 100.0));
    }

    // The eye metrics' passes over a resident PAM4 eye at 32 points/UI (what the GPU engine
    // runs instead of reading the raw eye back): each a whole call, against the read-back.
    let eye_s = 32;
    let eye = bench::pam4_eye(n, eye_s, 5);
    let [scan, cols, cross, gather, read] = bench::eye_passes(ctx, &eye, eye_s, &[15, 16, 17, 16], &[-2.0 / 3.0, 0.0, 2.0 / 3.0], 1 << 17, reps.min(5))?;
    let passes = scan + cols + cross + gather;
    let ms = |s: f64| format!("{:.2}", s * 1e3);
    println!(
        "| eye passes on kept points, ms per call: scan {}, columns {}, crossings {}, gather {}; read-back of the whole eye {} |",
        ms(scan),
        ms(cols),
        ms(cross),
        ms(gather),
        ms(read)
    );
    row(
        "eye passes (kept, 32/UI)",
        &format!("{}", eye.len()),
        None,
        format!("{:.4} GSa/s", eye.len() as f64 / passes / 1e9),
        Some(read * 1e3),
        &format!("- (vs read-back: {:.2}x)", read / passes),
        None,
    );
    drop(eye);

    // Resampler (Keys cubic, 2 points/UI at 4.8 samples/UI) and the block-parallel detectors
    // (no issue-7 targets: rates for the record; detectors timed per whole call).
    let rgrid = lightlane::timing::ResampleGrid {
        samples_per_ui: 4.8,
        phase_ui: 0.3,
        sps_out: 2,
    };
    let (t, nout) = bench::resample(ctx, &x, &rgrid, reps)?;
    let r = nout as f64 / t.compute_s / 1e9;
    timed_row("resample cubic 4.8->2 /UI", &format!("{n}"), n * 4, &t, r, "GSa/s", None);
    let nd = (n / 4).clamp(1 << 16, 1 << 24);
    let y: Vec<f32> = (0..nd).map(|_| rng.random::<f32>() * 3.0 - 1.5).collect();
    let detector_row = |label: &str, s: f64| {
        row(
            label,
            &format!("{nd}"),
            None,
            format!("{:.4} GSym/s", nd as f64 / s / 1e9),
            None,
            "- (whole call)",
            None,
        )
    };
    for (states, target) in [(4, &[1.0f32, 0.5][..]), (16, &[1.0, 0.4, 0.2])] {
        let mlse = lightlane::eq::Mlse::new(Modulation::Pam4, target, &Modulation::Pam4.level_set())?;
        let s = bench::mlse_blocks(ctx, &mlse, &y, lightlane::gpu::GPU_MLSE_BLOCK, 256, reps.min(3))?;
        detector_row(&format!("MLSE PAM4 {states}-state blocks"), s);
    }
    for nt in [3usize, 32] {
        let dfe = lightlane::eq::Dfe::new(
            (0..nt).map(|i| 0.1 / (1 + i) as f32).collect(),
            Modulation::Pam4.level_set(),
            Modulation::Pam4,
        )?;
        let s = bench::dfe_blocks(ctx, &dfe, &y, lightlane::gpu::GPU_DFE_BLOCK, 256, reps.min(3))?;
        detector_row(&format!("DFE PAM4 {nt} taps blocks"), s);
    }

    // End to end: a PAM4 capture file (LeCroy .trc) -> report, CPU engine vs GPU engine on
    // this machine, same run (load + analysis each; the GPU engine runs FFE, slicer/counts,
    // the DFE and the eye histogram on the device).
    let model = LinkModel::demo_pam4();
    let nsym = (n / 8).clamp(2 * 8191, 1 << 22);
    let symbols = Pattern::parse("prbs13q")?.generate(Modulation::Pam4, nsym)?;
    let cap = model.run(&symbols)?;
    let file = std::env::temp_dir().join(format!("lightlane-gpu-bench-{}.trc", std::process::id()));
    lightlane::io::lecroy::write(&file, std::slice::from_ref(&cap.waveform))?;
    let mut cfg = AnalysisConfig::pam4(model.baud);
    cfg.equalizer = "ffe:15,dfe:1".parse()?;
    let load = || {
        lightlane::io::read_capture(&file, &Default::default()).map_err(|e| {
            lightlane::Error::Unusable {
                stage: "read capture",
                reason: e.to_string(),
            }
        })
    };
    // Under each TDECQ policy (the default races the CPU on the large windows, in batches of
    // candidates on a GPU; then the same one candidate a round trip; then every window on the
    // device), each with the capture stage by stage (read back from the file: its int16 codes are the data the end-to-end run
    // analyses, and TDECQ's search depends on the data).
    use lightlane::gpu::TdecqPlacement;
    // (placement, candidates a TDECQ batch may hold: None by the adapter, 1 unbatched)
    // (the last: the default placement with the eye's run kernels, on the whole analysis)
    let policies = [
        ("end-to-end file->report", TdecqPlacement::Raced, None, false),
        ("e2e, TDECQ unbatched", TdecqPlacement::Raced, Some(1), false),
        ("e2e, all TDECQ on device", TdecqPlacement::Device, None, false),
        ("e2e, eye runs", TdecqPlacement::Raced, None, true),
    ];
    let mut runs = Vec::new();
    for (label, placement, batch, variants) in policies {
        ctx.set_tdecq_placement(placement);
        ctx.set_tdecq_batch(batch);
        ctx.set_eye_runs(variants);
        let e = bench::end_to_end(ctx, &load, &cfg, reps.min(3));
        let staged = load().and_then(|wf| bench::stages(ctx, &wf, &cfg, reps.min(3)));
        // The default policy's analysis as it runs: when each stage ends on either engine.
        let timeline = (placement == TdecqPlacement::Raced && batch.is_none() && !variants).then(|| load().and_then(|wf| bench::timeline(ctx, &wf, &cfg)));
        runs.push((label, (placement, ctx.tdecq_batch()), e, staged, timeline));
    }
    ctx.set_tdecq_placement(TdecqPlacement::default());
    ctx.set_tdecq_batch(None);
    ctx.set_eye_runs(false);
    let _ = std::fs::remove_file(&file);
    let mut tables = String::new();
    for (label, placement, e, staged, timeline) in runs {
        let (e, staged) = (e?, staged?);
        let speedup = e.cpu_s / e.gpu_s;
        row(
            label,
            &format!("{}", e.samples),
            None,
            format!("{speedup:.2}x CPU"),
            None,
            ">= 5x CPU",
            Some(speedup >= 5.0 && e.agree),
        );
        tables.push_str(&format!(
            "\n{label} (ffe:15,dfe:1, eye on; TDECQ placement {:?}, batches of up to {}): CPU {:.3} s, GPU {:.3} s per capture (load {:.3} s), {nsym} symbols, reports agree: {}\nthe capture stage by stage (mean of {}):\n{}",
            placement.0,
            placement.1,
            e.cpu_s,
            e.gpu_s,
            e.load_s,
            e.agree,
            reps.min(3),
            bench::stages_table(&staged)
        ));
        tables.push_str(&bench::ledger_table(&e.ledger, reps.min(3)));
        if let Some(t) = timeline {
            tables.push_str(&format!("\n{label}, the analysis as it runs (one run each; the eye beside equalization, the jitter beside the eye):\n{}", bench::timeline_table(&t?)));
        }
    }
    print!("{tables}");
    println!("CPU engine threads: {} (rayon)", rayon_threads());
    Ok(())
}

fn bytemuck_cast(x: &[f32]) -> &[u8] {
    lightlane::gpu::bytes_of_f32(x)
}

fn rayon_threads() -> usize {
    rayon::current_num_threads()
}
