"""The monitoring stack on the real pipeline: the test bed (tests/src/bin/bed.rs: ZooKeeper, three
Kafka 3.7 brokers, PostgreSQL, a standalone Flink 2.3 cluster running the Marketing ROAS job, a
generator; every JVM with the real JMX exporter agent 0.20.0 and the repo's own rule files, Flink
also with its Prometheus reporter) scraped by a real Prometheus 2.42.

Prometheus config: provisioning/prometheus/prometheus.yml with ONLY the target addresses mapped
to the bed's loopback ports (kafka:7071 -> the three brokers' agents, zookeeper:7071,
flink-jobmanager:7071/9249, flink-taskmanager:7071/9249, localhost:9090 -> this Prometheus); job
names, metrics paths and relabelling stay as provisioned. Changed for test time, and only these:
- scrape and evaluation interval SCRAPE (provisioned: 15 s);
- rule_files -> a copy of provisioning/prometheus/alerts.yml in which every `for:` is FOR_IN_TEST
  (expressions, thresholds, range windows, labels untouched);
- jobs whose target cannot run here are dropped, with the reason (bed.UNAVAILABLE_JOBS):
  `kafka-exporter` (kafka_exporter is not obtainable: the Go module proxy answers 403) and
  `schema-registry` (not on Maven Central). Their metric names (bed.NOT_PROVABLE_HERE) are the
  only ones a panel or alert may be excused for; those panels and alerts are reported as
  "not provable here" (NotProvableHere warnings in the run's summary), computed, not listed.

Faults are made with the bed's own stdin commands, each restored before the next test; every
time-dependent check polls with a deadline. Alert on each fault (state `firing`, and what it names):
- healthy bed: nothing pending or firing;
- stop-broker N: KafkaUnderReplicatedPartitions on the surviving brokers, MonitoringTargetDown on
  N's agent; both clear after start-broker N;
- pause-broker N with a real acks=all producer whose produce timeout is shorter than the ISR lag
  limit: KafkaBrokerRequestTimeouts (request="Produce") on the leaders, and the panel shows it;
- slow-operator MS (MS from the measured click rate): FlinkBackpressureHigh on backpressured
  tasks (Flink's REST API agreeing), not on the busy bottleneck; clears after unslow-operator;
- block-sink: FlinkCheckpointsFailing / FlinkCheckpointsNotCompleting for the job;
- stop-generator: FlinkWatermarkNotAdvancing for the job; clears after start-generator;
- cancel-job: FlinkNoJobRunning; KafkaConsumerLagGrowing is not provable (kafka_exporter), and the
  Flink Kafka source's own lag metrics go away with the job; clears after resubmit-job;
- kill-taskmanager: MonitoringTargetDown on the TaskManager's reporter and agent; after
  start-taskmanager, FlinkJobRestarting for the job.
"""
import copy
import math
import re
import signal
import threading
import time
import warnings

import pytest
import requests
import yaml

from bed import NOT_PROVABLE_HERE, UNAVAILABLE_JOBS, Bed, parse_exposition
from dashboard_check import RANGE_VARIABLES, empty_panel_queries, resolve_variables
from prometheus_server import Prometheus, free_port
from promql import metric_names, parse_label_values, prometheus_queries, substitute, variables
from stack import ALERTS_YML, COMPOSE, PROVISIONING, SAMPLES, load_yaml

SCRAPE = "5s"
FOR_IN_TEST = "15s"
JMX_RULES = PROVISIONING / "exporters" / "jmx"


class NotProvableHere(UserWarning):
    """A panel, variable or alert that only kafka_exporter or Schema Registry could feed."""


def report(message):
    warnings.warn(NotProvableHere(message), stacklevel=2)


def seconds(duration):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration))


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


