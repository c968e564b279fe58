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
use crate::pattern::count::{count_errors, ErrorCounts};
use crate::{Modulation, Result};
use std::ops::Range;

/// Stages an accelerator can take over. Each method must return what the CPU engine returns
/// (bit-exact where the CPU result is integer, within f32 rounding otherwise).
pub trait Accelerator: Sync {
    /// Engine name for reports ("GPU engine (NVIDIA H200)", ...; the report's `engine`, see
    /// [`engine_label`]).
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

    /// [`Accelerator::resample_at`], the engine keeping a copy of the points where it computed
    /// them (`Some`, of the returned points' length) for a later stage to read there: the
    /// pipeline resamples the eye's raw signal through this and counts its histogram from the
    /// kept copy ([`KeptSignal::eye_histogram`]) instead of uploading the host's again.
    /// Default: [`Accelerator::resample_at`], nothing kept.
    fn resample_kept<'a>(&'a self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Resampled<'a>> {
        Ok((self.resample_at(x, positions, sps_out)?, None))
    }

    /// [`Accelerator::resample_at`] with the points only on the engine: `Some` (of
    /// `positions.len() · sps_out` points) when it computed them there and keeps them, and
    /// nothing comes back; the eye then reads them through [`KeptSignal`]'s passes
    /// ([`crate::eye::KeptEye`]). `Ok(None)`: the engine does not keep them (the caller
    /// resamples through [`Accelerator::resample_kept`]). Default: `Ok(None)`.
    fn resample_resident<'a>(&'a self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Option<Box<dyn KeptSignal + 'a>>> {
        let _ = (x, positions, sps_out);
        Ok(None)
    }

    /// The reference receiver's signal (TDECQ's, IEEE 802.3 121.8.5) kept on the engine: `x`
    /// through `filter` ([`crate::eq::BesselThomsonFilter::apply`], the end samples held;
    /// within f32 rounding) and then resampled as [`Accelerator::resample_resident`]
    /// (`positions.len() · sps_out` points), nothing coming back. `Ok(None)`: the engine does
    /// not keep them (the caller filters on the cores). Default: `Ok(None)`.
    fn reference_resident<'a>(&'a self, filter: &crate::eq::BesselThomsonFilter, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Option<Box<dyn KeptSignal + 'a>>> {
        let _ = (filter, x, positions, sps_out);
        Ok(None)
    }

    /// The eye's two signals kept on the engine from one copy of `x` there: its own points
    /// ([`Accelerator::resample_resident`]) and the reference receiver's
    /// ([`Accelerator::reference_resident`] with `filter`), as `[raw, reference]`, nothing
    /// coming back. `Ok(None)`: the engine does not keep them together (the caller asks for
    /// each). Default: `Ok(None)`.
    fn eye_resident<'a>(&'a self, filter: &crate::eq::BesselThomsonFilter, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Option<[Box<dyn KeptSignal + 'a>; 2]>> {
        let _ = (filter, x, positions, sps_out);
        Ok(None)
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

/// Resampled points on the host, and the engine's kept copy of them if it keeps one
/// ([`Accelerator::resample_kept`]).
pub type Resampled<'a> = (Vec<f32>, Option<Box<dyn KeptSignal + 'a>>);

/// Points an engine resampled and kept where it computed them ([`Accelerator::resample_kept`]).
pub trait KeptSignal: Send + Sync {
    /// Number of points kept.
    fn len(&self) -> usize;

    /// Whether none are.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The eye histogram of the kept points `range` (within `0..len()`): the counts of
    /// [`EyeHistogram::accumulate`] of that slice from phase 0, as
    /// [`Accelerator::eye_histogram`] of the same points on the host.
    fn eye_histogram(&self, geometry: &EyeGeometry, range: Range<usize>) -> Result<Vec<u32>>;

    /// The kept points `range` on the host.
    fn read(&self, range: Range<usize>) -> Result<Vec<f32>>;

    /// What one pass over the points `range` finds: the extremes and how many points equal
    /// them, the first non-finite point, the sum. Default: [`kept_scan_reference`] of
    /// [`KeptSignal::read`].
    fn scan(&self, range: Range<usize>) -> Result<KeptScan> {
        Ok(kept_scan_reference(&self.read(range)?))
    }

    /// The crossings of each of `thresholds` by the points `range`: the pairs `(k, k + 1)`
    /// with exactly one point below the threshold (`x − t < 0` in f32), in any order.
    /// Default: [`kept_crossings_reference`] of [`KeptSignal::read`].
    fn crossings(&self, range: Range<usize>, thresholds: &[f32]) -> Result<Vec<Vec<KeptCrossing>>> {
        Ok(kept_crossings_reference(&self.read(range)?, thresholds))
    }

    /// A window of rows of the points `range` (`x` below, of length `n`): row `r < rows`
    /// holds `x[clamp((first + r·stride)·S + o, 0, n − 1)]` for each `o` of `offsets`
    /// (row-major): the columns TDECQ's histogram windows read, and (first 0, stride 1, a row
    /// per whole UI, offsets below S) the eye metrics' columns. Default:
    /// [`kept_window_reference`] of [`KeptSignal::read`].
    fn window(&self, range: Range<usize>, samples_per_ui: usize, first: isize, stride: usize, rows: usize, offsets: &[isize]) -> Result<Vec<f32>> {
        Ok(kept_window_reference(&self.read(range)?, samples_per_ui, first, stride, rows, offsets))
    }

    /// The points at `indices` (within `range`, relative to its start), in that order.
    /// Default: from [`KeptSignal::read`].
    fn gather(&self, range: Range<usize>, indices: &[usize]) -> Result<Vec<f32>> {
        let x = self.read(range)?;
        indices
            .iter()
            .map(|&i| x.get(i).copied().ok_or_else(|| crate::Error::invalid("kept point index", i, format!("must be below {}", x.len()))))
            .collect()
    }
}

/// What [`KeptSignal::scan`] finds (over the finite points; when there is a non-finite one
/// the caller reports it and the rest does not matter).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeptScan {
    /// The first point (from the range's start) that is not finite.
    pub first_non_finite: Option<usize>,
    /// Smallest finite point (+∞ when there is none; a zero's sign unspecified).
    pub min: f32,
    /// Largest finite point (−∞ when there is none).
    pub max: f32,
    /// Points equal to `min`.
    pub at_min: usize,
    /// Points equal to `max`.
    pub at_max: usize,
    /// Σ of the finite points, in the engine's order of summation (within `n · ε_f32 · Σ|x|`
    /// of the exact sum).
    pub sum: f64,
}

/// A threshold crossing [`KeptSignal::crossings`] found: between points `k` and `k + 1`
/// (from the range's start), whose values are `x0` and `x1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeptCrossing {
    /// Index of the first point of the pair.
    pub k: usize,
    /// Its value.
    pub x0: f32,
    /// The next point's value.
    pub x1: f32,
}

/// The serial reference of [`KeptSignal::scan`] over `x` (its sum: the serial `f64` sum).
pub fn kept_scan_reference(x: &[f32]) -> KeptScan {
    let mut s = KeptScan { first_non_finite: None, min: f32::INFINITY, max: f32::NEG_INFINITY, at_min: 0, at_max: 0, sum: 0.0 };
    for (k, &v) in x.iter().enumerate() {
        if !v.is_finite() {
            s.first_non_finite.get_or_insert(k);
            continue;
        }
        s.min = s.min.min(v);
        s.max = s.max.max(v);
        s.sum += v as f64;
    }
    s.at_min = x.iter().filter(|&&v| v.is_finite() && v == s.min).count();
    s.at_max = x.iter().filter(|&&v| v.is_finite() && v == s.max).count();
    s
}

