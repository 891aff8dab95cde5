"""Flink Overview and the Flink alerts, against a real Flink 2.3 scraped by a real Prometheus.

tests/flink's MiniCluster runs `pipeline-1` (a backpressured source upstream of a slow operator,
checkpoints completing, watermarks advancing), `pipeline-stalled-watermarks` and
`pipeline-slow-checkpoints`, with Flink's Prometheus reporter on. Prometheus scrapes it under the
provisioned jobs `flink-jobmanager` and `flink-taskmanager` (with their relabelling), loads
alerts.yml, and then every Flink Overview query must return data, and each alert expression must
select the jobs that are really unhealthy and not the healthy one."""
import re
import time

import pytest
import requests

from dashboard_check import empty_panel_queries, resolve_variables
from flink_cluster import FlinkCluster
from prometheus_server import Prometheus, derive_config, free_port
from promql import metric_names



def label(name):
    """Flink's Prometheus reporter replaces characters outside [A-Za-z0-9:_] in label values
    with `_`: job `pipeline-1` is job_name="pipeline_1", "Source: clicks -> enrich" becomes
    task_name="Source:_clicks____enrich"."""
    return re.sub(r"[^A-Za-z0-9:_]", "_", name)


HEALTHY = "pipeline-1"
STALLED = "pipeline-stalled-watermarks"
FAILING_CHECKPOINTS = "pipeline-slow-checkpoints"
REPORTER_JOBS = ["flink-jobmanager", "flink-taskmanager"]


@pytest.fixture(scope="module")
def flink():
    cluster = FlinkCluster(free_port(), "--jobs", "1", "--stall-watermarks", "--slow-checkpoints").start()
    try:
        cluster.wait_until("3 jobs RUNNING", lambda: sum(j["state"] == "RUNNING" for j in cluster.jobs()) == 3)
        healthy = next(j["jid"] for j in cluster.jobs() if j["name"] == HEALTHY)
        cluster.wait_until("a completed checkpoint", lambda: cluster.completed_checkpoints(healthy) >= 1)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def prometheus(flink, prometheus_config, dashboards):
    target = (f"127.0.0.1:{flink.prometheus_port}", "/metrics")
    port = free_port()
    prom = Prometheus(derive_config(prometheus_config, {job: target for job in REPORTER_JOBS}), port).start()
    try:
        prom.wait_for_scrapes(REPORTER_JOBS)
        # Task metrics (backpressure, watermarks) settle a few seconds after RUNNING.
        deadline = time.time() + 90
        while unanswered(prom, dashboards) and time.time() < deadline:
            time.sleep(1)
        yield prom
    finally:
        prom.stop()


def alert_expr(alert_rules, name):
    return next(r["expr"] for r in alert_rules if r["alert"] == name)


def selected_jobs(prometheus, expr):
    return {r["metric"].get("job_name") for r in prometheus.query(expr)}


# The MiniCluster's jobs read no Kafka, so the Kafka source's panel has nothing to show here; it is
# proven on the bed, whose job reads Kafka (on_bed/test_2_panels.py runs every panel there).
KAFKA_SOURCE_PANELS = {"Kafka source lag (records)"}


def unanswered(prometheus, dashboards):
    return [f for f in empty_panel_queries(prometheus, dashboards["flink-overview.json"])
            if f[0] not in KAFKA_SOURCE_PANELS]


def test_every_flink_overview_query_returns_data(prometheus, dashboards):
    failures = unanswered(prometheus, dashboards)
    assert not failures, "\n".join(f"'{t}' {r}: {e} -> {why}" for t, r, e, why in failures)


def test_job_variable_lists_the_running_jobs(prometheus, flink, dashboards):
    values = resolve_variables(prometheus, dashboards["flink-overview.json"])
    names = {label(j["name"]) for j in flink.jobs()}
    assert values["job"] in names
    listed = {s["job_name"] for s in prometheus.series("flink_jobmanager_job_numRestarts")}
    assert listed == names


