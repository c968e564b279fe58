//! Fixed-layout sample blocks: where the samples of one waveform lie in a file, how they are
//! encoded, and the one decoder that every binary reader and the chunked stream share.
//!
//! A reader of a fixed-layout format (LeCroy, Tektronix, Keysight, `.npy`, raw + sidecar,
//! densev1) first *describes* the file: for every channel/segment it returns a [`Described`]
//! (a [`Layout`] plus timing and metadata) without touching the samples. [`decode`] then turns
//! one layout into volts (and raw codes), reading the file in bounded chunks; [`SampleStream`]
//! does the same one chunk at a time so a capture larger than memory can be processed.

use crate::source::Input;
use crate::{IoError, Result};
use lightlane_core::waveform::{RawCodes, WaveformMeta};
use lightlane_core::Waveform;

/// Bytes read per step by [`decode`] and the default stream chunk (in bytes of file data).
pub const CHUNK_BYTES: usize = 1 << 20;

/// Element type of stored samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// Signed 8-bit codes (kept as [`RawCodes::I8`]).
    I8,
    /// Unsigned 8-bit codes (kept as [`RawCodes::I16`]).
    U8,
    /// Signed 16-bit codes (kept as [`RawCodes::I16`]).
    I16,
    /// Unsigned 16-bit values.
    U16,
    /// Signed 32-bit values.
    I32,
    /// Unsigned 32-bit values.
    U32,
    /// IEEE single.
    F32,
    /// IEEE double.
    F64,
}

impl Elem {
    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            Elem::I8 | Elem::U8 => 1,
            Elem::I16 | Elem::U16 => 2,
            Elem::I32 | Elem::U32 | Elem::F32 => 4,
            Elem::F64 => 8,
        }
    }

    /// True for the types whose codes are kept in [`Waveform::raw`].
    pub fn keeps_codes(self) -> bool {
        matches!(self, Elem::I8 | Elem::U8 | Elem::I16)
    }

    /// Short name (`i16`, `f32`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Elem::I8 => "i8",
            Elem::U8 => "u8",
            Elem::I16 => "i16",
            Elem::U16 => "u16",
            Elem::I32 => "i32",
            Elem::U32 => "u32",
            Elem::F32 => "f32",
            Elem::F64 => "f64",
        }
    }
}

/// Where and how the samples of one waveform are stored: `count` elements from byte `offset`,
/// `value = code * gain + value_offset`.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Byte offset of the first sample in the input.
    pub offset: u64,
    /// Number of samples.
    pub count: u64,
    /// Element type.
    pub elem: Elem,
    /// Big-endian elements.
    pub big_endian: bool,
    /// Value per code.
    pub gain: f64,
    /// Value added after scaling.
    pub value_offset: f64,
}

impl Layout {
    /// Bytes the samples occupy.
    pub fn bytes(&self) -> Option<u64> {
        self.count.checked_mul(self.elem.size() as u64)
    }

    /// Checks that the block lies inside `input` and that the scale is usable.
    pub fn check(&self, input: &Input<'_>, what: &'static str) -> Result<()> {
        let n = self
            .bytes()
            .ok_or_else(|| IoError::bad_at(input.name(), "sample count", self.count, "byte size overflows"))?;
        input.check(self.offset, n, what)?;
        if !(self.gain.is_finite() && self.gain != 0.0) {
            return Err(IoError::bad_at(input.name(), "vertical gain", self.gain, "must be finite and non-zero"));
        }
        if !self.value_offset.is_finite() {
            return Err(IoError::bad_at(input.name(), "vertical offset", self.value_offset, "must be finite"));
        }
        Ok(())
    }
}

/// One waveform of a file, described but not read: its samples' layout, timing and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    /// Where the samples are.
    pub layout: Layout,
    /// Sample interval in seconds.
    pub dt: f64,
    /// Time of the first sample in seconds.
    pub t0: f64,
    /// Channel, unit and instrument fields.
    pub meta: WaveformMeta,
}

