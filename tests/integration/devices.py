"""Helpers for the delivery, challenge and notice tests, on top of harness.py.

- `ConfiguredBeckond`: a harness `Beckond` whose configuration gets further
  TOML appended (e.g. [[notify_credentials]] tables).
- `DevicesTestCase`: a `BeckondTestCase` whose beckond takes the class's
  `extra_toml` and `app_servers`; `phone()` makes a `Phone`.
- `Phone`: a SIPp device with a main scenario and an out-of-call scenario of
  the test's choosing (scenarios/dev_register.xml + notify_*.xml, or
  device.xml + device_notify_ok.xml), its Contact at a fake NAT address.
- `xml_body()`: the XML NOTIFY body the contract requires, byte for byte.
- `check_digest()`: an RFC 2617 digest response recomputed from a trace.
- `ContactStatusPoller`: GetContactRequest until a state is reached.
- `NoticeStub`: an application server's DeviceRegistered endpoint
  (http.server in a thread), recording each call and answering 200 or, for
  the first calls as told, 500.

Everything is bounded in time; every process and thread is stopped.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import harness
from harness import (DOMAIN, FAKE_NAT_HOSTPORT, LOOPBACK, NS, PACKAGE, BeckondTestCase, Contact,
                     SipMessage, Sipp, new_instance, new_user, wait_until)

TEXT_TYPE = f"application/{PACKAGE}"
XML_TYPE = f"application/{PACKAGE}+xml"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"


# --------------------------------------------------------------------------
# beckond with further configuration


class ConfiguredBeckond(harness.Beckond):
    """A harness Beckond; `extra_toml` is appended to its configuration file
    (after every table harness.Beckond writes, so [[array]] tables are safe)."""

    def __init__(self, workdir: Path, *args, extra_toml: str = "", **kw):
        super().__init__(workdir, *args, **kw)
        self.extra_toml = extra_toml
        if extra_toml:
            with open(self.config, "a") as f:
                f.write("\n" + extra_toml.strip() + "\n")


def notify_credentials(*entries: dict) -> str:
    """[[notify_credentials]] tables: each dict has realm or device, user,
    password."""
    out = []
    for e in entries:
        out.append("[[notify_credentials]]")
        out += [f"{k} = {_toml_string(v)}" for k, v in e.items()]
        out.append("")
    return "\n".join(out)


def _toml_string(value) -> str:
    if isinstance(value, int):
        return str(value)
    s = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


class DevicesTestCase(BeckondTestCase):
    """BeckondTestCase whose beckond has the class's `extra_toml` appended,
    the class's `app_servers` ([[app_server]] tables as dicts) and, with
    `soap_tls`, an HTTPS SOAP listener."""

    extra_toml: str = ""
    app_servers: list[dict] | None = None
    # HTTPS for the SOAP listener (beckond takes application servers only
    # with [soap.tls]): a throw-away CA in the work directory (cls.pki)
    soap_tls: bool = False

    @classmethod
    def make_beckond(cls, workdir: Path):
        kw = {}
        if cls.app_servers:
            kw["app_servers"] = cls.app_servers
        if cls.soap_tls:
            cls.pki = harness.Pki(Path(workdir) / "pki")
            kw["tls"] = cls.pki.server_tls("optional")
        return ConfiguredBeckond(workdir, notify_timeout_ms=cls.notify_timeout_ms,
                                 extra_toml=cls.extra_toml, **kw)

    def phone(self, ooc: str, **kw) -> "Phone":
        p = Phone(self.workdir, self.beckond, ooc, **kw)
        self.sipps.append(p.sipp)
        return p

    # contact-me calls and their status

    def contact_me(self, **fields):
        return self.zeep().service.ContactMe(**fields)

    def status_of(self, request_id: str):
        """GetContactRequest(requestId)."""
        return self.zeep().service.GetContactRequest(requestId=request_id)

    def wait_state(self, request_id: str, states: set[str], timeout: float = 15.0):
        """Polls GetContactRequest (every 100 ms, at most `timeout` s) until the
        request's state is one of `states`; returns that status."""
        last = {}

        def reached():
            last["s"] = self.status_of(request_id)
            return last["s"] if last["s"].state in states else None

        try:
            return wait_until(reached, timeout, interval=0.1,
                              what=f"request {request_id} to reach {sorted(states)}")
        except TimeoutError as e:
            raise AssertionError(f"{e}; last status: {last.get('s')}") from None

    def assertDeliveries(self, status, codes: list[int]):
        got = [d.sipStatus for d in status.delivery]
        self.assertEqual(got, codes, f"deliveries' sipStatus; status: {status}")


# --------------------------------------------------------------------------
# devices


