#!/usr/bin/env bash
# Start-up benchmark (issue 5): beckond with BINDINGS registrations and
# REQUESTS queued contact requests in its store; how long from exec until it
# serves (answers a SIP OPTIONS over UDP, and a GET of the WSDL over SOAP).
#   bench/startup.sh [BUILD_DIR]      (default: build)
# Env: BINDINGS (100000), REQUESTS (10000), RUNS (3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
bindings=${BINDINGS:-100000}
requests=${REQUESTS:-10000}
runs=${RUNS:-3}
work=$(mktemp -d /tmp/beckon-startup.XXXXXX)
source "$root/bench/common.sh"

"$build/bin/store_fill" --store "$work/filled.db" --bindings "$bindings" --requests "$requests"
for run in $(seq "$runs"); do
  cp "$work/filled.db" "$work/beckon.db"  # the same store every run
  sip=$(free_port)
  soap=$(free_port)
  cat > "$work/beckond.toml" <<CONF
[sip]
listen = ["udp:127.0.0.1:$sip"]
[soap]
listen = "127.0.0.1:$soap"
[store]
path = "$work/beckon.db"
CONF
  # The probe starts beckond itself, so that the clock starts at exec.
  /usr/bin/python3 - "$build/bin/beckond" "$work/beckond.toml" "$sip" "$soap" "$work/beckond.log" <<'PY'
import os, socket, subprocess, sys, time, urllib.request
beckond, config, sip, soap, log = sys.argv[1:]
t0 = time.monotonic()
proc = subprocess.Popen([beckond, "--config", config], stderr=open(log, "wb"))
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(0.01)
port = sock.getsockname()[1] if sock.bind(("127.0.0.1", 0)) is None else 0
options = (f"OPTIONS sip:127.0.0.1:{sip} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-s{{n}}\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:probe@example.com>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
           "Call-ID: startup-{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
sip_at = soap_at = None
n = 0
try:
    while time.monotonic() - t0 < 30 and (sip_at is None or soap_at is None):
        if sip_at is None:
            n += 1
            sock.sendto(options.format(n=n).encode(), ("127.0.0.1", int(sip)))
            try:
                if sock.recv(65535).startswith(b"SIP/2.0 200"):
                    sip_at = time.monotonic() - t0
            except socket.timeout:
                pass
        if soap_at is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{soap}/contact-me.wsdl", timeout=0.2).read()
                soap_at = time.monotonic() - t0
            except OSError:
                time.sleep(0.01)
    # CPU time until then: what start-up costs whatever else the machine runs.
    fields = open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
finally:
    proc.terminate()
    proc.wait(10)
loaded = [l for l in open(log, errors="replace") if "read in" in l or "restored" in l]
print(f"SIP answers after {sip_at:.3f} s, SOAP after {soap_at:.3f} s; beckond used {cpu:.2f} s CPU"
      if sip_at and soap_at
      else f"not serving within 30 s (sip {sip_at}, soap {soap_at})")
for l in loaded:
    print("  " + l.strip().split(" ", 3)[-1])
PY
done
