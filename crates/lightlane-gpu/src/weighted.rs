//! Weighted histograms of device-resident columns: the evaluation inside TDECQ's equalizer
//! search (`lightlane_core::eye::tdecq`, IEEE 802.3 121.8.5), where each candidate tap vector
//! `w` equalizes the histogram windows, `y[i] = Σ_t w[t]·c_t[i]`, and only the histograms of
//! `y` matter. The columns of every window are uploaded once
//! ([`GpuContext::weighted_histograms`], one window: [`GpuContext::weighted_histogram`]); an
//! evaluation ([`WeightedHistogram::counts`]) uploads the weights and reads back the counts of
//! every window from one dispatch. [`GpuAccelerator`](crate::GpuAccelerator) plans TDECQ's two
//! windows through it (`Accelerator::tdecq_histograms`).
//!
//! The counts are exact: the sums are f32 in column order with every product rounded on its own
//! (the kernel keeps the compiler from fusing multiply-adds), as on the CPU, and the binning
//! gives the CPU's f64 bin for the same `y` (a table of bin edges as f32 thresholds settles the
//! f32 estimate). [`weighted_histogram_reference`] is the CPU oracle. (One caveat: Vulkan lets
//! a device flush f32 subnormals; a product below 1.2e-38 in magnitude could then differ by
//! that much, which moves a count only for a sum within 1e-38 of a bin edge.)

use crate::context::{gpu_err, GpuContext, WORKGROUP};
use crate::pool::{Pooled, Role};
use bytemuck::{Pod, Zeroable};
use lightlane_core::eye::{TdecqBins, TdecqHistograms, TdecqWindow};
use lightlane_core::{Error, Result};

/// Most columns of a [`WeightedHistogram`].
pub const WEIGHTED_MAX_COLUMNS: usize = 64;
/// Most bins of a [`WeightedHistogram`], all windows together (the kernel's workgroup
/// histogram).
pub const WEIGHTED_MAX_BINS: usize = 4096;
/// Rows per invocation (each invocation's loops: 16 × columns iterations).
const ROWS_PER_THREAD: u32 = 16;
/// Most candidates of one [`WeightedHistogram::counts_batch_into`]: the batch TDECQ's pattern
/// search may hand the GPU engine (`TdecqHistograms::batch`), one round trip for all.
pub const WEIGHTED_BATCH: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    stride: u32,
    ncols: u32,
    bins: u32,
    rows_per_thread: u32,
    lo: f32,
    inv: f32,
    top: f32,
    wg_x: u32,
    windows: u32,
    zero: u32,
    /// Weights from one candidate of a batch to the next (ncols).
    wstride: u32,
    /// Counts from one candidate of a batch to the next (windows · bins).
    hstride: u32,
}

/// Columns of one or more windows on the device for repeated weighted histograms (see the
/// module docs). Made by [`GpuContext::weighted_histograms`].
pub struct WeightedHistogram<'c> {
    ctx: &'c GpuContext,
    // The plan's buffers and its one bind group: an evaluation writes the weights, records
    // clear + dispatch + copy to `readback` in one submission and maps the counts.
    _data: Pooled,
    _offsets: Pooled,
    _rows: Pooled,
    _edges: Pooled,
    _uniform: Pooled,
    weights: Pooled,
    hist: Pooled,
    readback: Pooled,
    pipe: wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    n: Vec<usize>,
    ncols: usize,
    bins: usize,
    grid: (u32, u32),
    race: bool,
}

impl std::fmt::Debug for WeightedHistogram<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightedHistogram").field("rows", &self.n).field("columns", &self.ncols).field("bins", &self.bins).finish()
    }
}

