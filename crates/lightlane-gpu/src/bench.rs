//! Phase-timed kernel runs for the benchmarks (criterion bench `gpu` and the `gpu_bench`
//! runner): upload, compute and readback are timed apart, each ended by waiting for the device.
//! Compute is the mean of `reps` back-to-back dispatches on device-resident buffers, timed by
//! GPU timestamp queries when the adapter has `TIMESTAMP_QUERY` (see
//! [`PhaseTimes::device_timed`]), else by the host wall clock around submit + wait; upload and
//! readback are host wall clock.

use crate::context::{GpuContext, WORKGROUP};
use crate::kernels::{EyeParams, FirParams, RsParams};
use crate::pool::Role;
use crate::reference::EyeGeometry;
use crate::shaders;
use crate::stream::StagingRing;
use lightlane_core::eq::Ffe;
use lightlane_core::fec::{gf, RsCode};
use lightlane_core::modulation::{BitMapping, Slicer};
use lightlane_core::{Modulation, Result};
use std::time::Instant;

/// Seconds spent in each phase of one kernel run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PhaseTimes {
    /// Host → device copy of the input.
    pub upload_s: f64,
    /// One kernel execution (mean over the repetitions).
    pub compute_s: f64,
    /// Device → host copy of the (small) result.
    pub readback_s: f64,
    /// Whether `compute_s` comes from GPU timestamp queries (the adapter has
    /// `TIMESTAMP_QUERY`) rather than the host clock around submit + wait.
    pub device_timed: bool,
}

/// Whether the context's device can time compute passes with timestamp queries.
pub fn has_timestamps(ctx: &GpuContext) -> bool {
    ctx.adapter().timestamps
}

/// `reps` back-to-back dispatches of `pipe`; returns seconds per dispatch and whether they are
/// device time. With `TIMESTAMP_QUERY` the first pass writes a timestamp at its beginning and
/// the last at its end, and the difference (× the queue's timestamp period) is the device's
/// compute time; without it, or when the timestamps read back unusable (zero or reversed), the
/// host wall clock around submit + wait.
pub(crate) fn timed_dispatches(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bind: &wgpu::BindGroup,
    grid: (u32, u32),
    reps: usize,
) -> Result<(f64, bool)> {
    let reps = reps.max(1);
    ctx.wait()?;
    if has_timestamps(ctx) {
        let qs = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("lightlane bench timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("lightlane timestamp resolve"),
            size: 256,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        submit(ctx, |enc| {
            for i in 0..reps {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    // Only the first and the last pass carry timestamp writes.
                    timestamp_writes: (i == 0 || i + 1 == reps).then_some(wgpu::ComputePassTimestampWrites {
                        query_set: &qs,
                        beginning_of_pass_write_index: (i == 0).then_some(0),
                        end_of_pass_write_index: (i + 1 == reps).then_some(1),
                    }),
                });
                pass.set_pipeline(pipe);
                pass.set_bind_group(0, bind, &[]);
                pass.dispatch_workgroups(grid.0, grid.1, 1);
            }
            enc.resolve_query_set(&qs, 0..2, &resolve, 0);
        })?;
        let b = ctx.read_back(&resolve, 16)?;
        let t: &[u64] = bytemuck::cast_slice(&b[..16]);
        let period_ns = ctx.queue.get_timestamp_period() as f64;
        if t[0] != 0 && t[1] > t[0] && period_ns > 0.0 {
            return Ok(((t[1] - t[0]) as f64 * period_ns * 1e-9 / reps as f64, true));
        }
    }
    let ((), s) = time(|| {
        submit(ctx, |enc| {
            for _ in 0..reps {
                ctx.dispatch(pipe, bind, grid, enc);
            }
        })?;
        ctx.wait()
    })?;
    Ok((s / reps as f64, false))
}

fn time<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let t = Instant::now();
    let v = f()?;
    Ok((v, t.elapsed().as_secs_f64()))
}

