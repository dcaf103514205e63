"""Bytes that are not UTF-8 on the SOAP side of a real beckond (issue 16;
docs/decisions.md, "Bytes that are not UTF-8").

- Requests: raw XML POSTed over a plain socket (HTTP/1.1, Content-Length,
  chunked, gzip) with bytes that are not UTF-8 in a field (\\xc3\\x28, \\xff,
  a surrogate, an overlong or truncated sequence) or a character reference
  that names no XML character (&#xD800; &#0; &#xFFFE; &#x110000;), in every
  string field of every operation: each gets a SOAP Fault, Client,
  InvalidArgument, whose message starts with the field's name; no NOTIFY
  reaches the registered device, the request is not known afterwards, and
  the same beckond then takes a valid ContactMe from zeep and the device
  gets its NOTIFY.
- Answers: a device registers (UDP, a socket of ours) with bytes that are
  not UTF-8 in its Contact's parameters, its instance id and its
  User-Agent, and answers a NOTIFY with a reason phrase that is not UTF-8:
  GetDevice and GetContactRequest answer XML a strict parser and zeep take,
  each such byte written %XX.

Run with /usr/bin/python3 (Debian's python3-zeep).
"""

from __future__ import annotations

import gzip
import re
import socket
import time
import unittest
import xml.etree.ElementTree as ET

import concurrent.futures

import test_outbound as outbound
from harness import LOOPBACK, NS, SipMessage, new_user

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"

# (name, bytes in the field, what the fault message says of them)
HOSTILE = [
    ("bad continuation", b"\xc3\x28", "is not valid UTF-8"),
    ("lone 0xff", b"\xff", "is not valid UTF-8"),
    ("raw surrogate", b"\xed\xa0\x80", "is not valid UTF-8"),
    ("overlong", b"\xc0\xaf", "is not valid UTF-8"),
    ("truncated", b"\xe2\x82", "is not valid UTF-8"),
    ("reference to a surrogate", b"&#xD800;", "names U+D800"),
    ("reference to NUL", b"&#0;", "names U+0000"),
    ("reference to U+FFFE", b"&#xFFFE;", "names U+FFFE"),
    ("beyond U+10FFFF", b"&#x110000;", "names no character"),
]

# Every operation and its fields in order (wsdl/beckon.h), a valid value each.
OPERATIONS = {
    "ContactMe": [("deviceId", b"DEVICE"), ("requestId", b"REQUEST"),
                  ("server", b"as.example.com"), ("protocol", b"https"), ("path", b"/wake"),
                  ("alternateServer", b"198.51.100.7:8443"), ("function", b"chat"),
                  ("timeSlot", b"PT5M"), ("package", b"application-server-contact-me"),
                  ("queueSeconds", b"0"), ("waitMs", b"2000"), ("onBehalfOf", b"local")],
    "GetContactRequest": [("requestId", b"REQUEST"), ("onBehalfOf", b"local")],
    "CancelContactRequest": [("requestId", b"REQUEST"), ("onBehalfOf", b"local")],
    "GetDevice": [("deviceId", b"DEVICE")],
    "DeviceRegistered": [("deviceId", b"DEVICE"), ("aor", b"sip:1@example.com"),
                         ("instance", b"urn:uuid:f81d4fae-7dec-41d0-a765-00a0c91e6bf6"),
                         ("package", b"application-server-contact-me"),
                         ("sipServer", b"sip:beckon.example.com"),
                         ("at", b"2026-01-01T00:00:00Z")],
}
NUMBERS = {"queueSeconds", "waitMs", "at"}


def envelope(operation: str, fields: list[tuple[str, bytes]]) -> bytes:
    inner = b"".join(b"<cm:%s>%s</cm:%s>" % (n.encode(), v, n.encode()) for n, v in fields)
    return (b'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="' + SOAP11.encode() +
            b'" xmlns:cm="' + NS.encode() + b'"><s:Body><cm:' + operation.encode() + b">" +
            inner + b"</cm:" + operation.encode() + b"></s:Body></s:Envelope>")


