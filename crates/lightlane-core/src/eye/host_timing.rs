//! Per-stage timing harness of the eye stages' host work (an `#[ignore]` test):
//!
//! `LIGHTLANE_BENCH_SAMPLES=16777216 cargo test -p lightlane-core --lib eye::host_timing -- --ignored --nocapture`
//!
//! Runs the CPU engine's analysis of the end-to-end bench's capture (demo PAM4 link, PRBS13Q,
//! `ffe:15,dfe:1`, eye and TDECQ on) and prints each stage's wall and process on-CPU seconds
//! (all threads, from `/proc/self/task/*/schedstat`) and the calling thread's on-CPU seconds:
//! the calling thread is not a pool thread (it sleeps while the pool runs its parallel
//! parts), so its time is the stage's serial work, what bounds the stage on many cores.

use crate::analysis::{analyze_using, AnalysisConfig, AnalysisHooks};
use crate::pattern::Pattern;
use crate::sim::LinkModel;
use crate::{Backend, Modulation};
use std::time::Instant;

fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok().and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok()).unwrap_or(0) as f64 * 1e-9
}

fn process_cpu_s() -> f64 {
    let mut ns = 0u64;
    if let Ok(rd) = std::fs::read_dir("/proc/self/task") {
        for t in rd.flatten() {
            if let Some(v) = std::fs::read_to_string(t.path().join("schedstat")).ok().and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok()) {
                ns += v;
            }
        }
    }
    ns as f64 * 1e-9
}

#[test]
#[ignore = "timing harness: run with --ignored --nocapture"]
fn eye_stage_timings() {
    let n: usize = std::env::var("LIGHTLANE_BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(1 << 24);
    let reps: usize = std::env::var("LIGHTLANE_BENCH_REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let model = LinkModel::demo_pam4();
    let nsym = ((n as f64 * model.baud / model.fs) as usize).clamp(2 * 8191, 1 << 23);
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, nsym).unwrap();
    let cap = model.run(&symbols).unwrap();
    let mut cfg = AnalysisConfig::pam4(model.baud);
    cfg.equalizer = "ffe:15,dfe:1".parse().unwrap();
    println!("{} samples, {nsym} symbols, {} rayon threads", cap.waveform.len(), rayon::current_num_threads());
    for rep in 0..reps {
        let rows = std::cell::RefCell::new(Vec::new());
        let last = std::cell::Cell::new((Instant::now(), process_cpu_s(), thread_cpu_s()));
        let mark = |stage: &'static str| {
            let now = (Instant::now(), process_cpu_s(), thread_cpu_s());
            let (t0, c0, s0) = last.replace(now);
            rows.borrow_mut().push((stage, now.0.duration_since(t0).as_secs_f64(), now.1 - c0, now.2 - s0));
        };
        let report = analyze_using(&cap.waveform, &cfg, Backend::Cpu, &AnalysisHooks { accel: None, mark: Some(&mark) }).unwrap();
        println!("rep {rep}: | stage | wall s | on-CPU s | serial (calling thread) on-CPU s |");
        for (s, w, c, m) in rows.into_inner() {
            println!("| {s:<28} | {w:>8.4} | {c:>8.4} | {m:>8.4} |");
        }
        let eye = report.eye.as_ref();
        println!("TDECQ dB: {:?}", eye.and_then(|e| e.tdecq_db));
    }
}
