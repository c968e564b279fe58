//! Channel models of the link simulator and their design as FIR filters on the internal fine grid.
//!
//! Every channel is turned into one real FIR on the fine grid (`oversampling` cells per UI):
//! symbol-spaced FIRs exactly (whole-UI delays are whole numbers of cells), analytic low-pass
//! responses by sampling the response on a fine FFT grid, and sampled impulse responses by
//! band-limited (Kaiser-windowed sinc) resampling. The fixed delay a channel adds is removed
//! (see [`Channel`]) so the symbol-time ground truth of [`super::SymbolTiming`] stays valid.

use super::fir::{FineFir, MAX_FINE_FIR_LEN};
use crate::{Error, Result};
use rustfft::num_complex::Complex64;
use rustfft::FftPlanner;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::OnceLock;

/// Most taps a [`Channel::SymbolFir`] may have.
pub const MAX_SYMBOL_FIR_TAPS: usize = 4096;
/// Most taps a [`Channel::Impulse`] may have.
pub const MAX_IMPULSE_TAPS: usize = 1 << 20;
/// Most stages (counted recursively) in a [`Channel::Cascade`].
pub const MAX_CASCADE_STAGES: usize = 16;

/// Lowest supported analytic-filter bandwidth, as a fraction of the baud rate.
const MIN_F3DB_PER_BAUD: f64 = 1e-3;
/// Highest supported analytic-filter bandwidth, as a fraction of the fine-grid rate
/// (`oversampling · baud`): the response must have died out well below the grid's Nyquist.
const MAX_F3DB_PER_GRID_RATE: f64 = 1.0 / 8.0;
/// Half-width of the windowed-sinc resampling kernel, in zero crossings.
const SINC_HALF_WIDTH: usize = 32;
/// Table points per unit of the resampling kernel (linear interpolation, error < 3e-8).
const SINC_TABLE_RES: usize = 4096;
/// Kaiser window shape of the resampling kernel (stop-band about −100 dB).
const SINC_KAISER_BETA: f64 = 10.0;

/// The channel between the transmitter and the scope.
///
/// All responses act on the continuous-time transmitted waveform `x(t)` (volts at level ±1 =
/// [`super::LinkModel::amplitude`]). The fixed delay each channel adds is removed, so the
/// centre of symbol `k` stays at `first_symbol_time + k / baud`:
///
/// * `Ideal`, `Gaussian`: no delay.
/// * `SymbolFir`: the main cursor `taps[main]` has zero delay.
/// * `BesselThomson`: the true (non-linear-phase) response is kept, advanced by its group delay at
///   DC, `ω₀ / (2π f3dB)`.
/// * `Impulse`: advanced so that the response to a one-UI rectangular pulse has the centre of its
///   full width at half maximum at the symbol centre.
/// * `Cascade`: the sum of its stages' delays.
///
/// The removed delay is reported in [`super::SymbolTiming::channel_delay`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Channel {
    /// No filtering.
    #[default]
    Ideal,
    /// Symbol-spaced ISI: `y(t) = Σ_k taps[k] · x(t − (k − main) T)`, `T = 1/baud`.
    SymbolFir {
        /// Cursor weights, pre-cursors first.
        taps: Vec<f64>,
        /// Index of the main cursor.
        main: usize,
    },
    /// Gaussian low-pass, zero phase: `|H(f)| = exp(−(ln 2 / 2)·(f / f3dB)²)` (−3.01 dB at f3dB).
    Gaussian {
        /// −3 dB frequency in Hz.
        f3db_hz: f64,
    },
    /// Bessel-Thomson low-pass of order `order` (1..=8):
    /// `H(p) = a₀ / Σ_k a_k p^k`, `a_k = (2n−k)! / (2^{n−k} k! (n−k)!)`, `p = j·ω₀·f/f3dB`,
    /// with ω₀ chosen so that `|H(f3dB)| = 1/√2`. Order 4 is the reference receiver of
    /// IEEE 802.3 Clause 121.8.5.1 / 138.8.5 (TDECQ, f3dB = 0.5 × baud) and COM (Annex 93A),
    /// ω₀ = 2.113917674904.
    BesselThomson {
        /// −3 dB frequency in Hz.
        f3db_hz: f64,
        /// Filter order, 1..=8.
        order: usize,
    },
    /// A sampled impulse response: `taps[n]` is the discrete-time response at `n · dt`
    /// (`y[k] = Σ_n taps[n] · x[k − n]` at sample interval `dt`, so the DC gain is `Σ taps`).
    /// The response is taken as band-limited to `1 / (2 dt)`.
    Impulse {
        /// Sample interval of `taps` in seconds.
        dt: f64,
        /// The impulse response.
        taps: Vec<f64>,
    },
    /// Stages applied one after another (e.g. a symbol-spaced ISI channel followed by a
    /// Bessel-Thomson receiver).
    Cascade(Vec<Channel>),
}

