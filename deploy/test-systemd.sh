#!/usr/bin/env bash
# Installs the Debian package on Debian 12 booted with systemd as PID 1 (a
# podman container) and checks that the unit really runs beckond.
#
#   deploy/test-systemd.sh [DEB | BUILD_DIR] [ENGINE_OPTION...]
#
# DEB is the package (beckon_*.deb); with a BUILD_DIR instead (default
# build/, already built) it is built there first with `cpack -G DEB`, as
# deploy/test-package.sh does. As root, with podman (rootful) and, unless
# BASE_ROOTFS names one already made, debootstrap.
#
# Makes a Debian 12 root file system with systemd (debootstrap minbase;
# BASE_ROOTFS=FILE.tar keeps it for the next run: made there if missing, taken
# from there if not), imports it as an image and boots /sbin/init in a
# container (podman --systemd=always, the default network, no port
# published). In it: `apt-get install ./beckon_*.deb` (the postinst enables
# and starts beckond.service), then checks
#   - beckond.service active, MainPID running as beckon, User=beckon,
#     NoNewPrivileges, ProtectSystem=strict; in /proc/MAINPID: no
#     capabilities, no_new_privs, a seccomp filter, and its own mount
#     namespace as the unit asks: / read-only, /var/lib/beckon writable, a
#     private /tmp and /var/tmp, /home and /root inaccessible, a private
#     read-only /dev, /proc with hidepid=invisible;
#   - the store /var/lib/beckon/beckon.db owned by beckon, no access for
#     others; GET /healthz, the WSDL and /metrics (ports from the packaged
#     /etc/beckon/beckond.toml); a SIP OPTIONS and a REGISTER over UDP (sent
#     from this machine's python3 inside the container's network namespace);
#   - `systemctl reload`: "reload applied" in the journal, same MainPID;
#     `systemctl restart`: a new MainPID, the same store, the binding
#     restored; a reboot of the container: beckond started at boot (enabled)
#     with the binding; reinstalling the package (as an upgrade does):
#     restarted by the postinst;
#   - `systemctl stop`: well within TimeoutStopSec, exit status 0, Result
#     success; `systemd-analyze security beckond`: exposure at most 2.0;
#   - `apt-get remove` (beckond running): the prerm stops it, the store and
#     the configuration stay; `apt-get purge`: the store, /etc/beckon and
#     every unit symlink gone.
# Also fails a package whose unit runs /bin/kill (ExecReload) without
# depending on procps. Noted, not a failure: LimitNOFILE cut by the
# container's limit.
# Any failed check: a message, the unit's journal, exit status 1. Removes its
# container, image and temporary files on exit (not BASE_ROOTFS).
#
# Privilege: the container gets --cap-add SYS_ADMIN and nothing else beyond
# podman's defaults. systemd needs it to unshare and set up the unit's mount
# namespace (ProtectSystem, ProtectHome, PrivateTmp, PrivateDevices,
# ProtectKernel*, ProtectControlGroups, ProtectProc) and its UTS namespace
# (ProtectHostname). Without it systemd logs, at debug level only, "Failed to
# unshare the mount namespace: Operation not permitted" and "Failed to set up
# namespace, assuming containerized execution and ignoring": beckond starts
# with none of that sandboxing, which this script would report as a failure.
# Where AppArmor confines containers (not on the host this was written on),
# systemd's mounts may need RUN_OPTIONS="--security-opt apparmor=unconfined".
#
# ENGINE_OPTIONs go before every podman command, e.g. `--runtime runc` where
# crun cannot start containers (cgroups v1 hosts). RUN_OPTIONS="--ulimit
# nofile=20000:20000 --ulimit nproc=32768:32768" where podman's default limits
# are above what the host lets it set (then LimitNOFILE=65536 is cut to the
# container's hard limit by systemd; noted, not a failure).
set -euo pipefail
cd "$(dirname "$0")/.."

arg=build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  arg=$1
  shift