impl Described {
    /// Checks the layout and the timing (`dt` positive and finite, `t0` finite).
    pub fn check(&self, input: &Input<'_>) -> Result<()> {
        self.layout.check(input, "sample data")?;
        check_timing(input.name(), self.dt, self.t0)
    }
}

pub(crate) fn check_timing(name: &str, dt: f64, t0: f64) -> Result<()> {
    if !(dt.is_finite() && dt > 0.0) {
        return Err(IoError::bad_at(name, "sample interval", dt, "must be a positive finite number of seconds"));
    }
    if !t0.is_finite() {
        return Err(IoError::bad_at(name, "t0", t0, "time of the first sample must be finite"));
    }
    Ok(())
}

/// Codes accumulated while decoding.
enum Codes {
    None,
    I8(Vec<i8>),
    I16(Vec<i16>),
}

/// Decodes whole elements of `bytes` into `out[..]` (same length as the element count) with
/// `f`; written as an indexed loop over fixed-size chunks so it vectorises.
#[inline(always)]
fn fill_with<const N: usize>(bytes: &[u8], out: &mut [f32], f: impl Fn([u8; N]) -> f32) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(N)) {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        *o = f(a);
    }
}

/// Appends the values (and codes) of the whole elements of `bytes`.
fn convert(bytes: &[u8], layout: &Layout, out: &mut Vec<f32>, codes: &mut Codes) {
    let (g, o, big) = (layout.gain, layout.value_offset, layout.big_endian);
    let n = bytes.len() / layout.elem.size();
    let start = out.len();
    out.resize(start + n, 0.0);
    let dst = &mut out[start..];
    let scale = move |c: f64| (c * g + o) as f32;
    match layout.elem {
        Elem::I8 => fill_with::<1>(bytes, dst, |a| scale(a[0] as i8 as f64)),
        Elem::U8 => fill_with::<1>(bytes, dst, |a| scale(a[0] as f64)),
        Elem::I16 if big => fill_with::<2>(bytes, dst, |a| scale(i16::from_be_bytes(a) as f64)),
        Elem::I16 => fill_with::<2>(bytes, dst, |a| scale(i16::from_le_bytes(a) as f64)),
        Elem::U16 if big => fill_with::<2>(bytes, dst, |a| scale(u16::from_be_bytes(a) as f64)),
        Elem::U16 => fill_with::<2>(bytes, dst, |a| scale(u16::from_le_bytes(a) as f64)),
        Elem::I32 if big => fill_with::<4>(bytes, dst, |a| scale(i32::from_be_bytes(a) as f64)),
        Elem::I32 => fill_with::<4>(bytes, dst, |a| scale(i32::from_le_bytes(a) as f64)),
        Elem::U32 if big => fill_with::<4>(bytes, dst, |a| scale(u32::from_be_bytes(a) as f64)),
        Elem::U32 => fill_with::<4>(bytes, dst, |a| scale(u32::from_le_bytes(a) as f64)),
        Elem::F32 if g == 1.0 && o == 0.0 => {
            if big {
                fill_with::<4>(bytes, dst, f32::from_be_bytes)
            } else {
                fill_with::<4>(bytes, dst, f32::from_le_bytes)
            }
        }
        Elem::F32 if big => fill_with::<4>(bytes, dst, |a| scale(f32::from_be_bytes(a) as f64)),
        Elem::F32 => fill_with::<4>(bytes, dst, |a| scale(f32::from_le_bytes(a) as f64)),
        Elem::F64 if big => fill_with::<8>(bytes, dst, |a| scale(f64::from_be_bytes(a))),
        Elem::F64 => fill_with::<8>(bytes, dst, |a| scale(f64::from_le_bytes(a))),
    }
    match codes {
        Codes::None => {}
        Codes::I8(cv) => cv.extend(bytes.iter().map(|&b| b as i8)),
        Codes::I16(cv) => match layout.elem {
            Elem::U8 => cv.extend(bytes.iter().map(|&b| b as i16)),
            _ => {
                let s = cv.len();
                cv.resize(s + n, 0);
                for (d, c) in cv[s..].iter_mut().zip(bytes.chunks_exact(2)) {
                    *d = if big { i16::from_be_bytes([c[0], c[1]]) } else { i16::from_le_bytes([c[0], c[1]]) };
                }
            }
        },
    }
}

