#!/usr/bin/env python3
"""Eye histogram: lightlane (one core, 256x256 bins, 2 UI) against numpy.histogram2d on the same
data, in the same run. Two comparisons, both on the same points and the same bins:

1. `points` (the like-for-like one): the signal at 128 samples/UI, so the 256 time bins over
   2 UI are one bin per sample (m = 1): lightlane counts every sample once (no interpolation),
   numpy.histogram2d bins the same (time bin centre, amplitude) points.
2. `interp`: the signal at 32 samples/UI, m = 4 interpolated columns per sample interval:
   lightlane interpolates (its eye mode); numpy cannot, so it is handed the 4 interpolated points
   per sample interval already built (building them is NOT timed, which favours numpy).

Per case: runs `eye_throughput --write-dir` (release), loads its signal and counts, times
numpy.histogram2d (best of N; on-CPU time of the thread, time.thread_time, as lightlane's
figure is the thread's on-CPU time: the machine may be shared), checks that the two histograms
agree (same total; at most 0.5 % of counts in different bins, from float edge rounding), and
prints input samples/s and the ratio. Exits 1 when a ratio is below --min-ratio (default 20).

numpy: the running interpreter's, or `.venv/bin/python` of the repository (python3 -m venv .venv
&& .venv/bin/pip install numpy).
"""
import argparse, json, sys, tempfile, time
from pathlib import Path

from benchkit import best_of, require, run_bench

require("compare_numpy_hist.py", ["numpy"], "numpy")
import numpy as np  # noqa: E402


def run_case(name: str, sps: int, args) -> tuple[bool, float]:
    with tempfile.TemporaryDirectory() as d:
        out = run_bench("eye_throughput", ["--symbols", args.symbols * 32 // sps, "--repeats", args.repeats,
                                           "--samples-per-ui", sps, "--write-dir", d, "--skip-tdecq"], args.binary)
        rows = {r["engine"]: r for r in out}
        y = np.fromfile(Path(d) / "y.f32", dtype="<f4")
        ours = np.fromfile(Path(d) / "counts.u32", dtype="<u4")
        g = json.loads((Path(d) / "geometry.json").read_text())
    s, u, b, a = g["samples_per_ui"], g["span_ui"], g["time_bins"], g["amp_bins"]
    p = s * u
    m = b // p
    k = np.arange(len(y) - 1)
    j = np.arange(m)
    cols = ((k % p) * m)[:, None] + j[None, :]
    vals = y[:-1, None] + (y[1:, None] - y[:-1, None]) * (j[None, :] / m)
    cols = (cols + 0.5).ravel().astype(np.float64)
    vals = vals.ravel().astype(np.float64)
    rng = [[0, b], [g["lo"], g["hi"]]]
    best = best_of(lambda: np.histogram2d(cols, vals, bins=[b, a], range=rng), args.repeats, time.thread_time)
    h, _, _ = np.histogram2d(cols, vals, bins=[b, a], range=rng)
    theirs = h.T.astype(np.int64).ravel()  # rows = amplitude, as lightlane
    diff = np.abs(theirs - ours.astype(np.int64)).sum() / 2
    total = ours.sum()
    np_rate = (len(y) - 1) / best
    ll = rows["fast-1t"]["samples_per_s"]
    print(f"== {name}: {len(y)} samples at {s} samples/UI, {m} point(s) per sample interval, {b}x{a} bins")
    print(f"{'engine':<22} {'samples/s':>12} {'points/s':>12} {'ratio':>8}")
    print(f"{'numpy.histogram2d':<22} {np_rate:12.3e} {np_rate * m:12.3e} {1.0:8.2f}")
    for e in ("naive-1t", "fast-1t", "fast-mt"):
        r = rows[e]["samples_per_s"]
        print(f"{'lightlane ' + e:<22} {r:12.3e} {r * m:12.3e} {r / np_rate:8.2f}")
    print(f"counts: lightlane {total}, numpy {theirs.sum()}, moved {diff:.0f} ({100 * diff / max(total, 1):.3f} %)")
    ok = abs(int(theirs.sum()) - int(total)) <= 0.001 * total and diff <= 0.005 * total
    if not ok:
        print("FAIL: histograms disagree")
    return ok, ll / np_rate


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=1 << 17, help="symbols at 32 samples/UI (scaled to keep the sample count)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--min-ratio", type=float, default=20.0)
    ap.add_argument("--binary", help="an already built eye_throughput to run instead of `cargo run --release`")
    args = ap.parse_args()
    status = 0
    for name, sps in (("points (no interpolation)", 128), ("interp (4 columns per sample interval)", 32)):
        ok, ratio = run_case(name, sps, args)
        print(f"single-core ratio (on-CPU time): {ratio:.1f}")
        if not ok:
            status = 1
        elif ratio < args.min_ratio:
            print(f"FAIL: single-core ratio {ratio:.1f} < {args.min_ratio}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
