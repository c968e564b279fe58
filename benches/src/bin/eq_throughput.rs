//! Equalizer throughput in mega-symbols per second, one JSON line per case.
//!
//! Usage: `eq_throughput [--symbols N] [--repeats R] [--threads 1,2] [--cases SUBSTRING]`
//! (`--cases cdr` runs only the clock-recovery cases).
//! Single-thread cases: LMS/NLMS/sign-sign LMS FFE (15 T-spaced taps, trained on every symbol,
//! `adapt_ffe_into` with reused buffers),
//! RLS (15 taps, N/16 symbols), DFE (PAM4 1/2/3/4/8 taps, NRZ 1 tap), MLSE (PAM4 4 and 16
//! states, NRZ 2 states), each DFE/MLSE case sequential (the reference) and interleaved
//! (`detect_interleaved_with`, default block and warm-up, one thread) with the number of
//! decisions where the two differ. Block-parallel DFE (2 taps), MLSE (4 and 16 states) and the
//! clock recovery (`recover_clock` with its default blocks on simulated NRZ and PAM4 captures of
//! N symbols: the reference PLL, and `cdr-*-{pll2,mm,gardner,bang-bang}` for the order-2 PLL and
//! the Mueller-Müller, Gardner and bang-bang loops)
//! run on a rayon pool of each listed size, interleaved: each round runs the case once on every
//! pool and then an ideal block-parallel control (a recursive filter over independent blocks of
//! the same number of samples, no overlap, no serial part) once on every pool, so a passing
//! disturbance hits all pool sizes alike. `speedup` is the best-wall-time ratio to the first pool
//! size, `control_speedup` the same ratio for the control (what this machine gives a perfectly
//! parallel loop in the same rounds), `efficiency_vs_control` their quotient,
//! `stream_control_speedup` the ratio for a memory-bound control (one streaming pass over the
//! same number of samples: what the memory system gives the passes over a whole capture), `*_per_cpu_s` the
//! rate per second of CPU time of the whole process. Single-thread cases
//! report `msym_per_cpu_s`, the rate per second of on-CPU time of the thread (Linux); both stay
//! meaningful when other jobs share the cores.
//! Inputs: seeded PAM4/NRZ symbols through a short ISI channel with Gaussian noise.

use lightlane::eq::block::{DEFAULT_BLOCK, DEFAULT_WARMUP};
use lightlane::eq::{adapt_ffe_into, Adaptation, AdaptiveConfig, Dfe, Ffe, Mlse};
use lightlane::sim::{Channel, LinkModel};
use lightlane::timing::{recover_clock, CdrConfig, CdrKind};
use lightlane::Modulation;
use lightlane_benches::eq_data::isi_link;
use lightlane_benches::harness::{interleaved_scaling, time_thread, Args};
use std::hint::black_box;

