//! Regenerates the demo capture `testdata/demo_pam4.{bin,json}` with lightlane's own simulator.
//!
//! `cargo run --release -p lightlane-examples --bin make_demo [OUT_DIR]`

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("testdata"));
    let wf = lightlane_examples::demo_capture()?;
    std::fs::create_dir_all(&out)?;
    let path = out.join("demo_pam4.bin");
    lightlane::io::raw::write(&path, &wf)?;
    println!("wrote {} samples to {}", wf.len(), path.display());
    Ok(())
}
