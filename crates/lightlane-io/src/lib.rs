//! # lightlane-io
//!
//! Capture file readers and writers producing [`lightlane_core::Waveform`].
//!
//! Formats are detected from content first (magic bytes, header structure), then from side
//! files and the extension:
//! - Keysight/Agilent Infiniium and InfiniiVision `.bin`, every waveform and buffer ([`keysight`]);
//! - Tektronix `.wfm` `WFM#001`–`#003`, FastFrame frames as segments ([`tek`]);
//! - Teledyne LeCroy `.trc` (`LECROY_2_3`), sequence-mode segments ([`lecroy`]);
//! - CSV with a time column or a header sample interval, vendor headers ([`csv`]);
//! - NumPy `.npy` and `.npz` ([`npy`], [`npz`]); MATLAB level-5 `.mat` ([`mat`]);
//! - raw binary samples with a JSON sidecar ([`raw`]);
//! - ngscopeclient `densev1` data with its `scope_N_metadata.yml` ([`densev1`]);
//! - Touchstone `.sNp` channels, read with [`touchstone`] (not a waveform).
//!
//! A file may hold several channels and segments: [`read_all`] returns them all as a
//! [`Capture`] (segments carry `meta.extra["segment"]`), [`read_capture`] returns one, chosen
//! with [`ReadOptions::channel`]/[`ReadOptions::segment`] (default: the first analog channel,
//! first segment). Integer formats keep the raw ADC codes with their gain and offset in
//! [`Waveform::raw`]. Fixed-layout formats can be read a chunk at a time with [`open_stream`].
//!
//! No input makes a reader panic, and no header length is trusted before it is checked against
//! the file size: corrupt files give a typed [`IoError`] naming the file, field and value.
//!
//! ```no_run
//! let opts = lightlane_io::ReadOptions { fs: Some(256e9), ..Default::default() };
//! let wf = lightlane_io::read_capture("capture.npy".as_ref(), &opts).unwrap();
//! println!("{} samples at {} Sa/s", wf.len(), wf.fs());
//! let all = lightlane_io::read_all("scope.trc".as_ref(), &Default::default()).unwrap();
//! println!("{:?}: {} waveforms, channels {:?}", all.format, all.waveforms.len(), all.channels());
//! ```

pub mod csv;
pub mod densev1;
pub mod error;
pub mod keysight;
pub mod layout;
pub mod lecroy;
pub mod mat;
pub mod npy;
pub mod npz;
pub mod raw;
pub mod source;
pub mod tek;
pub mod touchstone;

pub use error::{IoError, Result};
pub use layout::{Chunk, SampleStream};
pub use source::Input;

use layout::Described;
use lightlane_core::waveform::WaveformMeta;
use lightlane_core::Waveform;
use std::path::{Path, PathBuf};

/// Options that apply to every reader.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Sample rate in Hz for formats that carry no timing (`.npy`, `.npz`, `.mat` without an
    /// `fs` variable, CSV without a time column); overrides nothing in formats that do, unless
    /// `force_fs` is set.
    pub fs: Option<f64>,
    /// Use `fs` even when the file has its own timing.
    pub force_fs: bool,
    /// Channel to return from [`read_capture`]: index into [`Capture::channels`].
    pub channel: Option<usize>,
    /// Channel to return, by label (`C1`, `CH1`, `rxSamples`, ...; case-insensitive).
    /// Takes precedence over `channel`.
    pub channel_name: Option<String>,
    /// Segment (FastFrame frame, sequence segment) of the channel to return; default 0.
    pub segment: Option<usize>,
    /// Metadata file of an ngscopeclient densev1 capture, when it cannot be found beside it.
    pub metadata: Option<PathBuf>,
}

/// Capture formats lightlane reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// NumPy `.npy`.
    Npy,
    /// Raw samples + JSON sidecar.
    RawWithSidecar,
    /// NumPy `.npz` archive.
    Npz,
    /// MATLAB level-5 `.mat`.
    Mat,
    /// Teledyne LeCroy `.trc`.
    LeCroy,
    /// Tektronix `.wfm`.
    Tektronix,
    /// Keysight/Agilent `.bin`.
    Keysight,
    /// Delimited text.
    Csv,
    /// ngscopeclient densev1 data + metadata.
    DenseV1,
    /// Touchstone `.sNp` (frequency-domain channel data, read with [`touchstone::read`]).
    Touchstone,
}

