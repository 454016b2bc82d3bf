#!/usr/bin/env bash
# The chat page (/ui) in a real browser: Debian's Chromium driven by playwright-core (pinned in
# tests/node/package-lock.json) through tests/node/web_ui.test.mjs, against a live `smolvlm serve`
# whose store holds tiny (vision), texty (text only), gone (deleted by the test) and long (random
# weights with the real 256M shapes and vocabulary: its replies run for many seconds, where tiny's
# end within milliseconds, so that Stop has something to stop). Afterwards the server's log must
# show the generations the page stopped as cancelled.
#
# env: SMOLVLM, SMOLVLM_SHARED. Exit 77 (skip) without node, chromium, tests/node/node_modules
# (`make deps`) or the golden files.
set -euo pipefail
exec </dev/null

SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SMOLVLM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
G=$SHARED/golden/tiny512
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null || { echo "SKIP: node not installed"; exit 77; }
[[ -x $CHROMIUM ]] || { echo "SKIP: $CHROMIUM not installed (make deps installs Debian's chromium)"; exit 77; }
[[ -d $ROOT/tests/node/node_modules/playwright-core ]] ||
  { echo "SKIP: tests/node/node_modules/playwright-core missing (npm ci --prefix tests/node)"; exit 77; }
[[ -f $G/gguf/text-Q8_0.gguf && -f $G/gguf/mmproj-Q8_0.gguf && -f $G/inputs/image.png ]] ||
  { echo "SKIP: $G not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-webui.XXXXXX")
PID=
cleanup() {
  if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $WORK/serve.log ]] && sed 's/^/serve: /' "$WORK/serve.log" >&2; exit 1; }
source "$(dirname "$0")/serve_lib.bash"

tiny_store
for m in texty gone; do
  printf 'FROM %s\n' "$G/gguf/text-Q8_0.gguf" >"$WORK/$m.Modelfile"
  SMOLVLM_HOST=127.0.0.1:1 "$SMOLVLM" create $m -f "$WORK/$m.Modelfile" >/dev/null 2>&1 || fail "create $m"
done
"$SMOLVLM" dev random-checkpoint real256m 1 "$WORK/long-hf" -q --no-progress || fail "random-checkpoint"
"$SMOLVLM" convert "$WORK/long-hf" --outdir "$WORK/long" >/dev/null 2>&1 || fail "convert"
rm -rf "$WORK/long-hf"
printf 'FROM %s\n' "$(ls "$WORK"/long/*.gguf | grep -v mmproj)" >"$WORK/long.Modelfile"
SMOLVLM_HOST=127.0.0.1:1 "$SMOLVLM" create long -f "$WORK/long.Modelfile" >/dev/null 2>&1 || fail "create long"
rm -rf "$WORK/long"
ffmpeg -loglevel error -f lavfi -i testsrc=duration=3:size=160x120:rate=10 -c:v libvpx -b:v 200k "$WORK/clip.webm" ||
  fail "ffmpeg could not make the test clip"
serve serve.log

SMOLVLM_URL=$URL IMAGE=$G/inputs/image.png VIDEO=$WORK/clip.webm OUT=$WORK CHROMIUM=$CHROMIUM HOME=$WORK \
  node --test --test-concurrency=1 "$ROOT/tests/node/markdown.test.mjs" "$ROOT/tests/node/web_ui.test.mjs" || fail "the page's tests failed"

n=$(grep -c "generation cancelled after" "$WORK/serve.log" || true)
[[ $n -ge 2 ]] || fail "the server logged $n cancelled generations, expected the 2 the page stopped"
echo "PASS: web_ui ($n generations cancelled by the page)"
