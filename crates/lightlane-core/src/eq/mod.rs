//! Equalizers: FFE (MMSE and adaptive), DFE, MLSE.
//!
//! - [`ffe`]: feed-forward equalizer, T-spaced or fractionally spaced, on the SIMD
//!   [`Fir`](crate::filter::Fir), with MMSE least-squares training against the known pattern.
//! - [`lsq`]: the small dense least-squares solver (Cholesky) the trainers share.

pub mod ffe;
pub mod lsq;

pub use ffe::{Ffe, FfeConfig, FfeTraining};
