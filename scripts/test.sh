#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test. GPU tests skip without a device.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 1500
