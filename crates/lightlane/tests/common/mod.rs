//! Helpers shared by the real-capture tests: where ../shared/captures is, and reading the
//! ngscopeclient captures with their metadata files. Tests skip (with a printed reason) when
//! the captures are absent.

#![allow(dead_code)]

use lightlane::io::{read_capture, ReadOptions};
use lightlane::Waveform;
pub use lightlane_testdata::{NRZ_10GBASE_R, NRZ_10GBASE_R_METADATA, PCIE, PCIE_METADATA};

/// The ngscopeclient capture `file` (relative to the captures folder) read with its scope
/// metadata file `metadata`, or `None` after printing why the test skips.
pub fn read(file: &str, metadata: &str) -> Option<Waveform> {
    let dir = lightlane_testdata::captures()?;
    let path = lightlane_testdata::file_in(&dir, file)?;
    let options = ReadOptions { metadata: Some(dir.join(metadata)), ..Default::default() };
    Some(read_capture(&path, &options).expect("capture reads"))
}

