//! Hook through which an accelerator engine (the GPU engine of `lightlane-gpu`) runs stages of
//! the analysis pipeline. Core knows no GPU API: an engine implements [`Accelerator`] and is
//! passed to [`crate::analysis::analyze_with`].
//!
//! The pipeline equalizes once into an [`Equalized`] signal that the engine may keep on its
//! device ([`Accelerator::equalize_resident`]); the slicer, the error counting of the FFE
//! stage and the block-parallel DFE / MLSE then run there and only small results (counts,
//! decisions, the training prefix) come back. Every method has a CPU default, so an engine
//! implements what it accelerates. [`EqualizedSignal`] wraps it all with the fallback rule.

use crate::eq::{Dfe, Ffe, Mlse};
use crate::eye::{EyeGeometry, EyeHistogram, TdecqBins, TdecqEngine, TdecqHistograms, TdecqWindow};
use crate::modulation::{bit_errors_between, BitMapping, Slicer};
use crate::pattern::count::ErrorCounts;
use crate::{Modulation, Result};
use std::ops::Range;

/// Stages an accelerator can take over. Each method must return what the CPU engine returns
/// (bit-exact where the CPU result is integer, within f32 rounding otherwise).
pub trait Accelerator: Sync {
    /// Engine name for reports ("gpu: NVIDIA H200", ...).
    fn name(&self) -> String;

    /// `true` for falling back to the CPU engine (with a warning in the report) when a stage
    /// fails; `false` makes the failure an error (an explicit `Backend::Gpu`).
    fn fallback_allowed(&self) -> bool;

    /// [`Ffe::equalize`] of `x`.
    fn ffe_equalize(&self, ffe: &Ffe, x: &[f32]) -> Result<Vec<f32>>;

    /// [`Ffe::equalize`] of `x`, kept where the engine computes it (its device) for the
    /// stages that follow. Default: [`Accelerator::ffe_equalize`] into a [`HostEqualized`].
    fn equalize_resident<'a>(&'a self, ffe: &Ffe, x: &[f32]) -> Result<Box<dyn Equalized + 'a>> {
        Ok(Box::new(HostEqualized(self.ffe_equalize(ffe, x)?)))
    }

    /// The eye histogram of `y` from phase 0: the counts of [`EyeHistogram::accumulate`]
    /// (`amp_bins · time_bins`, row-major). Default: the CPU.
    fn eye_histogram(&self, geometry: &EyeGeometry, y: &[f32]) -> Result<Vec<u32>> {
        cpu_eye_histogram(geometry, y)
    }

    /// [`crate::timing::resample_at`] of `x`: `sps_out` Keys-cubic points per UI between the
    /// recovered symbol `positions` (`positions.len() · sps_out` outputs, none when `x` is
    /// empty). The pipeline resamples onto the recovered clock through this: the FFE input and
    /// the eye's raw and reference-receiver signals. Floats may differ from the CPU by the
    /// engine's interpolation rounding (the GPU engine: `lightlane_gpu::resample_tolerance`).
    /// Default: the CPU ([`crate::timing::resample_at_parallel`], bit-identical to the serial one).
    fn resample_at(&self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Vec<f32>> {
        Ok(crate::timing::resample_at_parallel(x, positions, sps_out))
    }

    /// TDECQ's histogram evaluations (IEEE 802.3 121.8.5, the reference-FFE search) with the
    /// `windows`' columns kept on the engine: planned once per window set, then one
    /// [`TdecqHistograms::counts`] per candidate, which must equal the CPU's counts exactly
    /// ([`crate::eye::tdecq_window_counts_reference`]). `Ok(None)`: the engine does not take
    /// these windows (the CPU evaluates them). Default: `Ok(None)`.
    fn tdecq_histograms<'a>(&'a self, windows: &[TdecqWindow<'_>], bins: &TdecqBins) -> Result<Option<Box<dyn TdecqHistograms + 'a>>> {
        let _ = (windows, bins);
        Ok(None)
    }
}

/// TDECQ's histogram evaluations on an [`Accelerator`] with the pipeline's failure rule: a
/// failing plan or evaluation falls back to the CPU with the reason pushed to `warnings` once
/// (later plans then stay on the CPU), or is the error when fallback is not allowed.
pub struct AccelTdecq<'a> {
    accel: &'a dyn Accelerator,
    warnings: &'a std::sync::Mutex<Vec<String>>,
    failed: std::sync::atomic::AtomicBool,
}

