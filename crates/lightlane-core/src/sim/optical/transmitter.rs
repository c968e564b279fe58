//! The optical transmitter: power levels (average power or OMA, extinction ratio, level
//! nonlinearity), bandwidth, RIN and chirp.

use super::field::Chirp;
use crate::sim::Channel;
use crate::{Error, Modulation, Result};
use serde::{Deserialize, Serialize};

/// Optical power of a transmitter, set by its average or by its (outer) OMA.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum OpticalPower {
    /// Average launch power, dBm.
    AverageDbm(f64),
    /// Average launch power, mW.
    AverageMw(f64),
    /// Outer optical modulation amplitude `P_top − P_bottom`, dBm (802.3 121.8.4 OMAouter).
    OmaDbm(f64),
    /// Outer optical modulation amplitude, mW.
    OmaMw(f64),
}

impl Default for OpticalPower {
    fn default() -> Self {
        OpticalPower::AverageDbm(0.0)
    }
}

/// dBm → W.
pub fn dbm_to_w(dbm: f64) -> f64 {
    1e-3 * 10f64.powf(dbm / 10.0)
}

/// W → dBm.
pub fn w_to_dbm(w: f64) -> f64 {
    10.0 * (w / 1e-3).log10()
}

/// A directly or externally modulated laser.
///
/// The electrical drive is the simulator's transmitted waveform ([`crate::sim::LinkModel`] with
/// this `bandwidth` as its channel and `tx_ffe`), normalised so that the symbol levels are
/// `u = s / (M − 1)` (0 for the lowest symbol, 1 for the highest). A static nonlinearity maps `u`
/// to the optical level position `g(u)`: piecewise linear through `(s/(M−1), levels[s])` and
/// extended linearly beyond (equally spaced `levels` = linear). The power is
/// `P = P_bottom + (P_top − P_bottom)·g(u)` with `P_top / P_bottom` the extinction ratio, so
/// the outer OMA is `P_top − P_bottom` and the average power over equiprobable symbols
/// `P_bottom + OMA·mean(levels)`. Relative intensity noise is added to `P`, then the chirp
/// gives the field phase ([`Chirp`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpticalTransmitter {
    /// Launch power (default 0 dBm average).
    #[serde(default)]
    pub power: OpticalPower,
    /// Outer extinction ratio `10·log10(P_top / P_bottom)`, dB, finite and > 0 (default 5 dB).
    #[serde(default = "default_er")]
    pub extinction_ratio_db: f64,
    /// Normalised optical level of each symbol (lowest first), `levels[0] = 0`,
    /// `levels[M−1] = 1`, strictly increasing; `None` = equally spaced. See
    /// [`OpticalTransmitter::pam4_levels_for_rlm`].
    #[serde(default)]
    pub levels: Option<Vec<f64>>,
    /// Bandwidth of the modulated drive (laser/modulator and driver): a [`Channel`] (Bessel-Thomson,
    /// Gaussian, a measured impulse response, ...); default `Ideal`.
    #[serde(default)]
    pub bandwidth: Channel,
    /// Symbol-spaced Tx FFE taps on the drive (default `[1]`).
    #[serde(default = "default_ffe")]
    pub tx_ffe: Vec<f64>,
    /// Main cursor of `tx_ffe`.
    #[serde(default)]
    pub tx_ffe_main: usize,
    /// Relative intensity noise, dB/Hz (one-sided, relative to the average power squared), white
    /// over the simulation bandwidth; `None` = no RIN. Typical lasers: −130 to −150 dB/Hz.
    #[serde(default)]
    pub rin_db_per_hz: Option<f64>,
    /// Chirp (default none).
    #[serde(default)]
    pub chirp: Chirp,
}

fn default_er() -> f64 {
    5.0
}

fn default_ffe() -> Vec<f64> {
    vec![1.0]
}

impl Default for OpticalTransmitter {
    fn default() -> Self {
        OpticalTransmitter {
            power: OpticalPower::default(),
            extinction_ratio_db: default_er(),
            levels: None,
            bandwidth: Channel::Ideal,
            tx_ffe: default_ffe(),
            tx_ffe_main: 0,
            rin_db_per_hz: None,
            chirp: Chirp::default(),
        }
    }
}

/// The transmitter's power levels in W.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxPowerLevels {
    /// Power of each symbol (lowest first), W.
    pub levels_w: Vec<f64>,
    /// Average power over equiprobable symbols, W.
    pub average_w: f64,
    /// Outer OMA `P_top − P_bottom`, W.
    pub oma_w: f64,
}

