#!/usr/bin/env bash
# The GPU checks, prepared to run in one go on a machine with an NVIDIA GPU (an H100/H200 lent through the
# device tool, whose NVIDIA driver provides Vulkan), within a time budget (GPU_CHECK_BUDGET_S, default 540 s:
# each step that would not fit is skipped and logged, so the summary always comes back):
#   1. the machine: nvidia-smi, the Vulkan loader and driver files found, `smolvlm devices`
#   2. smolvlm: the bundle .gpu/smolvlm-gpu.tar.xz (scripts/gpu_bundle.sh, made beforehand: the device
#      machine has no glslc, no Debian libraries and no network), unpacked under /tmp; else build/release
#      when it holds a build; else a build here (cmake + glslc)
#   3. the tensor-core matmul tiles' check alone (if it fails or crashes, the whole run keeps to the shader
#      cores: SMOLVLM_VK_NO_COOPMAT=1); the GPU tests on the NVIDIA device (SMOLVLM_TEST_DEVICE=nvidia): every shader against the CPU, the
#      golden models offloaded (prefill and vision on the tensor cores where the card has them: the
#      MatmulCheck test says); then again with the fallbacks forced (no subgroups, no fp16, so no
#      tensor cores)
#   4. the heavy GPU ops alone at the real shapes (bench_vulkan: vision fc1, prefill gate, vision attention):
#      GFLOP/s on the tensor cores and again on the shader cores (SMOLVLM_VK_NO_COOPMAT=1), the attention
#      again one float at a time (SMOLVLM_VK_ATTN_NARROW=1)
#   5. per model, real-shape random 256M then 2.2B (unless GPU_CHECK_QUICK=1):
#      speed at Q4_K_M and Q8_0: smolvlm bench pp512 / tg128 with every layer on the GPU (bound: the card's
#      measured copy bandwidth), and on the CPU; llama-bench on the same files when LLAMA_BENCH names a
#      CUDA or Vulkan build;
#      the time to first token for a 2048-pixel image (17 tiles for 256M) with the projector on the GPU
#      (bench --image: encode_tile_s, encode_image_s, ttft_s), and llama-mtmd-cli when LLAMA_MTMD names one;
#      prefill and image again with SMOLVLM_VK_NO_COOPMAT=1 (the shader-core matmul tiles instead of the
#      tensor cores: what the NV cooperative matrix tiles buy; the bench JSON's gpu_matmul says which ran),
#      decode again with SMOLVLM_VK_NO_FUSE=1 (what the fused decode ops buy) and with
#      SMOLVLM_VK_MATVEC_THREADS=32 and 128 (the decode matvec's workgroup) and with SMOLVLM_VK_SUBMIT_EVERY=0
#      (a step as one submit, not chunks submitted while it is recorded); Q4_K_M decode at depths
#      1024 and 4096 with the attention split over the keys and whole (SMOLVLM_VK_NO_SPLIT=1)
#   6. transformers on the real-shape 256M checkpoint (when torch + transformers import) against our logits
# Results (logs, JSON) go to $OUT (the device tool's folder) or build/gpu_check; summary.txt says it all.
#
# usage, through the device tool:  bash scripts/gpu_bundle.sh   (here, once)
#        run: carry [".gpu"], command "bash scripts/gpu_check.sh", timeout_s 600
# here, a dry run on lavapipe:     GPU_CHECK_DEVICE=llvmpipe GPU_CHECK_QUICK=1 GPU_CHECK_BENCH="-p 16 -n 4 -r 1" \
#                                  GPU_CHECK_TESTS='VulkanOps.*' bash scripts/gpu_check.sh
#        SMOLVLM_SHARED: the folder with golden/ and tokenizer/ (default: the bundle's, ./shared, ../shared)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-build/gpu_check}
W=${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/gpu_check-work}  # logs and JSON: packed into $OUT/results.tar.gz after
mkdir -p "$OUT" "$W"                                 # each step (the device tool returns at most 8 files)
find "$W" -mindepth 1 -maxdepth 1 ! -name models -exec rm -rf {} +  # an earlier run's results (its models stay)
DEV=${GPU_CHECK_DEVICE:-nvidia}
BUDGET=${GPU_CHECK_BUDGET_S:-540}
T0=$SECONDS
log() { echo "[gpu_check $((SECONDS - T0))s] $*" | tee -a "$OUT/summary.txt"; }
pack() { cp "$OUT/summary.txt" "$W/" && tar -C "$W" --exclude=models -czf "$OUT/results.tar.gz" . 2>/dev/null; }
fits() {  # fits SECONDS WHAT: whether a step of about SECONDS still fits the budget; logs a skip
  ((SECONDS - T0 + $1 <= BUDGET)) && return 0
  log "skipped, out of time (budget ${BUDGET}s): $2"
  return 1
}
: >"$OUT/summary.txt"

