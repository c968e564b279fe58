//! Optical IM/DD link simulation: transmitter → fibre → photodiode/TIA → scope.
//!
//! [`OpticalLink::run`] turns symbols into a scope [`Waveform`] in the receiver's output unit
//! (input-referred optical power in W by default, see [`RxOutput`]), with the simulator's
//! ground truth. The chain, on an internal grid of `fs_int = k·scope.fs` (the smallest integer
//! `k` giving at least `sim_samples_per_ui` samples per UI):
//!
//! 1. **Drive**: [`crate::sim::LinkModel`] renders the symbols (Tx FFE, jitter, the
//!    transmitter's `bandwidth` as its channel) at `fs_int`, in the normalised ±1 scale.
//! 2. **Transmitter** ([`OpticalTransmitter`]): static level map to power (ER, average power or
//!    OMA, level nonlinearity), plus RIN (white, one-sided PSD `RIN·P̄²` up to `fs_int/2`).
//! 3. **Field**: `√P·e^{jφ}` with the chirp phase ([`Chirp`]); negative power (from RIN) clips to 0.
//! 4. **Fibre** ([`Fiber`]): the all-pass dispersion on the field in the frequency domain, and the
//!    loss, then square-law detection `|E|²` — so power fading appears.
//! 5. **Receiver** ([`OpticalReceiver`]): photocurrent `M·(R·P + I_dark)`, shot and thermal noise
//!    (white up to `fs_int/2`), the TIA response, the output scale.
//! 6. **Scope** ([`Scope`]): every `k`-th sample (no further anti-alias filter: with `k > 1`, give
//!    the receiver a `bandwidth` below `scope.fs / 2` when aliasing matters), scope noise, ADC
//!    quantisation.
//!
//! Filtering runs block-wise with FFT windows whose overlap covers both impulse responses, so
//! memory is the output plus the drive (`4·k` bytes per output sample) plus a few windows per
//! thread. Every random deviate is addressed by the seed and its sample index (ChaCha8 streams), so
//! results do not depend on the number of threads.
//!
//! ```
//! use lightlane_core::sim::optical::{Fiber, OpticalLink};
//! use lightlane_core::Modulation;
//! let mut link = OpticalLink::new(Modulation::Pam4, 26.5625e9, 128e9).unwrap();
//! link.fiber = Some(Fiber::smf(2.0, 1310.0).unwrap());
//! let symbols: Vec<u8> = (0..2000u32).map(|k| (k * 7 % 4) as u8).collect(); // equiprobable
//! let capture = link.run(&symbols).unwrap();
//! assert_eq!(capture.waveform.meta.vertical_unit, "W");
//! let mean = capture.waveform.samples.iter().map(|&v| v as f64).sum::<f64>() / capture.waveform.len() as f64;
//! assert!((mean / capture.received_average_w - 1.0).abs() < 0.05);
//! ```

pub(crate) mod field;
mod fibre;
mod receiver;
mod transmitter;

pub use fibre::{
    dispersion_corners, smf_dispersion_ps_per_nm_km, DispersionCorners, DispersionModel, Fiber, FiberConfig,
    MAX_LENGTH_KM, MAX_WAVELENGTH_NM, MIN_WAVELENGTH_NM, SMF_ATTENUATION_DB_PER_KM, SMF_LAMBDA0_NM, SMF_S0,
    SPEED_OF_LIGHT,
};
pub use field::{Chirp, CHIRP_POWER_FLOOR, MAX_FILTER_REACH};
pub use receiver::{mcintyre_excess_noise, OpticalReceiver, RxOutput, Scope, ELEMENTARY_CHARGE};
pub use transmitter::{dbm_to_w, w_to_dbm, OpticalPower, OpticalTransmitter, TxPowerLevels};

