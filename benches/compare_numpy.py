#!/usr/bin/env python3
"""FIR throughput: lightlane (every engine, one thread) against numpy.convolve(x, h, "valid")
on float32, measured on the same machine, in the same run, on the same samples.

Runs `cargo run --release -p lightlane-benches --bin fir_throughput`, which times each engine
(best of N) and writes its input, taps and fastest-engine output as raw f32; then times
numpy.convolve on those exact arrays (best of N), checks that numpy and lightlane agree, and
prints a table of samples/s and ratios. Exits 1 if the fastest engine is below --min-ratio
times numpy at 15 taps (the acceptance bar of the FIR/FFE work), or if the outputs disagree.

numpy comes from the running interpreter; if it is missing and the repository has a `.venv`,
the script re-runs itself with `.venv/bin/python`. To create one:
    python3 -m venv .venv && .venv/bin/pip install numpy
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchkit import best_of, require, run_bench

require("compare_numpy.py", ["numpy"], "numpy")
import numpy as np  # noqa: E402


def run_lightlane(samples: int, repeats: int, taps: list[int], data_dir: Path) -> list[dict]:
    return run_bench("fir_throughput", ["--samples", samples, "--repeats", repeats,
                                        "--taps", ",".join(map(str, taps)), "--write-dir", data_dir])


def time_numpy(x: np.ndarray, h: np.ndarray, repeats: int) -> float:
    return best_of(lambda: np.convolve(x, h, "valid"), repeats)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=1 << 20, help="input samples (default 1 Mi)")
    ap.add_argument("--repeats", type=int, default=15, help="runs per measurement; the best counts")
    ap.add_argument("--taps", default="5,15,31", help="comma-separated tap counts")
    ap.add_argument("--min-ratio", type=float, default=10.0,
                    help="required speed-up of the fastest engine over numpy at 15 taps")
    ap.add_argument("--json", action="store_true", help="also print one JSON line per row")
    args = ap.parse_args()
    taps = [int(t) for t in args.taps.split(",")]

    with tempfile.TemporaryDirectory(prefix="lightlane-fir-") as tmp:
        data_dir = Path(tmp)
        rows = run_lightlane(args.samples, args.repeats, taps, data_dir)
        x = np.fromfile(data_dir / "x.f32", dtype="<f4")
        numpy_rate, mismatches = {}, []
        for L in taps:
            h = np.fromfile(data_dir / f"h{L}.f32", dtype="<f4")
            y_rust = np.fromfile(data_dir / f"y{L}.f32", dtype="<f4")
            y_np = np.convolve(x, h, "valid")
            assert y_np.dtype == np.float32
            # f32 accumulation error bound of one output (|x| < 1): 2·(L+1)·eps·Σ|h|.
            tol = 2 * (L + 1) * np.finfo(np.float32).eps * float(np.abs(h).sum())
            err = float(np.max(np.abs(y_np.astype(np.float64) - y_rust))) if len(y_np) else 0.0
            if y_np.shape != y_rust.shape or err > tol:
                mismatches.append(f"{L} taps: max |numpy - lightlane| = {err:.3g} > {tol:.3g}")
            numpy_rate[L] = len(x) / time_numpy(x, h, args.repeats)

    print(f"FIR, float32, 'valid', {args.samples} samples, one thread, best of {args.repeats}"
          f" (numpy {np.__version__})")
    print(f"{'taps':>5} {'engine':>10} {'lightlane MSa/s':>16} {'numpy MSa/s':>12} {'ratio':>8}")
    for r in rows:
        ratio = r["samples_per_s"] / numpy_rate[r["taps"]]
        r["numpy_samples_per_s"], r["ratio_vs_numpy"] = numpy_rate[r["taps"]], ratio
        print(f"{r['taps']:>5} {r['engine']:>10} {r['samples_per_s'] / 1e6:>16.1f} "
              f"{numpy_rate[r['taps']] / 1e6:>12.1f} {ratio:>7.1f}x")
        if args.json:
            print(json.dumps(r))

    status = 0
    for m in mismatches:
        print("MISMATCH:", m)
        status = 1
    if 15 in taps:
        fastest = max((r for r in rows if r["taps"] == 15 and r["engine"] != "ffe"),
                      key=lambda r: r["samples_per_s"])
        ok = fastest["ratio_vs_numpy"] >= args.min_ratio
        print(f"15 taps: {fastest['engine']} is {fastest['ratio_vs_numpy']:.1f}x numpy.convolve "
              f"(required >= {args.min_ratio:g}x): {'PASS' if ok else 'FAIL'}")
        status |= 0 if ok else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