impl Format {
    /// Short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Npy => "npy",
            Format::RawWithSidecar => "raw+json",
            Format::Npz => "npz",
            Format::Mat => "mat",
            Format::LeCroy => "lecroy-trc",
            Format::Tektronix => "tek-wfm",
            Format::Keysight => "keysight-bin",
            Format::Csv => "csv",
            Format::DenseV1 => "ngscopeclient-densev1",
            Format::Touchstone => "touchstone",
        }
    }

    /// True for formats whose samples lie in fixed blocks (readable with [`open_stream`]).
    pub fn is_fixed_layout(self) -> bool {
        matches!(
            self,
            Format::Npy | Format::RawWithSidecar | Format::LeCroy | Format::Tektronix | Format::Keysight | Format::DenseV1
        )
    }
}

/// Detects the format from the first bytes alone (no side files, no extension).
pub fn detect_bytes(head: &[u8]) -> Option<Format> {
    if head.len() >= 6 && &head[..6] == npy::MAGIC {
        Some(Format::Npy)
    } else if tek::sniff(head) {
        Some(Format::Tektronix)
    } else if lecroy::sniff(head) {
        Some(Format::LeCroy)
    } else if keysight::sniff(head) {
        Some(Format::Keysight)
    } else if mat::sniff(head) || head.starts_with(b"MATLAB 7.3 MAT-file") {
        Some(Format::Mat)
    } else if npz::sniff(head) {
        Some(Format::Npz)
    } else if touchstone::sniff(head) {
        Some(Format::Touchstone)
    } else if csv::sniff(head) {
        Some(Format::Csv)
    } else {
        None
    }
}

/// Detects the format of `path` from its first bytes, then from side files (a JSON sidecar,
/// a densev1 metadata file), then from the extension.
pub fn detect_format(path: &Path) -> Result<Format> {
    let input = Input::open(path)?;
    let head = input.head(4096)?;
    let by_content = detect_bytes(&head);
    match by_content {
        Some(f) if f != Format::Csv && f != Format::Touchstone => return Ok(f),
        _ => {}
    }
    if raw::sidecar_path(path).is_some() {
        return Ok(Format::RawWithSidecar);
    }
    if densev1::sniff_path(path) {
        return Ok(Format::DenseV1);
    }
    if let Some(f) = by_content {
        return Ok(f);
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let by_ext = match ext.as_str() {
        "npy" => Some(Format::Npy),
        "npz" => Some(Format::Npz),
        "mat" => Some(Format::Mat),
        "trc" => Some(Format::LeCroy),
        "wfm" => Some(Format::Tektronix),
        "csv" | "txt" => Some(Format::Csv),
        _ if touchstone::ports_from_extension(path).is_some() => Some(Format::Touchstone),
        _ => None,
    };
    by_ext.ok_or_else(|| IoError::UnknownFormat {
        path: path.display().to_string(),
        reason: "no known magic bytes, no JSON sidecar or densev1 metadata beside it, and an unknown extension".into(),
    })
}

/// Everything a capture file holds: every channel and segment, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    /// The file's format.
    pub format: Format,
    /// One waveform per channel and segment (segments carry `meta.extra["segment"]`).
    pub waveforms: Vec<Waveform>,
}

fn label(meta: &WaveformMeta) -> String {
    meta.channel.clone().unwrap_or_default()
}

fn is_auxiliary(meta: &WaveformMeta) -> bool {
    matches!(meta.extra.get("kind").map(String::as_str), Some("logic" | "counts" | "time"))
}

