"""Kafka Overview and JVM Metrics queries, run by a real Prometheus against exposition samples.

Prometheus scrapes tests/monitoring/samples/ (metric names from the exporters' documentation and
our JMX rule files) under the provisioned job names and relabelling, with alerts.yml loaded; then
every panel query and variable query of both dashboards must return data."""
import pytest

from dashboard_check import empty_panel_queries
from prometheus_server import ExpositionServer, Prometheus, derive_config, free_port
from promql import metric_names
from stack import SAMPLES

JMX_AGENT_JOBS = ["kafka", "zookeeper", "schema-registry", "flink-jobmanager-jvm", "flink-taskmanager-jvm"]


def sample_pages():
    jvm = (SAMPLES / "jvm.prom").read_text()
    pages = {"/kafka-exporter": (SAMPLES / "kafka-exporter.prom").read_text()}
    for job in JMX_AGENT_JOBS:
        own = SAMPLES / f"{job}.prom"
        pages[f"/{job}"] = (own.read_text() if own.exists() else "") + jvm
    return pages


@pytest.fixture(scope="module")
def prometheus(prometheus_config):
    server = ExpositionServer(sample_pages()).start()
    port = free_port()
    targets = {path.strip("/"): (f"127.0.0.1:{server.port}", path) for path in server.pages}
    targets["prometheus"] = (f"127.0.0.1:{port}", "/metrics")
    prom = Prometheus(derive_config(prometheus_config, targets), port).start()
    try:
        prom.wait_for_scrapes(sorted(targets))
        yield prom
    finally:
        prom.stop()
        server.stop()


@pytest.mark.parametrize("name", ["kafka-overview.json", "jvm-metrics.json"])
def test_every_panel_query_returns_data(prometheus, dashboards, name):
    failures = empty_panel_queries(prometheus, dashboards[name])
    assert not failures, "\n".join(f"'{t}' {r}: {e} -> {why}" for t, r, e, why in failures)


def test_an_unknown_metric_is_reported_empty(prometheus):
    """The check can fail: a panel on a metric nobody exports is caught."""
    board = {"title": "probe", "templating": {"list": []},
             "panels": [{"title": "typo", "targets": [{"refId": "A", "expr": "kafka_consumergroup_lagg"}]}]}
    assert [f[0] for f in empty_panel_queries(prometheus, board)] == ["typo"]


def test_alert_rules_load_in_the_real_server(prometheus, alert_rules):
    groups = prometheus.api("rules")["groups"]
    loaded = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert loaded == {r["alert"] for r in alert_rules}
    unhealthy = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r.get("health") == "err"]
    assert not unhealthy, unhealthy


def test_healthy_samples_fire_no_alert(prometheus):
    """The samples describe a healthy cluster: nothing fires. (The group's lag of 1300 is over
    the 1000 line, so KafkaConsumerLagHigh may be pending, but it needs 10 minutes to fire.)"""
    firing = [a for a in prometheus.api("alerts")["alerts"] if a["state"] == "firing"]
    assert not firing, firing


def test_kafka_and_jvm_alerts_use_metrics_the_samples_export(prometheus, alert_rules):
    exported = set(prometheus.api("label/__name__/values"))
    for rule in alert_rules:
        for name in metric_names(rule["expr"]):
            if name.startswith("flink_"):
                continue  # checked against a real Flink in test_queries_on_flink.py
            assert name in exported, f"{rule['alert']} uses {name}, which no sample exporter serves"
