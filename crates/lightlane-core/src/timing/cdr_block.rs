//! Block-parallel clock recovery: the loops of [`recover_clock`](super::recover_clock) on
//! overlapping blocks of the capture, run on the rayon pool and stitched.
//!
//! Block `b` owns the samples `[b·B·spu, (b+1)·B·spu)` (`B` =
//! [`CdrConfig::block_symbols`](super::CdrConfig::block_symbols), `spu` the nominal samples per
//! UI). Its loop starts `W` UI earlier (the warm-up) from a phase estimated from the data edges
//! there (reference PLL) or from the reference symbol centres (timing-error-detector loops), and
//! runs past the end of its part (a few dozen UI; the first-order reference PLL
//! [`PLL_PAST_TIME_CONSTANTS`] time constants). The blocks are cut where two neighbours agree: at
//! the first tick of block `b + 1` inside its part where the tick of block `b` nearest to it lies
//! within the tolerance (the first-order PLL tries ticks at doubling distances once the first 32
//! fail), once both runs have given the same data edges to the ticks before the cut.
//!
//! **Bound.** The reference PLL and the Mueller-Müller and Gardner loops are linear in the
//! clock phase once locked: two runs over the same data edges (samples) differ by a transient
//! that decays with the loop's time constant `τ` (`1/α` UI for the first-order PLL, `1/(ζω_n)`
//! for the second-order loops). The warm-up is [`WARMUP_TIME_CONSTANTS`] time constants, so a
//! start-up error of half a UI decays to about 6·10⁻⁸ UI before the block's part starts. Every
//! handover is checked: the two runs' ticks at the cut must agree within [`LINEAR_TOLERANCE_UI`]
//! (bang-bang: [`BANG_BANG_TOLERANCE_STEPS`] phase steps, as two bang-bang loops on the same data
//! keep hunting against each other instead of merging); if any handover fails, the clock
//! recovery runs sequentially instead. So the recovered clock of the linear loops equals the
//! sequential run's within twice [`LINEAR_TOLERANCE_UI`] everywhere (measured: about 3·10⁻⁸ UI),
//! that of the bang-bang loop within [`BANG_BANG_TOLERANCE_STEPS`] steps; the edges are given to
//! the same UIs and the number of symbols is the same.

use super::tie::circular_mean;
use rayon::prelude::*;

/// Default [`CdrConfig::block_symbols`](super::CdrConfig::block_symbols): long enough that the
/// warm-up of the 4 MHz reference PLL at 26.5625 GBd (about 17 000 UI) costs a few percent.
pub const DEFAULT_CDR_BLOCK: usize = 1 << 18;
/// Warm-up of each block in loop time constants (e⁻¹⁶ ≈ 1.1·10⁻⁷).
pub const WARMUP_TIME_CONSTANTS: f64 = 16.0;
/// Largest difference, UI, between two neighbouring blocks' ticks at their cut for the linear
/// loops (reference PLL, Mueller-Müller, Gardner).
pub const LINEAR_TOLERANCE_UI: f64 = 1e-6;
/// Largest difference at a cut for the bang-bang loop, in phase steps (`gain` UI each), and its
/// bound on the difference from the sequential loop. Two bang-bang loops on the same data do not
/// merge: each keeps hunting around the lock point by a few steps, and their difference wanders
/// within that range (at most 12 steps measured on noisy NRZ and PAM4 with SJ), like the
/// sequential loop's own response to a perturbation of one sample.
pub const BANG_BANG_TOLERANCE_STEPS: f64 = 32.0;
/// UI each block runs past the end of its part, room to find a cut where the runs agree (the
/// first-order reference PLL runs at least [`PLL_PAST_TIME_CONSTANTS`] time constants past).
pub(super) const RUN_PAST_UI: usize = 64;
/// Time constants the first-order reference PLL's blocks run past the end of their part (about
/// 13 % of a default block at 53.125 GBd and 4 MHz). Where the data edges spread over much of
/// the UI (closed PAM4 eyes), an edge near the ±½ UI boundary can go to different UIs in two
/// runs a hair apart, which moves them apart again by up to about α UI; the more they differ,
/// the more often this happens, so they merge more slowly than the loop's own decay. On the
/// demo PAM4 link (`LinkModel::demo_pam4`, 3.5 M UI, 14 blocks) the slowest cut came 8–9 time
/// constants after its block's start; 16 leave room. Where no tick within them agrees, the
/// recovery runs sequentially, as before.
pub(super) const PLL_PAST_TIME_CONSTANTS: f64 = 16.0;
/// Consecutive ticks from the first one of a part at which a cut is tried; beyond them the
/// reference PLL tries ticks at doubling distances up to the end of the previous run.
const CUT_ATTEMPTS: usize = 32;
/// Edges whose circular mean gives a block's starting phase.
const PHASE_EDGES: usize = 64;
/// Elements per chunk of the deterministic parallel sums.
pub(super) const SUM_CHUNK: usize = 1 << 14;