/// A channel turned into a fine-grid FIR, with the delay that was removed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChannelDesign {
    pub fir: FineFir,
    pub delay_s: f64,
}

impl Channel {
    /// Checks the channel parameters for a link at `baud` simulated with `oversampling` fine-grid
    /// points per UI. Errors name the offending field (`channel.f3db_hz`, `channel.taps`, ...).
    pub fn validate(&self, baud: f64, oversampling: usize) -> Result<()> {
        let mut stages = 0;
        self.validate_inner(baud, oversampling, &mut stages)
    }

    fn validate_inner(&self, baud: f64, oversampling: usize, stages: &mut usize) -> Result<()> {
        *stages += 1;
        if *stages > MAX_CASCADE_STAGES + 1 {
            return Err(Error::invalid(
                "channel",
                format!("{} stages", *stages - 1),
                format!("a cascade may hold at most {MAX_CASCADE_STAGES} stages in all"),
            ));
        }
        let grid_rate = oversampling as f64 * baud;
        let check_f3db = |f3db: f64| -> Result<()> {
            if !(f3db.is_finite() && f3db > 0.0) {
                return Err(Error::invalid("channel.f3db_hz", f3db, "must be a positive finite frequency"));
            }
            if f3db < MIN_F3DB_PER_BAUD * baud {
                return Err(Error::invalid(
                    "channel.f3db_hz",
                    f3db,
                    format!("below {MIN_F3DB_PER_BAUD} × baud; the impulse response would be too long"),
                ));
            }
            if f3db > MAX_F3DB_PER_GRID_RATE * grid_rate {
                return Err(Error::invalid(
                    "channel.f3db_hz",
                    f3db,
                    format!(
                        "above oversampling × baud / 8 = {:.6e} Hz, which the internal grid cannot resolve; raise oversampling",
                        MAX_F3DB_PER_GRID_RATE * grid_rate
                    ),
                ));
            }
            Ok(())
        };
        let check_taps = |taps: &[f64], max: usize| -> Result<()> {
            if taps.is_empty() {
                return Err(Error::invalid("channel.taps", "[]", "need at least one tap"));
            }
            if taps.len() > max {
                return Err(Error::invalid("channel.taps", format!("{} taps", taps.len()), format!("at most {max} taps")));
            }
            if let Some(i) = taps.iter().position(|v| !v.is_finite()) {
                return Err(Error::invalid("channel.taps", taps[i], format!("tap {i} is not finite")));
            }
            if taps.iter().all(|&v| v == 0.0) {
                return Err(Error::invalid("channel.taps", "all zero", "the channel would pass no signal"));
            }
            Ok(())
        };
        match self {
            Channel::Ideal => Ok(()),
            Channel::SymbolFir { taps, main } => {
                check_taps(taps, MAX_SYMBOL_FIR_TAPS)?;
                if *main >= taps.len() {
                    return Err(Error::invalid(
                        "channel.main",
                        main,
                        format!("main cursor index must be below the number of taps ({})", taps.len()),
                    ));
                }
                Ok(())
            }
            Channel::Gaussian { f3db_hz } => check_f3db(*f3db_hz),
            Channel::BesselThomson { f3db_hz, order } => {
                if !(1..=8).contains(order) {
                    return Err(Error::invalid("channel.order", order, "Bessel-Thomson order must be 1..=8"));
                }
                check_f3db(*f3db_hz)
            }
            Channel::Impulse { dt, taps } => {
                if !(dt.is_finite() && *dt > 0.0) {
                    return Err(Error::invalid("channel.dt", dt, "must be a positive finite interval in seconds"));
                }
                check_taps(taps, MAX_IMPULSE_TAPS)?;
                let dtf = 1.0 / grid_rate;
                let d = dt.max(dtf);
                let span_cells = (taps.len() as f64 * dt + 2.0 * SINC_HALF_WIDTH as f64 * d) / dtf;
                if span_cells > MAX_FINE_FIR_LEN as f64 {
                    return Err(Error::invalid(
                        "channel.dt",
                        dt,
                        format!(
                            "the impulse response spans {span_cells:.0} fine-grid cells, more than {MAX_FINE_FIR_LEN}; shorten it or lower oversampling"
                        ),
                    ));
                }
                Ok(())
            }
            Channel::Cascade(stages_list) => {
                for s in stages_list {
                    s.validate_inner(baud, oversampling, stages)?;
                }
                Ok(())
            }
        }
    }

