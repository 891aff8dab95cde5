"""Prometheus config and alert rules, checked by promtool (the tool Prometheus itself uses)."""
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from stack import ALERTS_TEST_YML, ALERTS_YML, PROMETHEUS_YML, load_yaml, require_tool

# The operators' health rules (model/src/rules.rs) and the alerts that encode each one.
HEALTH_RULES = {
    "under-replicated partitions": {"KafkaUnderReplicatedPartitions"},
    "offline partitions": {"KafkaOfflinePartitions"},
    "no active controller": {"KafkaNoActiveController"},
    "consumer lag high": {"KafkaConsumerLagHigh", "KafkaConsumerLagCritical"},
    "consumer lag growing": {"KafkaConsumerLagGrowing"},
    "broker request timeouts": {"KafkaBrokerRequestTimeouts"},
    "Flink job not running": {"FlinkNoJobRunning"},
    "Flink job restarting": {"FlinkJobRestarting"},
    "checkpoints not completing": {"FlinkCheckpointsNotCompleting", "FlinkCheckpointsFailing"},
    "backpressure (warning 50 %, critical 80 %)": {"FlinkBackpressureHigh"},
    "watermark not advancing": {"FlinkWatermarkNotAdvancing", "FlinkWatermarkLagHigh"},
    "JVM heap": {"JvmHeapHigh", "FlinkTaskManagerHeapHigh"},
    "GC pressure": {"JvmGcPressure"},
    "TaskManager CPU": {"FlinkTaskManagerCpuHigh"},
}


def promtool(*args):
    result = subprocess.run([require_tool("promtool"), *args], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


def test_promtool_check_config_accepts_the_provisioned_config():
    code, out = promtool("check", "config", str(PROMETHEUS_YML))
    assert code == 0, out
    assert "SUCCESS" in out


def test_every_scrape_target_says_its_cluster_and_env(prometheus_config):
    """The dashboards' $cluster variable reads the `cluster` target label."""
    for job in prometheus_config["scrape_configs"]:
        for sc in job["static_configs"]:
            labels = sc.get("labels", {})
            assert labels.get("cluster") and labels.get("env"), f"{job['job_name']}: labels {labels}"


def test_every_alert_keeps_the_cluster_it_fires_for(alert_rules):
    """An aggregation that drops `cluster` would merge the pipelines one Prometheus watches."""
    for rule in alert_rules:
        expr = " ".join(rule["expr"].split())
        bare = re.findall(r"\b(?:sum|max|min|count|avg)\s*\(", expr)
        groupings = re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr)
        assert not bare, f"{rule['alert']}: {bare} without `by (cluster, ...)`: {expr}"
        assert all("cluster" in g.split(", ") for g in groupings), f"{rule['alert']}: {groupings}"


def test_promtool_check_rules_accepts_the_alerts():
    code, out = promtool("check", "rules", str(ALERTS_YML))
    assert code == 0, out


def test_promtool_unit_tests_pass():
    code, out = promtool("test", "rules", str(ALERTS_TEST_YML))
    assert code == 0, out
    assert "SUCCESS" in out


def test_promtool_unit_tests_fail_when_an_alert_breaks():
    """The unit tests can fail: raising a threshold out of reach must break them."""
    text = ALERTS_YML.read_text().replace(
        "flink_taskmanager_job_task_backPressuredTimeMsPerSecond) >= 500",
        "flink_taskmanager_job_task_backPressuredTimeMsPerSecond) >= 1000")
    assert ">= 1000" in text
    with tempfile.TemporaryDirectory() as tmp:
        rules_dir = Path(tmp) / "provisioning" / "prometheus"
        tests_dir = Path(tmp) / "tests" / "monitoring" / "rules"
        rules_dir.mkdir(parents=True)
        tests_dir.mkdir(parents=True)
        (rules_dir / "alerts.yml").write_text(text)
        (tests_dir / "alerts_test.yml").write_text(ALERTS_TEST_YML.read_text())
        code, out = promtool("test", "rules", str(tests_dir / "alerts_test.yml"))
    assert code != 0
    assert "FlinkBackpressureHigh" in out


