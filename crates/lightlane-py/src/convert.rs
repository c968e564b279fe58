//! Conversions between numpy/Python values and the Rust types of lightlane.

use crate::errors::{invalid, Fallible, Failure};
use numpy::{AllowTypeChange, PyArrayLike1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;
use std::borrow::Cow;

/// A 1-D array argument of element type `T`: any array-like, converted (copied) only when its
/// dtype differs.
pub type ArrayIn<'py, T> = PyArrayLike1<'py, T, AllowTypeChange>;
/// A float32 array argument (samples).
pub type F32In<'py> = ArrayIn<'py, f32>;
/// A float64 array argument (positions, frequencies).
pub type F64In<'py> = ArrayIn<'py, f64>;
/// A uint8 array argument (symbols, decisions).
pub type U8In<'py> = ArrayIn<'py, u8>;

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

/// The configuration a call's keyword options describe: `base` (the Rust default, or the
/// variant the call names) with the fields of `options` (JSON of the Python keyword dict) put
/// over it. `None` or `{}` keeps `base`; fields the caller leaves out keep their `base` value
/// (also for configurations without `#[serde(default)]`); a field `base` does not have is an
/// `InvalidParameterError` naming it (a misspelt option is not silently ignored); a non-object
/// replaces `base` wholesale (and must then be a complete configuration).
pub fn options_over<T: serde::Serialize + serde::de::DeserializeOwned>(what: &str, base: T, options: Option<&str>) -> Fallible<T> {
    let Some(text) = options else { return Ok(base) };
    let mut merged =
        serde_json::to_value(&base).map_err(|e| Failure::Arg("InternalError", format!("cannot serialize default {what}: {e}"), Value::Null))?;
    let given: Value = from_json(what, text)?;
    match (&mut merged, given) {
        (Value::Object(b), Value::Object(g)) => {
            for (k, v) in g {
                if !b.contains_key(&k) {
                    let known = b.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
                    return Err(invalid(&format!("{what} field"), &k, &format!("unknown; expected one of: {known}")));
                }
                b.insert(k, v);
            }
        }
        (_, g) => merged = g,
    }
    serde_json::from_value(merged).map_err(|e| invalid(what, text.chars().take(200).collect::<String>(), &format!("not a valid {what}: {e}")))
}
