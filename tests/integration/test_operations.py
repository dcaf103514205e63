"""Every operation of the SOAP API, through python3-zeep and through our gSOAP
client (`beckon`), against beckond with SIPp devices.

GetContactRequest after delivered / failed / notifying; CancelContactRequest
on a queued request (cancelled, and the device registering afterwards gets
no NOTIFY) and on a delivered one (stays delivered); GetDevice by instance
id, MAC, address of record and number; a queued request delivered when the
device registers; expiry; idempotency and RequestIdConflict; every
InvalidArgument field; an unknown request id.

No application server is configured: the tests call from loopback, as the
application server "local". Run with /usr/bin/python3 (Debian's python3-zeep).
"""

import datetime
import json
import re
import time
import unittest
import uuid

from harness import (BeckondTestCase, Contact, DOMAIN, FAKE_NAT_HOSTPORT, LOOPBACK,
                     PACKAGE, fault_of_xml, run_beckon, soap_post, wait_until, zeep_client)

import zeep.exceptions

UTC = datetime.timezone.utc


def utc(t: datetime.datetime) -> datetime.datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def random_mac() -> bytes:
    return bytes([0x00, 0x04, 0xf2]) + uuid.uuid4().bytes[:3]


def bare(value: str | None) -> str:
    """An instance id or MAC without <>, separators and case, to compare."""
    return re.sub(r"[<>:\-]", "", (value or "").lower())


class OperationsBase(BeckondTestCase):
    # A silent device's NOTIFY fails (408) this long after it was sent.
    notify_timeout_ms = 2000

    # zeep

    def contact_me(self, **fields):
        fields.setdefault("waitMs", 10000)
        return self.zeep().service.ContactMe(**fields)

    def get_request(self, request_id, **kw):
        return self.zeep().service.GetContactRequest(requestId=request_id, **kw)

    def cancel_request(self, request_id, **kw):
        return self.zeep().service.CancelContactRequest(requestId=request_id, **kw)

    def get_device(self, device_id):
        return self.zeep().service.GetDevice(deviceId=device_id)

    # the beckon client

    def beckon(self, *args, json_out=False, timeout=40.0):
        return run_beckon(self.beckond, list(args), timeout=timeout,
                          options=["--json"] if json_out else None)

    def beckon_json(self, rc, *args):
        r = self.beckon(*args, json_out=True)
        self.assertBeckon(r, rc)
        try:
            return json.loads(r.stdout)
        except ValueError:
            self.fail(f"beckon --json printed no JSON object: {r.stdout!r}")

    def assertClientState(self, r, request_id, state, rc):
        self.assertBeckon(r, rc)
        lines = r.stdout.splitlines()
        self.assertTrue(lines, f"beckon printed nothing; stderr: {r.stderr}")
        self.assertEqual(lines[0], f"request {request_id}: {state}", r.stdout)

    # waiting

    def wait_state(self, request_id, want, timeout=8.0, **kw):
        """Polls GetContactRequest until the state is `want` (bounded)."""
        last = {}

        def reached():
            last["status"] = self.get_request(request_id, **kw)
            return last["status"].state == want

        try:
            wait_until(reached, timeout, interval=0.1, what=f"{request_id} to be {want}")
        except TimeoutError as e:
            self.fail(f"{e}; last status: {last.get('status')}")
        return last["status"]

    def assertDelivery(self, status, device, sip_status):
        self.assertEqual(len(status.delivery), 1, status)
        d = status.delivery[0]
        self.assertEqual(d.sipStatus, sip_status, status)
        self.assertEqual(d.transport.lower(), device.transport, status)
        self.assertIn(FAKE_NAT_HOSTPORT, d.contact, status)
        return d


