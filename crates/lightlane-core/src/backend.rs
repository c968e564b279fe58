//! Engine selection.

use serde::{Deserialize, Serialize};

/// Which compute engine runs the heavy stages.
///
/// `Auto` picks the fastest engine available for the work at hand: the GPU engine (crate
/// `lightlane-gpu`, used through `lightlane::analyze`) when a GPU adapter exists and the capture
/// is large enough, else the CPU engine (runtime-dispatched SIMD and rayon across cores). `Gpu`
/// demands the GPU engine: no adapter is an error rather than a silent CPU run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Backend {
    /// CPU engine (SIMD + all cores).
    Cpu,
    /// Best available engine.
    #[default]
    Auto,
    /// GPU engine (wgpu); an error when no adapter is usable.
    Gpu,
}

impl std::str::FromStr for Backend {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Backend::Cpu),
            "auto" => Ok(Backend::Auto),
            "gpu" => Ok(Backend::Gpu),
            _ => Err(crate::Error::invalid("backend", s, "expected 'cpu', 'gpu' or 'auto'")),
        }
    }
}
