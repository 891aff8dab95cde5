"""The bed, its Prometheus and the Flink REST API: started once for the whole on_bed package
(scope "package": the modules of the suite share them, and they end before the next suite)."""

import pytest

from alerting import Alertmanager, Webhook
from bed import Bed
from prometheus_server import Prometheus, free_port

from .deploy import alerts_for_test, bed_config
from .probes import FlinkRest


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="package")
def bed():
    b = Bed()
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="package")
def webhook():
    w = Webhook()
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="package")
def alertmanager(webhook):
    am = Alertmanager(f"http://127.0.0.1:{webhook.port}/alerts")
    try:
        yield am
    finally:
        am.stop()


@pytest.fixture(scope="package")
def deployment(bed, prometheus_config, alertmanager, tmp_path_factory):
    port = free_port()
    addresses = bed.exporters()
    addresses["localhost:9090"] = [f"127.0.0.1:{port}"]
    addresses["alertmanager:9093"] = [alertmanager.address]
    rules = alerts_for_test(tmp_path_factory.mktemp("rules") / "alerts.yml")
    config, dropped = bed_config(prometheus_config, addresses, rules)
    prom = Prometheus(config, port).start()
    try:
        jobs = [j["job_name"] for j in config["scrape_configs"]]
        prom.wait_for_scrapes(jobs, timeout=120)
        yield {"prometheus": prom, "config": config, "dropped": dropped, "addresses": addresses}
    finally:
        prom.stop()


@pytest.fixture(scope="package")
def prometheus(deployment):
    return deployment["prometheus"]


@pytest.fixture(scope="package")
def flink(bed):
    return FlinkRest(bed)