# 1. the machine
{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv 2>&1 || true; } | tee "$W/nvidia-smi.txt"

# 2. smolvlm: the bundle, a build already here, or a build now
BUNDLE=${GPU_BUNDLE:-.gpu/smolvlm-gpu.tar.xz}
SHARED=${SMOLVLM_SHARED:-}
if [[ -f $BUNDLE ]]; then
  X=${TMPDIR:-/tmp}/smolvlm-gpu
  rm -rf "$X"
  python3 - "$BUNDLE" "${X%/*}" <<'PY' || { log "could not unpack $BUNDLE"; exit 1; }
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    try:
        t.extractall(sys.argv[2], filter="data")
    except TypeError:  # Python before 3.12
        t.extractall(sys.argv[2])
PY
  S=$X/bin/smolvlm T=$X/bin/smolvlm_tests BV=$X/bin/bench_vulkan
  [[ -z $SHARED ]] && SHARED=$X/shared
  LIBS=$X/lib
  # Debian's libstdc++ only where the machine's lacks the symbol version the binaries need
  sys_cxx=$(ldconfig -p 2>/dev/null | awk '$1 == "libstdc++.so.6" && /x86-64/ {print $NF; exit}')
  [[ -n $sys_cxx ]] && grep -q "$(cat "$X/lib-cxx/NEEDS")" "$sys_cxx" || LIBS=$LIBS:$X/lib-cxx
  # the Vulkan loader and glvnd's dispatch (through which the NVIDIA ICD loads) only where the machine has none
  for n in libvulkan.so.1 libGLdispatch.so.0; do
    ldconfig -p 2>/dev/null | grep -q "^[[:space:]]*$n " || { LIBS=$LIBS:$X/lib-vk; break; }
  done
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [[ -d $d ]] && LIBS=$LIBS:$d; done
  export LD_LIBRARY_PATH=$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  log "bundle $(cat "$X/COMMIT") unpacked; libraries: ${LIBS//$X/bundle}"
else
  B=build/release
  S=$B/smolvlm T=$B/tests/smolvlm_tests BV=$B/bench/bench_vulkan
  if [[ ! -x $S || ! -x $T ]]; then
    if command -v cmake >/dev/null && command -v glslc >/dev/null; then
      log "building"
      cmake --preset release -G Ninja >"$W/build.log" 2>&1 && cmake --build --preset release -j "$(nproc)" >>"$W/build.log" 2>&1 \
        || { log "build failed (see build.log)"; tail -20 "$W/build.log"; exit 1; }
    else
      log "no bundle ($BUNDLE), no build and no cmake/glslc here: run scripts/gpu_bundle.sh and carry .gpu"; exit 1
    fi
  fi
fi
[[ -z $SHARED && -d shared/golden ]] && SHARED=$PWD/shared
[[ -z $SHARED && -d ../shared/golden ]] && SHARED=$(cd ../shared && pwd)
export SMOLVLM_SHARED=$SHARED
# the NVIDIA driver's Vulkan ICD, where the loader would not find it by itself
if [[ -z ${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-} && $DEV == nvidia ]]; then
  for j in /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json \
    /usr/local/nvidia/share/vulkan/icd.d/nvidia*.json /usr/local/share/vulkan/icd.d/nvidia*.json; do
    [[ -f $j ]] && { export VK_DRIVER_FILES=$j VK_ICD_FILENAMES=$j; break; }
  done
