//! Conformance: every GPU kernel against the CPU engine on seeded random inputs and real
//! captures. Runs on any adapter (Mesa lavapipe in CI); skips with a printed reason when there
//! is none unless LIGHTLANE_REQUIRE_GPU=1.

mod common;

use lightlane_core::eq::Ffe;
use lightlane_core::fec::{ReedSolomon, RsCode};
use lightlane_core::filter::Fir;
use lightlane_core::modulation::{BitMapping, Slicer};
use lightlane_core::pattern::count::count_errors;
use lightlane_core::waveform::RawCodes;
use lightlane_core::Modulation;
use lightlane_gpu::reference;
use lightlane_gpu::EyeGeometry;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn noise(r: &mut ChaCha8Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| (r.random::<f32>() * 2.0 - 1.0) * scale)
        .collect()
}

/// `n` multiples of `1/denom` in `[−64/denom, 64/denom]`: short sums of their products are
/// exact in f32, so the GPU's and the CPU's FIR outputs must agree bit for bit.
fn dyadic(r: &mut ChaCha8Rng, n: usize, denom: f32) -> Vec<f32> {
    (0..n).map(|_| r.random_range(-64i32..=64) as f32 / denom).collect()
}

/// |gpu − cpu| ≤ 2·L·ε·Σ|w·x| per output (f32 summation error bound, either order).
fn assert_fir_close(
    gpu: &[f32],
    cpu: &[f32],
    x: &[f32],
    taps: &[f32],
    sps: usize,
    base: usize,
    what: &str,
) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: length");
    let l = taps.len();
    for k in 0..gpu.len() {
        let mut mag = 0f64;
        for (j, &w) in taps.iter().enumerate() {
            let i = (k * sps + base) as isize - j as isize;
            if i >= 0 && (i as usize) < x.len() {
                mag += (w as f64 * x[i as usize] as f64).abs();
            }
        }
        let tol = 2.0 * l as f64 * f32::EPSILON as f64 * mag + 1e-30;
        let d = (gpu[k] as f64 - cpu[k] as f64).abs();
        assert!(
            d <= tol,
            "{what}: output {k}: gpu {} cpu {} (|d| {d:e} > tol {tol:e})",
            gpu[k],
            cpu[k]
        );
    }
}

#[test]
fn codes_to_volts_random_and_real() {
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(1);
    let i8s: Vec<i8> = (0..100_003).map(|_| r.random()).collect();
    let raw = RawCodes::I8 {
        codes: i8s.clone(),
        gain: 0.0123,
        offset: -0.5,
    };
    let v = ctx.codes_to_volts(&raw).unwrap();
    assert_eq!(v.len(), i8s.len());
    for (i, (&c, &g)) in i8s.iter().zip(&v).enumerate() {
        let want = c as f64 * 0.0123 - 0.5;
        assert!(
            (g as f64 - want).abs() <= 4.0 * f32::EPSILON as f64 * (want.abs() + 0.5),
            "i8 code {i}: {c} -> {g}, want {want}"
        );
    }
    let codes: Vec<i16> = match common::real_i16_codes() {
        Some(c) => c,
        None => (0..50_001).map(|_| r.random()).collect(),
    };
    let (gain, offset) = (1.5625e-5, 0.25);
    let v = ctx
        .codes_to_volts(&RawCodes::I16 {
            codes: codes.clone(),
            gain,
            offset,
        })
        .unwrap();
    assert_eq!(v.len(), codes.len());
    for (i, (&c, &g)) in codes.iter().zip(&v).enumerate() {
        let want = c as f64 * gain + offset;
        assert!(
            (g as f64 - want).abs() <= 4.0 * f32::EPSILON as f64 * (want.abs() + offset),
            "i16 code {i}: {c} -> {g}, want {want}"
        );
    }
    // Non-finite scale is a typed error.
    assert!(ctx
        .codes_to_volts(&RawCodes::I8 {
            codes: vec![1],
            gain: f64::NAN,
            offset: 0.0
        })
        .is_err());
}

#[test]
fn ffe_matches_cpu_on_random_inputs() {
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(2);
    // (taps, sps, reference tap): T-spaced, fractionally spaced, long (untiled kernel).
    for &(l, sps, c) in &[
        (15usize, 1usize, 7usize),
        (1, 1, 0),
        (30, 2, 9),
        (9, 4, 0),
        (100, 32, 50),
    ] {
        let x = noise(&mut r, 40_000 + l, 1.0);
        let taps = noise(&mut r, l, 0.5);
        let ffe = Ffe::new(taps.clone(), sps, c).unwrap();
        let cpu = ffe.equalize(&x);
        let gpu = ctx.ffe_equalize(&ffe, &x).unwrap();
        assert_fir_close(
            &gpu,
            &cpu,
            &x,
            &taps,
            sps,
            c,
            &format!("ffe L={l} sps={sps} c={c}"),
        );
    }
}

#[test]
fn fir_exact_arithmetic_is_bit_identical() {
    // Dyadic inputs with few bits: every product and partial sum is exact in f32, so any
    // summation order gives the same bits; a wrong index or tap order cannot hide in a tolerance.
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(3);
    let x = dyadic(&mut r, 20_011, 16.0);
    let taps = dyadic(&mut r, 15, 64.0);
    let cpu = Fir::new(&taps).unwrap().process_valid_vec(&x);
    let gpu = ctx.fir_valid(&x, &taps).unwrap();
    assert_eq!(gpu, cpu);
    let ffe = Ffe::new(taps.clone(), 2, 5).unwrap();
    assert_eq!(ctx.ffe_equalize(&ffe, &x).unwrap(), ffe.equalize(&x));
}

#[test]
fn unrolled_ffe_is_bit_identical_for_every_tap_count_and_edge() {
    // The symbol-spaced kernels with the tap count and reference tap compiled in: every tap
    // count they take, the reference tap at either end and in the middle (window offsets 0..3
    // inside a vec4), and lengths that are not multiples of 4, down to one sample, so the
    // masked edges and the vec4 store's padding are exercised. Exact arithmetic: equality.
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(31);
    for l in (1..=lightlane_gpu::shaders::FFE_UNROLLED_MAX_TAPS).filter(|l| l % 3 != 2 || *l == 32)
    {
        let taps = dyadic(&mut r, l, 64.0);
        for c in [0, l / 2, l - 1, (l + 1) / 3] {
            for n in [1usize, 2, 3, 5, 7 + l, 4 * l + 1, 1003] {
                let x = dyadic(&mut r, n, 16.0);
                let ffe = Ffe::new(taps.clone(), 1, c.min(l - 1)).unwrap();
                assert_eq!(
                    ctx.ffe_equalize(&ffe, &x).unwrap(),
                    ffe.equalize(&x),
                    "L={l} c={c} n={n}"
                );
            }
        }
    }
}

#[test]
fn fused_pass_with_errors_everywhere_keeps_cap_true_positions() {
    // Random expected symbols (three in four wrong): every workgroup reserves position slots;
    // the counts stay exact, exactly `cap` positions come back and each is a true error; with
    // room for all of them the positions are all the errors. Unrolled (sps 1) and generic (sps 2).
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(32);
    let slicer = Slicer::for_levels(&Modulation::Pam4.level_set()).unwrap();
    for (sps, l, c) in [(1usize, 15usize, 7usize), (2, 7, 3)] {
        let n_sym = 70_001;
        let x: Vec<f32> = (0..n_sym * sps)
            .map(|_| r.random_range(-48i32..=48) as f32 / 16.0)
            .collect();
        let taps: Vec<f32> = (0..l)
            .map(|i| {
                if i == c {
                    1.0
                } else {
                    r.random_range(-8i32..=8) as f32 / 64.0
                }
            })
            .collect();
        let ffe = Ffe::new(taps, sps, c).unwrap();
        let exp: Vec<u8> = (0..n_sym).map(|_| r.random_range(0..4u8)).collect();
        let dec = slicer.slice_vec(&ffe.equalize(&x));
        let want = count_errors(&dec, &exp, Modulation::Pam4, BitMapping::Gray);
        let all = cpu_positions(&dec, &exp, 3);
        assert!(want.symbol_errors > 40_000);
        for cap in [1usize, 1000, 1 << 17] {
            let got = ctx
                .ffe_slice_count(
                    &ffe,
                    &x,
                    &exp,
                    &slicer,
                    Modulation::Pam4,
                    BitMapping::Gray,
                    cap,
                )
                .unwrap();
            assert_eq!(got.counts, want, "sps {sps} cap {cap}");
            assert_eq!(
                got.positions.len(),
                cap.min(all.len()),
                "sps {sps} cap {cap}"
            );
            assert!(
                got.positions.windows(2).all(|w| w[0] < w[1]),
                "distinct positions"
            );
            assert!(
                got.positions.iter().all(|p| all.binary_search(p).is_ok()),
                "sps {sps} cap {cap}"
            );
        }
    }
}

#[test]
fn large_readbacks_copy_out_on_several_threads_bit_exactly() {
    // 1.25 M outputs (5 MB, above the parallel-copy threshold) of an exact FIR: the readback
    // straight into the output, split across threads, must give the CPU's bits everywhere
    // (a misplaced piece or an uncopied tail would show).
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(30);
    let x = dyadic(&mut r, 1_250_003, 16.0);
    let taps = [0.25f32, 1.0, -0.5];
    let gpu = ctx.fir_valid(&x, &taps).unwrap();
    assert_eq!(gpu, Fir::new(&taps).unwrap().process_valid_vec(&x));
}

