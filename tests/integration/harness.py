"""Integration harness: beckond started for real, devices played by SIPp.

Everything runs on loopback, on ports this module picks itself, and every
wait is bounded in time. Processes are stopped by their own pid (SIGTERM,
then SIGKILL after a bound), in tearDown and, as a last resort, at exit.

Environment:
  BECKOND, BECKON    paths of the binaries (ctest sets them; default
                     ../../build/bin/{beckond,beckon} from this directory)
  SIPP               sipp binary (default: sipp on PATH)
  OPENSSL            openssl CLI, for the test certificates (default: on PATH)
  BECKON_TEST_TMPDIR where each test class makes its work directory
                     (default: the system temp directory)
  BECKON_TEST_KEEP=1 keep work directories even when the tests pass

Run with Debian's /usr/bin/python3 (python3-zeep is installed for it only).

Beyond the basics: `Beckond` takes TLS for the SOAP listener, application
servers and [contact_me] keys; `Pki` (pki.py) makes a CA, a server
certificate and client certificates with the openssl CLI at test time;
`zeep_client` (soap_client.py) speaks HTTPS with client certificates and
HTTP Basic; `Device(notify_status=...)` is a device that answers every
NOTIFY with that status and stays registered. Constants and paths are in
settings.py; harness re-exports them all.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# Re-exported: test modules take everything from harness.
from settings import (  # noqa: F401
    BECKON, BECKOND, DOMAIN, FAKE_NAT_HOSTPORT, HERE, LOOPBACK, NS, OPENSSL, PACKAGE, READY_TIMEOUT_S, SCENARIOS, SIPP, SIPP_TIMEOUT_S, STOP_TIMEOUT_S)
from pki import CertFiles, Pki  # noqa: F401
from soap_client import (  # noqa: F401
    SoapClient, beckon_tls_options, fault_detail, fault_of_xml, fetch_wsdl, run_beckon, soap_post,
    zeep_client, zeep_session)


# --------------------------------------------------------------------------
# processes

_live: dict[int, subprocess.Popen] = {}


def _register(proc: subprocess.Popen) -> None:
    _live[proc.pid] = proc


def stop_process(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT_S) -> int:
    """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit status."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            sys.stderr.write(f"harness: pid {proc.pid} ignored SIGTERM for {timeout} s, killing it\n")
            proc.kill()
            proc.wait(timeout=timeout)
    _live.pop(proc.pid, None)
    return proc.returncode


@atexit.register
def _stop_leftovers() -> None:
    for proc in list(_live.values()):
        try:
            stop_process(proc, timeout=2.0)
        except Exception:  # noqa: BLE001 - last resort at exit
            pass


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls predicate until it returns a true value, at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# HTTP stubs (application servers, notice receivers) that tests start


class HttpStub:
    """An HTTP server a test runs on a thread of its own."""

    server = None
    thread = None

    def serve(self, server, name: str) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                       name=name, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)
            self.server = None


# --------------------------------------------------------------------------
# ports


