use super::EqualizerChain;
use crate::eq::FfeConfig;
use crate::timing::CdrConfig;
use crate::fec::{FecStatsConfig, RsCode};
use crate::pattern::SyncConfig;
use crate::timing::PhaseConfig;
use crate::{Error, Modulation, Result};
use serde::{Deserialize, Serialize};

/// Everything [`super::analyze`] needs to know beyond the waveform. Serializes to the effective
/// configuration recorded in reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalysisConfig {
    /// Line modulation.
    pub modulation: Modulation,
    /// Symbol rate in baud (symbols per second); `None`: estimated from the capture. With clock
    /// recovery this is the nominal rate the loop starts from.
    pub baud: Option<f64>,
    /// Receiver chain, e.g. `ctle,ffe:15,dfe:1` (see [`EqualizerChain`]).
    pub equalizer: EqualizerChain,
    /// How symbol timing is found.
    pub clock: ClockRecovery,
    /// Test pattern: `prbs7` … `prbs31`, `prbs9q`, `prbs13q`, `prbs31q`, `ssprq`, or `file:PATH`.
    pub pattern: String,
    /// Feed-forward equalizer details (reference tap, delay search, ridge); the tap count and
    /// spacing come from the `equalizer` chain.
    pub ffe: FfeConfig,
    /// Symbols used to train the FFE (from the start of the capture).
    pub training_symbols: usize,
    /// The transmitter used 1/(1+D) mod M precoding (802.3 120.5.7.2).
    pub precoding: bool,
    /// Sampling-phase search.
    pub phase: PhaseConfig,
    /// Pattern synchronisation and error counting.
    pub sync: SyncConfig,
    /// FEC codeword statistics over the measured errors (`None` to skip).
    pub fec: Option<FecStatsConfig>,
    /// Eye diagram, eye/level metrics and TDECQ (`None` to skip).
    pub eye: Option<crate::eye::EyeAnalysisConfig>,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig::pam4(53.125e9)
    }
}

impl AnalysisConfig {
    /// PAM4 at `baud` with PRBS13Q, a 15-tap T-spaced FFE and KP4 codeword statistics
    /// (the 802.3 100G/lane defaults).
    ///
    /// ```
    /// let c = lightlane_core::analysis::AnalysisConfig::pam4(53.125e9);
    /// assert_eq!(c.pattern, "prbs13q");
    /// ```
    pub fn pam4(baud: f64) -> Self {
        AnalysisConfig {
            modulation: Modulation::Pam4,
            baud: Some(baud),
            equalizer: EqualizerChain::default(),
            clock: ClockRecovery::default(),
            pattern: "prbs13q".into(),
            ffe: FfeConfig::default(),
            training_symbols: 65_536,
            precoding: false,
            phase: PhaseConfig::default(),
            sync: SyncConfig::default(),
            fec: Some(FecStatsConfig {
                code: RsCode::Kp4,
                ..FecStatsConfig::default()
            }),
            eye: Some(crate::eye::EyeAnalysisConfig::default()),
        }
    }

    /// NRZ at `baud` with PRBS31 and KR4 codeword statistics (the 25G/lane defaults).
    pub fn nrz(baud: f64) -> Self {
        AnalysisConfig {
            modulation: Modulation::Nrz,
            pattern: "prbs31".into(),
            fec: Some(FecStatsConfig {
                code: RsCode::Kr4,
                ..FecStatsConfig::default()
            }),
            ..AnalysisConfig::pam4(baud)
        }
    }

    /// Checks values that do not depend on the waveform.
    pub fn validate(&self) -> Result<()> {
        if let Some(baud) = self.baud {
            if !(baud.is_finite() && baud > 0.0) {
                return Err(Error::invalid("baud", baud, "symbol rate must be a positive number of baud"));
            }
            if !(1e3..=1e13).contains(&baud) {
                return Err(Error::invalid("baud", baud, "outside 1 kBd .. 10 TBd"));
            }
        }
        self.equalizer.validate()?;
        if self.training_symbols < 256 {
            return Err(Error::invalid("training_symbols", self.training_symbols, "need at least 256 symbols to train the FFE"));
        }
        Ok(())
    }
}

/// How the pipeline finds the symbol instants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockRecovery {
    /// An ideal clock at the given baud: only the sampling phase is searched (simulations,
    /// captures with a clock-locked scope).
    Fixed,
    /// A clock-recovery loop (default: the 802.3 reference CDR, first order, 4 MHz corner).
    Cdr(CdrConfig),
}

impl Default for ClockRecovery {
    fn default() -> Self {
        ClockRecovery::Cdr(CdrConfig::default())
    }
}
