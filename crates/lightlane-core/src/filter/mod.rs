//! FIR filtering with runtime-dispatched SIMD and a naive reference.
//!
//! A [`Fir`] is planned once from its taps (validated, reversed and kept for the engine) and then
//! applied to any number of inputs. It computes the "valid" part of the convolution, exactly
//! what `numpy.convolve(x, h, "valid")` returns:
//!
//! `y[i] = Σ_k h[k] · x[i + L-1 - k]`, `L = h.len()`, `i = 0 .. x.len() - L + 1`.
//!
//! Engines ([`FirEngine`]): a naive f64 reference (the oracle, [`naive`]), a portable scalar
//! kernel the compiler vectorizes for the baseline ISA, and AVX2/FMA and AVX-512 kernels chosen at
//! run time when the CPU has them. All architecture-specific code lives in `simd.rs`.
//!
//! ```
//! use lightlane_core::filter::Fir;
//! let fir = Fir::new(&[0.5, 0.5]).unwrap();
//! let y = fir.process_valid_vec(&[1.0, 3.0, 5.0, 7.0]);
//! assert_eq!(y, vec![2.0, 4.0, 6.0]);
//! ```

pub mod naive;
mod simd;

use crate::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Largest number of taps a [`Fir`] accepts.
pub const MAX_FIR_TAPS: usize = 4096;

/// Outputs below which [`Fir::process_valid_par`] stays on the calling thread.
const PAR_MIN_OUTPUTS: usize = 1 << 15;

/// Granularity of the parallel split (a multiple of every kernel's block, so the blocks line up
/// with a serial run; results are identical either way, see `simd.rs`).
const PAR_ALIGN: usize = 128;

/// Which kernel a [`Fir`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirEngine {
    /// One output at a time in f64: the reference the other engines are tested against.
    Naive,
    /// Portable blocked kernel, auto-vectorized for the baseline ISA (SSE2, NEON).
    Scalar,
    /// x86_64 AVX2 + FMA kernel, 8 lanes.
    Avx2Fma,
    /// x86_64 AVX-512F kernel, 16 lanes.
    Avx512,
}

impl FirEngine {
    /// Every engine, slowest first.
    pub const ALL: [FirEngine; 4] = [
        FirEngine::Naive,
        FirEngine::Scalar,
        FirEngine::Avx2Fma,
        FirEngine::Avx512,
    ];

    /// The fastest engine this CPU can run.
    pub fn detect() -> FirEngine {
        let f = simd::cpu_features();
        if f.avx512 {
            FirEngine::Avx512
        } else if f.avx2_fma {
            FirEngine::Avx2Fma
        } else {
            FirEngine::Scalar
        }
    }

    /// The engines this CPU can run, slowest first.
    pub fn available() -> Vec<FirEngine> {
        FirEngine::ALL
            .into_iter()
            .filter(|e| e.is_available())
            .collect()
    }

    /// Whether this CPU can run the engine.
    pub fn is_available(self) -> bool {
        let f = simd::cpu_features();
        match self {
            FirEngine::Naive | FirEngine::Scalar => true,
            FirEngine::Avx2Fma => f.avx2_fma,
            FirEngine::Avx512 => f.avx512,
        }
    }

    /// Short name, as used in benchmark ids and reports (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            FirEngine::Naive => "naive",
            FirEngine::Scalar => "scalar",
            FirEngine::Avx2Fma => "avx2-fma",
            FirEngine::Avx512 => "avx512",
        }
    }
}

impl std::fmt::Display for FirEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FirEngine {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        FirEngine::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::invalid(
                    "FIR engine",
                    s,
                    "expected naive, scalar, avx2-fma or avx512",
                )
            })
    }
}

/// A planned FIR filter: validated taps laid out for one engine.
///
/// Build once with [`Fir::new`] (fastest engine) or [`Fir::with_engine`], then call
/// [`Fir::process_valid`] with caller-owned buffers as often as needed. Non-finite input samples
/// are not checked here (they propagate to the outputs whose window contains them, as in numpy).
#[derive(Debug, Clone, PartialEq)]
pub struct Fir {
    taps: Vec<f32>,
    /// Taps reversed: the kernels compute the correlation `Σ_j reversed[j] · x[i + j]`.
    reversed: Vec<f32>,
    engine: FirEngine,
}

