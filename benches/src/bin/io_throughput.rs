//! Capture reading throughput on large generated files, as a ratio to a plain
//! `std::fs::read` of the same file in the same run.
//!
//! ```text
//! cargo run --release -p lightlane-benches --bin io_throughput -- [MIB] [DIR]
//! ```
//! writes one file of `MIB` MiB (default 1024) per format into `DIR` (default the temp folder),
//! reads each with `std::fs::read` (allocating, the usual baseline), `read_capture` (whole
//! waveform: values + raw codes) and `open_stream_with` + `next_into` (1 Mi-sample chunks,
//! bounded memory), best of 3 with the page cache warm, prints wall and on-CPU times
//! (thread CPU time from `/proc/thread-self/stat`, 10 ms ticks) and deletes the files.

use lightlane::io::{open_stream_with, read_capture, ReadOptions};
use lightlane::waveform::{RawCodes, Waveform};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0 // utime, stime (fields 14, 15) in clock ticks
}

fn code(i: usize) -> i16 {
    ((i.wrapping_mul(2654435761) >> 7) % 4001) as i16 - 2000
}

fn write_stream(path: &Path, header: &[u8], n: usize, elem: impl Fn(usize, &mut Vec<u8>)) {
    let mut f = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(path).unwrap());
    f.write_all(header).unwrap();
    let mut block = Vec::with_capacity(1 << 22);
    for start in (0..n).step_by(1 << 20) {
        block.clear();
        for i in start..(start + (1 << 20)).min(n) {
            elem(i, &mut block);
        }
        f.write_all(&block).unwrap();
    }
}

fn npy_header(n: usize) -> Vec<u8> {
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n},), }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h
}

struct Case {
    name: &'static str,
    path: PathBuf,
    side: Option<PathBuf>,
    opts: ReadOptions,
}

fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..reps {
        let (c0, t0) = (cpu_s(), Instant::now());
        std::hint::black_box(f());
        wall = wall.min(t0.elapsed().as_secs_f64());
        cpu = cpu.min(cpu_s() - c0);
    }
    (wall, cpu)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(1024);
    let dir = args.get(2).map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("lightlane-io-throughput"));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = mib << 20;
    let mut cases = Vec::new();

    // Raw int16 codes + sidecar (codes → volts, codes kept).
    let p = dir.join("cap_i16.bin");
    write_stream(&p, &[], bytes / 2, |i, b| b.extend_from_slice(&code(i).to_le_bytes()));
    let s = dir.join("cap_i16.json");
    std::fs::write(&s, r#"{"fs": 256e9, "dtype": "i16", "scale": 3.0517578125e-5, "offset": 0.01}"#).unwrap();
    cases.push(Case { name: "raw i16 + sidecar", path: p, side: Some(s), opts: ReadOptions::default() });

    // Raw float32 + sidecar.
    let p = dir.join("cap_f32.bin");
    write_stream(&p, &[], bytes / 4, |i, b| b.extend_from_slice(&(code(i) as f32 * 1e-4).to_le_bytes()));
    let s = dir.join("cap_f32.json");
    std::fs::write(&s, r#"{"fs": 256e9, "dtype": "f32"}"#).unwrap();
    cases.push(Case { name: "raw f32 + sidecar", path: p, side: Some(s), opts: ReadOptions::default() });

    // NumPy float32.
    let p = dir.join("cap_f32.npy");
    write_stream(&p, &npy_header(bytes / 4), bytes / 4, |i, b| b.extend_from_slice(&(code(i) as f32 * 1e-4).to_le_bytes()));
    cases.push(Case { name: "npy f32", path: p, side: None, opts: ReadOptions { fs: Some(256e9), ..Default::default() } });

    // Keysight AG10 float32 (the writer builds the file in memory: bounded to < 2 GiB by the format).
    let p = dir.join("cap.bin");
    {
        let n = (bytes / 4).min((i32::MAX as usize - 4096) / 4);
        let wf = Waveform::new((0..n).map(|i| code(i) as f32 * 1e-4).collect(), 1.0 / 256e9).unwrap();
        lightlane::io::keysight::write(&p, &[wf]).unwrap();
    }
    cases.push(Case { name: "keysight bin f32", path: p, side: None, opts: ReadOptions::default() });

    println!("{mib} MiB per file, page cache warm, best of 3; ratio = std::fs::read time / reader time (1.0 = as fast as a plain read)");
    println!("{:<20} {:>10} {:>12} {:>12} {:>12} {:>10} {:>10}", "format", "MiB", "fs::read s", "whole s", "stream s", "whole/rd", "stream/rd");
    for c in &cases {
        let len = std::fs::metadata(&c.path).unwrap().len();
        let _ = std::fs::read(&c.path).unwrap(); // warm the page cache
        let (plain, plain_cpu) = best(3, || std::fs::read(&c.path).unwrap().len());
        let (whole, whole_cpu) = best(3, || {
            let w = read_capture(&c.path, &c.opts).unwrap();
            let codes = matches!(w.raw, Some(RawCodes::I16 { .. }));
            (w.len(), codes)
        });
        let (stream, stream_cpu) = best(3, || {
            let mut s = open_stream_with(&c.path, &c.opts, 1 << 20).unwrap();
            let mut buf = Vec::new();
            let mut acc = 0f64;
            while s.next_into(&mut buf).unwrap() > 0 {
                acc += buf[buf.len() / 2] as f64;
            }
            acc
        });
        println!(
            "{:<20} {:>10.0} {:>12.3} {:>12.3} {:>12.3} {:>10.2} {:>10.2}",
            c.name,
            len as f64 / (1 << 20) as f64,
            plain,
            whole,
            stream,
            plain / whole,
            plain / stream
        );
        println!(
            "{:<20} {:>10} {:>12.2} {:>12.2} {:>12.2} {:>10.2} {:>10.2}   (on-CPU s)",
            "",
            "",
            plain_cpu,
            whole_cpu,
            stream_cpu,
            plain_cpu / whole_cpu.max(0.01),
            plain_cpu / stream_cpu.max(0.01)
        );
    }
    for c in &cases {
        let _ = std::fs::remove_file(&c.path);
        if let Some(s) = &c.side {
            let _ = std::fs::remove_file(s);
        }
    }
    let _ = std::fs::remove_dir(&dir);
}
