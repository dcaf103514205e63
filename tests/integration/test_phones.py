"""Real phones against beckond: baresip 1.0 (libre) and Linphone 5.1
(linphone-daemon, belle-sip), as Debian 12 ships them, each in a network
namespace of its own (phones.py: no packet leaves the namespaces this test
makes), against beckond on the defaults a new user has:

    [sip.auth] realm and users with ha1_md5 and ha1_sha256, nothing else
    (offer = "per-user": one MD5 challenge per 401/407; the proxy
    authenticates callers, 407)
    [contact_me] subscribe_registrations = ["application-server-contact-me"]
    (the phones send no Accept: without it they get no NOTIFY)
    [sip] min_expires = 5 (Linphone refreshes at 90 % of its expiry: 6 s)

The phones are configured as a user would: account, password, beckond as
(outbound) proxy, the transport, the CA for TLS (docs/phones.md).

- Registration (baresip and Linphone over UDP, TCP and TLS, all six at
  once): one MD5 challenge, answered, 200; the binding where the phone is;
  ContactMe: the phone gets the NOTIFY over its flow, and the request's
  status reports exactly the status the phone answered (read from the
  phone's own SIP trace); the refresh keeps one binding; the phone's
  unregistration (its REGISTER with expiry 0) removes it.
- A call through the B2BUA ([proxy] mode = "b2bua"): baresip calls Linphone,
  each with a dialog (a Call-ID) of its own with beckond.
- Calls through the proxy (407 answered by each caller): baresip calls
  Linphone, Linphone calls beckon-ua, beckon-ua calls baresip; each is
  answered and hung up by the caller with BYE, 200 on both sides.
- Behind NAT: a baresip and a Linphone whose own address (192.0.2.N) is
  masqueraded and unreachable from beckond: their NOTIFY and a call to them
  still arrive, over the flow of their REGISTER.
- Nonces (nonce_lifetime_s = 10): Linphone's refreshes on its nonce with a
  growing nc get 200; once the nonce is old, 401 stale=true, answered by
  Linphone with the fresh nonce, 200.
- TLS trust: Linphone with another CA than beckond's refuses to register.

Run as root with /usr/bin/python3 (see harness.py for the environment).
"""

from __future__ import annotations

import re
import subprocess
import sys
import unittest

import harness
import phones
from harness import DOMAIN, PACKAGE
from phones import SERVER, Baresip, Linphone, PhoneNet, PhonesBeckond, header, status_of
from user_agents import BeckonUa


def setUpModule():
    phones.own_network()


