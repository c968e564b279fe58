//! `lightlane.timing`: baud estimation, clock recovery (802.3 reference CDR, Mueller-Müller,
//! Gardner, bang-bang), sampling phase, resampling.

use crate::convert::{F32In, F64In, modulation, options_over, slice_of, to_json};
use crate::errors::{compute, with_gil};
use lightlane_core::timing::{self as tm, CdrConfig, PhaseConfig};
use numpy::PyArray1;
use pyo3::prelude::*;


/// Spectral baud estimate, as JSON.
#[pyfunction]
#[pyo3(signature = (x, fs, nominal, modulation_name))]
pub fn estimate_baud(py: Python<'_>, x: F32In<'_>, fs: f64, nominal: Option<f64>, modulation_name: &str) -> PyResult<String> {
    let x = slice_of(&x);
    compute(py, || to_json(&tm::estimate_baud(&x, fs, nominal, modulation(modulation_name)?)?))
}

/// Clock recovery: (JSON of the scalar fields, symbol_positions, edge_positions, tie_s).
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn recover_clock<'py>(
    py: Python<'py>,
    x: F32In<'py>,
    fs: f64,
    baud: f64,
    modulation_name: &str,
    config_json: &str,
) -> PyResult<(String, Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f32>>)> {
    let x = slice_of(&x);
    let (json, sym, edges, tie) = compute(py, || {
        let cfg: CdrConfig = options_over("CDR config", CdrConfig::default(), Some(config_json))?;
        let r = tm::recover_clock(&x, fs, baud, modulation(modulation_name)?, &cfg)?;
        let json = serde_json::json!({
            "baud": r.baud,
            "ppm_offset": r.ppm_offset,
            "settled_from": r.settled_from,
            "tie_rms_s": r.tie_rms_s,
        })
        .to_string();
        Ok((json, r.symbol_positions, r.edge_positions, r.tie_s))
    })?;
    Ok((json, PyArray1::from_vec(py, sym), PyArray1::from_vec(py, edges), PyArray1::from_vec(py, tie)))
}

/// The default CDR configuration (802.3 reference PLL, 4 MHz), as JSON.
#[pyfunction]
pub fn default_cdr_config(py: Python<'_>) -> PyResult<String> {
    with_gil(py, || to_json(&CdrConfig::default()))
}

/// `sps_out` samples per UI at fractional sample positions (Keys cubic).
#[pyfunction]
pub fn resample_at<'py>(py: Python<'py>, x: F32In<'py>, positions: F64In<'py>, sps_out: usize) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let (x, p) = (slice_of(&x), slice_of(&positions));
    let v = compute(py, || {
        if !(1..=64).contains(&sps_out) {
            return Err(crate::errors::invalid("sps_out", sps_out, "must be 1..=64"));
        }
        if let Some(index) = p.iter().position(|v| !v.is_finite()) {
            return Err(lightlane_core::Error::NonFinite { what: "positions", index, value: p[index] }.into());
        }
        Ok(tm::resample_at(&x, &p, sps_out))
    })?;
    Ok(PyArray1::from_vec(py, v))
}

/// Band-limited (FFT) resampling by `ratio` = output rate / input rate.
#[pyfunction]
pub fn resample_fft<'py>(py: Python<'py>, x: F32In<'py>, ratio: f64) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let x = slice_of(&x);
    let v = compute(py, || Ok(tm::resample_fft(&x, ratio)?))?;
    Ok(PyArray1::from_vec(py, v))
}

/// Sampling-phase search at a known samples-per-UI, as JSON.
#[pyfunction]
pub fn recover_phase(py: Python<'_>, x: F32In<'_>, samples_per_ui: f64, modulation_name: &str, config_json: &str) -> PyResult<String> {
    let x = slice_of(&x);
    compute(py, || {
        let cfg: PhaseConfig = options_over("phase config", PhaseConfig::default(), Some(config_json))?;
        to_json(&tm::recover_phase(&x, samples_per_ui, modulation(modulation_name)?, &cfg)?)
    })
}

/// Registers this file's items.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(estimate_baud, m)?)?;
    m.add_function(wrap_pyfunction!(recover_clock, m)?)?;
    m.add_function(wrap_pyfunction!(default_cdr_config, m)?)?;
    m.add_function(wrap_pyfunction!(resample_at, m)?)?;
    m.add_function(wrap_pyfunction!(resample_fft, m)?)?;
    m.add_function(wrap_pyfunction!(recover_phase, m)?)?;
    Ok(())
}