impl<'a> AccelTdecq<'a> {
    /// TDECQ's evaluations on `accel`, warnings to `warnings`.
    pub fn new(accel: &'a dyn Accelerator, warnings: &'a std::sync::Mutex<Vec<String>>) -> Self {
        AccelTdecq { accel, warnings, failed: false.into() }
    }
}

impl TdecqEngine for AccelTdecq<'_> {
    fn plan<'s>(&'s self, windows: &[TdecqWindow<'_>], bins: &TdecqBins) -> Result<Option<Box<dyn TdecqHistograms + 's>>> {
        if self.failed.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(None);
        }
        self.accel.tdecq_histograms(windows, bins)
    }

    fn failed(&self, error: crate::Error) -> Result<()> {
        let reason = format!("{} failed ({error})", self.accel.name());
        if self.failed.swap(true, std::sync::atomic::Ordering::Relaxed) && self.accel.fallback_allowed() {
            return Ok(()); // already reported
        }
        let mut w = self.warnings.lock().map_err(|_| crate::Error::Unusable { stage: "gpu", reason: "warnings lock poisoned".into() })?;
        fail(self.accel, reason, "TDECQ's histogram evaluations", &mut w)
    }
}

/// Resamples onto a recovered clock on `accel` when given ([`Accelerator::resample_at`]), else
/// on the CPU ([`crate::timing::resample_at_parallel`]); an accelerator failure or a result of
/// the wrong length falls back to the CPU with the reason pushed to `warnings` (or is the
/// error when fallback is not allowed), as in [`ffe_equalize`].
pub fn resample_at(
    accel: Option<&dyn Accelerator>,
    x: &[f32],
    positions: &[f64],
    sps_out: usize,
    warnings: &std::sync::Mutex<Vec<String>>,
) -> Result<Vec<f32>> {
    if let Some(a) = accel {
        let want = if x.is_empty() { 0 } else { positions.len().saturating_mul(sps_out) };
        let reason = match a.resample_at(x, positions, sps_out) {
            Ok(y) if y.len() == want => return Ok(y),
            Ok(y) => format!("{} returned {} resampled points, expected {want}", a.name(), y.len()),
            Err(e) => format!("{} failed ({e})", a.name()),
        };
        let mut w = warnings.lock().map_err(|_| crate::Error::Unusable { stage: "gpu", reason: "warnings lock poisoned".into() })?;
        fail(a, reason, "the resampling", &mut w)?;
    }
    Ok(crate::timing::resample_at_parallel(x, positions, sps_out))
}

/// [`EyeHistogram::accumulate`] of `y` from phase 0, as counts.
pub fn cpu_eye_histogram(geometry: &EyeGeometry, y: &[f32]) -> Result<Vec<u32>> {
    let mut h = EyeHistogram::new(*geometry)?;
    h.accumulate(y)?;
    Ok(h.counts().to_vec())
}

/// An equalized signal `y` held by an engine. Each method returns what the CPU engine
/// returns for the same `y` (the defaults of [`HostEqualized`]).
pub trait Equalized {
    /// Number of samples of `y`.
    fn len(&self) -> usize;

    /// Whether `y` is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `y[range]` on the host (`range` within `0..len()`).
    fn read(&self, range: Range<usize>) -> Result<Vec<f32>>;

    /// Symbol and bit errors of `slicer`'s decisions on `y[start .. start + expected.len()]`
    /// against `expected` (bits by `mapping`): the counts of comparing
    /// [`Slicer::slice_vec`] with `expected` symbol by symbol.
    fn slice_count(&self, start: usize, expected: &[u8], slicer: &Slicer, m: Modulation, mapping: BitMapping) -> Result<ErrorCounts>;

    /// [`Slicer::slice_vec`] of `y`.
    fn slice(&self, slicer: &Slicer) -> Result<Vec<u8>>;

