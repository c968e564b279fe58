//! # lightlane-gpu
//!
//! The GPU engine of lightlane: WGSL compute kernels run through wgpu (Vulkan, Metal, DX12; Mesa's
//! lavapipe CPU driver in CI). A [`GpuContext`] holds the device, a pipeline cache and buffer
//! pools; its kernels return the same answers as the CPU engine of `lightlane_core`:
//!
//! | kernel | CPU counterpart |
//! |---|---|
//! | [`GpuContext::codes_to_volts`] | `RawCodes` gain/offset |
//! | [`GpuContext::fir`], [`GpuContext::ffe_equalize`], [`GpuContext::fir_valid`] | `eq::Ffe::equalize`, `filter::Fir::process_valid` |
//! | [`GpuContext::slice_count`], [`GpuContext::ffe_slice_count`] | `modulation::Slicer` + `pattern::count::count_errors` |
//! | [`GpuContext::eye_histogram`] | [`reference::eye_histogram`] (= `lightlane_core::eye`) |
//! | [`GpuContext::resample`], [`GpuContext::resample_at`] | `timing::resample`, `timing::resample_at` |
//! | [`GpuContext::dfe_detect_blocks`] | `eq::detect_blocks` with `eq::Dfe::detect` |
//! | [`GpuContext::mlse_detect_blocks`] | `eq::detect_blocks` with `eq::Mlse::detect` |
//! | [`GpuContext::rs_syndromes`] | `fec::ReedSolomon::syndromes` (IEEE 802.3 Cl. 91/119) |
//! | [`GpuContext::weighted_histogram`], [`GpuContext::weighted_histograms`] | [`weighted_histogram_reference`] (TDECQ's evaluation, 121.8.5; exact counts) |
//!
//! [`GpuAccelerator`] plugs the engine into the analysis pipeline, and [`analyze`] resolves
//! `Backend::{Cpu, Gpu, Auto}` with fallback to the CPU engine. In the pipeline the FFE output
//! stays on the device ([`GpuEqualized`]): the training prefix, the FFE-stage error counts, the
//! decisions of the slicer / block-parallel DFE / MLSE and the eye histogram come back, and the
//! decisions and error counts equal the CPU engine's. TDECQ's reference-FFE search evaluates
//! its candidates on the device (`Accelerator::tdecq_histograms`: both windows resident, one
//! dispatch per candidate, counts exact, so the search and its result are the CPU's), and the
//! streamed analysis ([`analyze_stream`]) runs each block's FFE and detectors on the device. Resampling onto the recovered clock (the
//! FFE input, the eye's raw and reference-receiver signals) runs on the device too, within
//! [`resample_tolerance`] of the CPU per point, so the report's floats (taps, eye metrics,
//! TDECQ) agree with the CPU engine's to f32 rounding. Inputs beyond one binding stream through the
//! [`StagingRing`] (the DFE and MLSE in chunks of whole blocks with the warm-up overlap across
//! chunk borders, see [`blocks`]).
//!
//! Errors are `lightlane_core::Error::Unusable { stage: "gpu", .. }`: no adapter, limits too
//! small, device lost, validation or out-of-memory errors captured from wgpu.

pub mod bench;
pub mod blocks;
pub mod context;
pub mod engine;
pub mod kernels;
pub mod mlse;
pub mod pool;
pub mod reference;
mod eye_passes;
pub mod resample;
pub mod shaders;
pub mod stream;
pub mod weighted;

pub use context::{check_limits, AdapterSummary, GpuContext, GpuOptions, LedgerRow, ADAPTER_ENV, STAGED_UPLOAD_MIN, TdecqPlacement, TDECQ_GPU_MIN_ROWS};
pub use engine::{analyze, analyze_stream, resamples_on_the_device, resolve, GpuAccelerator, GpuEqualized, GpuKept, Resolved, AUTO_MIN_SAMPLES};
pub use kernels::{SliceCount, GPU_DFE_BLOCK, GPU_DFE_MAX_TAPS};
pub use mlse::{GPU_MLSE_BLOCK, GPU_MLSE_MAX_TRACEBACK};
pub use reference::EyeGeometry;
pub use resample::{resample_tolerance, RESAMPLE_ANCHOR_SPAN};
pub use stream::StagingRing;
pub use weighted::{weighted_histogram_reference, WeightedHistogram, WEIGHTED_BATCH, WEIGHTED_MAX_BINS, WEIGHTED_MAX_COLUMNS};

/// The bytes of an `f32` slice (for benchmarks and callers that stream raw samples).
pub fn bytes_of_f32(x: &[f32]) -> &[u8] {
    bytemuck::cast_slice(x)
}