#[cfg(test)]
thread_local! {
    /// Block-parallel runs of this thread that were stitched, and that fell back to the
    /// sequential loop (the tests check that the block path really ran).
    pub(super) static BLOCK_RUNS: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// Counts a block-parallel run (stitched or fallen back) for the tests; nothing otherwise.
#[inline]
pub(super) fn note_block_run(_stitched: bool) {
    #[cfg(test)]
    BLOCK_RUNS.with(|c| {
        let (ok, failed) = c.get();
        c.set(if _stitched { (ok + 1, failed) } else { (ok, failed + 1) });
    });
}

/// Block layout of one recovery: `block` UI per part, `warmup` UI of lead-in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Blocks {
    pub block: usize,
    pub warmup: usize,
    pub count: usize,
}

impl Blocks {
    /// The layout for `n_ui` UI with the configured `block` and a loop time constant of `tau`
    /// UI, or `None` for a sequential run (`block == 0`, or fewer than two blocks). Blocks are at
    /// least four warm-ups long, so the overlap costs at most a quarter.
    pub fn new(n_ui: usize, block: usize, tau: f64) -> Option<Blocks> {
        if block == 0 || !tau.is_finite() {
            return None;
        }
        let warmup = (WARMUP_TIME_CONSTANTS * tau).ceil().max(64.0);
        if warmup > n_ui as f64 {
            return None;
        }
        let warmup = warmup as usize;
        let block = block.max(4 * warmup);
        let count = n_ui.div_ceil(block);
        (count >= 2).then_some(Blocks { block, warmup, count })
    }

    /// Start (sample position) of part `b`.
    pub fn start(&self, b: usize, spu: f64) -> f64 {
        (b * self.block) as f64 * spu
    }
}

/// The reference PLL per UI (see [`CdrKind::ReferencePll`](super::CdrKind::ReferencePll)).
#[derive(Debug, Clone, Copy)]
pub(super) struct PllLoop {
    /// Nominal samples per UI.
    pub spu: f64,
    /// Order-1 gain per UI.
    pub alpha: f64,
    /// Order-2 proportional and integral gains per UI.
    pub a1: f64,
    pub a2: f64,
    pub order: u8,
}

/// Ticks of one run of the reference PLL and the edges it used.
#[derive(Debug, Default, Clone)]
pub(super) struct PllTrack {
    /// Clock ticks (fractional sample indices); the last one lies past the run's stop.
    pub clock: Vec<f64>,
    /// Raw TIE of each edge used, samples, against the tick of its UI.
    pub tie: Vec<f64>,
    /// Tick index of each edge used.
    pub edge_ui: Vec<usize>,
    /// Index in the edge list of the first edge used.
    pub j0: usize,
}

impl PllLoop {
    /// Time constant of the loop's slowest mode, UI.
    pub fn time_constant(&self) -> f64 {
        if self.order == 1 {
            -1.0 / (1.0 - self.alpha).ln()
        } else {
            // Roots of s² + a1·s + a2 (per UI): the slower one's decay rate.
            let (b, c) = (self.a1, self.a2);
            let disc = b * b - 4.0 * c;
            let rate = if disc <= 0.0 { 0.5 * b } else { 0.5 * (b - disc.sqrt()) };
            1.0 / rate
        }
    }

