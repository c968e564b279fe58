//! Capture reading throughput against a plain file read of the same bytes.
//!
//! A 128 MiB int16 raw capture (+ sidecar) and the same samples as a float32 `.npy` are written
//! to the temp folder; the benches read them (page cache warm) with:
//! - `plain-read`: `File::read` into a reused 2 MiB buffer (the disk/memcpy ceiling);
//! - `stream`: `open_stream_with` + `next_into` (bounded buffers, codes → f32 volts);
//! - `read_capture`: the whole capture into one `Waveform` (values + raw codes).
//!
//! Throughput is in bytes of file data per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightlane::io::{open_stream_with, read_capture, ReadOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const SAMPLES: usize = 64 << 20;
/// Samples per stream chunk: small enough that the file buffer and the values stay in L2.
const CHUNK: usize = 1 << 16;

fn setup() -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join("lightlane-bench-io");
    std::fs::create_dir_all(&dir).unwrap();
    let raw = dir.join("capture_i16.bin");
    let npy = dir.join("capture_f32.npy");
    if std::fs::metadata(&raw).map(|m| m.len()).unwrap_or(0) != 2 * SAMPLES as u64 {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&raw).unwrap());
        for i in 0..SAMPLES {
            f.write_all(&(((i * 7919) % 4001) as i16 - 2000).to_le_bytes()).unwrap();
        }
        std::fs::write(dir.join("capture_i16.json"), r#"{"fs": 256e9, "dtype": "i16", "scale": 1e-4}"#).unwrap();
    }
    if !npy.exists() {
        let v: Vec<f32> = (0..SAMPLES).map(|i| (((i * 7919) % 4001) as f32 - 2000.0) * 1e-4).collect();
        lightlane::io::npy::write(&npy, &v).unwrap();
    }
    (raw, npy)
}

fn plain_read(p: &Path, buf: &mut [u8]) -> u64 {
    let mut f = std::fs::File::open(p).unwrap();
    let mut total = 0u64;
    loop {
        let n = f.read(buf).unwrap();
        if n == 0 {
            return total;
        }
        total += std::hint::black_box(n) as u64;
    }
}

fn bench(c: &mut Criterion) {
    let (raw, npy) = setup();
    let opts = ReadOptions { fs: Some(256e9), ..Default::default() };
    let mut g = c.benchmark_group("io");
    g.sample_size(10);
    for (name, path, bytes) in [("i16-raw", &raw, 2 * SAMPLES as u64), ("f32-npy", &npy, 4 * SAMPLES as u64)] {
        g.throughput(Throughput::Bytes(bytes));
        let mut buf = vec![0u8; 2 << 20];
        g.bench_function(BenchmarkId::new("plain-read", name), |b| b.iter(|| plain_read(path, &mut buf)));
        g.bench_function(BenchmarkId::new("stream", name), |b| {
            b.iter(|| {
                let mut s = open_stream_with(path, &opts, CHUNK).unwrap();
                let mut out = Vec::new();
                let mut acc = 0f32;
                while s.next_into(&mut out).unwrap() > 0 {
                    acc += out[out.len() / 2];
                }
                acc
            })
        });
        g.bench_function(BenchmarkId::new("read_capture", name), |b| b.iter(|| read_capture(path, &opts).unwrap().len()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
