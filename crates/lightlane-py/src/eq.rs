//! `lightlane.filter` and `lightlane.eq`: FIR, FFE (fixed, MMSE-trained, adaptive), CTLE, DFE,
//! MLSE. Thin wrappers over `lightlane_core::{filter, eq}`.

use crate::convert::{F32In, F64In, U8In, from_json, modulation, options_over, slice_of, to_json};
use crate::errors::{compute, invalid, Fallible};
use lightlane_core::eq::{self, AdaptiveConfig, FfeConfig};
use lightlane_core::filter;
use numpy::{PyArray1, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;


/// Fills a float32 output: the caller's `out` (C-contiguous float32 of length `len`, written
/// in place, no allocation) or a new array. `f` runs with the GIL released.
pub fn output_f32<'py, F>(py: Python<'py>, out: Option<Bound<'py, PyArray1<f32>>>, len: usize, f: F) -> PyResult<Bound<'py, PyArray1<f32>>>
where
    F: FnOnce(&mut [f32]) -> Fallible<()> + Send,
{
    match out {
        Some(arr) => {
            if arr.len() != len {
                return Err(crate::errors::to_pyerr(
                    py,
                    lightlane_core::Error::LengthMismatch { what: "out", expected: len, got: arr.len() }.into(),
                ));
            }
            {
                let mut rw = arr.try_readwrite()?;
                let slice = rw.as_slice_mut().map_err(|_| {
                    crate::errors::to_pyerr(py, invalid("out", "non-contiguous array", "must be a C-contiguous float32 array"))
                })?;
                compute(py, || f(slice))?;
            }
            Ok(arr)
        }
        None => {
            // A numpy-allocated zeroed array (calloc through numpy's allocator, which asks the
            // kernel for huge pages on large arrays) rather than a Vec handed over afterwards.
            let arr = PyArray1::<f32>::zeros(py, len, false);
            {
                let mut rw = arr.try_readwrite()?;
                let slice = rw.as_slice_mut().map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
                compute(py, || f(slice))?;
            }
            Ok(arr)
        }
    }
}

/// A planned FIR filter (`numpy.convolve(x, taps, "valid")`).
#[pyclass(module = "lightlane._native", frozen)]
pub struct Fir {
    inner: filter::Fir,
}

#[pymethods]
impl Fir {
    #[new]
    #[pyo3(signature = (taps, *, engine=None))]
    fn new(py: Python<'_>, taps: F32In<'_>, engine: Option<&str>) -> PyResult<Self> {
        let taps = slice_of(&taps).into_owned();
        crate::errors::with_gil(py, || {
            let inner = match engine {
                Some(e) => filter::Fir::with_engine(&taps, e.parse()?)?,
                None => filter::Fir::new(&taps)?,
            };
            Ok(Fir { inner })
        })
    }

    #[getter]
    fn taps<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.inner.taps())
    }

    #[getter]
    fn engine(&self) -> String {
        self.inner.engine().name().to_string()
    }

    #[staticmethod]
    fn engines() -> Vec<String> {
        filter::FirEngine::available().iter().map(|e| e.name().to_string()).collect()
    }

    #[pyo3(signature = (x, *, out=None, parallel=false))]
    fn convolve_valid<'py>(&self, py: Python<'py>, x: F32In<'py>, out: Option<Bound<'py, PyArray1<f32>>>, parallel: bool) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let x = slice_of(&x);
        let n = self.inner.valid_len(x.len());
        let fir = &self.inner;
        output_f32(py, out, n, |o| {
            if parallel {
                fir.process_valid_par(&x, o)?;
            } else {
                fir.process_valid(&x, o)?;
            }
            Ok(())
        })
    }
}

/// Feed-forward equalizer.
#[pyclass(module = "lightlane._native", frozen)]
pub struct Ffe {
    pub(crate) inner: eq::Ffe,
}

