//! Engine selection: `Backend::{Cpu, Gpu, Auto}` resolved against the available adapter, and
//! the GPU engine plugged into the analysis pipeline through `lightlane_core::accel`.

use crate::context::GpuContext;
use crate::kernels::GPU_DFE_MAX_TAPS;
use crate::pool::Pooled;
use lightlane_core::accel::{check_range, Accelerator, Equalized, KeptCrossing, KeptScan, KeptSignal, Resampled};
use lightlane_core::analysis::{analyze_stream_with, analyze_with, AnalysisConfig, ChunkSource, Report, StreamOptions};
use lightlane_core::eq::block::{DEFAULT_BLOCK, DEFAULT_WARMUP};
use lightlane_core::eq::{Dfe, Ffe, Mlse};
use lightlane_core::eye::{TdecqBins, TdecqHistograms, TdecqWindow};
use lightlane_core::modulation::{BitMapping, Slicer};
use lightlane_core::pattern::count::ErrorCounts;
use lightlane_core::{Backend, Modulation, Result, Waveform};
use std::ops::Range;

/// Captures shorter than this (samples) run on the CPU under `Backend::Auto`: below it the
/// transfers and launches cost more than the GPU saves.
pub const AUTO_MIN_SAMPLES: usize = 1 << 20;

/// The engine a backend choice resolved to.
#[derive(Debug)]
pub enum Resolved {
    /// The CPU engine; `reason` says why when the GPU was wanted but is not used.
    Cpu {
        /// Why the GPU engine is not used (for the report's warnings), if it was a candidate.
        reason: Option<String>,
    },
    /// The GPU engine on this context.
    Gpu(&'static GpuContext),
}

/// Resolves `backend` for a capture of `samples` samples.
///
/// `Cpu` → CPU. `Gpu` → the shared [`GpuContext`], or its error (no adapter, limits too small)
/// as `Err`. `Auto` → GPU when an adapter that is a real GPU (not a CPU driver such as
/// lavapipe) exists and `samples ≥ AUTO_MIN_SAMPLES`, else CPU with the reason.
pub fn resolve(backend: Backend, samples: usize) -> Result<Resolved> {
    match backend {
        Backend::Gpu => Ok(Resolved::Gpu(GpuContext::shared()?)),
        Backend::Auto => {
            if samples < AUTO_MIN_SAMPLES {
                return Ok(Resolved::Cpu { reason: None });
            }
            match GpuContext::shared() {
                Ok(ctx) if ctx.adapter().device_type == "Cpu" => Ok(Resolved::Cpu {
                    reason: Some(format!(
                        "backend auto: the only GPU adapter is the CPU driver '{}'; used the CPU engine",
                        ctx.adapter().name
                    )),
                }),
                Ok(ctx) => Ok(Resolved::Gpu(ctx)),
                Err(e) => Ok(Resolved::Cpu {
                    reason: Some(format!("backend auto: GPU engine unavailable ({e}); used the CPU engine")),
                }),
            }
        }
        _ => Ok(Resolved::Cpu { reason: None }),
    }
}

/// The GPU engine as a pipeline [`Accelerator`].
#[derive(Debug, Clone, Copy)]
pub struct GpuAccelerator<'a> {
    /// The context the stages run on.
    pub ctx: &'a GpuContext,
    /// Whether a failing stage may fall back to the CPU (true under `Backend::Auto`).
    pub fallback: bool,
}

