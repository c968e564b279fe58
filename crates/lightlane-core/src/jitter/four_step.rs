//! Power spectrum of a long real signal on the rayon pool: the four-step (Bailey) FFT.
//!
//! A length `N = n1·n2` transform is `n2` FFTs of length `n1` (the columns of the `n1 × n2`
//! row-major input, gathered into rows), a twiddle `exp(−2πi·j2·k1/N)` per element, `n1` FFTs of
//! length `n2` (again columns gathered into rows), and a transpose to the natural order. Every
//! row transform is one of rustfft's small plans (about √N points, cheap to plan, unlike the
//! N-point plan whose twiddle table is N sin/cos), and rows are independent, so the work spreads
//! over the pool in fixed blocks of rows: the result does not depend on the thread count. The
//! twiddles come from two tables of about √N entries ([`Twiddles`]).
//!
//! A real input of even length `n` is packed in pairs (`x[2r] + i·x[2r+1]`) into one complex
//! FFT of `n/2` points and untangled by the real-input split (as in `timing::realfft`); only the
//! power `|X[k]|²` of the bins `k < n/2` is kept, which is all the PJ search needs. The result
//! equals rustfft's full-length transform to rounding (the tests bound the difference by
//! `1e-12 · max power · log2 n`), not bit for bit.

use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::f64::consts::PI;
use std::sync::Arc;

type C64 = Complex<f64>;

/// Rows per task of the gathers, row FFTs and transposes: 16 complex values (256 bytes) of each
/// source row are read together.
const ROWS_PER_TASK: usize = 16;
/// Elements per task of the elementwise passes (packing, split).
const CHUNK: usize = 1 << 14;

/// `exp(−2πi·p/len)` for `0 ≤ p < len` as the product of two table entries, `p = hi·2^b + lo`
/// with `2^b ≥ √len`: about `2√len` sin/cos instead of `len`, each entry accurate to an ulp or
/// two, so a product is within about 4e-16 of the exact value.
pub(crate) struct Twiddles {
    bits: u32,
    hi: Vec<C64>,
    lo: Vec<C64>,
}

impl Twiddles {
    /// The tables for `len` (≥ 1).
    pub(crate) fn new(len: usize) -> Self {
        let len = len.max(1);
        let bits = (usize::BITS - (len - 1).leading_zeros()).div_ceil(2);
        let step = 1usize << bits;
        // The angle reduced to [−π, π] (q − 1 is exact for q in [½, 1]) keeps sin/cos accurate.
        let unit = |p: usize| {
            let mut q = p as f64 / len as f64;
            if q > 0.5 {
                q -= 1.0;
            }
            let (s, c) = (-2.0 * PI * q).sin_cos();
            C64::new(c, s)
        };
        Twiddles {
            bits,
            lo: (0..step).map(unit).collect(),
            hi: (0..len.div_ceil(step)).map(|h| unit(h * step)).collect(),
        }
    }

    /// `exp(−2πi·p/len)`, `p < len`.
    #[inline]
    pub(crate) fn get(&self, p: usize) -> C64 {
        self.hi[p >> self.bits] * self.lo[p & ((1usize << self.bits) - 1)]
    }
}

/// The divisor of `len` nearest below √len (1 for a prime): the row length of the first pass.
fn balanced_factor(len: usize) -> usize {
    let mut d = (len as f64).sqrt() as usize;
    while d * d > len {
        d -= 1;
    }
    while d > 1 && !len.is_multiple_of(d) {
        d -= 1;
    }
    d.max(1)
}

/// A forward complex FFT of one length by the four-step algorithm, planned once.
pub(crate) struct FourStepFft {
    n1: usize,
    n2: usize,
    fft1: Arc<dyn Fft<f64>>,
    fft2: Arc<dyn Fft<f64>>,
    twiddles: Twiddles,
}

impl FourStepFft {
    /// The plan for length `len` (≥ 1); `len = n1·n2` with `n1` the divisor nearest below √len
    /// (a length without one, a prime, becomes a single row transform).
    pub(crate) fn new(len: usize) -> Self {
        let len = len.max(1);
        let n1 = balanced_factor(len);
        let n2 = len / n1;
        let mut planner = FftPlanner::new();
        FourStepFft {
            n1,
            n2,
            fft1: planner.plan_fft_forward(n1),
            fft2: planner.plan_fft_forward(n2),
            twiddles: Twiddles::new(len),
        }
    }

