//! PNG pictures of the eye (viridis density, axes in UI and volts or mW, threshold and level
//! marks, BER contour) and of the bathtub curves. Pure Rust: the `png` encoder and a built-in
//! 5×7 bitmap font, no system fonts.

use super::{Bathtub, BerContour, EyeDiagram};
use crate::{Error, Result};

/// An RGB canvas.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

const WHITE: [u8; 3] = [235, 235, 235];
const GREY: [u8; 3] = [120, 120, 120];
const BG: [u8; 3] = [16, 16, 24];
const THRESHOLD: [u8; 3] = [255, 90, 70];
const LEVEL: [u8; 3] = [120, 200, 255];
const CURVES: [[u8; 3]; 4] = [[253, 231, 37], [53, 183, 121], [49, 104, 142], [230, 120, 200]];

impl Canvas {
    fn new(w: usize, h: usize, bg: [u8; 3]) -> Self {
        let mut px = vec![0u8; w * h * 3];
        for p in px.chunks_exact_mut(3) {
            p.copy_from_slice(&bg);
        }
        Canvas { w, h, px }
    }
    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let i = (y as usize * self.w + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }
    fn hline(&mut self, x0: i64, x1: i64, y: i64, c: [u8; 3], dash: i64) {
        for x in x0..=x1 {
            if dash == 0 || (x / dash) % 2 == 0 {
                self.set(x, y, c);
            }
        }
    }
    fn vline(&mut self, x: i64, y0: i64, y1: i64, c: [u8; 3], dash: i64) {
        for y in y0..=y1 {
            if dash == 0 || (y / dash) % 2 == 0 {
                self.set(x, y, c);
            }
        }
    }
    fn line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: [u8; 3]) {
        let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).clamp(1, 10_000);
        for k in 0..=n {
            let t = k as f64 / n as f64;
            self.set((x0 + t * (x1 - x0)).round() as i64, (y0 + t * (y1 - y0)).round() as i64, c);
        }
    }
    fn text(&mut self, x: i64, y: i64, s: &str, c: [u8; 3], scale: i64) {
        let mut cx = x;
        for ch in s.chars() {
            let g = glyph(ch);
            for (row, bits) in g.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                self.set(cx + col * scale + dx, y + row as i64 * scale + dy, c);
                            }
                        }
                    }
                }
            }
            cx += 6 * scale;
        }
    }
    fn text_width(s: &str, scale: i64) -> i64 {
        s.chars().count() as i64 * 6 * scale
    }
    fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.w as u32, self.h as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut wr = enc.write_header().map_err(png_err)?;
            wr.write_image_data(&self.px).map_err(png_err)?;
        }
        Ok(out)
    }
}

fn png_err(e: png::EncodingError) -> Error {
    Error::Unusable { stage: "png encoding", reason: e.to_string() }
}

/// 5×7 glyphs (bit 4 = leftmost column); unknown characters render blank.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        'e' => [0, 0, 0x0E, 0x11, 0x1F, 0x10, 0x0E],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'm' => [0, 0, 0x1A, 0x15, 0x15, 0x11, 0x11],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'l' => [0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'o' => [0, 0, 0x0E, 0x11, 0x11, 0x11, 0x0E],
        'g' => [0, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E],
        'u' => [0, 0, 0x11, 0x11, 0x11, 0x13, 0x0D],
        'n' => [0, 0, 0x16, 0x19, 0x11, 0x11, 0x11],
        't' => [0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06],
        'i' => [0x04, 0, 0x0C, 0x04, 0x04, 0x04, 0x0E],
        'h' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11],
        'a' => [0, 0, 0x0E, 0x01, 0x0F, 0x11, 0x0F],
        'r' => [0, 0, 0x16, 0x19, 0x10, 0x10, 0x10],
        'z' => [0, 0, 0x1F, 0x02, 0x04, 0x08, 0x1F],
        'v' => [0, 0, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'c' => [0, 0, 0x0E, 0x10, 0x10, 0x11, 0x0E],
        'p' => [0, 0, 0x1E, 0x11, 0x1E, 0x10, 0x10],
        'd' => [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        _ => [0; 7],
    }
}

/// The viridis colormap (polynomial fit by Matt Zucker of matplotlib's table), `t` in [0, 1].
pub fn viridis(t: f64) -> [u8; 3] {
    const C: [[f64; 3]; 7] = [
        [0.277_727_327_223_417_7, 0.005_407_344_544_966_578, 0.334_099_805_335_306_1],
        [0.105_093_043_108_577_4, 1.404_613_529_898_575, 1.384_590_162_594_685],
        [-0.330_861_828_725_556_3, 0.214_847_559_468_213, 0.095_095_163_028_236_59],
        [-4.634_230_498_983_486, -5.799_100_973_351_585, -19.332_440_956_279_87],
        [6.228_269_936_347_081, 14.179_933_366_805_09, 56.690_552_600_681_05],
        [4.776_384_997_670_288, -13.745_145_377_746_01, -65.353_032_633_372_34],
        [-5.435_455_855_934_631, 4.645_852_612_178_535, 26.312_435_249_583_2],
    ];
    let t = t.clamp(0.0, 1.0);
    let mut out = [0u8; 3];
    for (ch, o) in out.iter_mut().enumerate() {
        let mut v = C[6][ch];
        for k in (0..6).rev() {
            v = v * t + C[k][ch];
        }
        *o = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    }
    out
}