fn submit(ctx: &GpuContext, f: impl FnOnce(&mut wgpu::CommandEncoder)) -> Result<()> {
    ctx.scoped(|| {
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        f(&mut enc);
        ctx.queue.submit([enc.finish()]);
    })
}

/// FFE of `taps.len()` taps (T-spaced) over `x`: output samples per run = `x.len()`.
pub fn fir(ctx: &GpuContext, x: &[f32], taps: &[f32], reps: usize) -> Result<PhaseTimes> {
    let n = x.len();
    let l = taps.len();
    let (xb, up) = time(|| {
        let b = ctx.upload(Role::Input, bytemuck::cast_slice(x))?;
        ctx.wait()?;
        Ok(b)
    })?;
    let tb = ctx.upload(Role::Input, bytemuck::cast_slice(taps))?;
    let yb = ctx.buffer(Role::Output, n as u64 * 4)?;
    let r = 4u32;
    let grid = ctx.grid((n as u32).div_ceil(WORKGROUP * r));
    let p = FirParams {
        n_in: n as u32,
        n_out: n as u32,
        sps: 1,
        base: (l / 2) as u32,
        ntaps: l as u32,
        per_thread: r,
        wg_x: grid.0,
        _pad: 0,
    };
    let ub = ctx.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
    let pipe = ctx.pipeline("fir", shaders::FIR, "fir_tiled")?;
    let bind = ctx.bind(&pipe, &[(0, ub.buffer()), (1, tb.buffer()), (2, xb.buffer()), (3, yb.buffer())]);
    let (comp, device_timed) = timed_dispatches(ctx, &pipe, &bind, grid, reps)?;
    // The FFE's result stays on the device in the pipeline; read back 1 MiB as the sample.
    let (_, rb) = time(|| ctx.read_back(yb.buffer(), (n as u64 * 4).min(1 << 20)))?;
    Ok(PhaseTimes {
        upload_s: up,
        compute_s: comp,
        readback_s: rb,
        device_timed,
    })
}

/// Eye histogram of `y` with `geom`.
pub fn eye(ctx: &GpuContext, y: &[f32], geom: &EyeGeometry, reps: usize) -> Result<PhaseTimes> {
    let bins = geom.bins()?;
    let n = y.len();
    let (yb, up) = time(|| {
        let b = ctx.upload(Role::Input, bytemuck::cast_slice(y))?;
        ctx.wait()?;
        Ok(b)
    })?;
    let hb = ctx.buffer(Role::Output, bins as u64 * 4)?;
    let private = bins <= crate::kernels::EYE_PRIVATE_BINS;
    let segs = if private { 16 } else { 4 };
    let grid = ctx.grid(((n - 1) as u32).div_ceil(WORKGROUP * segs));
    let p = EyeParams {
        n: n as u32,
        k0: 0,
        period: geom.period() as u32,
        m: geom.columns_per_sample() as u32,
        bins_t: geom.time_bins as u32,
        bins_a: geom.amp_bins as u32,
        lo: geom.lo,
        s256: geom.s256(),
        wg_x: grid.0,
        segs,
        _p0: 0,
        _p1: 0,
    };
    let ub = ctx.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
    let pipe = ctx.pipeline("eye", shaders::EYE, if private { "eye_private" } else { "eye_global" })?;
    let bind = ctx.bind(&pipe, &[(0, ub.buffer()), (1, yb.buffer()), (2, hb.buffer())]);
    let (comp, device_timed) = timed_dispatches(ctx, &pipe, &bind, grid, reps)?;
    let (_, rb) = time(|| ctx.read_back(hb.buffer(), bins as u64 * 4))?;
    Ok(PhaseTimes {
        upload_s: up,
        compute_s: comp,
        readback_s: rb,
        device_timed,
    })
}

