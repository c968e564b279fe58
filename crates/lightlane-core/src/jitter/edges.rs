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
    if let Some(index) = super::first_index_where(symbols.len(), |i| symbols[i] as usize >= levels) {
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
    // The symbol boundary of every edge: `positions.partition_point(|&p| p < e)`, on the rayon pool.
    let edge_positions = &clock.edge_positions[first.min(n_edges)..n_edges];
    let boundary = boundaries(positions, edge_positions);
    let (edges, rejected) = pair_edges(&boundary, &clock.tie_s[first.min(n_edges)..n_edges], symbols, positions.len(), modulation);
    super::free_on_pool(boundary);
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

/// Edges per chunk of [`pair_edges`].
const PAIR_CHUNK: usize = 1 << 14;

/// One chunk of [`pair_edges`]: the edges it accepts on its own, its rejections, and the
/// symbol boundaries of its first and last candidates (edges that pass every test but the
/// glitch test).
struct PairedChunk {
    edges: Vec<JitterEdge>,
    rejected: usize,
    first: Option<usize>,
    last: Option<usize>,
}

/// The pairing loop of [`edges_from_clock`]: edge `i` at symbol boundary `boundary[i]` with
/// TIE `tie[i]` is kept when the boundary lies inside the `symbols_used` decisions, the
/// transition is valid, the TIE finite, and it is not a glitch (the last kept edge at the same
/// boundary). The last kept edge's boundary is always the last candidate's (a candidate is
/// dropped only for sharing it), so each fixed chunk decides alone except for its first
/// candidate, checked against the previous chunks' last one when the chunks are joined in
/// order: the serial loop's edges and count, whatever the thread count.
pub(crate) fn pair_edges(boundary: &[usize], tie: &[f32], symbols: &[u8], symbols_used: usize, modulation: Modulation) -> (Vec<JitterEdge>, usize) {
    let parts: Vec<PairedChunk> = boundary
        .par_chunks(PAIR_CHUNK)
        .zip(tie.par_chunks(PAIR_CHUNK))
        .map(|(ks, ts)| {
            let mut part = PairedChunk { edges: Vec::with_capacity(ks.len()), rejected: 0, first: None, last: None };
            for (&k, &t) in ks.iter().zip(ts) {
                if k == 0 || k >= symbols_used {
                    part.rejected += 1;
                    continue;
                }
                let (from, to) = (symbols[k - 1], symbols[k]);
                let valid = from != to && (modulation == Modulation::Nrz || (from + to) % 2 == 1);
                let tie = t as f64;
                if !valid || !tie.is_finite() {
                    part.rejected += 1;
                    continue;
                }
                part.first.get_or_insert(k);
                if part.last.replace(k) == Some(k) {
                    part.rejected += 1;
                    continue;
                }
                part.edges.push(JitterEdge { ui_index: k, tie_s: tie, from, to });
            }
            part
        })
        .collect();
    // The chunks' first edges that repeat the previous chunk's last candidate are glitches.
    let mut skip = Vec::with_capacity(parts.len());
    let mut offsets = Vec::with_capacity(parts.len() + 1);
    let (mut total, mut rejected, mut last) = (0usize, 0usize, None);
    for part in &parts {
        let s = usize::from(part.first.is_some() && part.first == last);
        skip.push(s);
        offsets.push(total);
        total += part.edges.len() - s;
        rejected += part.rejected + s;
        if part.last.is_some() {
            last = part.last;
        }
    }
    let mut edges = Vec::new();
    (0..total)
        .into_par_iter()
        .with_min_len(PAIR_CHUNK)
        .map(|j| {
            let p = offsets.partition_point(|&o| o <= j) - 1;
            parts[p].edges[skip[p] + j - offsets[p]]
        })
        .collect_into_vec(&mut edges);
    super::free_on_pool((parts, skip, offsets));
    (edges, rejected)
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
    // Each chunk writes its own slice of the output (a zeroed allocation: no serial fill or
    // concatenation on the calling thread).
    let mut out = vec![0usize; edges.len()];
    out.par_chunks_mut(BOUNDARY_CHUNK).zip(edges.par_chunks(BOUNDARY_CHUNK)).for_each(|(out, c)| {
        let mut prev: Option<(f64, usize)> = None;
        for (o, &e) in out.iter_mut().zip(c) {
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
            *o = k;
            prev = Some((e, k));
        }
    });
    out
}
