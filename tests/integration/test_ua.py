"""beckon-ua, the reference user agent, against beckond for real: the whole
contact-me loop (application server -> beckond -> device -> application
server) over UDP, TCP and TLS, text and XML bodies, HTTP and HTTPS
callbacks; what a device must refuse (an untrusted server, a NOTIFY that
does not come from its registrar); explicit SUBSCRIBE; digest
authentication; calls between two
beckon-ua and with SIPp (place, answer, end; reject with 486).

Run with /usr/bin/python3.
"""

import hashlib
import socket
import time
import unittest
import uuid

import harness
from devices import ConfiguredBeckond
from harness import (DOMAIN, LOOPBACK, PACKAGE, BeckondTestCase, Pki, TlsBeckond, new_user,
                     run_beckon)
from user_agents import AppServerStub, BeckonUa, BuiltinSipp


class UaTestCase(BeckondTestCase):
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
        for stub in getattr(type(self), "stubs", []):
            sys.stderr.write(stub.report() + "\n")

    def ua(self, name: str, args: list[str], **kw) -> BeckonUa:
        u = BeckonUa(self.workdir, f"{self._testMethodName}-{name}", args, **kw)
        self.uas.append(u)
        return u.start()

    def assertExit(self, ua: BeckonUa, rc: int, timeout: float = 15.0):
        got = ua.wait(timeout)
        self.assertEqual(got, rc, f"beckon-ua {ua.name} exited {got}, not {rc}\n{ua.report()}")


