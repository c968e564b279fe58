//! Teledyne LeCroy `.trc` files (`WAVEDESC` template `LECROY_2_3`), byte or word data,
//! single sweeps and sequence mode (one [`Waveform`](lightlane_core::Waveform) per segment).
//!
//! A file is an optional SCPI block prefix (`#9` + nine digits), the 346-byte `WAVEDESC`
//! block, then the blocks whose lengths `WAVEDESC` gives: user text, `RES_DESC1`, the trigger
//! time array (two f64 per segment: trigger time, trigger offset), the RIS time array,
//! `RES_ARRAY1`, and the data array. `volts = VERTICAL_GAIN * code - VERTICAL_OFFSET`.

use crate::layout::{Described, Elem, Layout};
use crate::source::{Fields, Input};
use crate::{IoError, Result};
use lightlane_core::waveform::WaveformMeta;
use std::collections::BTreeMap;

/// Size of the `WAVEDESC` block of template `LECROY_2_3`.
pub const WAVEDESC_LEN: usize = 346;

/// How far into the file the `WAVEDESC` marker is searched for.
const SEARCH: u64 = 64;

/// The `TRIGGER_TIME` time stamp of `WAVEDESC`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TriggerTime {
    /// Seconds including the fraction (0 ≤ s < 60).
    pub seconds: f64,
    /// Minutes.
    pub minutes: u8,
    /// Hours.
    pub hours: u8,
    /// Day of the month.
    pub day: u8,
    /// Month.
    pub month: u8,
    /// Year.
    pub year: i16,
}

impl TriggerTime {
    /// ISO-8601 text with microseconds, e.g. `2022-10-13T16:29:38.475715`.
    pub fn iso(&self) -> String {
        let s = if self.seconds.is_finite() { self.seconds.clamp(0.0, 60.0) } else { 0.0 };
        let whole = s.trunc() as u32;
        let micros = ((s - s.trunc()) * 1e6) as u32;
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
            self.year, self.month, self.day, self.hours, self.minutes, whole, micros
        )
    }
}

/// The fields of a `WAVEDESC` block (names as in LeCroy's template, lower case).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct Wavedesc {
    /// File offset of the block.
    pub offset: u64,
    pub template_name: String,
    /// 0: byte data, 1: word data.
    pub comm_type: i16,
    /// 0: big-endian, 1: little-endian.
    pub comm_order: i16,
    pub wave_descriptor: i32,
    pub user_text: i32,
    pub res_desc1: i32,
    pub trig_time_array: i32,
    pub ris_time_array: i32,
    pub res_array1: i32,
    pub wave_array_1: i32,
    pub wave_array_2: i32,
    pub instrument_name: String,
    pub instrument_number: i32,
    pub trace_label: String,
    pub wave_array_count: i32,
    pub points_per_screen: i32,
    pub first_valid_point: i32,
    pub last_valid_point: i32,
    pub first_point: i32,
    pub sparsing_factor: i32,
    pub segment_index: i32,
    pub subarray_count: i32,
    pub sweeps_per_acq: i32,
    pub vertical_gain: f32,
    pub vertical_offset: f32,
    pub max_value: f32,
    pub min_value: f32,
    pub nominal_bits: i16,
    pub nom_subarray_count: i16,
    pub horiz_interval: f32,
    pub horiz_offset: f64,
    pub pixel_offset: f64,
    pub vertunit: String,
    pub horunit: String,
    pub horiz_uncertainty: f32,
    pub trigger_time: TriggerTime,
    pub acq_duration: f32,
    pub record_type: i16,
    pub processing_done: i16,
    pub ris_sweeps: i16,
    pub timebase: i16,
    pub vert_coupling: i16,
    pub probe_att: f32,
    pub fixed_vert_gain: i16,
    pub bandwidth_limit: i16,
    pub vertical_vernier: f32,
    pub acq_vert_offset: f32,
    pub wave_source: i16,
}

impl Wavedesc {
    /// True for little-endian data (`COMM_ORDER` = 1).
    pub fn little_endian(&self) -> bool {
        self.comm_order == 1
    }

