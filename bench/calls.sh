#!/usr/bin/env bash
# Calls per second through beckond's proxy (issue 6): a SIPp caller (UAC),
# beckond, a SIPp callee (UAS) registered with beckond; INVITE, 200, ACK,
# BYE, 200 (sipp/call_uac.xml, call_uas.xml, call_uas_answer.xml), UDP on
# loopback, everything on this machine. Not a test: it prints figures.
#   bench/calls.sh [BUILD_DIR]      (default: build)
# Phases:
#   1. for each rate of RATES, a fresh beckond and WARMUP + DURATION s of
#      calls at that rate; "held" = every call completed, no failed call.
#      CPU (beckond's, SIPp's, the rest of the machine's) is measured over the
#      last DURATION s only: nta keeps a completed transaction for up to
#      64*T1 = 32 s, so beckond's memory grows (page faults, heap growth) for
#      the first 32 s of a run and then stays flat: the warm-up shows the
#      steady state. Memory: beckond's RSS at the end.
#   2. (CONTACT_ME=1, needs wrk) contact-me: DEVICES SIPp devices; its
#      highest rate (wrk, bench/contact_me.lua) and its latency at FIXED_RATE
#      (contact_me_load), DURATION s each, alone and then while calls run at
#      CALL_RATE: what the proxy costs contact-me delivery.
# Env: RATES ("1000 2000 2500 3000"), WARMUP (35), DURATION (20), CONTACT_ME (1),
# CALL_RATE (2000), FIXED_RATE (1000), DEVICES (200), CONNECTIONS (8), LOG_LEVEL (warn),
# BECKOND (binary; default BUILD_DIR/bin/beckond), NICE (0: the niceness of
# beckond, SIPp and wrk; e.g. -10 as root shields the figures from other
# work on a shared machine, whose CPU the "other" column shows).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
beckond=${BECKOND:-$build/bin/beckond}
rates=${RATES-1000 2000 2500 3000}  # RATES="": contact-me phase only
seconds=${DURATION:-20}
warmup=${WARMUP:-35}
contact_me=${CONTACT_ME:-1}
call_rate=${CALL_RATE:-2000}
fixed=${FIXED_RATE:-1000}
devices=${DEVICES:-200}
connections=${CONNECTIONS:-8}
log_level=${LOG_LEVEL:-warn}
run=(nice -n "${NICE:-0}")
sipp_buf=$(cat /proc/sys/net/core/rmem_max)
if [ "$sipp_buf" -gt 8388608 ]; then sipp_buf=8388608; fi
work=$(mktemp -d /tmp/beckon-calls.XXXXXX)
source "$root/bench/common.sh"
sc=$root/bench/sipp
hz=$(getconf CLK_TCK)
command -v sipp > /dev/null || { echo "sipp is not installed" >&2; exit 1; }
[ -x "$beckond" ] || { echo "no $beckond: cmake --build $build --target beckond" >&2; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
busy() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# The value of a column (by name) in the last line of a SIPp statistics file.
stat_col() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
row = dict(zip(rows[0], rows[-1]))
print(row.get(sys.argv[2], "?").split("\t")[-1])
PY
}

srv=""
start_beckond() {
  sip=$(free_port)
  soap=$(free_port)
  cat > "$work/beckond.toml" <<CONF
[sip]
listen = ["udp:127.0.0.1:$sip"]
domain = "example.com"
[soap]
listen = "127.0.0.1:$soap"
workers = $((connections + 4))
[log]
level = "$log_level"
CONF
  "${run[@]}" "$beckond" --config "$work/beckond.toml" 2>> "$work/beckond.log" &
  srv=$!
  pids+=("$srv")
  for _ in $(seq 100); do grep -q "beckond ready" "$work/beckond.log" && break; sleep 0.1; done
}
stop_beckond() {
  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
}

# The callee: registers "bench" and answers every call (-oocsf).
start_callee() {
  rm -f "$work/uas-register.msg"
  "${run[@]}" sipp "127.0.0.1:$sip" -sf "$sc/call_uas.xml" -oocsf "$sc/call_uas_answer.xml" \
    -key callee bench -i 127.0.0.1 -p "$(free_port)" -t u1 -m 1 -buff_size "$sipp_buf" \
    -nostdin -skip_rlimit -trace_msg -message_file "$work/uas-register.msg" -max_log_size 4096 \
    > "$work/uas.out" 2>&1 &
  uas=$!
  pids+=("$uas")
  for _ in $(seq 50); do grep -q "SIP/2.0 200" "$work/uas-register.msg" 2>/dev/null && break; sleep 0.1; done
}

