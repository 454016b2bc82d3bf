#!/usr/bin/env bash
# `smolvlm batch` end to end on the golden tiny512 model (Q8_0 text + F32 projector): a folder of
# golden images plus a video and bad inputs (not an image, a truncated PNG, a dangling link, a path
# that does not exist, a pattern matching nothing) -> one record each; the answers equal
# `smolvlm run --image/--video F PROMPT --temperature 0 -n N`; --parallel 2 answers as --parallel 1;
# resume (skip done, retry errors, --skip-errors, a deleted record re-done alone, a line cut by a
# killed run dropped); CSV quoting read back by python's csv; --prompts files; the exit-1 errors.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 when the
# golden files or python3 are missing.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's

SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
SHARED=${SMOLVLM_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
G=$SHARED/golden/tiny512/gguf
IMAGES=$SHARED/golden/preprocess/images
[[ -f $G/text-Q8_0.gguf && -f $G/mmproj-F32.gguf && -d $IMAGES ]] || { echo "SKIP: golden files not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-batch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export SMOLVLM_HOST=127.0.0.1:1 SMOLVLM_NO_AUTOSTART=1 OLLAMA_MODELS=$WORK/models
unset OLLAMA_HOST
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }

MODEL=(--mmproj "$G/mmproj-F32.gguf")
TEXT=$G/text-Q8_0.gguf
N=6
PROMPT="What is in this picture?"
GEN=(--temperature 0 -n "$N" --threads 2)
batch() { "$SMOLVLM" batch "$TEXT" "${MODEL[@]}" "${GEN[@]}" "$@"; }

# The inputs: three images (one in a sub-folder), a video, and the bad ones.
cd "$WORK"
mkdir -p imgs/sub imgs/bad.png imgs/.hidden
cp "$IMAGES/rocket.jpg" "$IMAGES/synth_300x200.png" imgs/
cp "$IMAGES/gray_320x240.png" imgs/sub/
cp "$IMAGES/chelsea.png" imgs/.hidden/ignored.png     # hidden folders are not searched
echo "plain text" > imgs/notes.txt                   # not a media name: not picked up
echo "plain text" > imgs/fake.jpg                    # named as an image, is not one
head -c 300 "$IMAGES/chelsea.png" > imgs/broken.png  # truncated PNG
ln -s "$WORK/nowhere.png" imgs/dangling.png          # unreadable: its target does not exist
# A 1.5 s uncompressed AVI (RGB frames, no ffmpeg CLI needed).
python3 - imgs/sub/clip.avi <<'PY'
import struct, sys
def chunk(tag, data): return tag + struct.pack('<I', len(data)) + data + (b'\0' if len(data) % 2 else b'')
def lst(tag, body): return chunk(b'LIST', tag + body)
w, h, fps, n = 64, 48, 10, 15
size = w * 3 * h
avih = struct.pack('<IIIIIIIIII4I', 1000000 // fps, size * fps, 0, 0x10, n, 0, 1, size, w, h, 0, 0, 0, 0)
strh = struct.pack('<4s4sIHHIIIIIIIIhhhh', b'vids', b'DIB ', 0, 0, 0, 0, 1, fps, 0, n, size, 0xFFFFFFFF, 0, 0, 0, w, h)
strf = struct.pack('<IiiHHIIiiII', 40, w, h, 1, 24, 0, size, 0, 0, 0, 0)
hdrl = lst(b'hdrl', chunk(b'avih', avih) + lst(b'strl', chunk(b'strh', strh) + chunk(b'strf', strf)))
frames, idx, off = b'', b'', 4
for i in range(n):
    c = (40 + 12 * i) % 256
    data = (bytes([c, 255 - c, (c * 3) % 256]) * (w // 2) + bytes([200, 200, 200]) * (w // 2)) * h
    idx += struct.pack('<4sIII', b'00db', 0x10, off, len(data))
    frames += chunk(b'00db', data)
    off += len(data) + 8
body = b'AVI ' + hdrl + lst(b'movi', frames) + chunk(b'idx1', idx)
open(sys.argv[1], 'wb').write(b'RIFF' + struct.pack('<I', len(body)) + body)
PY
OK_FILES=(imgs/rocket.jpg imgs/sub/clip.avi imgs/sub/gray_320x240.png imgs/synth_300x200.png)

# Reads a JSONL / CSV output into "file<TAB>answer-or-ERROR:error" lines, sorted.
cat > table.py <<'PY'
import csv, json, sys
path = sys.argv[1]
if path.endswith('.csv'):
    rows = list(csv.DictReader(open(path, newline='', encoding='utf-8')))
else:
    rows = [json.loads(l) for l in open(path, encoding='utf-8') if l.strip()]
for r in sorted(rows, key=lambda r: r['file']):
    out = 'ERROR:' + r['error'] if r.get('error') else repr(r['answer'])
    print(r['file'] + '\t' + r['prompt'].replace('\n', '\\n') + '\t' + out)
PY
table() { python3 table.py "$1"; }
count() { grep -c . "$1" || true; }

# 1. The batch: one record per input, errors recorded, exit 0.
batch imgs missing.png 'imgs/*.gif' imgs/sub/../rocket.jpg --prompt "$PROMPT" -o out.jsonl 2>err.txt \
  || fail "batch exited $?: $(cat err.txt)"
t=$(table out.jsonl)
[[ $(count out.jsonl) == 9 ]] || fail "want 9 records, got: $t"
expect "$t" $'imgs/broken.png\t'"$PROMPT"$'\tERROR:truncated PNG'
expect "$t" $'imgs/fake.jpg\t'"$PROMPT"$'\tERROR:not an image or a video smolvlm can read'
expect "$t" $'imgs/dangling.png\t'"$PROMPT"$'\tERROR:a broken symbolic link'
expect "$t" $'missing.png\t'"$PROMPT"$'\tERROR:no such file'
expect "$t" $'imgs/*.gif\t'"$PROMPT"$'\tERROR:no file matches this pattern'
grep -qF -e notes.txt -e ignored.png -e bad.png <<<"$t" && fail "non-media / hidden / folder inputs were run: $t"
expect "$(cat err.txt)" "batch: 4 ok, 5 errors, 0 skipped"
expect "$(cat err.txt)" "error: missing.png: no such file"
# tokens/s is over generation time (the records' eval_duration summed), not over the wall time
# that includes encoding; encoding is reported on its own.
python3 - out.jsonl err.txt <<'PY' || fail "batch summary: $(tail -n 1 err.txt)"
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = [r for r in recs if "error" not in r]
m = re.search(r"in ([\d.]+)s: encoding ([\d.]+)s, prompt eval ([\d.]+)s, (\d+) tokens generated in ([\d.]+)s "
              r"\(([\d.]+) tokens/s per reply\)", open(sys.argv[2]).read())
assert m, "no summary line"
wall, enc, pe, n, gen, rate = map(float, m.groups())
assert n == sum(r["eval_tokens"] for r in ok), (n, [r.get("eval_tokens") for r in ok])
want_gen = sum(r["eval_s"] for r in ok)  # each rounded to the millisecond
assert abs(gen - want_gen) <= 0.006 + 1e-3 * want_gen, (gen, want_gen)
slack = 0.0005 * len(ok) / want_gen + 0.01 if want_gen else 0  # the records' rounding, relative
assert want_gen == 0 or abs(rate - n / want_gen) <= slack * rate + 0.1, (rate, n / want_gen)
assert enc > 0 and enc + pe + gen <= wall * 1.05 + 0.01, (enc, pe, gen, wall)
PY

# 2. Each answer is `smolvlm run`'s for the same file and prompt.
for f in "${OK_FILES[@]}"; do
  flag=--image; [[ $f == *.avi ]] && flag=--video
  want=$("$SMOLVLM" run "$TEXT" "${MODEL[@]}" "$flag" "$f" "$PROMPT" "${GEN[@]}")
  got=$(python3 -c 'import json,sys
for l in open("out.jsonl"):
    r = json.loads(l)
    if r["file"] == sys.argv[1]: print(r["answer"]); assert r["eval_tokens"] > 0 and r["prompt_tokens"] > 0' "$f")
  [[ $got == "$want" ]] || fail "$f: batch answered '$got', run '$want'"
done

# 3. --parallel 2 (and CSV): the same records.
batch imgs missing.png 'imgs/*.gif' --prompt "$PROMPT" --parallel 2 -o par.csv 2>err.txt || fail "parallel: $(cat err.txt)"
expect "$(cat err.txt)" "parallel 2"
head -1 par.csv | grep -qx 'file,prompt,answer,error,prompt_tokens,eval_tokens,encode_s,prompt_s,eval_s,total_s' \
  || fail "CSV header: $(head -1 par.csv)"
[[ $(table par.csv) == "$t" ]] || fail "--parallel 2 CSV differs: $(table par.csv) vs $t"

# 4. Resume: done files skipped, errors retried (kept with --skip-errors), a deleted record re-done.
batch imgs missing.png 'imgs/*.gif' --prompt "$PROMPT" -o out.jsonl 2>err.txt
expect "$(cat err.txt)" "batch: 0 ok, 5 errors, 4 skipped"
[[ $(count out.jsonl) == 9 ]] || fail "resume changed the record count: $(count out.jsonl)"
batch imgs missing.png 'imgs/*.gif' --prompt "$PROMPT" -o out.jsonl --skip-errors 2>err.txt
expect "$(cat err.txt)" "nothing to do"
grep -v -e '"imgs/synth_300x200.png"' -e '"imgs/rocket.jpg"' out.jsonl > cut.jsonl
printf '{"file":"imgs/rocket.jpg","prompt":"What is in th' >> cut.jsonl  # a record cut by a kill
mv cut.jsonl out.jsonl
batch imgs missing.png 'imgs/*.gif' --prompt "$PROMPT" -o out.jsonl --skip-errors 2>err.txt
expect "$(cat err.txt)" "batch: 2 ok, 0 errors, 7 skipped"
[[ $(count out.jsonl) == 9 && $(table out.jsonl) == "$t" ]] || fail "resumed records differ: $(cat out.jsonl)"
batch imgs --prompt "$PROMPT" -o par.csv --overwrite 2>err.txt
expect "$(cat err.txt)" "batch: 4 ok, 3 errors, 0 skipped"

batch imgs --prompt "$PROMPT" -o par.csv --skip-errors 2>err.txt
expect "$(cat err.txt)" "nothing to do, all 7 inputs already have a record"

# A model in the store: its PARAMETERs (greedy, num_predict) apply, as with `run`.
cat > Modelfile <<MF
FROM $TEXT
FROM $G/mmproj-F32.gguf
PARAMETER temperature 0
PARAMETER num_predict $N
MF
"$SMOLVLM" create batch-tiny -f Modelfile >/dev/null 2>&1 || fail "create failed"
"$SMOLVLM" batch batch-tiny imgs/rocket.jpg --prompt "$PROMPT" --threads 2 -o store.jsonl 2>err.txt \
  || fail "store model: $(cat err.txt)"
[[ $(table store.jsonl) == "$(grep -F 'imgs/rocket.jpg' <<<"$t")" ]] || fail "store model answer: $(cat store.jsonl)"

# 5. --prompts: a prompt per file (CSV with quoting; JSONL), relative to the prompts file.
mkdir -p lists
cat > lists/p.csv <<'CSV'
file,prompt
../imgs/rocket.jpg,"Describe it, briefly: ""the rocket"""
../imgs/synth_300x200.png,What colors?
CSV
batch --prompts lists/p.csv -o p.csv 2>err.txt || fail "--prompts csv: $(cat err.txt)"
pt=$(table p.csv)
expect "$pt" $'lists/../imgs/rocket.jpg\tDescribe it, briefly: "the rocket"\t'
want=$("$SMOLVLM" run "$TEXT" "${MODEL[@]}" --image imgs/rocket.jpg 'Describe it, briefly: "the rocket"' "${GEN[@]}")
expect "$pt" "$(python3 -c 'import sys; print(repr(sys.argv[1]))' "$want")"
printf '{"file": "imgs/sub/gray_320x240.png", "prompt": "Line one\\nline two"}\n' > p.jsonl
batch imgs/sub/gray_320x240.png imgs/rocket.jpg --prompts p.jsonl -o q.jsonl 2>err.txt || fail "jsonl: $(cat err.txt)"
qt=$(table q.jsonl)
expect "$qt" $'imgs/sub/gray_320x240.png\tLine one\\nline two\t'
expect "$qt" $'imgs/rocket.jpg\t\tERROR:no prompt for this file in p.jsonl'

# 6. Bad arguments exit 1 with a message.
bad() {
  local want=$1; shift
  set +e; out=$("$@" 2>&1); rc=$?; set -e
  [[ $rc == 1 ]] || fail "exit $rc (want 1) for $*: $out"
  expect "$out" "$want"
}
mkdir empty
bad "no images or videos found in empty" batch empty --prompt x
bad "give --prompt TEXT" batch imgs
bad "not a JSON object" batch --prompts table.py --prompt x
bad "cannot write" batch imgs --prompt x -o no/such/dir/out.jsonl
bad "not a batch CSV" batch imgs --prompt x -o lists/p.csv
bad "no-such-model" "$SMOLVLM" batch no-such-model imgs --prompt x
echo "batch_cli: all checks passed"