    /// Number of segments (1 unless the file is in sequence mode).
    pub fn segments(&self) -> u64 {
        self.subarray_count.max(1) as u64
    }

    /// `TIMEBASE` as text, e.g. `200 ns/div`, or `external`.
    pub fn timebase_text(&self) -> String {
        if self.timebase == 100 {
            return "external".into();
        }
        let tb = self.timebase.max(0) as usize;
        let value = [1, 2, 5, 10, 20, 50, 100, 200, 500][tb % 9];
        match ["p", "n", "µ", "m", "", "k"].get(tb / 9) {
            Some(p) => format!("{value} {p}s/div"),
            None => format!("code {}", self.timebase),
        }
    }

    /// `VERT_COUPLING` as text, e.g. `DC 50 Ohm`.
    pub fn coupling_text(&self) -> String {
        match self.vert_coupling {
            0 => "DC 50 Ohm".into(),
            1 | 3 => "ground".into(),
            2 => "DC 1 MOhm".into(),
            4 => "AC 1 MOhm".into(),
            c => format!("code {c}"),
        }
    }

    /// `RECORD_TYPE` as text.
    pub fn record_type_text(&self) -> String {
        const T: [&str; 10] = [
            "single sweep",
            "interleaved",
            "histogram",
            "graph",
            "filter coefficient",
            "complex",
            "extrema",
            "sequence obsolete",
            "centered RIS",
            "peak detect",
        ];
        T.get(self.record_type.max(0) as usize).map(|s| s.to_string()).unwrap_or_else(|| format!("code {}", self.record_type))
    }

    /// File offset of the data array.
    pub fn data_offset(&self) -> u64 {
        self.offset
            + [self.wave_descriptor, self.user_text, self.res_desc1, self.trig_time_array, self.ris_time_array, self.res_array1]
                .iter()
                .map(|&v| v.max(0) as u64)
                .sum::<u64>()
    }

    /// File offset of the trigger time array.
    pub fn trigtime_offset(&self) -> u64 {
        self.offset + [self.wave_descriptor, self.user_text, self.res_desc1].iter().map(|&v| v.max(0) as u64).sum::<u64>()
    }
}

fn find_wavedesc(input: &Input<'_>) -> Result<u64> {
    let head = input.head(SEARCH + 8)?;
    head.windows(8)
        .position(|w| w == b"WAVEDESC")
        .map(|p| p as u64)
        .ok_or_else(|| IoError::bad_at(input.name(), "WAVEDESC", "(absent)", "not a LeCroy .trc file: no WAVEDESC block near the start"))
}

/// True when the first bytes look like a LeCroy trace.
pub fn sniff(head: &[u8]) -> bool {
    head.windows(8).take(SEARCH as usize).any(|w| w == b"WAVEDESC")
}

