//! `lightlane info FILE...`: what each capture (or Touchstone) file holds — format, channels,
//! segments, samples, sample rate, vertical scale, instrument fields — as text, or as JSON with
//! `--json` (stdout) or `--json=FILE`. Unreadable files are reported and the others still listed; the exit code
//! is 1 when any file failed.

use anyhow::{Context, Result};
use clap::Args;
use lightlane::io::{self, touchstone, Format, IoError, ReadOptions};
use lightlane::waveform::RawCodes;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `lightlane info`.
#[derive(Args, Debug, Clone)]
pub struct InfoArgs {
    /// Capture or Touchstone files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write JSON instead of text: to stdout with `--json`, to FILE with `--json=FILE`.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "-")]
    pub json: Option<PathBuf>,
    /// Sample rate (Hz) for files that carry none (.npy, .npz, .mat, CSV without a time column).
    #[arg(long)]
    pub fs: Option<f64>,
    /// Metadata file of an ngscopeclient densev1 capture, when it is not beside the data.
    #[arg(long, value_name = "FILE")]
    pub metadata: Option<PathBuf>,
}

/// Engineering notation: `si(3.2e-10, "s")` is `320 ps`.
fn si(v: f64, unit: &str) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v} {unit}");
    }
    const P: [(f64, &str); 9] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")];
    for (scale, prefix) in P {
        if v.abs() >= scale * 0.999_999 {
            return format!("{} {prefix}{unit}", trim(v / scale));
        }
    }
    format!("{} f{unit}", trim(v / 1e-15))
}