class GetContactRequest(OperationsBase):

    def test_delivered(self):
        dev = self.device(notify_status=200, hold_ms=6000).register()
        status = self.contact_me(deviceId=dev.instance, requestId="get-delivered-1",
                                 server="crm.example.com:8443")
        self.assertEqual(status.state, "delivered", status)
        got = self.get_request("get-delivered-1")
        self.assertEqual(got.requestId, "get-delivered-1", got)
        self.assertEqual(got.state, "delivered", got)
        d = self.assertDelivery(got, dev, 200)
        self.assertEqual(utc(d.at), utc(status.delivery[0].at), got)

        r = self.beckon("get-request", "--request-id", "get-delivered-1")
        self.assertClientState(r, "get-delivered-1", "delivered", 0)
        self.assertIn("200", "\n".join(r.stdout.splitlines()[1:]), "one line per delivery")
        out = self.beckon_json(0, "get-request", "--request-id", "get-delivered-1")
        self.assertEqual(out["requestId"], "get-delivered-1", out)
        self.assertEqual(out["state"], "delivered", out)
        self.assertEqual([d["sipStatus"] for d in out["deliveries"]], [200], out)
        # looking it up sent nothing
        self.assertEqual(len(dev.notifies_for("get-delivered-1")), 1, dev.sipp.report())

    def test_failed(self):
        dev = self.device(notify_status=500, hold_ms=6000).register()
        status = self.contact_me(deviceId=dev.instance, requestId="get-failed-1",
                                 server="crm.example.com:8443")
        self.assertEqual(status.state, "failed", status)
        got = self.get_request("get-failed-1")
        self.assertEqual(got.state, "failed", got)
        self.assertDelivery(got, dev, 500)

        r = self.beckon("get-request", "--request-id", "get-failed-1")
        self.assertClientState(r, "get-failed-1", "failed", 1)
        out = self.beckon_json(1, "get-request", "--request-id", "get-failed-1")
        self.assertEqual(out["state"], "failed", out)
        self.assertEqual([d["sipStatus"] for d in out["deliveries"]], [500], out)

    def test_notifying_then_failed(self):
        dev = self.device(answers=False, hold_ms=8000).register()
        status = self.contact_me(deviceId=dev.instance, requestId="get-notifying-1",
                                 server="crm.example.com:8443", waitMs=200)
        self.assertEqual(status.state, "notifying", status)
        got = self.get_request("get-notifying-1")
        self.assertEqual(got.state, "notifying", got)
        for d in got.delivery:  # no final response yet
            self.assertEqual(d.sipStatus, 0, got)
        r = self.beckon("get-request", "--request-id", "get-notifying-1")
        self.assertClientState(r, "get-notifying-1", "notifying", 1)
        # the NOTIFY times out (notify_timeout_ms 2000): failed, 408
        got = self.wait_state("get-notifying-1", "failed", timeout=6.0)
        self.assertDelivery(got, dev, 408)
        self.assertGreaterEqual(len(dev.notifies_for("get-notifying-1")), 1, dev.sipp.report())

    def test_soap_1_2(self):
        client = zeep_client(self.beckond, binding="ContactMe12")
        try:
            svc = client.service
            dev = self.device(notify_status=200, hold_ms=5000).register()
            status = svc.ContactMe(deviceId=dev.instance, requestId="soap12-1", waitMs=10000)
            self.assertEqual(status.state, "delivered", status)
            self.assertEqual(svc.GetContactRequest(requestId="soap12-1").state, "delivered")
            self.assertEqual(svc.CancelContactRequest(requestId="soap12-1").state, "delivered")
            d = svc.GetDevice(deviceId=dev.instance)
            self.assertEqual([b.contact for b in d.binding], [dev.contact_uri], d)
            self.assertSoapFault("InvalidArgument", svc.GetContactRequest,
                                 requestId="never-seen-12", names="requestId")
        finally:
            client.transport.session.close()

    def test_unknown_request_id(self):
        for op in (self.get_request, self.cancel_request):
            with self.subTest(op=op.__name__):
                self.assertSoapFault("InvalidArgument", op, "never-seen-1", names="requestId")
        for sub in ("get-request", "cancel-request"):
            with self.subTest(client=sub):
                r = self.beckon(sub, "--request-id", "never-seen-2")
                self.assertBeckon(r, 2)
                self.assertIn("InvalidArgument", r.stdout + r.stderr)
                self.assertIn("requestId", r.stdout + r.stderr)
                out = self.beckon_json(2, sub, "--request-id", "never-seen-3")
                self.assertEqual(out.get("fault", {}).get("code"), "InvalidArgument", out)
                self.assertTrue(out["fault"]["message"].startswith("requestId:"), out)


