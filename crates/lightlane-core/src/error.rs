//! The one error type of `lightlane-core`.

/// Errors returned by `lightlane-core`. Every variant names the offending field or value so a
/// message alone tells the user what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value or argument is outside its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        reason: String,
    },
    /// The input is shorter than the stage needs.
    #[error("{what} is too short: need at least {needed}, got {got}")]
    InputTooShort {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    /// A sample is NaN or infinite.
    #[error("{what} has a non-finite value ({value}) at index {index}")]
    NonFinite {
        what: &'static str,
        index: usize,
        value: f64,
    },
    /// Two inputs that must agree in length do not.
    #[error("{what}: expected length {expected}, got {got}")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// A pattern name that lightlane does not know.
    #[error("unknown pattern '{name}' (known: {known})")]
    UnknownPattern { name: String, known: String },
    /// A user pattern (symbols from a file or string) holds a value that is not a symbol.
    #[error("pattern {origin}: illegal symbol '{value}' at position {position} (allowed: 0..={max})")]
    IllegalSymbol {
        origin: String,
        position: usize,
        value: String,
        max: u8,
    },
    /// The received decisions never lined up with the expected pattern.
    #[error("pattern {pattern} did not sync: {reason}")]
    PatternSyncFailed { pattern: String, reason: String },
    /// A symbol value outside the alphabet of the modulation or code.
    #[error("{what}: value {value} at index {index} is out of range (max {max})")]
    ValueOutOfRange {
        what: &'static str,
        index: usize,
        value: u64,
        max: u64,
    },
    /// The signal has no usable structure for the requested stage.
    #[error("{stage}: {reason}")]
    Unusable { stage: &'static str, reason: String },
    /// Reading a file (user pattern) failed.
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias used throughout `lightlane-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn invalid(name: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Returns an error naming the first non-finite value of `data`.
pub fn check_finite(what: &'static str, data: &[f32]) -> Result<()> {
    match data.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            what,
            index,
            value: data[index] as f64,
        }),
        None => Ok(()),
    }
}
