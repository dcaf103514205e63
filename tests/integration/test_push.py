"""Push notifications (RFC 8599, docs/push.md): devices that register with
pn-provider/pn-prid/pn-param and have no live flow are woken through the
push gateway of their provider (here the test's own HTTP server), and what
was due for them (a contact-me NOTIFY, a call) goes out when they register
again.

The devices are Python TCP devices (test_flows.StreamDevice) whose Contact
claims a fake NAT address: once their connection is closed nothing reaches
them but a push. Every wait is for an event (a push reaching the gateway, a
SIP message, a state), bounded in time.
"""

from __future__ import annotations

import concurrent.futures
import http.server
import json
import queue
import socket
import threading
import time
import unittest
import urllib.request
import uuid

import harness
from calls import UdpPeer
from sip_rules import RulesBeckond
from harness import DOMAIN, LOOPBACK, BeckondTestCase, new_user, wait_until
from test_flows import PACKAGE, StreamDevice

TOKEN = "Bearer s3cret-gateway-token"


class Gateway(harness.HttpStub):
    """A push gateway: POST /<provider> with the push's JSON. Each push is
    put on `pushes` (path, headers, body); /broken answers 503, the others
    200."""

    def __init__(self):
        self.port = harness.free_port(udp=False, tcp=True)
        self.pushes: queue.Queue = queue.Queue()

    def url(self, provider: str) -> str:
        return f"http://{LOOPBACK}:{self.port}/{provider}"

    def start(self) -> "Gateway":
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 5
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                gateway.pushes.put((self.path, {k.lower(): v for k, v in self.headers.items()},
                                    json.loads(body)))
                status = 503 if self.path == "/broken" else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, self.port), Handler)
        self.server.daemon_threads = True
        self.serve(self.server, f"push-gateway-{self.port}")
        return self

    def next_push(self, timeout: float = 10.0):
        try:
            return self.pushes.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no push reached the gateway within {timeout} s") from None


