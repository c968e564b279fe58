//! Transmit jitter: random (Gaussian) and sinusoidal displacement of every symbol boundary.

use super::noise::{GaussianStream, STREAM_JITTER};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Largest random-jitter deviate in units of its rms (Box-Muller from 53-bit uniforms, see
/// [`Jitter`]).
pub(crate) const RJ_MAX_SIGMAS: f64 = 8.58;
/// Offset that maps (possibly negative) edge indices to non-negative RNG positions.
const EDGE_INDEX_BASE: i128 = 1 << 62;

/// Transmit jitter applied to the symbol boundaries ("edges").
///
/// Edge `k` is the leading boundary of symbol `k`, at nominal time
/// `t_k = first_symbol_time + (k − ½)/baud`. It is displaced by
/// `j_k = rj_rms_ui · g_k + sj_amplitude_ui · sin(2π · sj_frequency_hz · t_k)` UI, where `g_k` is a
/// standard normal deviate that depends only on the seed and `k` (so changing the channel, noise
/// or sample rate does not change the jitter), bounded by |g_k| ≤ 8.58. Edges are kept in order: an
/// edge that jitter would push before its predecessor is placed on it (a zero-width symbol).
/// Every boundary is displaced, including those without a transition (where it has no effect).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Jitter {
    /// Random jitter, rms, in UI (0..=0.5).
    pub rj_rms_ui: f64,
    /// Sinusoidal jitter amplitude (peak, not peak-to-peak), in UI (0..=10⁴).
    pub sj_amplitude_ui: f64,
    /// Sinusoidal jitter frequency in Hz (0..=baud/2).
    pub sj_frequency_hz: f64,
}

impl Jitter {
    /// No jitter.
    pub fn none() -> Self {
        Jitter::default()
    }

    /// True when no edge is displaced.
    pub fn is_none(&self) -> bool {
        self.rj_rms_ui == 0.0 && (self.sj_amplitude_ui == 0.0 || self.sj_frequency_hz == 0.0)
    }

    /// Checks the ranges; errors name the field (`jitter.rj_rms_ui`, ...).
    pub fn validate(&self, baud: f64) -> Result<()> {
        if !(self.rj_rms_ui.is_finite() && (0.0..=0.5).contains(&self.rj_rms_ui)) {
            return Err(Error::invalid("jitter.rj_rms_ui", self.rj_rms_ui, "must be finite, within 0..=0.5 UI"));
        }
        if !(self.sj_amplitude_ui.is_finite() && (0.0..=1e4).contains(&self.sj_amplitude_ui)) {
            return Err(Error::invalid(
                "jitter.sj_amplitude_ui",
                self.sj_amplitude_ui,
                "must be finite, within 0..=10000 UI",
            ));
        }
        if !(self.sj_frequency_hz.is_finite() && self.sj_frequency_hz >= 0.0 && self.sj_frequency_hz <= 0.5 * baud) {
            return Err(Error::invalid(
                "jitter.sj_frequency_hz",
                self.sj_frequency_hz,
                "must be finite, within 0..=baud/2",
            ));
        }
        Ok(())
    }

    /// Upper bound of |j_k| in UI.
    pub(crate) fn bound_ui(&self) -> f64 {
        RJ_MAX_SIGMAS * self.rj_rms_ui + self.sj_amplitude_ui
    }
}

/// Edge positions in fine-grid cells: `pos(k) = os · (k + j_k)`, the grid origin being the nominal
/// position of edge 0.
#[derive(Debug, Clone)]
pub(crate) struct EdgeTable {
    os: f64,
    k_lo: i64,
    /// Displacements of edges `k_lo..` in UI; empty when there is no jitter.
    jitter_ui: Vec<f32>,
    /// Bound of |j_k| in UI.
    bound_ui: f64,
}

impl EdgeTable {
    /// Undisplaced edges (valid for every k).
    pub fn nominal(os: usize) -> Self {
        EdgeTable {
            os: os as f64,
            k_lo: 0,
            jitter_ui: Vec::new(),
            bound_ui: 0.0,
        }
    }