def _can_bind(port: int, kind: int) -> bool:
    s = socket.socket(socket.AF_INET, kind)
    try:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((LOOPBACK, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_bound(port: int, tcp: bool) -> bool:
    """Whether some socket is bound to 127.0.0.1:port (TCP: listening)."""
    path = "/proc/net/tcp" if tcp else "/proc/net/udp"
    want = f"0100007F:{port:04X}"
    with open(path) as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[1] == want and (not tcp or cols[3] == "0A"):  # 0A: LISTEN
                return True
    return False


_handed_out: set[int] = set()


def free_port(udp: bool = True, tcp: bool = True) -> int:
    """A port on 127.0.0.1 free now for UDP and/or TCP.

    Chosen at random below the usual ephemeral range (32768-60999), so that
    neither parallel test processes nor outgoing connections are likely to
    take it before its user binds it.
    """
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        if port in _handed_out:
            continue
        if tcp and not _can_bind(port, socket.SOCK_STREAM):
            continue
        if udp and not _can_bind(port, socket.SOCK_DGRAM):
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port found in 200 tries")


# --------------------------------------------------------------------------
# beckond


def toml_value(value) -> str:
    """A Python value as TOML: str, bool, int, list, dict (inline table)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for everything used here
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def basic_auth(user: str, password: str) -> dict:
    """An [[app_server]] basic_auth value: the password only as its SHA-256."""
    return {"user": user, "password_sha256": hashlib.sha256(password.encode()).hexdigest()}


class Beckond:
    """One beckond process with its own config, ports and log file.

    tls: {"cert", "key", "ca", "client_certs"} makes the SOAP listener HTTPS
    ([soap.tls]). app_servers: a list of [[app_server]] tables (dicts).
    contact_me: further [contact_me] keys (e.g. packages).
    """

    def __init__(self, workdir: Path, notify_timeout_ms: int | None = None,
                 log_level: str = "debug", tls: dict | None = None,
                 app_servers: list[dict] | None = None, contact_me: dict | None = None,
                 config_name: str = "beckond"):
        self.workdir = Path(workdir)
        self.sip_port = free_port(udp=True, tcp=True)
        self.soap_port = free_port(udp=False, tcp=True)
        self.config = self.workdir / f"{config_name}.toml"
        self.log_path = self.workdir / f"{config_name}.log"
        self.tls = dict(tls) if tls else None
        self.app_servers = list(app_servers or [])
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        # Stops that did not end with status 0: a crash before the stop, or
        # (in the ASan build) a sanitizer report at exit. The test class fails.
        self.bad_exits: list[int] = []
        lines = [
            "[sip]",
            f'listen = ["udp:{LOOPBACK}:{self.sip_port}", "tcp:{LOOPBACK}:{self.sip_port}"]',
            f'domain = "{DOMAIN}"',
            "",
            "[soap]",
            f'listen = "{LOOPBACK}:{self.soap_port}"',
        ]
        if self.tls:
            lines += ["", "[soap.tls]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in self.tls.items()]
        lines += ["", "[log]", f'level = "{log_level}"']
        self.store_path = self.workdir / f"{config_name}.db"
        lines += ["", "[store]", f'path = "{self.store_path}"']
        cm = dict(contact_me or {})
        if notify_timeout_ms is not None:
            cm["notify_timeout_ms"] = int(notify_timeout_ms)
        if cm:
            lines += ["", "[contact_me]"] + [f"{k} = {toml_value(v)}" for k, v in cm.items()]
        for app in self.app_servers:
            lines += ["", "[[app_server]]"] + [f"{k} = {toml_value(v)}" for k, v in app.items()]
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def soap_url(self) -> str:
        return f"{self.scheme}://{LOOPBACK}:{self.soap_port}/"

    @property
    def wsdl_url(self) -> str:
        return f"{self.scheme}://{LOOPBACK}:{self.soap_port}/contact-me.wsdl"

    def check_config(self) -> subprocess.CompletedProcess:
        """beckond --check-config on this process's file."""
        return subprocess.run([BECKOND, "--check-config", str(self.config)], cwd=self.workdir,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=20)

    def start(self) -> "Beckond":
        if not os.access(BECKOND, os.X_OK):
            raise RuntimeError(f"beckond not found or not executable: {BECKOND} (set BECKOND)")
        # One log across restarts; this start is ready when its own line is.
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.returncode = None
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [BECKOND, "--config", str(self.config)],
                cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        _register(self.proc)

        def ready():
            if "beckond ready" in self.log()[offset:]:
                return True
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"beckond exited with status {self.proc.returncode} before it was ready;"
                    f" its log:\n{self.log()}")
            return False

        try:
            wait_until(ready, READY_TIMEOUT_S, what="'beckond ready' in beckond's log")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"beckond not ready within {READY_TIMEOUT_S} s; its log:\n{self.log()}")
        return self

    def stop(self) -> int | None:
        if self.proc is not None and self.returncode is None:
            self.returncode = stop_process(self.proc)
            if self.returncode != 0:
                self.bad_exits.append(self.returncode)
        return self.returncode

    def kill(self) -> int | None:
        """SIGKILL: beckond gets no chance to finish anything (a crash)."""
        if self.proc is not None and self.returncode is None:
            self.proc.kill()
            self.returncode = self.proc.wait(timeout=STOP_TIMEOUT_S)
        return self.returncode

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class TlsBeckond(Beckond):
    """beckond listening on UDP, TCP and TLS ([sip.tls] from `pki`, or
    `sip_cert` / `sip_key` in its place)."""

    def __init__(self, workdir: Path, pki: "Pki", sip_cert: str | None = None,
                 sip_key: str | None = None, **kw):
        super().__init__(workdir, **kw)
        self.tls_port = free_port(udp=False, tcp=True)
        text = self.config.read_text().replace(
            f'"tcp:{LOOPBACK}:{self.sip_port}"]',
            f'"tcp:{LOOPBACK}:{self.sip_port}", "tls:{LOOPBACK}:{self.tls_port}"]')
        text = text.replace("[soap]", f'[sip.tls]\ncert = "{sip_cert or pki.server.cert}"\n'
                                      f'key = "{sip_key or pki.server.key}"\nca = "{pki.ca}"\n\n'
                                      f'[soap]', 1)
        self.config.write_text(text)


