#!/usr/bin/env bash
# Fuzzes every capture reader for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# 1. When cargo-fuzz is installed (`cargo install cargo-fuzz`), each libFuzzer target in fuzz/
#    runs for SECONDS_PER_TARGET (default 60) seconds, seeded from generated files and, when
#    ../shared/captures exists, from the small reference captures. RUSTC_BOOTSTRAP=1 lets a
#    stable toolchain accept the nightly flags cargo-fuzz passes. -malloc_limit_mb makes any
#    single allocation above 256 MiB a failure (inputs are at most 64 KiB).
# 2. Always: the seeded in-test mutation run (tests/fuzz_seeded.rs), which also bounds the
#    total allocation per input.
set -euo pipefail
SECS="${1:-60}"
shift || true
cd "$(dirname "$0")/.."
ALL=(lecroy tek keysight csv npy_npz mat densev1 raw_sidecar touchstone detect)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi
CAPS="${LIGHTLANE_CAPTURES:-../shared/captures}"

seed() { # seed TARGET FILE...
  local dir="fuzz/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -f "$f" "$dir/" || true; done
}

if cargo fuzz --help >/dev/null 2>&1; then
  seed lecroy "$CAPS/lecroy_trc/pulse_sequence.trc" "$CAPS/lecroy_trc/header_only_truncated.trc"
  seed tek "$CAPS/tek_wfm/golden_analog.wfm" "$CAPS/tek_wfm/sample_ff1_fastframe5.wfm"
  seed keysight "$CAPS/keysight_bin/DSO81204B_points10.bin" "$CAPS/keysight_bin/DSOX1102G_dual.bin"
  seed detect "$CAPS/tek_wfm/golden_analog.wfm" "$CAPS/keysight_bin/DSO81204B_points10.bin" "$CAPS/lecroy_trc/pulse_sequence.trc"
  # Seeds lightlane writes itself, so the binary targets start from valid files without captures.
  LIGHTLANE_FUZZ_SEEDS="$PWD/fuzz/corpus" cargo test -q -p lightlane-io --test fuzz_seeded write_seed_corpus -- --ignored >/dev/null
  mkdir -p fuzz/corpus/csv fuzz/corpus/touchstone fuzz/corpus/densev1 fuzz/corpus/raw_sidecar fuzz/corpus/npy_npz fuzz/corpus/mat
  printf 'Time,CH1\n0,0.1\n1e-9,0.2\n2e-9,0.3\n' > fuzz/corpus/csv/generic.csv
  printf '# GHz S RI R 50\n1 0.1 0 0.9 0 0.9 0 0.1 0\n2 0.1 0 0.8 0 0.8 0 0.1 0\n' > fuzz/corpus/touchstone/a.s2p
  printf 'waveforms:\n  wfm1:\n    id: 1\n    channels:\n      ch3s0:\n        format: densev1\n        index: 3\n        stream: 0\n        timescale: 25000\n        trigphase: 11336\n\0\0\0\0\0\0\0\200\77' > fuzz/corpus/densev1/a
  printf '{"fs": 1e9, "dtype": "i16", "scale": 0.001}\0\1\0\2\0\3\0' > fuzz/corpus/raw_sidecar/a
  for t in "${TARGETS[@]}"; do
    echo "== fuzzing $t for ${SECS}s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz -s none "$t" -- \
      -max_total_time="$SECS" -max_len=65536 -malloc_limit_mb=256 -rss_limit_mb=2048
  done
else
  echo "cargo-fuzz is not installed (cargo install cargo-fuzz): skipping the libFuzzer runs"
fi

echo "== seeded mutation tests"
cargo test -p lightlane-io --release --test fuzz_seeded
