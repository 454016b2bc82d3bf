#!/usr/bin/env bash
# What each quantization costs, measured with `smolvlm eval` (docs/QUALITY.md): a Hugging Face
# SmolVLM2 checkpoint converted to F16 (the base), quantized to each type, and each judged against
# the F16 on a text file (and, with IMAGES, on a folder of images); one Markdown table row per type.
#
#   scripts/quality_report.sh CHECKPOINT_DIR TEXT_FILE [IMAGES_DIR] > table.md
#
# env: SMOLVLM (default build/release/smolvlm), WORK (default: a temporary folder, removed), CTX
# (window, default 512), TYPES (default "Q4_0 Q4_K_M Q5_K_M Q6_K Q8_0"), THREADS.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SMOLVLM=${SMOLVLM:-$ROOT/build/release/smolvlm}
CK=${1:?checkpoint folder}; TEXT=${2:?text file}; IMAGES=${3:-}
CTX=${CTX:-512}; TYPES=${TYPES:-Q4_0 Q4_K_M Q5_K_M Q6_K Q8_0}
OWN_WORK=0
if [[ -z ${WORK:-} ]]; then WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-quality.XXXXXX"); OWN_WORK=1; fi
trap '[[ $OWN_WORK == 1 ]] && rm -rf "$WORK"' EXIT
t=(${THREADS:+-t "$THREADS"})

"$SMOLVLM" convert "$CK" -o "$WORK" --force >&2
F16=$(ls "$WORK"/*-F16.gguf | grep -v '/mmproj-')
MMPROJ=$(ls "$WORK"/mmproj-*-F16.gguf)
# The projector's Q8_0 row, where the file allows one (2.2B's SigLIP MLP rows of 4304 are not whole Q8_0 blocks:
# llama-quantize refuses it too, so its projector ships as F16 only).
MMPROJ_Q8=${MMPROJ%-F16.gguf}-Q8_0.gguf
"$SMOLVLM" quantize "$MMPROJ" "$MMPROJ_Q8" Q8_0 >&2 || MMPROJ_Q8=
row() {  # type, eval JSON
  python3 - "$1" "$2" <<'PY'
import json, sys
t, j = sys.argv[1], json.loads(sys.argv[2])
cells = [t]
for part in ("text", "images"):
    s = j.get(part)
    if s is None:
        continue
    cells += ["%d" % s["tokens"], "%.4f" % s["ppl_base"], "%.4f (%+.2f%%)" % (s["ppl_model"], 100 * (s["ppl_model"] / s["ppl_base"] - 1)),
              "%.5f" % s["kl_mean"], "%.5f" % s["kl_p99"], "%.5f" % s["kl_max"], "%.2f%%" % (100 * s["top1_agreement"])]
print("| " + " | ".join(cells) + " |")
PY
}
head="| type | tokens | PPL F16 | PPL type | KL mean | KL p99 | KL max | top-1 |"
[[ -n $IMAGES ]] && head+=" image tokens | PPL F16 | PPL type | KL mean | KL p99 | KL max | top-1 |"
echo "$head"
echo "$head" | sed 's/[^|]\+/---/g'
for type in $TYPES; do
  q=${F16%-F16.gguf}-$type.gguf
  "$SMOLVLM" quantize "$F16" "$q" "$type" >&2
  img=()
  [[ -n $IMAGES ]] && img=(--mmproj "$MMPROJ" --images "$IMAGES")
  row "$type" "$("$SMOLVLM" eval "$q" --base "$F16" --text "$TEXT" --ctx "$CTX" "${img[@]}" "${t[@]}" --json)"
  rm -f "$q"
done
if [[ -n $IMAGES && -z $MMPROJ_Q8 ]]; then
  echo
  echo "The projector has no Q8_0 form (rows that are not whole Q8_0 blocks), so it has no projector row."
elif [[ -n $IMAGES ]]; then  # the projector: Q8_0 against F16, text model F16
  echo
  echo "| projector | image tokens | PPL (F16 projector) | PPL (Q8_0 projector) | KL mean | KL p99 | KL max | top-1 |"
  echo "|---|---|---|---|---|---|---|---|"
  j=$("$SMOLVLM" eval "$F16" --base "$F16" --base-mmproj "$MMPROJ" --mmproj "$MMPROJ_Q8" \
      --images "$IMAGES" "${t[@]}" --json)
  row "Q8_0" "$j" | sed 's/^| Q8_0 |/| Q8_0 vs F16 |/'
fi
