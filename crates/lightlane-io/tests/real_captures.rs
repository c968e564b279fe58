//! Every reference capture in `../shared/captures` reads, with the values MANIFEST.md records.
//! Each test skips (with a printed reason) when the folder is absent.

mod common;

use lightlane_core::waveform::RawCodes;
use lightlane_io::touchstone::{self, db};
use lightlane_io::{lecroy, read_all, read_capture, Format, IoError, ReadOptions};

fn pkpk(v: &[f32]) -> f64 {
    let (lo, hi) = v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    (hi - lo) as f64
}

fn percentile(v: &[f32], p: f64) -> f64 {
    let mut s: Vec<f32> = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() - 1) as f64 * p).round() as usize] as f64
}

#[test]
fn lecroy_truncated_header_fields_and_error() {
    let Some(c) = common::captures() else { return };
    let p = c.join("lecroy_trc/header_only_truncated.trc");
    let h = lecroy::read_header(&p).unwrap();
    assert_eq!(h.template_name, "LECROY_2_3");
    assert_eq!(h.wave_array_count, 400400);
    assert_eq!(h.subarray_count, 200);
    assert_eq!(h.vertical_gain, 0.000_124_995_000_078_342_85f64 as f32);
    assert_eq!(h.vertical_offset as f64, -0.949999988079071);
    assert_eq!(h.horiz_interval as f64, 9.999999717180685e-10);
    assert_eq!(h.horiz_offset, -2.2824463729809135e-07);
    assert_eq!(h.trigger_time.iso(), "2022-10-13T16:29:38.475715");
    assert_eq!(h.instrument_number, 50699);
    assert_eq!(h.instrument_name, "LECROYWR64Xi-A");
    assert_eq!(h.nominal_bits, 8);
    assert_eq!(h.wave_array_1, 800800);
    assert_eq!(h.trig_time_array, 3200);
    assert_eq!(h.timebase_text(), "200 ns/div");
    assert_eq!(h.coupling_text(), "DC 50 Ohm");
    assert_eq!(h.max_value, 31745.0);
    assert_eq!(h.min_value, -32001.0);
    // The data is cut off: a typed truncation error, for reading and for streaming.
    match read_all(&p, &ReadOptions::default()) {
        Err(IoError::Truncated { expected, got, .. }) => {
            assert_eq!(got, 357);
            assert_eq!(expected, 11 + 346 + 3200 + 800800);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(matches!(lightlane_io::open_stream(&p), Err(IoError::Truncated { .. })));
}

#[test]
fn lecroy_issue1_single_sweep() {
    let Some(c) = common::captures() else { return };
    let p = c.join("lecroy_trc/issue_1.trc");
    let h = lecroy::read_header(&p).unwrap();
    assert_eq!((h.comm_type, h.comm_order, h.vert_coupling, h.nominal_bits), (1, 1, 2, 14));
    assert_eq!(h.instrument_name, "LECROYWP254HD-MS");
    assert_eq!(h.trigger_time.iso(), "2023-05-16T18:51:19.888565");
    let cap = read_all(&p, &ReadOptions::default()).unwrap();
    assert_eq!(cap.format, Format::LeCroy);
    assert_eq!(cap.waveforms.len(), 1);
    let w = &cap.waveforms[0];
    assert_eq!(w.len(), 100002);
    assert_eq!(w.dt, 1.0000000116860974e-07);
    let (lo, hi) = w.samples.iter().fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(lo > 0.3227 && lo < 0.3230 && hi > 0.3310 && hi < 0.3313, "{lo} {hi}");
    let Some(RawCodes::I16 { codes, gain, offset }) = &w.raw else { panic!("int16 codes kept") };
    assert_eq!(&codes[..5], &[-20, -149, -285, -428, -577]);
    assert_eq!(*offset, 0.33000001311302185);
    assert!((w.samples[0] as f64 - (-20.0 * gain + offset)).abs() < 1e-7);
    assert_eq!(w.meta.extra["coupling"], "DC 1 MOhm");
}

#[test]
fn lecroy_sequence_segments() {
    let Some(c) = common::captures() else { return };
    let p = c.join("lecroy_trc/pulse_sequence.trc");
    let cap = read_all(&p, &ReadOptions::default()).unwrap();
    assert_eq!(cap.waveforms.len(), 20);
    assert_eq!(cap.channels().len(), 1);
    for (i, w) in cap.waveforms.iter().enumerate() {
        assert_eq!(w.len(), 502);
        assert_eq!(w.dt, 9.999999717180685e-10);
        assert_eq!(w.meta.extra["segment"], i.to_string());
        let Some(RawCodes::I16 { gain, offset, .. }) = &w.raw else { panic!() };
        assert_eq!(*gain, 0.00012499500007834285);
        assert_eq!(*offset, 1.0); // volts = gain * code - (-1.0)
    }
    let Some(RawCodes::I16 { codes, .. }) = &cap.waveforms[0].raw else { panic!() };
    assert_eq!(&codes[..3], &[-7936, -7680, -7936]);
    // Segment 5 through read_capture matches the capture's sixth waveform.
    let w = read_capture(&p, &ReadOptions { segment: Some(5), ..Default::default() }).unwrap();
    assert_eq!(w.samples, cap.waveforms[5].samples);
    assert!(matches!(read_capture(&p, &ReadOptions { segment: Some(20), ..Default::default() }), Err(IoError::NoSuchItem { .. })));
    // The stream of segment 5 is the same data.
    let s = lightlane_io::open_stream_with(&p, &ReadOptions { segment: Some(5), ..Default::default() }, 100).unwrap();
    let joined: Vec<f32> = s.flat_map(|c| c.unwrap().samples).collect();
    assert_eq!(joined, cap.waveforms[5].samples);
}

#[test]
fn tek_analog_waveform_exact_codes() {
    let Some(c) = common::captures() else { return };
    let p = c.join("tek_wfm/analog_waveform.wfm");
    let (_, expected) = lightlane_io::npy::read(&c.join("tek_wfm/analog_waveform.expected_raw_int16.npy")).unwrap();
    let lightlane_io::npy::Data::I16(expected) = expected else { panic!("expected int16 npy") };
    let w = read_capture(&p, &ReadOptions::default()).unwrap();
    assert_eq!(w.len(), 50000);
    let Some(RawCodes::I16 { codes, gain, offset }) = &w.raw else { panic!("codes kept") };
    assert_eq!(codes, &expected);
    assert_eq!((*gain, *offset), (1.5625e-5, 0.0));
    assert_eq!(w.dt, 4e-11);
    assert_eq!(w.t0, -1e-6);
    assert_eq!(w.meta.extra["precharge_points"], "32");
    assert_eq!(w.meta.extra["postcharge_points"], "32");
    assert_eq!(w.meta.extra["version"], "WFM#003");
}

#[test]
fn tek_golden_and_fastframe() {
    let Some(c) = common::captures() else { return };
    let w = read_capture(&c.join("tek_wfm/golden_analog.wfm"), &ReadOptions::default()).unwrap();
    let Some(RawCodes::I16 { codes, gain, .. }) = &w.raw else { panic!() };
    assert_eq!(codes, &[10, 11, 12, 32222, 32223, 32224]);
    assert!((gain - 1.0 / 32767.0).abs() < 1e-12);
    assert!((w.samples[3] - 32222.0 / 32767.0).abs() < 1e-6);
    let p = c.join("tek_wfm/sample_ff1_fastframe5.wfm");
    let h = lightlane_io::tek::read_header(&lightlane_io::Input::open(&p).unwrap()).unwrap();
    assert_eq!(h.curve_offset, 1054);
    assert_eq!(h.frames, 5);
    let cap = read_all(&p, &ReadOptions::default()).unwrap();
    assert_eq!(cap.waveforms.len(), 5);
    for (i, w) in cap.waveforms.iter().enumerate() {
        assert_eq!(w.len(), 1000);
        assert_eq!(w.dt, 3.2e-10);
        assert_eq!(w.meta.extra["segment"], i.to_string());
        let Some(RawCodes::I16 { gain, offset, .. }) = &w.raw else { panic!() };
        assert_eq!((*gain, *offset), (6.875e-5, 1.7));
    }
    // Frames differ (they are separate acquisitions).
    assert_ne!(cap.waveforms[0].samples, cap.waveforms[1].samples);
}

#[test]
fn keysight_dual_channel_values() {
    let Some(c) = common::captures() else { return };
    let p = c.join("keysight_bin/DSOX1102G_dual.bin");
    let cap = read_all(&p, &ReadOptions::default()).unwrap();
    assert_eq!(cap.format, Format::Keysight);
    assert_eq!(cap.waveforms.len(), 2);
    for w in &cap.waveforms {
        assert_eq!(w.len(), 4000);
        assert!((w.dt - 0.5e-9).abs() < 1e-22, "{}", w.dt);
        assert_eq!(w.meta.extra["instrument"], "DSO-X 1102G:CN00000000");
    }
    assert_eq!(cap.channels(), vec!["1".to_string(), "2".to_string()]);
    let ch1 = &cap.waveforms[0];
    // The scope measured Pk-Pk 5.6 V; the file gives 5.628 V.
    assert!((pkpk(&ch1.samples) - 5.628).abs() < 0.005, "{}", pkpk(&ch1.samples));
    // Frequency from the rising mid-level crossings: the scope says 998.0 kHz (counter 999.99 kHz).
    let mid = (ch1.samples.iter().cloned().fold(f32::MIN, f32::max) + ch1.samples.iter().cloned().fold(f32::MAX, f32::min)) / 2.0;
    // Mid-level crossings (both edges) with hysteresis of ±10 % of pk-pk, interpolated; the
    // record is two periods long, so the period is twice the mean spacing of the edges.
    let hyst = 0.1 * pkpk(&ch1.samples) as f32;
    let mut edges: Vec<f64> = Vec::new();
    let mut state = ch1.samples[0] > mid;
    for i in 1..ch1.len() {
        let v = ch1.samples[i];
        let flip = if state { v < mid - hyst } else { v > mid + hyst };
        if flip {
            state = !state;
            let mut j = i;
            while j > 0 && (ch1.samples[j - 1] > mid) == state {
                j -= 1;
            }
            if j > 0 {
                let (a, b) = (ch1.samples[j - 1] - mid, ch1.samples[j] - mid);
                edges.push((j - 1) as f64 + (a / (a - b)) as f64);
            }
        }
    }
    assert!(edges.len() >= 3, "{edges:?}");
    let period = 2.0 * (edges[edges.len() - 1] - edges[0]) / (edges.len() - 1) as f64 * ch1.dt;
    assert!((1.0 / period - 999.99e3).abs() < 0.01 * 1e6, "{} from {edges:?}", 1.0 / period);
    // read_capture picks channel 1; channel_name picks channel 2.
    assert_eq!(read_capture(&p, &ReadOptions::default()).unwrap().samples, ch1.samples);
    let ch2 = read_capture(&p, &ReadOptions { channel_name: Some("2".into()), ..Default::default() }).unwrap();
    assert_eq!(ch2.samples, cap.waveforms[1].samples);
}

#[test]
fn keysight_logic_buffer_and_infiniium() {
    let Some(c) = common::captures() else { return };
    let cap = read_all(&c.join("keysight_bin/DSOX1102G_digital_with_logic_buffer.bin"), &ReadOptions::default()).unwrap();
    assert_eq!(cap.waveforms.len(), 2);
    assert!(cap.waveforms.iter().all(|w| w.len() == 20000));
    let ext = &cap.waveforms[1];
    assert_eq!(ext.meta.channel.as_deref(), Some("EXT"));
    assert_eq!(ext.meta.extra["buffer_type"], "6");
    assert_eq!(ext.meta.extra["kind"], "logic");
    let Some(RawCodes::I16 { codes, .. }) = &ext.raw else { panic!("uint8 logic kept as codes") };
    assert!(codes.iter().all(|&c| (0..=255).contains(&c)));
    // The default channel is the analog one.
    let w = read_capture(&c.join("keysight_bin/DSOX1102G_digital_with_logic_buffer.bin"), &ReadOptions::default()).unwrap();
    assert_eq!(w.meta.channel.as_deref(), Some("1"));
    let w = read_capture(&c.join("keysight_bin/DSO81204B_points10.bin"), &ReadOptions::default()).unwrap();
    assert_eq!(w.len(), 10);
    assert_eq!(w.dt, 25e-12);
    assert_eq!(w.meta.extra["date"], "20 MAR 2007");
    assert!(w.meta.extra["instrument"].starts_with("DSO81204B"));
    assert_eq!(w.meta.channel.as_deref(), Some("channel 1"));
}

#[test]
fn ngscopeclient_densev1() {
    let Some(c) = common::captures() else { return };
    let p = c.join(lightlane_testdata::NRZ_10GBASE_R);
    assert_eq!(lightlane_io::detect_format(&p).unwrap(), Format::DenseV1);
    let w = read_capture(&p, &ReadOptions::default()).unwrap();
    assert_eq!(w.len(), 200003);
    assert_eq!(w.dt, 25e-12);
    assert_eq!(w.t0, 11336e-15);
    assert_eq!(w.meta.channel.as_deref(), Some("ch3"));
    let (p5, p95) = (percentile(&w.samples, 0.05), percentile(&w.samples, 0.95));
    assert!((p5 + 0.0815).abs() < 0.0005 && (p95 - 0.0794).abs() < 0.0005, "{p5} {p95}");
    let p = c.join(lightlane_testdata::PCIE);
    let w = read_capture(&p, &ReadOptions::default()).unwrap();
    assert_eq!(w.len(), 800003);
    assert_eq!(w.dt, 25e-12);
    assert_eq!(w.t0, 2984e-15);
    // Streaming gives the same samples.
    let mut s = lightlane_io::open_stream_with(&p, &ReadOptions::default(), 65536).unwrap();
    let mut buf = Vec::new();
    let mut at = 0;
    while s.next_into(&mut buf).unwrap() > 0 {
        assert_eq!(&buf[..], &w.samples[at..at + buf.len()]);
        at += buf.len();
    }
    assert_eq!(at, 800003);
}

#[test]
fn mat_pam4_experiment() {
    let Some(c) = common::captures() else { return };
    let p = c.join(lightlane_testdata::PAM4_PON_RXONLY);
    let arrays = lightlane_io::mat::read_arrays(&lightlane_io::Input::open(&p).unwrap()).unwrap();
    let names: Vec<&str> = arrays.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, vec!["dataIn", "txSymbols", "rxSamples"]);
    assert_eq!(arrays[0].dims, vec![1, 32768]);
    assert!(arrays[0].real.iter().all(|&v| v == 0.0 || v == 1.0 || v == 2.0 || v == 3.0));
    assert_eq!(arrays[2].dims, vec![1, 65536]);
    assert_eq!(arrays[2].class, lightlane_io::mat::MatClass::Single);
    // Levels ±0.447/±1.342 ({−3,−1,1,3}/√5, within 2 %: the file's values scatter slightly),
    // and the Gray map 0→−3, 1→−1, 3→+1, 2→+3 holds for every symbol.
    for (d, t) in arrays[0].real.iter().zip(&arrays[1].real) {
        let want = [-3.0, -1.0, 3.0, 1.0][*d as usize] / 5f64.sqrt();
        assert!((t - want).abs() < 0.02 * want.abs(), "{d} -> {t}");
    }
    // No fs in the file: read_capture needs one, and picks the longest variable.
    assert!(matches!(read_capture(&p, &ReadOptions::default()), Err(IoError::MissingField { field: "fs", .. })));
    let w = read_capture(&p, &ReadOptions { fs: Some(100e9), ..Default::default() }).unwrap();
    assert_eq!(w.meta.channel.as_deref(), Some("rxSamples"));
    assert_eq!(w.len(), 65536);
    // Compressed (miCOMPRESSED) file.
    let p = c.join("pam4_pon_experiment/E2E_-18.5dBm_test1.mat");
    let arrays = lightlane_io::mat::read_arrays(&lightlane_io::Input::open(&p).unwrap()).unwrap();
    let get = |n: &str| arrays.iter().find(|a| a.name == n).unwrap();
    assert_eq!(get("dataIn").class, lightlane_io::mat::MatClass::Int64);
    assert_eq!(get("rxSamples").len(), 65420);
    assert_eq!(get("rxEquSymbols").dims, vec![22656, 1]);
    assert_eq!(get("label").len(), 22656);
    assert_eq!(get("txPreSymbols").len(), 32764);
    let w = read_capture(&p, &ReadOptions { fs: Some(100e9), ..Default::default() }).unwrap();
    assert_eq!(w.meta.channel.as_deref(), Some("rxSamples"));
}

fn sdd21_db_at(path: &std::path::Path, points: &[(f64, f64, f64)]) -> touchstone::Touchstone {
    let ts = touchstone::read(path).unwrap();
    let mm = ts.mixed_mode(&[(1, 3), (2, 4)]).unwrap();
    let sdd21 = mm.sdd(2, 1);
    // MANIFEST's "26.6 GHz" is 26.5625 GHz (53.125 Gb/s PAM4 Nyquist); the nearest grid point
    // of the 10 MHz grid is used.
    for &(f, want, tol) in points {
        let (_, v) = touchstone::at_frequency(&ts.freqs, &sdd21, f).unwrap();
        assert!((db(v) - want).abs() <= tol, "{}: SDD21 at {f:e} = {} dB, want {want}", path.display(), db(v));
    }
    ts
}

#[test]
fn touchstone_vita68_and_strada_sdd21() {
    let Some(c) = common::captures() else { return };
    let d = c.join("touchstone/pychopmarg_vita68_kr4");
    let thru = sdd21_db_at(
        &d.join("example2_THRU.s4p"),
        &[(1e9, -4.16, 0.006), (5e9, -11.85, 0.006), (12.89e9, -23.45, 0.006), (26.5625e9, -59.7, 0.05)],
    );
    assert_eq!((thru.ports, thru.points()), (4, 4001));
    assert_eq!((thru.freqs[0], thru.freqs[1], thru.freqs[4000]), (0.0, 10e6, 40e9));
    assert_eq!(thru.z0, vec![50.0; 4]);
    assert!(thru.comments[0].contains("SignalIntegrity v1.2.0"));
    for f in ["FEXT1", "FEXT2", "NEXT1", "NEXT2", "NEXT3"] {
        let t = touchstone::read(&d.join(format!("example2_{f}.s4p"))).unwrap();
        assert_eq!((t.ports, t.points(), t.freqs[4000]), (4, 4001, 40e9), "{f}");
    }
    let te = sdd21_db_at(
        &c.join("touchstone/te_strada_whisper/DPO_4in_Meg7_THRU.s4p"),
        &[(1e9, -1.36, 0.006), (5e9, -3.67, 0.006), (12.89e9, -6.95, 0.006), (26.5625e9, -12.2, 0.05)],
    );
    assert_eq!((te.points(), te.freqs[6000]), (6001, 60e9));
    let erl = touchstone::read(&c.join("touchstone/signalintegrity_erl/sparam_res.s4p")).unwrap();
    assert_eq!((erl.points(), erl.freqs[1], erl.freqs[1600]), (1601, 100e6, 160e9));
    // Touchstone is detected from content and refused as a capture.
    let p = d.join("example2_THRU.s4p");
    assert_eq!(lightlane_io::detect_format(&p).unwrap(), Format::Touchstone);
    assert!(matches!(read_capture(&p, &ReadOptions::default()), Err(IoError::Unsupported { .. })));
}

#[test]
fn touchstone_pulse_response_of_vita_thru() {
    let Some(c) = common::captures() else { return };
    let ts = touchstone::read(&c.join("touchstone/pychopmarg_vita68_kr4/example2_THRU.s4p")).unwrap();
    let sdd21 = ts.mixed_mode(&[(1, 3), (2, 4)]).unwrap().sdd(2, 1);
    let baud = 25.78125e9;
    let r = touchstone::pulse_response_detailed(&ts.freqs, &sdd21, baud, 32).unwrap();
    assert!(r.noncausal_energy < 1e-3, "{}", r.noncausal_energy);
    let area = r.samples.iter().sum::<f64>() * r.dt;
    assert!((area - sdd21[0].re / baud).abs() < 0.01 / baud, "{area}");
    let (ipk, pk) = r.samples.iter().enumerate().fold((0, f64::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
    // A lossy backplane: the pulse peak is well below 1 and arrives after the flight time.
    assert!(pk > 0.2 && pk < 0.9, "{pk}");
    assert!(ipk as f64 * r.dt > 1e-9, "peak at {}", ipk as f64 * r.dt);
    // Nothing arrives before the channel's delay.
    let before: f64 = r.samples[..(0.5e-9 / r.dt) as usize].iter().map(|v| v.abs()).fold(0.0, f64::max);
    assert!(before < 0.01 * pk, "{before}");
}