# --- Prometheus config for the bed ---------------------------------------------------------------
def bed_config(provisioned, addresses, rules_path, interval=SCRAPE):
    """(config, dropped): the provisioned config with each target address replaced by where it
    lives on the bed; a job none of whose targets exist here is dropped (it must be one
    UNAVAILABLE_JOBS explains)."""
    config = copy.deepcopy(provisioned)
    config["global"].update(scrape_interval=interval, scrape_timeout=interval, evaluation_interval=interval)
    config["rule_files"] = [str(rules_path)]
    kept, dropped = [], {}
    for job in config["scrape_configs"]:
        for key in ("scrape_interval", "scrape_timeout"):
            if key in job:
                job[key] = interval
        targets = [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        unknown = [t for t in targets if t not in addresses]
        if unknown and len(unknown) < len(targets):
            raise AssertionError(f"job {job['job_name']}: targets {unknown} have no place on the bed")
        if unknown:
            assert job["job_name"] in UNAVAILABLE_JOBS, \
                f"job {job['job_name']} ({targets}) is not on the bed and no reason is known"
            dropped[job["job_name"]] = UNAVAILABLE_JOBS[job["job_name"]]
            continue
        for sc in job["static_configs"]:
            sc["targets"] = [a for t in sc["targets"] for a in addresses[t]]
        kept.append(job)
    config["scrape_configs"] = kept
    return config, dropped


def alerts_for_test(path):
    """alerts.yml with every `for:` set to FOR_IN_TEST, nothing else changed."""
    doc = load_yaml(ALERTS_YML)
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = FOR_IN_TEST
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def provisioned_jobs():
    return load_yaml(PROVISIONING / "prometheus" / "prometheus.yml")["scrape_configs"]


def agent_rule_files(compose):
    """{"service:port": rule file name} from the compose file's -javaagent arguments."""
    out = {}
    for name, service in compose["services"].items():
        text = yaml.safe_dump(service)
        for port, rules in re.findall(r"jmx_prometheus_javaagent\.jar=(\d+):/etc/jmx-exporter/([\w.-]+\.yml)", text):
            out[f"{name}:{port}"] = rules
    return out


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bed():
    b = Bed()
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="module")
def deployment(bed, prometheus_config, tmp_path_factory):
    port = free_port()
    addresses = bed.exporters()
    addresses["localhost:9090"] = [f"127.0.0.1:{port}"]
    rules = alerts_for_test(tmp_path_factory.mktemp("rules") / "alerts.yml")
    config, dropped = bed_config(prometheus_config, addresses, rules)
    prom = Prometheus(config, port).start()
    try:
        jobs = [j["job_name"] for j in config["scrape_configs"]]
        prom.wait_for_scrapes(jobs, timeout=120)
        yield {"prometheus": prom, "config": config, "dropped": dropped, "addresses": addresses}
    finally:
        prom.stop()


@pytest.fixture(scope="module")
def prometheus(deployment):
    return deployment["prometheus"]


@pytest.fixture(scope="module")
def flink(bed):
    return FlinkRest(bed)


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


# --- 1. the config ------------------------------------------------------------------------------
def test_config_maps_only_addresses_and_names_dropped_jobs(deployment, prometheus_config):
    config, dropped = deployment["config"], deployment["dropped"]
    for name, reason in dropped.items():
        report(f"scrape job `{name}` dropped: {reason}")
    provisioned = {j["job_name"]: j for j in prometheus_config["scrape_configs"]}
    kept = {j["job_name"]: j for j in config["scrape_configs"]}
    assert set(kept) | set(dropped) == set(provisioned) and not set(kept) & set(dropped)
    for name, job in kept.items():
        mapped = [a for sc in provisioned[name]["static_configs"] for t in sc["targets"]
                  for a in deployment["addresses"][t]]
        assert [t for sc in job["static_configs"] for t in sc["targets"]] == mapped
        original = {k: v for k, v in provisioned[name].items() if k != "static_configs"}
        assert {k: v for k, v in job.items() if k != "static_configs"} == original, name
    # nothing the bed could run is dropped
    assert set(dropped) <= set(UNAVAILABLE_JOBS)


def test_every_target_is_up(deployment, bed):
    prom = deployment["prometheus"]
    targets = prom.api("targets")["activeTargets"]
    down = [(t["labels"]["job"], t["scrapeUrl"], t["lastError"]) for t in targets if t["health"] != "up"]
    assert not down, down
    brokers = [t for t in targets if t["labels"]["job"] == "kafka"]
    assert len(brokers) == len(bed.info["kafka"]["brokers"]) == 3


# --- 3. JMX agents export what dashboards and alerts use ------------------------------------------
def used_metric_names(dashboards, alert_rules):
    """{metric name: [where used]} over every dashboard query, variable and alert expression."""
    used = {}
    for doc in dashboards.values():
        for title, ref, expr in prometheus_queries(doc):
            for n in metric_names(expr):
                used.setdefault(n, []).append(f"{doc['title']} '{title}' {ref}")
        for var in variables(doc).values():
            if var.get("type") == "query":
                selector, _ = parse_label_values(var["definition"])
                for n in metric_names(selector):
                    used.setdefault(n, []).append(f"{doc['title']} variable ${var['name']}")
    for rule in alert_rules:
        for n in metric_names(rule["expr"]):
            used.setdefault(n, []).append(f"alert {rule['alert']}")
    return used


