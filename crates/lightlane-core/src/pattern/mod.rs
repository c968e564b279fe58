//! Test patterns (PRBS, PRBSnQ, SSPRQ, user symbols), pattern synchronisation and error
//! counting.
//!
//! * [`Pattern`] names a pattern and generates its transmitted symbols: PRBS7/9/11/13/15/23/31
//!   with the IEEE 802.3 polynomials, PRBS9Q, PRBS13Q, PRBS31Q and SSPRQ (802.3 120.5.11.2),
//!   or symbols from a file.
//! * [`PatternChecker`] finds where received decisions sit in the pattern — unknown start,
//!   inverted polarity, complemented data, swapped PAM4 bits, binary instead of Gray mapping
//!   ([`SymbolTransform`]) — even at 20 % symbol errors ([`PatternChecker::align`]), and counts
//!   bit and symbol errors with resynchronisation after slips ([`PatternChecker::check`]).
//!
//! ```
//! use lightlane_core::pattern::{Pattern, PatternChecker, SyncConfig};
//! use lightlane_core::Modulation;
//!
//! let pattern = Pattern::parse("prbs13q")?;
//! let mut rx = pattern.generate(Modulation::Pam4, 20_000)?;
//! rx.drain(..1234); // unknown start phase
//! rx[500] = (rx[500] + 1) % 4; // one symbol error (one bit: adjacent Gray levels)
//! let checker = PatternChecker::new(&pattern, Modulation::Pam4, SyncConfig::default())?;
//! let report = checker.check(&rx)?;
//! assert_eq!((report.symbol_errors, report.bit_errors), (1, 1));
//! assert_eq!(report.error_positions[0].symbol_index, 500);
//! # Ok::<(), lightlane_core::Error>(())
//! ```

mod checker;
pub mod count;
pub mod prbs;
pub mod quaternary;
pub mod soft;
mod sync;
mod transform;
pub mod user;

pub use checker::{ErrorPosition, ErrorReport, PatternChecker};
pub use count::{count_errors, count_errors_naive, ErrorCounts};
pub use sync::{Alignment, SyncConfig};
pub use soft::{align_soft, SoftAlignment};
pub use transform::SymbolTransform;

use crate::modulation::Modulation;
use crate::{Error, Result};
use prbs::PrbsSpec;
use std::sync::Arc;

/// Pattern names [`Pattern::parse`] accepts (plus `file:PATH`).
pub const KNOWN_PATTERNS: [&str; 11] = [
    "prbs7", "prbs9", "prbs11", "prbs13", "prbs15", "prbs23", "prbs31", "prbs9q", "prbs13q", "prbs31q", "ssprq",
];

/// A test pattern: what the transmitter sends, before any [`SymbolTransform`].
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    name: String,
    kind: PatternKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PatternKind {
    /// A PRBS from `seed` (register bits, bit i = S_i). `quaternary`: a PRBSnQ, PAM4 only.
    Prbs { spec: PrbsSpec, seed: u64, quaternary: bool },
    /// SSPRQ, PAM4 only.
    Ssprq,
    /// Symbols repeated.
    User { symbols: Arc<[u8]> },
}