# --------------------------------------------------------------------------
# SIPp


@dataclass
class SipMessage:
    direction: str  # "sent" or "received"
    transport: str  # "UDP" or "TCP"
    raw: bytes

    @property
    def first_line(self) -> str:
        return self.raw.split(b"\r\n", 1)[0].decode(errors="replace")

    @property
    def is_request(self) -> bool:
        return not self.raw.startswith(b"SIP/2.0 ")

    @property
    def method(self) -> str | None:
        return self.first_line.split(" ", 1)[0] if self.is_request else None

    @property
    def head(self) -> bytes:
        return self.raw.split(b"\r\n\r\n", 1)[0]

    @property
    def body(self) -> bytes:
        parts = self.raw.split(b"\r\n\r\n", 1)
        return parts[1] if len(parts) == 2 else b""

    def headers(self, name: str) -> list[str]:
        """Values of every header called name (case-insensitive)."""
        out = []
        for line in self.head.split(b"\r\n")[1:]:
            key, sep, value = line.decode(errors="replace").partition(":")
            if sep and key.strip().lower() == name.lower():
                out.append(value.strip())
        return out


# SIPp -trace_msg records, e.g.
#   ----------------------------------------------- 2026-11-21 22:09:32.194902
#   UDP message sent (488 bytes):
#   <blank line><the message, exactly>\n
#   TCP message received [320] bytes :
_TRACE_HEADER = re.compile(
    rb"^-{47} [^\n]*\n(UDP|TCP) message (sent|received) (?:\[(\d+)\] bytes :|\((\d+) bytes\):)\n\n",
    re.M)


def parse_message_trace(data: bytes) -> list[SipMessage]:
    messages = []
    for m in _TRACE_HEADER.finditer(data):
        size = int(m.group(3) or m.group(4))
        raw = data[m.end():m.end() + size]
        if data[m.end() + size:m.end() + size + 1] != b"\n":
            raise ValueError(f"SIPp message trace not understood near offset {m.start()}")
        messages.append(SipMessage(direction=m.group(2).decode(), transport=m.group(1).decode(),
                                   raw=raw))
    return messages


