//! Engine selection.

use serde::{Deserialize, Serialize};

/// Which compute engine runs the heavy stages.
///
/// `Auto` picks the fastest engine available for the work at hand. Until the GPU engine
/// (crate `lightlane-gpu`) exists, every choice runs on the CPU engine: runtime-dispatched SIMD
/// (AVX-512, AVX2/FMA, scalar fallback) and rayon across cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Backend {
    /// CPU engine (SIMD + all cores).
    Cpu,
    /// Best available engine.
    #[default]
    Auto,
}

impl std::str::FromStr for Backend {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Backend::Cpu),
            "auto" => Ok(Backend::Auto),
            _ => Err(crate::Error::invalid("backend", s, "expected 'cpu' or 'auto'")),
        }
    }
}
