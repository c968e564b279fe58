//! Phase-timed kernel runs for the benchmarks (criterion bench `gpu` and the `gpu_bench`
//! runner): upload, compute and readback are timed apart, each ended by waiting for the device.
//! Compute is the mean of `reps` back-to-back dispatches on device-resident buffers, timed by
//! GPU timestamp queries when the adapter has `TIMESTAMP_QUERY` (see
//! [`PhaseTimes::device_timed`]), else by the host wall clock around submit + wait; upload and
//! readback are host wall clock.

use crate::context::GpuContext;
use crate::pool::Role;
use crate::reference::EyeGeometry;
use crate::shaders;
use crate::stream::StagingRing;
use lightlane_core::eq::Ffe;
use lightlane_core::fec::RsCode;
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
    timed_sequence(ctx, &[(pipe, bind, grid)], reps)
}

/// Seconds per repetition of the dispatches `seq` (in order), `reps` repetitions back to back
/// in one submission: by GPU timestamps around the whole run where the adapter has them (then
/// `true`), else by the host clock around submit and wait.
pub(crate) fn timed_sequence(
    ctx: &GpuContext,
    seq: &[(&wgpu::ComputePipeline, &wgpu::BindGroup, (u32, u32))],
    reps: usize,
) -> Result<(f64, bool)> {
    let reps = reps.max(1);
    let passes = reps * seq.len();
    ctx.wait()?;
    if has_timestamps(ctx) && passes > 0 {
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
            for i in 0..passes {
                let (pipe, bind, grid) = seq[i % seq.len()];
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    // Only the first and the last pass carry timestamp writes.
                    timestamp_writes: (i == 0 || i + 1 == passes).then_some(
                        wgpu::ComputePassTimestampWrites {
                            query_set: &qs,
                            beginning_of_pass_write_index: (i == 0).then_some(0),
                            end_of_pass_write_index: (i + 1 == passes).then_some(1),
                        },
                    ),
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
            for i in 0..passes {
                let (pipe, bind, grid) = seq[i % seq.len()];
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
    let l = taps.len();
    // The kernel the engine picks for a symbol-spaced FFE of these taps (reference tap L/2).
    let plan = ctx.fir_plan(x.len(), x.len(), l, 1, l / 2)?;
    fir_phases(ctx, x, taps, plan, reps)
}

/// The reference receiver's filter ([`GpuContext::fir_held`]) of `taps` with lead `lead` over
/// `x`: output samples per run = `x.len()`.
pub fn reference_filter(ctx: &GpuContext, x: &[f32], taps: &[f32], lead: usize, reps: usize) -> Result<PhaseTimes> {
    let plan = ctx.fir_held_plan(x.len(), taps.len(), lead)?;
    fir_phases(ctx, x, &crate::kernels::held_kernel_taps(taps), plan, reps)
}

/// How the adapter's WGSL `fma` rounds in the reference filter ([`GpuContext::fir_held`]) of
/// `taps` (lead `lead`) over `x`: how many of the `x.len()` outputs are bit for bit the CPU's
/// sum in its order fused (one rounding per tap, as the CPU engine's FMA paths) and how many
/// multiply-then-add (two). All fused: the GPU engine's TDECQ signal is the CPU engine's, bits
/// and all; all unfused (lavapipe): within rounding of it. A mix would be a kernel error.
pub fn held_filter_rounding(ctx: &GpuContext, x: &[f32], taps: &[f32], lead: usize) -> Result<(usize, usize)> {
    let y = ctx.fir_held(x, taps, lead)?;
    let n = x.len() as isize;
    let at = |i: isize| x[i.clamp(0, n - 1) as usize];
    let (mut fused, mut unfused) = (0, 0);
    for (k, &v) in y.iter().enumerate() {
        let input = |j: usize| at(k as isize + lead as isize - j as isize);
        let (f, u) = (0..taps.len()).rev().fold((0f32, 0f32), |(f, u), j| (taps[j].mul_add(input(j), f), u + taps[j] * input(j)));
        fused += (v.to_bits() == f.to_bits()) as usize;
        unfused += (v.to_bits() == u.to_bits()) as usize;
    }
    Ok((fused, unfused))
}

/// A FIR `plan` over `x` (`x.len()` outputs) with `taps` as the kernel reads them: the upload
/// of `x`, the dispatches and the readback timed apart. The output stays on the device in the
/// pipeline (the FFE's for the slicer, the reference filter's for its resampling): 1 MiB of it
/// is read back as the sample.
fn fir_phases(ctx: &GpuContext, x: &[f32], taps: &[f32], plan: crate::kernels::FirPlan, reps: usize) -> Result<PhaseTimes> {
    let n = x.len();
    let (xb, up) = time(|| {
        let b = ctx.upload(Role::Input, bytemuck::cast_slice(x))?;
        ctx.wait()?;
        Ok(b)
    })?;
    let tb = ctx.upload(Role::Input, bytemuck::cast_slice(taps))?;
    let yb = ctx.buffer(Role::Output, n as u64 * 4)?;
    let ub = ctx.upload(Role::Uniform, bytemuck::bytes_of(&plan.params))?;
    let bind = ctx.bind(&plan.pipeline, &plan.bindings(ub.buffer(), tb.buffer(), xb.buffer(), yb.buffer()));
    let (comp, device_timed) = timed_dispatches(ctx, &plan.pipeline, &bind, plan.grid, reps)?;
    let (_, rb) = time(|| ctx.read_back(yb.buffer(), (n as u64 * 4).min(1 << 20)))?;
    Ok(PhaseTimes {
        upload_s: up,
        compute_s: comp,
        readback_s: rb,
        device_timed,
    })
}

/// Raw ADC codes → volts ([`GpuContext::codes_to_volts`]) of the codes of `raw` that fit one
/// binding: the upload of the codes (1 or 2 bytes each), the kernel, the readback of the volts
/// timed apart. Returns the phase times and the volts (as many as the codes converted).
pub fn convert(ctx: &GpuContext, raw: &lightlane_core::waveform::RawCodes, reps: usize) -> Result<(PhaseTimes, Vec<f32>)> {
    ctx.bench_codes_to_volts(raw, reps)
}

/// The fused slicer + comparison + error count ([`GpuContext::slice_count`]) over a resident
/// PAM4 signal `y` against `expected` (Gray, up to `cap` error positions kept), as many symbols
/// as fit one binding: the upload of `y` and the expected symbols, the kernel, the readback of
/// the counts and positions timed apart. Returns the phase times, the symbols counted and the
/// counts of one pass.
pub fn slice_count(ctx: &GpuContext, y: &[f32], expected: &[u8], cap: usize, reps: usize) -> Result<(PhaseTimes, usize, crate::SliceCount)> {
    let slicer = Slicer::for_levels(&Modulation::Pam4.level_set())?;
    ctx.bench_slice_count(y, expected, &slicer, Modulation::Pam4, cap, reps)
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
    let (pipe, grid, p) = ctx.eye_plan(n, 0, geom)?;
    let ub = ctx.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
    let bind = ctx.bind(
        &pipe,
        &[(0, ub.buffer()), (1, yb.buffer()), (2, hb.buffer())],
    );
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
pub fn rs_syndromes(
    ctx: &GpuContext,
    code: RsCode,
    words: &[u16],
    reps: usize,
) -> Result<PhaseTimes> {
    let n = code.n();
    let count = words.len() / n;
    let two_t = code.parity_len();
    let tables = ctx.rs_tables()?;
    let (sb, up) = time(|| {
        let b = ctx.upload(Role::Input, bytemuck::cast_slice(words))?;
        ctx.wait()?;
        Ok(b)
    })?;
    let ob = ctx.buffer(Role::Output, (count * two_t * 4) as u64)?;
    let pipe = ctx.pipeline("rs_syndromes", shaders::RS_SYNDROMES, "syndromes")?;
    let (_ub, bind, grid) = ctx.rs_pass(&pipe, &tables, &sb, &ob, count, n, two_t)?;
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

/// Device → host readback rates (bytes/s) of `n` floats from a device buffer, the pooled
/// readback buffer warm, each the best of `reps`: into a fresh `vec![0f32; n]` (what a call
/// returning a new vector pays: the copy takes the first-touch page faults), into a fresh
/// vector with huge pages advised ([`huge_page_vec`]), into a fresh vector
/// faulted on the thread pool first (timed with the copy), and into memory already faulted
/// (the copy alone).
pub fn d2h(ctx: &GpuContext, n: usize, reps: usize) -> Result<[f64; 4]> {
    use rayon::prelude::*;
    let bytes = n as u64 * 4;
    let src = ctx.buffer(Role::Output, bytes)?;
    let mut warm = vec![1f32; n];
    ctx.read_back_into(src.buffer(), 0, bytemuck::cast_slice_mut(&mut warm))?;
    let mut best = [f64::INFINITY; 4];
    for _ in 0..reps.max(1) {
        for (i, b) in best.iter_mut().enumerate() {
            let t = Instant::now();
            let mut v = match i {
                0 => vec![0f32; n],
                1 => huge_page_vec(n),
                2 => {
                    let mut v = vec![0f32; n];
                    v.par_chunks_mut(1 << 18).for_each(|c| {
                        for p in c.iter_mut().step_by(1024) {
                            // SAFETY: a volatile write of a valid f32 into the vector.
                            unsafe { std::ptr::write_volatile(p, 0.0) };
                        }
                    });
                    v
                }
                _ => std::mem::take(&mut warm),
            };
            ctx.read_back_into(src.buffer(), 0, bytemuck::cast_slice_mut(&mut v))?;
            *b = b.min(t.elapsed().as_secs_f64());
            if i == 3 {
                warm = v;
            }
        }
    }
    Ok(best.map(|s| bytes as f64 / s))
}

/// `n` zeros whose pages are untouched (`calloc`), with the kernel asked (Linux,
/// `madvise(MADV_HUGEPAGE)`) to back them with 2 MiB pages: one first-touch fault per 2 MiB
/// instead of per 4 KiB. Measured on the H200 machine (THP `madvise`), a 256 MiB readback into
/// it ran at 14.5 GB/s against 8.1 into a plain new vector and 21 into faulted memory; on a
/// 2-core VM it ran slower than plain (0.9 against 3 GB/s: the kernel compacting memory on the
/// fault), so the engine does not use it.
fn huge_page_vec(n: usize) -> Vec<f32> {
    let v = vec![0f32; n];
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let first = v.as_ptr() as usize;
        let start = first.next_multiple_of(HUGE);
        let end = (first + n * 4) / HUGE * HUGE;
        if end > start {
            // SAFETY: [start, end) is page aligned and inside `v`'s allocation; MADV_HUGEPAGE
            // is advice on how to back the range and changes none of its contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    v
}

/// What [`tdecq_evaluation`] measured (seconds).
#[derive(Debug, Clone, Copy)]
pub struct TdecqEvaluation {
    /// Wall time per `WeightedHistogram::counts` call (the mean of the calls, each waited for).
    pub wall_s: f64,
    /// Device time of its dispatch, back to back.
    pub device_s: f64,
    /// Device time of one dispatch alone after an idle millisecond (the median of 5).
    pub lone_s: f64,
    /// Wall time of its parts each submitted alone: weights written, histogram cleared,
    /// dispatch, copy + map.
    pub parts_s: [f64; 4],
    /// Wall time a candidate in batches of [`crate::WEIGHTED_BATCH`].
    pub batched_s: f64,
}

/// One TDECQ histogram evaluation of two windows of `rows` rows each over `ncols` shifted
/// columns of one shared array (the all-symbol windows' layout, 1024 bins a window), timed as
/// [`TdecqEvaluation`] says, the wall times the mean of `reps` calls.
pub fn tdecq_evaluation(ctx: &GpuContext, rows: usize, ncols: usize, reps: usize) -> Result<TdecqEvaluation> {
    use lightlane_core::eye::{TdecqBins, TdecqWindow};
    let no = 2;
    let data: Vec<f32> = (0..rows + ncols * no)
        .map(|i| [-0.75f32, -0.25, 0.25, 0.75][(i * 7 + i / 13) % 4] + ((i * 31) % 97) as f32 * 1e-3)
        .collect();
    let offsets: Vec<usize> = (0..ncols).map(|t| t * no).collect();
    let window = TdecqWindow { data: &data, offsets: &offsets, rows };
    let plan = ctx.weighted_histograms(&[window, window], &TdecqBins { lo: -3.0, step: 6.0 / 1024.0, bins: 1024 })?;
    let mut w = vec![0.01f32; ncols];
    w[ncols / 2] = 1.0;
    let mut counts = vec![0u32; 2 * 1024];
    plan.counts_into(&w, &mut counts)?;
    let reps = reps.max(1);
    let t = Instant::now();
    for i in 0..reps {
        w[0] = 0.01 + i as f32 * 1e-4;
        plan.counts_into(&w, &mut counts)?;
    }
    let wall = t.elapsed().as_secs_f64() / reps as f64;
    let (pipe, bind, grid) = plan.dispatch_parts();
    let (device, _) = timed_dispatches(ctx, pipe, bind, grid, reps)?;
    let mut lone = Vec::new();
    for _ in 0..5 {
        std::thread::sleep(std::time::Duration::from_millis(1));
        lone.push(timed_dispatches(ctx, pipe, bind, grid, 1)?.0);
    }
    lone.sort_by(f64::total_cmp);
    let parts = plan.timed_parts(&w, reps)?;
    // A full batch of candidates (TDECQ's pattern search on a GPU): wall per candidate.
    let cands: Vec<Vec<f32>> = (0..crate::WEIGHTED_BATCH).map(|k| w.iter().map(|&v| v + k as f32 * 1e-4).collect()).collect();
    let ws: Vec<&[f32]> = cands.iter().map(|c| c.as_slice()).collect();
    let mut batch_counts = vec![0u32; ws.len() * 2 * 1024];
    plan.counts_batch_into(&ws, &mut batch_counts)?;
    let batched = mean_seconds(reps, || plan.counts_batch_into(&ws, &mut batch_counts))? / ws.len() as f64;
    Ok(TdecqEvaluation { wall_s: wall, device_s: device, lone_s: lone[2], parts_s: parts, batched_s: batched })
}

/// Host-side costs of one device round trip, mean seconds of `reps` each: `[an empty
/// submission waited for, an 8 KiB readback (copy + map + copy out) of a device buffer, a pair
/// of error scopes pushed and popped around nothing]`, the pieces of a TDECQ evaluation
/// besides its kernel.
pub fn round_trips(ctx: &GpuContext, reps: usize) -> Result<[f64; 3]> {
    let reps = reps.max(1);
    let src = ctx.buffer(Role::Output, 8192)?;
    let mut out = vec![0u8; 8192];
    ctx.read_back_into(src.buffer(), 0, &mut out)?;
    let submit = mean_seconds(reps, || {
        let enc = ctx.device.create_command_encoder(&Default::default());
        ctx.queue.submit([enc.finish()]);
        ctx.wait()
    })?;
    let readback = mean_seconds(reps, || ctx.read_back_into(src.buffer(), 0, &mut out))?;
    let scopes = mean_seconds(reps, || ctx.scoped(|| ()))?;
    Ok([submit, readback, scopes])
}

/// Host → device rates (bytes/s) of `bytes` bytes into a pooled buffer, best of `reps` after
/// one untimed call each: `[queue.write_buffer (the engine's upload), a staging ring of two
/// 64 MiB slots filled on several threads (GpuContext::upload_staged)]`, each waited for.
pub fn upload_paths(ctx: &GpuContext, bytes: usize, reps: usize) -> Result<[f64; 2]> {
    let data: Vec<u8> = (0..bytes / 4 * 4).map(|i| (i * 131 + i / 4099) as u8).collect();
    let mut best = [f64::INFINITY; 2];
    for rep in 0..=reps.max(1) {
        for (i, b) in best.iter_mut().enumerate() {
            let t = Instant::now();
            let buf = match i {
                0 => ctx.upload_written(Role::Input, &data)?,
                _ => ctx.upload_staged(Role::Input, &data, 64 << 20)?,
            };
            ctx.wait()?;
            if rep > 0 {
                *b = b.min(t.elapsed().as_secs_f64());
            }
            drop(buf);
        }
    }
    Ok(best.map(|s| data.len() as f64 / s))
}

/// The fused pass over a device-resident capture: FFE → slicer → comparison → count in one
/// kernel, then the eye histogram of the same samples, in one submission. Returns seconds per
/// pass (mean of `reps`).
#[allow(clippy::too_many_arguments)]
pub fn fused_pass(
    ctx: &GpuContext,
    ffe: &Ffe,
    x: &[f32],
    expected: &[u8],
    geom: &EyeGeometry,
    reps: usize,
) -> Result<f64> {
    let n = ffe.output_len(x.len()).min(expected.len());
    let slicer = Slicer::for_levels(&Modulation::Pam4.level_set())?;
    let xb = ctx.upload(Role::Input, bytemuck::cast_slice(x))?;
    let tb = ctx.upload(Role::Input, bytemuck::cast_slice(ffe.taps()))?;
    let eb = ctx.upload(Role::Input, &expected[..n])?;
    let counters = ctx.buffer(Role::Output, 32)?;
    let positions = ctx.buffer(Role::Output, 4096)?;
    let bins = geom.bins()?;
    let hb = ctx.buffer(Role::Output, bins as u64 * 4)?;
    let (epipe, egrid, ep) = ctx.eye_plan(x.len(), 0, geom)?;
    let eub = ctx.upload(Role::Uniform, bytemuck::bytes_of(&ep))?;
    let ebind = ctx.bind(
        &epipe,
        &[(0, eub.buffer()), (1, xb.buffer()), (2, hb.buffer())],
    );
    let fplan = ctx.ffe_slice_count_plan(
        ffe,
        x.len(),
        n,
        &slicer,
        Modulation::Pam4,
        BitMapping::Gray,
        1024,
    )?;
    let fub = ctx.upload(Role::Uniform, bytemuck::bytes_of(&fplan.params))?;
    let fbind = ctx.bind(
        &fplan.pipeline,
        &fplan.bindings(
            fub.buffer(),
            eb.buffer(),
            counters.buffer(),
            positions.buffer(),
            tb.buffer(),
            xb.buffer(),
        ),
    );
    let (s, _) = timed_sequence(
        ctx,
        &[
            (&fplan.pipeline, &fbind, fplan.grid),
            (&epipe, &ebind, egrid),
        ],
        reps,
    )?;
    Ok(s)
}

/// Fixed-clock Keys cubic resampling of `x` on `grid` (upload of `x`, compute = mean of `reps`
/// dispatches, readback of the whole output). Returns the phase times and the outputs per run.
pub fn resample(
    ctx: &GpuContext,
    x: &[f32],
    grid: &lightlane_core::timing::ResampleGrid,
    reps: usize,
) -> Result<(PhaseTimes, usize)> {
    ctx.bench_resample(x, grid, reps)
}

/// Seconds of one whole [`GpuContext::mlse_detect_blocks`] call (upload, the segmented
/// dispatches, readback of the decisions), the mean of `reps` calls.
pub fn mlse_blocks(
    ctx: &GpuContext,
    mlse: &lightlane_core::eq::Mlse,
    y: &[f32],
    block: usize,
    warmup: usize,
    reps: usize,
) -> Result<f64> {
    ctx.mlse_detect_blocks(mlse, y, block, warmup)?;
    mean_seconds(reps, || ctx.mlse_detect_blocks(mlse, y, block, warmup).map(drop))
}

/// Seconds of one whole [`GpuContext::dfe_detect_blocks`] call (upload, the segmented
/// dispatches, readback of the decisions), the mean of `reps` calls.
pub fn dfe_blocks(
    ctx: &GpuContext,
    dfe: &lightlane_core::eq::Dfe,
    y: &[f32],
    block: usize,
    warmup: usize,
    reps: usize,
) -> Result<f64> {
    ctx.dfe_detect_blocks(dfe, y, block, warmup)?;
    mean_seconds(reps, || ctx.dfe_detect_blocks(dfe, y, block, warmup).map(drop))
}

/// A PAM4 eye signal of about `n` points at `s` per UI (whole UIs; random symbols, ramps
/// over the UI boundary, a little noise; seeded): the eye passes' bench input.
pub fn pam4_eye(n: usize, s: usize, seed: u64) -> Vec<f32> {
    // splitmix64: a few lines, no dependency.
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let levels = [-1.0f32, -1.0 / 3.0, 1.0 / 3.0, 1.0];
    let s = s.max(1);
    let nsym = n / s;
    let syms: Vec<usize> = (0..=nsym).map(|_| (next() % 4) as usize).collect();
    (0..nsym * s)
        .map(|i| {
            let (k, t) = (i / s, (i % s) as f32 / s as f32);
            let (a, b) = (levels[syms[k]], levels[syms[k + 1]]);
            let noise = (next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            a + (b - a) * ((t - 0.7) / 0.6).clamp(0.0, 1.0) + 0.05 * noise
        })
        .collect()
}

/// Seconds of the eye metrics' passes over `y` resident on the device (a whole call each:
/// dispatch and readback of its results), the mean of `reps` calls: [scan, the eye-height
/// window's columns and the centre (`cols`, `s` per UI), the crossings of `thresholds`, the
/// gather of `gather` points, reading `y` back whole (what the passes replace)].
pub fn eye_passes(
    ctx: &GpuContext,
    y: &[f32],
    s: usize,
    cols: &[usize],
    thresholds: &[f32],
    gather: usize,
    reps: usize,
) -> Result<[f64; 5]> {
    let kept = ctx.upload(crate::pool::Role::Output, bytemuck::cast_slice(y))?;
    let r = 0..y.len();
    let idx: Vec<usize> = (0..gather.min(y.len())).map(|i| i * (y.len() / gather.max(1)).max(1) % y.len()).collect();
    let scan = mean_seconds(reps, || ctx.kept_scan(&kept, r.clone()).map(drop))?;
    let offsets: Vec<isize> = cols.iter().map(|&c| c as isize).collect();
    let columns = mean_seconds(reps, || ctx.kept_window(&kept, r.clone(), s, 0, 1, y.len() / s.max(1), &offsets).map(drop))?;
    let crossings = mean_seconds(reps, || ctx.kept_crossings(&kept, r.clone(), thresholds).map(drop))?;
    let gathered = mean_seconds(reps, || ctx.kept_gather(&kept, r.clone(), &idx).map(drop))?;
    let read = mean_seconds(reps, || ctx.kept_read(&kept, r.clone()).map(drop))?;
    Ok([scan, columns, crossings, gathered, read])
}

/// Mean seconds of `reps` (at least 1) calls of `f`, back to back.
fn mean_seconds(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let reps = reps.max(1);
    let t = Instant::now();
    for _ in 0..reps {
        f()?;
    }
    Ok(t.elapsed().as_secs_f64() / reps as f64)
}

/// Capture-to-report timings of the CPU and the GPU engine on the same machine and capture
/// (see [`end_to_end`]).
#[derive(Debug, Clone, PartialEq)]
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
    /// The context's account of the GPU engine's runs ([`GpuContext::ledger_take`]), all
    /// repetitions together.
    pub ledger: Vec<(&'static str, crate::LedgerRow)>,
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
    let accel = crate::GpuAccelerator {
        ctx,
        fallback: false,
    };
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
    ctx.ledger_start();
    let gpu = time(|| {
        for _ in 0..reps {
            analyze_with(&load()?, config, Backend::Gpu, Some(&accel))?;
        }
        Ok(())
    });
    let ledger = ctx.ledger_take();
    let (_, gpu_s) = gpu?;
    let r = reps as f64;
    Ok(EndToEnd {
        cpu_s: cpu_s / r,
        gpu_s: gpu_s / r,
        load_s: load_s / r,
        samples: wf.len(),
        agree,
        ledger,
    })
}

/// The [`EndToEnd::ledger`] as a table, per capture (divided by `reps`).
pub fn ledger_table(ledger: &[(&'static str, crate::LedgerRow)], reps: usize) -> String {
    use std::fmt::Write;
    let r = reps.max(1) as f64;
    let mut t = String::from("| host side of the GPU engine, per capture | calls | MB | wall s | GB/s |\n|---|---|---|---|---|\n");
    for (kind, row) in ledger {
        let gbs = if row.bytes > 0 && row.seconds > 0.0 { format!("{:.2}", row.bytes as f64 / row.seconds / 1e9) } else { "-".into() };
        let _ = writeln!(t, "| {kind:<40} | {:>7.0} | {:>9.1} | {:>8.4} | {gbs} |", row.calls as f64 / r, row.bytes as f64 / r / 1e6, row.seconds / r);
    }
    t.push_str("(upload rows include their buffers; calls on several threads add up)\n");
    t
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

/// Builds rayon's global pool with its threads named `rayon-{i}`, which
/// [`thread_cpu_split_s`] counts as host threads (unnamed, they would count with the
/// driver's). First thing in a binary that prints host CPU times (`gpu_bench`, `gpu_stages`):
/// an error once the pool exists.
pub fn name_pool_threads() -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("rayon-{i}"))
        .build_global()
        .map_err(|e| crate::context::gpu_err(format!("naming the thread pool: {e}")))
}

/// On-CPU seconds of this process so far from the per-thread scheduler statistics
/// (`/proc/self/task/*/schedstat`, nanoseconds): all threads, and the host part: the main
/// thread and the threads named `rayon*` (the analysis' thread pool; the `gpu_stages` example
/// names the global pool's threads so). The rest are the Vulkan driver's threads, on lavapipe
/// the "device" that runs the kernels. `None` where those files do not exist. Threads that
/// ended are not counted (the pool and the driver's workers live on).
pub fn thread_cpu_split_s() -> Option<(f64, f64)> {
    let pid = std::process::id().to_string();
    let (mut all, mut host) = (0u64, 0u64);
    for t in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Some(ns) = std::fs::read_to_string(t.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        else {
            continue;
        };
        let name = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        all += ns;
        if t.file_name().to_str() == Some(pid.as_str()) || name.starts_with("rayon") {
            host += ns;
        }
    }
    Some((all as f64 * 1e-9, host as f64 * 1e-9))
}

/// One row of [`stages`]: a stage of the real pipeline (its [`StageMark`] name, or "whole
/// analysis") on the CPU engine and on the GPU engine, each the mean of the repetitions.
///
/// [`StageMark`]: lightlane_core::analysis::StageMark
#[derive(Debug, Clone, PartialEq)]
pub struct StageTiming {
    /// The stage.
    pub stage: String,
    /// Wall seconds on the CPU engine.
    pub cpu_wall_s: f64,
    /// On-CPU seconds of the process (all threads) on the CPU engine, if measurable.
    pub cpu_on_cpu_s: Option<f64>,
    /// Wall seconds on the GPU engine (`None`: the GPU engine's run did not reach the stage).
    pub gpu_wall_s: Option<f64>,
    /// On-CPU seconds of the process on the GPU engine, if measurable (on lavapipe this
    /// includes the driver's threads that run the kernels).
    pub gpu_on_cpu_s: Option<f64>,
    /// On-CPU seconds on the GPU engine of the host threads (main and `rayon*`, see
    /// [`thread_cpu_split_s`]; on lavapipe the rest is the driver running the kernels), if
    /// measurable.
    pub gpu_host_on_cpu_s: Option<f64>,
}

/// One stage of a marked run: (stage, wall seconds, (on-CPU, host threads' on-CPU) seconds).
type StageRow = (&'static str, f64, Option<(f64, f64)>);

/// Per-stage (wall, (on-CPU, host threads' on-CPU)) seconds of one analysis, in mark order,
/// with "whole analysis" last.
fn marked_run(
    wf: &lightlane_core::Waveform,
    config: &lightlane_core::analysis::AnalysisConfig,
    backend: lightlane_core::Backend,
    accel: Option<&dyn lightlane_core::accel::Accelerator>,
) -> Result<Vec<StageRow>> {
    let now = || (Instant::now(), thread_cpu_split_s());
    let start = now();
    // The marks come from the analysis' threads (the eye stages run on the pool).
    let last = std::sync::Mutex::new(start);
    let rows = std::sync::Mutex::new(Vec::new());
    let delta = |a: (Instant, Option<(f64, f64)>), b: (Instant, Option<(f64, f64)>)| {
        let cpu = match (a.1, b.1) {
            (Some((a0, a1)), Some((b0, b1))) => Some((b0 - a0, b1 - a1)),
            _ => None,
        };
        (b.0.duration_since(a.0).as_secs_f64(), cpu)
    };
    let mark = |stage: &'static str| {
        let t = now();
        let (wall, cpu) = delta(std::mem::replace(&mut *last.lock().unwrap_or_else(|p| p.into_inner()), t), t);
        rows.lock().unwrap_or_else(|p| p.into_inner()).push((stage, wall, cpu));
    };
    lightlane_core::analysis::analyze_using(
        wf,
        config,
        backend,
        // Equalization before the eye (not beside it), so each row times its stage alone.
        &lightlane_core::analysis::AnalysisHooks {
            accel,
            mark: Some(&mark),
            serial: true,
        },
    )?;
    let mut rows = rows.into_inner().unwrap_or_else(|p| p.into_inner());
    let (wall, cpu) = delta(start, now());
    rows.push(("whole analysis", wall, cpu));
    Ok(rows)
}

/// When each stage of one analysis ended, seconds from its start, in the order the stages
/// ended, "whole analysis" last: the analysis as it runs (not [`stages`]' one stage after
/// another), so the eye's stages, beside equalization and decisions, and the jitter, beside
/// the eye, show where they finish and which side the whole waits for. CPU engine, then GPU
/// engine (of `ctx`), each after one untimed run.
#[allow(clippy::type_complexity)]
pub fn timeline(
    ctx: &GpuContext,
    wf: &lightlane_core::Waveform,
    config: &lightlane_core::analysis::AnalysisConfig,
) -> Result<[Vec<(&'static str, f64)>; 2]> {
    use lightlane_core::analysis::{analyze_using, AnalysisHooks};
    use lightlane_core::Backend;
    let accel = crate::GpuAccelerator { ctx, fallback: false };
    let run = |backend: Backend, accel: Option<&dyn lightlane_core::accel::Accelerator>| -> Result<Vec<(&'static str, f64)>> {
        analyze_using(wf, config, backend, &AnalysisHooks { accel, ..Default::default() })?;
        let start = Instant::now();
        let ends = std::sync::Mutex::new(Vec::new());
        let mark = |stage: &'static str| ends.lock().unwrap_or_else(|p| p.into_inner()).push((stage, start.elapsed().as_secs_f64()));
        analyze_using(wf, config, backend, &AnalysisHooks { accel, mark: Some(&mark), serial: false })?;
        let mut ends = ends.into_inner().unwrap_or_else(|p| p.into_inner());
        ends.push(("whole analysis", start.elapsed().as_secs_f64()));
        Ok(ends)
    };
    Ok([run(Backend::Cpu, None)?, run(Backend::Gpu, Some(&accel))?])
}

/// The two [`timeline`]s side by side: a row per stage in the GPU engine's order of ending.
pub fn timeline_table(lines: &[Vec<(&'static str, f64)>; 2]) -> String {
    use std::fmt::Write;
    let mut t = String::from("| stage ended (analysis as it runs) | CPU engine s | GPU engine s |\n|---|---|---|\n");
    let at = |v: &[(&'static str, f64)], stage: &str| v.iter().find(|r| r.0 == stage).map(|r| format!("{:.4}", r.1)).unwrap_or_else(|| "-".into());
    for (stage, g) in &lines[1] {
        let _ = writeln!(t, "| {stage:<33} | {:>12} | {g:>12.4} |", at(&lines[0], stage));
    }
    t
}

/// Mean per-stage timings of `reps` runs (after one untimed run).
fn mean_stages(
    reps: usize,
    run: &mut dyn FnMut() -> Result<Vec<StageRow>>,
) -> Result<Vec<StageRow>> {
    run()?;
    let reps = reps.max(1);
    let mut sum: Vec<StageRow> = Vec::new();
    for _ in 0..reps {
        for (stage, wall, cpu) in run()? {
            match sum.iter_mut().find(|r| r.0 == stage) {
                Some(r) => {
                    r.1 += wall;
                    r.2 = match (r.2, cpu) {
                        (Some(a), Some(b)) => Some((a.0 + b.0, a.1 + b.1)),
                        _ => None,
                    };
                }
                None => sum.push((stage, wall, cpu)),
            }
        }
    }
    let r = reps as f64;
    Ok(sum
        .into_iter()
        .map(|(s, w, c)| (s, w / r, c.map(|(a, b)| (a / r, b / r))))
        .collect())
}

/// Per-stage timings of the real analysis pipeline on `wf` with `config`, CPU engine vs GPU
/// engine (`Backend::Gpu` on `ctx`), through the pipeline's stage marks
/// ([`lightlane_core::analysis::AnalysisHooks::mark`]): the front end, clock recovery (with the
/// resampling), levels and alignment, equalization and decisions, FEC, the eye's resampling,
/// histogram and metrics, TDECQ, the pictures, the dispersion corners, jitter, and the whole
/// analysis. Each the mean of `reps` runs after one untimed run; on-CPU time from the
/// per-thread scheduler statistics ([`thread_cpu_split_s`]).
pub fn stages(
    ctx: &GpuContext,
    wf: &lightlane_core::Waveform,
    config: &lightlane_core::analysis::AnalysisConfig,
    reps: usize,
) -> Result<Vec<StageTiming>> {
    use lightlane_core::Backend;
    let accel = crate::GpuAccelerator {
        ctx,
        fallback: false,
    };
    let cpu = mean_stages(reps, &mut || marked_run(wf, config, Backend::Cpu, None))?;
    let gpu = mean_stages(reps, &mut || {
        marked_run(wf, config, Backend::Gpu, Some(&accel))
    })?;
    Ok(cpu
        .iter()
        .map(|&(stage, wall, c)| {
            let g = gpu.iter().find(|r| r.0 == stage);
            StageTiming {
                stage: stage.into(),
                cpu_wall_s: wall,
                cpu_on_cpu_s: c.map(|v| v.0),
                gpu_wall_s: g.map(|r| r.1),
                gpu_on_cpu_s: g.and_then(|r| r.2).map(|v| v.0),
                gpu_host_on_cpu_s: g.and_then(|r| r.2).map(|v| v.1),
            }
        })
        .collect())
}

/// The [`stages`] rows as one markdown table (wall and on-CPU seconds of each engine, the
/// GPU engine's host share, and the CPU/GPU wall ratio), with its footnote.
pub fn stages_table(rows: &[StageTiming]) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| {:<28} | {:>10} | {:>12} | {:>10} | {:>12} | {:>14} | {:>8} |",
        "stage", "CPU wall s", "CPU on-CPU s", "GPU wall s", "GPU on-CPU s", "GPU host CPU s", "CPU/GPU"
    );
    let _ = writeln!(t, "|{}|", ["-"; 7].map(|_| "---").join("|"));
    let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
    for r in rows {
        let ratio = r
            .gpu_wall_s
            .filter(|&g| g > 0.0)
            .map(|g| format!("{:.2}x", r.cpu_wall_s / g))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            t,
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
    t.push_str("(on-CPU: all threads; GPU host CPU: the main and rayon threads, without the Vulkan driver's threads, which on lavapipe run the kernels; the stages one after another here, where an analysis runs the eye beside equalization, decisions and FEC, the jitter beside the eye and TDECQ beside the eye's metrics)\n");
    if let Some((host, whole, bound)) = host_bound(rows) {
        let _ = writeln!(
            t,
            "host-only stages ({}) take {host:.4} s of the GPU engine's {whole:.4} s: with every other stage free, the GPU engine would be at most {bound:.2}x the CPU engine (the jitter counted whole, where an analysis runs it beside the eye: a pessimistic bound where the eye outlasts it)",
            HOST_ONLY_STAGES.join(", ")
        );
    }
    if let Some((gpu_host, cpu, bound)) = host_work_bound(rows) {
        let _ = writeln!(
            t,
            "host work: the GPU engine's main and rayon threads used {gpu_host:.4} CPU s, the CPU engine's threads {cpu:.4}: with the device's work free and both engines' host work spread as well over the cores, the GPU engine would be at most {bound:.2}x the CPU engine"
        );
    }
    t
}

/// `(the GPU engine's host CPU seconds, the CPU engine's on-CPU seconds, their ratio)` of the
/// whole analysis: the most the GPU engine could gain when its device work took no time and
/// both engines' host work scaled alike over the cores. Unlike [`host_bound`] it counts the
/// host share of every stage (the eye metrics' and TDECQ's arithmetic, the reference
/// receiver's filter), not only the host-only stages. `None` without both CPU times of the
/// whole-analysis row.
pub fn host_work_bound(rows: &[StageTiming]) -> Option<(f64, f64, f64)> {
    let whole = rows.iter().find(|r| r.stage == "whole analysis")?;
    let (gpu_host, cpu) = (whole.gpu_host_on_cpu_s?, whole.cpu_on_cpu_s?);
    (gpu_host > 0.0).then(|| (gpu_host, cpu, cpu / gpu_host))
}

/// Stages of the pipeline that the GPU engine runs on the host alone (no kernel of its own).
/// Clock recovery is one: its CDR runs on the cores, and so does the resampling onto its clock
/// at the FFE's rate (fewer points than it reads: `GpuAccelerator::resample_at` keeps that on
/// the cores). Equalization (the FFE's training) and the eye metrics (the crossings' sort, the
/// level quantiles, SNDR, from the device's passes) have host parts too.
pub const HOST_ONLY_STAGES: [&str; 7] = ["front end", "clock recovery", "levels and alignment", "FEC", "eye pictures", "TDECQ corners", "jitter"];

/// `(seconds of the host-only stages on the GPU engine, its whole analysis, the CPU engine's
/// whole analysis over those host-only seconds)`: the most the GPU engine could gain with its
/// other stages taking no time (Amdahl's bound). `None` without both whole-analysis rows.
pub fn host_bound(rows: &[StageTiming]) -> Option<(f64, f64, f64)> {
    let whole = rows.iter().find(|r| r.stage == "whole analysis")?;
    let gpu_whole = whole.gpu_wall_s?;
    let host: f64 = rows.iter().filter(|r| HOST_ONLY_STAGES.contains(&r.stage.as_str())).filter_map(|r| r.gpu_wall_s).sum();
    (host > 0.0).then(|| (host, gpu_whole, whole.cpu_wall_s / host))
}

#[cfg(test)]
mod tests {
    use super::{host_bound, host_work_bound, stages_table, timeline_table, StageTiming};

    fn row(stage: &str, cpu: f64, gpu: Option<f64>) -> StageTiming {
        StageTiming { stage: stage.into(), cpu_wall_s: cpu, cpu_on_cpu_s: None, gpu_wall_s: gpu, gpu_on_cpu_s: None, gpu_host_on_cpu_s: None }
    }

    #[test]
    fn the_host_only_stages_bound_the_gpu_engines_gain() {
        let rows = [
            row("levels and alignment", 0.1, Some(0.1)),
            row("eye metrics", 0.1, Some(0.04)),
            row("TDECQ", 0.3, Some(0.5)),
            row("jitter", 0.12, Some(0.15)),
            row("whole analysis", 1.4, Some(1.3)),
        ];
        let (host, whole, bound) = host_bound(&rows).unwrap();
        assert!((host - 0.25).abs() < 1e-12 && whole == 1.3 && (bound - 5.6).abs() < 1e-9, "{host} {whole} {bound}");
        assert!(stages_table(&rows).contains("at most 5.60x the CPU engine"));
        assert!(host_bound(&rows[..4]).is_none(), "no whole-analysis row");
        assert!(host_bound(&[row("TDECQ", 0.3, Some(0.5)), row("whole analysis", 1.0, Some(1.0))]).is_none(), "no host-only stage");
        let with_cdr = [row("clock recovery", 0.05, Some(0.05)), row("TDECQ", 0.3, Some(0.5)), row("whole analysis", 1.0, Some(1.0))];
        assert_eq!(host_bound(&with_cdr).map(|b| b.0), Some(0.05), "clock recovery is host work");
    }

    #[test]
    fn the_host_work_of_both_engines_bounds_the_gpu_engines_gain() {
        let mut whole = row("whole analysis", 0.7, Some(0.5));
        assert!(host_work_bound(&[whole.clone()]).is_none(), "no CPU times");
        whole.cpu_on_cpu_s = Some(1.3);
        whole.gpu_host_on_cpu_s = Some(0.52);
        let rows = [row("TDECQ", 0.2, Some(0.1)), whole];
        let (gpu_host, cpu, bound) = host_work_bound(&rows).unwrap();
        assert!(gpu_host == 0.52 && cpu == 1.3 && (bound - 2.5).abs() < 1e-12, "{gpu_host} {cpu} {bound}");
        assert!(stages_table(&rows).contains("at most 2.50x the CPU engine"), "{}", stages_table(&rows));
        assert!(host_work_bound(&rows[..1]).is_none(), "no whole-analysis row");
    }

    #[test]
    fn the_timeline_lists_the_gpu_engines_stage_ends_beside_the_cpus() {
        let cpu = vec![("clock recovery", 0.05), ("eye histogram", 0.3), ("whole analysis", 0.9)];
        let gpu = vec![("clock recovery", 0.06), ("jitter", 0.25), ("whole analysis", 0.4)];
        let t = timeline_table(&[cpu, gpu]);
        let lines: Vec<&str> = t.lines().skip(2).collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[0].starts_with("| clock recovery") && lines[0].contains("0.0500") && lines[0].contains("0.0600"), "{t}");
        assert!(lines[1].starts_with("| jitter") && lines[1].contains(" - ") && lines[1].contains("0.2500"), "the CPU line has no jitter mark: {t}");
        assert!(lines[2].contains("0.9000") && lines[2].contains("0.4000"), "{t}");
    }
}
