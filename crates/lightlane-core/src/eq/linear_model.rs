//! The linear ISI model of an equalized signal, fitted once and shared by the detectors built
//! on it.
//!
//! `y[k] ≈ Σ_{i=0..m} h[i]·α(s[k−i]) + c` by least squares over a training span whose symbols
//! `s` are known (`α(s)` the nominal level, [`Modulation::level`]). A [`Dfe`](super::Dfe) with
//! feedback taps `h[1..]` and slicer levels `h[0]·α + c` ([`Dfe::from_model`](super::Dfe::from_model)),
//! and an [`Mlse`](super::Mlse) whose table is `h[0]·α(s) + c + Σ_{i≥1} h[i]·α(s[k−i])`
//! ([`Mlse::from_model`](super::Mlse::from_model)), both follow from the one fit: an MLSE chain
//! decides its `ffe` stage with the DFE and its `mlse` stage with the Viterbi detector of the
//! same model.

use super::dfe::MAX_DFE_TAPS;
use super::lsq::LeastSquares;
use crate::{Error, Modulation, Result};

/// Least-squares fit `y[k] ≈ Σ_{i=0..m} h[i]·α(s[k−i]) + c` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearIsiModel {
    modulation: Modulation,
    /// `h[0..=memory]`: main cursor, then the post-cursors.
    cursors: Vec<f64>,
    offset: f64,
    /// Training pairs offered (the common length of `y` and the symbols).
    symbols: usize,
}

/// What the error messages of a fit call things (the DFE and the MLSE keep their own names).
pub(crate) struct FitNames {
    /// Fewest training pairs.
    pub min_symbols: usize,
    /// `what` of the too-short and out-of-range symbol errors.
    pub symbols: &'static str,
    /// Name of the training input in the non-finite error.
    pub input: &'static str,
    /// `stage` of the [`Error::Unusable`] errors.
    pub stage: &'static str,
}

impl LinearIsiModel {
    /// Fits the model with `memory` post-cursors (1..=32) to the equalized `y` whose true symbols
    /// are `known_symbols` (aligned: `known_symbols[k]` is the symbol of `y[k]`; the common
    /// length is used). Ridge 1e-9 (relative), as the DFE and MLSE trainers always had.
    ///
    /// Errors: `memory` outside 1..=32, fewer than `9·memory + 16` pairs
    /// ([`Error::InputTooShort`]), a symbol above the modulation's range
    /// ([`Error::ValueOutOfRange`]), a non-finite sample, a singular fit or one whose main cursor
    /// is not positive ([`Error::Unusable`]).
    pub fn fit(y: &[f32], known_symbols: &[u8], memory: usize, modulation: Modulation) -> Result<LinearIsiModel> {
        if memory == 0 || memory > MAX_DFE_TAPS {
            return Err(Error::invalid("linear ISI model memory", memory, format!("must be 1..={MAX_DFE_TAPS}")));
        }
        let names = FitNames {
            min_symbols: 8 * (memory + 2) + memory,
            symbols: "linear ISI fit training symbols",
            input: "linear ISI fit training input",
            stage: "linear ISI fit",
        };
        Self::fit_named(y, known_symbols, memory, modulation, &names)
    }

    /// [`LinearIsiModel::fit`] with the caller's limits and error names; `memory` is checked by
    /// the caller.
    pub(crate) fn fit_named(y: &[f32], known: &[u8], memory: usize, modulation: Modulation, names: &FitNames) -> Result<LinearIsiModel> {
        let n = y.len().min(known.len());
        if n < names.min_symbols {
            return Err(Error::InputTooShort {
                what: names.symbols,
                needed: names.min_symbols,
                got: n,
            });
        }
        let max = modulation.max_symbol();
        if let Some(index) = known[..n].iter().position(|&s| s > max) {
            return Err(Error::ValueOutOfRange {
                what: names.symbols,
                index,
                value: known[index] as u64,
                max: max as u64,
            });
        }
        crate::error::check_finite(names.input, &y[..n])?;
        let alphabet = modulation.level_set();
        let mut ls = LeastSquares::new(memory + 2);
        let mut u = vec![0.0f64; memory + 2];
        for k in memory..n {
            for i in 0..=memory {
                u[i] = alphabet[known[k - i] as usize] as f64;
            }
            u[memory + 1] = 1.0;
            ls.add(&u, y[k] as f64);
        }
        let (w, _) = ls.solve(1e-9).map_err(|e| match e {
            Error::Unusable { reason, .. } => Error::Unusable { stage: names.stage, reason },
            other => other,
        })?;
        let rms = (y[..n].iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / n as f64).sqrt();
        if w[0].is_nan() || w[0] <= 1e-6 * rms {
            return Err(Error::Unusable {
                stage: names.stage,
                reason: format!("main cursor {:.3e} is not positive: the input does not follow the symbols", w[0]),
            });
        }
        Ok(LinearIsiModel {
            modulation,
            cursors: w[..=memory].to_vec(),
            offset: w[memory + 1],
            symbols: n,
        })
    }