use super::noise::GaussianStream;
use super::{Jitter, LinkModel, Noise, SymbolTiming, MAX_SAMPLES_PER_UI};
use crate::waveform::{RawCodes, WaveformMeta};
use crate::{Error, Modulation, Result, Waveform};
use field::{impulse_reach, power_to_field, window_size, SpectralFilter};
use rayon::prelude::*;
use rustfft::num_complex::Complex64;
use rustfft::FftPlanner;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use transmitter::LevelMap;

/// ChaCha stream of the RIN deviates.
const STREAM_RIN: u64 = 11;
/// ChaCha stream of the receiver (shot + thermal) deviates.
const STREAM_RX: u64 = 12;
/// ChaCha stream of the scope-noise deviates.
const STREAM_SCOPE: u64 = 13;

/// An optical IM/DD link. Construct with [`OpticalLink::new`], then set fields; also
/// deserialisable (every field but `modulation`, `baud` and `scope` has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpticalLink {
    /// Line modulation.
    pub modulation: Modulation,
    /// Symbol rate, Bd.
    pub baud: f64,
    /// The transmitter.
    #[serde(default)]
    pub tx: OpticalTransmitter,
    /// The fibre; `None` = back-to-back.
    #[serde(default)]
    pub fiber: Option<Fiber>,
    /// The receiver.
    #[serde(default)]
    pub rx: OpticalReceiver,
    /// The scope.
    pub scope: Scope,
    /// Transmit jitter.
    #[serde(default)]
    pub jitter: Jitter,
    /// Least internal samples per UI (default 8; the internal rate is an integer multiple of
    /// `scope.fs`).
    #[serde(default = "default_sim_spui")]
    pub sim_samples_per_ui: f64,
    /// Fine-grid points per UI of the drive rendering (4..=256, default 32; see [`LinkModel`]).
    #[serde(default = "default_os")]
    pub oversampling: usize,
    /// Centre of symbol 0 after sample 0, in UI (default 0.37).
    #[serde(default = "default_first_ui")]
    pub first_symbol_ui: f64,
    /// Seed of jitter and noise.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_sim_spui() -> f64 {
    8.0
}
fn default_os() -> usize {
    32
}
fn default_first_ui() -> f64 {
    0.37
}
fn default_seed() -> u64 {
    1
}

/// A simulated optical capture with its ground truth.
#[derive(Debug, Clone)]
pub struct OpticalCapture {
    /// The scope waveform (unit in `meta.vertical_unit`), `t0 = 0`.
    pub waveform: Waveform,
    /// Ground-truth symbol timing (the TIA delay is removed as well).
    pub symbol_times: SymbolTiming,
    /// Transmitter power levels.
    pub tx_levels: TxPowerLevels,
    /// Received average optical power (launch average times the fibre transmission), W.
    pub received_average_w: f64,
    /// Internal simulation rate, Sa/s.
    pub fs_internal: f64,
    /// Standard deviation of the scope noise, output units.
    pub scope_noise_rms: f64,
}

impl OpticalLink {
    /// A back-to-back link with the default transmitter (0 dBm, ER 5 dB, ideal bandwidth, no RIN or
    /// chirp), an ideal noiseless PIN receiver reporting W, and a noiseless scope at `fs`.
    pub fn new(modulation: Modulation, baud: f64, fs: f64) -> Result<OpticalLink> {
        let link = OpticalLink {
            modulation,
            baud,
            tx: OpticalTransmitter::default(),
            fiber: None,
            rx: OpticalReceiver {
                shot_noise: false,
                ..OpticalReceiver::default()
            },
            scope: Scope {
                fs,
                adc_bits: None,
                adc_range: None,
                noise: Noise::None,
            },
            jitter: Jitter::none(),
            sim_samples_per_ui: default_sim_spui(),
            oversampling: default_os(),
            first_symbol_ui: default_first_ui(),
            seed: default_seed(),
        };
        link.validate()?;
        Ok(link)
    }

