#!/usr/bin/env bash
# The GPU checks, prepared to run in one go on a machine with an NVIDIA GPU (an H100/H200 lent through the
# device tool, whose NVIDIA driver provides Vulkan), and to fit in ~10 minutes:
#   1. the machine: nvidia-smi, `smolvlm devices`
#   2. smolvlm built here (cmake + glslc), unless build/release already holds a build
#   3. the GPU tests on the NVIDIA device (SMOLVLM_TEST_DEVICE=nvidia): every shader against the CPU, the
#      golden models offloaded; then again with the fallbacks forced (no subgroups, no fp16)
#   4. speed: real-shape random 256M (and 2.2B unless GPU_CHECK_QUICK=1) at Q4_K_M and Q8_0: smolvlm bench
#      pp512 / tg128 with every layer on the GPU (bound: the card's measured copy bandwidth), and on the CPU
#   5. the time to first token for a 2048-pixel image (17 tiles for 256M) with the projector on the GPU
#      (bench --image: encode_tile_s, encode_image_s, ttft_s), and llama.cpp on the same card and files when
#      LLAMA_BENCH (llama-bench) / LLAMA_MTMD (llama-mtmd-cli) name builds with CUDA or Vulkan
#   6. transformers on the real-shape 256M checkpoint (when torch + transformers import) against our GPU logits
# Results (logs, JSON) go to $OUT (the device tool's folder) or build/gpu_check; the summary is printed.
#
# usage: bash scripts/gpu_check.sh            SMOLVLM_SHARED: the folder with golden/ and tokenizer/
#                                               (default: ./shared, then ../shared)
#        GPU_CHECK_DEVICE=amd bash scripts/gpu_check.sh   another device name substring (default nvidia)
#        GPU_CHECK_BENCH="-p 16 -n 4 -r 1"             smaller bench runs (a dry run on lavapipe)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build/gpu_check}
mkdir -p "$OUT"
DEV=${GPU_CHECK_DEVICE:-nvidia}
SHARED=${SMOLVLM_SHARED:-}
[[ -z $SHARED && -d shared/golden ]] && SHARED=$PWD/shared
[[ -z $SHARED && -d ../shared/golden ]] && SHARED=$(cd ../shared && pwd)
export SMOLVLM_SHARED=$SHARED
T0=$SECONDS
log() { echo "[gpu_check $((SECONDS - T0))s] $*" | tee -a "$OUT/summary.txt"; }
: >"$OUT/summary.txt"

# 1. the machine
{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv 2>&1 || true; } | tee "$OUT/nvidia-smi.txt"
log "shared: ${SHARED:-none}; device: $DEV"

# 2. the build
B=build/release
if [[ ! -x $B/smolvlm || ! -x $B/tests/smolvlm_tests ]]; then
  if command -v cmake >/dev/null && command -v glslc >/dev/null; then
    log "building"
    cmake --preset release -G Ninja >"$OUT/build.log" 2>&1 && cmake --build --preset release -j "$(nproc)" >>"$OUT/build.log" 2>&1 \
      || { log "build failed (see build.log)"; tail -20 "$OUT/build.log"; exit 1; }
  else
    log "no build and no cmake/glslc here: carry build/release"; exit 1
  fi
fi
S=$B/smolvlm
$S devices | tee "$OUT/devices.txt"
$S devices --json >"$OUT/devices.json"
grep -qi "$DEV" "$OUT/devices.txt" || { log "no device matching '$DEV'"; exit 1; }

# 3. the GPU tests on the real device
export SMOLVLM_TEST_DEVICE=$DEV
timeout 240 $B/tests/smolvlm_tests --gtest_filter='*Vulkan*:*Gpu*' >"$OUT/gpu_tests.log" 2>&1
log "GPU tests on $DEV: $(grep -E '^\[  (PASSED|FAILED)' "$OUT/gpu_tests.log" | tr '\n' ' ')"
grep -E "NMSE|vs CPU|dispatches" "$OUT/gpu_tests.log" | head -60 >"$OUT/gpu_tests_figures.txt"
SMOLVLM_VK_NO_SUBGROUP=1 SMOLVLM_VK_NO_FP16=1 timeout 120 $B/tests/smolvlm_tests --gtest_filter='*Vulkan*:*Gpu*tiny512_Q4_K_M*' \
  >"$OUT/gpu_tests_fallbacks.log" 2>&1
