"""The Grafana alerting files (provisioning/grafana/alerting/), checked as Grafana 11.3 reads them.

Grafana parses these files with yaml.v2 into its provisioning types
(pkg/services/provisioning/alerting/*_types.go), which ignores unknown keys: a misspelt key is
silently dropped, not an error. So this test knows the keys Grafana reads and fails on any other,
then checks what Grafana checks when it provisions (and fails to start on): required fields,
uids, durations, the no-data and error states, the condition, the expressions, the contact
point's settings and that the policies name provisioned receivers. On top, what makes the rules
ours: every query asks the provisioned Pipeline Health datasource with the `health` query, the
templates use labels the `health` frame has, paging is the root cause's alone, and every
runbook link lands on a heading of docs/runbook.md.

That every query model parses in the real backend is asked of the backend itself, by
tests/tests/foundation/alerting.rs (`cargo test -p pipeline-tests --test foundation alerting`),
which sends each rule's query through the plugin binary and checks its metric against
`pipeline_model::frame_contract::HEALTH_METRICS`.
"""
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTING = ROOT / "provisioning" / "grafana" / "alerting"
DATASOURCES = ROOT / "provisioning" / "grafana" / "datasources" / "datasources.yml"
COMPOSE = ROOT / "docker-compose.monitoring.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"
FRAME_CONTRACT = ROOT / "model" / "src" / "frame_contract.rs"
PLUGIN_TYPE = "pipelinehealth-kafkaflink-datasource"
EXPR_UID = "__expr__"

# The keys of Grafana's provisioning types (AlertingFileV1 and what it holds).
FILE_KEYS = {"apiVersion", "groups", "deleteRules", "contactPoints", "deleteContactPoints",
             "policies", "resetPolicies", "muteTimes", "deleteMuteTimes", "templates",
             "deleteTemplates"}
GROUP_KEYS = {"orgId", "name", "folder", "interval", "rules"}
RULE_KEYS = {"uid", "title", "condition", "data", "dashboardUid", "panelId", "noDataState",
             "execErrState", "for", "keepFiringFor", "annotations", "labels", "isPaused",
             "notification_settings"}
QUERY_KEYS = {"refId", "queryType", "relativeTimeRange", "datasourceUid", "model"}
CONTACT_POINT_KEYS = {"orgId", "name", "receivers"}
RECEIVER_KEYS = {"uid", "type", "settings", "disableResolveMessage"}
ROUTE_KEYS = {"receiver", "group_by", "matchers", "object_matchers", "routes", "continue",
              "group_wait", "group_interval", "repeat_interval", "mute_time_intervals",
              "active_time_intervals"}
POLICY_KEYS = ROUTE_KEYS | {"orgId"}

# models.NoDataStateFromString and ErrStateFromString (KeepLast since 10.4).
NO_DATA_STATES = {"Alerting", "NoData", "OK", "KeepLast"}
EXEC_ERR_STATES = {"Alerting", "Error", "OK", "KeepLast"}
# Server-side expression types, reducers and threshold evaluators of Grafana 11.3 (eq/ne/gte/lte
# thresholds came later; `$B == 2` is a math expression here).
EXPRESSION_TYPES = {"math", "reduce", "resample", "classic_conditions", "threshold"}
REDUCERS = {"sum", "mean", "min", "max", "count", "last", "median"}
REDUCE_MODES = {"", "strict", "dropNN", "replaceNN"}
EVALUATORS = {"gt": 1, "lt": 1, "within_range": 2, "outside_range": 2}
# Labels Grafana sets itself (models.LabelsUserCannotSpecify).
RESERVED_LABELS = {"alertname", "grafana_folder"}
# Contact point types of Grafana 11.3, and the settings each cannot go without.
CONTACT_TYPES = {
    "alertmanager": [["url"]], "dingding": [["url"]], "discord": [["url"]],
    "email": [["addresses"]], "googlechat": [["url"]], "kafka": [["kafkaRestProxy", "kafkaTopic"]],
    "line": [["token"]], "opsgenie": [["apiKey"]], "pagerduty": [["integrationKey"]],
    "pushover": [["userKey", "apiToken"]], "sensugo": [["url", "apikey"]],
    "slack": [["url"], ["token", "recipient"]], "teams": [["url"]],
    "telegram": [["bottoken", "chatid"]], "threema": [["gateway_id", "recipient_id", "api_secret"]],
    "victorops": [["url"]], "webhook": [["url"]], "wecom": [["url"], ["secret", "corp_id", "agent_id"]],
    "webex": [["bot_token", "room_id"]], "oncall": [["url"]], "sns": [["topic"]], "mqtt": [["brokerUrl", "topic"]],
}
MATCHER_OPS = {"=", "!=", "=~", "!~"}
# github.com/prometheus/common/model.ParseDuration
DURATION = re.compile(r"^(0|(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?)$")
UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
SCHEDULER_BASE_SECONDS = 10
UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def seconds(duration):
    assert isinstance(duration, str) and duration and DURATION.match(duration), \
        f"{duration!r} is not a Prometheus duration (1m, 90s, 1h30m)"
    return sum(int(n) * UNITS[u] for n, u in re.findall(r"(\d+)(ms|[ywdhms])", duration))


