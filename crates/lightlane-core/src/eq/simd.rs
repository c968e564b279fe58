//! The x86_64 SIMD kernels of the equalizers (SSE2, part of the x86_64 baseline, so no runtime
//! detection is needed). Every kernel has a portable twin in its module that performs the same
//! floating-point operations in the same order; tests check that both agree bit for bit.

use super::mlse::Trellis4;
use std::arch::x86_64::*;

/// SSE2 twin of [`super::mlse::acs4_portable`]: the four new states are the four lanes; the
/// path metric of each predecessor is broadcast, the tournament (0 vs 1, 2 vs 3, winners) uses
/// `minps` with the same operand order as the portable comparisons, and the three comparison
/// masks become the survivor word through `movmskps`.
pub(crate) fn acs4_sse2<const WEIGHTED: bool>(t: &Trellis4, pm: &mut [f32; 4], y: &[f32], surv: &mut [u16], k0: usize) {
    // SAFETY: SSE2 is part of the x86_64 baseline; every load and store is of a local array or
    // goes through safe indexing.
    unsafe {
        let mu = [
            _mm_loadu_ps(t.mu[0].as_ptr()),
            _mm_loadu_ps(t.mu[1].as_ptr()),
            _mm_loadu_ps(t.mu[2].as_ptr()),
            _mm_loadu_ps(t.mu[3].as_ptr()),
        ];
        let w = [
            _mm_loadu_ps(t.w[0].as_ptr()),
            _mm_loadu_ps(t.w[1].as_ptr()),
            _mm_loadu_ps(t.w[2].as_ptr()),
            _mm_loadu_ps(t.w[3].as_ptr()),
        ];
        let b = [
            _mm_loadu_ps(t.b[0].as_ptr()),
            _mm_loadu_ps(t.b[1].as_ptr()),
            _mm_loadu_ps(t.b[2].as_ptr()),
            _mm_loadu_ps(t.b[3].as_ptr()),
        ];
        let (lo, hi) = (_mm_set_ss(t.lo), _mm_set_ss(t.hi));
        let mut m = _mm_loadu_ps(pm.as_ptr());
        let every = super::mlse::NORMALISE_EVERY;
        for (i, (&raw, word)) in y.iter().zip(surv.iter_mut()).enumerate() {
            let yc = _mm_max_ss(_mm_min_ss(_mm_set_ss(raw), hi), lo);
            let yv = _mm_shuffle_ps(yc, yc, 0);
            let branch = |p: usize| {
                let d = _mm_sub_ps(yv, mu[p]);
                let dd = _mm_mul_ps(d, d);
                if WEIGHTED {
                    _mm_add_ps(_mm_mul_ps(dd, w[p]), b[p])
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
            *word = (_mm_movemask_ps(l01) | (_mm_movemask_ps(l23) << 4) | (_mm_movemask_ps(l) << 8)) as u16;
            m = if (k0 + i) % every == every - 1 {
                _mm_sub_ps(best, _mm_shuffle_ps(best, best, 0))
            } else {
                best
            };
        }
        _mm_storeu_ps(pm.as_mut_ptr(), m);
    }
}
