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
- the store holds the key owner-only (0600): it is a secret

Run with /usr/bin/python3.
"""
import email.utils
import os
import re
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

    def test_the_store_is_readable_by_its_owner_only(self):
        mode = stat.S_IMODE(os.stat(self.beckond.store_path).st_mode)
        self.assertEqual(mode, 0o600, oct(mode))


if __name__ == "__main__":
    unittest.main()
