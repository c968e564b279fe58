//! Engine selection and the pipeline on the GPU engine.

mod common;

use lightlane_core::accel::{Accelerator, Equalized};
use lightlane_core::analysis::{analyze as analyze_cpu, AnalysisConfig, Report};
use lightlane_core::eq::{Dfe, Ffe, Mlse};
use lightlane_core::eye::{TdecqBins, TdecqHistograms, TdecqWindow};
use lightlane_core::modulation::{BitMapping, Slicer};
use lightlane_core::pattern::count::ErrorCounts;
use lightlane_core::pattern::Pattern;
use lightlane_core::sim::LinkModel;
use lightlane_core::{Backend, Modulation};
use lightlane_gpu::{analyze, check_limits, resolve, GpuAccelerator, GpuContext, GpuOptions, Resolved};

#[test]
fn backend_parses_gpu() {
    assert_eq!("gpu".parse::<Backend>().unwrap(), Backend::Gpu);
    assert_eq!("GPU".parse::<Backend>().unwrap(), Backend::Gpu);
    assert!("cuda".parse::<Backend>().is_err());
}

#[test]
fn an_adapter_name_that_matches_nothing_is_a_clear_error() {
    let e = GpuContext::new(&GpuOptions {
        adapter: Some("no-such-adapter-xyzzy".into()),
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("no GPU adapter") && e.contains("xyzzy"), "{e}");
}

#[test]
fn limits_below_the_kernels_needs_are_rejected() {
    let small = wgpu::Limits {
        max_compute_workgroup_storage_size: 16 * 1024,
        ..wgpu::Limits::default()
    };
    let e = check_limits(&small).unwrap_err().to_string();
    assert!(e.contains("max_compute_workgroup_storage_size"), "{e}");
    // wgpu's defaults (what every WebGPU adapter offers) satisfy the engine otherwise.
    let ok = wgpu::Limits {
        max_compute_workgroup_storage_size: 32 * 1024,
        max_storage_buffer_binding_size: 128 << 20,
        ..wgpu::Limits::default()
    };
    check_limits(&ok).unwrap();
}

#[test]
fn cpu_and_small_auto_resolve_to_cpu_without_touching_the_gpu() {
    assert!(matches!(resolve(Backend::Cpu, 1 << 30).unwrap(), Resolved::Cpu { reason: None }));
    assert!(matches!(resolve(Backend::Auto, 1000).unwrap(), Resolved::Cpu { reason: None }));
}

#[test]
fn core_alone_refuses_backend_gpu() {
    let model = LinkModel::new(Modulation::Pam4, 26.5625e9, 4.0 * 26.5625e9).unwrap();
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
    let capture = model.run(&symbols).unwrap();
    let e = analyze_cpu(&capture.waveform, &AnalysisConfig::pam4(26.5625e9), Backend::Gpu).unwrap_err();
    assert!(e.to_string().contains("gpu"), "{e}");
}

/// Which accelerator stages a pipeline run called (to prove the GPU did the work).
#[derive(Default)]
struct Calls(std::sync::Mutex<Vec<&'static str>>);

impl Calls {
    fn add(&self, what: &'static str) {
        self.0.lock().unwrap().push(what);
    }
    fn has(&self, what: &str) -> bool {
        self.0.lock().unwrap().contains(&what)
    }
}

/// The GPU engine with every stage call recorded.
struct Spy<'c> {
    gpu: GpuAccelerator<'c>,
    calls: Calls,
    /// Keep the raw eye resident on the device (else decline, as an engine without that).
    resident: bool,
}

struct SpyEq<'a> {
    inner: Box<dyn Equalized + 'a>,
    calls: &'a Calls,
}

impl Equalized for SpyEq<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn read(&self, r: std::ops::Range<usize>) -> lightlane_core::Result<Vec<f32>> {
        self.calls.add("read");
        self.inner.read(r)
    }
    fn slice_count(&self, start: usize, e: &[u8], s: &Slicer, m: Modulation, map: BitMapping) -> lightlane_core::Result<ErrorCounts> {
        self.calls.add("slice_count");
        self.inner.slice_count(start, e, s, m, map)
    }
    fn slice(&self, s: &Slicer) -> lightlane_core::Result<Vec<u8>> {
        self.calls.add("slice");
        self.inner.slice(s)
    }
    fn dfe_detect(&self, d: &Dfe) -> lightlane_core::Result<Vec<u8>> {
        self.calls.add("dfe");
        self.inner.dfe_detect(d)
    }
    fn mlse_detect(&self, m: &Mlse) -> lightlane_core::Result<Vec<u8>> {
        self.calls.add("mlse");
        self.inner.mlse_detect(m)
    }
    fn dfe_detect_after(&self, d: &Dfe, prefix: &[f32], r: std::ops::Range<usize>) -> lightlane_core::Result<Vec<u8>> {
        self.calls.add("dfe");
        self.inner.dfe_detect_after(d, prefix, r)
    }
    fn mlse_detect_after(&self, m: &Mlse, prefix: &[f32], r: std::ops::Range<usize>) -> lightlane_core::Result<Vec<u8>> {
        self.calls.add("mlse");
        self.inner.mlse_detect_after(m, prefix, r)
    }
}

