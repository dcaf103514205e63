"""Explicit subscriptions, RFC 6665, against beckond started for real.

The subscriber is SIPp (scenarios/sub_*.xml): its SUBSCRIBE's Contact and
Via claim 127.0.0.2:5999, where nothing listens, so answers and NOTIFYs reach
it only over the SUBSCRIBE's own flow (UDP source address, TCP connection).
The NOTIFYs of the dialog carry its Call-ID and arrive in the main scenario,
which checks them by regular expression and answers; the test then checks
dialog, headers and bodies exactly from SIPp's message trace:

- life cycle (sub_life.xml): 200 with To-tag, Expires, Contact; the
  immediate NOTIFY `state: idle` inside the dialog; a ContactMe (by address
  of record or instance id) delivered inside the dialog; refresh (200, NOTIFY
  with the current state); Expires: 0 (200, final NOTIFY terminated); then
  ContactMe is UnknownDevice. UDP and TCP; text and XML bodies; Expires above
  sip.max_expires shortened
- expiry (sub_expire.xml, sip.min_expires = 1): Expires: 2, the final NOTIFY
  comes unprompted
- 489 with Allow-Events, 423 with Min-Expires (sub_refused.xml)
- a request queued before the SUBSCRIBE is the first NOTIFY (sub_hold.xml)
- one NOTIFY per request per device: registered and subscribed with one
  instance; two dialogs from one instance (sub_hold.xml, device_silent.xml)
- a 481 answer removes the subscription (sub_481.xml)

Run with /usr/bin/python3 (Debian's python3-zeep).
"""

import re
import time
import unittest

from harness import DOMAIN, FAKE_NAT_HOSTPORT, PACKAGE, Contact, Device, new_instance, new_user
from sip_rules import (IDLE, TEXT_TYPE, RulesTestCase, cseq_of, status_of, tag_of,
                       timed_messages, uri_of, xml_of)


def rid(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns() % 10**10}"


class Subscriber:
    """One SIPp subscriber (scenario sub_*.xml) and what it sent and got."""

    def __init__(self, case: "SubscribeBase", scenario: str, transport: str = "udp",
                 user: str | None = None, instance: str | None | bool = None,
                 accept: str | None = "text", expires: int = 600, start: bool = True,
                 package: str = PACKAGE):
        """accept: "text" (application/P), "xml-first" (application/P+xml,
        application/P), None (no Accept header) or a header value."""
        self.transport = transport
        self.package = package
        accept = {"text": f"application/{package}",
                  "xml-first": f"application/{package}+xml, application/{package}"
                  }.get(accept, accept)
        self.user = user or new_user()
        self.aor = f"sip:{self.user}@{DOMAIN}"
        self.instance = None if instance is False else (instance or new_instance())
        self.contact_uri = f"sip:{self.user}@{FAKE_NAT_HOSTPORT};transport={transport}"
        keys = {
            "domain": DOMAIN,
            "user": self.user,
            "contact_hostport": FAKE_NAT_HOSTPORT,
            "contact_transport": transport,
            "contact_params": f';+sip.instance="{self.instance}"' if self.instance else "",
            "accept_line": f"Accept: {accept}" if accept else "Subject: no Accept header",
            "sub_expires": str(expires),
            "event": package,
        }
        self.sipp = case.sipp(scenario, keys, transport=transport, start=start)

    def wait_log(self, what: str, timeout: float = 10.0):
        self.sipp.wait_for_log(f"{what} {self.user}", timeout)

    @property
    def call_id(self) -> str:
        subs = [m for m in self.sipp.sent() if m.method == "SUBSCRIBE"]
        return subs[0].headers("Call-ID")[0] if subs else ""

    def subscribes(self):
        return [m for m in self.sipp.sent() if m.method == "SUBSCRIBE"]

    def final(self, cseq: int):
        """beckond's final answer to our SUBSCRIBE with this CSeq."""
        got = [m for m in self.sipp.received() if not m.is_request and status_of(m) >= 200
               and cseq_of(m) == f"{cseq} SUBSCRIBE"]
        return got[0] if got else None

    def notifies(self):
        """NOTIFYs received, one per transaction (UDP retransmissions left
        out), in order, inside the dialog or not."""
        seen, out = set(), []
        for m in self.sipp.received("NOTIFY"):
            key = (tuple(m.headers("Call-ID")), tuple(m.headers("CSeq")))
            if key not in seen:
                seen.add(key)
                out.append(m)
        return out

    def notifies_for(self, request_id: str):
        text = f"request-id: {request_id}\r\n".encode()
        xml = f"<request-id>{request_id}</request-id>".encode()
        return [n for n in self.notifies() if text in n.body or xml in n.body]


