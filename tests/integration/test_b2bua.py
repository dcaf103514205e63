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
- b2bua.max_calls: the call beyond it gets 503 with Retry-After;
- session timers (RFC 4028) asked on both legs;
- keeping the conversation (B2buaContinuity): the callee's TCP connection
  closed mid-call, another device takes over (the caller told in its
  dialog, its MESSAGEs meanwhile delivered in order), the same device
  reconnecting unannounced, nobody answering (BYE with Reason), the
  caller's BYE while beckond tries.
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
        # RFC 4028 on both legs: beckond asks for b2bua.session_expires_s
        # (1800 by default) and refreshes the callee's leg itself; the
        # caller, who knows no timers, gets one beckond refreshes.
        self.assertEqual(invite.headers("Session-Expires"), ["1800;refresher=uac"])
        self.assertIn("timer", invite.headers("Supported")[0])
        self.assertEqual(invite.headers("Min-SE"), ["90"])
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
        self.assertEqual(ok.headers("Session-Expires"), ["1800;refresher=uas"])
        self.assertEqual(ok.headers("Require"), [])
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


# --------------------------------------------------------------------------
# Keeping the conversation through a lost connection (sip-core.md): the
# callee's TCP connection is closed by the test (its device's side), not
# beckond's. Devices are Python sockets (test_outbound.SockDevice), so the
# test decides when each message goes.

SDP_CALLER = ("v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
              "m=audio 6000 RTP/AVP 0\r\n")


def sdp_of(name: str, port: int) -> str:
    return (f"v=0\r\no={name} 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\n")


def send(dev, lines: list[str], body: str = "", content_type: str = "application/sdp") -> None:
    data = body.encode()
    if data:
        lines = lines + [f"Content-Type: {content_type}"]
    dev.send(("\r\n".join(lines + [f"Content-Length: {len(data)}", "", ""])).encode() + data)


def via(dev) -> str:
    return (f"Via: SIP/2.0/{dev.transport.upper()} {dev.fake_host}:5999;"
            f"branch=z9hG4bK{uuid.uuid4().hex};rport")


