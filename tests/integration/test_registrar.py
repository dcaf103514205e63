"""The registrar, RFC 3261 section 10.3, against beckond started for real.

Each rule is a SIPp scenario (scenarios/reg_*.xml) that checks status codes
and the Contacts listed by regular expression; the test then checks the
answers exactly from SIPp's message trace:

- several Contacts in one REGISTER and several per address of record across
  REGISTERs (two Call-IDs); the 200 lists every current binding as
  `<uri>;expires=N` (with `;+sip.instance="<urn:...>"` where given); expiry
  from the Contact parameter, else the Expires header, else
  sip.default_expires; refresh; unregister one Contact; over
  sip.max_expires shortened; `*` with Expires 0 (reg_add.xml, reg_multi.xml)
- 423 with Min-Expires (parameter and header), 420 with Unsupported, 404 for
  another domain, 400 for a `*` with another Contact or without Expires 0;
  none of them binds anything (reg_refused.xml)
- a lower CSeq on the same Call-ID: 500; the same CSeq again (a
  retransmission): 200 with nothing changed (reg_order.xml)
- Contact URIs compared as RFC 3261 19.1.4 says, not as strings: a phone
  that re-registers with an equal Contact written otherwise (escapes, case,
  parameter order, a parameter only one of them has) refreshes its binding;
  one that differs where the rules look (user case, port, transport) adds one
  (raw UDP device: the bytes exactly as written)
- a binding with expires=2 is gone ~3 s later: ContactMe is UnknownDevice by
  instance, address of record and number; the next REGISTER lists no old
  Contact (reg_expire.xml, beckond with sip.min_expires = 1)

Run with /usr/bin/python3 (Debian's python3-zeep).
"""

import re
import time
import unittest

from harness import DOMAIN, new_instance, new_user
from raw_sip import RawDevice
from sip_rules import RulesTestCase, contacts, cseq_of, header, status_of


def bare_instance(instance: str) -> str:
    return instance.strip("<>")