/// Index of the waveform `options` selects among `items` (meta, sample count).
fn select_index(name: &str, format: Format, items: &[(&WaveformMeta, u64)], options: &ReadOptions) -> Result<usize> {
    let mut channels: Vec<String> = Vec::new();
    for (m, _) in items {
        let l = label(m);
        if !channels.contains(&l) {
            channels.push(l);
        }
    }
    if items.is_empty() {
        return Err(IoError::missing(name, "waveforms", "the file holds no waveform"));
    }
    let available = || channels.iter().map(|c| if c.is_empty() { "(unnamed)".to_string() } else { c.clone() }).collect::<Vec<_>>().join(", ");
    let chan = if let Some(want) = &options.channel_name {
        channels.iter().find(|c| c.eq_ignore_ascii_case(want)).cloned().ok_or_else(|| IoError::NoSuchItem {
            path: name.into(),
            what: "channel",
            requested: want.clone(),
            available: available(),
        })?
    } else if let Some(i) = options.channel {
        channels.get(i).cloned().ok_or_else(|| IoError::NoSuchItem {
            path: name.into(),
            what: "channel",
            requested: i.to_string(),
            available: available(),
        })?
    } else if matches!(format, Format::Mat | Format::Npz) {
        // Variables: the longest one is the capture (the first of equals).
        let mut best = 0;
        for (i, (_, n)) in items.iter().enumerate() {
            if *n > items[best].1 {
                best = i;
            }
        }
        label(items[best].0)
    } else {
        items.iter().find(|(m, _)| !is_auxiliary(m)).map(|(m, _)| label(m)).unwrap_or_else(|| label(items[0].0))
    };
    let of_channel: Vec<usize> = (0..items.len()).filter(|&i| label(items[i].0) == chan).collect();
    let seg = options.segment.unwrap_or(0);
    of_channel.get(seg).copied().ok_or_else(|| IoError::NoSuchItem {
        path: name.into(),
        what: "segment",
        requested: seg.to_string(),
        available: format!("{} segment(s) of channel {chan}", of_channel.len()),
    })
}

impl Capture {
    /// Distinct channel labels in file order (`""` for unnamed).
    pub fn channels(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for w in &self.waveforms {
            let l = label(&w.meta);
            if !out.contains(&l) {
                out.push(l);
            }
        }
        out
    }

    /// The waveforms of one channel (its segments), in order.
    pub fn segments_of(&self, channel: &str) -> Vec<&Waveform> {
        self.waveforms.iter().filter(|w| label(&w.meta) == channel).collect()
    }

    /// Index in [`Capture::waveforms`] of the waveform `options` selects.
    pub fn select(&self, options: &ReadOptions) -> Result<usize> {
        let items: Vec<(&WaveformMeta, u64)> = self.waveforms.iter().map(|w| (&w.meta, w.len() as u64)).collect();
        let name = self.waveforms.first().and_then(|w| w.meta.source.clone()).unwrap_or_default();
        select_index(&name, self.format, &items, options)
    }
}

fn need_fs(name: &str, options: &ReadOptions, what: &str) -> Result<f64> {
    options.fs.ok_or_else(|| IoError::MissingField {
        path: name.to_string(),
        field: "fs",
        hint: format!("{what} files carry no sample rate: pass --fs (or fs=) "),
    })
}

fn load_all(input: &Input<'_>, described: Vec<Described>) -> Result<Vec<Waveform>> {
    described.into_iter().map(|d| layout::load(input, d)).collect()
}

/// Describes the fixed-layout formats without reading samples.
fn describe_fixed(path: &Path, format: Format, options: &ReadOptions) -> Result<(Input<'static>, Vec<Described>)> {
    let name = path.display().to_string();
    Ok(match format {
        Format::LeCroy => {
            let i = Input::open(path)?;
            let d = lecroy::describe(&i)?;
            (i, d)
        }
        Format::Tektronix => {
            let i = Input::open(path)?;
            let d = tek::describe(&i)?;
            (i, d)
        }
        Format::Keysight => {
            let i = Input::open(path)?;
            let d = keysight::describe(&i)?;
            (i, d)
        }
        Format::Npy => {
            let fs = need_fs(&name, options, ".npy")?;
            let i = Input::open(path)?;
            let d = npy::describe(&i, fs)?;
            (i, vec![d])
        }
        Format::RawWithSidecar => {
            let (sp, side) = raw::read_sidecar(path)?;
            let i = Input::open(path)?;
            let d = raw::describe(&i, &sp, &side)?;
            (i, vec![d])
        }
        Format::DenseV1 => {
            let (i, d) = densev1::describe_path(path, options.metadata.as_deref())?;
            (i, vec![d])
        }
        other => {
            return Err(IoError::unsupported(&name, "format", other.name(), "not a fixed-layout format (stream CSV/MAT/NPZ by reading them whole)"))
        }
    })
}

