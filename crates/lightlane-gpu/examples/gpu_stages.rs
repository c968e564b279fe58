//! Per-stage timings of the real analysis pipeline (its stage marks), CPU engine vs GPU engine, on a simulated PAM4
//! capture (the end-to-end bench's: demo link, PRBS13Q, `ffe:15,dfe:1`, eye and TDECQ on).
//! Prints one table; run by the GPU bundle (`scripts/gpu_bench.sh`) after `gpu_bench`.
//!
//! Size: `LIGHTLANE_BENCH_SAMPLES` (capture samples, default 2^24; the demo link has 4.8
//! samples per UI). Repetitions: `LIGHTLANE_BENCH_REPS` (default 3).

use lightlane_core::analysis::AnalysisConfig;
use lightlane_core::pattern::Pattern;
use lightlane_core::sim::LinkModel;
use lightlane_core::Modulation;
use lightlane_gpu::{bench, GpuContext};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("LIGHTLANE_BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(1 << 24);
    let reps: usize = std::env::var("LIGHTLANE_BENCH_REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).min(3);
    // Named pool threads: the table splits the host's on-CPU time from the driver's threads.
    rayon::ThreadPoolBuilder::new().thread_name(|i| format!("rayon-{i}")).build_global()?;
    let ctx = GpuContext::shared()?;
    let model = LinkModel::demo_pam4();
    let nsym = ((n as f64 * model.baud / model.fs) as usize).clamp(2 * 8191, 1 << 23);
    let symbols = Pattern::parse("prbs13q")?.generate(Modulation::Pam4, nsym)?;
    let cap = model.run(&symbols)?;
    let mut cfg = AnalysisConfig::pam4(model.baud);
    cfg.equalizer = "ffe:15,dfe:1".parse()?;
    let rows = bench::stages(ctx, &cap.waveform, &cfg, reps)?;
    println!(
        "\nstages on '{}', {} samples ({nsym} symbols), mean of {reps}; CPU engine threads: {}",
        ctx.adapter().name,
        cap.waveform.len(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!(
        "| {:<28} | {:>10} | {:>12} | {:>10} | {:>12} | {:>14} | {:>8} |",
        "stage", "CPU wall s", "CPU on-CPU s", "GPU wall s", "GPU on-CPU s", "GPU host CPU s", "CPU/GPU"
    );
    println!("|{}|", ["-"; 7].map(|_| "---").join("|"));
    let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
    for r in rows {
        let ratio = r.gpu_wall_s.filter(|&g| g > 0.0).map(|g| format!("{:.2}x", r.cpu_wall_s / g)).unwrap_or_else(|| "-".into());
        println!(
            "| {:<28} | {:>10.4} | {:>12} | {:>10} | {:>12} | {:>14} | {:>8} |",
            r.stage,
            r.cpu_wall_s,
            f(r.cpu_on_cpu_s),
            f(r.gpu_wall_s),
            f(r.gpu_on_cpu_s),
            f(r.gpu_host_on_cpu_s),
            ratio
        );
    }
    println!("(on-CPU: all threads; GPU host CPU: the main and rayon threads, without the Vulkan driver's threads, which on lavapipe run the kernels)");
    Ok(())
}
