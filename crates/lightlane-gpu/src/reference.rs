//! CPU reference of the canonical eye histogram (EYE_HIST_SPEC), the oracle of the GPU kernel's
//! conformance test. `lightlane_core::eye` implements the same algorithm; after the merge the
//! conformance test also runs against it.

use lightlane_core::{Error, Result};

/// Geometry of an eye histogram.
///
/// `y` is sampled on the recovered clock at `samples_per_ui` (S) per UI with sample 0 at the
/// left edge of the display window; the window spans `span_ui` (U ∈ {1, 2}) UI in
/// `time_bins` (B) columns and `[lo, hi)` in `amp_bins` (A) rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EyeGeometry {
    /// S ≥ 1.
    pub samples_per_ui: usize,
    /// U ∈ {1, 2}.
    pub span_ui: usize,
    /// B, a multiple of S·U, at most 4096, with B / (S·U) ≤ 1024.
    pub time_bins: usize,
    /// A, 1 ..= 1024.
    pub amp_bins: usize,
    /// Lower amplitude edge (finite).
    pub lo: f32,
    /// Upper amplitude edge (finite, > lo).
    pub hi: f32,
}

impl EyeGeometry {
    /// Checks the geometry; returns the number of bins A·B.
    pub fn bins(&self) -> Result<usize> {
        let (s, u, b, a) = (self.samples_per_ui, self.span_ui, self.time_bins, self.amp_bins);
        if s == 0 || s > 4096 {
            return Err(Error::invalid("samples_per_ui", s, "need 1..=4096"));
        }
        if !(u == 1 || u == 2) {
            return Err(Error::invalid("span_ui", u, "need 1 or 2"));
        }
        if b == 0 || b > 4096 || b % (s * u) != 0 || b / (s * u) > 1024 {
            return Err(Error::invalid(
                "time_bins",
                b,
                "need 1..=4096, a multiple of samples_per_ui * span_ui, at most 1024 columns per sample",
            ));
        }
        if a == 0 || a > 1024 {
            return Err(Error::invalid("amp_bins", a, "need 1..=1024"));
        }
        if !(self.lo.is_finite() && self.hi.is_finite() && self.hi > self.lo && (self.hi - self.lo).is_finite()) {
            return Err(Error::invalid("amplitude range", format!("[{}, {})", self.lo, self.hi), "need finite lo < hi"));
        }
        Ok(a * b)
    }

    /// P = S·U, samples per display period.
    pub fn period(&self) -> usize {
        self.samples_per_ui * self.span_ui
    }

    /// m = B / P, columns per sample interval.
    pub fn columns_per_sample(&self) -> usize {
        self.time_bins / self.period()
    }

    /// s256 = (A / (hi − lo)) · 256, in f32 exactly as the spec writes it.
    pub fn s256(&self) -> f32 {
        (self.amp_bins as f32 / (self.hi - self.lo)) * 256.0
    }

    /// q = floor((y − lo)·s256) clamped to [−256A, 512A] as i32; NaN → −256A.
    pub fn quantize(&self, y: f32) -> i32 {
        let lim = (self.amp_bins * 256) as f32;
        let f = ((y - self.lo) * self.s256()).floor();
        if f.is_nan() {
            return -((self.amp_bins * 256) as i32);
        }
        f.clamp(-lim, 2.0 * lim) as i32
    }
}

/// The canonical histogram, naive: `A·B` counts, row-major (row 0 = `lo`).
pub fn eye_histogram(y: &[f32], geom: &EyeGeometry) -> Result<Vec<u32>> {
    let mut h = vec![0u32; geom.bins()?];
    eye_histogram_accumulate(y, 0, geom, &mut h)?;
    Ok(h)
}

/// Adds the histogram of `y` (whose first sample has stream index `k0`) to `hist`.
pub fn eye_histogram_accumulate(y: &[f32], k0: u64, geom: &EyeGeometry, hist: &mut [u32]) -> Result<()> {
    let bins = geom.bins()?;
    if hist.len() != bins {
        return Err(Error::LengthMismatch {
            what: "eye histogram",
            expected: bins,
            got: hist.len(),
        });
    }
    let p = geom.period() as u64;
    let m = geom.columns_per_sample() as i32;
    let (a_bins, b_bins) = (geom.amp_bins as i32, geom.time_bins);
    for k in 0..y.len().saturating_sub(1) {
        let qa = geom.quantize(y[k]);
        let qb = geom.quantize(y[k + 1]);
        let c0 = ((k0 + k as u64) % p) as usize * m as usize;
        for j in 0..m {
            let a = qa + ((qb - qa) * j).div_euclid(m);
            let r = a >> 8;
            if (0..a_bins).contains(&r) {
                let idx = r as usize * b_bins + c0 + j as usize;
                hist[idx] = hist[idx].wrapping_add(1);
            }
        }
    }
    Ok(())
}
