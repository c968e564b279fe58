//! The x86_64 SIMD kernels of the equalizers (SSE2, part of the x86_64 baseline, so no runtime
//! detection is needed). Every kernel has a portable twin in its module that performs the same
//! floating-point operations in the same order; tests check that both agree bit for bit.

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
