"""Devices register over UDP and TCP from behind a "NAT" and get their NOTIFY.

Each device's Contact claims 127.0.0.2:5999, where nobody listens: the
NOTIFY reaches the device only if beckond sends it back over the
registration's own flow (the TCP connection, or the UDP source address and
port). The device (SIPp) checks the request line, Event,
Subscription-State, Content-Type and every body line, and answers 200; the
test then compares the NOTIFY's bytes from SIPp's message trace.
"""

import os
import random
import signal
import tempfile
import unittest
import uuid
from pathlib import Path

from harness import Beckond, BeckondTestCase, Contact, run_beckon


class RegisterNotify(BeckondTestCase):

    def contact_me_zeep(self, device_id, contact: Contact, **extra):
        fields = {"deviceId": device_id, "requestId": contact.request_id, "waitMs": 10000}
        if contact.server is not None:
            fields["server"] = contact.server
        for name, value in (("protocol", contact.protocol), ("path", contact.path),
                            ("function", contact.function), ("timeSlot", contact.time_slot)):
            if value is not None:
                fields[name] = value
        if contact.alt_servers:
            fields["alternateServer"] = contact.alt_servers
        fields.update(extra)
        return self.zeep().service.ContactMe(**fields)

    def assertDelivered(self, status, device, request_id):
        self.assertEqual(status.requestId, request_id)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual(len(status.delivery), 1, status)
        d = status.delivery[0]
        self.assertEqual(d.sipStatus, 200, status)
        self.assertEqual(d.transport.lower(), device.transport, status)
        self.assertIn("127.0.0.2:5999", d.contact, status)

    def test_udp_device_by_instance_id_zeep(self):
        expect = Contact(request_id="udp-instance-1", server="crm.example.com:8443",
                         protocol="https", path="/sync/inbox")
        dev = self.device(transport="udp", expect=expect).register()
        status = self.contact_me_zeep(dev.instance, expect)
        self.assertDelivered(status, dev, expect.request_id)
        self.assertDeviceNotified(dev)

    def test_tcp_device_by_instance_id_zeep(self):
        expect = Contact(request_id="tcp-instance-1", server="crm.example.com:8443",
                         protocol="https", path="/sync/inbox")
        dev = self.device(transport="tcp", expect=expect).register()
        status = self.contact_me_zeep(dev.instance, expect)
        self.assertDelivered(status, dev, expect.request_id)
        self.assertDeviceNotified(dev)

    def test_tcp_device_by_address_of_record_client(self):
        expect = Contact(request_id="tcp-aor-1", server="crm.example.com:8443",
                         protocol="https", path="/sync/inbox")
        dev = self.device(transport="tcp", expect=expect).register()
        r = run_beckon(self.beckond, ["contact-me", "--device", dev.aor,
                                      "--request-id", expect.request_id,
                                      "--callback", "crm.example.com:8443",
                                      "--protocol", "https", "--path", "/sync/inbox",
                                      "--wait-ms", "10000"])
        self.assertEqual(r.returncode, 0, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertIn(f"request {expect.request_id}: delivered", r.stdout)
        self.assertDeviceNotified(dev)

    def test_udp_device_by_directory_number_client(self):
        expect = Contact(request_id="udp-dn-1", server="crm.example.com", function="inbox")
        dev = self.device(transport="udp", expect=expect).register()
        r = run_beckon(self.beckond, ["contact-me", "--device", dev.user,
                                      "--request-id", expect.request_id,
                                      "--callback", "crm.example.com", "--function", "inbox",
                                      "--wait-ms", "10000"])
        self.assertEqual(r.returncode, 0, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertIn(f"request {expect.request_id}: delivered", r.stdout)
        self.assertDeviceNotified(dev)

    def test_udp_device_by_address_of_record_zeep(self):
        # port apart from server: the body's server line carries it
        expect = Contact(request_id="udp-aor-1", server="crm.example.com:8443")
        dev = self.device(transport="udp", expect=expect).register()
        status = self.contact_me_zeep(dev.aor, expect, server="crm.example.com", port=8443)
        self.assertDelivered(status, dev, expect.request_id)
        self.assertDeviceNotified(dev)

    def test_tcp_device_by_mac_of_dev_mac_instance(self):
        mac = random_mac()
        expect = Contact(request_id="tcp-mac-1", server="crm.example.com:8443")
        dev = self.device(transport="tcp", expect=expect,
                          instance=f"<urn:dev:mac:{mac.hex()}>").register()
        status = self.contact_me_zeep("-".join(f"{b:02X}" for b in mac), expect)
        self.assertDelivered(status, dev, expect.request_id)
        self.assertDeviceNotified(dev)

    def test_udp_device_by_mac_of_time_based_uuid(self):
        mac = random_mac()
        expect = Contact(request_id="udp-mac-1", server="crm.example.com:8443")
        instance = f"<urn:uuid:{uuid.uuid1(node=int.from_bytes(mac, 'big'))}>"
        dev = self.device(transport="udp", expect=expect, instance=instance).register()
        status = self.contact_me_zeep(":".join(f"{b:02x}" for b in mac), expect)
        self.assertDelivered(status, dev, expect.request_id)
        self.assertDeviceNotified(dev)


def random_mac() -> bytes:
    """A unicast MAC address nobody else in this test run uses."""
    return bytes([0x00, 0x04, 0xf2]) + random.randbytes(3)


class Lifecycle(unittest.TestCase):
    """beckond stops cleanly on SIGTERM and SIGINT."""

    def check(self, sig):
        with tempfile.TemporaryDirectory(prefix="beckon-Lifecycle-",
                                         dir=os.environ.get("BECKON_TEST_TMPDIR")) as work:
            b = Beckond(Path(work)).start()
            try:
                b.proc.send_signal(sig)
                rc = b.proc.wait(timeout=10)
            finally:
                b.stop()
            self.assertEqual(rc, 0, f"beckond exited {rc} on {sig.name}; its log:\n{b.log()}")

    def test_sigterm(self):
        self.check(signal.SIGTERM)

    def test_sigint(self):
        self.check(signal.SIGINT)


if __name__ == "__main__":
    unittest.main()
