#!/usr/bin/env bash
# `smolvlm run` end to end on the golden tiny512 text model: one-shot reply == the model's greedy
# continuation, --verbose fields, piped / closed stdin, bad input, and the interactive chat driven
# through a pseudo-terminal (tests/cli/run_chat.py). Exit 77 (skipped) without ../shared or python3.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's
SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
SHARED=${SMOLVLM_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
MODEL=$SHARED/golden/tiny512/gguf/text-F32.gguf
[[ -f $MODEL ]] || { echo "SKIP: $MODEL not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
exec python3 "$(dirname "$0")/run_chat.py" "$SMOLVLM" "$MODEL"