class SubscribeBase(RulesTestCase):

    def subscriber(self, scenario: str, **kw) -> Subscriber:
        return Subscriber(self, scenario, **kw)

    def wait_state(self, request_id: str, states: set[str], timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while True:
            status = self.zeep().service.GetContactRequest(requestId=request_id)
            if status.state in states or time.monotonic() >= deadline:
                return status
            time.sleep(0.1)

    def assertDialog(self, sub: Subscriber, count: int | None = None):
        """Every NOTIFY sub got is inside its dialog: same Call-ID, From = the
        200's To (URI and tag), To = the SUBSCRIBE's From (URI and tag), CSeq
        increasing, sent to the SUBSCRIBE's Contact, the package's Event.
        Returns the NOTIFYs."""
        report = sub.sipp.report()
        first = sub.subscribes()[0]
        ok = sub.final(1)
        self.assertIsNotNone(ok, f"no final answer to the SUBSCRIBE\n{report}")
        self.assertEqual(status_of(ok), 200, ok.raw)
        to_tag = tag_of(ok.headers("To")[0])
        self.assertTrue(to_tag, f"the 200 has no To-tag: {ok.raw!r}")
        from_tag = tag_of(first.headers("From")[0])
        notifies = sub.notifies()
        if count is not None:
            self.assertEqual(len(notifies), count,
                             f"NOTIFYs received: {[n.raw for n in notifies]}\n{report}")
        last_cseq = None
        for n in notifies:
            self.assertEqual(n.headers("Call-ID"), [sub.call_id], f"NOTIFY outside the dialog: {n.raw!r}")
            self.assertEqual(n.first_line, f"NOTIFY {sub.contact_uri} SIP/2.0", n.raw)
            frm, to = n.headers("From")[0], n.headers("To")[0]
            self.assertEqual(uri_of(frm), sub.aor, n.raw)
            self.assertEqual(tag_of(frm), to_tag, f"From tag is not the 200's To-tag: {n.raw!r}")
            self.assertEqual(uri_of(to), sub.aor, n.raw)
            self.assertEqual(tag_of(to), from_tag, f"To tag is not the SUBSCRIBE's From tag: {n.raw!r}")
            number, method = cseq_of(n).split(" ")
            self.assertEqual(method, "NOTIFY", n.raw)
            if last_cseq is not None:
                self.assertGreater(int(number), last_cseq, "NOTIFY CSeq not increasing")
            last_cseq = int(number)
            self.assertEqual(n.headers("Event"), [sub.package], n.raw)
            self.assertEqual(len(n.headers("Subscription-State")), 1, n.raw)
            self.assertEqual(n.headers("Content-Length"), [str(len(n.body))], n.raw)
            self.assertNotIn(b"\n", n.raw.replace(b"\r\n", b""), f"bare LF: {n.raw!r}")
        return notifies

    def assertActive(self, n, limit: int):
        state = n.headers("Subscription-State")[0]
        mo = re.fullmatch(r"active;expires=([0-9]+)", state)
        self.assertIsNotNone(mo, f"Subscription-State {state!r}: {n.raw!r}")
        self.assertLessEqual(int(mo.group(1)), limit, n.raw)
        self.assertGreater(int(mo.group(1)), 0, n.raw)

    def assertTerminated(self, n):
        state = n.headers("Subscription-State")[0]
        self.assertRegex(state, r"^terminated", n.raw)

    def assertBody(self, n, body: bytes, ctype: str = TEXT_TYPE):
        self.assertEqual(n.headers("Content-Type"), [ctype], n.raw)
        self.assertEqual(n.body, body, n.raw)

    def lifecycle(self, transport: str, device_id_of, accept: str | None = "text",
                  instance=None, expires: int = 600, granted: int = 600, xml: bool = False,
                  package: str = PACKAGE):
        sub = self.subscriber("sub_life.xml", transport=transport, accept=accept,
                              instance=instance, expires=expires, package=package)
        sub.wait_log("subscribed")
        contact = Contact(request_id=rid("life"), server="crm.example.com:8443", path="/sub")
        extra = {} if package == PACKAGE else {"package": package}
        status = self.contact_me(deviceId=device_id_of(sub), requestId=contact.request_id,
                                 server=contact.server, path=contact.path, waitMs=10000,
                                 **extra)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual([d.sipStatus for d in status.delivery], [200], status)
        self.assertEqual(status.delivery[0].transport.lower(), transport, status)
        self.finish(sub.sipp, 30)

        # the answers to the three SUBSCRIBEs
        ok1, ok2, ok3 = sub.final(1), sub.final(2), sub.final(3)
        self.assertEqual(ok1.headers("Expires"), [str(granted)], ok1.raw)
        self.assertTrue(ok1.headers("Contact") or ok1.headers("m"), f"200 without Contact: {ok1.raw!r}")
        self.assertEqual(ok2.headers("Expires"), [str(granted)], ok2.raw)
        self.assertEqual(ok3.headers("Expires"), ["0"], ok3.raw)
        self.assertEqual(tag_of(ok2.headers("To")[0]), tag_of(ok1.headers("To")[0]))

        n = self.assertDialog(sub, count=4)
        ctype = f"application/{package}+xml" if xml else f"application/{package}"
        idle = xml_of(IDLE) if xml else IDLE
        pending = xml_of(contact.body()) if xml else contact.body()
        self.assertActive(n[0], granted)
        self.assertBody(n[0], idle, ctype)
        self.assertActive(n[1], granted)
        self.assertBody(n[1], pending, ctype)
        self.assertActive(n[2], granted)
        self.assertBody(n[2], idle, ctype)   # delivered: nothing pending any more
        self.assertTerminated(n[3])
        self.assertEqual(sub.notifies_for(contact.request_id), [n[1]])

        # gone: no other binding names this device
        for device_id in filter(None, (sub.aor, sub.instance, sub.user)):
            self.assertUnknownDevice(device_id)
        return sub


class Subscribe(SubscribeBase):
    """Default limits: sip.min_expires 60, max_expires 86400."""

    def test_lifecycle_udp_by_aor(self):
        self.lifecycle("udp", lambda s: s.aor)

    def test_lifecycle_tcp_by_instance(self):
        self.lifecycle("tcp", lambda s: s.instance)

    def test_lifecycle_without_instance_or_accept(self):
        self.lifecycle("udp", lambda s: s.aor, accept=None, instance=False)

    def test_lifecycle_xml_bodies(self):
        self.lifecycle("tcp", lambda s: s.instance, accept="xml-first", xml=True)

    def test_expires_above_maximum_shortened(self):
        self.lifecycle("udp", lambda s: s.instance, expires=100000, granted=86400)

    def test_unknown_package_and_too_brief(self):
        sub = self.subscriber("sub_refused.xml")
        self.finish(sub.sipp, 20)
        r1, r2 = sub.final(1), sub.final(2)
        self.assertEqual(status_of(r1), 489, r1.raw)
        allowed = ",".join(r1.headers("Allow-Events") + r1.headers("u"))
        self.assertIn(PACKAGE, [e.strip() for e in allowed.split(",")], r1.raw)
        self.assertEqual(status_of(r2), 423, r2.raw)
        self.assertEqual(r2.headers("Min-Expires"), ["60"], r2.raw)
        self.assertEqual(sub.notifies(), [], "a refused SUBSCRIBE got a NOTIFY")
        self.assertUnknownDevice(sub.instance)
        self.assertUnknownDevice(sub.aor)

    def test_queued_request_is_the_first_notify(self):
        instance = new_instance()
        contact = Contact(request_id=rid("queued"), server="crm.example.com:8443")
        status = self.contact_me(deviceId=instance, requestId=contact.request_id,
                                 server=contact.server, queueSeconds=30, waitMs=300)
        self.assertEqual(status.state, "queued", status)
        sub = self.subscriber("sub_hold.xml", instance=instance)
        sub.wait_log("subscribed")
        final = self.wait_state(contact.request_id, {"delivered", "failed", "expired"})
        self.assertEqual(final.state, "delivered", final)
        self.assertEqual([d.sipStatus for d in final.delivery], [200], final)
        self.finish(sub.sipp, 30)
        n = self.assertDialog(sub)
        self.assertGreaterEqual(len(n), 2, [m.raw for m in n])
        self.assertActive(n[0], 600)
        self.assertBody(n[0], contact.body())
        self.assertTerminated(n[-1])
        self.assertEqual(sub.notifies_for(contact.request_id), [n[0]])
        self.assertEqual([m.body for m in n[1:-1]], [],
                         "NOTIFYs between the pending request and the end")

    def registered_and_subscribed(self, device_id_of):
        user, instance = new_user(), new_instance()
        dev = Device(self.workdir, self.beckond, transport="udp", user=user, instance=instance,
                     expect=None, answers=True, notify_status=200, hold_ms=15000)
        self.sipps.append(dev.sipp)
        dev.register()
        sub = self.subscriber("sub_hold.xml", transport="tcp", user=user, instance=instance)
        sub.wait_log("subscribed")
        contact = Contact(request_id=rid("both"), server="crm.example.com")
        status = self.contact_me(deviceId=device_id_of(dev), requestId=contact.request_id,
                                 server=contact.server, waitMs=10000)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual([d.sipStatus for d in status.delivery], [200],
                         f"one delivery per device: {status}")
        self.finish(sub.sipp, 30)
        in_dialog = sub.notifies_for(contact.request_id)
        out_of_dialog = [n for n in dev.notify_transactions()
                         if f"request-id: {contact.request_id}\r\n".encode() in n.body]
        self.assertEqual((len(in_dialog), len(out_of_dialog)), (1, 0),
                         f"NOTIFYs in the dialog: {[n.raw for n in in_dialog]};"
                         f" to the registration: {[n.raw for n in out_of_dialog]}")
        self.assertDialog(sub)
        self.assertBody(in_dialog[0], contact.body())

    def test_registered_and_subscribed_one_notify_by_instance(self):
        self.registered_and_subscribed(lambda d: d.instance)

    def test_registered_and_subscribed_one_notify_by_aor(self):
        self.registered_and_subscribed(lambda d: d.aor)

    def test_two_dialogs_one_instance_one_notify(self):
        user, instance = new_user(), new_instance()
        subs = [self.subscriber("sub_hold.xml", transport=t, user=user, instance=instance)
                for t in ("udp", "tcp")]
        for s in subs:
            s.wait_log("subscribed")
        contact = Contact(request_id=rid("two"), server="crm.example.com")
        status = self.contact_me(deviceId=instance, requestId=contact.request_id,
                                 server=contact.server, waitMs=10000)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual([d.sipStatus for d in status.delivery], [200], status)
        for s in subs:
            self.finish(s.sipp, 30)
            self.assertDialog(s)
        got = [n for s in subs for n in s.notifies_for(contact.request_id)]
        self.assertEqual(len(got), 1, f"NOTIFYs for the request: {[n.raw for n in got]}")

    def test_481_removes_the_subscription(self):
        sub = self.subscriber("sub_481.xml")
        sub.wait_log("subscribed")
        contact = Contact(request_id=rid("gone"), server="crm.example.com")
        status = self.contact_me(deviceId=sub.instance, requestId=contact.request_id,
                                 server=contact.server, waitMs=10000)
        self.assertEqual([d.sipStatus for d in status.delivery], [481], status)
        self.assertEqual(status.state, "failed", status)
        self.finish(sub.sipp, 20)
        n = self.assertDialog(sub, count=2)
        self.assertBody(n[0], IDLE)
        self.assertBody(n[1], contact.body())
        self.assertUnknownDevice(sub.instance)
        self.assertUnknownDevice(sub.aor)


class TwoPackages(SubscribeBase):
    """[contact_me] packages = [default, "crm-sync"]: the same rules for each."""
    OTHER = "crm-sync"
    contact_me_config = {"packages": [PACKAGE, OTHER]}

    def test_lifecycle_other_package(self):
        self.lifecycle("udp", lambda s: s.instance, package=self.OTHER)

    def test_bad_event_lists_every_package(self):
        sub = self.subscriber("sub_refused.xml", package=self.OTHER)
        self.finish(sub.sipp, 20)
        r1, r2 = sub.final(1), sub.final(2)
        self.assertEqual(status_of(r1), 489, r1.raw)
        allowed = ",".join(r1.headers("Allow-Events") + r1.headers("u"))
        self.assertEqual(sorted(e.strip() for e in allowed.split(",")), sorted([PACKAGE, self.OTHER]),
                         r1.raw)
        self.assertEqual(status_of(r2), 423, r2.raw)
        self.assertEqual(r2.headers("Min-Expires"), ["60"], r2.raw)


class SubscribeExpiry(SubscribeBase):
    sip_config = {"min_expires": 1}

    def check_expiry(self, transport: str):
        sub = self.subscriber("sub_expire.xml", transport=transport, expires=2)
        self.finish(sub.sipp, 20)
        ok = sub.final(1)
        self.assertEqual(ok.headers("Expires"), ["2"], ok.raw)
        n = self.assertDialog(sub, count=2)
        self.assertActive(n[0], 2)
        self.assertBody(n[0], IDLE)
        self.assertTerminated(n[1])
        stamps = {}
        for at, m in timed_messages(sub.sipp):
            stamps.setdefault(m.raw, at)  # the first copy, not a UDP retransmission
        took = (stamps[n[1].raw] - stamps[ok.raw]).total_seconds()
        self.assertTrue(1.5 <= took <= 4.5,
                        f"the final NOTIFY came {took:.2f} s after the 200 (Expires: 2)")
        self.assertUnknownDevice(sub.instance)
        self.assertUnknownDevice(sub.aor)

    def test_expiry_udp(self):
        self.check_expiry("udp")

    def test_expiry_tcp(self):
        self.check_expiry("tcp")


if __name__ == "__main__":
    unittest.main()
