#!/usr/bin/env bash
# The store commands through a running server, and the background server `run NAME` starts.
# A `smolvlm serve` on a free port (store B, a fake Hugging Face Hub: tests/cli/fake_hub.py) is the
# only thing that can answer (the CLI's own OLLAMA_MODELS is an empty folder): create -f Modelfile
# (blobs uploaded, then /api/create; -q q8_0 too) and pull give byte-identical manifests and the
# same printed lines as the same commands in this process (store A); list and show (every flag)
# print exactly what the in-process commands print for store B; cp works; rm of a loaded model
# unloads it (ps no longer lists it) and prunes its blobs; errors come back as in-process ones.
# With no server: list/show/create/cp/rm/pull never start one; `run NAME` does (loopback only,
# log next to the store, pid on its first line) and answers as --local; SMOLVLM_NO_AUTOSTART=1
# prevents it. Every server started is stopped at the end.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 when the
# golden files, curl or python3 are missing.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's

SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
SHARED=${SMOLVLM_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
HERE=$(cd "$(dirname "$0")" && pwd)
G=$SHARED/golden/tiny512/gguf
[[ -f $G/text-Q8_0.gguf && -f $G/mmproj-Q8_0.gguf && -f $G/text-F16.gguf && -f $G/mmproj-F16.gguf ]] ||
  { echo "SKIP: $G not found"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-viaserver.XXXXXX")
PIDS=()        # our children: the server, the hub
DAEMONS=()     # servers started in the background by the CLI (not our children)
cleanup() {
  for p in "${DAEMONS[@]}"; do
    kill "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $WORK/serve.log ]] && cat "$WORK/serve.log" >&2; exit 1; }
expect() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }
reject() { ! grep -qF -- "$2" <<<"$1" || fail "did not expect '$2' in: $1"; }
same() { [[ "$2" == "$3" ]] || fail "$1 differs:"$'\n'"--- in-process"$'\n'"$2"$'\n'"--- via the server"$'\n'"$3"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
answers() { curl -sf -m 2 "http://127.0.0.1:$1/api/version" >/dev/null; }
# list's MODIFIED column depends on the second it runs in.
no_age() { sed -E 's/(Less than a second|About a minute|About an hour|[0-9]+ [a-z]+) ago$//'; }

unset OLLAMA_HOST
export SMOLVLM_NO_AUTOSTART=1 SMOLVLM_HOST=127.0.0.1:1  # in-process until said otherwise
A=$WORK/a B=$WORK/b
mkdir -p "$WORK/src" "$WORK/hubrepo" "$WORK/cli-store"
cp "$G/text-Q8_0.gguf" "$G/mmproj-Q8_0.gguf" "$G/text-F16.gguf" "$WORK/src/"
cat > "$WORK/src/Modelfile" <<'MF'
FROM ./text-Q8_0.gguf
FROM ./mmproj-Q8_0.gguf
TEMPLATE """{{ .Prompt }}<end_of_utterance>"""
SYSTEM Be brief.
PARAMETER stop <end_of_utterance>
PARAMETER temperature 0.5
MESSAGE user Hello
MESSAGE assistant Hi!
LICENSE Apache-2.0
MF
printf 'FROM ./text-F16.gguf\nFROM ./mmproj-Q8_0.gguf\n' > "$WORK/src/Modelfile.f16"
printf 'FROM ./text-Q8_0.gguf\nFROM ./mmproj-Q8_0.gguf\n' > "$WORK/src/Modelfile.plain"
cp "$G/text-Q8_0.gguf" "$WORK/hubrepo/Tiny-Q8_0.gguf"
cp "$G/text-Q4_K_M.gguf" "$WORK/hubrepo/Tiny-Q4_K_M.gguf"
cp "$G/mmproj-F16.gguf" "$WORK/hubrepo/mmproj-Tiny-F16.gguf"
python3 "$HERE/fake_hub.py" "$WORK/hub.port" test/Tiny-GGUF="$WORK/hubrepo" &
PIDS+=($!)
for _ in $(seq 100); do [[ -f $WORK/hub.port ]] && break; sleep 0.1; done
[[ -f $WORK/hub.port ]] || fail "the fake hub did not start"
export HF_ENDPOINT=http://127.0.0.1:$(cat "$WORK/hub.port")
PULL=hf.co/test/Tiny-GGUF:Q8_0
manifest() { echo "$1/manifests/registry.ollama.ai/library/$2/latest"; }
PULLED=$B/manifests/hf.co/test/Tiny-GGUF/Q8_0

# --- The reference: the same commands in this process, on store A.
cd "$WORK/src"
OLLAMA_MODELS=$A "$SMOLVLM" create tiny -f Modelfile 2>"$WORK/a.create" || fail "create: $(cat "$WORK/a.create")"
OLLAMA_MODELS=$A "$SMOLVLM" create tinyq -f Modelfile.f16 -q q8_0 2>"$WORK/a.createq" || fail "create -q"
OLLAMA_MODELS=$A HF_HOME=$WORK/hf-a "$SMOLVLM" pull $PULL 2>"$WORK/a.pull" || fail "pull: $(cat "$WORK/a.pull")"
# An address that does not answer is named, once, before the in-process work (not silently ignored).
expect "$(head -n 1 "$WORK/a.create")" "smolvlm: no server answers at http://127.0.0.1:1 (SMOLVLM_HOST); using the store in this process"
sed -i '/^smolvlm: no server answers at /d' "$WORK/a.create" "$WORK/a.createq" "$WORK/a.pull"

# --- The server on store B (its own Hugging Face cache); the CLI's own store is empty.
OLLAMA_MODELS=$B HF_HOME=$WORK/hf-b "$SMOLVLM" serve --host 127.0.0.1:0 >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/serve.log" 2>/dev/null || true)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || fail "serve did not report its port"
export SMOLVLM_HOST=http://127.0.0.1:$port OLLAMA_MODELS=$WORK/cli-store
local_b() { SMOLVLM_HOST=127.0.0.1:1 OLLAMA_MODELS=$B "$SMOLVLM" "$@"; }

"$SMOLVLM" create tiny -f Modelfile 2>"$WORK/b.create" || fail "create via the server: $(cat "$WORK/b.create")"
cmp -s "$(manifest "$A" tiny)" "$(manifest "$B" tiny)" || fail "create via the server wrote another manifest"
same "create's lines" "$(cat "$WORK/a.create")" "$(cat "$WORK/b.create")"
expect "$(cat "$WORK/b.create")" "success"
"$SMOLVLM" create tinyq -f Modelfile.f16 -q q8_0 2>"$WORK/b.createq" || fail "create -q via the server"
cmp -s "$(manifest "$A" tinyq)" "$(manifest "$B" tinyq)" || fail "create -q via the server wrote another manifest"
same "create -q's lines" "$(cat "$WORK/a.createq")" "$(cat "$WORK/b.createq")"
expect "$(cat "$WORK/b.createq")" "quantizing F16 model to Q8_0"
"$SMOLVLM" pull $PULL 2>"$WORK/b.pull" || fail "pull via the server: $(cat "$WORK/b.pull")"
cmp -s "$A/manifests/hf.co/test/Tiny-GGUF/Q8_0" "$PULLED" || fail "pull via the server wrote another manifest"
same "pull's lines" "$(cat "$WORK/a.pull")" "$(cat "$WORK/b.pull")"
[[ -z $(ls "$WORK/cli-store") ]] || fail "the CLI wrote into its own store"

same "list" "$(local_b list | no_age)" "$("$SMOLVLM" list | no_age)"
expect "$("$SMOLVLM" list)" "tinyq:latest"
for flags in "" --modelfile --template --parameters --system --license -v; do
  same "show tiny $flags" "$(local_b show tiny $flags)" "$("$SMOLVLM" show tiny $flags)"
  same "show $PULL $flags" "$(local_b show $PULL $flags)" "$("$SMOLVLM" show $PULL $flags)"
done
expect "$("$SMOLVLM" show tiny)" "Parameters"
expect "$("$SMOLVLM" show $PULL --template)" "<end_of_utterance>"

expect "$("$SMOLVLM" cp tiny me/copy)" "copied 'tiny' to 'me/copy'"
cmp -s "$(manifest "$B" tiny)" "$B/manifests/registry.ollama.ai/me/copy/latest" || fail "cp via the server"

# rm of a loaded model: unloaded first, gone from the store; shared blobs stay for me/copy.
curl -sf "$SMOLVLM_HOST/api/generate" -d '{"model":"tiny","prompt":"hi","stream":false,"keep_alive":"10m","options":{"num_predict":1}}' \
  >/dev/null || fail "generate"
expect "$("$SMOLVLM" ps)" "tiny:latest"
expect "$("$SMOLVLM" rm tiny 2>&1)" "deleted 'tiny'"
reject "$("$SMOLVLM" ps)" "tiny:latest"
[[ ! -e $(manifest "$B" tiny) ]] || fail "rm via the server left the manifest"
reject "$("$SMOLVLM" list)" "tiny:latest"
"$SMOLVLM" rm me/copy tinyq $PULL >/dev/null || fail "rm of several models"
[[ -z $(ls "$B/blobs") ]] || fail "rm via the server left blobs: $(ls "$B/blobs")"

# Errors come back as the in-process ones (exit 1).
for cmd in "show nope" "rm nope" "cp nope other"; do
  set +e
  err=$("$SMOLVLM" $cmd 2>&1); rc=$?
  set -e
  [[ $rc == 1 ]] || fail "$cmd via the server: exit $rc"
  expect "$err" "not found"
done
if err=$("$SMOLVLM" create ../../evil -f Modelfile 2>&1); then fail "path trick accepted"; fi
expect "$err" "invalid model name"
[[ -z $(ls "$B/blobs") ]] || fail "a refused create uploaded blobs"

# --- No server: the store commands never start one; `run NAME` does.
unset SMOLVLM_NO_AUTOSTART
P2=$(free_port)
export SMOLVLM_HOST=127.0.0.1:$P2 OLLAMA_MODELS=$WORK/c/models
"$SMOLVLM" create tiny -f Modelfile.plain 2>/dev/null || fail "create without a server"
"$SMOLVLM" list >/dev/null
"$SMOLVLM" show tiny >/dev/null
"$SMOLVLM" cp tiny tiny2 >/dev/null
"$SMOLVLM" rm tiny2 >/dev/null
set +e
"$SMOLVLM" pull hf.co/test/NoSuch-GGUF >/dev/null 2>&1
"$SMOLVLM" run nosuch "hi" >/dev/null 2>&1   # not in the store: nothing to start a server for
set -e
answers "$P2" && fail "a store command started a server"
[[ ! -e $WORK/c/logs ]] || fail "a store command started a server (log folder)"

# SMOLVLM_NO_AUTOSTART=1: run in this process.
localr=$(SMOLVLM_NO_AUTOSTART=1 "$SMOLVLM" run tiny "Describe a cat." --temperature 0 -n 5 2>"$WORK/run0.err") ||
  fail "run with SMOLVLM_NO_AUTOSTART: $(cat "$WORK/run0.err")"
answers "$P2" && fail "SMOLVLM_NO_AUTOSTART=1 run started a server"

remote=$("$SMOLVLM" run tiny "Describe a cat." --temperature 0 -n 5 2>"$WORK/run.err") || fail "run: $(cat "$WORK/run.err")"
LOG=$WORK/c/logs/server.log
[[ -f $LOG ]] || fail "no server log at $LOG"
pid=$(sed -n 's/.*started in the background by the CLI: pid \([0-9]*\).*/\1/p' "$LOG" | tail -1)
[[ -n $pid ]] && DAEMONS+=("$pid")
expect "$(cat "$WORK/run.err")" "started a server in the background at http://127.0.0.1:$P2 (pid $pid, log $LOG)"
answers "$P2" || fail "the background server does not answer"
[[ $(stat -c %a "$WORK/c/logs") == 700 ]] || fail "the log folder is not private"
[[ -n $remote && $remote == "$localr" ]] || fail "run via the background server gave '$remote', in-process '$localr'"
expect "$("$SMOLVLM" ps)" "tiny:latest"
expect "$(cat "$LOG")" "listening on 127.0.0.1:$P2"
# A second run finds it running: no second server, no note.
"$SMOLVLM" run tiny "hi" -n 1 >/dev/null 2>"$WORK/run2.err" || fail "second run"
reject "$(cat "$WORK/run2.err")" "started a server"
[[ $(grep -c 'started in the background' "$LOG") == 1 ]] || fail "a second server was started"
# rm through it unloads the model.
expect "$("$SMOLVLM" rm tiny)" "deleted 'tiny'"
reject "$("$SMOLVLM" ps)" "tiny"
echo "OK"
