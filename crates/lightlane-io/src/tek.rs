//! Tektronix `.wfm` reference waveforms, versions `WFM#001`, `WFM#002` and `WFM#003`
//! (Tektronix "Performance Oscilloscope Reference Waveform File Format", 077-0220-xx), either
//! byte order, int8/int16/int32/uint8/uint32/float32/float64 curve data, FastFrame sets
//! (one [`Waveform`](lightlane_core::Waveform) per frame), with the pre- and post-charge samples
//! of every frame excluded.
//!
//! Layout: the static file information (78 bytes), the waveform header, then for FastFrame the
//! update specifications (24 bytes) and curve information (30 bytes) of frames 2..N, then the
//! curve buffer, where each frame occupies `postcharge stop` bytes.
//! `WFM#002` inserts a 2-byte summary-frame field at offset 154; `WFM#003` widens the
//! point-density field of each of the four dimensions' user views from u32 to f64.
//! `volts = code * exp_dim_1.scale + exp_dim_1.offset`, `t = imp_dim_1.offset + i * imp_dim_1.scale`.

use crate::layout::{Described, Elem, Layout};
use crate::source::{Fields, Input};
use crate::{IoError, Result};
use lightlane_core::waveform::WaveformMeta;
use std::collections::BTreeMap;

/// The header fields lightlane uses.
#[derive(Debug, Clone, PartialEq)]
pub struct WfmHeader {
    /// 1, 2 or 3.
    pub version: u8,
    /// Byte order of the file.
    pub big_endian: bool,
    /// Bytes per curve point.
    pub bytes_per_point: u8,
    /// File offset of the curve buffer.
    pub curve_offset: u64,
    /// Waveform label.
    pub label: String,
    /// Number of frames (1 unless FastFrame).
    pub frames: u64,
    /// 0: single waveform, 1: FastFrame set.
    pub set_type: i32,
    /// Number of implicit dimensions.
    pub imp_dim_count: u32,
    /// Number of explicit dimensions.
    pub exp_dim_count: u32,
    /// Record type (2 = YT vector).
    pub data_type: i32,
    /// Summary frame type (versions 2 and 3).
    pub summary_frame: u16,
    /// Vertical scale (volts per code).
    pub vscale: f64,
    /// Vertical offset (volts).
    pub voffset: f64,
    /// Vertical units.
    pub vunits: String,
    /// Curve data format code (0 int16, 1 int32, 2 uint32, 3 uint64, 4 fp32, 5 fp64, 6 uint8, 7 int8).
    pub format: i32,
    /// Horizontal scale (seconds per point).
    pub hscale: f64,
    /// Time of the first data point.
    pub hstart: f64,
    /// Horizontal units.
    pub hunits: String,
    /// Time base type (0 = time).
    pub base_type: i32,
    /// Trigger time offset of the first frame, in fractions of a point.
    pub tt_offset: f64,
    /// Fractional second of the first frame's trigger.
    pub frac_sec: f64,
    /// GMT seconds of the first frame's trigger.
    pub gmt_sec: i32,
    /// Byte offsets within a frame: precharge start, data start, postcharge start, postcharge stop.
    pub precharge_start: u32,
    /// See `precharge_start`.
    pub data_start: u32,
    /// See `precharge_start`.
    pub postcharge_start: u32,
    /// See `precharge_start`.
    pub postcharge_stop: u32,
    /// Byte offset of the end of the frame's curve buffer.
    pub end_of_curve: u32,
    /// Size of the header up to the FastFrame tables.
    pub header_len: u64,
}

impl WfmHeader {
    /// Data points per frame (pre/post-charge excluded).
    pub fn points(&self) -> u64 {
        (self.postcharge_start.saturating_sub(self.data_start) / self.bytes_per_point.max(1) as u32) as u64
    }

    /// Element type of the curve data.
    pub fn elem(&self) -> Option<Elem> {
        Some(match self.format {
            0 => Elem::I16,
            1 => Elem::I32,
            2 => Elem::U32,
            4 => Elem::F32,
            5 => Elem::F64,
            6 => Elem::U8,
            7 => Elem::I8,
            _ => return None,
        })
    }
}

