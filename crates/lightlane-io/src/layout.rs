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

/// Where decoded raw codes go (a slice of the same length as the values).
enum CodesMut<'c> {
    None,
    I8(&'c mut [i8]),
    I16(&'c mut [i16]),
}

/// Decodes whole elements of `bytes` into `out[..]` (same length as the element count) with
/// `f`, one element at a time: the naive reference the fast kernels are tested against, and the
/// path for the wide integer and f64 types.
#[inline(always)]
fn fill_with<const N: usize>(bytes: &[u8], out: &mut [f32], f: impl Fn([u8; N]) -> f32) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(N)) {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        *o = f(a);
    }
}

/// The naive per-element decoder (reference for [`convert`]).
fn convert_naive(bytes: &[u8], layout: &Layout, dst: &mut [f32]) {
    let (g, o, big) = (layout.gain, layout.value_offset, layout.big_endian);
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
}

/// Elements per block of the bulk kernels (codes are first copied into an aligned block).
const BLOCK: usize = 4096;

/// `dst[i] = (codes[i] · g + o) as f32` in f64, exactly as the naive decoder rounds; a plain
/// loop over aligned slices that the compiler vectorises.
#[inline(always)]
fn scale_block<T: Copy + Into<f64>>(codes: &[T], dst: &mut [f32], g: f64, o: f64) {
    for (d, &c) in dst.iter_mut().zip(codes) {
        *d = (c.into() * g + o) as f32;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scale_block_i16_avx2(codes: &[i16], dst: &mut [f32], g: f64, o: f64) {
    scale_block(codes, dst, g, o)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scale_block_u16_avx2(codes: &[u16], dst: &mut [f32], g: f64, o: f64) {
    scale_block(codes, dst, g, o)
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn scale_i16(codes: &[i16], dst: &mut [f32], g: f64, o: f64) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 is present (checked at run time).
        return unsafe { scale_block_i16_avx2(codes, dst, g, o) };
    }
    scale_block(codes, dst, g, o)
}

fn scale_u16(codes: &[u16], dst: &mut [f32], g: f64, o: f64) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 is present (checked at run time).
        return unsafe { scale_block_u16_avx2(codes, dst, g, o) };
    }
    scale_block(codes, dst, g, o)
}

/// Copies 16-bit elements from (possibly unaligned) bytes into an aligned block.
#[inline(always)]
fn load16<T: bytemuck::Pod>(bytes: &[u8], block: &mut [T], big: bool) {
    bytemuck::cast_slice_mut::<T, u8>(block).copy_from_slice(bytes);
    if big != cfg!(target_endian = "big") {
        for b in bytemuck::cast_slice_mut::<T, u16>(block) {
            *b = b.swap_bytes();
        }
    }
}