def files():
    return sorted(p for p in ALERTING.iterdir())


def load(path):
    return yaml.safe_load(path.read_text())


def all_of(key):
    """Every item under top-level `key` of every alerting file, with the file it came from."""
    return [(p.name, item) for p in files() for item in (load(p) or {}).get(key) or []]


def rules():
    return [(f, g, r) for f, g in all_of("groups") for r in g["rules"]]


def rule_ids():
    return [r["uid"] for _, _, r in rules()]


def rule(uid):
    return next(r for _, _, r in rules() if r["uid"] == uid)


def queries(r):
    return [q for q in r["data"] if q.get("datasourceUid") != EXPR_UID]


def our_datasource_uid():
    sources = load(DATASOURCES)["datasources"]
    uids = [d["uid"] for d in sources if d["type"] == PLUGIN_TYPE]
    assert len(uids) == 1, uids
    return uids[0]


def health_labels():
    """The label fields of the `health` frame, from model/src/frame_contract.rs."""
    block = re.search(r"health_fields \{(.*?)\n    \}", FRAME_CONTRACT.read_text(), re.S).group(1)
    return set(re.findall(r'= "([a-z_]+)";', block))


def unknown(keys, known):
    return sorted(set(keys) - known)


def test_the_folder_holds_only_files_grafana_reads():
    """Grafana refuses to start on any other suffix in the alerting folder (a README included)."""
    names = [p.name for p in files()]
    assert names, f"no alerting files in {ALERTING}"
    for name in names:
        assert name.endswith((".yml", ".yaml", ".json")), f"{name}: Grafana accepts .yaml, .yml, .json only"


@pytest.mark.parametrize("path", files(), ids=lambda p: p.name)
def test_each_file_is_version_1_with_known_top_level_keys(path):
    doc = load(path)
    assert isinstance(doc, dict), f"{path.name} is not a mapping"
    assert doc.get("apiVersion") == 1, f"{path.name}: apiVersion must be 1"
    assert not unknown(doc, FILE_KEYS), f"{path.name}: keys Grafana ignores: {unknown(doc, FILE_KEYS)}"


def test_rules_exist_and_uids_are_grafana_uids_unique_across_files():
    uids = rule_ids()
    assert {"ph-root-cause", "ph-node-critical", "ph-cannot-see"} <= set(uids), uids
    assert len(uids) == len(set(uids)), f"duplicate rule uids: {uids}"
    for uid in uids:
        assert isinstance(uid, str) and UID.match(uid), f"{uid!r}: at most 40 of A-Z a-z 0-9 - _"


def test_groups_have_name_folder_and_a_schedulable_interval():
    for name, group in all_of("groups"):
        assert not unknown(group, GROUP_KEYS), f"{name}: group keys Grafana ignores: {unknown(group, GROUP_KEYS)}"
        assert isinstance(group.get("orgId", 1), int) and group.get("orgId", 1) >= 1
        assert str(group.get("name", "")).strip(), f"{name}: a group needs a name"
        assert str(group.get("folder", "")).strip(), f"{name}: a group needs a folder"
        interval = seconds(group.get("interval"))
        assert interval > 0 and interval % SCHEDULER_BASE_SECONDS == 0, \
            f"{name}: interval {group['interval']} is not a multiple of the scheduler's 10 s"
        titles = [r.get("title") for r in group["rules"]]
        assert len(titles) == len(set(titles)), f"{name}: rule titles repeat within a folder: {titles}"