#[pymethods]
impl Ffe {
    #[new]
    #[pyo3(signature = (taps, *, samples_per_symbol=1, reference_tap=None))]
    fn new(py: Python<'_>, taps: F32In<'_>, samples_per_symbol: usize, reference_tap: Option<usize>) -> PyResult<Self> {
        let taps = slice_of(&taps).into_owned();
        crate::errors::with_gil(py, || {
            let c = reference_tap.unwrap_or_else(|| {
                FfeConfig { n_taps: taps.len(), samples_per_symbol, ..FfeConfig::default() }.resolved_reference_tap()
            });
            Ok(Ffe { inner: eq::Ffe::new(taps, samples_per_symbol, c)? })
        })
    }

    #[staticmethod]
    #[pyo3(signature = (n_taps, *, samples_per_symbol=1, reference_tap=0))]
    fn identity(py: Python<'_>, n_taps: usize, samples_per_symbol: usize, reference_tap: usize) -> PyResult<Self> {
        crate::errors::with_gil(py, || Ok(Ffe { inner: eq::Ffe::identity(n_taps, samples_per_symbol, reference_tap)? }))
    }

    #[getter]
    fn taps<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.inner.taps())
    }

    #[getter]
    fn samples_per_symbol(&self) -> usize {
        self.inner.samples_per_symbol()
    }

    #[getter]
    fn reference_tap(&self) -> usize {
        self.inner.reference_tap()
    }

    #[pyo3(signature = (x, *, out=None))]
    fn equalize<'py>(&self, py: Python<'py>, x: F32In<'py>, out: Option<Bound<'py, PyArray1<f32>>>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let x = slice_of(&x);
        let n = self.inner.output_len(x.len());
        let ffe = &self.inner;
        output_f32(py, out, n, |o| Ok(ffe.equalize_into(&x, o)?))
    }
}

/// `Ffe::train_mmse`: returns the trained equalizer and the training figures as JSON.
#[pyfunction]
pub fn ffe_train_mmse(py: Python<'_>, x: F32In<'_>, target: F32In<'_>, config_json: &str) -> PyResult<(Ffe, String)> {
    let (x, target) = (slice_of(&x), slice_of(&target));
    compute(py, || {
        let cfg = options_over("FFE config", FfeConfig::default(), Some(config_json))?;
        let t = eq::Ffe::train_mmse(&x, &target, &cfg)?;
        Ok((Ffe { inner: t.ffe.clone() }, to_json(&t)?))
    })
}

/// `adapt_ffe`: (final equalizer, outputs, JSON with mse_trace, training_mse, trained_symbols).
#[pyfunction]
#[pyo3(signature = (x, samples_per_symbol, targets, init, levels, config_json))]
pub fn adapt_ffe<'py>(
    py: Python<'py>,
    x: F32In<'py>,
    samples_per_symbol: usize,
    targets: Option<F32In<'py>>,
    init: &Ffe,
    levels: F32In<'py>,
    config_json: &str,
) -> PyResult<(Ffe, Bound<'py, PyArray1<f32>>, String)> {
    let x = slice_of(&x);
    let targets = targets.as_ref().map(|t| slice_of(t));
    let levels = slice_of(&levels);
    let (ffe, out, json) = compute(py, || {
        let cfg = options_over("adaptive FFE config", AdaptiveConfig::default(), Some(config_json))?;
        let r = eq::adapt_ffe(&x, samples_per_symbol, targets.as_deref(), &init.inner, &levels, &cfg)?;
        let json = serde_json::json!({
            "mse_trace": r.mse_trace,
            "training_mse": r.training_mse,
            "trained_symbols": r.trained_symbols,
        })
        .to_string();
        Ok((r.ffe, r.output, json))
    })?;
    Ok((Ffe { inner: ffe }, PyArray1::from_vec(py, out), json))
}

/// Two-stage CTLE of 802.3 Annex 93A-22, planned for one sample rate.
#[pyclass(module = "lightlane._native", frozen)]
pub struct Ctle {
    inner: eq::Ctle,
}

