"""RFC 4475 (SIP torture test messages) against beckond started for real.

All 49 messages of RFC 4475, byte for byte from tests/data/rfc4475/, are
sent over UDP (one datagram each, from a socket of its own) and over TCP (a
connection each). The topmost Via's transport is set to the one the message
travels over, as its sender's would be: nta drops a request whose Via names
another transport, and many of the RFC's messages were written for TCP.

What each message must get is what its section of the RFC says (EXPECTED
below, with the RFC's words): the valid ones are handled (beckond answers
what it answers to any such request: 200 to an OPTIONS for itself and to a
REGISTER for example.com; every other request goes to its proxy, RFC 3261
section 16: 404 for a domain that is not beckond's or a user without a
binding, and for sip:user@example.com, which the RFC's own REGISTERs bind
to flows that are gone by then, 430 or a forwarded request),
the invalid ones get 400 or are dropped, or are taken liberally where the
RFC allows it, and the responses among them are dropped. Where beckond
cannot do what the RFC says, KNOWN_GAPS says why.

Throughout, a device stays registered: after each transport's batch a
ContactMe reaches it with a NOTIFY, and beckond is still running.

A REGISTER with a header Sofia could not parse (Contact parameters, Path,
Accept) gets 400 and registers nothing. STUN Binding requests on the SIP port
are answered by beckond's own responder; malformed ones are dropped. Further hostile Via headers: an answer never goes to a Via maddr (not to a
third party), and a malformed request whose Via names a host by name (over
another transport) does not make beckond look the name up.
"""

from __future__ import annotations

import concurrent.futures
import re
import socket
import struct
import time
import unittest
import uuid
from pathlib import Path

from harness import LOOPBACK, BeckondTestCase, new_user
from test_outbound import SockDevice, request_id_of

DATA = Path(__file__).resolve().parent.parent / "data" / "rfc4475"
DROP = None  # no answer at all

# What beckond's proxy answers (docs/proxy.md): a domain that is not
# example.com, 404 (relaying is off); a user of example.com without a
# binding, 404.
FOREIGN = {404}
NO_BINDING = {404}
# sip:user@example.com: the RFC's own REGISTERs (regbadct, regescrt) bind it
# to flows that have closed by the time: before any binding 404; a closed
# TCP flow 430 (RFC 5626 5.3); over a UDP flow whose socket is gone the
# request is forwarded (100 Trying from nta after 200 ms, or nothing yet).
USER_AT_EXAMPLE = {404, 430, 100, DROP}

