//! The in-test fuzz run: every reader gets thousands of seeded random mutations of real and
//! generated files (bit flips, interesting integers written over header fields, truncations,
//! insertions, deletions, duplicated blocks). Each call must return (`Ok` or a typed error),
//! never panic, and never allocate more than a small multiple of the input's size: a length
//! read from a header must never size an allocation by itself.
//!
//! The same readers are the cargo-fuzz targets in `fuzz/` (run by `scripts/fuzz.sh`).

mod common;

use lightlane_io::{densev1, lecroy, mat, npz, read_bytes, touchstone, Input, ReadOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the bytes the current thread holds, and their peak.
struct Counting;

thread_local! {
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = CURRENT.try_with(|c| {
        let v = c.get() + delta;
        c.set(v);
        let _ = PEAK.try_with(|p| {
            if v > p.get() {
                p.set(v)
            }
        });
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note(l.size() as isize);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        note(-(l.size() as isize));
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note(l.size() as isize);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        note(new as isize - l.size() as isize);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak bytes allocated (above the level at the call) while `f` runs.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.with(|c| c.get());
    PEAK.with(|p| p.set(base));
    let r = f();
    let peak = PEAK.with(|p| p.get());
    (r, (peak - base).max(0) as usize)
}

const INTERESTING: [u64; 12] = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, u64::MAX];

fn mutate(rng: &mut ChaCha8Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    let ops = rng.random_range(1..=4);
    for _ in 0..ops {
        if b.is_empty() {
            b.push(rng.random());
            continue;
        }
        // Most mutations hit the header, where the lengths and types are.
        let hot = b.len().min(if rng.random_bool(0.8) { 1024 } else { usize::MAX });
        let at = rng.random_range(0..hot);
        match rng.random_range(0..9) {
            0 => b[at] ^= 1 << rng.random_range(0..8),
            1 => b[at] = rng.random(),
            2 | 3 => {
                let w = [1usize, 2, 4, 8][rng.random_range(0..4)];
                let mut v = INTERESTING[rng.random_range(0..INTERESTING.len())];
                if rng.random_bool(0.2) {
                    v = seed.len() as u64 + rng.random_range(0..3) as u64 - 1;
                }
                let bytes = if rng.random_bool(0.5) { v.to_le_bytes() } else { v.to_be_bytes() };
                let src = if rng.random_bool(0.5) { &bytes[..w] } else { &bytes[8 - w..] };
                let end = (at + w).min(b.len());
                b[at..end].copy_from_slice(&src[..end - at]);
            }
            4 => b.truncate(rng.random_range(0..=b.len())),
            5 => {
                let n = rng.random_range(1..64);
                let ins: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                b.splice(at..at, ins);
            }
            6 => {
                let end = (at + rng.random_range(1..256)).min(b.len());
                b.drain(at..end);
            }
            7 => {
                let end = (at + rng.random_range(1..512)).min(b.len());
                let chunk = b[at..end].to_vec();
                let to = rng.random_range(0..b.len());
                b.splice(to..to, chunk);
            }
            _ => {
                // An ASCII digit change (text formats: counts, units, exponents).
                b[at] = b"0123456789-+.eE,;\n "[rng.random_range(0..19)];
            }
        }
    }
    b
}

/// Runs `n` mutations of every seed through `read`, checking no panic and bounded allocation.
fn fuzz(name: &str, seeds: &[Vec<u8>], n: usize, seed: u64, read: &dyn Fn(&[u8])) {
    assert!(!seeds.is_empty(), "{name}: no seeds");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut worst = 0f64;
    for i in 0..n {
        let s = &seeds[i % seeds.len()];
        let input = mutate(&mut rng, s);
        let (r, peak) = peak_of(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&input))));
        if r.is_err() {
            let path = std::env::temp_dir().join(format!("lightlane-fuzz-crash-{name}-{i}.bin"));
            let _ = std::fs::write(&path, &input);
            panic!("{name}: mutation {i} panicked; input saved to {}", path.display());
        }
        // Values take up to 8 bytes per input byte (f32 volts + i16 codes per int8 code, f64 per
        // CSV digit pair), segment metadata up to ~40 (a segment needs >= 16 file bytes);
        // 1 MiB covers fixed-size buffers (chunked reads, headers).
        let bound = 64 * input.len() + (1 << 20);
        assert!(peak <= bound, "{name}: mutation {i} of {} bytes allocated {peak} bytes", input.len());
        if input.len() >= 4096 {
            worst = worst.max(peak as f64 / input.len() as f64);
        }
    }
    eprintln!("{name}: {n} mutations, no panic, worst allocation {worst:.1} x input (inputs >= 4 KiB; bound 64x + 1 MiB)");
}

fn real(rel: &str) -> Option<Vec<u8>> {
    common::captures().and_then(|c| std::fs::read(c.join(rel)).ok())
}

fn tmp_bytes(tag: &str, write: impl FnOnce(&std::path::Path)) -> Vec<u8> {
    let d = common::tmpdir("fuzzseed");
    let p = d.join(tag);
    write(&p);
    std::fs::read(&p).unwrap()
}

