"""Every panel query of the dashboards returns data on the bed (the not-provable ones
reported), for every JVM too, and an absent metric makes a panel fail."""
import copy
import re

import pytest

from bed import NOT_PROVABLE_HERE
from dashboard_check import empty_panel_queries, resolve_variables
from promql import metric_names, parse_label_values, prometheus_queries, substitute, variables
from stack import COMPOSE, load_yaml

from .deploy import agent_rule_files, provisioned_jobs
from .probes import report, settle


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
    cluster = {"cluster": resolve_variables(prometheus, doc)["cluster"]}
    jobs = sorted({s[label] for s in prometheus.series(substitute(selector, cluster))})
    # every JVM of the bed is on the dashboard: each kept job that scrapes a JMX agent
    agents = agent_rule_files(load_yaml(COMPOSE))
    agent_jobs = {j["job_name"] for j in provisioned_jobs() if j["job_name"] not in deployment["dropped"]
                  and any(t in agents for sc in j["static_configs"] for t in sc["targets"])}
    assert set(jobs) == agent_jobs, (jobs, agent_jobs)
    failures = []
    for job in jobs:
        by_job = pin_variable(doc, "job", job)
        inst_selector, inst_label = parse_label_values(variables(by_job)["instance"]["definition"])
        instances = sorted({s[inst_label] for s in prometheus.series(substitute(inst_selector, {**cluster, "job": job}))})
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
