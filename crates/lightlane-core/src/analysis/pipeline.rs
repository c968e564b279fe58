use super::{AnalysisConfig, ClockRecovery, EqStage, FfeMethod, Report, StageErrors};
use crate::eq::{
    adapt_ffe, adapt_ffe_dfe, bessel_thomson_filter, ctle_auto_select, error_propagation, level_separation_score, train_ffe_and_target,
    Adaptation, AdaptiveConfig, Ctle, CtleConfig, Dfe, Ffe, FfeConfig, LinearIsiModel, Mlse,
};
use crate::fec::codeword_statistics;
use crate::modulation::{decode_precoded, precode, BitMapping, Slicer};
use crate::pattern::count::count_errors;
use crate::pattern::soft::MAX_SOFT_PERIOD;
use crate::pattern::{align_soft, Pattern, PatternChecker, SymbolTransform};
use crate::timing::{cluster_levels, estimate_baud, recover_clock, recover_phase, resample, ResampleGrid};
use crate::{Backend, Error, Modulation, Result, Waveform};

/// Analyses one capture: sampling phase at the configured baud, MMSE FFE trained against the
/// known pattern, decisions, BER/SER with confidence interval, and FEC codeword statistics.
///
/// `backend` selects the compute engine. Core alone has only the CPU engine (SIMD FIR,
/// vectorized error counting), which `Cpu` and `Auto` run on; `Gpu` is an error here. The GPU
/// engine comes in through [`analyze_with`] (`lightlane::analyze` does that).
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
    analyze_using(waveform, config, backend, &AnalysisHooks::default())
}

/// [`analyze`] with an accelerator engine for the stages it implements ([`crate::accel`]):
/// [`analyze_using`] with only [`AnalysisHooks::accel`] set. Core alone has no GPU engine:
/// `Backend::Gpu` without `accel` is an error (use `lightlane::analyze`, which supplies the GPU
/// engine).
pub fn analyze_with(
    waveform: &Waveform,
    config: &AnalysisConfig,
    backend: Backend,
    accel: Option<&dyn crate::accel::Accelerator>,
) -> Result<Report> {
    analyze_using(waveform, config, backend, &AnalysisHooks { accel, ..AnalysisHooks::default() })
}

/// Called by [`analyze_using`] as each stage of the pipeline ends, with the stage's name:
/// "front end" (BT4 / CTLE), "clock recovery" (with the resampling onto the clock), "levels and
/// alignment", "equalization and decisions", "FEC", then, with the eye on, "eye resampling",
/// "eye histogram", "eye metrics", "TDECQ" (PAM4), "eye pictures", "TDECQ corners", "jitter".
/// A profiler reads its clocks at each mark (the per-stage bench of `lightlane-gpu` does).
/// The eye's first step (the raw capture's points on the recovered clock, the reference
/// receiver's filter) runs beside the levels and alignment, the eye stages beside
/// equalization, decisions and FEC (they need only the clock and the transmitted symbols) and,
/// on an accelerator, the TDECQ dispersion corners beside the eye, so their marks interleave unless
/// [`AnalysisHooks::serial`] is set. The jitter decomposition runs beside the eye stages, so
/// "jitter" times only the part of it that outlasted them (with `serial` after them, all of
/// it); likewise the reference receiver's eye signal is resampled, and TDECQ run on it, beside
/// the raw eye's histogram and metrics (with `serial` after them: "eye resampling" times the
/// raw signal's, "TDECQ" the reference receiver's signal and TDECQ on it).
pub type StageMark<'a> = dyn Fn(&'static str) + Sync + 'a;

/// The optional hooks of [`analyze_using`]; the default (all `None`) is [`analyze`]: the CPU
/// engine, no stage marks. None of them changes the report.
#[derive(Clone, Copy, Default)]
pub struct AnalysisHooks<'a> {
    /// Accelerator engine for the stages it implements ([`crate::accel`]); required by
    /// `Backend::Gpu`.
    pub accel: Option<&'a dyn crate::accel::Accelerator>,
    /// Called at the end of each stage ([`StageMark`]).
    pub mark: Option<&'a StageMark<'a>>,
    /// Run the stages one after another (the eye's first step after the levels and alignment,
    /// equalization, decisions and FEC before the eye, TDECQ's signal and TDECQ after the
    /// eye's metrics, the TDECQ dispersion corners (as the CPU engine always runs them) and
    /// the jitter after the eye) instead of beside each other, so that each mark times its
    /// stage alone on any number of threads (a per-stage profile); the report is the same.
    pub serial: bool,
}

impl std::fmt::Debug for AnalysisHooks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisHooks").field("accel", &self.accel.is_some()).field("mark", &self.mark.is_some()).field("serial", &self.serial).finish()
    }
}

