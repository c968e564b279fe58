//! The eye metrics' passes over resampled points kept on the device (`shaders/eye_passes.wgsl`):
//! what `lightlane_core::eye::KeptEye` needs of the raw eye signal without reading it back.
//! Each method answers as the reference of `lightlane_core::accel::KeptSignal` on the same
//! points does (the scan's sum within f32 rounding; everything else exactly).

use crate::context::{gpu_err, GpuContext};
use crate::pool::{Pooled, Role};
use crate::shaders;
use lightlane_core::accel::{KeptCrossing, KeptScan};
use lightlane_core::{Error, Result};
use std::ops::Range;

/// Threads per workgroup of every pass.
const WG: usize = 256;
/// Points per workgroup of `eye_scan` (256 threads × 16).
const SCAN_BLOCK: usize = WG * 16;
/// Sample pairs per workgroup of `eye_crossings`.
const CROSS_BLOCK: usize = WG * 16;
/// Thresholds per `eye_crossings` dispatch.
const MAX_THRESHOLDS: usize = 16;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    x0: u32,
    wg_x: u32,
    s: u32,
    ncols: u32,
    nthr: u32,
    cap: u32,
    rows: u32,
    first: i32,
    stride: u32,
    _p: [u32; 2],
    thr: [[f32; 4]; 4],
}

impl GpuContext {
    /// Checks that `range` lies within the `buffer`'s points and fits the kernels' u32 indices.
    fn kept_range(&self, buffer: &Pooled, range: &Range<usize>) -> Result<()> {
        let points = (buffer.buffer().size() / 4) as usize;
        if range.start > range.end || range.end > points || range.end > u32::MAX as usize {
            return Err(Error::invalid(
                "kept eye points",
                format!("{range:?}"),
                format!("must lie within the buffer's {points} points"),
            ));
        }
        Ok(())
    }

    /// One dispatch of `entry` over `groups` workgroups with `p` (its `wg_x` set here) and the
    /// kept `x` bound at 1, `out` at 2 and the optional `counts` (3) and `idx` (4).
    #[allow(clippy::too_many_arguments)]
    fn kept_dispatch(
        &self,
        entry: &'static str,
        mut p: Params,
        groups: usize,
        x: &Pooled,
        out: &Pooled,
        counts: Option<&Pooled>,
        idx: Option<&Pooled>,
    ) -> Result<()> {
        let groups = u32::try_from(groups)
            .map_err(|_| gpu_err(format!("{entry}: {groups} workgroups")))?;
        let grid = self.grid(groups);
        p.wg_x = grid.0;
        let pipe = self.pipeline("eye_passes", shaders::EYE_PASSES, entry)?;
        let ub = self.upload(Role::Uniform, bytemuck::bytes_of(&p))?;
        let mut bindings = vec![(0, ub.buffer()), (1, x.buffer()), (2, out.buffer())];
        if let Some(c) = counts {
            bindings.push((3, c.buffer()));
        }
        if let Some(i) = idx {
            bindings.push((4, i.buffer()));
        }
        self.scoped(|| {
            let mut enc = self.device.create_command_encoder(&Default::default());
            if let Some(c) = counts {
                enc.clear_buffer(c.buffer(), 0, None);
            }
            self.record_1d(&mut enc, &pipe, &bindings, grid);
            self.queue.submit([enc.finish()]);
        })
    }

    fn params(range: &Range<usize>) -> Params {
        Params {
            n: range.len() as u32,
            x0: range.start as u32,
            wg_x: 0,
            s: 0,
            ncols: 0,
            nthr: 0,
            cap: 0,
            rows: 0,
            first: 0,
            stride: 0,
            _p: [0; 2],
            thr: [[0.0; 4]; 4],
        }
    }

    /// The kept points `range` read back.
    pub(crate) fn kept_read(&self, x: &Pooled, range: Range<usize>) -> Result<Vec<f32>> {
        self.kept_range(x, &range)?;
        let mut out = vec![0f32; range.len()];
        self.read_back_into(x.buffer(), range.start as u64 * 4, bytemuck::cast_slice_mut(&mut out))?;
        Ok(out)
    }