class PhonesTestCase(harness.BeckondTestCase):
    USERS: dict[str, str] = {}

    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = harness.Pki(workdir / "pki")
        return PhonesBeckond(workdir, cls.pki, cls.USERS)

    @classmethod
    def setUpClass(cls):
        cls.phones: list[phones.Phone] = []
        cls.nets: list[PhoneNet] = []
        super().setUpClass()
        try:
            cls.start_phones()
        except Exception:
            # tearDownClass does not run after a failed setUpClass
            cls.failed = True
            for p in cls.phones:
                sys.stderr.write(p.report() + "\n")
            cls.tearDownClass()
            raise

    @classmethod
    def start_phones(cls):
        pass

    @classmethod
    def phone(cls, kind, index: int, user: str, transport: str, behind_nat: bool = False,
              ca: str | None = None, **start) -> phones.Phone:
        net = PhoneNet(index, behind_nat=behind_nat)
        cls.nets.append(net)
        p = kind(cls.workdir, net, user, cls.USERS[user], transport, ca or cls.pki.ca)
        cls.phones.append(p)
        return p.start(**start)

    @classmethod
    def stop_phones(cls):
        for p in cls.phones:
            p.stop()
        for n in cls.nets:
            n.close()

    @classmethod
    def tearDownClass(cls):
        cls.stop_phones()
        super().tearDownClass()

    def dump(self):
        super().dump()
        for p in self.phones:
            sys.stderr.write(p.report() + "\n")

    # what beckond says

    def bindings(self, user: str):
        import zeep.exceptions

        try:
            return self.zeep().service.GetDevice(deviceId=user).binding
        except zeep.exceptions.Fault:
            return []

    def contact_me(self, p: phones.Phone, request_id: str):
        return self.zeep().service.ContactMe(deviceId=p.user, requestId=request_id,
                                             server=f"{SERVER}:8443", waitMs=5000)

    # what the phones' traces say

    def assertAnsweredOneMd5Challenge(self, p: phones.Phone, method: str, status: int):
        """p's first `method` got `status` with exactly one challenge, MD5,
        and p sent it again with credentials for it, which got a 2xx."""
        requests = p.sent(method)
        self.assertGreaterEqual(len(requests), 2, p.report())
        challenged = p.response_to(requests[0])
        self.assertIsNotNone(challenged, p.report())
        self.assertEqual(status_of(challenged), status, challenged)
        name = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
        values = re.findall(rf"(?mi)^{name}:(.*)$", challenged.split("\n\n")[0])
        self.assertEqual(len(values), 1, challenged)
        self.assertIn("algorithm=MD5", values[0], challenged)
        answer = header(requests[1], "Authorization" if status == 401 else "Proxy-Authorization")
        self.assertIsNotNone(answer, requests[1])
        self.assertRegex(answer, r'(?i)realm="example\.com"', answer)
        self.assertNotRegex(answer, r"(?i)algorithm=(?!MD5)", answer)
        final = p.response_to(requests[1])
        self.assertIsNotNone(final, p.report())
        self.assertEqual(status_of(final) // 100, 2, final)

    def assertNotifyReported(self, p: phones.Phone, request_id: str):
        """ContactMe to p: p got the NOTIFY and answered it; the request's
        status reports that very answer."""
        status = self.contact_me(p, request_id)
        call_id = p.wait_notify(request_id)
        answered = [s for s in p.answers(call_id) if s >= 200]
        self.assertEqual(len(answered), 1, p.report())
        self.assertEqual(len(status.delivery), 1, status)
        d = status.delivery[0]
        self.assertEqual(d.sipStatus, answered[0], f"{status}\n{p.report()}")
        self.assertEqual(d.transport.lower(), p.transport, status)
        self.assertEqual(status.state, "delivered" if answered[0] < 300 else "failed", status)
        return answered[0]


class Registration(PhonesTestCase):
    """baresip and Linphone over UDP, TCP and TLS, all registered at once."""

    USERS = {f"75466{n:05d}": f"secret-{n}" for n in range(1, 7)}

    @classmethod
    def start_phones(cls):
        users = iter(cls.USERS)
        index = 0
        for kind in (Baresip, Linphone):
            for transport in ("udp", "tcp", "tls"):
                index += 1
                start = {"expires": 6} if kind is Linphone else {}
                cls.phone(kind, index, next(users), transport, **start)

    def test_1_registered_with_one_md5_challenge(self):
        for p in self.phones:
            with self.subTest(phone=p.name):
                p.wait_registered()
                self.assertAnsweredOneMd5Challenge(p, "REGISTER", 401)
                b = self.bindings(p.user)
                self.assertEqual(len(b), 1, b)
                self.assertEqual(b[0].transport.lower(), p.transport, b)
                self.assertEqual(b[0].source.rpartition(":")[0], p.net.address, b)
                self.assertEqual([s.package for s in b[0].subscription], [PACKAGE], b)

    def test_2_contact_me_reports_what_the_phone_answered(self):
        answered = {}
        for p in self.phones:
            with self.subTest(phone=p.name):
                p.wait_registered()
                answered[p.name] = self.assertNotifyReported(p, f"reg-{p.name}")
        # what each answers (docs/phones.md)
        for p in self.phones:
            self.assertEqual(answered.get(p.name), 481 if p.kind == "baresip" else 200,
                             answered)

    def test_3_refreshed_not_added(self):
        for p in self.phones:
            with self.subTest(phone=p.name):
                first = p.sent("REGISTER")[0]

                def refreshed():
                    ok = [r for r in p.sent("REGISTER")
                          if header(r, "Call-ID|i") == header(first, "Call-ID|i")
                          and status_of(p.response_to(r) or "") == 200]
                    return len(ok) >= 2

                harness.wait_until(refreshed, 10.0, what=f"{p.name}: a refresh answered 200")
                b = self.bindings(p.user)
                self.assertEqual(len(b), 1, b)

    def test_4_unregistered(self):
        for p in self.phones:
            with self.subTest(phone=p.name):
                p.stop()
                last = p.sent("REGISTER")[-1]
                self.assertTrue(re.search(r"(?mi)^(Expires: *0\s*$|Contact:.*;expires=0\b)",
                                          last), last)
                self.assertEqual(status_of(p.response_to(last) or ""), 200, p.report())
                self.assertEqual(self.bindings(p.user), [])


class Calls(PhonesTestCase):
    """Calls through beckond's proxy, each caller answering its 407."""

    USERS = {"7546700001": "baresip-pw", "7546700002": "linphone-pw",
             "7546700003": "beckon-ua-pw"}
    BARESIP, LINPHONE, UA = USERS

    @classmethod
    def start_phones(cls):
        cls.baresip = cls.phone(Baresip, 7, cls.BARESIP, "udp")
        cls.linphone = cls.phone(Linphone, 8, cls.LINPHONE, "tcp")
        cls.baresip.wait_registered()
        cls.linphone.wait_registered()

    def ua(self, name: str, args: list[str]) -> BeckonUa:
        ua = BeckonUa(self.workdir, name, [
            "--listen", f"{SERVER}:{harness.free_port()}", "--aor", f"sip:{self.UA}@{DOMAIN}",
            "--registrar", f"{SERVER}:{phones.SIP_PORT}", "--proxy", f"{SERVER}:{phones.SIP_PORT}",
            "--auth-user", self.UA, "--password", self.USERS[self.UA], *args])
        self.addCleanup(ua.stop)
        return ua.start()

    def assertCallUp(self, caller: phones.Phone, answered_by: phones.Phone | None):
        invites = caller.sent("INVITE")
        self.assertAnsweredOneMd5Challenge(caller, "INVITE", 407)
        if answered_by:
            self.assertTrue(answered_by.received("INVITE"), answered_by.report())
        return invites

    def test_baresip_calls_linphone(self):
        self.baresip.call(f"sip:{self.LINPHONE}@{DOMAIN}")
        self.linphone.wait_established()
        self.baresip.wait_established()
        self.assertCallUp(self.baresip, self.linphone)
        self.baresip.hang_up()
        self.baresip.wait_closed()
        self.linphone.wait_closed()
        bye = self.baresip.sent("BYE")
        self.assertEqual(len(bye), 1, self.baresip.report())
        self.assertEqual(status_of(self.baresip.response_to(bye[0]) or ""), 200)

    def test_linphone_calls_beckon_ua(self):
        ua = self.ua("callee", ["--register", "--answer", "0", "--exit-after", "call-ended"])
        ua.wait_event("registered")
        self.linphone.call(f"sip:{self.UA}@{DOMAIN}")
        ua.wait_event("call-established")
        self.linphone.wait_established()
        self.assertCallUp(self.linphone, None)
        self.linphone.hang_up()
        ended = ua.wait_event("call-ended")
        self.assertEqual((ended["reason"], ended["by"], ended["established"]),
                         ("bye", "remote", True))
        self.linphone.wait_closed()
        self.assertEqual(ua.wait(10), 0, ua.report())

    def test_beckon_ua_calls_baresip(self):
        established = len([e for e in self.baresip.events if e["type"] == "CALL_ESTABLISHED"])
        ua = self.ua("caller", ["--call", f"sip:{self.BARESIP}@{DOMAIN}", "--hangup-after", "0.5",
                                "--exit-after", "call-ended"])
        self.assertEqual(ua.wait(15), 0, ua.report())
        auth = [(e["method"], e["status"], e["algorithm"]) for e in ua.events("auth")]
        self.assertEqual(auth, [("INVITE", 407, "MD5")], ua.report())
        ended = ua.wait_event("call-ended")
        self.assertEqual((ended["reason"], ended["by"], ended["established"]),
                         ("bye", "local", True))
        self.baresip.wait_established(established + 1)
        self.baresip.wait_closed(len([e for e in self.baresip.events
                                      if e["type"] == "CALL_CLOSED"]) or 1)


class CallsThroughTheB2bua(PhonesTestCase):
    """[proxy] mode = "b2bua": baresip calls Linphone through beckond's
    B2BUA (docs/b2bua.md): each phone sees a dialog of its own with beckond
    (another Call-ID on each side), the call is set up and the BYE of the
    caller ends both."""

    USERS = {"7546710001": "baresip-b2-pw", "7546710002": "linphone-b2-pw"}
    BARESIP, LINPHONE = USERS

    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = harness.Pki(workdir / "pki")
        return PhonesBeckond(workdir, cls.pki, cls.USERS, proxy={"mode": "b2bua"})

    @classmethod
    def start_phones(cls):
        cls.baresip = cls.phone(Baresip, 13, cls.BARESIP, "udp")
        cls.linphone = cls.phone(Linphone, 14, cls.LINPHONE, "tcp")
        cls.baresip.wait_registered()
        cls.linphone.wait_registered()

    def test_baresip_calls_linphone_through_the_b2bua(self):
        self.baresip.call(f"sip:{self.LINPHONE}@{DOMAIN}")
        self.linphone.wait_established()
        self.baresip.wait_established()
        sent = [i for i in self.baresip.sent("INVITE") if header(i, "Proxy-Authorization")]
        got = self.linphone.received("INVITE")
        self.assertTrue(sent and got, self.baresip.report() + self.linphone.report())
        self.assertNotEqual(header(sent[-1], "Call-ID|i"), header(got[-1], "Call-ID|i"),
                            "two dialogs: the B2BUA's leg to the callee has a Call-ID of its own")
        self.baresip.hang_up()
        self.baresip.wait_closed()
        self.linphone.wait_closed()
        self.assertEqual(len(self.linphone.received("BYE")), 1, self.linphone.report())


class BehindNat(PhonesTestCase):
    """A baresip and a Linphone behind NAT: their own address (192.0.2.N,
    in their first REGISTER and their SDP) is masqueraded to 10.17.N.2 with
    random ports, and beckond has no route to it. baresip keeps it in its
    Contact, so its NOTIFY and calls reach it only over the flow; Linphone
    registers the mapping it learnt from the 401's Via instead."""

    USERS = {"7546800001": "nat-baresip", "7546800002": "nat-linphone",
             "7546800003": "nat-caller"}

    @classmethod
    def start_phones(cls):
        users = list(cls.USERS)
        cls.phone(Baresip, 9, users[0], "udp", behind_nat=True)
        cls.phone(Linphone, 10, users[1], "udp", behind_nat=True)
        for p in cls.phones:
            p.wait_registered()

    def test_the_phone_is_reached_over_its_flow(self):
        for p in self.phones:
            with self.subTest(phone=p.name):
                # beckond could not send to the phone's own address if it tried
                r = subprocess.run(["ip", "route", "get", p.net.address], capture_output=True,
                                   text=True, timeout=10)
                self.assertNotEqual(r.returncode, 0, f"a route to {p.net.address}: {r.stdout}")
                b = self.bindings(p.user)
                self.assertEqual(len(b), 1, b)
                source_host, _, source_port = b[0].source.rpartition(":")
                self.assertEqual(source_host, p.net.wan, b)  # after NAT
                self.assertIn(p.net.address, p.sent("REGISTER")[0], p.report())
                if p.kind == "baresip":  # its Contact stays its own, unreachable address
                    self.assertIn(f"@{p.net.address}:", b[0].contact, b)
                else:  # Linphone registers the mapping the 401's Via showed it (received, rport)
                    self.assertIn(f"@{b[0].source};", b[0].contact, b)
                self.assertNotifyReported(p, f"nat-{p.name}")
                notify = [n for n in p.received("NOTIFY") if f"nat-{p.name}" in n][0]
                self.assertTrue(notify, p.report())

    def test_a_call_reaches_the_phone(self):
        for p in self.phones:
            with self.subTest(phone=p.name):
                before = len(p.received("INVITE"))
                ua = BeckonUa(self.workdir, f"caller-{p.name}", [
                    "--listen", f"{SERVER}:{harness.free_port()}",
                    "--aor", f"sip:7546800003@{DOMAIN}", "--proxy", f"{SERVER}:{phones.SIP_PORT}",
                    "--auth-user", "7546800003", "--password", self.USERS["7546800003"],
                    "--call", f"sip:{p.user}@{DOMAIN}", "--hangup-after", "0.3",
                    "--exit-after", "call-ended"])
                self.addCleanup(ua.stop)
                ua.start()
                self.assertEqual(ua.wait(15), 0, ua.report())
                ended = ua.wait_event("call-ended")
                self.assertEqual((ended["reason"], ended["established"]), ("bye", True), ended)
                self.assertEqual(len(p.received("INVITE")), before + 1, p.report())


class NonceLifetime(PhonesTestCase):
    """[sip.auth] nonce_lifetime_s = 10 with Linphone over UDP (expiry 6 s: it
    refreshes every 5.4 s), which refreshes on the nonce it was given, nc 2,
    3 ... (RFC 7616 3.4): each refresh with a grown nc gets 200; once the
    nonce is older than 10 s the refresh gets 401 with stale=true and a fresh
    nonce, which Linphone answers by itself, 200; the binding stays one.
    (baresip 1.0 starts every refresh without credentials: it never reuses a
    nonce.)"""

    USERS = {"7546950001": "stale-pw"}

    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = harness.Pki(workdir / "pki")
        return PhonesBeckond(workdir, cls.pki, cls.USERS, auth={"nonce_lifetime_s": 10})

    @classmethod
    def start_phones(cls):
        cls.linphone = cls.phone(Linphone, 12, "7546950001", "udp", expires=6)
        cls.linphone.wait_registered()

    def test_grown_counts_pass_and_an_old_nonce_comes_back_stale(self):
        p = self.linphone

        def nonce_nc(request: str) -> tuple[str | None, str | None]:
            auth = header(request, "Authorization") or ""
            n = re.search(r'nonce="([^"]+)"', auth)
            c = re.search(r"nc=([0-9a-fA-F]+)", auth)
            return (n.group(1) if n else None, c.group(1) if c else None)

        def stale_then_ok():
            for request in p.sent("REGISTER"):
                r = p.response_to(request)
                if r and status_of(r) == 401 and re.search(r"(?mi)^WWW-Authenticate:.*stale=true", r):
                    fresh = re.search(r'nonce="([^"]+)"', r).group(1)
                    return [q for q in p.sent("REGISTER")
                            if nonce_nc(q)[0] == fresh and status_of(p.response_to(q) or "") == 200]
            return None

        harness.wait_until(stale_then_ok, 40, interval=0.5,
                           what="a refresh on the old nonce: 401 stale=true, then 200")
        first_nonce = nonce_nc(p.sent("REGISTER")[1])[0]
        on_first = [(nonce_nc(q)[1], status_of(p.response_to(q) or ""))
                    for q in p.sent("REGISTER") if nonce_nc(q)[0] == first_nonce]
        grown = [nc for nc, status in on_first if status == 200 and int(nc, 16) >= 2]
        self.assertTrue(grown, f"no refresh with nc >= 2 on the first nonce got 200: {on_first}\n"
                               f"{p.report()}")
        self.assertEqual([s for _, s in on_first if s not in (200, 401)], [], on_first)
        self.assertEqual(len(self.bindings(p.user)), 1, p.report())


class TlsTrust(PhonesTestCase):
    """Linphone checks beckond's certificate: given another CA than the one
    that signed it, it does not register (so the TLS registrations above
    prove the certificate right). baresip 1.0 checks nothing (docs/phones.md)."""

    USERS = {"7546900001": "trust-pw"}

    @classmethod
    def start_phones(cls):
        other = harness.Pki(cls.workdir / "other-ca")
        cls.phone(Linphone, 11, "7546900001", "tls", ca=other.ca)

    def test_another_ca_is_refused(self):
        p = self.phones[0]
        p._wait_state("register-status 1", ("LinphoneRegistrationFailed",), "registration failed")
        self.assertEqual(p.sent("REGISTER"), [], p.report())  # not even sent
        self.assertEqual(self.bindings(p.user), [])


if __name__ == "__main__":
    unittest.main()
