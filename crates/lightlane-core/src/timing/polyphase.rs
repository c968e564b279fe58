//! Windowed-sinc interpolation at arbitrary positions from a polyphase table.

use super::interp::ui_positions;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Design of a [`PolyphaseResampler`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolyphaseConfig {
    /// Input samples each output combines (a multiple of 8 within 8..=64); half lie on each side.
    pub taps: usize,
    /// Fractional delays tabulated per input sample (2..=4096); between two of them the
    /// coefficients are interpolated linearly.
    pub phases: usize,
    /// Cut-off of the sinc as a fraction of the input Nyquist frequency (0 < cutoff ≤ 1). Below 1
    /// it leaves a transition band for the window; it also sets the anti-alias band when the
    /// output rate is lower than the input's.
    pub cutoff: f64,
    /// Kaiser window β (0..=30): larger gives a lower stop band and a wider transition band.
    pub kaiser_beta: f64,
}

impl Default for PolyphaseConfig {
    /// 16 taps, 256 phases, cut-off 0.85 of Nyquist, β = 8: flat within 1e-3 up to about
    /// 0.3 × the input rate (a band-limited scope capture at ≥ 3 samples per UI).
    fn default() -> Self {
        PolyphaseConfig {
            taps: 16,
            phases: 256,
            cutoff: 0.85,
            kaiser_beta: 8.0,
        }
    }
}

/// Band-limited interpolator: output at input position `p` is
/// `Σ_t x[⌊p⌋ − taps/2 + 1 + t] · h_φ[t]`, with `h_φ` the Kaiser-windowed sinc at fractional delay
/// `φ = p − ⌊p⌋`, interpolated linearly between the `phases + 1` tabulated delays and normalised
/// to unit DC gain. Planned once; [`PolyphaseResampler::process`] then costs `taps` multiply-adds
/// per output. Samples beyond the capture's ends repeat the end samples.
///
/// ```
/// use lightlane_core::timing::{PolyphaseConfig, PolyphaseResampler};
/// let x: Vec<f32> = (0..200).map(|i| (0.3 * i as f32).sin()).collect();
/// let r = PolyphaseResampler::new(&PolyphaseConfig::default()).unwrap();
/// let y = r.process_vec(&x, &[100.25, 100.5]).unwrap();
/// assert!((y[0] - (0.3f32 * 100.25).sin()).abs() < 1e-3);
/// ```
#[derive(Debug, Clone)]
pub struct PolyphaseResampler {
    config: PolyphaseConfig,
    /// Row `q` (0..=phases) holds the taps at fractional delay `q / phases`.
    rows: Vec<f32>,
    /// Row `q` (0..phases) holds `rows[q + 1] − rows[q]`.
    deltas: Vec<f32>,
}

/// Zeroth-order modified Bessel function of the first kind (power series; converges for the
/// arguments a Kaiser window uses).
fn bessel_i0(x: f64) -> f64 {
    let q = 0.25 * x * x;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..200 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}

impl PolyphaseResampler {
    /// Builds the table; errors name the out-of-range field.
    pub fn new(config: &PolyphaseConfig) -> Result<Self> {
        if !(8..=64).contains(&config.taps) || !config.taps.is_multiple_of(8) {
            return Err(Error::invalid("taps", config.taps, "must be a multiple of 8 within 8..=64"));
        }
        if !(2..=4096).contains(&config.phases) {
            return Err(Error::invalid("phases", config.phases, "must be within 2..=4096"));
        }
        if !(config.cutoff.is_finite() && config.cutoff > 0.0 && config.cutoff <= 1.0) {
            return Err(Error::invalid("cutoff", config.cutoff, "must be within (0, 1] of the input Nyquist frequency"));
        }
        if !(config.kaiser_beta.is_finite() && (0.0..=30.0).contains(&config.kaiser_beta)) {
            return Err(Error::invalid("kaiser_beta", config.kaiser_beta, "must be within 0..=30"));
        }
        let (taps, phases) = (config.taps, config.phases);
        let half = (taps / 2) as f64;
        let i0_beta = bessel_i0(config.kaiser_beta);
        let mut rows = vec![0f32; (phases + 1) * taps];
        for q in 0..=phases {
            let frac = q as f64 / phases as f64;
            let row = &mut rows[q * taps..(q + 1) * taps];
            let mut h = vec![0f64; taps];
            for (t, v) in h.iter_mut().enumerate() {
                // Tap t multiplies x[floor + t − half + 1]; its distance from the output point:
                let d = t as f64 - half + 1.0 - frac;
                let arg = std::f64::consts::PI * config.cutoff * d;
                let sinc = if d.abs() < 1e-12 { 1.0 } else { arg.sin() / arg };
                let u = d / half;
                let w = if u.abs() >= 1.0 {
                    bessel_i0(0.0) / i0_beta
                } else {
                    bessel_i0(config.kaiser_beta * (1.0 - u * u).sqrt()) / i0_beta
                };
                *v = sinc * w;
            }
            let sum: f64 = h.iter().sum();
            for (r, v) in row.iter_mut().zip(&h) {
                *r = (v / sum) as f32;
            }
        }
        let deltas = (0..phases * taps).map(|i| rows[i + taps] - rows[i]).collect();
        Ok(PolyphaseResampler {
            config: config.clone(),
            rows,
            deltas,
        })
    }

    /// The design this resampler was built from.
    pub fn config(&self) -> &PolyphaseConfig {
        &self.config
    }

    /// Interpolated value at one position (clamped to the capture).
    #[inline]
    pub fn at(&self, x: &[f32], pos: f64) -> f32 {
        self.kernel(x, pos)
    }

    /// Where the output at `pos` takes its inputs: the first input index (may lie outside the
    /// capture), the offset of its coefficient row and the weight of the next row.
    #[inline(always)]
    pub(crate) fn locate(&self, n: usize, pos: f64) -> (i64, usize, f32) {
        let phases = self.config.phases as i64;
        let pos = pos.clamp(0.0, n.saturating_sub(1) as f64);
        // pos ≥ 0: truncation is the floor.
        let i = pos as i64;
        let qf = (pos - i as f64) * phases as f64;
        let q = (qf as i64).min(phases - 1);
        let r = (qf - q as f64) as f32;
        (i - (self.config.taps / 2) as i64 + 1, q as usize * self.config.taps, r)
    }

    /// The coefficient rows and their differences (see the fields), and the tap count.
    #[inline(always)]
    pub(crate) fn table(&self) -> (&[f32], &[f32], usize) {
        (&self.rows, &self.deltas, self.config.taps)
    }

    /// The output at a located position near the ends, with the end samples repeated.
    #[inline(never)]
    pub(crate) fn edge_value(&self, x: &[f32], base: i64, offset: usize, r: f32) -> f32 {
        let taps = self.config.taps;
        let last = x.len() as i64 - 1;
        let mut acc = 0f32;
        for t in 0..taps {
            let k = (base + t as i64).clamp(0, last) as usize;
            acc += x[k] * (self.rows[offset + t] + r * self.deltas[offset + t]);
        }
        acc
    }

    #[inline(always)]
    fn kernel(&self, x: &[f32], pos: f64) -> f32 {
        let n = x.len();
        if n == 0 {
            return 0.0;
        }
        let taps = self.config.taps;
        let (base, offset, r) = self.locate(n, pos);
        if base >= 0 && base as usize + taps <= n {
            let base = base as usize;
            dot_lerp(&x[base..base + taps], &self.rows[offset..offset + taps], &self.deltas[offset..offset + taps], r)
        } else {
            self.edge_value(x, base, offset, r)
        }
    }

    /// The loop of [`process_ui`](Self::process_ui) (and of [`process`](Self::process) with
    /// `sps_out = 1`) for a non-empty `x` and a sized `out`; inlined into each instruction-set
    /// version.
    #[inline(always)]
    pub(crate) fn ui_loop(&self, x: &[f32], positions: &[f64], sps_out: usize, out: &mut [f32]) {
        if sps_out == 1 {
            for (o, &p) in out.iter_mut().zip(positions) {
                *o = self.kernel(x, p);
            }
        } else {
            for (o, p) in out.iter_mut().zip(ui_positions(positions, sps_out)) {
                *o = self.kernel(x, p);
            }
        }
    }

    fn check(x: &[f32], positions: &[f64]) -> Result<()> {
        if x.is_empty() {
            return Err(Error::InputTooShort {
                what: "samples to resample",
                needed: 1,
                got: 0,
            });
        }
        if let Some(i) = positions.iter().position(|p| !p.is_finite()) {
            return Err(Error::NonFinite {
                what: "resampling positions",
                index: i,
                value: positions[i],
            });
        }
        Ok(())
    }

    /// One output per position (fractional input-sample indices, any order) into `out`.
    pub fn process(&self, x: &[f32], positions: &[f64], out: &mut [f32]) -> Result<()> {
        Self::check(x, positions)?;
        if out.len() != positions.len() {
            return Err(Error::LengthMismatch {
                what: "polyphase output",
                expected: positions.len(),
                got: out.len(),
            });
        }
        super::simd::polyphase_ui(self, x, positions, 1, out);
        Ok(())
    }

    /// Allocating convenience wrapper around [`PolyphaseResampler::process`].
    pub fn process_vec(&self, x: &[f32], positions: &[f64]) -> Result<Vec<f32>> {
        let mut out = vec![0f32; positions.len()];
        self.process(x, positions, &mut out)?;
        Ok(out)
    }

    /// Like [`resample_at`](super::resample_at) (`sps_out` points per UI between consecutive
    /// symbol positions) with this interpolator instead of the cubic; `out` holds
    /// `positions.len() · sps_out` samples.
    pub fn process_ui(&self, x: &[f32], positions: &[f64], sps_out: usize, out: &mut [f32]) -> Result<()> {
        Self::check(x, positions)?;
        if !(1..=64).contains(&sps_out) {
            return Err(Error::invalid("sps_out", sps_out, "must be 1..=64"));
        }
        let expected = positions.len() * sps_out;
        if out.len() != expected {
            return Err(Error::LengthMismatch {
                what: "polyphase output",
                expected,
                got: out.len(),
            });
        }
        super::simd::polyphase_ui(self, x, positions, sps_out, out);
        Ok(())
    }

    /// Allocating convenience wrapper around [`PolyphaseResampler::process_ui`].
    pub fn process_ui_vec(&self, x: &[f32], positions: &[f64], sps_out: usize) -> Result<Vec<f32>> {
        let mut out = vec![0f32; positions.len() * sps_out.min(64)];
        self.process_ui(x, positions, sps_out, &mut out)?;
        Ok(out)
    }
}

/// `Σ x[t]·(row[t] + r·delta[t])` with eight independent accumulators (taps are a multiple of 8),
/// which the compiler keeps in one vector register.
#[inline(always)]
fn dot_lerp(x: &[f32], row: &[f32], delta: &[f32], r: f32) -> f32 {
    let mut acc = [0f32; 8];
    for ((xs, hs), ds) in x.chunks_exact(8).zip(row.chunks_exact(8)).zip(delta.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += xs[l] * (hs[l] + r * ds[l]);
        }
    }
    let a = [acc[0] + acc[4], acc[1] + acc[5], acc[2] + acc[6], acc[3] + acc[7]];
    (a[0] + a[2]) + (a[1] + a[3])
}

