//! The effective analysis configuration of a capture: preset < config file < command-line flags
//! (and, where none of those says, the hints the capture file carries: baud, modulation, pattern).
//!
//! The TOML config file holds any [`AnalysisConfig`] field at top level (nested tables for the
//! nested structs; `equalizer` may be a chain string such as `"ctle,ffe:15,dfe:1"`), plus
//! `preset = "NAME"` (a `--preset` flag wins) and a `[limits]` table ([`Limits`]):
//!
//! ```toml
//! preset = "100GBASE-DR"
//! baud = 53.125e9
//! equalizer = "bt4,ffe:9"
//! training_symbols = 32768
//! [fec]
//! interleave = 2
//! [limits]
//! max_pre_fec_ber = 1e-4
//! ```
//!
//! A capture may carry its own settings in a file beside it named after it with the extension
//! replaced by `.lightlane.toml` (`opt1_dr4_slow.trc` → `opt1_dr4_slow.lightlane.toml`), in the
//! same format: it layers over the `--config` file for that capture only (its `preset` applies
//! when no `--preset` flag is given; its `[limits]` over the others), and the flags still win.
//! A campaign folder can so mix lanes of different PMDs in one run.

use crate::analyze_cmd::AnalyzeArgs;
use anyhow::{anyhow, bail, Context};
use lightlane::analysis::{AnalysisConfig, ClockRecovery, EqualizerChain, Limits, Preset};
use lightlane::timing::{CdrConfig, CdrKind};
use lightlane::{Modulation, Waveform};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Largest config file read, bytes (a config is a few hundred bytes).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Everything that decides the configuration, resolved once before any capture is read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The preset, when one was chosen (flag or config file).
    pub preset: Option<Preset>,
    /// Path of the config file.
    pub config_file: Option<PathBuf>,
    /// The config file's AnalysisConfig fields (JSON form), merged over the base.
    file_fields: serde_json::Map<String, Value>,
    /// Pass/fail limits: the preset's, then the config file's `[limits]`.
    pub limits: Limits,
    flags: Flags,
    /// `--preset` as given (it wins over any config file's `preset`).
    flag_preset: Option<String>,
    /// The config file's `preset` and `[limits]`, kept to layer a capture's own settings file.
    file_preset: Option<String>,
    file_limits: Option<Value>,
}

/// Suffix of a capture's own settings file (replacing the capture's extension).
pub const CAPTURE_SETTINGS_SUFFIX: &str = ".lightlane.toml";

/// The settings file of `capture` (it may not exist).
pub fn capture_settings_path(capture: &Path) -> PathBuf {
    let stem = capture.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    capture.with_file_name(format!("{stem}{CAPTURE_SETTINGS_SUFFIX}"))
}

/// The command-line flags that override a configuration.
#[derive(Debug, Clone, Default)]
struct Flags {
    modulation: Option<Modulation>,
    baud: Option<f64>,
    pattern: Option<String>,
    equalizer: Option<EqualizerChain>,
    clock: Option<ClockRecovery>,
    precoding: bool,
}

