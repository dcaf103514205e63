"""beckon-ua (our reference user agent) and an application server stub for
the integration tests.

`BeckonUa` runs one beckon-ua process with --json and reads its events from
its output file; `AppServerStub` is an application server's HTTP or HTTPS
endpoint that records what the devices request. Both are bounded in time
and stopped by pid / shut down in tearDown.

A device that registers with beckond and answers calls after 100 ms, ready
for calls through a proxy (the lead adds those tests with the proxy):

    ua = BeckonUa(workdir, "callee", ["--aor", f"sip:{user}@{DOMAIN}",
                  "--registrar", f"{LOOPBACK}:{beckond.sip_port}", "--register",
                  "--answer", "100"]).start()
    ua.wait_event("registered")
    caller = BeckonUa(workdir, "caller", ["--call", f"sip:{user}@{DOMAIN}",
                      "--proxy", f"{LOOPBACK}:{beckond.sip_port}",
                      "--hangup-after", "0.5", "--exit-after", "call-ended"]).start()
"""

from __future__ import annotations

import http.server
import json
import os
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import harness
from harness import LOOPBACK, free_port, wait_until

BECKON_UA = os.path.abspath(os.environ.get("BECKON_UA")
                            or str(harness.HERE.parent.parent / "build" / "bin" / "beckon-ua"))

LSAN_SUPPRESSIONS = harness.HERE / "lsan-beckon-ua.supp"

# Bound of one beckon-ua run unless the test gives its own --timeout.
UA_TIMEOUT_S = 30


class BeckonUa:
    """One beckon-ua process. `args` are its options (--listen and, for
    TLS, --tls-listen are added on free ports unless given; --json and
    --timeout are added). Its events (JSON lines) go to WORKDIR/ua-NAME.out,
    its stderr to WORKDIR/ua-NAME.err."""

    def __init__(self, workdir: Path, name: str, args: list[str], tls: bool = False,
                 timeout_s: float = UA_TIMEOUT_S):
        self.workdir = Path(workdir)
        self.name = name
        self.port = free_port(udp=True, tcp=True)
        self.tls_port = free_port(udp=False, tcp=True) if tls else None
        self.out = self.workdir / f"ua-{name}.out"
        self.err = self.workdir / f"ua-{name}.err"
        cmd = [BECKON_UA, "--json"]
        if "--listen" not in args:
            cmd += ["--listen", f"{LOOPBACK}:{self.port}"]
        if tls and "--tls-listen" not in args:
            cmd += ["--tls-listen", f"{LOOPBACK}:{self.tls_port}"]
        if "--timeout" not in args:
            cmd += ["--timeout", str(timeout_s)]
        self.cmd = cmd + list(args)
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    @property
    def uri(self) -> str:
        """Where to call it directly."""
        return f"sip:ua@{LOOPBACK}:{self.port}"

    def start(self) -> "BeckonUa":
        if not os.access(BECKON_UA, os.X_OK):
            raise RuntimeError(f"beckon-ua not found or not executable: {BECKON_UA} (set BECKON_UA)")
        # In the ASan build: Sofia-SIP's own TLS leaks are suppressed (see the
        # file); full stacks are needed to match them. Ignored otherwise.
        env = dict(os.environ)
        env["LSAN_OPTIONS"] = ":".join(filter(None, [
            env.get("LSAN_OPTIONS"), f"suppressions={LSAN_SUPPRESSIONS}", "print_suppressions=0"]))
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                     "fast_unwind_on_malloc=0"]))
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(self.cmd, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err, env=env)
        harness._register(self.proc)
        return self

    def events(self, kind: str | None = None) -> list[dict]:
        try:
            lines = self.out.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                break  # a line still being written
            if kind is None or e.get("event") == kind:
                out.append(e)
        return out

    def wait_event(self, kind: str, timeout: float = 10.0, count: int = 1, **match) -> dict:
        """The `count`-th event of `kind` whose fields equal `match`; fails
        early if the process ended without it."""

        def found():
            got = [e for e in self.events(kind) if all(e.get(k) == v for k, v in match.items())]
            if len(got) >= count:
                return got[count - 1]
            if self.proc.poll() is not None:
                got = [e for e in self.events(kind)
                       if all(e.get(k) == v for k, v in match.items())]
                if len(got) >= count:
                    return got[count - 1]
                raise AssertionError(f"beckon-ua {self.name} exited {self.proc.returncode}"
                                     f" without {count} {kind} event(s) {match}\n{self.report()}")
            return None

        try:
            return wait_until(found, timeout, what=f"beckon-ua {self.name}: {kind} {match}")
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{self.report()}") from None

    def wait(self, timeout: float = 15.0) -> int:
        """Waits for it to end by itself (bounded), else stops it and fails."""
        try:
            self.proc.wait(timeout=timeout)
            harness._live.pop(self.proc.pid, None)
            self.returncode = self.proc.returncode
        except subprocess.TimeoutExpired:
            self.returncode = harness.stop_process(self.proc)
            raise AssertionError(f"beckon-ua {self.name} still running after {timeout} s;"
                                 f" stopped it\n{self.report()}")
        return self.returncode

    def stop(self) -> int | None:
        if self.proc is not None and self.returncode is None:
            self.returncode = harness.stop_process(self.proc)
        return self.returncode

    def report(self) -> str:
        status = self.returncode if self.returncode is not None else (
            self.proc.poll() if self.proc else "not started")
        parts = [f"== beckon-ua {self.name}: {' '.join(self.cmd)}", f"== exit status: {status}"]
        for path in (self.out, self.err):
            try:
                text = path.read_text(errors="replace")
            except FileNotFoundError:
                continue
            if text:
                parts.append(f"== {path.name}:\n{text[-6000:]}")
        return "\n".join(parts)


