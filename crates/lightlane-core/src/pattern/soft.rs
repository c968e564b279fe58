//! Alignment from soft samples: circular cross-correlation of the received levels with the
//! pattern's levels, for captures whose raw eye is closed (heavy ISI) so that slicer decisions
//! are too wrong for [`super::PatternChecker::align`].
//!
//! The correlation peak of an ISI channel sits at the main cursor, `h₀·N` above a noise floor of
//! about `√N`, so alignment succeeds long before the eye opens. The result seeds the MMSE
//! equalizer, whose delay search absorbs a peak that lands a cursor or two away.

use super::{Alignment, PatternChecker, SymbolTransform};
use crate::{Error, Result};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Longest pattern period aligned by correlation (2^22 symbols: every stored-period pattern up
/// to PRBS21; PRBS23/31 and their Q forms sync from decisions only).
pub const MAX_SOFT_PERIOD: u64 = 1 << 22;

/// Samples per partial sum of the mean in [`fold_zero_mean`].
const MEAN_BLOCK: usize = 1 << 16;
/// Residues (pattern positions) per task of the fold in [`fold_zero_mean`].
const FOLD_RESIDUES: usize = 1 << 10;

/// `folded[j] = Σ_{k ≡ j (mod p)} (x[k] − mean)`, the zero-mean samples folded onto one period,
/// on the thread pool (the captures are millions of symbols).
///
/// The mean is the sum of per-block sums (blocks of `block` samples, summed in order, then the
/// block sums in order): fixed by `block`, not by the thread count, and within a few ulp of the
/// serial left-to-right sum (`fold_zero_mean_serial` in the tests). Each residue is folded by
/// one task, over its samples in increasing `k` as in the serial loop, so given the mean the
/// folded sums are the serial ones bit for bit.
fn fold_zero_mean(x: &[f32], p: usize, block: usize) -> Vec<f64> {
    use rayon::prelude::*;
    let sum: f64 = x.par_chunks(block).map(|c| c.iter().map(|&v| v as f64).sum::<f64>()).collect::<Vec<f64>>().iter().sum();
    let mean = sum / x.len() as f64;
    let mut folded = vec![0f64; p];
    folded.par_chunks_mut(FOLD_RESIDUES).enumerate().for_each(|(b, f)| {
        let j0 = b * FOLD_RESIDUES;
        for row in x.chunks(p) {
            let row = row.get(j0..).unwrap_or(&[]);
            for (acc, &v) in f.iter_mut().zip(row) {
                *acc += v as f64 - mean;
            }
        }
    });
    folded
}

/// Outcome of [`align_soft`]: the alignment and how far its peak stood above the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftAlignment {
    /// Alignment usable with [`PatternChecker::expected`].
    pub alignment: Alignment,
    /// Normalised correlation at the peak (1 = noiseless, ISI-free).
    pub peak: f64,
    /// Peak over the rms of all other lags.
    pub peak_to_floor: f64,
}

/// Aligns the soft samples `x` (one per symbol, at the symbol centres; any scale and offset)
/// to the pattern of `checker`, over the transforms its configuration allows.
///
/// Errors: [`Error::PatternSyncFailed`] when no lag stands out of the correlation floor,
/// [`Error::InvalidParameter`] when the pattern is longer than [`MAX_SOFT_PERIOD`].
pub fn align_soft(checker: &PatternChecker, pattern: &super::Pattern, x: &[f32]) -> Result<SoftAlignment> {
    let p = check_soft_input(checker, x)?;
    let m = checker.modulation();
    // Fold the samples onto one period (zero-mean), so every lag of a capture longer than the
    // period contributes.
    let folded = fold_zero_mean(x, p, MEAN_BLOCK);
    let canonical = pattern.generate(m, p)?;
    // The two plans (a prime period's Rader plans take a millisecond each) built side by side;
    // a planner's choice depends on the length and direction only.
    let (fwd, inv) = rayon::join(|| FftPlanner::<f64>::new().plan_fft_forward(p), || FftPlanner::<f64>::new().plan_fft_inverse(p));
    let folded = FoldedSpectrum::new(&folded, &*fwd);
    let transforms = soft_transforms(checker);
    // Each transform's correlation on the pool (the FFT plans are shared); the best is then
    // chosen in the transforms' order, as one loop over them would.
    let peaks: Vec<Option<(f64, usize, f64)>> = {
        use rayon::prelude::*;
        transforms.par_iter().map(|&t| folded.peak(&canonical, t, m, &*fwd, &*inv)).collect()
    };
    choose_alignment(checker, transforms.into_iter().zip(peaks), x.len(), p)
}

