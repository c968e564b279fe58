//! Keysight/Agilent Infiniium and InfiniiVision `.bin` files: every waveform and every buffer
//! of a file (float32 volts, float32 max/min of peak-detect, int32 histogram counts, uint8 logic).
//!
//! Layout (all little-endian): a 12-byte file header (`AG` + 2-digit version, file size,
//! number of waveforms), then per waveform a waveform header (its own size first: type,
//! buffer count, points, count, x display range/origin, x increment, x origin, units, date,
//! time, frame (model:serial), label, time tags, segment index) and per buffer a data header
//! (size, buffer type, bytes per point, buffer size) followed by the points.
//! Buffer types: 1 normal, 2 max, 3 min, 4 time (float32); 5 counts (int32); 6 logic (uint8).

use crate::layout::{Described, Elem, Layout};
use crate::source::{Fields, Input};
use crate::{IoError, Result};
use lightlane_core::waveform::WaveformMeta;
use lightlane_core::Waveform;
use std::collections::BTreeMap;
use std::path::Path;

/// Bytes of the waveform header lightlane writes (and the minimum it reads up to the label).
const WFM_HEADER: usize = 140;
const MIN_WFM_HEADER: usize = 128;
const DATA_HEADER: usize = 12;

/// The fields of one waveform header.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveformHeader {
    /// File offset of the header.
    pub offset: u64,
    /// Header size in bytes.
    pub header_size: u32,
    /// 1 normal, 2 peak detect, 3 average, 4/5 histograms, 6 logic.
    pub waveform_type: i32,
    /// Number of data buffers that follow.
    pub buffers: i32,
    /// Points per buffer.
    pub points: i32,
    /// Averaging count.
    pub count: i32,
    /// Horizontal display range, seconds.
    pub x_display_range: f32,
    /// Horizontal display origin, seconds.
    pub x_display_origin: f64,
    /// Sample interval, seconds.
    pub x_increment: f64,
    /// Time of the first point, seconds.
    pub x_origin: f64,
    /// Horizontal unit code.
    pub x_units: i32,
    /// Vertical unit code (1 volt, 2 second, 3 constant, 4 ampere, 5 decibel, 6 hertz).
    pub y_units: i32,
    /// Date text.
    pub date: String,
    /// Time text.
    pub time: String,
    /// Frame text: `model:serial`.
    pub frame: String,
    /// Waveform label (channel).
    pub label: String,
    /// Time tag (segmented memory).
    pub time_tag: f64,
    /// Segment index (segmented memory).
    pub segment_index: u32,
}

/// True when the first bytes look like a Keysight/Agilent bin file.
pub fn sniff(head: &[u8]) -> bool {
    head.len() >= 12 && &head[..2] == b"AG" && head[2].is_ascii_digit() && head[3].is_ascii_digit()
}

fn unit_name(code: i32) -> &'static str {
    match code {
        1 => "V",
        2 => "s",
        3 => "",
        4 => "A",
        5 => "dB",
        6 => "Hz",
        _ => "",
    }
}

