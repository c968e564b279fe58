//! Writers round-trip; generated files of every format read back exactly; hand-made
//! corruptions of each format give the typed error that names the problem.

mod common;

use lightlane_core::waveform::RawCodes;
use lightlane_io::{keysight, lecroy, read_all, read_bytes, read_capture, Format, Input, IoError, ReadOptions};

fn opts() -> ReadOptions {
    ReadOptions::default()
}

#[test]
fn keysight_bin_round_trip() {
    let d = common::tmpdir("ks");
    let mut a = common::coded_waveform(1000, 1e-4, 0.1, 20e-12);
    a.t0 = -5e-9;
    let mut b = common::coded_waveform(1000, 2e-4, 0.0, 20e-12);
    b.meta.channel = Some("CH3".into());
    let p = d.join("synthetic.bin");
    keysight::write(&p, &[a.clone(), b.clone()]).unwrap();
    let cap = read_all(&p, &opts()).unwrap();
    assert_eq!(cap.format, Format::Keysight);
    assert_eq!(cap.waveforms.len(), 2);
    assert_eq!(cap.waveforms[0].samples, a.samples);
    assert_eq!(cap.waveforms[1].samples, b.samples);
    assert_eq!((cap.waveforms[0].dt, cap.waveforms[0].t0), (20e-12, -5e-9));
    assert_eq!(cap.channels(), vec!["C2".to_string(), "CH3".to_string()]);
}

#[test]
fn lecroy_write_round_trip_keeps_codes() {
    let d = common::tmpdir("lc");
    let segs: Vec<_> = (0..3)
        .map(|s| {
            let mut w = common::coded_waveform(256, 1.25e-4, -0.5, 1e-9);
            if let Some(RawCodes::I16 { codes, .. }) = &mut w.raw {
                codes.iter_mut().for_each(|c| *c = c.wrapping_add(s * 100));
                w.samples = codes.iter().map(|&c| (c as f64 * 1.25e-4 - 0.5) as f32).collect();
            }
            w
        })
        .collect();
    let p = d.join("seq.trc");
    lecroy::write(&p, &segs).unwrap();
    let cap = read_all(&p, &opts()).unwrap();
    assert_eq!(cap.format, Format::LeCroy);
    assert_eq!(cap.waveforms.len(), 3);
    for (w, s) in cap.waveforms.iter().zip(&segs) {
        let (Some(RawCodes::I16 { codes: got, .. }), Some(RawCodes::I16 { codes: want, .. })) = (&w.raw, &s.raw) else { panic!() };
        assert_eq!(got, want);
        for (x, y) in w.samples.iter().zip(&s.samples) {
            assert!((x - y).abs() < 1e-6);
        }
    }
}

#[test]
fn tek_generated_versions_and_byte_orders() {
    let frames = vec![vec![1i16, -2, 300, -400, 5], vec![6, 7, 8, 9, 10], vec![-11, 12, -13, 14, -15]];
    for version in [1u8, 2, 3] {
        for big in [false, true] {
            let b = common::tek_wfm(version, big, &frames, 3, 2, 2e-4, 0.25, 50e-12, -1e-9);
            let cap = read_bytes("gen.wfm", &b, &opts()).unwrap();
            assert_eq!(cap.format, Format::Tektronix);
            assert_eq!(cap.waveforms.len(), 3, "v{version} big={big}");
            for (w, f) in cap.waveforms.iter().zip(&frames) {
                let Some(RawCodes::I16 { codes, gain, offset }) = &w.raw else { panic!() };
                assert_eq!(codes, f, "v{version} big={big}: pre/post charge excluded");
                assert_eq!((*gain, *offset, w.dt, w.t0), (2e-4, 0.25, 50e-12, -1e-9));
                assert_eq!(w.meta.channel.as_deref(), Some("CH1"));
            }
            assert_eq!(cap.waveforms[2].meta.extra["trigger_fraction"], format!("{:e}", 0.5));
        }
    }
}