/// Parses `--cdr`: `pll[:CORNER_MHZ[:ORDER]]`, `mm`, `gardner`, `bangbang` or `none`.
pub fn parse_clock(spec: &str) -> anyhow::Result<ClockRecovery> {
    let parts: Vec<&str> = spec.split(':').collect();
    let bad = || anyhow!("--cdr {spec}: expected pll[:CORNER_MHZ[:ORDER]], mm, gardner, bangbang or none");
    let kind = match parts.as_slice() {
        ["none"] => return Ok(ClockRecovery::Fixed),
        ["pll", rest @ ..] => {
            let corner_mhz: f64 = rest.first().map(|v| v.parse()).transpose().map_err(|_| bad())?.unwrap_or(4.0);
            let order: u8 = rest.get(1).map(|v| v.parse()).transpose().map_err(|_| bad())?.unwrap_or(1);
            if rest.len() > 2 || !(corner_mhz.is_finite() && corner_mhz > 0.0) {
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

/// Deep merge: tables merge key by key, anything else replaces.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// A config file split into its parts: preset name, `[limits]` table, AnalysisConfig fields.
type ConfigParts = (Option<String>, Option<Value>, serde_json::Map<String, Value>);

/// The preset (`--preset` wins over a config file's) and the limits: the preset's, then each
/// `[limits]` table in order.
fn layer_preset_and_limits(flag: Option<&str>, file: Option<&str>, tables: &[Option<&Value>]) -> anyhow::Result<(Option<Preset>, Limits)> {
    let preset = match flag.or(file) {
        Some(name) => Some(Preset::named(name)?),
        None => None,
    };
    let mut limits = preset.as_ref().map(|p| p.limits.clone()).unwrap_or_default();
    for l in tables.iter().flatten() {
        let mut v = serde_json::to_value(&limits)?;
        merge(&mut v, l);
        limits = serde_json::from_value(v).context("config [limits]")?;
    }
    limits.validate()?;
    Ok((preset, limits))
}

/// Reads and checks a TOML config file.
fn read_config_file(path: &Path) -> anyhow::Result<ConfigParts> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading config {}", path.display()))?;
    if meta.len() > MAX_CONFIG_BYTES {
        bail!("config {}: {} bytes is too large for a config file (at most {MAX_CONFIG_BYTES})", path.display(), meta.len());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("config {}: not valid TOML", path.display()))?;
    let mut fields = match serde_json::to_value(&table)? {
        Value::Object(m) => m,
        _ => unreachable!("a TOML document is a table"),
    };
    let preset = match fields.remove("preset") {
        None => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => bail!("config {}: preset must be a string, got {other}", path.display()),
    };
    let limits = fields.remove("limits");
    if let Some(Value::String(spec)) = fields.get("equalizer") {
        let chain: EqualizerChain = spec.parse().with_context(|| format!("config {}", path.display()))?;
        fields.insert("equalizer".into(), serde_json::to_value(chain)?);
    }
    if let Some(Value::String(spec)) = fields.get("clock") {
        let clock = parse_clock(spec).with_context(|| format!("config {}: clock", path.display()))?;
        fields.insert("clock".into(), serde_json::to_value(clock)?);
    }
    let known = match serde_json::to_value(AnalysisConfig::default())? {
        Value::Object(m) => m,
        _ => unreachable!("AnalysisConfig serializes to a map"),
    };
    for key in fields.keys() {
        if !known.contains_key(key) {
            let names: Vec<&str> = known.keys().map(String::as_str).collect();
            bail!(
                "config {}: unknown key '{key}' (known: preset, limits, {})",
                path.display(),
                names.join(", ")
            );
        }
    }
    Ok((preset, limits, fields))
}

impl Settings {
    /// Resolves the preset, config file and flags of `args`. Errors here are fatal (usage).
    pub fn from_args(args: &AnalyzeArgs) -> anyhow::Result<Settings> {
        let (file_preset, file_limits, file_fields) = match &args.config {
            Some(p) => read_config_file(p)?,
            None => (None, None, serde_json::Map::new()),
        };
        let (preset, limits) = layer_preset_and_limits(args.preset.as_deref(), file_preset.as_deref(), &[file_limits.as_ref()])?;
        if let Some(p) = &args.pattern {
            // Fail fast on a bad pattern name or file, before reading any capture.
            lightlane::pattern::Pattern::parse(p)?;
        }
        let equalizer = match (&args.equalizer, args.ffe_taps, args.ffe_sps) {
            (Some(spec), _, _) => Some(spec.parse::<EqualizerChain>()?),
            (None, None, None) => None,
            (None, taps, sps) => {
                let taps = taps.unwrap_or(15);
                if taps == 0 || taps > 1024 {
                    bail!("--ffe-taps {taps} is outside 1..=1024");
                }
                let sps = sps.unwrap_or(1);
                if sps != 1 && sps != 2 {
                    bail!("--ffe-sps {sps}: expected 1 or 2");
                }
                Some(format!("ffe:{taps}:{}", if sps == 2 { "t2" } else { "t" }).parse()?)
            }
        };
        let flags = Flags {
            modulation: args.modulation.as_deref().map(str::parse).transpose()?,
            baud: args.baud,
            pattern: args.pattern.clone(),
            equalizer,
            clock: args.cdr.as_deref().map(parse_clock).transpose()?,
            precoding: args.precoding,
        };
        let s = Settings {
            preset,
            config_file: args.config.clone(),
            file_fields,
            limits,
            flags,
            flag_preset: args.preset.clone(),
            file_preset,
            file_limits,
        };
        // Check the layering once without a capture, so a bad config fails before any work.
        let base = s.resolve(None)?;
        if base.baud.is_some() {
            base.validate()?;
        }
        Ok(s)
    }

    /// The settings for one capture: these, with the capture's own settings file
    /// ([`capture_settings_path`]) layered over the config file when it exists (`None` when
    /// it does not). Errors name the settings file.
    pub fn for_capture(&self, capture: &Path) -> anyhow::Result<Option<Settings>> {
        let path = capture_settings_path(capture);
        if !path.is_file() {
            return Ok(None);
        }
        let (own_preset, own_limits, own_fields) = read_config_file(&path)?;
        let file_preset = own_preset.or_else(|| self.file_preset.clone());
        let (preset, limits) = layer_preset_and_limits(
            self.flag_preset.as_deref(),
            file_preset.as_deref(),
            &[self.file_limits.as_ref(), own_limits.as_ref()],
        )
        .with_context(|| format!("settings {}", path.display()))?;
        let mut fields = Value::Object(self.file_fields.clone());
        merge(&mut fields, &Value::Object(own_fields));
        let Value::Object(file_fields) = fields else { unreachable!("merging maps gives a map") };
        let s = Settings {
            preset,
            config_file: Some(path.clone()),
            file_fields,
            limits,
            flags: self.flags.clone(),
            flag_preset: self.flag_preset.clone(),
            file_preset,
            file_limits: self.file_limits.clone(),
        };
        s.resolve(None).with_context(|| format!("settings {}", path.display()))?;
        Ok(Some(s))
    }

    /// The configuration for `wf` (or, with `None`, without file hints).
    pub fn resolve(&self, wf: Option<&Waveform>) -> anyhow::Result<AnalysisConfig> {
        let hint = |key: &str| wf.and_then(|w| w.meta.extra.get(key)).map(String::as_str);
        let mut config = match &self.preset {
            Some(p) => p.config.clone(),
            None => {
                let modulation: Modulation = match self.flags.modulation {
                    Some(m) => m,
                    None => match hint("modulation") {
                        Some(m) => m.parse()?,
                        None => Modulation::Pam4,
                    },
                };
                let mut c = match modulation {
                    Modulation::Pam4 => AnalysisConfig::pam4(0.0),
                    Modulation::Nrz => AnalysisConfig::nrz(0.0),
                };
                c.baud = hint("baud").and_then(|b| b.parse::<f64>().ok());
                if let Some(p) = hint("pattern") {
                    c.pattern = p.to_string();
                }
                c.equalizer = "ffe:15:t".parse()?;
                c.ffe.reference_tap = None;
                c
            }
        };
        if !self.file_fields.is_empty() {
            let mut v = serde_json::to_value(&config)?;
            merge(&mut v, &Value::Object(self.file_fields.clone()));
            config = serde_json::from_value(v).with_context(|| {
                format!("config {}", self.config_file.as_deref().unwrap_or(Path::new("?")).display())
            })?;
        }
        if let Some(m) = self.flags.modulation {
            config.modulation = m;
        }
        if let Some(b) = self.flags.baud {
            config.baud = Some(b);
        }
        if let Some(p) = &self.flags.pattern {
            config.pattern = p.clone();
        }
        if let Some(e) = &self.flags.equalizer {
            config.equalizer = e.clone();
        }
        if let Some(c) = &self.flags.clock {
            config.clock = c.clone();
        }
        if self.flags.precoding {
            config.precoding = true;
        }
        Ok(config)
    }

    /// What the configuration came from, for messages (`preset X, config Y`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.preset {
            parts.push(format!("preset {}", p.name));
        }
        if let Some(c) = &self.config_file {
            parts.push(format!("config {}", c.display()));
        }
        if parts.is_empty() {
            "defaults and file hints".into()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: AnalyzeArgs,
    }

    fn args(list: &[&str]) -> AnalyzeArgs {
        let mut v = vec!["x"];
        v.extend_from_slice(list);
        Wrap::try_parse_from(v).unwrap().args
    }

    fn write(name: &str, text: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lightlane-settings-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn preset_then_config_then_flags() {
        let cfg = write(
            "layer.toml",
            "preset = \"100GBASE-DR\"\nequalizer = \"bt4,ffe:9\"\ntraining_symbols = 4096\n[fec]\ninterleave = 2\n[limits]\nmax_pre_fec_ber = 1e-4\n",
        );
        let s = Settings::from_args(&args(&["--config", cfg.to_str().unwrap()])).unwrap();
        let c = s.resolve(None).unwrap();
        assert_eq!(s.preset.as_ref().unwrap().name, "100GBASE-DR");
        assert_eq!(c.baud, Some(53.125e9)); // preset
        assert_eq!(c.pattern, "ssprq"); // preset
        assert_eq!(c.equalizer.to_string(), "bt4,ffe:9".parse::<EqualizerChain>().unwrap().to_string()); // config
        assert_eq!(c.training_symbols, 4096);
        assert_eq!(c.fec.as_ref().unwrap().interleave, 2); // nested merge keeps the code
        assert_eq!(s.limits.max_pre_fec_ber, Some(1e-4));
        assert_eq!(s.limits.max_tdecq_db, Some(3.4)); // preset limit kept
        // Flags beat both, and --preset beats the file's preset.
        let s = Settings::from_args(&args(&["--config", cfg.to_str().unwrap(), "--preset", "400GBASE-DR4", "--ffe-taps", "7", "--baud", "26.5625e9"])).unwrap();
        let c = s.resolve(None).unwrap();
        assert_eq!(s.preset.as_ref().unwrap().name, "400GBASE-DR4");
        assert_eq!(c.pattern, "prbs13q");
        assert_eq!(c.baud, Some(26.5625e9));
        assert_eq!(c.equalizer.ffe().unwrap().0, 7);
    }

    #[test]
    fn file_hints_fill_only_what_nothing_else_set() {
        let mut wf = Waveform::new(vec![0.0; 16], 1e12).unwrap();
        wf.meta.extra.insert("baud".into(), "2.5e10".into());
        wf.meta.extra.insert("pattern".into(), "prbs9".into());
        wf.meta.extra.insert("modulation".into(), "nrz".into());
        let s = Settings::from_args(&args(&[])).unwrap();
        let c = s.resolve(Some(&wf)).unwrap();
        assert_eq!((c.modulation, c.baud, c.pattern.as_str()), (Modulation::Nrz, Some(25e9), "prbs9"));
        let s = Settings::from_args(&args(&["--preset", "100gbase-fr1"])).unwrap();
        let c = s.resolve(Some(&wf)).unwrap();
        assert_eq!((c.modulation, c.baud, c.pattern.as_str()), (Modulation::Pam4, Some(53.125e9), "ssprq"));
    }

    #[test]
    fn bad_configs_are_clear_errors() {
        let cases = [
            ("typo.toml", "trainig_symbols = 5\n", "unknown key 'trainig_symbols'"),
            ("syntax.toml", "baud = = 3\n", "not valid TOML"),
            ("chain.toml", "equalizer = \"ffe:x\"\n", "tap count"),
            ("preset.toml", "preset = \"100GBASE-ZZ\"\n", "unknown preset"),
            ("limit.toml", "[limits]\nmax_pre_fec_ber = 0.9\n", "max_pre_fec_ber"),
            ("type.toml", "training_symbols = \"many\"\n", "config"),
            ("baud.toml", "baud = -1.0\n", "baud"),
        ];
        for (name, text, needle) in cases {
            let p = write(name, text);
            let e = Settings::from_args(&args(&["--config", p.to_str().unwrap()])).unwrap_err();
            let msg = format!("{e:#}");
            assert!(msg.contains(needle), "{name}: expected '{needle}' in {msg}");
        }
        let e = Settings::from_args(&args(&["--config", "/nonexistent/x.toml"])).unwrap_err();
        assert!(format!("{e:#}").contains("/nonexistent/x.toml"));
    }
}
