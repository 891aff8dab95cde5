"""What the on-bed tests share: polling with deadlines, the not-provable-here report, the
Flink REST API of the bed, and reads of the alerts Prometheus holds."""
import re
import time
import warnings

import requests

from stack import seconds  # noqa: F401  (the on_bed tests import it from here)



class NotProvableHere(UserWarning):
    """A panel, variable or alert that only kafka_exporter or Schema Registry could feed."""


def report(message):
    warnings.warn(NotProvableHere(message), stacklevel=2)


def settle(probe, timeout, interval=1.0):
    """Poll `probe` until it returns something falsy (no failures) or the deadline passes; return
    its last result."""
    deadline = time.time() + timeout
    while True:
        result = probe()
        if not result or time.time() > deadline:
            return result
        time.sleep(interval)


def wait_until(what, probe, timeout, interval=1.0, detail=lambda: ""):
    """Poll `probe` until it returns something truthy; return that. Fails with `detail()`."""
    deadline = time.time() + timeout
    last_error = None
    while True:
        try:
            result = probe()
            if result:
                return result
        except (requests.RequestException, KeyError, ValueError, AssertionError) as e:
            last_error = e
        if time.time() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout:.0f} s (last error: {last_error})\n{detail()}")
        time.sleep(interval)


def flink_label(name):
    """Flink's Prometheus reporter turns characters outside [A-Za-z0-9:_] of label values into `_`."""
    return re.sub(r"[^A-Za-z0-9:_]", "_", name)


class FlinkRest:
    def __init__(self, bed):
        self.url = bed.flink_rest
        self.job_name = bed.pipeline["job_name"]

    def get(self, path):
        r = requests.get(f"{self.url}{path}", timeout=10)
        r.raise_for_status()
        return r.json()

    def job(self, states=("RUNNING",)):
        jobs = [j for j in self.get("/jobs/overview")["jobs"] if j["name"] == self.job_name and j["state"] in states]
        return max(jobs, key=lambda j: j["start-time"]) if jobs else None

    def jid(self):
        job = self.job()
        assert job, f"{self.job_name} is not RUNNING: {self.get('/jobs/overview')}"
        return job["jid"]

    def checkpoints(self, jid=None):
        return self.get(f"/jobs/{jid or self.jid()}/checkpoints")["counts"]

    def vertices(self, jid):
        detail = self.get(f"/jobs/{jid}")
        names = {v["id"]: v["name"] for v in detail["vertices"]}
        inputs = {n["id"]: [i["id"] for i in n.get("inputs", [])] for n in detail["plan"]["nodes"]}
        return names, inputs


def alerts(prometheus, name=None, states=("firing",)):
    found = [a for a in prometheus.api("alerts")["alerts"] if a["state"] in states]
    return [a for a in found if name is None or a["labels"]["alertname"] == name]


def alert_summary(prometheus):
    return sorted((a["labels"]["alertname"], a["state"],
                   str({k: v for k, v in a["labels"].items() if k not in ("alertname", "severity")}))
                  for a in prometheus.api("alerts")["alerts"])


def rule_expr(alert_rules, name):
    return next(r["expr"] for r in alert_rules if r["alert"] == name)


def wait_healthy(bed, prometheus, flink, timeout=300):
    """The pipeline runs: every target up, the job RUNNING with a checkpoint completed since now."""
    jid = wait_until("job RUNNING", flink.job, timeout)["jid"]
    done = flink.checkpoints(jid)["completed"]
    wait_until("a new completed checkpoint", lambda: flink.checkpoints(jid)["completed"] > done, timeout)
    wait_until("every target up", lambda: all(t["health"] == "up" for t in prometheus.api("targets")["activeTargets"]),
               timeout)
    return jid


def alert_detail(bed, prometheus):
    return lambda: f"alerts: {alert_summary(prometheus)}\n{bed.output(15)}"