/// Checks the shape shared by the GPU plan and the reference; returns the column count.
fn check(data: &[f32], offsets: &[usize], n: usize, step: f64, lo: f64, bins: usize) -> Result<usize> {
    if offsets.is_empty() || offsets.len() > WEIGHTED_MAX_COLUMNS {
        return Err(Error::invalid("columns", offsets.len(), format!("need 1..={WEIGHTED_MAX_COLUMNS}")));
    }
    if bins == 0 || bins > WEIGHTED_MAX_BINS {
        return Err(Error::invalid("bins", bins, format!("need 1..={WEIGHTED_MAX_BINS}")));
    }
    if !(step.is_finite() && step > 0.0 && lo.is_finite()) {
        return Err(Error::invalid("histogram bins", format!("lo {lo}, step {step}"), "need a finite lo and a positive finite step"));
    }
    // The kernel's f32 estimate of the bin must be within one bin of the f64 one.
    if (lo.abs() + (lo + bins as f64 * step).abs()) / step > 1e6 {
        return Err(Error::invalid("histogram bins", format!("lo {lo}, step {step}"), "bins narrower than 1e-6 of the range's magnitude"));
    }
    if let Some(&o) = offsets.iter().find(|&&o| o.checked_add(n).is_none_or(|e| e > data.len())) {
        return Err(Error::invalid("column offset", o, format!("column of {n} rows must lie within the {} samples", data.len())));
    }
    Ok(offsets.len())
}

/// The CPU oracle: the counts of `y[i] = w[0]·c_0[i] + w[1]·c_1[i] + …` (f32, columns in
/// order, `c_t[i] = data[offsets[t] + i]`), binned as TDECQ does: bin
/// `trunc(clamp((y − lo) / step, 0, bins − 1))` computed in f64, NaN in bin 0.
pub fn weighted_histogram_reference(data: &[f32], offsets: &[usize], n: usize, w: &[f32], lo: f64, step: f64, bins: usize) -> Result<Vec<u32>> {
    let ncols = check(data, offsets, n, step, lo, bins)?;
    if w.len() != ncols {
        return Err(Error::LengthMismatch { what: "weights (one per column)", expected: ncols, got: w.len() });
    }
    let inv = 1.0 / step;
    let top = (bins - 1) as f64;
    let mut h = vec![0u32; bins];
    for i in 0..n {
        let mut y = w[0] * data[offsets[0] + i];
        for t in 1..ncols {
            y += w[t] * data[offsets[t] + i];
        }
        let x = (y as f64 - lo) * inv;
        let x = if x > 0.0 { x } else { 0.0 };
        let x = if x < top { x } else { top };
        h[x as usize] += 1;
    }
    Ok(h)
}

/// The bin of `y` as the CPU's TDECQ computes it: `trunc(clamp((y − lo)·(1/step), 0, bins − 1))`
/// in f64, NaN in bin 0.
fn cpu_bin(y: f32, lo: f64, inv: f64, top: f64) -> usize {
    let x = (y as f64 - lo) * inv;
    let x = if x > 0.0 { x } else { 0.0 };
    let x = if x < top { x } else { top };
    x as usize
}

/// `edges[b]` (b in 1..bins; `edges[0]` unused): the smallest f32 `y` with
/// `cpu_bin(y) ≥ b` (+∞ when no finite value reaches it). `cpu_bin` is non-decreasing in `y`, so
/// a binary search over the f32 values in order finds it.
fn bin_edges(lo: f64, step: f64, bins: usize) -> Vec<f32> {
    let (inv, top) = (1.0 / step, (bins - 1) as f64);
    // f32 values in increasing order ↔ integer keys (−∞ … +∞ without NaNs).
    // Key k ≥ 0: the non-negative float with bits k; k < 0: the negative float of magnitude
    // bits −k − 1 (so −0.0 is −1 and −∞ is −0x7f80_0001).
    let from_key = |k: i64| -> f32 {
        if k >= 0 {
            f32::from_bits(k as u32)
        } else {
            f32::from_bits((-(k + 1)) as u32 | 0x8000_0000)
        }
    };
    let (kmin, kmax) = (-(0x7f80_0000i64) - 1, 0x7f80_0000i64);
    let mut edges = vec![f32::NEG_INFINITY; bins.max(1)];
    for (b, e) in edges.iter_mut().enumerate().skip(1) {
        // Smallest key whose value reaches bin b; kmax (+∞) reaches the top bin.
        let (mut a, mut z) = (kmin, kmax);
        while a < z {
            let mid = a + (z - a) / 2;
            if cpu_bin(from_key(mid), lo, inv, top) >= b {
                z = mid;
            } else {
                a = mid + 1;
            }
        }
        *e = from_key(a);
    }
    edges
}