    /// The channel's frequency response at `f_hz` as modelled, including the delay that the
    /// simulator removes (see [`Channel`]); `baud` sets the UI of `SymbolFir`.
    pub fn response(&self, f_hz: f64, baud: f64) -> Complex64 {
        match self {
            Channel::Ideal => Complex64::new(1.0, 0.0),
            Channel::SymbolFir { taps, main } => taps
                .iter()
                .enumerate()
                .map(|(k, &h)| Complex64::from_polar(h, -2.0 * PI * f_hz * (k as f64 - *main as f64) / baud))
                .sum(),
            Channel::Gaussian { f3db_hz } => Complex64::new(gaussian_response(f_hz / f3db_hz), 0.0),
            Channel::BesselThomson { f3db_hz, order } => bessel_thomson_response(*order, f_hz / f3db_hz),
            Channel::Impulse { dt, taps } => {
                if f_hz.abs() > 0.5 / dt {
                    Complex64::new(0.0, 0.0)
                } else {
                    taps.iter()
                        .enumerate()
                        .map(|(n, &h)| Complex64::from_polar(h, -2.0 * PI * f_hz * n as f64 * dt))
                        .sum()
                }
            }
            Channel::Cascade(stages) => stages.iter().map(|s| s.response(f_hz, baud)).product(),
        }
    }

    /// Designs the fine-grid FIR (validated parameters assumed; errors only on sizes).
    pub(crate) fn design(&self, baud: f64, oversampling: usize) -> Result<ChannelDesign> {
        let dtf = 1.0 / (baud * oversampling as f64);
        let design = match self {
            Channel::Ideal => ChannelDesign {
                fir: FineFir::identity(),
                delay_s: 0.0,
            },
            Channel::SymbolFir { taps, main } => {
                let mut fine = vec![0.0; (taps.len() - 1) * oversampling + 1];
                for (k, &t) in taps.iter().enumerate() {
                    fine[k * oversampling] = t;
                }
                ChannelDesign {
                    fir: FineFir {
                        taps: fine,
                        lead: (*main * oversampling) as isize,
                    }
                    .trimmed(),
                    delay_s: 0.0,
                }
            }
            Channel::Gaussian { f3db_hz } => {
                let f3 = *f3db_hz;
                let sigma_t = (2f64.ln()).sqrt() / (2.0 * PI * f3);
                let fir = design_from_response(&|f| Complex64::new(gaussian_response(f / f3), 0.0), dtf, 16.0 * sigma_t)
                    .map_err(|why| Error::invalid("channel.f3db_hz", f3, why))?;
                ChannelDesign { fir, delay_s: 0.0 }
            }
            Channel::BesselThomson { f3db_hz, order } => {
                let (f3, n) = (*f3db_hz, *order);
                let c = bessel_thomson_coefficients(n);
                let w0 = bessel_thomson_omega0(n);
                let tau = w0 / (2.0 * PI * f3);
                let fir = design_from_response(
                    &|f| {
                        Complex64::new(c[0], 0.0) / bessel_poly(&c, Complex64::new(0.0, w0 * f / f3))
                            * Complex64::from_polar(1.0, 2.0 * PI * f * tau)
                    },
                    dtf,
                    32.0 * tau,
                )
                .map_err(|why| Error::invalid("channel.f3db_hz", f3, why))?;
                ChannelDesign { fir, delay_s: tau }
            }
            Channel::Impulse { dt, taps } => {
                let first = resample_impulse(taps, *dt, dtf, 0.0);
                let centre = pulse_fwhm_centre(&first, oversampling);
                let delay_s = centre * dtf;
                ChannelDesign {
                    fir: resample_impulse(taps, *dt, dtf, delay_s),
                    delay_s,
                }
            }
            Channel::Cascade(stages) => {
                let mut acc = ChannelDesign {
                    fir: FineFir::identity(),
                    delay_s: 0.0,
                };
                for s in stages {
                    let d = s.design(baud, oversampling)?;
                    if acc.fir.taps.len() + d.fir.taps.len() - 1 > MAX_FINE_FIR_LEN {
                        return Err(Error::invalid(
                            "channel",
                            format!("{} cascaded stages", stages.len()),
                            format!("the cascade's impulse response exceeds {MAX_FINE_FIR_LEN} fine-grid cells"),
                        ));
                    }
                    acc.fir = acc.fir.cascade(&d.fir);
                    acc.delay_s += d.delay_s;
                }
                ChannelDesign {
                    fir: acc.fir,
                    delay_s: acc.delay_s,
                }
            }
        };
        if design.fir.taps.len() > MAX_FINE_FIR_LEN {
            return Err(Error::invalid(
                "channel",
                format!("{} fine-grid taps", design.fir.taps.len()),
                format!("the channel's impulse response exceeds {MAX_FINE_FIR_LEN} fine-grid cells"),
            ));
        }
        Ok(design)
    }
}