/// [`analyze`] with the accelerator engine and stage marks of `hooks` ([`AnalysisHooks`]).
pub fn analyze_using(waveform: &Waveform, config: &AnalysisConfig, backend: Backend, hooks: &AnalysisHooks<'_>) -> Result<Report> {
    let accel = hooks.accel;
    let mark = |stage: &'static str| {
        if let Some(m) = hooks.mark {
            m(stage)
        }
    };
    let mark: &StageMark<'_> = &mark;
    if backend == Backend::Gpu && accel.is_none() {
        return Err(Error::Unusable {
            stage: "gpu",
            reason: "no GPU engine in this call (lightlane_core alone is CPU-only; use lightlane::analyze)".into(),
        });
    }
    config.validate()?;
    waveform.validate()?;
    let m = config.modulation;
    let fs = waveform.fs();
    let pattern = Pattern::parse(&config.pattern)?;
    let checker = PatternChecker::new(&pattern, m, config.sync.clone())?;
    let mut warnings = Vec::new();

    // Symbol rate: given, or estimated from the spectral line of the capture.
    let (nominal_baud, baud_estimated) = match config.baud {
        Some(b) => (b, false),
        None => (estimate_baud(&waveform.samples, fs, None, m)?.baud, true),
    };
    let spu = samples_per_ui(fs, nominal_baud)?;

    // Analog stages of the receiver chain act on the waveform itself.
    let mut samples = std::borrow::Cow::Borrowed(waveform.samples.as_slice());
    let mut ctle_gdc_db = None;
    for stage in &config.equalizer.stages {
        match stage {
            EqStage::Bt4 { f3db_baud } => {
                samples = bessel_thomson_filter(&samples, fs, f3db_baud * nominal_baud, 4)?.into();
            }
            EqStage::Ctle { gdc_db } => {
                let cfg = ctle_config(*gdc_db, &samples, fs, nominal_baud, m)?;
                ctle_gdc_db = Some(cfg.gdc_db);
                samples = Ctle::new(cfg, fs)?.apply(&samples).into();
            }
            _ => {}
        }
    }

    mark("front end");
    // Timing: recover the clock (or the phase of an ideal one), resample to the FFE's spacing.
    let (ffe_taps, sps, ffe_method) = config.equalizer.ffe().unwrap_or((1, 1, FfeMethod::Mmse));
    let ffe_cfg = FfeConfig {
        n_taps: ffe_taps,
        samples_per_symbol: sps,
        ..config.ffe.clone()
    };
    // The recovered clock: its symbol centres (fractional capture indices) and first settled
    // one place the eye, its edges give the jitter decomposition of the eye report.
    let mut recovered: Option<crate::timing::RecoveredClock> = None;
    // An ideal clock at the nominal rate, on the phase the capture's levels give.
    let ideal_clock = || -> Result<_> {
        let phase = recover_phase(&samples, spu, m, &config.phase)?;
        let grid = ResampleGrid {
            samples_per_ui: spu,
            phase_ui: phase.phase_ui,
            sps_out: sps,
        };
        Ok((resample(&samples, &grid)?, nominal_baud, None, None, phase.phase_ui))
    };
    let (x, baud, ppm_offset, tie_rms_s, phase_ui) = match &config.clock {
        ClockRecovery::Fixed => ideal_clock()?,
        ClockRecovery::Cdr(cdr) => match recover_clock(&samples, fs, nominal_baud, m, cdr) {
            Ok(rc) => {
                let first = rc.symbol_positions.first().copied().unwrap_or(0.0);
                // On the accelerator when there is one (bit-identical to `rc.resample` on the CPU).
                let rs_warnings = std::sync::Mutex::new(Vec::new());
                let x = crate::accel::resample_at(accel, &samples, &rc.symbol_positions, sps, &rs_warnings)?;
                warnings.extend(rs_warnings.into_inner().unwrap_or_default());
                let timing = (rc.baud, Some(rc.ppm_offset), Some(rc.tie_rms_s), (first / spu).fract());
                recovered = Some(rc);
                (x, timing.0, timing.1, timing.2, timing.3)
            }
            // The raw edges of a closed eye (heavy ISI) can defeat an edge-based CDR; with a
            // known rate an ideal clock is the next best thing, and the report says so.
            Err(Error::Unusable { reason, .. }) if config.baud.is_some() => {
                warnings.push(format!("clock recovery failed ({reason}); used an ideal clock at the given baud"));
                ideal_clock()?
            }
            Err(e) => return Err(e),
        },
    };
    mark("clock recovery");
    // Levels of the unequalized signal, normalised so the outer levels sit at ±1; the raw
    // decisions aligned to the pattern. Beside them (unless `serial`) the eye's first step,
    // which needs only the recovered clock: the raw capture's points on it and the reference
    // receiver's filter (`eye_start`).
    let eye_warnings = std::sync::Mutex::new(Vec::new());
    let levels_and_alignment = || raw_decisions(&x, sps, config, &checker, &pattern);
    let (raw, eye_started) = match (&config.eye, &recovered) {
        (Some(ec), Some(rc)) if !hooks.serial => {
            let start = || {
                let span = eye_span(&rc.symbol_positions, rc.settled_from, rc.symbol_positions.len(), baud, waveform);
                eye_start(accel, &eye_warnings, waveform, &rc.symbol_positions, span, ec.eye.samples_per_ui, reference_f3db(ec, m, baud, fs))
            };
            let (raw, started) = rayon::join(levels_and_alignment, start);
            (raw, Some(started))
        }
        _ => (levels_and_alignment(), None),
    };
    let RawDecisions { nsym, levels, xn, pre_raw, pre_data, alignment, expected, .. } = raw?;
    let pre_stage = stage_errors("pre_eq", &pre_data, &expected, m, &alignment.transform);
    mark("levels and alignment");

    // FFE towards the levels actually transmitted (or towards the MLSE target).
    let tx_symbols = if config.precoding { best_precoded(&expected, &pre_raw, m) } else { expected };
    // Equalization, decisions and FEC; beside them the eye (and beside the eye the jitter
    // decomposition), which needs only the clock and the transmitted symbols: with an
    // accelerator, one side's kernels and transfers overlap the other's host work.
    let equalize = || -> Result<Equalized> {
        let mut w = Vec::new();
        let target: Vec<f32> = {
            use rayon::prelude::*;
            tx_symbols.par_iter().with_min_len(SYMBOL_BLOCK).map(|&s| m.level(s)).collect()
        };
        let ntrain = config.training_symbols.min(nsym);
        let decision_stage = config.equalizer.stages.iter().find(|s| matches!(s, EqStage::Dfe { .. } | EqStage::Mlse { .. }));
        let trained = train_ffe_for_chain(&xn, sps, &target, ntrain, decision_stage, ffe_method, &ffe_cfg, m)?;
        // The FFE output stays on the accelerator when there is one: only the training prefix,
        // the error counts and the decisions come back.
        let mut eq_signal = crate::accel::EqualizedSignal::new(accel, &trained.ffe, &xn, &mut w)?;
        let y = eq_signal.read(0..ntrain.min(eq_signal.len()), &mut w)?;
        let known = known_symbols(&tx_symbols, trained.delay);
        let guard = ffe_guard(ffe_taps, sps, trained.delay, nsym);
        let slicer = unbiased_slicer(&y, &tx_symbols, trained.delay, guard, ntrain, m)?;
        let train_end = ntrain.min(nsym - guard);
        let detectors = chain_detectors(&y[guard..train_end], &known[guard..train_end], &trained, decision_stage, m)?;
        let span = guard..nsym - guard;

        // The `ffe` stage (see `ChainDetectors`), then the decision stage: slicer, DFE or MLSE, on
        // all cores for long captures.
        let mut dfe_taps = None;
        let mut dfe_error_propagation = None;
        let mut mlse_target = None;
        let (ffe_counts, stage_name, decisions_full) = match detectors {
            ChainDetectors::Slicer => {
                let (counts, d) = eq_signal.slice_and_count(guard, &known[span.clone()], &slicer, m, BitMapping::Gray, &mut w)?;
                (counts, "slicer", d)
            }
            ChainDetectors::Dfe(dfe) => {
                let d = eq_signal.dfe_detect(&dfe, &mut w)?;
                let counts = count_errors_in_blocks(&d[span.clone()], &known[span.clone()], m, BitMapping::Gray, SYMBOL_BLOCK);
                dfe_error_propagation = Some(error_propagation(&d[span.clone()], &known[span.clone()]));
                dfe_taps = Some(dfe.taps().to_vec());
                (counts, "dfe", d)
            }
            ChainDetectors::Mlse { ffe_stage, mlse, target } => {
                let d = eq_signal.dfe_detect(&ffe_stage, &mut w)?;
                let counts = count_errors_in_blocks(&d[span.clone()], &known[span.clone()], m, BitMapping::Gray, SYMBOL_BLOCK);
                mlse_target = Some(target);
                (counts, "mlse", eq_signal.mlse_detect(&mlse, &mut w)?)
            }
        };
        let ffe_stage = stage_from_counts("ffe", span.len() as u64, ffe_counts, m);
        // Decide, dropping the edges the FFE sees only partly; the symbol before the span is the
        // precoder state the first decision builds on.
        let decisions = span_decisions(&decisions_full, span.clone(), config.precoding.then_some(m));
        let errors = checker.check(&decisions)?;
        if errors.symbols < 10_000 {
            w.push(format!(
                "only {} symbols compared: the BER confidence interval is wide",
                errors.symbols
            ));
        }
        mark("equalization and decisions");
        let fec = match &config.fec {
            // Error positions index the whole decided stream; after a slip the compared bits are
            // fewer than the decided ones, so the codeword grid spans the decided stream.
            Some(c) => Some(codeword_statistics(
                errors.error_bit_indices(),
                errors.bits.max(decisions.len() as u64 * m.bits_per_symbol() as u64),
                c,
            )?),
            None => None,
        };
        mark("FEC");
        let mut stages = vec![pre_stage, ffe_stage];
        if stage_name != "slicer" {
            stages.push(StageErrors {
                stage: stage_name.into(),
                symbols: errors.symbols,
                symbol_errors: errors.symbol_errors,
                ser: errors.ser,
                bit_errors: errors.bit_errors,
                ber: errors.ber,
            });
        }
        // The FFE output (on the accelerator or the host) is done with.
        drop(eq_signal);
        Ok(Equalized { trained, stages, fec, errors, decisions, dfe_taps, dfe_error_propagation, mlse_target, warnings: w })
    };
    // The eye report (with the jitter decomposition) and its warnings; `Err` only for an
    // accelerator failure that may not fall back (`Backend::Gpu`).
    let eye_and_jitter = || -> Result<(Option<crate::eye::EyeReport>, Vec<String>)> {
        let Some(ec) = &config.eye else {
            return Ok((None, Vec::new()));
        };
        let ideal: Vec<f64>;
        let (positions, settled): (&[f64], usize) = match &recovered {
            Some(rc) => (&rc.symbol_positions, rc.settled_from),
            None => {
                ideal = (0..nsym).map(|k| (phase_ui + k as f64) * spu).collect();
                (&ideal, 0)
            }
        };
        let tdecq_engine = accel.map(|a| crate::accel::AccelTdecq::new(a, &eye_warnings));
        let eye = EyeStage {
            accel,
            warnings: &eye_warnings,
            tdecq: tdecq_engine.as_ref().map(|e| e as &dyn crate::eye::TdecqEngine),
            mark,
            serial: hooks.serial,
        };
        // Jitter decomposition (RJ/DJ dual-Dirac, TJ at 1e-12) of the data edges against the
        // recovered clock (the transmitted symbols classify the edges), beside the eye: the two
        // are independent, and while an accelerator runs the eye's kernels the cores are free.
        // Its stage mark then times only what the eye did not hide (all of it after the eye
        // with `serial`).
        let (result, jitter) = crate::par::join_if(
            !hooks.serial,
            || eye_stage(&eye, eye_started, waveform, positions, settled, &tx_symbols, baud, m, tie_rms_s, ec),
            || recovered.as_ref().map(|rc| crate::jitter::analyze_jitter(rc, &tx_symbols, m, &crate::jitter::JitterConfig::default())),
        );
        let mut w = eye_warnings.into_inner().unwrap_or_default();
        let report = match result {
            Ok(mut r) => {
                if let Some(jitter) = jitter {
                    match jitter {
                        Ok(j) => {
                            r.jitter.rj_rms = j.rj_rms_s.filter(|v| v.is_finite());
                            r.jitter.dj_pp = j.dj_pp_s.filter(|v| v.is_finite());
                            r.jitter.tj = j.tj_s.filter(|v| v.is_finite());
                        }
                        Err(e) => w.push(format!("jitter decomposition skipped: {e}")),
                    }
                    mark("jitter");
                }
                Some(r)
            }
            Err(e @ Error::Unusable { stage: "gpu", .. }) => return Err(e),
            Err(e) => {
                w.push(format!("eye analysis skipped: {e}"));
                None
            }
        };
        Ok((report, w))
    };
    // Side by side (unless the hooks ask for one stage after another); an equalization error
    // comes first, as it would in order.
    let (equalized, eye) = crate::par::join_if(!hooks.serial, equalize, eye_and_jitter);
    let Equalized { trained, stages, fec, errors, decisions, dfe_taps, dfe_error_propagation, mlse_target, warnings: eq_warnings } = equalized?;
    let (eye, eye_warnings) = eye?;
    warnings.extend(eq_warnings);
    warnings.extend(eye_warnings);

    Ok(Report {
        file: waveform.meta.source.clone().unwrap_or_else(|| "array".into()),
        modulation: m,
        baud,
        baud_estimated,
        ppm_offset,
        tie_rms_s,
        equalizer: config.equalizer.to_string(),
        ctle_gdc_db,
        dfe_taps,
        dfe_error_propagation,
        mlse_target,
        fs,
        samples_per_ui: fs / baud,
        sampling_phase_ui: phase_ui,
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
        ffe_taps: trained.ffe.taps().to_vec(),
        ffe_reference_tap: trained.ffe.reference_tap(),
        ffe_samples_per_symbol: sps,
        ffe_mse_db: 10.0 * trained.mse.max(1e-30).log10(),
        levels,
        stages,
        fec,
        eye,
        engine: crate::accel::engine_label(accel, &warnings),
        warnings,
        decisions,
    })
}