impl Accelerator for Spy<'_> {
    fn name(&self) -> String {
        self.gpu.name()
    }
    fn fallback_allowed(&self) -> bool {
        false
    }
    fn ffe_equalize(&self, ffe: &Ffe, x: &[f32]) -> lightlane_core::Result<Vec<f32>> {
        self.calls.add("ffe_equalize");
        self.gpu.ffe_equalize(ffe, x)
    }
    fn equalize_resident<'a>(&'a self, ffe: &Ffe, x: &[f32]) -> lightlane_core::Result<Box<dyn Equalized + 'a>> {
        if ffe.taps() == [1.0] {
            self.calls.add("identity upload");
        }
        self.calls.add("equalize_resident");
        Ok(Box::new(SpyEq { inner: self.gpu.equalize_resident(ffe, x)?, calls: &self.calls }))
    }
    fn eye_histogram(&self, g: &lightlane_core::eye::EyeGeometry, y: &[f32]) -> lightlane_core::Result<Vec<u32>> {
        self.calls.add("eye_histogram");
        self.gpu.eye_histogram(g, y)
    }
    fn resample_at(&self, x: &[f32], positions: &[f64], sps_out: usize) -> lightlane_core::Result<Vec<f32>> {
        self.calls.add("resample_at");
        self.gpu.resample_at(x, positions, sps_out)
    }
    fn resample_kept<'a>(&'a self, x: &[f32], positions: &[f64], sps_out: usize) -> lightlane_core::Result<lightlane_core::accel::Resampled<'a>> {
        self.calls.add("resample_kept");
        let (y, kept) = self.gpu.resample_kept(x, positions, sps_out)?;
        Ok((y, kept.map(|inner| Box::new(SpyKept { inner, calls: &self.calls }) as Box<dyn lightlane_core::accel::KeptSignal + 'a>)))
    }
    fn resample_resident<'a>(&'a self, x: &[f32], positions: &[f64], sps_out: usize) -> lightlane_core::Result<Option<Box<dyn lightlane_core::accel::KeptSignal + 'a>>> {
        if !self.resident {
            return Ok(None);
        }
        self.calls.add("resample_resident");
        let kept = self.gpu.resample_resident(x, positions, sps_out)?;
        Ok(kept.map(|inner| Box::new(SpyKept { inner, calls: &self.calls }) as Box<dyn lightlane_core::accel::KeptSignal + 'a>))
    }
    fn reference_resident<'a>(&'a self, filter: &lightlane_core::eq::BesselThomsonFilter, x: &[f32], positions: &[f64], sps_out: usize) -> lightlane_core::Result<Option<Box<dyn lightlane_core::accel::KeptSignal + 'a>>> {
        if !self.resident {
            return Ok(None);
        }
        self.calls.add("reference_resident");
        let kept = self.gpu.reference_resident(filter, x, positions, sps_out)?;
        Ok(kept.map(|inner| Box::new(SpyKept { inner, calls: &self.calls }) as Box<dyn lightlane_core::accel::KeptSignal + 'a>))
    }
    fn eye_resident<'a>(&'a self, filter: &lightlane_core::eq::BesselThomsonFilter, x: &[f32], positions: &[f64], sps_out: usize) -> lightlane_core::Result<Option<[Box<dyn lightlane_core::accel::KeptSignal + 'a>; 2]>> {
        if !self.resident {
            return Ok(None);
        }
        self.calls.add("eye_resident");
        let kept = self.gpu.eye_resident(filter, x, positions, sps_out)?;
        Ok(kept.map(|k| k.map(|inner| Box::new(SpyKept { inner, calls: &self.calls }) as Box<dyn lightlane_core::accel::KeptSignal + 'a>)))
    }
    /// Counted only when the engine takes the windows (evaluations on the device).
    fn tdecq_histograms<'a>(&'a self, windows: &[TdecqWindow<'_>], bins: &TdecqBins) -> lightlane_core::Result<Option<Box<dyn TdecqHistograms + 'a>>> {
        let planned = self.gpu.tdecq_histograms(windows, bins)?;
        Ok(planned.map(|inner| {
            self.calls.add("tdecq_histograms");
            Box::new(SpyPlan { inner, calls: &self.calls }) as Box<dyn TdecqHistograms + 'a>
        }))
    }
}

/// The GPU engine's kept resampled points, their histogram recorded.
struct SpyKept<'a> {
    inner: Box<dyn lightlane_core::accel::KeptSignal + 'a>,
    calls: &'a Calls,
}

impl lightlane_core::accel::KeptSignal for SpyKept<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn eye_histogram(&self, g: &lightlane_core::eye::EyeGeometry, range: std::ops::Range<usize>) -> lightlane_core::Result<Vec<u32>> {
        self.calls.add("kept_eye_histogram");
        self.inner.eye_histogram(g, range)
    }
    fn read(&self, range: std::ops::Range<usize>) -> lightlane_core::Result<Vec<f32>> {
        self.calls.add("kept_read");
        self.inner.read(range)
    }
    fn scan(&self, range: std::ops::Range<usize>) -> lightlane_core::Result<lightlane_core::accel::KeptScan> {
        self.calls.add("kept_scan");
        self.inner.scan(range)
    }
    fn crossings(&self, range: std::ops::Range<usize>, t: &[f32]) -> lightlane_core::Result<Vec<Vec<lightlane_core::accel::KeptCrossing>>> {
        self.calls.add("kept_crossings");
        self.inner.crossings(range, t)
    }
    fn gather(&self, range: std::ops::Range<usize>, indices: &[usize]) -> lightlane_core::Result<Vec<f32>> {
        self.calls.add("kept_gather");
        self.inner.gather(range, indices)
    }
    fn window(&self, range: std::ops::Range<usize>, s: usize, first: isize, stride: usize, rows: usize, offsets: &[isize]) -> lightlane_core::Result<Vec<f32>> {
        self.calls.add("kept_window");
        self.inner.window(range, s, first, stride, rows, offsets)
    }
}

/// The GPU engine's TDECQ plan, its batches recorded.
struct SpyPlan<'a> {
    inner: Box<dyn TdecqHistograms + 'a>,
    calls: &'a Calls,
}

impl TdecqHistograms for SpyPlan<'_> {
    fn counts(&mut self, w: &[f32], counts: &mut [u32]) -> lightlane_core::Result<()> {
        self.inner.counts(w, counts)
    }
    fn batch(&self) -> usize {
        self.inner.batch()
    }
    fn counts_batch(&mut self, ws: &[&[f32]], counts: &mut [u32]) -> lightlane_core::Result<()> {
        self.calls.add("counts_batch");
        self.inner.counts_batch(ws, counts)
    }
    fn race(&self) -> bool {
        self.inner.race()
    }
}

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}[{i}]: gpu {x} cpu {y}");
    }
}

