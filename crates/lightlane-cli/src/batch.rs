//! Batch analysis: find the captures under the given paths, analyse them on all cores with a
//! progress bar, keep going past bad files, and collect one [`Outcome`] per capture.

use crate::settings::Settings;
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use lightlane::analysis::{AnalysisConfig, LimitReport, Measured, Report};
use lightlane::analyze;
use lightlane::io::{detect_bytes, raw, Format, ReadOptions};
use lightlane::Backend;
use rayon::prelude::*;
use serde::Serialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File extensions analysed when found in a folder (content detection adds files with known
/// magic bytes or a JSON sidecar whatever their name).
pub const CAPTURE_EXTENSIONS: &[&str] = &["bin", "wfm", "trc", "npy", "npz", "mat", "csv", "dat", "raw"];
/// Deepest folder nesting scanned below a given folder.
const MAX_DEPTH: usize = 16;

/// One capture to analyse: where it is, and the name used in reports (relative to the folder
/// it was found in, or the path as given).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Job {
    /// Name in reports; rows are sorted by it.
    pub name: String,
    /// Path to open.
    pub path: PathBuf,
}

fn is_side_file(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    matches!(ext.as_str(), "json" | "yml" | "yaml" | "md" | "toml" | "html" | "png" | "svg" | "txt")
}

fn looks_like_capture(path: &Path) -> bool {
    if is_side_file(path) {
        return false;
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if CAPTURE_EXTENSIONS.contains(&ext.as_str()) || raw::sidecar_path(path).is_some() {
        return true;
    }
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    matches!(detect_bytes(&head[..n]), Some(f) if f != Format::Csv && f != Format::Touchstone)
}

fn scan(dir: &Path, root: &Path, skip: Option<&Path>, depth: usize, out: &mut Vec<Job>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read folder {}", dir.display()))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden || skip.is_some_and(|s| same_file(&path, s)) {
            continue;
        }
        let ty = entry.file_type().with_context(|| format!("cannot stat {}", path.display()))?;
        let ty = if ty.is_symlink() { std::fs::metadata(&path).map(|m| m.file_type()).unwrap_or(ty) } else { ty };
        if ty.is_dir() {
            if depth < MAX_DEPTH {
                scan(&path, root, skip, depth + 1, out)?;
            }
        } else if ty.is_file() && looks_like_capture(&path) {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push(Job {
                name: rel.to_string_lossy().replace('\\', "/"),
                path,
            });
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The captures under `paths`: folders are scanned recursively (hidden entries and the output
/// folder `skip` excluded), files are taken as given. Sorted by name, duplicates removed.
///
/// Fatal: a path that does not exist, a folder that cannot be read, nothing found.
pub fn discover(paths: &[PathBuf], skip: Option<&Path>) -> anyhow::Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("{}: no such file or folder", p.display()))?;
        if meta.is_dir() {
            let before = jobs.len();
            scan(p, p, skip, 0, &mut jobs)?;
            if jobs.len() == before {
                bail!("no captures found in {} (looked for {} and files with known capture headers or a JSON sidecar)", p.display(), CAPTURE_EXTENSIONS.join(", "));
            }
        } else {
            jobs.push(Job {
                name: p.to_string_lossy().into_owned(),
                path: p.clone(),
            });
        }
    }
    jobs.sort();
    jobs.dedup_by(|a, b| a.name == b.name);
    if jobs.is_empty() {
        bail!("no captures found");
    }
    Ok(jobs)
}

/// A capture that was analysed.
#[derive(Debug, Clone, Serialize)]
pub struct Analysed {
    /// Detected file format.
    pub format: String,
    /// The effective configuration it was analysed with.
    pub config: AnalysisConfig,
    /// The analysis report.
    pub report: Report,
    /// Pass/fail against the limits.
    pub limits: LimitReport,
}

/// The result of one capture: analysed, or the error that stopped it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The capture.
    pub job: Job,
    /// Analysis or error text (with its causes).
    pub result: Result<Box<Analysed>, String>,
}

