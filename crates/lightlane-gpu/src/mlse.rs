//! Block-parallel MLSE on the GPU: one invocation per block runs the whole Viterbi detector of
//! `lightlane_core::eq::Mlse::detect` on the block's window with warm-up overlap on both sides.

use crate::blocks::BlockRun;
use crate::context::{gpu_err, GpuContext};
use crate::pool::Role;
use crate::shaders;
use bytemuck::{Pod, Zeroable};
use lightlane_core::eq::Mlse;
use lightlane_core::{Error, Modulation, Result};

/// Default symbols per block of [`GpuContext::mlse_detect_blocks`] (a GPU needs many blocks in
/// flight, so smaller than the CPU's `eq::block::DEFAULT_BLOCK`).
pub const GPU_MLSE_BLOCK: usize = 4096;
/// Window symbols per dispatch (see mlse.wgsl: keeps every invocation under lavapipe's 65535
/// loop iterations, at most ~100 per symbol for 16 states).
const SEGMENT: usize = 256;
/// Largest traceback `block + depth` [`GpuContext::mlse_detect_blocks`] accepts: a traceback
/// is one loop of that length inside one invocation (the same lavapipe loop budget).
pub const GPU_MLSE_MAX_TRACEBACK: usize = 16384;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    block: u32,
    warmup: u32,
    blocks: u32,
    m: u32,
    states: u32,
    stride: u32,
    weighted: u32,
    tb_block: u32,
    tb_depth: u32,
    wg_x: u32,
    zero: u32,
    lo: f32,
    hi: f32,
    seg_begin: u32,
    seg_len: u32,
}

/// The input clamp range of `Mlse::detect` (4 table spans beyond the expected outputs), in the
/// same f32 operations.
fn clamp_range(expected: &[f32]) -> (f32, f32) {
    let lo = expected.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = expected.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = (hi - lo).max(1e-6 * (1.0 + hi.abs().max(lo.abs())));
    (lo - 4.0 * span, hi + 4.0 * span)
}

impl GpuContext {
    /// Block-parallel MLSE: decisions equal to
    /// `lightlane_core::eq::detect_blocks(y, block, warmup, |b| mlse.detect(b))` — and so to
    /// `Mlse::detect_interleaved_with(y, out, block, warmup)` — bit for bit (the same
    /// floating-point operations in the same order, products kept out of FMA contraction).
    /// Every trellis of [`Mlse`]: PAM4 4/16 states, NRZ 2/4 states, Euclidean or per-pattern
    /// noise metric, its traceback block and depth. The differences from the sequential
    /// `Mlse::detect` lie within `warmup` symbols of a block boundary (see
    /// `lightlane_core::eq::block`).
    ///
    /// Errors: `block` not a positive multiple of 4; traceback `block + depth` above
    /// [`GPU_MLSE_MAX_TRACEBACK`]; the input (or the survivor scratch, 4 bytes per window
    /// symbol) larger than one binding.
    pub fn mlse_detect_blocks(&self, mlse: &Mlse, y: &[f32], block: usize, warmup: usize) -> Result<Vec<u8>> {
        if block == 0 || !block.is_multiple_of(4) {
            return Err(Error::invalid("block", block, "must be a positive multiple of 4"));
        }
        let n = y.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let (tb_block, tb_depth) = mlse.traceback();
        if tb_block + tb_depth > GPU_MLSE_MAX_TRACEBACK {
            return Err(gpu_err(format!(
                "GPU MLSE supports traceback block + depth up to {GPU_MLSE_MAX_TRACEBACK} (got {tb_block} + {tb_depth}); use the CPU engine"
            )));
        }
        if !mlse_fits(n, block, warmup, self.elems_per_binding(4)) {
            return self.stream_blocks(y, block, warmup, 2, &|len| self.mlse_run(mlse, len, block, warmup));
        }
        let yb = self.upload(Role::Input, bytemuck::cast_slice(y))?;
        self.mlse_run(mlse, n, block, warmup)?.run(self, &yb)
    }

