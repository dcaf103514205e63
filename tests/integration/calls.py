"""Helpers for test_proxy.py (calls through beckond's proxy), on top of
harness.py and devices.py.

- `ProxyTestCase`: a `BeckondTestCase` whose beckond gets the class's
  `extra_toml` ([proxy], [[proxy.user]], [sip.auth] ...); `callee()` and
  `caller()` make SIPp peers, `udp_peer()` a Python one.
- `Callee`: a SIPp device that registers with beckond (scenarios/callee.xml)
  and plays each call it gets with an out-of-call scenario of the test's
  choosing (callee_answer.xml, callee_ring.xml, callee_reject.xml with a
  status, callee_dialog.xml). Its Contact and Via claim a fake NAT address:
  beckond reaches it only over its registration's flow.
- `Caller`: a SIPp caller (caller.xml, caller_status.xml with the status it
  must end with, caller_dialog.xml, caller_auth*.xml), its Contact at a fake
  NAT address too.
- `UdpPeer`: a Python UDP socket that sends SIP text and reads what comes
  back (for what SIPp cannot script: a request sent back to beckond as it
  came, a loop).

Everything is bounded in time; every process is stopped by its pid (the
harness does that) and every socket is closed.
"""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import harness
from devices import ConfiguredBeckond, instantiate
from harness import DOMAIN, LOOPBACK, BeckondTestCase, SipMessage, Sipp, wait_until

_counter = 0


def _name(prefix: str) -> str:
    global _counter
    _counter += 1
    return f"{prefix}-{_counter:03d}"


def unique(messages: list[SipMessage]) -> list[SipMessage]:
    """One message per transaction (first line, Call-ID, CSeq, top Via
    branch): UDP retransmissions left out."""
    seen, out = set(), []
    for m in messages:
        key = (m.first_line, tuple(m.headers("Call-ID")), tuple(m.headers("CSeq")),
               (m.headers("Via") or [""])[0])
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


class Callee:
    """A registered SIPp device that answers calls with `ooc`
    (scenarios/callee_*.xml, or a path). ring_ms: the -d pause (how long
    callee_answer.xml rings before its 200)."""

    def __init__(self, workdir: Path, beckond, user: str, ooc: str, *, contact_hostport: str,
                 transport: str = "udp", instance: str | None = None, q: str = "1.0",
                 ring_ms: int = 100, redirect_to: str = "sip:nobody@example.com"):
        self.user = user
        self.contact_hostport = contact_hostport
        self.contact_uri = f"sip:{user}@{contact_hostport};transport={transport}"
        self.instance = instance or f"<urn:uuid:{uuid.uuid4()}>"
        self.sipp = Sipp(workdir, _name(f"callee-{user}"), "callee.xml",
                         remote_port=beckond.sip_port,
                         transport="u1" if transport == "udp" else "t1",
                         keys={"domain": DOMAIN, "user": user,
                               "contact_hostport": contact_hostport,
                               "contact_transport": transport, "instance": self.instance,
                               "expires": "300", "q": q, "redirect_to": redirect_to},
                         ooc_scenario=ooc, duration_ms=ring_ms, timeout_s=40)

    def register(self, timeout: float = 10.0) -> "Callee":
        self.sipp.start()
        self.sipp.wait_for_log(f"registered {self.user}", timeout)
        return self

    def wait_done(self, timeout: float = 15.0) -> None:
        """Waits until its call is over (the out-of-call scenario said so)."""
        self.sipp.wait_for_log(f"callee {self.user} done", timeout)

    def received(self, method: str | None = None) -> list[SipMessage]:
        return unique(self.sipp.received(method))

    def invites(self) -> list[SipMessage]:
        return self.received("INVITE")


class Caller:
    """A SIPp caller: `scenario` against beckond, -d call_ms."""

    def __init__(self, workdir: Path, beckond, user: str, target: str, scenario: str = "caller.xml",
                 *, contact_hostport: str = "127.0.0.2:5990", call_ms: int = 200,
                 keys: dict[str, str] | None = None):
        self.user = user
        self.target = target
        all_keys = {"domain": DOMAIN, "user": user, "target": target,
                    "contact_hostport": contact_hostport, "max_forwards": "70"}
        all_keys.update(keys or {})
        # -auth_uri: SIPp's digest names the Request-URI (beckond wants it
        # there), not its default sip:REMOTE_IP:REMOTE_PORT.
        self.sipp = Sipp(workdir, _name(f"caller-{user}"), scenario,
                         remote_port=beckond.sip_port, keys=all_keys, duration_ms=call_ms,
                         timeout_s=30, extra=["-auth_uri", target.removeprefix("sip:")])

    def run(self, timeout: float = 30.0) -> int:
        self.sipp.start()
        return self.sipp.wait(timeout)

    def received(self, method: str | None = None) -> list[SipMessage]:
        return unique(self.sipp.received(method))

    def responses(self) -> list[SipMessage]:
        return [m for m in unique(self.sipp.received()) if not m.is_request]

    def log(self) -> str:
        return self.sipp.read("logs")


