//! `lightlane.modulation`: NRZ/PAM4 mapping, Gray coding, 1/(1+D) precoding, slicing.

use crate::convert::{F32In, U8In, modulation, slice_of};
use crate::errors::{compute, invalid, with_gil, Fallible};
use lightlane_core::modulation::{self as md, BitMapping};
use numpy::PyArray1;
use pyo3::prelude::*;


fn mapping(name: &str) -> Fallible<BitMapping> {
    match name.to_ascii_lowercase().as_str() {
        "gray" => Ok(BitMapping::Gray),
        "binary" => Ok(BitMapping::Binary),
        _ => Err(invalid("mapping", name, "expected 'gray' or 'binary'")),
    }
}

fn check_range(what: &'static str, data: &[u8], max: u8) -> Fallible<()> {
    if let Some(index) = data.iter().position(|&v| v > max) {
        return Err(lightlane_core::Error::ValueOutOfRange { what, index, value: data[index] as u64, max: max as u64 }.into());
    }
    Ok(())
}

/// Normalised levels of a modulation, lowest first.
#[pyfunction]
pub fn levels<'py>(py: Python<'py>, modulation_name: &str) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let m = with_gil(py, || modulation(modulation_name))?;
    Ok(PyArray1::from_vec(py, m.level_set()))
}

/// Bits (0/1 per byte) to symbols.
#[pyfunction]
pub fn bits_to_symbols<'py>(py: Python<'py>, bits: U8In<'py>, modulation_name: &str, mapping_name: &str) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let bits = slice_of(&bits);
    let v = compute(py, || {
        check_range("bits", &bits, 1)?;
        Ok(md::bits_to_symbols(&bits, modulation(modulation_name)?, mapping(mapping_name)?))
    })?;
    Ok(PyArray1::from_vec(py, v))
}

/// Symbols to bits (MSB first for PAM4).
#[pyfunction]
pub fn symbols_to_bits<'py>(py: Python<'py>, symbols: U8In<'py>, modulation_name: &str, mapping_name: &str) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let symbols = slice_of(&symbols);
    let v = compute(py, || {
        let m = modulation(modulation_name)?;
        check_range("symbols", &symbols, m.max_symbol())?;
        Ok(md::symbols_to_bits(&symbols, m, mapping(mapping_name)?))
    })?;
    Ok(PyArray1::from_vec(py, v))
}

/// Symbols to normalised levels in [-1, 1].
#[pyfunction]
pub fn symbols_to_levels<'py>(py: Python<'py>, symbols: U8In<'py>, modulation_name: &str) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let symbols = slice_of(&symbols);
    let v = compute(py, || {
        let m = modulation(modulation_name)?;
        check_range("symbols", &symbols, m.max_symbol())?;
        Ok(m.symbols_to_levels(&symbols))
    })?;
    Ok(PyArray1::from_vec(py, v))
}

/// 1/(1+D) mod M precoding (802.3 120.5.7.2); `inverse` runs the receiver side.
#[pyfunction]
pub fn precode<'py>(py: Python<'py>, symbols: U8In<'py>, modulation_name: &str, initial: u8, inverse: bool) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let symbols = slice_of(&symbols);
    let v = compute(py, || {
        let m = modulation(modulation_name)?;
        check_range("symbols", &symbols, m.max_symbol())?;
        if initial > m.max_symbol() {
            return Err(invalid("initial", initial, "must be a symbol of the modulation"));
        }
        let mut v = symbols.into_owned();
        if inverse {
            md::decode_precoded(&mut v, m, initial);
        } else {
            md::precode(&mut v, m, initial);
        }
        Ok(v)
    })?;
    Ok(PyArray1::from_vec(py, v))
}

/// A slicer with fixed ascending thresholds.
#[pyclass(module = "lightlane._native", frozen)]
pub struct Slicer {
    inner: md::Slicer,
}

#[pymethods]
impl Slicer {
    #[new]
    fn new(py: Python<'_>, thresholds: F32In<'_>) -> PyResult<Self> {
        let t = slice_of(&thresholds).into_owned();
        with_gil(py, || Ok(Slicer { inner: md::Slicer::new(t)? }))
    }

    #[staticmethod]
    fn for_levels(py: Python<'_>, levels: F32In<'_>) -> PyResult<Self> {
        let l = slice_of(&levels);
        with_gil(py, || Ok(Slicer { inner: md::Slicer::for_levels(&l)? }))
    }

    #[getter]
    fn thresholds<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.inner.thresholds())
    }

    fn slice<'py>(&self, py: Python<'py>, x: F32In<'py>) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let x = slice_of(&x);
        let s = &self.inner;
        let v = compute(py, || {
            lightlane_core::error::check_finite("slicer input", &x)?;
            Ok(s.slice_vec(&x))
        })?;
        Ok(PyArray1::from_vec(py, v))
    }
}

/// Registers this file's items.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Slicer>()?;
    m.add_function(wrap_pyfunction!(levels, m)?)?;
    m.add_function(wrap_pyfunction!(bits_to_symbols, m)?)?;
    m.add_function(wrap_pyfunction!(symbols_to_bits, m)?)?;
    m.add_function(wrap_pyfunction!(symbols_to_levels, m)?)?;
    m.add_function(wrap_pyfunction!(precode, m)?)?;
    Ok(())
}
