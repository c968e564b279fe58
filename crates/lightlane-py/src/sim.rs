//! `lightlane.sim`: simulated captures with known ground truth (`LinkModel`).

use crate::convert::{from_json, slice_of, to_json};
use crate::errors::{compute, invalid, with_gil};
use crate::io::{waveform_parts, WaveformParts};
use lightlane_core::sim::LinkModel;
use numpy::{AllowTypeChange, PyArray1, PyArrayLike1};
use pyo3::prelude::*;

/// Most scope samples one simulation from Python may produce (2 GiB of float32).
pub const MAX_PY_OUTPUT_SAMPLES: usize = 1 << 29;

/// A link model preset (`demo_pam4`, `demo_nrz`) or `new` (ideal link), as JSON.
#[pyfunction]
#[pyo3(signature = (kind, modulation_name, baud, fs))]
pub fn sim_model(py: Python<'_>, kind: &str, modulation_name: &str, baud: f64, fs: f64) -> PyResult<String> {
    with_gil(py, || {
        let m = match kind {
            "demo_pam4" => LinkModel::demo_pam4(),
            "demo_nrz" => LinkModel::demo_nrz(),
            "new" => LinkModel::new(crate::convert::modulation(modulation_name)?, baud, fs)?,
            _ => return Err(invalid("kind", kind, "expected 'demo_pam4', 'demo_nrz' or 'new'")),
        };
        to_json(&m)
    })
}

/// Checks a model given as JSON; returns it normalised (all fields present).
#[pyfunction]
pub fn sim_validate(py: Python<'_>, model_json: &str) -> PyResult<String> {
    with_gil(py, || {
        let m: LinkModel = from_json("link model", model_json)?;
        m.validate()?;
        to_json(&m)
    })
}

/// Runs a model over `symbols`: (waveform parts, ground-truth timing JSON, edge jitter in UI,
/// noise rms, signal rms).
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn sim_run<'py>(
    py: Python<'py>,
    model_json: &str,
    symbols: PyArrayLike1<'py, u8, AllowTypeChange>,
) -> PyResult<(WaveformParts<'py>, String, Bound<'py, PyArray1<f32>>, f64, f64)> {
    let symbols = slice_of(&symbols);
    let (cap, timing) = compute(py, || {
        let m: LinkModel = from_json("link model", model_json)?;
        m.validate()?;
        let n = m.output_len(symbols.len())?;
        if n > MAX_PY_OUTPUT_SAMPLES {
            return Err(invalid("symbols", symbols.len(), &format!("the capture would hold {n} samples; at most 2**29 per call")));
        }
        let cap = m.run(&symbols)?;
        let t = &cap.symbol_times;
        let timing = serde_json::json!({
            "baud": t.baud,
            "first_symbol_time": t.first_symbol_time,
            "n_symbols": t.n_symbols,
            "channel_delay": t.channel_delay,
        })
        .to_string();
        Ok((cap, timing))
    })?;
    let jitter = PyArray1::from_slice(py, &cap.symbol_times.edge_jitter_ui);
    let (noise, signal) = (cap.noise_rms, cap.signal_rms);
    let parts = waveform_parts(py, cap.waveform)?;
    Ok((parts, timing, jitter, noise, signal))
}

/// Registers this file's items.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sim_model, m)?)?;
    m.add_function(wrap_pyfunction!(sim_validate, m)?)?;
    m.add_function(wrap_pyfunction!(sim_run, m)?)?;
    Ok(())
}
