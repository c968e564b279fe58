//! Link simulation: pattern → levels → Tx FFE → channel → noise and jitter → sampled capture.
//!
//! [`LinkModel::run`] turns transmitted symbols into a scope [`Waveform`] with known ground truth
//! ([`SymbolTiming`], noise σ). The method:
//!
//! 1. Symbols map to normalised levels ([`Modulation::level`]) and pass a symbol-spaced Tx FFE.
//!    The pattern repeats: symbol `k` of the waveform (any integer `k`) is `symbols[k mod n]`, so
//!    the capture is in steady state from its first sample (no start-up transient).
//! 2. The transmitted waveform is a rectangular (NRZ-shaped) pulse per symbol whose boundaries are
//!    displaced by jitter ([`Jitter`]). It is rendered on an internal fine grid of `oversampling`
//!    cells per UI as the exact average over each cell (fractional coverage), so sub-cell jitter is
//!    represented exactly. (The cell average acts as a rise time of about one cell.)
//! 3. The [`Channel`] is applied on the fine grid as one FIR (FFT overlap-save when long), with its
//!    fixed delay removed so symbol `k` stays centred at `first_symbol_time + k / baud`.
//! 4. The result is interpolated to the scope times `t_i = i / fs` with a Catmull-Rom (Keys,
//!    a = −½) cubic through the cell centres, scaled by `amplitude` and shifted by `offset`.
//! 5. White Gaussian noise ([`Noise`]) is added at the scope samples.
//!
//! The capture holds `floor(n · fs / baud)` samples (n UI). Work is done in blocks of a few ten
//! thousand cells, in parallel, so memory stays at the output plus 4 bytes per symbol (the jitter
//! ground truth). Random numbers come from ChaCha8 seeded with [`LinkModel::seed`], addressed by
//! edge and sample index, so results do not depend on the number of threads.
//!
//! ```
//! use lightlane_core::sim::{Channel, LinkModel, Noise};
//! use lightlane_core::Modulation;
//! let mut model = LinkModel::new(Modulation::Pam4, 53.125e9, 256e9).unwrap();
//! model.channel = Channel::BesselThomson { f3db_hz: 0.5 * 53.125e9, order: 4 };
//! model.noise = Noise::SnrDb(30.0);
//! let symbols: Vec<u8> = (0..1000u32).map(|k| ((k * 7 + k / 3) % 4) as u8).collect();
//! let capture = model.run(&symbols).unwrap();
//! assert_eq!(capture.waveform.len(), 4818); // floor(1000 · 256 / 53.125)
//! let t5 = capture.symbol_times.centre(5); // ground-truth centre of symbol 5, seconds
//! assert!((t5 - (model.first_symbol_time + 5.0 / 53.125e9)).abs() < 1e-15);
//! ```

mod channel;
mod fir;
mod jitter;
mod noise;
pub mod optical;
mod tx;

pub(crate) use channel::bessel_thomson_response_fn;
pub use channel::{
    bessel_thomson_coefficients, bessel_thomson_omega0, bessel_thomson_response, gaussian_response, Channel,
    MAX_CASCADE_STAGES, MAX_IMPULSE_TAPS, MAX_SYMBOL_FIR_TAPS,
};
pub use jitter::Jitter;
pub use noise::Noise;

use crate::waveform::WaveformMeta;
use crate::{Error, Modulation, Result, Waveform};
use fir::{FirEngine, FirScratch};
use jitter::EdgeTable;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tx::{fill_cells, TxLevels};

/// Most scope samples one simulation may produce (2³¹, 8 GiB of f32).
pub const MAX_OUTPUT_SAMPLES: usize = 1 << 31;
/// Most Tx FFE taps.
pub const MAX_TX_FFE_TAPS: usize = 256;
/// Largest ratio fs / baud (samples per UI).
pub const MAX_SAMPLES_PER_UI: f64 = 65_536.0;
/// Fine-grid cells per block of work (per thread), before the FIR overlap.
const BLOCK_CELLS: usize = 1 << 15;
/// Samples per noise block (even, fixed so that noise does not depend on threads).
const NOISE_BLOCK: usize = 1 << 16;