/// Tick values: about `n` round numbers across [a, b].
fn ticks(a: f64, b: f64, n: usize) -> Vec<f64> {
    let span = (b - a).abs().max(1e-300);
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|&s| s >= raw).unwrap_or(10.0 * mag);
    let mut v = (a / step).ceil() * step;
    let mut out = Vec::new();
    while v <= b + 1e-9 * span {
        out.push(if v.abs() < 1e-12 * span { 0.0 } else { v });
        v += step;
    }
    out
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e4).contains(&a) {
        return format!("{v:.1e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Unit scaling for axis labels: volts shown as mV below 1 V full scale; W as mW.
fn display_unit(unit: &str, full_scale: f64) -> (f64, String) {
    match unit {
        "W" => (1e3, "mW".into()),
        "V" if full_scale < 1.0 => (1e3, "mV".into()),
        "" => (1.0, "V".into()),
        u => (1.0, u.to_string()),
    }
}

/// Renders `eye` as a PNG: density on a log scale with the viridis colormap, time axis in UI,
/// amplitude axis in the capture's unit, level means (blue, dashed) and thresholds (red,
/// dashed) marked, and the extrapolated `contours` (white) when given.
pub fn render_eye_png(eye: &EyeDiagram, contours: &[BerContour]) -> Result<Vec<u8>> {
    let g = *eye.histogram.geometry();
    let (pw, ph) = (640usize, 420usize);
    let (ml, mr, mt, mb) = (84usize, 16usize, 24usize, 44usize);
    let mut cv = Canvas::new(pw + ml + mr, ph + mt + mb, [0, 0, 0]);
    let maxc = eye.histogram.counts().iter().copied().max().unwrap_or(0).max(1) as f64;
    let lmax = (1.0 + maxc).ln();
    for y in 0..ph {
        let r = ((ph - 1 - y) * g.amp_bins) / ph;
        for x in 0..pw {
            let c = (x * g.time_bins) / pw;
            let k = eye.histogram.count(r, c);
            let col = if k == 0 { BG } else { viridis((1.0 + k as f64).ln() / lmax) };
            cv.set((x + ml) as i64, (y + mt) as i64, col);
        }
    }
    let (lo, hi) = (g.lo as f64, g.hi as f64);
    let ypix = |v: f64| mt as f64 + (hi - v) / (hi - lo) * ph as f64;
    let xpix = |t: f64| ml as f64 + t / g.span_ui as f64 * pw as f64;
    let (x0, x1) = (ml as i64, (ml + pw - 1) as i64);
    for &v in &eye.levels {
        cv.hline(x0, x1, ypix(v).round() as i64, LEVEL, 6);
    }
    for &t in &eye.thresholds {
        cv.hline(x0, x1, ypix(t).round() as i64, THRESHOLD, 4);
    }
    for u in 0..g.span_ui {
        cv.vline(xpix(u as f64 + 0.5).round() as i64, mt as i64, (mt + ph - 1) as i64, GREY, 3);
    }
    for c in contours {
        let pts: Vec<(f64, Option<(f64, f64)>)> = c.time_ui.iter().copied().zip(c.extrapolated.iter().copied()).collect();
        for w in pts.windows(2) {
            if let (Some(a), Some(b)) = (w[0].1, w[1].1) {
                cv.line(xpix(w[0].0), ypix(a.0), xpix(w[1].0), ypix(b.0), WHITE);
                cv.line(xpix(w[0].0), ypix(a.1), xpix(w[1].0), ypix(b.1), WHITE);
            }
        }
    }
    // Frame, ticks and labels.
    cv.hline(x0 - 1, x1 + 1, (mt + ph) as i64, WHITE, 0);
    cv.vline(x0 - 1, mt as i64 - 1, (mt + ph) as i64, WHITE, 0);
    for t in ticks(0.0, g.span_ui as f64, 8) {
        let x = xpix(t).round() as i64;
        cv.vline(x, (mt + ph) as i64, (mt + ph + 4) as i64, WHITE, 0);
        let s = fmt_tick(t);
        cv.text(x - Canvas::text_width(&s, 2) / 2, (mt + ph + 8) as i64, &s, WHITE, 2);
    }
    let title = "UI";
    cv.text((ml + pw) as i64 - Canvas::text_width(title, 2), (mt + ph + 26) as i64, title, WHITE, 2);
    let (scale, unit) = display_unit(&eye.unit, (hi - lo).abs().max(lo.abs()).max(hi.abs()));
    for v in ticks(lo * scale, hi * scale, 8) {
        let y = ypix(v / scale).round() as i64;
        cv.hline(x0 - 5, x0 - 1, y, WHITE, 0);
        let s = fmt_tick(v);
        cv.text(x0 - 8 - Canvas::text_width(&s, 2), y - 7, &s, WHITE, 2);
    }
    cv.text(4, 4, &unit, WHITE, 2);
    cv.encode()
}

/// Renders horizontal (left panel; UI) and vertical (right panel; amplitude) bathtubs on a log
/// BER axis: extrapolated curves as lines, measured points as dots, one colour per sub-eye.
pub fn render_bathtub_png(horizontal: &[Bathtub], vertical: &[Bathtub], unit: &str, floor_ber: f64) -> Result<Vec<u8>> {
    let (pw, ph) = (400usize, 320usize);
    let (ml, mr, mt, mb, gap) = (70usize, 16usize, 24usize, 44usize, 80usize);
    let width = ml + pw + gap + pw + mr;
    let mut cv = Canvas::new(width, ph + mt + mb, [0, 0, 0]);
    let lmin = floor_ber.clamp(1e-300, 0.1).log10().floor();
    for (panel, curves) in [horizontal, vertical].iter().enumerate() {
        let ox = (ml + panel * (pw + gap)) as f64;
        let (a, b) = curves
            .iter()
            .flat_map(|c| c.position.iter().copied())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (a, b) = if a.is_finite() && b > a { (a, b) } else { (0.0, 1.0) };
        let (scale, u) = if panel == 0 { (1.0, "UI".to_string()) } else { display_unit(unit, a.abs().max(b.abs())) };
        let xp = |v: f64| ox + (v - a) / (b - a) * pw as f64;
        let yp = |ber: f64| mt as f64 + (ber.max(1e-300).log10().max(lmin) / lmin) * ph as f64;
        let (x0, x1) = (ox as i64, ox as i64 + pw as i64 - 1);
        for k in (lmin as i64)..=0 {
            let y = yp(10f64.powi(k as i32)).round() as i64;
            cv.hline(x0, x1, y, [50, 50, 60], 2);
            if k % 2 == 0 || lmin > -8.0 {
                let s = format!("{k}");
                cv.text(x0 - 8 - Canvas::text_width(&s, 2), y - 7, &s, WHITE, 2);
            }
        }
        for (i, c) in curves.iter().enumerate() {
            let col = CURVES[i % CURVES.len()];
            for w in c.position.windows(2).zip(c.extrapolated.windows(2)) {
                cv.line(xp(w.0[0]), yp(w.1[0]), xp(w.0[1]), yp(w.1[1]), col);
            }
            for (p, m) in c.position.iter().zip(&c.measured) {
                if let Some(m) = m {
                    let (x, y) = (xp(*p).round() as i64, yp(*m).round() as i64);
                    for d in -1..=1 {
                        cv.set(x + d, y, WHITE);
                        cv.set(x, y + d, WHITE);
                    }
                }
            }
        }
        cv.hline(x0 - 1, x1 + 1, (mt + ph) as i64, WHITE, 0);
        cv.vline(x0 - 1, mt as i64, (mt + ph) as i64, WHITE, 0);
        for t in ticks(a * scale, b * scale, 5) {
            let x = xp(t / scale).round() as i64;
            cv.vline(x, (mt + ph) as i64, (mt + ph + 4) as i64, WHITE, 0);
            let s = fmt_tick(t);
            cv.text(x - Canvas::text_width(&s, 2) / 2, (mt + ph + 8) as i64, &s, WHITE, 2);
        }
        cv.text(x1 - Canvas::text_width(&u, 2), (mt + ph + 26) as i64, &u, WHITE, 2);
        cv.text(x0 - 60, 4, "log BER", WHITE, 2);
    }
    cv.encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_endpoints_match_matplotlib() {
        // matplotlib viridis(0) = (68, 1, 84), viridis(1) = (253, 231, 37).
        let a = viridis(0.0);
        let b = viridis(1.0);
        for (x, y) in a.iter().zip([68u8, 1, 84]) {
            assert!((*x as i32 - y as i32).abs() <= 4, "{a:?}");
        }
        for (x, y) in b.iter().zip([253u8, 231, 37]) {
            assert!((*x as i32 - y as i32).abs() <= 5, "{b:?}");
        }
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0.0, 2.0, 8), vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]);
        assert_eq!(fmt_tick(-0.25), "-0.25");
    }
}