    /// Transforms `data` (its length is the plan's) in place; `work` is scratch of any length,
    /// resized here.
    ///
    /// Panics when `data.len()` differs from the plan's length (a programming error: the only
    /// caller sizes it from the plan).
    pub(crate) fn process(&self, data: &mut Vec<C64>, work: &mut Vec<C64>) {
        let (n1, n2) = (self.n1, self.n2);
        assert_eq!(data.len(), n1 * n2, "four-step FFT input length");
        if work.len() != n1 * n2 {
            // Written on the pool (a serial fill would fault the pages in on the calling thread).
            work.clear();
            work.par_extend(rayon::iter::repeat_n(C64::default(), n1 * n2));
        }
        // x[j1·n2 + j2]: column j2 → row j2 of `work`, transformed over j1, twiddled by j2·k1.
        columns_to_rows(data, n1, n2, work, Some(&*self.fft1), Some(&self.twiddles));
        // Column k1 of `work` (n2 × n1) → row k1 of `data`, transformed over j2:
        // data[k1·n2 + k2] = X[k1 + n1·k2].
        columns_to_rows(work, n2, n1, data, Some(&*self.fft2), None);
        // Natural order: work[k2·n1 + k1] = data[k1·n2 + k2].
        columns_to_rows(data, n1, n2, work, None, None);
        std::mem::swap(data, work);
    }
}

/// Row `c` of `dst` (`cols` rows of `rows` values) = column `c` of `src` (`rows × cols`,
/// row-major); then each row is transformed by `fft` (length `rows`) when given, and its element
/// `k` multiplied by `twiddles.get(c·k)` when given. In tasks of [`ROWS_PER_TASK`] destination rows; every row is computed alike whatever
/// the thread count.
fn columns_to_rows(src: &[C64], rows: usize, cols: usize, dst: &mut [C64], fft: Option<&dyn Fft<f64>>, twiddles: Option<&Twiddles>) {
    debug_assert_eq!(src.len(), rows * cols);
    debug_assert_eq!(dst.len(), rows * cols);
    let scratch_len = fft.map_or(0, |f| f.get_inplace_scratch_len());
    dst.par_chunks_mut(rows * ROWS_PER_TASK).enumerate().for_each_init(
        || vec![C64::default(); scratch_len],
        |scratch, (task, out)| {
            let c0 = task * ROWS_PER_TASK;
            let nb = out.len() / rows;
            for r in 0..rows {
                let seg = &src[r * cols + c0..r * cols + c0 + nb];
                for (i, &v) in seg.iter().enumerate() {
                    out[i * rows + r] = v;
                }
            }
            if let Some(fft) = fft {
                fft.process_with_scratch(out, scratch);
            }
            let Some(twiddles) = twiddles else { return };
            for (i, row) in out.chunks_exact_mut(rows).enumerate() {
                let c = c0 + i;
                for (k, v) in row.iter_mut().enumerate() {
                    *v *= twiddles.get(c * k);
                }
            }
        },
    );
}

/// `|X[k]|²` for `k < n/2` (floor), where `X` is the DFT of the real sequence `x(0..n)`
/// (`x` is evaluated once per index, on the pool). Even `n`: one four-step FFT of `n/2` points
/// on the packed pairs and the real-input split; odd `n`: a four-step FFT of `n` points.
/// Equal to the power of rustfft's `n`-point transform to rounding; independent of the thread
/// count.
pub(crate) fn real_power_spectrum(n: usize, x: impl Fn(usize) -> f64 + Sync) -> Vec<f64> {
    let half = n / 2;
    let mut power = Vec::new();
    if half == 0 {
        return power;
    }
    let mut work = Vec::new();
    if n % 2 == 1 {
        let fft = FourStepFft::new(n);
        let mut data = Vec::new();
        (0..n).into_par_iter().with_min_len(CHUNK).map(|i| C64::new(x(i), 0.0)).collect_into_vec(&mut data);
        fft.process(&mut data, &mut work);
        data[..half].par_iter().with_min_len(CHUNK).map(|c| c.norm_sqr()).collect_into_vec(&mut power);
        super::free_on_pool((data, work));
        return power;
    }
    let fft = FourStepFft::new(half);
    let mut z = Vec::new();
    (0..half).into_par_iter().with_min_len(CHUNK).map(|r| C64::new(x(2 * r), x(2 * r + 1))).collect_into_vec(&mut z);
    fft.process(&mut z, &mut work);
    super::free_on_pool(work);
    // X[k] = E[k] + e^{−2πik/n}·O[k], E = (Z[k] + Z*[N−k])/2, O = (Z[k] − Z*[N−k])/2i.
    let split = Twiddles::new(n);
    let packed = &z;
    (0..half)
        .into_par_iter()
        .with_min_len(CHUNK)
        .map(|k| {
            let a = packed[k];
            let b = packed[(half - k) % half].conj();
            let e = (a + b) * 0.5;
            let d = (a - b) * 0.5;
            let o = C64::new(d.im, -d.re);
            (e + split.get(k) * o).norm_sqr()
        })
        .collect_into_vec(&mut power);
    super::free_on_pool(z);
    power
}

