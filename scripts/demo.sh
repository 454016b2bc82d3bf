#!/usr/bin/env bash
# `make demo` after deps and build: pull smolvlm2:256m from the Hugging Face Hub (HF_ENDPOINT honoured)
# into the Ollama store, draw an example image (scripts/demo_image.py) and have the model describe it.
# When the hub cannot be reached it says so and how to point at a mirror or a local checkpoint, then
# runs the same pipeline on a random-weight model with the real 256M shapes (and says so, before and
# after: the words are noise, the timings are real), and exits 0.
#
# env: SMOLVLM (default build/release/smolvlm), DEMO_MODEL (default smolvlm2:256m), DEMO_DIR (default
# build/demo), DEMO_TOKENS (96), DEMO_MAX_TILES (unset: every tile), OLLAMA_MODELS / HF_ENDPOINT /
# HF_TOKEN / HF_HOME as for `smolvlm pull`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SMOLVLM=${SMOLVLM:-$ROOT/build/release/smolvlm}
MODEL=${DEMO_MODEL:-smolvlm2:256m}
DIR=${DEMO_DIR:-$ROOT/build/demo}
HUB=${HF_ENDPOINT:-https://huggingface.co}
mkdir -p "$DIR"
python3 "$ROOT/scripts/demo_image.py" "$DIR/demo.png"

# The hub out of reach: the same pipeline on a model with SmolVLM2-256M's real shapes and random
# weights (dev random-checkpoint; a synthetic vocabulary of the real size), so that a newcomer
# without network still sees it run, and what it costs on this machine.
offline_demo() {
  local ck=$DIR/SmolVLM2-256M-random gguf=$DIR/random-gguf
  cat <<MSG

demo: meanwhile, the same pipeline offline, on a model with SmolVLM2-256M's real shapes and RANDOM
      weights: convert, quantize to Q4_K_M, describe the image. The words it prints are noise; only
      the timings are real (what this machine does with a 256M model).
MSG
  if [[ ! -f $gguf/SmolVLM2-256M-random-Q4_K_M.gguf ]]; then
    echo "== smolvlm dev random-checkpoint real256m 1 $ck"
    "$SMOLVLM" dev random-checkpoint real256m 1 "$ck" --force
    echo "== smolvlm convert $ck -o $gguf"
    "$SMOLVLM" convert "$ck" -o "$gguf" --force
    echo "== smolvlm quantize … Q4_K_M"
    "$SMOLVLM" quantize "$gguf/SmolVLM2-256M-random-F16.gguf" "$gguf/SmolVLM2-256M-random-Q4_K_M.gguf" Q4_K_M
  fi
  echo "== smolvlm run $gguf --quant Q4_K_M --image $DIR/demo.png \"Describe this image.\""
  SMOLVLM_NO_AUTOSTART=1 "$SMOLVLM" run "$gguf" --quant Q4_K_M --image "$DIR/demo.png" "Describe this image." \
    --temperature 0 -n "${DEMO_TOKENS:-96}" ${DEMO_MAX_TILES:+--max-tiles "$DEMO_MAX_TILES"} --verbose | tr -d '\000'
  echo
  echo "demo (offline): done. The weights were random, so the reply above is noise; the timings are real."
  echo "      With the hub (or a mirror) reachable, \`make demo\` runs the real model."
}

echo "== smolvlm pull $MODEL  (from $HUB)"
if ! "$SMOLVLM" pull "$MODEL" 2>"$DIR/pull.err"; then
  cat "$DIR/pull.err" >&2
  cat >&2 <<MSG

demo: could not pull $MODEL from $HUB.
  - No network, or the hub is blocked here? Point HF_ENDPOINT at a mirror:
        HF_ENDPOINT=https://hf-mirror.com make demo
  - Or use a checkpoint you already have (a Hugging Face SmolVLM2 folder):
        $SMOLVLM convert /path/to/SmolVLM2-256M-Video-Instruct -o ~/gguf
        $SMOLVLM run ~/gguf --image $DIR/demo.png "Describe this image."
  - Private or gated repository: set HF_TOKEN.
MSG
  offline_demo
  exit 0
fi
grep -v '^$' "$DIR/pull.err" | tail -1 || true

echo "== smolvlm run $MODEL --image $DIR/demo.png \"Describe this image.\""
SMOLVLM_NO_AUTOSTART=1 "$SMOLVLM" run "$MODEL" --local --image "$DIR/demo.png" "Describe this image." \
  --temperature 0 -n "${DEMO_TOKENS:-96}" --verbose
echo
echo "demo: done. Next: \`$SMOLVLM run $MODEL\` to chat (paths of images in a message attach them),"
echo "      \`$SMOLVLM serve\` for every Ollama client, docs/USAGE.md for the rest."
