//! `lightlane simulate LINK.toml -o OUT`: simulate an optical IM/DD link described in TOML
//! (pattern, modulation, baud, transmitter, fibre, receiver, scope; see `examples/links/`) and
//! write the capture in a format lightlane reads.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use lightlane::io;
use lightlane::pattern::Pattern;
use lightlane::sim::optical::OpticalLink;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Most symbols a link file may ask for (the capture is also bounded by the simulator).
const MAX_SYMBOLS: usize = 1 << 26;
/// Symbols simulated by default when the pattern period is longer.
const DEFAULT_SYMBOLS: usize = 1 << 16;

/// Arguments of `lightlane simulate`.
#[derive(Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Link description (TOML; documented in examples/links/pam4_fr_2km.toml).
    #[arg(value_name = "LINK.toml")]
    pub link: PathBuf,
    /// Output capture. The format follows the extension (.bin Keysight, .trc LeCroy, .npy NumPy
    /// without timing, .raw/.f32/.dat raw samples + JSON sidecar) unless --format is given.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Output format, overriding the extension.
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Seed overriding the file's `link.seed`.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Capture formats `simulate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Keysight/Agilent `.bin` (float32).
    Keysight,
    /// Teledyne LeCroy `.trc`.
    Lecroy,
    /// NumPy `.npy` (float32 samples only: pass --fs when reading it).
    Npy,
    /// Raw samples (int16 codes when the scope quantises, else float32) + JSON sidecar.
    Raw,
}

/// The link file: a `[pattern]` table and a `[link]` table (an
/// `lightlane::sim::optical::OpticalLink`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkFile {
    pattern: PatternSection,
    link: OpticalLink,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternSection {
    /// Pattern name as `lightlane analyze --pattern` takes it (`prbs13q`, `ssprq`, `file:PATH`).
    name: String,
    /// Symbols to simulate (default: one pattern period, at most 65536).
    symbols: Option<usize>,
}

fn format_of(path: &Path, forced: Option<OutputFormat>) -> Result<OutputFormat> {
    if let Some(f) = forced {
        return Ok(f);
    }
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).unwrap_or_default();
    Ok(match ext.as_str() {
        "bin" => OutputFormat::Keysight,
        "trc" => OutputFormat::Lecroy,
        "npy" => OutputFormat::Npy,
        "raw" | "f32" | "dat" | "i16" => OutputFormat::Raw,
        _ => bail!(
            "cannot tell the output format from '{}': use .bin, .trc, .npy, .raw/.f32/.dat, or --format",
            path.display()
        ),
    })
}

/// Parses a link file's text.
fn parse(text: &str, origin: &Path) -> Result<LinkFile> {
    toml::from_str(text).with_context(|| format!("parsing link description {}", origin.display()))
}

/// Runs `lightlane simulate`.
pub fn run(args: &SimulateArgs) -> Result<()> {
    let format = format_of(&args.output, args.format)?;
    let meta = std::fs::metadata(&args.link).with_context(|| format!("reading {}", args.link.display()))?;
    if meta.len() > 1 << 20 {
        bail!("{} is {} bytes; a link description is at most 1 MiB", args.link.display(), meta.len());
    }
    let text = std::fs::read_to_string(&args.link).with_context(|| format!("reading {}", args.link.display()))?;
    let mut file = parse(&text, &args.link)?;
    if let Some(seed) = args.seed {
        file.link.seed = seed;
    }
    let modulation = file.link.modulation;
    let pattern = Pattern::parse(&file.pattern.name)?;
    let n = match file.pattern.symbols {
        Some(n) => n,
        None => usize::try_from(pattern.period_symbols(modulation)).unwrap_or(usize::MAX).min(DEFAULT_SYMBOLS),
    };
    if n == 0 || n > MAX_SYMBOLS {
        bail!("pattern.symbols = {n}: must be within 1..={MAX_SYMBOLS}");
    }
    let symbols = pattern.generate(modulation, n)?;
    let capture = file.link.run(&symbols)?;
    let mut wf = capture.waveform;
    wf.meta.source = Some(format!("lightlane simulate {}", args.link.display()));
    wf.meta.extra.insert("pattern".into(), pattern.name().to_string());
    match format {
        OutputFormat::Keysight => io::keysight::write(&args.output, std::slice::from_ref(&wf))?,
        OutputFormat::Lecroy => io::lecroy::write(&args.output, std::slice::from_ref(&wf))?,
        OutputFormat::Npy => io::npy::write(&args.output, &wf.samples)?,
        OutputFormat::Raw => io::raw::write(&args.output, &wf)?,
    }
    eprintln!(
        "wrote {} ({} samples at {:.4} GSa/s, {} symbols, unit {}, received average power {:.3} dBm)",
        args.output.display(),
        wf.len(),
        wf.fs() / 1e9,
        n,
        wf.meta.vertical_unit,
        lightlane::sim::optical::w_to_dbm(capture.received_average_w)
    );
    if format == OutputFormat::Npy {
        eprintln!("note: .npy holds no timing; read it with --fs {}", wf.fs());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/links"))
    }

    #[test]
    fn example_link_files_parse_and_validate() {
        let mut seen = 0;
        for entry in std::fs::read_dir(examples()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let file = parse(&text, &path).unwrap();
            file.link.validate().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Pattern::parse(&file.pattern.name).unwrap();
            seen += 1;
        }
        assert!(seen >= 2, "expected example link files in {}", examples().display());
    }

    #[test]
    fn unknown_fields_and_bad_values_are_reported() {
        let base = "[pattern]\nname = \"prbs9\"\n[link]\nmodulation = \"nrz\"\nbaud = 25e9\n[link.scope]\nfs = 100e9\n";
        assert!(parse(base, Path::new("t.toml")).is_ok());
        let typo = base.replace("baud = 25e9", "baud = 25e9\nbuad = 1");
        assert!(parse(&typo, Path::new("t.toml")).is_err());
        let neg = format!("{base}[link.fiber]\nlength_km = -2\nwavelength_nm = 1310\n");
        let file = parse(&neg, Path::new("t.toml")).unwrap();
        let err = file.link.validate().unwrap_err().to_string();
        assert!(err.contains("fiber.length_km"), "{err}");
    }

    #[test]
    fn simulate_writes_a_readable_capture() {
        let dir = std::env::temp_dir().join(format!("lightlane-simulate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("l.toml");
        std::fs::write(
            &link,
            "[pattern]\nname = \"prbs9\"\nsymbols = 1000\n[link]\nmodulation = \"nrz\"\nbaud = 25e9\n\
             [link.scope]\nfs = 100e9\nadc_bits = 8\n[link.fiber]\nlength_km = 2\nwavelength_nm = 1550\n",
        )
        .unwrap();
        for ext in ["bin", "raw", "trc"] {
            let out = dir.join(format!("o.{ext}"));
            run(&SimulateArgs {
                link: link.clone(),
                output: out.clone(),
                format: None,
                seed: None,
            })
            .unwrap();
            let cap = io::read_capture(&out, &io::ReadOptions::default()).unwrap();
            assert_eq!(cap.len(), 4000, "{ext}");
            assert!((cap.fs() / 100e9 - 1.0).abs() < 1e-6, "{ext}: {}", cap.fs());
        }
        assert!(format_of(Path::new("x.unknown"), None).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