class Sipp:
    """One SIPp process playing one scenario (-m 1), with its traces."""

    def __init__(self, workdir: Path, name: str, scenario: str, remote_port: int | None,
                 transport: str = "u1", keys: dict[str, str] | None = None,
                 ooc_scenario: str | None = None, duration_ms: int | None = None,
                 timeout_s: int = SIPP_TIMEOUT_S, extra: list[str] | None = None,
                 callid_slash_ign: bool = True):
        self.workdir = Path(workdir)
        self.name = name
        self.port = free_port(udp=True, tcp=True)
        self.control_port = free_port(udp=True, tcp=False)
        self.timeout_s = timeout_s
        self.files = {kind: self.workdir / f"sipp-{name}.{kind}"
                      for kind in ("messages", "errors", "logs", "out")}
        cmd = [SIPP]
        if remote_port is not None:
            cmd.append(f"{LOOPBACK}:{remote_port}")
        cmd += ["-sf", str(SCENARIOS / scenario)]
        if ooc_scenario:
            cmd += ["-oocsf", str(SCENARIOS / ooc_scenario)]
        cmd += [
            "-i", LOOPBACK, "-p", str(self.port), "-t", transport,
            "-cp", str(self.control_port),
            "-m", "1",
            "-nd",                 # no default behaviours (no BYE/CANCEL on errors)
            "-nostdin", "-skip_rlimit",
            "-timeout", f"{timeout_s}s", "-timeout_error",
            "-trace_msg", "-message_file", str(self.files["messages"]),
            "-trace_err", "-error_file", str(self.files["errors"]),
            "-trace_logs", "-log_file", str(self.files["logs"]),
        ]
        if callid_slash_ign:
            # beckond's Call-IDs are its own: never read "x///y" as SIPp's prefix
            cmd.append("-callid_slash_ign")
        if duration_ms is not None:
            cmd += ["-d", str(int(duration_ms))]
        for key, value in (keys or {}).items():
            cmd += ["-key", key, value]
        cmd += extra or []
        self.cmd = cmd
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    def start(self) -> "Sipp":
        out = open(self.files["out"], "wb")
        try:
            self.proc = subprocess.Popen(self.cmd, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT)
        finally:
            out.close()
        _register(self.proc)
        return self

    def wait_listening(self, timeout: float = 5.0) -> None:
        """Waits until SIPp has bound its port (to start a peer after it)."""
        tcp = "-t" in self.cmd and self.cmd[self.cmd.index("-t") + 1].startswith("t")
        try:
            wait_until(lambda: port_bound(self.port, tcp=tcp) or not self.running(), timeout,
                       what=f"SIPp {self.name} to bind port {self.port}")
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{self.report()}") from None
        if not self.running():
            raise AssertionError(f"SIPp {self.name} ended early\n{self.report()}")

    def wait(self, timeout: float | None = None) -> int:
        """Waits for SIPp to end by itself (bounded), else stops it."""
        timeout = self.timeout_s + 5 if timeout is None else timeout
        try:
            self.proc.wait(timeout=timeout)
            _live.pop(self.proc.pid, None)
            self.returncode = self.proc.returncode
        except subprocess.TimeoutExpired:
            self.returncode = stop_process(self.proc)
            raise AssertionError(f"SIPp {self.name} still running after {timeout} s; stopped it."
                                 f"\n{self.report()}")
        return self.returncode

    def stop(self) -> int | None:
        if self.proc is not None and self.returncode is None:
            self.returncode = stop_process(self.proc)
        return self.returncode

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def read(self, kind: str) -> str:
        try:
            return self.files[kind].read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def messages(self) -> list[SipMessage]:
        try:
            return parse_message_trace(self.files["messages"].read_bytes())
        except FileNotFoundError:
            return []

    def received(self, method: str | None = None) -> list[SipMessage]:
        return [m for m in self.messages()
                if m.direction == "received" and (method is None or m.method == method)]

    def sent(self) -> list[SipMessage]:
        return [m for m in self.messages() if m.direction == "sent"]

    def wait_for_log(self, text: str, timeout: float = 10.0) -> None:
        """Waits for a <log> line of the scenario; fails early if SIPp ended."""

        def seen():
            if text in self.read("logs"):
                return True
            if not self.running():
                raise AssertionError(f"SIPp {self.name} ended (status {self.proc.returncode})"
                                     f" before logging {text!r}\n{self.report()}")
            return False

        try:
            wait_until(seen, timeout, what=f"SIPp {self.name} to log {text!r}")
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{self.report()}") from None

    def report(self) -> str:
        command = " ".join(repr(a) if not a or any(c in a for c in " \r\n<>;") else a
                           for a in self.cmd)
        status = self.returncode if self.returncode is not None else "running"
        parts = [f"== SIPp {self.name}: {command}", f"== exit status: {status}"]
        for kind in ("logs", "errors", "messages"):
            text = self.read(kind)
            if text:
                parts.append(f"== SIPp {self.name} {kind}:\n{text}")
        out = self.read("out")
        if out:
            parts.append(f"== SIPp {self.name} output (last 3000 characters):\n{out[-3000:]}")
        return "\n".join(parts)


# --------------------------------------------------------------------------
# devices