    /// Upsampling factor `k` from the scope rate to the internal rate.
    pub fn upsampling(&self) -> usize {
        let k = (self.sim_samples_per_ui * self.baud / self.scope.fs * (1.0 - 1e-12)).ceil();
        (k.max(1.0)) as usize
    }

    fn drive_model(&self, fs_int: f64, first_symbol_time: f64) -> LinkModel {
        LinkModel {
            modulation: self.modulation,
            baud: self.baud,
            fs: fs_int,
            amplitude: 1.0,
            offset: 0.0,
            tx_ffe: self.tx.tx_ffe.clone(),
            tx_ffe_main: self.tx.tx_ffe_main,
            channel: self.tx.bandwidth.clone(),
            noise: Noise::None,
            jitter: self.jitter,
            oversampling: self.oversampling,
            first_symbol_time,
            seed: self.seed,
        }
    }

    /// Checks every parameter; errors are [`Error::InvalidParameter`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if !(self.baud.is_finite() && self.baud > 0.0) {
            return Err(Error::invalid("baud", self.baud, "must be a positive finite symbol rate"));
        }
        self.scope.validate(self.baud)?;
        if !(self.sim_samples_per_ui.is_finite() && (2.0..=256.0).contains(&self.sim_samples_per_ui)) {
            return Err(Error::invalid("sim_samples_per_ui", self.sim_samples_per_ui, "must be within 2..=256"));
        }
        if !(self.first_symbol_ui.is_finite() && self.first_symbol_ui.abs() <= 1e6) {
            return Err(Error::invalid("first_symbol_ui", self.first_symbol_ui, "must be finite, within ±10⁶ UI"));
        }
        let fs_int = self.upsampling() as f64 * self.scope.fs;
        if fs_int / self.baud > MAX_SAMPLES_PER_UI {
            return Err(Error::invalid("scope.fs", self.scope.fs, format!("more than {MAX_SAMPLES_PER_UI} samples per UI")));
        }
        self.tx.validate(self.modulation)?;
        if let Some(f) = &self.fiber {
            f.validate()?;
        }
        self.rx.validate()?;
        self.rx.bandwidth.validate(self.baud, self.oversampling).map_err(rename_rx)?;
        self.drive_model(fs_int, self.first_symbol_ui / self.baud).validate()
    }

    /// Number of scope samples for `n_symbols`: `floor(n · fs / baud)`, with the size guard of
    /// [`LinkModel::output_len`] (the same rule as the electrical simulator).
    pub fn output_len(&self, n_symbols: usize) -> Result<usize> {
        self.drive_model(self.scope.fs, self.first_symbol_ui / self.baud).output_len(n_symbols)
    }

    /// Simulates the link for `symbols` (values `0..=modulation.max_symbol()`); the pattern
    /// repeats (symbol `k` is `symbols[k mod n]`), so the capture is in steady state.
    ///
    /// Errors: [`Error::InvalidParameter`] for a bad link or too large an output,
    /// [`Error::InputTooShort`] for no symbols, [`Error::ValueOutOfRange`] for a bad symbol,
    /// [`Error::Unusable`] for `Noise::SnrDb` on a constant waveform.
    pub fn run(&self, symbols: &[u8]) -> Result<OpticalCapture> {
        self.validate()?;
        super::check_symbols(symbols, self.modulation)?;
        let n_out = self.output_len(symbols.len())?;
        if n_out == 0 {
            return Err(Error::InputTooShort {
                what: "symbols (for one scope sample)",
                needed: (self.baud / self.scope.fs).ceil() as usize,
                got: symbols.len(),
            });
        }
        let up = self.upsampling();
        let fs_int = up as f64 * self.scope.fs;
        let sps = fs_int / self.baud;

        // Filters and their reach.
        let fiber_coeff = self.fiber.as_ref().map_or(0.0, |f| f.phase_coefficient_s2());
        let fiber_resp = move |f: f64| Complex64::from_polar(1.0, fiber_coeff * f * f);
        let rx_delay = self.rx.bandwidth.design(self.baud, self.oversampling)?.delay_s;
        let rx_channel = self.rx.bandwidth.clone();
        let baud = self.baud;
        let rx_resp = move |f: f64| rx_channel.response(f, baud) * Complex64::from_polar(1.0, 2.0 * PI * f * rx_delay);
        let rx_ideal = self.rx.bandwidth == super::Channel::Ideal;
        let m_fib = if fiber_coeff == 0.0 { 0 } else { probe_reach(fs_int, &fiber_resp)? };
        let m_rx = if rx_ideal { 0 } else { probe_reach(fs_int, &rx_resp)? };
        let margin = m_fib + m_rx + 2;
        let n = window_size(margin, 64 * up)?;
        let valid = n - 2 * margin;
        let block_out = (valid - 1) / up + 1;
        let mut planner = FftPlanner::new();
        let fib_filter = (fiber_coeff != 0.0).then(|| SpectralFilter::new(n, fs_int, &fiber_resp, &mut planner));
        let rx_filter = (!rx_ideal).then(|| SpectralFilter::new(n, fs_int, &rx_resp, &mut planner));
        let scratch_len = fib_filter
            .iter()
            .chain(rx_filter.iter())
            .map(|f| f.scratch_len())
            .max()
            .unwrap_or(0);

        // Extended drive: p symbols before and q after the pattern, so every window reads
        // steady-state samples of the periodic pattern.
        let tx_design = self.tx.bandwidth.design(self.baud, self.oversampling)?;
        let r_tx = (tx_design.fir.taps.len() as f64 / self.oversampling as f64).ceil() as usize
            + self.jitter.bound_ui().ceil() as usize
            + 2;
        let p = (margin as f64 / sps).ceil() as usize + r_tx + 3;
        let q = ((n + margin) as f64 / sps).ceil() as usize + r_tx + up + 3;
        let n_sym = symbols.len();
        let n_ext = p + n_sym + q;
        let j0 = ((p as f64 - 1.0) * sps).floor() as usize;
        let first_symbol_time = self.first_symbol_ui / self.baud;
        let fst_ext = first_symbol_time - p as f64 / self.baud + j0 as f64 / fs_int;
        let ext: Vec<u8> = (0..n_ext).map(|k| symbols[(k + n_sym - p % n_sym) % n_sym]).collect();
        let drive = self.drive_model(fs_int, fst_ext).run(&ext)?;
        debug_assert!(j0 + (n_out - 1) * up + n <= drive.waveform.len());
        let drive_times = drive.symbol_times;
        let drive_samples = drive.waveform.samples;

        let level_map = LevelMap::new(&self.tx, self.modulation);
        let tx_levels = self.tx.power_levels(self.modulation);
        let p_avg = tx_levels.average_w;
        let rin_sigma = self
            .tx
            .rin_db_per_hz
            .map_or(0.0, |rin| (10f64.powf(rin / 10.0) * p_avg * p_avg * 0.5 * fs_int).sqrt());
        let transmission = self.fiber.as_ref().map_or(1.0, |f| f.power_transmission());
        let (r, m_gain, f_excess, i_dark) = (
            self.rx.responsivity_a_per_w,
            self.rx.apd_gain,
            self.rx.excess_noise_factor,
            self.rx.dark_current_a,
        );
        let shot_psd = if self.rx.shot_noise { 2.0 * ELEMENTARY_CHARGE * m_gain * m_gain * f_excess } else { 0.0 };
        let i_th = self.rx.thermal_noise_pa_per_rthz * 1e-12;
        let thermal_var = i_th * i_th * 0.5 * fs_int;
        let half_band = 0.5 * fs_int;
        let scale = self.rx.output_scale();
        let chirp = self.tx.chirp;
        let seed = self.seed;

        let mut samples = vec![0f32; n_out];
        let (sum, sum_sq) = samples
            .par_chunks_mut(block_out)
            .enumerate()
            .map_init(LinkScratch::default, |s, (b, out)| {
                let i0 = b * block_out;
                let start = j0 + i0 * up - margin;
                s.p.resize(n, 0.0);
                s.z.resize(n, 0.0);
                s.field.resize(n, Complex64::default());
                s.fft.resize(scratch_len, Complex64::default());
                for (pt, &x) in s.p.iter_mut().zip(&drive_samples[start..start + n]) {
                    *pt = level_map.power(x as f64);
                }
                if rin_sigma > 0.0 {
                    gaussian_fill(seed, STREAM_RIN, start, &mut s.z);
                    for (pt, z) in s.p.iter_mut().zip(&s.z) {
                        *pt += rin_sigma * z;
                    }
                }
                if let Some(filter) = &fib_filter {
                    power_to_field(&s.p, &chirp, p_avg, 1.0 / fs_int, &mut s.field);
                    filter.apply(&mut s.field, &mut s.fft);
                    for (pt, e) in s.p.iter_mut().zip(&s.field) {
                        *pt = e.norm_sqr() * transmission;
                    }
                } else {
                    for pt in s.p.iter_mut() {
                        *pt = pt.max(0.0) * transmission;
                    }
                }
                // Photocurrent with shot and thermal noise.
                let noisy = shot_psd > 0.0 || thermal_var > 0.0;
                if noisy {
                    gaussian_fill(seed, STREAM_RX, start, &mut s.z);
                }
                for (t, pt) in s.p.iter_mut().enumerate() {
                    let primary = r * *pt + i_dark;
                    let mut i = m_gain * primary;
                    if noisy {
                        i += (shot_psd * primary.max(0.0) * half_band + thermal_var).sqrt() * s.z[t];
                    }
                    *pt = i;
                }
                if let Some(filter) = &rx_filter {
                    for (e, &v) in s.field.iter_mut().zip(&s.p) {
                        *e = Complex64::new(v, 0.0);
                    }
                    filter.apply(&mut s.field, &mut s.fft);
                    for (pt, e) in s.p.iter_mut().zip(&s.field) {
                        *pt = e.re;
                    }
                }
                let (mut s1, mut s2) = (0.0f64, 0.0f64);
                for (j, o) in out.iter_mut().enumerate() {
                    let v = scale * s.p[margin + j * up];
                    *o = v as f32;
                    s1 += v;
                    s2 += v * v;
                }
                (s1, s2)
            })
            .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        drop(drive_samples); // the drive is the largest buffer; free it before the scope stage

        let mean = sum / n_out as f64;
        let variance = (sum_sq / n_out as f64 - mean * mean).max(0.0);
        let scope_noise_rms = self.scope.noise.rms_for_variance(variance, "optical simulation scope noise", "the received waveform")?;
        if scope_noise_rms > 0.0 {
            const BLOCK: usize = 1 << 16;
            samples.par_chunks_mut(BLOCK).enumerate().for_each_init(Vec::new, |z, (b, out)| {
                z.resize(out.len(), 0.0);
                gaussian_fill(seed, STREAM_SCOPE, b * BLOCK, z);
                for (o, &zv) in out.iter_mut().zip(z.iter()) {
                    *o = (*o as f64 + scope_noise_rms * zv) as f32;
                }
            });
        }
        let raw = self.scope.adc_bits.map(|bits| quantise(&mut samples, bits, self.scope.adc_range));

        let mut waveform = Waveform::new(samples, self.scope.fs)?;
        waveform.raw = raw;
        waveform.meta = WaveformMeta {
            source: Some("simulation".into()),
            vertical_unit: self.rx.output_unit().into(),
            ..Default::default()
        };
        let extra = &mut waveform.meta.extra;
        extra.insert("modulation".into(), self.modulation.to_string());
        extra.insert("baud".into(), self.baud.to_string());
        extra.insert("seed".into(), self.seed.to_string());
        extra.insert("optical_average_power_w".into(), p_avg.to_string());
        if let Some(f) = &self.fiber {
            extra.insert("wavelength_nm".into(), f.wavelength_nm.to_string());
            extra.insert("fiber_length_km".into(), f.length_km.to_string());
            extra.insert("dispersion_ps_per_nm".into(), f.accumulated_dispersion_ps_per_nm().to_string());
        }
        let jit = &drive_times.edge_jitter_ui;
        let edge_jitter_ui = if jit.is_empty() { Vec::new() } else { jit[p..=p + n_sym].to_vec() };
        Ok(OpticalCapture {
            waveform,
            symbol_times: SymbolTiming {
                baud: self.baud,
                first_symbol_time,
                n_symbols: n_sym,
                edge_jitter_ui,
                channel_delay: drive_times.channel_delay + rx_delay,
            },
            received_average_w: p_avg * transmission,
            tx_levels,
            fs_internal: fs_int,
            scope_noise_rms,
        })
    }
}

