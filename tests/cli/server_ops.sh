#!/usr/bin/env bash
# `smolvlm serve` as an operator runs it: --preload, /health, /ready, /metrics checked by promtool
# (Debian's prometheus package, `make deps`; that check is skipped without it), SIGTERM draining a
# stream in flight (it finishes, /ready was 503 meanwhile, exit 0), and a second signal exiting at
# once.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 (skip)
# without the golden files, curl or python3.
set -euo pipefail
exec </dev/null
SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
SHARED=${SMOLVLM_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
G=$SHARED/golden/tiny512
[[ -f $G/gguf/text-Q8_0.gguf ]] || { echo "SKIP: golden files not found"; exit 77; }
command -v curl >/dev/null && command -v python3 >/dev/null || { echo "SKIP: curl / python3 not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-ops.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$WORK"/*.log; do [[ -f $f ]] && sed "s|^|$(basename "$f"): |" "$f" >&2; done; exit 1; }
expect() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }

source "$(dirname "$0")/serve_lib.bash"
tiny_store

status() { curl -s -o /dev/null -w '%{http_code}' "$URL$1"; }
metric() { curl -s "$URL/metrics" | sed -n "s/^$1 //p"; }
# A streamed chat with N copies of the golden image (slow enough to be in flight when signalled).
stream_body() {
  python3 - "$G/inputs/image.png" "$1" >"$WORK/stream.json" <<'PY'
import base64, json, sys
img = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
print(json.dumps({"model": "tiny", "stream": True, "options": {"num_ctx": 8192, "num_predict": 4, "temperature": 0},
                  "messages": [{"role": "user", "content": "Compare these.", "images": [img] * int(sys.argv[2])}]}))
PY
}

# --- --preload, /health, /ready, /metrics ---------------------------------------------------------
serve a.log --preload tiny --drain-grace 0.5
[[ $(status /health) == 200 ]] || fail "/health"
for _ in $(seq 200); do [[ $(status /ready) == 200 ]] && break; sleep 0.05; done
[[ $(status /ready) == 200 ]] || fail "/ready never turned 200 after the preload"
expect "$(curl -s "$URL/api/ps")" "tiny:latest"  # loaded before any request
curl -s "$URL/api/generate" -d '{"model":"tiny","prompt":"hi","stream":false,"options":{"num_predict":3}}' >/dev/null
for _ in $(seq 100); do  # counted just after its last byte went out
  curl -s "$URL/metrics" >"$WORK/metrics.txt"
  grep -q '^smolvlm_http_requests_total{route="/api/generate",status="200"} 1$' "$WORK/metrics.txt" && break
  sleep 0.02
done
[[ $(sed -n 's/^smolvlm_http_requests_total{route="\/api\/generate",status="200"} //p' "$WORK/metrics.txt") == 1 ]] ||
  fail "the request counter did not move: $(cat "$WORK/metrics.txt")"
if command -v promtool >/dev/null; then
  promtool check metrics <"$WORK/metrics.txt" || fail "promtool check metrics"
else
  echo "note: promtool not found (Debian prometheus), /metrics not linted"
fi

# --- SIGTERM with a stream in flight: it finishes; /ready is 503 meanwhile; exit 0 -----------------
stream_body 4
curl -s -N "$URL/api/chat" -d @"$WORK/stream.json" >"$WORK/stream.out" &
CURL=$!
for _ in $(seq 400); do [[ $(metric smolvlm_requests_running) == 1 ]] && break; sleep 0.01; done
[[ $(metric smolvlm_requests_running) == 1 ]] || fail "the stream did not start"
kill -TERM "$PID"
sleep 0.1
[[ $(status /ready) == 503 ]] || fail "/ready during the drain: $(status /ready)"
wait "$CURL" || fail "curl"
set +e
wait "$PID"; rc=$?
set -e
[[ $rc == 0 ]] || fail "serve after SIGTERM: exit $rc"
tail -n 1 "$WORK/stream.out" | python3 -c 'import json,sys; l=json.loads(sys.stdin.read()); assert l.get("done") and "error" not in l, l' ||
  fail "the stream in flight did not finish: $(tail -c 300 "$WORK/stream.out")"
expect "$(cat "$WORK/a.log")" 'level=INFO msg="draining'

# --- SIGUSR1 from outside (log rotation) changes nothing: SIGTERM still drains, exit 0 ----------------
serve c.log --drain-grace 0
kill -USR1 "$PID"
sleep 0.2
[[ $(status /ready) == 200 ]] || fail "SIGUSR1 stopped the server"
kill -TERM "$PID"
set +e
wait "$PID"; rc=$?
set -e
[[ $rc == 0 ]] || fail "SIGTERM after SIGUSR1: exit $rc"

# --- A second signal exits at once, whatever is in flight ------------------------------------------
serve b.log --drain-grace 30
kill -TERM "$PID"
sleep 0.2
kill -TERM "$PID"
set +e
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
wait "$PID"; rc=$?
set -e
[[ $rc == 143 ]] || fail "a second SIGTERM: exit $rc (want 143, at once)"
echo "server ops: ok"