def rule_name_patterns(rule_file):
    """Regexes of the metric names a JMX exporter rule file can produce ($N -> any name part),
    after the agent's lowercasing and character replacement."""
    config = load_yaml(JMX_RULES / rule_file)
    out = []
    for rule in config.get("rules", []):
        name = rule.get("name")
        if not name:
            continue
        if config.get("lowercaseOutputName"):
            name = name.lower()
        parts = re.split(r"\$\d+", re.sub(r"[^A-Za-z0-9:_$]", "_", name))
        out.append(re.compile("^" + "[A-Za-z0-9_:]+".join(re.escape(p) for p in parts) + "$"))
    return out


# Series Prometheus writes itself for every scrape, not read from any exporter.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                  "scrape_samples_post_metric_relabeling", "scrape_series_added"}


def scrape(address, path="/metrics"):
    return parse_exposition(requests.get(f"http://{address}{path}", timeout=15).text)


def test_jmx_agents_export_the_names_dashboards_and_alerts_use(bed, deployment, dashboards, alert_rules, compose):
    used = used_metric_names(dashboards, alert_rules)
    rule_files = agent_rule_files(compose)  # e.g. {"kafka:7071": "kafka.yml", ...}
    bed_targets = bed.exporters()
    agents = {target: rule_files[target] for target in bed_targets if target in rule_files}
    assert set(agents) == {t for t in bed_targets if t.endswith(":7071")}, (agents, bed_targets)
    patterns = {rules: rule_name_patterns(rules) for rules in set(agents.values())}
    exported = {target: [{n for n, _, _ in scrape(a)} for a in bed_targets[target]] for target in agents}

    problems, not_here = [], {}
    for name, where in sorted(used.items()):
        if name in NOT_PROVABLE_HERE:
            not_here[name] = where
            continue
        if name.startswith("flink_"):
            continue  # Flink's reporter, checked below
        if name in PROMETHEUS_OWN:
            continue  # made by Prometheus for each target (test_every_target_is_up)
        owners = [t for t, rules in agents.items() if any(p.match(name) for p in patterns[rules])]
        # A name no rule file makes must be one of the agent's built-in collectors (jvm_*,
        # process_*): then every agent exports it.
        for target in owners or list(agents):
            for address, names in zip(bed_targets[target], exported[target]):
                if name not in names:
                    kind = f"rule file {agents[target]}" if owners else "built-in collectors"
                    problems.append(f"{name} ({kind}) not exported by {target} at {address}; used by {where}")
    for name, where in not_here.items():
        report(f"metric {name} comes only from kafka_exporter/Schema Registry: used by {'; '.join(where)}")
    assert not problems, "\n".join(problems)


def test_samples_hold_only_what_the_real_agents_export(deployment):
    """samples/<job>.prom and samples/jvm.prom (what test_queries_on_samples serves for each JMX
    agent job) name only series the real agents export, with the same label names."""
    agents = agent_rule_files(load_yaml(COMPOSE))
    problems, checked = [], 0
    for job in provisioned_jobs():
        targets = [t for sc in job["static_configs"] for t in sc["targets"]]
        if job["job_name"] in deployment["dropped"] or not any(t in agents for t in targets):
            continue
        real = {}
        for address in (a for t in targets for a in deployment["addresses"][t]):
            for name, labels, _ in scrape(address):
                real.setdefault(name, set()).add(tuple(sorted(labels)))
        for sample in (SAMPLES / f"{job['job_name']}.prom", SAMPLES / "jvm.prom"):
            if not sample.exists():
                continue
            for name, labels, _ in parse_exposition(sample.read_text()):
                checked += 1
                if tuple(sorted(labels)) not in real.get(name, set()):
                    problems.append(f"{sample.name}: {name} {sorted(labels)} not exported by job {job['job_name']} "
                                    f"(real label sets: {sorted(real.get(name, []))})")
    assert checked and not problems, "\n".join(problems)


def test_flink_reporters_export_the_flink_names_used(bed, dashboards, alert_rules):
    used = {n for n in used_metric_names(dashboards, alert_rules) if n.startswith("flink_")}
    assert used
    flink = bed.info["flink"]
    jm = {n for n, _, _ in scrape(flink["jobmanager"]["prometheus"])}
    tm = {n for n, _, _ in scrape(flink["taskmanager"]["prometheus"])}
    missing = sorted(n for n in used if n not in (jm if n.startswith("flink_jobmanager_") else tm))
    assert not missing, f"Flink 2.3's reporters do not export {missing}"


