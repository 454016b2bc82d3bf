#!/usr/bin/env bash
# examples/ against a live `smolvlm serve` (free loopback port) holding the golden tiny512 model as
# "tiny": the Python examples (standard library only) and, when node and tests/node/node_modules
# (`make deps`) are there, the JavaScript ones with the official ollama npm client. Each must exit 0
# and answer: analyze_image (one and two images, --json, options before, between and after the
# positionals), batch_process (a folder with a non-image and a broken image: errors recorded, the rest
# answered; a second run skips what is done; a tree with hidden files and folders and a subfolder:
# picked like `smolvlm batch` picks them), interactive_chat (piped: /image, two turns, /clear),
# video_frames (a generated clip, whole and per window; --segments reads the clip's real length).
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 (skip)
# without the golden files or python3.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's
SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SMOLVLM_SHARED:-$ROOT/../shared}
G=$SHARED/golden/tiny512
[[ -f $G/gguf/text-Q8_0.gguf ]] || { echo "SKIP: golden files not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-examples.XXXXXX")
PID=
cleanup() {
  if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $WORK/serve.log ]] && sed 's/^/serve: /' "$WORK/serve.log" >&2; exit 1; }

export OLLAMA_MODELS=$WORK/models SMOLVLM_NO_AUTOSTART=1
printf 'FROM %s\nFROM %s\nPARAMETER temperature 0\n' "$G/gguf/text-Q8_0.gguf" "$G/gguf/mmproj-F32.gguf" >"$WORK/Modelfile"
SMOLVLM_HOST=127.0.0.1:1 "$SMOLVLM" create tiny -f "$WORK/Modelfile" >"$WORK/create.log" 2>&1 || fail "create: $(cat "$WORK/create.log")"
OLLAMA_NUM_PARALLEL=2 "$SMOLVLM" serve --host 127.0.0.1:0 >"$WORK/serve.log" 2>&1 &
PID=$!
ADDR=
for _ in $(seq 100); do
  ADDR=$(sed -n 's/^smolvlm serve: listening on \([^ ]*\).*/\1/p' "$WORK/serve.log" 2>/dev/null || true)
  [[ -n $ADDR ]] && break
  kill -0 "$PID" 2>/dev/null || fail "server exited"
  sleep 0.1
done
[[ -n $ADDR ]] || fail "server did not start"
export OLLAMA_HOST=http://$ADDR
IMG=$SHARED/golden/preprocess/images
PY=$ROOT/examples/python
nonempty() { [[ -n $(tr -d '[:space:]' <<<"$1") ]] || fail "$2: empty answer"; }

# --- Python ---------------------------------------------------------------------------------------
out=$(python3 "$PY/analyze_image.py" "$G/inputs/image.png" "What is this?" --model tiny -n 8 --verbose 2>"$WORK/err") \
  || fail "analyze_image.py: $(cat "$WORK/err")"
nonempty "$out" analyze_image.py
grep -q "prompt:" "$WORK/err" || fail "analyze_image.py --verbose: no timings"
out=$(python3 "$PY/analyze_image.py" "$IMG/synth_300x200.png" "Compare" --image "$IMG/gray_320x240.png" --model tiny \
  --max-tiles 2 -n 4) || fail "analyze_image.py with two images"
# --json: the reply is constrained to JSON (a random model may still be cut by -n, so only its start is checked).
out=$(python3 "$PY/analyze_image.py" "$IMG/synth_300x200.png" --model tiny --json -n 20 --temperature 0.7) \
  || fail "analyze_image.py --json"
