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

/// Edges per chunk of the key pass.
const KEY_CHUNK: usize = 1 << 14;
/// Fewest edges per chunk of the per-context sums (a chunk also holds at least 4 edges per
/// context, so the per-chunk tables stay within a few bytes per edge).
const SUM_CHUNK: usize = 1 << 16;

/// Groups the edges by context and accumulates `tie[i]` (seconds, mean removed) per group.
///
/// On the pool: the key of every edge (as [`group_reference`]), then the per-context sums,
/// counts and first polarities per fixed chunk of `max(SUM_CHUNK, 4·contexts)` edges, combined in
/// chunk order (a context's polarity is that of its first edge in the first chunk holding it:
/// the first edge seen). Keys, counts and polarities equal the serial loop's; a sum is the
/// serial one when the edges fit one chunk, and otherwise differs in the last bits only (the
/// same whatever the thread count).
pub(crate) fn group(edges: &[JitterEdge], tie: &[f64], symbols: &[u8], levels: usize, context: &DdjContext) -> ContextMeans {
    use rayon::prelude::*;
    let n_groups = context_count(levels, context);
    let mut key = Vec::new();
    edges.par_iter().with_min_len(KEY_CHUNK).map(|e| context_key(e, symbols, levels, context)).collect_into_vec(&mut key);
    let chunk = SUM_CHUNK.max(4 * n_groups);
    let mut parts: Vec<(Vec<f64>, Vec<usize>, Vec<bool>)> = key
        .par_chunks(chunk)
        .zip(tie.par_chunks(chunk))
        .zip(edges.par_chunks(chunk))
        .map(|((ks, ts), es)| {
            let (mut sum, mut count, mut rising) = (vec![0.0; n_groups], vec![0usize; n_groups], vec![false; n_groups]);
            for ((k, &t), e) in ks.iter().zip(ts).zip(es) {
                if let Some(g) = *k {
                    if count[g] == 0 {
                        rising[g] = e.rising();
                    }
                    sum[g] += t;
                    count[g] += 1;
                }
            }
            (sum, count, rising)
        })
        .collect();
    let (sum, count, rising) = if parts.len() == 1 {
        parts.pop().unwrap_or_default()
    } else {
        let (mut sum, mut count, mut rising) = (vec![0.0; n_groups], vec![0usize; n_groups], vec![false; n_groups]);
        for (ps, pc, pr) in &parts {
            for g in 0..n_groups {
                if pc[g] > 0 {
                    if count[g] == 0 {
                        rising[g] = pr[g];
                    }
                    sum[g] += ps[g];
                    count[g] += pc[g];
                }
            }
        }
        (sum, count, rising)
    };
    ContextMeans { key, sum, count, rising }
}

/// Number of contexts of `context` (0 for an unrepresentable history window, which the
/// configuration check refuses).
fn context_count(levels: usize, context: &DdjContext) -> usize {
    match *context {
        DdjContext::PatternPeriod { period, .. } => period,
        DdjContext::History { preceding, following } => history_contexts(levels, preceding, following).unwrap_or(0),
    }
}

/// Context of edge `e`, `None` when its history window leaves the symbols.
#[inline]
fn context_key(e: &JitterEdge, symbols: &[u8], levels: usize, context: &DdjContext) -> Option<usize> {
    match *context {
        DdjContext::PatternPeriod { period, offset } => Some((e.ui_index % period + offset % period) % period),
        DdjContext::History { preceding, following } => {
            let k = e.ui_index;
            if k < preceding || k + following >= symbols.len() {
                None
            } else {
                Some(symbols[k - preceding..=k + following].iter().fold(0usize, |acc, &s| acc * levels + s as usize))
            }
        }
    }
}

/// Naive reference of [`group`] (the serial loop).
#[cfg(test)]
pub(crate) fn group_reference(edges: &[JitterEdge], tie: &[f64], symbols: &[u8], levels: usize, context: &DdjContext) -> ContextMeans {
    let n_groups = context_count(levels, context);
    let mut out = ContextMeans {
        key: Vec::with_capacity(edges.len()),
        sum: vec![0.0; n_groups],
        count: vec![0; n_groups],
        rising: vec![false; n_groups],
    };
    for (e, &t) in edges.iter().zip(tie) {
        let key = context_key(e, symbols, levels, context);
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
