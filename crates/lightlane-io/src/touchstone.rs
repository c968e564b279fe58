//! Touchstone `.sNp` channel files (versions 1.x and 2.x), mixed-mode conversion, and causal
//! impulse and pulse responses of a channel at a given symbol rate.
//!
//! Any frequency unit (Hz/kHz/MHz/GHz), any data format (RI, MA, DB), S, Y or Z parameters
//! (Y and Z are converted to S with the reference impedances), `Full`/`Lower`/`Upper` matrix
//! formats, both two-port orders, noise data skipped. The result is plain data: frequencies in
//! Hz and one `ports × ports` complex S matrix per frequency.
//!
//! ```no_run
//! use lightlane_io::touchstone;
//! let ts = touchstone::read("thru.s4p".as_ref()).unwrap();
//! // Differential pair (1,3) in, (2,4) out.
//! let mm = ts.mixed_mode(&[(1, 3), (2, 4)]).unwrap();
//! let sdd21 = mm.sdd(2, 1);
//! let (dt, pulse) = touchstone::pulse_response(&ts.freqs, &sdd21, 26.5625e9, 32).unwrap();
//! println!("peak {:.3} at {:.1} ps", pulse.iter().cloned().fold(f64::MIN, f64::max), dt * 1e12);
//! ```

use crate::{IoError, Result};
use rustfft::num_complex::Complex;
use std::path::Path;

/// Complex double.
pub type C64 = Complex<f64>;

/// Data format of the values in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// Real and imaginary parts.
    Ri,
    /// Linear magnitude and angle in degrees.
    Ma,
    /// Magnitude in dB (20·log10) and angle in degrees.
    Db,
}

/// The parameter type the file stored (the data here is always S).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parameter {
    /// Scattering parameters.
    S,
    /// Admittance parameters (converted to S).
    Y,
    /// Impedance parameters (converted to S).
    Z,
}

/// An S-parameter data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Touchstone {
    /// Number of ports.
    pub ports: usize,
    /// Frequencies in Hz, strictly increasing.
    pub freqs: Vec<f64>,
    /// S matrices, row-major, one `ports × ports` block per frequency:
    /// `s[k * ports² + i * ports + j]` is S(i+1, j+1) at `freqs[k]`.
    pub s: Vec<C64>,
    /// Reference impedance per port, ohms.
    pub z0: Vec<f64>,
    /// 1 or 2.
    pub version: u8,
    /// What the file stored.
    pub parameter: Parameter,
    /// How the file stored it.
    pub format: DataFormat,
    /// Comment lines (`!`), without the `!`, at most 200.
    pub comments: Vec<String>,
}

impl Touchstone {
    /// Number of frequency points.
    pub fn points(&self) -> usize {
        self.freqs.len()
    }

    /// S(i, j) at frequency index `k`, with 1-based port numbers as written in data sheets.
    /// Panics if a port number is 0 or above `ports` (a programmer error).
    pub fn s_at(&self, k: usize, i: usize, j: usize) -> C64 {
        assert!((1..=self.ports).contains(&i) && (1..=self.ports).contains(&j), "port out of range");
        let n = self.ports;
        self.s[k * n * n + (i - 1) * n + (j - 1)]
    }

    /// S(i, j) over all frequencies (1-based ports).
    pub fn sij(&self, i: usize, j: usize) -> Vec<C64> {
        (0..self.points()).map(|k| self.s_at(k, i, j)).collect()
    }

    /// Mixed-mode S parameters for differential pairs given as `(positive, negative)` 1-based
    /// port numbers; mixed-mode port `m` (1-based) is `pairs[m-1]`. Every port must appear
    /// exactly once. `S_mm = M S Mᵀ` with the orthonormal `M` whose row `m` is
    /// `(e_p − e_n)/√2` (differential) and row `P + m` is `(e_p + e_n)/√2` (common).
    pub fn mixed_mode(&self, pairs: &[(usize, usize)]) -> Result<MixedMode> {
        let n = self.ports;
        let mut seen = vec![false; n];
        for &(p, q) in pairs {
            for x in [p, q] {
                if x == 0 || x > n || seen[x - 1] {
                    return Err(IoError::bad_at("mixed_mode", "port map", format!("{pairs:?}"), format!("each of ports 1..={n} exactly once")));
                }
                seen[x - 1] = true;
            }
        }
        if seen.iter().any(|&s| !s) {
            return Err(IoError::bad_at("mixed_mode", "port map", format!("{pairs:?}"), format!("each of ports 1..={n} exactly once")));
        }
        let np = pairs.len();
        let m2 = 2 * np;
        let h = std::f64::consts::FRAC_1_SQRT_2;
        // M as a sparse list: row r has +h at one port and ±h at the other.
        let rows: Vec<[(usize, f64); 2]> = (0..m2)
            .map(|r| {
                let (p, q) = pairs[r % np];
                let sign = if r < np { -h } else { h };
                [(p - 1, h), (q - 1, sign)]
            })
            .collect();
        let mut out = Vec::with_capacity(self.points() * m2 * m2);
        for k in 0..self.points() {
            let s = &self.s[k * n * n..(k + 1) * n * n];
            for a in 0..m2 {
                for b in 0..m2 {
                    let mut acc = C64::new(0.0, 0.0);
                    for &(i, mi) in &rows[a] {
                        for &(j, mj) in &rows[b] {
                            acc += s[i * n + j] * (mi * mj);
                        }
                    }
                    out.push(acc);
                }
            }
        }
        Ok(MixedMode {
            pairs: np,
            freqs: self.freqs.clone(),
            s: out,
        })
    }
}

