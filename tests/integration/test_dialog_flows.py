"""A TCP connection that carries a proxied dialog is not cut for being idle
(limits.sip_idle_ms) while the dialog lives, against beckond started for
real.

The caller never registers: it calls over its own TCP connection through
the proxy, a UDP callee (registered) answers, the caller ACKs, and then no
SIP message passes for longer than sip_idle_ms (1.5 s here; a probe
connection that only sent an OPTIONS is closed meanwhile, so the idle timer
did run). The caller's connection is still open 7 s later (without a hold, the
INVITE's transactions kept it some 5 s after the ACK), and the callee's BYE
reaches the caller over that very connection; the caller's 200 goes back to
the callee. Once the BYE has passed, the connection is idle like any other
and is closed.
"""

from __future__ import annotations

import socket
import time
import uuid

from calls import ProxyTestCase
from harness import DOMAIN, LOOPBACK, SipMessage
from test_limits import closed_within

IDLE_S = 1.5
HELD_S = 7.0  # how long the dialog's connection is seen to stay past the probe's
CALLER_NAT = "127.0.0.2:5990"


class TcpCaller:
    """An unregistered caller on one TCP connection to beckond."""

    def __init__(self, port: int):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=10)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def send(self, lines: list[str], body: bytes = b"") -> None:
        head = "\r\n".join(lines + [f"Content-Length: {len(body)}", "", ""]).encode()
        self.sock.sendall(head + body)

    def recv(self, starts: str, timeout: float = 5.0) -> SipMessage:
        deadline = time.monotonic() + timeout
        while True:
            self.buffer = self.buffer.lstrip(b"\r\n")
            if b"\r\n\r\n" in self.buffer:
                head, rest = self.buffer.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() in (b"content-length", b"l"):
                        length = int(value.strip())
                if len(rest) >= length:
                    self.buffer = rest[length:]
                    m = SipMessage("received", "TCP", head + b"\r\n\r\n" + rest[:length])
                    if m.first_line.startswith(starts):
                        return m
                    continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"caller: nothing starting {starts!r} within {timeout} s")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"beckond closed the caller's connection waiting for {starts!r}")
            self.buffer += chunk


def header(m: SipMessage, name: str) -> str:
    return m.headers(name)[0]


class DialogKeepsItsConnection(ProxyTestCase):
    extra_toml = f"[limits]\nsip_idle_ms = {int(IDLE_S * 1000)}\n"

    def test_an_unregistered_callers_tcp_dialog_outlives_sip_idle_ms(self):
        callee = self.udp_peer()
        callee.register("bob")
        caller = TcpCaller(self.beckond.sip_port)
        self.addCleanup(caller.close)
        call_id, ftag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
        contact = f"sip:alice@{CALLER_NAT};transport=tcp"
        caller.send([f"INVITE sip:bob@{DOMAIN} SIP/2.0",
                     f"Via: SIP/2.0/TCP {CALLER_NAT};branch=z9hG4bK{uuid.uuid4().hex};rport",
                     "Max-Forwards: 70", f"From: <sip:alice@{DOMAIN}>;tag={ftag}",
                     f"To: <sip:bob@{DOMAIN}>", f"Call-ID: {call_id}", "CSeq: 1 INVITE",
                     f"Contact: <{contact}>"])
        invite = callee.recv("INVITE ")
        record_route = [v.strip() for h in invite.headers("Record-Route") for v in h.split(",")]
        self.assertTrue(record_route, invite.raw)
        callee_contact = f"sip:bob@{callee.hostport}"
        callee.reply(invite, 200, "OK", to_tag="bobtag", extra=[f"Contact: <{callee_contact}>"])
        ok = caller.recv("SIP/2.0 200")
        self.assertIn("tag=bobtag", header(ok, "To"))
        routes = [v.strip() for h in ok.headers("Record-Route") for v in h.split(",")][::-1]
        caller.send([f"ACK {callee_contact} SIP/2.0",
                     f"Via: SIP/2.0/TCP {CALLER_NAT};branch=z9hG4bK{uuid.uuid4().hex};rport",
                     "Max-Forwards: 70", *[f"Route: {r}" for r in routes],
                     f"From: <sip:alice@{DOMAIN}>;tag={ftag}",
                     f"To: <sip:bob@{DOMAIN}>;tag=bobtag", f"Call-ID: {call_id}",
                     "CSeq: 1 ACK"])
        callee.recv("ACK ")

        # No SIP on the caller's connection for longer than sip_idle_ms: a
        # probe that sent one OPTIONS after the ACK is closed for being idle.
        probe = socket.create_connection((LOOPBACK, self.beckond.sip_port), timeout=5)
        self.addCleanup(probe.close)
        pid = uuid.uuid4().hex
        probe.sendall("\r\n".join([
            f"OPTIONS sip:{DOMAIN} SIP/2.0", f"Via: SIP/2.0/TCP 127.0.0.2:5998;branch=z9hG4bK{pid}",
            "Max-Forwards: 70", "From: <sip:probe@example.com>;tag=p", f"To: <sip:{DOMAIN}>",
            f"Call-ID: {pid}", "CSeq: 1 OPTIONS", "Content-Length: 0", "", ""]).encode())
        self.assertTrue(probe.recv(65536).startswith(b"SIP/2.0 200"))
        self.assertTrue(closed_within(probe, IDLE_S + 5), "the idle probe was never closed")
        # Without a hold, the INVITE's transactions (which nta keeps a few
        # seconds after the 2xx) are the last to hold it: closed about 5 s
        # after the ACK, 3.5 s after the probe.
        self.assertFalse(closed_within(caller.sock, HELD_S),
                         "the caller's connection was closed while its dialog lived")

        # The callee hangs up: its BYE reaches the caller over that connection.
        callee.send_raw("\r\n".join([
            f"BYE {contact} SIP/2.0",
            f"Via: SIP/2.0/UDP {callee.hostport};branch=z9hG4bK{uuid.uuid4().hex};rport",
            "Max-Forwards: 70", *[f"Route: {r}" for r in record_route],
            "From: <sip:bob@example.com>;tag=bobtag", f"To: <sip:alice@{DOMAIN}>;tag={ftag}",
            f"Call-ID: {call_id}", "CSeq: 1 BYE", "Content-Length: 0", "", ""]).encode())
        bye = caller.recv("BYE ")
        self.assertEqual(bye.first_line, f"BYE {contact} SIP/2.0")
        head = bye.head.decode().split("\r\n")[1:]
        keep = ("via", "from", "to", "call-id", "cseq")
        caller.send(["SIP/2.0 200 OK",
                     *[h for h in head if h.split(":", 1)[0].strip().lower() in keep]])
        self.assertTrue(callee.recv("SIP/2.0 ").first_line.startswith("SIP/2.0 200"))
        # The dialog is over: the connection is idle like any other.
        self.assertTrue(closed_within(caller.sock, IDLE_S + 10),
                        "the connection outlived its dialog and its transactions")