# run_calls LABEL RATE WARMUP: calls at RATE for WARMUP + DURATION s, CPU
# measured over the last DURATION s; sets c_* figures.
run_calls() {
  local label=$1 rate=$2 warm=$3 calls=$(($2 * ($3 + seconds))) t0 b0 s0 u0 a0 wall start
  start=$EPOCHREALTIME
  "${run[@]}" sipp "127.0.0.1:$sip" -sf "$sc/call_uac.xml" -key callee bench -i 127.0.0.1 -p "$(free_port)" \
    -t u1 -r "$rate" -rp 1000 -m "$calls" -buff_size "$sipp_buf" -nostdin -skip_rlimit \
    -trace_stat -stf "$work/$label.csv" -fd 1 -timeout "$((warm + seconds + 40))s" \
    > "$work/$label.out" 2>&1 &
  local uac=$!
  pids+=("$uac")
  sleep "$warm"
  t0=$EPOCHREALTIME b0=$(busy) s0=$(ticks "$srv") u0=$(ticks "$uas") a0=$(ticks "$uac")
  local ut=0
  while [ -e "/proc/$uac" ] && ! grep -q '^State:.*Z' "/proc/$uac/status" 2>/dev/null; do
    local t=$(($(ticks "$uac") - a0))
    if [ "$t" -gt "$ut" ]; then ut=$t; fi  # a zombie shows 0
    sleep 0.5
  done
  wait "$uac" 2>/dev/null || true
  wall=$(awk "BEGIN {print $EPOCHREALTIME - $t0}")
  c_rss=$(awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$srv/status")
  c_ok=$(stat_col "$work/$label.csv" "SuccessfulCall(C)")
  c_failed=$(stat_col "$work/$label.csv" "FailedCall(C)")
  c_retrans=$(stat_col "$work/$label.csv" "Retransmissions(C)")
  c_rate=$(stat_col "$work/$label.csv" "CallRate(C)")
  local st=$(($(ticks "$srv") - s0)) us=$(($(ticks "$uas") - u0)) all=$(($(busy) - b0))
  pct() { awk "BEGIN {printf \"%d\", 100 * $1 / $hz / $wall}"; }
  c_srv=$(pct "$st") c_uas=$(pct "$us") c_uac=$(pct "$ut")
  c_other=$(pct "$((all - st - us - ut))")
  # CPU per call over the measured part (its calls: rate x its length).
  c_us_per_call=$(awk "BEGIN {printf \"%d\", 1e6 * $st / $hz / ($rate * $wall)}")
  c_held=no
  if [ "$c_ok" = "$calls" ] && [ "$c_failed" = 0 ]; then c_held=yes; fi
}

echo "calls through the proxy, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "beckond: $beckond, log level $log_level, niceness ${NICE:-0}; work dir $work"
echo "each rate: ${warmup}s warm-up + ${seconds}s measured (CPU in % of one core, measured part)"
printf '%-6s %-8s %-6s %-8s %-5s %-8s %-8s %-8s %-6s %-6s %-6s\n' rate "calls/s" failed retrans held \
  beckond "us/call" "RSS MB" UAC UAS other
for rate in $rates; do
  start_beckond
  start_callee
  run_calls "r$rate" "$rate" "$warmup"
  printf '%-6s %-8s %-6s %-8s %-5s %-8s %-8s %-8s %-6s %-6s %-6s\n' "$rate" "$c_rate" "$c_failed" \
    "$c_retrans" "$c_held" "$c_srv%" "$c_us_per_call" "$c_rss" "$c_uac%" "$c_uas%" "$c_other%"
  kill -9 "$uas" 2>/dev/null || true  # SIPp waits for its 1-hour pause on TERM
  stop_beckond
done

if [ "$contact_me" != 1 ]; then exit 0; fi
if ! command -v wrk > /dev/null; then
  echo "contact-me: wrk is not installed (apt-get install wrk); skipped"
  exit 0
fi

# contact-me: devices d1..dN registered by one SIPp, answering NOTIFYs.
start_beckond
start_callee
"${run[@]}" sipp "127.0.0.1:$sip" -sf "$sc/devices.xml" -oocsf "$root/docs/demo/answer.xml" -key prefix d \
  -i 127.0.0.1 -p "$(free_port)" -t u1 -m "$devices" -l "$devices" -r 1000 -buff_size "$sipp_buf" \
  -nostdin -skip_rlimit > "$work/devices.out" 2>&1 &
pids+=($!)
sleep $((devices / 1000 + 2))
wrk_run() {
  DEVICES=$devices PREFIXES=d RUN="$1-$RANDOM" "${run[@]}" wrk -t 2 -c "$connections" -d "${seconds}s" \
    --timeout 5s -s "$root/bench/contact_me.lua" "http://127.0.0.1:$soap/" > "$work/$1.wrk" 2>&1
  awk '/^Requests\/sec/ {print $2}' "$work/$1.wrk"
}
load_run() {
  "${run[@]}" "$build/bin/contact_me_load" --server "http://127.0.0.1:$soap/" --device-prefix d \
    --devices "$devices" --threads 8 --rate "$fixed" --seconds "$seconds" --run-id "$1-$RANDOM" \
    > "$work/$1.load" 2>&1 || true
  cat "$work/$1.load"
}
echo "contact-me alone:"
echo "  highest rate: $(wrk_run cm-alone) requests/s (wrk, $connections connections, ${seconds}s, $devices devices)"
echo "  at $fixed/s: $(load_run cm-alone-fixed)"
echo "contact-me while calls run at $call_rate/s:"
wrk_run cm-calls > "$work/cm-calls.rate" &
side=$!
run_calls "cm-calls" "$call_rate" 0
wait "$side" || true
echo "  highest rate: $(cat "$work/cm-calls.rate") requests/s; calls: $c_rate/s, $c_failed failed," \
  "$c_retrans retrans (beckond $c_srv%, other $c_other%)"
load_run cm-calls-fixed > "$work/cm-calls-fixed.side" &
side=$!
run_calls "cm-calls-fixed" "$call_rate" 0
wait "$side" || true
echo "  at $fixed/s: $(cat "$work/cm-calls-fixed.side")"
echo "  calls: $c_rate/s, $c_failed failed, $c_retrans retrans (beckond $c_srv%, other $c_other%)"
stop_beckond
