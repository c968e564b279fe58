#![no_main]
use libfuzzer_sys::fuzz_target;
use lightlane_io::Input;

// .npy and .npz through the content-detecting reader.
fuzz_target!(|data: &[u8]| {
    let opts = lightlane_io::ReadOptions { fs: Some(1e9), ..Default::default() };
    let input = Input::from_bytes("fuzz.npz", data);
    let _ = lightlane_io::read_input(&input, lightlane_io::Format::Npy, &opts);
    let _ = lightlane_io::read_input(&input, lightlane_io::Format::Npz, &opts);
});
