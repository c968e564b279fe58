//! The transmitter: symbols → levels → Tx FFE → rectangular (NRZ-shaped) pulses with jittered
//! edges, rendered as exact cell averages on the fine grid.

use super::jitter::EdgeTable;
use crate::Modulation;

/// The Tx-FFE'd level sequence, periodic in the pattern: symbol `k` (any integer) is
/// `symbols[k mod n]`.
#[derive(Debug, Clone)]
pub(crate) struct TxLevels<'a> {
    symbols: &'a [u8],
    table: Vec<f64>,
    ffe: &'a [f64],
    main: usize,
}

impl<'a> TxLevels<'a> {
    /// `symbols` must be non-empty and within the alphabet; `main < ffe.len()`.
    pub fn new(modulation: Modulation, symbols: &'a [u8], ffe: &'a [f64], main: usize) -> Self {
        let table = (0..modulation.levels() as u8).map(|s| modulation.level(s) as f64).collect();
        TxLevels {
            symbols,
            table,
            ffe,
            main,
        }
    }

    #[inline]
    fn raw(&self, k: i64) -> f64 {
        let n = self.symbols.len() as i64;
        self.table[self.symbols[k.rem_euclid(n) as usize] as usize]
    }

    /// Transmitted level of symbol `k`: `Σ_i ffe[i] · level(k − i + main)`.
    #[inline]
    pub fn level(&self, k: i64) -> f64 {
        if self.ffe.len() == 1 {
            return self.ffe[0] * self.raw(k);
        }
        self.ffe
            .iter()
            .enumerate()
            .map(|(i, &c)| c * self.raw(k - i as i64 + self.main as i64))
            .sum()
    }
}

/// Fills `out[c]` with the average over cell `first_cell + c` (cell `m` spans `[m, m+1)` in cell
/// units) of the rectangular-pulse waveform whose symbol `k` holds `tx.level(k)` between
/// `edges.pos(k)` and `edges.pos(k+1)`. Fractional coverage is exact, so sub-cell jitter is kept.
pub(crate) fn fill_cells(tx: &TxLevels, edges: &EdgeTable, first_cell: i64, out: &mut [f64]) {
    let os = edges.os();
    let start = first_cell as f64;
    // A symbol that certainly starts at or before the first cell, then forward to the one that covers it.
    let mut k = (start / os).floor() as i64 - edges.bound_ui().ceil() as i64 - 2;
    while edges.pos(k + 1) <= start {
        k += 1;
    }
    let mut p_k = edges.pos(k);
    let mut p_next = edges.pos(k + 1);
    let mut level = tx.level(k);
    let mut c = 0;
    while c < out.len() {
        let lo = start + c as f64;
        let hi = lo + 1.0;
        if p_k <= lo && p_next >= hi {
            // Cells wholly inside the current symbol: cells c..end all end at or before p_next.
            let end = ((p_next - start).floor() as usize).clamp(c + 1, out.len());
            out[c..end].fill(level);
            c = end;
            continue;
        }
        let mut acc = 0.0;
        loop {
            let s = p_k.max(lo);
            let e = p_next.min(hi);
            if e > s {
                acc += level * (e - s);
            }
            if p_next >= hi {
                break;
            }
            k += 1;
            p_k = p_next;
            p_next = edges.pos(k + 1);
            level = tx.level(k);
        }
        out[c] = acc;
        c += 1;
    }
}

/// Naive oracle for [`fill_cells`]: every cell sums the overlap with each nearby symbol.
#[cfg(test)]
pub(crate) fn fill_cells_naive(tx: &TxLevels, edges: &EdgeTable, first_cell: i64, out: &mut [f64]) {
    let os = edges.os();
    let reach = edges.bound_ui().ceil() as i64 + 3;
    for (c, o) in out.iter_mut().enumerate() {
        let m = (first_cell + c as i64) as f64;
        let centre = (m / os).floor() as i64;
        *o = (centre - reach..=centre + reach)
            .map(|k| {
                let overlap = (edges.pos(k + 1).min(m + 1.0) - edges.pos(k).max(m)).max(0.0);
                tx.level(k) * overlap
            })
            .sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Jitter;
    use proptest::prelude::*;

    #[test]
    fn nominal_cells_are_exact_levels() {
        let symbols = [0u8, 3, 1, 2];
        let tx = TxLevels::new(Modulation::Pam4, &symbols, &[1.0], 0);
        let edges = EdgeTable::nominal(4);
        let mut out = vec![0.0; 24];
        fill_cells(&tx, &edges, -4, &mut out);
        let expect: Vec<f64> = (-4..20).map(|m: i64| Modulation::Pam4.level(symbols[(m.div_euclid(4)).rem_euclid(4) as usize]) as f64).collect();
        assert_eq!(out, expect);
    }

    #[test]
    fn tx_ffe_is_symbol_spaced_and_periodic() {
        let symbols = [0u8, 1, 1, 0, 1];
        let ffe = [-0.1, 0.8, -0.1];
        let tx = TxLevels::new(Modulation::Nrz, &symbols, &ffe, 1);
        let lv = |k: i64| if symbols[k.rem_euclid(5) as usize] == 1 { 1.0 } else { -1.0 };
        for k in -7..12 {
            let expect = -0.1 * lv(k + 1) + 0.8 * lv(k) - 0.1 * lv(k - 1);
            assert!((tx.level(k) - expect).abs() < 1e-15);
        }
    }

    #[test]
    fn fractional_edge_is_area_weighted() {
        // NRZ 0,1 with jitter: the cell that contains the edge holds the exact area average.
        let symbols = [0u8, 1];
        let tx = TxLevels::new(Modulation::Nrz, &symbols, &[1.0], 0);
        let jit = Jitter { rj_rms_ui: 0.01, ..Jitter::none() };
        let edges = EdgeTable::generate(&jit, 1e9, 0.0, 1, 8, -4, 12);
        let p1 = edges.pos(1);
        let cell = p1.floor();
        let mut out = vec![0.0; 1];
        fill_cells(&tx, &edges, cell as i64, &mut out);
        let f = p1 - cell; // part of the cell before the edge (level −1)
        assert!((out[0] - (-f + (1.0 - f))).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn fill_matches_naive(symbols in proptest::collection::vec(0u8..4, 1..40), rj in 0.0f64..0.5, sj in 0.0f64..2.0,
                              seed in 0u64..100, first in -300i64..300, len in 1usize..400, os in 4usize..20) {
            let tx = TxLevels::new(Modulation::Pam4, &symbols, &[0.1, 0.9], 1);
            let jit = Jitter { rj_rms_ui: rj, sj_amplitude_ui: sj, sj_frequency_hz: 3e7 };
            let k_lo = first.div_euclid(os as i64) - 20;
            let k_hi = (first + len as i64).div_euclid(os as i64) + 20;
            let edges = EdgeTable::generate(&jit, 1e9, 0.0, seed, os, k_lo, k_hi);
            let mut fast = vec![0.0; len];
            let mut slow = vec![0.0; len];
            fill_cells(&tx, &edges, first, &mut fast);
            fill_cells_naive(&tx, &edges, first, &mut slow);
            for (a, b) in fast.iter().zip(&slow) {
                prop_assert!((a - b).abs() < 1e-9, "{} vs {}", a, b);
            }
        }
    }
}
