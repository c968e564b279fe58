//! Helpers shared by the real-capture tests: where ../shared/captures is, and reading the
//! ngscopeclient captures with their metadata files. Tests skip (with a printed reason) when
//! the captures are absent.

#![allow(dead_code)]

use lightlane::io::{read_capture, ReadOptions};
use lightlane::Waveform;
use std::path::{Path, PathBuf};

pub fn captures() -> Option<PathBuf> {
    let p = match std::env::var_os("LIGHTLANE_CAPTURES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures"),
    };
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: reference captures not found at {}", p.display());
        None
    }
}

pub fn read(dir: &Path, file: &str, metadata: &str) -> Option<Waveform> {
    let path = dir.join("scopehal_ngscopeclient").join(file);
    if !path.is_file() {
        eprintln!("skipped: {} not found", path.display());
        return None;
    }
    let options = ReadOptions {
        metadata: Some(dir.join("scopehal_ngscopeclient").join(metadata)),
        ..Default::default()
    };
    Some(read_capture(&path, &options).expect("capture reads"))
}