def test_every_health_rule_of_the_domain_has_an_alert(alert_rules):
    names = {rule["alert"] for rule in alert_rules}
    for rule, alerts in HEALTH_RULES.items():
        assert alerts <= names, f"health rule '{rule}' needs alerts {sorted(alerts - names)}"


def alert_field(rule, field):
    if field == "for":
        return rule.get("for")
    if field == "severity":
        return rule.get("labels", {}).get("severity")
    return rule.get("annotations", {}).get(field)


@pytest.mark.parametrize("field", ["for", "severity", "summary", "description"])
def test_every_alert_has_for_severity_and_actionable_text(alert_rules, field):
    for rule in alert_rules:
        value = alert_field(rule, field)
        assert value, f"{rule['alert']} has no {field}"
        if field == "severity":
            assert value in {"warning", "critical"}, rule["alert"]
        if field == "description":
            # something to do, not only a restatement of the symptom
            assert len(value.split()) >= 10, f"{rule['alert']}: description too short to act on"


# Alerts that fire at one of the datasource's thresholds: (threshold key, the expression's unit
# per unit of the threshold). The severity must be the threshold's level.
ALERT_THRESHOLDS = {
    "KafkaConsumerLagHigh": ("lagWarning", 1),
    "KafkaConsumerLagCritical": ("lagCritical", 1),
    "FlinkBackpressureHigh": ("backpressureWarning", 1000),  # ms backpressured per second
    "FlinkWatermarkLagHigh": ("watermarkLagWarningSeconds", 1),
    "FlinkTaskManagerCpuHigh": ("cpuWarning", 1),
    "FlinkTaskManagerHeapHigh": ("heapWarning", 1),
    "JvmHeapHigh": ("heapWarning", 1),
}


def model_thresholds():
    """`Thresholds::default()` as `cargo xtask contract` writes it (a Rust test keeps that file
    equal to model/src/thresholds.rs)."""
    text = (Path(__file__).resolve().parents[2] / "backend/frontend/src/generated/contract.ts").read_text()
    block = text.split("export const DEFAULT_THRESHOLDS", 1)[1].split("};", 1)[0]
    return {k: float(v) for k, v in re.findall(r"(\w+): ([-\d.e]+),", block)}


@pytest.mark.parametrize("alert", sorted(ALERT_THRESHOLDS))
def test_alerts_fire_at_the_datasource_thresholds_with_their_level(alert_rules, alert):
    rule = next(r for r in alert_rules if r["alert"] == alert)
    key, scale = ALERT_THRESHOLDS[alert]
    limit = float(re.findall(r"(?:>=|>)\s*([\d.]+)\s*$", rule["expr"].strip())[-1])
    assert limit == model_thresholds()[key] * scale, f"{alert} fires at {limit}, the datasource's {key} is {model_thresholds()[key]}"
    level = "critical" if key.endswith("Critical") else "warning"
    assert rule["labels"]["severity"] == level, f"{alert}: {key} is a {level} threshold"


def test_every_alert_links_its_section_of_the_runbook(alert_rules):
    """`runbook_url` lands on a heading of docs/runbook.md, and that section says what the alert
    means and what to do."""
    runbook = (Path(__file__).resolve().parents[2] / "docs" / "runbook.md").read_text()
    sections = {}
    for block in re.split(r"^## ", runbook, flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        sections[re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")] = body
    for rule in alert_rules:
        url = rule.get("annotations", {}).get("runbook_url", "")
        path, _, anchor = url.partition("#")
        assert path == "docs/runbook.md" and anchor, f"{rule['alert']}: runbook_url {url!r}"
        assert anchor in sections, f"{rule['alert']}: docs/runbook.md has no heading #{anchor}"
        body = sections[anchor]
        assert "**Means:**" in body and "**Do:**" in body, f"{rule['alert']}: its section lacks Means/Do"


def test_every_alert_has_a_firing_and_a_quiet_unit_test(alert_rules):
    tests = load_yaml(ALERTS_TEST_YML)["tests"]
    firing, quiet = set(), set()
    for test in tests:
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {rule["alert"] for rule in alert_rules}
    assert names - firing == set(), f"alerts without a firing test: {sorted(names - firing)}"
    assert names - quiet == set(), f"alerts without a not-firing test: {sorted(names - quiet)}"
    assert (firing | quiet) - names == set(), "tests name alerts that do not exist"
