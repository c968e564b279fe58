//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), 1-D arrays or single-row/column 2-D
//! arrays of `f4`, `f8`, `i1`, `u1`, `i2`, `u2`, `i4` in either byte order.
//!
//! Reading never allocates more than the file holds: the header's shape is checked against the
//! file size before any buffer is made.

use crate::layout::{Described, Elem, Layout};
use crate::source::Input;
use crate::{IoError, Result};
use lightlane_core::waveform::WaveformMeta;
use lightlane_core::Waveform;
use std::io::Write;
use std::path::Path;

/// The six magic bytes every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Element type of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    I8,
    U8,
    I16,
    U16,
    I32,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::I8 | Dtype::U8 => 1,
            Dtype::I16 | Dtype::U16 => 2,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F64 => 8,
        }
    }
    fn descr(self) -> &'static str {
        match self {
            Dtype::F32 => "<f4",
            Dtype::F64 => "<f8",
            Dtype::I8 => "|i1",
            Dtype::U8 => "|u1",
            Dtype::I16 => "<i2",
            Dtype::U16 => "<u2",
            Dtype::I32 => "<i4",
        }
    }
}

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub dtype: Dtype,
    pub big_endian: bool,
    pub shape: Vec<u64>,
    /// Byte offset of the data.
    pub data_offset: u64,
}

impl Header {
    /// Number of elements (product of the shape).
    pub fn len(&self) -> Option<u64> {
        self.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d))
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

/// Array data of one of the supported element types, converted to native byte order.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    U16(Vec<u16>),
    I32(Vec<i32>),
}

