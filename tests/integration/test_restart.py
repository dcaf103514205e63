"""Durability (issue 5): what beckond acknowledged survives its restart and
its crash (contract: "Running it": bindings, subscriptions, queued and recent
requests; a request that ContactMe acknowledged is never lost).

- a clean restart (SIGTERM) and a crash (SIGKILL): a registered UDP device, an
  explicit subscription (its dialog rebuilt: the NOTIFY after the restart is
  inside it, with a higher CSeq) and a request queued for a device that has
  not registered yet all survive; that device registers after the restart and
  gets the NOTIFY of the request queued before it
- a crash under load: ContactMe calls run from several threads while
  beckond is killed and started again; every request that was acknowledged
  is found by GetContactRequest afterwards and ends delivered

SIPp devices keep running across the restart (beckond comes back on the same
ports). Run with /usr/bin/python3 (Debian's python3-zeep).
"""

import threading
import time
import unittest

import test_subscribe as subscribe
from harness import Contact, Device, new_instance, zeep_client
from sip_rules import cseq_of


def rid(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns() % 10**10}"


class Restart(subscribe.SubscribeBase):

    def restart(self, crash: bool):
        if crash:
            self.beckond.kill()
        else:
            self.assertEqual(self.beckond.stop(), 0, self.beckond.log())
        self.beckond.start()
        type(self)._zeep = None  # a new connection to the new process

    def survives(self, crash: bool):
        phone = Device(self.workdir, self.beckond, transport="udp", answers=True,
                       hold_ms=40000)
        self.sipps.append(phone.sipp)
        phone.register()
        sub = self.subscriber("sub_hold.xml", transport="udp")
        sub.wait_log("subscribed")
        before = sub.notifies()
        absent = Device(self.workdir, self.beckond, transport="udp", answers=True,
                        hold_ms=20000)
        self.sipps.append(absent.sipp)
        queued = Contact(request_id=rid("queued"), server="crm.example.com")
        status = self.contact_me(deviceId=absent.instance, requestId=queued.request_id,
                                 server=queued.server, queueSeconds=60, waitMs=200)
        self.assertEqual(status.state, "queued", status)

        self.restart(crash)
        self.assertIn("restored 2 bindings", self.beckond.log())

        # The registration: still known, and reached where it was.
        device = self.zeep().service.GetDevice(deviceId=phone.instance)
        self.assertEqual(len(device.binding), 1, device)
        to_phone = rid("phone")
        status = self.contact_me(deviceId=phone.instance, requestId=to_phone,
                                 server="crm.example.com", waitMs=10000)
        self.assertEqual(status.state, "delivered", status)
        self.assertEqual(len(phone.notifies_for(to_phone)), 1)

        # The subscription: its dialog, rebuilt.
        to_sub = rid("sub")
        status = self.contact_me(deviceId=sub.instance, requestId=to_sub,
                                 server="crm.example.com", waitMs=10000)
        self.assertEqual(status.state, "delivered", status)
        got = sub.notifies_for(to_sub)
        self.assertEqual(len(got), 1, sub.sipp.report())
        self.assertEqual(got[0].headers("Call-ID"), [sub.call_id], got[0].raw)
        last = max(int(cseq_of(n).split()[0]) for n in before)
        self.assertGreater(int(cseq_of(got[0]).split()[0]), last, got[0].raw)

        # The queued request: delivered when its device registers at last.
        self.assertEqual(self.status_of(queued.request_id).state, "queued")
        absent.register()
        final = self.wait_state(queued.request_id, {"delivered", "failed", "expired"})
        self.assertEqual(final.state, "delivered", final)
        self.assertEqual(len(absent.notifies_for(queued.request_id)), 1)

    def status_of(self, request_id: str):
        return self.zeep().service.GetContactRequest(requestId=request_id)

    def test_clean_restart(self):
        self.survives(crash=False)

    def test_kill_9(self):
        self.survives(crash=True)


class CrashUnderLoad(subscribe.SubscribeBase):

    def test_no_acknowledged_request_is_lost(self):
        phone = Device(self.workdir, self.beckond, transport="udp", answers=True,
                       hold_ms=60000)
        self.sipps.append(phone.sipp)
        phone.register()
        acknowledged: list[str] = []
        refused = [0]
        lock = threading.Lock()
        stop = threading.Event()

        def load(worker: int):
            client = None
            n = 0
            deadline = time.monotonic() + 30  # bound, whatever happens
            while not stop.is_set() and time.monotonic() < deadline:
                n += 1
                request_id = f"load-{worker}-{n}"
                try:
                    if client is None:
                        client = zeep_client(self.beckond, timeout=10)
                    client.service.ContactMe(deviceId=phone.instance, requestId=request_id,
                                             server="crm.example.com", queueSeconds=60,
                                             waitMs=100)
                except Exception:  # beckond is down, or went down mid-call
                    client = None
                    with lock:
                        refused[0] += 1
                    time.sleep(0.05)
                    continue
                with lock:
                    acknowledged.append(request_id)

        threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 10
            while len(acknowledged) < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.beckond.kill()
            before_crash = len(acknowledged)
            self.beckond.start()
            type(self)._zeep = None
            time.sleep(1.0)  # load on the new process too
        finally:
            stop.set()
            for t in threads:
                t.join(40)
        self.assertGreaterEqual(before_crash, 40, "too little load before the crash")
        self.assertGreater(len(acknowledged), before_crash, "no load after the restart")

        client = self.zeep()
        pending = set(acknowledged)
        states: dict[str, str] = {}
        deadline = time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            for request_id in sorted(pending):
                status = client.service.GetContactRequest(requestId=request_id)
                states[request_id] = status.state
                if status.state == "delivered":
                    pending.discard(request_id)
            if pending:
                time.sleep(0.2)
        self.assertEqual({r: states[r] for r in pending}, {},
                         "acknowledged requests not delivered after the crash")
        self.assertEqual(len(states), len(acknowledged))


if __name__ == "__main__":
    unittest.main()