    /// The modulation.
    pub fn modulation(&self) -> Modulation {
        self.modulation
    }

    /// Post-cursors modelled.
    pub fn memory(&self) -> usize {
        self.cursors.len() - 1
    }

    /// `h[0..=memory]`: the main cursor, then the post-cursors, in output units per nominal level.
    pub fn cursors(&self) -> &[f64] {
        &self.cursors
    }

    /// The offset `c`.
    pub fn offset(&self) -> f64 {
        self.offset
    }

    /// Training pairs the fit was offered.
    pub fn symbols(&self) -> usize {
        self.symbols
    }

    /// The main-cursor levels `h[0]·α(s) + c`, one per symbol (ascending).
    pub fn levels(&self) -> Vec<f32> {
        self.modulation
            .level_set()
            .iter()
            .map(|&a| (self.cursors[0] * a as f64 + self.offset) as f32)
            .collect()
    }

    /// The target normalised to a unit main cursor, `[1, h1/h0, …]` (`[1, α]`: the `1 + αD`
    /// target of an MLSE).
    pub fn target(&self) -> Vec<f32> {
        self.cursors.iter().map(|&v| (v / self.cursors[0]) as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eq::{Dfe, Mlse};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn link(n: usize, h: &[f32], offset: f32, sigma: f32, seed: u64) -> (Vec<u8>, Vec<f32>) {
        let m = Modulation::Pam4;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s: Vec<u8> = (0..n).map(|_| rng.random_range(0..4u8)).collect();
        let noise = Normal::new(0.0f32, sigma).unwrap();
        let y = (0..n)
            .map(|k| offset + h.iter().enumerate().filter(|&(i, _)| i <= k).map(|(i, &v)| v * m.level(s[k - i])).sum::<f32>() + noise.sample(&mut rng))
            .collect();
        (s, y)
    }

    #[test]
    fn recovers_the_channel_and_both_detectors_share_it() {
        let m = Modulation::Pam4;
        let (s, y) = link(40_000, &[0.9, 0.45, -0.1], 0.05, 0.03, 3);
        let fit = LinearIsiModel::fit(&y, &s, 2, m).unwrap();
        for (got, want) in fit.cursors().iter().zip([0.9, 0.45, -0.1]) {
            assert!((got - want).abs() < 2e-3, "{:?}", fit.cursors());
        }
        assert!((fit.offset() - 0.05).abs() < 2e-3);
        assert_eq!(fit.memory(), 2);
        assert_eq!(fit.symbols(), 40_000);
        let t = fit.target();
        assert_eq!(t[0], 1.0);
        assert!((t[1] - 0.5).abs() < 3e-3, "{t:?}");
        // The detectors built from the model are the ones the separate trainers return.
        let dfe = Dfe::from_model(&fit).unwrap();
        assert_eq!(dfe, Dfe::train(&y, &s, 2, m).unwrap());
        assert_eq!(dfe.taps(), &[fit.cursors()[1] as f32, fit.cursors()[2] as f32]);
        assert_eq!(dfe.levels(), fit.levels().as_slice());
        let (mlse, target) = Mlse::fit_linear(&y, &s, 2, m).unwrap();
        assert_eq!(Mlse::from_model(&fit).unwrap(), mlse);
        assert_eq!(target, t);
        // Memory 3 is a DFE model only.
        let deep = LinearIsiModel::fit(&y, &s, 3, m).unwrap();
        assert!(Dfe::from_model(&deep).is_ok());
        assert!(matches!(Mlse::from_model(&deep), Err(Error::InvalidParameter { .. })));
    }

    #[test]
    fn bad_inputs_are_named_errors() {
        let m = Modulation::Pam4;
        let (s, y) = link(2000, &[1.0, 0.5], 0.0, 0.05, 4);
        assert!(matches!(LinearIsiModel::fit(&y, &s, 0, m), Err(Error::InvalidParameter { .. })));
        assert!(matches!(LinearIsiModel::fit(&y, &s, 33, m), Err(Error::InvalidParameter { .. })));
        assert!(matches!(LinearIsiModel::fit(&y[..20], &s, 1, m), Err(Error::InputTooShort { needed: 25, got: 20, .. })));
        let mut bad = s.clone();
        bad[7] = 4;
        assert!(matches!(LinearIsiModel::fit(&y, &bad, 1, m), Err(Error::ValueOutOfRange { index: 7, .. })));
        let mut nan = y.clone();
        nan[9] = f32::NAN;
        assert!(matches!(LinearIsiModel::fit(&nan, &s, 1, m), Err(Error::NonFinite { .. })));
        // A signal that does not follow the symbols (inverted) has no positive main cursor.
        let inverted: Vec<f32> = y.iter().map(|v| -v).collect();
        assert!(matches!(LinearIsiModel::fit(&inverted, &s, 1, m), Err(Error::Unusable { .. })));
    }
}
