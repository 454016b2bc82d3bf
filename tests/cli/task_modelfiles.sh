#!/usr/bin/env bash
# modelfiles/tasks/*.Modelfile (OCR, short and detailed captions, VQA, charts) as a user creates
# them: over a base model named smolvlm2:256m in the store (here the golden tiny model), each one
# created, shown (its SYSTEM and PARAMETERs kept) and run on an image with --verbose: the reply
# comes, and the image is tiled within the Modelfile's max_tiles.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 (skip)
# without the golden files.
set -euo pipefail
exec </dev/null
SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SMOLVLM_SHARED:-$ROOT/../shared}
G=$SHARED/golden/tiny512
[[ -f $G/gguf/text-Q8_0.gguf ]] || { echo "SKIP: golden files not found"; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-tasks.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }

export OLLAMA_MODELS=$WORK/models SMOLVLM_NO_AUTOSTART=1
unset OLLAMA_HOST SMOLVLM_HOST
printf 'FROM %s\nFROM %s\nPARAMETER stop "<end_of_utterance>"\n' "$G/gguf/text-Q8_0.gguf" "$G/gguf/mmproj-Q8_0.gguf" >"$WORK/base"
"$SMOLVLM" create smolvlm2:256m -f "$WORK/base" >/dev/null 2>&1 || fail "create the base"
n=0
for mf in "$ROOT"/modelfiles/tasks/*.Modelfile; do
  task=$(basename "$mf" .Modelfile)
  grep -q '^# ' "$mf" || fail "$task: no comment saying when to use it"
  grep -q '^SYSTEM ' "$mf" || fail "$task: no system prompt"
  tiles=$(sed -n 's/^PARAMETER max_tiles \([0-9]*\)$/\1/p' "$mf")
  [[ -n $tiles ]] || fail "$task: no max_tiles"
  grep -q '^PARAMETER temperature ' "$mf" && grep -q '^PARAMETER num_predict ' "$mf" || fail "$task: temperature / num_predict"
  out=$("$SMOLVLM" create "smolvlm2:$task" -f "$mf" 2>&1) || fail "create $task: $out"
  params=$("$SMOLVLM" show "smolvlm2:$task" --parameters)
  expect "$params" "max_tiles"
  expect "$params" "num_predict"
  expect "$("$SMOLVLM" show "smolvlm2:$task" --system)" "$(sed -n 's/^SYSTEM """\(.\{20\}\).*/\1/p' "$mf")"
  err=$("$SMOLVLM" run "smolvlm2:$task" --image "$G/inputs/image.png" "What is in this picture?" -n 4 --verbose 2>&1 >/dev/null) ||
    fail "run $task: $err"
  used=$(sed -n 's/^image encode count: *1 item(s), \([0-9]*\) tile(s)$/\1/p' <<<"$err")
  [[ -n $used ]] || fail "run $task: no image encode line: $err"
  (( used <= tiles + 1 )) || fail "$task: $used tiles encoded, over max_tiles $tiles (+ the global view)"
  echo "$task: max_tiles $tiles -> $used tiles"
  n=$((n + 1))
done
(( n >= 5 )) || fail "want at least 5 task Modelfiles, found $n"
echo "task modelfiles: ok"
