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
use lightlane_benches::{random_signal, seconds_best_of};

fn main() {
    let mut samples = 1usize << 20;
    let mut repeats = 15usize;
    let mut taps_list = vec![5usize, 15, 31];
    let mut write_dir: Option<std::path::PathBuf> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--samples" => {
                samples = value
                    .parse()
                    .unwrap_or_else(|_| usage("--samples takes an integer"))
            }
            "--repeats" => {
                repeats = value
                    .parse()
                    .unwrap_or_else(|_| usage("--repeats takes an integer"))
            }
            "--taps" => {
                taps_list = value
                    .split(',')
                    .map(|t| {
                        t.trim()
                            .parse()
                            .unwrap_or_else(|_| usage("--taps takes a comma list of integers"))
                    })
                    .collect()
            }
            "--write-dir" => write_dir = Some(value.into()),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    if samples == 0 || repeats == 0 {
        usage("--samples and --repeats must be positive");
    }
    let x = random_signal(samples, 1);
    if let Some(dir) = &write_dir {
        write_f32(&dir.join("x.f32"), &x);
    }
    for &taps in &taps_list {
        if taps == 0 || taps > lightlane::filter::MAX_FIR_TAPS {
            usage(&format!(
                "taps must be 1..={}",
                lightlane::filter::MAX_FIR_TAPS
            ));
        }
        let h = random_signal(taps, 2);
        if let Some(dir) = &write_dir {
            write_f32(&dir.join(format!("h{taps}.f32")), &h);
            let best = Fir::new(&h).unwrap_or_else(|e| usage(&e.to_string()));
            write_f32(
                &dir.join(format!("y{taps}.f32")),
                &best.process_valid_vec(&x),
            );
        }
        for engine in FirEngine::available() {
            let fir = Fir::with_engine(&h, engine).unwrap_or_else(|e| usage(&e.to_string()));
            let mut y = vec![0.0f32; fir.valid_len(x.len())];
            // The naive f64 reference is ~100x slower; fewer repeats keep the run short.
            let r = if engine == FirEngine::Naive {
                repeats.min(3)
            } else {
                repeats
            };
            let secs = seconds_best_of(r, || fir.process_valid(&x, &mut y).expect("sized output"));
            report(engine.name(), taps, samples, secs);
        }
        let reference_tap = taps / 4;
        let ffe = Ffe::new(h.clone(), 1, reference_tap).unwrap_or_else(|e| usage(&e.to_string()));
        let mut y = vec![0.0f32; x.len()];
        let secs = seconds_best_of(repeats, || {
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

fn write_f32(path: &std::path::Path, data: &[f32]) {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    if let Err(e) = std::fs::write(path, bytes) {
        eprintln!("fir_throughput: cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("fir_throughput: {msg}\nusage: fir_throughput [--samples N] [--repeats R] [--taps 5,15,31] [--write-dir DIR]");
    std::process::exit(2);
}
