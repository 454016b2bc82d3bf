#!/usr/bin/env bash
# README.md and docs/USAGE.md followed literally, as a new user does: each documented command is
# looked up in the doc, word for word (`doc FILE 'COMMAND'` fails when the doc no longer says it),
# then run in a fresh HOME, on a random-weight checkpoint (golden tiny512's Hugging Face folder)
# where USAGE expects one, with a stand-in Hugging Face Hub (fake_hub.py) serving the repository
# `smolvlm pull smolvlm2:256m` reads. So the docs cannot drift from the product again.
# Along the way, the newcomer's faults of issue #15 are checked where the docs lead to them.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 (skip)
# without the golden files, python3 or ffmpeg.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's
SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SMOLVLM_SHARED:-$ROOT/../shared}
G=$SHARED/golden/tiny512
[[ -f $G/hf/config.json && -f $G/gguf/text-Q4_K_M.gguf ]] || { echo "SKIP: golden files not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: ffmpeg not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-docs.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }

smolvlm() { "$SMOLVLM" "$@"; }
# doc FILE 'COMMAND': the doc must say COMMAND (a whole line's command, its comment aside); then it
# runs, here, with stdout and stderr kept in $out (the command must succeed).
doc() {
  grep -qF -- "$2" "$ROOT/$1" || fail "$1 no longer says: $2"
  out=$(eval "$2" 2>&1 | tr -d '\0') || fail "as $1 says, '$2' failed: $out"  # random weights: any bytes
}

export HOME=$WORK/home
unset OLLAMA_MODELS OLLAMA_HOST SMOLVLM_HOST
export SMOLVLM_NO_AUTOSTART=1  # no background server: every command in this process
mkdir -p "$HOME" "$WORK/cwd/photos" "$WORK/cwd/scans" "$WORK/hub"
cd "$WORK/cwd"
ln -s "$ROOT/modelfiles" modelfiles
# The user's files: a photo, two PNGs, a clip, a folder of photos and scans.
ffmpeg -loglevel error -i "$G/inputs/image.png" cat.jpg
cp "$G/inputs/image.png" a.png
cp "$G/inputs/image.png" scans/page1.png
ffmpeg -loglevel error -f lavfi -i testsrc=duration=3:size=160x120:rate=10 -pix_fmt yuv420p clip.mp4
ffmpeg -loglevel error -f lavfi -i testsrc=size=320x200 -frames:v 1 b.png
cp cat.jpg photos/
echo "Notes: the meeting moved to Tuesday; bring the slides and the budget." >notes.txt

# --- USAGE "Get a model", from a local checkpoint ------------------------------------------------
cp -r "$G/hf" "$HOME/SmolVLM2-256M-Video-Instruct"
doc docs/USAGE.md 'smolvlm convert ~/SmolVLM2-256M-Video-Instruct -o ~/gguf'
[[ -f $HOME/gguf/SmolVLM2-256M-Video-Instruct-F16.gguf && -f $HOME/gguf/mmproj-SmolVLM2-256M-Video-Instruct-F16.gguf ]] ||
  fail "convert did not write the names the Modelfiles expect: $(ls "$HOME/gguf")"
doc docs/USAGE.md 'smolvlm quantize ~/gguf/SmolVLM2-256M-Video-Instruct-F16.gguf ~/gguf/SmolVLM2-256M-Video-Instruct-Q8_0.gguf Q8_0'
doc docs/USAGE.md 'cp modelfiles/smolvlm2-256m-q8_0.Modelfile ~/gguf/'
doc docs/USAGE.md 'smolvlm create smolvlm2:mine -f ~/gguf/smolvlm2-256m-q8_0.Modelfile'
expect "$out" "success"
doc docs/USAGE.md "printf 'FROM ./SmolVLM2-256M-Video-Instruct-F16.gguf\\nFROM ./mmproj-SmolVLM2-256M-Video-Instruct-F16.gguf\\n' > ~/gguf/Modelfile"
doc docs/USAGE.md 'smolvlm create smolvlm2:mine-q4 -f ~/gguf/Modelfile -q q4_K_M'
expect "$out" "success"
# The folder now holds two text GGUFs (F16, Q8_0): the run takes the quantized one and says so.
doc docs/USAGE.md 'smolvlm run ~/gguf/ --image cat.jpg "What is in this picture?"'
expect "$out" "SmolVLM2-256M-Video-Instruct-Q8_0.gguf"
doc docs/USAGE.md 'smolvlm run ~/gguf/ --quant Q8_0 --image cat.jpg "What is in this picture?"'
doc docs/USAGE.md 'smolvlm list'
expect "$out" "smolvlm2:mine "
expect "$out" "smolvlm2:mine-q4"

# --- README's examples ------------------------------------------------------------------------------
cd "$HOME/gguf"
doc README.md 'smolvlm run SmolVLM2-256M-Video-Instruct-Q8_0.gguf "Write a haiku about the sea." --temperature 0'
ln -s SmolVLM2-256M-Video-Instruct-Q8_0.gguf model.gguf
doc README.md 'echo "What is 2+2?" | smolvlm run model.gguf -n 32 --seed 1'
cp "$WORK/cwd/notes.txt" .
doc README.md 'cat notes.txt | smolvlm run model.gguf "Summarize this:"'
cp "$WORK/cwd/cat.jpg" "$WORK/cwd/clip.mp4" .
doc README.md 'smolvlm run ~/gguf/ --image cat.jpg "What is in this picture?"'
doc README.md 'smolvlm run ~/gguf/ --video clip.mp4 --max-tiles 4 "What happens?"'
cd "$WORK/cwd"

# --- USAGE "Get a model" from the hub, then "Ask about images and videos" ---------------------------
cp "$G/gguf/text-Q4_K_M.gguf" "$WORK/hub/SmolVLM2-256M-Video-Instruct-Q4_K_M.gguf"
cp "$G/gguf/text-Q8_0.gguf" "$WORK/hub/SmolVLM2-256M-Video-Instruct-Q8_0.gguf"
cp "$G/gguf/mmproj-F16.gguf" "$WORK/hub/mmproj-SmolVLM2-256M-Video-Instruct-f16.gguf"
python3 "$ROOT/tests/cli/fake_hub.py" "$WORK/hub.port" ggml-org/SmolVLM2-256M-Video-Instruct-GGUF="$WORK/hub" &
PIDS+=($!)
for _ in $(seq 100); do [[ -s $WORK/hub.port ]] && break; sleep 0.1; done
[[ -s $WORK/hub.port ]] || fail "the stand-in hub did not start"
export HF_ENDPOINT=http://127.0.0.1:$(cat "$WORK/hub.port")
doc docs/USAGE.md 'smolvlm pull smolvlm2:256m'
expect "$out" "success"
doc docs/USAGE.md 'smolvlm run smolvlm2:256m --image cat.jpg "What is in this picture?"'
doc docs/USAGE.md 'smolvlm run smolvlm2:256m --image a.png --image b.png "What differs between these two?"'
doc docs/USAGE.md 'smolvlm run smolvlm2:256m --video clip.mp4 "What happens, and when?"'
doc docs/USAGE.md 'smolvlm run smolvlm2:256m --format json "List three colours as a JSON array."'
python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out" || fail "--format json: '$out' is not JSON"
doc docs/USAGE.md 'cat notes.txt | smolvlm run smolvlm2:256m "Summarize this:"'

# --- USAGE "Many files at once" ---------------------------------------------------------------------
doc docs/USAGE.md "smolvlm batch smolvlm2:256m photos/ 'scans/*.png' clip.mp4 --prompt \"Describe this image.\" -o answers.jsonl"
[[ $(grep -c '"answer"' answers.jsonl) == 3 ]] || fail "batch: want 3 answers: $(cat answers.jsonl)"
expect "$out" "batch: 3 ok, 0 errors"
expect "$out" "tokens generated in"

# --- What a newcomer trips over on the way (issue #15) ------------------------------------------------
set +e
out=$(smolvlm run gguf/nope.gguf "hi" 2>&1); rc=$?
[[ $rc == 1 ]] || fail "run of a missing file: exit $rc"
expect "$out" "smolvlm: error: file not found: gguf/nope.gguf"
out=$(smolvlm run ~/nope/ "hi" 2>&1)
expect "$out" "file not found: $HOME/nope/"
printf 'FROM /nonexistent/model.gguf\n' >Modelfile.bad
out=$(smolvlm create bad -f Modelfile.bad 2>&1)
expect "$out" "file not found: /nonexistent/model.gguf"
mkdir -p mf && printf 'FROM ./x.gguf\n' >mf/Modelfile
out=$(smolvlm create bad -f mf/Modelfile 2>&1)
expect "$out" "FROM ./x.gguf: file not found: $WORK/cwd/mf/x.gguf (relative to the Modelfile's folder, $WORK/cwd/mf"
blobs_before=$(ls "$HOME/.ollama/models/blobs" | wc -l)
out=$(smolvlm create bad -f ~/gguf/Modelfile -q q9_bogus 2>&1); rc=$?
[[ $rc == 1 ]] || fail "create -q with an unknown type: exit $rc"
expect "$out" "unknown quantization type 'q9_bogus'"
[[ $(ls "$HOME/.ollama/models/blobs" | wc -l) == "$blobs_before" ]] || fail "a refused create -q left files in the store"
out=$(smolvlm runn 2>&1); rc=$?
[[ $rc == 1 ]] || fail "runn: exit $rc"
expect "$out" "unknown command 'runn'; did you mean 'run'?"
echo "plain text" >fake.jpg
out_run=$(smolvlm run smolvlm2:256m --image fake.jpg "hi" 2>&1 | tr -d '\0')
out_batch=$(smolvlm batch smolvlm2:256m fake.jpg --prompt hi 2>&1)
set -e
msg="not an image or a video smolvlm can read (it starts with 70 6c 61 69 6e 20 74 65 \"plain te\")"
expect "$out_run" "fake.jpg: $msg"
expect "$out_batch" "$msg"
grep -qF "not an image or a video smolvlm can read" "$ROOT/docs/TROUBLESHOOTING.md" || fail "TROUBLESHOOTING.md does not quote the message"

# A pullable name that is not in the store is pulled by `run`, as `ollama run` does.
out=$(smolvlm run smolvlm2:256m-q8_0 "hi" -n 2 2>&1 | tr -d '\0') || fail "run of a pullable name: $out"
expect "$out" "pulling"
expect "$(smolvlm list)" "smolvlm2:256m-q8_0"

# A blob nothing references, older than an hour, and what a killed create left: rm prunes them.
orphan=$HOME/.ollama/models/blobs/sha256-$(printf '%064d' 7)
echo orphan >"$orphan" && touch -d '2 hours ago' "$orphan"
echo partial >"$HOME/.ollama/models/blobs/sha256-tmp-99999-dead"
smolvlm rm smolvlm2:mine >/dev/null 2>&1 || fail "rm"
[[ ! -e $orphan && ! -e $HOME/.ollama/models/blobs/sha256-tmp-99999-dead ]] || fail "rm did not prune: $(ls "$HOME/.ollama/models/blobs")"
echo "docs walkthrough: ok"
