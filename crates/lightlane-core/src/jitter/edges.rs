//! Per-edge TIE with its transition and symbol index, from a recovered clock and the decided
//! symbols.

use crate::timing::RecoveredClock;
use crate::{Error, Modulation, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One data edge: its time-interval error against the recovered clock, where it lies in the
/// symbol stream, and which transition it is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JitterEdge {
    /// Index of the symbol the edge leads into: the edge is the boundary between symbols
    /// `ui_index − 1` and `ui_index` of the decided-symbol slice (≥ 1).
    pub ui_index: usize,
    /// TIE of the edge, seconds; positive when the edge is late.
    pub tie_s: f64,
    /// Symbol before the edge.
    pub from: u8,
    /// Symbol after the edge.
    pub to: u8,
}

impl JitterEdge {
    /// True for a rising transition (`to > from`).
    pub fn rising(&self) -> bool {
        self.to > self.from
    }
}

/// Data edges of a capture, ready for [`JitterAnalyzer::analyze`](super::JitterAnalyzer::analyze).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedEdges {
    /// The accepted edges, ascending in `ui_index`.
    pub edges: Vec<JitterEdge>,
    /// Settled detector edges that were not used: the decisions either side show no transition
    /// (or, for PAM4, not one symmetric about a threshold), or a second edge fell into the same
    /// symbol boundary (a glitch), or the edge lies outside the decided symbols.
    pub rejected: usize,
    /// Unit interval of the recovered clock, seconds.
    pub ui_s: f64,
}

/// Pairs every settled data edge of `clock` with its symbol boundary and transition.
///
/// `symbols[k]` must be the decision at `clock.symbol_positions[k]` (e.g. from
/// [`RecoveredClock::resample`] at one sample per UI and a slicer); it may be shorter than the
/// positions. An edge at sample position `e` belongs to the boundary between the last symbol
/// centre before it (`k − 1`) and the first after it (`k`). It is kept when the decisions differ
/// and, for PAM4, when the transition is symmetric about the threshold it crosses (0↔1, 1↔2,
/// 2↔3, 0↔3: the ones whose crossing time does not depend on the levels; these are the only
/// edges the clock-recovery detector times).
///
/// Errors: [`Error::ValueOutOfRange`] for a symbol outside the modulation's alphabet;
/// [`Error::Unusable`] (stage "jitter") when no edge is left.
pub fn edges_from_clock(clock: &RecoveredClock, symbols: &[u8], modulation: Modulation) -> Result<TimedEdges> {
    let levels = modulation.levels();
    if let Some(index) = symbols.iter().position(|&s| s as usize >= levels) {
        return Err(Error::ValueOutOfRange {
            what: "decided symbols",
            index,
            value: symbols[index] as u64,
            max: levels as u64 - 1,
        });
    }
    if !(clock.baud.is_finite() && clock.baud > 0.0) {
        return Err(Error::invalid("clock.baud", clock.baud, "must be a positive finite symbol rate"));
    }
    let positions = &clock.symbol_positions[..symbols.len().min(clock.symbol_positions.len())];
    let first = clock.settled_edge_index();
    let n_edges = clock.edge_positions.len().min(clock.tie_s.len());
    let mut edges = Vec::with_capacity(n_edges.saturating_sub(first));
    let mut rejected = 0usize;
    // The symbol boundary of every edge: `positions.partition_point(|&p| p < e)`, on the rayon pool.
    let edge_positions = &clock.edge_positions[first.min(n_edges)..n_edges];
    let boundary = boundaries(positions, edge_positions);
    for (i, &k) in (first..n_edges).zip(&boundary) {
        if k == 0 || k >= positions.len() {
            rejected += 1;
            continue;
        }
        let (from, to) = (symbols[k - 1], symbols[k]);
        let valid = from != to && (modulation == Modulation::Nrz || (from + to) % 2 == 1);
        let tie = clock.tie_s[i] as f64;
        if !valid || !tie.is_finite() {
            rejected += 1;
            continue;
        }
        if edges.last().is_some_and(|p: &JitterEdge| p.ui_index == k) {
            rejected += 1;
            continue;
        }
        edges.push(JitterEdge { ui_index: k, tie_s: tie, from, to });
    }
    if edges.is_empty() {
        return Err(Error::Unusable {
            stage: "jitter",
            reason: format!(
                "no data edge matches a transition of the decided symbols ({rejected} detector edges rejected, {} symbols)",
                symbols.len()
            ),
        });
    }
    Ok(TimedEdges {
        edges,
        rejected,
        ui_s: 1.0 / clock.baud,
    })
}

/// Edges per chunk of [`boundaries`].
const BOUNDARY_CHUNK: usize = 8192;

/// `positions.partition_point(|&p| p < e)` for every `e` of `edges`. With ascending
/// `positions` (a recovered clock's) each chunk of edges binary-searches its first edge and
/// walks forward from there while the edges ascend (the same index: the count of positions
/// below `e`); an edge below its predecessor, or positions out of order, take the binary search.
pub(crate) fn boundaries(positions: &[f64], edges: &[f64]) -> Vec<usize> {
    let sorted = positions.par_windows(2).with_min_len(BOUNDARY_CHUNK).all(|w| w[0] <= w[1]);
    let search = |e: f64| positions.partition_point(|&p| p < e);
    edges
        .par_chunks(BOUNDARY_CHUNK)
        .flat_map_iter(|c| {
            let mut out = Vec::with_capacity(c.len());
            let mut prev: Option<(f64, usize)> = None;
            for &e in c {
                let k = match prev {
                    // p < e is monotone in e for sorted positions: start from the previous count.
                    Some((pe, mut k)) if sorted && pe <= e => {
                        while k < positions.len() && positions[k] < e {
                            k += 1;
                        }
                        k
                    }
                    _ => search(e),
                };
                out.push(k);
                prev = Some((e, k));
            }
            out
        })
        .collect()
}
