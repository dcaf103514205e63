"""SOAP clients of beckond: zeep (a third-party client, over HTTP or HTTPS
with client certificates and HTTP Basic), raw SOAP 1.1 POSTs, and the
`beckon` command-line client.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from pki import CertFiles
from settings import BECKON, NS

if TYPE_CHECKING:
    from harness import Beckond


class SoapClient:
    """A zeep client bound to an address of our choosing (the served WSDL's
    soap:address is fixed): .service calls the operations, .client is the
    zeep.Client, .transport its transport."""

    def __init__(self, client, service):
        self.client = client
        self.service = service
        self.transport = client.transport


def zeep_session(beckond: "Beckond | None" = None, auth: tuple[str, str] | None = None,
                 cert: "CertFiles | tuple[str, str] | None" = None, verify=None):
    """A requests session for beckond: the test CA for HTTPS, client
    certificate and HTTP Basic as given; never the environment's CA bundle or
    proxies (trust_env False)."""
    import requests
    from requests.auth import HTTPBasicAuth

    session = requests.Session()
    session.trust_env = False  # the environment's CA bundle and proxies do not apply
    if verify is not None:
        session.verify = verify
    elif beckond is not None and beckond.tls:
        session.verify = beckond.tls["ca"]
    if cert is not None:
        session.cert = cert.pair if isinstance(cert, CertFiles) else tuple(cert)
    if auth is not None:
        session.auth = HTTPBasicAuth(*auth)
    return session


def zeep_client(beckond: Beckond, timeout: float = 40.0, auth: tuple[str, str] | None = None,
                cert: "CertFiles | tuple[str, str] | None" = None, wsdl: str | None = None,
                url: str | None = None, binding: str = "ContactMe"):
    """A zeep client built from the WSDL that beckond serves.

    Plain HTTP and no other argument: the zeep.Client itself. Otherwise (HTTPS,
    credentials, a WSDL file, another url) a SoapClient whose service talks to
    `url` (default beckond.soap_url) through binding `binding` (ContactMe:
    SOAP 1.1, ContactMe12: SOAP 1.2). `wsdl` loads the WSDL from a file or
    URL instead of from beckond (a caller that cannot fetch it).
    """
    import zeep
    from zeep.transports import Transport

    session = zeep_session(beckond, auth=auth, cert=cert)
    transport = Transport(session=session, timeout=10, operation_timeout=timeout)
    settings = zeep.Settings(strict=True)
    plain = not beckond.tls and auth is None and cert is None and wsdl is None and url is None \
        and binding == "ContactMe"
    client = zeep.Client(wsdl or beckond.wsdl_url, transport=transport, settings=settings)
    if plain:
        return client
    return SoapClient(client, client.create_service(f"{{{NS}}}{binding}", url or beckond.soap_url))


def fetch_wsdl(beckond: Beckond, dest: Path, **session_args) -> str:
    """GET /contact-me.wsdl into dest (for clients that cannot fetch it)."""
    with zeep_session(beckond, **session_args) as s:
        r = s.get(beckond.wsdl_url, timeout=10)
        r.raise_for_status()
        Path(dest).write_bytes(r.content)
    return str(dest)


def soap_post(beckond: Beckond, operation_xml: str, timeout: float = 40.0,
              **session_args) -> tuple[int, str]:
    """POSTs a SOAP 1.1 envelope around operation_xml (elements in NS, prefix
    cm) where zeep would refuse to send it (e.g. 9 alternateServer).
    Returns (HTTP status, body)."""
    envelope = ('<?xml version="1.0" encoding="UTF-8"?>'
                '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"'
                f' xmlns:cm="{NS}"><SOAP-ENV:Body>{operation_xml}</SOAP-ENV:Body>'
                '</SOAP-ENV:Envelope>')
    with zeep_session(beckond, **session_args) as s:
        r = s.post(beckond.soap_url, data=envelope.encode(), timeout=timeout,
                   headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        return r.status_code, r.text


def fault_of_xml(text: str) -> tuple[str | None, str | None]:
    """(code, message) of the contact-me fault detail in a SOAP answer."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None, None
    code = message = None
    for el in root.iter():
        if el.tag == f"{{{NS}}}code":
            code = (el.text or "").strip()
        elif el.tag == f"{{{NS}}}message":
            message = el.text or ""
    return code, message


def fault_detail(fault) -> tuple[str | None, str | None]:
    """(code, message) of a contact-me SOAP Fault's detail, or (None, None)."""
    detail = getattr(fault, "detail", None)
    if detail is None:
        return None, None
    code = message = None
    for el in detail.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == f"{{{NS}}}code":
            code = (el.text or "").strip()
        elif tag == f"{{{NS}}}message":
            message = el.text or ""
    return code, message


def run_beckon(server: "Beckond | str", args: list[str], timeout: float = 40.0,
               options: list[str] | None = None) -> subprocess.CompletedProcess:
    """Runs `beckon --server URL [options...] args...` (server: a Beckond or a
    URL; options: global options such as --json, --cacert, --user)."""
    if not os.access(BECKON, os.X_OK):
        raise RuntimeError(f"beckon not found or not executable: {BECKON} (set BECKON)")
    url = server if isinstance(server, str) else server.soap_url
    cmd = [BECKON, "--server", url] + (options or []) + args
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"beckon did not finish within {timeout} s: {cmd}\n"
                             f"stdout: {e.stdout!r}\nstderr: {e.stderr!r}") from None


def beckon_tls_options(beckond: Beckond, cert: "CertFiles | None" = None,
                       auth: tuple[str, str] | None = None) -> list[str]:
    """Global beckon options for the test CA, a client certificate, Basic auth."""
    out = []
    if beckond.tls:
        out += ["--cacert", beckond.tls["ca"]]
    if cert is not None:
        out += ["--cert", cert.cert, "--key", cert.key]
    if auth is not None:
        out += ["--user", auth[0], "--password", auth[1]]
    return out
