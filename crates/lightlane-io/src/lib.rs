//! # lightlane-io
//!
//! Capture file readers and writers producing [`lightlane_core::Waveform`].
//!
//! Formats are detected from content first (magic bytes), then from the extension:
//! - NumPy `.npy` (1-D or single-row 2-D; f32, f64, i8, i16, u8, either byte order), see [`npy`];
//! - raw binary samples with a JSON sidecar (`capture.bin` + `capture.json`), see [`raw`].
//!
//! ```no_run
//! let opts = lightlane_io::ReadOptions { fs: Some(256e9), ..Default::default() };
//! let wf = lightlane_io::read_capture("capture.npy".as_ref(), &opts).unwrap();
//! println!("{} samples at {} Sa/s", wf.len(), wf.fs());
//! ```

pub mod error;
pub mod npy;
pub mod raw;

pub use error::{IoError, Result};

use lightlane_core::Waveform;
use std::path::Path;

/// Options that apply to every reader.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Sample rate in Hz for formats that carry no timing (`.npy`); overrides nothing in formats
    /// that do, unless `force_fs` is set.
    pub fs: Option<f64>,
    /// Use `fs` even when the file has its own timing.
    pub force_fs: bool,
}

/// Capture formats lightlane reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// NumPy `.npy`.
    Npy,
    /// Raw samples + JSON sidecar.
    RawWithSidecar,
}

/// Detects the format of `path` from its first bytes, falling back to the extension and to the
/// presence of a JSON sidecar.
pub fn detect_format(path: &Path) -> Result<Format> {
    let mut head = [0u8; 8];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| IoError::open(path, e))?;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) => return Err(IoError::open(path, e)),
            }
        }
        n
    };
    if n >= 6 && &head[..6] == npy::MAGIC {
        return Ok(Format::Npy);
    }
    if raw::sidecar_path(path).is_some() {
        return Ok(Format::RawWithSidecar);
    }
    Err(IoError::UnknownFormat {
        path: path.display().to_string(),
        reason: "not a .npy file and no JSON sidecar (FILE.json) beside it".into(),
    })
}

/// Reads a capture file of any supported format into a [`Waveform`].
pub fn read_capture(path: &Path, options: &ReadOptions) -> Result<Waveform> {
    let mut wf = match detect_format(path)? {
        Format::Npy => {
            let fs = options.fs.ok_or_else(|| IoError::MissingField {
                path: path.display().to_string(),
                field: "fs",
                hint: ".npy files carry no sample rate: pass --fs (or fs=) ".into(),
            })?;
            npy::read_waveform(path, fs)?
        }
        Format::RawWithSidecar => {
            let mut w = raw::read(path)?;
            if options.force_fs {
                if let Some(fs) = options.fs {
                    w.dt = 1.0 / fs;
                }
            }
            w
        }
    };
    if wf.meta.source.is_none() {
        wf.meta.source = Some(path.display().to_string());
    }
    wf.validate().map_err(|e| IoError::Invalid {
        path: path.display().to_string(),
        source: e,
    })?;
    Ok(wf)
}