impl Data {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I8(v) => v.len(),
            Data::U8(v) => v.len(),
            Data::I16(v) => v.len(),
            Data::U16(v) => v.len(),
            Data::I32(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as f32 (f64 rounds; integers convert exactly up to 2^24).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Data::F32(v) => v.clone(),
            Data::F64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I8(v) => v.iter().map(|&x| x as f32).collect(),
            Data::U8(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I16(v) => v.iter().map(|&x| x as f32).collect(),
            Data::U16(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I32(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
}

fn dtype_of(code: &str) -> Option<Dtype> {
    Some(match code {
        "f4" => Dtype::F32,
        "f8" => Dtype::F64,
        "i1" | "b" => Dtype::I8,
        "u1" | "B" => Dtype::U8,
        "i2" => Dtype::I16,
        "u2" => Dtype::U16,
        "i4" => Dtype::I32,
        _ => return None,
    })
}

/// Parses the header of the `.npy` data in `input`, checking it against the input's size.
pub fn read_header(input: &Input<'_>) -> Result<Header> {
    let name = input.name();
    let head = input.head(12)?;
    if head.len() < 10 || &head[..6] != MAGIC {
        return Err(IoError::bad_at(name, "magic", "", "not a .npy file"));
    }
    let (hlen, start) = match head[6] {
        1 => (u16::from_le_bytes([head[8], head[9]]) as u64, 10u64),
        2 | 3 => {
            if head.len() < 12 {
                return Err(IoError::truncated(name, "npy header length", 12, input.len()));
            }
            (u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as u64, 12u64)
        }
        v => return Err(IoError::bad_at(name, "version", v, "supported .npy versions are 1, 2 and 3")),
    };
    if hlen > 1 << 20 {
        return Err(IoError::bad_at(name, "header_len", hlen, "header larger than 1 MiB"));
    }
    let bytes = input.read_vec(start, hlen, "npy header")?;
    let text = std::str::from_utf8(&bytes).map_err(|_| IoError::bad_at(name, "header", "(binary)", "header is not text"))?;
    let descr = dict_value(text, "descr").ok_or_else(|| IoError::missing(name, "descr", "the .npy header has no 'descr' entry"))?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let (big_endian, code) = match descr.as_bytes().first() {
        Some(b'<') | Some(b'|') | Some(b'=') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        _ => (false, descr),
    };
    let dtype = dtype_of(code).ok_or_else(|| IoError::bad_at(name, "descr", descr, "supported dtypes: f4, f8, i1, u1, i2, u2, i4"))?;
    let shape_text = dict_value(text, "shape").ok_or_else(|| IoError::missing(name, "shape", "the .npy header has no 'shape' entry"))?;
    let inner = shape_text.trim().trim_start_matches('(');
    let inner = &inner[..inner.find(')').unwrap_or(inner.len())];
    let mut shape = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        shape.push(
            part.trim_end_matches('L')
                .parse::<u64>()
                .map_err(|_| IoError::bad_at(name, "shape", shape_text.trim(), "not a tuple of integers"))?,
        );
    }
    let non_unit = shape.iter().filter(|&&d| d != 1).count();
    if shape.len() > 1 && non_unit > 1 {
        return Err(IoError::bad_at(name, "shape", format!("{shape:?}"), "expected a 1-D array (or a single row/column)"));
    }
    Ok(Header {
        dtype,
        big_endian,
        shape,
        data_offset: start + hlen,
    })
}

/// Value text of `key` in a Python dict literal (up to the next top-level comma or brace).
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat1 = format!("'{key}'");
    let pat2 = format!("\"{key}\"");
    let at = text.find(&pat1).map(|i| i + pat1.len()).or_else(|| text.find(&pat2).map(|i| i + pat2.len()))?;
    let rest = text[at..].trim_start().strip_prefix(':')?;
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    Some(rest)
}

/// Reads the header and data of a `.npy` file.
fn layout_of(input: &Input<'_>, header: &Header) -> Result<Layout> {
    let name = input.name();
    let n = header.len().ok_or_else(|| IoError::bad_at(name, "shape", format!("{:?}", header.shape), "element count overflows"))?;
    let elem = match header.dtype {
        Dtype::F32 => Elem::F32,
        Dtype::F64 => Elem::F64,
        Dtype::I8 => Elem::I8,
        Dtype::U8 => Elem::U8,
        Dtype::I16 => Elem::I16,
        Dtype::U16 => Elem::U16,
        Dtype::I32 => Elem::I32,
    };
    let need = n
        .checked_mul(header.dtype.size() as u64)
        .and_then(|b| b.checked_add(header.data_offset))
        .ok_or_else(|| IoError::bad_at(name, "shape", format!("{:?}", header.shape), "byte size overflows"))?;
    if need > input.len() {
        return Err(IoError::truncated(name, "npy data", need, input.len()));
    }
    Ok(Layout {
        offset: header.data_offset,
        count: n,
        elem,
        big_endian: header.big_endian,
        gain: 1.0,
        value_offset: 0.0,
    })
}

/// Reads the header and data of the `.npy` array in `input`.
pub fn read_input(input: &Input<'_>) -> Result<(Header, Data)> {
    let header = read_header(input)?;
    let layout = layout_of(input, &header)?;
    let raw = input.read_vec(layout.offset, layout.count * header.dtype.size() as u64, "npy data")?;
    let be = header.big_endian;
    macro_rules! conv {
        ($t:ty, $n:expr) => {
            raw.chunks_exact($n)
                .map(|c| {
                    let mut a = [0u8; $n];
                    a.copy_from_slice(c);
                    if be { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }
                })
                .collect()
        };
    }
    let data = match header.dtype {
        Dtype::F32 => Data::F32(conv!(f32, 4)),
        Dtype::F64 => Data::F64(conv!(f64, 8)),
        Dtype::I8 => Data::I8(raw.iter().map(|&b| b as i8).collect()),
        Dtype::U8 => Data::U8(raw),
        Dtype::I16 => Data::I16(conv!(i16, 2)),
        Dtype::U16 => Data::U16(conv!(u16, 2)),
        Dtype::I32 => Data::I32(conv!(i32, 4)),
    };
    Ok((header, data))
}

/// Reads the header and data of a `.npy` file.
pub fn read(path: &Path) -> Result<(Header, Data)> {
    read_input(&Input::open(path)?)
}

/// Describes the array in `input` as a waveform at sample rate `fs` (the format has no timing).
pub fn describe(input: &Input<'_>, fs: f64) -> Result<Described> {
    let header = read_header(input)?;
    let layout = layout_of(input, &header)?;
    if !(fs.is_finite() && fs > 0.0) {
        return Err(IoError::bad_at(input.name(), "fs", fs, "sample rate must be positive"));
    }
    let mut meta = WaveformMeta {
        vertical_unit: "V".into(),
        ..Default::default()
    };
    meta.extra.insert("format".into(), "npy".into());
    meta.extra.insert("dtype".into(), layout.elem.name().into());
    Ok(Described {
        layout,
        dt: 1.0 / fs,
        t0: 0.0,
        meta,
    })
}

/// Reads a `.npy` array as a waveform at sample rate `fs`. Integer arrays of 8 and 16 bits are
/// kept as raw codes too (gain 1, offset 0).
pub fn read_waveform(path: &Path, fs: f64) -> Result<Waveform> {
    let input = Input::open(path)?;
    let d = describe(&input, fs)?;
    crate::layout::load(&input, d)
}

/// Element types [`write`] can store.
pub trait Element: Copy {
    /// The dtype written to the header.
    const DTYPE: Dtype;
    /// Little-endian bytes of the value.
    fn put(self, out: &mut Vec<u8>);
}

macro_rules! element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: Dtype = $d;
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}
element!(f32, Dtype::F32);
element!(f64, Dtype::F64);
element!(i8, Dtype::I8);
element!(u8, Dtype::U8);
element!(i16, Dtype::I16);
element!(u16, Dtype::U16);
element!(i32, Dtype::I32);

/// Encodes a 1-D array as the bytes of a version 1.0 `.npy` file.
pub fn encode<T: Element>(data: &[T]) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': ({},), }}",
        T::DTYPE.descr(),
        data.len()
    );
    // Pad so that the data starts on a 64-byte boundary, header ends with '\n'.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * T::DTYPE.size());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in data {
        v.put(&mut out);
    }
    out
}

