//! MATLAB level-5 `.mat` files (MATLAB 5 to 7.2, the default before `-v7.3`): numeric arrays,
//! uncompressed or in `miCOMPRESSED` (zlib) elements, either byte order.
//!
//! Layout: a 128-byte header (text, subsystem offset, version 0x0100, endian indicator `IM`),
//! then data elements, each an 8-byte tag (type, byte count; or the 4-byte small-element form)
//! padded to 8 bytes. An `miMATRIX` holds array flags (class), dimensions, the name and the
//! real (and imaginary) parts, whose storage type may be narrower than the class.
//! Cell, struct, object, char and sparse arrays are skipped.

use crate::source::Input;
use crate::{IoError, Result};
use lightlane_core::waveform::{RawCodes, WaveformMeta};
use lightlane_core::Waveform;
use std::io::Read;

const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;
const MI_UTF8: u32 = 16;

/// Deflate cannot expand data by more than this factor; inflating stops there.
const MAX_INFLATE_RATIO: u64 = 1032;

/// MATLAB array classes of numeric arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatClass {
    /// `double`
    Double,
    /// `single`
    Single,
    /// `int8`
    Int8,
    /// `uint8`
    UInt8,
    /// `int16`
    Int16,
    /// `uint16`
    UInt16,
    /// `int32`
    Int32,
    /// `uint32`
    UInt32,
    /// `int64`
    Int64,
    /// `uint64`
    UInt64,
}

impl MatClass {
    fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            6 => MatClass::Double,
            7 => MatClass::Single,
            8 => MatClass::Int8,
            9 => MatClass::UInt8,
            10 => MatClass::Int16,
            11 => MatClass::UInt16,
            12 => MatClass::Int32,
            13 => MatClass::UInt32,
            14 => MatClass::Int64,
            15 => MatClass::UInt64,
            _ => return None,
        })
    }

    /// MATLAB's name of the class.
    pub fn name(self) -> &'static str {
        match self {
            MatClass::Double => "double",
            MatClass::Single => "single",
            MatClass::Int8 => "int8",
            MatClass::UInt8 => "uint8",
            MatClass::Int16 => "int16",
            MatClass::UInt16 => "uint16",
            MatClass::Int32 => "int32",
            MatClass::UInt32 => "uint32",
            MatClass::Int64 => "int64",
            MatClass::UInt64 => "uint64",
        }
    }
}

/// One numeric array of a `.mat` file (column-major, as MATLAB stores it).
#[derive(Debug, Clone, PartialEq)]
pub struct MatArray {
    /// Variable name.
    pub name: String,
    /// Array class.
    pub class: MatClass,
    /// Dimensions (at least two).
    pub dims: Vec<usize>,
    /// Real part, as f64 (64-bit integers beyond 2^53 round).
    pub real: Vec<f64>,
    /// Imaginary part of complex arrays.
    pub imag: Option<Vec<f64>>,
    /// The logical flag was set.
    pub logical: bool,
}

impl MatArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.real.len()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.real.is_empty()
    }

    /// True for a vector: at most one dimension larger than 1.
    pub fn is_vector(&self) -> bool {
        self.dims.iter().filter(|&&d| d > 1).count() <= 1
    }

    /// The dimensions as `1x65536`.
    pub fn dims_text(&self) -> String {
        self.dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
    }
}

/// True when the first bytes are a level-5 MAT header.
pub fn sniff(head: &[u8]) -> bool {
    head.len() >= 128 && head.starts_with(b"MATLAB 5.0 MAT-file") && (&head[126..128] == b"IM" || &head[126..128] == b"MI")
}

struct Reader<'b> {
    name: &'b str,
    big: bool,
}

