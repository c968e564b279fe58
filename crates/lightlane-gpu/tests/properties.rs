//! Property tests (proptest): every GPU kernel against its CPU reference on arbitrary inputs —
//! lengths from zero up and off the kernels' word and chunk boundaries, arbitrary eye
//! geometries, slicers, tap counts, code widths, resampling grids and clocks, block splits and
//! TDECQ histogram windows, with non-finite samples and values exactly on thresholds and bin
//! edges. Bit-exact outputs must be equal; float outputs within the operation's rounding bound
//! (the resampler's documented tolerance). A geometry or input one side rejects, the other
//! must reject too. Runs where `conformance.rs` runs (lavapipe in CI).

mod common;

use lightlane_core::eq::{detect_blocks, Dfe, Ffe, Mlse};
use lightlane_core::fec::{ReedSolomon, RsCode};
use lightlane_core::filter::Fir;
use lightlane_core::modulation::{BitMapping, Slicer};
use lightlane_core::pattern::count::count_errors;
use lightlane_core::waveform::RawCodes;
use lightlane_core::{Error, Modulation};
use lightlane_gpu::{reference, EyeGeometry, GpuContext};
use proptest::prelude::*;

/// Cases per property: each case is a few dispatches on the adapter (milliseconds on lavapipe);
/// 48 unless `PROPTEST_CASES` asks for more (a longer soak).
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// The shared context; `None` (the property passes vacuously, after `common::ctx`'s printed
/// skip) only where no adapter is usable and none is required.
fn ctx() -> Option<&'static GpuContext> {
    common::ctx()
}

/// A context that streams everything in chunks of at most 4 KiB through the staging ring, so
/// a few thousand samples take several chunks.
fn chunked() -> Option<&'static GpuContext> {
    static CTX: std::sync::OnceLock<Option<GpuContext>> = std::sync::OnceLock::new();
    CTX.get_or_init(|| {
        let c = common::own_ctx()?;
        c.set_max_chunk_bytes(Some(4096));
        Some(c)
    })
    .as_ref()
}

/// A context whose TDECQ histogram plans run the looping kernel (any column count), where the
/// shared one runs the kernels written for each column count.
fn looped() -> Option<&'static GpuContext> {
    static CTX: std::sync::OnceLock<Option<GpuContext>> = std::sync::OnceLock::new();
    CTX.get_or_init(|| {
        let c = common::own_ctx()?;
        c.set_weighted_unrolled(false);
        Some(c)
    })
    .as_ref()
}

/// Samples: mostly ordinary values in `±range`, some exactly on one of `marks` (thresholds,
/// bin edges), some NaN or ±∞, some huge.
fn samples(range: f32, marks: Vec<f32>, len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<f32>> {
    let special = prop_oneof![
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(3.0e38f32),
        Just(-3.0e38f32),
        Just(0.0f32),
        Just(-0.0f32),
    ];
    let marked = proptest::sample::select(marks);
    proptest::collection::vec(prop_oneof![12 => -range..range, 2 => marked, 1 => special], len)
}

/// Multiples of `1/denom` in `±64/denom`: short sums of their products are exact in f32.
fn dyadic(denom: f32, len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec((-64i32..=64).prop_map(move |v| v as f32 / denom), len)
}

/// The indices where the decisions and the expected symbols differ (under `mask`).
fn cpu_positions(dec: &[u8], exp: &[u8], mask: u8) -> Vec<u64> {
    dec.iter().zip(exp).enumerate().filter(|(_, (d, e))| (**d & mask) != (**e & mask)).map(|(i, _)| i as u64).collect()
}

/// A slicer for `m`: the standard one, or the first `m.levels() − 1` of arbitrary thresholds.
fn slicer(m: Modulation, custom: Option<Vec<f32>>) -> Slicer {
    match custom {
        Some(mut t) => {
            t.truncate(m.levels() - 1);
            t.sort_by(f32::total_cmp);
            // Strictly ascending (a repeat moved up by 1/64, on the dyadic grid).
            for i in 1..t.len() {
                t[i] = t[i].max(t[i - 1] + 1.0 / 64.0);
            }
            Slicer::new(t).expect("ascending finite thresholds")
        }
        None => Slicer::for_levels(&m.level_set()).expect("the standard levels"),
    }
}

/// The link a slice-and-count case draws: PAM4 or NRZ, Gray or binary mapping, its slicer
/// ([`slicer`]) and the expected symbols (`exp_seed` reduced to the alphabet).
fn link(pam4: bool, gray: bool, thresholds: Option<Vec<f32>>, exp_seed: &[u8]) -> (Modulation, BitMapping, Slicer, Vec<u8>) {
    let m = if pam4 { Modulation::Pam4 } else { Modulation::Nrz };
    let mapping = if gray { BitMapping::Gray } else { BitMapping::Binary };
    let exp = exp_seed.iter().map(|&e| e % m.levels() as u8).collect();
    (m, mapping, slicer(m, thresholds), exp)
}

/// The kernel's error positions against every true one (`all`, ascending): all of them when
/// they fit `cap`, else exactly `cap` true ones, ascending.
fn check_positions(got: &[u64], all: &[u64], cap: usize) -> Result<(), TestCaseError> {
    if all.len() <= cap {
        prop_assert_eq!(got, all);
    } else {
        prop_assert_eq!(got.len(), cap);
        prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "ascending");
        prop_assert!(got.iter().all(|p| all.binary_search(p).is_ok()), "true errors");
    }
    Ok(())
}

