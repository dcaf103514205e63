"""The proxy (RFC 3261 section 16; sip-core.md "Routing and mobility" and
"Forking and forwarding"): calls between SIPp callers and callees that
register with beckond first, all behind a fake NAT (their Contacts name
127.0.0.2, where nobody listens: beckond reaches them over their flows).

Ring times are 1 s so that each test takes a few seconds.
"""

from __future__ import annotations

import time
import unittest
import uuid

from calls import ProxyTestCase
from harness import DOMAIN

CALLER_NAT = "127.0.0.2:5990"


def aor(user: str) -> str:
    return f"sip:{user}@{DOMAIN}"


def rule(user: str, **keys) -> str:
    lines = ["[[proxy.user]]", f'aor = "{aor(user)}"']
    for k, v in keys.items():
        if isinstance(v, str):
            lines.append(f'{k} = "{v}"')
        elif isinstance(v, list):
            lines.append(f"{k} = [" + ", ".join(f'"{x}"' for x in v) + "]")
        else:
            lines.append(f"{k} = {v}")
    return "\n".join(lines) + "\n"


def at(messages, index=0):
    return messages[index] if len(messages) > index else None


class ProxyCalls(ProxyTestCase):
    """Forking, hunting, forwarding, redirection, mobility, dialogs."""

    extra_toml = "\n".join([
        "[proxy]",
        "follow_redirects = true",
        rule("sales", fork="sequential", ring_seconds=1,
             targets=[aor("sales-a"), aor("sales-b")]),
        rule("carol", forward_no_answer_seconds=1, voicemail=aor("vm-carol")),
        rule("dave", voicemail=aor("vm-dave")),
        rule("ivan"),  # known, never registered
        rule("quinn", fork="q", ring_seconds=1),
    ])

    def test_two_devices_ring_and_the_first_answer_wins(self):
        quick = self.callee("bob", "answer", nat="127.0.0.2:5911", ring_ms=300).register()
        slow = self.callee("bob", "ring", nat="127.0.0.2:5912").register()
        caller = self.caller("alice", aor("bob"), contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        self.assertEqual(self.answered_by(caller), f"<{quick.contact_uri}>")
        quick.wait_done()
        slow.wait_done()
        # Both rang, with the same call; the one that did not answer got CANCEL.
        a, b = at(quick.invites()), at(slow.invites())
        self.assertIsNotNone(a, quick.sipp.report())
        self.assertIsNotNone(b, slow.sipp.report())
        self.assertEqual(a.headers("Call-ID"), b.headers("Call-ID"))
        self.assertEqual(a.first_line, f"INVITE {quick.contact_uri} SIP/2.0")
        self.assertEqual(b.first_line, f"INVITE {slow.contact_uri} SIP/2.0")
        self.assertEqual(len(slow.received("CANCEL")), 1, slow.sipp.report())
        self.assertEqual(quick.received("CANCEL"), [])
        # 16.6: Max-Forwards decremented, our Via on top, Record-Route added.
        self.assertEqual(a.headers("Max-Forwards"), ["69"])
        self.assertIn(f"127.0.0.1:{self.beckond.sip_port}", a.headers("Via")[0])
        self.assertEqual(len(a.headers("Record-Route")), 1, a.raw)
        self.assertIn(";lr", a.headers("Record-Route")[0])
        # The caller saw one final answer: the 200 (the 487 stays with beckond).
        finals = [r.first_line for r in caller.responses()
                  if r.headers("CSeq") == ["1 INVITE"] and not r.first_line.startswith("SIP/2.0 1")]
        self.assertEqual(finals, ["SIP/2.0 200 OK"])

    def test_the_callers_cancel_cancels_every_branch(self):
        one = self.callee("kim", "ring", nat="127.0.0.2:5913").register()
        two = self.callee("kim", "ring", nat="127.0.0.2:5914").register()
        caller = self.caller("alice", aor("kim"), "caller_cancel.xml", contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        one.wait_done()
        two.wait_done()
        for device in (one, two):
            self.assertEqual(len(device.received("CANCEL")), 1, device.sipp.report())
        self.assertIn("CANCEL answered", caller.log())
        self.assertIn("INVITE answered 487", caller.log())

    def test_every_2xx_of_a_forked_invite_reaches_the_caller(self):
        # Two devices of one user answer 200 at once: each 200 is a dialog of
        # its own at the caller (RFC 3261 16.7 step 5); the later one comes
        # back through the stateless path (16.11). Each dialog's ACK then
        # reaches its device along its own Record-Route.
        user = f"twice-{uuid.uuid4().hex[:6]}"
        a, b, caller = self.udp_peer(), self.udp_peer(), self.udp_peer()
        a.register(user)
        b.register(user)
        caller.send(f"""
            INVITE {aor(user)} SIP/2.0
            Via: SIP/2.0/UDP {caller.hostport};branch=z9hG4bK-c-{uuid.uuid4().hex[:10]};rport
            Max-Forwards: 70
            From: <sip:alice@{DOMAIN}>;tag=c2
            To: <{aor(user)}>
            Call-ID: twice-{uuid.uuid4().hex}
            CSeq: 1 INVITE
            Contact: <sip:alice@{caller.hostport}>
            """)
        for peer, tag in ((a, "ta"), (b, "tb")):
            invite = peer.recv("INVITE ")
            peer.reply(invite, 200, "OK", tag, [f"Contact: <sip:{user}@{peer.hostport}>"])
        answers = [caller.recv("SIP/2.0 200"), caller.recv("SIP/2.0 200")]
        tags = sorted(r.headers("To")[0].rsplit("tag=", 1)[-1] for r in answers)
        self.assertEqual(tags, ["ta", "tb"])
        for r in answers:
            routes = [v.strip() for h in reversed(r.headers("Record-Route")) for v in h.split(",")]
            self.assertEqual(len(routes), 1, r.raw)
            caller.send(f"""
                ACK {r.headers("Contact")[0].strip("<>")} SIP/2.0
                Via: SIP/2.0/UDP {caller.hostport};branch=z9hG4bK-a-{uuid.uuid4().hex[:10]};rport
                Max-Forwards: 70
                From: {r.headers("From")[0]}
                To: {r.headers("To")[0]}
                Call-ID: {r.headers("Call-ID")[0]}
                CSeq: 1 ACK
                Route: {routes[0]}
                """)
        for peer, tag in ((a, "ta"), (b, "tb")):
            ack = peer.recv("ACK ")
            self.assertIn(f"tag={tag}", ack.headers("To")[0])
            self.assertEqual(ack.headers("Route"), [])

    def test_a_hunt_group_tries_a_then_b(self):
        a = self.callee("sales-a", "ring", nat="127.0.0.2:5921").register()
        b = self.callee("sales-b", "answer", nat="127.0.0.2:5922").register()
        caller = self.caller("alice", aor("sales"), contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        self.assertEqual(self.answered_by(caller), f"<{b.contact_uri}>")
        a.wait_done()
        ta = self._times(a, "INVITE")[0]
        tb = self._times(b, "INVITE")[0]
        tc = self._times(a, "CANCEL")[0]
        # A rang its second, then B: not both at once.
        self.assertGreaterEqual(tb - ta, 0.9, "B rang before A's ring time was over")
        self.assertLess(tb - ta, 2.5)
        self.assertLessEqual(tc, tb + 0.1)

    def test_q_values_order_the_targets(self):
        # fork = "q": the device with the higher q rings first, alone, for its
        # ring time; then the lower one.
        low = self.callee("quinn", "answer", nat="127.0.0.2:5923", q="0.5").register()
        high = self.callee("quinn", "ring", nat="127.0.0.2:5924", q="1.0").register()
        caller = self.caller("alice", aor("quinn"), contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        self.assertEqual(self.answered_by(caller), f"<{low.contact_uri}>")
        high.wait_done()
        gap = self._times(low, "INVITE")[0] - self._times(high, "INVITE")[0]
        self.assertGreaterEqual(gap, 0.9)
        self.assertLess(gap, 2.5)

    def test_a_device_behind_an_edge_proxy_is_reached_along_its_path(self):
        # RFC 3327: the REGISTER came through an edge proxy that added Path;
        # the INVITE goes to the edge (over the REGISTER's flow) with that
        # Path as its Route, the device's Contact as Request-URI.
        user = f"pathy-{uuid.uuid4().hex[:6]}"
        edge, caller = self.udp_peer(), self.udp_peer()
        path = f"<sip:edge@{edge.hostport};lr>"
        edge.send(f"""
            REGISTER sip:{DOMAIN} SIP/2.0
            Via: SIP/2.0/UDP {edge.hostport};branch=z9hG4bK-e-{uuid.uuid4().hex[:10]};rport
            Via: SIP/2.0/UDP 10.1.2.3:5060;branch=z9hG4bK-dev-{uuid.uuid4().hex[:10]}
            Max-Forwards: 69
            From: <{aor(user)}>;tag=r1
            To: <{aor(user)}>
            Call-ID: path-{uuid.uuid4().hex}
            CSeq: 1 REGISTER
            Path: {path}
            Supported: path
            Contact: <sip:{user}@10.1.2.3:5060>
            Expires: 300
            """)
        self.assertTrue(edge.recv("SIP/2.0 ").first_line.startswith("SIP/2.0 200"))
        caller.send(f"""
            INVITE {aor(user)} SIP/2.0
            Via: SIP/2.0/UDP {caller.hostport};branch=z9hG4bK-c-{uuid.uuid4().hex[:10]};rport
            Max-Forwards: 70
            From: <sip:alice@{DOMAIN}>;tag=c3
            To: <{aor(user)}>
            Call-ID: path-call-{uuid.uuid4().hex}
            CSeq: 1 INVITE
            Contact: <sip:alice@{caller.hostport}>
            """)
        invite = edge.recv("INVITE ")
        self.assertEqual(invite.first_line, f"INVITE sip:{user}@10.1.2.3:5060 SIP/2.0")
        self.assertEqual(invite.headers("Route"), [path])
        edge.reply(invite, 486, "Busy Here", "e1")
        self.assertEqual(caller.recv("SIP/2.0 4").first_line, "SIP/2.0 486 Busy Here")

    def test_no_answer_forwards_to_voicemail(self):
        carol = self.callee("carol", "ring", nat="127.0.0.2:5931").register()
        vm = self.callee("vm-carol", "answer", nat="127.0.0.2:5932").register()
        caller = self.caller("alice", aor("carol"), contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        self.assertEqual(self.answered_by(caller), f"<{vm.contact_uri}>")
        carol.wait_done()
        waited = self._times(carol, "CANCEL")[0] - self._times(carol, "INVITE")[0]
        self.assertGreaterEqual(waited, 0.9)
        self.assertLess(waited, 2.5)
        self.assertIn("forwarded to " + aor("vm-carol"), self.beckond.log())

    def test_busy_forwards_to_voicemail(self):
        dave = self.callee("dave", "reject", status=(486, "Busy Here"),
                           nat="127.0.0.2:5941").register()
        vm = self.callee("vm-dave", "answer", nat="127.0.0.2:5942").register()
        caller = self.caller("alice", aor("dave"), contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        self.assertEqual(self.answered_by(caller), f"<{vm.contact_uri}>")
        dave.wait_done()  # it got the ACK of its 486
        self.assertEqual(len(dave.invites()), 1)
        self.assertFalse(any(r.first_line.startswith("SIP/2.0 486") for r in caller.responses()))

    def test_a_302_is_followed(self):
        erin = self.callee("erin", "reject", status=(302, "Moved Temporarily"),
                           nat="127.0.0.2:5951", redirect_to=aor("frank")).register()
        frank = self.callee("frank", "answer", nat="127.0.0.2:5952").register()
        caller = self.caller("alice", aor("erin"), contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        self.assertEqual(self.answered_by(caller), f"<{frank.contact_uri}>")
        erin.wait_done()
        self.assertFalse(any(r.first_line.startswith("SIP/2.0 302") for r in caller.responses()))

    def test_a_user_who_moves_is_reached_at_the_new_contact(self):
        instance = f"<urn:uuid:{uuid.uuid4()}>"
        desk = self.callee("gina", "answer", nat="127.0.0.2:5961", instance=instance).register()
        mobile = self.callee("gina", "answer", nat="127.0.0.2:5962", instance=instance).register()
        caller = self.caller("alice", aor("gina"), contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        self.assertEqual(self.answered_by(caller), f"<{mobile.contact_uri}>")
        mobile.wait_done()
        self.assertEqual(desk.invites(), [], "the old contact was called")

    def test_in_dialog_bye_and_re_invite_follow_the_record_route(self):
        # The callee over TCP, the caller over UDP: beckond record-routes
        # twice (one per transport) and carries each request of the dialog
        # over the flow toward the other party.
        hank = self.callee("hank", "dialog", nat="127.0.0.2:5971", transport="tcp").register()
        caller = self.caller("alice", aor("hank"), "caller_dialog.xml",
                             contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        hank.wait_done()
        invites = hank.invites()
        self.assertEqual(len(invites), 2, hank.sipp.report())
        first, again = invites
        rr = [v.strip() for h in first.headers("Record-Route") for v in h.split(",")]
        self.assertEqual(len(rr), 2, first.raw)  # RFC 5658: one per transport
        self.assertIn(";transport=tcp;", rr[0])  # the callee's side on top
        self.assertNotIn("transport=", rr[1])
        # The re-INVITE went to the callee's Contact, our Routes taken off.
        self.assertEqual(again.first_line, f"INVITE {hank.contact_uri} SIP/2.0")
        self.assertEqual(again.headers("Route"), [])
        self.assertEqual(again.headers("CSeq"), ["2 INVITE"])
        acks = hank.received("ACK")
        self.assertEqual(len(acks), 2)
        # The callee's BYE reached the caller at its Contact, over its flow.
        byes = caller.received("BYE")
        self.assertEqual(len(byes), 1, caller.sipp.report())
        self.assertEqual(byes[0].first_line, f"BYE sip:alice@{CALLER_NAT};transport=UDP SIP/2.0")
        self.assertEqual(byes[0].headers("Route"), [])
        self.assertEqual(byes[0].headers("Max-Forwards"), ["69"])

    def test_unknown_user_404_known_user_without_binding_480(self):
        self.assertCall(self.caller("alice", aor("nobody-here"), expect=404,
                                    contact_hostport=CALLER_NAT))
        self.assertCall(self.caller("alice", aor("ivan"), expect=480,
                                    contact_hostport=CALLER_NAT))

    def test_a_request_for_a_foreign_domain_is_refused(self):
        caller = self.caller("alice", "sip:someone@elsewhere.example.org", expect=404,
                             contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        final = [r for r in caller.responses() if r.first_line.startswith("SIP/2.0 404")]
        self.assertIn("not a domain of this proxy", final[0].first_line)

    def test_max_forwards_0_is_483_except_options(self):
        self.assertCall(self.caller("alice", aor("bob"), expect=483, contact_hostport=CALLER_NAT,
                                    keys={"max_forwards": "0"}))
        peer = self.udp_peer()
        peer.send(f"""
            OPTIONS {aor("bob")} SIP/2.0
            Via: SIP/2.0/UDP {peer.hostport};branch=z9hG4bK-opt-{uuid.uuid4().hex[:10]};rport
            Max-Forwards: 0
            From: <sip:alice@{DOMAIN}>;tag=o1
            To: <{aor("bob")}>
            Call-ID: opt-{uuid.uuid4().hex}
            CSeq: 1 OPTIONS
            """)
        r = peer.recv("SIP/2.0 ")
        self.assertEqual(r.first_line, "SIP/2.0 200 OK")
        self.assertIn("INVITE", r.headers("Allow")[0])

    def test_a_loop_is_482_a_spiral_goes_on(self):
        # A device that sends the INVITE it got back to beckond unchanged
        # (but for its own Via and Max-Forwards): a loop. Sent back for
        # another user instead: a spiral, which goes on.
        for kind in ("loop", "spiral"):
            with self.subTest(kind):
                device, other, caller = self.udp_peer(), self.udp_peer(), self.udp_peer()
                user, second = f"{kind}-{uuid.uuid4().hex[:6]}", f"{kind}-b-{uuid.uuid4().hex[:6]}"
                device.register(user)
                other.register(second)
                call_id = f"{kind}-{uuid.uuid4().hex}"
                caller.send(f"""
                    INVITE {aor(user)} SIP/2.0
                    Via: SIP/2.0/UDP {caller.hostport};branch=z9hG4bK-c-{uuid.uuid4().hex[:10]};rport
                    Max-Forwards: 70
                    From: <sip:alice@{DOMAIN}>;tag=c1
                    To: <{aor(user)}>
                    Call-ID: {call_id}
                    CSeq: 1 INVITE
                    Contact: <sip:alice@{caller.hostport}>
                    """)
                forwarded = device.recv("INVITE ")
                target = aor(user) if kind == "loop" else aor(second)
                head = forwarded.head.decode().split("\r\n")
                mf = int(forwarded.headers("Max-Forwards")[0]) - 1
                back = [f"INVITE {target} SIP/2.0",
                        f"Via: SIP/2.0/UDP {device.hostport};branch=z9hG4bK-d-{uuid.uuid4().hex[:10]};rport"]
                back += [h for h in head[1:] if not h.lower().startswith(("max-forwards", "content-length"))]
                back += [f"Max-Forwards: {mf}", "Content-Length: 0", "", ""]
                device.send_raw("\r\n".join(back).encode())
                if kind == "loop":
                    r = device.recv("SIP/2.0 4")
                    self.assertEqual(r.first_line, "SIP/2.0 482 Loop Detected")
                else:
                    spiralled = other.recv("INVITE ")
                    self.assertEqual(spiralled.headers("Call-ID"), [call_id])
                    # Our Via twice: the spiral's branch carries another hash.
                    ours = [v for v in spiralled.headers("Via")
                            if f"127.0.0.1:{self.beckond.sip_port}" in v]
                    self.assertEqual(len(ours), 2, spiralled.raw)
                # The device ends the first INVITE; the caller gets that answer.
                vias = [h for h in head if h.lower().startswith("via:")]
                device.send_raw("\r\n".join(
                    ["SIP/2.0 480 Temporarily Unavailable"] + vias +
                    [h for h in head if h.lower().split(":")[0] in ("from", "call-id", "cseq")] +
                    [f"To: <{aor(user)}>;tag=d1", "Content-Length: 0", "", ""]).encode())
                final = caller.recv("SIP/2.0 4")
                self.assertEqual(final.first_line, "SIP/2.0 480 Temporarily Unavailable")

    def _times(self, callee, method: str) -> list[float]:
        """When each `method` request reached the callee (seconds, trace clock)."""
        from sip_rules import timed_messages

        out = []
        for when, m in timed_messages(callee.sipp):
            if m.direction == "received" and m.method == method:
                out.append(when.timestamp())
        self.assertTrue(out, f"no {method} at {callee.user}\n{callee.sipp.report()}")
        return out


class ProxyRelaysRedirects(ProxyTestCase):
    """follow_redirects off (the default): a 3xx goes back to the caller."""

    extra_toml = ""

    def test_a_302_is_relayed(self):
        erin = self.callee("erin", "reject", status=(302, "Moved Temporarily"),
                           nat="127.0.0.2:5981", redirect_to=aor("frank")).register()
        frank = self.callee("frank", "answer", nat="127.0.0.2:5982").register()
        caller = self.caller("alice", aor("erin"), expect=302, contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        erin.wait_done()
        final = [r for r in caller.responses() if r.first_line.startswith("SIP/2.0 302")][0]
        self.assertEqual(final.headers("Contact"), [f"<{aor('frank')}>"])
        self.assertEqual(frank.invites(), [])


class ProxyAuthenticatesCallers(ProxyTestCase):
    """[sip.auth]: callers of our domain prove who they are (407)."""

    extra_toml = "\n".join([
        "[sip.auth]",
        f'realm = "{DOMAIN}"',
        'methods = ["SUBSCRIBE"]',  # devices register without credentials here
        "[[sip.auth.user]]",
        'user = "alice"',
        # printf '%s' 'alice:example.com:secret' | md5sum (SIPp: MD5 only)
        'ha1_md5 = "' + __import__("hashlib").md5(f"alice:{DOMAIN}:secret".encode()).hexdigest()
        + '"',
    ])

    def test_a_caller_without_credentials_gets_407(self):
        caller = self.caller("alice", aor("bob"), expect=407, contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        final = [r for r in caller.responses() if r.first_line.startswith("SIP/2.0 407")][0]
        challenges = final.headers("Proxy-Authenticate")
        self.assertTrue(challenges and challenges[0].startswith("Digest "), final.raw)
        self.assertIn(f'realm="{DOMAIN}"', challenges[0])

    def test_a_caller_with_credentials_gets_through(self):
        bob = self.callee("bob", "answer", nat="127.0.0.2:5991").register()
        caller = self.caller("alice", aor("bob"), "caller_auth.xml", auth=("alice", "secret"),
                             contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        self.assertEqual(self.answered_by(caller), f"<{bob.contact_uri}>")
        bob.wait_done()
        # 22.3: our realm's credentials were for us: not forwarded.
        self.assertEqual(bob.invites()[0].headers("Proxy-Authorization"), [])

    def test_a_wrong_password_is_403(self):
        caller = self.caller("alice", aor("bob"), "caller_auth_refused.xml",
                             auth=("alice", "wrong"), contact_hostport=CALLER_NAT)
        self.assertCall(caller)
        self.assertIn("auth failed user=alice", self.beckond.log())


if __name__ == "__main__":
    unittest.main()