fi
{
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  ls -la /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d /usr/local/nvidia/lib64 2>&1
  ldconfig -p 2>&1 | grep -i -E "vulkan|nvidia|GLdispatch|libGLX"
  ldd "$S" "$T" 2>&1 | grep -i "not found"
} >"$W/vulkan-diag.txt" 2>&1
log "shared: ${SHARED:-none}; device: $DEV; driver files: ${VK_DRIVER_FILES:-as the loader finds them}"
"$S" devices 2>&1 | tee "$W/devices.txt"
"$S" devices --json >"$W/devices.json" 2>>"$W/vulkan-diag.txt"
grep -qi "$DEV" "$W/devices.txt" || { log "no device matching '$DEV' (see vulkan-diag.txt)"; pack; exit 1; }
pack

# 3. the GPU tests on the real device
export SMOLVLM_TEST_DEVICE=$DEV
# first the tensor-core matmul tiles' own check (CI cannot run them): should it fail or crash, the
# rest of the run keeps to the shader cores, so its figures still come back
timeout 60 "$T" --gtest_filter='VulkanOps.MatmulCheck*' >"$W/matmul_check.log" 2>&1
rc=$?
log "matmul tiles' check on $DEV: rc $rc, $(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$W/matmul_check.log" | tr '\n' ' ')"
if ((rc != 0)); then
  grep -E "Failure|Expected|Which is|got|smolvlm:" "$W/matmul_check.log" | head -8 | tee -a "$OUT/summary.txt"
  export SMOLVLM_VK_NO_COOPMAT=1
  log "the rest of the run keeps to the shader cores (SMOLVLM_VK_NO_COOPMAT=1)"
fi
CM_OFF=${SMOLVLM_VK_NO_COOPMAT:-0}  # 1: no run below turns the tensor cores on
if fits 240 "the GPU tests"; then
  timeout 240 "$T" --gtest_filter="${GPU_CHECK_TESTS:-*Vulkan*:*Gpu*}" >"$W/gpu_tests.log" 2>&1
  log "GPU tests on $DEV: $(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$W/gpu_tests.log" | tr '\n' ' ')"
  grep -E "^\[  FAILED" "$W/gpu_tests.log" | head -20 | tee -a "$OUT/summary.txt"
  grep -E "NMSE|vs CPU|dispatches" "$W/gpu_tests.log" | head -60 >"$W/gpu_tests_figures.txt"
fi
if fits 90 "the GPU tests with the fallbacks forced"; then
  SMOLVLM_VK_NO_SUBGROUP=1 SMOLVLM_VK_NO_FP16=1 timeout 90 "$T" --gtest_filter='*Vulkan*:*Gpu*tiny512_Q4_K_M*' \
    >"$W/gpu_tests_fallbacks.log" 2>&1
  log "GPU tests, fallbacks forced: $(grep -E '^\[  (PASSED|FAILED)' "$W/gpu_tests_fallbacks.log" | tr '\n' ' ')"
fi
pack

# 4. the heavy ops alone: GFLOP/s of the matmul tiles (tensor cores, then shader cores) and of the vision
# attention (the default vec4 one, then SMOLVLM_VK_ATTN_NARROW=1), and a decode step's pass submitted in chunks
# while recorded, then whole (SMOLVLM_VK_SUBMIT_EVERY=0)
if [[ -x ${BV:-} ]] && fits 80 "bench_vulkan"; then
  runs=("default ." "nocm Matmul" "narrow Attention" "onesubmit DecodeStep")
  ((CM_OFF)) && runs=("nocm ." "narrow Attention" "onesubmit DecodeStep")
  for r in "${runs[@]}"; do
    read -r name filter <<<"$r"
    SMOLVLM_DEVICE=$DEV SMOLVLM_VK_NO_COOPMAT=$([[ $name == nocm || $CM_OFF == 1 ]] && echo 1 || echo 0) \
      SMOLVLM_VK_ATTN_NARROW=$([[ $name == narrow ]] && echo 1 || echo 0) \
      SMOLVLM_VK_SUBMIT_EVERY=$([[ $name == onesubmit ]] && echo 0 || echo -1) timeout 25 "$BV" --benchmark_filter="$filter" \
      --benchmark_min_time=0.2 >"$W/bench_vulkan-$name.log" 2>&1
    grep -E "^BM_" "$W/bench_vulkan-$name.log" | sed "s/^/  $name: /" | tee -a "$OUT/summary.txt"
  done
