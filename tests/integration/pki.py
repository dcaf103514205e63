"""Test certificates: a CA, a server certificate and client certificates
made with the openssl CLI at test time, never kept in the tree.
"""
from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from settings import OPENSSL


@dataclass
class CertFiles:
    cert: str          # PEM certificate
    key: str           # PEM private key (unencrypted)
    subject: str       # RFC 2253, e.g. "CN=crm.example.com,O=beckon test"
    subject_oneline: str  # OpenSSL's oneline form, e.g. "/O=beckon test/CN=crm.example.com"
    fingerprint: str   # SHA-256 of the DER certificate, lowercase hex

    @property
    def pair(self) -> tuple[str, str]:
        """(cert, key), as requests' session.cert wants it."""
        return self.cert, self.key


def _openssl(args: list[str], cwd: Path) -> str:
    try:
        r = subprocess.run([OPENSSL] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"openssl {' '.join(args)} took more than 30 s") from None
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


class Pki:
    """A throw-away CA in `directory`, with a server certificate for
    127.0.0.1/localhost and client certificates on demand (P-256 keys)."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = str(self.dir / "ca.pem")
        self.ca_key = str(self.dir / "ca.key")
        _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "2",
                  "-subj", "/O=beckon test/CN=beckon test CA",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"], self.dir)
        self.server = self.issue("server", "/O=beckon test/CN=localhost",
                                 ["subjectAltName=IP:127.0.0.1,DNS:localhost",
                                  "extendedKeyUsage=serverAuth"])

    def issue(self, name: str, subject: str, extensions: list[str] | None = None,
              ca: "Pki | None" = None) -> CertFiles:
        """A certificate signed by this CA (or by `ca`)."""
        signer = ca or self
        key = str(self.dir / f"{name}.key")
        csr = str(self.dir / f"{name}.csr")
        cert = str(self.dir / f"{name}.pem")
        ext = self.dir / f"{name}.ext"
        ext.write_text("\n".join(["basicConstraints=CA:FALSE",
                                   "keyUsage=critical,digitalSignature,keyEncipherment"]
                                  + (extensions or ["extendedKeyUsage=clientAuth"])) + "\n")
        _openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", key, "-out", csr, "-subj", subject], self.dir)
        _openssl(["x509", "-req", "-in", csr, "-CA", signer.ca, "-CAkey", signer.ca_key,
                  "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "2",
                  "-sha256", "-extfile", str(ext), "-out", cert], self.dir)
        rfc2253 = _openssl(["x509", "-in", cert, "-noout", "-subject", "-nameopt", "RFC2253"],
                           self.dir).strip()
        oneline = _openssl(["x509", "-in", cert, "-noout", "-subject", "-nameopt", "compat"],
                           self.dir).strip()
        der = ssl.PEM_cert_to_DER_cert(Path(cert).read_text())
        return CertFiles(cert=cert, key=key,
                         subject=rfc2253.removeprefix("subject=").strip(),
                         subject_oneline=oneline.removeprefix("subject=").strip(),
                         fingerprint=hashlib.sha256(der).hexdigest())

    def client(self, name: str, cn: str) -> CertFiles:
        return self.issue(name, f"/O=beckon test/CN={cn}")

    def server_tls(self, client_certs: str = "optional") -> dict:
        """The [soap.tls] table for Beckond(tls=...)."""
        return {"cert": self.server.cert, "key": self.server.key, "ca": self.ca,
                "client_certs": client_certs}