class Registrar(RulesTestCase):
    """Default limits: sip.min_expires 60, max_expires 86400,
    default_expires 3600; sip.domain example.com."""

    def listed(self, msg) -> dict[str, dict[str, str]]:
        """The 200's Contacts keyed by host:port of their URI."""
        out = {}
        for uri, params in contacts(msg):
            hostport = uri.split("@", 1)[-1].split(";", 1)[0]
            self.assertNotIn(hostport, out, f"{hostport} listed twice: {msg.raw!r}")
            out[hostport] = dict(params, uri=uri)
        return out

    def check_bindings(self, transport: str):
        user, instance = new_user(), new_instance()
        keys = {"domain": DOMAIN, "user": user, "instance": instance}
        b = self.sipp("reg_add.xml", keys, transport=transport)
        self.finish(b, 15)
        a = self.sipp("reg_multi.xml", keys, transport=transport)
        self.finish(a, 20)

        ok = self.response_to(b, "1 REGISTER")
        self.assertEqual(status_of(ok), 200)
        got = self.listed(ok)
        self.assertEqual(set(got), {"127.0.0.2:5003"}, ok.raw)
        self.assertEqual(got["127.0.0.2:5003"]["uri"], f"sip:{user}@127.0.0.2:5003")
        self.assertEqual(got["127.0.0.2:5003"]["expires"], "3600",
                         "no expires parameter, no Expires header: sip.default_expires")

        # 1: two Contacts in one REGISTER, plus B's
        r = self.response_to(a, "1 REGISTER")
        self.assertEqual(status_of(r), 200, r.raw)
        got = self.listed(r)
        self.assertEqual(set(got), {"127.0.0.2:5001", "127.0.0.2:5002", "127.0.0.2:5003"}, r.raw)
        self.assertEqual(got["127.0.0.2:5001"]["expires"], "120", "the Contact's parameter wins")
        self.assertEqual(got["127.0.0.2:5002"]["expires"], "300", "the Expires header")
        self.assertIn(int(got["127.0.0.2:5003"]["expires"]), range(3590, 3601), r.raw)
        self.assertEqual(got["127.0.0.2:5002"].get("+sip.instance"), instance, r.raw)
        self.assertNotIn("+sip.instance", got["127.0.0.2:5001"], r.raw)
        self.assertIn(f';expires=300;+sip.instance="{instance}"'.encode(), r.raw,
                      "the binding listed as <uri>;expires=N;+sip.instance=\"<urn:...>\"")
        for hp in ("5001", "5003"):
            self.assertRegex(r.raw.decode(), rf"<sip:{user}@127\.0\.0\.2:{hp}>;expires=[0-9]+")

        # 2: refresh of :5001 keeps one binding
        r = self.response_to(a, "2 REGISTER")
        got = self.listed(r)
        self.assertEqual(set(got), {"127.0.0.2:5001", "127.0.0.2:5002", "127.0.0.2:5003"}, r.raw)
        self.assertEqual(got["127.0.0.2:5001"]["expires"], "600")
        self.assertIn(int(got["127.0.0.2:5002"]["expires"]), range(290, 301))

        # 3: :5002 unregistered
        r = self.response_to(a, "3 REGISTER")
        self.assertEqual(set(self.listed(r)), {"127.0.0.2:5001", "127.0.0.2:5003"}, r.raw)

        # 4: above sip.max_expires: shortened to it
        r = self.response_to(a, "4 REGISTER")
        got = self.listed(r)
        self.assertEqual(set(got), {"127.0.0.2:5001", "127.0.0.2:5003"}, r.raw)
        self.assertEqual(got["127.0.0.2:5001"]["expires"], "86400", r.raw)

        # 5: * with Expires 0 removes all; 6: a query finds none
        for cseq in ("5 REGISTER", "6 REGISTER"):
            r = self.response_to(a, cseq)
            self.assertEqual(status_of(r), 200, r.raw)
            self.assertEqual(header(r, "Contact", "m"), [], f"{cseq}: {r.raw!r}")

        self.assertUnknownDevice(f"sip:{user}@{DOMAIN}")
        self.assertUnknownDevice(instance)

    def test_bindings_udp(self):
        self.check_bindings("udp")

    def test_bindings_tcp(self):
        self.check_bindings("tcp")

    def test_refused(self):
        user = new_user()
        s = self.sipp("reg_refused.xml", {"domain": DOMAIN, "user": user})
        self.finish(s, 20)
        expect = {1: 423, 2: 423, 3: 420, 4: 404, 5: 400, 6: 400, 7: 400, 8: 200}
        for cseq, code in expect.items():
            r = self.response_to(s, f"{cseq} REGISTER")
            self.assertEqual(status_of(r), code, r.raw)
            if code == 423:
                self.assertEqual(r.headers("Min-Expires"), ["60"], r.raw)
            if code == 420:
                self.assertEqual(r.headers("Unsupported"), ["foo"], r.raw)
            if code != 200:
                self.assertEqual(header(r, "Contact", "m"), [], f"a {code} lists no binding: {r.raw!r}")
        self.assertEqual(header(self.response_to(s, "8 REGISTER"), "Contact", "m"), [])
        self.assertUnknownDevice(f"sip:{user}@{DOMAIN}")
        self.assertUnknownDevice(f"sip:{user}@example.org")

    def test_cseq_order_and_retransmission(self):
        user = new_user()
        s = self.sipp("reg_order.xml", {"domain": DOMAIN, "user": user})
        self.finish(s, 20)
        answers = [(cseq_of(m), status_of(m)) for m in self.responses(s)]
        self.assertEqual(answers, [("5 REGISTER", 200), ("3 REGISTER", 500), ("5 REGISTER", 200),
                                   ("4 REGISTER", 500), ("6 REGISTER", 200), ("7 REGISTER", 200)],
                         "answers in order (UDP on loopback: no retransmission expected)")
        ok5 = [m for m in self.responses(s) if cseq_of(m) == "5 REGISTER"]
        first, again = (contacts(m) for m in ok5)
        self.assertEqual(first, [(f"sip:{user}@127.0.0.2:5001", {"expires": "600"})])
        self.assertEqual(len(again), 1, ok5[1].raw)
        self.assertEqual(again[0][0], f"sip:{user}@127.0.0.2:5001")
        left = int(again[0][1]["expires"])
        self.assertTrue(590 <= left < 600,
                        f"the retransmitted CSeq 5 changed the binding (expires={left}; the"
                        f" CSeq 3 asked 3000, a refresh would give 600): {ok5[1].raw!r}")
        for m in self.responses(s):
            if status_of(m) == 500:
                self.assertEqual(header(m, "Contact", "m"), [], m.raw)
        r6 = self.response_to(s, "6 REGISTER")
        self.assertEqual(contacts(r6), [(f"sip:{user}@127.0.0.2:5001", {"expires": "600"})])
        self.assertEqual(header(self.response_to(s, "7 REGISTER"), "Contact", "m"), [])


