//! ngscopeclient / scopehal saved sessions: waveform data in the `densev1` layout with its
//! `scope_N_metadata.yml`.
//!
//! A session stores `scope_N_waveforms/waveform_K/channel_C.bin` (`channel_C_streamS.bin` for
//! stream S > 0): raw little-endian float32 values, no header. `scope_N_metadata.yml` lists
//! per waveform (`id: K`) and per channel (`index: C`, `stream: S`) the `format` (`densev1`),
//! `timescale` (femtoseconds per sample) and `trigphase` (femtoseconds from the trigger to the
//! first sample). Sample `i` lies at `trigphase + i * timescale` fs.
//!
//! The metadata file is found beside the session layout (`../../scope_N_metadata.yml`) or in
//! the data file's folder (a `*metadata.yml` whose name shares the data file's prefix), or is
//! given explicitly.

use crate::layout::{Described, Elem, Layout};
use crate::source::Input;
use crate::{IoError, Result};
use lightlane_core::waveform::WaveformMeta;
use std::path::{Path, PathBuf};

/// A node of the small YAML subset scopehal writes (nested maps of scalars).
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// `key: value` pairs in file order.
    Map(Vec<(String, Yaml)>),
    /// A scalar's text.
    Scalar(String),
}

impl Yaml {
    /// The child at `key` of a map.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            Yaml::Scalar(_) => None,
        }
    }

    /// The scalar text, if this is a scalar.
    pub fn text(&self) -> Option<&str> {
        match self {
            Yaml::Scalar(s) => Some(s),
            Yaml::Map(_) => None,
        }
    }

    /// Entries of a map (empty for a scalar).
    pub fn entries(&self) -> &[(String, Yaml)] {
        match self {
            Yaml::Map(m) => m,
            Yaml::Scalar(_) => &[],
        }
    }
}

