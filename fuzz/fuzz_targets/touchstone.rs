#![no_main]
use libfuzzer_sys::fuzz_target;

// Touchstone text, as 2- and 4-port files, and the mixed-mode conversion.
fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for ports in [Some(2), Some(4), None] {
        if let Ok(t) = lightlane_io::touchstone::parse("fuzz.s4p", &text, ports) {
            if t.ports == 4 {
                let _ = t.mixed_mode(&[(1, 3), (2, 4)]);
            }
        }
    }
});
