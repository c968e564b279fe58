//! One parallel pass over an eye signal for what the eye histogram and TDECQ need before their
//! real work: whether every sample is finite, the extremes and how many samples sit on them
//! (clipping), the sample sum (P_ave), and the symbol-centre samples. (The threshold crossings'
//! parallel pass is [`super::metrics::crossings`]; its thread-count tests live here too.)
//!
//! The signal is cut into chunks of a fixed size ([`SCAN_CHUNK`] samples, rounded to whole
//! UIs) and the chunks' results are combined in chunk order, so every result is the same for
//! any number of threads. Everything but the sum is exact (equal to the serial folds it
//! replaces: [`scan_signal_reference`]); the sum is a blocked one (tested against the serial
//! `f64` sum within `n · ε · Σ|x|`).

// The negated comparisons are deliberate: NaN must fail them.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use super::EyeSignal;
use rayon::prelude::*;

/// Samples per chunk of the parallel scans (before rounding down to whole UIs): large enough
/// to amortise the task overhead, small enough to stay in L2 for the second look at a chunk.
pub(crate) const SCAN_CHUNK: usize = 1 << 15;

/// Lanes of the per-chunk folds (independent accumulators the compiler keeps in vector
/// registers).
const LANES: usize = 16;

/// What one pass over an eye signal's samples finds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SignalScan {
    /// Every sample is finite.
    pub finite: bool,
    /// Smallest sample (+∞ when there are none). The sign of a zero extreme is unspecified,
    /// as with `f32::min`.
    pub min: f32,
    /// Largest sample (−∞ when there are none).
    pub max: f32,
    /// Samples equal to `min`.
    pub at_min: usize,
    /// Samples equal to `max`.
    pub at_max: usize,
    /// Σ x (blocked in `f64`; only when asked for, else 0).
    pub sum: f64,
    /// The sample at the centre of every whole symbol ([`EyeSignal::centres`]).
    pub centres: Vec<f32>,
}

/// Per-chunk partial result.
#[derive(Clone, Copy)]
struct Part {
    finite: bool,
    min: f32,
    max: f32,
    at_min: usize,
    at_max: usize,
    sum: f64,
}

fn scan_chunk(x: &[f32], with_sum: bool) -> Part {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::avx2() {
        // SAFETY: the CPU supports AVX2 (checked above); the body is safe code.
        return unsafe {
            if with_sum {
                scan_chunk_avx2::<true>(x)
            } else {
                scan_chunk_avx2::<false>(x)
            }
        };
    }
    if with_sum {
        scan_chunk_body::<true>(x)
    } else {
        scan_chunk_body::<false>(x)
    }
}

/// [`scan_chunk_body`] compiled for AVX2 (no FMA: the same roundings as the portable build).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scan_chunk_avx2<const SUM: bool>(x: &[f32]) -> Part {
    scan_chunk_body::<SUM>(x)
}

/// One chunk: lane-wise extremes, non-finite count and (`SUM`) partial sums, then a second
/// look at the (cache-resident) chunk counting the samples on its extremes. Branch-free lane
/// loops, so they vectorize.
#[inline(always)]
fn scan_chunk_body<const SUM: bool>(x: &[f32]) -> Part {
    let (mut mn, mut mx, mut bad, mut sm) = ([f32::INFINITY; LANES], [f32::NEG_INFINITY; LANES], [0u32; LANES], [0f64; LANES]);
    let mut step = |k: usize, v: f32| {
        mn[k] = if v < mn[k] { v } else { mn[k] };
        mx[k] = if v > mx[k] { v } else { mx[k] };
        bad[k] |= (!v.is_finite()) as u32;
        if SUM {
            sm[k] += v as f64;
        }
    };
    let mut blocks = x.chunks_exact(LANES);
    for b in &mut blocks {
        for (k, &v) in b.iter().enumerate() {
            step(k, v);
        }
    }
    for (k, &v) in blocks.remainder().iter().enumerate() {
        step(k, v);
    }
    let min = mn.iter().fold(f32::INFINITY, |a, &v| if v < a { v } else { a });
    let max = mx.iter().fold(f32::NEG_INFINITY, |a, &v| if v > a { v } else { a });
    let finite = bad.iter().all(|&c| c == 0);
    // Second look at the (cache-resident) chunk: compare-and-add count loops. Wrapping adds
    // (a chunk is far below 2³² samples) so that builds with overflow checks vectorize too.
    let count = |e: f32| x.iter().fold(0u32, |a, &v| a.wrapping_add((v == e) as u32)) as usize;
    let (at_min, at_max) = if finite { (count(min), count(max)) } else { (0, 0) };
    Part { finite, min, max, at_min, at_max, sum: sm.iter().sum() }
}

