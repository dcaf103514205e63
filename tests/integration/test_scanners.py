"""SIP scanners (Debian's sipvicious 0.3.3) against beckond with [sip.auth],
started for real on loopback:

- svwar, extension enumeration with REGISTER (also --force), OPTIONS and
  INVITE over a range holding both configured users: it reports no
  extension. beckond answers an existing and an unknown user alike (the
  same status line and header names for REGISTER, SUBSCRIBE, OPTIONS and
  INVITE, checked here directly too).
- svcrack, password cracking with a small wordlist (not holding the
  passwords), for a configured and for an unknown user: it cracks nothing,
  and beckond logs every failed attempt with the user and the scanner's
  source address and port.
- Afterwards a device registered with credentials still gets its NOTIFY.

The users have MD5 HA1s only, so that beckond offers MD5 alone: sipvicious
computes MD5 only (with SHA-256 offered first, algorithms = ["SHA-256",
"MD5"], svcrack stops at once on "Unknown algorithm: sha-256"). That is the attacker's best case.

With low limits ([sip.auth] source_failure_limit = 5) svcrack is blocked
after 5 guesses: a wordlist holding the password (past the 5th word) does
not find it, the right password from the scanner's address gets 403, and
the block is logged once (ScannersSlowedDown).

Every scanner run is bounded (--maximumtime, and a subprocess timeout) and
uses a source port of its own (-P); the runs of one test go in parallel
(svcrack waits 10 s for a last answer whatever its options).
"""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import subprocess
import unittest
import uuid

from harness import DOMAIN, LOOPBACK, free_port, wait_until
from test_digest import DigestTestCase, UdpPhone, auth_user, credentials
from sip_rules import status_of

USER, PASSWORD = "7546658000", "correct horse battery staple"
OTHER, OTHER_PASSWORD = "7546658001", "Tr0ub4dor&3"
UNKNOWN = "7546658002"  # configured nowhere, inside the scanned range
SCANNED = range(7546657996, 7546658005)
WORDS = ["123456", "password", "12345678", "qwerty", "123456789", "12345", "1234", "111111",
         "1234567", "dragon", "123123", "admin", "letmein", "secret", "7546658000"]

SVWAR = shutil.which("svwar") or "/usr/bin/svwar"
SVCRACK = shutil.which("svcrack") or "/usr/bin/svcrack"
SCAN_TIMEOUT_S = 60


