//! Equalizer throughput in mega-symbols per second, one JSON line per case.
//!
//! Usage: `eq_throughput [--symbols N] [--repeats R] [--threads 1,2]`.
//! Single-thread cases: LMS/NLMS/sign-sign LMS FFE (15 T-spaced taps, trained on every symbol,
//! `adapt_ffe_into` with reused buffers),
//! RLS (15 taps, N/16 symbols), DFE (PAM4 1/2/3/8 taps, NRZ 1 tap), MLSE (PAM4 4 and 16 states,
//! NRZ 2 states). Block-parallel DFE and 4-state MLSE (`detect_parallel`) run on a rayon pool of
//! each listed size; `speedup` is relative to the first pool size. Single-thread cases also
//! report `msym_per_cpu_s`, the rate per second of on-CPU time of the thread (Linux), which
//! stays meaningful when other jobs share the cores.
//! Inputs: seeded PAM4/NRZ symbols through a short ISI channel with Gaussian noise.

use lightlane::eq::{adapt_ffe_into, Adaptation, AdaptiveConfig, Dfe, Ffe, Mlse};
use lightlane::Modulation;
use lightlane_benches::eq_data::isi_link;
use std::hint::black_box;

fn main() {
    let mut symbols = 1usize << 22;
    let mut repeats = 5usize;
    let mut threads = vec![1usize, 2];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--symbols" => symbols = value.parse().unwrap_or_else(|_| usage("--symbols takes an integer")),
            "--repeats" => repeats = value.parse().unwrap_or_else(|_| usage("--repeats takes an integer")),
            "--threads" => {
                threads = value
                    .split(',')
                    .map(|t| t.trim().parse().unwrap_or_else(|_| usage("--threads takes a comma list of integers")))
                    .collect()
            }
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    if symbols < 1024 || repeats == 0 || threads.is_empty() || threads.contains(&0) {
        usage("--symbols ≥ 1024, --repeats ≥ 1, thread counts ≥ 1");
    }
    let single = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    let report = |case: &str, n: usize, secs: f64, extra: &str| {
        println!(
            "{{\"case\":\"{case}\",\"symbols\":{n},\"seconds\":{secs:.6},\"msym_per_s\":{:.1}{extra}}}",
            n as f64 / secs / 1e6
        );
    };
    // Single-thread cases also report the rate per second of on-CPU time.
    let cpu_extra = |n: usize, cpu: Option<f64>| match cpu {
        Some(c) if c > 0.0 => format!(",\"cpu_seconds\":{c:.6},\"msym_per_cpu_s\":{:.1}", n as f64 / c / 1e6),
        _ => String::new(),
    };

    let pam4 = Modulation::Pam4;
    let (syms, x) = isi_link(pam4, symbols, &[1.0, 0.45, 0.15], 0.05, 1);
    let targets = pam4.symbols_to_levels(&syms);
    let init = Ffe::identity(15, 1, 3).expect("valid FFE");
    for (name, rule, n) in [
        ("lms-ffe-15", Adaptation::Lms { mu: 1e-3 }, symbols),
        ("nlms-ffe-15", Adaptation::Nlms { mu: 1e-2 }, symbols),
        ("sign-sign-lms-ffe-15", Adaptation::SignSignLms { mu: 1e-4 }, symbols),
        ("rls-ffe-15", Adaptation::Rls { lambda: 0.9999, delta: 1e-2 }, symbols / 16),
    ] {
        let cfg = AdaptiveConfig {
            adaptation: rule,
            training_symbols: n,
            decision_directed: true,
            passes: 1,
            trace_decimation: 4096,
        };
        let mut out = vec![0.0f32; n];
        let mut scratch = Vec::new();
        let (secs, cpu) = single.install(|| {
            best_wall_and_cpu(repeats, || {
                black_box(
                    adapt_ffe_into(&x[..n], 1, Some(&targets[..n]), &init, &pam4.level_set(), &cfg, &mut out, &mut scratch)
                        .expect("adapts"),
                );
            })
        });
        report(name, n, secs, &cpu_extra(n, cpu));
    }

    for (m, taps) in [
        (pam4, vec![0.5f32]),
        (pam4, vec![0.5, 0.2]),
        (pam4, vec![0.5, 0.2, 0.1]),
        (pam4, vec![0.5, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.01]),
        (Modulation::Nrz, vec![0.5]),
    ] {
        let mut h = vec![1.0f32];
        h.extend(&taps);
        let (_, y) = isi_link(m, symbols, &h, 0.05, 2);
        let dfe = Dfe::new(taps.clone(), m.level_set(), m).expect("valid DFE");
        let mut out = vec![0u8; symbols];
        let (secs, cpu) = best_wall_and_cpu(repeats, || dfe.detect_into(black_box(&y), &mut out).expect("sized"));
        report(&format!("dfe-{}-{}tap", m.name(), taps.len()), symbols, secs, &cpu_extra(symbols, cpu));
    }

    for (m, target) in [(pam4, vec![1.0f32, 0.5]), (pam4, vec![1.0, 0.5, 0.2]), (Modulation::Nrz, vec![1.0, 0.5])] {
        let (_, y) = isi_link(m, symbols, &target, 0.05, 3);
        let mlse = Mlse::new(m, &target, &m.level_set()).expect("valid MLSE");
        let mut out = vec![0u8; symbols];
        let (secs, cpu) = best_wall_and_cpu(repeats, || mlse.detect_into(black_box(&y), &mut out).expect("sized"));
        report(&format!("mlse-{}-{}states", m.name(), mlse.states()), symbols, secs, &cpu_extra(symbols, cpu));
    }

    let (_, y) = isi_link(pam4, symbols, &[1.0, 0.5], 0.05, 4);
    let dfe = Dfe::new(vec![0.5], pam4.level_set(), pam4).expect("valid DFE");
    let mlse = Mlse::new(pam4, &[1.0, 0.5], &pam4.level_set()).expect("valid MLSE");
    let (dfe_seq, mlse_seq) = (dfe.detect(&y), mlse.detect(&y));
    let mut base: [Option<f64>; 2] = [None, None];
    for &t in &threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build().expect("pool");
        for (i, name) in ["dfe-pam4-1tap-parallel", "mlse-pam4-4states-parallel"].iter().enumerate() {
            let run = || if i == 0 { dfe.detect_parallel(&y) } else { mlse.detect_parallel(&y) };
            // With one thread the work runs on the pool's worker, where the CPU time is measured.
            let (secs, cpu) = pool.install(|| best_wall_and_cpu(repeats, || { black_box(run()); }));
            let reference = if i == 0 { &dfe_seq } else { &mlse_seq };
            let same = pool.install(run) == *reference;
            let b = *base[i].get_or_insert(secs);
            let cpu = if t == 1 { cpu_extra(symbols, cpu) } else { String::new() };
            report(name, symbols, secs, &format!(",\"threads\":{t},\"speedup\":{:.2},\"equals_sequential\":{same}{cpu}", b / secs));
        }
    }
}

/// On-CPU time of the calling thread in seconds (Linux `/proc/thread-self/schedstat`), so that
/// single-thread rates stay meaningful on a machine shared with other jobs; `None` elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(s.split_whitespace().next()?.parse::<f64>().ok()? * 1e-9)
}

/// Best wall time and best on-CPU time of `repeats` calls of `f` (after one warm-up call).
fn best_wall_and_cpu(repeats: usize, mut f: impl FnMut()) -> (f64, Option<f64>) {
    f();
    let mut wall = f64::INFINITY;
    let mut cpu: Option<f64> = None;
    for _ in 0..repeats.max(1) {
        let c0 = thread_cpu_seconds();
        let t = std::time::Instant::now();
        f();
        wall = wall.min(t.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (c0, thread_cpu_seconds()) {
            cpu = Some(cpu.map_or(b - a, |c: f64| c.min(b - a)));
        }
    }
    (wall, cpu)
}

fn usage(msg: &str) -> ! {
    eprintln!("eq_throughput: {msg}\nusage: eq_throughput [--symbols N] [--repeats R] [--threads 1,2]");
    std::process::exit(2)
}