/// The period, after the checks of [`align_soft`]'s input (pattern period, length of `x`).
fn check_soft_input(checker: &PatternChecker, x: &[f32]) -> Result<usize> {
    let period = checker.period();
    if period > MAX_SOFT_PERIOD {
        return Err(Error::invalid(
            "pattern",
            checker.pattern_name(),
            format!("period {period} is too long for soft alignment (max {MAX_SOFT_PERIOD})"),
        ));
    }
    if x.len() < 64 {
        return Err(Error::InputTooShort {
            what: "symbols for soft alignment",
            needed: 64,
            got: x.len(),
        });
    }
    Ok(period as usize)
}

/// The transforms [`align_soft`] searches: inversion is a sign of the correlation, the other
/// flags are searched explicitly.
fn soft_transforms(checker: &PatternChecker) -> Vec<SymbolTransform> {
    let cfg = checker.config();
    SymbolTransform::candidates(checker.modulation(), false, cfg.allow_data_inversion, cfg.allow_msb_lsb_swap, cfg.allow_binary_mapping)
}

/// The folded samples' spectrum and energy.
struct FoldedSpectrum {
    fx: Vec<Complex<f64>>,
    energy: f64,
}

impl FoldedSpectrum {
    fn new(folded: &[f64], fwd: &dyn Fft<f64>) -> Self {
        let mut fx: Vec<Complex<f64>> = folded.iter().map(|&v| Complex::new(v, 0.0)).collect();
        fwd.process(&mut fx);
        FoldedSpectrum { fx, energy: folded.iter().map(|v| v * v).sum() }
    }

    /// The normalised circular correlation of the folded samples with the pattern under
    /// `transform`: its strongest lag `(value, lag, rms floor)`, `None` when either side has
    /// no variation.
    fn peak(&self, canonical: &[u8], transform: SymbolTransform, m: crate::Modulation, fwd: &dyn Fft<f64>, inv: &dyn Fft<f64>) -> Option<(f64, usize, f64)> {
        let p = canonical.len();
        let mut received = canonical.to_vec();
        transform.apply_in_place(m, &mut received);
        let levels: Vec<f64> = received.iter().map(|&s| m.level(s) as f64).collect();
        let rmean = levels.iter().sum::<f64>() / p as f64;
        let mut fr: Vec<Complex<f64>> = levels.iter().map(|&v| Complex::new(v - rmean, 0.0)).collect();
        let r_energy: f64 = fr.iter().map(|c| c.re * c.re).sum();
        if r_energy == 0.0 || self.energy == 0.0 {
            return None;
        }
        fwd.process(&mut fr);
        // c[lag] = Σ_j X[j] r[(lag + j) mod P]  ⇔  C = conj(FX) · FR.
        let mut c: Vec<Complex<f64>> = self.fx.iter().zip(&fr).map(|(a, b)| a.conj() * b).collect();
        inv.process(&mut c);
        let norm = 1.0 / (p as f64 * (self.energy * r_energy).sqrt());
        let (lag, val) = c
            .iter()
            .enumerate()
            .map(|(i, v)| (i, v.re * norm))
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .expect("non-empty period");
        let floor = (c.iter().map(|v| (v.re * norm).powi(2)).sum::<f64>() / p as f64).sqrt();
        Some((val, lag, floor))
    }
}

