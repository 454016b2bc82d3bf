#!/usr/bin/env bash
# Real-size end to end on SmolVLM2-256M shapes (random weights):
#   smolvlm dev random-checkpoint real256m 1 (bf16, real tokenizer)
#   -> smolvlm convert --outtype f16 (text + mmproj GGUF)
#   -> smolvlm quantize text Q4_K_M
#   -> smolvlm inspect --json on the three files,
# checking tensor names, shapes (ggml order), types and sizes against
# reference/llamacpp-gguf-smolvlm.md §2.4 (text tensors), §3.2 (mmproj tensors), §6.3 (Q4_K_M mix),
# and a few weights of the checkpoint against a pure-Python evaluation of the golden generator.
# Prints wall time and peak RSS of each step (/usr/bin/time -v when installed).
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (tokenizer/, golden/).
# Exit 77 (skipped) when the real tokenizer or /usr/bin/python3 is missing. ~1 GB of temp disk.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's

SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
SHARED=${SMOLVLM_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
TOK=$SHARED/tokenizer/smolvlm-256m-instruct
PY=/usr/bin/python3
[[ -f $TOK/tokenizer.json ]] || { echo "SKIP: $TOK/tokenizer.json not found"; exit 77; }
[[ -x $PY ]] || { echo "SKIP: $PY not found (the checks use Python's standard library)"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-realsize.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
HF=$WORK/real256m   # the folder name becomes the GGUF base name
OUT=$WORK/gguf
mkdir -p "$OUT"

# measure LABEL CMD...: runs CMD, then prints "LABEL: wall S s, peak RSS M MB".
measure() {
  local label=$1
  shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -v -o "$WORK/time.$label" "$@"
    awk -v l="$label" -F': ' '
      /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
      /Maximum resident set size/ { rss = $2 / 1024 }
      END { printf "[measure] %s: wall %.1f s, peak RSS %.0f MB\n", l, s, rss }' "$WORK/time.$label"
  else
    local t0=$SECONDS
    "$@"
    echo "[measure] $label: wall ~$((SECONDS - t0)) s (peak RSS unknown: /usr/bin/time not installed)"
  fi
}

# ---- 1. the checkpoint ----------------------------------------------------------------------
measure generate "$SMOLVLM" dev random-checkpoint real256m 1 "$HF" --tokenizer "$TOK" --no-progress
for f in tokenizer.json tokenizer_config.json special_tokens_map.json added_tokens.json vocab.json merges.txt \
  chat_template.json; do
  if [[ -f $TOK/$f ]]; then cmp "$TOK/$f" "$HF/$f" || { echo "FAIL: $f not copied byte for byte"; exit 1; }; fi
done

"$PY" - "$HF" <<'EOF'
import json, math, os, struct, sys
hf = sys.argv[1]
cfg = json.load(open(os.path.join(hf, "config.json")))
t, v = cfg["text_config"], cfg["vision_config"]
want = dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
            num_key_value_heads=3, head_dim=64, vocab_size=49280, torch_dtype="bfloat16")
bad = [(k, t[k], x) for k, x in want.items() if t[k] != x]
bad += [(k, v[k], x) for k, x in dict(hidden_size=768, num_hidden_layers=12, intermediate_size=3072,
        num_attention_heads=12, patch_size=16, image_size=512).items() if v[k] != x]
bad += [(k, cfg[k], x) for k, x in dict(scale_factor=4, image_token_id=49190, vocab_size=49280).items() if cfg[k] != x]
assert not bad, "config.json: %s" % bad
assert json.load(open(os.path.join(hf, "generation_config.json")))["eos_token_id"] == 49279
assert json.load(open(os.path.join(hf, "processor_config.json")))["image_seq_len"] == 64

path = os.path.join(hf, "model.safetensors")
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
assert n % 8 == 0 and list(header)[0] == "__metadata__" and header.pop("__metadata__") == {"format": "pt"}
names = list(header)
assert names == sorted(names) and len(names) == 471, len(names)
off = 0
for nm in names:
    e = header[nm]
    assert e["dtype"] == "BF16", nm
    nb = 2 * math.prod(e["shape"])
    assert e["data_offsets"] == [off, off + nb], nm
    off += nb
assert os.path.getsize(path) == 8 + n + off == 513028808, os.path.getsize(path)
assert sum(math.prod(e["shape"]) for e in header.values()) == 256484928
assert header["model.text_model.embed_tokens.weight"]["shape"] == [49280, 576]
assert header["model.connector.modality_projection.proj.weight"]["shape"] == [576, 12288]
assert header["model.vision_model.embeddings.patch_embedding.weight"]["shape"] == [768, 3, 16, 16]

# A few weights against the generator of golden/README.md §1.2, evaluated here in pure Python.
M = (1 << 64) - 1
def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)
def key(name, seed):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & M
    return h ^ mix64(seed)