@dataclass
class Contact:
    """What a ContactMe asks for, and so what the NOTIFY body must carry."""
    request_id: str
    server: str | None = None        # the server line, port included if any
    protocol: str | None = None
    path: str | None = None
    alt_servers: list[str] = field(default_factory=list)
    function: str | None = None
    time_slot: str | None = None

    def body(self) -> bytes:
        """The NOTIFY body the contract requires, byte for byte."""
        lines = [("state", "pending"), ("request-id", self.request_id)]
        for label, value in (("server", self.server), ("protocol", self.protocol),
                             ("path", self.path)):
            if value is not None:
                lines.append((label, value))
        lines += [("alt-server", a) for a in self.alt_servers]
        for label, value in (("function", self.function), ("time-slot", self.time_slot)):
            if value is not None:
                lines.append((label, value))
        return b"".join(f"{label}: {value}\r\n".encode() for label, value in lines)

    def keys(self) -> dict[str, str]:
        """-key values for device_notify_ok.xml."""

        def line(value):
            return "" if value is None else value + "\r\n"

        return {
            "line_state": "pending\r\n",
            "line_request_id": line(self.request_id),
            "line_server": line(self.server),
            "line_protocol": line(self.protocol),
            "line_path": line(self.path),
            "lines_alt_server": "".join(f"alt-server: {a}\r\n" for a in self.alt_servers),
            "line_function": line(self.function),
            "line_time_slot": line(self.time_slot),
            "body": self.body().decode(),
        }


_user_counter = 0


def new_instance() -> str:
    """A fresh +sip.instance value, <urn:uuid:...> (random, version 4)."""
    return f"<urn:uuid:{uuid.uuid4()}>"


def new_user() -> str:
    """A fresh directory number, unique in this test process."""
    global _user_counter
    _user_counter += 1
    return f"75466{os.getpid() % 1000:03d}{_user_counter:02d}"


# Out-of-call scenario of an answering device: every NOTIFY gets the status
# STATUS. SIPp reads response codes when it loads the scenario (a -key is too
# late), so there is one file per status, written into the work directory.
_ANSWER_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Made by harness.py. Out-of-call scenario of device_silent.xml (-oocsf):
     answers one NOTIFY with STATUS. Every further NOTIFY starts it again. -->
