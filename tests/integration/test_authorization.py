"""Who may do what: application servers and contact triggering servers from
beckond's configuration, over HTTPS (and once over plain HTTP).

Certificates are made at test time with the openssl CLI in the class's work
directory (harness.Pki: a CA, a server certificate for 127.0.0.1/localhost,
client certificates) and removed with it. Callers are python3-zeep (HTTPS with
the test CA, client certificate, HTTP Basic; trust_env off) and the beckon
client (--cacert, --cert/--key, --user/--password).

Every refusal is a NotAuthorized (or Overloaded) fault and sends nothing: the
test's SIPp device, registered and answering, gets no NOTIFY for that
request. Run with /usr/bin/python3 (Debian's python3-zeep).
"""

import os
import sys
import tempfile
import time
import unittest
from pathlib import Path

import requests

from harness import (LOOPBACK, PACKAGE, Beckond, BeckondTestCase, Pki, basic_auth,
                     beckon_tls_options, fault_detail, fetch_wsdl, run_beckon, zeep_client)

import zeep.exceptions
from test_limits import refusals

SECOND_PACKAGE = "second-package"

CRM = ("crm", "crm-secret-1")
CTS = ("cts", "cts-secret-2")
LIMITED = ("limited", "limited-secret-3")

CRM_CALLBACKS = ["crm.example.com:8443", "198.51.100.7:*", "*.crm.example.com:443"]


def app_servers(certs: dict) -> list[dict]:
    """The [[app_server]] tables of these tests."""
    return [
        # HTTP Basic; only the default package; may not query devices
        {"name": "crm", "basic_auth": basic_auth(*CRM), "packages": [PACKAGE],
         "callback_servers": CRM_CALLBACKS, "rate": 0},
        # client certificate by subject (RFC 2253); both packages; may query devices
        {"name": "certapp", "tls_subject": certs["subject"].subject,
         "packages": [PACKAGE, SECOND_PACKAGE], "callback_servers": ["certapp.example.com:*"],
         "query_devices": True},
        # client certificate by subject in OpenSSL's oneline form
        {"name": "onelineapp", "tls_subject": certs["oneline"].subject_oneline,
         "packages": [PACKAGE], "callback_servers": ["oneline.example.com:*"]},
        # client certificate by fingerprint
        {"name": "fpapp", "tls_fingerprint": certs["fingerprint"].fingerprint,
         "packages": [PACKAGE], "callback_servers": ["fp.example.com:443"]},
        # a contact triggering server acting for crm
        {"name": "cts", "basic_auth": basic_auth(*CTS), "packages": [PACKAGE],
         "callback_servers": CRM_CALLBACKS, "acts_for": ["crm"]},
        # one request a second, bursts of one
        {"name": "limited", "basic_auth": basic_auth(*LIMITED), "packages": [PACKAGE],
         "callback_servers": ["limited.example.com:*"], "rate": 1},
    ]