class Queue(OperationsBase):

    def test_queued_then_register_delivers_zeep(self):
        expect = Contact(request_id="queued-zeep-1", server="crm.example.com:8443",
                         protocol="https", path="/sync/inbox")
        dev = self.device(expect=expect)  # named, not registered yet
        status = self.contact_me(deviceId=dev.instance, requestId=expect.request_id,
                                 server=expect.server, protocol=expect.protocol,
                                 path=expect.path, queueSeconds=30, waitMs=200)
        self.assertEqual(status.state, "queued", status)
        self.assertEqual(status.delivery, [], status)
        self.assertEqual(self.get_request(expect.request_id).state, "queued")
        dev.register()
        self.assertDeviceNotified(dev)
        got = self.wait_state(expect.request_id, "delivered", timeout=5.0)
        self.assertDelivery(got, dev, 200)

    def test_queued_then_register_delivers_client(self):
        expect = Contact(request_id="queued-cli-1", server="crm.example.com:8443")
        dev = self.device(expect=expect, transport="tcp")
        r = self.beckon("contact-me", "--device", dev.aor, "--request-id", expect.request_id,
                        "--callback", expect.server, "--queue-seconds", "30", "--wait-ms", "200")
        self.assertClientState(r, expect.request_id, "queued", 1)
        dev.register()
        self.assertDeviceNotified(dev)
        self.wait_state(expect.request_id, "delivered", timeout=5.0)
        r = self.beckon("get-request", "--request-id", expect.request_id)
        self.assertClientState(r, expect.request_id, "delivered", 0)

    def test_expired(self):
        device_id = f"<urn:uuid:{uuid.uuid4()}>"  # nobody registers it
        start = time.monotonic()
        status = self.contact_me(deviceId=device_id, requestId="expire-1",
                                 server="crm.example.com", queueSeconds=2, waitMs=0)
        self.assertEqual(status.state, "queued", status)
        self.assertEqual(self.get_request("expire-1").state, "queued")
        got = self.wait_state("expire-1", "expired", timeout=8.0)
        took = time.monotonic() - start
        self.assertGreaterEqual(took, 1.5, "expired before queueSeconds (2) passed")
        self.assertLess(took, 5.0, "expired far later than queueSeconds (2)")
        self.assertEqual(got.delivery, [], got)
        r = self.beckon("get-request", "--request-id", "expire-1")
        self.assertClientState(r, "expire-1", "expired", 1)

    def test_cancel_queued_zeep(self):
        dev = self.device(answers=False, hold_ms=3000)  # registers after the cancel
        status = self.contact_me(deviceId=dev.instance, requestId="cancel-queued-1",
                                 server="crm.example.com:8443", queueSeconds=30, waitMs=0)
        self.assertEqual(status.state, "queued", status)
        got = self.cancel_request("cancel-queued-1")
        self.assertEqual(got.requestId, "cancel-queued-1", got)
        self.assertEqual(got.state, "cancelled", got)
        self.assertEqual(self.get_request("cancel-queued-1").state, "cancelled")
        dev.register()
        self.assertNoNotifyFor(dev, "cancel-queued-1", settle=1.0)
        self.assertEqual(dev.notifies(), [], dev.sipp.report())
        self.assertEqual(self.get_request("cancel-queued-1").state, "cancelled")
        # cancelling again changes nothing
        self.assertEqual(self.cancel_request("cancel-queued-1").state, "cancelled")

    def test_cancel_queued_client(self):
        dev = self.device(answers=False, hold_ms=3000, transport="tcp")
        r = self.beckon("contact-me", "--device", dev.user, "--request-id", "cancel-queued-2",
                        "--queue-seconds", "30", "--wait-ms", "0")
        self.assertClientState(r, "cancel-queued-2", "queued", 1)
        # cancel-request exits 0 when answered (beckon's documented exit status)
        r = self.beckon("cancel-request", "--request-id", "cancel-queued-2")
        self.assertClientState(r, "cancel-queued-2", "cancelled", 0)
        out = self.beckon_json(1, "get-request", "--request-id", "cancel-queued-2")
        self.assertEqual(out["state"], "cancelled", out)
        dev.register()
        self.assertNoNotifyFor(dev, "cancel-queued-2", settle=1.0)
        self.assertEqual(dev.notifies(), [], dev.sipp.report())

    def test_cancel_delivered_stays_delivered(self):
        dev = self.device(notify_status=200, hold_ms=5000).register()
        status = self.contact_me(deviceId=dev.instance, requestId="cancel-delivered-1")
        self.assertEqual(status.state, "delivered", status)
        got = self.cancel_request("cancel-delivered-1")
        self.assertEqual(got.state, "delivered", got)
        self.assertDelivery(got, dev, 200)
        r = self.beckon("cancel-request", "--request-id", "cancel-delivered-1")
        self.assertClientState(r, "cancel-delivered-1", "delivered", 0)
        self.assertEqual(self.get_request("cancel-delivered-1").state, "delivered")
        self.assertEqual(len(dev.notifies_for("cancel-delivered-1")), 1, dev.sipp.report())


