//! Single-thread resampling throughput, one JSON line per (engine, case), for
//! `benches/compare_scipy_resample.py`.
//!
//! Usage: `resample_throughput [--samples N] [--outputs M1,M2] [--repeats R] [--engines fft,polyphase,cubic] [--write-dir DIR]`.
//! Input: N seeded uniform f32 samples in [-1, 1). For every output length M:
//! - engine "fft": `FftResampler::process` from N to M samples (the method and result of
//!   `scipy.signal.resample(x, M)`), planned once, scratch reused;
//! - engines "polyphase" (16-tap windowed sinc) and "cubic" (`resample_at_into`): the same rate
//!   change as interpolation at positions `m · N / M` (not periodic, so not the same numbers).
//!
//! Each line reports the best of R runs, in thread CPU time (Linux; wall time elsewhere) so that
//! time the scheduler gives other processes on a shared machine does not count, and the best wall
//! time beside it; samples/s counts input samples, as the script's scipy timing does. `--write-dir DIR` writes `DIR/x.f32` and the FFT output `DIR/y{M}.f32` (raw
//! little-endian f32) so the script can check scipy's result against lightlane's.

use lightlane::timing::{resample_at_into, FftResampleScratch, FftResampler, PolyphaseConfig, PolyphaseResampler};
use lightlane_benches::harness::{time_thread, write_f32, Args};
use lightlane_benches::random_signal;

const USAGE: &str = "[--samples N] [--outputs M1,M2] [--repeats R] [--engines fft,polyphase,cubic] [--write-dir DIR]";

fn main() {
    let args = Args::parse("resample_throughput", USAGE, &["--samples", "--outputs", "--repeats", "--engines", "--write-dir"], &[]);
    let samples: usize = args.get("--samples", 1 << 20);
    let outputs: Vec<usize> = args.list("--outputs", vec![819_200, 1_310_720]);
    let repeats: usize = args.get("--repeats", 11);
    let engines: Vec<String> = args.list("--engines", ["fft", "polyphase", "cubic"].map(String::from).to_vec());
    let write_dir = args.string("--write-dir").map(std::path::PathBuf::from);
    if samples < 2 || repeats == 0 || outputs.iter().any(|&m| m < 2) {
        args.fail("--samples, --outputs must be at least 2 and --repeats positive");
    }
    let x = random_signal(samples, 1);
    if let Some(dir) = &write_dir {
        write_f32("resample_throughput", &dir.join("x.f32"), &x);
    }
    let poly = PolyphaseResampler::new(&PolyphaseConfig::default()).expect("default design");
    for &m in &outputs {
        let r = FftResampler::new(samples, m).unwrap_or_else(|e| args.fail(&e.to_string()));
        let mut y = vec![0f32; m];
        let mut scratch = FftResampleScratch::default();
        let run = |e: &str| engines.iter().any(|x| x == e);
        if run("fft") {
            let secs = best_of(repeats, || r.process(&x, &mut y, &mut scratch).expect("sized buffers"));
            report("fft", samples, m, secs);
            if let Some(dir) = &write_dir {
                write_f32("resample_throughput", &dir.join(format!("y{m}.f32")), &y);
            }
        }
        let positions: Vec<f64> = (0..m).map(|k| k as f64 * samples as f64 / m as f64).collect();
        if run("polyphase") {
            let secs = best_of(repeats, || poly.process(&x, &positions, &mut y).expect("sized buffers"));
            report("polyphase", samples, m, secs);
        }
        if run("cubic") {
            let secs = best_of(repeats, || resample_at_into(&x, &positions, 1, &mut y).expect("sized buffers"));
            report("cubic", samples, m, secs);
        }
    }
}

/// Best (cpu, wall) seconds of `repeats` calls of `f` after one warm-up call; cpu is the thread
/// CPU time where available, else the wall time.
fn best_of(repeats: usize, f: impl FnMut()) -> (f64, f64) {
    let t = time_thread(repeats, f);
    (t.cpu_or_wall(), t.wall)
}

fn report(engine: &str, n_in: usize, n_out: usize, (cpu, wall): (f64, f64)) {
    println!(
        "{{\"engine\":\"{engine}\",\"n_in\":{n_in},\"n_out\":{n_out},\"cpu_seconds\":{cpu:.9},\"wall_seconds\":{wall:.9},\"samples_per_s\":{:.1}}}",
        n_in as f64 / cpu
    );
}