def instantiate(workdir: Path, template: str, subst: dict[str, str]) -> str:
    """A copy of scenarios/`template` in workdir with each key of subst
    replaced by its value (for what SIPp reads before applying -key values,
    such as a response's status code). Returns its absolute path."""
    text = (harness.SCENARIOS / template).read_text()
    for placeholder, value in subst.items():
        assert placeholder in text, f"{placeholder} not in {template}"
        text = text.replace(placeholder, value)
    tag = "_".join(re.sub(r"[^A-Za-z0-9]", "", v) for v in subst.values())
    path = Path(workdir) / f"{Path(template).stem}_{tag}.xml"
    path.write_text(text)
    return str(path)


class Phone(harness.Device):
    """A SIPp device: `scenario` (main, default dev_register.xml) registers
    from 127.0.0.1 with its Contact and Via at `contact_hostport` (a fake NAT
    address on loopback) and `ooc` (scenarios/notify_*.xml) handles the
    NOTIFYs. `keys` are further -key values for the scenarios; `subst`
    replaces placeholders in the out-of-call scenario (a template such as
    notify_answer.xml) in a copy made in the work directory. register(),
    notifies() and notify_transactions() are harness.Device's."""

    def __init__(self, workdir: Path, registrar, ooc: str, *, keys: dict[str, str] | None = None,
                 transport: str = "udp", user: str | None = None, instance: str | None = None,
                 accept: str = TEXT_TYPE, expires: int = 300,
                 contact_hostport: str = FAKE_NAT_HOSTPORT, scenario: str = "dev_register.xml",
                 expect: Contact | None = None, name: str | None = None,
                 subst: dict[str, str] | None = None):
        assert transport in ("udp", "tcp")
        if subst:
            ooc = instantiate(workdir, ooc, subst)
        self.transport = transport
        self.user = user or new_user()
        self.instance = instance or new_instance()
        self.aor = f"sip:{self.user}@{DOMAIN}"
        self.contact_hostport = contact_hostport
        self.contact_uri = f"sip:{self.user}@{contact_hostport};transport={transport}"
        self.expect = expect
        all_keys = {
            "domain": DOMAIN,
            "user": self.user,
            "contact_hostport": contact_hostport,
            "contact_transport": transport,
            "instance": self.instance,
            "expires": str(expires),
            "accept": accept,
            "contact_uri": self.contact_uri,
        }
        if expect is not None:
            all_keys.update(expect.keys())
        all_keys.update(keys or {})
        tail = re.sub(r"[^A-Za-z0-9]", "", self.instance)[-8:]
        self.sipp = Sipp(workdir, name or f"{transport}-{self.user}-{tail}", scenario,
                         remote_port=registrar.sip_port,
                         transport="u1" if transport == "udp" else "t1",
                         keys=all_keys, ooc_scenario=ooc)

    def answers(self) -> list[SipMessage]:
        """The responses this device sent (to NOTIFYs: REGISTERs send none)."""
        return [m for m in self.sipp.sent() if not m.is_request]


# --------------------------------------------------------------------------
# bodies


def xml_escape(value: str) -> str:
    """As the contract's XML body escapes values: & < > only."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_body(contact: Contact) -> bytes:
    """The XML NOTIFY body (application/P+xml) for `contact`, byte for byte:
    the text body's lines as child elements, in the same order."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\r\n', f'<contact-me xmlns="{NS}">\r\n']
    for line in contact.body().decode().split("\r\n"):
        if not line:
            continue
        label, _, value = line.partition(": ")
        out.append(f"  <{label}>{xml_escape(value)}</{label}>\r\n")
    out.append("</contact-me>\r\n")
    return "".join(out).encode()


# --------------------------------------------------------------------------
# digest authentication


def auth_params(value: str) -> dict[str, str]:
    """Parameters of a Digest credentials or challenge header value."""
    value = value.strip()
    if not value.lower().startswith("digest "):
        raise ValueError(f"not a Digest header: {value!r}")
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,]+)', value[7:]):
        params[m.group(1).lower()] = m.group(3) if m.group(3) is not None else m.group(2)
    return params


def _md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