/// `x[clamp(i, 0, n − 1)]`: the reference receiver's input with its end samples held.
fn held(x: &[f32], i: isize) -> f32 {
    x[i.clamp(0, x.len() as isize - 1) as usize]
}

#[test]
fn held_filter_is_the_reference_receivers_filter() {
    // The BT4 reference receiver (257 taps at 4.8 samples/UI, fewer at 2) on noise, on
    // inputs shorter than the filter (the CPU's whole-padded path) and on the long path whose
    // ends go through short padded copies: within the f32 bound of the held-ends sum of the
    // CPU engine, and bit for bit the sum in the CPU's order, fused as the CPU's FMA paths run
    // it where WGSL's fma is fused (the H200), else multiply-then-add (lavapipe): every output
    // one way or every output the other, so a wrong tap, index or order cannot hide.
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(41);
    let baud = 53.125e9;
    for sps in [4.8, 2.0] {
        let bt = lightlane_core::eq::BesselThomsonFilter::reference(sps * baud, baud).unwrap();
        let (taps, lead) = (bt.taps(), bt.lead());
        assert_eq!(lead, taps.len() / 2, "the middle tap acts at t = 0");
        let l = taps.len();
        for n in [1usize, 2, 7, lead + 3, l + 1, 100_003] {
            let x = noise(&mut r, n, 0.4);
            let cpu = bt.apply(&x);
            let gpu = ctx.fir_held(&x, taps, lead).unwrap();
            assert_eq!(gpu.len(), n);
            for k in 0..n {
                // Input of tap j.
                let at = |j: usize| held(&x, k as isize + lead as isize - j as isize);
                let mag: f64 = (0..l).map(|j| (taps[j] as f64 * at(j) as f64).abs()).sum();
                let tol = 2.0 * l as f64 * f32::EPSILON as f64 * mag + 1e-30;
                let d = (gpu[k] as f64 - cpu[k] as f64).abs();
                assert!(d <= tol, "sps {sps} n {n} k {k}: gpu {} cpu {} (|d| {d:e} > {tol:e})", gpu[k], cpu[k]);
            }
            // The sums in the CPU's order (tap L−1 down to 0), fused and not (gpu_bench's line).
            let (fused, unfused) = lightlane_gpu::bench::held_filter_rounding(ctx, &x, taps, lead).unwrap();
            assert!(fused == n || unfused == n, "sps {sps} n {n}: {fused} fused and {unfused} unfused sums of {n} match");
        }
    }
    // A lead beyond the taps, no taps, a NaN tap: errors, not panics; no input: no output.
    let bt = lightlane_core::eq::BesselThomsonFilter::reference(4.8 * baud, baud).unwrap();
    assert!(ctx.fir_held(&[0.5; 10], bt.taps(), bt.taps().len()).is_err());
    assert!(ctx.fir_held(&[0.5; 10], &[], 0).is_err());
    assert!(ctx.fir_held(&[0.5; 10], &[f32::NAN], 0).is_err());
    assert_eq!(ctx.fir_held(&[], bt.taps(), 3).unwrap(), Vec::<f32>::new());
}

#[test]
fn fir_streams_in_chunks() {
    let Some(ctx) = common::own_ctx() else { return };
    ctx.set_max_chunk_bytes(Some(16 * 1024));
    let mut r = rng(4);
    let x = dyadic(&mut r, 50_000, 16.0);
    let taps = dyadic(&mut r, 31, 64.0);
    for (sps, c) in [(1usize, 30usize), (2, 3)] {
        let ffe = Ffe::new(taps.clone(), sps, c).unwrap();
        assert_eq!(
            ctx.ffe_equalize(&ffe, &x).unwrap(),
            ffe.equalize(&x),
            "sps {sps}"
        );
    }
}

#[test]
fn fir_bad_input_is_an_error() {
    let Some(ctx) = common::ctx() else { return };
    assert!(ctx.fir(&[1.0; 10], &[], 1, 0, 10).is_err());
    assert!(ctx.fir(&[1.0; 10], &[f32::NAN], 1, 0, 10).is_err());
    assert!(ctx.fir(&[1.0; 10], &[1.0], 0, 0, 10).is_err());
    assert!(ctx.fir(&[1.0; 10], &vec![0.5; 2000], 1, 0, 10).is_err());
    assert_eq!(
        ctx.fir_valid(&[1.0; 3], &[1.0; 5]).unwrap(),
        Vec::<f32>::new()
    );
}

fn pam4_signal(r: &mut ChaCha8Rng, n: usize, sigma: f32) -> (Vec<f32>, Vec<u8>) {
    let sym: Vec<u8> = (0..n).map(|_| r.random_range(0..4u8)).collect();
    let y = sym
        .iter()
        .map(|&s| Modulation::Pam4.level(s) + (r.random::<f32>() - 0.5) * 2.0 * sigma)
        .collect();
    (y, sym)
}

fn cpu_positions(dec: &[u8], exp: &[u8], mask: u8) -> Vec<u64> {
    dec.iter()
        .zip(exp)
        .enumerate()
        .filter(|(_, (d, e))| (**d & mask) != (**e & mask))
        .map(|(i, _)| i as u64)
        .collect()
}

#[test]
fn staging_buffers_are_reused_across_calls() {
    let Some(ctx) = common::own_ctx() else { return };
    ctx.set_max_chunk_bytes(Some(64 * 1024));
    assert_eq!(ctx.idle_staging_buffers(), 0);
    let mut r = rng(11);
    let slicer = Slicer::for_levels(&Modulation::Pam4.level_set()).unwrap();
    let (m, mapping) = (Modulation::Pam4, BitMapping::Gray);
    let (y, exp) = pam4_signal(&mut r, 50_001, 0.45);
    let got = ctx
        .slice_count(&y, &exp, &slicer, m, mapping, 1 << 20)
        .unwrap();
    assert_eq!(
        got.counts,
        count_errors(&slicer.slice_vec(&y), &exp, m, mapping)
    );
    // The ring's three staging buffers (mapped again once their copies finished) go back to
    // the context instead of being dropped.
    assert_eq!(ctx.idle_staging_buffers(), 3);
    // The next call of the same chunk size takes them (none is created, none added) and
    // overwrites what the last call left in them: shorter data, other values.
    let (y2, exp2) = pam4_signal(&mut r, 30_007, 0.6);
    let got2 = ctx
        .slice_count(&y2, &exp2, &slicer, m, mapping, 1 << 20)
        .unwrap();
    assert_eq!(
        got2.counts,
        count_errors(&slicer.slice_vec(&y2), &exp2, m, mapping)
    );
    assert_eq!(
        got2.positions,
        cpu_positions(&slicer.slice_vec(&y2), &exp2, m.max_symbol())
    );
    assert_eq!(ctx.idle_staging_buffers(), 3);
}

#[test]
fn slice_count_matches_cpu() {
    let Some(ctx) = common::own_ctx() else { return };
    let mut r = rng(5);
    // Stream in several chunks through the staging ring.
    ctx.set_max_chunk_bytes(Some(64 * 1024));
    for (m, mapping) in [
        (Modulation::Pam4, BitMapping::Gray),
        (Modulation::Pam4, BitMapping::Binary),
        (Modulation::Nrz, BitMapping::Gray),
    ] {
        let n = 100_003;
        let (y, mut exp) = pam4_signal(&mut r, n, 0.45);
        if m == Modulation::Nrz {
            exp.iter_mut().for_each(|e| *e >>= 1);
        }
        let slicer = match m {
            Modulation::Nrz => Slicer::new(vec![0.0]).unwrap(),
            _ => Slicer::for_levels(&Modulation::Pam4.level_set()).unwrap(),
        };
        let dec = slicer.slice_vec(&y);
        let want = count_errors(&dec, &exp, m, mapping);
        assert!(want.symbol_errors > 100, "test signal must have errors");
        let cap = 1 << 20;
        let got = ctx.slice_count(&y, &exp, &slicer, m, mapping, cap).unwrap();
        assert_eq!(got.counts, want, "{m:?} {mapping:?}");
        assert_eq!(
            got.positions,
            cpu_positions(&dec, &exp, m.max_symbol()),
            "{m:?} {mapping:?}"
        );
        // A small capacity keeps exactly `cap` positions, all of them true errors.
        let few = ctx.slice_count(&y, &exp, &slicer, m, mapping, 10).unwrap();
        assert_eq!(few.counts, want);
        assert_eq!(few.positions.len(), 10);
        let all = cpu_positions(&dec, &exp, m.max_symbol());
        assert!(few.positions.iter().all(|p| all.binary_search(p).is_ok()));
    }
}

