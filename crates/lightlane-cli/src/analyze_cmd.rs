//! `lightlane analyze`.

use anyhow::{anyhow, bail, Context};
use clap::Args;
use lightlane::analysis::{analyze, AnalysisConfig, Report};
use lightlane::io::{read_capture, ReadOptions};
use lightlane::{Backend, Modulation};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Capture files (.npy, raw + .json sidecar). None: the built-in demo capture.
    pub paths: Vec<PathBuf>,
    /// Channel (0-based) of multi-channel files; default: the first analog channel.
    #[arg(long, value_name = "N")]
    pub channel: Option<usize>,
    /// Segment (0-based) of FastFrame / sequence-mode files; default: the first.
    #[arg(long, value_name = "N")]
    pub segment: Option<usize>,
    /// Symbol rate in baud, e.g. 53.125e9 (default: the file's own hint).
    #[arg(long, value_name = "HZ")]
    pub baud: Option<f64>,
    /// Sample rate in Sa/s for formats without timing (.npy).
    #[arg(long, value_name = "HZ")]
    pub fs: Option<f64>,
    /// Line modulation.
    #[arg(long, value_parser = ["nrz", "pam4"])]
    pub modulation: Option<String>,
    /// Test pattern: prbs7|prbs9|prbs11|prbs13|prbs15|prbs23|prbs31|prbs9q|prbs13q|prbs31q|ssprq|file:PATH.
    #[arg(long)]
    pub pattern: Option<String>,
    /// Number of FFE taps.
    #[arg(long, default_value_t = 15, value_name = "N")]
    pub ffe_taps: usize,
    /// FFE samples per symbol (1 = T-spaced, 2 = T/2-spaced).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub ffe_sps: usize,
    /// The transmitter used 1/(1+D) precoding.
    #[arg(long)]
    pub precoding: bool,
    /// Compute engine.
    #[arg(long, default_value = "auto", value_parser = ["auto", "cpu"])]
    pub backend: String,
    /// Write the per-capture reports as a JSON array.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the decided symbols (uint8) as .npy (FILE_N.npy for the N-th capture when several).
    #[arg(long, value_name = "FILE.npy")]
    pub symbols_out: Option<PathBuf>,
}

fn hint<'a>(wf: &'a lightlane::Waveform, key: &str) -> Option<&'a str> {
    wf.meta.extra.get(key).map(String::as_str)
}

fn config_for(args: &AnalyzeArgs, wf: &lightlane::Waveform) -> anyhow::Result<AnalysisConfig> {
    let modulation: Modulation = match args.modulation.as_deref().or(hint(wf, "modulation")) {
        Some(m) => m.parse()?,
        None => Modulation::Pam4,
    };
    let baud = match args.baud {
        Some(b) => b,
        None => hint(wf, "baud")
            .and_then(|b| b.parse::<f64>().ok())
            .ok_or_else(|| anyhow!("no symbol rate: pass --baud HZ (the file does not state one)"))?,
    };
    let mut config = match modulation {
        Modulation::Pam4 => AnalysisConfig::pam4(baud),
        Modulation::Nrz => AnalysisConfig::nrz(baud),
    };
    if let Some(p) = args.pattern.as_deref().or(hint(wf, "pattern")) {
        config.pattern = p.to_string();
    }
    if args.ffe_taps == 0 || args.ffe_taps > 1024 {
        bail!("--ffe-taps {} is outside 1..=1024", args.ffe_taps);
    }
    config.ffe.n_taps = args.ffe_taps;
    config.ffe.samples_per_symbol = args.ffe_sps;
    config.ffe.reference_tap = None;
    config.precoding = args.precoding;
    Ok(config)
}

/// Runs one capture; returns the report and the decided symbols.
fn analyze_one(args: &AnalyzeArgs, path: &Path, backend: Backend) -> anyhow::Result<Report> {
    let opts = ReadOptions {
        fs: args.fs,
        channel: args.channel,
        segment: args.segment,
        ..Default::default()
    };
    let wf = read_capture(path, &opts)?;
    let config = config_for(args, &wf)?;
    Ok(analyze(&wf, &config, backend)?)
}

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let backend: Backend = args.backend.parse()?;
    let paths: Vec<PathBuf> = if args.paths.is_empty() {
        let demo = crate::demo::demo_capture()?;
        eprintln!("no capture given: analysing the built-in demo capture {}", demo.display());
        vec![demo]
    } else {
        args.paths.clone()
    };
    if let Some(p) = &args.pattern {
        // Fail fast on a bad pattern name or file, before reading any capture.
        lightlane::pattern::Pattern::parse(p)?;
    }
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        match analyze_one(args, path, backend) {
            Ok(report) => {
                if let Some(out) = &args.symbols_out {
                    let target = numbered(out, i, paths.len());
                    lightlane::io::npy::write(&target, &report_decisions(&report))
                        .with_context(|| format!("writing {}", target.display()))?;
                }
                reports.push(report);
            }
            Err(e) => failures.push((path.display().to_string(), format!("{e:#}"))),
        }
    }
    print_table(&reports);
    for (file, err) in &failures {
        eprintln!("error: {file}: {err}");
    }
    if let Some(json) = &args.json {
        let text = serde_json::to_string_pretty(&reports)?;
        std::fs::write(json, text).with_context(|| format!("writing {}", json.display()))?;
    }
    Ok(if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn numbered(path: &Path, i: usize, n: usize) -> PathBuf {
    if n == 1 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{stem}_{i}.npy"))
}

fn report_decisions(report: &Report) -> Vec<u8> {
    report.decisions.clone()
}

fn print_table(reports: &[Report]) {
    if reports.is_empty() {
        return;
    }
    println!(
        "{:<32} {:>5} {:>9} {:>7} {:>8} {:>11} {:>10} {:>10} {:>10} {:>9}",
        "file", "mod", "baud(GBd)", "spui", "pattern", "bits", "errors", "BER", "SER", "FEC CER"
    );
    for r in reports {
        let name = Path::new(&r.file).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| r.file.clone());
        let cer = r.fec.as_ref().map(|f| format!("{:.2e}", f.cer)).unwrap_or_else(|| "-".into());
        println!(
            "{:<32} {:>5} {:>9.4} {:>7.3} {:>8} {:>11} {:>10} {:>10.3e} {:>10.3e} {:>9}",
            truncate(&name, 32),
            r.modulation.name(),
            r.baud / 1e9,
            r.samples_per_ui,
            r.pattern,
            r.bits,
            r.bit_errors,
            r.ber,
            r.ser,
            cer
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s.chars().rev().take(n - 1).collect::<Vec<_>>().into_iter().rev().collect();
        format!("…{tail}")
    }
}
