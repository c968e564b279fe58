//! Errors at the Python boundary: every `lightlane_core::Error` / `lightlane_io::IoError`
//! variant becomes an instance of a class of `lightlane.exceptions` (all subclasses of
//! `lightlane.LightlaneError`) carrying the variant's named fields as attributes, and a Rust
//! panic becomes `lightlane.InternalError` instead of pyo3's `PanicException`.

use lightlane_core::Error;
use lightlane_io::IoError;
use pyo3::prelude::*;
use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Anything a binding's compute closure can fail with.
#[derive(Debug)]
pub enum Failure {
    /// An error of `lightlane-core`.
    Core(Error),
    /// An error of `lightlane-io`.
    Io(IoError),
    /// A caller error found by the binding itself (shape of an array, unknown option):
    /// (exception class, message, attributes).
    Arg(&'static str, String, Value),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl From<IoError> for Failure {
    fn from(e: IoError) -> Self {
        Failure::Io(e)
    }
}

/// Result type of compute closures.
pub type Fallible<T> = std::result::Result<T, Failure>;

/// `InvalidParameterError` for a bad argument found in the binding layer.
pub fn invalid(name: &str, value: impl std::fmt::Display, reason: &str) -> Failure {
    Failure::Core(Error::InvalidParameter {
        name: "argument",
        value: format!("{name} = {value}"),
        reason: reason.to_string(),
    })
}

/// Exception class name and attributes of a core error.
fn core_class(e: &Error) -> (&'static str, Value) {
    match e {
        Error::InvalidParameter { name, value, reason } => {
            ("InvalidParameterError", json!({"name": name, "value": value, "reason": reason}))
        }
        Error::InputTooShort { what, needed, got } => {
            ("InputTooShortError", json!({"what": what, "needed": needed, "got": got}))
        }
        Error::NonFinite { what, index, value } => {
            ("NonFiniteError", json!({"what": what, "index": index, "value": value.to_string()}))
        }
        Error::LengthMismatch { what, expected, got } => {
            ("LengthMismatchError", json!({"what": what, "expected": expected, "got": got}))
        }
        Error::UnknownPattern { name, known } => ("UnknownPatternError", json!({"name": name, "known": known})),
        Error::IllegalSymbol { origin, position, value, max } => (
            "IllegalSymbolError",
            json!({"origin": origin, "position": position, "value": value, "max": max}),
        ),
        Error::PatternSyncFailed { pattern, reason } => {
            ("PatternSyncError", json!({"pattern": pattern, "reason": reason}))
        }
        Error::ValueOutOfRange { what, index, value, max } => (
            "ValueOutOfRangeError",
            json!({"what": what, "index": index, "value": value, "max": max}),
        ),
        Error::Unusable { stage, reason } => ("UnusableSignalError", json!({"stage": stage, "reason": reason})),
        Error::Io { path, source } => (
            "CaptureFileError",
            json!({"path": path, "reason": source.to_string(), "errno": source.raw_os_error()}),
        ),
        // `Error` is non_exhaustive: a variant added later still maps to the base class.
        _ => ("LightlaneError", json!({})),
    }
}

/// Exception class name and attributes of an io error.
fn io_class(e: &IoError) -> (&'static str, Value) {
    match e {
        IoError::Os { path, source } => (
            "CaptureFileError",
            json!({"path": path, "reason": source.to_string(), "errno": source.raw_os_error()}),
        ),
        IoError::UnknownFormat { path, reason } => ("UnknownFormatError", json!({"path": path, "reason": reason})),
        IoError::BadField { path, field, value, reason } => (
            "CorruptFileError",
            json!({"path": path, "field": field, "value": value, "reason": reason}),
        ),
        IoError::MissingField { path, field, hint } => {
            ("CorruptFileError", json!({"path": path, "field": field, "reason": hint}))
        }
        IoError::Truncated { path, what, expected, got } => (
            "TruncatedFileError",
            json!({"path": path, "what": what, "expected": expected, "got": got}),
        ),
        IoError::Invalid { path, source } => {
            let (class, mut attrs) = core_class(source);
            attrs["path"] = json!(path);
            (class, attrs)
        }
        IoError::NoSuchItem { path, what, requested, available } => (
            "NoSuchItemError",
            json!({"path": path, "what": what, "requested": requested, "available": available}),
        ),
        IoError::Unsupported { path, field, value, reason } => (
            "UnsupportedFormatError",
            json!({"path": path, "field": field, "value": value, "reason": reason}),
        ),
        _ => ("LightlaneError", json!({})),
    }
}

/// Builds an instance of `lightlane.exceptions.<class>(message)` with `attrs` set on it.
fn make(py: Python<'_>, class: &str, message: String, attrs: &Value) -> PyErr {
    let built = (|| -> PyResult<PyErr> {
        let module = py.import("lightlane.exceptions")?;
        let cls = module.getattr(class)?;
        let inst = cls.call1((message.clone(),))?;
        if let Value::Object(map) = attrs {
            for (k, v) in map {
                inst.setattr(k.as_str(), crate::convert::json_to_py(py, v)?)?;
            }
        }
        Ok(PyErr::from_value(inst))
    })();
    // Only when `lightlane.exceptions` itself cannot be imported (a broken install).
    built.unwrap_or_else(|e| {
        pyo3::exceptions::PyRuntimeError::new_err(format!("{message} (and lightlane.exceptions failed: {e})"))
    })
}

/// Converts a failure into the matching Python exception.
pub fn to_pyerr(py: Python<'_>, f: Failure) -> PyErr {
    match f {
        Failure::Core(e) => {
            let (class, attrs) = core_class(&e);
            make(py, class, e.to_string(), &attrs)
        }
        Failure::Io(e) => {
            let (class, attrs) = io_class(&e);
            make(py, class, e.to_string(), &attrs)
        }
        Failure::Arg(class, message, attrs) => make(py, class, message, &attrs),
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs `f` with the GIL released, catching a panic (the last resort: the library returns typed
/// errors) and mapping errors to `lightlane` exceptions.
pub fn compute<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Fallible<T> + Send,
{
    let result = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    match result {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_pyerr(py, e)),
        Err(p) => Err(make(
            py,
            "InternalError",
            format!("internal error in lightlane (please report): {}", panic_message(p.as_ref())),
            &json!({}),
        )),
    }
}

/// Like [`compute`] but keeps the GIL (for work that touches Python objects or is tiny).
pub fn with_gil<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> Fallible<T>,
{
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_pyerr(py, e)),
        Err(p) => Err(make(
            py,
            "InternalError",
            format!("internal error in lightlane (please report): {}", panic_message(p.as_ref())),
            &json!({}),
        )),
    }
}