/// True when the first bytes look like a Tektronix WFM file.
pub fn sniff(head: &[u8]) -> bool {
    head.len() >= 10 && (head[..2] == [0x0f, 0x0f] || head[..2] == [0xf0, 0xf0]) && &head[2..9] == b":WFM#00"
}

/// Parses the header of a WFM file.
pub fn read_header(input: &Input<'_>) -> Result<WfmHeader> {
    let name = input.name();
    let b = input.read_vec(0, 838.min(input.len()).max(10.min(input.len())), "WFM header")?;
    if !sniff(&b) {
        return Err(IoError::bad_at(name, "byte order / version", "", "not a Tektronix WFM file"));
    }
    let big = b[0] == 0xf0;
    let version = match &b[2..10] {
        b":WFM#001" => 1u8,
        b":WFM#002" => 2,
        b":WFM#003" => 3,
        v => return Err(IoError::unsupported(name, "version", String::from_utf8_lossy(v), "expected :WFM#001, #002 or #003")),
    };
    // Offsets of the version-dependent blocks.
    let exp1 = if version == 1 { 166 } else { 168 };
    let user_view = if version == 3 { 60 } else { 56 };
    let exp_size = 100 + user_view;
    let imp_size = 76 + user_view;
    let imp1 = exp1 + 2 * exp_size;
    let tb1 = imp1 + 2 * imp_size;
    let upd = tb1 + 24;
    let curve = upd + 24;
    let end = curve + 30;
    if b.len() < end {
        return Err(IoError::truncated(name, "WFM header", end as u64, input.len()));
    }
    let f = Fields::new(&b, big);
    let h = WfmHeader {
        version,
        big_endian: big,
        bytes_per_point: f.u8(15),
        curve_offset: f.i32(16).max(-1) as i64 as u64,
        label: f.text(40, 32),
        frames: f.u32(72) as u64 + 1,
        set_type: f.i32(78),
        imp_dim_count: f.u32(114),
        exp_dim_count: f.u32(118),
        data_type: f.i32(122),
        summary_frame: if version >= 2 { f.u16(154) } else { 0 },
        vscale: f.f64(exp1),
        voffset: f.f64(exp1 + 8),
        vunits: f.text(exp1 + 20, 20),
        format: f.i32(exp1 + 72),
        hscale: f.f64(imp1),
        hstart: f.f64(imp1 + 8),
        hunits: f.text(imp1 + 20, 20),
        base_type: f.i32(tb1 + 8),
        tt_offset: f.f64(upd + 4),
        frac_sec: f.f64(upd + 12),
        gmt_sec: f.i32(upd + 20),
        precharge_start: f.u32(curve + 10),
        data_start: f.u32(curve + 14),
        postcharge_start: f.u32(curve + 18),
        postcharge_stop: f.u32(curve + 22),
        end_of_curve: f.u32(curve + 26),
        header_len: end as u64,
    };
    if f.i32(16) < 0 {
        return Err(IoError::bad_at(name, "curve buffer offset", f.i32(16), "negative"));
    }
    Ok(h)
}

