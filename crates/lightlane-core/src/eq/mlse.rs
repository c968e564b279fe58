//! Maximum-likelihood sequence estimation (Viterbi) for NRZ and PAM4 with channel memory 1 and
//! 2: 2/4 states (NRZ) and 4/16 states (PAM4).
//!
//! The detector assumes `y[k] = μ(s[k−m], …, s[k−1], s[k]) + n[k]` with white Gaussian noise, so
//! the maximum-likelihood sequence minimises `Σ_k (y[k] − μ(…))²`. For a linear partial-response
//! target `h = [h0, h1(, h2)]` and main-cursor levels `L[s]`, `μ = Σ_i h[i]·L[s[k−i]]` — the
//! `1 + αD` target of 200G/lane receivers (IEEE 802.3dj; COM models its gain in the `MLSE()`
//! step, standards note §6.1) is `h = [1, α]`. Any table `μ` may be given instead
//! ([`Mlse::from_table`]), for example conditional means measured on a training sequence
//! ([`Mlse::fit_table`]), which also captures level-dependent (nonlinear) ISI of IM/DD optics.
//! When the noise depends on the pattern too (signal-dependent noise of optical receivers),
//! [`Mlse::fit_table_with_noise`] also measures a standard deviation `σ` per pattern and the
//! branch metric becomes the Gaussian log-likelihood `(y − μ)²/σ² + ln σ²`.
//!
//! Why MLSE beats a DFE on `1 + αD` (at high SNR, PAM4 with level spacing 2d): the DFE decides
//! each symbol on its main cursor alone, distance 2d. The closest pair of MLSE paths differs
//! in one symbol by one level, and its two output sequences differ in `[2d, 2αd]`, distance
//! `2d·√(1 + α²)`; longer error events `ε = (1, −1, 1, …)` of length `j` have squared distance
//! `4d²·(1 + (j−1)(1−α)² + α²)`, which is not smaller for `α ≤ 1`. So MLSE gains
//! `10·log10(1 + α²)` dB in `d_min²` (0.97 dB for α = 0.5), before the DFE's error propagation,
//! which only widens the gap.
//!
//! States are the last `m` symbols, `state = Σ_{i=1..m} s[k−i]·M^(i−1)`. Path metrics start
//! equal (unknown past). Survivors are traced back in blocks: every `block` symbols the best
//! path is followed back `depth` symbols and the `block` symbols before that are decided; the
//! end of the input is traced back from the best final state. With `depth` beyond the input
//! length the result is the exact maximum-likelihood sequence ([`reference_viterbi`]).
//!
//! ```
//! use lightlane_core::eq::mlse::Mlse;
//! use lightlane_core::Modulation;
//! let pam4 = Modulation::Pam4;
//! let mlse = Mlse::new(pam4, &[1.0, 0.5], &pam4.level_set()).unwrap();
//! // Noise-free 1 + 0.5D output of symbols 3, 0, 2, 1 (the first with an unknown predecessor
//! // that happened to be symbol 1).
//! let a = |s: u8| pam4.level(s);
//! let y = [a(3) + 0.5 * a(1), a(0) + 0.5 * a(3), a(2) + 0.5 * a(0), a(1) + 0.5 * a(2)];
//! assert_eq!(mlse.detect(&y), vec![3, 0, 2, 1]);
//! ```

use super::linear_model::LinearIsiModel;
use crate::{Error, Modulation, Result};

/// Largest channel memory (symbols of ISI) an [`Mlse`] handles.
pub const MAX_MLSE_MEMORY: usize = 2;
/// Default number of symbols decided per traceback.
pub const DEFAULT_TRACEBACK_BLOCK: usize = 4096;
/// Default traceback depth (symbols followed back before deciding).
pub const DEFAULT_TRACEBACK_DEPTH: usize = 128;
/// Largest magnitude of an expected-output table entry (keeps every metric finite in f32).
pub const MAX_TABLE_MAGNITUDE: f32 = 1e12;
/// Largest traceback block or depth.
pub const MAX_TRACEBACK: usize = 1 << 20;

/// A Viterbi sequence detector (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Mlse {
    modulation: Modulation,
    memory: usize,
    /// `expected[p·M + s]`: mean output for previous state `p` and current symbol `s`.
    expected: Vec<f32>,
    /// Per-branch noise model `(1/σ², ln σ²)`, empty for the Euclidean metric.
    noise: Vec<(f32, f32)>,
    block: usize,
    depth: usize,
}

impl Mlse {
    /// MLSE for the linear target `target` (`target.len() − 1` = memory, 1 or 2) acting on the
    /// main-cursor levels `levels` (one per symbol).
    ///
    /// Errors: a target of length other than 2 or 3, a level count other than the modulation's,
    /// non-finite values, or two symbols with the same level ([`Error::InvalidParameter`]).
    pub fn new(modulation: Modulation, target: &[f32], levels: &[f32]) -> Result<Mlse> {
        let memory = target.len().wrapping_sub(1);
        if !(1..=MAX_MLSE_MEMORY).contains(&memory) {
            return Err(Error::invalid(
                "MLSE target",
                format!("{target:?}"),
                "need 2 or 3 coefficients (channel memory 1 or 2)",
            ));
        }
        let m = modulation.levels();
        if levels.len() != m {
            return Err(Error::invalid("MLSE levels", levels.len(), format!("{modulation} needs {m} levels")));
        }
        crate::error::check_finite("MLSE target", target)?;
        crate::error::check_finite("MLSE levels", levels)?;
        for i in 0..m {
            for j in 0..i {
                if levels[i] == levels[j] {
                    return Err(Error::invalid("MLSE levels", format!("{levels:?}"), "levels must be distinct"));
                }
            }
        }
        let states = m.pow(memory as u32);
        let mut expected = vec![0.0f32; states * m];
        for p in 0..states {
            for s in 0..m {
                let mut v = target[0] as f64 * levels[s] as f64;
                let mut digits = p;
                for &t in &target[1..] {
                    v += t as f64 * levels[digits % m] as f64;
                    digits /= m;
                }
                expected[p * m + s] = v as f32;
            }
        }
        Mlse::from_table(modulation, memory, expected)
    }

    /// MLSE with an arbitrary table of expected outputs: `expected[p·M + s]` for previous state
    /// `p` (`p = Σ_{i=1..m} s[k−i]·M^(i−1)`) and current symbol `s`; `M^(m+1)` entries.
    ///
    /// Errors: memory outside 1..=2 or a table of the wrong size ([`Error::InvalidParameter`]),
    /// a non-finite entry ([`Error::NonFinite`]).
    pub fn from_table(modulation: Modulation, memory: usize, expected: Vec<f32>) -> Result<Mlse> {
        if !(1..=MAX_MLSE_MEMORY).contains(&memory) {
            return Err(Error::invalid("MLSE memory", memory, "must be 1 or 2"));
        }
        let m = modulation.levels();
        let size = m.pow(memory as u32 + 1);
        if expected.len() != size {
            return Err(Error::invalid(
                "MLSE table",
                expected.len(),
                format!("{modulation} with memory {memory} needs {size} entries"),
            ));
        }
        crate::error::check_finite("MLSE table", &expected)?;
        if let Some(v) = expected.iter().find(|v| v.abs() > MAX_TABLE_MAGNITUDE) {
            return Err(Error::invalid("MLSE table", v, format!("entries must be within ±{MAX_TABLE_MAGNITUDE:e}")));
        }
        Ok(Mlse {
            modulation,
            memory,
            expected,
            noise: Vec::new(),
            block: DEFAULT_TRACEBACK_BLOCK,
            depth: DEFAULT_TRACEBACK_DEPTH,
        })
    }