def test_running_jobs_panel_agrees_with_the_rest_api(prometheus, flink):
    running = sum(j["state"] == "RUNNING" for j in flink.jobs())
    [sample] = prometheus.query("max(flink_jobmanager_numRunningJobs)")
    assert float(sample["value"][1]) == running == 3


def test_each_reporter_job_keeps_only_its_own_scope(prometheus):
    for job, prefix in [("flink-jobmanager", "flink_jobmanager_"), ("flink-taskmanager", "flink_taskmanager_")]:
        names = {s["__name__"] for s in prometheus.series(f'{{job="{job}", __name__=~"flink_.*"}}')}
        assert names and all(n.startswith(prefix) for n in names), (job, sorted(names)[:5])


def test_flink_alerts_use_metrics_real_flink_exports(prometheus, alert_rules):
    exported = set(prometheus.api("label/__name__/values"))
    used = {name for rule in alert_rules for name in metric_names(rule["expr"]) if name.startswith("flink_")}
    assert used, "no alert reads Flink metrics"
    assert used <= exported, f"not exported by Flink 2.3: {sorted(used - exported)}"


def test_backpressure_alert_selects_the_victim_not_the_bottleneck(prometheus, alert_rules):
    expr = alert_expr(alert_rules, "FlinkBackpressureHigh")

    def selected_tasks():
        return {(r["metric"]["job_name"], r["metric"]["task_name"]) for r in prometheus.query(expr)}

    # Backpressure is sampled: one scrape can catch the source just under 500 ms/s, so look
    # again (bounded) before judging, as the alert's `for:` smooths such dips.
    deadline = time.time() + 60
    tasks = selected_tasks()
    while not any(job == label(HEALTHY) for job, _ in tasks) and time.time() < deadline:
        time.sleep(1)
        tasks = selected_tasks()
    assert any(job == label(HEALTHY) and "enrich" in task for job, task in tasks), tasks
    assert not any(label("slow-score") in task for _, task in tasks), tasks


def test_watermark_alert_selects_the_stalled_job_only(prometheus, alert_rules):
    # A loaded machine can hold a healthy watermark still between two scrapes; look again for a
    # while before judging (the frozen job's watermark never moves, so it stays selected).
    expr = alert_expr(alert_rules, "FlinkWatermarkNotAdvancing")
    deadline = time.time() + 60
    jobs = selected_jobs(prometheus, expr)
    while jobs != {label(STALLED)} and time.time() < deadline:
        time.sleep(1)
        jobs = selected_jobs(prometheus, expr)
    assert label(STALLED) in jobs
    assert label(HEALTHY) not in jobs and label(FAILING_CHECKPOINTS) not in jobs


def test_failing_checkpoints_alert_selects_the_failing_job_only(prometheus, flink, alert_rules):
    failing = next(j["jid"] for j in flink.jobs() if j["name"] == FAILING_CHECKPOINTS)
    flink.wait_until("a failed checkpoint", lambda: requests.get(
        f"{flink.rest}/jobs/{failing}/checkpoints", timeout=5).json()["counts"]["failed"] >= 1)
    expr = alert_expr(alert_rules, "FlinkCheckpointsFailing")
    deadline = time.time() + 30
    while label(FAILING_CHECKPOINTS) not in selected_jobs(prometheus, expr) and time.time() < deadline:
        time.sleep(1)
    jobs = selected_jobs(prometheus, expr)
    assert jobs == {label(FAILING_CHECKPOINTS)}, jobs


def test_healthy_cluster_states_select_nothing(prometheus, alert_rules):
    """Jobs run, none restarted, the healthy job's checkpoints complete."""
    for name in ["FlinkNoJobRunning", "FlinkJobRestarting"]:
        assert prometheus.query(alert_expr(alert_rules, name)) == [], name
    assert label(HEALTHY) not in selected_jobs(prometheus, alert_expr(alert_rules, "FlinkCheckpointsNotCompleting"))