impl OpticalTransmitter {
    /// PAM4 level positions with the given ratio of level mismatch (802.3 120D.3.1.2 RLM), the
    /// inner levels compressed symmetrically towards the middle: `[0, ½ − r/6, ½ + r/6, 1]`, so
    /// that `ES1 = ES2 = r/3` and `RLM = min(3·ES, 2 − 3·ES) = r` for `0 < r ≤ 1`.
    pub fn pam4_levels_for_rlm(rlm: f64) -> Result<Vec<f64>> {
        if !(rlm.is_finite() && rlm > 0.0 && rlm <= 1.0) {
            return Err(Error::invalid("rlm", rlm, "RLM must be within (0, 1]"));
        }
        Ok(vec![0.0, 0.5 - rlm / 6.0, 0.5 + rlm / 6.0, 1.0])
    }

    /// Checks the transmitter for `modulation`; errors name the field (`tx.extinction_ratio_db`, ...).
    pub fn validate(&self, modulation: Modulation) -> Result<()> {
        let er = self.extinction_ratio_db;
        if !(er.is_finite() && er > 0.0 && er <= 40.0) {
            return Err(Error::invalid(
                "tx.extinction_ratio_db",
                er,
                "extinction ratio must be finite, above 0 dB and at most 40 dB",
            ));
        }
        match self.power {
            OpticalPower::AverageDbm(v) | OpticalPower::OmaDbm(v) => {
                if !(v.is_finite() && (-60.0..=40.0).contains(&v)) {
                    return Err(Error::invalid("tx.power", v, "power in dBm must be within −60..=40"));
                }
            }
            OpticalPower::AverageMw(v) | OpticalPower::OmaMw(v) => {
                if !(v.is_finite() && v > 0.0 && v <= 1e4) {
                    return Err(Error::invalid("tx.power", v, "power in mW must be positive, at most 10⁴"));
                }
            }
        }
        if let Some(levels) = &self.levels {
            let m = modulation.levels();
            if levels.len() != m {
                return Err(Error::invalid(
                    "tx.levels",
                    format!("{} levels", levels.len()),
                    format!("{modulation} needs {m} levels"),
                ));
            }
            if levels[0] != 0.0 || levels[m - 1] != 1.0 {
                return Err(Error::invalid("tx.levels", format!("{levels:?}"), "the first level must be 0 and the last 1"));
            }
            if levels.iter().any(|v| !v.is_finite()) || levels.windows(2).any(|w| w[1] <= w[0]) {
                return Err(Error::invalid("tx.levels", format!("{levels:?}"), "levels must be finite and strictly increasing"));
            }
        }
        if let Some(rin) = self.rin_db_per_hz {
            if !(rin.is_finite() && (-200.0..=-60.0).contains(&rin)) {
                return Err(Error::invalid("tx.rin_db_per_hz", rin, "RIN must be within −200..=−60 dB/Hz"));
            }
        }
        self.chirp.validate()
    }

    /// Normalised level positions (`levels` or equally spaced).
    pub fn level_positions(&self, modulation: Modulation) -> Vec<f64> {
        let m = modulation.levels();
        self.levels
            .clone()
            .unwrap_or_else(|| (0..m).map(|s| s as f64 / (m - 1) as f64).collect())
    }

    /// Power levels in W (validated transmitter assumed).
    pub fn power_levels(&self, modulation: Modulation) -> TxPowerLevels {
        let pos = self.level_positions(modulation);
        let mean_pos = pos.iter().sum::<f64>() / pos.len() as f64;
        let er = 10f64.powf(self.extinction_ratio_db / 10.0);
        let bottom = match self.power {
            OpticalPower::AverageDbm(v) => dbm_to_w(v) / (1.0 + (er - 1.0) * mean_pos),
            OpticalPower::AverageMw(v) => 1e-3 * v / (1.0 + (er - 1.0) * mean_pos),
            OpticalPower::OmaDbm(v) => dbm_to_w(v) / (er - 1.0),
            OpticalPower::OmaMw(v) => 1e-3 * v / (er - 1.0),
        };
        let oma = bottom * (er - 1.0);
        TxPowerLevels {
            levels_w: pos.iter().map(|&g| bottom + oma * g).collect(),
            average_w: bottom + oma * mean_pos,
            oma_w: oma,
        }
    }
}

/// The static level map `u ↦ P` of a transmitter (planned once).
#[derive(Debug, Clone)]
pub(crate) struct LevelMap {
    /// Breakpoints `(u_s, P_s)`.
    u: Vec<f64>,
    p: Vec<f64>,
}

