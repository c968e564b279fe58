//! Analysis presets for the common IEEE 802.3 PMDs and lane rates, with their pass/fail limits.
//!
//! A [`Preset`] bundles the [`AnalysisConfig`] a PMD is measured with (symbol rate, modulation,
//! test pattern, reference equalizer, FEC) and the [`Limits`] a capture is judged against. For
//! optical PMDs it also carries the [`OpticalPmd`] description: wavelength range, reach and the
//! chromatic-dispersion corners at which TDECQ is specified.
//!
//! Where a value comes from `standards.md` (the project's compiled 802.3 facts) the doc comment
//! says so with its confidence tag; values tagged \[U\] there are defaults to be checked against
//! the clause before claiming compliance, and every one of them is an ordinary field a config
//! file can override.
//!
//! ```
//! use lightlane_core::analysis::{Measured, Preset, Verdict};
//! let p = Preset::named("400gbase-dr4").unwrap();
//! assert_eq!(p.config.baud, Some(53.125e9));
//! let optical = p.optical.as_ref().unwrap();
//! // 802.3 Table 121-13 style corners for 500 m at 1304.5–1317.5 nm: −0.93 … +0.80 ps/nm.
//! assert!((optical.dispersion_min_ps_per_nm + 0.93).abs() < 0.01);
//! let verdict = p.limits.check(&Measured { pre_fec_ber: Some(1e-5), ..Measured::default() });
//! assert_eq!(verdict.verdict, Verdict::Pass);
//! ```

use super::{AnalysisConfig, EqualizerChain};
use crate::fec::{FecStatsConfig, RsCode};
use crate::{Error, Modulation, Result};
use serde::{Deserialize, Serialize};

/// KP4 pre-FEC BER limit of a 50G/100G-per-lane PAM4 PMD, 802.3 Clause 120 (standards.md §1.4, \[C\]).
pub const KP4_PRE_FEC_BER_LIMIT: f64 = 2.4e-4;
/// BER allowance of one 100G/lane AUI (C2M) within the end-to-end KP4 budget (standards.md §1.4, \[S\]).
pub const AUI_BER_LIMIT: f64 = 1e-5;
/// Inner-FEC input BER of 802.3dj 200G/lane IM-DD optics (Clause 177; standards.md §1.4/§6.2, \[U\]).
pub const INNER_FEC_INPUT_BER_LIMIT: f64 = 4.8e-3;
/// 100G/lane signalling rate, 802.3cd/ck (standards.md §4.1).
pub const BAUD_100G_LANE: f64 = 53.125e9;
/// 802.3dj 200G/lane optical signalling rate with the inner Hamming FEC (standards.md §4.1).
pub const BAUD_200G_LANE_OPTICAL: f64 = 113.4375e9;

/// Pass/fail limits of a preset. `None`: not limited. Each limit applies only when the report
/// carries the measurement.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest pre-FEC BER (the BER after the reference equalizer).
    pub max_pre_fec_ber: Option<f64>,
    /// Largest TDECQ, dB (802.3 121.8.5 / 138.8.5 and the PMD tables).
    pub max_tdecq_db: Option<f64>,
    /// Largest vertical eye closure, dB (802.3ck Annex 120G).
    pub max_vec_db: Option<f64>,
    /// Smallest outer extinction ratio, dB.
    pub min_outer_er_db: Option<f64>,
    /// Smallest outer OMA, dBm.
    pub min_oma_outer_dbm: Option<f64>,
}

/// The measurements [`Limits::check`] judges; `None` when the report does not carry one.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Measured {
    /// Pre-FEC BER.
    pub pre_fec_ber: Option<f64>,
    /// TDECQ, dB (the worst dispersion corner when several were measured).
    pub tdecq_db: Option<f64>,
    /// Vertical eye closure, dB.
    pub vec_db: Option<f64>,
    /// Outer extinction ratio, dB.
    pub outer_er_db: Option<f64>,
    /// Outer OMA, dBm.
    pub oma_outer_dbm: Option<f64>,
}

