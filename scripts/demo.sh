#!/usr/bin/env bash
# `make demo` after deps and build: pull smolvlm2:256m from the Hugging Face Hub (HF_ENDPOINT honoured)
# into the Ollama store, draw an example image (scripts/demo_image.py) and have the model describe it.
# When the hub cannot be reached it says so and how to point at a mirror or a local checkpoint.
#
# env: SMOLVLM (default build/release/smolvlm), DEMO_MODEL (default smolvlm2:256m), DEMO_DIR (default
# build/demo), OLLAMA_MODELS / HF_ENDPOINT / HF_TOKEN / HF_HOME as for `smolvlm pull`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SMOLVLM=${SMOLVLM:-$ROOT/build/release/smolvlm}
MODEL=${DEMO_MODEL:-smolvlm2:256m}
DIR=${DEMO_DIR:-$ROOT/build/demo}
HUB=${HF_ENDPOINT:-https://huggingface.co}
mkdir -p "$DIR"
python3 "$ROOT/scripts/demo_image.py" "$DIR/demo.png"

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
  exit 1
fi
grep -v '^$' "$DIR/pull.err" | tail -1 || true

echo "== smolvlm run $MODEL --image $DIR/demo.png \"Describe this image.\""
SMOLVLM_NO_AUTOSTART=1 "$SMOLVLM" run "$MODEL" --local --image "$DIR/demo.png" "Describe this image." \
  --temperature 0 -n "${DEMO_TOKENS:-96}" --verbose
echo
echo "demo: done. Next: \`$SMOLVLM run $MODEL\` to chat (paths of images in a message attach them),"
echo "      \`$SMOLVLM serve\` for every Ollama client, docs/USAGE.md for the rest."