# --- 2. every panel returns data ------------------------------------------------------------------
def provable_part(dashboard):
    """(dashboard copy without the not-provable panels, [(panel, metrics)], [(variable, metrics)]).

    A panel is left out only if every metric it queries is in NOT_PROVABLE_HERE. A query variable
    fed only by such metrics takes its All value (`allValue`), as Grafana shows a variable whose
    query finds nothing; the dashboard must offer All for that."""
    doc = copy.deepcopy(dashboard)
    exempt_vars, exempt_panels = [], []
    fixed = {}
    for name, var in variables(doc).items():
        if var.get("type") != "query":
            continue
        names = metric_names(parse_label_values(var["definition"])[0])
        if names and names <= NOT_PROVABLE_HERE:
            assert var.get("includeAll") and var.get("allValue"), \
                f"{doc['title']}: ${name} can find no values here and offers no All value"
            fixed[name] = var["allValue"]
            exempt_vars.append((name, sorted(names)))
    doc["templating"]["list"] = [v for v in doc["templating"]["list"] if v["name"] not in fixed]

    def substitute_fixed(text):
        return re.sub(r"\$\{(\w+)\}|\$(\w+)",
                      lambda m: fixed.get(m.group(1) or m.group(2), m.group(0)), text)

    for var in doc["templating"]["list"]:
        if "definition" in var:
            var["definition"] = substitute_fixed(var["definition"])

    def keep(panel):
        names = set()
        for target in panel.get("targets", []):
            if "expr" in target:
                names |= metric_names(target["expr"])
                target["expr"] = substitute_fixed(target["expr"])
        if names and names <= NOT_PROVABLE_HERE:
            exempt_panels.append((panel["title"], sorted(names)))
            return False
        if "panels" in panel:
            panel["panels"] = [p for p in panel["panels"] if keep(p)]
        return True

    doc["panels"] = [p for p in doc.get("panels", []) if keep(p)]
    return doc, exempt_panels, exempt_vars


def pin_variable(dashboard, name, value):
    """A copy whose variable `name` finds only `value` (its label_values() selector gets
    label="value"), so every value can be checked in turn by resolve_variables."""
    doc = copy.deepcopy(dashboard)
    var = next(v for v in doc["templating"]["list"] if v["name"] == name)
    selector, label = parse_label_values(var["definition"])
    matcher = f'{label}="{value}"'
    if "{" in selector:
        selector = selector.replace("{", "{" + matcher + ", ", 1)
    else:
        selector = selector + "{" + matcher + "}"
    var["definition"] = f"label_values({selector}, {label})"
    return doc


def format_failures(failures):
    return "\n".join(f"'{t}' {r}: {e} -> {why}" for t, r, e, why in failures)


@pytest.mark.parametrize("name", ["kafka-overview.json", "flink-overview.json"])
def test_every_panel_query_returns_data(prometheus, dashboards, name):
    doc, exempt_panels, exempt_vars = provable_part(dashboards[name])
    for panel, names in exempt_panels:
        report(f"{dashboards[name]['title']}: panel '{panel}' not provable here, its metrics {names} "
               "come only from kafka_exporter/Schema Registry")
    for var, names in exempt_vars:
        report(f"{dashboards[name]['title']}: variable ${var} not provable here ({names}); checked with All")
    # The exempt metrics really are absent: otherwise their panels would be provable.
    present = set(prometheus.api("label/__name__/values"))
    assert not {n for _, names in exempt_panels + exempt_vars for n in names} & present
    assert list(prometheus_queries(doc)), f"{name}: nothing left to prove"
    # Task metrics settle a few seconds after the job runs: poll before judging.
    failures = settle(lambda: empty_panel_queries(prometheus, doc), timeout=90)
    assert not failures, format_failures(failures)


def test_jvm_metrics_panels_return_data_for_every_jvm(prometheus, deployment, dashboards):
    board = dashboards["jvm-metrics.json"]
    doc, exempt_panels, exempt_vars = provable_part(board)
    assert not exempt_panels and not exempt_vars
    job_var = variables(doc)["job"]
    selector, label = parse_label_values(job_var["definition"])
    jobs = sorted({s[label] for s in prometheus.series(selector)})
    # every JVM of the bed is on the dashboard: each kept job that scrapes a JMX agent
    agents = agent_rule_files(load_yaml(COMPOSE))
    agent_jobs = {j["job_name"] for j in provisioned_jobs() if j["job_name"] not in deployment["dropped"]
                  and any(t in agents for sc in j["static_configs"] for t in sc["targets"])}
    assert set(jobs) == agent_jobs, (jobs, agent_jobs)
    failures = []
    for job in jobs:
        by_job = pin_variable(doc, "job", job)
        inst_selector, inst_label = parse_label_values(variables(by_job)["instance"]["definition"])
        instances = sorted({s[inst_label] for s in prometheus.series(inst_selector.replace("$job", job))})
        assert instances, job
        for instance in instances:
            pinned = pin_variable(by_job, "instance", instance)
            values = resolve_variables(prometheus, pinned)
            assert (values["job"], values["instance"]) == (job, instance)
            failures += [(f"{t} [{job} {instance}]", r, e, why) for t, r, e, why in empty_panel_queries(prometheus, pinned)]
    assert not failures, format_failures(failures)


