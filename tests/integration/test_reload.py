"""SIGHUP reloads what can be reloaded (docs/configuration.md, "Reloading"):
log.level, the application servers (identities and rights), the
[[notify_credentials]] and [sip.auth]; a file that fails validation changes
nothing and the log names the key and the problem.

- Rights: over HTTPS with HTTP Basic, crm may not name other.example.com
  and billing does not exist; the file is changed (crm gets the callback
  server, billing is added, log.level becomes debug, soap.workers changes),
  SIGHUP: crm's request is taken, billing authenticates, debug lines appear,
  and soap.workers is named as needing a restart. A file with a bad value
  is refused: the log names app_server.crm.rate, the old rights stay.
- Credentials: a device that challenges its NOTIFY with 407 fails the
  request while no [[notify_credentials]] are configured; after SIGHUP with
  credentials for its realm the next request is delivered (the NOTIFY sent
  again carries Proxy-Authorization).
- [sip.auth]: REGISTER is open; after SIGHUP with [sip.auth] it is
  challenged and the right digest is taken; after another SIGHUP with a new
  password the old one gets 403, the new one 200 on a nonce given out before
  the reload.

Every reload is awaited through /metrics (beckon_config_reloads_total).
Run with /usr/bin/python3 (Debian's python3-zeep).
"""

from __future__ import annotations

import re
import secrets
import signal
import unittest

import zeep.exceptions

from devices import DevicesTestCase, auth_params, digest_response, notify_credentials
from harness import (DOMAIN, LOOPBACK, PACKAGE, Beckond, BeckondTestCase, Pki, basic_auth,
                     fault_detail, fetch_wsdl, toml_value, wait_until, zeep_client, zeep_session)
from test_digest import REALM, UdpPhone, auth_user, credentials
from test_metrics import parse_exposition

CRM = ("crm", "crm-secret")
BILLING = ("billing", "billing-secret")


def crm(callbacks: list[str], **extra) -> dict:
    return {"name": "crm", "basic_auth": basic_auth(*CRM), "packages": [PACKAGE],
            "callback_servers": callbacks, **extra}


BILLING_SERVER = {"name": "billing", "basic_auth": basic_auth(*BILLING), "packages": [PACKAGE],
                  "callback_servers": ["billing.example.com:*"]}


class ReloadMixin:
    """SIGHUP and waiting for its outcome through /metrics."""

    def reloads(self) -> dict[str, float]:
        with zeep_session(self.beckond) as s:
            r = s.get(f"{self.beckond.scheme}://{LOOPBACK}:{self.beckond.soap_port}/metrics",
                      timeout=10)
            self.assertEqual(r.status_code, 200, r.text)
            m = parse_exposition(r.text)
        return {k: m[f'beckon_config_reloads_total{{result="{k}"}}'] for k in ("applied", "refused")}

    def hup(self, outcome: str) -> None:
        """SIGHUP, then waits until beckond counted one more `outcome`
        (applied or refused) and nothing else."""
        before = self.reloads()
        self.beckond.proc.send_signal(signal.SIGHUP)
        want = dict(before)
        want[outcome] += 1
        last = {}

        def counted():
            last["r"] = self.reloads()
            return last["r"] != before

        wait_until(counted, 5.0, what="the reload to be counted")
        self.assertEqual(last["r"], want, f"reloads before: {before}")

    def new_log(self) -> str:
        return self.beckond.log()[self._log_offset:]

    def assertLogged(self, pattern: str, timeout: float = 5.0) -> None:
        """A line matching `pattern` (a regex) appears in this test's part of
        the log (lines are written by beckond's logging thread, a moment
        after what they tell)."""
        try:
            wait_until(lambda: re.search(pattern, self.new_log()), timeout,
                       what=f"/{pattern}/ in beckond's log")
        except TimeoutError as e:
            raise AssertionError(f"{e}; the log:\n{self.new_log()}") from None