impl Reader<'_> {
    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
    }

    /// One element of `buf` at `pos`: (type, data, position of the next element).
    fn element<'a>(&self, buf: &'a [u8], pos: usize) -> Result<(u32, &'a [u8], usize)> {
        let tag = buf
            .get(pos..pos + 8)
            .ok_or_else(|| IoError::truncated(self.name, "MAT element tag", (pos + 8) as u64, buf.len() as u64))?;
        let t = self.u32(&tag[..4]);
        let small = t >> 16;
        if small != 0 {
            // Small data element: type and size in the first word, data in the second.
            if small > 4 {
                return Err(IoError::bad_at(self.name, "small element size", small, "at most 4 bytes"));
            }
            return Ok((t & 0xffff, &tag[4..4 + small as usize], pos + 8));
        }
        let n = self.u32(&tag[4..]) as usize;
        let start = pos + 8;
        let end = start
            .checked_add(n)
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| IoError::truncated(self.name, "MAT element", (start as u64).saturating_add(n as u64), buf.len() as u64))?;
        let next = if t == MI_COMPRESSED { end } else { end.div_ceil(8) * 8 };
        Ok((t, &buf[start..end], next))
    }

    fn numbers(&self, typ: u32, data: &[u8], expect: usize) -> Result<Vec<f64>> {
        let size = match typ {
            MI_INT8 | MI_UINT8 => 1,
            MI_INT16 | MI_UINT16 => 2,
            MI_INT32 | MI_UINT32 | MI_SINGLE => 4,
            MI_DOUBLE | MI_INT64 | MI_UINT64 => 8,
            t => return Err(IoError::unsupported(self.name, "MAT data type", t, "not a numeric storage type")),
        };
        if data.len() / size != expect {
            return Err(IoError::bad_at(
                self.name,
                "MAT array data",
                data.len(),
                format!("{expect} elements of {size} bytes expected"),
            ));
        }
        let big = self.big;
        macro_rules! conv {
            ($t:ty, $n:literal) => {
                data.chunks_exact($n)
                    .map(|c| {
                        let mut a = [0u8; $n];
                        a.copy_from_slice(c);
                        (if big { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }) as f64
                    })
                    .collect()
            };
        }
        Ok(match typ {
            MI_INT8 => data.iter().map(|&b| b as i8 as f64).collect(),
            MI_UINT8 => data.iter().map(|&b| b as f64).collect(),
            MI_INT16 => conv!(i16, 2),
            MI_UINT16 => conv!(u16, 2),
            MI_INT32 => conv!(i32, 4),
            MI_UINT32 => conv!(u32, 4),
            MI_SINGLE => conv!(f32, 4),
            MI_DOUBLE => conv!(f64, 8),
            MI_INT64 => conv!(i64, 8),
            _ => conv!(u64, 8),
        })
    }

    /// Parses the body of an `miMATRIX`; `None` for arrays that are not numeric.
    fn matrix(&self, body: &[u8]) -> Result<Option<MatArray>> {
        if body.is_empty() {
            return Ok(None); // an empty matrix element is legal
        }
        let (t, flags, p) = self.element(body, 0)?;
        if t != MI_UINT32 || flags.len() < 8 {
            return Err(IoError::bad_at(self.name, "array flags", t, "expected an miUINT32 of 8 bytes"));
        }
        let f = self.u32(&flags[..4]);
        let class_code = (f & 0xff) as u8;
        let complex = f & 0x800 != 0;
        let logical = f & 0x200 != 0;
        let Some(class) = MatClass::from_code(class_code) else {
            return Ok(None);
        };
        let (t, dimb, p) = self.element(body, p)?;
        if t != MI_INT32 || dimb.len() < 8 || dimb.len() % 4 != 0 {
            return Err(IoError::bad_at(self.name, "dimensions", t, "expected an miINT32 with at least 2 entries"));
        }
        let mut dims = Vec::with_capacity(dimb.len() / 4);
        let mut count: usize = 1;
        for c in dimb.chunks_exact(4) {
            let d = self.u32(c) as i32;
            if d < 0 {
                return Err(IoError::bad_at(self.name, "dimension", d, "negative"));
            }
            dims.push(d as usize);
            count = count
                .checked_mul(d as usize)
                .ok_or_else(|| IoError::bad_at(self.name, "dimensions", format!("{dims:?}"), "element count overflows"))?;
        }
        let (t, nameb, p) = self.element(body, p)?;
        if t != MI_INT8 && t != MI_UTF8 && t != MI_UINT8 {
            return Err(IoError::bad_at(self.name, "array name", t, "expected miINT8 text"));
        }
        let name: String = String::from_utf8_lossy(nameb).chars().take(256).collect();
        let (t, data, p) = self.element(body, p)?;
        let real = self.numbers(t, data, count)?;
        let imag = if complex {
            let (t, data, _) = self.element(body, p)?;
            Some(self.numbers(t, data, count)?)
        } else {
            None
        };
        Ok(Some(MatArray {
            name,
            class,
            dims,
            real,
            imag,
            logical,
        }))
    }
}

