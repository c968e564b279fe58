//! # lightlane
//!
//! Signal processing for high-speed serial links and optical interconnects: PAM4/NRZ pattern
//! checking, equalization, FEC statistics and link metrics on oscilloscope captures.
//!
//! This facade re-exports [`lightlane_core`] (the DSP) and [`lightlane_io`] (capture files) as
//! `lightlane::io`.
//!
//! ```
//! use lightlane::prelude::*;
//! use lightlane::{pattern::Pattern, sim::LinkModel};
//!
//! // Simulate a 53.125 GBd PAM4 PRBS13Q capture at 256 GSa/s and analyse it.
//! let model = LinkModel::demo_pam4();
//! let symbols = Pattern::parse("prbs13q")?.generate(Modulation::Pam4, 2 * 8191)?;
//! let capture = model.run(&symbols)?;
//! let report = analyze(&capture.waveform, &AnalysisConfig::pam4(model.baud), Backend::Auto)?;
//! assert!(report.ber < 1e-3);
//! # Ok::<(), lightlane::Error>(())
//! ```

pub use lightlane_core::*;
pub use lightlane_io as io;
/// The GPU engine (feature `gpu`, on by default).
#[cfg(feature = "gpu")]
pub use lightlane_gpu as gpu;

/// Analyses one capture on the engine `backend` selects: `Cpu`; `Gpu` (the wgpu engine; no
/// usable adapter is an error); `Auto` (the GPU engine when a real GPU adapter exists and the
/// capture has at least `gpu::AUTO_MIN_SAMPLES` samples, else the CPU engine). Under `Auto`
/// every GPU failure falls back to the CPU engine with the reason in `Report::warnings`.
/// Same report as [`analysis::analyze`] otherwise.
pub fn analyze(waveform: &Waveform, config: &analysis::AnalysisConfig, backend: Backend) -> Result<analysis::Report> {
    #[cfg(feature = "gpu")]
    {
        lightlane_gpu::analyze(waveform, config, backend)
    }
    #[cfg(not(feature = "gpu"))]
    {
        match backend {
            Backend::Gpu => Err(Error::Unusable {
                stage: "gpu",
                reason: "this build of lightlane has no GPU engine (feature \"gpu\" off)".into(),
            }),
            _ => analysis::analyze(waveform, config, Backend::Cpu),
        }
    }
}

/// Analyses a capture delivered in chunks ([`analysis::analyze_stream`]) on the engine `backend`
/// selects, as [`analyze`] does: with the GPU engine, the FFE and the detectors of every block
/// run on the device (`gpu::analyze_stream`); the decisions and counts are the CPU engine's.
pub fn analyze_stream<S: analysis::ChunkSource + ?Sized>(
    source: &mut S,
    config: &analysis::AnalysisConfig,
    backend: Backend,
    options: &analysis::StreamOptions,
) -> Result<analysis::Report> {
    #[cfg(feature = "gpu")]
    {
        lightlane_gpu::analyze_stream(source, config, backend, options)
    }
    #[cfg(not(feature = "gpu"))]
    {
        match backend {
            Backend::Gpu => Err(Error::Unusable {
                stage: "gpu",
                reason: "this build of lightlane has no GPU engine (feature \"gpu\" off)".into(),
            }),
            _ => analysis::analyze_stream(source, config, Backend::Cpu, options),
        }
    }
}

/// The types most programs need.
pub mod prelude {
    pub use crate::analyze;
    pub use lightlane_core::analysis::{AnalysisConfig, Report};
    pub use lightlane_core::{Backend, Error, Modulation, Waveform};
}
