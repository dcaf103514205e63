#!/usr/bin/env bash
# Builds the Debian package with CPack and checks it.
#
#   deploy/test-package.sh [BUILD_DIR]
#     (ctest deploy.package) Builds the package from BUILD_DIR (default
#     build/, already built) into a temporary directory and checks what it
#     holds: its files, conffiles and dependencies, the maintainer scripts
#     (shellcheck), the unit's hardening (systemd-analyze security --offline),
#     and that the packaged beckond takes the packaged configuration.
#     Changes nothing on the machine.
#
#   deploy/test-package.sh --install [BUILD_DIR]
#     The above, then, as root on a Debian 12 machine: installs the package
#     with apt-get, checks what the postinst made (user, store directory,
#     permissions, the unit enabled), starts beckond exactly as the unit's
#     ExecStartPre and ExecStart say, as the user beckon in the unit's working
#     directory (systemd itself when it runs: systemctl), asks it for the WSDL
#     over HTTP and /healthz, sends it a SIP OPTIONS, reloads it as
#     ExecReload does, stops it, then purges the package and removes the user
#     if it made it. Needs the packaged configuration's ports free: 5060
#     (UDP and TCP) and 8080 on all addresses.
set -euo pipefail
cd "$(dirname "$0")/.."

install=0
if [ "${1:-}" = --install ]; then
  install=1
  shift
fi
build=$(cd "${1:-build}" && pwd)
work=$(mktemp -d /tmp/beckon-package-XXXXXX)
beckond_pid=""
installed_here=0
user_made_here=0

fail() {
  echo "test-package: FAILED: $*" >&2
  exit 1
}
step() { echo "test-package: $*"; }

