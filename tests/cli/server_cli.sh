#!/usr/bin/env bash
# `smolvlm ps / stop / version` against a spawned `smolvlm serve` (any free port, reached through
# SMOLVLM_HOST) with the golden tiny model created in a temporary OLLAMA_MODELS: version shows the
# server's, ps lists a model loaded by a generate (Ollama's columns) and not after `stop`, stop of
# an unknown model fails, and with no server ps/stop exit 1 with the "could not connect" error;
# `run NAME` goes through the server when one runs (same reply as --local, --verbose, --format json).
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 when the
# golden files are missing.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's

SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
SHARED=${SMOLVLM_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
G=$SHARED/golden/tiny512/gguf
[[ -f $G/text-Q8_0.gguf && -f $G/mmproj-Q8_0.gguf ]] || { echo "SKIP: $G not found"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-servecli.XXXXXX")
SERVER_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
export OLLAMA_MODELS=$WORK/models
unset OLLAMA_HOST
export SMOLVLM_NO_AUTOSTART=1  # `run` must not start servers of its own here (cli_via_server.sh tests that)
fail() { echo "FAIL: $*" >&2; [[ -f $WORK/serve.log ]] && cat "$WORK/serve.log" >&2; exit 1; }
expect() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }
reject() { ! grep -qF -- "$2" <<<"$1" || fail "did not expect '$2' in: $1"; }

cat > "$WORK/Modelfile" <<MF
FROM $G/text-Q8_0.gguf
FROM $G/mmproj-Q8_0.gguf
MF
# No server yet: a port nothing listens on.
export SMOLVLM_HOST=127.0.0.1:1
"$SMOLVLM" create tiny -f "$WORK/Modelfile" >/dev/null 2>&1 || fail "create"
set +e
out=$("$SMOLVLM" ps 2>&1); rc=$?
set -e
[[ $rc == 1 ]] || fail "ps without a server: exit $rc"
expect "$out" "could not connect to the smolvlm server"
set +e
out=$("$SMOLVLM" stop tiny 2>&1); rc=$?
set -e
[[ $rc == 1 ]] || fail "stop without a server: exit $rc"
expect "$out" "could not connect to the smolvlm server"
out=$("$SMOLVLM" version 2>&1) || fail "version without a server must not fail"
out_list=$("$SMOLVLM" list 2>&1) || fail "list without a server must not fail"
expect "$out_list" "no server answers at http://127.0.0.1:1"
expect "$out_list" "NAME"
expect "$out" "smolvlm version 0.1.0"
[[ $(wc -l <<<"$out") == 1 ]] || fail "version without a server prints one line, not: $out"

# What a killed create leaves (a temporary blob) and a blob nothing references, older than an hour:
# OLLAMA_NOPRUNE keeps them; a plain start prunes them, as `ollama serve` does.
stale_tmp=$OLLAMA_MODELS/blobs/sha256-tmp-99999-dead
orphan=$OLLAMA_MODELS/blobs/sha256-$(printf '%064d' 7)
echo partial >"$stale_tmp"
echo orphan >"$orphan" && touch -d '2 hours ago' "$orphan"
OLLAMA_NOPRUNE=1 "$SMOLVLM" serve --host 127.0.0.1:0 >"$WORK/noprune.log" 2>&1 &
np=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/noprune.log" && break; sleep 0.1; done
kill "$np"; wait "$np" || true
[[ -e $stale_tmp && -e $orphan ]] || fail "OLLAMA_NOPRUNE=1 serve pruned the store"

# The server on a free port; its first line names the port.
"$SMOLVLM" serve --host 127.0.0.1:0 >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/serve.log" 2>/dev/null || true)
  [[ -n $port ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "serve exited"
  sleep 0.1
done
[[ -n $port ]] || fail "serve did not report its port"
export SMOLVLM_HOST=http://127.0.0.1:$port
[[ ! -e $stale_tmp && ! -e $orphan ]] || fail "serve did not prune at start: $(ls "$OLLAMA_MODELS/blobs")"
expect "$(cat "$WORK/serve.log")" "smolvlm serve: pruned 2 unused file(s) from the store"
# An image's encoding in the API's timings (our extension fields, beside Ollama's), and a prompt
# over the context refused (400) from the tiling plan, before any encoding.
img=$(base64 -w0 "$SHARED/golden/tiny512/inputs/image.png")
printf '{"model":"tiny","prompt":"What is this?","images":["%s"],"stream":false,"keep_alive":0,"options":{"num_predict":2}}' "$img" >"$WORK/img.json"
printf '{"model":"tiny","prompt":"What is this?","images":["%s"],"stream":false,"keep_alive":0,"options":{"num_ctx":256}}' "$img" >"$WORK/ctx_req.json"
out=$(curl -s "$SMOLVLM_HOST/api/generate" -d @"$WORK/img.json")
python3 - "$out" <<'PY' || fail "image timings: $out"
import json, sys
r = json.loads(sys.argv[1])
assert r["media_encode_count"] == 1 and r["media_encode_frames"] == 13 and r["media_encode_duration"] > 0, r
assert r["total_duration"] >= r["media_encode_duration"], r
PY
code=$(curl -s -o "$WORK/ctx.json" -w '%{http_code}' "$SMOLVLM_HOST/api/generate" -d @"$WORK/ctx_req.json")
[[ $code == 400 ]] || fail "an image over the context: HTTP $code $(cat "$WORK/ctx.json")"
expect "$(cat "$WORK/ctx.json")" "256"
for _ in $(seq 50); do "$SMOLVLM" ps | grep -q tiny || break; sleep 0.1; done  # keep_alive 0: unloaded soon
# OLLAMA_HOST is honoured too when SMOLVLM_HOST is unset.
out=$(env -u SMOLVLM_HOST OLLAMA_HOST=127.0.0.1:$port "$SMOLVLM" version 2>&1)
expect "$out" "Ollama API version $(curl -s "$SMOLVLM_HOST/api/version" | sed 's/.*"version":"\([^"]*\)".*/\1/')"

out=$("$SMOLVLM" ps)
expect "$out" "NAME"
expect "$out" "PROCESSOR"
expect "$out" "UNTIL"
reject "$out" "tiny"

curl -sf "$SMOLVLM_HOST/api/generate" -d '{"model":"tiny","prompt":"hi","stream":false,"keep_alive":"10m","options":{"num_predict":2}}' \
  >"$WORK/gen.json" || fail "generate"
expect "$(cat "$WORK/gen.json")" '"done":true'
out=$("$SMOLVLM" ps)
id=$(sha256sum "$OLLAMA_MODELS/manifests/registry.ollama.ai/library/tiny/latest" | cut -c1-12)
expect "$out" "tiny:latest"
expect "$out" "$id"
expect "$out" "100% CPU"
expect "$out" "minutes from now"

"$SMOLVLM" stop tiny || fail "stop tiny"
out=$("$SMOLVLM" ps)
reject "$out" "tiny"

# `run NAME` with a server running: the server runs it (the model shows in ps), and the reply is
# the one the same model gives in this process (--local); --verbose prints Ollama's fields.
remote=$("$SMOLVLM" run tiny "Describe a cat." --temperature 0 -n 3 --verbose 2>"$WORK/run.err") || fail "run via the server"
localr=$("$SMOLVLM" run tiny "Describe a cat." --temperature 0 -n 3 --local) || fail "run --local"
[[ -n $remote && $remote == "$localr" ]] || fail "run via the server gave '$remote', in-process '$localr'"
expect "$(cat "$WORK/run.err")" "eval count:           3 token(s)"
expect "$("$SMOLVLM" ps)" "tiny:latest"
out=$(printf 'Say {\n' | "$SMOLVLM" run tiny --format json --temperature 0.5 --seed 7 -n 100) || fail "run --format json via the server"
python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out" || fail "--format json via the server: '$out' is not JSON"
set +e
out=$("$SMOLVLM" run nosuch "hi" 2>&1); rc=$?
set -e
[[ $rc == 1 ]] || fail "run of an unknown model via the server: exit $rc"
expect "$out" "not found"
"$SMOLVLM" stop tiny || fail "stop tiny"

set +e
out=$("$SMOLVLM" stop nosuch 2>&1); rc=$?
set -e
[[ $rc == 1 ]] || fail "stop of an unknown model: exit $rc"
expect "$out" "couldn't find model \"nosuch\" to stop"

# The server's log: one line per request (status, latency, client, method, path) with the error's
# message when there was one, and each load and unload with the device and memory.
log=$(cat "$WORK/serve.log")
grep -qE '^\[GIN\] [0-9/]+ - [0-9:]+ \| 200 \| +[0-9.]+(µs|ms|s) \| +127\.0\.0\.1 \| POST +"/api/chat"$' <<<"$log" ||
  fail "no request line for a chat"
grep -qE '^\[GIN\] .* \| 404 \| .* \| POST +"/api/(chat|generate)" \| error: model .nosuch. not found' <<<"$log" ||
  fail "the log does not say why a request failed"
grep -qE 'level=INFO msg="loaded tiny:latest in [0-9.]+ s on CPU: [0-9]+ [KMG]iB; offload: ' <<<"$log" || fail "no load line"
grep -qE 'level=INFO msg="unloaded tiny:latest' <<<"$log" || fail "no unload line"
echo "OK"