/// Scans `signal` in one parallel pass (see the module docs); `with_sum` also sums the samples.
/// When a sample is not finite, `finite` is false and the other fields are meaningless.
pub(crate) fn scan_signal(signal: &EyeSignal, with_sum: bool) -> SignalScan {
    let x = &signal.samples;
    let s = signal.samples_per_ui;
    let chunk = (SCAN_CHUNK / s).max(1) * s;
    let mut centres = vec![0f32; signal.symbols()];
    let per = chunk / s;
    let parts: Vec<Part> = if centres.is_empty() {
        x.par_chunks(chunk).map(|c| scan_chunk(c, with_sum)).collect()
    } else {
        // Chunk c holds symbols c·per … (whole UIs: a chunk's centres are its own samples).
        let mut parts: Vec<Part> = x
            .par_chunks(chunk)
            .zip(centres.par_chunks_mut(per))
            .map(|(c, cen)| {
                for (o, u) in cen.iter_mut().zip(c.chunks_exact(s)) {
                    *o = u[s / 2];
                }
                scan_chunk(c, with_sum)
            })
            .collect();
        // The zip stops with the centres; a last partial UI is its own chunk.
        let covered = centres.len().div_ceil(per) * chunk;
        if covered < x.len() {
            parts.push(scan_chunk(&x[covered..], with_sum));
        }
        parts
    };
    let mut out = SignalScan {
        finite: true,
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
        at_min: 0,
        at_max: 0,
        sum: 0.0,
        centres,
    };
    for p in &parts {
        out.finite &= p.finite;
        out.sum += p.sum;
        if p.min < out.min {
            (out.min, out.at_min) = (p.min, p.at_min);
        } else if p.min == out.min {
            out.at_min += p.at_min;
        }
        if p.max > out.max {
            (out.max, out.at_max) = (p.max, p.at_max);
        } else if p.max == out.max {
            out.at_max += p.at_max;
        }
    }
    out
}

