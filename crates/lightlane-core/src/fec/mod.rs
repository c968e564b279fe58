//! Forward error correction: GF(2^10) arithmetic, the IEEE 802.3 KP4/KR4 Reed–Solomon codes,
//! the 802.3 symbol/bit layout, FEC codeword statistics from measured bit errors, and the
//! 802.3dj inner Hamming code.
//!
//! - [`gf`]: GF(2^10) with p(x) = x^10 + x^3 + 1 (802.3 91.5.2.7).
//! - [`rs`]: RS(544,514) "KP4" and RS(528,514) "KR4" encoder and errors-and-erasures decoder
//!   (single codeword, and batches on all cores with SIMD syndromes).
//! - [`rs_reference`]: the naive textbook encoder/decoder the fast paths are tested against.
//! - [`layout`]: 10-bit symbol packing (LSB first in time), PAM4 symbol ↔ FEC bit mapping
//!   (Gray, precoding), 2-way/4-way codeword interleaving, codeword alignment.
//! - [`stats`]: virtual KP4/KR4 codewords over the error positions of a measurement:
//!   symbol-error histogram, CER, post-FEC BER, frame loss, and the random-error prediction.
//! - [`hamming`]: the 802.3dj Clause 177 inner code (encoder, hard and Chase soft decoders).
//! - [`simd`]: the runtime-dispatched SIMD kernels (the only architecture-specific code);
//!   the batch syndromes are bit-sliced over 256 codewords (`bitslice`, private).
//!
//! Measured on one Sapphire Rapids core (AVX2, KP4, pre-FEC BER 2.4e-4): `decode_batch`
//! ≈ 6 Gb/s of payload, about 1900× galois 0.4.11 (`benches/compare_galois.py`).

mod bitslice;
pub mod gf;
pub mod hamming;
pub mod layout;
pub mod rs;
pub mod rs_reference;
pub mod simd;
pub mod stats;

pub use rs::{DecodeOutcome, DecodeScratch, ReedSolomon, RsCode};
pub use simd::SimdLevel;
pub use stats::{codeword_statistics, CodewordStatistics, FecStatsConfig, RandomErrorModel};


#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the FEC tests.
    use std::path::PathBuf;

    /// The shared reference folder (`../shared` beside the repository root), if present.
    /// `LIGHTLANE_SHARED` overrides; a git worktree one level deeper is also tried.
    pub fn shared_dir() -> Option<PathBuf> {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut candidates = Vec::new();
        if let Some(p) = std::env::var_os("LIGHTLANE_SHARED") {
            candidates.push(PathBuf::from(p));
        }
        candidates.push(manifest.join("../../../shared"));
        candidates.push(manifest.join("../../../../shared"));
        candidates.into_iter().find(|p| p.join("captures").is_dir())
    }
}
