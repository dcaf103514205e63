"""A mutation test of our own (issue 16): thousands of deterministic zzuf
mutations of valid messages against one running beckond, which must be
alive and serving afterwards.

zzuf (Debian `zzuf`) flips bits of its standard input: the test hands it
many copies of one valid message (each numbered, all of one length: zzuf
keeps the length) and cuts its output back into messages, one distinct
mutation each. Fixed seeds and ratios: the same run gives the same bytes.
The mutated messages are kept in the work directory (kept on failure) as
`mutations/NAME-sSEED-rRATIO.bin`, each message MESSAGE_LENGTH bytes (in the
file name), in the order they were sent.

- SIP over UDP: REGISTER (Path, GRUU, outbound, +sip.instance, Accept,
  User-Agent), SUBSCRIBE (Event with an id, Accept) and INVITE (an SDP
  body, to a user whose flow is gone) sent as fast as beckond takes them,
  without waiting for answers: after every batch an OPTIONS (Max-Forwards
  0, which beckond answers itself) must be answered, so that no batch is
  lost in a full socket buffer and the run is bounded.
- SIP over TCP: the same, a batch of mutations per connection (one broken
  Content-Length swallows the rest of its connection, as it would for a
  device), then an OPTIONS on a fresh connection every few batches.
- SOAP over HTTP: ContactMe requests, each on its own connection (a few at
  a time), read to the end: an HTTP answer or a close, never the fault of
  an exception nobody expected (`internal error`).

Afterwards the same beckond process (pid) is running, /healthz answers 200,
/metrics counts no exception caught (notifier/boundary.h), the log is
UTF-8, and a fresh device registers and gets the NOTIFY of a ContactMe. At exit
beckond stops with status 0 (the harness checks it: in the ASan build a
sanitizer report fails it).

A crash: the test names the batch being sent when beckond ended, by seed,
ratio and file. Run with /usr/bin/python3.
"""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import test_outbound as outbound
from devices import ConfiguredBeckond
from harness import DOMAIN, LOOPBACK, PACKAGE, NS, new_user

ZZUF = shutil.which("zzuf") or "/usr/bin/zzuf"

# Mutations of each message per (seed, ratio), and how they are sent.
UDP_COPIES = 800
UDP_BATCH = 200
TCP_COPIES = 240
TCP_PER_CONNECTION = 24
TCP_PING_EVERY = 5  # connections
SOAP_COPIES = 500
SOAP_PARALLEL = 8
# (seed, ratio of bits flipped, bytes zzuf leaves alone): light mutations
# that keep the lines (deeper in the parsers), heavier ones that do not.
MUTATIONS = [(1, "0.0004", "\\r\\n:"), (2, "0.002", "\\r\\n:"), (3, "0.01", "")]

USER = "7546600001"       # registered by the sender's socket: REGISTER, SUBSCRIBE, ContactMe
CALLEE = "7546600003"     # registered from a socket closed since: INVITEs go there
INSTANCE = "urn:uuid:9e1f4a3c-0000-4000-8000-00000000a001"

# Every copy is numbered (NNNNNN, six digits: all copies of one length).
REGISTER = (
    "REGISTER sip:{domain} SIP/2.0\r\n"
    "Via: SIP/2.0/{T} 127.0.0.2:5999;branch=z9hG4bK-reg-NNNNNN;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:{user}@{domain}>;tag=reg-NNNNNN\r\n"
    "To: <sip:{user}@{domain}>\r\n"
    "Call-ID: mut-reg-NNNNNN@127.0.0.2\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: <sip:{user}@127.0.0.2:5999;transport={t};ob>;+sip.instance=\"<{instance}>\""
    ";reg-id=1;expires=300\r\n"
    "Supported: path, gruu, outbound\r\n"
    "Path: <sip:edge.example.net;lr>\r\n"
    "Accept: application/{package}, application/{package}+xml\r\n"
    "User-Agent: mutation-test/1.0 (NNNNNN)\r\n"
    "Expires: 300\r\n"
    "Content-Length: 0\r\n\r\n")