    /// [`Mlse::from_table`] with a noise standard deviation per branch (`sigma[p·M + s]`, same
    /// layout): the branch metric is `(y − μ)²/σ² + ln σ²`, the maximum-likelihood metric for
    /// Gaussian noise whose power depends on the pattern.
    ///
    /// Errors as [`Mlse::from_table`], plus a `sigma` of the wrong size or not finite and > 0
    /// ([`Error::InvalidParameter`]).
    pub fn from_table_with_noise(modulation: Modulation, memory: usize, expected: Vec<f32>, sigma: &[f32]) -> Result<Mlse> {
        let mut mlse = Mlse::from_table(modulation, memory, expected)?;
        if sigma.len() != mlse.expected.len() {
            return Err(Error::invalid(
                "MLSE sigma",
                sigma.len(),
                format!("need one per branch ({})", mlse.expected.len()),
            ));
        }
        if let Some(bad) = sigma.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(Error::invalid("MLSE sigma", bad, "must be finite and > 0"));
        }
        mlse.noise = sigma
            .iter()
            .map(|&s| {
                let var = s as f64 * s as f64;
                ((1.0 / var) as f32, var.ln() as f32)
            })
            .collect();
        Ok(mlse)
    }

    /// [`Mlse::fit_table`] plus the noise standard deviation of every pattern, for the
    /// pattern-dependent Gaussian metric of [`Mlse::from_table_with_noise`]. Patterns seen fewer
    /// than 16 times take the pooled standard deviation.
    ///
    /// Errors as [`Mlse::fit_linear`], and [`Error::Unusable`] for a noise-free training input.
    pub fn fit_table_with_noise(y: &[f32], known_symbols: &[u8], memory: usize, modulation: Modulation) -> Result<Mlse> {
        let table = Mlse::fit_table(y, known_symbols, memory, modulation)?;
        let m = modulation.levels();
        let mut sq = vec![0.0f64; table.expected.len()];
        let mut counts = vec![0u64; table.expected.len()];
        let n = y.len().min(known_symbols.len());
        for (k, &yk) in y.iter().enumerate().take(n).skip(memory) {
            let idx = pattern_index(known_symbols, k, memory, m);
            sq[idx] += (yk as f64 - table.expected[idx] as f64).powi(2);
            counts[idx] += 1;
        }
        let total: u64 = counts.iter().sum();
        let pooled = (sq.iter().sum::<f64>() / total.max(1) as f64).sqrt();
        if !(pooled > 0.0 && pooled.is_finite()) {
            return Err(Error::Unusable {
                stage: "MLSE training",
                reason: "the training input has no noise to measure".into(),
            });
        }
        let sigma: Vec<f32> = (0..sq.len())
            .map(|i| {
                let s = if counts[i] >= 16 { (sq[i] / counts[i] as f64).sqrt() } else { pooled };
                s.max(1e-3 * pooled) as f32
            })
            .collect();
        let mut mlse = Mlse::from_table_with_noise(modulation, memory, table.expected, &sigma)?;
        mlse.block = table.block;
        mlse.depth = table.depth;
        Ok(mlse)
    }

    /// Least-squares linear model of `y` from the known symbols (aligned: `known_symbols[k]` is
    /// the symbol of `y[k]`, over the common length): `y[k] ≈ Σ_{i=0..m} h[i]·α(s[k−i]) + c`,
    /// turned into the MLSE table. Returns the detector and `h` normalised to `h[0] = 1`
    /// (`[1, α]` for memory 1: the estimated `1 + αD` target).
    ///
    /// Errors: memory outside 1..=2, fewer than 64 symbols, a symbol out of range, a non-finite
    /// sample, a fit without a positive main cursor ([`Error::Unusable`]).
    pub fn fit_linear(y: &[f32], known_symbols: &[u8], memory: usize, modulation: Modulation) -> Result<(Mlse, Vec<f32>)> {
        if !(1..=MAX_MLSE_MEMORY).contains(&memory) {
            return Err(Error::invalid("MLSE memory", memory, "must be 1 or 2"));
        }
        let names = super::linear_model::FitNames {
            min_symbols: 64,
            symbols: "MLSE training symbols",
            input: "MLSE training input",
            stage: "MLSE training",
        };
        let model = LinearIsiModel::fit_named(y, known_symbols, memory, modulation, &names)?;
        Ok((Mlse::from_model(&model)?, model.target()))
    }

    /// The detector of a fitted linear ISI model: expected output
    /// `h[0]·α(s) + c + Σ_{i≥1} h[i]·α(s[k−i])` (what [`Mlse::fit_linear`] returns for the same
    /// training data). The model's [`LinearIsiModel::target`] is the estimated `1 + αD` target.
    ///
    /// Errors: a model memory other than 1 or 2 ([`Error::InvalidParameter`]), as
    /// [`Mlse::from_table`].
    pub fn from_model(model: &LinearIsiModel) -> Result<Mlse> {
        let memory = model.memory();
        if !(1..=MAX_MLSE_MEMORY).contains(&memory) {
            return Err(Error::invalid("MLSE memory", memory, "must be 1 or 2"));
        }
        let h = model.cursors();
        let levels = model.levels();
        let alphabet = model.modulation().level_set();
        // Offset c belongs to the main cursor's levels only; the ISI terms act on α(s).
        let m = model.modulation().levels();
        let states = m.pow(memory as u32);
        let mut table = vec![0.0f32; states * m];
        for p in 0..states {
            for s in 0..m {
                let mut v = levels[s] as f64;
                let mut digits = p;
                for &hi in &h[1..] {
                    v += hi * alphabet[digits % m] as f64;
                    digits /= m;
                }
                table[p * m + s] = v as f32;
            }
        }
        Mlse::from_table(model.modulation(), memory, table)
    }

    /// The table of conditional means: `expected[p·M + s]` = mean of `y[k]` over training
    /// symbols with that pattern. Patterns seen fewer than 4 times take the linear model's
    /// value ([`Mlse::fit_linear`]). Captures nonlinear ISI.
    ///
    /// Errors as [`Mlse::fit_linear`].
    pub fn fit_table(y: &[f32], known_symbols: &[u8], memory: usize, modulation: Modulation) -> Result<Mlse> {
        let (linear, _) = Mlse::fit_linear(y, known_symbols, memory, modulation)?;
        let m = modulation.levels();
        let states = m.pow(memory as u32);
        let mut sums = vec![0.0f64; states * m];
        let mut counts = vec![0u64; states * m];
        let n = y.len().min(known_symbols.len());
        for (k, &yk) in y.iter().enumerate().take(n).skip(memory) {
            let idx = pattern_index(known_symbols, k, memory, m);
            sums[idx] += yk as f64;
            counts[idx] += 1;
        }
        let table = (0..states * m)
            .map(|i| if counts[i] >= 4 { (sums[i] / counts[i] as f64) as f32 } else { linear.expected[i] })
            .collect();
        let mut mlse = Mlse::from_table(modulation, memory, table)?;
        mlse.block = linear.block;
        mlse.depth = linear.depth;
        Ok(mlse)
    }

    /// The same detector with traceback `block` (symbols decided per traceback) and `depth`
    /// (symbols followed back before deciding); both 1..=2^20. A depth at least the input length
    /// gives the exact maximum-likelihood sequence.
    pub fn with_traceback(mut self, block: usize, depth: usize) -> Result<Mlse> {
        for (name, v) in [("MLSE traceback block", block), ("MLSE traceback depth", depth)] {
            if v == 0 || v > MAX_TRACEBACK {
                return Err(Error::invalid(name, v, format!("must be 1..={MAX_TRACEBACK}")));
            }
        }
        self.block = block;
        self.depth = depth;
        Ok(self)
    }

    /// The modulation.
    pub fn modulation(&self) -> Modulation {
        self.modulation
    }

    /// Channel memory `m` (symbols of ISI).
    pub fn memory(&self) -> usize {
        self.memory
    }

    /// Number of trellis states, `M^m`.
    pub fn states(&self) -> usize {
        self.modulation.levels().pow(self.memory as u32)
    }

    /// The expected-output table (`expected[p·M + s]`).
    pub fn expected(&self) -> &[f32] {
        &self.expected
    }

    /// The traceback `(block, depth)` of [`Mlse::with_traceback`].
    pub fn traceback(&self) -> (usize, usize) {
        (self.block, self.depth)
    }

    /// The per-branch weights `(1/σ², ln σ²)` of the pattern-dependent metric, indexed like
    /// [`Mlse::expected`]; empty for the Euclidean metric.
    pub fn noise_weights(&self) -> &[(f32, f32)] {
        &self.noise
    }

    /// The per-branch noise standard deviations, if the detector uses the pattern-dependent
    /// metric.
    pub fn noise_sigma(&self) -> Option<Vec<f32>> {
        (!self.noise.is_empty()).then(|| self.noise.iter().map(|&(w, _)| (1.0 / w as f64).sqrt() as f32).collect())
    }

    /// The metric of one branch (`idx = p·M + s`) for observation `y`, in f64.
    fn branch_metric_f64(&self, y: f32, idx: usize) -> f64 {
        let d = y as f64 - self.expected[idx] as f64;
        match self.noise.get(idx) {
            Some(&(w, b)) => d * d * w as f64 + b as f64,
            None => d * d,
        }
    }

    /// Decisions for `y` (one per value). Values beyond 4 table spans outside the range of the
    /// expected outputs are clamped to that bound (NaN to the upper one), so outliers and
    /// non-finite samples cost a decision or two but never disturb the path metrics.
    pub fn detect(&self, y: &[f32]) -> Vec<u8> {
        super::block::LaneDetector::detect_all(self, y)
    }

    /// Decisions for `y` into `out`; [`Error::LengthMismatch`] unless the lengths agree.
    pub fn detect_into(&self, y: &[f32], out: &mut [u8]) -> Result<()> {
        super::block::LaneDetector::detect_all_into(self, y, out)
    }

    fn run(&self, y: &[f32], out: &mut [u8]) {
        if y.is_empty() {
            return;
        }
        let pam4 = self.modulation == Modulation::Pam4;
        match (pam4, self.memory, self.noise.is_empty()) {
            (true, 1, true) => self.run_4state::<false>(y, out),
            (true, 1, false) => self.run_4state::<true>(y, out),
            (true, _, true) => self.run_generic::<4, 2, false>(y, out),
            (true, _, false) => self.run_generic::<4, 2, true>(y, out),
            (false, 1, true) => self.run_generic::<2, 1, false>(y, out),
            (false, 1, false) => self.run_generic::<2, 1, true>(y, out),
            (false, _, true) => self.run_generic::<2, 2, false>(y, out),
            (false, _, false) => self.run_generic::<2, 2, true>(y, out),
        }
    }

    /// The input range outside which values are clamped (see [`Mlse::detect`]).
    fn clamp_range(&self) -> (f32, f32) {
        let lo = self.expected.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = self.expected.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let span = (hi - lo).max(1e-6 * (1.0 + hi.abs().max(lo.abs())));
        (lo - 4.0 * span, hi + 4.0 * span)
    }

    /// The 4-state PAM4 trellis (module docs): forward add-compare-select in runs between
    /// traceback points on a ring of survivor words, then block traceback.
    fn run_4state<const WEIGHTED: bool>(&self, y: &[f32], out: &mut [u8]) {
        let trellis = Trellis4::new(self);
        let mut v = Viterbi4::new(self, y, out);
        while v.k < v.y.len() {
            let (k, end, slot) = (v.k, v.run_end(), v.k % v.ring);
            acs4::<WEIGHTED>(&trellis, &mut v.pm, &v.y[k..end], &mut v.surv[slot..slot + end - k], k);
            v.advance(end);
        }
        v.finish();
    }

    /// Two independent 4-state runs in lockstep, so that the two add-compare-select chains
    /// overlap in the CPU: each output equals `run_4state` on its own input, bit for bit.
    fn run_4state_pair<const WEIGHTED: bool>(&self, ya: &[f32], oa: &mut [u8], yb: &[f32], ob: &mut [u8]) {
        let trellis = Trellis4::new(self);
        let mut a = Viterbi4::new(self, ya, oa);
        let mut b = Viterbi4::new(self, yb, ob);
        while a.k < a.y.len() && b.k < b.y.len() {
            let k = a.k;
            let end = a.run_end().min(b.run_end());
            let (sa, sb) = (k % a.ring, k % b.ring);
            acs4_pair::<WEIGHTED>(
                &trellis,
                (&mut a.pm, &a.y[k..end], &mut a.surv[sa..sa + end - k]),
                (&mut b.pm, &b.y[k..end], &mut b.surv[sb..sb + end - k]),
                k,
            );
            a.advance(end);
            b.advance(end);
        }
        for v in [&mut a, &mut b] {
            while v.k < v.y.len() {
                let (k, end, slot) = (v.k, v.run_end(), v.k % v.ring);
                acs4::<WEIGHTED>(&trellis, &mut v.pm, &v.y[k..end], &mut v.surv[slot..slot + end - k], k);
                v.advance(end);
            }
            v.finish();
        }
    }

    /// Decisions for two inputs at once ([`Mlse::detect`] on each, bit for bit the same);
    /// the 4-state PAM4 detector interleaves the two runs for more throughput per core.
    pub(crate) fn detect_pair(&self, ya: &[f32], oa: &mut [u8], yb: &[f32], ob: &mut [u8]) {
        debug_assert!(oa.len() == ya.len() && ob.len() == yb.len());
        if ya.is_empty() || yb.is_empty() || !(self.modulation == Modulation::Pam4 && self.memory == 1) {
            self.run(ya, oa);
            self.run(yb, ob);
        } else if self.noise.is_empty() {
            self.run_4state_pair::<false>(ya, oa, yb, ob);
        } else {
            self.run_4state_pair::<true>(ya, oa, yb, ob);
        }
    }

    /// Any other trellis (`M` levels, memory `MEM`, `M^MEM ≤ 16` states): per state, the `M`
    /// predecessors differ in their oldest symbol; survivors store that symbol, one byte per
    /// state and step. Same normalisation schedule and tie rule as the 4-state kernel.
    fn run_generic<const M: usize, const MEM: usize, const WEIGHTED: bool>(&self, y: &[f32], out: &mut [u8]) {
        let states = M.pow(MEM as u32);
        let stride = states / M; // weight of the oldest digit
        let (lo, hi) = self.clamp_range();
        let mut mu = [0.0f32; 64];
        let mut wb = [(1.0f32, 0.0f32); 64];
        mu[..states * M].copy_from_slice(&self.expected);
        if WEIGHTED {
            wb[..states * M].copy_from_slice(&self.noise);
        }
        let n = y.len();
        let ring_len = self.block + self.depth;
        let ring = ring_len.min(n);
        let mut surv = vec![0u8; ring * states];
        let mut pm = [0.0f32; 16];
        let mut next = [0.0f32; 16];
        let mut decided = 0usize;
        let prev = |surv: &[u8], t: usize, state: usize| state / M + surv[(t % ring) * states + state] as usize * stride;
        for (k, &raw) in y.iter().enumerate() {
            let yk = clamp_input(raw, lo, hi);
            let row = &mut surv[(k % ring) * states..(k % ring + 1) * states];
            for nx in 0..states {
                let s = nx % M;
                let base = nx / M;
                let mut best = f32::INFINITY;
                let mut arg = 0u8;
                for j in 0..M {
                    let p = base + j * stride;
                    let idx = p * M + s;
                    let d = yk - mu[idx];
                    let c = if WEIGHTED { pm[p] + (d * d * wb[idx].0 + wb[idx].1) } else { pm[p] + d * d };
                    let lt = c < best;
                    best = if lt { c } else { best };
                    arg = if lt { j as u8 } else { arg };
                }
                next[nx] = best;
                row[nx] = arg;
            }
            if k % NORMALISE_EVERY == NORMALISE_EVERY - 1 {
                let b = next[0];
                for v in &mut next[..states] {
                    *v -= b;
                }
            }
            pm[..states].copy_from_slice(&next[..states]);
            if k + 1 - decided == ring_len {
                let mut state = argmin(&pm[..states]);
                let mut t = k;
                for _ in 0..self.depth {
                    state = prev(&surv, t, state);
                    t -= 1;
                }
                for _ in 0..self.block {
                    out[t] = (state % M) as u8;
                    state = prev(&surv, t, state);
                    t = t.wrapping_sub(1);
                }
                decided += self.block;
            }
        }
        let mut state = argmin(&pm[..states]);
        for t in (decided..n).rev() {
            out[t] = (state % M) as u8;
            state = prev(&surv, t, state);
        }
    }
}