impl LevelMap {
    pub fn new(tx: &OpticalTransmitter, modulation: Modulation) -> Self {
        let m = modulation.levels();
        let levels = tx.power_levels(modulation).levels_w;
        LevelMap {
            u: (0..m).map(|s| s as f64 / (m - 1) as f64).collect(),
            p: levels,
        }
    }

    /// Power for the drive value `x` in the simulator's normalised ±1 scale.
    #[inline]
    pub fn power(&self, x: f64) -> f64 {
        let u = 0.5 * (x + 1.0);
        let last = self.u.len() - 2;
        // Segment index, clamped to the end segments (linear extension beyond them).
        let seg = ((u * (self.u.len() - 1) as f64).floor().max(0.0) as usize).min(last);
        let (u0, u1, p0, p1) = (self.u[seg], self.u[seg + 1], self.p[seg], self.p[seg + 1]);
        p0 + (p1 - p0) * (u - u0) / (u1 - u0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_levels_match_definitions() {
        let tx = OpticalTransmitter {
            power: OpticalPower::AverageDbm(1.0),
            extinction_ratio_db: 4.5,
            ..Default::default()
        };
        let l = tx.power_levels(Modulation::Pam4);
        assert!((w_to_dbm(l.average_w) - 1.0).abs() < 1e-12);
        assert!((10.0 * (l.levels_w[3] / l.levels_w[0]).log10() - 4.5).abs() < 1e-12);
        assert!((l.oma_w - (l.levels_w[3] - l.levels_w[0])).abs() < 1e-18);
        let mean = l.levels_w.iter().sum::<f64>() / 4.0;
        assert!((mean - l.average_w).abs() < 1e-15);
        let tx = OpticalTransmitter {
            power: OpticalPower::OmaMw(0.8),
            ..tx
        };
        assert!((tx.power_levels(Modulation::Nrz).oma_w - 0.8e-3).abs() < 1e-15);
    }

    #[test]
    fn rlm_levels_and_level_map() {
        let levels = OpticalTransmitter::pam4_levels_for_rlm(0.9).unwrap();
        // 802.3 120D.3.1.2: Vmid = (V0+V3)/2, ES1 = (V1−Vmid)/(V0−Vmid), ES2 = (V2−Vmid)/(V3−Vmid).
        let mid = 0.5 * (levels[0] + levels[3]);
        let es1 = (levels[1] - mid) / (levels[0] - mid);
        let es2 = (levels[2] - mid) / (levels[3] - mid);
        let rlm = (3.0 * es1).min(3.0 * es2).min(2.0 - 3.0 * es1).min(2.0 - 3.0 * es2);
        assert!((rlm - 0.9).abs() < 1e-12);
        let tx = OpticalTransmitter {
            levels: Some(levels),
            ..Default::default()
        };
        tx.validate(Modulation::Pam4).unwrap();
        let map = LevelMap::new(&tx, Modulation::Pam4);
        let l = tx.power_levels(Modulation::Pam4).levels_w;
        for s in 0..4u8 {
            let x = Modulation::Pam4.level(s) as f64;
            assert!((map.power(x) / l[s as usize] - 1.0).abs() < 1e-6);
        }
        // Linear beyond the ends.
        let slope = (l[3] - l[2]) / (2.0 / 3.0);
        assert!((map.power(1.3) / (l[3] + 0.3 * slope) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn unphysical_transmitters_are_rejected() {
        let bad = |f: &dyn Fn(&mut OpticalTransmitter)| {
            let mut tx = OpticalTransmitter::default();
            f(&mut tx);
            tx.validate(Modulation::Pam4).is_err()
        };
        assert!(bad(&|t| t.extinction_ratio_db = 0.0));
        assert!(bad(&|t| t.extinction_ratio_db = -3.0));
        assert!(bad(&|t| t.extinction_ratio_db = f64::NAN));
        assert!(bad(&|t| t.power = OpticalPower::AverageMw(0.0)));
        assert!(bad(&|t| t.power = OpticalPower::AverageDbm(f64::NAN)));
        assert!(bad(&|t| t.levels = Some(vec![0.0, 0.6, 0.5, 1.0])));
        assert!(bad(&|t| t.levels = Some(vec![0.0, 1.0])));
        assert!(bad(&|t| t.rin_db_per_hz = Some(f64::INFINITY)));
        assert!(!bad(&|_| {}));
    }
}
