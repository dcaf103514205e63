"""RFC 5626 keep-alives, against beckond started for real.

- STUN on UDP (RFC 5626 8, RFC 5389): a Binding request on the SIP port,
  from a registered device's own socket, gets a Binding success response
  with the same transaction id and the device's address and port in
  XOR-MAPPED-ADDRESS; the device then gets its ContactMe over that flow.
  Hostile or foreign STUN-looking datagrams (short, wrong magic cookie, a
  length beyond the datagram, a response, an unknown comprehension-required
  attribute) get no answer at all, and beckond's log says nothing of STUN
  (Sofia's STUN server, which leaked and wrote to stderr, stays unused).
- CRLF on TCP and TLS (RFC 5626 4.4.1): a double CRLF ping gets a single
  CRLF pong on the same connection, which then still carries a REGISTER.
"""

from __future__ import annotations

import socket
import ssl
import struct
import uuid

from harness import LOOPBACK, Pki, TlsBeckond
from test_outbound import FlowTestCase, rid

COOKIE = 0x2112A442


def binding_request(transaction: bytes, attributes: bytes = b"", length: int | None = None,
                    kind: int = 0x0001, cookie: int = COOKIE) -> bytes:
    size = len(attributes) if length is None else length
    return struct.pack("!HHI", kind, size, cookie) + transaction + attributes


def mapped_address(answer: bytes, transaction: bytes) -> tuple[str, int]:
    """The XOR-MAPPED-ADDRESS (IPv4) of a Binding success response."""
    kind, length, cookie = struct.unpack("!HHI", answer[:8])
    assert kind == 0x0101, f"not a Binding success response: {answer!r}"
    assert cookie == COOKIE and answer[8:20] == transaction, f"another transaction: {answer!r}"
    assert length == len(answer) - 20, f"length {length} for {len(answer)} bytes"
    at = 20
    while at + 4 <= len(answer):
        attr, size = struct.unpack("!HH", answer[at:at + 4])
        value = answer[at + 4:at + 4 + size]
        if attr == 0x0020:
            family, xport = struct.unpack("!xBH", value[:4])
            assert family == 0x01, f"family {family}"
            port = xport ^ (COOKIE >> 16)
            address = bytes(a ^ b for a, b in zip(value[4:8], struct.pack("!I", COOKIE)))
            return socket.inet_ntoa(address), port
        at += 4 + ((size + 3) & ~3)
    raise AssertionError(f"no XOR-MAPPED-ADDRESS in {answer!r}")


class StunKeepAlive(FlowTestCase):
    """A UDP device's STUN keep-alives, and datagrams that only look like STUN."""

    def test_binding_request_gets_the_mapped_address_over_the_flow(self):
        offset = len(self.beckond.log())
        d = self.dev("udp")
        self.assertOk(d.register())
        for _ in range(3):  # as a device does every keep-alive interval
            transaction = uuid.uuid4().bytes[:12]
            d.sock.sendto(binding_request(transaction), d.server)
            d.sock.settimeout(5)
            answer, sender = d.sock.recvfrom(65535)
            self.assertEqual(sender, d.server, "the answer came from another socket")
            self.assertEqual(mapped_address(answer, transaction), (LOOPBACK, d.local_port))
        _, status = self.contact_me_answered(d.aor, rid("keepalive"), d)
        self.assertDelivered(status)
        self.assertNotIn("stun", self.beckond.log()[offset:].lower())

    def test_hostile_stun_datagrams_get_no_answer(self):
        offset = len(self.beckond.log())
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LOOPBACK, 0))
        self.addCleanup(s.close)
        server = (LOOPBACK, self.beckond.sip_port)
        t = uuid.uuid4().bytes[:12]
        hostile = [
            b"\x00\x01\x00",                                      # short
            binding_request(t)[:19],                              # one byte short of a header
            binding_request(t, cookie=0xDEADBEEF),                # wrong cookie (RFC 3489)
            binding_request(t, length=0xB18E),                    # a length beyond the datagram
            binding_request(t, b"\x80\x28\x00\x04", length=4),    # attribute beyond the message
            binding_request(t, kind=0x0101),                      # a response
            binding_request(t, kind=0x0111),                      # an error response
            binding_request(t, kind=0x0011),                      # an indication
            binding_request(t, b"\x00\x06\x00\x04user"),          # USERNAME: comprehension-required
            binding_request(t, b"\x00" * 1024),                   # far larger than a keep-alive
        ]
        for datagram in hostile:
            s.sendto(datagram, server)
        # UDP on loopback keeps the order: the first answer is to this one
        good = uuid.uuid4().bytes[:12]
        s.sendto(binding_request(good), server)
        s.settimeout(5)
        answer = s.recv(65535)
        self.assertEqual(mapped_address(answer, good), (LOOPBACK, s.getsockname()[1]),
                         "a hostile datagram was answered")
        self.assertNotIn("stun", self.beckond.log()[offset:].lower())
        d = self.dev("udp")
        self.assertOk(d.register())


def crlf_pong(sock, timeout: float = 5.0) -> bytes:
    """Sends the RFC 5626 double-CRLF ping; the bytes that come back first."""
    sock.sendall(b"\r\n\r\n")
    sock.settimeout(timeout)
    return sock.recv(65536)


class CrlfKeepAlive(FlowTestCase):
    """TCP and TLS: the double-CRLF ping and its CRLF pong."""

    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = Pki(workdir / "pki")
        return TlsBeckond(workdir, cls.pki)

    def test_tcp_ping_gets_a_pong_and_the_flow_goes_on(self):
        d = self.dev("tcp")
        self.assertOk(d.register())
        self.assertEqual(crlf_pong(d.sock), b"\r\n")
        self.assertOk(d.register())
        _, status = self.contact_me_answered(d.aor, rid("crlf-tcp"), d)
        self.assertDelivered(status)

    def test_tls_ping_gets_a_pong(self):
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        context.check_hostname = False
        raw = socket.create_connection((LOOPBACK, self.beckond.tls_port), timeout=10)
        with context.wrap_socket(raw) as s:
            self.assertEqual(crlf_pong(s), b"\r\n")
            self.assertEqual(crlf_pong(s), b"\r\n")
            cid = uuid.uuid4().hex
            s.sendall("\r\n".join([
                f"OPTIONS sip:{LOOPBACK} SIP/2.0",
                f"Via: SIP/2.0/TLS 127.0.0.2:5999;branch=z9hG4bK{cid}",
                "Max-Forwards: 70", "From: <sip:probe@example.com>;tag=1",
                "To: <sip:example.com>", f"Call-ID: {cid}", "CSeq: 1 OPTIONS",
                "Content-Length: 0", "", ""]).encode())
            self.assertTrue(s.recv(65536).startswith(b"SIP/2.0 200"))
