//! The x86_64 SIMD kernels of the equalizers. The 4-state MLSE kernels use SSE2 (part of the
//! x86_64 baseline, no runtime detection); the lane-interleaved block detectors use AVX2, and
//! their callers check for it at run time and fall back to the sequential detectors. Every
//! kernel has a portable twin that performs the same floating-point operations in the same
//! order; tests check that both agree bit for bit.

use super::mlse::Trellis4;
use std::arch::x86_64::*;

/// The kernel constants in registers.
struct Consts {
    mu: [__m128; 4],
    w: [__m128; 4],
    b: [__m128; 4],
    lo: __m128,
    hi: __m128,
}

impl Consts {
    fn new(t: &Trellis4) -> Consts {
        // SAFETY: SSE2 is part of the x86_64 baseline; the loads read local arrays.
        unsafe {
            let load = |rows: &[[f32; 4]; 4]| {
                [
                    _mm_loadu_ps(rows[0].as_ptr()),
                    _mm_loadu_ps(rows[1].as_ptr()),
                    _mm_loadu_ps(rows[2].as_ptr()),
                    _mm_loadu_ps(rows[3].as_ptr()),
                ]
            };
            Consts {
                mu: load(&t.mu),
                w: load(&t.w),
                b: load(&t.b),
                lo: _mm_set_ss(t.lo),
                hi: _mm_set_ss(t.hi),
            }
        }
    }
}

/// One trellis step: new path metrics and the survivor word (see [`acs4_sse2`]).
#[inline(always)]
fn step<const WEIGHTED: bool>(c: &Consts, m: __m128, raw: f32, normalise: bool) -> (__m128, u32) {
    // SAFETY: SSE2 is part of the x86_64 baseline; register operations only.
    unsafe {
        let yc = _mm_max_ss(_mm_min_ss(_mm_set_ss(raw), c.hi), c.lo);
        let yv = _mm_shuffle_ps(yc, yc, 0);
        let branch = |p: usize| {
            let d = _mm_sub_ps(yv, c.mu[p]);
            let dd = _mm_mul_ps(d, d);
            if WEIGHTED {
                _mm_add_ps(_mm_mul_ps(dd, c.w[p]), c.b[p])
            } else {
                dd
            }
        };
        let c0 = _mm_add_ps(_mm_shuffle_ps(m, m, 0x00), branch(0));
        let c1 = _mm_add_ps(_mm_shuffle_ps(m, m, 0x55), branch(1));
        let c2 = _mm_add_ps(_mm_shuffle_ps(m, m, 0xaa), branch(2));
        let c3 = _mm_add_ps(_mm_shuffle_ps(m, m, 0xff), branch(3));
        let l01 = _mm_cmplt_ps(c1, c0);
        let b01 = _mm_min_ps(c1, c0);
        let l23 = _mm_cmplt_ps(c3, c2);
        let b23 = _mm_min_ps(c3, c2);
        let l = _mm_cmplt_ps(b23, b01);
        let best = _mm_min_ps(b23, b01);
        // Predecessor per lane: l ? 2 + l23 : l01 (masks are 0 / −1), packed to one byte each.
        let zero = _mm_setzero_si128();
        let (l01, l23, l) = (_mm_castps_si128(l01), _mm_castps_si128(l23), _mm_castps_si128(l));
        let a01 = _mm_sub_epi32(zero, l01);
        let a23 = _mm_sub_epi32(_mm_set1_epi32(2), l23);
        let pred = _mm_or_si128(_mm_and_si128(l, a23), _mm_andnot_si128(l, a01));
        let word = _mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(pred, pred), zero)) as u32;
        let next = if normalise { _mm_sub_ps(best, _mm_shuffle_ps(best, best, 0)) } else { best };
        (next, word)
    }
}