/// RS syndromes of `words` (a multiple of n symbols).
pub fn rs_syndromes(ctx: &GpuContext, code: RsCode, words: &[u16], reps: usize) -> Result<PhaseTimes> {
    let n = code.n();
    let count = words.len() / n;
    let two_t = code.parity_len();
    let log: Vec<u32> = (0..1024u16).map(|a| gf::log(a).unwrap_or(0) as u32).collect();
    let exp: Vec<u32> = (0..2048usize).map(|e| gf::exp(e % gf::GROUP_ORDER) as u32).collect();
    let lb = ctx.upload(Role::Input, bytemuck::cast_slice(&log))?;
    let eb = ctx.upload(Role::Input, bytemuck::cast_slice(&exp))?;
    let (sb, up) = time(|| {
        let b = ctx.upload(Role::Input, bytemuck::cast_slice(words))?;
        ctx.wait()?;
        Ok(b)
    })?;
    let ob = ctx.buffer(Role::Output, (count * two_t * 4) as u64)?;
    let grid = ctx.grid((count as u32).div_ceil(2));
    let p = RsParams {
        words: count as u32,
        n: n as u32,
        two_t: two_t as u32,
        wg_x: grid.0,
    };
    let ub = ctx.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
    let pipe = ctx.pipeline("rs_syndromes", shaders::RS_SYNDROMES, "syndromes")?;
    let bind = ctx.bind(&pipe, &[(0, ub.buffer()), (1, sb.buffer()), (2, lb.buffer()), (3, eb.buffer()), (4, ob.buffer())]);
    let (comp, device_timed) = timed_dispatches(ctx, &pipe, &bind, grid, reps)?;
    let (_, rb) = time(|| ctx.read_back(ob.buffer(), (count * two_t * 4) as u64))?;
    Ok(PhaseTimes {
        upload_s: up,
        compute_s: comp,
        readback_s: rb,
        device_timed,
    })
}

/// Host → device bandwidth through the staging ring: bytes per second for `data`, streamed in
/// chunks of `chunk_bytes` (no kernel).
pub fn h2d(ctx: &GpuContext, data: &[u8], chunk_bytes: usize) -> Result<f64> {
    let mut ring = StagingRing::new(ctx, chunk_bytes as u64, 3)?;
    // Warm the ring (first maps, allocation) outside the timing.
    ring.push(&data[..chunk_bytes.min(data.len())], |_, _| {})?;
    ring.finish()?;
    let t = Instant::now();
    for c in data.chunks(chunk_bytes) {
        ring.push(c, |_, _| {})?;
    }
    ring.finish()?;
    Ok(data.len() as f64 / t.elapsed().as_secs_f64())
}

/// The fused pass over a device-resident capture: FFE → slicer → comparison → count in one
/// kernel, then the eye histogram of the same samples, in one submission. Returns seconds per
/// pass (mean of `reps`).
#[allow(clippy::too_many_arguments)]
pub fn fused_pass(ctx: &GpuContext, ffe: &Ffe, x: &[f32], expected: &[u8], geom: &EyeGeometry, reps: usize) -> Result<f64> {
    let n = ffe.output_len(x.len()).min(expected.len());
    let slicer = Slicer::for_levels(&Modulation::Pam4.level_set())?;
    let xb = ctx.upload(Role::Input, bytemuck::cast_slice(x))?;
    let tb = ctx.upload(Role::Input, bytemuck::cast_slice(ffe.taps()))?;
    let eb = ctx.upload(Role::Input, &expected[..n])?;
    let counters = ctx.buffer(Role::Output, 32)?;
    let positions = ctx.buffer(Role::Output, 4096)?;
    let bins = geom.bins()?;
    let hb = ctx.buffer(Role::Output, bins as u64 * 4)?;
    let private = bins <= crate::kernels::EYE_PRIVATE_BINS;
    let segs = if private { 16 } else { 4 };
    let egrid = ctx.grid(((x.len() - 1) as u32).div_ceil(WORKGROUP * segs));
    let ep = EyeParams {
        n: x.len() as u32,
        k0: 0,
        period: geom.period() as u32,
        m: geom.columns_per_sample() as u32,
        bins_t: geom.time_bins as u32,
        bins_a: geom.amp_bins as u32,
        lo: geom.lo,
        s256: geom.s256(),
        wg_x: egrid.0,
        segs,
        _p0: 0,
        _p1: 0,
    };
    let eub = ctx.upload(Role::Uniform, bytemuck::bytes_of(&ep))?;
    let epipe = ctx.pipeline("eye", shaders::EYE, if private { "eye_private" } else { "eye_global" })?;
    let ebind = ctx.bind(&epipe, &[(0, eub.buffer()), (1, xb.buffer()), (2, hb.buffer())]);
    ctx.wait()?;
    let t = Instant::now();
    for _ in 0..reps.max(1) {
        ctx.ffe_slice_count_resident(ffe, &xb, x.len(), &tb, &eb, n, &slicer, Modulation::Pam4, BitMapping::Gray, 1024, &counters, &positions)?;
        submit(ctx, |enc| ctx.dispatch(&epipe, &ebind, egrid, enc))?;
    }
    ctx.wait()?;
    Ok(t.elapsed().as_secs_f64() / reps.max(1) as f64)
}

