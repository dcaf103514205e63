#!/usr/bin/env bash
# beckond's ContactMe against Kamailio's HTTP -> NOTIFY on this machine (issue
# 18), runs alternated, medians and the ratio printed at the end.
#   bench/contact_me_vs_kamailio.sh [BUILD_DIR]      (default: build)
#
# beckond: bench/contact_me.sh (SOAP ContactMe -> NOTIFY -> 200 -> SOAP answer,
# the store on by default). Kamailio: bench/kamailio/contact_me.cfg (HTTP GET ->
# usrloc lookup -> NOTIFY sent through tm -> HTTP 200 once sent; it keeps no
# state and does not wait for the device). Both against the same SIPp devices
# (bench/sipp/devices.xml, answered by docs/demo/answer.xml), both driven by wrk
# with the same connection count. CPU is every thread (beckond) or every
# process (Kamailio) of the server, from /proc, over the wrk run.
#
# Env: RUNS (3 pairs), CONNECTIONS (32), DURATION (10 s), DEVICES (1000),
# SIPP_PROCS (2), STORE (full|normal|none, beckond's), LOG_LEVEL (warn),
# CHILDREN / TCP_CHILDREN (Kamailio's UDP and HTTP workers, 2 each).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
runs=${RUNS:-3}
connections=${CONNECTIONS:-32}
seconds=${DURATION:-10}
devices=${DEVICES:-1000}
procs=${SIPP_PROCS:-2}
for tool in kamailio wrk sipp; do
  command -v "$tool" > /dev/null || { echo "$tool is not installed (Debian package)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/beckon-vs-kamailio.XXXXXX)
source "$root/bench/common.sh"
hz=$(getconf CLK_TCK)

# One Kamailio run: prints "kamailio: delivered_per_s=N us_a_request=U".
kamailio_run() {
  local run="$work/kam-$1" sip http main ps_list per i b0 b1 t0 t1 sent
  mkdir -p "$run"
  sip=$(free_port)
  http=$(free_port)
  kamailio -f "$root/bench/kamailio/contact_me.cfg" -DD -E \
    -A "CHILDREN=${CHILDREN:-2}" -A "TCP_CHILDREN=${TCP_CHILDREN:-2}" \
    -l "udp:127.0.0.1:$sip" -l "tcp:127.0.0.1:$http" -Y "$run" -P "$run/kamailio.pid" \
    -m 512 -M 16 > "$run/kamailio.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$run/kamailio.pid" ] && break; sleep 0.1; done
  main=$(cat "$run/kamailio.pid")
  per=$((devices / procs))
  for i in $(seq "$procs"); do
    sipp -sf "$root/bench/sipp/devices.xml" -oocsf "$root/docs/demo/answer.xml" -key prefix "d${i}x" \
      -i 127.0.0.1 -p "$(free_port)" -t u1 -m "$per" -l "$per" -r 2000 -nostdin -bg \
      127.0.0.1:"$sip" > "$run/sipp$i.out" 2>&1 || true  # -bg exits 99
    pids+=($(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$run/sipp$i.out"))
  done
  # Registered when the last device of each SIPp process answers a lookup.
  for _ in $(seq 300); do
    local ok=1
    for i in $(seq "$procs"); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/contact-me?device=d${i}x$per&request=probe")" = 200 ] || ok=0
    done
    [ "$ok" = 1 ] && break
    sleep 0.1
  done
  ps_list="$main $(ps -o pid= --ppid "$main" | tr '\n' ' ')"
  ticks() { local p s=0; for p in $ps_list; do s=$((s + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo $s; }
  b0=$(ticks) t0=$(date +%s.%N)
  DEVICES=$per PREFIXES=$(seq -s, -f "d%gx" 1 "$procs") RUN="kam-$1-$RANDOM" \
    wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 5s -s "$root/bench/contact_me_kamailio.lua" \
    "http://127.0.0.1:$http/" | grep -E '^wrk:' > "$run/wrk.out"
  b1=$(ticks) t1=$(date +%s.%N)
  sent=$(sed -n 's/.* delivered=\([0-9]*\).*/\1/p' "$run/wrk.out")
  awk -v b=$((b1 - b0)) -v n="${sent:-0}" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "kamailio: delivered_per_s=%.0f us_a_request=%.0f\n", n / (t1 - t0), n ? 1e6 * b / (hz * n) : 0 }'
  kill "$main" 2>/dev/null || true
  for p in $ps_list $(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$run"/sipp*.out); do kill "$p" 2>/dev/null || true; done
  sleep 1
}

# One beckond run through contact_me.sh: the same line.
beckond_run() {
  local out="$work/beckond-$1.out"
  CONNECTIONS=$connections DURATION=$seconds DEVICES=$devices SIPP_PROCS=$procs FIXED_RATE=0 \
    STORE=${STORE:-full} LOG_LEVEL=${LOG_LEVEL:-warn} "$root/bench/contact_me.sh" "$build" > "$out" 2>&1
  local rate us
  rate=$(sed -n 's/^wrk:.* delivered_per_s=\([0-9]*\).*/\1/p' "$out")
  us=$(sed -n 's/^beckond:.*, \([0-9]*\) us CPU a request.*/\1/p' "$out")
  echo "beckond: delivered_per_s=${rate:-0} us_a_request=${us:-0}"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "kamailio: $(kamailio -v | head -1 | cut -d' ' -f2-3); beckond store: ${STORE:-full};" \
  "$connections connections, ${seconds}s a run, $runs pairs alternated"
for r in $(seq "$runs"); do
  beckond_run "$r" | tee -a "$work/results"
  kamailio_run "$r" | tee -a "$work/results"
done
val() { awk -v s="$1:" -v k="$2" '$1 == s { for (f = 2; f <= NF; f++) { split($f, kv, "="); if (kv[1] == k) print kv[2] } }' "$work/results" | median; }
b_rate=$(val beckond delivered_per_s) k_rate=$(val kamailio delivered_per_s)
b_us=$(val beckond us_a_request) k_us=$(val kamailio us_a_request)
echo "median: beckond $b_rate/s, $b_us us CPU a request; kamailio $k_rate/s, $k_us us CPU a request"
awk -v a="$b_rate" -v b="$k_rate" -v c="$b_us" -v d="$k_us" \
  'BEGIN { printf "ratio: delivered/s beckond/kamailio %.2f (goal >= 1.0); CPU a request beckond/kamailio %.2f (goal <= 0.5)\n", a / b, c / d }'
echo "logs: $work"