# name -> (RFC section, acceptable answers over UDP, over TCP, the RFC's words)
EXPECTED: dict[str, tuple[str, set, set, str]] = {
    # 3.1.1 valid messages: parsed and handled
    "wsinv": ("3.1.1.1", FOREIGN, FOREIGN, "a short tortuous INVITE: parsed, for another domain"),
    "esc01": ("3.1.1.3", FOREIGN, FOREIGN, "valid % escapes: an INVITE for example.net"),
    "escnull": ("3.1.1.4", {200}, {200}, "escaped nulls: registers two distinct contacts"),
    "esc02": ("3.1.1.5", FOREIGN, FOREIGN, "% not an escape in a method: a proxy forwards an"
                                              " unknown method; this one is for another domain"),
    "lwsdisp": ("3.1.1.6", USER_AT_EXAMPLE, USER_AT_EXAMPLE, "no LWS between display name and <:"
                                                             " accepted"),
    "longreq": ("3.1.1.7", USER_AT_EXAMPLE, USER_AT_EXAMPLE, "long values in header fields: an INVITE"),
    "dblreq": ("3.1.1.8", {200}, {200}, "extra octets after a REGISTER: the REGISTER is handled"),
    "semiuri": ("3.1.1.9", NO_BINDING, NO_BINDING, "semicolons in the user part: accepted"),
    "transports": ("3.1.1.10", USER_AT_EXAMPLE, USER_AT_EXAMPLE, "varied and unknown transports: accepted"),
    "mpart01": ("3.1.1.11", FOREIGN, FOREIGN, "multipart MIME: a MESSAGE for example.org"),
    "unreason": ("3.1.1.12", {DROP}, {DROP}, "a 200 response: no transaction, dropped"),
    "noreason": ("3.1.1.13", {DROP}, {DROP}, "a response without reason phrase: dropped"),
    # 3.1.2 invalid messages: 400, dropped, or taken liberally where the RFC allows
    "badinv01": ("3.1.2.1", {400, DROP}, {400, DROP}, "extraneous separators: 400"),
    "clerr": ("3.1.2.2", {400}, {DROP}, "Content-Length too large: 400 over UDP; TCP waits for the body"),
    "ncl": ("3.1.2.3", {400, DROP}, {400, DROP}, "negative Content-Length: an error, or discard"),
    "scalar02": ("3.1.2.4", {400}, {400}, "overlarge scalar values: 400 for the CSeq"),
    "scalarlg": ("3.1.2.5", {DROP}, {DROP}, "a response with overlarge values: discarded"),
    "quotbal": ("3.1.2.6", {400}, {400}, "unterminated quoted string: 400"),
    "ltgtruri": ("3.1.2.7", {400, 405}, {400, 405}, "<> around the Request-URI: 400, or liberal"),
    "lwsruri": ("3.1.2.8", {400, DROP}, {400, DROP}, "LWS in the Request-URI: 400"),
    "lwsstart": ("3.1.2.9", {400} | USER_AT_EXAMPLE, {400} | USER_AT_EXAMPLE,
                 "multiple SP in the request line: reject or liberal"),
    "trws": ("3.1.2.10", {400} | NO_BINDING, {400} | NO_BINDING,
             "SP at the end of the request line: reject or liberal"),
    "escruri": ("3.1.2.11", {400} | USER_AT_EXAMPLE, {400} | USER_AT_EXAMPLE,
                "escaped headers in the Request-URI: 400 or ignore them"),
    "baddate": ("3.1.2.12", {400} | USER_AT_EXAMPLE, {400} | USER_AT_EXAMPLE,
                "non-GMT Date: reject, or ignore an unused Date"),
    "regbadct": ("3.1.2.13", {400, 200}, {400, 200}, "Contact with ? not in <>: 400, or infer the <>"),
    "badaspec": ("3.1.2.14", {400} | FOREIGN, {400} | FOREIGN, "spaces in an addr-spec: 400, or"
                                                                 " ignore them (for example.org)"),
    "baddn": ("3.1.2.15", {400, 200}, {400, 200, DROP}, "non-token display name: 400, or liberal"),
    "badvers": ("3.1.2.16", {505, DROP}, {505}, "SIP/7.0: 505 Version Not Supported"),
    "mismatch01": ("3.1.2.17", {400}, {400}, "method and CSeq method differ: 400"),
    "mismatch02": ("3.1.2.18", {501, 400}, {501, 400}, "unknown method, CSeq mismatch: 501 or 400"),
    "bigcode": ("3.1.2.19", {DROP}, {DROP}, "a response with status > 699: dropped"),
    # 3.2 transaction layer
    "badbranch": ("3.2.1", {400} | USER_AT_EXAMPLE, {400} | USER_AT_EXAMPLE,
                  "branch z9hG4bK alone: 400, or RFC 2543 matching"),
    # 3.3 application layer
    "insuf": ("3.3.1", {400}, {400}, "no Call-ID, From, To: 400"),
    "unkscm": ("3.3.2", {416}, {416}, "unknown Request-URI scheme: 416"),
    "novelsc": ("3.3.3", {416, 404}, {416, 404}, "atypical Request-URI scheme: 416 (or 404)"),
    "unksm2": ("3.3.4", {400}, {400}, "a registrar rejects a non-SIP To with 400"),
    "bext01": ("3.3.5", {420}, {420}, "Proxy-Require of unknown extensions: 420 with Unsupported"),
    "invut": ("3.3.6", USER_AT_EXAMPLE, USER_AT_EXAMPLE, "unknown Content-Type: an INVITE (a proxy"
                                                         " leaves bodies to the callee)"),
    "regaut01": ("3.3.7", {200}, {200}, "unknown Authorization scheme: ignored without [sip.auth]"),
    "multi01": ("3.3.8", {400}, {400}, "several values in single-value fields: 400"),
    "mcl01": ("3.3.9", {400, DROP}, {400, DROP}, "several Content-Length values: 400 or discard"),
    "bcast": ("3.3.10", {DROP}, {DROP}, "a 200 with a broadcast Via: an endpoint discards it"),
    "zeromf": ("3.3.11", {200}, {200}, "Max-Forwards 0 to an endpoint: processed"),
    "cparam01": ("3.3.12", {200}, {200}, "unknownparam is a contact-param: registered"),
    "cparam02": ("3.3.13", {200}, {200}, "unknownparam is a URI parameter: registered with it"),
    "regescrt": ("3.3.14", {200}, {200}, "escaped header in a Contact URI: registered with it"),
    "sdp01": ("3.3.15", USER_AT_EXAMPLE, USER_AT_EXAMPLE, "unacceptable Accept: an INVITE (for the"
                                                          " callee to refuse)"),
    # 3.4 backward compatibility
    "inv2543": ("3.4.1", NO_BINDING, {400}, "RFC 2543 INVITE: accepted over UDP; over TCP it has no"
                                       " Content-Length, which RFC 3261 18.3 requires on streams"),
}