/// Mixed-mode S parameters: per frequency a `2P × 2P` matrix, rows/columns `0..P`
/// differential, `P..2P` common mode.
#[derive(Debug, Clone, PartialEq)]
pub struct MixedMode {
    /// Number of differential pairs P.
    pub pairs: usize,
    /// Frequencies in Hz.
    pub freqs: Vec<f64>,
    /// Matrices, row-major.
    pub s: Vec<C64>,
}

impl MixedMode {
    fn get(&self, row: usize, col: usize) -> Vec<C64> {
        let m = 2 * self.pairs;
        (0..self.freqs.len()).map(|k| self.s[k * m * m + row * m + col]).collect()
    }
    fn check(&self, out: usize, inp: usize) {
        assert!((1..=self.pairs).contains(&out) && (1..=self.pairs).contains(&inp), "mixed-mode port out of range");
    }
    /// SDD(out, in) over frequency, 1-based mixed-mode ports (SDD21 = `sdd(2, 1)`).
    pub fn sdd(&self, out: usize, inp: usize) -> Vec<C64> {
        self.check(out, inp);
        self.get(out - 1, inp - 1)
    }
    /// SCC(out, in).
    pub fn scc(&self, out: usize, inp: usize) -> Vec<C64> {
        self.check(out, inp);
        self.get(self.pairs + out - 1, self.pairs + inp - 1)
    }
    /// SDC(out, in): differential response to a common-mode stimulus.
    pub fn sdc(&self, out: usize, inp: usize) -> Vec<C64> {
        self.check(out, inp);
        self.get(out - 1, self.pairs + inp - 1)
    }
    /// SCD(out, in): common-mode response to a differential stimulus.
    pub fn scd(&self, out: usize, inp: usize) -> Vec<C64> {
        self.check(out, inp);
        self.get(self.pairs + out - 1, inp - 1)
    }
}

/// `20·log10|c|`.
pub fn db(c: C64) -> f64 {
    20.0 * c.norm().log10()
}

/// The value of `h` at the frequency nearest to `f` (and that frequency).
pub fn at_frequency(freqs: &[f64], h: &[C64], f: f64) -> Option<(f64, C64)> {
    let k = freqs
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1 - f).abs().total_cmp(&(b.1 - f).abs()))?
        .0;
    Some((freqs[k], *h.get(k)?))
}

/// Port count from an `.sNp` extension.
pub fn ports_from_extension(path: &Path) -> Option<usize> {
    let e = path.extension()?.to_str()?.to_ascii_lowercase();
    let n = e.strip_prefix('s')?.strip_suffix('p')?;
    n.parse().ok().filter(|&n| n >= 1)
}

/// True when text starts like a Touchstone file (comments, then an option line or `[Version]`).
pub fn sniff(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('!') {
            continue;
        }
        return t.starts_with('#') || t.to_ascii_lowercase().starts_with("[version]");
    }
    false
}

/// Reads a Touchstone file (the port count of version 1 files comes from the `.sNp` extension).
pub fn read(path: &Path) -> Result<Touchstone> {
    let input = crate::source::Input::open(path)?;
    let bytes = input.read_all_bytes()?;
    parse(&path.display().to_string(), &String::from_utf8_lossy(&bytes), ports_from_extension(path))
}

fn bad(name: &str, field: &'static str, v: impl std::fmt::Display, why: impl Into<String>) -> IoError {
    IoError::bad_at(name, field, v, why)
}

