//! The analysis pipeline of the main job: capture in, report out.
//!
//! ```text
//! Waveform ─► timing (sampling phase at the known baud, resample to the FFE's samples/UI)
//!          ─► slicer ─► pattern alignment (robust to high SER)
//!          ─► FFE trained by MMSE against the aligned pattern ─► slicer
//!          ─► pattern check (BER, SER, error positions) ─► FEC codeword statistics
//!          ─► Report
//! ```
//!
//! The CLI, the Python package and the batch runner all call [`analyze`]; none re-implements a
//! stage.

pub mod chain;
mod config;
mod pipeline;
pub mod preset;
mod report;
mod stream;

pub use chain::{EqStage, EqualizerChain, FfeMethod};
pub use config::{AnalysisConfig, ClockRecovery};
pub use pipeline::{analyze, analyze_using, analyze_with, AnalysisHooks, StageMark};
pub use preset::{LimitCheck, LimitReport, Limits, Measured, OpticalPmd, Preset, Verdict};
pub use report::{Report, StageErrors};
pub use stream::{analyze_stream, analyze_stream_with, ChunkSource, IterSource, SliceSource, StreamOptions};