class AuthTestCase(BeckondTestCase):
    client_certs = "optional"
    tls = True
    notify_timeout_ms = 3000

    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = Pki(workdir / "pki")
        cls.certs = {name: cls.pki.client(name, f"{name}.example.com")
                     for name in ("subject", "oneline", "fingerprint", "unknown")}
        b = Beckond(workdir, notify_timeout_ms=cls.notify_timeout_ms,
                    tls=cls.pki.server_tls(cls.client_certs) if cls.tls else None,
                    app_servers=app_servers(cls.certs),
                    contact_me={"packages": [PACKAGE, SECOND_PACKAGE]})
        return b

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._clients = {}
        try:
            # The WSDL once, fetched as an identified caller; every client of
            # the class is built from this file, so that callers that cannot
            # fetch it (no certificate) fail on the call itself.
            cls.wsdl_file = fetch_wsdl(cls.beckond, cls.workdir / "contact-me.wsdl",
                                       cert=cls.certs["subject"])
        except Exception:
            cls.failed = True
            sys.stderr.write(f"beckond log:\n{cls.beckond.log()}\n")
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for c in getattr(cls, "_clients", {}).values():
            c.transport.session.close()
        super().tearDownClass()

    def soap(self, auth=None, cert=None):
        """The zeep service for these credentials (cert: a key of self.certs)."""
        key = (auth, cert)
        if key not in self._clients:
            self._clients[key] = zeep_client(
                self.beckond, auth=auth, cert=self.certs[cert] if cert else None,
                wsdl=self.wsdl_file)
        return self._clients[key].service

    def beckon(self, args, auth=None, cert=None, json_out=False):
        options = beckon_tls_options(self.beckond, cert=self.certs[cert] if cert else None,
                                     auth=auth)
        if json_out:
            options.append("--json")
        return run_beckon(self.beckond, args, options=options)

    def answering_device(self, **kw):
        kw.setdefault("hold_ms", 8000)
        return self.device(notify_status=200, **kw).register()

    def contact_me(self, service, dev, request_id, **fields):
        fields.setdefault("waitMs", 10000)
        return service.ContactMe(deviceId=dev.instance, requestId=request_id, **fields)

    def assertDelivered(self, status, dev, request_id):
        self.assertEqual(status.requestId, request_id, status)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual(len(dev.notifies_for(request_id)), 1, dev.sipp.report())

    def assertRefused(self, code, call, dev, request_id, *args, **kw):
        """call(...) is a `code` fault and no NOTIFY for request_id reaches dev."""
        self.assertSoapFault(code, call, *args, **kw)
        self.assertNoNotifyFor(dev, request_id, settle=0.3)

    def assertClientRefused(self, r, code, dev=None, request_id=None):
        self.assertBeckon(r, 2)
        self.assertIn(code, r.stdout + r.stderr)
        if dev is not None:
            self.assertNoNotifyFor(dev, request_id, settle=0.3)