@pytest.mark.parametrize("uid", rule_ids())
def test_rule_fields_are_what_grafana_requires(uid):
    r = rule(uid)
    assert not unknown(r, RULE_KEYS), f"{uid}: keys Grafana ignores: {unknown(r, RULE_KEYS)}"
    assert isinstance(r.get("title"), str) and 0 < len(r["title"]) <= 190, f"{uid}: title"
    seconds(r.get("for", "0"))
    seconds(r.get("keepFiringFor", "0"))
    assert r.get("noDataState", "NoData") in NO_DATA_STATES, f"{uid}: noDataState {r.get('noDataState')}"
    assert r.get("execErrState", "Alerting") in EXEC_ERR_STATES, f"{uid}: execErrState {r.get('execErrState')}"
    assert isinstance(r.get("isPaused", False), bool)
    for field in ("labels", "annotations"):
        values = r.get(field) or {}
        assert isinstance(values, dict), f"{uid}: {field} must be a mapping"
        for k, v in values.items():
            assert isinstance(k, str) and isinstance(v, str), f"{uid}: {field}.{k} must be a string"
    for label, value in (r.get("labels") or {}).items():
        assert label not in RESERVED_LABELS and not label.startswith("__"), f"{uid}: label {label} is Grafana's"
        # Grafana expands labels from the environment: a `$` would be eaten (`$$` is a literal).
        assert "$" not in value.replace("$$", ""), f"{uid}: label {label} has a `$` Grafana would expand"
    assert r["labels"].get("severity") in {"critical", "warning"}, f"{uid}: severity"


@pytest.mark.parametrize("uid", rule_ids())
def test_data_entries_and_the_condition_are_well_formed(uid):
    r = rule(uid)
    data = r.get("data")
    assert isinstance(data, list) and data, f"{uid}: no data"
    ref_ids = [q.get("refId") for q in data]
    assert all(isinstance(x, str) and x for x in ref_ids), f"{uid}: every data entry needs a refId"
    assert len(ref_ids) == len(set(ref_ids)), f"{uid}: refIds repeat: {ref_ids}"
    assert r.get("condition") in ref_ids, f"{uid}: condition {r.get('condition')!r} is not a refId of {ref_ids}"
    for q in data:
        where = f"{uid}/{q['refId']}"
        assert not unknown(q, QUERY_KEYS), f"{where}: keys Grafana ignores: {unknown(q, QUERY_KEYS)}"
        assert isinstance(q.get("datasourceUid"), str) and q["datasourceUid"], f"{where}: datasourceUid"
        span = q.get("relativeTimeRange")
        assert isinstance(span, dict) and set(span) == {"from", "to"}, f"{where}: relativeTimeRange needs from and to"
        assert all(isinstance(v, int) and v >= 0 for v in span.values()) and span["from"] >= span["to"], where
        model = q.get("model")
        assert isinstance(model, dict) and model, f"{where}: model"
        assert model.get("refId", q["refId"]) == q["refId"], f"{where}: model.refId differs"
    condition = next(q for q in data if q["refId"] == r["condition"])
    assert condition["datasourceUid"] == EXPR_UID, f"{uid}: the condition should be an expression"


