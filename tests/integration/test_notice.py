"""The registration notice (contract: "Registration notice"): when a device
becomes reachable for package P (a binding subscribed to P appears where
none was; refreshes do not count), beckond calls DeviceRegistered on the
notice_url of every application server configured for P, retrying with
back-off when the call fails.

The application server is a stub the test starts (devices.NoticeStub:
http.server on a free loopback port, in a thread) that parses the SOAP body
with xml.etree.

Run with /usr/bin/python3.
"""

import datetime
import time
import unittest

from devices import SOAP11_NS, SOAP12_NS, DevicesTestCase, NoticeStub
from harness import NS, PACKAGE, basic_auth

NOTICE_WAIT_S = 10.0


class NoticeCase(DevicesTestCase):
    """One beckond with one application server "crm" whose notice_url is
    the class's stub (started before beckond unless start_stub_first is
    False)."""

    stub_options: dict = {}
    start_stub_first = True
    soap_tls = True  # beckond takes application servers only with [soap.tls]

    @classmethod
    def setUpClass(cls):
        cls.stub = NoticeStub(**cls.stub_options)
        if cls.start_stub_first:
            cls.stub.start()
        cls.app_servers = [{"name": "crm", "basic_auth": basic_auth("crm", "crm-secret"),
                            "packages": [PACKAGE], "notice_url": cls.stub.url}]
        try:
            super().setUpClass()
        except Exception:
            cls.stub.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.stub.stop()

    def dump(self):
        super().dump()
        import sys
        sys.stderr.write(self.stub.report() + "\n")

    def registering(self, scenario="dev_register_refresh.xml"):
        """A device that registers (and, with dev_register_refresh.xml,
        refreshes 1.5 s later); it answers no NOTIFY."""
        return self.phone("device_notify_ignore.xml", scenario=scenario,
                          transport="udp").register()

    def notices_of(self, dev):
        return self.stub.for_device(dev.aor)

    def wait_notices(self, dev, count, timeout=NOTICE_WAIT_S):
        try:
            return self.stub.wait_for(lambda _: len(self.notices_of(dev)) >= count or None,
                                      timeout, what=f"{count} notice call(s) for {dev.aor}")
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{self.stub.report()}") from None

    def assertNoticeFor(self, n, dev, since):
        self.assertIsNone(n.error, n.raw)
        self.assertEqual(n.path, "/notice")
        self.assertIn(n.soap_ns, (SOAP11_NS, SOAP12_NS), n.raw)
        self.assertEqual(n.operation, f"{{{NS}}}DeviceRegistered", n.raw)
        f = n.fields
        self.assertEqual(f.get("aor"), dev.aor, n.raw)
        self.assertEqual(f.get("package"), PACKAGE, n.raw)
        # the instance id as the device registered it (<urn:uuid:...>), or
        # without its angle brackets; deviceId is the instance id
        self.assertIn(f.get("instance"), (dev.instance, dev.instance.strip("<>")), n.raw)
        self.assertEqual(f.get("deviceId"), f.get("instance"), n.raw)
        self.assertTrue(f.get("sipServer"), n.raw)
        at = datetime.datetime.fromisoformat(f["at"].replace("Z", "+00:00"))
        if at.tzinfo is None:
            at = at.replace(tzinfo=datetime.timezone.utc)
        self.assertLess(abs((at - since).total_seconds()), 60, n.raw)


class NoticeOnce(NoticeCase):

    def test_one_notice_per_device_refresh_sends_none(self):
        since = datetime.datetime.now(datetime.timezone.utc)
        dev = self.registering()
        self.wait_notices(dev, 1)
        dev.sipp.wait_for_log(f"refreshed {dev.user}", 10)
        self.assertEqual(dev.sipp.wait(10), 0, dev.sipp.report())
        time.sleep(2.5)  # longer than the first back-off: a stray retry would show
        notices = self.notices_of(dev)
        self.assertEqual(len(notices), 1, self.stub.report())
        self.assertNoticeFor(notices[0], dev, since)
        self.assertEqual(notices[0].answered, 200)

    def test_each_device_gets_its_own_notice(self):
        since = datetime.datetime.now(datetime.timezone.utc)
        devs = [self.registering("dev_register_refresh.xml") for _ in range(2)]
        for d in devs:
            self.wait_notices(d, 1)
        for d in devs:
            self.assertEqual(d.sipp.wait(10), 0, d.sipp.report())
        time.sleep(1.0)
        for d in devs:
            notices = self.notices_of(d)
            self.assertEqual(len(notices), 1, self.stub.report())
            self.assertNoticeFor(notices[0], d, since)


class NoticeRetriedAfter500(NoticeCase):
    stub_options = {"fail_first": 2, "fail_status": 500}

    def test_notice_arrives_after_two_500s(self):
        since = datetime.datetime.now(datetime.timezone.utc)
        dev = self.registering()
        calls = self.wait_notices(dev, 3, timeout=15)
        time.sleep(2.0)
        calls = self.notices_of(dev)
        self.assertEqual([c.answered for c in calls], [500, 500, 200], self.stub.report())
        for c in calls:
            self.assertNoticeFor(c, dev, since)
        self.assertEqual({c.raw for c in calls}, {calls[0].raw}, "every attempt is the same call")
        gap1, gap2 = calls[1].at - calls[0].at, calls[2].at - calls[1].at
        self.assertGreater(gap1, 0.5, f"retried after {gap1:.2f} s: no back-off")
        self.assertGreater(gap2, gap1, f"back-off does not grow: {gap1:.2f} s, {gap2:.2f} s")


class NoticeServerNotListeningYet(NoticeCase):
    start_stub_first = False

    def test_notice_arrives_once_the_server_listens(self):
        since = datetime.datetime.now(datetime.timezone.utc)
        dev = self.registering()
        time.sleep(1.5)  # the first attempt (at least) finds nobody listening
        self.assertEqual(self.notices_of(dev), [])
        self.stub.start()
        self.wait_notices(dev, 1, timeout=15)
        time.sleep(1.0)
        notices = self.notices_of(dev)
        self.assertEqual(len(notices), 1, self.stub.report())
        self.assertNoticeFor(notices[0], dev, since)
        self.assertIn("notice", self.beckond.log()[self._log_offset:].lower())


if __name__ == "__main__":
    unittest.main()