fi
opts=("$@")
read -r -a run_opts <<< "${RUN_OPTIONS:-}"
mirror=${MIRROR:-http://deb.debian.org/debian}
image="localhost/beckon-systemd-test-$$"
name="beckon-systemd-test-$$"
work=$(mktemp -d /tmp/beckon-systemd-XXXXXX)

fail() {
  echo "test-systemd: FAILED: $*" >&2
  if podman "${opts[@]}" container inspect "$name" >/dev/null 2>&1; then
    podman "${opts[@]}" exec "$name" systemctl status --no-pager beckond 2>&1 | head -12 >&2 || true
    podman "${opts[@]}" exec "$name" journalctl --no-pager -n 30 -u beckond >&2 || true
  fi
  exit 1
}
step() { echo "test-systemd: $*"; }
cleanup() {
  podman "${opts[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true
  podman "${opts[@]}" rmi -f "$image" >/dev/null 2>&1 || true
  if [ -d "$work/rootfs" ]; then rm -rf --one-file-system "$work/rootfs"; fi
  rm -rf "$work"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || fail "needs root (rootful podman, debootstrap, nsenter)"
started=$(date +%s)

# --- the package ----------------------------------------------------------------
if [ -f "$arg" ]; then
  deb=$(cd "$(dirname "$arg")" && pwd)/$(basename "$arg")
else
  build=$(cd "$arg" && pwd)
  (cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) ||
    { cat "$work/cpack.log" >&2; fail "cpack -G DEB in $build"; }
  deb=$(ls "$work"/out/beckon_*.deb)
fi
[ "$(dpkg-deb -f "$deb" Package)" = beckon ] || fail "$deb is not the beckon package"
version=$(dpkg-deb -f "$deb" Version)
step "package $(basename "$deb") ($version)"
# ExecReload=/bin/kill: procps's, which Debian installs everywhere but in
# minbase and container images (priority important, not essential): the
# package must depend on it. The base system here leaves it out, so that the
# dependency is what brings it.
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/beckond.service >"$work/unit" ||
  fail "no /lib/systemd/system/beckond.service in $deb"
depends=$(dpkg-deb -f "$deb" Depends)
if grep -q '^ExecReload=/bin/kill' "$work/unit" && ! grep -qE '(^|, )procps( |,|$)' <<<"$depends"; then
  fail "the unit's ExecReload runs /bin/kill (procps) but the package does not depend on" \
    "procps: without it 'systemctl reload beckond' fails (status=203/EXEC)"
fi

# --- Debian 12 with systemd ---------------------------------------------------
rootfs_tar=${BASE_ROOTFS:-$work/rootfs.tar}
if [ ! -s "$rootfs_tar" ]; then
  t=$(date +%s)
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl,ca-certificates \
    bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap bookworm"; }
  rm -f "$work/rootfs/etc/apt/sources.list"
  cat >"$work/rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$work"/rootfs/var/cache/apt/*.bin "$work"/rootfs/var/cache/apt/archives/*.deb \
    "$work"/rootfs/var/lib/apt/lists/*
  mkdir -p "$work/rootfs/var/lib/apt/lists/partial"
  : >"$work/rootfs/etc/machine-id" # a new one at every boot
  tar -C "$work/rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf --one-file-system "$work/rootfs"
  step "debootstrap bookworm (systemd) in $(($(date +%s) - t)) s: $rootfs_tar"
else
  step "Debian 12 root file system: $rootfs_tar"
fi
podman "${opts[@]}" import --change 'CMD ["/sbin/init"]' "$rootfs_tar" "$image" \
  >"$work/import.log" 2>&1 || { cat "$work/import.log" >&2; fail "podman import $rootfs_tar"; }

in_ctr() { podman "${opts[@]}" exec -e DEBIAN_FRONTEND=noninteractive "$name" "$@"; }
booted() {
  local state=""
  for _ in $(seq 1 60); do
    state=$(in_ctr systemctl is-system-running --wait 2>/dev/null) || true
    case "$state" in running | degraded) break ;; esac
    sleep 0.5
  done
  case "$state" in
    running) ;;
    degraded) step "note: system degraded: $(in_ctr systemctl --failed --no-legend --plain | tr '\n' ' ')" ;;
    *) fail "systemd did not finish booting: '$state'" ;;
  esac
}
podman "${opts[@]}" run -d --name "$name" "${run_opts[@]}" --systemd=always \
  --cap-add SYS_ADMIN "$image" /sbin/init >/dev/null ||
  fail "podman cannot start the container (above); see the options at the top of $0"
booted
[ "$(in_ctr cat /proc/1/comm)" = systemd ] || fail "PID 1 is not systemd"
step "booted: $(in_ctr systemctl --version | head -1) as PID 1"

# --- install --------------------------------------------------------------------
# Not in /tmp: a tmpfs in the container, gone at the reboot below.
podman "${opts[@]}" cp "$deb" "$name:/root/$(basename "$deb")"
t=$(date +%s)
in_ctr sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends /root/$(basename "$deb")" \
  >"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; fail "apt-get install"; }
# shellcheck disable=SC2016 # dpkg-query's own ${field}s
status=$(in_ctr dpkg-query -W -f='${Package} ${Version} ${Status}' beckon)
step "apt-get install in $(($(date +%s) - t)) s: $status"

# --- running under systemd -----------------------------------------------------------
show() { in_ctr systemctl show -p "$1" --value beckond; }
journal_count() { in_ctr journalctl --no-pager -u beckond -b | grep -c "$1" || true; }
wait_active() {
  for _ in $(seq 1 50); do
    [ "$(in_ctr systemctl is-active beckond || true)" = active ] && return 0
    sleep 0.2
  done
  fail "beckond.service is $(in_ctr systemctl is-active beckond || true), not active"
}
wait_active
[ "$(in_ctr systemctl is-enabled beckond)" = enabled ] || fail "beckond.service is not enabled"
pid=$(show MainPID)
[ "$pid" -gt 0 ] || fail "MainPID=$pid"
uid=$(in_ctr id -u beckon) || fail "no user beckon"
[ "$(in_ctr stat -c %u "/proc/$pid")" = "$uid" ] || fail "MainPID $pid does not run as beckon"
cmdline=$(in_ctr cat "/proc/$pid/cmdline" | tr '\0' ' ')
[ "$cmdline" = "/usr/bin/beckond --config /etc/beckon/beckond.toml " ] || fail "MainPID $pid is $cmdline"
for p in User=beckon NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes PrivateDevices=yes; do
  [ "$(show "${p%%=*}")" = "${p#*=}" ] || fail "systemctl show: ${p%%=*}=$(show "${p%%=*}"), not ${p#*=}"
done
step "active, enabled; MainPID $pid runs as beckon; User=beckon NoNewPrivileges=yes ProtectSystem=strict"

in_ctr cat "/proc/$pid/status" >"$work/status"
# Real, effective, saved and file system uid: all beckon's.
awk -v u="$uid" '$1 == "Uid:" { exit !($2 == u && $3 == u && $4 == u && $5 == u) }' "$work/status" ||
  fail "beckond's uids: $(grep Uid "$work/status")"
grep -q '^NoNewPrivs:[[:space:]]*1$' "$work/status" || fail "no_new_privs is not set on beckond"
grep -q '^Seccomp:[[:space:]]*2$' "$work/status" || fail "no seccomp filter on beckond (SystemCallFilter)"
grep -q '^CapEff:[[:space:]]*0*$' "$work/status" || fail "beckond has capabilities: $(grep CapEff "$work/status")"
grep -q '^CapBnd:[[:space:]]*0*$' "$work/status" || fail "beckond's bounding set: $(grep CapBnd "$work/status")"
# The unit's mount namespace, as /proc/MAINPID/mountinfo shows it: mount
# point (field 5), its options (6), the file system's root (4) and, after
# " - ", type, source and super options.
in_ctr cat "/proc/$pid/mountinfo" >"$work/mountinfo"
mnt() { awk -v p="$1" '$5 == p' "$work/mountinfo" | tail -1; }
opt_ro() { mnt "$1" | awk '{ exit !($6 ~ /^ro(,|$)/) }'; }
if ! opt_ro /; then
  fail "/ is writable for beckond: ProtectSystem=strict not applied (no mount namespace: the" \
    "container lacks CAP_SYS_ADMIN, or a security profile forbids mount)"
fi
mnt /var/lib/beckon | awk '{ exit !($6 ~ /^rw(,|$)/) }' || fail "/var/lib/beckon not writable for beckond"
mnt /tmp | grep -q 'systemd-private-.*-beckond.service-' || fail "no private /tmp (PrivateTmp)"
mnt /var/tmp | grep -q 'systemd-private-.*-beckond.service-' || fail "no private /var/tmp (PrivateTmp)"
for d in /home /root; do
  mnt "$d" | grep -q '/systemd/inaccessible/dir' || fail "$d is not inaccessible (ProtectHome)"
done
opt_ro /dev || fail "/dev is not beckond's own read-only /dev (PrivateDevices)"
opt_ro /proc/sys || fail "/proc/sys is writable (ProtectKernelTunables)"
mnt /proc | grep -q 'hidepid=invisible' || fail "/proc without hidepid=invisible (ProtectProc)"
if in_ctr journalctl --no-pager -u beckond -b | grep 'namespace setup is prohibited'; then
  fail "systemd could not set up the unit's namespaces (above)"
fi
nofile=$(in_ctr cat "/proc/$pid/limits" | awk '/^Max open files/ { print $5 }')
step "sandbox: no capabilities, no_new_privs, seccomp; own mounts: / read-only," \
  "/var/lib/beckon writable, private /tmp /var/tmp /dev, no /home /root, /proc hidepid=invisible"
if [ "$nofile" != 65536 ]; then
  step "note: open files limit $nofile, not LimitNOFILE=65536 (the container's hard limit)"
fi

store=$(in_ctr stat -c '%U:%G %a %i' /var/lib/beckon/beckon.db) || fail "no store /var/lib/beckon/beckon.db"
case "$store" in
  "beckon:beckon "[0-7][0-7]0" "*) ;;
  *) fail "/var/lib/beckon/beckon.db is $store (owner, mode, inode)" ;;
esac
inode=${store##* }
step "store /var/lib/beckon/beckon.db: ${store% *}"

# Ports from the packaged configuration: [soap] listen and the udp: listener.
in_ctr cat /etc/beckon/beckond.toml >"$work/beckond.toml"
soap_port=$(awk '/^\[/ { s = $0 } s == "[soap]" && /^listen *=/ { gsub(/"/, ""); n = split($3, a, ":"); print a[n] }' \
  "$work/beckond.toml")
sip_port=$(sed -n 's/^listen *= *\[.*"udp:[^"]*:\([0-9]*\)".*/\1/p' "$work/beckond.toml")
if [ -z "$soap_port" ] || [ -z "$sip_port" ]; then
  fail "no [soap] listen or udp: listener in /etc/beckon/beckond.toml"
fi
http() { in_ctr curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$soap_port$1" || true; }
for path in /healthz /contact-me.wsdl /metrics; do
  code=$(http "$path")
  [ "$code" = 200 ] || fail "GET $path: $code"
done
wsdl=$(in_ctr curl -s --max-time 5 "http://127.0.0.1:$soap_port/contact-me.wsdl") || fail "GET /contact-me.wsdl"
[[ "$wsdl" == *'name="ContactMe"'* ]] || fail "GET /contact-me.wsdl: no ContactMe in it"
step "GET /healthz, /contact-me.wsdl (ContactMe), /metrics on port $soap_port: 200"

# SIP over UDP from this machine's python3 in the container's network namespace.
sip() {
  nsenter -t "$(podman "${opts[@]}" inspect -f '{{.State.Pid}}' "$name")" -n \
    python3 - "$1" "$sip_port" <<'PY'
import socket, sys, uuid
method, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(5)
me, tag, user = s.getsockname()[1], uuid.uuid4().hex, "7550000001"
head = (f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{tag[:16]};rport\r\n"
        f"Max-Forwards: 70\r\nCall-ID: {tag}\r\n")
if method == "OPTIONS":
    req = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n{head}"
           f"From: <sip:test@127.0.0.1>;tag={tag[:8]}\r\nTo: <sip:127.0.0.1:{port}>\r\n"
           f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
else:
    req = (f"REGISTER sip:example.com SIP/2.0\r\n{head}"
           f"From: <sip:{user}@example.com>;tag={tag[:8]}\r\nTo: <sip:{user}@example.com>\r\n"
           f"CSeq: 1 REGISTER\r\nContact: <sip:{user}@127.0.0.1:{me};transport=udp>"
           f";+sip.instance=\"<urn:uuid:{uuid.uuid4()}>\"\r\n"
           f"Accept: application/application-server-contact-me\r\nExpires: 3600\r\n"
           f"Content-Length: 0\r\n\r\n")
s.sendto(req.encode(), ("127.0.0.1", port))
print(s.recv(65535).split(b"\r\n", 1)[0].decode())
PY
}
bindings() {
  local n=""
  for _ in $(seq 1 20); do # the gauge is published every 100 ms
    n=$(in_ctr curl -s --max-time 5 "http://127.0.0.1:$soap_port/metrics" |
      awk '$1 == "beckon_bindings" { print $2 }')
    [ "$n" = "$1" ] && break
    sleep 0.1
  done
  echo "$n"
}
answer=$(sip OPTIONS) || fail "no answer to SIP OPTIONS on udp port $sip_port"
[ "$answer" = "SIP/2.0 200 OK" ] || fail "SIP OPTIONS: $answer"
answer=$(sip REGISTER) || fail "no answer to SIP REGISTER on udp port $sip_port"
[ "$answer" = "SIP/2.0 200 OK" ] || fail "SIP REGISTER: $answer"
[ "$(bindings 1)" = 1 ] || fail "beckon_bindings is $(bindings 1) after a REGISTER, not 1"
step "SIP OPTIONS, REGISTER over UDP port $sip_port: 200 OK; beckon_bindings 1"

# --- reload, restart, reboot, upgrade -------------------------------------------
before=$(journal_count "reload applied")
in_ctr systemctl reload beckond || fail "systemctl reload beckond"
for _ in $(seq 1 50); do
  [ "$(journal_count "reload applied")" -gt "$before" ] && break
  sleep 0.1
done
[ "$(journal_count "reload applied")" -gt "$before" ] || fail "systemctl reload: no 'reload applied' in the journal"
[ "$(show MainPID)" = "$pid" ] || fail "systemctl reload changed MainPID $pid to $(show MainPID)"
[ "$(in_ctr systemctl is-active beckond || true)" = active ] || fail "not active after reload"
step "systemctl reload: '$(in_ctr journalctl --no-pager -u beckond -b -o cat | grep 'reload applied' | tail -1)'"

in_ctr systemctl restart beckond || fail "systemctl restart beckond"
wait_active
new=$(show MainPID)
if [ "$new" = "$pid" ] || [ "$new" -le 0 ]; then fail "systemctl restart: MainPID $pid -> $new"; fi
[ "$(in_ctr stat -c %i /var/lib/beckon/beckon.db)" = "$inode" ] || fail "systemctl restart: a new store"
[ "$(bindings 1)" = 1 ] || fail "after systemctl restart beckon_bindings is $(bindings 1), not 1"
pid=$new
step "systemctl restart: MainPID $pid, the same store, the binding restored"

podman "${opts[@]}" restart -t 30 "$name" >/dev/null || fail "podman restart (reboot)"
booted
wait_active
[ "$(bindings 1)" = 1 ] || fail "after a reboot beckon_bindings is $(bindings 1), not 1"
step "reboot: beckond started at boot (enabled), the binding restored"

pid=$(show MainPID)
in_ctr apt-get install -y -q --reinstall "/root/$(basename "$deb")" >"$work/reinstall.log" 2>&1 ||
  { tail -20 "$work/reinstall.log" >&2; fail "apt-get install --reinstall"; }
wait_active
new=$(show MainPID)
[ "$new" != "$pid" ] || fail "reinstalled: the postinst did not restart beckond (MainPID $pid)"
[ "$(bindings 1)" = 1 ] || fail "reinstalled: beckon_bindings is $(bindings 1), not 1"
pid=$new
step "reinstall (as an upgrade): restarted by the postinst (MainPID $pid), the binding kept"

# --- stop, security --------------------------------------------------------------------
timeout_us=$(show TimeoutStopUSec)
t=$(date +%s%N)
in_ctr systemctl stop beckond || fail "systemctl stop beckond"
ms=$((($(date +%s%N) - t) / 1000000))
state="$(show ActiveState) $(show Result) $(show ExecMainCode) $(show ExecMainStatus)"
# ExecMainCode 1: CLD_EXITED (not killed by a signal).
[ "$state" = "inactive success 1 0" ] ||
  fail "after systemctl stop: ActiveState Result ExecMainCode ExecMainStatus = $state"
[ "$ms" -lt 10000 ] || fail "systemctl stop took $ms ms (TimeoutStopSec=$timeout_us)"
beckond_left() { in_ctr sh -c 'grep -lx beckond /proc/[0-9]*/comm' >/dev/null 2>&1; }
beckond_left && fail "a beckond process is left after stop"
step "systemctl stop: $ms ms (TimeoutStopSec=$timeout_us), exit status 0, Result=success"

in_ctr systemd-analyze verify /lib/systemd/system/beckond.service >"$work/verify" 2>&1 ||
  { cat "$work/verify" >&2; fail "systemd-analyze verify"; }
exposure=$(in_ctr systemd-analyze security --no-pager beckond 2>/dev/null |
  sed -n 's/.*Overall exposure level for beckond.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security gave no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "systemd-analyze security: exposure $exposure"
step "systemd-analyze verify: ok; security: exposure $exposure"

# --- remove, purge -------------------------------------------------------------------
in_ctr systemctl start beckond || fail "systemctl start beckond"
wait_active
in_ctr apt-get remove -y -q beckon >"$work/remove.log" 2>&1 ||
  { tail -20 "$work/remove.log" >&2; fail "apt-get remove"; }
beckond_left && fail "beckond still runs after apt-get remove (prerm)"
in_ctr test -f /var/lib/beckon/beckon.db || fail "apt-get remove deleted the store"
in_ctr test -f /etc/beckon/beckond.toml || fail "apt-get remove deleted the configuration"
step "apt-get remove: beckond stopped by the prerm; store and configuration kept"
in_ctr apt-get purge -y -q beckon >"$work/purge.log" 2>&1 ||
  { tail -20 "$work/purge.log" >&2; fail "apt-get purge"; }
left=$(in_ctr sh -c 'ls -d /var/lib/beckon /etc/beckon /lib/systemd/system/beckond.service 2>/dev/null;
  find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
    /var/lib/systemd/deb-systemd-helper-masked -name "beckond*" 2>/dev/null' || true)
[ -z "$left" ] || fail "left after apt-get purge: $left"
in_ctr systemctl cat beckond >/dev/null 2>&1 && fail "systemd still knows beckond.service after purge"
step "apt-get purge: store, /etc/beckon, unit and its symlinks gone (the user beckon stays)"

step "passed in $(($(date +%s) - started)) s"