    /// [`GpuContext::mlse_detect_blocks`] of the first `n` samples of the device buffer `y`
    /// (no upload); inputs whose windows exceed one binding are read back and streamed.
    pub(crate) fn mlse_detect_resident(&self, mlse: &Mlse, y: &crate::pool::Pooled, n: usize, block: usize, warmup: usize) -> Result<Vec<u8>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let (tb_block, tb_depth) = mlse.traceback();
        if block == 0 || !block.is_multiple_of(4) || tb_block + tb_depth > GPU_MLSE_MAX_TRACEBACK || !mlse_fits(n, block, warmup, self.elems_per_binding(4)) {
            let host = self.read_back(y.buffer(), n as u64 * 4)?;
            return self.mlse_detect_blocks(mlse, &bytemuck::cast_slice::<u8, f32>(&host)[..n], block, warmup);
        }
        self.mlse_run(mlse, n, block, warmup)?.run(self, y)
    }

    /// Prepares the MLSE kernel for an input of `n` symbols (which must fit [`mlse_fits`]).
    pub(crate) fn mlse_run(&self, mlse: &Mlse, n: usize, block: usize, warmup: usize) -> Result<BlockRun> {
        if !mlse_fits(n, block, warmup, self.elems_per_binding(4)) {
            return Err(gpu_err(format!("MLSE input of {n} samples (with warm-up windows) exceeds one binding")));
        }
        let warmup = warmup.min(n);
        let blocks = n.div_ceil(block);
        let window = block.saturating_add(2 * warmup);
        let m = mlse.modulation().levels();
        let states = mlse.states();
        let expected = mlse.expected();
        let noise = mlse.noise_weights();
        let table: Vec<[f32; 4]> = (0..expected.len())
            .map(|i| {
                let (w, b) = noise.get(i).copied().unwrap_or((1.0, 0.0));
                [expected[i], w, b, 0.0]
            })
            .collect();
        let (lo, hi) = clamp_range(expected);
        let (tb_block, tb_depth) = mlse.traceback();
        let blocks32 = u32::try_from(blocks).map_err(|_| Error::invalid("MLSE blocks", blocks, "too many for one dispatch"))?;
        let grid = self.grid(blocks32.div_ceil(64));
        let p = Params {
            n: n as u32,
            block: block as u32,
            warmup: warmup as u32,
            blocks: blocks32,
            m: m as u32,
            states: states as u32,
            stride: (states / m) as u32,
            weighted: !noise.is_empty() as u32,
            tb_block: tb_block as u32,
            tb_depth: tb_depth as u32,
            wg_x: grid.0,
            zero: 0,
            lo,
            hi,
            seg_begin: 0,
            seg_len: SEGMENT as u32,
        };
        debug_assert!(matches!(mlse.modulation(), Modulation::Pam4 | Modulation::Nrz) && states <= 16);
        let pipe = self.pipeline("mlse", shaders::MLSE, "mlse_blocks")?;
        let tb = self.upload(Role::Input, bytemuck::cast_slice(&table))?;
        let words = n.div_ceil(4) as u64 * 4;
        let ob = self.buffer(Role::Output, words)?;
        let sb = self.buffer(Role::Output, (blocks * window) as u64 * 4)?;
        let stb = self.buffer(Role::Output, blocks as u64 * 17 * 4)?;
        let segments = window.min(n).div_ceil(SEGMENT);
        let mut uniforms = Vec::with_capacity(segments);
        for s in 0..segments {
            let ps = Params { seg_begin: (s * SEGMENT) as u32, ..p };
            uniforms.push(self.upload(Role::Uniform, bytemuck::bytes_of(&ps))?);
        }
        Ok(BlockRun {
            pipe,
            grid,
            uniforms,
            rest: vec![(2, tb), (4, sb), (5, stb)],
            out: ob,
            n,
        })
    }
}

/// Whether the MLSE of `n` symbols (input and warm-up windows) fits `limit` elements.
pub(crate) fn mlse_fits(n: usize, block: usize, warmup: usize, limit: usize) -> bool {
    let warmup = warmup.min(n);
    n <= limit && n.div_ceil(block).saturating_mul(block.saturating_add(2 * warmup)) <= limit
}