/// Outcome of one limit or of a whole capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every limit with a measurement is met (and at least one was checked).
    Pass,
    /// At least one limit is violated (a non-finite measurement counts as a violation).
    Fail,
    /// No limit could be checked: nothing limited was measured.
    NotChecked,
}

impl Verdict {
    /// `pass`, `fail` or `not_checked`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotChecked => "not_checked",
        }
    }
}

/// One limit applied to one measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitCheck {
    /// Measurement name (`pre_fec_ber`, `tdecq_db`, …).
    pub quantity: String,
    /// `max` or `min`.
    pub kind: String,
    /// The limit.
    pub limit: f64,
    /// The measured value.
    pub value: f64,
    /// Whether the value meets the limit.
    pub pass: bool,
}

/// All limit checks of one capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitReport {
    /// Overall verdict.
    pub verdict: Verdict,
    /// The checks that had a measurement, in [`Limits`] field order.
    pub checks: Vec<LimitCheck>,
}

impl Limits {
    /// Checks `measured` against every limit that has both a value and a measurement.
    pub fn check(&self, measured: &Measured) -> LimitReport {
        let mut checks = Vec::new();
        let mut add = |quantity: &str, upper: bool, limit: Option<f64>, value: Option<f64>| {
            if let (Some(limit), Some(value)) = (limit, value) {
                let pass = value.is_finite() && if upper { value <= limit } else { value >= limit };
                checks.push(LimitCheck {
                    quantity: quantity.into(),
                    kind: if upper { "max" } else { "min" }.into(),
                    limit,
                    value,
                    pass,
                });
            }
        };
        add("pre_fec_ber", true, self.max_pre_fec_ber, measured.pre_fec_ber);
        add("tdecq_db", true, self.max_tdecq_db, measured.tdecq_db);
        add("vec_db", true, self.max_vec_db, measured.vec_db);
        add("outer_er_db", false, self.min_outer_er_db, measured.outer_er_db);
        add("oma_outer_dbm", false, self.min_oma_outer_dbm, measured.oma_outer_dbm);
        let verdict = if checks.is_empty() {
            Verdict::NotChecked
        } else if checks.iter().all(|c| c.pass) {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        LimitReport { verdict, checks }
    }

    /// Checks that every limit is a finite number (a config file may set them).
    pub fn validate(&self) -> Result<()> {
        let fields = [
            ("limits.max_pre_fec_ber", self.max_pre_fec_ber),
            ("limits.max_tdecq_db", self.max_tdecq_db),
            ("limits.max_vec_db", self.max_vec_db),
            ("limits.min_outer_er_db", self.min_outer_er_db),
            ("limits.min_oma_outer_dbm", self.min_oma_outer_dbm),
        ];
        for (name, v) in fields {
            if let Some(v) = v {
                if !v.is_finite() {
                    return Err(Error::invalid(name, v, "a limit must be a finite number"));
                }
            }
        }
        if let Some(b) = self.max_pre_fec_ber {
            if !(0.0..=0.5).contains(&b) {
                return Err(Error::invalid("limits.max_pre_fec_ber", b, "a BER limit lies in 0 … 0.5"));
            }
        }
        Ok(())
    }
}

/// The 802.3 single-mode fibre dispersion model used to derive the dispersion corners of a PMD:
/// `D(λ) = S0/4 · (λ − λ0⁴/λ³)` ps/(nm·km), with the zero-dispersion wavelength λ0 and slope S0
/// at their extremes (802.3 PMD fibre tables, e.g. Table 140-16 footnotes; the formula and these
/// extremes reproduce the −0.93 … +0.8 ps/nm of the 500 m DR4 example in standards.md §4.2, \[D\]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FibreDispersionModel {
    /// λ0 used for the minimum (most negative) dispersion, nm.
    pub zero_dispersion_max_nm: f64,
    /// S0 used with `zero_dispersion_max_nm`, ps/(nm²·km).
    pub slope_at_max_zero_dispersion: f64,
    /// λ0 used for the maximum dispersion, nm.
    pub zero_dispersion_min_nm: f64,
    /// S0 used with `zero_dispersion_min_nm`, ps/(nm²·km).
    pub slope_at_min_zero_dispersion: f64,
}

