"""The device's own flow: SIP over TLS, and a TCP flow the device closes.

The devices here are small user agents on Python's ssl and socket modules
(OpenSSL underneath): SIPp has no TLS. Each keeps its connection open and
answers the NOTIFY that beckond must send back over it.
"""
import concurrent.futures
import socket
import ssl
import time
import unittest
import uuid

from harness import DOMAIN, LOOPBACK, BeckondTestCase, Pki, TlsBeckond, new_user

PACKAGE = "application-server-contact-me"


class StreamDevice:
    """A device on one TCP or TLS connection, with a Contact that is not
    where it is (as behind NAT)."""

    def __init__(self, sock: socket.socket, transport: str, user: str, instance: str):
        self.sock = sock
        self.sock.settimeout(10)
        self.transport = transport
        self.user = user
        self.instance = instance
        self.buffer = b""
        self.cseq = 0
        self.call_id = uuid.uuid4().hex

    def read_message(self) -> tuple[str, dict[str, str], bytes]:
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no SIP message within 10 s")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("beckond closed the connection")
            self.buffer += chunk
        head, rest = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            # A field that comes more than once (Via through the proxy), joined (RFC 3261 7.3.1).
            headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            rest += self.sock.recv(65536)
        self.buffer = rest[length:]
        return lines[0], headers, rest[:length]

    def register(self, expires: int = 300) -> str:
        self.cseq += 1
        scheme = "sips" if self.transport == "tls" else "sip"
        request = (
            f"REGISTER {scheme}:{DOMAIN} SIP/2.0\r\n"
            f"Via: SIP/2.0/{self.transport.upper()} 127.0.0.2:5999;branch=z9hG4bK{uuid.uuid4().hex};rport\r\n"
            f"From: <sip:{self.user}@{DOMAIN}>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:{self.user}@{DOMAIN}>\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {self.cseq} REGISTER\r\n"
            f"Contact: <{scheme}:{self.user}@127.0.0.2:5999;transport={self.transport}>"
            f";+sip.instance=\"<{self.instance}>\"\r\n"
            f"Accept: application/{PACKAGE}\r\n"
            f"Expires: {expires}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        self.sock.sendall(request.encode())
        status, _, _ = self.read_message()
        return status

    def answer_notify(self, status: str = "200 OK") -> tuple[str, dict[str, str], bytes]:
        start, headers, body = self.read_message()
        if not start.startswith("NOTIFY "):
            raise AssertionError(f"expected a NOTIFY, got {start!r}")
        reply = "".join(f"{h}: {headers[h.lower()]}\r\n" for h in ("Via", "From", "To", "Call-ID", "CSeq"))
        self.sock.sendall(f"SIP/2.0 {status}\r\n{reply}Content-Length: 0\r\n\r\n".encode())
        return start, headers, body


class SipOverTls(BeckondTestCase):
    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = Pki(workdir / "pki")
        return TlsBeckond(workdir, cls.pki)

    def tls_device(self) -> StreamDevice:
        context = ssl.create_default_context(cafile=self.pki.ca)  # beckond's certificate is verified
        raw = socket.create_connection((LOOPBACK, self.beckond.tls_port), timeout=10)
        conn = context.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(conn.close)
        self.assertIn(conn.version(), ("TLSv1.2", "TLSv1.3"))
        return StreamDevice(conn, "tls", new_user(), f"urn:uuid:{uuid.uuid4()}")

    def test_register_over_tls_and_get_the_notify_on_that_connection(self):
        device = self.tls_device()
        self.assertEqual(device.register(), "SIP/2.0 200 OK")
        client = self.zeep()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(client.service.ContactMe, deviceId=device.instance, requestId="tls-1",
                                 server="crm.example.com:8443", waitMs=8000)
            start, headers, body = device.answer_notify()
            status = answer.result(timeout=20)
        self.assertEqual(start, f"NOTIFY sips:{device.user}@127.0.0.2:5999;transport=tls SIP/2.0")
        self.assertEqual(headers["event"], PACKAGE)
        self.assertRegex(headers["subscription-state"], r"^active;expires=\d+$")
        self.assertIn("transport=tls", headers["contact"])
        self.assertEqual(body, b"state: pending\r\nrequest-id: tls-1\r\nserver: crm.example.com:8443\r\n")
        self.assertEqual(status.state, "delivered")
        self.assertEqual(len(status.delivery), 1)
        self.assertEqual(status.delivery[0].transport, "tls")
        self.assertEqual(status.delivery[0].sipStatus, 200)

    def test_a_client_that_does_not_trust_the_certificate_gets_nowhere(self):
        other = Pki(self.workdir / "other-pki")
        context = ssl.create_default_context(cafile=other.ca)
        raw = socket.create_connection((LOOPBACK, self.beckond.tls_port), timeout=10)
        with self.assertRaises(ssl.SSLCertVerificationError):
            context.wrap_socket(raw, server_hostname="localhost")
        raw.close()


class ClosedFlow(BeckondTestCase):
    """A device closes its TCP flow: the NOTIFY cannot reach it, the request
    waits in the queue, and is delivered over the new flow when the device
    registers again."""

    def tcp_device(self, user: str, instance: str) -> StreamDevice:
        sock = socket.create_connection((LOOPBACK, self.beckond.sip_port), timeout=10)
        self.addCleanup(sock.close)
        return StreamDevice(sock, "tcp", user, instance)

    def test_queued_then_delivered_over_the_new_flow(self):
        user, instance = new_user(), f"urn:uuid:{uuid.uuid4()}"
        first = self.tcp_device(user, instance)
        self.assertEqual(first.register(), "SIP/2.0 200 OK")
        first.sock.close()
        time.sleep(0.3)  # beckond sees the connection close

        client = self.zeep()
        status = client.service.ContactMe(deviceId=instance, requestId="flow-1", queueSeconds=60, waitMs=1500)
        self.assertEqual(status.state, "queued")
        # Tried at once and retried with back-off, each time a transport error.
        self.assertGreaterEqual(len(status.delivery), 1)
        self.assertEqual({d.sipStatus for d in status.delivery}, {503})

        second = self.tcp_device(user, instance)
        second.call_id = first.call_id  # the same registration, refreshed
        second.cseq = first.cseq
        self.assertEqual(second.register(), "SIP/2.0 200 OK")
        start, headers, body = second.answer_notify()
        self.assertTrue(body.startswith(b"state: pending\r\nrequest-id: flow-1\r\n"), body)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = client.service.GetContactRequest(requestId="flow-1")
            if status.state == "delivered":
                break
            time.sleep(0.1)
        self.assertEqual(status.state, "delivered")
        statuses = [d.sipStatus for d in status.delivery]
        self.assertEqual(statuses[-1], 200)
        self.assertEqual(set(statuses[:-1]), {503})


if __name__ == "__main__":
    unittest.main()
