use super::{AnalysisConfig, Report, StageErrors};
use crate::eq::Ffe;
use crate::fec::codeword_statistics;
use crate::modulation::{bit_errors_between, decode_precoded, precode, BitMapping, Slicer};
use crate::pattern::soft::MAX_SOFT_PERIOD;
use crate::pattern::{align_soft, Pattern, PatternChecker, SymbolTransform};
use crate::timing::{cluster_levels, recover_phase, resample, ResampleGrid};
use crate::{Backend, Error, Modulation, Result, Waveform};

/// Analyses one capture: sampling phase at the configured baud, MMSE FFE trained against the
/// known pattern, decisions, BER/SER with confidence interval, and FEC codeword statistics.
///
/// `backend` selects the compute engine; every stage here runs on the CPU engine (SIMD FIR,
/// vectorized error counting), which `Backend::Auto` resolves to.
///
/// ```
/// use lightlane_core::analysis::{analyze, AnalysisConfig};
/// use lightlane_core::{pattern::Pattern, sim::LinkModel, Backend, Modulation};
///
/// let model = LinkModel::new(Modulation::Pam4, 26.5625e9, 4.0 * 26.5625e9).unwrap();
/// let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
/// let capture = model.run(&symbols).unwrap();
/// let report = analyze(&capture.waveform, &AnalysisConfig::pam4(26.5625e9), Backend::Auto).unwrap();
/// assert_eq!(report.bit_errors, 0);
/// ```
pub fn analyze(waveform: &Waveform, config: &AnalysisConfig, backend: Backend) -> Result<Report> {
    let _engine = backend; // Only the CPU engine exists; Auto resolves to it.
    config.validate()?;
    waveform.validate()?;
    let m = config.modulation;
    let fs = waveform.fs();
    let spu = fs / config.baud;
    if spu < 2.0 - 1e-9 {
        return Err(Error::invalid(
            "baud",
            config.baud,
            format!(
                "above fs/2 = {:.6e} (the capture has {:.3} samples per UI; at least 2 are needed)",
                fs / 2.0,
                spu
            ),
        ));
    }
    let pattern = Pattern::parse(&config.pattern)?;
    let checker = PatternChecker::new(&pattern, m, config.sync.clone())?;
    let mut warnings = Vec::new();

    // Timing: best sampling phase, then resample to the FFE's samples per symbol.
    let phase = recover_phase(&waveform.samples, spu, m, &config.phase)?;
    let sps = config.ffe.samples_per_symbol.max(1);
    let x = resample(
        &waveform.samples,
        &ResampleGrid {
            samples_per_ui: spu,
            phase_ui: phase.phase_ui,
            sps_out: sps,
        },
    )?;
    let nsym = x.len() / sps;
    let centres: Vec<f32> = x.iter().step_by(sps).take(nsym).copied().collect();

    // Levels of the unequalized signal; normalise so the outer levels sit at ±1.
    let clusters = cluster_levels(&centres, m.levels())?;
    let (lo, hi) = (clusters.means[0], clusters.means[m.levels() - 1]);
    let spread = hi - lo;
    if spread.is_nan() || spread <= 1e-12 * (1.0 + hi.abs() + lo.abs()) {
        return Err(Error::Unusable {
            stage: "levels",
            reason: "the capture has a single level (no modulation)".into(),
        });
    }
    let scale = 2.0 / (hi - lo);
    let offset = -(hi + lo) / (hi - lo);
    let xn: Vec<f32> = x.iter().map(|&v| (v as f64 * scale + offset) as f32).collect();
    let centres_n: Vec<f32> = xn.iter().step_by(sps).take(nsym).copied().collect();
    let norm_means: Vec<f32> = clusters.means.iter().map(|&v| (v * scale + offset) as f32).collect();
    let pre_slicer = Slicer::for_levels(&norm_means).map_err(|_| Error::Unusable {
        stage: "levels",
        reason: format!("levels {:?} do not separate into {} distinct amplitudes", clusters.means, m.levels()),
    })?;
    let pre_raw = pre_slicer.slice_vec(&centres_n);
    let mut pre_data = pre_raw.clone();
    if config.precoding {
        decode_precoded(&mut pre_data, m, 0);
    }

    // Align the (possibly error-ridden) raw decisions to the pattern.
    let alignment = match checker.align(&pre_data) {
        Ok(a) => a,
        // A closed raw eye: fall back to correlating the soft samples with the pattern.
        Err(hard) if !config.precoding && checker.period() <= MAX_SOFT_PERIOD => {
            align_soft(&checker, &pattern, &centres_n).map_err(|_| hard)?.alignment
        }
        Err(e) => return Err(e),
    };
    let expected = checker.expected(&alignment, 0..nsym);
    let pre_stage = stage_errors("pre_eq", &pre_data, &expected, m, &alignment.transform);

    // FFE: train by MMSE towards the levels actually transmitted.
    let tx_symbols = if config.precoding {
        best_precoded(&expected, &pre_raw, m)
    } else {
        expected.clone()
    };
    let target: Vec<f32> = tx_symbols.iter().map(|&s| m.level(s)).collect();
    let ntrain = config.training_symbols.min(nsym);
    let training = Ffe::train_mmse(&xn[..ntrain * sps], &target[..ntrain], &config.ffe)?;
    let y = training.ffe.equalize(&xn);

    // Decide, dropping the edges the FFE sees only partly.
    let guard = (config.ffe.n_taps / sps + training.delay.unsigned_abs() + 2).min(nsym / 4).max(1);
    let slicer = unbiased_slicer(&y, &tx_symbols, training.delay, guard, ntrain, m)?;
    let mut decisions = slicer.slice_vec(&y[guard - 1..nsym - guard]);
    if config.precoding {
        // The symbol before the span is the precoder state the first decision builds on.
        decode_precoded(&mut decisions, m, 0);
    }
    decisions.remove(0);
    let errors = checker.check(&decisions)?;
    if errors.symbols < 10_000 {
        warnings.push(format!(
            "only {} symbols compared: the BER confidence interval is wide",
            errors.symbols
        ));
    }
    let fec = match &config.fec {
        Some(c) => Some(codeword_statistics(errors.error_bit_indices(), errors.bits, c)?),
        None => None,
    };
    let ffe_stage = StageErrors {
        stage: "ffe".into(),
        symbols: errors.symbols,
        symbol_errors: errors.symbol_errors,
        ser: errors.ser,
        bit_errors: errors.bit_errors,
        ber: errors.ber,
    };

    Ok(Report {
        file: waveform.meta.source.clone().unwrap_or_else(|| "array".into()),
        modulation: m,
        baud: config.baud,
        fs,
        samples_per_ui: spu,
        sampling_phase_ui: phase.phase_ui,
        pattern: pattern.name().to_string(),
        transform: errors.transform,
        bits: errors.bits,
        bit_errors: errors.bit_errors,
        ber: errors.ber,
        ber_ci95: errors.ber_ci95,
        symbols: errors.symbols,
        symbol_errors: errors.symbol_errors,
        ser: errors.ser,
        resyncs: errors.resyncs,
        ffe_taps: training.ffe.taps().to_vec(),
        ffe_reference_tap: training.ffe.reference_tap(),
        ffe_samples_per_symbol: sps,
        ffe_mse_db: 10.0 * training.mse.max(1e-30).log10(),
        levels: clusters.means.clone(),
        stages: vec![pre_stage, ffe_stage],
        fec,
        warnings,
        decisions,
    })
}

