//! Hook through which an accelerator engine (the GPU engine of `lightlane-gpu`) runs stages of
//! the analysis pipeline. Core knows no GPU API: an engine implements [`Accelerator`] and is
//! passed to [`crate::analysis::analyze_with`].

use crate::eq::Ffe;
use crate::Result;

/// Stages an accelerator can take over. Each method must return what the CPU engine returns
/// (bit-exact where the CPU result is integer, within f32 rounding otherwise).
pub trait Accelerator: Sync {
    /// Engine name for reports ("gpu: NVIDIA H200", ...).
    fn name(&self) -> String;

    /// `true` for falling back to the CPU engine (with a warning in the report) when a stage
    /// fails; `false` makes the failure an error (an explicit `Backend::Gpu`).
    fn fallback_allowed(&self) -> bool;

    /// [`Ffe::equalize`] of `x`.
    fn ffe_equalize(&self, ffe: &Ffe, x: &[f32]) -> Result<Vec<f32>>;
}

/// Runs the FFE on `accel` when given, else on the CPU; an accelerator failure falls back to
/// the CPU with the reason pushed to `warnings` (or is returned when fallback is not allowed).
pub fn ffe_equalize(accel: Option<&dyn Accelerator>, ffe: &Ffe, x: &[f32], warnings: &mut Vec<String>) -> Result<Vec<f32>> {
    if let Some(a) = accel {
        match a.ffe_equalize(ffe, x) {
            Ok(y) if y.len() == ffe.output_len(x.len()) => return Ok(y),
            Ok(y) => {
                let reason = format!("{} returned {} FFE outputs, expected {}", a.name(), y.len(), ffe.output_len(x.len()));
                if !a.fallback_allowed() {
                    return Err(crate::Error::Unusable { stage: "gpu", reason });
                }
                warnings.push(format!("{reason}; the CPU engine ran the FFE"));
            }
            Err(e) => {
                if !a.fallback_allowed() {
                    return Err(e);
                }
                warnings.push(format!("{} failed ({e}); the CPU engine ran the FFE", a.name()));
            }
        }
    }
    Ok(ffe.equalize(x))
}
