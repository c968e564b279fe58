//! FIR filtering on the simulator's internal fine grid: a planned engine (identity, sparse/direct,
//! or FFT overlap-save) and the naive direct convolution it is tested against.

use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Largest fine-grid FIR the simulator accepts (taps). Bounds the FFT buffers to a few tens of MiB.
pub(crate) const MAX_FINE_FIR_LEN: usize = 1 << 20;

/// Non-zero taps up to which the direct (sparse) path beats FFT overlap-save.
const SPARSE_MAX_NONZERO: usize = 32;

/// A FIR on the fine grid: `y[m] = Σ_i taps[i] · x[m + lead − i]`, i.e. `taps[i]` is the response
/// at offset `i − lead` cells (negative offsets are non-causal taps).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FineFir {
    pub taps: Vec<f64>,
    pub lead: isize,
}

impl FineFir {
    /// The unit impulse (no filtering).
    pub fn identity() -> Self {
        FineFir { taps: vec![1.0], lead: 0 }
    }

    /// Removes exactly-zero taps at both ends (keeps at least one tap).
    pub fn trimmed(mut self) -> Self {
        let first = self.taps.iter().position(|&v| v != 0.0);
        match first {
            None => FineFir { taps: vec![0.0], lead: 0 },
            Some(f) => {
                let last = self.taps.iter().rposition(|&v| v != 0.0).unwrap_or(f);
                self.taps.truncate(last + 1);
                self.taps.drain(..f);
                self.lead -= f as isize;
                self
            }
        }
    }

    /// Cascade of two filters (full convolution of the taps, offsets add).
    pub fn cascade(&self, other: &FineFir) -> FineFir {
        FineFir {
            taps: convolve_full(&self.taps, &other.taps),
            lead: self.lead + other.lead,
        }
        .trimmed()
    }

    #[cfg(test)]
    /// Frequency response at `f_norm` cycles per cell: `Σ_i taps[i] · e^{−j2π f (i − lead)}`.
    pub fn response(&self, f_norm: f64) -> Complex64 {
        let mut acc = Complex64::new(0.0, 0.0);
        for (i, &h) in self.taps.iter().enumerate() {
            let k = i as f64 - self.lead as f64;
            acc += Complex64::from_polar(h, -2.0 * std::f64::consts::PI * f_norm * k);
        }
        acc
    }
}

/// Full linear convolution, direct for small sizes and by FFT otherwise.
pub(crate) fn convolve_full(a: &[f64], b: &[f64]) -> Vec<f64> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let out_len = a.len() + b.len() - 1;
    if (a.len() as u64) * (b.len() as u64) <= 1 << 22 {
        let mut out = vec![0.0; out_len];
        for (i, &x) in a.iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            for (o, &y) in out[i..].iter_mut().zip(b) {
                *o += x * y;
            }
        }
        return out;
    }
    let n = out_len.next_power_of_two();
    let mut planner = FftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    // Both real inputs in one complex FFT: A + jB, separated by conjugate symmetry.
    let mut buf: Vec<Complex64> = (0..n)
        .map(|i| Complex64::new(a.get(i).copied().unwrap_or(0.0), b.get(i).copied().unwrap_or(0.0)))
        .collect();
    fwd.process(&mut buf);
    let mut prod = vec![Complex64::new(0.0, 0.0); n];
    for k in 0..n {
        let z = buf[k];
        let zc = buf[(n - k) % n].conj();
        let fa = (z + zc) * 0.5;
        let fb = (z - zc) * Complex64::new(0.0, -0.5);
        prod[k] = fa * fb;
    }
    inv.process(&mut prod);
    let scale = 1.0 / n as f64;
    prod[..out_len].iter().map(|c| c.re * scale).collect()
}

/// Naive "valid" convolution, the oracle for [`FirEngine`]:
/// `y[j] = Σ_i taps[i] · x[j + len − 1 − i]`, `y.len() = x.len() − len + 1`.
#[cfg(test)]
pub(crate) fn fir_valid_naive(taps: &[f64], x: &[f64]) -> Vec<f64> {
    let len = taps.len();
    if x.len() < len {
        return Vec::new();
    }
    (0..x.len() - len + 1)
        .map(|j| taps.iter().enumerate().map(|(i, &h)| h * x[j + len - 1 - i]).sum())
        .collect()
}