/// Gaussian low-pass magnitude at `x = f / f3dB`: `exp(−(ln 2 / 2) x²)`.
pub fn gaussian_response(x: f64) -> f64 {
    (-0.5 * 2f64.ln() * x * x).exp()
}

/// Coefficients `a_0..=a_n` of the reverse Bessel polynomial of order `n`,
/// `a_k = (2n−k)! / (2^{n−k} k! (n−k)!)` (802.3 / COM Bessel-Thomson filter). `n` is clamped to 1..=8.
pub fn bessel_thomson_coefficients(order: usize) -> Vec<f64> {
    let n = order.clamp(1, 8);
    let fact = |m: usize| -> f64 { (1..=m).map(|v| v as f64).product() };
    (0..=n)
        .map(|k| fact(2 * n - k) / (2f64.powi((n - k) as i32) * fact(k) * fact(n - k)))
        .collect()
}

fn bessel_poly(coeffs: &[f64], p: Complex64) -> Complex64 {
    coeffs.iter().rev().fold(Complex64::new(0.0, 0.0), |acc, &a| acc * p + a)
}

/// The normalisation ω₀ of the order-`n` Bessel-Thomson filter: `|a₀ / B_n(j ω₀)| = 1/√2`
/// (ω₀ = 2.113917674904 for n = 4, per the 802.3 / COM BT4 reference receiver).
pub fn bessel_thomson_omega0(order: usize) -> f64 {
    let c = bessel_thomson_coefficients(order);
    let target = 2.0 * c[0] * c[0];
    let (mut lo, mut hi) = (0.0f64, 16.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if bessel_poly(&c, Complex64::new(0.0, mid)).norm_sqr() < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Bessel-Thomson response of order `order` at `x = f / f3dB`, with its true delay:
/// `H = a₀ / Σ a_k p^k`, `p = j ω₀ x`. The group delay at DC is `ω₀ / (2π f3dB)`.
pub fn bessel_thomson_response(order: usize, x: f64) -> Complex64 {
    bessel_thomson_response_fn(order)(x)
}

/// [`bessel_thomson_response`] of order `order` as a function of `x`, with the coefficients and
/// ω₀ (a 200-step bisection) computed once: for evaluating the response on a grid.
pub(crate) fn bessel_thomson_response_fn(order: usize) -> impl Fn(f64) -> Complex64 + Send + Sync {
    let c = bessel_thomson_coefficients(order);
    let w0 = bessel_thomson_omega0(order);
    move |x| Complex64::new(c[0], 0.0) / bessel_poly(&c, Complex64::new(0.0, w0 * x))
}

/// Raised-cosine taper from 0.8 to 1.0 of the grid's Nyquist frequency, so the sampled response
/// is continuous (with its slope) across Nyquist and its impulse response decays quickly.
fn nyquist_taper(x: f64) -> f64 {
    if x <= 0.8 {
        1.0
    } else if x >= 1.0 {
        0.0
    } else {
        0.5 * (1.0 + (PI * (x - 0.8) / 0.2).cos())
    }
}

/// Fine-grid FIR of a response given in Hz, by sampling it on an FFT grid large enough that
/// the impulse response has decayed to 1e-10 of its peak before wrapping around.
fn design_from_response(resp: &dyn Fn(f64) -> Complex64, dtf: f64, duration_hint_s: f64) -> Result<FineFir, String> {
    let mut n = ((4.0 * duration_hint_s / dtf).ceil().max(256.0) as usize).next_power_of_two();
    let limit = 4 * MAX_FINE_FIR_LEN;
    let mut planner = FftPlanner::<f64>::new();
    loop {
        if n > limit {
            return Err(format!(
                "the impulse response does not decay within {MAX_FINE_FIR_LEN} fine-grid cells"
            ));
        }
        let nyq = 0.5 / dtf;
        let mut buf = vec![Complex64::new(0.0, 0.0); n];
        for k in 0..=n / 2 {
            let f = k as f64 / (n as f64 * dtf);
            let mut h = resp(f) * nyquist_taper(f / nyq);
            if k == n / 2 {
                h = Complex64::new(h.re, 0.0);
            }
            buf[k] = h;
            if k > 0 && k < n / 2 {
                buf[n - k] = h.conj();
            }
        }
        planner.plan_fft_inverse(n).process(&mut buf);
        let scale = 1.0 / n as f64;
        // Index m in [-n/2, n/2) is stored at (m mod n).
        let at = |m: isize| buf[m.rem_euclid(n as isize) as usize].re * scale;
        let half = (n / 2) as isize;
        let peak = (-half..half).map(|m| at(m).abs()).fold(0.0, f64::max);
        let thr = 1e-10 * peak;
        let quarter = (n / 4) as isize;
        let tail = (-half..-quarter).chain(quarter..half).map(|m| at(m).abs()).fold(0.0, f64::max);
        if tail > thr {
            n *= 2;
            continue;
        }
        let lo = (-half..half).find(|&m| at(m).abs() > thr).unwrap_or(0).min(0);
        let hi = (-half..half).rev().find(|&m| at(m).abs() > thr).unwrap_or(0).max(0);
        let taps: Vec<f64> = (lo..=hi).map(at).collect();
        return Ok(FineFir { taps, lead: -lo });
    }
}

fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = 0.25 * x * x;
    for k in 1..200 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}

/// Kaiser-windowed sinc on [0, SINC_HALF_WIDTH], tabulated; exact zeros at the integers.
fn sinc_table() -> &'static [f64] {
    static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let w = SINC_HALF_WIDTH as f64;
        let i0b = bessel_i0(SINC_KAISER_BETA);
        (0..=SINC_HALF_WIDTH * SINC_TABLE_RES + 1)
            .map(|i| {
                if i % SINC_TABLE_RES == 0 {
                    return if i == 0 { 1.0 } else { 0.0 };
                }
                let x = i as f64 / SINC_TABLE_RES as f64;
                if x >= w {
                    return 0.0;
                }
                let sinc = (PI * x).sin() / (PI * x);
                let r = x / w;
                sinc * bessel_i0(SINC_KAISER_BETA * (1.0 - r * r).sqrt()) / i0b
            })
            .collect()
    })
}