    /// One pass over the kept points `range`: extremes and their counts, the first non-finite
    /// point, the sum (per workgroup in f32, the workgroups' sums added in f64).
    pub(crate) fn kept_scan(&self, x: &Pooled, range: Range<usize>) -> Result<KeptScan> {
        self.kept_range(x, &range)?;
        let mut scan = KeptScan {
            first_non_finite: None,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            at_min: 0,
            at_max: 0,
            sum: 0.0,
        };
        if range.is_empty() {
            return Ok(scan);
        }
        let groups = range.len().div_ceil(SCAN_BLOCK);
        let out = self.buffer(Role::Output, groups as u64 * 24)?;
        self.kept_dispatch("eye_scan", Self::params(&range), groups, x, &out, None, None)?;
        let words = self.read_back(out.buffer(), groups as u64 * 24)?;
        let words: &[u32] = bytemuck::cast_slice(&words[..groups * 24]);
        for w in words.chunks_exact(6) {
            let (mn, mx) = (f32::from_bits(w[0]), f32::from_bits(w[2]));
            if mn < scan.min {
                (scan.min, scan.at_min) = (mn, w[1] as usize);
            } else if mn == scan.min {
                scan.at_min += w[1] as usize;
            }
            if mx > scan.max {
                (scan.max, scan.at_max) = (mx, w[3] as usize);
            } else if mx == scan.max {
                scan.at_max += w[3] as usize;
            }
            if w[4] != u32::MAX && scan.first_non_finite.is_none() {
                scan.first_non_finite = Some(w[4] as usize);
            }
            scan.sum += f32::from_bits(w[5]) as f64;
        }
        // Only finite points are counted: with none, the extremes stay infinite and uncounted.
        if !scan.min.is_finite() {
            (scan.at_min, scan.at_max) = (0, 0);
        }
        Ok(scan)
    }

    /// The points at `indices` (relative to `range.start`, each within `range`).
    pub(crate) fn kept_gather(
        &self,
        x: &Pooled,
        range: Range<usize>,
        indices: &[usize],
    ) -> Result<Vec<f32>> {
        self.kept_range(x, &range)?;
        if let Some(&i) = indices.iter().find(|&&i| i >= range.len()) {
            return Err(Error::invalid(
                "kept point index",
                i,
                format!("must be below {}", range.len()),
            ));
        }
        let mut out = vec![0f32; indices.len()];
        let per = self.elems_per_binding(4).max(1);
        for (chunk, dst) in indices.chunks(per).zip(out.chunks_mut(per)) {
            let ib = self.upload(Role::Input, bytemuck::cast_slice(&chunk.iter().map(|&i| i as u32).collect::<Vec<u32>>()))?;
            let ob = self.buffer(Role::Output, chunk.len() as u64 * 4)?;
            let mut p = Self::params(&range);
            p.ncols = chunk.len() as u32;
            self.kept_dispatch("eye_gather", p, chunk.len().div_ceil(WG), x, &ob, None, Some(&ib))?;
            self.read_back_into(ob.buffer(), 0, bytemuck::cast_slice_mut(dst))?;
        }
        Ok(out)
    }

