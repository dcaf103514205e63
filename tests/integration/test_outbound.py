"""Path, GRUU, SIP outbound and IPv6, against beckond started for real.

The devices are small user agents on Python sockets (`SockDevice`): UDP or
TCP, IPv4 or IPv6, each with its Contact and Via at a fake address where
nobody listens, so answers and NOTIFYs reach it only over its own flow (the
UDP source address, RFC 3581, or the TCP connection).

- Path (RFC 3327): the test plays the edge proxy (the REGISTER carries
  `Path: <sip:edge1.example.com;lr>, <sip:edge2.example.com;lr>` and comes
  from the test's socket). With `Supported: path` the 200 echoes the Path,
  in order; without it the 200 has no Path. Either way the NOTIFY carries
  that Path as its Route, in order, its Request-URI is the Contact, and it
  goes to the REGISTER's source (UDP) or connection (TCP), not to the edge.
- GRUU (RFC 5627): with `Supported: gruu` and `+sip.instance` the 200's
  Contact carries pub-gruu `sip:USER@example.com;gr=urn:uuid:X` and a
  temp-gruu `sip:tgruu.<opaque>@example.com;gr`, the same again on a
  refresh; without `Supported: gruu` or without an instance, neither. A
  ContactMe whose deviceId is the pub-gruu reaches that device only, not the
  other device of the same address of record.
- Outbound (RFC 5626): `Supported: outbound`, `+sip.instance` and `reg-id`
  over TCP: the 200 has `Require: outbound` and `Flow-Timer: 120`; bindings
  are keyed by (instance, reg-id): reg-id 2 from a second connection adds a
  binding, reg-id 1 from a third replaces the first; a ContactMe by instance
  sends exactly one NOTIFY, over the newest flow. A CRLFCRLF keep-alive on
  the flow is answered with CRLF, and the flow still carries the NOTIFY.
- IPv6: beckond listening on `udp:[::1]:P` and `tcp:[::1]:P` only; a device
  over UDP and one over TCP register and get their NOTIFY (ContactMe by
  address of record); GetDevice gives the source as `[::1]:port`.

Run with /usr/bin/python3 (Debian's python3-zeep).
"""

from __future__ import annotations

import concurrent.futures
import re
import socket
import sys
import time
import unittest
import uuid

import harness
from harness import DOMAIN, LOOPBACK, PACKAGE, BeckondTestCase, SipMessage, free_port, new_user
from sip_rules import _split_list, contacts, status_of

LOOPBACK6 = "::1"
FAKE_PORT = 5999  # the Contact's and Via's port: nobody listens there
EDGE1 = "<sip:edge1.example.com;lr>"
EDGE2 = "<sip:edge2.example.com;lr>"
TEXT_TYPE = f"application/{PACKAGE}"


def rid(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns() % 10**10}"


def new_urn() -> str:
    """A bare instance id, urn:uuid:... (version 4)."""
    return f"urn:uuid:{uuid.uuid4()}"


def listed(m: SipMessage, name: str, compact: str | None = None) -> list[str]:
    """Every value of a list header (all its header lines, split at commas),
    in order."""
    out = []
    for value in m.headers(name) + (m.headers(compact) if compact else []):
        out += _split_list(value)
    return out


def tokens(m: SipMessage, name: str, compact: str | None = None) -> set[str]:
    """Option tags of Require/Supported, lowercase."""
    return {v.strip().lower() for v in listed(m, name, compact)}


# --------------------------------------------------------------------------
# devices


