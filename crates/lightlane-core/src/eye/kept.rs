//! An eye signal where an accelerator keeps it ([`KeptEye`]): the diagram, the metrics, the
//! vertical bathtubs and TDECQ ([`super::tdecq_on`]) from the engine's passes over its kept
//! points ([`KeptSignal`]), so that the signal itself never comes back to the host. Only what
//! the host's arithmetic needs returns: the extremes and the symbol centres, the eye-height
//! window's columns, the threshold crossings as sample pairs, the samples of the outer runs,
//! TDECQ's histogram windows. The host then does the same arithmetic on the same values as
//! [`EyeDiagram::build_with`], [`eye_metrics`](super::eye_metrics),
//! [`vertical_bathtubs`](super::vertical_bathtubs) and [`super::tdecq_with`] do on the whole
//! signal: the results are identical, except where P_ave enters (`EyeMetrics::p_ave`, TDECQ's
//! thresholds), whose sum the engine adds in its own order.

use super::bathtub::vertical_bathtubs_of;
use super::diagram::SignalShape;
use super::metrics::{assemble, check_target_ber, crossing_offset, outer_run_means, outer_run_spans, region, sndr, sort_total, vertical, window_indices, LevelParts, Measured};
use super::scan::SignalScan;
use super::{Bathtub, EyeConfig, EyeDiagram, EyeMetrics, EyeMetricsConfig, EyeSignal};
use crate::accel::{KeptScan, KeptSignal};
use crate::{Error, Modulation, Result};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

/// An eye signal (the layout of [`EyeSignal`]: symbol `k`'s centre at sample `k·S + S/2`)
/// whose samples are points an accelerator kept ([`crate::accel::Accelerator::resample_resident`]).
pub struct KeptEye<'a> {
    kept: Box<dyn KeptSignal + 'a>,
    range: Range<usize>,
    /// Samples per UI (even, ≥ 2).
    pub samples_per_ui: usize,
    /// Symbol rate, baud (`None` when unknown).
    pub baud: Option<f64>,
    /// Vertical unit of the samples.
    pub unit: String,
    scan: OnceLock<KeptScan>,
    /// The columns read so far ([`KeptEye::columns`]), for a second reader of the same ones.
    columns: Mutex<Vec<ReadColumns>>,
}

/// Columns read from the engine and which ones they are.
type ReadColumns = (Vec<usize>, Arc<Vec<f32>>);

impl std::fmt::Debug for KeptEye<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptEye").field("range", &self.range).field("samples_per_ui", &self.samples_per_ui).field("unit", &self.unit).finish()
    }
}

/// An engine's error or malformed answer, as the failure of the engine (which the pipeline's
/// rule turns into a fallback or the error).
fn engine_error(e: Error) -> Error {
    match e {
        e @ Error::Unusable { stage: "gpu", .. } => e,
        e => Error::Unusable { stage: "gpu", reason: format!("kept eye points: {e}") },
    }
}

fn malformed(what: &str) -> Error {
    Error::Unusable { stage: "gpu", reason: format!("kept eye points: malformed {what}") }
}

