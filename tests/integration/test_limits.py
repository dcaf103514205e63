"""[limits], against beckond started for real: each limit reached, the
answer it gives, and service going on (and coming back) around it.

One beckond per class with small limits (below). After every test a fresh
device registers and a ContactMe reaches it (`assert_alive`): beckond is up
and serving. The devices are Python sockets (test_outbound.SockDevice):
their Contact and Via name a fake address, so answers reach them only over
their own flow. Floods come from other loopback addresses (127.0.0.2-4)
than the devices (127.0.0.1), as from other hosts.

- SIP messages: larger than sip_max_message_bytes over UDP get 413 (sent
  to the Via, where a NAT'ed device cannot hear it) and never a 200; over
  TCP the connection is closed. More than sip_max_headers: 513. More than
  sip_max_contacts in a REGISTER: 403.
- bindings_per_aor: a new binding past it gets 503 with Retry-After (the
  first binding's remaining time); a refresh still passes; after a removal
  the new one does. subscriptions_per_device: the same for SUBSCRIBE.
- aor_rate: one address of record hammering REGISTER gets 503 with
  Retry-After past its burst, its SUBSCRIBE too; another address of record
  from the same source address is served; after Retry-After the first is
  served again.
- Connections: a flood from one source keeps sip_connections_per_source
  open and the rest are reset at once; three sources fill sip_connections
  and a fourth is reset; UDP devices are served throughout; the flood's
  silent connections are closed after sip_first_message_ms, and a TCP device
  then registers and gets its NOTIFY. A client trickling its first request
  byte by byte is cut off after sip_first_message_ms in all; one that stalls
  inside a later message after sip_message_timeout_ms; a connection no
  registration holds after sip_idle_ms, while a registered TCP device's
  connection stays and carries its NOTIFY.
- SOAP: Content-Length above max_body_bytes and a chunked body growing past
  it get HTTP 413; a client trickling its request body is cut off after
  soap_request_timeout_ms in all while zeep is served; a flood from one
  source keeps soap_connections_per_source and the rest are reset, zeep
  served meanwhile, and a new connection is served after the flood; two
  sources together keep no more than soap_connections (less what the
  tests' own clients hold), each reset counted, and then are served again.
- Queued requests (QueueLimits, two application servers over HTTPS): past
  queued_requests_per_app_server, and past queued_requests in all, a
  ContactMe is an Overloaded fault; every request acknowledged before is
  delivered once the device registers, and new requests are taken again.

Each refusal is counted once in /metrics (beckon_limit_refusals_total by
its configuration key), and after every test /healthz is good.
- An office behind one NAT (30 addresses of record on one UDP source,
  REGISTER and SUBSCRIBE each, six times one address of record's burst) is
  served in full while an address of record from that very source stays
  refused for hammering.

Every loop is bounded in count and time; every socket is closed.
"""

from __future__ import annotations

import concurrent.futures
import socket
import ssl
import time
import unittest
import urllib.request
import uuid

import harness
from devices import ConfiguredBeckond
from harness import DOMAIN, LOOPBACK, PACKAGE, Pki, basic_auth, new_user, wait_until
from sip_rules import contacts, status_of
from test_metrics import parse_exposition
from test_outbound import FlowTestCase, SockDevice, request_id_of, rid

LIMITS = """
[limits]
sip_max_message_bytes = 4096
sip_max_headers = 40
sip_max_contacts = 3
bindings_per_aor = 4
subscriptions_per_device = 2
aor_rate = 2
aor_burst = 10
sip_connections = 20
sip_connections_per_source = 8
sip_first_message_ms = 1500
sip_message_timeout_ms = 1000
sip_idle_ms = 3000
soap_connections = 10
soap_connections_per_source = 6
soap_request_timeout_ms = 2000
"""
FIRST_MESSAGE_S = 1.5
MESSAGE_TIMEOUT_S = 1.0
IDLE_S = 3.0
SOAP_REQUEST_S = 2.0
MAX_BODY = 65536  # soap.max_body_bytes, the default

ENVELOPE_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>'
                 b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>')
ENVELOPE_TAIL = (b'<ContactMe xmlns="urn:beckon:contact-me:1"><deviceId>0</deviceId>'
                 b'<requestId>pad-1</requestId></ContactMe></s:Body></s:Envelope>')


