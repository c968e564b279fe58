//! The committed demo campaign (testdata/campaign) is what `make_campaign` produces.

use std::path::Path;

#[test]
fn committed_campaign_matches_generator() {
    let committed = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/campaign"));
    let fresh = std::env::temp_dir().join(format!("lightlane-campaign-check-{}", std::process::id()));
    let names = lightlane_examples::write_campaign(&fresh).expect("generator runs");
    let hint = "regenerate with: cargo run --release -p lightlane-examples --bin make_campaign";
    for n in &names {
        let a = std::fs::read(committed.join(n)).unwrap_or_else(|e| panic!("{n}: {e}; {hint}"));
        let b = std::fs::read(fresh.join(n)).unwrap();
        assert_eq!(a.len(), b.len(), "{n}: size differs; {hint}");
    }
    // Samples agree to float rounding (another CPU may round a half-code differently).
    for n in ["lane0_nominal.bin", "lane1_noisy.trc", "lane2_long_channel.mat", "lane3_nrz.i16", "lane4_low_swing.f32"] {
        let a = lightlane::io::read_capture(&committed.join(n), &Default::default()).unwrap();
        let b = lightlane::io::read_capture(&fresh.join(n), &Default::default()).unwrap();
        assert_eq!(a.len(), b.len(), "{n}");
        let peak = a.samples.iter().fold(0f32, |m, &v| m.max(v.abs()));
        let off = a.samples.iter().zip(&b.samples).filter(|(x, y)| (**x - **y).abs() > 1e-3 * peak).count();
        assert_eq!(off, 0, "{n}: {off} samples differ; {hint}");
    }
    let full = std::fs::read(committed.join("lane0_nominal.bin")).unwrap();
    let cut = std::fs::read(committed.join("lane5_corrupt.bin")).unwrap();
    assert!(cut.len() < full.len() && full.starts_with(&cut), "the corrupt file is a truncated lane0");
    let _ = std::fs::remove_dir_all(&fresh);
}
