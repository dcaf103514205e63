"""The configuration as an operator meets it: `beckond --check-config`, a bad
file or flag refused at start with a message that names the key, the
contract's flags over the file, and deploy/examples/*.toml (checked, then
run with the flags moving them onto free loopback ports).

Exit status: 0 for a good file under --check-config, 2 for a refused
configuration (at start too), 1 when beckond cannot start for another
reason (a port taken).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest
import urllib.request
import uuid
from pathlib import Path

from harness import BECKOND, LOOPBACK, Pki, free_port, port_bound, stop_process, _register, \
    wait_until

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent.parent / "deploy" / "examples"
RUN_TIMEOUT_S = 10


def workdir(name: str) -> Path:
    base = os.environ.get("BECKON_TEST_TMPDIR")
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"beckon-{name}-", dir=base))


def beckond(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """beckond run to its end (a refusal, or --check-config)."""
    return subprocess.run([BECKOND] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def sip_options(port: int, timeout: float = 5.0) -> str:
    """Sends OPTIONS over UDP to 127.0.0.1:port; returns the status line."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOPBACK, 0))
        s.settimeout(timeout)
        me = s.getsockname()[1]
        call_id = uuid.uuid4().hex
        msg = (f"OPTIONS sip:{LOOPBACK}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {LOOPBACK}:{me};branch=z9hG4bK{call_id[:16]};rport\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:test@{LOOPBACK}>;tag={call_id[:8]}\r\n"
               f"To: <sip:{LOOPBACK}:{port}>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n"
               f"Content-Length: 0\r\n\r\n")
        s.sendto(msg.encode(), (LOOPBACK, port))
        data, _ = s.recvfrom(65535)
        return data.split(b"\r\n", 1)[0].decode()
    finally:
        s.close()