/// Blocks an interleaved 4-state MLSE group runs at once (one AVX2 vector of 8 lanes).
pub const MLSE_LANES: usize = 8;

impl super::block::LaneDetector for Mlse {
    const LANES: usize = MLSE_LANES;

    fn detect_group(&self, y: &[f32], stride: usize, count: usize, len: usize, skip: usize, keep: usize, out: &mut [u8], scratch: &mut super::block::LaneScratch) {
        debug_assert!(count <= MLSE_LANES && skip + keep <= len && out.len() == count * keep);
        #[cfg(target_arch = "x86_64")]
        if crate::simd::avx2() {
            let a = (y, stride, count, len, skip, keep);
            match (self.modulation == Modulation::Pam4, self.memory, self.noise.is_empty()) {
                (true, 1, true) => self.run_4state_lanes::<false>(a.0, a.1, a.2, a.3, a.4, a.5, out, scratch),
                (true, 1, false) => self.run_4state_lanes::<true>(a.0, a.1, a.2, a.3, a.4, a.5, out, scratch),
                (true, _, true) => self.run_generic_lanes::<4, 2, false>(a, out, scratch),
                (true, _, false) => self.run_generic_lanes::<4, 2, true>(a, out, scratch),
                (false, 1, true) => self.run_generic_lanes::<2, 1, false>(a, out, scratch),
                (false, 1, false) => self.run_generic_lanes::<2, 1, true>(a, out, scratch),
                (false, _, true) => self.run_generic_lanes::<2, 2, false>(a, out, scratch),
                (false, _, false) => self.run_generic_lanes::<2, 2, true>(a, out, scratch),
            }
            return;
        }
        // Fallback: the windows two at a time ([`Mlse::detect_pair`] overlaps the two chains
        // of the 4-state trellis; other trellises run one after the other).
        let dec = &mut scratch.bytes;
        dec.clear();
        dec.resize(2 * len, 0);
        let (da, db) = dec.split_at_mut(len);
        let mut j = 0;
        while j < count {
            let ya = &y[j * stride..j * stride + len];
            if j + 1 < count {
                let yb = &y[(j + 1) * stride..(j + 1) * stride + len];
                self.detect_pair(ya, da, yb, db);
                out[(j + 1) * keep..(j + 2) * keep].copy_from_slice(&db[skip..skip + keep]);
            } else {
                self.run(ya, da);
            }
            out[j * keep..(j + 1) * keep].copy_from_slice(&da[skip..skip + keep]);
            j += 2;
        }
    }