def check_expression(where, model, earlier):
    kind = model.get("type")
    assert kind in EXPRESSION_TYPES, f"{where}: expression type {kind!r} is not one of {sorted(EXPRESSION_TYPES)}"
    assert model.get("datasource", {"uid": EXPR_UID}).get("uid") == EXPR_UID, f"{where}: model.datasource"
    if kind in {"reduce", "threshold", "resample"}:
        assert model.get("expression") in earlier, f"{where}: {kind} of {model.get('expression')!r}, not an earlier refId {earlier}"
    if kind == "reduce":
        assert model.get("reducer") in REDUCERS, f"{where}: reducer {model.get('reducer')!r}"
        assert (model.get("settings") or {}).get("mode", "") in REDUCE_MODES, f"{where}: reduce mode"
    elif kind == "threshold":
        conditions = model.get("conditions")
        assert isinstance(conditions, list) and conditions, f"{where}: threshold without conditions"
        evaluator = conditions[0].get("evaluator", {})
        assert evaluator.get("type") in EVALUATORS, f"{where}: evaluator {evaluator.get('type')!r}"
        params = evaluator.get("params")
        assert isinstance(params, list) and len(params) == EVALUATORS[evaluator["type"]], f"{where}: params {params}"
        assert all(isinstance(p, (int, float)) for p in params), f"{where}: params must be numbers"
    elif kind == "math":
        expression = model.get("expression")
        assert isinstance(expression, str) and expression.strip(), f"{where}: math without expression"
        refs = re.findall(r"\$\{?([A-Za-z0-9_]+)\}?", expression)
        assert refs and set(refs) <= set(earlier), f"{where}: {expression!r} names {refs}, not refIds of {earlier}"
    elif kind == "classic_conditions":
        assert isinstance(model.get("conditions"), list) and model["conditions"], f"{where}: no conditions"


@pytest.mark.parametrize("uid", rule_ids())
def test_expressions_are_ones_grafana_knows_over_earlier_refids(uid):
    earlier = []
    for q in rule(uid)["data"]:
        if q["datasourceUid"] == EXPR_UID:
            check_expression(f"{uid}/{q['refId']}", q["model"], earlier)
        earlier.append(q["refId"])


@pytest.mark.parametrize("uid", rule_ids())
def test_queries_ask_the_provisioned_datasource_for_health(uid):
    ds = our_datasource_uid()
    asked = queries(rule(uid))
    assert asked, f"{uid}: no datasource query"
    for q in asked:
        where = f"{uid}/{q['refId']}"
        assert q["datasourceUid"] == ds, f"{where}: datasourceUid {q['datasourceUid']} is not the provisioned {ds}"
        model = q["model"]
        # Grafana sends the entry's queryType; the backend falls back to the model's.
        assert q.get("queryType") == model.get("queryType") == "health", f"{where}: queryType"
        assert model.get("datasource") in (None, {"type": PLUGIN_TYPE, "uid": ds}), f"{where}: model.datasource"
        assert isinstance(model.get("metric"), str), f"{where}: the health query needs its metric"