impl Accelerator for GpuAccelerator<'_> {
    fn name(&self) -> String {
        format!("GPU engine ({})", self.ctx.adapter().name)
    }

    fn fallback_allowed(&self) -> bool {
        self.fallback
    }

    fn ffe_equalize(&self, ffe: &Ffe, x: &[f32]) -> Result<Vec<f32>> {
        self.ctx.ffe_equalize(ffe, x)
    }

    /// The FFE output stays on the device when `x` fits one binding; a longer capture is
    /// equalized in streamed chunks into host memory, and the stages after it stream too.
    fn equalize_resident<'a>(&'a self, ffe: &Ffe, x: &[f32]) -> Result<Box<dyn Equalized + 'a>> {
        let n = ffe.output_len(x.len());
        let store = if x.len() <= self.ctx.elems_per_binding(4) {
            Store::Device(self.ctx.ffe_resident(ffe, x)?)
        } else {
            Store::Host(self.ctx.ffe_equalize(ffe, x)?)
        };
        Ok(Box::new(GpuEqualized { ctx: self.ctx, n, store }))
    }

    fn eye_histogram(&self, g: &lightlane_core::eye::EyeGeometry, y: &[f32]) -> Result<Vec<u32>> {
        self.ctx.eye_histogram(y, &eye_geometry(g))
    }

    /// [`GpuContext::resample_at`]: within [`crate::resample_tolerance`] of the CPU per point;
    /// on the cores (the CPU engine's points) when it gives fewer points than it reads
    /// ([`resamples_on_the_device`]).
    fn resample_at(&self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Vec<f32>> {
        if !resamples_on_the_device(x.len(), positions.len(), sps_out) {
            return Ok(lightlane_core::timing::resample_at_parallel(x, positions, sps_out));
        }
        self.ctx.resample_at(x, positions, sps_out)
    }

    /// [`GpuContext::resample_at`], the points kept on the device ([`GpuKept`]) when they
    /// were computed in one dispatch.
    fn resample_kept<'a>(&'a self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Resampled<'a>> {
        let (y, kept) = self.ctx.resample_at_kept(x, positions, sps_out, crate::resample::Keep::Also)?;
        let n = y.len();
        Ok((y, kept.map(|buffer| Box::new(GpuKept { ctx: self.ctx, buffer, n }) as Box<dyn KeptSignal>)))
    }

    /// [`GpuContext::resample_at`] into a device buffer that stays there ([`GpuKept`]), when
    /// the points take one dispatch; nothing comes back.
    fn resample_resident<'a>(&'a self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Option<Box<dyn KeptSignal + 'a>>> {
        let (_, kept) = self.ctx.resample_at_kept(x, positions, sps_out, crate::resample::Keep::Only)?;
        let n = if x.is_empty() { 0 } else { positions.len() * sps_out };
        Ok(kept.map(|buffer| Box::new(GpuKept { ctx: self.ctx, buffer, n }) as Box<dyn KeptSignal>))
    }

    /// [`GpuContext::fir_held`] with the filter's taps and lead, then the
    /// resampling of [`GpuAccelerator::resample_resident`] from the filtered buffer: the capture
    /// goes up once and nothing comes back; declined (`Ok(None)`) when the capture or the
    /// points exceed one binding.
    fn reference_resident<'a>(&'a self, filter: &lightlane_core::eq::BesselThomsonFilter, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Option<Box<dyn KeptSignal + 'a>>> {
        let kept = self.ctx.held_filtered_resampled(x, filter.taps(), filter.lead(), positions, sps_out, false)?;
        let n = positions.len() * sps_out;
        Ok(kept.map(|(buffer, _)| Box::new(GpuKept { ctx: self.ctx, buffer, n }) as Box<dyn KeptSignal>))
    }

    /// [`GpuAccelerator::resample_resident`] and [`GpuAccelerator::reference_resident`] from
    /// one upload of the capture and one of the anchors; declined as the latter.
    fn eye_resident<'a>(&'a self, filter: &lightlane_core::eq::BesselThomsonFilter, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Option<[Box<dyn KeptSignal + 'a>; 2]>> {
        let n = positions.len() * sps_out;
        let kept = |buffer| Box::new(GpuKept { ctx: self.ctx, buffer, n }) as Box<dyn KeptSignal>;
        Ok(match self.ctx.held_filtered_resampled(x, filter.taps(), filter.lead(), positions, sps_out, true)? {
            Some((reference, Some(raw))) => Some([kept(raw), kept(reference)]),
            _ => None,
        })
    }

    /// TDECQ's windows resident in one [`crate::WeightedHistogram`] (both windows per
    /// dispatch; counts exact), placed by [`GpuContext::tdecq_placement`]: windows of fewer
    /// rows than [`crate::TDECQ_GPU_MIN_ROWS`] (the decimated search: a device round trip per
    /// evaluation costs more than the CPU's evaluation) unless every window goes to the
    /// device, and windows beyond the kernel's columns or bins or larger than one binding, stay
    /// on the CPU (`Ok(None)`); under `Raced` the plan races the CPU.
    fn tdecq_histograms<'a>(&'a self, windows: &[TdecqWindow<'_>], bins: &TdecqBins) -> Result<Option<Box<dyn TdecqHistograms + 'a>>> {
        let ncols = windows.first().map_or(0, |w| w.offsets.len());
        let data: usize = windows.iter().map(|w| w.data.len()).sum();
        let rows: usize = windows.iter().map(|w| w.rows).sum();
        let placement = self.ctx.tdecq_placement();
        let min_rows = if placement == crate::TdecqPlacement::Device { 0 } else { crate::TDECQ_GPU_MIN_ROWS };
        if rows < min_rows || ncols == 0 || ncols > crate::WEIGHTED_MAX_COLUMNS || windows.len() * bins.bins > crate::WEIGHTED_MAX_BINS || data > self.ctx.elems_per_binding(4) {
            return Ok(None);
        }
        let plan = self.ctx.weighted_histograms(windows, bins)?;
        Ok(Some(Box::new(plan.racing(placement == crate::TdecqPlacement::Raced))))
    }
}