/// Parses the file header and every waveform and buffer header; returns the version, the
/// headers and, per buffer, its type and layout.
#[allow(clippy::type_complexity)]
pub fn read_headers(input: &Input<'_>) -> Result<(String, Vec<(WaveformHeader, Vec<(i16, Layout)>)>)> {
    let name = input.name();
    let fh = input.read_vec(0, 12, "Keysight file header")?;
    if !sniff(&fh) {
        return Err(IoError::bad_at(name, "cookie", String::from_utf8_lossy(&fh[..4]), "not a Keysight/Agilent .bin file (expected AGnn)"));
    }
    let version = String::from_utf8_lossy(&fh[2..4]).to_string();
    let f = Fields::new(&fh, false);
    let file_size = f.i32(4);
    let n = f.i32(8);
    if file_size < 12 || file_size as u64 > input.len() {
        return Err(IoError::Truncated {
            path: name.into(),
            what: "Keysight file (header file size)",
            expected: file_size.max(0) as u64,
            got: input.len(),
        });
    }
    if n < 0 {
        return Err(IoError::bad_at(name, "number of waveforms", n, "negative"));
    }
    let mut pos = 12u64;
    let mut out = Vec::new();
    for _ in 0..n {
        let hs = input.read_vec(pos, 4, "waveform header")?;
        let size = i32::from_le_bytes([hs[0], hs[1], hs[2], hs[3]]);
        if size < MIN_WFM_HEADER as i32 {
            return Err(IoError::bad_at(name, "waveform header size", size, format!("at least {MIN_WFM_HEADER} bytes")));
        }
        let hb = input.read_vec(pos, size as u64, "waveform header")?;
        let f = Fields::new(&hb, false);
        let h = WaveformHeader {
            offset: pos,
            header_size: size as u32,
            waveform_type: f.i32(4),
            buffers: f.i32(8),
            points: f.i32(12),
            count: f.i32(16),
            x_display_range: f.f32(20),
            x_display_origin: f.f64(24),
            x_increment: f.f64(32),
            x_origin: f.f64(40),
            x_units: f.i32(48),
            y_units: f.i32(52),
            date: f.text(56, 16),
            time: f.text(72, 16),
            frame: f.text(88, 24),
            label: f.text(112, 16),
            time_tag: if size as usize >= 136 { f.f64(128) } else { 0.0 },
            segment_index: if size as usize >= WFM_HEADER { f.u32(136) } else { 0 },
        };
        if h.buffers < 0 || h.points < 0 {
            return Err(IoError::bad_at(name, "buffers/points", format!("{}/{}", h.buffers, h.points), "negative"));
        }
        pos += size as u64;
        let mut bufs = Vec::new();
        for _ in 0..h.buffers {
            let db = input.read_vec(pos, DATA_HEADER as u64, "waveform data header")?;
            let f = Fields::new(&db, false);
            let dsize = f.i32(0);
            let btype = f.i16(4);
            let bpp = f.i16(6);
            let bsize = f.i32(8);
            if dsize < DATA_HEADER as i32 || bsize < 0 {
                return Err(IoError::bad_at(name, "data header", format!("size {dsize}, buffer {bsize}"), "sizes must be >= 12 and >= 0"));
            }
            let data = pos + dsize as u64;
            input.check(data, bsize as u64, "waveform buffer")?;
            let elem = match (btype, bpp) {
                (1..=4, 4) => Elem::F32,
                (5, 4) => Elem::I32,
                (5 | 6, 1) => Elem::U8,
                _ => {
                    return Err(IoError::unsupported(
                        name,
                        "buffer type",
                        format!("{btype} with {bpp} bytes/point"),
                        "known: 1-4 float32, 5 int32 counts, 6 uint8 logic",
                    ))
                }
            };
            let count = (h.points as u64).min(bsize as u64 / elem.size() as u64);
            if count < h.points as u64 {
                return Err(IoError::bad_at(name, "buffer size", bsize, format!("{} points of {} bytes do not fit", h.points, elem.size())));
            }
            bufs.push((
                btype,
                Layout {
                    offset: data,
                    count,
                    elem,
                    big_endian: false,
                    gain: 1.0,
                    value_offset: 0.0,
                },
            ));
            pos = data + bsize as u64;
        }
        out.push((h, bufs));
    }
    Ok((version, out))
}

