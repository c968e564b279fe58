//! Single-core and multi-core KP4/KR4 decoding throughput at a given pre-FEC BER, printed as
//! JSON (read by `benches/compare_galois.py`).
//!
//! ```text
//! cargo run --release -p lightlane-benches --bin fec_throughput -- [--code kp4|kr4]
//!     [--ber 2.4e-4] [--codewords 20000] [--reps 5] [--seed 1]
//!     [--fast-only]          # only the fastest engine (for profiling)
//!     [--write-words FILE]   # also write the corrupted codewords (raw LE u16) for galois
//! ```
//!
//! Payload throughput counts the k·10 = 5140 message bits per codeword.

use lightlane::fec::{DecodeOutcome, DecodeScratch, ReedSolomon, RsCode, SimdLevel};
use lightlane_benches::fec_data::corrupted_codewords;
use lightlane_benches::harness::{thread_cpu_seconds, Args};
use std::time::Instant;

const USAGE: &str = "[--code kp4|kr4] [--ber 2.4e-4] [--codewords 20000] [--reps 5] [--seed 1] [--fast-only] [--write-words FILE]";

/// The run's settings from the command line.
struct Settings {
    code: RsCode,
    ber: f64,
    codewords: usize,
    reps: usize,
    seed: u64,
    write_words: Option<String>,
    fast_only: bool,
}

fn parse() -> Settings {
    let args = Args::parse("fec_throughput", USAGE, &["--code", "--ber", "--codewords", "--reps", "--seed", "--write-words"], &["--fast-only"]);
    let code = match args.string("--code") {
        None => RsCode::Kp4,
        Some(c) => c.parse().unwrap_or_else(|e| args.fail(&format!("{e}"))),
    };
    let a = Settings {
        code,
        ber: args.get("--ber", 2.4e-4),
        codewords: args.get("--codewords", 20_000),
        reps: args.get("--reps", 5),
        seed: args.get("--seed", 1),
        write_words: args.string("--write-words"),
        fast_only: args.flag("--fast-only"),
    };
    if !(0.0..0.5).contains(&a.ber) || a.codewords == 0 || a.reps == 0 {
        args.fail("need 0 <= ber < 0.5, codewords > 0, reps > 0");
    }
    a
}

/// Best-of-`reps` (wall seconds, thread-CPU seconds) for decoding a fresh copy of `words`.
fn time_best(words: &[u16], reps: usize, mut run: impl FnMut(&mut [u16])) -> (f64, f64) {
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    let mut buf = words.to_vec();
    for _ in 0..reps {
        buf.copy_from_slice(words);
        let c0 = thread_cpu_seconds();
        let t0 = Instant::now();
        run(&mut buf);
        let w = t0.elapsed().as_secs_f64();
        wall = wall.min(w);
        cpu = cpu.min(match (c0, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => w,
        });
    }
    (wall, cpu)
}

fn entry(engine: &str, threads: usize, wall: f64, cpu: Option<f64>, payload_bits: f64, count: usize) -> String {
    // Single-thread rates use thread CPU time; multi-thread rates use wall time.
    let t = cpu.unwrap_or(wall);
    let cpu_json = cpu.map_or("null".to_string(), |c| format!("{c:.6}"));
    format!(
        "{{\"engine\":\"{engine}\",\"threads\":{threads},\"wall_seconds\":{wall:.6},\"cpu_seconds\":{cpu_json},\"payload_gbps\":{:.4},\"codewords_per_s\":{:.1}}}",
        payload_bits / t / 1e9,
        count as f64 / t
    )
}

fn main() {
    let a = parse();
    let code = a.code;
    let n = code.n();
    let (words, _clean, injected_bits) = corrupted_codewords(code, a.codewords, a.ber, a.seed);
    if let Some(path) = &a.write_words {
        let bytes: Vec<u8> = words.iter().flat_map(|v| v.to_le_bytes()).collect();
        if let Err(e) = std::fs::write(path, bytes) {
            eprintln!("fec_throughput: cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
    let payload_bits = (a.codewords * code.k() * 10) as f64;
    let mut outs = vec![DecodeOutcome::Clean; a.codewords];
    let mut results = Vec::new();
    for level in SimdLevel::available() {
        if a.fast_only && level != SimdLevel::detect() {
            continue;
        }
        let rs = ReedSolomon::with_simd(code, level).expect("available level");
        let mut scratch = DecodeScratch::new(code);
        let (w, c) = time_best(&words, a.reps, |buf| {
            rs.decode_batch_serial(buf, &mut outs, &mut scratch).expect("valid words")
        });
        results.push(entry(&format!("{level:?}"), 1, w, Some(c), payload_bits, a.codewords));
    }
    let rs = ReedSolomon::new(code);
    let threads = rayon::current_num_threads();
    let (w, _) = time_best(&words, a.reps, |buf| rs.decode_batch(buf, &mut outs).expect("valid words"));
    results.push(entry(&format!("{:?}", rs.simd_level()), threads, w, None, payload_bits, a.codewords));
    // Single-codeword API (scalar split-table syndromes), one core.
    let (w, c) = if a.fast_only { (f64::NAN, f64::NAN) } else {
        time_best(&words, a.reps.min(2), |buf| {
        for cw in buf.chunks_mut(n) {
            rs.decode(cw, &[]).expect("valid word");
        }
    })
    };
    results.push(entry("single-codeword-api", 1, w, Some(c), payload_bits, a.codewords));
    let hist = outs.iter().fold([0u64; 3], |mut h, o| {
        match o {
            DecodeOutcome::Clean => h[0] += 1,
            DecodeOutcome::Corrected { .. } => h[1] += 1,
            DecodeOutcome::Uncorrectable => h[2] += 1,
        }
        h
    });
    let corrected_symbols: u64 = outs.iter().map(|o| o.corrected_symbols() as u64).sum();
    println!(
        "{{\"code\":\"{code}\",\"ber\":{},\"codewords\":{},\"injected_bit_errors\":{injected_bits},\"measured_ber\":{:.4e},\"clean\":{},\"corrected\":{},\"uncorrectable\":{},\"corrected_symbols\":{corrected_symbols},\"results\":[{}]}}",
        a.ber,
        a.codewords,
        injected_bits as f64 / (a.codewords * n * 10) as f64,
        hist[0],
        hist[1],
        hist[2],
        results.join(",")
    );
}
