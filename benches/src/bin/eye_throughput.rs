//! Eye-histogram and TDECQ timings, one JSON line per case, for `benches/compare_numpy_hist.py`.
//!
//! Usage: `eye_throughput [--symbols N] [--repeats R] [--samples-per-ui S] [--write-dir DIR] [--skip-tdecq]`.
//! Signal: N seeded PAM4 symbols through `1 + 0.3·D` plus Gaussian noise (σ 0.05), resampled
//! to S samples/UI (Keys cubic; default 32). Geometry: 2 UI, 256 × 256 bins, so
//! `m = 256 / (2·S)` interpolated columns per sample interval (S = 32: 4, interpolating;
//! S = 128: 1, each sample counted once, no interpolation), auto range. Cases:
//! - `fast-1t`: [`EyeHistogram::accumulate_single_thread`] (one core);
//! - `naive-1t`: the spec's literal loops (the reference);
//! - `fast-mt`: [`EyeHistogram::accumulate`] on all cores;
//! - `tdecq-1M`: [`tdecq_waveform`] (BT4 + reference CDR + resampling + optimized TDECQ) of a
//!   1 048 576-sample PAM4 capture at 4 samples/UI on rayon pools of 1 and 2 threads (`seconds`
//!   best wall, `cpu_seconds` process on-CPU time, all threads), and `tdecq-core` the TDECQ step
//!   alone on a 1-thread pool.
//! - `analyze-demo` / `analyze-demo-no-eye`: `analyze` (CPU backend) of the demo capture
//!   `testdata/demo_pam4.bin` with and without the eye stage (`--analyze-only` runs just these);
//!   `cpu_seconds` is the process's on-CPU time (all threads), `msa_per_cpu_s` the rate.
//!
//! Times: `seconds` is the best of R wall-clock runs; `cpu_seconds` the mean on-CPU time of the
//! calling thread (Linux schedstat) over the R runs, the meaningful figure on a shared machine;
//! `samples_per_s` uses the CPU time where available (single-thread cases), wall time otherwise.
//! `--write-dir DIR` writes `y.f32` (the signal) and `counts.u32` (the histogram) and
//! `geometry.json` so the script can run numpy.histogram2d on the same data and compare.

use lightlane::eye::{tdecq, tdecq_waveform, EyeGeometry, EyeHistogram, EyeSignal, TdecqConfig};
use lightlane::sim::LinkModel;
use lightlane::timing::{resample_at, CdrConfig};
use lightlane::Modulation;
use lightlane_benches::eq_data::isi_link;
use lightlane_benches::harness::{time_process, time_thread, write_f32, Args};