/// SSE2 twin of [`super::mlse::acs4_portable`]: the four new states are the four lanes; the
/// path metric of each predecessor is broadcast, the tournament (0 vs 1, 2 vs 3, winners) uses
/// `minps` with the same operand order as the portable comparisons, and the comparison masks
/// become the predecessor of each state, one byte per state in the survivor word.
pub(crate) fn acs4_sse2<const WEIGHTED: bool>(t: &Trellis4, pm: &mut [f32; 4], y: &[f32], surv: &mut [u32], k0: usize) {
    let c = Consts::new(t);
    let every = super::mlse::NORMALISE_EVERY;
    // SAFETY: SSE2 is part of the x86_64 baseline; the load and store touch `pm` only.
    let mut m = unsafe { _mm_loadu_ps(pm.as_ptr()) };
    for (i, (&raw, word)) in y.iter().zip(surv.iter_mut()).enumerate() {
        let (next, w) = step::<WEIGHTED>(&c, m, raw, (k0 + i) % every == every - 1);
        *word = w;
        m = next;
    }
    unsafe { _mm_storeu_ps(pm.as_mut_ptr(), m) };
}

/// [`acs4_sse2`] on two equal-length inputs in lockstep: two independent dependency chains
/// the CPU overlaps. Each stream gets exactly the operations [`acs4_sse2`] would apply.
#[allow(clippy::type_complexity)]
pub(crate) fn acs4_pair_sse2<const WEIGHTED: bool>(
    t: &Trellis4,
    a: (&mut [f32; 4], &[f32], &mut [u32]),
    b: (&mut [f32; 4], &[f32], &mut [u32]),
    k0: usize,
) {
    let c = Consts::new(t);
    let every = super::mlse::NORMALISE_EVERY;
    let (pa, ya, sa) = a;
    let (pb, yb, sb) = b;
    debug_assert!(ya.len() == yb.len() && sa.len() == ya.len() && sb.len() == yb.len());
    // SAFETY: SSE2 is part of the x86_64 baseline; the loads and stores touch `pa`/`pb` only.
    let (mut ma, mut mb) = unsafe { (_mm_loadu_ps(pa.as_ptr()), _mm_loadu_ps(pb.as_ptr())) };
    for (i, ((&ra, wa), (&rb, wb))) in ya.iter().zip(sa.iter_mut()).zip(yb.iter().zip(sb.iter_mut())).enumerate() {
        let normalise = (k0 + i) % every == every - 1;
        let (na, xa) = step::<WEIGHTED>(&c, ma, ra, normalise);
        let (nb, xb) = step::<WEIGHTED>(&c, mb, rb, normalise);
        *wa = xa;
        *wb = xb;
        ma = na;
        mb = nb;
    }
    unsafe {
        _mm_storeu_ps(pa.as_mut_ptr(), ma);
        _mm_storeu_ps(pb.as_mut_ptr(), mb);
    }
}

/// History rows of the interleaved DFE (a power of two above the 32-tap maximum).
const DFE_RING: usize = 64;