class Idempotency(OperationsBase):

    FIELDS = dict(server="crm.example.com:8443", protocol="https", path="/sync/inbox",
                  function="inbox")

    def test_same_content_sends_nothing_new_zeep(self):
        dev = self.device(notify_status=200, hold_ms=5000).register()
        first = self.contact_me(deviceId=dev.instance, requestId="idem-1", **self.FIELDS)
        self.assertEqual(first.state, "delivered", first)
        again = self.contact_me(deviceId=dev.instance, requestId="idem-1", **self.FIELDS)
        self.assertEqual(again.state, "delivered", again)
        self.assertEqual(len(again.delivery), 1, again)
        self.assertEqual(utc(again.delivery[0].at), utc(first.delivery[0].at), again)
        time.sleep(0.5)
        self.assertEqual(len(dev.notifies_for("idem-1")), 1, dev.sipp.report())
        # different content, same requestId
        msg = self.assertSoapFault("RequestIdConflict", self.contact_me, deviceId=dev.instance,
                                   requestId="idem-1", **dict(self.FIELDS, path="/other"))
        self.assertTrue(msg, "the fault has a message")
        self.assertSoapFault("RequestIdConflict", self.contact_me, deviceId=dev.user,
                             requestId="idem-1", **self.FIELDS)
        time.sleep(0.3)
        self.assertEqual(len(dev.notifies_for("idem-1")), 1, dev.sipp.report())
        self.assertEqual(self.get_request("idem-1").state, "delivered")

    def test_same_content_sends_nothing_new_client(self):
        dev = self.device(notify_status=200, hold_ms=5000, transport="tcp").register()
        args = ["contact-me", "--device", dev.instance, "--request-id", "idem-cli-1",
                "--callback", "crm.example.com:8443", "--path", "/sync/inbox"]
        self.assertClientState(self.beckon(*args), "idem-cli-1", "delivered", 0)
        self.assertClientState(self.beckon(*args), "idem-cli-1", "delivered", 0)
        r = self.beckon(*(args[:-1] + ["/other"]))
        self.assertBeckon(r, 2)
        self.assertIn("RequestIdConflict", r.stdout + r.stderr)
        out = self.beckon_json(2, *(args[:-1] + ["/other"]))
        self.assertEqual(out.get("fault", {}).get("code"), "RequestIdConflict", out)
        time.sleep(0.3)
        self.assertEqual(len(dev.notifies_for("idem-cli-1")), 1, dev.sipp.report())

    def test_same_content_while_queued(self):
        dev = self.device(notify_status=200, hold_ms=3000)
        for _ in range(2):
            status = self.contact_me(deviceId=dev.instance, requestId="idem-queued-1",
                                     queueSeconds=30, waitMs=0, **self.FIELDS)
            self.assertEqual(status.state, "queued", status)
        dev.register()
        self.wait_state("idem-queued-1", "delivered", timeout=5.0)
        time.sleep(0.5)
        self.assertEqual(len(dev.notifies_for("idem-queued-1")), 1, dev.sipp.report())