impl Default for FibreDispersionModel {
    fn default() -> Self {
        FibreDispersionModel {
            zero_dispersion_max_nm: 1324.0,
            slope_at_max_zero_dispersion: 0.093,
            zero_dispersion_min_nm: 1300.0,
            slope_at_min_zero_dispersion: 0.092,
        }
    }
}

impl FibreDispersionModel {
    /// Dispersion coefficient D(λ) in ps/(nm·km) for zero-dispersion wavelength `lambda0_nm`
    /// and slope `s0`.
    pub fn coefficient(lambda_nm: f64, lambda0_nm: f64, s0: f64) -> f64 {
        s0 / 4.0 * (lambda_nm - lambda0_nm.powi(4) / lambda_nm.powi(3))
    }

    /// (minimum, maximum) chromatic dispersion in ps/nm of `length_m` of fibre over the
    /// wavelength range `lambda_min_nm … lambda_max_nm`.
    pub fn dispersion_range_ps_per_nm(&self, length_m: f64, lambda_min_nm: f64, lambda_max_nm: f64) -> Result<(f64, f64)> {
        if !(length_m.is_finite() && (0.0..=1e6).contains(&length_m)) {
            return Err(Error::invalid("reach_m", length_m, "fibre length must lie in 0 … 1000 km"));
        }
        if !(lambda_min_nm.is_finite() && lambda_max_nm.is_finite() && 800.0 <= lambda_min_nm && lambda_min_nm <= lambda_max_nm && lambda_max_nm <= 1700.0) {
            return Err(Error::invalid(
                "wavelength_nm",
                format!("{lambda_min_nm}..{lambda_max_nm}"),
                "need 800 nm ≤ λmin ≤ λmax ≤ 1700 nm",
            ));
        }
        let km = length_m / 1000.0;
        let d_min = Self::coefficient(lambda_min_nm, self.zero_dispersion_max_nm, self.slope_at_max_zero_dispersion) * km;
        let d_max = Self::coefficient(lambda_max_nm, self.zero_dispersion_min_nm, self.slope_at_min_zero_dispersion) * km;
        Ok((d_min, d_max))
    }
}

/// The optical side of a PMD: what TDECQ is measured through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpticalPmd {
    /// Shortest centre wavelength, nm.
    pub wavelength_min_nm: f64,
    /// Longest centre wavelength, nm.
    pub wavelength_max_nm: f64,
    /// Reach (test-fibre length), m.
    pub reach_m: f64,
    /// Minimum chromatic dispersion of the test fibre, ps/nm (from the fibre model).
    pub dispersion_min_ps_per_nm: f64,
    /// Maximum chromatic dispersion of the test fibre, ps/nm.
    pub dispersion_max_ps_per_nm: f64,
    /// Fibre model the corners were computed with.
    pub fibre: FibreDispersionModel,
}

impl OpticalPmd {
    /// A PMD with its dispersion corners computed from the reach and wavelength range.
    pub fn new(wavelength_min_nm: f64, wavelength_max_nm: f64, reach_m: f64, fibre: FibreDispersionModel) -> Result<OpticalPmd> {
        let (dmin, dmax) = fibre.dispersion_range_ps_per_nm(reach_m, wavelength_min_nm, wavelength_max_nm)?;
        Ok(OpticalPmd {
            wavelength_min_nm,
            wavelength_max_nm,
            reach_m,
            dispersion_min_ps_per_nm: dmin,
            dispersion_max_ps_per_nm: dmax,
            fibre,
        })
    }
}

