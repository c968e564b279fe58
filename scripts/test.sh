#!/usr/bin/env bash
# Every test of lightlane, on a fresh machine: installs what it needs, then runs the Rust
# workspace tests (unit, property, golden, CLI, doc) and the Python cross-checks.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Python test environment: numpy/scipy/galois for the cross-checks, maturin to build the
# lightlane wheel, pandas/matplotlib/dask/nbclient for the package tests, mypy for stubtest.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check maturin numpy scipy galois pytest \
  pandas matplotlib dask distributed nbclient nbformat ipykernel mypy

echo "== GPU engine: Mesa's CPU Vulkan driver (lavapipe), required"
# The GPU tests run every WGSL kernel on lavapipe; LIGHTLANE_REQUIRE_GPU=1 makes a missing
# adapter a failure instead of a skip.
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -q && $sudo_ apt-get install -y -q mesa-vulkan-drivers
fi
export LIGHTLANE_REQUIRE_GPU=1
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# Criterion benches run once in test mode: keep the GPU bench small on lavapipe.
export LIGHTLANE_BENCH_SAMPLES="${LIGHTLANE_BENCH_SAMPLES:-65536}"

echo "== cargo test (workspace)"
# A one-off build (CI) gains nothing from incremental caches, which took ~7 GB.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
df -h . | awk 'NR==2 {print "disk: " $4 " free before the build"}'
cargo test --workspace --all-targets --no-fail-fast
cargo test --workspace --doc

echo "== python cross-checks"
# The CLI: the binary `cargo test --workspace --all-targets` built above (test profile,
# opt-level 2) for the CLI's own tests. A separate optimised build of it compiled the whole
# dependency tree (wgpu included) once more, and, with other features unified than the wheel's
# (`-p lightlane-cli` vs `-p lightlane-py`), lightlane-core a third time.
export LIGHTLANE_BIN="$root/target/debug/lightlane"
if [ ! -x "$LIGHTLANE_BIN" ]; then echo "missing $LIGHTLANE_BIN (built by cargo test --workspace --all-targets)" >&2; exit 1; fi
# The Python package: one optimised wheel, installed into .venv; pytest and stubtest then use
# the installed copy.
rm -f target/wheels/lightlane-*.whl
(cd python && "$root/.venv/bin/maturin" build --profile test-bin --out "$root/target/wheels" >/dev/null)
.venv/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps target/wheels/lightlane-*.whl
(cd "$root/target" && "$root/.venv/bin/python" -m mypy.stubtest lightlane \
  --mypy-config-file "$root/python/pyproject.toml" --allowlist "$root/python/stubtest_allowlist.txt")
set +e
.venv/bin/python -m pytest -q python/tests
rc=$?
set -e
# pytest exit 5 = no tests collected: not a failure of the suite itself.
if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then exit "$rc"; fi
echo "all tests passed"
