"""Delivery of contact-me NOTIFYs to SIPp devices (contract: "The NOTIFY",
outcomes of one NOTIFY to one binding, queueSeconds).

- the XML body (Accept lists application/P+xml first), byte for byte; the
  text body when text is listed first
- two devices under one address of record: both notified, one delivery each
- queue-then-register: ContactMe before the device registers
- retry after a timeout: the first NOTIFY unanswered, the retry answered
- a device answering 481: the binding is unsubscribed, not retried
- a device answering 503 with queueSeconds 0: failed

Run with /usr/bin/python3 (Debian's python3-zeep).
"""

import time
import unittest
import xml.etree.ElementTree as ET

from devices import TEXT_TYPE, XML_TYPE, DevicesTestCase, xml_body
from harness import NS, PACKAGE, Contact, fault_detail, new_instance, new_user

import zeep.exceptions


def ids(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns() % 10**9}"


class Bodies(DevicesTestCase):

    def test_xml_body_exact(self):
        rid = ids("xml")
        contact = Contact(request_id=rid, server="crm.example.com:8443", protocol="https",
                          path="/sync/inbox?a=1&b=<2>", alt_servers=["198.51.100.7:8443"],
                          function="inbox", time_slot="2026-11-21T10:00:00Z/PT5M")
        body = xml_body(contact)
        dev = self.phone("notify_xml_ok.xml", transport="udp",
                         accept=f"{XML_TYPE}, {TEXT_TYPE}",
                         keys={"x_state": "pending", "x_request_id": rid,
                               "x_server": contact.server,
                               "x_path": "/sync/inbox?a=1&amp;b=&lt;2&gt;",
                               "body": body.decode()}).register()
        status = self.contact_me(deviceId=dev.instance, requestId=rid, server=contact.server,
                                 protocol=contact.protocol, path=contact.path,
                                 alternateServer=contact.alt_servers, function=contact.function,
                                 timeSlot=contact.time_slot, waitMs=10000)
        self.assertEqual(status.state, "delivered", status)
        self.assertDeliveries(status, [200])
        rc = dev.sipp.wait(15)
        self.assertEqual(rc, 0, f"the device's XML checks failed\n{dev.sipp.report()}")
        notifies = dev.notify_transactions()
        self.assertEqual(len(notifies), 1, [n.raw for n in notifies])
        n = notifies[0]
        self.assertEqual(n.first_line, f"NOTIFY {dev.contact_uri} SIP/2.0")
        self.assertEqual(n.headers("Event"), [PACKAGE])
        self.assertEqual(n.headers("Content-Type"), [XML_TYPE])
        self.assertEqual(n.body, body, n.raw)
        self.assertEqual(n.headers("Content-Length"), [str(len(n.body))])
        root = ET.fromstring(n.body)
        self.assertEqual(root.tag, f"{{{NS}}}contact-me")
        self.assertEqual([(c.tag.split("}")[1], c.text) for c in root],
                         [("state", "pending"), ("request-id", rid),
                          ("server", "crm.example.com:8443"), ("protocol", "https"),
                          ("path", "/sync/inbox?a=1&b=<2>"), ("alt-server", "198.51.100.7:8443"),
                          ("function", "inbox"), ("time-slot", "2026-11-21T10:00:00Z/PT5M")])

    def test_text_body_when_text_is_listed_first(self):
        rid = ids("text-first")
        contact = Contact(request_id=rid, server="crm.example.com")
        dev = self.phone("notify_answer.xml", transport="tcp", accept=f"{TEXT_TYPE}, {XML_TYPE}",
                         subst={"ANSWER_CODE": "200"}, keys={"answer_reason": "OK"}).register()
        status = self.contact_me(deviceId=dev.instance, requestId=rid, server=contact.server,
                                 waitMs=10000)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual(dev.sipp.wait(15), 0, dev.sipp.report())
        notifies = dev.notify_transactions()
        self.assertEqual(len(notifies), 1, [n.raw for n in notifies])
        self.assertEqual(notifies[0].headers("Content-Type"), [TEXT_TYPE])
        self.assertEqual(notifies[0].body, contact.body())


