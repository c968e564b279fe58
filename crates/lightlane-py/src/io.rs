//! `lightlane.io`: capture readers (Keysight, Tektronix, LeCroy, CSV, npy/npz, mat, raw,
//! densev1) and writers. Waveforms cross the boundary as (samples, dt, t0, meta JSON, raw codes);
//! the samples move into numpy without a copy.

use crate::convert::{F32In, F64In, from_json, slice_of};
use crate::errors::{compute, invalid, with_gil, Fallible};
use lightlane_core::waveform::{RawCodes, WaveformMeta};
use lightlane_core::Waveform;
use lightlane_io::ReadOptions;
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use std::path::PathBuf;

/// (samples, dt, t0, meta JSON, raw (codes, gain, offset) or None).
pub type WaveformParts<'py> = (Bound<'py, PyArray1<f32>>, f64, f64, String, Option<(Bound<'py, PyAny>, f64, f64)>);

/// Moves a waveform into its Python parts.
pub fn waveform_parts(py: Python<'_>, wf: Waveform) -> PyResult<WaveformParts<'_>> {
    let meta = with_gil(py, || crate::convert::to_json(&wf.meta))?;
    let raw = match wf.raw {
        Some(RawCodes::I8 { codes, gain, offset }) => Some((PyArray1::from_vec(py, codes).into_any(), gain, offset)),
        Some(RawCodes::I16 { codes, gain, offset }) => Some((PyArray1::from_vec(py, codes).into_any(), gain, offset)),
        None => None,
    };
    Ok((PyArray1::from_vec(py, wf.samples), wf.dt, wf.t0, meta, raw))
}

fn waveform_from(samples: &[f32], fs: f64, t0: f64, meta_json: &str) -> Fallible<Waveform> {
    let mut wf = Waveform::new(samples.to_vec(), fs)?;
    if !t0.is_finite() {
        return Err(invalid("t0", t0, "must be finite"));
    }
    wf.t0 = t0;
    wf.meta = from_json::<WaveformMeta>("waveform metadata", meta_json)?;
    Ok(wf)
}

#[allow(clippy::too_many_arguments)]
fn options(fs: Option<f64>, force_fs: bool, channel: Option<usize>, channel_name: Option<String>, segment: Option<usize>, metadata: Option<PathBuf>) -> ReadOptions {
    ReadOptions { fs, force_fs, channel, channel_name, segment, metadata }
}

/// Reads one waveform of a capture file.
#[pyfunction]
#[pyo3(signature = (path, fs=None, force_fs=false, channel=None, channel_name=None, segment=None, metadata=None))]
#[allow(clippy::too_many_arguments)]
pub fn read_capture(
    py: Python<'_>,
    path: PathBuf,
    fs: Option<f64>,
    force_fs: bool,
    channel: Option<usize>,
    channel_name: Option<String>,
    segment: Option<usize>,
    metadata: Option<PathBuf>,
) -> PyResult<WaveformParts<'_>> {
    let opts = options(fs, force_fs, channel, channel_name, segment, metadata);
    let wf = compute(py, || Ok(lightlane_io::read_capture(&path, &opts)?))?;
    waveform_parts(py, wf)
}

/// Reads every channel and segment of a capture file: (format name, waveforms).
#[pyfunction]
#[pyo3(signature = (path, fs=None, force_fs=false, metadata=None))]
pub fn read_all(py: Python<'_>, path: PathBuf, fs: Option<f64>, force_fs: bool, metadata: Option<PathBuf>) -> PyResult<(String, Vec<WaveformParts<'_>>)> {
    let opts = options(fs, force_fs, None, None, None, metadata);
    let cap = compute(py, || Ok(lightlane_io::read_all(&path, &opts)?))?;
    let parts = cap.waveforms.into_iter().map(|w| waveform_parts(py, w)).collect::<PyResult<Vec<_>>>()?;
    Ok((cap.format.name().to_string(), parts))
}

/// The format of a capture file (detected from its content, side files and extension).
#[pyfunction]
pub fn detect_format(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    compute(py, || Ok(lightlane_io::detect_format(&path)?.name().to_string()))
}

/// Writes a 1-D array as `.npy` (float32, float64, int8, uint8, int16, uint16, int32).
#[pyfunction]
pub fn write_npy(py: Python<'_>, path: PathBuf, data: &Bound<'_, PyAny>) -> PyResult<()> {
    macro_rules! try_type {
        ($t:ty) => {
            if let Ok(a) = data.extract::<PyReadonlyArray1<'_, $t>>() {
                let s = slice_of(&a);
                return compute(py, || Ok(lightlane_io::npy::write(&path, &s)?));
            }
        };
    }
    try_type!(f32);
    try_type!(f64);
    try_type!(i8);
    try_type!(u8);
    try_type!(i16);
    try_type!(u16);
    try_type!(i32);
    with_gil(py, || Err(invalid("data", "array", "expected a 1-D numpy array of float32, float64, int8, uint8, int16, uint16 or int32")))
}

