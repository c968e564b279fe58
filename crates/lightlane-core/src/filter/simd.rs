//! FIR kernels per engine (which of them the CPU can run: [`crate::simd`]).
//!
//! Every kernel computes the "valid" correlation `y[i] = Σ_j g[j] · x[i + j]` with `g` the
//! *reversed* taps (so that it equals `numpy.convolve(x, h, "valid")`), for
//! `x.len() == y.len() + g.len() - 1`.
//!
//! Blocking: each kernel keeps a block of outputs in registers (several independent
//! accumulators, enough to hide the FMA latency), broadcasts one tap at a time and
//! streams the input with unaligned loads (AVX-512: half of the shifted input vectors come from
//! permutes of 64-byte-aligned loads instead, see `PERMUTED`). Every output, whether it falls in a full block, a
//! single-vector step or the tail, is accumulated with the same operations in the same order
//! (tap 0 first, from zero; FMA for the FMA engines, separate multiply and add for the scalar
//! engine), so an engine's result for one output does not depend on where the output sits in the
//! buffer. That is what lets [`Fir::process_valid_par`](super::Fir::process_valid_par) split the
//! work anywhere and still match [`Fir::process_valid`](super::Fir::process_valid) bit for bit,
//! and why the AVX2/FMA and AVX-512 engines agree bit for bit.
//!
//! Architecture-specific code lives in this file only.

pub(crate) use crate::simd::cpu_features;

/// Outputs per block of the portable kernel.
const SCALAR_BLOCK: usize = 16;

/// Portable kernel: blocks of 16 outputs in a fixed-size accumulator array, which LLVM
/// vectorizes for the baseline ISA (SSE2 on x86_64, NEON on aarch64). Multiply and add stay
/// separate (Rust never contracts them), so the result is the same on every CPU.
pub(crate) fn correlate_valid_scalar(x: &[f32], g: &[f32], y: &mut [f32]) {
    let l = g.len();
    let n = y.len();
    assert!(
        l > 0 && x.len() + 1 == n + l,
        "FIR kernel: x.len() must be y.len() + taps - 1"
    );
    let mut i = 0;
    while i + SCALAR_BLOCK <= n {
        let mut acc = [0.0f32; SCALAR_BLOCK];
        for (j, &gj) in g.iter().enumerate() {
            let xs: &[f32; SCALAR_BLOCK] = x[i + j..i + j + SCALAR_BLOCK]
                .try_into()
                .expect("slice of block length");
            for m in 0..SCALAR_BLOCK {
                acc[m] += gj * xs[m];
            }
        }
        y[i..i + SCALAR_BLOCK].copy_from_slice(&acc);
        i += SCALAR_BLOCK;
    }
    for (k, out) in y.iter_mut().enumerate().skip(i) {
        let window = &x[k..k + l];
        let mut acc = 0.0f32;
        for (&gj, &xv) in g.iter().zip(window) {
            acc += gj * xv;
        }
        *out = acc;
    }
}

/// The lengths every kernel needs (a programmer-contract check: the planners size the buffers).
fn assert_valid_lengths(x: &[f32], g: &[f32], y: &[f32]) {
    assert!(
        !g.is_empty() && x.len() + 1 == y.len() + g.len(),
        "FIR kernel: x.len() must be y.len() + taps - 1"
    );
}

/// AVX2/FMA kernel; panics (like the other kernels) if the lengths do not fit, and falls back to
/// the portable kernel if the CPU lacks AVX2/FMA (callers check availability first).
pub(crate) fn correlate_valid_avx2_fma(x: &[f32], g: &[f32], y: &mut [f32]) {
    assert_valid_lengths(x, g, y);
    #[cfg(target_arch = "x86_64")]
    if cpu_features().avx2_fma {
        // SAFETY: the CPU supports AVX2 and FMA (checked above), and the lengths were asserted.
        unsafe { x86::correlate_valid_avx2_fma(x, g, y) };
        return;
    }
    correlate_valid_scalar(x, g, y);
}