/// The marks of the standard PAM4 and NRZ slicers: the level midpoints, and the levels.
fn slicer_marks() -> Vec<f32> {
    let mut v = Vec::new();
    for m in [Modulation::Pam4, Modulation::Nrz] {
        let l = m.level_set();
        v.extend(l.windows(2).map(|w| (w[0] + w[1]) / 2.0));
        v.extend(l);
    }
    v
}

proptest! {
    #![proptest_config(config())]

    /// The fused slicer + comparison + count, streamed in 4 KiB chunks: the CPU slicer's
    /// decisions counted by `count_errors`, exactly; every error position when they fit `cap`,
    /// else exactly `cap` true ones.
    #[test]
    fn slice_count_is_the_cpu_count(
        pam4 in any::<bool>(),
        gray in any::<bool>(),
        custom in proptest::option::of(proptest::collection::vec(-1.2f32..1.2, 3)),
        y in samples(1.6, slicer_marks(), 0..5000),
        exp_seed in proptest::collection::vec(any::<u8>(), 0..5000),
        cap in 0usize..64,
    ) {
        let Some(ctx) = chunked() else { return Ok(()) };
        let (m, mapping, s, exp) = link(pam4, gray, custom, &exp_seed);
        let n = y.len().min(exp.len());
        let dec = s.slice_vec(&y[..n]);
        let want = count_errors(&dec, &exp[..n], m, mapping);
        let got = ctx.slice_count(&y, &exp, &s, m, mapping, cap).unwrap();
        prop_assert_eq!(got.counts, want);
        check_positions(&got.positions, &cpu_positions(&dec, &exp[..n], m.max_symbol()), cap)?;
    }

    /// The eye histogram of any valid geometry, from any stream offset, non-finite and clamped
    /// samples included: the reference's counts, bin for bin; streamed in chunks, the same.
    /// Half the geometries have power-of-two bin heights from a multiple of 1/8, so the marked
    /// samples (multiples of 1/2) fall exactly on bin edges.
    #[test]
    fn eye_histogram_is_the_reference(
        s in 1usize..=40,
        two_ui in any::<bool>(),
        cols in 1usize..=64,
        amp_bins in 1usize..=300,
        edges in prop_oneof![
            (-2.0f32..0.5, 0.05f32..4.0).prop_map(|(lo, width)| (lo, width, None)),
            (-16i32..=4, 3i32..=7).prop_map(|(k, e)| (k as f32 / 8.0, 0.0, Some(e))),
        ],
        k0 in 0u64..1_000_000,
        y in samples(2.5, vec![-1.0, -0.5, 0.0, 0.5, 1.0], 0..4000),
    ) {
        let Some(ctx) = ctx() else { return Ok(()) };
        let u = if two_ui { 2 } else { 1 };
        let cols = cols.min(4096 / (s * u)).max(1);
        let (lo, width, pow) = edges;
        let hi = match pow { Some(e) => lo + amp_bins as f32 * 2f32.powi(-e), None => lo + width };
        let g = EyeGeometry { samples_per_ui: s, span_ui: u, time_bins: s * u * cols, amp_bins, lo, hi };
        let bins = g.bins().unwrap();
        let mut want = vec![0u32; bins];
        reference::eye_histogram_accumulate(&y, k0, &g, &mut want).unwrap();
        let mut got = vec![0u32; bins];
        ctx.eye_histogram_accumulate(&y, k0, &g, &mut got).unwrap();
        prop_assert_eq!(&got, &want, "{:?} from {}", g, k0);
        let Some(chunked) = chunked() else { return Ok(()) };
        let mut streamed = vec![0u32; bins];
        chunked.eye_histogram_accumulate(&y, k0, &g, &mut streamed).unwrap();
        prop_assert_eq!(&streamed, &want, "streamed {:?} from {}", g, k0);
    }

    /// Any geometry, valid or not: the GPU accepts exactly what the reference accepts.
    #[test]
    fn eye_geometry_checks_agree(
        s in 0usize..=50,
        u in 0usize..=3,
        b in 0usize..=5000,
        a in 0usize..=1100,
        lo in prop_oneof![4 => -2.0f32..2.0, 1 => Just(f32::NAN), 1 => Just(f32::NEG_INFINITY)],
        hi in prop_oneof![4 => -2.0f32..2.0, 1 => Just(f32::NAN), 1 => Just(f32::INFINITY)],
    ) {
        let Some(ctx) = ctx() else { return Ok(()) };
        let g = EyeGeometry { samples_per_ui: s, span_ui: u, time_bins: b, amp_bins: a, lo, hi };
        let y = [0.25f32, -0.25, 0.75, f32::NAN, 0.0];
        let want = reference::eye_histogram(&y, &g);
        let got = ctx.eye_histogram(&y, &g);
        prop_assert_eq!(got.is_ok(), want.is_ok(), "{:?}: gpu {:?}, reference {:?}", g, got.as_ref().err(), want.as_ref().err());
        if let (Ok(got), Ok(want)) = (got, want) {
            prop_assert_eq!(got, want);
        }
    }

    /// The fused FFE → slicer → comparison → count (any tap count, samples per symbol and
    /// reference tap; exact arithmetic, with thresholds on the outputs' grid so outputs fall
    /// exactly on them): the CPU's FFE, slicer and count, positions as in the plain count.
    #[test]
    fn fused_ffe_slice_count_is_the_cpus(
        pam4 in any::<bool>(),
        gray in any::<bool>(),
        taps in dyadic(64.0, 1..33),
        sps in 1usize..=3,
        c_seed in any::<usize>(),
        x in dyadic(16.0, 0..6000),
        thresholds in proptest::option::of(proptest::collection::vec((-96i32..=96).prop_map(|v| v as f32 / 64.0), 3)),
        exp_seed in proptest::collection::vec(any::<u8>(), 0..3000),
        cap in 0usize..64,
    ) {
        let Some(ctx) = ctx() else { return Ok(()) };
        let (m, mapping, s, exp) = link(pam4, gray, thresholds, &exp_seed);
        let ffe = Ffe::new(taps.clone(), sps, c_seed % taps.len()).unwrap();
        let y = ffe.equalize(&x);
        let n = y.len().min(exp.len());
        let dec = s.slice_vec(&y[..n]);
        let got = ctx.ffe_slice_count(&ffe, &x, &exp, &s, m, mapping, cap).unwrap();
        prop_assert_eq!(got.counts, count_errors(&dec, &exp[..n], m, mapping), "L={} sps={}", taps.len(), sps);
        check_positions(&got.positions, &cpu_positions(&dec, &exp[..n], m.max_symbol()), cap)?;
    }

    /// The FFE (any tap count, samples per symbol and reference tap) and the plain FIR, on
    /// exact arithmetic: the CPU's outputs, bit for bit, from an empty capture up.
    #[test]
    fn ffe_and_fir_are_the_cpus_bits(
        taps in dyadic(64.0, 1..41),
        sps in 1usize..=4,
        c_seed in any::<usize>(),
        x in dyadic(16.0, 0..3000),
    ) {
        let Some(ctx) = ctx() else { return Ok(()) };
        let ffe = Ffe::new(taps.clone(), sps, c_seed % taps.len()).unwrap();
        prop_assert_eq!(ctx.ffe_equalize(&ffe, &x).unwrap(), ffe.equalize(&x), "L={} sps={}", taps.len(), sps);
        let fir = Fir::new(&taps).unwrap();
        let want = if x.len() >= taps.len() { fir.process_valid_vec(&x) } else { Vec::new() };
        prop_assert_eq!(ctx.fir_valid(&x, &taps).unwrap(), want, "FIR L={}", taps.len());
    }

    /// The held-ends filter (the reference receiver's: inputs before the first sample and past
    /// the last hold the end values) for any taps and lead, on exact arithmetic: the exact sum
    /// `y[k] = Σ_j taps[j] · x[clamp(k + lead − j)]`, bit for bit, from an empty capture up.
    #[test]
    fn held_filter_is_the_exact_sum(
        taps in dyadic(64.0, 1..300),
        lead_seed in any::<usize>(),
        x in dyadic(16.0, 0..3000),
    ) {
        let Some(ctx) = ctx() else { return Ok(()) };
        let lead = lead_seed % taps.len();
        let last = x.len() as isize - 1;
        let want: Vec<f32> = (0..x.len() as isize)
            .map(|k| taps.iter().enumerate().map(|(j, &w)| w as f64 * x[(k + lead as isize - j as isize).clamp(0, last) as usize] as f64).sum::<f64>() as f32)
            .collect();
        prop_assert_eq!(ctx.fir_held(&x, &taps, lead).unwrap(), want, "L={} lead={}", taps.len(), lead);
    }

    /// Raw codes of either width, any count (not only whole words of four codes): `code ·
    /// gain + offset` within f32 rounding.
    #[test]
    fn codes_to_volts_is_the_scaled_code(
        wide in any::<bool>(),
        codes in proptest::collection::vec(any::<i16>(), 0..3000),
        gain in prop_oneof![1e-6f64..1.0, -1.0f64..-1e-6],
        offset in -1.0f64..1.0,
    ) {
        let Some(ctx) = ctx() else { return Ok(()) };
        let raw = if wide {
            RawCodes::I16 { codes: codes.clone(), gain, offset }
        } else {
            RawCodes::I8 { codes: codes.iter().map(|&c| c as i8).collect(), gain, offset }
        };
        let want: Vec<f64> = match &raw {
            RawCodes::I8 { codes, .. } => codes.iter().map(|&c| c as f64 * gain + offset).collect(),
            RawCodes::I16 { codes, .. } => codes.iter().map(|&c| c as f64 * gain + offset).collect(),
        };
        let got = ctx.codes_to_volts(&raw).unwrap();
        prop_assert_eq!(got.len(), want.len());
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            // gain and offset rounded to f32, one product and one sum: ≤ 2ε(|c·gain| + |offset|).
            let tol = 4.0 * f32::EPSILON as f64 * ((w - offset).abs() + offset.abs()) + 1e-30;
            prop_assert!((g as f64 - w).abs() <= tol, "code {}: {} -> {}, want {}", i, if wide { 16 } else { 8 }, g, w);
        }
    }

    /// Reed-Solomon syndromes of any batch of words (codewords or not), KP4 and KR4: the CPU's.
    #[test]
    fn rs_syndromes_are_the_cpus(
        kp4 in any::<bool>(),
        words in 0usize..6,
        symbols in proptest::collection::vec(0u16..1024, 6 * 544),
        clean in any::<bool>(),
    ) {
        let Some(ctx) = ctx() else { return Ok(()) };
        let code = if kp4 { RsCode::Kp4 } else { RsCode::Kr4 };
        let rs = ReedSolomon::new(code);
        let n = code.n();
        let mut batch = symbols[..words * n].to_vec();
        if clean && words > 0 {
            // The first word made a codeword: all-zero syndromes.
            let cw = rs.encode_vec(&batch[..code.k()]).unwrap();
            batch[..n].copy_from_slice(&cw);
        }
        let got = ctx.rs_syndromes(code, &batch).unwrap();
        let two_t = code.parity_len();
        prop_assert_eq!(got.len(), words * two_t);
        let mut s = vec![0u16; two_t];
        for w in 0..words {
            rs.syndromes(&batch[w * n..(w + 1) * n], &mut s).unwrap();
            prop_assert_eq!(&got[w * two_t..(w + 1) * two_t], &s[..], "{:?} word {}", code, w);
        }
        if clean && words > 0 {
            prop_assert!(got[..two_t].iter().all(|&v| v == 0));
        }
    }

    /// The block-parallel DFE for any taps, block (the kernel's contract: a positive multiple
    /// of 4; any other is a typed error) and warm-up: the CPU's block decisions.
    #[test]
    fn block_dfe_is_the_cpus(
        pam4 in any::<bool>(),
        taps in proptest::collection::vec(-0.3f32..0.3, 1..9),
        y in finite_samples(),
        quads in 1usize..400,
        warmup_seed in any::<usize>(),
        odd in 1usize..4,
    ) {
        let Some(ctx) = ctx() else { return Ok(()) };
        let m = if pam4 { Modulation::Pam4 } else { Modulation::Nrz };
        let (block, warmup) = (4 * quads, warmup_seed % (4 * quads + 1));
        let dfe = Dfe::new(taps.clone(), m.level_set(), m).unwrap();
        let want = detect_blocks(&y, block, warmup, |b| dfe.detect(b)).unwrap();
        let got = ctx.dfe_detect_blocks(&dfe, &y, block, warmup).unwrap();
        prop_assert_eq!(got, want, "{:?} {} taps, block {}, warmup {}", m, taps.len(), block, warmup);
        let odd_block = ctx.dfe_detect_blocks(&dfe, &y, block + odd, warmup);
        prop_assert!(matches!(odd_block, Err(Error::InvalidParameter { .. })), "block {}: {:?}", block + odd, odd_block.err());
    }

    /// The block-parallel MLSE (1 + αD and 1 + αD + βD² targets, any block, warm-up and
    /// traceback): the CPU's block decisions.
    #[test]
    fn block_mlse_is_the_cpus(
        pam4 in any::<bool>(),
        target in proptest::collection::vec(-0.6f32..0.6, 1..3),
        y in finite_samples(),
        quads in 1usize..400,
        warmup_seed in any::<usize>(),
        traceback in proptest::option::of((8usize..200, 4usize..40)),
    ) {
        let Some(ctx) = ctx() else { return Ok(()) };
        let m = if pam4 { Modulation::Pam4 } else { Modulation::Nrz };
        let h: Vec<f32> = std::iter::once(1.0).chain(target.iter().copied()).collect();
        let mut mlse = Mlse::new(m, &h, &m.level_set()).unwrap();
        if let Some((tb, depth)) = traceback {
            mlse = mlse.with_traceback(tb.max(depth), depth).unwrap();
        }
        let (block, warmup) = (4 * quads, warmup_seed % (4 * quads + 1));
        let want = detect_blocks(&y, block, warmup, |b| mlse.detect(b)).unwrap();
        let got = ctx.mlse_detect_blocks(&mlse, &y, block, warmup).unwrap();
        prop_assert_eq!(got, want, "{:?} h {:?}, block {}, warmup {}, traceback {:?}", m, h, block, warmup, traceback);
    }

    /// The fixed-clock Keys cubic resampler for any grid (samples per UI, phase, outputs per
    /// UI) and capture length, whole and streamed in 4 KiB chunks: within the resampler's
    /// documented tolerance of the CPU's, output for output (a grid one rejects, the other too).
    #[test]
    fn fixed_clock_resampling_is_the_cpus(
        spu in 0.5f64..40.0,
        phase_ui in prop_oneof![4 => 0.0f64..3.0, 1 => Just(-0.5f64), 1 => Just(f64::NAN)],
        sps in prop_oneof![4 => 1usize..=64, 1 => Just(0usize)],
        x in finite_samples(),
    ) {
        use lightlane_core::timing::{resample, ResampleGrid};
        let grid = ResampleGrid { samples_per_ui: spu, phase_ui, sps_out: sps };
        let cpu = resample(&x, &grid);
        for c in [ctx(), chunked()] {
            let Some(c) = c else { return Ok(()) };
            let gpu = c.resample(&x, &grid);
            prop_assert_eq!(gpu.is_ok(), cpu.is_ok(), "{:?}: gpu {:?}, cpu {:?}", grid, gpu.as_ref().err(), cpu.as_ref().err());
            if let (Ok(gpu), Ok(cpu)) = (gpu, &cpu) {
                let step = spu / sps as f64;
                let span = lightlane_gpu::RESAMPLE_ANCHOR_SPAN;
                common::assert_resample_close(&gpu, cpu, &x, |m| phase_ui * spu + m as f64 * step, |m| (m % span) as f64 * step, &format!("{grid:?}"));
            }
        }
    }

    /// Resampling at recovered symbol positions (a wandering clock that may start before the
    /// capture and run past its end) for any outputs per symbol: within tolerance of the CPU's.
    #[test]
    fn resampling_at_positions_is_the_cpus(
        start in -10.0f64..20.0,
        ui in 1.5f64..12.0,
        wander in proptest::collection::vec(-0.3f64..0.3, 0..900),
        sps in 0usize..=8,
        x in finite_samples(),
    ) {
        use lightlane_core::timing::resample_at;
        let mut p = start;
        let positions: Vec<f64> = wander.iter().map(|w| { let v = p; p += ui * (1.0 + w); v }).collect();
        let cpu = resample_at(&x, &positions, sps);
        for c in [ctx(), chunked()] {
            let Some(c) = c else { return Ok(()) };
            let gpu = c.resample_at(&x, &positions, sps).unwrap();
            if x.is_empty() || positions.is_empty() || sps == 0 {
                prop_assert!(gpu.is_empty() && cpu.is_empty());
                continue;
            }
            let np = positions.len();
            let step = |k: usize| if np == 1 { 0.0 } else if k + 1 < np { positions[k + 1] - positions[k] } else { positions[k] - positions[k - 1] } / sps as f64;
            common::assert_resample_close(&gpu, &cpu, &x, |m| positions[m / sps] + (m % sps) as f64 * step(m / sps), |m| (m % sps) as f64 * step(m / sps).abs(), &format!("sps {sps}, {np} positions"));
        }
    }

    /// TDECQ's weighted histograms (one to three windows of any rows and column offsets, any
    /// column count and bin layout) on exact arithmetic: each window's oracle counts, bit for
    /// bit, from the per-column-count kernels and the looping one, for two sets of weights on
    /// one plan.
    #[test]
    fn tdecq_weighted_histograms_are_the_oracles(
        cols in 1usize..=12,
        windows in proptest::collection::vec((1usize..1500, proptest::collection::vec(0usize..=40, 12), dyadic(16.0, 1540..1541)), 1..=3),
        weights in proptest::collection::vec(dyadic(64.0, 12..13), 2),
        lo in (0i32..=128).prop_map(|k| -(k as f64) / 16.0),
        step in (3i32..=7).prop_map(|e| 2f64.powi(-e)),
        bins_seed in 1usize..=4096,
    ) {
        use lightlane_core::eye::{TdecqBins, TdecqWindow};
        use lightlane_gpu::weighted_histogram_reference as oracle;
        let bins = TdecqBins { lo, step, bins: bins_seed.min(4096 / windows.len()) };
        let wins: Vec<TdecqWindow<'_>> = windows.iter().map(|(rows, offsets, data)| TdecqWindow { data, offsets: &offsets[..cols], rows: *rows }).collect();
        for c in [ctx(), looped()] {
            let Some(c) = c else { return Ok(()) };
            let plan = c.weighted_histograms(&wins, &bins).unwrap();
            for w in &weights {
                let w = &w[..cols];
                let want: Vec<u32> = wins.iter().flat_map(|win| oracle(win.data, win.offsets, win.rows, w, lo, step, bins.bins).unwrap()).collect();
                prop_assert_eq!(plan.counts(w).unwrap(), want, "{} columns, {:?}, weights {:?}", cols, bins, w);
            }
        }
    }

    /// The passes over resampled points kept on the device (the eye's reads: scan, threshold
    /// crossings, row windows, gathers, the eye histogram) on any slice of them, a NaN among
    /// them or not: the core's references over the host copy of the same points.
    #[test]
    fn kept_point_passes_are_the_references(
        s in 1usize..=40,
        start in -5.0f64..10.0,
        wander in proptest::collection::vec(-0.3f64..0.3, 1..200),
        on_samples in any::<bool>(),
        x in finite_samples(),
        nan_at in proptest::option::of(any::<proptest::sample::Index>()),
        cut in (any::<proptest::sample::Index>(), any::<proptest::sample::Index>()),
        thresholds in proptest::collection::vec(prop_oneof![-1.5f32..1.5, proptest::sample::select(slicer_marks())], 1..=3),
        (first, stride, rows) in (-3isize..10, 1usize..=4, 0usize..200),
        offsets in proptest::collection::vec(-40isize..80, 1..=6),
        picks in proptest::collection::vec(any::<proptest::sample::Index>(), 0..50),
    ) {
        use lightlane_core::accel::{kept_crossings_reference, kept_scan_reference, kept_window_reference, Accelerator};
        let Some(ctx) = ctx() else { return Ok(()) };
        prop_assume!(x.len() >= 2);
        let engine = lightlane_gpu::GpuAccelerator { ctx, fallback: false };
        // A wandering clock, or one on whole samples (points equal to samples, so some sit
        // exactly on a threshold).
        let mut p = if on_samples { start.round() } else { start };
        let positions: Vec<f64> = wander.iter().map(|w| { let v = p; p += if on_samples { 5.0 } else { 4.8 * (1.0 + w) }; v }).collect();
        let mut x = x;
        if let Some(i) = nan_at {
            let i = i.index(x.len());
            x[i] = f32::NAN;
        }
        let (y, kept) = engine.resample_kept(&x, &positions, s).unwrap();
        let kept = kept.expect("a short clock: one dispatch, the points kept");
        prop_assert_eq!(kept.len(), y.len());
        let (a, b) = (cut.0.index(y.len() + 1), cut.1.index(y.len() + 1));
        let range = a.min(b)..a.max(b);
        let v = &y[range.clone()];

        let (got, want) = (kept.scan(range.clone()).unwrap(), kept_scan_reference(v));
        prop_assert_eq!((got.first_non_finite, got.min, got.max, got.at_min, got.at_max), (want.first_non_finite, want.min, want.max, want.at_min, want.at_max), "scan of {:?}", range);
        let abs: f64 = v.iter().filter(|x| x.is_finite()).map(|&x| (x as f64).abs()).sum();
        prop_assert!((got.sum - want.sum).abs() <= v.len() as f64 * f32::EPSILON as f64 * abs + 1e-30, "sum {} vs {}", got.sum, want.sum);

        let mut crossings = kept.crossings(range.clone(), &thresholds).unwrap();
        crossings.iter_mut().for_each(|c| c.sort_by_key(|c| c.k));
        let want = kept_crossings_reference(v, &thresholds);
        // Bitwise: a NaN pair compares unequal to itself under PartialEq.
        let bits = |c: &[Vec<lightlane_core::accel::KeptCrossing>]| -> Vec<Vec<(usize, u32, u32)>> { c.iter().map(|t| t.iter().map(|c| (c.k, c.x0.to_bits(), c.x1.to_bits())).collect()).collect() };
        prop_assert_eq!(bits(&crossings), bits(&want), "crossings of {:?} at {:?}", range, thresholds);

        let bits = |w: Vec<f32>| -> Vec<u32> { w.into_iter().map(f32::to_bits).collect() };
        let got = kept.window(range.clone(), s, first, stride, rows, &offsets).unwrap();
        let want = kept_window_reference(v, s, first, stride, rows, &offsets);
        prop_assert_eq!(bits(got), bits(want), "window of {:?}", range);

        let indices: Vec<usize> = if v.is_empty() { Vec::new() } else { picks.iter().map(|i| i.index(v.len())).collect() };
        let got = kept.gather(range.clone(), &indices).unwrap();
        prop_assert_eq!(bits(got), bits(indices.iter().map(|&i| v[i]).collect()), "gather from {:?}", range);

        let g = EyeGeometry { samples_per_ui: s, span_ui: 1, time_bins: s, amp_bins: 64, lo: -1.5, hi: 1.5 };
        let core_g = lightlane_core::eye::EyeGeometry { samples_per_ui: s, span_ui: 1, time_bins: s, amp_bins: 64, lo: -1.5, hi: 1.5 };
        prop_assert_eq!(kept.eye_histogram(&core_g, range.clone()).unwrap(), reference::eye_histogram(v, &g).unwrap(), "eye of {:?}", range);
    }
}

/// Equalizer outputs: finite (the pipeline rejects a non-finite capture before any detector),
/// with values on the slicers' thresholds and levels among them.
fn finite_samples() -> impl Strategy<Value = Vec<f32>> {
    samples(1.6, slicer_marks(), 0..4000).prop_map(|y| y.into_iter().map(|v| if v.is_finite() && v.abs() < 8.0 { v } else { 0.5 }).collect())
}
