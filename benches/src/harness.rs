//! What every throughput binary needs: `--name value` arguments, CPU clocks (so that rates stay
//! meaningful on a machine shared with other jobs), best-of timing, the interleaved thread-scaling
//! measurement with its ideal-parallel control, and raw f32 output for the comparison scripts.

use rayon::prelude::*;
use rayon::ThreadPool;
use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

/// The command line of a throughput binary: `--name value` options and `--name` switches.
/// Every error (unknown name, missing or unparsable value) prints the usage line and exits 2;
/// `--help` prints it and exits 0.
pub struct Args {
    bin: &'static str,
    usage: &'static str,
    values: Vec<(String, String)>,
    switches: Vec<String>,
}

impl Args {
    /// Parses `std::env::args()`. `options` take a value, `switches` do not (names with `--`).
    pub fn parse(bin: &'static str, usage: &'static str, options: &[&str], switches: &[&str]) -> Self {
        Self::from_iter(bin, usage, options, switches, std::env::args().skip(1))
    }

    /// As [`Args::parse`] over the given arguments (without the program name).
    pub fn from_iter(
        bin: &'static str,
        usage: &'static str,
        options: &[&str],
        switches: &[&str],
        args: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut parsed = Self { bin, usage, values: Vec::new(), switches: Vec::new() };
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            if a == "--help" || a == "-h" {
                println!("usage: {bin} {usage}");
                std::process::exit(0);
            }
            if switches.contains(&a.as_str()) {
                parsed.switches.push(a);
            } else if options.contains(&a.as_str()) {
                let v = it.next().unwrap_or_else(|| parsed.fail(&format!("{a} needs a value")));
                parsed.values.push((a, v));
            } else {
                parsed.fail(&format!("unknown argument {a}"));
            }
        }
        parsed
    }

    /// The last value given for `name`, if any.
    pub fn string(&self, name: &str) -> Option<String> {
        self.values.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    /// The value of `name` parsed as `T`, or `default` when absent.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> T {
        match self.string(name) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| self.fail(&format!("{name} cannot take {v:?}"))),
        }
    }

    /// A comma list of `T` for `name`, or `default` when absent.
    pub fn list<T: FromStr>(&self, name: &str, default: Vec<T>) -> Vec<T> {
        match self.string(name) {
            None => default,
            Some(v) => v
                .split(',')
                .map(|t| t.trim().parse().unwrap_or_else(|_| self.fail(&format!("{name} takes a comma list, not {v:?}"))))
                .collect(),
        }
    }

    /// Whether the switch `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    /// Prints `msg` and the usage line, and exits with status 2.
    pub fn fail(&self, msg: &str) -> ! {
        eprintln!("{}: {msg}\nusage: {} {}", self.bin, self.bin, self.usage);
        std::process::exit(2)
    }
}

/// On-CPU time of the calling thread in seconds (Linux `CLOCK_THREAD_CPUTIME_ID`); `None`
/// elsewhere.
#[cfg(target_os = "linux")]
pub fn thread_cpu_seconds() -> Option<f64> {
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

/// On-CPU time of the calling thread; `None` off Linux.
#[cfg(not(target_os = "linux"))]
pub fn thread_cpu_seconds() -> Option<f64> {
    None
}

/// On-CPU time of the whole process in seconds: the sum over its threads of
/// `/proc/self/task/*/schedstat` (Linux); `None` elsewhere. Threads that ended between two
/// readings drop out of the sum (rayon's pools persist, so the benches' do not).
pub fn process_cpu_seconds() -> Option<f64> {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let s = std::fs::read_to_string(entry.ok()?.path().join("schedstat")).ok()?;
        total += s.split_whitespace().next()?.parse::<f64>().ok()? * 1e-9;
    }
    Some(total)
}