class Refusals(unittest.TestCase):
    """Every way a configuration can be wrong is refused before anything is
    bound, by --check-config and at start alike, naming the file and key
    (or the flag) and the problem."""

    @classmethod
    def setUpClass(cls):
        cls.work = workdir("Refusals")
        cls.pki = Pki(cls.work / "pki")
        cls.other = cls.pki.issue("other", "/O=beckon test/CN=other",
                                  ["extendedKeyUsage=serverAuth"])
        (cls.work / "state").mkdir()
        (cls.work / "not-a-ca.pem").write_text("not a certificate\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def write(self, text: str) -> str:
        path = self.work / f"c-{uuid.uuid4().hex[:8]}.toml"
        path.write_text(text)
        return str(path)

    def assertRefused(self, config: str | None, flags: list[str], expected: str):
        """Refused by --check-config and at start, exit 2, one message that
        contains `expected` ("FILE: " is put before it when it names a key
        of the file)."""
        text = Path(config).read_text() if config and Path(config).is_file() else ""
        sip, soap = free_port(), free_port(udp=False)
        # Ports of our own unless the case is about them, so that a start
        # that wrongly went ahead would collide with nothing, and be seen.
        ports = [] if "listen" in text or any(f in flags for f in ("--sip-listen",
                                                                    "--soap-listen")) else \
            ["--sip-listen", f"udp:{LOOPBACK}:{sip}", "--soap-listen", f"{LOOPBACK}:{soap}"]
        store = [] if "--store" in flags or "[store]" in text else \
            ["--store", str(self.work / "state" / "b.db")]
        want = expected.replace("FILE", config) if config else expected
        for mode in ("--check-config", "--config"):
            args = ([mode, config] if config else []) + flags + ports + store
            if mode == "--check-config" and not config:
                args = [mode, os.devnull] + args
            r = beckond(args, self.work)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 2, f"beckond {' '.join(args)}:\n{out}")
            self.assertIn(want, out, f"beckond {' '.join(args)}")
            self.assertEqual(out.count("\n"), 1, f"one line, nothing started:\n{out}")
            self.assertFalse(port_bound(soap, tcp=True))

    def test_the_file_itself(self):
        missing = str(self.work / "missing.toml")
        self.assertRefused(missing, [], f"beckond: {missing}: cannot be read")
        self.assertRefused(str(self.work), [], f"beckond: {self.work}: is a directory")
        self.assertRefused(self.write("[sip\nlisten = []\n"), [],
                           "FILE:line 1, column 5: Error while parsing table header")

    def test_unknown_keys(self):
        self.assertRefused(self.write("[sip]\nlistn = []\n"), [], "FILE: sip.listn: unknown key")
        self.assertRefused(self.write("[sipp]\n"), [], "FILE: sipp: unknown key")
        self.assertRefused(self.write("[soap.tls]\ncert = 'a'\nkey = 'b'\ncafile = 'c'\n"), [],
                           "FILE: soap.tls.cafile: unknown key")
        self.assertRefused(
            self.write("[[app_server]]\nname = 'crm'\nrights = []\n"), [],
            "FILE: app_server[0].rights: unknown key")

    def test_wrong_types(self):
        self.assertRefused(self.write("[sip]\nlisten = 'udp:0.0.0.0:5060'\n"), [],
                           "FILE: sip.listen: must be an array of strings")
        self.assertRefused(self.write("[sip]\nmin_expires = '60'\n"), [],
                           "FILE: sip.min_expires: must be an integer")
        self.assertRefused(self.write("sip = 1\n"), [], "FILE: sip: must be a table")
        self.assertRefused(self.write("[soap]\nlisten = 8080\n"), [],
                           "FILE: soap.listen: must be a string")
        self.assertRefused(self.write("[app_server]\nname = 'crm'\n"), [],
                           "FILE: app_server: must be an array of tables")

    def test_bad_values(self):
        self.assertRefused(self.write("[sip]\nlisten = ['sctp:0.0.0.0:5060']\n"), [],
                           "FILE: sip.listen: 'sctp:0.0.0.0:5060' is not udp:, tcp: or tls:")
        self.assertRefused(self.write("[sip]\nmax_expires = 0\n"), [],
                           "FILE: sip.max_expires: must be between 1 and")
        self.assertRefused(self.write("[soap]\nlisten = 'localhost:99999'\n"), [],
                           "FILE: soap.listen: '99999' is not a port")
        self.assertRefused(self.write("[log]\nlevel = 'loud'\n"), [], "FILE: log.level: 'loud'")
        self.assertRefused(self.write("[log]\nformat = 'xml'\n"), [],
                           "FILE: log.format: must be plain or json")
        self.assertRefused(self.write("[sip]\nlisten = ['tls:127.0.0.1:5061']\n"), [],
                           "FILE: sip.listen: 'tls:127.0.0.1:5061' needs [sip.tls]")

    def test_files_it_names(self):
        server, ca = self.pki.server, self.pki.ca
        missing = str(self.work / "missing.pem")
        self.assertRefused(self.write(f"[sip.tls]\ncert = '{missing}'\nkey = '{server.key}'\n"),
                           [], f"FILE: sip.tls.cert: '{missing}' cannot be read")
        self.assertRefused(self.write(f"[soap.tls]\ncert = '{server.cert}'\n"
                                      f"key = '{self.other.key}'\n"), [],
                           f"FILE: soap.tls.key: does not belong to {server.cert}")
        self.assertRefused(self.write(f"[soap.tls]\ncert = '{server.key}'\nkey = '{server.key}'\n"),
                           [], f"FILE: soap.tls.cert: '{server.key}' holds no PEM certificate")
        self.assertRefused(self.write(f"[soap.tls]\ncert = '{server.cert}'\nkey = '{ca}'\n"), [],
                           f"FILE: soap.tls.key: '{ca}' holds no PEM private key")
        not_ca = str(self.work / "not-a-ca.pem")
        self.assertRefused(self.write(f"[soap.tls]\ncert = '{server.cert}'\n"
                                      f"key = '{server.key}'\nca = '{not_ca}'\n"
                                      "client_certs = 'required'\n"), [],
                           f"FILE: soap.tls.ca: '{not_ca}' holds no PEM certificate")
        self.assertRefused(self.write(f"[soap.tls]\ncert = '{server.cert}'\n"
                                      f"key = '{server.key}'\nclient_certs = 'required'\n"), [],
                           "FILE: soap.tls.ca: required to verify client certificates")
        self.assertRefused(self.write(f"[notices]\nca = '{self.work}'\n"), [],
                           f"FILE: notices.ca: '{self.work}' is a directory")
        self.assertRefused(self.write(f"[sip.tls]\ncert = '{server.cert}'\nkey = '{server.key}'\n"
                                      f"ca = '{not_ca}'\n"), [],
                           f"FILE: sip.tls.ca: '{not_ca}' holds no PEM certificate")
        self.assertRefused(self.write(f"[store]\npath = '{self.work}/nowhere/beckon.db'\n"), [],
                           f"FILE: store.path: the directory '{self.work}/nowhere' does not exist")

    def test_keys_that_do_not_go_together(self):
        self.assertRefused(self.write("[sip]\nlisten = ['tcp:127.0.0.1:5999']\n"
                                      "[soap]\nlisten = '0.0.0.0:5999'\n"), [],
                           "FILE: soap.listen: '0.0.0.0:5999': TCP port 5999 is taken by "
                           "sip.listen 'tcp:127.0.0.1:5999' already")
        self.assertRefused(
            self.write("[[app_server]]\nname = 'crm'\n"
                       "basic_auth = { user = 'crm', password_sha256 = '" + "a" * 64 + "' }\n"),
            [], "FILE: app_server.crm.basic_auth: HTTP Basic is only taken over TLS")

    def test_flags(self):
        good = self.write("[log]\nlevel = 'info'\n")
        self.assertRefused(good, ["--sip-listen", "udp:127.0.0.1"], "beckond: --sip-listen: ")
        self.assertRefused(good, ["--sip-listen", "tls:127.0.0.1:5061"],
                           "beckond: --sip-listen: 'tls:127.0.0.1:5061' needs [sip.tls]")
        self.assertRefused(good, ["--soap-listen", "8080"], "beckond: --soap-listen: '8080'")
        self.assertRefused(good, ["--log-level", "loud"], "beckond: --log-level: 'loud'")
        self.assertRefused(good, ["--store", str(self.work / "nowhere" / "b.db")],
                           "beckond: --store: the directory")
        port = free_port()
        self.assertRefused(good, ["--sip-listen", f"tcp:{LOOPBACK}:{port}",
                                  "--soap-listen", f"{LOOPBACK}:{port}"],
                           f"beckond: --soap-listen: '{LOOPBACK}:{port}': TCP port {port} is "
                           f"taken by --sip-listen 'tcp:{LOOPBACK}:{port}' already")
        # Without a file: the flags alone.
        self.assertRefused(None, ["--log-level", "loud"], "beckond: --log-level: 'loud'")

    def test_a_good_file_is_ok(self):
        path = self.write(f"[store]\npath = '{self.work}/state/beckon.db'\n")
        r = beckond(["--check-config", path], self.work)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, f"{path}: ok\n", ""))
        # and the flags over it are checked too
        r = beckond(["--check-config", path, "--sip-listen", f"udp:{LOOPBACK}:5999",
                     "--log-level", "debug"], self.work)
        self.assertEqual((r.returncode, r.stdout), (0, f"{path}: ok\n"), r.stderr)

    def test_a_taken_port_fails_the_start(self):
        """Not a configuration error (--check-config binds nothing): exit 1,
        naming the listener."""
        held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        held.bind((LOOPBACK, 0))
        try:
            port = held.getsockname()[1]
            r = beckond(["--sip-listen", f"udp:{LOOPBACK}:{port}",
                         "--soap-listen", f"{LOOPBACK}:{free_port(udp=False)}",
                         "--store", str(self.work / "state" / "b.db")], self.work)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(f"sip.listen: cannot listen on udp:{LOOPBACK}:{port}",
                          r.stdout + r.stderr)
        finally:
            held.close()