    /// Runs the loop from a tick at `base` (phase, frequency and held error zero) over
    /// `edges[j0..]`, up to and including the first tick past `stop`. Tick `k` lies at
    /// `base + k·spu + φ_k`; the edges before the half-UI point after a tick belong to it.
    pub fn run(&self, edges: &[f64], j0: usize, base: f64, stop: f64) -> PllTrack {
        if self.order == 1 {
            self.run_order::<false>(edges, j0, base, stop)
        } else {
            self.run_order::<true>(edges, j0, base, stop)
        }
    }

    fn run_order<const ORDER2: bool>(&self, edges: &[f64], j0: usize, base: f64, stop: f64) -> PllTrack {
        let spu = self.spu;
        let ticks = ((stop - base) / spu).max(0.0) as usize + 4;
        let mut clock = Vec::with_capacity(ticks);
        let mut tie = Vec::with_capacity(((edges.len() - j0.min(edges.len())) as f64).min(ticks as f64) as usize);
        let mut edge_ui = Vec::with_capacity(tie.capacity());
        let (mut phi, mut nu, mut held) = (0f64, 0f64, 0f64);
        let mut j = j0;
        let mut k = 0usize;
        loop {
            let c = base + k as f64 * spu + phi;
            clock.push(c);
            if c > stop {
                break;
            }
            let upper = c + 0.5 * (spu + nu);
            let (mut sum, mut count) = (0f64, 0usize);
            while let Some(&e) = edges.get(j) {
                if e >= upper {
                    break;
                }
                let err = e - c;
                tie.push(err);
                edge_ui.push(k);
                sum += err;
                count += 1;
                j += 1;
            }
            // (The mean of one or two edges by exact products: no division in the loop's
            // dependency chain on almost every UI, the same bits.)
            match count {
                0 => {}
                1 => held = phi + sum,
                2 => held = phi + sum * 0.5,
                _ => held = phi + sum / count as f64,
            }
            let e = held - phi;
            if ORDER2 {
                phi += nu + self.a1 * e;
                nu += self.a2 * e;
            } else {
                phi += self.alpha * e;
            }
            k += 1;
        }
        PllTrack { clock, tie, edge_ui, j0 }
    }

    /// The loop on `blocks` of the capture in parallel, stitched; the sequential run is
    /// `self.run(edges, 0, base, end).into_clock(settle)`. `None` when a handover fails the
    /// tolerance (the caller then runs sequentially).
    pub fn run_blocks(&self, edges: &[f64], base: f64, end: f64, blocks: Blocks, settle: usize) -> Option<PllClock> {
        let spu = self.spu;
        // The first-order loop scans for its cut (see `pll_cut`), so it runs further past.
        let scan = self.order == 1;
        let past_ui = if scan { (RUN_PAST_UI as f64).max(PLL_PAST_TIME_CONSTANTS * self.time_constant()) } else { RUN_PAST_UI as f64 };
        let past = past_ui * spu;
        let tracks: Vec<PllTrack> = (0..blocks.count)
            .into_par_iter()
            .map(|b| {
                let stop = if b + 1 == blocks.count { end } else { blocks.start(b + 1, spu) + past };
                if b == 0 {
                    return self.run(edges, 0, base, stop);
                }
                let w = blocks.start(b, spu) - blocks.warmup as f64 * spu;
                let j = edges.partition_point(|&e| e < w);
                let (theta, _) = circular_mean(edges[j..(j + PHASE_EDGES).min(edges.len())].iter().copied(), spu);
                let start = w + (theta - w).rem_euclid(spu);
                let j0 = edges.partition_point(|&e| e < start - 0.5 * spu);
                self.run(edges, j0, start, stop)
            })
            .collect();
        stitch_pll(tracks, blocks, spu, LINEAR_TOLERANCE_UI * spu, settle, scan)
    }
}

