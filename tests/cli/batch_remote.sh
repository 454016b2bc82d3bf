#!/usr/bin/env bash
# `smolvlm batch --host URL,URL` across two running replicas gives the records of a local batch
# (same answers, errors, token counts and done reasons, greedy), and `--shard I/N` shares cover
# every input exactly once, each share resumable in its own output.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 (skip)
# without the golden files, python3 or ffmpeg.
set -euo pipefail
exec </dev/null
SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
SHARED=${SMOLVLM_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
G=$SHARED/golden/tiny512
[[ -f $G/gguf/text-Q8_0.gguf ]] || { echo "SKIP: golden files not found"; exit 77; }
command -v python3 >/dev/null && command -v ffmpeg >/dev/null || { echo "SKIP: python3 / ffmpeg not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-bremote.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

source "$(dirname "$0")/serve_lib.bash"
tiny_store
mkdir -p "$WORK/imgs/sub"
cd "$WORK"
cp "$G/inputs/image.png" imgs/a.png
for i in 1 2 3 4 5; do ffmpeg -loglevel error -f lavfi -i "testsrc=size=$((200 + 40 * i))x$((150 + 30 * i))" -frames:v 1 "imgs/sub/t$i.png"; done
ffmpeg -loglevel error -f lavfi -i testsrc=duration=2:size=96x64:rate=5 -pix_fmt yuv420p imgs/clip.mp4
echo "plain text" >imgs/fake.jpg
head -c 100 "$G/inputs/image.png" >imgs/broken.png

URLS=()
for i in 1 2; do
  serve "r$i.log"
  URLS+=("$URL")
done
opts=(--prompt "Describe this image." --temperature 0 -n 8)
"$SMOLVLM" batch tiny imgs "${opts[@]}" -o local.jsonl 2>local.err || fail "local batch: $(cat local.err)"
"$SMOLVLM" batch tiny imgs "${opts[@]}" --host "${URLS[0]},${URLS[1]}" --parallel 2 -o remote.jsonl 2>remote.err ||
  fail "batch --host: $(cat remote.err)"
grep -q "batch: 7 ok, 2 errors" remote.err || fail "batch --host summary: $(cat remote.err)"
for i in 1 2; do grep -q 'POST    "/api/chat"' "$WORK/r$i.log" || fail "replica $i answered nothing"; done

python3 - local.jsonl remote.jsonl <<'PY' || fail "batch --host records differ from a local batch"
import json, sys
def recs(p):
    out = {}
    for l in open(p):
        r = json.loads(l)
        out[r["file"]] = {k: r.get(k) for k in ("prompt", "answer", "error", "eval_tokens", "done_reason")}
    return out
a, b = recs(sys.argv[1]), recs(sys.argv[2])
assert a.keys() == b.keys(), (sorted(a), sorted(b))
for f in a:
    assert a[f] == b[f], (f, a[f], b[f])
print("batch --host: %d records equal the local batch's" % len(a))
PY

# A replica that is gone (nothing listens there): its files go to the other, and no record is lost.
"$SMOLVLM" batch tiny imgs "${opts[@]}" --host "http://127.0.0.1:1,${URLS[1]}" --parallel 2 -o failover.jsonl \
  2>failover.err || fail "batch --host with a dead replica: $(cat failover.err)"
python3 - local.jsonl failover.jsonl <<'PY' || fail "batch --host with a dead replica: records differ"
import json, sys
recs = lambda p: {r["file"]: (r.get("answer"), r.get("error")) for r in map(json.loads, open(p))}
assert recs(sys.argv[1]) == recs(sys.argv[2])
PY

# Shards: every input in exactly one share, whichever way they run; a share resumes on its own.
for i in 0 1 2; do
  "$SMOLVLM" batch tiny imgs "${opts[@]}" --host "${URLS[0]}" --shard "$i/3" -o "share$i.jsonl" 2>"share$i.err" ||
    fail "--shard $i/3: $(cat "share$i.err")"
done
python3 - local.jsonl share0.jsonl share1.jsonl share2.jsonl <<'PY' || fail "the shares do not cover the inputs once"
import json, sys
want = sorted(json.loads(l)["file"] for l in open(sys.argv[1]))
got = sorted(json.loads(l)["file"] for p in sys.argv[2:] for l in open(p))
assert got == want, (got, want)
assert all(sum(1 for _ in open(p)) > 0 for p in sys.argv[2:]) or len(want) < 3
PY
"$SMOLVLM" batch tiny imgs "${opts[@]}" --host "${URLS[0]}" --shard 1/3 -o share1.jsonl 2>again.err
grep -q "nothing to do\|0 ok, 0 errors\|skipped" again.err || fail "a finished share did not resume: $(cat again.err)"
out=$("$SMOLVLM" batch tiny imgs "${opts[@]}" --shard 3/3 2>&1) && fail "--shard 3/3 accepted"
grep -q "0 <= I < N" <<<"$out" || fail "--shard 3/3: $out"
echo "batch remote: ok"