fn windowed_sinc(x: f64) -> f64 {
    let table = sinc_table();
    let pos = x.abs() * SINC_TABLE_RES as f64;
    let nearest = pos.round();
    if (pos - nearest).abs() < 1e-6 {
        // On a table point (in particular on the exact zeros at the integers).
        return table.get(nearest as usize).copied().unwrap_or(0.0);
    }
    let i = pos.floor() as usize;
    if i + 1 >= table.len() {
        return 0.0;
    }
    let frac = pos - i as f64;
    table[i] + frac * (table[i + 1] - table[i])
}

/// Resamples a sampled impulse response (interval `dt`, band-limited to 1/(2dt)) onto the fine
/// grid (interval `dtf`), advanced by `advance_s`: `h_f[m] ≈ dtf · h_lp(m·dtf + advance_s)`, where
/// `h_lp` is the continuous response low-passed to the lower of the two Nyquist frequencies.
fn resample_impulse(taps: &[f64], dt: f64, dtf: f64, advance_s: f64) -> FineFir {
    let d = dt.max(dtf);
    let half = SINC_HALF_WIDTH as f64 * d;
    let t_first = -half;
    let t_last = (taps.len() - 1) as f64 * dt + half;
    let m_lo = ((t_first - advance_s) / dtf).ceil() as isize;
    let m_hi = ((t_last - advance_s) / dtf).floor() as isize;
    let gain = dtf / d;
    let fine: Vec<f64> = (m_lo..=m_hi)
        .map(|m| {
            let t = m as f64 * dtf + advance_s;
            let n_lo = ((t - half) / dt).ceil().max(0.0) as usize;
            let n_hi = (((t + half) / dt).floor().min((taps.len() - 1) as f64)).max(-1.0);
            if n_hi < n_lo as f64 {
                return 0.0;
            }
            let n_hi = n_hi as usize;
            let mut acc = 0.0;
            for (n, &h) in taps.iter().enumerate().take(n_hi + 1).skip(n_lo) {
                acc += h * windowed_sinc((t - n as f64 * dt) / d);
            }
            acc * gain
        })
        .collect();
    FineFir { taps: fine, lead: -m_lo }.trimmed()
}

