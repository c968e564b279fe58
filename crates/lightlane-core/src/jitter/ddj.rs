//! Data-dependent jitter: the mean TIE of every pattern context.

use super::edges::JitterEdge;
use super::DdjContext;

/// Per-context mean TIE.
pub(crate) struct ContextMeans {
    /// Context of every edge (index into `sum`/`count`), `None` when the edge has no complete
    /// context (too near the start or end of the symbols).
    pub key: Vec<Option<usize>>,
    pub sum: Vec<f64>,
    pub count: Vec<usize>,
    /// Polarity of the first edge seen in each context (true = rising).
    pub rising: Vec<bool>,
}

impl ContextMeans {
    /// Mean TIE of context `g`, when it holds at least `min` edges.
    #[inline]
    pub fn mean(&self, g: usize, min: usize) -> Option<f64> {
        (self.count[g] >= min.max(1)).then(|| self.sum[g] / self.count[g] as f64)
    }
}

/// Number of contexts of a history window (`levels^(preceding + 1 + following)`), `None` when it
/// overflows.
pub(crate) fn history_contexts(levels: usize, preceding: usize, following: usize) -> Option<usize> {
    let w = u32::try_from(preceding + 1 + following).ok()?;
    levels.checked_pow(w)
}

/// Groups the edges by context and accumulates `tie[i]` (seconds, mean removed) per group.
pub(crate) fn group(edges: &[JitterEdge], tie: &[f64], symbols: &[u8], levels: usize, context: &DdjContext) -> ContextMeans {
    let n_groups = match *context {
        DdjContext::PatternPeriod { period, .. } => period,
        DdjContext::History { preceding, following } => history_contexts(levels, preceding, following).unwrap_or(0),
    };
    let mut out = ContextMeans {
        key: Vec::with_capacity(edges.len()),
        sum: vec![0.0; n_groups],
        count: vec![0; n_groups],
        rising: vec![false; n_groups],
    };
    for (e, &t) in edges.iter().zip(tie) {
        let key = match *context {
            DdjContext::PatternPeriod { period, offset } => Some((e.ui_index % period + offset % period) % period),
            DdjContext::History { preceding, following } => {
                let k = e.ui_index;
                if k < preceding || k + following >= symbols.len() {
                    None
                } else {
                    Some(symbols[k - preceding..=k + following].iter().fold(0usize, |acc, &s| acc * levels + s as usize))
                }
            }
        };
        if let Some(g) = key {
            if out.count[g] == 0 {
                out.rising[g] = e.rising();
            }
            out.sum[g] += t;
            out.count[g] += 1;
        }
        out.key.push(key);
    }
    out
}