impl Fir {
    /// Plans a filter on the fastest engine of this CPU ([`FirEngine::detect`]).
    ///
    /// Errors: empty or more than [`MAX_FIR_TAPS`] taps ([`Error::InvalidParameter`]), a
    /// non-finite tap ([`Error::NonFinite`]).
    pub fn new(taps: &[f32]) -> Result<Fir> {
        Fir::with_engine(taps, FirEngine::detect())
    }

    /// Plans a filter on a chosen engine; [`Error::InvalidParameter`] if this CPU cannot run it.
    pub fn with_engine(taps: &[f32], engine: FirEngine) -> Result<Fir> {
        if taps.is_empty() || taps.len() > MAX_FIR_TAPS {
            return Err(Error::invalid(
                "FIR taps",
                taps.len(),
                format!("need between 1 and {MAX_FIR_TAPS} taps"),
            ));
        }
        crate::error::check_finite("FIR taps", taps)?;
        if !engine.is_available() {
            return Err(Error::invalid(
                "FIR engine",
                engine,
                format!(
                    "this CPU cannot run it (available: {:?})",
                    FirEngine::available()
                ),
            ));
        }
        Ok(Fir {
            taps: taps.to_vec(),
            reversed: taps.iter().rev().copied().collect(),
            engine,
        })
    }

    /// The taps, in convolution order (`h[0]` multiplies the newest sample).
    pub fn taps(&self) -> &[f32] {
        &self.taps
    }

    /// The engine this filter runs on.
    pub fn engine(&self) -> FirEngine {
        self.engine
    }

    /// Number of "valid" outputs for an input of `input_len` samples:
    /// `input_len - taps + 1`, or 0 when the input is shorter than the filter.
    pub fn valid_len(&self, input_len: usize) -> usize {
        (input_len + 1).saturating_sub(self.taps.len())
    }

    /// `numpy.convolve(input, taps, "valid")` into `output`:
    /// `y[i] = Σ_k h[k] · input[i + L-1 - k]`.
    ///
    /// [`Error::LengthMismatch`] unless `output.len() == self.valid_len(input.len())`.
    pub fn process_valid(&self, input: &[f32], output: &mut [f32]) -> Result<()> {
        self.check_output(input, output)?;
        self.run(input, output);
        Ok(())
    }

