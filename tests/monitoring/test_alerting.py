"""The demo's alert path without the bed: the provisioned Alertmanager (Debian's binary) takes an
alert as Prometheus posts it and the demo's receiver prints it, with its runbook link. The bed's fault tests see a real alert take the same way
(on_bed/test_4_kafka_faults.py)."""
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from alerting import Alertmanager, Webhook


@pytest.fixture(scope="module")
def path():
    webhook = Webhook()
    am = Alertmanager(f"http://127.0.0.1:{webhook.port}/alerts")
    try:
        yield am, webhook
    finally:
        am.stop()
        webhook.stop()


def post(am):
    now = datetime.now(timezone.utc)
    alert = {
        "labels": {"alertname": "FlinkNoJobRunning", "severity": "critical", "instance": "jm:9249"},
        "annotations": {"summary": "no job runs", "runbook_url": "docs/runbook.md#flinknojobrunning"},
        "startsAt": (now - timedelta(minutes=3)).isoformat(),
    }
    r = requests.post(f"http://{am.address}/api/v2/alerts", json=[alert], timeout=10)
    assert r.ok, r.text


def wait_for(webhook, status, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = webhook.received("FlinkNoJobRunning", status)
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"no {status} FlinkNoJobRunning at the receiver in {timeout} s:\n{webhook.log()}")


def test_an_alert_reaches_the_receiver_with_its_runbook(path):
    am, webhook = path
    post(am)
    # group_wait is 10 s in the provisioned route.
    firing = wait_for(webhook, "firing", 30)
    assert firing[0]["severity"] == "critical"
    assert firing[0]["runbook_url"] == "docs/runbook.md#flinknojobrunning"
