//! `index.html`: one self-contained page (inline CSS and JS, images as data URIs) with the
//! sortable summary table coloured against the limits, the failures, and a section per capture
//! with its FEC codeword-error histogram (inline SVG) and its eye/bathtub images.

use crate::batch::{corners_text, measured, Outcome};
use crate::summary::{fixed, sci, BatchReport};
use lightlane::analysis::{LimitReport, Report};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Images larger than this are linked (relative to the page) instead of inlined.
pub const MAX_INLINE_IMAGE_BYTES: u64 = 4 << 20;

/// An image shown in a capture's section.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Caption (the report key it came from, e.g. `eye_png`).
    pub label: String,
    /// The PNG file.
    pub path: PathBuf,
}

/// HTML-escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Standard base64 (RFC 4648) with padding.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= c.len() {
                o.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

/// Image paths a report carries: every string value ending in `.png` (any depth), labelled by
/// its key. Relative paths are taken relative to `base`. Sorted by label for a stable page.
pub fn report_images(report: &Report, base: &Path) -> Vec<Image> {
    serde_json::to_value(report).map(|v| images_in(&v, base)).unwrap_or_default()
}

/// [`report_images`] on a report's JSON form.
pub fn images_in(value: &serde_json::Value, base: &Path) -> Vec<Image> {
    fn walk(v: &serde_json::Value, key: &str, base: &Path, out: &mut Vec<Image>) {
        match v {
            serde_json::Value::String(s) if s.to_ascii_lowercase().ends_with(".png") => {
                let p = Path::new(s);
                out.push(Image {
                    label: key.to_string(),
                    path: if p.is_absolute() { p.to_path_buf() } else { base.join(p) },
                });
            }
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let label = if key.is_empty() { k.clone() } else { format!("{key}.{k}") };
                    walk(x, &label, base, out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{key}[{i}]"), base, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", base, &mut out);
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

/// The `src` of an `<img>`: a data URI for files up to [`MAX_INLINE_IMAGE_BYTES`], else a path
/// relative to `page_dir` (or absolute when there is no relative form). `None` when the file is
/// missing.
pub fn image_src(path: &Path, page_dir: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() <= MAX_INLINE_IMAGE_BYTES {
        let bytes = std::fs::read(path).ok()?;
        return Some(format!("data:image/png;base64,{}", base64(&bytes)));
    }
    let rel = path.strip_prefix(page_dir).unwrap_or(path);
    Some(rel.to_string_lossy().replace('\\', "/"))
}

/// Inline SVG bar chart of a codeword-error histogram (log count axis), with the histogram
/// that independent errors would give as dots. `hist[k]`: codewords with k symbol errors,
/// the last bin those with more than t.
pub fn fec_histogram_svg(hist: &[u64], predicted: &[f64], codewords: u64) -> String {
    let (w, h, left, bottom, top) = (640.0, 220.0, 48.0, 30.0, 10.0);
    let n = hist.len().max(1);
    let max = hist.iter().copied().max().unwrap_or(0).max(1) as f64;
    let decades = max.log10().ceil().max(1.0);
    let plot_h = h - bottom - top;
    let y = |c: f64| -> f64 {
        if c < 1.0 {
            h - bottom
        } else {
            h - bottom - plot_h * ((c.log10() + 1.0) / (decades + 1.0)).min(1.0)
        }
    };
    let bw = (w - left - 10.0) / n as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="hist" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="FEC codeword error histogram">"#
    );
    for d in 0..=(decades as i32) {
        let yy = y(10f64.powi(d));
        let _ = write!(s, r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end">1e{d}</text>"##, w - 10.0, left - 4.0, yy + 3.0);
    }
    for (k, &c) in hist.iter().enumerate() {
        let x = left + k as f64 * bw;
        let yy = y(c as f64);
        let last = k + 1 == hist.len();
        let colour = if last { "#c0392b" } else { "#2e86c1" };
        let label = if last { format!(">{}", k - 1) } else { k.to_string() };
        let _ = write!(
            s,
            r#"<rect class="bar" x="{:.1}" y="{yy:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{} symbol errors: {c} codewords</title></rect>"#,
            x + 1.0,
            (bw - 2.0).max(1.0),
            (h - bottom - yy).max(0.0),
            esc(&label)
        );
        if n <= 40 || k % 2 == 0 || last {
            let _ = write!(s, r#"<text x="{:.1}" y="{}" font-size="9" text-anchor="middle">{}</text>"#, x + bw / 2.0, h - bottom + 12.0, esc(&label));
        }
        if let Some(p) = predicted.get(k) {
            let e = p * codewords as f64;
            if e >= 1.0 {
                let _ = write!(s, r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#f39c12"><title>independent errors: {e:.3} codewords</title></circle>"##, x + bw / 2.0, y(e));
            }
        }
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" font-size="10" text-anchor="middle">symbol errors per codeword (bars: measured; dots: independent-error prediction)</text></svg>"#,
        (left + w) / 2.0,
        h - 4.0
    );
    s
}

const CSS: &str = r#"
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em}th,td{border:1px solid #ccc;padding:3px 6px;text-align:right;white-space:nowrap}
td.t,th.t{text-align:left}th{background:#f2f2f2;cursor:pointer;user-select:none}th.sorted-asc::after{content:" ▲"}th.sorted-desc::after{content:" ▼"}
.pass{background:#d5f5e3}.fail{background:#f5b7b1}.not_checked{background:#eee}.error{background:#fadbd8}
.meta{color:#555;font-size:.9em}.cap{margin-bottom:1.5em}.kv td{text-align:left}img{max-width:640px;border:1px solid #ccc;margin:4px}
figure{display:inline-block;margin:0 8px 8px 0}figcaption{font-size:.8em;color:#555}
"#;

const JS: &str = r#"
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var asc=!th.classList.contains('sorted-asc');
      t.querySelectorAll('th').forEach(function(h){h.classList.remove('sorted-asc','sorted-desc')});
      th.classList.add(asc?'sorted-asc':'sorted-desc');
      var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[i].getAttribute('data-v'),y=b.cells[i].getAttribute('data-v');
        var nx=parseFloat(x),ny=parseFloat(y),c;
        if(x===''&&y!=='')return 1; if(y===''&&x!=='')return -1;
        if(!isNaN(nx)&&!isNaN(ny))c=nx-ny;else c=x<y?-1:x>y?1:0;
        return asc?c:-c;});
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
"#;

fn check_class(limits: &LimitReport, quantity: &str) -> &'static str {
    match limits.checks.iter().find(|c| c.quantity == quantity) {
        Some(c) if c.pass => "pass",
        Some(_) => "fail",
        None => "",
    }
}

fn cell(text: &str, sort: &str, class: &str) -> String {
    format!(r#"<td class="{class}" data-v="{}">{}</td>"#, esc(sort), esc(text))
}

fn anchor(i: usize) -> String {
    format!("c{i}")
}

/// The page for a batch. `images[i]`: the images of `outcomes[i]` (the eye stage's PNGs).
pub fn render(report: &BatchReport<'_>, outcomes: &[Outcome], images: &[Vec<Image>], page_dir: &Path) -> String {
    let mut s = String::new();
    let ok = outcomes.iter().filter(|o| o.result.is_ok()).count();
    let failed = outcomes.len() - ok;
    let passed = outcomes.iter().filter(|o| matches!(&o.result, Ok(a) if a.limits.verdict == lightlane::analysis::Verdict::Pass)).count();
    let limit_fail = outcomes.iter().filter(|o| matches!(&o.result, Ok(a) if a.limits.verdict == lightlane::analysis::Verdict::Fail)).count();
    let _ = write!(s, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lightlane batch report</title><style>{CSS}</style></head><body>\n");
    let _ = write!(s, "<h1>lightlane batch report</h1>\n<p class=\"meta\" id=\"overview\">lightlane {} · {} captures: {} analysed ({} pass, {} fail the limits), {} could not be analysed", esc(report.version), outcomes.len(), ok, passed, limit_fail, failed);
    match report.preset {
        Some(p) => {
            let _ = write!(s, " · preset <b>{}</b> ({}, {})", esc(&p.name), esc(&p.clause), esc(&p.description));
        }
        None => s.push_str(" · no preset"),
    }
    if let Some(c) = &report.config_file {
        let _ = write!(s, " · config {}", esc(c));
    }
    s.push_str("</p>\n");
    let l = report.limits;
    let mut lim = Vec::new();
    if let Some(v) = l.max_pre_fec_ber {
        lim.push(format!("pre-FEC BER ≤ {v:.2e}"));
    }
    if let Some(v) = l.max_tdecq_db {
        lim.push(format!("TDECQ ≤ {v} dB"));
    }
    if let Some(v) = l.max_vec_db {
        lim.push(format!("VEC ≤ {v} dB"));
    }
    if let Some(v) = l.min_outer_er_db {
        lim.push(format!("outer ER ≥ {v} dB"));
    }
    if let Some(v) = l.min_oma_outer_dbm {
        lim.push(format!("OMAouter ≥ {v} dBm"));
    }
    let _ = writeln!(s, "<p class=\"meta\" id=\"limits\">Limits: {}</p>", if lim.is_empty() { "none".to_string() } else { esc(&lim.join(", ")) });
    if let Some(o) = report.preset.and_then(|p| p.optical.as_ref()) {
        let _ = writeln!(
            s,
            "<p class=\"meta\">Optical PMD: {:.1}–{:.1} nm, reach {} m, test-fibre dispersion {:.3} … {:.3} ps/nm</p>",
            o.wavelength_min_nm, o.wavelength_max_nm, o.reach_m, o.dispersion_min_ps_per_nm, o.dispersion_max_ps_per_nm
        );
    }

    // Summary table.
    s.push_str("<h2>Summary</h2>\n<table class=\"sortable\" id=\"summary\"><thead><tr>");
    let heads = [
        ("file", "t"), ("verdict", "t"), ("format", "t"), ("mod", "t"), ("baud (GBd)", ""), ("pattern", "t"), ("equalizer", "t"),
        ("bits", ""), ("BER", ""), ("SER", ""), ("TIE rms (ps)", ""), ("FEC CER", ""), ("max sym err/CW", ""), ("TDECQ (dB)", ""),
        ("TDECQ per corner (ps/nm: dB)", "t"),
    ];
    for (h, c) in heads {
        let _ = write!(s, "<th class=\"{c}\">{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>\n");
    for (i, o) in outcomes.iter().enumerate() {
        let link = format!("<a href=\"#{}\">{}</a>", anchor(i), esc(&o.job.name));
        match &o.result {
            Ok(a) => {
                let r = &a.report;
                let v = a.limits.verdict.name();
                let m = measured(r);
                let fec = r.fec.as_ref();
                let _ = write!(s, "<tr class=\"row-{v}\"><td class=\"t\" data-v=\"{}\">{link}</td>", esc(&o.job.name));
                s.push_str(&cell(v, v, &format!("t {v}")));
                s.push_str(&cell(&a.format, &a.format, "t"));
                s.push_str(&cell(r.modulation.name(), r.modulation.name(), "t"));
                s.push_str(&cell(&fixed(Some(r.baud / 1e9), 4), &format!("{}", r.baud), ""));
                s.push_str(&cell(&r.pattern, &r.pattern, "t"));
                s.push_str(&cell(&r.equalizer, &r.equalizer, "t"));
                s.push_str(&cell(&r.bits.to_string(), &r.bits.to_string(), ""));
                s.push_str(&cell(&format!("{:.3e}", r.ber), &sci(Some(r.ber)), check_class(&a.limits, "pre_fec_ber")));
                s.push_str(&cell(&format!("{:.3e}", r.ser), &sci(Some(r.ser)), ""));
                let tie = r.tie_rms_s.map(|t| t * 1e12);
                s.push_str(&cell(&fixed(tie, 3), &fixed(tie, 6), ""));
                let cer = fec.map(|f| f.cer);
                s.push_str(&cell(&cer.map(|c| format!("{c:.2e}")).unwrap_or_default(), &sci(cer), ""));
                let mx = fec.map(|f| f.max_symbol_errors.to_string()).unwrap_or_default();
                s.push_str(&cell(&mx, &mx, ""));
                s.push_str(&cell(&fixed(m.tdecq_db, 2), &fixed(m.tdecq_db, 6), check_class(&a.limits, "tdecq_db")));
                let corners = r.eye.as_ref().map(|e| e.tdecq_corners.as_slice()).unwrap_or_default();
                let text = corners
                    .iter()
                    .map(|c| format!("{:.2}: {}", c.dispersion_ps_per_nm, c.tdecq_db.map_or("undefined".into(), |t| format!("{t:.2}"))))
                    .collect::<Vec<_>>()
                    .join(" · ");
                let class = match corners.iter().map(|c| c.pass).collect::<Option<Vec<bool>>>() {
                    Some(p) if !p.is_empty() => if p.iter().all(|&x| x) { "t pass" } else { "t fail" },
                    _ => "t",
                };
                s.push_str(&cell(&text, &corners_text(r), class));
                s.push_str("</tr>\n");
            }
            Err(_) => {
                let _ = write!(s, "<tr class=\"row-error\"><td class=\"t\" data-v=\"{}\">{link}</td>", esc(&o.job.name));
                s.push_str(&cell("error", "error", "t error"));
                for _ in 2..heads.len() {
                    s.push_str("<td data-v=\"\"></td>");
                }
                s.push_str("</tr>\n");
            }
        }
    }
    s.push_str("</tbody></table>\n");

    // Failures.
    let _ = writeln!(s, "<h2>Captures that could not be analysed ({failed})</h2>");
    if failed == 0 {
        s.push_str("<p>None.</p>\n");
    } else {
        s.push_str("<ul id=\"failures\">\n");
        for (i, o) in outcomes.iter().enumerate() {
            if let Err(e) = &o.result {
                let _ = writeln!(s, "<li class=\"failure\" id=\"{}\"><b>{}</b>: <code>{}</code></li>", anchor(i), esc(&o.job.name), esc(e));
            }
        }
        s.push_str("</ul>\n");
    }

    // Per-capture sections.
    s.push_str("<h2>Captures</h2>\n");
    for (i, o) in outcomes.iter().enumerate() {
        let Ok(a) = &o.result else { continue };
        let r = &a.report;
        let _ = writeln!(s, "<section class=\"cap\" id=\"{}\"><h3>{} <span class=\"{}\">{}</span></h3>", anchor(i), esc(&o.job.name), a.limits.verdict.name(), a.limits.verdict.name());
        s.push_str("<table class=\"kv\">");
        let mut kv = |k: &str, v: String| {
            let _ = write!(s, "<tr><th class=\"t\">{}</th><td>{}</td></tr>", esc(k), esc(&v));
        };
        kv("format", a.format.clone());
        kv("modulation / pattern", format!("{} / {}", r.modulation.name(), r.pattern));
        kv("baud", format!("{:.6} GBd{}", r.baud / 1e9, r.ppm_offset.map(|p| format!(" ({p:+.2} ppm)")).unwrap_or_default()));
        kv("sample rate", format!("{:.3} GSa/s ({:.3} samples/UI)", r.fs / 1e9, r.samples_per_ui));
        kv("equalizer", r.equalizer.clone());
        kv("engine", r.engine.clone());
        kv("BER (95 % CI)", format!("{:.3e} ({:.2e} … {:.2e}), {} errors in {} bits", r.ber, r.ber_ci95.0, r.ber_ci95.1, r.bit_errors, r.bits));
        kv("SER", format!("{:.3e}", r.ser));
        for c in &a.limits.checks {
            kv(&format!("limit {}", c.quantity), format!("{:.3e} {} {:.3e}: {}", c.value, if c.kind == "max" { "≤" } else { "≥" }, c.limit, if c.pass { "pass" } else { "FAIL" }));
        }
        for w in &r.warnings {
            kv("warning", w.clone());
        }
        s.push_str("</table>\n");
        if let Some(f) = &r.fec {
            let _ = writeln!(
                s,
                "<p class=\"meta\">FEC {:?} ×{}: {} codewords, {} uncorrectable (CER {:.3e}), post-FEC BER {:.3e}</p>",
                f.code, f.interleave, f.codewords, f.uncorrectable, f.cer, f.post_fec_ber
            );
            s.push_str(&fec_histogram_svg(&f.histogram, &f.predicted_histogram_random, f.codewords));
            s.push('\n');
        }
        for img in images.get(i).map(Vec::as_slice).unwrap_or(&[]) {
            match image_src(&img.path, page_dir) {
                Some(src) => {
                    let _ = writeln!(s, "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>", esc(&src), esc(&img.label), esc(&img.label));
                }
                None => {
                    let _ = writeln!(s, "<p class=\"meta\">{}: {} (missing)</p>", esc(&img.label), esc(&img.path.display().to_string()));
                }
            }
        }
        s.push_str("</section>\n");
    }
    let _ = write!(s, "<script>{JS}</script>\n</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn escaping_covers_markup() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn histogram_has_one_bar_per_bin() {
        let svg = fec_histogram_svg(&[1000, 50, 3, 0, 1], &[0.9, 0.05, 0.003, 0.0, 0.0], 1054);
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 5);
        assert!(svg.contains(">3</text>") && svg.contains("&gt;3"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    /// A valid 2×2 RGB PNG, written by hand (signature, IHDR, IDAT of stored deflate, IEND).
    pub(crate) fn tiny_png() -> Vec<u8> {
        fn crc(data: &[u8]) -> u32 {
            let mut c = 0xffff_ffffu32;
            for &b in data {
                c ^= b as u32;
                for _ in 0..8 {
                    c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
                }
            }
            !c
        }
        fn chunk(out: &mut Vec<u8>, ty: &[u8], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut body = ty.to_vec();
            body.extend_from_slice(data);
            out.extend_from_slice(&body);
            out.extend_from_slice(&crc(&body).to_be_bytes());
        }
        let raw: Vec<u8> = vec![0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255];
        let (mut a, mut b) = (1u32, 0u32);
        for &x in &raw {
            a = (a + x as u32) % 65521;
            b = (b + a) % 65521;
        }
        let mut z = vec![0x78, 0x01, 1, raw.len() as u8, 0, !(raw.len() as u8), 0xff];
        z.extend_from_slice(&raw);
        z.extend_from_slice(&((b << 16) | a).to_be_bytes());
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut png, b"IHDR", &[0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
        chunk(&mut png, b"IDAT", &z);
        chunk(&mut png, b"IEND", &[]);
        png
    }

    #[test]
    fn png_paths_are_found_at_any_depth() {
        let v = serde_json::json!({"ber": 1e-5, "eye": {"png": "eyes/a.png", "bathtub_png": "/abs/b.PNG", "n": 3}, "x": ["c.png", "d.txt"]});
        let imgs = images_in(&v, Path::new("/base"));
        let got: Vec<(String, PathBuf)> = imgs.into_iter().map(|i| (i.label, i.path)).collect();
        assert_eq!(
            got,
            vec![
                ("eye.bathtub_png".to_string(), PathBuf::from("/abs/b.PNG")),
                ("eye.png".to_string(), PathBuf::from("/base/eyes/a.png")),
                ("x[0]".to_string(), PathBuf::from("/base/c.png")),
            ]
        );
    }

    /// The whole page for one simulated capture carrying an eye PNG: the image is inlined in
    /// that capture's section, the table has its row, the histogram is drawn.
    #[test]
    fn page_shows_a_captures_eye_image() {
        use crate::batch::{Analysed, Job, Outcome};
        use clap::Parser;
        use lightlane::analysis::{analyze, AnalysisConfig, Limits, Measured};
        use lightlane::{pattern::Pattern, sim::LinkModel, Backend, Modulation};
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            args: crate::analyze_cmd::AnalyzeArgs,
        }
        let model = LinkModel::new(Modulation::Pam4, 26.5625e9, 4.0 * 26.5625e9).unwrap();
        let symbols = Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
        let capture = model.run(&symbols).unwrap();
        let config = AnalysisConfig::pam4(26.5625e9);
        let report = analyze(&capture.waveform, &config, Backend::Auto).unwrap();
        let limits = Limits { max_pre_fec_ber: Some(2.4e-4), ..Limits::default() }.check(&Measured { pre_fec_ber: Some(report.ber), ..Measured::default() });
        let outcomes = vec![
            Outcome {
                job: Job { name: "sim<1>.bin".into(), path: "sim.bin".into() },
                result: Ok(Box::new(Analysed { format: "keysight-bin".into(), config, report, limits })),
            },
            Outcome {
                job: Job { name: "broken.bin".into(), path: "broken.bin".into() },
                result: Err("truncated & bad".into()),
            },
        ];
        let settings = crate::settings::Settings::from_args(&Wrap::try_parse_from(["x"]).unwrap().args).unwrap();
        let report = crate::summary::batch_report(&outcomes, &settings).unwrap();
        let d = std::env::temp_dir().join(format!("lightlane-page-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let png = tiny_png();
        std::fs::write(d.join("eye.png"), &png).unwrap();
        let images = vec![vec![Image { label: "eye.png".into(), path: d.join("eye.png") }], vec![]];
        let page = render(&report, &outcomes, &images, &d);
        let img = format!("<img src=\"data:image/png;base64,{}\" alt=\"eye.png\">", base64(&png));
        assert!(page.contains(&img), "{page}");
        assert!(page.contains("sim&lt;1&gt;.bin") && !page.contains("sim<1>"));
        assert!(page.contains("truncated &amp; bad"));
        assert!(page.contains("class=\"t pass\"") || page.contains("class=\"t fail\""));
        assert_eq!(page.matches("<svg class=\"hist\"").count(), 1);
        assert!(page.ends_with("</html>\n"));
    }

    #[test]
    fn images_are_inlined_as_data_uris() {
        let d = std::env::temp_dir().join(format!("lightlane-html-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let png = tiny_png();
        let p = d.join("eye.png");
        std::fs::write(&p, &png).unwrap();
        let src = image_src(&p, &d).unwrap();
        assert_eq!(src, format!("data:image/png;base64,{}", base64(&png)));
        assert!(src.starts_with("data:image/png;base64,iVBORw0KGgo"));
        assert!(image_src(&d.join("missing.png"), &d).is_none());
    }
}