/// What equalization, decisions and FEC give the report (the analysis' first branch).
struct Equalized {
    trained: TrainedFfe,
    stages: Vec<StageErrors>,
    fec: Option<crate::fec::CodewordStatistics>,
    errors: crate::pattern::ErrorReport,
    decisions: Vec<u8>,
    dfe_taps: Option<Vec<f32>>,
    dfe_error_propagation: Option<crate::eq::ErrorPropagation>,
    mlse_target: Option<Vec<f32>>,
    warnings: Vec<String>,
}

/// The FFE of an equalizer chain, trained on the first `ntrain` symbols.
pub(crate) struct TrainedFfe {
    pub ffe: Ffe,
    /// Symbol delay: `y[k]` estimates the symbol `k + delay`.
    pub delay: isize,
    /// Mean squared error at the end of training (against the target, after the feedback).
    pub mse: f64,
    /// The taps came from an adaptive algorithm run over `xn` (not only the MMSE solve).
    pub adapted: bool,
    /// The feedback taps trained with the FFE of an `ffe,dfe:N` chain (`N` of them: the
    /// post-cursors of the MMSE-DFE target, or the adapted feedback taps); empty otherwise.
    pub feedback: Vec<f32>,
}

/// Trains the chain's FFE (`xn`: `sps` samples per symbol, `target`: the transmitted levels):
///
/// - `…,mlse:M`: towards the MMSE partial-response target `1 + g1·D (+ g2·D²)` estimated jointly
///   with the taps ([`train_ffe_and_target`], memory `M`).
/// - `…,dfe:N`, MMSE: the MMSE-DFE, the same joint solve with memory `N`; the target is monic
///   (`y[k] ≈ a[k+d] + Σ g_i·a[k+d−i]`), so its post-cursors `g_1..g_N` are the DFE's feedback
///   taps in output units ([`TrainedFfe::feedback`]).
/// - `…,dfe:N` with an adaptive method (LMS, NLMS, sign-sign, RLS): FFE and feedback adapted
///   jointly from an identity FFE and zero feedback ([`adapt_ffe_dfe`], the DFE-LMS of SerDes
///   receivers, whose fixed point is the MMSE-DFE): on the known symbols (fed back too) over the
///   training span, then decision-directed with the decisions fed back.
/// - no decision stage: the MMSE solve towards a flat response, or the adaptive algorithm from
///   an identity FFE ([`adapt_ffe`]).
///
/// The delay is the plain MMSE solve's (main cursor on the reference tap). Shared by the
/// whole-capture and the streamed analysis.
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_ffe_for_chain(
    xn: &[f32],
    sps: usize,
    target: &[f32],
    ntrain: usize,
    decision_stage: Option<&EqStage>,
    ffe_method: FfeMethod,
    ffe_cfg: &FfeConfig,
    m: Modulation,
) -> Result<TrainedFfe> {
    let nsym = target.len();
    let (memory, dfe_taps) = match decision_stage {
        Some(EqStage::Mlse { memory }) => (*memory, None),
        Some(EqStage::Dfe { taps }) => (*taps, Some(*taps)),
        _ => (0, None),
    };
    if memory > 0 && (ffe_method == FfeMethod::Mmse || dfe_taps.is_none()) {
        let t = train_ffe_and_target(&xn[..ntrain * sps], &target[..ntrain], memory, ffe_cfg)?;
        let feedback = if dfe_taps.is_some() { t.target[1..].to_vec() } else { Vec::new() };
        return Ok(TrainedFfe { ffe: t.ffe, delay: t.delay, mse: t.mse, adapted: false, feedback });
    }
    let t = Ffe::train_mmse(&xn[..ntrain * sps], &target[..ntrain], ffe_cfg)?;
    let adaptation = match ffe_method {
        FfeMethod::Mmse => return Ok(TrainedFfe { ffe: t.ffe, delay: t.delay, mse: t.mse, adapted: false, feedback: Vec::new() }),
        FfeMethod::Lms => Adaptation::Lms { mu: 1e-3 },
        FfeMethod::Nlms => Adaptation::Nlms { mu: 0.05 },
        FfeMethod::SignSign => Adaptation::SignSignLms { mu: 1e-4 },
        _ => Adaptation::Rls { lambda: 0.9995, delta: 0.01 },
    };
    let shifted = shifted_levels(target, t.delay, nsym);
    let init = Ffe::identity(ffe_cfg.n_taps, sps, t.ffe.reference_tap())?;
    let cfg = AdaptiveConfig {
        adaptation,
        training_symbols: ntrain,
        ..AdaptiveConfig::default()
    };
    if let Some(n) = dfe_taps {
        let r = adapt_ffe_dfe(xn, sps, Some(&shifted), &init, &vec![0.0; n], &m.level_set(), &cfg)?;
        let mse = r.mse_trace.last().copied().unwrap_or(t.mse);
        return Ok(TrainedFfe { ffe: r.ffe, delay: t.delay, mse, adapted: true, feedback: r.feedback });
    }
    let r = adapt_ffe(xn, sps, Some(&shifted), &init, &m.level_set(), &cfg)?;
    let mse = r.mse_trace.last().copied().unwrap_or(t.mse);
    Ok(TrainedFfe { ffe: r.ffe, delay: t.delay, mse, adapted: true, feedback: Vec::new() })
}