/// Options of [`run_batch`] beyond the settings.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Reader options (fs, channel, segment).
    pub read: ReadOptions,
    /// Compute engine.
    pub backend: Backend,
    /// Worker threads (0: all cores).
    pub jobs: usize,
    /// Show the progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Analyse every capture chunk by chunk with bounded memory (`--stream`; captures above
    /// [`crate::analyze_stream::STREAM_THRESHOLD_BYTES`] always are).
    pub stream: bool,
    /// Folder for each capture's eye and bathtub PNGs (`--eye-png`, or OUT/eyes).
    pub eye_png: Option<PathBuf>,
    /// The batch output folder: PNG paths under it are recorded relative to it, so report.json
    /// does not depend on where OUT is.
    pub out: Option<PathBuf>,
}

/// The TDECQ, VEC, ER and OMA the report carries (added by the eye stage when present), read
/// from its JSON form so this code does not depend on which stages ran.
pub fn measured(report: &Report) -> Measured {
    let v = serde_json::to_value(report).unwrap_or_default();
    let num = |ptrs: &[&str]| ptrs.iter().find_map(|p| v.pointer(p).and_then(serde_json::Value::as_f64));
    // The worst dispersion corner; a corner where TDECQ is undefined (null) is infinitely bad.
    let worst_corner = v.pointer("/eye/tdecq_corners").and_then(|c| c.as_array()).and_then(|a| {
        a.iter()
            .map(|c| c.get("tdecq_db").and_then(serde_json::Value::as_f64).unwrap_or(f64::INFINITY))
            .reduce(f64::max)
    });
    Measured {
        pre_fec_ber: Some(report.ber),
        tdecq_db: worst_corner.or_else(|| num(&["/eye/tdecq_db", "/tdecq_db"])),
        vec_db: num(&["/eye/vec_db", "/vec_db"]),
        outer_er_db: num(&["/eye/er_db", "/er_db"]),
        oma_outer_dbm: num(&["/eye/oma_outer_dbm", "/oma_outer_dbm"]),
    }
}

fn analyse_one(job: &Job, settings: &Settings, opts: &RunOptions) -> anyhow::Result<Analysed> {
    let format = lightlane::io::detect_format(&job.path)?;
    // The capture's own settings file, when it has one, layers over the batch's.
    let own = settings.for_capture(&job.path)?;
    let settings = own.as_ref().unwrap_or(settings);
    let (config, mut report) = if crate::analyze_stream::should_stream(opts.stream, &job.path)? {
        crate::analyze_stream::analyze_streamed(&job.path, &opts.read, opts.backend, |header| {
            settings.resolve(Some(header))
        })?
    } else {
        let wf = lightlane::io::read_capture(&job.path, &opts.read)?;
        let mut config = settings.resolve(Some(&wf))?;
        if opts.eye_png.is_some() {
            if let Some(eye) = config.eye.as_mut() {
                eye.render_png = true;
            }
        }
        let report = analyze(&wf, &config, opts.backend)?;
        (config, report)
    };
    if let Some(dir) = &opts.eye_png {
        write_eye_pngs(dir, &job.name, opts.out.as_deref(), &mut report)?;
    }
    report.file = job.name.clone();
    mark_corners(&mut report, settings.limits.max_tdecq_db);
    let limits = settings.limits.check(&measured(&report));
    Ok(Analysed {
        format: format.name().to_string(),
        config,
        report,
        limits,
    })
}

/// Fills each TDECQ dispersion corner's `pass` against the TDECQ limit (an undefined TDECQ
/// fails); leaves them unchecked without a limit.
pub fn mark_corners(report: &mut Report, max_tdecq_db: Option<f64>) {
    let (Some(eye), Some(max)) = (report.eye.as_mut(), max_tdecq_db) else {
        return;
    };
    for c in &mut eye.tdecq_corners {
        c.pass = Some(c.tdecq_db.is_some_and(|t| t <= max));
    }
}

