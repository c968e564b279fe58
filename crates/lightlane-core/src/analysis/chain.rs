//! The receiver chain the pipeline runs, as users write it on the command line:
//! `ctle,ffe:15,dfe:1`, `bt4,ffe:15:t2,mlse:1`, `ffe:9:lms`.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How an FFE's taps are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FfeMethod {
    /// Least-squares solve against the known pattern.
    Mmse,
    /// LMS adaptation against the pattern, then decision directed.
    Lms,
    /// Normalised LMS.
    Nlms,
    /// Sign-sign LMS.
    SignSign,
    /// Recursive least squares.
    Rls,
}

/// One stage of the receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "lowercase")]
pub enum EqStage {
    /// 802.3 Annex 93A CTLE; DC gain chosen by SNR when `gdc_db` is `None`.
    Ctle { gdc_db: Option<f64> },
    /// 4th-order Bessel-Thomson reference receiver at `f3db_baud` × baud (802.3 121.8.5.1: 0.5).
    Bt4 { f3db_baud: f64 },
    /// Feed-forward equalizer.
    Ffe { taps: usize, samples_per_symbol: usize, training: FfeMethod },
    /// Decision-feedback equalizer with `taps` feedback taps.
    Dfe { taps: usize },
    /// Viterbi detector for a target with `memory` post-cursors (1: 1+αD, 4 PAM4 states; 2: 16).
    Mlse { memory: usize },
}

/// A parsed receiver chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EqualizerChain {
    pub stages: Vec<EqStage>,
}

impl Default for EqualizerChain {
    fn default() -> Self {
        "ffe:15".parse().expect("default chain parses")
    }
}

fn num<T: std::str::FromStr>(spec: &str, field: &str, what: &'static str) -> Result<T> {
    field
        .parse()
        .map_err(|_| Error::invalid("equalizer", spec, format!("'{field}' is not a valid {what}")))
}

impl std::str::FromStr for EqualizerChain {
    type Err = Error;

    /// Parses `stage[,stage…]` with stages `ctle[:GDC_DB]`, `bt4[:F3DB_IN_BAUD]`,
    /// `ffe[:TAPS[:t|t2][:mmse|lms|nlms|ss|rls]]`, `dfe[:TAPS]`, `mlse[:MEMORY]`.
    fn from_str(spec: &str) -> Result<Self> {
        let bad = |reason: String| Error::invalid("equalizer", spec, reason);
        let mut stages = Vec::new();
        for item in spec.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(bad("empty stage".into()));
            }
            let mut parts = item.split(':');
            let name = parts.next().unwrap_or_default().to_ascii_lowercase();
            let args: Vec<&str> = parts.collect();
            let stage = match name.as_str() {
                "ctle" => match args.as_slice() {
                    [] => EqStage::Ctle { gdc_db: None },
                    [g] => EqStage::Ctle { gdc_db: Some(num(spec, g, "DC gain in dB")?) },
                    _ => return Err(bad("ctle takes at most one argument (DC gain dB)".into())),
                },
                "bt4" => match args.as_slice() {
                    [] => EqStage::Bt4 { f3db_baud: 0.5 },
                    [f] => {
                        let f: f64 = num(spec, f, "bandwidth in units of the baud")?;
                        if !(f > 0.01 && f < 4.0) {
                            return Err(bad(format!("bt4 bandwidth {f} × baud is outside 0.01..4")));
                        }
                        EqStage::Bt4 { f3db_baud: f }
                    }
                    _ => return Err(bad("bt4 takes at most one argument".into())),
                },
                "ffe" => {
                    let taps = match args.first() {
                        Some(t) => num(spec, t, "tap count")?,
                        None => 15,
                    };
                    if !(1..=1024).contains(&taps) {
                        return Err(bad(format!("ffe tap count {taps} is outside 1..=1024")));
                    }
                    let mut sps = 1;
                    let mut training = FfeMethod::Mmse;
                    for a in args.iter().skip(1) {
                        match a.to_ascii_lowercase().as_str() {
                            "t" => sps = 1,
                            "t2" => sps = 2,
                            "mmse" => training = FfeMethod::Mmse,
                            "lms" => training = FfeMethod::Lms,
                            "nlms" => training = FfeMethod::Nlms,
                            "ss" | "sslms" => training = FfeMethod::SignSign,
                            "rls" => training = FfeMethod::Rls,
                            other => return Err(bad(format!("unknown ffe option '{other}' (t, t2, mmse, lms, nlms, ss, rls)"))),
                        }
                    }
                    EqStage::Ffe { taps, samples_per_symbol: sps, training }
                }
                "dfe" => {
                    let taps = match args.as_slice() {
                        [] => 1,
                        [t] => num(spec, t, "tap count")?,
                        _ => return Err(bad("dfe takes at most one argument (taps)".into())),
                    };
                    if !(1..=32).contains(&taps) {
                        return Err(bad(format!("dfe tap count {taps} is outside 1..=32")));
                    }
                    EqStage::Dfe { taps }
                }
                "mlse" => {
                    let memory = match args.as_slice() {
                        [] => 1,
                        [t] => num(spec, t, "channel memory")?,
                        _ => return Err(bad("mlse takes at most one argument (memory 1 or 2)".into())),
                    };
                    if !(1..=2).contains(&memory) {
                        return Err(bad(format!("mlse memory {memory} must be 1 (4 states) or 2 (16 states)")));
                    }
                    EqStage::Mlse { memory }
                }
                other => return Err(bad(format!("unknown stage '{other}' (ctle, bt4, ffe, dfe, mlse)"))),
            };
            stages.push(stage);
        }
        let chain = EqualizerChain { stages };
        chain.validate().map_err(|e| match e {
            Error::InvalidParameter { reason, .. } => bad(reason),
            other => other,
        })?;
        Ok(chain)
    }
}

