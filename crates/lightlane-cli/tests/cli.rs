//! The `lightlane` binary as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lightlane"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lightlane-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn demo() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/demo_pam4.bin").to_string()
}

#[test]
fn single_capture_writes_json_and_symbols() {
    let d = tmpdir("demo");
    let json = d.join("r.json");
    let syms = d.join("s.npy");
    let o = run(&["analyze", &demo(), "--json", json.to_str().unwrap(), "--symbols-out", syms.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("demo_pam4.bin") && out.to_lowercase().contains("prbs13q"), "{out}");
    assert!(!out.contains("report:"), "no --out: no report folder");
    assert!(out.lines().any(|l| l == "engine: CPU engine"), "backend auto on a short capture: {out}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let r = &v[0];
    for key in ["file", "modulation", "baud", "samples_per_ui", "pattern", "bits", "bit_errors", "ber", "symbols", "symbol_errors", "ser", "ffe_taps", "fec", "equalizer", "baud_estimated", "stages", "engine"] {
        assert!(!r[key].is_null(), "missing {key} in {r}");
    }
    assert_eq!(r["modulation"], "pam4");
    assert_eq!(r["ffe_taps"].as_array().unwrap().len(), 15);
    assert!(r["ber"].as_f64().unwrap() < 1e-3);
    assert!(r["bits"].as_u64().unwrap() > 60_000);
    let bytes = std::fs::read(&syms).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    assert!(String::from_utf8_lossy(&bytes[..128]).contains("'|u1'"));
}

#[test]
fn explicit_options_override_file_hints() {
    let o = run(&["analyze", &demo(), "--baud", "53.125e9", "--pattern", "prbs13q", "--modulation", "pam4", "--ffe-taps", "9"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Wrong pattern for the capture: a sync failure with a non-zero exit, not BER 0.5.
    let o = run(&["analyze", &demo(), "--pattern", "prbs31"]);
    assert_eq!(o.status.code(), Some(2), "a capture that fails exits 2");
    assert!(stderr(&o).contains("did not sync"), "{}", stderr(&o));
}

fn write_npy_f32(path: &Path, data: &[f32]) {
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}", data.len());
    let mut h = header.into_bytes();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(&h);
    for v in data {
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

#[test]
fn bad_inputs_fail_cleanly() {
    let d = tmpdir("bad");
    let cases: Vec<(Vec<String>, &str)> = {
        let empty = d.join("empty.npy");
        write_npy_f32(&empty, &[]);
        let short = d.join("short.npy");
        write_npy_f32(&short, &[0.1, -0.1, 0.2]);
        let nan = d.join("nan.npy");
        let mut v = vec![0.5f32; 4000];
        v[17] = f32::NAN;
        write_npy_f32(&nan, &v);
        let ok = d.join("ok.npy");
        write_npy_f32(&ok, &(0..4000).map(|i| if i % 8 < 4 { 0.3 } else { -0.3 }).collect::<Vec<_>>());
        let pat = d.join("pattern.txt");
        std::fs::write(&pat, "0 1 2 3 7 1").unwrap();
        let garbage = d.join("garbage.bin");
        std::fs::write(&garbage, b"not a capture").unwrap();
        let s = |p: &PathBuf| p.to_str().unwrap().to_string();
        vec![
            (vec![s(&empty), "--fs".into(), "100e9".into(), "--baud".into(), "25e9".into()], "too short"),
            (vec![s(&short), "--fs".into(), "100e9".into(), "--baud".into(), "25e9".into()], "too short"),
            (vec![s(&nan), "--fs".into(), "100e9".into(), "--baud".into(), "25e9".into()], "index 17"),
            (vec![s(&ok), "--fs".into(), "100e9".into(), "--baud".into(), "60e9".into()], "fs/2"),
            (vec![s(&ok), "--baud".into(), "25e9".into()], "--fs"),
            (vec![s(&ok), "--fs".into(), "100e9".into()], "timing"),
            (vec![s(&garbage)], "unknown capture format"),
            (vec![s(&d.join("missing.npy"))], "missing.npy"),
            (vec![demo(), "--pattern".into(), "prbs8".into()], "unknown pattern"),
            (vec![demo(), "--equalizer".into(), "dfe:1,ffe:5".into()], "must run"),
            (vec![demo(), "--equalizer".into(), "ffe:x".into()], "not a valid tap count"),
            (vec![demo(), "--cdr".into(), "pll:fast".into()], "--cdr"),
            (vec![demo(), "--pattern".into(), format!("file:{}", s(&pat))], "illegal symbol"),
        ]
    };
    for (args, needle) in cases {
        let mut full = vec!["analyze".to_string()];
        full.extend(args.iter().cloned());
        let o = bin().args(&full).output().unwrap();
        let err = stderr(&o);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(matches!(o.status.code(), Some(1) | Some(2)), "{args:?}: exit {:?} (panic?) {err}", o.status.code());
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.to_lowercase().contains(&needle.to_lowercase()), "{args:?}: expected '{needle}' in: {err}");
    }
}

#[test]
fn equalizer_chains_run_on_the_demo() {
    let d = tmpdir("chains");
    for (chain, stage) in [("ffe:15,dfe:1", "dfe"), ("ffe:15,mlse:1", "mlse"), ("ctle,ffe:15", "ffe")] {
        let json = d.join(format!("{stage}.json"));
        let o = run(&["analyze", &demo(), "--equalizer", chain, "--json", json.to_str().unwrap()]);
        assert!(o.status.success(), "{chain}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let r = &v[0];
        let stages: Vec<&str> = r["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
        assert_eq!(stages.last().copied(), Some(stage), "{chain}: {stages:?}");
        assert!(r["ber"].as_f64().unwrap() < 1e-3, "{chain}: {r}");
        if stage == "dfe" {
            assert!(r["dfe_error_propagation"].is_object() && r["dfe_taps"].as_array().unwrap().len() == 1);
        }
        if stage == "mlse" {
            assert_eq!(r["mlse_target"].as_array().unwrap().len(), 2);
        }
    }
}

#[test]
fn stream_flag_gives_the_whole_file_result_on_the_demo() {
    let d = tmpdir("stream");
    let (a, b) = (d.join("whole.json"), d.join("stream.json"));
    let o = run(&["analyze", &demo(), "--json", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["analyze", &demo(), "--stream", "--json", b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let read = |p: &Path| -> serde_json::Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let (w, s) = (read(&a), read(&b));
    let (w, s) = (&w[0], &s[0]);
    // The demo fits in one block: the streamed analysis is the whole-file analysis.
    assert_eq!(w["bits"], s["bits"], "{w}\n{s}");
    assert_eq!(w["bit_errors"], s["bit_errors"], "{w}\n{s}");
    assert_eq!(w["pattern"], s["pattern"]);
    let o = run(&["analyze", &demo(), "--stream", "--symbols-out", d.join("x.npy").to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("symbols-out"), "{}", stderr(&o));
}
