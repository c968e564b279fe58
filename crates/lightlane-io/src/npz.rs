//! NumPy `.npz` archives (`np.savez`, `np.savez_compressed`): a zip file of `.npy` members,
//! stored or deflated, zip64 included. Each 1-D member becomes one waveform named after it.

use crate::source::{Fields, Input};
use crate::{IoError, Result};
use std::io::Read;

/// Deflate cannot expand data by more than this factor.
const MAX_INFLATE_RATIO: u64 = 1032;

/// One member of the archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// File name in the archive (`x.npy`).
    pub name: String,
    /// 0 stored, 8 deflated.
    pub method: u16,
    /// Compressed size.
    pub compressed: u64,
    /// Uncompressed size.
    pub size: u64,
    /// Offset of the member's local header.
    pub local_offset: u64,
}

impl Member {
    /// The array name (`x` for `x.npy`).
    pub fn array_name(&self) -> &str {
        self.name.strip_suffix(".npy").unwrap_or(&self.name)
    }
}

/// True when the first bytes are a zip local header.
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

/// Lists the members from the central directory.
pub fn members(input: &Input<'_>) -> Result<Vec<Member>> {
    let name = input.name();
    let len = input.len();
    if len < 22 {
        return Err(IoError::truncated(name, "zip end record", 22, len));
    }
    let tail_len = len.min(22 + 65535 + 20);
    let tail = input.read_vec(len - tail_len, tail_len, "zip end record")?;
    let eocd = (0..=tail.len() - 22)
        .rev()
        .find(|&i| tail[i..i + 4] == *b"PK\x05\x06")
        .ok_or_else(|| IoError::bad_at(name, "zip end record", "", "not found: not a zip/npz file or truncated"))?;
    let f = Fields::new(&tail[eocd..], false);
    let mut entries = f.u16(10) as u64;
    let mut cd_size = f.u32(12) as u64;
    let mut cd_off = f.u32(16) as u64;
    if (entries == 0xffff || cd_off == 0xffff_ffff || cd_size == 0xffff_ffff) && eocd >= 20 && tail[eocd - 20..eocd - 16] == *b"PK\x06\x07" {
        // zip64: locator → zip64 end record.
        let z64 = Fields::new(&tail[eocd - 20..eocd], false).u64(8);
        let r = input.read_vec(z64, 56, "zip64 end record")?;
        if r[..4] != *b"PK\x06\x06" {
            return Err(IoError::bad_at(name, "zip64 end record", z64, "bad signature"));
        }
        let f = Fields::new(&r, false);
        entries = f.u64(32);
        cd_size = f.u64(40);
        cd_off = f.u64(48);
    }
    let cd = input.read_vec(cd_off, cd_size, "zip central directory")?;
    let mut out = Vec::new();
    let mut p = 0usize;
    for _ in 0..entries {
        let h = cd
            .get(p..p + 46)
            .ok_or_else(|| IoError::truncated(name, "zip central directory entry", (p + 46) as u64, cd.len() as u64))?;
        if h[..4] != *b"PK\x01\x02" {
            return Err(IoError::bad_at(name, "zip central directory", p, "bad entry signature"));
        }
        let f = Fields::new(h, false);
        let method = f.u16(10);
        let mut compressed = f.u32(20) as u64;
        let mut size = f.u32(24) as u64;
        let (nl, el, cl) = (f.u16(28) as usize, f.u16(30) as usize, f.u16(32) as usize);
        let mut local_offset = f.u32(42) as u64;
        let rest = cd
            .get(p + 46..p + 46 + nl + el)
            .ok_or_else(|| IoError::truncated(name, "zip entry name", (p + 46 + nl + el) as u64, cd.len() as u64))?;
        let fname = String::from_utf8_lossy(&rest[..nl]).to_string();
        // zip64 extra field: the 0xffffffff fields, in order size, compressed, offset.
        let mut e = &rest[nl..];
        while e.len() >= 4 {
            let id = u16::from_le_bytes([e[0], e[1]]);
            let sz = u16::from_le_bytes([e[2], e[3]]) as usize;
            let body = e.get(4..4 + sz).unwrap_or(&[]);
            if id == 1 {
                let mut q = 0;
                let mut take = |v: &mut u64| {
                    if *v == 0xffff_ffff {
                        if let Some(b) = body.get(q..q + 8) {
                            *v = u64::from_le_bytes(b.try_into().expect("8 bytes"));
                            q += 8;
                        }
                    }
                };
                take(&mut size);
                take(&mut compressed);
                take(&mut local_offset);
            }
            e = e.get(4 + sz..).unwrap_or(&[]);
        }
        out.push(Member {
            name: fname,
            method,
            compressed,
            size,
            local_offset,
        });
        p += 46 + nl + el + cl;
    }
    Ok(out)
}

/// Reads the `.npy` bytes of one member: a window into the file when stored, inflated
/// (never past the declared size, nor past deflate's maximum ratio) when deflated.
pub enum MemberData<'a> {
    /// A stored member: a window of the archive.
    Stored(Input<'a>),
    /// A deflated member, inflated into memory.
    Inflated(Vec<u8>),
}

