//! The topology and the Kafka queries on the live Marketing ROAS pipeline of the bed: real
//! Kafka 3.7.1 (3 brokers), the real Flink 2.3 cluster running `roas-attribution` (Flink SQL,
//! the Kafka connector's source under group `roas-attribution`, JDBC sink), PostgreSQL, and the
//! generator producing all the time. Nothing here is a mock or a hand-made answer: the group,
//! its offsets and the job graph are what the pipeline itself made. The root cause is checked
//! here on the healthy pipeline (none) and on a cancelled job (the job, its group a victim);
//! the other faults' root causes are checked where `bed_pipeline` makes them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pipeline_tests::bed::assembly::{shared, Bed};
use pipeline_tests::bed::roas::{GROUP, JOB_NAME, TOPICS};
use pipeline_tests::cause_watch::{roas_datasource, until_cause, DATABASE};
use pipeline_tests::{Answer, DatasourceConfig, DecodedFrame, PluginHost};
use serde_json::{json, Value};

/// The job's first checkpoint (which commits the group's offsets) and Flink's metric store
/// may lag the bed's readiness by some seconds.
const SETTLE_BOUND: Duration = Duration::from_secs(90);

/// Tests that stop the generator hold this exclusively.
static GENERATOR: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn bed() -> &'static Bed {
    shared()
}

fn datasource(pipeline: Value) -> DatasourceConfig {
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bed().kafka().bootstrap(),
        "flinkUrl": bed().roas.flink().rest_url(),
        "queryTimeoutSeconds": 20,
        "pipeline": pipeline,
    }))
}

fn rows(frame: &DecodedFrame) -> Vec<HashMap<String, Value>> {
    (0..frame.len()).map(|i| frame.row(i)).collect()
}