fn main() {
    let args = Args::parse(
        "eq_throughput",
        "[--symbols N] [--repeats R] [--threads 1,2] [--cases SUBSTRING]",
        &["--symbols", "--repeats", "--threads", "--cases"],
        &[],
    );
    let symbols: usize = args.get("--symbols", 1 << 22);
    let repeats: usize = args.get("--repeats", 5);
    let threads: Vec<usize> = args.list("--threads", vec![1, 2]);
    let cases = args.string("--cases").unwrap_or_default();
    if symbols < 1024 || repeats == 0 || threads.is_empty() || threads.contains(&0) {
        args.fail("--symbols ≥ 1024, --repeats ≥ 1, thread counts ≥ 1");
    }
    let single = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    let wanted = |case: &str| case.contains(cases.as_str());
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
        if !wanted(name) {
            continue;
        }
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

    // DFE and MLSE: the sequential detector (the reference) and the interleaved block detector
    // (16 DFE / 8 MLSE blocks in SIMD lanes, one thread), with the count of decisions where the
    // two differ (only within the warm-up bound after block boundaries).
    let mut dfe_cases: Vec<(Modulation, Vec<f32>)> = vec![
        (pam4, vec![0.5f32]),
        (pam4, vec![0.5, 0.2]),
        (pam4, vec![0.5, 0.2, 0.1]),
        (pam4, vec![0.5, 0.2, 0.1, 0.05]),
        (pam4, vec![0.5, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.01]),
    ];
    dfe_cases.push((Modulation::Nrz, vec![0.5]));
    for (m, taps) in dfe_cases {
        let mut h = vec![1.0f32];
        h.extend(&taps);
        let (_, y) = isi_link(m, symbols, &h, 0.05, 2);
        let name = format!("dfe-{}-{}tap", m.name(), taps.len());
        if !wanted(&name) {
            continue;
        }
        let dfe = Dfe::new(taps.clone(), m.level_set(), m).expect("valid DFE");
        let mut seq = vec![0u8; symbols];
        let (secs, cpu) = best_wall_and_cpu(repeats, || dfe.detect_into(black_box(&y), &mut seq).expect("sized"));
        report(&name, symbols, secs, &cpu_extra(symbols, cpu));
        let mut inter = vec![0u8; symbols];
        let (secs, cpu) = best_wall_and_cpu(repeats, || {
            dfe.detect_interleaved_with(black_box(&y), &mut inter, DEFAULT_BLOCK, DEFAULT_WARMUP).expect("sized")
        });
        let diff = seq.iter().zip(&inter).filter(|(a, b)| a != b).count();
        report(&format!("{name}-interleaved"), symbols, secs, &format!(",\"differs_from_sequential\":{diff}{}", cpu_extra(symbols, cpu)));
    }

    let mlse_cases = [(pam4, vec![1.0f32, 0.5]), (pam4, vec![1.0, 0.5, 0.2]), (Modulation::Nrz, vec![1.0, 0.5])];
    for (m, target) in mlse_cases {
        let (_, y) = isi_link(m, symbols, &target, 0.05, 3);
        let mlse = Mlse::new(m, &target, &m.level_set()).expect("valid MLSE");
        let name = format!("mlse-{}-{}states", m.name(), mlse.states());
        if !wanted(&name) {
            continue;
        }
        let mut seq = vec![0u8; symbols];
        let (secs, cpu) = best_wall_and_cpu(repeats, || mlse.detect_into(black_box(&y), &mut seq).expect("sized"));
        report(&name, symbols, secs, &cpu_extra(symbols, cpu));
        let mut inter = vec![0u8; symbols];
        let (secs, cpu) = best_wall_and_cpu(repeats, || {
            mlse.detect_interleaved_with(black_box(&y), &mut inter, DEFAULT_BLOCK, DEFAULT_WARMUP).expect("sized")
        });
        let diff = seq.iter().zip(&inter).filter(|(a, b)| a != b).count();
        report(&format!("{name}-interleaved"), symbols, secs, &format!(",\"differs_from_sequential\":{diff}{}", cpu_extra(symbols, cpu)));
    }

    // Block-parallel runs on pools of each size: wall rate, speedup over the first pool size,
    // and the rate per second of CPU time of the whole process (all threads), which shows the
    // parallel overhead independently of how busy the machine is.
    let (_, y) = isi_link(pam4, symbols, &[1.0, 0.5, 0.2], 0.05, 4);
    let dfe = Dfe::new(vec![0.5, 0.2], pam4.level_set(), pam4).expect("valid DFE");
    let mlse4 = Mlse::new(pam4, &[1.0, 0.5], &pam4.level_set()).expect("valid MLSE");
    let mlse16 = Mlse::new(pam4, &[1.0, 0.5, 0.2], &pam4.level_set()).expect("valid MLSE");
    // The captures are built when any clock-recovery case can match (`--cases cdr-nrz-mm` as well as `cdr`).
    let cdr_cases = if wanted("cdr") || cases.contains("cdr") { cdr_captures(symbols) } else { Vec::new() };
    let kinds = [
        ("", CdrKind::reference_pll(4e6)),
        ("-pll2", CdrKind::ReferencePll { corner_hz: 4e6, order: 2, damping: 0.707 }),
        ("-mm", CdrKind::MuellerMuller { bandwidth_fraction: 2e-3 }),
        ("-gardner", CdrKind::Gardner { bandwidth_fraction: 2e-3 }),
        ("-bang-bang", CdrKind::BangBang { gain: 2e-3 }),
    ];
    let mut names: Vec<String> = ["dfe-pam4-2tap-parallel", "mlse-pam4-4states-parallel", "mlse-pam4-16states-parallel"].map(String::from).to_vec();
    for (c, (_, _, _, m)) in cdr_cases.iter().enumerate() {
        for (suffix, _) in &kinds {
            names.push(format!("cdr-{}{suffix}-parallel#{c}", m.name()));
        }
    }
    let pools: Vec<rayon::ThreadPool> =
        threads.iter().map(|&t| rayon::ThreadPoolBuilder::new().num_threads(t).build().expect("pool")).collect();
    for (i, full_name) in names.iter().enumerate() {
        let name = full_name.split('#').next().unwrap_or(full_name);
        if !wanted(name) {
            continue;
        }
        let cdr = i.checked_sub(3).map(|j| (&cdr_cases[j / kinds.len()], kinds[j % kinds.len()].1));
        let (units, unit_name) = match cdr {
            None => (symbols, "msym"),
            Some((c, _)) => (c.0.len(), "msample"),
        };
        let run = || match (i, cdr) {
            (0, _) => black_box(dfe.detect_parallel(&y)).len(),
            (1, _) => black_box(mlse4.detect_parallel(&y)).len(),
            (2, _) => black_box(mlse16.detect_parallel(&y)).len(),
            (_, Some(((x, fs, baud, m), kind))) => {
                let cfg = CdrConfig { kind, ..Default::default() };
                black_box(recover_clock(x, *fs, *baud, *m, &cfg).expect("clock")).symbol_positions.len()
            }
            _ => 0,
        };
        let timings = interleaved_scaling(&pools, repeats, units, || {
            run();
        });
        let base = timings[0];
        for (&t, sc) in threads.iter().zip(&timings) {
            let secs = sc.timing.wall;
            let cpu = sc.timing.cpu_mean.map_or(String::new(), |c| format!(",\"cpu_seconds\":{c:.6},\"{unit_name}_per_cpu_s\":{:.1}", units as f64 / c / 1e6));
            let speedup = base.timing.wall / secs;
            let (control_speedup, stream_speedup) = (base.control / sc.control, base.stream_control / sc.stream_control);
            println!(
                "{{\"case\":\"{name}\",\"{unit_name}\":{:.3},\"seconds\":{secs:.6},\"{unit_name}_per_s\":{:.1},\"threads\":{t},\"speedup\":{speedup:.2},\"control_speedup\":{control_speedup:.2},\"efficiency_vs_control\":{:.2},\"stream_control_speedup\":{stream_speedup:.2}{cpu}}}",
                units as f64 / 1e6,
                units as f64 / secs / 1e6,
                speedup / control_speedup
            );
        }
    }
}

