//! The pipeline topology end to end: a real Flink 2.3 MiniCluster (three jobs: one healthy but
//! slow, one whose watermarks freeze, one whose checkpoints always time out) joined with the
//! bed's real Apache Kafka 3.7.1 cluster (ZooKeeper and 3 broker JVMs), through the spawned
//! backend; and the same binary's `check` command from a terminal.
//!
//! Which Kafka, and why: the real bed, started once for this binary, because the join reads
//! what only a real broker answers: the topic's replication (`clicks` with 3 replicas), the
//! group found by Kafka's listing and described with its real state (`clicks-enrich` commits
//! offsets without joining, as Flink's Kafka source does, so Kafka calls it Empty with no
//! members), and its lag, checked against Kafka's own `kafka-consumer-groups`. The Flink and
//! Kafka servers start at the same time. [`failures`]: a failed side (Flink or Kafka) beside the
//! other.

#[path = "topology/failures.rs"]
mod failures;

use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pipeline_tests::bed::kafka::{GroupState, KafkaBed};
use pipeline_tests::flink_cluster::{pipeline_cluster, FlinkCluster};
use pipeline_tests::host::backend_binary;
use pipeline_tests::{Answer, DatasourceConfig, DecodedFrame, PluginHost};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};

const SETTLE_BOUND: Duration = Duration::from_secs(90);
/// Records produced to each partition of `clicks`, and the group's commit on each: lag 40 + 25,
/// between the test's warning threshold (50) and the default one (1000).
const PRODUCED: [i64; 2] = [100, 50];
const COMMITTED: [i64; 2] = [60, 25];

/// The Flink cluster and the Kafka bed, both started on first use, at the same time.
fn cluster() -> &'static FlinkCluster {
    std::thread::scope(|s| {
        s.spawn(kafka);
        pipeline_cluster()
    })
}

/// The Kafka side: topic `clicks` (2 partitions, 3 replicas) and the commits of
/// `clicks-enrich`, made without membership (as a Flink source commits).
fn kafka() -> &'static KafkaBed {
    static KAFKA: OnceLock<KafkaBed> = OnceLock::new();
    KAFKA.get_or_init(|| {
        let bed = KafkaBed::start(&pipeline_tests::bed::run_dir("topology"));
        bed.kafka.create_topic("clicks", 2, 3);
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", bed.kafka.bootstrap())
            .set("acks", "all")
            .create()
            .expect("a producer on the bed");
        for (p, n) in PRODUCED.iter().enumerate() {
            for i in 0..*n {
                let key = format!("k{i}");
                producer
                    .send(
                        BaseRecord::to("clicks")
                            .partition(p as i32)
                            .key(&key)
                            .payload("x"),
                    )
                    .expect("enqueue");
            }
        }
        producer
            .flush(Duration::from_secs(30))
            .expect("flushed to the bed");
        let committer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bed.kafka.bootstrap())
            .set("group.id", "clicks-enrich")
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer");
        let mut tpl = TopicPartitionList::new();
        for (p, c) in COMMITTED.iter().enumerate() {
            tpl.add_partition_offset("clicks", p as i32, Offset::Offset(*c))
                .unwrap();
        }
        committer.commit(&tpl, CommitMode::Sync).expect("commit");
        bed
    })
}

fn bootstrap() -> String {
    kafka().kafka.bootstrap()
}

/// The group's lag and state as Kafka's own tool reads them (nothing changes them later).
fn group_truth() -> &'static (f64, GroupState) {
    static TRUTH: OnceLock<(f64, GroupState)> = OnceLock::new();
    TRUTH.get_or_init(|| {
        let kafka = &kafka().kafka;
        let rows = kafka.describe_group_offsets("clicks-enrich");
        let lag: i64 = rows.iter().filter_map(|r| r.lag).sum();
        // The verdicts below need this lag between the thresholds: the bed took what was written.
        let written: i64 = PRODUCED.iter().zip(COMMITTED).map(|(p, c)| p - c).sum();
        assert_eq!(lag, written, "kafka-consumer-groups: {rows:?}");
        (lag as f64, kafka.describe_group_state("clicks-enrich"))
    })
}

