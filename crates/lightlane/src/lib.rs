//! # lightlane
//!
//! Signal processing for high-speed serial links and optical interconnects: PAM4/NRZ pattern
//! checking, equalization, FEC statistics and eye metrics on oscilloscope captures.
//!
//! This facade re-exports [`lightlane_core`] (the DSP) and [`lightlane_io`] (capture files).
//!

pub use lightlane_core::*;
pub use lightlane_io as io;

/// The types most programs need.
pub mod prelude {
    pub use lightlane_core::{Backend, Error, Modulation, Waveform};
}