fi
pack

# 5. speed and the time to first token on real-shape random models (the real tokenizer: a real-size vocabulary)
TOK=$SHARED/tokenizer/smolvlm-256m-instruct
M=$W/models
mkdir -p "$M"
make_model() {  # make_model CONFIG -> $M/CONFIG-{F16,Q4_K_M,Q8_0}.gguf, $M/mmproj-CONFIG-F16.gguf
  local c=$1
  [[ -f $M/$c-Q8_0.gguf ]] && return 0
  "$S" dev random-checkpoint "$c" 1 "$M/$c" --tokenizer "$TOK" -q >>"$W/models.log" 2>&1 &&
    "$S" convert "$M/$c" -o "$M" --outtype f16 >>"$W/models.log" 2>&1 &&
    "$S" quantize "$M/$c-F16.gguf" "$M/$c-Q4_K_M.gguf" Q4_K_M >>"$W/models.log" 2>&1 &&
    "$S" quantize "$M/$c-F16.gguf" "$M/$c-Q8_0.gguf" Q8_0 >>"$W/models.log" 2>&1 &&
    rm -rf "${M:?}/$c"
}
speed() {  # speed CONFIG QUANT: smolvlm on the GPU and on the CPU, llama-bench when given
  local c=$1 q=$2 f=$M/$1-$2.gguf
  # shellcheck disable=SC2086
  "$S" bench "$f" --num-gpu all --device "$DEV" ${GPU_CHECK_BENCH:--p 512 -n 128 -r 3} --json >"$W/bench-$c-$q-gpu.json" 2>>"$W/bench.log"
  # the prefill again on the shader cores (SMOLVLM_VK_NO_COOPMAT): what the tensor-core tiles buy
  SMOLVLM_VK_NO_COOPMAT=1 "$S" bench "$f" --num-gpu all --device "$DEV" -p "${GPU_CHECK_PP:-512}" -n 0 -r 3 --json \
    >"$W/bench-$c-$q-gpu-nocm.json" 2>>"$W/bench.log"
  # the decode again with the fused decode ops apart (SMOLVLM_VK_NO_FUSE): what the fusion buys
  SMOLVLM_VK_NO_FUSE=1 "$S" bench "$f" --num-gpu all --device "$DEV" -p 0 -n 128 -r 3 --json \
    >"$W/bench-$c-$q-gpu-nofuse.json" 2>>"$W/bench.log"
  # and with decode matvec workgroups of 32 (one NVIDIA subgroup: barrier-free reductions) and 128
  for t in 32 128; do
    SMOLVLM_VK_MATVEC_THREADS=$t "$S" bench "$f" --num-gpu all --device "$DEV" -p 0 -n 128 -r 3 --json \
      >"$W/bench-$c-$q-gpu-mv$t.json" 2>>"$W/bench.log"
  done
  # and each step as one submit (SMOLVLM_VK_SUBMIT_EVERY=0): what submitting it in chunks while recording buys
  SMOLVLM_VK_SUBMIT_EVERY=0 "$S" bench "$f" --num-gpu all --device "$DEV" -p 0 -n 128 -r 3 --json \
    >"$W/bench-$c-$q-gpu-onesubmit.json" 2>>"$W/bench.log"
  # decode deep into a context (an image prompt is ~1000 tokens), with the attention split over the
  # keys and again whole (SMOLVLM_VK_NO_SPLIT)
  if [[ $q == Q4_K_M ]]; then
    for split in split whole; do
      SMOLVLM_VK_NO_SPLIT=$([[ $split == whole ]] && echo 1 || echo 0) "$S" bench "$f" --num-gpu all --device "$DEV" \
        -p 0 -n 64 -r 3 --sweep-depth 1024,4096 --json >"$W/bench-$c-$q-gpu-depth-$split.json" 2>>"$W/bench.log"
    done
    python3 - "$W/bench-$c-$q-gpu-depth-split.json" "$W/bench-$c-$q-gpu-depth-whole.json" "$c $q" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
def rows(path):
    try:
        return {r["depth"]: r["tg"] for r in json.load(open(path)).get("sweep_depth", [])}
    except Exception:
        return {}
s, w = rows(sys.argv[1]), rows(sys.argv[2])
print(f"{sys.argv[3]}: GPU decode at depth (split / whole attention): " +
      ", ".join(f"d{d} {s[d]:.1f} / {w.get(d, 0):.1f} t/s" for d in sorted(s)) if s else f"{sys.argv[3]}: no depth sweep")
PY
  fi
  # shellcheck disable=SC2086
  "$S" bench "$f" --num-gpu 0 ${GPU_CHECK_BENCH:--p 512 -n 128 -r 1} --json >"$W/bench-$c-$q-cpu.json" 2>>"$W/bench.log"
  python3 - "$W/bench-$c-$q-gpu.json" "$W/bench-$c-$q-cpu.json" "$c $q" "$W/bench-$c-$q-gpu-nocm.json" \
    "$W/bench-$c-$q-gpu-nofuse.json" "$W/bench-$c-$q-gpu-mv32.json" "$W/bench-$c-$q-gpu-mv128.json" \
    "$W/bench-$c-$q-gpu-onesubmit.json" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
try:
    g, c = (json.load(open(p)) for p in sys.argv[1:3])
except Exception as e:
    sys.exit(print(f"{sys.argv[3]}: no bench result ({e}); see bench.log"))
def load(path):
    try:
        return json.load(open(path))
    except Exception:
        return {}
nocm, nofuse, mv32, mv128, onesubmit = (load(p) for p in sys.argv[4:9])
pp = lambda d: next((f"{k} {v:.0f}" for k, v in d.items() if k.startswith("pp") and k[2:].isdigit()), "pp -")
tg = lambda d: next((f"{k} {v:.1f}" for k, v in d.items() if k.startswith("tg") and k[2:].isdigit()), "tg -")
print(f"{sys.argv[3]}: GPU ({g.get('device')}, {g.get('gpu_layers')} layers, copy {g.get('gpu_bandwidth_gbs', 0):.0f} GB/s): "
      f"{pp(g)} t/s ({g.get('gpu_matmul')}), {tg(g)} t/s = {100 * g.get('tg_of_bound', 0):.0f}% of its bound {g.get('bound_tg', 0):.0f}; "
      f"CPU: {pp(c)}, {tg(c)}; GPU prefill on the shader cores: {pp(nocm)}; GPU unfused: {tg(nofuse)}; "
      f"GPU matvec workgroups of 32 / 128: {tg(mv32)} / {tg(mv128)}; GPU one submit per step: {tg(onesubmit)}")
PY
  if [[ -n ${LLAMA_BENCH:-} && -x ${LLAMA_BENCH:-} ]]; then
    "$LLAMA_BENCH" -m "$f" -ngl 99 -p 512 -n 128 -r 3 -o json >"$W/llama-bench-$c-$q.json" 2>>"$W/bench.log"
    python3 - "$W/llama-bench-$c-$q.json" "$c $q" <<'PY' 2>&1 | tee -a "$OUT/summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))
print(sys.argv[2] + ": llama.cpp " + ", ".join(("pp" if x.get("n_prompt") else "tg") + f" {x['avg_ts']:.1f} t/s" for x in r))
PY
  fi
}
image() {  # image CONFIG: a 2048 x 2048 picture (16 tiles + the global view for 256M), vision on the GPU and the CPU
  local c=$1 ngl
  [[ -f $M/photo2048.bmp ]] || python3 - "$M/photo2048.bmp" <<'PY'
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
  for ngl in all all-nocm 0; do  # all-nocm: every layer and the projector on the GPU, shader-core matmul tiles
    # shellcheck disable=SC2086
    SMOLVLM_VK_NO_COOPMAT=$([[ $ngl == all-nocm || $CM_OFF == 1 ]] && echo 1 || echo 0) "$S" bench "$M/$c-Q8_0.gguf" \
      --mmproj "$M/mmproj-$c-F16.gguf" --image "$M/photo2048.bmp" --num-gpu "${ngl%-nocm}" --device "$DEV" -p 0 -n 0 \
      --image-repeats "${GPU_CHECK_IMAGE_REPEATS:-3}" --json >"$W/image-$c-$ngl.json" 2>>"$W/bench.log"
    python3 - "$W/image-$c-$ngl.json" "$c" "$ngl" <<'PY' 2>&1 | tee -a "$OUT/summary.txt"
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    sys.exit(print(f"{sys.argv[2]}: no image result ({e}); see bench.log"))
print(f"{sys.argv[2]}: 2048-pixel image, num_gpu {sys.argv[3]} (vision on {d.get('vision_device')}, {d.get('vision_matmul', 'CPU')}): "
      f"tile {d.get('encode_tile_s', 0):.4f} s, image {d.get('encode_image_s', 0):.3f} s, ttft {d.get('ttft_s', 0):.3f} s")
PY
  done
  if [[ -n ${LLAMA_MTMD:-} && -x ${LLAMA_MTMD:-} ]]; then
    local t0
    t0=$(date +%s.%N)
    "$LLAMA_MTMD" -m "$M/$c-Q8_0.gguf" --mmproj "$M/mmproj-$c-F16.gguf" --image "$M/photo2048.bmp" -p "Describe this image." \
      -n 1 -ngl 99 >"$W/mtmd-$c.log" 2>&1
    log "$c: llama-mtmd-cli (load + image + first token, wall) $(python3 -c "import time; print(round(time.time() - $t0, 3))") s; its own timings in mtmd-$c.log"
  fi
}
CONFIGS="real256m"
[[ ${GPU_CHECK_QUICK:-0} == 1 ]] || CONFIGS="real256m real2b"
for c in $CONFIGS; do
  # rough costs on 16 cores: 256M 30 s to make, 35 s per type, 30 s the image; 2.2B 4x that
  k=1
  [[ $c == real2b ]] && k=4
  fits $((30 * k)) "making $c" || break
  if ! make_model "$c"; then log "could not make $c (see models.log)"; continue; fi
  for q in Q4_K_M Q8_0; do fits $((35 * k)) "$c $q speed" && speed "$c" "$q"; done
  pack
  fits $((30 * k)) "$c image" && image "$c"
  pack
