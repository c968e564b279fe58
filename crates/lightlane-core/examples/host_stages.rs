//! Wall and on-CPU time of the host stages "eye metrics" and "jitter" (and the rest of the CPU
//! pipeline) on the end-to-end bench's capture: the demo PAM4 link, PRBS13Q, `ffe:15,dfe:1`, eye
//! and TDECQ on (as `crates/lightlane-gpu/examples/gpu_stages.rs`, CPU engine only, so it needs
//! neither a GPU nor the wgpu build).
//!
//! ```text
//! LIGHTLANE_BENCH_SAMPLES=16777216 LIGHTLANE_BENCH_REPS=1 \
//!   cargo run --release -p lightlane-core --example host_stages [pipeline|direct]
//! ```
//! `pipeline` (default): every stage mark of `analyze_using`, mean of the repetitions after one
//! untimed run. `direct`: only `eye_metrics` and `analyze_jitter` on the raw eye / recovered
//! clock of the capture, each timed `REPS` times, and a digest of their results (the same digest
//! before and after a change means the same results; `LIGHTLANE_DUMP_DIR=dir` also writes
//! their Debug text there). On-CPU time is the sum over the process's
//! threads of `/proc/self/task/*/schedstat` (Linux; `-` elsewhere). Threads: `RAYON_NUM_THREADS`.

use lightlane_core::analysis::{analyze_using, AnalysisConfig, AnalysisHooks};
use lightlane_core::eye::{eye_metrics, eye_signal_from_waveform, EyeConfig, EyeDiagram, EyeMetricsConfig};
use lightlane_core::jitter::{analyze_jitter, JitterConfig};
use lightlane_core::pattern::Pattern;
use lightlane_core::sim::LinkModel;
use lightlane_core::timing::{recover_clock, CdrConfig};
use lightlane_core::modulation::Slicer;
use lightlane_core::{Backend, Modulation};
use std::cell::RefCell;
use std::time::Instant;

/// On-CPU seconds of the whole process (all threads).
fn process_cpu_s() -> Option<f64> {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let s = std::fs::read_to_string(entry.ok()?.path().join("schedstat")).ok()?;
        total += s.split_whitespace().next()?.parse::<f64>().ok()? * 1e-9;
    }
    Some(total)
}

fn now() -> (Instant, Option<f64>) {
    (Instant::now(), process_cpu_s())
}

fn since(a: (Instant, Option<f64>)) -> (f64, Option<f64>) {
    let b = now();
    (b.0.duration_since(a.0).as_secs_f64(), a.1.zip(b.1).map(|(x, y)| y - x))
}

fn fmt_cpu(c: Option<f64>) -> String {
    c.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into())
}

/// FNV-1a over the Debug text: equal digests, equal results (bit for bit, as Debug prints f64
/// exactly enough to round-trip).
fn digest(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("LIGHTLANE_BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(1 << 24);
    let reps: usize = std::env::var("LIGHTLANE_BENCH_REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).clamp(1, 20);
    let mode = std::env::args().nth(1).unwrap_or_else(|| "pipeline".into());
    let model = LinkModel::demo_pam4();
    let nsym = ((n as f64 * model.baud / model.fs) as usize).clamp(2 * 8191, 1 << 23);
    let symbols = Pattern::parse("prbs13q")?.generate(Modulation::Pam4, nsym)?;
    let cap = model.run(&symbols)?;
    println!(
        "{} samples ({nsym} symbols), {} rayon threads, mode {mode}, {reps} reps",
        cap.waveform.len(),
        rayon::current_num_threads()
    );
    match mode.as_str() {
        "pipeline" => {
            let mut cfg = AnalysisConfig::pam4(model.baud);
            cfg.equalizer = "ffe:15,dfe:1".parse()?;
            let mut sums: Vec<(&'static str, f64, Option<f64>)> = Vec::new();
            for rep in 0..=reps {
                let rows = RefCell::new(Vec::new());
                let last = RefCell::new(now());
                let mark = |stage: &'static str| {
                    let (w, c) = since(*last.borrow());
                    *last.borrow_mut() = now();
                    rows.borrow_mut().push((stage, w, c));
                };
                let start = now();
                analyze_using(&cap.waveform, &cfg, Backend::Cpu, &AnalysisHooks { accel: None, mark: Some(&mark) })?;
                let (w, c) = since(start);
                let mut rows = rows.into_inner();
                rows.push(("whole analysis", w, c));
                if rep == 0 {
                    continue; // untimed warm-up
                }
                for (stage, w, c) in rows {
                    match sums.iter_mut().find(|r| r.0 == stage) {
                        Some(r) => {
                            r.1 += w;
                            r.2 = r.2.zip(c).map(|(a, b)| a + b);
                        }
                        None => sums.push((stage, w, c)),
                    }
                }
            }
            println!("| {:<28} | {:>10} | {:>10} |", "stage", "wall s", "on-CPU s");
            for (stage, w, c) in sums {
                println!("| {:<28} | {:>10.4} | {:>10} |", stage, w / reps as f64, fmt_cpu(c.map(|c| c / reps as f64)));
            }
        }
        "direct" => {
            let m = Modulation::Pam4;
            let ec = EyeConfig::default();
            let sig = eye_signal_from_waveform(&cap.waveform, model.baud, m, ec.samples_per_ui, &CdrConfig::default())?;
            let eye = EyeDiagram::build(&sig, m, &ec)?;
            let mc = EyeMetricsConfig::default();
            let mut text = String::new();
            for _ in 0..reps {
                let t = now();
                let r = eye_metrics(&sig, &eye, &mc)?;
                let (w, c) = since(t);
                println!("eye metrics: wall {w:.4} s, on-CPU {} s ({} eye samples)", fmt_cpu(c), sig.samples.len());
                text = format!("{r:?}");
            }
            println!("eye metrics digest {:016x}", digest(&text));
            if let Some(dir) = std::env::var_os("LIGHTLANE_DUMP_DIR") {
                std::fs::write(std::path::Path::new(&dir).join("eye_metrics.txt"), &text)?;
            }
            let clock = recover_clock(&cap.waveform.samples, cap.waveform.fs(), model.baud, m, &CdrConfig::default())?;
            let slicer = Slicer::for_levels(&eye.levels.iter().map(|&v| v as f32).collect::<Vec<_>>())?;
            let decided = slicer.slice_vec(&clock.resample(&cap.waveform.samples, 1));
            for _ in 0..reps {
                let t = now();
                let r = analyze_jitter(&clock, &decided, m, &JitterConfig::default())?;
                let (w, c) = since(t);
                println!("jitter: wall {w:.4} s, on-CPU {} s ({} edges)", fmt_cpu(c), r.edges.used);
                text = format!("{r:?}");
            }
            println!("jitter digest {:016x}", digest(&text));
            if let Some(dir) = std::env::var_os("LIGHTLANE_DUMP_DIR") {
                std::fs::write(std::path::Path::new(&dir).join("jitter.txt"), &text)?;
            }
        }
        other => return Err(format!("unknown mode {other} (pipeline | direct)").into()),
    }
    Ok(())
}
