//! `lightlane.fec`: RS(544,514) "KP4" / RS(528,514) "KR4" (IEEE 802.3 Clause 91/119) encode and
//! decode over 2-D uint16 arrays, and codeword statistics of measured bit errors.

use crate::convert::{ArrayIn, options_over, slice_of, to_json};
use crate::errors::{compute, with_gil};
use lightlane_core::fec::{self, DecodeOutcome, FecStatsConfig, RandomErrorModel, RsCode};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use std::borrow::Cow;

fn rows<'a>(a: &'a PyReadonlyArray2<'_, u16>) -> Cow<'a, [u16]> {
    match a.as_slice() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(a.as_array().iter().copied().collect()),
    }
}

fn check_width(what: &'static str, a: &PyReadonlyArray2<'_, u16>, expected: usize) -> crate::errors::Fallible<usize> {
    let shape = a.shape();
    if shape[1] != expected {
        return Err(lightlane_core::Error::LengthMismatch { what, expected, got: shape[1] }.into());
    }
    Ok(shape[0])
}

/// A Reed-Solomon encoder/decoder over GF(2^10).
#[pyclass(module = "lightlane._native", frozen)]
pub struct ReedSolomon {
    inner: fec::ReedSolomon,
}

#[pymethods]
impl ReedSolomon {
    #[new]
    fn new(py: Python<'_>, code: &str) -> PyResult<Self> {
        with_gil(py, || Ok(ReedSolomon { inner: fec::ReedSolomon::new(code.parse::<RsCode>()?) }))
    }

    #[getter]
    fn code(&self) -> String {
        self.inner.code().name().to_string()
    }

    #[getter]
    fn n(&self) -> usize {
        self.inner.code().n()
    }

    #[getter]
    fn k(&self) -> usize {
        self.inner.code().k()
    }

    #[getter]
    fn t(&self) -> usize {
        self.inner.code().t()
    }

    #[getter]
    fn simd_level(&self) -> String {
        format!("{:?}", self.inner.simd_level())
    }

    #[getter]
    fn generator<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u16>> {
        PyArray1::from_slice(py, self.inner.generator())
    }

    /// Systematic encoding of each row (k symbols) into an n-symbol codeword.
    fn encode<'py>(&self, py: Python<'py>, messages: PyReadonlyArray2<'py, u16>) -> PyResult<Bound<'py, PyArray2<u16>>> {
        let (k, n) = (self.k(), self.n());
        let rs = &self.inner;
        let m = with_gil(py, || check_width("rs message (columns)", &messages, k))?;
        let msgs = rows(&messages);
        let out = compute(py, || {
            let mut out = vec![0u16; m * n];
            for (msg, cw) in msgs.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
                rs.encode(msg, cw)?;
            }
            Ok(out)
        })?;
        let arr = Array2::from_shape_vec((m, n), out).map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        Ok(arr.into_pyarray(py))
    }

    /// Decodes each row (n symbols) on all cores: (corrected words, corrected symbols per word,
    /// ok mask). Uncorrectable words are returned unchanged with ok = False.
    #[allow(clippy::type_complexity)]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        codewords: PyReadonlyArray2<'py, u16>,
    ) -> PyResult<(Bound<'py, PyArray2<u16>>, Bound<'py, PyArray1<u16>>, Bound<'py, PyArray1<bool>>)> {
        let n = self.n();
        let rs = &self.inner;
        let m = with_gil(py, || check_width("rs codeword (columns)", &codewords, n))?;
        let input = rows(&codewords);
        let (words, outcomes) = compute(py, || {
            let mut words = input.into_owned();
            let mut outcomes = vec![DecodeOutcome::Clean; m];
            rs.decode_batch(&mut words, &mut outcomes)?;
            Ok((words, outcomes))
        })?;
        let counts: Vec<u16> = outcomes.iter().map(|o| o.corrected_symbols()).collect();
        let ok: Vec<bool> = outcomes.iter().map(|o| !o.is_uncorrectable()).collect();
        let arr = Array2::from_shape_vec((m, n), words).map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        Ok((arr.into_pyarray(py), PyArray1::from_vec(py, counts), PyArray1::from_vec(py, ok)))
    }

    /// Decodes one word with erasures (indices of unreliable symbols): (word, corrected, ok).
    fn decode_erasures<'py>(
        &self,
        py: Python<'py>,
        codeword: ArrayIn<'py, u16>,
        erasures: ArrayIn<'py, u64>,
    ) -> PyResult<(Bound<'py, PyArray1<u16>>, u16, bool)> {
        let cw = slice_of(&codeword);
        let er: Vec<usize> = slice_of(&erasures).iter().map(|&e| usize::try_from(e).unwrap_or(usize::MAX)).collect();
        let rs = &self.inner;
        let (word, outcome) = compute(py, || {
            let mut w = cw.into_owned();
            let o = rs.decode(&mut w, &er)?;
            Ok((w, o))
        })?;
        Ok((PyArray1::from_vec(py, word), outcome.corrected_symbols(), !outcome.is_uncorrectable()))
    }

    /// Syndromes S_0 … S_{2t-1} of one received word.
    fn syndromes<'py>(&self, py: Python<'py>, codeword: ArrayIn<'py, u16>) -> PyResult<Bound<'py, PyArray1<u16>>> {
        let cw = slice_of(&codeword);
        let rs = &self.inner;
        let two_t = rs.code().parity_len();
        let v = compute(py, || {
            let mut out = vec![0u16; two_t];
            rs.syndromes(&cw, &mut out)?;
            Ok(out)
        })?;
        Ok(PyArray1::from_vec(py, v))
    }
}

/// Codeword statistics of measured bit errors (ascending bit indices), as JSON.
#[pyfunction]
pub fn codeword_statistics(py: Python<'_>, error_bits: ArrayIn<'_, u64>, total_bits: u64, config_json: &str) -> PyResult<String> {
    let bits = slice_of(&error_bits);
    compute(py, || {
        let cfg: FecStatsConfig = options_over("FEC statistics config", FecStatsConfig::default(), Some(config_json))?;
        to_json(&fec::codeword_statistics(bits.iter().copied(), total_bits, &cfg)?)
    })
}

/// Expected statistics under independent bit errors, as JSON.
#[pyfunction]
pub fn random_error_model(py: Python<'_>, code: &str, ber: f64, interleave: usize, frame_bits: u32) -> PyResult<String> {
    with_gil(py, || to_json(&RandomErrorModel::new(code.parse()?, ber, interleave, frame_bits)?))
}

/// Registers this file's items.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ReedSolomon>()?;
    m.add_function(wrap_pyfunction!(codeword_statistics, m)?)?;
    m.add_function(wrap_pyfunction!(random_error_model, m)?)?;
    Ok(())
}