class ContactMeLoop(UaTestCase):
    """One beckond with UDP, TCP and TLS listeners; an HTTP and an HTTPS
    application server; and a third one no device trusts."""

    @classmethod
    def make_beckond(cls, workdir):
        cls.pki = Pki(workdir / "pki")
        return TlsBeckond(workdir, cls.pki)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.http = AppServerStub().start()
        cls.https = AppServerStub(cert=cls.pki.server).start()
        cls.stranger = AppServerStub().start()
        cls.stubs = [cls.http, cls.https, cls.stranger]

    @classmethod
    def tearDownClass(cls):
        for s in cls.stubs:
            s.stop()
        super().tearDownClass()

    def device(self, transport: str, *extra: str) -> tuple[BeckonUa, str, dict]:
        """A beckon-ua registered over `transport` that trusts the HTTP and
        HTTPS stubs and exits after one callback; returns it, its instance id
        and its registered event."""
        user = new_user()
        instance = f"urn:uuid:{uuid.uuid4()}"
        port = self.beckond.tls_port if transport == "tls" else self.beckond.sip_port
        args = ["--aor", f"sip:{user}@{DOMAIN}", "--instance", instance,
                "--registrar", f"{LOOPBACK}:{port}", "--transport", transport, "--register",
                "--trust", self.http.hostport, "--trust", self.https.hostport,
                "--ca-file", self.pki.ca, "--exit-after", "callback", *extra]
        ua = self.ua(transport, args, tls=transport == "tls")
        registered = ua.wait_event("registered")
        return ua, instance, registered

    def request_id(self) -> str:
        return f"ua-{uuid.uuid4().hex[:12]}"

    def test_udp_text_body_http_callback(self):
        ua, instance, registered = self.device("udp")
        self.assertEqual(registered["transport"], "udp")
        self.assertEqual(registered["status"], 200)
        rid = self.request_id()
        status = self.zeep().service.ContactMe(
            deviceId=instance, requestId=rid, server=self.http.hostport, protocol="http",
            path="/sync/inbox?folder=1", function="inbox", waitMs=5000)
        self.assertEqual(status.state, "delivered")
        self.assertEqual([d.sipStatus for d in status.delivery], [200])
        got = self.http.wait_request(rid)
        self.assertEqual(got.method, "GET")
        self.assertEqual(got.path, "/sync/inbox?folder=1")
        self.assertEqual(got.headers.get("beckon-function"), "inbox")
        self.assertEqual(got.headers.get("beckon-device"), instance)
        self.assertTrue(got.headers.get("user-agent", "").startswith("beckon-ua/"))
        self.assertExit(ua, 0)
        notify = ua.wait_event("notify", request_id=rid)
        self.assertEqual((notify["answered"], notify["action"], notify["format"],
                          notify["subscription"], notify["transport"]),
                         (200, "callback", "text", "implicit", "udp"))
        self.assertEqual(notify["urls"], [f"http://{self.http.hostport}/sync/inbox?folder=1"])
        callback = ua.wait_event("callback", request_id=rid)
        self.assertEqual((callback["ok"], callback["status"], callback["function"]),
                         (True, 200, "inbox"))
        self.assertEqual(len(self.http.received(rid)), 1)

    def test_tcp_xml_body_https_callback_through_the_beckon_client(self):
        ua, instance, registered = self.device("tcp", "--accept", "xml,text")
        self.assertEqual(registered["transport"], "tcp")
        rid = self.request_id()
        r = run_beckon(self.beckond, ["contact-me", "--device", instance, "--request-id", rid,
                                      "--callback", self.https.hostport, "--protocol", "https",
                                      "--path", "/devices/wake", "--wait-ms", "5000"])
        self.assertEqual(r.returncode, 0, f"beckon: {r.stdout} {r.stderr}")
        self.assertIn("delivered", r.stdout)
        got = self.https.wait_request(rid)
        self.assertEqual(got.path, "/devices/wake")
        self.assertExit(ua, 0)
        notify = ua.wait_event("notify", request_id=rid)
        self.assertEqual((notify["format"], notify["transport"], notify["protocol"]),
                         ("xml", "tcp", "https"))
        self.assertTrue(ua.wait_event("callback", request_id=rid)["ok"])

    def test_tls_registration_and_https_callback(self):
        ua, instance, registered = self.device("tls")
        self.assertEqual(registered["transport"], "tls")
        self.assertTrue(registered["contact"].startswith("sips:"), registered)
        rid = self.request_id()
        status = self.zeep().service.ContactMe(
            deviceId=instance, requestId=rid, server=self.https.hostport, protocol="https",
            path="/tls", waitMs=5000)
        self.assertEqual(status.state, "delivered")
        self.assertEqual([(d.transport, d.sipStatus) for d in status.delivery], [("tls", 200)])
        self.assertEqual(self.https.wait_request(rid).path, "/tls")
        self.assertExit(ua, 0)
        self.assertEqual(ua.wait_event("notify", request_id=rid)["transport"], "tls")

    def test_tls_registrar_with_an_unknown_certificate_is_refused(self):
        other = Pki(self.workdir / "other-pki")
        ua = self.ua("untrusting", [
            "--aor", f"sip:{new_user()}@{DOMAIN}", "--registrar",
            f"{LOOPBACK}:{self.beckond.tls_port}", "--transport", "tls", "--register",
            "--ca-file", other.ca, "--exit-after", "registered", "--timeout", "2"], tls=True)
        self.assertExit(ua, 3)  # --timeout before --exit-after
        self.assertEqual(ua.events("registered"), [])
        self.assertEqual(ua.events("exit")[-1]["reason"], "timeout")

    def test_untrusted_server_is_answered_but_not_called(self):
        ua, instance, _ = self.device("udp", "--timeout", "8")
        rid = self.request_id()
        status = self.zeep().service.ContactMe(
            deviceId=instance, requestId=rid, server=self.stranger.hostport, protocol="http",
            path="/steal", waitMs=5000)
        self.assertEqual(status.state, "delivered")  # the device answered 200
        notify = ua.wait_event("notify", request_id=rid)
        self.assertEqual((notify["answered"], notify["action"]), (200, "ignored"))
        self.assertIn("not trusted", notify["reason"])
        time.sleep(1.0)
        self.assertEqual(self.stranger.received(), [])
        self.assertEqual(ua.events("callback"), [])

    def test_alternates_in_order_when_the_server_is_down_untrusted_ones_skipped(self):
        down = harness.free_port(udp=False, tcp=True)  # nobody listens there
        ua, instance, _ = self.device("udp", "--trust", f"{LOOPBACK}:{down}")
        rid = self.request_id()
        status = self.zeep().service.ContactMe(
            deviceId=instance, requestId=rid, server=f"{LOOPBACK}:{down}", protocol="http",
            path="/alt", alternateServer=[self.stranger.hostport, self.http.hostport],
            waitMs=5000)
        self.assertEqual(status.state, "delivered")
        self.assertEqual(self.http.wait_request(rid).path, "/alt")
        self.assertExit(ua, 0)
        notify = ua.wait_event("notify", request_id=rid)
        self.assertEqual(notify["untrusted_alt_servers"], [self.stranger.hostport])
        callback = ua.wait_event("callback", request_id=rid)
        self.assertEqual([(a["url"], a["status"]) for a in callback["attempts"]],
                         [(f"http://{LOOPBACK}:{down}/alt", 0),
                          (f"http://{self.http.hostport}/alt", 200)])
        self.assertEqual(self.stranger.received(rid), [])

    def test_a_notify_not_from_the_registrar_is_refused(self):
        ua, instance, registered = self.device("udp", "--timeout", "8")
        rid = self.request_id()
        body = (f"state: pending\r\nrequest-id: {rid}\r\nserver: {self.http.hostport}\r\n"
                "protocol: http\r\npath: /forged\r\n").encode()
        forged = (f"NOTIFY {registered['contact']} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP {LOOPBACK}:9;rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
                  f"From: <sip:beckon@{DOMAIN}>;tag=f1\r\nTo: <sip:x@{DOMAIN}>\r\n"
                  f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 NOTIFY\r\nMax-Forwards: 70\r\n"
                  f"Event: {PACKAGE}\r\nSubscription-State: active;expires=60\r\n"
                  f"Contact: <sip:{LOOPBACK}:9>\r\n"
                  f"Content-Type: application/{PACKAGE}\r\nContent-Length: {len(body)}\r\n\r\n"
                  ).encode() + body
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((LOOPBACK, 0))
            s.settimeout(5)
            s.sendto(forged, (LOOPBACK, ua.port))
            answer = b""
            deadline = time.monotonic() + 5
            while not answer.startswith(b"SIP/2.0 4") and time.monotonic() < deadline:
                answer = s.recv(65536)  # a 100 Trying may come first
        self.assertTrue(answer.startswith(b"SIP/2.0 403 "), answer)
        notify = ua.wait_event("notify", action="refused")
        self.assertEqual(notify["answered"], 403)
        self.assertRegex(notify["reason"], r"^not from the registrar \(from 127\.0\.0\.1:[0-9]+\)$")
        time.sleep(0.5)
        self.assertEqual(self.http.received(rid), [])

    def test_explicit_subscribe(self):
        user = new_user()
        instance = f"urn:uuid:{uuid.uuid4()}"
        ua = self.ua("subscriber", [
            "--aor", f"sip:{user}@{DOMAIN}", "--instance", instance,
            "--registrar", f"{LOOPBACK}:{self.beckond.sip_port}", "--transport", "tcp",
            "--subscribe", "--expires", "120", "--trust", self.http.hostport,
            "--exit-after", "callback"])
        subscribed = ua.wait_event("subscribed")
        self.assertEqual((subscribed["status"], subscribed["expires"]), (200, 120))
        idle = ua.wait_event("notify", state="idle")
        self.assertEqual((idle["subscription"], idle["answered"], idle["action"]),
                         ("explicit", 200, "none"))
        rid = self.request_id()
        status = self.zeep().service.ContactMe(
            deviceId=instance, requestId=rid, server=self.http.hostport, protocol="http",
            path="/subscribed", waitMs=5000)
        self.assertEqual(status.state, "delivered")
        self.assertEqual(self.http.wait_request(rid).path, "/subscribed")
        self.assertExit(ua, 0)
        self.assertEqual(ua.wait_event("notify", request_id=rid)["subscription"], "explicit")
        # leaving: un-SUBSCRIBE, and beckond's final NOTIFY
        self.assertEqual(ua.wait_event("unsubscribed")["status"], 200)
        self.assertEqual(ua.wait_event("subscription-terminated")["reason"], "timeout")