class ReloadRights(ReloadMixin, BeckondTestCase):
    notify_timeout_ms = 3000

    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = Pki(workdir / "pki")
        return Beckond(workdir, log_level="info", tls=cls.pki.server_tls("optional"),
                       app_servers=[crm(["crm.example.com:*"])])

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.wsdl_file = fetch_wsdl(cls.beckond, cls.workdir / "contact-me.wsdl")
        cls.base_config = cls.beckond.config.read_text()

    def tearDown(self):
        # the next test starts from the configuration the class started with
        self.beckond.config.write_text(self.base_config)
        self.hup("applied")
        super().tearDown()

    def soap(self, auth):
        client = zeep_client(self.beckond, auth=auth, wsdl=self.wsdl_file)
        self.addCleanup(client.transport.session.close)
        return client.service

    def write(self, servers: list[dict], level: str = "info", soap_extra: str = "") -> None:
        text = self.base_config
        head = text[:text.index("[[app_server]]")]
        head = re.sub(r'(?m)^level = "[a-z]+"$', f'level = "{level}"', head)
        head = head.replace("[soap]\n", "[soap]\n" + soap_extra)
        tables = []
        for s in servers:
            tables += ["[[app_server]]"] + [f"{k} = {toml_value(v)}" for k, v in s.items()] + [""]
        self.beckond.config.write_text(head + "\n".join(tables))

    def queued(self, service, request_id: str, server: str):
        """A ContactMe for a device nobody registered, with queue time: taken
        (queued) unless the caller may not ask for it."""
        return service.ContactMe(deviceId=f"sip:nobody-{request_id}@{DOMAIN}",
                                 requestId=request_id, server=server, queueSeconds=30, waitMs=0)

    def test_rights_servers_and_level_apply_at_sighup(self):
        tag = secrets.token_hex(4)
        crm_soap, billing_soap = self.soap(CRM), self.soap(BILLING)
        self.assertSoapFault("NotAuthorized", self.queued, crm_soap, f"a-{tag}",
                             "other.example.com:443", names="server")
        self.assertSoapFault("NotAuthorized", self.queued, billing_soap, f"b-{tag}",
                             "billing.example.com:443")

        self.write([crm(["crm.example.com:*", "other.example.com:*"]), BILLING_SERVER],
                   level="debug", soap_extra="workers = 3\n")
        self.hup("applied")
        self.assertEqual(self.queued(crm_soap, f"c-{tag}", "other.example.com:443").state,
                         "queued")
        self.assertEqual(self.queued(billing_soap, f"d-{tag}", "billing.example.com:443").state,
                         "queued")
        self.assertLogged(r"reload applied: log_level=debug app_servers=2 ")
        # lines are written in order: the calls before the reload were at info
        before = self.new_log().split("reload applied")[0]
        self.assertNotIn("soap call op=", before)
        self.assertLogged(r"soap call op=ContactMe .*app=billing .*request=d-" + tag)
        self.assertLogged(r"soap\.workers changed in .*; it takes effect at the next restart")

    def test_a_bad_file_changes_nothing(self):
        tag = secrets.token_hex(4)
        self.write([crm(["crm.example.com:*"]), BILLING_SERVER])
        self.hup("applied")
        billing_soap = self.soap(BILLING)
        self.assertEqual(self.queued(billing_soap, f"e-{tag}", "billing.example.com:1").state,
                         "queued")

        # billing gone, crm with a bad rate, a debug level: refused as a whole
        self.write([crm(["crm.example.com:*", "other.example.com:*"], rate=-1)], level="debug")
        self.hup("refused")
        self.assertLogged(r"reload refused, the configuration in use is kept: "
                          r".*app_server\.crm\.rate: must be a number >= 0")
        self.assertEqual(self.queued(billing_soap, f"f-{tag}", "billing.example.com:1").state,
                         "queued")
        self.assertSoapFault("NotAuthorized", self.queued, self.soap(CRM), f"g-{tag}",
                             "other.example.com:1", names="server")

        # a file that is not TOML at all
        self.beckond.config.write_text(self.base_config + "\n[log\n")
        self.hup("refused")
        self.assertLogged(r"reload refused, .*beckond\.toml:")
        # lines are written in order: every call above was logged at info
        self.assertNotIn("soap call op=", self.new_log())