#[test]
fn fused_ffe_slice_count_matches_cpu() {
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(6);
    // Dyadic samples and taps: the FFE output is exact, so decisions must match exactly.
    let n = 60_000;
    let x: Vec<f32> = (0..n)
        .map(|_| r.random_range(-48i32..=48) as f32 / 16.0)
        .collect();
    let taps: Vec<f32> = (0..9)
        .map(|i| {
            if i == 3 {
                1.0
            } else {
                r.random_range(-8i32..=8) as f32 / 64.0
            }
        })
        .collect();
    let ffe = Ffe::new(taps, 1, 3).unwrap();
    let slicer = Slicer::for_levels(&Modulation::Pam4.level_set()).unwrap();
    let y = ffe.equalize(&x);
    let exp: Vec<u8> = slicer
        .slice_vec(&y)
        .iter()
        .map(|&d| {
            if r.random::<f32>() < 0.05 {
                d ^ r.random_range(1..4u8)
            } else {
                d
            }
        })
        .collect();
    let dec = slicer.slice_vec(&y);
    let want = count_errors(&dec, &exp, Modulation::Pam4, BitMapping::Gray);
    let got = ctx
        .ffe_slice_count(
            &ffe,
            &x,
            &exp,
            &slicer,
            Modulation::Pam4,
            BitMapping::Gray,
            1 << 16,
        )
        .unwrap();
    assert_eq!(got.counts, want);
    assert_eq!(got.positions, cpu_positions(&dec, &exp, 3));
}

#[test]
fn slice_count_on_real_capture() {
    let Some(ctx) = common::ctx() else { return };
    let Some(x) = common::real_nrz() else { return };
    // NRZ decisions at every sample against the decisions of a one-sample-delayed copy: a real
    // signal with real transitions; counts must be identical.
    let slicer = Slicer::new(vec![0.0]).unwrap();
    let dec = slicer.slice_vec(&x);
    let exp: Vec<u8> = std::iter::once(0)
        .chain(dec.iter().copied())
        .take(dec.len())
        .collect();
    let want = count_errors(&dec, &exp, Modulation::Nrz, BitMapping::Gray);
    assert!(want.symbol_errors > 1000);
    let got = ctx
        .slice_count(
            &x,
            &exp,
            &slicer,
            Modulation::Nrz,
            BitMapping::Gray,
            1 << 20,
        )
        .unwrap();
    assert_eq!(got.counts, want);
    assert_eq!(got.positions, cpu_positions(&dec, &exp, 1));
    // And the FIR on it (a 15-tap smoother) within f32 tolerance.
    let taps: Vec<f32> = (0..15).map(|j| 1.0 / (1.0 + j as f32)).collect();
    let cpu = Fir::new(&taps).unwrap().process_valid_vec(&x);
    let gpu = ctx.fir_valid(&x, &taps).unwrap();
    assert_fir_close(&gpu, &cpu, &x, &taps, 1, 14, "real capture FIR");
}

fn geometries() -> Vec<EyeGeometry> {
    vec![
        // fits the per-workgroup histogram (64 x 64 = 4096 bins)
        EyeGeometry {
            samples_per_ui: 8,
            span_ui: 2,
            time_bins: 64,
            amp_bins: 64,
            lo: -1.5,
            hi: 1.5,
        },
        // fits the per-workgroup histogram with 2 phases (m = 32): swizzled rows
        EyeGeometry {
            samples_per_ui: 2,
            span_ui: 1,
            time_bins: 64,
            amp_bins: 64,
            lo: -1.5,
            hi: 1.5,
        },
        // global atomics (256 x 128 bins), m = 32: one phase's 8192 bins exceed a workgroup
        EyeGeometry {
            samples_per_ui: 4,
            span_ui: 1,
            time_bins: 128,
            amp_bins: 256,
            lo: -1.2,
            hi: 1.3,
        },
        // phase tiles: the analysis's eye (32 samples/UI over 2 UI, 256 x 256, m = 4): 4 of the
        // 64 phases per workgroup
        EyeGeometry {
            samples_per_ui: 32,
            span_ui: 2,
            time_bins: 256,
            amp_bins: 256,
            lo: -1.4,
            hi: 1.2,
        },
        // phase tiles of 3 phases that do not divide the 10-phase period (m = 6, 200 rows)
        EyeGeometry {
            samples_per_ui: 5,
            span_ui: 2,
            time_bins: 60,
            amp_bins: 200,
            lo: -1.0,
            hi: 1.0,
        },
        // one phase per tile, exactly a workgroup's 4096 bins (m = 16)
        EyeGeometry {
            samples_per_ui: 8,
            span_ui: 2,
            time_bins: 256,
            amp_bins: 256,
            lo: -1.5,
            hi: 1.5,
        },
        // one sample per UI, many columns per interval (m = 512)
        EyeGeometry {
            samples_per_ui: 1,
            span_ui: 2,
            time_bins: 1024,
            amp_bins: 100,
            lo: -2.0,
            hi: 2.0,
        },
        // tiny range: most segments clip
        EyeGeometry {
            samples_per_ui: 3,
            span_ui: 1,
            time_bins: 3,
            amp_bins: 7,
            lo: 0.1,
            hi: 0.2,
        },
    ]
}

#[test]
fn eye_histogram_identical_to_reference() {
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(7);
    let mut y = noise(&mut r, 30_001, 1.6);
    // Non-finite and huge samples exercise the clamps.
    y[100] = f32::NAN;
    y[200] = f32::INFINITY;
    y[201] = f32::NEG_INFINITY;
    y[300] = 3.0e38;
    for g in geometries() {
        let want = reference::eye_histogram(&y, &g).unwrap();
        let got = ctx.eye_histogram(&y, &g).unwrap();
        assert!(want.iter().map(|&c| c as u64).sum::<u64>() > 0);
        assert_eq!(got, want, "{g:?}");
    }
}

#[test]
fn eye_histogram_chunks_and_accumulates() {
    let Some(ctx) = common::own_ctx() else { return };
    ctx.set_max_chunk_bytes(Some(8 * 1024));
    let mut r = rng(8);
    let y = noise(&mut r, 20_000, 1.2);
    for g in geometries() {
        let want = reference::eye_histogram(&y, &g).unwrap();
        assert_eq!(ctx.eye_histogram(&y, &g).unwrap(), want, "streamed {g:?}");
        // Two pieces, the second starting with the first's last sample.
        let mut h = vec![0u32; want.len()];
        ctx.eye_histogram_accumulate(&y[..7_777], 0, &g, &mut h)
            .unwrap();
        ctx.eye_histogram_accumulate(&y[7_776..], 7_776, &g, &mut h)
            .unwrap();
        assert_eq!(h, want, "accumulated {g:?}");
    }
}

#[test]
fn eye_kernels_step_phases_across_long_inputs() {
    // Long enough that each phase-tile workgroup walks several rounds of 256 items, so the
    // stepped (period, phase) counters wrap (3 phases a tile do not divide 256), from a
    // stream offset that is not a period boundary.
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(33);
    let y = noise(&mut r, 1_200_001, 1.1);
    // And the workgroup-private kernel with a period (7) whose phase step 256 % 7 = 4 wraps
    // to non-zero phases.
    for g in [
        EyeGeometry {
            samples_per_ui: 5,
            span_ui: 2,
            time_bins: 60,
            amp_bins: 200,
            lo: -1.0,
            hi: 1.0,
        },
        EyeGeometry {
            samples_per_ui: 7,
            span_ui: 1,
            time_bins: 14,
            amp_bins: 100,
            lo: -1.0,
            hi: 1.0,
        },
    ] {
        let want = reference::eye_histogram(&y, &g).unwrap();
        assert_eq!(ctx.eye_histogram(&y, &g).unwrap(), want, "{g:?}");
        let mut h = vec![0u32; want.len()];
        ctx.eye_histogram_accumulate(&y[..333_337], 0, &g, &mut h)
            .unwrap();
        ctx.eye_histogram_accumulate(&y[333_336..], 333_336, &g, &mut h)
            .unwrap();
        assert_eq!(h, want, "accumulated {g:?}");
    }
}

#[test]
fn eye_run_kernels_count_what_the_others_do() {
    // The `_runs` forms of the workgroup-private kernels (GpuContext::set_eye_runs): every
    // geometry with non-finite samples, in small chunks from odd stream offsets (runs cut by a
    // chunk's end), and a long input whose tile and phase counters wrap.
    let Some(ctx) = common::own_ctx() else { return };
    ctx.set_eye_runs(true);
    let mut r = rng(34);
    let mut y = noise(&mut r, 30_003, 1.6);
    y[101] = f32::NAN;
    y[202] = f32::INFINITY;
    y[203] = f32::NEG_INFINITY;
    for g in geometries() {
        let want = reference::eye_histogram(&y, &g).unwrap();
        assert_eq!(ctx.eye_histogram(&y, &g).unwrap(), want, "{g:?}");
        let mut h = vec![0u32; want.len()];
        ctx.eye_histogram_accumulate(&y[..7_779], 0, &g, &mut h).unwrap();
        ctx.eye_histogram_accumulate(&y[7_778..], 7_778, &g, &mut h).unwrap();
        assert_eq!(h, want, "accumulated {g:?}");
    }
    ctx.set_max_chunk_bytes(Some(8 * 1024 + 4));
    for g in geometries() {
        assert_eq!(ctx.eye_histogram(&y, &g).unwrap(), reference::eye_histogram(&y, &g).unwrap(), "streamed {g:?}");
    }
    ctx.set_max_chunk_bytes(None);
    let long = noise(&mut r, 1_200_003, 1.1);
    for (s, bins) in [(5, 60), (7, 14), (8, 64), (32, 256)] {
        let g = EyeGeometry { samples_per_ui: s, span_ui: 2.min(bins / s), time_bins: bins, amp_bins: 200, lo: -1.0, hi: 1.0 };
        assert_eq!(ctx.eye_histogram(&long, &g).unwrap(), reference::eye_histogram(&long, &g).unwrap(), "{g:?}");
    }
}

