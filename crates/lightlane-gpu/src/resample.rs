//! Keys cubic resampling on the GPU: a fixed clock (`timing::resample`) and the per-symbol
//! positions of a recovered clock (`timing::resample_at`).
//!
//! The host turns the f64 positions into anchors (integer sample index, f32 fraction, f32
//! step); the kernel interpolates `per_anchor` points from each. For a fixed clock an anchor
//! starts every [`RESAMPLE_ANCHOR_SPAN`] outputs; for recovered positions every symbol is an
//! anchor. The fraction of a point is `f + j·step` in f32, so it differs from the CPU's
//! `(pos − ⌊pos⌋) as f32` by at most a few ulps of `1 + j·|step|` (see
//! [`resample_tolerance`]).

use crate::context::{gpu_err, GpuContext};
use crate::pool::{Pooled, Role};
use crate::shaders;
use bytemuck::{Pod, Zeroable};
use lightlane_core::timing::ResampleGrid;
use lightlane_core::{Error, Result};
use rayon::prelude::*;

/// Outputs per anchor of [`GpuContext::resample`] (fixed clock).
pub const RESAMPLE_ANCHOR_SPAN: usize = 16;
const WG: u32 = 256;
/// Anchor positions are clamped to ±2^30 samples before the split; inputs are at most 2^30
/// samples long, so such points clamp to the capture's ends anyway.
const POS_LIMIT: f64 = 1_073_741_824.0;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    per_anchor: u32,
    x0: u32,
    last: u32,
    wg_x: u32,
    _p: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
struct Anchor {
    i: i32,
    f: f32,
    step: f32,
    _pad: f32,
}

impl Anchor {
    fn new(pos: f64, step: f64) -> Anchor {
        let pos = pos.clamp(-POS_LIMIT, POS_LIMIT);
        let i = pos.floor();
        Anchor {
            i: i as i32,
            f: (pos - i) as f32,
            step: step as f32,
            _pad: 0.0,
        }
    }
}

/// Bound on `|gpu − cpu|` for one output of the GPU resampler, given the four input samples
/// around it (`mag` = their largest magnitude) and `reach = j·|step|` (distance in samples
/// from the point's anchor): the fraction's f32 error (≤ 4ε·(2 + reach)) times the cubic's
/// slope (≤ 25·mag), plus the f32 rounding of the polynomial in either evaluation order
/// (≤ 64ε·mag).
pub fn resample_tolerance(mag: f32, reach: f64) -> f64 {
    let eps = f32::EPSILON as f64;
    let dt = 4.0 * eps * (2.0 + reach);
    mag as f64 * (25.0 * dt + 64.0 * eps) + 1e-30
}

/// The anchors of a fixed-clock grid's `n` outputs, one per [`RESAMPLE_ANCHOR_SPAN`] outputs
/// (its first output's position and the step between outputs, in input samples).
fn grid_anchors(grid: &ResampleGrid, n: usize) -> Vec<Anchor> {
    let step = grid.samples_per_ui / grid.sps_out.max(1) as f64;
    let start = grid.phase_ui * grid.samples_per_ui;
    let span = RESAMPLE_ANCHOR_SPAN;
    (0..n.div_ceil(span))
        .map(|a| Anchor::new(start + (a * span) as f64 * step, step))
        .collect()
}

/// The anchors of recovered symbol `positions` (one per symbol, its position and the step to
/// the next one over `sps_out`) and the `positions.len() · sps_out` outputs they give.
/// Errors: a non-finite position, too many outputs for one dispatch (2^32 − 1).
fn recovered_anchors(positions: &[f64], sps_out: usize) -> Result<(Vec<Anchor>, usize)> {
    // The host's share of the call runs on the pool (on a many-core host it bounded the
    // call: ~0.1 s of one thread for 3.5 M positions).
    if let Some(k) = lightlane_core::par::position_first(positions, |p| !p.is_finite()) {
        return Err(Error::invalid(
            "symbol position",
            positions[k],
            "must be finite",
        ));
    }
    let n = positions
        .len()
        .checked_mul(sps_out)
        .filter(|&n| n <= u32::MAX as usize)
        .ok_or_else(|| {
            Error::invalid(
                "resample outputs",
                positions.len(),
                "too many for one GPU dispatch",
            )
        })?;
    let inv = 1.0 / sps_out as f64;
    let np = positions.len();
    let anchors: Vec<Anchor> = (0..np)
        .into_par_iter()
        .map(|k| {
            let p = positions[k];
            let d = if k + 1 < np {
                positions[k + 1] - p
            } else if np >= 2 {
                p - positions[k - 1]
            } else {
                0.0
            };
            Anchor::new(p, d * inv)
        })
        .collect();
    Ok((anchors, n))
}

