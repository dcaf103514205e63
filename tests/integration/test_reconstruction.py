"""Dialog reconstruction, proxy role, end to end with beckon-ua on both
ends (issue 20; docs/beckon-ua.md and docs/proxy.md, "Dialog
reconstruction"): a call between two registered beckon-ua through
beckond; beckond killed with SIGKILL, its Record-Route keys wiped from the
store (a store restored without them), started again. The caller's
re-INVITE gets 481 with Accessible-Since, after the call's set-up: it sends
the out-of-dialog REFER with the call's state through beckond, the callee
answers 202 and sends an INVITE with Replaces back through beckond; the
call goes on in the new dialog (record-routed by the new beckond): a
re-INVITE and an INFO work, and the BYE ends the call at both ends. The
same when it is the callee's BYE that gets the 481 (-term).

And the REFER that matches no call gets 481, one naming a call its sender
is not part of 403; neither changes the call. Without Accessible-Since (a
SIPp callee answering the re-INVITE 481, scenarios/ua_uas_481.xml) the
481 just ends the call: no BYE, no REFER.

Run with /usr/bin/python3.
"""
import os
import sqlite3
import unittest

import harness
from calls import ProxyTestCase
from harness import DOMAIN, LOOPBACK, BeckondTestCase
from raw_sip import RawDevice, status_of
from user_agents import BeckonUa


class Agents:
    """Stops every beckon-ua of a test; prints their output when it fails."""

    def setUp(self):
        super().setUp()
        self.uas: list[BeckonUa] = []

    def tearDown(self):
        for ua in self.uas:
            ua.stop()
        super().tearDown()

    def dump(self):
        super().dump()
        import sys
        sys.stderr.write("\n".join(ua.report() for ua in getattr(self, "uas", [])) + "\n")

    def ua(self, name: str, args: list[str]) -> BeckonUa:
        u = BeckonUa(self.workdir, f"{self._testMethodName}-{name}", args)
        self.uas.append(u)
        return u.start()



