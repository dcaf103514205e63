"""GET /metrics and GET /healthz on the SOAP listener, and JSON log lines.

beckond runs for real; SIPp devices register (and answer NOTIFYs 200 or
486), ContactMe calls go through zeep and the beckon client; then /metrics
is scraped over HTTP and the counts must be the ones these calls made:
REGISTER answers by status, bindings, requests by state, NOTIFY outcomes by
status, histogram counts, SOAP calls by result. Every scrape is also checked
against the text exposition format 0.0.4 (HELP and TYPE before the samples,
valid names, cumulative buckets with +Inf equal to _count).

The JSON class runs beckond with log.format = "json": every line must parse
as one JSON object, and the registration, request and NOTIFY lines carry
their ids as members.

Run with /usr/bin/python3 (Debian's python3-zeep).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import unittest
import urllib.request

import zeep.exceptions

from harness import (DOMAIN, LOOPBACK, Beckond, BeckondTestCase, Sipp, new_user, run_beckon,
                     wait_until)

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$")


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str, str]:
    """(status, Content-Type, body) of a GET, without any proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def parse_exposition(text: str) -> dict[str, float]:
    """The samples of a text exposition (format 0.0.4) as {series: value},
    series written name{a="x",b="y"} with the labels in their order. Raises
    AssertionError where the text breaks the format."""
    samples: dict[str, float] = {}
    helps: dict[str, str] = {}
    types: dict[str, str] = {}
    done: set[str] = set()  # families whose samples are over (no interleaving)
    current = None
    assert text.endswith("\n"), "the exposition must end with a newline"
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert NAME.match(name), line
            assert name not in helps, f"HELP twice for {name}"
            helps[name] = line
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name in helps, f"TYPE before HELP for {name}"
            assert kind in ("counter", "gauge", "histogram"), line
            assert name not in types, f"TYPE twice for {name}"
            types[name] = kind
            if current is not None:
                done.add(current)
            current = name
            continue
        assert line and not line.startswith("#"), f"unexpected line {line!r}"
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, _, labels, value = m.groups()
        family = name
        if types.get(current) == "histogram":
            family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert family == current, f"{name} outside its family's block (in {current})"
        assert family not in done, f"{family} interleaved"
        if labels:
            pairs = LABEL.findall(labels)
            rebuilt = ",".join(f'{k}="{v}"' for k, v in pairs)
            assert rebuilt == labels, f"bad labels in {line!r}"
        series = f"{name}{{{labels}}}" if labels else name
        assert series not in samples, f"{series} twice"
        samples[series] = float(value)
    for name, kind in types.items():
        if kind != "histogram":
            continue
        # per label set: cumulative buckets, +Inf == _count
        groups: dict[str, list[tuple[float, float]]] = {}
        for series, value in samples.items():
            if not series.startswith(name + "_bucket{"):
                continue
            labels = series[len(name) + 8:-1]
            le = re.search(r'le="([^"]+)"', labels).group(1)
            rest = re.sub(r',?le="[^"]+"', "", labels)
            groups.setdefault(rest, []).append((math.inf if le == "+Inf" else float(le), value))
        for rest, buckets in groups.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), f"{name}{{{rest}}}: buckets not cumulative"
            assert buckets[-1][0] == math.inf, f"{name}{{{rest}}}: no +Inf bucket"
            count = samples[f"{name}_count{{{rest}}}" if rest else f"{name}_count"]
            assert buckets[-1][1] == count, f"{name}{{{rest}}}: +Inf != _count"
    return samples


class Scraper:
    def __init__(self, beckond: Beckond):
        self.url = f"http://{LOOPBACK}:{beckond.soap_port}"

    def metrics(self) -> dict[str, float]:
        status, ctype, body = http_get(self.url + "/metrics")
        assert status == 200, f"/metrics answered {status}: {body}"
        assert ctype == "text/plain; version=0.0.4; charset=utf-8", ctype
        return parse_exposition(body)


