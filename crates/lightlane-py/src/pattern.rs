//! `lightlane.pattern`: PRBS/PRBSnQ/SSPRQ/user patterns, sync and error counting.

use crate::convert::{U8In, modulation, options_over, slice_of, to_json};
use crate::errors::{compute, invalid, with_gil};
use lightlane_core::modulation::BitMapping;
use lightlane_core::pattern::{self as pt, PatternChecker, SyncConfig};
use numpy::PyArray1;
use pyo3::prelude::*;


/// Most symbols one `generate` call returns (1 GiB of uint8).
pub const MAX_GENERATE: usize = 1 << 30;

/// A test pattern.
#[pyclass(module = "lightlane._native", frozen)]
pub struct Pattern {
    inner: pt::Pattern,
}

#[pymethods]
impl Pattern {
    #[new]
    fn new(py: Python<'_>, name: &str) -> PyResult<Self> {
        with_gil(py, || Ok(Pattern { inner: pt::Pattern::parse(name)? }))
    }

    #[staticmethod]
    fn from_symbols(py: Python<'_>, origin: &str, symbols: U8In<'_>) -> PyResult<Self> {
        let s = slice_of(&symbols).into_owned();
        with_gil(py, || Ok(Pattern { inner: pt::Pattern::from_symbols(origin, s)? }))
    }

    #[staticmethod]
    fn names() -> Vec<String> {
        pt::KNOWN_PATTERNS.iter().map(|s| s.to_string()).collect()
    }

    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_string()
    }

    fn period(&self, py: Python<'_>, modulation_name: &str) -> PyResult<u64> {
        with_gil(py, || Ok(self.inner.period_symbols(modulation(modulation_name)?)))
    }

    fn generate<'py>(&self, py: Python<'py>, n: usize, modulation_name: &str) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let p = &self.inner;
        let v = compute(py, || {
            if n > MAX_GENERATE {
                return Err(invalid("n", n, "at most 2**30 symbols per call"));
            }
            Ok(p.generate(modulation(modulation_name)?, n)?)
        })?;
        Ok(PyArray1::from_vec(py, v))
    }

    /// Syncs `decisions` to this pattern and counts errors; the error report as JSON.
    fn check(&self, py: Python<'_>, decisions: U8In<'_>, modulation_name: &str, sync_json: &str) -> PyResult<String> {
        let d = slice_of(&decisions);
        let p = &self.inner;
        compute(py, || {
            let sync = options_over("sync config", SyncConfig::default(), Some(sync_json))?;
            let checker = PatternChecker::new(p, modulation(modulation_name)?, sync)?;
            to_json(&checker.check(&d)?)
        })
    }
}

/// Symbol and bit errors between two aligned symbol streams (common length).
#[pyfunction]
pub fn count_errors(py: Python<'_>, decisions: U8In<'_>, expected: U8In<'_>, modulation_name: &str, binary: bool) -> PyResult<(u64, u64)> {
    let (d, e) = (slice_of(&decisions), slice_of(&expected));
    compute(py, || {
        let m = modulation(modulation_name)?;
        for (what, s) in [("decisions", &d), ("expected", &e)] {
            if let Some(index) = s.iter().position(|&v| v > m.max_symbol()) {
                return Err(lightlane_core::Error::ValueOutOfRange { what, index, value: s[index] as u64, max: m.max_symbol() as u64 }.into());
            }
        }
        let mapping = if binary { BitMapping::Binary } else { BitMapping::Gray };
        let c = pt::count_errors(&d, &e, m, mapping);
        Ok((c.symbol_errors, c.bit_errors))
    })
}

/// Registers this file's items.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Pattern>()?;
    m.add_function(wrap_pyfunction!(count_errors, m)?)?;
    Ok(())
}