/// The interleaved DFE ([`super::dfe::Dfe::detect_interleaved`]): 16 windows of `len` values
/// (window `j` = `y[j·stride..]`, lanes `j ≥ count` repeat window 0 and are ignored) detected
/// in lockstep, lane `j` in element `j % 8` of vector `j / 8`. Each lane performs the
/// operations of the direct form (`p = y − b[2]α(d[k−2]) − … − b[N]α(d[k−N])`,
/// `z = p − b[1]α(d[k−1])`, `d = #{j : z ≥ t_j}`), with missing history as α = 0, which
/// changes at most the sign of a zero `z` and never a decision. The level `α(d)` is selected
/// bit-exactly by XOR-ing the level differences under the nested threshold masks. Decisions
/// go to `dec[t·16 + j]`.
///
/// # Safety
/// AVX2 must be available; `count ≥ 1`, `(count − 1)·stride + len ≤ y.len()`,
/// `dec.len() ≥ 16·len`, `16·stride + len < 2³¹`, `taps.len() ≤ 32`.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn dfe_lanes_avx2<const M: usize>(
    taps: &[f32],
    alphabet: &[f32],
    thresholds: &[f32],
    y: &[f32],
    stride: usize,
    count: usize,
    len: usize,
    dec: &mut [u8],
) {
    unsafe {
        const L: usize = 16;
        debug_assert!(count >= 1 && (count - 1) * stride + len <= y.len() && dec.len() >= L * len);
        debug_assert!(taps.len() < DFE_RING && alphabet.len() == M && thresholds.len() == M - 1);
        let nt = taps.len();
        let mut offsets = [0i32; L];
        for (j, o) in offsets.iter_mut().enumerate().take(count) {
            *o = (j * stride) as i32;
        }
        let idx = [
            _mm256_loadu_si256(offsets.as_ptr() as *const __m256i),
            _mm256_loadu_si256(offsets.as_ptr().add(8) as *const __m256i),
        ];
        let mut b = [_mm256_setzero_ps(); 32];
        for (v, &t) in b.iter_mut().zip(taps) {
            *v = _mm256_set1_ps(t);
        }
        let mut thr = [_mm256_setzero_ps(); 3];
        let mut diff = [_mm256_setzero_ps(); 3];
        for j in 0..M - 1 {
            thr[j] = _mm256_set1_ps(thresholds[j]);
            diff[j] = _mm256_set1_ps(f32::from_bits(alphabet[j].to_bits() ^ alphabet[j + 1].to_bits()));
        }
        let l0 = _mm256_set1_ps(alphabet[0]);
        // α of the last DFE_RING decisions per lane, zero before the first.
        let mut ring = [0.0f32; DFE_RING * L];
        let mut prev = [_mm256_setzero_ps(); 2];
        let base = y.as_ptr();
        let rp = ring.as_mut_ptr();
        for t in 0..len {
            let row = (t & (DFE_RING - 1)) * L;
            for v in 0..2 {
                let mut p = _mm256_i32gather_ps::<4>(base.add(t), idx[v]);
                for i in 2..=nt {
                    let old = _mm256_loadu_ps(rp.add((t.wrapping_sub(i) & (DFE_RING - 1)) * L + 8 * v));
                    p = _mm256_sub_ps(p, _mm256_mul_ps(b[i - 1], old));
                }
                let z = _mm256_sub_ps(p, _mm256_mul_ps(b[0], prev[v]));
                let mut alpha = l0;
                let mut count_v = _mm256_setzero_si256();
                for j in 0..M - 1 {
                    let m = _mm256_cmp_ps::<_CMP_GE_OQ>(z, thr[j]);
                    alpha = _mm256_xor_ps(alpha, _mm256_and_ps(m, diff[j]));
                    count_v = _mm256_sub_epi32(count_v, _mm256_castps_si256(m));
                }
                prev[v] = alpha;
                _mm256_storeu_ps(rp.add(row + 8 * v), alpha);
                let w16 = _mm256_packs_epi32(count_v, count_v);
                let w8 = _mm256_packus_epi16(w16, w16);
                let lo = _mm256_cvtsi256_si32(w8) as u32 as u64;
                let hi = _mm256_extract_epi32::<4>(w8) as u32 as u64;
                std::ptr::write_unaligned(dec.as_mut_ptr().add(t * L + 8 * v) as *mut u64, lo | (hi << 32));
            }
        }
    }
}

