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
use lightlane_benches::harness::{time_thread, Args};
use rand::{Rng, SeedableRng};

fn main() {
    let args = Args::parse("optical_throughput", "[--samples N] [--repeats R]", &["--samples", "--repeats"], &[]);
    let n: usize = args.get("--samples", 1 << 20);
    let repeats: usize = args.get("--repeats", 5);
    if n < 2 || repeats == 0 {
        args.fail("--samples must be at least 2 and --repeats positive");
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
            let best = time_thread(repeats, || em.process(&samples, &mut out, &mut scratch).expect("emulates")).cpu_or_wall();
            println!(
                "{{\"case\":\"{name}\",\"alpha\":{alpha},\"dispersion_ps_per_nm\":{dl},\"samples\":{n},\"edge_samples\":{},\"cpu_seconds\":{best:.6},\"msa_per_s\":{:.2}}}",
                em.edge_samples(),
                n as f64 / best / 1e6
            );
        }
    }
}
