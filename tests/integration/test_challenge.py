"""Devices that challenge the NOTIFY (contract: outcome 401/407: "answered
once with the credentials configured for that device or realm; a second
challenge fails that binding").

beckond is configured with [[notify_credentials]] per realm or per device
id. The SIPp device answers the first NOTIFY 401 (WWW-Authenticate) or 407
(Proxy-Authenticate); the NOTIFY sent again must carry the digest
credentials: SIPp's verifyauth checks the 401 case, and the test recomputes
every digest response from the message trace.

Run with /usr/bin/python3 (Debian's python3-zeep).
"""

import secrets
import time
import unittest

from devices import DevicesTestCase, auth_params, digest_response, notify_credentials
from harness import DOMAIN, new_instance, new_user



def ids(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns() % 10**9}"


class ChallengeMixin:

    def contact_me_and_wait(self, dev, rid):
        return self.contact_me(deviceId=dev.instance, requestId=rid, server="crm.example.com",
                               queueSeconds=0, waitMs=10000)

    def assertAuthorized(self, dev, header, user, password, realm, nonce, qop=None):
        """Two NOTIFY transactions: the first without credentials, the second
        the same request sent again (Call-ID, From tag, next CSeq, body) with
        `header` carrying a correct digest for user/password."""
        notifies = dev.notify_transactions()
        self.assertEqual(len(notifies), 2, [n.raw for n in notifies])
        first, second = notifies
        for h in ("Authorization", "Proxy-Authorization"):
            self.assertEqual(first.headers(h), [], first.raw)
        other = "Proxy-Authorization" if header == "Authorization" else "Authorization"
        self.assertEqual(second.headers(other), [], second.raw)
        self.assertEqual(len(second.headers(header)), 1, second.raw)
        self.assertEqual(second.headers("Call-ID"), first.headers("Call-ID"))
        self.assertEqual(second.headers("From"), first.headers("From"))
        seq1, m1 = first.headers("CSeq")[0].split()
        seq2, m2 = second.headers("CSeq")[0].split()
        self.assertEqual((m1, m2), ("NOTIFY", "NOTIFY"))
        self.assertEqual(int(seq2), int(seq1) + 1, "the NOTIFY sent again takes the next CSeq")
        self.assertEqual(second.body, first.body)
        self.assertEqual(second.first_line, first.first_line)

        p = auth_params(second.headers(header)[0])
        self.assertEqual(p.get("username"), user, p)
        self.assertEqual(p.get("realm"), realm, p)
        self.assertEqual(p.get("nonce"), nonce, p)
        self.assertEqual(p.get("uri"), second.first_line.split(" ")[1], p)
        self.assertEqual(p.get("algorithm", "MD5").upper(), "MD5", p)
        self.assertEqual(p.get("qop"), qop, p)
        self.assertEqual(p.get("response"), digest_response(p, password, "NOTIFY"),
                         f"digest response does not match {user}/{password}: {p}")

    def challenger(self, ooc, realm, nonce, transport="udp", **kw):
        keys = {"realm": realm, "nonce": nonce}
        keys.update(kw.pop("keys", {}))
        return self.phone(ooc, transport=transport, keys=keys, **kw).register()

    def check_challenged_once(self, transport, ooc, header, user, password, realm, qop=None,
                              phone_user=None, **phone):
        if phone_user:
            phone["user"] = phone_user
        nonce = secrets.token_hex(16)
        keys = {"auth_user": user, "auth_password": password} if "www" in ooc else {}
        dev = self.challenger(ooc, realm, nonce, transport=transport, keys=keys, **phone)
        status = self.contact_me_and_wait(dev, ids("challenged"))
        self.assertEqual(status.state, "delivered", status)
        self.assertDeliveries(status, [200])
        self.assertEqual(dev.sipp.wait(15), 0, dev.sipp.report())
        self.assertIn("authorized NOTIFY answered 200", dev.sipp.read("logs"))
        self.assertAuthorized(dev, header, user, password, realm, nonce, qop)
        return dev

    def check_challenged_twice(self, transport, code):
        nonce = secrets.token_hex(16)
        header, reason = {401: ("WWW-Authenticate", "Unauthorized"),
                          407: ("Proxy-Authenticate", "Proxy Authentication Required")}[code]
        dev = self.challenger("notify_challenge_always.xml", "phones", nonce,
                              transport=transport, subst={"CHALLENGE_CODE": str(code)},
                              keys={"challenge_header": header, "challenge_reason": reason})
        rid = ids(f"twice-{code}")
        status = self.contact_me_and_wait(dev, rid)
        self.assertEqual(status.state, "failed", status)
        self.assertDeliveries(status, [code])
        self.assertEqual(dev.sipp.wait(15), 0, dev.sipp.report())
        self.assertEqual(dev.sipp.read("logs").count(f"challenged {code}"), 2)
        # answered once with credentials, then given up: no third NOTIFY
        # (the device lingers 500 ms after the second challenge)
        self.assertAuthorized(dev, "Authorization" if code == 401 else "Proxy-Authorization",
                              "beckon", "secret", "phones", nonce)
        self.assertEqual(self.status_of(rid).state, "failed")

    def check_no_credentials(self, dev_kw, realm="nobody-knows"):
        """A challenge nobody configured credentials for: failed with 401 after
        the one NOTIFY, nothing sent again."""
        nonce = secrets.token_hex(16)
        dev = self.challenger("notify_challenge_www.xml", realm, nonce,
                              keys={"auth_user": "x", "auth_password": "y"}, **dev_kw)
        status = self.contact_me_and_wait(dev, ids("no-credentials"))
        self.assertEqual(status.state, "failed", status)
        self.assertDeliveries(status, [401])
        time.sleep(0.5)
        dev.sipp.stop()
        notifies = dev.notify_transactions()
        self.assertEqual(len(notifies), 1, [n.raw for n in notifies])
        self.assertEqual(notifies[0].headers("Authorization"), [])


