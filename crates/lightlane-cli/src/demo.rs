//! The built-in demo campaign that `lightlane analyze` runs when no path is given: simulated
//! lanes in several vendor formats (see `lightlane_examples::write_campaign`) and two optical
//! lanes (`lightlane simulate` of `examples/links/campaign_dr4_*.toml`), embedded in the
//! binary so an installed `lightlane` can run it anywhere.

use anyhow::Context;
use std::path::PathBuf;

/// The demo campaign (testdata/campaign, written by `make_campaign`), embedded so an installed
/// `lightlane analyze` with no path runs anywhere.
const CAMPAIGN: &[(&str, &[u8])] = &[
    ("lane0_nominal.bin", include_bytes!("../../../testdata/campaign/lane0_nominal.bin")),
    ("lane1_noisy.trc", include_bytes!("../../../testdata/campaign/lane1_noisy.trc")),
    ("lane2_long_channel.mat", include_bytes!("../../../testdata/campaign/lane2_long_channel.mat")),
    ("lane3_nrz.i16", include_bytes!("../../../testdata/campaign/lane3_nrz.i16")),
    ("lane3_nrz.json", include_bytes!("../../../testdata/campaign/lane3_nrz.json")),
    ("lane4_low_swing.f32", include_bytes!("../../../testdata/campaign/lane4_low_swing.f32")),
    ("lane4_low_swing.json", include_bytes!("../../../testdata/campaign/lane4_low_swing.json")),
    ("lane5_corrupt.bin", include_bytes!("../../../testdata/campaign/lane5_corrupt.bin")),
    // Optical lanes, written by `lightlane simulate examples/links/campaign_dr4_*.toml`.
    ("opt0_dr4_good.bin", include_bytes!("../../../testdata/campaign/opt0_dr4_good.bin")),
    ("opt0_dr4_good.lightlane.toml", include_bytes!("../../../testdata/campaign/opt0_dr4_good.lightlane.toml")),
    ("opt1_dr4_slow.trc", include_bytes!("../../../testdata/campaign/opt1_dr4_slow.trc")),
    ("opt1_dr4_slow.lightlane.toml", include_bytes!("../../../testdata/campaign/opt1_dr4_slow.lightlane.toml")),
];

/// Folder of the demo campaign: the repository's testdata/campaign when it matches the embedded
/// copy, else the embedded files written to a temporary folder.
pub fn demo_campaign() -> anyhow::Result<PathBuf> {
    let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/campaign"));
    let intact = CAMPAIGN
        .iter()
        .all(|(name, data)| std::fs::metadata(repo.join(name)).map(|m| m.len() as usize == data.len()).unwrap_or(false));
    if intact {
        return Ok(repo.canonicalize().unwrap_or(repo));
    }
    let dir = std::env::temp_dir().join(format!("lightlane-campaign-{}", env!("CARGO_PKG_VERSION")));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, data) in CAMPAIGN {
        let p = dir.join(name);
        std::fs::write(&p, data).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(dir)
}