/// One measurement: the best wall time, the best and the mean on-CPU time (seconds) over the
/// repeats; the CPU figures are `None` where the clock is not available.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Smallest wall time of one call.
    pub wall: f64,
    /// Smallest on-CPU time of one call.
    pub cpu_best: Option<f64>,
    /// Mean on-CPU time of one call. On kernels whose schedstat advances in scheduler ticks the
    /// best of several tick-quantised readings is biased low; the mean is not.
    pub cpu_mean: Option<f64>,
}

impl Timing {
    /// The on-CPU time (best) where known, else the wall time: the figure that rates use.
    pub fn cpu_or_wall(&self) -> f64 {
        self.cpu_best.unwrap_or(self.wall)
    }
}

/// Times `repeats` calls of `f` after one warm-up call, reading `clock` around each call.
pub fn time_with(clock: fn() -> Option<f64>, repeats: usize, mut f: impl FnMut()) -> Timing {
    f();
    let repeats = repeats.max(1);
    let (mut wall, mut best, mut sum, mut known) = (f64::INFINITY, f64::INFINITY, 0.0, true);
    for _ in 0..repeats {
        let c0 = clock();
        let t0 = Instant::now();
        f();
        wall = wall.min(t0.elapsed().as_secs_f64());
        match (c0, clock()) {
            (Some(a), Some(b)) => {
                best = best.min(b - a);
                sum += b - a;
            }
            _ => known = false,
        }
    }
    Timing { wall, cpu_best: known.then_some(best), cpu_mean: known.then_some(sum / repeats as f64) }
}

/// [`time_with`] on the calling thread's CPU clock (single-thread work).
pub fn time_thread(repeats: usize, f: impl FnMut()) -> Timing {
    time_with(thread_cpu_seconds, repeats, f)
}

/// [`time_with`] on the whole process's CPU clock (work on a thread pool).
pub fn time_process(repeats: usize, f: impl FnMut()) -> Timing {
    time_with(process_cpu_seconds, repeats, f)
}

/// One pool size's result of [`interleaved_scaling`].
#[derive(Debug, Clone, Copy)]
pub struct Scaling {
    /// The workload's timing.
    pub timing: Timing,
    /// Best wall time of the [`ideal_parallel_control`] (compute-bound) in the same rounds.
    pub control: f64,
    /// Best wall time of the [`streaming_parallel_control`] (memory-bound) in the same rounds.
    pub stream_control: f64,
}

/// Thread scaling of `f` over `pools`, measured so that a passing disturbance hits every pool
/// size alike: after one warm-up call on each pool, `repeats` rounds each run `f` once on every
/// pool in turn, and then the two controls ([`ideal_parallel_control`], compute-bound, and
/// [`streaming_parallel_control`], memory-bound, each over `control_len` samples) once on every
/// pool.
pub fn interleaved_scaling(pools: &[ThreadPool], repeats: usize, control_len: usize, mut f: impl FnMut() + Send) -> Vec<Scaling> {
    let control_input: Vec<f32> = (0..control_len).map(|k| ((k as f32) * 0.618).sin()).collect();
    let mut stream_out = vec![0f32; control_len];
    let control = |pool: &ThreadPool| -> f64 {
        let t0 = Instant::now();
        std::hint::black_box(pool.install(|| ideal_parallel_control(&control_input)));
        t0.elapsed().as_secs_f64()
    };
    let mut stream = |pool: &ThreadPool| -> f64 {
        let t0 = Instant::now();
        pool.install(|| streaming_parallel_control(&control_input, &mut stream_out));
        std::hint::black_box(&stream_out);
        t0.elapsed().as_secs_f64()
    };
    for p in pools {
        p.install(&mut f);
        control(p);
        stream(p);
    }
    let n = pools.len();
    let (mut wall, mut cpu_best, mut cpu_sum, mut ctl, mut st) = (vec![f64::INFINITY; n], vec![f64::INFINITY; n], vec![0.0; n], vec![f64::INFINITY; n], vec![f64::INFINITY; n]);
    let mut known = true;
    for _ in 0..repeats.max(1) {
        for (i, p) in pools.iter().enumerate() {
            let c0 = process_cpu_seconds();
            let t0 = Instant::now();
            p.install(&mut f);
            wall[i] = wall[i].min(t0.elapsed().as_secs_f64());
            match (c0, process_cpu_seconds()) {
                (Some(a), Some(b)) => {
                    cpu_best[i] = cpu_best[i].min(b - a);
                    cpu_sum[i] += b - a;
                }
                _ => known = false,
            }
        }
        for (i, p) in pools.iter().enumerate() {
            ctl[i] = ctl[i].min(control(p));
            st[i] = st[i].min(stream(p));
        }
    }
    (0..n)
        .map(|i| Scaling {
            timing: Timing {
                wall: wall[i],
                cpu_best: known.then_some(cpu_best[i]),
                cpu_mean: known.then_some(cpu_sum[i] / repeats.max(1) as f64),
            },
            control: ctl[i],
            stream_control: st[i],
        })
        .collect()
}