log "GPU tests, fallbacks forced: $(grep -E '^\[  (PASSED|FAILED)' "$OUT/gpu_tests_fallbacks.log" | tr '\n' ' ')"

# 4. speed on real-shape random models (the real tokenizer makes the vocabulary real-size)
TOK=$SHARED/tokenizer/smolvlm-256m-instruct
M=$OUT/models
mkdir -p "$M"
make_model() {  # make_model CONFIG -> $M/CONFIG-{Q4_K_M,Q8_0}.gguf
  local c=$1
  [[ -f $M/$c-Q8_0.gguf ]] && return 0
  $S dev random-checkpoint "$c" 1 "$M/$c" --tokenizer "$TOK" -q >>"$OUT/models.log" 2>&1 &&
    $S convert "$M/$c" -o "$M" --outtype f16 >>"$OUT/models.log" 2>&1 &&
    $S quantize "$M/$c-F16.gguf" "$M/$c-Q4_K_M.gguf" Q4_K_M >>"$OUT/models.log" 2>&1 &&
    $S quantize "$M/$c-F16.gguf" "$M/$c-Q8_0.gguf" Q8_0 >>"$OUT/models.log" 2>&1 &&
    rm -rf "$M/$c"
}
CONFIGS="real256m"
[[ ${GPU_CHECK_QUICK:-0} == 1 ]] || CONFIGS="real256m real2b"
for c in $CONFIGS; do
  if ! make_model "$c"; then log "could not make $c (see models.log)"; continue; fi
  for q in Q4_K_M Q8_0; do
    f=$M/$c-$q.gguf
    # shellcheck disable=SC2086
    $S bench "$f" --num-gpu all --device "$DEV" ${GPU_CHECK_BENCH:--p 512 -n 128 -r 3} --json >"$OUT/bench-$c-$q-gpu.json" 2>>"$OUT/bench.log"
    # shellcheck disable=SC2086
    $S bench "$f" --num-gpu 0 ${GPU_CHECK_BENCH:--p 512 -n 128 -r 2} --json >"$OUT/bench-$c-$q-cpu.json" 2>>"$OUT/bench.log"
    python3 - "$OUT/bench-$c-$q-gpu.json" "$OUT/bench-$c-$q-cpu.json" "$c $q" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
g, c = (json.load(open(p)) for p in sys.argv[1:3])
pp = lambda d: next((f"{k} {v:.0f}" for k, v in d.items() if k.startswith("pp") and k[2:].isdigit()), "pp -")
tg = lambda d: next((f"{k} {v:.1f}" for k, v in d.items() if k.startswith("tg") and k[2:].isdigit()), "tg -")
print(f"{sys.argv[3]}: GPU ({g.get('device')}, {g.get('gpu_layers')} layers, copy {g.get('gpu_bandwidth_gbs', 0):.0f} GB/s): "
      f"{pp(g)} t/s, {tg(g)} t/s = {100 * g.get('tg_of_bound', 0):.0f}% of its bound {g.get('bound_tg', 0):.0f}; "
      f"CPU: {pp(c)}, {tg(c)}")
PY
    if [[ -n ${LLAMA_BENCH:-} && -x ${LLAMA_BENCH:-} ]]; then
      "$LLAMA_BENCH" -m "$f" -ngl 99 -p 512 -n 128 -r 3 -o json >"$OUT/llama-bench-$c-$q.json" 2>>"$OUT/bench.log"
      python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sys.argv[2]+": llama.cpp "+", ".join(f"{x.get(\"n_prompt\") and \"pp\" or \"tg\"} {x[\"avg_ts\"]:.1f} t/s" for x in r))' \
        "$OUT/llama-bench-$c-$q.json" "$c $q" | tee -a "$OUT/summary.txt"
    fi
  done
done

