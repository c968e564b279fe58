use crate::eq::ErrorPropagation;
use crate::fec::CodewordStatistics;
use crate::pattern::SymbolTransform;
use crate::Modulation;
use serde::{Deserialize, Serialize};

/// Error figures of one stage of the receiver: the symbols that stage's output would decide,
/// counted against the pattern (Gray bit mapping).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageErrors {
    /// Stage name: `pre_eq` (slicer on the unequalized, normalised symbol centres), `ffe` (the
    /// FFE output decided symbol by symbol), then `dfe` or `mlse` when the chain ends in one.
    /// With a decision stage the FFE is trained for a target with post-cursor ISI, which a
    /// plain slicer cannot decide, so the `ffe` figure feeds the target's post-cursors back
    /// with the receiver's own decisions (a DFE):
    /// - `ffe:N,dfe:M`: the FFE is the MMSE-DFE's, trained jointly with its `M` feedback taps
    ///   (or adapted jointly with them); its target *is* the DFE, so the `ffe` and `dfe`
    ///   figures come from the same detector (the `ffe` figure counted against the aligned
    ///   symbols, the `dfe` figure against the pattern, with [`Report::dfe_error_propagation`]).
    /// - `ffe:N,mlse:M`: the FFE is trained for the partial-response target `1 + αD (+ βD²)` of
    ///   [`Report::mlse_target`]; one linear fit of the FFE output gives both the `ffe`
    ///   figure's DFE (`M` taps) and the MLSE, so the `ffe` figure is the `dfe` figure of an
    ///   `ffe:N,dfe:M` chain (within the statistics) and the `mlse` figure shows what the MLSE
    ///   gains over symbol-by-symbol decisions.
    pub stage: String,
    pub symbols: u64,
    pub symbol_errors: u64,
    pub ser: f64,
    pub bit_errors: u64,
    pub ber: f64,
}

/// The result of analysing one capture. Field names are the JSON keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Capture file (or "array"/"simulation").
    pub file: String,
    pub modulation: Modulation,
    /// Symbol rate used, baud (recovered by the CDR when one ran).
    pub baud: f64,
    /// True when the rate was estimated from the capture (no baud given).
    pub baud_estimated: bool,
    /// Recovered rate against the given or estimated nominal, ppm (clock recovery only).
    pub ppm_offset: Option<f64>,
    /// RMS TIE of the data edges against the recovered clock, seconds (clock recovery only).
    pub tie_rms_s: Option<f64>,
    /// The receiver chain as run.
    pub equalizer: String,
    /// CTLE DC gain used (chosen by SNR unless given), dB.
    pub ctle_gdc_db: Option<f64>,
    /// DFE feedback taps, when a DFE ran: output units per nominal level, i.e. relative to the
    /// unit main cursor of the FFE's monic MMSE-DFE target (its post-cursors; the adapted taps
    /// with an adaptive FFE method). The slicer levels are measured on the training symbols.
    pub dfe_taps: Option<Vec<f32>>,
    /// DFE error propagation against the known symbols, when a DFE ran.
    pub dfe_error_propagation: Option<ErrorPropagation>,
    /// MLSE channel model normalised to a unit main cursor (`[1, α(, β)]`), when an MLSE ran.
    pub mlse_target: Option<Vec<f32>>,
    /// Sample rate of the capture, Sa/s.
    pub fs: f64,
    /// Capture samples per UI (fs / baud), usually not an integer.
    pub samples_per_ui: f64,
    /// Sampling instant of the first symbol after the first sample, in UI.
    pub sampling_phase_ui: f64,
    /// Pattern name.
    pub pattern: String,
    /// How the received symbols relate to the pattern (polarity, MSB/LSB order, mapping).
    pub transform: SymbolTransform,
    /// Bits compared after sync.
    pub bits: u64,
    pub bit_errors: u64,
    /// Bit error ratio after the equalizer.
    pub ber: f64,
    /// 95 % Clopper-Pearson confidence interval of the BER.
    pub ber_ci95: (f64, f64),
    pub symbols: u64,
    pub symbol_errors: u64,
    pub ser: f64,
    /// Pattern re-synchronisations (slips) during the check.
    pub resyncs: u32,
    /// FFE taps (trained by MMSE against the pattern).
    pub ffe_taps: Vec<f32>,
    /// Index of the main-cursor tap.
    pub ffe_reference_tap: usize,
    /// Samples per symbol at the FFE input (1 = T-spaced).
    pub ffe_samples_per_symbol: usize,
    /// Mean-square error of the FFE output against the ideal levels (training set), dB; with a
    /// decision stage against the FFE's training target (for a DFE: after the feedback).
    pub ffe_mse_db: f64,
    /// Level means at the slicer input before equalization (capture units).
    pub levels: Vec<f64>,
    /// Per-stage error figures, receiver order (see [`StageErrors::stage`]; with a DFE or MLSE
    /// stage the `ffe` figure is the FFE output decided with its target's post-cursors fed
    /// back).
    pub stages: Vec<StageErrors>,
    /// FEC codeword statistics of the measured errors.
    pub fec: Option<CodewordStatistics>,
    /// Eye diagram metrics and TDECQ (`None` when skipped or when the eye could not be built;
    /// a warning says why).
    pub eye: Option<crate::eye::EyeReport>,
    /// Things the user should know (e.g. very short capture).
    pub warnings: Vec<String>,
    /// The engine that ran the analysis: "CPU engine", or the accelerator's name ("GPU engine
    /// (NVIDIA H200)"), followed by "; the CPU engine ran …" and the stages it took over where
    /// the accelerator failed under `Backend::Auto` (the warnings say why). Under `Auto` the
    /// CPU engine runs a capture the GPU engine is not used for (too short, no real GPU; a
    /// warning says why when a GPU was a candidate).
    pub engine: String,
    /// The decided symbols after the equalizer (not serialized; `--symbols-out` writes them).
    #[serde(skip_serializing)]
    pub decisions: Vec<u8>,
}
