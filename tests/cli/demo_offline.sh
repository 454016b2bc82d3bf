#!/usr/bin/env bash
# `make demo`'s path (scripts/demo.sh, after deps and build) offline: a local stand-in for the Hugging
# Face Hub (tests/cli/fake_hub.py) serves ggml-org/SmolVLM2-256M-Video-Instruct-GGUF with the golden
# tiny model under the real repository's file names; HF_ENDPOINT points at it. The demo must pull
# smolvlm2:256m into a temporary store (Q4_K_M + the f16 projector, as from the real hub), draw its
# example image and answer about it. With the hub unreachable it must say so plainly (HF_ENDPOINT, a
# local checkpoint), then run the pipeline offline on a random-weight real-shape model and exit 0.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 (skip)
# without the golden files or python3.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's
SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SMOLVLM_SHARED:-$ROOT/../shared}
G=$SHARED/golden/tiny512/gguf
[[ -f $G/text-Q4_K_M.gguf && -f $G/mmproj-F16.gguf ]] || { echo "SKIP: golden files not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-demo.XXXXXX")
HUB_PID=
cleanup() {
  if [[ -n $HUB_PID ]]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$WORK/repo"
cp "$G/text-Q4_K_M.gguf" "$WORK/repo/SmolVLM2-256M-Video-Instruct-Q4_K_M.gguf"
cp "$G/text-Q8_0.gguf" "$WORK/repo/SmolVLM2-256M-Video-Instruct-Q8_0.gguf"
cp "$G/mmproj-F16.gguf" "$WORK/repo/mmproj-SmolVLM2-256M-Video-Instruct-f16.gguf"
cp "$G/mmproj-Q8_0.gguf" "$WORK/repo/mmproj-SmolVLM2-256M-Video-Instruct-Q8_0.gguf"
printf '# SmolVLM2-256M-Video-Instruct GGUF (test stand-in)\n' >"$WORK/repo/README.md"
python3 "$ROOT/tests/cli/fake_hub.py" "$WORK/hub.port" ggml-org/SmolVLM2-256M-Video-Instruct-GGUF="$WORK/repo" &
HUB_PID=$!
for _ in $(seq 100); do [[ -s $WORK/hub.port ]] && break; sleep 0.1; done
[[ -s $WORK/hub.port ]] || fail "the fake hub did not start"

export OLLAMA_MODELS=$WORK/models HF_HOME=$WORK/hf SMOLVLM SMOLVLM_NO_AUTOSTART=1 SMOLVLM_HOST=127.0.0.1:1
out=$(HF_ENDPOINT=http://127.0.0.1:$(cat "$WORK/hub.port") DEMO_DIR=$WORK/demo DEMO_TOKENS=12 \
  bash "$ROOT/scripts/demo.sh" 2>"$WORK/demo.err") || fail "demo: $(cat "$WORK/demo.err")"
grep -q "== smolvlm pull smolvlm2:256m" <<<"$out" || fail "demo did not pull: $out"
grep -q "demo: done" <<<"$out" || fail "demo did not finish: $out"
answer=$(sed -n '/^== smolvlm run/,/^demo: done/p' <<<"$out" | sed '1d;$d' | tr -d '[:space:]')
[[ -n $answer ]] || fail "demo: no answer about the image: $out"
grep -q "eval count:" "$WORK/demo.err" || fail "demo: no timings (--verbose)"
[[ -f $WORK/demo/demo.png ]] || fail "demo: no example image"
python3 - "$WORK/demo/demo.png" <<'PYCHECK' || fail "demo image"
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", b[16:24]) == (640, 480), b[:32]
PYCHECK
m=$OLLAMA_MODELS/manifests/registry.ollama.ai/library/smolvlm2/256m
[[ -f $m ]] || fail "demo: no manifest at $m"
# The pulled layers are the Q4_K_M text model and the f16 projector, byte for byte.
for f in "$G/text-Q4_K_M.gguf" "$G/mmproj-F16.gguf"; do
  d=$(sha256sum "$f" | cut -c1-64)
  [[ -f $OLLAMA_MODELS/blobs/sha256-$d ]] || fail "demo: $(basename "$f") not in the store"
done

# The hub unreachable: a plain message naming HF_ENDPOINT and a local checkpoint, then the same
# pipeline on a random-weight model with the real 256M shapes (no tokenizer at hand: a synthetic
# vocabulary of the real size), said to be random before and after, with its timings; exit 0.
set +e
HF_ENDPOINT=http://127.0.0.1:9 DEMO_DIR=$WORK/demo2 OLLAMA_MODELS=$WORK/models2 DEMO_TOKENS=8 DEMO_MAX_TILES=1 \
  bash "$ROOT/scripts/demo.sh" >"$WORK/out2" 2>"$WORK/err2"
rc=$?
set -e
[[ $rc == 0 ]] || fail "demo with no hub: exit $rc: $(tail -n 20 "$WORK/err2")"
grep -q "could not pull smolvlm2:256m from http://127.0.0.1:9" "$WORK/err2" || fail "demo with no hub: $(cat "$WORK/err2")"
grep -q "HF_ENDPOINT=https://hf-mirror.com make demo" "$WORK/err2" || fail "demo with no hub: no mirror hint"
grep -q "convert /path/to/SmolVLM2" "$WORK/err2" || fail "demo with no hub: no local-checkpoint hint"
out2=$(cat "$WORK/out2")
grep -q "RANDOM" <<<"$(sed -n '1,/== smolvlm run/p' <<<"$out2")" || fail "offline demo: not said to be random before: $out2"
grep -q "The weights were random" <<<"$(sed -n '/== smolvlm run/,$p' <<<"$out2")" || fail "offline demo: not said after: $out2"
grep -q "vocab 49280" "$WORK/err2" "$WORK/out2" || fail "offline demo: not the real vocabulary size"
grep -q "eval count:" "$WORK/err2" || fail "offline demo: no timings"
grep -q "image encode count:" "$WORK/err2" || fail "offline demo: no image encode timing"
[[ -f $WORK/demo2/random-gguf/SmolVLM2-256M-random-Q4_K_M.gguf ]] || fail "offline demo: no Q4_K_M"
echo "demo offline: ok"