#[test]
fn csv_samples_read() {
    for (name, text) in common::csv_samples() {
        let cap = read_bytes(name, text.as_bytes(), &opts()).unwrap();
        assert_eq!(cap.format, Format::Csv, "{name}");
        match name {
            "tek.csv" => {
                assert_eq!(cap.waveforms.len(), 1);
                assert_eq!(cap.waveforms[0].len(), 64);
                assert!((cap.waveforms[0].dt - 1e-10).abs() < 1e-22);
                assert!((cap.waveforms[0].t0 + 32e-10).abs() < 1e-20);
            }
            "keysight.csv" => assert_eq!(cap.channels(), vec!["1".to_string(), "2".to_string()]),
            _ => {
                assert_eq!(cap.waveforms.len(), 2);
                assert_eq!(cap.waveforms[1].samples[0], 16.0);
            }
        }
    }
}

#[test]
fn npz_and_detection_from_content() {
    let d = common::tmpdir("npz");
    let p = d.join("arrays.dat");
    lightlane_io::npz::write(&p, &[("short", &[1.0, 2.0]), ("rx", &[0.5, -0.5, 0.25, 0.0])]).unwrap();
    assert_eq!(lightlane_io::detect_format(&p).unwrap(), Format::Npz);
    assert!(matches!(read_capture(&p, &opts()), Err(IoError::MissingField { field: "fs", .. })));
    let w = read_capture(&p, &ReadOptions { fs: Some(1e9), ..opts() }).unwrap();
    assert_eq!(w.meta.channel.as_deref(), Some("rx"));
    assert_eq!(w.samples, vec![0.5, -0.5, 0.25, 0.0]);
    // An fs member gives the timing.
    lightlane_io::npz::write(&p, &[("fs", &[4e9]), ("rx", &[1.0, 2.0])]).unwrap();
    let w = read_capture(&p, &opts()).unwrap();
    assert_eq!(w.dt, 0.25e-9);
    // A Keysight file named .csv is still read as Keysight.
    let k = d.join("misnamed.csv");
    keysight::write(&k, &[common::coded_waveform(10, 1e-3, 0.0, 1e-9)]).unwrap();
    assert_eq!(lightlane_io::detect_format(&k).unwrap(), Format::Keysight);
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

#[test]
fn lecroy_corruptions() {
    let d = common::tmpdir("lcc");
    let p = d.join("a.trc");
    lecroy::write(&p, &[common::coded_waveform(100, 1e-4, 0.0, 1e-9), common::coded_waveform(100, 1e-4, 0.0, 1e-9)]).unwrap();
    let good = std::fs::read(&p).unwrap();
    let w = 11; // WAVEDESC offset after "#9000000000"
    let read = |b: &[u8]| read_bytes("x.trc", b, &opts());
    assert!(read(&good).is_ok());
    assert!(matches!(read(&good[..good.len() - 10]), Err(IoError::Truncated { .. })), "truncated data");
    let mut b = good.clone();
    put(&mut b, w + 116, &10_000_000i32.to_le_bytes());
    put(&mut b, w + 60, &20_000_000i32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::Truncated { .. })), "count beyond the file");
    let mut b = good.clone();
    put(&mut b, w + 60, &(i32::MAX).to_le_bytes());
    put(&mut b, w + 116, &(i32::MAX).to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "WAVE_ARRAY_1", .. })), "count beyond WAVE_ARRAY_1");
    for dt in [0f32, -1e-9, f32::NAN] {
        let mut b = good.clone();
        put(&mut b, w + 176, &dt.to_le_bytes());
        assert!(matches!(read(&b), Err(IoError::BadField { field: "sample interval", .. })), "dt {dt}");
    }
    let mut b = good.clone();
    put(&mut b, w + 32, &7i16.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::Unsupported { field: "COMM_TYPE", .. })));
    let mut b = good.clone();
    put(&mut b, w + 34, &5i16.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "COMM_ORDER", .. })));
    let mut b = good.clone();
    put(&mut b, w + 40, &(-4i32).to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "USER_TEXT", .. })));
    let mut b = good.clone();
    put(&mut b, w + 144, &3i32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "SUBARRAY_COUNT", .. })));
    let mut b = good.clone();
    put(&mut b, w + 156, &0f32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "vertical gain", .. })));
    let mut b = good.clone();
    put(&mut b, w + 16, b"OTHER_TEMPLATE\0\0");
    assert!(matches!(read(&b), Err(IoError::Unsupported { field: "TEMPLATE_NAME", .. })));
}

