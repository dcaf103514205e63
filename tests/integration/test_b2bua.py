"""The back-to-back user agent (sip-core.md; docs/b2bua.md): calls to users
in "b2bua" mode go through two dialogs of beckond's own. SIPp callers and
callees behind a fake NAT (Contacts at 127.0.0.2, where nobody listens:
beckond reaches them over their flows), as in test_proxy.py.

What each test proves:
- a call both ways: the callee's dialog is beckond's (another Call-ID, From
  tag, beckond's Contact, no Record-Route), the offer and answer pass
  unchanged, 183 with early media reaches the caller, re-INVITE from each
  side, INFO and MESSAGE relayed, the caller's BYE ends both;
- the callee's BYE ends both;
- the caller's CANCEL reaches the ringing callee, the caller gets 487;
- a user in "proxy" mode beside them is proxied (same Call-ID);
- b2bua.max_calls: the call beyond it gets 503 with Retry-After.
"""

from __future__ import annotations

import urllib.request
import uuid

from calls import ProxyTestCase, UdpPeer
from harness import DOMAIN, LOOPBACK
from user_agents import BeckonUa

CALLER_NAT = "127.0.0.2:5990"


def aor(user: str) -> str:
    return f"sip:{user}@{DOMAIN}"


def first(messages, what: str):
    assert messages, f"no {what}"
    return messages[0]


def b2bua_calls(beckond) -> float:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{beckond.soap_port}/metrics",
                                timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("beckon_b2bua_calls "):
                return float(line.split()[1])
    raise AssertionError("beckon_b2bua_calls not in /metrics")