@pytest.mark.parametrize("uid", rule_ids())
def test_annotations_template_the_health_frames_labels_and_link_the_runbook(uid):
    r = rule(uid)
    annotations = r["annotations"]
    assert {"summary", "description", "runbook_url"} <= set(annotations), f"{uid}: annotations"
    labels = health_labels()
    assert labels == {"node", "name", "kind", "job"}, labels
    for key, text in annotations.items():
        assert text.count("{{") == text.count("}}"), f"{uid}: {key} has unbalanced braces"
        opened = len(re.findall(r"\{\{-?\s*(if|range|with)\b", text))
        assert opened == len(re.findall(r"\{\{-?\s*end\s*-?\}\}", text)), f"{uid}: {key}: an if/range without end"
        used = set(re.findall(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)", text))
        assert used <= labels, f"{uid}: {key} uses labels the health frame has not: {used - labels}"
    assert "$labels.name" in annotations["summary"] and "$labels.kind" in annotations["summary"], uid
    path, _, anchor = annotations["runbook_url"].partition("#")
    assert path == "docs/runbook.md" and anchor, f"{uid}: runbook_url {annotations['runbook_url']}"
    assert anchor in runbook_anchors(), f"{uid}: docs/runbook.md has no heading #{anchor}"


def runbook_anchors():
    headings = re.findall(r"^#+\s+(.+?)\s*$", RUNBOOK.read_text(), re.M)
    return {re.sub(r"[^a-z0-9 _-]", "", h.lower()).replace(" ", "-") for h in headings}


def test_only_the_root_cause_pages():
    """One page per incident: critical (the paging severity) is the root-cause metric's alone;
    the per-node states are warnings that name what still suffers."""
    for _, _, r in rules():
        metrics = {q["model"]["metric"] for q in queries(r)}
        if r["labels"]["severity"] == "critical":
            assert metrics == {"root cause"}, f"{r['uid']} pages on {metrics}"
    root = rule("ph-root-cause")
    assert root["annotations"]["summary"].startswith("Root cause: {{ $labels.kind }} {{ $labels.name }}")


def test_contact_points_are_known_types_with_their_settings():
    points = all_of("contactPoints")
    assert points, "no contact point"
    uids = []
    for name, cp in points:
        assert not unknown(cp, CONTACT_POINT_KEYS), f"{name}: keys Grafana ignores: {unknown(cp, CONTACT_POINT_KEYS)}"
        assert str(cp.get("name", "")).strip(), f"{name}: a contact point needs a name"
        assert cp.get("receivers"), f"{name}: {cp['name']} has no receivers"
        for receiver in cp["receivers"]:
            where = f"{cp['name']}/{receiver.get('uid')}"
            assert not unknown(receiver, RECEIVER_KEYS), f"{where}: keys Grafana ignores"
            assert isinstance(receiver.get("uid"), str) and UID.match(receiver["uid"]), f"{where}: uid"
            uids.append(receiver["uid"])
            kind = receiver.get("type")
            assert kind in CONTACT_TYPES, f"{where}: type {kind!r} is not a Grafana contact point type"
            settings = receiver.get("settings")
            assert isinstance(settings, dict) and settings, f"{where}: no settings"
            assert any(all(settings.get(k) for k in option) for option in CONTACT_TYPES[kind]), \
                f"{where}: {kind} needs one of {CONTACT_TYPES[kind]}"
            if kind == "webhook":
                assert re.match(r"^https?://[^/\s]+", settings["url"]), f"{where}: url {settings['url']}"
                assert settings.get("httpMethod", "POST") in {"POST", "PUT"}, f"{where}: httpMethod"
            assert "$" not in str(settings).replace("$$", ""), f"{where}: a `$` Grafana would expand"
    assert len(uids) == len(set(uids)), f"contact point uids repeat: {uids}"


def check_route(where, route, receivers, root=False):
    keys = POLICY_KEYS if root else ROUTE_KEYS
    assert not unknown(route, keys), f"{where}: keys Grafana ignores: {unknown(route, keys)}"
    if root or "receiver" in route:
        assert route.get("receiver") in receivers, f"{where}: receiver {route.get('receiver')!r} is not provisioned {receivers}"
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if key in route:
            seconds(route[key])
    for matcher in route.get("object_matchers", []):
        assert isinstance(matcher, list) and len(matcher) == 3 and matcher[1] in MATCHER_OPS, f"{where}: matcher {matcher}"
    for i, child in enumerate(route.get("routes", [])):
        check_route(f"{where}.routes[{i}]", child, receivers)


def matches(route, labels):
    for name, op, value in route.get("object_matchers", []):
        have = labels.get(name, "")
        ok = {"=": have == value, "!=": have != value,
              "=~": re.fullmatch(value, have) is not None, "!~": re.fullmatch(value, have) is None}[op]
        if not ok:
            return False
    return True


def test_the_policy_routes_every_rule_to_a_provisioned_contact_point():
    receivers = {cp["name"] for _, cp in all_of("contactPoints")}
    policies = all_of("policies")
    assert len(policies) == 1, "one policy tree per org"
    _, policy = policies[0]
    check_route("policies[0]", policy, receivers, root=True)
    for _, group, r in rules():
        labels = dict(r["labels"], alertname=r["title"], grafana_folder=group["folder"])
        routed = [c for c in policy.get("routes", []) if matches(c, labels)]
        assert routed, f"{r['uid']} only reaches the root policy; give its severity a route"
        assert routed[0].get("receiver", policy["receiver"]) in receivers


def test_grafana_mounts_the_alerting_folder():
    compose = load(COMPOSE)
    mounts = {}
    for volume in compose["services"]["grafana"]["volumes"]:
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
            mounts[target] = source
    assert mounts.get("/etc/grafana/provisioning/alerting") == "./provisioning/grafana/alerting", mounts
    assert (ROOT / mounts["/etc/grafana/provisioning/alerting"]).resolve() == ALERTING.resolve()