/// Parses Touchstone text. `ports` is the port count for version 1 files (from the extension);
/// version 2 files state it.
pub fn parse(name: &str, text: &str, ports: Option<usize>) -> Result<Touchstone> {
    let mut version = 1u8;
    let mut nports = ports;
    let mut unit = 1e9;
    let mut param = Parameter::S;
    let mut format = DataFormat::Ma;
    let mut r_ref = 50.0;
    let mut refs: Option<Vec<f64>> = None;
    let mut order_21_12 = true; // version 1 two-port order
    let mut matrix = 0u8; // 0 full, 1 lower, 2 upper
    let mut seen_option = false;
    let mut in_data = false;
    let mut in_info = false;
    let mut comments = Vec::new();
    let mut pending_ref = false;
    let mut tokens: Vec<f64> = Vec::new(); // values of the point being read
    let mut freqs: Vec<f64> = Vec::new();
    let mut s_raw: Vec<(f64, f64)> = Vec::new();
    let mut done = false;
    for (ln, raw) in text.lines().enumerate() {
        let (body, comment) = match raw.find('!') {
            Some(i) => (&raw[..i], Some(&raw[i + 1..])),
            None => (raw, None),
        };
        if let Some(c) = comment {
            if comments.len() < 200 {
                comments.push(c.trim().chars().take(200).collect());
            }
        }
        let line = body.trim();
        if line.is_empty() || done {
            continue;
        }
        if line.starts_with('[') {
            let close = line.find(']').ok_or_else(|| bad(name, "keyword", ln + 1, "missing ']'"))?;
            let kw = line[1..close].trim().to_ascii_lowercase();
            let arg = line[close + 1..].trim();
            pending_ref = false;
            match kw.as_str() {
                "version" => {
                    version = 2;
                    if !arg.starts_with('2') {
                        return Err(IoError::unsupported(name, "version", arg, "Touchstone 2.x"));
                    }
                    order_21_12 = false;
                }
                "number of ports" => {
                    nports = Some(arg.parse().map_err(|_| bad(name, "number of ports", arg, "not an integer"))?);
                }
                "two-port data order" => {
                    order_21_12 = match arg {
                        "21_12" => true,
                        "12_21" => false,
                        _ => return Err(bad(name, "two-port data order", arg, "expected 12_21 or 21_12")),
                    }
                }
                "reference" => {
                    let v: Vec<f64> = arg.split_whitespace().filter_map(|t| t.parse().ok()).collect();
                    refs = Some(v);
                    pending_ref = true;
                }
                "matrix format" => {
                    matrix = match arg.to_ascii_lowercase().as_str() {
                        "full" => 0,
                        "lower" => 1,
                        "upper" => 2,
                        _ => return Err(bad(name, "matrix format", arg, "expected Full, Lower or Upper")),
                    }
                }
                "mixed-mode order" => return Err(IoError::unsupported(name, "mixed-mode order", arg, "files already in mixed mode are not read")),
                "network data" => in_data = true,
                "noise data" | "end" => {
                    in_data = false;
                    done = kw == "end" || !freqs.is_empty();
                }
                "begin information" => in_info = true,
                "end information" => in_info = false,
                _ => {}
            }
            continue;
        }
        if in_info {
            continue;
        }
        if line.starts_with('#') {
            if seen_option {
                continue; // only the first option line counts
            }
            seen_option = true;
            let toks: Vec<String> = line.trim_start_matches('#').split_whitespace().map(|t| t.to_ascii_uppercase()).collect();
            let mut i = 0;
            while i < toks.len() {
                match toks[i].as_str() {
                    "HZ" => unit = 1.0,
                    "KHZ" => unit = 1e3,
                    "MHZ" => unit = 1e6,
                    "GHZ" => unit = 1e9,
                    "THZ" => unit = 1e12,
                    "S" => param = Parameter::S,
                    "Y" => param = Parameter::Y,
                    "Z" => param = Parameter::Z,
                    "H" | "G" => return Err(IoError::unsupported(name, "parameter", &toks[i], "H and G parameters are not read")),
                    "RI" => format = DataFormat::Ri,
                    "MA" => format = DataFormat::Ma,
                    "DB" => format = DataFormat::Db,
                    "R" => {
                        let v = toks.get(i + 1).and_then(|t| t.parse::<f64>().ok()).ok_or_else(|| bad(name, "R", line, "R needs a number"))?;
                        r_ref = v;
                        i += 1;
                    }
                    t => return Err(bad(name, "option line", t, "unknown option")),
                }
                i += 1;
            }
            if version == 1 {
                in_data = true;
            }
            continue;
        }
        if pending_ref {
            // [Reference] values may continue on following lines.
            let v: Vec<f64> = line.split_whitespace().filter_map(|t| t.parse().ok()).collect();
            if let Some(r) = refs.as_mut() {
                if r.len() < nports.unwrap_or(0) {
                    r.extend(v);
                    continue;
                }
            }
            pending_ref = false;
        }
        if !in_data {
            if version == 1 && !seen_option {
                // Data before any option line: defaults apply.
                seen_option = true;
                in_data = true;
            } else {
                continue;
            }
        }
        let n = nports.ok_or_else(|| IoError::missing(name, "ports", "a version 1 file needs its port count from the .sNp extension"))?;
        if n == 0 || n > 256 {
            return Err(bad(name, "number of ports", n, "1..=256 supported"));
        }
        let per = if matrix == 0 { n * n } else { n * (n + 1) / 2 };
        let need = 1 + 2 * per;
        for t in line.split_whitespace() {
            let v: f64 = t.parse().map_err(|_| bad(name, "data", t, format!("line {} is not numbers", ln + 1)))?;
            if tokens.is_empty() {
                // A new point: a frequency not above the last one starts version 1 noise data.
                let f = v * unit;
                if let Some(&last) = freqs.last() {
                    if f <= last {
                        if version == 1 && n == 2 {
                            done = true;
                            break;
                        }
                        return Err(bad(name, "frequency", f, format!("not increasing (previous {last})")));
                    }
                }
            }
            tokens.push(v);
            if tokens.len() == need {
                let f = tokens[0] * unit;
                if !(f.is_finite() && f >= 0.0) {
                    return Err(bad(name, "frequency", f, "must be finite and >= 0"));
                }
                freqs.push(f);
                for p in tokens[1..].chunks_exact(2) {
                    s_raw.push((p[0], p[1]));
                }
                tokens.clear();
            }
        }
    }
    if !tokens.is_empty() {
        return Err(IoError::truncated(name, "last frequency point", 0, tokens.len() as u64));
    }
    let n = nports.ok_or_else(|| IoError::missing(name, "ports", "no port count (extension .sNp or [Number of Ports])"))?;
    if freqs.is_empty() {
        return Err(IoError::missing(name, "network data", "no frequency points"));
    }
    let z0 = match refs {
        Some(r) if version == 2 && r.len() == n => r,
        Some(r) if version == 2 && !r.is_empty() => return Err(bad(name, "reference", format!("{r:?}"), format!("{n} values expected"))),
        _ => vec![r_ref; n],
    };
    if z0.iter().any(|&z| !(z.is_finite() && z > 0.0)) {
        return Err(bad(name, "reference impedance", format!("{z0:?}"), "must be positive"));
    }
    let to_c = |(a, b): (f64, f64)| -> C64 {
        match format {
            DataFormat::Ri => C64::new(a, b),
            DataFormat::Ma => C64::from_polar(a, b.to_radians()),
            DataFormat::Db => C64::from_polar(10f64.powf(a / 20.0), b.to_radians()),
        }
    };
    let per = if matrix == 0 { n * n } else { n * (n + 1) / 2 };
    let mut s = vec![C64::new(0.0, 0.0); freqs.len() * n * n];
    for k in 0..freqs.len() {
        let src = &s_raw[k * per..(k + 1) * per];
        let dst = &mut s[k * n * n..(k + 1) * n * n];
        if matrix == 0 {
            for (idx, &v) in src.iter().enumerate() {
                let (i, j) = if n == 2 && order_21_12 { (idx % 2, idx / 2) } else { (idx / n, idx % n) };
                dst[i * n + j] = to_c(v);
            }
        } else {
            let mut it = src.iter();
            for i in 0..n {
                let (a, b) = if matrix == 1 { (0, i + 1) } else { (i, n) };
                for j in a..b {
                    let v = to_c(*it.next().expect("count checked"));
                    dst[i * n + j] = v;
                    dst[j * n + i] = v;
                }
            }
        }
        if dst.iter().any(|c| !(c.re.is_finite() && c.im.is_finite())) {
            return Err(bad(name, "data", freqs[k], "non-finite value"));
        }
        match param {
            Parameter::S => {}
            Parameter::Z | Parameter::Y => {
                // Version 1 stores Z and Y normalised to the reference; version 2 in ohms/siemens.
                let norm: Vec<f64> = if version == 1 { vec![1.0; n] } else { z0.iter().map(|z| z.sqrt()).collect() };
                let one = C64::new(1.0, 0.0);
                let eye = |idx: usize| if idx / n == idx % n { one } else { C64::default() };
                let x: Vec<C64> = (0..n * n)
                    .map(|idx| {
                        let (i, j) = (idx / n, idx % n);
                        if param == Parameter::Z {
                            dst[idx] / (norm[i] * norm[j])
                        } else {
                            dst[idx] * (norm[i] * norm[j])
                        }
                    })
                    .collect();
                // Z: S = (z - I)(z + I)^-1; Y: S = (I - y)(I + y)^-1.
                let (a, b): (Vec<C64>, Vec<C64>) = if param == Parameter::Z {
                    ((0..n * n).map(|i| x[i] - eye(i)).collect(), (0..n * n).map(|i| x[i] + eye(i)).collect())
                } else {
                    ((0..n * n).map(|i| eye(i) - x[i]).collect(), (0..n * n).map(|i| x[i] + eye(i)).collect())
                };
                let converted = right_divide(&a, &b, n).ok_or_else(|| bad(name, "data", freqs[k], "Z/Y matrix cannot be converted (singular)"))?;
                dst.copy_from_slice(&converted);
            }
        }
    }
    Ok(Touchstone {
        ports: n,
        freqs,
        s,
        z0,
        version,
        parameter: param,
        format,
        comments,
    })
}