/// Cut between `prev` and `next` at the part boundary `s` (see the module docs): the tick
/// indices `(m, i)` where `prev` ends (exclusive) and `next` starts, and the index of the first
/// edge after the cut.
///
/// With `scan` (the first-order loop) a tick outside the tolerance does not end the search:
/// the loop's only state is its phase (the held input is the same in both runs once they give
/// the edges to the same UIs), so the two runs' difference decays by `1 − α` every UI without
/// changing sign, and once within the tolerance it stays there. The search goes on at doubling
/// distances to the end of the previous run. The second-order loop's difference can cross zero
/// while its frequency still differs, so there only the first ticks count.
fn pll_cut(prev: &PllTrack, next: &PllTrack, s: f64, tol: f64, scan: bool) -> Option<(usize, usize, usize)> {
    let first = next.clock.partition_point(|&c| c < s);
    let prev_end = *prev.clock.last()?;
    // Ticks first, first + 1, …, first + 31, then first + 64, + 128, … while inside prev's run.
    let further = std::iter::successors(Some(2 * CUT_ATTEMPTS), |&d| d.checked_mul(2)).filter(|_| scan);
    let candidates = (0..CUT_ATTEMPTS).chain(further);
    for i in candidates.map(|d| first + d).take_while(|&i| i < next.clock.len() && next.clock[i] < prev_end) {
        let t = next.clock[i];
        let m = nearest(&prev.clock, t)?;
        if (prev.clock[m] - t).abs() > tol {
            if scan {
                continue;
            }
            return None;
        }
        let je_prev = prev.j0 + prev.edge_ui.partition_point(|&u| u < m);
        let je_next = next.j0 + next.edge_ui.partition_point(|&u| u < i);
        if je_prev == je_next {
            return Some((m, i, je_prev));
        }
    }
    None
}

/// Index of the element of ascending `v` nearest to `t`.
pub(super) fn nearest(v: &[f64], t: f64) -> Option<usize> {
    let p = v.partition_point(|&c| c < t);
    match (p.checked_sub(1), v.get(p)) {
        (Some(a), Some(&b)) => Some(if t - v[a] <= b - t { a } else { p }),
        (Some(a), None) => Some(a),
        (None, Some(_)) => Some(p),
        (None, None) => None,
    }
}

/// The reference PLL over the whole capture, as [`recover_clock`](super::recover_clock) uses it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PllClock {
    /// Symbol centres: midway between consecutive clock ticks (one fewer than the ticks).
    pub centres: Vec<f64>,
    /// Raw TIE of every edge, samples, against the tick of its UI.
    pub tie: Vec<f64>,
    /// Index of the first edge given to a tick at or after the `settle`-th.
    pub settled_edge: usize,
}

impl PllTrack {
    /// The whole-capture result of one sequential run (`j0` = 0): the ticks turned into centres
    /// in place.
    pub fn into_clock(self, settle: usize) -> PllClock {
        let PllTrack { mut clock, tie, edge_ui, .. } = self;
        for k in 1..clock.len() {
            clock[k - 1] = 0.5 * (clock[k - 1] + clock[k]);
        }
        clock.pop();
        PllClock { centres: clock, tie, settled_edge: edge_ui.partition_point(|&k| k < settle) }
    }
}