def test_an_absent_metric_makes_a_panel_fail(prometheus):
    """The panel check can fail on the bed: a metric nobody exports is caught."""
    board = {"title": "probe", "templating": {"list": []},
             "panels": [{"title": "typo", "targets": [{"refId": "A", "expr": "kafka_server_replicamanager_underreplicatedpartition"}]}]}
    assert [f[0] for f in empty_panel_queries(prometheus, board)] == ["typo"]


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


def wait_healthy(bed, prometheus, flink, timeout=300):
    """The pipeline runs: every target up, the job RUNNING with a checkpoint completed since now."""
    jid = wait_until("job RUNNING", flink.job, timeout)["jid"]
    done = flink.checkpoints(jid)["completed"]
    wait_until("a new completed checkpoint", lambda: flink.checkpoints(jid)["completed"] > done, timeout)
    wait_until("every target up", lambda: all(t["health"] == "up" for t in prometheus.api("targets")["activeTargets"]),
               timeout)
    return jid


def test_healthy_bed_fires_no_alert(bed, prometheus, flink):
    """Nothing pending or firing, over three `for:` spans of a healthy pipeline."""
    wait_healthy(bed, prometheus, flink)
    window = 3 * seconds(FOR_IN_TEST) + 2 * seconds(SCRAPE)
    deadline = time.time() + window
    while time.time() < deadline:
        active = alert_summary(prometheus)
        assert not active, f"alerts on the healthy bed: {active}"
        time.sleep(1)


def alert_detail(bed, prometheus):
    return lambda: f"alerts: {alert_summary(prometheus)}\n{bed.output(15)}"


def test_stopped_broker_fires_under_replicated_partitions_until_it_is_back(bed, prometheus):
    brokers = sorted(bed.info["kafka"]["brokers"], key=lambda b: b["id"])
    victim = brokers[-1]
    others = {b["jmx_exporter"] for b in brokers if b is not victim}
    detail = alert_detail(bed, prometheus)
    bed.send(f"stop-broker {victim['id']}")
    try:
        firing = wait_until("KafkaUnderReplicatedPartitions firing",
                            lambda: alerts(prometheus, "KafkaUnderReplicatedPartitions"), 180, detail=detail)
        instances = {a["labels"]["instance"] for a in firing}
        assert instances <= others, f"alert names {instances}; the surviving brokers are {others}"
        down = wait_until("MonitoringTargetDown for the stopped broker",
                          lambda: alerts(prometheus, "MonitoringTargetDown"), 120, detail=detail)
        assert {(a["labels"]["job"], a["labels"]["instance"]) for a in down} == {("kafka", victim["jmx_exporter"])}
    finally:
        bed.send(f"start-broker {victim['id']}")
    for name in ("KafkaUnderReplicatedPartitions", "MonitoringTargetDown"):
        wait_until(f"{name} cleared after start-broker",
                   lambda: not alerts(prometheus, name, states=("firing", "pending")), 120, detail=detail)


PROBE_TOPIC = "monitoring-probe"