impl Pattern {
    /// Pattern by name, case-insensitive: `prbs7`, `prbs9`, `prbs11`, `prbs13`, `prbs15`,
    /// `prbs23`, `prbs31`, `prbs9q`, `prbs13q`, `prbs31q`, `ssprq`, or `file:PATH` for a
    /// user pattern file (format in [`user`]).
    ///
    /// Seeds: all ones, except PRBS13Q which uses lane 0 of 802.3 Table 94-11 (`0000010101011`,
    /// S0 first). Sync does not depend on the seed; it only fixes what "position 0" means.
    pub fn parse(name: &str) -> Result<Pattern> {
        let trimmed = name.trim();
        if trimmed.len() >= 5 && trimmed[..5].eq_ignore_ascii_case("file:") {
            let path = &trimmed[5..];
            let symbols = user::read_symbols_file(path)?;
            return Pattern::from_symbols(&format!("file:{path}"), symbols);
        }
        let lower = trimmed.to_ascii_lowercase();
        let all_ones = |s: PrbsSpec| (1u64 << s.order) - 1;
        let prbs = |spec: PrbsSpec, quaternary: bool, seed: u64| PatternKind::Prbs { spec, seed, quaternary };
        let kind = match lower.as_str() {
            "prbs7" => prbs(prbs::PRBS7, false, all_ones(prbs::PRBS7)),
            "prbs9" => prbs(prbs::PRBS9, false, all_ones(prbs::PRBS9)),
            "prbs11" => prbs(prbs::PRBS11, false, all_ones(prbs::PRBS11)),
            "prbs13" => prbs(prbs::PRBS13, false, all_ones(prbs::PRBS13)),
            "prbs15" => prbs(prbs::PRBS15, false, all_ones(prbs::PRBS15)),
            "prbs23" => prbs(prbs::PRBS23, false, all_ones(prbs::PRBS23)),
            "prbs31" => prbs(prbs::PRBS31, false, all_ones(prbs::PRBS31)),
            "prbs9q" => prbs(prbs::PRBS9, true, all_ones(prbs::PRBS9)),
            "prbs13q" => {
                let seed = quaternary::seed_from_s0_first(quaternary::PRBS13Q_LANE_SEEDS[0]).expect("valid constant");
                prbs(prbs::PRBS13, true, seed)
            }
            "prbs31q" => prbs(prbs::PRBS31, true, all_ones(prbs::PRBS31)),
            "ssprq" => PatternKind::Ssprq,
            _ => {
                return Err(Error::UnknownPattern {
                    name: name.to_string(),
                    known: format!("{}, file:PATH", KNOWN_PATTERNS.join(", ")),
                })
            }
        };
        Ok(Pattern {
            name: lower.to_ascii_uppercase(),
            kind,
        })
    }

    /// A user pattern from symbol values (0–3; 0–1 for use on NRZ). `origin` names it in
    /// reports and errors. Empty or longer than [`user::MAX_USER_SYMBOLS`] is an error.
    pub fn from_symbols(origin: &str, symbols: Vec<u8>) -> Result<Pattern> {
        if symbols.is_empty() {
            return Err(Error::invalid("user pattern", origin, "pattern has no symbols"));
        }
        if symbols.len() > user::MAX_USER_SYMBOLS {
            return Err(Error::invalid(
                "user pattern length",
                symbols.len(),
                format!("user patterns are limited to {} symbols", user::MAX_USER_SYMBOLS),
            ));
        }
        if let Some(position) = symbols.iter().position(|&s| s > 3) {
            return Err(Error::IllegalSymbol {
                origin: origin.to_string(),
                position,
                value: symbols[position].to_string(),
                max: 3,
            });
        }
        Ok(Pattern {
            name: origin.to_string(),
            kind: PatternKind::User { symbols: symbols.into() },
        })
    }

    /// A user pattern from text (format in [`user`]).
    pub fn from_text(origin: &str, text: &str) -> Result<Pattern> {
        Pattern::from_symbols(origin, user::parse_symbols(origin, text)?)
    }