class DigestRegistration(UaTestCase):
    """beckond with [sip.auth] on its defaults (one MD5 challenge for a user
    with both HA1s): beckon-ua answers the challenge of REGISTER and of
    SUBSCRIBE (also its un-SUBSCRIBE); a wrong password is a 403 and exit
    status 1."""

    USER, PASSWORD, REALM = "7546650001", "secret", "phones"

    @classmethod
    def make_beckond(cls, workdir):
        def ha1(hash_name):
            return hashlib.new(hash_name, f"{cls.USER}:{cls.REALM}:{cls.PASSWORD}".encode()).hexdigest()

        return ConfiguredBeckond(workdir, extra_toml=(
            f'[sip.auth]\nrealm = "{cls.REALM}"\n\n[[sip.auth.user]]\nuser = "{cls.USER}"\n'
            f'ha1_md5 = "{ha1("md5")}"\nha1_sha256 = "{ha1("sha256")}"\n'))

    def args(self, password: str, *extra: str) -> list[str]:
        return ["--aor", f"sip:{self.USER}@{DOMAIN}",
                "--registrar", f"{LOOPBACK}:{self.beckond.sip_port}", "--transport", "tcp",
                "--auth-user", self.USER, "--password", password, *extra]

    def test_register_and_subscribe_with_credentials(self):
        ua = self.ua("register", self.args(self.PASSWORD, "--register", "--exit-after",
                                           "registered"))
        self.assertExit(ua, 0)
        self.assertEqual(ua.wait_event("registered")["status"], 200)
        self.assertEqual(ua.wait_event("unregistered")["status"], 200)
        ua = self.ua("subscribe", self.args(self.PASSWORD, "--subscribe", "--exit-after",
                                            "notify"))
        self.assertExit(ua, 0)
        self.assertEqual(ua.wait_event("subscribed")["status"], 200)
        self.assertEqual(ua.wait_event("unsubscribed")["status"], 200)

    def test_wrong_password(self):
        ua = self.ua("wrong", self.args("not-it", "--register", "--exit-after", "registered"))
        self.assertExit(ua, 1)
        self.assertEqual(ua.wait_event("register-failed")["status"], 403)
        self.assertEqual(ua.events("registered"), [])


