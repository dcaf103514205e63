"""Real phones for the integration tests: baresip (driven through its
ctrl_tcp module) and Linphone (linphone-daemon, driven through its command
socket), each in a network namespace of its own.

The topology, which exists only inside namespaces this module makes:

    this process's own namespace ("core", own_network()):
        lo: 127.0.0.1 (SOAP, zeep, the test's HTTP servers)
            10.17.0.1/32 (beckond's SIP listeners: SERVER)
        v17c<N>: 10.17.<N>.1/24, 2001:db8:17:<N>::1/64   (one per phone)
    phone N's namespace (PhoneNet):
        lo, and v17p<N>: 10.17.<N>.2/24, 2001:db8:17:<N>::2/64,
        default routes via the core; behind_nat: also 192.0.2.<N>/32, the
        phone's own address (its Contact, its SDP), masqueraded (nftables,
        random ports) to 10.17.<N>.2: the core has no route to 192.0.2.0/24.

No namespace has a route to anything else, so no packet can leave them
(DNS lookups a phone tries fail at once: no route). A namespace ends with
the last process in it; its veth pair with it. PhoneNet.close() stops its
holder process, and the harness stops every process it started at exit,
also when a test fails or is interrupted.

Phones print their SIP traffic (baresip -s, linphone-daemon's log); the
tests read what a phone answered from there (`answers()`), independently of
what beckond reports.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import harness
from harness import DOMAIN, Beckond, stop_process, wait_until

SERVER = "10.17.0.1"
SIP_PORT, TLS_PORT = 5060, 5061
CLONE_NEWNET = 0x40000000
PHONE_TIMEOUT_S = 10.0  # one wait for a phone's event


def _run(cmd: list[str], netns: str | None = None) -> str:
    if netns:
        cmd = ["nsenter", f"--net={netns}", "--"] + cmd
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def own_network() -> None:
    """Moves this process (its main thread, and whatever it starts from now
    on) into a new network namespace: loopback with SERVER on it, IPv4
    forwarding on (calls between phones), nothing else."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET): {os.strerror(err)} (the phone tests need"
                           " CAP_SYS_ADMIN and CAP_NET_ADMIN: run them as root)")
    _run(["ip", "link", "set", "lo", "up"])
    _run(["ip", "addr", "add", f"{SERVER}/32", "dev", "lo"])
    _run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    _run(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])


class PhoneNet:
    """The network namespace of phone number `index` (1-250), held by a
    `sleep` of its own, with a veth pair to ours (see the module's doc)."""

    def __init__(self, index: int, behind_nat: bool = False):
        self.index = index
        self.behind_nat = behind_nat
        self.wan = f"10.17.{index}.2"  # its address on the veth (after NAT: its source)
        self.address = f"192.0.2.{index}" if behind_nat else self.wan
        self.holder = subprocess.Popen(["unshare", "-n", "sleep", "600"], stdin=subprocess.DEVNULL)
        harness._register(self.holder)
        self.path = f"/proc/{self.holder.pid}/ns/net"
        try:
            ours = os.readlink("/proc/self/ns/net")
            wait_until(lambda: os.readlink(self.path) != ours, 5.0,
                       what=f"phone namespace {index}")
            self._wire()
        except Exception:
            self.close()
            raise

    def _wire(self) -> None:
        i, here, there = self.index, f"v17c{self.index}", f"v17p{self.index}"
        _run(["ip", "link", "add", here, "type", "veth", "peer", "name", there,
              "netns", str(self.holder.pid)])
        _run(["ip", "addr", "add", f"10.17.{i}.1/24", "dev", here])
        _run(["ip", "-6", "addr", "add", f"2001:db8:17:{i}::1/64", "dev", here, "nodad"])
        _run(["ip", "link", "set", here, "up"])
        inside = [["ip", "link", "set", "lo", "up"],
                  ["ip", "addr", "add", f"{self.wan}/24", "dev", there],
                  ["ip", "-6", "addr", "add", f"2001:db8:17:{i}::2/64", "dev", there, "nodad"],
                  ["ip", "link", "set", there, "up"],
                  ["ip", "-6", "route", "add", "default", "via", f"2001:db8:17:{i}::1"]]
        if self.behind_nat:
            inside += [["ip", "addr", "add", f"{self.address}/32", "dev", there],
                       ["ip", "route", "add", "default", "via", f"10.17.{i}.1",
                        "src", self.address],
                       ["nft", "add", "table", "ip", "nat"],
                       ["nft", "add", "chain", "ip", "nat", "post",
                        "{ type nat hook postrouting priority 100 ; }"],
                       ["nft", "add", "rule", "ip", "nat", "post", "oifname", there,
                        "ip", "saddr", self.address, "masquerade", "random"]]
        else:
            inside.append(["ip", "route", "add", "default", "via", f"10.17.{i}.1"])
        for cmd in inside:
            _run(cmd, self.path)

    def popen(self, cmd: list[str], **kw) -> subprocess.Popen:
        """A process in this namespace (registered with the harness)."""
        proc = subprocess.Popen(["nsenter", f"--net={self.path}", "--"] + cmd, **kw)
        harness._register(proc)
        return proc

    def close(self) -> None:
        stop_process(self.holder, timeout=2.0)


