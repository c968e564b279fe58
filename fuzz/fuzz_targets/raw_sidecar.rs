#![no_main]
use libfuzzer_sys::fuzz_target;
use lightlane_io::Input;

// Raw + JSON sidecar: the sidecar text, a NUL, then the data.
fuzz_target!(|data: &[u8]| {
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let p = std::path::Path::new("fuzz.json");
    if let Ok(side) = lightlane_io::raw::parse_sidecar(p, &String::from_utf8_lossy(&data[..cut])) {
        let samples = Input::from_bytes("fuzz.bin", data.get(cut + 1..).unwrap_or(&[]));
        if let Ok(d) = lightlane_io::raw::describe(&samples, p, &side) {
            let _ = lightlane_io::layout::load(&samples, d);
        }
    }
});