/// Largest relative difference `|a − b| / max(|a| + |b|, 1e-3)` over the numbers of two JSON
/// trees (0 where equal), in units of its field's tolerance ([`TDECQ_REL_TOL`] for TDECQ's,
/// [`EYE_REL_TOL`] for the others), and where it is (quantities near zero, such as eye skews
/// in UI, compare absolutely); a structural difference (other keys, lengths, types,
/// strings) panics.
fn max_rel_diff(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> (f64, String) {
    use serde_json::Value as V;
    let worst = |v: Vec<(f64, String)>| v.into_iter().fold((0.0, String::new()), |m, d| if d.0 > m.0 { d } else { m });
    match (a, b) {
        (V::Number(x), V::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            let d = if x == y { 0.0 } else { (x - y).abs() / (x.abs() + y.abs()).max(1e-3) };
            // In units of the field's tolerance.
            let tol = if path.contains("tdecq") { TDECQ_REL_TOL } else { EYE_REL_TOL };
            (d / tol, format!("{path} (gpu {x}, cpu {y}, relative difference {d:.3e})"))
        }
        (V::Array(x), V::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: lengths");
            worst(x.iter().zip(y).enumerate().map(|(i, (p, q))| max_rel_diff(p, q, &format!("{path}[{i}]"))).collect())
        }
        (V::Object(x), V::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>(), "{path}: keys");
            worst(x.iter().map(|(k, p)| max_rel_diff(p, &y[k], &format!("{path}.{k}"))).collect())
        }
        _ => {
            assert_eq!(a, b, "{path}");
            (0.0, String::new())
        }
    }
}

/// Relative tolerance of the eye report's floats when the GPU engine resampled the eye
/// signals: each resampled point is within `resample_tolerance` (≲ 1e-4 of the signal's
/// magnitude, in practice a few f32 ulps) of the CPU's, which moves a histogram sample across a
/// bin edge now and then; measured on lavapipe on these captures: ≤ 2e-5.
const EYE_REL_TOL: f64 = 1e-4;

/// Relative tolerance of TDECQ's values (with its dispersion corners'): its reference-FFE
/// search compares SER counts of histograms, so a point moved across a bin edge by the
/// resampler's or the reference filter's rounding (the filter's sums are fused on the CPU and
/// not on lavapipe) can move the search's optimum a little. Measured on lavapipe on these
/// captures: ≤ 3.5e-4 (1.0828 against 1.0820 dB). The device's evaluations themselves equal
/// the CPU's on one signal exactly (`assert_gpu_tdecq_is_the_cpus`).
const TDECQ_REL_TOL: f64 = 1e-3;

/// GPU report == CPU report: decisions, error counts, stages, FEC statistics, the same eye
/// report structure; floats that depend on the resampled signals (FFE and DFE taps, MLSE
/// target, levels, eye metrics, TDECQ) within the f32 rounding of the GPU resampler and FFE.
fn assert_same_report(gpu: &Report, cpu: &Report) {
    assert_eq!(gpu.decisions, cpu.decisions, "decisions");
    assert_eq!((gpu.symbols, gpu.symbol_errors, gpu.bits, gpu.bit_errors), (cpu.symbols, cpu.symbol_errors, cpu.bits, cpu.bit_errors));
    assert_eq!(gpu.stages, cpu.stages, "per-stage errors");
    assert_eq!(gpu.fec, cpu.fec, "FEC codeword statistics");
    close(&gpu.ffe_taps, &cpu.ffe_taps, 1e-4, "FFE taps (trained on the resampled signal)");
    assert_eq!(gpu.eye.is_some(), cpu.eye.is_some(), "eye report present");
    let (d, at) = max_rel_diff(&serde_json::to_value(&gpu.eye).unwrap(), &serde_json::to_value(&cpu.eye).unwrap(), "eye");
    eprintln!("eye report: largest difference GPU vs CPU {d:.3} of its tolerance at {at}");
    assert!(d <= 1.0, "eye report differs by {d:.3} of its tolerance from the CPU engine's at {at}");
    assert_eq!(gpu.dfe_taps.is_some(), cpu.dfe_taps.is_some());
    if let (Some(g), Some(c)) = (&gpu.dfe_taps, &cpu.dfe_taps) {
        close(g, c, 1e-4, "dfe taps");
    }
    // Compared as text: a chain without errors has NaN ratios (NaN ≠ NaN).
    assert_eq!(format!("{:?}", gpu.dfe_error_propagation), format!("{:?}", cpu.dfe_error_propagation));
    if let (Some(g), Some(c)) = (&gpu.mlse_target, &cpu.mlse_target) {
        close(g, c, 1e-4, "mlse target");
    }
    assert_eq!(gpu.warnings, cpu.warnings, "warnings (no fallback happened)");
    assert!(gpu.engine.starts_with("GPU engine (") && !gpu.engine.contains("; the CPU engine ran"), "{}", gpu.engine);
    assert_eq!(cpu.engine, "CPU engine");
}

#[test]
fn gpu_engine_report_matches_cpu_engine() {
    let Some(ctx) = common::ctx() else { return };
    // TDECQ's small windows on the device too, every evaluation, in batches of candidates,
    // and uploads from 64 KiB through the staging ring, also on lavapipe (this binary's tests
    // all want that).
    ctx.set_tdecq_placement(lightlane_gpu::TdecqPlacement::Device);
    ctx.set_tdecq_batch(Some(lightlane_gpu::WEIGHTED_BATCH));
    ctx.set_staged_upload_min(Some(64 << 10));
    let model = LinkModel::demo_pam4();
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 2 * 8191).unwrap();
    let capture = model.run(&symbols).unwrap();
    // The `ffe` stage counts with the slicer, except in an MLSE chain, where it decides with the
    // partial-response target fed back (a DFE on the device).
    for (chain, ffe_stage, detector) in [("ffe:15", "slice_count", "slice"), ("ffe:15,dfe:2", "dfe", "dfe"), ("ffe:15,mlse:1", "dfe", "mlse")] {
        let mut cfg = AnalysisConfig::pam4(model.baud);
        cfg.equalizer = chain.parse().unwrap();
        assert!(cfg.eye.is_some(), "the eye stage is on");
        let cpu = analyze(&capture.waveform, &cfg, Backend::Cpu).unwrap();
        let spy = Spy { gpu: GpuAccelerator { ctx, fallback: false }, calls: Calls::default(), resident: true };
        let gpu = lightlane_core::analysis::analyze_with(&capture.waveform, &cfg, Backend::Gpu, Some(&spy)).unwrap();
        assert!(cpu.eye.is_some(), "{chain}: the CPU eye ran: {:?}", cpu.warnings);
        assert_same_report(&gpu, &cpu);
        for stage in ["resample_at", "eye_resident", "equalize_resident", "read", ffe_stage, detector, "kept_scan", "kept_window", "kept_eye_histogram", "kept_crossings", "tdecq_histograms", "counts_batch"] {
            assert!(spy.calls.has(stage), "{chain}: the GPU engine did not run {stage}");
        }
        assert!(!spy.calls.has("kept_read") && !spy.calls.has("resample_kept"), "{chain}: the raw eye came back");
        assert!(!spy.calls.has("ffe_equalize"), "{chain}: the FFE output came back whole");
        // Through the facade entry point as well (Backend::Gpu resolves to this engine).
        let via = lightlane_gpu::analyze(&capture.waveform, &cfg, Backend::Gpu).unwrap();
        assert_eq!(via.decisions, cpu.decisions, "{chain}");
    }
}

