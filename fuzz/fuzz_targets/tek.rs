#![no_main]
use libfuzzer_sys::fuzz_target;
use lightlane_io::Input;

// Tektronix .wfm: versions 1-3, FastFrame, pre/post charge.
fuzz_target!(|data: &[u8]| {
    let input = Input::from_bytes("fuzz.wfm", data);
    if let Ok(described) = lightlane_io::tek::describe(&input) {
        for d in described {
            let _ = lightlane_io::layout::load(&input, d);
        }
    }
});
