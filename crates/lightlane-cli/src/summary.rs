//! `summary.csv` and `report.json` of a batch.
//!
//! summary.csv: one row per capture, sorted by file name, RFC 4180 quoting, `.` decimal point,
//! fixed number formats, an empty cell where a value is missing, no timestamps, so the same
//! inputs give the same bytes whatever the thread count. Columns, in this order
//! ([`COLUMNS`]):
//!
//! | column | meaning | format |
//! |---|---|---|
//! | file | capture, relative to the scanned folder | text |
//! | status | `ok` or `error` | text |
//! | verdict | `pass`, `fail`, `not_checked` against the limits (empty on error) | text |
//! | format | detected file format | text |
//! | modulation | `nrz` / `pam4` | text |
//! | baud_gbd | symbol rate used, GBd | 6 decimals |
//! | fs_gsa_s | sample rate, GSa/s | 6 decimals |
//! | samples_per_ui | fs / baud | 4 decimals |
//! | pattern | test pattern | text |
//! | equalizer | receiver chain as run | text |
//! | bits, bit_errors | bits compared, bit errors | integer |
//! | ber, ber_ci95_low, ber_ci95_high, ser | pre-FEC BER, its 95 % interval, SER | `%.6e` |
//! | resyncs | pattern re-synchronisations | integer |
//! | ppm_offset | recovered clock offset, ppm | 3 decimals |
//! | tie_rms_ps | rms TIE, ps | 4 decimals |
//! | ffe_mse_db | FFE mean-square error, dB | 3 decimals |
//! | fec_codewords, fec_uncorrectable, fec_max_symbol_errors | FEC codeword statistics | integer |
//! | fec_cer, post_fec_ber | codeword error ratio, post-FEC BER | `%.6e` |
//! | tdecq_db | TDECQ (worst dispersion corner, else back-to-back) when the report has it | 3 decimals |
//! | tdecq_b2b_db | TDECQ of the capture as it is (back-to-back) | 3 decimals |
//! | tdecq_corners | `D:TDECQ` per dispersion corner (ps/nm:dB, `undefined` where TDECQ is), `;`-separated | 3 decimals |
//! | engine | the engine that ran the analysis (`CPU engine`, `GPU engine (adapter)`, and the stages the CPU took over after a GPU failure) | text |
//! | error | why the capture failed (empty when ok) | text |

use crate::batch::{corners_text, measured, Outcome};
use crate::settings::Settings;
use lightlane::analysis::{AnalysisConfig, Limits};
use serde::Serialize;

/// The CSV header, in column order.
pub const COLUMNS: &[&str] = &[
    "file",
    "status",
    "verdict",
    "format",
    "modulation",
    "baud_gbd",
    "fs_gsa_s",
    "samples_per_ui",
    "pattern",
    "equalizer",
    "bits",
    "bit_errors",
    "ber",
    "ber_ci95_low",
    "ber_ci95_high",
    "ser",
    "resyncs",
    "ppm_offset",
    "tie_rms_ps",
    "ffe_mse_db",
    "fec_codewords",
    "fec_uncorrectable",
    "fec_max_symbol_errors",
    "fec_cer",
    "post_fec_ber",
    "tdecq_db",
    "tdecq_b2b_db",
    "tdecq_corners",
    "engine",
    "error",
];

/// A CSV field, quoted when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `v` with `decimals` decimals, empty when missing or not finite.
pub fn fixed(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.decimals$}"),
        _ => String::new(),
    }
}

/// `v` in scientific notation with 6 decimals (`1.234560e-5`), empty when missing/not finite.
pub fn sci(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.6e}"),
        _ => String::new(),
    }
}

