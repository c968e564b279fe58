//! The committed demo capture is exactly what the generator produces.

#[test]
fn committed_demo_matches_generator() {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/demo_pam4.bin"));
    let committed = lightlane::io::raw::read(path).expect("demo capture reads");
    let fresh = lightlane_examples::demo_capture().expect("generator runs");
    assert_eq!(committed.len(), fresh.len());
    assert!((committed.fs() - fresh.fs()).abs() < 1e-3 * fresh.fs() * 1e-9);
    let (Some(lightlane::waveform::RawCodes::I16 { codes: a, .. }), Some(lightlane::waveform::RawCodes::I16 { codes: b, .. })) = (&committed.raw, &fresh.raw) else {
        panic!("demo capture must carry i16 codes");
    };
    // Identical up to ±1 code where float rounding on another CPU could flip a half-code.
    let off = a.iter().zip(b).filter(|(x, y)| (**x as i32 - **y as i32).abs() > 1).count();
    assert_eq!(off, 0, "regenerate with: cargo run --release -p lightlane-examples --bin make_demo");
    assert_eq!(committed.meta.extra.get("pattern").map(String::as_str), Some("prbs13q"));
}