SUBSCRIBE = (
    "SUBSCRIBE sip:{user}@{domain} SIP/2.0\r\n"
    "Via: SIP/2.0/{T} 127.0.0.2:5999;branch=z9hG4bK-sub-NNNNNN;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:{user}@{domain}>;tag=sub-NNNNNN\r\n"
    "To: <sip:{user}@{domain}>\r\n"
    "Call-ID: mut-sub-NNNNNN@127.0.0.2\r\n"
    "CSeq: 1 SUBSCRIBE\r\n"
    "Contact: <sip:{user}@127.0.0.2:5999;transport={t}>;+sip.instance=\"<{instance}>\"\r\n"
    "Event: {package};id=NNNNNN\r\n"
    "Accept: application/{package}+xml\r\n"
    "Expires: 300\r\n"
    "User-Agent: mutation-test/1.0\r\n"
    "Content-Length: 0\r\n\r\n")
SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
       "m=audio 49170 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n")
INVITE = (
    "INVITE sip:{callee}@{domain} SIP/2.0\r\n"
    "Via: SIP/2.0/{T} 127.0.0.2:5999;branch=z9hG4bK-inv-NNNNNN;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Mutant NNNNNN\" <sip:{user}@{domain}>;tag=inv-NNNNNN\r\n"
    "To: <sip:{callee}@{domain}>\r\n"
    "Call-ID: mut-inv-NNNNNN@127.0.0.2\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:{user}@127.0.0.2:5999;transport={t}>\r\n"
    "Supported: replaces, timer\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: {sdp_length}\r\n\r\n{sdp}")
CONTACT_ME = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cm="{ns}">'
    "<s:Body><cm:ContactMe><cm:deviceId>sip:{user}@{domain}</cm:deviceId>"
    "<cm:requestId>mut-NNNNNN</cm:requestId><cm:server>as.example.com:8443</cm:server>"
    "<cm:protocol>https</cm:protocol><cm:path>/wake?x=1&amp;y=caf&#xe9;</cm:path>"
    "<cm:alternateServer>198.51.100.7:8443</cm:alternateServer>"
    "<cm:function>chat</cm:function><cm:timeSlot>2026-11-21T10:00:00Z/PT5M</cm:timeSlot>"
    "<cm:package>{package}</cm:package><cm:queueSeconds>0</cm:queueSeconds>"
    "<cm:waitMs>0</cm:waitMs></cm:ContactMe></s:Body></s:Envelope>")


def sip_message(template: str, transport: str) -> str:
    return template.format(domain=DOMAIN, user=USER, callee=CALLEE, instance=INSTANCE,
                           package=PACKAGE, t=transport, T=transport.upper(),
                           sdp=SDP, sdp_length=len(SDP))


def http_contact_me() -> str:
    body = CONTACT_ME.format(ns=NS, user=USER, domain=DOMAIN, package=PACKAGE)
    return ("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n"
            'SOAPAction: ""\r\nConnection: close\r\n'
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}")