/// The cells of one row, in [`COLUMNS`] order.
pub fn row(o: &Outcome) -> Vec<String> {
    let mut cells = vec![String::new(); COLUMNS.len()];
    cells[0] = o.job.name.clone();
    match &o.result {
        Err(e) => {
            cells[1] = "error".into();
            cells[COLUMNS.len() - 1] = e.replace(['\n', '\r'], " ");
        }
        Ok(a) => {
            let r = &a.report;
            let fec = r.fec.as_ref();
            let m = measured(r);
            let values = [
                "ok".to_string(),
                a.limits.verdict.name().to_string(),
                a.format.clone(),
                r.modulation.name().to_string(),
                fixed(Some(r.baud / 1e9), 6),
                fixed(Some(r.fs / 1e9), 6),
                fixed(Some(r.samples_per_ui), 4),
                r.pattern.clone(),
                r.equalizer.clone(),
                r.bits.to_string(),
                r.bit_errors.to_string(),
                sci(Some(r.ber)),
                sci(Some(r.ber_ci95.0)),
                sci(Some(r.ber_ci95.1)),
                sci(Some(r.ser)),
                r.resyncs.to_string(),
                fixed(r.ppm_offset, 3),
                fixed(r.tie_rms_s.map(|t| t * 1e12), 4),
                fixed(Some(r.ffe_mse_db), 3),
                fec.map(|f| f.codewords.to_string()).unwrap_or_default(),
                fec.map(|f| f.uncorrectable.to_string()).unwrap_or_default(),
                fec.map(|f| f.max_symbol_errors.to_string()).unwrap_or_default(),
                sci(fec.map(|f| f.cer)),
                sci(fec.map(|f| f.post_fec_ber)),
                fixed(m.tdecq_db, 3),
                fixed(r.eye.as_ref().and_then(|e| e.tdecq_db), 3),
                corners_text(r),
                r.engine.clone(),
            ];
            for (i, v) in values.into_iter().enumerate() {
                cells[i + 1] = v;
            }
        }
    }
    cells
}

/// The whole summary.csv text (header + one row per outcome, in the given order).
pub fn summary_csv(outcomes: &[Outcome]) -> String {
    let mut s = COLUMNS.join(",");
    s.push_str("\r\n");
    for o in outcomes {
        let cells: Vec<String> = row(o).iter().map(|c| csv_field(c)).collect();
        s.push_str(&cells.join(","));
        s.push_str("\r\n");
    }
    s
}

/// One failed capture in report.json.
#[derive(Debug, Serialize)]
pub struct Failure<'a> {
    /// Capture name.
    pub file: &'a str,
    /// Path as opened.
    pub path: String,
    /// The error with its causes.
    pub error: &'a str,
}

/// One analysed capture in report.json.
#[derive(Debug, Serialize)]
pub struct CaptureEntry<'a> {
    /// Capture name.
    pub file: &'a str,
    /// Path as opened.
    pub path: String,
    /// Detected format.
    pub format: &'a str,
    /// Effective configuration.
    pub config: &'a AnalysisConfig,
    /// Pass/fail against the limits.
    pub limits: &'a lightlane::analysis::LimitReport,
    /// The full analysis report.
    pub report: &'a lightlane::analysis::Report,
}

/// report.json.
#[derive(Debug, Serialize)]
pub struct BatchReport<'a> {
    /// `lightlane`.
    pub tool: &'static str,
    /// Tool version.
    pub version: &'static str,
    /// Preset name, when one was used.
    pub preset: Option<&'a lightlane::analysis::Preset>,
    /// Config file, when one was used.
    pub config_file: Option<String>,
    /// The effective configuration before any capture's own hints (preset < config < flags).
    pub effective_config: AnalysisConfig,
    /// Pass/fail limits applied.
    pub limits: &'a Limits,
    /// Captures found.
    pub total: usize,
    /// Captures analysed.
    pub analysed: Vec<CaptureEntry<'a>>,
    /// Captures that failed, with their errors.
    pub failures: Vec<Failure<'a>>,
}

/// Builds report.json for `outcomes`.
pub fn batch_report<'a>(outcomes: &'a [Outcome], settings: &'a Settings) -> anyhow::Result<BatchReport<'a>> {
    let mut analysed = Vec::new();
    let mut failures = Vec::new();
    for o in outcomes {
        match &o.result {
            Ok(a) => analysed.push(CaptureEntry {
                file: &o.job.name,
                path: o.job.path.display().to_string(),
                format: &a.format,
                config: &a.config,
                limits: &a.limits,
                report: &a.report,
            }),
            Err(e) => failures.push(Failure {
                file: &o.job.name,
                path: o.job.path.display().to_string(),
                error: e,
            }),
        }
    }
    Ok(BatchReport {
        tool: "lightlane",
        version: env!("CARGO_PKG_VERSION"),
        preset: settings.preset.as_ref(),
        config_file: settings.config_file.as_ref().map(|p| p.display().to_string()),
        effective_config: settings.resolve(None)?,
        limits: &settings.limits,
        total: outcomes.len(),
        analysed,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_numbers_fixed() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(fixed(Some(1.0 / 3.0), 3), "0.333");
        assert_eq!(fixed(Some(f64::NAN), 3), "");
        assert_eq!(fixed(None, 3), "");
        assert_eq!(sci(Some(2.4e-4)), "2.400000e-4");
        assert_eq!(sci(Some(0.0)), "0.000000e0");
        assert_eq!(sci(Some(f64::INFINITY)), "");
    }
}
