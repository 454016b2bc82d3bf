#!/usr/bin/env bash
# The GPU through the binary, on lavapipe (Mesa's Vulkan on the CPU, named with --device /
# SMOLVLM_DEVICE since a CPU-type device is never the default): `devices` lists it; `run -ngl all`
# gives the CPU's greedy reply and --verbose names the device and the split; out of device memory
# (SMOLVLM_VK_ALLOC_LIMIT) an explicit -ngl fails saying what to do while the automatic fit loads
# with fewer layers; `serve` reports size_vram (PROCESSOR 100% GPU, then 100% CPU after a request
# with num_gpu 0 reloads it), serves a chat and an image question on the GPU, and after the device is lost mid-generation
# (SMOLVLM_VK_LOSE_DEVICE_AFTER) answers that request with an error and keeps serving.
#
# env: SMOLVLM = the smolvlm binary, SMOLVLM_SHARED = the shared folder (golden/). Exit 77 when the
# golden files, curl or a lavapipe device are missing.
set -euo pipefail
exec </dev/null  # `smolvlm run` reads a piped stdin: never the test runner's

SMOLVLM=${SMOLVLM:?set SMOLVLM to the smolvlm binary}
SHARED=${SMOLVLM_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
SHARED=$(cd "$SHARED" && pwd)
G=$SHARED/golden/tiny512/gguf
[[ -f $G/text-F32.gguf ]] || { echo "SKIP: $G not found"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not found"; exit 77; }
"$SMOLVLM" devices | grep -q llvmpipe || { echo "SKIP: no lavapipe device (mesa-vulkan-drivers)"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolvlm-gpucli.XXXXXX")
SERVER_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
export OLLAMA_MODELS=$WORK/models
unset OLLAMA_HOST SMOLVLM_DEVICE
export SMOLVLM_NO_AUTOSTART=1
fail() { echo "FAIL: $*" >&2; [[ -f $WORK/serve.log ]] && cat "$WORK/serve.log" >&2; exit 1; }
expect() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }

# devices: lavapipe is listed, usable, and not the default
out=$("$SMOLVLM" devices)
expect "$out" "llvmpipe"
expect "$out" "push descriptors"
json=$("$SMOLVLM" devices --json)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); l=[x for x in d["devices"] if "llvmpipe" in x["name"]][0]
assert l["usable"] and l["type"] == "cpu" and d["default"] != l["index"], d' "$json" || fail "devices --json: $json"

# run: the same greedy reply on the CPU and with every layer on the GPU (F32 weights: the GPU is
# within 1e-6 of the CPU, no near ties in 12 tokens)
cpu=$("$SMOLVLM" run "$G/text-F32.gguf" "hello world" --temperature 0 -n 12 --num-gpu 0)
gpu=$("$SMOLVLM" run "$G/text-F32.gguf" "hello world" --temperature 0 -n 12 -ngl all --device llvmpipe --verbose 2>"$WORK/err")
[[ "$cpu" == "$gpu" ]] || fail "GPU reply '$gpu' differs from the CPU's '$cpu'"
expect "$(cat "$WORK/err")" "offload: 2/2 layers, output, input on llvmpipe"
part=$(SMOLVLM_DEVICE=llvmpipe "$SMOLVLM" run "$G/text-F32.gguf" "hello world" --temperature 0 -n 12 --num-gpu 1 --verbose 2>"$WORK/err")
[[ "$cpu" == "$part" ]] || fail "reply with one layer on the GPU '$part' differs from the CPU's '$cpu'"
expect "$(cat "$WORK/err")" "offload: 1/2 layers, output on llvmpipe"
expect "$(cat "$WORK/err")" "1 layer on the CPU"

# out of device memory: 7 MiB lets the output, one 2.6 MiB F32 layer, its cache and the 2.3 MiB of
# activations in, not two layers
set +e
out=$(SMOLVLM_VK_ALLOC_LIMIT=7340032 "$SMOLVLM" run "$G/text-F32.gguf" "hi" -n 2 --ctx 256 -ngl all --device llvmpipe 2>&1); rc=$?
set -e
[[ $rc == 1 ]] || fail "-ngl all over the limit: exit $rc"
expect "$out" "could not allocate"
expect "$out" "set a lower num_gpu"
out=$(SMOLVLM_VK_ALLOC_LIMIT=7340032 "$SMOLVLM" run "$G/text-F32.gguf" "hi" -n 2 --ctx 256 --temperature 0 --device llvmpipe --verbose 2>&1) \
  || fail "the automatic fit must load with fewer layers: $out"
expect "$out" "offload: 1/2 layers"
expect "$out" "(after: the GPU (llvmpipe"

# an image question: the projector on the GPU with the rest, or on the CPU when it does not fit
out=$("$SMOLVLM" run "$G/text-F32.gguf" --mmproj "$G/mmproj-F32.gguf" --image "$G/../inputs/image.png" --max-tiles 1 \
  "What is this?" -n 4 --temperature 0 -ngl all --device llvmpipe --verbose 2>&1) || fail "image on the GPU: $out"
expect "$out" "offload: 2/2 layers, output, input, projector on llvmpipe"
out=$(SMOLVLM_VK_ALLOC_LIMIT=1048576 "$SMOLVLM" run "$G/text-F32.gguf" --mmproj "$G/mmproj-F32.gguf" \
  --image "$G/../inputs/image.png" --max-tiles 1 "What is this?" -n 4 --ctx 512 --device llvmpipe --verbose 2>&1) \
  || fail "a projector that does not fit must run on the CPU: $out"
expect "$out" "; the projector on the CPU ("
expect "$out" "mmproj-F32.gguf: tensor"

# serve on the GPU
cat > "$WORK/Modelfile" <<MF
FROM $G/text-F32.gguf
FROM $G/mmproj-F32.gguf
MF
export SMOLVLM_HOST=127.0.0.1:1
"$SMOLVLM" create tiny -f "$WORK/Modelfile" >/dev/null 2>&1 || fail "create"
start_server() {
  SMOLVLM_DEVICE=llvmpipe "$@" "$SMOLVLM" serve --host 127.0.0.1:0 >"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/serve.log" 2>/dev/null || true)
    [[ -n $port ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "serve exited"
    sleep 0.1
  done
  [[ -n $port ]] || fail "no port in the serve log"
  export SMOLVLM_HOST=127.0.0.1:$port
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }
chat() {  # chat OPTIONS_JSON -> the reply's JSON
  curl -s "http://$SMOLVLM_HOST/api/chat" -d "{\"model\":\"tiny\",\"stream\":false,\"options\":$1,
    \"messages\":[{\"role\":\"user\",\"content\":\"hello world\"}]}"
}

start_server env
reply=$(chat '{"temperature":0,"num_predict":8,"num_gpu":-1}')
expect "$reply" '"done":true'
printf '{"model":"tiny","stream":false,"options":{"num_predict":4,"max_tiles":1},"messages":[{"role":"user","content":"What is this?","images":["%s"]}]}' \
  "$(base64 -w0 "$G/../inputs/image.png")" >"$WORK/image.json"
reply=$(curl -s "http://$SMOLVLM_HOST/api/chat" --data-binary @"$WORK/image.json")
expect "$reply" '"done":true'
ps=$("$SMOLVLM" ps)
expect "$ps" "100% GPU"
expect "$(cat "$WORK/serve.log")" "offload: 2/2 layers, output, input, projector on llvmpipe"
vram=$(curl -s "http://$SMOLVLM_HOST/api/ps" | python3 -c 'import json,sys; m=json.load(sys.stdin)["models"][0]; print(m["size_vram"], m["size"])')
read -r v s <<<"$vram"
[[ $v -gt 0 && $v == "$s" ]] || fail "size_vram $v of size $s"
reply=$(chat '{"temperature":0,"num_predict":8,"num_gpu":0}')
expect "$reply" '"done":true'
expect "$("$SMOLVLM" ps)" "100% CPU"
stop_server

# the device lost at the 3rd submit: that request fails, the server keeps serving (the model is
# loaded again for the next request: here it is lost again at once, and a CPU request works)
start_server env SMOLVLM_VK_LOSE_DEVICE_AFTER=2
reply=$(chat '{"temperature":0,"num_predict":8}')
expect "$reply" "was lost"
expect "$(cat "$WORK/serve.log")" "unloading it"
reply=$(chat '{"temperature":0,"num_predict":4,"num_gpu":0}')
expect "$reply" '"done":true'
curl -sf "http://$SMOLVLM_HOST/api/tags" >/dev/null || fail "the server stopped answering"
stop_server
echo "gpu_cli: ok"
