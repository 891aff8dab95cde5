//! The options every query may carry (`timeoutSeconds`, `thresholds`), as a panel's user sees
//! them: checked like the datasource's own settings, echoed readably, and applied to the
//! upstream requests of that query.

use pipeline_tests::{DatasourceConfig, PluginHost, Query};
use serde_json::json;

use super::answering_server;

#[tokio::test]
async fn bad_threshold_overrides_fail_their_query_alone() {
    let host = PluginHost::start().await;
    let flink = answering_server(200, r#"{"jobs":[]}"#).await;
    let ds = DatasourceConfig::new(json!({ "flinkUrl": flink }));
    let answers = host
        .query(
            &ds,
            &[
                Query::new(
                    "good",
                    "jobs",
                    json!({ "thresholds": { "lagCritical": 5000 } }),
                ),
                Query::new(
                    "inverted",
                    "jobs",
                    json!({ "thresholds": { "lagWarning": 10, "lagCritical": 1 } }),
                ),
                // Wrong only against the datasource's values: a warning above its critical.
                Query::new(
                    "above",
                    "jobs",
                    json!({ "thresholds": { "heapWarning": 0.99 } }),
                ),
            ],
        )
        .await;
    assert!(
        answers["good"].error.is_empty(),
        "{}",
        answers["good"].error
    );
    let inverted = &answers["inverted"];
    assert!(inverted.frames.is_empty());
    assert_eq!(inverted.status, 400);
    assert!(
        inverted
            .error
            .contains("field `thresholds`: threshold lagWarning (10) is above lagCritical (1)"),
        "{}",
        inverted.error
    );
    let above = &answers["above"].error;
    assert!(
        above.contains("heapWarning (0.99)") && above.contains("heapCritical (0.95)"),
        "{above}"
    );
}

#[tokio::test]
async fn a_huge_timeout_is_echoed_compactly() {
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({}));
    let answer = host
        .query_one(&ds, "jobs", json!({ "timeoutSeconds": 1e308 }))
        .await;
    assert!(
        answer.error.contains("timeoutSeconds") && answer.error.ends_with("got 1e308"),
        "{}",
        answer.error
    );
    let ds = DatasourceConfig::new(json!({ "queryTimeoutSeconds": 1e308 }));
    let answer = host.query_one(&ds, "jobs", json!({})).await;
    assert!(answer.error.ends_with("got 1e308"), "{}", answer.error);
}
