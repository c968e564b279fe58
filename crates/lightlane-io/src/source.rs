//! Positional, bounds-checked access to the bytes of a capture, from a file or from memory.
//!
//! Every reader goes through [`Input`]: a header length is always checked against
//! [`Input::len`] before a buffer of that size is made, so no input can make a reader allocate
//! more than the file holds.
//!
//! Files are memory-mapped when the platform allows it (fallback: positional reads), so the
//! data section of a capture is decoded straight from the page cache without an intermediate
//! copy ([`Input::view`]). As with any mapping, a file truncated by another process while it is
//! being read is outside what a reader can guard against (the OS may deliver SIGBUS); lengths
//! are still checked against the size seen at open.

use crate::{IoError, Result};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

enum Src<'a> {
    File(File),
    FileRef(&'a File),
    Bytes(&'a [u8]),
    Map(Arc<memmap2::Mmap>),
}

/// The bytes of one capture (or of a window into one, such as a `.npz` member).
pub struct Input<'a> {
    src: Src<'a>,
    base: u64,
    len: u64,
    name: String,
}

impl std::fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input").field("name", &self.name).field("base", &self.base).field("len", &self.len).finish()
    }
}

impl Input<'static> {
    /// Opens `path` for positional reads.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| IoError::open(path, e))?;
        let meta = file.metadata().map_err(|e| IoError::open(path, e))?;
        let len = meta.len();
        // Map regular, non-empty files; anything else (pipes, devices, a platform that refuses
        // the mapping) is read with positional reads.
        let mapped = if meta.is_file() && len > 0 && usize::try_from(len).is_ok() {
            // SAFETY: the mapping is read-only and every access is bounds-checked against the
            // length seen here; the file being modified underneath is the documented caveat.
            unsafe { memmap2::Mmap::map(&file) }.ok().filter(|m| m.len() as u64 == len)
        } else {
            None
        };
        let src = match mapped {
            Some(m) => Src::Map(Arc::new(m)),
            None => Src::File(file),
        };
        Ok(Input {
            src,
            base: 0,
            len,
            name: path.display().to_string(),
        })
    }
}

impl<'a> Input<'a> {
    /// Wraps bytes already in memory; `name` is used in error messages.
    pub fn from_bytes(name: impl Into<String>, bytes: &'a [u8]) -> Self {
        Input {
            src: Src::Bytes(bytes),
            base: 0,
            len: bytes.len() as u64,
            name: name.into(),
        }
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the input holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The name used in error messages (the path for files).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks that `len` bytes starting at `offset` lie inside the input.
    pub fn check(&self, offset: u64, len: u64, what: &'static str) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(IoError::truncated(&self.name, what, offset.saturating_add(len), self.len)),
        }
    }