impl Layout {
    /// True when decoded values can be NaN/Inf: float data, or integer codes whose scaled
    /// range overflows f32.
    pub fn may_be_non_finite(&self) -> bool {
        let max_code = match self.elem {
            Elem::I8 | Elem::U8 => 255.0,
            Elem::I16 | Elem::U16 => 65535.0,
            Elem::I32 | Elem::U32 => 4_294_967_295.0,
            Elem::F32 | Elem::F64 => return true,
        };
        let range = self.gain.abs() * max_code + self.value_offset.abs();
        range.is_nan() || range >= f32::MAX as f64
    }
}

fn new_codes(layout: &Layout, cap: usize) -> Codes {
    match layout.elem {
        Elem::I8 => Codes::I8(Vec::with_capacity(cap)),
        Elem::U8 | Elem::I16 => Codes::I16(Vec::with_capacity(cap)),
        _ => Codes::None,
    }
}

fn finish_codes(codes: Codes, layout: &Layout) -> Option<RawCodes> {
    let (gain, offset) = (layout.gain, layout.value_offset);
    match codes {
        Codes::None => None,
        Codes::I8(codes) => Some(RawCodes::I8 { codes, gain, offset }),
        Codes::I16(codes) => Some(RawCodes::I16 { codes, gain, offset }),
    }
}

/// Reads the samples of `layout` (values and, for 8/16-bit integer data, the raw codes),
/// in chunks of [`CHUNK_BYTES`]. The output is sized from the checked sample count only.
pub fn decode(input: &Input<'_>, layout: &Layout) -> Result<(Vec<f32>, Option<RawCodes>)> {
    layout.check(input, "sample data")?;
    let n = layout.count as usize;
    let size = layout.elem.size();
    let mut out = Vec::with_capacity(n);
    let mut codes = new_codes(layout, n);
    let step = (CHUNK_BYTES / size) * size;
    let total = n * size;
    let mut buf = vec![0u8; step.min(total)];
    let mut done = 0usize;
    while done < total {
        let k = step.min(total - done);
        input.read_at(layout.offset + done as u64, &mut buf[..k], "sample data")?;
        convert(&buf[..k], layout, &mut out, &mut codes);
        done += k;
    }
    Ok((out, finish_codes(codes, layout)))
}

/// Reads a described waveform: decodes its samples and checks timing and finiteness.
pub fn load(input: &Input<'_>, d: Described) -> Result<Waveform> {
    d.check(input)?;
    let (samples, raw) = decode(input, &d.layout)?;
    if d.layout.may_be_non_finite() {
        lightlane_core::error::check_finite("waveform samples", &samples).map_err(|e| IoError::Invalid {
            path: input.name().to_string(),
            source: e,
        })?;
    }
    Ok(Waveform {
        samples,
        dt: d.dt,
        t0: d.t0,
        raw,
        meta: d.meta,
    })
}

/// One chunk of a [`SampleStream`].
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Index of the chunk's first sample in the whole waveform.
    pub first: u64,
    /// Time of the chunk's first sample, seconds.
    pub t0: f64,
    /// Sample interval, seconds.
    pub dt: f64,
    /// Values.
    pub samples: Vec<f32>,
    /// Raw codes of the chunk, for 8/16-bit integer data.
    pub raw: Option<RawCodes>,
}

/// Reads one waveform of a fixed-layout file a chunk at a time with buffers of bounded size.
///
/// Use [`SampleStream::next_into`] with a caller-owned buffer in a hot loop (no allocation per
/// chunk), or iterate to get owned [`Chunk`]s.
pub struct SampleStream {
    input: Input<'static>,
    described: Described,
    pos: u64,
    chunk: usize,
    buf: Vec<u8>,
}