/// Reads a `.npz` archive: every 1-D member as a waveform named after it. A scalar member
/// named `fs`/`Fs`/`sample_rate` gives the sample rate.
fn read_npz(input: &Input<'_>, options: &ReadOptions) -> Result<Vec<Waveform>> {
    let name = input.name().to_string();
    let mut out = Vec::new();
    let mut file_fs = None;
    let mut first_err = None;
    for m in npz::members(input)? {
        let data = match npz::member_data(input, &m) {
            Ok(d) => d,
            Err(e) => {
                first_err.get_or_insert(e);
                continue;
            }
        };
        let inflated;
        let member: &Input<'_> = match &data {
            npz::MemberData::Stored(i) => i,
            npz::MemberData::Inflated(v) => {
                inflated = Input::from_bytes(name.clone(), v);
                &inflated
            }
        };
        let header = match npy::read_header(member) {
            Ok(h) => h,
            Err(e) => {
                first_err.get_or_insert(e);
                continue;
            }
        };
        if header.len() == Some(1) && is_fs_name(m.array_name()) {
            if let Ok((_, d)) = npy::read_input(member) {
                let v = match d {
                    npy::Data::F64(v) => v.first().copied(),
                    other => other.to_f32().first().map(|&x| x as f64),
                };
                file_fs = v.filter(|v| v.is_finite() && *v > 0.0);
            }
            continue;
        }
        // Timing is set below, once the archive's own sample rate is known.
        match npy::describe(member, 1.0).and_then(|d| layout::load(member, d)) {
            Ok(mut w) => {
                w.meta.channel = Some(m.array_name().to_string());
                w.meta.extra.insert("format".into(), "npz".into());
                out.push(w);
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if out.is_empty() {
        return Err(first_err.unwrap_or_else(|| IoError::missing(&name, "arrays", "the .npz archive holds no 1-D array")));
    }
    let fs = match (file_fs, options.fs, options.force_fs) {
        (_, Some(fs), true) | (None, Some(fs), _) => fs,
        (Some(fs), _, _) => fs,
        (None, None, _) => need_fs(&name, options, ".npz")?,
    };
    if !(fs.is_finite() && fs > 0.0) {
        return Err(IoError::bad_at(&name, "fs", fs, "sample rate must be positive"));
    }
    let from_options = file_fs.is_none() || options.force_fs;
    for w in &mut out {
        w.dt = 1.0 / fs;
        if from_options {
            w.meta.extra.insert("fs_source".into(), "options".into());
        }
    }
    Ok(out)
}

fn is_fs_name(n: &str) -> bool {
    matches!(n, "fs" | "Fs" | "FS" | "fsamp" | "SampleRate" | "sample_rate")
}

/// Reads every waveform of an in-memory capture of the given format (the formats that need a
/// side file, raw + sidecar and densev1, are read through their modules).
pub fn read_input(input: &Input<'_>, format: Format, options: &ReadOptions) -> Result<Capture> {
    let name = input.name().to_string();
    let waveforms = match format {
        Format::LeCroy => load_all(input, lecroy::describe(input)?)?,
        Format::Tektronix => load_all(input, tek::describe(input)?)?,
        Format::Keysight => load_all(input, keysight::describe(input)?)?,
        Format::Npy => {
            let fs = need_fs(&name, options, ".npy")?;
            let mut w = layout::load(input, npy::describe(input, fs)?)?;
            w.meta.extra.insert("fs_source".into(), "options".into());
            vec![w]
        }
        Format::Npz => read_npz(input, options)?,
        Format::Mat => {
            let arrays = mat::read_arrays(input)?;
            let dt = match (mat::file_dt(&arrays), options.fs, options.force_fs) {
                (_, Some(fs), true) | (None, Some(fs), _) => 1.0 / fs,
                (Some(dt), _, _) => dt,
                (None, None, _) => 1.0 / need_fs(&name, options, ".mat (without an fs variable)")?,
            };
            let from_options = options.force_fs || mat::file_dt(&arrays).is_none();
            let mut w = mat::to_waveforms(&name, arrays, dt)?;
            if from_options {
                w.iter_mut().for_each(|w| {
                    w.meta.extra.insert("fs_source".into(), "options".into());
                });
            }
            w
        }
        Format::Csv => {
            let bytes = input.read_all_bytes()?;
            csv::parse(&name, &String::from_utf8_lossy(&bytes), options.fs)?
        }
        Format::Touchstone => {
            return Err(IoError::unsupported(&name, "format", "touchstone", "a Touchstone file is a channel, not a capture: use touchstone::read"))
        }
        Format::RawWithSidecar | Format::DenseV1 => {
            return Err(IoError::unsupported(&name, "format", format.name(), "needs its side file: read it from a path"))
        }
    };
    Ok(Capture { format, waveforms })
}

/// Reads an in-memory capture, detecting the format from its content.
pub fn read_bytes(name: &str, bytes: &[u8], options: &ReadOptions) -> Result<Capture> {
    let format = detect_bytes(&bytes[..bytes.len().min(4096)]).ok_or_else(|| IoError::UnknownFormat {
        path: name.into(),
        reason: "no known magic bytes or text layout".into(),
    })?;
    read_input(&Input::from_bytes(name, bytes), format, options)
}

/// Reads every channel and segment of a capture file.
pub fn read_all(path: &Path, options: &ReadOptions) -> Result<Capture> {
    let format = detect_format(path)?;
    let mut cap = match format {
        Format::RawWithSidecar | Format::DenseV1 => {
            let (input, d) = describe_fixed(path, format, options)?;
            Capture {
                format,
                waveforms: load_all(&input, d)?,
            }
        }
        _ => read_input(&Input::open(path)?, format, options)?,
    };
    let from_options = options.force_fs;
    for w in &mut cap.waveforms {
        if options.force_fs {
            if let Some(fs) = options.fs {
                if !(fs.is_finite() && fs > 0.0) {
                    return Err(IoError::bad(path, "fs", fs, "sample rate must be positive"));
                }
                w.dt = 1.0 / fs;
            }
        }
        if from_options {
            w.meta.extra.insert("fs_source".into(), "options".into());
        }
        if w.meta.source.is_none() {
            w.meta.source = Some(path.display().to_string());
        }
    }
    Ok(cap)
}

/// Reads a capture file of any supported format into a [`Waveform`]: the channel and segment
/// that `options` selects (default: the first analog channel, first segment).
pub fn read_capture(path: &Path, options: &ReadOptions) -> Result<Waveform> {
    let mut cap = read_all(path, options)?;
    let i = select_index(
        &path.display().to_string(),
        cap.format,
        &cap.waveforms.iter().map(|w| (&w.meta, w.len() as u64)).collect::<Vec<_>>(),
        options,
    )?;
    // Later segments carry only their own fields: complete them from the channel's first.
    let first = cap.waveforms.iter().position(|w| label(&w.meta) == label(&cap.waveforms[i].meta)).unwrap_or(i);
    let inherited: Vec<(String, String)> = if first != i {
        cap.waveforms[first].meta.extra.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    } else {
        Vec::new()
    };
    let mut wf = cap.waveforms.swap_remove(i);
    for (k, v) in inherited {
        wf.meta.extra.entry(k).or_insert(v);
    }
    // Every reader checked timing and finiteness; force_fs changed dt only to a checked value.
    Ok(wf)
}

/// Opens a fixed-layout capture (LeCroy, Tektronix, Keysight, `.npy`, raw + sidecar, densev1)
/// for chunked reading of its first analog channel, first segment, 1 Mi samples per chunk.
pub fn open_stream(path: &Path) -> Result<SampleStream> {
    open_stream_with(path, &ReadOptions::default(), 1 << 20)
}

/// [`open_stream`] for the channel/segment `options` selects, `chunk_samples` per chunk.
pub fn open_stream_with(path: &Path, options: &ReadOptions, chunk_samples: usize) -> Result<SampleStream> {
    let format = detect_format(path)?;
    let (input, mut described) = describe_fixed(path, format, options)?;
    let i = select_index(
        &path.display().to_string(),
        format,
        &described.iter().map(|d| (&d.meta, d.layout.count)).collect::<Vec<_>>(),
        options,
    )?;
    let mut d = described.swap_remove(i);
    if options.force_fs {
        if let Some(fs) = options.fs {
            d.dt = 1.0 / fs;
        }
    }
    d.meta.source = Some(path.display().to_string());
    SampleStream::new(input, d, chunk_samples)
}