/// Centre (in cells, relative to the centre of the input pulse) of the full width at half
/// maximum of the response of `fir` to a one-UI rectangular pulse of `os` cells.
fn pulse_fwhm_centre(fir: &FineFir, os: usize) -> f64 {
    let p = convolve_box(&fir.taps, os);
    // p[j] is output cell m = j − lead for an input pulse on cells [0, os).
    let (jmax, _) = p
        .iter()
        .enumerate()
        .fold((0, 0.0f64), |(bi, bv), (i, &v)| if v.abs() > bv { (i, v.abs()) } else { (bi, bv) });
    let sign = p[jmax].signum();
    let q: Vec<f64> = p.iter().map(|v| v * sign).collect();
    let half = 0.5 * q[jmax];
    let mut left = 0.0;
    if let Some(j) = (0..jmax).rev().find(|&j| q[j] < half) {
        left = j as f64 + (half - q[j]) / (q[j + 1] - q[j]);
    }
    let mut right = (q.len() - 1) as f64;
    if let Some(j) = (jmax + 1..q.len()).find(|&j| q[j] < half) {
        right = (j - 1) as f64 + (q[j - 1] - half) / (q[j - 1] - q[j]);
    }
    let centre_j = 0.5 * (left + right);
    // Cell index m = j − lead; the input pulse is centred on cell coordinate (os − 1) / 2.
    centre_j - fir.lead as f64 - (os as f64 - 1.0) / 2.0
}

