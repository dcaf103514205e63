# Sourced by the benchmark scripts: every process they start is put in
# `pids` and stopped (TERM, then KILL) when the script exits; free loopback
# ports come from free_port.py.
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() { /usr/bin/python3 "$root/bench/free_port.py"; }