#[cfg(test)]
mod tests {
    use super::super::interp::cubic_at;
    use super::*;
    use std::f64::consts::PI;

    /// A sum of tones below `fmax` (cycles per sample): exactly band-limited, known everywhere.
    fn tones(fmax: f64) -> impl Fn(f64) -> f64 {
        move |t: f64| {
            (0..6)
                .map(|k| {
                    let f = fmax * (k as f64 + 1.0) / 6.0;
                    (0.5 / (k as f64 + 1.0)) * (2.0 * PI * f * t + k as f64).sin()
                })
                .sum()
        }
    }

    /// Naive windowed sinc (no table, no interpolation between phases): the oracle of the table.
    fn naive(x: &[f32], pos: f64, c: &PolyphaseConfig) -> f64 {
        let half = (c.taps / 2) as isize;
        let i = pos.floor() as isize;
        let mut num = 0.0;
        let mut den = 0.0;
        for k in (i - half + 1)..=(i + half) {
            let d = k as f64 - pos;
            let arg = PI * c.cutoff * d;
            let sinc = if d.abs() < 1e-12 { 1.0 } else { arg.sin() / arg };
            let u = d / half as f64;
            let w = if u.abs() >= 1.0 { 1.0 } else { bessel_i0(c.kaiser_beta * (1.0 - u * u).sqrt()) } / bessel_i0(c.kaiser_beta);
            num += x[k.clamp(0, x.len() as isize - 1) as usize] as f64 * sinc * w;
            den += sinc * w;
        }
        num / den
    }

