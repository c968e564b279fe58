//! # lightlane-py
//!
//! The `lightlane._native` extension module: thin pyo3 wrappers over `lightlane-core` and
//! `lightlane-io`, one file per Rust module. The Python package `lightlane` (in `python/`)
//! re-exports these as `lightlane.io`, `lightlane.eq`, … and adds the pure-Python parts
//! (reports, plots, batch runs).
//!
//! Conventions of every wrapper:
//! - numpy in: 1-D inputs are borrowed without a copy when they are C-contiguous with the
//!   native dtype (other dtypes and strided views are converted once);
//! - numpy out: results are built in Rust and handed to numpy without a copy; hot paths also
//!   take an `out=` array;
//! - the GIL is released around every computation ([`errors::compute`]);
//! - errors are typed `lightlane.exceptions` classes; a panic is caught at the boundary and
//!   raised as `lightlane.InternalError`, never as pyo3's `PanicException`;
//! - structured results (reports, statistics) cross as JSON, the same text the CLI writes.

pub mod analysis;
pub mod convert;
pub mod eq;
pub mod errors;
pub mod eye;
pub mod fec;
pub mod io;
pub mod modulation;
pub mod pattern;
pub mod sim;
pub mod timing;

use pyo3::prelude::*;

/// Panics on purpose; for the test that a panic arrives as `lightlane.InternalError`.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    errors::compute(py, || -> errors::Fallible<()> { panic!("deliberate panic for the test suite") })
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    analysis::register(m)?;
    eq::register(m)?;
    eye::register(m)?;
    fec::register(m)?;
    io::register(m)?;
    modulation::register(m)?;
    pattern::register(m)?;
    sim::register(m)?;
    timing::register(m)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