/// The description links pipeline-1 to its group and names its database; the other two jobs'
/// sources are linked to `clicks` by discovery ("Source: clicks" mentions the topic).
fn datasource() -> DatasourceConfig {
    // Flink first: it starts the Kafka bed alongside.
    let flink_url = cluster().rest_url().to_string();
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bootstrap(),
        "flinkUrl": flink_url,
        "queryTimeoutSeconds": 10,
        "pipeline": {"jobs": [{
            "job": "pipeline-1", "topics": ["clicks"], "group": "clicks-enrich",
            "sinks": [{"vertex": "orders-db", "database": "postgres orders"}]
        }]},
        // Short enough for the test to see a stall and an overdue checkpoint within a minute.
        "thresholds": {
            "watermarkStalledSeconds": 3,
            "checkpointIntervalSeconds": 1,
            "checkpointAgeFactor": 5,
            "lagWarning": 50,
            "lagCritical": 1000
        },
    }))
}

fn rows(frame: &DecodedFrame) -> Vec<HashMap<String, Value>> {
    (0..frame.len()).map(|i| frame.row(i)).collect()
}

/// The node of `job` whose title starts with `prefix`.
fn node<'a>(
    nodes: &'a [HashMap<String, Value>],
    job: &str,
    prefix: &str,
) -> &'a HashMap<String, Value> {
    nodes
        .iter()
        .find(|r| {
            r["subtitle"] == job && r["title"].as_str().is_some_and(|t| t.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no node {prefix:?} of {job} in {nodes:#?}"))
}

/// Re-query the topology until `ready` accepts the nodes (Flink samples every second, a stall
/// needs two readings some seconds apart); panics with the last answer after the bound.
async fn topology_until(
    host: &PluginHost,
    ready: impl Fn(&[HashMap<String, Value>]) -> bool,
) -> Answer {
    let ds = datasource();
    let deadline = Instant::now() + SETTLE_BOUND;
    loop {
        let answer = host.query_one(&ds, "topology", json!({})).await;
        if answer.error.is_empty() && ready(&rows(answer.frame("nodes"))) {
            return answer;
        }
        if Instant::now() > deadline {
            panic!("the topology never settled; last answer: {answer:#?}");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn status(n: &HashMap<String, Value>) -> &str {
    n["health"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn topology_joins_kafka_and_flink_and_names_the_slow_operator() {
    let host = PluginHost::start().await;
    let answer = topology_until(&host, |nodes| {
        let find = |job: &str, p: &str| {
            nodes.iter().find(|r| {
                r["subtitle"] == job && r["title"].as_str().is_some_and(|t| t.starts_with(p))
            })
        };
        // A source has no input watermark: the stall shows where the watermark arrives.
        let stalled = find("pipeline-stalled-watermarks", "slow-score");
        let slow_ckpt = find("pipeline-slow-checkpoints", "slow-score");
        let bottleneck = find("pipeline-1", "slow-score");
        bottleneck.is_some_and(|n| n["bottleneck"] == true)
            && stalled.is_some_and(|n| {
                status(n) == "critical"
                    && n["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("watermark has not advanced"))
            })
            && slow_ckpt.is_some_and(|n| {
                n["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("checkpoint"))
                    && status(n) == "critical"
            })
    })
    .await;
    let nodes_frame = answer.frame("nodes");
    let edges_frame = answer.frame("edges");
    let nodes = rows(nodes_frame);

    // The Node Graph's fields, so Grafana's built-in panel draws the same answer.
    for field in [
        "id",
        "title",
        "subtitle",
        "mainstat",
        "secondarystat",
        "arc__ok",
        "arc__warning",
        "arc__critical",
        "arc__unknown",
        "color",
        "detail__reason",
    ] {
        assert!(nodes_frame.has_field(field), "nodes frame lacks {field}");
    }
    for field in ["id", "source", "target", "mainstat"] {
        assert!(edges_frame.has_field(field), "edges frame lacks {field}");
    }
    assert_eq!(
        nodes_frame.meta["preferredVisualisationType"], "nodeGraph",
        "{:?}",
        nodes_frame.meta
    );
    for n in &nodes {
        let arcs: f64 = ["ok", "warning", "critical", "unknown"]
            .iter()
            .map(|h| n[&format!("arc__{h}")].as_f64().unwrap())
            .sum();
        assert_eq!(arcs, 1.0, "arcs of a node add up to one: {n:?}");
    }

    // The slow operator is the bottleneck; its backpressured upstream is a victim.
    let slow = node(&nodes, "pipeline-1", "slow-score");
    assert_eq!(status(slow), "critical");
    assert!(
        slow["reason"].as_str().unwrap().starts_with("bottleneck"),
        "{slow:?}"
    );
    let victim = node(&nodes, "pipeline-1", "Source: clicks");
    assert_eq!(victim["bottleneck"], false);
    assert!(
        victim["reason"]
            .as_str()
            .unwrap()
            .contains("waiting on slow-score"),
        "{victim:?}"
    );
    let bottleneck_id = nodes_frame.meta["custom"]["bottleneck"]
        .as_str()
        .expect("the pipeline's bottleneck is named in the frame");
    let named = nodes.iter().find(|n| n["id"] == bottleneck_id).unwrap();
    assert!(named["title"].as_str().unwrap().starts_with("slow-score"));
    assert_eq!(nodes_frame.meta["custom"]["verdict"], "critical");

    // Kafka joined in: topic -> group -> pipeline-1's source, with the lag from the mock.
    let topic = nodes.iter().find(|n| n["id"] == "kafka/topic/clicks");
    let group = nodes
        .iter()
        .find(|n| n["id"] == "kafka/group/clicks-enrich")
        .unwrap_or_else(|| panic!("no group node in {nodes:#?}"));
    assert!(topic.is_some(), "{nodes:#?}");
    let (expected_lag, state) = group_truth();
    assert_eq!(group["detail__lag"].as_f64(), Some(*expected_lag));
    assert_eq!(status(group), "warning", "lag 65 is over 50: {group:?}");
    // Kafka's own state of the group, shown under its name: Empty, as a Flink source's group
    // is while the job runs (it commits without joining), so the lag decides the colour.
    assert_eq!(
        group["subtitle"],
        state.state.as_str(),
        "{group:?} vs {state:?}"
    );
    assert_eq!(
        group["detail__members"].as_f64(),
        Some(state.members as f64),
        "{group:?}"
    );
    let edges = rows(edges_frame);
    let edge = |s: &str, t: &str| edges.iter().any(|e| e["source"] == s && e["target"] == t);
    assert!(edge("kafka/topic/clicks", "kafka/group/clicks-enrich"));
    assert!(edge(
        "kafka/group/clicks-enrich",
        victim["id"].as_str().unwrap()
    ));
    // The jobs the description leaves out are linked by discovery: their sources read `clicks`.
    for job in ["pipeline-stalled-watermarks", "pipeline-slow-checkpoints"] {
        let source = node(&nodes, job, "Source: clicks");
        let fed_by_kafka = edges.iter().any(|e| {
            e["target"] == source["id"]
                && e["source"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("kafka/"))
        });
        assert!(fed_by_kafka, "{job}'s source is fed from Kafka: {edges:#?}");
    }
    // The sink writes to the database named in the description.
    let db = nodes
        .iter()
        .find(|n| n["title"] == "postgres orders")
        .unwrap_or_else(|| panic!("no database node in {nodes:#?}"));
    assert!(edges.iter().any(|e| e["target"] == db["id"]));

    // The frozen watermark turns red the vertex it arrives at; not the healthy job's.
    let stalled = node(&nodes, "pipeline-stalled-watermarks", "slow-score");
    assert!(stalled["detail__watermark_stalled"].as_f64().unwrap() >= 3.0);
    // The checkpoints that never complete (each times out) turn the job's sink end red.
    let overdue = node(&nodes, "pipeline-slow-checkpoints", "slow-score");
    assert!(
        overdue["reason"]
            .as_str()
            .unwrap()
            .contains("no checkpoint completed;"),
        "{overdue:?}"
    );
    // The healthy job's checkpoints complete within the limit.
    let healthy = node(&nodes, "pipeline-1", "slow-score");
    assert!(healthy["detail__checkpoint_age"].as_f64().unwrap() <= 5.0);
    assert!(!healthy["reason"]
        .as_str()
        .unwrap()
        .contains("has not advanced"));
}

#[tokio::test]
async fn health_series_give_alert_rules_one_number_per_node() {
    let host = PluginHost::start().await;
    let ds = datasource();
    let answers = host
        .query(
            &ds,
            &[
                pipeline_tests::Query::new("S", "health", json!({"metric": "status"})),
                pipeline_tests::Query::new("L", "health", json!({"metric": "lag"})),
                pipeline_tests::Query::new("X", "health", json!({"metric": "colour"})),
            ],
        )
        .await;
    // A table with string columns and one number: Grafana's alerting turns the strings into
    // labels, so each node is its own alert instance.
    let lag = &answers["L"];
    assert!(lag.error.is_empty(), "{lag:?}");
    let lag_rows = rows(lag.frame("health"));
    let group = lag_rows
        .iter()
        .find(|r| r["node"] == "consumer-group/clicks-enrich")
        .unwrap_or_else(|| panic!("no lag row for the group in {lag_rows:#?}"));
    assert_eq!(group["lag"].as_f64(), Some(group_truth().0));
    // Labels a person can read, and none that changes with a rebalance or a resubmission.
    assert_eq!(group["name"], "clicks-enrich");
    assert_eq!(group["kind"], "consumer-group");
    let fields: BTreeSet<&str> = lag_rows[0].keys().map(String::as_str).collect();
    assert_eq!(fields, ["job", "kind", "lag", "name", "node"].into());

    let status = &answers["S"];
    assert!(status.error.is_empty(), "{status:?}");
    let codes = rows(status.frame("health"));
    assert!(codes.len() >= 8, "every node has a status: {codes:#?}");
    let code_of = |id: &str| {
        codes
            .iter()
            .find(|r| r["node"] == id)
            .and_then(|r| r["status"].as_f64())
    };
    // 0 ok, 1 warning, 2 critical, 3 unknown.
    assert_eq!(code_of("consumer-group/clicks-enrich"), Some(1.0));
    assert_eq!(code_of("kafka-topic/clicks"), Some(0.0));

    assert!(
        answers["X"].error.contains("`metric`"),
        "a bad metric names the field: {:?}",
        answers["X"]
    );
}

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(backend_binary())
        .arg("check")
        .args(args)
        .output()
        .expect("the backend binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn check_from_a_terminal_prints_the_table_and_exits_with_the_verdict() {
    // A healthy Kafka-only pipeline: lag 65 under the default thresholds.
    let bootstrap = bootstrap();
    let (code, out, err) = check(&[
        "--kafka",
        &bootstrap,
        "--groups",
        "clicks-enrich",
        "--timeout",
        "10",
    ]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.starts_with("STATUS"), "{out}");
    assert!(out.contains("clicks-enrich"), "{out}");
    assert!(out.trim_end().ends_with("pipeline: OK"), "{out}");

    // The same with a tight lag threshold: critical, exit code 2.
    let (code, out, _) = check(&[
        "--kafka",
        &bootstrap,
        "--groups",
        "clicks-enrich",
        "--thresholds",
        r#"{"lagWarning": 10, "lagCritical": 60}"#,
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("CRITICAL"), "{out}");

    // Against the real Flink: the bottleneck is named on the last line.
    let flink_url = cluster().rest_url().to_string();
    let deadline = Instant::now() + SETTLE_BOUND;
    loop {
        let (code, out, err) = check(&["--flink", &flink_url]);
        // The jobs share their database node, so they are one pipeline with one cause: until
        // pipeline-1's backpressure forms, a job's failing checkpoints may be named instead.
        let named = out
            .lines()
            .any(|l| l.contains("bottleneck: busy") && l.ends_with("<- root cause"));
        if named {
            assert_eq!(code, 2, "{out}");
            assert!(out.contains("root cause: slow-score"), "{out}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no bottleneck named: {out}\n{err}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Nothing to check is a usage error, not a green light.
    let (code, _, err) = check(&[]);
    assert_eq!(code, 3);
    assert!(err.contains("--kafka"), "{err}");
}