/// `D:TDECQ` per dispersion corner (ps/nm and dB, 3 decimals, `undefined` where TDECQ is),
/// `;`-separated; empty without corners.
pub fn corners_text(report: &Report) -> String {
    let Some(eye) = &report.eye else {
        return String::new();
    };
    eye.tdecq_corners
        .iter()
        .map(|c| match c.tdecq_db {
            Some(t) => format!("{:.3}:{t:.3}", c.dispersion_ps_per_nm),
            None => format!("{:.3}:undefined", c.dispersion_ps_per_nm),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// Analyses every job on `opts.jobs` threads; one capture's error (or internal panic) never
/// stops the others. Outcomes come back in job order.
pub fn run_batch(jobs: &[Job], settings: &Settings, opts: &RunOptions) -> anyhow::Result<Vec<Outcome>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs)
        .build()
        .context("starting worker threads")?;
    let bar = if opts.progress && std::io::stderr().is_terminal() {
        let b = ProgressBar::new(jobs.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} captures, ETA {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.enable_steady_tick(Duration::from_millis(200));
        b
    } else {
        ProgressBar::hidden()
    };
    let outcomes = pool.install(|| {
        jobs.par_iter()
            .map(|job| {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| analyse_one(job, settings, opts)));
                let result = match result {
                    Ok(Ok(a)) => Ok(Box::new(a)),
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    Err(p) => Err(format!("internal error (please report): {}", panic_text(p))),
                };
                if let Err(e) = &result {
                    bar.suspend(|| eprintln!("error: {}: {e}", job.name));
                }
                bar.inc(1);
                Outcome { job: job.clone(), result }
            })
            .collect::<Vec<_>>()
    });
    bar.finish_and_clear();
    Ok(outcomes)
}


/// Writes the eye and bathtub PNGs the analysis rendered into `dir` and records their
/// (absolute) paths in the report.
fn write_eye_pngs(dir: &Path, name: &str, out: Option<&Path>, report: &mut Report) -> anyhow::Result<()> {
    let Some(eye) = report.eye.as_mut() else {
        report.warnings.push("no eye diagram to write (eye analysis skipped)".into());
        return Ok(());
    };
    let Some(pictures) = eye.pictures.take() else {
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize().with_context(|| format!("resolving {}", dir.display()))?;
    // One file per capture even when names repeat across folders: the capture's relative
    // name with path separators and dots made safe.
    let stem: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let eye_path = dir.join(format!("{stem}_eye.png"));
    let tub_path = dir.join(format!("{stem}_bathtub.png"));
    std::fs::write(&eye_path, &pictures.eye).with_context(|| format!("writing {}", eye_path.display()))?;
    std::fs::write(&tub_path, &pictures.bathtub).with_context(|| format!("writing {}", tub_path.display()))?;
    let out = out.and_then(|o| o.canonicalize().ok());
    let shown = |p: &Path| match out.as_deref().and_then(|o| p.strip_prefix(o).ok()) {
        Some(rel) => rel.display().to_string(),
        None => p.display().to_string(),
    };
    eye.eye_png = Some(shown(&eye_path));
    eye.bathtub_png = Some(shown(&tub_path));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_scans_recursively_sorts_and_skips_side_files_and_out() {
        let d = std::env::temp_dir().join(format!("lightlane-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(d.join("out")).unwrap();
        std::fs::create_dir_all(d.join(".hidden")).unwrap();
        for f in ["b.npy", "sub/a.bin", "sub/deeper/c.trc", "notes.md", "b.json", "out/x.npy", ".hidden/y.npy", "noext"] {
            std::fs::write(d.join(f), b"x").unwrap();
        }
        // Content detection: an extension-less file with the .npy magic is a capture.
        std::fs::write(d.join("magic"), b"\x93NUMPY\x01\x00").unwrap();
        let jobs = discover(std::slice::from_ref(&d), Some(&d.join("out"))).unwrap();
        let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, ["b.npy", "magic", "sub/a.bin", "sub/deeper/c.trc"]);
        std::fs::create_dir_all(d.join("empty")).unwrap();
        let e = discover(&[d.join("empty")], None).unwrap_err().to_string();
        assert!(e.contains("no captures found"), "{e}");
        let e = discover(&[d.join("missing")], None).unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
