#!/usr/bin/env bash
# End-to-end contact-me benchmark (issue 3): SOAP ContactMe -> NOTIFY -> 200
# -> SOAP answer, against SIPp devices on loopback; all on this machine.
#   bench/contact_me.sh [BUILD_DIR]      (default: build)
# Needs wrk (Debian package). Env: DEVICES (1000), SIPP_PROCS (2), DURATION (20 s),
# CONNECTIONS (16), FIXED_RATE (2000), LOG_LEVEL (info: every request is logged,
# as in production), STORE ("full" (default), "normal", or "none": no store).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
devices=${DEVICES:-1000}
procs=${SIPP_PROCS:-2}
seconds=${DURATION:-20}
connections=${CONNECTIONS:-16}
fixed=${FIXED_RATE:-2000}
store=${STORE:-full}
work=$(mktemp -d /tmp/beckon-bench.XXXXXX)
source "$root/bench/common.sh"

sip=$(free_port)
soap=$(free_port)
cat > "$work/beckond.toml" <<CONF
[sip]
listen = ["udp:127.0.0.1:$sip"]
[soap]
listen = "127.0.0.1:$soap"
workers = $((connections + 4))
[store]
path = "$([ "$store" = none ] || echo "$work/beckon.db")"
synchronous = "$([ "$store" = normal ] && echo normal || echo full)"
[log]
level = "${LOG_LEVEL:-info}"
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
for _ in $(seq 300); do
  [ "$(grep -c 'registration added' "$work/beckond.log" || true)" -ge "$devices" ] && break
  sleep 0.1
done
echo "store: $store"
echo "devices registered: $(grep -c 'registration added' "$work/beckond.log" || true)"

echo "== maximum throughput (wrk, $connections connections, ${seconds}s)"
DEVICES=$per PREFIXES=$(seq -s, -f "d%gx" 1 "$procs") RUN="max-$RANDOM" \
  wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 5s -s "$root/bench/contact_me.lua" \
  "http://127.0.0.1:$soap/" | grep -E '^wrk:'

echo "== fixed rate $fixed/s (contact_me_load, one per SIPp process, ${seconds}s)"
loads=()
for i in $(seq "$procs"); do
  "$build/bin/contact_me_load" --server "http://127.0.0.1:$soap/" --device-prefix "d${i}x" \
    --devices "$per" --threads 8 --rate "$(awk "BEGIN{print $fixed/$procs}")" \
    --seconds "$seconds" --run-id "fixed-$i-$RANDOM" > "$work/load$i.out" &
  loads+=($!)
done
for p in "${loads[@]}"; do wait "$p" || true; done
cat "$work"/load*.out
echo "beckond CPU time: $(ps -o times= -p "${pids[0]}")s; its log: $work/beckond.log"
