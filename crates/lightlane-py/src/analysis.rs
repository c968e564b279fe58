//! `lightlane.analyze`: the main job (`lightlane_gpu::analyze`: the CPU or the GPU engine, as
//! `backend` resolves) on a capture file or an array, configured exactly as `lightlane analyze`
//! configures it, so that Python and the CLI give the same report for the same file, options
//! and backend.

use crate::convert::{F32In, modulation, options_over, slice_of, to_json};
use crate::errors::{compute, invalid, Fallible};
use lightlane_core::analysis::{AnalysisConfig, ClockRecovery};
// The engine `backend` resolves to (the GPU engine where asked for and usable), as the CLI.
use lightlane_gpu::analyze as run_analysis;
use lightlane_core::timing::{CdrConfig, CdrKind};
use lightlane_core::{Backend, Modulation, Waveform};
use lightlane_io::ReadOptions;
use numpy::PyArray1;
use pyo3::prelude::*;
use std::path::PathBuf;

/// Clock recovery from the CLI's `--cdr` spelling: `pll[:CORNER_MHZ[:ORDER]]`, `mm`, `gardner`,
/// `bangbang` or `none`.
pub fn parse_clock(spec: &str) -> Fallible<ClockRecovery> {
    let parts: Vec<&str> = spec.split(':').collect();
    let bad = || invalid("cdr", spec, "expected pll[:CORNER_MHZ[:ORDER]], mm, gardner, bangbang or none");
    let kind = match parts.as_slice() {
        ["none"] => return Ok(ClockRecovery::Fixed),
        ["pll", rest @ ..] => {
            if rest.len() > 2 {
                return Err(bad());
            }
            let corner_mhz: f64 = rest.first().map(|v| v.parse()).transpose().map_err(|_| bad())?.unwrap_or(4.0);
            let order: u8 = rest.get(1).map(|v| v.parse()).transpose().map_err(|_| bad())?.unwrap_or(1);
            CdrKind::ReferencePll { corner_hz: corner_mhz * 1e6, order, damping: 0.707 }
        }
        ["mm"] => CdrKind::MuellerMuller { bandwidth_fraction: 1e-3 },
        ["gardner"] => CdrKind::Gardner { bandwidth_fraction: 1e-3 },
        ["bangbang"] => CdrKind::BangBang { gain: 1e-3 },
        _ => return Err(bad()),
    };
    Ok(ClockRecovery::Cdr(CdrConfig { kind, ..CdrConfig::default() }))
}

/// The options of one analysis, as `lightlane analyze` takes them.
pub struct Options {
    pub modulation: Option<String>,
    pub baud: Option<f64>,
    pub pattern: Option<String>,
    pub equalizer: Option<String>,
    pub cdr: String,
    pub precoding: bool,
    pub config_json: Option<String>,
}

/// The configuration `lightlane analyze` would use for `wf` (file hints fill what is not given),
/// then `config_json` (a partial `AnalysisConfig`) applied on top.
pub fn config_for(o: &Options, wf: &Waveform) -> Fallible<AnalysisConfig> {
    let hint = |k: &str| wf.meta.extra.get(k).map(String::as_str);
    let m: Modulation = match o.modulation.as_deref().or(hint("modulation")) {
        Some(name) => modulation(name)?,
        None => Modulation::Pam4,
    };
    let mut config = match m {
        Modulation::Pam4 => AnalysisConfig::pam4(0.0),
        Modulation::Nrz => AnalysisConfig::nrz(0.0),
    };
    config.baud = o.baud.or_else(|| hint("baud").and_then(|b| b.parse::<f64>().ok()));
    if let Some(p) = o.pattern.as_deref().or(hint("pattern")) {
        config.pattern = p.to_string();
    }
    config.equalizer = o.equalizer.as_deref().unwrap_or("ffe:15:t").parse()?;
    config.ffe.reference_tap = None;
    config.precoding = o.precoding;
    config.clock = parse_clock(&o.cdr)?;
    options_over("analysis config", config, o.config_json.as_deref())
}

/// Runs the analysis: (report JSON, decided symbols, effective configuration JSON).
/// Exactly one of `path` and `samples` is given; `fs` is required with `samples`.
#[pyfunction]
#[pyo3(signature = (path, samples, fs, channel, segment, modulation_name, baud, pattern, equalizer, cdr, precoding, backend, config_json))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn analyze<'py>(
    py: Python<'py>,
    path: Option<PathBuf>,
    samples: Option<F32In<'py>>,
    fs: Option<f64>,
    channel: Option<usize>,
    segment: Option<usize>,
    modulation_name: Option<String>,
    baud: Option<f64>,
    pattern: Option<String>,
    equalizer: Option<String>,
    cdr: String,
    precoding: bool,
    backend: &str,
    config_json: Option<String>,
) -> PyResult<(String, Bound<'py, PyArray1<u8>>, String)> {
    let samples = samples.as_ref().map(|s| slice_of(s));
    let opts = Options { modulation: modulation_name, baud, pattern, equalizer, cdr, precoding, config_json };
    let (report, decisions, config) = compute(py, || {
        let backend: Backend = backend.parse()?;
        let wf = match (&path, &samples) {
            (Some(p), None) => {
                let ro = ReadOptions { fs, channel, segment, ..Default::default() };
                lightlane_io::read_capture(p, &ro)?
            }
            (None, Some(s)) => {
                let fs = fs.ok_or_else(|| invalid("fs", "None", "the sample rate is required with an array"))?;
                let mut wf = Waveform::new(s.to_vec(), fs)?;
                wf.meta.source = Some("array".into());
                wf
            }
            _ => return Err(invalid("capture", "?", "give a path or an array")),
        };
        let config = config_for(&opts, &wf)?;
        let mut report = run_analysis(&wf, &config, backend)?;
        let decisions = std::mem::take(&mut report.decisions);
        Ok((to_json(&report)?, decisions, to_json(&config)?))
    })?;
    Ok((report, PyArray1::from_vec(py, decisions), config))
}

/// Registers this file's items.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    Ok(())
}