class PushDevice(StreamDevice):
    """A TCP device whose Contact carries the push parameters."""

    def __init__(self, beckond, user: str, instance: str, provider: str, prid: str,
                 param: str = "com.example.app.voip"):
        self.beckond = beckond
        super().__init__(self._connect(), "tcp", user, instance)
        self.provider, self.prid, self.param = provider, prid, param

    def _connect(self) -> socket.socket:
        return socket.create_connection((LOOPBACK, self.beckond.sip_port), timeout=10)

    def contact(self) -> str:
        pn = f";pn-provider={self.provider}" if self.provider else ""
        pn += f";pn-prid={self.prid}" if self.prid else ""
        pn += f";pn-param={self.param}" if self.param else ""
        return f"<sip:{self.user}@127.0.0.2:5999;transport=tcp{pn}>;+sip.instance=\"<{self.instance}>\""

    def register(self, expires: int = 300) -> tuple[str, dict[str, str]]:
        self.cseq += 1
        self.sock.sendall((
            f"REGISTER sip:{DOMAIN} SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 127.0.0.2:5999;branch=z9hG4bK{uuid.uuid4().hex};rport\r\n"
            f"From: <sip:{self.user}@{DOMAIN}>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:{self.user}@{DOMAIN}>\r\n"
            f"Call-ID: {self.call_id}\r\nCSeq: {self.cseq} REGISTER\r\n"
            f"Contact: {self.contact()}\r\n"
            f"Accept: application/{PACKAGE}\r\n"
            f"Expires: {expires}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode())
        status, headers, _ = self.read_message()
        return status, headers

    def sleep(self) -> None:
        """The app is suspended: its connection goes."""
        self.sock.close()

    def wake(self) -> None:
        """A push came: a new connection, and a binding-refresh REGISTER (RFC 8599 4.1.3)."""
        self.sock = self._connect()
        self.sock.settimeout(10)
        self.buffer = b""
        status, _ = self.register()
        assert status == "SIP/2.0 200 OK", status

    def answer(self, request: str, status: str, extra: str = "") -> tuple[str, dict[str, str]]:
        start, headers, _ = self.read_message()
        assert start.startswith(request + " "), f"expected a {request}, got {start!r}"
        reply = "".join(f"{h}: {headers[h.lower()]}\r\n" for h in ("Via", "From", "Call-ID", "CSeq"))
        to = headers["to"] + ("" if "tag=" in headers["to"] else ";tag=dev1")
        self.sock.sendall(f"SIP/2.0 {status}\r\n{reply}To: {to}\r\n{extra}"
                          f"Content-Length: 0\r\n\r\n".encode())
        return start, headers


class PushTestCase(BeckondTestCase):
    """beckond with [push]: apns (the gateway, with an Authorization
    header), sleepy (the gateway; devices never wake within its 1.5 s),
    broken (the gateway answers 503) and down (nobody listens)."""

    @classmethod
    def make_beckond(cls, workdir):
        cls.gateway = Gateway().start()
        closed = harness.free_port(udp=False, tcp=True)
        extra = "\n".join([
            "[push]", "wait_ms = 8000", "timeout_ms = 2000",
            "[[push.provider]]", 'name = "apns"', f'url = "{cls.gateway.url("apns")}"',
            f'headers = ["Authorization: {TOKEN}"]',
            "[[push.provider]]", 'name = "sleepy"', f'url = "{cls.gateway.url("sleepy")}"',
            "wait_ms = 1500",
            "[[push.provider]]", 'name = "broken"', f'url = "{cls.gateway.url("broken")}"',
            "[[push.provider]]", 'name = "down"', f'url = "http://{LOOPBACK}:{closed}/push"',
        ])
        # min_expires 2: the refresh push of a short registration comes in seconds.
        beckond = RulesBeckond(workdir, sip={"min_expires": 2})
        with open(beckond.config, "a") as f:
            f.write("\n" + extra + "\n")
        return beckond

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.gateway.stop()

    def setUp(self):
        super().setUp()
        while not self.gateway.pushes.empty():  # nothing left over from another test
            self.gateway.pushes.get_nowait()

    def device(self, provider: str = "apns", prid: str | None = None, **kw) -> PushDevice:
        d = PushDevice(self.beckond, new_user(), f"urn:uuid:{uuid.uuid4()}", provider,
                       prid if prid is not None else uuid.uuid4().hex, **kw)
        self.addCleanup(lambda: d.sock.close())
        return d

    def asleep(self, provider: str = "apns") -> PushDevice:
        d = self.device(provider)
        status, _ = d.register()
        self.assertEqual(status, "SIP/2.0 200 OK")
        d.sleep()
        return d

    def wait_state(self, request_id: str, states: set[str], timeout: float = 15.0):
        client = self.zeep()
        return wait_until(lambda: (s := client.service.GetContactRequest(requestId=request_id))
                          and s.state in states and s, timeout, 0.1,
                          f"request {request_id} in {states}")

    def metric(self, name: str, **labels) -> float:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{self.beckond.soap_port}/metrics",
                                    timeout=10) as r:
            text = r.read().decode()
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for line in text.splitlines():
            if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(name + " ")):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


class Registration(PushTestCase):
    def test_the_200_names_the_configured_services_in_feature_caps(self):
        d = self.device()
        status, headers = d.register()
        self.assertEqual(status, "SIP/2.0 200 OK")
        self.assertEqual(headers.get("feature-caps"), '*;+sip.pns="apns,sleepy,broken,down"')
        self.assertIn("pn-prid=" + d.prid, headers["contact"])
        # Asking only (pn-provider without pn-prid, 4.1.2): the same answer.
        q = self.device(prid="")
        status, headers = q.register()
        self.assertEqual(status, "SIP/2.0 200 OK")
        self.assertEqual(headers.get("feature-caps"), '*;+sip.pns="apns,sleepy,broken,down"')
        # No push parameters: no Feature-Caps.
        plain = self.device(provider="", prid="", param="")
        status, headers = plain.register()
        self.assertEqual(status, "SIP/2.0 200 OK")
        self.assertNotIn("feature-caps", headers)

    def test_a_service_beckond_does_not_have_gets_555_and_registers_nothing(self):
        d = self.device(provider="mpns")
        status, headers = d.register()
        self.assertEqual(status, "SIP/2.0 555 Push Notification Service Not Supported")
        self.assertEqual(headers.get("feature-caps"), '*;+sip.pns="apns,sleepy,broken,down"')
        self.assertSoapFault("UnknownDevice", self.zeep().service.ContactMe, deviceId=d.instance,
                             requestId=f"p555-{uuid.uuid4().hex[:6]}")

    def test_push_parameters_without_a_provider_get_400(self):
        d = self.device(provider="")
        status, _ = d.register()
        self.assertTrue(status.startswith("SIP/2.0 400 "), status)


