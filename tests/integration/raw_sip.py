"""A SIP user agent on a raw socket: bytes in, bytes out (UDP, or one TCP
connection of its own). For tests that write messages no user agent would
(test_hostile_bytes.py) or exactly as a phone wrote them (test_registrar.py).
"""
from __future__ import annotations

import os
import re
import socket
import time

from harness import DOMAIN, LOOPBACK


class RawDevice:
    """One SIP user agent on a UDP socket or a TCP connection of its own."""

    def __init__(self, port: int, transport: str):
        self.transport = transport
        self.server = (LOOPBACK, port)
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((LOOPBACK, 0))
        else:
            self.sock = socket.create_connection(self.server, timeout=5)
        self.sock.settimeout(5)
        self.buffer = b""
        self.cseq = 0

    def close(self):
        self.sock.close()

    def send(self, data: bytes):
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def read(self, deadline: float) -> bytes:
        """One whole message, or b"" at the deadline."""
        while True:
            if self.transport == "udp":
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data, _ = self.sock.recvfrom(65535)
                except socket.timeout:
                    return b""
                return data
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", self.buffer[:end])
                size = end + 4 + (int(m.group(1)) if m else 0)
                if len(self.buffer) >= size:
                    msg, self.buffer = self.buffer[:size], self.buffer[size:]
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return b""
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return b""
            if not chunk:
                return b""
            self.buffer += chunk

    def request(self, method: bytes, headers: list[bytes], ruri: bytes = b"sip:" + DOMAIN.encode(),
                timeout: float = 5.0) -> bytes:
        """Sends one request (over UDP again every 0.5 s) and returns its
        final answer (b"" if none came). Requests beckond sends meanwhile
        (a NOTIFY) are answered 200."""
        self.cseq += 1
        via = b"SIP/2.0/" + self.transport.upper().encode() + b" 127.0.0.2:5999;rport;branch=z9hG4bK" \
            + os.urandom(6).hex().encode()
        raw = b"\r\n".join([method + b" " + ruri + b" SIP/2.0", b"Via: " + via, b"Max-Forwards: 70"]
                           + headers + [b"CSeq: %d " % self.cseq + method, b"Content-Length: 0", b"", b""])
        deadline = time.monotonic() + timeout
        sent_at = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() - sent_at > 0.5 and (self.transport == "udp" or sent_at == 0.0):
                self.send(raw)
                sent_at = time.monotonic()
            msg = self.read(min(deadline, time.monotonic() + 0.5))
            if not msg:
                continue
            if not msg.startswith(b"SIP/2.0 "):
                self.answer(msg)
                continue
            status = int(msg[8:11])
            if status >= 200 and (b"CSeq: %d " % self.cseq) in msg:
                return msg
        return b""

    def answer(self, request: bytes, status: bytes = b"200 OK"):
        head = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        keep = [h for h in head[1:] if re.match(rb"(?i)(via|from|to|call-id|cseq|[vftik])\s*:", h)]
        self.send(b"SIP/2.0 " + status + b"\r\n" + b"\r\n".join(keep) + b"\r\nContent-Length: 0\r\n\r\n")

    def wait_notify(self, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.read(deadline)
            if msg.startswith(b"NOTIFY "):
                self.answer(msg)
                return msg
        return b""


def contact_header(answer: bytes) -> bytes:
    """The Contact header fields of an answer, expires values left out."""
    lines = [line for line in answer.split(b"\r\n") if re.match(rb"(?i)(contact|m)\s*:", line)]
    return re.sub(rb";expires=\d+", b"", b"\r\n".join(lines))


def status_of(answer: bytes) -> int:
    return int(answer[8:11]) if answer.startswith(b"SIP/2.0 ") else 0