    fn detect_window(&self, y: &[f32], out: &mut [u8]) {
        self.run(y, out);
    }

    const DECISIONS: &'static str = "MLSE decisions";
}

impl Mlse {
    /// [`Mlse::run_4state`] on `count ≤ 8` windows of `len` values (window `j` =
    /// `y[j·stride..]`) in the lanes of one AVX2 vector: the same forward runs, traceback points
    /// and tie rules per lane, with the survivor words of all lanes in one lane-major ring
    /// (`words[slot·8 + j]`). Writes decisions `[skip, skip + keep)` of window `j` to
    /// `out[j·keep..]`.
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)]
    fn run_4state_lanes<const WEIGHTED: bool>(
        &self,
        y: &[f32],
        stride: usize,
        count: usize,
        len: usize,
        skip: usize,
        keep: usize,
        out: &mut [u8],
        scratch: &mut super::block::LaneScratch,
    ) {
        const L: usize = MLSE_LANES;
        assert!((1..=L).contains(&count) && (count - 1) * stride + len <= y.len() && L * stride + len < i32::MAX as usize);
        let trellis = Trellis4::new(self);
        let ring_len = self.block + self.depth;
        let ring = ring_len.min(len).max(1);
        let words = &mut scratch.words;
        words.clear();
        words.resize(ring * L, 0);
        let dec = &mut scratch.bytes;
        dec.clear();
        dec.resize(len * L, 0);
        let mut offsets = [0i32; L];
        for (j, o) in offsets.iter_mut().enumerate().take(count) {
            *o = (j * stride) as i32;
        }
        let mut pm = [[0.0f32; L]; 4];
        let back = |slot: usize| if slot == 0 { ring - 1 } else { slot - 1 };
        let (mut k, mut decided) = (0usize, 0usize);
        while k < len {
            let slot = k % ring;
            let end = (decided + ring_len).min(len).min(k + ring - slot);
            // SAFETY: AVX2 was detected by the caller; every lane reads `y[j·stride + k']` for
            // `k' < end ≤ len`, inside `y` (asserted above); the survivor rows are in `words`.
            unsafe {
                super::simd::acs4_lanes_avx2::<WEIGHTED>(&trellis, &mut pm, y, &offsets, k, end, &mut words[slot * L..(slot + end - k) * L]);
            }
            k = end;
            if k - decided == ring_len {
                // The lanes' tracebacks are independent chains: walk them in lockstep.
                let mut state = [0usize; L];
                for (j, st) in state.iter_mut().enumerate().take(count) {
                    *st = argmin(&[pm[0][j], pm[1][j], pm[2][j], pm[3][j]]);
                }
                let mut slot = (k - 1) % ring;
                for _ in 0..self.depth {
                    for (j, st) in state.iter_mut().enumerate().take(count) {
                        *st = prev4(words[slot * L + j], *st);
                    }
                    slot = back(slot);
                }
                let mut t = k - 1 - self.depth;
                for _ in 0..self.block {
                    for (j, st) in state.iter_mut().enumerate().take(count) {
                        dec[j * len + t] = *st as u8;
                        *st = prev4(words[slot * L + j], *st);
                    }
                    slot = back(slot);
                    t = t.wrapping_sub(1);
                }
                decided += self.block;
            }
        }
        let mut state = [0usize; L];
        for (j, st) in state.iter_mut().enumerate().take(count) {
            *st = argmin(&[pm[0][j], pm[1][j], pm[2][j], pm[3][j]]);
        }
        let mut slot = (len - 1) % ring;
        for t in (decided..len).rev() {
            for (j, st) in state.iter_mut().enumerate().take(count) {
                dec[j * len + t] = *st as u8;
                *st = prev4(words[slot * L + j], *st);
            }
            slot = back(slot);
        }
        for (j, o) in out.chunks_exact_mut(keep).enumerate().take(count) {
            o.copy_from_slice(&dec[j * len + skip..j * len + skip + keep]);
        }
    }
}

