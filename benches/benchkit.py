"""What the compare_*.py scripts share: numeric libraries on one thread, the re-run under the
repository's `.venv` when a library is missing, running a lightlane throughput binary, and
best-of timing on a chosen clock.

The scripts import it as a sibling module (`python3 benches/compare_x.py` puts `benches/` first
on sys.path).
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent

# The comparisons are one core against one core: keep any BLAS/OpenMP/numba pool on one thread.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def require(script: str, modules: Sequence[str], pip: str) -> None:
    """Imports `modules`; when one is missing, re-runs the calling script under the repository's
    `.venv/bin/python` if there is one (and this is not it), else exits with how to make it."""
    try:
        for m in modules:
            importlib.import_module(m)
    except ImportError:
        venv = ROOT / ".venv" / "bin" / "python"
        if venv.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
            os.execv(str(venv), [str(venv), *sys.argv])
        sys.exit(f"{script} needs {pip}. Create a venv with:\n  cd {ROOT} && python3 -m venv .venv && .venv/bin/pip install {pip}")


def run_bench(binary: str, args: Sequence[str], exe: str | None = None) -> list[dict]:
    """Runs the throughput binary `binary` of lightlane-benches (through `cargo run --release`,
    or the already built executable `exe`) with `args`; returns its JSON lines."""
    cmd = [exe] if exe else ["cargo", "run", "--quiet", "--release", "-p", "lightlane-benches", "--bin", binary, "--"]
    out = subprocess.run([*cmd, *map(str, args)], cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def best_of(f: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Smallest `clock` time of `repeats` calls of `f`, after one warm-up call."""
    f()
    best = float("inf")
    for _ in range(max(1, repeats)):
        t = clock()
        f()
        best = min(best, clock() - t)
    return best
