#!/usr/bin/env bash
# REGISTER benchmark (issue 4): beckond and Kamailio (Debian package `kamailio`,
# registrar + usrloc in memory, bench/kamailio/kamailio.cfg) under the same
# SIPp load, UDP on loopback, in one run. Not a test: it prints figures.
#   bench/register.sh [BUILD_DIR]      (default: build)
# Phases (PHASES, default "ladder memory flat"):
#   ladder  for each server and each rate of RATES, a fresh server and
#           DURATION s of REGISTER at that rate, one new binding per call
#           (sipp/register.xml); "held" = every call got its 200, no failed
#           call, no retransmission, and SIPp reached 97% of the asked rate.
#           Stops at a server's first rate not held. Prints the highest rate
#           held by each and beckond's as a ratio of Kamailio's.
#   memory  a fresh server, BINDINGS new bindings at MEM_RATE, then MEM_WAIT s
#           (completed nta transactions live 64*T1 = 32 s); bytes per binding
#           from beckond's RSS and from the PSS summed over Kamailio's processes.
#   flat    beckond only: FLAT_USERS bindings, then FLAT_SECONDS at FLAT_RATE
#           re-registering them (sipp/register_pool.xml), RSS every 5 s; flat
#           when the last sample is within 10% of the one at 30 s.
# Env: RATES ("5000 10000 15000 20000 25000 30000"), DURATION (20), BINDINGS
# (100000), MEM_RATE (5000), MEM_WAIT (35), FLAT_USERS (100000), FLAT_RATE
# (10000), FLAT_SECONDS (60), SERVERS ("beckond kamailio"), PHASES,
# KAM_CHILDREN (2 UDP workers), KAM_SHM (1024 MB), KAM_PKG (16 MB per process),
# LOG_LEVEL (beckond's, warn), BECKOND (binary; default BUILD_DIR/bin/beckond),
# LABEL (printed in the header, e.g. "baseline: stateful REGISTER"),
# MIN_AVAIL_MB (2048: a SIPp run is stopped when MemAvailable falls below),
# QUIET_WAIT (120: at most that many s of waiting for an idle machine before
# each server start).
# AUTH=1: the digest variant (sipp/register_auth.xml: REGISTER, 401,
# REGISTER with credentials, 200) for users u1..uBINDINGS, password "secret",
# realm example.com, taken in turn from an injection file (the ladder's calls
# wrap round that pool, so after BINDINGS calls they refresh); beckond gets
# [sip.auth] and one [[sip.auth.user]] per user, Kamailio -A WITH_AUTH.
# STORE (beckond's store: "full" (default: every 200 after its binding is
# committed with synchronous = full), "normal" (committed, synchronous =
# normal), or "none" (no store: everything in memory).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
beckond=${BECKOND:-$build/bin/beckond}
rates=${RATES:-5000 10000 15000 20000 25000 30000}
seconds=${DURATION:-20}
bindings=${BINDINGS:-100000}
mem_rate=${MEM_RATE:-5000}
mem_wait=${MEM_WAIT:-35}
flat_users=${FLAT_USERS:-100000}
flat_rate=${FLAT_RATE:-10000}
flat_seconds=${FLAT_SECONDS:-60}
servers=${SERVERS:-beckond kamailio}
phases=${PHASES:-ladder memory flat}
kam_children=${KAM_CHILDREN:-2}
kam_shm=${KAM_SHM:-1024}
kam_pkg=${KAM_PKG:-16}
log_level=${LOG_LEVEL:-warn}
auth=${AUTH:-0}
store=${STORE:-full}
min_avail=${MIN_AVAIL_MB:-2048}
quiet_wait=${QUIET_WAIT:-120}
hz=$(getconf CLK_TCK)
password=secret
sipp_buf=$(cat /proc/sys/net/core/rmem_max)
if [ "$sipp_buf" -gt 8388608 ]; then sipp_buf=8388608; fi
work=$(mktemp -d /tmp/beckon-register.XXXXXX)
source "$root/bench/common.sh"
now() { echo "${EPOCHREALTIME/./}"; }  # microseconds
say() { echo "$*" | tee -a "$work/summary.txt"; }