class ContactMe(PushTestCase):
    def test_a_device_without_a_flow_is_pushed_then_notified_when_it_registers(self):
        d = self.asleep()
        request_id = f"push-{uuid.uuid4().hex[:8]}"
        client = self.zeep()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(client.service.ContactMe, deviceId=d.instance,
                                 requestId=request_id, server="crm.example.com:8443",
                                 waitMs=20000)
            path, headers, body = self.gateway.next_push()
            self.assertEqual(path, "/apns")
            self.assertEqual(headers["content-type"], "application/json")
            self.assertEqual(headers["authorization"], TOKEN)
            self.assertEqual(body["provider"], "apns")
            self.assertEqual(body["prid"], d.prid)
            self.assertEqual(body["param"], d.param)
            self.assertEqual(body["reason"], "contact-me")
            self.assertEqual(body["requestId"], request_id)
            self.assertEqual(body["appServer"], "local")
            self.assertEqual(body["aor"], f"sip:{d.user}@{DOMAIN}")
            self.assertEqual(body["instance"], d.instance)
            self.assertRegex(body["id"], r"^[0-9a-f]{16}-[0-9]+$")
            d.wake()
            _, _, notify_body = d.answer_notify()
            status = answer.result(timeout=20)
        self.assertEqual(notify_body, f"state: pending\r\nrequest-id: {request_id}\r\n"
                                      "server: crm.example.com:8443\r\n".encode())
        self.assertEqual(status.state, "delivered")
        self.assertEqual(len(status.delivery), 2, status.delivery)
        pushed, notified = status.delivery
        self.assertEqual(pushed.sipStatus, 0)
        self.assertRegex(pushed.reason, r"^push through apns: the device registered again after \d+ ms$")
        self.assertEqual(notified.sipStatus, 200)
        self.assertEqual(notified.transport, "tcp")
        self.assertTrue(self.gateway.pushes.empty(), "one push only")
        self.assertGreaterEqual(self.metric("beckon_push_requests_total", provider="apns",
                                            reason="contact-me", result="sent"), 1)
        self.assertGreaterEqual(self.metric("beckon_push_wakeups_total", result="registered"), 1)

    def test_a_failing_gateway_is_told_in_the_requests_status(self):
        for provider, problem in (("broken", "push through broken failed: the gateway answered HTTP 503"),
                                  ("down", "push through down failed: cannot reach the gateway")):
            with self.subTest(provider=provider):
                d = self.asleep(provider)
                request_id = f"fail-{provider}-{uuid.uuid4().hex[:6]}"
                status = self.zeep().service.ContactMe(deviceId=d.instance, requestId=request_id,
                                                       waitMs=10000)
                self.assertEqual(status.state, "failed")
                self.assertEqual(len(status.delivery), 1, status.delivery)
                self.assertTrue(status.delivery[0].reason.startswith(problem), status.delivery[0].reason)
                self.assertEqual(status.delivery[0].sipStatus, 0)
        self.assertEqual(self.metric("beckon_push_requests_total", provider="broken",
                                     reason="contact-me", result="failed"), 1)
        self.assertEqual(self.metric("beckon_push_requests_total", provider="down",
                                     reason="contact-me", result="unreachable"), 1)
        self.assertIn("push failed push=", self.beckond.log())

    def test_a_device_that_does_not_wake_in_time_fails_the_request(self):
        d = self.asleep("sleepy")
        request_id = f"late-{uuid.uuid4().hex[:6]}"
        status = self.zeep().service.ContactMe(deviceId=d.instance, requestId=request_id,
                                               waitMs=8000)
        self.gateway.next_push()
        self.assertEqual(status.state, "failed")
        self.assertRegex(status.delivery[0].reason,
                         r"^push through sleepy sent: the device did not register within \d+ ms$")