impl Mlse {
    /// [`Mlse::run_generic`] on `count ≤ 8` windows in the lanes of one AVX2 vector
    /// (`(y, stride, count, len, skip, keep)` as in [`Mlse::run_4state_lanes`]): the same
    /// forward recursion, traceback points and tie rules per lane, survivors of all lanes in one
    /// ring (`surv[((t % ring)·states + state)·8 + lane]`).
    #[cfg(target_arch = "x86_64")]
    fn run_generic_lanes<const M: usize, const MEM: usize, const WEIGHTED: bool>(
        &self,
        (y, stride, count, len, skip, keep): (&[f32], usize, usize, usize, usize, usize),
        out: &mut [u8],
        scratch: &mut super::block::LaneScratch,
    ) {
        const L: usize = MLSE_LANES;
        assert!((1..=L).contains(&count) && (count - 1) * stride + len <= y.len() && L * stride + len < i32::MAX as usize);
        let states = M.pow(MEM as u32);
        let stride_state = states / M;
        let (lo, hi) = self.clamp_range();
        let ring_len = self.block + self.depth;
        let ring = ring_len.min(len);
        // Survivors first, then the per-lane decisions, in one byte buffer.
        let buf = &mut scratch.bytes;
        buf.clear();
        buf.resize(ring * states * L + len * L, 0);
        let (surv, dec) = buf.split_at_mut(ring * states * L);
        let mut offsets = [0i32; L];
        for (j, o) in offsets.iter_mut().enumerate().take(count) {
            *o = (j * stride) as i32;
        }
        let mut pm = [[0.0f32; L]; 16];
        // Predecessor of `state` at ring slot `slot`; the traceback walks slots down (no
        // division per symbol).
        let prev = |surv: &[u8], slot: usize, state: usize, lane: usize| {
            state / M + surv[(slot * states + state) * L + lane] as usize * stride_state
        };
        let back = |slot: usize| if slot == 0 { ring - 1 } else { slot - 1 };
        let lane_pm = |pm: &[[f32; L]; 16], lane: usize| {
            let mut v = [0.0f32; 16];
            for (s, x) in v.iter_mut().enumerate().take(states) {
                *x = pm[s][lane];
            }
            v
        };
        let (mut k, mut decided) = (0usize, 0usize);
        while k < len {
            let end = (decided + ring_len).min(len);
            // SAFETY: AVX2 was detected by the caller; lanes read `y[j·stride + k']`,
            // `k' < end ≤ len`, inside `y` (asserted above); `surv` holds `ring` rows.
            unsafe {
                super::simd::acs_lanes_avx2::<M, MEM, WEIGHTED>(&self.expected, &self.noise, lo, hi, &mut pm, y, &offsets, k, end, ring, surv);
            }
            k = end;
            if k - decided == ring_len {
                // The lanes' tracebacks are independent chains: walk them in lockstep.
                let mut state = [0usize; L];
                for (lane, st) in state.iter_mut().enumerate().take(count) {
                    *st = argmin(&lane_pm(&pm, lane)[..states]);
                }
                let mut t = k - 1;
                let mut slot = t % ring;
                for _ in 0..self.depth {
                    for (lane, st) in state.iter_mut().enumerate().take(count) {
                        *st = prev(surv, slot, *st, lane);
                    }
                    slot = back(slot);
                    t -= 1;
                }
                for _ in 0..self.block {
                    for (lane, st) in state.iter_mut().enumerate().take(count) {
                        dec[lane * len + t] = (*st % M) as u8;
                        *st = prev(surv, slot, *st, lane);
                    }
                    slot = back(slot);
                    t = t.wrapping_sub(1);
                }
                decided += self.block;
            }
        }
        let mut state = [0usize; L];
        for (lane, st) in state.iter_mut().enumerate().take(count) {
            *st = argmin(&lane_pm(&pm, lane)[..states]);
        }
        let mut slot = (len - 1) % ring;
        for t in (decided..len).rev() {
            for (lane, st) in state.iter_mut().enumerate().take(count) {
                dec[lane * len + t] = (*st % M) as u8;
                *st = prev(surv, slot, *st, lane);
            }
            slot = back(slot);
        }
        for (lane, o) in out.chunks_exact_mut(keep).enumerate().take(count) {
            o.copy_from_slice(&dec[lane * len + skip..lane * len + skip + keep]);
        }
    }
}

/// State of one 4-state Viterbi run: survivor ring, path metrics, progress.
struct Viterbi4<'a> {
    y: &'a [f32],
    out: &'a mut [u8],
    surv: Vec<u32>,
    pm: [f32; 4],
    /// Next symbol to process.
    k: usize,
    /// Symbols already decided (from the start).
    decided: usize,
    ring: usize,
    ring_len: usize,
    block: usize,
    depth: usize,
}

impl<'a> Viterbi4<'a> {
    fn new(mlse: &Mlse, y: &'a [f32], out: &'a mut [u8]) -> Viterbi4<'a> {
        let ring_len = mlse.block + mlse.depth;
        let ring = ring_len.min(y.len()).max(1);
        Viterbi4 {
            y,
            out,
            surv: vec![0u32; ring],
            pm: [0.0; 4],
            k: 0,
            decided: 0,
            ring,
            ring_len,
            block: mlse.block,
            depth: mlse.depth,
        }
    }

    /// End (exclusive) of the next forward run: the next traceback point, the end of the
    /// input or the end of the ring, whichever comes first.
    fn run_end(&self) -> usize {
        let slot = self.k % self.ring;
        (self.decided + self.ring_len).min(self.y.len()).min(self.k + self.ring - slot)
    }

    fn back(&self, slot: usize) -> usize {
        if slot == 0 {
            self.ring - 1
        } else {
            slot - 1
        }
    }

    /// Records a forward run up to `end`; at a traceback point, decides the oldest block.
    fn advance(&mut self, end: usize) {
        self.k = end;
        if self.k - self.decided == self.ring_len {
            let mut state = argmin(&self.pm);
            let mut slot = (self.k - 1) % self.ring;
            for _ in 0..self.depth {
                state = prev4(self.surv[slot], state);
                slot = self.back(slot);
            }
            let mut t = self.k - 1 - self.depth;
            for _ in 0..self.block {
                self.out[t] = state as u8;
                state = prev4(self.surv[slot], state);
                slot = self.back(slot);
                t = t.wrapping_sub(1);
            }
            self.decided += self.block;
        }
    }

    /// Traces the rest back from the best final state.
    fn finish(&mut self) {
        let n = self.y.len();
        if n == 0 {
            return;
        }
        let mut state = argmin(&self.pm);
        let mut slot = (n - 1) % self.ring;
        for t in (self.decided..n).rev() {
            self.out[t] = state as u8;
            state = prev4(self.surv[slot], state);
            slot = self.back(slot);
        }
    }
}

/// Path metrics are renormalised (state 0 subtracted) every this many symbols.
pub(crate) const NORMALISE_EVERY: usize = 8;

/// `y` clamped to `[lo, hi]`, NaN to `hi` (the operation order of SSE `min`/`max`).
#[inline(always)]
fn clamp_input(y: f32, lo: f32, hi: f32) -> f32 {
    let t = if y < hi { y } else { hi };
    if t > lo {
        t
    } else {
        lo
    }
}

/// Constants of the 4-state PAM4 kernel: branch means `mu[p][s]`, weights and offsets of the
/// pattern-dependent metric, and the input clamp range.
pub(crate) struct Trellis4 {
    pub(crate) mu: [[f32; 4]; 4],
    pub(crate) w: [[f32; 4]; 4],
    pub(crate) b: [[f32; 4]; 4],
    pub(crate) lo: f32,
    pub(crate) hi: f32,
}

impl Trellis4 {
    fn new(mlse: &Mlse) -> Trellis4 {
        let mut t = Trellis4 {
            mu: [[0.0; 4]; 4],
            w: [[1.0; 4]; 4],
            b: [[0.0; 4]; 4],
            lo: 0.0,
            hi: 0.0,
        };
        for p in 0..4 {
            for s in 0..4 {
                t.mu[p][s] = mlse.expected[p * 4 + s];
                if let Some(&(w, b)) = mlse.noise.get(p * 4 + s) {
                    t.w[p][s] = w;
                    t.b[p][s] = b;
                }
            }
        }
        (t.lo, t.hi) = mlse.clamp_range();
        t
    }
}

/// Predecessor of state `s` from a 4-state survivor word (byte `s` holds it). One shift and
/// one mask: the traceback is a chain of these, one per symbol, so its latency counts.
#[inline(always)]
fn prev4(word: u32, s: usize) -> usize {
    ((word >> (8 * s)) & 3) as usize
}

