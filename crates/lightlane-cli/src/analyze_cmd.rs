//! `lightlane analyze`.

use crate::batch::{self, Outcome, RunOptions};
use crate::settings::Settings;
use crate::{html, summary};
use anyhow::{bail, Context};
use clap::Args;
use lightlane::analysis::{Preset, Report};
use lightlane::io::ReadOptions;
use lightlane::Backend;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `lightlane analyze`: one capture, several, or whole folders of them.
///
/// Exit status: 0 every capture analysed; 2 some captures failed (each listed with its error,
/// the others complete); 1 fatal (bad usage or config, no captures found, unreadable folder,
/// output folder that cannot be written).
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Capture files and/or folders (scanned recursively for known capture formats). None: the
    /// demo campaign in testdata/campaign, reported to --out (default: a temporary folder).
    pub paths: Vec<PathBuf>,
    /// Write summary.csv, report.json and index.html to this folder (created if needed).
    #[arg(long, value_name = "OUT")]
    pub out: Option<PathBuf>,
    /// Measurement preset (e.g. 100GBASE-DR, 400GBASE-DR4, 200GBASE-DR1, 100GAUI-1-C2M);
    /// `--preset list` prints them all.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// TOML config file: any AnalysisConfig field, `preset = "NAME"`, and a [limits] table.
    /// Precedence: preset < config file < flags.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Captures analysed in parallel (default: all cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Channel (0-based) of multi-channel files; default: the first analog channel.
    #[arg(long, value_name = "N")]
    pub channel: Option<usize>,
    /// Segment (0-based) of FastFrame / sequence-mode files; default: the first.
    #[arg(long, value_name = "N")]
    pub segment: Option<usize>,
    /// Symbol rate in baud, e.g. 53.125e9 (default: preset, config, or the file's own hint).
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
    /// (overrides --ffe-taps/--ffe-sps). Default without preset: `ffe:15`.
    #[arg(long, value_name = "CHAIN")]
    pub equalizer: Option<String>,
    /// Clock recovery: `pll[:CORNER_MHZ[:ORDER]]` (802.3 reference CDR, default 4 MHz first
    /// order), `mm`, `gardner`, `bangbang`, or `none` (ideal clock at --baud, phase search only).
    #[arg(long, value_name = "KIND")]
    pub cdr: Option<String>,
    /// Number of FFE taps (default 15).
    #[arg(long, value_name = "N")]
    pub ffe_taps: Option<usize>,
    /// FFE samples per symbol (1 = T-spaced, the default; 2 = T/2-spaced).
    #[arg(long, value_name = "N")]
    pub ffe_sps: Option<usize>,
    /// The transmitter used 1/(1+D) precoding.
    #[arg(long)]
    pub precoding: bool,
    /// Compute engine: auto (GPU for large captures when a GPU adapter exists, else CPU; GPU
    /// failures fall back to the CPU with a warning), gpu (error without an adapter), cpu.
    #[arg(long, default_value = "auto", value_parser = ["auto", "cpu", "gpu"])]
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
    /// Analyse chunk by chunk with bounded memory (automatic for binary captures above 1 GiB).
    #[arg(long)]
    pub stream: bool,
}

/// Prints the presets (`--preset list`).
fn print_presets() {
    println!("{:<16} {:<26} {:>10} {:>8}  description", "preset", "clause", "baud(GBd)", "pattern");
    for p in Preset::all() {
        println!(
            "{:<16} {:<26} {:>10.4} {:>8}  {}",
            p.name,
            p.clause,
            p.config.baud.unwrap_or(0.0) / 1e9,
            p.config.pattern,
            p.description
        );
    }
}