class ProxiedCallWithDigest(UaTestCase):
    """beckon-ua registers and calls through beckond's proxy with [sip.auth]
    on its defaults and proxy.authenticate: one MD5 challenge for a user
    with both HA1s (offer = "per-user"), which nua's own digest client
    answers (the 407 of the INVITE; REGISTER: also nua's)."""

    REALM = "phones"
    CALLER, CALLEE, PASSWORD = "7546650011", "7546650012", "secret"
    OFFER: str | None = None           # [sip.auth] offer; None: the default
    ALGORITHM, CLIENT = "MD5", "nua"   # what answers the challenges

    @classmethod
    def make_beckond(cls, workdir):
        def user(name):
            ha1 = {h: hashlib.new(h, f"{name}:{cls.REALM}:{cls.PASSWORD}".encode()).hexdigest()
                   for h in ("md5", "sha256")}
            return (f'[[sip.auth.user]]\nuser = "{name}"\nha1_md5 = "{ha1["md5"]}"\n'
                    f'ha1_sha256 = "{ha1["sha256"]}"\n')

        offer = f'offer = "{cls.OFFER}"\n' if cls.OFFER else ""
        return ConfiguredBeckond(workdir, extra_toml=(
            f'[sip.auth]\nrealm = "{cls.REALM}"\n{offer}\n'
            f'{user(cls.CALLER)}\n{user(cls.CALLEE)}\n[proxy]\nauthenticate = true\n'))

    def test_the_caller_answers_the_407_and_the_call_is_established(self):
        registrar = f"{LOOPBACK}:{self.beckond.sip_port}"
        callee = self.ua("callee", ["--aor", f"sip:{self.CALLEE}@{DOMAIN}", "--registrar",
                                    registrar, "--register", "--auth-user", self.CALLEE,
                                    "--password", self.PASSWORD, "--answer", "0",
                                    "--exit-after", "call-ended"])
        self.assertEqual(callee.wait_event("registered")["status"], 200)
        caller = self.ua("caller", ["--aor", f"sip:{self.CALLER}@{DOMAIN}", "--proxy", registrar,
                                    "--auth-user", self.CALLER, "--password", self.PASSWORD,
                                    "--call", f"sip:{self.CALLEE}@{DOMAIN}",
                                    "--hangup-after", "0.3", "--exit-after", "call-ended"])
        self.assertExit(caller, 0)
        self.assertExit(callee, 0)
        self.assertEqual(caller.events("error"), [])
        out_est = caller.wait_event("call-established")
        self.assertEqual(out_est["call_id"], callee.wait_event("call-established")["call_id"])
        self.assertEqual(caller.wait_event("call-ended")["reason"], "bye")
        # which challenge was answered, by which digest client
        auth = [(e["method"], e["status"], e["realm"], e["algorithm"])
                for e in caller.events("auth")]
        self.assertEqual(auth, [("INVITE", 407, self.REALM, self.ALGORITHM)], caller.report())
        self.assertEqual([e["client"] for e in caller.events("auth")], [self.CLIENT])
        auth = [(e["method"], e["status"], e["algorithm"]) for e in callee.events("auth")]
        self.assertEqual(auth[0], ("REGISTER", 401, self.ALGORITHM), callee.report())


class ProxiedCallBothChallenges(ProxiedCallWithDigest):
    """offer = "all": each 401/407 carries MD5 then SHA-256 (RFC 8760).
    nua's client (Sofia-SIP 1.12.11) gives up on that list; beckon-ua
    answers the strongest, SHA-256, with its own: REGISTER at once, and the
    INVITE placed again once nua has ended the refused one."""

    OFFER = "all"
    ALGORITHM, CLIENT = "SHA-256", "beckon-ua"


