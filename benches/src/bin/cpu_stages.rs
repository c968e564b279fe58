//! Per-stage timings of the CPU engine's analysis pipeline (its stage marks) on the end-to-end
//! bench's capture (demo PAM4 link, PRBS13Q, `ffe:15,dfe:1`, eye and TDECQ on): wall and
//! process on-CPU seconds per stage, so the serial stages stand out (on-CPU ≈ wall). The CPU
//! half of `lightlane-gpu`'s `gpu_stages` example, without a GPU.
//!
//! Usage: `cpu_stages [--samples N] [--repeats R] [--threads T]` (default 2^24 samples, 3
//! repeats, the machine's cores); prints the median of each stage.

use lightlane_benches::harness::{process_cpu_seconds, Args};
use lightlane::analysis::{analyze_using, AnalysisConfig, AnalysisHooks};
use lightlane::pattern::Pattern;
use lightlane::sim::LinkModel;
use lightlane::{Backend, Modulation};
use std::sync::Mutex;
use std::time::Instant;

fn main() {
    let args = Args::parse("cpu_stages", "[--samples N] [--repeats R] [--threads T]", &["--samples", "--repeats", "--threads"], &[]);
    let n: usize = args.get("--samples", 1 << 24);
    let repeats: usize = args.get("--repeats", 3usize).max(1);
    let threads: usize = args.get("--threads", 0usize);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap_or_else(|e| args.fail(&e.to_string()));
    let model = LinkModel::demo_pam4();
    let nsym = ((n as f64 * model.baud / model.fs) as usize).clamp(2 * 8191, 1 << 23);
    let symbols = Pattern::parse("prbs13q").and_then(|p| p.generate(Modulation::Pam4, nsym)).unwrap_or_else(|e| args.fail(&e.to_string()));
    let cap = model.run(&symbols).unwrap_or_else(|e| args.fail(&e.to_string()));
    let mut cfg = AnalysisConfig::pam4(model.baud);
    cfg.equalizer = "ffe:15,dfe:1".parse().unwrap_or_else(|e: lightlane::Error| args.fail(&e.to_string()));
    // Per stage, per repeat: (wall, on-CPU) seconds since the previous mark.
    let rows: Mutex<Vec<(&'static str, Vec<(f64, f64)>)>> = Mutex::new(Vec::new());
    for r in 0..repeats {
        let last = Mutex::new((Instant::now(), process_cpu_seconds().unwrap_or(0.0)));
        let mark = |stage: &'static str| {
            let (now, cpu) = (Instant::now(), process_cpu_seconds().unwrap_or(0.0));
            let mut l = last.lock().unwrap();
            let d = ((now - l.0).as_secs_f64(), cpu - l.1);
            *l = (now, cpu);
            let mut rows = rows.lock().unwrap();
            match rows.iter_mut().find(|(s, _)| *s == stage) {
                Some((_, v)) => v.push(d),
                None => rows.push((stage, vec![d])),
            }
        };
        let t = Instant::now();
        let report = pool.install(|| analyze_using(&cap.waveform, &cfg, Backend::Cpu, &AnalysisHooks { accel: None, mark: Some(&mark) }));
        let wall = t.elapsed().as_secs_f64();
        match report {
            Ok(rep) => eprintln!("repeat {r}: {wall:.3} s, {} symbols, BER {:.3e}", rep.symbols, rep.ber),
            Err(e) => args.fail(&e.to_string()),
        }
    }
    println!("CPU engine stages, {} samples ({nsym} symbols), {} threads, median of {repeats}", cap.waveform.len(), pool.current_num_threads());
    println!("| {:<28} | {:>8} | {:>10} | {:>8} |", "stage", "wall s", "on-CPU s", "cores");
    println!("|---|---|---|---|");
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mut tw, mut tc) = (0.0, 0.0);
    for (stage, v) in rows.into_inner().unwrap() {
        let (w, c) = (med(v.iter().map(|d| d.0).collect()), med(v.iter().map(|d| d.1).collect()));
        tw += w;
        tc += c;
        println!("| {stage:<28} | {w:>8.4} | {c:>10.4} | {:>8.2} |", c / w.max(1e-9));
    }
    println!("| {:<28} | {tw:>8.4} | {tc:>10.4} | {:>8.2} |", "sum of stages", tc / tw.max(1e-9));
}
