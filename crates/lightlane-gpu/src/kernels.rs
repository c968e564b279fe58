//! The kernels: raw codes → volts, FIR/FFE, fused slicer + error counting (optionally fused
//! with the FFE), eye histogram, RS syndromes. Each has a CPU counterpart in
//! `lightlane_core` (or, for the eye histogram, [`crate::reference`]) that the conformance
//! tests compare against.

use crate::blocks::BlockRun;
use crate::context::{gpu_err, GpuContext, WORKGROUP};
use crate::pool::{Pooled, Role};
use crate::stream::StagingRing;
use crate::{reference::EyeGeometry, shaders};
use bytemuck::{Pod, Zeroable};
use lightlane_core::eq::{Dfe, Ffe};
use lightlane_core::fec::{gf, RsCode};
use lightlane_core::modulation::{BitMapping, Slicer};
use lightlane_core::pattern::count::ErrorCounts;
use lightlane_core::waveform::RawCodes;
use lightlane_core::{Error, Modulation, Result};

/// Largest FIR accepted (taps).
pub const MAX_TAPS: usize = 1024;
/// Samples staged per FIR workgroup tile (must match `TILE` in fir.wgsl).
const FIR_TILE: u32 = 6144;
/// Bins of the per-workgroup eye histogram (must match `PRIV_BINS` in private_histogram.wgsl).
pub const EYE_PRIVATE_BINS: usize = 4096;
/// Workgroups an eye-histogram dispatch of the privatized kernels aims at.
pub const EYE_WORKGROUPS: u32 = 2048;
/// Consecutive segments per run of `eye_private_runs` (`RUN` in eye.wgsl).
const EYE_RUN: u32 = 4;

/// The fused FFE → slice → count dispatch chosen by [`GpuContext::ffe_slice_count_plan`].
pub(crate) struct FusedPlan {
    pub pipeline: wgpu::ComputePipeline,
    pub grid: (u32, u32),
    pub params: SliceParams,
    /// Binding of x: 7 (as vec4s, the unrolled kernel) or 6 (as f32s).
    x_binding: u32,
}

