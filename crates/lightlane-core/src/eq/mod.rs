//! Equalizers: reference receivers, CTLE, FFE (MMSE and adaptive), DFE, MLSE, and block
//! parallelism for the sequential detectors.
//!
//! - [`reference_rx`]: the 802.3 Bessel-Thomson reference receiver (121.8.5.1).
//! - [`ctle`]: the 802.3 Annex 93A-22 two-stage CTLE, with a `g_DC` auto-select.
//! - [`ffe`]: feed-forward equalizer, T-spaced or fractionally spaced, on the SIMD
//!   [`Fir`](crate::filter::Fir), with MMSE least-squares training against the known pattern.
//! - [`adaptive`]: FFE adaptation by LMS, NLMS, sign-sign LMS and RLS, trained and
//!   decision-directed.
//! - [`target`]: MMSE FFE training towards a partial-response target (`1 + αD`, ...) for MLSE
//!   and DFE, with the target estimated jointly.
//! - [`adaptive_dfe`]: the FFE and DFE feedback taps adapted jointly (DFE-LMS, NLMS,
//!   sign-sign, RLS).
//! - [`dfe`]: decision-feedback equalizer with 1..=32 taps and error-propagation statistics.
//! - [`linear_model`]: the linear ISI model of an equalized signal, fitted once for the DFE and
//!   the MLSE built on it.
//! - [`mlse`]: Viterbi sequence detection for NRZ/PAM4 with channel memory 1 and 2.
//! - [`block`]: overlapping-block parallel runs of sequential detectors.
//! - [`lsq`]: the small dense least-squares solver (Cholesky) the trainers share.

pub mod adaptive;
pub mod adaptive_dfe;
mod analog;
pub mod block;
pub mod ctle;
pub mod dfe;
pub mod ffe;
pub mod linear_model;
pub mod lsq;
pub mod mlse;
pub mod reference_rx;
#[cfg(target_arch = "x86_64")]
mod simd;
pub mod target;
#[cfg(test)]
mod test_util;

pub use adaptive::{adapt_ffe, adapt_ffe_into, AdaptResult, AdaptSummary, Adaptation, AdaptiveConfig};
pub use adaptive_dfe::{adapt_ffe_dfe, AdaptDfeResult};
pub use block::detect_blocks;
pub use ctle::{ctle_auto_select, level_separation_score, Ctle, CtleConfig};
pub use ffe::{Ffe, FfeConfig, FfeTraining};
pub use dfe::{error_propagation, error_propagation_with_gap, Dfe, DfeAdaptation, DfeResult, ErrorPropagation};
pub use linear_model::LinearIsiModel;
pub use mlse::Mlse;
pub use reference_rx::{bessel_thomson_filter, BesselThomsonFilter};
pub use target::{train_ffe_and_target, train_ffe_for_target, TargetTraining};