/// Parameters of a simulated link. Construct with [`LinkModel::new`] (or a demo), then set fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkModel {
    /// Line modulation (sets the levels of the symbol values).
    pub modulation: Modulation,
    /// Symbol rate in Bd.
    pub baud: f64,
    /// Scope sample rate in Sa/s (any value ≥ baud; need not be a multiple of it).
    pub fs: f64,
    /// Volts at normalised level ±1 (before the Tx FFE and the channel).
    pub amplitude: f64,
    /// DC offset in volts added at the scope.
    pub offset: f64,
    /// Symbol-spaced Tx FFE taps; `[1.0]` for none.
    pub tx_ffe: Vec<f64>,
    /// Index of the main cursor in `tx_ffe`.
    pub tx_ffe_main: usize,
    /// The channel.
    pub channel: Channel,
    /// Additive noise at the scope samples.
    pub noise: Noise,
    /// Transmit jitter.
    pub jitter: Jitter,
    /// Internal fine-grid points per UI (4..=256, default 32).
    pub oversampling: usize,
    /// Time in seconds of the centre of symbol 0, relative to sample 0 ([`LinkModel::new`] sets
    /// 0.37 UI of its baud rate). Any value within ±10⁶ UI; the pattern repeats, so samples before
    /// symbol 0 show the end of the pattern.
    pub first_symbol_time: f64,
    /// Seed of the jitter and noise generators.
    pub seed: u64,
}

/// Ground-truth symbol timing of a simulated capture.
///
/// Symbol `k` (0-based, `k < n_symbols`) has nominal centre `first_symbol_time + k / baud`.
/// With jitter, its edges `k` and `k + 1` are displaced by `edge_jitter_ui[k]` and
/// `edge_jitter_ui[k + 1]` UI, and [`SymbolTiming::centre`] is their midpoint. The channel's fixed
/// delay (`channel_delay`) has already been removed from the waveform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolTiming {
    /// Symbol rate in Bd.
    pub baud: f64,
    /// Nominal centre of symbol 0, seconds after sample 0.
    pub first_symbol_time: f64,
    /// Number of symbols in the capture.
    pub n_symbols: usize,
    /// Displacement of edge `k` (leading boundary of symbol `k`) in UI, `k = 0..=n_symbols`;
    /// empty when the model has no jitter.
    pub edge_jitter_ui: Vec<f32>,
    /// Delay of the channel that was removed from the waveform, seconds (see [`Channel`]).
    pub channel_delay: f64,
}

impl SymbolTiming {
    /// Unit interval in seconds.
    pub fn ui(&self) -> f64 {
        1.0 / self.baud
    }

    /// Nominal (jitter-free) centre of symbol `k`, seconds after sample 0.
    pub fn nominal_centre(&self, k: usize) -> f64 {
        self.first_symbol_time + k as f64 / self.baud
    }

    /// Displacement of edge `k` in UI (0 without jitter or outside `0..=n_symbols`).
    pub fn edge_jitter(&self, k: usize) -> f64 {
        self.edge_jitter_ui.get(k).copied().unwrap_or(0.0) as f64
    }

    /// Time of edge `k` (the leading boundary of symbol `k`), with jitter.
    pub fn edge_time(&self, k: usize) -> f64 {
        self.first_symbol_time + (k as f64 - 0.5 + self.edge_jitter(k)) / self.baud
    }

    /// Centre of symbol `k` with jitter: the midpoint of its two edges.
    pub fn centre(&self, k: usize) -> f64 {
        self.nominal_centre(k) + 0.5 * (self.edge_jitter(k) + self.edge_jitter(k + 1)) / self.baud
    }
}

/// A simulated capture with its ground truth.
#[derive(Debug, Clone)]
pub struct SimCapture {
    /// The scope waveform: `fs`, `t0 = 0`, `meta.source = "simulation"`.
    pub waveform: Waveform,
    /// Ground-truth symbol timing.
    pub symbol_times: SymbolTiming,
    /// Standard deviation of the added noise in volts (the σ of the generator).
    pub noise_rms: f64,
    /// Standard deviation (about its mean, i.e. without `offset`) of the noise-free samples, volts.
    pub signal_rms: f64,
}

impl LinkModel {
    /// A model with an ideal channel, no noise, no jitter, no Tx FFE, amplitude 0.5 V,
    /// 32 fine-grid points per UI and symbol 0 centred 0.37 UI after sample 0.
    pub fn new(modulation: Modulation, baud: f64, fs: f64) -> Result<LinkModel> {
        let model = LinkModel {
            modulation,
            baud,
            fs,
            amplitude: 0.5,
            offset: 0.0,
            tx_ffe: vec![1.0],
            tx_ffe_main: 0,
            channel: Channel::Ideal,
            noise: Noise::None,
            jitter: Jitter::none(),
            oversampling: 32,
            first_symbol_time: 0.37 / baud,
            seed: 1,
        };
        model.validate()?;
        Ok(model)
    }