/// Parses the `WAVEDESC` block of `input` (the data need not be present).
pub fn read_wavedesc(input: &Input<'_>) -> Result<Wavedesc> {
    let at = find_wavedesc(input)?;
    let b = input.read_vec(at, WAVEDESC_LEN as u64, "WAVEDESC block")?;
    let order = i16::from_le_bytes([b[34], b[35]]);
    let big = match order {
        0 => true,
        1 => false,
        o => return Err(IoError::bad_at(input.name(), "COMM_ORDER", o, "expected 0 (big-endian) or 1 (little-endian)")),
    };
    let f = Fields::new(&b, big);
    let w = Wavedesc {
        offset: at,
        template_name: f.text(16, 16),
        comm_type: f.i16(32),
        comm_order: if big { 0 } else { 1 },
        wave_descriptor: f.i32(36),
        user_text: f.i32(40),
        res_desc1: f.i32(44),
        trig_time_array: f.i32(48),
        ris_time_array: f.i32(52),
        res_array1: f.i32(56),
        wave_array_1: f.i32(60),
        wave_array_2: f.i32(64),
        instrument_name: f.text(76, 16),
        instrument_number: f.i32(92),
        trace_label: f.text(96, 16),
        wave_array_count: f.i32(116),
        points_per_screen: f.i32(120),
        first_valid_point: f.i32(124),
        last_valid_point: f.i32(128),
        first_point: f.i32(132),
        sparsing_factor: f.i32(136),
        segment_index: f.i32(140),
        subarray_count: f.i32(144),
        sweeps_per_acq: f.i32(148),
        vertical_gain: f.f32(156),
        vertical_offset: f.f32(160),
        max_value: f.f32(164),
        min_value: f.f32(168),
        nominal_bits: f.i16(172),
        nom_subarray_count: f.i16(174),
        horiz_interval: f.f32(176),
        horiz_offset: f.f64(180),
        pixel_offset: f.f64(188),
        vertunit: f.text(196, 48),
        horunit: f.text(244, 48),
        horiz_uncertainty: f.f32(292),
        trigger_time: TriggerTime {
            seconds: f.f64(296),
            minutes: f.u8(304),
            hours: f.u8(305),
            day: f.u8(306),
            month: f.u8(307),
            year: f.i16(308),
        },
        acq_duration: f.f32(312),
        record_type: f.i16(316),
        processing_done: f.i16(318),
        ris_sweeps: f.i16(322),
        timebase: f.i16(324),
        vert_coupling: f.i16(326),
        probe_att: f.f32(328),
        fixed_vert_gain: f.i16(332),
        bandwidth_limit: f.i16(334),
        vertical_vernier: f.f32(336),
        acq_vert_offset: f.f32(340),
        wave_source: f.i16(344),
    };
    let name = input.name();
    if !w.template_name.starts_with("LECROY_2") {
        return Err(IoError::unsupported(name, "TEMPLATE_NAME", &w.template_name, "only the LECROY_2_x templates are read"));
    }
    if w.wave_descriptor < WAVEDESC_LEN as i32 {
        return Err(IoError::bad_at(name, "WAVE_DESCRIPTOR", w.wave_descriptor, "shorter than the 346-byte LECROY_2_3 block"));
    }
    for (field, v) in [
        ("USER_TEXT", w.user_text),
        ("RES_DESC1", w.res_desc1),
        ("TRIGTIME_ARRAY", w.trig_time_array),
        ("RIS_TIME_ARRAY", w.ris_time_array),
        ("RES_ARRAY1", w.res_array1),
        ("WAVE_ARRAY_1", w.wave_array_1),
        ("WAVE_ARRAY_COUNT", w.wave_array_count),
        ("SUBARRAY_COUNT", w.subarray_count),
    ] {
        if v < 0 {
            return Err(IoError::bad_at(name, field, v, "a length or count cannot be negative"));
        }
    }
    Ok(w)
}

/// Reads only the header of a `.trc` file (works on a file whose data is cut off).
pub fn read_header(path: &std::path::Path) -> Result<Wavedesc> {
    read_wavedesc(&Input::open(path)?)
}

