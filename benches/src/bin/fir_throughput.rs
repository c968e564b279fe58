//! Single-thread FIR throughput per (engine, taps), one JSON line each, for `benches/compare_numpy.py`.
//!
//! Usage: `fir_throughput [--samples N] [--repeats R] [--taps 5,15,31] [--write-dir DIR]`.
//! Input: N seeded uniform f32 samples in [-1, 1); taps: seeded uniform in [-1, 1). Each line
//! reports the best of R runs of `Fir::process_valid` on one thread (samples/s = input samples /
//! seconds, as numpy's timing in the script), plus the T-spaced FFE (`Ffe::equalize_into`,
//! engine "ffe", reference tap taps/4) at each tap count.
//!
//! `--write-dir DIR` also writes the exact data as raw little-endian f32 so that the comparison
//! script times numpy on the same samples and checks the outputs: `DIR/x.f32` (input),
//! `DIR/h{taps}.f32` (taps) and `DIR/y{taps}.f32` (output of the fastest engine).

use lightlane::eq::Ffe;
use lightlane::filter::{Fir, FirEngine};
use lightlane_benches::harness::{time_with, write_f32, Args};
use lightlane_benches::random_signal;

const USAGE: &str = "[--samples N] [--repeats R] [--taps 5,15,31] [--write-dir DIR]";

fn main() {
    let args = Args::parse("fir_throughput", USAGE, &["--samples", "--repeats", "--taps", "--write-dir"], &[]);
    let samples: usize = args.get("--samples", 1 << 20);
    let repeats: usize = args.get("--repeats", 15);
    let taps_list: Vec<usize> = args.list("--taps", vec![5, 15, 31]);
    let write_dir = args.string("--write-dir").map(std::path::PathBuf::from);
    if samples == 0 || repeats == 0 {
        args.fail("--samples and --repeats must be positive");
    }
    let x = random_signal(samples, 1);
    if let Some(dir) = &write_dir {
        write_f32("fir_throughput", &dir.join("x.f32"), &x);
    }
    for &taps in &taps_list {
        if taps == 0 || taps > lightlane::filter::MAX_FIR_TAPS {
            args.fail(&format!(
                "taps must be 1..={}",
                lightlane::filter::MAX_FIR_TAPS
            ));
        }
        let h = random_signal(taps, 2);
        if let Some(dir) = &write_dir {
            write_f32("fir_throughput", &dir.join(format!("h{taps}.f32")), &h);
            let best = Fir::new(&h).unwrap_or_else(|e| args.fail(&e.to_string()));
            write_f32(
                "fir_throughput",
                &dir.join(format!("y{taps}.f32")),
                &best.process_valid_vec(&x),
            );
        }
        for engine in FirEngine::available() {
            let fir = Fir::with_engine(&h, engine).unwrap_or_else(|e| args.fail(&e.to_string()));
            let mut y = vec![0.0f32; fir.valid_len(x.len())];
            // The naive f64 reference is ~100x slower; fewer repeats keep the run short.
            let r = if engine == FirEngine::Naive {
                repeats.min(3)
            } else {
                repeats
            };
            let secs = wall_best_of(r, || fir.process_valid(&x, &mut y).expect("sized output"));
            report(engine.name(), taps, samples, secs);
        }
        let reference_tap = taps / 4;
        let ffe = Ffe::new(h.clone(), 1, reference_tap).unwrap_or_else(|e| args.fail(&e.to_string()));
        let mut y = vec![0.0f32; x.len()];
        let secs = wall_best_of(repeats, || {
            ffe.equalize_into(&x, &mut y).expect("sized output")
        });
        report("ffe", taps, samples, secs);
    }
}

fn report(engine: &str, taps: usize, samples: usize, secs: f64) {
    println!(
        "{{\"engine\":\"{engine}\",\"taps\":{taps},\"samples\":{samples},\"seconds\":{secs:.9},\"samples_per_s\":{:.1}}}",
        samples as f64 / secs
    );
}

/// Best wall time of `repeats` calls of `f` (after one warm-up call).
fn wall_best_of(repeats: usize, f: impl FnMut()) -> f64 {
    time_with(|| None, repeats, f).wall
}