fn rename_rx(e: Error) -> Error {
    match e {
        Error::InvalidParameter { name, value, reason } => Error::InvalidParameter {
            name: if name.starts_with("channel") { "rx.bandwidth" } else { name },
            value,
            reason,
        },
        other => other,
    }
}

#[derive(Default)]
struct LinkScratch {
    p: Vec<f64>,
    z: Vec<f64>,
    field: Vec<Complex64>,
    fft: Vec<Complex64>,
}

/// Reach of a zero-delay response on the internal grid, growing the probe until it fits; at the
/// largest probe (2²⁰ points) the reach is capped at a quarter of it (the slowly decaying tail of a
/// response with a kink at Nyquist holds less than 10⁻⁹ of the energy well before that).
fn probe_reach(fs: f64, resp: &dyn Fn(f64) -> Complex64) -> Result<usize> {
    const MAX_PROBE: usize = 1 << 20;
    let mut probe = 1usize << 14;
    loop {
        let m = impulse_reach(probe, fs, resp);
        if m < probe / 8 {
            return Ok(m);
        }
        if probe >= MAX_PROBE {
            return Ok(m.min(probe / 4));
        }
        probe *= 4;
    }
}

/// Standard normal deviates of `stream` for global sample indices `start..start + out.len()`.
fn gaussian_fill(seed: u64, stream: u64, start: usize, out: &mut [f64]) {
    let mut g = GaussianStream::new(seed, stream, (start / 2) as u128);
    let mut idx = start & !1;
    let mut t = 0;
    while t < out.len() {
        let (a, b) = g.next_pair();
        for z in [a, b] {
            if idx >= start && t < out.len() {
                out[t] = z;
                t += 1;
            }
            idx += 1;
        }
    }
}

/// Quantises `samples` to `bits` over `range` (or the data range widened by 5 % each side) and
/// returns the codes.
fn quantise(samples: &mut [f32], bits: u32, range: Option<[f64; 2]>) -> RawCodes {
    let [lo, hi] = range.unwrap_or_else(|| {
        let (mn, mx) = samples
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v as f64), b.max(v as f64)));
        let span = (mx - mn).max(mx.abs().max(1e-30) * 1e-6);
        [mn - 0.05 * span, mx + 0.05 * span]
    });
    let levels = (1u32 << bits) - 1;
    let step = (hi - lo) / levels as f64;
    let half = 1i32 << (bits - 1);
    let mut codes = Vec::with_capacity(samples.len());
    for v in samples.iter_mut() {
        let c = ((*v as f64 - lo) / step).round().clamp(0.0, levels as f64) as i32;
        *v = (lo + c as f64 * step) as f32;
        codes.push((c - half) as i16);
    }
    RawCodes::I16 {
        codes,
        gain: step,
        offset: lo + half as f64 * step,
    }
}

#[cfg(test)]
mod tests;