class Calls(UaTestCase):
    """Calls without beckond: two beckon-ua, and beckon-ua with SIPp."""

    uses_beckond = False

    def test_call_placed_answered_reinvited_and_ended(self):
        callee = self.ua("callee", ["--answer", "100", "--exit-after", "call-ended"])
        callee.wait_event("started")
        caller = self.ua("caller", ["--call", callee.uri, "--reinvite-after", "0.2",
                                    "--hangup-after", "0.6", "--exit-after", "call-ended"])
        self.assertExit(caller, 0)
        self.assertExit(callee, 0)
        self.assertEqual(caller.wait_event("call-ringing")["status"], 180)
        out_est = caller.wait_event("call-established")
        in_est = callee.wait_event("call-established")
        self.assertEqual((out_est["direction"], out_est["codec"]), ("outgoing", "PCMU/8000"))
        self.assertEqual((in_est["direction"], in_est["codec"]), ("incoming", "PCMU/8000"))
        self.assertEqual(out_est["call_id"], in_est["call_id"])
        self.assertEqual(caller.wait_event("call-reinvite")["status"], 200)
        self.assertEqual(callee.wait_event("call-reinvite", by="remote")["status"], 200)
        out_end, in_end = caller.wait_event("call-ended"), callee.wait_event("call-ended")
        self.assertEqual((out_end["reason"], out_end["by"], out_end["established"]),
                         ("bye", "local", True))
        self.assertEqual((in_end["reason"], in_end["by"]), ("bye", "remote"))

    def test_call_rejected_with_486(self):
        callee = self.ua("callee", ["--reject", "486", "--exit-after", "call-ended"])
        callee.wait_event("started")
        caller = self.ua("caller", ["--call", callee.uri, "--exit-after", "call-ended"])
        self.assertExit(caller, 0)
        self.assertExit(callee, 0)
        out_end, in_end = caller.wait_event("call-ended"), callee.wait_event("call-ended")
        self.assertEqual((out_end["status"], out_end["reason"], out_end["by"],
                          out_end["established"]), (486, "rejected", "remote", False))
        self.assertEqual((in_end["status"], in_end["reason"], in_end["by"]),
                         (486, "rejected", "local"))
        self.assertEqual(caller.events("call-established"), [])

    def test_caller_gives_up_and_the_ringing_callee_sees_the_cancel(self):
        callee = self.ua("callee", ["--exit-after", "call-ended"])  # rings, never answers
        callee.wait_event("started")
        caller = self.ua("caller", ["--call", callee.uri, "--timeout", "1"])
        self.assertExit(caller, 0)  # --timeout without --exit-after is the run's end
        self.assertExit(callee, 0)
        self.assertEqual(caller.wait_event("call-ended")["reason"], "cancelled")
        in_end = callee.wait_event("call-ended")
        self.assertEqual((in_end["status"], in_end["reason"], in_end["by"]),
                         (487, "cancelled", "remote"))

    def test_calls_with_sipp(self):
        # beckon-ua calls a SIPp callee (scenarios/ua_uas.xml: it checks the
        # SDP offer, answers PCMA) and hangs up; at the same time SIPp's
        # built-in UAC calls another beckon-ua, which answers; SIPp hangs up.
        uas = harness.Sipp(self.workdir, "uas", "ua_uas.xml", None)
        self.sipps.append(uas)
        uas.start()
        uas.wait_listening()
        caller = self.ua("to-sipp", ["--call", f"sip:service@{LOOPBACK}:{uas.port}",
                                     "--hangup-after", "0.3", "--exit-after", "call-ended"])
        callee = self.ua("from-sipp", ["--answer", "0", "--exit-after", "call-ended"])
        callee.wait_event("started")
        uac = BuiltinSipp(self.workdir, "uac", "uac", callee.port)
        self.sipps.append(uac)
        uac.start()

        self.assertExit(caller, 0)
        self.assertEqual(uas.wait(15), 0, uas.report())
        self.assertEqual(caller.wait_event("call-established")["codec"], "PCMA/8000")
        end = caller.wait_event("call-ended")
        self.assertEqual((end["reason"], end["by"], end["established"]), ("bye", "local", True))

        self.assertEqual(uac.wait(15), 0, uac.report())
        self.assertExit(callee, 0)
        end = callee.wait_event("call-ended")
        self.assertEqual((end["reason"], end["by"], end["established"]), ("bye", "remote", True))

if __name__ == "__main__":
    unittest.main()