class GetDevice(OperationsBase):

    def assertBinding(self, b, dev, mac: bytes | None = None):
        self.assertEqual(b.contact, dev.contact_uri, b)
        self.assertEqual(b.aor, dev.aor, b)
        self.assertEqual(bare(b.instance), bare(dev.instance), b)
        if mac is None:
            self.assertFalse(b.mac, b)
        else:
            self.assertEqual(b.mac, ":".join(f"{x:02x}" for x in mac), b)
        self.assertEqual(b.transport.lower(), dev.transport, b)
        # where the REGISTER really came from, not the Contact's fake address
        if dev.transport == "udp":
            self.assertEqual(b.source, dev.source, b)
        else:
            host, _, port = b.source.rpartition(":")
            self.assertEqual(host, LOOPBACK, b)
            self.assertTrue(port.isdigit() and int(port) != 5999, b)
        self.assertNotIn(FAKE_NAT_HOSTPORT, b.source, b)
        expires = utc(b.expires)
        now = datetime.datetime.now(UTC)
        self.assertGreater(expires, now, b)
        self.assertLess(expires, now + datetime.timedelta(seconds=dev.expires + 5), b)
        self.assertEqual(len(b.subscription), 1, b)
        s = b.subscription[0]
        self.assertEqual(s.package, PACKAGE, b)
        self.assertEqual(s.format, "text", b)
        self.assertEqual(s.how, "implicit", b)

    def test_by_instance_mac_aor_and_number(self):
        user = None
        uuid_dev = self.device(answers=False, hold_ms=8000, transport="udp").register()
        user = uuid_dev.user
        mac = random_mac()
        mac_dev = self.device(answers=False, hold_ms=8000, transport="tcp", user=user,
                              instance=f"<urn:dev:mac:{mac.hex()}>").register()

        d = self.get_device(uuid_dev.instance)
        self.assertEqual(d.deviceId, uuid_dev.instance, d)
        self.assertEqual(len(d.binding), 1, d)
        self.assertBinding(d.binding[0], uuid_dev)

        for mac_text in ("-".join(f"{x:02X}" for x in mac), mac.hex(),
                         ":".join(f"{x:02x}" for x in mac), mac_dev.instance):
            with self.subTest(device_id=mac_text):
                d = self.get_device(mac_text)
                self.assertEqual(d.deviceId, mac_text, d)
                self.assertEqual(len(d.binding), 1, d)
                self.assertBinding(d.binding[0], mac_dev, mac=mac)

        for device_id in (f"sip:{user}@{DOMAIN}", user):
            with self.subTest(device_id=device_id):
                d = self.get_device(device_id)
                self.assertEqual(len(d.binding), 2, d)
                by_transport = {b.transport.lower(): b for b in d.binding}
                self.assertBinding(by_transport["udp"], uuid_dev)
                self.assertBinding(by_transport["tcp"], mac_dev, mac=mac)

        # the client: text and JSON
        r = self.beckon("get-device", "--device", uuid_dev.instance)
        self.assertBeckon(r, 0)
        for text in (uuid_dev.contact_uri, uuid_dev.source, PACKAGE):
            self.assertIn(text, r.stdout)
        out = self.beckon_json(0, "get-device", "--device", user)
        flat = json.dumps(out)
        for text in (uuid_dev.source, mac_dev.contact_uri, ":".join(f"{x:02x}" for x in mac),
                     PACKAGE):
            self.assertIn(json.dumps(text)[1:-1], flat, out)
        bindings = out.get("bindings", out.get("binding"))
        self.assertIsInstance(bindings, list, out)
        self.assertEqual(len(bindings), 2, out)
        # nothing was sent to the devices
        self.assertEqual(uuid_dev.notifies() + mac_dev.notifies(), [])

    def test_unregistered_device_has_no_binding(self):
        device_id = f"<urn:uuid:{uuid.uuid4()}>"
        try:
            d = self.get_device(device_id)
        except zeep.exceptions.Fault as e:
            from harness import fault_detail
            self.assertEqual(fault_detail(e)[0], "UnknownDevice", e)
        else:
            self.assertEqual(d.binding, [], d)


# InvalidArgument: (field named, the fields that break it). deviceId and
# requestId are filled in where a case does not set them.
INVALID = [
    ("deviceId", {"deviceId": ""}),
    ("deviceId", {"deviceId": "x" * 257}),
    ("deviceId", {"deviceId": "sip:"}),
    ("deviceId", {"deviceId": "sip:a@b\r\nX: y"}),
    ("requestId", {"requestId": ""}),
    ("requestId", {"requestId": "r" * 129}),
    ("requestId", {"requestId": "bad id"}),
    ("requestId", {"requestId": "a/b"}),
    ("requestId", {"requestId": "caf\u00e9"}),
    ("server", {"server": "crm example.com"}),
    ("server", {"server": "crm.example.com:0"}),
    ("server", {"server": "crm.example.com:65536"}),
    ("server", {"server": "crm.example.com:https"}),
    ("server", {"server": "[2001:db8::7"}),
    ("server", {"server": "[zz]:443"}),
    ("server", {"server": "-crm.example.com"}),
    ("server", {"server": "crm.example.com\r\nX: y"}),
    ("port", {"server": "crm.example.com:8443", "port": 8443}),
    ("port", {"port": 8443}),
    ("port", {"server": "crm.example.com", "port": 0}),
    ("protocol", {"protocol": "ht tp"}),
    ("protocol", {"protocol": "p" * 33}),
    ("path", {"path": "sync/inbox"}),
    ("path", {"path": "/a\r\nX: y"}),
    ("path", {"path": "/a\nb"}),
    ("alternateServer", {"alternateServer": ["bad host"]}),
    ("alternateServer", {"alternateServer": ["198.51.100.7:8443", "198.51.100.7:0"]}),
    ("function", {"function": "in box"}),
    ("function", {"function": "f" * 65}),
    ("timeSlot", {"timeSlot": "tomorrow"}),
    ("timeSlot", {"timeSlot": "2026-11-21T10:00:00Z"}),
    ("timeSlot", {"timeSlot": "2026-11-21T10:00:00Z/PT5M/x"}),
    ("package", {"package": "no-such-package"}),
    ("package", {"package": "bad package"}),
    ("waitMs", {"waitMs": 30001}),
    ("queueSeconds", {"queueSeconds": 604801}),
]