/// Forward 4-state add-compare-select over `y` (symbol `k0` first), one survivor word per
/// symbol: the SSE2 kernel on x86_64, the portable one elsewhere (bit-identical).
#[inline]
fn acs4<const WEIGHTED: bool>(t: &Trellis4, pm: &mut [f32; 4], y: &[f32], surv: &mut [u32], k0: usize) {
    #[cfg(target_arch = "x86_64")]
    super::simd::acs4_sse2::<WEIGHTED>(t, pm, y, surv, k0);
    #[cfg(not(target_arch = "x86_64"))]
    acs4_portable::<WEIGHTED>(t, pm, y, surv, k0);
}

/// [`acs4`] on two inputs of equal length: interleaved SSE2 on x86_64.
#[inline]
#[allow(clippy::type_complexity)]
fn acs4_pair<const WEIGHTED: bool>(
    t: &Trellis4,
    a: (&mut [f32; 4], &[f32], &mut [u32]),
    b: (&mut [f32; 4], &[f32], &mut [u32]),
    k0: usize,
) {
    #[cfg(target_arch = "x86_64")]
    super::simd::acs4_pair_sse2::<WEIGHTED>(t, a, b, k0);
    #[cfg(not(target_arch = "x86_64"))]
    {
        acs4_portable::<WEIGHTED>(t, a.0, a.1, a.2, k0);
        acs4_portable::<WEIGHTED>(t, b.0, b.1, b.2, k0);
    }
}

/// Portable 4-state add-compare-select: for each new state a tournament (0 vs 1, 2 vs 3, then
/// the winners; the earlier state wins ties), the same operations as the SSE2 kernel.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[allow(clippy::needless_range_loop)] // [p][s] indexing mirrors the SSE2 lanes
pub(crate) fn acs4_portable<const WEIGHTED: bool>(t: &Trellis4, pm: &mut [f32; 4], y: &[f32], surv: &mut [u32], k0: usize) {
    for (i, (&raw, word)) in y.iter().zip(surv.iter_mut()).enumerate() {
        let yk = clamp_input(raw, t.lo, t.hi);
        let mut c = [[0.0f32; 4]; 4];
        for p in 0..4 {
            for s in 0..4 {
                let d = yk - t.mu[p][s];
                c[p][s] = if WEIGHTED { pm[p] + (d * d * t.w[p][s] + t.b[p][s]) } else { pm[p] + d * d };
            }
        }
        let mut best = [0.0f32; 4];
        let mut bytes = 0u32;
        for s in 0..4 {
            let l01 = c[1][s] < c[0][s];
            let b01 = if l01 { c[1][s] } else { c[0][s] };
            let l23 = c[3][s] < c[2][s];
            let b23 = if l23 { c[3][s] } else { c[2][s] };
            let l = b23 < b01;
            best[s] = if l { b23 } else { b01 };
            let pred = if l { 2 + l23 as u32 } else { l01 as u32 };
            bytes |= pred << (8 * s);
        }
        *word = bytes;
        if (k0 + i) % NORMALISE_EVERY == NORMALISE_EVERY - 1 {
            let b0 = best[0];
            for v in &mut best {
                *v -= b0;
            }
        }
        *pm = best;
    }
}

/// Table index `p·M + s` of the pattern ending at symbol `k` (`k ≥ memory`).
fn pattern_index(symbols: &[u8], k: usize, memory: usize, m: usize) -> usize {
    let mut p = 0usize;
    for i in (1..=memory).rev() {
        p = p * m + symbols[k - i] as usize;
    }
    p * m + symbols[k] as usize
}

/// Index of the smallest value (the first of equals; NaN never wins).
fn argmin(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x < v[best] || v[best].is_nan() {
            best = i;
        }
    }
    best
}

/// The textbook Viterbi algorithm (the oracle of the fast detectors): f64 metrics without
/// renormalisation, the predecessor of every state at every step stored, one traceback from the
/// best final state at the end. Ties go to the lowest predecessor and the lowest final state.
pub fn reference_viterbi(mlse: &Mlse, y: &[f32]) -> Vec<u8> {
    let m = mlse.modulation.levels();
    let states = mlse.states();
    let stride = states / m;
    let mut pm = vec![0.0f64; states];
    let mut pred: Vec<Vec<usize>> = Vec::with_capacity(y.len());
    let (lo, hi) = mlse.clamp_range();
    for &raw in y {
        let yk = clamp_input(raw, lo, hi);
        let mut next_pm = vec![f64::INFINITY; states];
        let mut step = vec![0usize; states];
        for n in 0..states {
            let s = n % m;
            let mut best = (f64::INFINITY, 0usize);
            for j in 0..m {
                let p = n / m + j * stride;
                let c = pm[p] + mlse.branch_metric_f64(yk, p * m + s);
                if c < best.0 {
                    best = (c, p);
                }
            }
            next_pm[n] = best.0;
            step[n] = best.1;
        }
        pm = next_pm;
        pred.push(step);
    }
    let mut state = (0..states).fold(0, |b, i| if pm[i] < pm[b] { i } else { b });
    let mut out = vec![0u8; y.len()];
    for t in (0..y.len()).rev() {
        out[t] = (state % m) as u8;
        state = pred[t][state];
    }
    out
}