/// Writes a 1-D array as a version 1.0 `.npy` file.
pub fn write<T: Element>(path: &Path, data: &[T]) -> Result<()> {
    let out = encode(data);
    let mut f = std::fs::File::create(path).map_err(|e| IoError::open(path, e))?;
    f.write_all(&out).map_err(|e| IoError::open(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightlane_core::waveform::RawCodes;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("lightlane-io-npy-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    #[test]
    fn round_trip_types() {
        let p = tmp("f32.npy");
        write(&p, &[1.5f32, -2.0, 3.25]).unwrap();
        let (h, d) = read(&p).unwrap();
        assert_eq!(h.shape, vec![3]);
        assert_eq!(d, Data::F32(vec![1.5, -2.0, 3.25]));
        assert_eq!(h.data_offset % 64, 0);
        let p = tmp("u8.npy");
        write(&p, &[0u8, 3, 2, 1]).unwrap();
        assert_eq!(read(&p).unwrap().1, Data::U8(vec![0, 3, 2, 1]));
        let p = tmp("i16.npy");
        write(&p, &[-300i16, 7]).unwrap();
        let w = read_waveform(&p, 1e9).unwrap();
        assert_eq!(w.samples, vec![-300.0, 7.0]);
        assert!(matches!(w.raw, Some(RawCodes::I16 { .. })));
    }

    #[test]
    fn big_endian_and_2d_row() {
        let p = tmp("be.npy");
        let mut bytes = Vec::new();
        let h = "{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }";
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(h.len() as u16).to_le_bytes());
        bytes.extend_from_slice(h.as_bytes());
        bytes.extend_from_slice(&1.0f64.to_be_bytes());
        bytes.extend_from_slice(&(-0.5f64).to_be_bytes());
        std::fs::write(&p, bytes).unwrap();
        assert_eq!(read(&p).unwrap().1, Data::F64(vec![1.0, -0.5]));
    }

    #[test]
    fn corrupt_files_give_typed_errors() {
        let p = tmp("trunc.npy");
        write(&p, &[1.0f32; 100]).unwrap();
        let full = std::fs::read(&p).unwrap();
        std::fs::write(&p, &full[..full.len() - 8]).unwrap();
        assert!(matches!(read(&p), Err(IoError::Truncated { .. })));
        // Shape far larger than the file: rejected before allocating.
        let mut huge = full.clone();
        let s = String::from_utf8_lossy(&huge[10..74]).replace("(100,)", "(9999999999999,)");
        huge.splice(10..74, s.bytes().take(64));
        std::fs::write(&p, &huge).unwrap();
        assert!(read(&p).is_err());
        std::fs::write(&p, b"\x93NUMPY\x01\x00").unwrap();
        assert!(read(&p).is_err());
        std::fs::write(&p, b"hello").unwrap();
        assert!(read(&p).is_err());
        let p2 = tmp("nan.npy");
        write(&p2, &[1.0f32, f32::NAN]).unwrap();
        assert!(matches!(read_waveform(&p2, 1e9), Err(IoError::Invalid { .. })));
        let p3 = tmp("2d.npy");
        let mut b = Vec::new();
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(&[0u8; 16]);
        std::fs::write(&p3, b).unwrap();
        assert!(matches!(read(&p3), Err(IoError::BadField { field: "shape", .. })));
    }
}
