//! Feed-forward equalizer (FFE): T-spaced or fractionally spaced, with taps trained by MMSE
//! least squares against the known transmitted pattern.
//!
//! The FFE used by the TDECQ reference receiver (IEEE 802.3 121.8.5.4, 5 T-spaced taps;
//! 802.3dj: 15 taps, up to 3 precursors) is the `samples_per_symbol = 1` case. Here the taps are
//! the least-squares (MMSE) solution against the known symbol levels, with no constraint on
//! their sum; TDECQ's "taps sum to 1" normalisation and tap bounds belong to the TDECQ stage.
//!
//! Convention: the input has `sps` samples per UI and `x[k·sps]` is the sampling instant of
//! symbol `k`. With reference (main-cursor) tap `c`,
//!
//! `y[k] = Σ_j w[j] · x[k·sps + c - j]`, samples outside `x` taken as 0,
//!
//! so taps `j < c` are precursor taps (they look at later samples) and `j > c` postcursor taps.
//!
//! ```
//! use lightlane_core::eq::Ffe;
//! let ffe = Ffe::new(vec![-0.1, 1.0, -0.2], 1, 1).unwrap();
//! let y = ffe.equalize(&[0.0, 1.0, 0.0, 0.0]);
//! assert_eq!(y, vec![-0.1, 1.0, -0.2, 0.0]);
//! ```

use super::lsq::Cholesky;
use crate::filter::Fir;
use crate::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Most taps an [`Ffe`] may have.
pub const MAX_FFE_TAPS: usize = 1024;
/// Most samples per symbol an [`Ffe`] accepts.
pub const MAX_SAMPLES_PER_SYMBOL: usize = 64;
/// Largest `delay_search` (± symbols) [`Ffe::train_mmse`] accepts; the cross-correlation costs
/// `(2·D + 1)·n_taps` multiply-adds per training symbol.
pub const MAX_DELAY_SEARCH: usize = 256;

/// Settings of [`Ffe::train_mmse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FfeConfig {
    /// Number of taps (1..=1024). Default 15 (802.3dj TDECQ reference equalizer).
    pub n_taps: usize,
    /// Samples per UI of the input: 1 = T-spaced, 2 = T/2-spaced (1..=64). Default 1.
    pub samples_per_symbol: usize,
    /// Index of the main-cursor tap (< `n_taps`); the delay search prefers delays whose trained
    /// taps peak here (see [`Ffe::train_mmse`]). `None`: `n_taps / 4` rounded to a multiple of
    /// `samples_per_symbol` (3 precursor taps for 15 T-spaced taps, as 802.3dj allows).
    pub reference_tap: Option<usize>,
    /// Delays searched, ± symbols (0..=256). Default 4.
    pub delay_search: usize,
    /// Relative Tikhonov regularisation: `ridge · trace(R) / n_taps` is added to the diagonal of
    /// the autocorrelation matrix `R` (finite, ≥ 0). Default 1e-6.
    pub ridge: f64,
}

impl Default for FfeConfig {
    fn default() -> Self {
        FfeConfig {
            n_taps: 15,
            samples_per_symbol: 1,
            reference_tap: None,
            delay_search: 4,
            ridge: 1e-6,
        }
    }
}

impl FfeConfig {
    /// The reference tap used for training: the configured one, or the default position.
    pub fn resolved_reference_tap(&self) -> usize {
        self.reference_tap.unwrap_or_else(|| {
            let sps = self.samples_per_symbol.max(1);
            let c = (self.n_taps / 4 + sps / 2) / sps * sps;
            c.min(self.n_taps.saturating_sub(1))
        })
    }

    /// Checks every field; [`Error::InvalidParameter`] naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        check_shape(
            self.n_taps,
            self.samples_per_symbol,
            self.resolved_reference_tap(),
        )?;
        if self.delay_search > MAX_DELAY_SEARCH {
            return Err(Error::invalid(
                "FFE delay_search",
                self.delay_search,
                format!("must be at most {MAX_DELAY_SEARCH} symbols"),
            ));
        }
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(Error::invalid(
                "FFE ridge",
                self.ridge,
                "must be finite and ≥ 0",
            ));
        }
        Ok(())
    }
}

fn check_shape(n_taps: usize, sps: usize, reference_tap: usize) -> Result<()> {
    if n_taps == 0 || n_taps > MAX_FFE_TAPS {
        return Err(Error::invalid(
            "FFE n_taps",
            n_taps,
            format!("must be 1..={MAX_FFE_TAPS}"),
        ));
    }
    if sps == 0 || sps > MAX_SAMPLES_PER_SYMBOL {
        return Err(Error::invalid(
            "FFE samples_per_symbol",
            sps,
            format!("must be 1..={MAX_SAMPLES_PER_SYMBOL}"),
        ));
    }
    if reference_tap >= n_taps {
        return Err(Error::invalid(
            "FFE reference_tap",
            reference_tap,
            format!("must be below n_taps = {n_taps}"),
        ));
    }
    Ok(())
}

/// One polyphase branch: the taps `w[q·sps + r]` acting on the samples of phase `c - r`.
#[derive(Debug, Clone, PartialEq)]
struct Branch {
    r: usize,
    fir: Fir,
}

/// A feed-forward equalizer: `y[k] = Σ_j w[j] · x[k·sps + c - j]` (see the module docs).
///
/// Planned once: the taps are split into `sps` polyphase branches, each a SIMD [`Fir`] running
/// at the symbol rate. Serializes as `{taps, samples_per_symbol, reference_tap}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FfeTaps", into = "FfeTaps")]
pub struct Ffe {
    taps: Vec<f32>,
    sps: usize,
    reference_tap: usize,
    branches: Vec<Branch>,
}

