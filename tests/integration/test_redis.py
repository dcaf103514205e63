"""The Redis store (issue 21): beckond with `[store] backend = "redis"` and a
real redis-server that the test starts on a free loopback port (AOF on,
appendfsync always) and stops by its pid.

- beckond killed with SIGKILL and started again reads its bindings back
  from Redis: a device registered before gets its ContactMe
- redis-server killed with SIGKILL and started again on its AOF loses
  nothing acknowledged: queued requests and the binding come back
- two nodes on one Redis: a ContactMe sent to node B for a device registered
  at node A is delivered by A (over the device's flow), once; GetDevice at
  either node shows the binding (once); a device neither has is
  UnknownDevice at B
- Redis stopped: a new ContactMe gets a Fault (HTTP 503) at once, the log
  says the link is down, /healthz is 503 and names Redis, /metrics has
  beckon_redis_up 0; beckond does not crash and serves again by itself
  once Redis is back

Run with /usr/bin/python3 (Debian's python3-zeep).
"""

import shutil
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

import test_subscribe as subscribe
from harness import (LOOPBACK, Beckond, Device, _register, free_port, stop_process, wait_until,
                     zeep_client)


def rid(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns() % 10**10}"


class RedisServer:
    """One redis-server of the test's own, on a free loopback port."""

    def __init__(self, workdir: Path):
        self.dir = Path(workdir) / "redis"
        self.dir.mkdir(exist_ok=True)
        self.port = free_port(udp=False, tcp=True)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> "RedisServer":
        redis = shutil.which("redis-server")
        if redis is None:
            raise unittest.SkipTest("redis-server is not installed (deploy/install-deps.sh)")
        log = open(self.dir / "redis.log", "ab")
        try:
            self.proc = subprocess.Popen(
                [redis, "--port", str(self.port), "--bind", LOOPBACK, "--save", "",
                 "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        _register(self.proc)
        wait_until(self.ping, 15, what="redis-server answering PING")
        return self

    def ping(self) -> bool:
        try:
            return self.command("PING") == b"+PONG"
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """One command (RESP), its first reply line."""
        out = f"*{len(args)}\r\n".encode()
        for a in args:
            b = a.encode()
            out += f"${len(b)}\r\n".encode() + b + b"\r\n"
        with socket.create_connection((LOOPBACK, self.port), timeout=2) as s:
            s.sendall(out)
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.split(b"\r\n")[0]

    def stop(self, kill: bool = False):
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
            self.proc.wait(10)
        else:
            stop_process(self.proc)
        self.proc = None


def redis_beckond(workdir: Path, redis: RedisServer, node: str) -> Beckond:
    """A Beckond whose [store] is the Redis at `redis`, as node `node`."""
    b = Beckond(workdir, config_name=f"beckond-{node}")
    text = b.config.read_text()
    store = f'[store]\npath = "{b.store_path}"'
    assert store in text
    b.config.write_text(text.replace(
        store,
        f'[store]\nbackend = "redis"\nredis_url = "{redis.url}"\n\n'
        f'[cluster]\nnode = "{node}"\nadvertise = "sip:{LOOPBACK}:{b.sip_port}"'))
    return b


def http_get(beckond: Beckond, path: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{LOOPBACK}:{beckond.soap_port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read().decode()


class RedisStore(subscribe.SubscribeBase):

    @classmethod
    def make_beckond(cls, workdir: Path) -> Beckond:
        cls.redis = RedisServer(workdir).start()
        return redis_beckond(workdir, cls.redis, "node-a")

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            if getattr(cls, "redis", None):
                cls.redis.stop()

    def restart_beckond(self):
        self.beckond.kill()
        self.beckond.start()
        type(self)._zeep = None  # a new connection to the new process

    def status_of(self, request_id: str):
        return self.zeep().service.GetContactRequest(requestId=request_id)

    def device(self, hold_ms: int = 30000) -> Device:
        d = Device(self.workdir, self.beckond, transport="udp", answers=True, hold_ms=hold_ms)
        self.sipps.append(d.sipp)
        return d

    def test_beckond_killed_reads_its_bindings_back_from_redis(self):
        phone = self.device()
        phone.register()
        self.assertEqual(self.redis.command("SCARD", "beckon:node-a:bindings"), b":1")
        self.restart_beckond()
        self.assertRegex(self.beckond.log(), r"restored 1 bindings")
        request = rid("after-kill")
        status = self.contact_me(deviceId=phone.instance, requestId=request,
                                 server="crm.example.com", waitMs=10000)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual(len(phone.notifies_for(request)), 1)

    def test_redis_killed_and_restarted_on_its_aof_loses_nothing(self):
        absent = self.device()
        queued = [rid(f"queued{i}") for i in range(5)]
        for r in queued:
            status = self.contact_me(deviceId=absent.instance, requestId=r,
                                     server="crm.example.com", queueSeconds=60, waitMs=100)
            self.assertEqual(status.state, "queued", status)
        self.redis.stop(kill=True)  # no shutdown save: only what the AOF has
        self.redis.start()
        self.restart_beckond()  # reads everything back from the restarted Redis
        for r in queued:
            self.assertEqual(self.status_of(r).state, "queued", r)
        absent.register()
        for r in queued:
            final = self.wait_state(r, {"delivered", "failed", "expired"})
            self.assertEqual(final.state, "delivered", final)

    def test_without_redis_requests_get_503_and_beckond_recovers(self):
        import zeep.exceptions

        phone = self.device(hold_ms=60000)
        phone.register()
        status, body = http_get(self.beckond, "/healthz")
        self.assertEqual(status, 200, body)
        self.assertIn("node node-a: linked", body)
        self.redis.stop()
        offset = len(self.beckond.log())
        # /healthz knows within the idle PING (1 s) and the connect timeout.
        wait_until(lambda: http_get(self.beckond, "/healthz")[0] == 503, 10,
                   what="/healthz 503 without Redis")
        status, body = http_get(self.beckond, "/healthz")
        self.assertIn("not linked", body)
        self.assertRegex(http_get(self.beckond, "/metrics")[1],
                         r'beckon_redis_up\{node="node-a"\} 0')
        self.assertIn("the link to Redis is down", self.beckond.log()[offset:])

        started = time.monotonic()
        with self.assertRaises(zeep.exceptions.Fault) as refused:
            self.contact_me(deviceId=phone.instance, requestId=rid("no-redis"),
                            server="crm.example.com", waitMs=5000)
        self.assertLess(time.monotonic() - started, 4.0, "the Fault did not come at once")
        self.assertIn("could not be stored", str(refused.exception.message))
        from lxml import etree
        detail = refused.exception.detail
        self.assertIn(b"Unavailable", etree.tostring(detail) if detail is not None else b"",
                      "the Fault's code is not Unavailable")
        self.assertIsNone(self.beckond.proc.poll(), "beckond died without Redis")

        self.redis.start()
        wait_until(lambda: http_get(self.beckond, "/healthz")[0] == 200, 15,
                   what="/healthz 200 once Redis is back")
        self.assertRegex(http_get(self.beckond, "/metrics")[1],
                         r'beckon_redis_up\{node="node-a"\} 1')
        request = rid("redis-back")
        status = self.contact_me(deviceId=phone.instance, requestId=request,
                                 server="crm.example.com", waitMs=10000)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual(len(phone.notifies_for(request)), 1)


class TwoNodes(subscribe.SubscribeBase):

    @classmethod
    def make_beckond(cls, workdir: Path) -> Beckond:
        cls.redis = RedisServer(workdir).start()
        return redis_beckond(workdir, cls.redis, "node-a")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.node_b = redis_beckond(cls.workdir, cls.redis, "node-b").start()
        cls.zeep_b = zeep_client(cls.node_b)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.zeep_b.transport.session.close()
            cls.node_b.stop()
            super().tearDownClass()
        finally:
            cls.redis.stop()
        if cls.node_b.bad_exits:
            raise AssertionError(f"node-b exited with {cls.node_b.bad_exits}")

    def test_a_contact_me_at_another_node_is_delivered_by_the_owner(self):
        import zeep.exceptions

        phone = Device(self.workdir, self.beckond, transport="udp", answers=True, hold_ms=30000)
        self.sipps.append(phone.sipp)
        phone.register()  # at node A
        request = rid("via-b")
        status = self.zeep_b.service.ContactMe(deviceId=phone.instance, requestId=request,
                                               server="crm.example.com", waitMs=10000)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual(len(phone.notifies_for(request)), 1)
        wait_until(lambda: f"contact-me request={request} from node node-b taken here"
                   in self.beckond.log(), 5, what="node A's log of the relayed request")
        # B did not take it itself: A holds the device's flow.
        self.assertNotIn(f"request={request} app=", self.node_b.log())
        # GetDevice sees the whole cluster: at B, A's binding; at A, only it.
        at_b = self.zeep_b.service.GetDevice(deviceId=phone.instance)
        self.assertEqual(len(at_b.binding), 1, at_b)
        self.assertEqual(at_b.binding[0].state, "reachable", at_b)
        at_a = self.zeep().service.GetDevice(deviceId=phone.instance)
        self.assertEqual(len(at_a.binding), 1, at_a)
        self.assertEqual(at_b.binding[0].contact, at_a.binding[0].contact)
        with self.assertRaises(zeep.exceptions.Fault) as unknown:
            self.zeep_b.service.ContactMe(deviceId="urn:uuid:00000000-0000-4000-8000-00000000dead",
                                          requestId=rid("nobody"), server="crm.example.com",
                                          waitMs=1000)
        from lxml import etree
        detail = unknown.exception.detail
        self.assertIn(b"UnknownDevice", etree.tostring(detail) if detail is not None else b"")


if __name__ == "__main__":
    unittest.main()