/// Parses indentation-nested `key: value` YAML (no lists, no flow style, `#` comments).
pub fn parse_yaml(name: &str, text: &str) -> Result<Yaml> {
    struct Frame {
        indent: Option<usize>,
        key: String,
        entries: Vec<(String, Yaml)>,
    }
    fn close(stack: &mut Vec<Frame>) {
        if let Some(f) = stack.pop() {
            if let Some(top) = stack.last_mut() {
                top.entries.push((f.key, Yaml::Map(f.entries)));
            }
        }
    }
    let mut stack = vec![Frame {
        indent: None,
        key: String::new(),
        entries: Vec::new(),
    }];
    let mut pending: Option<(usize, String)> = None;
    for (ln, raw) in text.lines().enumerate() {
        let line = if raw.trim_start().starts_with('#') {
            ""
        } else {
            raw.find(" #").map(|i| &raw[..i]).unwrap_or(raw)
        };
        if line.trim().is_empty() || line.trim() == "---" {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = line.trim();
        let (key, value) = body
            .split_once(':')
            .ok_or_else(|| IoError::bad_at(name, "metadata line", ln + 1, format!("expected 'key: value', got '{}'", truncate(body))))?;
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
        if let Some((pi, pk)) = pending.take() {
            if indent > pi {
                if stack.len() > 64 {
                    return Err(IoError::bad_at(name, "metadata nesting", stack.len(), "too deep"));
                }
                stack.push(Frame {
                    indent: Some(indent),
                    key: pk,
                    entries: Vec::new(),
                });
            } else if let Some(top) = stack.last_mut() {
                top.entries.push((pk, Yaml::Map(Vec::new())));
            }
        }
        while stack.len() > 1 && stack.last().and_then(|f| f.indent).is_some_and(|i| indent < i) {
            close(&mut stack);
        }
        let top = stack.last_mut().expect("root frame stays");
        match top.indent {
            None => top.indent = Some(indent),
            Some(i) if i != indent => return Err(IoError::bad_at(name, "metadata indentation", ln + 1, "inconsistent nesting")),
            _ => {}
        }
        if value.is_empty() {
            pending = Some((indent, key));
        } else {
            top.entries.push((key, Yaml::Scalar(value)));
        }
    }
    if let Some((_, pk)) = pending.take() {
        if let Some(top) = stack.last_mut() {
            top.entries.push((pk, Yaml::Map(Vec::new())));
        }
    }
    while stack.len() > 1 {
        close(&mut stack);
    }
    Ok(Yaml::Map(stack.pop().map(|f| f.entries).unwrap_or_default()))
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Waveform id, channel index and stream parsed from a data file name such as
/// `waveform_1/channel_3.bin` or `..._waveform_1_channel_3_stream1.bin`.
pub fn ids_from_path(path: &Path) -> (Option<u64>, Option<u64>, u64) {
    let text = path.to_string_lossy().replace('\\', "/");
    let num_after = |pat: &str| -> Option<u64> {
        let i = text.rfind(pat)? + pat.len();
        let digits: String = text[i..].chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse().ok()
    };
    (num_after("waveform_"), num_after("channel_"), num_after("_stream").unwrap_or(0))
}

/// The metadata file of a densev1 data file, if one can be found.
pub fn find_metadata(data: &Path) -> Option<PathBuf> {
    let dir = data.parent()?;
    // Session layout: scope_N_waveforms/waveform_K/channel_C.bin
    if let (Some(wdir), Some(sdir)) = (dir.file_name(), dir.parent().and_then(|p| p.file_name())) {
        let s = sdir.to_string_lossy();
        if wdir.to_string_lossy().starts_with("waveform_") {
            if let Some(stem) = s.strip_suffix("_waveforms") {
                let m = dir.parent()?.parent()?.join(format!("{stem}_metadata.yml"));
                if m.is_file() {
                    return Some(m);
                }
            }
        }
    }
    // Flattened copies: PREFIXwaveform_K_channel_C... beside PREFIXscope_N_metadata.yml
    let fname = data.file_name()?.to_string_lossy().to_string();
    let prefix = &fname[..fname.find("waveform_")?];
    let mut best: Option<PathBuf> = None;
    for e in std::fs::read_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir }).ok()?.flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if n.ends_with("metadata.yml") && n.starts_with(prefix) {
            let rest = &n[prefix.len()..];
            if rest.starts_with("scope_") || rest == "metadata.yml" {
                if best.is_some() {
                    return None; // ambiguous
                }
                best = Some(e.path());
            }
        }
    }
    best
}

