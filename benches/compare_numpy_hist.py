#!/usr/bin/env python3
"""Eye histogram: lightlane (one core, 256x256 bins) against numpy.histogram2d on the same data,
in the same run. Runs `eye_throughput --write-dir` (release), loads its signal, builds the same
interpolated points the canonical algorithm bins (4 columns per sample interval; building them is
NOT timed, which favours numpy), times numpy.histogram2d on them (best of N), checks that the two
histograms agree (same total; at most 0.5 % of counts in different bins, from float edge
rounding), and prints samples/s and the ratio. Exits 1 below --min-ratio (default 20).

numpy: the running interpreter's, or `.venv/bin/python` of the repository (python3 -m venv .venv
&& .venv/bin/pip install numpy).
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
ROOT = Path(__file__).resolve().parent.parent
try:
    import numpy as np
except ImportError:
    venv = ROOT / ".venv" / "bin" / "python"
    if venv.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        os.execv(str(venv), [str(venv), *sys.argv])
    sys.exit("compare_numpy_hist.py needs numpy (python3 -m venv .venv && .venv/bin/pip install numpy)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=1 << 17)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--min-ratio", type=float, default=20.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        cmd = ["cargo", "run", "--quiet", "--release", "-p", "lightlane-benches", "--bin", "eye_throughput", "--",
               "--symbols", str(args.symbols), "--repeats", str(args.repeats), "--write-dir", d, "--skip-tdecq"]
        out = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
        rows = {r["engine"]: r for r in (json.loads(l) for l in out.splitlines() if l.startswith("{"))}
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
    np.histogram2d(cols[:1000], vals[:1000], bins=[b, a], range=rng)
    best = float("inf")
    for _ in range(args.repeats):
        t = time.perf_counter()
        h, _, _ = np.histogram2d(cols, vals, bins=[b, a], range=rng)
        best = min(best, time.perf_counter() - t)
    theirs = h.T.astype(np.int64).ravel()  # rows = amplitude, as lightlane
    diff = np.abs(theirs - ours.astype(np.int64)).sum() / 2
    total = ours.sum()
    np_rate = (len(y) - 1) / best
    ll = rows["fast-1t"]["samples_per_s"]
    print(f"{'engine':<22} {'samples/s':>12} {'ratio':>8}")
    print(f"{'numpy.histogram2d':<22} {np_rate:12.3e} {1.0:8.2f}")
    for e in ("naive-1t", "fast-1t", "fast-mt"):
        print(f"{'lightlane ' + e:<22} {rows[e]['samples_per_s']:12.3e} {rows[e]['samples_per_s'] / np_rate:8.2f}")
    print(f"counts: lightlane {total}, numpy {theirs.sum()}, moved {diff:.0f} ({100 * diff / max(total, 1):.3f} %)")
    ok = abs(int(theirs.sum()) - int(total)) <= 0.001 * total and diff <= 0.005 * total
    if not ok:
        print("FAIL: histograms disagree")
        return 1
    if ll / np_rate < args.min_ratio:
        print(f"FAIL: single-core ratio {ll / np_rate:.1f} < {args.min_ratio}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
