#![no_main]
use libfuzzer_sys::fuzz_target;
use lightlane_io::Input;

// ngscopeclient densev1: metadata text, a NUL, then the float32 data.
fuzz_target!(|data: &[u8]| {
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let meta = String::from_utf8_lossy(&data[..cut]);
    let samples = Input::from_bytes("fuzz.bin", data.get(cut + 1..).unwrap_or(&[]));
    if let Ok(d) = lightlane_io::densev1::describe(&samples, "meta.yml", &meta, (Some(1), Some(3), 0)) {
        let _ = lightlane_io::layout::load(&samples, d);
    }
});
