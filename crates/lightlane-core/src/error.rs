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

/// Returns an error naming the first non-finite value of `data`. Long inputs are checked in
/// parallel blocks on the rayon pool (the first bad block wins, so the index is the first one).
pub fn check_finite(what: &'static str, data: &[f32]) -> Result<()> {
    use rayon::prelude::*;
    /// Block of a branch-free pass the compiler vectorises.
    const BLOCK: usize = 1024;
    /// Inputs from this length on are split over the pool in blocks of this length.
    const PAR_BLOCK: usize = 1 << 16;
    let all_finite = |b: &[f32]| b.iter().fold(true, |ok, v| ok & v.is_finite());
    let bad = if data.len() >= 4 * PAR_BLOCK {
        data.par_chunks(PAR_BLOCK).position_first(|b| !all_finite(b)).map(|c| c * PAR_BLOCK)
    } else {
        data.chunks(BLOCK).position(|b| !all_finite(b)).map(|c| c * BLOCK)
    };
    let Some(start) = bad else {
        return Ok(());
    };
    match data[start..].iter().position(|v| !v.is_finite()).map(|i| i + start) {
        Some(index) => Err(Error::NonFinite {
            what,
            index,
            value: data[index] as f64,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_finite_names_the_first_bad_value_at_every_length() {
        // Short (blocks of 1024) and long (parallel blocks) inputs; the bad value at a block's
        // first and last place, with a second bad value later that must not be the one named.
        for n in [1usize, 5, 1023, 1024, 1025, 5000, 300_000, 1 << 20] {
            let mut x = vec![0.5f32; n];
            assert!(check_finite("x", &x).is_ok());
            for first in [0, n / 2, n.saturating_sub(1), 1023.min(n - 1), 65_535.min(n - 1), 65_536.min(n - 1)] {
                x.fill(0.5);
                x[first] = f32::NAN;
                if first + 70_000 < n {
                    x[first + 70_000] = f32::INFINITY;
                }
                match check_finite("x", &x) {
                    Err(Error::NonFinite { what: "x", index, value }) => {
                        assert_eq!(index, first, "n={n}");
                        assert!(value.is_nan());
                    }
                    other => panic!("n={n} first={first}: {other:?}"),
                }
            }
            x.fill(0.5);
            x[n - 1] = f32::NEG_INFINITY;
            assert!(matches!(check_finite("x", &x), Err(Error::NonFinite { index, value, .. }) if index == n - 1 && value == f64::NEG_INFINITY));
        }
        assert!(check_finite("x", &[]).is_ok());
    }
}
