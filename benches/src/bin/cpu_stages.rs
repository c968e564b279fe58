//! Per-stage timings of the CPU engine's analysis pipeline (its stage marks) on the end-to-end
//! bench's capture (demo PAM4 link, PRBS13Q, `ffe:15,dfe:1`, eye and TDECQ on): per stage the
//! wall seconds, the process's on-CPU seconds (all threads) and the calling thread's on-CPU
//! seconds. The analysis runs on this (main) thread with the global rayon pool: the main thread
//! is not a pool thread and sleeps while the pool runs a parallel part, so its time is the
//! stage's serial host work, what bounds the stage on many cores and what the GPU engine
//! (which runs the same host code) keeps. The CPU half of `lightlane-gpu`'s `gpu_stages`
//! example, without a GPU.
//!
//! Usage: `cpu_stages [--samples N] [--repeats R] [--threads T] [--file]` (default 2^24
//! samples, 3 repeats, the machine's cores); prints the median of each stage over the repeats.
//! With `--file` the capture is written once as a LeCroy `.trc` (i16 codes, as a scope saves
//! it) and every repeat starts by reading it: the "read capture" stage, as in `gpu_bench`'s
//! end-to-end file-to-report case.

use lightlane::analysis::{analyze_using, AnalysisConfig, AnalysisHooks};
use lightlane::pattern::Pattern;
use lightlane::sim::LinkModel;
use lightlane::{Backend, Modulation};
use lightlane_benches::harness::{process_cpu_seconds, thread_cpu_seconds, Args};
use std::sync::Mutex;
use std::time::Instant;

/// Wall, process on-CPU and calling-thread on-CPU seconds.
type Clocks = [f64; 3];

fn now() -> Clocks {
    [0.0, process_cpu_seconds().unwrap_or(0.0), thread_cpu_seconds().unwrap_or(0.0)]
}

fn main() {
    let args = Args::parse("cpu_stages", "[--samples N] [--repeats R] [--threads T] [--file]", &["--samples", "--repeats", "--threads"], &["--file"]);
    let n: usize = args.get("--samples", 1 << 24);
    let repeats: usize = args.get("--repeats", 3usize).max(1);
    let threads: usize = args.get("--threads", 0usize);
    if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global() {
        args.fail(&e.to_string());
    }
    let model = LinkModel::demo_pam4();
    let nsym = ((n as f64 * model.baud / model.fs) as usize).clamp(2 * 8191, 1 << 23);
    let symbols = Pattern::parse("prbs13q").and_then(|p| p.generate(Modulation::Pam4, nsym)).unwrap_or_else(|e| args.fail(&e.to_string()));
    let cap = model.run(&symbols).unwrap_or_else(|e| args.fail(&e.to_string()));
    let file = args.flag("--file").then(|| std::env::temp_dir().join(format!("lightlane-cpu-stages-{}.trc", std::process::id())));
    if let Some(f) = &file {
        lightlane::io::lecroy::write(f, std::slice::from_ref(&cap.waveform)).unwrap_or_else(|e| args.fail(&e.to_string()));
    }
    let mut cfg = AnalysisConfig::pam4(model.baud);
    cfg.equalizer = "ffe:15,dfe:1".parse().unwrap_or_else(|e: lightlane::Error| args.fail(&e.to_string()));
    // Per stage, per repeat: the clocks' differences since the previous mark.
    let rows: Mutex<Vec<(&'static str, Vec<Clocks>)>> = Mutex::new(Vec::new());
    for r in 0..repeats {
        let start = Instant::now();
        let last = Mutex::new(now());
        let mark = |stage: &'static str| {
            let mut c = now();
            c[0] = start.elapsed().as_secs_f64();
            let mut l = last.lock().unwrap_or_else(|p| p.into_inner());
            let d = [c[0] - l[0], c[1] - l[1], c[2] - l[2]];
            *l = c;
            let mut rows = rows.lock().unwrap_or_else(|p| p.into_inner());
            match rows.iter_mut().find(|(s, _)| *s == stage) {
                Some((_, v)) => v.push(d),
                None => rows.push((stage, vec![d])),
            }
        };
        let loaded;
        let waveform = match &file {
            Some(f) => {
                loaded = lightlane::io::read_capture(f, &Default::default()).unwrap_or_else(|e| args.fail(&e.to_string()));
                mark("read capture");
                &loaded
            }
            None => &cap.waveform,
        };
        match analyze_using(waveform, &cfg, Backend::Cpu, &AnalysisHooks { accel: None, mark: Some(&mark), serial: true }) {
            Ok(rep) => eprintln!("repeat {r}: {:.3} s, {} symbols, BER {:.3e}", start.elapsed().as_secs_f64(), rep.symbols, rep.ber),
            Err(e) => args.fail(&e.to_string()),
        }
    }
    if let Some(f) = &file {
        let _ = std::fs::remove_file(f);
    }
    println!("CPU engine stages, {} samples ({nsym} symbols), {} threads, median of {repeats}", cap.waveform.len(), rayon::current_num_threads());
    println!("| {:<28} | {:>8} | {:>10} | {:>8} | {:>10} |", "stage", "wall s", "on-CPU s", "cores", "serial s");
    println!("|---|---|---|---|---|");
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut total = [0.0; 3];
    for (stage, v) in rows.into_inner().unwrap_or_else(|p| p.into_inner()) {
        let m: Clocks = std::array::from_fn(|i| med(v.iter().map(|d| d[i]).collect()));
        (0..3).for_each(|i| total[i] += m[i]);
        println!("| {stage:<28} | {:>8.4} | {:>10.4} | {:>8.2} | {:>10.4} |", m[0], m[1], m[1] / m[0].max(1e-9), m[2]);
    }
    println!("| {:<28} | {:>8.4} | {:>10.4} | {:>8.2} | {:>10.4} |", "sum of stages", total[0], total[1], total[1] / total[0].max(1e-9), total[2]);
}
