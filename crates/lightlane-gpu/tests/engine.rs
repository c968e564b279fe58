//! Engine selection and the pipeline on the GPU engine.

mod common;

use lightlane_core::analysis::{analyze as analyze_cpu, AnalysisConfig};
use lightlane_core::pattern::Pattern;
use lightlane_core::sim::LinkModel;
use lightlane_core::{Backend, Modulation};
use lightlane_gpu::{analyze, check_limits, resolve, GpuContext, GpuOptions, Resolved};

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

#[test]
fn gpu_engine_report_matches_cpu_engine() {
    let Some(_ctx) = common::ctx() else { return };
    let model = LinkModel::demo_pam4();
    let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 2 * 8191).unwrap();
    let capture = model.run(&symbols).unwrap();
    let cfg = AnalysisConfig::pam4(model.baud);
    let cpu = analyze(&capture.waveform, &cfg, Backend::Cpu).unwrap();
    let gpu = analyze(&capture.waveform, &cfg, Backend::Gpu).unwrap();
    assert_eq!(gpu.symbols, cpu.symbols);
    assert_eq!(gpu.symbol_errors, cpu.symbol_errors);
    assert_eq!(gpu.bit_errors, cpu.bit_errors);
    assert_eq!(gpu.ffe_taps, cpu.ffe_taps);
    // Decisions may differ only where f32 rounding moved an equalized sample across a
    // threshold; on this clean link that is none.
    assert_eq!(gpu.decisions, cpu.decisions);
    // The GPU engine ran the FFE (no fallback warning).
    assert!(!gpu.warnings.iter().any(|w| w.contains("GPU engine")), "{:?}", gpu.warnings);
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
}