def wait_for(dev, pick, timeout: float, what: str):
    """The next message `pick` accepts (others are skipped), within timeout."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = dev._read(deadline - time.monotonic())
        if m is not None and pick(m):
            return m
    raise AssertionError(f"{what}: not within {timeout} s; received "
                         f"{[x.first_line for x in dev.received]}")


def request_of(dev, method: str, timeout: float = 10.0):
    return wait_for(dev, lambda m: m.is_request and m.method == method, timeout,
                    f"{method} at {dev.user}")


def final_of(dev, cseq: str, timeout: float = 10.0):
    return wait_for(dev, lambda m: not m.is_request and m.headers("CSeq") == [cseq]
                    and not m.first_line.startswith("SIP/2.0 1"), timeout, f"answer to {cseq}")


def respond(dev, request, status: str, to_tag: str | None = None, body: str = "",
            contact: str | None = None) -> None:
    lines = [f"SIP/2.0 {status}"]
    for line in request.head.decode().split("\r\n")[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "from", "call-id", "cseq", "record-route"):
            lines.append(line)
        elif name == "to":
            lines.append(line + (f";tag={to_tag}" if to_tag and "tag=" not in line else ""))
    if contact:
        lines.append(f"Contact: <{contact}>")
    send(dev, lines, body)


def metric(beckond, name: str) -> float:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{beckond.soap_port}/metrics",
                                timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


class B2buaContinuity(ProxyTestCase):
    extra_toml = "\n".join(["[proxy]", 'mode = "b2bua"', "[b2bua]", "continuity_timeout_s = 4"])

    def setUp(self):
        super().setUp()
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        super().tearDown()

    def device(self, transport: str, user: str, instance: str | None = None):
        from test_outbound import SockDevice
        d = SockDevice(transport, (LOOPBACK, self.beckond.sip_port), user, instance)
        self.socks.append(d)
        if instance:
            ok = d.register(f';+sip.instance="<{instance}>"', accept=False)
            self.assertTrue(ok.first_line.startswith("SIP/2.0 200"), ok.raw)
        return d

    def call(self, callee_user: str, instance: str):
        """alice (UDP) calls callee_user, whose device (TCP, `instance`)
        answers. Returns (caller, callee device, dialog) where dialog holds
        what the caller needs for requests in its dialog."""
        callee = self.device("tcp", callee_user, instance)
        caller = self.device("udp", "alice")
        call_id, tag, target = f"c-{uuid.uuid4().hex}", uuid.uuid4().hex[:8], aor(callee_user)
        send(caller, [f"INVITE {target} SIP/2.0", via(caller), "Max-Forwards: 70",
                      f"From: <sip:alice@{DOMAIN}>;tag={tag}", f"To: <{target}>",
                      f"Call-ID: {call_id}", "CSeq: 1 INVITE",
                      f"Contact: <{caller.contact_uri}>"], SDP_CALLER)
        invite = request_of(callee, "INVITE")
        respond(callee, invite, "200 OK", "dev1", sdp_of("callee", 6002), callee.contact_uri)
        ok = final_of(caller, "1 INVITE")
        self.assertTrue(ok.first_line.startswith("SIP/2.0 200"), ok.raw)
        dialog = {"call_id": call_id, "from": f"From: <sip:alice@{DOMAIN}>;tag={tag}",
                  "to": "To: " + ok.headers("To")[0],
                  "ruri": ok.headers("Contact")[0].strip("<>"), "cseq": 1}
        self.in_dialog(caller, dialog, "ACK", cseq=1)
        request_of(callee, "ACK")
        return caller, callee, dialog, invite

    def in_dialog(self, caller, dialog, method: str, body: str = "",
                  content_type: str = "text/plain", cseq: int | None = None) -> str:
        if cseq is None:
            dialog["cseq"] += 1
            cseq = dialog["cseq"]
        send(caller, [f"{method} {dialog['ruri']} SIP/2.0", via(caller), "Max-Forwards: 70",
                      dialog["from"], dialog["to"], f"Call-ID: {dialog['call_id']}",
                      f"CSeq: {cseq} {method}"], body, content_type)
        return f"{cseq} {method}"

    def test_the_conversation_moves_to_another_device(self):
        inst2 = f"urn:uuid:{uuid.uuid4()}"
        rebuilt_before = metric(self.beckond, "beckon_b2bua_legs_rebuilt_total")
        caller, first, dialog, invite = self.call("bob", f"urn:uuid:{uuid.uuid4()}")
        first.close()  # the callee's connection is lost
        # Messages the caller sends meanwhile: accepted, held.
        for text in ("one", "two"):
            got = final_of(caller, self.in_dialog(caller, dialog, "MESSAGE", text))
            self.assertTrue(got.first_line.startswith("SIP/2.0 202"), got.raw)
        self.assertEqual(caller.received[-1].first_line, "SIP/2.0 202 Accepted")
        # A second device registers while beckond tries: it gets the new leg
        # with the caller's session description.
        second = self.device("tcp", "bob", inst2)
        invite2 = request_of(second, "INVITE")
        self.assertEqual(invite2.body, SDP_CALLER.encode())
        self.assertNotEqual(invite2.headers("Call-ID"), invite.headers("Call-ID"))
        respond(second, invite2, "200 OK", "dev2", sdp_of("second", 7002), second.contact_uri)
        request_of(second, "ACK")
        # The held messages reach it in order, once each.
        for text in ("one", "two"):
            m = request_of(second, "MESSAGE")
            self.assertEqual(m.body, text.encode())
            respond(second, m, "200 OK")
        # The caller's dialog never ended: it is told of the new device.
        reinvite = request_of(caller, "INVITE")
        self.assertEqual(reinvite.headers("Call-ID"), [dialog["call_id"]])
        self.assertIn(b"o=second", reinvite.body)
        self.assertIn(f"gr={inst2}", reinvite.headers("P-Asserted-Identity")[0])
        self.assertIn(f"gr={inst2}", reinvite.headers("From")[0])
        respond(caller, reinvite, "200 OK", body=SDP_CALLER, contact=caller.contact_uri)
        request_of(caller, "ACK")
        self.assertEqual([m.method for m in caller.received if m.is_request],
                         ["INVITE", "ACK"])  # no BYE
        got = final_of(caller, self.in_dialog(caller, dialog, "BYE"))
        self.assertTrue(got.first_line.startswith("SIP/2.0 200"), got.raw)
        respond(second, request_of(second, "BYE"), "200 OK")
        self.assertEqual(metric(self.beckond, "beckon_b2bua_legs_rebuilt_total"),
                         rebuilt_before + 1)
        self.assertEqual(len([m for m in second.received if m.method == "MESSAGE"]), 2)

    def test_the_same_device_reconnecting_is_not_announced(self):
        inst = f"urn:uuid:{uuid.uuid4()}"
        caller, first, dialog, _ = self.call("carl", inst)
        first.close()
        again = self.device("tcp", "carl", inst)
        invite2 = request_of(again, "INVITE")
        self.assertEqual(invite2.body, SDP_CALLER.encode())
        respond(again, invite2, "200 OK", "dev1b", sdp_of("callee", 6002), again.contact_uri)
        request_of(again, "ACK")
        # Same device, same SDP: the caller hears nothing; its dialog works.
        cseq = self.in_dialog(caller, dialog, "MESSAGE", "still there")
        m = request_of(again, "MESSAGE")
        respond(again, m, "200 OK")
        got = final_of(caller, cseq)
        self.assertTrue(got.first_line.startswith("SIP/2.0 200"), got.raw)
        self.assertEqual([x.method for x in caller.received if x.is_request], [])

    def test_no_device_answers_the_caller_gets_bye_with_reason(self):
        failed_before = metric(self.beckond, "beckon_b2bua_rebuilds_failed_total")
        caller, first, dialog, _ = self.call("dora", f"urn:uuid:{uuid.uuid4()}")
        first.close()
        bye = request_of(caller, "BYE", timeout=15)
        self.assertEqual(bye.headers("Call-ID"), [dialog["call_id"]])
        self.assertIn("cause=480", bye.headers("Reason")[0])
        respond(caller, bye, "200 OK")
        self.assertEqual(metric(self.beckond, "beckon_b2bua_rebuilds_failed_total"),
                         failed_before + 1)

    def test_the_caller_s_bye_while_rebuilding_ends_it(self):
        caller, first, dialog, _ = self.call("eve", f"urn:uuid:{uuid.uuid4()}")
        first.close()
        got = final_of(caller, self.in_dialog(caller, dialog, "BYE"))
        self.assertTrue(got.first_line.startswith("SIP/2.0 200"), got.raw)
        self.wait(lambda: b2bua_calls(self.beckond) == 0, 10, "the call is over")
        late = self.device("tcp", "eve", f"urn:uuid:{uuid.uuid4()}")
        self.assertIsNone(late._read(1.0), "a device registering after the BYE got a call")
