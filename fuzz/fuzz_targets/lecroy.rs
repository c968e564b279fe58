#![no_main]
use libfuzzer_sys::fuzz_target;
use lightlane_io::Input;

// LeCroy .trc: header, segments, data.
fuzz_target!(|data: &[u8]| {
    let input = Input::from_bytes("fuzz.trc", data);
    if let Ok(described) = lightlane_io::lecroy::describe(&input) {
        for d in described {
            let _ = lightlane_io::layout::load(&input, d);
        }
    }
});