class BuiltinSipp(harness.Sipp):
    """SIPp playing one of its built-in scenarios (-sn uac, -sn uas)."""

    def __init__(self, workdir: Path, name: str, builtin: str, remote_port: int | None, **kw):
        super().__init__(workdir, name, f"({builtin})", remote_port, **kw)
        i = self.cmd.index("-sf")
        self.cmd[i:i + 2] = ["-sn", builtin]


# --------------------------------------------------------------------------
# application server stub


@dataclass
class Callback:
    """One request a device made to the stub."""
    at: float                      # time.monotonic() on arrival
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)  # names lower-case


class AppServerStub(harness.HttpStub):
    """An application server on 127.0.0.1:port answering every request with
    `status`; HTTPS with `cert` (CertFiles) . Records each request. Bounded:
    5 s per connection; stop() shuts it down and joins its thread."""

    def __init__(self, status: int = 200, cert: "harness.CertFiles | None" = None):
        self.port = free_port(udp=False, tcp=True)
        self.status = status
        self.cert = cert
        self.requests: list[Callback] = []
        self.lock = threading.Lock()

    @property
    def scheme(self) -> str:
        return "https" if self.cert else "http"

    @property
    def hostport(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def start(self) -> "AppServerStub":
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 5
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _answer(self):
                with stub.lock:
                    stub.requests.append(Callback(
                        at=time.monotonic(), method=self.command, path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()}))
                body = b"ok\n"
                self.send_response(stub.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = _answer
            do_POST = _answer

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, self.port), Handler)
        self.server.daemon_threads = True
        if self.cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert.cert, self.cert.key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.serve(self.server, f"app-server-stub-{self.port}")
        return self

    def received(self, request_id: str | None = None) -> list[Callback]:
        with self.lock:
            return [r for r in self.requests
                    if request_id is None or r.headers.get("beckon-request-id") == request_id]

    def wait_request(self, request_id: str, timeout: float = 10.0) -> Callback:
        try:
            return wait_until(lambda: (self.received(request_id) or [None])[0], timeout,
                              what=f"a callback for {request_id} on {self.hostport}")
        except TimeoutError as e:
            raise AssertionError(str(e)) from None

    def report(self) -> str:
        return "\n".join([f"== app server stub {self.scheme}://{self.hostport}:"]
                         + [f"  {r.method} {r.path} {r.headers}" for r in self.received()])