<scenario name="beckon device: answer a NOTIFY with STATUS">
  <recv request="NOTIFY" />
  <send>
    <![CDATA[

      SIP/2.0 STATUS Test Answer
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <nop>
    <action>
      <log message="answered a NOTIFY with STATUS" />
    </action>
  </nop>
</scenario>
"""


def _answer_scenario(workdir: Path, status: int) -> str:
    assert 200 <= status <= 699, status
    path = Path(workdir) / f"device_notify_answer_{status}.xml"
    if not path.exists():
        path.write_text(_ANSWER_SCENARIO.replace("STATUS", str(status)))
    return str(path)


class Device:
    """A SIPp device registered with beckond (registrar: anything with a
    sip_port, normally the Beckond).

    answers=True with `expect`: device.xml + device_notify_ok.xml: waits for
    one NOTIFY, checks it against `expect` and answers 200; SIPp exits 0 only
    if it did.
    answers=True without `expect`: device_silent.xml + a generated scenario
    answering every NOTIFY with notify_status (default 200); SIPp ends
    hold_ms after registering. The test checks the NOTIFYs from the trace.
    answers=False: device_silent.xml + device_notify_ignore.xml: receives
    NOTIFYs and never answers; SIPp ends hold_ms after registering.
    Either way the Contact and the Via claim FAKE_NAT_HOSTPORT.
    Constructing a Device starts nothing: register() does (so a test may
    name a device before it registers).
    """

    def __init__(self, workdir: Path, registrar, transport: str = "udp",
                 expect: Contact | None = None, answers: bool = True,
                 user: str | None = None, instance: str | None = None,
                 expires: int = 300, hold_ms: int = 8000, name: str | None = None,
                 notify_status: int = 200):
        assert transport in ("udp", "tcp")
        self.transport = transport
        self.user = user or new_user()
        self.instance = instance or new_instance()
        self.expect = expect
        self.expires = expires
        self.aor = f"sip:{self.user}@{DOMAIN}"
        self.contact_uri = f"sip:{self.user}@{FAKE_NAT_HOSTPORT};transport={transport}"
        keys = {
            "domain": DOMAIN,
            "user": self.user,
            "contact_hostport": FAKE_NAT_HOSTPORT,
            "contact_transport": transport,
            "instance": self.instance,
            "expires": str(expires),
        }
        if answers and expect is not None:
            keys["contact_uri"] = self.contact_uri
            keys.update(expect.keys())
            scenario, ooc, duration = "device.xml", "device_notify_ok.xml", None
        elif answers:
            scenario, ooc = "device_silent.xml", _answer_scenario(workdir, int(notify_status))
            duration = hold_ms
        else:
            scenario, ooc, duration = "device_silent.xml", "device_notify_ignore.xml", hold_ms
        tail = re.sub(r"[^A-Za-z0-9]", "", self.instance)[-8:]
        self.sipp = Sipp(workdir, name or f"{transport}-{self.user}-{tail}",
                         scenario, remote_port=registrar.sip_port,
                         transport="u1" if transport == "udp" else "t1",
                         keys=keys, ooc_scenario=ooc, duration_ms=duration)

    @property
    def source(self) -> str:
        """Where the device's packets really come from (UDP: its SIPp port)."""
        return f"{LOOPBACK}:{self.sipp.port}"

    def register(self, timeout: float = 10.0) -> "Device":
        """Starts SIPp and waits until beckond answered the REGISTER 200."""
        self.sipp.start()
        self.sipp.wait_for_log(f"registered {self.user}", timeout)
        return self

    def notifies(self) -> list[SipMessage]:
        """Every NOTIFY received, UDP retransmissions included."""
        return self.sipp.received("NOTIFY")

    def notify_transactions(self) -> list[SipMessage]:
        """The NOTIFYs received, one per transaction (Call-ID, CSeq): UDP
        retransmissions left out."""
        seen, out = set(), []
        for n in self.notifies():
            key = (tuple(n.headers("Call-ID")) or tuple(n.headers("i")),
                   tuple(n.headers("CSeq")))
            if key not in seen:
                seen.add(key)
                out.append(n)
        return out

    def notifies_for(self, request_id: str) -> list[SipMessage]:
        """NOTIFY transactions whose body carries this request id (text or XML)."""
        text = f"request-id: {request_id}\r\n".encode()
        xml = f"<request-id>{request_id}</request-id>".encode()
        return [n for n in self.notify_transactions() if text in n.body or xml in n.body]


# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# test case base


class BeckondTestCase(unittest.TestCase):
    """One beckond for the test class; SIPp devices per test.

    On a failing test the beckond log and every SIPp trace of that test are
    printed, and the work directory is kept.
    """

    notify_timeout_ms: int | None = None
    uses_beckond = True  # False: SIPp only (test_scenarios.py)
    _keep = os.environ.get("BECKON_TEST_KEEP") == "1"

    @classmethod
    def setUpClass(cls):
        base = os.environ.get("BECKON_TEST_TMPDIR")
        if base:
            Path(base).mkdir(parents=True, exist_ok=True)
        cls.workdir = Path(tempfile.mkdtemp(prefix=f"beckon-{cls.__name__}-", dir=base))
        cls.failed = False
        cls.beckond = None
        if not cls.uses_beckond:
            return
        try:
            cls.beckond = cls.make_beckond(cls.workdir)
            cls.beckond.start()
        except Exception:
            sys.stderr.write(f"harness: work directory kept: {cls.workdir}\n")
            raise

    @classmethod
    def make_beckond(cls, workdir: Path) -> Beckond:
        """The class's beckond (not started). Override for TLS, app servers..."""
        return Beckond(workdir, notify_timeout_ms=cls.notify_timeout_ms)

    @classmethod
    def zeep(cls):
        """The class's zeep client (WSDL loaded from beckond once)."""
        if getattr(cls, "_zeep", None) is None:
            cls._zeep = zeep_client(cls.beckond)
        return cls._zeep

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "_zeep", None) is not None:
            cls._zeep.transport.session.close()
            cls._zeep = None
        if cls.beckond:
            cls.beckond.stop()
        bad = cls.beckond.bad_exits if cls.beckond else []
        if cls.failed or cls._keep or bad:
            sys.stderr.write(f"harness: work directory kept: {cls.workdir}\n")
        else:
            shutil.rmtree(cls.workdir, ignore_errors=True)
        if bad:
            raise AssertionError(f"beckond exited with status {bad} when stopped (0 expected: a"
                                 f" crash, or a sanitizer report); its log ends:\n"
                                 f"{cls.beckond.log()[-4000:]}")

    def setUp(self):
        self.sipps: list[Sipp] = []
        self._log_offset = len(self.beckond.log()) if self.beckond else 0

    def tearDown(self):
        for s in self.sipps:
            s.stop()

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            type(self).failed = True
            self.dump()
        return result

    def dump(self):
        out = [f"\n======== {self.id()} failed; work directory {self.workdir}"]
        if self.beckond:
            out += ["======== beckond log (this test):",
                    self.beckond.log()[getattr(self, "_log_offset", 0):]]
        for s in getattr(self, "sipps", []):
            out.append(s.report())
        sys.stderr.write("\n".join(out) + "\n")

    # helpers

    def device(self, registrar=None, **kw) -> Device:
        d = Device(self.workdir, registrar or self.beckond, **kw)
        self.sipps.append(d.sipp)
        return d

    def assertSoapFault(self, code: str, call, *args, names: str | None = None, **kw) -> str:
        """call(*args, **kw) raises a zeep Fault whose detail has `code`; with
        names, the message starts with "names:" (the field). Returns the message."""
        import zeep.exceptions

        with self.assertRaises(zeep.exceptions.Fault, msg=f"expected a {code} fault") as cm:
            call(*args, **kw)
        got, message = fault_detail(cm.exception)
        self.assertEqual(got, code, f"fault {cm.exception.message!r}, detail code {got!r},"
                                    f" message {message!r}")
        if names:
            self.assertTrue((message or "").startswith(f"{names}:"),
                            f"the fault message should start with '{names}:': {message!r}")
        return message or ""

    def assertNoNotifyFor(self, dev: Device, request_id: str, settle: float = 0.5):
        """After `settle` seconds, no NOTIFY carrying request_id reached dev."""
        time.sleep(settle)
        got = dev.notifies_for(request_id)
        self.assertEqual(got, [], f"NOTIFY for {request_id} reached the device:"
                                  f" {[n.raw for n in got]}")

    def assertBeckon(self, r: subprocess.CompletedProcess, rc: int):
        self.assertEqual(r.returncode, rc, f"beckon {r.args[1:]} exited {r.returncode}, not {rc}"
                                           f"\nstdout: {r.stdout}\nstderr: {r.stderr}")

    def assertDeviceNotified(self, device: Device, timeout: float = 15.0):
        """SIPp ended 0 (its checks passed), it got exactly one NOTIFY, and
        that NOTIFY is, byte for byte, what the contract requires."""
        rc = device.sipp.wait(timeout)
        self.assertEqual(rc, 0, f"device SIPp exited {rc}\n{device.sipp.report()}")
        notifies = device.notifies()
        self.assertEqual(len(notifies), 1, f"NOTIFYs received: {[n.raw for n in notifies]}")
        self.assertNotifyExact(notifies[0], device)
        return notifies[0]

    def assertNotifyExact(self, n: SipMessage, device: Device):
        raw = n.raw
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""), f"bare LF in the NOTIFY: {raw!r}")
        self.assertNotIn(b"\r", raw.replace(b"\r\n", b""), f"bare CR in the NOTIFY: {raw!r}")
        self.assertEqual(n.first_line, f"NOTIFY {device.contact_uri} SIP/2.0")
        self.assertEqual(n.headers("Event"), [PACKAGE])
        self.assertEqual(len(n.headers("Subscription-State")), 1, raw)
        self.assertRegex(n.headers("Subscription-State")[0], r"^active;expires=[0-9]+$")
        self.assertEqual(n.headers("Content-Type"), [f"application/{PACKAGE}"])
        self.assertEqual(n.body, device.expect.body(), f"NOTIFY: {raw!r}")
        self.assertEqual(n.headers("Content-Length"), [str(len(n.body))])


def contact_status_json(stdout: str) -> dict:
    return json.loads(stdout)