    /// Fills `buf` with the bytes at `offset`; a range past the end is a
    /// [`IoError::Truncated`] naming `what`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8], what: &'static str) -> Result<()> {
        self.check(offset, buf.len() as u64, what)?;
        let at = self.base + offset;
        match &self.src {
            Src::Bytes(b) => {
                let s = at as usize;
                buf.copy_from_slice(&b[s..s + buf.len()]);
                Ok(())
            }
            Src::Map(m) => {
                let s = at as usize;
                buf.copy_from_slice(&m[s..s + buf.len()]);
                Ok(())
            }
            Src::File(f) => read_file_at(f, at, buf).map_err(|e| IoError::Os { path: self.name.clone(), source: e }),
            Src::FileRef(f) => read_file_at(f, at, buf).map_err(|e| IoError::Os { path: self.name.clone(), source: e }),
        }
    }

    /// Reads `len` bytes at `offset` into a new buffer, after checking the range.
    pub fn read_vec(&self, offset: u64, len: u64, what: &'static str) -> Result<Vec<u8>> {
        self.check(offset, len, what)?;
        let mut v = vec![0u8; len as usize];
        self.read_at(offset, &mut v, what)?;
        Ok(v)
    }

    /// Up to `n` bytes from the start (fewer when the input is shorter).
    pub fn head(&self, n: u64) -> Result<Vec<u8>> {
        self.read_vec(0, n.min(self.len), "head")
    }

    /// A window of `len` bytes starting at `offset`, sharing the same file or buffer.
    pub fn slice(&self, offset: u64, len: u64, what: &'static str) -> Result<Input<'_>> {
        self.check(offset, len, what)?;
        let src = match &self.src {
            Src::File(f) => Src::FileRef(f),
            Src::FileRef(f) => Src::FileRef(f),
            Src::Bytes(b) => Src::Bytes(b),
            Src::Map(m) => Src::Map(Arc::clone(m)),
        };
        Ok(Input {
            src,
            base: self.base + offset,
            len,
            name: self.name.clone(),
        })
    }

    /// The `len` bytes at `offset` without copying, when the input is in memory or mapped
    /// (`Ok(None)` for inputs read with positional reads); the range is checked first.
    pub fn view(&self, offset: u64, len: u64, what: &'static str) -> Result<Option<&[u8]>> {
        self.check(offset, len, what)?;
        let s = (self.base + offset) as usize;
        let e = s + len as usize;
        Ok(match &self.src {
            Src::Bytes(b) => Some(&b[s..e]),
            Src::Map(m) => Some(&m[s..e]),
            Src::File(_) | Src::FileRef(_) => None,
        })
    }

    /// True when the input is a memory-mapped file.
    pub fn is_mapped(&self) -> bool {
        matches!(self.src, Src::Map(_))
    }

    /// Tells the OS that the bytes at `offset..offset + len` will not be needed again, so the
    /// resident pages of a mapped file can be dropped (bounded resident memory while streaming
    /// a file larger than RAM). A no-op for other inputs and platforms.
    pub fn release(&self, offset: u64, len: u64) {
        #[cfg(unix)]
        if let Src::Map(m) = &self.src {
            const PAGE: u64 = 4096;
            let start = (self.base + offset).div_ceil(PAGE) * PAGE;
            let end = ((self.base + offset).saturating_add(len).min(m.len() as u64) / PAGE) * PAGE;
            if end > start {
                // SAFETY: a read-only shared file mapping: MADV_DONTNEED only drops resident
                // pages, which are read again from the file on the next access; no slice into
                // the mapping is invalidated.
                let _ = unsafe { m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start as usize, (end - start) as usize) };
            }
        }
        #[cfg(not(unix))]
        let _ = (offset, len);
    }

    /// The whole input as one buffer (for text formats).
    pub fn read_all_bytes(&self) -> Result<Vec<u8>> {
        self.read_vec(0, self.len, "file")
    }
}

#[cfg(unix)]
fn read_file_at(f: &File, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, at)
}

#[cfg(windows)]
fn read_file_at(f: &File, mut at: u64, mut buf: &mut [u8]) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = f.seek_read(buf, at)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        at += n as u64;
        buf = &mut buf[n..];
    }
    Ok(())
}

#[cfg(not(any(unix, windows)))]
fn read_file_at(f: &File, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = f.try_clone()?;
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(buf)
}

/// Little/big-endian field access on a header buffer already read (bounds are the caller's
/// responsibility: the header is read with a checked length first).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'b> {
    pub bytes: &'b [u8],
    pub big: bool,
}

impl<'b> Fields<'b> {
    pub fn new(bytes: &'b [u8], big: bool) -> Self {
        Fields { bytes, big }
    }
    fn arr<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut a = [0u8; N];
        if let Some(s) = self.bytes.get(at..at + N) {
            a.copy_from_slice(s);
        }
        a
    }
    pub fn u8(&self, at: usize) -> u8 {
        self.bytes.get(at).copied().unwrap_or(0)
    }
    pub fn i16(&self, at: usize) -> i16 {
        let a = self.arr::<2>(at);
        if self.big { i16::from_be_bytes(a) } else { i16::from_le_bytes(a) }
    }
    pub fn u16(&self, at: usize) -> u16 {
        self.i16(at) as u16
    }
    pub fn i32(&self, at: usize) -> i32 {
        let a = self.arr::<4>(at);
        if self.big { i32::from_be_bytes(a) } else { i32::from_le_bytes(a) }
    }
    pub fn u32(&self, at: usize) -> u32 {
        self.i32(at) as u32
    }
    pub fn f32(&self, at: usize) -> f32 {
        f32::from_bits(self.u32(at))
    }
    pub fn f64(&self, at: usize) -> f64 {
        let a = self.arr::<8>(at);
        if self.big { f64::from_be_bytes(a) } else { f64::from_le_bytes(a) }
    }
    pub fn u64(&self, at: usize) -> u64 {
        self.f64(at).to_bits()
    }
    /// A fixed-size text field: up to the first NUL, trailing blanks trimmed, non-ASCII replaced.
    pub fn text(&self, at: usize, n: usize) -> String {
        let end = (at + n).min(self.bytes.len());
        let s = self.bytes.get(at..end).unwrap_or(&[]);
        let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
        s.iter()
            .map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '?' })
            .collect::<String>()
            .trim()
            .to_string()
    }
}