class Identity(AuthTestCase):
    """HTTPS, client certificates optional: who the caller is."""

    def test_basic_over_tls(self):
        dev = self.answering_device()
        status = self.contact_me(self.soap(auth=CRM), dev, "basic-1",
                                 server="crm.example.com:8443")
        self.assertDelivered(status, dev, "basic-1")
        self.assertEqual(self.soap(auth=CRM).GetContactRequest(requestId="basic-1").state,
                         "delivered")
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "basic-cli-1",
                         "--callback", "crm.example.com:8443", "--wait-ms", "10000"], auth=CRM)
        self.assertBeckon(r, 0)
        self.assertIn("request basic-cli-1: delivered", r.stdout)
        self.assertEqual(len(dev.notifies_for("basic-cli-1")), 1, dev.sipp.report())
        r = self.beckon(["get-request", "--request-id", "basic-1"], auth=CRM)
        self.assertBeckon(r, 0)
        self.assertIn("request basic-1: delivered", r.stdout)

    def test_wrong_password_or_user(self):
        dev = self.answering_device()
        for n, auth in enumerate([("crm", "wrong"), ("crm", ""), ("nobody", CRM[1]),
                                  ("cts", CRM[1])]):
            with self.subTest(auth=auth):
                rid = f"badpw-{n}"
                self.assertRefused("NotAuthorized", self.contact_me, dev, rid,
                                   self.soap(auth=auth), dev, rid,
                                   server="crm.example.com:8443")
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "badpw-cli",
                         "--callback", "crm.example.com:8443"], auth=("crm", "wrong"))
        self.assertClientRefused(r, "NotAuthorized", dev, "badpw-cli")
        # a request id of crm is not revealed to a wrong password either
        self.soap(auth=CRM).ContactMe(deviceId=dev.instance, requestId="badpw-known",
                                      server="crm.example.com:8443", waitMs=10000)
        self.assertSoapFault("NotAuthorized", self.soap(auth=("crm", "wrong")).GetContactRequest,
                             requestId="badpw-known")

    def test_unidentified_caller(self):
        # from loopback, over TLS, without credentials: with application
        # servers configured, nobody is "local" any more
        dev = self.answering_device()
        self.assertRefused("NotAuthorized", self.contact_me, dev, "anon-1", self.soap(), dev,
                           "anon-1", server="crm.example.com:8443")
        self.assertSoapFault("NotAuthorized", self.soap().GetDevice, deviceId=dev.instance)
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "anon-cli",
                         "--callback", "crm.example.com:8443"])
        self.assertClientRefused(r, "NotAuthorized", dev, "anon-cli")

    def test_plain_http_to_the_tls_listener(self):
        # Basic credentials in clear text to the HTTPS port: no TLS, no answer
        dev = self.answering_device()
        envelope = ('<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"'
                    ' xmlns:cm="urn:beckon:contact-me:1"><SOAP-ENV:Body><cm:ContactMe>'
                    f'<cm:deviceId>{dev.user}</cm:deviceId><cm:requestId>clear-1</cm:requestId>'
                    '<cm:server>crm.example.com:8443</cm:server></cm:ContactMe>'
                    '</SOAP-ENV:Body></SOAP-ENV:Envelope>')
        with requests.Session() as s:
            s.trust_env = False
            try:
                r = s.post(f"http://{LOOPBACK}:{self.beckond.soap_port}/", data=envelope,
                           auth=CRM, timeout=10, headers={"Content-Type": "text/xml"})
            except requests.exceptions.RequestException:
                pass  # the TLS listener dropped it
            else:
                self.assertGreaterEqual(r.status_code, 400, r.text)
        self.assertNoNotifyFor(dev, "clear-1", settle=0.3)

    def test_certificate_by_subject(self):
        dev = self.answering_device()
        for cert, app, server in (("subject", "certapp", "certapp.example.com:8443"),
                                  ("oneline", "onelineapp", "oneline.example.com:443")):
            with self.subTest(app=app):
                rid = f"cert-{cert}-1"
                status = self.contact_me(self.soap(cert=cert), dev, rid, server=server)
                self.assertDelivered(status, dev, rid)
                r = self.beckon(["contact-me", "--device", dev.instance,
                                 "--request-id", f"cert-{cert}-cli", "--callback", server,
                                 "--wait-ms", "10000"], cert=cert)
                self.assertBeckon(r, 0)
                self.assertIn(f"request cert-{cert}-cli: delivered", r.stdout)
                # the request is the certificate owner's: crm does not see it
                self.assertSoapFault("InvalidArgument", self.soap(auth=CRM).GetContactRequest,
                                     requestId=rid, names="requestId")

    def test_certificate_by_fingerprint(self):
        dev = self.answering_device()
        status = self.contact_me(self.soap(cert="fingerprint"), dev, "cert-fp-1",
                                 server="fp.example.com:443")
        self.assertDelivered(status, dev, "cert-fp-1")
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "cert-fp-cli",
                         "--callback", "fp.example.com:443", "--wait-ms", "10000"],
                        cert="fingerprint")
        self.assertBeckon(r, 0)
        self.assertEqual(len(dev.notifies_for("cert-fp-cli")), 1, dev.sipp.report())

    def test_unknown_certificate(self):
        # signed by the trusted CA, but neither its subject nor its
        # fingerprint is configured
        dev = self.answering_device()
        self.assertRefused("NotAuthorized", self.contact_me, dev, "cert-unknown-1",
                           self.soap(cert="unknown"), dev, "cert-unknown-1",
                           server="certapp.example.com:8443")
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id",
                         "cert-unknown-cli", "--callback", "certapp.example.com:8443"],
                        cert="unknown")
        self.assertClientRefused(r, "NotAuthorized", dev, "cert-unknown-cli")

    def test_certificate_of_another_ca(self):
        other = Pki(self.workdir / "other-pki")
        # same subject as certapp's certificate, another CA: not verified
        cert = self.pki.issue("subject-other-ca", "/O=beckon test/CN=subject.example.com",
                              ca=other)
        self.assertEqual(cert.subject, self.certs["subject"].subject)
        dev = self.answering_device()
        service = zeep_client(self.beckond, cert=cert, wsdl=self.wsdl_file)
        try:
            with self.assertRaises((zeep.exceptions.Fault, requests.exceptions.SSLError,
                                    requests.exceptions.ConnectionError)) as cm:
                self.contact_me(service.service, dev, "cert-other-ca-1",
                                server="certapp.example.com:8443")
            if isinstance(cm.exception, zeep.exceptions.Fault):
                self.assertEqual(fault_detail(cm.exception)[0], "NotAuthorized")
        finally:
            service.transport.session.close()
        self.assertNoNotifyFor(dev, "cert-other-ca-1", settle=0.3)