/// `A · B⁻¹` for `n × n` row-major matrices, by Gauss-Jordan elimination with partial
/// pivoting on `Bᵀ Xᵀ = Aᵀ`; `None` when `B` is singular.
fn right_divide(a_m: &[C64], b_m: &[C64], n: usize) -> Option<Vec<C64>> {
    let tr = |m: &[C64]| -> Vec<C64> { (0..n * n).map(|idx| m[(idx % n) * n + idx / n]).collect() };
    let mut a = tr(b_m);
    let mut b = tr(a_m);
    for col in 0..n {
        let piv = (col..n).max_by(|&r1, &r2| a[r1 * n + col].norm().total_cmp(&a[r2 * n + col].norm()))?;
        if a[piv * n + col].norm() < 1e-300 {
            return None;
        }
        for c in 0..n {
            a.swap(col * n + c, piv * n + c);
            b.swap(col * n + c, piv * n + c);
        }
        let d = a[col * n + col];
        for c in 0..n {
            a[col * n + c] /= d;
            b[col * n + c] /= d;
        }
        for r in 0..n {
            if r != col {
                let f = a[r * n + col];
                if f != C64::default() {
                    for c in 0..n {
                        let (ac, bc) = (a[col * n + c], b[col * n + c]);
                        a[r * n + c] -= f * ac;
                        b[r * n + c] -= f * bc;
                    }
                }
            }
        }
    }
    Some(tr(&b))
}