/// Fixed-clock Keys cubic resampling of `x` on `grid` (upload of `x`, compute = mean of `reps`
/// dispatches, readback of the whole output). Returns the phase times and the outputs per run.
pub fn resample(ctx: &GpuContext, x: &[f32], grid: &lightlane_core::timing::ResampleGrid, reps: usize) -> Result<(PhaseTimes, usize)> {
    ctx.bench_resample(x, grid, reps)
}

/// Seconds of one whole [`GpuContext::mlse_detect_blocks`] call (upload, the segmented
/// dispatches, readback of the decisions), the mean of `reps` calls.
pub fn mlse_blocks(ctx: &GpuContext, mlse: &lightlane_core::eq::Mlse, y: &[f32], block: usize, warmup: usize, reps: usize) -> Result<f64> {
    ctx.mlse_detect_blocks(mlse, y, block, warmup)?;
    let t = Instant::now();
    for _ in 0..reps.max(1) {
        ctx.mlse_detect_blocks(mlse, y, block, warmup)?;
    }
    Ok(t.elapsed().as_secs_f64() / reps.max(1) as f64)
}

/// Seconds of one whole [`GpuContext::dfe_detect_blocks`] call (upload, the segmented
/// dispatches, readback of the decisions), the mean of `reps` calls.
pub fn dfe_blocks(ctx: &GpuContext, dfe: &lightlane_core::eq::Dfe, y: &[f32], block: usize, warmup: usize, reps: usize) -> Result<f64> {
    ctx.dfe_detect_blocks(dfe, y, block, warmup)?;
    let t = Instant::now();
    for _ in 0..reps.max(1) {
        ctx.dfe_detect_blocks(dfe, y, block, warmup)?;
    }
    Ok(t.elapsed().as_secs_f64() / reps.max(1) as f64)
}

/// Capture-to-report timings of the CPU and the GPU engine on the same machine and capture
/// (see [`end_to_end`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndToEnd {
    /// Seconds per capture on the CPU engine (load + analysis), mean of the repetitions.
    pub cpu_s: f64,
    /// Seconds per capture on the GPU engine (load + analysis), mean of the repetitions.
    pub gpu_s: f64,
    /// Seconds of the load alone (reading and decoding the capture), mean.
    pub load_s: f64,
    /// Samples of the capture.
    pub samples: usize,
    /// Whether both engines reported the same decisions and error counts.
    pub agree: bool,
}