class Rights(AuthTestCase):
    """What an identified caller may do."""

    def test_package_not_allowed(self):
        dev = self.answering_device()
        self.assertRefused("NotAuthorized", self.contact_me, dev, "pkg-1", self.soap(auth=CRM),
                           dev, "pkg-1", server="crm.example.com:8443", package=SECOND_PACKAGE)
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "pkg-cli",
                         "--callback", "crm.example.com:8443", "--package", SECOND_PACKAGE],
                        auth=CRM)
        self.assertClientRefused(r, "NotAuthorized", dev, "pkg-cli")
        # certapp may use it: the device is not subscribed to it, so the
        # answer is UnknownDevice, not NotAuthorized
        self.assertRefused("UnknownDevice", self.contact_me, dev, "pkg-2",
                           self.soap(cert="subject"), dev, "pkg-2",
                           server="certapp.example.com:8443", package=SECOND_PACKAGE)

    def test_callback_servers(self):
        dev = self.answering_device(hold_ms=10000)
        crm = self.soap(auth=CRM)
        allowed = [
            dict(server="crm.example.com:8443"),
            dict(server="crm.example.com", port=8443),
            dict(server="198.51.100.7:1234"),
            dict(server="198.51.100.7"),            # no port: matches the port-* pattern
            dict(server="a.crm.example.com:443"),
            dict(server="b.a.crm.example.com:443"),
            dict(server="crm.example.com:8443",
                 alternateServer=["198.51.100.7:8443", "x.crm.example.com:443"]),
        ]
        for n, fields in enumerate(allowed):
            with self.subTest(allowed=fields):
                rid = f"cb-ok-{n}"
                self.assertDelivered(self.contact_me(crm, dev, rid, **fields), dev, rid)
        refused = [
            dict(server="evil.example.com:8443"),
            dict(server="crm.example.com:9443"),
            dict(server="crm.example.com"),          # no port: only port-* patterns match
            dict(server="crm.example.com", port=443),
            dict(server="198.51.100.8:8443"),
            dict(server="a.crm.example.com:8443"),
            dict(server="crm.example.com.evil.net:443"),
            dict(server="crm.example.com:8443", alternateServer=["evil.example.com:8443"]),
            dict(server="crm.example.com:8443",
                 alternateServer=["198.51.100.7:8443", "crm.example.com:9443"]),
        ]
        for n, fields in enumerate(refused):
            with self.subTest(refused=fields):
                rid = f"cb-no-{n}"
                self.assertRefused("NotAuthorized", self.contact_me, dev, rid, crm, dev, rid,
                                   **fields)
        for n, extra in enumerate((["--callback", "evil.example.com:8443"],
                                   ["--callback", "crm.example.com:8443",
                                    "--alt-server", "evil.example.com:8443"])):
            with self.subTest(client=extra):
                rid = f"cb-cli-{n}"
                r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", rid]
                                + extra, auth=CRM)
                self.assertClientRefused(r, "NotAuthorized", dev, rid)

    def test_on_behalf_of(self):
        dev = self.answering_device()
        cts, crm = self.soap(auth=CTS), self.soap(auth=CRM)
        status = self.contact_me(cts, dev, "obo-1", server="crm.example.com:8443",
                                 onBehalfOf="crm")
        self.assertDelivered(status, dev, "obo-1")
        # the request is crm's: crm sees it, and so does cts acting for crm
        self.assertEqual(crm.GetContactRequest(requestId="obo-1").state, "delivered")
        self.assertEqual(cts.GetContactRequest(requestId="obo-1", onBehalfOf="crm").state,
                         "delivered")
        self.assertSoapFault("InvalidArgument", cts.GetContactRequest, requestId="obo-1",
                             names="requestId")
        r = self.beckon(["get-request", "--request-id", "obo-1"], auth=CRM)
        self.assertBeckon(r, 0)
        self.assertIn("request obo-1: delivered", r.stdout)
        # the client, acting for crm
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "obo-cli-1",
                         "--callback", "crm.example.com:8443", "--on-behalf-of", "crm",
                         "--wait-ms", "10000"], auth=CTS)
        self.assertBeckon(r, 0)
        self.assertEqual(crm.GetContactRequest(requestId="obo-cli-1").state, "delivered")

        # cts queues for crm, crm cancels it
        queued_dev = self.device(answers=False, hold_ms=3000)
        status = cts.ContactMe(deviceId=queued_dev.instance, requestId="obo-queued-1",
                               server="crm.example.com:8443", queueSeconds=30, waitMs=0,
                               onBehalfOf="crm")
        self.assertEqual(status.state, "queued", status)
        self.assertEqual(crm.CancelContactRequest(requestId="obo-queued-1").state, "cancelled")
        self.assertEqual(cts.GetContactRequest(requestId="obo-queued-1",
                                               onBehalfOf="crm").state, "cancelled")
        queued_dev.register()
        self.assertNoNotifyFor(queued_dev, "obo-queued-1", settle=0.8)

    def test_on_behalf_of_not_allowed(self):
        dev = self.answering_device()
        cts, crm = self.soap(auth=CTS), self.soap(auth=CRM)
        cases = [
            (cts, "certapp", "certapp.example.com:8443"),  # cts acts for crm only
            (cts, "nobody", "crm.example.com:8443"),       # no such server
            (crm, "cts", "crm.example.com:8443"),          # crm acts for nobody
            (self.soap(cert="subject"), "crm", "crm.example.com:8443"),
        ]
        for n, (service, target, server) in enumerate(cases):
            with self.subTest(target=target, n=n):
                rid = f"obo-no-{n}"
                self.assertRefused("NotAuthorized", self.contact_me, dev, rid, service, dev, rid,
                                   server=server, onBehalfOf=target)
        # acting for crm, crm's callback servers apply
        self.assertRefused("NotAuthorized", self.contact_me, dev, "obo-no-cb", cts, dev,
                           "obo-no-cb", server="evil.example.com:8443", onBehalfOf="crm")
        # nor may it look up or cancel for a server it does not act for
        crm.ContactMe(deviceId=dev.instance, requestId="obo-crm-own",
                      server="crm.example.com:8443", waitMs=10000)
        self.assertSoapFault("NotAuthorized", self.soap(cert="subject").GetContactRequest,
                             requestId="obo-crm-own", onBehalfOf="crm")
        self.assertSoapFault("NotAuthorized", self.soap(cert="subject").CancelContactRequest,
                             requestId="obo-crm-own", onBehalfOf="crm")
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "obo-no-cli",
                         "--callback", "crm.example.com:8443", "--on-behalf-of", "cts"],
                        auth=CRM)
        self.assertClientRefused(r, "NotAuthorized", dev, "obo-no-cli")

    def test_get_device(self):
        dev = self.device(answers=False, hold_ms=6000).register()
        d = self.soap(cert="subject").GetDevice(deviceId=dev.instance)
        self.assertEqual(len(d.binding), 1, d)
        self.assertEqual(d.binding[0].contact, dev.contact_uri, d)
        r = self.beckon(["get-device", "--device", dev.user], cert="subject")
        self.assertBeckon(r, 0)
        self.assertIn(dev.contact_uri, r.stdout)
        for who in (dict(auth=CRM), dict(cert="fingerprint"), dict(auth=CTS)):
            with self.subTest(who=who):
                self.assertSoapFault("NotAuthorized", self.soap(**who).GetDevice,
                                     deviceId=dev.instance)
        r = self.beckon(["get-device", "--device", dev.user], auth=CRM)
        self.assertClientRefused(r, "NotAuthorized")
        self.assertEqual(dev.notifies(), [])

    def test_rate_limit(self):
        # limited: rate 1, bursts of 1
        dev = self.answering_device()
        limited = self.soap(auth=LIMITED)
        server = "limited.example.com:8443"
        before = refusals(self.beckond)
        time.sleep(1.1)  # a full bucket
        self.assertDelivered(self.contact_me(limited, dev, "rate-1", server=server),
                             dev, "rate-1")
        self.assertRefused("Overloaded", self.contact_me, dev, "rate-2", limited, dev, "rate-2",
                           server=server)
        # the client, at once: still over the rate
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "rate-cli-1",
                         "--callback", server], auth=LIMITED)
        self.assertClientRefused(r, "Overloaded", dev, "rate-cli-1")
        # others are not limited by it
        self.assertDelivered(self.contact_me(self.soap(auth=CRM), dev, "rate-crm-1",
                                             server="crm.example.com:8443"), dev, "rate-crm-1")
        # a second later: fine again
        time.sleep(1.1)
        self.assertDelivered(self.contact_me(limited, dev, "rate-3", server=server),
                             dev, "rate-3")
        time.sleep(1.1)
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "rate-cli-2",
                         "--callback", server, "--wait-ms", "10000"], auth=LIMITED)
        self.assertBeckon(r, 0)
        self.assertEqual(len(dev.notifies_for("rate-cli-2")), 1, dev.sipp.report())
        # both refusals counted in /metrics
        self.assertEqual(refusals(self.beckond)["app_server.rate"]
                         - before.get("app_server.rate", 0), 2)