#[test]
fn eye_histogram_of_real_capture() {
    let Some(ctx) = common::ctx() else { return };
    let Some(x) = common::real_nrz() else { return };
    // 40 GS/s at 10.3125 GBd is not an integer S; the histogram algorithm does not care.
    let g = EyeGeometry {
        samples_per_ui: 4,
        span_ui: 2,
        time_bins: 256,
        amp_bins: 128,
        lo: -0.12,
        hi: 0.12,
    };
    assert_eq!(
        ctx.eye_histogram(&x, &g).unwrap(),
        reference::eye_histogram(&x, &g).unwrap()
    );
    let g = EyeGeometry {
        samples_per_ui: 4,
        span_ui: 1,
        time_bins: 64,
        amp_bins: 64,
        lo: -0.1,
        hi: 0.1,
    };
    assert_eq!(
        ctx.eye_histogram(&x, &g).unwrap(),
        reference::eye_histogram(&x, &g).unwrap()
    );
}

#[test]
fn eye_bad_geometry_is_an_error() {
    let Some(ctx) = common::ctx() else { return };
    let ok = EyeGeometry {
        samples_per_ui: 4,
        span_ui: 1,
        time_bins: 64,
        amp_bins: 64,
        lo: -1.0,
        hi: 1.0,
    };
    for bad in [
        EyeGeometry { span_ui: 3, ..ok },
        EyeGeometry {
            time_bins: 66,
            ..ok
        },
        EyeGeometry {
            time_bins: 8192,
            ..ok
        },
        EyeGeometry { amp_bins: 0, ..ok },
        EyeGeometry {
            amp_bins: 2048,
            ..ok
        },
        EyeGeometry {
            lo: 1.0,
            hi: 1.0,
            ..ok
        },
        EyeGeometry { hi: f32::NAN, ..ok },
        EyeGeometry {
            samples_per_ui: 0,
            ..ok
        },
    ] {
        assert!(ctx.eye_histogram(&[0.0, 1.0], &bad).is_err(), "{bad:?}");
    }
    let mut h = vec![0u32; 3];
    assert!(ctx
        .eye_histogram_accumulate(&[0.0, 1.0], 0, &ok, &mut h)
        .is_err());
}

#[test]
fn rs_syndromes_match_cpu() {
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(9);
    for code in [RsCode::Kp4, RsCode::Kr4] {
        let rs = ReedSolomon::new(code);
        let words = 101;
        let mut batch = Vec::with_capacity(words * code.n());
        for w in 0..words {
            let msg: Vec<u16> = (0..code.k()).map(|_| r.random_range(0..1024u16)).collect();
            let mut cw = rs.encode_vec(&msg).unwrap();
            // word 0 clean (all-zero syndromes), the others with 1..20 symbol errors
            if w > 0 {
                for _ in 0..(w % 20 + 1) {
                    let i = r.random_range(0..code.n());
                    cw[i] ^= r.random_range(1..1024u16);
                }
            }
            batch.extend_from_slice(&cw);
        }
        let gpu = ctx.rs_syndromes(code, &batch).unwrap();
        let two_t = code.parity_len();
        assert_eq!(gpu.len(), words * two_t);
        let mut s = vec![0u16; two_t];
        for w in 0..words {
            rs.syndromes(&batch[w * code.n()..(w + 1) * code.n()], &mut s)
                .unwrap();
            assert_eq!(
                &gpu[w * two_t..(w + 1) * two_t],
                &s[..],
                "{code:?} word {w}"
            );
            assert_eq!(s.iter().all(|&v| v == 0), w == 0);
        }
    }
    // Bad input: ragged batch, symbol out of range.
    assert!(ctx.rs_syndromes(RsCode::Kp4, &[0u16; 545]).is_err());
    let mut bad = vec![0u16; 544];
    bad[7] = 1024;
    assert!(ctx.rs_syndromes(RsCode::Kp4, &bad).is_err());
    assert!(ctx.rs_syndromes(RsCode::Kp4, &[]).unwrap().is_empty());
}

#[test]
fn eye_reference_agrees_with_a_direct_float_reading_of_the_spec() {
    // The reference itself (no GPU): a flat line at the middle of bin r fills row r only.
    let g = EyeGeometry {
        samples_per_ui: 2,
        span_ui: 1,
        time_bins: 8,
        amp_bins: 4,
        lo: 0.0,
        hi: 4.0,
    };
    let h = reference::eye_histogram(&[2.5; 3], &g).unwrap();
    for (i, &c) in h.iter().enumerate() {
        let (row, _col) = (i / 8, i % 8);
        assert_eq!(c, if row == 2 { 1 } else { 0 }, "bin {i}");
    }
    // A rising segment from bin 0 to bin 3 crosses rows in order.
    let h = reference::eye_histogram(&[0.5, 3.5], &g).unwrap();
    let rows: Vec<usize> = (0..4)
        .map(|col| (0..4).find(|&r| h[r * 8 + col] == 1).unwrap())
        .collect();
    assert_eq!(rows, vec![0, 1, 2, 2]);
}

#[test]
fn block_parallel_dfe_matches_cpu_blocks_exactly() {
    use lightlane_core::eq::{detect_blocks, Dfe};
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(10);
    for (m, taps) in [
        (Modulation::Pam4, vec![0.3f32, -0.1, 0.05]),
        (Modulation::Nrz, vec![0.4f32]),
        (Modulation::Nrz, vec![0.3f32, 0.1, -0.05]),
        (Modulation::Pam4, vec![0.2f32, 0.1]),
        // Long DFEs (diverged on lavapipe before the segmented dispatch).
        (
            Modulation::Pam4,
            (0..12)
                .map(|i| 0.2 / (1 + i) as f32 * if i % 2 == 0 { 1.0 } else { -1.0 })
                .collect(),
        ),
        (
            Modulation::Pam4,
            (0..32)
                .map(|i| 0.15 / (1 + i) as f32 * if i % 3 == 0 { -1.0 } else { 1.0 })
                .collect(),
        ),
        (
            Modulation::Nrz,
            (0..32).map(|i| 0.2 / (1 + i) as f32).collect(),
        ),
    ] {
        let n = 50_001;
        let sym: Vec<u8> = (0..n)
            .map(|_| r.random_range(0..m.levels() as u8))
            .collect();
        // Channel with the DFE's post-cursors plus noise large enough for error bursts.
        let y: Vec<f32> = (0..n)
            .map(|k| {
                let mut v = m.level(sym[k]);
                for (i, &b) in taps.iter().enumerate() {
                    if k > i {
                        v += b * m.level(sym[k - 1 - i]);
                    }
                }
                v + (r.random::<f32>() - 0.5) * 2.4
            })
            .collect();
        let dfe = Dfe::new(taps.clone(), m.level_set(), m).unwrap();
        for (block, warmup) in [
            (4096usize, 256usize),
            (1000, 0),
            (4, 3),
            (8192, 1500),
            (4000, 5),
        ] {
            let want = detect_blocks(&y, block, warmup, |b| dfe.detect(b)).unwrap();
            let got = ctx.dfe_detect_blocks(&dfe, &y, block, warmup).unwrap();
            assert_eq!(
                got,
                want,
                "{m:?} {} taps, block {block}, warmup {warmup}",
                taps.len()
            );
        }
        // The sequential run differs from the block run only near block starts (warm-up bound).
        let seq = dfe.detect(&y);
        let got = ctx.dfe_detect_blocks(&dfe, &y, 4096, 256).unwrap();
        let errs = seq.iter().zip(&sym).filter(|(a, b)| a != b).count();
        assert!(errs > 0, "noise must cause decision errors");
        for (k, (a, b)) in got.iter().zip(&seq).enumerate() {
            if a != b {
                assert!(
                    k % 4096 < 256 + 64,
                    "{m:?}: mismatch at {k} is past the warm-up of its block"
                );
            }
        }
    }
    assert!(ctx
        .dfe_detect_blocks(
            &Dfe::new(vec![0.1], Modulation::Nrz.level_set(), Modulation::Nrz).unwrap(),
            &[0.0; 8],
            6,
            0
        )
        .is_err());
    assert_eq!(lightlane_gpu::GPU_DFE_MAX_TAPS, 32);
}