    /// [`Dfe::detect_parallel`] of `y`.
    fn dfe_detect(&self, dfe: &Dfe) -> Result<Vec<u8>>;

    /// [`Mlse::detect_parallel`] of `y`.
    fn mlse_detect(&self, mlse: &Mlse) -> Result<Vec<u8>>;
}

/// An equalized signal in host memory: the CPU engine (the reference of every [`Equalized`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HostEqualized(pub Vec<f32>);

/// Counts of [`Equalized::slice_count`] on the host (the naive reference).
pub fn host_slice_count(y: &[f32], expected: &[u8], slicer: &Slicer, m: Modulation, mapping: BitMapping) -> ErrorCounts {
    let mut c = ErrorCounts::default();
    for (&v, &e) in y.iter().zip(expected) {
        let d = slicer.decide(v);
        if d != e {
            c.symbol_errors += 1;
            c.bit_errors += bit_errors_between(d, e, m, mapping) as u64;
        }
    }
    c
}

impl Equalized for HostEqualized {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn read(&self, range: Range<usize>) -> Result<Vec<f32>> {
        check_range(&range, self.0.len())?;
        Ok(self.0[range].to_vec())
    }

    fn slice_count(&self, start: usize, expected: &[u8], slicer: &Slicer, m: Modulation, mapping: BitMapping) -> Result<ErrorCounts> {
        let range = start..start.saturating_add(expected.len());
        check_range(&range, self.0.len())?;
        Ok(host_slice_count(&self.0[range], expected, slicer, m, mapping))
    }

    fn slice(&self, slicer: &Slicer) -> Result<Vec<u8>> {
        Ok(slicer.slice_vec(&self.0))
    }

    fn dfe_detect(&self, dfe: &Dfe) -> Result<Vec<u8>> {
        Ok(dfe.detect_parallel(&self.0))
    }

    fn mlse_detect(&self, mlse: &Mlse) -> Result<Vec<u8>> {
        Ok(mlse.detect_parallel(&self.0))
    }
}

/// `Err` unless `range` lies within `0..len`.
pub fn check_range(range: &Range<usize>, len: usize) -> Result<()> {
    if range.start > range.end || range.end > len {
        return Err(crate::Error::invalid("range", format!("{range:?}"), format!("must lie within 0..{len}")));
    }
    Ok(())
}

/// Runs the FFE on `accel` when given, else on the CPU; an accelerator failure falls back to
/// the CPU with the reason pushed to `warnings` (or is returned when fallback is not allowed).
pub fn ffe_equalize(accel: Option<&dyn Accelerator>, ffe: &Ffe, x: &[f32], warnings: &mut Vec<String>) -> Result<Vec<f32>> {
    if let Some(a) = accel {
        match a.ffe_equalize(ffe, x) {
            Ok(y) if y.len() == ffe.output_len(x.len()) => return Ok(y),
            Ok(y) => {
                let reason = format!("{} returned {} FFE outputs, expected {}", a.name(), y.len(), ffe.output_len(x.len()));
                fail(a, reason, "the FFE", warnings)?;
            }
            Err(e) => fail(a, format!("{} failed ({e})", a.name()), "the FFE", warnings).map_err(|_| e)?,
        }
    }
    Ok(ffe.equalize(x))
}

/// `Err` when `a` may not fall back; else the warning is recorded.
fn fail(a: &dyn Accelerator, reason: String, stage: &str, warnings: &mut Vec<String>) -> Result<()> {
    if !a.fallback_allowed() {
        return Err(crate::Error::Unusable { stage: "gpu", reason });
    }
    warnings.push(format!("{reason}; the CPU engine ran {stage}"));
    Ok(())
}

/// The FFE output of the pipeline, on the accelerator when there is one (and it works), else
/// on the host. Every operation that fails on the accelerator falls back to the CPU with a
/// warning (the signal is then equalized on the host once and the accelerator is dropped), or
/// is returned as the error when the accelerator does not allow fallback.
pub struct EqualizedSignal<'a> {
    accel: Option<&'a dyn Accelerator>,
    dev: Option<Box<dyn Equalized + 'a>>,
    host: Option<HostEqualized>,
    ffe: &'a Ffe,
    x: &'a [f32],
}

