#!/usr/bin/env python3
"""KP4 decoding throughput: lightlane (Rust, one core) versus galois, same machine, same run.

    python3 benches/compare_galois.py [--codewords 20000] [--galois-codewords 2000] [--ber 2.4e-4]

1. Runs `cargo run --release -p lightlane-benches --bin fec_throughput` (single-core and
   all-core decoding of seeded random KP4 codewords with independent bit errors at the given
   pre-FEC BER), which also writes those corrupted codewords to a temporary file.
2. Decodes the first --galois-codewords of the same words with galois (shortened
   RS(1023,993) over GF(2^10), p(x) = x^10+x^3+1, c = 0), single-threaded, after a warm-up
   call that triggers the numba compilation, and checks that galois and lightlane agree on
   which words are uncorrectable.
3. Prints a table of payload throughput (514 x 10 = 5140 bits per codeword) and the ratios.

Single-thread rates use thread/process CPU time (the machine may be shared with other work);
wall time is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import run_bench

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
N, K = 544, 514
PAYLOAD_BITS = K * 10


def run_rust(codewords: int, ber: float, words_file: Path, reps: int) -> dict:
    rows = run_bench("fec_throughput", ["--code", "kp4", "--ber", ber, "--codewords", codewords, "--reps", reps,
                                        "--write-words", words_file])
    return rows[-1]


def run_galois(words: np.ndarray) -> tuple[float, float, np.ndarray]:
    import galois

    gf = galois.GF(2**10, irreducible_poly=0x409, primitive_element=2)
    rs = galois.ReedSolomon(1023, 993, field=gf, c=0)
    rs.decode(gf(words[:4].astype(np.int64)), errors=True)  # JIT warm-up, not timed
    x = gf(words.astype(np.int64))
    c0, w0 = time.process_time(), time.perf_counter()
    _, nerr = rs.decode(x, errors=True)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return cpu, wall, np.asarray(nerr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--codewords", type=int, default=20000)
    ap.add_argument("--galois-codewords", type=int, default=2000)
    ap.add_argument("--ber", type=float, default=2.4e-4)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        words_file = Path(tmp) / "words.u16"
        rust = run_rust(args.codewords, args.ber, words_file, args.reps)
        words = np.fromfile(words_file, dtype="<u2").reshape(-1, N)
    g_count = min(args.galois_codewords, len(words))
    g_cpu, g_wall, g_nerr = run_galois(words[:g_count])
    g_gbps = g_count * PAYLOAD_BITS / g_cpu / 1e9

    # Agreement on the timed subset: decode the same words with the lightlane CLI.
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "lightlane-cli"], cwd=REPO, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "sub.u16"
        words[:g_count].astype("<u2").tofile(sub)
        subprocess.run(
            [str(REPO / "target/release/lightlane"), "fec", "decode", "--code", "kp4", str(sub),
             str(Path(tmp) / "dec.u16"), "--json", str(Path(tmp) / "sum.json")],
            check=True, capture_output=True,
        )
        summary = json.loads((Path(tmp) / "sum.json").read_text())
    agree = (
        set(summary["uncorrectable_indices"]) == set(np.flatnonzero(g_nerr < 0).tolist())
        and summary["corrected_symbols"] == int(g_nerr[g_nerr > 0].sum())
    )

    print(f"KP4 RS(544,514) decoding, pre-FEC BER {args.ber:g} (measured {rust['measured_ber']:.3e}), "
          f"{rust['codewords']} codewords for lightlane, {g_count} for galois")
    print(f"codewords: {rust['clean']} clean, {rust['corrected']} corrected, {rust['uncorrectable']} uncorrectable")
    print(f"galois and lightlane agree on the {g_count} galois-decoded words: {'yes' if agree else 'NO'}")
    print()
    print("| engine | threads | payload Gb/s | codewords/s | time basis | vs galois |")
    print("|---|---|---|---|---|---|")
    for r in rust["results"]:
        basis = "thread CPU" if r["threads"] == 1 and r.get("cpu_seconds") is not None else "wall"
        print(f"| lightlane {r['engine']} | {r['threads']} | {r['payload_gbps']:.3f} | {r['codewords_per_s']:.0f} "
              f"| {basis} | {r['payload_gbps'] / g_gbps:.0f}x |")
    print(f"| galois {galois_version()} | 1 | {g_gbps:.6f} | {g_count / g_cpu:.0f} | process CPU "
          f"(wall {g_wall:.2f} s) | 1x |")
    return 0 if agree else 1


def galois_version() -> str:
    import galois

    return galois.__version__


if __name__ == "__main__":
    sys.exit(main())