/// Creates an output folder (`what`: how the message names it) and checks that a file can be
/// written there, once before any capture is analysed (fatal otherwise).
fn prepare_out(out: &Path, what: &str) -> anyhow::Result<()> {
    if out.exists() && !out.is_dir() {
        bail!("{what} {} exists and is not a folder", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {what} {}", out.display()))?;
    let probe = out.join(".lightlane-write-test");
    std::fs::write(&probe, b"").with_context(|| format!("{what} {} is not writable", out.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn write_file(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, data).with_context(|| format!("writing {}", path.display()))
}

/// Writes summary.csv, report.json and index.html for `outcomes` into `out`.
pub fn write_outputs(out: &Path, outcomes: &[Outcome], settings: &Settings) -> anyhow::Result<()> {
    write_file(&out.join("summary.csv"), summary::summary_csv(outcomes).as_bytes())?;
    let report = summary::batch_report(outcomes, settings)?;
    let mut json = serde_json::to_string_pretty(&report)?;
    json.push('\n');
    write_file(&out.join("report.json"), json.as_bytes())?;
    let images: Vec<Vec<html::Image>> = outcomes
        .iter()
        .map(|o| match &o.result {
            // Relative PNG paths in a report are relative to OUT (see batch::write_eye_pngs).
            Ok(a) => html::report_images(&a.report, out),
            Err(_) => Vec::new(),
        })
        .collect();
    let page = html::render(&report, outcomes, &images, out);
    write_file(&out.join("index.html"), page.as_bytes())?;
    Ok(())
}

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    if args.preset.as_deref().is_some_and(|p| p.eq_ignore_ascii_case("list")) {
        print_presets();
        return Ok(ExitCode::SUCCESS);
    }
    let backend: Backend = args.backend.parse()?;
    let settings = Settings::from_args(args)?;
    if args.jobs == Some(0) {
        bail!("--jobs 0: need at least one worker");
    }
    let (paths, out) = if args.paths.is_empty() {
        let campaign = crate::demo::demo_campaign()?;
        let out = args.out.clone().unwrap_or_else(|| std::env::temp_dir().join("lightlane-demo-report"));
        eprintln!("no capture given: analysing the demo campaign {}", campaign.display());
        (vec![campaign], Some(out))
    } else {
        (args.paths.clone(), args.out.clone())
    };
    if let Some(out) = &out {
        prepare_out(out, "output folder")?;
    }
    if let Some(eyes) = &args.eye_png {
        prepare_out(eyes, "--eye-png folder")?;
    }
    let jobs = batch::discover(&paths, out.as_deref())?;
    let opts = RunOptions {
        read: ReadOptions {
            fs: args.fs,
            channel: args.channel,
            segment: args.segment,
            ..Default::default()
        },
        backend,
        jobs: args.jobs.unwrap_or(0),
        progress: jobs.len() > 1,
        stream: args.stream,
        // Eye and bathtub PNGs: where --eye-png says, else beside the batch report.
        eye_png: args.eye_png.clone().or_else(|| out.as_ref().map(|o| o.join("eyes"))),
        out: out.clone(),
    };
    if args.stream && args.symbols_out.is_some() {
        bail!("--symbols-out is not available for a streamed analysis (the decisions of a large capture are not kept); analyse without --stream");
    }
    let outcomes = batch::run_batch(&jobs, &settings, &opts)?;
    let reports: Vec<&Report> = outcomes.iter().filter_map(|o| o.result.as_ref().ok().map(|a| &a.report)).collect();
    for r in &reports {
        for w in &r.warnings {
            eprintln!("warning: {}: {w}", r.file);
        }
    }
    if let Some(target) = &args.symbols_out {
        for (i, r) in reports.iter().enumerate() {
            let target = numbered(target, i, reports.len());
            lightlane::io::npy::write(&target, &r.decisions).with_context(|| format!("writing {}", target.display()))?;
        }
    }
    print_table(&reports);
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if failed > 0 {
        eprintln!("{failed} of {} captures could not be analysed:", outcomes.len());
        for o in &outcomes {
            if let Err(e) = &o.result {
                eprintln!("  {}: {e}", o.job.name);
            }
        }
    }
    if let Some(json) = &args.json {
        let text = serde_json::to_string_pretty(&reports)?;
        write_file(json, text.as_bytes())?;
    }
    if let Some(out) = &out {
        write_outputs(out, &outcomes, &settings)?;
        println!("report: {} (summary.csv, report.json beside it; {})", out.join("index.html").display(), settings.describe());
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// Writes the report's eye pictures into `dir` and records their paths in the report.
fn numbered(path: &Path, i: usize, n: usize) -> PathBuf {
    if n == 1 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{stem}_{i}.npy"))
}

fn print_table(reports: &[&Report]) {
    if reports.is_empty() {
        return;
    }
    println!(
        "{:<32} {:>5} {:>9} {:>7} {:>8} {:>11} {:>10} {:>10} {:>10} {:>9} {:>10}",
        "file", "mod", "baud(GBd)", "spui", "pattern", "bits", "errors", "BER", "SER", "FEC CER", "TDECQ(dB)"
    );
    for r in reports {
        let name = Path::new(&r.file).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| r.file.clone());
        let cer = r.fec.as_ref().map(|f| format!("{:.2e}", f.cer)).unwrap_or_else(|| "-".into());
        let tdecq = r.eye.as_ref().and_then(|e| e.tdecq_db).map(|t| format!("{t:.3}")).unwrap_or_else(|| "-".into());
        println!(
            "{:<32} {:>5} {:>9.4} {:>7.3} {:>8} {:>11} {:>10} {:>10.3e} {:>10.3e} {:>9} {:>10}",
            truncate(&name, 32),
            r.modulation.name(),
            r.baud / 1e9,
            r.samples_per_ui,
            r.pattern,
            r.bits,
            r.bit_errors,
            r.ber,
            r.ser,
            cer,
            tdecq
        );
        // TDECQ at each test-fibre dispersion corner (802.3 121.8.5), with the limit verdict.
        for c in r.eye.iter().flat_map(|e| &e.tdecq_corners) {
            let value = c.tdecq_db.map_or_else(|| "undefined".to_string(), |t| format!("{t:.3} dB"));
            let verdict = match c.pass {
                Some(true) => " (pass)",
                Some(false) => " (fail)",
                None => "",
            };
            println!("    TDECQ at {:+.3} ps/nm: {value}{verdict}", c.dispersion_ps_per_nm);
        }
    }
    // Which engine ran them (`--backend`; per capture in the reports' `engine`).
    let mut engines: Vec<&str> = reports.iter().map(|r| r.engine.as_str()).collect();
    engines.sort_unstable();
    engines.dedup();
    println!("engine: {}", engines.join(" | "));
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s.chars().rev().take(n - 1).collect::<Vec<_>>().into_iter().rev().collect();
        format!("…{tail}")
    }
}