#[pymethods]
impl Ctle {
    #[new]
    fn new(py: Python<'_>, config_json: &str, fs: f64) -> PyResult<Self> {
        crate::errors::with_gil(py, || {
            let cfg: eq::CtleConfig = from_json("CTLE config", config_json)?;
            Ok(Ctle { inner: eq::Ctle::new(cfg, fs)? })
        })
    }

    #[getter]
    fn config_json(&self) -> PyResult<String> {
        Python::attach(|py| crate::errors::with_gil(py, || to_json(self.inner.config())))
    }

    #[getter]
    fn fs(&self) -> f64 {
        self.inner.fs()
    }

    #[getter]
    fn n_taps(&self) -> usize {
        self.inner.n_taps()
    }

    fn apply<'py>(&self, py: Python<'py>, x: F32In<'py>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let x = slice_of(&x);
        let ctle = &self.inner;
        let v = compute(py, || {
            lightlane_core::error::check_finite("CTLE input", &x)?;
            Ok(ctle.apply(&x))
        })?;
        Ok(PyArray1::from_vec(py, v))
    }

    /// (real, imaginary) parts of H(f) at each frequency; `realised` uses the discrete filter.
    #[pyo3(signature = (f_hz, *, realised=false))]
    fn response<'py>(&self, py: Python<'py>, f_hz: F64In<'py>, realised: bool) -> (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>) {
        let f = slice_of(&f_hz);
        let (mut re, mut im) = (Vec::with_capacity(f.len()), Vec::with_capacity(f.len()));
        for &x in f.iter() {
            let h = if realised { self.inner.realised_response(x) } else { self.inner.response(x) };
            re.push(h.re);
            im.push(h.im);
        }
        (PyArray1::from_vec(py, re), PyArray1::from_vec(py, im))
    }
}

/// A CTLE preset (`ieee_8023dj`, `ieee_8023ck`) at `baud`, as JSON.
#[pyfunction]
pub fn ctle_preset(py: Python<'_>, name: &str, baud: f64) -> PyResult<String> {
    crate::errors::with_gil(py, || {
        if !(baud.is_finite() && baud > 0.0) {
            return Err(invalid("baud", baud, "must be a positive finite symbol rate"));
        }
        let cfg = match name {
            "ieee_8023dj" => eq::CtleConfig::ieee_8023dj(baud),
            "ieee_8023ck" => eq::CtleConfig::ieee_8023ck(baud),
            _ => return Err(invalid("preset", name, "expected 'ieee_8023dj' or 'ieee_8023ck'")),
        };
        to_json(&cfg)
    })
}

/// Decision-feedback equalizer.
#[pyclass(module = "lightlane._native", frozen)]
pub struct Dfe {
    inner: eq::Dfe,
}

#[pymethods]
impl Dfe {
    #[new]
    fn new(py: Python<'_>, taps: F32In<'_>, levels: F32In<'_>, modulation_name: &str) -> PyResult<Self> {
        let (taps, levels) = (slice_of(&taps).into_owned(), slice_of(&levels).into_owned());
        crate::errors::with_gil(py, || Ok(Dfe { inner: eq::Dfe::new(taps, levels, modulation(modulation_name)?)? }))
    }

    #[staticmethod]
    fn train(py: Python<'_>, y: F32In<'_>, known_symbols: U8In<'_>, n_taps: usize, modulation_name: &str) -> PyResult<Self> {
        let (y, known) = (slice_of(&y), slice_of(&known_symbols));
        compute(py, || Ok(Dfe { inner: eq::Dfe::train(&y, &known, n_taps, modulation(modulation_name)?)? }))
    }

