#!/usr/bin/env bash
# Installs the Debian packages cluelab's tests, notebooks and GPU path need, and nothing else.
# Idempotent: does nothing when every package is present. As root it installs what is missing;
# otherwise it prints the exact apt-get line to run and exits 1.
#
#   CLUELAB_SKIP_SYSTEM_SETUP=1   skip entirely (a machine managed by other means)
set -euo pipefail

packages=(
  # Jupyter clients that drive the kernel in tests (nbclient/nbconvert, console, the official kernel test suite)
  jupyter-client python3-jupyter-client jupyter-nbconvert python3-nbconvert python3-nbclient
  python3-jupyter-kernel-test jupyter-console jupyter-notebook python3-pytest
  # real data for tests and notebooks: gzipped IDX files under /usr/share/...
  dataset-fashion-mnist
  # software WebGPU adapter (Dawn on GLES through EGL, llvmpipe) and the Vulkan loader for real GPUs
  mesa-vulkan-drivers libvulkan1 libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri
  # native addons (node-gyp) and the BLAS they link against
  build-essential python3 libopenblas-dev
  # cluelab's native CPU backend (scripts/build-native.sh): oneDNN's GEMM, convolutions and pooling
  libdnnl-dev
  # the engine benchmark measures the native BLAS peak through numpy
  python3-numpy
  # headless browser: the display tests render offline Plotly/nbconvert HTML and check the pixels
  chromium
  # the kernel's tests drive jupyter-console through a terminal multiplexer
  tmux
  # CLUENet's equivalence tests and speed benchmark run the official model's PyTorch transcription
  python3-torch
)

if [[ "${CLUELAB_SKIP_SYSTEM_SETUP:-}" == "1" ]]; then
  echo "setup-system: skipped (CLUELAB_SKIP_SYSTEM_SETUP=1)"
  exit 0
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup-system: not a Debian-based system; install the equivalents of: ${packages[*]}" >&2
  echo "setup-system: the library works without them (wasm/cpu backends); tests and notebooks need them." >&2
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup-system: all ${#packages[@]} system packages present"
  exit 0
fi

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "setup-system: missing system packages. Run, as root:" >&2
  echo "  apt-get update && $line" >&2
  exit 1
fi

echo "setup-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Update the package lists only when an install attempt finds them stale.
if ! $line; then
  apt-get update
  $line
fi