    #[test]
    fn table_matches_naive_windowed_sinc() {
        let f = tones(0.3);
        let x: Vec<f32> = (0..400).map(|i| f(i as f64) as f32).collect();
        let c = PolyphaseConfig { phases: 4096, ..Default::default() };
        let r = PolyphaseResampler::new(&c).unwrap();
        // Every position, the ends included (edge path), through the single-point kernel and the
        // vectorised loop.
        let positions: Vec<f64> = (0..560).map(|k| -1.0 + k as f64 * 0.7131).collect();
        let looped = r.process_vec(&x, &positions).unwrap();
        for (&p, &v) in positions.iter().zip(&looped) {
            let want = naive(&x, p.clamp(0.0, 399.0), &c);
            assert!((r.at(&x, p) as f64 - want).abs() < 2e-5, "p={p}");
            assert!((v as f64 - want).abs() < 2e-5, "p={p}");
        }
        // At integer positions with a full cut-off the table is the identity.
        let r = PolyphaseResampler::new(&PolyphaseConfig { cutoff: 1.0, ..Default::default() }).unwrap();
        for i in 10..30 {
            assert!((r.at(&x, i as f64) - x[i]).abs() < 1e-6);
        }
    }

    #[test]
    fn polyphase_beats_cubic_on_band_limited_signal() {
        // Tones up to 0.3 cycles/sample (3.3 samples per period at the top): the windowed sinc
        // stays within 2e-3 of the exact signal, Keys' cubic errs by a few percent.
        let f = tones(0.3);
        let x: Vec<f32> = (0..4000).map(|i| f(i as f64) as f32).collect();
        let r = PolyphaseResampler::new(&PolyphaseConfig::default()).unwrap();
        let positions: Vec<f64> = (0..3000).map(|k| 100.0 + k as f64 * 1.2345).collect();
        let y = r.process_vec(&x, &positions).unwrap();
        let (mut e_poly, mut e_cubic) = (0f64, 0f64);
        for (v, &p) in y.iter().zip(&positions) {
            e_poly = e_poly.max((*v as f64 - f(p)).abs());
            e_cubic = e_cubic.max((cubic_at(&x, p) as f64 - f(p)).abs());
        }
        assert!(e_poly < 2e-3, "polyphase max error {e_poly}");
        assert!(e_cubic > 10.0 * e_poly, "cubic {e_cubic} vs polyphase {e_poly}");
        // process_ui equals process at the expanded grid.
        let sym: Vec<f64> = (0..100).map(|k| 50.0 + 3.7 * k as f64).collect();
        let ui = r.process_ui_vec(&x, &sym, 2).unwrap();
        for (m, v) in ui.iter().enumerate() {
            let k = m / 2;
            let p = sym[k] + if m % 2 == 1 { 1.85 } else { 0.0 };
            assert!((v - r.at(&x, p)).abs() < 1e-6);
        }
    }