/// `known[k]`: the transmitted symbol that the FFE output `y[k]` estimates (`delay` from
/// training), clamped at the capture's ends.
///
/// On the pool in blocks for long captures (each symbol is a pure function of its index).
pub(crate) fn known_symbols(tx_symbols: &[u8], delay: isize) -> Vec<u8> {
    use rayon::prelude::*;
    let n = tx_symbols.len() as isize;
    (0..n).into_par_iter().with_min_len(SYMBOL_BLOCK).map(|k| tx_symbols[(k + delay).clamp(0, n - 1) as usize]).collect()
}

/// The detectors of a chain's `ffe` stage and decision stage, fitted on the training span of
/// the FFE output. With a decision stage the FFE is trained for a target with post-cursor ISI
/// (see [`train_ffe_for_chain`]), so its `ffe` stage feeds the target's post-cursors back with
/// the receiver's own decisions (a DFE) instead of slicing ISI as errors:
pub(crate) enum ChainDetectors {
    /// No decision stage: the FFE was trained towards a flat response; the unbiased slicer
    /// decides both the `ffe` stage and the final decisions.
    Slicer,
    /// `ffe,dfe:N`: the MMSE-DFE's feedback taps (trained with the FFE) with slicer levels
    /// measured on the training span ([`Dfe::with_measured_levels`]). The `ffe` stage's
    /// detector is this same DFE (the FFE's target *is* the DFE's), so the two stages decide
    /// alike; the `dfe` stage is counted against the pattern and adds the error-propagation
    /// statistics.
    Dfe(Dfe),
    /// `ffe,mlse:M`: one linear ISI fit `y ≈ Σ h[i]·α(s[k−i]) + c` ([`LinearIsiModel`]) gives
    /// both the `ffe` stage's DFE (`M` taps, [`Dfe::from_model`]) and the Viterbi detector
    /// ([`Mlse::from_model`]); `target` is the fit's `[1, h1/h0, …]`.
    Mlse { ffe_stage: Dfe, mlse: Mlse, target: Vec<f32> },
}

/// Fits the [`ChainDetectors`] on the training span `y` of the FFE output and the aligned
/// `known` symbols; `trained` is the chain's FFE ([`train_ffe_for_chain`]).
pub(crate) fn chain_detectors(y: &[f32], known: &[u8], trained: &TrainedFfe, decision_stage: Option<&EqStage>, m: Modulation) -> Result<ChainDetectors> {
    match decision_stage {
        Some(EqStage::Dfe { .. }) => Ok(ChainDetectors::Dfe(Dfe::with_measured_levels(trained.feedback.clone(), y, known, m)?)),
        Some(EqStage::Mlse { memory }) => {
            let fit = LinearIsiModel::fit(y, known, *memory, m)?;
            Ok(ChainDetectors::Mlse {
                ffe_stage: Dfe::from_model(&fit)?,
                mlse: Mlse::from_model(&fit)?,
                target: fit.target(),
            })
        }
        _ => Ok(ChainDetectors::Slicer),
    }
}

/// Symbols at each end of the FFE output that its span and delay leave unsettled.
pub(crate) fn ffe_guard(ffe_taps: usize, sps: usize, delay: isize, nsym: usize) -> usize {
    (ffe_taps / sps + delay.unsigned_abs() + 2).min(nsym / 4).max(1)
}

/// The eye stage's engines: the accelerator (resampling, eye histogram) with its failure
/// rule's warnings, TDECQ's evaluation engine and the stage marks.
struct EyeStage<'a> {
    accel: Option<&'a dyn crate::accel::Accelerator>,
    warnings: &'a std::sync::Mutex<Vec<String>>,
    tdecq: Option<&'a dyn crate::eye::TdecqEngine>,
    mark: &'a StageMark<'a>,
    /// The TDECQ dispersion corners after the eye, not beside it ([`AnalysisHooks::serial`]).
    serial: bool,
}

