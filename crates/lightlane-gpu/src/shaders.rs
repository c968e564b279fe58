//! The WGSL sources, one file per kernel family (in `shaders/`).

/// Raw ADC codes → volts (`codes_i8`, `codes_i16`).
pub const CONVERT: &str = include_str!("../shaders/convert.wgsl");
/// The unrolled symbol-spaced FFE (`ffe4`) that [`FIR`] and [`SLICE_COUNT`] share: WGSL has no
/// include, so their sources are this file followed by theirs. `ffe4` is generated per tap
/// count and reference tap ([`ffe4_source`]; [`with_ffe_window`] puts it in a source).
pub const FFE_WINDOW: &str = include_str!("../shaders/ffe_window.wgsl");
/// FIR / FFE (`fir_tiled`, `fir_direct`, `fir_unrolled`) and the held-ends filter
/// (`fir_held`), after [`FFE_WINDOW`].
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

/// `source` (one that starts with [`FFE_WINDOW`]) with its `ffe4` replaced by
/// [`ffe4_source`]`(taps, base)`; `None` where that has no variant or `source` lacks the window.
pub fn with_ffe_window(source: &str, taps: usize, base: usize) -> Option<String> {
    if !has_ffe_window(source, taps, base) {
        return None;
    }
    replace_region(source, FFE4_BEGIN, FFE4_END, &ffe4_source(taps, base)?)
}

/// Whether [`with_ffe_window`]`(source, taps, base)` has a variant (without writing it).
pub fn has_ffe_window(source: &str, taps: usize, base: usize) -> bool {
    taps > 0 && taps <= FFE_UNROLLED_MAX_TAPS && base < taps && source.starts_with(FFE_WINDOW)
}

const FFE4_BEGIN: &str = "// BEGIN ffe4";
const FFE4_END: &str = "// END ffe4";

