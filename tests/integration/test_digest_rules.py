"""The rules around a digest response (RFC 7616, RFC 3261 22), against
beckond started for real with [sip.auth] (nonce_lifetime_s = 10), by hand-made
REGISTERs over UDP whose digest the test computes (test_digest.UdpPhone):

- the credentials' uri must be the Request-URI, compared as SIP URIs (RFC
  3261 19.1.4): another host, or a transport parameter the Request-URI lacks,
  gets 400 (RFC 7616 3.4.6) and no binding; the same URI written in another
  case of the host gets 200;
- qop=auth is required: the right digest in the RFC 2069 form (no qop, no
  nc) gets 403;
- a nonce's nc must grow: the same Authorization again (a new transaction)
  gets 401 with a fresh nonce and stale=true, so does a lower nc; a higher
  nc gets 200, and so does the fresh nonce; a retransmission of the same
  REGISTER (same bytes) still gets 200;
- guessing is slowed down ([sip.auth] source_failure_limit = 4,
  user_failure_limit = 3, block_s = 3): the 4th failure from one source
  blocks it, its next attempt with the right password gets 403, another
  source is let in, the block is logged once and counted in
  beckon_digest_blocked_total{by="source"} (and failures in
  beckon_digest_failures_total); after block_s the source gets in again.
  The 3rd failure for one user name, from three sources, blocks that name
  for every source while another user gets in. Each source is its own
  loopback address (127.0.0.x).

Run with /usr/bin/python3 (see harness.py for the environment).
"""

from __future__ import annotations

import time
import unittest

import harness
from harness import DOMAIN
from sip_rules import contacts, status_of
from test_digest import (OTHER, OTHER_PASSWORD, PASSWORD, REALM, USER, DigestTestCase, H,
                         auth_user, credentials, ha1)
from test_metrics import Scraper

URI = f"sip:{DOMAIN}"


def rfc2069(algorithm: str, user: str, password: str, nonce: str, method: str, uri: str) -> str:
    """The right digest without qop: H(HA1:nonce:H(method:uri))."""
    response = H(algorithm, f"{ha1(algorithm, user, password)}:{nonce}:{H(algorithm, f'{method}:{uri}')}")
    return (f'Digest username="{user}", realm="{REALM}", nonce="{nonce}", uri="{uri}",'
            f' response="{response}", algorithm={algorithm}')


class DigestRules(DigestTestCase):
    auth_users = [auth_user(USER, PASSWORD), auth_user(OTHER, OTHER_PASSWORD)]

    def register(self, p, authorization=None, ruri=URI):
        return p.request("REGISTER", ruri, headers=["Expires: 600"], authorization=authorization)

    def test_uri_must_be_the_request_uri(self):
        p = self.phone(contact_port=5041)
        for uri in ("sip:example.org", f"{URI};transport=udp", f"sip:{USER}@{DOMAIN}",
                    f"sips:{DOMAIN}"):
            with self.subTest(uri=uri):
                nonce = self.assertChallenge(self.register(p))
                r = self.register(p, credentials("MD5", USER, PASSWORD, nonce, "REGISTER", uri))
                self.assertEqual(status_of(r), 400, r.raw)
                self.assertIn("uri", r.first_line, r.raw)
                self.assertEqual(contacts(r), [], r.raw)
        # equal as SIP URIs, written otherwise: the digest is over the text sent
        nonce = self.assertChallenge(self.register(p))
        r = self.register(p, credentials("MD5", USER, PASSWORD, nonce, "REGISTER",
                                         f"sip:{DOMAIN.upper()}"))
        self.assertEqual(status_of(r), 200, r.raw)

    def test_qop_auth_is_required(self):
        p = self.phone(contact_port=5042)
        nonce = self.assertChallenge(self.register(p))
        r = self.register(p, rfc2069("MD5", USER, PASSWORD, nonce, "REGISTER", URI))
        self.assertForbidden(r)
        nonce = self.assertChallenge(self.register(p))
        r = self.register(p, credentials("MD5", USER, PASSWORD, nonce, "REGISTER", URI))
        self.assertEqual(status_of(r), 200, r.raw)

    def test_a_replay_gets_a_fresh_stale_challenge(self):
        p = self.phone(contact_port=5043)
        nonce = self.assertChallenge(self.register(p))
        first = credentials("SHA-256", USER, PASSWORD, nonce, "REGISTER", URI, nc=1)
        self.assertEqual(status_of(self.register(p, first)), 200)
        # the very same credentials in a new transaction (a new branch, CSeq)
        replayed = self.register(p, first)
        fresh = self.assertChallenge(replayed, stale=True)
        self.assertNotEqual(fresh, nonce)
        harness.wait_until(lambda: f"auth replay refused user={USER} method=REGISTER"
                           in self.beckond.log()[self._log_offset:], 5, what="the replay logged")
        r = self.register(p, credentials("SHA-256", USER, PASSWORD, nonce, "REGISTER", URI, nc=3))
        self.assertEqual(status_of(r), 200, r.raw)
        r = self.register(p, credentials("SHA-256", USER, PASSWORD, nonce, "REGISTER", URI, nc=2))
        self.assertChallenge(r, stale=True)
        r = self.register(p, credentials("SHA-256", USER, PASSWORD, fresh, "REGISTER", URI))
        self.assertEqual(status_of(r), 200, r.raw)
        self.assertEqual(self.listed(r, p.contact_uri).get("expires"), "600", r.raw)

    def test_a_register_retransmission_is_no_replay(self):
        """REGISTER is answered statelessly: a UDP retransmission (the same
        bytes: Call-ID, CSeq, branch) is verified again and still gets 200."""
        p = self.phone(contact_port=5049)
        nonce = self.assertChallenge(self.register(p))
        r = self.register(p, credentials("MD5", USER, PASSWORD, nonce, "REGISTER", URI))
        self.assertEqual(status_of(r), 200, r.raw)
        sent = [m for m in p.trace if m.direction == "sent"][-1]
        p.sock.sendto(sent.raw, p.server)
        again = p._recv(time.monotonic() + 5)
        self.assertIsNotNone(again, "no answer to the retransmission")
        self.assertEqual(status_of(again), 200, again.raw)


