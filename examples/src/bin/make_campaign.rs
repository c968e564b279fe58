//! Regenerates the demo campaign `testdata/campaign/` with lightlane's own simulator and
//! capture writers (see `lightlane_examples::write_campaign`).
//!
//! `cargo run --release -p lightlane-examples --bin make_campaign [OUT_DIR]`

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("testdata/campaign"));
    let names = lightlane_examples::write_campaign(&out)?;
    for n in &names {
        let len = std::fs::metadata(out.join(n))?.len();
        println!("{:>9} bytes  {}", len, out.join(n).display());
    }
    Ok(())
}