done

# 6. transformers itself on the real-shape 256M checkpoint: our logits on the GPU against torch's
if ! python3 -c "import torch, transformers" 2>/dev/null || [[ ! -f $M/real256m-F16.gguf ]]; then
  log "transformers: skipped (no torch/transformers, or no real256m model)"
elif fits 90 "transformers"; then
  "$S" dev random-checkpoint real256m 1 "$M/hf256m" --tokenizer "$TOK" -q -f >>"$W/models.log" 2>&1
  python3 scripts/hf_reference.py --checkpoint "$M/hf256m" --image "$SHARED/golden/tiny512/inputs/image.png" \
    --name real256m --out "$W/hf" --device cuda >"$W/hf.log" 2>&1 || log "hf_reference.py failed (see hf.log)"
  if [[ -f $W/hf/real256m/text_0_logits.npy ]]; then
    ids=$(python3 -c "import numpy as n, sys; print(','.join(map(str, n.load(sys.argv[1]))))" "$SHARED/golden/tiny512/inputs/prompt_0.npy")
    for ngl in 0 all; do
      "$S" dev logits "$M/real256m-F16.gguf" --ids "$ids" --num-gpu "$ngl" --device "$DEV" --out "$W/ours_$ngl.npy" >/dev/null 2>>"$W/hf.log"
    done
    python3 - "$W" <<'PY' | tee -a "$OUT/summary.txt"
import numpy as np, sys
o = sys.argv[1]
ref = np.load(f"{o}/hf/real256m/text_0_logits.npy")
for ngl in ("0", "all"):
    ours = np.load(f"{o}/ours_{ngl}.npy")[-1]
    print(f"real256m F16 vs transformers (last position, num_gpu {ngl}): rel {np.abs(ours - ref).max() / np.abs(ref).max():.2e}")
PY
  fi
fi
log "done"
pack
