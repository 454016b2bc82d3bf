#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS with a fresh seed corpus made from the golden files
# (fuzz_make_seeds shrinks them to a few KB each) and prints executions and crashes per target.
#   scripts/fuzz.sh BUILD_DIR [SECONDS=60]
# BUILD_DIR must be configured with -DSMOLVLM_FUZZ=ON (clang++; the "fuzz" preset), e.g.
#   cmake --preset fuzz -G Ninja && scripts/fuzz.sh build/fuzz 60
# Crash inputs are kept in BUILD_DIR/fuzz-artifacts/. Exit status: 0 only when nothing crashed.
set -euo pipefail

build=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SMOLVLM_SHARED:-$root/../shared}

cmake --build "$build" --target fuzz_gguf fuzz_safetensors fuzz_make_seeds -j "${JOBS:-2}" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/fuzz/fuzz_make_seeds" "$work/seeds" "$shared"
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"

status=0
for target in gguf safetensors; do
  corpus="$work/corpus-$target"
  mkdir -p "$corpus"
  cp "$work/seeds/$target"/* "$corpus/"
  log="$work/$target.log"
  rc=0
  "$build/fuzz/fuzz_$target" "$corpus" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$artifacts/$target-" >"$log" 2>&1 || rc=$?
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || true)
  [ -n "$execs" ] || execs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo "?")
  crashes=$(grep -cE '^==[0-9]+==ERROR|^SUMMARY: (Address|UndefinedBehavior|libFuzzer)|deadly signal' "$log" || true)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 || true)
  echo "fuzz_$target: ${seconds}s, executions $execs, $cov, corpus $(ls "$corpus" | wc -l) files, crashes $crashes (exit $rc)"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    tail -n 40 "$log"
    echo "crash input(s) in $artifacts"
  fi
done
exit $status