if [[ " $servers " == *" kamailio "* ]] && ! command -v kamailio > /dev/null; then
  echo "kamailio is not installed: apt-get -o DPkg::Lock::Timeout=600 install -y kamailio" >&2
  echo "(or SERVERS=beckond $0 to run beckond alone, without the comparison)" >&2
  exit 1
fi
command -v sipp > /dev/null || { echo "sipp is not installed" >&2; exit 1; }
[ -x "$beckond" ] || { echo "no $beckond: cmake --build $build --target beckond" >&2; exit 1; }

# ---- measurements -----------------------------------------------------------
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
rss_kb() { local p; for p in "$@"; do cat "/proc/$p/status" 2>/dev/null || true; done | awk '/^VmRSS:/ {s += $2} END {print s + 0}'; }
pss_kb() { local p; for p in "$@"; do cat "/proc/$p/smaps_rollup" 2>/dev/null || true; done | awk '/^Pss:/ {s += $2} END {print s + 0}'; }
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# Waits (at most QUIET_WAIT s) until the machine's other work uses less than
# 15% of a core: the figures are only worth something on an idle machine.
quiet_waited=0
wait_quiet() {
  local b0 b1 i
  for i in $(seq "$quiet_wait"); do
    b0=$(busy_ticks); sleep 1; b1=$(busy_ticks)
    if [ $(((b1 - b0) * 100 / hz)) -lt 15 ]; then return 0; fi
    if [ "$i" = 1 ]; then echo "   (waiting for the machine to be idle: $(((b1 - b0) * 100 / hz))% of a core busy)" >&2; fi
    quiet_waited=$((quiet_waited + 1))
  done
  echo "   (machine still busy after $quiet_wait s: going on)" >&2
}

# ---- servers ----------------------------------------------------------------
srv_name=
srv_port=
srv_pids=()
srv_log=
n_started=0

if [ "$auth" = 1 ]; then
  echo "AUTH=1: $bindings users u1..u$bindings, password $password, realm example.com"
  /usr/bin/python3 - "$work" "$bindings" "$password" <<'PY'
import hashlib, sys
work, n, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(f"{work}/users.csv", "w") as csv, open(f"{work}/auth.toml", "w") as toml:
    csv.write("SEQUENTIAL\n")
    toml.write('[sip.auth]\nrealm = "example.com"\n')
    for i in range(1, n + 1):
        u = f"u{i}"
        csv.write(f"{u};[authentication username={u} password={pw}]\n")
        ha1 = hashlib.md5(f"{u}:example.com:{pw}".encode()).hexdigest()
        toml.write(f'[[sip.auth.user]]\nuser = "{u}"\nha1_md5 = "{ha1}"\n')
PY
fi
/usr/bin/python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    f.write('SEQUENTIAL\n' + ''.join(f'f{i}\n' for i in range(1, int(sys.argv[2]) + 1)))
" "$work/pool.csv" "$flat_users"

beckond_config() {  # $1 file, $2 SIP port
  cat > "$1" <<CONF
# bench/register.sh: UDP on loopback only, log level $log_level.
[sip]
listen = ["udp:127.0.0.1:$2"]
[soap]
listen = "127.0.0.1:$(free_port)"
[store]
path = "$([ "$store" = none ] || echo "$work/beckon-$2.db")"
synchronous = "$([ "$store" = normal ] && echo normal || echo full)"
[log]
level = "$log_level"
CONF
  if [ "$auth" = 1 ]; then cat "$work/auth.toml" >> "$1"; fi
}