/// Describes a densev1 data file from its metadata text. `ids` selects the waveform id,
/// channel index and stream (from [`ids_from_path`]); when the metadata holds exactly one
/// channel, it is used whatever the ids.
pub fn describe(data: &Input<'_>, meta_name: &str, meta_text: &str, ids: (Option<u64>, Option<u64>, u64)) -> Result<Described> {
    if meta_text.len() > 1 << 20 {
        return Err(IoError::bad_at(meta_name, "metadata size", meta_text.len(), "larger than 1 MiB"));
    }
    let y = parse_yaml(meta_name, meta_text)?;
    let wfms = y
        .get("waveforms")
        .ok_or_else(|| IoError::missing(meta_name, "waveforms", "not a scopehal metadata file"))?;
    let mut all = Vec::new();
    for (wname, w) in wfms.entries() {
        let id = w.get("id").and_then(Yaml::text).and_then(|t| t.parse::<u64>().ok());
        if let Some(chs) = w.get("channels") {
            for (cname, c) in chs.entries() {
                let idx = c.get("index").and_then(Yaml::text).and_then(|t| t.parse::<u64>().ok());
                let stream = c.get("stream").and_then(Yaml::text).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
                all.push((wname.clone(), id, w, cname.clone(), idx, stream, c));
            }
        }
    }
    let (wid, cidx, cstream) = ids;
    let matching: Vec<_> = all
        .iter()
        .filter(|(_, id, _, _, idx, stream, _)| wid.is_none_or(|w| *id == Some(w)) && cidx.is_none_or(|c| *idx == Some(c)) && *stream == cstream)
        .collect();
    let chosen = match (matching.len(), all.len()) {
        (1, _) => matching[0],
        (_, 1) => &all[0],
        (0, _) => {
            return Err(IoError::NoSuchItem {
                path: meta_name.into(),
                what: "waveform/channel",
                requested: format!("waveform {wid:?} channel {cidx:?} stream {cstream}"),
                available: all.iter().map(|a| format!("{}/{}", a.0, a.3)).collect::<Vec<_>>().join(", "),
            })
        }
        (n, _) => {
            return Err(IoError::bad_at(meta_name, "channel", n, "several channels match the data file's name; pass the metadata's channel explicitly"))
        }
    };
    let (wname, id, w, cname, idx, stream, c) = chosen;
    let num = |node: &Yaml, key: &'static str| -> Result<f64> {
        node.get(key)
            .and_then(Yaml::text)
            .ok_or_else(|| IoError::missing(meta_name, key, format!("channel {cname} has no {key}")))?
            .parse::<f64>()
            .map_err(|_| IoError::bad_at(meta_name, key, node.get(key).and_then(Yaml::text).unwrap_or(""), "not a number"))
    };
    let format = c.get("format").and_then(Yaml::text).unwrap_or("densev1");
    if format != "densev1" {
        return Err(IoError::unsupported(meta_name, "format", format, "only the densev1 layout is read"));
    }
    let timescale = num(c, "timescale")?;
    let trigphase = c.get("trigphase").map(|_| num(c, "trigphase")).transpose()?.unwrap_or(0.0);
    let dt = timescale / 1e15;
    let t0 = trigphase / 1e15;
    crate::layout::check_timing(meta_name, dt, t0)?;
    if !data.len().is_multiple_of(4) {
        return Err(IoError::bad_at(data.name(), "length", data.len(), "densev1 data is float32: not a multiple of 4 bytes"));
    }
    let mut meta = WaveformMeta {
        source: None,
        channel: Some(idx.map(|i| format!("ch{i}")).unwrap_or_else(|| cname.clone())),
        vertical_unit: "V".into(),
        extra: Default::default(),
    };
    meta.extra.insert("format".into(), "ngscopeclient-densev1".into());
    meta.extra.insert("waveform".into(), wname.clone());
    if let Some(id) = id {
        meta.extra.insert("waveform_id".into(), id.to_string());
    }
    meta.extra.insert("stream".into(), stream.to_string());
    meta.extra.insert("timescale_fs".into(), format!("{timescale}"));
    meta.extra.insert("trigphase_fs".into(), format!("{trigphase}"));
    for key in ["timestamp", "time_fsec"] {
        if let Some(v) = w.get(key).and_then(Yaml::text) {
            meta.extra.insert(key.into(), v.into());
        }
    }
    Ok(Described {
        layout: Layout {
            offset: 0,
            count: data.len() / 4,
            elem: Elem::F32,
            big_endian: false,
            gain: 1.0,
            value_offset: 0.0,
        },
        dt,
        t0,
        meta,
    })
}

/// Reads the metadata file (at most 1 MiB).
pub fn read_metadata_text(path: &Path) -> Result<String> {
    let len = std::fs::metadata(path).map_err(|e| IoError::open(path, e))?.len();
    if len > 1 << 20 {
        return Err(IoError::bad(path, "metadata size", len, "larger than 1 MiB"));
    }
    std::fs::read_to_string(path).map_err(|e| IoError::open(path, e))
}