/// Counts symbol and bit errors of `decided` against `expected` (same indexing).
fn stage_errors(stage: &str, decided: &[u8], expected: &[u8], m: Modulation, t: &SymbolTransform) -> StageErrors {
    let mapping = if t.binary_mapping { BitMapping::Binary } else { BitMapping::Gray };
    let mut symbol_errors = 0u64;
    let mut bit_errors = 0u64;
    for (&d, &e) in decided.iter().zip(expected) {
        if d != e {
            symbol_errors += 1;
            bit_errors += bit_errors_between(d, e, m, mapping) as u64;
        }
    }
    let symbols = decided.len().min(expected.len()) as u64;
    let bits = symbols * m.bits_per_symbol() as u64;
    StageErrors {
        stage: stage.into(),
        symbols,
        symbol_errors,
        ser: symbol_errors as f64 / symbols.max(1) as f64,
        bit_errors,
        ber: bit_errors as f64 / bits.max(1) as f64,
    }
}

/// The precoded transmit symbols for the expected data, choosing the precoder's unknown initial
/// state as the one that best matches the raw decisions.
fn best_precoded(expected: &[u8], raw: &[u8], m: Modulation) -> Vec<u8> {
    let probe = expected.len().min(4096);
    let mut best = (u64::MAX, Vec::new());
    for init in 0..m.levels() as u8 {
        let mut p = expected.to_vec();
        precode(&mut p, m, init);
        let mism = p[..probe].iter().zip(&raw[..probe]).filter(|(a, b)| a != b).count() as u64;
        if mism < best.0 {
            best = (mism, p);
        }
    }
    best.1
}

/// Slicer with thresholds halfway between the mean FFE output of each transmitted symbol.
///
/// The MMSE solution shrinks the output towards zero by about 1/(1 + 1/SNR); fixed thresholds
/// at the ideal levels would then be biased. Measuring the conditional means on the training
/// span removes that bias (the usual "unbiased MMSE" receiver).
fn unbiased_slicer(y: &[f32], tx: &[u8], delay: isize, guard: usize, ntrain: usize, m: Modulation) -> Result<Slicer> {
    let mut sums = vec![0f64; m.levels()];
    let mut counts = vec![0u64; m.levels()];
    let end = ntrain.min(y.len()).saturating_sub(guard);
    for (k, &yk) in y.iter().enumerate().take(end).skip(guard) {
        let j = k as isize + delay;
        if j < 0 || j as usize >= tx.len() {
            continue;
        }
        let s = tx[j as usize] as usize;
        sums[s] += yk as f64;
        counts[s] += 1;
    }
    let ideal = m.level_set();
    let means: Vec<f32> = (0..m.levels())
        .map(|s| if counts[s] > 0 { (sums[s] / counts[s] as f64) as f32 } else { ideal[s] })
        .collect();
    Slicer::for_levels(&means).or_else(|_| Slicer::for_levels(&ideal))
}