/// Whether the GPU engine's [`Accelerator::resample_at`] (points that come back) runs on the
/// device: when it gives at least as many points as it reads. With fewer (the FFE input at 2
/// points per UI from 4.8 samples per UI) the round trip (the capture and 16-byte anchors up,
/// the points back) costs more than the cores' resampling: on the H200 machine the clock
/// recovery stage took 0.107 s with it on the device against 0.045 s on the 16 cores (stop 21).
pub fn resamples_on_the_device(inputs: usize, positions: usize, sps_out: usize) -> bool {
    positions.saturating_mul(sps_out) >= inputs
}

/// Resampled points the GPU engine keeps on the device: the eye histogram counts them there.
pub struct GpuKept<'a> {
    ctx: &'a GpuContext,
    buffer: Pooled,
    n: usize,
}

impl KeptSignal for GpuKept<'_> {
    fn len(&self) -> usize {
        self.n
    }

    fn eye_histogram(&self, g: &lightlane_core::eye::EyeGeometry, range: Range<usize>) -> Result<Vec<u32>> {
        check_range(&range, self.n)?;
        self.ctx.eye_histogram_resident(&self.buffer, range, &eye_geometry(g))
    }

    fn read(&self, range: Range<usize>) -> Result<Vec<f32>> {
        check_range(&range, self.n)?;
        self.ctx.kept_read(&self.buffer, range)
    }

    fn scan(&self, range: Range<usize>) -> Result<KeptScan> {
        check_range(&range, self.n)?;
        self.ctx.kept_scan(&self.buffer, range)
    }

    fn crossings(&self, range: Range<usize>, thresholds: &[f32]) -> Result<Vec<Vec<KeptCrossing>>> {
        check_range(&range, self.n)?;
        self.ctx.kept_crossings(&self.buffer, range, thresholds)
    }

    fn gather(&self, range: Range<usize>, indices: &[usize]) -> Result<Vec<f32>> {
        check_range(&range, self.n)?;
        self.ctx.kept_gather(&self.buffer, range, indices)
    }

    fn window(&self, range: Range<usize>, s: usize, first: isize, stride: usize, rows: usize, offsets: &[isize]) -> Result<Vec<f32>> {
        check_range(&range, self.n)?;
        self.ctx.kept_window(&self.buffer, range, s, first, stride, rows, offsets)
    }
}

/// The GPU crate's eye geometry of core's.
fn eye_geometry(g: &lightlane_core::eye::EyeGeometry) -> crate::EyeGeometry {
    crate::EyeGeometry {
        samples_per_ui: g.samples_per_ui,
        span_ui: g.span_ui,
        time_bins: g.time_bins,
        amp_bins: g.amp_bins,
        lo: g.lo,
        hi: g.hi,
    }
}