class Producing:
    """A real producer (librdkafka, acks=all) writing to its own topic in a thread, with a
    produce-request timeout short enough that a leader waiting on a follower that is still in
    the ISR answers REQUEST_TIMED_OUT."""

    def __init__(self, bootstrap, request_timeout_ms=1500):
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until its futures resolve
        created = admin.create_topics([NewTopic(PROBE_TOPIC, 3, 3)])
        for future in created.values():
            try:
                future.result(timeout=60)
            except Exception as e:  # the broker's own error, as librdkafka raises it
                assert "TOPIC_ALREADY_EXISTS" in str(e), e
        self._producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                                   "request.timeout.ms": request_timeout_ms, "message.timeout.ms": 120000,
                                   "log_level": 0})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        n = 0
        while not self._stop.is_set():
            try:
                self._producer.produce(PROBE_TOPIC, b"probe", partition=n % 3)
                n += 1
            except BufferError:
                pass
            self._producer.poll(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        self._producer.flush(120)


def within(probe, timeout, interval=1.0):
    """`probe`'s first truthy result within `timeout` seconds, or None."""
    deadline = time.time() + timeout
    while True:
        result = probe()
        if result or time.time() > deadline:
            return result or None
        time.sleep(interval)


TIMEOUTS = 'kafka_network_requestmetrics_errors_total{error="REQUEST_TIMED_OUT"}'
URP = "sum(kafka_server_replicamanager_underreplicatedpartitions) > 0"


def test_paused_follower_fires_request_timeouts_on_the_leaders(bed, prometheus, flink, dashboards):
    """acks=all produce requests wait on a paused follower until it leaves the ISR
    (replica.lag.time.max.ms); with a produce timeout shorter than that, the leaders answer
    REQUEST_TIMED_OUT. A broker registers an error code's meter at its first such error, so the
    series of a broker's first timeouts starts at their count and rate() sees no increase: the
    fault is made again (pause, the follower leaves the ISR, resume, it rejoins) until it does."""
    brokers = sorted(bed.info["kafka"]["brokers"], key=lambda b: b["id"])
    victim = brokers[0]
    leaders = {b["jmx_exporter"] for b in brokers if b is not victim}
    detail = alert_detail(bed, prometheus)
    firing, rounds = None, 0
    with Producing(bed.info["kafka"]["bootstrap"]):
        while not firing and rounds < 3:
            rounds += 1
            bed.send(f"pause-broker {victim['id']}")
            try:
                wait_until("the paused follower out of the ISR", lambda: prometheus.query(URP), 120, detail=detail)
            finally:
                bed.send(f"resume-broker {victim['id']}")
            wait_until("the follower back in the ISR", lambda: not prometheus.query(URP), 180, detail=detail)
            assert {s["instance"] for s in prometheus.series(TIMEOUTS)} <= leaders | {victim["jmx_exporter"]}
            firing = within(lambda: alerts(prometheus, "KafkaBrokerRequestTimeouts"),
                            3 * seconds(SCRAPE) + seconds(FOR_IN_TEST))
    print(f"pause-broker: REQUEST_TIMED_OUT series {sorted(s['instance'] for s in prometheus.series(TIMEOUTS))}; "
          f"KafkaBrokerRequestTimeouts firing after round {rounds}")
    assert firing, f"KafkaBrokerRequestTimeouts not firing after {rounds} rounds\n{detail()}"
    assert {a["labels"]["instance"] for a in firing} <= leaders, (firing, leaders)
    assert {a["labels"]["request"] for a in firing} == {"Produce"}
    # the panel shows them per broker and request (not only its 0 lines)
    board = dashboards["kafka-overview.json"]
    [(_, _, expr)] = [q for q in prometheus_queries(board) if q[0] == "Broker request timeouts"]
    shown = prometheus.query(substitute(expr, RANGE_VARIABLES))
    assert any(r["metric"].get("request") == "Produce" and float(r["value"][1]) > 0 for r in shown), shown
    # A paused broker can also fail the Flink Kafka source's partition discovery (a restart):
    # the pipeline is whole again before the next fault.
    wait_healthy(bed, prometheus, flink)


def slow_enough_ms(prometheus, flink, jid, topic):
    """A per-record sleep that leaves the throttled operator half the capacity it needs: from the
    topic's produce rate the brokers see and the job's parallelism."""
    [sample] = prometheus.query(
        f'sum(rate(kafka_server_brokertopicmetrics_messagesinpersec_total{{topic="{topic}"}}[1m]))')
    per_second = float(sample["value"][1])
    assert per_second > 0, f"nothing is produced to {topic}"
    parallelism = max(v["parallelism"] for v in flink.get(f"/jobs/{jid}")["vertices"])
    return max(50, math.ceil(2 * 1000 * parallelism / per_second))


def backpressure(flink, jid, vid):
    body = flink.get(f"/jobs/{jid}/vertices/{vid}/backpressure")
    subtasks = body.get("subtasks") or []
    assert subtasks, body
    return max(s["ratio"] for s in subtasks), max(s["busyRatio"] for s in subtasks)


def test_slow_operator_fires_backpressure_on_victims_not_the_bottleneck(bed, prometheus, flink):
    jid = wait_healthy(bed, prometheus, flink)
    names, _ = flink.vertices(jid)
    by_label = {flink_label(n): vid for vid, n in names.items()}
    detail = alert_detail(bed, prometheus)
    wait_until("no backpressure alert before the fault",
               lambda: not alerts(prometheus, "FlinkBackpressureHigh", states=("firing", "pending")), 300, detail=detail)
    # The bed's throttle() sleeps per click in the attribution (join) step.
    bed.send(f"slow-operator {slow_enough_ms(prometheus, flink, jid, 'clicks')}")
    try:
        wait_until("FlinkBackpressureHigh firing", lambda: alerts(prometheus, "FlinkBackpressureHigh"), 240, detail=detail)

        def agreeing_views():
            """The bottleneck as Flink's REST API shows it (busy, not itself backpressured), and
            the alert's tasks, once REST (its metric fetcher lags) also shows them held."""
            levels = {vid: backpressure(flink, jid, vid) for vid in names}
            bottleneck = max((v for v, (bp, _) in levels.items() if bp < 0.5), key=lambda v: levels[v][1])
            firing = alerts(prometheus, "FlinkBackpressureHigh")
            victims = {a["labels"]["task_name"] for a in firing}
            assert victims and all(t in by_label for t in victims), (victims, sorted(by_label))
            if levels[bottleneck][1] >= 0.5 and all(levels[by_label[t]][0] >= 0.5 for t in victims):
                return levels, bottleneck, firing
            return None

        levels, bottleneck, firing = wait_until(
            "Flink's REST API agreeing: a busy bottleneck, the alerted tasks backpressured", agreeing_views, 120,
            detail=lambda: f"REST: { {names[v]: backpressure(flink, jid, v) for v in names} }\n{detail()}")
        victims = {a["labels"]["task_name"] for a in firing}
        assert {a["labels"]["job_name"] for a in firing} == {flink_label(flink.job_name)}
        assert flink_label(names[bottleneck]) not in victims, f"the bottleneck {names[bottleneck]} is named"
        # Which victim is held first depends on the graph: with the join slowed, the impressions
        # source can be held by barrier alignment at the window aggregate both feed, before the
        # clicks source's network buffers fill.
        lag = {m: prometheus.query(f'max(flink_taskmanager_job_task_operator_{m}{{job_name="{flink_label(flink.job_name)}"}})')
               for m in ("pendingRecords", "KafkaSourceReader_KafkaConsumer_records_lag_max")}
        print(f"slow-operator: Flink Kafka source lag meanwhile: { {m: r[0]['value'][1] if r else None for m, r in lag.items()} }")
        print(f"slow-operator: bottleneck {names[bottleneck]}; FlinkBackpressureHigh on {sorted(victims)}; "
              f"REST (backpressured, busy): { {names[v]: level for v, level in levels.items()} }")
    finally:
        bed.send("unslow-operator")
    wait_until("FlinkBackpressureHigh cleared after unslow-operator",
               lambda: not alerts(prometheus, "FlinkBackpressureHigh", states=("firing", "pending")), 300, detail=detail)


CHECKPOINT_ALERTS = ("FlinkCheckpointsNotCompleting", "FlinkCheckpointsFailing")


def test_blocked_sink_fires_a_checkpoint_alert_for_the_job(bed, prometheus, flink):
    jid = wait_healthy(bed, prometheus, flink)
    detail = alert_detail(bed, prometheus)
    bed.send("block-sink")
    try:
        firing = wait_until("FlinkCheckpointsNotCompleting or FlinkCheckpointsFailing firing",
                            lambda: [a for n in CHECKPOINT_ALERTS for a in alerts(prometheus, n)], 420, detail=detail)
        assert {a["labels"]["job_name"] for a in firing} == {flink_label(flink.job_name)}
        counts = flink.checkpoints(jid)
        print(f"block-sink: {sorted({a['labels']['alertname'] for a in firing})} firing; REST counts {counts}")
    finally:
        bed.send("unblock-sink")
    wait_healthy(bed, prometheus, flink)
    wait_until("FlinkCheckpointsNotCompleting cleared after unblock-sink",
               lambda: not alerts(prometheus, "FlinkCheckpointsNotCompleting", states=("firing", "pending")),
               300, detail=detail)


def test_stopped_generator_fires_watermark_not_advancing(bed, prometheus, flink):
    detail = alert_detail(bed, prometheus)
    job = flink_label(flink.job_name)
    bed.send("stop-generator")
    try:
        # delta over 2 minutes must be 0 first: the longest wait of the suite
        firing = wait_until("FlinkWatermarkNotAdvancing firing",
                            lambda: alerts(prometheus, "FlinkWatermarkNotAdvancing"), 300, detail=detail)
        assert {a["labels"]["job_name"] for a in firing} == {job}
        tasks = {a["labels"]["task_name"] for a in firing}
        assert any(t.startswith("Source:") for t in tasks), tasks
    finally:
        bed.send("start-generator")
    wait_until("FlinkWatermarkNotAdvancing cleared after start-generator",
               lambda: not alerts(prometheus, "FlinkWatermarkNotAdvancing", states=("firing", "pending")),
               180, detail=detail)


def test_cancelled_job_fires_no_job_running(bed, prometheus, flink, alert_rules):
    detail = alert_detail(bed, prometheus)
    job = flink_label(flink.job_name)
    pending = f'flink_taskmanager_job_task_operator_pendingRecords{{job_name="{job}"}}'
    assert prometheus.query(pending), "the running job's sources report pendingRecords"
    bed.send("cancel-job")
    try:
        wait_until("FlinkNoJobRunning firing", lambda: alerts(prometheus, "FlinkNoJobRunning"), 120, detail=detail)
        # Lag growing on the cancelled job's group: KafkaConsumerLagGrowing reads kafka_exporter.
        expr = rule_expr(alert_rules, "KafkaConsumerLagGrowing")
        assert metric_names(expr) <= NOT_PROVABLE_HERE and prometheus.query(expr) == []
        report("alert KafkaConsumerLagGrowing on a cancelled job: not provable here (kafka_exporter's "
               f"{sorted(metric_names(expr))}); the Flink Kafka source's own metrics leave with the job")
        # ... and the Flink Kafka source's own backlog metric is gone with the job, so it cannot
        # stand in for a cancelled job (it could for a running one that falls behind).
        assert prometheus.query(pending) == [], prometheus.query(pending)
    finally:
        bed.send("resubmit-job")
    wait_healthy(bed, prometheus, flink)
    wait_until("FlinkNoJobRunning cleared after resubmit-job",
               lambda: not alerts(prometheus, "FlinkNoJobRunning", states=("firing", "pending")), 120, detail=detail)


class BedDescriptionStale(UserWarning):
    """The bed's description no longer says where a part listens."""


def follow_bed(deployment, bed):
    """After a part came back: map the targets to where the bed now says they are (re-read
    description) and reload Prometheus (SIGHUP) if that moved anything."""
    bed.refresh()
    addresses = bed.exporters()
    addresses["localhost:9090"] = deployment["addresses"]["localhost:9090"]
    if addresses == deployment["addresses"]:
        return False
    prom = deployment["prometheus"]
    config, _ = bed_config(load_yaml(PROVISIONING / "prometheus" / "prometheus.yml"), addresses,
                           deployment["config"]["rule_files"][0])
    prom.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    prom._proc.send_signal(signal.SIGHUP)
    deployment.update(config=config, addresses=addresses)
    return True


def test_lost_taskmanager_fires_target_down_then_job_restarting(bed, deployment, flink):
    prometheus = deployment["prometheus"]
    tm = bed.info["flink"]["taskmanager"]
    detail = alert_detail(bed, prometheus)
    bed.send("kill-taskmanager")
    try:
        both = {tm["prometheus"], tm["jmx_exporter"]}  # its reporter and its JMX agent
        down = wait_until("MonitoringTargetDown for both TaskManager targets",
                          lambda: (lambda d: d if {a["labels"]["instance"] for a in d} >= both else None)(
                              alerts(prometheus, "MonitoringTargetDown")), 120, detail=detail)
        assert {a["labels"]["instance"] for a in down} == both
    finally:
        bed.send("start-taskmanager")
    # The job gets its slots back and runs; it restarted, which FlinkJobRestarting names.
    jid = wait_until("job RUNNING", flink.job, 300)["jid"]
    done = flink.checkpoints(jid)["completed"]
    wait_until("a checkpoint after the restart", lambda: flink.checkpoints(jid)["completed"] > done, 300)
    firing = wait_until("FlinkJobRestarting firing", lambda: alerts(prometheus, "FlinkJobRestarting"), 120, detail=detail)
    assert {a["labels"]["job_name"] for a in firing} == {flink_label(flink.job_name)}
    # Where the new TaskManager listens: the demo's comes back at flink-taskmanager:7071/9249.
    moved = follow_bed(deployment, bed)
    def old_addresses_up():
        return all(t["health"] == "up" for t in prometheus.api("targets")["activeTargets"]
                   if t["labels"]["instance"] in both)
    still_down = not moved and settle(lambda: not old_addresses_up(), timeout=6 * seconds(SCRAPE))
    if still_down:
        warnings.warn(BedDescriptionStale(
            "start-taskmanager: the new TaskManager listens on fresh ports and the bed's description "
            f"still names {sorted(both)}: Prometheus cannot follow it, MonitoringTargetDown stays on"))
        return
    wait_until("every target up after start-taskmanager",
               lambda: all(t["health"] == "up" for t in prometheus.api("targets")["activeTargets"]), 120,
               detail=detail)
    wait_until("MonitoringTargetDown cleared after start-taskmanager",
               lambda: not alerts(prometheus, "MonitoringTargetDown", states=("firing", "pending")), 120, detail=detail)