/// Naive reference: the power of rustfft's full `n`-point complex transform, bins `k < n/2`.
#[cfg(test)]
pub(crate) fn real_power_spectrum_reference(n: usize, x: impl Fn(usize) -> f64) -> Vec<f64> {
    let mut buf: Vec<C64> = (0..n).map(|i| C64::new(x(i), 0.0)).collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    buf[..n / 2].iter().map(|c| c.norm_sqr()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(s: &mut u64) -> f64 {
        *s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (*s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    #[test]
    fn twiddles_match_direct_sin_cos() {
        for len in [1usize, 2, 3, 7, 64, 1000, 1 << 20, 3 * 5 * 7 * 11 * 13 * 17] {
            let t = Twiddles::new(len);
            for p in (0..len).step_by((len / 997).max(1)).chain([len - 1]) {
                let (s, c) = (-2.0 * PI * p as f64 / len as f64).sin_cos();
                let w = t.get(p);
                assert!((w.re - c).abs() <= 2e-15 && (w.im - s).abs() <= 2e-15, "{len} {p}: {w} vs {c} {s}");
            }
        }
    }

    #[test]
    fn four_step_fft_equals_rustfft_full_plan() {
        // Balanced, lopsided and prime lengths, odd factors included.
        for len in [1usize, 2, 12, 97, 1024, 2 * 3 * 5 * 7 * 11, 3usize.pow(7) * 5, 5usize.pow(6) * 4, 65_536, 40_000] {
            let mut s = len as u64;
            let x: Vec<C64> = (0..len).map(|_| C64::new(lcg(&mut s), lcg(&mut s))).collect();
            let mut fast = x.clone();
            FourStepFft::new(len).process(&mut fast, &mut Vec::new());
            let mut want = x;
            FftPlanner::new().plan_fft_forward(len).process(&mut want);
            let scale = want.iter().fold(0f64, |m, c| m.max(c.norm()));
            let tol = 1e-14 * scale * (len as f64).log2().max(1.0);
            for (k, (a, b)) in fast.iter().zip(&want).enumerate() {
                assert!((a - b).norm() <= tol, "{len} bin {k}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn real_power_spectrum_equals_the_full_transform() {
        // Even and odd 5-smooth lengths (the PJ grid's), a prime, and tiny ones.
        for n in [1usize, 2, 3, 5, 64, 2 * 3usize.pow(9) * 5, 3usize.pow(10) * 5, 5usize.pow(7) * 2, 1 << 17, 17 * 3 * 1031, 65_537] {
            let mut s = 7 + n as u64;
            let v: Vec<f64> = (0..n).map(|_| lcg(&mut s)).collect();
            // A tone on noise, with zero padding at the end as in the PJ search.
            let m = n - n / 7;
            let x = |i: usize| if i < m { v[i] + (0.01 * i as f64).sin() } else { 0.0 };
            let fast = real_power_spectrum(n, x);
            let want = real_power_spectrum_reference(n, x);
            assert_eq!(fast.len(), want.len());
            let max = want.iter().fold(0f64, |a, &b| a.max(b));
            let tol = 1e-12 * max * (n as f64).log2().max(1.0);
            for (k, (a, b)) in fast.iter().zip(&want).enumerate() {
                assert!((a - b).abs() <= tol, "{n} bin {k}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn real_power_spectrum_does_not_depend_on_the_thread_count() {
        let n = 2 * 3usize.pow(8) * 25;
        let mut s = 3u64;
        let v: Vec<f64> = (0..n).map(|_| lcg(&mut s)).collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| real_power_spectrum(n, |i| v[i])).iter().map(|p| p.to_bits()).collect::<Vec<u64>>()
        };
        assert_eq!(run(1), run(3));
    }
}