class TwoDevicesOneAor(DevicesTestCase):
    """Two SIPp devices (distinct instance ids and Contacts, one over UDP, one
    over TCP) registered under one address of record."""

    def check(self, device_id_of):
        user = new_user()
        rid = ids("two")
        contact = Contact(request_id=rid, server="crm.example.com:8443", path="/both")
        devs = [self.phone("device_notify_ok.xml", scenario="device.xml", transport=t, user=user,
                           contact_hostport=hp, expect=contact)
                for t, hp in (("udp", "127.0.0.2:5998"), ("tcp", "127.0.0.2:5999"))]
        self.assertNotEqual(devs[0].instance, devs[1].instance)
        for d in devs:
            d.register()
        status = self.contact_me(deviceId=device_id_of(devs[0]), requestId=rid,
                                 server=contact.server, path=contact.path, waitMs=10000)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual(sorted(d.sipStatus for d in status.delivery), [200, 200], status)
        self.assertEqual(sorted(d.transport.lower() for d in status.delivery), ["tcp", "udp"],
                         status)
        for hp in ("127.0.0.2:5998", "127.0.0.2:5999"):
            self.assertEqual(len([d for d in status.delivery if hp in d.contact]), 1,
                             f"one delivery to the contact at {hp}: {status}")
        for d in devs:
            self.assertEqual(d.sipp.wait(15), 0, d.sipp.report())
            notifies = d.notify_transactions()
            self.assertEqual(len(notifies), 1, [n.raw for n in notifies])
            self.assertEqual(notifies[0].first_line, f"NOTIFY {d.contact_uri} SIP/2.0")
            self.assertEqual(notifies[0].body, contact.body())

    def test_address_of_record(self):
        self.check(lambda d: d.aor)

    def test_directory_number(self):
        self.check(lambda d: d.user)


class QueueThenRegister(DevicesTestCase):

    def test_queued_request_delivered_when_the_device_registers(self):
        rid = ids("queued")
        instance = new_instance()
        contact = Contact(request_id=rid, server="crm.example.com:8443")
        start = time.monotonic()
        status = self.contact_me(deviceId=instance, requestId=rid, server=contact.server,
                                 queueSeconds=30, waitMs=300)
        self.assertLess(time.monotonic() - start, 5.0, "ContactMe did not answer after waitMs")
        self.assertEqual(status.state, "queued", status)
        self.assertEqual(list(status.delivery), [], status)
        self.assertEqual(self.status_of(rid).state, "queued")

        dev = self.phone("device_notify_ok.xml", scenario="device.xml", transport="udp",
                         instance=instance, expect=contact).register()
        final = self.wait_state(rid, {"delivered", "failed", "expired", "cancelled"}, 15)
        self.assertEqual(final.state, "delivered", final)
        self.assertDeliveries(final, [200])
        self.assertIn("127.0.0.2:5999", final.delivery[0].contact, final)
        self.assertEqual(dev.sipp.wait(15), 0, dev.sipp.report())
        self.assertEqual([n.body for n in dev.notify_transactions()], [contact.body()])


class RetryAfterTimeout(DevicesTestCase):
    notify_timeout_ms = 1000

    def test_unanswered_notify_is_retried_while_queued(self):
        # TCP: no retransmissions, so the second NOTIFY the device sees is
        # beckond's retry (a new transaction)
        dev = self.phone("notify_ignore_first.xml", transport="tcp").register()
        rid = ids("retry")
        start = time.monotonic()
        status = self.contact_me(deviceId=dev.instance, requestId=rid, server="crm.example.com",
                                 queueSeconds=30, waitMs=15000)
        took = time.monotonic() - start
        self.assertEqual(status.state, "delivered", status)
        self.assertDeliveries(status, [408, 200])
        self.assertGreaterEqual(took, 1.0, "delivered before the first NOTIFY could time out")
        self.assertLess(took, 10.0)
        self.assertEqual(dev.sipp.wait(15), 0, dev.sipp.report())
        self.assertIn("ignored the first NOTIFY", dev.sipp.read("logs"))
        notifies = dev.notify_transactions()
        self.assertEqual(len(notifies), 2, [n.raw for n in notifies])
        want = f"state: pending\r\nrequest-id: {rid}\r\nserver: crm.example.com\r\n".encode()
        self.assertEqual([n.body for n in notifies], [want, want])
        self.assertNotEqual(notifies[0].headers("CSeq") + notifies[0].headers("Call-ID"),
                            notifies[1].headers("CSeq") + notifies[1].headers("Call-ID"),
                            "the retry is a new transaction")
        self.assertEqual([a.first_line for a in dev.answers()], ["SIP/2.0 200 OK"])
        final = self.status_of(rid)
        self.assertEqual(final.state, "delivered", final)
        self.assertDeliveries(final, [408, 200])