impl<'a> EqualizedSignal<'a> {
    /// Equalizes `x` with `ffe` on `accel` (kept resident there) or on the CPU.
    pub fn new(accel: Option<&'a dyn Accelerator>, ffe: &'a Ffe, x: &'a [f32], warnings: &mut Vec<String>) -> Result<Self> {
        let mut s = EqualizedSignal { accel, dev: None, host: None, ffe, x };
        if let Some(a) = accel {
            let want = ffe.output_len(x.len());
            match a.equalize_resident(ffe, x) {
                Ok(d) if d.len() == want => s.dev = Some(d),
                Ok(d) => fail(a, format!("{} returned {} FFE outputs, expected {want}", a.name(), d.len()), "the FFE", warnings)?,
                Err(e) => fail(a, format!("{} failed ({e})", a.name()), "the FFE", warnings).map_err(|_| e)?,
            }
        }
        Ok(s)
    }

    /// Number of equalized samples.
    pub fn len(&self) -> usize {
        self.ffe.output_len(self.x.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the signal lives on the accelerator (no fallback happened so far).
    pub fn on_accelerator(&self) -> bool {
        self.dev.is_some()
    }

    fn host(&mut self) -> &HostEqualized {
        let (ffe, x) = (self.ffe, self.x);
        self.host.get_or_insert_with(|| HostEqualized(ffe.equalize(x)))
    }

    /// Runs `op` on the accelerator's signal when present (accepting the result if `ok` holds),
    /// else (or after a fallback) on the host's.
    fn run<T>(
        &mut self,
        stage: &str,
        warnings: &mut Vec<String>,
        ok: impl Fn(&T) -> bool,
        op: impl Fn(&dyn Equalized) -> Result<T>,
    ) -> Result<T> {
        if let (Some(d), Some(a)) = (self.dev.as_deref(), self.accel) {
            match op(d) {
                Ok(v) if ok(&v) => return Ok(v),
                Ok(_) => fail(a, format!("{} returned a malformed result for {stage}", a.name()), stage, warnings)?,
                Err(e) => fail(a, format!("{} failed ({e})", a.name()), stage, warnings).map_err(|_| e)?,
            }
            self.dev = None;
        }
        op(self.host())
    }

    /// `y[range]` on the host.
    pub fn read(&mut self, range: Range<usize>, warnings: &mut Vec<String>) -> Result<Vec<f32>> {
        let n = range.len();
        self.run("the readback", warnings, |v: &Vec<f32>| v.len() == n, |e| e.read(range.clone()))
    }

    /// [`Equalized::slice_count`].
    pub fn slice_count(
        &mut self,
        start: usize,
        expected: &[u8],
        slicer: &Slicer,
        m: Modulation,
        mapping: BitMapping,
        warnings: &mut Vec<String>,
    ) -> Result<ErrorCounts> {
        let n = expected.len() as u64;
        self.run(
            "the error count",
            warnings,
            |c: &ErrorCounts| c.symbol_errors <= n && c.bit_errors <= n * m.bits_per_symbol() as u64,
            |e| e.slice_count(start, expected, slicer, m, mapping),
        )
    }

    /// [`Equalized::slice`].
    pub fn slice(&mut self, slicer: &Slicer, warnings: &mut Vec<String>) -> Result<Vec<u8>> {
        let n = self.len();
        self.run("the slicer", warnings, |d: &Vec<u8>| d.len() == n, |e| e.slice(slicer))
    }

    /// [`Equalized::dfe_detect`].
    pub fn dfe_detect(&mut self, dfe: &Dfe, warnings: &mut Vec<String>) -> Result<Vec<u8>> {
        let n = self.len();
        self.run("the DFE", warnings, |d: &Vec<u8>| d.len() == n, |e| e.dfe_detect(dfe))
    }

    /// [`Equalized::mlse_detect`].
    pub fn mlse_detect(&mut self, mlse: &Mlse, warnings: &mut Vec<String>) -> Result<Vec<u8>> {
        let n = self.len();
        self.run("the MLSE", warnings, |d: &Vec<u8>| d.len() == n, |e| e.mlse_detect(mlse))
    }
}

/// The eye histogram of `y` on `accel` when given, else on the CPU; failures fall back as in
/// [`ffe_equalize`]. Warnings go to `warnings` (behind a mutex: called from a `Fn` hook).
pub fn eye_histogram(
    accel: Option<&dyn Accelerator>,
    geometry: &EyeGeometry,
    y: &[f32],
    warnings: &std::sync::Mutex<Vec<String>>,
) -> Result<Vec<u32>> {
    if let Some(a) = accel {
        let want = geometry.time_bins * geometry.amp_bins;
        let reason = match a.eye_histogram(geometry, y) {
            Ok(c) if c.len() == want => return Ok(c),
            Ok(c) => format!("{} returned {} eye histogram bins, expected {want}", a.name(), c.len()),
            Err(e) => format!("{} failed ({e})", a.name()),
        };
        let mut w = warnings.lock().map_err(|_| crate::Error::Unusable { stage: "gpu", reason: "warnings lock poisoned".into() })?;
        fail(a, reason, "the eye histogram", &mut w)?;
    }
    cpu_eye_histogram(geometry, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An engine whose signal works until the DFE, which fails.
    struct FailsAtDfe {
        fallback: bool,
    }

    struct Sig(HostEqualized);

    impl Equalized for Sig {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn read(&self, r: Range<usize>) -> Result<Vec<f32>> {
            self.0.read(r)
        }
        fn slice_count(&self, s: usize, e: &[u8], sl: &Slicer, m: Modulation, map: BitMapping) -> Result<ErrorCounts> {
            self.0.slice_count(s, e, sl, m, map)
        }
        fn slice(&self, _: &Slicer) -> Result<Vec<u8>> {
            // A wrong length: must be caught, not used.
            Ok(vec![0; self.0.len() + 1])
        }
        fn dfe_detect(&self, _: &Dfe) -> Result<Vec<u8>> {
            Err(crate::Error::Unusable { stage: "gpu", reason: "device lost (test)".into() })
        }
        fn mlse_detect(&self, m: &Mlse) -> Result<Vec<u8>> {
            self.0.mlse_detect(m)
        }
    }

    impl Accelerator for FailsAtDfe {
        fn name(&self) -> String {
            "test engine".into()
        }
        fn fallback_allowed(&self) -> bool {
            self.fallback
        }
        fn ffe_equalize(&self, ffe: &Ffe, x: &[f32]) -> Result<Vec<f32>> {
            Ok(ffe.equalize(x))
        }
        fn equalize_resident<'a>(&'a self, ffe: &Ffe, x: &[f32]) -> Result<Box<dyn Equalized + 'a>> {
            Ok(Box::new(Sig(HostEqualized(ffe.equalize(x)))))
        }
    }

    #[test]
    fn a_failing_stage_falls_back_to_the_cpu_or_is_an_error() {
        let m = Modulation::Pam4;
        let x: Vec<f32> = (0..3000).map(|k| m.level(((k * 7 + k / 5) % 4) as u8) + 0.2 * ((k % 13) as f32 / 13.0 - 0.5)).collect();
        let ffe = Ffe::new(vec![1.0, -0.1], 1, 0).unwrap();
        let dfe = Dfe::new(vec![0.1], m.level_set(), m).unwrap();
        let slicer = Slicer::for_levels(&m.level_set()).unwrap();
        let y = ffe.equalize(&x);
        let mut w = Vec::new();
        let engine = FailsAtDfe { fallback: true };
        let mut s = EqualizedSignal::new(Some(&engine), &ffe, &x, &mut w).unwrap();
        assert!(s.on_accelerator());
        assert_eq!(s.read(5..9, &mut w).unwrap(), y[5..9].to_vec());
        assert_eq!(s.dfe_detect(&dfe, &mut w).unwrap(), dfe.detect_parallel(&y));
        assert!(!s.on_accelerator(), "the failed engine is dropped");
        assert!(w.iter().any(|m| m.contains("device lost (test)") && m.contains("the CPU engine ran the DFE")), "{w:?}");
        assert_eq!(s.slice(&slicer, &mut w).unwrap(), slicer.slice_vec(&y));
        // Without fallback the engine's error is returned, and a malformed result is an error.
        let strict = FailsAtDfe { fallback: false };
        let mut w2 = Vec::new();
        let mut s = EqualizedSignal::new(Some(&strict), &ffe, &x, &mut w2).unwrap();
        let e = s.dfe_detect(&dfe, &mut w2).unwrap_err().to_string();
        assert!(e.contains("device lost (test)"), "{e}");
        let e = s.slice(&slicer, &mut w2).unwrap_err().to_string();
        assert!(e.contains("malformed"), "{e}");
        assert!(w2.is_empty());
        // With fallback the malformed slicer result is replaced by the CPU's.
        let mut w3 = Vec::new();
        let mut s = EqualizedSignal::new(Some(&engine), &ffe, &x, &mut w3).unwrap();
        assert_eq!(s.slice(&slicer, &mut w3).unwrap(), slicer.slice_vec(&y));
        assert!(w3.iter().any(|m| m.contains("malformed")), "{w3:?}");
    }

    /// An engine whose resampler returns one point too many, or fails.
    struct BadResampler {
        fails: bool,
        fallback: bool,
    }

    impl Accelerator for BadResampler {
        fn name(&self) -> String {
            "test engine".into()
        }
        fn fallback_allowed(&self) -> bool {
            self.fallback
        }
        fn ffe_equalize(&self, ffe: &Ffe, x: &[f32]) -> Result<Vec<f32>> {
            Ok(ffe.equalize(x))
        }
        fn resample_at(&self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Vec<f32>> {
            if self.fails {
                return Err(crate::Error::Unusable { stage: "gpu", reason: "device lost (test)".into() });
            }
            let mut y = crate::timing::resample_at(x, positions, sps_out);
            y.push(0.0);
            Ok(y)
        }
    }

    #[test]
    fn resampling_uses_the_engine_and_falls_back_to_the_cpu_or_is_an_error() {
        let x: Vec<f32> = (0..400).map(|k| ((k * 37) % 11) as f32 - 5.0).collect();
        let positions: Vec<f64> = (0..80).map(|k| 1.3 + 4.71 * k as f64).collect();
        let cpu = crate::timing::resample_at(&x, &positions, 3);
        // No engine and the default method: the CPU's points, bit for bit.
        let w = std::sync::Mutex::new(Vec::new());
        assert_eq!(resample_at(None, &x, &positions, 3, &w).unwrap(), cpu);
        assert_eq!(resample_at(Some(&FailsAtDfe { fallback: false }), &x, &positions, 3, &w).unwrap(), cpu);
        assert!(w.lock().unwrap().is_empty());
        for fails in [false, true] {
            let w = std::sync::Mutex::new(Vec::new());
            let y = resample_at(Some(&BadResampler { fails, fallback: true }), &x, &positions, 3, &w).unwrap();
            assert_eq!(y, cpu, "the CPU's points replace the engine's");
            let w = w.into_inner().unwrap();
            let why = if fails { "device lost (test)" } else { "returned 241 resampled points, expected 240" };
            assert!(w.len() == 1 && w[0].contains(why) && w[0].contains("the CPU engine ran the resampling"), "{w:?}");
            let w = std::sync::Mutex::new(Vec::new());
            let e = resample_at(Some(&BadResampler { fails, fallback: false }), &x, &positions, 3, &w).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn host_slice_count_counts_symbols_and_gray_bits() {
        let m = Modulation::Pam4;
        let slicer = Slicer::for_levels(&m.level_set()).unwrap();
        let y = [-1.0f32, -1.0 / 3.0, 1.0 / 3.0, 1.0];
        // Decisions 0,1,2,3 against 3,1,0,3: symbol errors at 0 (0↔3: Gray 00↔10, 1 bit) and 2 (2↔0: 11↔00, 2 bits).
        let c = host_slice_count(&y, &[3, 1, 0, 3], &slicer, m, BitMapping::Gray);
        assert_eq!(c, ErrorCounts { symbol_errors: 2, bit_errors: 3 });
    }
}