    /// TDECQ's window of the points `range` (see `KeptSignal::window`), in dispatches of up
    /// to one binding of outputs.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn kept_window(
        &self,
        x: &Pooled,
        range: Range<usize>,
        s: usize,
        first: isize,
        stride: usize,
        rows: usize,
        offsets: &[isize],
    ) -> Result<Vec<f32>> {
        self.kept_range(x, &range)?;
        let no = offsets.len();
        let mut out = vec![0f32; rows * no];
        if out.is_empty() || range.is_empty() {
            out.clear();
            return Ok(out);
        }
        // Every index the rows reach must fit the kernel's i32 arithmetic.
        let far = |r: usize| -> i128 { (first as i128 + (r as i128) * stride as i128) * s as i128 };
        let (omin, omax) = offsets.iter().fold((0i128, 0i128), |(a, b), &o| (a.min(o as i128), b.max(o as i128)));
        let (lo, hi) = (far(0).min(far(rows - 1)) + omin, far(0).max(far(rows - 1)) + omax);
        let lim = i32::MAX as i128;
        if range.len() as i128 > lim || lo < -lim || hi > lim {
            return Err(Error::invalid(
                "kept window",
                format!("first {first}, stride {stride}, {rows} rows, offsets {omin}..={omax}"),
                "must index within ±2^31",
            ));
        }
        let ob_offs: Vec<i32> = offsets.iter().map(|&o| o as i32).collect();
        let ib = self.upload(Role::Input, bytemuck::cast_slice(&ob_offs))?;
        let per = (self.elems_per_binding(4) / no).max(1);
        let mut r0 = 0;
        while r0 < rows {
            let r1 = (r0 + per).min(rows);
            let o = (r1 - r0) * no;
            let ob = self.buffer(Role::Output, o as u64 * 4)?;
            let mut p = Self::params(&range);
            p.s = s as u32;
            p.ncols = no as u32;
            p.rows = (r1 - r0) as u32;
            p.first = (first + (r0 * stride) as isize) as i32;
            p.stride = stride as u32;
            self.kept_dispatch("eye_window", p, o.div_ceil(WG), x, &ob, None, Some(&ib))?;
            self.read_back_into(ob.buffer(), 0, bytemuck::cast_slice_mut(&mut out[r0 * no..r1 * no]))?;
            r0 = r1;
        }
        Ok(out)
    }

    /// The crossings of each of `thresholds` by the points `range` (see the shader), in the
    /// order the workgroups appended them. A first dispatch reserves `range.len() / 16 + 4096`
    /// entries per threshold; a threshold crossed more often runs again with room for all.
    pub(crate) fn kept_crossings(
        &self,
        x: &Pooled,
        range: Range<usize>,
        thresholds: &[f32],
    ) -> Result<Vec<Vec<KeptCrossing>>> {
        self.kept_range(x, &range)?;
        let mut all = Vec::with_capacity(thresholds.len());
        for ts in thresholds.chunks(MAX_THRESHOLDS) {
            all.extend(self.kept_crossings_of(x, &range, ts)?);
        }
        Ok(all)
    }

    /// [`GpuContext::kept_crossings`] of at most [`MAX_THRESHOLDS`] thresholds.
    fn kept_crossings_of(
        &self,
        x: &Pooled,
        range: &Range<usize>,
        ts: &[f32],
    ) -> Result<Vec<Vec<KeptCrossing>>> {
        let nt = ts.len();
        let pairs = range.len().saturating_sub(1);
        if pairs == 0 {
            return Ok(vec![Vec::new(); nt]);
        }
        let most = (self.elems_per_binding(12) / nt).max(1);
        let mut cap = (range.len() / 16 + 4096).min(pairs).min(most);
        let mut p = Self::params(range);
        p.nthr = nt as u32;
        for (j, &t) in ts.iter().enumerate() {
            p.thr[j / 4][j % 4] = t;
        }
        let counts = self.buffer(Role::Output, nt as u64 * 4)?;
        loop {
            let out = self.buffer(Role::Output, (nt * cap) as u64 * 12)?;
            p.cap = cap as u32;
            self.kept_dispatch("eye_crossings", p, pairs.div_ceil(CROSS_BLOCK), x, &out, Some(&counts), None)?;
            let c = self.read_back(counts.buffer(), nt as u64 * 4)?;
            let found: Vec<usize> = bytemuck::cast_slice::<u8, u32>(&c[..nt * 4]).iter().map(|&v| v as usize).collect();
            let need = found.iter().copied().max().unwrap_or(0);
            if need > pairs {
                return Err(gpu_err(format!("eye_crossings counted {need} crossings of {pairs} sample pairs")));
            }
            if need > cap {
                if need > most {
                    return Err(gpu_err(format!(
                        "{need} crossings of one threshold: more than one binding holds"
                    )));
                }
                cap = need;
                continue;
            }
            return found
                .iter()
                .enumerate()
                .map(|(j, &count)| {
                    let mut words = vec![0u32; count * 3];
                    self.read_back_into(out.buffer(), (j * cap) as u64 * 12, bytemuck::cast_slice_mut(&mut words))?;
                    Ok(words
                        .chunks_exact(3)
                        .map(|w| KeptCrossing { k: w[0] as usize, x0: f32::from_bits(w[1]), x1: f32::from_bits(w[2]) })
                        .collect())
                })
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightlane_core::accel::{kept_crossings_reference, kept_scan_reference, kept_window_reference};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn ctx() -> Option<&'static GpuContext> {
        match GpuContext::shared() {
            Ok(c) => Some(c),
            Err(e) => {
                assert!(std::env::var("LIGHTLANE_REQUIRE_GPU").ok().as_deref() != Some("1"), "no adapter: {e}");
                None
            }
        }
    }

    /// Quantized noisy levels: many points tie the extremes and sit exactly on thresholds.
    fn points(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| (rng.random_range(0..4) as f32 - 1.5) + (rng.random_range(-40..=40) as f32) / 128.0).collect()
    }

    fn sorted(mut v: Vec<KeptCrossing>) -> Vec<(usize, u32, u32)> {
        let mut t: Vec<(usize, u32, u32)> = v.drain(..).map(|c| (c.k, c.x0.to_bits(), c.x1.to_bits())).collect();
        t.sort_unstable();
        t
    }

    #[test]
    fn the_eye_passes_equal_their_references() {
        let Some(ctx) = ctx() else { return };
        for (t, &n) in [1usize, 2, 7, 4095, 4096, 4097, 3 * 4096 + 129, 70_001].iter().enumerate() {
            let mut x = points(n + 40, 7 + t as u64);
            // Signed zeros at the extremes' ties are equal; place some.
            if n > 100 {
                x[50] = -0.0;
                x[51] = 0.0;
            }
            let buf = ctx.upload(Role::Output, bytemuck::cast_slice(&x)).unwrap();
            // A range that starts past the buffer's start, as the eye's does.
            let range = 17..17 + n;
            let host = &x[range.clone()];
            assert_eq!(ctx.kept_read(&buf, range.clone()).unwrap(), host);
            let got = ctx.kept_scan(&buf, range.clone()).unwrap();
            let want = kept_scan_reference(host);
            assert_eq!((got.first_non_finite, got.min, got.max, got.at_min, got.at_max), (want.first_non_finite, want.min, want.max, want.at_min, want.at_max), "{n} points");
            assert!((got.sum - want.sum).abs() <= 1e-6 * host.iter().map(|v| v.abs() as f64).sum::<f64>().max(1.0), "{n}: {} vs {}", got.sum, want.sum);
            // Thresholds at levels, between them and on quantized values; more than one
            // dispatch's worth of them (16).
            let mut ts: Vec<f32> = vec![-1.0, 0.0, 1.0, 0.5, -0.5 + 3.0 / 128.0, 0.25];
            ts.extend((0..14).map(|i| -2.0 + 0.3 * i as f32));
            let got = ctx.kept_crossings(&buf, range.clone(), &ts).unwrap();
            let want = kept_crossings_reference(host, &ts);
            assert_eq!(got.len(), ts.len());
            for (j, (g, w)) in got.into_iter().zip(want).enumerate() {
                assert_eq!(sorted(g), sorted(w), "{n} points, threshold {}", ts[j]);
            }
            // TDECQ's windows: strided rows, offsets before and past the UI, clamped at both ends.
            // And the eye's columns: a row per whole UI, offsets within it (s 8 and 5).
            for (s, first, stride, rows, offs) in [(8, 0isize, 1usize, n / 8, vec![-3isize, 0, 3, 4]), (8, -2, 3, n / 24 + 3, vec![4]), (8, 5, 1, n / 8 + 2, vec![-9, 12]), (8, 0, 1, n / 8, vec![3, 4, 5, 4]), (5, 0, 1, n / 5, vec![0, 4, 2])] {
                assert_eq!(ctx.kept_window(&buf, range.clone(), s, first, stride, rows, &offs).unwrap(), kept_window_reference(host, s, first, stride, rows, &offs), "{n} points, window {s} {first} {stride} {rows} {offs:?}");
            }
            let idx: Vec<usize> = (0..n.min(500)).map(|i| (i * 7919) % n).collect();
            let want: Vec<f32> = idx.iter().map(|&i| host[i]).collect();
            assert_eq!(ctx.kept_gather(&buf, range.clone(), &idx).unwrap(), want);
        }
    }

    #[test]
    fn every_pair_crossing_reruns_with_room_and_bad_points_are_found() {
        let Some(ctx) = ctx() else { return };
        // Alternating signs: every pair crosses 0, past the first dispatch's room.
        let n = 200_000;
        let x: Vec<f32> = (0..n).map(|k| if k % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let buf = ctx.upload(Role::Output, bytemuck::cast_slice(&x)).unwrap();
        let got = ctx.kept_crossings(&buf, 0..n, &[0.0, 5.0]).unwrap();
        assert_eq!((got[0].len(), got[1].len()), (n - 1, 0));
        assert_eq!(sorted(got[0].clone()), sorted(kept_crossings_reference(&x, &[0.0])[0].clone()));
        // Non-finite points (the first of several), counted apart from the extremes.
        let mut y = points(50_000, 3);
        y[30_001] = f32::INFINITY;
        y[12_345] = f32::NAN;
        y[40_000] = f32::NEG_INFINITY;
        let buf = ctx.upload(Role::Output, bytemuck::cast_slice(&y)).unwrap();
        let got = ctx.kept_scan(&buf, 100..50_000).unwrap();
        let want = kept_scan_reference(&y[100..]);
        assert_eq!(got.first_non_finite, Some(12_245));
        assert_eq!((got.first_non_finite, got.min, got.max, got.at_min, got.at_max), (want.first_non_finite, want.min, want.max, want.at_min, want.at_max));
        // Out of range: errors, not reads past the buffer (GpuKept checks its own length).
        let past = (buf.buffer().size() / 4) as usize + 1;
        assert!(ctx.kept_scan(&buf, 0..past).is_err() && ctx.kept_read(&buf, past - 8..past).is_err());
        assert!(ctx.kept_gather(&buf, 10..20, &[10]).is_err());
        assert!(ctx.kept_window(&buf, 0..100, 8, i32::MAX as isize, 1, 2, &[0]).is_err(), "past i32");
    }
}