/// Serialized form of an [`Ffe`].
#[derive(Serialize, Deserialize)]
struct FfeTaps {
    taps: Vec<f32>,
    samples_per_symbol: usize,
    reference_tap: usize,
}

impl TryFrom<FfeTaps> for Ffe {
    type Error = Error;
    fn try_from(t: FfeTaps) -> Result<Ffe> {
        Ffe::new(t.taps, t.samples_per_symbol, t.reference_tap)
    }
}

impl From<Ffe> for FfeTaps {
    fn from(f: Ffe) -> FfeTaps {
        FfeTaps {
            taps: f.taps,
            samples_per_symbol: f.sps,
            reference_tap: f.reference_tap,
        }
    }
}

/// Result of [`Ffe::train_mmse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FfeTraining {
    /// The trained equalizer.
    pub ffe: Ffe,
    /// Mean squared error `mean_k (y[k] - target[k + delay])²` of `ffe` (its f32 taps, run
    /// through [`Ffe::equalize`]) over the training symbols.
    pub mse: f64,
    /// The chosen delay: `y[k]` estimates `target[k + delay]`.
    pub delay: isize,
    /// `10·log10(mean target² / mse)` over the training symbols, in dB.
    pub snr_db: f64,
    /// Number of training symbols (the same set for every searched delay).
    pub n_symbols: usize,
    /// Least-squares MSE (from the normal equations, f64 taps) of each searched delay,
    /// index `delay + delay_search`.
    pub mse_by_delay: Vec<f64>,
}