fn convolve_box(taps: &[f64], os: usize) -> Vec<f64> {
    let mut out = vec![0.0; taps.len() + os - 1];
    let mut run = 0.0;
    for (j, o) in out.iter_mut().enumerate() {
        if j < taps.len() {
            run += taps[j];
        }
        if j >= os {
            run -= taps[j - os];
        }
        *o = run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAUD: f64 = 53.125e9;

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    #[test]
    fn bt4_coefficients_and_omega0_match_802_3() {
        assert_eq!(bessel_thomson_coefficients(4), vec![105.0, 105.0, 45.0, 10.0, 1.0]);
        assert!((bessel_thomson_omega0(4) - 2.113_917_674_904).abs() < 1e-9);
        assert!((bessel_thomson_omega0(1) - 1.0).abs() < 1e-12);
        for n in 1..=8 {
            let h = bessel_thomson_response(n, 1.0);
            assert!((db(h.norm()) + 3.0103).abs() < 1e-4, "order {n}: {} dB", db(h.norm()));
            // Group delay at DC = ω₀/(2π f3dB): phase slope at small x.
            let x = 1e-4;
            let slope = -bessel_thomson_response(n, x).arg() / (2.0 * PI * x);
            assert!((slope - bessel_thomson_omega0(n) / (2.0 * PI)).abs() < 1e-6, "order {n}");
        }
        assert!((db(gaussian_response(1.0)) + 3.0103).abs() < 1e-4);
    }

    /// The designed fine-grid FIR (after truncation and delay removal) keeps −3.01 dB at f3dB,
    /// unit DC gain, and the removed delay leaves a near-zero phase in the pass band.
    #[test]
    fn designed_filters_keep_their_response() {
        for (ch, f3) in [
            (Channel::BesselThomson { f3db_hz: 0.5 * BAUD, order: 4 }, 0.5 * BAUD),
            (Channel::BesselThomson { f3db_hz: 0.75 * BAUD, order: 8 }, 0.75 * BAUD),
            (Channel::BesselThomson { f3db_hz: 0.3 * BAUD, order: 1 }, 0.3 * BAUD),
            (Channel::Gaussian { f3db_hz: 0.6 * BAUD }, 0.6 * BAUD),
        ] {
            for os in [8usize, 32] {
                ch.validate(BAUD, os).unwrap();
                let d = ch.design(BAUD, os).unwrap();
                let cells_per_hz = 1.0 / (BAUD * os as f64);
                let h3 = d.fir.response(f3 * cells_per_hz);
                assert!((db(h3.norm()) + 3.0103).abs() < 1e-3, "{ch:?} os {os}: {} dB", db(h3.norm()));
                assert!((d.fir.response(0.0).re - 1.0).abs() < 1e-8, "{ch:?} DC gain");
                let exact = ch.response(f3, BAUD) * Complex64::from_polar(1.0, 2.0 * PI * f3 * d.delay_s);
                assert!((h3 - exact).norm() < 1e-6, "{ch:?} os {os}: {h3} vs {exact}");
            }
        }
    }

    /// At the edges of the accepted bandwidth range the design either succeeds with the right
    /// response or fails with a named error, quickly and without huge allocations.
    #[test]
    fn extreme_bandwidths() {
        let t = std::time::Instant::now();
        for os in [4usize, 32] {
            let grid = BAUD * os as f64;
            for f3 in [MIN_F3DB_PER_BAUD * BAUD * 1.0001, MAX_F3DB_PER_GRID_RATE * grid * 0.9999] {
                for ch in [
                    Channel::BesselThomson { f3db_hz: f3, order: 1 },
                    Channel::BesselThomson { f3db_hz: f3, order: 4 },
                    Channel::BesselThomson { f3db_hz: f3, order: 8 },
                    Channel::Gaussian { f3db_hz: f3 },
                ] {
                    ch.validate(BAUD, os).unwrap();
                    match ch.design(BAUD, os) {
                        Ok(d) => {
                            let h3 = d.fir.response(f3 / grid);
                            assert!((db(h3.norm()) + 3.0103).abs() < 0.05, "{ch:?} os {os}: {} dB", db(h3.norm()));
                            assert!((d.fir.response(0.0).re - 1.0).abs() < 1e-6, "{ch:?} os {os}");
                        }
                        Err(Error::InvalidParameter { name, .. }) => {
                            assert_eq!(name, "channel.f3db_hz");
                            eprintln!("{ch:?} at os {os}: rejected");
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }
        eprintln!("extreme designs took {:?}", t.elapsed());
    }

    #[test]
    fn bt_delay_is_reported() {
        let ch = Channel::BesselThomson { f3db_hz: 0.5 * BAUD, order: 4 };
        let d = ch.design(BAUD, 32).unwrap();
        assert!((d.delay_s - 2.113_917_674_904 / (2.0 * PI * 0.5 * BAUD)).abs() < 1e-18);
    }

    #[test]
    fn symbol_fir_design_is_exact() {
        let ch = Channel::SymbolFir { taps: vec![0.1, 1.0, -0.2], main: 1 };
        let d = ch.design(BAUD, 4).unwrap();
        assert_eq!(d.fir.taps, vec![0.1, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -0.2]);
        assert_eq!(d.fir.lead, 4);
    }

    #[test]
    fn impulse_single_tap_on_grid_is_identity() {
        let os = 16;
        let dtf = 1.0 / (BAUD * os as f64);
        let ch = Channel::Impulse { dt: dtf, taps: vec![1.0] };
        let d = ch.design(BAUD, os).unwrap();
        assert_eq!(d.fir, FineFir::identity());
        assert!(d.delay_s.abs() < 1e-6 * dtf);
        // Delayed by 5 samples: the delay is found and removed.
        let ch = Channel::Impulse { dt: dtf, taps: vec![0.0, 0.0, 0.0, 0.0, 0.0, 2.0] };
        let d = ch.design(BAUD, os).unwrap();
        assert!((d.delay_s - 5.0 * dtf).abs() < 1e-6 * dtf);
        assert_eq!(d.fir.taps.len(), 1);
        assert_eq!(d.fir.taps[0], 2.0);
    }

    /// A Gaussian impulse response sampled at an interval unrelated to the fine grid, and
    /// delayed, resamples to the analytic Gaussian channel's fine FIR.
    #[test]
    fn impulse_resampling_matches_analytic_gaussian() {
        let os = 32;
        let f3 = 0.6 * BAUD;
        let sigma_t = (2f64.ln()).sqrt() / (2.0 * PI * f3);
        for dt in [1.0 / (BAUD * 20.7), 1.0 / (BAUD * 77.3)] {
            let delay = 3.3e-11;
            let taps: Vec<f64> = (0..((2.0 * delay / dt) as usize))
                .map(|n| {
                    let t = n as f64 * dt - delay;
                    dt * (-(t * t) / (2.0 * sigma_t * sigma_t)).exp() / ((2.0 * PI).sqrt() * sigma_t)
                })
                .collect();
            let imp = Channel::Impulse { dt, taps }.design(BAUD, os).unwrap();
            let gauss = Channel::Gaussian { f3db_hz: f3 }.design(BAUD, os).unwrap();
            assert!((imp.delay_s - delay).abs() < 1e-3 / BAUD, "delay {} vs {delay}", imp.delay_s);
            for f in [0.0, 0.1, 0.25, 0.5, 1.0] {
                let fc = f / os as f64;
                let a = imp.fir.response(fc);
                let b = gauss.fir.response(fc);
                assert!((a - b).norm() < 2e-5, "dt {dt} f {f}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let name = |c: Channel| match c.validate(BAUD, 32) {
            Err(Error::InvalidParameter { name, .. }) => name,
            other => panic!("expected InvalidParameter for {c:?}, got {other:?}"),
        };
        assert_eq!(name(Channel::Gaussian { f3db_hz: -1.0 }), "channel.f3db_hz");
        assert_eq!(name(Channel::Gaussian { f3db_hz: f64::NAN }), "channel.f3db_hz");
        assert_eq!(name(Channel::Gaussian { f3db_hz: 10.0 * BAUD }), "channel.f3db_hz");
        assert_eq!(name(Channel::Gaussian { f3db_hz: 1e-6 * BAUD }), "channel.f3db_hz");
        assert_eq!(name(Channel::BesselThomson { f3db_hz: BAUD, order: 0 }), "channel.order");
        assert_eq!(name(Channel::BesselThomson { f3db_hz: BAUD, order: 9 }), "channel.order");
        assert_eq!(name(Channel::SymbolFir { taps: vec![], main: 0 }), "channel.taps");
        assert_eq!(name(Channel::SymbolFir { taps: vec![1.0, f64::INFINITY], main: 0 }), "channel.taps");
        assert_eq!(name(Channel::SymbolFir { taps: vec![0.0, 0.0], main: 0 }), "channel.taps");
        assert_eq!(name(Channel::SymbolFir { taps: vec![1.0], main: 1 }), "channel.main");
        assert_eq!(name(Channel::Impulse { dt: 0.0, taps: vec![1.0] }), "channel.dt");
        assert_eq!(name(Channel::Impulse { dt: 1e-3, taps: vec![1.0] }), "channel.dt");
        assert_eq!(name(Channel::Cascade(vec![Channel::Ideal; 17])), "channel");
        // Each stage alone fits the fine grid, the cascade does not: rejected by the design.
        let long = Channel::SymbolFir { taps: vec![0.5; MAX_SYMBOL_FIR_TAPS], main: 0 };
        let cascade = Channel::Cascade(vec![long.clone(), long]);
        cascade.validate(BAUD, 256).unwrap();
        assert!(matches!(cascade.design(BAUD, 256), Err(Error::InvalidParameter { name: "channel", .. })));
        assert_eq!(
            name(Channel::Cascade(vec![Channel::Ideal, Channel::Gaussian { f3db_hz: 0.0 }])),
            "channel.f3db_hz"
        );
    }
}