/// Where the GPU engine keeps an equalized signal.
enum Store {
    /// On the device (fits one binding).
    Device(Pooled),
    /// In host memory (longer than one binding; kernels stream it).
    Host(Vec<f32>),
}

/// The GPU engine's [`Equalized`]: the FFE output on the device (or, beyond one binding, on
/// the host and streamed); the slicer, counts and block detectors run on the GPU.
pub struct GpuEqualized<'a> {
    ctx: &'a GpuContext,
    n: usize,
    store: Store,
}

impl std::fmt::Debug for GpuEqualized<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let resident = matches!(self.store, Store::Device(_));
        f.debug_struct("GpuEqualized").field("n", &self.n).field("resident", &resident).finish()
    }
}

impl GpuEqualized<'_> {
    /// Whether the signal lives on the device.
    pub fn is_resident(&self) -> bool {
        matches!(self.store, Store::Device(_))
    }
}

impl Equalized for GpuEqualized<'_> {
    fn len(&self) -> usize {
        self.n
    }

    fn read(&self, range: Range<usize>) -> Result<Vec<f32>> {
        check_range(&range, self.n)?;
        match &self.store {
            Store::Host(y) => Ok(y[range].to_vec()),
            Store::Device(_) if range.is_empty() => Ok(Vec::new()),
            Store::Device(b) => {
                let mut y = vec![0f32; range.len()];
                self.ctx.read_back_into(b.buffer(), range.start as u64 * 4, bytemuck::cast_slice_mut(&mut y))?;
                Ok(y)
            }
        }
    }

    fn slice_count(&self, start: usize, expected: &[u8], slicer: &Slicer, m: Modulation, mapping: BitMapping) -> Result<ErrorCounts> {
        let range = start..start.saturating_add(expected.len());
        check_range(&range, self.n)?;
        Ok(match &self.store {
            Store::Host(y) => self.ctx.slice_count(&y[range], expected, slicer, m, mapping, 0)?.counts,
            Store::Device(b) => self.ctx.slice_count_resident(b, self.n, start, expected, slicer, m, mapping, 0)?.counts,
        })
    }

    fn slice(&self, slicer: &Slicer) -> Result<Vec<u8>> {
        match &self.store {
            // Beyond one binding the decisions are a host pass (memory-bound, like the copy).
            Store::Host(y) => Ok(slicer.slice_vec(y)),
            Store::Device(b) => self.ctx.slice_resident(b, self.n, slicer),
        }
    }

    fn dfe_detect(&self, dfe: &Dfe) -> Result<Vec<u8>> {
        if dfe.taps().len() > GPU_DFE_MAX_TAPS || dfe.levels().len() > 4 {
            // Outside the kernel's range: the CPU engine's detector on the signal.
            return Ok(dfe.detect_parallel(&self.read(0..self.n)?));
        }
        match &self.store {
            Store::Host(y) => self.ctx.dfe_detect_blocks(dfe, y, DEFAULT_BLOCK, DEFAULT_WARMUP),
            Store::Device(b) => self.ctx.dfe_detect_resident(dfe, b, self.n, DEFAULT_BLOCK, DEFAULT_WARMUP),
        }
    }

    fn mlse_detect(&self, mlse: &Mlse) -> Result<Vec<u8>> {
        let (tb, depth) = mlse.traceback();
        if tb + depth > crate::GPU_MLSE_MAX_TRACEBACK || mlse.states() > 16 {
            return Ok(mlse.detect_parallel(&self.read(0..self.n)?));
        }
        match &self.store {
            Store::Host(y) => self.ctx.mlse_detect_blocks(mlse, y, DEFAULT_BLOCK, DEFAULT_WARMUP),
            Store::Device(b) => self.ctx.mlse_detect_resident(mlse, b, self.n, DEFAULT_BLOCK, DEFAULT_WARMUP),
        }
    }

    /// The DFE over `prefix` then `y[range]`: on the device the two are joined by a small
    /// upload of `prefix` and a device-side copy of `y[range]` (no second upload of the block).
    fn dfe_detect_after(&self, dfe: &Dfe, prefix: &[f32], range: Range<usize>) -> Result<Vec<u8>> {
        check_range(&range, self.n)?;
        if dfe.taps().len() > GPU_DFE_MAX_TAPS || dfe.levels().len() > 4 {
            return Ok(dfe.detect_parallel(&lightlane_core::accel::joined(prefix, self.read(range)?)));
        }
        match &self.store {
            Store::Host(y) => self.ctx.dfe_detect_blocks(dfe, &lightlane_core::accel::joined(prefix, y[range].to_vec()), DEFAULT_BLOCK, DEFAULT_WARMUP),
            Store::Device(b) => {
                let (joined, n) = self.ctx.join_resident(prefix, b, range)?;
                self.ctx.dfe_detect_resident(dfe, &joined, n, DEFAULT_BLOCK, DEFAULT_WARMUP)
            }
        }
    }

    /// The MLSE over `prefix` then `y[range]`, joined on the device as in
    /// [`GpuEqualized::dfe_detect_after`].
    fn mlse_detect_after(&self, mlse: &Mlse, prefix: &[f32], range: Range<usize>) -> Result<Vec<u8>> {
        check_range(&range, self.n)?;
        let (tb, depth) = mlse.traceback();
        if tb + depth > crate::GPU_MLSE_MAX_TRACEBACK || mlse.states() > 16 {
            return Ok(mlse.detect_parallel(&lightlane_core::accel::joined(prefix, self.read(range)?)));
        }
        match &self.store {
            Store::Host(y) => self.ctx.mlse_detect_blocks(mlse, &lightlane_core::accel::joined(prefix, y[range].to_vec()), DEFAULT_BLOCK, DEFAULT_WARMUP),
            Store::Device(b) => {
                let (joined, n) = self.ctx.join_resident(prefix, b, range)?;
                self.ctx.mlse_detect_resident(mlse, &joined, n, DEFAULT_BLOCK, DEFAULT_WARMUP)
            }
        }
    }
}