    /// Demo 100G-per-lane PAM4 link: 53.125 GBd sampled at 256 GSa/s (4.82 samples per UI), a
    /// symbol-spaced ISI channel `[0.2, 1, 0.7, 0.45, 0.2]` (main cursor 1) followed by a
    /// 4th-order Bessel-Thomson at 0.4 × baud, SNR 26.5 dB at the scope samples, RJ 0.01 UI rms
    /// and SJ 0.05 UI at 10 MHz. The eye is closed before equalization.
    ///
    /// Tuned so that a symbol-rate MMSE FFE (21 taps: 7 pre-, 13 post-cursor) on samples taken at
    /// the nominal symbol centres, followed by a slicer, gives a symbol error ratio of about 1e-4
    /// (Gaussian estimate from the FFE's rms error; Gray-coded BER about half of it). A test
    /// checks this with such an FFE.
    pub fn demo_pam4() -> LinkModel {
        let baud = 53.125e9;
        LinkModel {
            amplitude: 0.4,
            channel: Channel::Cascade(vec![
                Channel::SymbolFir {
                    taps: vec![0.2, 1.0, 0.7, 0.45, 0.2],
                    main: 1,
                },
                Channel::BesselThomson {
                    f3db_hz: 0.4 * baud,
                    order: 4,
                },
            ]),
            noise: Noise::SnrDb(26.5),
            jitter: Jitter {
                rj_rms_ui: 0.01,
                sj_amplitude_ui: 0.05,
                sj_frequency_hz: 10e6,
            },
            seed: 0x5eed_0001,
            ..LinkModel::new(Modulation::Pam4, baud, 256e9).expect("demo parameters are valid")
        }
    }

    /// Demo 25G NRZ link: 25.78125 GBd sampled at 100 GSa/s (3.88 samples per UI), ISI
    /// `[0.1, 1, 0.55, 0.3, 0.1]` (main cursor 1) followed by a 4th-order Bessel-Thomson at
    /// 0.5 × baud, SNR 16 dB, RJ 0.01 UI rms, SJ 0.05 UI at 4 MHz. Tuned like
    /// [`LinkModel::demo_pam4`]: a 16-tap MMSE FFE (5 pre-, 10 post-cursor) at the nominal symbol
    /// centres gives a Gaussian-estimated BER of about 1e-6 (checked by a test).
    pub fn demo_nrz() -> LinkModel {
        let baud = 25.781_25e9;
        LinkModel {
            amplitude: 0.4,
            channel: Channel::Cascade(vec![
                Channel::SymbolFir {
                    taps: vec![0.1, 1.0, 0.55, 0.3, 0.1],
                    main: 1,
                },
                Channel::BesselThomson {
                    f3db_hz: 0.5 * baud,
                    order: 4,
                },
            ]),
            noise: Noise::SnrDb(16.0),
            jitter: Jitter {
                rj_rms_ui: 0.01,
                sj_amplitude_ui: 0.05,
                sj_frequency_hz: 4e6,
            },
            seed: 0x5eed_0002,
            ..LinkModel::new(Modulation::Nrz, baud, 100e9).expect("demo parameters are valid")
        }
    }