class Calls(PushTestCase):
    def invite(self, caller: UdpPeer, callee: PushDevice) -> str:
        call_id = f"push-call-{uuid.uuid4().hex}"
        caller.send(f"""
            INVITE sip:{callee.user}@{DOMAIN} SIP/2.0
            Via: SIP/2.0/UDP {caller.hostport};branch=z9hG4bK-pc-{uuid.uuid4().hex[:10]};rport
            Max-Forwards: 70
            From: <sip:alice@{DOMAIN}>;tag=caller1
            To: <sip:{callee.user}@{DOMAIN}>
            Call-ID: {call_id}
            CSeq: 1 INVITE
            Contact: <sip:alice@{caller.hostport}>
            """)
        return call_id

    def caller(self) -> UdpPeer:
        peer = UdpPeer(self.beckond)
        self.addCleanup(peer.close)
        return peer

    def test_a_call_wakes_the_callee_and_rings_it_once_it_registers(self):
        callee = self.asleep()
        caller = self.caller()
        call_id = self.invite(caller, callee)
        path, _, body = self.gateway.next_push()
        self.assertEqual((path, body["reason"], body["method"], body["callId"], body["from"]),
                         ("/apns", "call", "INVITE", call_id, f"sip:alice@{DOMAIN}"))
        # Waiting for the callee: a 100 Trying, nothing that says it rings.
        self.assertEqual(caller.recv("SIP/2.0 ").first_line, "SIP/2.0 100 Trying")
        callee.wake()
        start, headers = callee.answer("INVITE", "486 Busy Here")
        self.assertEqual(start, f"INVITE {callee.contact()[1:].split('>')[0]} SIP/2.0")
        self.assertEqual(headers["call-id"], call_id)
        final = caller.recv("SIP/2.0 4")
        self.assertEqual(final.first_line, "SIP/2.0 486 Busy Here")
        self.assertEqual([m.first_line for m in caller.seen if m.first_line.startswith("SIP/2.0 18")], [])

    def test_a_callee_that_does_not_wake_in_time_is_temporarily_unavailable(self):
        callee = self.asleep("sleepy")
        caller = self.caller()
        started = time.monotonic()
        self.invite(caller, callee)
        self.gateway.next_push()
        final = caller.recv("SIP/2.0 4", timeout=10)
        self.assertEqual(final.first_line, "SIP/2.0 480 Temporarily Unavailable")
        self.assertGreaterEqual(time.monotonic() - started, 1.4)  # sleepy's wait_ms
        self.assertGreaterEqual(self.metric("beckon_push_wakeups_total", result="timed_out"), 1)


class Restart(PushTestCase):
    def test_a_push_binding_survives_a_restart(self):
        d = self.device()
        status, _ = d.register()
        self.assertEqual(status, "SIP/2.0 200 OK")
        # Its connection dies with beckond; the binding is read back from the store.
        self.assertEqual(self.beckond.stop(), 0)
        d.sock.close()
        self.beckond.start()
        type(self)._zeep = None  # a new process: load its WSDL again
        request_id = f"restart-{uuid.uuid4().hex[:6]}"
        client = self.zeep()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(client.service.ContactMe, deviceId=d.instance,
                                 requestId=request_id, waitMs=20000)
            _, _, body = self.gateway.next_push()
            self.assertEqual((body["prid"], body["param"]), (d.prid, d.param))
            d.wake()
            d.answer_notify()
            self.assertEqual(answer.result(timeout=20).state, "delivered")


class Refresh(PushTestCase):
    def test_a_device_without_a_flow_is_pushed_before_its_binding_expires(self):
        # Registered for 4 s: pushed half-way, refresh_before_s (120 s)
        # being longer than that.
        d = self.device()
        started = time.monotonic()
        self.assertEqual(d.register(expires=4)[0], "SIP/2.0 200 OK")
        d.sleep()
        path, _, body = self.gateway.next_push(timeout=5)
        self.assertGreaterEqual(time.monotonic() - started, 1.5)
        self.assertEqual((path, body["reason"], body["prid"]), ("/apns", "refresh", d.prid))
        self.assertNotIn("requestId", body)


if __name__ == "__main__":
    unittest.main()
