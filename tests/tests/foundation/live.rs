//! Grafana Live as Grafana drives it: a query with `live` on names a channel per frame, Grafana
//! subscribes (SubscribeStream) and runs the stream (RunStream) until the last panel leaves.
//! The Flink here is a loopback answer the test can take away: the failure is injected, the
//! pipeline itself streams on the real bed (`bed_pipeline::live`).

use super::*;
use pipeline_tests::live_stream::channel_path;
use tokio::task::JoinHandle;

/// A Flink with no jobs, on a task the test can abort (then every connection is refused).
async fn flink_with_no_jobs() -> (String, JoinHandle<()>) {
    stoppable_answering_server(200, r#"{"jobs":[]}"#).await
}

async fn live_streams_running(host: &PluginHost) -> String {
    let metrics = host.collect_metrics().await;
    metrics
        .lines()
        .find(|l| l.starts_with("pipeline_health_live_streams "))
        .unwrap_or_else(|| panic!("no live_streams gauge in {metrics}"))
        .trim_start_matches("pipeline_health_live_streams ")
        .to_string()
}

#[tokio::test]
async fn a_live_query_streams_its_frame_every_interval_until_the_panel_leaves() {
    let host = PluginHost::start().await;
    let (flink, _server) = flink_with_no_jobs().await;
    let ds = DatasourceConfig::new(json!({ "flinkUrl": flink }));
    let live = json!({"live": true, "liveIntervalSeconds": 1});
    let answers = host
        .query(
            &ds,
            &[
                Query::new("A", "jobs", live.clone()),
                Query::new("B", "jobs", live),
                Query::new("C", "jobs", json!({})),
            ],
        )
        .await;
    let path = channel_path(answers["A"].frame("jobs")).expect("a live frame names its channel");
    assert!(
        path.starts_with("live/") && path.ends_with("/jobs"),
        "{path}"
    );
    // Two panels with the same query share one channel, so Grafana runs one stream for both.
    assert_eq!(channel_path(answers["B"].frame("jobs")), Some(path.clone()));
    assert_eq!(channel_path(answers["C"].frame("jobs")), None);

    assert_eq!(
        host.subscribe_stream(&ds, &path).await,
        0,
        "subscription OK"
    );
    let mut stream = host.run_stream(&ds, &path).await.expect("the stream runs");
    let started = Instant::now();
    let mut at = Vec::new();
    for _ in 0..3 {
        let frame = stream.next_frame(Duration::from_secs(5)).await.unwrap();
        assert_eq!(frame.name, "jobs");
        assert!(frame.has_field("state"), "{:?}", frame.fields);
        at.push(started.elapsed());
    }
    // One push per interval: not all at once, not one per dashboard refresh.
    for pair in at.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(800) && gap <= Duration::from_secs(3),
            "{at:?}"
        );
    }
    assert_eq!(live_streams_running(&host).await, "1");
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(5);
    while live_streams_running(&host).await != "0" {
        assert!(Instant::now() < deadline, "the stream outlived its panel");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_live_stream_whose_query_fails_pushes_the_error_and_keeps_going() {
    let mut host = PluginHost::start().await;
    let (flink, server) = flink_with_no_jobs().await;
    let ds = DatasourceConfig::new(json!({ "flinkUrl": flink, "queryTimeoutSeconds": 2 }));
    let answer = host
        .query_one(&ds, "jobs", json!({"live": true, "liveIntervalSeconds": 1}))
        .await;
    let path = channel_path(answer.frame("jobs")).unwrap();
    let mut stream = host.run_stream(&ds, &path).await.unwrap();
    assert!(stream
        .next_frame(Duration::from_secs(5))
        .await
        .unwrap()
        .has_field("state"));
    server.abort();
    let _ = server.await;
    // Two failed pushes in a row: the error reaches the panel, and the stream lives on for
    // when Flink is back.
    for _ in 0..2 {
        let frame = stream.next_frame(Duration::from_secs(6)).await.unwrap();
        assert_eq!(frame.name, "jobs");
        assert!(
            frame.fields.is_empty(),
            "no stale numbers: {:?}",
            frame.fields
        );
        let notice = &frame.meta["notices"][0];
        assert_eq!(notice["severity"], "error", "{}", frame.meta);
        assert!(
            notice["text"]
                .as_str()
                .unwrap()
                .contains("cannot reach Flink"),
            "{notice}"
        );
    }
    assert!(host.is_running());
}

#[tokio::test]
async fn channels_it_does_not_know_are_refused_with_what_to_do() {
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({}));
    // What Grafana holds after a plugin restart: a channel whose query is gone.
    let forgotten = "live/0123456789abcdef/nodes";
    assert_eq!(host.subscribe_stream(&ds, forgotten).await, 1, "not found");
    let status = host
        .run_stream(&ds, forgotten)
        .await
        .err()
        .expect("refused");
    assert!(
        status.message().contains("refresh the dashboard"),
        "{status:?}"
    );
    assert_eq!(host.subscribe_stream(&ds, "elsewhere/x").await, 1);

    let answers = host
        .query(
            &ds,
            &[
                Query::new(
                    "A",
                    "topology",
                    json!({"live": true, "liveIntervalSeconds": 0.1}),
                ),
                Query::new("B", "topology", json!({})),
            ],
        )
        .await;
    assert_eq!(answers["A"].status, 400);
    assert!(
        answers["A"]
            .error
            .contains("field `liveIntervalSeconds` must be between 1 and 3600 seconds, got 0.1"),
        "{}",
        answers["A"].error
    );
    assert!(answers["B"].error.is_empty(), "{}", answers["B"].error);
}

/// A live topology is two channels (nodes and edges), so Grafana runs two streams for it; each
/// tick both re-run the query, and coalescing makes that one refresh of Kafka and Flink, not
/// two. Counted by the stub Flink of `pipeline_tests::flink_stub`.
#[tokio::test]
async fn the_two_streams_of_a_live_topology_cost_one_refresh_per_interval() {
    use pipeline_tests::flink_stub::{Counted, CountingFlink, ROUND};
    let host = PluginHost::start().await;
    let flink = CountingFlink::start(Duration::from_millis(20), 64).await;
    // A window shorter than the interval: every tick gets fresh facts, and both streams of
    // one tick (started a moment apart) share them.
    let ds = DatasourceConfig::new(json!({
        "flinkUrl": flink.url("live"),
        "coalesceWindowSeconds": 0.5,
    }));
    let answer = host
        .query_one(
            &ds,
            "topology",
            json!({"live": true, "liveIntervalSeconds": 1}),
        )
        .await;
    let nodes = channel_path(answer.frame("nodes")).unwrap();
    let edges = channel_path(answer.frame("edges")).unwrap();
    let mut streams = [
        host.run_stream(&ds, &nodes).await.unwrap(),
        host.run_stream(&ds, &edges).await.unwrap(),
    ];
    const PUSHES: usize = 3;
    for _ in 0..PUSHES {
        for (stream, name) in streams.iter_mut().zip(["nodes", "edges"]) {
            let frame = stream.next_frame(Duration::from_secs(5)).await.unwrap();
            assert_eq!(frame.name, name);
        }
    }
    let counted = flink.counted("live");
    eprintln!("live: {PUSHES} ticks of 2 streams + the first answer: {counted:?}");
    assert_eq!(
        counted,
        Counted {
            requests: (1 + PUSHES) * ROUND,
            refreshes: 1 + PUSHES
        },
        "one refresh for the answer, then one per tick for both streams"
    );
}