#[test]
fn tek_corruptions() {
    let good = common::tek_wfm(3, false, &[vec![1, 2, 3, 4], vec![5, 6, 7, 8]], 2, 2, 1e-3, 0.0, 1e-10, 0.0);
    let read = |b: &[u8]| read_bytes("x.wfm", b, &opts());
    assert!(read(&good).is_ok());
    assert!(matches!(read(&good[..good.len() - 3]), Err(IoError::Truncated { .. })));
    assert!(matches!(read(&good[..500]), Err(IoError::Truncated { .. })));
    let mut b = good.clone();
    put(&mut b, 72, &1_000_000u32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "curve buffer offset", .. })), "frames beyond the file");
    let mut b = good.clone();
    put(&mut b, 830, &0x7fff_fff0u32.to_le_bytes());
    put(&mut b, 826, &0x7fff_fff0u32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::Truncated { .. })), "frame size beyond the file");
    for dt in [0f64, -1e-10, f64::INFINITY] {
        let mut b = good.clone();
        put(&mut b, 488, &dt.to_le_bytes());
        assert!(matches!(read(&b), Err(IoError::BadField { field: "sample interval", .. })), "dt {dt}");
    }
    let mut b = good.clone();
    put(&mut b, 240, &3i32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::Unsupported { field: "curve format", .. })));
    let mut b = good.clone();
    put(&mut b, 240, &4i32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "bytes per point", .. })));
    let mut b = good.clone();
    put(&mut b, 2, b":WFM#009");
    assert!(matches!(read(&b), Err(IoError::Unsupported { field: "version", .. })));
    let mut b = good.clone();
    put(&mut b, 122, &6i32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::Unsupported { field: "record type", .. })));
    let mut b = good.clone();
    put(&mut b, 822, &7u32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "curve offsets", .. })));
    let mut b = good.clone();
    put(&mut b, 168, &f64::NAN.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "vertical gain", .. })));
}

#[test]
fn keysight_corruptions() {
    let d = common::tmpdir("ksc");
    let p = d.join("a.bin");
    keysight::write(&p, &[common::coded_waveform(50, 1e-3, 0.0, 1e-9)]).unwrap();
    let good = std::fs::read(&p).unwrap();
    let len = good.len() as i32;
    let read = |b: &[u8]| read_bytes("x.bin", b, &opts());
    assert!(read(&good).is_ok());
    assert!(matches!(read(&good[..good.len() - 4]), Err(IoError::Truncated { .. })), "file size field beyond the file");
    let mut b = good[..good.len() - 4].to_vec();
    put(&mut b, 4, &(len - 4).to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::Truncated { what: "waveform buffer", .. })));
    let mut b = good.clone();
    put(&mut b, 12 + 12, &51i32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "buffer size", .. })), "more points than the buffer");
    let mut b = good.clone();
    put(&mut b, 12 + 140 + 8, &i32::MAX.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::Truncated { .. })), "buffer beyond the file");
    let mut b = good.clone();
    put(&mut b, 8, &1000i32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::Truncated { .. })), "more waveforms than the file holds");
    for dt in [0f64, -1e-9] {
        let mut b = good.clone();
        put(&mut b, 12 + 32, &dt.to_le_bytes());
        assert!(matches!(read(&b), Err(IoError::BadField { field: "sample interval", .. })));
    }
    let mut b = good.clone();
    put(&mut b, 12 + 140 + 4, &9i16.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::Unsupported { field: "buffer type", .. })));
    let mut b = good.clone();
    put(&mut b, 12, &40i32.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::BadField { field: "waveform header size", .. })));
    let mut b = good.clone();
    put(&mut b, 12 + 140 + 12, &f32::NAN.to_le_bytes());
    assert!(matches!(read(&b), Err(IoError::Invalid { .. })), "NaN sample");
}

