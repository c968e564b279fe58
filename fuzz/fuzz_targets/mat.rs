#![no_main]
use libfuzzer_sys::fuzz_target;
use lightlane_io::Input;

// MATLAB level-5 .mat, compressed elements included.
fuzz_target!(|data: &[u8]| {
    if let Ok(arrays) = lightlane_io::mat::read_arrays(&Input::from_bytes("fuzz.mat", data)) {
        let _ = lightlane_io::mat::to_waveforms("fuzz.mat", arrays, 1e-9);
    }
});