#[test]
fn resample_fixed_clock_matches_cpu() {
    use lightlane_core::timing::{resample, ResampleGrid};
    let Some(ctx) = common::own_ctx() else { return };
    let mut r = rng(20);
    let x = noise(&mut r, 60_001, 0.8);
    for (chunk, spu, phase, sps) in [
        (None, 256.0 / 53.125, 0.3, 2usize),
        (Some(16 * 1024), 4.8187, 0.0, 1),
        (Some(8 * 1024), 2.0, 1.75, 8),
        (None, 0.9, 0.5, 64),
    ] {
        ctx.set_max_chunk_bytes(chunk);
        let grid = ResampleGrid {
            samples_per_ui: spu,
            phase_ui: phase,
            sps_out: sps,
        };
        let cpu = resample(&x, &grid).unwrap();
        let gpu = ctx.resample(&x, &grid).unwrap();
        assert!(cpu.len() > 1000);
        let step = spu / sps as f64;
        let span = lightlane_gpu::RESAMPLE_ANCHOR_SPAN;
        common::assert_resample_close(
            &gpu,
            &cpu,
            &x,
            |m| (phase * spu) + m as f64 * step,
            |m| (m % span) as f64 * step,
            &format!("grid {grid:?} chunk {chunk:?}"),
        );
    }
    ctx.set_max_chunk_bytes(None);
    // Bad grids are errors, as on the CPU; tiny inputs give what the CPU gives.
    let g = ResampleGrid {
        samples_per_ui: 2.0,
        phase_ui: 0.0,
        sps_out: 2,
    };
    assert!(ctx.resample(&x, &ResampleGrid { sps_out: 0, ..g }).is_err());
    assert!(ctx
        .resample(
            &x,
            &ResampleGrid {
                samples_per_ui: f64::NAN,
                ..g
            }
        )
        .is_err());
    assert!(ctx
        .resample(
            &x,
            &ResampleGrid {
                phase_ui: -1.0,
                ..g
            }
        )
        .is_err());
    assert_eq!(
        ctx.resample(&x[..1], &g).unwrap(),
        resample(&x[..1], &g).unwrap()
    );
    assert_eq!(
        ctx.resample(&x[..2], &g).unwrap(),
        resample(&x[..2], &g).unwrap()
    );
}

#[test]
fn resample_at_recovered_positions_matches_cpu() {
    use lightlane_core::timing::resample_at;
    let Some(ctx) = common::own_ctx() else { return };
    let mut r = rng(21);
    let x = noise(&mut r, 40_000, 1.5);
    // A wandering clock: 4.8 samples/UI with jitter, starting before the capture and running
    // past its end (both ends clamp).
    let mut p = -3.7f64;
    let positions: Vec<f64> = (0..8_400)
        .map(|_| {
            let v = p;
            p += 4.8 + (r.random::<f64>() - 0.5) * 0.2;
            v
        })
        .collect();
    assert!(*positions.last().unwrap() > x.len() as f64);
    for (chunk, sps) in [
        (None, 1usize),
        (Some(16 * 1024), 2),
        (Some(4096), 4),
        (None, 7),
    ] {
        ctx.set_max_chunk_bytes(chunk);
        let cpu = resample_at(&x, &positions, sps);
        let gpu = ctx.resample_at(&x, &positions, sps).unwrap();
        let np = positions.len();
        let step = |k: usize| if k + 1 < np { positions[k + 1] - positions[k] } else { positions[k] - positions[k - 1] } / sps as f64;
        common::assert_resample_close(
            &gpu,
            &cpu,
            &x,
            |m| positions[m / sps] + (m % sps) as f64 * step(m / sps),
            |m| (m % sps) as f64 * step(m / sps).abs(),
            &format!("sps {sps} chunk {chunk:?}"),
        );
        if sps == 1 {
            // At the symbol positions themselves the fraction is the CPU's: bit-identical
            // except for FMA contraction, far inside the tolerance; check a tight bound too.
            for (g, c) in gpu.iter().zip(&cpu) {
                assert!((g - c).abs() <= 1e-5 * (1.0 + c.abs()), "{g} vs {c}");
            }
        }
    }
    ctx.set_max_chunk_bytes(None);
    assert!(ctx.resample_at(&x, &[1.0, f64::NAN], 2).is_err());
    // A non-finite position deep in a long clock (past the search's first chunks).
    let mut long: Vec<f64> = (0..100_000).map(|k| (k % 1000) as f64).collect();
    long[70_001] = f64::INFINITY;
    let e = ctx.resample_at(&x, &long, 2).unwrap_err().to_string();
    assert!(e.contains("symbol position") && e.contains("inf"), "{e}");
    assert!(ctx.resample_at(&[], &positions, 2).unwrap().is_empty());
    assert!(ctx.resample_at(&x, &positions, 0).unwrap().is_empty());
    assert_eq!(
        ctx.resample_at(&x, &[5.5], 3).unwrap(),
        resample_at(&x, &[5.5], 3)
    );
}

#[test]
fn kept_resampled_points_give_the_eye_histogram_of_their_host_copy() {
    use lightlane_core::accel::Accelerator;
    let Some(ctx) = common::own_ctx() else { return };
    let engine = lightlane_gpu::GpuAccelerator { ctx: &ctx, fallback: false };
    let mut r = rng(23);
    let x = noise(&mut r, 30_000, 1.2);
    let mut p = 2.3f64;
    let positions: Vec<f64> = (0..1_500)
        .map(|_| {
            let v = p;
            p += 4.8 + (r.random::<f64>() - 0.5) * 0.3;
            v
        })
        .collect();
    for g in geometries().into_iter().filter(|g| [3, 8, 32].contains(&g.samples_per_ui)) {
        let s = g.samples_per_ui;
        let (y, kept) = engine.resample_kept(&x, &positions, s).unwrap();
        assert_eq!(y, ctx.resample_at(&x, &positions, s).unwrap(), "the points are resample_at's");
        let kept = kept.expect("one dispatch: the points are kept");
        assert_eq!(kept.len(), y.len());
        let core_g = lightlane_core::eye::EyeGeometry {
            samples_per_ui: s,
            span_ui: g.span_ui,
            time_bins: g.time_bins,
            amp_bins: g.amp_bins,
            lo: g.lo,
            hi: g.hi,
        };
        // From the start, from half a UI on (the pipeline's centred eye: a copy on the
        // device) and an odd slice: the counts of the same points on the host, exactly.
        for range in [0..y.len(), s / 2..y.len(), 3..y.len() - 5] {
            let want = reference::eye_histogram(&y[range.clone()], &g).unwrap();
            assert!(want.iter().any(|&c| c > 0));
            assert_eq!(kept.eye_histogram(&core_g, range.clone()).unwrap(), want, "{g:?} {range:?}");
        }
        assert!(kept.eye_histogram(&core_g, y.len() - 1..y.len() + 1).is_err());
        // Outputs beyond one dispatch are not kept (and still resampled).
        ctx.set_max_chunk_bytes(Some(4096));
        let (split, none) = engine.resample_kept(&x, &positions, s).unwrap();
        assert!(none.is_none());
        assert_eq!(split.len(), y.len());
        ctx.set_max_chunk_bytes(None);
    }
}

#[test]
fn block_parallel_mlse_matches_cpu_blocks_exactly() {
    use lightlane_core::eq::{detect_blocks, Mlse};
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(30);
    let n = 30_001;
    let pam4 = Modulation::Pam4;
    let nrz = Modulation::Nrz;
    let sym4: Vec<u8> = (0..n).map(|_| r.random_range(0..4u8)).collect();
    let sym2: Vec<u8> = (0..n).map(|_| r.random_range(0..2u8)).collect();
    // 1 + αD (and 1 + αD + βD²) channels with noise large enough for error events.
    let chan = |m: Modulation, s: &[u8], h: &[f32], r: &mut ChaCha8Rng, sigma: f32| -> Vec<f32> {
        (0..s.len())
            .map(|k| {
                h.iter()
                    .enumerate()
                    .filter(|&(i, _)| i <= k)
                    .map(|(i, &v)| v * m.level(s[k - i]))
                    .sum::<f32>()
                    + (r.random::<f32>() - 0.5) * sigma
            })
            .collect()
    };
    let y4 = chan(pam4, &sym4, &[1.0, 0.5], &mut r, 0.9);
    let y4b = chan(pam4, &sym4, &[1.0, 0.4, 0.2], &mut r, 0.7);
    let y2 = chan(nrz, &sym2, &[1.0, 0.6], &mut r, 2.6);
    let y2b = chan(nrz, &sym2, &[1.0, 0.5, 0.3], &mut r, 2.4);
    let weighted = Mlse::fit_table_with_noise(&y4, &sym4, 1, pam4).unwrap();
    let cases: Vec<(&str, Mlse, &[f32], &[u8])> = vec![
        (
            "pam4 4 states",
            Mlse::new(pam4, &[1.0, 0.5], &pam4.level_set()).unwrap(),
            &y4,
            &sym4,
        ),
        (
            "pam4 4 states short traceback",
            Mlse::new(pam4, &[1.0, 0.5], &pam4.level_set())
                .unwrap()
                .with_traceback(300, 20)
                .unwrap(),
            &y4,
            &sym4,
        ),
        ("pam4 4 states weighted", weighted, &y4, &sym4),
        (
            "pam4 16 states",
            Mlse::new(pam4, &[1.0, 0.4, 0.2], &pam4.level_set()).unwrap(),
            &y4b,
            &sym4,
        ),
        (
            "nrz 2 states",
            Mlse::new(nrz, &[1.0, 0.6], &nrz.level_set()).unwrap(),
            &y2,
            &sym2,
        ),
        (
            "nrz 4 states",
            Mlse::new(nrz, &[1.0, 0.5, 0.3], &nrz.level_set()).unwrap(),
            &y2b,
            &sym2,
        ),
    ];
    for (what, mlse, y, sym) in &cases {
        for (block, warmup) in [(4096usize, 256usize), (1000, 0), (512, 100)] {
            let want = detect_blocks(y, block, warmup, |b| mlse.detect(b)).unwrap();
            let got = ctx.mlse_detect_blocks(mlse, y, block, warmup).unwrap();
            assert_eq!(got.len(), want.len());
            let bad: Vec<usize> = (0..got.len()).filter(|&k| got[k] != want[k]).collect();
            assert!(
                bad.is_empty(),
                "{what}: block {block}, warmup {warmup}: {} mismatches, first at {:?}",
                bad.len(),
                &bad[..bad.len().min(8)]
            );
        }
        // The sequential run differs from the block run only near block boundaries.
        let seq = mlse.detect(y);
        let errs = seq.iter().zip(sym.iter()).filter(|(a, b)| a != b).count();
        assert!(errs > 0, "{what}: noise must cause decision errors");
        let got = ctx.mlse_detect_blocks(mlse, y, 4096, 256).unwrap();
        for (k, (a, b)) in got.iter().zip(&seq).enumerate() {
            if a != b {
                let dist = (k % 4096).min(4096 - k % 4096);
                assert!(
                    dist <= 256,
                    "{what}: mismatch at {k} is past the warm-up around its block boundary"
                );
            }
        }
    }
    let m = Mlse::new(pam4, &[1.0, 0.5], &pam4.level_set()).unwrap();
    assert!(ctx.mlse_detect_blocks(&m, &y4, 6, 0).is_err());
    assert!(ctx.mlse_detect_blocks(&m, &y4, 0, 0).is_err());
    assert!(ctx.mlse_detect_blocks(&m, &[], 4096, 0).unwrap().is_empty());
    // Tracebacks beyond the per-invocation loop budget are refused, not answered wrongly.
    let long = m
        .clone()
        .with_traceback(lightlane_gpu::GPU_MLSE_MAX_TRACEBACK, 1)
        .unwrap();
    assert!(ctx.mlse_detect_blocks(&long, &y4, 4096, 0).is_err());
}