cleanup() {
  if [ -n "$beckond_pid" ] && kill -0 "$beckond_pid" 2>/dev/null; then
    kill -TERM "$beckond_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$beckond_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$beckond_pid" 2>/dev/null || true
  fi
  if [ "$installed_here" = 1 ]; then
    dpkg --purge beckon >/dev/null 2>&1 || true
  fi
  if [ "$user_made_here" = 1 ] && getent passwd beckon >/dev/null; then
    deluser --system --quiet beckon >/dev/null 2>&1 || true
    if getent group beckon >/dev/null; then delgroup --system --quiet beckon >/dev/null 2>&1 || true; fi
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- build ------------------------------------------------------------------
started=$(date +%s%N)
(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$work"/out/beckon_*.deb)
step "built $(basename "$deb") ($(stat -c %s "$deb") bytes) in" \
  "$((($(date +%s%N) - started) / 1000000)) ms"

# --- what it holds ------------------------------------------------------------
version=$(dpkg-deb -f "$deb" Version)
[ "$(dpkg-deb -f "$deb" Package)" = beckon ] || fail "package name"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in adduser procps libc6 libssl3 libsofia-sip-ua0 libgsoap-2.8.124 libtomlplusplus3 libspdlog; do
  [[ "$depends" == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done
step "Depends: $depends"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$' | sort >"$work/files"
cat >"$work/expected" <<'EOF'
/etc/beckon/beckond.toml
/lib/systemd/system/beckond.service
/usr/bin/beckon
/usr/bin/beckond
/usr/share/beckon/contact-me.wsdl
/usr/share/beckon/contact-me.xsd
/usr/share/doc/beckon/README.md
/usr/share/doc/beckon/configuration.md
/usr/share/doc/beckon/copyright
/usr/share/doc/beckon/examples/beckond-tls.toml
/usr/share/doc/beckon/examples/beckond.toml
/usr/share/doc/beckon/operator-guide.md
EOF
missing=$(comm -23 "$work/expected" "$work/files")
[ -z "$missing" ] || fail "the package lacks: $missing"
stray=$(grep -v -e '^/usr/share/doc/beckon/[a-z0-9-]*\.md$' "$work/files" | comm -13 "$work/expected" - || true)
[ -z "$stray" ] || fail "the package holds files nobody asked for: $stray"
step "files: $(wc -l <"$work/files") ($(grep -c '^/usr/share/doc/beckon/[a-z-]*\.md$' "$work/files") documents)"

mkdir "$work/control" "$work/root"
dpkg-deb -e "$deb" "$work/control"
dpkg-deb -x "$deb" "$work/root"
[ "$(cat "$work/control/conffiles")" = /etc/beckon/beckond.toml ] || fail "conffiles"
for s in postinst prerm postrm; do
  [ -x "$work/control/$s" ] || fail "$s is not executable"
done
shellcheck -s sh "$work/control/postinst" "$work/control/prerm" "$work/control/postrm" ||
  fail "shellcheck of the maintainer scripts"
cmp -s "$work/root/etc/beckon/beckond.toml" deploy/examples/beckond.toml ||
  fail "/etc/beckon/beckond.toml is not deploy/examples/beckond.toml"
[ "$("$work/root/usr/bin/beckond" --version)" = "beckond ${version%-*}" ] ||
  fail "beckond --version is not the package's version ${version%-*}"

# The packaged beckond takes the packaged configuration (the store moved to
# a directory that exists here).
"$work/root/usr/bin/beckond" --check-config "$work/root/etc/beckon/beckond.toml" \
  --store "$work/beckon.db" >/dev/null || fail "beckond --check-config on the packaged configuration"

unit="$work/root/lib/systemd/system/beckond.service"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$exec_start" = "/usr/bin/beckond --config /etc/beckon/beckond.toml" ] ||
  fail "ExecStart=$exec_start"
exposure=$(systemd-analyze security --offline=yes --root="$work/root" beckond.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for beckond.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security gave no exposure level"
# systemd rates 0 (locked down) to 10 (exposed); "OK" is up to 2.
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "the unit's exposure level is $exposure"
step "unit: systemd-analyze security exposure $exposure"
step "package contents: ok"
[ "$install" = 1 ] || exit 0

# --- installed on this machine -----------------------------------------------------
[ "$(id -u)" = 0 ] || fail "--install needs root"
grep -q '^VERSION_ID="12"' /etc/os-release || fail "--install wants Debian 12"
if dpkg-query -W -f='${Status}' beckon 2>/dev/null | grep -q installed; then
  fail "a beckon package is installed already: not touching it"
fi
/usr/bin/python3 - <<'EOF' || fail "ports 5060 (UDP, TCP) or 8080 are taken"
import socket
for kind, port in ((socket.SOCK_DGRAM, 5060), (socket.SOCK_STREAM, 5060), (socket.SOCK_STREAM, 8080)):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("0.0.0.0", port))
    s.close()
EOF
getent passwd beckon >/dev/null || user_made_here=1
installed_here=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" \
  >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get install"; }
step "installed $(dpkg-query -W -f='${Package} ${Version} ${Status}' beckon)"

IFS=: read -r _ _ uid _ _ home shell < <(getent passwd beckon) || fail "no user beckon"
if [ "$uid" -ge 1000 ] || [ "$home" != /var/lib/beckon ] || [ "$shell" != /usr/sbin/nologin ]; then
  fail "user beckon: uid $uid, home $home, shell $shell"
fi
[ "$(stat -c '%U:%G %a' /var/lib/beckon)" = "beckon:beckon 750" ] ||
  fail "/var/lib/beckon is $(stat -c '%U:%G %a' /var/lib/beckon)"
[ "$(stat -c '%U:%G %a' /etc/beckon/beckond.toml)" = "root:beckon 640" ] ||
  fail "/etc/beckon/beckond.toml is $(stat -c '%U:%G %a' /etc/beckon/beckond.toml)"
dpkg-query -W -f='${Conffiles}' beckon | grep -q '/etc/beckon/beckond.toml' ||
  fail "/etc/beckon/beckond.toml is not a conffile"
[ -L /etc/systemd/system/multi-user.target.wants/beckond.service ] ||
  fail "the unit is not enabled"
systemd-analyze verify /lib/systemd/system/beckond.service || fail "systemd-analyze verify"
step "user beckon (uid $uid), /var/lib/beckon, configuration root:beckon 0640, unit enabled: ok"

# The unit's commands, as the unit runs them (or systemd itself, when it runs).
workdir=$(sed -n 's/^WorkingDirectory=//p' /lib/systemd/system/beckond.service)
read -ra pre < <(sed -n 's/^ExecStartPre=//p' /lib/systemd/system/beckond.service)
read -ra cmd < <(sed -n 's/^ExecStart=//p' /lib/systemd/system/beckond.service)
# Replaces the calling (sub)shell: run it in ( ) or with &.
exec_as_beckon() {
  cd "$workdir"
  exec setpriv --reuid=beckon --regid=beckon --init-groups --no-new-privs \
    --inh-caps=-all --bounding-set=-all -- "$@"
}
if [ -d /run/systemd/system ]; then
  systemctl is-active --quiet beckond || fail "the postinst did not start beckond"
  beckond_pid=$(systemctl show -p MainPID --value beckond)
  step "systemd runs beckond (pid $beckond_pid)"
else
  step "no systemd here: ${pre[*]}; ${cmd[*]} (as beckon, in $workdir)"
  (exec_as_beckon "${pre[@]}") || fail "ExecStartPre"
  exec_as_beckon "${cmd[@]}" >"$work/beckond.log" 2>&1 &
  beckond_pid=$!
  ready=0
  for _ in $(seq 1 100); do
    grep -q "beckond ready" "$work/beckond.log" && { ready=1; break; }
    kill -0 "$beckond_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$ready" = 1 ] || { cat "$work/beckond.log"; fail "beckond not ready within 10 s"; }
fi
[ "$(ps -o user= -p "$beckond_pid")" = beckon ] || fail "beckond does not run as beckon"

wsdl=$(curl -fsS --max-time 5 http://127.0.0.1:8080/contact-me.wsdl) || fail "GET /contact-me.wsdl"
[[ "$wsdl" == *'name="ContactMe"'* ]] || fail "GET /contact-me.wsdl: no ContactMe in it"
healthz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:8080/healthz || true)
answer=$(/usr/bin/python3 - <<'EOF'
import socket, uuid
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(5)
me, tag = s.getsockname()[1], uuid.uuid4().hex
s.sendto((f"OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n"
          f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{tag};rport\r\nMax-Forwards: 70\r\n"
          f"From: <sip:test@127.0.0.1>;tag={tag[:8]}\r\nTo: <sip:127.0.0.1>\r\n"
          f"Call-ID: {tag}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode(),
         ("127.0.0.1", 5060))
print(s.recvfrom(65535)[0].split(b"\r\n", 1)[0].decode())
EOF
) || fail "no answer to SIP OPTIONS"
[[ "$answer" == "SIP/2.0 200"* ]] || fail "SIP OPTIONS answered $answer"
step "GET /contact-me.wsdl: 200; GET /healthz: $healthz; SIP OPTIONS over UDP: $answer"

# ExecReload=/bin/kill -HUP $MAINPID
kill -HUP "$beckond_pid"
sleep 0.5
kill -0 "$beckond_pid" 2>/dev/null || fail "beckond died on SIGHUP"
step "SIGHUP (ExecReload): still running; /var/lib/beckon holds: $(find /var/lib/beckon -mindepth 1 -printf '%f ')"

if [ -d /run/systemd/system ]; then
  systemctl stop beckond
else
  kill -TERM "$beckond_pid"
  rc=0
  wait "$beckond_pid" || rc=$?
  [ "$rc" = 0 ] || { cat "$work/beckond.log"; fail "beckond exited $rc on SIGTERM"; }
fi
beckond_pid=""
step "stopped (SIGTERM): exit 0"

dpkg --purge beckon >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
installed_here=0
for f in /usr/bin/beckond /usr/bin/beckon /etc/beckon /var/lib/beckon \
  /lib/systemd/system/beckond.service /etc/systemd/system/multi-user.target.wants/beckond.service; do
  [ ! -e "$f" ] || fail "$f is still there after the purge"
done
step "purged: no file left"
step "package installed, started and purged: ok"