class RequiredClientCertificates(AuthTestCase):
    client_certs = "required"

    def test_no_certificate_fails_the_handshake(self):
        dev = self.answering_device()
        with self.assertRaises((requests.exceptions.SSLError,
                                requests.exceptions.ConnectionError)):
            self.contact_me(self.soap(auth=CRM), dev, "req-nocert-1",
                            server="crm.example.com:8443")
        self.assertNoNotifyFor(dev, "req-nocert-1", settle=0.3)
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "req-nocert-2",
                         "--callback", "crm.example.com:8443"], auth=CRM)
        self.assertBeckon(r, 2)
        self.assertNoNotifyFor(dev, "req-nocert-2", settle=0.3)

    def test_with_certificate(self):
        dev = self.answering_device()
        status = self.contact_me(self.soap(cert="subject"), dev, "req-cert-1",
                                 server="certapp.example.com:8443")
        self.assertDelivered(status, dev, "req-cert-1")
        r = self.beckon(["contact-me", "--device", dev.instance, "--request-id", "req-cert-2",
                         "--callback", "fp.example.com:443", "--wait-ms", "10000"],
                        cert="fingerprint")
        self.assertBeckon(r, 0)
        self.assertEqual(len(dev.notifies_for("req-cert-2")), 1, dev.sipp.report())
        # a certificate and Basic: a verified certificate plus a correct password
        status = self.contact_me(self.soap(auth=CRM, cert="unknown"), dev, "req-cert-3",
                                 server="crm.example.com:8443")
        self.assertDelivered(status, dev, "req-cert-3")