impl GpuContext {
    /// [`lightlane_core::timing::resample`] on the GPU: `x` resampled on a fixed clock, within
    /// [`resample_tolerance`] of the CPU per output. Same checks as the CPU (positive
    /// `samples_per_ui`, `sps_out` 1..=64, finite non-negative phase); `x` at most 2^30
    /// samples. Streams in chunks that fit one binding.
    pub fn resample(&self, x: &[f32], grid: &ResampleGrid) -> Result<Vec<f32>> {
        if !(grid.samples_per_ui.is_finite() && grid.samples_per_ui > 0.0) {
            return Err(Error::invalid(
                "samples_per_ui",
                grid.samples_per_ui,
                "must be positive",
            ));
        }
        if grid.sps_out == 0 || grid.sps_out > 64 {
            return Err(Error::invalid("sps_out", grid.sps_out, "must be 1..=64"));
        }
        if !(grid.phase_ui.is_finite() && grid.phase_ui >= 0.0) {
            return Err(Error::invalid(
                "phase_ui",
                grid.phase_ui,
                "must be finite and non-negative",
            ));
        }
        let n = grid.output_len(x.len());
        Ok(self.resample_anchors(x, &grid_anchors(grid, n), RESAMPLE_ANCHOR_SPAN, n, Keep::No)?.0)
    }

    /// Phase-timed fixed-clock resampling for the benchmarks: `x` (one binding) uploaded once,
    /// `reps` back-to-back dispatches, readback of the output. Returns the phase times and the
    /// number of outputs.
    pub(crate) fn bench_resample(
        &self,
        x: &[f32],
        grid: &ResampleGrid,
        reps: usize,
    ) -> Result<(crate::bench::PhaseTimes, usize)> {
        use std::time::Instant;
        let n = grid.output_len(x.len());
        if n == 0 || x.len() > self.elems_per_binding(4) || x.len() > i32::MAX as usize {
            return Err(gpu_err(
                "resample bench input empty or larger than one binding",
            ));
        }
        let span = RESAMPLE_ANCHOR_SPAN;
        let anchors = grid_anchors(grid, n);
        let t = Instant::now();
        let xb = self.upload(Role::Input, bytemuck::cast_slice(x))?;
        let ab = self.upload(Role::Input, bytemuck::cast_slice(&anchors))?;
        self.wait()?;
        let upload_s = t.elapsed().as_secs_f64();
        let ob = self.buffer(Role::Output, n as u64 * 4)?;
        let grid_wg = self.grid((n as u32).div_ceil(WG));
        let p = Params {
            n: n as u32,
            per_anchor: span as u32,
            x0: 0,
            last: (x.len() - 1) as u32,
            wg_x: grid_wg.0,
            _p: [0; 3],
        };
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
        let pipe = self.pipeline("resample", shaders::RESAMPLE, "resample_cubic")?;
        let bind = self.bind(
            &pipe,
            &[
                (0, ub.buffer()),
                (1, ab.buffer()),
                (2, xb.buffer()),
                (3, ob.buffer()),
            ],
        );
        let (compute_s, device_timed) =
            crate::bench::timed_dispatches(self, &pipe, &bind, grid_wg, reps)?;
        let t = Instant::now();
        self.read_back(ob.buffer(), n as u64 * 4)?;
        let readback_s = t.elapsed().as_secs_f64();
        Ok((
            crate::bench::PhaseTimes {
                upload_s,
                compute_s,
                readback_s,
                device_timed,
            },
            n,
        ))
    }

