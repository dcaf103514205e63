"""A device that never answers the NOTIFY.

ContactMe answers `notifying` when waitMs ends before the NOTIFY transaction
does, and `failed` with a delivery whose sipStatus is 408 when the NOTIFY
transaction times out first ([contact_me] notify_timeout_ms).
"""

import time
import unittest

from harness import BeckondTestCase


class SilentDeviceMixin:

    def contact_me(self, dev, request_id, wait_ms):
        start = time.monotonic()
        status = self.zeep().service.ContactMe(deviceId=dev.instance, requestId=request_id,
                                               server="crm.example.com:8443", waitMs=wait_ms)
        return status, time.monotonic() - start

    def assertNeverAnswered(self, dev, request_id, min_notifies=1):
        notifies = dev.notifies()
        self.assertGreaterEqual(len(notifies), min_notifies, dev.sipp.report())
        want = f"state: pending\r\nrequest-id: {request_id}\r\nserver: crm.example.com:8443\r\n"
        self.assertEqual({n.body for n in notifies}, {want.encode()},
                         "every NOTIFY (retransmissions too) carries the request")
        self.assertEqual([m.method for m in dev.sipp.sent()], ["REGISTER"],
                         f"the silent device answered something\n{dev.sipp.report()}")

class WaitEndsFirst(SilentDeviceMixin, BeckondTestCase):
    notify_timeout_ms = 4000

    def check(self, transport):
        dev = self.device(transport=transport, answers=False, hold_ms=6000).register()
        request_id = f"wait-first-{transport}"
        status, took = self.contact_me(dev, request_id, 500)
        self.assertEqual(status.state, "notifying", status)
        self.assertGreaterEqual(took, 0.4, "ContactMe answered before waitMs ended")
        self.assertLess(took, 3.0, "ContactMe took far longer than waitMs")
        for d in status.delivery:  # in flight: no final response yet
            self.assertEqual(d.sipStatus, 0, status)
        dev.sipp.wait_for_log("ignored a NOTIFY", 5)
        dev.sipp.stop()
        self.assertNeverAnswered(dev, request_id)

    def test_udp(self):
        self.check("udp")

    def test_tcp(self):
        self.check("tcp")


class NotifyTimesOutFirst(SilentDeviceMixin, BeckondTestCase):
    notify_timeout_ms = 1000

    def check(self, transport):
        dev = self.device(transport=transport, answers=False, hold_ms=6000).register()
        request_id = f"timeout-first-{transport}"
        status, took = self.contact_me(dev, request_id, 5000)
        self.assertEqual(status.state, "failed", status)
        self.assertGreaterEqual(took, 0.9, "failed before notify_timeout_ms")
        self.assertLess(took, 4.5, "waitMs ended first: the NOTIFY timeout is not 1000 ms")
        self.assertEqual(len(status.delivery), 1, status)
        self.assertEqual(status.delivery[0].sipStatus, 408, status)
        dev.sipp.stop()
        # UDP: the NOTIFY was retransmitted (T1 = 500 ms) and never answered
        self.assertNeverAnswered(dev, request_id, min_notifies=2 if transport == "udp" else 1)

    def test_udp(self):
        self.check("udp")

    def test_tcp(self):
        self.check("tcp")


if __name__ == "__main__":
    unittest.main()
