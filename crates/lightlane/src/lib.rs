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

/// The types most programs need.
pub mod prelude {
    pub use lightlane_core::analysis::{analyze, AnalysisConfig, Report};
    pub use lightlane_core::{Backend, Error, Modulation, Waveform};
}