fn main() {
    let args = Args::parse(
        "eye_throughput",
        "[--symbols N] [--repeats R] [--samples-per-ui S] [--write-dir DIR] [--skip-tdecq] [--analyze-only]",
        &["--symbols", "--repeats", "--samples-per-ui", "--write-dir"],
        &["--skip-tdecq", "--analyze-only"],
    );
    let symbols: usize = args.get("--symbols", 1 << 17);
    let repeats: usize = args.get("--repeats", 7);
    let s: usize = args.get("--samples-per-ui", 32);
    let write_dir = args.string("--write-dir").map(std::path::PathBuf::from);
    let skip_tdecq = args.flag("--skip-tdecq");
    let analyze_only = args.flag("--analyze-only");
    if symbols < 16 || repeats == 0 || s < 2 {
        args.fail("--symbols ≥ 16, --repeats ≥ 1, --samples-per-ui ≥ 2");
    }
    if analyze_only {
        analyze_demo(repeats);
        return;
    }
    let (_, y1) = isi_link(Modulation::Pam4, symbols, &[1.0, 0.3], 0.05, 7);
    let positions: Vec<f64> = (0..y1.len()).map(|k| k as f64).collect();
    let y = resample_at(&y1, &positions, s);
    let (mn, mx) = y.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let pad = 0.05 * (mx - mn);
    let g = EyeGeometry { samples_per_ui: s, span_ui: 2, time_bins: 256, amp_bins: 256, lo: mn - pad, hi: mx + pad };
    let n = y.len();
    let report = |engine: &str, (wall, cpu): (f64, Option<f64>)| {
        let secs = cpu.unwrap_or(wall);
        println!(
            "{{\"engine\": \"{engine}\", \"samples\": {n}, \"samples_per_ui\": {s}, \"columns_per_sample\": {}, \"seconds\": {wall:.6e}, \"cpu_seconds\": {}, \"samples_per_s\": {:.6e}, \"points_per_s\": {:.6e}}}",
            g.columns_per_sample(),
            cpu.map_or("null".to_string(), |c| format!("{c:.6e}")),
            (n - 1) as f64 / secs,
            ((n - 1) * g.columns_per_sample()) as f64 / secs
        );
    };
    let mut h = EyeHistogram::new(g).unwrap();
    let t = best_wall_and_cpu(repeats, || {
        h = EyeHistogram::new(g).unwrap();
        h.accumulate_single_thread(&y);
    });
    report("fast-1t", t);
    let mut naive = EyeHistogram::new(g).unwrap();
    let t = best_wall_and_cpu(repeats.min(3), || {
        naive = EyeHistogram::new(g).unwrap();
        naive.accumulate_naive(&y);
    });
    assert_eq!(naive.counts(), h.counts(), "fast path differs from the reference");
    report("naive-1t", t);
    let t = best_wall_and_cpu(repeats, || {
        let mut m = EyeHistogram::new(g).unwrap();
        m.accumulate(&y).unwrap();
    });
    report("fast-mt", (t.0, None));
    if let Some(dir) = &write_dir {
        std::fs::create_dir_all(dir).unwrap();
        write_f32("eye_throughput", &dir.join("y.f32"), &y);
        let cb: Vec<u8> = h.counts().iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join("counts.u32"), cb).unwrap();
        std::fs::write(
            dir.join("geometry.json"),
            format!(
                "{{\"samples_per_ui\": {}, \"span_ui\": {}, \"time_bins\": {}, \"amp_bins\": {}, \"lo\": {:.9e}, \"hi\": {:.9e}}}",
                g.samples_per_ui, g.span_ui, g.time_bins, g.amp_bins, g.lo, g.hi
            ),
        )
        .unwrap();
    }
    if skip_tdecq {
        return;
    }
    // TDECQ of a 1M-sample PAM4 capture at 4 samples/UI.
    let baud = 26.5625e9;
    let model = LinkModel::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    let nsym = (1usize << 20) / 4;
    let mut st = 12345u64;
    let syms: Vec<u8> = (0..nsym)
        .map(|_| {
            st = st.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (st >> 62) as u8
        })
        .collect();
    let wf = model.run(&syms).unwrap().waveform;
    let cfg = TdecqConfig::default();
    // On rayon pools of 1 and 2 threads: best wall time and mean process on-CPU time (all
    // threads); with 1 thread the on-CPU time is the single-thread cost.
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut result = None;
        let (wall, cpu) = pool.install(|| {
            best_wall_and_process_cpu(repeats.min(3), || {
                result = Some(tdecq_waveform(&wf, baud, &CdrConfig::default(), &cfg).unwrap());
            })
        });
        let r = result.unwrap();
        println!(
            "{{\"engine\": \"tdecq-1M\", \"threads\": {threads}, \"samples\": {}, \"seconds\": {wall:.6e}, \"cpu_seconds\": {:.6e}, \"tdecq_db\": {:.4}, \"evaluations\": {}}}",
            wf.samples.len(),
            cpu.unwrap_or(f64::NAN),
            r.tdecq_db,
            r.evaluations
        );
    }
    let filtered = lightlane::eq::bessel_thomson_filter(&wf.samples, wf.fs(), 0.5 * baud, 4).unwrap();
    let pos: Vec<f64> = (0..nsym - 2).map(|k| 4.0 * k as f64 + 2.0).collect();
    let sig = EyeSignal::from_centred(&resample_at(&filtered, &pos, 32), 32).unwrap();
    // On a 1-thread pool: the TDECQ step's single-thread on-CPU time (process, all threads).
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let (wall, t) = pool.install(|| {
        best_wall_and_process_cpu(repeats.min(3), || {
            tdecq(&sig, None, &cfg).unwrap();
        })
    });
    let t = t.unwrap_or(f64::NAN);
    println!("{{\"engine\": \"tdecq-core\", \"threads\": 1, \"samples\": {}, \"seconds\": {wall:.6e}, \"cpu_seconds\": {t:.6e}}}", sig.samples.len());
    analyze_demo(repeats.min(3));
}

/// `analyze` of the demo capture with and without the eye stage, process on-CPU time.
fn analyze_demo(repeats: usize) {
    use lightlane::analysis::{analyze, AnalysisConfig};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/demo_pam4.bin");
    let wf = lightlane::io::read_capture(&path, &lightlane::io::ReadOptions::default()).expect("reads the demo capture");
    let with_eye = AnalysisConfig::pam4(53.125e9);
    let no_eye = AnalysisConfig { eye: None, ..with_eye.clone() };
    for (name, cfg) in [("analyze-demo", &with_eye), ("analyze-demo-no-eye", &no_eye)] {
        let mut report = None;
        let (wall, cpu) = best_wall_and_process_cpu(repeats, || {
            report = Some(analyze(&wf, cfg, lightlane::Backend::Cpu).expect("analyzes"));
        });
        let cpu = cpu.unwrap_or(wall);
        let tdecq = report.as_ref().and_then(|r| r.eye.as_ref()).and_then(|e| e.tdecq_db);
        println!(
            "{{\"engine\": \"{name}\", \"samples\": {}, \"seconds\": {wall:.6e}, \"cpu_seconds\": {cpu:.6e}, \"msa_per_cpu_s\": {:.4}, \"tdecq_db\": {}}}",
            wf.samples.len(),
            wf.samples.len() as f64 / cpu / 1e6,
            tdecq.map_or("null".into(), |v| format!("{v:.4}"))
        );
    }
}

/// Best wall time and mean process on-CPU time over `repeats` calls of `f` (after a warm-up).
fn best_wall_and_process_cpu(repeats: usize, f: impl FnMut()) -> (f64, Option<f64>) {
    let t = time_process(repeats, f);
    (t.wall, t.cpu_mean)
}

/// Best wall time and mean on-CPU time of the calling thread over `repeats` calls of `f`
/// (after one warm-up call).
fn best_wall_and_cpu(repeats: usize, f: impl FnMut()) -> (f64, Option<f64>) {
    let t = time_thread(repeats, f);
    (t.wall, t.cpu_mean)
}
