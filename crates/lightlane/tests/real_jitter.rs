//! Jitter decomposition on real scope captures (../shared/captures, see its MANIFEST.md): the
//! 10GBASE-R LeCroy capture and the PCIe Gen1 capture, clocked as in `real_timing.rs`. The
//! numbers must be plausible for the links and stable: the same on a rerun and similar on the
//! two halves of each capture. Skips with a printed reason when the captures are absent.

mod common;
use common::{read, NRZ_10GBASE_R, NRZ_10GBASE_R_METADATA, PCIE, PCIE_METADATA};

use lightlane::jitter::{analyze_jitter, JitterConfig, JitterReport};
use lightlane::timing::{estimate_baud, recover_clock, CdrConfig, CdrKind};
use lightlane::Modulation;

/// Estimates the rate, recovers the clock, decides the bits at 0 V and decomposes the jitter.
fn decompose(x: &[f32], fs: f64, nominal: f64, kind: CdrKind) -> JitterReport {
    let est = estimate_baud(x, fs, Some(nominal), Modulation::Nrz).unwrap();
    let clock = recover_clock(x, fs, est.baud, Modulation::Nrz, &CdrConfig { kind, ..Default::default() }).unwrap();
    let bits: Vec<u8> = clock.resample(x, 1).iter().map(|&v| (v > 0.0) as u8).collect();
    analyze_jitter(&clock, &bits, Modulation::Nrz, &JitterConfig::default()).unwrap()
}

fn ps(v: Option<f64>) -> String {
    v.map(|s| format!("{:.2} ps", s * 1e12)).unwrap_or_else(|| "-".into())
}

fn print(name: &str, r: &JitterReport) {
    eprintln!(
        "{name}: {} edges ({} rejected); TIE rms {}, RJ {} (residual {}), DJ(δδ) {}, TJ(1e-12) {} = {:.3} UI; DDJ {}, ISI {}, DCD {}",
        r.edges.used,
        r.edges.rejected,
        ps(Some(r.tie_rms_s)),
        ps(r.rj_rms_s),
        ps(r.rj_residual_rms_s),
        ps(r.dj_pp_s),
        ps(r.tj_s),
        r.tj_s.unwrap_or(f64::NAN) / r.ui_s,
        ps(r.ddj_pp_s),
        ps(r.isi_pp_s),
        ps(r.dcd_s)
    );
    for t in &r.pj {
        eprintln!("    PJ {:.4e} Hz, {:.3} ps ({:.1} dB over the floor)", t.freq_hz, t.amplitude_s * 1e12, t.snr_db);
    }
}

/// Plausibility and stability shared by both links; `ui_share` bounds TJ in UI.
fn check(name: &str, x: &[f32], fs: f64, nominal: f64, kind: CdrKind, tj_max_ui: f64) {
    let whole = decompose(x, fs, nominal, kind);
    print(name, &whole);
    let again = decompose(x, fs, nominal, kind);
    assert_eq!(whole, again, "{name}: a rerun gives different numbers");
    let half = x.len() / 2;
    let first = decompose(&x[..half], fs, nominal, kind);
    let second = decompose(&x[half..], fs, nominal, kind);
    print(&format!("{name} (first half)"), &first);
    print(&format!("{name} (second half)"), &second);

    let ui = whole.ui_s;
    let (rj, dj, tj) = (whole.rj_rms_s.unwrap(), whole.dj_pp_s.unwrap(), whole.tj_s.unwrap());
    assert!(whole.edges.used > 10_000 && whole.edges.rejected * 100 < whole.edges.used, "{:?}", whole.edges);
    // RJ of a real link: a fraction of a ps to a few percent of a UI; never above the TIE rms.
    assert!(rj > 0.05e-12 && rj < 0.05 * ui && rj <= 1.05 * whole.tie_rms_s, "{name}: RJ {rj}");
    assert!(whole.rj_residual_rms_s.unwrap() <= whole.tie_rms_s * 1.0001);
    assert!(dj >= 0.0 && dj < 0.5 * ui && tj > dj && tj < tj_max_ui * ui, "{name}: DJ {dj} TJ {tj}");
    assert!(whole.ddj_pp_s.unwrap() < 0.5 * ui);
    // Stable across the halves: RJ within 30 %, TJ within 20 %, TIE rms within 20 %.
    for h in [&first, &second] {
        assert!((h.rj_rms_s.unwrap() / rj - 1.0).abs() < 0.3, "{name}: half RJ {:?} vs {rj}", h.rj_rms_s);
        assert!((h.tj_s.unwrap() / tj - 1.0).abs() < 0.2, "{name}: half TJ {:?} vs {tj}", h.tj_s);
        assert!((h.tie_rms_s / whole.tie_rms_s - 1.0).abs() < 0.2);
    }
}

#[test]
fn ten_gbase_r_jitter_is_plausible_and_stable() {
    let Some(w) = read(NRZ_10GBASE_R, NRZ_10GBASE_R_METADATA) else { return };
    // The link decodes without error (real_timing.rs), so its eye is open: TJ(1e-12) below 1 UI.
    check("10GBASE-R", &w.samples, w.fs(), 10.3125e9, CdrKind::reference_pll(4e6), 1.0);
}

#[test]
fn pcie_gen1_jitter_is_plausible_and_stable() {
    let Some(w) = read(PCIE, PCIE_METADATA) else { return };
    // PCIe Gen1 measures jitter behind a 1.5 MHz CDR; its TX budget is well under 0.5 UI.
    check("PCIe Gen1", &w.samples, w.fs(), 2.5e9, CdrKind::reference_pll(1.5e6), 0.6);
}