# Where beckond cannot do what the RFC says (Sofia-SIP's parser, or where
# Sofia sends an answer), asserted as it is so that a change is noticed.
KNOWN_GAPS: dict[str, tuple[str, set, set, str]] = {
    "intmeth": ("3.1.1.2", {DROP}, {DROP},
                "valid, but Sofia-SIP 1.12.11 cannot parse its method token nor its To header"
                " (quoted-pair escapes of control characters): dropped as garbage"),
}

# badvers over UDP: nta answers 505 before it looks at the Via, so at the
# Via's host, c.example.com, which beckond does not look up (no DNS on the
# SIP thread): the 505 is not sent. Over TCP it goes back on the connection.


def over_transport(raw: bytes, transport: str) -> bytes:
    """The message with its topmost Via's transport set to `transport`."""
    return re.sub(rb"(SIP\s*/\s*2\.0\s*/\s*)[A-Za-z]+", rb"\g<1>" + transport.encode(), raw,
                  count=1)


def status_lines(data: bytes) -> list[str]:
    return [m.decode(errors="replace") for m in re.findall(rb"(?m)^SIP/2\.0 [0-9]+[^\r\n]*", data)]


def code_of(line: str) -> int:
    return int(line.split(" ")[1])


class TortureTest(BeckondTestCase):
    """One beckond; a UDP device registered with it for the whole class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.device = SockDevice("udp", (LOOPBACK, cls.beckond.sip_port), new_user(),
                                f"urn:uuid:{uuid.uuid4()}")
        ok = cls.device.register(contact_params=f';+sip.instance="<{cls.device.instance}>"')
        assert ok.first_line == "SIP/2.0 200 OK", ok.raw
        cls.messages = {p.stem: p.read_bytes() for p in sorted(DATA.glob("*.dat"))}

    @classmethod
    def tearDownClass(cls):
        cls.device.close()
        super().tearDownClass()

    # sending

    def options(self, transport: str, port: int, call_id: str) -> bytes:
        return (f"OPTIONS sip:{LOOPBACK} SIP/2.0\r\n"
                f"Via: SIP/2.0/{transport} {LOOPBACK}:{port};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:torture@example.com>;tag=t\r\n"
                f"To: <sip:{LOOPBACK}>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n"
                f"Content-Length: 0\r\n\r\n").encode()

    def send_udp(self, raw: bytes) -> list[str]:
        """One datagram from a socket of its own; then an OPTIONS from the
        same socket. Every answer that is not the OPTIONS' 200 is the
        message's; they may come in either order (a REGISTER is answered once
        its binding is stored), so after the OPTIONS' answer the message's
        gets 0.5 s more."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LOOPBACK, 0))
        try:
            call_id = f"sync-{uuid.uuid4().hex}"
            s.sendto(raw, (LOOPBACK, self.beckond.sip_port))
            s.sendto(self.options("UDP", s.getsockname()[1], call_id),
                     (LOOPBACK, self.beckond.sip_port))
            answers = []
            synced = False
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data = s.recv(65535)
                except socket.timeout:
                    break
                if call_id.encode() in data:
                    synced = True
                    deadline = min(deadline, time.monotonic() + 0.5)
                else:
                    answers += status_lines(data.split(b"\r\n", 1)[0] + b"\r\n")
                if synced and answers:
                    break
            if not synced:
                self.fail("beckond did not answer an OPTIONS within 5 s after the message")
            return answers
        finally:
            s.close()

    def send_tcp(self, raw: bytes) -> list[str]:
        """One connection: the message, then an OPTIONS on it; the answers
        that are not the OPTIONS' are the message's. Answers may come in
        either order (a REGISTER is answered once its binding is stored), so
        after the OPTIONS' answer the message's gets 0.5 s more. When the
        message leaves the stream unframed (a Content-Length beyond it), the
        OPTIONS is taken as its body and goes unanswered: then whatever came
        within 1 s; when beckond closes the connection (it does after a
        framing error), whatever came before."""
        s = socket.create_connection((LOOPBACK, self.beckond.sip_port), timeout=5)
        try:
            call_id = f"sync-{uuid.uuid4().hex}"
            s.sendall(raw + self.options("TCP", s.getsockname()[1], call_id))
            data = b""
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                if call_id.encode() in data:
                    if len(status_lines(data)) >= 2:
                        break
                    deadline = min(deadline, synced + 0.5)
                s.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = s.recv(65535)
                except (socket.timeout, ConnectionResetError):
                    break
                if not chunk:
                    break
                if call_id.encode() not in data and call_id.encode() in data + chunk:
                    synced = time.monotonic()
                data += chunk
            # Each response on its own; the OPTIONS' own 200 left out.
            parts = re.split(rb"(?m)^(?=SIP/2\.0 [0-9]+)", data)
            return [line for part in parts if call_id.encode() not in part
                    for line in status_lines(part)]
        finally:
            s.close()

    # checks

    def assertServing(self, label: str):
        """A ContactMe reaches the registered device with a NOTIFY."""
        request_id = f"torture-{label}-{uuid.uuid4().hex[:8]}"
        client = self.zeep()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(client.service.ContactMe, deviceId=self.device.instance,
                                 requestId=request_id, waitMs=8000)
            notify = self.device.wait_notify(timeout=10, give_up=answer.done)
            status = answer.result(timeout=30)
        self.assertEqual(request_id_of(notify), request_id, notify.raw)
        self.assertEqual(status.state, "delivered", status)
        self.assertIsNone(self.beckond.proc.poll(), "beckond exited")

    def check(self, name: str, answers: list[str], acceptable: set, why: str, transport: str):
        codes = [code_of(a) for a in answers]
        got = codes[0] if codes else DROP
        self.assertIn(got, acceptable,
                      f"{name} over {transport} ({why}): got {answers or 'no answer'},"
                      f" expected one of {sorted(acceptable, key=str)}")
        # one message, one answer (dblreq over TCP may answer its second request)
        if not (name == "dblreq" and transport == "TCP"):
            self.assertLessEqual(len(codes), 1, f"{name} over {transport}: {answers}")

    def run_batch(self, transport: str):
        results = {}
        for name, raw in self.messages.items():
            table = EXPECTED if name in EXPECTED else KNOWN_GAPS
            self.assertIn(name, table, f"no expectation for {name}")
            section, udp, tcp, why = table[name]
            acceptable = udp if transport == "UDP" else tcp
            message = over_transport(raw, transport)
            with self.subTest(message=name, transport=transport, section=section):
                if transport == "UDP":
                    answers = self.send_udp(message)
                else:
                    answers = self.send_tcp(message)
                results[name] = answers
                self.check(name, answers, acceptable, why, transport)
        return results

    # tests

    def test_every_message_is_known(self):
        self.assertEqual(len(self.messages), 49, sorted(self.messages))
        self.assertEqual(set(self.messages), set(EXPECTED) | set(KNOWN_GAPS))

    def test_over_udp_then_the_device_still_gets_its_notify(self):
        self.run_batch("UDP")
        self.assertServing("udp")

    def test_over_tcp_then_the_device_still_gets_its_notify(self):
        self.run_batch("TCP")
        self.assertServing("tcp")

    def test_registrations_keep_what_the_rfc_says(self):
        """3.1.1.4 two distinct contacts; 3.3.12 unknownparam is no URI
        parameter; 3.3.13 it is one; 3.3.14 the escaped header stays."""
        def contacts_of(name: str) -> list[str]:
            raw = over_transport(self.messages[name], "UDP")
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((LOOPBACK, 0))
            s.settimeout(5)
            try:
                s.sendto(raw, (LOOPBACK, self.beckond.sip_port))
                data = s.recv(65535)
            finally:
                s.close()
            self.assertTrue(data.startswith(b"SIP/2.0 200 "), data)
            head = data.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
            values = [line.split(":", 1)[1] for line in head.split("\r\n")[1:]
                      if line.split(":", 1)[0].strip().lower() in ("contact", "m")]
            return re.findall(r"<([^>]*)>", ",".join(values))

        null = contacts_of("escnull")
        self.assertIn("sip:%00@host5.example.com", null)
        self.assertIn("sip:%00%00@host5.example.com", null)
        # (Both register sip:watson@example.com; the 200 lists every binding of it.)
        self.assertIn("sip:+19725552222@gw1.example.net", contacts_of("cparam01"))
        self.assertIn("sip:+19725552222@gw1.example.net;unknownparam", contacts_of("cparam02"))
        self.assertTrue(any("?Route=%3Csip:sip.example.com%3E" in uri
                            for uri in contacts_of("regescrt")))

    def test_bad_extension_lists_every_unsupported_option(self):
        answers = []
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LOOPBACK, 0))
        s.settimeout(5)
        try:
            s.sendto(over_transport(self.messages["bext01"], "UDP"), (LOOPBACK, self.beckond.sip_port))
            answers.append(s.recv(65535))
        finally:
            s.close()
        head = answers[0].split(b"\r\n\r\n", 1)[0].decode()
        self.assertTrue(head.startswith("SIP/2.0 420 "), head)
        unsupported = ",".join(line.split(":", 1)[1] for line in head.split("\r\n")[1:]
                               if line.split(":", 1)[0].strip().lower() == "unsupported")
        # RFC 4475 3.3.5: "listing these features from either the Require or
        # Proxy-Require header field, depending on the role in which the
        # element is responding": an OPTIONS for a user reaches the proxy,
        # which checks Proxy-Require (RFC 3261 16.3 step 5).
        self.assertEqual({t.strip() for t in unsupported.split(",")},
                         {"noProxiesSupportThis", "norDoAnyProxiesSupportThis"}, head)

    def test_a_register_with_a_header_that_does_not_parse_changes_nothing(self):
        """Sofia lets requests through with headers it could not parse (those
        of registrars and proxies: Contact parameters, Path, Accept): beckond
        answers 400 instead of acting as if they were absent, and registers
        nothing."""
        user = new_user()
        cases = {
            "Contact: <sip:a@127.0.0.2:5999>;expires=abc": "400 Bad Request (Contact expires",
            "Contact: <sip:a@127.0.0.2:5999>;expires=-5": "400 Bad Request (Contact expires",
            "Contact: <sip:a@127.0.0.2:5999>\r\nPath: garbage<": "400 Bad Path Header",
            "Contact: <sip:a@127.0.0.2:5999>\r\nAccept: ;;;": "400 Bad Accept Header",
            "Contact: <sip:a@127.0.0.2:5999": "400 Bad Contact Header",
        }
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LOOPBACK, 0))
        s.settimeout(5)

        def register(headers: str) -> str:
            s.sendto((f"REGISTER sip:example.com SIP/2.0\r\n"
                      f"Via: SIP/2.0/UDP 127.0.0.2:5999;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
                      f"Max-Forwards: 70\r\nFrom: <sip:{user}@example.com>;tag=r\r\n"
                      f"To: <sip:{user}@example.com>\r\nCall-ID: {uuid.uuid4().hex}\r\n"
                      f"CSeq: 1 REGISTER\r\n{headers}Content-Length: 0\r\n\r\n").encode(),
                     (LOOPBACK, self.beckond.sip_port))
            return s.recv(65535).decode(errors="replace")

        try:
            for headers, status in cases.items():
                with self.subTest(headers=headers):
                    answer = register(headers + "\r\n")
                    self.assertTrue(answer.startswith("SIP/2.0 " + status), answer)
            listed = register("")  # a query: the bindings of the address of record
            self.assertTrue(listed.startswith("SIP/2.0 200 "), listed)
            self.assertNotRegex(listed, r"(?im)^(contact|m)\s*:", "something was registered")
        finally:
            s.close()

    def test_stun_requests_are_answered_or_dropped_and_leave_no_trace(self):
        """beckond's own STUN responder (Sofia's leaked memory on every
        malformed request, found by fuzz_sip_message, and wrote every request
        to stderr): a well-formed Binding request gets a Binding success
        response, one with a length beyond the datagram gets nothing (the
        answer that comes is the next good one's); beckond's log does not
        grow; the device is still served. More: test_keepalives.py."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LOOPBACK, 0))
        s.settimeout(5)
        offset = len(self.beckond.log())
        try:
            bad = struct.pack("!HHI", 0x0001, 0xb18e, 0x2112A442) + uuid.uuid4().bytes[:12]
            good = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + uuid.uuid4().bytes[:12]
            s.sendto(bad, (LOOPBACK, self.beckond.sip_port))
            s.sendto(good, (LOOPBACK, self.beckond.sip_port))
            answer = s.recv(65535)
            self.assertEqual(answer[:2], b"\x01\x01", f"not a Binding success response: {answer!r}")
            self.assertEqual(answer[8:20], good[8:20], "another transaction id")
        finally:
            s.close()
        self.assertNotIn("stun", self.beckond.log()[offset:].lower())
        self.assertServing("stun")

    def test_an_answer_never_goes_to_a_via_maddr(self):
        """maddr=127.0.0.3 (a third party, listening on the Via's port): the
        answer comes back to where the request came from, and nothing
        reaches the third party."""
        third = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        third.bind(("127.0.0.3", 0))
        me = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        me.bind((LOOPBACK, 0))
        try:
            port = third.getsockname()[1]
            user = new_user()
            for method, extra in (("OPTIONS", ""), ("REGISTER", "Contact: <sip:x@127.0.0.2:5999>\r\n")):
                ruri = f"sip:{user}@example.com" if method == "OPTIONS" else "sip:example.com"
                me.sendto((f"{method} {ruri} SIP/2.0\r\n"
                           f"Via: SIP/2.0/UDP 127.0.0.3:{port};maddr=127.0.0.3;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
                           f"Max-Forwards: 70\r\nFrom: <sip:{user}@example.com>;tag=m\r\n"
                           f"To: <sip:{user}@example.com>\r\nCall-ID: {uuid.uuid4().hex}\r\n"
                           f"CSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n").encode(),
                          (LOOPBACK, self.beckond.sip_port))
                me.settimeout(5)
                data = me.recv(65535)
                # The proxy answers an OPTIONS for a user without a binding 404.
                expected = b"SIP/2.0 404 " if method == "OPTIONS" else b"SIP/2.0 200 "
                self.assertTrue(data.startswith(expected), data)
            third.settimeout(0.5)
            with self.assertRaises(socket.timeout, msg="an answer went to the Via maddr"):
                third.recv(65535)
        finally:
            third.close()
            me.close()

    def test_a_via_host_name_is_not_looked_up(self):
        """A malformed request (CSeq method mismatch) over UDP whose Via says
        TCP and names localhost: nta answers 400 at the Via's host, which it
        would look up on the SIP thread (a slow name server would stall
        every device). beckond looks no name up there: nothing reaches the
        sockets that localhost names, and the device is still served."""
        me = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        me.bind((LOOPBACK, 0))
        port = me.getsockname()[1]  # the Via's port: localhost:port is this socket
        v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            try:
                v6.bind(("::1", port))
            except OSError:
                v6.close()
                v6 = None
            me.sendto((f"OPTIONS sip:x@example.com SIP/2.0\r\n"
                       f"Via: SIP/2.0/TCP localhost:{port};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
                       f"Max-Forwards: 70\r\nFrom: <sip:x@example.com>;tag=m\r\n"
                       f"To: <sip:x@example.com>\r\nCall-ID: {uuid.uuid4().hex}\r\n"
                       f"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").encode(),
                      (LOOPBACK, self.beckond.sip_port))
            for s in [me] + ([v6] if v6 else []):
                s.settimeout(0.7)
                with self.assertRaises(socket.timeout, msg="beckond looked up the Via's host"):
                    s.recv(65535)
            self.assertServing("via-name")
        finally:
            me.close()
            if v6:
                v6.close()

if __name__ == "__main__":
    unittest.main()