/// Reads every numeric array of a level-5 MAT file, in file order.
pub fn read_arrays(input: &Input<'_>) -> Result<Vec<MatArray>> {
    let name = input.name();
    let head = input.read_vec(0, 128, "MAT header")?;
    if head.starts_with(b"MATLAB 7.3 MAT-file") {
        return Err(IoError::unsupported(name, "MAT version", "7.3", "v7.3 files are HDF5; save with -v7 or read them with an HDF5 library"));
    }
    if !sniff(&head) {
        return Err(IoError::bad_at(name, "MAT header", "", "not a MATLAB level-5 MAT-file"));
    }
    let r = Reader {
        name,
        big: &head[126..128] == b"MI",
    };
    let mut out = Vec::new();
    let mut pos = 128u64;
    let mut inflated_total = 0u64;
    let budget = input.len().saturating_mul(MAX_INFLATE_RATIO);
    while pos + 8 <= input.len() {
        let tag = input.read_vec(pos, 8, "MAT element tag")?;
        let t = r.u32(&tag[..4]);
        if t >> 16 != 0 {
            pos += 8; // a small element at top level carries nothing we read
            continue;
        }
        let n = r.u32(&tag[4..]) as u64;
        input.check(pos + 8, n, "MAT element")?;
        match t {
            MI_MATRIX => {
                let body = input.read_vec(pos + 8, n, "MAT matrix")?;
                if let Some(a) = r.matrix(&body)? {
                    out.push(a);
                }
                pos += 8 + n.div_ceil(8) * 8;
            }
            MI_COMPRESSED => {
                let z = input.read_vec(pos + 8, n, "MAT compressed element")?;
                let limit = (n.saturating_mul(MAX_INFLATE_RATIO) + 1024).min(budget.saturating_sub(inflated_total) + 1024);
                let mut plain = Vec::new();
                flate2::read::ZlibDecoder::new(&z[..])
                    .take(limit)
                    .read_to_end(&mut plain)
                    .map_err(|e| IoError::bad_at(name, "miCOMPRESSED", e, "zlib stream is corrupt"))?;
                inflated_total += plain.len() as u64;
                let mut p = 0;
                while p + 8 <= plain.len() {
                    let (t, body, next) = r.element(&plain, p)?;
                    if t == MI_MATRIX {
                        if let Some(a) = r.matrix(body)? {
                            out.push(a);
                        }
                    }
                    p = next;
                }
                pos += 8 + n;
            }
            _ => pos += 8 + n.div_ceil(8) * 8,
        }
    }
    Ok(out)
}

/// Names of scalar variables taken as the sample rate (Hz) or sample interval (s).
const FS_NAMES: [&str; 6] = ["fs", "Fs", "FS", "fsamp", "SampleRate", "sample_rate"];
const DT_NAMES: [&str; 4] = ["dt", "Ts", "ts", "sample_interval"];