/// Re-asks the topology until `ready` accepts (nodes, edges); panics with the last answer.
async fn topology_until(
    host: &PluginHost,
    ds: &DatasourceConfig,
    what: &str,
    ready: impl Fn(&[HashMap<String, Value>], &[HashMap<String, Value>]) -> bool,
) -> Answer {
    let deadline = Instant::now() + SETTLE_BOUND;
    loop {
        let answer = host.query_one(ds, "topology", json!({})).await;
        if answer.error.is_empty()
            && ready(&rows(answer.frame("nodes")), &rows(answer.frame("edges")))
        {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not seen within {} s; last answer: {answer:#?}",
            SETTLE_BOUND.as_secs()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn has_edge(edges: &[HashMap<String, Value>], source: &str, target: &str) -> bool {
    edges
        .iter()
        .any(|e| e["source"] == source && e["target"] == target)
}

fn group_id() -> String {
    format!("kafka/group/{GROUP}")
}

/// Every topic feeds the job's real group, and the group feeds a source vertex of the job.
fn linked(nodes: &[HashMap<String, Value>], edges: &[HashMap<String, Value>], job: &str) -> bool {
    let gid = group_id();
    let prefix = format!("flink/{job}/");
    let topics_in = TOPICS
        .iter()
        .all(|t| has_edge(edges, &format!("kafka/topic/{t}"), &gid));
    let into_job = edges.iter().any(|e| {
        e["source"] == gid.as_str() && e["target"].as_str().is_some_and(|t| t.starts_with(&prefix))
    });
    topics_in && into_job && nodes.iter().any(|n| n["id"] == gid.as_str())
}

#[tokio::test]
async fn the_jobs_real_group_links_its_topics_to_the_job_without_a_description() {
    let _shared = GENERATOR.read().await;
    let host = PluginHost::start().await;
    let job = bed().roas.job_id();
    let ds = datasource(Value::Null);
    let answer = topology_until(
        &host,
        &ds,
        "topics -> roas-attribution -> the job",
        |n, e| linked(n, e, &job),
    )
    .await;
    let nodes = rows(answer.frame("nodes"));
    let group = nodes
        .iter()
        .find(|n| n["id"] == group_id().as_str())
        .unwrap();
    assert!(
        group["detail__lag"].as_f64().is_some(),
        "the group's lag comes from its committed offsets: {group:?}"
    );
    // Each source vertex of the job the group feeds reads one of the topics (Flink names it
    // after it). Jobs cancelled by other tests stay in Flink's history and are linked too.
    let edges = rows(answer.frame("edges"));
    let prefix = format!("flink/{job}/");
    let into_job = |e: &&HashMap<String, Value>| {
        e["source"] == group_id().as_str()
            && e["target"].as_str().is_some_and(|t| t.starts_with(&prefix))
    };
    for e in edges.iter().filter(into_job) {
        let target = e["target"].as_str().unwrap();
        let vertex = nodes.iter().find(|n| n["id"] == target).unwrap();
        let title = vertex["title"].as_str().unwrap_or_default();
        assert!(
            TOPICS.iter().any(|t| title.contains(t)),
            "a source of the job named after a topic: {vertex:?}"
        );
    }
}

#[tokio::test]
async fn the_flink_sources_group_only_commits_offsets_and_shows_so() {
    let _shared = GENERATOR.read().await;
    let host = PluginHost::start().await;
    let ds = datasource(Value::Null);
    let deadline = Instant::now() + SETTLE_BOUND;
    let row = loop {
        let answer = host
            .query_one(&ds, "consumerLag", json!({"group": "roas-.*"}))
            .await;
        let groups = answer.frame("groups");
        if let Some(row) = groups.find_row("group", GROUP) {
            if row["lag"].as_i64().is_some() {
                break row;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no committed offsets of {GROUP}: {groups:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    // Flink's KafkaSource assigns partitions itself: the group has no members, only commits.
    let tool = bed().kafka().describe_group_state(GROUP);
    assert_eq!(tool.members, 0, "{tool:?}");
    assert_eq!(row["state"], tool.state.as_str(), "{row:?} vs {tool:?}");
    assert_eq!(row["members"].as_i64(), Some(0), "{row:?}");
    let committed = bed().kafka().describe_group_offsets(GROUP);
    let topics: std::collections::BTreeSet<&str> =
        committed.iter().map(|r| r.topic.as_str()).collect();
    assert_eq!(
        topics,
        TOPICS.iter().copied().collect(),
        "the job commits on all three topics"
    );
    assert_eq!(
        row["partitions"].as_i64(),
        Some(committed.len() as i64),
        "{row:?}"
    );
}

#[tokio::test]
async fn with_a_description_the_sink_writes_to_the_postgres_node() {
    let _shared = GENERATOR.read().await;
    let host = PluginHost::start().await;
    let job = bed().roas.job_id();
    let database = "PostgreSQL pipeline.roas_by_campaign";
    let ds = datasource(json!({"jobs": [{
        "job": JOB_NAME, "group": GROUP, "topics": TOPICS,
        "sinks": [{"database": database}]
    }]}));
    let answer = topology_until(&host, &ds, "the sink -> PostgreSQL", |nodes, edges| {
        let Some(db) = nodes.iter().find(|n| n["title"] == database) else {
            return false;
        };
        edges.iter().any(|e| {
            e["target"] == db["id"]
                && e["source"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(&format!("flink/{job}/")))
        }) && linked(nodes, edges, &job)
    })
    .await;
    let nodes = rows(answer.frame("nodes"));
    let edges = rows(answer.frame("edges"));
    let db = nodes.iter().find(|n| n["title"] == database).unwrap();
    let sink_id = edges
        .iter()
        .find(|e| e["target"] == db["id"])
        .and_then(|e| e["source"].as_str())
        .unwrap();
    let sink = nodes.iter().find(|n| n["id"] == sink_id).unwrap();
    assert!(
        sink["title"]
            .as_str()
            .is_some_and(|t| t.contains("roas_sink") || t.contains("Sink")),
        "the edge into the database leaves the job's sink vertex: {sink:?}"
    );
}

#[tokio::test]
async fn the_jobs_group_lag_equals_kafkas_tool_once_the_generator_stops() {
    let _exclusive = GENERATOR.write().await;
    let bed = bed();
    bed.roas.stop_generator();
    // Settled: Kafka's own tool reads the same offsets twice, a checkpoint interval apart.
    let deadline = Instant::now() + SETTLE_BOUND;
    let mut last = bed.kafka().describe_group_offsets(GROUP);
    let truth = loop {
        std::thread::sleep(Duration::from_secs(6));
        let now = bed.kafka().describe_group_offsets(GROUP);
        if now == last && !now.is_empty() {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "the group never settled: {now:?}"
        );
        last = now;
    };
    let host = PluginHost::start().await;
    let answer = host
        .query_one(
            &datasource(Value::Null),
            "consumerLag",
            json!({"groups": [GROUP]}),
        )
        .await;
    bed.roas.start_generator();
    let parts = answer.frame("partitions");
    let mut got: Vec<(String, i32, Option<i64>, i64)> = rows(parts)
        .iter()
        .map(|r| {
            (
                r["topic"].as_str().unwrap().to_string(),
                r["partition"].as_i64().unwrap() as i32,
                r["committedOffset"].as_i64(),
                r["logEndOffset"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut expected: Vec<_> = truth
        .iter()
        .map(|r| (r.topic.clone(), r.partition, r.committed, r.log_end))
        .collect();
    expected.sort();
    assert_eq!(
        got, expected,
        "backend vs kafka-consumer-groups on the live job's group"
    );
    let lag: i64 = truth.iter().filter_map(|r| r.lag).sum();
    let row = answer.frame("groups").find_row("group", GROUP).unwrap();
    assert_eq!(row["lag"].as_i64(), Some(lag), "{row:?}");
}

/// The healthy pipeline, as the on-call engineer should find it: all green, no root cause, no
/// victims, the database judged by its sink.
#[tokio::test]
async fn the_healthy_pipeline_is_all_green_with_no_root_cause() {
    let _shared = GENERATOR.read().await;
    let host = PluginHost::start().await;
    let ds = roas_datasource(&bed().kafka().bootstrap(), &bed().roas.flink().rest_url());
    let (seen, after) = until_cause(&host, &ds, "all green", SETTLE_BOUND, |c| {
        c.green() && linked_rows(&c.rows)
    })
    .await;
    assert!(seen.victims.is_empty() && seen.nodes.is_empty(), "{seen:?}");
    let db = seen.titled(DATABASE).expect("the database node");
    assert_eq!(db["health"], "ok", "{db:?}");
    assert!(
        db["reason"]
            .as_str()
            .unwrap()
            .starts_with("takes the writes of"),
        "{db:?}"
    );
    eprintln!(
        "root cause: healthy pipeline: all {} nodes green after {:.0} s",
        seen.rows.len(),
        after.as_secs_f64()
    );
}

/// The description's topics, group, job and database are all drawn.
fn linked_rows(rows: &[HashMap<String, Value>]) -> bool {
    let has = |id: &str| rows.iter().any(|r| r["id"] == id);
    TOPICS.iter().all(|t| has(&format!("kafka/topic/{t}")))
        && has(&group_id())
        && rows.iter().any(|r| r["title"] == DATABASE)
}

mod consumer_status;