/// Forward 4-state add-compare-select of the interleaved MLSE: 8 windows (window `j` starts
/// at `y[offsets[j]]`) in the lanes of one AVX2 vector, symbols `k0..k1` of each. Per lane the
/// operations of [`acs4_sse2`]: clamp (`min` then `max`), branch metrics `(y − μ)²` (weighted:
/// `·w + b`), the tournament 0 vs 1, 2 vs 3, winners, and renormalisation by state 0 when
/// `k % NORMALISE_EVERY == NORMALISE_EVERY − 1`. `pm[s][j]` is state `s` of lane `j`; the
/// survivor word of lane `j` at symbol `k` goes to `surv[(k − k0)·8 + j]`.
///
/// # Safety
/// AVX2 must be available; `y[offsets[j] + k]` must be in bounds for every lane and
/// `k < k1`; `surv.len() ≥ 8·(k1 − k0)`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn acs4_lanes_avx2<const WEIGHTED: bool>(
    t: &Trellis4,
    pm: &mut [[f32; 8]; 4],
    y: &[f32],
    offsets: &[i32; 8],
    k0: usize,
    k1: usize,
    surv: &mut [u32],
) {
    debug_assert!(surv.len() >= 8 * (k1 - k0));
    unsafe {
        let every = super::mlse::NORMALISE_EVERY;
        let idx = _mm256_loadu_si256(offsets.as_ptr() as *const __m256i);
        let mut mu = [[_mm256_setzero_ps(); 4]; 4];
        let mut w = [[_mm256_setzero_ps(); 4]; 4];
        let mut b = [[_mm256_setzero_ps(); 4]; 4];
        for p in 0..4 {
            for s in 0..4 {
                mu[p][s] = _mm256_set1_ps(t.mu[p][s]);
                w[p][s] = _mm256_set1_ps(t.w[p][s]);
                b[p][s] = _mm256_set1_ps(t.b[p][s]);
            }
        }
        let (lo, hi) = (_mm256_set1_ps(t.lo), _mm256_set1_ps(t.hi));
        let two = _mm256_set1_epi32(2);
        let zero = _mm256_setzero_si256();
        let mut m = [
            _mm256_loadu_ps(pm[0].as_ptr()),
            _mm256_loadu_ps(pm[1].as_ptr()),
            _mm256_loadu_ps(pm[2].as_ptr()),
            _mm256_loadu_ps(pm[3].as_ptr()),
        ];
        let base = y.as_ptr();
        let out = surv.as_mut_ptr() as *mut __m256i;
        for k in k0..k1 {
            let raw = _mm256_i32gather_ps::<4>(base.add(k), idx);
            let yc = _mm256_max_ps(_mm256_min_ps(raw, hi), lo);
            let mut next = [_mm256_setzero_ps(); 4];
            let mut word = zero;
            for s in 0..4 {
                let cost = |p: usize| {
                    let d = _mm256_sub_ps(yc, mu[p][s]);
                    let dd = _mm256_mul_ps(d, d);
                    let br = if WEIGHTED { _mm256_add_ps(_mm256_mul_ps(dd, w[p][s]), b[p][s]) } else { dd };
                    _mm256_add_ps(m[p], br)
                };
                let (c0, c1, c2, c3) = (cost(0), cost(1), cost(2), cost(3));
                let l01 = _mm256_cmp_ps::<_CMP_LT_OQ>(c1, c0);
                let b01 = _mm256_min_ps(c1, c0);
                let l23 = _mm256_cmp_ps::<_CMP_LT_OQ>(c3, c2);
                let b23 = _mm256_min_ps(c3, c2);
                let l = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LT_OQ>(b23, b01));
                next[s] = _mm256_min_ps(b23, b01);
                let a01 = _mm256_sub_epi32(zero, _mm256_castps_si256(l01));
                let a23 = _mm256_sub_epi32(two, _mm256_castps_si256(l23));
                let pred = _mm256_or_si256(_mm256_and_si256(l, a23), _mm256_andnot_si256(l, a01));
                word = _mm256_or_si256(word, _mm256_sll_epi32(pred, _mm_cvtsi32_si128(8 * s as i32)));
            }
            if k % every == every - 1 {
                let n0 = next[0];
                for v in &mut next {
                    *v = _mm256_sub_ps(*v, n0);
                }
            }
            m = next;
            _mm256_storeu_si256(out.add(k - k0), word);
        }
        for s in 0..4 {
            _mm256_storeu_ps(pm[s].as_mut_ptr(), m[s]);
        }
    }
}

