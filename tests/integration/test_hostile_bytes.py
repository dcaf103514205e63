"""Bytes that are not UTF-8 in every field beckond stores or logs (issue 16).

SIP is bytes (RFC 3261 25.1 allows any octet in many places): one REGISTER
whose Path held \\xc3\\x28 ended beckond (nlohmann's dump() threw). Here each
stored or logged field carries bytes that are not UTF-8, over UDP and TCP,
against one beckond on its defaults:

- REGISTER: Path, the Contact URI, a Contact parameter, +sip.instance,
  reg-id, User-Agent, Call-ID, the From and To tags, Accept; SUBSCRIBE: the
  Event id and Accept. Each gets an answer (what RFC 3261 says for it: 200,
  or 400 for what Sofia's parser refuses), never a crash.
- Afterwards the same process serves: /metrics counts no exception caught,
  and a device still registers and gets its ContactMe NOTIFY.
- A restart reads the store back: every binding that got 200 is listed
  again, byte for byte as the device wrote it, in the answer to a query
  REGISTER; the log is UTF-8 throughout (bad bytes as \\xNN).
- With [sip.auth]: the same bytes in every digest field of Authorization
  get a 4xx answer, and the log stays UTF-8.

The devices are raw sockets (bytes in, bytes out). Bounded in time; every
process is stopped. Run with /usr/bin/python3.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import sqlite3
import unittest
import urllib.request
import uuid

import devices
from harness import DOMAIN, LOOPBACK, BeckondTestCase
from raw_sip import RawDevice, contact_header, status_of

BAD = [b"\xc3\x28", b"\xff\xfe", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82", b"\xf4\x90\x80\x80"]
PACKAGE = b"application-server-contact-me"


def bad(i: int) -> bytes:
    return BAD[i % len(BAD)]


def register_headers(user: bytes, field: str, b: bytes, call_id: bytes) -> list[bytes]:
    """A REGISTER for `user` with the bytes `b` in `field`."""
    aor = b"<sip:" + user + b"@" + DOMAIN.encode() + b">"
    contact_uri = b"sip:" + user + b"@127.0.0.2:5999"
    params = b""
    from_tag, to_tag = os.urandom(4).hex().encode(), b""
    extra: list[bytes] = []
    if field == "contact_user":
        contact_uri = b"sip:" + user + b + b"@127.0.0.2:5999"
    elif field == "contact_uri_param":
        contact_uri += b";x=" + b
    elif field == "contact_param":
        params = b";foo=" + b
    elif field == "instance":
        params = b';+sip.instance="<urn:uuid:' + b + b'>";reg-id=1'
        extra.append(b"Supported: outbound")
    elif field == "reg_id":
        params = b';+sip.instance="<urn:uuid:' + uuid.uuid4().hex.encode() + b'>";reg-id=' + b
    elif field == "path":
        extra += [b"Supported: path", b"Path: <sip:" + b + b"@127.0.0.1:5999;lr>"]
    elif field == "user_agent":
        extra.append(b"User-Agent: phone " + b)
    elif field == "call_id":
        call_id = call_id + b
    elif field == "from_tag":
        from_tag = b
    elif field == "to_tag":
        to_tag = b";tag=" + b
    elif field == "accept":
        extra.append(b"Accept: application/" + b)
    return [b"From: " + aor + b";tag=" + from_tag, b"To: " + aor + to_tag, b"Call-ID: " + call_id,
            b"Contact: <" + contact_uri + b">" + params, b"Expires: 600"] + extra


REGISTER_FIELDS = ["path", "contact_user", "contact_uri_param", "contact_param", "instance",
                   "reg_id", "user_agent", "call_id", "from_tag", "to_tag", "accept"]


class HostileTestCase(BeckondTestCase):

    def metrics(self) -> str:
        url = f"http://{LOOPBACK}:{self.beckond.soap_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()

    def assertNothingCaught(self):
        caught = [line for line in self.metrics().splitlines()
                  if line.startswith("beckon_exceptions_caught_total") and not line.endswith(" 0")]
        self.assertEqual(caught, [], "exceptions were caught: " + "\n".join(caught))

    def assertLogIsUtf8(self):
        raw = self.beckond.log_path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail(f"beckond's log is not UTF-8: {e}: {raw[max(0, e.start - 80):e.end + 20]!r}")

    def assertAlive(self):
        self.assertIsNone(self.beckond.proc.poll(), self.beckond.log()[-3000:])

    def assertStillServes(self):
        """A fresh device registers over TCP and gets its ContactMe."""
        device = RawDevice(self.beckond.sip_port, "tcp")
        self.addCleanup(device.close)
        user = b"fresh" + os.urandom(3).hex().encode()
        instance = f"urn:uuid:{uuid.uuid4()}"
        headers = register_headers(user, "", b"", os.urandom(6).hex().encode())
        headers[3] += b';+sip.instance="<' + instance.encode() + b'>"'
        headers.append(b"Accept: application/" + PACKAGE)
        self.assertEqual(status_of(device.request(b"REGISTER", headers)), 200)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            request_id = "fresh-" + os.urandom(3).hex()
            answer = pool.submit(self.zeep().service.ContactMe, deviceId=instance,
                                 requestId=request_id, server="crm.example.com", waitMs=8000)
            notify = device.wait_notify()
            status = answer.result(timeout=20)
        self.assertIn(b"request-id: " + request_id.encode(), notify)
        self.assertEqual(status.state, "delivered", status)


class HostileBytes(HostileTestCase):

    def test_every_stored_field_over_udp_and_tcp_then_a_restart(self):
        stored: dict[bytes, bytes] = {}  # user -> the Contact fields its 200 listed
        answers: dict[str, int] = {}
        for transport in ("udp", "tcp"):
            for i, field in enumerate(REGISTER_FIELDS):
                device = RawDevice(self.beckond.sip_port, transport)
                self.addCleanup(device.close)
                user = f"h{transport}{i}".encode()
                b = bad(i)
                answer = device.request(b"REGISTER", register_headers(
                    user, field, b, os.urandom(6).hex().encode() + b"@h"))
                status = status_of(answer)
                answers[f"{transport}/{field}"] = status
                self.assertTrue(status == 200 or 400 <= status < 500,
                                f"{transport} {field}: {answer!r}\n{self.beckond.log()[-3000:]}")
                if status == 200:
                    stored[user] = contact_header(answer)
            # SUBSCRIBE: the Event id and Accept.
            for j, (event, accept) in enumerate([(PACKAGE + b";id=" + bad(0), PACKAGE),
                                                 (PACKAGE, b"application/" + bad(1))]):
                device = RawDevice(self.beckond.sip_port, transport)
                self.addCleanup(device.close)
                user = f"s{transport}{j}".encode()
                aor = b"<sip:" + user + b"@" + DOMAIN.encode() + b">"
                answer = device.request(b"SUBSCRIBE", [
                    b"From: " + aor + b";tag=" + os.urandom(4).hex().encode(), b"To: " + aor,
                    b"Call-ID: " + os.urandom(6).hex().encode(),
                    b"Contact: <sip:" + user + b"@127.0.0.2:5999>", b"Event: " + event,
                    b"Accept: " + accept, b"Expires: 600"], ruri=b"sip:" + user + b"@" + DOMAIN.encode())
                status = status_of(answer)
                answers[f"{transport}/subscribe{j}"] = status
                self.assertTrue(status in (200, 202) or 400 <= status < 500, f"{answer!r}")
        # Most of them must have been taken: the bytes are stored, not refused.
        self.assertGreaterEqual(len(stored), len(REGISTER_FIELDS), answers)
        self.assertAlive()
        self.assertNothingCaught()
        self.assertStillServes()

        self.assertEqual(self.beckond.stop(), 0, self.beckond.log()[-3000:])
        # The Path as the device sent it, in the store (a NOTIFY's Route).
        db = sqlite3.connect(f"file:{self.beckond.store_path}?mode=ro", uri=True)
        try:
            rows = {aor: path for aor, path in db.execute("SELECT aor, path FROM bindings")}
        finally:
            db.close()
        for transport in ("udp", "tcp"):
            path = json.loads(rows[f"sip:h{transport}0@{DOMAIN}"])
            self.assertEqual(bytes(path[0]["bytes"]), b"<sip:" + bad(0) + b"@127.0.0.1:5999;lr>")
        self.zeep().transport.session.close()
        type(self)._zeep = None
        self.beckond.start()
        query = RawDevice(self.beckond.sip_port, "udp")
        self.addCleanup(query.close)
        for user, listed in stored.items():
            aor = b"<sip:" + user + b"@" + DOMAIN.encode() + b">"
            answer = query.request(b"REGISTER", [b"From: " + aor + b";tag=q", b"To: " + aor,
                                                 b"Call-ID: query-" + user])
            self.assertEqual(status_of(answer), 200, answer)
            self.assertEqual(contact_header(answer), listed, f"{user!r} after the restart")
        self.assertNothingCaught()
        self.assertStillServes()
        self.assertLogIsUtf8()


class HostileDigest(HostileTestCase):

    @classmethod
    def make_beckond(cls, workdir):
        return devices.ConfiguredBeckond(workdir, extra_toml=(
            '[sip.auth]\nrealm = "example.com"\n[[sip.auth.user]]\nuser = "7546658000"\n'
            'ha1_md5 = "' + __import__("hashlib").md5(b"7546658000:example.com:secret").hexdigest()
            + '"\n'))

    def test_every_digest_field_gets_an_answer_and_the_log_stays_utf8(self):
        fields = ["username", "realm", "nonce", "uri", "response", "cnonce", "nc", "opaque",
                  "algorithm", "qop"]
        for transport in ("udp", "tcp"):
            for i, name in enumerate(fields):
                values = {"username": b'"7546658000"', "realm": b'"example.com"',
                          "nonce": b'"abc"', "uri": b'"sip:example.com"',
                          "response": b'"' + b"0" * 32 + b'"', "cnonce": b'"c"', "nc": b"00000001",
                          "opaque": b'"o"', "algorithm": b"MD5", "qop": b"auth"}
                quoted = values[name].startswith(b'"')
                values[name] = (b'"x' + bad(i) + b'"') if quoted else (b"x" + bad(i))
                auth = b"Digest " + b", ".join(k.encode() + b"=" + v for k, v in values.items())
                device = RawDevice(self.beckond.sip_port, transport)
                self.addCleanup(device.close)
                aor = b"<sip:7546658000@" + DOMAIN.encode() + b">"
                answer = device.request(b"REGISTER", [
                    b"From: " + aor + b";tag=" + os.urandom(4).hex().encode(), b"To: " + aor,
                    b"Call-ID: " + os.urandom(6).hex().encode(),
                    b"Contact: <sip:7546658000@127.0.0.2:5999>", b"Authorization: " + auth])
                status = status_of(answer)
                self.assertTrue(400 <= status < 500, f"{transport} {name}: {answer!r}")
        self.assertAlive()
        self.assertNothingCaught()
        self.assertLogIsUtf8()


if __name__ == "__main__":
    unittest.main()
