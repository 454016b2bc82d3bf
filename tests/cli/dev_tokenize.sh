#!/usr/bin/env bash
# `smolvlm dev tokenize` / `dev detokenize` end to end on the golden tiny GGUFs: every string of
# golden/tiny{512,384}/index.json -> tokenize (text from a file, --json and one-per-line output)
# must give llama.cpp's ids, and detokenize those ids must give the text back byte for byte;
# plus --no-special, --skip-special and the error exits. Python's standard library drives the
# binary (no shell quoting of the test strings).
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/).
# Exit 77 (skipped) when the golden files or /usr/bin/python3 are missing.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's

SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
SHARED=${SMOLVLM_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
PY=/usr/bin/python3
[[ -f $SHARED/golden/tiny512/index.json ]] || { echo "SKIP: $SHARED/golden/tiny512/index.json not found"; exit 77; }
[[ -x $PY ]] || { echo "SKIP: $PY not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-tokenize.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$PY" - "$SMOLVLM" "$SHARED" "$WORK" <<'PYEOF'
import json, os, subprocess, sys

smolvlm, shared, work = sys.argv[1:4]

def run(*args, ok=True):
    p = subprocess.run([smolvlm, *args], capture_output=True)
    if ok and p.returncode != 0:
        sys.exit(f"FAIL: smolvlm {' '.join(args)}: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
    return p

n = 0
for model in ("tiny512", "tiny384"):
    gguf = os.path.join(shared, "golden", model, "gguf", "text-Q4_0.gguf")
    with open(os.path.join(shared, "golden", model, "index.json"), encoding="utf-8") as f:
        cases = json.load(f)["tokenize"]
    for c in cases:
        text, want = c["text"], c["ids"]
        path = os.path.join(work, "text.txt")
        with open(path, "wb") as f:
            f.write(text.encode("utf-8"))
        got = json.loads(run("dev", "tokenize", gguf, "--file", path, "--json").stdout)
        if got != want:
            sys.exit(f"FAIL: {model} tokenize {text!r}: {got} != {want}")
        lines = [int(x) for x in run("dev", "tokenize", gguf, "--file", path).stdout.split()]
        if lines != want:
            sys.exit(f"FAIL: {model} tokenize (lines) {text!r}: {lines}")
        back = run("dev", "detokenize", gguf, ",".join(map(str, want))).stdout
        if back != text.encode("utf-8"):
            sys.exit(f"FAIL: {model} detokenize {want}: {back!r} != {text!r}")
        n += 1

gguf = os.path.join(shared, "golden", "tiny512", "gguf", "text-F32.gguf")
plain = json.loads(run("dev", "tokenize", gguf, "<image>x", "--json", "--no-special").stdout)
parsed = json.loads(run("dev", "tokenize", gguf, "<image>x", "--json").stdout)
assert parsed[0] == 598 and 598 not in plain and len(plain) > len(parsed), (plain, parsed)
assert run("dev", "detokenize", gguf, "598", "90", "--skip-special").stdout == b"x"
assert run("dev", "detokenize", gguf, "598 90").stdout == b"<image>x"
for bad in (["dev", "detokenize", gguf, "1,nope"], ["dev", "detokenize", gguf, "600"],
            ["dev", "tokenize", os.path.join(shared, "golden", "tiny512", "gguf", "mmproj-F32.gguf"), "hi"]):
    p = run(*bad, ok=False)
    if p.returncode != 1 or not p.stderr.startswith(b"smolvlm: error: "):
        sys.exit(f"FAIL: {bad}: exit {p.returncode}, stderr {p.stderr!r}")
print(f"dev tokenize/detokenize: {n} golden strings OK, options and errors OK")
PYEOF