impl GpuContext {
    /// Uploads the columns `c_t = data[offsets[t] .. offsets[t] + n]` (they may overlap in
    /// `data`, as TDECQ's shifted symbol columns do) for histograms of `bins` bins of width
    /// `step` from `lo`: [`GpuContext::weighted_histograms`] of one window.
    pub fn weighted_histogram(&self, data: &[f32], offsets: &[usize], n: usize, lo: f64, step: f64, bins: usize) -> Result<WeightedHistogram<'_>> {
        self.weighted_histograms(&[TdecqWindow { data, offsets, rows: n }], &TdecqBins { lo, step, bins })
    }

    /// Uploads the columns of every window (each with the same number of columns, one per
    /// weight) for histograms binned by `bins`, one per window, evaluated together. Errors: no
    /// window, windows with different column counts, 0 or more than [`WEIGHTED_MAX_COLUMNS`]
    /// columns, 0 bins or more than [`WEIGHTED_MAX_BINS`] over all windows, a non-finite `lo`
    /// or non-positive `step`, a column beyond its data, the data larger than one binding or
    /// rows beyond 2^32 − 1 in all.
    pub fn weighted_histograms(&self, windows: &[TdecqWindow<'_>], bins: &TdecqBins) -> Result<WeightedHistogram<'_>> {
        let TdecqBins { lo, step, bins } = *bins;
        let Some(first) = windows.first() else {
            return Err(Error::invalid("windows", 0, "need at least one"));
        };
        let mut ncols = 0;
        for w in windows {
            ncols = check(w.data, w.offsets, w.rows, step, lo, bins)?;
            if ncols != first.offsets.len() {
                return Err(Error::invalid("columns", ncols, format!("every window needs {} (one per weight)", first.offsets.len())));
            }
        }
        if windows.len() * bins > WEIGHTED_MAX_BINS {
            return Err(Error::invalid("bins", windows.len() * bins, format!("at most {WEIGHTED_MAX_BINS} over all windows")));
        }
        let total: usize = windows.iter().map(|w| w.data.len()).sum();
        if total > self.elems_per_binding(4) {
            return Err(gpu_err(format!("weighted histogram: {total} samples exceed one binding")));
        }
        let stride = windows.iter().map(|w| w.rows).max().unwrap_or(0);
        let slots = u32::try_from(stride.saturating_mul(windows.len())).map_err(|_| Error::invalid("rows", stride, "at most 2^32 - 1 over all windows on the GPU"))?;
        // One data array (window after window); the offsets shifted to each window's start.
        let mut data = Vec::with_capacity(total.max(1));
        let mut offs = Vec::with_capacity(windows.len() * ncols);
        for w in windows {
            let base = data.len();
            offs.extend(w.offsets.iter().map(|&o| (base + o) as u32));
            data.extend_from_slice(w.data);
        }
        if data.is_empty() {
            data.push(0.0);
        }
        let rows: Vec<u32> = windows.iter().map(|w| w.rows as u32).collect();
        let data_b = self.upload(Role::Input, bytemuck::cast_slice(&data))?;
        let offs_b = self.upload(Role::Input, bytemuck::cast_slice(&offs))?;
        let rows_b = self.upload(Role::Input, bytemuck::cast_slice(&rows))?;
        let grid = self.grid(slots.div_ceil(WORKGROUP * ROWS_PER_THREAD));
        let params = Params {
            stride: stride.max(1) as u32,
            ncols: ncols as u32,
            bins: bins as u32,
            rows_per_thread: ROWS_PER_THREAD,
            lo: lo as f32,
            inv: (1.0 / step) as f32,
            top: (bins - 1) as f32,
            wg_x: grid.0,
            windows: windows.len() as u32,
            zero: 0,
            wstride: ncols as u32,
            hstride: (windows.len() * bins) as u32,
        };
        let edges = bin_edges(lo, step, bins);
        let edges_b = self.upload(Role::Input, bytemuck::cast_slice(&edges))?;
        let uniform = self.upload(Role::Uniform, bytemuck::bytes_of(&params))?;
        // Weights and counts of up to WEIGHTED_BATCH candidates, one after another (a single
        // evaluation uses the first of each).
        let weights = self.buffer(Role::Input, (WEIGHTED_BATCH * ncols) as u64 * 4)?;
        let hist_bytes = (WEIGHTED_BATCH * windows.len() * bins) as u64 * 4;
        let hist = self.buffer(Role::Output, hist_bytes)?;
        let readback = self.buffer(Role::Readback, hist_bytes)?;
        let pipe = self.pipeline_weighted(ncols)?;
        let bind = self.scoped(|| {
            self.bind(
                &pipe,
                &[
                    (0, uniform.buffer()),
                    (1, data_b.buffer()),
                    (2, offs_b.buffer()),
                    (3, weights.buffer()),
                    (4, hist.buffer()),
                    (5, edges_b.buffer()),
                    (6, rows_b.buffer()),
                ],
            )
        })?;
        Ok(WeightedHistogram {
            ctx: self,
            _data: data_b,
            _offsets: offs_b,
            _rows: rows_b,
            _edges: edges_b,
            _uniform: uniform,
            weights,
            hist,
            readback,
            pipe,
            bind,
            n: windows.iter().map(|w| w.rows).collect(),
            ncols,
            bins,
            grid,
            race: false,
        })
    }
}

impl WeightedHistogram<'_> {
    /// Rows of the first window.
    pub fn rows(&self) -> usize {
        self.n[0]
    }

    /// Number of windows.
    pub fn windows(&self) -> usize {
        self.n.len()
    }

    /// The counts of `y = Σ_t w[t]·c_t` (one weight per column) of every window, window after
    /// window (`windows() · bins`): exactly [`weighted_histogram_reference`]'s.
    pub fn counts(&self, w: &[f32]) -> Result<Vec<u32>> {
        let mut h = vec![0u32; self.n.len() * self.bins];
        self.counts_into(w, &mut h)?;
        Ok(h)
    }

    /// [`WeightedHistogram::counts`] into `counts` (`windows() · bins` long).
    pub fn counts_into(&self, w: &[f32], counts: &mut [u32]) -> Result<()> {
        self.counts_batch_into(&[w], counts)
    }
}