#[test]
fn the_signals_are_resampled_through_the_engine_when_the_clock_is_recovered() {
    // An open eye: the CDR locks, so the FFE input is resampled onto the recovered clock
    // through the engine (on the cores: fewer points than it reads), as are the eye's raw and
    // reference-receiver signals (on the device).
    let Some(ctx) = common::ctx() else { return };
    let model = LinkModel::new(Modulation::Pam4, 26.5625e9, 4.0 * 26.5625e9).unwrap();
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 2 * 8191).unwrap();
    let capture = model.run(&symbols).unwrap();
    let cfg = AnalysisConfig::pam4(26.5625e9);
    let cpu = analyze(&capture.waveform, &cfg, Backend::Cpu).unwrap();
    assert!(cpu.ppm_offset.is_some(), "the CDR recovered the clock: {:?}", cpu.warnings);
    // The raw eye resident on the device (its passes there, nothing read back), or, from an
    // engine that declines that, read back with a copy kept for its histogram.
    for resident in [true, false] {
        let spy = Spy { gpu: GpuAccelerator { ctx, fallback: false }, calls: Calls::default(), resident };
        let gpu = lightlane_core::analysis::analyze_with(&capture.waveform, &cfg, Backend::Gpu, Some(&spy)).unwrap();
        let calls = |what: &str| spy.calls.0.lock().unwrap().iter().filter(|&&c| c == what).count();
        // Resident: the raw eye and the BT4 eye (filtered there too) stay on the device, from
        // one upload of the capture; else both come back, the raw one with a copy kept for
        // its histogram.
        let want = if resident { (1, 1, 0, 0, 0) } else { (2, 0, 0, 0, 1) };
        assert_eq!(
            (calls("resample_at"), calls("eye_resident"), calls("resample_resident"), calls("reference_resident"), calls("resample_kept")),
            want,
            "the FFE input, the raw eye and the BT4 eye resampled by the engine"
        );
        assert_eq!(calls("kept_eye_histogram"), 1, "the eye histogram counted from the kept points");
        assert!(!spy.calls.has("eye_histogram") && !spy.calls.has("kept_read"), "no upload or read-back of the eye signal");
        let passes = ["kept_scan", "kept_crossings", "kept_gather", "kept_window"].map(|p| calls(p) > 0);
        assert_eq!(passes, [resident; 4], "the metrics' and TDECQ's passes over the resident eyes");
        assert_same_report(&gpu, &cpu);
        assert_eq!(gpu.ppm_offset, cpu.ppm_offset, "the clock itself is recovered on the host");
    }
}

/// An accelerator whose FFE always fails.
struct Broken {
    fallback: bool,
}

impl lightlane_core::accel::Accelerator for Broken {
    fn name(&self) -> String {
        "GPU engine (broken test double)".into()
    }
    fn fallback_allowed(&self) -> bool {
        self.fallback
    }
    fn ffe_equalize(&self, _: &lightlane_core::eq::Ffe, _: &[f32]) -> lightlane_core::Result<Vec<f32>> {
        Err(lightlane_core::Error::Unusable {
            stage: "gpu",
            reason: "device lost (simulated)".into(),
        })
    }
}

#[test]
fn a_failing_gpu_stage_falls_back_under_auto_and_errors_under_gpu() {
    use lightlane_core::analysis::analyze_with;
    let model = LinkModel::new(Modulation::Pam4, 26.5625e9, 4.0 * 26.5625e9).unwrap();
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
    let capture = model.run(&symbols).unwrap();
    let cfg = AnalysisConfig::pam4(26.5625e9);
    let cpu = analyze_cpu(&capture.waveform, &cfg, Backend::Cpu).unwrap();
    let auto = analyze_with(&capture.waveform, &cfg, Backend::Auto, Some(&Broken { fallback: true })).unwrap();
    assert_eq!(auto.decisions, cpu.decisions);
    assert!(auto.warnings.iter().any(|w| w.contains("device lost (simulated)") && w.contains("CPU engine")), "{:?}", auto.warnings);
    assert!(auto.engine.starts_with("GPU engine (broken test double); the CPU engine ran "), "{}", auto.engine);
    assert_eq!(cpu.engine, "CPU engine");
    let e = analyze_with(&capture.waveform, &cfg, Backend::Gpu, Some(&Broken { fallback: false })).unwrap_err();
    assert!(e.to_string().contains("device lost (simulated)"), "{e}");
}