/// A named measurement setup: analysis configuration, limits, optical PMD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    /// Canonical name (`400GBASE-DR4`); lookup ignores case.
    pub name: String,
    /// One line for `--preset list`.
    pub description: String,
    /// The 802.3 clause or annex that specifies the PMD or interface.
    pub clause: String,
    /// The analysis configuration.
    pub config: AnalysisConfig,
    /// Pass/fail limits.
    pub limits: Limits,
    /// Optical PMD details (`None` for electrical interfaces).
    pub optical: Option<OpticalPmd>,
}

/// Wavelength range of the 1310 nm "DR" PMDs (100GBASE-DR, 400GBASE-DR4, 800GBASE-DR8,
/// 200GBASE-DR1), nm. Not in standards.md (which gives only the resulting DR4 dispersion
/// corners, reproduced by this range and the fibre model); \[U\] there.
const DR_WAVELENGTH_NM: (f64, f64) = (1304.5, 1317.5);
/// Wavelength range of the CWDM 1271 nm lane of 100GBASE-FR1/LR1, nm (\[U\]: not in standards.md).
const CWDM_1271_WAVELENGTH_NM: (f64, f64) = (1264.5, 1277.5);
/// Typical TDECQ limit of the 400G-class DR/FR PMDs, dB (standards.md §4.2 step 12, \[U\]).
const TDECQ_LIMIT_DR_FR_DB: f64 = 3.4;
/// Typical TDECQ limit of the LR PMDs, dB (standards.md §4.2 step 12, \[U\]).
const TDECQ_LIMIT_LR_DB: f64 = 3.9;
/// Proposed 802.3dj 200G/lane TDECQ limit, dB (standards.md §4.2 step 12 gives 3.0/3.5, \[U\]).
const TDECQ_LIMIT_200G_DB: f64 = 3.5;

fn kp4(interleave: usize) -> Option<FecStatsConfig> {
    Some(FecStatsConfig {
        code: RsCode::Kp4,
        interleave,
        ..FecStatsConfig::default()
    })
}

fn chain(spec: &str) -> EqualizerChain {
    spec.parse().expect("preset chains are valid")
}

struct OpticalSpec {
    name: &'static str,
    clause: &'static str,
    description: &'static str,
    baud: f64,
    pattern: &'static str,
    equalizer: &'static str,
    interleave: usize,
    wavelength_nm: (f64, f64),
    reach_m: f64,
    tdecq_db: f64,
    ber: f64,
}

fn optical(s: OpticalSpec) -> Preset {
    let mut config = AnalysisConfig::pam4(s.baud);
    config.pattern = s.pattern.into();
    config.equalizer = chain(s.equalizer);
    config.fec = kp4(s.interleave);
    let pmd = OpticalPmd::new(s.wavelength_nm.0, s.wavelength_nm.1, s.reach_m, FibreDispersionModel::default())
        .expect("preset optics are valid");
    if let Some(eye) = config.eye.as_mut() {
        // TDECQ at the test fibre's minimum and maximum dispersion (802.3 121.8.5), emulated on
        // the (back-to-back) capture at the centre of the wavelength range.
        eye.dispersion_corners_ps_per_nm = vec![pmd.dispersion_min_ps_per_nm, pmd.dispersion_max_ps_per_nm];
        eye.corner_wavelength_nm = 0.5 * (s.wavelength_nm.0 + s.wavelength_nm.1);
    }
    Preset {
        name: s.name.into(),
        description: s.description.into(),
        clause: s.clause.into(),
        config,
        limits: Limits {
            max_pre_fec_ber: Some(s.ber),
            max_tdecq_db: Some(s.tdecq_db),
            ..Limits::default()
        },
        optical: Some(pmd),
    }
}