    #[test]
    fn rejects_bad_design_and_input() {
        for c in [
            PolyphaseConfig { taps: 12, ..Default::default() },
            PolyphaseConfig { taps: 0, ..Default::default() },
            PolyphaseConfig { phases: 1, ..Default::default() },
            PolyphaseConfig { cutoff: 0.0, ..Default::default() },
            PolyphaseConfig { cutoff: f64::NAN, ..Default::default() },
            PolyphaseConfig { kaiser_beta: -1.0, ..Default::default() },
        ] {
            assert!(matches!(PolyphaseResampler::new(&c), Err(Error::InvalidParameter { .. })), "{c:?}");
        }
        let r = PolyphaseResampler::new(&PolyphaseConfig::default()).unwrap();
        assert!(matches!(r.process_vec(&[], &[1.0]), Err(Error::InputTooShort { .. })));
        assert!(matches!(r.process_vec(&[1.0; 4], &[f64::NAN]), Err(Error::NonFinite { .. })));
        assert!(matches!(r.process(&[1.0; 4], &[1.0], &mut []), Err(Error::LengthMismatch { .. })));
        assert!(r.process_ui_vec(&[1.0; 4], &[1.0], 0).is_err());
        // Ends repeat the end samples: a constant stays constant everywhere.
        let y = r.process_vec(&[2.0; 5], &[0.0, 0.3, 4.0, 9.0, -3.0]).unwrap();
        assert!(y.iter().all(|v| (v - 2.0).abs() < 1e-5), "{y:?}");
    }
}