/// Stitches the blocks' tracks (see the module docs) straight into centres and TIE: each block
/// writes its kept part into place in parallel, the centre after a block's last kept tick taking
/// the next block's first kept tick, exactly as [`PllTrack::into_clock`] of the stitched ticks.
fn stitch_pll(tracks: Vec<PllTrack>, blocks: Blocks, spu: f64, tol: f64, settle: usize, scan: bool) -> Option<PllClock> {
    let nb = tracks.len();
    // Kept tick ranges and edge ranges (global indices) of each block.
    let mut ticks = vec![(0usize, 0usize); nb];
    let mut edge_range = vec![(0usize, 0usize); nb];
    ticks[nb - 1].1 = tracks[nb - 1].clock.len();
    edge_range[nb - 1].1 = tracks[nb - 1].j0 + tracks[nb - 1].tie.len();
    for b in 1..nb {
        let (m, i, je) = pll_cut(&tracks[b - 1], &tracks[b], blocks.start(b, spu), tol, scan)?;
        ticks[b - 1].1 = m;
        ticks[b].0 = i;
        edge_range[b - 1].1 = je;
        edge_range[b].0 = je;
    }
    if ticks.iter().any(|&(lo, hi)| lo >= hi) || edge_range.iter().any(|&(lo, hi)| lo > hi) {
        return None;
    }
    let n_ticks: usize = ticks.iter().map(|&(lo, hi)| hi - lo).sum();
    let n_edges = edge_range[nb - 1].1;
    let mut centres = vec![0f64; n_ticks - 1];
    let mut tie = vec![0f64; n_edges];
    let mut settled_edge = n_edges;
    let mut jobs = Vec::with_capacity(nb);
    let (mut c_rest, mut e_rest) = (&mut centres[..], &mut tie[..]);
    let mut offset = 0;
    for (b, (t, (&(lo, hi), &(e_lo, e_hi)))) in tracks.iter().zip(ticks.iter().zip(&edge_range)).enumerate() {
        let next = tracks.get(b + 1).map(|n| n.clock[ticks[b + 1].0]);
        let kept = if next.is_some() { hi - lo } else { hi - lo - 1 };
        let (c, rest) = std::mem::take(&mut c_rest).split_at_mut(kept);
        c_rest = rest;
        let (e, rest) = std::mem::take(&mut e_rest).split_at_mut(e_hi - e_lo);
        e_rest = rest;
        let (e_lo, e_hi) = (e_lo - t.j0, e_hi - t.j0);
        // Edge UIs map to global ticks as `u − lo + offset`.
        if settled_edge == n_edges && settle < offset + (hi - lo) {
            let local = (settle + lo).saturating_sub(offset);
            settled_edge = t.j0 + e_lo + t.edge_ui[e_lo..e_hi].partition_point(|&u| u < local);
        }
        jobs.push((&t.clock[lo..hi], next, c, &t.tie[e_lo..e_hi], e));
        offset += hi - lo;
    }
    jobs.into_par_iter().for_each(|(clock, next, c, src, e)| {
        for (k, out) in c.iter_mut().enumerate() {
            let after = clock.get(k + 1).copied().or(next).unwrap_or(clock[k]);
            *out = 0.5 * (clock[k] + after);
        }
        e.copy_from_slice(src);
    });
    Some(PllClock { centres, tie, settled_edge })
}

/// Cut between two blocks' symbol centres at the part boundary `s`: where `prev` ends
/// (exclusive) and `next` starts; `None` if their centres differ by more than `tol` there.
pub(super) fn centre_cut(prev: &[f64], next: &[f64], s: f64, tol: f64) -> Option<(usize, usize)> {
    let i = next.partition_point(|&c| c < s);
    let t = *next.get(i)?;
    let m = nearest(prev, t)?;
    ((prev[m] - t).abs() <= tol).then_some((m, i))
}

/// Stitches blocks of symbol centres (see [`centre_cut`]).
pub(super) fn stitch_centres(parts: Vec<Vec<f64>>, blocks: Blocks, spu: f64, tol: f64) -> Option<Vec<f64>> {
    let nb = parts.len();
    let mut ranges = vec![(0usize, 0usize); nb];
    ranges[nb - 1].1 = parts[nb - 1].len();
    for b in 1..nb {
        let (m, i) = centre_cut(&parts[b - 1], &parts[b], blocks.start(b, spu), tol)?;
        ranges[b - 1].1 = m;
        ranges[b].0 = i;
    }
    if ranges.iter().any(|&(lo, hi)| lo >= hi) {
        return None;
    }
    let mut out = vec![0f64; ranges.iter().map(|&(lo, hi)| hi - lo).sum()];
    let mut rest = &mut out[..];
    let mut jobs = Vec::with_capacity(nb);
    for (p, &(lo, hi)) in parts.iter().zip(&ranges) {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(hi - lo);
        rest = tail;
        jobs.push((head, &p[lo..hi]));
    }
    jobs.into_par_iter().for_each(|(dst, src)| dst.copy_from_slice(src));
    Some(out)
}