/// Forward add-compare-select of the interleaved MLSE for any trellis of [`super::mlse::Mlse`]
/// (`M` levels, memory `MEM`, `M^MEM ≤ 16` states): 8 windows (window `j` starts at
/// `y[offsets[j]]`) in the lanes of one AVX2 vector, symbols `k0..k1`. Per lane the operations
/// of the sequential generic trellis: clamp, for each new state `nx` the predecessors
/// `p = nx/M + j·M^(MEM−1)` in order `j = 0..M` with `c = pm[p] + (y − μ)²` (weighted:
/// `+ ((y − μ)²·w + b)`), the first strictly smaller candidate winning, renormalisation by
/// state 0 every `NORMALISE_EVERY` symbols. `pm[s][j]` is state `s` of lane `j`; the survivor
/// (the `j` of the winner) of state `s`, lane `l`, symbol `k` goes to
/// `surv[((k % ring)·states + s)·8 + l]`.
///
/// # Safety
/// AVX2 must be available; `y[offsets[l] + k]` in bounds for every lane and `k < k1`;
/// `surv.len() ≥ ring·states·8`; `mu.len()` and (weighted) `wb.len()` ≥ `states·M`.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)] // indices name trellis states
pub(crate) unsafe fn acs_lanes_avx2<const M: usize, const MEM: usize, const WEIGHTED: bool>(
    mu: &[f32],
    wb: &[(f32, f32)],
    lo: f32,
    hi: f32,
    pm: &mut [[f32; 8]; 16],
    y: &[f32],
    offsets: &[i32; 8],
    k0: usize,
    k1: usize,
    ring: usize,
    surv: &mut [u8],
) {
    let states = M.pow(MEM as u32);
    let stride = states / M;
    debug_assert!(states <= 16 && mu.len() >= states * M && surv.len() >= ring * states * 8);
    unsafe {
        let every = super::mlse::NORMALISE_EVERY;
        let idx = _mm256_loadu_si256(offsets.as_ptr() as *const __m256i);
        let mut muv = [_mm256_setzero_ps(); 64];
        let mut wv = [_mm256_setzero_ps(); 64];
        let mut bv = [_mm256_setzero_ps(); 64];
        for i in 0..states * M {
            muv[i] = _mm256_set1_ps(mu[i]);
            if WEIGHTED {
                wv[i] = _mm256_set1_ps(wb[i].0);
                bv[i] = _mm256_set1_ps(wb[i].1);
            }
        }
        let mut jv = [_mm256_setzero_ps(); 4];
        for (j, v) in jv.iter_mut().enumerate() {
            *v = _mm256_castsi256_ps(_mm256_set1_epi32(j as i32));
        }
        let (lov, hiv) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
        let inf = _mm256_set1_ps(f32::INFINITY);
        let mut m = [_mm256_setzero_ps(); 16];
        for s in 0..states {
            m[s] = _mm256_loadu_ps(pm[s].as_ptr());
        }
        let base = y.as_ptr();
        for k in k0..k1 {
            let raw = _mm256_i32gather_ps::<4>(base.add(k), idx);
            let yc = _mm256_max_ps(_mm256_min_ps(raw, hiv), lov);
            let row = surv.as_mut_ptr().add((k % ring) * states * 8);
            let mut next = [_mm256_setzero_ps(); 16];
            for nx in 0..states {
                let s = nx % M;
                let b0 = nx / M;
                let mut best = inf;
                let mut arg = _mm256_setzero_ps();
                for j in 0..M {
                    let p = b0 + j * stride;
                    let i = p * M + s;
                    let d = _mm256_sub_ps(yc, muv[i]);
                    let dd = _mm256_mul_ps(d, d);
                    let br = if WEIGHTED { _mm256_add_ps(_mm256_mul_ps(dd, wv[i]), bv[i]) } else { dd };
                    let c = _mm256_add_ps(m[p], br);
                    let lt = _mm256_cmp_ps::<_CMP_LT_OQ>(c, best);
                    best = _mm256_blendv_ps(best, c, lt);
                    arg = _mm256_blendv_ps(arg, jv[j], lt);
                }
                next[nx] = best;
                let a = _mm256_castps_si256(arg);
                let w16 = _mm256_packs_epi32(a, a);
                let w8 = _mm256_packus_epi16(w16, w16);
                let lo32 = _mm256_cvtsi256_si32(w8) as u32 as u64;
                let hi32 = _mm256_extract_epi32::<4>(w8) as u32 as u64;
                std::ptr::write_unaligned(row.add(nx * 8) as *mut u64, lo32 | (hi32 << 32));
            }
            if k % every == every - 1 {
                let n0 = next[0];
                for v in next.iter_mut().take(states) {
                    *v = _mm256_sub_ps(*v, n0);
                }
            }
            m = next;
        }
        for s in 0..states {
            _mm256_storeu_ps(pm[s].as_mut_ptr(), m[s]);
        }
    }
}
