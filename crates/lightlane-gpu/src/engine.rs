//! Engine selection: `Backend::{Cpu, Gpu, Auto}` resolved against the available adapter, and
//! the GPU engine plugged into the analysis pipeline through `lightlane_core::accel`.

use crate::context::GpuContext;
use lightlane_core::accel::Accelerator;
use lightlane_core::analysis::{analyze_with, AnalysisConfig, Report};
use lightlane_core::eq::Ffe;
use lightlane_core::{Backend, Result, Waveform};

/// Captures shorter than this (samples) run on the CPU under `Backend::Auto`: below it the
/// transfers and launches cost more than the GPU saves.
pub const AUTO_MIN_SAMPLES: usize = 1 << 20;

/// The engine a backend choice resolved to.
#[derive(Debug)]
pub enum Resolved {
    /// The CPU engine; `reason` says why when the GPU was wanted but is not used.
    Cpu {
        /// Why the GPU engine is not used (for the report's warnings), if it was a candidate.
        reason: Option<String>,
    },
    /// The GPU engine on this context.
    Gpu(&'static GpuContext),
}

/// Resolves `backend` for a capture of `samples` samples.
///
/// `Cpu` → CPU. `Gpu` → the shared [`GpuContext`], or its error (no adapter, limits too small)
/// as `Err`. `Auto` → GPU when an adapter that is a real GPU (not a CPU driver such as
/// lavapipe) exists and `samples ≥ AUTO_MIN_SAMPLES`, else CPU with the reason.
pub fn resolve(backend: Backend, samples: usize) -> Result<Resolved> {
    match backend {
        Backend::Gpu => Ok(Resolved::Gpu(GpuContext::shared()?)),
        Backend::Auto => {
            if samples < AUTO_MIN_SAMPLES {
                return Ok(Resolved::Cpu { reason: None });
            }
            match GpuContext::shared() {
                Ok(ctx) if ctx.adapter().device_type == "Cpu" => Ok(Resolved::Cpu {
                    reason: Some(format!(
                        "backend auto: the only GPU adapter is the CPU driver '{}'; used the CPU engine",
                        ctx.adapter().name
                    )),
                }),
                Ok(ctx) => Ok(Resolved::Gpu(ctx)),
                Err(e) => Ok(Resolved::Cpu {
                    reason: Some(format!("backend auto: GPU engine unavailable ({e}); used the CPU engine")),
                }),
            }
        }
        _ => Ok(Resolved::Cpu { reason: None }),
    }
}

/// The GPU engine as a pipeline [`Accelerator`].
#[derive(Debug, Clone, Copy)]
pub struct GpuAccelerator<'a> {
    /// The context the stages run on.
    pub ctx: &'a GpuContext,
    /// Whether a failing stage may fall back to the CPU (true under `Backend::Auto`).
    pub fallback: bool,
}

impl Accelerator for GpuAccelerator<'_> {
    fn name(&self) -> String {
        format!("GPU engine ({})", self.ctx.adapter().name)
    }

    fn fallback_allowed(&self) -> bool {
        self.fallback
    }

    fn ffe_equalize(&self, ffe: &Ffe, x: &[f32]) -> Result<Vec<f32>> {
        self.ctx.ffe_equalize(ffe, x)
    }
}

/// `lightlane_core::analysis::analyze` with the engine `backend` resolves to ([`resolve`]).
/// Under `Auto`, GPU errors fall back to the CPU engine with the reason in `Report::warnings`;
/// under `Gpu` they are returned.
pub fn analyze(waveform: &Waveform, config: &AnalysisConfig, backend: Backend) -> Result<Report> {
    match resolve(backend, waveform.len())? {
        Resolved::Cpu { reason } => {
            let mut r = analyze_with(waveform, config, Backend::Cpu, None)?;
            if let Some(reason) = reason {
                r.warnings.push(reason);
            }
            Ok(r)
        }
        Resolved::Gpu(ctx) => {
            let accel = GpuAccelerator {
                ctx,
                fallback: backend != Backend::Gpu,
            };
            analyze_with(waveform, config, backend, Some(&accel))
        }
    }
}