if [ "$auth" = 1 ] && [[ " $servers " == *" beckond "* ]]; then
  beckond_config "$work/check.toml" 5060
  if ! "$beckond" --check-config "$work/check.toml" > "$work/check.out" 2>&1; then
    echo "AUTH=1: this beckond refuses the digest configuration ($(tail -1 "$work/check.out"))."
    echo "        Digest support has not landed in this build: Kamailio only."
    servers=${servers//beckond/}
  fi
fi

wait_ready() {  # $1 port: any SIP answer to an OPTIONS within 10 s
  /usr/bin/python3 - "$1" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(0.2)
me = s.getsockname()[1]
for i in range(50):
    s.sendto((f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
              f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-ready{i};rport\r\n"
              f"From: <sip:ready@127.0.0.1>;tag=r{i}\r\nTo: <sip:127.0.0.1>\r\n"
              f"Call-ID: ready{i}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
              "Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
    try:
        if s.recv(65535).startswith(b"SIP/2.0 "):
            sys.exit(0)
    except (socket.timeout, ConnectionRefusedError):
        time.sleep(0.1)
sys.exit(1)
PY
}

start_server() {  # $1 beckond|kamailio
  wait_quiet
  srv_name=$1
  srv_port=$(free_port)
  n_started=$((n_started + 1))
  srv_log="$work/$1-$n_started.log"
  srv_pids=()
  if [ "$1" = beckond ]; then
    beckond_config "$work/beckond-$n_started.toml" "$srv_port"
    "$beckond" --config "$work/beckond-$n_started.toml" 2> "$srv_log" &
    srv_pids=($!)
    pids+=($!)
  else
    local run="$work/kamailio-$n_started" defs=(-A "CHILDREN=$kam_children")
    mkdir -p "$run"
    if [ "$auth" = 1 ]; then defs+=(-A WITH_AUTH -A "PASSWORD=\"$password\""); fi
    kamailio -f "$root/bench/kamailio/kamailio.cfg" -DD -E "${defs[@]}" \
      -l "udp:127.0.0.1:$srv_port" -Y "$run" -P "$run/kamailio.pid" \
      -m "$kam_shm" -M "$kam_pkg" > "$srv_log" 2>&1 &
    pids+=($!)
    srv_pids=($!)
  fi
  if ! wait_ready "$srv_port"; then
    echo "$1 did not answer on 127.0.0.1:$srv_port; its log ($srv_log):" >&2
    tail -20 "$srv_log" >&2
    exit 1
  fi
  if [ "$1" = kamailio ]; then  # the main process and the ones it forked
    local main child
    main=$(cat "$work/kamailio-$n_started/kamailio.pid")
    srv_pids=("$main")
    [ "$main" = "${pids[-1]}" ] || srv_pids+=("${pids[-1]}")
    for child in $(ps -o pid= --ppid "$main"); do srv_pids+=("$child"); done
    pids+=("${srv_pids[@]}")
  fi
}

stop_server() {
  local p
  kill "${srv_pids[0]}" 2>/dev/null || true
  for _ in $(seq 50); do
    local up=0
    for p in "${srv_pids[@]}"; do if alive "$p"; then up=1; fi; done
    if [ "$up" = 0 ]; then break; fi
    sleep 0.1
  done
  for p in "${srv_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${srv_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  srv_pids=()
}

# ---- one SIPp run -------------------------------------------------------------
# run_sipp LABEL RATE CALLS SAMPLE_EVERY sipp-args...: SIPp against the running
# server; sets r_* (see below). With SAMPLE_EVERY > 0, writes "seconds KiB"
# of the server's memory every SAMPLE_EVERY s to $work/LABEL.samples.
run_sipp() {
  local label=$1 rate=$2 calls=$3 every=$4
  shift 4
  local sport t0 sp
  sport=$(free_port)
  t0=$(now)
  sipp "$@" -i 127.0.0.1 -p "$sport" -t u1 -r "$rate" -rp 1000 -m "$calls" \
    -buff_size "$sipp_buf" -nostdin -trace_stat -stf "$work/$label.csv" -fd 1 \
    -timeout "$((calls / rate + 40))s" "127.0.0.1:$srv_port" > "$work/$label.out" 2>&1 &
  sp=$!
  pids+=("$sp")
  # The sampling is one Python process (no fork per sample: the 2 cores are busy).
  eval "$(/usr/bin/python3 - "$sp" "$srv_name" "$srv_port" "$sport" "$every" "$(( calls / rate + 60 ))" \
    "$min_avail" "$work/$label.samples" "$t0" "${srv_pids[@]}" <<'PY'
import os, signal, sys, time
sp, kind, srv_port, sipp_port, every, limit, min_avail, samples, t0 = sys.argv[1:10]
sp, every, limit, min_avail, t0 = int(sp), int(every), int(limit), int(min_avail), int(t0) / 1e6
srv = [int(p) for p in sys.argv[10:]]
hz = os.sysconf("SC_CLK_TCK")

def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""

def stat(pid):  # (state, user+system ticks)
    f = read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()
    return (f[0], int(f[11]) + int(f[12])) if len(f) > 12 else ("X", 0)

def ticks(pids):
    return sum(stat(p)[1] for p in pids)

def busy():
    f = read("/proc/stat").split("\n", 1)[0].split()
    return sum(int(f[i]) for i in (1, 2, 3, 6, 7, 8))

def mem_kb():  # beckond: RSS; Kamailio: PSS summed over its processes
    key, name = ("VmRSS:", "status") if kind == "beckond" else ("Pss:", "smaps_rollup")
    total = 0
    for p in srv:
        for line in read(f"/proc/{p}/{name}").splitlines():
            if line.startswith(key):
                total += int(line.split()[1])
    return total

def drops(port):
    local = "0100007F:%04X" % int(port)
    return sum(int(l.split()[-1]) for l in read("/proc/net/udp").splitlines()[1:] if l.split()[1] == local)

def avail_mb():
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 1 << 30

srv0, busy0, sdrop0 = ticks(srv), busy(), drops(srv_port)
sipp_ticks = sipp_drops = peak = nxt = 0
note = ""
out = open(samples, "w")
while True:
    state, t = stat(sp)
    if state in ("Z", "X"):
        break
    sipp_ticks = max(sipp_ticks, t)  # a zombie shows 0: keep the largest
    sipp_drops = max(sipp_drops, drops(sipp_port))
    el = time.time() - t0
    m = mem_kb()
    peak = max(peak, m)
    if every and el >= nxt:
        out.write(f"{nxt} {m}\n")
        nxt += every
    if not note and avail_mb() < min_avail:
        note = f"stopped: MemAvailable below {min_avail} MB"
        os.kill(sp, signal.SIGTERM)
    if not note and el > limit:
        note = f"stopped: SIPp still running after {limit} s"
        os.kill(sp, signal.SIGTERM)
    time.sleep(0.2)
wall = time.time() - t0
if every:
    out.write(f"{nxt} {mem_kb()}\n")
out.close()
srv_t = ticks(srv) - srv0
other = busy() - busy0 - srv_t - sipp_ticks
pct = lambda t: round(100 * t / hz / wall)
print(f"r_wall={wall:.1f} r_srv_cpu={pct(srv_t)} r_sipp_cpu={pct(sipp_ticks)} "
      f"r_other_cpu={max(0, pct(other))} r_srv_drops={drops(srv_port) - sdrop0} "
      f"r_sipp_drops={sipp_drops} r_peak_mb={peak // 1024} r_note='{note}'")
PY
)"
  wait "$sp" 2>/dev/null || true
  # Figures from the last line of SIPp's statistics file (columns by name).
  eval "$(/usr/bin/python3 - "$work/$label.csv" "$calls" <<'PY'
import csv, sys
path, n = sys.argv[1], int(sys.argv[2])
try:
    rows = list(csv.reader(open(path), delimiter=";"))
    head, rows = rows[0], [dict(zip(rows[0], r)) for r in rows[1:] if len(r) >= len(rows[0]) - 1]
except (OSError, IndexError):
    rows = []
if not rows:
    print("r_created=0 r_ok=0 r_failed=0 r_retrans=0 r_achieved=0")
    sys.exit()
when = lambda d: float(d["CurrentTime"].split("\t")[-1])
start = float(rows[-1]["StartTime"].split("\t")[-1])
last = rows[-1]
created = int(last["TotalCallCreated"])
# When the last call was created (interpolated between the 1 s lines).
end = when(last)
for a, b in zip(rows, rows[1:]):
    ca, cb = int(a["TotalCallCreated"]), int(b["TotalCallCreated"])
    if ca < created <= cb:
        end = when(a) + (when(b) - when(a)) * (created - ca) / (cb - ca)
        break
rate = created / (end - start) if end > start else 0
print(f"r_created={created} r_ok={last['SuccessfulCall(C)']} r_failed={last['FailedCall(C)']} "
      f"r_retrans={last['Retransmissions(C)']} r_achieved={rate:.0f}")
PY
)"
  r_held=0
  if [ -z "$r_note" ] && [ "$r_ok" = "$calls" ] && [ "$r_failed" = 0 ] && [ "$r_retrans" = 0 ]; then
    if [ "$r_achieved" -ge $((rate * 97 / 100)) ]; then
      r_held=1
    else
      r_note="SIPp reached only $r_achieved/s (SIPp ${r_sipp_cpu}% of a core, server ${r_srv_cpu}%)"
      if [ "$r_sipp_cpu" -ge 90 ]; then r_note="$r_note: SIPp is the limit"; fi
    fi
  elif [ -z "$r_note" ]; then
    r_note="$r_retrans retrans, $r_failed failed"
    if [ "$r_srv_drops" -gt 0 ]; then r_note="$r_note, server socket dropped $r_srv_drops"; fi
    if [ "$r_sipp_drops" -gt 0 ]; then r_note="$r_note, SIPp socket dropped $r_sipp_drops"; fi
    if [ "$r_sipp_cpu" -ge 90 ] && [ "$r_achieved" -lt $((rate * 97 / 100)) ]; then
      r_note="$r_note; SIPp saturated (${r_sipp_cpu}%, $r_achieved/s): SIPp may be the limit"
    fi
  fi
  return 0
}

row_head() {
  say "$(printf '%-9s %8s %9s %8s %6s %7s %6s %7s %8s %8s %11s  %s' server 'asked/s' 'reached/s' '200s' failed \
    retrans 'srvCPU' 'SIPpCPU' 'otherCPU' 'peakMiB' 'drops s/SIPp' 'result')"
}
row() {  # $1 asked rate
  local res=held
  if [ "$r_held" != 1 ]; then res="NOT held: $r_note"; fi
  if [ "$r_other_cpu" -ge 30 ]; then res="$res [machine busy: other work used ${r_other_cpu}% of a core]"; fi
  say "$(printf '%-9s %8s %9s %8s %6s %7s %5s%% %6s%% %7s%% %8s %11s  %s' "$srv_name" "$1" "$r_achieved" "$r_ok" \
    "$r_failed" "$r_retrans" "$r_srv_cpu" "$r_sipp_cpu" "$r_other_cpu" "$r_peak_mb" \
    "$r_srv_drops/$r_sipp_drops" "$res")"
}

if [ "$auth" = 1 ]; then
  scen_new=("-sf" "$root/bench/sipp/register_auth.xml" -inf "$work/users.csv")
  scen_pool=("${scen_new[@]}")
  variant="digest (MD5), one call = REGISTER 401 REGISTER 200"
else
  scen_new=("-sf" "$root/bench/sipp/register.xml")
  scen_pool=("-sf" "$root/bench/sipp/register_pool.xml" -inf "$work/pool.csv")
  variant="no auth"
fi

say "== REGISTER benchmark, UDP on 127.0.0.1, $variant${LABEL:+ -- $LABEL}"
say "beckond: $beckond (built $(date -r "$beckond" '+%F %T')), log level $log_level, store $store"
if command -v kamailio > /dev/null; then say "kamailio: $(kamailio -v | head -1 | cut -d' ' -f2-3), $kam_children UDP workers, -m $kam_shm -M $kam_pkg, bench/kamailio/kamailio.cfg"; fi
say "SIPp: $(sipp -v 2>&1 | grep -o 'v[0-9.]*' | head -1), one process, -t u1, buffers $sipp_buf B; $(nproc) cores; work dir $work"

declare -A best limit_note
if [[ " $phases " == *" ladder "* ]]; then
  say ""
  say "-- ladder: ${seconds} s per rate, a fresh server per rate, a new binding per call"
  row_head
  for s in $servers; do
    best[$s]=0
    for rate in $rates; do
      start_server "$s"
      if [ "$auth" = 1 ]; then args=("${scen_new[@]}"); else args=("${scen_new[@]}" -key prefix "r${rate}x"); fi
      run_sipp "$s-ladder-$rate" "$rate" "$((rate * seconds))" 0 "${args[@]}"
      stop_server
      row "$rate"
      if [ "$r_held" = 1 ]; then best[$s]=$rate; else limit_note[$s]=$r_note; break; fi
    done
  done
  say ""
  for s in $servers; do
    say "$(printf 'highest rate held for %s s: %-8s %6s/s%s' "$seconds" "$s" "${best[$s]}" \
      "${limit_note[$s]:+   (next step: ${limit_note[$s]})}")"
  done
  if [ "${best[beckond]:-0}" -gt 0 ] && [ "${best[kamailio]:-0}" -gt 0 ]; then
    say "beckond / kamailio: $(awk -v a="${best[beckond]}" -v b="${best[kamailio]}" 'BEGIN {printf "%.2f", a / b}')"
    top=${rates##* }
    for s in beckond kamailio; do
      if [ "${best[$s]}" = "$top" ]; then say "($s held the top of the ladder: its limit is higher; the ratio is a lower bound)"; fi
    done
  fi
fi

if [[ " $phases " == *" memory "* ]]; then
  say ""
  say "-- memory: $bindings new bindings at $mem_rate/s, then ${mem_wait} s for completed transactions to expire"
  say "$(printf '%-9s %9s %16s %16s %16s %12s %12s' server '200s' 'RSS KiB before' 'RSS KiB after' 'PSS KiB after' 'B/bind RSS' 'B/bind PSS')"
  for s in $servers; do
    start_server "$s"
    sleep 1
    rss0=$(rss_kb "${srv_pids[@]}"); pss0=$(pss_kb "${srv_pids[@]}")
    run_sipp "$s-memory" "$mem_rate" "$bindings" 0 "${scen_new[@]}" -key prefix m
    rss1=$(rss_kb "${srv_pids[@]}"); pss1=$(pss_kb "${srv_pids[@]}")
    sleep "$mem_wait"
    rss2=$(rss_kb "${srv_pids[@]}"); pss2=$(pss_kb "${srv_pids[@]}")
    stop_server
    ok=$r_ok
    if [ "$ok" = 0 ]; then ok=1; fi
    say "$(printf '%-9s %9s %16s %16s %16s %12s %12s' "$s" "$r_ok" "$rss0" "$rss2 ($rss1)" "$pss2 ($pss1)" \
      "$(( (rss2 - rss0) * 1024 / ok ))" "$(( (pss2 - pss0) * 1024 / ok ))")"
    if [ "$r_held" != 1 ]; then say "          ($s run: $r_note)"; fi
  done
  say "(after = ${mem_wait} s after the last 200; in brackets: right after it. Kamailio: sums over its"
  say " processes, PSS counts the shared pool once. B/binding = (after - before) / 200s.)"
fi

if [[ " $phases " == *" flat "* ]] && [[ " $servers " == *" beckond "* ]]; then
  say ""
  pool=("${scen_pool[@]}")
  n=$flat_users
  if [ "$auth" = 1 ]; then n=$bindings; fi
  say "-- flat: beckond, $n bindings, then ${flat_seconds} s at $flat_rate/s re-registering them"
  start_server beckond
  run_sipp beckond-flat-fill "$flat_rate" "$n" 0 "${pool[@]}"
  fill="$r_ok registered ($r_retrans retrans, $r_failed failed)"
  run_sipp beckond-flat "$flat_rate" "$((flat_rate * flat_seconds))" 5 "${pool[@]}"
  stop_server
  say "fill: $fill; refresh run: $r_ok 200s, $r_failed failed, $r_retrans retrans, $r_achieved/s, beckond CPU ${r_srv_cpu}%"
  say "RSS (KiB) every 5 s: $(awk '{printf "%s%ss=%s", (NR > 1 ? " " : ""), $1, $2}' "$work/beckond-flat.samples")"
  at30=$(awk '$1 == 30 {print $2}' "$work/beckond-flat.samples")
  last=$(awk -v t="$flat_seconds" '$1 <= t {v = $2} END {print v}' "$work/beckond-flat.samples")
  if [ -n "$at30" ] && [ -n "$last" ]; then
    say "$(awk -v a="$at30" -v b="$last" -v t="$flat_seconds" 'BEGIN {d = 100 * (b - a) / a;
      printf "at %ss vs 30s: %+.1f%% -> %s", t, d, (d <= 10 && d >= -10) ? "flat (within 10%)" : "NOT flat"}')"
  fi
fi
say ""
if [ "$quiet_waited" -gt 0 ]; then say "(waited $quiet_waited s in all for other work on the machine to stop)"; fi
say "otherCPU: CPU used by everything but the server and SIPp (the script's sampling included), % of a core."
say "summary: $work/summary.txt"
