#!/usr/bin/env bash
# Runner of the GPU bundle built by scripts/gpu_bench.sh (copied there as run.sh). Needs no
# Rust toolchain. Runs the conformance tests on the machine's GPU (failing if there is no
# adapter), then prints ONE table: kernel rates vs the issue-7 targets, and the per-stage table
# of the end-to-end capture (CPU engine vs GPU engine).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# Vulkan loader from .gl/*.deb when the machine has none (device README recipe).
if ! ldconfig -p | grep -q libvulkan.so.1; then
  if ls "$root"/.gl/*.deb >/dev/null 2>&1; then
    for f in "$root"/.gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    echo "warning: no libvulkan and no .gl/*.deb loader packages" >&2
  fi
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
# The binaries travel gzipped (scripts/gpu_bench.sh): unpacked into a scratch folder.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
for f in "$here"/*.gz; do
  [ -e "$f" ] || continue
  b="$bin/$(basename "$f" .gz)"
  gzip -dc "$f" > "$b" && chmod +x "$b" || { echo "cannot unpack $f" >&2; exit 1; }
done
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
export LIGHTLANE_REQUIRE_GPU=1
# Host facts that the readback rates depend on (page faults, transparent huge pages).
echo "host: $(nproc) cores, kernel $(uname -r), THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown), defrag $(cat /sys/kernel/mm/transparent_hugepage/defrag 2>/dev/null || echo unknown)"
# Each step has a time limit (seconds; LIGHTLANE_STEP_LIMIT overrides all), so that one hung
# step (a lost device, a driver stall) does not use up a lent machine's whole budget: the steps
# after it still run and print.
limit() { local s=$1; shift; timeout -k 10 "${LIGHTLANE_STEP_LIMIT:-$s}" "$@"; local r=$?; [ $r -eq 124 ] && echo "TIMED OUT after ${LIGHTLANE_STEP_LIMIT:-$s} s: $(basename "$1")" >&2; return $r; }
rc=0
for t in "$bin"/test_*; do
  echo "== $(basename "$t")"
  limit 180 "$t" -q || rc=1
done
echo "== results"
limit 300 "$bin/gpu_bench" || rc=1
echo "== stages (end-to-end capture, CPU engine vs GPU engine)"
limit 180 "$bin/gpu_stages" || rc=1
if [ "${LIGHTLANE_CRITERION:-0}" = 1 ]; then
  if [ -x "$bin/bench_gpu" ]; then
    limit 300 "$bin/bench_gpu" --bench --warm-up-time 1 --measurement-time 3 || rc=1
  else
    echo "LIGHTLANE_CRITERION=1 but the bundle has no bench_gpu (build it with LIGHTLANE_CRITERION=1 bash scripts/gpu_bench.sh)" >&2
    rc=1
  fi
fi
exit $rc
