//! The naive FIR reference: one output at a time, accumulated in f64.
//!
//! This is the oracle every fast engine is tested against. It is slow on purpose: no blocking,
//! no SIMD, no reordering, and products of two f32 values are exact in f64, so its only rounding
//! is the f64 summation.

/// `numpy.convolve(x, h, "valid")` in f64: `y[i] = Σ_k h[k] · x[i + L-1 - k]`, `L = h.len()`,
/// for `i in 0..x.len() - L + 1`.
///
/// Returns an empty vector when `h` is empty or `x` is shorter than `h` (numpy raises for an
/// empty `h`; lightlane's [`Fir`](super::Fir) rejects empty taps at construction instead).
///
/// ```
/// use lightlane_core::filter::naive::convolve_valid;
/// assert_eq!(convolve_valid(&[1.0, 2.0, 3.0, 4.0], &[1.0, -1.0]), vec![1.0, 1.0, 1.0]);
/// ```
pub fn convolve_valid(x: &[f32], h: &[f32]) -> Vec<f64> {
    let l = h.len();
    if l == 0 || x.len() < l {
        return Vec::new();
    }
    (0..x.len() - l + 1)
        .map(|i| {
            h.iter()
                .enumerate()
                .map(|(k, &hk)| hk as f64 * x[i + l - 1 - k] as f64)
                .sum::<f64>()
        })
        .collect()
}

/// The [`FirEngine::Naive`](super::FirEngine::Naive) kernel: [`convolve_valid`] written into a
/// caller-owned f32 buffer (each output rounded once from its f64 sum).
///
/// `x.len()` must equal `y.len() + h.len() - 1`; the caller ([`Fir`](super::Fir)) checks it.
pub(crate) fn convolve_valid_into(x: &[f32], h: &[f32], y: &mut [f32]) {
    let l = h.len();
    debug_assert_eq!(x.len() + 1, y.len() + l);
    for (i, out) in y.iter_mut().enumerate() {
        let window = &x[i..i + l];
        let mut acc = 0.0f64;
        for (k, &hk) in h.iter().enumerate() {
            acc += hk as f64 * window[l - 1 - k] as f64;
        }
        *out = acc as f32;
    }
}