#[test]
fn bench_phases_use_device_timestamps_when_available() {
    use lightlane_gpu::bench;
    let Some(ctx) = common::ctx() else { return };
    let x: Vec<f32> = (0..1 << 16).map(|i| ((i % 97) as f32 - 48.0) / 50.0).collect();
    let taps = [0.1f32, 1.0, 0.1];
    let t = bench::fir(ctx, &x, &taps, 3).unwrap();
    assert!(t.compute_s.is_finite() && t.compute_s > 0.0 && t.upload_s > 0.0 && t.readback_s > 0.0, "{t:?}");
    // Timestamps are used exactly when the adapter offers them (lavapipe does).
    assert_eq!(t.device_timed, bench::has_timestamps(ctx), "{t:?}");
    let grid = lightlane_core::timing::ResampleGrid { samples_per_ui: 4.8, phase_ui: 0.3, sps_out: 2 };
    let (t, n) = bench::resample(ctx, &x, &grid, 2).unwrap();
    assert_eq!(n, grid.output_len(x.len()));
    assert!(t.compute_s > 0.0 && t.device_timed == bench::has_timestamps(ctx), "{t:?}");
    let m = lightlane_core::Modulation::Pam4;
    let mlse = lightlane_core::eq::Mlse::new(m, &[1.0, 0.5], &m.level_set()).unwrap();
    assert!(bench::mlse_blocks(ctx, &mlse, &x[..20_000], 4096, 64, 1).unwrap() > 0.0);
    let dfe = lightlane_core::eq::Dfe::new(vec![0.1; 8], m.level_set(), m).unwrap();
    assert!(bench::dfe_blocks(ctx, &dfe, &x[..20_000], 4096, 64, 1).unwrap() > 0.0);
    // Raw codes → volts: the host's conversion of every code, phases timed.
    let codes: Vec<i16> = (0..70_001).map(|i| ((i * 7919) % 65_536) as i16).collect();
    let raw = lightlane_core::waveform::RawCodes::I16 { codes: codes.clone(), gain: 3.0e-5, offset: -0.01 };
    let (t, volts) = bench::convert(ctx, &raw, 2).unwrap();
    assert!(t.compute_s > 0.0 && t.upload_s > 0.0 && t.readback_s > 0.0 && t.device_timed == bench::has_timestamps(ctx), "{t:?}");
    assert_eq!(volts, ctx.codes_to_volts(&raw).unwrap());
    assert_eq!(volts.len(), codes.len());
    // The fused slicer + count on a resident signal: the CPU's counts of one pass (the timed
    // passes add into the same counters before they are cleared), the positions capped.
    let y: Vec<f32> = x.iter().map(|v| v * 1.6).collect();
    let expected: Vec<u8> = (0..y.len()).map(|i| ((i * 31 + i / 7) % 4) as u8).collect();
    let (t, n, got) = bench::slice_count(ctx, &y, &expected, 64, 3).unwrap();
    assert!(t.compute_s > 0.0 && t.upload_s > 0.0 && t.readback_s > 0.0, "{t:?}");
    let slicer = Slicer::for_levels(&m.level_set()).unwrap();
    let want = lightlane_core::pattern::count::count_errors(&slicer.slice_vec(&y), &expected, m, BitMapping::Gray);
    assert!(want.symbol_errors > 64, "{want:?}");
    assert_eq!((n, got.counts, got.positions.len()), (y.len(), want, 64));
    assert!(bench::slice_count(ctx, &y, &[], 64, 1).is_err());
}

#[test]
fn a_batch_of_captures_shares_one_context_and_gives_the_cpu_results() {
    let Some(_) = common::ctx() else { return };
    let before = GpuContext::contexts_created();
    let model = LinkModel::demo_pam4();
    let cfg = AnalysisConfig::pam4(model.baud);
    // Three "files" (different data), analysed from several threads at once as the CLI's
    // batch does: one context serves them all.
    let captures: Vec<_> = [("prbs13q", 12_000usize), ("prbs9q", 10_000), ("prbs13q", 16_000)]
        .iter()
        .map(|&(p, n)| (p, model.run(&Pattern::parse(p).unwrap().generate(Modulation::Pam4, n).unwrap()).unwrap()))
        .collect();
    std::thread::scope(|s| {
        for (pattern, c) in &captures {
            let cfg = AnalysisConfig { pattern: pattern.to_string(), ..cfg.clone() };
            s.spawn(move || {
                let cpu = analyze(&c.waveform, &cfg, Backend::Cpu).unwrap();
                let gpu = analyze(&c.waveform, &cfg, Backend::Gpu).unwrap();
                assert_same_report(&gpu, &cpu);
            });
        }
    });
    let ctx1 = match resolve(Backend::Gpu, 1).unwrap() {
        Resolved::Gpu(c) => c,
        r => panic!("{r:?}"),
    };
    let ctx2 = match resolve(Backend::Gpu, 1 << 30).unwrap() {
        Resolved::Gpu(c) => c,
        r => panic!("{r:?}"),
    };
    assert!(std::ptr::eq(ctx1, ctx2), "one shared context");
    assert_eq!(GpuContext::contexts_created(), before, "no per-file adapter setup");
}

/// The TDECQ signal of `wf` as the CPU pipeline makes it: the clock recovered from the raw
/// capture by the pipeline's CDR, the BT4 reference receiver at half the baud resampled onto it
/// at 32 samples per UI.
fn tdecq_signal(wf: &lightlane_core::Waveform, baud: f64) -> lightlane_core::eye::EyeSignal {
    use lightlane_core::analysis::ClockRecovery;
    let fs = wf.fs();
    let ClockRecovery::Cdr(cdr) = AnalysisConfig::pam4(baud).clock else { panic!("the PAM4 preset recovers the clock") };
    let rc = lightlane_core::timing::recover_clock(&wf.samples, fs, baud, Modulation::Pam4, &cdr).unwrap();
    let filtered = lightlane_core::eq::bessel_thomson_filter(&wf.samples, fs, 0.5 * baud, 4).unwrap();
    let n = lightlane_core::eye::within_capture(&rc.symbol_positions, fs / baud, wf.len()).len();
    let y = lightlane_core::timing::resample_at_parallel(&filtered, &rc.symbol_positions[rc.settled_from..n], 32);
    lightlane_core::eye::EyeSignal::from_centred(&y, 32).unwrap()
}