/// Decodes the whole elements of `bytes` into `dst` (one value per element) and, for 8/16-bit
/// integer data, the codes into `codes`. Bulk kernels: f32 little-endian without scaling is a
/// plain byte copy; 8/16-bit codes go through an aligned block and a vectorised scale loop
/// (AVX2 when the CPU has it); other types use the per-element reference decoder.
fn convert(bytes: &[u8], layout: &Layout, dst: &mut [f32], codes: CodesMut<'_>) {
    let (g, o, big) = (layout.gain, layout.value_offset, layout.big_endian);
    let n = dst.len().min(bytes.len() / layout.elem.size());
    let (bytes, dst) = (&bytes[..n * layout.elem.size()], &mut dst[..n]);
    match (layout.elem, codes) {
        (Elem::F32, _) if g == 1.0 && o == 0.0 && big == cfg!(target_endian = "big") => {
            bytemuck::cast_slice_mut::<f32, u8>(dst).copy_from_slice(bytes);
        }
        (Elem::I16, codes) => {
            let mut block = [0i16; BLOCK];
            let mut codes = match codes {
                CodesMut::I16(c) => Some(c),
                _ => None,
            };
            for (i, (b, d)) in bytes.chunks(2 * BLOCK).zip(dst.chunks_mut(BLOCK)).enumerate() {
                let blk = &mut block[..d.len()];
                load16(b, blk, big);
                scale_i16(blk, d, g, o);
                if let Some(c) = codes.as_deref_mut() {
                    c[i * BLOCK..i * BLOCK + d.len()].copy_from_slice(blk);
                }
            }
        }
        (Elem::U16, _) => {
            let mut block = [0u16; BLOCK];
            for (b, d) in bytes.chunks(2 * BLOCK).zip(dst.chunks_mut(BLOCK)) {
                let blk = &mut block[..d.len()];
                load16(b, blk, big);
                scale_u16(blk, d, g, o);
            }
        }
        (Elem::I8, codes) => {
            let mut lut = [0f32; 256];
            for (c, v) in lut.iter_mut().enumerate() {
                *v = ((c as u8 as i8) as f64 * g + o) as f32;
            }
            for (d, &b) in dst.iter_mut().zip(bytes) {
                *d = lut[b as usize];
            }
            if let CodesMut::I8(c) = codes {
                c[..n].copy_from_slice(bytemuck::cast_slice(bytes));
            }
        }
        (Elem::U8, codes) => {
            let mut lut = [0f32; 256];
            for (c, v) in lut.iter_mut().enumerate() {
                *v = (c as f64 * g + o) as f32;
            }
            for (d, &b) in dst.iter_mut().zip(bytes) {
                *d = lut[b as usize];
            }
            if let CodesMut::I16(c) = codes {
                for (c, &b) in c[..n].iter_mut().zip(bytes) {
                    *c = b as i16;
                }
            }
        }
        _ => convert_naive(bytes, layout, dst),
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

/// Raw codes kept while decoding (sized once from the checked sample count).
enum Codes {
    None,
    I8(Vec<i8>),
    I16(Vec<i16>),
}

impl Codes {
    fn slice(&mut self, range: std::ops::Range<usize>) -> CodesMut<'_> {
        match self {
            Codes::None => CodesMut::None,
            Codes::I8(v) => CodesMut::I8(&mut v[range]),
            Codes::I16(v) => CodesMut::I16(&mut v[range]),
        }
    }
}

/// Code buffers of `n` elements (zeroed allocation: fresh pages, no fill pass).
fn new_codes(layout: &Layout, n: usize) -> Codes {
    match layout.elem {
        Elem::I8 => Codes::I8(vec![0; n]),
        Elem::U8 | Elem::I16 => Codes::I16(vec![0; n]),
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

/// Reads the samples of `layout` (values and, for 8/16-bit integer data, the raw codes).
/// Mapped and in-memory inputs are decoded in place, without an intermediate copy; others are
/// read in chunks of [`CHUNK_BYTES`]. The output is sized from the checked sample count only.
pub fn decode(input: &Input<'_>, layout: &Layout) -> Result<(Vec<f32>, Option<RawCodes>)> {
    layout.check(input, "sample data")?;
    let n = layout.count as usize;
    let size = layout.elem.size();
    let mut out = vec![0f32; n];
    let mut codes = new_codes(layout, n);
    let total = n * size;
    if let Some(bytes) = input.view(layout.offset, total as u64, "sample data")? {
        // Chunked so that values and codes of one step stay in cache together; the chunks
        // convert on the thread pool (element by element the serial conversion).
        use rayon::prelude::*;
        let step = CHUNK_BYTES / size;
        let chunks = out.par_chunks_mut(step).zip(bytes.par_chunks(step * size));
        match &mut codes {
            Codes::None => chunks.for_each(|(d, b)| convert(b, layout, d, CodesMut::None)),
            Codes::I8(c) => chunks.zip(c.par_chunks_mut(step)).for_each(|((d, b), c)| convert(b, layout, d, CodesMut::I8(c))),
            Codes::I16(c) => chunks.zip(c.par_chunks_mut(step)).for_each(|((d, b), c)| convert(b, layout, d, CodesMut::I16(c))),
        }
        return Ok((out, finish_codes(codes, layout)));
    }
    let step = (CHUNK_BYTES / size) * size;
    let mut buf = vec![0u8; step.min(total)];
    let mut done = 0usize;
    while done < total {
        let k = step.min(total - done);
        input.read_at(layout.offset + done as u64, &mut buf[..k], "sample data")?;
        let (e0, e1) = (done / size, (done + k) / size);
        convert(&buf[..k], layout, &mut out[e0..e1], codes.slice(e0..e1));
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
        let start = out.len();
        out.resize(start + k, 0.0);
        let at = l.offset + self.pos * size as u64;
        let nbytes = (k * size) as u64;
        let dst = &mut out[start..];
        let codes_dst = codes.slice(0..k);
        if let Some(bytes) = self.input.view(at, nbytes, "sample data")? {
            convert(bytes, l, dst, codes_dst);
            // The chunk is decoded: let the OS drop its pages so that resident memory stays
            // bounded by the chunk, not the file.
            self.input.release(at, nbytes);
        } else {
            if self.buf.len() < k * size {
                self.buf.resize(k * size, 0);
            }
            self.input.read_at(at, &mut self.buf[..k * size], "sample data")?;
            convert(&self.buf[..k * size], l, dst, codes_dst);
        }
        let bad = if l.may_be_non_finite() { out[start..].iter().position(|v| !v.is_finite()) } else { None };
        if let Some(i) = bad {
            return Err(IoError::Invalid {
                path: self.input.name().to_string(),
                source: lightlane_core::Error::NonFinite {
                    what: "waveform samples",
                    index: (self.pos as usize).saturating_add(i),
                    value: out[start + i] as f64,
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

/// A stream feeds [`lightlane_core::analysis::analyze_stream`] directly; read errors arrive
/// as [`lightlane_core::Error::Io`] carrying the [`IoError`] text.
impl lightlane_core::analysis::ChunkSource for SampleStream {
    fn fs(&self) -> f64 {
        1.0 / self.described.dt
    }

    fn name(&self) -> String {
        self.described.meta.source.clone().unwrap_or_else(|| self.input.name().to_string())
    }

    fn next_chunk(&mut self, out: &mut Vec<f32>) -> lightlane_core::Result<usize> {
        self.next_into(out).map_err(|e| lightlane_core::Error::Io {
            path: self.input.name().to_string(),
            source: std::io::Error::other(e.to_string()),
        })
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
        // (`new_codes` sizes the code buffer to the chunk; `fill` writes it whole.)
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
    fn bulk_kernels_match_the_naive_decoder_bit_for_bit() {
        // Several blocks plus a ragged tail, from an odd (unaligned) byte offset, with scales
        // whose f32 rounding differs between f64 and f32 arithmetic.
        let n = 3 * BLOCK + 37;
        let bytes: Vec<u8> = (0..8 * n + 1).map(|i| ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8).collect();
        let src = &bytes[1..];
        for elem in [Elem::I8, Elem::U8, Elem::I16, Elem::U16, Elem::I32, Elem::U32, Elem::F32, Elem::F64] {
            for big in [false, true] {
                for (gain, off) in [(1.0, 0.0), (3.0517578125e-5 * 1.1, -0.0123), (0.1, 7.0)] {
                    let l = Layout { offset: 0, count: n as u64, elem, big_endian: big, gain, value_offset: off };
                    let b = &src[..n * elem.size()];
                    let mut want = vec![0f32; n];
                    convert_naive(b, &l, &mut want);
                    let mut got = vec![0f32; n];
                    let mut codes = new_codes(&l, n);
                    convert(b, &l, &mut got, codes.slice(0..n));
                    for i in 0..n {
                        assert!(
                            got[i].to_bits() == want[i].to_bits() || (got[i].is_nan() && want[i].is_nan()),
                            "{elem:?} big={big} gain={gain} i={i}: {} vs {}",
                            got[i],
                            want[i]
                        );
                    }
                    match (finish_codes(codes, &l), elem) {
                        (Some(RawCodes::I16 { codes, .. }), Elem::I16) => {
                            for (i, c) in codes.iter().enumerate() {
                                let a = [b[2 * i], b[2 * i + 1]];
                                assert_eq!(*c, if big { i16::from_be_bytes(a) } else { i16::from_le_bytes(a) });
                            }
                        }
                        (Some(RawCodes::I16 { codes, .. }), Elem::U8) => assert!(codes.iter().zip(b).all(|(&c, &x)| c == x as i16)),
                        (Some(RawCodes::I8 { codes, .. }), Elem::I8) => assert!(codes.iter().zip(b).all(|(&c, &x)| c == x as i8)),
                        (None, e) => assert!(!e.keeps_codes()),
                        (other, e) => panic!("{e:?}: unexpected codes {:?}", other.map(|_| ())),
                    }
                }
            }
        }
    }

    #[test]
    fn decode_over_many_chunks_matches_the_naive_decoder() {
        // A mapped input of several CHUNK_BYTES plus a ragged tail: the chunks convert on the
        // pool, each element (and code) as the serial decoder does.
        let n_bytes = 3 * CHUNK_BYTES + 2 * 1234 + 8;
        let bytes: Vec<u8> = (0..n_bytes + 3).map(|i| ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8).collect();
        let input = Input::from_bytes("t", &bytes);
        for elem in [Elem::I8, Elem::U8, Elem::I16, Elem::F32, Elem::F64] {
            let n = n_bytes / elem.size();
            let l = Layout { offset: 3, count: n as u64, elem, big_endian: false, gain: 3.0517578125e-5 * 1.1, value_offset: -0.0123 };
            let (v, raw) = decode(&input, &l).unwrap();
            let b = &bytes[3..3 + n * elem.size()];
            let mut want = vec![0f32; n];
            convert_naive(b, &l, &mut want);
            assert!(v.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan())), "{elem:?}");
            match raw {
                Some(RawCodes::I16 { codes, .. }) if elem == Elem::I16 => {
                    assert!(codes.iter().enumerate().all(|(i, &c)| c == i16::from_le_bytes([b[2 * i], b[2 * i + 1]])))
                }
                Some(RawCodes::I16 { codes, .. }) => assert!(codes.iter().zip(b).all(|(&c, &x)| c == x as i16)),
                Some(RawCodes::I8 { codes, .. }) => assert!(codes.iter().zip(b).all(|(&c, &x)| c == x as i8)),
                None => assert!(!elem.keeps_codes()),
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