/// The reference of [`KeptSignal::window`] over `x` (empty rows when `x` is).
pub fn kept_window_reference(x: &[f32], samples_per_ui: usize, first: isize, stride: usize, rows: usize, offsets: &[isize]) -> Vec<f32> {
    if x.is_empty() {
        return Vec::new();
    }
    let last = x.len() as isize - 1;
    let (s, stride) = (samples_per_ui as isize, stride as isize);
    (0..rows as isize).flat_map(|r| offsets.iter().map(move |&o| x[((first + r * stride) * s + o).clamp(0, last) as usize])).collect()
}

/// The reference of [`KeptSignal::crossings`] over `x`, in pair order.
pub fn kept_crossings_reference(x: &[f32], thresholds: &[f32]) -> Vec<Vec<KeptCrossing>> {
    thresholds
        .iter()
        .map(|&t| {
            x.windows(2)
                .enumerate()
                .filter(|(_, w)| (w[0] - t < 0.0) != (w[1] - t < 0.0))
                .map(|(k, w)| KeptCrossing { k, x0: w[0], x1: w[1] })
                .collect()
        })
        .collect()
}

/// [`Accelerator::resample_resident`] on `accel` with the pipeline's failure rule: a failure
/// or a kept copy of the wrong length is `Ok(None)` with the reason pushed to `warnings` (the
/// caller then resamples the host's way), or the error when fallback is not allowed.
pub fn resample_resident<'a>(
    accel: &'a dyn Accelerator,
    x: &[f32],
    positions: &[f64],
    sps_out: usize,
    warnings: &std::sync::Mutex<Vec<String>>,
) -> Result<Residency<Box<dyn KeptSignal + 'a>>> {
    resident(accel, accel.resample_resident(x, positions, sps_out), x, positions, sps_out, "the resampling", warnings)
}

/// What `kept`, an engine's resident call of `stage` ([`Accelerator::resample_resident`],
/// [`Accelerator::reference_resident`], [`Accelerator::eye_resident`]) on `x` resampled at
/// `positions` (`sps_out` per UI), means under the failure rule of [`resample_resident`]: each
/// kept signal must hold `positions.len() · sps_out` points (none of an empty `x`).
pub fn resident<K: KeptSignals>(
    accel: &dyn Accelerator,
    kept: Result<Option<K>>,
    x: &[f32],
    positions: &[f64],
    sps_out: usize,
    stage: &str,
    warnings: &std::sync::Mutex<Vec<String>>,
) -> Result<Residency<K>> {
    let want = if x.is_empty() { 0 } else { positions.len().saturating_mul(sps_out) };
    let reason = match kept {
        Ok(None) => return Ok(Residency::Declined),
        Ok(Some(k)) if k.lens().iter().all(|&n| n == want) => return Ok(Residency::Kept(k)),
        Ok(Some(k)) => format!("{} kept {:?} resampled points, expected {want}", accel.name(), k.lens()),
        Err(e) => format!("{} failed ({e})", accel.name()),
    };
    fail_stage(accel, reason, stage, warnings)?;
    Ok(Residency::FellBack)
}

/// What a resident call keeps: one signal or several ([`resident`] checks their lengths).
pub trait KeptSignals {
    /// The points each signal keeps.
    fn lens(&self) -> Vec<usize>;
}

impl KeptSignals for Box<dyn KeptSignal + '_> {
    fn lens(&self) -> Vec<usize> {
        vec![self.len()]
    }
}

impl<const N: usize> KeptSignals for [Box<dyn KeptSignal + '_>; N] {
    fn lens(&self) -> Vec<usize> {
        self.iter().map(|k| k.len()).collect()
    }
}

/// What [`resample_resident`] (and the other resident calls) did.
pub enum Residency<K> {
    /// The points are on the engine, nothing came back.
    Kept(K),
    /// The engine does not keep them: resample through [`resample_kept`].
    Declined,
    /// The engine failed (the warning is pushed): the CPU resamples.
    FellBack,
}

/// [`fail`] with the warnings behind a mutex (the hooks and stages that run on the pool):
/// under fallback the reason goes to `warnings` (the CPU engine then runs `stage`), else it
/// is the error.
pub(crate) fn fail_stage(accel: &dyn Accelerator, reason: String, stage: &str, warnings: &std::sync::Mutex<Vec<String>>) -> Result<()> {
    let mut w = warnings.lock().map_err(|_| crate::Error::Unusable { stage: "gpu", reason: "warnings lock poisoned".into() })?;
    fail(accel, reason, stage, &mut w)
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
        fail_stage(self.accel, reason, "TDECQ's histogram evaluations", self.warnings)
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
    Ok(resample_on(accel, x, positions, sps_out, warnings, |a| Ok((a.resample_at(x, positions, sps_out)?, None)))?.0)
}

/// [`resample_at`] that keeps the points on `accel` too ([`Accelerator::resample_kept`]), with
/// the same failure rule; a kept copy of the wrong length counts as a malformed result.
pub fn resample_kept<'a>(
    accel: Option<&'a dyn Accelerator>,
    x: &[f32],
    positions: &[f64],
    sps_out: usize,
    warnings: &std::sync::Mutex<Vec<String>>,
) -> Result<Resampled<'a>> {
    resample_on(accel, x, positions, sps_out, warnings, |a| a.resample_kept(x, positions, sps_out))
}

/// The failure rule of [`resample_at`] and [`resample_kept`] around `call` on `accel`.
fn resample_on<'a>(
    accel: Option<&'a dyn Accelerator>,
    x: &[f32],
    positions: &[f64],
    sps_out: usize,
    warnings: &std::sync::Mutex<Vec<String>>,
    call: impl FnOnce(&'a dyn Accelerator) -> Result<Resampled<'a>>,
) -> Result<Resampled<'a>> {
    if let Some(a) = accel {
        let want = if x.is_empty() { 0 } else { positions.len().saturating_mul(sps_out) };
        let reason = match call(a) {
            Ok((y, kept)) if y.len() == want && kept.as_ref().is_none_or(|k| k.len() == want) => return Ok((y, kept)),
            Ok((y, None)) => format!("{} returned {} resampled points, expected {want}", a.name(), y.len()),
            Ok((y, Some(k))) => format!("{} returned {} resampled points and kept {}, expected {want}", a.name(), y.len(), k.len()),
            Err(e) => format!("{} failed ({e})", a.name()),
        };
        fail_stage(a, reason, "the resampling", warnings)?;
    }
    Ok((crate::timing::resample_at_parallel(x, positions, sps_out), None))
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

    /// [`Dfe::detect_parallel`] of `prefix` followed by `y[range]`: a detector restarted on
    /// host-held history (a streamed block's earlier outputs) over outputs that stay where the
    /// engine keeps them (no second upload of the block). `prefix.len() + range.len()`
    /// decisions. Default: reads `y[range]` and detects on the host.
    fn dfe_detect_after(&self, dfe: &Dfe, prefix: &[f32], range: Range<usize>) -> Result<Vec<u8>> {
        Ok(dfe.detect_parallel(&joined(prefix, self.read(range)?)))
    }

    /// [`Mlse::detect_parallel`] of `prefix` followed by `y[range]` (see
    /// [`Equalized::dfe_detect_after`]). Default: reads `y[range]` and detects on the host.
    fn mlse_detect_after(&self, mlse: &Mlse, prefix: &[f32], range: Range<usize>) -> Result<Vec<u8>> {
        Ok(mlse.detect_parallel(&joined(prefix, self.read(range)?)))
    }
}