/// A noisy PAM4 1 + αD channel output and its symbols.
fn isi_pam4(r: &mut ChaCha8Rng, n: usize, alpha: f32, sigma: f32) -> (Vec<f32>, Vec<u8>) {
    let m = Modulation::Pam4;
    let sym: Vec<u8> = (0..n).map(|_| r.random_range(0..4u8)).collect();
    let y = (0..n)
        .map(|k| {
            m.level(sym[k])
                + if k > 0 {
                    alpha * m.level(sym[k - 1])
                } else {
                    0.0
                }
                + (r.random::<f32>() - 0.5) * sigma
        })
        .collect();
    (y, sym)
}

#[test]
fn dfe_and_mlse_stream_beyond_one_binding() {
    use lightlane_core::eq::{detect_blocks, Dfe, Mlse};
    let Some(ctx) = common::own_ctx() else { return };
    // 4 KiB bindings: 1024 samples, so 5000 symbols need several chunks through the ring.
    ctx.set_max_chunk_bytes(Some(4096));
    let mut r = rng(40);
    let (y, sym) = isi_pam4(&mut r, 5000, 0.4, 1.6);
    let m = Modulation::Pam4;
    for taps in [vec![0.4f32], vec![0.3, -0.1, 0.05, 0.02, 0.01]] {
        let dfe = Dfe::new(taps.clone(), m.level_set(), m).unwrap();
        // (block, warmup): warm-up shorter than a block, and spanning two blocks of history.
        for (block, warmup) in [(64usize, 16usize), (32, 40), (16, 0)] {
            let want = detect_blocks(&y, block, warmup, |b| dfe.detect(b)).unwrap();
            let got = ctx.dfe_detect_blocks(&dfe, &y, block, warmup).unwrap();
            assert_eq!(
                got,
                want,
                "DFE {} taps, block {block}, warmup {warmup}",
                taps.len()
            );
        }
    }
    let seq = Dfe::new(vec![0.4], m.level_set(), m).unwrap().detect(&y);
    assert!(
        seq.iter().zip(&sym).any(|(a, b)| a != b),
        "noise must cause decision errors"
    );
    for (what, mlse) in [
        (
            "4 states",
            Mlse::new(m, &[1.0, 0.4], &m.level_set()).unwrap(),
        ),
        (
            "16 states",
            Mlse::new(m, &[1.0, 0.4, 0.1], &m.level_set()).unwrap(),
        ),
    ] {
        for (block, warmup) in [(64usize, 16usize), (32, 40)] {
            let want = detect_blocks(&y, block, warmup, |b| mlse.detect(b)).unwrap();
            let got = ctx.mlse_detect_blocks(&mlse, &y, block, warmup).unwrap();
            assert_eq!(got, want, "MLSE {what}, block {block}, warmup {warmup}");
        }
    }
    // A block that cannot fit one binding with its warm-up is a clear error, not a wrong answer.
    let dfe = Dfe::new(vec![0.4], m.level_set(), m).unwrap();
    let e = ctx
        .dfe_detect_blocks(&dfe, &y, 4096, 256)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not fit one binding"), "{e}");
}

#[test]
fn resident_equalized_signal_matches_the_cpu_engine() {
    use lightlane_core::accel::{cpu_eye_histogram, host_slice_count, Accelerator};
    use lightlane_core::eq::{Dfe, Mlse};
    let Some(ctx) = common::ctx() else { return };
    let gpu = lightlane_gpu::GpuAccelerator {
        ctx,
        fallback: false,
    };
    let mut r = rng(41);
    let m = Modulation::Pam4;
    let n = 20_000;
    let (x, sym) = isi_pam4(&mut r, n, 0.3, 1.2);
    let ffe = Ffe::new(vec![0.05, 1.0, -0.25, 0.04], 1, 1).unwrap();
    let eq = gpu.equalize_resident(&ffe, &x).unwrap();
    assert_eq!(eq.len(), ffe.output_len(n));
    let y = eq.read(0..eq.len()).unwrap();
    assert_fir_close(&y, &ffe.equalize(&x), &x, ffe.taps(), 1, 1, "resident FFE");
    assert_eq!(
        eq.read(100..237).unwrap(),
        y[100..237].to_vec(),
        "a range reads the same samples"
    );
    assert!(eq.read(0..n + 1).is_err());
    // Everything after the FFE is integer: identical to the CPU engine on the same y.
    let slicer = Slicer::for_levels(&m.level_set()).unwrap();
    let expected = sym.clone();
    for (start, len) in [(0usize, n), (7, 12_345), (n - 3, 3), (5, 0)] {
        for mapping in [BitMapping::Gray, BitMapping::Binary] {
            let got = eq
                .slice_count(start, &expected[start..start + len], &slicer, m, mapping)
                .unwrap();
            let want = host_slice_count(
                &y[start..start + len],
                &expected[start..start + len],
                &slicer,
                m,
                mapping,
            );
            assert_eq!(got, want, "slice_count {start}+{len} {mapping:?}");
        }
    }
    assert!(
        eq.slice_count(0, &expected, &slicer, m, BitMapping::Gray)
            .unwrap()
            .symbol_errors
            > 0,
        "noise must cause errors"
    );
    assert!(eq
        .slice_count(n - 2, &expected[..3], &slicer, m, BitMapping::Gray)
        .is_err());
    assert_eq!(eq.slice(&slicer).unwrap(), slicer.slice_vec(&y));
    let dfe = Dfe::new(vec![0.3, -0.05], m.level_set(), m).unwrap();
    assert_eq!(eq.dfe_detect(&dfe).unwrap(), dfe.detect_parallel(&y));
    let mlse = Mlse::new(m, &[1.0, 0.3], &m.level_set()).unwrap();
    assert_eq!(eq.mlse_detect(&mlse).unwrap(), mlse.detect_parallel(&y));
    // The eye histogram through the accelerator hook equals lightlane_core::eye's.
    for g in [
        lightlane_core::eye::EyeGeometry {
            samples_per_ui: 8,
            span_ui: 2,
            time_bins: 64,
            amp_bins: 64,
            lo: -2.0,
            hi: 2.0,
        },
        lightlane_core::eye::EyeGeometry {
            samples_per_ui: 4,
            span_ui: 1,
            time_bins: 256,
            amp_bins: 200,
            lo: -1.0,
            hi: 1.5,
        },
    ] {
        assert_eq!(
            gpu.eye_histogram(&g, &y).unwrap(),
            cpu_eye_histogram(&g, &y).unwrap(),
            "{g:?}"
        );
    }
}

#[test]
fn equalized_signal_beyond_one_binding_streams() {
    use lightlane_core::accel::Accelerator;
    use lightlane_core::eq::{Dfe, Mlse};
    let Some(ctx) = common::own_ctx() else { return };
    // 256 KiB bindings (65536 samples): the capture below is kept on the host and every stage
    // streams, with the pipeline's block size (8192 symbols, 256 warm-up).
    ctx.set_max_chunk_bytes(Some(256 << 10));
    let gpu = lightlane_gpu::GpuAccelerator {
        ctx: &ctx,
        fallback: false,
    };
    let mut r = rng(42);
    let m = Modulation::Pam4;
    let (x, sym) = isi_pam4(&mut r, 70_001, 0.35, 1.3);
    let ffe = Ffe::new(vec![1.0, -0.2], 1, 0).unwrap();
    let eq = gpu.equalize_resident(&ffe, &x).unwrap();
    let y = eq.read(0..eq.len()).unwrap();
    assert_fir_close(&y, &ffe.equalize(&x), &x, ffe.taps(), 1, 0, "streamed FFE");
    let slicer = Slicer::for_levels(&m.level_set()).unwrap();
    let c = eq
        .slice_count(10, &sym[10..], &slicer, m, BitMapping::Gray)
        .unwrap();
    assert_eq!(
        c,
        lightlane_core::accel::host_slice_count(&y[10..], &sym[10..], &slicer, m, BitMapping::Gray)
    );
    let dfe = Dfe::new(vec![0.35], m.level_set(), m).unwrap();
    assert_eq!(eq.dfe_detect(&dfe).unwrap(), dfe.detect_parallel(&y));
    let mlse = Mlse::new(m, &[1.0, 0.15], &m.level_set()).unwrap();
    assert_eq!(eq.mlse_detect(&mlse).unwrap(), mlse.detect_parallel(&y));
}