/// The WGSL function `fn ffe4(t: u32, n_in: u32) -> vec4<f32>` of [`FFE_WINDOW`] for `taps`
/// taps and reference tap `base` (`base < taps ≤ FFE_UNROLLED_MAX_TAPS`, else `None`):
/// straight-line code, the weights and the input window in named registers, outputs
/// `y[4t + r] = Σ_j w[j]·x[4t + r + base − j]` accumulated in tap order from 0.0.
pub fn ffe4_source(taps: usize, base: usize) -> Option<String> {
    use std::fmt::Write;
    if !has_ffe_window(FFE_WINDOW, taps, base) {
        return None;
    }
    let l = taps as i64;
    // The window's first sample is x[4t + off]: vec4 t + v0, element rem.
    let off = base as i64 - l + 1;
    let rem = off.rem_euclid(4);
    let v0 = (off - rem) / 4;
    let nv = (rem + l + 6) / 4;
    let mut s = String::new();
    let _ = writeln!(s, "fn ffe4(t: u32, n_in: u32) -> vec4<f32> {{");
    for j in 0..l {
        let _ = writeln!(s, "    let w{j} = taps[{j}u];");
    }
    let _ = writeln!(s, "    let v0 = i32(t) + ({v0});");
    for i in 0..nv {
        let _ = writeln!(s, "    var x{i}: vec4<f32>;");
    }
    let _ = writeln!(s, "    if (v0 >= 0 && v0 + {nv} <= i32(n_in / 4u)) {{");
    for i in 0..nv {
        let _ = writeln!(s, "        x{i} = xv[u32(v0) + {i}u];");
    }
    let _ = writeln!(s, "    }} else {{");
    let _ = writeln!(s, "        let last = i32((n_in + 3u) / 4u) - 1;");
    for i in 0..nv {
        let _ = writeln!(s, "        x{i} = fw_edge(v0 + {i}, last, n_in);");
    }
    let _ = writeln!(s, "    }}");
    for r in 0..4 {
        let _ = writeln!(s, "    var a{r} = 0.0;");
        for j in 0..l {
            let k = rem + r + l - 1 - j;
            let _ = writeln!(
                s,
                "    a{r} = a{r} + w{j} * x{}.{};",
                k / 4,
                ["x", "y", "z", "w"][(k % 4) as usize]
            );
        }
    }
    let _ = writeln!(s, "    return vec4<f32>(a0, a1, a2, a3);");
    let _ = writeln!(s, "}}");
    Some(s)
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

/// The eye metrics' and TDECQ's passes over kept eye points (`eye_scan`, `eye_crossings`,
/// `eye_gather`, `eye_window`).
pub const EYE_PASSES: &str = include_str!("../shaders/eye_passes.wgsl");

/// Column counts per sample interval that [`eye_segment_source`] writes straight-line code for.
pub const EYE_SEGMENT_MAX_M: usize = 32;

/// [`EYE`] with its `segment` replaced by [`eye_segment_source`]`(m)`; `None` where that has
/// no variant.
pub fn with_eye_segment(m: usize) -> Option<String> {
    let body = eye_segment_source(m)?;
    replace_region(EYE, "// BEGIN segment", "// END segment", &body)
}

/// The source between the line starting `begin` and the line `end` replaced by `body`.
fn replace_region(source: &str, begin: &str, end: &str, body: &str) -> Option<String> {
    let b = source.find(begin)?;
    let start = b + source[b..].find('\n')? + 1;
    let stop = start + source[start..].find(end)?;
    Some(format!("{}{}{}", &source[..start], body, &source[stop..]))
}

/// The WGSL functions `fn segment(k: u32, stride: u32, col: u32, use_priv: bool)` and
/// `fn segment_q(qa: i32, qb: i32, …)` (the segment between two quantized levels) of [`EYE`]
/// for a fixed `m` (1 ≤ m ≤ [`EYE_SEGMENT_MAX_M`], else `None`): straight-line code over the
/// m columns, stepping `a = qa + floor_div((qb − qa)·j, m)` as the loop form does, with a
/// shift and a mask for the division when m is a power of two.
pub fn eye_segment_source(m: usize) -> Option<String> {
    use std::fmt::Write;
    if m == 0 || m > EYE_SEGMENT_MAX_M {
        return None;
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "fn segment(k: u32, stride: u32, col: u32, use_priv: bool) {{"
    );
    let _ = writeln!(s, "    segment_q(quant(y[k]), quant(y[k + 1u]), stride, col, use_priv);");
    let _ = writeln!(s, "}}");
    let _ = writeln!(s);
    let _ = writeln!(s, "fn segment_q(qa: i32, qb: i32, stride: u32, col: u32, use_priv: bool) {{");
    let _ = writeln!(s, "    let d = qb - qa;");
    if m.is_power_of_two() {
        let _ = writeln!(s, "    let q = d >> {}u;", m.trailing_zeros());
        let _ = writeln!(s, "    let rem = d & {};", m - 1);
    } else {
        let _ = writeln!(s, "    let q = floor_div(d, {m});");
        let _ = writeln!(s, "    let rem = d - q * {m};");
    }
    let _ = writeln!(s, "    var a = qa;");
    let _ = writeln!(s, "    var acc = 0;");
    for j in 0..m {
        let _ = writeln!(s, "    eye_bin(a, stride, col + {j}u, use_priv);");
        if j + 1 < m {
            let _ = writeln!(s, "    a = a + q;");
            if m > 1 {
                let _ = writeln!(s, "    acc = acc + rem;");
                let _ = writeln!(s, "    if (acc >= {m}) {{");
                let _ = writeln!(s, "        acc = acc - {m};");
                let _ = writeln!(s, "        a = a + 1;");
                let _ = writeln!(s, "    }}");
            }
        }
    }
    let _ = writeln!(s, "}}");
    Some(s)
}

/// Most columns that [`weighted_unrolled_source`] writes straight-line code for.
pub const WEIGHTED_UNROLLED_MAX_COLUMNS: usize = 32;

/// [`WEIGHTED_HISTOGRAM`] for exactly `ncols` columns (1 ≤ ncols ≤
/// [`WEIGHTED_UNROLLED_MAX_COLUMNS`], else `None`): each invocation loads its candidate's
/// weights once into registers (`w0`, `w1`, …) and sums a row's products in straight-line code,
/// in column order as the loop form does (so the same f32 sums and counts).
pub fn weighted_unrolled_source(ncols: usize) -> Option<String> {
    use std::fmt::Write;
    if ncols == 0 || ncols > WEIGHTED_UNROLLED_MAX_COLUMNS {
        return None;
    }
    let mut weights = String::new();
    for t in 0..ncols {
        let _ = writeln!(weights, "    let w{t} = w[wb + {t}u];");
    }
    let mut row = String::from("            var y = exact(w0 * data[offs[o] + i]);\n");
    for t in 1..ncols {
        let _ = writeln!(row, "            y = y + exact(w{t} * data[offs[o + {t}u] + i]);");
    }
    let s = replace_region(WEIGHTED_HISTOGRAM, "// BEGIN weights", "// END weights", &weights)?;
    replace_region(&s, "// BEGIN row", "// END row", &row)
}

/// Every shader as (file name, source, entry points).
pub const ALL: &[(&str, &str, &[&str])] = &[
    ("convert.wgsl", CONVERT, &["codes_i8", "codes_i16"]),
    (
        "fir.wgsl",
        FIR,
        &["fir_tiled", "fir_direct", "fir_unrolled", "fir_held"],
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
    ("eye.wgsl", EYE, &["eye_private", "eye_tiled", "eye_global", "eye_private_runs", "eye_tiled_runs"]),
    ("rs_syndromes.wgsl", RS_SYNDROMES, &["syndromes"]),
    ("dfe.wgsl", DFE, &["dfe_blocks"]),
    ("resample.wgsl", RESAMPLE, &["resample_cubic"]),
    ("mlse.wgsl", MLSE, &["mlse_blocks"]),
    (
        "weighted_histogram.wgsl",
        WEIGHTED_HISTOGRAM,
        &["weighted_histogram"],
    ),
    (
        "eye_passes.wgsl",
        EYE_PASSES,
        &["eye_scan", "eye_crossings", "eye_gather", "eye_window"],
    ),
];