impl<'a> KeptEye<'a> {
    /// The signal [`EyeSignal::from_centred`] makes of points whose sample `k·S` is the centre
    /// of symbol `k` (the resampler's layout), kept by `kept`: its first `S/2` points are
    /// dropped. The same errors as `from_centred`.
    pub fn from_centred(kept: Box<dyn KeptSignal + 'a>, samples_per_ui: usize) -> Result<Self> {
        super::signal::check_sps(samples_per_ui)?;
        let half = samples_per_ui / 2;
        if kept.len() < half + 2 * samples_per_ui {
            return Err(Error::InputTooShort { what: "eye signal (samples)", needed: half + 2 * samples_per_ui, got: kept.len() });
        }
        Ok(KeptEye {
            range: half..kept.len(),
            kept,
            samples_per_ui,
            baud: None,
            unit: "V".into(),
            scan: OnceLock::new(),
            columns: Mutex::new(Vec::new()),
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// Number of whole symbols.
    pub fn symbols(&self) -> usize {
        self.len() / self.samples_per_ui
    }

    /// Whether the unit is optical power (as [`EyeSignal::is_optical`]).
    pub fn is_optical(&self) -> bool {
        matches!(self.unit.as_str(), "W" | "mW" | "uW" | "µW" | "nW")
    }

    /// The samples, read back: the [`EyeSignal`] itself.
    pub fn to_signal(&self) -> Result<EyeSignal> {
        let x = self.kept.read(self.range.clone()).map_err(engine_error)?;
        if x.len() != self.len() {
            return Err(malformed("read-back"));
        }
        Ok(EyeSignal { samples: x, samples_per_ui: self.samples_per_ui, baud: self.baud, unit: self.unit.clone() })
    }

    /// The engine's scan (once), with a non-finite sample as the error
    /// [`crate::error::check_finite`]`(what, ..)` gives on the host.
    fn scan(&self, what: &'static str) -> Result<KeptScan> {
        if let Some(s) = self.scan.get() {
            return Ok(*s);
        }
        let s = self.kept.scan(self.range.clone()).map_err(engine_error)?;
        if let Some(index) = s.first_non_finite {
            if index >= self.len() {
                return Err(malformed("scan"));
            }
            let value = self.kept.gather(self.range.clone(), &[index]).map_err(engine_error)?;
            let value = *value.first().ok_or_else(|| malformed("gather"))?;
            return Err(Error::NonFinite { what, index, value: value as f64 });
        }
        Ok(*self.scan.get_or_init(|| s))
    }

    /// What [`super::scan::scan_signal`]`(signal, true)` finds (the sum: the engine's), a
    /// non-finite sample being the error `check_finite(what, ..)` gives.
    pub(crate) fn signal_scan(&self, what: &'static str) -> Result<SignalScan> {
        let k = self.scan(what)?;
        let centres = self.centres()?;
        Ok(SignalScan { finite: true, min: k.min, max: k.max, at_min: k.at_min, at_max: k.at_max, sum: k.sum, centres: centres.to_vec() })
    }

    /// [`super::oma_outer_from_runs`] of the signal: the runs found here, their samples
    /// gathered by the engine and summed here (the same values).
    pub(crate) fn outer_runs(&self, decisions: &[usize], levels: usize) -> Result<Option<(f64, f64)>> {
        let spans = outer_run_spans(decisions, levels, self.samples_per_ui, self.len());
        let indices: Vec<usize> = spans.iter().flat_map(|(_, r)| r.clone()).collect();
        let values = if indices.is_empty() { Vec::new() } else { self.kept.gather(self.range.clone(), &indices).map_err(engine_error)? };
        if values.len() != indices.len() {
            return Err(malformed("gather"));
        }
        let mut at = 0;
        let sums: Vec<(f64, usize)> = spans
            .iter()
            .map(|(_, r)| {
                let v = &values[at..at + r.len()];
                at += r.len();
                (v.iter().map(|&x| x as f64).sum(), r.len())
            })
            .collect();
        Ok(outer_run_means(&spans, &sums))
    }

    /// The sorted crossing offsets of each threshold (as `crossing_pass`'s): the engine's
    /// sample pairs, the offsets computed here.
    pub(crate) fn crossing_offsets(&self, thresholds: &[f64]) -> Result<Vec<Vec<f64>>> {
        let s = self.samples_per_ui as f64;
        let ts: Vec<f32> = thresholds.iter().map(|&t| t as f32).collect();
        let found = self.kept.crossings(self.range.clone(), &ts).map_err(engine_error)?;
        if found.len() != ts.len() || found.iter().flatten().any(|c| c.k + 1 >= self.len()) {
            return Err(malformed("crossings"));
        }
        Ok(found
            .par_iter()
            .zip(&ts)
            .map(|(c, &t)| {
                let mut v: Vec<f64> = c.iter().map(|c| crossing_offset(c.k, c.x0, c.x1, t, s)).collect();
                sort_total(&mut v);
                v
            })
            .collect())
    }

    /// `rows` rows of the samples at `offsets` from `(first + r·stride)·S`, clamped to the
    /// signal ([`KeptSignal::window`]).
    pub(crate) fn window(&self, first: isize, stride: usize, rows: usize, offsets: &[isize]) -> Result<Vec<f32>> {
        let v = self.kept.window(self.range.clone(), self.samples_per_ui, first, stride, rows, offsets).map_err(engine_error)?;
        if v.len() != if self.is_empty() { 0 } else { rows * offsets.len() } {
            return Err(malformed("window"));
        }
        Ok(v)
    }

    /// Columns `cols` (below S) of every whole symbol, symbol-major: the window of a row per
    /// UI ([`KeptSignal::window`]). Each set read is kept for a second reader of the same one
    /// (the diagram's centres for the metrics, the metrics' window for the bathtubs). The
    /// cache's lock is not held across the engine's read: a reader waiting inside it on the
    /// pool may run another task that reads columns, which would then wait on that lock for
    /// ever. Two readers of a set not yet kept both read it; the first kept stays.
    fn columns(&self, cols: &[usize]) -> Result<Arc<Vec<f32>>> {
        let kept = |read: &[ReadColumns]| read.iter().find(|(c, _)| c == cols).map(|(_, v)| v.clone());
        let lock = || self.columns.lock().map_err(|_| malformed("columns (lock poisoned)"));
        if let Some(v) = kept(&lock()?) {
            return Ok(v);
        }
        let offsets: Vec<isize> = cols.iter().map(|&c| c as isize).collect();
        let v = Arc::new(self.window(0, 1, self.symbols(), &offsets)?);
        let mut read = lock()?;
        if let Some(first) = kept(&read) {
            return Ok(first);
        }
        read.push((cols.to_vec(), v.clone()));
        Ok(v)
    }

    /// The centre sample of every whole symbol.
    fn centres(&self) -> Result<Arc<Vec<f32>>> {
        self.columns(&[self.samples_per_ui / 2])
    }

    /// [`EyeDiagram::build_with`] of the signal, its histogram counted by the engine
    /// ([`KeptSignal::eye_histogram`]): the same diagram.
    pub fn diagram(&self, modulation: Modulation, config: &EyeConfig) -> Result<EyeDiagram> {
        let scan = self.signal_scan("eye signal")?;
        let s = self.samples_per_ui;
        let shape = SignalShape { len: self.len(), samples_per_ui: s, unit: &self.unit };
        let config = EyeConfig { samples_per_ui: s, ..config.clone() };
        EyeDiagram::from_scan(&scan, shape, modulation, &config, |h| {
            let g = *h.geometry();
            let counts = self.kept.eye_histogram(&g, self.range.clone()).map_err(engine_error)?;
            if counts.len() != g.time_bins * g.amp_bins {
                return Err(malformed("eye histogram"));
            }
            h.add_counts(&counts, self.len())
        })
    }

    /// [`eye_metrics`](super::eye_metrics) of the signal from the engine's passes: the same
    /// metrics, but `p_ave` (the engine's sum).
    pub fn metrics(&self, eye: &EyeDiagram, config: &EyeMetricsConfig) -> Result<EyeMetrics> {
        check_target_ber(config)?;
        let m = eye.modulation;
        let nl = m.levels();
        let th = &eye.thresholds;
        let len = self.len();
        let mut warnings = Vec::new();

        // The crossings (the engine's sample pairs, the offsets computed here) beside the
        // vertical part (the eye-height window's columns), SNDR and the outer runs (from the
        // centres' decisions): on an accelerator, one's round trips overlap the other's work
        // on the cores. The columns are read first, so neither side waits on their cache.
        let cols = window_indices(self.samples_per_ui, 0.5, config.eh_window_ui);
        let window = self.columns(&cols)?;
        let centre = self.centres()?;
        let (offsets, rest) = rayon::join(
            || self.crossing_offsets(th),
            || -> Result<_> {
                let groups = LevelParts::from_columns(&window, cols.len(), th);
                let vertical = vertical(groups, nl, config, &mut warnings);
                let decisions: Vec<usize> = centre.par_iter().map(|&x| region(x as f64, th)).collect();
                let sndr_db = sndr(&centre, &decisions, m, config.sndr_precursors, config.sndr_postcursors);
                Ok((vertical, sndr_db, self.outer_runs(&decisions, nl)?))
            },
        );
        // The errors in the serial order's: the crossings' before the outer runs'.
        let offsets = offsets?;
        let ((eye_heights, eye_heights_measured, vec_db), sndr_db, oma) = rest?;

        let p_ave = self.scan("eye signal")?.sum / len.max(1) as f64;
        let measured = Measured { eye_heights, eye_heights_measured, vec_db, offsets, oma, sndr_db, p_ave };
        Ok(assemble(self.symbols(), self.is_optical(), eye, config, measured, warnings))
    }

    /// [`vertical_bathtubs`](super::vertical_bathtubs) of the signal (the window's columns
    /// from the engine; after [`KeptEye::metrics`] with the same config, the ones it read).
    pub fn vertical_bathtubs(&self, eye: &EyeDiagram, config: &EyeMetricsConfig, points: usize) -> Result<Vec<Bathtub>> {
        let cols = window_indices(self.samples_per_ui, 0.5, config.eh_window_ui);
        Ok(vertical_bathtubs_of(&self.columns(&cols)?, eye, points))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accel::cpu_eye_histogram;
    use crate::eye::{eye_metrics, vertical_bathtubs, EyeGeometry, EyeSource};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Kept points on the host: the trait's reference passes.
    struct HostKept(Vec<f32>);

    impl KeptSignal for HostKept {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn eye_histogram(&self, g: &EyeGeometry, range: Range<usize>) -> Result<Vec<u32>> {
            cpu_eye_histogram(g, &self.0[range])
        }
        fn read(&self, range: Range<usize>) -> Result<Vec<f32>> {
            Ok(self.0[range].to_vec())
        }
    }

    /// Points in the resampler's layout (sample k·S the centre of symbol k): `levels` levels,
    /// ramps over the UI boundary, noise; runs of outer symbols for OMA_outer.
    fn centred_points(symbols: usize, s: usize, levels: usize, noise: f32, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let lv: Vec<f32> = (0..levels).map(|i| 0.2 + i as f32 / (levels - 1) as f32).collect();
        let mut syms = Vec::with_capacity(symbols + 1);
        while syms.len() < symbols + 1 {
            let (v, run) = (rng.random_range(0..levels), if rng.random::<f32>() < 0.05 { 8 } else { 1 });
            syms.extend(std::iter::repeat_n(v, run));
        }
        let mut y = Vec::with_capacity(symbols * s);
        for k in 0..symbols {
            let (a, b) = (lv[syms[k]], lv[syms[k + 1]]);
            for i in 0..s {
                let t = i as f32 / s as f32;
                let v = if t < 0.2 { a } else { a + (b - a) * ((t - 0.2) / 0.6).min(1.0) };
                let n: f32 = (0..4).map(|_| rng.random::<f32>() - 0.5).sum::<f32>() * noise;
                y.push(v + n);
            }
        }
        y
    }

    #[test]
    fn the_kept_eye_gives_the_hosts_diagram_metrics_and_bathtubs() {
        let s = 8;
        let (mut tried, mut tdecqs) = (0, 0);
        for (t, &(symbols, levels, unit)) in [(40usize, 4usize, "V"), (3000, 4, "mW"), (9000, 2, "V"), (5000, 4, "W")].iter().enumerate() {
            let points = centred_points(symbols, s, levels, 0.08, 40 + t as u64);
            let mut eye = KeptEye::from_centred(Box::new(HostKept(points.clone())), s).unwrap();
            eye.unit = unit.into();
            eye.baud = Some(26.5625e9);
            let mut host = EyeSignal::from_centred(&points, s).unwrap();
            host.unit = unit.into();
            host.baud = eye.baud;
            assert_eq!((eye.len(), eye.symbols(), eye.is_optical()), (host.samples.len(), host.symbols(), host.is_optical()));
            assert_eq!(eye.to_signal().unwrap(), host);
            let m = if levels == 4 { Modulation::Pam4 } else { Modulation::Nrz };
            let config = EyeConfig { samples_per_ui: s, ..EyeConfig::default() };
            let d = eye.diagram(m, &config).unwrap();
            let want = EyeDiagram::build(&host, m, &config).unwrap();
            assert_eq!(d.histogram.counts(), want.histogram.counts(), "{symbols} symbols");
            assert_eq!((&d.levels, &d.level_sigma, &d.thresholds, &d.warnings, &d.unit), (&want.levels, &want.level_sigma, &want.thresholds, &want.warnings, &want.unit));
            // A window of one column (the centre) and one of three.
            let mc = EyeMetricsConfig { eh_window_ui: if t % 2 == 1 { 0.15 } else { EyeMetricsConfig::default().eh_window_ui }, ..EyeMetricsConfig::default() };
            assert_eq!(window_indices(s, 0.5, mc.eh_window_ui).len(), if t % 2 == 1 { 3 } else { 1 });
            let got = eye.metrics(&d, &mc).unwrap();
            let mut reference = eye_metrics(&host, &want, &mc).unwrap();
            // The sum of P_ave is the engine's: the reference passes' serial sum here.
            assert!((got.p_ave - reference.p_ave).abs() <= 1e-12 * host.samples.len() as f64, "{} vs {}", got.p_ave, reference.p_ave);
            reference.p_ave = got.p_ave;
            assert_eq!(got, reference, "{symbols} symbols, {levels} levels");
            tried += (levels == 4 && got.er_db.is_some()) as usize;
            assert_eq!(eye.vertical_bathtubs(&d, &mc, 9).unwrap(), vertical_bathtubs(&host, &want, &mc, 9));
            if levels == 4 && symbols >= 3000 {
                // TDECQ from the engine's passes (its windows gathered there): the host's,
                // but for P_ave's sum (the reference passes' serial one here).
                let tc = crate::eye::TdecqConfig { search_symbols: 512, ..crate::eye::TdecqConfig::default() };
                let got = crate::eye::tdecq_on(EyeSource::Kept(&eye), None, &tc, None).unwrap();
                let want = crate::eye::tdecq(&host, None, &tc).unwrap();
                assert!((got.p_ave - want.p_ave).abs() <= 1e-12 * host.samples.len() as f64);
                assert!((got.tdecq_db - want.tdecq_db).abs() <= 1e-9, "{} vs {}", got.tdecq_db, want.tdecq_db);
                assert_eq!((got.main_tap, got.evaluations, got.taps.len()), (want.main_tap, want.evaluations, want.taps.len()));
                assert!(got.taps.iter().zip(&want.taps).all(|(a, b)| (a - b).abs() <= 1e-9), "{:?} vs {:?}", got.taps, want.taps);
                tdecqs += 1;
            }
        }
        assert_eq!(tdecqs, 2, "TDECQ on both PAM4 captures long enough, one decimated search");
        assert_eq!(tried, 2, "the optical PAM4 cases measure ER from outer runs");
        // Too short, and a non-finite point: the host's errors.
        let short = vec![0.5; 8 / 2 + 2 * 8 - 1];
        assert_eq!(KeptEye::from_centred(Box::new(HostKept(short.clone())), 8).unwrap_err().to_string(), EyeSignal::from_centred(&short, 8).unwrap_err().to_string());
        let mut points = centred_points(500, s, 4, 0.05, 9);
        points[1234] = f32::NAN;
        let e = KeptEye::from_centred(Box::new(HostKept(points.clone())), s).unwrap().diagram(Modulation::Pam4, &EyeConfig::default()).unwrap_err();
        let want = EyeDiagram::build(&EyeSignal::from_centred(&points, s).unwrap(), Modulation::Pam4, &EyeConfig { samples_per_ui: s, ..EyeConfig::default() }).unwrap_err();
        assert_eq!(e.to_string(), want.to_string());
    }

    /// Kept points whose column reads wait (up to 5 s) until two are in flight at once, and
    /// whose crossings and gathers fail as `fail` says.
    struct MeetingKept {
        points: Vec<f32>,
        in_flight: Mutex<usize>,
        met: std::sync::Condvar,
        reads: std::sync::atomic::AtomicUsize,
        fail: [bool; 2],
    }

    impl KeptSignal for MeetingKept {
        fn len(&self) -> usize {
            self.points.len()
        }
        fn eye_histogram(&self, g: &EyeGeometry, range: Range<usize>) -> Result<Vec<u32>> {
            cpu_eye_histogram(g, &self.points[range])
        }
        fn read(&self, range: Range<usize>) -> Result<Vec<f32>> {
            Ok(self.points[range].to_vec())
        }
        fn window(&self, range: Range<usize>, s: usize, first: isize, stride: usize, rows: usize, offsets: &[isize]) -> Result<Vec<f32>> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut n = self.in_flight.lock().unwrap();
            *n += 1;
            self.met.notify_all();
            let (mut n, _) = self.met.wait_timeout_while(n, std::time::Duration::from_secs(5), |n| *n < 2).unwrap();
            let alone = *n < 2;
            *n += 1; // stays at two or more: later reads do not wait
            drop(n);
            if alone {
                return Err(Error::invalid("window", 1, "read alone: the other reader never got in"));
            }
            Ok(crate::accel::kept_window_reference(&self.points[range], s, first, stride, rows, offsets))
        }
        fn crossings(&self, range: Range<usize>, thresholds: &[f32]) -> Result<Vec<Vec<crate::accel::KeptCrossing>>> {
            if self.fail[0] {
                return Err(Error::invalid("crossings", 0, "crossings failed"));
            }
            Ok(crate::accel::kept_crossings_reference(&self.points[range], thresholds))
        }
        fn gather(&self, range: Range<usize>, indices: &[usize]) -> Result<Vec<f32>> {
            if self.fail[1] {
                return Err(Error::invalid("gather", 0, "gather failed"));
            }
            let x = &self.points[range];
            Ok(indices.iter().map(|&i| x[i]).collect())
        }
    }

    #[test]
    fn column_readers_do_not_wait_on_each_other_and_the_metrics_keep_the_serial_errors() {
        let s = 8;
        let points = centred_points(3000, s, 4, 0.08, 77);
        let meeting = |fail| MeetingKept { points: points.clone(), in_flight: Mutex::new(0), met: Default::default(), reads: Default::default(), fail };
        // Two readers of the centres at once: each read is in flight beside the other (the
        // cache's lock is not held across it), and both get the first kept.
        let eye = KeptEye::from_centred(Box::new(meeting([false; 2])), s).unwrap();
        let (a, b) = std::thread::scope(|t| {
            let a = t.spawn(|| eye.centres());
            let b = t.spawn(|| eye.centres());
            (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
        });
        assert!(Arc::ptr_eq(&a, &b), "one set kept");
        assert_eq!(eye.columns.lock().unwrap().len(), 1);
        let host = EyeSignal::from_centred(&points, s).unwrap();
        assert_eq!(*a, host.samples.chunks_exact(s).map(|c| c[s / 2]).collect::<Vec<_>>());
        // Kept: no further read.
        let reads = |e: &KeptEye| e.columns.lock().unwrap().len();
        assert!(Arc::ptr_eq(&eye.centres().unwrap(), &a));
        assert_eq!(reads(&eye), 1);

        // The metrics' errors: the crossings' before the outer runs', as in the serial order.
        let config = EyeConfig { samples_per_ui: s, ..EyeConfig::default() };
        let want = EyeDiagram::build(&host, Modulation::Pam4, &config).unwrap();
        for (fail, expect) in [([true, true], Some("crossings failed")), ([false, true], Some("gather failed")), ([true, false], Some("crossings failed")), ([false, false], None)] {
            let k = meeting(fail);
            *k.in_flight.lock().unwrap() = 2;
            let eye = KeptEye::from_centred(Box::new(k), s).unwrap();
            let got = eye.metrics(&want, &EyeMetricsConfig::default());
            match expect {
                Some(e) => assert!(matches!(&got, Err(Error::Unusable { stage: "gpu", reason }) if reason.contains(e)), "{fail:?}: {got:?}"),
                None => {
                    let mut reference = eye_metrics(&host, &want, &EyeMetricsConfig::default()).unwrap();
                    let got = got.unwrap();
                    reference.p_ave = got.p_ave;
                    assert_eq!(got, reference);
                }
            }
        }
    }
}
