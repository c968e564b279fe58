//! The sampled waveform every stage consumes.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Raw ADC codes kept alongside the volts when a file stores integers
/// (`volts = code * gain + offset`), so an accelerator can upload codes instead of floats.
#[derive(Debug, Clone, PartialEq)]
pub enum RawCodes {
    I8 { codes: Vec<i8>, gain: f64, offset: f64 },
    I16 { codes: Vec<i16>, gain: f64, offset: f64 },
}

/// Descriptive fields carried from the capture file into the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WaveformMeta {
    /// Where the samples came from (file path, "simulation", ...).
    pub source: Option<String>,
    /// Channel name or number as the instrument labels it.
    pub channel: Option<String>,
    /// Unit of the vertical axis ("V" unless the file says otherwise, e.g. "W").
    pub vertical_unit: String,
    /// Any further instrument fields, as text.
    pub extra: BTreeMap<String, String>,
}

/// A uniformly sampled real waveform: `samples[i]` is the value at `t0 + i * dt` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Waveform {
    /// Sample values (volts, or the unit in `meta.vertical_unit`).
    pub samples: Vec<f32>,
    /// Sample interval in seconds (1 / fs).
    pub dt: f64,
    /// Time of the first sample in seconds.
    pub t0: f64,
    /// Raw integer codes, when the source stored them.
    pub raw: Option<RawCodes>,
    /// Descriptive metadata.
    pub meta: WaveformMeta,
}

impl Waveform {
    /// Builds a waveform from samples at sample rate `fs` (Hz), rejecting NaN/Inf samples and
    /// non-positive or non-finite rates.
    ///
    /// ```
    /// let w = lightlane_core::Waveform::new(vec![0.0, 1.0, -1.0], 256e9).unwrap();
    /// assert_eq!(w.len(), 3);
    /// assert!(lightlane_core::Waveform::new(vec![f32::NAN], 1e9).is_err());
    /// ```
    pub fn new(samples: Vec<f32>, fs: f64) -> Result<Self> {
        if !(fs.is_finite() && fs > 0.0) {
            return Err(Error::invalid("fs", fs, "sample rate must be a positive finite number of Hz"));
        }
        crate::error::check_finite("waveform samples", &samples)?;
        Ok(Waveform {
            samples,
            dt: 1.0 / fs,
            t0: 0.0,
            raw: None,
            meta: WaveformMeta {
                vertical_unit: "V".into(),
                ..Default::default()
            },
        })
    }

    /// Sample rate in Hz.
    pub fn fs(&self) -> f64 {
        1.0 / self.dt
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when the waveform has no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Checks the invariants a file reader may have skipped (finite positive `dt`, finite samples).
    pub fn validate(&self) -> Result<()> {
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return Err(Error::invalid("dt", self.dt, "sample interval must be positive and finite"));
        }
        crate::error::check_finite("waveform samples", &self.samples)
    }
}