class ScannerCase(DigestTestCase):
    auth_users = [auth_user(USER, PASSWORD, sha256=False),
                  auth_user(OTHER, OTHER_PASSWORD, sha256=False)]

    def scan(self, tool: str, args: list[str]) -> subprocess.CompletedProcess:
        port = free_port(udp=True, tcp=False)
        cmd = [tool, *args, "--domain", DOMAIN, "-p", str(self.beckond.sip_port), "-b", LOOPBACK,
               "-P", str(port), "--maximumtime", "1", LOOPBACK]
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=SCAN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.fail(f"{cmd} ran longer than {SCAN_TIMEOUT_S} s")
        r.source_port = port
        self.assertEqual(r.returncode, 0, f"{cmd}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertNotIn("Traceback", r.stderr, f"{cmd}: the scanner itself failed:\n{r.stderr}")
        return r


class Scanners(ScannerCase):

    def test_svwar_finds_no_extension(self):
        runs = (("REGISTER", []), ("REGISTER", ["--force"]), ("OPTIONS", []), ("INVITE", []))
        with concurrent.futures.ThreadPoolExecutor(len(runs)) as pool:  # each waits for silence
            results = list(pool.map(
                lambda run: self.scan(SVWAR, ["-e", f"{SCANNED.start}-{SCANNED.stop - 1}",
                                              "-m", run[0], *run[1]]), runs))
        for (method, extra), r in zip(runs, results):
            with self.subTest(method=method, extra=extra):
                out = r.stdout + r.stderr
                self.assertIn("found nothing", out, out)
                for ext in SCANNED:
                    self.assertNotIn(str(ext), r.stdout, f"svwar reported {ext}:\n{out}")

    def test_existing_and_unknown_users_are_answered_alike(self):
        def answer(user: str, method: str):
            p = UdpPhone(self.beckond.sip_port, user=user, contact_port=5030)
            try:
                ruri = f"sip:{DOMAIN}" if method == "REGISTER" else f"sip:{user}@{DOMAIN}"
                headers = ["Event: application-server-contact-me"] if method == "SUBSCRIBE" else []
                return p.request(method, ruri, headers=headers)
            finally:
                p.close()

        def shape(m):
            return m.first_line, [line.split(b":", 1)[0].strip().lower()
                                  for line in m.head.split(b"\r\n")[1:]]

        for method in ("REGISTER", "SUBSCRIBE", "OPTIONS", "INVITE"):
            with self.subTest(method=method):
                known, unknown = answer(USER, method), answer(UNKNOWN, method)
                self.assertEqual(shape(known), shape(unknown),
                                 f"\nexisting: {known.raw!r}\nunknown:  {unknown.raw!r}")

    def test_svcrack_cracks_nothing_and_every_failure_is_logged_with_the_source(self):
        wordlist = self.workdir / "words.txt"
        wordlist.write_text("\n".join(WORDS) + "\n")
        users = (OTHER, UNKNOWN)
        offset = len(self.beckond.log())
        with concurrent.futures.ThreadPoolExecutor(len(users)) as pool:  # each ends after 10 s
            results = list(pool.map(lambda u: self.scan(SVCRACK, ["-u", u, "-d", str(wordlist)]),
                                    users))
        log = self.beckond.log()[offset:]
        for user, r in zip(users, results):
            with self.subTest(user=user):
                out = r.stdout + r.stderr
                self.assertIn("found nothing", out, out)
                self.assertNotRegex(r.stdout, r"\|\s*" + user + r"\s*\|", f"cracked:\n{out}")
                source = f"source={LOOPBACK}:{r.source_port}"
                failures = [line for line in log.splitlines()
                            if "auth failed" in line and f"user={user} " in line and source in line]
                self.assertGreaterEqual(len(failures), len(WORDS) // 2,
                                        f"failed attempts of {user} from {source} not logged:\n{log}")
                self.assertNotIn(f"registration added aor=sip:{user}@", log)

    def test_a_user_name_cannot_write_into_the_log(self):
        """Quoted-pairs may carry control characters (RFC 3261 25.1): the
        failure is logged with them escaped, never raw (no terminal escapes,
        no forged lines)."""
        p = self.phone(user=USER, contact_port=5032)
        r = p.request("REGISTER", f"sip:{DOMAIN}")
        nonce = re.search(r'nonce="([^"]+)"', r.headers("WWW-Authenticate")[0]).group(1)
        offset = len(self.beckond.log())
        evil = 'x\\\x1b[2J\\\x08\\\x7f'  # x, then ESC [2J, BS, DEL as quoted-pairs
        r = p.request("REGISTER", f"sip:{DOMAIN}", authorization=(
            f'Digest username="{evil}", realm="example.com", nonce="{nonce}",'
            f' uri="sip:{DOMAIN}", response="00000000000000000000000000000000", algorithm=MD5'))
        self.assertEqual(status_of(r), 403, r.raw)
        line = "auth failed user=x\\x1b[2J\\x08\\x7f method=REGISTER"
        # The log is written by its own thread: the line may follow the 403.
        try:
            wait_until(lambda: line in self.beckond.log()[offset:], 5,
                       what="the failure in the log")
        except TimeoutError:
            pass
        log = self.beckond.log()[offset:]
        self.assertIn(line, log)
        for c in ("\x1b", "\x08", "\x7f"):
            self.assertNotIn(c, log)

    def test_zz_after_the_scans_a_registered_device_gets_its_notify(self):
        p = self.phone(user=USER, contact_port=5031)
        r = p.request("REGISTER", f"sip:{DOMAIN}", headers=[
            f"Accept: application/application-server-contact-me", "Expires: 600"])
        self.assertEqual(status_of(r), 401, r.raw)
        nonce = re.search(r'nonce="([^"]+)"', r.headers("WWW-Authenticate")[0]).group(1)
        r = p.request("REGISTER", f"sip:{DOMAIN}", headers=[
            f"Accept: application/application-server-contact-me", "Expires: 600"],
            authorization=credentials("MD5", USER, PASSWORD, nonce, "REGISTER", f"sip:{DOMAIN}"))
        self.assertEqual(status_of(r), 200, r.raw)
        request_id = f"after-scan-{uuid.uuid4().hex[:8]}"
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(self.zeep().service.ContactMe, deviceId=f"sip:{USER}@{DOMAIN}",
                                 requestId=request_id, waitMs=8000)
            notify = p.next_request("NOTIFY", timeout=10)
            p.answer(notify)
            status = answer.result(timeout=30)
        self.assertIn(f"request-id: {request_id}".encode(), notify.body)
        self.assertEqual(status.state, "delivered", status)
        self.assertIsNone(self.beckond.proc.poll(), "beckond exited")


class ScannersSlowedDown(ScannerCase):
    """[sip.auth] source_failure_limit = 5: svcrack with a wordlist that
    holds OTHER's password (10th word) is blocked after its 5th guess, so it
    never gets to try it: it cracks nothing, beckond logs exactly 5 failures
    from it and one block, and the right password from the scanner's address
    gets 403 too while a device elsewhere (127.0.0.32) still registers."""

    auth_config = {"source_failure_limit": 5, "user_failure_limit": 0, "block_s": 600}

    def test_svcrack_is_blocked_before_the_right_word(self):
        words = WORDS[:9] + [OTHER_PASSWORD] + WORDS[9:]
        wordlist = self.workdir / "words-with-the-password.txt"
        wordlist.write_text("\n".join(words) + "\n")
        offset = len(self.beckond.log())
        r = self.scan(SVCRACK, ["-u", OTHER, "-d", str(wordlist)])
        out = r.stdout + r.stderr
        self.assertNotIn(OTHER_PASSWORD, r.stdout, f"cracked:\n{out}")
        log = self.beckond.log()[offset:]
        failures = [line for line in log.splitlines()
                    if "auth failed" in line and f"user={OTHER} " in line]
        self.assertEqual(len(failures), 5, log)
        self.assertEqual(log.count(f"auth blocked source={LOOPBACK} "), 1, log)
        # blocked: the right password from there too
        p = self.phone(user=OTHER, contact_port=5033)
        r = p.request("REGISTER", f"sip:{DOMAIN}")
        nonce = re.search(r'nonce="([^"]+)"', r.headers("WWW-Authenticate")[0]).group(1)
        r = p.request("REGISTER", f"sip:{DOMAIN}", authorization=credentials(
            "MD5", OTHER, OTHER_PASSWORD, nonce, "REGISTER", f"sip:{DOMAIN}"))
        self.assertEqual(status_of(r), 403, r.raw)
        elsewhere = self.phone(user=OTHER, contact_port=5034, bind="127.0.0.32")
        r = elsewhere.request("REGISTER", f"sip:{DOMAIN}")
        nonce = re.search(r'nonce="([^"]+)"', r.headers("WWW-Authenticate")[0]).group(1)
        r = elsewhere.request("REGISTER", f"sip:{DOMAIN}", authorization=credentials(
            "MD5", OTHER, OTHER_PASSWORD, nonce, "REGISTER", f"sip:{DOMAIN}"))
        self.assertEqual(status_of(r), 200, r.raw)


if __name__ == "__main__":
    unittest.main()