impl WeightedHistogram<'_> {
    /// [`WeightedHistogram::counts_into`] of every candidate of `ws` (1 to [`WEIGHTED_BATCH`],
    /// one weight per column each), one block of `windows() · bins` counts after another: the
    /// weights written, the counts cleared, one dispatch whose z-th layer of workgroups
    /// evaluates candidate z and the copy to the readback buffer in one submission, then the
    /// counts mapped.
    pub fn counts_batch_into(&self, ws: &[&[f32]], counts: &mut [u32]) -> Result<()> {
        if ws.is_empty() || ws.len() > WEIGHTED_BATCH {
            return Err(Error::invalid("candidates", ws.len(), format!("1 to {WEIGHTED_BATCH} a batch")));
        }
        let total_bins = self.n.len() * self.bins;
        if counts.len() != ws.len() * total_bins {
            return Err(Error::LengthMismatch { what: "weighted histogram counts", expected: ws.len() * total_bins, got: counts.len() });
        }
        for w in ws {
            if w.len() != self.ncols {
                return Err(Error::LengthMismatch { what: "weights (one per column)", expected: self.ncols, got: w.len() });
            }
            lightlane_core::error::check_finite("weights", w)?;
        }
        if self.n.iter().all(|&n| n == 0) {
            counts.fill(0);
            return Ok(());
        }
        let ctx = self.ctx;
        let packed: Vec<f32> = ws.concat();
        let bytes = counts.len() as u64 * 4;
        let submitted = ctx.scoped(|| {
            ctx.queue.write_buffer(self.weights.buffer(), 0, bytemuck::cast_slice(&packed));
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            enc.clear_buffer(self.hist.buffer(), 0, Some(bytes));
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("weighted_histogram"), timestamp_writes: None });
                pass.set_pipeline(&self.pipe);
                pass.set_bind_group(0, &self.bind, &[]);
                pass.dispatch_workgroups(self.grid.0, self.grid.1, ws.len() as u32);
            }
            enc.copy_buffer_to_buffer(self.hist.buffer(), 0, self.readback.buffer(), 0, bytes);
            ctx.queue.submit([enc.finish()])
        })?;
        ctx.map_read_after(self.readback.buffer(), bytemuck::cast_slice_mut(counts), Some(submitted))
    }

    /// This plan, racing the CPU when used as TDECQ's evaluations (`race`; see
    /// `lightlane_core::eye::TdecqHistograms::race`). Default: not racing.
    pub fn racing(mut self, race: bool) -> Self {
        self.race = race;
        self
    }

    /// The evaluation's pipeline, bind group and grid (for the benches' device timing).
    pub(crate) fn dispatch_parts(&self) -> (&wgpu::ComputePipeline, &wgpu::BindGroup, (u32, u32)) {
        (&self.pipe, &self.bind, self.grid)
    }

    /// Wall seconds (mean of `reps`) of parts of [`WeightedHistogram::counts_into`], each
    /// submitted alone and waited for: `[weights written only, histogram cleared only, the
    /// dispatch only, the copy to the readback buffer and its mapping only]` (for the benches:
    /// which part of an evaluation's round trip costs what).
    pub(crate) fn timed_parts(&self, w: &[f32], reps: usize) -> Result<[f64; 4]> {
        let ctx = self.ctx;
        let bytes = (self.n.len() * self.bins) as u64 * 4;
        let mut counts = vec![0u32; self.n.len() * self.bins];
        let mut out = [0f64; 4];
        for (part, o) in out.iter_mut().enumerate() {
            let t = std::time::Instant::now();
            for _ in 0..reps.max(1) {
                if part == 3 {
                    ctx.read_back_into(self.hist.buffer(), 0, bytemuck::cast_slice_mut(&mut counts))?;
                    continue;
                }
                ctx.scoped(|| {
                    let mut enc = ctx.device.create_command_encoder(&Default::default());
                    match part {
                        0 => ctx.queue.write_buffer(self.weights.buffer(), 0, bytemuck::cast_slice(w)),
                        1 => enc.clear_buffer(self.hist.buffer(), 0, Some(bytes)),
                        _ => ctx.dispatch(&self.pipe, &self.bind, self.grid, &mut enc),
                    }
                    ctx.queue.submit([enc.finish()]);
                })?;
                ctx.wait()?;
            }
            *o = t.elapsed().as_secs_f64() / reps.max(1) as f64;
        }
        Ok(out)
    }
}

