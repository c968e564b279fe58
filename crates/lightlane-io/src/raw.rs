//! Raw binary samples described by a JSON sidecar.
//!
//! For `capture.bin` the sidecar is `capture.json` (or `capture.bin.json`):
//!
//! ```json
//! { "fs": 256e9, "dtype": "i16", "byte_order": "little", "scale": 3.05e-5, "offset": 0.0,
//!   "t0": 0.0, "header_bytes": 0, "channel": "C1", "unit": "V" }
//! ```
//!
//! `volts = code * scale + offset`. `dtype` is one of `f32`, `f64`, `i8`, `i16`; only `fs` and
//! `dtype` are required.

use crate::layout::{Described, Elem, Layout};
use crate::source::Input;
use crate::{IoError, Result};
use lightlane_core::waveform::{RawCodes, WaveformMeta};
use lightlane_core::Waveform;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The sidecar's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    /// Sample rate in Hz.
    pub fs: f64,
    /// Sample type: `f32`, `f64`, `i8` or `i16`.
    pub dtype: String,
    /// `little` (default) or `big`.
    #[serde(default = "little")]
    pub byte_order: String,
    /// Volts per code (integers) or per unit (floats).
    #[serde(default = "one")]
    pub scale: f64,
    /// Volts added after scaling.
    #[serde(default)]
    pub offset: f64,
    /// Time of the first sample, seconds.
    #[serde(default)]
    pub t0: f64,
    /// Bytes to skip at the start of the data file.
    #[serde(default)]
    pub header_bytes: u64,
    /// Channel label.
    #[serde(default)]
    pub channel: Option<String>,
    /// Vertical unit.
    #[serde(default = "volts")]
    pub unit: String,
    /// Symbol rate of the signal, when the writer knew it (a hint for analysis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baud: Option<f64>,
    /// Modulation of the signal (`nrz`/`pam4`), a hint for analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modulation: Option<String>,
    /// Test pattern of the signal, a hint for analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

fn little() -> String {
    "little".into()
}
fn one() -> f64 {
    1.0
}
fn volts() -> String {
    "V".into()
}

/// The sidecar of `data`, if one exists beside it.
pub fn sidecar_path(data: &Path) -> Option<PathBuf> {
    let a = data.with_extension("json");
    if a != data && a.is_file() {
        return Some(a);
    }
    let mut b = data.as_os_str().to_owned();
    b.push(".json");
    let b = PathBuf::from(b);
    b.is_file().then_some(b)
}

fn element_of(path: &Path, dtype: &str) -> Result<Elem> {
    Ok(match dtype {
        "f32" | "float32" => Elem::F32,
        "f64" | "float64" => Elem::F64,
        "i8" | "int8" => Elem::I8,
        "i16" | "int16" => Elem::I16,
        other => return Err(IoError::bad(path, "dtype", other, "expected f32, f64, i8 or i16")),
    })
}

/// Finds, reads and checks the sidecar of `data`.
pub fn read_sidecar(data: &Path) -> Result<(PathBuf, Sidecar)> {
    let side_path = sidecar_path(data).ok_or_else(|| IoError::MissingField {
        path: data.display().to_string(),
        field: "sidecar",
        hint: "raw data needs FILE.json beside it with at least fs and dtype".into(),
    })?;
    let len = std::fs::metadata(&side_path).map_err(|e| IoError::open(&side_path, e))?.len();
    if len > 1 << 20 {
        return Err(IoError::bad(&side_path, "sidecar size", len, "a sidecar larger than 1 MiB is not a sidecar"));
    }
    let text = std::fs::read_to_string(&side_path).map_err(|e| IoError::open(&side_path, e))?;
    let side = parse_sidecar(&side_path, &text)?;
    Ok((side_path, side))
}

/// Parses and checks sidecar text (`side_path` names it in errors).
pub fn parse_sidecar(side_path: &Path, text: &str) -> Result<Sidecar> {
    let side: Sidecar = serde_json::from_str(text).map_err(|e| IoError::bad(side_path, "json", e, "sidecar is not valid"))?;
    if !(side.fs.is_finite() && side.fs > 0.0) {
        return Err(IoError::bad(side_path, "fs", side.fs, "sample rate must be positive"));
    }
    if !(side.scale.is_finite() && side.scale != 0.0 && side.offset.is_finite() && side.t0.is_finite()) {
        return Err(IoError::bad(side_path, "scale", side.scale, "scale/offset/t0 must be finite, scale non-zero"));
    }
    if !matches!(side.byte_order.as_str(), "little" | "big") {
        return Err(IoError::bad(side_path, "byte_order", &side.byte_order, "expected little or big"));
    }
    if let Some(b) = side.baud {
        if !(b.is_finite() && b > 0.0) {
            return Err(IoError::bad(side_path, "baud", b, "must be positive"));
        }
    }
    element_of(side_path, &side.dtype)?;
    Ok(side)
}