/// A time response on a uniform grid.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeResponse {
    /// Sample interval, seconds.
    pub dt: f64,
    /// Values at `t = i·dt`, `i = 0..`.
    pub samples: Vec<f64>,
    /// Fraction of the energy that the inverse FFT put at negative times (the second half of
    /// the period) before it was removed; large values mean the data is not causal or the
    /// frequency step is too coarse for the channel's length.
    pub noncausal_energy: f64,
}

fn smooth_len(min: usize) -> usize {
    let mut n = min.max(2);
    loop {
        let mut m = n;
        for p in [2, 3, 5] {
            while m.is_multiple_of(p) {
                m /= p;
            }
        }
        if m == 1 && n.is_multiple_of(2) {
            return n;
        }
        n += 1;
    }
}

/// Largest FFT the responses use.
const MAX_FFT: usize = 1 << 24;

/// Resamples `h(freqs)` onto `k·df`, `k = 0..=n/2`: magnitude and unwrapped phase interpolate
/// linearly; below the first frequency the magnitude holds and the phase goes linearly to 0 at
/// DC; above the last frequency the response is 0.
fn resample(freqs: &[f64], h: &[C64], df: f64, half: usize) -> Vec<C64> {
    let mut phase = Vec::with_capacity(h.len());
    let mut prev = 0.0;
    for (i, c) in h.iter().enumerate() {
        let mut p = c.arg();
        if i > 0 {
            while p - prev > std::f64::consts::PI {
                p -= 2.0 * std::f64::consts::PI;
            }
            while p - prev < -std::f64::consts::PI {
                p += 2.0 * std::f64::consts::PI;
            }
        }
        phase.push(p);
        prev = p;
    }
    let mag: Vec<f64> = h.iter().map(|c| c.norm()).collect();
    let last = *freqs.last().expect("checked non-empty");
    let mut j = 0;
    (0..=half)
        .map(|k| {
            let f = k as f64 * df;
            if f > last {
                return C64::default();
            }
            if f <= freqs[0] {
                let ph = if freqs[0] > 0.0 { phase[0] * f / freqs[0] } else { 0.0 };
                let m = if k == 0 { h[0].re.signum() * mag[0] } else { mag[0] };
                return if k == 0 { C64::new(m, 0.0) } else { C64::from_polar(m, ph) };
            }
            while j + 1 < freqs.len() && freqs[j + 1] < f {
                j += 1;
            }
            let (f0, f1) = (freqs[j], freqs[(j + 1).min(freqs.len() - 1)]);
            let w = if f1 > f0 { (f - f0) / (f1 - f0) } else { 0.0 };
            let jn = (j + 1).min(freqs.len() - 1);
            C64::from_polar(mag[j] + w * (mag[jn] - mag[j]), phase[j] + w * (phase[jn] - phase[j]))
        })
        .collect()
}

fn check_response_input(freqs: &[f64], h: &[C64]) -> Result<()> {
    if freqs.len() != h.len() || freqs.len() < 2 {
        return Err(IoError::bad_at("response", "frequencies", freqs.len(), format!("need >= 2 points and one value each ({} values)", h.len())));
    }
    if freqs[0] < 0.0 || freqs.windows(2).any(|w| w[1] <= w[0] || w[1].is_nan()) || freqs.iter().any(|f| !f.is_finite()) {
        return Err(IoError::bad_at("response", "frequencies", freqs[0], "must be finite, >= 0 and strictly increasing"));
    }
    if h.iter().any(|c| !(c.re.is_finite() && c.im.is_finite())) {
        return Err(IoError::bad_at("response", "transfer function", "NaN/Inf", "values must be finite"));
    }
    Ok(())
}

/// Spectrum `H(k·df)·W(k·df)` on an FFT grid at sample interval `dt`, inverse transformed:
/// returns the real time response (scaled by `df`) and the grid size.
fn time_response(freqs: &[f64], h: &[C64], dt: f64, weight: impl Fn(f64) -> C64) -> Result<TimeResponse> {
    check_response_input(freqs, h)?;
    if !(dt.is_finite() && dt > 0.0) {
        return Err(IoError::bad_at("response", "dt", dt, "must be positive"));
    }
    let fs = 1.0 / dt;
    let span = freqs[freqs.len() - 1] - freqs[0];
    let df_file = span / (freqs.len() - 1) as f64;
    let need = (fs / df_file).ceil();
    if !(need.is_finite() && need <= MAX_FFT as f64) {
        return Err(IoError::bad_at("response", "grid", need, format!("fs / frequency step needs more than {MAX_FFT} points")));
    }
    let n = smooth_len(need as usize);
    let df = fs / n as f64;
    let half = n / 2;
    let spec = resample(freqs, h, df, half);
    let mut buf = vec![C64::default(); n];
    for (k, v) in spec.iter().enumerate() {
        buf[k] = v * weight(k as f64 * df);
    }
    buf[half] = C64::new(buf[half].re, 0.0);
    for k in 1..half {
        buf[n - k] = buf[k].conj();
    }
    let mut planner = rustfft::FftPlanner::new();
    planner.plan_fft_inverse(n).process(&mut buf);
    let mut samples: Vec<f64> = buf.iter().map(|c| c.re * df).collect();
    let total: f64 = samples.iter().map(|v| v * v).sum();
    let neg: f64 = samples[half..].iter().map(|v| v * v).sum();
    for v in &mut samples[half..] {
        *v = 0.0;
    }
    Ok(TimeResponse {
        dt,
        samples,
        noncausal_energy: if total > 0.0 { neg / total } else { 0.0 },
    })
}

