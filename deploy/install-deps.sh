#!/usr/bin/env bash
# Installs every Debian 12 package beckon needs to build, run and test.
# Idempotent and non-interactive: when everything is there it only checks.
#   deploy/install-deps.sh --build   only what building (and packaging) needs
#                                    (deploy/Containerfile uses it)
set -euo pipefail

packages=(
  # build
  cmake g++ make pkg-config
  gsoap libgsoap-dev            # SOAP: soapcpp2 and libgsoapssl++
  zlib1g-dev                    # stdsoap2.h includes zlib.h (pkg-config's -DWITH_GZIP);
                                # libgsoap-dev does not depend on it
  libsofia-sip-ua-dev           # SIP: nta, tport
  libssl-dev                    # TLS
  libsqlite3-dev sqlite3        # the store (sqlite3: backups, and the tests look inside)
  libhiredis-dev                # the Redis store (a cluster of nodes: docs/cluster.md)
  libtomlplusplus-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
  libcurl4-openssl-dev libexpat1-dev  # beckond: push gateways; beckon-ua: HTTP(S) callbacks, XML bodies
  libboost-test-dev             # unit tests (CMake looks for it)
  dpkg-dev file                 # cpack -G DEB: dpkg-shlibdeps computes the dependencies
)
if [ "${1:-}" != --build ]; then
  packages+=(
  # integration tests: real peers
  sip-tester                    # SIPp
  python3 python3-zeep          # a third-party SOAP client
  python3-prometheus-client     # test_metrics.py: Prometheus' own parser reads /metrics
  redis-server                  # the Redis store's tests run a real one
  curl openssl                  # openssl makes the test certificates
  sipvicious                    # svwar, svcrack: the scanners the security tests run
  zzuf                          # test_mutation.py: deterministic mutations of valid messages
  baresip linphone-nogtk        # real phones (test_phones.py): baresip, linphone-daemon
  iproute2 nftables procps      # their network namespaces: veth pairs, NAT, forwarding
  clang-format                  # the style check in the test suite
  prometheus-cpp-dev            # bench/metrics_cost: our metrics against prometheus-cpp
  shellcheck systemd            # deploy/test-package.sh: the maintainer scripts, the unit
  )
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=600 update -q
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
