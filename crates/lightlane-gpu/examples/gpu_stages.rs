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
    bench::name_pool_threads()?;
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
    print!("{}", bench::stages_table(&rows));
    Ok(())
}