/// Causal impulse response of the transfer function `h` sampled at `freqs` (Hz), at sample
/// interval `dt`: the discrete-time response (`Σ samples = H(0)`), to convolve with a signal
/// sampled at `dt`. The band above the last frequency is taken as zero; the response is
/// placed on `[0, T/2)` of the inverse-FFT period `T ≈ 1/Δf` and the negative-time half removed
/// (its share is reported in [`TimeResponse::noncausal_energy`]).
pub fn impulse_response(freqs: &[f64], h: &[C64], dt: f64) -> Result<TimeResponse> {
    let mut r = time_response(freqs, h, dt, |_| C64::new(1.0, 0.0))?;
    for v in &mut r.samples {
        *v *= dt;
    }
    Ok(r)
}

/// Pulse response of the channel `h(freqs)` to a unit-amplitude pulse one unit interval
/// (`1/baud`) long starting at `t = 0`, sampled `samples_per_ui` times per UI. Computed exactly
/// in the frequency domain (`H(f)·UI·sinc(f·UI)·e^{-jπf·UI}`), so the result does not depend on
/// a time-domain integration step. Returns `(dt, samples)`; causal as in [`impulse_response`].
pub fn pulse_response(freqs: &[f64], h: &[C64], baud: f64, samples_per_ui: usize) -> Result<(f64, Vec<f64>)> {
    let r = pulse_response_detailed(freqs, h, baud, samples_per_ui)?;
    Ok((r.dt, r.samples))
}

/// [`pulse_response`] with the causality diagnostic.
pub fn pulse_response_detailed(freqs: &[f64], h: &[C64], baud: f64, samples_per_ui: usize) -> Result<TimeResponse> {
    if !(baud.is_finite() && baud > 0.0) {
        return Err(IoError::bad_at("pulse_response", "baud", baud, "must be positive"));
    }
    if samples_per_ui == 0 {
        return Err(IoError::bad_at("pulse_response", "samples_per_ui", 0, "must be at least 1"));
    }
    let ui = 1.0 / baud;
    time_response(freqs, h, ui / samples_per_ui as f64, |f| {
        let x = f * ui;
        let sinc = if x == 0.0 { 1.0 } else { (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x) };
        C64::from_polar(ui * sinc, -std::f64::consts::PI * x)
    })
}

/// Which transfer function of a Touchstone file a simulated channel uses.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelPath {
    /// Differential `SDD(out, inp)` (mixed-mode ports, 1-based) with the pairs given as
    /// `(positive, negative)` 1-based ports, e.g. `[(1, 3), (2, 4)]` and SDD21 = `out 2, inp 1`.
    Differential { pairs: Vec<(usize, usize)>, out: usize, inp: usize },
    /// Single-ended `S(out, inp)`, 1-based (S21 = `out 2, inp 1`).
    Single { out: usize, inp: usize },
}

impl ChannelPath {
    /// SDD21 with the usual 4-port through numbering: pair `(1, 3)` in, `(2, 4)` out (ports
    /// 1→2 and 3→4 are the two lines).
    pub fn sdd21_odd_even() -> Self {
        ChannelPath::Differential { pairs: vec![(1, 3), (2, 4)], out: 2, inp: 1 }
    }
}

/// Most taps kept for a simulated channel (the simulator's own limit).
const MAX_CHANNEL_TAPS: usize = lightlane_core::sim::MAX_IMPULSE_TAPS;

/// Energy fraction of the impulse response kept when the tail is trimmed.
const CHANNEL_ENERGY_KEPT: f64 = 1.0 - 1e-9;

/// A simulator channel ([`lightlane_core::sim::Channel::Impulse`]) with the causal impulse
/// response of `h(freqs)` at sample interval `dt` (use the simulation's fine grid,
/// `1 / (oversampling · baud)`, or its sample rate). The tail after
/// `1 − 1e-9` of the energy is trimmed. Errors as [`impulse_response`], and a response whose
/// inverse FFT put more than 1 % of its energy at negative times (not causal, or a frequency
/// step too coarse for the channel) is rejected.
pub fn channel_from_response(freqs: &[f64], h: &[C64], dt: f64) -> Result<lightlane_core::sim::Channel> {
    let r = impulse_response(freqs, h, dt)?;
    if r.noncausal_energy > 0.01 {
        return Err(IoError::bad_at(
            "channel",
            "noncausal energy",
            r.noncausal_energy,
            "more than 1 % of the response lies at negative times (non-causal data or too coarse a frequency step)",
        ));
    }
    let total: f64 = r.samples.iter().map(|v| v * v).sum();
    if total.is_nan() || total <= 0.0 {
        return Err(IoError::bad_at("channel", "transfer function", "0", "the response is zero"));
    }
    let mut acc = 0.0;
    let mut end = r.samples.len();
    for (i, v) in r.samples.iter().enumerate() {
        acc += v * v;
        if acc >= CHANNEL_ENERGY_KEPT * total {
            end = i + 1;
            break;
        }
    }
    let taps = r.samples[..end.min(MAX_CHANNEL_TAPS)].to_vec();
    Ok(lightlane_core::sim::Channel::Impulse { dt, taps })
}