/// Describes the densev1 file at `data` with the metadata at `metadata` (found with
/// [`find_metadata`] when `None`).
pub fn describe_path(data: &Path, metadata: Option<&Path>) -> Result<(Input<'static>, Described)> {
    let meta_path = match metadata {
        Some(m) => m.to_path_buf(),
        None => find_metadata(data).ok_or_else(|| {
            IoError::missing(&data.display().to_string(), "metadata", "densev1 data needs its scope_N_metadata.yml (ReadOptions::metadata)")
        })?,
    };
    let text = read_metadata_text(&meta_path)?;
    let input = Input::open(data)?;
    let d = describe(&input, &meta_path.display().to_string(), &text, ids_from_path(data))?;
    Ok((input, d))
}

/// True when `path` is a densev1 data file whose metadata can be found.
pub fn sniff_path(path: &Path) -> bool {
    find_metadata(path)
        .and_then(|m| read_metadata_text(&m).ok())
        .map(|t| t.contains("densev1"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: &str = "waveforms:\n    wfm1:\n        timestamp: 1617349731\n        time_fsec: 9369\n        id:        1\n        channels:\n            ch3s0:\n                format:       densev1\n                index:        3\n                stream:       0\n                timescale:    25000\n                trigphase:    11336\n    wfm2:\n        id:        2\n        channels:\n            ch3s0:\n                format:       densev1\n                index:        3\n                stream:       0\n                timescale:    50000\n                trigphase:    6664\n";

    #[test]
    fn yaml_subset_nests() {
        let y = parse_yaml("m", META).unwrap();
        let w1 = y.get("waveforms").unwrap().get("wfm1").unwrap();
        assert_eq!(w1.get("id").unwrap().text(), Some("1"));
        let ch = w1.get("channels").unwrap().get("ch3s0").unwrap();
        assert_eq!(ch.get("trigphase").unwrap().text(), Some("11336"));
        let w2 = y.get("waveforms").unwrap().get("wfm2").unwrap();
        assert_eq!(w2.get("channels").unwrap().get("ch3s0").unwrap().get("timescale").unwrap().text(), Some("50000"));
        assert!(parse_yaml("m", "a: 1\n  b: 2\n").is_err());
        assert!(parse_yaml("m", "just text\n").is_err());
    }

    #[test]
    fn picks_waveform_by_id_and_converts_fs() {
        let bytes: Vec<u8> = [0.5f32, -0.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let input = Input::from_bytes("x", &bytes);
        let d = describe(&input, "m", META, (Some(2), Some(3), 0)).unwrap();
        assert_eq!(d.dt, 50000e-15);
        assert_eq!(d.t0, 6664e-15);
        assert_eq!(d.layout.count, 2);
        let d = describe(&input, "m", META, (Some(1), Some(3), 0)).unwrap();
        assert_eq!(d.dt, 25e-12);
        assert!(matches!(describe(&input, "m", META, (Some(9), Some(3), 0)), Err(IoError::NoSuchItem { .. })));
        let zero = META.replace("25000", "0");
        assert!(matches!(describe(&input, "m", &zero, (Some(1), Some(3), 0)), Err(IoError::BadField { .. })));
        let neg = META.replace("25000", "-5");
        assert!(describe(&input, "m", &neg, (Some(1), Some(3), 0)).is_err());
        let sparse = META.replace("densev1", "sparsev1");
        assert!(matches!(describe(&input, "m", &sparse, (Some(1), Some(3), 0)), Err(IoError::Unsupported { .. })));
        let odd = Input::from_bytes("x", &bytes[..7]);
        assert!(matches!(describe(&odd, "m", META, (Some(1), Some(3), 0)), Err(IoError::BadField { field: "length", .. })));
    }

    #[test]
    fn ids_from_names() {
        assert_eq!(ids_from_path(Path::new("s/scope_1_waveforms/waveform_12/channel_3.bin")), (Some(12), Some(3), 0));
        assert_eq!(ids_from_path(Path::new("10G_waveform_1_channel_3.densev1.f32le.bin")), (Some(1), Some(3), 0));
        assert_eq!(ids_from_path(Path::new("waveform_2/channel_1_stream1.bin")), (Some(2), Some(1), 1));
    }
}