/// TDECQ on the GPU engine equals the CPU's: the evaluations' counts are exact, so the
/// optimizer takes the same path (the same number of evaluations) to the same taps.
fn assert_gpu_tdecq_is_the_cpus(sig: &lightlane_core::eye::EyeSignal, symbols: Option<&[u8]>, cfg: &lightlane_core::eye::TdecqConfig, what: &str) {
    use lightlane_core::eye::{tdecq, tdecq_with};
    let Some(ctx) = common::ctx() else { return };
    // Every window on the device, however small, every evaluation, in batches of candidates,
    // and uploads from 64 KiB through the staging ring, also on lavapipe (this binary's tests
    // all want that).
    ctx.set_tdecq_placement(lightlane_gpu::TdecqPlacement::Device);
    ctx.set_tdecq_batch(Some(lightlane_gpu::WEIGHTED_BATCH));
    ctx.set_staged_upload_min(Some(64 << 10));
    let cpu = tdecq(sig, symbols, cfg).unwrap();
    let spy = Spy { gpu: GpuAccelerator { ctx, fallback: false }, calls: Calls::default(), resident: true };
    let warnings = std::sync::Mutex::new(Vec::new());
    let engine = lightlane_core::accel::AccelTdecq::new(&spy, &warnings);
    let gpu = tdecq_with(sig, symbols, cfg, Some(&engine)).unwrap();
    assert!(spy.calls.has("tdecq_histograms"), "{what}: TDECQ's evaluations did not run on the GPU engine");
    assert!(spy.calls.has("counts_batch"), "{what}: the pattern search handed the GPU engine batches");
    assert!(warnings.lock().unwrap().is_empty(), "{what}: {:?}", warnings.lock().unwrap());
    eprintln!("{what}: TDECQ {:.6} dB (GPU {:.6}), {} evaluations, taps {:?}", cpu.tdecq_db, gpu.tdecq_db, cpu.evaluations, cpu.taps);
    let rel = |a: f64, b: f64| (a - b).abs() / a.abs().max(b.abs()).max(1e-300);
    assert_eq!(gpu.evaluations, cpu.evaluations, "{what}: the same search path");
    assert_eq!((gpu.main_tap, gpu.taps.len()), (cpu.main_tap, cpu.taps.len()), "{what}");
    assert!(rel(gpu.tdecq_db, cpu.tdecq_db) <= 1e-9 && rel(gpu.c_eq, cpu.c_eq) <= 1e-9, "{what}: GPU {gpu:?} CPU {cpu:?}");
    for (g, c) in gpu.taps.iter().zip(&cpu.taps) {
        assert!(rel(*g, *c) <= 1e-9 || (g - c).abs() <= 1e-12, "{what}: taps GPU {:?} CPU {:?}", gpu.taps, cpu.taps);
    }
}

#[test]
fn tdecq_on_the_gpu_equals_the_cpu_on_the_demo_capture() {
    // testdata/demo_pam4.bin: 53.125 GBd PAM4 at 256 GSa/s through a long lossy channel, raw
    // int16 codes (a closed, ISI-heavy eye: the optimizer works hard).
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/demo_pam4.bin")).expect("demo capture in the repository");
    let x: Vec<f32> = bytes.chunks_exact(2).map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) * 0.000_538_804_1).collect();
    let wf = lightlane_core::Waveform::new(x, 256e9).unwrap();
    let sig = tdecq_signal(&wf, 53.125e9);
    assert_gpu_tdecq_is_the_cpus(&sig, None, &lightlane_core::eye::TdecqConfig::default(), "demo capture");
}

#[test]
fn tdecq_on_the_gpu_equals_the_cpu_on_a_simulated_capture() {
    // A seeded simulated PAM4 link (the demo link model, PRBS13Q), with the known symbols; a
    // small search subset runs both stages (decimated windows, then all symbols), and the
    // 802.3dj variant adds the DFE column and 15 taps.
    let model = LinkModel::demo_pam4();
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 3 * 8191).unwrap();
    let capture = model.run(&symbols).unwrap();
    let sig = tdecq_signal(&capture.waveform, model.baud);
    let cfg = lightlane_core::eye::TdecqConfig { search_symbols: 4096, ..Default::default() };
    assert_gpu_tdecq_is_the_cpus(&sig, None, &cfg, "simulated PAM4, default TDECQ");
    let dj = lightlane_core::eye::TdecqConfig { search_symbols: 4096, ..lightlane_core::eye::TdecqConfig::ieee_8023dj() };
    assert_gpu_tdecq_is_the_cpus(&sig, None, &dj, "simulated PAM4, 802.3dj TDECQ (15 taps + DFE)");
}

#[test]
fn streamed_analysis_on_the_gpu_gives_the_cpu_counts() {
    // The demo link (errors after the FFE; noisier for the MLSE chain so its stages count
    // errors too), 200 k symbols streamed in blocks of 2^17 samples (≈ 8 blocks): every
    // block's FFE, the `ffe` stage's detector and the decision stage run on the GPU, and the
    // counts, stages and FEC statistics equal the CPU engine's exactly.
    use lightlane_core::analysis::{analyze_stream, analyze_stream_with, SliceSource, StreamOptions};
    let Some(ctx) = common::ctx() else { return };
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 200_000).unwrap();
    let clean = LinkModel::demo_pam4().run(&symbols).unwrap().waveform;
    let noisy = {
        let mut model = LinkModel::demo_pam4();
        model.noise = lightlane_core::sim::Noise::SnrDb(23.0);
        model.run(&symbols).unwrap().waveform
    };
    let opts = StreamOptions { block_samples: 1 << 17, overlap_ui: 4096, check_batch_symbols: 20_000, ..Default::default() };
    for (chain, wf, ffe_stage, detector) in [("ffe:15", &clean, "slice_count", "slice"), ("ffe:15,dfe:2", &noisy, "dfe", "dfe"), ("ffe:15,mlse:1", &noisy, "dfe", "mlse")] {
        let mut cfg = AnalysisConfig::pam4(53.125e9);
        cfg.equalizer = chain.parse().unwrap();
        cfg.training_symbols = 16_384;
        let cpu = analyze_stream(&mut SliceSource::new(&wf.samples, wf.fs(), 50_001, "sim"), &cfg, Backend::Cpu, &opts).unwrap();
        let spy = Spy { gpu: GpuAccelerator { ctx, fallback: false }, calls: Calls::default(), resident: true };
        let gpu = analyze_stream_with(&mut SliceSource::new(&wf.samples, wf.fs(), 50_001, "sim"), &cfg, Backend::Gpu, &opts, Some(&spy)).unwrap();
        assert!(cpu.bit_errors > 5 && cpu.symbols > 150_000, "{chain}: errors to compare ({} in {})", cpu.bit_errors, cpu.symbols);
        assert_eq!((gpu.symbols, gpu.symbol_errors, gpu.bits, gpu.bit_errors), (cpu.symbols, cpu.symbol_errors, cpu.bits, cpu.bit_errors), "{chain}");
        assert_eq!(gpu.stages, cpu.stages, "{chain}: per-stage errors");
        assert_eq!(gpu.fec, cpu.fec, "{chain}: FEC statistics");
        assert_eq!((&gpu.ffe_taps, &gpu.dfe_taps, &gpu.levels), (&cpu.ffe_taps, &cpu.dfe_taps, &cpu.levels), "{chain}: trained on the host");
        assert_eq!(gpu.warnings, cpu.warnings, "{chain}: no fallback");
        let blocks = spy.calls.0.lock().unwrap().iter().filter(|&&c| c == "equalize_resident").count();
        assert!(blocks >= 6, "{chain}: {blocks} resident FFE outputs (one per block)");
        assert!(!spy.calls.has("identity upload"), "{chain}: the detectors read the resident FFE output (no second upload)");
        for stage in ["read", ffe_stage, detector] {
            assert!(spy.calls.has(stage), "{chain}: the GPU engine did not run {stage}");
        }
        // Through the facade entry point as well.
        let via = lightlane_gpu::analyze_stream(&mut SliceSource::new(&wf.samples, wf.fs(), 50_001, "sim"), &cfg, Backend::Gpu, &opts).unwrap();
        assert_eq!(via.stages, cpu.stages, "{chain}");
    }
}