/// Writes raw samples plus a JSON sidecar (i16 codes when `raw` is given, else f32).
#[pyfunction]
#[pyo3(signature = (path, samples, fs, t0, meta_json, raw=None))]
pub fn write_raw(
    py: Python<'_>,
    path: PathBuf,
    samples: F32In<'_>,
    fs: f64,
    t0: f64,
    meta_json: &str,
    raw: Option<(PyReadonlyArray1<'_, i16>, f64, f64)>,
) -> PyResult<()> {
    let s = slice_of(&samples);
    let raw = raw.map(|(codes, gain, offset)| (slice_of(&codes).into_owned(), gain, offset));
    compute(py, || {
        let mut wf = waveform_from(&s, fs, t0, meta_json)?;
        if let Some((codes, gain, offset)) = raw {
            wf.raw = Some(RawCodes::I16 { codes, gain, offset });
        }
        Ok(lightlane_io::raw::write(&path, &wf)?)
    })
}

/// Writes waveforms (samples, fs, t0, meta JSON) as a LeCroy `.trc` or Keysight `.bin` file.
#[pyfunction]
pub fn write_scope(py: Python<'_>, format: &str, path: PathBuf, waveforms: Vec<(F32In<'_>, f64, f64, String)>) -> PyResult<()> {
    let items: Vec<(Vec<f32>, f64, f64, String)> = waveforms.iter().map(|(s, fs, t0, m)| (slice_of(s).into_owned(), *fs, *t0, m.clone())).collect();
    compute(py, || {
        let wfs = items.iter().map(|(s, fs, t0, m)| waveform_from(s, *fs, *t0, m)).collect::<Fallible<Vec<_>>>()?;
        match format {
            "lecroy" => Ok(lightlane_io::lecroy::write(&path, &wfs)?),
            "keysight" => Ok(lightlane_io::keysight::write(&path, &wfs)?),
            _ => Err(invalid("format", format, "expected 'lecroy' or 'keysight'")),
        }
    })
}

/// Writes named float32 arrays as `.npz`.
#[pyfunction]
pub fn write_npz(py: Python<'_>, path: PathBuf, arrays: Vec<(String, F32In<'_>)>) -> PyResult<()> {
    let owned: Vec<(String, Vec<f32>)> = arrays.iter().map(|(n, a)| (n.clone(), slice_of(a).into_owned())).collect();
    compute(py, || {
        let refs: Vec<(&str, &[f32])> = owned.iter().map(|(n, a)| (n.as_str(), a.as_slice())).collect();
        Ok(lightlane_io::npz::write(&path, &refs)?)
    })
}

/// Writes named float64 arrays as a MATLAB level-5 `.mat` file.
#[pyfunction]
pub fn write_mat(py: Python<'_>, path: PathBuf, arrays: Vec<(String, F64In<'_>)>, compress: bool) -> PyResult<()> {
    let owned: Vec<(String, Vec<f64>)> = arrays.iter().map(|(n, a)| (n.clone(), slice_of(a).into_owned())).collect();
    compute(py, || {
        let refs: Vec<(&str, &[f64])> = owned.iter().map(|(n, a)| (n.as_str(), a.as_slice())).collect();
        Ok(lightlane_io::mat::write(&path, &refs, compress)?)
    })
}

/// Registers this file's items.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_capture, m)?)?;
    m.add_function(wrap_pyfunction!(read_all, m)?)?;
    m.add_function(wrap_pyfunction!(detect_format, m)?)?;
    m.add_function(wrap_pyfunction!(write_npy, m)?)?;
    m.add_function(wrap_pyfunction!(write_raw, m)?)?;
    m.add_function(wrap_pyfunction!(write_scope, m)?)?;
    m.add_function(wrap_pyfunction!(write_npz, m)?)?;
    m.add_function(wrap_pyfunction!(write_mat, m)?)?;
    Ok(())
}
