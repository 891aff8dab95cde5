//! Coalescing: the topology and health panels of one dashboard refresh share one refresh of
//! the facts, counted by a stub Flink (`pipeline_tests::flink_stub`); with
//! `coalesceWindowSeconds` 0 each asks on its own, and after the window a query asks again.
//! Each datasource has its own uid (its own instance, so its own shared facts) and its own
//! name on the stub (its own count).

use std::sync::Arc;
use std::time::Duration;

use pipeline_tests::flink_stub::{Counted, CountingFlink, ROUND};
use pipeline_tests::{Answer, DatasourceConfig, PluginHost, Query};
use serde_json::json;
use tokio::task::JoinSet;

/// Long enough that the ten queries of a test are still in flight together on a busy machine.
const WORK: Duration = Duration::from_millis(100);

fn datasource(flink: &CountingFlink, name: &str, window: Option<f64>) -> DatasourceConfig {
    let mut json_data = json!({ "flinkUrl": flink.url(name), "queryTimeoutSeconds": 10 });
    if let Some(w) = window {
        json_data["coalesceWindowSeconds"] = json!(w);
    }
    DatasourceConfig::new(json_data)
}

/// Strict enough that the stub's sink, whose watermark is 1 s behind, is critical.
fn strict() -> serde_json::Value {
    json!({"watermarkLagWarningSeconds": 0.1, "watermarkLagCriticalSeconds": 0.5})
}

/// A dashboard's ten panels: topology and health in turn, the last health one with strict
/// thresholds of its own.
fn panels() -> Vec<Query> {
    (0..10)
        .map(|i| {
            let id = format!("P{i}");
            match i {
                9 => Query::new(
                    &id,
                    "health",
                    json!({"metric": "status", "thresholds": strict()}),
                ),
                _ if i % 2 == 0 => Query::new(&id, "topology", json!({})),
                _ => Query::new(&id, "health", json!({"metric": "status"})),
            }
        })
        .collect()
}

/// The status the stub's sink has in a health answer (0 ok .. 3 unknown).
fn sink_status(answer: &Answer) -> f64 {
    let frame = answer.frame("health");
    let row = frame
        .find_row("node", "flink-sink/orders/Sink: totals")
        .unwrap_or_else(|| panic!("no row for the sink in {:?}", frame.field("node")));
    row["status"].as_f64().expect("a status")
}

fn assert_answers(answers: &[(String, Answer)]) {
    assert_eq!(answers.len(), 10);
    for (id, a) in answers {
        match id.as_str() {
            "P9" => assert_eq!(sink_status(a), 2.0, "{id}: its own strict thresholds"),
            _ if a.frames.iter().any(|f| f.name == "health") => {
                assert_eq!(sink_status(a), 0.0, "{id}: the datasource's thresholds")
            }
            _ => assert!(a.frame("nodes").len() >= 2, "{id}: the job's vertices"),
        }
    }
}

fn one_round(refreshes: usize) -> Counted {
    Counted {
        requests: refreshes * ROUND,
        refreshes,
    }
}

#[tokio::test]
async fn ten_panels_in_one_request_share_one_refresh() {
    let flink = CountingFlink::start(WORK, 64).await;
    let host = PluginHost::start().await;
    let ds = datasource(&flink, "one-request", None);
    let answers: Vec<_> = host.query(&ds, &panels()).await.into_iter().collect();
    assert_answers(&answers);
    assert_eq!(flink.counted("one-request"), one_round(1));
}

#[tokio::test]
async fn ten_concurrent_requests_share_one_refresh_and_a_zero_window_shares_none() {
    let flink = CountingFlink::start(WORK, 64).await;
    let host = Arc::new(PluginHost::start().await);
    for (name, window, refreshes) in [("shared", None, 1), ("alone", Some(0.0), 10)] {
        let ds = datasource(&flink, name, window);
        let mut requests = JoinSet::new();
        for q in panels() {
            let (host, ds) = (host.clone(), ds.clone());
            requests.spawn(async move {
                let answer = host.query(&ds, std::slice::from_ref(&q)).await;
                (q.ref_id.clone(), answer[&q.ref_id].clone())
            });
        }
        let answers = requests.join_all().await;
        assert_answers(&answers);
        assert_eq!(flink.counted(name), one_round(refreshes), "{name}");
    }
}

#[tokio::test]
async fn a_result_is_reused_within_the_window_and_refreshed_after_it() {
    let flink = CountingFlink::start(Duration::ZERO, 64).await;
    let host = PluginHost::start().await;
    let ds = datasource(&flink, "window", Some(1.5));
    let ask = || host.query_one(&ds, "health", json!({"metric": "status"}));
    assert_eq!(sink_status(&ask().await), 0.0);
    assert_eq!(sink_status(&ask().await), 0.0);
    assert_eq!(
        flink.counted("window"),
        one_round(1),
        "the second query, within 1.5 s of the first, reused its facts"
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    ask().await.ok();
    assert_eq!(flink.counted("window"), one_round(2), "after the window");
}

#[tokio::test]
async fn a_window_out_of_range_is_named() {
    let flink = CountingFlink::start(Duration::ZERO, 1).await;
    let host = PluginHost::start().await;
    let ds = datasource(&flink, "bad", Some(600.0));
    let a = host.query_one(&ds, "topology", json!({})).await;
    assert!(
        a.error.contains("coalesceWindowSeconds")
            && a.error.contains("between 0")
            && a.error.contains("got 600"),
        "{}",
        a.error
    );
    assert_eq!(flink.counted("bad"), Counted::default());
}
