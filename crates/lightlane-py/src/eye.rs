//! `lightlane.eye`: eye diagrams (histogram image, levels, thresholds, metrics, PNG) and TDECQ
//! (IEEE 802.3 Clause 121.8.5) of a raw capture, wrapping `lightlane_core::eye`.

use crate::convert::{F32In, modulation, options_over, slice_of, to_json};
use crate::errors::{compute, invalid};
use lightlane_core::eye::{
    ber_contours, eye_metrics, eye_signal_from_waveform, render_eye_png, tdecq_waveform, EyeConfig, EyeDiagram, EyeMetricsConfig, TdecqConfig,
};
use lightlane_core::timing::CdrConfig;
use lightlane_core::Waveform;
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

fn waveform(samples: &[f32], fs: f64, unit: Option<String>) -> crate::errors::Fallible<Waveform> {
    let mut wf = Waveform::new(samples.to_vec(), fs)?;
    if let Some(u) = unit {
        wf.meta.vertical_unit = u;
    }
    Ok(wf)
}

/// The eye diagram of a raw capture (802.3 reference CDR, resampling to `samples_per_ui`):
/// (image[amp_bin, time_bin] as uint32, extent (t0, t1, lo, hi), diagram JSON (levels,
/// level_sigma, thresholds, unit, warnings, samples, columns_per_sample, total), metrics JSON,
/// PNG bytes).
#[pyfunction]
#[pyo3(signature = (samples, fs, baud, modulation_name, samples_per_ui, span_ui, time_bins, amp_bins, unit, metrics_json))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn eye_diagram<'py>(
    py: Python<'py>,
    samples: F32In<'py>,
    fs: f64,
    baud: f64,
    modulation_name: &str,
    samples_per_ui: usize,
    span_ui: usize,
    time_bins: usize,
    amp_bins: usize,
    unit: Option<String>,
    metrics_json: Option<String>,
) -> PyResult<(Bound<'py, PyArray2<u32>>, (f64, f64, f64, f64), String, String, Bound<'py, PyBytes>)> {
    let s = slice_of(&samples);
    let (counts, shape, extent, diagram, metrics, png) = compute(py, || {
        let m = modulation(modulation_name)?;
        let mcfg = options_over("eye metrics config", EyeMetricsConfig::default(), metrics_json.as_deref())?;
        if !(baud.is_finite() && baud > 0.0) {
            return Err(invalid("baud", baud, "must be a positive baud rate"));
        }
        let wf = waveform(&s, fs, unit)?;
        let sig = eye_signal_from_waveform(&wf, baud, m, samples_per_ui, &CdrConfig::default())?;
        let cfg = EyeConfig { samples_per_ui, span_ui, time_bins, amp_bins, ..EyeConfig::default() };
        let eye = EyeDiagram::build(&sig, m, &cfg)?;
        let metrics = eye_metrics(&sig, &eye, &mcfg)?;
        let g = *eye.histogram.geometry();
        let png = render_eye_png(&eye, &ber_contours(&eye, mcfg.target_ber))?;
        let diagram = serde_json::json!({
            "modulation": m.to_string(),
            "levels": eye.levels,
            "level_sigma": eye.level_sigma,
            "thresholds": eye.thresholds,
            "unit": eye.unit,
            "warnings": eye.warnings,
            "samples": sig.samples.len(),
            "columns_per_sample": g.columns_per_sample(),
            "total": eye.histogram.total(),
            "baud": sig.baud,
        });
        let extent = (0.0, span_ui as f64, g.lo as f64, g.hi as f64);
        Ok((eye.histogram.counts().to_vec(), (g.amp_bins, g.time_bins), extent, to_json(&diagram)?, to_json(&metrics)?, png))
    })?;
    let arr = Array2::from_shape_vec(shape, counts).map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    Ok((arr.into_pyarray(py), extent, diagram, metrics, PyBytes::new(py, &png)))
}

/// TDECQ of a raw PAM4 capture (802.3 121.8.5): BT4 reference receiver, reference CDR, FFE
/// optimization; `config_json` overrides fields of the 802.3cd defaults (or of the 802.3dj
/// variant when `variant` is "802.3dj"). Returns the result as JSON.
#[pyfunction]
#[pyo3(signature = (samples, fs, baud, variant, config_json, unit))]
pub fn tdecq<'py>(
    py: Python<'py>,
    samples: F32In<'py>,
    fs: f64,
    baud: f64,
    variant: &str,
    config_json: Option<String>,
    unit: Option<String>,
) -> PyResult<String> {
    let s = slice_of(&samples);
    compute(py, || {
        let base = match variant {
            "802.3cd" | "802.3bs" | "default" => TdecqConfig::default(),
            "802.3dj" => TdecqConfig::ieee_8023dj(),
            v => return Err(invalid("variant", v, "expected \"802.3cd\", \"802.3bs\" or \"802.3dj\"")),
        };
        let cfg = options_over("TDECQ config", base, config_json.as_deref())?;
        if !(baud.is_finite() && baud > 0.0) {
            return Err(invalid("baud", baud, "must be a positive baud rate"));
        }
        let wf = waveform(&s, fs, unit)?;
        let r = tdecq_waveform(&wf, baud, &CdrConfig::default(), &cfg)?;
        to_json(&r)
    })
}

/// Registers this file's items.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(eye_diagram, m)?)?;
    m.add_function(wrap_pyfunction!(tdecq, m)?)?;
    Ok(())
}