class B2buaCalls(ProxyTestCase):
    extra_toml = "\n".join([
        "[proxy]",
        'mode = "b2bua"',
        "[[proxy.user]]",
        f'aor = "{aor("carol")}"',
        'mode = "proxy"',
    ])

    def test_a_call_both_ways(self):
        bob = self.callee("bob", "b2bua", nat="127.0.0.2:5911", ring_ms=300).register()
        caller = self.caller("alice", aor("bob"), "caller_b2bua.xml",
                             contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        bob.wait_done()
        ours = f"{LOOPBACK}:{self.beckond.sip_port}"

        sent = [m for m in caller.sipp.sent() if m.method == "INVITE"]
        offer, reoffer = sent[0], sent[1]
        invites = bob.invites()
        self.assertEqual(len(invites), 2, bob.sipp.report())
        invite, reinvite = invites
        # The callee's dialog is beckond's own.
        self.assertNotEqual(invite.headers("Call-ID"), offer.headers("Call-ID"))
        self.assertNotIn(offer.headers("From")[0].split("tag=")[1], invite.headers("From")[0])
        self.assertEqual(invite.headers("Record-Route"), [])
        self.assertEqual(len(invite.headers("Via")), 1, invite.raw)
        self.assertIn(ours, invite.headers("Contact")[0])
        self.assertNotIn("127.0.0.2", invite.headers("Contact")[0])
        self.assertEqual(invite.headers("Subject"), ["b2bua test"])
        # Offer and answer unchanged, early media included.
        self.assertEqual(invite.body, offer.body)
        self.assertEqual(reinvite.body, reoffer.body)
        responses = caller.responses()
        early = [r for r in responses if r.first_line.startswith("SIP/2.0 183")]
        self.assertTrue(early, caller.sipp.report())
        self.assertIn(b"s=early", early[0].body)
        ok = first([r for r in responses if r.first_line.startswith("SIP/2.0 200")
                    and r.headers("CSeq") == ["1 INVITE"]], "200 for the INVITE")
        self.assertIn(b"o=callee 1 1", ok.body)
        self.assertIn(ours, ok.headers("Contact")[0])
        # The callee's re-INVITE reached the caller, in the caller's dialog.
        back = first(caller.received("INVITE"), "re-INVITE from the callee")
        self.assertIn(b"s=callee-reinvite", back.body)
        self.assertEqual(back.headers("Call-ID"), offer.headers("Call-ID"))
        self.assertIn("127.0.0.2:5990", back.first_line)
        # INFO and MESSAGE, body and Info-Package relayed.
        info = first(bob.received("INFO"), "INFO")
        self.assertIn(b"Signal=5", info.body)
        self.assertEqual(info.headers("Info-Package"), ["dtmf"])
        self.assertEqual(info.headers("Call-ID"), invite.headers("Call-ID"))
        message = first(bob.received("MESSAGE"), "MESSAGE")
        self.assertIn(b"hello through the b2bua", message.body)
        # The caller's BYE ended both.
        self.assertEqual(len(bob.received("BYE")), 1, bob.sipp.report())
        self.wait(lambda: b2bua_calls(self.beckond) == 0, 10, "beckon_b2bua_calls back to 0")

    def test_the_callee_hangs_up(self):
        dan = self.callee("dan", "dialog", nat="127.0.0.2:5913").register()
        caller = self.caller("alice", aor("dan"), "caller_dialog.xml",
                             contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        dan.wait_done()
        bye = first(caller.received("BYE"), "BYE at the caller")
        offer = [m for m in caller.sipp.sent() if m.method == "INVITE"][0]
        self.assertEqual(bye.headers("Call-ID"), offer.headers("Call-ID"))
        self.assertNotEqual(dan.invites()[0].headers("Call-ID"), offer.headers("Call-ID"))
        self.assertIn("re-INVITE answered", caller.log())

    def test_cancel_reaches_the_ringing_callee(self):
        erin = self.callee("erin", "ring", nat="127.0.0.2:5914").register()
        caller = self.caller("alice", aor("erin"), "caller_cancel.xml",
                             contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        erin.wait_done()
        self.assertIn("INVITE answered 487", caller.log())
        self.assertEqual(len(erin.received("CANCEL")), 1, erin.sipp.report())

    def test_a_busy_callee_s_answer_is_the_caller_s(self):
        self.callee("hank", "reject", nat="127.0.0.2:5917", status=(486, "Busy Here")).register()
        caller = self.caller("alice", aor("hank"), expect=486, contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        self.wait(lambda: b2bua_calls(self.beckond) == 0, 10, "no B2BUA call left")

    def test_beckon_ua_on_both_sides_over_tcp(self):
        """nua (beckon-ua) as caller and as callee: a callee registered over
        TCP is called over its connection; a re-INVITE and the BYE cross."""
        registrar = f"{LOOPBACK}:{self.beckond.sip_port}"
        callee = BeckonUa(self.workdir, f"{self._testMethodName}-callee", [
            "--aor", aor("ivy"), "--registrar", registrar, "--transport", "tcp", "--register",
            "--answer", "100", "--exit-after", "call-ended"])
        caller = BeckonUa(self.workdir, f"{self._testMethodName}-caller", [
            "--aor", aor("alice"), "--proxy", registrar, "--call", aor("ivy"),
            "--reinvite-after", "0.2", "--hangup-after", "0.6", "--exit-after", "call-ended"])
        try:
            callee.start()
            self.assertEqual(callee.wait_event("registered")["status"], 200)
            caller.start()
            self.assertEqual(caller.wait(20), 0, caller.report())
            self.assertEqual(callee.wait(20), 0, callee.report())
            out_est = caller.wait_event("call-established")
            in_est = callee.wait_event("call-established")
            self.assertNotEqual(out_est["call_id"], in_est["call_id"])
            self.assertEqual(caller.wait_event("call-reinvite")["status"], 200)
            self.assertEqual(callee.wait_event("call-reinvite", by="remote")["status"], 200)
            self.assertEqual(caller.wait_event("call-ended")["reason"], "bye")
            self.assertEqual(callee.wait_event("call-ended")["by"], "remote")
        finally:
            caller.stop()
            callee.stop()

    def test_a_proxy_mode_user_is_proxied(self):
        carol = self.callee("carol", "answer", nat="127.0.0.2:5915").register()
        caller = self.caller("alice", aor("carol"), contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        carol.wait_done()
        offer = [m for m in caller.sipp.sent() if m.method == "INVITE"][0]
        self.assertEqual(carol.invites()[0].headers("Call-ID"), offer.headers("Call-ID"))
        self.assertEqual(len(carol.invites()[0].headers("Record-Route")), 1)


def invite_text(peer: UdpPeer, user: str, target: str, call_id: str, method: str = "INVITE",
                branch: str | None = None) -> str:
    return f"""
        {method} {target} SIP/2.0
        Via: SIP/2.0/UDP {peer.hostport};branch={branch or "z9hG4bK-" + uuid.uuid4().hex[:12]};rport
        Max-Forwards: 70
        From: <sip:{user}@{DOMAIN}>;tag=t{peer.port}
        To: <{target}>
        Call-ID: {call_id}
        CSeq: 1 {method}
        Contact: <sip:{user}@{peer.hostport}>
        """


class B2buaLimits(ProxyTestCase):
    extra_toml = "\n".join(["[proxy]", 'mode = "b2bua"', "[b2bua]", "max_calls = 1"])

    def test_beyond_max_calls_503_with_retry_after(self):
        self.callee("fred", "ring", nat="127.0.0.2:5916").register()
        first_caller, second_caller = self.udp_peer(), self.udp_peer()
        call_id, branch = f"b2bua-{uuid.uuid4().hex}", "z9hG4bK-" + uuid.uuid4().hex[:12]
        first_caller.send(invite_text(first_caller, "alice", aor("fred"), call_id,
                                      branch=branch))
        first_caller.recv("SIP/2.0 180", timeout=10)
        second_caller.send(invite_text(second_caller, "gina", aor("fred"),
                                       f"b2bua-{uuid.uuid4().hex}"))
        refused = second_caller.recv("SIP/2.0 5", timeout=10)
        self.assertTrue(refused.first_line.startswith("SIP/2.0 503"), refused.raw)
        self.assertTrue(refused.headers("Retry-After"), refused.raw)
        # The first call goes on; its CANCEL ends it.
        first_caller.send(invite_text(first_caller, "alice", aor("fred"), call_id, "CANCEL",
                                      branch=branch))
        first_caller.recv("SIP/2.0 487", timeout=10)


if __name__ == "__main__":
    import unittest
    unittest.main()
