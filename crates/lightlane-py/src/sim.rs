//! `lightlane.sim`: simulated captures with known ground truth (`LinkModel`), and the optical
//! IM/DD link (`OpticalLink` and its parts) with dispersion emulation on captures.

use crate::convert::{F32In, U8In, from_json, options_over, slice_of, to_json};
use crate::errors::{compute, invalid, with_gil};
use crate::io::{waveform_parts, WaveformParts};
use lightlane_core::analysis::Preset;
use lightlane_core::optical::{EmulationOptions, FiberEmulator};
use lightlane_core::sim::optical::{Fiber, OpticalLink, OpticalReceiver, OpticalTransmitter};
use lightlane_core::sim::LinkModel;
use lightlane_core::waveform::WaveformMeta;
use lightlane_core::{Modulation, Waveform};
use numpy::PyArray1;
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
    symbols: U8In<'py>,
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

/// Default JSON of an optical part: `"tx"` ([`OpticalTransmitter::default`]), `"rx"`
/// ([`OpticalReceiver::default`]), or `"link"` ([`OpticalLink::new`] with `modulation_name`,
/// `baud`, `fs`).
#[pyfunction]
#[pyo3(signature = (kind, modulation_name, baud, fs))]
pub fn optical_default(py: Python<'_>, kind: &str, modulation_name: &str, baud: f64, fs: f64) -> PyResult<String> {
    with_gil(py, || match kind {
        "tx" => to_json(&OpticalTransmitter::default()),
        "rx" => to_json(&OpticalReceiver::default()),
        "link" => to_json(&OpticalLink::new(crate::convert::modulation(modulation_name)?, baud, fs)?),
        _ => Err(invalid("kind", kind, "expected 'tx', 'rx' or 'link'")),
    })
}

/// Checks an optical part given as JSON (`kind`: "tx", "rx", "fiber", "link"); returns it
/// normalised (all fields present). A transmitter alone is checked for PAM4, or for NRZ when its
/// `levels` has two entries.
#[pyfunction]
pub fn optical_validate(py: Python<'_>, kind: &str, json: &str) -> PyResult<String> {
    with_gil(py, || match kind {
        "tx" => {
            let tx: OpticalTransmitter = from_json("optical transmitter", json)?;
            let m = if tx.levels.as_ref().is_some_and(|l| l.len() == 2) { Modulation::Nrz } else { Modulation::Pam4 };
            tx.validate(m)?;
            to_json(&tx)
        }
        "rx" => {
            let rx: OpticalReceiver = from_json("optical receiver", json)?;
            rx.validate()?;
            to_json(&rx)
        }
        "fiber" => {
            let f: Fiber = from_json("fibre", json)?;
            f.validate()?;
            to_json(&f)
        }
        "link" => {
            let l: OpticalLink = from_json("optical link", json)?;
            l.validate()?;
            to_json(&l)
        }
        _ => Err(invalid("kind", kind, "expected 'tx', 'rx', 'fiber' or 'link'")),
    })
}

/// (accumulated dispersion ps/nm, power transmission, β₂ s²/m) of a fibre given as JSON.
#[pyfunction]
pub fn optical_fiber_info(py: Python<'_>, fiber_json: &str) -> PyResult<(f64, f64, f64)> {
    with_gil(py, || {
        let f: Fiber = from_json("fibre", fiber_json)?;
        f.validate()?;
        Ok((f.accumulated_dispersion_ps_per_nm(), f.power_transmission(), f.beta2_s2_per_m()))
    })
}

/// Runs an optical link over `symbols`: (waveform parts, JSON of the ground truth and powers,
/// edge jitter in UI).
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn optical_run<'py>(
    py: Python<'py>,
    link_json: &str,
    symbols: U8In<'py>,
) -> PyResult<(WaveformParts<'py>, String, Bound<'py, PyArray1<f32>>)> {
    let symbols = slice_of(&symbols);
    let (cap, info) = compute(py, || {
        let link: OpticalLink = from_json("optical link", link_json)?;
        link.validate()?;
        let n = link.output_len(symbols.len())?;
        if n > MAX_PY_OUTPUT_SAMPLES {
            return Err(invalid("symbols", symbols.len(), &format!("the capture would hold {n} samples; at most 2**29 per call")));
        }
        let cap = link.run(&symbols)?;
        let t = &cap.symbol_times;
        let info = serde_json::json!({
            "symbol_times": {
                "baud": t.baud,
                "first_symbol_time": t.first_symbol_time,
                "n_symbols": t.n_symbols,
                "channel_delay": t.channel_delay,
            },
            "tx_levels": cap.tx_levels,
            "received_average_w": cap.received_average_w,
            "fs_internal": cap.fs_internal,
            "scope_noise_rms": cap.scope_noise_rms,
        })
        .to_string();
        Ok((cap, info))
    })?;
    let jitter = PyArray1::from_slice(py, &cap.symbol_times.edge_jitter_ui);
    let parts = waveform_parts(py, cap.waveform)?;
    Ok((parts, info, jitter))
}

/// Emulates a fibre (JSON) on a captured optical power waveform (W) with emulation options
/// (JSON of `EmulationOptions`, fields optional); returns the new waveform's parts.
#[pyfunction]
#[pyo3(signature = (samples, fs, t0, meta_json, fiber_json, options_json))]
pub fn optical_emulate<'py>(
    py: Python<'py>,
    samples: F32In<'py>,
    fs: f64,
    t0: f64,
    meta_json: &str,
    fiber_json: &str,
    options_json: &str,
) -> PyResult<WaveformParts<'py>> {
    let s = slice_of(&samples);
    let out = compute(py, || {
        let fiber: Fiber = from_json("fibre", fiber_json)?;
        let options = options_over("emulation options", EmulationOptions::default(), Some(options_json))?;
        if !t0.is_finite() {
            return Err(invalid("t0", t0, "must be finite"));
        }
        let mut wf = Waveform::new(s.to_vec(), fs)?;
        wf.t0 = t0;
        wf.meta = from_json::<WaveformMeta>("waveform metadata", meta_json)?;
        Ok(FiberEmulator::new(fs, &fiber, &options)?.emulate(&wf)?)
    })?;
    waveform_parts(py, out)
}

/// The optical PMD of a preset: (minimum and maximum test-fibre dispersion ps/nm, shortest and
/// longest wavelength nm, reach m).
#[pyfunction]
pub fn optical_corners(py: Python<'_>, preset: &str) -> PyResult<(f64, f64, f64, f64, f64)> {
    with_gil(py, || {
        let p = Preset::named(preset)?;
        let Some(o) = p.optical else {
            return Err(invalid("preset", preset, "is not an optical PMD (no dispersion corners)"));
        };
        Ok((o.dispersion_min_ps_per_nm, o.dispersion_max_ps_per_nm, o.wavelength_min_nm, o.wavelength_max_nm, o.reach_m))
    })
}

/// Registers this file's items.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(optical_default, m)?)?;
    m.add_function(wrap_pyfunction!(optical_validate, m)?)?;
    m.add_function(wrap_pyfunction!(optical_fiber_info, m)?)?;
    m.add_function(wrap_pyfunction!(optical_run, m)?)?;
    m.add_function(wrap_pyfunction!(optical_emulate, m)?)?;
    m.add_function(wrap_pyfunction!(optical_corners, m)?)?;
    m.add_function(wrap_pyfunction!(sim_model, m)?)?;
    m.add_function(wrap_pyfunction!(sim_validate, m)?)?;
    m.add_function(wrap_pyfunction!(sim_run, m)?)?;
    Ok(())
}
