//! Fibre-emulation throughput ([`FiberEmulator::process`], one thread), one JSON line per case.
//!
//! Usage: `optical_throughput [--samples N] [--repeats R]`. Capture: N smoothed random optical
//! power samples around 1 mW at 256 GSa/s. Cases: chirp-free (α = 0, the real-FFT path) and
//! chirped (α = −0.5) at the 400GBASE-DR4 minimum dispersion (−0.93 ps/nm), an LR-like corner
//! (−40 ps/nm) and 20 km at 1550 nm (340 ps/nm). Rates are samples per second of thread CPU
//! time (Linux `CLOCK_THREAD_CPUTIME_ID`), so other load on a shared machine does not count;
//! the best of R runs.

use lightlane::optical::{EmulationOptions, EmulatorScratch, FiberEmulator};
use lightlane::sim::optical::{Chirp, Fiber};
use rand::{Rng, SeedableRng};

fn main() {
    let mut n = 1usize << 20;
    let mut repeats = 5usize;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--samples" => { n = args[i + 1].parse().expect("--samples takes an integer"); i += 1; }
            "--repeats" => { repeats = args[i + 1].parse().expect("--repeats takes an integer"); i += 1; }
            a => panic!("unknown argument {a}"),
        }
        i += 1;
    }
    let fs = 256e9;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut v = 1e-3f64;
    let samples: Vec<f32> = (0..n)
        .map(|_| {
            v += 0.2 * (1e-3 * (0.3 + 1.4 * rng.random::<f64>()) - v);
            v as f32
        })
        .collect();
    let mut out = vec![0f32; n];
    let mut scratch = EmulatorScratch::default();
    for alpha in [0.0, -0.5] {
        for (name, dl, lambda) in [("dr4_min", -0.93, 1304.5), ("lr_corner", -40.0, 1295.0), ("c_band_20km", 340.0, 1550.0)] {
            let fiber = Fiber::with_accumulated_dispersion(dl, lambda).expect("valid fibre");
            let options = EmulationOptions { chirp: Chirp::transient(alpha), ..Default::default() };
            let em = FiberEmulator::new(fs, &fiber, &options).expect("plannable");
            em.process(&samples, &mut out, &mut scratch).expect("emulates");
            let mut best = f64::INFINITY;
            for _ in 0..repeats {
                let c0 = thread_cpu_seconds();
                em.process(&samples, &mut out, &mut scratch).expect("emulates");
                best = best.min(thread_cpu_seconds() - c0);
            }
            println!(
                "{{\"case\":\"{name}\",\"alpha\":{alpha},\"dispersion_ps_per_nm\":{dl},\"samples\":{n},\"edge_samples\":{},\"cpu_seconds\":{best:.6},\"msa_per_s\":{:.2}}}",
                em.edge_samples(),
                n as f64 / best / 1e6
            );
        }
    }
}

/// CPU time of the calling thread (Linux `CLOCK_THREAD_CPUTIME_ID`); wall-clock elsewhere.
fn thread_cpu_seconds() -> f64 {
    #[cfg(target_os = "linux")]
    {
        #[repr(C)]
        struct Timespec {
            tv_sec: i64,
            tv_nsec: i64,
        }
        extern "C" {
            fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
        }
        let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec to a valid pointer.
        if unsafe { clock_gettime(3, &mut ts) } == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64()
}
