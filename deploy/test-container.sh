#!/usr/bin/env bash
# Builds deploy/Containerfile and checks the image, with podman (or docker).
#
#   deploy/test-container.sh [ENGINE_OPTION...]
#
# Builds the image (it needs the debian:12 and debian:12-slim base images,
# pulled or made locally), then runs it with its ports published on
# 127.0.0.1 only (free ports picked here) and a fresh named volume:
# --check-config on the packaged configuration, the user it runs as
# (beckon, not root), the CA certificates (HTTPS notices), GET /healthz,
# the WSDL and /metrics (200), a SIP OPTIONS over UDP through the published
# port (200 OK), SIGHUP ("reload applied" in its log), and `stop`: exit
# status 0 within 10 s. Removes its containers, volume and image on exit.
#
# ENGINE_OPTIONs go before every build and run, e.g. `--runtime runc` where
# crun cannot start containers (cgroups v1 hosts). ENGINE=docker to use docker;
# RUN_OPTIONS="--ulimit nofile=20000:20000 --ulimit nproc=32768:32768" where
# the engine's default limits are above what the host lets it set.
set -euo pipefail
cd "$(dirname "$0")/.."

engine=${ENGINE:-podman}
opts=("$@")
read -r -a run_opts <<< "${RUN_OPTIONS:-}"
tag="beckon-test-$$"
name="beckond-test-$$"
volume="beckon-test-store-$$"
work=$(mktemp -d /tmp/beckon-container-XXXXXX)

fail() {
  echo "test-container: FAILED: $*" >&2
  if "$engine" "${opts[@]}" container inspect "$name" >/dev/null 2>&1; then
    "$engine" "${opts[@]}" logs "$name" 2>&1 | tail -20 >&2
  fi
  exit 1
}
step() { echo "test-container: $*"; }
cleanup() {
  "$engine" "${opts[@]}" rm -f "$name" >/dev/null 2>&1 || true
  "$engine" volume rm -f "$volume" >/dev/null 2>&1 || true
  "$engine" rmi -f "$tag" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 bench/free_port.py; }
run() { "$engine" "${opts[@]}" run "${run_opts[@]}" "$@"; }

started=$(date +%s)
"$engine" "${opts[@]}" build -f deploy/Containerfile -t "$tag" . > "$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log" >&2; fail "the image does not build (log above)"; }
step "built in $(($(date +%s) - started)) s: $("$engine" image inspect "$tag" --format '{{.Size}}') bytes"

run --rm --entrypoint true "$tag" ||
  fail "$engine cannot start a container here (above); see the options at the top of $0"
run --rm "$tag" --check-config /etc/beckon/beckond.toml > "$work/check" 2>&1 ||
  { cat "$work/check" >&2; fail "--check-config refused the packaged configuration"; }
user=$(run --rm --entrypoint id "$tag" -un)
[ "$user" = beckon ] || fail "runs as '$user', not beckon"
run --rm --entrypoint sh "$tag" -c 'ls /etc/ssl/certs/ca-certificates.crt' >/dev/null ||
  fail "no CA certificates in the image"
step "packaged configuration ok, user beckon, CA certificates there"

sip=$(free_port)
soap=$(free_port)
run -d --name "$name" -p "127.0.0.1:$sip:5060/udp" -p "127.0.0.1:$soap:8080" \
  -v "$volume:/var/lib/beckon" "$tag" > /dev/null
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$soap/healthz" && break
  sleep 0.1
done
for path in /healthz /contact-me.wsdl /metrics; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$soap$path")
  [ "$code" = 200 ] || fail "GET $path: $code"
done
step "GET /healthz, /contact-me.wsdl, /metrics: 200"

answer=$(python3 - "$sip" <<'PY'
import socket, sys, uuid
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(5)
me = s.getsockname()[1]
cid = uuid.uuid4().hex
s.sendto((f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
          f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{cid[:16]};rport\r\n"
          f"Max-Forwards: 70\r\nFrom: <sip:test@127.0.0.1>;tag={cid[:8]}\r\n"
          f"To: <sip:127.0.0.1:{port}>\r\nCall-ID: {cid}\r\nCSeq: 1 OPTIONS\r\n"
          f"Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
print(s.recv(65535).split(b"\r\n", 1)[0].decode())
PY
) || fail "no answer to SIP OPTIONS on 127.0.0.1:$sip/udp"
[ "$answer" = "SIP/2.0 200 OK" ] || fail "SIP OPTIONS: $answer"
step "SIP OPTIONS over UDP: 200 OK"

"$engine" "${opts[@]}" kill -s HUP "$name" > /dev/null
for _ in $(seq 1 50); do
  "$engine" logs "$name" 2>&1 | grep -q "reload applied" && break
  sleep 0.1
done
"$engine" logs "$name" 2>&1 | grep -q "reload applied" || fail "SIGHUP: no 'reload applied'"
step "SIGHUP: reload applied"

started=$(date +%s)
"$engine" "${opts[@]}" stop -t 10 "$name" > /dev/null
status=$("$engine" "${opts[@]}" inspect "$name" --format '{{.State.ExitCode}}')
[ "$status" = 0 ] || fail "exit status $status after stop"
[ $(($(date +%s) - started)) -lt 10 ] || fail "stop took the engine's 10 s: SIGTERM ignored"
step "stop: exit status 0 in $(($(date +%s) - started)) s"
step "passed"
