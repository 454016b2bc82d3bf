#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh needs on a lent GPU machine into one archive, .gpu/smolvlm-gpu.tar.xz.
#
# Why: the device machine (an image with CUDA, PyTorch, CMake and ninja, reached through the device tool)
# has no glslc, no Debian -dev packages and no network, so smolvlm cannot be built there, and a binary
# built here needs Debian's shared libraries. The archive holds:
#   bin/      smolvlm, smolvlm_tests and bench_vulkan (the GPU ops alone), built without FFmpeg
#             (SMOLVLM_VIDEO=OFF: its codec libraries alone are ~120 MB) and stripped
#   lib/      every shared library they load except glibc's own (curl, ICU, the image codecs, OpenSSL ...)
#   lib-cxx/  Debian's libstdc++ and libgcc_s: used there only when the machine's are older
#   lib-vk/   the Vulkan loader, glvnd's dispatch libraries (the NVIDIA driver's ICD loads through them):
#             used only when the machine has none
#   shared/   the golden models tiny512 and tiny384 (no hf/ checkpoints) and the 256M tokenizer
# The archive must fit the device tool's 64 MiB (with the repository); this script says its size.
#
# usage: bash scripts/gpu_bundle.sh          then: device run, carry [".gpu"], command "bash scripts/gpu_check.sh"
#        SMOLVLM_SHARED=DIR                   the folder with golden/ and tokenizer/ (default ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SMOLVLM_SHARED:-../shared}
[[ -d $SHARED/golden/tiny512 ]] || { echo "gpu_bundle: no golden data in $SHARED (set SMOLVLM_SHARED)" >&2; exit 1; }
B=build/gpu-bundle
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSMOLVLM_VIDEO=OFF -DSMOLVLM_BUILD_BENCH=ON >/dev/null
cmake --build "$B" -j "$(nproc)" --target smolvlm smolvlm_tests bench_vulkan

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
R=$STAGE/smolvlm-gpu
mkdir -p "$R"/{bin,lib,lib-cxx,lib-vk,shared/golden,shared/tokenizer}
strip -o "$R/bin/smolvlm" "$B/smolvlm"
strip -o "$R/bin/smolvlm_tests" "$B/tests/smolvlm_tests"
strip -o "$R/bin/bench_vulkan" "$B/bench/bench_vulkan"

# glibc's libraries stay the machine's own (its glibc is newer: Ubuntu 24.04's 2.39 against Debian 12's 2.36)
is_glibc() { [[ $(basename "$1") =~ ^(libc|libm|libpthread|libdl|librt|libresolv|libutil|ld-linux-x86-64)\.so ]]; }
closure() { ldd "$@" | awk '/=> \//{print $3}' | sort -u; }
copy_libs() {  # copy_libs DEST FILE...: each library by its soname, links followed
  local dest=$1 f
  shift
  for f in "$@"; do is_glibc "$f" || cp -L "$f" "$dest/$(basename "$f")"; done
}
mapfile -t libs < <(closure "$B/smolvlm" "$B/tests/smolvlm_tests" "$B/bench/bench_vulkan")
for f in "${libs[@]}"; do
  case $(basename "$f") in
    libstdc++.so.*|libgcc_s.so.*) copy_libs "$R/lib-cxx" "$f" ;;
    *) copy_libs "$R/lib" "$f" ;;
  esac
done
# opened at run time (dlopen), so ldd does not list them
vk=()
for n in libvulkan.so.1 libGLdispatch.so.0 libGLX.so.0 libEGL.so.1; do
  p=$(ldconfig -p | awk -v n="$n" '$1 == n && /x86-64/ {print $NF; exit}')
  [[ -n $p ]] || { echo "gpu_bundle: $n is not installed here (apt-get install libvulkan1 libglvnd0 libglx0 libegl1)" >&2; exit 1; }
  vk+=("$p")
done
copy_libs "$R/lib-vk" "${vk[@]}"
mapfile -t vkdeps < <(closure "${vk[@]}")
for f in "${vkdeps[@]}"; do [[ -e $R/lib/$(basename "$f") ]] || copy_libs "$R/lib-vk" "$f"; done
# the binaries' own glibc floor, for gpu_check.sh to compare with the machine's libstdc++
objdump -T "$R/bin/smolvlm" "$R/bin/smolvlm_tests" "$R/bin/bench_vulkan" | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1 >"$R/lib-cxx/NEEDS"

for m in tiny512 tiny384; do
  mkdir -p "$R/shared/golden/$m"
  for d in gguf llamacpp ref inputs index.json; do cp -r "$SHARED/golden/$m/$d" "$R/shared/golden/$m/"; done
done
cp "$SHARED/golden/README.md" "$R/shared/golden/" 2>/dev/null || true
cp -r "$SHARED/tokenizer/smolvlm-256m-instruct" "$R/shared/tokenizer/"
git describe --always --dirty >"$R/COMMIT"

mkdir -p .gpu
echo "gpu_bundle: compressing $(du -sh "$R" | cut -f1) ..."
tar -C "$STAGE" -cf - smolvlm-gpu | xz -T"$(nproc)" -9 >.gpu/smolvlm-gpu.tar.xz
size=$(stat -c %s .gpu/smolvlm-gpu.tar.xz)
tree=$(git ls-files -z | xargs -0 stat -c %s | awk '{s += $1} END {print s}')
echo "gpu_bundle: .gpu/smolvlm-gpu.tar.xz $((size / 1048576)) MiB, the repository $((tree / 1048576)) MiB (the device tool takes 64 MiB in all)"
((size + tree < 62 * 1048576)) || { echo "gpu_bundle: too large for the device tool" >&2; exit 1; }