impl Preset {
    /// Every built-in preset, in `--preset list` order.
    ///
    /// Common to all: the 802.3 reference CDR (first order, 4 MHz corner, standards.md §4.1, \[S\])
    /// and KP4 RS(544,514) codeword statistics with the PCS's codeword interleaving (1 for
    /// 100G, 2 for 200G/400G, 4 for 800G; standards.md §1.4). Optical presets run the TDECQ
    /// reference receiver: a 4th-order Bessel-Thomson at 0.5 × baud (§4.1) and a T-spaced FFE
    /// of 5 taps (100G/λ) or 15 taps + 1-tap DFE (802.3dj 200G/λ, \[U\]) (§4.2 step 4).
    pub fn all() -> Vec<Preset> {
        let mut v = vec![
            optical(OpticalSpec {
                name: "100GBASE-DR",
                clause: "IEEE 802.3cd Clause 140",
                description: "100G/λ PAM4 over 500 m SMF at 1310 nm",
                baud: BAUD_100G_LANE,
                pattern: "ssprq",
                equalizer: "bt4,ffe:5",
                interleave: 1,
                wavelength_nm: DR_WAVELENGTH_NM,
                reach_m: 500.0,
                tdecq_db: TDECQ_LIMIT_DR_FR_DB,
                ber: KP4_PRE_FEC_BER_LIMIT,
            }),
            optical(OpticalSpec {
                name: "100GBASE-FR1",
                clause: "IEEE 802.3cu Clause 140",
                description: "100G/λ PAM4 over 2 km SMF at 1271 nm",
                baud: BAUD_100G_LANE,
                pattern: "ssprq",
                equalizer: "bt4,ffe:5",
                interleave: 1,
                wavelength_nm: CWDM_1271_WAVELENGTH_NM,
                reach_m: 2000.0,
                tdecq_db: TDECQ_LIMIT_DR_FR_DB,
                ber: KP4_PRE_FEC_BER_LIMIT,
            }),
            optical(OpticalSpec {
                name: "100GBASE-LR1",
                clause: "IEEE 802.3cu Clause 140",
                description: "100G/λ PAM4 over 10 km SMF at 1271 nm",
                baud: BAUD_100G_LANE,
                pattern: "ssprq",
                equalizer: "bt4,ffe:5",
                interleave: 1,
                wavelength_nm: CWDM_1271_WAVELENGTH_NM,
                reach_m: 10_000.0,
                tdecq_db: TDECQ_LIMIT_LR_DB,
                ber: KP4_PRE_FEC_BER_LIMIT,
            }),
            optical(OpticalSpec {
                name: "400GBASE-DR4",
                clause: "IEEE 802.3bs Clause 124",
                description: "4 × 100G/λ PAM4 over 500 m parallel SMF at 1310 nm (PRBS13Q, 802.3bs era)",
                baud: BAUD_100G_LANE,
                pattern: "prbs13q",
                equalizer: "bt4,ffe:5",
                interleave: 2,
                wavelength_nm: DR_WAVELENGTH_NM,
                reach_m: 500.0,
                tdecq_db: TDECQ_LIMIT_DR_FR_DB,
                ber: KP4_PRE_FEC_BER_LIMIT,
            }),
            optical(OpticalSpec {
                name: "800GBASE-DR8",
                clause: "IEEE 802.3df Clause 124",
                description: "8 × 100G/λ PAM4 over 500 m parallel SMF at 1310 nm",
                baud: BAUD_100G_LANE,
                pattern: "ssprq",
                equalizer: "bt4,ffe:5",
                interleave: 4,
                wavelength_nm: DR_WAVELENGTH_NM,
                reach_m: 500.0,
                tdecq_db: TDECQ_LIMIT_DR_FR_DB,
                ber: KP4_PRE_FEC_BER_LIMIT,
            }),
            optical(OpticalSpec {
                name: "200GBASE-DR1",
                clause: "IEEE 802.3dj Clause 180",
                description: "200G/λ PAM4 at 113.4375 GBd (inner FEC) over 500 m SMF at 1310 nm",
                baud: BAUD_200G_LANE_OPTICAL,
                pattern: "ssprq",
                equalizer: "bt4,ffe:15,dfe:1",
                interleave: 2,
                wavelength_nm: DR_WAVELENGTH_NM,
                reach_m: 500.0,
                tdecq_db: TDECQ_LIMIT_200G_DB,
                ber: INNER_FEC_INPUT_BER_LIMIT,
            }),
            optical(OpticalSpec {
                name: "800GBASE-DR4",
                clause: "IEEE 802.3dj Clause 180",
                description: "4 × 200G/λ PAM4 at 113.4375 GBd over 500 m parallel SMF at 1310 nm",
                baud: BAUD_200G_LANE_OPTICAL,
                pattern: "ssprq",
                equalizer: "bt4,ffe:15,dfe:1",
                interleave: 4,
                wavelength_nm: DR_WAVELENGTH_NM,
                reach_m: 500.0,
                tdecq_db: TDECQ_LIMIT_200G_DB,
                ber: INNER_FEC_INPUT_BER_LIMIT,
            }),
        ];
        // 802.3ck Annex 120G host/module output: CTLE + 4-tap DFE reference receiver and the
        // 120G VEC limit of 12 dB (COMcfg-C2M, standards.md §5.2, [C as config]).
        let mut c2m = AnalysisConfig::pam4(BAUD_100G_LANE);
        c2m.pattern = "prbs13q".into();
        c2m.equalizer = chain("ctle,dfe:4");
        c2m.fec = kp4(1);
        v.push(Preset {
            name: "100GAUI-1-C2M".into(),
            clause: "IEEE 802.3ck Annex 120G".into(),
            description: "100G/lane electrical chip-to-module at 53.125 GBd (CTLE + 4-tap DFE reference receiver)".into(),
            config: c2m,
            limits: Limits {
                max_pre_fec_ber: Some(AUI_BER_LIMIT),
                max_vec_db: Some(12.0),
                ..Limits::default()
            },
            optical: None,
        });
        v
    }

