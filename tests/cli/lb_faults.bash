#!/usr/bin/env bash
# Three `smolvlm serve` replicas behind a real balancer, LB_KIND=haproxy (deploy/haproxy.cfg) or
# nginx (deploy/nginx.conf), the file's addresses rewritten to free ports, under bounded client load
# of text, image and streamed requests (tests/cli/lb_load.py). Mid-load one replica is kill -9'd and
# another SIGTERM'd (drained). No request may fail because of the drain or after the kill; only
# requests the killed replica had already begun to answer may fail (streams: their headers were
# out), and those are counted and reported. Run by tests/cli/lb_haproxy.sh and lb_nginx.sh.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/), LB_KIND. Exit 77
# (skip) without the balancer (Debian haproxy / nginx-light, `make deps`), python3, curl or the
# golden files.
set -euo pipefail
LB_KIND=${LB_KIND:-haproxy}
exec </dev/null
SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SMOLVLM_SHARED:-$ROOT/../shared}
G=$SHARED/golden/tiny512
[[ -f $G/gguf/text-Q8_0.gguf ]] || { echo "SKIP: golden files not found"; exit 77; }
PATH=$PATH:/usr/sbin
command -v "$LB_KIND" >/dev/null || { echo "SKIP: $LB_KIND not found"; exit 77; }
command -v python3 >/dev/null && command -v curl >/dev/null || { echo "SKIP: python3 / curl not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-$LB_KIND.XXXXXX")
PIDS=()
cleanup() {
  # nginx's workers outlive a SIGKILLed master, and a live master respawns killed workers: stop the
  # parent, kill its children, then kill it.
  for p in "${PIDS[@]}"; do
    kill -STOP "$p" 2>/dev/null || true
    pkill -9 -P "$p" 2>/dev/null || true
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$WORK"/*.log; do [[ -f $f ]] && tail -n 20 "$f" | sed "s|^|$(basename "$f"): |" >&2; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

export OLLAMA_MODELS=$WORK/models SMOLVLM_NO_AUTOSTART=1 OLLAMA_NUM_PARALLEL=2
printf 'FROM %s\nFROM %s\n' "$G/gguf/text-Q8_0.gguf" "$G/gguf/mmproj-Q8_0.gguf" >"$WORK/Modelfile"
SMOLVLM_HOST=127.0.0.1:1 "$SMOLVLM" create tiny -f "$WORK/Modelfile" >/dev/null 2>&1 || fail "create"

# Three replicas, each with the model preloaded.
REPLICA=()
PORT=()
for i in 1 2 3; do
  p=$(free_port)
  "$SMOLVLM" serve --host 127.0.0.1:$p --preload tiny --drain-grace 1 --shutdown-timeout 20 >"$WORK/r$i.log" 2>&1 &
  REPLICA+=($!)
  PIDS+=($!)
  PORT+=("$p")
done
for i in 0 1 2; do
  for _ in $(seq 200); do [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$i]}/ready") == 200 ]] && break; sleep 0.05; done
done
LB=$(free_port)
ports=(-e "s/127.0.0.1:11434/127.0.0.1:$LB/" -e "s/127.0.0.1:11435/127.0.0.1:${PORT[0]}/"
       -e "s/127.0.0.1:11436/127.0.0.1:${PORT[1]}/" -e "s/127.0.0.1:11437/127.0.0.1:${PORT[2]}/")
if [[ $LB_KIND == haproxy ]]; then
  sed "${ports[@]}" "$ROOT/deploy/haproxy.cfg" >"$WORK/lb.conf"
  haproxy -c -f "$WORK/lb.conf" >/dev/null || fail "haproxy -c rejects deploy/haproxy.cfg"
  haproxy -db -f "$WORK/lb.conf" >"$WORK/lb.log" 2>&1 &
else
  mkdir -p "$WORK/nginx"
  sed "${ports[@]}" -e "s|/run/nginx-smolvlm.pid|$WORK/nginx/nginx.pid|" -e "s|/var/log/nginx/|$WORK/nginx/|" \
    "$ROOT/deploy/nginx.conf" >"$WORK/lb.conf"
  nginx -t -p "$WORK/nginx" -c "$WORK/lb.conf" >"$WORK/lb.log" 2>&1 || fail "nginx -t rejects deploy/nginx.conf"
  nginx -p "$WORK/nginx" -c "$WORK/lb.conf" -g 'daemon off;' >>"$WORK/lb.log" 2>&1 &
fi
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$LB/api/version" >/dev/null && break; sleep 0.05; done
sleep 1.2  # HAProxy has seen every replica up (rise 2 x 500 ms)

python3 "$ROOT/tests/cli/lb_load.py" "http://127.0.0.1:$LB" 8 4 "$G/inputs/image.png" "$WORK/load.json" >"$WORK/summary.txt" &
LOAD=$!
sleep 2.5
killed_at=$(date +%s.%N)
kill -9 "${REPLICA[0]}"
sleep 1.5
kill -TERM "${REPLICA[1]}"
wait "$LOAD" || fail "the load client failed"
set +e
wait "${REPLICA[1]}"; rc=$?
set -e
[[ $rc == 0 ]] || fail "the drained replica exited $rc"

python3 - "$WORK/load.json" "$killed_at" "$LB_KIND" <<'PY' || fail "load through $LB_KIND: $(cat "$WORK/summary.txt")"
import json, sys
s = json.load(open(sys.argv[1])); killed = float(sys.argv[2])
failed = s["failed"]
print("%s: %d ok, %d failed %s" % (sys.argv[3], s["ok"], len(failed), json.dumps(s["by_kind"])))
for f in failed:
    print("  failed:", f["kind"], "began" if f["began"] else "not begun", "%+.2fs after the kill" % (f["at"] - killed), f["error"][:120])
assert s["ok"] > 20, "too little load went through"
# Only what the killed replica had begun to answer may fail (one request per client at most, right
# after the kill): a stream whose lines were coming, or a reply cut during its body (the balancer's
# 502); one that had no answer yet is retried elsewhere by the balancer.
begun = lambda f: f["kind"] == "stream" or "502" in f["error"]
bad = [f for f in failed if not (f["began"] and begun(f) and 0 <= f["at"] - killed < 2.0)]
assert not bad, bad
assert len(failed) <= 4, failed
PY
echo "lb_$LB_KIND: ok ($(tail -n 1 "$WORK/summary.txt"))"