/// Describes every segment of the trace: one [`Described`] per segment.
pub fn describe(input: &Input<'_>) -> Result<Vec<Described>> {
    let w = read_wavedesc(input)?;
    let name = input.name();
    let elem = match w.comm_type {
        0 => Elem::I8,
        1 => Elem::I16,
        c => return Err(IoError::unsupported(name, "COMM_TYPE", c, "expected 0 (byte) or 1 (word)")),
    };
    let count = w.wave_array_count as u64;
    let bytes = count * elem.size() as u64;
    if (w.wave_array_1 as u64) < bytes {
        return Err(IoError::bad_at(
            name,
            "WAVE_ARRAY_1",
            w.wave_array_1,
            format!("{} {}-byte points need {} bytes", count, elem.size(), bytes),
        ));
    }
    let data = w.data_offset();
    input.check(data, bytes, "LeCroy data array")?;
    let segs = w.segments();
    if !count.is_multiple_of(segs) {
        return Err(IoError::bad_at(name, "SUBARRAY_COUNT", segs, format!("does not divide WAVE_ARRAY_COUNT = {count}")));
    }
    let per = count / segs;
    // Every segment must be backed by file bytes (its samples and trigger time), so a header
    // cannot make the reader build more waveforms than the file holds.
    if segs > 1 && (per == 0 || segs > input.len() / 16) {
        return Err(IoError::bad_at(name, "SUBARRAY_COUNT", segs, format!("{count} points in a {}-byte file cannot hold that many segments", input.len())));
    }
    let dt = w.horiz_interval as f64;
    crate::layout::check_timing(name, dt, w.horiz_offset)?;
    // Trigger time and offset of every segment (sequence mode); the array is optional.
    let mut trig: Vec<(f64, f64)> = Vec::new();
    if segs > 1 && w.trig_time_array as u64 >= 16 * segs {
        let t = input.read_vec(w.trigtime_offset(), 16 * segs, "LeCroy TRIGTIME array")?;
        let f = Fields::new(&t, !w.little_endian());
        trig = (0..segs as usize).map(|i| (f.f64(16 * i), f.f64(16 * i + 8))).collect();
    }
    let mut common = BTreeMap::new();
    common.insert("format".to_string(), "lecroy-trc".to_string());
    common.insert("instrument".into(), w.instrument_name.clone());
    common.insert("instrument_number".into(), w.instrument_number.to_string());
    common.insert("template".into(), w.template_name.clone());
    common.insert("trigger_time".into(), w.trigger_time.iso());
    common.insert("timebase".into(), w.timebase_text());
    common.insert("coupling".into(), w.coupling_text());
    common.insert("record_type".into(), w.record_type_text());
    common.insert("nominal_bits".into(), w.nominal_bits.to_string());
    common.insert("vertical_gain".into(), format!("{:e}", w.vertical_gain));
    common.insert("vertical_offset".into(), format!("{:e}", w.vertical_offset));
    common.insert("probe_att".into(), format!("{}", w.probe_att));
    common.insert("wave_source".into(), w.wave_source.to_string());
    if segs > 1 {
        common.insert("segments".into(), segs.to_string());
    }
    let channel = if !w.trace_label.is_empty() {
        w.trace_label.clone()
    } else if (0..4).contains(&w.wave_source) {
        format!("C{}", w.wave_source + 1)
    } else {
        format!("source {}", w.wave_source)
    };
    let unit = match w.vertunit.as_str() {
        "" => "V".to_string(),
        u => u.to_string(),
    };
    let mut out = Vec::with_capacity(segs.min(input.len()) as usize);
    for s in 0..segs {
        // Segment 0 carries the instrument fields; later segments only their own (read_capture
        // fills the rest in), so per-segment metadata stays small.
        let mut extra = if s == 0 { common.clone() } else { segment_fields(&common) };
        let mut t0 = w.horiz_offset;
        if segs > 1 {
            extra.insert("segment".into(), s.to_string());
            if let Some(&(tt, off)) = trig.get(s as usize) {
                extra.insert("segment_trigger_time".into(), format!("{tt:e}"));
                if off.is_finite() {
                    t0 = off;
                }
            }
        }
        out.push(Described {
            layout: Layout {
                offset: data + s * per * elem.size() as u64,
                count: per,
                elem,
                big_endian: !w.little_endian(),
                gain: w.vertical_gain as f64,
                value_offset: -(w.vertical_offset as f64),
            },
            dt,
            t0,
            meta: WaveformMeta {
                source: None,
                channel: Some(channel.clone()),
                vertical_unit: unit.clone(),
                extra,
            },
        });
    }
    Ok(out)
}

