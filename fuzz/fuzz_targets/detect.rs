#![no_main]
use libfuzzer_sys::fuzz_target;

// Content detection and every in-memory reader.
fuzz_target!(|data: &[u8]| {
    let opts = lightlane_io::ReadOptions { fs: Some(1e9), ..Default::default() };
    let _ = lightlane_io::read_bytes("fuzz", data, &opts);
});