/// TDECQ-like columns: one shared array of a noisy 4-level signal, column t starting `t·no`
/// samples later (the shifted symbol columns of `eye::tdecq`), `n` rows each.
fn tdecq_columns(r: &mut ChaCha8Rng, n: usize, ncols: usize, no: usize) -> (Vec<f32>, Vec<usize>) {
    let data: Vec<f32> = (0..n + ncols * no)
        .map(|_| (r.random_range(0..4u8) as f32 - 1.5) / 1.5 + 0.08 * (r.random::<f32>() - 0.5))
        .collect();
    let offsets = (0..ncols).map(|t| (ncols - 1 - t) * no).collect();
    (data, offsets)
}

#[test]
fn weighted_histogram_is_exact_on_exact_arithmetic() {
    // Dyadic samples, weights and bin edges: every product, sum and bin coordinate is exact in
    // f32 and f64, so the GPU must give the oracle's counts bit for bit (a wrong column,
    // offset or row index cannot hide).
    use lightlane_gpu::weighted_histogram_reference as oracle;
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(50);
    let n = 150_001;
    let data = dyadic(&mut r, n + 40, 16.0);
    let offsets = [3usize, 0, 17, 40, 9];
    let w = [0.25f32, 1.0, -0.125, 0.0625, -0.5];
    let (lo, step, bins) = (-16.0, 1.0 / 32.0, 1024);
    let plan = ctx
        .weighted_histogram(&data, &offsets, n, lo, step, bins)
        .unwrap();
    let want = oracle(&data, &offsets, n, &w, lo, step, bins).unwrap();
    assert!(
        want.iter().filter(|&&c| c > 0).count() > 100,
        "the test histogram must spread over many bins"
    );
    assert_eq!(plan.counts(&w).unwrap(), want);
    // The plan is reusable: other weights on the same resident columns.
    let w2 = [0.0f32, 0.5, 0.5, -0.25, 0.125];
    assert_eq!(
        plan.counts(&w2).unwrap(),
        oracle(&data, &offsets, n, &w2, lo, step, bins).unwrap()
    );
    // Clamping at both ends: a narrow range puts most samples in the end bins.
    let narrow = ctx
        .weighted_histogram(&data, &offsets, n, -0.5, 1.0 / 64.0, 64)
        .unwrap();
    assert_eq!(
        narrow.counts(&w).unwrap(),
        oracle(&data, &offsets, n, &w, -0.5, 1.0 / 64.0, 64).unwrap()
    );
}

#[test]
fn tdecq_windows_are_placed_by_the_context_setting() {
    // Raced (the default) and Large: windows from TDECQ_GPU_MIN_ROWS rows (both windows
    // together) on the device, smaller ones on the CPU (`Ok(None)`); the plan races the CPU
    // only under Raced. Device: every window, not racing. (In this binary, not the engine
    // tests': its own context would race their check that a batch creates none.)
    use lightlane_core::accel::Accelerator;
    use lightlane_core::eye::{TdecqBins, TdecqWindow};
    use lightlane_gpu::TdecqPlacement;
    let Some(ctx) = common::own_ctx() else { return };
    assert_eq!(ctx.tdecq_placement(), TdecqPlacement::Raced);
    let accel = lightlane_gpu::GpuAccelerator { ctx: &ctx, fallback: false };
    let half = lightlane_gpu::TDECQ_GPU_MIN_ROWS / 2;
    let data: Vec<f32> = (0..half + 1).map(|i| (i % 97) as f32 * 0.01).collect();
    let offsets = [0usize, 1];
    let bins = TdecqBins { lo: -1.0, step: 0.01, bins: 512 };
    // None: on the CPU; Some(race): on the device, racing or not.
    let planned = |rows: usize| {
        let w = [TdecqWindow { data: &data, offsets: &offsets, rows }, TdecqWindow { data: &data, offsets: &offsets, rows }];
        accel.tdecq_histograms(&w, &bins).unwrap().map(|p| p.race())
    };
    assert_eq!(planned(half - 1), None, "one row short of the threshold stays on the CPU");
    assert_eq!(planned(half), Some(true), "the threshold goes to the device, racing the CPU");
    ctx.set_tdecq_placement(TdecqPlacement::Large);
    assert_eq!((planned(half - 1), planned(half)), (None, Some(false)), "Large");
    ctx.set_tdecq_placement(TdecqPlacement::Device);
    assert_eq!((planned(1), planned(half)), (Some(false), Some(false)), "Device: every window");
    ctx.set_tdecq_placement(TdecqPlacement::Raced);
    assert_eq!(planned(half - 1), None);
    // Candidates a batch may hold: by the adapter (1 on a CPU driver, whose kernels cost more
    // than its round trips), or as set (within 1..=WEIGHTED_BATCH).
    let batch = || {
        let w = [TdecqWindow { data: &data, offsets: &offsets, rows: half }, TdecqWindow { data: &data, offsets: &offsets, rows: half }];
        accel.tdecq_histograms(&w, &bins).unwrap().map(|p| p.batch())
    };
    let by_adapter = if ctx.adapter().device_type == "Cpu" { 1 } else { lightlane_gpu::WEIGHTED_BATCH };
    assert_eq!((ctx.tdecq_batch(), batch()), (by_adapter, Some(by_adapter)));
    for (set, got) in [(Some(8), 8), (Some(1000), lightlane_gpu::WEIGHTED_BATCH), (Some(0), 1), (None, by_adapter)] {
        ctx.set_tdecq_batch(set);
        assert_eq!(batch(), Some(got), "{set:?}");
    }
}

#[test]
fn weighted_histogram_is_exact_on_tdecq_shaped_columns() {
    // TDECQ's shape: 5 taps + a DFE-like column over 400 k rows, 1024 bins over 3× the span,
    // inexact weights. The kernel rounds every product on its own (no fused multiply-add) and
    // bins as the CPU does, so the counts equal the oracle's exactly; the samples that lie
    // within rounding of a bin edge (where a fused sum would move a count) are counted to
    // show the test would catch that.
    use lightlane_gpu::weighted_histogram_reference as oracle;
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(51);
    let (n, ncols, no) = (400_000usize, 6usize, 2usize);
    let (data, offsets) = tdecq_columns(&mut r, n, ncols, no);
    let (mn, mx) = data
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let span = (mx - mn) as f64;
    let (lo, step, bins) = (mn as f64 - span, 3.0 * span / 1024.0, 1024);
    let plan = ctx
        .weighted_histogram(&data, &offsets, n, lo, step, bins)
        .unwrap();
    for w in [
        [0.0f32, 0.0, 1.0, 0.0, 0.0, 0.0],
        [0.03, -0.12, 1.2, -0.15, 0.04, 0.1],
        [0.0113, -0.0917, 1.0731, -0.0611, 0.0212, 0.2977],
    ] {
        let got = plan.counts(&w).unwrap();
        let want = oracle(&data, &offsets, n, &w, lo, step, bins).unwrap();
        let eps = f32::EPSILON as f64;
        let near = (0..n)
            .filter(|&i| {
                let terms: Vec<f64> = (0..ncols)
                    .map(|t| (w[t] * data[offsets[t] + i]) as f64)
                    .collect();
                let x = (terms.iter().sum::<f64>() - lo) / step;
                let delta = (ncols + 4) as f64
                    * eps
                    * (terms.iter().map(|v| v.abs()).sum::<f64>() + lo.abs())
                    / step;
                (x - x.round()).abs() <= delta
            })
            .count();
        eprintln!("weights {w:?}: {near} of {n} samples within rounding of a bin edge");
        assert_eq!(
            got, want,
            "weights {w:?}: the GPU counts must be the CPU's ({near} samples near an edge)"
        );
    }
}