/// The sample interval a file states in a scalar variable (`fs`, `Fs`, `dt`, `Ts`, ...).
pub fn file_dt(arrays: &[MatArray]) -> Option<f64> {
    let scalar = |names: &[&str]| {
        arrays
            .iter()
            .find(|a| names.contains(&a.name.as_str()) && a.len() == 1 && a.imag.is_none())
            .map(|a| a.real[0])
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    scalar(&FS_NAMES).map(|fs| 1.0 / fs).or_else(|| scalar(&DT_NAMES))
}

/// The real numeric vectors of a MAT file as waveforms at interval `dt`, one per variable,
/// in file order (`meta.channel` = variable name). 8/16-bit integer classes keep raw codes.
pub fn to_waveforms(name: &str, arrays: Vec<MatArray>, dt: f64) -> Result<Vec<Waveform>> {
    crate::layout::check_timing(name, dt, 0.0)?;
    let mut out = Vec::new();
    for a in arrays {
        if a.imag.is_some() || !a.is_vector() || a.len() < 2 {
            continue;
        }
        let samples: Vec<f32> = a.real.iter().map(|&v| v as f32).collect();
        let raw = match a.class {
            MatClass::Int8 => Some(RawCodes::I8 {
                codes: a.real.iter().map(|&v| v as i8).collect(),
                gain: 1.0,
                offset: 0.0,
            }),
            MatClass::Int16 | MatClass::UInt8 => Some(RawCodes::I16 {
                codes: a.real.iter().map(|&v| v as i16).collect(),
                gain: 1.0,
                offset: 0.0,
            }),
            _ => None,
        };
        let mut meta = WaveformMeta {
            source: None,
            channel: Some(a.name.clone()),
            vertical_unit: "V".into(),
            extra: Default::default(),
        };
        meta.extra.insert("format".into(), "mat".into());
        meta.extra.insert("class".into(), a.class.name().into());
        meta.extra.insert("dims".into(), a.dims_text());
        let wf = Waveform {
            samples,
            dt,
            t0: 0.0,
            raw,
            meta,
        };
        wf.validate().map_err(|e| IoError::Invalid {
            path: format!("{name}:{}", a.name),
            source: e,
        })?;
        out.push(wf);
    }
    Ok(out)
}

/// Writes real double arrays as a level-5 MAT file (row vectors `1xN`), each in an
/// `miCOMPRESSED` element when `compress` is set.
pub fn write(path: &std::path::Path, arrays: &[(&str, &[f64])], compress: bool) -> Result<()> {
    let mut out = Vec::new();
    let mut text = b"MATLAB 5.0 MAT-file, written by lightlane".to_vec();
    text.resize(116, b' ');
    out.extend_from_slice(&text);
    out.extend_from_slice(&[0u8; 8]);
    out.extend_from_slice(&0x0100u16.to_le_bytes());
    out.extend_from_slice(b"IM");
    for (name, data) in arrays {
        let mut m = Vec::new();
        let sub = |m: &mut Vec<u8>, t: u32, bytes: &[u8]| {
            m.extend_from_slice(&t.to_le_bytes());
            m.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            m.extend_from_slice(bytes);
            m.resize(m.len().div_ceil(8) * 8, 0);
        };
        sub(&mut m, MI_UINT32, &[6, 0, 0, 0, 0, 0, 0, 0]);
        let dims: Vec<u8> = [1i32, data.len() as i32].iter().flat_map(|d| d.to_le_bytes()).collect();
        sub(&mut m, MI_INT32, &dims);
        sub(&mut m, MI_INT8, name.as_bytes());
        let d: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        sub(&mut m, MI_DOUBLE, &d);
        let mut el = Vec::new();
        el.extend_from_slice(&MI_MATRIX.to_le_bytes());
        el.extend_from_slice(&(m.len() as u32).to_le_bytes());
        el.extend_from_slice(&m);
        if compress {
            use std::io::Write;
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(&el).map_err(|e| IoError::open(path, e))?;
            let z = z.finish().map_err(|e| IoError::open(path, e))?;
            out.extend_from_slice(&MI_COMPRESSED.to_le_bytes());
            out.extend_from_slice(&(z.len() as u32).to_le_bytes());
            out.extend_from_slice(&z);
        } else {
            out.extend_from_slice(&el);
        }
    }
    std::fs::write(path, out).map_err(|e| IoError::open(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("lightlane-io-mat-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    #[test]
    fn round_trip_plain_and_compressed() {
        for compress in [false, true] {
            let p = tmp(&format!("a{compress}.mat"));
            let x: Vec<f64> = (0..100).map(|i| (i as f64 * 0.1).sin()).collect();
            write(&p, &[("fs", &[2e9]), ("rx", &x), ("odd", &[1.0, 2.0, 3.0])], compress).unwrap();
            let a = read_arrays(&Input::open(&p).unwrap()).unwrap();
            assert_eq!(a.len(), 3);
            assert_eq!(a[1].name, "rx");
            assert_eq!(a[1].real, x);
            assert_eq!(a[1].dims, vec![1, 100]);
            assert_eq!(file_dt(&a), Some(0.5e-9));
            let w = to_waveforms("t", a, 0.5e-9).unwrap();
            assert_eq!(w.len(), 2);
            assert_eq!(w[0].meta.channel.as_deref(), Some("rx"));
        }
    }

    #[test]
    fn corrupt_elements_are_typed_errors() {
        let p = tmp("c.mat");
        write(&p, &[("rx", &[1.0, 2.0, 3.0, 4.0])], false).unwrap();
        let full = std::fs::read(&p).unwrap();
        // Truncated data.
        let t = Input::from_bytes("t", &full[..full.len() - 9]);
        assert!(matches!(read_arrays(&t), Err(IoError::Truncated { .. })));
        // Element length far beyond the file.
        let mut b = full.clone();
        b[132..136].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(read_arrays(&Input::from_bytes("t", &b)), Err(IoError::Truncated { .. })));
        // Dimensions that do not match the data.
        let mut b = full.clone();
        b[128 + 8 + 16 + 8 + 4..128 + 8 + 16 + 8 + 8].copy_from_slice(&1000i32.to_le_bytes());
        assert!(matches!(read_arrays(&Input::from_bytes("t", &b)), Err(IoError::BadField { .. })));
        // Unknown storage type.
        let mut b = full.clone();
        let at = full.len() - 32 - 8;
        b[at..at + 4].copy_from_slice(&11u32.to_le_bytes());
        assert!(matches!(read_arrays(&Input::from_bytes("t", &b)), Err(IoError::Unsupported { .. })));
        // Corrupt zlib stream.
        write(&p, &[("rx", &[1.0, 2.0, 3.0, 4.0])], true).unwrap();
        let mut z = std::fs::read(&p).unwrap();
        let n = z.len();
        for v in &mut z[140..n - 4] {
            *v ^= 0x5a;
        }
        assert!(read_arrays(&Input::from_bytes("t", &z)).is_err());
        assert!(read_arrays(&Input::from_bytes("t", b"MATLAB 7.3 MAT-file")).is_err());
    }
}
