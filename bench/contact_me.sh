#!/usr/bin/env bash
# End-to-end contact-me benchmark (issue 3): SOAP ContactMe -> NOTIFY -> 200
# -> SOAP answer, against SIPp devices on loopback; all on this machine.
#   bench/contact_me.sh [BUILD_DIR]      (default: build)
# Needs wrk (Debian package). Env: DEVICES (1000), SIPP_PROCS (2), DURATION (20 s),
# CONNECTIONS (16; 0: no wrk run), FIXED_RATE (2000; a list is run in turn; 0: none),
# LOAD_THREADS (8: contact_me_load connections a process), LOG_LEVEL (info:
# every request is logged, as in production), STORE ("full" (default),
# "normal", or "none": no store), BENCH_TMP (/tmp: where the store file goes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
devices=${DEVICES:-1000}
procs=${SIPP_PROCS:-2}
seconds=${DURATION:-20}
connections=${CONNECTIONS:-16}
fixed=${FIXED_RATE:-2000}
store=${STORE:-full}
load_threads=${LOAD_THREADS:-8}
# SOAP clients at once: wrk's connections or the fixed-rate loads', whichever is more.
clients=$((connections > procs * load_threads ? connections : procs * load_threads))
work=$(mktemp -d ${BENCH_TMP:-/tmp}/beckon-bench.XXXXXX)
source "$root/bench/common.sh"

sip=$(free_port)
soap=$(free_port)
cat > "$work/beckond.toml" <<CONF
[sip]
listen = ["udp:127.0.0.1:$sip"]
[soap]
listen = "127.0.0.1:$soap"
workers = $((clients + 4))
[store]
path = "$([ "$store" = none ] || echo "$work/beckon.db")"
synchronous = "$([ "$store" = normal ] && echo normal || echo full)"
[log]
level = "${LOG_LEVEL:-info}"
[limits]
soap_connections = $((clients + 64))
soap_connections_per_source = $((clients + 64))
CONF
"$build/bin/beckond" --config "$work/beckond.toml" 2> "$work/beckond.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "beckond ready" "$work/beckond.log" && break; sleep 0.1; done

# SIPp device processes; process i registers devices d<i>x1 .. d<i>x<per>.
per=$((devices / procs))
for i in $(seq "$procs"); do
  sipp -sf "$root/bench/sipp/devices.xml" -oocsf "$root/docs/demo/answer.xml" -key prefix "d${i}x" \
    -i 127.0.0.1 -p "$(free_port)" -t u1 -m "$per" -l "$per" -r 2000 -nostdin -bg \
    127.0.0.1:"$sip" > "$work/sipp$i.out" 2>&1 || true  # -bg exits 99
  pids+=($(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$work/sipp$i.out"))
done
metric() {  # metric NAME: its value from beckond's /metrics (0 when absent)
  curl -s "http://127.0.0.1:$soap/metrics" | awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}
for _ in $(seq 300); do
  [ "$(metric beckon_bindings)" -ge "$devices" ] && break
  sleep 0.1
done
echo "store: $store"
echo "devices registered: $(metric beckon_bindings)"

# CPU ticks (1/hz s) spent by beckond, and by the whole machine idle.
hz=$(getconf CLK_TCK)
beckond_ticks() { awk '{ print $14 + $15 }' "/proc/${pids[0]}/stat"; }
idle_ticks() { awk '$1 == "cpu" { print $5 + $6 }' /proc/stat; }

if [ "$connections" -gt 0 ]; then
  echo "== maximum throughput (wrk, $connections connections, ${seconds}s)"
  b0=$(beckond_ticks) i0=$(idle_ticks) t0=$(date +%s.%N)
  DEVICES=$per PREFIXES=$(seq -s, -f "d%gx" 1 "$procs") RUN="max-$RANDOM" \
    wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 5s -s "$root/bench/contact_me.lua" \
    "http://127.0.0.1:$soap/" | grep -E '^wrk:' | tee "$work/wrk.out"
  b1=$(beckond_ticks) i1=$(idle_ticks) t1=$(date +%s.%N)
  delivered=$(sed -n 's/.* delivered=\([0-9]*\).*/\1/p' "$work/wrk.out")
  awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) -v t0="$t0" -v t1="$t1" -v n="${delivered:-0}" -v cores="$(nproc)" -v hz="$hz" \
    'BEGIN { s = t1 - t0; printf "beckond: %.0f%% of a core, %.0f us CPU a request; machine idle %.0f%%\n",
             100 * b / (hz * s), n ? 1e6 * b / (hz * n) : 0, 100 * i / (hz * s * cores) }'
fi

# Each fixed rate in turn (open loop: a request is sent when it is due, on
# one of LOAD_THREADS connections a process, whatever the answers before).
for rate in $fixed; do
  [ "$rate" -gt 0 ] || continue
  echo "== fixed rate $rate/s (contact_me_load, one per SIPp process, ${seconds}s)"
  loads=()
  for i in $(seq "$procs"); do
    "$build/bin/contact_me_load" --server "http://127.0.0.1:$soap/" --device-prefix "d${i}x" \
      --devices "$per" --threads "$load_threads" --rate "$(awk "BEGIN{print $rate/$procs}")" \
      --seconds "$seconds" --run-id "fixed-$rate-$i-$RANDOM" > "$work/load$i.out" &
    loads+=($!)
  done
  for p in "${loads[@]}"; do wait "$p" || true; done
  cat "$work"/load*.out
  awk '{ for (f = 1; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
         sum += v["delivered_per_s"]; failed += v["not_delivered"] + v["errors"]
         if (v["p99_ms"] > p99) p99 = v["p99_ms"] }
       END { printf "fixed: asked=%d delivered_per_s=%d failed=%d p99_ms=%.2f (worst process)\n", '"$rate"', sum, failed, p99 }' \
    "$work"/load*.out
done
if [ "$store" != none ]; then
  commits=$(metric beckon_store_commit_duration_seconds_count)
  writes=$(metric beckon_store_writes_total)
  echo "store: $writes writes in $commits commits ($(awk "BEGIN{printf \"%.1f\", $writes / ($commits + 0.000001)}") a commit)," \
    "$(awk "BEGIN{printf \"%.2f\", 1000 * $(metric beckon_store_commit_duration_seconds_sum) / ($commits + 0.000001)}") ms a commit"
fi
echo "beckond CPU time: $(ps -o times= -p "${pids[0]}")s; its log: $work/beckond.log"