/// The path metric of the symbol sequence `symbols` (with the best choice of the unknown
/// symbols before it) under `mlse`'s model — the sum of squared errors, or of the Gaussian
/// branch metrics with per-pattern noise: the quantity the Viterbi algorithm minimises.
pub fn sequence_metric(mlse: &Mlse, y: &[f32], symbols: &[u8]) -> f64 {
    let m = mlse.modulation.levels();
    let memory = mlse.memory;
    let states = mlse.states();
    let (lo, hi) = mlse.clamp_range();
    // Best over the unknown pre-history state.
    (0..states)
        .map(|init| {
            let mut state = init;
            let mut total = 0.0f64;
            for (&yk, &s) in y.iter().zip(symbols) {
                total += mlse.branch_metric_f64(clamp_input(yk, lo, hi), state * m + s as usize);
                state = (state * m + s as usize) % m.pow(memory as u32);
            }
            total
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eq::dfe::Dfe;
    use crate::eq::test_util::{channel, random_symbols};
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn ser(a: &[u8], b: &[u8]) -> f64 {
        a.iter().zip(b).filter(|(x, y)| x != y).count() as f64 / a.len() as f64
    }

    /// Exhaustive search over every symbol sequence and every pre-history state.
    fn brute_force(mlse: &Mlse, y: &[f32]) -> f64 {
        let m = mlse.modulation.levels() as u64;
        let n = y.len();
        let mut best = f64::INFINITY;
        for code in 0..m.pow(n as u32) {
            let s: Vec<u8> = (0..n).map(|i| ((code / m.pow(i as u32)) % m) as u8).collect();
            best = best.min(sequence_metric(mlse, y, &s));
        }
        best
    }

    #[test]
    fn reference_viterbi_finds_the_exhaustive_optimum() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        for (m, target) in [
            (Modulation::Pam4, vec![1.0f32, 0.5]),
            (Modulation::Pam4, vec![1.0, 0.6, 0.3]),
            (Modulation::Nrz, vec![1.0, 0.9]),
            (Modulation::Nrz, vec![1.0, -0.4, 0.7]),
        ] {
            let linear = Mlse::new(m, &target, &m.level_set()).unwrap();
            let sigma: Vec<f32> = (0..linear.expected().len()).map(|_| rng.random_range(0.2f32..1.0)).collect();
            let weighted = Mlse::from_table_with_noise(m, target.len() - 1, linear.expected().to_vec(), &sigma).unwrap();
            for mlse in [linear, weighted] {
            for _ in 0..20 {
                let n = if m == Modulation::Pam4 { 6 } else { 10 };
                let y: Vec<f32> = (0..n).map(|_| rng.random_range(-2.0f32..2.0)).collect();
                let v = reference_viterbi(&mlse, &y);
                let got = sequence_metric(&mlse, &y, &v);
                let best = brute_force(&mlse, &y);
                assert!((got - best).abs() <= 1e-9 * (1.0 + best.abs()), "{m} {target:?}: {got} vs {best}");
                // The fast detector with unlimited depth also reaches the optimum.
                let fast = mlse.clone().with_traceback(1, 1000).unwrap().detect(&y);
                assert!((sequence_metric(&mlse, &y, &fast) - best).abs() <= 1e-5 * (1.0 + best.abs()));
            }
            }
        }
    }

    #[test]
    fn fast_detectors_match_the_reference() {
        for (m, target, sigma) in [
            (Modulation::Pam4, vec![1.0f32, 0.5], 0.12),
            (Modulation::Pam4, vec![1.0, 0.8], 0.14),
            (Modulation::Pam4, vec![1.0, 0.5, 0.2], 0.13),
            (Modulation::Nrz, vec![1.0, 0.7], 0.35),
            (Modulation::Nrz, vec![1.0, 0.5, -0.3], 0.4),
        ] {
            let n = 30_000;
            let s = random_symbols(m, n, 32);
            let y = channel(m, &s, &target, sigma, 33);
            let linear = Mlse::new(m, &target, &m.level_set()).unwrap();
            // The pattern-dependent metric with σ growing with the current level.
            let sigma: Vec<f32> = (0..linear.expected().len()).map(|i| 0.5 + (i % m.levels()) as f32 * 0.3).collect();
            let weighted = Mlse::from_table_with_noise(m, target.len() - 1, linear.expected().to_vec(), &sigma).unwrap();
            for mlse in [linear, weighted] {
                let want = reference_viterbi(&mlse, &y);
                // Default blocks, small blocks, and one traceback over everything.
                for (block, depth) in [(DEFAULT_TRACEBACK_BLOCK, DEFAULT_TRACEBACK_DEPTH), (7, 64), (n, n)] {
                    let got = mlse.clone().with_traceback(block, depth).unwrap().detect(&y);
                    assert_eq!(got, want, "{m} {target:?} block {block} depth {depth} weighted {}", mlse.noise_sigma().is_some());
                }
                assert!(ser(&want, &s) > 0.0, "{m} {target:?}: noise should cause some errors");
            }
        }
    }

    #[test]
    fn mlse_beats_the_dfe_on_one_plus_half_d() {
        // PAM4 through 1 + 0.5D with AWGN. Theory (module docs): MLSE gains 10·log10(1.25) =
        // 0.97 dB in d_min² over the DFE; the DFE's error propagation adds to its loss. Measure
        // SER vs σ for both and compare the σ at which each reaches SER = 2e-3.
        let m = Modulation::Pam4;
        let n = 200_000;
        let s = random_symbols(m, n, 34);
        let dfe = Dfe::new(vec![0.5], m.level_set(), m).unwrap();
        let mlse = Mlse::new(m, &[1.0, 0.5], &m.level_set()).unwrap();
        let sigmas: Vec<f64> = (0..9).map(|i| 0.08 + 0.0075 * i as f64).collect();
        let mut curves = (Vec::new(), Vec::new());
        for (i, &sigma) in sigmas.iter().enumerate() {
            let y = channel(m, &s, &[1.0, 0.5], sigma, 100 + i as u64);
            curves.0.push(ser(&dfe.detect(&y), &s));
            curves.1.push(ser(&mlse.detect(&y), &s));
        }
        let target_ser = 2e-3;
        // σ where log(SER) crosses the target, by linear interpolation in (σ dB, log SER).
        let crossing = |curve: &[f64]| -> f64 {
            for i in 1..curve.len() {
                if curve[i - 1] <= target_ser && curve[i] > target_ser {
                    let (a, b) = (curve[i - 1].max(1e-9).ln(), curve[i].ln());
                    let f = (target_ser.ln() - a) / (b - a);
                    let (x0, x1) = (20.0 * sigmas[i - 1].log10(), 20.0 * sigmas[i].log10());
                    return x0 + f * (x1 - x0);
                }
            }
            panic!("no crossing in {curve:?}");
        };
        let gain_db = crossing(&curves.1) - crossing(&curves.0);
        println!("1+0.5D PAM4 SER vs sigma {sigmas:?}\n  DFE  {:?}\n  MLSE {:?}\n  MLSE gain at SER {target_ser}: {gain_db:.2} dB", curves.0, curves.1);
        assert!(gain_db >= 0.5, "MLSE gain {gain_db:.2} dB");
        assert!(gain_db <= 2.0, "MLSE gain {gain_db:.2} dB is more than theory allows");
        // At every noise level MLSE makes fewer errors.
        for (d, v) in curves.0.iter().zip(&curves.1) {
            assert!(v < d, "{curves:?}");
        }
    }

    #[test]
    fn sixteen_states_on_a_two_tap_memory_channel() {
        // 1 + 0.6D + 0.3D²: the 16-state detector beats the 4-state one that ignores the D² term
        // and a 2-tap DFE.
        let m = Modulation::Pam4;
        let s = random_symbols(m, 100_000, 35);
        let h = [1.0f32, 0.6, 0.3];
        let y = channel(m, &s, &h, 0.1, 36);
        let full = Mlse::new(m, &h, &m.level_set()).unwrap();
        assert_eq!(full.states(), 16);
        let short = Mlse::new(m, &h[..2], &m.level_set()).unwrap();
        let dfe = Dfe::new(vec![0.6, 0.3], m.level_set(), m).unwrap();
        let (e16, e4, edfe) = (ser(&full.detect(&y), &s), ser(&short.detect(&y), &s), ser(&dfe.detect(&y), &s));
        assert!(e16 < 0.5 * edfe && e16 < 0.1 * e4, "16-state {e16}, 4-state {e4}, DFE {edfe}");
        // Noise-free: exact.
        let clean = channel(m, &s[..5000], &h, 0.0, 0);
        assert_eq!(full.detect(&clean), s[..5000]);
    }

    #[test]
    fn fitted_models_recover_the_channel() {
        let m = Modulation::Pam4;
        let s = random_symbols(m, 20_000, 37);
        let h = [0.9f32, 0.45];
        let mut y = channel(m, &s, &h, 0.02, 38);
        y.iter_mut().for_each(|v| *v += 0.05);
        let (lin, target) = Mlse::fit_linear(&y, &s, 1, m).unwrap();
        assert!((target[1] - 0.5).abs() < 0.01, "{target:?}");
        let table = Mlse::fit_table(&y, &s, 1, m).unwrap();
        for (a, b) in lin.expected().iter().zip(table.expected()) {
            assert!((a - b).abs() < 0.01, "{:?} vs {:?}", lin.expected(), table.expected());
        }
        assert_eq!(table.detect(&y), s);
        // A nonlinear channel (the top level compressed only after a high symbol) is captured
        // by the table, not by the linear fit.
        let bent: Vec<f32> = y
            .iter()
            .enumerate()
            .map(|(k, &v)| if k > 0 && s[k] == 3 && s[k - 1] == 3 { v - 0.3 } else { v })
            .collect();
        let t2 = Mlse::fit_table(&bent, &s, 1, m).unwrap();
        let (l2, _) = Mlse::fit_linear(&bent, &s, 1, m).unwrap();
        assert!(ser(&t2.detect(&bent), &s) < 0.2 * ser(&l2.detect(&bent), &s).max(1e-4));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse2_kernel_is_bit_exact_with_the_portable_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(45);
        let m = Modulation::Pam4;
        for trial in 0..6 {
            let a1 = rng.random_range(-0.9f32..0.9);
            let linear = Mlse::new(m, &[1.0, a1], &m.level_set()).unwrap();
            let sigma: Vec<f32> = (0..16).map(|_| rng.random_range(0.05f32..0.5)).collect();
            let weighted = Mlse::from_table_with_noise(m, 1, linear.expected().to_vec(), &sigma).unwrap();
            let mut y: Vec<f32> = (0..5000).map(|_| rng.random_range(-2.5f32..2.5)).collect();
            // Outliers and non-finite values exercise the clamp.
            y[10] = f32::NAN;
            y[20] = f32::INFINITY;
            y[30] = -1e30;
            y[40] = 1e9;
            for mlse in [&linear, &weighted] {
                let t = Trellis4::new(mlse);
                let (mut pa, mut pb) = ([0.0f32; 4], [0.0f32; 4]);
                let (mut sa, mut sb) = (vec![0u32; y.len()], vec![0u32; y.len()]);
                let k0 = trial * 3;
                if mlse.noise_sigma().is_some() {
                    acs4_portable::<true>(&t, &mut pa, &y, &mut sa, k0);
                    crate::eq::simd::acs4_sse2::<true>(&t, &mut pb, &y, &mut sb, k0);
                } else {
                    acs4_portable::<false>(&t, &mut pa, &y, &mut sa, k0);
                    crate::eq::simd::acs4_sse2::<false>(&t, &mut pb, &y, &mut sb, k0);
                }
                assert_eq!(sa, sb, "trial {trial}");
                assert_eq!(pa.map(f32::to_bits), pb.map(f32::to_bits), "trial {trial}");
                assert!(pa.iter().all(|v| v.is_finite()));
            }
        }
    }

    #[test]
    fn paired_runs_equal_single_runs() {
        let m = Modulation::Pam4;
        let s = random_symbols(m, 12_000, 46);
        let y = channel(m, &s, &[1.0, 0.5], 0.15, 47);
        let linear = Mlse::new(m, &[1.0, 0.5], &m.level_set()).unwrap();
        let sigma: Vec<f32> = (0..16).map(|i| 0.1 + 0.02 * (i % 4) as f32).collect();
        let weighted = Mlse::from_table_with_noise(m, 1, linear.expected().to_vec(), &sigma).unwrap();
        let sixteen = Mlse::new(m, &[1.0, 0.5, 0.1], &m.level_set()).unwrap();
        for mlse in [linear, weighted, sixteen] {
            for (la, lb) in [(5000usize, 3000usize), (3000, 5000), (4000, 4000), (100, 9000), (0, 50), (1, 1)] {
                let (ya, yb) = (&y[..la], &y[la..la + lb]);
                let (mut oa, mut ob) = (vec![9u8; la], vec![9u8; lb]);
                mlse.detect_pair(ya, &mut oa, yb, &mut ob);
                assert_eq!(oa, mlse.detect(ya), "{la} {lb}");
                assert_eq!(ob, mlse.detect(yb), "{la} {lb}");
            }
        }
    }

    #[test]
    fn pattern_dependent_noise_metric_helps_when_noise_depends_on_the_level() {
        // PAM4 through 1 + 0.3D where the noise on the top level is 3× that on the others (as
        // with signal-dependent noise in IM/DD optics): the Gaussian metric with measured σ per
        // pattern moves the decision boundaries towards the quiet levels.
        let m = Modulation::Pam4;
        let n = 100_000;
        let s = random_symbols(m, n, 40);
        let clean = channel(m, &s, &[1.0, 0.3], 0.0, 0);
        let mut rng = ChaCha8Rng::seed_from_u64(41);
        let noise = Normal::new(0.0f32, 1.0).unwrap();
        let y: Vec<f32> = clean
            .iter()
            .zip(&s)
            .map(|(&v, &sym)| v + noise.sample(&mut rng) * if sym == 3 { 0.21 } else { 0.07 })
            .collect();
        let train = 20_000;
        let plain = Mlse::fit_table(&y[..train], &s[..train], 1, m).unwrap();
        let weighted = Mlse::fit_table_with_noise(&y[..train], &s[..train], 1, m).unwrap();
        let sigma = weighted.noise_sigma().unwrap();
        for (i, &sd) in sigma.iter().enumerate() {
            let want = if i % 4 == 3 { 0.21 } else { 0.07 };
            assert!((sd - want).abs() < 0.15 * want, "branch {i}: σ {sd}");
        }
        let (e_plain, e_weighted) = (ser(&plain.detect(&y[train..]), &s[train..]), ser(&weighted.detect(&y[train..]), &s[train..]));
        assert!(e_weighted < 0.7 * e_plain, "weighted {e_weighted} vs Euclidean {e_plain}");
        assert!(Mlse::from_table_with_noise(m, 1, plain.expected().to_vec(), &[0.1; 15]).is_err());
        assert!(Mlse::from_table_with_noise(m, 1, plain.expected().to_vec(), &[0.0; 16]).is_err());
        assert!(matches!(Mlse::fit_table_with_noise(&clean[..1000], &s[..1000], 1, m), Err(Error::Unusable { .. })));
    }

    #[test]
    fn bad_inputs_are_named_errors() {
        let m = Modulation::Pam4;
        assert!(Mlse::new(m, &[1.0], &m.level_set()).is_err());
        assert!(Mlse::new(m, &[1.0, 0.1, 0.1, 0.1], &m.level_set()).is_err());
        assert!(Mlse::new(m, &[1.0, 0.5], &[0.0, 1.0]).is_err());
        assert!(Mlse::new(m, &[1.0, 0.5], &[0.0, 1.0, 1.0, 2.0]).is_err());
        assert!(matches!(Mlse::new(m, &[1.0, f32::NAN], &m.level_set()), Err(Error::NonFinite { .. })));
        assert!(Mlse::from_table(m, 1, vec![0.0; 15]).is_err());
        assert!(Mlse::from_table(m, 3, vec![0.0; 256]).is_err());
        let mlse = Mlse::new(m, &[1.0, 0.5], &m.level_set()).unwrap();
        assert!(mlse.clone().with_traceback(0, 10).is_err());
        assert!(matches!(mlse.detect_into(&[0.0; 4], &mut [0u8; 3]), Err(Error::LengthMismatch { what: "MLSE decisions", expected: 4, got: 3 })));
        assert!(mlse.detect(&[]).is_empty());
        assert_eq!(mlse.detect(&[f32::NAN, 1.0]).len(), 2);
        assert!(matches!(Mlse::fit_linear(&[0.0; 10], &[0; 10], 1, m), Err(Error::InputTooShort { .. })));
        assert!(matches!(Mlse::fit_table(&[0.0; 100], &[9; 100], 1, m), Err(Error::ValueOutOfRange { .. })));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn fast_is_maximum_likelihood(
            y in proptest::collection::vec(-2.0f32..2.0, 0..200),
            a1 in -1.0f32..1.0,
            a2 in -0.5f32..0.5,
            mem2 in any::<bool>(),
            pam4 in any::<bool>(),
            block in 1usize..20,
        ) {
            let m = if pam4 { Modulation::Pam4 } else { Modulation::Nrz };
            let target = if mem2 { vec![1.0, a1, a2] } else { vec![1.0, a1] };
            let mut mlse = Mlse::new(m, &target, &m.level_set()).unwrap().with_traceback(block, 400).unwrap();
            if block % 2 == 0 {
                let sigma: Vec<f32> = (0..mlse.expected().len()).map(|i| 0.3 + 0.1 * (i % 5) as f32).collect();
                mlse = Mlse::from_table_with_noise(m, target.len() - 1, mlse.expected().to_vec(), &sigma)
                    .unwrap()
                    .with_traceback(block, 400)
                    .unwrap();
            }
            let fast = mlse.detect(&y);
            let slow = reference_viterbi(&mlse, &y);
            prop_assert_eq!(fast.len(), y.len());
            // Both are ML sequences: equal metrics (they may differ only on exact ties).
            let (a, b) = (sequence_metric(&mlse, &y, &fast), sequence_metric(&mlse, &y, &slow));
            prop_assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{} vs {}", a, b);
        }
    }
}
