#![no_main]
use libfuzzer_sys::fuzz_target;

// CSV text.
fuzz_target!(|data: &[u8]| {
    let _ = lightlane_io::csv::parse("fuzz.csv", &String::from_utf8_lossy(data), Some(1e9));
});