class UdpPeer:
    """A Python UDP SIP peer on 127.0.0.1: send() text (LF made CRLF), recv()
    what arrives, optionally waiting for a first line that starts with a
    prefix (other messages, retransmissions included, are skipped)."""

    def __init__(self, beckond):
        self.beckond = beckond
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.hostport = f"{LOOPBACK}:{self.port}"
        self.seen: list[SipMessage] = []

    def close(self):
        self.sock.close()

    def send(self, text: str) -> None:
        head, _, body = text.lstrip("\n").partition("\n\n")
        lines = [line.strip() for line in head.strip().split("\n") if line.strip()]
        raw = "\r\n".join(lines).encode() + b"\r\n"
        body_bytes = body.replace("\n", "\r\n").encode() if body.strip() else b""
        raw += f"Content-Length: {len(body_bytes)}\r\n\r\n".encode() + body_bytes
        self.sock.sendto(raw, (LOOPBACK, self.beckond.sip_port))

    def send_raw(self, raw: bytes) -> None:
        self.sock.sendto(raw, (LOOPBACK, self.beckond.sip_port))

    def recv(self, starts: str | None = None, timeout: float = 5.0) -> SipMessage:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"UDP peer {self.hostport}: nothing starting {starts!r}"
                                     f" within {timeout} s; seen: "
                                     f"{[m.first_line for m in self.seen]}")
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            m = SipMessage("received", "UDP", data)
            self.seen.append(m)
            if starts is None or m.first_line.startswith(starts):
                return m

    def reply(self, request: SipMessage, status: int, reason: str, to_tag: str | None = None,
              extra: list[str] | None = None) -> None:
        """Answers `request` (received here) through beckond: its Vias, From,
        Call-ID, CSeq and Record-Route copied, To with `to_tag`."""
        head = request.head.decode().split("\r\n")[1:]
        keep = ("via", "from", "call-id", "cseq", "record-route")
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [h for h in head if h.split(":", 1)[0].strip().lower() in keep]
        to = request.headers("To")[0]
        lines.append(f"To: {to};tag={to_tag}" if to_tag and "tag=" not in to else f"To: {to}")
        lines += (extra or []) + ["Content-Length: 0", "", ""]
        self.send_raw("\r\n".join(lines).encode())

    def register(self, user: str, contact: str | None = None) -> None:
        contact = contact or f"sip:{user}@{self.hostport}"
        self.send(f"""
            REGISTER sip:{DOMAIN} SIP/2.0
            Via: SIP/2.0/UDP {self.hostport};branch=z9hG4bK-reg-{uuid.uuid4().hex[:12]};rport
            Max-Forwards: 70
            From: <sip:{user}@{DOMAIN}>;tag=reg{self.port}
            To: <sip:{user}@{DOMAIN}>
            Call-ID: reg-{uuid.uuid4().hex}
            CSeq: 1 REGISTER
            Contact: <{contact}>
            Expires: 300
            """)
        r = self.recv("SIP/2.0 ")
        assert r.first_line.startswith("SIP/2.0 200"), r.raw


class ProxyTestCase(BeckondTestCase):
    """One beckond per class with `extra_toml` appended to its configuration."""

    extra_toml: str = ""

    @classmethod
    def make_beckond(cls, workdir: Path):
        return ConfiguredBeckond(workdir, extra_toml=cls.extra_toml)

    def setUp(self):
        super().setUp()
        self.peers: list[UdpPeer] = []

    def tearDown(self):
        super().tearDown()
        for p in self.peers:
            p.close()

    def callee(self, user: str, behaviour: str, *, nat: str, status: tuple[int, str] | None = None,
               **kw) -> Callee:
        """A callee; behaviour "answer", "ring", "dialog", or "reject" with
        status (code, reason). nat: its fake NAT host:port."""
        if behaviour == "reject":
            code, reason = status
            ooc = instantiate(self.workdir, "callee_reject.xml",
                              {"STATUS": str(code), "REASON": reason})
        else:
            ooc = f"callee_{behaviour}.xml"
        c = Callee(self.workdir, self.beckond, user, ooc, contact_hostport=nat, **kw)
        self.sipps.append(c.sipp)
        return c

    def caller(self, user: str, target: str, scenario: str = "caller.xml", *,
               expect: int | None = None, auth: tuple[str, str] | None = None, **kw) -> Caller:
        """A caller; expect: the status caller_status.xml must end with; auth:
        (user, password) for caller_auth*.xml."""
        if expect is not None:
            scenario = instantiate(self.workdir, "caller_status.xml", {"STATUS": str(expect)})
        elif auth is not None:
            scenario = instantiate(self.workdir, scenario,
                                   {"AUTH_USER": auth[0], "AUTH_PASSWORD": auth[1]})
        c = Caller(self.workdir, self.beckond, user, target, scenario, **kw)
        self.sipps.append(c.sipp)
        return c

    def udp_peer(self) -> UdpPeer:
        p = UdpPeer(self.beckond)
        self.peers.append(p)
        return p

    def assertCall(self, caller: Caller, rc_timeout: float = 30.0) -> None:
        rc = caller.run(rc_timeout)
        self.assertEqual(rc, 0, f"caller SIPp exited {rc}\n{caller.sipp.report()}")

    def answered_by(self, caller: Caller) -> str:
        for line in caller.log().splitlines():
            if line.startswith("answered by "):
                return line[len("answered by "):].strip()
        return ""

    @staticmethod
    def wait(predicate, timeout: float, what: str):
        return wait_until(predicate, timeout, what=what)
