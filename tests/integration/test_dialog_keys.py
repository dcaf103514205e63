"""Proxied dialogs survive beckond's restart and crash (issue 20, "lose
nothing on a plain restart"): the Record-Route tokens are signed with keys
kept in the store (notifier/dialog_keys.h), so that a beckond killed with
SIGKILL and started again still routes the re-INVITE, ACK and BYE of a call
it set up before, over the flows its token names.

- a call from a SIPp caller to a registered SIPp callee (both UDP, behind a
  fake NAT address); the callee has the call (its ACK) when beckond is
  killed; after the restart the caller's re-INVITE and the callee's BYE go
  through beckond and the call ends cleanly at both ends
- the same call with the keys wiped from the store while beckond is down
  (a store restored without them): the caller's in-dialog INFO gets 481
  with Accessible-Since, an HTTP-date no earlier than the restart (the
  user agent may rebuild the dialog from there)
- the operator's rotation (SIGUSR1) mid-call: the new generation is stored
  and signs the next call's Record-Route; the call set up before goes on
  (its re-INVITE and BYE are routed by the older key)
- the store holds the key owner-only (0600): it is a secret

Run with /usr/bin/python3.
"""
import email.utils
import json
import os
import re
import signal
import sqlite3
import stat
import time
import unittest

from calls import ProxyTestCase
from devices import instantiate
from harness import DOMAIN

CALLER_NAT = "127.0.0.2:5994"
FIRST_PAUSE = '<pause milliseconds="200" />\n\n  <send retrans="500">'


class DialogKeys(ProxyTestCase):

    def test_a_call_goes_on_through_a_kill_and_a_restart(self):
        callee = self.callee("kate", "dialog", nat="127.0.0.2:5993").register()
        # The caller waits 6 s between its ACK and its re-INVITE: beckond is
        # killed and back meanwhile.
        scenario = instantiate(self.workdir, "caller_dialog.xml", {
            FIRST_PAUSE: FIRST_PAUSE.replace('"200"', '"6000"')})
        caller = self.caller("alice", f"sip:kate@{DOMAIN}", scenario, contact_hostport=CALLER_NAT)
        caller.sipp.start()
        self.wait(lambda: len(callee.received("ACK")) >= 1, 15, "the callee's ACK")
        self.beckond.kill()
        self.beckond.start()
        rc = caller.sipp.wait(30)
        self.assertEqual(rc, 0, f"caller SIPp exited {rc}\n{caller.sipp.report()}")
        callee.wait_done()
        invites = callee.invites()
        self.assertEqual(len(invites), 2, callee.sipp.report())
        self.assertEqual(invites[1].headers("CSeq"), ["2 INVITE"])
        self.assertEqual(len(callee.received("ACK")), 2, callee.sipp.report())
        self.assertEqual(len(caller.received("BYE")), 1, caller.sipp.report())

    def test_a_dialog_whose_key_is_gone_gets_481_with_accessible_since(self):
        callee = self.callee("lena", "dialog", nat="127.0.0.2:5992").register()
        scenario = instantiate(self.workdir, "caller_unknown_dialog.xml", {
            FIRST_PAUSE: FIRST_PAUSE.replace('"200"', '"6000"')})
        caller = self.caller("bert", f"sip:lena@{DOMAIN}", scenario, contact_hostport="127.0.0.2:5991")
        caller.sipp.start()
        self.wait(lambda: len(callee.received("ACK")) >= 1, 15, "the callee's ACK")
        self.beckond.kill()
        with sqlite3.connect(self.beckond.store_path) as db:
            db.execute("DELETE FROM meta WHERE key = 'dialog_keys'")
        restarted = time.time()
        self.beckond.start()
        rc = caller.sipp.wait(30)
        self.assertEqual(rc, 0, f"caller SIPp exited {rc}\n{caller.sipp.report()}")
        m = re.search(r"accessible since (.+)", caller.log())
        self.assertIsNotNone(m, caller.sipp.report())
        since = email.utils.parsedate_to_datetime(m.group(1).strip())
        self.assertTrue(m.group(1).strip().endswith(" GMT"), m.group(1))
        self.assertGreaterEqual(since.timestamp(), int(restarted) - 1, m.group(1))
        self.assertLessEqual(since.timestamp(), time.time() + 1, m.group(1))
        self.assertEqual(callee.received("INFO"), [], "the INFO went nowhere")

    def stored_generations(self) -> list[int]:
        with sqlite3.connect(self.beckond.store_path) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'dialog_keys'").fetchone()
        return sorted(k["generation"] for k in json.loads(row[0])) if row else []

    def record_route_generation(self, caller) -> str:
        ok = [m for m in caller.responses() if m.raw.startswith(b"SIP/2.0 200")
              and b"INVITE" in m.raw.split(b"CSeq:", 1)[-1][:20]]
        self.assertTrue(ok, caller.sipp.report())
        m = re.search(rb"(?im)^Record-Route:.*?<sip:b(\d+)\.", ok[0].raw)
        self.assertIsNotNone(m, ok[0].raw)
        return m.group(1).decode()

    def test_the_operator_rotates_the_key_with_sigusr1_mid_call(self):
        callee = self.callee("mona", "dialog", nat="127.0.0.2:5989").register()
        scenario = instantiate(self.workdir, "caller_dialog.xml", {
            FIRST_PAUSE: FIRST_PAUSE.replace('"200"', '"3000"')})
        caller = self.caller("carl", f"sip:mona@{DOMAIN}", scenario, contact_hostport="127.0.0.2:5988")
        before = self.stored_generations()
        caller.sipp.start()
        self.wait(lambda: len(callee.received("ACK")) >= 1, 15, "the callee's ACK")
        os.kill(self.beckond.proc.pid, signal.SIGUSR1)
        self.wait(lambda: "signs from now on" in self.beckond.log(), 10, "the rotation logged")
        rc = caller.sipp.wait(30)
        self.assertEqual(rc, 0, f"the call set up before the rotation: {caller.sipp.report()}")
        callee.wait_done()
        self.assertEqual(len(caller.received("BYE")), 1, caller.sipp.report())
        old = self.record_route_generation(caller)
        after = self.stored_generations()
        self.assertEqual(after[-1], int(old) + 1, (before, after))
        self.assertIn(int(old), after, "the older generation still verifies")

        self.callee("nina", "answer", nat="127.0.0.2:5986").register()
        second = self.caller("dora", f"sip:nina@{DOMAIN}", contact_hostport="127.0.0.2:5987")
        self.assertEqual(second.run(), 0, second.sipp.report())
        self.assertEqual(self.record_route_generation(second), str(after[-1]),
                         "the new key signs the next call")

    def test_the_store_is_readable_by_its_owner_only(self):
        mode = stat.S_IMODE(os.stat(self.beckond.store_path).st_mode)
        self.assertEqual(mode, 0o600, oct(mode))


if __name__ == "__main__":
    unittest.main()
