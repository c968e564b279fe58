//! The WGSL sources, one file per kernel family (in `shaders/`).

/// Raw ADC codes → volts (`codes_i8`, `codes_i16`).
pub const CONVERT: &str = include_str!("../shaders/convert.wgsl");
/// FIR / FFE (`fir_tiled`, `fir_direct`).
pub const FIR: &str = include_str!("../shaders/fir.wgsl");
/// Slicer + comparison + error counting (`slice_count`, fused `ffe_slice_count`), and the
/// decisions alone (`slice_only`).
pub const SLICE_COUNT: &str = include_str!("../shaders/slice_count.wgsl");
/// The workgroup-private histogram helpers (`priv_clear`, `priv_flush`) that the histogram
/// kernels share: WGSL has no include, so their sources are this file followed by theirs.
pub const PRIVATE_HISTOGRAM: &str = include_str!("../shaders/private_histogram.wgsl");

/// Eye histogram (`eye_private`, `eye_global`), after [`PRIVATE_HISTOGRAM`].
pub const EYE: &str = concat!(include_str!("../shaders/private_histogram.wgsl"), include_str!("../shaders/eye.wgsl"));
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
pub const WEIGHTED_HISTOGRAM: &str =
    concat!(include_str!("../shaders/private_histogram.wgsl"), include_str!("../shaders/weighted_histogram.wgsl"));

/// Every shader as (file name, source, entry points).
pub const ALL: &[(&str, &str, &[&str])] = &[
    ("convert.wgsl", CONVERT, &["codes_i8", "codes_i16"]),
    ("fir.wgsl", FIR, &["fir_tiled", "fir_direct"]),
    ("slice_count.wgsl", SLICE_COUNT, &["slice_count", "ffe_slice_count", "slice_only"]),
    ("eye.wgsl", EYE, &["eye_private", "eye_global"]),
    ("rs_syndromes.wgsl", RS_SYNDROMES, &["syndromes"]),
    ("dfe.wgsl", DFE, &["dfe_blocks"]),
    ("resample.wgsl", RESAMPLE, &["resample_cubic"]),
    ("mlse.wgsl", MLSE, &["mlse_blocks"]),
    ("weighted_histogram.wgsl", WEIGHTED_HISTOGRAM, &["weighted_histogram"]),
];
