"""Overhead of calling the FFE from Python against the Rust benchmark, measured in one run.

Runs `fir_throughput` (benches/src/bin, single thread, best of R) on 2^20 samples with 15 taps
and times `lightlane.eq.Ffe.equalize` on exactly the same samples and taps (the binary writes
them with --write-dir), interleaving Rust and Python rounds so that machine load hits both
alike. Prints one JSON line per measurement and the ratios.

Usage: python python/benchmarks/ffe_overhead.py [--bin target/test-bin/fir_throughput]
       [--rounds 5] [--repeats 15]
Build the binary with the same profile as the wheel:
    cargo build -p lightlane-benches --bin fir_throughput --profile test-bin
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import lightlane as ll

REPO = Path(__file__).resolve().parents[2]


def best_of(repeats: int, f) -> tuple[float, float]:
    """(best wall seconds, best thread-CPU seconds) of `repeats` calls after one warm-up."""
    f()
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        c0, t0 = time.thread_time(), time.perf_counter()
        f()
        t1, c1 = time.perf_counter(), time.thread_time()
        wall, cpu = min(wall, t1 - t0), min(cpu, c1 - c0)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "target" / "test-bin" / "fir_throughput"))
    ap.add_argument("--samples", type=int, default=1 << 20)
    ap.add_argument("--taps", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()

    rust_best = float("inf")
    py = {"out": [float("inf"), float("inf")], "alloc": [float("inf"), float("inf")]}
    with tempfile.TemporaryDirectory() as d:
        for r in range(a.rounds):
            args = [a.bin, "--samples", str(a.samples), "--taps", str(a.taps), "--repeats", str(a.repeats)]
            if r == 0:
                args += ["--write-dir", d]
            out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
            line = next(json.loads(s) for s in out.splitlines() if '"engine":"ffe"' in s)
            rust_best = min(rust_best, line["seconds"])
            if r == 0:
                x = np.fromfile(Path(d) / "x.f32", dtype="<f4")
                h = np.fromfile(Path(d) / f"h{a.taps}.f32", dtype="<f4")
                ffe = ll.eq.Ffe(h, reference_tap=a.taps // 4)
                y = np.empty(len(x), np.float32)
                # Same numbers as the Rust FIR engines (the FFE is a FIR with zero padding).
                ref = np.convolve(x.astype(np.float64), h.astype(np.float64))[a.taps // 4 : a.taps // 4 + len(x)]
                assert np.allclose(ffe.equalize(x), ref, atol=1e-4)
            for key, fn in (("out", lambda: ffe.equalize(x, out=y)), ("alloc", lambda: ffe.equalize(x))):
                w, c = best_of(a.repeats, fn)
                py[key][0], py[key][1] = min(py[key][0], w), min(py[key][1], c)
    n = a.samples
    print(json.dumps({"what": "rust fir_throughput ffe", "seconds": rust_best, "samples_per_s": n / rust_best}))
    for key, (w, c) in py.items():
        print(json.dumps({
            "what": f"python Ffe.equalize ({'out=' if key == 'out' else 'allocating'})",
            "seconds": w, "thread_cpu_seconds": c, "samples_per_s": n / w,
            "ratio_to_rust": w / rust_best,
        }))


if __name__ == "__main__":
    main()