    #[getter]
    fn taps<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.inner.taps())
    }

    #[getter]
    fn levels<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.inner.levels())
    }

    #[getter]
    fn modulation(&self) -> String {
        self.inner.modulation().name().to_string()
    }

    fn detect<'py>(&self, py: Python<'py>, y: F32In<'py>) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let y = slice_of(&y);
        let dfe = &self.inner;
        let v = compute(py, || {
            lightlane_core::error::check_finite("DFE input", &y)?;
            let mut out = vec![0u8; y.len()];
            dfe.detect_into(&y, &mut out)?;
            Ok(out)
        })?;
        Ok(PyArray1::from_vec(py, v))
    }
}

/// DFE error-propagation statistics of `decisions` against `truth`, as JSON.
#[pyfunction]
pub fn error_propagation(py: Python<'_>, decisions: U8In<'_>, truth: U8In<'_>, max_gap: usize) -> PyResult<String> {
    let (d, t) = (slice_of(&decisions), slice_of(&truth));
    compute(py, || to_json(&eq::error_propagation_with_gap(&d, &t, max_gap)))
}

/// Viterbi (MLSE) detector.
#[pyclass(module = "lightlane._native", frozen)]
pub struct Mlse {
    inner: eq::Mlse,
}

#[pymethods]
impl Mlse {
    #[new]
    fn new(py: Python<'_>, target: F32In<'_>, levels: F32In<'_>, modulation_name: &str) -> PyResult<Self> {
        let (target, levels) = (slice_of(&target), slice_of(&levels));
        crate::errors::with_gil(py, || Ok(Mlse { inner: eq::Mlse::new(modulation(modulation_name)?, &target, &levels)? }))
    }

    /// Fits a linear channel model; returns the detector and the normalised target.
    #[staticmethod]
    fn fit_linear<'py>(py: Python<'py>, y: F32In<'py>, known_symbols: U8In<'py>, memory: usize, modulation_name: &str) -> PyResult<(Self, Bound<'py, PyArray1<f32>>)> {
        let (y, known) = (slice_of(&y), slice_of(&known_symbols));
        let (m, h) = compute(py, || Ok(eq::Mlse::fit_linear(&y, &known, memory, modulation(modulation_name)?)?))?;
        Ok((Mlse { inner: m }, PyArray1::from_vec(py, h)))
    }

    #[staticmethod]
    fn fit_table(py: Python<'_>, y: F32In<'_>, known_symbols: U8In<'_>, memory: usize, modulation_name: &str) -> PyResult<Self> {
        let (y, known) = (slice_of(&y), slice_of(&known_symbols));
        compute(py, || Ok(Mlse { inner: eq::Mlse::fit_table(&y, &known, memory, modulation(modulation_name)?)? }))
    }

    #[getter]
    fn memory(&self) -> usize {
        self.inner.memory()
    }

    #[getter]
    fn states(&self) -> usize {
        self.inner.states()
    }

    #[getter]
    fn modulation(&self) -> String {
        self.inner.modulation().name().to_string()
    }

    #[getter]
    fn expected<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.inner.expected())
    }

    fn detect<'py>(&self, py: Python<'py>, y: F32In<'py>) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let y = slice_of(&y);
        let m = &self.inner;
        let v = compute(py, || {
            lightlane_core::error::check_finite("MLSE input", &y)?;
            let mut out = vec![0u8; y.len()];
            m.detect_into(&y, &mut out)?;
            Ok(out)
        })?;
        Ok(PyArray1::from_vec(py, v))
    }
}

/// Registers the classes and functions of this file.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Fir>()?;
    m.add_class::<Ffe>()?;
    m.add_class::<Ctle>()?;
    m.add_class::<Dfe>()?;
    m.add_class::<Mlse>()?;
    m.add_function(wrap_pyfunction!(ffe_train_mmse, m)?)?;
    m.add_function(wrap_pyfunction!(adapt_ffe, m)?)?;
    m.add_function(wrap_pyfunction!(ctle_preset, m)?)?;
    m.add_function(wrap_pyfunction!(error_propagation, m)?)?;
    Ok(())
}
