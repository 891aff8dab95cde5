"""Prometheus config and alert rules, checked by promtool (the tool Prometheus itself uses)."""
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
    "backpressure >= 80 %": {"FlinkBackpressureHigh"},
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
        "flink_taskmanager_job_task_backPressuredTimeMsPerSecond) >= 800",
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