/// Describes every buffer of every waveform in the file.
pub fn describe(input: &Input<'_>) -> Result<Vec<Described>> {
    let (version, wfms) = read_headers(input)?;
    let mut out = Vec::new();
    for (i, (h, bufs)) in wfms.iter().enumerate() {
        let nb = bufs.len();
        for (b, (btype, layout)) in bufs.iter().enumerate() {
            let mut extra = BTreeMap::new();
            extra.insert("format".to_string(), "keysight-bin".to_string());
            extra.insert("version".into(), format!("AG{version}"));
            extra.insert("waveform_index".into(), i.to_string());
            extra.insert("waveform_type".into(), h.waveform_type.to_string());
            extra.insert("buffer_type".into(), btype.to_string());
            let kind = match btype {
                2 => "max",
                3 => "min",
                4 => "time",
                5 => "counts",
                6 => "logic",
                _ => "normal",
            };
            extra.insert("kind".into(), kind.into());
            if nb > 1 {
                extra.insert("buffer".into(), b.to_string());
            }
            extra.insert("date".into(), h.date.clone());
            extra.insert("time".into(), h.time.clone());
            extra.insert("instrument".into(), h.frame.clone());
            extra.insert("count".into(), h.count.to_string());
            extra.insert("x_display_range".into(), format!("{:e}", h.x_display_range));
            extra.insert("x_display_origin".into(), format!("{:e}", h.x_display_origin));
            if h.segment_index > 0 {
                extra.insert("segment".into(), h.segment_index.to_string());
                extra.insert("time_tag".into(), format!("{:e}", h.time_tag));
            }
            let unit = match (btype, h.y_units) {
                (6, _) => "logic".to_string(),
                (5, _) => "hits".to_string(),
                (_, u) => unit_name(u).to_string(),
            };
            out.push(Described {
                layout: layout.clone(),
                dt: h.x_increment,
                t0: h.x_origin,
                meta: WaveformMeta {
                    source: None,
                    channel: Some(if h.label.is_empty() { format!("waveform {}", i + 1) } else { h.label.clone() }),
                    vertical_unit: if unit.is_empty() { "V".into() } else { unit },
                    extra,
                },
            });
        }
    }
    Ok(out)
}

/// Writes waveforms as an `AG10` file: one waveform header and one float32 normal buffer each.
pub fn write(path: &Path, waveforms: &[Waveform]) -> Result<()> {
    let name = path.display().to_string();
    let mut out = Vec::new();
    out.extend_from_slice(b"AG10");
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&(waveforms.len() as i32).to_le_bytes());
    for (i, w) in waveforms.iter().enumerate() {
        if w.len() > i32::MAX as usize / 4 {
            return Err(IoError::bad_at(&name, "points", w.len(), "too many for a .bin file"));
        }
        let mut h = vec![0u8; WFM_HEADER];
        let put = |h: &mut Vec<u8>, at: usize, b: &[u8]| h[at..at + b.len()].copy_from_slice(b);
        put(&mut h, 0, &(WFM_HEADER as i32).to_le_bytes());
        put(&mut h, 4, &1i32.to_le_bytes());
        put(&mut h, 8, &1i32.to_le_bytes());
        put(&mut h, 12, &(w.len() as i32).to_le_bytes());
        put(&mut h, 16, &1i32.to_le_bytes());
        put(&mut h, 20, &((w.len() as f64 * w.dt) as f32).to_le_bytes());
        put(&mut h, 24, &w.t0.to_le_bytes());
        put(&mut h, 32, &w.dt.to_le_bytes());
        put(&mut h, 40, &w.t0.to_le_bytes());
        put(&mut h, 48, &2i32.to_le_bytes());
        let yu = match w.meta.vertical_unit.as_str() {
            "V" => 1i32,
            "s" => 2,
            "A" => 4,
            "dB" => 5,
            "Hz" => 6,
            _ => 3,
        };
        put(&mut h, 52, &yu.to_le_bytes());
        put(&mut h, 88, b"lightlane");
        let label = w.meta.channel.clone().unwrap_or_else(|| format!("{}", i + 1));
        let lb = label.as_bytes();
        put(&mut h, 112, &lb[..lb.len().min(15)]);
        let seg = w.meta.extra.get("segment").and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
        put(&mut h, 136, &seg.to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&(DATA_HEADER as i32).to_le_bytes());
        out.extend_from_slice(&1i16.to_le_bytes());
        out.extend_from_slice(&4i16.to_le_bytes());
        out.extend_from_slice(&((w.len() * 4) as i32).to_le_bytes());
        for &v in &w.samples {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    if out.len() > i32::MAX as usize {
        return Err(IoError::bad_at(&name, "file size", out.len(), "larger than a .bin file can describe (2 GiB)"));
    }
    let size = (out.len() as i32).to_le_bytes();
    out[4..8].copy_from_slice(&size);
    std::fs::write(path, out).map_err(|e| IoError::open(path, e))
}