#[test]
fn the_tdecq_corners_run_on_resident_signals() {
    // An optical PAM4 capture with the 400GBASE-DR4 preset's dispersion corners: the raw eye,
    // TDECQ's signal and each corner's emulated signal resampled resident on the device, their
    // passes there, nothing read back; the CPU engine's corners within the resampler's rounding.
    use lightlane_core::analysis::Preset;
    use lightlane_core::sim::optical::{OpticalLink, OpticalPower};
    let Some(ctx) = common::ctx() else { return };
    let preset = Preset::named("400GBASE-DR4").unwrap();
    let baud = preset.config.baud.unwrap();
    let mut link = OpticalLink::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    link.tx.power = OpticalPower::AverageDbm(0.0);
    link.tx.extinction_ratio_db = 4.5;
    link.tx.bandwidth = lightlane_core::sim::Channel::BesselThomson { f3db_hz: 0.6 * baud, order: 4 };
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
    let cap = link.run(&symbols).unwrap();
    let cpu = analyze_cpu(&cap.waveform, &preset.config, Backend::Cpu).unwrap();
    let corners = &cpu.eye.as_ref().unwrap().tdecq_corners;
    assert!(corners.len() == 2 && corners.iter().all(|c| c.tdecq_db.is_some()), "{corners:?} {:?}", cpu.warnings);
    let spy = Spy { gpu: GpuAccelerator { ctx, fallback: false }, calls: Calls::default(), resident: true };
    let gpu = lightlane_core::analysis::analyze_with(&cap.waveform, &preset.config, Backend::Gpu, Some(&spy)).unwrap();
    let calls = |what: &str| spy.calls.0.lock().unwrap().iter().filter(|&&c| c == what).count();
    assert_eq!(
        (calls("eye_resident"), calls("resample_resident"), calls("reference_resident"), calls("resample_kept"), calls("kept_read")),
        (1, 0, 2, 0, 0),
        "the raw eye and TDECQ's signal resident from one upload, two corners' signals filtered and resampled on the device"
    );
    assert!(calls("kept_window") > 0 && calls("kept_crossings") == 4);
    assert_same_report(&gpu, &cpu);
    // The corners beside the eye and each other give the report of one after another.
    let hooks = lightlane_core::analysis::AnalysisHooks { accel: Some(&spy), mark: None, serial: true };
    let serial = lightlane_core::analysis::analyze_using(&cap.waveform, &preset.config, Backend::Gpu, &hooks).unwrap();
    assert_eq!(serde_json::to_value(&serial).unwrap(), serde_json::to_value(&gpu).unwrap());
}

#[test]
fn the_engine_resamples_on_the_device_only_what_outgrows_its_input() {
    // Fewer points than samples read (the FFE input, 2 per UI from 4 samples per UI): the
    // cores' points, exactly; at least as many (an eye, 16 per UI): the device's.
    let Some(ctx) = common::ctx() else { return };
    let gpu = GpuAccelerator { ctx, fallback: false };
    let x: Vec<f32> = (0..40_000).map(|k| ((k as f32) * 0.37).sin() + 0.1 * ((k * 7 % 13) as f32)).collect();
    let positions: Vec<f64> = (0..9_990).map(|k| 3.3 + 4.0001 * k as f64).collect();
    assert!(!lightlane_gpu::resamples_on_the_device(x.len(), positions.len(), 2));
    assert_eq!(gpu.resample_at(&x, &positions, 2).unwrap(), lightlane_core::timing::resample_at_parallel(&x, &positions, 2));
    assert!(lightlane_gpu::resamples_on_the_device(x.len(), positions.len(), 16));
    assert_eq!(gpu.resample_at(&x, &positions, 16).unwrap(), ctx.resample_at(&x, &positions, 16).unwrap());
}

#[test]
fn the_reference_signal_is_filtered_and_resampled_on_the_device() {
    // The BT4 eye of TDECQ: the capture filtered on the device (fir_held) and resampled from
    // there, the same points as the host's copy of that filter resampled by the GPU, and
    // within the resampler's rounding of the CPU engine's filter and resampling. Nothing for
    // an empty capture or no points per UI; a non-finite position is the resampler's error.
    use lightlane_core::accel::Accelerator;
    let Some(ctx) = common::ctx() else { return };
    let gpu = GpuAccelerator { ctx, fallback: false };
    let baud = 26.5625e9;
    let bt = lightlane_core::eq::BesselThomsonFilter::reference(4.0 * baud, baud).unwrap();
    let x: Vec<f32> = (0..40_000).map(|k| ((k as f32) * 0.37).sin() + 0.1 * ((k * 7 % 13) as f32)).collect();
    let positions: Vec<f64> = (0..9_990).map(|k| 3.3 + 4.0001 * k as f64).collect();
    let kept = gpu.reference_resident(&bt, &x, &positions, 16).unwrap().expect("kept on the device");
    assert_eq!(kept.len(), positions.len() * 16);
    let got = kept.read(0..kept.len()).unwrap();
    let filtered = ctx.fir_held(&x, bt.taps(), bt.lead()).unwrap();
    assert_eq!(got, ctx.resample_at(&filtered, &positions, 16).unwrap());
    let cpu = lightlane_core::timing::resample_at(&bt.apply(&x), &positions, 16);
    let worst = got.iter().zip(&cpu).map(|(g, c)| (g - c).abs()).fold(0f32, f32::max);
    assert!(worst < 2e-5, "largest |GPU − CPU| {worst:e}");
    // Both eyes from one upload: the same points as the separate calls.
    let [raw, reference] = gpu.eye_resident(&bt, &x, &positions, 16).unwrap().expect("both kept");
    assert_eq!(reference.read(0..reference.len()).unwrap(), got);
    let alone = gpu.resample_resident(&x, &positions, 16).unwrap().expect("kept");
    assert_eq!(raw.read(0..raw.len()).unwrap(), alone.read(0..alone.len()).unwrap());
    assert!(gpu.eye_resident(&bt, &[], &positions, 16).unwrap().is_none());
    assert!(gpu.reference_resident(&bt, &[], &positions, 16).unwrap().is_none());
    assert!(gpu.reference_resident(&bt, &x, &positions, 0).unwrap().is_none());
    assert!(gpu.reference_resident(&bt, &x, &[1.0, f64::NAN], 16).is_err());
}