# --------------------------------------------------------------------------
# beckond for phones


def md5_sha256_users(users: dict[str, str], realm: str = DOMAIN) -> list[dict]:
    """[[sip.auth.user]] tables with both HA1s (what a new user writes,
    following docs/configuration.md)."""
    out = []
    for user, password in users.items():
        text = f"{user}:{realm}:{password}".encode()
        out.append({"user": user, "ha1_md5": hashlib.md5(text).hexdigest(),
                    "ha1_sha256": hashlib.sha256(text).hexdigest()})
    return out


class PhonesBeckond(Beckond):
    """beckond on SERVER: UDP and TCP on 5060, TLS on 5061 (with `pki`'s
    certificate for SERVER), SOAP on loopback; [sip.auth] with `users` and
    every other key at its default; contact_me.subscribe_registrations for
    the default package (the phones send no Accept); sip.min_expires 5, so
    that Linphone, which refreshes at 90 % of the expiry it was granted,
    can be asked for 6 s and refreshes within the test."""

    def __init__(self, workdir: Path, pki: "harness.Pki", users: dict[str, str],
                 auth: dict | None = None, proxy: dict | None = None, **kw):
        super().__init__(workdir, contact_me={"subscribe_registrations": [harness.PACKAGE]}, **kw)
        self.sip_port, self.tls_port = SIP_PORT, TLS_PORT
        cert = pki.issue("sip-server", f"/O=beckon test/CN={SERVER}",
                         [f"subjectAltName=IP:{SERVER},DNS:{SERVER}",
                          "extendedKeyUsage=serverAuth"])
        text = self.config.read_text()
        text = re.sub(r"(?m)^listen = \[.*\]$",
                      f'listen = ["udp:{SERVER}:{SIP_PORT}", "tcp:{SERVER}:{SIP_PORT}",'
                      f' "tls:{SERVER}:{TLS_PORT}"]', text, count=1)
        text = text.replace(f'domain = "{DOMAIN}"', f'domain = "{DOMAIN}"\nmin_expires = 5', 1)
        text = text.replace("[soap]", f'[sip.tls]\ncert = "{cert.cert}"\nkey = "{cert.key}"\n'
                                      f'ca = "{pki.ca}"\n\n[soap]', 1)
        lines = ["", "[sip.auth]", f'realm = "{DOMAIN}"']
        lines += [f"{k} = {harness.toml_value(v)}" for k, v in (auth or {}).items()]
        if proxy:
            lines = ["", "[proxy]"] + [f"{k} = {harness.toml_value(v)}"
                                       for k, v in proxy.items()] + lines
        for u in md5_sha256_users(users):
            lines += ["", "[[sip.auth.user]]"] + [f"{k} = {harness.toml_value(v)}"
                                                 for k, v in u.items()]
        self.config.write_text(text.rstrip("\n") + "\n" + "\n".join(lines) + "\n")


# --------------------------------------------------------------------------
# SIP traces


def status_of(raw: str) -> int | None:
    m = re.match(r"SIP/2\.0 (\d{3})", raw)
    return int(m.group(1)) if m else None


def header(raw: str, name: str) -> str | None:
    """The first value of header `name` (a regex: "Call-ID|i") in `raw`."""
    head = raw.split("\n\n", 1)[0]
    m = re.search(rf"(?mi)^(?:{name})[ \t]*:[ \t]*(.*?)\r?$", head)
    return m.group(1).strip() if m else None


def split_stream(data: str) -> tuple[list[str], str]:
    """Whole SIP messages at the start of `data` (CRLF line ends, as sent),
    by their Content-Length; returns them and what is left (keep-alive CRLFs
    between them dropped)."""
    out = []
    while True:
        data = data.lstrip("\r\n")
        head_end = data.find("\r\n\r\n")
        if head_end < 0:
            return out, data
        length = header(data[:head_end].replace("\r\n", "\n"), "Content-Length|l")
        end = head_end + 4 + (int(length) if length and length.isdigit() else 0)
        if len(data) < end:
            return out, data
        out.append(data[:end])
        data = data[end:]


