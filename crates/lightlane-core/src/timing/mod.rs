//! Timing: symbol-rate estimation, clock recovery, and resampling to N samples per UI.
//!
//! Real-time scope captures are sampled at a rate unrelated to the symbol rate (e.g. 40 GSa/s at
//! 10.3125 GBd, 3.879 samples per UI), the symbol rate is only nominally known, and the clock
//! wanders. The stages, in the order the analysis runs them:
//!
//! 1. [`estimate_baud`]: the symbol rate from the spectral line of `|Δx|²`, refined to a
//!    fraction of a ppm on long captures ([`BaudEstimate`]).
//! 2. [`recover_clock`]: the centre of every symbol as a fractional sample index, with the
//!    802.3 reference PLL (the "golden PLL" of eye and TDECQ measurements: an edge phase
//!    detector and a first- or second-order loop with a given corner, 4 MHz by default), or a
//!    Mueller-Müller, Gardner or bang-bang loop ([`CdrKind`]); the result carries the recovered
//!    rate, its ppm offset and the recovered-clock TIE of every data edge ([`RecoveredClock`]).
//!    Long captures run block-parallel ([`CdrConfig::block_symbols`]), within a stated and
//!    tested bound of the sequential loop.
//! 3. [`resample_at`]: N samples per UI at those positions (Keys cubic), or
//!    [`PolyphaseResampler`] (windowed sinc) for more accuracy, or [`resample_fft`] for a plain
//!    rate change (the method of `scipy.signal.resample`).
//!
//! For a capture whose clock is steady and whose rate is exactly known, [`recover_phase`] finds
//! one sampling instant for the whole capture and [`resample`] interpolates on that fixed grid.
//!
//! ```
//! use lightlane_core::sim::{Channel, LinkModel};
//! use lightlane_core::timing::{estimate_baud, recover_clock, resample_at, CdrConfig};
//! use lightlane_core::Modulation;
//! let fs = 40e9;
//! let mut m = LinkModel::new(Modulation::Nrz, 10.3125e9 * (1.0 - 30e-6), fs).unwrap();
//! m.channel = Channel::BesselThomson { f3db_hz: 7e9, order: 4 };
//! let mut s = 1u64; // random bits from an LCG's top bit
//! let bits: Vec<u8> = (0..40_000).map(|_| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1); (s >> 63) as u8 }).collect();
//! let x = m.run(&bits).unwrap().waveform.samples;
//! let rate = estimate_baud(&x, fs, Some(10.3125e9), Modulation::Nrz).unwrap();
//! assert!((rate.ppm_from_nominal.unwrap() + 30.0).abs() < 3.0);
//! let clock = recover_clock(&x, fs, rate.baud, Modulation::Nrz, &CdrConfig::default()).unwrap();
//! let one_per_ui = resample_at(&x, &clock.symbol_positions, 1);
//! assert!(clock.tie_rms_s < 2e-12 && one_per_ui.len() > 39_000);
//! ```

mod baud;
mod cdr;
mod cdr_block;
mod edges;
mod interp;
pub(crate) mod phase;
mod polyphase;
pub(crate) mod realfft;
mod resample_fft;
mod simd;
mod tie;

#[cfg(test)]
mod cdr_tests;

pub use baud::{estimate_baud, BaudEstimate, MIN_BAUD_SAMPLES, MIN_LINE_SNR_DB, MIN_TRANSITIONS, NOMINAL_WINDOW};
pub use cdr::{recover_clock, CdrConfig, CdrKind, RecoveredClock, MIN_CDR_EDGES, MIN_CDR_SYMBOLS, MIN_EDGE_CONCENTRATION, min_edge_concentration};
pub use cdr_block::{BANG_BANG_TOLERANCE_STEPS, DEFAULT_CDR_BLOCK, LINEAR_TOLERANCE_UI, WARMUP_TIME_CONSTANTS};
pub use interp::{cubic_at, resample, resample_at, resample_at_into, resample_at_parallel, ResampleGrid};
pub use phase::{cluster_levels, recover_phase, LevelClusters, PhaseConfig, SamplingPhase};
#[cfg(test)]
pub(crate) use phase::cluster_levels_reference;
pub use polyphase::{PolyphaseConfig, PolyphaseResampler};
pub use resample_fft::{resample_fft, FftResampleScratch, FftResampler, MAX_FFT_RESAMPLE_LEN, MAX_FFT_RESAMPLE_RATIO};
pub use tie::{fit_tone, Tone};
pub(crate) use tie::{add_tone_point, solve3};