class SockDevice:
    """One device on one UDP socket or one TCP connection to beckond, IPv4 or
    IPv6. Its Contact and Via name `fake_host`:5999, where nobody listens."""

    def __init__(self, transport: str, server: tuple[str, int], user: str,
                 instance: str | None = None, family: int = socket.AF_INET):
        self.transport = transport
        self.server = server
        self.user = user
        self.instance = instance  # bare urn, or None
        self.family = family
        host = LOOPBACK if family == socket.AF_INET else LOOPBACK6
        self.fake_host = "127.0.0.2" if family == socket.AF_INET else "[::1]"
        if transport == "udp":
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind((host, 0))
        else:
            self.sock = socket.create_connection(server, timeout=10)
        self.local_port = self.sock.getsockname()[1]
        self.buffer = b""
        self.call_id = uuid.uuid4().hex
        self.cseq = 0
        self.from_tag = uuid.uuid4().hex[:10]
        self.received: list[SipMessage] = []  # everything read, in order

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{DOMAIN}"

    @property
    def contact_uri(self) -> str:
        ob = ";ob" if getattr(self, "ob", False) else ""
        return f"sip:{self.user}@{self.fake_host}:{FAKE_PORT};transport={self.transport}{ob}"

    @property
    def source(self) -> str:
        """Where its packets really come from, as beckond should report it."""
        if self.family == socket.AF_INET6:
            return f"[{LOOPBACK6}]:{self.local_port}"
        return f"{LOOPBACK}:{self.local_port}"

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # raw I/O

    def send(self, data: bytes) -> None:
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def _read(self, timeout: float) -> SipMessage | None:
        """The next SIP message, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        if self.transport == "udp":
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                data, addr = self.sock.recvfrom(65536)
            except (socket.timeout, BlockingIOError):
                return None
            m = SipMessage(direction="received", transport="UDP", raw=data)
            m.addr = addr
            self.received.append(m)
            return m
        while True:
            self.buffer = self.buffer.lstrip(b"\r\n")  # keep-alive pongs between messages
            if b"\r\n\r\n" in self.buffer:
                head, rest = self.buffer.split(b"\r\n\r\n", 1)
                mo = re.search(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head, re.I | re.M)
                length = int(mo.group(1)) if mo else 0
                if len(rest) >= length:
                    self.buffer = rest[length:]
                    m = SipMessage(direction="received", transport="TCP",
                                   raw=head + b"\r\n\r\n" + rest[:length])
                    m.addr = None
                    self.received.append(m)
                    return m
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                return None
            if not chunk:
                raise ConnectionError(f"beckond closed the connection of {self.source}")
            self.buffer += chunk

    def read_raw(self, timeout: float) -> bytes:
        """TCP: whatever bytes arrive within `timeout` (for the keep-alive)."""
        deadline = time.monotonic() + timeout
        got = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return got
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                return got
            if not chunk:
                return got
            got += chunk

    # SIP

    def register(self, contact_params: str = "", headers: tuple[str, ...] = (),
                 expires: int = 300, accept: bool = True, timeout: float = 10.0) -> SipMessage:
        """Sends a REGISTER (this device's Call-ID, next CSeq) and returns the
        final response to it."""
        self.cseq += 1
        branch = f"z9hG4bK{uuid.uuid4().hex}"
        t = self.transport.upper()
        lines = [
            f"REGISTER sip:{DOMAIN} SIP/2.0",
            f"Via: SIP/2.0/{t} {self.fake_host}:{FAKE_PORT};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: <{self.aor}>;tag={self.from_tag}",
            f"To: <{self.aor}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
            f"Contact: <{self.contact_uri}>{contact_params}",
        ]
        if accept:
            lines.append(f"Accept: {TEXT_TYPE}")
        lines += [f"Expires: {expires}", *headers, "Content-Length: 0", "", ""]
        self.send("\r\n".join(lines).encode())
        cseq = f"{self.cseq} REGISTER"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self._read(deadline - time.monotonic())
            if m is None:
                break
            if m.is_request:
                self.answer(m)
                continue
            if _cseq(m) == cseq and status_of(m) >= 200:
                return m
        raise AssertionError(f"no final response to {cseq} of {self.aor} within {timeout} s;"
                             f" received: {[x.raw for x in self.received]}")

    def answer(self, request: SipMessage, status: str = "200 OK") -> None:
        copied = []
        for line in request.head.split(b"\r\n")[1:]:
            name = line.split(b":", 1)[0].strip().lower()
            if name in (b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq"):
                copied.append(line)
        reply = b"\r\n".join([f"SIP/2.0 {status}".encode(), *copied,
                              b"Content-Length: 0", b"", b""])
        if self.transport == "udp":
            self.sock.sendto(reply, request.addr)
        else:
            self.sock.sendall(reply)

    def wait_notify(self, timeout: float = 10.0, give_up=None) -> SipMessage:
        """The next NOTIFY, answered 200. `give_up()` true: wait only one
        more second (e.g. ContactMe has already answered)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if give_up is not None and give_up():
                deadline = min(deadline, time.monotonic() + 1.0)
                give_up = None
            m = self._read(min(0.2, deadline - time.monotonic()))
            if m is None:
                continue
            if m.is_request:
                self.answer(m)
                if m.method == "NOTIFY":
                    return m
        raise AssertionError(f"no NOTIFY reached {self.source} ({self.aor}) within {timeout} s;"
                             f" received: {[x.raw for x in self.received]}")

    def notifies_within(self, seconds: float) -> list[SipMessage]:
        """NOTIFYs arriving in the next `seconds` (each answered 200)."""
        out = []
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out
            try:
                m = self._read(remaining)
            except ConnectionError:
                return out
            if m is None:
                return out
            if m.is_request:
                self.answer(m)
                if m.method == "NOTIFY":
                    out.append(m)


def _cseq(m: SipMessage) -> str:
    values = m.headers("CSeq")
    return re.sub(r"\s+", " ", values[0].strip()) if values else ""


def request_id_of(notify: SipMessage) -> str | None:
    mo = re.search(rb"request-id: ([^\r\n]*)\r\n", notify.body)
    return mo.group(1).decode() if mo else None


# --------------------------------------------------------------------------
# test cases


class FlowTestCase(BeckondTestCase):
    """Helpers: devices on sockets (closed at cleanup), ContactMe while a
    device answers its NOTIFY."""

    family = socket.AF_INET

    def setUp(self):
        super().setUp()
        self.devices: list[SockDevice] = []

    def tearDown(self):
        for d in self.devices:
            d.close()
        super().tearDown()

    def dump(self):
        super().dump()
        out = []
        for d in getattr(self, "devices", []):
            try:  # what is still waiting in its socket, read (not answered)
                while d._read(0.2) is not None:
                    pass
            except OSError:
                pass
            out.append(f"======== device {d.transport} {d.source} {d.aor} {d.instance}:")
            out += [m.raw.decode(errors="replace") for m in d.received]
        sys.stderr.write("\n".join(out) + "\n")

    @property
    def sip_host(self) -> str:
        return LOOPBACK if self.family == socket.AF_INET else LOOPBACK6

    def dev(self, transport: str, user: str | None = None, instance: str | None = None,
            ob: bool = False) -> SockDevice:
        d = SockDevice(transport, (self.sip_host, self.beckond.sip_port), user or new_user(),
                       instance, family=self.family)
        d.ob = ob
        self.devices.append(d)
        return d

    def contact_me_answered(self, device_id: str, request_id: str, notified: SockDevice,
                            wait_ms: int = 8000):
        """ContactMe(device_id) while `notified` answers the NOTIFY: returns
        (that NOTIFY, the ContactMe status)."""
        client = self.zeep()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(client.service.ContactMe, deviceId=device_id,
                                 requestId=request_id, waitMs=wait_ms)
            try:
                notify = notified.wait_notify(timeout=wait_ms / 1000 + 2, give_up=answer.done)
            except AssertionError as e:
                status = answer.result(timeout=wait_ms / 1000 + 20)
                raise AssertionError(f"{e}\nContactMe({device_id!r}) answered: {status}") from None
            status = answer.result(timeout=wait_ms / 1000 + 20)
        self.assertEqual(request_id_of(notify), request_id, notify.raw)
        return notify, status

    def assertOk(self, response: SipMessage):
        self.assertEqual(response.first_line, "SIP/2.0 200 OK", response.raw)

    def assertDelivered(self, status):
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual([d.sipStatus for d in status.delivery], [200], status)


class Path(FlowTestCase):
    """RFC 3327: the test's socket is the edge proxy."""

    PATH = f"Path: {EDGE1}, {EDGE2}"

    def register_via_edge(self, transport: str, supported: bool) -> tuple[SockDevice, SipMessage]:
        d = self.dev(transport, instance=new_urn())
        headers = [self.PATH]
        if supported:
            headers.append("Supported: path")
        ok = d.register(f';+sip.instance="<{d.instance}>"', headers=tuple(headers))
        self.assertOk(ok)
        return d, ok

    def check_notify_routed(self, d: SockDevice, by: str):
        notify, status = self.contact_me_answered(by, rid("path"), d)
        self.assertEqual(notify.first_line, f"NOTIFY {d.contact_uri} SIP/2.0", notify.raw)
        self.assertEqual(listed(notify, "Route"), [EDGE1, EDGE2],
                         f"the stored Path as the route set, in order: {notify.raw!r}")
        self.assertEqual(notify.headers("Event"), [PACKAGE], notify.raw)
        if d.transport == "udp":
            # sent to where the REGISTER came from (the edge proxy), from beckond's port
            self.assertEqual(notify.addr[1], self.beckond.sip_port, notify.addr)
        self.assertDelivered(status)

    def test_path_echoed_and_used_as_route_set(self):
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                d, ok = self.register_via_edge(transport, supported=True)
                self.assertEqual(listed(ok, "Path"), [EDGE1, EDGE2],
                                 f"the 200 echoes the Path, in order: {ok.raw!r}")
                self.check_notify_routed(d, d.instance)
                # by address of record too
                self.check_notify_routed(d, d.aor)

    def test_without_supported_path_no_path_in_200_but_route_in_notify(self):
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                d, ok = self.register_via_edge(transport, supported=False)
                self.assertEqual(ok.headers("Path"), [], ok.raw)
                self.check_notify_routed(d, d.instance)

    def test_no_path_no_route(self):
        d = self.dev("udp", instance=new_urn())
        self.assertOk(d.register(f';+sip.instance="<{d.instance}>"',
                                 headers=("Supported: path",)))
        notify, status = self.contact_me_answered(d.instance, rid("nopath"), d)
        self.assertEqual(notify.headers("Route"), [], notify.raw)
        self.assertDelivered(status)


class Gruu(FlowTestCase):
    """RFC 5627."""

    TEMP_GRUU = re.compile(r"^sip:tgruu\.[^@;<>\s]+@example\.com;gr$")

    def contact_params(self, ok: SipMessage, d: SockDevice) -> dict[str, str]:
        mine = [p for uri, p in contacts(ok) if uri == d.contact_uri]
        self.assertEqual(len(mine), 1, f"{d.contact_uri} once in the 200: {ok.raw!r}")
        return mine[0]

    def register_gruu(self, d: SockDevice, supported: bool = True) -> SipMessage:
        params = f';+sip.instance="<{d.instance}>"' if d.instance else ""
        ok = d.register(params, headers=("Supported: gruu",) if supported else ())
        self.assertOk(ok)
        return ok

    def test_pub_gruu_and_temp_gruu(self):
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                d = self.dev(transport, instance=new_urn())
                p = self.contact_params(self.register_gruu(d), d)
                self.assertEqual(p.get("pub-gruu"), f"sip:{d.user}@{DOMAIN};gr={d.instance}", p)
                temp = p.get("temp-gruu", "")
                self.assertRegex(temp, self.TEMP_GRUU)
                # a refresh of the same binding gives the same temp-gruu
                again = self.contact_params(self.register_gruu(d), d)
                self.assertEqual(again.get("pub-gruu"), p["pub-gruu"], again)
                self.assertEqual(again.get("temp-gruu"), temp, again)

    def test_temp_gruus_differ_between_devices(self):
        a, b = self.dev("udp", instance=new_urn()), self.dev("udp", instance=new_urn())
        ta = self.contact_params(self.register_gruu(a), a).get("temp-gruu")
        tb = self.contact_params(self.register_gruu(b), b).get("temp-gruu")
        self.assertTrue(ta and tb, (ta, tb))
        self.assertNotEqual(ta, tb)

    def test_no_gruu_without_supported_or_without_instance(self):
        d = self.dev("udp", instance=new_urn())
        p = self.contact_params(self.register_gruu(d, supported=False), d)
        self.assertNotIn("pub-gruu", p)
        self.assertNotIn("temp-gruu", p)
        self.assertEqual(p.get("+sip.instance"), f"<{d.instance}>", p)
        bare = self.dev("udp")  # no instance
        p = self.contact_params(self.register_gruu(bare, supported=True), bare)
        self.assertNotIn("pub-gruu", p)
        self.assertNotIn("temp-gruu", p)

    def test_contact_me_by_pub_gruu_reaches_that_device_only(self):
        user = new_user()
        a = self.dev("udp", user=user, instance=new_urn())
        b = self.dev("tcp", user=user, instance=new_urn())
        gruu_a = self.contact_params(self.register_gruu(a), a)["pub-gruu"]
        ok_b = self.register_gruu(b)
        gruu_b = self.contact_params(ok_b, b)["pub-gruu"]
        self.assertEqual(len(contacts(ok_b)), 2, f"both devices of {user}: {ok_b.raw!r}")
        self.assertEqual(gruu_a, f"sip:{user}@{DOMAIN};gr={a.instance}")

        for target, other, gruu in ((a, b, gruu_a), (b, a, gruu_b)):
            with self.subTest(device=target.transport):
                request = rid("gruu")
                notify, status = self.contact_me_answered(gruu, request, target)
                self.assertEqual(notify.first_line, f"NOTIFY {target.contact_uri} SIP/2.0")
                self.assertDelivered(status)
                stray = [n for n in other.notifies_within(1.0) if request_id_of(n) == request]
                self.assertEqual(stray, [], f"the other device of {user} got the NOTIFY")
                self.assertEqual([n for n in target.notifies_within(0.3)], [],
                                 "a second NOTIFY to the device")


class Outbound(FlowTestCase):
    """RFC 5626 over TCP: each flow its own connection."""

    def outbound_register(self, d: SockDevice, reg_id: int, supported: bool = True) -> SipMessage:
        params = f';+sip.instance="<{d.instance}>";reg-id={reg_id}'
        headers = ("Supported: outbound, path",) if supported else ()
        ok = d.register(params, headers=headers)
        self.assertOk(ok)
        return ok

    def mine(self, ok: SipMessage, instance: str) -> list[dict[str, str]]:
        return [dict(p, uri=uri) for uri, p in contacts(ok)
                if p.get("+sip.instance") == f"<{instance}>"]

    def test_require_outbound_and_flow_timer(self):
        d = self.dev("tcp", instance=new_urn(), ob=True)
        ok = self.outbound_register(d, 1)
        self.assertIn("outbound", tokens(ok, "Require"), ok.raw)
        self.assertEqual(ok.headers("Flow-Timer"), ["120"], ok.raw)

    def test_no_require_outbound_without_supported(self):
        d = self.dev("tcp", instance=new_urn())
        ok = self.outbound_register(d, 1, supported=False)
        self.assertNotIn("outbound", tokens(ok, "Require"), ok.raw)
        self.assertEqual(ok.headers("Flow-Timer"), [], ok.raw)

    def test_bindings_keyed_by_instance_and_reg_id(self):
        user, instance = new_user(), new_urn()
        # one Contact URI on every flow, as an outbound UA has: only
        # (instance, reg-id) tells the bindings apart
        first = self.dev("tcp", user=user, instance=instance, ob=True)
        ok1 = self.outbound_register(first, 1)
        self.assertEqual([p.get("reg-id") for p in self.mine(ok1, instance)], ["1"], ok1.raw)

        second = self.dev("tcp", user=user, instance=instance, ob=True)
        ok2 = self.outbound_register(second, 2)
        got = self.mine(ok2, instance)
        self.assertEqual(sorted(p.get("reg-id") for p in got), ["1", "2"],
                         f"two bindings, reg-id 1 and 2: {ok2.raw!r}")

        # ContactMe by instance: one NOTIFY, over the newest flow
        request = rid("ob2")
        notify, status = self.contact_me_answered(instance, request, second)
        self.assertDelivered(status)
        self.assertEqual([n.raw for n in first.notifies_within(1.0)], [],
                         "a NOTIFY on the older flow too")
        self.assertEqual([n.raw for n in second.notifies_within(0.2)], [],
                         "a second NOTIFY on the newest flow")

        # reg-id 1 again, from a new connection and a new Call-ID (the device
        # restarted the flow): replaces the first binding
        third = self.dev("tcp", user=user, instance=instance, ob=True)
        ok3 = self.outbound_register(third, 1)
        got = self.mine(ok3, instance)
        self.assertEqual(sorted(p.get("reg-id") for p in got), ["1", "2"],
                         f"reg-id 1 replaced, not added: {ok3.raw!r}")

        request = rid("ob3")
        notify, status = self.contact_me_answered(instance, request, third)
        self.assertDelivered(status)
        for old in (first, second):
            self.assertEqual([n.raw for n in old.notifies_within(0.7)], [],
                             f"a NOTIFY on an older flow ({old.source})")
        self.assertEqual([n.raw for n in third.notifies_within(0.2)], [],
                         "a second NOTIFY on the newest flow")

        d = self.zeep().service.GetDevice(deviceId=instance)
        self.assertEqual(sorted(b.source for b in d.binding), sorted([second.source, third.source]),
                         d)

    def test_get_device_lists_a_binding_whose_flow_died_as_unreachable(self):
        user, instance = new_user(), new_urn()
        gone = self.dev("tcp", user=user, instance=instance, ob=True)
        self.outbound_register(gone, 1)
        live = self.dev("tcp", user=user, instance=instance, ob=True)
        self.outbound_register(live, 2)
        gone.close()  # the connection closes: that flow is dead (RFC 5626)

        def states():
            d = self.zeep().service.GetDevice(deviceId=instance)
            return {b.source: b.state for b in d.binding}

        harness.wait_until(lambda: states().get(gone.source) == "unreachable", 10,
                           what="the closed flow's binding listed as unreachable")
        self.assertEqual(states(), {gone.source: "unreachable", live.source: "reachable"},
                         "every binding listed, each with its state")
        notify, status = self.contact_me_answered(instance, rid("live"), live)
        self.assertDelivered(status)

    def test_crlf_keepalive_answered_with_crlf(self):
        d = self.dev("tcp", instance=new_urn(), ob=True)
        self.outbound_register(d, 1)
        for attempt in range(2):  # twice: the flow keeps answering
            with self.subTest(ping=attempt):
                d.send(b"\r\n\r\n")
                self.assertEqual(d.read_raw(1.5), b"\r\n", "RFC 5626 4.4.1: CRLFCRLF -> CRLF")
        # the flow still carries SIP both ways
        notify, status = self.contact_me_answered(d.instance, rid("ka"), d)
        self.assertDelivered(status)


def ipv6_free_port() -> int:
    """A port free on 127.0.0.1 and on ::1, for UDP and TCP."""
    for _ in range(50):
        port = free_port(udp=True, tcp=True)
        ok = True
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET6, kind)
            try:
                s.bind((LOOPBACK6, port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no port free on ::1 in 50 tries")


class Ipv6Beckond(harness.Beckond):
    """beckond whose SIP listeners are udp:[::1]:P and tcp:[::1]:P only."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.sip_port = ipv6_free_port()
        text = self.config.read_text()
        text = re.sub(r"^listen = \[.*\]$",
                      f'listen = ["udp:[::1]:{self.sip_port}", "tcp:[::1]:{self.sip_port}"]',
                      text, count=1, flags=re.M)
        self.config.write_text(text)


class DualStackBeckond(harness.Beckond):
    """beckond listening on IPv4 and IPv6 at once (udp and tcp on each)."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.sip_port = ipv6_free_port()
        text = self.config.read_text()
        text = re.sub(r"^listen = \[.*\]$",
                      f'listen = ["udp:{LOOPBACK}:{self.sip_port}", "tcp:{LOOPBACK}:{self.sip_port}", '
                      f'"udp:[::1]:{self.sip_port}", "tcp:[::1]:{self.sip_port}"]',
                      text, count=1, flags=re.M)
        self.config.write_text(text)


class Ipv6(FlowTestCase):
    family = socket.AF_INET6

    @classmethod
    def make_beckond(cls, workdir):
        return Ipv6Beckond(workdir)

    def test_register_notify_and_source_over_ipv6(self):
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                d = self.dev(transport, instance=new_urn())
                ok = d.register(f';+sip.instance="<{d.instance}>"')
                self.assertOk(ok)
                self.assertEqual([uri for uri, _ in contacts(ok)], [d.contact_uri], ok.raw)
                if transport == "udp":
                    self.assertEqual(d.received[-1].addr[:2], (LOOPBACK6, self.beckond.sip_port))

                notify, status = self.contact_me_answered(d.aor, rid("v6"), d)
                self.assertEqual(notify.first_line, f"NOTIFY {d.contact_uri} SIP/2.0")
                self.assertEqual(notify.headers("Event"), [PACKAGE], notify.raw)
                # beckond's Contact is its IPv6 address, on the device's transport
                self.assertRegex(notify.headers("Contact")[0],
                                 rf"^<sip:\[::1\]:{self.beckond.sip_port};transport={transport}>$")
                self.assertDelivered(status)
                if transport == "udp":
                    self.assertEqual(notify.addr[:2], (LOOPBACK6, self.beckond.sip_port))

                info = self.zeep().service.GetDevice(deviceId=d.aor)
                self.assertEqual(len(info.binding), 1, info)
                b = info.binding[0]
                self.assertEqual(b.source, d.source, b)
                self.assertEqual(b.transport.lower(), transport, b)
                self.assertEqual(b.contact, d.contact_uri, b)


class Ipv6BesideIpv4(Ipv6):
    """The same over IPv6 when beckond also listens on IPv4: the NOTIFY must
    leave from the IPv6 socket the device used."""

    @classmethod
    def make_beckond(cls, workdir):
        return DualStackBeckond(workdir)


class WildcardBeckond(harness.Beckond):
    """beckond listening on udp:0.0.0.0:P (every local address), as by default."""

    def __init__(self, workdir):
        super().__init__(workdir)
        text = self.config.read_text()
        text = re.sub(r"^listen = \[.*\]$",
                      f'listen = ["udp:0.0.0.0:{self.sip_port}", "tcp:{LOOPBACK}:{self.sip_port}"]',
                      text, count=1, flags=re.M)
        self.config.write_text(text)


class WildcardListener(FlowTestCase):
    """Sofia binds a wildcard UDP listener once per local address: the NOTIFY
    must leave from the address the device sent its REGISTER to (event
    package, section 8: a device may check where NOTIFYs come from)."""

    @classmethod
    def make_beckond(cls, workdir):
        return WildcardBeckond(workdir)

    def test_notify_leaves_from_the_address_the_device_used(self):
        d = self.dev("udp", instance=new_urn())
        self.assertOk(d.register(f';+sip.instance="<{d.instance}>"'))
        self.assertEqual(d.received[-1].addr[:2], (LOOPBACK, self.beckond.sip_port))
        notify, status = self.contact_me_answered(d.aor, rid("wild"), d)
        self.assertDelivered(status)
        self.assertEqual(notify.addr[:2], (LOOPBACK, self.beckond.sip_port), notify.raw)


if __name__ == "__main__":
    unittest.main()
