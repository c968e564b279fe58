//! # lightlane-core
//!
//! Pure-Rust DSP for high-speed serial links (NRZ/PAM4 SerDes) and optical IM/DD interconnects.
//! No GPU and no file formats live here; see `lightlane-io` for capture files.
//!
//! The modules follow the data flow of the main job (`analysis::analyze`):
//! [`timing`] → [`filter`]/[`eq`] → [`modulation`] (slicing) → [`pattern`] (sync, BER) → [`fec`].
//! [`sim`] generates captures with known ground truth.

pub mod accel;
pub mod analysis;
pub mod backend;
pub mod eq;
pub mod error;
pub mod eye;
pub mod fec;
pub mod filter;
pub mod jitter;
pub mod modulation;
pub mod optical;
pub mod par;
pub mod pattern;
pub mod sim;
mod simd;
pub mod stats;
pub mod timing;
pub mod waveform;

pub use backend::Backend;
pub use error::{Error, Result};
pub use modulation::Modulation;
pub use waveform::Waveform;
