#![no_main]
use libfuzzer_sys::fuzz_target;
use lightlane_io::Input;

// Keysight/Agilent .bin: waveforms and buffers.
fuzz_target!(|data: &[u8]| {
    let input = Input::from_bytes("fuzz.bin", data);
    if let Ok(described) = lightlane_io::keysight::describe(&input) {
        for d in described {
            let _ = lightlane_io::layout::load(&input, d);
        }
    }
});