class MetricsAndHealth(BeckondTestCase):
    notify_timeout_ms = 3000

    def setUp(self):
        super().setUp()
        self.scraper = Scraper(self.beckond)

    def scrape(self) -> dict[str, float]:
        return self.scraper.metrics()

    def delta(self, before: dict[str, float], after: dict[str, float], series: str) -> float:
        return after.get(series, 0.0) - before.get(series, 0.0)

    def wait_metric(self, series: str, want: float, timeout: float = 5.0) -> dict[str, float]:
        """Scrapes until `series` is `want` (the binding gauges are published
        every 100 ms); returns that scrape."""
        last = {}

        def reached():
            last["m"] = self.scrape()
            return last["m"] if last["m"].get(series) == want else None

        try:
            return wait_until(reached, timeout, interval=0.1, what=f"{series} == {want}")
        except TimeoutError:
            raise AssertionError(f"{series} is {last['m'].get(series)}, not {want}") from None

    def test_healthz(self):
        status, ctype, body = http_get(self.scraper.url + "/healthz")
        self.assertEqual(status, 200, body)
        self.assertEqual(ctype, "text/plain; charset=utf-8")
        lines = body.splitlines()
        self.assertEqual(lines[0], "ok", body)
        self.assertRegex(body, r"(?m)^sip: ok \(answered in [0-9.]+ ms\)$")
        self.assertRegex(body, r"(?m)^soap: ok ")
        self.assertRegex(body, r"(?m)^store: ok \([0-9]+ writes queued\)$")

    def test_threads_are_named_for_operators(self):
        # top -H, ps -L and gdb show which part of beckond a thread is.
        tasks = f"/proc/{self.beckond.proc.pid}/task"
        names = []
        for tid in os.listdir(tasks):
            with open(f"{tasks}/{tid}/comm") as f:
                names.append(f.read().strip())
        for name in ("sip", "store", "soap-accept", "soap-0"):
            self.assertIn(name, names)
        workers = sorted(n for n in names if re.fullmatch(r"soap-[0-9]+", n))
        self.assertEqual(workers, sorted(f"soap-{i}" for i in range(len(workers))), names)

    def test_every_family_is_beckon_and_documented(self):
        status, _, body = http_get(self.scraper.url + "/metrics")
        self.assertEqual(status, 200)
        parse_exposition(body)
        families = re.findall(r"(?m)^# TYPE (\S+) ", body)
        self.assertTrue(all(f.startswith("beckon_") for f in families), families)
        # every family is listed in docs/monitoring.md
        from pathlib import Path
        doc = (Path(__file__).resolve().parents[2] / "docs" / "monitoring.md").read_text()
        missing = [f for f in families if f"`{f}`" not in doc]
        self.assertEqual(missing, [], "families missing from docs/monitoring.md")

    def test_prometheus_own_parser_reads_every_family(self):
        # A parser we did not write (Debian's python3-prometheus-client):
        # the exposition is what a Prometheus server reads.
        from prometheus_client.parser import text_string_to_metric_families
        status, _, body = http_get(self.scraper.url + "/metrics")
        self.assertEqual(status, 200)
        parsed = {f.name: f for f in text_string_to_metric_families(body)}
        ours = set(re.findall(r"(?m)^# TYPE (\S+) ", body))
        # the parser names a counter family without its _total
        names = {n[:-len("_total")] if n.endswith("_total") else n for n in ours}
        self.assertEqual(set(parsed), names)
        types = dict(re.findall(r"(?m)^# TYPE (\S+) (\S+)$", body))
        for name, kind in types.items():
            key = name[:-len("_total")] if kind == "counter" and name.endswith("_total") else name
            self.assertEqual(parsed[key].type, kind, name)

    def test_register_answers_by_status(self):
        before = self.scrape()
        s = Sipp(self.workdir, f"refused-{new_user()}", "reg_refused.xml",
                 remote_port=self.beckond.sip_port, keys={"domain": DOMAIN, "user": new_user()})
        self.sipps.append(s)
        s.start()
        self.assertEqual(s.wait(30), 0, s.report())
        after = self.scrape()
        # reg_refused.xml: 423 twice, 420, 404 (other domain), 400 three
        # times, then a query answered 200
        for status, n in ((423, 2), (420, 1), (404, 1), (400, 3), (200, 1)):
            series = f'beckon_register_responses_total{{status="{status}"}}'
            self.assertEqual(self.delta(before, after, series), n, series)
        for change in ("added", "removed"):
            series = f'beckon_binding_changes_total{{change="{change}"}}'
            self.assertEqual(self.delta(before, after, series), 0, series)

    def test_bindings_requests_and_notify_outcomes(self):
        before = self.wait_metric("beckon_bindings", self.scrape()["beckon_bindings"])
        ok = self.device(notify_status=200, hold_ms=15000).register()
        busy = self.device(notify_status=486, hold_ms=15000).register()
        registered = self.wait_metric("beckon_bindings", before["beckon_bindings"] + 2)
        self.assertEqual(self.delta(before, registered,
                                    'beckon_binding_changes_total{change="added"}'), 2)
        self.assertEqual(self.delta(before, registered,
                                    'beckon_register_responses_total{status="200"}'), 2)
        self.assertEqual(self.delta(before, registered,
                                    'beckon_subscriptions{kind="implicit"}'), 2)

        client = self.zeep()
        rid = f"m-{time.monotonic_ns()}"
        # delivered (zeep), failed (486, the beckon client), unknown device,
        # and a queued request then cancelled
        s1 = client.service.ContactMe(deviceId=ok.instance, requestId=rid + "-ok", waitMs=10000)
        self.assertEqual(s1.state, "delivered", s1)
        r = run_beckon(self.beckond, ["contact-me", "--device", busy.aor, "--request-id",
                                      rid + "-busy", "--wait-ms", "10000"])
        self.assertIn(f"request {rid}-busy: failed", r.stdout, r.stderr)
        with self.assertRaises(zeep.exceptions.Fault):
            client.service.ContactMe(deviceId="sip:nobody@" + DOMAIN, requestId=rid + "-none")
        s3 = client.service.ContactMe(deviceId="sip:later@" + DOMAIN, requestId=rid + "-q",
                                      queueSeconds=60, waitMs=0)
        self.assertEqual(s3.state, "queued", s3)
        during = self.scrape()
        self.assertEqual(self.delta(before, during, 'beckon_contact_requests{state="queued"}'), 1)
        s4 = client.service.CancelContactRequest(requestId=rid + "-q")
        self.assertEqual(s4.state, "cancelled", s4)
        after = self.scrape()

        d = lambda series: self.delta(before, after, series)  # noqa: E731
        self.assertEqual(d("beckon_contact_requests_created_total"), 3)
        self.assertEqual(d('beckon_contact_request_transitions_total{state="queued"}'), 3)
        self.assertEqual(d('beckon_contact_request_transitions_total{state="notifying"}'), 2)
        for state in ("delivered", "failed", "cancelled"):
            self.assertEqual(d(f'beckon_contact_request_transitions_total{{state="{state}"}}'), 1,
                             state)
            self.assertEqual(d(f'beckon_contact_requests{{state="{state}"}}'), 1, state)
        self.assertEqual(d('beckon_contact_request_transitions_total{state="expired"}'), 0)
        self.assertEqual(d('beckon_contact_requests{state="queued"}'), 0)
        self.assertEqual(d('beckon_contact_requests{state="notifying"}'), 0)
        self.assertEqual(d("beckon_contact_request_delivery_seconds_count"), 1)
        self.assertEqual(d('beckon_notify_responses_total{kind="request",status="200"}'), 1)
        self.assertEqual(d('beckon_notify_responses_total{kind="request",status="486"}'), 1)
        self.assertEqual(d('beckon_notify_duration_seconds_count{kind="request"}'), 2)
        self.assertEqual(d('beckon_notifies_in_flight'), 0)
        self.assertEqual(
            d('beckon_soap_requests_total{operation="ContactMe",result="ok"}'), 3)
        self.assertEqual(
            d('beckon_soap_requests_total{operation="ContactMe",result="UnknownDevice"}'), 1)
        self.assertEqual(
            d('beckon_soap_requests_total{operation="CancelContactRequest",result="ok"}'), 1)
        self.assertEqual(
            d('beckon_soap_request_duration_seconds_count{operation="ContactMe"}'), 4)
        # the delivered one waited for its 200: more than nothing, less than its waitMs
        took = d("beckon_contact_request_delivery_seconds_sum")
        self.assertTrue(0 < took < 10, took)
        # every change was committed to the store before it was acknowledged:
        # the two bindings and the three requests at least, in group commits
        self.assertGreaterEqual(d("beckon_store_writes_total"), 5)
        self.assertGreaterEqual(d("beckon_store_commit_duration_seconds_count"), 1)
        self.assertEqual(d("beckon_store_errors_total"), 0)
        self.assertEqual(after["beckon_sip_work_queue_depth"], 0)
        self.assertEqual(after["beckon_notice_queue_depth"], 0)


