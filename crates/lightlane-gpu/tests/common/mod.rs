//! Shared test helpers: the GPU context or a printed skip; the real captures through
//! `lightlane-testdata` (skipped with a printed reason where absent).
#![allow(dead_code)]

use lightlane_gpu::{GpuContext, GpuOptions};

/// `LIGHTLANE_REQUIRE_GPU=1` turns a missing adapter into a failure (CI with lavapipe).
pub fn require_gpu() -> bool {
    std::env::var("LIGHTLANE_REQUIRE_GPU").map(|v| v == "1").unwrap_or(false)
}

/// The shared context, or `None` (after printing why) when no adapter is usable and the
/// environment does not require one.
pub fn ctx() -> Option<&'static GpuContext> {
    match GpuContext::shared() {
        Ok(c) => Some(c),
        Err(e) => {
            if require_gpu() {
                panic!("LIGHTLANE_REQUIRE_GPU=1 but no GPU adapter is usable: {e}");
            }
            eprintln!("SKIPPED: no GPU adapter ({e}); install mesa-vulkan-drivers or set LIGHTLANE_REQUIRE_GPU=1 to fail");
            None
        }
    }
}

/// A private context (for tests that change its settings).
pub fn own_ctx() -> Option<GpuContext> {
    ctx()?;
    Some(GpuContext::new(&GpuOptions::from_env()).expect("second context on a working adapter"))
}

/// A real capture: the 10GBASE-R NRZ link (LeCroy SDA 816Zi, 40 GS/s), float32 LE volts.
pub fn real_nrz() -> Option<Vec<f32>> {
    let p = lightlane_testdata::capture(lightlane_testdata::NRZ_10GBASE_R)?;
    let b = std::fs::read(p).ok()?;
    Some(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Real int16 ADC codes (Tektronix WFM#003 analog_waveform, expected raw values, .npy).
pub fn real_i16_codes() -> Option<Vec<i16>> {
    let p = lightlane_testdata::capture("tek_wfm/analog_waveform.expected_raw_int16.npy")?;
    let b = std::fs::read(p).ok()?;
    assert_eq!(&b[..6], b"\x93NUMPY", "npy magic");
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = String::from_utf8_lossy(&b[10..10 + hlen]).to_string();
    assert!(header.contains("<i2"), "expected little-endian int16, header {header}");
    Some(b[10 + hlen..].chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect())
}

/// Per-output check of a GPU resampling against the CPU with [`lightlane_gpu::resample_tolerance`];
/// `pos(m)` and `reach(m)` give each output's input position and distance from its anchor.
pub fn assert_resample_close(
    gpu: &[f32],
    cpu: &[f32],
    x: &[f32],
    pos: impl Fn(usize) -> f64,
    reach: impl Fn(usize) -> f64,
    what: &str,
) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: length");
    let last = x.len() as i64 - 1;
    for m in 0..gpu.len() {
        let i = pos(m).clamp(0.0, last as f64).floor() as i64;
        let mag = (i - 2..=i + 3)
            .map(|k| x[k.clamp(0, last) as usize].abs())
            .fold(0f32, f32::max);
        let tol = lightlane_gpu::resample_tolerance(mag, reach(m));
        let d = (gpu[m] as f64 - cpu[m] as f64).abs();
        assert!(
            d <= tol,
            "{what}: output {m} at {}: gpu {} cpu {} (|d| {d:e} > tol {tol:e})",
            pos(m),
            gpu[m],
            cpu[m]
        );
    }
}