/// Simulated captures for the clock-recovery cases: 10.3125 GBd NRZ and 26.5625 GBd PAM4 at
/// 40/80 GS/s through a Bessel-Thomson channel with a 50 ppm offset, `symbols` symbols each.
/// Returns `(samples, fs, nominal baud, modulation)`.
fn cdr_captures(symbols: usize) -> Vec<(Vec<f32>, f64, f64, Modulation)> {
    let mut s = 1u64;
    let mut next = move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 60) as u8
    };
    [(Modulation::Nrz, 10.3125e9, 40e9), (Modulation::Pam4, 26.5625e9, 80e9)]
        .into_iter()
        .map(|(m, baud, fs)| {
            let mut model = LinkModel::new(m, baud * (1.0 + 50e-6), fs).expect("valid link");
            model.channel = Channel::BesselThomson { f3db_hz: 0.7 * baud, order: 4 };
            let bits: Vec<u8> = (0..symbols * m.bits_per_symbol()).map(|_| next() & 1).collect();
            let cap = model.run(&bits).expect("simulates");
            (cap.waveform.samples, fs, baud, m)
        })
        .collect()
}

/// Best wall time and mean on-CPU time of the calling thread over `repeats` calls of `f`
/// (after one warm-up call).
fn best_wall_and_cpu(repeats: usize, f: impl FnMut()) -> (f64, Option<f64>) {
    let t = time_thread(repeats, f);
    (t.wall, t.cpu_mean)
}