class ReloadCredentials(ReloadMixin, DevicesTestCase):
    """[[notify_credentials]] and [sip.auth], over plain HTTP from loopback."""

    notify_timeout_ms = 3000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.base_config = cls.beckond.config.read_text()

    def tearDown(self):
        # back to no credentials for the next test
        self.beckond.config.write_text(self.base_config)
        self.hup("applied")
        super().tearDown()

    def append(self, toml: str) -> None:
        self.beckond.config.write_text(self.base_config.rstrip("\n") + "\n\n" + toml.strip() + "\n")

    def test_notify_credentials_apply_at_sighup(self):
        nonce = secrets.token_hex(16)
        dev = self.phone("notify_challenge_proxy.xml", keys={"realm": "phones", "nonce": nonce})
        dev.register()
        first = self.contact_me(deviceId=dev.instance, requestId=f"cred-1-{nonce[:8]}",
                                waitMs=10000)
        self.assertEqual(first.state, "failed", first)
        self.assertDeliveries(first, [407])

        self.append(notify_credentials({"realm": "phones", "user": "beckon",
                                        "password": "reloaded"}))
        self.hup("applied")
        self.assertLogged("reload applied: log_level=debug app_servers=0 notify_credentials=1")
        second = self.contact_me(deviceId=dev.instance, requestId=f"cred-2-{nonce[:8]}",
                                 waitMs=10000)
        self.assertEqual(second.state, "delivered", second)
        self.assertDeliveries(second, [200])
        self.assertEqual(dev.sipp.wait(20), 0, dev.sipp.report())
        retried = [n for n in dev.notify_transactions() if n.headers("Proxy-Authorization")]
        self.assertEqual(len(retried), 1, [n.raw for n in dev.notify_transactions()])
        p = auth_params(retried[0].headers("Proxy-Authorization")[0])
        self.assertEqual((p.get("username"), p.get("realm"), p.get("nonce")),
                         ("beckon", "phones", nonce), p)
        self.assertEqual(p.get("response"), digest_response(p, "reloaded", "NOTIFY"), p)

    def test_sip_auth_applies_at_sighup(self):
        user = f"75466{secrets.randbelow(10**5):05d}"
        phone = UdpPhone(self.beckond.sip_port, user=user)
        self.addCleanup(phone.close)

        def register(authorization=None):
            return phone.request("REGISTER", f"sip:{DOMAIN}", headers=["Expires: 300"],
                                 authorization=authorization)

        self.assertEqual(register().first_line, "SIP/2.0 200 OK")

        def with_auth(password: str) -> str:
            return ("[sip.auth]\n"
                    f'realm = "{REALM}"\n\n'
                    "[[sip.auth.user]]\n" +
                    "\n".join(f"{k} = {toml_value(v)}"
                              for k, v in auth_user(user, password).items()))

        self.append(with_auth("first"))
        self.hup("applied")
        r = register()
        self.assertEqual(r.first_line, "SIP/2.0 401 Unauthorized", r.raw)
        nonce = auth_params(r.headers("WWW-Authenticate")[0])["nonce"]
        ok = register(credentials("SHA-256", user, "first", nonce, "REGISTER", f"sip:{DOMAIN}"))
        self.assertEqual(ok.first_line, "SIP/2.0 200 OK", ok.raw)

        self.append(with_auth("second"))
        self.hup("applied")
        old = register(credentials("SHA-256", user, "first", nonce, "REGISTER", f"sip:{DOMAIN}",
                                   nc=2))
        self.assertEqual(old.first_line, "SIP/2.0 403 Forbidden", old.raw)
        new = register(credentials("SHA-256", user, "second", nonce, "REGISTER", f"sip:{DOMAIN}",
                                   nc=3))
        self.assertEqual(new.first_line, "SIP/2.0 200 OK",
                         f"a nonce given out before the reload stays good: {new.raw!r}")


if __name__ == "__main__":
    unittest.main()
