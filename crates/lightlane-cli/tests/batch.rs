//! `lightlane analyze DIR --out OUT` end to end on the demo campaign (testdata/campaign).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lightlane"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lightlane-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn campaign() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/campaign").to_string()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses summary.csv (no quoted commas in the campaign except error texts, handled here).
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in s.split("\r\n").filter(|l| !l.is_empty()) {
        let mut cells = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => cells.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        cells.push(cur);
        rows.push(cells);
    }
    rows
}

/// A small HTML parser: checks that every non-void element is closed in order and counts
/// elements by name and by `class`/`id`.
struct Html {
    tags: HashMap<String, usize>,
    ids: Vec<String>,
    classes: HashMap<String, usize>,
}

fn parse_html(s: &str) -> Html {
    const VOID: &[&str] = &["meta", "img", "br", "hr", "input", "link", "line", "circle", "rect"];
    let mut stack: Vec<String> = Vec::new();
    let mut tags = HashMap::new();
    let mut ids = Vec::new();
    let mut classes = HashMap::new();
    let mut rest = s;
    let mut in_script = false;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        if in_script {
            let end = rest.find("</script>").expect("script closed");
            rest = &rest[end..];
            in_script = false;
        }
        let close = rest.find('>').expect("tag closed");
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_else(|| panic!("</{name}> without an open element"));
            assert_eq!(open, name, "mismatched </{name}>, open <{open}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let name: String = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap().to_ascii_lowercase();
        *tags.entry(name.clone()).or_insert(0) += 1;
        for (attr, sink) in [("id=\"", 0), ("class=\"", 1)] {
            if let Some(p) = tag.find(attr) {
                let v = &tag[p + attr.len()..];
                let v = &v[..v.find('"').unwrap()];
                if sink == 0 {
                    ids.push(v.to_string());
                } else {
                    for c in v.split_whitespace() {
                        *classes.entry(c.to_string()).or_insert(0) += 1;
                    }
                }
            }
        }
        let void = VOID.contains(&name.as_str()) && (self_closing || name != "rect" && name != "circle" && name != "line");
        if name == "script" {
            in_script = true;
        }
        if !void && !self_closing {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    Html { tags, ids, classes }
}

#[test]
fn demo_campaign_end_to_end() {
    let out = tmpdir("demo");
    // No path: the demo campaign, into --out.
    let o = run(&["analyze", "--out", out.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "one corrupt capture → exit 2: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("lane5_corrupt.bin"), "failure listed: {err}");
    let stdout = text(&o.stdout);
    assert!(stdout.contains("report: ") && stdout.contains("index.html"), "{stdout}");

    // summary.csv: stable header, one row per capture sorted by file, corrupt file as error.
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let rows = parse_csv(&csv);
    assert_eq!(rows[0].join(","), "file,status,verdict,format,modulation,baud_gbd,fs_gsa_s,samples_per_ui,pattern,equalizer,bits,bit_errors,ber,ber_ci95_low,ber_ci95_high,ser,resyncs,ppm_offset,tie_rms_ps,ffe_mse_db,fec_codewords,fec_uncorrectable,fec_max_symbol_errors,fec_cer,post_fec_ber,tdecq_db,tdecq_b2b_db,tdecq_corners,engine,error");
    let files: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        files,
        ["lane0_nominal.bin", "lane1_noisy.trc", "lane2_long_channel.mat", "lane3_nrz.i16", "lane4_low_swing.f32", "lane5_corrupt.bin", "opt0_dr4_good.bin", "opt1_dr4_slow.trc"]
    );
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    for r in &rows[1..] {
        assert_eq!(r.len(), rows[0].len(), "{r:?}");
    }
    let by_file: HashMap<&str, &Vec<String>> = rows[1..].iter().map(|r| (r[0].as_str(), r)).collect();
    let bad = by_file["lane5_corrupt.bin"];
    assert_eq!(bad[col("status")], "error");
    assert!(!bad[col("error")].is_empty() && bad[col("ber")].is_empty() && bad[col("engine")].is_empty());
    let formats: Vec<&str> = ["lane0_nominal.bin", "lane1_noisy.trc", "lane2_long_channel.mat", "lane3_nrz.i16"].iter().map(|f| by_file[f][col("format")].as_str()).collect();
    assert_eq!(formats, ["keysight-bin", "lecroy-trc", "mat", "raw+json"]);
    for f in files.iter().filter(|f| **f != "lane5_corrupt.bin") {
        let r = by_file[f];
        assert_eq!(r[col("status")], "ok", "{f}: {}", r[col("error")]);
        // Backend auto: the demo's captures are short, or the only adapter is a CPU driver.
        assert_eq!(r[col("engine")], "CPU engine", "{f}");
        if f.starts_with("opt") {
            // The optical lanes carry their own settings file (preset 400GBASE-DR4): TDECQ at
            // both dispersion corners of the PMD, checked against its limits.
            assert_eq!(r[col("verdict")], "pass", "{f}: {}", r[col("error")]);
            assert_eq!(r[col("tdecq_corners")].split(';').count(), 2, "{f}: {:?}", r[col("tdecq_corners")]);
        } else {
            assert_eq!(r[col("verdict")], "not_checked", "no preset, no limits");
            assert_eq!(r[col("tdecq_corners")], "", "{f}: corners only for optical presets");
        }
        let ber: f64 = r[col("ber")].parse().unwrap();
        assert!(ber < 1e-2, "{f}: BER {ber}");
        assert!(r[col("bits")].parse::<u64>().unwrap() > 10_000);
        // The eye stage reports TDECQ for PAM4 (802.3 clause 121.8.5); NRZ leaves the cell empty.
        if r[col("modulation")] == "pam4" {
            let t: f64 = r[col("tdecq_db")].parse().unwrap_or_else(|_| panic!("{f}: tdecq_db {:?}", r[col("tdecq_db")]));
            assert!(t.is_finite() && (-0.5..20.0).contains(&t), "{f}: TDECQ {t}");
        } else {
            assert_eq!(r[col("tdecq_db")], "", "{f}: NRZ has no TDECQ");
        }
    }
    assert_eq!(by_file["lane3_nrz.i16"][col("modulation")], "nrz");
    assert_eq!(by_file["lane3_nrz.i16"][col("pattern")], "PRBS31");
    assert_eq!(by_file["lane0_nominal.bin"][col("baud_gbd")].len(), "53.125000".len());
    // The noisy lane really is worse than the nominal one.
    let ber = |f: &str| by_file[f][col("ber")].parse::<f64>().unwrap();
    assert!(ber("lane1_noisy.trc") > ber("lane0_nominal.bin"));

    // report.json: all reports, the failure, effective config, tool version.
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(v["tool"], "lightlane");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["total"], 8);
    assert_eq!(v["analysed"].as_array().unwrap().len(), 7);
    let failures = v["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["file"], "lane5_corrupt.bin");
    assert!(!failures[0]["error"].as_str().unwrap().is_empty());
    assert!(v["effective_config"]["equalizer"].is_object());
    for a in v["analysed"].as_array().unwrap() {
        assert!(a["config"]["pattern"].is_string() && a["report"]["fec"]["histogram"].is_array(), "{a}");
        assert_eq!(a["file"], a["report"]["file"]);
    }

    // index.html: well formed, one row per capture, a section and FEC histogram per analysed one.
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    let h = parse_html(&page);
    assert!(h.ids.contains(&"summary".to_string()) && h.ids.contains(&"failures".to_string()));
    // Header, one row per capture, then per analysed capture 8 key/value rows (its engine
    // among them), one per limit check (the optical lanes' preset) and its warnings.
    let kv_rows: usize = v["analysed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| 8 + a["limits"]["checks"].as_array().map_or(0, Vec::len) + a["report"]["warnings"].as_array().unwrap().len())
        .sum();
    assert_eq!(h.tags["tr"], 1 + 8 + kv_rows, "{:?}", h.tags);
    assert_eq!(h.classes["cap"], 7);
    assert_eq!(h.classes["failure"], 1);
    assert_eq!(h.classes["hist"], 7);
    assert_eq!(h.classes["sortable"], 1);
    assert!(!page.contains("src=\"http") && !page.contains("<link"), "self-contained");
    assert!(page.contains("lane5_corrupt.bin</b>"));
    assert_eq!(page.matches("<th class=\"t\">engine</th><td>CPU engine</td>").count(), 7, "each analysed capture names its engine");
    // Eye and bathtub PNGs of every analysed capture in OUT/eyes, recorded relative to OUT
    // and inlined in the page.
    for a in v["analysed"].as_array().unwrap() {
        for key in ["eye_png", "bathtub_png"] {
            let rel = a["report"]["eye"][key].as_str().unwrap_or_else(|| panic!("{key} missing: {}", a["file"]));
            assert!(rel.starts_with("eyes/"), "{rel}");
            let png = std::fs::read(out.join(rel)).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{rel}");
        }
    }
    assert_eq!(page.matches("src=\"data:image/png;base64,").count(), 2 * 7, "eye + bathtub per capture");
}

#[test]
fn summary_is_byte_identical_across_runs_and_thread_counts() {
    let a = tmpdir("rep1");
    let b = tmpdir("rep2");
    let oa = run(&["analyze", &campaign(), "--out", a.to_str().unwrap(), "--jobs", "1"]);
    let ob = run(&["analyze", &campaign(), "--out", b.to_str().unwrap(), "--jobs", "2"]);
    assert_eq!(oa.status.code(), Some(2), "{}", text(&oa.stderr));
    assert_eq!(ob.status.code(), Some(2), "{}", text(&ob.stderr));
    let ca = std::fs::read(a.join("summary.csv")).unwrap();
    let cb = std::fs::read(b.join("summary.csv")).unwrap();
    assert!(ca.len() > 500);
    assert_eq!(text(&ca), text(&cb));
    assert_eq!(std::fs::read(a.join("report.json")).unwrap(), std::fs::read(b.join("report.json")).unwrap());
}

#[test]
fn presets_config_and_limits() {
    let o = run(&["analyze", "--preset", "list"]);
    assert!(o.status.success());
    let list = text(&o.stdout);
    for p in ["100GBASE-DR", "100GBASE-FR1", "100GBASE-LR1", "400GBASE-DR4", "800GBASE-DR8", "200GBASE-DR1", "800GBASE-DR4", "100GAUI-1-C2M"] {
        assert!(list.contains(p), "{p} missing from {list}");
    }
    // A config file with limits: the nominal lane passes 2.4e-4, the noisy one fails it.
    let d = tmpdir("cfg");
    let cfg = d.join("c.toml");
    std::fs::write(&cfg, "training_symbols = 8192\n[limits]\nmax_pre_fec_ber = 2.4e-4\n").unwrap();
    let out = d.join("out");
    let lane0 = format!("{}/lane0_nominal.bin", campaign());
    let lane1 = format!("{}/lane1_noisy.trc", campaign());
    let o = run(&["analyze", &lane0, &lane1, "--config", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let a = v["analysed"].as_array().unwrap();
    assert_eq!(a[0]["config"]["training_symbols"], 8192);
    assert_eq!(a[0]["limits"]["verdict"], "pass", "{}", a[0]["report"]["ber"]);
    assert_eq!(a[1]["limits"]["verdict"], "fail", "{}", a[1]["report"]["ber"]);
    assert_eq!(v["limits"]["max_pre_fec_ber"], 2.4e-4);
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("row-pass") && page.contains("row-fail"));

    // A preset: its rate/pattern/receiver are recorded as the effective config.
    let out2 = d.join("out2");
    let o = run(&["analyze", &lane0, "--preset", "400gbase-dr4", "--equalizer", "bt4,ffe:15", "--out", out2.to_str().unwrap()]);
    assert!(matches!(o.status.code(), Some(0) | Some(2)), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out2.join("report.json")).unwrap()).unwrap();
    assert_eq!(v["preset"]["name"], "400GBASE-DR4");
    assert_eq!(v["effective_config"]["pattern"], "prbs13q");
    assert_eq!(v["effective_config"]["baud"], 53.125e9);
    assert_eq!(v["effective_config"]["equalizer"]["stages"].as_array().unwrap().len(), 2, "flag overrides preset");
    assert_eq!(v["limits"]["max_tdecq_db"], 3.4);
}

#[test]
fn fatal_errors_exit_1_with_clear_messages() {
    let d = tmpdir("fatal");
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.md"), "nothing here").unwrap();
    let file = d.join("plain.txt");
    std::fs::write(&file, "x").unwrap();
    let under_file = file.join("out");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![empty.display().to_string(), "--out".into(), d.join("o1").display().to_string()], "no captures found"),
        (vec![d.join("nope").display().to_string(), "--out".into(), d.join("o2").display().to_string()], "nope"),
        (vec![campaign(), "--out".into(), under_file.display().to_string()], "cannot create output folder"),
        (vec![campaign(), "--out".into(), file.display().to_string()], "not a folder"),
        (vec![campaign(), "--eye-png".into(), file.display().to_string()], "--eye-png folder"),
        (vec![campaign(), "--eye-png".into(), under_file.display().to_string()], "cannot create --eye-png folder"),
        (vec![campaign(), "--jobs".into(), "many".into()], "invalid value"),
        (vec![campaign(), "--preset".into(), "100GBASE-ZZ".into()], "unknown preset"),
        (vec![campaign(), "--config".into(), d.join("missing.toml").display().to_string()], "missing.toml"),
    ];
    for (args, needle) in cases {
        let mut full = vec!["analyze".to_string()];
        full.extend(args.iter().cloned());
        let o = bin().args(&full).output().unwrap();
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.to_lowercase().contains(&needle.to_lowercase()), "{args:?}: expected '{needle}' in {err}");
    }
    // A folder that cannot be read (only meaningful when not running as root).
    let locked = d.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read_dir(&locked).is_err() {
            let o = run(&["analyze", locked.to_str().unwrap(), "--out", d.join("o3").to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(1));
            assert!(text(&o.stderr).contains("cannot read folder"), "{}", text(&o.stderr));
        } else {
            eprintln!("skipping the unreadable-folder case: running with permission to read any folder (root)");
        }
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()))
    })
}