    /// Checks every parameter; errors are [`Error::InvalidParameter`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if !(self.baud.is_finite() && self.baud > 0.0) {
            return Err(Error::invalid("baud", self.baud, "must be a positive finite symbol rate"));
        }
        if !(self.fs.is_finite() && self.fs > 0.0) {
            return Err(Error::invalid("fs", self.fs, "must be a positive finite sample rate"));
        }
        if self.fs < self.baud {
            return Err(Error::invalid(
                "fs",
                self.fs,
                format!("must be at least the baud rate {} (one sample per UI)", self.baud),
            ));
        }
        if self.fs / self.baud > MAX_SAMPLES_PER_UI {
            return Err(Error::invalid("fs", self.fs, format!("more than {MAX_SAMPLES_PER_UI} samples per UI")));
        }
        if !(self.amplitude.is_finite() && self.amplitude > 0.0) {
            return Err(Error::invalid("amplitude", self.amplitude, "must be positive and finite"));
        }
        if !self.offset.is_finite() {
            return Err(Error::invalid("offset", self.offset, "must be finite"));
        }
        if self.tx_ffe.is_empty() || self.tx_ffe.len() > MAX_TX_FFE_TAPS {
            return Err(Error::invalid(
                "tx_ffe",
                format!("{} taps", self.tx_ffe.len()),
                format!("need 1..={MAX_TX_FFE_TAPS} taps"),
            ));
        }
        if let Some(i) = self.tx_ffe.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid("tx_ffe", self.tx_ffe[i], format!("tap {i} is not finite")));
        }
        if self.tx_ffe.iter().all(|&v| v == 0.0) {
            return Err(Error::invalid("tx_ffe", "all zero", "the transmitter would send nothing"));
        }
        if self.tx_ffe_main >= self.tx_ffe.len() {
            return Err(Error::invalid(
                "tx_ffe_main",
                self.tx_ffe_main,
                format!("must be below the number of Tx FFE taps ({})", self.tx_ffe.len()),
            ));
        }
        if !(4..=256).contains(&self.oversampling) {
            return Err(Error::invalid("oversampling", self.oversampling, "must be within 4..=256 points per UI"));
        }
        if !(self.first_symbol_time.is_finite() && (self.first_symbol_time * self.baud).abs() <= 1e6) {
            return Err(Error::invalid(
                "first_symbol_time",
                self.first_symbol_time,
                "must be finite and within ±10⁶ UI of sample 0",
            ));
        }
        self.noise.validate()?;
        self.jitter.validate(self.baud)?;
        self.channel.validate(self.baud, self.oversampling)
    }

    /// Number of scope samples [`LinkModel::run`] produces for `n_symbols` symbols:
    /// `floor(n · fs / baud)` (with a 1e-12 relative tolerance so integer ratios are exact).
    /// Errors if it exceeds [`MAX_OUTPUT_SAMPLES`].
    pub fn output_len(&self, n_symbols: usize) -> Result<usize> {
        let exact = n_symbols as f64 * self.fs / self.baud;
        let len = (exact * (1.0 + 1e-12)).floor();
        if len.is_nan() || len > MAX_OUTPUT_SAMPLES as f64 {
            return Err(Error::invalid(
                "symbols",
                format!("{n_symbols} symbols"),
                format!("{n_symbols} UI at {:.4} samples per UI is {len:.0} samples, above the limit {MAX_OUTPUT_SAMPLES}", self.fs / self.baud),
            ));
        }
        Ok(len as usize)
    }

    /// Simulates the link for the transmitted `symbols` (values `0..=modulation.max_symbol()`).
    ///
    /// Errors: [`Error::InvalidParameter`] for a bad model or an output above
    /// [`MAX_OUTPUT_SAMPLES`] (checked before anything is allocated), [`Error::InputTooShort`] for
    /// no symbols, [`Error::ValueOutOfRange`] for a symbol outside the alphabet, and
    /// [`Error::Unusable`] for `Noise::SnrDb` on a signal with zero variance.
    pub fn run(&self, symbols: &[u8]) -> Result<SimCapture> {
        self.validate()?;
        check_symbols(symbols, self.modulation)?;
        let n_out = self.output_len(symbols.len())?;
        let design = self.channel.design(self.baud, self.oversampling)?;
        let engine = FirEngine::new(&design.fir.taps);
        let fir_len = engine.len() as i64;
        let lead = design.fir.lead as i64;

        let os = self.oversampling;
        let osf = os as f64;
        // Cell coordinate: p = (t − (first_symbol_time − T/2)) · baud · os; cell m spans [m, m+1)
        // and its value sits at its centre, so a scope time has centre coordinate u = p − ½.
        let cells_per_sample = osf * self.baud / self.fs;
        let u_first = osf * (0.5 - self.first_symbol_time * self.baud) - 0.5;
        let u_of = |i: usize| u_first + i as f64 * cells_per_sample;

        // Symbols the whole capture touches: output cells, widened by the FIR and the jitter.
        let out_lo = u_of(0).floor() as i64 - 1;
        let out_hi = u_of(n_out - 1).floor() as i64 + 3;
        let in_lo = out_lo + lead - (fir_len - 1);
        let in_hi = out_hi + lead;
        let edges = if self.jitter.is_none() {
            EdgeTable::nominal(os)
        } else {
            let reach = self.jitter.bound_ui().ceil() as i64 + 3;
            let k_lo = (in_lo.div_euclid(os as i64) - reach).min(0);
            let k_hi = (in_hi.div_euclid(os as i64) + reach).max(symbols.len() as i64 + 1);
            EdgeTable::generate(&self.jitter, self.baud, self.first_symbol_time, self.seed, os, k_lo, k_hi)
        };
        let tx = TxLevels::new(self.modulation, symbols, &self.tx_ffe, self.tx_ffe_main);

        // Noise-free samples, block by block.
        let block_cells = BLOCK_CELLS.max(4 * fir_len as usize);
        let block_samples = ((block_cells as f64 / cells_per_sample).floor() as usize).clamp(1, 1 << 18);
        let mut samples = vec![0f32; n_out];
        let (amplitude, offset) = (self.amplitude, self.offset);
        let (sum, sum_sq) = samples
            .par_chunks_mut(block_samples)
            .enumerate()
            .map_init(BlockScratch::default, |scratch, (b, out)| {
                let i0 = b * block_samples;
                let ma = u_of(i0).floor() as i64 - 1;
                let mb = u_of(i0 + out.len() - 1).floor() as i64 + 3;
                let n_cells = (mb - ma) as usize;
                let n_in = n_cells + fir_len as usize - 1;
                scratch.x.resize(n_in, 0.0);
                scratch.y.resize(n_cells, 0.0);
                fill_cells(&tx, &edges, ma + lead - (fir_len - 1), &mut scratch.x);
                engine.process(&scratch.x, &mut scratch.y, &mut scratch.fir);
                let (mut s1, mut s2) = (0.0f64, 0.0f64);
                for (j, o) in out.iter_mut().enumerate() {
                    let u = u_of(i0 + j);
                    let m = u.floor();
                    let idx = (m as i64 - 1 - ma) as usize;
                    let v = catmull_rom(&scratch.y[idx..idx + 4], u - m);
                    let volts = offset + amplitude * v;
                    *o = volts as f32;
                    let d = *o as f64 - offset;
                    s1 += d;
                    s2 += d * d;
                }
                (s1, s2)
            })
            .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        let mean = sum / n_out as f64;
        let variance = (sum_sq / n_out as f64 - mean * mean).max(0.0);
        let signal_rms = variance.sqrt();

        let noise_rms = self.noise.rms_for_variance(variance, "simulation noise", "the noise-free signal")?;
        if noise_rms > 0.0 {
            let seed = self.seed;
            samples
                .par_chunks_mut(NOISE_BLOCK)
                .enumerate()
                .for_each(|(b, out)| noise::add_noise(out, b * NOISE_BLOCK, noise_rms, seed));
        }

        let edge_jitter_ui = if self.jitter.is_none() {
            Vec::new()
        } else {
            (0..=symbols.len() as i64).map(|k| edges.jitter_ui(k)).collect()
        };
        let mut waveform = Waveform::new(samples, self.fs)?;
        waveform.meta = WaveformMeta {
            source: Some("simulation".into()),
            vertical_unit: "V".into(),
            ..Default::default()
        };
        waveform.meta.extra.insert("modulation".into(), self.modulation.to_string());
        waveform.meta.extra.insert("baud".into(), self.baud.to_string());
        waveform.meta.extra.insert("seed".into(), self.seed.to_string());
        Ok(SimCapture {
            waveform,
            symbol_times: SymbolTiming {
                baud: self.baud,
                first_symbol_time: self.first_symbol_time,
                n_symbols: symbols.len(),
                edge_jitter_ui,
                channel_delay: design.delay_s,
            },
            noise_rms,
            signal_rms,
        })
    }
}