fn trim(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn describe_touchstone(path: &std::path::Path) -> Result<Value> {
    let ts = touchstone::read(path)?;
    let n = ts.points();
    Ok(json!({
        "file": path.display().to_string(),
        "format": "touchstone",
        "version": ts.version,
        "ports": ts.ports,
        "points": n,
        "f_start_hz": ts.freqs[0],
        "f_stop_hz": ts.freqs[n - 1],
        "f_step_hz": if n > 1 { (ts.freqs[n - 1] - ts.freqs[0]) / (n - 1) as f64 } else { 0.0 },
        "reference_ohms": ts.z0,
        "parameter": format!("{:?}", ts.parameter),
        "data_format": format!("{:?}", ts.format),
        "comments": ts.comments.iter().take(5).collect::<Vec<_>>(),
    }))
}

fn describe_capture(path: &std::path::Path, args: &InfoArgs) -> Result<Value> {
    let format = io::detect_format(path)?;
    if format == Format::Touchstone {
        return describe_touchstone(path);
    }
    let mut opts = ReadOptions {
        fs: args.fs,
        metadata: args.metadata.clone(),
        ..Default::default()
    };
    let mut timing_known = true;
    let cap = match io::read_all(path, &opts) {
        Err(IoError::MissingField { field: "fs", .. }) if args.fs.is_none() => {
            // List what is there anyway; the sample rate is reported as unknown.
            timing_known = false;
            opts.fs = Some(1.0);
            io::read_all(path, &opts)?
        }
        r => r?,
    };
    let channels = cap.channels();
    let waveforms: Vec<Value> = cap
        .waveforms
        .iter()
        .map(|w| {
            let (lo, hi) = w.samples.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let (codes, gain, offset) = match &w.raw {
                Some(RawCodes::I8 { gain, offset, .. }) => (Some("int8"), Some(*gain), Some(*offset)),
                Some(RawCodes::I16 { gain, offset, .. }) => (Some("int16"), Some(*gain), Some(*offset)),
                None => (None, None, None),
            };
            let from_options = w.meta.extra.get("fs_source").map(String::as_str) == Some("options");
            json!({
                "channel": w.meta.channel,
                "segment": w.meta.extra.get("segment").and_then(|s| s.parse::<u64>().ok()),
                "samples": w.len(),
                "sample_rate_hz": if timing_known { Some(w.fs()) } else { None },
                "sample_rate_from": if !timing_known { "unknown" } else if from_options { "options" } else { "file" },
                "dt_s": if timing_known { Some(w.dt) } else { None },
                "t0_s": w.t0,
                "vertical_unit": w.meta.vertical_unit,
                "raw_codes": codes,
                "vertical_gain": gain,
                "vertical_offset": offset,
                "min": if w.is_empty() { None } else { Some(lo) },
                "max": if w.is_empty() { None } else { Some(hi) },
                "peak_to_peak": if w.is_empty() { None } else { Some(hi - lo) },
                "fields": w.meta.extra,
            })
        })
        .collect();
    let segments = channels.iter().map(|c| cap.segments_of(c).len()).max().unwrap_or(0);
    Ok(json!({
        "file": path.display().to_string(),
        "format": cap.format.name(),
        "channels": channels,
        "segments": segments,
        "waveforms": waveforms,
    }))
}

fn print_text(v: &Value) {
    let file = v["file"].as_str().unwrap_or("");
    if v["format"] == "touchstone" {
        println!(
            "{file}: Touchstone v{}, {} ports, {} points, {} .. {} (step {}), reference {} Ω",
            v["version"],
            v["ports"],
            v["points"],
            si(v["f_start_hz"].as_f64().unwrap_or(0.0), "Hz"),
            si(v["f_stop_hz"].as_f64().unwrap_or(0.0), "Hz"),
            si(v["f_step_hz"].as_f64().unwrap_or(0.0), "Hz"),
            v["reference_ohms"]
        );
        return;
    }
    let wf = v["waveforms"].as_array().cloned().unwrap_or_default();
    println!(
        "{file}: {}, {} waveform(s), channels {}, {} segment(s) per channel",
        v["format"].as_str().unwrap_or(""),
        wf.len(),
        v["channels"],
        v["segments"]
    );
    let mut printed_fields = false;
    for w in &wf {
        let ch = w["channel"].as_str().unwrap_or("(unnamed)");
        let seg = w["segment"].as_u64().map(|s| format!(" segment {s}")).unwrap_or_default();
        let unit = w["vertical_unit"].as_str().unwrap_or("V");
        let rate = match w["sample_rate_hz"].as_f64() {
            Some(fs) => format!("{}Sa/s (dt {})", si(fs, "").trim_end(), si(w["dt_s"].as_f64().unwrap_or(0.0), "s")),
            None => "sample rate not in file (pass --fs)".into(),
        };
        let scale = match (w["raw_codes"].as_str(), w["vertical_gain"].as_f64(), w["vertical_offset"].as_f64()) {
            (Some(t), Some(g), Some(o)) => format!(", {t} codes × {} + {}", si(g, unit), si(o, unit)),
            _ => String::new(),
        };
        let range = match (w["min"].as_f64(), w["max"].as_f64(), w["peak_to_peak"].as_f64()) {
            (Some(a), Some(b), Some(p)) => format!(", {} .. {} (pk-pk {})", si(a, unit), si(b, unit), si(p, unit)),
            _ => String::new(),
        };
        println!(
            "  {ch}{seg}: {} samples, {rate}, t0 {}{scale}{range}",
            w["samples"],
            si(w["t0_s"].as_f64().unwrap_or(0.0), "s")
        );
        if !printed_fields {
            if let Some(f) = w["fields"].as_object() {
                let text: Vec<String> = f.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
                println!("    {}", text.join(", "));
            }
            printed_fields = true;
        }
    }
}

/// Runs `lightlane info`.
pub fn run(args: &InfoArgs) -> Result<ExitCode> {
    let mut out = Vec::new();
    let mut failed = 0;
    for path in &args.files {
        match describe_capture(path, args) {
            Ok(v) => {
                if args.json.is_none() {
                    print_text(&v);
                }
                out.push(v);
            }
            Err(e) => {
                failed += 1;
                eprintln!("{}: error: {e:#}", path.display());
                out.push(json!({ "file": path.display().to_string(), "error": format!("{e:#}") }));
            }
        }
    }
    if let Some(dest) = &args.json {
        let text = serde_json::to_string_pretty(&out)?;
        if dest.as_os_str() == "-" {
            println!("{text}");
        } else {
            std::fs::write(dest, text).with_context(|| format!("writing {}", dest.display()))?;
        }
    }
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engineering_notation() {
        assert_eq!(si(3.2e-10, "s"), "320 ps");
        assert_eq!(si(40e9, "Hz"), "40 GHz");
        assert_eq!(si(-0.0815, "V"), "-81.5 mV");
        assert_eq!(si(1.0, "V"), "1 V");
    }

    #[test]
    fn reports_generated_files_and_failures() {
        let d = std::env::temp_dir().join(format!("lightlane-info-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let bin = d.join("a.bin");
        let mut w = lightlane::Waveform::new(vec![0.0, 1.0, -1.0, 0.5], 1e9).unwrap();
        w.meta.channel = Some("CH1".into());
        io::keysight::write(&bin, &[w]).unwrap();
        let npy = d.join("b.npy");
        io::npy::write(&npy, &[1i16, 2, 3]).unwrap();
        let bad = d.join("c.trc");
        std::fs::write(&bad, b"#9000000010WAVEDESC").unwrap();
        let json_path = d.join("info.json");
        let args = InfoArgs {
            files: vec![bin.clone(), npy.clone(), bad.clone()],
            json: Some(json_path.clone()),
            fs: None,
            metadata: None,
        };
        assert_eq!(run(&args).unwrap(), ExitCode::FAILURE);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        assert_eq!(v[0]["format"], "keysight-bin");
        assert_eq!(v[0]["waveforms"][0]["samples"], 4);
        // 1/dt of a 1 ns interval: 1e9 within rounding (JSON floats round-trip exactly).
        let fs = v[0]["waveforms"][0]["sample_rate_hz"].as_f64().unwrap();
        assert!((fs - 1e9).abs() < 1e-3, "{fs}");
        assert_eq!(v[0]["waveforms"][0]["peak_to_peak"], 2.0);
        assert_eq!(v[1]["waveforms"][0]["sample_rate_hz"], Value::Null);
        assert_eq!(v[1]["waveforms"][0]["raw_codes"], "int16");
        assert!(v[2]["error"].as_str().unwrap().contains("c.trc"));
        let ok = InfoArgs {
            files: vec![bin],
            json: None,
            fs: None,
            metadata: None,
        };
        assert_eq!(run(&ok).unwrap(), ExitCode::SUCCESS);
    }
}