class InvalidArguments(OperationsBase):

    def test_contact_me_fields(self):
        dev = self.device(answers=False, hold_ms=15000).register()
        for n, (name, fields) in enumerate(INVALID):
            fields = dict(fields)
            fields.setdefault("deviceId", dev.instance)
            fields.setdefault("requestId", f"invalid-{n}")
            fields.setdefault("waitMs", 0)
            with self.subTest(field=name, fields=fields):
                msg = self.assertSoapFault("InvalidArgument", self.zeep().service.ContactMe,
                                           names=name, **fields)
                self.assertGreater(len(msg), len(name) + 2, "the message says what is wrong")
        # none was kept: each requestId is unknown
        for n, (name, fields) in enumerate(INVALID):
            if "requestId" not in fields:
                with self.subTest(lookup=f"invalid-{n}"):
                    self.assertSoapFault("InvalidArgument", self.get_request, f"invalid-{n}",
                                         names="requestId")
        self.assertEqual(dev.notifies(), [], dev.sipp.report())

    def test_values_zeep_will_not_send(self):
        # Beyond the WSDL's types (9 alternateServer, a port over 65535, a
        # negative count): zeep refuses to send them, so raw SOAP. Still an
        # InvalidArgument naming the field.
        dev = self.device(answers=False, hold_ms=5000).register()
        device_id = dev.instance.replace("<", "&lt;").replace(">", "&gt;")
        alts = "".join(f"<cm:alternateServer>198.51.100.{i}:8443</cm:alternateServer>"
                       for i in range(1, 10))
        cases = [
            ("alternateServer", f"<cm:server>crm.example.com</cm:server>{alts}"),
            ("port", "<cm:server>crm.example.com</cm:server><cm:port>70000</cm:port>"),
            ("queueSeconds", "<cm:queueSeconds>-1</cm:queueSeconds>"),
            ("waitMs", "<cm:waitMs>soon</cm:waitMs>"),
        ]
        for n, (name, xml) in enumerate(cases):
            with self.subTest(field=name, xml=xml):
                status, text = soap_post(self.beckond, (
                    f"<cm:ContactMe><cm:deviceId>{device_id}</cm:deviceId>"
                    f"<cm:requestId>invalid-raw-{n}</cm:requestId>{xml}</cm:ContactMe>"))
                code, message = fault_of_xml(text)
                self.assertEqual(status, 500, text)
                self.assertEqual(code, "InvalidArgument", text)
                self.assertTrue((message or "").startswith(f"{name}:"),
                                f"the message should start with '{name}:': {message!r}")
        time.sleep(0.3)
        self.assertEqual(dev.notifies(), [], dev.sipp.report())

    def test_other_operations(self):
        self.assertSoapFault("InvalidArgument", self.get_request, "bad id", names="requestId")
        self.assertSoapFault("InvalidArgument", self.get_request, "", names="requestId")
        self.assertSoapFault("InvalidArgument", self.cancel_request, "r" * 129,
                             names="requestId")
        self.assertSoapFault("InvalidArgument", self.get_device, "", names="deviceId")
        self.assertSoapFault("InvalidArgument", self.get_device, "sip:", names="deviceId")

    def test_client_reports_invalid_argument(self):
        r = self.beckon("contact-me", "--device", "7546600000", "--request-id", "bad id")
        self.assertBeckon(r, 2)
        self.assertIn("InvalidArgument", r.stdout + r.stderr)
        self.assertIn("requestId", r.stdout + r.stderr)
        r = self.beckon("get-device", "--device", "sip:")
        self.assertBeckon(r, 2)
        self.assertIn("InvalidArgument", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