impl std::fmt::Debug for SampleStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleStream")
            .field("input", &self.input)
            .field("described", &self.described)
            .field("pos", &self.pos)
            .field("chunk", &self.chunk)
            .finish()
    }
}

impl SampleStream {
    /// A stream over `described` in `input`, `chunk_samples` samples per chunk (at least 1).
    pub fn new(input: Input<'static>, described: Described, chunk_samples: usize) -> Result<Self> {
        described.check(&input)?;
        let chunk = chunk_samples.max(1);
        Ok(SampleStream {
            input,
            described,
            pos: 0,
            chunk,
            buf: Vec::new(),
        })
    }

    /// Total number of samples.
    pub fn len(&self) -> u64 {
        self.described.layout.count
    }

    /// True when the waveform has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples not yet read.
    pub fn remaining(&self) -> u64 {
        self.len() - self.pos
    }

    /// Sample interval in seconds.
    pub fn dt(&self) -> f64 {
        self.described.dt
    }

    /// Time of the first sample of the waveform.
    pub fn t0(&self) -> f64 {
        self.described.t0
    }

    /// Channel and instrument fields of the waveform.
    pub fn meta(&self) -> &WaveformMeta {
        &self.described.meta
    }

    /// The layout being streamed (element type, gain and offset of the codes).
    pub fn layout(&self) -> &Layout {
        &self.described.layout
    }

    /// Capacity of the internal byte buffer (bounded by the chunk size).
    pub fn buffer_bytes(&self) -> usize {
        self.buf.capacity()
    }

    fn fill(&mut self, out: &mut Vec<f32>, codes: &mut Codes) -> Result<usize> {
        let l = &self.described.layout;
        let k = (self.chunk as u64).min(l.count - self.pos) as usize;
        if k == 0 {
            return Ok(0);
        }
        let size = l.elem.size();
        if self.buf.len() < k * size {
            self.buf.resize(k * size, 0);
        }
        let at = l.offset + self.pos * size as u64;
        self.input.read_at(at, &mut self.buf[..k * size], "sample data")?;
        convert(&self.buf[..k * size], l, out, codes);
        let bad = if l.may_be_non_finite() { out.iter().position(|v| !v.is_finite()) } else { None };
        if let Some(i) = bad {
            return Err(IoError::Invalid {
                path: self.input.name().to_string(),
                source: lightlane_core::Error::NonFinite {
                    what: "waveform samples",
                    index: (self.pos as usize).saturating_add(i),
                    value: out[i] as f64,
                },
            });
        }
        self.pos += k as u64;
        Ok(k)
    }

    /// Replaces the contents of `out` with the next chunk of values; returns how many samples
    /// were read (0 at the end). Allocates only when `out` is smaller than a chunk.
    pub fn next_into(&mut self, out: &mut Vec<f32>) -> Result<usize> {
        out.clear();
        let mut none = Codes::None;
        self.fill(out, &mut none)
    }
}