/// Describes every frame of the file (one [`Described`] per FastFrame frame).
pub fn describe(input: &Input<'_>) -> Result<Vec<Described>> {
    let h = read_header(input)?;
    let name = input.name();
    if h.data_type != 2 {
        return Err(IoError::unsupported(name, "record type", h.data_type, "only YT vector waveforms (type 2) are read"));
    }
    if h.base_type != 0 {
        return Err(IoError::unsupported(name, "time base", h.base_type, "only time-domain records (base 0) are read"));
    }
    let elem = h
        .elem()
        .ok_or_else(|| IoError::unsupported(name, "curve format", h.format, "supported: int8/16/32, uint8/32, fp32, fp64"))?;
    if h.bytes_per_point as usize != elem.size() {
        return Err(IoError::bad_at(name, "bytes per point", h.bytes_per_point, format!("format {} stores {}-byte points", elem.name(), elem.size())));
    }
    let bpp = elem.size() as u32;
    if !(h.precharge_start <= h.data_start && h.data_start <= h.postcharge_start && h.postcharge_start <= h.postcharge_stop) {
        return Err(IoError::bad_at(
            name,
            "curve offsets",
            format!("{}/{}/{}/{}", h.precharge_start, h.data_start, h.postcharge_start, h.postcharge_stop),
            "precharge start <= data start <= postcharge start <= postcharge stop",
        ));
    }
    if h.data_start % bpp != 0 || h.postcharge_start % bpp != 0 || h.postcharge_stop % bpp != 0 {
        return Err(IoError::bad_at(name, "curve offsets", h.data_start, "not a multiple of the point size"));
    }
    let stride = h.postcharge_stop as u64;
    let total = h
        .frames
        .checked_mul(stride)
        .ok_or_else(|| IoError::bad_at(name, "frames", h.frames, "curve buffer size overflows"))?;
    let tables = (h.frames - 1) * 54;
    if h.curve_offset < h.header_len + tables {
        return Err(IoError::bad_at(name, "curve buffer offset", h.curve_offset, format!("inside the header ({} bytes)", h.header_len + tables)));
    }
    input.check(h.curve_offset, total, "WFM curve buffer")?;
    crate::layout::check_timing(name, h.hscale, h.hstart)?;
    // Trigger timing of frames 2..N.
    let mut frame_times = vec![(h.tt_offset, h.frac_sec, h.gmt_sec)];
    if h.frames > 1 {
        let t = input.read_vec(h.header_len, 24 * (h.frames - 1), "FastFrame update specifications")?;
        let f = Fields::new(&t, h.big_endian);
        frame_times.extend((0..(h.frames - 1) as usize).map(|i| (f.f64(24 * i + 4), f.f64(24 * i + 12), f.i32(24 * i + 20))));
    }
    let mut common = BTreeMap::new();
    common.insert("format".to_string(), "tek-wfm".to_string());
    common.insert("version".into(), format!("WFM#00{}", h.version));
    common.insert("vertical_scale".into(), format!("{:e}", h.vscale));
    common.insert("vertical_offset".into(), format!("{:e}", h.voffset));
    common.insert("horizontal_units".into(), h.hunits.clone());
    common.insert("data_type".into(), elem.name().into());
    common.insert("precharge_points".into(), ((h.data_start - h.precharge_start) / bpp).to_string());
    common.insert("postcharge_points".into(), ((h.postcharge_stop - h.postcharge_start) / bpp).to_string());
    if h.frames > 1 {
        common.insert("segments".into(), h.frames.to_string());
    }
    let unit = if h.vunits.is_empty() { "V".to_string() } else { h.vunits.clone() };
    let mut out = Vec::with_capacity(h.frames as usize);
    for (i, &(tt, frac, gmt)) in frame_times.iter().enumerate() {
        let mut extra = if i == 0 { common.clone() } else { crate::lecroy::segment_fields(&common) };
        if h.frames > 1 {
            extra.insert("segment".into(), i.to_string());
        }
        extra.insert("trigger_gmt_seconds".into(), gmt.to_string());
        extra.insert("trigger_fraction".into(), format!("{frac:e}"));
        extra.insert("tt_offset".into(), format!("{tt:e}"));
        out.push(Described {
            layout: Layout {
                offset: h.curve_offset + i as u64 * stride + h.data_start as u64,
                count: h.points(),
                elem,
                big_endian: h.big_endian,
                gain: h.vscale,
                value_offset: h.voffset,
            },
            dt: h.hscale,
            t0: h.hstart,
            meta: WaveformMeta {
                source: None,
                channel: (!h.label.is_empty()).then(|| h.label.clone()),
                vertical_unit: unit.clone(),
                extra,
            },
        });
    }
    Ok(out)
}