impl EqualizerChain {
    /// Order rules: analog stages (ctle, bt4) first, at most one FFE, then at most one
    /// decision stage (dfe or mlse) last.
    pub fn validate(&self) -> Result<()> {
        let rank = |s: &EqStage| match s {
            EqStage::Ctle { .. } | EqStage::Bt4 { .. } => 0,
            EqStage::Ffe { .. } => 1,
            EqStage::Dfe { .. } | EqStage::Mlse { .. } => 2,
        };
        let bad = |r: &str| Error::invalid("equalizer", self.to_string(), r.to_string());
        if self.stages.windows(2).any(|w| rank(&w[0]) > rank(&w[1])) {
            return Err(bad("stages must run analog (ctle, bt4) → ffe → dfe/mlse"));
        }
        if self.stages.iter().filter(|s| rank(s) == 1).count() > 1 {
            return Err(bad("at most one ffe"));
        }
        if self.stages.iter().filter(|s| rank(s) == 2).count() > 1 {
            return Err(bad("at most one of dfe and mlse"));
        }
        Ok(())
    }

    /// The FFE stage, if any.
    pub fn ffe(&self) -> Option<(usize, usize, FfeMethod)> {
        self.stages.iter().find_map(|s| match s {
            EqStage::Ffe { taps, samples_per_symbol, training } => Some((*taps, *samples_per_symbol, *training)),
            _ => None,
        })
    }
}

impl std::fmt::Display for EqualizerChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .stages
            .iter()
            .map(|s| match s {
                EqStage::Ctle { gdc_db: None } => "ctle".into(),
                EqStage::Ctle { gdc_db: Some(g) } => format!("ctle:{g}"),
                EqStage::Bt4 { f3db_baud } => format!("bt4:{f3db_baud}"),
                EqStage::Ffe { taps, samples_per_symbol, training } => {
                    let t = match training {
                        FfeMethod::Mmse => "mmse",
                        FfeMethod::Lms => "lms",
                        FfeMethod::Nlms => "nlms",
                        FfeMethod::SignSign => "ss",
                        FfeMethod::Rls => "rls",
                    };
                    format!("ffe:{taps}:{}:{t}", if *samples_per_symbol == 2 { "t2" } else { "t" })
                }
                EqStage::Dfe { taps } => format!("dfe:{taps}"),
                EqStage::Mlse { memory } => format!("mlse:{memory}"),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_chains() {
        let c: EqualizerChain = "ctle,ffe:15,dfe:1".parse().unwrap();
        assert_eq!(c.stages.len(), 3);
        assert_eq!(c.ffe(), Some((15, 1, FfeMethod::Mmse)));
        let c: EqualizerChain = "ffe:15,mlse:1".parse().unwrap();
        assert_eq!(c.stages[1], EqStage::Mlse { memory: 1 });
        let c: EqualizerChain = "bt4:0.5,ffe:21:t2:lms".parse().unwrap();
        assert_eq!(c.ffe(), Some((21, 2, FfeMethod::Lms)));
        // Display round-trips.
        let again: EqualizerChain = c.to_string().parse().unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn rejects_bad_specs_with_the_cause() {
        for (spec, needle) in [
            ("", "empty stage"),
            ("ffe:abc", "not a valid tap count"),
            ("ffe:0", "outside"),
            ("dfe:1,ffe:5", "must run"),
            ("ffe:5,ffe:7", "at most one ffe"),
            ("dfe:1,mlse:1", "at most one of dfe and mlse"),
            ("mlse:3", "must be 1"),
            ("ffe:5:t3", "unknown ffe option"),
            ("zfe:3", "unknown stage"),
            ("bt4:100", "outside"),
        ] {
            let err = spec.parse::<EqualizerChain>().unwrap_err().to_string();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }
}