/// Renders index.html in headless Chromium (skips when Chromium is absent, as in CI).
#[test]
fn index_renders_in_headless_chromium() {
    let Some(chrome) = chromium() else {
        eprintln!("skipping: no chromium on PATH");
        return;
    };
    let out = tmpdir("chromium");
    let lane0 = format!("{}/lane0_nominal.bin", campaign());
    let o = run(&["analyze", &lane0, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let shot = out.join("shot.png");
    let url = format!("file://{}", out.join("index.html").display());
    let status = Command::new(&chrome)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,1600"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(shot.is_file(), "no screenshot: {}", text(&status.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 10_000, "screenshot suspiciously small ({} bytes)", png.len());
    let dom = Command::new(&chrome).args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"]).arg(&url).output().unwrap();
    let dom = text(&dom.stdout);
    assert!(dom.contains("id=\"summary\"") && dom.contains("lane0_nominal.bin"), "DOM: {}", &dom[..dom.len().min(500)]);
}

#[test]
fn gpu_backend_batch_gives_the_cpu_results() {
    // `analyze DIR --backend gpu` runs every capture on the one shared GPU context; the
    // summary equals the CPU engine's: decisions, counts and verdicts to the letter, measured
    // values within the resampler's float tolerance (the device resamples onto the recovered
    // clock in f32 with another operation order). Needs an adapter (lavapipe in CI).
    if let Err(e) = lightlane::gpu::GpuContext::shared() {
        if std::env::var("LIGHTLANE_REQUIRE_GPU").is_ok_and(|v| v == "1") {
            panic!("LIGHTLANE_REQUIRE_GPU=1 but no GPU adapter is usable: {e}");
        }
        eprintln!("SKIPPED: no GPU adapter ({e})");
        return;
    }
    let (cpu, gpu) = (tmpdir("engine-cpu"), tmpdir("engine-gpu"));
    let c = run(&["analyze", &campaign(), "--out", cpu.to_str().unwrap(), "--backend", "cpu"]);
    let g = run(&["analyze", &campaign(), "--out", gpu.to_str().unwrap(), "--backend", "gpu"]);
    assert_eq!(c.status.code(), Some(2), "the corrupt capture fails: {}", text(&c.stderr));
    assert_eq!(g.status.code(), c.status.code(), "{}", text(&g.stderr));
    assert!(!text(&g.stderr).contains("GPU engine"), "no GPU failure or fallback: {}", text(&g.stderr));
    let sc = std::fs::read_to_string(cpu.join("summary.csv")).unwrap();
    let sg = std::fs::read_to_string(gpu.join("summary.csv")).unwrap();
    assert!(sc.lines().count() == 9, "{sc}");
    let (rg, rc) = (parse_csv(&sg), parse_csv(&sc));
    assert_eq!(rg.len(), rc.len(), "{sg}");
    // Each analysed capture names its engine: the GPU engine on the adapter, no stage taken
    // over by the CPU; the CPU engine in the other summary.
    let engine = rg[0].iter().position(|c| c == "engine").unwrap();
    let adapter = lightlane::gpu::GpuContext::shared().unwrap().adapter().name.clone();
    for (cg, cc) in rg[1..].iter().zip(&rc[1..]).filter(|(r, _)| r[1] == "ok") {
        assert_eq!((cg[engine].as_str(), cc[engine].as_str()), (format!("GPU engine ({adapter})").as_str(), "CPU engine"), "{}", cg[0]);
    }
    for (cg, cc) in rg.iter().zip(&rc) {
        assert_eq!(cg.len(), cc.len(), "GPU row {cg:?}\nCPU row {cc:?}");
        for (a, b) in cg.iter().zip(cc).enumerate().filter(|(i, _)| *i != engine).map(|(_, p)| p) {
            let close = cells_close(a, b);
            assert!(close, "GPU summary differs from the CPU summary: {a} vs {b}\nGPU row {cg:?}\nCPU row {cc:?}");
        }
    }
}

/// Whether two summary cells agree: the same text around their numbers, integers (counts,
/// decisions) equal, decimals within 1e-3 relative or 0.01 absolute (dB, ps, UI), so that a
/// cell like `-0.927:1.53;0.789:1.61` is compared number by number.
fn cells_close(a: &str, b: &str) -> bool {
    fn split(s: &str) -> Vec<(bool, &str)> {
        let mut parts = Vec::new();
        let mut start = 0;
        let is_num = |c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E');
        let mut prev: Option<bool> = None;
        for (i, c) in s.char_indices() {
            let n = is_num(c);
            if prev.is_some_and(|p| p != n) {
                parts.push((prev.unwrap_or(false), &s[start..i]));
                start = i;
            }
            prev = Some(n);
        }
        if let Some(p) = prev {
            parts.push((p, &s[start..]));
        }
        parts
    }
    let (pa, pb) = (split(a), split(b));
    pa.len() == pb.len()
        && pa.iter().zip(&pb).all(|(&(na, x), &(nb, y))| match (na && nb, x.parse::<f64>(), y.parse::<f64>()) {
            (true, Ok(u), Ok(v)) if x.contains(['.', 'e']) || y.contains(['.', 'e']) => {
                (u - v).abs() <= 1e-3 * u.abs().max(v.abs()) || (u - v).abs() <= 0.01
            }
            _ => x == y,
        })
}

#[test]
fn summary_cells_compare_number_by_number() {
    assert!(cells_close("pass", "pass") && !cells_close("pass", "fail"));
    assert!(cells_close("1.2345", "1.2349") && !cells_close("1.23", "1.26"));
    assert!(cells_close("12", "12") && !cells_close("12", "13"), "integers exactly");
    assert!(cells_close("-0.927:1.531;0.789:1.612", "-0.927:1.533;0.789:1.611"));
    assert!(!cells_close("-0.927:1.531;0.789:1.612", "-0.927:1.531;0.789:1.712"));
    assert!(!cells_close("a.b", "a"));
}

/// The optical lanes of the campaign under `--preset 400GBASE-DR4`: TDECQ back-to-back and at
/// both dispersion corners of the PMD (802.3 121.8.5, fibre emulated on the capture) in the
/// terminal table, report.json, summary.csv and index.html; the limit check takes the worst
/// corner.
#[test]
fn optical_lanes_report_tdecq_at_both_dispersion_corners() {
    let d = tmpdir("optical");
    let lanes = [format!("{}/opt0_dr4_good.bin", campaign()), format!("{}/opt1_dr4_slow.trc", campaign())];
    // The slow lane's transmitter chirp (α = −2, see its link file) for the corner emulation.
    let cfg = d.join("chirp.toml");
    std::fs::write(&cfg, "[eye.corner_emulation.chirp]\nalpha = -2.0\n").unwrap();
    let out = d.join("out");
    let o = run(&["analyze", &lanes[0], &lanes[1], "--preset", "400GBASE-DR4", "--config", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(stdout.contains("TDECQ at -0.927 ps/nm: ") && stdout.contains("TDECQ at +0.789 ps/nm: "), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let a = v["analysed"].as_array().unwrap();
    assert_eq!(a.len(), 2);
    let mut slow = (0.0, 0.0);
    for (lane, (lo, hi)) in a.iter().zip([(0.5, 2.0), (1.8, 3.4)]) {
        let eye = &lane["report"]["eye"];
        let b2b = eye["tdecq_db"].as_f64().unwrap();
        assert!((lo..hi).contains(&b2b), "{}: back-to-back TDECQ {b2b}", lane["file"]);
        let corners = eye["tdecq_corners"].as_array().unwrap();
        assert_eq!(corners.len(), 2);
        let d: Vec<f64> = corners.iter().map(|c| c["dispersion_ps_per_nm"].as_f64().unwrap()).collect();
        assert!((d[0] + 0.927).abs() < 0.005 && (d[1] - 0.789).abs() < 0.005, "{d:?}");
        let t: Vec<f64> = corners.iter().map(|c| c["tdecq_db"].as_f64().unwrap()).collect();
        for (c, &ti) in corners.iter().zip(&t) {
            assert_eq!(c["pass"], ti <= 3.4, "{c}");
        }
        let worst = t[0].max(t[1]);
        let check = lane["limits"]["checks"].as_array().unwrap().iter().find(|c| c["quantity"] == "tdecq_db").unwrap().clone();
        assert_eq!(check["value"].as_f64().unwrap(), worst, "the limit check takes the worst corner");
        assert!((worst - b2b).abs() < 0.3, "{}: {t:?} vs {b2b}", lane["file"]);
        slow = (b2b, worst);
    }
    // With α = −2 the two signs of dispersion differ (one compresses, one fades).
    let t: Vec<f64> = a[1]["report"]["eye"]["tdecq_corners"].as_array().unwrap().iter().map(|c| c["tdecq_db"].as_f64().unwrap()).collect();
    assert!((t[0] - t[1]).abs() > 0.02, "{t:?}");
    // summary.csv: worst corner, back-to-back and the corner list; index.html shows the corners.
    let rows = parse_csv(&std::fs::read_to_string(out.join("summary.csv")).unwrap());
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let r = &rows[2];
    assert_eq!(r[col("tdecq_db")], format!("{:.3}", slow.1));
    assert_eq!(r[col("tdecq_b2b_db")], format!("{:.3}", slow.0));
    assert_eq!(r[col("tdecq_corners")], format!("-0.927:{:.3};0.789:{:.3}", t[0], t[1]));
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("TDECQ per corner") && page.contains(&format!("-0.93: {:.2}", t[0])), "corners in the page");
    parse_html(&page);

    // A limit between back-to-back and the worst corner fails the lane: the worst corner counts.
    let (b2b, worst) = slow;
    assert!(worst > b2b, "{slow:?}");
    std::fs::write(&cfg, format!("[eye.corner_emulation.chirp]\nalpha = -2.0\n[limits]\nmax_tdecq_db = {}\n", 0.5 * (b2b + worst))).unwrap();
    let out2 = d.join("out2");
    let o = run(&["analyze", &lanes[1], "--preset", "400GBASE-DR4", "--config", cfg.to_str().unwrap(), "--out", out2.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out2.join("report.json")).unwrap()).unwrap();
    assert_eq!(v["analysed"][0]["limits"]["verdict"], "fail");
    assert!(text(&o.stdout).contains("(fail)") && text(&o.stdout).contains("(pass)"), "{}", text(&o.stdout));
}

/// The optical lanes are what `lightlane simulate` makes of their link files.
#[test]
fn optical_lanes_match_their_link_files() {
    let d = tmpdir("optical-prov");
    let links = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/links");
    for (toml, lane) in [("campaign_dr4_good.toml", "opt0_dr4_good.bin"), ("campaign_dr4_slow.toml", "opt1_dr4_slow.trc")] {
        let fresh = d.join(lane);
        let o = run(&["simulate", &format!("{links}/{toml}"), "-o", fresh.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let committed = std::fs::read(format!("{}/{lane}", campaign())).unwrap();
        let new = std::fs::read(&fresh).unwrap();
        assert_eq!(committed.len(), new.len(), "{lane}: regenerate with lightlane simulate examples/links/{toml} -o testdata/campaign/{lane}");
        // Samples agree to float rounding (another CPU may round differently).
        let a = lightlane::io::read_capture(std::path::Path::new(&format!("{}/{lane}", campaign())), &Default::default()).unwrap();
        let b = lightlane::io::read_capture(&fresh, &Default::default()).unwrap();
        let peak = a.samples.iter().fold(0f32, |m, &v| m.max(v.abs()));
        let off = a.samples.iter().zip(&b.samples).filter(|(x, y)| (**x - **y).abs() > 1e-3 * peak).count();
        assert_eq!(off, 0, "{lane}: {off} samples differ");
    }
}

/// A capture's own settings file (`NAME.lightlane.toml`) layers over `--config` for that capture
/// only; `--preset` still wins; a broken one fails that capture alone with the file's name.
#[test]
fn capture_settings_files_layer_per_capture() {
    let d = tmpdir("own-settings");
    let src = campaign();
    for f in ["lane0_nominal.bin", "opt0_dr4_good.bin", "opt0_dr4_good.lightlane.toml", "lane3_nrz.i16", "lane3_nrz.json"] {
        std::fs::copy(format!("{src}/{f}"), d.join(f)).unwrap();
    }
    // lane0 gets its own limits (an impossible TDECQ limit: it must fail); lane3's file is broken.
    std::fs::write(d.join("lane0_nominal.lightlane.toml"), "[limits]\nmax_tdecq_db = -100.0\n").unwrap();
    std::fs::write(d.join("lane3_nrz.lightlane.toml"), "equalizer = \"ffe:15,zzz\"\n").unwrap();
    let out = d.join("out");
    let o = run(&["analyze", d.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(v["total"], 3, "settings files are not captures");
    let failures = v["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["file"], "lane3_nrz.i16");
    assert!(failures[0]["error"].as_str().unwrap().contains("lane3_nrz.lightlane.toml"), "{}", failures[0]);
    let by = |name: &str| v["analysed"].as_array().unwrap().iter().find(|a| a["file"] == name).unwrap().clone();
    assert_eq!(by("lane0_nominal.bin")["limits"]["verdict"], "fail");
    let opt = by("opt0_dr4_good.bin");
    assert_eq!(opt["limits"]["verdict"], "pass");
    assert_eq!(opt["report"]["eye"]["tdecq_corners"].as_array().unwrap().len(), 2);
    assert_eq!(opt["config"]["fec"]["interleave"], 2, "400GBASE-DR4 interleaves 2 codewords");
    // --preset wins over the capture's own preset: 100GBASE-DR (one codeword, no interleave).
    let out2 = d.join("out2");
    let opt_path = d.join("opt0_dr4_good.bin");
    let o = run(&["analyze", opt_path.to_str().unwrap(), "--preset", "100GBASE-DR", "--pattern", "prbs13q", "--out", out2.to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let v2: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out2.join("report.json")).unwrap()).unwrap();
    assert_eq!(v2["analysed"][0]["config"]["fec"]["interleave"], 1, "{}", v2["analysed"][0]["config"]);
}