#[derive(Default)]
struct BlockScratch {
    x: Vec<f64>,
    y: Vec<f64>,
    fir: FirScratch,
}

/// Catmull-Rom (Keys, a = −½) cubic through `p[0..4]` at `p[1] + t·(p[2] − p[1])`-relative
/// position `t ∈ [0, 1)`; written in differences to `p[1]` so a constant is reproduced exactly.
#[inline]
/// Checks the symbols given to a simulator: [`Error::InputTooShort`] for none,
/// [`Error::ValueOutOfRange`] for one outside `modulation`'s alphabet.
pub(crate) fn check_symbols(symbols: &[u8], modulation: Modulation) -> Result<()> {
    if symbols.is_empty() {
        return Err(Error::InputTooShort {
            what: "symbols",
            needed: 1,
            got: 0,
        });
    }
    let max = modulation.max_symbol();
    if let Some(index) = symbols.iter().position(|&s| s > max) {
        return Err(Error::ValueOutOfRange {
            what: "symbols",
            index,
            value: symbols[index] as u64,
            max: max as u64,
        });
    }
    Ok(())
}

fn catmull_rom(p: &[f64], t: f64) -> f64 {
    let d0 = p[0] - p[1];
    let d2 = p[2] - p[1];
    let d3 = p[3] - p[1];
    let c1 = 0.5 * (d2 - d0);
    let c2 = d0 + 2.0 * d2 - 0.5 * d3;
    let c3 = -1.5 * d2 + 0.5 * (d3 - d0);
    p[1] + t * (c1 + t * (c2 + t * c3))
}

#[cfg(test)]
mod tests;
