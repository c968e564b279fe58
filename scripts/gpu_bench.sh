#!/usr/bin/env bash
# Builds the GPU engine's release test and bench binaries into .gpu-bundle/ (git-ignored) with a
# runner, for a GPU machine that has no Rust toolchain. On that machine, from the repo root:
#   bash .gpu-bundle/run.sh            # conformance tests on the GPU, then the results table and
#                                      # the per-stage table of the end-to-end run
# Vulkan loader: if the machine lacks libvulkan, put the loader .debs in .gl/ (see
# /work/.library/device/README.md: `apt-get download libvulkan1 ...` into .gl) and carry .gl;
# run.sh unpacks them. Sizes: LIGHTLANE_BENCH_SAMPLES (default 2^26), LIGHTLANE_BENCH_REPS.
# LIGHTLANE_CRITERION=1 (here and for run.sh) adds the criterion bench of every kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-bundle
# Cargo profile (release for real measurements; LIGHTLANE_BUNDLE_PROFILE=test gives a quick
# local smoke test of the bundle on lavapipe with the already-built test profile).
profile="${LIGHTLANE_BUNDLE_PROFILE:-release}"
case "$profile" in release) dir=target/release ;; test | dev) dir=target/debug ;; *) dir="target/$profile" ;; esac
rm -rf "$out" && mkdir -p "$out"
# Test binaries of lightlane-gpu (release: the timings are the point).
cargo test --profile "$profile" -p lightlane-gpu --no-run --message-format=json 2>/dev/null \
  | python3 -c '
import json, sys, shutil
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] not in (["bin"], ["example"]):
        name = m["target"]["name"]
        shutil.copy(m["executable"], sys.argv[1] + "/test_" + name)
        print("bundled test", name)
' "$out"
cargo build --profile "$profile" -p lightlane-benches --bin gpu_bench
cp "$dir/gpu_bench" "$out/"
# Per-stage table (CPU engine vs GPU engine, stage by stage) of the end-to-end capture.
cargo build --profile "$profile" -p lightlane-gpu --example gpu_stages
cp "$dir/examples/gpu_stages" "$out/"
# The criterion bench only when asked for (LIGHTLANE_CRITERION=1 here and in run.sh): it adds
# about a minute of device time. With symbols stripped the bundle, criterion included, fits the
# GPU machine's 64 MiB transfer limit beside the working tree.
if [ "${LIGHTLANE_CRITERION:-0}" = 1 ]; then
  cargo bench --profile "$profile" -p lightlane-benches --bench gpu --no-run --message-format=json 2>/dev/null \
    | python3 -c '
import json, sys, shutil
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "gpu":
        shutil.copy(m["executable"], sys.argv[1] + "/bench_gpu"); print("bundled criterion bench gpu")
' "$out"
fi
# Strip symbols and debug info, then gzip: the bundle must fit the GPU machine's 64 MiB
# transfer limit with the loader packages beside it (stripped, the binaries came to 62 MiB with
# the criterion bench; gzipped, 25 MiB). run.sh unpacks them. Panic messages still name their
# file and line.
for f in "$out"/*; do strip --strip-all "$f" 2>/dev/null || true; gzip -9 "$f"; done
cp scripts/gpu_bench_run.sh "$out/run.sh"
chmod +x "$out/run.sh"
du -sh "$out"
echo "bundle ready: $out (run: bash $out/run.sh)"