class DigestSlowDown(DigestTestCase):
    auth_users = [auth_user(USER, PASSWORD), auth_user(OTHER, OTHER_PASSWORD)]
    auth_config = {"source_failure_limit": 4, "user_failure_limit": 3, "failure_window_s": 60,
                   "block_s": 3}

    def attempt(self, p, user: str, password: str):
        nonce = self.assertChallenge(p.request("REGISTER", URI))
        return p.request("REGISTER", URI, headers=["Expires: 600"],
                         authorization=credentials("MD5", user, password, nonce, "REGISTER", URI))

    def logged(self, needle: str) -> list[str]:
        return [line for line in self.beckond.log()[self._log_offset:].splitlines() if needle in line]

    def test_a_guessing_source_is_blocked(self):
        scraper = Scraper(self.beckond)
        before = scraper.metrics()
        guesser = self.phone(user=USER, contact_port=5044, bind="127.0.0.11")
        # four wrong passwords, for as many names (below the per-user limit)
        for i, user in enumerate((USER, "7546658990", "7546658991", "7546658992")):
            self.assertForbidden(self.attempt(guesser, user, f"guess-{i}"))
        harness.wait_until(lambda: self.logged("auth blocked source=127.0.0.11 "), 5,
                           what="the block in the log")
        # blocked: even the right password is refused, unchecked
        for _ in range(3):
            self.assertForbidden(self.attempt(guesser, USER, PASSWORD))
        # another source is not
        other = self.phone(user=USER, contact_port=5045, bind="127.0.0.12")
        self.assertEqual(status_of(self.attempt(other, USER, PASSWORD)), 200)
        after = scraper.metrics()
        self.assertEqual(after.get('beckon_digest_blocked_total{by="source"}', 0)
                         - before.get('beckon_digest_blocked_total{by="source"}', 0), 3, after)
        self.assertEqual(after.get("beckon_digest_failures_total", 0)
                         - before.get("beckon_digest_failures_total", 0), 4, after)
        self.assertEqual(len(self.logged("auth blocked source=127.0.0.11 ")), 1,
                         "one line per block, not per refused attempt")
        self.assertEqual(len(self.logged("auth failed")), 4, "refused attempts are not logged")
        # after block_s (3 s) the source gets in (bounded wait)
        deadline = time.monotonic() + 15
        while True:
            r = self.attempt(guesser, USER, PASSWORD)
            if status_of(r) == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(status_of(r), 200, r.raw)

    def test_a_guessed_user_is_blocked_from_every_source(self):
        for i in range(3):
            p = self.phone(user=OTHER, contact_port=5046, bind=f"127.0.0.{21 + i}")
            self.assertForbidden(self.attempt(p, OTHER, f"guess-{i}"))
        harness.wait_until(lambda: self.logged(f"auth blocked user={OTHER} "), 5,
                           what="the block in the log")
        fresh = self.phone(user=OTHER, contact_port=5047, bind="127.0.0.24")
        self.assertForbidden(self.attempt(fresh, OTHER, OTHER_PASSWORD))
        someone = self.phone(user=USER, contact_port=5048, bind="127.0.0.24")
        self.assertEqual(status_of(self.attempt(someone, USER, PASSWORD)), 200)


if __name__ == "__main__":
    unittest.main()