impl Touchstone {
    /// The transfer function `path` selects, one value per frequency.
    pub fn transfer(&self, path: &ChannelPath) -> Result<Vec<C64>> {
        match path {
            ChannelPath::Differential { pairs, out, inp } => {
                let mm = self.mixed_mode(pairs)?;
                if !(1..=mm.pairs).contains(out) || !(1..=mm.pairs).contains(inp) {
                    return Err(IoError::bad_at("channel", "mixed-mode port", format!("SDD{out}{inp}"), format!("ports are 1..={}", mm.pairs)));
                }
                Ok(mm.sdd(*out, *inp))
            }
            ChannelPath::Single { out, inp } => {
                if !(1..=self.ports).contains(out) || !(1..=self.ports).contains(inp) {
                    return Err(IoError::bad_at("channel", "port", format!("S{out}{inp}"), format!("ports are 1..={}", self.ports)));
                }
                Ok(self.sij(*out, *inp))
            }
        }
    }

    /// The simulator channel of `path` at sample interval `dt` (see [`channel_from_response`]):
    /// `ts.to_channel(&ChannelPath::sdd21_odd_even(), 1.0 / (32.0 * baud))` for a
    /// [`lightlane_core::sim::LinkModel`] with the default 32 points per UI.
    pub fn to_channel(&self, path: &ChannelPath, dt: f64) -> Result<lightlane_core::sim::Channel> {
        channel_from_response(&self.freqs, &self.transfer(path)?, dt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S2P_V1: &str = "! two-port\n# GHz S RI R 50\n1 0.1 0.0 0.9 -0.1 0.8 -0.2 0.2 0.0\n2 0.2 0.0 0.7 -0.3 0.6 -0.4 0.3 0.0\n! noise\n1 1.5 0.5 10 0.3\n";

    #[test]
    fn v1_two_port_order_and_noise() {
        let t = parse("t", S2P_V1, Some(2)).unwrap();
        assert_eq!(t.freqs, vec![1e9, 2e9]);
        // v1 order: S11 S21 S12 S22.
        assert_eq!(t.s_at(0, 2, 1), C64::new(0.9, -0.1));
        assert_eq!(t.s_at(0, 1, 2), C64::new(0.8, -0.2));
        assert_eq!(t.s_at(1, 2, 2), C64::new(0.3, 0.0));
    }

    #[test]
    fn formats_units_and_v2() {
        let ma = "# MHz S MA R 50\n100 1 0 0.5 90 0.5 90 1 180\n";
        let t = parse("t", ma, Some(2)).unwrap();
        assert_eq!(t.freqs, vec![1e8]);
        assert!((t.s_at(0, 2, 1) - C64::new(0.0, 0.5)).norm() < 1e-12);
        let dbf = "# Hz S DB R 50\n5 -6.020599913 0 0 0 0 0 0 0\n";
        let t = parse("t", dbf, Some(2)).unwrap();
        assert!((t.s_at(0, 1, 1).re - 0.5).abs() < 1e-9);
        let v2 = "[Version] 2.0\n# GHz S RI R 50\n[Number of Ports] 2\n[Two-Port Data Order] 12_21\n[Number of Frequencies] 1\n[Reference] 50 75\n[Network Data]\n1 0.1 0 0.2 0 0.3 0 0.4 0\n[End]\n";
        let t = parse("t", v2, None).unwrap();
        assert_eq!(t.version, 2);
        assert_eq!(t.s_at(0, 1, 2), C64::new(0.2, 0.0));
        assert_eq!(t.z0, vec![50.0, 75.0]);
        let lower = "[Version] 2.0\n# GHz S RI R 50\n[Number of Ports] 3\n[Matrix Format] Lower\n[Network Data]\n1 1 0\n2 0 3 0\n4 0 5 0 6 0\n[End]\n";
        let t = parse("t", lower, None).unwrap();
        assert_eq!(t.s_at(0, 1, 3), C64::new(4.0, 0.0));
        assert_eq!(t.s_at(0, 3, 2), C64::new(5.0, 0.0));
    }

    #[test]
    fn z_and_y_convert_to_s() {
        // A series resistor R between ports: Z is singular, Y = [[1/R, -1/R], [-1/R, 1/R]].
        // S11 = R/(R+2Z0), S21 = 2Z0/(R+2Z0). With R = 50, Z0 = 50: 1/3 and 2/3.
        let y = "# GHz Y RI R 50\n1 1 0 -1 0 -1 0 1 0\n"; // normalised: y·Z0 = 50/50
        let t = parse("t", y, Some(2)).unwrap();
        assert!((t.s_at(0, 1, 1) - C64::new(1.0 / 3.0, 0.0)).norm() < 1e-12);
        assert!((t.s_at(0, 2, 1) - C64::new(2.0 / 3.0, 0.0)).norm() < 1e-12);
        // A shunt resistor R = 50 to ground: Z = [[R, R], [R, R]] (normalised 1): S11 = -1/3, S21 = 2/3.
        let z = "# GHz Z RI R 50\n1 1 0 1 0 1 0 1 0\n";
        let t = parse("t", z, Some(2)).unwrap();
        assert!((t.s_at(0, 1, 1) - C64::new(-1.0 / 3.0, 0.0)).norm() < 1e-12);
        assert!((t.s_at(0, 2, 1) - C64::new(2.0 / 3.0, 0.0)).norm() < 1e-12);
    }

    #[test]
    fn mixed_mode_matches_closed_form() {
        // Random 4-port: SDD21 = (S21 - S23 - S41 + S43)/2 for pairs (1,3), (2,4).
        let mut s = Vec::new();
        for i in 0..16 {
            s.push(C64::new((i as f64 * 0.37).sin(), (i as f64 * 0.91).cos()));
        }
        let t = Touchstone {
            ports: 4,
            freqs: vec![1e9],
            s,
            z0: vec![50.0; 4],
            version: 1,
            parameter: Parameter::S,
            format: DataFormat::Ri,
            comments: vec![],
        };
        let mm = t.mixed_mode(&[(1, 3), (2, 4)]).unwrap();
        let want = (t.s_at(0, 2, 1) - t.s_at(0, 2, 3) - t.s_at(0, 4, 1) + t.s_at(0, 4, 3)) * 0.5;
        assert!((mm.sdd(2, 1)[0] - want).norm() < 1e-12);
        let scd = (t.s_at(0, 2, 1) - t.s_at(0, 2, 3) + t.s_at(0, 4, 1) - t.s_at(0, 4, 3)) * 0.5;
        assert!((mm.scd(2, 1)[0] - scd).norm() < 1e-12);
        assert!(t.mixed_mode(&[(1, 3), (2, 2)]).is_err());
        assert!(t.mixed_mode(&[(1, 3)]).is_err());
        assert!(t.mixed_mode(&[(1, 3), (2, 5)]).is_err());
    }

    #[test]
    fn corrupt_text_is_typed() {
        assert!(parse("t", "# GHz S RI R 50\n1 0.1 0.0 0.9\n", Some(2)).is_err());
        assert!(parse("t", "# GHz S XX R 50\n1 0 0 0 0 0 0 0 0\n", Some(2)).is_err());
        assert!(parse("t", "# GHz S RI R 50\n2 0 0 0 0 0 0 0 0\n1 0 0 0 0 0 0 0 0\n", Some(4)).is_err());
        assert!(parse("t", "# GHz S RI R 50\n1 0 0 0 0 0 0 0 0\n", None).is_err());
        assert!(parse("t", "# GHz H RI R 50\n1 0 0 0 0 0 0 0 0\n", Some(2)).is_err());
        assert!(parse("t", "# GHz S RI R -5\n1 0 0 0 0 0 0 0 0\n", Some(2)).is_err());
        assert!(parse("t", "# GHz S RI R 50\n1 0 0 nan 0 0 0 0 0\n", Some(2)).is_err());
    }

    /// Naive inverse DFT oracle for the pulse response of a one-pole low-pass.
    #[test]
    fn pulse_response_of_rc_matches_closed_form() {
        let fc = 5e9;
        let tau = 1.0 / (2.0 * std::f64::consts::PI * fc);
        let freqs: Vec<f64> = (0..=20000).map(|k| k as f64 * 10e6).collect();
        let h: Vec<C64> = freqs.iter().map(|&f| C64::new(1.0, 0.0) / C64::new(1.0, f / fc)).collect();
        let baud = 25e9;
        let (dt, p) = pulse_response(&freqs, &h, baud, 16).unwrap();
        let ui = 1.0 / baud;
        assert!((dt - ui / 16.0).abs() < 1e-24);
        for (i, &v) in p.iter().enumerate().take(200) {
            let t = i as f64 * dt;
            let want = if t < ui { 1.0 - (-t / tau).exp() } else { (1.0 - (-ui / tau).exp()) * (-(t - ui) / tau).exp() };
            assert!((v - want).abs() < 0.02, "t = {t:e}: {v} vs {want}");
        }
        // Area of the pulse response is H(0)·UI.
        let area: f64 = p.iter().sum::<f64>() * dt;
        assert!((area - ui).abs() < 1e-3 * ui);
        // A pure delay puts the pulse at the delay.
        let d = 1e-9;
        let hd: Vec<C64> = freqs.iter().map(|&f| C64::from_polar(1.0, -2.0 * std::f64::consts::PI * f * d) / C64::new(1.0, f / fc)).collect();
        let (_, pd) = pulse_response(&freqs, &hd, baud, 16).unwrap();
        let peak = pd.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        let ipeak = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(peak - ipeak, (d / dt).round() as usize);
        // The impulse response of the delayed channel sums to H(0) and is causal.
        let ir = impulse_response(&freqs, &hd, dt).unwrap();
        assert!((ir.samples.iter().sum::<f64>() - 1.0).abs() < 1e-3, "{}", ir.samples.iter().sum::<f64>());
        assert!(ir.noncausal_energy < 1e-3, "{}", ir.noncausal_energy);
        let before: f64 = ir.samples[..(0.9 * d / dt) as usize].iter().map(|v| v.abs()).sum();
        assert!(before < 0.05, "{before}");
        assert!(pulse_response(&freqs, &h, 0.0, 16).is_err());
        assert!(pulse_response(&freqs[..1], &h[..1], baud, 16).is_err());
        assert!(pulse_response(&[2.0, 1.0], &h[..2], baud, 16).is_err());
    }
}
