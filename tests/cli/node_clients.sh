#!/usr/bin/env bash
# The official Node clients (ollama-js and openai, tests/node) against a live `smolvlm serve`: a
# temporary OLLAMA_MODELS holding the golden tiny512 pair as tiny:latest (created by `smolvlm
# create` from a Modelfile), the server on a free loopback port (its HF_ENDPOINT a local fake hub
# for pulls), then `node --test`.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 (skip)
# when node, tests/node/node_modules (`make deps`) or the golden files are missing.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's

SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SMOLVLM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
G=$SHARED/golden/tiny512
command -v node >/dev/null || { echo "SKIP: node not installed"; exit 77; }
[[ -d $ROOT/tests/node/node_modules/ollama && -d $ROOT/tests/node/node_modules/openai ]] ||
  { echo "SKIP: tests/node/node_modules missing (npm ci --prefix tests/node)"; exit 77; }
[[ -f $G/gguf/text-F32.gguf && -f $G/gguf/mmproj-F32.gguf && -f $G/inputs/image.png ]] ||
  { echo "SKIP: $G not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-node.XXXXXX")
PID=
HUB_PID=
cleanup() {
  if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [[ -n $HUB_PID ]]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $WORK/serve.log ]] && sed 's/^/serve: /' "$WORK/serve.log" >&2; exit 1; }

export OLLAMA_MODELS=$WORK/models
cat > "$WORK/Modelfile" <<MF
FROM $G/gguf/text-F32.gguf
FROM $G/gguf/mmproj-F32.gguf
PARAMETER temperature 0
MF
SMOLVLM_HOST=127.0.0.1:1 SMOLVLM_NO_AUTOSTART=1 "$SMOLVLM" create tiny:latest -f "$WORK/Modelfile" >"$WORK/create.log" 2>&1 || fail "create: $(cat "$WORK/create.log")"

# A local stand-in for the Hugging Face Hub (tests/cli/fake_hub.py) holding a GGUF repository, for
# ollama.pull through the server.
mkdir -p "$WORK/hubrepo"
cp "$G/gguf/text-Q8_0.gguf" "$WORK/hubrepo/Tiny-Q8_0.gguf"
cp "$G/gguf/mmproj-F16.gguf" "$WORK/hubrepo/mmproj-Tiny-F16.gguf"
python3 "$(dirname "$0")/fake_hub.py" "$WORK/hub.port" test/Tiny-GGUF="$WORK/hubrepo" &
HUB_PID=$!
for _ in $(seq 100); do [[ -s $WORK/hub.port ]] && break; sleep 0.1; done
[[ -s $WORK/hub.port ]] || fail "the fake hub did not start"

# Port 0: the server picks a free port and prints it ("smolvlm serve: listening on HOST:PORT ...").
HF_ENDPOINT=http://127.0.0.1:$(cat "$WORK/hub.port") HF_HOME=$WORK/hf \
  SMOLVLM_HOST=127.0.0.1:0 OLLAMA_KEEP_ALIVE=5m "$SMOLVLM" serve >"$WORK/serve.log" 2>&1 &
PID=$!
ADDR=
for _ in $(seq 1 100); do
  ADDR=$(sed -n 's/^smolvlm serve: listening on \([^ ]*\).*/\1/p' "$WORK/serve.log" 2>/dev/null || true)
  [[ -n $ADDR ]] && break
  kill -0 "$PID" 2>/dev/null || fail "server exited"
  sleep 0.1
done
[[ -n $ADDR ]] || fail "server did not start in 10 s"

cd "$ROOT"
OLLAMA_HOST=$ADDR SMOLVLM_SHARED=$SHARED SMOLVLM_TEST_MODEL=tiny:latest SMOLVLM_TEST_HUB_MODEL=hf.co/test/Tiny-GGUF:Q8_0 \
  node --test --test-reporter=spec tests/node/clients.test.mjs || fail "node client tests"
kill -0 "$PID" 2>/dev/null || fail "server died during the tests"
echo "node clients: ok"