    /// The preset called `name` (case-insensitive; `_` and `-` are the same).
    pub fn named(name: &str) -> Result<Preset> {
        let key = |s: &str| s.to_ascii_lowercase().replace('_', "-");
        let want = key(name.trim());
        let all = Preset::all();
        let known = all.iter().map(|p| p.name.clone()).collect::<Vec<_>>().join(", ");
        all.into_iter()
            .find(|p| key(&p.name) == want)
            .ok_or_else(|| Error::invalid("preset", name, format!("unknown preset; known: {known}")))
    }

    /// The modulation the preset analyses.
    pub fn modulation(&self) -> Modulation {
        self.config.modulation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_validates_and_names_are_unique() {
        let all = Preset::all();
        assert!(all.len() >= 8);
        for p in &all {
            p.config.validate().unwrap_or_else(|e| panic!("{}: {e}", p.name));
            p.limits.validate().unwrap();
            assert!(p.limits.max_pre_fec_ber.is_some(), "{}", p.name);
            assert_eq!(Preset::named(&p.name.to_lowercase()).unwrap(), *p);
        }
        let mut names: Vec<_> = all.iter().map(|p| p.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        let err = Preset::named("100GBASE-XX").unwrap_err().to_string();
        assert!(err.contains("400GBASE-DR4"), "{err}");
    }

    #[test]
    fn rates_patterns_and_receivers_follow_standards_md() {
        let dr = Preset::named("100GBASE-DR").unwrap();
        assert_eq!(dr.config.baud, Some(53.125e9));
        assert_eq!(dr.config.pattern, "ssprq");
        assert_eq!(dr.config.equalizer.to_string(), chain("bt4,ffe:5").to_string());
        assert_eq!(dr.limits.max_pre_fec_ber, Some(2.4e-4));
        let dj = Preset::named("200gbase_dr1").unwrap();
        assert_eq!(dj.config.baud, Some(113.4375e9));
        assert_eq!(dj.limits.max_pre_fec_ber, Some(4.8e-3));
        assert_eq!(Preset::named("800GBASE-DR8").unwrap().config.fec.unwrap().interleave, 4);
        assert_eq!(Preset::named("400GBASE-DR4").unwrap().config.pattern, "prbs13q");
        let lr = Preset::named("100GBASE-LR1").unwrap();
        assert_eq!(lr.limits.max_tdecq_db, Some(3.9));
        let c2m = Preset::named("100GAUI-1-C2M").unwrap();
        assert!(c2m.optical.is_none());
        assert_eq!(c2m.limits.max_vec_db, Some(12.0));
    }

    #[test]
    fn dispersion_corners_reproduce_the_dr4_example_and_scale_with_length() {
        // standards.md §4.2: DR4 500 m test fibre −0.93 … +0.8 ps/nm.
        let dr4 = Preset::named("400GBASE-DR4").unwrap().optical.unwrap();
        assert!((dr4.dispersion_min_ps_per_nm - (-0.93)).abs() < 0.005, "{}", dr4.dispersion_min_ps_per_nm);
        assert!((dr4.dispersion_max_ps_per_nm - 0.80).abs() < 0.015, "{}", dr4.dispersion_max_ps_per_nm);
        let fr1 = Preset::named("100GBASE-FR1").unwrap().optical.unwrap();
        let lr1 = Preset::named("100GBASE-LR1").unwrap().optical.unwrap();
        assert!((lr1.dispersion_min_ps_per_nm / fr1.dispersion_min_ps_per_nm - 5.0).abs() < 1e-9);
        // At 1271 nm both corners are negative (below the zero-dispersion wavelength).
        assert!(fr1.dispersion_min_ps_per_nm < fr1.dispersion_max_ps_per_nm && fr1.dispersion_max_ps_per_nm < 0.0);
        // Zero at λ0.
        assert!(FibreDispersionModel::coefficient(1310.0, 1310.0, 0.092).abs() < 1e-12);
        let m = FibreDispersionModel::default();
        assert!(m.dispersion_range_ps_per_nm(-1.0, 1300.0, 1310.0).is_err());
        assert!(m.dispersion_range_ps_per_nm(500.0, 1320.0, 1310.0).is_err());
        assert!(m.dispersion_range_ps_per_nm(500.0, f64::NAN, 1310.0).is_err());
    }

    #[test]
    fn limits_pass_fail_and_not_checked() {
        let l = Limits {
            max_pre_fec_ber: Some(2.4e-4),
            max_tdecq_db: Some(3.4),
            min_outer_er_db: Some(3.5),
            ..Limits::default()
        };
        assert_eq!(l.check(&Measured::default()).verdict, Verdict::NotChecked);
        let ok = Measured { pre_fec_ber: Some(2.4e-4), ..Measured::default() };
        assert_eq!(l.check(&ok).verdict, Verdict::Pass);
        let bad = Measured { pre_fec_ber: Some(2.41e-4), ..Measured::default() };
        assert_eq!(l.check(&bad).verdict, Verdict::Fail);
        let tdecq = Measured { pre_fec_ber: Some(1e-6), tdecq_db: Some(3.5), ..Measured::default() };
        let r = l.check(&tdecq);
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.checks.len(), 2);
        assert!(r.checks[0].pass && !r.checks[1].pass);
        let er = Measured { outer_er_db: Some(3.0), ..Measured::default() };
        assert_eq!(l.check(&er).verdict, Verdict::Fail);
        let nan = Measured { pre_fec_ber: Some(f64::NAN), ..Measured::default() };
        assert_eq!(l.check(&nan).verdict, Verdict::Fail);
        assert!(Limits { max_pre_fec_ber: Some(f64::INFINITY), ..Limits::default() }.validate().is_err());
    }

    #[test]
    fn presets_round_trip_through_json() {
        for p in Preset::all() {
            let text = serde_json::to_string(&p).unwrap();
            let back: Preset = serde_json::from_str(&text).unwrap();
            // serde_json's default float parser may differ in the last ulp: compare the text.
            assert_eq!(serde_json::to_string(&back).unwrap(), text);
            assert_eq!(back.name, p.name);
            assert_eq!(back.config.equalizer, p.config.equalizer);
        }
    }
}