/// End to end, capture → report: `load` (e.g. reading a capture file) followed by the whole
/// analysis, on the CPU engine and on the GPU engine of `ctx` (the pipeline's stages on the
/// device), each the mean of `reps` runs after one untimed warm-up run (pipeline
/// compilation, buffer pools).
pub fn end_to_end(
    ctx: &GpuContext,
    load: &dyn Fn() -> Result<lightlane_core::Waveform>,
    config: &lightlane_core::analysis::AnalysisConfig,
    reps: usize,
) -> Result<EndToEnd> {
    use lightlane_core::analysis::analyze_with;
    use lightlane_core::Backend;
    let reps = reps.max(1);
    let accel = crate::GpuAccelerator { ctx, fallback: false };
    let wf = load()?;
    let cpu_report = analyze_with(&wf, config, Backend::Cpu, None)?;
    let gpu_report = analyze_with(&wf, config, Backend::Gpu, Some(&accel))?;
    let agree = cpu_report.decisions == gpu_report.decisions
        && cpu_report.bit_errors == gpu_report.bit_errors
        && cpu_report.symbol_errors == gpu_report.symbol_errors
        && cpu_report.stages == gpu_report.stages;
    let (_, load_s) = time(|| {
        for _ in 0..reps {
            load()?;
        }
        Ok(())
    })?;
    let (_, cpu_s) = time(|| {
        for _ in 0..reps {
            analyze_with(&load()?, config, Backend::Cpu, None)?;
        }
        Ok(())
    })?;
    let (_, gpu_s) = time(|| {
        for _ in 0..reps {
            analyze_with(&load()?, config, Backend::Gpu, Some(&accel))?;
        }
        Ok(())
    })?;
    let r = reps as f64;
    Ok(EndToEnd {
        cpu_s: cpu_s / r,
        gpu_s: gpu_s / r,
        load_s: load_s / r,
        samples: wf.len(),
        agree,
    })
}

/// CPU time of this process so far (all threads, user + system), in seconds, from
/// `/proc/self/stat` (clock ticks of 10 ms); `None` where that file does not exist. On-CPU
/// time is what a shared machine can measure honestly: wall clock counts other jobs' time.
pub fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// One row of [`stages`]: a pipeline stage on the CPU engine and (where the GPU engine runs
/// it) on the GPU engine, each the mean of the repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTiming {
    /// What ran.
    pub stage: String,
    /// Wall seconds on the CPU engine.
    pub cpu_wall_s: f64,
    /// On-CPU seconds of the process (all threads) on the CPU engine, if measurable.
    pub cpu_on_cpu_s: Option<f64>,
    /// Wall seconds on the GPU engine (`None`: the stage stays on the CPU).
    pub gpu_wall_s: Option<f64>,
}

fn timed<T>(reps: usize, f: &mut dyn FnMut() -> Result<T>) -> Result<(f64, Option<f64>)> {
    let reps = reps.max(1);
    let c0 = process_cpu_s();
    let t = Instant::now();
    for _ in 0..reps {
        f()?;
    }
    let wall = t.elapsed().as_secs_f64() / reps as f64;
    let cpu = match (c0, process_cpu_s()) {
        (Some(a), Some(b)) => Some((b - a) / reps as f64),
        _ => None,
    };
    Ok((wall, cpu))
}