/// The eye of the raw capture on the recovered clock (`positions`: symbol centres in capture
/// samples, from `settled` on), with TDECQ on the reference-receiver (BT4) filtered capture for
/// PAM4; `symbols[k]` is the transmitted level of the symbol at `positions[k]`.
///
/// On an accelerator that keeps them ([`crate::accel::resample_resident`]) the raw signal's
/// points stay there and never come back: the diagram, the metrics and the bathtubs come from
/// its passes over them ([`crate::eye::KeptEye`]), and so do TDECQ's and its dispersion
/// corners' from the reference receiver's signals ([`crate::eye::tdecq_on`]); else they come
/// back, with the engine's copy of the raw one counting the histogram
/// ([`crate::accel::resample_kept`]). A failure of those passes under fallback runs the eye
/// (or the corner) again on the CPU engine. The reference receiver's filter runs on the
/// cores meanwhile, and its resampling beside the raw eye's histogram and metrics
/// ([`crate::eye::eye_report_beside`]). On an accelerator the TDECQ dispersion corners run
/// beside the eye and each other (after the eye with `serial`, and on the CPU engine).
#[allow(clippy::too_many_arguments)]
fn eye_stage<'a>(
    engines: &EyeStage<'a>,
    started: Option<EyeStart<'a>>,
    waveform: &Waveform,
    positions: &[f64],
    settled: usize,
    symbols: &[u8],
    baud: f64,
    m: Modulation,
    tie_rms_s: Option<f64>,
    config: &crate::eye::EyeAnalysisConfig,
) -> Result<crate::eye::EyeReport> {
    use crate::accel::Accelerator;
    use crate::eye::{eye_report_beside, EyeSignal, HeldSignal, KeptEye};
    let EyeStage { accel, warnings, tdecq: tdecq_engine, mark, serial } = *engines;
    let s = config.eye.samples_per_ui;
    let fs = waveform.fs();
    let (settled, n) = eye_span(positions, settled, symbols.len(), baud, waveform);
    let at = &positions[settled..n];
    // The first step, done already beside the levels (when it was over this span), is the
    // first attempt's; a rerun on the CPU engine does it again.
    let started = std::sync::Mutex::new(started.filter(|st| st.span == (settled, n)));
    let signal = |y: Vec<f32>| -> Result<EyeSignal> {
        let mut sig = EyeSignal::from_centred_vec(y, s)?;
        sig.baud = Some(baud);
        sig.unit = waveform.meta.vertical_unit.clone();
        Ok(sig)
    };
    let kept_eye = |kept: Box<dyn crate::accel::KeptSignal + 'a>| -> Result<KeptEye<'a>> {
        let mut eye = KeptEye::from_centred(kept, s)?;
        eye.baud = Some(baud);
        eye.unit = waveform.meta.vertical_unit.clone();
        Ok(eye)
    };
    // `x` on the clock, resident on `accel` when it keeps it (nothing comes back), else on
    // the host: the reference receiver's signals (TDECQ, its dispersion corners).
    let held = |accel: Option<&'a dyn Accelerator>, x: &[f32], warnings: &std::sync::Mutex<Vec<String>>| -> Result<HeldSignal<'a>> {
        let on_clock = |accel: Option<&dyn Accelerator>, x: &[f32]| signal(crate::accel::resample_at(accel, x, at, s, warnings)?);
        Ok(match resident_or(accel, x, at, s, warnings, |engine| on_clock(engine, x))? {
            Ok(kept) => HeldSignal::Kept(kept_eye(kept)?),
            Err(host) => HeldSignal::Host(host),
        })
    };
    let reference_f3db = reference_f3db(config, m, baud, fs);
    // from_centred drops half a UI: the eye's symbol k is the one at positions[settled + k + 1].
    let syms = &symbols[(settled + 1).min(n)..n];
    // The eye with the raw signal on `accel` (resampling, histogram, passes), the reference
    // receiver's filter on the cores meanwhile and its resampling beside the raw eye's
    // histogram and metrics (eye_report_beside).
    let attempt = |accel: Option<&'a dyn Accelerator>| -> Result<crate::eye::EyeReport> {
        let first = started.lock().ok().and_then(|mut st| st.take());
        let EyeStart { raw, filtered, .. } = match first {
            Some(st) => st,
            None => eye_start(accel, warnings, waveform, positions, (settled, n), s, reference_f3db),
        };
        let raw = raw?;
        let tdecq_maker = filtered?.map(|filtered| {
            let (held, kept_eye) = (&held, &kept_eye);
            move || match filtered {
                Filtered::Kept(kept) => Ok(HeldSignal::Kept(kept_eye(kept)?)),
                Filtered::Host(filtered, engine) => {
                    let sig = held(engine, &filtered, warnings);
                    crate::par::free_in_background(filtered);
                    sig
                }
            }
        });
        mark("eye resampling");
        let (report, tdecq_sig) = match raw {
            RawPoints::Resident(kept) => {
                let eye = kept_eye(kept)?;
                let engines = crate::eye::EyeEngines { histogram: None, tdecq: tdecq_engine, mark: Some(mark), serial };
                eye_report_beside(&eye, tdecq_maker, Some(syms), m, tie_rms_s, config, &engines)?
            }
            RawPoints::Host(raw, kept) => {
                let raw = signal(raw)?;
                // The kept points are the raw signal before from_centred dropped its first
                // half UI; they are released once the histogram is counted. The hook is called
                // for the raw signal's diagram; any other slice (there is none today) would be
                // uploaded as before.
                let kept = std::sync::Mutex::new(kept);
                let (raw_at, raw_len) = (raw.samples.as_ptr() as usize, raw.samples.len());
                let hist = |g: &crate::eye::EyeGeometry, y: &[f32]| {
                    let k = if y.as_ptr() as usize == raw_at && y.len() == raw_len { kept.lock().ok().and_then(|mut k| k.take()) } else { None };
                    crate::accel::eye_histogram(accel, g, y, k.as_deref().map(|k| (k, s / 2..s / 2 + y.len())), warnings)
                };
                let engines = crate::eye::EyeEngines {
                    histogram: accel.map(|_| &hist as &crate::eye::HistogramFn<'_>),
                    tdecq: tdecq_engine,
                    mark: Some(mark),
                    serial,
                };
                let report = eye_report_beside(&raw, tdecq_maker, Some(syms), m, tie_rms_s, config, &engines);
                drop(kept);
                crate::par::free_in_background(raw.samples);
                report?
            }
        };
        if let Some(HeldSignal::Host(t)) = tdecq_sig {
            crate::par::free_in_background(t.samples);
        }
        Ok(report)
    };
    // The TDECQ dispersion corners: each emulates the test fibre on the capture (the fibre's
    // mean group delay is not modelled, so the recovered clock still applies), then the
    // reference receiver and TDECQ, each with its own warnings, merged in order. On an
    // accelerator (whose signals stay on the device) the corners run beside each other and
    // beside the eye (unless `serial`); on the CPU engine, whose cores those share anyway,
    // after the eye one at a time, so that the host holds one corner's signals at a time (a
    // 20 M-sample capture's eye signal at 32 points/UI is 0.5 GB).
    let overlap = !serial && accel.is_some();
    let tdecq_config = config.tdecq.as_ref().filter(|_| m == Modulation::Pam4);
    let corner = |dl: f64, tc: &crate::eye::TdecqConfig| -> Result<(Option<crate::eye::TdecqCorner>, Vec<String>)> {
        let emulated = crate::sim::optical::Fiber::with_accumulated_dispersion(dl, config.corner_wavelength_nm)
            .and_then(|fiber| crate::optical::FiberEmulator::new(fs, &fiber, &config.corner_emulation))
            .and_then(|em| em.emulate(waveform));
        let emulated = match emulated {
            Ok(w) => w,
            // Not an optical power capture (or an impossible corner): no corner values.
            Err(e) => return Ok((None, vec![format!("TDECQ at {dl} ps/nm skipped: {e}")])),
        };
        let f3db = tc.reference_f3db_per_baud * baud;
        let bt4 = f3db < 0.5 * fs;
        // The engine's fallback warnings (before the corner's own), then the corner's.
        let engine_warnings = std::sync::Mutex::new(Vec::new());
        // The reference receiver's signal, on the device when the engine keeps it there.
        let first = if bt4 {
            reference_filtered(accel, &engine_warnings, &emulated.samples, &reference_filter(&emulated.samples, fs, f3db)?, at, s)?
        } else {
            Filtered::Host(emulated.samples.clone(), accel)
        };
        // The emulated capture stays for the CPU engine's rerun after a failure on the
        // accelerator (there is none without one).
        let emulated = match accel {
            Some(_) => Some(emulated.samples),
            None => {
                crate::par::free_in_background(emulated.samples);
                None
            }
        };
        let first = std::sync::Mutex::new(Some(first));
        let on = |engine: Option<&'a dyn Accelerator>| -> Result<crate::eye::TdecqResult> {
            let host = |filtered: Vec<f32>, engine: Option<&'a dyn Accelerator>| -> Result<HeldSignal<'a>> {
                let sig = held(engine, &filtered, &engine_warnings);
                crate::par::free_in_background(filtered);
                sig
            };
            let sig = match first.lock().ok().and_then(|mut f| f.take()) {
                Some(Filtered::Kept(kept)) => HeldSignal::Kept(kept_eye(kept)?),
                Some(Filtered::Host(filtered, e)) => host(filtered, e.and(engine))?,
                // The rerun: the filter again, on the cores.
                None => {
                    let x = emulated.as_deref().unwrap_or_default();
                    host(if bt4 { bessel_thomson_filter(x, fs, f3db, 4)? } else { x.to_vec() }, engine)?
                }
            };
            let r = crate::eye::tdecq_on(sig.source(), Some(syms), tc, tdecq_engine);
            if let HeldSignal::Host(sig) = sig {
                crate::par::free_in_background(sig.samples);
            }
            r
        };
        // A failure of the passes over the resident signal falls back as the eye's does.
        let result = or_on_cpu(accel, &format!("TDECQ at {dl} ps/nm"), &engine_warnings, on);
        if let Some(x) = emulated {
            crate::par::free_in_background(x);
        }
        let mut w = engine_warnings.into_inner().unwrap_or_default();
        let tdecq_db = match result {
            Ok(r) if r.tdecq_db.is_finite() => Some(r.tdecq_db),
            Ok(r) => {
                w.push(format!("TDECQ at {dl} ps/nm: not finite ({})", r.tdecq_db));
                None
            }
            Err(e @ Error::Unusable { stage: "gpu", .. }) => return Err(e),
            Err(e) => {
                w.push(format!("TDECQ at {dl} ps/nm: {e}"));
                None
            }
        };
        Ok((Some(crate::eye::TdecqCorner { dispersion_ps_per_nm: dl, tdecq_db, pass: None }), w))
    };
    let corners = || -> Vec<Result<(Option<crate::eye::TdecqCorner>, Vec<String>)>> {
        use rayon::prelude::*;
        let dls = &config.dispersion_corners_ps_per_nm;
        match tdecq_config {
            Some(tc) if overlap => dls.par_iter().map(|&dl| corner(dl, tc)).collect(),
            Some(tc) => dls.iter().map(|&dl| corner(dl, tc)).collect(),
            None => Vec::new(),
        }
    };
    // A failure of the passes over resident points: under fallback the CPU engine runs the
    // eye again (with a warning), else it is the error.
    let eye = || or_on_cpu(accel, "the eye", warnings, attempt);
    let (report, corners) = crate::par::join_if(overlap, eye, corners);
    let mut report = report?;
    if config.dispersion_corners_ps_per_nm.is_empty() {
        return Ok(report);
    }
    if tdecq_config.is_none() {
        report.warnings.push("TDECQ dispersion corners skipped: TDECQ is off or the signal is not PAM4".into());
        return Ok(report);
    }
    for c in corners {
        let (corner, w) = c?;
        report.warnings.extend(w);
        report.tdecq_corners.extend(corner);
    }
    mark("TDECQ corners");
    Ok(report)
}