/// Sums `f(i, &v[i])` over `v` in fixed chunks on the rayon pool, adding the chunk sums in
/// order, so the result does not depend on the number of threads.
pub(super) fn par_sum<T: Sync, const N: usize>(v: &[T], f: impl Fn(usize, &T) -> [f64; N] + Sync) -> [f64; N] {
    let parts: Vec<[f64; N]> = v
        .par_chunks(SUM_CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut acc = [0f64; N];
            for (i, x) in chunk.iter().enumerate() {
                let r = f(c * SUM_CHUNK + i, x);
                for (a, r) in acc.iter_mut().zip(r) {
                    *a += r;
                }
            }
            acc
        })
        .collect();
    let mut total = [0f64; N];
    for p in parts {
        for (t, p) in total.iter_mut().zip(p) {
            *t += p;
        }
    }
    total
}

/// Circular mean and concentration of `values` modulo `period`, as
/// [`circular_mean`](super::tie::circular_mean) but summed with [`par_sum`].
pub(super) fn par_circular_mean(values: &[f64], period: f64) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let [c, s] = par_sum(values, |_, &v| {
        let (s, c) = super::tie::sin_cos_turns(v / period);
        [c, s]
    });
    let n = values.len() as f64;
    let (c, s) = (c / n, s / n);
    (s.atan2(c) / (2.0 * std::f64::consts::PI) * period, c.hypot(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NRZ data edges at `spu·(1 + ppm)` per UI with Gaussian jitter of `sigma` samples and a
    /// transition on about half the UIs.
    fn edges(n_ui: usize, spu: f64, ppm: f64, sigma: f64, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut uniform = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let mut out = Vec::new();
        for k in 0..n_ui {
            let (u1, u2) = (uniform(), uniform());
            let g = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            if uniform() < 0.5 {
                out.push((k as f64 + 0.3) * spu * (1.0 + ppm * 1e-6) + sigma * g);
            }
        }
        out
    }

    fn pll(order: u8) -> PllLoop {
        // 4 MHz at 10.3125 GBd.
        let t = 1.0 / 10.3125e9;
        let wn = 2.0 * std::f64::consts::PI * 4e6 / 2.058;
        PllLoop { spu: 3.879, alpha: 1.0 - (-2.0 * std::f64::consts::PI * 4e6 * t).exp(), a1: 2.0 * 0.707 * wn * t, a2: (wn * t).powi(2), order }
    }

    /// The reference PLL written plainly: each UI's edges gathered, their mean error the held
    /// input (`Σ/n` of the gathered list), then the loop's update.
    fn naive_pll(p: &PllLoop, edges: &[f64], base: f64, stop: f64) -> PllTrack {
        let mut t = PllTrack::default();
        let (mut phi, mut nu, mut held, mut j) = (0f64, 0f64, 0f64, 0usize);
        for k in 0usize.. {
            let c = base + k as f64 * p.spu + phi;
            t.clock.push(c);
            if c > stop {
                return t;
            }
            let mut errs = Vec::new();
            while j < edges.len() && edges[j] < c + 0.5 * (p.spu + nu) {
                errs.push(edges[j] - c);
                t.edge_ui.push(k);
                j += 1;
            }
            t.tie.extend(&errs);
            if !errs.is_empty() {
                held = phi + errs.iter().sum::<f64>() / errs.len() as f64;
            }
            let e = held - phi;
            if p.order == 2 {
                phi += nu + p.a1 * e;
                nu += p.a2 * e;
            } else {
                phi += p.alpha * e;
            }
        }
        unreachable!()
    }

    #[test]
    fn the_pll_loop_equals_its_plain_form_with_up_to_four_edges_a_ui() {
        // Edges 0.3 UI into their UIs with jitter, and UIs holding 2, 3 and 4 edges (glitches,
        // ringing), whose mean error the loop takes by other means than a division.
        for order in [1u8, 2] {
            let p = pll(order);
            let mut e = edges(40_000, p.spu, 120.0, 0.15, 7 + order as u64);
            let extra: Vec<f64> = e.iter().enumerate().filter(|(i, _)| i % 5 < 3).flat_map(|(i, &v)| (1..=i % 5 + 1).map(move |d| v + 0.07 * d as f64)).collect();
            e.extend(extra);
            e.sort_by(f64::total_cmp);
            let (base, stop) = (0.3 * p.spu - p.spu, e.last().unwrap() + 2.0 * p.spu);
            let (fast, plain) = (p.run(&e, 0, base, stop), naive_pll(&p, &e, base, stop));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast.clock), bits(&plain.clock), "order {order}");
            assert_eq!(bits(&fast.tie), bits(&plain.tie), "order {order}");
            assert_eq!(fast.edge_ui, plain.edge_ui, "order {order}");
            let per_ui = |n: usize| fast.edge_ui.chunk_by(|a, b| a == b).filter(|c| c.len() == n).count();
            assert!((2..=4).all(|n| per_ui(n) > 500), "{:?}", (1..=5).map(per_ui).collect::<Vec<_>>());
        }
    }

    #[test]
    fn pll_blocks_follow_the_sequential_loop_within_the_tolerance() {
        for order in [1u8, 2] {
            let p = pll(order);
            let e = edges(300_000, p.spu, 120.0, 0.15, order as u64);
            let end = e.last().unwrap() + 2.0 * p.spu;
            let track = p.run(&e, 0, 0.3 * p.spu - p.spu, end);
            let blocks = Blocks::new(300_000, 10_000, p.time_constant()).unwrap();
            assert!(blocks.count >= 2 && blocks.warmup as f64 >= 16.0 * p.time_constant());
            // The settled edge is found in whichever block holds the settle tick.
            for settle in [0, 5_000, 10_007, 123_456, 299_990, 400_000] {
                let seq = track.clone().into_clock(settle);
                let par = p.run_blocks(&e, 0.3 * p.spu - p.spu, end, blocks, settle).expect("every handover within the tolerance");
                assert_eq!(par.settled_edge, seq.settled_edge, "order {order}, settle {settle}");
                assert_eq!(par.centres.len(), seq.centres.len());
                assert_eq!(par.tie.len(), seq.tie.len());
                // Each edge against the tick of the same UI (another UI would be a whole UI off).
                let worst = par.centres.iter().zip(&seq.centres).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) / p.spu;
                let worst_tie = par.tie.iter().zip(&seq.tie).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) / p.spu;
                assert!(worst <= 2.0 * LINEAR_TOLERANCE_UI && worst_tie <= 2.0 * LINEAR_TOLERANCE_UI, "{worst} {worst_tie}");
                if settle == 0 {
                    eprintln!("order {order}: {} blocks of {} UI (warm-up {}), worst centre difference {worst:.2e} UI, TIE {worst_tie:.2e} UI", blocks.count, blocks.block, blocks.warmup);
                    assert_eq!(par.settled_edge, 0);
                    // Block 0 is the sequential run itself, up to its cut.
                    let first_cut = blocks.block as f64 * p.spu;
                    let exact = seq.centres.partition_point(|&c| c < first_cut) - 1;
                    assert_eq!(par.centres[..exact], seq.centres[..exact]);
                }
            }
            // The centres are the midpoints of the sequential ticks.
            let seq = track.clone().into_clock(0);
            assert_eq!(seq.centres.len() + 1, track.clock.len());
            assert_eq!(seq.centres[7], 0.5 * (track.clock[7] + track.clock[8]));
            assert_eq!(track.clone().into_clock(usize::MAX).settled_edge, track.tie.len());
            // A warm-up far too short fails the handover check (so the caller runs sequentially).
            let short = Blocks { warmup: 8, ..blocks };
            assert!(p.run_blocks(&e, 0.3 * p.spu - p.spu, end, short, 0).is_none(), "order {order}");
        }
    }

    #[test]
    fn cuts_and_layout() {
        assert_eq!(nearest(&[1.0, 2.0, 4.0], 2.9), Some(1));
        assert_eq!(nearest(&[1.0, 2.0, 4.0], 3.1), Some(2));
        assert_eq!(nearest(&[1.0, 2.0, 4.0], 9.0), Some(2));
        assert_eq!(nearest(&[1.0, 2.0, 4.0], -9.0), Some(0));
        assert_eq!(nearest(&[], 1.0), None);
        let prev: Vec<f64> = (0..100).map(|k| k as f64 * 4.0).collect();
        let next: Vec<f64> = (40..120).map(|k| k as f64 * 4.0 + 1e-9).collect();
        assert_eq!(centre_cut(&prev, &next, 200.0, 1e-6), Some((50, 10)));
        assert_eq!(centre_cut(&prev, &next, 200.0, 1e-12), None);
        let blocks = Blocks { block: 50, warmup: 10, count: 3 };
        let parts = vec![prev[..60].to_vec(), (40..120).map(|k| k as f64 * 4.0).collect(), (90..130).map(|k| k as f64 * 4.0).collect()];
        let stitched = stitch_centres(parts, blocks, 4.0, 1e-9).unwrap();
        assert_eq!(stitched, (0..130).map(|k| k as f64 * 4.0).collect::<Vec<_>>());
        assert!(Blocks::new(1_000_000, 0, 100.0).is_none());
        assert!(Blocks::new(1_000, 100, 100.0).is_none());
        let b = Blocks::new(1_000_000, 1000, 100.0).unwrap();
        assert_eq!((b.block, b.warmup, b.count), (6400, 1600, 157));
    }

    #[test]
    fn parallel_sums_match_the_sequential_ones() {
        let v: Vec<f64> = (0..100_003).map(|i| 3.0 + 0.25 * i as f64 + 0.1 * ((i * 7919) % 13) as f64).collect();
        let (m, r) = par_circular_mean(&v, 3.7);
        let (m0, r0) = circular_mean(v.iter().copied(), 3.7);
        assert!((m - m0).abs() < 1e-9 && (r - r0).abs() < 1e-9);
        // One pass: the head of `skip` elements dropped, the shift on every element left, the
        // slope from `from` on — against dropping, adding and fitting separately, for heads
        // within one chunk, of a whole chunk and longer, and results ending mid-chunk.
        for skip in [0, 1, 3, SUM_CHUNK - 1, SUM_CHUNK, SUM_CHUNK + 2] {
            for from in [0, 1, 16_384, 83_000] {
                let mut w = v.clone();
                let s = super::super::cdr::shift_and_slope(&mut w, skip, -2.5, from);
                let want = super::super::cdr::slope(&v[skip + from..]);
                assert!((s - want).abs() < 1e-12 * want.abs(), "skip {skip} from {from}: {s} vs {want}");
                assert_eq!(w.len(), v.len() - skip);
                assert!(w.iter().zip(&v[skip..]).all(|(a, b)| *a == b - 2.5), "skip {skip} from {from}");
            }
        }
        let mut short = vec![1.0, 2.0, 3.0];
        assert!(super::super::cdr::shift_and_slope(&mut short, 2, 1.0, 0).is_nan());
        assert_eq!(short, vec![4.0]);
        // Positions of a long capture (4e6 UI at 3.9 samples per UI, 37 ppm fast): the slope
        // within 1e-13 of the true one.
        let truth = 3.9 * (1.0 + 37e-6);
        let mut long: Vec<f64> = (0..4_000_000).map(|k| 1.0 + truth * k as f64).collect();
        let s = super::super::cdr::shift_and_slope(&mut long, 0, 0.0, 5);
        assert!((s / truth - 1.0).abs() < 1e-13, "{s} vs {truth}");
    }
}
