//! The one place that asks the CPU which SIMD instruction sets it has (STYLE habit 2: dispatch in
//! one place). Every module's `simd.rs` kernels and every detector that picks a vector path
//! reads these functions; each kernel keeps its portable fallback, which is also its oracle in
//! the tests. The standard library caches the CPUID answer, so a call is a few relaxed loads
//! (the same cost as the `is_x86_feature_detected!` it replaces at each call site).

/// Which SIMD engines this CPU can run (all `false` off x86-64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CpuFeatures {
    /// AVX2 and FMA.
    pub avx2_fma: bool,
    /// AVX-512 F (with AVX2 and FMA, which every AVX-512 CPU has).
    pub avx512: bool,
}

/// The FIR engines' view: AVX2+FMA and AVX-512F.
pub(crate) fn cpu_features() -> CpuFeatures {
    let avx2_fma = avx2_fma();
    CpuFeatures { avx2_fma, avx512: avx2_fma && avx512f() }
}

/// AVX2 (256-bit integer and float vectors).
#[inline]
pub(crate) fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// AVX2 and FMA.
#[inline]
pub(crate) fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// AVX-512 F.
#[inline]
fn avx512f() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_agree_with_the_standard_library_and_nest() {
        let f = cpu_features();
        assert_eq!(f.avx2_fma, avx2_fma());
        assert!(!f.avx512 || f.avx2_fma, "an AVX-512 engine implies the AVX2/FMA one");
        assert!(!avx2_fma() || avx2(), "FMA engines need AVX2");
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(avx2(), std::arch::is_x86_feature_detected!("avx2"));
            assert_eq!(f.avx512, f.avx2_fma && std::arch::is_x86_feature_detected!("avx512f"));
        }
    }
}
