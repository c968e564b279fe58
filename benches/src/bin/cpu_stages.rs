//! Per-stage timings of the CPU engine's analysis pipeline (its stage marks) on the end-to-end
//! bench's capture (demo PAM4 link, PRBS13Q, `ffe:15,dfe:1`, eye and TDECQ on): per stage the
//! wall seconds and the process's on-CPU seconds (all threads) on a pool of T threads, the wall
//! seconds of the same analysis on a pool of one thread, and from the two Amdahl's split of the
//! stage into serial and parallel work: with `T₁ = s + p` and `T_T = s + p/T`, the serial part
//! `s = (T·T_T − T₁)/(T − 1)` (what bounds the stage on many cores, whether it is one thread's
//! code or memory bandwidth that more cores do not add), and the stage's wall time projected
//! onto P cores, `s + p/P`. The GPU engine runs the same host code for its host stages, so their
//! serial part bounds it too. The CPU half of `lightlane-gpu`'s `gpu_stages` example, without a
//! GPU.
//!
//! Usage: `cpu_stages [--samples N] [--repeats R] [--threads T] [--project P] [--file]` (default
//! 2^24 samples, 3 repeats, the machine's cores, P = 16); prints the median of each stage over
//! the repeats, each repeat running the one-thread pool and the T-thread pool in turn. With
//! `--file` the capture is written once as a LeCroy `.trc` (i16 codes, as a scope saves it) and
//! every run starts by reading it: the "read capture" stage, as in `gpu_bench`'s end-to-end
//! file-to-report case. The stages run one after another (`AnalysisHooks::serial`), so each
//! mark times its stage alone.

use lightlane::analysis::{analyze_using, AnalysisConfig, AnalysisHooks};
use lightlane::pattern::Pattern;
use lightlane::sim::LinkModel;
use lightlane::{Backend, Modulation};
use lightlane_benches::harness::{process_cpu_seconds, Args};
use std::sync::Mutex;
use std::time::Instant;

/// Per stage: wall and process on-CPU seconds on the T-thread pool, wall seconds on the
/// one-thread pool.
type Clocks = [f64; 3];

fn main() {
    let args = Args::parse("cpu_stages", "[--samples N] [--repeats R] [--threads T] [--project P] [--file]", &["--samples", "--repeats", "--threads", "--project"], &["--file"]);
    let n: usize = args.get("--samples", 1 << 24);
    let repeats: usize = args.get("--repeats", 3usize).max(1);
    let threads: usize = args.get("--threads", 0usize);
    let project: f64 = args.get("--project", 16usize).max(1) as f64;
    let build = |t: usize| rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap_or_else(|e| args.fail(&e.to_string()));
    let (one, many) = (build(1), build(threads));
    let t = many.current_num_threads();
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
        // One run on each pool: the one-thread run fills the third clock of this repeat's rows.
        // Every mark comes from the analysis' threads (the eye stages run inside the pool).
        for (pool, single) in [(&one, true), (&many, false)] {
            let start = Instant::now();
            let last = Mutex::new((0.0, process_cpu_seconds().unwrap_or(0.0)));
            let mark = |stage: &'static str| {
                let c = (start.elapsed().as_secs_f64(), process_cpu_seconds().unwrap_or(0.0));
                let mut l = last.lock().unwrap_or_else(|p| p.into_inner());
                let (wall, cpu) = (c.0 - l.0, c.1 - l.1);
                *l = c;
                let mut rows = rows.lock().unwrap_or_else(|p| p.into_inner());
                let i = match rows.iter().position(|(s, _)| *s == stage) {
                    Some(i) => i,
                    None => {
                        rows.push((stage, Vec::new()));
                        rows.len() - 1
                    }
                };
                let v = &mut rows[i].1;
                // A stage first marked in this repeat gets zeros for the repeats before.
                v.resize(v.len().max(r + 1), [0.0; 3]);
                if single {
                    v[r][2] = wall;
                } else {
                    v[r][0] = wall;
                    v[r][1] = cpu;
                }
            };
            // The read too on the pool, so that its one-thread time is one thread's.
            let run = || {
                let loaded;
                let waveform = match &file {
                    Some(f) => {
                        loaded = lightlane::io::read_capture(f, &Default::default()).unwrap_or_else(|e| args.fail(&e.to_string()));
                        mark("read capture");
                        &loaded
                    }
                    None => &cap.waveform,
                };
                analyze_using(waveform, &cfg, Backend::Cpu, &AnalysisHooks { accel: None, mark: Some(&mark), serial: true })
            };
            match pool.install(run) {
                Ok(rep) => eprintln!("repeat {r}, {} thread(s): {:.3} s, {} symbols, BER {:.3e}", pool.current_num_threads(), start.elapsed().as_secs_f64(), rep.symbols, rep.ber),
                Err(e) => args.fail(&e.to_string()),
            }
        }
    }
    if let Some(f) = &file {
        let _ = std::fs::remove_file(f);
    }
    println!("CPU engine stages, {} samples ({nsym} symbols), {t} threads beside 1, median of {repeats}", cap.waveform.len());
    println!(
        "| {:<28} | {:>8} | {:>10} | {:>6} | {:>10} | {:>10} | {:>13} |",
        "stage", "wall s", "on-CPU s", "cores", "1-thread s", "serial s", format!("{project} cores s")
    );
    println!("|---|---|---|---|---|---|---|");
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut total = [0.0; 3];
    for (stage, v) in rows.into_inner().unwrap_or_else(|p| p.into_inner()) {
        let m: Clocks = std::array::from_fn(|i| med(v.iter().map(|d| d[i]).collect()));
        (0..3).for_each(|i| total[i] += m[i]);
        let (serial, projected) = amdahl(m[2], m[0], t as f64, project);
        print_row(stage, [m[0], m[1], m[2], serial, projected]);
    }
    // The whole analysis split from its own totals (not the sum of the clamped rows).
    let (serial, projected) = amdahl(total[2], total[0], t as f64, project);
    print_row("sum of stages", [total[0], total[1], total[2], serial, projected]);
    println!("(serial s: Amdahl's serial part from the one-thread and the {t}-thread wall times, between 0 and the 1-thread time; {project} cores s: the serial part plus the parallel part over {project} cores; \"-\" where one thread gives no split)");
}

/// Amdahl's split of a stage that took `t1` s on one thread and `tn` s on `n` threads: its
/// serial part (clamped to `0..=t1`: noise or a superlinear stage can put the estimate outside)
/// and its time on `cores` threads; NaN when `n` is 1.
fn amdahl(t1: f64, tn: f64, n: f64, cores: f64) -> (f64, f64) {
    if n <= 1.0 {
        return (f64::NAN, f64::NAN);
    }
    let serial = ((n * tn - t1) / (n - 1.0)).clamp(0.0, t1);
    (serial, serial + (t1 - serial) / cores)
}

fn print_row(stage: &str, r: [f64; 5]) {
    let f = |v: f64| if v.is_nan() { "-".to_string() } else { format!("{v:.4}") };
    println!("| {stage:<28} | {:>8.4} | {:>10.4} | {:>6.2} | {:>10.4} | {:>10} | {:>13} |", r[0], r[1], r[1] / r[0].max(1e-9), r[2], f(r[3]), f(r[4]));
}