class Phone:
    """What both kinds of phone share: a name, an account, a namespace, a
    SIP trace (`messages()`: (direction, text) in order)."""

    kind = "phone"

    def __init__(self, workdir: Path, net: PhoneNet, user: str, password: str,
                 transport: str, ca: str):
        self.workdir = Path(workdir)
        self.net = net
        self.user, self.password, self.transport, self.ca = user, password, transport, ca
        self.name = f"{self.kind}-{user}-{transport}"
        self.dir = self.workdir / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{DOMAIN}"

    @property
    def server_uri(self) -> str:
        port = TLS_PORT if self.transport == "tls" else SIP_PORT
        return f"sip:{SERVER}:{port};transport={self.transport}"

    def messages(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def sent(self, method: str) -> list[str]:
        return [m for d, m in self.messages() if d == "out" and m.startswith(method + " ")]

    def response_to(self, request: str) -> str | None:
        """The final response the phone got to `request` (one it sent)."""
        key = (header(request, "Call-ID|i"), header(request, "CSeq"))
        for d, m in self.messages():
            if (d == "in" and (status_of(m) or 0) >= 200
                    and (header(m, "Call-ID|i"), header(m, "CSeq")) == key):
                return m
        return None

    def received(self, method: str) -> list[str]:
        return [m for d, m in self.messages() if d == "in" and m.startswith(method + " ")]

    def answers(self, call_id: str) -> list[int]:
        """The statuses this phone sent in answer to requests of `call_id`."""
        return [status_of(m) for d, m in self.messages()
                if d == "out" and m.startswith("SIP/2.0 ") and header(m, "Call-ID|i") == call_id]

    def wait_notify(self, request_id: str, timeout: float = PHONE_TIMEOUT_S) -> str:
        """The NOTIFY carrying request_id, once the phone has answered it
        finally; returns its Call-ID."""

        def answered():
            for n in self.received("NOTIFY"):
                if f"request-id: {request_id}" in n:
                    cid = header(n, "Call-ID|i")
                    if any(s and s >= 200 for s in self.answers(cid)):
                        return cid
            return None

        return wait_until(answered, timeout, what=f"{self.name}: the NOTIFY of {request_id}")

    def stop(self) -> int | None:
        if self.proc is not None and self.returncode is None:
            self.returncode = stop_process(self.proc)
        return self.returncode

    def report(self) -> str:
        return f"== {self.name} ({self.aor} over {self.transport}, {self.net.address})"


# --------------------------------------------------------------------------
# baresip


class Baresip(Phone):
    """baresip 1.0 with a config directory of its own (`-f`): the account
    (answermode=auto; regint 60 s and rwait 5 %: it refreshes after 3 s),
    aubridge as microphone and speaker (no sound card), ctrl_tcp on the phone's address
    for commands and events (on the namespace's veth address, which the
    test reaches also behind NAT); `-s` prints its SIP traffic."""

    kind = "baresip"
    CTRL_PORT = 4444

    def start(self) -> "Baresip":
        t = self.transport
        (self.dir / "accounts").write_text(
            f"<sip:{self.user}@{DOMAIN};transport={t}>;auth_pass={self.password};"
            f"outbound=\"{self.server_uri}\";regint=60;rwait=5;answermode=auto\n")
        (self.dir / "config").write_text("\n".join([
            f"sip_listen {self.net.address}:5060",
            f"sip_cafile {self.ca}",
            "module_path /usr/lib/baresip/modules",
            "module g711.so", "module aubridge.so",
            "module_app account.so", "module_app menu.so", "module_app ctrl_tcp.so",
            f"ctrl_tcp_listen {self.net.wan}:{self.CTRL_PORT}",
            "audio_source aubridge,microphone",
            "audio_player aubridge,speaker",
            "audio_alert aubridge,ringer",
            "dns_server 127.0.0.1:53",
            ""]))
        self.out = self.dir / "baresip.out"
        with open(self.out, "wb") as out:
            self.proc = self.net.popen(["baresip", "-f", str(self.dir), "-s"],
                                       stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT)
        self.events: list[dict] = []
        self._responses: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._sock = None

        def connect():
            if self.proc.poll() is not None:
                raise RuntimeError(f"baresip exited {self.proc.returncode}\n{self.report()}")
            try:
                return socket.create_connection((self.net.wan, self.CTRL_PORT), timeout=1)
            except OSError:
                return None

        self._sock = wait_until(connect, PHONE_TIMEOUT_S, what=f"{self.name}: ctrl_tcp")
        self._reader = threading.Thread(target=self._read, name=f"{self.name}-ctrl", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        buf = b""
        self._sock.settimeout(None)
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while True:  # netstrings: LEN ":" JSON ","
                colon = buf.find(b":")
                if colon < 0 or not buf[:colon].isdigit():
                    break
                n = int(buf[:colon])
                if len(buf) < colon + 1 + n + 1:
                    break
                obj = json.loads(buf[colon + 1:colon + 1 + n])
                buf = buf[colon + 1 + n + 1:]
                with self._lock:
                    if obj.get("event"):
                        self.events.append(obj)
                    elif obj.get("response"):
                        self._responses[obj.get("token", "")] = obj

    def command(self, command: str, params: str = "") -> dict:
        token = os.urandom(4).hex()
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._sock.sendall(str(len(body)).encode() + b":" + body + b",")
        return wait_until(lambda: self._responses.get(token), PHONE_TIMEOUT_S,
                          what=f"{self.name}: answer to {command}")

    def wait_event(self, type_: str, count: int = 1, timeout: float = PHONE_TIMEOUT_S) -> dict:
        def found():
            with self._lock:
                got = [e for e in self.events if e.get("type") == type_]
            if len(got) >= count:
                return got[count - 1]
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited without {type_}\n{self.report()}")
            return None

        try:
            return wait_until(found, timeout, what=f"{self.name}: {count} x {type_}")
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{self.report()}") from None

    # the phone's actions

    def wait_registered(self, count: int = 1) -> dict:
        return self.wait_event("REGISTER_OK", count)

    def call(self, uri: str) -> None:
        self.command("dial", uri)

    def hang_up(self) -> None:
        self.command("hangup")

    def wait_established(self, count: int = 1) -> dict:
        return self.wait_event("CALL_ESTABLISHED", count)

    def wait_closed(self, count: int = 1) -> dict:
        return self.wait_event("CALL_CLOSED", count)

    def stop(self) -> int | None:
        rc = super().stop()  # SIGTERM: baresip unregisters, then exits
        if self._sock:
            self._sock.close()
        return rc

    def messages(self) -> list[tuple[str, str]]:
        try:
            text = self.out.read_text(errors="replace")
        except FileNotFoundError:
            return []
        out = []
        # "\x1b[36;1m#\nUDP 10.17.1.2:5060 -> 10.17.0.1:5060\nREGISTER ...\x1b[;m"
        for m in re.finditer(r"#\n(UDP|TCP|TLS) (\S+) -> (\S+)\n(.*?)\x1b\[;m", text, re.S):
            local = m.group(2) .startswith(self.net.address)
            out.append(("out" if local else "in", m.group(4).replace("\r\n", "\n")))
        return out

    def report(self) -> str:
        text = self.out.read_text(errors="replace") if getattr(self, "out", None) else ""
        return f"{super().report()}\n== {self.out}:\n{text[-8000:]}\n== events: {self.events}"


# --------------------------------------------------------------------------
# Linphone


_LOG_LINE = re.compile(r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3} ")


class Linphone(Phone):
    """linphone-daemon (liblinphone 5.1, belle-sip) with an rc file of its
    own: the account (a plain password, as a user types it), beckond as its
    proxy and outbound proxy (no DNS here), the transport and, for TLS, the test CA as root_ca (it checks the certificate and the
    server's address, verify_server_certs and verify_server_cn on their
    defaults); --auto-answer. Commands and answers go over its socket
    (--pipe: /tmp/NAME); its log (--log) holds its SIP traffic."""

    kind = "linphone"

    def start(self, expires: int = 60) -> "Linphone":
        t = self.transport
        ports = {"udp": (5060, 0, 0), "tcp": (0, 5060, 0), "tls": (0, 0, 5061)}[t]
        home = self.dir / "home"
        (home / ".local" / "share" / "linphone").mkdir(parents=True, exist_ok=True)
        self.rc = self.dir / "linphonerc"
        self.rc.write_text("\n".join([
            "[sip]", f"sip_port={ports[0]}", f"sip_tcp_port={ports[1]}",
            f"sip_tls_port={ports[2]}", f"root_ca={self.ca}",
            "[proxy_0]", f"reg_proxy=<{self.server_uri}>", f"reg_route=<{self.server_uri};lr>",
            f"reg_identity={self.aor}",
            f"reg_expires={expires}", "reg_sendregister=1",
            "[auth_info_0]", f"username={self.user}", f"passwd={self.password}",
            ""]))
        self.pipe = f"beckon-test-linphone-{os.getpid()}-{self.net.index}"
        self.log = self.dir / "linphone.log"
        env = dict(os.environ, HOME=str(home))
        with open(self.dir / "linphone.out", "wb") as out:
            self.proc = self.net.popen(["linphone-daemon", "--config", str(self.rc), "--pipe",
                                        self.pipe, "--log", str(self.log), "--auto-answer"],
                                       env=env, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

        def connect():
            if self.proc.poll() is not None:
                raise RuntimeError(f"linphone-daemon exited {self.proc.returncode}\n{self.report()}")
            return self._sock.connect_ex(f"/tmp/{self.pipe}") == 0

        wait_until(connect, PHONE_TIMEOUT_S, what=f"{self.name}: its command socket")
        self._lock = threading.Lock()
        return self

    def command(self, line: str) -> dict[str, str]:
        """One command; its answer as {field: value} ("Status", "Id", ...)."""
        with self._lock:
            self._sock.settimeout(PHONE_TIMEOUT_S)
            self._sock.sendall(line.encode() + b"\n")
            data = b""
            deadline = time.monotonic() + PHONE_TIMEOUT_S
            while time.monotonic() < deadline:
                if b"Status:" in data:  # the rest of the answer follows at once
                    self._sock.settimeout(0.1)
                try:
                    chunk = self._sock.recv(65536)
                except socket.timeout:
                    if b"Status:" in data:
                        break
                    continue
                if not chunk:
                    break
                data += chunk
        out = {}
        for ln in data.decode(errors="replace").splitlines():
            k, sep, v = ln.partition(":")
            if sep and k.strip() not in out:
                out[k.strip()] = v.strip()
        if "Status" not in out:
            raise AssertionError(f"{self.name}: no answer to {line!r}: {data!r}\n{self.report()}")
        return out

    def _wait_state(self, command: str, states: tuple[str, ...], what: str,
                    timeout: float = PHONE_TIMEOUT_S) -> dict[str, str]:
        def reached():
            r = self.command(command)
            return r if r.get("State") in states else None

        try:
            return wait_until(reached, timeout, interval=0.1, what=f"{self.name}: {what}")
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{self.report()}") from None

    def wait_registered(self) -> dict[str, str]:
        return self._wait_state("register-status 1", ("LinphoneRegistrationOk",), "registered")

    def call(self, uri: str) -> None:
        self.command(f"call {uri}")

    def wait_established(self) -> dict[str, str]:
        return self._wait_state("call-status", ("LinphoneCallStreamsRunning",), "a call up")

    def hang_up(self) -> None:
        self.command("terminate")

    def wait_closed(self) -> None:
        def gone():
            return self.command("call-status").get("Status") == "Error"  # no call any more

        wait_until(gone, PHONE_TIMEOUT_S, interval=0.1, what=f"{self.name}: the call ended")

    def stop(self) -> int | None:
        # "quit": it unregisters, then exits (SIGTERM would not wait for that).
        if self.proc is not None and self.returncode is None and self.proc.poll() is None:
            try:
                self.command("quit")
                self.proc.wait(timeout=5)
            except (OSError, AssertionError, subprocess.TimeoutExpired):
                pass
        rc = super().stop()
        self._sock.close()
        return rc

    def messages(self) -> list[tuple[str, str]]:
        try:
            with open(self.log, newline="", errors="replace") as f:  # keep the CRLFs
                text = f.read()
        except (AttributeError, FileNotFoundError):
            return []
        out: list[tuple[str, str]] = []
        pending = {"in": "", "out": ""}  # TCP and TLS: a message may come in pieces
        for m in re.finditer(r"(message sent to|new bytes from) \[[^\]]*\][^\n]*\n", text):
            end = _LOG_LINE.search(text, m.end())
            chunk = text[m.end():end.start() if end else len(text)]
            if chunk.endswith("\n") and not chunk.endswith("\r\n"):
                chunk = chunk[:-1]  # the log line's own end
            direction = "out" if m.group(1) == "message sent to" else "in"
            whole, pending[direction] = split_stream(pending[direction] + chunk)
            out += [(direction, w.replace("\r\n", "\n")) for w in whole]
        return out

    def report(self) -> str:
        trace = "\n".join(f"-- {d}\n{m}" for d, m in self.messages())
        return f"{super().report()}\n== SIP:\n{trace[-8000:]}"