class Examples(unittest.TestCase):
    """deploy/examples/*.toml with test certificates in place of
    /etc/beckon/tls/* and a work directory for /var/lib/beckon: they pass
    --check-config, and beckond runs them (the flags moving the listeners to
    free loopback ports, and the log level up)."""

    @classmethod
    def setUpClass(cls):
        cls.work = workdir("Examples")
        cls.pki = Pki(cls.work / "pki")
        cls.state = cls.work / "state"
        cls.state.mkdir()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def localize(self, name: str) -> Path:
        """The example with its paths substituted: *ca.pem a CA, *.key the
        server key, other *.pem the server certificate."""
        text = (EXAMPLES / name).read_text()

        def tls_file(m: re.Match) -> str:
            f = m.group(1)
            if f.endswith("ca.pem"):
                return self.pki.ca
            return self.pki.server.key if f.endswith(".key") else self.pki.server.cert

        text = re.sub(r"/etc/beckon/tls/([A-Za-z0-9._-]+)", tls_file, text)
        text = text.replace("/var/lib/beckon", str(self.state))
        self.assertNotIn("/etc/beckon/", re.sub(r"#.*", "", text),
                         f"{name} names a file this test does not make")
        out = self.work / name
        out.write_text(text)
        return out

    def run_example(self, config: Path, tls: bool):
        sip, soap = free_port(), free_port(udp=False)
        listen = ["--sip-listen", f"udp:{LOOPBACK}:{sip}", "--sip-listen", f"tcp:{LOOPBACK}:{sip}"]
        if tls:
            listen += ["--sip-listen", f"tls:{LOOPBACK}:{free_port(udp=False)}"]
        args = ["--config", str(config), *listen, "--soap-listen", f"{LOOPBACK}:{soap}",
                "--store", str(self.state / f"{config.stem}.db"), "--log-level", "debug"]
        log_path = self.work / f"{config.stem}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([BECKOND] + args, cwd=self.work, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT)
        _register(proc)
        try:
            def ready():
                if proc.poll() is not None:
                    raise AssertionError(f"beckond exited {proc.returncode}:\n"
                                         f"{log_path.read_text()}")
                return "beckond ready" in log_path.read_text()

            wait_until(ready, RUN_TIMEOUT_S, what="beckond ready")
            self.assertTrue(port_bound(sip, tcp=False) and port_bound(sip, tcp=True))
            self.assertTrue(port_bound(soap, tcp=True))
            self.assertTrue(sip_options(sip).startswith("SIP/2.0 200"), "OPTIONS answered")
            scheme = "https" if tls else "http"
            ctx = ssl.create_default_context(cafile=self.pki.ca) if tls else None
            with urllib.request.urlopen(f"{scheme}://{LOOPBACK}:{soap}/contact-me.wsdl",
                                        timeout=5, context=ctx) as r:
                self.assertEqual(r.status, 200)
                self.assertIn(b"ContactMe", r.read())
            # --log-level debug over the file's info: the GET is logged at debug.
            wait_until(lambda: "soap: GET /contact-me.wsdl" in log_path.read_text(), 5,
                       what="the GET at debug level")
        finally:
            self.assertEqual(stop_process(proc), 0, log_path.read_text())

    def test_single_server(self):
        config = self.localize("beckond.toml")
        r = beckond(["--check-config", str(config)], self.work)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, f"{config}: ok"), r.stderr)
        self.run_example(config, tls=False)

    def test_tls_and_application_servers(self):
        config = self.localize("beckond-tls.toml")
        r = beckond(["--check-config", str(config)], self.work)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, f"{config}: ok"), r.stderr)
        self.run_example(config, tls=True)

    def test_the_single_server_example_agrees_with_the_reference(self):
        """Its values are the defaults column of docs/configuration.md (the
        unit test config.the_single_server_example_is_the_defaults holds them
        against beckond's own), but for the store, placed in /var/lib/beckon."""
        text = (EXAMPLES / "beckond.toml").read_text()
        reference = (HERE.parent.parent / "docs" / "configuration.md").read_text()
        tables = {m.group(1): m.group(2) for m in re.finditer(
            r"^## `\[([a-z_.]+)\]`\n(.*?)(?=^## |\Z)", reference, re.S | re.M)}
        section = ""
        checked = 0
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if m := re.fullmatch(r"\[([a-z_.]+)\]", line):
                section = m.group(1)
            elif m := re.fullmatch(r"([a-z_]+) = (.+)", line):
                key, value = m.groups()
                if f"{section}.{key}" == "store.path":
                    continue
                row = re.search(rf"^\| `{key}` \| [^|]+ \| `([^`]*)` \|",
                                tables.get(section, ""), re.M)
                self.assertIsNotNone(row, f"{section}.{key}: no default in docs/configuration.md")
                self.assertEqual(value.replace(" ", ""), row.group(1).replace(" ", ""),
                                 f"{section}.{key}")
                checked += 1
        self.assertGreaterEqual(checked, 15)

if __name__ == "__main__":
    unittest.main()
