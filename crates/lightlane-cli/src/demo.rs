//! The built-in demo capture: a simulated 53.125 GBd PAM4 PRBS13Q link sampled at 256 GSa/s,
//! stored in testdata/ as i16 codes + JSON sidecar and embedded in the binary so an installed
//! `lightlane` can run it anywhere.

use anyhow::Context;
use std::path::PathBuf;

const DATA: &[u8] = include_bytes!("../../../testdata/demo_pam4.bin");
const SIDECAR: &[u8] = include_bytes!("../../../testdata/demo_pam4.json");

/// Path of the demo capture: the repository copy when present, else a copy written to a
/// temporary folder.
pub fn demo_capture() -> anyhow::Result<PathBuf> {
    let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/demo_pam4.bin"));
    if repo.is_file() && std::fs::metadata(&repo).map(|m| m.len() as usize == DATA.len()).unwrap_or(false) {
        return Ok(repo);
    }
    let dir = std::env::temp_dir().join(format!("lightlane-demo-{}", env!("CARGO_PKG_VERSION")));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let data = dir.join("demo_pam4.bin");
    std::fs::write(&data, DATA).with_context(|| format!("writing {}", data.display()))?;
    std::fs::write(dir.join("demo_pam4.json"), SIDECAR).with_context(|| format!("writing {}", dir.display()))?;
    Ok(data)
}
