"""Many slow or stalled peers at once cannot exhaust beckond, against
beckond started for real (issue 17).

200 sockets from four other loopback addresses (127.0.0.2-5), all at once:
on the SOAP listener 50 that connect and say nothing and 50 that send their
HTTP header a byte every 0.2 s; on SIP over TLS 50 silent and 50 that stop
after half a ClientHello. Meanwhile a device registers over UDP and over
TLS, and ContactMe (zeep, a new connection, 8 SOAP workers) reaches each
within seconds: no stalled peer holds a worker (the SOAP waiting room,
limits.soap_header_timeout_ms) or the SIP thread (Sofia's TLS is
non-blocking; limits.sip_first_message_ms). After their timeouts every
stalled connection is closed or reset, and each is counted in /metrics.

The same over HTTPS: 40 silent connections and 40 that stop inside the TLS
ClientHello hold no worker; ContactMe over HTTPS is answered meanwhile; all
80 are reset after limits.soap_header_timeout_ms.
"""

from __future__ import annotations

import socket
import threading
import time

from devices import ConfiguredBeckond
from harness import LOOPBACK, Pki, TlsBeckond
from test_limits import closed_within, refusals
from test_outbound import FlowTestCase, rid
from test_tls import tls_device

HEADER_S = 2.0
FIRST_MESSAGE_S = 2.0
SOURCES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
LIMITS = f"""
[limits]
soap_header_timeout_ms = {int(HEADER_S * 1000)}
sip_first_message_ms = {int(FIRST_MESSAGE_S * 1000)}
"""
HALF_CLIENT_HELLO = bytes.fromhex("16030102000100")  # a record of 512 bytes, 2 sent


def connect(port: int, source: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect((LOOPBACK, port))
    return s


def peers(port: int, count: int, first: bytes = b"") -> list[socket.socket]:
    out = []
    for i in range(count):
        s = connect(port, SOURCES[i % len(SOURCES)])
        if first:
            s.sendall(first)
        out.append(s)
    return out


class Trickler(threading.Thread):
    """Sends each socket's HTTP header a byte every `interval` seconds, all
    in step, until told to stop or the socket is closed by beckond."""

    HEADER = b"POST / HTTP/1.1\r\nHost: beckond\r\nContent-Type: text/xml\r\nContent-Length: 10\r\n\r\n"

    def __init__(self, socks: list[socket.socket], interval: float = 0.2):
        super().__init__(daemon=True)
        self.socks, self.interval = list(socks), interval
        self.halt = threading.Event()

    def run(self):
        for i in range(len(self.HEADER)):
            if self.halt.wait(self.interval) or not self.socks:
                return
            for s in list(self.socks):
                try:
                    s.sendall(self.HEADER[i:i + 1])
                except OSError:
                    self.socks.remove(s)


class SlowPeersTestCase(FlowTestCase):
    def hold(self, socks: list[socket.socket]) -> list[socket.socket]:
        for s in socks:
            self.addCleanup(s.close)
        return socks

    def assertServedQuickly(self, started_within: float = 6.0):
        """A UDP device registers and its ContactMe is delivered, quickly."""
        started = time.monotonic()
        d = self.dev("udp")
        self.assertOk(d.register())
        _, status = self.contact_me_answered(d.aor, rid("slow-peers"), d)
        self.assertDelivered(status)
        took = time.monotonic() - started
        self.assertLess(took, started_within, f"served only after {took:.1f} s")

    def assertAllClosed(self, socks: list[socket.socket], by: float, what: str):
        for s in socks:
            self.assertTrue(closed_within(s, max(0.05, by - time.monotonic())), what)


class SlowPeers(SlowPeersTestCase):
    """HTTP SOAP and SIP over TLS."""

    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = Pki(workdir / "pki")
        b = TlsBeckond(workdir, cls.pki)
        b.config.write_text(b.config.read_text() + LIMITS)
        return b

    def test_two_hundred_stalled_peers_hold_nothing(self):
        before = refusals(self.beckond)
        started = time.monotonic()
        soap_silent = self.hold(peers(self.beckond.soap_port, 50))
        soap_slow = self.hold(peers(self.beckond.soap_port, 50))
        sip_silent = self.hold(peers(self.beckond.tls_port, 50))
        sip_half = self.hold(peers(self.beckond.tls_port, 50, HALF_CLIENT_HELLO))
        trickler = Trickler(soap_slow)
        trickler.start()
        self.addCleanup(trickler.halt.set)
        self.assertLess(time.monotonic() - started, 1.5, "too slow to judge")
        # Served meanwhile: UDP and TLS devices, ContactMe over a new SOAP
        # connection (each of the 100 stalled ones would hold a worker for
        # soap.recv_timeout_ms, 5 s, if they were given one: 8 workers).
        self.assertServedQuickly()
        self.assertEqual(tls_device(self, self.beckond.tls_port, self.pki.ca).register(),
                         "SIP/2.0 200 OK")
        self.assertLess(time.monotonic() - started, min(HEADER_S, FIRST_MESSAGE_S),
                        "too slow to judge: the stalled peers may be gone already")
        # Then every stalled connection goes.
        self.assertAllClosed(soap_silent + soap_slow, started + HEADER_S + 3,
                             "a stalled SOAP connection outlived soap_header_timeout_ms")
        self.assertAllClosed(sip_silent + sip_half, started + FIRST_MESSAGE_S + 3,
                             "a stalled TLS connection outlived sip_first_message_ms")
        self.assertGreater(time.monotonic() - started, HEADER_S - 0.3)
        trickler.halt.set()
        after = refusals(self.beckond)
        for limit, n in (("limits.soap_header_timeout_ms", 100),
                         ("limits.sip_first_message_ms", 100)):
            self.assertEqual(after.get(limit, 0) - before.get(limit, 0), n, limit)
        self.assertServedQuickly()


class SlowHttpsPeers(SlowPeersTestCase):
    """HTTPS SOAP: silent, and stalled inside the ClientHello."""

    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = Pki(workdir / "pki")
        return ConfiguredBeckond(workdir, tls=cls.pki.server_tls("none"), extra_toml=LIMITS)

    def test_stalled_tls_handshakes_hold_no_worker(self):
        before = refusals(self.beckond)
        started = time.monotonic()
        silent = self.hold(peers(self.beckond.soap_port, 40))
        half = self.hold(peers(self.beckond.soap_port, 40, HALF_CLIENT_HELLO))
        self.assertServedQuickly()
        self.assertLess(time.monotonic() - started, HEADER_S, "too slow to judge")
        self.assertAllClosed(silent + half, started + HEADER_S + 3,
                             "a stalled HTTPS connection outlived soap_header_timeout_ms")
        after = refusals(self.beckond)
        self.assertEqual(after.get("limits.soap_header_timeout_ms", 0)
                         - before.get("limits.soap_header_timeout_ms", 0), 80)
        self.assertServedQuickly()
