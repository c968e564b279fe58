//! The error type of `lightlane-io`: every variant names the file and the offending field.

/// Errors from reading or writing capture files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Os {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// No reader recognises the file.
    #[error("{path}: unknown capture format ({reason})")]
    UnknownFormat { path: String, reason: String },
    /// A header field is malformed or has an unsupported value.
    #[error("{path}: bad {field} = {value}: {reason}")]
    BadField {
        path: String,
        field: &'static str,
        value: String,
        reason: String,
    },
    /// A required field is absent.
    #[error("{path}: missing {field}; {hint}")]
    MissingField {
        path: String,
        field: &'static str,
        hint: String,
    },
    /// The file is shorter than its header says.
    #[error("{path}: truncated: {what} needs {expected} bytes, file has {got}")]
    Truncated {
        path: String,
        what: &'static str,
        expected: u64,
        got: u64,
    },
    /// The samples read are not a valid waveform (NaN, bad interval).
    #[error("{path}: {source}")]
    Invalid {
        path: String,
        #[source]
        source: lightlane_core::Error,
    },
    /// A channel or segment that the file does not hold was asked for.
    #[error("{path}: no {what} {requested}; the file holds {available}")]
    NoSuchItem {
        path: String,
        what: &'static str,
        requested: String,
        available: String,
    },
    /// The file is valid but holds something this reader does not support (an unknown data
    /// type, a record type that is not a sampled waveform, ...).
    #[error("{path}: unsupported {field} = {value}: {reason}")]
    Unsupported {
        path: String,
        field: &'static str,
        value: String,
        reason: String,
    },
}

impl IoError {
    pub(crate) fn open(path: &std::path::Path, source: std::io::Error) -> Self {
        IoError::Os {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn bad(path: &std::path::Path, field: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        IoError::BadField {
            path: path.display().to_string(),
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

impl IoError {
    pub(crate) fn truncated(path: &str, what: &'static str, expected: u64, got: u64) -> Self {
        IoError::Truncated {
            path: path.to_string(),
            what,
            expected,
            got,
        }
    }

    pub(crate) fn bad_at(path: &str, field: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        IoError::BadField {
            path: path.to_string(),
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(path: &str, field: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        IoError::Unsupported {
            path: path.to_string(),
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn missing(path: &str, field: &'static str, hint: impl Into<String>) -> Self {
        IoError::MissingField {
            path: path.to_string(),
            field,
            hint: hint.into(),
        }
    }
}

/// Result alias of `lightlane-io`.
pub type Result<T, E = IoError> = std::result::Result<T, E>;