class FinalAnswers(DevicesTestCase):

    def answering(self, code, reason, transport="udp"):
        return self.phone("notify_answer.xml", transport=transport,
                          subst={"ANSWER_CODE": str(code)},
                          keys={"answer_reason": reason}).register()

    def test_481_unsubscribes_the_binding(self):
        dev = self.answering(481, "Call/Transaction Does Not Exist")
        rid = ids("gone")
        status = self.contact_me(deviceId=dev.instance, requestId=rid, server="crm.example.com",
                                 waitMs=10000)
        self.assertEqual(status.state, "failed", status)
        self.assertDeliveries(status, [481])
        self.assertEqual(dev.sipp.wait(15), 0, dev.sipp.report())
        self.assertEqual(len(dev.notify_transactions()), 1)
        # the binding no longer takes contact-me requests, by any of its ids
        for device_id in (dev.instance, dev.aor):
            with self.assertRaises(zeep.exceptions.Fault) as cm:
                self.contact_me(deviceId=device_id, requestId=ids("gone-again"),
                                server="crm.example.com", waitMs=2000)
            self.assertEqual(fault_detail(cm.exception)[0], "UnknownDevice",
                             f"after 481, ContactMe to {device_id}: {cm.exception.message!r}")

    def test_481_is_not_retried_while_queued(self):
        dev = self.answering(481, "Subscription Does Not Exist", transport="tcp")
        rid = ids("gone-queued")
        status = self.contact_me(deviceId=dev.instance, requestId=rid, server="crm.example.com",
                                 queueSeconds=3, waitMs=1000)
        # no subscribed binding left: the request waits for one
        self.assertEqual(status.state, "queued", status)
        self.assertDeliveries(status, [481])
        # queueSeconds end with NOTIFYs sent and none answered 2xx: failed
        # (docs/decisions.md), and the unsubscribed binding was never retried
        final = self.wait_state(rid, {"delivered", "failed", "expired", "cancelled"}, 10)
        self.assertEqual(final.state, "failed", final)
        self.assertDeliveries(final, [481])
        self.assertEqual(len(dev.notify_transactions()), 1,
                         [n.raw for n in dev.notify_transactions()])

    def test_481_then_the_device_subscribes_again(self):
        first = self.answering(481, "Subscription Does Not Exist")
        rid = ids("resubscribe")
        contact = Contact(request_id=rid, server="crm.example.com:8443")
        status = self.contact_me(deviceId=first.instance, requestId=rid, server=contact.server,
                                 queueSeconds=20, waitMs=1000)
        self.assertEqual(status.state, "queued", status)
        self.assertDeliveries(status, [481])
        self.assertEqual(first.sipp.wait(15), 0, first.sipp.report())
        # the same device registers again (new Call-ID, same Contact and
        # instance): subscribed again, it gets the queued request
        again = self.phone("device_notify_ok.xml", scenario="device.xml", transport="udp",
                           user=first.user, instance=first.instance, expect=contact,
                           name=f"again-{first.user}").register()
        final = self.wait_state(rid, {"delivered", "failed", "expired", "cancelled"}, 15)
        self.assertEqual(final.state, "delivered", final)
        self.assertDeliveries(final, [481, 200])
        self.assertEqual(again.sipp.wait(15), 0, again.sipp.report())

    def test_503_with_queue_seconds_0_fails(self):
        dev = self.answering(503, "Service Unavailable")
        rid = ids("busy")
        status = self.contact_me(deviceId=dev.instance, requestId=rid, server="crm.example.com",
                                 queueSeconds=0, waitMs=10000)
        self.assertEqual(status.state, "failed", status)
        self.assertDeliveries(status, [503])
        self.assertEqual(dev.sipp.wait(15), 0, dev.sipp.report())
        self.assertEqual(len(dev.notify_transactions()), 1)
        self.assertEqual(self.status_of(rid).state, "failed")


if __name__ == "__main__":
    unittest.main()