def value_bf16(k, j, mean, std):
    u = lambda i: ((mix64((k + (i + 1) * 0x9E3779B97F4A7C15) & M) >> 11) + 0.5) / 2.0 ** 53
    p = j - j % 2
    r, th = math.sqrt(-2.0 * math.log(u(p))), 6.283185307179586 * u(p + 1)
    z = r * (math.cos(th) if j % 2 == 0 else math.sin(th))
    bits = struct.unpack("<I", struct.pack("<f", z * std + mean))[0]
    return (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
checks = {"lm_head.weight": (0.0, 0.1), "model.text_model.embed_tokens.weight": (0.0, 0.5),
          "model.text_model.layers.29.input_layernorm.weight": (1.0, 0.05),
          "model.vision_model.encoder.layers.11.self_attn.q_proj.weight": (0.0, 0.08),
          "model.text_model.layers.7.mlp.down_proj.weight": (0.0, 0.03)}
with open(path, "rb") as f:
    for nm, (mean, std) in checks.items():
        cnt = math.prod(header[nm]["shape"])
        for j in (0, 1, 2, 3, cnt // 2 + 1, cnt - 2, cnt - 1):
            f.seek(8 + n + header[nm]["data_offsets"][0] + 2 * j)
            got = struct.unpack("<H", f.read(2))[0]
            exp = value_bf16(key(nm, 1), j, mean, std)
            assert got == exp, "%s[%d]: %04x, generator says %04x" % (nm, j, got, exp)
print("checkpoint OK: 471 tensors, 256,484,928 parameters, 35 weights match the Python generator")
EOF

# ---- 2. convert, quantize, inspect ---------------------------------------------------------
for cmd in convert quantize inspect; do
  if ! "$SMOLVLM" "$cmd" --help > /dev/null 2>&1; then
    echo "SKIP: 'smolvlm $cmd' is not available in this build (checkpoint checks passed)"
    exit 77
  fi
done
measure convert "$SMOLVLM" convert "$HF" -o "$OUT" --outtype f16 --no-progress
TEXT=$OUT/real256m-F16.gguf
MMPROJ=$OUT/mmproj-real256m-F16.gguf
Q4=$OUT/real256m-Q4_K_M.gguf
measure quantize "$SMOLVLM" quantize "$TEXT" "$Q4" Q4_K_M
for f in "$TEXT" "$MMPROJ" "$Q4"; do
  "$SMOLVLM" inspect "$f" --json > "$f.json"
done
ls -l "$HF/model.safetensors" "$TEXT" "$MMPROJ" "$Q4" | awk '{ printf "[size] %s %d bytes\n", $NF, $5 }'

"$PY" - "$TEXT.json" "$MMPROJ.json" "$Q4.json" <<'EOF'
import json, sys
E, F, L, H, HKV, D, V = 576, 1536, 30, 9, 3, 64, 49280     # text (§2.4)
C, NL, FV, P, S, SC = 768, 12, 3072, 16, 512, 4            # vision (§3.2)
BLOCK = {"F32": (1, 4), "F16": (1, 2), "Q5_0": (32, 22), "Q8_0": (32, 34), "Q4_K": (256, 144), "Q6_K": (256, 210)}

def more_bits(i, n):   # llama-quantize's use_more_bits (§6.3)
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2

def text_expect(q4):
    """name -> (shape in ggml order, type) for the F16 text file or its Q4_K_M quantization."""
    w = lambda t: t if not q4 else None
    ex = {"token_embd.weight": ([E, V], "Q5_0" if q4 else "F16"),
          "output.weight": ([E, V], "Q8_0" if q4 else "F16"),
          "output_norm.weight": ([E], "F32")}
    for i in range(L):
        b = "blk.%d." % i
        mb = more_bits(i, L)
        ex[b + "attn_norm.weight"] = ([E], "F32")
        ex[b + "ffn_norm.weight"] = ([E], "F32")
        ex[b + "attn_q.weight"] = ([E, H * D], "Q5_0" if q4 else "F16")
        ex[b + "attn_k.weight"] = ([E, HKV * D], "Q5_0" if q4 else "F16")
        ex[b + "attn_v.weight"] = ([E, HKV * D], ("Q8_0" if mb else "Q5_0") if q4 else "F16")
        ex[b + "attn_output.weight"] = ([H * D, E], "Q5_0" if q4 else "F16")
        ex[b + "ffn_gate.weight"] = ([E, F], "Q5_0" if q4 else "F16")
        ex[b + "ffn_up.weight"] = ([E, F], "Q5_0" if q4 else "F16")
        ex[b + "ffn_down.weight"] = ([F, E], ("Q6_K" if mb else "Q4_K") if q4 else "F16")
    return ex

def mmproj_expect():
    ex = {"v.patch_embd.weight": ([P, P, 3, C], "F32"), "v.patch_embd.bias": ([C], "F32"),
          "v.position_embd.weight": ([C, (S // P) ** 2], "F32"),
          "v.post_ln.weight": ([C], "F32"), "v.post_ln.bias": ([C], "F32"),
          "mm.model.fc.weight": ([C * SC * SC, E], "F16")}
    for i in range(NL):
        b = "v.blk.%d." % i
        for t in ("attn_q", "attn_k", "attn_v", "attn_out"):
            ex[b + t + ".weight"] = ([C, C], "F16")
            ex[b + t + ".bias"] = ([C], "F32")
        for t in ("ln1", "ln2"):
            ex[b + t + ".weight"] = ([C], "F32")
            ex[b + t + ".bias"] = ([C], "F32")
        ex[b + "ffn_up.weight"] = ([C, FV], "F16")
        ex[b + "ffn_up.bias"] = ([FV], "F32")
        ex[b + "ffn_down.weight"] = ([FV, C], "F16")
        ex[b + "ffn_down.bias"] = ([C], "F32")
    return ex

def meta_value(x):
    return x["value"] if isinstance(x, dict) and "value" in x else x

errors = []
def check(path, expect, n_expected, meta):
    j = json.load(open(path))
    ts = j["tensors"]
    got = {t["name"]: t for t in ts}
    if len(ts) != n_expected or len(got) != len(ts):
        errors.append("%s: %d tensors (%d distinct), want %d" % (path, len(ts), len(got), n_expected))
    if len(expect) != n_expected:
        errors.append("test table: %d entries, want %d" % (len(expect), n_expected))
    for nm in sorted(set(expect) - set(got)):
        errors.append("%s: missing %s" % (path, nm))
    for nm in sorted(set(got) - set(expect)):
        errors.append("%s: unexpected %s" % (path, nm))
    for nm, (shape, typ) in expect.items():
        t = got.get(nm)
        if t is None:
            continue
        if list(t["shape"]) != shape or t["type"] != typ:
            errors.append("%s: %s is %s %s, want %s %s" % (path, nm, t["type"], t["shape"], typ, shape))
            continue
        bs, ts_ = BLOCK[typ]
        n = 1
        for d in shape:
            n *= d
        if t["bytes"] != n // bs * ts_:
            errors.append("%s: %s has %d bytes, want %d" % (path, nm, t["bytes"], n // bs * ts_))
    spans = sorted((t["offset"], t["bytes"], t["name"]) for t in ts)
    for (o1, b1, n1), (o2, _, n2) in zip(spans, spans[1:]):
        if o1 + b1 > o2:
            errors.append("%s: %s overlaps %s" % (path, n1, n2))
    for o, _, nm in spans:
        if o % 32:
            errors.append("%s: %s at offset %d is not 32-byte aligned" % (path, nm, o))
    md = j["metadata"]
    for k, want in meta.items():
        if k not in md:
            errors.append("%s: metadata %s missing" % (path, k))
        elif meta_value(md[k]) != want:
            errors.append("%s: metadata %s = %r, want %r" % (path, k, meta_value(md[k]), want))
    types = {}
    for t in ts:
        types[t["type"]] = types.get(t["type"], 0) + 1
    print("%s: %d tensors %s" % (path.rsplit("/", 1)[-1], len(ts), dict(sorted(types.items()))))

text_meta = {"general.architecture": "llama", "llama.block_count": L, "llama.embedding_length": E,
             "llama.feed_forward_length": F, "llama.attention.head_count": H,
             "llama.attention.head_count_kv": HKV}
check(sys.argv[1], text_expect(False), 273, dict(text_meta, **{"general.file_type": 1}))
check(sys.argv[2], mmproj_expect(), 198,
      {"general.architecture": "clip", "clip.projector_type": "idefics3", "clip.vision.embedding_length": C,
       "clip.vision.block_count": NL, "clip.vision.feed_forward_length": FV, "clip.vision.patch_size": P,
       "clip.vision.image_size": S, "clip.vision.projector.scale_factor": SC, "clip.vision.projection_dim": E,
       "clip.vision.attention.head_count": 12})
check(sys.argv[3], text_expect(True), 273, dict(text_meta, **{"general.file_type": 15}))
if errors:
    print("\n".join(errors[:60]))
    print("FAIL: %d mismatches" % len(errors))
    sys.exit(1)
print("GGUF OK: text F16 273, mmproj F16 198, text Q4_K_M 273 tensors as in the reference")
EOF
# ---- 3. run: Ctrl-C during a long reply (the tiny golden model is too fast to interrupt) ----------
"$PY" "$(dirname "$0")/run_chat.py" "$SMOLVLM" "$Q4" --interrupt

echo "PASS"
