"""Dashboards, checked as Grafana's provisioning would read them: valid JSON, unique stable uids,
only datasources that provisioning defines, the variables and panels the operators need, units
and thresholds on every panel."""
import json

import pytest

from promql import parse_label_values, panels, prometheus_queries, selectors, used_variables, variables, with_matcher
from stack import DASHBOARDS, ROOT, load_yaml

DATASOURCE_PLUGIN = "pipelinehealth-kafkaflink-datasource"
PANEL_PLUGIN = "pipelinehealth-topology-panel"
EXPECTED = {
    "kafka-overview.json": ("ph-kafka-overview", "Kafka Overview",
                            {"datasource", "cluster", "topic", "group", "instance"}),
    "flink-overview.json": ("ph-flink-overview", "Flink Overview", {"datasource", "cluster", "job", "tm_id"}),
    "jvm-metrics.json": ("ph-jvm-metrics", "JVM Metrics", {"datasource", "cluster", "job", "instance"}),
    "pipeline-topology.json": ("ph-pipeline-topology", "Pipeline Topology", {"pipeline"}),
}


@pytest.fixture(scope="module")
def provisioned_datasources():
    return load_yaml(ROOT / "provisioning/grafana/datasources/datasources.yml")["datasources"]


def test_every_dashboard_file_is_valid_json_with_a_unique_stable_uid():
    uids = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        doc = json.loads(path.read_text())  # raises on invalid JSON
        assert doc.get("uid"), f"{path.name} has no uid"
        assert doc["uid"] not in uids, f"{path.name} and {uids.get(doc['uid'])} share uid {doc['uid']}"
        assert len(doc["uid"]) <= 40
        assert "id" not in doc or doc["id"] is None, f"{path.name}: a fixed numeric id breaks provisioning"
        uids[doc["uid"]] = path.name
    assert set(uids.values()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dashboard_has_its_uid_title_and_variables(dashboards, name):
    uid, title, wanted = EXPECTED[name]
    doc = dashboards[name]
    assert (doc["uid"], doc["title"]) == (uid, title)
    assert wanted <= set(variables(doc)), wanted - set(variables(doc))


def datasource_refs(doc):
    for panel in panels(doc):
        if "datasource" in panel:
            yield panel["title"], panel["datasource"]
        for target in panel.get("targets", []):
            if "datasource" in target:
                yield panel["title"], target["datasource"]
    for var in variables(doc).values():
        if "datasource" in var:
            yield f"variable {var['name']}", var["datasource"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dashboard_uses_only_provisioned_datasources(dashboards, provisioned_datasources, name):
    doc = dashboards[name]
    by_uid = {d["uid"]: d["type"] for d in provisioned_datasources}
    types = set(by_uid.values())
    vars_ = variables(doc)
    refs = list(datasource_refs(doc))
    assert refs
    for where, ref in refs:
        uid = ref["uid"]
        if uid.startswith("$"):
            var = vars_.get(uid.strip("${}"))
            assert var and var["type"] == "datasource", f"{name} {where}: {uid} is not a datasource variable"
            assert var["query"] in types, f"{name}: variable {var['name']} picks {var['query']}, which provisioning does not define"
            assert ref["type"] == var["query"], f"{name} {where}: type {ref['type']} but variable offers {var['query']}"
        else:
            assert by_uid.get(uid) == ref["type"], f"{name} {where}: datasource {ref} is not provisioned"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_variable_used_is_defined(dashboards, name):
    doc = dashboards[name]
    defined = set(variables(doc)) | {"__rate_interval", "__interval", "__range"}
    for panel in panels(doc):
        for target in panel.get("targets", []):
            missing = used_variables(json.dumps(target)) - defined
            assert not missing, f"{name} '{panel['title']}' uses undefined {missing}"


@pytest.mark.parametrize("name", ["kafka-overview.json", "flink-overview.json", "jvm-metrics.json"])
def test_every_metric_panel_has_a_unit_and_thresholds(dashboards, name):
    for panel in panels(dashboards[name]):
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults.get("unit"), f"{name} '{panel['title']}' has no unit"
        steps = defaults.get("thresholds", {}).get("steps")
        assert steps and steps[0]["value"] is None, f"{name} '{panel['title']}' has no threshold base"


def test_health_thresholds_match_the_alerts(dashboards):
    """The red lines on the panels are the lines the alerts fire at."""
    def steps(doc, title):
        panel = next(p for p in panels(doc) if p["title"] == title)
        return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]
    assert steps(dashboards["flink-overview.json"], "Backpressure") == [0.5, 0.8]
    assert steps(dashboards["kafka-overview.json"], "Consumer lag (messages)") == [1000, 10000]
    assert steps(dashboards["jvm-metrics.json"], "Heap used / max") == [0.85, 0.95]
    assert steps(dashboards["flink-overview.json"], "Watermark lag") == [60, 300]
    assert steps(dashboards["flink-overview.json"], "Kafka source lag (records)") == [1000, 10000]


def test_panel_ids_are_unique_and_panels_do_not_overlap(dashboards):
    for name, doc in dashboards.items():
        ids = [p["id"] for p in panels(doc)]
        assert len(ids) == len(set(ids)), name
        cells = set()
        for p in panels(doc):
            g = p["gridPos"]
            assert g["x"] + g["w"] <= 24, f"{name} '{p['title']}' is wider than the grid"
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, f"{name} '{p['title']}' overlaps another panel"
                    cells.add((x, y))


def test_topology_dashboard_shows_our_panel_and_node_graph_on_the_same_query(dashboards):
    doc = dashboards["pipeline-topology.json"]
    by_type = {p["type"]: p for p in panels(doc)}
    assert {PANEL_PLUGIN, "nodeGraph"} <= set(by_type)
    ours, builtin = by_type[PANEL_PLUGIN], by_type["nodeGraph"]
    assert ours["targets"] == builtin["targets"]
    target = ours["targets"][0]
    assert target["queryType"] == "topology"
    assert target["datasource"]["type"] == DATASOURCE_PLUGIN


def test_panel_plugin_id_matches_the_built_panel():
    manifest = json.loads((ROOT / "panel" / "plugin.json").read_text())
    assert manifest["id"] == PANEL_PLUGIN
    manifest = json.loads((ROOT / "backend" / "plugin.json").read_text())
    assert manifest["id"] == DATASOURCE_PLUGIN


def test_our_datasource_is_provisioned_for_the_demo(provisioned_datasources):
    ours = next(d for d in provisioned_datasources if d["type"] == DATASOURCE_PLUGIN)
    data = ours["jsonData"]
    assert data["kafkaBootstrapServers"] == "kafka:9092"
    assert data["flinkUrl"] == "http://flink-jobmanager:8081"
    assert data["kafkaSecurityProtocol"] == "PLAINTEXT" and data["flinkAuth"] == "none"
    prom = next(d for d in provisioned_datasources if d["type"] == "prometheus")
    assert prom["url"] == "http://prometheus:9090"


# --- past one cluster: every Prometheus selector filtered by $cluster ----------------------------
PROMETHEUS_DASHBOARDS = ["kafka-overview.json", "flink-overview.json", "jvm-metrics.json"]
CLUSTER = 'cluster=~"$cluster"'


def test_selectors_and_an_added_matcher():
    expr = 'sum by (instance) (rate(a_total{x="1"}[5m])) or on (instance) (0 * b{})'
    assert [(s["name"], s["matchers"]) for s in selectors(expr)] == [("a_total", 'x="1"'), ("b", "")]
    assert with_matcher(expr, CLUSTER) == (
        'sum by (instance) (rate(a_total{cluster=~"$cluster", x="1"}[5m])) or on (instance) '
        '(0 * b{cluster=~"$cluster"})')
    assert with_matcher("up", CLUSTER) == 'up{cluster=~"$cluster"}'


def every_selector(doc):
    """(where, selector) of every series selector in the dashboard's queries and variables."""
    for title, ref, expr in prometheus_queries(doc):
        for sel in selectors(expr):
            yield f"{title} {ref}", sel
    for name, var in variables(doc).items():
        if var["type"] == "query" and name != "cluster":
            for sel in selectors(parse_label_values(var["definition"])[0]):
                yield f"variable {name}", sel


@pytest.mark.parametrize("name", PROMETHEUS_DASHBOARDS)
def test_every_query_of_a_prometheus_dashboard_keeps_to_the_selected_cluster(dashboards, name):
    doc = dashboards[name]
    cluster = variables(doc)["cluster"]
    # One cluster at a time (the stat panels sum over what they select), from the target label.
    assert parse_label_values(cluster["definition"]) == ("up", "cluster")
    assert not cluster.get("includeAll") and not cluster.get("multi")
    unfiltered = [(where, s["name"]) for where, s in every_selector(doc) if CLUSTER not in s["matchers"]]
    assert not unfiltered, f"{name}: selectors that mix clusters: {unfiltered}"


@pytest.mark.parametrize("name, variable, prefixes", [
    ("kafka-overview.json", "instance", ("kafka_server_", "kafka_network_", "kafka_controller_")),
    ("flink-overview.json", "tm_id", ("flink_taskmanager_Status_",)),
])
def test_per_process_panels_follow_their_variable(dashboards, name, variable, prefixes):
    """Broker panels broken down by instance follow $instance; TaskManager panels follow $tm_id."""
    matcher = f'{variable}=~"${variable}"'
    missing = [(title, s["name"]) for title, ref, expr in prometheus_queries(dashboards[name])
               if f"by ({variable}" in expr
               for s in selectors(expr) if s["name"].startswith(prefixes) and matcher not in s["matchers"]]
    assert not missing, missing
    assert any(matcher in expr for _, _, expr in prometheus_queries(dashboards[name]))
