"""Helpers for test_registrar.py and test_subscribe.py, on top of harness.py.

- `RulesBeckond`: a harness `Beckond` with further keys in its [sip] table
  (min_expires, max_expires, default_expires ...).
- `RulesTestCase`: a `BeckondTestCase` whose beckond takes the class's
  `sip_config`; `sipp()` runs one of our scenarios (reg_*.xml, sub_*.xml)
  with a unique name, `finish()` waits for it and asserts exit 0;
  ContactMe helpers and `assertUnknownDevice`.
- `contacts()`: the Contacts of a message as (uri, {param: value}), across
  every Contact header and comma-separated list.
- `timed_messages()`: SIPp's message trace with each message's timestamp.
- `xml_of()`: the XML body for text-body lines (as the contract builds it).

Everything is bounded in time; every process is stopped by its pid (the
harness does that).
"""

from __future__ import annotations

import datetime
import re
import time
from pathlib import Path

import harness
from harness import NS, PACKAGE, BeckondTestCase, SipMessage, Sipp, fault_detail

TEXT_TYPE = f"application/{PACKAGE}"
XML_TYPE = f"application/{PACKAGE}+xml"


class RulesBeckond(harness.Beckond):
    """A harness Beckond whose [sip] table also gets `sip` (key -> value)."""

    def __init__(self, workdir: Path, *args, sip: dict | None = None, **kw):
        super().__init__(workdir, *args, **kw)
        if sip:
            lines = self.config.read_text().split("\n")
            at = lines.index("[sip]") + 1
            lines[at:at] = [f"{k} = {harness.toml_value(v)}" for k, v in sip.items()]
            self.config.write_text("\n".join(lines))


_sipp_counter = 0


class RulesTestCase(BeckondTestCase):
    """One beckond per class, configured with `sip_config` ([sip] keys) and
    `contact_me_config` ([contact_me] keys)."""

    sip_config: dict = {}
    contact_me_config: dict = {}

    @classmethod
    def make_beckond(cls, workdir: Path):
        return RulesBeckond(workdir, notify_timeout_ms=cls.notify_timeout_ms,
                            contact_me=dict(cls.contact_me_config) or None,
                            sip=dict(cls.sip_config))

    # SIPp

    def sipp(self, scenario: str, keys: dict[str, str], transport: str = "udp",
             ooc: str | None = None, start: bool = True, timeout_s: int = 40) -> Sipp:
        """SIPp playing scenarios/`scenario` against beckond (-m 1), started."""
        global _sipp_counter
        _sipp_counter += 1
        name = f"{Path(scenario).stem}-{transport}-{_sipp_counter:03d}"
        s = Sipp(self.workdir, name, scenario, remote_port=self.beckond.sip_port,
                 transport="u1" if transport == "udp" else "t1", keys=keys,
                 ooc_scenario=ooc or "device_notify_ignore.xml", timeout_s=timeout_s)
        self.sipps.append(s)
        if start:
            s.start()
        return s

    def finish(self, s: Sipp, timeout: float | None = None) -> None:
        """SIPp ends by itself (bounded) with status 0: every check of its
        scenario passed."""
        rc = s.wait(timeout)
        self.assertEqual(rc, 0, f"SIPp {s.name} exited {rc}: a check of its scenario failed"
                                f" or an answer did not come\n{s.report()}")

    # contact-me

    def contact_me(self, **fields):
        fields.setdefault("waitMs", 10000)
        return self.zeep().service.ContactMe(**fields)

    def assertUnknownDevice(self, device_id: str, request_id: str | None = None):
        import zeep.exceptions

        rid = request_id or f"unknown-{time.monotonic_ns() % 10**10}"
        try:
            status = self.contact_me(deviceId=device_id, requestId=rid, waitMs=2000)
        except zeep.exceptions.Fault as e:
            code, message = fault_detail(e)
            self.assertEqual(code, "UnknownDevice",
                             f"ContactMe({device_id!r}): fault {e.message!r}, code {code!r},"
                             f" message {message!r}")
            return
        self.fail(f"ContactMe({device_id!r}) answered {status} instead of an UnknownDevice fault")

    # messages

    def responses(self, s: Sipp, status: int | None = None) -> list[SipMessage]:
        """Responses SIPp received (UDP retransmissions included)."""
        return [m for m in s.received()
                if not m.is_request and (status is None or status_of(m) == status)]

    def response_to(self, s: Sipp, cseq: str) -> SipMessage:
        """The one final response to CSeq `cseq` (e.g. "3 REGISTER"); UDP
        retransmissions of the same response are allowed, different ones not."""
        got = [m for m in s.received() if not m.is_request and status_of(m) >= 200
               and cseq_of(m) == cseq]
        self.assertTrue(got, f"no final response to CSeq {cseq}\n{s.report()}")
        distinct = {m.raw for m in got}
        self.assertEqual(len(distinct), 1, f"different responses to CSeq {cseq}: {distinct}")
        return got[0]