    /// [`lightlane_core::timing::resample_at`] on the GPU: `sps_out` points per UI between the
    /// recovered symbol positions, `positions.len() · sps_out` outputs (none when `x` is
    /// empty or `sps_out` is 0), within [`resample_tolerance`] of the CPU per output.
    /// Errors: a non-finite position, `x` longer than 2^30 samples, too many outputs for
    /// one dispatch (2^32 − 1).
    pub fn resample_at(&self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Vec<f32>> {
        Ok(self.resample_at_kept(x, positions, sps_out, Keep::No)?.0)
    }

    /// [`GpuContext::resample_at`] that, as `keep` says, also returns the device buffer
    /// holding the points (their first `len` elements) when they were computed in one dispatch
    /// (the usual case: outputs within one binding); `None` otherwise. With [`Keep::Only`] the
    /// points are not read back (the vector is empty), and nothing is computed when they would
    /// take more than one dispatch (`(vec![], None)`).
    pub(crate) fn resample_at_kept(
        &self,
        x: &[f32],
        positions: &[f64],
        sps_out: usize,
        keep: Keep,
    ) -> Result<(Vec<f32>, Option<Pooled>)> {
        if x.is_empty() || sps_out == 0 {
            return Ok((Vec::new(), None));
        }
        let (anchors, n) = recovered_anchors(positions, sps_out)?;
        self.resample_anchors(x, &anchors, sps_out, n, keep)
    }

    /// `x` through the reference receiver's filter on the device ([`GpuContext::fir_held`]
    /// with `taps` and `lead`), then resampled there at the recovered `positions` as
    /// [`GpuContext::resample_at_kept`] with [`Keep::Only`]: the buffer of the
    /// `positions.len() · sps_out` points, nothing read back; with `raw`, also `x`'s own
    /// points from the same upload and anchors (the same points as `resample_at_kept`'s).
    /// `Ok(None)` (nothing computed) for an empty `x` or `sps_out` 0, and when `x` or the
    /// points exceed one binding.
    pub(crate) fn held_filtered_resampled(
        &self,
        x: &[f32],
        taps: &[f32],
        lead: usize,
        positions: &[f64],
        sps_out: usize,
        raw: bool,
    ) -> Result<Option<(Pooled, Option<Pooled>)>> {
        if x.is_empty() || sps_out == 0 {
            return Ok(None);
        }
        if x.len() > POS_LIMIT as usize {
            return Err(Error::invalid(
                "samples to resample",
                x.len(),
                "at most 2^30 on the GPU",
            ));
        }
        let (anchors, n) = recovered_anchors(positions, sps_out)?;
        let max = self.elems_per_binding(4);
        if n == 0 || x.len() > max || n > max || anchors.len() > self.elems_per_binding(16) {
            return Ok(None);
        }
        crate::kernels::check_held_taps(taps, lead)?;
        let xb = self.upload(Role::Input, bytemuck::cast_slice(x))?;
        let filtered = self.fir_held_on(xb.buffer(), x.len(), taps, lead)?;
        let ab = self.upload(Role::Input, bytemuck::cast_slice(&anchors))?;
        let pipe = self.pipeline("resample", shaders::RESAMPLE, "resample_cubic")?;
        let last = (x.len() - 1) as u32;
        let reference = self.resample_dispatch(&pipe, filtered.buffer(), 0, last, ab.buffer(), sps_out, n, None)?;
        let own = raw.then(|| self.resample_dispatch(&pipe, xb.buffer(), 0, last, ab.buffer(), sps_out, n, None)).transpose()?;
        Ok(Some((reference, own)))
    }

    /// `n` outputs, `per` from each anchor; as `keep` says, also the output buffer of a
    /// single-dispatch run (see [`GpuContext::resample_at_kept`]).
    fn resample_anchors(
        &self,
        x: &[f32],
        anchors: &[Anchor],
        per: usize,
        n: usize,
        keep: Keep,
    ) -> Result<(Vec<f32>, Option<Pooled>)> {
        if n == 0 || x.is_empty() {
            return Ok((if keep == Keep::Only { Vec::new() } else { vec![0f32; n] }, None));
        }
        // Anchors clamp to ±POS_LIMIT, which must lie beyond the capture's ends.
        if x.len() > POS_LIMIT as usize {
            return Err(Error::invalid(
                "samples to resample",
                x.len(),
                "at most 2^30 on the GPU",
            ));
        }
        let last = x.len() as i64 - 1;
        let max_in = self.elems_per_binding(4).max(8);
        let max_out = self.elems_per_binding(4).max(per);
        let max_anchors = self.elems_per_binding(16).max(1);
        let pipe = self.pipeline("resample", shaders::RESAMPLE, "resample_cubic")?;
        // Input sample range an anchor reads (with a margin for the f32 fraction).
        let range = |a: &Anchor, pts: usize| -> (i64, i64) {
            let far = a.f as f64 + pts.saturating_sub(1) as f64 * a.step as f64;
            let lo = (a.f as f64).min(far).floor() as i64 + a.i as i64 - 2;
            let hi = (a.f as f64).max(far).floor() as i64 + a.i as i64 + 3;
            (lo.clamp(0, last), hi.clamp(0, last))
        };
        // One dispatch when everything fits (what the greedy split below would find, without
        // its walk over every anchor on one thread).
        let pts = |a: usize| per.min(n - a * per);
        let (lo_all, hi_all) = anchors
            .par_iter()
            .enumerate()
            .map(|(a, anc)| range(anc, pts(a)))
            .reduce(|| (i64::MAX, i64::MIN), |x, y| (x.0.min(y.0), x.1.max(y.1)));
        if anchors.len() * per <= max_out
            && anchors.len() <= max_anchors
            && ((hi_all - lo_all + 1) as usize) <= max_in
        {
            let mut out = if keep == Keep::Only { Vec::new() } else { vec![0f32; n] };
            let ob = self.resample_chunk(
                &pipe,
                &x[lo_all as usize..=hi_all as usize],
                lo_all as u32,
                last as u32,
                anchors,
                per,
                n,
                (keep != Keep::Only).then_some(&mut out[..]),
            )?;
            return Ok((out, (keep != Keep::No).then_some(ob)));
        }
        if keep == Keep::Only {
            return Ok((Vec::new(), None));
        }
        let mut out = vec![0f32; n];
        let mut a0 = 0;
        while a0 < anchors.len() {
            let (mut lo, mut hi) = range(&anchors[a0], pts(a0));
            let mut a1 = a0 + 1;
            while a1 < anchors.len() && (a1 + 1 - a0) * per <= max_out && a1 + 1 - a0 <= max_anchors
            {
                let (l, h) = range(&anchors[a1], pts(a1));
                let (nl, nh) = (lo.min(l), hi.max(h));
                if (nh - nl + 1) as usize > max_in {
                    break;
                }
                (lo, hi) = (nl, nh);
                a1 += 1;
            }
            if (hi - lo + 1) as usize > max_in {
                return Err(gpu_err(format!(
                    "one resampling anchor spans {} input samples, more than one binding",
                    hi - lo + 1
                )));
            }
            let o0 = a0 * per;
            let o1 = (a1 * per).min(n);
            self.resample_chunk(
                &pipe,
                &x[lo as usize..=hi as usize],
                lo as u32,
                last as u32,
                &anchors[a0..a1],
                per,
                o1 - o0,
                Some(&mut out[o0..o1]),
            )?;
            a0 = a1;
        }
        Ok((out, None))
    }

    #[allow(clippy::too_many_arguments)]
    /// One dispatch of `n` outputs over the inputs `xs` (global index `x0` on), read back into
    /// `out` (of length `n`) when given; returns the device buffer holding the outputs.
    fn resample_chunk(
        &self,
        pipe: &wgpu::ComputePipeline,
        xs: &[f32],
        x0: u32,
        last: u32,
        anchors: &[Anchor],
        per: usize,
        n: usize,
        out: Option<&mut [f32]>,
    ) -> Result<Pooled> {
        let xb = self.upload(Role::Input, bytemuck::cast_slice(xs))?;
        let ab = self.upload(Role::Input, bytemuck::cast_slice(anchors))?;
        self.resample_dispatch(pipe, xb.buffer(), x0, last, ab.buffer(), per, n, out)
    }

    #[allow(clippy::too_many_arguments)]
    /// [`GpuContext::resample_chunk`] over inputs already on the device (`xb`, global index
    /// `x0` on) and anchors there (`ab`).
    fn resample_dispatch(
        &self,
        pipe: &wgpu::ComputePipeline,
        xb: &wgpu::Buffer,
        x0: u32,
        last: u32,
        ab: &wgpu::Buffer,
        per: usize,
        n: usize,
        out: Option<&mut [f32]>,
    ) -> Result<Pooled> {
        let ob = self.buffer(Role::Output, n as u64 * 4)?;
        let grid = self.grid((n as u32).div_ceil(WG));
        let p = Params {
            n: n as u32,
            per_anchor: per as u32,
            x0,
            last,
            wg_x: grid.0,
            _p: [0; 3],
        };
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
        self.scoped(|| {
            let bind = self.bind(
                pipe,
                &[
                    (0, ub.buffer()),
                    (1, ab),
                    (2, xb),
                    (3, ob.buffer()),
                ],
            );
            let mut enc = self.device.create_command_encoder(&Default::default());
            self.dispatch(pipe, &bind, grid, &mut enc);
            self.queue.submit([enc.finish()]);
        })?;
        if let Some(out) = out {
            self.read_back_into(ob.buffer(), 0, bytemuck::cast_slice_mut(out))?;
        }
        Ok(ob)
    }
}

/// Whether [`GpuContext::resample_at_kept`] keeps the points on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Read back only.
    No,
    /// Read back, and keep the device buffer.
    Also,
    /// Keep the device buffer only (nothing read back).
    Only,
}
