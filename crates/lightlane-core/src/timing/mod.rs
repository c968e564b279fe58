//! Timing: sampling-phase recovery at a known symbol rate and resampling to N samples per UI.
//!
//! Real-time scope captures are sampled at a rate unrelated to the symbol rate
//! (e.g. 256 GSa/s at 53.125 GBd, 4.819 samples per UI). [`recover_phase`] finds the sampling
//! instant within the UI that best separates the levels, and [`resample`] interpolates the
//! capture at `phase + m / sps_out` UI for every output sample `m` (Keys cubic convolution, which
//! reproduces the samples exactly at integer positions).

mod interp;
mod phase;

pub use interp::{cubic_at, resample, ResampleGrid};
pub use phase::{cluster_levels, recover_phase, LevelClusters, PhaseConfig, SamplingPhase};