/// `prefix` followed by `rest`, in one vector.
pub fn joined(prefix: &[f32], rest: Vec<f32>) -> Vec<f32> {
    if prefix.is_empty() {
        return rest;
    }
    let mut v = Vec::with_capacity(prefix.len() + rest.len());
    v.extend_from_slice(prefix);
    v.extend_from_slice(&rest);
    v
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
    warnings.push(format!("{reason}{FALLBACK}{stage}"));
    Ok(())
}

/// What [`fail`] puts between the reason and the stage the CPU engine took over.
const FALLBACK: &str = "; the CPU engine ran ";

/// The report's `engine`: "CPU engine" without an accelerator, else the accelerator's name,
/// followed by the stages the CPU engine took over from it (from the fallback warnings that
/// [`fail`] pushed to `warnings`, in their order, each once).
///
/// ```
/// # use lightlane_core::accel::engine_label;
/// assert_eq!(engine_label(None, &["a warning".to_string()]), "CPU engine");
/// ```
pub fn engine_label(accel: Option<&dyn Accelerator>, warnings: &[String]) -> String {
    let Some(a) = accel else {
        return "CPU engine".into();
    };
    let mut took: Vec<&str> = Vec::new();
    for stage in warnings.iter().filter_map(|w| w.rsplit_once(FALLBACK).map(|(_, s)| s)) {
        if !took.contains(&stage) {
            took.push(stage);
        }
    }
    match took.is_empty() {
        true => a.name(),
        false => format!("{}{FALLBACK}{}", a.name(), took.join(", ")),
    }
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

    /// [`Equalized::slice`] of the whole signal and [`Equalized::slice_count`] of
    /// `y[start .. start + expected.len()]` against `expected`, as one call. On the accelerator
    /// both run there (the counts where the signal lives); on the host the slicer runs once and
    /// the counts come from its decisions ([`count_errors`] of the same decisions, so the same
    /// counts as [`host_slice_count`]).
    pub fn slice_and_count(
        &mut self,
        start: usize,
        expected: &[u8],
        slicer: &Slicer,
        m: Modulation,
        mapping: BitMapping,
        warnings: &mut Vec<String>,
    ) -> Result<(ErrorCounts, Vec<u8>)> {
        if self.dev.is_some() {
            let counts = self.slice_count(start, expected, slicer, m, mapping, warnings)?;
            return Ok((counts, self.slice(slicer, warnings)?));
        }
        let range = start..start.saturating_add(expected.len());
        check_range(&range, self.len())?;
        let decisions = self.slice(slicer, warnings)?;
        Ok((count_errors(&decisions[range], expected, m, mapping), decisions))
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

    /// [`Equalized::dfe_detect_after`]: the DFE over `prefix` then `y[range]`, reading the
    /// resident outputs (no second upload).
    pub fn dfe_detect_after(&mut self, dfe: &Dfe, prefix: &[f32], range: Range<usize>, warnings: &mut Vec<String>) -> Result<Vec<u8>> {
        check_range(&range, self.len())?;
        let n = prefix.len() + range.len();
        self.run("the DFE", warnings, |d: &Vec<u8>| d.len() == n, |e| e.dfe_detect_after(dfe, prefix, range.clone()))
    }

    /// [`Equalized::mlse_detect_after`]: the MLSE over `prefix` then `y[range]`, reading the
    /// resident outputs (no second upload).
    pub fn mlse_detect_after(&mut self, mlse: &Mlse, prefix: &[f32], range: Range<usize>, warnings: &mut Vec<String>) -> Result<Vec<u8>> {
        check_range(&range, self.len())?;
        let n = prefix.len() + range.len();
        self.run("the MLSE", warnings, |d: &Vec<u8>| d.len() == n, |e| e.mlse_detect_after(mlse, prefix, range.clone()))
    }
}

/// The eye histogram of `y` on `accel` when given, else on the CPU; failures fall back as in
/// [`ffe_equalize`]. `kept`: the engine's copy of `y` ([`KeptSignal`]) and where `y` lies in
/// it, counted there instead of uploading `y`. Warnings go to `warnings` (behind a mutex:
/// called from a `Fn` hook).
pub fn eye_histogram(
    accel: Option<&dyn Accelerator>,
    geometry: &EyeGeometry,
    y: &[f32],
    kept: Option<(&dyn KeptSignal, Range<usize>)>,
    warnings: &std::sync::Mutex<Vec<String>>,
) -> Result<Vec<u32>> {
    if let Some(a) = accel {
        let want = geometry.time_bins * geometry.amp_bins;
        let counts = match kept {
            Some((k, range)) if range.len() == y.len() && range.end <= k.len() => k.eye_histogram(geometry, range),
            Some((k, range)) => Err(crate::Error::invalid("kept eye points", format!("{range:?}"), format!("must lie within 0..{} and hold {} points", k.len(), y.len()))),
            None => a.eye_histogram(geometry, y),
        };
        let reason = match counts {
            Ok(c) if c.len() == want => return Ok(c),
            Ok(c) => format!("{} returned {} eye histogram bins, expected {want}", a.name(), c.len()),
            Err(e) => format!("{} failed ({e})", a.name()),
        };
        fail_stage(a, reason, "the eye histogram", warnings)?;
    }
    cpu_eye_histogram(geometry, y)
}

/// Shared pieces of the test doubles of accelerator hooks (this module's `TestEngine`, the
/// TDECQ engine double in `eye::tdecq`).
#[cfg(test)]
pub(crate) mod test_support {
    use crate::Result;
    use std::sync::Mutex;

    /// The error a scripted failure returns.
    pub(crate) fn lost() -> crate::Error {
        crate::Error::Unusable { stage: "gpu", reason: "device lost (test)".into() }
    }

    /// When a scripted stage misbehaves: at every call, or at its `n`-th call (from 0).
    #[derive(Debug, Clone, Copy)]
    enum When {
        Always,
        At(usize),
    }

    /// A failure-injection script for test doubles: each call is recorded by stage name;
    /// the stages scripted to fail return "device lost (test)", the ones scripted malformed
    /// tell the double to return a malformed result (wrong length, a miscount).
    #[derive(Debug, Default)]
    pub(crate) struct FailureScript {
        fail: Vec<(&'static str, When)>,
        malformed: Vec<(&'static str, When)>,
        calls: Mutex<Vec<&'static str>>,
    }

    impl FailureScript {
        /// No failures.
        pub(crate) fn new() -> Self {
            Self::default()
        }

        /// Every call of each of `stages` fails.
        pub(crate) fn failing(mut self, stages: &[&'static str]) -> Self {
            self.fail.extend(stages.iter().map(|&s| (s, When::Always)));
            self
        }

        /// Every call of each of `stages` is malformed.
        pub(crate) fn malformed(mut self, stages: &[&'static str]) -> Self {
            self.malformed.extend(stages.iter().map(|&s| (s, When::Always)));
            self
        }

        /// The `n`-th call (from 0) of `stage` fails.
        pub(crate) fn fail_at(mut self, stage: &'static str, n: usize) -> Self {
            self.fail.push((stage, When::At(n)));
            self
        }

        /// The `n`-th call (from 0) of `stage` is malformed.
        pub(crate) fn malformed_at(mut self, stage: &'static str, n: usize) -> Self {
            self.malformed.push((stage, When::At(n)));
            self
        }

        /// Records a call of `stage` without scripting it.
        pub(crate) fn record(&self, stage: &'static str) {
            self.calls.lock().unwrap().push(stage);
        }

        /// Records a call of `stage`: `Err` when it is to fail, else whether to malform it.
        pub(crate) fn call(&self, stage: &'static str) -> Result<bool> {
            let k = {
                let mut c = self.calls.lock().unwrap();
                let k = c.iter().filter(|&&x| x == stage).count();
                c.push(stage);
                k
            };
            let hits = |list: &[(&'static str, When)]| {
                list.iter().any(|&(s, w)| {
                    s == stage
                        && match w {
                            When::Always => true,
                            When::At(n) => n == k,
                        }
                })
            };
            if hits(&self.fail) {
                return Err(lost());
            }
            Ok(hits(&self.malformed))
        }

        /// Calls of `stage` so far.
        pub(crate) fn called(&self, stage: &str) -> usize {
            self.calls.lock().unwrap().iter().filter(|&&c| c == stage).count()
        }

        /// Every call so far, in order.
        pub(crate) fn log(&self) -> Vec<&'static str> {
            self.calls.lock().unwrap().clone()
        }
    }

    #[test]
    fn the_script_fails_and_malforms_the_calls_it_names() {
        let s = FailureScript::new().failing(&["a"]).fail_at("b", 1).malformed_at("b", 2).malformed(&["c"]);
        assert!(s.call("a").is_err() && s.call("a").is_err());
        assert!(!s.call("b").unwrap());
        assert!(s.call("b").unwrap_err().to_string().contains("device lost (test)"));
        assert!(s.call("b").unwrap());
        assert!(!s.call("b").unwrap());
        assert!(s.call("c").unwrap() && s.call("c").unwrap());
        assert!(!s.call("d").unwrap());
        assert_eq!((s.called("a"), s.called("b"), s.called("d")), (2, 4, 1));
        assert_eq!(s.log().len(), 9);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use test_support::FailureScript;

    /// One configurable test engine: every stage gives the CPU engine's result, except the
    /// stages named in `fail` (an error: "device lost (test)") and in `malformed` (a result of
    /// the wrong length, or a miscount); each call is recorded by stage name.
    struct TestEngine {
        fallback: bool,
        script: FailureScript,
        /// Keeps resampled points without returning them ([`Accelerator::resample_resident`]).
        resident: bool,
    }

    impl TestEngine {
        fn new(fallback: bool, fail: &'static [&'static str], malformed: &'static [&'static str]) -> Self {
            TestEngine { fallback, script: FailureScript::new().failing(fail).malformed(malformed), resident: false }
        }
        /// The engine keeping the eye's points resident.
        fn resident(mut self) -> Self {
            self.resident = true;
            self
        }
        /// Records the call; `Err` when `stage` is to fail, else whether to malform it.
        fn call(&self, stage: &'static str) -> Result<bool> {
            self.script.call(stage)
        }
        fn called(&self, stage: &str) -> usize {
            self.script.called(stage)
        }
    }

    struct TestSignal<'a> {
        y: HostEqualized,
        engine: &'a TestEngine,
    }

    impl TestSignal<'_> {
        /// A detector call through the script: one decision short when it is malformed.
        fn detect(&self, stage: &'static str, run: impl FnOnce() -> Result<Vec<u8>>) -> Result<Vec<u8>> {
            let bad = self.engine.call(stage)?;
            let mut d = run()?;
            if bad {
                d.pop();
            }
            Ok(d)
        }
    }

    impl Equalized for TestSignal<'_> {
        fn len(&self) -> usize {
            self.y.len()
        }
        fn read(&self, r: Range<usize>) -> Result<Vec<f32>> {
            let bad = self.engine.call("read")?;
            let mut v = self.y.read(r)?;
            if bad {
                v.push(0.0);
            }
            Ok(v)
        }
        fn slice_count(&self, s: usize, e: &[u8], sl: &Slicer, m: Modulation, map: BitMapping) -> Result<ErrorCounts> {
            let bad = self.engine.call("slice_count")?;
            let mut c = self.y.slice_count(s, e, sl, m, map)?;
            if bad {
                c.symbol_errors = e.len() as u64 + 1;
            }
            Ok(c)
        }
        fn slice(&self, sl: &Slicer) -> Result<Vec<u8>> {
            let bad = self.engine.call("slice")?;
            let mut d = self.y.slice(sl)?;
            if bad {
                d.push(0);
            }
            Ok(d)
        }
        fn dfe_detect(&self, dfe: &Dfe) -> Result<Vec<u8>> {
            self.detect("dfe", || self.y.dfe_detect(dfe))
        }
        fn mlse_detect(&self, m: &Mlse) -> Result<Vec<u8>> {
            self.detect("mlse", || self.y.mlse_detect(m))
        }
        fn dfe_detect_after(&self, dfe: &Dfe, prefix: &[f32], r: Range<usize>) -> Result<Vec<u8>> {
            self.detect("dfe", || self.y.dfe_detect_after(dfe, prefix, r))
        }
        fn mlse_detect_after(&self, m: &Mlse, prefix: &[f32], r: Range<usize>) -> Result<Vec<u8>> {
            self.detect("mlse", || self.y.mlse_detect_after(m, prefix, r))
        }
    }

    /// The test engine's kept resampled points: a host copy, counted on the CPU.
    struct TestKept<'a> {
        y: Vec<f32>,
        engine: &'a TestEngine,
    }

    impl KeptSignal for TestKept<'_> {
        fn len(&self) -> usize {
            self.y.len()
        }
        fn eye_histogram(&self, geometry: &EyeGeometry, range: Range<usize>) -> Result<Vec<u32>> {
            let bad = self.engine.call("kept_eye_histogram")?;
            let mut h = cpu_eye_histogram(geometry, &self.y[range])?;
            if bad {
                h.pop();
            }
            Ok(h)
        }
        fn read(&self, range: Range<usize>) -> Result<Vec<f32>> {
            let bad = self.engine.call("kept_read")?;
            let mut v = self.y[range].to_vec();
            if bad {
                v.pop();
            }
            Ok(v)
        }
        fn scan(&self, range: Range<usize>) -> Result<KeptScan> {
            let bad = self.engine.call("kept_scan")?;
            let mut s = kept_scan_reference(&self.y[range.clone()]);
            if bad {
                s.first_non_finite = Some(range.len() + 3);
            }
            Ok(s)
        }
        fn crossings(&self, range: Range<usize>, thresholds: &[f32]) -> Result<Vec<Vec<KeptCrossing>>> {
            let bad = self.engine.call("kept_crossings")?;
            let mut c = kept_crossings_reference(&self.y[range.clone()], thresholds);
            if bad {
                c[0].push(KeptCrossing { k: range.len(), x0: 0.0, x1: 0.0 });
            }
            Ok(c)
        }
        fn window(&self, range: Range<usize>, s: usize, first: isize, stride: usize, rows: usize, offsets: &[isize]) -> Result<Vec<f32>> {
            let bad = self.engine.call("kept_window")?;
            let mut v = kept_window_reference(&self.y[range], s, first, stride, rows, offsets);
            if bad {
                v.pop();
            }
            Ok(v)
        }
        fn gather(&self, range: Range<usize>, indices: &[usize]) -> Result<Vec<f32>> {
            let bad = self.engine.call("kept_gather")?;
            let mut v: Vec<f32> = indices.iter().map(|&i| self.y[range.start + i]).collect();
            if bad {
                v.pop();
            }
            Ok(v)
        }
    }

    /// The test engine's TDECQ evaluations: the naive reference on copies of the windows.
    struct TestHistograms<'a> {
        windows: Vec<(Vec<f32>, Vec<usize>, usize)>,
        bins: TdecqBins,
        engine: &'a TestEngine,
    }

    impl TdecqHistograms for TestHistograms<'_> {
        fn counts(&mut self, w: &[f32], counts: &mut [u32]) -> Result<()> {
            let bad = self.engine.call("tdecq_counts")?;
            counts.fill(0);
            let b = self.bins.bins;
            for (h, (data, offsets, rows)) in self.windows.iter().enumerate() {
                let win = TdecqWindow { data, offsets, rows: *rows };
                crate::eye::tdecq_window_counts_reference(&win, w, &self.bins, &mut counts[h * b..(h + 1) * b])?;
            }
            if bad {
                counts[0] += 1;
            }
            Ok(())
        }
    }

    impl Accelerator for TestEngine {
        fn name(&self) -> String {
            "test engine".into()
        }
        fn fallback_allowed(&self) -> bool {
            self.fallback
        }
        fn ffe_equalize(&self, ffe: &Ffe, x: &[f32]) -> Result<Vec<f32>> {
            let bad = self.call("ffe")?;
            let mut y = ffe.equalize(x);
            if bad {
                y.pop();
            }
            Ok(y)
        }
        fn equalize_resident<'a>(&'a self, ffe: &Ffe, x: &[f32]) -> Result<Box<dyn Equalized + 'a>> {
            if ffe.taps() == [1.0] {
                // An upload of a signal the engine computed already (the identity FFE).
                self.script.record("identity upload");
            }
            let bad = self.call("resident")?;
            let mut y = ffe.equalize(x);
            if bad {
                y.pop();
            }
            Ok(Box::new(TestSignal { y: HostEqualized(y), engine: self }))
        }
        fn eye_histogram(&self, geometry: &EyeGeometry, y: &[f32]) -> Result<Vec<u32>> {
            let bad = self.call("eye_histogram")?;
            let mut h = cpu_eye_histogram(geometry, y)?;
            if bad {
                h.pop();
            }
            Ok(h)
        }
        fn resample_at(&self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Vec<f32>> {
            let bad = self.call("resample")?;
            let mut y = crate::timing::resample_at(x, positions, sps_out);
            if bad {
                y.push(0.0);
            }
            Ok(y)
        }
        fn resample_kept<'a>(&'a self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Resampled<'a>> {
            let bad = self.call("resample_kept")?;
            let y = crate::timing::resample_at(x, positions, sps_out);
            let mut kept = y.clone();
            if bad {
                kept.pop();
            }
            Ok((y, Some(Box::new(TestKept { y: kept, engine: self }))))
        }
        fn resample_resident<'a>(&'a self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Option<Box<dyn KeptSignal + 'a>>> {
            if !self.resident {
                return Ok(None);
            }
            let bad = self.call("resample_resident")?;
            let mut kept = crate::timing::resample_at(x, positions, sps_out);
            if bad {
                kept.pop();
            }
            Ok(Some(Box::new(TestKept { y: kept, engine: self })))
        }
        fn tdecq_histograms<'a>(&'a self, windows: &[TdecqWindow<'_>], bins: &TdecqBins) -> Result<Option<Box<dyn TdecqHistograms + 'a>>> {
            self.call("tdecq_plan")?;
            let windows = windows.iter().map(|w| (w.data.to_vec(), w.offsets.to_vec(), w.rows)).collect();
            Ok(Some(Box::new(TestHistograms { windows, bins: *bins, engine: self })))
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
        // The DFE fails, the slicer returns one decision too many.
        let engine = TestEngine::new(true, &["dfe"], &["slice"]);
        let mut s = EqualizedSignal::new(Some(&engine), &ffe, &x, &mut w).unwrap();
        assert!(s.on_accelerator());
        assert_eq!(s.read(5..9, &mut w).unwrap(), y[5..9].to_vec());
        assert_eq!(s.dfe_detect(&dfe, &mut w).unwrap(), dfe.detect_parallel(&y));
        assert!(!s.on_accelerator(), "the failed engine is dropped");
        assert!(w.iter().any(|m| m.contains("device lost (test)") && m.contains("the CPU engine ran the DFE")), "{w:?}");
        assert_eq!(s.slice(&slicer, &mut w).unwrap(), slicer.slice_vec(&y));
        assert_eq!(engine.called("slice"), 0, "after the fallback the engine is not asked again");
        // Without fallback the engine's error is returned, and a malformed result is an error.
        let strict = TestEngine::new(false, &["dfe"], &["slice"]);
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
        // A resident signal of the wrong length is not used; the FFE's failure falls back too.
        let mut w4 = Vec::new();
        let short = TestEngine::new(true, &[], &["resident"]);
        assert!(!EqualizedSignal::new(Some(&short), &ffe, &x, &mut w4).unwrap().on_accelerator());
        assert!(w4.iter().any(|m| m.contains("FFE outputs")), "{w4:?}");
        let mut w5 = Vec::new();
        assert_eq!(ffe_equalize(Some(&TestEngine::new(true, &["ffe"], &[])), &ffe, &x, &mut w5).unwrap(), y);
        assert!(ffe_equalize(Some(&TestEngine::new(false, &["ffe"], &[])), &ffe, &x, &mut w5).is_err());
    }

    #[test]
    fn resampling_uses_the_engine_and_falls_back_to_the_cpu_or_is_an_error() {
        let x: Vec<f32> = (0..400).map(|k| ((k * 37) % 11) as f32 - 5.0).collect();
        let positions: Vec<f64> = (0..80).map(|k| 1.3 + 4.71 * k as f64).collect();
        let cpu = crate::timing::resample_at(&x, &positions, 3);
        // No engine and a working one: the CPU's points, bit for bit.
        let w = std::sync::Mutex::new(Vec::new());
        assert_eq!(resample_at(None, &x, &positions, 3, &w).unwrap(), cpu);
        let ok = TestEngine::new(false, &[], &[]);
        assert_eq!(resample_at(Some(&ok), &x, &positions, 3, &w).unwrap(), cpu);
        assert_eq!(ok.called("resample"), 1);
        assert!(w.lock().unwrap().is_empty());
        for (fail, malformed, why) in [(&["resample"][..], &[][..], "device lost (test)"), (&[], &["resample"], "returned 241 resampled points, expected 240")] {
            let w = std::sync::Mutex::new(Vec::new());
            let y = resample_at(Some(&TestEngine::new(true, fail, malformed)), &x, &positions, 3, &w).unwrap();
            assert_eq!(y, cpu, "the CPU's points replace the engine's");
            let w = w.into_inner().unwrap();
            assert!(w.len() == 1 && w[0].contains(why) && w[0].contains("the CPU engine ran the resampling"), "{w:?}");
            let w = std::sync::Mutex::new(Vec::new());
            let e = resample_at(Some(&TestEngine::new(false, fail, malformed)), &x, &positions, 3, &w).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }

    /// A PAM4 capture with the eye and TDECQ on (the pipeline's defaults).
    fn pam4_capture() -> (crate::Waveform, crate::analysis::AnalysisConfig) {
        let baud = 26.5625e9;
        let model = crate::sim::LinkModel::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
        let symbols = crate::pattern::Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
        (model.run(&symbols).unwrap().waveform, crate::analysis::AnalysisConfig::pam4(baud))
    }

    #[test]
    fn the_pipeline_runs_tdecq_on_the_engine_and_falls_back_or_fails_as_the_backend_says() {
        use crate::analysis::{analyze, analyze_using, analyze_with, AnalysisHooks};
        use crate::Backend;
        let (wf, cfg) = pam4_capture();
        assert!(cfg.eye.as_ref().is_some_and(|e| e.tdecq.is_some()), "TDECQ is on");
        let cpu = analyze(&wf, &cfg, Backend::Cpu).unwrap();
        let cpu_tdecq = cpu.eye.as_ref().and_then(|e| e.tdecq_db).expect("the CPU measured TDECQ");
        // A working engine: every evaluation through the hook, the CPU's report exactly, and
        // every stage marked in order.
        let engine = TestEngine::new(false, &[], &[]);
        let marks = Mutex::new(Vec::new());
        let mark = |s: &'static str| marks.lock().unwrap().push(s);
        let r = analyze_using(&wf, &cfg, Backend::Gpu, &AnalysisHooks { accel: Some(&engine), mark: Some(&mark), serial: true }).unwrap();
        assert!(engine.called("tdecq_plan") >= 3 && engine.called("tdecq_counts") > 20, "{:?}", engine.script.log());
        assert_eq!(serde_json::to_value(&r.eye).unwrap(), serde_json::to_value(&cpu.eye).unwrap());
        assert_eq!(r.warnings, cpu.warnings);
        assert_eq!((r.engine.as_str(), cpu.engine.as_str()), ("test engine", "CPU engine"));
        let marks = marks.into_inner().unwrap();
        let want = ["front end", "clock recovery", "levels and alignment", "equalization and decisions", "FEC", "eye resampling", "eye histogram", "eye metrics", "TDECQ", "eye pictures", "jitter"];
        assert_eq!(marks, want);
        // Failing evaluations under fallback: the same TDECQ, one warning.
        for (fail, malformed) in [(&["tdecq_counts"][..], &[][..]), (&["tdecq_plan"], &[]), (&[], &["tdecq_counts"])] {
            let engine = TestEngine::new(true, fail, malformed);
            let r = analyze_with(&wf, &cfg, Backend::Auto, Some(&engine)).unwrap();
            assert_eq!(r.eye.as_ref().and_then(|e| e.tdecq_db), Some(cpu_tdecq), "{fail:?} {malformed:?}");
            let w: Vec<_> = r.warnings.iter().filter(|w| w.contains("TDECQ's histogram evaluations")).collect();
            assert_eq!(w.len(), 1, "one fallback warning: {:?}", r.warnings);
            assert_eq!(r.engine, "test engine; the CPU engine ran TDECQ's histogram evaluations", "{:?}", r.warnings);
            // Without fallback (`--backend gpu`) the analysis fails with the engine's error.
            let strict = TestEngine::new(false, fail, malformed);
            let e = analyze_with(&wf, &cfg, Backend::Gpu, Some(&strict)).unwrap_err().to_string();
            assert!(e.contains("device lost (test)") || e.contains("malformed"), "{e}");
        }
        // A strict eye-histogram failure is an error too (no longer a skipped eye).
        let e = analyze_with(&wf, &cfg, Backend::Gpu, Some(&TestEngine::new(false, &["kept_eye_histogram"], &[]))).unwrap_err();
        assert!(e.to_string().contains("device lost (test)"), "{e}");
    }

    #[test]
    fn the_engine_label_names_the_stages_the_cpu_took_over_once_each_in_order() {
        let engine = TestEngine::new(true, &[], &[]);
        let mut w = Vec::new();
        assert_eq!(engine_label(Some(&engine), &w), "test engine");
        w.push("short capture".to_string());
        fail(&engine, "GPU engine failed (device lost)".into(), "the eye histogram", &mut w).unwrap();
        fail(&engine, "again".into(), "TDECQ", &mut w).unwrap();
        fail(&engine, "and again".into(), "the eye histogram", &mut w).unwrap();
        assert_eq!(w[1], "GPU engine failed (device lost); the CPU engine ran the eye histogram");
        assert_eq!(engine_label(Some(&engine), &w), "test engine; the CPU engine ran the eye histogram, TDECQ");
        assert_eq!(engine_label(None, &w), "CPU engine");
        // Without fallback the failure is the error, and nothing is pushed.
        let strict = TestEngine::new(false, &[], &[]);
        assert!(fail(&strict, "lost".into(), "FFE", &mut w).is_err());
        assert_eq!(w.len(), 4);
    }

    #[test]
    fn the_eye_beside_equalization_gives_the_serial_report_and_the_first_error() {
        use crate::analysis::{analyze_using, AnalysisHooks};
        use crate::Backend;
        let (wf, cfg) = pam4_capture();
        let json = |r: &crate::analysis::Report| serde_json::to_value(r).unwrap();
        for resident in [false, true] {
            let engine = || if resident { TestEngine::new(false, &[], &[]).resident() } else { TestEngine::new(false, &[], &[]) };
            let run = |accel: Option<&dyn Accelerator>, serial: bool| {
                let marks = Mutex::new(Vec::new());
                let mark = |s: &'static str| marks.lock().unwrap().push(s);
                let backend = if accel.is_some() { Backend::Gpu } else { Backend::Cpu };
                let r = analyze_using(&wf, &cfg, backend, &AnalysisHooks { accel, mark: Some(&mark), serial }).unwrap();
                (r, marks.into_inner().unwrap())
            };
            let (first, second) = (engine(), engine());
            for accels in [[None, None], [Some(&first as &dyn Accelerator), Some(&second as &dyn Accelerator)]] {
                let accel = accels[0];
                let (serial, serial_marks) = run(accels[0], true);
                let (beside, mut marks) = run(accels[1], false);
                assert_eq!(json(&beside), json(&serial), "resident {resident}, engine {}", accel.is_some());
                assert!(serial.eye.as_ref().is_some_and(|e| e.tdecq_db.is_some()), "{:?}", serial.warnings);
                assert!(serial_marks.contains(&"jitter") && serial_marks.contains(&"TDECQ"), "{serial_marks:?}");
                // Every stage marked once, in whatever order the two sides ended them.
                let mut want = serial_marks.clone();
                want.sort_unstable();
                marks.sort_unstable();
                assert_eq!(marks, want);
            }
            // The eye's first step, started beside the levels, is the eye's: the engine
            // resamples as often either way.
            for op in ["resample", "resample_kept", "resample_resident"] {
                assert_eq!(first.called(op), second.called(op), "{op}, resident {resident}");
            }
            assert!(second.called(if resident { "resample_resident" } else { "resample_kept" }) >= 1);
        }
        // Both sides failing without fallback: the equalization's error (too few FFE outputs),
        // as in order, not the eye's (device lost).
        let strict = TestEngine::new(false, &["kept_eye_histogram"], &["resident"]);
        let e = analyze_using(&wf, &cfg, Backend::Gpu, &AnalysisHooks { accel: Some(&strict), ..Default::default() }).unwrap_err().to_string();
        assert!(!e.contains("device lost (test)"), "{e}");
        let eye_only = TestEngine::new(false, &["kept_eye_histogram"], &[]);
        let e = analyze_using(&wf, &cfg, Backend::Gpu, &AnalysisHooks { accel: Some(&eye_only), ..Default::default() }).unwrap_err().to_string();
        assert!(e.contains("device lost (test)"), "{e}");
    }

    #[test]
    fn the_eye_histogram_counts_the_points_the_engine_kept_and_falls_back_or_fails() {
        use crate::analysis::analyze_with;
        use crate::Backend;
        let (wf, mut cfg) = pam4_capture();
        // The pictures are drawn from the histogram: the report's comparison covers its counts.
        cfg.eye.as_mut().unwrap().render_png = true;
        let cpu = analyze_with(&wf, &cfg, Backend::Cpu, None).unwrap();
        assert!(cpu.eye.as_ref().is_some_and(|e| e.pictures.is_some()));
        // The raw eye signal is resampled keeping its points on the engine, and its histogram
        // is counted from them (not uploaded again): the CPU's report, pictures included.
        let engine = TestEngine::new(false, &[], &[]);
        let r = analyze_with(&wf, &cfg, Backend::Gpu, Some(&engine)).unwrap();
        assert_eq!((engine.called("resample_kept"), engine.called("kept_eye_histogram"), engine.called("eye_histogram")), (1, 1, 0), "{:?}", engine.script.log());
        assert!(r.eye == cpu.eye, "the eye report, pictures included, is the CPU's");
        assert_eq!(r.warnings, cpu.warnings);
        // A failing or malformed kept histogram, or a kept copy of the wrong length: under
        // fallback the CPU's eye with one warning, else the engine's error.
        for (fail, malformed, why, stage) in [
            (&["kept_eye_histogram"][..], &[][..], "device lost (test)", "the eye histogram"),
            (&[], &["kept_eye_histogram"], "eye histogram bins", "the eye histogram"),
            (&["resample_kept"], &[], "device lost (test)", "the resampling"),
            (&[], &["resample_kept"], "resampled points and kept", "the resampling"),
        ] {
            let r = analyze_with(&wf, &cfg, Backend::Auto, Some(&TestEngine::new(true, fail, malformed))).unwrap();
            assert!(r.eye == cpu.eye, "{fail:?} {malformed:?}");
            let w: Vec<_> = r.warnings.iter().filter(|w| w.contains(why)).collect();
            assert!(w.len() == 1 && w[0].contains(&format!("the CPU engine ran {stage}")), "{fail:?} {malformed:?}: {:?}", r.warnings);
            let e = analyze_with(&wf, &cfg, Backend::Gpu, Some(&TestEngine::new(false, fail, malformed))).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
        // A kept copy that does not hold the counted range is refused, not read out of bounds.
        let engine = TestEngine::new(false, &[], &[]);
        let kept = TestKept { y: vec![0.0; 10], engine: &engine };
        let g = EyeGeometry { samples_per_ui: 4, span_ui: 2, time_bins: 8, amp_bins: 4, lo: -1.0, hi: 1.0 };
        let w = Mutex::new(Vec::new());
        let e = eye_histogram(Some(&engine), &g, &[0.0; 8], Some((&kept, 4..12)), &w).unwrap_err().to_string();
        assert!(e.contains("kept eye points"), "{e}");
        assert_eq!(eye_histogram(Some(&engine), &g, &[0.0; 8], Some((&kept, 2..10)), &w).unwrap().len(), 32);
    }

    #[test]
    fn the_eye_runs_on_resident_points_and_falls_back_or_fails() {
        use crate::analysis::analyze_with;
        use crate::Backend;
        let (wf, mut cfg) = pam4_capture();
        cfg.eye.as_mut().unwrap().render_png = true;
        let cpu = analyze_with(&wf, &cfg, Backend::Cpu, None).unwrap();
        assert!(cpu.eye.as_ref().is_some_and(|e| e.pictures.is_some() && e.tdecq_db.is_some() && e.er_db.is_none()));
        // The raw eye and TDECQ's signal resident on the engine: nothing read back, every
        // pass there (the eye's columns and TDECQ's windows gathered there), the CPU's report,
        // pictures included.
        let engine = TestEngine::new(false, &[], &[]).resident();
        let r = analyze_with(&wf, &cfg, Backend::Gpu, Some(&engine)).unwrap();
        let calls = ["resample_resident", "resample_kept", "kept_read", "kept_scan", "kept_eye_histogram", "kept_crossings", "kept_gather", "eye_histogram"];
        let got: Vec<usize> = calls.iter().map(|c| engine.called(c)).collect();
        assert_eq!(got, [2, 0, 0, 2, 1, 2, 2, 0], "{calls:?}: {:?}", engine.script.log());
        assert!(engine.called("kept_window") > 8, "TDECQ's windows");
        assert!(r.eye == cpu.eye, "the eye report, pictures included, is the CPU's");
        assert_eq!(r.warnings, cpu.warnings);
        // Without TDECQ the raw eye's columns are read twice: the centres (the diagram's, kept
        // for the metrics) and the eye-height window (kept for the bathtubs).
        let mut no_tdecq = cfg.clone();
        no_tdecq.eye.as_mut().unwrap().tdecq = None;
        let engine = TestEngine::new(false, &[], &[]).resident();
        let r = analyze_with(&wf, &no_tdecq, Backend::Gpu, Some(&engine)).unwrap();
        assert_eq!((engine.called("resample_resident"), engine.called("kept_window")), (1, 2), "{:?}", engine.script.log());
        assert!(r.eye == analyze_with(&wf, &no_tdecq, Backend::Cpu, None).unwrap().eye);
        // TDECQ on the raw signal itself (no reference receiver's filter): on its kept points.
        let mut raw_tdecq = cfg.clone();
        raw_tdecq.eye.as_mut().unwrap().tdecq.as_mut().unwrap().reference_f3db_per_baud = 10.0;
        let cpu_raw = analyze_with(&wf, &raw_tdecq, Backend::Cpu, None).unwrap();
        let engine = TestEngine::new(false, &[], &[]).resident();
        let r = analyze_with(&wf, &raw_tdecq, Backend::Gpu, Some(&engine)).unwrap();
        assert_eq!((engine.called("resample_resident"), engine.called("kept_read")), (1, 0));
        assert!(engine.called("kept_window") > 8);
        assert!(r.eye == cpu_raw.eye && r.eye.as_ref().is_some_and(|e| e.tdecq_db.is_some()));
        // A failing or malformed pass: under fallback the CPU's eye with one warning (a failing
        // resampling: one for each of the two signals), else the engine's error.
        for (fail, malformed, why, stage, warned) in [
            (&["kept_scan"][..], &[][..], "device lost (test)", "the eye", 1),
            (&[], &["kept_scan"], "malformed scan", "the eye", 1),
            (&["kept_eye_histogram"], &[], "device lost (test)", "the eye", 1),
            (&[], &["kept_eye_histogram"], "malformed eye histogram", "the eye", 1),
            (&["kept_crossings"], &[], "device lost (test)", "the eye", 1),
            (&[], &["kept_crossings"], "malformed crossings", "the eye", 1),
            (&["kept_gather"], &[], "device lost (test)", "the eye", 1),
            (&[], &["kept_gather"], "malformed gather", "the eye", 1),
            (&["kept_window"], &[], "device lost (test)", "the eye", 1),
            (&[], &["kept_window"], "malformed window", "the eye", 1),
            (&["resample_resident"], &[], "device lost (test)", "the resampling", 2),
            (&[], &["resample_resident"], "resampled points, expected", "the resampling", 2),
        ] {
            let r = analyze_with(&wf, &cfg, Backend::Auto, Some(&TestEngine::new(true, fail, malformed).resident())).unwrap();
            assert!(r.eye == cpu.eye, "{fail:?} {malformed:?}");
            let w: Vec<_> = r.warnings.iter().filter(|w| w.contains(why)).collect();
            assert!(w.len() == warned && w.iter().all(|w| w.contains(&format!("the CPU engine ran {stage}"))), "{fail:?} {malformed:?}: {:?}", r.warnings);
            let e = analyze_with(&wf, &cfg, Backend::Gpu, Some(&TestEngine::new(false, fail, malformed).resident())).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn the_streamed_analysis_runs_on_the_engine_and_falls_back_once_or_fails() {
        use crate::analysis::{analyze_stream, analyze_stream_with, AnalysisConfig, SliceSource, StreamOptions};
        use crate::Backend;
        let symbols = crate::pattern::Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 160_000).unwrap();
        let wf = crate::sim::LinkModel::demo_pam4().run(&symbols).unwrap().waveform;
        let mut cfg = AnalysisConfig::pam4(53.125e9);
        cfg.equalizer = "ffe:15,dfe:2".parse().unwrap();
        cfg.training_symbols = 8_192;
        let opts = StreamOptions { block_samples: 1 << 16, overlap_ui: 2048, check_batch_symbols: 10_000, ..Default::default() };
        let run = |engine: Option<&TestEngine>, backend| {
            let mut src = SliceSource::new(&wf.samples, wf.fs(), 30_001, "sim");
            analyze_stream_with(&mut src, &cfg, backend, &opts, engine.map(|e| e as &dyn Accelerator))
        };
        let cpu = analyze_stream(&mut SliceSource::new(&wf.samples, wf.fs(), 30_001, "sim"), &cfg, Backend::Cpu, &opts).unwrap();
        let counts = |r: &crate::analysis::Report| (r.symbols, r.symbol_errors, r.bit_errors, r.stages.clone(), r.fec.clone());
        // Every block's FFE, `ffe`-stage detector (the DFE chain's: its target fed back) and
        // decision DFE on the engine: the CPU's counts.
        let ok = TestEngine::new(false, &[], &[]);
        let r = run(Some(&ok), Backend::Gpu).unwrap();
        assert_eq!(counts(&r), counts(&cpu));
        assert!(ok.called("resident") >= 6 && ok.called("dfe") >= 6, "several blocks: {:?}", ok.script.log());
        // One upload per block: both DFEs read the block's resident FFE output.
        assert_eq!(ok.called("identity upload"), 0, "{:?}", ok.script.log());
        assert_eq!(ok.called("dfe"), 2 * ok.called("resident"), "{:?}", ok.script.log());
        // The slicer and MLSE chains: one upload per block too, the same counts as the CPU,
        // and the slicer chain's `ffe`-stage errors counted by the engine.
        for (chain, detector) in [("ffe:15", "slice_count"), ("ffe:15,mlse:1", "mlse")] {
            let mut cfg = cfg.clone();
            cfg.equalizer = chain.parse().unwrap();
            let cpu = analyze_stream(&mut SliceSource::new(&wf.samples, wf.fs(), 30_001, "sim"), &cfg, Backend::Cpu, &opts).unwrap();
            let e = TestEngine::new(false, &[], &[]);
            let r = analyze_stream_with(&mut SliceSource::new(&wf.samples, wf.fs(), 30_001, "sim"), &cfg, Backend::Gpu, &opts, Some(&e)).unwrap();
            assert_eq!(counts(&r), counts(&cpu), "{chain}");
            assert!(r.stages.iter().any(|s| s.symbols > 100_000), "{chain}: {:?}", r.stages);
            assert_eq!(e.called("identity upload"), 0, "{chain}: {:?}", e.script.log());
            assert!(e.called(detector) >= e.called("resident") - 1 && e.called("resident") >= 6, "{chain}: {:?}", e.script.log());
        }
        // A failing DFE under fallback: the same counts, one warning, the engine left after it.
        let failing = TestEngine::new(true, &["dfe"], &[]);
        let r = run(Some(&failing), Backend::Auto).unwrap();
        assert_eq!(counts(&r), counts(&cpu));
        assert_eq!(failing.called("dfe"), 1, "later blocks run on the CPU");
        assert_eq!(r.warnings.len(), cpu.warnings.len() + 1, "{:?}", r.warnings);
        assert!(r.warnings.iter().any(|w| w.contains("device lost (test)") && w.contains("the CPU engine ran the DFE")), "{:?}", r.warnings);
        // Without fallback the engine's error is the analysis' error.
        let e = run(Some(&TestEngine::new(false, &["dfe"], &[])), Backend::Gpu).unwrap_err().to_string();
        assert!(e.contains("device lost (test)"), "{e}");
    }

    #[test]
    fn slice_and_count_gives_the_separate_calls_results_on_host_and_engine() {
        let m = Modulation::Pam4;
        let slicer = Slicer::for_levels(&m.level_set()).unwrap();
        let ffe = Ffe::new(vec![0.1, 1.0, -0.2], 1, 1).unwrap();
        let mut s = 7u64;
        let mut rnd = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        let x: Vec<f32> = (0..5_003).map(|_| (rnd() % 4) as f32 * (2.0 / 3.0) - 1.0 + ((rnd() % 1000) as f32 - 500.0) * 6e-4).collect();
        let expected: Vec<u8> = (0..4_000).map(|_| (rnd() % 4) as u8).collect();
        let y = ffe.equalize(&x);
        let want_d = slicer.slice_vec(&y);
        for start in [0usize, 17, y.len() - expected.len()] {
            let want_c = host_slice_count(&y[start..start + expected.len()], &expected, &slicer, m, BitMapping::Gray);
            assert!(want_c.symbol_errors > 100, "random expectations miss often: {want_c:?}");
            // The host: one slicer pass, the counts from its decisions.
            let mut w = Vec::new();
            let mut host = EqualizedSignal::new(None, &ffe, &x, &mut w).unwrap();
            assert_eq!(host.slice_and_count(start, &expected, &slicer, m, BitMapping::Gray, &mut w).unwrap(), (want_c, want_d.clone()));
            // An engine: both on the engine (the counts where the signal lives).
            let e = TestEngine::new(false, &[], &[]);
            let mut dev = EqualizedSignal::new(Some(&e), &ffe, &x, &mut w).unwrap();
            assert_eq!(dev.slice_and_count(start, &expected, &slicer, m, BitMapping::Gray, &mut w).unwrap(), (want_c, want_d.clone()));
            assert_eq!((e.called("slice_count"), e.called("slice")), (1, 1));
            assert!(w.is_empty(), "{w:?}");
        }
        // A range past the end is an error, not a panic.
        let mut w = Vec::new();
        let mut host = EqualizedSignal::new(None, &ffe, &x, &mut w).unwrap();
        assert!(host.slice_and_count(y.len() - 10, &expected, &slicer, m, BitMapping::Gray, &mut w).is_err());
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