[[ $out =~ ^[[:space:]]*[\[\{\"0-9tfn-] ]] || fail "analyze_image.py --json: '$out' does not start a JSON value"
# Options anywhere: before the image, between the image and the prompt, after the prompt.
out=$(python3 "$PY/analyze_image.py" --model tiny "$IMG/synth_300x200.png" -n 4 "What is this?" --max-tiles 2 2>"$WORK/err") \
  || fail "analyze_image.py, options between the positionals: $(cat "$WORK/err")"
nonempty "$out" "analyze_image.py, options between the positionals"
out=$(python3 "$PY/analyze_image.py" "$IMG/synth_300x200.png" --image "$IMG/gray_320x240.png" "Compare" --model tiny -n 4 \
  --verbose 2>"$WORK/err") || fail "analyze_image.py IMAGE --image MORE PROMPT: $(cat "$WORK/err")"
nonempty "$out" "analyze_image.py IMAGE --image MORE PROMPT"
grep -q "prompt:" "$WORK/err" || fail "analyze_image.py IMAGE --image MORE PROMPT --verbose: no timings"

mkdir -p "$WORK/photos"
cp "$IMG/synth_300x200.png" "$IMG/gray_320x240.png" "$IMG/rocket.jpg" "$WORK/photos/"
echo "not an image" >"$WORK/photos/notes.txt"          # skipped: not a media file name
head -c 100 "$IMG/rocket.jpg" >"$WORK/photos/broken.jpg"  # the server's error is recorded
python3 "$ROOT/examples/python/batch_process.py" "$WORK/photos" --model tiny --prompt "What is this?" -n 4 --workers 2 \
  --output "$WORK/answers.jsonl" 2>"$WORK/err" || fail "batch_process.py: $(cat "$WORK/err")"
python3 - "$WORK/answers.jsonl" <<'PYCHECK' || fail "batch_process.py output"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
files = {r["file"].rsplit("/", 1)[1]: r for r in recs}
assert sorted(files) == ["broken.jpg", "gray_320x240.png", "rocket.jpg", "synth_300x200.png"], sorted(files)
assert "error" in files["broken.jpg"], files["broken.jpg"]
assert all("answer" in files[f] for f in files if f != "broken.jpg"), recs
PYCHECK
python3 "$ROOT/examples/python/batch_process.py" "$WORK/photos" --model tiny -n 4 --output "$WORK/answers.jsonl" 2>"$WORK/err"
[[ $(wc -l <"$WORK/answers.jsonl") == 5 ]] || fail "batch_process.py resume: only broken.jpg is retried ($(wc -l <"$WORK/answers.jsonl") lines)"

# Hidden names and subfolders, as `smolvlm batch` treats them: folders searched recursively, a name
# starting with '.' skipped (a hidden folder not searched), extensions in any case, sorted by path.
TREE=$WORK/tree
mkdir -p "$TREE/sub/deeper" "$TREE/.cache" "$TREE/sub/.thumbs"
cp "$IMG/synth_300x200.png" "$TREE/top.png"
cp "$IMG/gray_320x240.png" "$TREE/sub/inner.PNG"
cp "$IMG/rocket.jpg" "$TREE/sub/deeper/rocket.jpeg"
for hid in .hidden.png .cache/cached.png sub/.thumbs/thumb.jpg sub/.also_hidden.jpg; do cp "$IMG/synth_300x200.png" "$TREE/$hid"; done
echo "not an image" >"$TREE/sub/readme.txt"
TREE_WANT='["sub/deeper/rocket.jpeg", "sub/inner.PNG", "top.png"]'
# The subfolder named first and again inside the tree (options between the paths): each file once.
python3 "$PY/batch_process.py" "$TREE/sub" --model tiny -n 2 "$TREE" --output "$WORK/tree.jsonl" 2>"$WORK/err" \
  || fail "batch_process.py on a tree: $(cat "$WORK/err")"
python3 - "$WORK/tree.jsonl" "$TREE" "$TREE_WANT" <<'PYCHECK' || fail "batch_process.py on a tree: $(cat "$WORK/tree.jsonl")"
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
files = [os.path.relpath(r["file"], sys.argv[2]) for r in recs]
# sub/ first (named first), then the rest of the tree; each sorted by path; nothing hidden.
assert files == ["sub/deeper/rocket.jpeg", "sub/inner.PNG", "top.png"], files
assert sorted(set(files)) == json.loads(sys.argv[3]), files
assert all("answer" in r for r in recs), recs
PYCHECK

out=$(printf '/image %s\nWhat is this?\nAnd the color?\n/clear\nHello\n' "$IMG/synth_300x200.png" |
  python3 "$PY/interactive_chat.py" --model tiny -n 6 2>"$WORK/err") || fail "interactive_chat.py: $(cat "$WORK/err")"
[[ $(grep -c . <<<"$out") -ge 3 ]] || fail "interactive_chat.py: expected three answers, got: $out"
grep -q "Cleared session context" "$WORK/err" || fail "interactive_chat.py: /clear"

if command -v ffmpeg >/dev/null; then
  # --segments without --duration: the windows cover the clip's real length (5 s, not an assumed one).
  ffmpeg -loglevel error -f lavfi -i testsrc=duration=5:size=160x120:rate=10 -pix_fmt yuv420p "$WORK/clip5.mp4"
  out=$(python3 "$PY/video_frames.py" "$WORK/clip5.mp4" --segments 2 --model tiny -n 4 2>"$WORK/err") \
    || fail "video_frames.py --segments (length from the file): $(cat "$WORK/err")"
  windows=$(sed -n 's/^\([0-9][0-9]:[0-9][0-9]-[0-9][0-9]:[0-9][0-9]\)  .*/\1/p' <<<"$out" | tr '\n' ' ')
  [[ $windows == "00:00-00:02 00:02-00:04 00:04-00:05 " ]] || fail "video_frames.py --segments on a 5 s clip: $out"
  # The length read from other containers' headers (no server needed): ffprobe's, to the millisecond.
  for clip in clip3.mkv clip7.mov clip4.avi; do
    secs=${clip//[!0-9]/}
    ffmpeg -loglevel error -f lavfi -i "testsrc=duration=$secs.5:size=64x48:rate=10" "$WORK/$clip" \
      || fail "ffmpeg could not write $clip"
    python3 - "$PY" "$WORK/$clip" "$secs.5" <<'PYCHECK' || fail "video_frames.py: the length of $clip"
import sys
sys.path.insert(0, sys.argv[1])
import video_frames
video_frames.shutil.which = lambda *_: None  # the header, not ffprobe
got = video_frames.clip_duration(sys.argv[2])
assert got is not None and abs(got - float(sys.argv[3])) < 0.05, got
PYCHECK
  done
  ffmpeg -loglevel error -f lavfi -i testsrc=duration=4:size=160x120:rate=10 -pix_fmt yuv420p "$WORK/clip.mp4"
  out=$(python3 "$PY/video_frames.py" "$WORK/clip.mp4" --model tiny -n 6) || fail "video_frames.py"
  nonempty "$out" video_frames.py
  out=$(python3 "$PY/video_frames.py" "$WORK/clip.mp4" --model tiny -n 4 --segments 2 --duration 4) || fail "video_frames.py --segments"
  [[ $(grep -c '^00:0[02]-00:0[24]  ' <<<"$out") == 2 ]] || fail "video_frames.py --segments: $out"
else
  echo "note: ffmpeg not found, video_frames.py not exercised"
fi

# --- JavaScript (the ollama npm client from tests/node) --------------------------------------------
# examples/js/package.json (where users run `npm install`) pins the client version the tests use.
python3 - "$ROOT/examples/js/package.json" "$ROOT/tests/node/package.json" <<'PYCHECK' || fail "examples/js/package.json"
import json, sys
ex, tested = (json.load(open(p))["dependencies"]["ollama"] for p in sys.argv[1:])
assert ex == tested, f"examples/js pins ollama {ex}, tests/node tests {tested}"
PYCHECK
for f in "$ROOT"/examples/js/*.mjs; do grep -q 'npm install' "$f" || fail "$f: does not say where to run npm install"; done
if command -v node >/dev/null && [[ -d $ROOT/tests/node/node_modules/ollama ]]; then
  mkdir -p "$WORK/js" && cp "$ROOT"/examples/js/*.mjs "$WORK/js/" && ln -s "$ROOT/tests/node/node_modules" "$WORK/js/node_modules"
  out=$(node "$WORK/js/analyze_image.mjs" "$G/inputs/image.png" "What is this?" --model tiny --num-predict 6) \
    || fail "analyze_image.mjs"
  nonempty "$out" analyze_image.mjs
  node "$WORK/js/batch_process.mjs" "$WORK/photos" --model tiny --num-predict 4 --output "$WORK/js.jsonl" || fail "batch_process.mjs"
  [[ $(grep -c '"answer"' "$WORK/js.jsonl") == 3 && $(grep -c '"error"' "$WORK/js.jsonl") == 1 ]] || fail "batch_process.mjs output: $(cat "$WORK/js.jsonl")"
  node "$WORK/js/batch_process.mjs" "$TREE" --model tiny --num-predict 2 --output "$WORK/js-tree.jsonl" \
    || fail "batch_process.mjs on a tree"
  python3 - "$WORK/js-tree.jsonl" "$TREE" "$TREE_WANT" <<'PYCHECK' || fail "batch_process.mjs on a tree: $(cat "$WORK/js-tree.jsonl")"
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
files = [os.path.relpath(r["file"], sys.argv[2]) for r in recs]
assert files == json.loads(sys.argv[3]), files  # sorted by path, nothing hidden
assert all("answer" in r for r in recs), recs
PYCHECK
  out=$(printf '/image %s\nWhat is this?\nAnd now?\n' "$IMG/synth_300x200.png" | node "$WORK/js/interactive_chat.mjs" --model tiny --num-predict 6) \
    || fail "interactive_chat.mjs"
  [[ $(grep -c . <<<"$out") -ge 2 ]] || fail "interactive_chat.mjs: $out"
else
  echo "note: node or tests/node/node_modules missing, JavaScript examples not exercised"
fi
kill -0 "$PID" 2>/dev/null || fail "the server died"
echo "examples: ok"