/// FFT overlap-save plan for one FIR.
#[derive(Clone)]
pub(crate) struct OverlapSave {
    n: usize,
    len: usize,
    /// Spectrum of the zero-padded taps, pre-scaled by 1/n.
    h_freq: Vec<Complex64>,
    fwd: Arc<dyn Fft<f64>>,
    inv: Arc<dyn Fft<f64>>,
}

impl std::fmt::Debug for OverlapSave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverlapSave").field("n", &self.n).field("len", &self.len).finish()
    }
}

/// Planned executor for a [`FineFir`] ("valid" convolution of a block of cells).
#[derive(Debug, Clone)]
pub(crate) enum FirEngine {
    /// One tap of weight 1.
    Identity,
    /// Direct evaluation over the non-zero taps only.
    Sparse { len: usize, index: Vec<usize>, weight: Vec<f64> },
    /// FFT overlap-save, two real segments per complex FFT.
    Fft(OverlapSave),
}

/// Caller-owned scratch for [`FirEngine::process`].
#[derive(Debug, Default)]
pub(crate) struct FirScratch {
    buf: Vec<Complex64>,
    fft: Vec<Complex64>,
}

impl FirEngine {
    /// Plans the executor for `taps` (the `lead` is the caller's business).
    pub fn new(taps: &[f64]) -> Self {
        let nonzero = taps.iter().filter(|&&v| v != 0.0).count();
        if taps.len() == 1 && taps[0] == 1.0 {
            return FirEngine::Identity;
        }
        if nonzero <= SPARSE_MAX_NONZERO {
            let (index, weight) = taps.iter().enumerate().filter(|(_, &v)| v != 0.0).map(|(i, &v)| (i, v)).unzip();
            return FirEngine::Sparse {
                len: taps.len(),
                index,
                weight,
            };
        }
        let len = taps.len();
        let n = if len > 1 << 16 {
            (2 * len).next_power_of_two()
        } else {
            (4 * len).next_power_of_two().max(1024)
        };
        let mut planner = FftPlanner::<f64>::new();
        let fwd = planner.plan_fft_forward(n);
        let inv = planner.plan_fft_inverse(n);
        let mut h_freq: Vec<Complex64> = (0..n)
            .map(|i| Complex64::new(taps.get(i).copied().unwrap_or(0.0) / n as f64, 0.0))
            .collect();
        fwd.process(&mut h_freq);
        FirEngine::Fft(OverlapSave {
            n,
            len,
            h_freq,
            fwd,
            inv,
        })
    }

    /// Number of taps (the block overlap is `len − 1`).
    pub fn len(&self) -> usize {
        match self {
            FirEngine::Identity => 1,
            FirEngine::Sparse { len, .. } => *len,
            FirEngine::Fft(p) => p.len,
        }
    }

    /// "Valid" convolution: `y[j] = Σ_i taps[i] · x[j + len − 1 − i]` for `j < y.len()`.
    /// Requires `x.len() >= y.len() + len − 1` (a programmer contract inside the simulator).
    pub fn process(&self, x: &[f64], y: &mut [f64], scratch: &mut FirScratch) {
        let len = self.len();
        assert!(x.len() + 1 >= y.len() + len, "FirEngine::process: input block too short");
        match self {
            FirEngine::Identity => y.copy_from_slice(&x[..y.len()]),
            FirEngine::Sparse { index, weight, .. } => {
                y.fill(0.0);
                for (&i, &w) in index.iter().zip(weight) {
                    let src = &x[len - 1 - i..len - 1 - i + y.len()];
                    for (o, &v) in y.iter_mut().zip(src) {
                        *o += w * v;
                    }
                }
            }
            FirEngine::Fft(p) => p.process(x, y, scratch),
        }
    }
}