def http_post(port: int, body: bytes, encoding: str = "plain", timeout: float = 10.0) -> bytes:
    """One POST on a fresh connection; the whole answer (the server closes)."""
    head = [b"POST / HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close",
            b"Content-Type: text/xml; charset=utf-8", b'SOAPAction: ""']
    if encoding == "gzip":
        body = gzip.compress(body)
        head.append(b"Content-Encoding: gzip")
    if encoding == "chunked":
        head.append(b"Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 13]), body[i:i + 13])
                           for i in range(0, len(body), 13)) + b"0\r\n\r\n"
    else:
        head.append(b"Content-Length: %d" % len(body))
        payload = body
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
        s.sendall(b"\r\n".join(head) + b"\r\n\r\n" + payload)
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def soap_answer(answer: bytes) -> tuple[int, ET.Element]:
    """(HTTP status, the parsed envelope); a strict XML parser must take it."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, ET.fromstring(body)


def fault_of(root: ET.Element) -> tuple[str, str, str]:
    """(faultcode, cm:code, cm:message) of a SOAP 1.1 fault."""
    code = root.findtext(f".//{{{SOAP11}}}Fault/faultcode") or ""
    return (code, root.findtext(f".//{{{NS}}}code") or "", root.findtext(f".//{{{NS}}}message") or "")


class HostileDevice(outbound.SockDevice):
    """A SockDevice whose messages may carry any byte: "\\xNN" in the text
    it is given is sent as that byte; `uri_params` go into its Contact URI."""

    uri_params = ""

    @property
    def contact_uri(self) -> str:
        return super().contact_uri + self.uri_params

    def send(self, data: bytes) -> None:
        super().send(re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data))

    def register(self, contact_params: str = "", uri_params: str = "", **kw) -> SipMessage:
        self.uri_params = uri_params
        return super().register(contact_params, **kw)

    def wait_notify_answered(self, status: bytes, timeout: float) -> SipMessage:
        """The next NOTIFY, answered `status` (bytes: "486 Busy ...")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self._read(min(0.2, deadline - time.monotonic()))
            if m is None or not m.is_request:
                continue
            if m.method != "NOTIFY":
                self.answer(m)
                continue
            copied = [line for line in m.head.split(b"\r\n")[1:]
                      if line.split(b":", 1)[0].strip().lower()
                      in (b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq")]
            reply = b"\r\n".join([b"SIP/2.0 " + status, *copied, b"Content-Length: 0", b"", b""])
            self.sock.sendto(reply, m.addr)
            return m
        raise AssertionError(f"no NOTIFY reached {self.source} within {timeout} s")


class HostileSoap(outbound.FlowTestCase):

    def test_hostile_fields_are_refused_by_name_and_service_goes_on(self):
        d = self.dev("udp", instance=outbound.new_urn())
        self.assertOk(d.register(f';+sip.instance="<{d.instance}>"'))
        pid = self.beckond.proc.pid
        request_ids = []
        n = 0
        for name, value, says in HOSTILE:
            for operation, fields in OPERATIONS.items():
                for field, _ in fields:
                    if field in NUMBERS and value.startswith(b"&"):
                        continue  # a reference in a number: gSOAP's own check comes first
                    n += 1
                    rid = f"hostile-{n}"
                    request_ids.append(rid)
                    body = envelope(operation, [
                        (f, (b"x" + value + b"y") if f == field
                         else v.replace(b"DEVICE", d.instance.encode())
                         .replace(b"REQUEST", rid.encode())) for f, v in fields])
                    encoding = ("plain", "chunked", "gzip")[n % 3]
                    with self.subTest(value=name, operation=operation, field=field,
                                      encoding=encoding):
                        status, root = soap_answer(http_post(self.beckond.soap_port, body,
                                                             encoding))
                        self.assertEqual(status, 500)
                        code, detail, message = fault_of(root)
                        self.assertEqual(code, "SOAP-ENV:Client", message)
                        self.assertEqual(detail, "InvalidArgument", message)
                        self.assertTrue(message.startswith(f"{field}: "), message)
                        self.assertIn(says, message)
        self.assertGreater(n, 150)
        self.assertIsNone(self.beckond.proc.poll(), "beckond ended")
        self.assertEqual(self.beckond.proc.pid, pid)
        # Nothing was taken: no NOTIFY, and no request by those ids.
        self.assertEqual(d.notifies_within(0.5), [])
        client = self.zeep()
        for rid in request_ids[:: max(1, len(request_ids) // 10)]:
            self.assertSoapFault("InvalidArgument", client.service.GetContactRequest,
                                 requestId=rid, names="requestId")
        # The same beckond takes a valid ContactMe, and the device is notified.
        notify, status = self.contact_me_answered(d.instance, "after-hostile", d)
        self.assertDelivered(status)

    def test_answers_with_a_devices_bytes_stay_xml(self):
        d = HostileDevice("udp", (LOOPBACK, self.beckond.sip_port), new_user(),
                          outbound.new_urn())
        self.devices.append(d)
        # A Contact parameter, a header parameter of the Contact and the
        # User-Agent with bytes that are not UTF-8.
        ok = d.register(';+sip.instance="<%s>";x-note="\\xc3\\x28"' % d.instance,
                        headers=("User-Agent: phone \\xff\\xfe",), uri_params=";x-ua=\\xff")
        self.assertOk(ok)
        # GetDevice: XML a strict parser takes, the bytes written %XX.
        answer = http_post(self.beckond.soap_port,
                           envelope("GetDevice", [("deviceId", d.instance.encode())]))
        status, root = soap_answer(answer)
        self.assertEqual(status, 200, answer)
        contacts = [e.text for e in root.iter(f"{{{NS}}}contact")]
        self.assertEqual(len(contacts), 1, answer)
        self.assertIn(";x-ua=%FF", contacts[0], answer)
        self.assertNotIn(b"\xff", answer)
        # zeep (lxml) as well.
        device = self.zeep().service.GetDevice(deviceId=d.instance)
        self.assertEqual([b.contact for b in device.binding], contacts)

        # A NOTIFY answered with a reason phrase that is not UTF-8.
        client = self.zeep()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            call = pool.submit(client.service.ContactMe, deviceId=d.instance,
                               requestId="busy-reason", waitMs=8000)
            notify = d.wait_notify_answered(b"486 Busy \xff\xc3\x28 here", timeout=10)
            contact_status = call.result(timeout=30)
        self.assertEqual(outbound.request_id_of(notify), "busy-reason")
        self.assertEqual([x.sipStatus for x in contact_status.delivery], [486], contact_status)
        answer = http_post(self.beckond.soap_port,
                           envelope("GetContactRequest", [("requestId", b"busy-reason")]))
        status, root = soap_answer(answer)
        self.assertEqual(status, 200, answer)
        self.assertEqual([e.text for e in root.iter(f"{{{NS}}}reason")],
                         ["Busy %FF%C3( here"], answer)
        got = client.service.GetContactRequest(requestId="busy-reason")
        self.assertEqual([x.reason for x in got.delivery], ["Busy %FF%C3( here"])


if __name__ == "__main__":
    unittest.main()
