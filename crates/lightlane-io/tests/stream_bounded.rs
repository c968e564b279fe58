//! A ~200 MB capture streams through bounded buffers: the peak allocation while reading it
//! chunk by chunk stays near one chunk, whatever the file size.

mod common;

use lightlane_io::{open_stream_with, ReadOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn note(d: isize) {
    let v = CURRENT.fetch_add(d, Ordering::Relaxed) + d;
    PEAK.fetch_max(v, Ordering::Relaxed);
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
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        note(new as isize - l.size() as isize);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn code(i: u64) -> i16 {
    ((i.wrapping_mul(2654435761) >> 7) % 4001) as i16 - 2000
}

#[test]
fn two_hundred_megabytes_with_bounded_buffers() {
    let d = common::tmpdir("stream");
    let data = d.join("big.bin");
    let n: u64 = 100 << 20; // 100 Mi int16 samples = 200 MiB
    {
        let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&data).unwrap());
        let mut block = Vec::with_capacity(1 << 20);
        for start in (0..n).step_by(1 << 19) {
            block.clear();
            for i in start..(start + (1 << 19)).min(n) {
                block.extend_from_slice(&code(i).to_le_bytes());
            }
            f.write_all(&block).unwrap();
        }
    }
    std::fs::write(d.join("big.json"), r#"{"fs": 256e9, "dtype": "i16", "scale": 1e-4, "offset": 0.0}"#).unwrap();
    let chunk = 1 << 20;
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let s = open_stream_with(&data, &ReadOptions::default(), chunk).unwrap();
    assert_eq!(s.len(), n);
    let (mut count, mut sum, mut lo, mut hi) = (0u64, 0f64, f32::MAX, f32::MIN);
    for c in s {
        let c = c.unwrap();
        assert_eq!(c.first, count);
        // Spot-check one value per chunk against the generator.
        let k = (c.first * 7919) % c.samples.len() as u64;
        assert_eq!(c.samples[k as usize], (code(c.first + k) as f64 * 1e-4) as f32);
        count += c.samples.len() as u64;
        for &v in &c.samples {
            sum += v as f64;
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let peak = (PEAK.load(Ordering::Relaxed) - before) as usize;
    std::fs::remove_file(&data).unwrap();
    assert_eq!(count, n);
    assert!((lo + 0.2).abs() < 1e-6 && (hi - 0.2).abs() < 1e-6, "{lo} {hi}");
    assert!(sum.is_finite());
    // One chunk: 2 MiB of file bytes, 4 MiB of f32 and 2 MiB of codes, plus small change.
    let bound = chunk * (2 + 4 + 2) + (1 << 20);
    eprintln!("streamed {} MiB with a peak of {:.1} MiB allocated", (2 * n) >> 20, peak as f64 / (1 << 20) as f64);
    assert!(peak <= bound, "peak {peak} > {bound}");
}