impl Ffe {
    /// An equalizer with the given taps; `reference_tap` is the main-cursor index.
    ///
    /// Errors ([`Error::InvalidParameter`] unless noted): no taps or more than
    /// [`MAX_FFE_TAPS`], `samples_per_symbol` 0 or above [`MAX_SAMPLES_PER_SYMBOL`],
    /// `reference_tap >= taps.len()`, a non-finite tap ([`Error::NonFinite`]).
    pub fn new(taps: Vec<f32>, samples_per_symbol: usize, reference_tap: usize) -> Result<Ffe> {
        check_shape(taps.len(), samples_per_symbol, reference_tap)?;
        crate::error::check_finite("FFE taps", &taps)?;
        let sps = samples_per_symbol;
        let branches = (0..sps.min(taps.len()))
            .map(|r| {
                let sub: Vec<f32> = taps.iter().skip(r).step_by(sps).copied().collect();
                Ok(Branch {
                    r,
                    fir: Fir::new(&sub)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Ffe {
            taps,
            sps,
            reference_tap,
            branches,
        })
    }

    /// The pass-through equalizer: tap `reference_tap` is 1, the others 0, so
    /// `y[k] = x[k·sps]`.
    pub fn identity(n_taps: usize, samples_per_symbol: usize, reference_tap: usize) -> Result<Ffe> {
        check_shape(n_taps, samples_per_symbol, reference_tap)?;
        let mut taps = vec![0.0f32; n_taps];
        taps[reference_tap] = 1.0;
        Ffe::new(taps, samples_per_symbol, reference_tap)
    }

    /// The taps `w[0..n_taps]`.
    pub fn taps(&self) -> &[f32] {
        &self.taps
    }

    /// Samples per UI of the input (1 = T-spaced).
    pub fn samples_per_symbol(&self) -> usize {
        self.sps
    }

    /// Index of the main-cursor tap.
    pub fn reference_tap(&self) -> usize {
        self.reference_tap
    }

    /// Number of output symbols for `input_len` samples: `input_len / sps`.
    pub fn output_len(&self, input_len: usize) -> usize {
        input_len / self.sps
    }

    /// Equalizes `x` (`sps` samples per UI, `x[k·sps]` = sampling instant of symbol `k`) into
    /// one value per symbol: `y[k] = Σ_j w[j] · x[k·sps + c - j]`, zeros outside `x`.
    /// Output length `x.len() / sps`. Non-finite samples propagate to the outputs that see them.
    pub fn equalize(&self, x: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0f32; self.output_len(x.len())];
        self.run(x, &mut out, &mut Vec::new());
        out
    }

    /// [`Ffe::equalize`] into a caller-owned buffer; [`Error::LengthMismatch`] unless
    /// `out.len() == x.len() / sps`.
    ///
    /// T-spaced equalizers run the SIMD FIR straight from `x` into `out` without scratch;
    /// fractionally spaced ones allocate scratch of about `2 · x.len() / sps` samples per call
    /// (use [`Ffe::equalize_with_scratch`] to reuse it).
    pub fn equalize_into(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        self.equalize_with_scratch(x, out, &mut Vec::new())
    }

    /// [`Ffe::equalize_into`] with caller-owned scratch, grown as needed and reusable across
    /// calls (fractionally spaced equalizers gather each polyphase branch into it).
    pub fn equalize_with_scratch(
        &self,
        x: &[f32],
        out: &mut [f32],
        scratch: &mut Vec<f32>,
    ) -> Result<()> {
        let expected = self.output_len(x.len());
        if out.len() != expected {
            return Err(Error::LengthMismatch {
                what: "FFE output (input length / samples_per_symbol)",
                expected,
                got: out.len(),
            });
        }
        self.run(x, out, scratch);
        Ok(())
    }

    /// Output symbols whose whole tap window lies inside an input of `n` samples:
    /// `k·sps + c - (L-1) ≥ 0` and `k·sps + c < n`, clamped to the output length.
    pub(crate) fn interior(&self, n: usize) -> (usize, usize) {
        let (sps, c, l) = (self.sps, self.reference_tap, self.taps.len());
        let n_out = n / sps;
        let lo = (l - 1 - c).div_ceil(sps).min(n_out);
        let hi = if n > c {
            (n - c).div_ceil(sps).min(n_out)
        } else {
            0
        };
        (lo, hi.max(lo))
    }

    fn run(&self, x: &[f32], out: &mut [f32], scratch: &mut Vec<f32>) {
        let (sps, c) = (self.sps, self.reference_tap);
        let (lo, hi) = self.interior(x.len());
        // Edge symbols (tap window partly outside x): direct sum with zero padding.
        for k in (0..lo).chain(hi..out.len()) {
            out[k] = self.edge_output(x, k);
        }
        if hi == lo {
            return;
        }
        let m = hi - lo;
        if sps == 1 {
            // y[k] = valid-convolution output at index k + c - (L-1) of x.
            let l = self.taps.len();
            let start = lo + c + 1 - l;
            self.branches[0]
                .fir
                .process_valid(&x[start..hi + c], &mut out[lo..hi])
                .expect("interior range sized for the FIR");
            return;
        }
        // Scratch layout: [partial sums (m) | gathered branch input (m + q - 1)].
        let q_max = self.branches[0].fir.taps().len();
        scratch.resize(2 * m + q_max - 1, 0.0);
        let (partial, gathered) = scratch.split_at_mut(m);
        for (b, branch) in self.branches.iter().enumerate() {
            // Branch r: y_r[k] = Σ_q w[q·sps + r] · x[(k - q)·sps + c - r], a T-spaced FIR on the
            // samples of phase (c - r) mod sps, starting Q - 1 symbols before `lo`.
            let q = branch.fir.taps().len();
            // ≥ 0 because every tap index q·sps + r ≤ L - 1 and lo·sps + c ≥ L - 1.
            let first =
                (lo as isize + 1 - q as isize) * sps as isize + c as isize - branch.r as isize;
            debug_assert!(first >= 0);
            let gathered = &mut gathered[..m + q - 1];
            for (g, &v) in gathered
                .iter_mut()
                .zip(x[first as usize..].iter().step_by(sps))
            {
                *g = v;
            }
            let dst = if b == 0 {
                &mut out[lo..hi]
            } else {
                &mut partial[..]
            };
            branch
                .fir
                .process_valid(gathered, dst)
                .expect("gathered branch sized for the FIR");
            if b > 0 {
                for (o, p) in out[lo..hi].iter_mut().zip(partial.iter()) {
                    *o += p;
                }
            }
        }
    }

    /// One output with zero padding outside `x`, accumulated in f64.
    fn edge_output(&self, x: &[f32], k: usize) -> f32 {
        let centre = (k * self.sps + self.reference_tap) as isize;
        let mut acc = 0.0f64;
        for (j, &w) in self.taps.iter().enumerate() {
            let idx = centre - j as isize;
            if idx >= 0 && (idx as usize) < x.len() {
                acc += w as f64 * x[idx as usize] as f64;
            }
        }
        acc as f32
    }

    /// Trains the taps by MMSE least squares against a known target.
    ///
    /// `x`: received samples, `sps` per UI with `x[k·sps]` the sampling instant of symbol `k`.
    /// `target`: the ideal levels of the known transmitted symbols in the receive domain (e.g.
    /// PAM4 levels scaled to the received amplitude), one per symbol.
    ///
    /// Minimises `Σ_k (y[k] - target[k + d])²` for each delay `d` in `-D..=D`
    /// (`D = config.delay_search`) and returns the delay with the lowest MSE among those whose
    /// solution has its largest tap on the reference tap (or the lowest MSE overall when no
    /// delay puts it there). Without that rule the choice between delays would be arbitrary:
    /// with enough taps, moving the main cursor one tap and the delay one symbol changes the
    /// MSE only at noise level, and the reference tap (for example 802.3dj's "at most 3
    /// precursors") would not hold. The sum runs over one common set of
    /// symbols `k` for every delay: those whose whole tap window lies inside `x` and for which
    /// `target[k + d]` exists for every searched `d`, so the MSEs of different delays compare
    /// like with like. The normal equations `(R + λI) w = p_d` are built in f64 (R: autocorrelation
    /// of the tap windows, p_d: their cross-correlation with the delayed target,
    /// λ = ridge · trace(R) / n_taps) and solved by Cholesky, one factorisation for all delays.
    ///
    /// Errors: an invalid config ([`Error::InvalidParameter`]), a non-finite sample or target
    /// ([`Error::NonFinite`]), fewer than `2·n_taps` training symbols ([`Error::InputTooShort`]),
    /// an input without enough energy to solve for the taps ([`Error::Unusable`]).
    pub fn train_mmse(x: &[f32], target: &[f32], config: &FfeConfig) -> Result<FfeTraining> {
        config.validate()?;
        crate::error::check_finite("FFE training input", x)?;
        crate::error::check_finite("FFE training target", target)?;
        let l = config.n_taps;
        let sps = config.samples_per_symbol;
        let c = config.resolved_reference_tap();
        let d_max = config.delay_search;
        let n_delays = 2 * d_max + 1;

        // Common training range (see the doc comment).
        let shape = Ffe::identity(l, sps, c)?;
        let (full_lo, full_hi) = shape.interior(x.len());
        let k0 = full_lo.max(d_max);
        let k1 = full_hi.min(target.len().saturating_sub(d_max));
        let n_symbols = k1.saturating_sub(k0);
        if n_symbols < 2 * l {
            return Err(Error::InputTooShort {
                what: "FFE training symbols (full tap window inside the input, target defined at every searched delay)",
                needed: 2 * l,
                got: n_symbols,
            });
        }

        let stats = NormalEquations::accumulate(x, target, l, sps, c, d_max, k0, k1);
        let trace: f64 = (0..l).map(|i| stats.r[i * l + i]).sum();
        let lambda = config.ridge * trace / l as f64;
        let mut r_reg = stats.r.clone();
        for i in 0..l {
            r_reg[i * l + i] += lambda;
        }
        let chol = Cholesky::factor(&r_reg, l).map_err(|e| match e {
            Error::Unusable { reason, .. } => Error::Unusable {
                stage: "FFE MMSE training",
                reason,
            },
            other => other,
        })?;

        // Best delay overall, and best among those whose main cursor sits on the reference tap.
        let mut best_any: Option<(usize, Vec<f64>, f64)> = None;
        let mut best_at_ref: Option<(usize, Vec<f64>, f64)> = None;
        let mut mse_by_delay = Vec::with_capacity(n_delays);
        let mut w = vec![0.0f64; l];
        for di in 0..n_delays {
            let p = &stats.p[di * l..(di + 1) * l];
            chol.solve_into(p, &mut w)?;
            // Σ (wᵀu - t)² = Σt² - 2 wᵀp + wᵀ R w.
            let wp: f64 = w.iter().zip(p).map(|(a, b)| a * b).sum();
            let wrw: f64 = (0..l)
                .map(|i| w[i] * (0..l).map(|j| stats.r[i * l + j] * w[j]).sum::<f64>())
                .sum();
            let mse = ((stats.tt[di] - 2.0 * wp + wrw) / n_symbols as f64).max(0.0);
            mse_by_delay.push(mse);
            let main = main_tap(&w);
            for (slot, eligible) in [(&mut best_any, true), (&mut best_at_ref, main == c)] {
                let better = match slot {
                    None => true,
                    // Ties go to the delay nearest zero.
                    Some((bi, _, bm)) => {
                        mse < *bm || (mse == *bm && di.abs_diff(d_max) < bi.abs_diff(d_max))
                    }
                };
                if eligible && better {
                    *slot = Some((di, w.clone(), mse));
                }
            }
        }
        let (di, w, _) = best_at_ref
            .or(best_any)
            .expect("at least one delay is searched");
        let delay = di as isize - d_max as isize;
        let ffe = Ffe::new(w.iter().map(|&v| v as f32).collect(), sps, c)?;

        // Report the MSE the f32 equalizer actually achieves.
        let y = ffe.equalize(x);
        let (mut err2, mut sig2) = (0.0f64, 0.0f64);
        for k in k0..k1 {
            let t = target[(k as isize + delay) as usize] as f64;
            let e = y[k] as f64 - t;
            err2 += e * e;
            sig2 += t * t;
        }
        let mse = err2 / n_symbols as f64;
        let snr_db = 10.0 * (sig2 / n_symbols as f64 / mse.max(f64::MIN_POSITIVE)).log10();
        Ok(FfeTraining {
            ffe,
            mse,
            delay,
            snr_db,
            n_symbols,
            mse_by_delay,
        })
    }
}

/// Index of the largest-magnitude tap (the first of equals).
fn main_tap(w: &[f64]) -> usize {
    let mut best = 0;
    for (j, v) in w.iter().enumerate() {
        if v.abs() > w[best].abs() {
            best = j;
        }
    }
    best
}

/// Sums of the least-squares problem over the training symbols.
struct NormalEquations {
    /// R (L×L, row-major, symmetric): Σ_k u_k u_kᵀ with u_k[j] = x[k·sps + c - j].
    r: Vec<f64>,
    /// p (one row of L per delay index): Σ_k u_k · target[k + d].
    p: Vec<f64>,
    /// Σ_k target[k + d]² per delay index.
    tt: Vec<f64>,
}

/// Training symbols per parallel work item. Fixed, and the partial sums are added in chunk
/// order, so the result does not depend on the number of threads.
const TRAIN_CHUNK: usize = 4096;

impl NormalEquations {
    fn zeros(l: usize, n_delays: usize) -> Self {
        NormalEquations {
            r: vec![0.0; l * l],
            p: vec![0.0; l * n_delays],
            tt: vec![0.0; n_delays],
        }
    }

    fn add(&mut self, other: &NormalEquations) {
        for (a, b) in self.r.iter_mut().zip(&other.r) {
            *a += b;
        }
        for (a, b) in self.p.iter_mut().zip(&other.p) {
            *a += b;
        }
        for (a, b) in self.tt.iter_mut().zip(&other.tt) {
            *a += b;
        }
    }

    /// Accumulates symbols `k0..k1`; the caller guarantees every window and target index exists.
    #[allow(clippy::too_many_arguments)]
    fn accumulate(
        x: &[f32],
        target: &[f32],
        l: usize,
        sps: usize,
        c: usize,
        d_max: usize,
        k0: usize,
        k1: usize,
    ) -> Self {
        let n_delays = 2 * d_max + 1;
        let chunk_sums = |start: usize| {
            let end = (start + TRAIN_CHUNK).min(k1);
            let mut s = NormalEquations::zeros(l, n_delays);
            let mut u = vec![0.0f64; l];
            for k in start..end {
                let centre = k * sps + c;
                for (j, uj) in u.iter_mut().enumerate() {
                    *uj = x[centre - j] as f64;
                }
                for i in 0..l {
                    let ui = u[i];
                    let row = &mut s.r[i * l..(i + 1) * l];
                    for j in i..l {
                        row[j] += ui * u[j];
                    }
                }
                let targets = &target[k - d_max..k + d_max + 1];
                for (di, &t) in targets.iter().enumerate() {
                    let t = t as f64;
                    s.tt[di] += t * t;
                    for (pj, &uj) in s.p[di * l..(di + 1) * l].iter_mut().zip(&u) {
                        *pj += uj * t;
                    }
                }
            }
            s
        };
        let starts: Vec<usize> = (k0..k1).step_by(TRAIN_CHUNK).collect();
        let mut total = NormalEquations::zeros(l, n_delays);
        // Bounded memory: at most one batch of partial sums alive at a time.
        let batch = rayon::current_num_threads().max(1) * 2;
        for group in starts.chunks(batch) {
            let partials: Vec<NormalEquations> = group.par_iter().map(|&s| chunk_sums(s)).collect();
            for part in &partials {
                total.add(part);
            }
        }
        for i in 0..l {
            for j in 0..i {
                total.r[i * l + j] = total.r[j * l + i];
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modulation::Slicer;
    use crate::Modulation;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    /// Definition of the FFE output, straight from the doc comment, in f64.
    fn reference_equalize(w: &[f32], sps: usize, c: usize, x: &[f32]) -> Vec<f64> {
        (0..x.len() / sps)
            .map(|k| {
                w.iter()
                    .enumerate()
                    .map(|(j, &wj)| {
                        let idx = (k * sps + c) as isize - j as isize;
                        if idx >= 0 && (idx as usize) < x.len() {
                            wj as f64 * x[idx as usize] as f64
                        } else {
                            0.0
                        }
                    })
                    .sum()
            })
            .collect()
    }

    fn pam4_symbols(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
        (0..n).map(|_| rng.random_range(0..4u8)).collect()
    }

    /// Received samples: symbols at `sps` samples per UI through pulse `p` (sampled at T/sps,
    /// `p[0]` aligned with the symbol's first sample), plus Gaussian noise.
    fn channel(
        levels: &[f32],
        sps: usize,
        p: &[f32],
        sigma: f32,
        rng: &mut ChaCha8Rng,
    ) -> Vec<f32> {
        let n = levels.len() * sps;
        let mut x = vec![0.0f32; n];
        for (k, &a) in levels.iter().enumerate() {
            for (m, &pm) in p.iter().enumerate() {
                if let Some(v) = x.get_mut(k * sps + m) {
                    *v += a * pm;
                }
            }
        }
        let noise = Normal::new(0.0f32, sigma).unwrap();
        for v in &mut x {
            *v += noise.sample(rng);
        }
        x
    }

    fn symbol_errors(y: &[f32], symbols: &[u8], delay: isize, skip: usize) -> (usize, usize) {
        let slicer = Slicer::for_levels(&Modulation::Pam4.level_set()).unwrap();
        let decided = slicer.slice_vec(y);
        let mut errors = 0;
        let mut compared = 0;
        for (k, &d) in decided.iter().enumerate().take(y.len() - skip).skip(skip) {
            let t = k as isize + delay;
            if t >= 0 && (t as usize) < symbols.len() {
                compared += 1;
                errors += (d != symbols[t as usize]) as usize;
            }
        }
        (errors, compared)
    }

    #[test]
    fn equalize_matches_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        for &sps in &[1usize, 2, 3, 4, 8] {
            for &n_taps in &[1usize, 2, 3, 5, 15, 16, 31] {
                let w: Vec<f32> = (0..n_taps).map(|_| rng.random_range(-1.0..1.0)).collect();
                for c in [0, n_taps / 2, n_taps - 1] {
                    let ffe = Ffe::new(w.clone(), sps, c).unwrap();
                    for &n in &[0usize, 1, 7, 40, 333, 2001] {
                        let x: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
                        let y = ffe.equalize(&x);
                        let reference = reference_equalize(&w, sps, c, &x);
                        assert_eq!(y.len(), reference.len());
                        let tol = 4.0
                            * (n_taps as f64 + 1.0)
                            * f32::EPSILON as f64
                            * w.iter().map(|v| v.abs() as f64).sum::<f64>();
                        for (k, (&a, &b)) in y.iter().zip(&reference).enumerate() {
                            assert!(
                                (a as f64 - b).abs() <= tol,
                                "sps {sps} taps {n_taps} c {c} n {n} k {k}: {a} vs {b}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn identity_samples_the_symbol_instants() {
        let x: Vec<f32> = (0..20).map(|v| v as f32).collect();
        let ffe = Ffe::identity(7, 2, 2).unwrap();
        assert_eq!(
            ffe.equalize(&x),
            (0..10).map(|k| (2 * k) as f32).collect::<Vec<_>>()
        );
        assert_eq!(ffe.taps(), &[0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert!(matches!(
            Ffe::new(vec![], 1, 0),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Ffe::new(vec![1.0], 0, 0),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Ffe::new(vec![1.0], 65, 0),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Ffe::new(vec![1.0; 3], 1, 3),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Ffe::new(vec![0.0; 1025], 1, 0),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Ffe::new(vec![1.0, f32::NAN], 1, 0),
            Err(Error::NonFinite { index: 1, .. })
        ));
        let ffe = Ffe::identity(3, 2, 1).unwrap();
        assert!(matches!(
            ffe.equalize_into(&[0.0; 10], &mut [0.0; 4]),
            Err(Error::LengthMismatch {
                expected: 5,
                got: 4,
                ..
            })
        ));

        let x = vec![0.5f32; 1000];
        let t = vec![0.5f32; 1000];
        let train = |cfg: FfeConfig, x: &[f32], t: &[f32]| Ffe::train_mmse(x, t, &cfg);
        for cfg in [
            FfeConfig {
                n_taps: 0,
                ..Default::default()
            },
            FfeConfig {
                n_taps: 1025,
                ..Default::default()
            },
            FfeConfig {
                samples_per_symbol: 0,
                ..Default::default()
            },
            FfeConfig {
                samples_per_symbol: 65,
                ..Default::default()
            },
            FfeConfig {
                reference_tap: Some(15),
                ..Default::default()
            },
            FfeConfig {
                delay_search: MAX_DELAY_SEARCH + 1,
                ..Default::default()
            },
            FfeConfig {
                ridge: -1.0,
                ..Default::default()
            },
            FfeConfig {
                ridge: f64::NAN,
                ..Default::default()
            },
        ] {
            assert!(
                matches!(
                    train(cfg.clone(), &x, &t),
                    Err(Error::InvalidParameter { .. })
                ),
                "{cfg:?}"
            );
        }
        let mut bad = x.clone();
        bad[17] = f32::NAN;
        assert!(matches!(
            train(FfeConfig::default(), &bad, &t),
            Err(Error::NonFinite { index: 17, .. })
        ));
        assert!(matches!(
            train(FfeConfig::default(), &x, &bad),
            Err(Error::NonFinite { index: 17, .. })
        ));
        assert!(matches!(
            train(FfeConfig::default(), &x[..30], &t),
            Err(Error::InputTooShort { .. })
        ));
        assert!(matches!(
            train(FfeConfig::default(), &x, &t[..20]),
            Err(Error::InputTooShort { .. })
        ));
        // All-zero input: nothing to solve for.
        assert!(matches!(
            train(
                FfeConfig {
                    ridge: 0.0,
                    ..Default::default()
                },
                &vec![0.0; 1000],
                &t
            ),
            Err(Error::Unusable { .. })
        ));
    }

    #[test]
    fn default_reference_tap() {
        let cfg = FfeConfig::default();
        assert_eq!(cfg.resolved_reference_tap(), 3);
        let fs = FfeConfig {
            samples_per_symbol: 2,
            ..Default::default()
        };
        assert_eq!(fs.resolved_reference_tap(), 4);
        let five = FfeConfig {
            n_taps: 5,
            ..Default::default()
        };
        assert_eq!(five.resolved_reference_tap(), 1);
        let one = FfeConfig {
            n_taps: 1,
            samples_per_symbol: 4,
            ..Default::default()
        };
        assert_eq!(one.resolved_reference_tap(), 0);
    }

    #[test]
    fn mmse_t_spaced_inverts_isi_channel() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let symbols = pam4_symbols(&mut rng, 20_000);
        let levels = Modulation::Pam4.symbols_to_levels(&symbols);
        // Precursor 0.2, main 1.0, postcursors 0.45, 0.15: the open-loop eye is closed
        // (worst-case ISI 0.8 > 1/3 half eye).
        let h = [0.2f32, 1.0, 0.45, 0.15];
        let x = channel(&levels, 1, &h, 0.01, &mut rng);

        let raw = symbol_errors(&x, &symbols, -1, 8);
        assert!(raw.0 > raw.1 / 20, "channel should close the eye: {raw:?}");

        let tr = Ffe::train_mmse(&x, &levels, &FfeConfig::default()).unwrap();
        let y = tr.ffe.equalize(&x);
        let (errors, compared) = symbol_errors(&y, &symbols, tr.delay, 20);
        assert!(compared > 19_000);
        assert_eq!(errors, 0, "symbol errors after MMSE FFE ({tr:?})");
        assert!(tr.snr_db > 25.0, "snr {}", tr.snr_db);

        // The combined channel+FFE response is a delayed unit pulse: the taps invert h.
        let combined = crate::filter::naive::convolve_valid(
            &[vec![0.0; 14], h.to_vec(), vec![0.0; 14]].concat(),
            tr.ffe.taps(),
        );
        let (peak, &main) = combined
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap();
        assert!((main - 1.0).abs() < 0.02, "main cursor {main}");
        let residual: f64 = combined
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != peak)
            .map(|(_, v)| v.abs())
            .sum();
        assert!(
            residual < 0.06,
            "residual ISI {residual}, combined {combined:?}"
        );
        // The main cursor of h is one symbol late, so y[k] estimates target[k - 1 + c - c].
        assert_eq!(tr.delay, -1);

        // Reported MSE equals the residual recomputed independently, and its least-squares
        // prediction at the chosen delay.
        let di = (tr.delay + 4) as usize;
        // Training symbols: full window (k ≥ 14 - c = 11, k < len - c) and a target at every
        // delay in -4..=4 (k ≥ 4, k < len - 4).
        let direct: f64 = (11..x.len() - 4)
            .map(|k| {
                let e = y[k] as f64 - levels[(k as isize + tr.delay) as usize] as f64;
                e * e
            })
            .sum::<f64>()
            / tr.n_symbols as f64;
        assert!(
            (direct - tr.mse).abs() < 1e-3 * tr.mse,
            "{direct} vs {}",
            tr.mse
        );
        assert!((tr.mse_by_delay[di] - tr.mse).abs() < 0.02 * tr.mse);
        // Keeping the main cursor on the reference tap costs almost nothing against the best
        // delay overall, while a wrong alignment is far worse.
        let min = tr
            .mse_by_delay
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let max = tr.mse_by_delay.iter().copied().fold(0.0, f64::max);
        assert!(min > 0.95 * tr.mse_by_delay[di], "{:?}", tr.mse_by_delay);
        assert!(max > 100.0 * tr.mse_by_delay[di], "{:?}", tr.mse_by_delay);
    }

    #[test]
    fn mmse_solution_is_a_least_squares_minimum() {
        // Perturbing any tap of the trained FFE must not lower the training MSE.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let symbols = pam4_symbols(&mut rng, 5000);
        let levels = Modulation::Pam4.symbols_to_levels(&symbols);
        let x = channel(&levels, 1, &[0.1, 1.0, 0.5, 0.2, 0.1], 0.05, &mut rng);
        let cfg = FfeConfig {
            n_taps: 7,
            ridge: 0.0,
            delay_search: 2,
            ..Default::default()
        };
        let tr = Ffe::train_mmse(&x, &levels, &cfg).unwrap();
        let c = tr.ffe.reference_tap();
        let mse_of = |w: &[f32]| {
            let y = reference_equalize(w, 1, c, &x);
            // Training symbols: full window and a target at every delay in -2..=2.
            let ks = (6 - c).max(2)..(x.len() - c).min(x.len() - 2);
            let n = ks.len() as f64;
            ks.map(|k| (y[k] - levels[(k as isize + tr.delay) as usize] as f64).powi(2))
                .sum::<f64>()
                / n
        };
        let base = mse_of(tr.ffe.taps());
        assert!((base - tr.mse).abs() < 1e-4 * base, "{base} vs {}", tr.mse);
        for j in 0..7 {
            for step in [-1e-2f32, 1e-2] {
                let mut w = tr.ffe.taps().to_vec();
                w[j] += step;
                assert!(mse_of(&w) > base, "tap {j} step {step}");
            }
        }
    }

    #[test]
    fn mmse_fractionally_spaced() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let symbols = pam4_symbols(&mut rng, 20_000);
        let levels = Modulation::Pam4.symbols_to_levels(&symbols);
        // Pulse at T/2 spacing, peak at sample 4 (= symbol instant 2 UI after the symbol starts).
        let p = [
            0.02f32, 0.08, 0.25, 0.6, 1.0, 0.75, 0.45, 0.3, 0.15, 0.08, 0.03,
        ];
        let x = channel(&levels, 2, &p, 0.01, &mut rng);
        let raw = symbol_errors(
            &x.iter().step_by(2).copied().collect::<Vec<_>>(),
            &symbols,
            -2,
            8,
        );
        assert!(raw.0 > raw.1 / 20, "channel should close the eye: {raw:?}");
        let cfg = FfeConfig {
            samples_per_symbol: 2,
            ..Default::default()
        };
        let tr = Ffe::train_mmse(&x, &levels, &cfg).unwrap();
        assert_eq!(tr.ffe.samples_per_symbol(), 2);
        let y = tr.ffe.equalize(&x);
        assert_eq!(y.len(), symbols.len());
        let (errors, compared) = symbol_errors(&y, &symbols, tr.delay, 20);
        assert!(compared > 19_000);
        assert_eq!(errors, 0, "symbol errors after T/2 FFE ({tr:?})");
        assert!(tr.snr_db > 25.0, "snr {}", tr.snr_db);
    }

    #[test]
    fn delay_search_finds_injected_delay() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let symbols = pam4_symbols(&mut rng, 8000);
        let levels = Modulation::Pam4.symbols_to_levels(&symbols);
        let h = [0.15f32, 1.0, 0.3];
        let x = channel(&levels, 1, &h, 0.02, &mut rng);
        let cfg = FfeConfig {
            delay_search: 6,
            ..Default::default()
        };
        let base = Ffe::train_mmse(&x, &levels, &cfg).unwrap().delay;
        for inject in [-4isize, -2, 3, 5] {
            // Received signal `inject` symbols later than before: the same FFE output estimates
            // target[k + base - inject].
            let shifted: Vec<f32> = (0..x.len() as isize)
                .map(|i| {
                    let j = i - inject;
                    if j >= 0 && (j as usize) < x.len() {
                        x[j as usize]
                    } else {
                        0.0
                    }
                })
                .collect();
            let tr = Ffe::train_mmse(&shifted, &levels, &cfg).unwrap();
            assert_eq!(tr.delay, base - inject, "inject {inject}");
            let y = tr.ffe.equalize(&shifted);
            assert_eq!(
                symbol_errors(&y, &symbols, tr.delay, 30).0,
                0,
                "inject {inject}"
            );
            // The delay absorbed the shift; the taps did not move.
            let taps = tr.ffe.taps();
            assert_eq!(
                main_tap(&taps.iter().map(|&v| v as f64).collect::<Vec<_>>()),
                3,
                "{taps:?}"
            );
        }
    }

    #[test]
    fn explicit_reference_tap_holds_the_main_cursor() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let symbols = pam4_symbols(&mut rng, 6000);
        let levels = Modulation::Pam4.symbols_to_levels(&symbols);
        let x = channel(&levels, 1, &[0.2, 1.0, 0.45, 0.15], 0.01, &mut rng);
        let a = Ffe::train_mmse(
            &x,
            &levels,
            &FfeConfig {
                reference_tap: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
        let b = Ffe::train_mmse(
            &x,
            &levels,
            &FfeConfig {
                reference_tap: Some(5),
                ..Default::default()
            },
        )
        .unwrap();
        for (tr, c) in [(&a, 3usize), (&b, 5)] {
            assert_eq!(tr.ffe.reference_tap(), c);
            // The main cursor lands on the reference tap, and the output stays aligned with the
            // channel's main cursor (one symbol late), whatever the number of precursor taps.
            let taps = tr.ffe.taps();
            let main = (0..taps.len())
                .max_by(|&i, &j| taps[i].abs().total_cmp(&taps[j].abs()))
                .unwrap();
            assert_eq!(main, c, "taps {taps:?}");
            assert_eq!(tr.delay, -1);
            assert!(tr.snr_db > 25.0, "snr {}", tr.snr_db);
        }
    }

    /// Named numeric arrays of an uncompressed MAT v5 file, as f64 (just enough of the format
    /// for the capture below: miMATRIX elements holding int32, single or double data).
    fn read_mat_v5(bytes: &[u8]) -> std::collections::HashMap<String, Vec<f64>> {
        let u32_at = |p: usize| u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
        let mut arrays = std::collections::HashMap::new();
        let mut off = 128;
        while off + 8 <= bytes.len() {
            let (ty, len) = (u32_at(off), u32_at(off + 4));
            assert_eq!(ty, 14, "only uncompressed miMATRIX elements are expected");
            let (mut p, end) = (off + 8, off + 8 + len);
            // Sub-elements of a numeric array: flags, dimensions, name, real part.
            let (mut name, mut data, mut index) = (String::new(), Vec::new(), 0);
            while p < end {
                let tag = u32_at(p);
                let (sub_ty, sub_len, body, next) = if tag >> 16 != 0 {
                    (tag & 0xffff, tag >> 16, p + 4, p + 8) // small data element
                } else {
                    let n = u32_at(p + 4);
                    (tag, n, p + 8, p + 8 + n.div_ceil(8) * 8)
                };
                let raw = &bytes[body..body + sub_len];
                match (index, sub_ty) {
                    (2, _) => name = String::from_utf8_lossy(raw).into(),
                    (3, 5) => {
                        data = raw
                            .chunks_exact(4)
                            .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f64)
                            .collect()
                    }
                    (3, 7) => {
                        data = raw
                            .chunks_exact(4)
                            .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                            .collect()
                    }
                    (3, 9) => {
                        data = raw
                            .chunks_exact(8)
                            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                            .collect()
                    }
                    (3, t) => panic!("unexpected MAT data type {t}"),
                    _ => {}
                }
                index += 1;
                p = next;
            }
            arrays.insert(name, data);
            off = end.div_ceil(8) * 8;
        }
        arrays
    }

    #[test]
    fn real_capture_pam4_pon_fractionally_spaced() {
        // 50 GBd PAM4 IM/DD (100G-PON experiment), 2 samples/symbol, time-aligned; see
        // shared/captures/MANIFEST.md. The manifest's sanity floor: a 41-tap T/2 LMS FFE trained
        // on the first 12k symbols reaches BER about 3.1e-2.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/captures/pam4_pon_experiment/rxonly_eq_-18.5dBm_txrxSamples_50GBaudPAM_4_rrc_0.1.mat"
        );
        let Ok(bytes) = std::fs::read(path) else {
            println!("skipped: capture not found at {path}");
            return;
        };
        let mat = read_mat_v5(&bytes);
        let rx: Vec<f32> = mat["rxSamples"].iter().map(|&v| v as f32).collect();
        let tx: Vec<f32> = mat["txSymbols"].iter().map(|&v| v as f32).collect();
        assert_eq!((rx.len(), tx.len()), (65536, 32768));
        let train_symbols = 12_000;
        let cfg = FfeConfig {
            n_taps: 41,
            samples_per_symbol: 2,
            delay_search: 8,
            ..Default::default()
        };
        let tr = Ffe::train_mmse(&rx[..2 * train_symbols], &tx[..train_symbols], &cfg).unwrap();
        let y = tr.ffe.equalize(&rx);
        let levels: Vec<f32> = [-3.0f32, -1.0, 1.0, 3.0]
            .iter()
            .map(|v| v / 5f32.sqrt())
            .collect();
        let slicer = Slicer::for_levels(&levels).unwrap();
        let (mut symbol_errors, mut bit_errors, mut n) = (0usize, 0u32, 0usize);
        for (k, &yk) in y.iter().enumerate().take(y.len() - 30).skip(train_symbols) {
            let t = k as isize + tr.delay;
            if t < 0 || t as usize >= tx.len() {
                continue;
            }
            let (got, want) = (slicer.decide(yk), slicer.decide(tx[t as usize]));
            symbol_errors += (got != want) as usize;
            bit_errors += crate::modulation::bit_errors_between(
                got,
                want,
                Modulation::Pam4,
                crate::modulation::BitMapping::Gray,
            );
            n += 1;
        }
        let ser = symbol_errors as f64 / n as f64;
        let ber = bit_errors as f64 / (2 * n) as f64;
        println!("PON capture, MMSE T/2 FFE 41 taps: delay {}, train SNR {:.2} dB, test SER {ser:.3e}, BER {ber:.3e} over {n} symbols", tr.delay, tr.snr_db);
        assert!(n > 20_000);
        assert!(ber < 3.1e-2, "BER {ber} above the manifest's LMS floor");
        assert!(ser < 0.1);
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let ffe = Ffe::new(vec![0.1, -0.2, 1.0, 0.3], 2, 2).unwrap();
        let json = serde_json::to_string(&ffe).unwrap();
        assert_eq!(
            json,
            r#"{"taps":[0.1,-0.2,1.0,0.3],"samples_per_symbol":2,"reference_tap":2}"#
        );
        let back: Ffe = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ffe);
        assert!(serde_json::from_str::<Ffe>(
            r#"{"taps":[1.0],"samples_per_symbol":1,"reference_tap":4}"#
        )
        .is_err());
        let cfg: FfeConfig = serde_json::from_str(r#"{"n_taps":5}"#).unwrap();
        assert_eq!(
            cfg,
            FfeConfig {
                n_taps: 5,
                ..Default::default()
            }
        );
    }
}