impl FusedPlan {
    pub fn bindings<'a>(
        &self,
        params: &'a wgpu::Buffer,
        expected: &'a wgpu::Buffer,
        counters: &'a wgpu::Buffer,
        positions: &'a wgpu::Buffer,
        taps: &'a wgpu::Buffer,
        x: &'a wgpu::Buffer,
    ) -> [(u32, &'a wgpu::Buffer); 6] {
        [
            (0, params),
            (2, expected),
            (3, counters),
            (4, positions),
            (5, taps),
            (self.x_binding, x),
        ]
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ConvertParams {
    n: u32,
    first: u32,
    gain: f32,
    offset: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct FirParams {
    pub(crate) n_in: u32,
    pub(crate) n_out: u32,
    pub(crate) sps: u32,
    pub(crate) base: u32,
    pub(crate) ntaps: u32,
    pub(crate) per_thread: u32,
    pub(crate) wg_x: u32,
    pub(crate) _pad: u32,
}

/// The checks of [`GpuContext::fir_held`]'s taps: 1 ≤ taps ≤ [`MAX_TAPS`], finite, `lead`
/// below their number.
pub(crate) fn check_held_taps(taps: &[f32], lead: usize) -> Result<()> {
    let l = taps.len();
    if l == 0 || l > MAX_TAPS {
        return Err(Error::invalid("taps", l, format!("need 1..={MAX_TAPS} taps")));
    }
    lightlane_core::error::check_finite("FIR taps", taps)?;
    if lead >= l {
        return Err(Error::invalid("filter lead", lead, format!("must be below the {l} taps")));
    }
    Ok(())
}

/// `taps` as `fir_held` reads them: last to first (its `g[j] = w[L − 1 − j]`).
pub(crate) fn held_kernel_taps(taps: &[f32]) -> Vec<f32> {
    taps.iter().rev().copied().collect()
}

/// Outputs per invocation of the tiled FIR kernels (`fir_tiled`, `fir_held`): the most, up to
/// 4, whose workgroup's input span (`(256·R − 1)·sps + l` samples) fits the tile; `None` when
/// not even one does (every `l` up to [`MAX_TAPS`] fits at `sps` 1).
fn tiled_outputs_per_thread(sps: usize, l: usize) -> Option<u32> {
    (1..=4u32).rev().find(|&r| ((WORKGROUP * r - 1) as usize) * sps + l <= FIR_TILE as usize)
}

/// A FIR dispatch chosen by [`GpuContext::fir_plan`].
pub(crate) struct FirPlan {
    pub pipeline: wgpu::ComputePipeline,
    pub grid: (u32, u32),
    pub params: FirParams,
    /// `fir_unrolled`: input and output bound as vec4s (bindings 4, 5), else as f32s (2, 3).
    pub vec4: bool,
}

impl FirPlan {
    pub fn bindings<'a>(
        &self,
        params: &'a wgpu::Buffer,
        taps: &'a wgpu::Buffer,
        x: &'a wgpu::Buffer,
        y: &'a wgpu::Buffer,
    ) -> [(u32, &'a wgpu::Buffer); 4] {
        let (xb, yb) = if self.vec4 { (4, 5) } else { (2, 3) };
        [(0, params), (1, taps), (xb, x), (yb, y)]
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct SliceParams {
    n: u32,
    nthr: u32,
    mask: u32,
    gray: u32,
    cap: u32,
    first: u32,
    wg_x: u32,
    ntaps: u32,
    n_in: u32,
    sps: u32,
    base: u32,
    /// Index in `y` of the first symbol (the `slice_count` kernel).
    y0: u32,
    thr: [f32; 16],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct EyeParams {
    pub(crate) n: u32,
    pub(crate) k0: u32,
    pub(crate) period: u32,
    pub(crate) m: u32,
    pub(crate) bins_t: u32,
    pub(crate) bins_a: u32,
    pub(crate) lo: f32,
    pub(crate) s256: f32,
    pub(crate) wg_x: u32,
    pub(crate) segs: u32,
    pub(crate) tile_phases: u32,
    pub(crate) chunk_periods: u32,
    /// Row-swizzle mask of the workgroup histogram ([`eye_swizzle`]).
    pub(crate) swz: u32,
    pub(crate) _pad: [u32; 3],
}

/// Distinct phases a subgroup's invocations count at one step below which the privatized eye
/// kernels swizzle their workgroup histogram's rows. Measured on the H200 (one `gpu_bench`
/// build with and one without the swizzle, 2^26 samples): 16 columns of one phase a tile
/// (m = 16) 24.1 → 60.0 GSa/s swizzled, but the 64 × 64 histogram (16 phases a subgroup,
/// m = 4) 139.3 → 125.8 and the analysis's eye (4 phases a tile, m = 4) 129.0 → 122.6.
const EYE_SWIZZLE_BELOW_PHASES: u32 = 4;

/// Distinct phases `(t·step) mod period` of a subgroup's 32 invocations `t` (`period` ≥ 1).
fn subgroup_phases(period: u32, step: u32) -> u32 {
    let (mut a, mut b) = (period, step % period);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    (period / a).min(32)
}

/// The row-swizzle mask of a workgroup histogram `width` columns a row whose kernel's subgroup
/// counts `phases` distinct phases at one step: `width − 1` when those are fewer than
/// [`EYE_SWIZZLE_BELOW_PHASES`] and `width` is a power of two, else 0 (plain rows).
pub(crate) fn eye_swizzle(phases: u32, width: u32) -> u32 {
    if phases < EYE_SWIZZLE_BELOW_PHASES && width.is_power_of_two() {
        width - 1
    } else {
        0
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RsParams {
    words: u32,
    n: u32,
    two_t: u32,
    wg_x: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct DfeParams {
    n: u32,
    block: u32,
    warmup: u32,
    ntaps: u32,
    levels: u32,
    nthr: u32,
    blocks: u32,
    wg_x: u32,
    seg_begin: u32,
    seg_len: u32,
    _p: [u32; 2],
    thr: [f32; 4],
}

/// Default symbols per block of [`GpuContext::dfe_detect_blocks`] (smaller than the CPU's
/// 65536: a GPU needs thousands of blocks in flight).
pub const GPU_DFE_BLOCK: usize = 4096;
/// Most feedback taps [`GpuContext::dfe_detect_blocks`] accepts (every `Dfe`, 1..=32 taps;
/// conformance-tested up to 32).
pub const GPU_DFE_MAX_TAPS: usize = 32;
/// Run symbols per DFE dispatch: at most ~35 loop iterations per symbol (32 taps) keeps each
/// invocation under lavapipe's 65535 loop iterations (see dfe.wgsl).
const DFE_SEGMENT: usize = 1024;

/// Result of [`GpuContext::slice_count`]: error counts and the symbol-error positions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SliceCount {
    /// Symbol and bit errors.
    pub counts: ErrorCounts,
    /// Indices of the first symbol errors (ascending), at most the requested capacity; when
    /// `counts.symbol_errors` exceeds it, which errors are kept is unspecified.
    pub positions: Vec<u64>,
}

/// The codes of `raw` as bytes, their width, the gain and offset, and the convert kernel's entry.
fn code_parts(raw: &RawCodes) -> (&[u8], usize, f64, f64, &'static str) {
    match raw {
        RawCodes::I8 { codes, gain, offset } => (bytemuck::cast_slice(codes.as_slice()), 1, *gain, *offset, "codes_i8"),
        RawCodes::I16 { codes, gain, offset } => (bytemuck::cast_slice(codes.as_slice()), 2, *gain, *offset, "codes_i16"),
    }
}

fn u32_len(what: &'static str, n: usize) -> Result<u32> {
    u32::try_from(n)
        .map_err(|_| Error::invalid(what, n, "too long for one GPU dispatch (max 2^32 - 1)"))
}

impl GpuContext {
    /// The one dispatch sequence of every kernel: binds `bindings` (`(binding, whole buffer)`)
    /// to group 0 of `pipeline`, records one dispatch of `grid` workgroups, submits, inside the
    /// validation/OOM error scopes. Callers read results back with `read_back`.
    pub(crate) fn dispatch_1d(
        &self,
        pipeline: &wgpu::ComputePipeline,
        bindings: &[(u32, &wgpu::Buffer)],
        grid: (u32, u32),
    ) -> Result<()> {
        self.dispatch_seq(pipeline, &[bindings], grid)
    }

    /// Like [`GpuContext::dispatch_1d`] for several dispatches of the same pipeline (one per
    /// binding set, in order) in one submission: the segmented DFE/MLSE runs.
    pub(crate) fn dispatch_seq(
        &self,
        pipeline: &wgpu::ComputePipeline,
        passes: &[&[(u32, &wgpu::Buffer)]],
        grid: (u32, u32),
    ) -> Result<()> {
        self.scoped(|| {
            let mut enc = self.device.create_command_encoder(&Default::default());
            for bindings in passes {
                self.record_1d(&mut enc, pipeline, bindings, grid);
            }
            self.queue.submit([enc.finish()]);
        })
    }

    /// Records a bind + dispatch into `enc` (for staging-ring chunks, which submit themselves).
    pub(crate) fn record_1d(
        &self,
        enc: &mut wgpu::CommandEncoder,
        pipeline: &wgpu::ComputePipeline,
        bindings: &[(u32, &wgpu::Buffer)],
        grid: (u32, u32),
    ) {
        let bind = self.bind(pipeline, bindings);
        self.dispatch(pipeline, &bind, grid, enc);
    }

    pub(crate) fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        bind: &wgpu::BindGroup,
        grid: (u32, u32),
        enc: &mut wgpu::CommandEncoder,
    ) {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, bind, &[]);
        pass.dispatch_workgroups(grid.0, grid.1, 1);
    }

    pub(crate) fn elems_per_binding(&self, elem: u64) -> usize {
        // Leave headroom so pooled power-of-two classes stay within max_buffer_size.
        let max = self
            .max_binding()
            .min(self.limits().max_buffer_size / 2)
            .max(4096);
        (max / elem) as usize
    }

    /// Raw ADC codes to volts (`code · gain + offset`, in f32) on the GPU. Uploads the codes
    /// (1 or 2 bytes per sample instead of 4) in chunks that fit one binding.
    pub fn codes_to_volts(&self, raw: &RawCodes) -> Result<Vec<f32>> {
        let (bytes, width, gain, offset, entry) = code_parts(raw);
        if !(gain.is_finite() && offset.is_finite()) {
            return Err(Error::invalid(
                "raw code gain/offset",
                format!("{gain}/{offset}"),
                "must be finite",
            ));
        }
        let n = bytes.len() / width;
        let mut out = vec![0f32; n];
        // Chunks start on a word boundary so codes keep their place in the packed u32.
        let chunk = (self.elems_per_binding(4) / 4 * 4).max(4);
        let mut start = 0;
        while start < n {
            let len = chunk.min(n - start);
            let inp = self.upload(Role::Input, &bytes[start * width..(start + len) * width])?;
            let outb = self.buffer(Role::Output, len as u64 * 4)?;
            let (pipe, bind, grid, _params) = self.convert_pass(inp.buffer(), outb.buffer(), len, gain, offset, entry)?;
            self.scoped(|| {
                let mut enc = self.device.create_command_encoder(&Default::default());
                self.dispatch(&pipe, &bind, grid, &mut enc);
                self.queue.submit([enc.finish()]);
            })?;
            self.read_back_into(
                outb.buffer(),
                0,
                bytemuck::cast_slice_mut(&mut out[start..start + len]),
            )?;
            start += len;
        }
        Ok(out)
    }

    /// The one implementation of the code conversion, bound but not recorded: `n` codes of the
    /// device buffer `codes` (convert kernel `entry`) to volts in `volts`. Returns its pipeline,
    /// bind group, grid and parameter buffer (which must live until the dispatch is submitted);
    /// [`GpuContext::codes_to_volts`] submits it chunk by chunk, the bench times it.
    fn convert_pass(
        &self,
        codes: &wgpu::Buffer,
        volts: &wgpu::Buffer,
        n: usize,
        gain: f64,
        offset: f64,
        entry: &'static str,
    ) -> Result<(wgpu::ComputePipeline, wgpu::BindGroup, (u32, u32), crate::pool::Pooled)> {
        let params = ConvertParams { n: u32_len("codes", n)?, first: 0, gain: gain as f32, offset: offset as f32 };
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&params))?;
        let pipe = self.pipeline("convert", shaders::CONVERT, entry)?;
        let bind = self.bind(&pipe, &[(0, ub.buffer()), (1, codes), (2, volts)]);
        Ok((pipe, bind, self.grid((n as u32).div_ceil(4).div_ceil(WORKGROUP)), ub))
    }

    /// Phase-timed [`GpuContext::codes_to_volts`] for the benchmarks: the codes that fit one
    /// binding of volts (all of `raw` when they fit) uploaded, `reps` back-to-back dispatches,
    /// the volts read back. Returns the phase times and the volts (their count: the codes
    /// converted).
    pub(crate) fn bench_codes_to_volts(&self, raw: &RawCodes, reps: usize) -> Result<(crate::bench::PhaseTimes, Vec<f32>)> {
        use std::time::Instant;
        let (bytes, width, gain, offset, entry) = code_parts(raw);
        let n = (bytes.len() / width).min(self.elems_per_binding(4) / 4 * 4);
        if n == 0 || !(gain.is_finite() && offset.is_finite()) {
            return Err(Error::invalid("raw codes", format!("{n} codes, gain/offset {gain}/{offset}"), "need at least one code and a finite gain and offset"));
        }
        let t = Instant::now();
        let inp = self.upload(Role::Input, &bytes[..n * width])?;
        self.wait()?;
        let upload_s = t.elapsed().as_secs_f64();
        let outb = self.buffer(Role::Output, n as u64 * 4)?;
        let (pipe, bind, grid, _params) = self.convert_pass(inp.buffer(), outb.buffer(), n, gain, offset, entry)?;
        let (compute_s, device_timed) = crate::bench::timed_dispatches(self, &pipe, &bind, grid, reps)?;
        let t = Instant::now();
        let mut volts = vec![0f32; n];
        self.read_back_into(outb.buffer(), 0, bytemuck::cast_slice_mut(&mut volts))?;
        let readback_s = t.elapsed().as_secs_f64();
        Ok((crate::bench::PhaseTimes { upload_s, compute_s, readback_s, device_timed }, volts))
    }

    /// Phase-timed [`GpuContext::slice_count`] for the benchmarks, on a resident signal: the
    /// samples that fit one binding (`min(y.len(), expected.len())`, all when they fit) and
    /// their expected symbols uploaded, `reps` back-to-back dispatches of the fused slicer +
    /// comparison + count, then the counters cleared, one more dispatch and the counts and up
    /// to `cap` error positions read back. Returns the phase times, the symbols counted and
    /// that last dispatch's counts.
    pub(crate) fn bench_slice_count(
        &self,
        y: &[f32],
        expected: &[u8],
        slicer: &Slicer,
        modulation: Modulation,
        cap: usize,
        reps: usize,
    ) -> Result<(crate::bench::PhaseTimes, usize, SliceCount)> {
        use std::time::Instant;
        let n = y.len().min(expected.len()).min(self.elems_per_binding(4) / 4 * 4);
        if n == 0 {
            return Err(Error::invalid("symbols", 0, "the slice-and-count bench needs at least one"));
        }
        let base = self.slice_params(slicer, modulation, BitMapping::Gray, cap)?;
        let mut packed = expected[..n].to_vec();
        packed.resize(n.div_ceil(4) * 4, 0);
        let t = Instant::now();
        let yb = self.upload(Role::Input, bytemuck::cast_slice(&y[..n]))?;
        let eb = self.upload(Role::Input, &packed)?;
        self.wait()?;
        let upload_s = t.elapsed().as_secs_f64();
        let (counters, positions) = self.count_buffers(cap)?;
        let (pipe, bind, grid, _params) = self.slice_count_pass(yb.buffer(), 0, n, 0, eb.buffer(), &base, &counters, &positions)?;
        let (compute_s, device_timed) = crate::bench::timed_dispatches(self, &pipe, &bind, grid, reps)?;
        // One counted pass for the result: the timed ones added into the same counters.
        self.scoped(|| {
            let mut enc = self.device.create_command_encoder(&Default::default());
            enc.clear_buffer(counters.buffer(), 0, None);
            self.dispatch(&pipe, &bind, grid, &mut enc);
            self.queue.submit([enc.finish()]);
        })?;
        self.wait()?;
        let t = Instant::now();
        let counted = self.read_counts(&counters, &positions, cap)?;
        let readback_s = t.elapsed().as_secs_f64();
        Ok((crate::bench::PhaseTimes { upload_s, compute_s, readback_s, device_timed }, n, counted))
    }

    /// General FIR: `y[k] = Σ_j taps[j] · x[k·sps + base − j]` for `k < n_out`, zero outside `x`.
    /// Streams `x` in chunks when it exceeds one binding. Checks: 1 ≤ taps ≤ [`MAX_TAPS`],
    /// finite taps, `sps ≥ 1`.
    pub fn fir(
        &self,
        x: &[f32],
        taps: &[f32],
        sps: usize,
        base: usize,
        n_out: usize,
    ) -> Result<Vec<f32>> {
        if taps.is_empty() || taps.len() > MAX_TAPS {
            return Err(Error::invalid(
                "taps",
                taps.len(),
                format!("need 1..={MAX_TAPS} taps"),
            ));
        }
        lightlane_core::error::check_finite("FIR taps", taps)?;
        if sps == 0 || sps > 64 {
            return Err(Error::invalid("samples per symbol", sps, "need 1..=64"));
        }
        let l = taps.len();
        let mut out = vec![0f32; n_out];
        if n_out == 0 {
            return Ok(out);
        }
        let tapb = self.upload(Role::Input, bytemuck::cast_slice(taps))?;
        // Outputs per chunk so that the chunk's input span fits one binding.
        let max_in = self.elems_per_binding(4);
        let per_chunk = ((max_in.saturating_sub(l)) / sps).clamp(1, u32::MAX as usize / sps / 2);
        let mut ka = 0;
        while ka < n_out {
            let kb = (ka + per_chunk).min(n_out);
            let centre_lo = ka * sps + base;
            let s0 = centre_lo.saturating_sub(l - 1).min(x.len());
            let s1 = ((kb - 1) * sps + base + 1).min(x.len()).max(s0);
            let xs = &x[s0..s1];
            let local_base = centre_lo - s0;
            let yb = self.fir_chunk_resident(xs, &tapb, l, sps, local_base, kb - ka)?;
            self.read_back_into(yb.buffer(), 0, bytemuck::cast_slice_mut(&mut out[ka..kb]))?;
            ka = kb;
        }
        Ok(out)
    }

    /// The reference receiver's filter on the GPU: `y[k] = Σ_j taps[j]·x[clamp(k + lead − j, 0,
    /// n − 1)]` for `k < n = x.len()`, the input's end samples held beyond its ends: what
    /// `lightlane_core::eq::BesselThomsonFilter::apply` computes with its `taps()` and
    /// `lead()`, accumulated in the order of the CPU's FMA paths (bit-identical to them where
    /// WGSL's `fma` is fused; lavapipe's is not, and there the products are rounded before
    /// each add, within f32 rounding of the CPU's). Checks:
    /// 1 ≤ taps ≤ [`MAX_TAPS`], finite taps, `lead` < taps, `x` within one binding.
    pub fn fir_held(&self, x: &[f32], taps: &[f32], lead: usize) -> Result<Vec<f32>> {
        let mut out = vec![0f32; x.len()];
        if !x.is_empty() {
            let yb = self.fir_held_resident(x, taps, lead)?;
            self.read_back_into(yb.buffer(), 0, bytemuck::cast_slice_mut(&mut out))?;
        }
        Ok(out)
    }

    /// [`GpuContext::fir_held`] left on the device (the pooled buffer of its `x.len()`
    /// outputs); `x` must not be empty.
    pub(crate) fn fir_held_resident(&self, x: &[f32], taps: &[f32], lead: usize) -> Result<crate::pool::Pooled> {
        check_held_taps(taps, lead)?;
        if x.is_empty() || x.len() > self.elems_per_binding(4) {
            return Err(Error::invalid("samples to filter", x.len(), "need 1 up to one GPU binding"));
        }
        let xb = self.upload(Role::Input, bytemuck::cast_slice(x))?;
        self.fir_held_on(xb.buffer(), x.len(), taps, lead)
    }

    /// [`GpuContext::fir_held_resident`] of the `n` (≥ 1) samples already in `xb`; the taps
    /// passed [`check_held_taps`].
    pub(crate) fn fir_held_on(&self, xb: &wgpu::Buffer, n: usize, taps: &[f32], lead: usize) -> Result<crate::pool::Pooled> {
        let tapb = self.upload(Role::Input, bytemuck::cast_slice(&held_kernel_taps(taps)))?;
        let yb = self.buffer(Role::Output, n as u64 * 4)?;
        let plan = self.fir_held_plan(n, taps.len(), lead)?;
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&plan.params))?;
        self.dispatch_1d(&plan.pipeline, &plan.bindings(ub.buffer(), tapb.buffer(), xb, yb.buffer()), plan.grid)?;
        Ok(yb)
    }

    /// The `fir_held` dispatch of [`GpuContext::fir_held`] over `n` samples (as many
    /// outputs), `l` taps (uploaded last to first), lead `lead`: the tiled kernel at the most
    /// outputs per invocation (up to 4) whose tile fits, which every `l` up to [`MAX_TAPS`] does.
    pub(crate) fn fir_held_plan(&self, n: usize, l: usize, lead: usize) -> Result<FirPlan> {
        let per_thread = tiled_outputs_per_thread(1, l).unwrap_or(1);
        let grid = self.grid(u32_len("FIR output", n)?.div_ceil(WORKGROUP * per_thread));
        let params = FirParams {
            n_in: u32_len("FIR input", n)?,
            n_out: u32_len("FIR output", n)?,
            sps: 1,
            base: u32_len("filter lead", lead)?,
            ntaps: u32_len("taps", l)?,
            per_thread,
            wg_x: grid.0,
            _pad: 0,
        };
        Ok(FirPlan {
            pipeline: self.pipeline("fir", shaders::FIR, "fir_held")?,
            grid,
            params,
            vec4: false,
        })
    }

    /// The FFE of [`GpuContext::ffe_equalize`] left on the device: the pooled buffer holding
    /// the `ffe.output_len(x.len())` outputs. `x` (and the output) must fit one binding.
    pub(crate) fn ffe_resident(&self, ffe: &Ffe, x: &[f32]) -> Result<crate::pool::Pooled> {
        let n_out = ffe.output_len(x.len());
        if x.len() > self.elems_per_binding(4) || n_out > self.elems_per_binding(4) {
            return Err(gpu_err(format!(
                "resident FFE: {} samples exceed one binding",
                x.len()
            )));
        }
        let taps = ffe.taps();
        if taps.is_empty() || taps.len() > MAX_TAPS {
            return Err(Error::invalid(
                "taps",
                taps.len(),
                format!("need 1..={MAX_TAPS} taps"),
            ));
        }
        let sps = ffe.samples_per_symbol();
        if sps == 0 || sps > 64 {
            return Err(Error::invalid("samples per symbol", sps, "need 1..=64"));
        }
        let tapb = self.upload(Role::Input, bytemuck::cast_slice(taps))?;
        self.fir_chunk_resident(x, &tapb, taps.len(), sps, ffe.reference_tap(), n_out.max(1))
    }

    fn fir_chunk_resident(
        &self,
        x: &[f32],
        taps: &crate::pool::Pooled,
        l: usize,
        sps: usize,
        base: usize,
        n_out: usize,
    ) -> Result<crate::pool::Pooled> {
        let xb = self.upload(
            Role::Input,
            bytemuck::cast_slice(if x.is_empty() { &[0f32][..] } else { x }),
        )?;
        let yb = self.buffer(Role::Output, n_out as u64 * 4)?;
        let plan = self.fir_plan(x.len(), n_out, l, sps, base)?;
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&plan.params))?;
        self.dispatch_1d(
            &plan.pipeline,
            &plan.bindings(ub.buffer(), taps.buffer(), xb.buffer(), yb.buffer()),
            plan.grid,
        )?;
        Ok(yb)
    }

    /// The kernel, grid and parameters of a FIR over `n_in` samples (a buffer holding at least
    /// one) to `n_out` outputs: symbol-spaced FIRs of up to
    /// [`shaders::FFE_UNROLLED_MAX_TAPS`] taps with `base < l` take `fir_unrolled` (four
    /// outputs per invocation, vec4 views of the 16-byte padded pooled buffers); others the
    /// tiled kernel with the largest R ≤ 4 whose tile fits, or else the untiled one.
    pub(crate) fn fir_plan(
        &self,
        n_in: usize,
        n_out: usize,
        l: usize,
        sps: usize,
        base: usize,
    ) -> Result<FirPlan> {
        let unrolled = match sps {
            1 => self.pipeline_ffe("fir", shaders::FIR, "fir_unrolled", l, base)?,
            _ => None,
        };
        let vec4 = unrolled.is_some();
        let (pipeline, per_thread, groups) = match unrolled {
            Some(p) => (
                p,
                4,
                u32_len("FIR output", n_out)?
                    .div_ceil(4)
                    .div_ceil(WORKGROUP),
            ),
            None => {
                let per_thread = tiled_outputs_per_thread(sps, l);
                let (entry, groups) = match per_thread {
                    Some(r) => (
                        "fir_tiled",
                        u32_len("FIR output", n_out)?.div_ceil(WORKGROUP * r),
                    ),
                    None => (
                        "fir_direct",
                        u32_len("FIR output", n_out)?.div_ceil(WORKGROUP),
                    ),
                };
                (
                    self.pipeline("fir", shaders::FIR, entry)?,
                    per_thread.unwrap_or(1),
                    groups,
                )
            }
        };
        let grid = self.grid(groups);
        let params = FirParams {
            // fir_unrolled reads the buffer's first sample even for an empty input (a zero).
            n_in: u32_len("FIR input", if vec4 { n_in.max(1) } else { n_in })?,
            n_out: u32_len("FIR output", n_out)?,
            sps: u32_len("samples per symbol", sps)?,
            base: u32_len("FIR base", base)?,
            ntaps: l as u32,
            per_thread,
            wg_x: grid.0,
            _pad: 0,
        };
        Ok(FirPlan {
            pipeline,
            grid,
            params,
            vec4,
        })
    }

    /// The FFE of `lightlane_core::eq::Ffe::equalize` on the GPU: `y[k] = Σ_j w[j]·x[k·sps + c − j]`,
    /// `x.len() / sps` outputs.
    pub fn ffe_equalize(&self, ffe: &Ffe, x: &[f32]) -> Result<Vec<f32>> {
        self.fir(
            x,
            ffe.taps(),
            ffe.samples_per_symbol(),
            ffe.reference_tap(),
            ffe.output_len(x.len()),
        )
    }

    /// 'Valid' convolution of `lightlane_core::filter::Fir::process_valid`:
    /// `y[i] = Σ_j h[j]·x[i + L − 1 − j]`, `x.len() − L + 1` outputs.
    pub fn fir_valid(&self, x: &[f32], taps: &[f32]) -> Result<Vec<f32>> {
        let n_out = (x.len() + 1).saturating_sub(taps.len());
        self.fir(x, taps, 1, taps.len().saturating_sub(1), n_out)
    }

    fn slice_params(
        &self,
        slicer: &Slicer,
        modulation: Modulation,
        mapping: BitMapping,
        cap: usize,
    ) -> Result<SliceParams> {
        let t = slicer.thresholds();
        if t.len() > 15 {
            return Err(Error::invalid("thresholds", t.len(), "at most 15"));
        }
        let mut thr = [0f32; 16];
        thr[..t.len()].copy_from_slice(t);
        Ok(SliceParams {
            n: 0,
            nthr: t.len() as u32,
            mask: modulation.max_symbol() as u32,
            gray: matches!((modulation, mapping), (Modulation::Pam4, BitMapping::Gray)) as u32,
            cap: u32_len("error position capacity", cap)?,
            first: 0,
            wg_x: 0,
            ntaps: 0,
            n_in: 0,
            sps: 1,
            base: 0,
            y0: 0,
            thr,
        })
    }

    /// Slicer + comparison with `expected` + error counting, fused, over
    /// `min(y.len(), expected.len())` symbols; returns the counts and up to `cap` symbol-error
    /// positions. Same decisions as `Slicer::slice`, same counts as
    /// `lightlane_core::pattern::count::count_errors`. Streams `y` through the staging ring into
    /// the device-resident implementation (`slice_count_pass`), chunk by chunk.
    pub fn slice_count(
        &self,
        y: &[f32],
        expected: &[u8],
        slicer: &Slicer,
        modulation: Modulation,
        mapping: BitMapping,
        cap: usize,
    ) -> Result<SliceCount> {
        let n = y.len().min(expected.len());
        let base = self.slice_params(slicer, modulation, mapping, cap)?;
        let (counters, positions) = self.count_buffers(cap)?;
        // Chunks: 4 bytes of y per symbol; chunk starts stay multiples of 4 symbols.
        let chunk = (self.elems_per_binding(4).min(1 << 24) / 4 * 4).max(4);
        let exp_buf = self.buffer(Role::Input, (chunk as u64).div_ceil(4).max(1) * 4)?;
        let mut ring = StagingRing::new(self, (chunk * 4) as u64, 3)?;
        let mut start = 0;
        while start < n {
            let len = chunk.min(n - start);
            let mut e = expected[start..start + len].to_vec();
            e.resize(len.div_ceil(4) * 4, 0);
            // Ordered before the ring's submission of this chunk (and after the previous one's).
            self.scoped(|| self.queue.write_buffer(exp_buf.buffer(), 0, &e))?;
            let mut recorded = Ok(None);
            ring.push(bytemuck::cast_slice(&y[start..start + len]), |enc, data| {
                recorded = self
                    .slice_count_pass(data, 0, len, start, exp_buf.buffer(), &base, &counters, &positions)
                    .map(|(pipe, bind, grid, ub)| {
                        self.dispatch(&pipe, &bind, grid, enc);
                        Some(ub)
                    });
            })?;
            // The chunk's uniform lives until its submission (done by `push`).
            drop(recorded?);
            start += len;
        }
        ring.finish()?;
        self.read_counts(&counters, &positions, cap)
    }

    /// [`GpuContext::slice_count`] of `y[start .. start + expected.len()]` where `y` is a
    /// device buffer of `y_len` samples (`Role::Output`, e.g. [`GpuContext::ffe_resident`]'s):
    /// the kernel reads the span in place, only the counts and positions come back.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn slice_count_resident(
        &self,
        y: &crate::pool::Pooled,
        y_len: usize,
        start: usize,
        expected: &[u8],
        slicer: &Slicer,
        modulation: Modulation,
        mapping: BitMapping,
        cap: usize,
    ) -> Result<SliceCount> {
        let n = expected.len();
        if start.checked_add(n).is_none_or(|e| e > y_len) {
            return Err(Error::invalid(
                "slice span",
                format!("{start}+{n}"),
                format!("must lie within the {y_len} samples"),
            ));
        }
        let base = self.slice_params(slicer, modulation, mapping, cap)?;
        let (counters, positions) = self.count_buffers(cap)?;
        if n == 0 {
            return self.read_counts(&counters, &positions, cap);
        }
        let eb = self.upload(Role::Input, expected)?;
        let mut recorded = Ok(None);
        self.scoped(|| {
            let mut enc = self.device.create_command_encoder(&Default::default());
            recorded = self
                .slice_count_pass(y.buffer(), start, n, start, eb.buffer(), &base, &counters, &positions)
                .map(|(pipe, bind, grid, ub)| {
                    self.dispatch(&pipe, &bind, grid, &mut enc);
                    Some(ub)
                });
            if recorded.is_ok() {
                self.queue.submit([enc.finish()]);
            }
        })?;
        drop(recorded?);
        self.read_counts(&counters, &positions, cap)
    }

    /// The one implementation of the fused slicer + comparison + count, bound but not recorded:
    /// the kernel over `y[y0 .. y0 + n]` of the device buffer `y` against `expected` (packed,
    /// its byte 0 compared with `y[y0]`), adding into `counters` and appending symbol-error
    /// positions numbered from `first`. Returns its pipeline, bind group, grid and parameter
    /// buffer (which must live until the dispatch is submitted); the engine records it, the
    /// bench times it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn slice_count_pass(
        &self,
        y: &wgpu::Buffer,
        y0: usize,
        n: usize,
        first: usize,
        expected: &wgpu::Buffer,
        base: &SliceParams,
        counters: &crate::pool::Pooled,
        positions: &crate::pool::Pooled,
    ) -> Result<(wgpu::ComputePipeline, wgpu::BindGroup, (u32, u32), crate::pool::Pooled)> {
        let grid = self.grid(u32_len("symbols", n)?.div_ceil(4).div_ceil(WORKGROUP));
        let p = SliceParams {
            n: n as u32,
            first: u32_len("symbol index", first)?,
            wg_x: grid.0,
            y0: u32_len("slice span start", y0)?,
            ..*base
        };
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
        let pipe = self.pipeline("slice_count", shaders::SLICE_COUNT, "slice_count")?;
        let bind = self.bind(&pipe, &[(0, ub.buffer()), (1, y), (2, expected), (3, counters.buffer()), (4, positions.buffer())]);
        Ok((pipe, bind, grid, ub))
    }

    /// `Slicer::slice_vec` of the first `n` samples of the device buffer `y`: the decisions
    /// are packed on the device and one byte per symbol comes back.
    pub(crate) fn slice_resident(
        &self,
        y: &crate::pool::Pooled,
        n: usize,
        slicer: &Slicer,
    ) -> Result<Vec<u8>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let words = n.div_ceil(4) as u64 * 4;
        let ob = self.buffer(Role::Output, words)?;
        let grid = self.grid(u32_len("symbols", n)?.div_ceil(4).div_ceil(WORKGROUP));
        let p = SliceParams {
            n: n as u32,
            wg_x: grid.0,
            ..self.slice_params(slicer, Modulation::Pam4, BitMapping::Gray, 0)?
        };
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
        let pipe = self.pipeline("slice_count", shaders::SLICE_COUNT, "slice_only")?;
        self.dispatch_1d(
            &pipe,
            &[(0, ub.buffer()), (1, y.buffer()), (4, ob.buffer())],
            grid,
        )?;
        let mut d = self.read_back(ob.buffer(), words)?;
        d.truncate(n);
        Ok(d)
    }

    /// [`GpuContext::dfe_detect_blocks`] of the first `n` samples of the device buffer `y`
    /// (no upload); inputs whose scratch exceeds one binding are read back and streamed.
    pub(crate) fn dfe_detect_resident(
        &self,
        dfe: &Dfe,
        y: &crate::pool::Pooled,
        n: usize,
        block: usize,
        warmup: usize,
    ) -> Result<Vec<u8>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        if block == 0
            || !block.is_multiple_of(4)
            || dfe.taps().len() > GPU_DFE_MAX_TAPS
            || !dfe_fits(n, block, warmup, self.elems_per_binding(4))
        {
            let host = self.read_back(y.buffer(), n as u64 * 4)?;
            return self.dfe_detect_blocks(
                dfe,
                &bytemuck::cast_slice::<u8, f32>(&host)[..n],
                block,
                warmup,
            );
        }
        self.dfe_run(dfe, n, block, warmup)?.run(self, y)
    }

    fn count_buffers(&self, cap: usize) -> Result<(crate::pool::Pooled, crate::pool::Pooled)> {
        let counters = self.buffer(Role::Output, 32)?;
        let positions = self.buffer(Role::Output, (cap.max(1) * 4) as u64)?;
        self.scoped(|| {
            let mut enc = self.device.create_command_encoder(&Default::default());
            enc.clear_buffer(counters.buffer(), 0, None);
            self.queue.submit([enc.finish()]);
        })?;
        Ok((counters, positions))
    }

    fn read_counts(
        &self,
        counters: &crate::pool::Pooled,
        positions: &crate::pool::Pooled,
        cap: usize,
    ) -> Result<SliceCount> {
        let c = self.read_back(counters.buffer(), 20)?;
        let w: &[u32] = bytemuck::cast_slice(&c[..20]);
        let counts = ErrorCounts {
            symbol_errors: w[0] as u64 | (w[1] as u64) << 32,
            bit_errors: w[2] as u64 | (w[3] as u64) << 32,
        };
        let npos = (w[4] as usize).min(cap);
        let mut pos = Vec::new();
        if npos > 0 {
            let b = self.read_back(positions.buffer(), npos as u64 * 4)?;
            pos = bytemuck::cast_slice::<u8, u32>(&b[..npos * 4])
                .iter()
                .map(|&p| p as u64)
                .collect();
            pos.sort_unstable();
        }
        Ok(SliceCount {
            counts,
            positions: pos,
        })
    }

    /// The fused pass FFE → slicer → comparison → counting: the equalized signal is computed
    /// inside the counting kernel and never stored. `expected[k]` is compared with the decision
    /// on `y[k]` of [`GpuContext::ffe_equalize`], over `min(x.len() / sps, expected.len())`
    /// symbols. Inputs must fit one binding (use [`GpuContext::slice_count`] to stream).
    #[allow(clippy::too_many_arguments)]
    pub fn ffe_slice_count(
        &self,
        ffe: &Ffe,
        x: &[f32],
        expected: &[u8],
        slicer: &Slicer,
        modulation: Modulation,
        mapping: BitMapping,
        cap: usize,
    ) -> Result<SliceCount> {
        let n = ffe.output_len(x.len()).min(expected.len());
        if x.len() > self.elems_per_binding(4) {
            return Err(gpu_err(format!(
                "fused pass: {} samples exceed one binding",
                x.len()
            )));
        }
        let (xb, tb, eb) = (
            self.upload(
                Role::Input,
                bytemuck::cast_slice(if x.is_empty() { &[0f32][..] } else { x }),
            )?,
            self.upload(Role::Input, bytemuck::cast_slice(ffe.taps()))?,
            self.upload(
                Role::Input,
                if expected.is_empty() {
                    &[0u8][..]
                } else {
                    &expected[..n.max(1).min(expected.len())]
                },
            )?,
        );
        let (counters, positions) = self.count_buffers(cap)?;
        self.ffe_slice_count_resident(
            ffe,
            &xb,
            x.len(),
            &tb,
            &eb,
            n,
            slicer,
            modulation,
            mapping,
            cap,
            &counters,
            &positions,
        )?;
        self.read_counts(&counters, &positions, cap)
    }

    /// The fused pass over device-resident buffers (benchmarks time this part alone).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn ffe_slice_count_resident(
        &self,
        ffe: &Ffe,
        x: &crate::pool::Pooled,
        n_in: usize,
        taps: &crate::pool::Pooled,
        expected: &crate::pool::Pooled,
        n: usize,
        slicer: &Slicer,
        modulation: Modulation,
        mapping: BitMapping,
        cap: usize,
        counters: &crate::pool::Pooled,
        positions: &crate::pool::Pooled,
    ) -> Result<()> {
        let plan = self.ffe_slice_count_plan(ffe, n_in, n, slicer, modulation, mapping, cap)?;
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&plan.params))?;
        let bindings = plan.bindings(
            ub.buffer(),
            expected.buffer(),
            counters.buffer(),
            positions.buffer(),
            taps.buffer(),
            x.buffer(),
        );
        self.dispatch_1d(&plan.pipeline, &bindings, plan.grid)
    }

    /// The fused kernel, grid and parameters for [`Self::ffe_slice_count_resident`]:
    /// symbol-spaced FFEs of up to [`shaders::FFE_UNROLLED_MAX_TAPS`] taps take the unrolled
    /// kernel, which reads x as vec4s (binding 7); others the generic one (binding 6).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn ffe_slice_count_plan(
        &self,
        ffe: &Ffe,
        n_in: usize,
        n: usize,
        slicer: &Slicer,
        modulation: Modulation,
        mapping: BitMapping,
        cap: usize,
    ) -> Result<FusedPlan> {
        let unrolled = match ffe.samples_per_symbol() {
            1 => self.pipeline_ffe(
                "slice_count",
                shaders::SLICE_COUNT,
                "ffe_slice_count_unrolled",
                ffe.taps().len(),
                ffe.reference_tap(),
            )?,
            _ => None,
        };
        let (pipeline, x_binding) = match unrolled {
            Some(p) => (p, 7),
            None => (
                self.pipeline("slice_count", shaders::SLICE_COUNT, "ffe_slice_count")?,
                6,
            ),
        };
        let groups = u32_len("symbols", n)?.div_ceil(4).div_ceil(WORKGROUP);
        let grid = self.grid(groups);
        let p = SliceParams {
            n: n as u32,
            wg_x: grid.0,
            ntaps: ffe.taps().len() as u32,
            // The buffer holds at least one sample (a zero for an empty input).
            n_in: u32_len("samples", n_in.max(1))?,
            sps: ffe.samples_per_symbol() as u32,
            base: ffe.reference_tap() as u32,
            ..self.slice_params(slicer, modulation, mapping, cap)?
        };
        Ok(FusedPlan {
            pipeline,
            grid,
            params: p,
            x_binding,
        })
    }

    /// The eye-histogram kernel, grid and parameters for `n` samples (2 ≤ n < 2^32) whose first
    /// has stream index `k0`: `eye_private` when the histogram fits a workgroup
    /// ([`EYE_PRIVATE_BINS`]), `eye_tiled` when one phase's columns do, else `eye_global`. The
    /// privatized kernels get about [`EYE_WORKGROUPS`] workgroups, however long the input, so
    /// each workgroup's flush of its private bins stays small beside its counting; with
    /// [`GpuContext::set_eye_runs`] they are their `_runs` forms.
    pub(crate) fn eye_plan(
        &self,
        n: usize,
        k0: u64,
        geom: &EyeGeometry,
    ) -> Result<(wgpu::ComputePipeline, (u32, u32), EyeParams)> {
        let bins = geom.bins()?;
        let n32 = u32_len("eye samples", n)?;
        let segments = n32.saturating_sub(1).max(1);
        let period = geom.period() as u32;
        let m = geom.columns_per_sample() as u32;
        let phase_bins = geom.amp_bins as u64 * m as u64;
        let runs = self.eye_runs();
        // A subgroup's 32 invocations at one step count the segments of: 32 consecutive phases
        // (eye_private), every EYE_RUN-th phase (eye_private_runs), the tile's phases in turn
        // (eye_tiled), or one phase (eye_tiled_runs, each invocation a period).
        let (entry, groups, segs, tile_phases, chunk_periods, swz) = if bins <= EYE_PRIVATE_BINS {
            // (eye_private_runs: whole runs of EYE_RUN segments.)
            let segs = segments.div_ceil(WORKGROUP * EYE_WORKGROUPS).max(16).next_multiple_of(EYE_RUN);
            let phases = subgroup_phases(period, if runs { EYE_RUN } else { 1 });
            (
                if runs { "eye_private_runs" } else { "eye_private" },
                segments.div_ceil(WORKGROUP * segs),
                segs,
                0,
                0,
                eye_swizzle(phases, geom.time_bins as u32),
            )
        } else if phase_bins <= EYE_PRIVATE_BINS as u64 {
            let ph = ((EYE_PRIVATE_BINS as u64 / phase_bins) as u32).clamp(1, period);
            let tiles = period.div_ceil(ph);
            // Periods holding the segments' stream indices k0 % P .. k0 % P + n − 2.
            let periods = ((k0 % period as u64) as u32 + segments - 1) / period + 1;
            let chunks = EYE_WORKGROUPS.div_ceil(tiles).clamp(1, periods);
            let cp = periods.div_ceil(chunks);
            let phases = if runs { 1 } else { ph.min(32) };
            (if runs { "eye_tiled_runs" } else { "eye_tiled" }, tiles * periods.div_ceil(cp), 0, ph, cp, eye_swizzle(phases, ph * m))
        } else {
            ("eye_global", segments.div_ceil(WORKGROUP * 4), 4, 0, 0, 0)
        };
        let pipe = self.pipeline_eye(entry, m as usize)?;
        let grid = self.grid(groups);
        let p = EyeParams {
            n: n32,
            k0: (k0 % period as u64) as u32,
            period,
            m,
            bins_t: geom.time_bins as u32,
            bins_a: geom.amp_bins as u32,
            lo: geom.lo,
            s256: geom.s256(),
            wg_x: grid.0,
            segs,
            tile_phases,
            chunk_periods,
            swz,
            _pad: [0; 3],
        };
        Ok((pipe, grid, p))
    }

    /// Eye histogram of `y` (the canonical algorithm of `EYE_HIST_SPEC`, identical counts to
    /// [`crate::reference::eye_histogram`]): `A·B` counts, row-major (row = amplitude bin).
    /// Streams `y` through the staging ring in chunks that overlap by one sample.
    pub fn eye_histogram(&self, y: &[f32], geom: &EyeGeometry) -> Result<Vec<u32>> {
        let mut hist = vec![0u32; geom.bins()?];
        self.eye_histogram_accumulate(y, 0, geom, &mut hist)?;
        Ok(hist)
    }

    /// Adds the histogram of `y` to `hist`; `k0` is the index of `y[0]` in the whole stream
    /// (only `k0 % P` matters), so consecutive pieces that each start with the previous
    /// piece's last sample add up to the histogram of the whole.
    pub fn eye_histogram_accumulate(
        &self,
        y: &[f32],
        k0: u64,
        geom: &EyeGeometry,
        hist: &mut [u32],
    ) -> Result<()> {
        let bins = geom.bins()?;
        if hist.len() != bins {
            return Err(Error::LengthMismatch {
                what: "eye histogram",
                expected: bins,
                got: hist.len(),
            });
        }
        if y.len() < 2 {
            return Ok(());
        }
        let hb = self.buffer(Role::Output, bins as u64 * 4)?;
        self.scoped(|| {
            let mut enc = self.device.create_command_encoder(&Default::default());
            enc.clear_buffer(hb.buffer(), 0, None);
            self.queue.submit([enc.finish()]);
        })?;
        let chunk = self.elems_per_binding(4).clamp(2, 1 << 24);
        let mut ring = StagingRing::new(self, (chunk * 4) as u64, 3)?;
        let mut start = 0usize;
        let mut uniforms = Vec::new();
        while start + 1 < y.len() {
            let end = (start + chunk).min(y.len());
            let len = end - start;
            let (pipe, grid, p) = self.eye_plan(len, k0 + start as u64, geom)?;
            let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
            ring.push(bytemuck::cast_slice(&y[start..end]), |enc, data| {
                self.record_1d(
                    enc,
                    &pipe,
                    &[(0, ub.buffer()), (1, data), (2, hb.buffer())],
                    grid,
                );
            })?;
            uniforms.push(ub);
            if uniforms.len() > 4 {
                uniforms.remove(0);
            }
            // The next chunk starts with this chunk's last sample.
            start = end - 1;
        }
        ring.finish()?;
        let bytes = self.read_back(hb.buffer(), bins as u64 * 4)?;
        for (h, &v) in hist
            .iter_mut()
            .zip(bytemuck::cast_slice::<u8, u32>(&bytes[..bins * 4]))
        {
            *h = h.wrapping_add(v);
        }
        Ok(())
    }

    /// [`GpuContext::eye_histogram`] of the points `range` of the device buffer `y` (f32;
    /// `range` within one binding), without an upload: one submission copies `range` to the
    /// start of a buffer on the device (unless it starts there), clears the counts and runs
    /// the kernel; the counts come back.
    pub(crate) fn eye_histogram_resident(
        &self,
        y: &Pooled,
        range: std::ops::Range<usize>,
        geom: &EyeGeometry,
    ) -> Result<Vec<u32>> {
        let bins = geom.bins()?;
        let n = range.len();
        if range.start > range.end || range.end as u64 * 4 > y.buffer().size() {
            return Err(Error::invalid(
                "resident eye points",
                format!("{range:?}"),
                format!("must lie within the buffer's {} points", y.buffer().size() / 4),
            ));
        }
        if n > self.elems_per_binding(4) {
            return Err(gpu_err(format!(
                "resident eye histogram of {n} points: more than one binding"
            )));
        }
        if n < 2 {
            return Ok(vec![0; bins]);
        }
        let moved = match range.start {
            0 => None,
            _ => Some(self.buffer(Role::Input, n as u64 * 4)?),
        };
        let data = moved.as_ref().unwrap_or(y).buffer();
        let hb = self.buffer(Role::Output, bins as u64 * 4)?;
        let (pipe, grid, p) = self.eye_plan(n, 0, geom)?;
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
        self.scoped(|| {
            let mut enc = self.device.create_command_encoder(&Default::default());
            enc.clear_buffer(hb.buffer(), 0, None);
            if let Some(m) = &moved {
                enc.copy_buffer_to_buffer(y.buffer(), range.start as u64 * 4, m.buffer(), 0, n as u64 * 4);
            }
            self.record_1d(&mut enc, &pipe, &[(0, ub.buffer()), (1, data), (2, hb.buffer())], grid);
            self.queue.submit([enc.finish()]);
        })?;
        let bytes = self.read_back(hb.buffer(), bins as u64 * 4)?;
        Ok(bytemuck::cast_slice::<u8, u32>(&bytes[..bins * 4]).to_vec())
    }

    /// Syndromes of a batch of received words of `code` (`words.len()` a multiple of n),
    /// `2t` per word in word order, equal to `lightlane_core::fec::ReedSolomon::syndromes`.
    /// Errors: length not a multiple of n, a symbol ≥ 1024.
    pub fn rs_syndromes(&self, code: RsCode, words: &[u16]) -> Result<Vec<u16>> {
        let n = code.n();
        if !words.len().is_multiple_of(n) {
            return Err(Error::LengthMismatch {
                what: "rs word batch (multiple of n symbols)",
                expected: words.len().div_ceil(n) * n,
                got: words.len(),
            });
        }
        gf::check_symbols("rs word batch", words)?;
        let two_t = code.parity_len();
        let count = words.len() / n;
        let mut out = vec![0u16; count * two_t];
        if count == 0 {
            return Ok(out);
        }
        let tables = self.rs_tables()?;
        let pipe = self.pipeline("rs_syndromes", shaders::RS_SYNDROMES, "syndromes")?;
        // Whole words per chunk (an even number keeps chunks u32-aligned).
        let per_chunk = ((self.elems_per_binding(2) / n) / 2 * 2).max(2);
        let mut w0 = 0;
        while w0 < count {
            let wn = per_chunk.min(count - w0);
            let sb = self.upload(
                Role::Input,
                bytemuck::cast_slice(&words[w0 * n..(w0 + wn) * n]),
            )?;
            let ob = self.buffer(Role::Output, (wn * two_t * 4) as u64)?;
            let (_ub, bind, grid) = self.rs_pass(&pipe, &tables, &sb, &ob, wn, n, two_t)?;
            self.scoped(|| {
                let mut enc = self.device.create_command_encoder(&Default::default());
                self.dispatch(&pipe, &bind, grid, &mut enc);
                self.queue.submit([enc.finish()]);
            })?;
            let b = self.read_back(ob.buffer(), (wn * two_t * 4) as u64)?;
            for (o, &s) in out[w0 * two_t..(w0 + wn) * two_t]
                .iter_mut()
                .zip(bytemuck::cast_slice::<u8, u32>(&b[..wn * two_t * 4]))
            {
                *o = s as u16;
            }
            w0 += wn;
        }
        Ok(out)
    }

    /// The syndromes kernel's GF(2^10) tables on the device: (log of each symbol, 0 for 0;
    /// α^e for e in 0..2048, so a sum of two logs needs no reduction).
    pub(crate) fn rs_tables(&self) -> Result<(Pooled, Pooled)> {
        let log: Vec<u32> = (0..1024u16)
            .map(|a| gf::log(a).unwrap_or(0) as u32)
            .collect();
        let exp: Vec<u32> = (0..2048usize)
            .map(|e| gf::exp(e % gf::GROUP_ORDER) as u32)
            .collect();
        Ok((
            self.upload(Role::Input, bytemuck::cast_slice(&log))?,
            self.upload(Role::Input, bytemuck::cast_slice(&exp))?,
        ))
    }

    /// One syndromes pass of `pipe` over `wn` words of `n` symbols in `words` into `out`
    /// (`two_t` u32 a word): its uniform buffer (keep it alive until the pass has run), bind
    /// group and grid.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rs_pass(
        &self,
        pipe: &wgpu::ComputePipeline,
        tables: &(Pooled, Pooled),
        words: &Pooled,
        out: &Pooled,
        wn: usize,
        n: usize,
        two_t: usize,
    ) -> Result<(Pooled, wgpu::BindGroup, (u32, u32))> {
        let grid = self.grid(u32_len("rs words", wn)?.div_ceil(2));
        let p = RsParams {
            words: wn as u32,
            n: n as u32,
            two_t: two_t as u32,
            wg_x: grid.0,
        };
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
        let bind = self.scoped(|| {
            self.bind(
                pipe,
                &[
                    (0, ub.buffer()),
                    (1, words.buffer()),
                    (2, tables.0.buffer()),
                    (3, tables.1.buffer()),
                    (4, out.buffer()),
                ],
            )
        })?;
        Ok((ub, bind, grid))
    }

    /// Block-parallel DFE: decisions equal to
    /// `lightlane_core::eq::detect_blocks(y, block, warmup, |b| dfe.detect(b))` (bit for bit:
    /// the same floating-point operations in the same order). `block` must be a positive
    /// multiple of 4; at most 3 thresholds (NRZ, PAM4). The whole input must fit one binding.
    ///
    /// Up to [`GPU_DFE_MAX_TAPS`] feedback taps (every `Dfe`). The run of each block is split
    /// into dispatches of 1024 symbols: lavapipe silently stops a shader's loops after 65535
    /// iterations in total, which made long DFEs diverge before.
    pub fn dfe_detect_blocks(
        &self,
        dfe: &Dfe,
        y: &[f32],
        block: usize,
        warmup: usize,
    ) -> Result<Vec<u8>> {
        if block == 0 || !block.is_multiple_of(4) {
            return Err(Error::invalid(
                "block",
                block,
                "must be a positive multiple of 4",
            ));
        }
        if dfe.taps().len() > GPU_DFE_MAX_TAPS {
            return Err(gpu_err(format!(
                "GPU DFE supports at most {GPU_DFE_MAX_TAPS} taps (got {}); use the CPU engine",
                dfe.taps().len()
            )));
        }
        let n = y.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let limit = self.elems_per_binding(4);
        if !dfe_fits(n, block, warmup, limit) {
            return self.stream_blocks(y, block, warmup, 2, &|len| {
                self.dfe_run(dfe, len, block, warmup)
            });
        }
        let yb = self.upload(Role::Input, bytemuck::cast_slice(y))?;
        self.dfe_run(dfe, n, block, warmup)?.run(self, &yb)
    }

    /// Prepares the DFE kernel for an input of `n` symbols (which must fit [`dfe_fits`]).
    pub(crate) fn dfe_run(
        &self,
        dfe: &Dfe,
        n: usize,
        block: usize,
        warmup: usize,
    ) -> Result<BlockRun> {
        if !dfe_fits(n, block, warmup, self.elems_per_binding(4)) {
            return Err(gpu_err(format!(
                "DFE input of {n} samples (with warm-up history) exceeds one binding"
            )));
        }
        let m = dfe.modulation();
        let levels = dfe.levels();
        let thr: Vec<f32> = levels.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        if thr.len() > 3 {
            return Err(gpu_err(format!(
                "GPU DFE supports NRZ and PAM4 (got {} levels); use the CPU engine",
                levels.len()
            )));
        }
        let alphabet = m.level_set();
        let fb: Vec<f32> = dfe
            .taps()
            .iter()
            .flat_map(|&b| alphabet.iter().map(move |&a| b * a))
            .collect();
        let mut thr4 = [0f32; 4];
        thr4[..thr.len()].copy_from_slice(&thr);
        let blocks = u32_len("DFE blocks", n.div_ceil(block))?;
        let grid = self.grid(blocks.div_ceil(64));
        let p = DfeParams {
            n: u32_len("DFE input", n)?,
            block: u32_len("block", block)?,
            warmup: u32_len("warmup", warmup.min(n))?,
            ntaps: dfe.taps().len() as u32,
            levels: m.levels() as u32,
            nthr: thr.len() as u32,
            blocks,
            wg_x: grid.0,
            seg_begin: 0,
            seg_len: DFE_SEGMENT as u32,
            _p: [0; 2],
            thr: thr4,
        };
        let pipe = self.pipeline("dfe", shaders::DFE, "dfe_blocks")?;
        let fbb = self.upload(Role::Input, bytemuck::cast_slice(&fb))?;
        let words = n.div_ceil(4) as u64 * 4;
        let ob = self.buffer(Role::Output, words)?;
        let run_max = block + warmup.min(n);
        let scratch_bytes = blocks as u64 * run_max as u64 * 4;
        let sb = self.buffer(Role::Output, scratch_bytes)?;
        let mut uniforms = Vec::new();
        for s in 0..run_max.min(n).div_ceil(DFE_SEGMENT) {
            let ps = DfeParams {
                seg_begin: (s * DFE_SEGMENT) as u32,
                ..p
            };
            uniforms.push(self.upload(Role::Uniform, bytemuck::bytes_of(&ps))?);
        }
        Ok(BlockRun {
            pipe,
            grid,
            uniforms,
            rest: vec![(2, fbb), (4, sb)],
            out: ob,
            n,
        })
    }
}