/// The eye's span of the recovered clock, `(settled, n)`: the symbol centres `positions[settled
/// .. n]` the eye resamples, those whose UI lies within the capture, at most `symbols` of
/// them, from the first settled one.
fn eye_span(positions: &[f64], settled: usize, symbols: usize, baud: f64, waveform: &Waveform) -> (usize, usize) {
    let n = crate::eye::within_capture(positions, waveform.fs() / baud, waveform.len()).len().min(symbols);
    (settled.min(n.saturating_sub(1)), n)
}

/// The reference receiver's (BT4) 3 dB frequency of TDECQ (PAM4 with TDECQ on, and below the
/// capture's Nyquist frequency), Hz.
fn reference_f3db(config: &crate::eye::EyeAnalysisConfig, m: Modulation, baud: f64, fs: f64) -> Option<f64> {
    match (&config.tdecq, m) {
        (Some(t), Modulation::Pam4) if t.reference_f3db_per_baud * baud < 0.5 * fs => Some(t.reference_f3db_per_baud * baud),
        _ => None,
    }
}

/// The raw capture's points on the eye's clock: resident on the accelerator when it keeps them
/// (nothing comes back: the eye's passes run there, `KeptEye`), else on the host and, when the
/// engine keeps a copy too, its histogram counted from that copy.
enum RawPoints<'a> {
    Resident(Box<dyn crate::accel::KeptSignal + 'a>),
    Host(Vec<f32>, Option<Box<dyn crate::accel::KeptSignal + 'a>>),
}

/// The reference receiver's filtered capture: on the clock and resident on the accelerator
/// when it keeps it ([`crate::accel::reference_resident`]), else on the host with the engine
/// to resample it with (none after the accelerator failed).
enum Filtered<'a> {
    Kept(Box<dyn crate::accel::KeptSignal + 'a>),
    Host(Vec<f32>, Option<&'a dyn crate::accel::Accelerator>),
}

/// The eye's first step, which needs only the clock (so it may run beside the levels and
/// alignment): the raw points over `span` ([`eye_span`]) and the reference receiver's filtered
/// capture (`None` without TDECQ).
struct EyeStart<'a> {
    span: (usize, usize),
    raw: Result<RawPoints<'a>>,
    filtered: Result<Option<Filtered<'a>>>,
}

/// [`EyeStart`] on `accel` (the failure rule's warnings to `warnings`): the raw points at `s`
/// per UI and the BT4 filter at `f3db` Hz, both resident from one upload when the engine keeps
/// them so ([`crate::accel::eye_resident`]), else beside each other ([`reference_filtered`]).
#[allow(clippy::too_many_arguments)]
fn eye_start<'a>(
    accel: Option<&'a dyn crate::accel::Accelerator>,
    warnings: &std::sync::Mutex<Vec<String>>,
    waveform: &Waveform,
    positions: &[f64],
    span: (usize, usize),
    s: usize,
    f3db: Option<f64>,
) -> EyeStart<'a> {
    use crate::accel::Residency;
    let (x, fs) = (&waveform.samples, waveform.fs());
    let at = &positions[span.0..span.1];
    let filter = f3db.map(|f| reference_filter(x, fs, f));
    // Both signals from one copy of the capture on the engine when it keeps them that way (a
    // capture the filter refuses takes the separate calls below, which report it).
    let mut accel = accel;
    if let (Some(a), Some(Ok(filter))) = (accel, &filter) {
        match crate::accel::resident(a, a.eye_resident(filter, x, at, s), x, at, s, "the eye's resampling", warnings) {
            Ok(Residency::Kept([raw, reference])) => {
                return EyeStart { span, raw: Ok(RawPoints::Resident(raw)), filtered: Ok(Some(Filtered::Kept(reference))) };
            }
            Ok(Residency::Declined) => {}
            Ok(Residency::FellBack) => accel = None,
            Err(e) => return EyeStart { span, raw: Err(e), filtered: Ok(None) },
        }
    }
    let (raw, filtered) = rayon::join(
        || {
            Ok(match resident_or(accel, x, at, s, warnings, |engine| crate::accel::resample_kept(engine, x, at, s, warnings))? {
                Ok(kept) => RawPoints::Resident(kept),
                Err((y, kept)) => RawPoints::Host(y, kept),
            })
        },
        || filter.map(|f| reference_filtered(accel, warnings, x, &f?, at, s)).transpose(),
    );
    EyeStart { span, raw, filtered }
}

/// The reference receiver (BT4 at `f3db` Hz, as [`bessel_thomson_filter`] applies it) for
/// `x` sampled at `fs`: its errors, a non-finite sample first.
fn reference_filter(x: &[f32], fs: f64, f3db: f64) -> Result<crate::eq::BesselThomsonFilter> {
    crate::error::check_finite("Bessel-Thomson filter input", x)?;
    crate::eq::BesselThomsonFilter::new(fs, f3db, 4)
}

/// `x` through the reference receiver `filter` ([`reference_filter`]): on `accel`'s device and
/// on the clock `at` (`s` points per UI) there when it keeps the points, else on the cores
/// (the failure rule's warnings to `warnings`).
fn reference_filtered<'a>(
    accel: Option<&'a dyn crate::accel::Accelerator>,
    warnings: &std::sync::Mutex<Vec<String>>,
    x: &[f32],
    filter: &crate::eq::BesselThomsonFilter,
    at: &[f64],
    s: usize,
) -> Result<Filtered<'a>> {
    use crate::accel::Residency;
    let resident = |a: &'a dyn crate::accel::Accelerator| {
        crate::accel::resident(a, a.reference_resident(filter, x, at, s), x, at, s, "the reference receiver's filter", warnings)
    };
    let engine = match accel.map(resident).transpose()? {
        Some(Residency::Kept(k)) => return Ok(Filtered::Kept(k)),
        Some(Residency::FellBack) => None,
        Some(Residency::Declined) | None => accel,
    };
    Ok(Filtered::Host(filter.apply(x), engine))
}

/// `x` resampled at `at` (`s` points per UI) resident on `accel` when it keeps the points
/// (`Ok(kept)`), else `host` of the engine to resample with (`Err`): `accel` when it declines
/// keeping them, none after it failed (the warning pushed, or the error without fallback).
fn resident_or<'a, T>(
    accel: Option<&'a dyn crate::accel::Accelerator>,
    x: &[f32],
    at: &[f64],
    s: usize,
    warnings: &std::sync::Mutex<Vec<String>>,
    host: impl FnOnce(Option<&'a dyn crate::accel::Accelerator>) -> Result<T>,
) -> Result<std::result::Result<Box<dyn crate::accel::KeptSignal + 'a>, T>> {
    use crate::accel::Residency;
    let engine = match accel.map(|a| crate::accel::resample_resident(a, x, at, s, warnings)).transpose()? {
        Some(Residency::Kept(k)) => return Ok(Ok(k)),
        Some(Residency::FellBack) => None,
        Some(Residency::Declined) | None => accel,
    };
    Ok(Err(host(engine)?))
}

/// `run(accel)`; when that fails on the accelerator (`Error::Unusable { stage: "gpu" }`) and
/// it allows fallback, the reason goes to `warnings` and `run(None)` (the CPU engine) is the
/// result; without fallback the failure is.
fn or_on_cpu<'a, T>(
    accel: Option<&'a dyn crate::accel::Accelerator>,
    stage: &str,
    warnings: &std::sync::Mutex<Vec<String>>,
    run: impl Fn(Option<&'a dyn crate::accel::Accelerator>) -> Result<T>,
) -> Result<T> {
    match (run(accel), accel) {
        (Err(Error::Unusable { stage: "gpu", reason }), Some(a)) if a.fallback_allowed() => {
            crate::accel::fail_stage(a, reason, stage, warnings)?;
            run(None)
        }
        (r, _) => r,
    }
}

