//! The WGSL sources, one file per kernel family (in `shaders/`).

/// Raw ADC codes → volts (`codes_i8`, `codes_i16`).
pub const CONVERT: &str = include_str!("../shaders/convert.wgsl");
/// The unrolled symbol-spaced FFE (`ffe4`) that [`FIR`] and [`SLICE_COUNT`] share: WGSL has no
/// include, so their sources are this file followed by theirs. Its tap count and reference tap
/// are constants: [`with_ffe_window`] writes them per FFE.
pub const FFE_WINDOW: &str = include_str!("../shaders/ffe_window.wgsl");
/// FIR / FFE (`fir_tiled`, `fir_direct`, `fir_unrolled`), after [`FFE_WINDOW`].
pub const FIR: &str = concat!(
    include_str!("../shaders/ffe_window.wgsl"),
    include_str!("../shaders/fir.wgsl")
);
/// Slicer + comparison + error counting (`slice_count`, fused `ffe_slice_count` and
/// `ffe_slice_count_unrolled`), and the decisions alone (`slice_only`), after [`FFE_WINDOW`].
pub const SLICE_COUNT: &str = concat!(
    include_str!("../shaders/ffe_window.wgsl"),
    include_str!("../shaders/slice_count.wgsl")
);

/// Tap counts the unrolled FFE kernels take (`ffe4` keeps the window and weights in
/// registers; longer FFEs use the tiled kernel).
pub const FFE_UNROLLED_MAX_TAPS: usize = 32;

/// `source` (one that starts with [`FFE_WINDOW`]) with the unrolled FFE's constants set to
/// `taps` taps and reference tap `base` (`base < taps ≤ FFE_UNROLLED_MAX_TAPS`, else `None`).
pub fn with_ffe_window(source: &str, taps: usize, base: usize) -> Option<String> {
    if taps == 0 || taps > FFE_UNROLLED_MAX_TAPS || base >= taps {
        return None;
    }
    let (t, b) = ("const FW_TAPS: u32 = 15u;", "const FW_BASE: i32 = 7;");
    if !source.starts_with(FFE_WINDOW)
        || source.matches(t).count() != 1
        || source.matches(b).count() != 1
    {
        return None;
    }
    Some(
        source
            .replacen(t, &format!("const FW_TAPS: u32 = {taps}u;"), 1)
            .replacen(b, &format!("const FW_BASE: i32 = {base};"), 1),
    )
}
/// The workgroup-private histogram helpers (`priv_clear`, `priv_flush`) that the histogram
/// kernels share: WGSL has no include, so their sources are this file followed by theirs.
pub const PRIVATE_HISTOGRAM: &str = include_str!("../shaders/private_histogram.wgsl");

/// Eye histogram (`eye_private`, `eye_tiled`, `eye_global`), after [`PRIVATE_HISTOGRAM`].
pub const EYE: &str = concat!(
    include_str!("../shaders/private_histogram.wgsl"),
    include_str!("../shaders/eye.wgsl")
);
/// RS syndromes over GF(2^10) (`syndromes`).
pub const RS_SYNDROMES: &str = include_str!("../shaders/rs_syndromes.wgsl");

/// Block-parallel DFE (`dfe_blocks`).
pub const DFE: &str = include_str!("../shaders/dfe.wgsl");

/// Keys cubic resampling on a fixed grid or at recovered symbol positions (`resample_cubic`).
pub const RESAMPLE: &str = include_str!("../shaders/resample.wgsl");

/// Block-parallel Viterbi MLSE (`mlse_blocks`).
pub const MLSE: &str = include_str!("../shaders/mlse.wgsl");

/// Weighted column sums → 1-D histograms of several windows, the TDECQ optimizer's evaluation
/// (`weighted_histogram`), after [`PRIVATE_HISTOGRAM`].
pub const WEIGHTED_HISTOGRAM: &str = concat!(
    include_str!("../shaders/private_histogram.wgsl"),
    include_str!("../shaders/weighted_histogram.wgsl")
);

/// Every shader as (file name, source, entry points).
pub const ALL: &[(&str, &str, &[&str])] = &[
    ("convert.wgsl", CONVERT, &["codes_i8", "codes_i16"]),
    (
        "fir.wgsl",
        FIR,
        &["fir_tiled", "fir_direct", "fir_unrolled"],
    ),
    (
        "slice_count.wgsl",
        SLICE_COUNT,
        &[
            "slice_count",
            "ffe_slice_count",
            "slice_only",
            "ffe_slice_count_unrolled",
        ],
    ),
    ("eye.wgsl", EYE, &["eye_private", "eye_tiled", "eye_global"]),
    ("rs_syndromes.wgsl", RS_SYNDROMES, &["syndromes"]),
    ("dfe.wgsl", DFE, &["dfe_blocks"]),
    ("resample.wgsl", RESAMPLE, &["resample_cubic"]),
    ("mlse.wgsl", MLSE, &["mlse_blocks"]),
    (
        "weighted_histogram.wgsl",
        WEIGHTED_HISTOGRAM,
        &["weighted_histogram"],
    ),
];