#[test]
fn weighted_histograms_of_several_windows_are_each_windows_oracle() {
    // TDECQ's two windows in one plan: different data, rows and offsets, the same columns and
    // bins; the counts come back window after window.
    use lightlane_core::eye::{TdecqBins, TdecqWindow};
    use lightlane_gpu::weighted_histogram_reference as oracle;
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(52);
    let (a, oa) = tdecq_columns(&mut r, 90_001, 6, 2);
    let (b, ob) = tdecq_columns(&mut r, 45_000, 6, 1);
    let bins = TdecqBins {
        lo: -2.9,
        step: 5.8 / 1024.0 * 1.013,
        bins: 1024,
    };
    let wins = [
        TdecqWindow {
            data: &a,
            offsets: &oa,
            rows: 90_001,
        },
        TdecqWindow {
            data: &b,
            offsets: &ob,
            rows: 45_000,
        },
    ];
    let plan = ctx.weighted_histograms(&wins, &bins).unwrap();
    assert_eq!(plan.windows(), 2);
    let w = [0.02f32, -0.11, 1.17, -0.13, 0.05, 0.12];
    let got = plan.counts(&w).unwrap();
    let mut want = oracle(&a, &oa, 90_001, &w, bins.lo, bins.step, bins.bins).unwrap();
    want.extend(oracle(&b, &ob, 45_000, &w, bins.lo, bins.step, bins.bins).unwrap());
    assert_eq!(got, want);
    // Through the core's TDECQ hook (the same plan, into a caller's buffer).
    let mut out = vec![7u32; 2048];
    lightlane_core::eye::TdecqHistograms::counts(
        &mut ctx.weighted_histograms(&wins, &bins).unwrap(),
        &w,
        &mut out,
    )
    .unwrap();
    assert_eq!(out, want);
    // Mismatched windows and too many bins over all windows are errors.
    let three = TdecqWindow {
        data: &b,
        offsets: &ob[..3],
        rows: 1000,
    };
    assert!(
        ctx.weighted_histograms(&[wins[0], three], &bins).is_err(),
        "column counts differ"
    );
    assert!(
        ctx.weighted_histograms(&[wins[0], wins[1], wins[0], wins[1], wins[0]], &bins)
            .is_err(),
        "5 × 1024 bins"
    );
    assert!(ctx.weighted_histograms(&[], &bins).is_err(), "no window");
    assert!(
        plan.counts_into(&w, &mut out[..100]).is_err(),
        "short output"
    );
}

#[test]
fn a_batch_of_candidates_gives_each_candidates_counts() {
    // TDECQ's pattern search hands the plan several candidates at once (one submission, one
    // readback): each candidate's block is its own evaluation's, exactly.
    use lightlane_core::eye::{TdecqBins, TdecqHistograms, TdecqWindow};
    use lightlane_gpu::WEIGHTED_BATCH;
    let Some(ctx) = common::ctx() else { return };
    let mut r = rng(53);
    let (a, oa) = tdecq_columns(&mut r, 20_011, 5, 1);
    let (b, ob) = tdecq_columns(&mut r, 9_000, 5, 1);
    let bins = TdecqBins { lo: -2.7, step: 5.4 / 300.0, bins: 300 };
    let wins = [TdecqWindow { data: &a, offsets: &oa, rows: 20_011 }, TdecqWindow { data: &b, offsets: &ob, rows: 9_000 }];
    let mut plan = ctx.weighted_histograms(&wins, &bins).unwrap();
    let by_adapter = if ctx.adapter().device_type == "Cpu" { 1 } else { WEIGHTED_BATCH };
    assert_eq!(TdecqHistograms::batch(&plan), by_adapter);
    let cands: Vec<Vec<f32>> = (0..WEIGHTED_BATCH)
        .map(|k| (0..5).map(|t| if t == 2 { 1.0 } else { 0.02 * (k as f32 - 15.0) * (t as f32 - 2.0) / 4.0 }).collect())
        .collect();
    let single: Vec<Vec<u32>> = cands.iter().map(|w| plan.counts(w).unwrap()).collect();
    assert!(single.windows(2).any(|p| p[0] != p[1]), "the candidates' counts differ");
    for k in [2, 3, 17, WEIGHTED_BATCH] {
        let ws: Vec<&[f32]> = cands[WEIGHTED_BATCH - k..].iter().map(|w| w.as_slice()).collect();
        let mut got = vec![9u32; k * 600];
        plan.counts_batch(&ws, &mut got).unwrap();
        for (j, block) in got.chunks_exact(600).enumerate() {
            assert_eq!(block, single[WEIGHTED_BATCH - k + j].as_slice(), "batch of {k}, candidate {j}");
        }
    }
    // One candidate is a plain evaluation; bad batches are typed errors.
    let mut one = vec![0u32; 600];
    plan.counts_batch_into(&[&cands[4]], &mut one).unwrap();
    assert_eq!(one, single[4]);
    let ws: Vec<&[f32]> = cands.iter().map(|w| w.as_slice()).collect();
    let too_many = [ws.clone(), vec![ws[0]]].concat();
    assert!(plan.counts_batch_into(&too_many, &mut vec![0; (WEIGHTED_BATCH + 1) * 600]).is_err());
    assert!(plan.counts_batch_into(&[], &mut []).is_err());
    assert!(plan.counts_batch_into(&ws[..3], &mut vec![0; 2 * 600]).is_err(), "short output");
    assert!(plan.counts_batch_into(&[&cands[0], &cands[1][..4]], &mut vec![0; 1200]).is_err(), "short weights");
    let nan = [1.0f32, f32::NAN, 0.0, 0.0, 0.0];
    assert!(plan.counts_batch_into(&[&cands[0], &nan], &mut vec![0; 1200]).is_err(), "a NaN weight");
}

#[test]
fn the_straight_line_weighted_kernel_counts_what_the_loop_does() {
    // The kernel written for the column count (GpuContext::set_weighted_unrolled, the
    // default), on two TDECQ-shaped windows, 1 to 32 columns (and 33: the loop form), single
    // candidates and a batch, and the loop form on the same; every count the oracle's.
    use lightlane_core::eye::{TdecqBins, TdecqWindow};
    use lightlane_gpu::weighted_histogram_reference as oracle;
    let Some(ctx) = common::own_ctx() else { return };
    assert!(ctx.weighted_unrolled(), "the default");
    let mut r = rng(53);
    let bins = TdecqBins { lo: -2.9, step: 5.8 / 1024.0 * 1.013, bins: 1024 };
    for ncols in [1usize, 2, 7, 16, 32, 33] {
        let (a, oa) = tdecq_columns(&mut r, 60_001, ncols, 2);
        let (b, ob) = tdecq_columns(&mut r, 30_000, ncols, 1);
        let wins = [TdecqWindow { data: &a, offsets: &oa, rows: 60_001 }, TdecqWindow { data: &b, offsets: &ob, rows: 30_000 }];
        let plan = ctx.weighted_histograms(&wins, &bins).unwrap();
        let cands: Vec<Vec<f32>> = (0..3)
            .map(|k| (0..ncols).map(|t| if t == ncols / 2 { 1.1 + 0.01 * k as f32 } else { 0.037 * (t as f32 - 2.5) + 0.003 * k as f32 }).collect())
            .collect();
        let mut want = Vec::new();
        for w in &cands {
            want.extend(oracle(&a, &oa, 60_001, w, bins.lo, bins.step, bins.bins).unwrap());
            want.extend(oracle(&b, &ob, 30_000, w, bins.lo, bins.step, bins.bins).unwrap());
        }
        assert_eq!(plan.counts(&cands[1]).unwrap(), want[2048..4096], "{ncols} columns");
        let ws: Vec<&[f32]> = cands.iter().map(|c| c.as_slice()).collect();
        let mut got = vec![0u32; want.len()];
        plan.counts_batch_into(&ws, &mut got).unwrap();
        assert_eq!(got, want, "{ncols} columns, a batch");
        ctx.set_weighted_unrolled(false);
        let looped = ctx.weighted_histograms(&wins, &bins).unwrap();
        ctx.set_weighted_unrolled(true);
        looped.counts_batch_into(&ws, &mut got).unwrap();
        assert_eq!(got, want, "{ncols} columns, the loop form");
    }
}

#[test]
fn weighted_histogram_bad_input_is_an_error() {
    let Some(ctx) = common::ctx() else { return };
    let data = vec![0.5f32; 100];
    assert!(
        ctx.weighted_histogram(&data, &[], 10, 0.0, 0.1, 16)
            .is_err(),
        "no columns"
    );
    assert!(
        ctx.weighted_histogram(&data, &[0; 65], 10, 0.0, 0.1, 16)
            .is_err(),
        "too many columns"
    );
    assert!(
        ctx.weighted_histogram(&data, &[0, 95], 10, 0.0, 0.1, 16)
            .is_err(),
        "a column beyond the data"
    );
    assert!(
        ctx.weighted_histogram(&data, &[0], 10, 0.0, 0.0, 16)
            .is_err(),
        "zero bin width"
    );
    assert!(
        ctx.weighted_histogram(&data, &[0], 10, f64::NAN, 0.1, 16)
            .is_err(),
        "NaN lo"
    );
    assert!(
        ctx.weighted_histogram(&data, &[0], 10, 0.0, 0.1, 5000)
            .is_err(),
        "too many bins"
    );
    assert!(
        ctx.weighted_histogram(&data, &[0], 10, 1000.0, 1e-4, 16)
            .is_err(),
        "bins too narrow for the f32 estimate"
    );
    let plan = ctx
        .weighted_histogram(&data, &[0, 1], 10, 0.0, 0.1, 16)
        .unwrap();
    assert!(plan.counts(&[1.0]).is_err(), "one weight per column");
    assert!(plan.counts(&[1.0, f32::NAN]).is_err(), "NaN weight");
    assert_eq!(
        ctx.weighted_histogram(&data, &[0], 0, 0.0, 0.1, 4)
            .unwrap()
            .counts(&[1.0])
            .unwrap(),
        vec![0; 4],
        "no rows"
    );
}
