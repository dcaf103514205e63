"""Digest authentication of REGISTER and SUBSCRIBE (RFC 3261 22, RFC 7616,
RFC 8760), against beckond started for real with [sip.auth]:

    [sip.auth]
    realm = "example.com"
    nonce_lifetime_s = 10
    [[sip.auth.user]]   7546658000 (password "secret")  ha1_md5, ha1_sha256
    [[sip.auth.user]]   7546658001 (another password)   ha1_md5, ha1_sha256

Most devices here are a small Python UDP client (`UdpPhone`) that computes
the digest itself, exactly, for either algorithm (RFC 7616 3.4.1:
response = H(H(user:realm:password):nonce:nc:cnonce:qop:H(method:uri))):

- no credentials: 401 with one WWW-Authenticate (the default `offer =
  "per-user"`, docs/decisions.md): MD5 for users with both HA1s, SHA-256 for
  a user with only ha1_sha256; realm, qop="auth", no stale (REGISTER and
  SUBSCRIBE); with `offer = "all"` two, MD5 first then SHA-256, one nonce
- the right password, SHA-256 and MD5: 200 listing the Contact
- a wrong password and an unknown user: 403, the same status line, reason
  and header names, no challenge; logged with the source
- the right credentials for another user's address of record: 403
- a stale nonce: 11 s after a REGISTER authenticated on nonce N, the right
  digest on N gets 401 with stale=true and a fresh nonce (MD5 and SHA-256);
  a wrong password on N gets 403, not stale; the fresh nonce gets 200
- SUBSCRIBE with credentials: 200, the NOTIFY `state: idle` follows in the
  dialog; Expires: 0 with credentials ends it; a wrong password gets 403

SIPp's own digest (scenarios/auth_register*.xml) against a beckond whose
user has only ha1_md5, so that it offers MD5 alone: SIPp 3.6.1 computes MD5
only and takes the first WWW-Authenticate, and with SHA-256 offered first
(algorithms = ["SHA-256", "MD5"]) it gives up ("authentication must use MD5 or AKAv1-MD5"). The right password
gets 200, a wrong one 403. SIPp puts uri="sip:REMOTE_IP:REMOTE_PORT" in its
credentials unless told the Request-URI (-auth_uri), and beckond wants the
Request-URI there (400 else).

Run with /usr/bin/python3 (see harness.py for the environment).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import sys
import time
import unittest

import harness
from harness import DOMAIN, FAKE_NAT_HOSTPORT, LOOPBACK, PACKAGE, SipMessage, Sipp
from sip_rules import IDLE, RulesBeckond, RulesTestCase, contacts, cseq_of, header, status_of, tag_of

REALM = "example.com"
USER, PASSWORD = "7546658000", "secret"
OTHER, OTHER_PASSWORD = "7546658001", "other-secret"
UNKNOWN = "7546658999"  # configured nowhere
NONCE_LIFETIME_S = 10

_ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def H(algorithm: str, text: str) -> str:
    return _ALGORITHMS[algorithm](text.encode()).hexdigest()


def ha1(algorithm: str, user: str, password: str, realm: str = REALM) -> str:
    return H(algorithm, f"{user}:{realm}:{password}")


def auth_user(user: str, password: str, md5: bool = True, sha256: bool = True) -> dict:
    """One [[sip.auth.user]] table: HA1s only, never the password."""
    out = {"user": user}
    if md5:
        out["ha1_md5"] = ha1("MD5", user, password)
    if sha256:
        out["ha1_sha256"] = ha1("SHA-256", user, password)
    return out


def challenge_params(value: str) -> tuple[str, dict[str, str]]:
    """(scheme, {param: value}) of a WWW-Authenticate value; names in
    lowercase, quoted values unquoted."""
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for mo in re.finditer(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?', rest):
        v = mo.group(2)
        if v.startswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        params[mo.group(1).lower()] = v
    return scheme, params


def credentials(algorithm: str, user: str, password: str, nonce: str, method: str, uri: str,
                nc: int = 1, cnonce: str | None = None, realm: str = REALM) -> str:
    """An Authorization value, qop=auth (RFC 7616 3.4)."""
    cnonce = cnonce or os.urandom(8).hex()
    ha2 = H(algorithm, f"{method}:{uri}")
    response = H(algorithm, f"{ha1(algorithm, user, password, realm)}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}",'
            f' response="{response}", algorithm={algorithm}, cnonce="{cnonce}", qop=auth,'
            f' nc={nc:08x}')


class UdpPhone:
    """A SIP user agent on a UDP socket of its own on loopback. Its Via and
    Contact claim the fake NAT address, so answers and NOTIFYs reach it only
    at its source address (RFC 3581). Every wait is bounded."""

    def __init__(self, server_port: int, user: str = USER, contact_port: int = 5999,
                 bind: str = LOOPBACK):
        self.server = (LOOPBACK, server_port)
        self.user = user
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((bind, 0))  # a free port, the kernel's choice (127/8 is all loopback)
        self.call_id = f"{os.urandom(8).hex()}@beckon-test-digest"
        self.from_tag = os.urandom(4).hex()
        self.contact_uri = f"sip:{user}@127.0.0.2:{contact_port}"
        self.cseq = 0
        self.to_tag: str | None = None
        self.pending: list[SipMessage] = []   # requests received meanwhile
        self.trace: list[SipMessage] = []     # everything sent and received

    def close(self):
        self.sock.close()

    def _recv(self, deadline: float) -> SipMessage | None:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            m = SipMessage(direction="received", transport="UDP", raw=data)
            self.trace.append(m)
            return m

    def request(self, method: str, ruri: str, to_user: str | None = None,
                headers: list[str] | None = None, authorization: str | None = None,
                timeout: float = 5.0) -> SipMessage:
        """Sends one request (retransmitted every 0.5 s, as Timer A would on
        loopback) and returns its final response."""
        self.cseq += 1
        branch = "z9hG4bK" + os.urandom(8).hex()
        to = f"<sip:{to_user or self.user}@{DOMAIN}>" + (f";tag={self.to_tag}" if self.to_tag else "")
        lines = [
            f"{method} {ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP {FAKE_NAT_HOSTPORT};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@{DOMAIN}>;tag={self.from_tag}",
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} {method}",
            f"Contact: <{self.contact_uri}>",
        ] + list(headers or [])
        if authorization:
            lines.append(f"Authorization: {authorization}")
        lines += ["User-Agent: beckon-test-digest", "Content-Length: 0", "", ""]
        raw = "\r\n".join(lines).encode()
        self.trace.append(SipMessage(direction="sent", transport="UDP", raw=raw))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.sendto(raw, self.server)
            resend = min(deadline, time.monotonic() + 0.5)
            while True:
                m = self._recv(resend)
                if m is None:
                    break
                if m.is_request:
                    self.pending.append(m)
                    continue
                if f"branch={branch}" not in (m.headers("Via") or [""])[0]:
                    continue  # an old retransmission
                if status_of(m) >= 200:
                    return m
                resend = deadline  # provisional: wait, no retransmission
        raise AssertionError(f"no final answer to {method} CSeq {self.cseq} in {timeout} s;"
                             f" trace:\n{self.dump()}")

    def next_request(self, method: str, timeout: float = 5.0) -> SipMessage:
        deadline = time.monotonic() + timeout
        while True:
            for m in self.pending:
                if m.method == method:
                    self.pending.remove(m)
                    return m
            m = self._recv(deadline)
            if m is None:
                raise AssertionError(f"no {method} within {timeout} s; trace:\n{self.dump()}")
            if m.is_request:
                self.pending.append(m)

    def answer(self, request: SipMessage, status: int = 200, reason: str = "OK") -> None:
        lines = [f"SIP/2.0 {status} {reason}"]
        for name in ("Via", "From", "To", "Call-ID", "CSeq"):
            lines += [f"{name}: {v}" for v in request.headers(name)]
        lines += ["Content-Length: 0", "", ""]
        raw = "\r\n".join(lines).encode()
        self.trace.append(SipMessage(direction="sent", transport="UDP", raw=raw))
        self.sock.sendto(raw, self.server)

    def dump(self) -> str:
        return "\n".join(f"-- {m.direction}:\n{m.raw.decode(errors='replace')}" for m in self.trace)


class AuthBeckond(RulesBeckond):
    """A RulesBeckond with [sip.auth] and its [[sip.auth.user]] tables."""

    def __init__(self, workdir, *args, auth: dict, users: list[dict], **kw):
        super().__init__(workdir, *args, **kw)
        lines = ["", "[sip.auth]"] + [f"{k} = {harness.toml_value(v)}" for k, v in auth.items()]
        for u in users:
            lines += ["", "[[sip.auth.user]]"] + [f"{k} = {harness.toml_value(v)}" for k, v in u.items()]
        self.config.write_text(self.config.read_text().rstrip("\n") + "\n" + "\n".join(lines) + "\n")


class DigestTestCase(RulesTestCase):
    auth_users: list[dict] = []
    auth_config: dict = {}  # more [sip.auth] keys

    @classmethod
    def make_beckond(cls, workdir):
        return AuthBeckond(workdir, notify_timeout_ms=cls.notify_timeout_ms,
                           sip=dict(cls.sip_config),
                           auth={"realm": REALM, "nonce_lifetime_s": NONCE_LIFETIME_S,
                                 **cls.auth_config},
                           users=cls.auth_users)

    def setUp(self):
        super().setUp()
        self.phones: list[UdpPhone] = []

    def tearDown(self):
        for p in self.phones:
            p.close()
        super().tearDown()

    def dump(self):
        super().dump()
        for p in getattr(self, "phones", []):
            sys.stderr.write(f"======== UDP phone {p.user} ({p.call_id}):\n{p.dump()}\n")

    def phone(self, user: str = USER, contact_port: int = 5999, bind: str = LOOPBACK) -> UdpPhone:
        p = UdpPhone(self.beckond.sip_port, user=user, contact_port=contact_port, bind=bind)
        self.phones.append(p)
        return p

    def assertChallenge(self, r: SipMessage, stale: bool = False,
                        algorithms: tuple[str, ...] = ("MD5",)) -> str:
        """r is a 401 with one WWW-Authenticate per algorithm, in this order,
        sharing one nonce; returns the nonce."""
        self.assertEqual(r.first_line, "SIP/2.0 401 Unauthorized", r.raw)
        values = r.headers("WWW-Authenticate")
        self.assertEqual(len(values), len(algorithms), r.raw)
        nonces = set()
        for value, algorithm in zip(values, algorithms):
            scheme, p = challenge_params(value)
            self.assertEqual(scheme, "Digest", value)
            self.assertEqual(p.get("algorithm"), algorithm, f"order or algorithm: {r.raw!r}")
            self.assertEqual(p.get("realm"), REALM, value)
            self.assertEqual(p.get("qop"), "auth", value)
            self.assertTrue(p.get("nonce"), value)
            if stale:
                self.assertEqual(p.get("stale", "").lower(), "true", f"no stale=true: {value}")
            else:
                self.assertNotIn("stale", p, value)
            nonces.add(p["nonce"])
        self.assertEqual(len(nonces), 1, f"one nonce for all challenges: {r.raw!r}")
        self.assertEqual(header(r, "Contact", "m"), [], f"a 401 lists no binding: {r.raw!r}")
        return nonces.pop()

    def assertForbidden(self, r: SipMessage):
        self.assertEqual(r.first_line, "SIP/2.0 403 Forbidden", r.raw)
        self.assertEqual(r.headers("WWW-Authenticate"), [], f"a 403 challenges nothing: {r.raw!r}")
        self.assertEqual(header(r, "Contact", "m"), [], f"a 403 lists no binding: {r.raw!r}")

    def listed(self, r: SipMessage, contact_uri: str) -> dict:
        found = [params for uri, params in contacts(r) if uri == contact_uri]
        self.assertEqual(len(found), 1, f"{contact_uri} not listed once: {r.raw!r}")
        return found[0]


class DigestAuth(DigestTestCase):
    """Users with both HA1s: challenged with MD5 alone, either algorithm
    accepted; nonce_lifetime_s = 10."""

    auth_users = [auth_user(USER, PASSWORD), auth_user(OTHER, OTHER_PASSWORD)]

    def register(self, p: UdpPhone, authorization: str | None = None, to_user: str | None = None):
        return p.request("REGISTER", f"sip:{DOMAIN}", to_user=to_user, headers=["Expires: 600"],
                         authorization=authorization)

    def test_challenge(self):
        p = self.phone(contact_port=5020)
        n1 = self.assertChallenge(self.register(p))
        # another REGISTER without credentials: another nonce
        n2 = self.assertChallenge(self.register(p))
        self.assertNotEqual(n1, n2, "a fresh nonce per challenge")

    def check_right_password(self, algorithm: str, contact_port: int):
        p = self.phone(contact_port=contact_port)
        nonce = self.assertChallenge(self.register(p))
        r = self.register(p, credentials(algorithm, USER, PASSWORD, nonce, "REGISTER", f"sip:{DOMAIN}"))
        self.assertEqual(status_of(r), 200, r.raw)
        self.assertEqual(cseq_of(r), "2 REGISTER", r.raw)
        self.assertEqual(self.listed(r, p.contact_uri).get("expires"), "600", r.raw)

    def test_right_password_sha256(self):
        self.check_right_password("SHA-256", 5021)

    def test_right_password_md5(self):
        self.check_right_password("MD5", 5022)

    def test_wrong_password_and_unknown_user_alike(self):
        for algorithm in ("SHA-256", "MD5"):
            with self.subTest(algorithm=algorithm):
                wrong = self.phone(contact_port=5023)
                nonce = self.assertChallenge(self.register(wrong))
                r_wrong = self.register(wrong, credentials(algorithm, USER, "not-the-secret", nonce,
                                                           "REGISTER", f"sip:{DOMAIN}"))
                self.assertForbidden(r_wrong)

                unknown = self.phone(user=UNKNOWN, contact_port=5024)
                nonce = self.assertChallenge(self.register(unknown))
                r_unknown = self.register(unknown, credentials(algorithm, UNKNOWN, PASSWORD, nonce,
                                                               "REGISTER", f"sip:{DOMAIN}"))
                self.assertForbidden(r_unknown)

                # the same answer: status line, reason, header names in order
                def names(m):
                    return [line.split(b":", 1)[0].strip().lower()
                            for line in m.head.split(b"\r\n")[1:]]

                self.assertEqual(r_wrong.first_line, r_unknown.first_line)
                self.assertEqual(names(r_wrong), names(r_unknown),
                                 f"\nwrong password: {r_wrong.raw!r}\nunknown user:   {r_unknown.raw!r}")
                self.assertEqual(r_wrong.headers("Content-Length"), r_unknown.headers("Content-Length"))
                self.assertEqual(r_wrong.body, r_unknown.body)
        # the refusals are logged with the source (by beckond's logging
        # thread: the line may follow the answer by a moment)
        for user in (USER, UNKNOWN):
            def logged(user=user):
                return [line for line in self.beckond.log()[self._log_offset:].splitlines()
                        if "auth" in line and f"user={user}" in line and LOOPBACK in line]
            try:
                harness.wait_until(logged, 5.0, what=f"a log line naming user {user}")
            except TimeoutError:
                self.fail(f"no log line naming user {user} and the source {LOOPBACK}:\n"
                          f"{self.beckond.log()[self._log_offset:]}")

    def test_other_users_address_of_record(self):
        p = self.phone(contact_port=5025)
        nonce = self.assertChallenge(self.register(p, to_user=OTHER))
        r = self.register(p, credentials("SHA-256", USER, PASSWORD, nonce, "REGISTER", f"sip:{DOMAIN}"),
                          to_user=OTHER)
        self.assertForbidden(r)
        # the owner may; and USER's binding never shows under OTHER
        owner = self.phone(user=OTHER, contact_port=5026)
        nonce = self.assertChallenge(self.register(owner))
        r = self.register(owner, credentials("MD5", OTHER, OTHER_PASSWORD, nonce, "REGISTER",
                                             f"sip:{DOMAIN}"))
        self.assertEqual(status_of(r), 200, r.raw)
        self.assertEqual([uri for uri, _ in contacts(r)], [owner.contact_uri], r.raw)

    def test_stale_nonce(self):
        p = self.phone(contact_port=5027)
        uri = f"sip:{DOMAIN}"
        old = self.assertChallenge(self.register(p))
        r = self.register(p, credentials("SHA-256", USER, PASSWORD, old, "REGISTER", uri))
        self.assertEqual(status_of(r), 200, r.raw)
        time.sleep(NONCE_LIFETIME_S + 1)

        # the right digest on the old nonce: stale, with a fresh nonce
        fresh = set()
        for nc, algorithm in ((2, "SHA-256"), (3, "MD5")):
            r = self.register(p, credentials(algorithm, USER, PASSWORD, old, "REGISTER", uri, nc=nc))
            nonce = self.assertChallenge(r, stale=True)
            self.assertNotEqual(nonce, old, r.raw)
            fresh.add(nonce)
        # a wrong password on the old nonce: refused, not stale
        r = self.register(p, credentials("SHA-256", USER, "not-the-secret", old, "REGISTER", uri, nc=4))
        self.assertForbidden(r)
        # the fresh nonce
        r = self.register(p, credentials("SHA-256", USER, PASSWORD, fresh.pop(), "REGISTER", uri))
        self.assertEqual(status_of(r), 200, r.raw)
        self.assertEqual(self.listed(r, p.contact_uri).get("expires"), "600", r.raw)

    def subscribe(self, p: UdpPhone, authorization: str | None = None, expires: int = 600):
        return p.request("SUBSCRIBE", f"sip:{p.user}@{DOMAIN}",
                         headers=[f"Event: {PACKAGE}", f"Accept: application/{PACKAGE}",
                                  f"Expires: {expires}"],
                         authorization=authorization)

    def test_subscribe(self):
        p = self.phone(contact_port=5028)
        ruri = f"sip:{USER}@{DOMAIN}"
        nonce = self.assertChallenge(self.subscribe(p))
        self.assertEqual(p.pending, [], "no NOTIFY before the SUBSCRIBE is authenticated")

        r = self.subscribe(p, credentials("SHA-256", USER, PASSWORD, nonce, "SUBSCRIBE", ruri))
        self.assertEqual(status_of(r), 200, r.raw)
        self.assertEqual(cseq_of(r), "2 SUBSCRIBE", r.raw)
        p.to_tag = tag_of(r.headers("To")[0])
        self.assertTrue(p.to_tag, r.raw)
        n = p.next_request("NOTIFY")
        p.answer(n)
        self.assertEqual(n.headers("Call-ID"), [p.call_id], n.raw)
        self.assertEqual(tag_of(n.headers("From")[0]), p.to_tag, n.raw)
        self.assertEqual(tag_of(n.headers("To")[0]), p.from_tag, n.raw)
        self.assertEqual(n.headers("Event"), [PACKAGE], n.raw)
        self.assertRegex(n.headers("Subscription-State")[0], r"^active;expires=[0-9]+$", n.raw)
        self.assertEqual(n.body, IDLE, n.raw)

        # Expires: 0 in the dialog, on the same nonce (nc 2): ended
        r = self.subscribe(p, credentials("MD5", USER, PASSWORD, nonce, "SUBSCRIBE", ruri, nc=2),
                           expires=0)
        self.assertEqual(status_of(r), 200, r.raw)
        n = p.next_request("NOTIFY")
        p.answer(n)
        self.assertRegex(n.headers("Subscription-State")[0], r"^terminated", n.raw)

    def test_subscribe_wrong_password(self):
        p = self.phone(contact_port=5029)
        nonce = self.assertChallenge(self.subscribe(p))
        r = self.subscribe(p, credentials("MD5", USER, "not-the-secret", nonce, "SUBSCRIBE",
                                          f"sip:{USER}@{DOMAIN}"))
        self.assertForbidden(r)
        m = p._recv(time.monotonic() + 1.0)
        self.assertIsNone(m, f"nothing after a refused SUBSCRIBE: {m.raw if m else b''!r}")


_sipp_counter = 0


class DigestSipp(DigestTestCase):
    """SIPp's digest ([authentication], MD5 only in SIPp 3.6.1): the user
    has only ha1_md5, so beckond offers MD5 alone."""

    auth_users = [auth_user(USER, PASSWORD, sha256=False)]

    def sipp_auth(self, scenario: str, password: str) -> Sipp:
        global _sipp_counter
        _sipp_counter += 1
        name = f"{scenario.removesuffix('.xml')}-{_sipp_counter:03d}"
        s = Sipp(self.workdir, name, scenario, remote_port=self.beckond.sip_port, transport="u1",
                 keys={"domain": DOMAIN, "user": USER}, timeout_s=20,
                 extra=["-au", USER, "-ap", password, "-auth_uri", DOMAIN])
        self.sipps.append(s)
        return s.start()

    def authorization_of(self, s: Sipp) -> dict[str, str]:
        sent = [m for m in s.sent() if m.method == "REGISTER" and cseq_of(m) == "2 REGISTER"]
        self.assertTrue(sent, s.report())
        value = sent[0].headers("Authorization")
        self.assertEqual(len(value), 1, s.report())
        return challenge_params(value[0])[1]

    def test_sipp_right_password(self):
        s = self.sipp_auth("auth_register.xml", PASSWORD)
        self.finish(s, 30)
        self.assertChallenge(self.response_to(s, "1 REGISTER"), algorithms=("MD5",))
        cred = self.authorization_of(s)
        self.assertEqual((cred.get("username"), cred.get("realm"), cred.get("algorithm")),
                         (USER, REALM, "MD5"), cred)
        ok = self.response_to(s, "2 REGISTER")
        self.assertEqual(status_of(ok), 200, ok.raw)
        self.assertEqual(self.listed(ok, f"sip:{USER}@127.0.0.2:5011").get("expires"), "600", ok.raw)

    def test_sipp_wrong_password(self):
        s = self.sipp_auth("auth_register_403.xml", "not-the-secret")
        self.finish(s, 30)
        self.assertChallenge(self.response_to(s, "1 REGISTER"), algorithms=("MD5",))
        self.assertEqual(self.authorization_of(s).get("algorithm"), "MD5")
        self.assertForbidden(self.response_to(s, "2 REGISTER"))



class PerUserAlgorithm(DigestTestCase):
    """The default offer ("per-user"): a user with only ha1_sha256 is
    challenged with SHA-256 alone, one with only ha1_md5 with MD5 alone; a
    name nobody has gets one challenge too."""

    auth_users = [auth_user(USER, PASSWORD, md5=False), auth_user(OTHER, OTHER_PASSWORD, sha256=False)]

    def test_each_user_its_algorithm(self):
        uri = f"sip:{DOMAIN}"
        sha_only = self.phone(contact_port=5031)
        nonce = self.assertChallenge(sha_only.request("REGISTER", uri), algorithms=("SHA-256",))
        r = sha_only.request("REGISTER", uri, authorization=credentials("SHA-256", USER, PASSWORD,
                                                                         nonce, "REGISTER", uri))
        self.assertEqual(status_of(r), 200, r.raw)
        md5_only = self.phone(user=OTHER, contact_port=5032)
        nonce = self.assertChallenge(md5_only.request("REGISTER", uri), algorithms=("MD5",))
        r = md5_only.request("REGISTER", uri, authorization=credentials("MD5", OTHER, OTHER_PASSWORD,
                                                                         nonce, "REGISTER", uri))
        self.assertEqual(status_of(r), 200, r.raw)
        unknown = self.phone(user=UNKNOWN, contact_port=5033)
        r = unknown.request("REGISTER", uri)
        self.assertEqual(len(r.headers("WWW-Authenticate")), 1, r.raw)
        algorithm = challenge_params(r.headers("WWW-Authenticate")[0])[1].get("algorithm")
        self.assertIn(algorithm, ("MD5", "SHA-256"), r.raw)
        # the same name, the same algorithm
        self.assertChallenge(unknown.request("REGISTER", uri), algorithms=(algorithm,))


class OfferAll(DigestTestCase):
    """offer = "all": one challenge per algorithm, MD5 first then SHA-256,
    one nonce (RFC 8760); either answered."""

    auth_users = [auth_user(USER, PASSWORD)]

    @classmethod
    def make_beckond(cls, workdir):
        return AuthBeckond(workdir, notify_timeout_ms=cls.notify_timeout_ms,
                           sip=dict(cls.sip_config), auth={"realm": REALM, "offer": "all"},
                           users=cls.auth_users)

    def test_both_offered(self):
        uri = f"sip:{DOMAIN}"
        for algorithm, port in (("SHA-256", 5034), ("MD5", 5035)):
            p = self.phone(contact_port=port)
            nonce = self.assertChallenge(p.request("REGISTER", uri), algorithms=("MD5", "SHA-256"))
            r = p.request("REGISTER", uri, authorization=credentials(algorithm, USER, PASSWORD,
                                                                      nonce, "REGISTER", uri))
            self.assertEqual(status_of(r), 200, r.raw)


class ConfiguredOrder(DigestTestCase):
    """[sip.auth] algorithms = ["SHA-256"]: only SHA-256 offered, and an MD5
    answer refused even with the right password."""

    auth_users = [auth_user(USER, PASSWORD)]

    @classmethod
    def make_beckond(cls, workdir):
        return AuthBeckond(workdir, notify_timeout_ms=cls.notify_timeout_ms,
                           sip=dict(cls.sip_config),
                           auth={"realm": REALM, "algorithms": ["SHA-256"]},
                           users=cls.auth_users)

    def test_only_sha256(self):
        p = self.phone(contact_port=5030)
        uri = f"sip:{DOMAIN}"
        nonce = self.assertChallenge(p.request("REGISTER", uri), algorithms=("SHA-256",))
        md5 = p.request("REGISTER", uri, authorization=credentials("MD5", USER, PASSWORD, nonce,
                                                                    "REGISTER", uri))
        self.assertForbidden(md5)
        nonce = self.assertChallenge(p.request("REGISTER", uri), algorithms=("SHA-256",))
        sha = p.request("REGISTER", uri, authorization=credentials("SHA-256", USER, PASSWORD, nonce,
                                                                    "REGISTER", uri, nc=2))
        self.assertEqual(status_of(sha), 200, sha.raw)


if __name__ == "__main__":
    unittest.main()