def http_get(beckond, path: str) -> tuple[int, str]:
    """(status, body) of GET `path` on the SOAP listener (HTTPS unverified)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    url = f"{beckond.scheme}://{LOOPBACK}:{beckond.soap_port}{path}"
    try:
        with opener.open(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def refusals(beckond) -> dict[str, float]:
    """beckon_limit_refusals_total by its `limit` label, from /metrics."""
    status, body = http_get(beckond, "/metrics")
    assert status == 200, f"/metrics answered {status}"
    prefix = 'beckon_limit_refusals_total{limit="'
    return {series[len(prefix):-2]: value for series, value in parse_exposition(body).items()
            if series.startswith(prefix)}


class RefusalsCounted:
    """Mixin: self.counted(before, {limit: n}) asserts /metrics counted
    exactly n more refusals of each limit named since `before`."""

    def counted(self, before: dict[str, float], expected: dict[str, int]):
        after = refusals(self.beckond)
        for limit, n in expected.items():
            self.assertIn(limit, after, sorted(after))
            self.assertEqual(after[limit] - before.get(limit, 0), n, limit)

    def assert_healthy(self):
        status, body = http_get(self.beckond, "/healthz")
        self.assertEqual(status, 200, body)
        self.assertEqual(body.splitlines()[0], "ok", body)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the peer closes or resets `sock` within `seconds` (whatever
    it sends before is read and dropped). Looks at least once."""
    deadline = time.monotonic() + seconds
    while True:
        remaining = max(0.01, deadline - time.monotonic())
        sock.settimeout(remaining)
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            if time.monotonic() >= deadline:
                return False
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            return True


def trickle_until_cut(sock: socket.socket, data: bytes) -> float | None:
    """Sends `data` a byte every 50 ms; the seconds until beckond cut the
    connection off, or None if it took the whole of it."""
    started = time.monotonic()
    for i in range(len(data)):
        try:
            sock.sendall(data[i:i + 1])
        except OSError:
            return time.monotonic() - started
        if closed_within(sock, 0.05):
            return time.monotonic() - started
    return None


def split_closed(socks: list[socket.socket], settle: float = 0.3, limit: float = 2.0):
    """(still open, closed or reset by the peer), once no more closed for
    `settle` seconds (at most `limit` seconds)."""
    closed: list[socket.socket] = []
    deadline = time.monotonic() + limit
    quiet_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < settle:
        time.sleep(0.05)
        for s in socks:
            if s in closed:
                continue
            s.setblocking(False)
            try:
                gone = not s.recv(65536)
            except BlockingIOError:
                gone = False
            except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
                gone = True
            s.setblocking(True)
            if gone:
                closed.append(s)
                quiet_since = time.monotonic()
    return [s for s in socks if s not in closed], closed