    /// Displaced edges `k_lo..=k_hi` (caller bounds the count).
    pub fn generate(jitter: &Jitter, baud: f64, first_symbol_time: f64, seed: u64, os: usize, k_lo: i64, k_hi: i64) -> Self {
        if jitter.is_none() || k_hi < k_lo {
            return EdgeTable::nominal(os);
        }
        let count = (k_hi - k_lo + 1) as usize;
        let mut g = GaussianStream::new(seed, STREAM_JITTER, (k_lo as i128 + EDGE_INDEX_BASE) as u128);
        let w = 2.0 * std::f64::consts::PI * jitter.sj_frequency_hz;
        let mut out = Vec::with_capacity(count);
        let mut prev_edge = f64::NEG_INFINITY;
        for i in 0..count {
            let k = k_lo + i as i64;
            let (z, _) = g.next_pair();
            let t = first_symbol_time + (k as f64 - 0.5) / baud;
            let j = jitter.rj_rms_ui * z + jitter.sj_amplitude_ui * (w * t).sin();
            // Keep the edges in order (in UI relative to edge k_lo, for precision).
            let edge = (i as f64 + j).max(prev_edge);
            prev_edge = edge;
            out.push((edge - i as f64) as f32);
        }
        EdgeTable {
            os: os as f64,
            k_lo,
            jitter_ui: out,
            bound_ui: jitter.bound_ui(),
        }
    }

    /// Displacement of edge `k` in UI (0 outside a generated table or without jitter).
    #[inline]
    pub fn jitter_ui(&self, k: i64) -> f32 {
        if self.jitter_ui.is_empty() {
            return 0.0;
        }
        let i = k - self.k_lo;
        if i < 0 {
            return 0.0;
        }
        self.jitter_ui.get(i as usize).copied().unwrap_or(0.0)
    }

    /// Position of edge `k` in cells.
    #[inline]
    pub fn pos(&self, k: i64) -> f64 {
        if self.jitter_ui.is_empty() {
            self.os * k as f64
        } else {
            self.os * (k as f64 + self.jitter_ui(k) as f64)
        }
    }

    /// Bound of |j_k| in UI.
    pub fn bound_ui(&self) -> f64 {
        self.bound_ui
    }

    /// Cells per UI.
    pub fn os(&self) -> f64 {
        self.os
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_ordered_and_seed_deterministic() {
        let j = Jitter {
            rj_rms_ui: 0.5,
            sj_amplitude_ui: 0.3,
            sj_frequency_hz: 1e8,
        };
        let a = EdgeTable::generate(&j, 1e9, 0.3e-9, 5, 8, -100, 10_000);
        let mut prev = f64::NEG_INFINITY;
        for k in -100..=10_000 {
            assert!(a.pos(k) >= prev - 1e-4, "k={k}");
            prev = a.pos(k);
            assert!((a.jitter_ui(k) as f64).abs() <= j.bound_ui() + 1.0);
        }
        // The deviate of edge k does not depend on where the table starts (small RJ: no clamps).
        let small = Jitter { rj_rms_ui: 0.05, sj_amplitude_ui: 0.0, ..j };
        let b = EdgeTable::generate(&small, 1e9, 0.3e-9, 5, 8, 50, 60);
        let c = EdgeTable::generate(&small, 1e9, 0.3e-9, 5, 8, -7, 60);
        for k in 50..=60 {
            assert_eq!(b.jitter_ui(k), c.jitter_ui(k), "k={k}");
        }
        assert!(b.jitter_ui(55) != 0.0);
        let d = EdgeTable::generate(&j, 1e9, 0.3e-9, 6, 8, -100, 10_000);
        assert!((0..100).any(|k| d.jitter_ui(k) != a.jitter_ui(k)));
    }

    #[test]
    fn jitter_validation_names_fields() {
        let name = |j: Jitter| match j.validate(1e9) {
            Err(Error::InvalidParameter { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        assert_eq!(name(Jitter { rj_rms_ui: -0.1, ..Jitter::none() }), "jitter.rj_rms_ui");
        assert_eq!(name(Jitter { rj_rms_ui: 0.6, ..Jitter::none() }), "jitter.rj_rms_ui");
        assert_eq!(name(Jitter { sj_amplitude_ui: f64::NAN, ..Jitter::none() }), "jitter.sj_amplitude_ui");
        assert_eq!(name(Jitter { sj_frequency_hz: 1e9, ..Jitter::none() }), "jitter.sj_frequency_hz");
        assert!(Jitter::none().validate(1e9).is_ok());
        assert!(Jitter::none().is_none());
    }
}
