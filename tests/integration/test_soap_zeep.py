"""The SOAP API as an application server sees it: python3-zeep loads the WSDL
that beckond serves and calls ContactMe.

Run with /usr/bin/python3 (Debian's python3-zeep).
"""

import datetime
import time
import unittest

from harness import (BeckondTestCase, Contact, LOOPBACK, NS, PACKAGE, fault_detail)

import requests
import zeep.exceptions

EVERY = Contact(
    request_id="all-fields.1_~:x-Z9",
    server="crm.example.com:8443",
    protocol="https",
    path="/sync/inbox;v=2?q=a%20b&x=1",  # & < > must survive the XML round trip
    alt_servers=["198.51.100.7:8443", "[2001:db8::7]:8443"],
    function="inbox",
    time_slot="2026-11-21T10:00:00Z/PT5M",
)


class SoapZeep(BeckondTestCase):

    def contact_me(self, **fields):
        fields.setdefault("waitMs", 10000)
        return self.zeep().service.ContactMe(**fields)

    def assertFault(self, code, names=None, **fields):
        with self.assertRaises(zeep.exceptions.Fault) as cm:
            self.contact_me(**fields)
        got_code, message = fault_detail(cm.exception)
        self.assertEqual(got_code, code, f"fault {cm.exception.message!r}, detail code "
                                         f"{got_code!r}, message {message!r}")
        if names:
            self.assertIn(names, message or "", f"the fault message should name {names}")
        return message

    def test_wsdl_served_with_address_of_the_host_used(self):
        s = requests.Session()
        s.trust_env = False
        with s:
            port = self.beckond.soap_port
            r = s.get(self.beckond.wsdl_url, timeout=10)
            self.assertEqual(r.status_code, 200)
            self.assertIn(NS, r.text)
            self.assertIn(f'location="http://{LOOPBACK}:{port}/', r.text)
            r = s.get(self.beckond.wsdl_url, headers={"Host": f"localhost:{port}"}, timeout=10)
            self.assertEqual(r.status_code, 200)
            self.assertIn(f'location="http://localhost:{port}/', r.text)

    def test_every_field_delivered_exactly(self):
        dev = self.device(transport="udp", expect=EVERY).register()
        before = datetime.datetime.now(datetime.timezone.utc)
        status = self.contact_me(
            deviceId=dev.instance,
            requestId=EVERY.request_id,
            server=EVERY.server,
            protocol=EVERY.protocol,
            path=EVERY.path,
            alternateServer=EVERY.alt_servers,
            function=EVERY.function,
            timeSlot=EVERY.time_slot,
            package=PACKAGE,
            queueSeconds=0,
            waitMs=10000,
        )
        self.assertEqual(status.requestId, EVERY.request_id)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual(len(status.delivery), 1, status)
        d = status.delivery[0]
        self.assertEqual(d.sipStatus, 200, status)
        self.assertEqual(d.transport.lower(), "udp", status)
        self.assertIn("127.0.0.2:5999", d.contact, status)
        self.assertIsInstance(d.at, datetime.datetime, status)
        at = d.at if d.at.tzinfo else d.at.replace(tzinfo=datetime.timezone.utc)
        self.assertLess(abs((at - before).total_seconds()), 60, status)
        # SIPp checked every line; this compares the bytes once more
        n = self.assertDeviceNotified(dev)
        self.assertIn(b"\r\npath: /sync/inbox;v=2?q=a%20b&x=1\r\n", n.body)

    def test_unknown_device(self):
        self.assertFault("UnknownDevice", deviceId="<urn:uuid:00000000-0000-4000-8000-000000000000>",
                         requestId="unknown-1")
        self.assertFault("UnknownDevice", deviceId="sip:nobody@example.com",
                         requestId="unknown-2")

    def assertNothingSent(self, dev, settle=0.5):
        time.sleep(settle)
        self.assertEqual(dev.notifies(), [], dev.sipp.report())

    def test_request_id_with_space_is_invalid(self):
        dev = self.device(transport="udp", answers=False, hold_ms=5000).register()
        self.assertFault("InvalidArgument", names="requestId",
                         deviceId=dev.instance, requestId="bad id")
        self.assertNothingSent(dev)

    def test_path_with_crlf_is_invalid(self):
        dev = self.device(transport="udp", answers=False, hold_ms=5000).register()
        self.assertFault("InvalidArgument", names="path",
                         deviceId=dev.instance, requestId="crlf-1",
                         server="crm.example.com", path="/a\r\nEvil: header")
        self.assertNothingSent(dev)


if __name__ == "__main__":
    unittest.main()