class PlainHttpWithAppServers(unittest.TestCase):
    """Application servers but no [soap.tls]: HTTP Basic over plain HTTP is
    refused. beckond may refuse it at start (the configuration names the key)
    or per request (NotAuthorized, or HTTP 401/403); either way nothing is
    sent and nobody is "local"."""

    def test_basic_over_plain_http_refused(self):
        base = os.environ.get("BECKON_TEST_TMPDIR")
        if base:
            Path(base).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="beckon-PlainHttp-", dir=base) as work:
            work = Path(work)
            pki = Pki(work / "pki")
            certs = {name: pki.client(name, f"{name}.example.com")
                     for name in ("subject", "oneline", "fingerprint")}
            apps = [a for a in app_servers(certs) if "basic_auth" in a]
            b = Beckond(work, app_servers=apps)
            check = b.check_config()
            if check.returncode != 0:
                # refused at start, naming the key
                out = check.stdout + check.stderr
                self.assertIn("app_server.crm.basic_auth", out, out)
                self.assertIn("tls", out.lower(), out)
                with self.assertRaises(RuntimeError) as cm:
                    b.start()
                b.stop()
                self.assertIn("app_server.crm.basic_auth", str(cm.exception))
                return
            self.check_refused_per_request(work, b)

    def check_refused_per_request(self, work, b):
        from harness import Device, zeep_client as make_client
        b.start()
        dev = Device(work, b, notify_status=200, hold_ms=5000)
        try:
            dev.register()
            client = make_client(b, auth=CRM)
            try:
                client.service.ContactMe(deviceId=dev.instance, requestId="plain-1",
                                         server="crm.example.com:8443", waitMs=10000)
            except zeep.exceptions.Fault as e:
                self.assertEqual(fault_detail(e)[0], "NotAuthorized", e)
            except zeep.exceptions.TransportError as e:
                self.assertIn(e.status_code, (401, 403), e)
            else:
                self.fail("HTTP Basic over plain HTTP was accepted")
            finally:
                client.transport.session.close()
            r = run_beckon(b, ["contact-me", "--device", dev.instance, "--request-id",
                               "plain-cli", "--callback", "crm.example.com:8443"],
                           options=["--user", CRM[0], "--password", CRM[1]])
            self.assertEqual(r.returncode, 2, r)
            time.sleep(0.3)
            self.assertEqual(dev.notifies(), [], dev.sipp.report())
        finally:
            dev.sipp.stop()
            b.stop()


if __name__ == "__main__":
    unittest.main()