def status_of(m: SipMessage) -> int:
    return int(m.first_line.split(" ")[1])


def cseq_of(m: SipMessage) -> str:
    values = m.headers("CSeq")
    return re.sub(r"\s+", " ", values[0].strip()) if values else ""


def header(m: SipMessage, name: str, compact: str | None = None) -> list[str]:
    return m.headers(name) + (m.headers(compact) if compact else [])


def _split_list(value: str) -> list[str]:
    """A header value split at commas outside quotes and angle brackets."""
    out, cur, quoted, angle = [], "", False, False
    for ch in value:
        if ch == '"' and not angle:
            quoted = not quoted
        elif ch == "<" and not quoted:
            angle = True
        elif ch == ">" and not quoted:
            angle = False
        if ch == "," and not quoted and not angle:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def contacts(m: SipMessage) -> list[tuple[str, dict[str, str]]]:
    """(uri, params) for every Contact of m, in order; parameter names in
    lowercase, values unquoted."""
    out = []
    for value in header(m, "Contact", "m"):
        for item in _split_list(value):
            mo = re.match(r'^(?:"[^"]*"\s*|[^<]*)?<([^>]*)>(.*)$', item)
            uri, rest = (mo.group(1), mo.group(2)) if mo else (item.split(";")[0],
                                                               item[len(item.split(";")[0]):])
            params = {}
            for p in re.findall(r';\s*([^=;\s]+)(?:\s*=\s*("[^"]*"|[^;]*))?', rest):
                params[p[0].lower()] = (p[1] or "").strip().strip('"')
            out.append((uri.strip(), params))
    return out


def tag_of(value: str) -> str | None:
    """The tag parameter of a From/To value."""
    mo = re.search(r";\s*tag=([^;>\s]+)", value.split(">", 1)[-1] if ">" in value else value)
    return mo.group(1) if mo else None


def uri_of(value: str) -> str:
    mo = re.search(r"<([^>]*)>", value)
    return mo.group(1) if mo else value.split(";")[0].strip()


_TIMED_HEADER = re.compile(
    rb"^-{47} ([^\n]*)\n(UDP|TCP) message (sent|received) (?:\[(\d+)\] bytes :|\((\d+) bytes\):)\n\n",
    re.M)


def timed_messages(s: Sipp) -> list[tuple[datetime.datetime, SipMessage]]:
    """SIPp's message trace with each message's time stamp."""
    try:
        data = s.files["messages"].read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for mo in _TIMED_HEADER.finditer(data):
        size = int(mo.group(4) or mo.group(5))
        raw = data[mo.end():mo.end() + size]
        stamp = datetime.datetime.strptime(mo.group(1).decode().strip()[:26],
                                           "%Y-%m-%d %H:%M:%S.%f")
        out.append((stamp, SipMessage(direction=mo.group(3).decode(),
                                      transport=mo.group(2).decode(), raw=raw)))
    return out


def xml_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_of(text_body: bytes) -> bytes:
    """The XML body (application/P+xml) carrying the same lines as
    `text_body`, as the contract builds it (see devices.xml_body)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\r\n', f'<contact-me xmlns="{NS}">\r\n']
    for line in text_body.decode().split("\r\n"):
        if not line:
            continue
        label, _, value = line.partition(": ")
        out.append(f"  <{label}>{xml_escape(value)}</{label}>\r\n")
    out.append("</contact-me>\r\n")
    return "".join(out).encode()


IDLE = b"state: idle\r\n"
