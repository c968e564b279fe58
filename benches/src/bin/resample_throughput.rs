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
use lightlane_benches::random_signal;

fn main() {
    let mut samples = 1usize << 20;
    let mut outputs = vec![819_200usize, 1_310_720];
    let mut repeats = 11usize;
    let mut write_dir: Option<std::path::PathBuf> = None;
    let mut engines = vec!["fft".to_string(), "polyphase".to_string(), "cubic".to_string()];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--samples" => samples = value.parse().unwrap_or_else(|_| usage("--samples takes an integer")),
            "--repeats" => repeats = value.parse().unwrap_or_else(|_| usage("--repeats takes an integer")),
            "--outputs" => {
                outputs = value
                    .split(',')
                    .map(|t| t.trim().parse().unwrap_or_else(|_| usage("--outputs takes a comma list of integers")))
                    .collect()
            }
            "--write-dir" => write_dir = Some(value.into()),
            "--engines" => engines = value.split(',').map(|e| e.trim().to_string()).collect(),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    if samples < 2 || repeats == 0 || outputs.iter().any(|&m| m < 2) {
        usage("--samples, --outputs must be at least 2 and --repeats positive");
    }
    let x = random_signal(samples, 1);
    if let Some(dir) = &write_dir {
        write_f32(&dir.join("x.f32"), &x);
    }
    let poly = PolyphaseResampler::new(&PolyphaseConfig::default()).expect("default design");
    for &m in &outputs {
        let r = FftResampler::new(samples, m).unwrap_or_else(|e| usage(&e.to_string()));
        let mut y = vec![0f32; m];
        let mut scratch = FftResampleScratch::default();
        let run = |e: &str| engines.iter().any(|x| x == e);
        if run("fft") {
            let secs = best_of(repeats, || r.process(&x, &mut y, &mut scratch).expect("sized buffers"));
            report("fft", samples, m, secs);
            if let Some(dir) = &write_dir {
                write_f32(&dir.join(format!("y{m}.f32")), &y);
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
fn best_of(repeats: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let (mut cpu, mut wall) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..repeats.max(1) {
        let c0 = thread_cpu_seconds();
        let t0 = std::time::Instant::now();
        f();
        let w = t0.elapsed().as_secs_f64();
        wall = wall.min(w);
        cpu = cpu.min(match (c0, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => w,
        });
    }
    (cpu, wall)
}

/// CPU time of the calling thread (Linux `CLOCK_THREAD_CPUTIME_ID`). Elsewhere: `None`.
#[cfg(target_os = "linux")]
fn thread_cpu_seconds() -> Option<f64> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec to a valid pointer.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_seconds() -> Option<f64> {
    None
}

fn report(engine: &str, n_in: usize, n_out: usize, (cpu, wall): (f64, f64)) {
    println!(
        "{{\"engine\":\"{engine}\",\"n_in\":{n_in},\"n_out\":{n_out},\"cpu_seconds\":{cpu:.9},\"wall_seconds\":{wall:.9},\"samples_per_s\":{:.1}}}",
        n_in as f64 / cpu
    );
}

fn write_f32(path: &std::path::Path, data: &[f32]) {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    if let Err(e) = std::fs::write(path, bytes) {
        eprintln!("resample_throughput: cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("resample_throughput: {msg}\nusage: resample_throughput [--samples N] [--outputs M1,M2] [--repeats R] [--engines fft,polyphase,cubic] [--write-dir DIR]");
    std::process::exit(2);
}
