//! `lightlane analyze`.

use anyhow::{anyhow, bail, Context};
use clap::Args;
use lightlane::analysis::{analyze, AnalysisConfig, ClockRecovery, Report};
use lightlane::timing::{CdrConfig, CdrKind};
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
    /// Receiver chain, e.g. `ffe:15`, `ctle,ffe:15,dfe:1`, `bt4,ffe:21:t2,mlse:1`, `ffe:15:lms`
    /// (overrides --ffe-taps/--ffe-sps).
    #[arg(long, value_name = "CHAIN")]
    pub equalizer: Option<String>,
    /// Clock recovery: `pll[:CORNER_MHZ[:ORDER]]` (802.3 reference CDR, default 4 MHz first
    /// order), `mm`, `gardner`, `bangbang`, or `none` (ideal clock at --baud, phase search only).
    #[arg(long, default_value = "pll", value_name = "KIND")]
    pub cdr: String,
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
    /// Write the eye diagram and bathtub plots as `<capture stem>_eye.png` and
    /// `<capture stem>_bathtub.png` into DIR (created if missing); the report records the paths.
    #[arg(long, value_name = "DIR")]
    pub eye_png: Option<PathBuf>,
    /// Write the decided symbols (uint8) as .npy (FILE_N.npy for the N-th capture when several).
    #[arg(long, value_name = "FILE.npy")]
    pub symbols_out: Option<PathBuf>,
}

fn parse_clock(spec: &str) -> anyhow::Result<ClockRecovery> {
    let parts: Vec<&str> = spec.split(':').collect();
    let bad = || anyhow!("--cdr {spec}: expected pll[:CORNER_MHZ[:ORDER]], mm, gardner, bangbang or none");
    let kind = match parts.as_slice() {
        ["none"] => return Ok(ClockRecovery::Fixed),
        ["pll", rest @ ..] => {
            let corner_mhz: f64 = rest.first().map(|v| v.parse()).transpose().map_err(|_| bad())?.unwrap_or(4.0);
            let order: u8 = rest.get(1).map(|v| v.parse()).transpose().map_err(|_| bad())?.unwrap_or(1);
            if rest.len() > 2 {
                return Err(bad());
            }
            CdrKind::ReferencePll { corner_hz: corner_mhz * 1e6, order, damping: 0.707 }
        }
        ["mm"] => CdrKind::MuellerMuller { bandwidth_fraction: 1e-3 },
        ["gardner"] => CdrKind::Gardner { bandwidth_fraction: 1e-3 },
        ["bangbang"] => CdrKind::BangBang { gain: 1e-3 },
        _ => return Err(bad()),
    };
    Ok(ClockRecovery::Cdr(CdrConfig { kind, ..CdrConfig::default() }))
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
        Some(b) => Some(b),
        None => hint(wf, "baud").and_then(|b| b.parse::<f64>().ok()),
    };
    let mut config = match modulation {
        Modulation::Pam4 => AnalysisConfig::pam4(0.0),
        Modulation::Nrz => AnalysisConfig::nrz(0.0),
    };
    config.baud = baud;
    if let Some(p) = args.pattern.as_deref().or(hint(wf, "pattern")) {
        config.pattern = p.to_string();
    }
    let chain = match &args.equalizer {
        Some(spec) => spec.clone(),
        None => {
            if args.ffe_taps == 0 || args.ffe_taps > 1024 {
                bail!("--ffe-taps {} is outside 1..=1024", args.ffe_taps);
            }
            format!("ffe:{}:{}", args.ffe_taps, if args.ffe_sps == 2 { "t2" } else { "t" })
        }
    };
    config.equalizer = chain.parse()?;
    config.ffe.reference_tap = None;
    config.precoding = args.precoding;
    config.clock = parse_clock(&args.cdr)?;
    if args.eye_png.is_some() {
        if let Some(eye) = config.eye.as_mut() {
            eye.render_png = true;
        }
    }
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
            Ok(mut report) => {
                if let Some(dir) = &args.eye_png {
                    write_eye_pngs(dir, path, &mut report)?;
                }
                for w in &report.warnings {
                    eprintln!("warning: {}: {w}", path.display());
                }
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

/// Writes the report's eye pictures into `dir` and records their paths in the report.
fn write_eye_pngs(dir: &Path, capture: &Path, report: &mut Report) -> anyhow::Result<()> {
    let Some(eye) = report.eye.as_mut() else {
        report.warnings.push("no eye diagram to write (eye analysis skipped)".into());
        return Ok(());
    };
    let Some(pictures) = eye.pictures.take() else {
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let stem = capture.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "capture".into());
    let eye_path = dir.join(format!("{stem}_eye.png"));
    let tub_path = dir.join(format!("{stem}_bathtub.png"));
    std::fs::write(&eye_path, &pictures.eye).with_context(|| format!("writing {}", eye_path.display()))?;
    std::fs::write(&tub_path, &pictures.bathtub).with_context(|| format!("writing {}", tub_path.display()))?;
    eye.eye_png = Some(eye_path.display().to_string());
    eye.bathtub_png = Some(tub_path.display().to_string());
    Ok(())
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
