#!/usr/bin/env bash
# Installs what kiln's build needs on Debian 12 / Ubuntu 24.04, except the CUDA toolkit
# (NVRTC + cudart), which must already be installed (e.g. /usr/local/cuda, 12.4 or newer).
set -euo pipefail

need=(cmake ninja-build g++ libcli11-dev nlohmann-json3-dev libgtest-dev)
missing=()
for pkg in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cuda_root="${CUDA_HOME:-${CUDAToolkit_ROOT:-/usr/local/cuda}}"
if [ ! -f "$cuda_root/include/nvrtc.h" ] || [ ! -f "$cuda_root/lib64/libcudart_static.a" ]; then
  echo "install-deps: the CUDA toolkit (NVRTC and the static CUDA runtime) was not found in $cuda_root;" \
       "install CUDA 12.4 or newer, or set CUDA_HOME" >&2
  exit 1
fi
version=$(sed -n 's/^#define CUDA_VERSION \([0-9]*\).*/\1/p' "$cuda_root/include/cuda.h" 2>/dev/null || echo 0)
if [ "${version:-0}" -lt 12040 ]; then
  echo "install-deps: CUDA in $cuda_root is version ${version:-unknown}; kiln needs 12.4 or newer" >&2
  exit 1
fi
echo "install-deps: ok (CUDA $((version / 1000)).$(((version % 1000) / 10)) in $cuda_root)"