impl Iterator for SampleStream {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.len() {
            return None;
        }
        let first = self.pos;
        let k = (self.chunk as u64).min(self.remaining()) as usize;
        let mut samples = Vec::with_capacity(k);
        let mut codes = new_codes(&self.described.layout, k);
        match self.fill(&mut samples, &mut codes) {
            Ok(_) => Some(Ok(Chunk {
                first,
                t0: self.described.t0 + first as f64 * self.described.dt,
                dt: self.described.dt,
                samples,
                raw: finish_codes(codes, &self.described.layout),
            })),
            Err(e) => {
                self.pos = self.len();
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(elem: Elem, count: u64, big: bool) -> Layout {
        Layout {
            offset: 2,
            count,
            elem,
            big_endian: big,
            gain: 0.5,
            value_offset: 1.0,
        }
    }

    #[test]
    fn decode_every_type_against_naive() {
        let bytes: Vec<u8> = (0..66u32).map(|i| (i * 37 + 11) as u8).collect();
        let input = Input::from_bytes("t", &bytes);
        for elem in [Elem::I8, Elem::U8, Elem::I16, Elem::U16, Elem::I32, Elem::U32, Elem::F32, Elem::F64] {
            for big in [false, true] {
                let n = 64 / elem.size() as u64;
                let l = layout(elem, n, big);
                let (v, raw) = decode(&input, &l).unwrap();
                assert_eq!(v.len() as u64, n);
                for (i, &got) in v.iter().enumerate() {
                    let s = 2 + i * elem.size();
                    let mut b = bytes[s..s + elem.size()].to_vec();
                    if big {
                        b.reverse();
                    }
                    let c: f64 = match elem {
                        Elem::I8 => b[0] as i8 as f64,
                        Elem::U8 => b[0] as f64,
                        Elem::I16 => i16::from_le_bytes([b[0], b[1]]) as f64,
                        Elem::U16 => u16::from_le_bytes([b[0], b[1]]) as f64,
                        Elem::I32 => i32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
                        Elem::U32 => u32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
                        Elem::F32 => f32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
                        Elem::F64 => f64::from_le_bytes(b[..8].try_into().unwrap()),
                    };
                    let want = (c * 0.5 + 1.0) as f32;
                    assert!(got == want || (got.is_nan() && want.is_nan()), "{elem:?} {big} {i}: {got} vs {want}");
                }
                assert_eq!(raw.is_some(), elem.keeps_codes());
            }
        }
    }

    #[test]
    fn stream_matches_decode_and_bounds_buffer() {
        let bytes: Vec<u8> = (0..20_002u32).map(|i| (i * 7919 % 251) as u8).collect();
        let l = layout(Elem::I16, 10_000, false);
        let whole = decode(&Input::from_bytes("t", &bytes), &l).unwrap().0;
        let d = Described {
            layout: l,
            dt: 1e-9,
            t0: -5e-9,
            meta: Default::default(),
        };
        let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        let s = SampleStream::new(Input::from_bytes("t", leaked), d.clone(), 777).unwrap();
        let mut joined = Vec::new();
        let mut last_first = None;
        for c in s {
            let c = c.unwrap();
            assert!(c.samples.len() <= 777);
            assert!((c.t0 - (-5e-9 + c.first as f64 * 1e-9)).abs() < 1e-20);
            if let Some(RawCodes::I16 { codes, .. }) = &c.raw {
                assert_eq!(codes.len(), c.samples.len());
            } else {
                panic!("i16 chunks keep codes");
            }
            last_first = Some(c.first);
            joined.extend_from_slice(&c.samples);
        }
        assert_eq!(joined, whole);
        assert_eq!(last_first, Some(777 * 12));
        let mut s = SampleStream::new(Input::from_bytes("t", leaked), d, 1000).unwrap();
        let mut buf = Vec::new();
        let mut total = 0;
        while s.next_into(&mut buf).unwrap() > 0 {
            total += buf.len();
        }
        assert_eq!(total, 10_000);
        assert!(s.buffer_bytes() <= 2000);
    }

    #[test]
    fn out_of_range_layouts_are_rejected_before_allocation() {
        let bytes = [0u8; 16];
        let input = Input::from_bytes("t", &bytes);
        let mut l = layout(Elem::I16, u64::MAX / 2, false);
        assert!(matches!(decode(&input, &l), Err(IoError::BadField { .. }) | Err(IoError::Truncated { .. })));
        l.count = 8;
        assert!(matches!(decode(&input, &l), Err(IoError::Truncated { .. })));
        l.count = 7;
        l.gain = 0.0;
        assert!(matches!(decode(&input, &l), Err(IoError::BadField { field: "vertical gain", .. })));
        assert!(check_timing("t", 0.0, 0.0).is_err());
        assert!(check_timing("t", -1e-9, 0.0).is_err());
        assert!(check_timing("t", f64::NAN, 0.0).is_err());
        assert!(check_timing("t", 1e-9, f64::INFINITY).is_err());
    }
}
