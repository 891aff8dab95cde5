//! Jobs that ended, on a real Flink 2.3 MiniCluster through the spawned backend. Flink lists an
//! ended job for an hour: the `jobs` query shows it with its state, and reads it once per
//! datasource instead of on every refresh (a dashboard's requests must not grow with each
//! cancelled job).

use std::time::Duration;

use pipeline_tests::bed::process::{http, poll_until};
use pipeline_tests::flink_cluster::FlinkCluster;
use pipeline_tests::{Answer, DatasourceConfig, PluginHost};
use serde_json::json;

fn requests(a: &Answer) -> u64 {
    let frame = a.frame("jobs");
    frame.meta["custom"]["requests"]
        .as_u64()
        .unwrap_or_else(|| panic!("meta.custom.requests: {:?}", frame.meta))
}

#[tokio::test]
async fn a_cancelled_job_stays_listed_and_is_read_once() {
    let cluster = FlinkCluster::start(&["--jobs", "2"], 2);
    let port = cluster.port();
    let (_, id) = cluster
        .job_ids()
        .into_iter()
        .find(|(name, _)| name == "pipeline-2")
        .expect("job pipeline-2");
    http(
        port,
        "PATCH",
        &format!("/jobs/{id}?mode=cancel"),
        Duration::from_secs(10),
    )
    .expect("the cancel request");
    poll_until(
        "pipeline-2 CANCELED",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || match cluster.get(&format!("/jobs/{id}"))?["state"].as_str() {
            Some("CANCELED") => Ok(()),
            state => Err(format!("state {state:?}")),
        },
    );

    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({ "flinkUrl": cluster.rest_url() }));
    let first = host.query_one(&ds, "jobs", json!({})).await;
    let second = host.query_one(&ds, "jobs", json!({})).await;
    for answer in [&first, &second] {
        let jobs = answer.frame("jobs");
        let cancelled = jobs.find_row("name", "pipeline-2").expect("listed");
        assert_eq!(cancelled["state"], "CANCELED");
        assert!(
            cancelled["vertices"].as_u64().unwrap_or_default() > 0,
            "its graph is shown: {cancelled:?}"
        );
        let running = jobs.find_row("name", "pipeline-1").expect("listed");
        assert_eq!(running["state"], "RUNNING");
    }
    assert_eq!(
        first.frame("jobs").find_row("name", "pipeline-2"),
        second.frame("jobs").find_row("name", "pipeline-2"),
        "the remembered reading is the one first read"
    );
    // Its detail, checkpoints and exceptions: asked the first time only.
    assert_eq!(
        requests(&first) - requests(&second),
        3,
        "first {} requests, then {}",
        requests(&first),
        requests(&second)
    );
}