/// Describes the samples of `data` (the raw file's bytes) as the sidecar `side` says.
pub fn describe(data: &Input<'_>, side_path: &Path, side: &Sidecar) -> Result<Described> {
    let elem = element_of(side_path, &side.dtype)?;
    let size = elem.size() as u64;
    let file_len = data.len();
    if side.header_bytes > file_len {
        return Err(IoError::truncated(data.name(), "header_bytes", side.header_bytes, file_len));
    }
    let body = file_len - side.header_bytes;
    if !body.is_multiple_of(size) {
        return Err(IoError::bad_at(data.name(), "length", body, format!("not a multiple of the {}-byte sample size", size)));
    }
    let mut meta = WaveformMeta {
        source: None,
        channel: side.channel.clone(),
        vertical_unit: side.unit.clone(),
        extra: Default::default(),
    };
    meta.extra.insert("format".into(), "raw+json".into());
    if let Some(b) = side.baud {
        meta.extra.insert("baud".into(), format!("{b:e}"));
    }
    if let Some(m) = &side.modulation {
        meta.extra.insert("modulation".into(), m.clone());
    }
    if let Some(p) = &side.pattern {
        meta.extra.insert("pattern".into(), p.clone());
    }
    Ok(Described {
        layout: Layout {
            offset: side.header_bytes,
            count: body / size,
            elem,
            big_endian: side.byte_order == "big",
            gain: side.scale,
            value_offset: side.offset,
        },
        dt: 1.0 / side.fs,
        t0: side.t0,
        meta,
    })
}

/// Reads raw samples using the sidecar beside `data`.
pub fn read(data: &Path) -> Result<Waveform> {
    let (side_path, side) = read_sidecar(data)?;
    let input = Input::open(data)?;
    let d = describe(&input, &side_path, &side)?;
    crate::layout::load(&input, d)
}

/// Writes `wf` as raw samples plus sidecar: i16 codes when the waveform carries them, else f32.
pub fn write(data: &Path, wf: &Waveform) -> Result<()> {
    let (dtype, scale, offset, bytes): (&str, f64, f64, Vec<u8>) = match &wf.raw {
        Some(RawCodes::I16 { codes, gain, offset }) if codes.len() == wf.len() => {
            ("i16", *gain, *offset, codes.iter().flat_map(|c| c.to_le_bytes()).collect())
        }
        Some(RawCodes::I8 { codes, gain, offset }) if codes.len() == wf.len() => {
            ("i8", *gain, *offset, codes.iter().map(|&c| c as u8).collect())
        }
        _ => ("f32", 1.0, 0.0, wf.samples.iter().flat_map(|v| v.to_le_bytes()).collect()),
    };
    std::fs::write(data, bytes).map_err(|e| IoError::open(data, e))?;
    let side = Sidecar {
        fs: wf.fs(),
        dtype: dtype.into(),
        byte_order: "little".into(),
        scale,
        offset,
        t0: wf.t0,
        header_bytes: 0,
        channel: wf.meta.channel.clone(),
        unit: wf.meta.vertical_unit.clone(),
        baud: wf.meta.extra.get("baud").and_then(|b| b.parse().ok()),
        modulation: wf.meta.extra.get("modulation").cloned(),
        pattern: wf.meta.extra.get("pattern").cloned(),
    };
    let side_path = data.with_extension("json");
    let text = serde_json::to_string_pretty(&side).expect("sidecar serializes");
    std::fs::write(&side_path, text).map_err(|e| IoError::open(&side_path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("lightlane-io-raw-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trip_f32_and_i16() {
        let d = dir();
        let mut wf = Waveform::new(vec![0.25, -0.5, 1.0], 80e9).unwrap();
        wf.t0 = 1e-9;
        write(&d.join("a.bin"), &wf).unwrap();
        let back = read(&d.join("a.bin")).unwrap();
        assert_eq!(back.samples, wf.samples);
        assert!((back.fs() - 80e9).abs() < 1.0);
        assert_eq!(back.t0, 1e-9);

        wf.raw = Some(RawCodes::I16 { codes: vec![100, -200, 400], gain: 2.5e-3, offset: 0.0 });
        write(&d.join("b.bin"), &wf).unwrap();
        let back = read(&d.join("b.bin")).unwrap();
        assert_eq!(back.samples, vec![0.25, -0.5, 1.0]);
        assert!(matches!(back.raw, Some(RawCodes::I16 { .. })));
        assert_eq!(std::fs::metadata(d.join("b.bin")).unwrap().len(), 6);
    }

    #[test]
    fn bad_sidecars() {
        let d = dir();
        std::fs::write(d.join("c.bin"), [0u8; 6]).unwrap();
        std::fs::write(d.join("c.json"), r#"{"fs": -1, "dtype": "f32"}"#).unwrap();
        assert!(matches!(read(&d.join("c.bin")), Err(IoError::BadField { field: "fs", .. })));
        std::fs::write(d.join("c.json"), r#"{"fs": 1e9, "dtype": "f32"}"#).unwrap();
        assert!(matches!(read(&d.join("c.bin")), Err(IoError::BadField { field: "length", .. })));
        std::fs::write(d.join("c.json"), r#"{"fs": 1e9, "dtype": "u64"}"#).unwrap();
        assert!(matches!(read(&d.join("c.bin")), Err(IoError::BadField { field: "dtype", .. })));
        std::fs::write(d.join("c.json"), r#"{"fs": 1e9}"#).unwrap();
        assert!(matches!(read(&d.join("c.bin")), Err(IoError::BadField { field: "json", .. })));
        std::fs::write(d.join("c.json"), r#"{"fs": 1e9, "dtype": "i16", "header_bytes": 99}"#).unwrap();
        assert!(matches!(read(&d.join("c.bin")), Err(IoError::Truncated { .. })));
        assert!(read(&d.join("missing.bin")).is_err());
    }
}
