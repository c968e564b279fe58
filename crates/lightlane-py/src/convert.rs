//! Conversions between numpy/Python values and the Rust types of lightlane.

use crate::errors::{invalid, Fallible, Failure};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;
use std::borrow::Cow;

/// Borrows a 1-D array as a slice without copying when it is contiguous; copies a strided view.
pub fn slice_of<'a, T: numpy::Element + Copy>(a: &'a PyReadonlyArray1<'_, T>) -> Cow<'a, [T]> {
    match a.as_slice() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(a.as_array().iter().copied().collect()),
    }
}

/// JSON text of a serializable value (the structured results cross the boundary as JSON, which
/// is exactly what the CLI writes, so Python and CLI reports compare field for field).
pub fn to_json<T: serde::Serialize>(v: &T) -> Fallible<String> {
    serde_json::to_string(v).map_err(|e| Failure::Arg("InternalError", format!("cannot serialize result: {e}"), Value::Null))
}

/// Parses a JSON configuration given by the Python layer.
pub fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Fallible<T> {
    serde_json::from_str(text).map_err(|e| invalid(what, text.chars().take(200).collect::<String>(), &format!("not a valid {what}: {e}")))
}

/// A JSON value as a Python object (dicts, lists, str, int, float, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(a) => {
            let items = a.iter().map(|x| json_to_py(py, x)).collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Parses a modulation name.
pub fn modulation(name: &str) -> Fallible<lightlane_core::Modulation> {
    Ok(name.parse()?)
}

/// Parses a JSON object given by the Python layer on top of `default`: keys the caller leaves
/// out keep their default value (for configurations without `#[serde(default)]`).
pub fn from_json_over<T: serde::Serialize + serde::de::DeserializeOwned>(what: &str, default: &T, text: &str) -> Fallible<T> {
    let mut base = serde_json::to_value(default).map_err(|e| Failure::Arg("InternalError", format!("cannot serialize default {what}: {e}"), Value::Null))?;
    let given: Value = from_json(what, text)?;
    match (&mut base, given) {
        (Value::Object(b), Value::Object(g)) => {
            for (k, v) in g {
                b.insert(k, v);
            }
        }
        (_, g) => base = g,
    }
    serde_json::from_value(base).map_err(|e| invalid(what, text.chars().take(200).collect::<String>(), &format!("not a valid {what}: {e}")))
}
