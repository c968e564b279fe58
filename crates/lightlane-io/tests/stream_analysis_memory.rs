//! A ~512 MB capture analyses through `analyze_stream` with bounded resident memory: the peak
//! RSS growth (VmHWM, this test binary runs only this test) stays under a fixed bound well
//! below the file size. `LIGHTLANE_STREAM_TEST_MB` changes the size (e.g. 4096 by hand).

mod common;

use lightlane_core::analysis::{analyze_stream, AnalysisConfig, ClockRecovery, StreamOptions};
use lightlane_core::pattern::Pattern;
use lightlane_core::sim::LinkModel;
use lightlane_core::{Backend, Modulation};
use lightlane_io::{open_stream_with, ReadOptions};
use std::io::Write;

fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn large_capture_streams_with_bounded_memory() {
    let Some(before) = vm_hwm_kib() else {
        eprintln!("skipped: /proc/self/status has no VmHWM on this platform");
        return;
    };
    let mb: u64 = std::env::var("LIGHTLANE_STREAM_TEST_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(512);
    let baud = 26.5625e9;
    let spu = 4usize;
    // One steady-state period of PRBS13Q (the simulator's output is periodic), tiled.
    let period = 8191usize;
    let model = LinkModel { noise: lightlane_core::sim::Noise::SnrDb(30.0), ..LinkModel::new(Modulation::Pam4, baud, spu as f64 * baud).unwrap() };
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 2 * period).unwrap();
    let wf = model.run(&symbols).unwrap().waveform;
    let one: Vec<i16> = wf.samples[..period * spu].iter().map(|&v| (v / 1e-4).round().clamp(-32767.0, 32767.0) as i16).collect();
    let mut block = Vec::with_capacity(one.len() * 2);
    for c in &one {
        block.extend_from_slice(&c.to_le_bytes());
    }
    let d = common::tmpdir("stream-analysis");
    let data = d.join("big.bin");
    let periods = ((mb << 20) / block.len() as u64).max(1);
    {
        let mut f = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(&data).unwrap());
        for _ in 0..periods {
            f.write_all(&block).unwrap();
        }
    }
    std::fs::write(d.join("big.json"), format!(r#"{{"fs": {}, "dtype": "i16", "scale": 1e-4}}"#, spu as f64 * baud)).unwrap();
    let size = std::fs::metadata(&data).unwrap().len();

    let t = std::time::Instant::now();
    let mut config = AnalysisConfig::pam4(baud);
    config.clock = ClockRecovery::Fixed;
    let mut stream = open_stream_with(&data, &ReadOptions::default(), 1 << 20).unwrap();
    let report = analyze_stream(&mut stream, &config, Backend::Auto, &StreamOptions::default());
    let secs = t.elapsed().as_secs_f64();
    let after = vm_hwm_kib().unwrap();
    std::fs::remove_file(&data).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    let report = report.unwrap();
    let grown_mib = after.saturating_sub(before) as f64 / 1024.0;
    eprintln!(
        "{:.0} MiB file, {} symbols, {} bit errors in {secs:.1} s; peak RSS {:.0} MiB (+{grown_mib:.0} MiB)",
        size as f64 / (1 << 20) as f64,
        report.symbols,
        report.bit_errors,
        after as f64 / 1024.0
    );
    let expect = (size / 2 / spu as u64) as f64;
    assert!(report.symbols as f64 > 0.99 * expect, "{} of {expect} symbols", report.symbols);
    assert_eq!(report.bit_errors, 0);
    // The bound does not depend on the file size: blocks of 4 Mi samples and their derived
    // buffers, the pattern tables and the FEC error list.
    assert!(grown_mib < 400.0, "peak RSS grew by {grown_mib:.0} MiB for a {} MiB file", size >> 20);
}