    /// Allocating convenience wrapper around [`Fir::process_valid`].
    pub fn process_valid_vec(&self, input: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0f32; self.valid_len(input.len())];
        self.run(input, &mut out);
        out
    }

    /// [`Fir::process_valid`] split over the rayon thread pool for long inputs. The result is
    /// bit-identical to [`Fir::process_valid`] on the same engine.
    pub fn process_valid_par(&self, input: &[f32], output: &mut [f32]) -> Result<()> {
        self.check_output(input, output)?;
        let n = output.len();
        let threads = rayon::current_num_threads();
        if n < PAR_MIN_OUTPUTS || threads < 2 {
            self.run(input, output);
            return Ok(());
        }
        // A few chunks per thread balance the load without shrinking chunks below L2-sized work.
        let chunk = n
            .div_ceil(threads * 4)
            .max(PAR_MIN_OUTPUTS / 2)
            .next_multiple_of(PAR_ALIGN);
        let l = self.taps.len();
        output
            .par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(c, out)| {
                let start = c * chunk;
                self.run(&input[start..start + out.len() + l - 1], out);
            });
        Ok(())
    }

    fn check_output(&self, input: &[f32], output: &[f32]) -> Result<()> {
        let expected = self.valid_len(input.len());
        if output.len() != expected {
            return Err(Error::LengthMismatch {
                what: "FIR output (input length - taps + 1)",
                expected,
                got: output.len(),
            });
        }
        Ok(())
    }

    /// Runs the engine's kernel; `output.len() == self.valid_len(input.len())` is checked by the callers.
    fn run(&self, input: &[f32], output: &mut [f32]) {
        if output.is_empty() {
            return;
        }
        match self.engine {
            FirEngine::Naive => naive::convolve_valid_into(input, &self.taps, output),
            FirEngine::Scalar => simd::correlate_valid_scalar(input, &self.reversed, output),
            FirEngine::Avx2Fma => simd::correlate_valid_avx2_fma(input, &self.reversed, output),
            FirEngine::Avx512 => simd::correlate_valid_avx512(input, &self.reversed, output),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_vec(rng: &mut ChaCha8Rng, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-scale..scale)).collect()
    }

    /// Worst-case f32 accumulation error of one output: L roundings of partial sums bounded by
    /// Σ|h|·max|x|, times a safety factor of 2.
    fn tolerance(x: &[f32], h: &[f32]) -> f64 {
        let max_x = x.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
        let sum_h: f64 = h.iter().map(|v| v.abs() as f64).sum();
        2.0 * sum_h * max_x * (h.len() as f64 + 1.0) * f32::EPSILON as f64 + f64::MIN_POSITIVE
    }

    fn check_against_naive(
        engine: FirEngine,
        x: &[f32],
        h: &[f32],
    ) -> std::result::Result<(), String> {
        let fir = Fir::with_engine(h, engine).map_err(|e| e.to_string())?;
        let reference = naive::convolve_valid(x, h);
        let mut y = vec![f32::NAN; fir.valid_len(x.len())];
        fir.process_valid(x, &mut y).map_err(|e| e.to_string())?;
        if y.len() != reference.len() {
            return Err(format!(
                "{engine}: length {} vs naive {}",
                y.len(),
                reference.len()
            ));
        }
        let tol = tolerance(x, h);
        for (i, (&a, &b)) in y.iter().zip(&reference).enumerate() {
            if (a as f64 - b).abs() > tol {
                return Err(format!(
                    "{engine}: output {i}: {a} vs naive {b} (tol {tol:e}, L {})",
                    h.len()
                ));
            }
        }
        Ok(())
    }

    #[test]
    fn naive_matches_hand_computed_numpy_example() {
        // numpy.convolve([1, 2, 3, 4, 5], [1, 0.5, 0.25], "valid") == [4.25, 6.0, 7.75]
        let y = naive::convolve_valid(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 0.5, 0.25]);
        assert_eq!(y, vec![4.25, 6.0, 7.75]);
        assert!(naive::convolve_valid(&[1.0], &[1.0, 2.0]).is_empty());
        assert!(naive::convolve_valid(&[1.0], &[]).is_empty());
    }

    #[test]
    fn engine_availability_is_consistent() {
        let available = FirEngine::available();
        assert!(available.contains(&FirEngine::Naive));
        assert!(available.contains(&FirEngine::Scalar));
        assert!(available.contains(&FirEngine::detect()));
        assert_ne!(FirEngine::detect(), FirEngine::Naive);
        for e in FirEngine::ALL {
            assert_eq!(available.contains(&e), e.is_available(), "{e}");
            let planned = Fir::with_engine(&[1.0, 2.0], e);
            assert_eq!(planned.is_ok(), e.is_available(), "{e}");
            assert_eq!(e.name().parse::<FirEngine>().unwrap(), e);
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.name()));
        }
        // An AVX-512 CPU also runs AVX2/FMA, so the best engine is the last available one.
        assert_eq!(*available.last().unwrap(), FirEngine::detect());
        println!(
            "FIR engines on this CPU: {available:?}, best {}",
            FirEngine::detect()
        );
    }

    #[test]
    fn bad_taps_and_lengths_are_typed_errors() {
        assert!(matches!(Fir::new(&[]), Err(Error::InvalidParameter { .. })));
        assert!(matches!(
            Fir::new(&vec![0.1; MAX_FIR_TAPS + 1]),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(Fir::new(&vec![0.1; MAX_FIR_TAPS]).is_ok());
        assert!(matches!(
            Fir::new(&[1.0, f32::NAN]),
            Err(Error::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            Fir::new(&[f32::INFINITY]),
            Err(Error::NonFinite { index: 0, .. })
        ));
        let fir = Fir::new(&[1.0, 2.0, 3.0]).unwrap();
        let mut out = vec![0.0; 7];
        assert!(matches!(
            fir.process_valid(&[0.0; 10], &mut out),
            Err(Error::LengthMismatch {
                expected: 8,
                got: 7,
                ..
            })
        ));
        assert!(matches!(
            fir.process_valid_par(&[0.0; 10], &mut out),
            Err(Error::LengthMismatch {
                expected: 8,
                got: 7,
                ..
            })
        ));
        // Shorter input than filter: zero outputs, not an error.
        assert_eq!(fir.valid_len(2), 0);
        assert_eq!(fir.valid_len(3), 1);
        assert!(fir.process_valid(&[1.0, 2.0], &mut []).is_ok());
        assert!(fir.process_valid_vec(&[]).is_empty());
    }

    #[test]
    fn every_engine_matches_naive_at_block_boundaries() {
        // Lengths around every kernel's block sizes (16, 8, 64, 128 outputs) and their tails.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for &taps in &[1usize, 2, 5, 15, 16, 17, 31, 33, 64, 129] {
            let h = random_vec(&mut rng, taps, 1.0);
            for outputs in (0..300).chain([383, 384, 385, 1000]) {
                // Every start offset within a 64-byte line (the AVX-512 kernel aligns its loads).
                let offset = outputs % 16;
                let x = random_vec(&mut rng, offset + outputs + taps - 1, 2.0);
                for e in FirEngine::available() {
                    check_against_naive(e, &x[offset..], &h).unwrap();
                }
            }
        }
    }

    #[test]
    fn fma_engines_agree_bit_for_bit() {
        // Same FMA sequence per output in both kernels (see simd.rs).
        if !FirEngine::Avx512.is_available() {
            println!("skipped: this CPU has no AVX-512");
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for &(n, taps) in &[(1000usize, 15usize), (4099, 31), (77, 5), (10_000, 80)] {
            let x = random_vec(&mut rng, n, 1.0);
            let h = random_vec(&mut rng, taps, 1.0);
            let a = Fir::with_engine(&h, FirEngine::Avx2Fma)
                .unwrap()
                .process_valid_vec(&x);
            let b = Fir::with_engine(&h, FirEngine::Avx512)
                .unwrap()
                .process_valid_vec(&x);
            assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
        }
    }

    #[test]
    fn parallel_is_bit_identical_to_serial() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // Odd lengths so the parallel chunks end in kernel tails.
        let x = random_vec(&mut rng, 3 * PAR_MIN_OUTPUTS + 12_345, 1.0);
        let h = random_vec(&mut rng, 15, 1.0);
        for e in FirEngine::available() {
            let fir = Fir::with_engine(&h, e).unwrap();
            let serial = fir.process_valid_vec(&x);
            let mut par = vec![0.0; serial.len()];
            fir.process_valid_par(&x, &mut par).unwrap();
            assert!(
                serial
                    .iter()
                    .zip(&par)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{e}: parallel result differs"
            );
        }
    }

    #[test]
    fn impulse_returns_the_taps() {
        // Convolution (not correlation) order: an impulse reproduces h[0], h[1], ...
        let h = [0.25f32, -1.0, 0.5, 2.0];
        let mut x = vec![0.0f32; 11];
        x[3] = 1.0;
        for e in FirEngine::available() {
            let y = Fir::with_engine(&h, e).unwrap().process_valid_vec(&x);
            assert_eq!(y, vec![0.25, -1.0, 0.5, 2.0, 0.0, 0.0, 0.0, 0.0], "{e}");
        }
    }

    #[test]
    fn non_finite_input_propagates_only_to_its_windows() {
        let h = [1.0f32; 3];
        let mut x = vec![1.0f32; 40];
        x[20] = f32::NAN;
        for e in FirEngine::available() {
            let y = Fir::with_engine(&h, e).unwrap().process_valid_vec(&x);
            for (i, v) in y.iter().enumerate() {
                assert_eq!(v.is_nan(), (18..=20).contains(&i), "{e} output {i}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn every_engine_matches_naive(seed in any::<u64>(), len in 0usize..5000, taps in 1usize..80, scale in 0.01f32..100.0, offset in 0usize..16) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let h = random_vec(&mut rng, taps, 1.0);
            let x = random_vec(&mut rng, len + offset, scale);
            for e in FirEngine::available() {
                if let Err(msg) = check_against_naive(e, &x[offset..], &h) {
                    prop_assert!(false, "{}", msg);
                }
            }
        }
    }
}