/// [`TdecqHistograms`] on the GPU engine: TDECQ's windows resident in one
/// [`WeightedHistogram`].
impl TdecqHistograms for WeightedHistogram<'_> {
    fn counts(&mut self, w: &[f32], counts: &mut [u32]) -> Result<()> {
        self.counts_into(w, counts)
    }

    /// [`GpuContext::tdecq_batch`].
    fn batch(&self) -> usize {
        self.ctx.tdecq_batch()
    }

    fn counts_batch(&mut self, ws: &[&[f32]], counts: &mut [u32]) -> Result<()> {
        self.counts_batch_into(ws, counts)
    }

    fn race(&self) -> bool {
        self.race
    }
}

#[cfg(test)]
mod tests {
    use super::{bin_edges, cpu_bin};

    #[test]
    fn bin_edges_are_the_first_f32_of_each_cpu_bin() {
        // Steps that are not powers of two, so f64 rounding decides the samples at the edges.
        for (lo, step, bins) in [(-3.0f64, 0.0078125 * 3.0 / 1.7, 1024usize), (0.1, 1e-3, 300), (-1e-3, 7e-7, 64)] {
            let (inv, top) = (1.0 / step, (bins - 1) as f64);
            let e = bin_edges(lo, step, bins);
            for (b, &t) in e.iter().enumerate().skip(1) {
                assert!(t.is_finite(), "edge {b}");
                assert!(cpu_bin(t, lo, inv, top) >= b, "edge {b}: {t} is in bin {}", cpu_bin(t, lo, inv, top));
                let below = f32::from_bits(if t > 0.0 { t.to_bits() - 1 } else if t == 0.0 { 0x8000_0001 } else { t.to_bits() + 1 });
                assert!(cpu_bin(below, lo, inv, top) < b, "edge {b}: {below} just below {t} already reaches it");
            }
        }
    }
}