/// [`StageErrors`] of `symbols` compared symbols with `counts` errors.
fn stage_from_counts(stage: &str, symbols: u64, counts: crate::pattern::count::ErrorCounts, m: Modulation) -> StageErrors {
    let bits = symbols * m.bits_per_symbol() as u64;
    StageErrors {
        stage: stage.into(),
        symbols,
        symbol_errors: counts.symbol_errors,
        ser: counts.symbol_errors as f64 / symbols.max(1) as f64,
        bit_errors: counts.bit_errors,
        ber: counts.bit_errors as f64 / bits.max(1) as f64,
    }
}

/// `target` moved so that element `k` is the level `y[k]` should reproduce (`y[k]` estimates
/// `target[k + delay]`), clamped at the ends.
pub(super) fn shifted_levels(target: &[f32], delay: isize, n: usize) -> Vec<f32> {
    (0..n)
        .map(|k| target[(k as isize + delay).clamp(0, target.len() as isize - 1) as usize])
        .collect()
}

/// Counts symbol and bit errors of `decided` against `expected` (same indexing).
///
/// Counted on the pool in blocks of [`SYMBOL_BLOCK`] symbols; the counts are integers, so the
/// totals are the serial loop's for any split.
pub(super) fn stage_errors(stage: &str, decided: &[u8], expected: &[u8], m: Modulation, t: &SymbolTransform) -> StageErrors {
    stage_errors_in_blocks(stage, decided, expected, m, t, SYMBOL_BLOCK)
}

