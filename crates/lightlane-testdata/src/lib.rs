//! Where the workspace's tests find the real reference captures: `../shared/captures` beside the
//! repository (see its `MANIFEST.md`), or the folder `$LIGHTLANE_CAPTURES` names. The captures
//! come from public projects and are never copied into the repository, so every test that reads
//! them must skip — with a printed reason — where they are absent (a fresh clone, CI):
//!
//! ```
//! let Some(path) = lightlane_testdata::capture(lightlane_testdata::NRZ_10GBASE_R) else {
//!     return; // "skipped: …" was printed
//! };
//! assert!(path.is_file());
//! ```
//!
//! Unpublished (`publish = false`): a dev-dependency by path only.

use std::path::{Path, PathBuf};

/// The environment variable that overrides the captures folder.
pub const CAPTURES_ENV: &str = "LIGHTLANE_CAPTURES";

/// The 10GBASE-R NRZ link (LeCroy SDA 816Zi, 40 GS/s, raw float32 LE volts), relative to the
/// captures folder.
pub const NRZ_10GBASE_R: &str = "scopehal_ngscopeclient/10GBASE-R_waveform_1_channel_3.densev1.f32le.bin";

/// ngscopeclient's scope metadata of [`NRZ_10GBASE_R`].
pub const NRZ_10GBASE_R_METADATA: &str = "scopehal_ngscopeclient/10GBASE-R_scope_1_metadata.yml";

/// The PCIe NRZ link capture of ngscopeclient (raw float32 LE volts).
pub const PCIE: &str = "scopehal_ngscopeclient/PCIe_waveform_1_channel_1.densev1.f32le.bin";

/// ngscopeclient's scope metadata of [`PCIE`].
pub const PCIE_METADATA: &str = "scopehal_ngscopeclient/PCIe_scope_1_metadata.yml";

/// The 50 GBd PAM4 IM/DD experiment, rx-only set (MAT v5: `dataIn`, `txSymbols`, `rxSamples`
/// at 2 samples per symbol, time-aligned).
pub const PAM4_PON_RXONLY: &str = "pam4_pon_experiment/rxonly_eq_-18.5dBm_txrxSamples_50GBaudPAM_4_rrc_0.1.mat";

/// The default captures folder: `../shared/captures` beside the repository root.
pub fn default_captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures")
}

/// The captures folder (`$LIGHTLANE_CAPTURES`, else [`default_captures_dir`]), or `None` after
/// printing `skipped: reference captures not found at …`.
pub fn captures() -> Option<PathBuf> {
    captures_in(std::env::var_os(CAPTURES_ENV).map(PathBuf::from).unwrap_or_else(default_captures_dir))
}

/// `dir` when it is a folder, or `None` after printing why the caller skips.
pub fn captures_in(dir: PathBuf) -> Option<PathBuf> {
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: reference captures not found at {}", dir.display());
        None
    }
}

/// The file `rel` under the captures folder, or `None` after printing why the caller skips
/// (folder absent, or this file missing from it).
pub fn capture(rel: &str) -> Option<PathBuf> {
    file_in(&captures()?, rel)
}

/// The file `rel` under `dir`, or `None` after printing `skipped: … not found`.
pub fn file_in(dir: &Path, rel: &str) -> Option<PathBuf> {
    let path = dir.join(rel);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipped: {} not found", path.display());
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_folders_and_files_are_none_present_ones_are_found() {
        let dir = std::env::temp_dir().join(format!("lightlane-testdata-{}", std::process::id()));
        assert_eq!(captures_in(dir.clone()), None);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.bin"), [1u8, 2]).unwrap();
        assert_eq!(captures_in(dir.clone()), Some(dir.clone()));
        assert_eq!(file_in(&dir, "sub/a.bin"), Some(dir.join("sub/a.bin")));
        assert_eq!(file_in(&dir, "sub/b.bin"), None);
        assert_eq!(file_in(&dir, "sub"), None, "a folder is not a capture file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_default_folder_is_beside_the_repository() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        assert!(repo.join("Cargo.toml").is_file() && repo.join("crates/lightlane-testdata").is_dir());
        assert_eq!(default_captures_dir(), repo.join("../shared/captures"));
    }

    #[test]
    fn named_captures_exist_where_the_folder_does() {
        let Some(dir) = captures() else { return };
        for rel in [NRZ_10GBASE_R, NRZ_10GBASE_R_METADATA, PCIE, PCIE_METADATA, PAM4_PON_RXONLY] {
            assert!(dir.join(rel).is_file(), "{rel} missing from {}", dir.display());
        }
    }
}
