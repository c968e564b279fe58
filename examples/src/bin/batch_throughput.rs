//! Throughput of `lightlane analyze DIR --out OUT`: files/s on 1 and 2 worker threads, and
//! end-to-end capture samples/s against the stage rates measured in-process (read, analyze).
//!
//! `cargo build --release -p lightlane-cli && cargo run --release -p lightlane-examples --bin batch_throughput [COPIES]`
//!
//! Generates the demo campaign (without its corrupt file) `COPIES` times (default 4) in a
//! temporary folder (`LIGHTLANE_BIN` overrides the CLI path). Reports wall time and the CPU time of the child process (from
//! /proc/self/stat cutime+cstime, Linux), since a shared machine makes wall time noisy.

use lightlane::analysis::{analyze, AnalysisConfig};
use lightlane::{Backend, Modulation};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn children_cpu_s() -> f64 {
    // Fields 16 and 17 (1-based) of /proc/self/stat: cutime, cstime in clock ticks (100 Hz).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // `after` starts at field 3 (state), so field n is index n - 3.
    (tick(13) + tick(14)) / 100.0
}

/// CPU time of the calling thread, s (/proc/thread-self/stat utime+stime, 100 Hz ticks).
fn thread_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn config_for(wf: &lightlane::Waveform) -> AnalysisConfig {
    let m: Modulation = wf.meta.extra.get("modulation").and_then(|m| m.parse().ok()).unwrap_or(Modulation::Pam4);
    let mut c = match m {
        Modulation::Pam4 => AnalysisConfig::pam4(0.0),
        Modulation::Nrz => AnalysisConfig::nrz(0.0),
    };
    c.baud = wf.meta.extra.get("baud").and_then(|b| b.parse().ok());
    if let Some(p) = wf.meta.extra.get("pattern") {
        c.pattern = p.clone();
    }
    c
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let copies: usize = std::env::args().nth(1).map(|v| v.parse()).transpose()?.unwrap_or(4);
    let root = std::env::temp_dir().join(format!("lightlane-throughput-{}", std::process::id()));
    let dir = root.join("captures");
    let _ = std::fs::remove_dir_all(&root);
    for c in 0..copies {
        let sub = dir.join(format!("run{c}"));
        lightlane_examples::write_campaign(&sub)?;
        std::fs::remove_file(sub.join("lane5_corrupt.bin"))?;
    }
    let bin = std::env::var_os("LIGHTLANE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/lightlane"));
    if !bin.is_file() {
        return Err(format!("build the CLI first: cargo build --release -p lightlane-cli ({} missing)", bin.display()).into());
    }

    // Stage rates, in process, one thread.
    let mut files: Vec<PathBuf> = Vec::new();
    for c in 0..copies {
        for e in std::fs::read_dir(dir.join(format!("run{c}")))? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x != "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let (mut samples, mut t_read, mut t_analyze) = (0usize, 0f64, 0f64);
    let mut cpu_stages = 0f64;
    pool.install(|| -> Result<(), String> {
        let cpu0 = thread_cpu_s();
        for f in &files {
            let t = Instant::now();
            let wf = lightlane::io::read_capture(f, &Default::default()).map_err(|e| e.to_string())?;
            t_read += t.elapsed().as_secs_f64();
            let t = Instant::now();
            analyze(&wf, &config_for(&wf), Backend::Auto).map_err(|e| e.to_string())?;
            t_analyze += t.elapsed().as_secs_f64();
            samples += wf.len();
        }
        cpu_stages = thread_cpu_s() - cpu0;
        Ok(())
    })?;
    let read_rate = samples as f64 / t_read;
    let analyze_rate = samples as f64 / t_analyze;
    let combined_wall = 1.0 / (1.0 / read_rate + 1.0 / analyze_rate);
    let combined = samples as f64 / cpu_stages.max(1e-9);
    println!("{} captures, {} samples in total", files.len(), samples);
    println!(
        "stage rates (in process, 1 thread, wall): read {:.1} MSa/s, analyze {:.2} MSa/s → stages together {:.2} MSa/s; thread CPU time {:.2} s → {:.2} MSa/s per CPU-s",
        read_rate / 1e6,
        analyze_rate / 1e6,
        combined_wall / 1e6,
        cpu_stages,
        combined / 1e6
    );

    println!("| threads | wall s | speed-up | child CPU s | files/s (wall) | MSa/s (wall) | MSa/s per CPU-s | vs stages (CPU) |");
    println!("|---|---|---|---|---|---|---|---|");
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let mut counts = vec![1usize, 2];
    counts.extend([4usize, 8, 16].into_iter().filter(|&n| n <= cores));
    let mut first_wall = 0.0;
    for &jobs in &counts {
        let out = root.join(format!("out{jobs}"));
        let cpu0 = children_cpu_s();
        let t = Instant::now();
        let o = Command::new(&bin)
            .args(["analyze", dir.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", &jobs.to_string()])
            .env("RAYON_NUM_THREADS", jobs.to_string())
            .output()?;
        let wall = t.elapsed().as_secs_f64();
        let cpu = children_cpu_s() - cpu0;
        if !o.status.success() {
            return Err(format!("analyze failed: {}", String::from_utf8_lossy(&o.stderr)).into());
        }
        let rate_cpu = samples as f64 / cpu.max(1e-9);
        if jobs == 1 {
            first_wall = wall;
        }
        println!(
            "| {jobs} | {wall:.2} | {:.2}× | {cpu:.2} | {:.2} | {:.2} | {:.2} | {:.0} % |",
            first_wall / wall,
            files.len() as f64 / wall,
            samples as f64 / wall / 1e6,
            rate_cpu / 1e6,
            100.0 * rate_cpu / combined
        );
    }
    let a = std::fs::read(root.join("out1/summary.csv"))?;
    for &jobs in &counts[1..] {
        let b = std::fs::read(root.join(format!("out{jobs}/summary.csv")))?;
        println!("summary.csv identical for 1 and {jobs} threads: {}", a == b);
    }
    let _ = std::fs::remove_dir_all(Path::new(&root));
    Ok(())
}