/// The data of `m`.
pub fn member_data<'a>(input: &'a Input<'_>, m: &Member) -> Result<MemberData<'a>> {
    let name = input.name();
    let lh = input.read_vec(m.local_offset, 30, "zip local header")?;
    if lh[..4] != *b"PK\x03\x04" {
        return Err(IoError::bad_at(name, "zip local header", m.local_offset, "bad signature"));
    }
    let f = Fields::new(&lh, false);
    let data = m.local_offset + 30 + f.u16(26) as u64 + f.u16(28) as u64;
    input.check(data, m.compressed, "zip member data")?;
    match m.method {
        0 => {
            if m.size != m.compressed {
                return Err(IoError::bad_at(name, "zip member size", m.size, "stored member sizes differ"));
            }
            Ok(MemberData::Stored(input.slice(data, m.size, "zip member data")?))
        }
        8 => {
            if m.size > m.compressed.saturating_mul(MAX_INFLATE_RATIO) + 1024 {
                return Err(IoError::bad_at(name, "zip member size", m.size, "larger than deflate can produce from the compressed bytes"));
            }
            let z = input.read_vec(data, m.compressed, "zip member data")?;
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(&z[..])
                .take(m.size)
                .read_to_end(&mut out)
                .map_err(|e| IoError::bad_at(name, "deflate stream", e, format!("member {} is corrupt", m.name)))?;
            if out.len() as u64 != m.size {
                return Err(IoError::truncated(name, "deflated zip member", m.size, out.len() as u64));
            }
            Ok(MemberData::Inflated(out))
        }
        other => Err(IoError::unsupported(name, "zip compression method", other, "only stored (0) and deflate (8)")),
    }
}

/// Writes 1-D f32 arrays as an uncompressed `.npz` (what `np.savez` writes).
pub fn write(path: &std::path::Path, arrays: &[(&str, &[f32])]) -> Result<()> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in arrays {
        let bytes = crate::npy::encode(data);
        let fname = format!("{name}.npy");
        let crc = crc32(&bytes);
        let off = out.len() as u32;
        let mut lh = Vec::new();
        lh.extend_from_slice(b"PK\x03\x04");
        lh.extend_from_slice(&20u16.to_le_bytes());
        lh.extend_from_slice(&[0u8; 8]); // flags, method 0, time, date
        lh.extend_from_slice(&crc.to_le_bytes());
        lh.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        lh.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        lh.extend_from_slice(&(fname.len() as u16).to_le_bytes());
        lh.extend_from_slice(&0u16.to_le_bytes());
        lh.extend_from_slice(fname.as_bytes());
        out.extend_from_slice(&lh);
        out.extend_from_slice(&bytes);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&[0u8; 8]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        central.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        central.extend_from_slice(&(fname.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0u8; 12]); // extra, comment, disk, attrs
        central.extend_from_slice(&off.to_le_bytes());
        central.extend_from_slice(fname.as_bytes());
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&(arrays.len() as u16).to_le_bytes());
    out.extend_from_slice(&(arrays.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(path, out).map_err(|e| IoError::open(path, e))
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_known_text() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn stored_round_trip_and_deflated_member() {
        let d = std::env::temp_dir().join(format!("lightlane-io-npz-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("a.npz");
        write(&p, &[("x", &[1.0, 2.0]), ("rx", &[0.5, -0.5, 0.25])]).unwrap();
        let input = Input::open(&p).unwrap();
        let m = members(&input).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].array_name(), "rx");
        match member_data(&input, &m[1]).unwrap() {
            MemberData::Stored(i) => assert_eq!(crate::npy::read_input(&i).unwrap().1, crate::npy::Data::F32(vec![0.5, -0.5, 0.25])),
            MemberData::Inflated(_) => panic!("stored"),
        }
        // Rewrite member 0 as deflated by hand.
        let bytes = std::fs::read(&p).unwrap();
        let npy_len = m[0].size as usize;
        let npy = &bytes[30 + 5..30 + 5 + npy_len];
        use std::io::Write;
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(npy).unwrap();
        let z = z.finish().unwrap();
        let mut local = bytes[..30 + 5].to_vec();
        local[8] = 8;
        local[18..22].copy_from_slice(&(z.len() as u32).to_le_bytes());
        let mut file = local.clone();
        file.extend_from_slice(&z);
        let cd_off = file.len() as u32;
        let mut cd = Vec::new();
        cd.extend_from_slice(b"PK\x01\x02");
        cd.extend_from_slice(&[20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
        cd.extend_from_slice(&0u32.to_le_bytes());
        cd.extend_from_slice(&(z.len() as u32).to_le_bytes());
        cd.extend_from_slice(&(npy_len as u32).to_le_bytes());
        cd.extend_from_slice(&5u16.to_le_bytes());
        cd.extend_from_slice(&[0u8; 12]);
        cd.extend_from_slice(&0u32.to_le_bytes());
        cd.extend_from_slice(b"x.npy");
        file.extend_from_slice(&cd);
        file.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
        file.extend_from_slice(&(cd.len() as u32).to_le_bytes());
        file.extend_from_slice(&cd_off.to_le_bytes());
        file.extend_from_slice(&[0, 0]);
        let input = Input::from_bytes("z", &file);
        let m = members(&input).unwrap();
        assert_eq!(m[0].method, 8);
        match member_data(&input, &m[0]).unwrap() {
            MemberData::Inflated(v) => assert_eq!(v, npy),
            MemberData::Stored(_) => panic!("deflated"),
        }
        // A declared size past deflate's limit is refused before inflating.
        let mut bad = file.clone();
        let at = cd_off as usize + 24;
        bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let input = Input::from_bytes("z", &bad);
        let m = members(&input).unwrap();
        assert!(member_data(&input, &m[0]).is_err());
    }
}