    /// Display name: `PRBS13Q`, `SSPRQ`, … or the user pattern's origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn kind(&self) -> &PatternKind {
        &self.kind
    }

    /// Checks that the pattern exists on `modulation` (PRBSnQ and SSPRQ are PAM4 only; user
    /// symbols must fit the alphabet).
    pub fn check_modulation(&self, modulation: Modulation) -> Result<()> {
        match (&self.kind, modulation) {
            (PatternKind::Prbs { quaternary: true, .. }, Modulation::Nrz) | (PatternKind::Ssprq, Modulation::Nrz) => {
                Err(Error::invalid(
                    "modulation",
                    modulation,
                    format!("{} is a PAM4 pattern (IEEE 802.3 120.5.11.2)", self.name),
                ))
            }
            (PatternKind::User { symbols }, m) => match symbols.iter().position(|&s| s > m.max_symbol()) {
                Some(position) => Err(Error::IllegalSymbol {
                    origin: self.name.clone(),
                    position,
                    value: symbols[position].to_string(),
                    max: m.max_symbol(),
                }),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Symbols in one period on `modulation`: 2ⁿ − 1 for PRBSn and PRBSnQ (on PAM4 a period
    /// spans two bit periods), 65 535 for SSPRQ, the length of a user pattern. 0 when the
    /// pattern does not exist on `modulation` (PRBSnQ, SSPRQ on NRZ).
    pub fn period_symbols(&self, modulation: Modulation) -> u64 {
        if self.check_modulation(modulation).is_err() && !matches!(self.kind, PatternKind::User { .. }) {
            return 0;
        }
        match &self.kind {
            PatternKind::Prbs { spec, .. } => (1u64 << spec.order) - 1,
            PatternKind::Ssprq => quaternary::SSPRQ_LEN as u64,
            PatternKind::User { symbols } => symbols.len() as u64,
        }
    }

    /// The first `n` transmitted symbols on `modulation`: PRBS bits as NRZ symbols, or
    /// Gray-mapped bit pairs (first bit = MSB, 802.3 120.5.7.1) on PAM4.
    pub fn generate(&self, modulation: Modulation, n: usize) -> Result<Vec<u8>> {
        self.check_modulation(modulation)?;
        let mut out = vec![0u8; n];
        match &self.kind {
            PatternKind::Prbs { spec, seed, .. } => {
                let mut state = *seed;
                quaternary::fill_lfsr_symbols(&spec.lfsr(), &mut state, modulation, &mut out);
            }
            PatternKind::Ssprq => fill_cyclic(&quaternary::ssprq_symbols(), 0, &mut out),
            PatternKind::User { symbols } => fill_cyclic(symbols, 0, &mut out),
        }
        Ok(out)
    }
}

/// Copies `period[(start + i) % len]` into `out[i]`.
pub(crate) fn fill_cyclic(period: &[u8], start: usize, out: &mut [u8]) {
    let len = period.len();
    if len == 0 {
        return;
    }
    let mut src = start % len;
    let mut done = 0;
    while done < out.len() {
        let take = (len - src).min(out.len() - done);
        out[done..done + take].copy_from_slice(&period[src..src + take]);
        done += take;
        src = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_known_and_unknown_names() {
        for n in KNOWN_PATTERNS {
            let p = Pattern::parse(&n.to_uppercase()).unwrap();
            assert_eq!(p.name(), n.to_uppercase());
        }
        match Pattern::parse("prbs8") {
            Err(Error::UnknownPattern { name, known }) => {
                assert_eq!(name, "prbs8");
                assert!(known.contains("prbs13q") && known.contains("ssprq") && known.contains("file:"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(Pattern::parse("file:/nonexistent/x.txt"), Err(Error::Io { .. })));
    }

    #[test]
    fn quaternary_patterns_reject_nrz() {
        for n in ["prbs9q", "prbs13q", "prbs31q", "ssprq"] {
            let p = Pattern::parse(n).unwrap();
            assert!(p.generate(Modulation::Nrz, 10).is_err());
            assert_eq!(p.period_symbols(Modulation::Nrz), 0);
        }
        let u = Pattern::from_symbols("u", vec![0, 1, 3]).unwrap();
        assert!(matches!(
            u.generate(Modulation::Nrz, 4),
            Err(Error::IllegalSymbol { position: 2, max: 1, .. })
        ));
        assert_eq!(u.generate(Modulation::Pam4, 7).unwrap(), vec![0, 1, 3, 0, 1, 3, 0]);
        assert!(Pattern::from_symbols("e", vec![]).is_err());
        assert!(matches!(Pattern::from_symbols("b", vec![0, 4]), Err(Error::IllegalSymbol { position: 1, .. })));
    }

    #[test]
    fn periods() {
        let p = |n: &str| Pattern::parse(n).unwrap();
        assert_eq!(p("prbs7").period_symbols(Modulation::Nrz), 127);
        assert_eq!(p("prbs7").period_symbols(Modulation::Pam4), 127);
        assert_eq!(p("prbs13q").period_symbols(Modulation::Pam4), 8191);
        assert_eq!(p("prbs31q").period_symbols(Modulation::Pam4), (1 << 31) - 1);
        assert_eq!(p("ssprq").period_symbols(Modulation::Pam4), 65_535);
    }
}
