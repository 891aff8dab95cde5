//! Burrow-grade consumer status of the live job's group, made by real faults of the pipeline:
//! the Flink job slowed (its group WARN: commits arrive, lag grows at every commit), cancelled
//! (STOP: lag remains and no commit moves, and no member holds the partitions), its offsets
//! reset to earlier while it is down (REWIND), and resubmitted (OK again). The datasource's
//! status window is 40 s (4 of the job's 10 s checkpoints), so each verdict comes within about
//! a minute; its background sampler keeps the history between the test's queries.

use super::*;
use pipeline_tests::bed::kafka_tools::{kafka_tool_ok, CONSUMER_GROUP_COMMAND};

const WINDOW_SECONDS: u64 = 40;
/// A window to fill, a checkpoint or two, and the load of the 2-core bed.
const VERDICT_BOUND: Duration = Duration::from_secs(WINDOW_SECONDS * 4);

fn status_datasource() -> DatasourceConfig {
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bed().kafka().bootstrap(),
        "flinkUrl": bed().roas.flink().rest_url(),
        "queryTimeoutSeconds": 20,
        "kafkaStatusWindowSeconds": WINDOW_SECONDS,
    }))
}

/// The group's row of a `consumerLag` answer and its partitions' statuses.
async fn group_status(
    host: &PluginHost,
    ds: &DatasourceConfig,
) -> (HashMap<String, Value>, Vec<String>) {
    let answer = host
        .query_one(ds, "consumerLag", json!({"groups": [GROUP]}))
        .await;
    assert!(answer.error.is_empty(), "{answer:#?}");
    let row = answer
        .frame("groups")
        .find_row("group", GROUP)
        .expect("the group's row");
    let parts = rows(answer.frame("partitions"))
        .iter()
        .map(|r| r["consumerStatus"].as_str().unwrap_or("-").to_string())
        .collect();
    (row, parts)
}

/// Asks every 3 s until the group's status is `want`; returns the row and the seconds it took.
async fn until_status(
    host: &PluginHost,
    ds: &DatasourceConfig,
    want: &str,
    since: Instant,
) -> (HashMap<String, Value>, f64) {
    let deadline = Instant::now() + VERDICT_BOUND;
    loop {
        let (row, parts) = group_status(host, ds).await;
        if row["consumerStatus"] == want {
            return (row, since.elapsed().as_secs_f64());
        }
        assert!(
            Instant::now() < deadline,
            "group {GROUP} not {want} within {} s; last: {row:?}, partitions {parts:?}",
            VERDICT_BOUND.as_secs()
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

/// Puts the job back (unslowed, running) when a test ends, also when it fails half-way.
struct RestoreJob;

impl Drop for RestoreJob {
    fn drop(&mut self) {
        let roas = &bed().roas;
        roas.unslow_operator();
        let state = roas.flink().state_of(&roas.job_id());
        if state.as_deref() != Some("RUNNING") {
            roas.submit_job();
        }
    }
}

#[tokio::test]
async fn a_slowed_job_makes_its_group_warn_and_recovers_to_ok() {
    let _exclusive = GENERATOR.write().await;
    let _restore = RestoreJob;
    let host = PluginHost::start().await;
    let ds = status_datasource();
    let (row, _) = until_status(&host, &ds, "OK", Instant::now()).await;
    assert_eq!(row["status"], "ok", "the healthy job's group: {row:?}");

    // ~13 clicks/s; 300 ms per click in the join leaves ~7/s: lag grows at every checkpoint,
    // and the unaligned checkpoints still commit.
    let t0 = Instant::now();
    bed().roas.slow_operator(Duration::from_millis(300));
    let (row, warn_after) = until_status(&host, &ds, "WARN", t0).await;
    assert_eq!(row["status"], "warning", "WARN is a warning: {row:?}");
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.contains("WARN on") && reason.contains("lag never fell"),
        "{reason}"
    );

    let t1 = Instant::now();
    bed().roas.unslow_operator();
    let (_, ok_after) = until_status(&host, &ds, "OK", t1).await;
    eprintln!("slowed: WARN after {warn_after:.0} s; unslowed: OK after {ok_after:.0} s");
}

#[tokio::test]
async fn a_cancelled_job_makes_its_group_stop_a_reset_rewind_and_a_resubmit_ok() {
    let _exclusive = GENERATOR.write().await;
    let _restore = RestoreJob;
    let host = PluginHost::start().await;
    let ds = status_datasource();
    until_status(&host, &ds, "OK", Instant::now()).await;

    let t0 = Instant::now();
    bed().roas.cancel_job();
    let (row, stop_after) = until_status(&host, &ds, "ERR", t0).await;
    assert_eq!(row["status"], "critical", "{row:?}");
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.contains("STOP on") && reason.contains("no live member holds the partition"),
        "the group stopped, nobody holds its partitions: {reason}"
    );

    // The `health` series alert rules read: the group's node is critical (2).
    let health = host.query_one(&ds, "health", json!({})).await;
    let node = health
        .frame("health")
        .find_row("node", &format!("kafka/group/{GROUP}"))
        .expect("the group's health series");
    assert_eq!(node["status"].as_f64(), Some(2.0), "{node:?}");

    // What an operator does to replay: move the group's offsets back with Kafka's own tool.
    let t1 = Instant::now();
    kafka_tool_ok(
        CONSUMER_GROUP_COMMAND,
        &[
            "--bootstrap-server",
            &bed().kafka().bootstrap(),
            "--group",
            GROUP,
            "--reset-offsets",
            "--all-topics",
            "--shift-by",
            "-20",
            "--execute",
        ],
    );
    let deadline = Instant::now() + VERDICT_BOUND;
    let rewind_after = loop {
        let (row, parts) = group_status(&host, &ds).await;
        if parts.iter().any(|p| p == "REWIND") {
            assert_eq!(row["consumerStatus"], "ERR", "{row:?}");
            break t1.elapsed().as_secs_f64();
        }
        assert!(
            Instant::now() < deadline,
            "no partition REWIND: {row:?} {parts:?}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };

    let t2 = Instant::now();
    bed().roas.submit_job();
    let (row, ok_after) = until_status(&host, &ds, "OK", t2).await;
    assert_eq!(row["status"], "ok", "{row:?}");
    eprintln!(
        "cancelled: STOP after {stop_after:.0} s; reset: REWIND after {rewind_after:.0} s; resubmitted: OK after {ok_after:.0} s"
    );
}