/// AVX-512 kernel; panics if the lengths do not fit, and falls back to the portable kernel if the
/// CPU lacks AVX-512 (callers check availability first).
pub(crate) fn correlate_valid_avx512(x: &[f32], g: &[f32], y: &mut [f32]) {
    assert_valid_lengths(x, g, y);
    #[cfg(target_arch = "x86_64")]
    if cpu_features().avx512 {
        // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (checked above), and the lengths were asserted.
        unsafe { x86::correlate_valid_avx512(x, g, y) };
        return;
    }
    correlate_valid_scalar(x, g, y);
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Vectors (accumulators) per block: 8 independent FMA chains cover the 4-cycle FMA latency
    /// on two FMA ports, and leave registers for the broadcast tap and the loads.
    const ACCS: usize = 8;

    /// # Safety
    /// The CPU must support AVX2 and FMA; `x.len() == y.len() + g.len() - 1`, `g` non-empty.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn correlate_valid_avx2_fma(x: &[f32], g: &[f32], y: &mut [f32]) {
        const W: usize = 8;
        let l = g.len();
        let n = y.len();
        let xp = x.as_ptr();
        let gp = g.as_ptr();
        let yp = y.as_mut_ptr();
        let mut i = 0;
        // SAFETY (all pointer reads/writes below): output index `i + o` < n, and the input index
        // `i + o + j` ≤ n - 1 + l - 1 = x.len() - 1 for every tap j < l.
        while i + ACCS * W <= n {
            let mut acc = [_mm256_setzero_ps(); ACCS];
            for j in 0..l {
                let t = _mm256_broadcast_ss(&*gp.add(j));
                let p = xp.add(i + j);
                for (m, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(t, _mm256_loadu_ps(p.add(m * W)), *a);
                }
            }
            for (m, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(yp.add(i + m * W), *a);
            }
            i += ACCS * W;
        }
        while i + W <= n {
            let mut a = _mm256_setzero_ps();
            for j in 0..l {
                a = _mm256_fmadd_ps(
                    _mm256_broadcast_ss(&*gp.add(j)),
                    _mm256_loadu_ps(xp.add(i + j)),
                    a,
                );
            }
            _mm256_storeu_ps(yp.add(i), a);
            i += W;
        }
        while i < n {
            let mut a = _mm_setzero_ps();
            for j in 0..l {
                a = _mm_fmadd_ss(_mm_load_ss(gp.add(j)), _mm_load_ss(xp.add(i + j)), a);
            }
            _mm_store_ss(yp.add(i), a);
            i += 1;
        }
    }

    /// Which accumulators of an AVX-512 block take their shifted input from a two-register
    /// permute of aligned vectors instead of an unaligned load. A 64-byte unaligned load splits
    /// a cache line 15 times in 16 and costs two load slots, so loads alone cap the kernel near
    /// one FMA per cycle; moving some of the shifts to the shuffle port balances the two.
    const PERMUTED: [bool; ACCS] = [true, false, true, false, true, false, true, false];

    /// # Safety
    /// The CPU must support AVX-512F, AVX2 and FMA; `x.len() == y.len() + g.len() - 1`, `g` non-empty.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn correlate_valid_avx512(x: &[f32], g: &[f32], y: &mut [f32]) {
        const W: usize = 16;
        let l = g.len();
        let n = y.len();
        let xp = x.as_ptr();
        let gp = g.as_ptr();
        let yp = y.as_mut_ptr();
        // SAFETY (all pointer accesses): output index `i + o` < n; unaligned input index
        // `i + o + j` ≤ n - 1 + l - 1 = x.len() - 1 for every tap j < l; masked accesses touch
        // only lanes below the mask; the aligned vectors of a block end at input index
        // i + W·(a + ACCS + 1) - 1 < i + W·(groups + ACCS) ≤ x.len() (the block condition), and
        // start at a 64-byte boundary because the head moved `xp + i` onto one.
        // Head: single (masked) vectors until the input of the next output is 64-byte aligned.
        let head = ((64 - (xp as usize) % 64) % 64 / 4).min(n);
        single_vectors_avx512(xp, gp, yp, l, 0, head);
        let mut i = head;
        // Full blocks: ACCS vectors of outputs. Aligned vectors V[t] = x[i + W·t ..][..W] for
        // t up to ACCS + ceil(l / W), which must stay inside x.
        let groups = l.div_ceil(W);
        while i + ACCS * W <= n && i + W * (ACCS + groups) <= x.len() {
            let mut acc = [_mm512_setzero_ps(); ACCS];
            for a in 0..groups {
                let base = xp.add(i + W * a);
                let mut v = [_mm512_setzero_ps(); ACCS + 1];
                for (t, vt) in v.iter_mut().enumerate() {
                    *vt = _mm512_load_ps(base.add(W * t));
                }
                for s in 0..W.min(l - W * a) {
                    let j = W * a + s;
                    let tap = _mm512_set1_ps(*gp.add(j));
                    let idx = _mm512_loadu_si512(SHIFT_INDEX.as_ptr().add(s).cast());
                    for (m, am) in acc.iter_mut().enumerate() {
                        let shifted = if PERMUTED[m] {
                            _mm512_permutex2var_ps(v[m], idx, v[m + 1])
                        } else {
                            _mm512_loadu_ps(base.add(W * m + s))
                        };
                        *am = _mm512_fmadd_ps(tap, shifted, *am);
                    }
                }
            }
            for (m, am) in acc.iter().enumerate() {
                _mm512_storeu_ps(yp.add(i + m * W), *am);
            }
            i += ACCS * W;
        }
        single_vectors_avx512(xp, gp, yp, l, i, n);
    }

    /// `SHIFT_INDEX[s..s + 16]` = s, s+1, …, s+15: the `permutex2var` index that shifts the
    /// concatenation of two vectors down by `s` lanes.
    static SHIFT_INDEX: [i32; 32] = {
        let mut t = [0i32; 32];
        let mut k = 0;
        while k < 32 {
            t[k] = k as i32;
            k += 1;
        }
        t
    };

    /// Outputs `from..to`, one vector (16 outputs) at a time, the last one masked.
    ///
    /// # Safety
    /// As [`correlate_valid_avx512`], with `to ≤ n`.
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn single_vectors_avx512(
        xp: *const f32,
        gp: *const f32,
        yp: *mut f32,
        l: usize,
        from: usize,
        to: usize,
    ) {
        const W: usize = 16;
        let mut i = from;
        while i < to {
            let lanes = (to - i).min(W);
            let mask: __mmask16 = if lanes == W { !0 } else { (1u16 << lanes) - 1 };
            let mut a = _mm512_setzero_ps();
            for j in 0..l {
                a = _mm512_fmadd_ps(
                    _mm512_set1_ps(*gp.add(j)),
                    _mm512_maskz_loadu_ps(mask, xp.add(i + j)),
                    a,
                );
            }
            _mm512_mask_storeu_ps(yp.add(i), mask, a);
            i += lanes;
        }
    }
}
