"""The beckon command-line client: ContactMe from the shell.

Exit status 0 when delivered, 1 when not delivered, 2 on a fault or error.
"""

import json
import unittest

from harness import BeckondTestCase, Contact, free_port, run_beckon


class Client(BeckondTestCase):

    def test_delivered(self):
        expect = Contact(request_id="cli-1", server="crm.example.com:8443", protocol="https",
                         path="/sync/inbox", alt_servers=["198.51.100.7:8443"],
                         function="inbox", time_slot="2026-11-21T10:00:00Z/PT5M")
        dev = self.device(transport="udp", expect=expect).register()
        r = run_beckon(self.beckond, [
            "contact-me", "--device", dev.instance, "--request-id", "cli-1",
            "--callback", "crm.example.com:8443", "--protocol", "https", "--path", "/sync/inbox",
            "--alt-server", "198.51.100.7:8443", "--function", "inbox",
            "--time-slot", "2026-11-21T10:00:00Z/PT5M", "--wait-ms", "10000"])
        self.assertEqual(r.returncode, 0, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        lines = r.stdout.splitlines()
        self.assertGreaterEqual(len(lines), 2, r.stdout)
        self.assertEqual(lines[0], "request cli-1: delivered", r.stdout)
        self.assertIn("200", lines[1], "one line per delivery, with its SIP status")
        self.assertDeviceNotified(dev)

    def test_delivered_json_with_port_apart(self):
        expect = Contact(request_id="cli-json-1", server="crm.example.com:8443")
        dev = self.device(transport="tcp", expect=expect).register()
        r = run_beckon(self.beckond, [
            "contact-me", "--device", dev.aor, "--request-id", "cli-json-1",
            "--callback", "crm.example.com", "--port", "8443", "--wait-ms", "10000", "--json"])
        self.assertEqual(r.returncode, 0, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        out = json.loads(r.stdout)
        self.assertEqual(out["requestId"], "cli-json-1", out)
        self.assertEqual(out["state"], "delivered", out)
        self.assertEqual(len(out["deliveries"]), 1, out)
        d = out["deliveries"][0]
        self.assertEqual(d["sipStatus"], 200, out)
        self.assertEqual(d["transport"].lower(), "tcp", out)
        self.assertIn("127.0.0.2:5999", d["contact"], out)
        for key in ("reason", "at"):
            self.assertIn(key, d, out)
        self.assertDeviceNotified(dev)

    def test_not_delivered_exits_1(self):
        dev = self.device(transport="udp", answers=False, hold_ms=5000).register()
        r = run_beckon(self.beckond, ["contact-me", "--device", dev.instance,
                                      "--request-id", "cli-silent-1", "--wait-ms", "300"])
        self.assertEqual(r.returncode, 1, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertIn("request cli-silent-1: notifying", r.stdout)

    def test_unknown_device_exits_2(self):
        r = run_beckon(self.beckond, ["contact-me", "--device", "sip:nobody@example.com",
                                      "--request-id", "cli-unknown-1"])
        self.assertEqual(r.returncode, 2, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertIn("UnknownDevice", r.stdout + r.stderr)

    def test_unknown_device_json_exits_2(self):
        r = run_beckon(self.beckond, ["contact-me", "--device", "7999999999",
                                      "--request-id", "cli-unknown-2", "--json"])
        self.assertEqual(r.returncode, 2, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertIn("UnknownDevice", r.stdout + r.stderr)

    def test_server_unreachable_exits_2(self):
        nobody = f"http://127.0.0.1:{free_port(udp=False)}/"  # nothing listens there
        r = run_beckon(nobody, ["contact-me", "--device", "7999999999",
                                "--request-id", "cli-down-1"], timeout=20)
        self.assertEqual(r.returncode, 2, f"stdout: {r.stdout}\nstderr: {r.stderr}")


if __name__ == "__main__":
    unittest.main()