/// `lightlane_core::analysis::analyze` with the engine `backend` resolves to ([`resolve`]).
/// Under `Auto`, GPU errors fall back to the CPU engine with the reason in `Report::warnings`;
/// under `Gpu` they are returned.
pub fn analyze(waveform: &Waveform, config: &AnalysisConfig, backend: Backend) -> Result<Report> {
    match resolve(backend, waveform.len())? {
        Resolved::Cpu { reason } => {
            let mut r = analyze_with(waveform, config, Backend::Cpu, None)?;
            if let Some(reason) = reason {
                r.warnings.push(reason);
            }
            Ok(r)
        }
        Resolved::Gpu(ctx) => {
            let accel = GpuAccelerator {
                ctx,
                fallback: backend != Backend::Gpu,
            };
            analyze_with(waveform, config, backend, Some(&accel))
        }
    }
}

/// `lightlane_core::analysis::analyze_stream` with the engine `backend` resolves to: the FFE
/// and the detectors of every block on the GPU ([`analyze_stream_with`]). A streamed capture
/// is long by nature, so `Auto` takes the GPU whenever a real one exists ([`resolve`] as for
/// a capture of unbounded length). Under `Auto`, GPU errors fall back to the CPU engine with
/// the reason in `Report::warnings`; under `Gpu` they are returned.
pub fn analyze_stream<S: ChunkSource + ?Sized>(source: &mut S, config: &AnalysisConfig, backend: Backend, options: &StreamOptions) -> Result<Report> {
    match resolve(backend, usize::MAX)? {
        Resolved::Cpu { reason } => {
            let mut r = analyze_stream_with(source, config, Backend::Cpu, options, None)?;
            if let Some(reason) = reason {
                r.warnings.push(reason);
            }
            Ok(r)
        }
        Resolved::Gpu(ctx) => {
            let accel = GpuAccelerator { ctx, fallback: backend != Backend::Gpu };
            analyze_stream_with(source, config, backend, options, Some(&accel))
        }
    }
}
