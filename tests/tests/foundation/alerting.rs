//! The provisioned Grafana alert rules (`provisioning/grafana/alerting/`), asked of the real
//! backend: every datasource query they hold goes through the plugin binary the way Grafana's
//! alerting sends it (the data entry's `queryType` on the query, its `model` as the JSON), to
//! the provisioned datasource's own settings with Kafka and Flink moved to closed ports. A
//! query the backend cannot parse is a 400 `invalid query` of its own; an upstream that does
//! not answer is not an error of the `health` query (each side becomes an unknown node), so
//! every rule's query must come back with the `health` frame Grafana turns into series.
//! The files' Grafana format is checked by `tests/packaging/test_grafana_alerting.py`.

use std::path::PathBuf;

use pipeline_model::frame_contract::{frames, health_fields, metric_field, HEALTH_METRICS};
use pipeline_tests::bed::repo_root;
use pipeline_tests::{DatasourceConfig, PluginHost, Query};
use serde_json::{json, Value};

use super::closed_port;

const PLUGIN_TYPE: &str = "pipelinehealth-kafkaflink-datasource";
const EXPRESSIONS: &str = "__expr__";

fn read_yaml(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One datasource query of a provisioned rule.
struct RuleQuery {
    /// `<rule uid>/<refId>`, unique over all the files.
    id: String,
    datasource_uid: String,
    query_type: String,
    model: Value,
}

/// Every non-expression data entry of every rule in the alerting folder.
fn rule_queries() -> Vec<RuleQuery> {
    let folder = repo_root().join("provisioning/grafana/alerting");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut queries = Vec::new();
    for path in &paths {
        let doc = read_yaml(path);
        let groups = doc["groups"].as_array().cloned().unwrap_or_default();
        for rule in groups.iter().flat_map(|g| g["rules"].as_array().unwrap()) {
            let uid = rule["uid"].as_str().expect("a rule uid");
            for entry in rule["data"].as_array().expect("a rule's data") {
                let datasource_uid = entry["datasourceUid"].as_str().unwrap_or("").to_string();
                if datasource_uid == EXPRESSIONS {
                    continue;
                }
                queries.push(RuleQuery {
                    id: format!("{uid}/{}", entry["refId"].as_str().expect("a refId")),
                    datasource_uid,
                    query_type: entry["queryType"].as_str().unwrap_or("").to_string(),
                    model: entry["model"].clone(),
                });
            }
        }
    }
    queries
}

/// The provisioned Pipeline Health datasource: its uid and jsonData.
fn provisioned_datasource() -> (String, Value) {
    let path = repo_root().join("provisioning/grafana/datasources/datasources.yml");
    let doc = read_yaml(&path);
    let ours: Vec<&Value> = doc["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["type"] == PLUGIN_TYPE)
        .collect();
    assert_eq!(ours.len(), 1, "one {PLUGIN_TYPE} datasource in {path:?}");
    let uid = ours[0]["uid"].as_str().unwrap().to_string();
    (uid, ours[0]["jsonData"].clone())
}

#[tokio::test]
async fn every_provisioned_alert_query_parses_in_the_backend() {
    let queries = rule_queries();
    assert!(
        queries.len() >= 3,
        "expected the rules' queries, found {}",
        queries.len()
    );
    let (uid, mut json_data) = provisioned_datasource();
    for q in &queries {
        assert_eq!(
            q.datasource_uid, uid,
            "{}: not the provisioned datasource",
            q.id
        );
        // Named, not left to the backend's default: a misspelt key would read as `status`.
        let metric = q.model["metric"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: the model names no `metric`", q.id));
        assert!(
            HEALTH_METRICS.contains(&metric),
            "{}: metric `{metric}` is not one of {HEALTH_METRICS:?}",
            q.id
        );
    }
    // The demo's settings (its pipeline description included), with nothing listening.
    json_data["kafkaBootstrapServers"] = json!(format!("127.0.0.1:{}", closed_port().await));
    json_data["flinkUrl"] = json!(format!("http://127.0.0.1:{}", closed_port().await));
    json_data["queryTimeoutSeconds"] = json!(5);
    let ds = DatasourceConfig::new(json_data);

    let host = PluginHost::start().await;
    let mut sent: Vec<Query> = queries
        .iter()
        .map(|q| Query::new(&q.id, &q.query_type, q.model.clone()))
        .collect();
    // The control: a model the backend must refuse, so a refusal is what this test would see.
    let mut bad = queries[0].model.clone();
    bad["metric"] = json!("lagg");
    sent.push(Query::new("control/bad-metric", "health", bad));
    let answers = host.query(&ds, &sent).await;

    let control = &answers["control/bad-metric"];
    assert_eq!(control.status, 400, "{}", control.error);
    assert!(
        control.error.contains("invalid query") && control.error.contains("`metric`"),
        "{}",
        control.error
    );
    for q in &queries {
        let answer = &answers[&q.id];
        assert!(
            answer.status != 400 && !answer.error.contains("invalid query"),
            "{}: the backend refuses the rule's query (status {}): {}",
            q.id,
            answer.status,
            answer.error
        );
        // Unreachable upstreams are unknown nodes, not an error: the rule gets its series.
        let frame = answer.frame(frames::HEALTH);
        for (_, label) in health_fields::ALL {
            assert!(frame.has_field(label), "{}: no label field {label}", q.id);
        }
        let metric = q.model["metric"].as_str().unwrap();
        assert!(
            frame.has_field(&metric_field(metric)),
            "{}: no value field for {metric}",
            q.id
        );
        assert!(!frame.is_empty(), "{}: no rows", q.id);
    }
}