impl OverlapSave {
    fn process(&self, x: &[f64], y: &mut [f64], scratch: &mut FirScratch) {
        let (n, len) = (self.n, self.len);
        let seg = n - len + 1;
        scratch.buf.resize(n, Complex64::new(0.0, 0.0));
        let scratch_len = self.fwd.get_inplace_scratch_len().max(self.inv.get_inplace_scratch_len());
        scratch.fft.resize(scratch_len, Complex64::new(0.0, 0.0));
        let total = y.len();
        let mut start = 0;
        while start < total {
            // Segment A outputs [start, start+seg), segment B the next seg outputs.
            let b_start = start + seg;
            let sample = |s: usize, t: usize| -> f64 { x.get(s + t).copied().unwrap_or(0.0) };
            for (t, c) in scratch.buf.iter_mut().enumerate() {
                let re = sample(start, t);
                let im = if b_start < total { sample(b_start, t) } else { 0.0 };
                *c = Complex64::new(re, im);
            }
            self.fwd.process_with_scratch(&mut scratch.buf, &mut scratch.fft);
            for (c, h) in scratch.buf.iter_mut().zip(&self.h_freq) {
                *c *= h;
            }
            self.inv.process_with_scratch(&mut scratch.buf, &mut scratch.fft);
            let valid = &scratch.buf[len - 1..];
            let a_end = (start + seg).min(total);
            for (o, c) in y[start..a_end].iter_mut().zip(valid) {
                *o = c.re;
            }
            if b_start < total {
                let b_end = (b_start + seg).min(total);
                for (o, c) in y[b_start..b_end].iter_mut().zip(valid) {
                    *o = c.im;
                }
            }
            start += 2 * seg;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    fn random(len: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    fn check_engine(taps: &[f64], x_len: usize, seed: u64) {
        let x = random(x_len, seed);
        let reference = fir_valid_naive(taps, &x);
        let engine = FirEngine::new(taps);
        let mut y = vec![f64::NAN; reference.len()];
        engine.process(&x, &mut y, &mut FirScratch::default());
        let scale: f64 = taps.iter().map(|v| v.abs()).sum::<f64>().max(1e-300);
        for (j, (a, b)) in y.iter().zip(&reference).enumerate() {
            assert!((a - b).abs() <= 1e-12 * scale * (taps.len() as f64).sqrt(), "j={j}: {a} vs {b}");
        }
    }

    #[test]
    fn engines_choose_expected_paths() {
        assert!(matches!(FirEngine::new(&[1.0]), FirEngine::Identity));
        assert!(matches!(FirEngine::new(&[0.5, 0.0, 0.0, 0.25]), FirEngine::Sparse { .. }));
        assert!(matches!(FirEngine::new(&random(100, 1)), FirEngine::Fft(_)));
    }

    #[test]
    fn fft_engine_matches_naive_long_block() {
        // Several overlap-save segment pairs, odd number of segments, partial last segment.
        check_engine(&random(300, 2), 20_000, 3);
        check_engine(&random(33, 4), 1000, 5);
    }

    #[test]
    fn convolve_full_fft_matches_direct() {
        let a = random(3000, 6);
        let b = random(2000, 7); // 6e6 products: FFT path
        let fast = convolve_full(&a, &b);
        let mut slow = vec![0.0; a.len() + b.len() - 1];
        for (i, &x) in a.iter().enumerate() {
            for (j, &y) in b.iter().enumerate() {
                slow[i + j] += x * y;
            }
        }
        for (f, s) in fast.iter().zip(&slow) {
            assert!((f - s).abs() < 1e-9, "{f} vs {s}");
        }
    }

    #[test]
    fn trimmed_and_cascade_keep_offsets() {
        let f = FineFir { taps: vec![0.0, 0.0, 2.0, 0.0, 3.0, 0.0], lead: 1 }.trimmed();
        assert_eq!(f, FineFir { taps: vec![2.0, 0.0, 3.0], lead: -1 });
        // Delay by 1 then advance by 3: net advance by 2.
        let d = FineFir { taps: vec![0.0, 1.0], lead: 0 };
        let a = FineFir { taps: vec![1.0], lead: 3 };
        assert_eq!(d.cascade(&a), FineFir { taps: vec![1.0], lead: 2 });
    }

    proptest! {
        #[test]
        fn engine_matches_naive(len in 1usize..200, extra in 0usize..3000, seed in 0u64..1000, sparse in any::<bool>()) {
            let mut taps = random(len, seed);
            if sparse {
                for (i, t) in taps.iter_mut().enumerate() {
                    if i % 7 != 0 { *t = 0.0; }
                }
            }
            check_engine(&taps, len + extra, seed + 1);
        }
    }
}