/// The alignment of the strongest peak over the transforms, in their order (a later one only
/// when strictly stronger), or [`Error::PatternSyncFailed`] when none stands out of the floor.
fn choose_alignment(
    checker: &PatternChecker,
    peaks: impl IntoIterator<Item = (SymbolTransform, Option<(f64, usize, f64)>)>,
    n: usize,
    p: usize,
) -> Result<SoftAlignment> {
    let m = checker.modulation();
    let mut best: Option<(f64, usize, SymbolTransform, f64)> = None;
    for (t, peak) in peaks {
        let Some((val, lag, floor)) = peak else { continue };
        if val < 0.0 && !checker.config().allow_inversion {
            continue;
        }
        if best.as_ref().is_none_or(|b| val.abs() > b.0.abs()) {
            let mut t = t;
            t.inverted = val < 0.0;
            best = Some((val, lag, t, floor));
        }
    }
    let (val, lag, transform, floor) = best.ok_or_else(|| Error::PatternSyncFailed {
        pattern: checker.pattern_name().to_string(),
        reason: "the signal or the pattern has no variation".into(),
    })?;
    let peak_to_floor = val.abs() / floor.max(1e-300);
    // Independent lags give a floor of 1/sqrt(N); a real peak stands many times above it.
    let n_eff = n.min(p) as f64;
    if val.abs() < 6.0 / n_eff.sqrt() || peak_to_floor < 6.0 {
        return Err(Error::PatternSyncFailed {
            pattern: checker.pattern_name().to_string(),
            reason: format!(
                "no correlation peak with the pattern (peak {:.3}, {:.1}× the floor)",
                val.abs(),
                peak_to_floor
            ),
        });
    }
    Ok(SoftAlignment {
        alignment: Alignment {
            transform: transform.normalized(m),
            position: lag as u64,
            period: checker.period(),
            sync_index: 0,
            validation_bits: 0,
            validation_bit_errors: 0,
        },
        peak: val.abs(),
        peak_to_floor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serial fold [`fold_zero_mean`] replaces: one left-to-right pass for the mean, one for
    /// the fold.
    fn fold_zero_mean_serial(x: &[f32], p: usize) -> (f64, Vec<f64>) {
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        let mut folded = vec![0f64; p];
        for (k, &v) in x.iter().enumerate() {
            folded[k % p] += v as f64 - mean;
        }
        (mean, folded)
    }

    /// The serial [`align_soft`] (one pass for the mean, one for the fold, the transforms one
    /// after another): the reference of the parallel one.
    fn align_soft_serial(checker: &PatternChecker, pattern: &crate::pattern::Pattern, x: &[f32]) -> Result<SoftAlignment> {
        let p = check_soft_input(checker, x)?;
        let m = checker.modulation();
        let (_, folded) = fold_zero_mean_serial(x, p);
        let canonical = pattern.generate(m, p)?;
        let mut planner = FftPlanner::<f64>::new();
        let fwd = planner.plan_fft_forward(p);
        let inv = planner.plan_fft_inverse(p);
        let folded = FoldedSpectrum::new(&folded, &*fwd);
        let peaks: Vec<_> = soft_transforms(checker).into_iter().map(|t| (t, folded.peak(&canonical, t, m, &*fwd, &*inv))).collect();
        choose_alignment(checker, peaks, x.len(), p)
    }

    /// Symbol-rate samples of `pattern` from symbol `start`, under `transform`, through an ISI
    /// channel with noise (a closed eye), at an arbitrary offset and scale.
    fn isi_capture(pattern: &crate::pattern::Pattern, m: crate::Modulation, start: usize, n: usize, transform: SymbolTransform, seed: u64) -> Vec<f32> {
        let mut syms = pattern.generate(m, start + n).unwrap()[start..].to_vec();
        transform.apply_in_place(m, &mut syms);
        let h = [0.35f32, 1.0, 0.8, 0.45, 0.2];
        let mut s = seed;
        (0..n)
            .map(|k| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let noise = ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6;
                let isi: f32 = h.iter().enumerate().filter(|&(i, _)| i <= k + 1 && k + 1 - i < n).map(|(i, &c)| c * m.level(syms[k + 1 - i])).sum();
                0.3 + 0.02 * (isi + noise)
            })
            .collect()
    }

    #[test]
    fn soft_alignment_equals_the_serial_reference() {
        use crate::pattern::{Pattern, SyncConfig};
        for (name, m) in [("prbs13q", crate::Modulation::Pam4), ("prbs9", crate::Modulation::Nrz), ("ssprq", crate::Modulation::Pam4)] {
            let pattern = Pattern::parse(name).unwrap();
            let checker = PatternChecker::new(&pattern, m, SyncConfig::default()).unwrap();
            let transforms = SymbolTransform::candidates(m, true, true, true, true);
            for (i, &t) in transforms.iter().enumerate() {
                // Shorter and longer than the period (the fold wraps several times), ragged.
                for n in [3000, 3 * MEAN_BLOCK / 2 + 11] {
                    let start = 1000 + 77 * i;
                    let x = isi_capture(&pattern, m, start, n, t, i as u64);
                    let (got, want) = (align_soft(&checker, &pattern, &x).unwrap(), align_soft_serial(&checker, &pattern, &x).unwrap());
                    assert_eq!(got.alignment, want.alignment, "{name} {t:?} n = {n}");
                    // The mean's summation order is the only difference.
                    assert!((got.peak - want.peak).abs() <= 1e-9 * want.peak && (got.peak_to_floor - want.peak_to_floor).abs() <= 1e-9 * want.peak_to_floor, "{name}: {got:?} vs {want:?}");
                    // And it is the right alignment: the expected symbols are the sent ones.
                    let mut sent = pattern.generate(m, start + n).unwrap()[start..].to_vec();
                    t.apply_in_place(m, &mut sent);
                    let expected = checker.expected(&got.alignment, 0..n);
                    let agree = expected.iter().zip(&sent).filter(|(a, b)| a == b).count();
                    assert!(agree * 10 >= n * 9, "{name} {t:?}: {agree} of {n}");
                }
            }
        }
    }

    #[test]
    fn parallel_fold_matches_the_serial_fold() {
        let block = 256;
        let mut s = 7u64;
        let x: Vec<f32> = (0..20 * block + 13)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                0.75 + (s >> 40) as f32 / (1u64 << 24) as f32
            })
            .collect();
        // Mean blocks: below one, exactly one, one more, ragged; periods shorter and longer than
        // a residue task, and longer than the input.
        for n in [64, block - 1, block, block + 1, 20 * block + 13] {
            for p in [1, 127, FOLD_RESIDUES, FOLD_RESIDUES + 3, 3 * FOLD_RESIDUES + 5, n + 9] {
                let x = &x[..n];
                let (mean, want) = fold_zero_mean_serial(x, p);
                let got = fold_zero_mean(x, p, block);
                // Only the mean's summation order differs. Either order is within
                // n·ε·Σ|x| of the exact sum (the values are positive), so the means within
                // 2n·ε·mean; each folded sum moves by its count times that, plus the rounding
                // of its own adds (≤ count·ε·Σ|x − mean| each way).
                let mean_tol = 2.0 * n as f64 * f64::EPSILON * mean;
                for (j, (a, b)) in got.iter().zip(&want).enumerate() {
                    let terms: Vec<f64> = x.iter().skip(j).step_by(p).map(|&v| v as f64 - mean).collect();
                    let count = terms.len() as f64;
                    let tol = count * mean_tol + 2.0 * count * f64::EPSILON * terms.iter().map(|t| t.abs()).sum::<f64>();
                    assert!((a - b).abs() <= tol, "n = {n}, p = {p}, j = {j}: {a} vs {b}");
                }
                // With the serial mean the fold is the serial one bit for bit.
                let exact = fold_zero_mean(x, p, usize::MAX);
                let mut serial_mean_fold = vec![0f64; p];
                for (k, &v) in x.iter().enumerate() {
                    serial_mean_fold[k % p] += v as f64 - mean;
                }
                assert_eq!(exact.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), serial_mean_fold.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "n = {n}, p = {p}");
            }
        }
    }
}
