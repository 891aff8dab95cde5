"""What Prometheus scrapes on the bed: the config maps only addresses (and names the dropped
jobs), every target is up, the JMX agents and Flink reporters export the names that dashboards
and alerts use, and the samples hold only what the real agents export."""
import re

import requests

from bed import NOT_PROVABLE_HERE, UNAVAILABLE_JOBS, parse_exposition
from promql import metric_names, parse_label_values, prometheus_queries, variables
from stack import COMPOSE, PROVISIONING, SAMPLES, load_yaml

from .deploy import agent_rule_files, provisioned_jobs
from .probes import report

JMX_RULES = PROVISIONING / "exporters" / "jmx"


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