/// The fields every segment keeps.
pub(crate) fn segment_fields(common: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    common.iter().filter(|(k, _)| k.as_str() == "format" || k.as_str() == "segments").map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Writes waveforms as a LeCroy `LECROY_2_3` word (int16) trace, one segment per waveform
/// (sequence mode when there are several). All waveforms must have the same length, `dt`,
/// gain and offset; samples are quantised to the i16 codes of their `raw` when present,
/// otherwise with a gain that spans the data.
pub fn write(path: &std::path::Path, waveforms: &[lightlane_core::Waveform]) -> Result<()> {
    let name = path.display().to_string();
    let first = waveforms.first().ok_or_else(|| IoError::missing(&name, "waveforms", "nothing to write"))?;
    let n = first.len();
    if waveforms.iter().any(|w| w.len() != n || w.dt != first.dt) {
        return Err(IoError::bad_at(&name, "waveforms", waveforms.len(), "segments must share length and dt"));
    }
    let (gain, offset) = match &first.raw {
        Some(lightlane_core::waveform::RawCodes::I16 { gain, offset, .. }) => (*gain, *offset),
        _ => {
            let (lo, hi) = waveforms
                .iter()
                .flat_map(|w| w.samples.iter())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let (lo, hi) = if lo.is_finite() { (lo as f64, hi as f64) } else { (0.0, 0.0) };
            let mid = 0.5 * (lo + hi);
            let g = ((hi - lo) / 65000.0).max(1e-12);
            (g, mid)
        }
    };
    let segs = waveforms.len();
    let count = n * segs;
    let trig_len = if segs > 1 { 16 * segs } else { 0 };
    let mut d = vec![0u8; WAVEDESC_LEN];
    let put = |d: &mut Vec<u8>, at: usize, b: &[u8]| d[at..at + b.len()].copy_from_slice(b);
    put(&mut d, 0, b"WAVEDESC");
    put(&mut d, 16, b"LECROY_2_3");
    put(&mut d, 32, &1i16.to_le_bytes());
    put(&mut d, 34, &1i16.to_le_bytes());
    put(&mut d, 36, &(WAVEDESC_LEN as i32).to_le_bytes());
    put(&mut d, 48, &(trig_len as i32).to_le_bytes());
    put(&mut d, 60, &((2 * count) as i32).to_le_bytes());
    put(&mut d, 76, b"LIGHTLANE");
    let label = first.meta.channel.clone().unwrap_or_default();
    let lb = label.as_bytes();
    put(&mut d, 96, &lb[..lb.len().min(15)]);
    put(&mut d, 116, &(count as i32).to_le_bytes());
    put(&mut d, 120, &(n as i32).to_le_bytes());
    put(&mut d, 128, &((n as i32) - 1).to_le_bytes());
    put(&mut d, 136, &1i32.to_le_bytes());
    put(&mut d, 144, &(segs as i32).to_le_bytes());
    put(&mut d, 148, &1i32.to_le_bytes());
    put(&mut d, 156, &(gain as f32).to_le_bytes());
    put(&mut d, 160, &(-offset as f32).to_le_bytes());
    put(&mut d, 172, &16i16.to_le_bytes());
    put(&mut d, 174, &(segs as i16).to_le_bytes());
    put(&mut d, 176, &(first.dt as f32).to_le_bytes());
    put(&mut d, 180, &first.t0.to_le_bytes());
    put(&mut d, 196, first.meta.vertical_unit.as_bytes().get(..first.meta.vertical_unit.len().min(47)).unwrap_or(b"V"));
    put(&mut d, 244, b"S");
    put(&mut d, 328, &1f32.to_le_bytes());
    put(&mut d, 336, &1f32.to_le_bytes());
    let mut out = Vec::with_capacity(11 + WAVEDESC_LEN + trig_len + 2 * count);
    out.extend_from_slice(format!("#9{:09}", WAVEDESC_LEN + trig_len + 2 * count).as_bytes());
    out.extend_from_slice(&d);
    if segs > 1 {
        for w in waveforms {
            out.extend_from_slice(&0f64.to_le_bytes());
            out.extend_from_slice(&w.t0.to_le_bytes());
        }
    }
    let g32 = gain as f32 as f64;
    let o32 = -(-offset as f32) as f64;
    for w in waveforms {
        match &w.raw {
            Some(lightlane_core::waveform::RawCodes::I16 { codes, .. }) if codes.len() == n => {
                for c in codes {
                    out.extend_from_slice(&c.to_le_bytes());
                }
            }
            _ => {
                for &v in &w.samples {
                    let c = ((v as f64 - o32) / g32).round().clamp(-32768.0, 32767.0) as i16;
                    out.extend_from_slice(&c.to_le_bytes());
                }
            }
        }
    }
    std::fs::write(path, out).map_err(|e| IoError::open(path, e))
}