class ContactEquality(RulesTestCase):
    def register(self, device: RawDevice, user: str, contact: str, call_id: str,
                 expires: int = 600) -> list[str]:
        """The Contact URIs the 200 lists, in its order."""
        aor = f"<sip:{user}@{DOMAIN}>"
        r = device.request(b"REGISTER", [
            f"From: {aor};tag=f{call_id}".encode(), f"To: {aor}".encode(),
            f"Call-ID: {call_id}".encode(), f"Contact: <{contact}>;expires={expires}".encode()])
        self.assertTrue(r.startswith(b"SIP/2.0 200 "), r)
        return [uri.decode() for uri in re.findall(rb"(?im)^(?:contact|m)[ \t]*:[ \t]*<([^>]*)>", r)]

    def test_an_equal_contact_written_otherwise_refreshes_its_binding(self):
        user = new_user()
        device = RawDevice(self.beckond.sip_port, "udp")
        try:
            first = f"sip:ph{user}@127.0.0.2:5999;transport=udp;ob"
            self.assertEqual(self.register(device, user, first, "c1"), [first])
            # Escapes undone, host and parameter case, order, one parameter
            # only here: RFC 3261 19.1.4 says equal. Another Call-ID, as a
            # phone that restarted would send.
            equal = f"sip:%70h{user}@127.0.0.2:5999;x-app=1;Transport=UDP"
            listed = self.register(device, user, equal, "c2")
            # One binding, refreshed, as the phone wrote it now (Sofia's
            # parser undoes the escape of an unreserved character).
            self.assertEqual(listed, [f"sip:ph{user}@127.0.0.2:5999;x-app=1;Transport=UDP"])
            equal = listed[0]
            # Differs where the rules look: user case, the port, transport.
            for other in (f"sip:PH{user}@127.0.0.2:5999;transport=udp",
                          f"sip:ph{user}@127.0.0.2;transport=udp",
                          f"sip:ph{user}@127.0.0.2:5999;transport=tcp"):
                listed = self.register(device, user, other, "c3-" + str(abs(hash(other))))
                self.assertIn(other, listed)
                self.assertIn(equal, listed, "the first binding stays")
            listed = self.register(device, user, f"sip:ph{user}@127.0.0.2:5999;TRANSPORT=udp", "c4",
                                   expires=0)
            self.assertNotIn(equal, listed, "removed by an equal URI")
            self.assertEqual(len(listed), 3, listed)
        finally:
            device.close()


class RegistrarExpiry(RulesTestCase):
    sip_config = {"min_expires": 1}

    def test_binding_expires_on_time(self):
        user, instance = new_user(), new_instance()
        s = self.sipp("reg_expire.xml", {"domain": DOMAIN, "user": user, "instance": instance})
        s.wait_for_log(f"registered {user}", 10)
        registered = time.monotonic()
        # still there at once
        r = self.contact_me(deviceId=instance, requestId=f"exp-now-{user}", waitMs=500)
        self.assertIn(r.state, ("notifying", "failed", "delivered"),
                      f"the fresh binding should be tried: {r}")
        time.sleep(max(0.0, registered + 3.0 - time.monotonic()))
        for device_id in (instance, f"sip:{user}@{DOMAIN}", user):
            self.assertUnknownDevice(device_id)
        self.assertLess(time.monotonic() - registered, 4.4,
                        "the checks ran too late: the scenario registers again at 4.5 s")
        self.finish(s, 20)
        r1 = self.response_to(s, "1 REGISTER")
        self.assertEqual(contacts(r1), [(f"sip:{user}@127.0.0.2:5001",
                                         {"expires": "2", "+sip.instance": instance})])
        r2 = self.response_to(s, "2 REGISTER")
        self.assertEqual(contacts(r2), [(f"sip:{user}@127.0.0.2:5002", {"expires": "60"})],
                         "the expired binding is not listed")
        self.assertEqual(header(self.response_to(s, "3 REGISTER"), "Contact", "m"), [])


if __name__ == "__main__":
    unittest.main()