/// Whether the DFE of `n` symbols (input plus warm-up history scratch) fits `limit` elements.
pub(crate) fn dfe_fits(n: usize, block: usize, warmup: usize, limit: usize) -> bool {
    n.saturating_add(n.div_ceil(block).saturating_mul(warmup.min(n))) <= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subgroup_phases_count_the_distinct_phases_of_32_invocations() {
        // Against counting them.
        for period in [1u32, 2, 3, 4, 7, 10, 16, 64, 100, 4096] {
            for step in [1u32, 2, 4, 6] {
                let mut seen: Vec<u32> = (0..32).map(|t| (t * step) % period).collect();
                seen.sort_unstable();
                seen.dedup();
                assert_eq!(subgroup_phases(period, step), seen.len() as u32, "period {period} step {step}");
            }
        }
    }

    #[test]
    fn eye_rows_are_swizzled_only_where_a_subgroup_shares_its_columns() {
        // The 64 x 64 eye (16 phases), the analysis eye's tiles (4 phases): plain rows.
        assert_eq!(eye_swizzle(subgroup_phases(16, 1), 64), 0);
        assert_eq!(eye_swizzle(subgroup_phases(16, EYE_RUN), 64), 0);
        assert_eq!(eye_swizzle(4, 16), 0);
        // One phase a tile of 16 columns, the tile run kernel, 2 phases in a row of 64.
        assert_eq!(eye_swizzle(1, 16), 15);
        assert_eq!(eye_swizzle(subgroup_phases(2, 1), 64), 63);
        assert_eq!(eye_swizzle(subgroup_phases(8, EYE_RUN), 64), 63);
        // Not for a row width that is not a power of two.
        assert_eq!(eye_swizzle(1, 18), 0);
    }
}