class Reconstruction(Agents, ProxyTestCase):

    def refer(self, ua: BeckonUa, sender: str, call_id: str, to_tag: str, from_tag: str) -> int:
        """A reconstruction REFER sent straight to `ua` from `sender`; its status."""
        dev = RawDevice(ua.port, "udp")
        try:
            replaces = f"{call_id};to-tag={to_tag};from-tag={from_tag}"
            escaped = replaces.replace("@", "%40").replace(";", "%3B").replace("=", "%3D")
            answer = dev.request(b"REFER", [
                f"From: <{sender}>;tag={os.urandom(4).hex()}".encode(),
                f"To: <sip:kate@{DOMAIN}>".encode(),
                f"Call-ID: {os.urandom(8).hex()}@127.0.0.2".encode(),
                f"Contact: <sip:{LOOPBACK}:{dev.sock.getsockname()[1]}>".encode(),
                f"Refer-To: <{sender};call-reconstruction-org?Replaces={escaped}>".encode(),
            ], ruri=f"sip:kate@{LOOPBACK}:{ua.port}".encode())
        finally:
            dev.close()
        return status_of(answer)

    def lose_the_keys(self):
        """beckond killed, its Record-Route keys wiped, started again."""
        self.beckond.kill()
        with sqlite3.connect(self.beckond.store_path) as db:
            db.execute("DELETE FROM meta WHERE key = 'dialog_keys'")
        self.beckond.start()

    def test_a_call_is_rebuilt_after_its_keys_are_lost(self):
        registrar = f"{LOOPBACK}:{self.beckond.sip_port}"
        callee = self.ua("callee", ["--aor", f"sip:kate@{DOMAIN}", "--registrar", registrar,
                                    "--register", "--answer", "0", "--exit-after", "call-ended"])
        callee.wait_event("registered")
        # The re-INVITE comes 5 s after the set-up: beckond is killed and
        # back meanwhile; after the rebuild, again 5 s later, an INFO, then
        # the BYE.
        caller = self.ua("caller", ["--aor", f"sip:alice@{DOMAIN}", "--registrar", registrar,
                                    "--register", "--proxy", registrar,
                                    "--call", f"sip:kate@{DOMAIN}", "--reinvite-after", "5",
                                    "--info-after", "5.5", "--hangup-after", "6", "--exit-after", "call-ended"])
        out_est = caller.wait_event("call-established")
        in_est = callee.wait_event("call-established")
        self.assertEqual(out_est["call_id"], in_est["call_id"])

        # Bad input changes nothing: no such call (481); a call the sender
        # is not part of (403).
        self.assertEqual(self.refer(callee, f"sip:alice@{DOMAIN}", "no-such-call@x",
                                    out_est["local_tag"], in_est["local_tag"]), 481)
        self.assertEqual(self.refer(callee, f"sip:mallory@{DOMAIN}", in_est["call_id"],
                                    out_est["local_tag"], in_est["local_tag"]), 403)
        self.assertEqual(callee.events("call-reconstructing"), [])

        self.lose_the_keys()

        first = caller.wait_event("call-reinvite", timeout=15, by="local")
        self.assertEqual(first["status"], 481, caller.report())
        rebuilding = caller.wait_event("call-reconstructing", by="local")
        self.assertEqual(rebuilding["role"], "org")
        self.assertTrue(rebuilding["accessible_since"].endswith(" GMT"), rebuilding)
        self.assertIn(";call-reconstruction-org?Replaces=", rebuilding["refer_to"])
        self.assertEqual(callee.wait_event("call-reconstructing", by="remote")["role"], "term")
        self.assertEqual(caller.wait_event("call-refer-answered")["status"], 202)
        out_new = caller.wait_event("call-reconstructed", by="remote")
        in_new = callee.wait_event("call-reconstructed", by="local")
        self.assertEqual(out_new["call_id"], in_new["call_id"])
        self.assertNotEqual(out_new["call_id"], out_est["call_id"])
        self.assertEqual((out_new["direction"], in_new["direction"]), ("outgoing", "incoming"))

        # The new dialog goes through the new beckond: re-INVITE, then BYE.
        again = caller.wait_event("call-reinvite", timeout=15, count=2, by="local")
        self.assertEqual(again["status"], 200, caller.report())
        self.assertEqual(callee.wait_event("call-reinvite", by="remote")["status"], 200)
        self.assertEqual(caller.wait_event("call-info", timeout=10, by="local")["status"], 200)
        self.assertEqual(callee.wait_event("call-info", by="remote")["status"], 200)
        self.assertEqual(len(caller.events("call-info")), 1, "the old dialog's INFO is void")
        self.assertEqual(caller.wait(20), 0, caller.report())
        self.assertEqual(callee.wait(20), 0, callee.report())
        out_end, in_end = caller.wait_event("call-ended"), callee.wait_event("call-ended")
        self.assertEqual((out_end["reason"], out_end["by"]), ("bye", "local"))
        self.assertEqual((in_end["reason"], in_end["by"]), ("bye", "remote"))
        self.assertEqual(len(caller.events("call-ended")), 1)
        self.assertEqual(len(callee.events("call-ended")), 1)
        self.assertEqual(caller.events("error") + callee.events("error"), [])

    def test_the_callee_s_bye_rebuilds_the_call_then_ends_it(self):
        # The callee (no --proxy: its requests outside dialogs take a Route
        # to its registrar) hangs up 4 s after the set-up; its BYE gets the
        # 481, it sends the REFER (-term), the caller the INVITE with
        # Replaces, and the BYE goes again on the new dialog.
        registrar = f"{LOOPBACK}:{self.beckond.sip_port}"
        callee = self.ua("callee", ["--aor", f"sip:lisa@{DOMAIN}", "--registrar", registrar,
                                    "--register", "--answer", "0", "--hangup-after", "4",
                                    "--exit-after", "call-ended"])
        callee.wait_event("registered")
        caller = self.ua("caller", ["--aor", f"sip:bob@{DOMAIN}", "--registrar", registrar,
                                    "--register", "--proxy", registrar,
                                    "--call", f"sip:lisa@{DOMAIN}", "--exit-after", "call-ended"])
        caller.wait_event("call-established")
        callee.wait_event("call-established")
        self.lose_the_keys()

        self.assertEqual(callee.wait_event("call-reconstructing", timeout=15, by="local")["role"],
                         "term")
        self.assertEqual(caller.wait_event("call-reconstructing", by="remote")["role"], "org")
        callee.wait_event("call-reconstructed", by="remote")
        caller.wait_event("call-reconstructed", by="local")
        self.assertEqual(caller.wait(20), 0, caller.report())
        self.assertEqual(callee.wait(20), 0, callee.report())
        out_end, in_end = caller.wait_event("call-ended"), callee.wait_event("call-ended")
        self.assertEqual((in_end["reason"], in_end["by"]), ("bye", "local"))
        self.assertEqual((out_end["reason"], out_end["by"]), ("bye", "remote"))
        self.assertEqual(out_end["call_id"], in_end["call_id"])
        self.assertEqual(caller.events("error") + callee.events("error"), [])


class WithoutAccessibleSince(Agents, BeckondTestCase):
    uses_beckond = False

    def test_a_plain_481_ends_the_call(self):
        uas = harness.Sipp(self.workdir, "uas", "ua_uas_481.xml", None)
        self.sipps.append(uas)
        uas.start()
        uas.wait_listening()
        caller = self.ua("caller", ["--call", f"sip:service@{LOOPBACK}:{uas.port}",
                                    "--reinvite-after", "0.2", "--exit-after", "call-ended"])
        self.assertEqual(caller.wait(15), 0, caller.report())
        self.assertEqual(uas.wait(15), 0, uas.report())
        self.assertEqual(caller.wait_event("call-reinvite")["status"], 481)
        end = caller.wait_event("call-ended")
        self.assertEqual((end["reason"], end["by"], end["status"]), ("gone", "remote", 481))
        self.assertEqual(caller.events("call-reconstructing"), [])


if __name__ == "__main__":
    unittest.main()