const N: usize = 3000;

fn any(bytes: &[u8]) {
    let _ = read_bytes("fuzz", bytes, &ReadOptions { fs: Some(1e9), ..Default::default() });
}

#[test]
fn fuzz_lecroy() {
    let mut seeds = vec![tmp_bytes("a.trc", |p| {
        lecroy::write(p, &[common::coded_waveform(64, 1e-4, 0.1, 1e-9), common::coded_waveform(64, 1e-4, 0.1, 1e-9)]).unwrap()
    })];
    seeds.extend(real("lecroy_trc/pulse_sequence.trc"));
    seeds.extend(real("lecroy_trc/header_only_truncated.trc"));
    fuzz("lecroy", &seeds, N, 1, &|b| {
        let i = Input::from_bytes("fuzz.trc", b);
        if let Ok(d) = lecroy::describe(&i) {
            for d in d {
                let _ = lightlane_io::layout::load(&i, d);
            }
        }
    });
}

#[test]
fn fuzz_tek() {
    let mut seeds = vec![
        common::tek_wfm(3, false, &[vec![1, 2, 3], vec![4, 5, 6]], 2, 2, 1e-3, 0.0, 1e-10, 0.0),
        common::tek_wfm(1, true, &[vec![1, 2, 3, 4]], 0, 1, 1e-3, 0.5, 1e-10, -1e-9),
        common::tek_wfm(2, false, &[vec![9; 8]], 1, 0, 1e-3, 0.5, 1e-10, -1e-9),
    ];
    seeds.extend(real("tek_wfm/golden_analog.wfm"));
    seeds.extend(real("tek_wfm/sample_ff1_fastframe5.wfm"));
    fuzz("tek", &seeds, N, 2, &any);
}

#[test]
fn fuzz_keysight() {
    let mut seeds = vec![tmp_bytes("a.bin", |p| {
        lightlane_io::keysight::write(p, &[common::coded_waveform(32, 1e-3, 0.0, 1e-9), common::coded_waveform(16, 1e-3, 0.0, 1e-9)]).unwrap()
    })];
    seeds.extend(real("keysight_bin/DSO81204B_points10.bin"));
    seeds.extend(real("keysight_bin/DSOX1102G_dual.bin"));
    fuzz("keysight", &seeds, N, 3, &any);
}

#[test]
fn fuzz_csv() {
    let seeds: Vec<Vec<u8>> = common::csv_samples().into_iter().map(|(_, t)| t.into_bytes()).collect();
    fuzz("csv", &seeds, N, 4, &|b| {
        let _ = lightlane_io::csv::parse("fuzz.csv", &String::from_utf8_lossy(b), Some(1e9));
    });
}

#[test]
fn fuzz_npy_npz() {
    let seeds = vec![
        lightlane_io::npy::encode(&[1.0f32, 2.0, -3.0]),
        lightlane_io::npy::encode(&[1i16, -2, 300]),
        lightlane_io::npy::encode(&[1i8, -2, 3, 4]),
        tmp_bytes("a.npz", |p| npz::write(p, &[("fs", &[1e9]), ("rx", &[0.5, 0.25, -1.0])]).unwrap()),
    ];
    fuzz("npy/npz", &seeds, N, 5, &any);
}

#[test]
fn fuzz_mat() {
    let x: Vec<f64> = (0..64).map(|i| (i as f64).sin()).collect();
    let mut seeds = vec![
        tmp_bytes("a.mat", |p| mat::write(p, &[("fs", &[1e9]), ("rx", &x)], false).unwrap()),
        tmp_bytes("b.mat", |p| mat::write(p, &[("rx", &x), ("y", &[1.0, 2.0])], true).unwrap()),
    ];
    // The real files are large: a prefix keeps the header, the first elements and a cut.
    if let Some(b) = real("pam4_pon_experiment/E2E_-18.5dBm_test1.mat") {
        seeds.push(b[..b.len().min(64 * 1024)].to_vec());
    }
    fuzz("mat", &seeds, N, 6, &|b| {
        if let Ok(a) = mat::read_arrays(&Input::from_bytes("fuzz.mat", b)) {
            let _ = mat::to_waveforms("fuzz.mat", a, 1e-9);
        }
    });
}

const META: &str = "waveforms:\n    wfm1:\n        timestamp: 1617349731\n        time_fsec: 936999999999997\n        id:        1\n        channels:\n            ch3s0:\n                format:       densev1\n                index:        3\n                stream:       0\n                timescale:    25000\n                trigphase:    11336\n";

#[test]
fn fuzz_densev1() {
    let data: Vec<u8> = (0..64).flat_map(|i| (i as f32 * 0.01).to_le_bytes()).collect();
    let mut seed = META.as_bytes().to_vec();
    seed.push(0); // separator between metadata and data in the fuzz input
    seed.extend_from_slice(&data);
    fuzz("densev1", &[seed], N, 7, &|b| {
        let cut = b.iter().position(|&x| x == 0).unwrap_or(b.len());
        let meta = String::from_utf8_lossy(&b[..cut]);
        let data = Input::from_bytes("fuzz.bin", b.get(cut + 1..).unwrap_or(&[]));
        if let Ok(d) = densev1::describe(&data, "meta.yml", &meta, (Some(1), Some(3), 0)) {
            let _ = lightlane_io::layout::load(&data, d);
        }
    });
}

