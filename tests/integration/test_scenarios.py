"""The device scenarios proven against SIPp alone (no beckond).

scenarios/mock_registrar.xml plays beckond: it takes the REGISTER, answers
200 and sends a NOTIFY back over the registration's flow. A device must
accept exactly the NOTIFY the contract requires, and refuse (400, SIPp exit
status != 0) one that differs in any way the tests rely on; a silent device
must never answer, not even UDP retransmissions.
"""

import unittest
from types import SimpleNamespace

from harness import (BeckondTestCase, Contact, PACKAGE, Sipp)

FULL = Contact(request_id="8e1f-0042.a_b~c:d", server="crm.example.com:8443", protocol="https",
               path="/sync/inbox;v=2?q=a%20b&x=1", alt_servers=["198.51.100.7:8443",
                                                                "[2001:db8::7]:8443"],
               function="inbox", time_slot="2026-11-21T10:00:00Z/PT5M")
MINIMAL = Contact(request_id="r-1")


class ScenarioSelfTest(BeckondTestCase):
    uses_beckond = False

    def mock(self, transport, body: bytes, event=PACKAGE) -> Sipp:
        # SIPp ends the NOTIFY with CRLF itself after [mock_body]
        assert body.endswith(b"\r\n") or body.endswith(b"\n")
        text = body.decode()
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
        m = Sipp(self.workdir, f"mock-{transport}-{len(self.sipps)}", "mock_registrar.xml",
                 remote_port=None, transport="u1" if transport == "udp" else "t1",
                 keys={"mock_event": event, "mock_body": text}, timeout_s=20,
                 callid_slash_ign=False)
        self.sipps.append(m)
        m.start().wait_listening()
        return m

    def run_pair(self, transport, expect: Contact, sent_body: bytes, event=PACKAGE):
        mock = self.mock(transport, sent_body, event)
        dev = self.device(registrar=SimpleNamespace(sip_port=mock.port), transport=transport,
                          expect=expect)
        dev.register()
        return mock, dev

    def assertAccepted(self, transport, expect: Contact):
        mock, dev = self.run_pair(transport, expect, expect.body())
        self.assertDeviceNotified(dev)
        # the mock's own status is no verdict: over TCP it fails when the
        # device, done, closes the connection
        mock.wait(10)
        self.assertIn("answered 200", mock.read("logs"), mock.report())

    def assertRefused(self, transport, expect: Contact, sent_body: bytes, event=PACKAGE):
        mock, dev = self.run_pair(transport, expect, sent_body, event)
        rc = dev.sipp.wait(15)
        self.assertNotEqual(rc, 0, dev.sipp.report())
        answers = [m for m in dev.sipp.sent() if not m.is_request]
        self.assertEqual([a.first_line for a in answers], ["SIP/2.0 400 Bad Request"],
                         dev.sipp.report())
        self.assertIn("failed its checks", dev.sipp.read("logs"))
        mock.wait(10)
        self.assertEqual([m.first_line for m in mock.messages()
                          if m.direction == "received" and not m.is_request],
                         ["SIP/2.0 400 Bad Request"], mock.report())

    # the contract's NOTIFY is accepted

    def test_full_notify_udp(self):
        self.assertAccepted("udp", FULL)

    def test_full_notify_tcp(self):
        self.assertAccepted("tcp", FULL)

    def test_minimal_notify_udp(self):
        self.assertAccepted("udp", MINIMAL)

    # anything else is refused

    def test_refuses_other_value(self):
        sent = FULL.body().replace(b"path: /sync/inbox;v=2?q=a%20b&x=1", b"path: /sync/inbox")
        self.assertRefused("udp", FULL, sent)

    def test_refuses_lf_line_ends(self):
        sent = FULL.body().replace(b"\r\n", b"\n")
        self.assertRefused("udp", FULL, sent)

    def test_refuses_one_lf_line_end(self):
        sent = FULL.body().replace(b"function: inbox\r\n", b"function: inbox\n")
        self.assertRefused("tcp", FULL, sent)

    def test_refuses_missing_line(self):
        sent = FULL.body().replace(b"function: inbox\r\n", b"")
        self.assertRefused("udp", FULL, sent)

    def test_refuses_missing_alt_server(self):
        sent = FULL.body().replace(b"alt-server: [2001:db8::7]:8443\r\n", b"")
        self.assertRefused("udp", FULL, sent)

    def test_refuses_extra_line(self):
        sent = MINIMAL.body() + b"server: crm.example.com\r\n"
        self.assertRefused("udp", MINIMAL, sent)

    def test_refuses_lines_out_of_order(self):
        lines = FULL.body().split(b"\r\n")
        lines[2], lines[3] = lines[3], lines[2]  # server and protocol swapped
        self.assertRefused("udp", FULL, b"\r\n".join(lines))

    def test_refuses_other_event(self):
        self.assertRefused("udp", MINIMAL, MINIMAL.body(), event="presence")

    # a silent device never answers, not even retransmissions

    def assertSilent(self, transport):
        mock = self.mock(transport, MINIMAL.body())
        dev = self.device(registrar=SimpleNamespace(sip_port=mock.port), transport=transport,
                          answers=False, hold_ms=3000)
        dev.register()
        mock.wait(15)
        self.assertIn("no answer", mock.read("logs"), mock.report())
        dev.sipp.stop()
        notifies = dev.notifies()
        self.assertGreaterEqual(len(notifies), 2 if transport == "udp" else 1,
                                dev.sipp.report())
        self.assertEqual([m.method for m in dev.sipp.sent()], ["REGISTER"], dev.sipp.report())

    def test_silent_udp(self):
        self.assertSilent("udp")

    def test_silent_tcp(self):
        self.assertSilent("tcp")


if __name__ == "__main__":
    unittest.main()