#[test]
fn npy_npz_csv_corruptions() {
    let good = lightlane_io::npy::encode(&[1.0f32; 16]);
    let o = ReadOptions { fs: Some(1e9), ..opts() };
    assert!(read_bytes("x.npy", &good, &o).is_ok());
    assert!(matches!(read_bytes("x.npy", &good[..good.len() - 1], &o), Err(IoError::Truncated { .. })));
    let replace = |from: &str, to: &str| -> Vec<u8> {
        let at = good.windows(from.len()).position(|w| w == from.as_bytes()).unwrap();
        let mut b = good[..at].to_vec();
        b.extend_from_slice(to.as_bytes());
        b.extend_from_slice(&good[at + from.len()..]);
        let hl = (u16::from_le_bytes([good[8], good[9]]) as usize + to.len() - from.len()) as u16;
        b[8..10].copy_from_slice(&hl.to_le_bytes());
        b
    };
    assert!(matches!(read_bytes("x.npy", &replace("'<f4'", "'<c8'"), &o), Err(IoError::BadField { field: "descr", .. })));
    assert!(matches!(read_bytes("x.npy", &replace("(16,)", "(99999999999,)"), &o), Err(IoError::Truncated { .. })));
    assert!(matches!(read_bytes("x.npy", &replace("(16,)", "(4, 4)"), &o), Err(IoError::BadField { field: "shape", .. })));
    // npz: cut the end record off; point a member past the end.
    let d = common::tmpdir("npzc");
    let p = d.join("a.npz");
    lightlane_io::npz::write(&p, &[("rx", &[1.0, 2.0, 3.0])]).unwrap();
    let z = std::fs::read(&p).unwrap();
    assert!(read_bytes("x.npz", &z, &o).is_ok());
    assert!(matches!(read_bytes("x.npz", &z[..z.len() - 30], &o), Err(IoError::BadField { field: "zip end record", .. })));
    let mut b = z.clone();
    let cd = u32::from_le_bytes(b[b.len() - 6..b.len() - 2].try_into().unwrap()) as usize;
    put(&mut b, cd + 42, &0x00ff_ffffu32.to_le_bytes());
    assert!(matches!(read_bytes("x.npz", &b, &o), Err(IoError::Truncated { .. })));
    let mut b = z.clone();
    put(&mut b, cd + 10, &12u16.to_le_bytes());
    assert!(matches!(read_bytes("x.npz", &b, &o), Err(IoError::Unsupported { .. })));
    // CSV: a time column that repeats a value, or goes in uneven steps.
    assert!(matches!(read_bytes("x.csv", b"t,v\n0,1\n0,2\n0,3\n", &opts()), Err(IoError::BadField { .. })));
    assert!(matches!(read_bytes("x.csv", b"t,v\n0,1\n1,2\n2,3\n2.5,4\n4,5\n", &opts()), Err(IoError::BadField { field: "time", .. })));
    // Raw data without a sidecar cannot be read from memory.
    assert!(read_bytes("x.bin", &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xff], &opts()).is_err());
}

#[test]
fn selection_errors_name_what_exists() {
    let d = common::tmpdir("sel");
    let p = d.join("two.bin");
    keysight::write(&p, &[common::coded_waveform(10, 1e-3, 0.0, 1e-9), common::coded_waveform(10, 1e-3, 0.0, 1e-9)]).unwrap();
    match read_capture(&p, &ReadOptions { channel: Some(3), ..opts() }) {
        Err(IoError::NoSuchItem { what: "channel", available, .. }) => assert_eq!(available, "C2"),
        other => panic!("{other:?}"),
    }
    // Same label twice: the second is segment 1 of channel C2.
    assert!(read_capture(&p, &ReadOptions { segment: Some(1), ..opts() }).is_ok());
    assert!(matches!(read_capture(&p, &ReadOptions { channel_name: Some("CH9".into()), ..opts() }), Err(IoError::NoSuchItem { .. })));
    let i = Input::from_bytes("e", b"");
    assert!(lightlane_io::keysight::describe(&i).is_err());
}