fn stage_errors_in_blocks(stage: &str, decided: &[u8], expected: &[u8], m: Modulation, t: &SymbolTransform, block: usize) -> StageErrors {
    use rayon::prelude::*;
    let mapping = if t.binary_mapping { BitMapping::Binary } else { BitMapping::Gray };
    let len = decided.len().min(expected.len());
    let (symbol_errors, bit_errors) = decided[..len]
        .par_chunks(block)
        .zip(expected[..len].par_chunks(block))
        .map(|(d, e)| {
            let c = crate::pattern::count::count_errors(d, e, m, mapping);
            (c.symbol_errors, c.bit_errors)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
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

/// [`count_errors`] on the pool in blocks of `block` symbols, the integer counts added: the
/// same counts for any split.
fn count_errors_in_blocks(decisions: &[u8], expected: &[u8], m: Modulation, mapping: BitMapping, block: usize) -> crate::pattern::count::ErrorCounts {
    use rayon::prelude::*;
    let n = decisions.len().min(expected.len());
    decisions[..n]
        .par_chunks(block)
        .zip(expected[..n].par_chunks(block))
        .map(|(d, e)| count_errors(d, e, m, mapping))
        .reduce(Default::default, |mut a, b| {
            a += b;
            a
        })
}

/// The decisions over `span` of the detector output `full` (precoding decoded when `precoded`
/// names the modulation, with the symbol before the span as the precoder state): the same as
/// draining `full[span.start − 1..span.end]`, decoding from state 0 and dropping the first
/// symbol, computed per symbol on the pool (each output depends on two inputs).
/// `span.start ≥ 1` (the FFE guard), `span.end ≤ full.len()`.
fn span_decisions(full: &[u8], span: std::ops::Range<usize>, precoded: Option<Modulation>) -> Vec<u8> {
    use rayon::prelude::*;
    let out = full[span.clone()].par_iter().with_min_len(SYMBOL_BLOCK);
    match precoded {
        None => out.copied().collect(),
        Some(m) => {
            let levels = m.levels() as u8;
            out.zip(full[span.start - 1..span.end - 1].par_iter()).map(|(&d, &prev)| (d % levels + prev % levels) % levels).collect()
        }
    }
}

/// The precoded transmit symbols for the expected data, choosing the precoder's unknown initial
/// state as the one that best matches the raw decisions.
pub(super) fn best_precoded(expected: &[u8], raw: &[u8], m: Modulation) -> Vec<u8> {
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
pub(super) fn unbiased_slicer(y: &[f32], tx: &[u8], delay: isize, guard: usize, ntrain: usize, m: Modulation) -> Result<Slicer> {
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

/// Samples per UI of a capture at `fs` for a symbol rate of `nominal_baud`; an error below 2
/// (a rate above fs/2).
pub(super) fn samples_per_ui(fs: f64, nominal_baud: f64) -> Result<f64> {
    let spu = fs / nominal_baud;
    if spu < 2.0 - 1e-9 {
        return Err(Error::invalid(
            "baud",
            nominal_baud,
            format!("above fs/2 = {:.6e} (the capture has {:.3} samples per UI; at least 2 are needed)", fs / 2.0, spu),
        ));
    }
    Ok(spu)
}

/// The CTLE of an `EqStage::Ctle` stage: the 802.3ck reference CTLE (Annex 120G) at
/// `nominal_baud` with the given DC gain, or with the gain of its sweep that best separates
/// the levels of `x` (sampled at `fs`) when none is given.
pub(super) fn ctle_config(gdc_db: Option<f64>, x: &[f32], fs: f64, nominal_baud: f64, m: Modulation) -> Result<CtleConfig> {
    let base = CtleConfig::ieee_8023ck(nominal_baud);
    Ok(match gdc_db {
        Some(g) => CtleConfig { gdc_db: g, ..base },
        None => {
            let score = level_separation_score(m, fs / nominal_baud);
            ctle_auto_select(x, fs, nominal_baud, &base, &CtleConfig::ieee_8023ck_gdc_sweep(), score)?.0
        }
    })
}

/// Symbols per task of the per-symbol passes of [`raw_decisions`] and the equalization stage
/// (pure maps and integer counts: any split gives the same result).
const SYMBOL_BLOCK: usize = 1 << 16;

/// The raw (unequalized) decisions of [`raw_decisions`] and what they came from.
pub(super) struct RawDecisions {
    /// Whole symbols in the signal.
    pub(super) nsym: usize,
    /// Level means of the symbol centres, ascending (capture units).
    pub(super) levels: Vec<f64>,
    /// Normalisation `x·scale + offset`, which puts the outer levels at ±1.
    pub(super) scale: f64,
    /// See `scale`.
    pub(super) offset: f64,
    /// The normalised signal.
    pub(super) xn: Vec<f32>,
    /// Slicer at the normalised level means.
    pub(super) pre_slicer: Slicer,
    /// Its decisions on the normalised symbol centres.
    pub(super) pre_raw: Vec<u8>,
    /// `pre_raw`, precoding decoded when the configuration has it.
    pub(super) pre_data: Vec<u8>,
    /// `pre_data` aligned to the pattern.
    pub(super) alignment: crate::pattern::Alignment,
    /// The pattern's symbols at the `nsym` symbols under `alignment`.
    pub(super) expected: Vec<u8>,
}

/// Levels of the symbol centres of `x` (`sps` samples per symbol), the signal normalised so the
/// outer levels sit at ±1, the raw slicer decisions on it and their alignment to the pattern
/// (by correlating the soft samples when the hard decisions do not align: a closed raw eye).
/// Errors: fewer than 64 symbols per level, a single level, levels that do not separate, no
/// alignment.
pub(super) fn raw_decisions(x: &[f32], sps: usize, config: &AnalysisConfig, checker: &PatternChecker, pattern: &Pattern) -> Result<RawDecisions> {
    use rayon::prelude::*;
    let m = config.modulation;
    let nsym = x.len() / sps;
    let min_symbols = 64 * m.levels();
    if nsym < min_symbols {
        return Err(Error::InputTooShort {
            what: "capture (symbols)",
            needed: min_symbols,
            got: nsym,
        });
    }
    // The long per-symbol passes (millions of symbols) run on the pool; each output element
    // depends on its input alone, so the results are those of the element-by-element loops.
    let centres: Vec<f32> = x[..nsym * sps].par_chunks_exact(sps).with_min_len(SYMBOL_BLOCK).map(|c| c[0]).collect();
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
    let xn: Vec<f32> = x.par_iter().map(|&v| (v as f64 * scale + offset) as f32).collect();
    // The same expression on the same samples as `xn`'s: centres_n[k] == xn[k * sps].
    let centres_n: Vec<f32> = centres.par_iter().with_min_len(SYMBOL_BLOCK).map(|&v| (v as f64 * scale + offset) as f32).collect();
    let norm_means: Vec<f32> = clusters.means.iter().map(|&v| (v * scale + offset) as f32).collect();
    let pre_slicer = Slicer::for_levels(&norm_means).map_err(|_| Error::Unusable {
        stage: "levels",
        reason: format!("levels {:?} do not separate into {} distinct amplitudes", clusters.means, m.levels()),
    })?;
    let pre_raw = pre_slicer.slice_vec_parallel(&centres_n);
    let mut pre_data: Vec<u8> = pre_raw.par_iter().with_min_len(SYMBOL_BLOCK).copied().collect();
    if config.precoding {
        decode_precoded(&mut pre_data, m, 0);
    }
    // Align the (possibly error-ridden) raw decisions to the pattern.
    let alignment = match checker.align(&pre_data) {
        Ok(a) => a,
        // A closed raw eye: fall back to correlating the soft samples with the pattern.
        Err(hard) if !config.precoding && checker.period() <= MAX_SOFT_PERIOD => align_soft(checker, pattern, &centres_n).map_err(|_| hard)?.alignment,
        Err(e) => return Err(e),
    };
    let expected = checker.expected(&alignment, 0..nsym);
    Ok(RawDecisions { nsym, levels: clusters.means, scale, offset, xn, pre_slicer, pre_raw, pre_data, alignment, expected })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const BLOCK: usize = 64;
    /// Below one block, exactly one, one more, several with a ragged last one.
    const LENGTHS: [usize; 6] = [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 5 * BLOCK + 17];

    fn symbols(n: usize, r: &mut ChaCha8Rng) -> Vec<u8> {
        (0..n).map(|_| r.random_range(0..4u8)).collect()
    }

    /// The symbol-by-symbol count [`stage_errors`] replaced.
    fn stage_errors_serial(decided: &[u8], expected: &[u8], m: Modulation, mapping: BitMapping) -> (u64, u64) {
        let c = crate::pattern::count::count_errors_naive(decided, expected, m, mapping);
        (c.symbol_errors, c.bit_errors)
    }

    #[test]
    fn blockwise_stage_errors_equal_the_serial_count() {
        let mut r = ChaCha8Rng::seed_from_u64(3);
        let m = Modulation::Pam4;
        for n in LENGTHS {
            let expected = symbols(n, &mut r);
            let decided: Vec<u8> = expected.iter().map(|&e| if r.random_bool(0.2) { r.random_range(0..4u8) } else { e }).collect();
            for binary_mapping in [false, true] {
                let t = SymbolTransform { binary_mapping, ..Default::default() };
                let mapping = if binary_mapping { BitMapping::Binary } else { BitMapping::Gray };
                // Equal lengths and a longer `decided` (the common length counts).
                for d in [&decided[..], &[&decided[..], &[1, 2, 3][..]].concat()[..]] {
                    let want = stage_errors_serial(d, &expected, m, mapping);
                    for got in [stage_errors_in_blocks("s", d, &expected, m, &t, BLOCK), stage_errors("s", d, &expected, m, &t)] {
                        assert_eq!((got.symbol_errors, got.bit_errors, got.symbols), (want.0, want.1, n as u64), "n = {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn blockwise_error_counts_equal_the_naive_count() {
        let mut r = ChaCha8Rng::seed_from_u64(9);
        for n in LENGTHS {
            let expected = symbols(n, &mut r);
            let decided: Vec<u8> = expected.iter().map(|&e| if r.random_bool(0.3) { r.random_range(0..4u8) } else { e }).collect();
            for mapping in [BitMapping::Gray, BitMapping::Binary] {
                for m in [Modulation::Pam4, Modulation::Nrz] {
                    let want = crate::pattern::count::count_errors_naive(&decided, &expected[..n.saturating_sub(1)], m, mapping);
                    assert_eq!(count_errors_in_blocks(&decided, &expected[..n.saturating_sub(1)], m, mapping, BLOCK), want, "n = {n}");
                }
            }
        }
    }

    #[test]
    fn span_decisions_equal_drain_decode_and_drop() {
        let mut r = ChaCha8Rng::seed_from_u64(5);
        for n in LENGTHS.map(|n| n + 3) {
            let full = symbols(n, &mut r);
            for (start, end) in [(1, n), (1, 1), (2, n - 1), (n / 2, n / 2 + 1)] {
                for precoded in [None, Some(Modulation::Pam4), Some(Modulation::Nrz)] {
                    let mut want: Vec<u8> = full[start - 1..end].to_vec();
                    if let Some(m) = precoded {
                        decode_precoded(&mut want, m, 0);
                    }
                    want.remove(0);
                    assert_eq!(span_decisions(&full, start..end, precoded), want, "n = {n}, {start}..{end}, {precoded:?}");
                }
            }
        }
    }

    /// `raw_decisions` against its serial form (strided gathers, `slice_vec`, a clone, the
    /// reference clustering) on PAM4 captures of the pattern around the symbol block size,
    /// with an open eye (hard alignment) and a closed one (soft alignment).
    #[test]
    fn raw_decisions_equal_the_serial_passes() {
        let mut config = AnalysisConfig::pam4(1.0);
        config.pattern = "prbs13q".into();
        let m = config.modulation;
        let pattern = Pattern::parse(&config.pattern).unwrap();
        let checker = PatternChecker::new(&pattern, m, config.sync.clone()).unwrap();
        let sps = 2;
        for nsym in [SYMBOL_BLOCK - 1, SYMBOL_BLOCK, SYMBOL_BLOCK + 1, 2 * SYMBOL_BLOCK + 321] {
            let syms = pattern.generate(m, nsym + 2).unwrap();
            for isi in [0.0f32, 0.9] {
                // Symbol centres on even samples, an odd tail sample, a level offset and scale.
                let mut s = nsym as u64;
                let x: Vec<f32> = (0..nsym * sps + 1)
                    .map(|i| {
                        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        let k = i / sps;
                        let v = m.level(syms[k]) + isi * m.level(syms[k + 1]) + 0.05 * ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5);
                        0.2 + 0.01 * v
                    })
                    .collect();
                let got = raw_decisions(&x, sps, &config, &checker, &pattern).unwrap();
                let centres: Vec<f32> = x.iter().step_by(sps).take(nsym).copied().collect();
                let clusters = crate::timing::cluster_levels_reference(&centres, m.levels()).unwrap();
                assert_eq!(got.levels.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), clusters.means.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
                let centres_n: Vec<f32> = got.xn.iter().step_by(sps).take(nsym).copied().collect();
                let pre_raw = got.pre_slicer.slice_vec(&centres_n);
                assert_eq!((got.nsym, &got.pre_raw, &got.pre_data), (nsym, &pre_raw, &pre_raw), "nsym = {nsym}, isi = {isi}");
                let mut expected = vec![0u8; nsym];
                checker.expected_into(&got.alignment, 0, &mut expected);
                assert_eq!(got.expected, expected);
                // The alignment is the true one: decisions of an open eye match it exactly.
                if isi == 0.0 {
                    assert_eq!(got.pre_raw, expected, "nsym = {nsym}");
                }
            }
        }
    }

    #[test]
    fn known_symbols_follow_the_delay_with_clamped_ends() {
        let mut r = ChaCha8Rng::seed_from_u64(7);
        for n in LENGTHS {
            let tx = symbols(n, &mut r);
            for delay in [-5isize, 0, 3, n as isize + 2] {
                let want: Vec<u8> = (0..n as isize).map(|k| tx[(k + delay).clamp(0, n as isize - 1) as usize]).collect();
                assert_eq!(known_symbols(&tx, delay), want, "n = {n}, delay = {delay}");
            }
        }
    }
}