def ping(branch: str, transport: str) -> bytes:
    """An OPTIONS beckond answers itself (Max-Forwards: 0)."""
    return (f"OPTIONS sip:{DOMAIN} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport.upper()} 127.0.0.2:5999;branch=z9hG4bK-{branch};rport\r\n"
            f"Max-Forwards: 0\r\nFrom: <sip:ping@{DOMAIN}>;tag=p\r\nTo: <sip:{DOMAIN}>\r\n"
            f"Call-ID: {branch}@127.0.0.2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"http://{LOOPBACK}:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def mutate(template: str, copies: int, seed: int, ratio: str, protect: str) -> list[bytes]:
    """`copies` zzuf mutations of `template` (NNNNNN: the copy's number)."""
    originals = [template.replace("NNNNNN", f"{i:06d}").encode() for i in range(copies)]
    length = len(originals[0])
    assert all(len(o) == length for o in originals)
    args = [ZZUF, "-s", str(seed), "-r", ratio]
    if protect:
        args += ["-P", protect]
    out = subprocess.run(args, input=b"".join(originals), capture_output=True, timeout=30,
                         check=True).stdout
    assert len(out) == length * copies, (len(out), length * copies)
    return [out[i * length:(i + 1) * length] for i in range(copies)]


class Mutation(outbound.FlowTestCase):
    notify_timeout_ms = 1000

    @classmethod
    def make_beckond(cls, workdir: Path):
        # Limits that would refuse the same address of record again and
        # again are raised: the mutations are to reach the code behind them.
        return ConfiguredBeckond(workdir, notify_timeout_ms=cls.notify_timeout_ms,
                                 log_level="info", extra_toml="""
[limits]
aor_rate = 0
bindings_per_aor = 100000
subscriptions_per_device = 1000
soap_connections_per_source = 256
soap_request_timeout_ms = 300
""")

    def setUp(self):
        super().setUp()
        self.saved = self.workdir / "mutations"
        self.saved.mkdir(exist_ok=True)
        self.sent = 0

    def keep(self, name: str, messages: list[bytes]) -> Path:
        path = self.saved / f"{name}-len{len(messages[0])}.bin"
        path.write_bytes(b"".join(messages))
        return path

    def assertAlive(self, what: str):
        rc = self.beckond.proc.poll()
        if rc is not None:
            self.fail(f"beckond ended (status {rc}) while {what}; after {self.sent} mutations. "
                      f"Its log ends:\n{self.beckond.log()[-3000:]}")

    # SIP over UDP

    def wait_pong(self, sock: socket.socket, branch: str, transport: str, timeout: float = 15.0):
        """Sends the ping until its answer comes (everything else read is dropped)."""
        message = ping(branch, transport)
        deadline = time.monotonic() + timeout
        next_send = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_send:
                sock.sendto(message, (LOOPBACK, self.beckond.sip_port))
                next_send = time.monotonic() + 1.0
            sock.settimeout(0.2)
            try:
                data = sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                continue
            if data.startswith(b"SIP/2.0 200") and f"z9hG4bK-{branch}".encode() in data:
                return
        self.assertAlive(f"waiting for the OPTIONS {branch}")
        self.fail(f"no answer to OPTIONS {branch} within {timeout} s")

    def send_udp(self, sock: socket.socket, name: str, messages: list[bytes], path: Path):
        for start in range(0, len(messages), UDP_BATCH):
            for m in messages[start:start + UDP_BATCH]:
                try:
                    sock.sendto(m, (LOOPBACK, self.beckond.sip_port))
                except OSError:
                    pass  # e.g. ECONNREFUSED from an earlier ICMP: the next goes on
            self.sent += len(messages[start:start + UDP_BATCH])
            self.wait_pong(sock, f"{name}-{start}", "udp")
            self.assertAlive(f"sending {path.name} messages {start}..{start + UDP_BATCH - 1}")

    # SIP over TCP

    def tcp_pong(self, branch: str, timeout: float = 15.0):
        with socket.create_connection((LOOPBACK, self.beckond.sip_port), timeout=timeout) as s:
            s.sendall(ping(branch, "tcp"))
            got = b""
            deadline = time.monotonic() + timeout
            while b"\r\n\r\n" not in got and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        self.assertTrue(got.startswith(b"SIP/2.0 200"), f"OPTIONS {branch} over TCP: {got!r}")

    def send_tcp(self, name: str, messages: list[bytes], path: Path):
        for n, start in enumerate(range(0, len(messages), TCP_PER_CONNECTION)):
            batch = messages[start:start + TCP_PER_CONNECTION]
            try:
                with socket.create_connection((LOOPBACK, self.beckond.sip_port), timeout=5) as s:
                    s.sendall(b"".join(batch))
                    s.shutdown(socket.SHUT_WR)  # beckond reads it all, then the end
            except OSError:
                pass  # beckond may close early (a message it cannot frame): its right
            self.sent += len(batch)
            if (n + 1) % TCP_PING_EVERY == 0:
                self.assertAlive(f"sending {path.name} messages up to {start + len(batch) - 1}")
                self.tcp_pong(f"{name}-{start}")
        self.tcp_pong(f"{name}-end")

    # SOAP over HTTP

    def soap_exchange(self, request: bytes) -> bytes:
        """Sends one request and reads to the close. A request that is not
        whole by its own Content-Length (or has none) is ended at once with
        a FIN: gSOAP would wait for the rest (and sends no fault to a client
        that has half-closed, so the whole ones are not)."""
        head, _, body = request.partition(b"\r\n\r\n")
        length = re.search(rb"\r\ncontent-length:[ \t]*([0-9]+)\r\n", head + b"\r\n", re.I)
        whole = length is not None and int(length.group(1)) == len(body)
        with socket.create_connection((LOOPBACK, self.beckond.soap_port), timeout=20) as s:
            try:
                s.sendall(request)
                if not whole:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # it may answer and close before it read all (413)
            got = b""
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                got += chunk
            return got

    def send_soap(self, messages: list[bytes], path: Path):
        with concurrent.futures.ThreadPoolExecutor(SOAP_PARALLEL) as pool:
            answers = list(pool.map(self.soap_exchange, messages))
        self.sent += len(messages)
        self.assertAlive(f"sending {path.name}")
        for i, answer in enumerate(answers):
            self.assertTrue(answer == b"" or answer.startswith(b"HTTP/1."),
                            f"{path.name} #{i}: not an HTTP answer: {answer[:200]!r}")
            self.assertNotIn(b"<cm:message>internal error</cm:message>", answer,
                             f"{path.name} #{i}: an exception nobody expected; request: "
                             f"{messages[i]!r}")

    def test_mutations_leave_beckond_alive_and_serving(self):
        pid = self.beckond.proc.pid
        started = time.monotonic()
        # The callee registers, then its socket is gone: calls to it fail at once.
        callee = outbound.SockDevice("udp", (LOOPBACK, self.beckond.sip_port), CALLEE)
        self.assertOk(callee.register())
        callee.close()

        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sender.bind((LOOPBACK, 0))
        try:
            # The user the mutations name, registered unmutated first.
            sender.sendto(sip_message(REGISTER, "udp").replace("NNNNNN", "000000").encode(),
                          (LOOPBACK, self.beckond.sip_port))
            self.wait_pong(sender, "first", "udp")
            for template, name in ((REGISTER, "register"), (SUBSCRIBE, "subscribe"),
                                   (INVITE, "invite")):
                for seed, ratio, protect in MUTATIONS:
                    for transport in ("udp", "tcp"):
                        copies = UDP_COPIES if transport == "udp" else TCP_COPIES
                        label = f"{name}-{transport}-s{seed}-r{ratio}"
                        messages = mutate(sip_message(template, transport), copies, seed, ratio,
                                          protect)
                        path = self.keep(label, messages)
                        if transport == "udp":
                            self.send_udp(sender, label, messages, path)
                        else:
                            self.send_tcp(label, messages, path)
            for seed, ratio, protect in MUTATIONS:
                label = f"contact-me-http-s{seed}-r{ratio}"
                messages = mutate(http_contact_me(), SOAP_COPIES, seed, ratio, protect)
                self.send_soap(messages, self.keep(label, messages))
        finally:
            sender.close()
        took = time.monotonic() - started
        self.assertEqual(self.sent, len(MUTATIONS) * (3 * (UDP_COPIES + TCP_COPIES) + SOAP_COPIES))
        print(f"\n{self.sent} mutations in {took:.1f} s", flush=True)

        # The same process, serving.
        self.assertAlive("checking afterwards")
        self.assertEqual(self.beckond.proc.pid, pid)
        health = http_get(self.beckond.soap_port, "/healthz")
        self.assertEqual(health[0], 200, f"/healthz: {health}")
        # No exception was needed to survive them (notifier/boundary.h counts each).
        status, metrics = http_get(self.beckond.soap_port, "/metrics")
        self.assertEqual(status, 200)
        caught = [line for line in metrics.splitlines()
                  if line.startswith("beckon_exceptions_caught_total") and not line.endswith(" 0")]
        self.assertEqual(caught, [], "exceptions were caught: " + "\n".join(caught))
        # The log stayed UTF-8 whatever the mutations held.
        self.beckond.log_path.read_bytes().decode("utf-8")
        d = self.dev("udp", user=new_user(), instance=f"urn:uuid:{uuid.uuid4()}")
        self.assertOk(d.register(f';+sip.instance="<{d.instance}>"'))
        notify, status = self.contact_me_answered(d.instance, "after-mutations", d)
        self.assertDelivered(status)


if __name__ == "__main__":
    unittest.main()
