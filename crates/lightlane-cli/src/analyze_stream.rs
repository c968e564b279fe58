//! The streaming branch of `lightlane analyze`: captures above [`STREAM_THRESHOLD_BYTES`] (or
//! any with `--stream`) are analysed chunk by chunk with bounded memory
//! ([`lightlane::analyze_stream`] over [`lightlane::io::open_stream_with`]).

use anyhow::{bail, Context};
use lightlane::analysis::{AnalysisConfig, Report, StreamOptions};
use lightlane::io::{detect_format, open_stream_with, ReadOptions};
use lightlane::{Backend, Waveform};
use std::path::Path;

/// Files larger than this are streamed automatically (1 GiB).
pub const STREAM_THRESHOLD_BYTES: u64 = 1 << 30;

/// Samples per read from the file.
const READ_CHUNK: usize = 1 << 20;

/// True when `path` should go through the streaming analysis: `--stream` given, or a
/// fixed-layout capture larger than [`STREAM_THRESHOLD_BYTES`].
pub fn should_stream(force: bool, path: &Path) -> anyhow::Result<bool> {
    if force {
        return Ok(true);
    }
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size <= STREAM_THRESHOLD_BYTES {
        return Ok(false);
    }
    Ok(detect_format(path).map(|f| f.is_fixed_layout()).unwrap_or(false))
}

/// Analyses one capture streamed from disk; `config_for` builds the configuration from the
/// file's metadata (a sample-free header `Waveform`, as the capture hints are read for a
/// whole-file analysis). Returns the configuration used and the report.
pub fn analyze_streamed(
    path: &Path,
    read: &ReadOptions,
    backend: Backend,
    config_for: impl Fn(&Waveform) -> anyhow::Result<AnalysisConfig>,
) -> anyhow::Result<(AnalysisConfig, Report)> {
    let format = detect_format(path)?;
    if !format.is_fixed_layout() {
        bail!("{}: {} files cannot be streamed (only fixed-layout binary formats: .trc, .wfm, .bin, .npy, raw + sidecar, densev1)", path.display(), format.name());
    }
    let mut stream = open_stream_with(path, read, READ_CHUNK)?;
    // The configuration only reads the file's metadata (baud/pattern hints).
    let header = Waveform {
        samples: Vec::new(),
        dt: stream.dt(),
        t0: stream.t0(),
        raw: None,
        meta: stream.meta().clone(),
    };
    let config = config_for(&header)?;
    // On the engine `backend` selects (the GPU engine runs each block's FFE and detectors).
    let report = lightlane::analyze_stream(&mut stream, &config, backend, &StreamOptions::default())?;
    Ok((config, report))
}