class JsonLogs(BeckondTestCase):
    """log.format = "json": one object per line, ids as members."""

    @classmethod
    def make_beckond(cls, workdir):
        b = Beckond(workdir, log_level="info")
        text = b.config.read_text()
        assert "[log]\n" in text
        b.config.write_text(text.replace("[log]\n", '[log]\nformat = "json"\n'))
        return b

    def lines(self) -> list[dict]:
        out = []
        text = self.beckond.log()
        # only whole lines: the logging thread may be writing the last one
        for line in text[:text.rfind("\n") + 1].splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                self.fail(f"not a JSON line: {line!r}")
            self.assertIsInstance(obj, dict, line)
            for key in ("time", "level", "thread", "msg"):
                self.assertIn(key, obj, line)
            out.append(obj)
        return out

    def test_lines_parse_and_carry_the_ids(self):
        dev = self.device(notify_status=200, hold_ms=10000).register()
        rid = f"json-{time.monotonic_ns()}"
        status = self.zeep().service.ContactMe(deviceId=dev.aor, requestId=rid, waitMs=10000)
        self.assertEqual(status.state, "delivered", status)

        def logged():
            lines = self.lines()
            return lines if any(o.get("request") == rid and o.get("state") == "delivered"
                                for o in lines) else None

        lines = wait_until(logged, 5.0, what="the delivered line in the log")
        added = [o for o in lines if o["msg"].startswith("registration added")
                 and o.get("aor") == dev.aor]
        self.assertEqual(len(added), 1, lines)
        self.assertEqual(added[0]["instance"], dev.instance.strip("<>").lower())
        self.assertEqual(added[0]["source"], dev.source)
        self.assertEqual(added[0]["via"], "udp")
        self.assertIn(dev.user, added[0]["contact"])

        mine = [o for o in lines if o.get("request") == rid]
        created = [o for o in mine if o["msg"].startswith("contact-me") and "created" in o["msg"]]
        self.assertEqual(len(created), 1, mine)
        self.assertEqual(created[0]["app"], "local")
        self.assertEqual(created[0]["device"], dev.aor)
        states = [o["state"] for o in mine if o["msg"].startswith("contact-me") and "state" in o]
        self.assertEqual(states, ["notifying", "delivered"], mine)
        notify = [o for o in mine if o["msg"].startswith("notify ")]
        self.assertEqual(len(notify), 1, mine)
        self.assertEqual(notify[0]["status"], "200")
        self.assertEqual(notify[0]["device"], dev.aor)
        self.assertTrue(notify[0]["binding"].isdigit(), notify[0])
        self.assertGreaterEqual(float(notify[0]["duration_ms"]), 0)


if __name__ == "__main__":
    unittest.main()