/// The GPU engine whose reference receiver fails (as on a device lost there), in the eye's
/// paired call too (`pair`) or only when asked for alone (the pair declined).
struct ReferenceLost<'a> {
    gpu: GpuAccelerator<'a>,
    fallback: bool,
    pair: bool,
}

impl lightlane_core::accel::Accelerator for ReferenceLost<'_> {
    fn name(&self) -> String {
        "GPU engine (reference receiver lost)".into()
    }
    fn fallback_allowed(&self) -> bool {
        self.fallback
    }
    fn ffe_equalize(&self, ffe: &Ffe, x: &[f32]) -> lightlane_core::Result<Vec<f32>> {
        self.gpu.ffe_equalize(ffe, x)
    }
    fn resample_resident<'a>(&'a self, x: &[f32], positions: &[f64], sps_out: usize) -> lightlane_core::Result<Option<Box<dyn lightlane_core::accel::KeptSignal + 'a>>> {
        self.gpu.resample_resident(x, positions, sps_out)
    }
    fn reference_resident<'a>(&'a self, _: &lightlane_core::eq::BesselThomsonFilter, _: &[f32], _: &[f64], _: usize) -> lightlane_core::Result<Option<Box<dyn lightlane_core::accel::KeptSignal + 'a>>> {
        Err(lightlane_core::Error::Unusable { stage: "gpu", reason: "device lost in the reference filter (simulated)".into() })
    }
    fn eye_resident<'a>(&'a self, _: &lightlane_core::eq::BesselThomsonFilter, _: &[f32], _: &[f64], _: usize) -> lightlane_core::Result<Option<[Box<dyn lightlane_core::accel::KeptSignal + 'a>; 2]>> {
        match self.pair {
            true => Err(lightlane_core::Error::Unusable { stage: "gpu", reason: "device lost in the reference filter (simulated)".into() }),
            false => Ok(None),
        }
    }
}

#[test]
fn a_failing_reference_receiver_falls_back_to_the_cores() {
    // Under fallback the reference receiver filters on the cores (a warning says so) and the
    // report is the CPU engine's; without fallback the failure is the error.
    use lightlane_core::accel::Accelerator;
    let Some(ctx) = common::ctx() else { return };
    let model = LinkModel::new(Modulation::Pam4, 26.5625e9, 4.0 * 26.5625e9).unwrap();
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
    let capture = model.run(&symbols).unwrap();
    let cfg = AnalysisConfig::pam4(26.5625e9);
    let cpu = analyze(&capture.waveform, &cfg, Backend::Cpu).unwrap();
    for (pair, stage) in [(true, "the eye's resampling"), (false, "the reference receiver's filter")] {
        let lost = ReferenceLost { gpu: GpuAccelerator { ctx, fallback: true }, fallback: true, pair };
        assert!(lost.gpu.fallback_allowed());
        let auto = lightlane_core::analysis::analyze_with(&capture.waveform, &cfg, Backend::Auto, Some(&lost)).unwrap();
        assert!(auto.eye.as_ref().is_some_and(|e| e.tdecq_db.is_some()), "{:?}", auto.warnings);
        assert!(
            auto.warnings.iter().any(|w| w.contains("device lost in the reference filter") && w.contains(stage)),
            "{stage}: {:?}",
            auto.warnings
        );
        assert_eq!(auto.engine, format!("{}; the CPU engine ran {stage}", lost.name()));
        let mut warned = auto.clone();
        warned.warnings.retain(|w| !w.contains("device lost in the reference filter"));
        warned.engine = lost.name();
        assert_same_report(&warned, &cpu);
        let strict = ReferenceLost { gpu: GpuAccelerator { ctx, fallback: false }, fallback: false, pair };
        let e = lightlane_core::analysis::analyze_with(&capture.waveform, &cfg, Backend::Gpu, Some(&strict)).unwrap_err();
        assert!(e.to_string().contains("device lost in the reference filter"), "{stage}: {e}");
    }
}

#[test]
fn a_capture_with_a_nan_is_an_error_on_both_engines() {
    // Samples edited after the capture was built (the field is public): the analysis reports
    // the non-finite sample on the GPU engine as on the CPU engine, without a panic.
    let Some(ctx) = common::ctx() else { return };
    let model = LinkModel::new(Modulation::Pam4, 26.5625e9, 4.0 * 26.5625e9).unwrap();
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
    let mut wf = model.run(&symbols).unwrap().waveform;
    let at = wf.samples.len() / 2;
    wf.samples[at] = f32::NAN;
    let cfg = AnalysisConfig::pam4(26.5625e9);
    let cpu = analyze(&wf, &cfg, Backend::Cpu).unwrap_err();
    let gpu = lightlane_core::analysis::analyze_with(&wf, &cfg, Backend::Gpu, Some(&GpuAccelerator { ctx, fallback: false })).unwrap_err();
    assert_eq!(gpu.to_string(), cpu.to_string());
    assert!(cpu.to_string().to_lowercase().contains("finite") || cpu.to_string().contains("NaN"), "{cpu}");
}
