"""The alert rules on the bed: they load with only `for:` shortened, those fed only by
unavailable exporters are blind here, and the healthy bed fires none (nothing pending or
firing)."""
import time


from bed import NOT_PROVABLE_HERE
from promql import metric_names
from stack import ALERTS_YML, load_yaml

from .deploy import FOR_IN_TEST, SCRAPE
from .probes import alert_summary, report, rule_expr, seconds, wait_healthy


# --- 4. alerts on real faults ---------------------------------------------------------------------
def test_alert_rules_load_with_only_for_shortened(prometheus, deployment, alert_rules):
    groups = prometheus.api("rules")["groups"]
    loaded = {r["name"]: r for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert set(loaded) == {r["alert"] for r in alert_rules}
    unhealthy = [(n, r.get("lastError")) for n, r in loaded.items() if r.get("health") == "err"]
    assert not unhealthy, unhealthy
    assert all(r["duration"] == seconds(FOR_IN_TEST) for r in loaded.values())
    copy_ = load_yaml(deployment["config"]["rule_files"][0])
    original = load_yaml(ALERTS_YML)
    for doc in (copy_, original):
        for group in doc["groups"]:
            for rule in group["rules"]:
                rule.pop("for", None)
    assert copy_ == original


def test_alerts_fed_only_by_unavailable_exporters_are_blind_here(prometheus, alert_rules):
    blind = [(r["alert"], sorted(metric_names(r["expr"]))) for r in alert_rules
             if metric_names(r["expr"]) and metric_names(r["expr"]) <= NOT_PROVABLE_HERE]
    present = set(prometheus.api("label/__name__/values"))
    for name, metrics in blind:
        report(f"alert {name} not provable here: its metrics {metrics} come only from kafka_exporter/Schema Registry")
        assert not set(metrics) & present, (name, metrics)
        assert prometheus.query(rule_expr(alert_rules, name)) == [], name


def test_healthy_bed_fires_no_alert(bed, prometheus, flink):
    """Nothing pending or firing, over three `for:` spans of a healthy pipeline."""
    wait_healthy(bed, prometheus, flink)
    window = 3 * seconds(FOR_IN_TEST) + 2 * seconds(SCRAPE)
    deadline = time.time() + window
    while time.time() < deadline:
        active = alert_summary(prometheus)
        assert not active, f"alerts on the healthy bed: {active}"
        time.sleep(1)