/// Per-stage timings of the analysis of `wf` with `config` (fixed baud and CDR clock
/// recovery expected, as in the end-to-end bench): clock recovery, the reference-receiver
/// (BT4) filter, resampling onto the recovered clock for the FFE, level clustering and pattern
/// alignment of the symbol centres, resampling for the eye
/// (`config.eye`'s points per UI, the raw and the BT4 signal), the eye histogram of the
/// resampled raw signal, TDECQ (without the known symbols) and one TDECQ-shaped evaluation
/// ([`GpuContext::weighted_histogram`] vs its naive CPU oracle), and the whole analysis; CPU engine vs GPU engine where the GPU engine
/// runs the stage. Each after one untimed run, mean of `reps`.
pub fn stages(ctx: &GpuContext, wf: &lightlane_core::Waveform, config: &lightlane_core::analysis::AnalysisConfig, reps: usize) -> Result<Vec<StageTiming>> {
    use lightlane_core::analysis::{analyze_with, ClockRecovery};
    use lightlane_core::timing::{recover_clock, resample_at_parallel, CdrConfig};
    use lightlane_core::{Backend, Error};
    let baud = config.baud.ok_or_else(|| Error::invalid("baud", "none", "the stage bench needs a fixed baud"))?;
    let cdr = match &config.clock {
        ClockRecovery::Cdr(c) => c.clone(),
        _ => CdrConfig::default(),
    };
    let fs = wf.fs();
    let x = &wf.samples;
    let accel = crate::GpuAccelerator { ctx, fallback: false };
    let mut rows = Vec::new();
    let mut row = |stage: &str, cpu: &mut dyn FnMut() -> Result<()>, gpu: Option<&mut dyn FnMut() -> Result<()>>| -> Result<()> {
        cpu()?;
        let (cpu_wall_s, cpu_on_cpu_s) = timed(reps, cpu)?;
        let gpu_wall_s = match gpu {
            Some(g) => {
                g()?;
                Some(timed(reps, g)?.0)
            }
            None => None,
        };
        rows.push(StageTiming { stage: stage.into(), cpu_wall_s, cpu_on_cpu_s, gpu_wall_s });
        Ok(())
    };
    // As the pipeline: the recovered clock, or an ideal one at the given baud when the CDR
    // fails on a closed raw eye.
    let spu = fs / baud;
    let positions = match recover_clock(x, fs, baud, config.modulation, &cdr) {
        Ok(rc) => {
            row("clock recovery (CDR)", &mut || recover_clock(x, fs, baud, config.modulation, &cdr).map(|_| ()), None)?;
            rc.symbol_positions
        }
        Err(_) => {
            let phase = lightlane_core::timing::recover_phase(x, spu, config.modulation, &config.phase)?.phase_ui;
            row("sampling phase (CDR failed: ideal clock)", &mut || lightlane_core::timing::recover_phase(x, spu, config.modulation, &config.phase).map(|_| ()), None)?;
            (0..(x.len() as f64 / spu - phase - 1.0).max(0.0) as usize).map(|k| (phase + k as f64) * spu).collect()
        }
    };
    let pos = &positions;
    let f3db = config.eye.as_ref().and_then(|e| e.tdecq.as_ref()).map(|t| t.reference_f3db_per_baud).unwrap_or(0.5) * baud;
    let bt4 = lightlane_core::eq::bessel_thomson_filter(x, fs, f3db, 4)?;
    row("BT4 reference filter", &mut || lightlane_core::eq::bessel_thomson_filter(x, fs, f3db, 4).map(|_| ()), None)?;
    let sps = config.equalizer.ffe().map(|f| f.1).unwrap_or(1);
    row(
        &format!("resample to clock, {sps}/UI"),
        &mut || {
            resample_at_parallel(x, pos, sps);
            Ok(())
        },
        Some(&mut || ctx.resample_at(x, pos, sps).map(|_| ())),
    )?;
    // The host stages between the clock and the FFE: levels of the symbol centres, then the
    // pattern alignment of the raw decisions.
    let centres = resample_at_parallel(x, pos, 1);
    let m = config.modulation;
    let clusters = lightlane_core::timing::cluster_levels(&centres, m.levels())?;
    row("level clustering (symbol centres)", &mut || lightlane_core::timing::cluster_levels(&centres, m.levels()).map(|_| ()), None)?;
    let means: Vec<f32> = clusters.means.iter().map(|&v| v as f32).collect();
    let decisions = lightlane_core::modulation::Slicer::for_levels(&means)?.slice_vec(&centres);
    let pattern = lightlane_core::pattern::Pattern::parse(&config.pattern)?;
    let checker = lightlane_core::pattern::PatternChecker::new(&pattern, m, config.sync.clone())?;
    let (lo, hi) = (clusters.means[0], clusters.means[m.levels() - 1]);
    let centres_n: Vec<f32> = centres.iter().map(|&v| ((v as f64 - lo) * 2.0 / (hi - lo) - 1.0) as f32).collect();
    // As the pipeline: the hard decisions, else (a closed raw eye) the soft correlation.
    let align = || -> Result<()> {
        if checker.align(&decisions).is_err() {
            lightlane_core::pattern::align_soft(&checker, &pattern, &centres_n)?;
        }
        Ok(())
    };
    row("pattern alignment (hard, else soft)", &mut || align(), None)?;
    let s = config.eye.as_ref().map(|e| e.eye.samples_per_ui).unwrap_or(32);
    for (name, sig) in [("raw", x.as_slice()), ("BT4", bt4.as_slice())] {
        row(
            &format!("resample to clock, eye {s}/UI ({name})"),
            &mut || {
                resample_at_parallel(sig, pos, s);
                Ok(())
            },
            Some(&mut || ctx.resample_at(sig, pos, s).map(|_| ())),
        )?;
    }
    let y = resample_at_parallel(x, pos, s);
    let (lo, hi) = y.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let g = lightlane_core::eye::EyeGeometry {
        samples_per_ui: s,
        span_ui: 2,
        time_bins: 2 * s * (256 / (2 * s)).max(1),
        amp_bins: 256,
        lo,
        hi: hi + (hi - lo) * 1e-3,
    };
    row(
        "eye histogram (raw)",
        &mut || lightlane_core::accel::cpu_eye_histogram(&g, &y).map(|_| ()),
        Some(&mut || lightlane_core::accel::Accelerator::eye_histogram(&accel, &g, &y).map(|_| ())),
    )?;
    if let Some(tc) = config.eye.as_ref().and_then(|e| e.tdecq.as_ref()) {
        let mut sig = lightlane_core::eye::EyeSignal::from_centred(&resample_at_parallel(&bt4, pos, s), s)?;
        sig.baud = Some(baud);
        let evals = lightlane_core::eye::tdecq(&sig, None, tc)?.evaluations;
        row(&format!("TDECQ (BT4 eye, {evals} evaluations)"), &mut || lightlane_core::eye::tdecq(&sig, None, tc).map(|_| ()), None)?;
        // One evaluation of TDECQ's search on all symbols: 5 tap columns, 2 samples per symbol
        // of the 0.04 UI window, 1024 bins (the naive CPU oracle vs the GPU kernel; the
        // evaluation is not wired into TDECQ yet).
        let no = 2;
        let data: Vec<f32> = (0..pos.len().saturating_sub(8)).flat_map(|k| [y[k * s + s / 2], y[k * s + s / 2 + 1]]).collect();
        let rows = data.len().saturating_sub(5 * no);
        let offsets: Vec<usize> = (0..5).map(|t| (4 - t) * no).collect();
        let w = [0.02f32, -0.1, 1.0, -0.1, 0.02];
        let span = (hi - lo) as f64;
        let (hlo, hstep) = (lo as f64 - span, 3.0 * span.max(1e-30) / 1024.0);
        let plan = ctx.weighted_histogram(&data, &offsets, rows, hlo, hstep, 1024)?;
        row(
            &format!("TDECQ evaluation: 5 cols x {rows} rows"),
            &mut || crate::weighted_histogram_reference(&data, &offsets, rows, &w, hlo, hstep, 1024).map(|_| ()),
            Some(&mut || plan.counts(&w).map(|_| ())),
        )?;
    }
    row(
        "whole analysis",
        &mut || analyze_with(wf, config, Backend::Cpu, None).map(|_| ()),
        Some(&mut || analyze_with(wf, config, Backend::Gpu, Some(&accel)).map(|_| ())),
    )?;
    Ok(rows)
}