/// The memory-bound block-parallel workload: one streaming pass `out = 0.5·x + 1` over
/// independent 2^16-sample blocks, the shape of the passes over a whole capture (finite check,
/// level search, comparator scan) whose speed is the memory system's, not the cores'.
pub fn streaming_parallel_control(x: &[f32], out: &mut [f32]) {
    out.par_chunks_mut(1 << 16).zip(x.par_chunks(1 << 16)).for_each(|(o, x)| {
        for (o, &v) in o.iter_mut().zip(x) {
            *o = 0.5 * v + 1.0;
        }
    });
}

/// The ideal block-parallel workload: a first-order recursive filter (a serial dependency on
/// every sample, like a clock-recovery loop or a DFE) over independent blocks of 2^16 samples,
/// with no overlap, no stitching and no serial part. Its speed-up from one pool size to another
/// is what this machine gives a perfectly parallel loop at that moment, the yardstick for the
/// block-parallel cases measured beside it.
pub fn ideal_parallel_control(x: &[f32]) -> f64 {
    x.par_chunks(1 << 16)
        .map(|block| {
            let (mut y, mut acc) = (0.0f64, 0.0f64);
            for &v in block {
                y = 0.999 * y + 0.001 * f64::from(v) + 1e-3 * (y * y).min(1.0);
                acc += y;
            }
            acc
        })
        .sum()
}

/// Writes `data` as raw little-endian f32 (for the comparison scripts); exits 1 on failure.
pub fn write_f32(bin: &str, path: &Path, data: &[f32]) {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    if let Err(e) = std::fs::write(path, bytes) {
        eprintln!("{bin}: cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Args {
        Args::from_iter("t", "", &["--n", "--list"], &["--fast"], v.iter().map(|s| s.to_string()))
    }

    #[test]
    fn options_switches_and_lists_parse() {
        let a = args(&["--n", "5", "--fast", "--list", "1, 2,3", "--n", "7"]);
        assert_eq!(a.get("--n", 0usize), 7);
        assert_eq!(a.get("--m", 3usize), 3);
        assert!(a.flag("--fast"));
        assert_eq!(a.list("--list", vec![9u32]), vec![1, 2, 3]);
        assert_eq!(args(&[]).list("--list", vec![9u32]), vec![9]);
        assert!(!args(&[]).flag("--fast"));
    }

    #[test]
    fn control_is_deterministic_across_pools() {
        let x: Vec<f32> = (0..300_000).map(|k| ((k % 97) as f32 - 48.0) / 48.0).collect();
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let a = one.install(|| ideal_parallel_control(&x));
        let b = two.install(|| ideal_parallel_control(&x));
        assert!(a.is_finite() && a != 0.0);
        assert!((a - b).abs() <= 1e-9 * a.abs());
        let mut out = vec![0f32; x.len()];
        two.install(|| streaming_parallel_control(&x, &mut out));
        assert!(out.iter().zip(&x).all(|(o, v)| *o == 0.5 * v + 1.0));
    }
}
