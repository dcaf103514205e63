#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan+UBSan, into build-fuzz/) and
# runs each for SECONDS (default 60), then prints its executions and
# crashes. Exit status 1 when any harness crashed.
#
#   tests/fuzz/run.sh [SECONDS] [HARNESS...]     e.g. tests/fuzz/run.sh 300 sip_message
#
# Each harness keeps what it learnt in build-fuzz/fuzz/NAME/corpus (seeded
# from tests/fuzz/corpus/NAME, and tests/data/rfc4475 for sip_message);
# crashes, timeouts and leaks go to build-fuzz/fuzz/NAME/ with the log.
# Replay one with: build-fuzz/bin/fuzz_NAME build-fuzz/fuzz/NAME/crash-...
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(sip_message soap_request device_id digest body config store_codec)

build=${BUILD_DIR:-build-fuzz}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DBECKON_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang "${launcher[@]}" >/dev/null
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >/dev/null

failed=0
printf '%-14s %10s %8s %8s  %s\n' harness executions exec/s crashes seconds
for h in "${harnesses[@]}"; do
  dir=$build/fuzz/$h
  mkdir -p "$dir/corpus"
  seeds=(tests/fuzz/corpus/$h)
  [ "$h" = sip_message ] && seeds+=(tests/data/rfc4475)
  rc=0
  "$build/bin/fuzz_$h" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" "${seeds[@]}" \
    >"$dir/log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  crashes=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' \
    -o -name 'leak-*' -o -name 'oom-*' \) | wc -l)
  printf '%-14s %10s %8s %8s  %s\n' "$h" "${runs:-?}" "${rate:-?}" "$crashes" "$seconds"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    echo "  $h: exit status $rc; see $dir/log" >&2
  fi
done
exit $failed