# 5. an image question: a 2048 x 2048 picture (a BMP written here: 16 tiles + the global view for 256M)
python3 - "$M/photo2048.bmp" <<'PY'
import struct, sys
w = h = 2048
row = bytearray()
for x in range(w):
    row += bytes(((x * 7) % 256, (x * 3) % 256, (x * 11) % 256))
pad = (4 - len(row) % 4) % 4
with open(sys.argv[1], "wb") as f:
    f.write(b"BM" + struct.pack("<IHHI", 54 + h * (len(row) + pad), 0, 0, 54))
    f.write(struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, h * (len(row) + pad), 2835, 2835, 0, 0))
    for y in range(h):
        f.write(bytes((b + y) % 256 for b in row) + b"\0" * pad)
PY
for c in $CONFIGS; do
  [[ -f $M/$c-Q8_0.gguf && -f $M/mmproj-$c-F16.gguf ]] || continue
  for ngl in all 0; do
    # shellcheck disable=SC2086
    $S bench "$M/$c-Q8_0.gguf" --mmproj "$M/mmproj-$c-F16.gguf" --image "$M/photo2048.bmp" --num-gpu $ngl --device "$DEV" \
      -p 0 -n 0 --image-repeats ${GPU_CHECK_IMAGE_REPEATS:-3} --json >"$OUT/image-$c-$ngl.json" 2>>"$OUT/bench.log"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(f"{sys.argv[2]}: 17-tile image, num_gpu {sys.argv[3]} (vision on {d.get("vision_device")}): "
      f"tile {d.get("encode_tile_s", 0):.4f} s, image {d.get("encode_image_s", 0):.3f} s, ttft {d.get("ttft_s", 0):.3f} s")' \
      "$OUT/image-$c-$ngl.json" "$c" "$ngl" | tee -a "$OUT/summary.txt"
  done
  if [[ -n ${LLAMA_MTMD:-} && -x ${LLAMA_MTMD:-} ]]; then
    t0=$(date +%s.%N)
    "$LLAMA_MTMD" -m "$M/$c-Q8_0.gguf" --mmproj "$M/mmproj-$c-F16.gguf" --image "$M/photo2048.bmp" -p "Describe this image." \
      -n 1 -ngl 99 >"$OUT/mtmd-$c.log" 2>&1
    log "$c: llama-mtmd-cli (load + 17-tile image + first token, wall) $(python3 -c "import time; print(round(time.time() - $t0, 3))") s; its own timings in mtmd-$c.log"
  fi
done

# 6. transformers itself on the real-shape 256M checkpoint: our logits on the GPU against torch's
if python3 -c "import torch, transformers" 2>/dev/null && [[ -f $M/real256m-F16.gguf ]]; then
  $S dev random-checkpoint real256m 1 "$M/hf256m" --tokenizer "$TOK" -q -f >>"$OUT/models.log" 2>&1
  python3 scripts/hf_reference.py --checkpoint "$M/hf256m" --image "$SHARED/golden/tiny512/inputs/image.png" \
    --name real256m --out "$OUT/hf" --device cuda >"$OUT/hf.log" 2>&1 || log "hf_reference.py failed (see hf.log)"
  if [[ -f $OUT/hf/real256m/text_0_logits.npy ]]; then
    for ngl in 0 all; do
      $S dev logits "$M/real256m-F16.gguf" --ids "$(python3 -c "import numpy as n; print(','.join(map(str, n.load('$SHARED/golden/tiny512/inputs/prompt_0.npy'))))")" \
        --num-gpu "$ngl" --device "$DEV" --out "$OUT/ours_$ngl.npy" >/dev/null 2>>"$OUT/hf.log"
    done
    python3 - "$OUT" <<'PY' | tee -a "$OUT/summary.txt"
import numpy as np, sys
o = sys.argv[1]
ref = np.load(f"{o}/hf/real256m/text_0_logits.npy")
for ngl in ("0", "all"):
    ours = np.load(f"{o}/ours_{ngl}.npy")[-1]
    print(f"real256m F16 vs transformers (last position, num_gpu {ngl}): rel {np.abs(ours - ref).max() / np.abs(ref).max():.2e}")
PY
  fi
else
  log "transformers: skipped (no torch/transformers, or no real256m model)"
fi
log "done"
