//! Shared helpers of the integration tests: the reference-capture folder and generators of
//! small files in every format (seeds for the corruption and mutation tests).
#![allow(dead_code)]

use lightlane_core::Waveform;
use std::path::PathBuf;

/// `../shared/captures` beside the repository (or `$LIGHTLANE_CAPTURES`), or `None` with a
/// printed reason.
#[allow(unused_imports)] // not every test binary that includes this module reads the captures
pub use lightlane_testdata::captures;

/// A fresh temporary folder for one test.
pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lightlane-io-it-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[allow(clippy::too_many_arguments)]
/// A Tektronix WFM file: `frames` frames of `codes` (int16), with `pre`/`post` charge points
/// holding `i16::MIN`, scale `vscale`, offset `voffset`, `dt`, `t0`. Versions 1, 2, 3.
pub fn tek_wfm(version: u8, big: bool, frames: &[Vec<i16>], pre: usize, post: usize, vscale: f64, voffset: f64, dt: f64, t0: f64) -> Vec<u8> {
    let exp1 = if version == 1 { 166 } else { 168 };
    let uv = if version == 3 { 60 } else { 56 };
    let imp1 = exp1 + 2 * (100 + uv);
    let tb1 = imp1 + 2 * (76 + uv);
    let upd = tb1 + 24;
    let curve = upd + 24;
    let end = curve + 30;
    let nf = frames.len();
    let n = frames[0].len();
    let curve_off = end + (nf - 1) * 54;
    let mut h = vec![0u8; curve_off];
    let put = |h: &mut Vec<u8>, at: usize, b: &[u8]| {
        let mut b = b.to_vec();
        if big {
            b.reverse();
        }
        h[at..at + b.len()].copy_from_slice(&b);
    };
    h[0..2].copy_from_slice(if big { &[0xf0, 0xf0] } else { &[0x0f, 0x0f] });
    h[2..10].copy_from_slice(format!(":WFM#00{version}").as_bytes());
    h[15] = 2;
    put(&mut h, 16, &(curve_off as i32).to_le_bytes());
    h[40..45].copy_from_slice(b"CH1\0\0");
    put(&mut h, 72, &((nf - 1) as u32).to_le_bytes());
    put(&mut h, 78, &((nf > 1) as i32).to_le_bytes());
    put(&mut h, 114, &1u32.to_le_bytes());
    put(&mut h, 118, &1u32.to_le_bytes());
    put(&mut h, 122, &2i32.to_le_bytes());
    put(&mut h, exp1, &vscale.to_le_bytes());
    put(&mut h, exp1 + 8, &voffset.to_le_bytes());
    h[exp1 + 20] = b'V';
    put(&mut h, exp1 + 72, &0i32.to_le_bytes());
    put(&mut h, imp1, &dt.to_le_bytes());
    put(&mut h, imp1 + 8, &t0.to_le_bytes());
    h[imp1 + 20] = b's';
    put(&mut h, tb1 + 8, &0i32.to_le_bytes());
    let bytes_per_frame = 2 * (pre + n + post);
    put(&mut h, curve + 10, &0u32.to_le_bytes());
    put(&mut h, curve + 14, &((2 * pre) as u32).to_le_bytes());
    put(&mut h, curve + 18, &((2 * (pre + n)) as u32).to_le_bytes());
    put(&mut h, curve + 22, &(bytes_per_frame as u32).to_le_bytes());
    put(&mut h, curve + 26, &(bytes_per_frame as u32).to_le_bytes());
    for f in 1..nf {
        put(&mut h, end + (f - 1) * 24 + 12, &(0.25 * f as f64).to_le_bytes());
    }
    let mut out = h;
    for fr in frames {
        for c in std::iter::repeat_n(i16::MIN, pre).chain(fr.iter().copied()).chain(std::iter::repeat_n(i16::MAX, post)) {
            out.extend_from_slice(&if big { c.to_be_bytes() } else { c.to_le_bytes() });
        }
    }
    out
}

/// A small waveform with raw i16 codes.
pub fn coded_waveform(n: usize, gain: f64, offset: f64, dt: f64) -> Waveform {
    let codes: Vec<i16> = (0..n).map(|i| ((i as f64 * 0.3).sin() * 20000.0) as i16).collect();
    let samples = codes.iter().map(|&c| (c as f64 * gain + offset) as f32).collect();
    let mut w = Waveform::new(samples, 1.0 / dt).unwrap();
    w.dt = dt;
    w.raw = Some(lightlane_core::waveform::RawCodes::I16 { codes, gain, offset });
    w.meta.channel = Some("C2".into());
    w
}

/// A Tektronix-style old CSV, a Keysight CSV and a LeCroy segmented CSV.
pub fn csv_samples() -> Vec<(&'static str, String)> {
    let mut tek = String::new();
    for i in 0..64 {
        let head = match i {
            0 => "Record Length,6.400000e+01,".to_string(),
            1 => "Sample Interval,1.000000e-10,s".to_string(),
            2 => "Trigger Point,3.200000e+01,Samples".to_string(),
            _ => ",,".to_string(),
        };
        tek.push_str(&format!("{head},{:.6e},{:.5}\n", (i as f64 - 32.0) * 1e-10, (i as f64 * 0.4).sin()));
    }
    let mut ks = "x-axis,1,2\nsecond,Volt,Volt\n".to_string();
    for i in 0..64 {
        ks.push_str(&format!("{:e},{:.4},{:.4}\n", i as f64 * 5e-10, (i as f64 * 0.2).cos(), i % 3));
    }
    let mut lc = "LECROYWR6Zi,4321,Waveform\nSegments,2,SegmentSize,16\nSegment,TrigTime,TimeSinceSegment1\n#1,01-Jan-2020 00:00:00,0\n#2,01-Jan-2020 00:00:01,1\nTime,Ampl\n".to_string();
    for s in 0..2 {
        for i in 0..16 {
            lc.push_str(&format!("{:e},{}\n", i as f64 * 1e-9, s * 16 + i));
        }
    }
    vec![("tek.csv", tek), ("keysight.csv", ks), ("lecroy.csv", lc)]
}

/// A version 1 four-port Touchstone text with `n` points.
pub fn s4p_text(n: usize) -> String {
    let mut t = "! generated\n# GHz S DB R 50\n".to_string();
    for k in 0..n {
        t.push_str(&format!("{}", k as f64 * 0.5));
        for i in 0..16 {
            if i % 4 == 0 && i > 0 {
                t.push('\n');
            }
            t.push_str(&format!(" {:.3} {:.2}", -(k as f64) - i as f64, (k * i) as f64 * 7.0 % 360.0 - 180.0));
        }
        t.push('\n');
    }
    t
}