class RealmCredentials(ChallengeMixin, DevicesTestCase):
    """Credentials per realm; devices over UDP (RealmCredentialsTcp: TCP)."""

    transport = "udp"
    extra_toml = notify_credentials({"realm": "phones", "user": "beckon", "password": "secret"})

    def test_401_answered_with_authorization(self):
        self.check_challenged_once(self.transport, "notify_challenge_www.xml", "Authorization",
                                   "beckon", "secret", "phones", qop="auth")

    def test_407_answered_with_proxy_authorization(self):
        self.check_challenged_once(self.transport, "notify_challenge_proxy.xml",
                                   "Proxy-Authorization", "beckon", "secret", "phones")

    def test_second_401_fails_the_binding(self):
        self.check_challenged_twice(self.transport, 401)

    def test_second_407_fails_the_binding(self):
        self.check_challenged_twice(self.transport, 407)

    def test_realm_without_credentials_fails(self):
        self.check_no_credentials({"transport": self.transport})


class RealmCredentialsTcp(RealmCredentials):
    transport = "tcp"


class DeviceCredentials(ChallengeMixin, DevicesTestCase):
    """Credentials per device id: by instance id and by address of record.
    The devices challenge with realms no [[notify_credentials]] names.
    Devices over UDP (DeviceCredentialsTcp: TCP)."""

    transport = "udp"
    INSTANCE = new_instance()
    USER = new_user()
    extra_toml = notify_credentials(
        {"realm": "phones", "user": "beckon", "password": "secret"},
        {"device": INSTANCE, "user": "dev-user", "password": "dev-pass"},
        {"device": f"sip:{USER}@{DOMAIN}", "user": "aor-user", "password": "aor-pass"},
    )

    def test_by_instance_id(self):
        self.check_challenged_once(self.transport, "notify_challenge_www.xml", "Authorization",
                                   "dev-user", "dev-pass", "device-realm", qop="auth",
                                   instance=self.INSTANCE)

    def test_by_address_of_record(self):
        self.check_challenged_once(self.transport, "notify_challenge_proxy.xml",
                                   "Proxy-Authorization", "aor-user", "aor-pass", "aor-realm",
                                   phone_user=self.USER)

    def test_other_device_gets_none_of_them(self):
        self.check_no_credentials({"transport": self.transport}, realm="device-realm")


class DeviceCredentialsTcp(DeviceCredentials):
    transport = "tcp"
    INSTANCE = new_instance()
    USER = new_user()
    extra_toml = notify_credentials(
        {"device": INSTANCE, "user": "dev-user", "password": "dev-pass"},
        {"device": f"sip:{USER}@{DOMAIN}", "user": "aor-user", "password": "aor-pass"},
    )


if __name__ == "__main__":
    unittest.main()
