#!/usr/bin/env bash
# scripts/quality_report.sh (docs/QUALITY.md's tables) end to end on random tiny checkpoints: convert to
# F16, quantize, `smolvlm eval` each type against the F16 on a text and an image, one Markdown row per type.
#  * tiny512: its projector quantizes to Q8_0, so the projector table follows (Q8_0 vs F16).
#  * tiny384: its SigLIP rows (72, 648 values) are not whole Q8_0 blocks, as 2.2B's (4304) are not: the
#    script says the projector has no Q8_0 form and still prints every text row, exit 0.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 (skip)
# without the golden files or python3.
set -euo pipefail
exec </dev/null
SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SMOLVLM_SHARED:-$ROOT/../shared}
MERGES=$SHARED/golden/tools/tiny_merges.txt
IMAGE=$SHARED/golden/preprocess/images/astronaut.png
[[ -f $MERGES && -f $IMAGE ]] || { echo "SKIP: golden files not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-quality.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$WORK/images"
cp "$IMAGE" "$WORK/images/"
head -c 4096 "$ROOT/README.md" >"$WORK/text.txt"

for model in tiny512 tiny384; do
  "$SMOLVLM" dev random-checkpoint "$model" 1 "$WORK/$model" --merges "$MERGES" -q --no-progress || fail "$model checkpoint"
  SMOLVLM=$SMOLVLM CTX=64 TYPES="Q8_0 Q4_K_M" THREADS=2 WORK="$WORK/$model-work" \
    "$ROOT/scripts/quality_report.sh" "$WORK/$model" "$WORK/text.txt" "$WORK/images" >"$WORK/$model.md" \
    2>"$WORK/$model.log" || { cat "$WORK/$model.log" >&2; fail "quality_report.sh on $model"; }
  cat "$WORK/$model.md"
  grep -q '^| type | tokens | PPL F16 | PPL type | KL mean | KL p99 | KL max | top-1 | image tokens |' "$WORK/$model.md" ||
    fail "$model: no table header"
  for t in Q8_0 Q4_K_M; do
    grep -qE "^\| $t \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \([-+][0-9.]+%\) \| [0-9.]+ \|" "$WORK/$model.md" || fail "$model: no $t row"
  done
done
grep -q '^| Q8_0 vs F16 | [0-9]' "$WORK/tiny512.md" || fail "tiny512: no projector row"
grep -q 'The projector has no Q8_0 form' "$WORK/tiny384.md" || fail "tiny384: the missing projector row is not explained"
grep -q 'Q8_0 vs F16' "$WORK/tiny384.md" && fail "tiny384: a projector row without a Q8_0 projector"
echo "PASS"