#[test]
fn fuzz_touchstone() {
    let seeds = vec![
        common::s4p_text(6).into_bytes(),
        b"[Version] 2.0\n# GHz S RI R 50\n[Number of Ports] 2\n[Two-Port Data Order] 12_21\n[Reference] 50 50\n[Network Data]\n1 0.1 0 0.2 0 0.3 0 0.4 0\n2 0.1 0 0.2 0 0.3 0 0.4 0\n[End]\n".to_vec(),
        b"# MHz Z MA R 50\n1 1 0 0.5 10 0.5 10 1 0\n2 1 0 0.5 10 0.5 10 1 0\n".to_vec(),
    ];
    fuzz("touchstone", &seeds, N, 8, &|b| {
        let text = String::from_utf8_lossy(b);
        for ports in [Some(2), Some(4)] {
            if let Ok(t) = touchstone::parse("fuzz.s4p", &text, ports) {
                if t.ports == 4 {
                    let _ = t.mixed_mode(&[(1, 3), (2, 4)]);
                }
            }
        }
    });
}

#[test]
fn fuzz_raw_sidecar_and_detection() {
    // The sidecar JSON and the data bytes both mutate.
    let side = br#"{"fs": 1e9, "dtype": "i16", "scale": 0.001, "offset": 0.1, "header_bytes": 4}"#.to_vec();
    fuzz("raw sidecar", &[side], N / 3, 9, &|b| {
        let p = std::path::Path::new("fuzz.json");
        if let Ok(s) = lightlane_io::raw::parse_sidecar(p, &String::from_utf8_lossy(b)) {
            let data = [0u8; 64];
            let i = Input::from_bytes("fuzz.bin", &data);
            if let Ok(d) = lightlane_io::raw::describe(&i, p, &s) {
                let _ = lightlane_io::layout::load(&i, d);
            }
        }
    });
    // Content detection over every kind of seed.
    let mut seeds: Vec<Vec<u8>> = common::csv_samples().into_iter().map(|(_, t)| t.into_bytes()).collect();
    seeds.push(common::tek_wfm(3, false, &[vec![1, 2, 3]], 0, 0, 1e-3, 0.0, 1e-10, 0.0));
    seeds.push(common::s4p_text(2).into_bytes());
    seeds.push(lightlane_io::npy::encode(&[1.0f64, 2.0]));
    fuzz("detect+read", &seeds, N / 3, 10, &any);
}

/// Writes the generated seeds into `$LIGHTLANE_FUZZ_SEEDS/<target>/` for `scripts/fuzz.sh`.
#[test]
#[ignore = "run by scripts/fuzz.sh to seed the cargo-fuzz corpora"]
fn write_seed_corpus() {
    let Some(root) = std::env::var_os("LIGHTLANE_FUZZ_SEEDS") else { return };
    let root = std::path::PathBuf::from(root);
    let put = |target: &str, name: &str, bytes: &[u8]| {
        let d = root.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    };
    let x: Vec<f64> = (0..64).map(|i| (i as f64).sin()).collect();
    put("lecroy", "gen.trc", &tmp_bytes("s.trc", |p| lecroy::write(p, &[common::coded_waveform(64, 1e-4, 0.1, 1e-9), common::coded_waveform(64, 1e-4, 0.1, 1e-9)]).unwrap()));
    put("tek", "gen3.wfm", &common::tek_wfm(3, false, &[vec![1, 2, 3], vec![4, 5, 6]], 2, 2, 1e-3, 0.0, 1e-10, 0.0));
    put("tek", "gen1be.wfm", &common::tek_wfm(1, true, &[vec![1, 2, 3, 4]], 0, 1, 1e-3, 0.5, 1e-10, -1e-9));
    put("keysight", "gen.bin", &tmp_bytes("s.bin", |p| lightlane_io::keysight::write(p, &[common::coded_waveform(32, 1e-3, 0.0, 1e-9)]).unwrap()));
    put("npy_npz", "gen.npy", &lightlane_io::npy::encode(&[1i16, -2, 300]));
    put("npy_npz", "gen.npz", &tmp_bytes("s.npz", |p| npz::write(p, &[("fs", &[1e9]), ("rx", &[0.5, 0.25])]).unwrap()));
    put("mat", "plain.mat", &tmp_bytes("s.mat", |p| mat::write(p, &[("fs", &[1e9]), ("rx", &x)], false).unwrap()));
    put("mat", "z.mat", &tmp_bytes("z.mat", |p| mat::write(p, &[("rx", &x)], true).unwrap()));
    for (name, text) in common::csv_samples() {
        put("csv", name, text.as_bytes());
        put("detect", name, text.as_bytes());
    }
    put("touchstone", "gen.s4p", common::s4p_text(4).as_bytes());
}
