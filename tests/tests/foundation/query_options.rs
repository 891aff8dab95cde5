//! The options every query may carry (`timeoutSeconds`, `thresholds`), as a panel's user sees
//! them: checked like the datasource's own settings, echoed readably, and applied to the
//! upstream requests of that query.
use std::time::{Duration, Instant};

use pipeline_tests::{DatasourceConfig, PluginHost, Query};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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

/// A Flink with no jobs that takes `delay` to answer each request.
async fn slow_flink(delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                let body = r#"{"jobs":[]}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_query_timeout_bounds_its_flink_requests_both_ways() {
    let host = PluginHost::start().await;
    // Flink answers in 1.5 s: slower than the datasource's 1 s, faster than the query's 4 s.
    let flink = slow_flink(Duration::from_millis(1500)).await;
    let ds = DatasourceConfig::new(json!({ "flinkUrl": flink, "queryTimeoutSeconds": 1 }));
    let answers = host
        .query(
            &ds,
            &[
                Query::new("longer", "jobs", json!({ "timeoutSeconds": 4 })),
                Query::new("topology", "topology", json!({ "timeoutSeconds": 4 })),
                Query::new("default", "jobs", json!({})),
            ],
        )
        .await;
    let longer = &answers["longer"];
    assert!(longer.error.is_empty(), "{}", longer.error);
    assert_eq!(longer.frame("jobs").len(), 0);
    let topology = &answers["topology"];
    let flink = topology.frame("nodes").find_row("id", "flink");
    assert!(
        flink.as_ref().is_none_or(|n| !n["reason"]
            .as_str()
            .unwrap_or("")
            .contains("did not answer")),
        "{flink:?}"
    );
    let default = &answers["default"];
    assert!(
        default.error.contains("did not answer") && default.error.contains("1.0 s"),
        "{}",
        default.error
    );
    // Shorter: the query's own 0.5 s cuts the request, and the message says so.
    let started = Instant::now();
    let answer = host
        .query_one(&ds, "jobs", json!({ "timeoutSeconds": 0.5 }))
        .await;
    assert!(answer.error.contains("0.5"), "{}", answer.error);
    assert!(started.elapsed() < Duration::from_millis(1400));
}

#[tokio::test]
async fn a_malformed_query_fails_alone_without_echoing_its_text() {
    let host = PluginHost::start().await;
    let flink = answering_server(200, r#"{"jobs":[]}"#).await;
    let ds = DatasourceConfig::new(json!({ "flinkUrl": flink }));
    let answers = host
        .query_bytes(
            &ds,
            &[
                ("good", "jobs", br#"{"queryType":"jobs"}"#.to_vec()),
                (
                    "cut",
                    "jobs",
                    br#"{"queryType":"jobs","note":"hunter2"#.to_vec(),
                ),
                ("binary", "jobs", b"{\"note\":\"\xff\xfe\"}".to_vec()),
            ],
        )
        .await;
    let good = &answers["good"];
    assert!(
        good.error.is_empty(),
        "the good query answers: {}",
        good.error
    );
    assert!(!good.frames.is_empty(), "the good query has its frames");
    for (ref_id, what) in [("cut", "not valid JSON"), ("binary", "not UTF-8")] {
        let answer = &answers[ref_id];
        assert_eq!(answer.status, 400, "{ref_id}: {}", answer.error);
        assert!(answer.error.contains(what), "{ref_id}: {}", answer.error);
        assert!(
            !answer.error.contains("hunter2"),
            "{ref_id} echoes its text: {}",
            answer.error
        );
    }
}