/// The serial passes [`scan_signal`] replaces (the reference): `None` when a sample is not
/// finite, else (min, max, at_min, at_max, Σ x in order, centres).
#[cfg(test)]
pub(crate) fn scan_signal_reference(signal: &EyeSignal) -> Option<(f32, f32, usize, usize, f64, Vec<f32>)> {
    let x = &signal.samples;
    if crate::error::check_finite("eye signal", x).is_err() {
        return None;
    }
    let (mn, mx) = x.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let at = |e: f32| x.iter().filter(|&&v| v == e).count();
    let sum = x.iter().map(|&v| v as f64).sum::<f64>();
    Some((mn, mx, at(mn), at(mx), sum, signal.centres()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A PAM4-like signal with noise, optionally clipped at both ends.
    fn signal(n: usize, s: usize, seed: u64, clip: bool) -> EyeSignal {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut level = 0f32;
        let samples = (0..n)
            .map(|i| {
                if i % s == 0 {
                    level = rng.random_range(0..4) as f32 - 1.5;
                }
                let v = level + rng.random_range(-0.3f32..0.3);
                if clip {
                    v.clamp(-1.6, 1.6)
                } else {
                    v
                }
            })
            .collect();
        EyeSignal::new(samples, s).unwrap()
    }

    fn pools() -> [rayon::ThreadPool; 2] {
        [1, 2].map(|t| rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap())
    }

    #[test]
    fn scan_equals_the_serial_folds_for_any_thread_count() {
        let [p1, p2] = pools();
        // Sizes around the chunk boundary (in whole UIs and not), a partial last UI, tiny ones.
        for (i, &(n, s)) in [(0usize, 4usize), (1, 4), (7, 2), (SCAN_CHUNK - 1, 32), (SCAN_CHUNK, 32), (SCAN_CHUNK + 1, 32), (3 * SCAN_CHUNK + 17, 6), (5 * SCAN_CHUNK, 32), (200_003, 8)].iter().enumerate() {
            for clip in [false, true] {
                let sig = signal(n, s, 11 + i as u64, clip);
                let a = p1.install(|| scan_signal(&sig, true));
                let b = p2.install(|| scan_signal(&sig, true));
                assert_eq!(a, b, "n {n} s {s}: thread count changed the scan");
                let (mn, mx, at_mn, at_mx, sum, centres) = scan_signal_reference(&sig).unwrap();
                assert!(a.finite);
                assert_eq!((a.min, a.max, a.at_min, a.at_max), (mn, mx, at_mn, at_mx), "n {n} s {s} clip {clip}");
                assert_eq!(a.centres, centres, "n {n} s {s}");
                let abs: f64 = sig.samples.iter().map(|&v| (v as f64).abs()).sum();
                let tol = 2.0 * n as f64 * f64::EPSILON * abs;
                assert!((a.sum - sum).abs() <= tol, "n {n} s {s}: {} vs {sum} (tol {tol})", a.sum);
                if clip && n > 1000 {
                    assert!(a.at_min > 10 && a.at_max > 10, "the clipped signal must pin samples");
                }
                assert_eq!(scan_signal(&sig, false).sum, 0.0);
            }
        }
    }

    #[test]
    fn scan_flags_every_non_finite_sample() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in [0, 5, SCAN_CHUNK - 1, SCAN_CHUNK, 2 * SCAN_CHUNK + 3] {
                let mut sig = signal(3 * SCAN_CHUNK, 8, 3, false);
                sig.samples[at] = bad;
                assert!(!scan_signal(&sig, false).finite, "{bad} at {at}");
                assert!(scan_signal_reference(&sig).is_none());
            }
        }
    }

    #[test]
    fn parallel_crossings_equal_the_serial_ones() {
        let [p1, p2] = pools();
        for (i, &(n, s)) in [(0usize, 4usize), (2, 4), (SCAN_CHUNK, 32), (SCAN_CHUNK + 1, 32), (SCAN_CHUNK + 2, 32), (4 * SCAN_CHUNK + 77, 6)].iter().enumerate() {
            let sig = signal(n, s, 100 + i as u64, i % 2 == 0);
            for th in [0.0, 0.5, -1.0] {
                let want = super::super::metrics::crossings_reference(&sig, th);
                let a = p1.install(|| super::super::metrics::crossings(&sig, th));
                let b = p2.install(|| super::super::metrics::crossings(&sig, th));
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&want), "n {n} s {s} th {th}");
                assert_eq!(bits(&b), bits(&want), "n {n} s {s} th {th}");
                if n > 1000 {
                    assert!(want.len() > 100);
                }
            }
        }
    }

    #[test]
    fn real_capture_scan_and_crossings_equal_the_serial_passes() {
        // Real 10GBASE-R NRZ capture (float32 volts, 40 GS/s; see shared/captures/MANIFEST.md),
        // taken as is at 4 samples per "UI": the scans do not care about alignment.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures/scopehal_ngscopeclient/10GBASE-R_waveform_1_channel_3.densev1.f32le.bin");
        let Ok(bytes) = std::fs::read(path) else {
            println!("skipped: capture not found at {path}");
            return;
        };
        let x: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        assert_eq!(x.len(), 200_003);
        let sig = EyeSignal::new(x, 4).unwrap();
        let [p1, p2] = pools();
        let a = p1.install(|| scan_signal(&sig, true));
        assert_eq!(a, p2.install(|| scan_signal(&sig, true)));
        let (mn, mx, at_mn, at_mx, sum, centres) = scan_signal_reference(&sig).unwrap();
        assert_eq!((a.min, a.max, a.at_min, a.at_max), (mn, mx, at_mn, at_mx));
        assert_eq!(a.centres, centres);
        let abs: f64 = sig.samples.iter().map(|&v| (v as f64).abs()).sum();
        assert!((a.sum - sum).abs() <= 2.0 * sig.samples.len() as f64 * f64::EPSILON * abs);
        let th = sum / sig.samples.len() as f64;
        let want = super::super::metrics::crossings_reference(&sig, th);
        assert!(want.len() > 20_000, "{} crossings", want.len());
        let got = p2.install(|| super::super::metrics::crossings(&sig, th));
        assert!(got.iter().map(|v| v.to_bits()).eq(want.iter().map(|v| v.to_bits())));
    }

    #[test]
    fn from_centred_vec_equals_from_centred() {
        for (n, s) in [(40usize, 8usize), (41, 8), (SCAN_CHUNK + 5, 32), (20, 8), (3, 2)] {
            let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
            match (EyeSignal::from_centred(&x, s), EyeSignal::from_centred_vec(x.clone(), s)) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("n {n} s {s}: {a:?} vs {b:?}"),
            }
        }
        assert!(EyeSignal::from_centred_vec(vec![0.0; 64], 3).is_err());
    }

    #[test]
    fn eye_level_clustering_is_the_reference_on_any_thread_count() {
        let [p1, p2] = pools();
        let bits = |c: &crate::timing::LevelClusters| {
            (c.means.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), c.sigmas.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), c.counts.clone(), c.separation.to_bits())
        };
        for (i, &(n, levels)) in [(31usize, 4usize), (32, 4), (1000, 2), (100_000, 4), (333_333, 4), (50_000, 8)].iter().enumerate() {
            for clip in [false, true] {
                let sig = signal(n, 2, 40 + i as u64, clip);
                let want = crate::timing::cluster_levels_reference(&sig.samples, levels);
                let a = p1.install(|| crate::timing::cluster_levels(&sig.samples, levels));
                let b = p2.install(|| crate::timing::cluster_levels(&sig.samples, levels));
                match (want, a, b) {
                    (Ok(w), Ok(a), Ok(b)) => {
                        assert_eq!(bits(&a), bits(&w), "n {n} levels {levels}");
                        assert_eq!(bits(&b), bits(&w), "n {n} levels {levels}");
                    }
                    (Err(w), Err(a), Err(b)) => assert!(w.to_string() == a.to_string() && a.to_string() == b.to_string()),
                    (w, a, b) => panic!("n {n}: {w:?} / {a:?} / {b:?}"),
                }
            }
        }
        // A constant input (every sample in one cluster) and one with NaN (serial path).
        let flat = vec![0.25f32; 4096];
        assert_eq!(bits(&crate::timing::cluster_levels(&flat, 4).unwrap()), bits(&crate::timing::cluster_levels_reference(&flat, 4).unwrap()));
        let mut nan = signal(4096, 2, 9, false).samples;
        nan[7] = f32::NAN;
        assert_eq!(format!("{:?}", crate::timing::cluster_levels(&nan, 4)), format!("{:?}", crate::timing::cluster_levels_reference(&nan, 4)));
    }
}
