//! Block-parallel detectors (DFE, MLSE) beyond one binding: a prepared kernel run
//! ([`BlockRun`]) and the streaming of long inputs through the [`StagingRing`] in chunks of
//! whole blocks with the warm-up overlap across chunk borders.
//!
//! `lightlane_core::eq::detect_blocks(y, block, warmup, f)` decides block `b` (symbols
//! `b·block ..`) from the window `y[b·block − warmup .. (b+1)·block + warmup]` (clamped to
//! `y`). A chunk owning blocks `b0 .. b1` is the input slice starting `h = ⌈warmup/block⌉`
//! whole blocks before `b0` (so the kernel's block grid stays aligned with the global one) and
//! ending `warmup` symbols after `b1` (clamped to `y`): every owned block then sees exactly
//! its global window, and the decisions of the history blocks and the tail are dropped. The
//! result is identical to the single-binding run, whatever the chunking.

use crate::context::{gpu_err, GpuContext};
use crate::pool::{Pooled, Role};
use crate::stream::StagingRing;
use lightlane_core::Result;
use std::collections::VecDeque;

/// A block-detector kernel prepared for one input length: its pipeline, grid, per-segment
/// uniforms and buffers. Binding 0 is the uniform, 1 the input, 3 the packed decisions.
pub(crate) struct BlockRun {
    pub(crate) pipe: wgpu::ComputePipeline,
    pub(crate) grid: (u32, u32),
    pub(crate) uniforms: Vec<Pooled>,
    pub(crate) rest: Vec<(u32, Pooled)>,
    pub(crate) out: Pooled,
    pub(crate) n: usize,
}

impl BlockRun {
    /// Bytes of the packed decisions (one per symbol, rounded up to words).
    pub(crate) fn out_bytes(&self) -> u64 {
        self.n.div_ceil(4) as u64 * 4
    }

    /// Records the segmented dispatches over `data` (the input, at its start) into `enc`.
    pub(crate) fn record(&self, ctx: &GpuContext, enc: &mut wgpu::CommandEncoder, data: &wgpu::Buffer) {
        for ub in &self.uniforms {
            let mut b: Vec<(u32, &wgpu::Buffer)> = vec![(0, ub.buffer()), (1, data), (3, self.out.buffer())];
            b.extend(self.rest.iter().map(|(i, p)| (*i, p.buffer())));
            ctx.record_1d(enc, &self.pipe, &b, self.grid);
        }
    }

    /// Runs over the device-resident input `data` and reads the `n` decisions back.
    pub(crate) fn run(&self, ctx: &GpuContext, data: &Pooled) -> Result<Vec<u8>> {
        ctx.scoped(|| {
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            self.record(ctx, &mut enc, data.buffer());
            ctx.queue.submit([enc.finish()]);
        })?;
        let mut d = ctx.read_back(self.out.buffer(), self.out_bytes())?;
        d.truncate(self.n);
        Ok(d)
    }
}

/// One chunk of [`GpuContext::stream_blocks`]: input `s..e`, owned symbols `c0..c1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockChunk {
    pub(crate) s: usize,
    pub(crate) e: usize,
    pub(crate) c0: usize,
    pub(crate) c1: usize,
}

/// The chunks of an input of `n` symbols with at most `per` owned blocks each.
pub(crate) fn block_chunks(n: usize, block: usize, warmup: usize, per: usize) -> Vec<BlockChunk> {
    let hb = warmup.div_ceil(block);
    let nblocks = n.div_ceil(block);
    let mut v = Vec::new();
    let mut b0 = 0;
    while b0 < nblocks {
        let b1 = (b0 + per.max(1)).min(nblocks);
        let (c0, c1) = (b0 * block, (b1 * block).min(n));
        v.push(BlockChunk {
            s: c0.saturating_sub(hb * block),
            e: c1.saturating_add(warmup).min(n),
            c0,
            c1,
        });
        b0 = b1;
    }
    v
}

impl GpuContext {
    /// Block detection of `y` in chunks through the staging ring (see the module docs);
    /// `prepare(len)` builds the kernel run for a chunk of `len` symbols. Up to `slots`
    /// chunks are in flight before the oldest chunk's decisions are mapped back.
    pub(crate) fn stream_blocks(
        &self,
        y: &[f32],
        block: usize,
        warmup: usize,
        slots: usize,
        prepare: &dyn Fn(usize) -> Result<BlockRun>,
    ) -> Result<Vec<u8>> {
        let n = y.len();
        let limit = self.elems_per_binding(4);
        let hb = warmup.div_ceil(block);
        // A chunk of `per` owned blocks has at most (hb + per)·block + warmup inputs and
        // hb + per + 1 kernel blocks; this bound fits both detectors' scratch in `limit`.
        let per = (limit.saturating_sub(warmup) / (2 * block + 2 * warmup)).saturating_sub(hb + 1);
        if per == 0 {
            return Err(gpu_err(format!(
                "a block of {block} symbols with {warmup} warm-up does not fit one binding of {limit} samples"
            )));
        }
        let chunks = block_chunks(n, block, warmup, per);
        let max_len = chunks.iter().map(|c| c.e - c.s).max().unwrap_or(1);
        let mut ring = StagingRing::new(self, (max_len * 4) as u64, slots.max(2))?;
        let mut out = vec![0u8; n];
        // (readback buffer, bytes, chunk, the submission that fills the buffer)
        type Pending = (Pooled, u64, BlockChunk, Option<wgpu::SubmissionIndex>);
        let mut pending: VecDeque<Pending> = VecDeque::new();
        let drain = |pending: &mut VecDeque<Pending>, out: &mut [u8]| -> Result<()> {
            if let Some((rb, bytes, c, filled)) = pending.pop_front() {
                let mut d = vec![0u8; bytes as usize];
                self.map_read_after(rb.buffer(), &mut d, filled)?;
                let skip = c.c0 - c.s;
                out[c.c0..c.c1].copy_from_slice(&d[skip..skip + (c.c1 - c.c0)]);
            }
            Ok(())
        };
        for c in chunks {
            let run = prepare(c.e - c.s)?;
            let bytes = run.out_bytes();
            let rb = self.buffer(Role::Readback, bytes)?;
            ring.push(bytemuck::cast_slice(&y[c.s..c.e]), |enc, data| {
                run.record(self, enc, data);
                enc.copy_buffer_to_buffer(run.out.buffer(), 0, rb.buffer(), 0, bytes);
            })?;
            pending.push_back((rb, bytes, c, ring.last_submission()));
            if pending.len() >= slots.max(2) {
                drain(&mut pending, &mut out)?;
            }
        }
        ring.finish()?;
        while !pending.is_empty() {
            drain(&mut pending, &mut out)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_symbol_once_with_aligned_history() {
        for &(n, block, warmup, per) in &[(1000usize, 64usize, 16usize, 3usize), (1000, 64, 100, 2), (64, 64, 16, 1), (65, 8, 0, 5), (8192 * 3 + 5, 8192, 256, 1)] {
            let ch = block_chunks(n, block, warmup, per);
            let mut next = 0;
            for c in &ch {
                assert_eq!(c.c0, next);
                assert!(c.s <= c.c0 && c.c1 <= c.e && c.e <= n);
                assert_eq!((c.c0 - c.s) % block, 0, "history is whole blocks");
                assert!(c.c0 - c.s >= warmup.min(c.c0), "history covers the warm-up");
                assert_eq!(c.e, (c.c1 + warmup).min(n), "tail covers the look-ahead");
                next = c.c1;
            }
            assert_eq!(next, n);
        }
    }
}