def digest_response(params: dict[str, str], password: str, method: str) -> str:
    """RFC 2617 response for MD5, with or without qop=auth."""
    ha1 = _md5(f"{params['username']}:{params['realm']}:{password}")
    ha2 = _md5(f"{method}:{params['uri']}")
    qop = params.get("qop")
    if qop:
        return _md5(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:{qop}:{ha2}")
    return _md5(f"{ha1}:{params['nonce']}:{ha2}")


# --------------------------------------------------------------------------
# application-server stub for DeviceRegistered


@dataclass
class Notice:
    """One DeviceRegistered call as the stub received it."""
    at: float                      # time.monotonic() on arrival
    path: str
    headers: dict[str, str]
    raw: bytes
    soap_ns: str | None = None     # envelope namespace (SOAP 1.1 or 1.2)
    operation: str | None = None   # {ns}localname of the Body's first child
    fields: dict[str, str] = field(default_factory=dict)  # its children: local name -> text
    error: str | None = None       # why the body was not understood
    answered: int = 0              # HTTP status the stub answered


class NoticeStub(harness.HttpStub):
    """An application server's notice endpoint on 127.0.0.1:port (a free port
    unless given). POST `path` with a SOAP DeviceRegistered: recorded in
    `notices`; the first `fail_first` calls are answered `fail_status` (a SOAP
    Fault), the others 200 with a DeviceRegisteredResponse. Bodies larger
    than 64 KiB are refused (413). Bounded: each connection times out after
    5 s; stop() shuts the server down and joins its thread."""

    MAX_BODY = 64 * 1024

    def __init__(self, port: int | None = None, path: str = "/notice", fail_first: int = 0,
                 fail_status: int = 500, response_element: str = "DeviceRegisteredResponse"):
        self.port = port or harness.free_port(udp=False, tcp=True)
        self.path = path
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.response_element = response_element
        self.notices: list[Notice] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{self.path}"

    def start(self) -> "NoticeStub":
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 5  # per connection socket
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # quiet
                pass

            def do_POST(self):
                stub._handle(self)

            def do_GET(self):
                self._plain(405, b"POST only\n")

            def _plain(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, self.port), Handler)
        self.server.daemon_threads = True
        self.serve(self.server, f"notice-stub-{self.port}")
        return self

    def _handle(self, h: http.server.BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        if length > self.MAX_BODY:
            h._plain(413, b"too large\n")
            return
        raw = h.rfile.read(length) if length > 0 else b""
        n = Notice(at=time.monotonic(), path=h.path,
                   headers={k.lower(): v for k, v in h.headers.items()}, raw=raw)
        try:
            root = ET.fromstring(raw)
            n.soap_ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else None
            body = root.find(f"{{{n.soap_ns}}}Body") if n.soap_ns else None
            op = list(body)[0] if body is not None and len(body) else None
            if op is None:
                n.error = "no element in the SOAP Body"
            else:
                n.operation = op.tag
                for child in op:
                    local = child.tag.split("}")[-1]
                    n.fields[local] = child.text or ""
        except ET.ParseError as e:
            n.error = f"not XML: {e}"
        with self.lock:
            self.notices.append(n)
            count = len(self.notices)
        soap_ns = n.soap_ns if n.soap_ns in (SOAP11_NS, SOAP12_NS) else SOAP11_NS
        ctype = ("application/soap+xml; charset=utf-8" if soap_ns == SOAP12_NS
                 else "text/xml; charset=utf-8")
        if h.path != self.path:
            status, payload = 404, self._fault(soap_ns, "no such endpoint")
        elif count <= self.fail_first:
            status, payload = self.fail_status, self._fault(soap_ns, "stub told to fail")
        else:
            status, payload = 200, (
                f'<?xml version="1.0" encoding="UTF-8"?>\r\n<SOAP-ENV:Envelope xmlns:SOAP-ENV='
                f'"{soap_ns}" xmlns:cm="{NS}"><SOAP-ENV:Body><cm:{self.response_element}/>'
                f"</SOAP-ENV:Body></SOAP-ENV:Envelope>\r\n").encode()
        n.answered = status
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    @staticmethod
    def _fault(soap_ns: str, text: str) -> bytes:
        if soap_ns == SOAP12_NS:
            inner = (f"<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Receiver"
                     f"</SOAP-ENV:Value></SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text "
                     f'xml:lang="en">{text}</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>')
        else:
            inner = (f"<SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode>"
                     f"<faultstring>{text}</faultstring></SOAP-ENV:Fault>")
        return (f'<?xml version="1.0" encoding="UTF-8"?>\r\n<SOAP-ENV:Envelope xmlns:SOAP-ENV='
                f'"{soap_ns}"><SOAP-ENV:Body>{inner}</SOAP-ENV:Body></SOAP-ENV:Envelope>\r\n'
                ).encode()

    def received(self) -> list[Notice]:
        with self.lock:
            return list(self.notices)

    def for_device(self, *ids: str) -> list[Notice]:
        """Notices whose fields name any of `ids` (aor, instance, deviceId)."""
        wanted = set(ids)
        return [n for n in self.received()
                if wanted & {n.fields.get("aor"), n.fields.get("instance"),
                             n.fields.get("deviceId")}]

    def wait_for(self, predicate, timeout: float, what: str):
        return wait_until(lambda: predicate(self.received()), timeout, interval=0.05, what=what)

    def report(self) -> str:
        lines = [f"== notice stub {self.url}: {len(self.received())} call(s)"]
        for n in self.received():
            lines.append(f"-- {n.path} answered {n.answered} headers {n.headers}\n"
                         f"{n.raw.decode(errors='replace')}")
        return "\n".join(lines)
