#!/usr/bin/env bash
# Sets up this machine and builds beckon into build/ (or $BUILD_DIR).
#   BECKON_SANITIZE=1 deploy/setup.sh   builds with ASan+UBSan into build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
flags=()
build=${BUILD_DIR:-build}
if [ "${BECKON_SANITIZE:-0}" = 1 ]; then
  build=${BUILD_DIR:-build-asan}
  flags+=(-DBECKON_SANITIZE=ON)
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${flags[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