def connect_from(host: str, port: int, source: str) -> socket.socket | None:
    """A connection from `source`; None when it was reset before connect()
    returned (refused at once)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    try:
        s.connect((host, port))
    except ConnectionResetError:
        s.close()
        return None
    return s


def flood(port: int, source: str, count: int) -> tuple[list[socket.socket], int]:
    """`count` connections from `source`: (those still open once the others
    are closed or reset, how many were). The caller closes the open ones."""
    socks = [connect_from(LOOPBACK, port, source) for _ in range(count)]
    opened = [s for s in socks if s is not None]
    kept, closed = split_closed(opened)
    for s in closed:
        s.close()
    return kept, count - len(kept)


def register_bytes(user: str, via: str, transport: str = "UDP", contacts: int = 1,
                   extra: list[str] | None = None) -> bytes:
    cid = uuid.uuid4().hex
    lines = [f"REGISTER sip:{DOMAIN} SIP/2.0",
             f"Via: SIP/2.0/{transport} {via};branch=z9hG4bK{cid};rport",
             "Max-Forwards: 70",
             f"From: <sip:{user}@{DOMAIN}>;tag={cid[:8]}",
             f"To: <sip:{user}@{DOMAIN}>",
             f"Call-ID: {cid}",
             "CSeq: 1 REGISTER"]
    lines += [f"Contact: <sip:{user}@127.0.0.2:{6000 + i};transport={transport.lower()}>"
              for i in range(contacts)]
    lines += ["Expires: 300", *(extra or []), "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


class LimitDevice(SockDevice):
    """A SockDevice that also sends its own REGISTER Contacts and SUBSCRIBEs."""

    def request(self, data: bytes, cseq: str, timeout: float = 5.0):
        """Sends data; the final response for `cseq` (NOTIFYs are answered)."""
        self.send(data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self._read(deadline - time.monotonic())
            if m is None:
                break
            if m.is_request:
                self.answer(m)
                continue
            if " ".join(m.headers("CSeq")[0].split()) == cseq and status_of(m) >= 200:
                return m
        raise AssertionError(f"no final response to {cseq} within {timeout} s;"
                             f" received: {[x.raw for x in self.received]}")

    def register_contact(self, port: int, expires: int = 300):
        """A REGISTER of this device's address of record with Contact
        fake_host:port (a binding of its own), on its Call-ID."""
        self.cseq += 1
        t = self.transport.upper()
        uri = f"sip:{self.user}@{self.fake_host}:{port};transport={self.transport}"
        data = "\r\n".join([
            f"REGISTER sip:{DOMAIN} SIP/2.0",
            f"Via: SIP/2.0/{t} {self.fake_host}:5999;branch=z9hG4bK{uuid.uuid4().hex};rport",
            "Max-Forwards: 70", f"From: <{self.aor}>;tag={self.from_tag}", f"To: <{self.aor}>",
            f"Call-ID: {self.call_id}", f"CSeq: {self.cseq} REGISTER", f"Contact: <{uri}>",
            f"Expires: {expires}", "Content-Length: 0", "", ""]).encode()
        return self.request(data, f"{self.cseq} REGISTER")

    def subscribe(self, expires: int = 300, dialog: dict | None = None):
        """SUBSCRIBE to the package, a new dialog (or inside `dialog`, as
        returned before). Returns (final response, dialog)."""
        t = self.transport.upper()
        if dialog is None:
            dialog = {"call_id": uuid.uuid4().hex, "from_tag": uuid.uuid4().hex[:10],
                      "to_tag": None, "cseq": 0, "uri": f"sip:{self.user}@{DOMAIN}"}
        dialog["cseq"] += 1
        to = f"<{self.aor}>" + (f";tag={dialog['to_tag']}" if dialog["to_tag"] else "")
        data = "\r\n".join([
            f"SUBSCRIBE {dialog['uri']} SIP/2.0",
            f"Via: SIP/2.0/{t} {self.fake_host}:5999;branch=z9hG4bK{uuid.uuid4().hex};rport",
            "Max-Forwards: 70", f"From: <{self.aor}>;tag={dialog['from_tag']}", f"To: {to}",
            f"Call-ID: {dialog['call_id']}", f"CSeq: {dialog['cseq']} SUBSCRIBE",
            f"Contact: <{self.contact_uri}>", f"Event: {PACKAGE}",
            f"Accept: application/{PACKAGE}", f"Expires: {expires}", "Content-Length: 0", "",
            ""]).encode()
        response = self.request(data, f"{dialog['cseq']} SUBSCRIBE")
        if status_of(response) == 200 and not dialog["to_tag"]:
            to_header = response.headers("To")[0]
            dialog["to_tag"] = to_header.split(";tag=")[1].split(";")[0]
            contact = (response.headers("Contact") or response.headers("m"))[0]
            dialog["uri"] = contact.split("<", 1)[-1].split(">", 1)[0].split(";")[0] \
                if "<" in contact else contact.split(";")[0]
        return response, dialog


class LimitsTestCase(RefusalsCounted, FlowTestCase):
    extra_toml = LIMITS

    @classmethod
    def make_beckond(cls, workdir):
        return ConfiguredBeckond(workdir, extra_toml=cls.extra_toml)

    def dev(self, transport: str = "udp", user: str | None = None, **kw) -> LimitDevice:
        d = LimitDevice(transport, (LOOPBACK, self.beckond.sip_port), user or new_user(), **kw)
        self.devices.append(d)
        return d

    def tearDown(self):
        try:
            self.assert_alive()
        finally:
            super().tearDown()

    def assert_alive(self, transport: str = "udp"):
        """beckond is up: a new device registers, a ContactMe reaches it, and
        /healthz is good."""
        self.assertIsNone(self.beckond.proc.poll(), "beckond exited")
        d = self.dev(transport)
        self.assertOk(d.register())
        _, status = self.contact_me_answered(d.aor, rid("alive"), d)
        self.assertDelivered(status)
        self.assert_healthy()

    def assertRetryAfter(self, response, low: int, high: int) -> int:
        values = response.headers("Retry-After")
        self.assertEqual(len(values), 1, response.raw)
        seconds = int(values[0].split(";")[0].strip())
        self.assertTrue(low <= seconds <= high, f"Retry-After {seconds} not in [{low}, {high}]")
        return seconds


class SipMessages(LimitsTestCase):
    """Message size, header and Contact counts."""

    def test_oversized_udp(self):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((LOOPBACK, 0))
            pad = ["X-Pad: " + "a" * 5000]
            # Via naming the real source: the 413 comes back.
            via = f"{LOOPBACK}:{u.getsockname()[1]}"
            u.sendto(register_bytes(new_user(), via, extra=pad), (LOOPBACK, self.beckond.sip_port))
            u.settimeout(5)
            answer = u.recv(65536)
            self.assertTrue(answer.startswith(b"SIP/2.0 413 "), answer[:200])
            # Via naming a NAT'ed device's private address: nothing it can see, never a 200.
            u.sendto(register_bytes(new_user(), "127.0.0.2:5999", extra=pad),
                     (LOOPBACK, self.beckond.sip_port))
            u.settimeout(1)
            with self.assertRaises(socket.timeout):
                u.recv(65536)
        finally:
            u.close()
        # the limit is on the size: just below it is served
        d = self.dev("udp")
        self.assertOk(d.register(headers=("X-Pad: " + "a" * 3000,)))

    def test_oversized_tcp(self):
        s = socket.create_connection((LOOPBACK, self.beckond.sip_port), timeout=5)
        try:
            via = f"{LOOPBACK}:{s.getsockname()[1]}"
            s.sendall(register_bytes(new_user(), via, "TCP", extra=["X-Pad: " + "a" * 5000]))
            got = b""
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                s.settimeout(deadline - time.monotonic())
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                got += chunk
            else:
                self.fail("the connection stayed open")
            self.assertNotIn(b"SIP/2.0 200", got)
        finally:
            s.close()
        d = self.dev("tcp")
        self.assertOk(d.register(headers=("X-Pad: " + "a" * 3000,)))

    def test_too_many_headers(self):
        before = refusals(self.beckond)
        d = self.dev("udp")
        r = d.register(headers=tuple(f"X-H{i}: {i}" for i in range(45)))
        self.assertEqual(status_of(r), 513, r.raw)
        self.assertOk(d.register(headers=tuple(f"X-H{i}: {i}" for i in range(20))))
        self.counted(before, {"limits.sip_max_headers": 1})

    def test_too_many_contacts(self):
        before = refusals(self.beckond)
        self.addCleanup(lambda: self.counted(before, {"limits.sip_max_contacts": 2}))
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                d = self.dev(transport)
                via = "127.0.0.2:5999"
                data = register_bytes(d.user, via, transport.upper(), contacts=4)
                r = d.request(data, "1 REGISTER")
                self.assertEqual(status_of(r), 403, r.raw)
                self.assertIn("Contacts", r.first_line)
                data = register_bytes(d.user, via, transport.upper(), contacts=3)
                r = d.request(data, "1 REGISTER")
                self.assertOk(r)
                self.assertEqual(len(contacts(r)), 3, r.raw)


class Registrations(LimitsTestCase):
    """bindings_per_aor, subscriptions_per_device, aor_rate."""

    def test_bindings_per_aor(self):
        before = refusals(self.beckond)
        d = self.dev("udp")
        for port in range(7000, 7004):
            self.assertOk(d.register_contact(port))
        refused = d.register_contact(7004)
        self.assertEqual(status_of(refused), 503, refused.raw)
        self.assertRetryAfter(refused, 1, 300)
        # a refresh is no new binding
        self.assertOk(d.register_contact(7000))
        # room again once one is removed
        self.assertOk(d.register_contact(7001, expires=0))
        self.assertOk(d.register_contact(7004))
        self.counted(before, {"limits.bindings_per_aor": 1})

    def test_subscriptions_per_device(self):
        before = refusals(self.beckond)
        d = self.dev("tcp")
        dialogs = []
        for _ in range(2):
            r, dialog = d.subscribe()
            self.assertOk(r)
            dialogs.append(dialog)
        refused, _ = d.subscribe()
        self.assertEqual(status_of(refused), 503, refused.raw)
        self.assertRetryAfter(refused, 1, 300)
        # a refresh inside a dialog is no new subscription
        self.assertOk(d.subscribe(dialog=dialogs[0])[0])
        # room again once one ends
        self.assertOk(d.subscribe(expires=0, dialog=dialogs[1])[0])
        self.assertOk(d.subscribe()[0])
        d.notifies_within(0.5)  # the idle and terminated NOTIFYs, answered
        # ContactMe reaches the device (its newest subscription)
        _, status = self.contact_me_answered(d.aor, rid("subs"), d)
        self.assertDelivered(status)
        self.counted(before, {"limits.subscriptions_per_device": 1})

    def test_register_rate_per_aor(self):
        before = refusals(self.beckond)
        hammer = self.dev("udp")
        answers = []
        for _ in range(30):
            r = hammer.register()
            answers.append(status_of(r))
            if status_of(r) == 503:
                refused = r
        self.assertEqual(answers[:10], [200] * 10, answers)  # the burst
        self.assertIn(503, answers)
        # 2 a second refill while it hammers: a few more may pass, never most
        self.assertLess(answers.count(200), 16, answers)
        wait = self.assertRetryAfter(refused, 1, 2)
        # its SUBSCRIBE counts against the same address of record
        r, _ = hammer.subscribe()
        self.assertEqual(status_of(r), 503, r.raw)
        # another address of record from the same source address is served
        other = LimitDevice("udp", (LOOPBACK, self.beckond.sip_port), new_user())
        other.sock.close()
        other.sock = hammer.sock
        self.assertOk(other.register())
        # and after Retry-After, the first one again
        time.sleep(wait + 0.1)
        self.assertOk(hammer.register())
        self.counted(before, {"limits.aor_rate": answers.count(503) + 1})

    def test_office_behind_one_nat(self):
        """After an outage a whole office behind one NAT address (one UDP
        source, 30 addresses of record: 60 REGISTERs and SUBSCRIBEs at once,
        six times one address of record's burst) comes back at once, while
        one address of record from the same source that hammers is refused."""
        hammer = self.dev("udp")
        for _ in range(12):  # past its burst of 10 (2 a second refill meanwhile)
            last = hammer.register()
        self.assertEqual(status_of(last), 503, last.raw)
        before = refusals(self.beckond)
        office = []
        for _ in range(30):
            d = LimitDevice("udp", (LOOPBACK, self.beckond.sip_port), new_user())
            d.sock.close()
            d.sock = hammer.sock  # the one NAT address and port
            office.append(d)
        started = time.monotonic()
        for d in office:
            self.assertOk(d.register())
            self.assertOk(d.subscribe()[0])
        self.assertLess(time.monotonic() - started, 10, "the office took too long")
        # the hammering address of record is still held to its rate: on a
        # loaded machine the office may take seconds, and the hammer's
        # bucket refills 2 a second meanwhile, so it may get a few more
        # before it is refused again (at most its burst of 10)
        tries = 0
        while True:
            tries += 1
            r = hammer.register()
            if status_of(r) != 200 or tries > 10:
                break
        self.assertEqual(status_of(r), 503, r.raw)
        self.counted(before, {"limits.aor_rate": 1})
        # and an office device is reachable
        hammer.notifies_within(0.5)  # the subscriptions' state NOTIFYs, answered
        _, status = self.contact_me_answered(office[7].aor, rid("office"), hammer)
        self.assertDelivered(status)


class SipConnections(LimitsTestCase):
    """First-message, stall and idle timeouts."""

    def tearDown(self):
        for s in getattr(self, "socks", []):
            s.close()
        super().tearDown()

    def test_slow_first_request(self):
        before = refusals(self.beckond)
        self.socks = []
        s = connect_from(LOOPBACK, self.beckond.sip_port, LOOPBACK)
        self.assertIsNotNone(s)
        self.socks.append(s)
        data = register_bytes(new_user(), "127.0.0.2:5999", "TCP")
        # a byte every 50 ms: far below any per-read timeout, 13+ s in all
        cut = trickle_until_cut(s, data)
        self.assertIsNotNone(cut, "the trickling client was never cut off")
        self.assertGreater(cut, FIRST_MESSAGE_S - 0.3)
        self.assertLess(cut, FIRST_MESSAGE_S + 1.5)
        # meanwhile, and after, a TCP device is served
        t = self.dev("tcp")
        self.assertOk(t.register())
        self.counted(before, {"limits.sip_first_message_ms": 1})

    def test_stalled_message(self):
        # a registered TCP device whose next message stalls halfway
        d = self.dev("tcp")
        self.assertOk(d.register())
        data = register_bytes(d.user, "127.0.0.2:5999", "TCP")
        d.send(data[:len(data) // 2])
        started = time.monotonic()
        self.assertTrue(closed_within(d.sock, MESSAGE_TIMEOUT_S + 3),
                        "a message stalled past sip_message_timeout_ms kept its connection")
        self.assertGreater(time.monotonic() - started, MESSAGE_TIMEOUT_S - 0.3)

    def test_idle_connection(self):
        self.socks = []
        registered = self.dev("tcp")
        self.assertOk(registered.register())
        # a connection that sent a request (OPTIONS) and holds no registration
        s = connect_from(LOOPBACK, self.beckond.sip_port, LOOPBACK)
        self.assertIsNotNone(s)
        self.socks.append(s)
        cid = uuid.uuid4().hex
        s.sendall("\r\n".join([
            f"OPTIONS sip:{DOMAIN} SIP/2.0",
            f"Via: SIP/2.0/TCP 127.0.0.2:5999;branch=z9hG4bK{cid}",
            "Max-Forwards: 70", f"From: <sip:probe@{DOMAIN}>;tag=1", f"To: <sip:{DOMAIN}>",
            f"Call-ID: {cid}", "CSeq: 1 OPTIONS", "Content-Length: 0", "", ""]).encode())
        s.settimeout(5)
        self.assertTrue(s.recv(65536).startswith(b"SIP/2.0 200"))
        started = time.monotonic()
        self.assertTrue(closed_within(s, IDLE_S + 4), "an idle connection outlived sip_idle_ms")
        self.assertGreater(time.monotonic() - started, IDLE_S - 0.5)
        # the registered device's connection is held by its binding: still there
        _, status = self.contact_me_answered(registered.aor, rid("idle"), registered)
        self.assertDelivered(status)


class SipConnectionFlood(LimitsTestCase):
    """Connection counts (sip_first_message_ms 4 s here: time to count)."""

    extra_toml = LIMITS.replace("sip_first_message_ms = 1500", "sip_first_message_ms = 4000")
    first_message_s = 4.0

    def tearDown(self):
        for s in getattr(self, "socks", []):
            s.close()
        super().tearDown()

    def flood(self, source: str, count: int) -> tuple[list[socket.socket], int]:
        """`count` connections from `source`: (kept open, how many reset at once)."""
        kept, reset = flood(self.beckond.sip_port, source, count)
        self.socks += kept
        return kept, reset

    def test_connection_flood(self):
        before = refusals(self.beckond)
        self.socks = []
        started = time.monotonic()
        kept2, reset2 = self.flood("127.0.0.2", 12)
        self.assertEqual((len(kept2), reset2), (8, 4), "sip_connections_per_source 8")
        # UDP devices are served throughout
        d = self.dev("udp")
        self.assertOk(d.register())
        kept3, _ = self.flood("127.0.0.3", 12)
        kept4, _ = self.flood("127.0.0.4", 12)
        self.assertEqual(len(kept3), 8)
        self.assertEqual(len(kept4), 4, "sip_connections 20 in all")
        self.assertLess(time.monotonic() - started, self.first_message_s,
                        "the flood took too long to judge")
        # a fifth source finds no room
        s = connect_from(LOOPBACK, self.beckond.sip_port, LOOPBACK)
        if s is not None:
            self.socks.append(s)
            self.assertTrue(closed_within(s, 1.0), "a connection past sip_connections was kept")
        _, status = self.contact_me_answered(d.aor, rid("flood-udp"), d)
        self.assertDelivered(status)
        # the flood's connections never sent a request: closed after
        # sip_first_message_ms; a TCP device then gets in and is served
        for s in kept2 + kept3 + kept4:
            self.assertTrue(closed_within(s, started + self.first_message_s + 2 - time.monotonic()),
                            "a silent connection outlived sip_first_message_ms")
        time.sleep(0.3)
        t = self.dev("tcp")
        self.assertOk(t.register())
        _, status = self.contact_me_answered(t.aor, rid("flood-tcp"), t)
        self.assertDelivered(status)
        after = refusals(self.beckond)
        self.assertEqual(after["limits.sip_connections_per_source"]
                         - before.get("limits.sip_connections_per_source", 0), 8)
        self.assertIn(after["limits.sip_connections"] - before.get("limits.sip_connections", 0),
                      (8, 9))  # 8 from 127.0.0.4, and the fifth source's if it was refused
        self.assertEqual(after["limits.sip_first_message_ms"]
                         - before.get("limits.sip_first_message_ms", 0), 20)


class SoapLimits(LimitsTestCase):
    """Body size, slow clients and connection counts on the SOAP listener."""

    def post(self, body_size: int, chunked: bool, source: str = LOOPBACK) -> bytes:
        """A ContactMe padded with `body_size` spaces; the answer's first line."""
        body = ENVELOPE_HEAD + b" " * body_size + ENVELOPE_TAIL
        s = connect_from(LOOPBACK, self.beckond.soap_port, source)
        self.assertIsNotNone(s, f"the connection from {source} was refused")
        try:
            head = b"POST / HTTP/1.1\r\nHost: beckond\r\nContent-Type: text/xml\r\n"
            if chunked:
                s.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
                try:
                    for i in range(0, len(body), 4096):
                        piece = body[i:i + 4096]
                        s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                    s.sendall(b"0\r\n\r\n")
                except OSError:
                    pass  # refused before the end: the answer is there to read
            else:
                try:
                    s.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                except OSError:
                    pass
            s.settimeout(10)
            answer = s.recv(65536)
            return answer.split(b"\r\n", 1)[0] + (b" UnknownDevice" if b"UnknownDevice" in answer
                                                   else b"")
        finally:
            s.close()

    def test_body_size(self):
        before = refusals(self.beckond)
        self.addCleanup(lambda: self.counted(before, {"soap.max_body_bytes": 4}))
        for chunked in (False, True):
            with self.subTest(chunked=chunked):
                small = self.post(MAX_BODY - 1024, chunked)
                self.assertEqual(small, b"HTTP/1.1 500 Internal Server Error UnknownDevice",
                                 "below the limit, the request is served")
                self.assertEqual(self.post(MAX_BODY + 4096, chunked),
                                 b"HTTP/1.1 413 Request Entity Too Large")
                self.assertEqual(self.post(4 * MAX_BODY, chunked),
                                 b"HTTP/1.1 413 Request Entity Too Large")

    def test_slow_client(self):
        before = refusals(self.beckond)
        s = connect_from(LOOPBACK, self.beckond.soap_port, LOOPBACK)
        self.assertIsNotNone(s)
        body = ENVELOPE_HEAD + ENVELOPE_TAIL
        # The header at once (one that trickles waits for no worker, and is
        # reset after limits.soap_header_timeout_ms: test_slow_peers.py);
        # the body trickles.
        s.sendall(b"POST / HTTP/1.1\r\nHost: beckond\r\nContent-Type: text/xml\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        data = body
        served = []
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            def others():  # zeep is served while the slow client trickles
                d = self.dev("udp")
                self.assertOk(d.register())
                served.append(self.contact_me_answered(d.aor, rid("slow-soap"), d)[1])
            other = pool.submit(others)
            try:
                cut = trickle_until_cut(s, data)  # a byte every 50 ms: 10+ s in all
            finally:
                s.close()
            other.result(timeout=30)
        self.assertIsNotNone(cut, "the trickling client was never cut off")
        self.assertGreater(cut, SOAP_REQUEST_S - 0.3)
        self.assertLess(cut, SOAP_REQUEST_S + 1.5)
        self.assertDelivered(served[0])
        self.counted(before, {"limits.soap_request_timeout_ms": 1})

    def test_connection_flood(self):
        before = refusals(self.beckond)
        kept, reset = flood(self.beckond.soap_port, "127.0.0.2", 10)
        try:
            self.assertEqual((len(kept), reset), (6, 4), "soap_connections_per_source 6")
            # another source is served meanwhile
            d = self.dev("udp")
            self.assertOk(d.register())
            _, status = self.contact_me_answered(d.aor, rid("soap-flood"), d)
            self.assertDelivered(status)
        finally:
            for s in kept:
                s.close()
        time.sleep(0.3)
        # after the flood the source is served again
        self.assertEqual(self.post(100, False, source="127.0.0.2"),
                         b"HTTP/1.1 500 Internal Server Error UnknownDevice")
        self.counted(before, {"limits.soap_connections_per_source": 4})

    def test_connections_in_all(self):
        before = refusals(self.beckond)
        kept2, reset2 = flood(self.beckond.soap_port, "127.0.0.2", 6)
        kept3, reset3 = flood(self.beckond.soap_port, "127.0.0.3", 6)
        try:
            self.assertEqual((len(kept2), reset2), (6, 0))
            # soap_connections 10 in all; the tests' own SOAP clients
            # (127.0.0.1) may still hold up to two idle keep-alive ones.
            self.assertIn(len(kept3), (2, 3, 4), "soap_connections 10 in all")
            self.assertEqual(len(kept3) + reset3, 6)
        finally:
            for s in kept2 + kept3:
                s.close()
        time.sleep(0.3)
        self.assertEqual(self.post(100, False, source="127.0.0.3"),
                         b"HTTP/1.1 500 Internal Server Error UnknownDevice")
        self.counted(before, {"limits.soap_connections": reset3})


APP_A = ("app-a", "secret-a")
APP_B = ("app-b", "secret-b")


class QueueLimits(RefusalsCounted, FlowTestCase):
    """queued_requests_per_app_server 3 and queued_requests 5, two
    application servers (HTTPS with HTTP Basic)."""

    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = Pki(workdir / "pki")
        apps = [{"name": name, "basic_auth": basic_auth(name, pw), "callback_servers": ["*:*"]}
                for name, pw in (APP_A, APP_B)]
        return ConfiguredBeckond(workdir, tls=cls.pki.server_tls("optional"), app_servers=apps,
                                 extra_toml="[limits]\nqueued_requests = 5\n"
                                            "queued_requests_per_app_server = 3\n")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clients = {a: harness.zeep_client(cls.beckond, auth=a) for a in (APP_A, APP_B)}

    @classmethod
    def tearDownClass(cls):
        for c in getattr(cls, "clients", {}).values():
            c.transport.session.close()
        super().tearDownClass()

    def zeep(self):
        return self.clients[APP_A]

    def queue(self, app, user: str, request_id: str):
        return self.clients[app].service.ContactMe(deviceId=user, requestId=request_id,
                                                    queueSeconds=120, waitMs=0)

    def test_queue_full_then_delivered(self):
        before = refusals(self.beckond)
        user = new_user()
        accepted = []
        for n in range(3):
            self.assertEqual(self.queue(APP_A, user, f"qa-{n}").state, "queued")
            accepted.append(f"qa-{n}")
        message = self.assertSoapFault("Overloaded", self.queue, APP_A, user, "qa-3")
        self.assertIn("queued_requests_per_app_server", message)
        # the same request again is no new request: its status
        self.assertEqual(self.queue(APP_A, user, "qa-0").state, "queued")
        for n in range(2):
            self.assertEqual(self.queue(APP_B, user, f"qb-{n}").state, "queued")
            accepted.append(f"qb-{n}")
        message = self.assertSoapFault("Overloaded", self.queue, APP_B, user, "qb-2")
        self.assertIn("(limits.queued_requests)", message)
        # the device registers: every acknowledged request reaches it, once
        d = self.dev("udp", user=user)
        self.assertOk(d.register())
        def notifies():  # everything the device read, one per transaction (no UDP resends)
            out = {}
            for m in d.received:
                if m.is_request and m.method == "NOTIFY":
                    out.setdefault((tuple(m.headers("Call-ID")), tuple(m.headers("CSeq"))), m)
            return list(out.values())
        deadline = time.monotonic() + 10
        while len(notifies()) < len(accepted) and time.monotonic() < deadline:
            d.notifies_within(0.3)  # reads and answers
        d.notifies_within(0.5)  # and no more come
        got = [request_id_of(n) for n in notifies()]
        self.assertEqual(sorted(got), sorted(accepted), [n.raw for n in notifies()])
        for app, prefix in ((APP_A, "qa"), (APP_B, "qb")):
            for request_id in (r for r in accepted if r.startswith(prefix)):
                status = self.clients[app].service.GetContactRequest(requestId=request_id)
                self.assertEqual(status.state, "delivered", status)
        # and new requests are taken again
        _, status = self.contact_me_answered(d.aor, "qa-after", d)
        self.assertDelivered(status)
        self.counted(before, {"limits.queued_requests_per_app_server": 1,
                              "limits.queued_requests": 1})
        self.assert_healthy()


if __name__ == "__main__":
    unittest.main()
