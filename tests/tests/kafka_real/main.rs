//! Kafka queries through the spawned backend against the bed's real Apache Kafka 3.7.1 cluster
//! (ZooKeeper and 3 broker JVMs, PLAINTEXT and SASL_SSL/SCRAM-SHA-512 listeners), started once
//! for this binary and shared by its tests.
//!
//! Which Kafka, and why: the real one, because every test here proves a Kafka feature that
//! librdkafka's mock does not have or only imitates: group listing and description (state,
//! members), committed offsets and lag as Kafka's own `kafka-consumer-groups` reads them, groups
//! named in the query or the datasource, cluster health and the editor's resources (topics,
//! groups with their state), replication (a stopped broker's under-replicated partitions),
//! security (SASL_SSL/SCRAM, TLS with the wrong CA), and a whole cluster going down and coming
//! back. Expected values come from Kafka's tools and ZooKeeper, read at the same moment, not from
//! what the test wrote. The one thing only the mock can do here, count the requests of one
//! snapshot, stays in `kafka_requests_mock.rs`.
//!
//! Tests that break the cluster take `FAULTS` exclusively and put every broker back before they
//! end, also when they fail ([`RestoreCluster`]); the other tests share it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pipeline_tests::bed::kafka::{GroupOffsetRow, KafkaBed};
use pipeline_tests::bed::kafka_tools::{
    kafka_tool_ok, parse_topic_partitions, CONSUMER_GROUP_COMMAND, TOPIC_COMMAND,
};
use pipeline_tests::bed::tls::Tls;
use pipeline_tests::{DatasourceConfig, PluginHost, Query};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};

/// The bed of this test binary: ZooKeeper and 3 brokers, started once, shared by the tests.
/// The broker test restores the cluster before it ends.
fn kafka_bed() -> &'static KafkaBed {
    static BED: OnceLock<KafkaBed> = OnceLock::new();
    BED.get_or_init(|| KafkaBed::start(&pipeline_tests::bed::run_dir("kafka_real")))
}

/// Tests that stop a broker take this exclusively; the others share it, so none of them sees a
/// cluster with a broker missing that it did not ask for. Tests that compare the whole cluster
/// with Kafka's tools take it exclusively too, so no other test adds a topic in between.
static FAULTS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Puts every broker back when a fault test ends, also when it fails half-way: resumes the
/// paused ones, starts the stopped ones and waits until every partition is fully replicated.
struct RestoreCluster;

impl Drop for RestoreCluster {
    fn drop(&mut self) {
        let restore = || {
            let kafka = &kafka_bed().kafka;
            for id in kafka.broker_ids() {
                kafka.resume_broker(id);
            }
            for id in kafka.broker_ids() {
                if kafka.pid(id).is_none() {
                    kafka.start_broker(id);
                }
            }
            kafka.wait_fully_replicated(Duration::from_secs(120));
        };
        if std::thread::panicking() {
            // A second panic while unwinding would abort the whole binary.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(restore)).is_err() {
                eprintln!("kafka_real: the cluster could not be restored");
            }
        } else {
            restore();
        }
    }
}

fn plaintext_datasource() -> DatasourceConfig {
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka_bed().kafka.bootstrap(),
        "queryTimeoutSeconds": 20,
    }))
}

fn producer() -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", kafka_bed().kafka.bootstrap())
        .set("acks", "all")
        .create()
        .expect("a producer on the bed")
}

fn produce(topic: &str, partition: i32, n: usize) {
    let p = producer();
    for i in 0..n {
        let key = format!("k{i}");
        p.send(
            BaseRecord::to(topic)
                .partition(partition)
                .key(&key)
                .payload("x"),
        )
        .expect("enqueue");
        if i % 1000 == 999 {
            p.poll(Duration::from_millis(1));
        }
    }
    p.flush(Duration::from_secs(30))
        .expect("flushed to the bed");
}

/// Commits exact offsets for `group` without joining it (as a Flink source does).
fn commit(group: &str, offsets: &[(&str, i32, i64)]) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bed().kafka.bootstrap())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let mut tpl = TopicPartitionList::new();
    for (t, p, o) in offsets {
        tpl.add_partition_offset(t, *p, Offset::Offset(*o)).unwrap();
    }
    c.commit(&tpl, CommitMode::Sync).expect("commit");
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// (topic, partition, committed, log end, lag), as a lag row reads.
type LagRow = (String, i32, Option<i64>, i64, Option<i64>);

/// The backend's `partitions` frame rows of one group, sorted.
fn backend_partitions(answer: &pipeline_tests::Answer, group: &str) -> Vec<LagRow> {
    let parts = answer.frame("partitions");
    let mut rows: Vec<_> = (0..parts.len())
        .map(|i| parts.row(i))
        .filter(|r| r["group"] == group)
        .map(|r| {
            (
                r["topic"].as_str().unwrap().to_string(),
                r["partition"].as_i64().unwrap() as i32,
                int(&r["committedOffset"]),
                int(&r["logEndOffset"]).unwrap(),
                int(&r["lag"]),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn consumer_lag_equals_what_kafkas_own_tool_reads() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("billing-events", 6, 3);
    for p in 0..6 {
        produce("billing-events", p, 20 + 13 * p as usize);
    }
    // Committed like a Flink source commits: no membership, offsets only; partition 5 never.
    let commits: Vec<(&str, i32, i64)> = (0..5)
        .map(|p| ("billing-events", p, 3 * p as i64))
        .collect();
    commit("billing-writer", &commits);

    let host = PluginHost::start().await;
    let answer = host
        .query_one(
            &plaintext_datasource(),
            "consumerLag",
            json!({"group": "billing-.*", "topic": "billing-events"}),
        )
        .await;
    // The same moment: nothing produces to or commits on this topic any more.
    let truth = bed.kafka.describe_group_offsets("billing-writer");
    let mut expected: Vec<_> = truth
        .iter()
        .map(|r| (r.topic.clone(), r.partition, r.committed, r.log_end, r.lag))
        .collect();
    expected.sort();
    let got = backend_partitions(&answer, "billing-writer");
    // Kafka's tool lists only the partitions a member-less group committed on; the backend
    // also shows the partition without a commit (lag unknown, said so), which must be the
    // only difference.
    let committed: Vec<_> = got.iter().filter(|r| r.2.is_some()).cloned().collect();
    assert_eq!(
        committed, expected,
        "backend vs kafka-consumer-groups --describe"
    );
    assert_eq!(
        got.len(),
        6,
        "every partition, the uncommitted one too: {got:?}"
    );
    assert_eq!(
        got.iter().find(|r| r.2.is_none()).map(|r| (r.1, r.3, r.4)),
        Some((5, 20 + 13 * 5, None)),
        "partition 5 has no commit: log end known, lag unknown: {got:?}"
    );

    let groups = answer.frame("groups");
    let row = groups
        .find_row("group", "billing-writer")
        .expect("found by listing, not named");
    let tool_lag: i64 = truth.iter().filter_map(|r| r.lag).sum();
    assert_eq!(int(&row["lag"]), Some(tool_lag), "{row:?}");
    // A group that only commits (as Flink's Kafka source does) is Empty with no members.
    let state = bed.kafka.describe_group_state("billing-writer");
    assert_eq!(row["state"], state.state.as_str(), "{row:?} vs {state:?}");
    assert_eq!(state.state, "Empty");
    assert_eq!(int(&row["members"]), Some(0));
    assert_eq!(
        groups.meta["custom"]["groupSource"], "listGroups+describeGroups",
        "groups found by Kafka's listing: {:?}",
        groups.meta
    );
}

/// A subscribing consumer application: joins the group, polls until told to stop, then closes
/// (leaves the group).
struct Subscriber {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Subscriber {
    fn start(group: &str, topic: &str) -> Subscriber {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", kafka_bed().kafka.bootstrap())
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "200")
            .create()
            .expect("a subscribing consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = consumer.poll(Duration::from_millis(100));
            }
            // Dropping the consumer closes it: it leaves the group and commits.
            drop(consumer);
        });
        Subscriber {
            stop,
            thread: Some(thread),
        }
    }

    fn close(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("the consumer thread ends");
        }
    }
}

async fn group_row(
    host: &PluginHost,
    pattern: &str,
    group: &str,
) -> Option<std::collections::HashMap<String, Value>> {
    let answer = host
        .query(
            &plaintext_datasource(),
            &[pipeline_tests::Query::new(
                "A",
                "consumerLag",
                json!({"group": pattern, "granularity": "group"}),
            )],
        )
        .await;
    let a = answer.get("A")?;
    if !a.error.is_empty() {
        return None;
    }
    a.frames
        .iter()
        .find(|f| f.name == "groups")?
        .find_row("group", group)
}

/// Polls the backend until `check` holds for the group's row; panics with the last row.
async fn wait_group(
    host: &PluginHost,
    pattern: &str,
    group: &str,
    what: &str,
    check: impl Fn(&std::collections::HashMap<String, Value>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    while Instant::now() < deadline {
        last = group_row(host, pattern, group).await;
        if last.as_ref().is_some_and(&check) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("group {group}: {what} not seen within 60 s; last row {last:?}");
}

#[tokio::test]
async fn a_running_consumer_application_is_stable_with_its_members_and_empty_after_it_stops() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("audit-events", 4, 3);
    produce("audit-events", 0, 50);
    let host = PluginHost::start().await;
    let app = Subscriber::start("audit-app", "audit-events");
    // Kafka's own view first, so the backend is checked against a settled group.
    let deadline = Instant::now() + Duration::from_secs(60);
    while bed.kafka.describe_group_state("audit-app").state != "Stable" {
        assert!(
            Instant::now() < deadline,
            "audit-app never became Stable per kafka-consumer-groups"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_group(
        &host,
        "audit-.*",
        "audit-app",
        "Stable with 1 member",
        |r| r["state"] == "Stable" && int(&r["members"]) == Some(1),
    )
    .await;
    let second = Subscriber::start("audit-app", "audit-events");
    wait_group(
        &host,
        "audit-.*",
        "audit-app",
        "Stable with 2 members",
        |r| r["state"] == "Stable" && int(&r["members"]) == Some(2),
    )
    .await;
    assert_eq!(bed.kafka.describe_group_state("audit-app").members, 2);
    app.close();
    second.close();
    wait_group(
        &host,
        "audit-.*",
        "audit-app",
        "Empty with no members",
        |r| r["state"] == "Empty" && int(&r["members"]) == Some(0),
    )
    .await;
    assert_eq!(bed.kafka.describe_group_state("audit-app").state, "Empty");
}

async fn cluster_row(host: &PluginHost) -> std::collections::HashMap<String, Value> {
    host.query_one(&plaintext_datasource(), "clusterHealth", json!({}))
        .await
        .frame("cluster")
        .row(0)
}

#[tokio::test]
async fn a_stopped_broker_shows_under_replicated_partitions_and_its_return_clears_them() {
    let _exclusive = FAULTS.write().await;
    let bed = kafka_bed();
    let _restore = RestoreCluster;
    bed.kafka.create_topic("ledger", 6, 3);
    let host = PluginHost::start().await;
    let healthy = cluster_row(&host).await;
    assert_eq!(healthy["brokers"], 3, "{healthy:?}");
    assert_eq!(healthy["underReplicatedPartitions"], 0, "{healthy:?}");
    assert_eq!(healthy["status"], "ok", "{healthy:?}");

    bed.kafka.stop_broker(3);
    let deadline = Instant::now() + Duration::from_secs(60);
    let row = loop {
        let row = cluster_row(&host).await;
        if int(&row["underReplicatedPartitions"]).unwrap_or(0) > 0 {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "no under-replicated partition seen: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let tool = bed.kafka.under_replicated_partitions();
    // The backend and Kafka's TopicCommand count the same partitions (internal topics too).
    assert_eq!(
        int(&row["underReplicatedPartitions"]),
        Some(tool.len() as i64),
        "backend {row:?} vs kafka-topics --under-replicated-partitions {tool:?}"
    );
    assert_ne!(row["status"], "ok", "{row:?}");
    assert!(
        row["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("under-replicated"),
        "the verdict says why: {row:?}"
    );
    assert_eq!(row["brokers"], 2, "{row:?}");
    let answer = host
        .query_one(&plaintext_datasource(), "clusterHealth", json!({}))
        .await;
    let ledger = answer
        .frame("topics")
        .find_row("topic", "ledger")
        .expect("ledger row");
    assert!(int(&ledger["underReplicated"]).unwrap() > 0, "{ledger:?}");
    assert_ne!(ledger["status"], "ok", "{ledger:?}");

    bed.kafka.start_broker(3);
    bed.kafka.wait_fully_replicated(Duration::from_secs(120));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = cluster_row(&host).await;
        if row["underReplicatedPartitions"] == 0 && row["status"] == "ok" && row["brokers"] == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the broker's return did not clear: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn sasl_datasource(password: &str) -> DatasourceConfig {
    let kafka = &kafka_bed().kafka;
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka.bootstrap_sasl_ssl(),
        "kafkaSecurityProtocol": "SASL_SSL",
        "kafkaSaslMechanism": "SCRAM-SHA-512",
        "kafkaUsername": kafka.admin_user().0,
        "queryTimeoutSeconds": 15,
    }))
    .with_secure("kafkaPassword", password)
    .with_secure("kafkaTlsCaCert", kafka.ca_pem())
}

#[tokio::test]
async fn sasl_ssl_with_scram_works_with_the_right_secret_and_names_the_setting_without_the_secret()
{
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("secure-orders", 3, 3);
    produce("secure-orders", 1, 9);
    commit("secure-reader", &[("secure-orders", 1, 4)]);
    let mut host = PluginHost::start().await;

    let good = sasl_datasource(bed.kafka.admin_user().1);
    let (status, message, _) = host.check_health(&good).await;
    assert_eq!(status, 1, "CheckHealth OK over SASL_SSL: {message}");
    let answer = host
        .query_one(
            &good,
            "consumerLag",
            json!({"groups": ["secure-reader"], "topic": "secure-orders"}),
        )
        .await;
    let row = answer
        .frame("groups")
        .find_row("group", "secure-reader")
        .unwrap();
    assert_eq!(int(&row["lag"]), Some(5), "{row:?}");

    let wrong = "not-the-password-7f3a";
    let bad = sasl_datasource(wrong);
    let (status, message, details) = host.check_health(&bad).await;
    assert_ne!(status, 1, "a wrong password must not pass: {message}");
    assert!(
        message.contains("kafkaPassword") || message.contains("kafkaUsername"),
        "the message names the setting to fix: {message}"
    );
    let answer = host
        .query_one(&bad, "consumerLag", json!({"groups": ["secure-reader"]}))
        .await;
    assert!(
        !answer.error.is_empty(),
        "a query with a wrong password fails"
    );
    for text in [
        message.as_str(),
        &details.to_string(),
        &answer.error,
        &host.log(),
    ] {
        assert!(!text.contains(wrong), "the secret leaked: {text}");
        assert!(
            !text.contains(bed.kafka.admin_user().1),
            "the right secret leaked: {text}"
        );
    }
    assert!(host.is_running(), "the plugin survives a failed login");
}

/// Sums over the group's partitions, as Kafka's tool reads them: (log end, committed, lag).
fn tool_sums(rows: &[GroupOffsetRow]) -> (i64, i64, i64) {
    rows.iter().fold((0, 0, 0), |(e, c, l), r| {
        (
            e + r.log_end,
            c + r.committed.unwrap_or(0),
            l + r.lag.unwrap_or(0),
        )
    })
}

#[tokio::test]
async fn time_lag_on_the_real_cluster_follows_the_produce_and_commit_rates() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("pageviews", 2, 3);
    produce("pageviews", 0, 100);
    produce("pageviews", 1, 100);
    commit(
        "pageview-counter",
        &[("pageviews", 0, 50), ("pageviews", 1, 50)],
    );
    let host = PluginHost::start().await;
    // The background sampler waits an hour-long window's spacing (5 min): only the test's own
    // queries sample here.
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bed.kafka.bootstrap(),
        "queryTimeoutSeconds": 20,
        "kafkaStatusWindowSeconds": 3600,
    }));
    let q = json!({"group": "pageview-counter", "topic": "pageviews"});
    let asked = now_ms();
    let first = host.query_one(&ds, "timeLag", q.clone()).await;
    let answered = now_ms();
    let before = tool_sums(&bed.kafka.describe_group_offsets("pageview-counter"));
    let row = first.frame("timeLag").row(0);
    assert_eq!(row["samples"], 1);
    assert_eq!(row["lag"].as_f64(), Some(before.2 as f64), "{row:?}");
    // From the first query: the oldest unconsumed record's own timestamp, as Kafka stored it.
    assert_eq!(row["method"], "recordTimestamp", "{row:?}");
    let oldest = [0, 1]
        .into_iter()
        .map(|p| record_timestamp_ms("pageviews", p, 50))
        .min()
        .unwrap();
    let behind = row["secondsBehind"].as_f64().unwrap();
    let (low, high) = (
        (asked - oldest) as f64 / 1e3,
        (answered - oldest) as f64 / 1e3,
    );
    assert!(
        low - 0.01 <= behind && behind <= high + 0.01,
        "{behind} s behind, the record at offset 50 is {low}..{high} s old"
    );

    // 40 more produced, 120 more consumed: the group catches up. The tool call above already
    // put time between the two samples; the rates are checked against offsets, not a clock.
    produce("pageviews", 0, 40);
    commit(
        "pageview-counter",
        &[("pageviews", 0, 120), ("pageviews", 1, 100)],
    );
    let second = host.query_one(&ds, "timeLag", q).await;
    let frame = second.frame("timeLag");
    let row = frame.row(0);
    let truth = bed.kafka.describe_group_offsets("pageview-counter");
    let after = tool_sums(&truth);
    let truth: i64 = truth.iter().filter_map(|r| r.lag).sum();
    assert_eq!(row["lag"].as_f64(), Some(truth as f64), "{row:?}");
    assert_eq!(truth, 20);
    assert_eq!(frame.meta["custom"]["method"], "offsetSampling");
    assert_eq!(row["samples"], 2);
    let produce_rate = row["produceRate"].as_f64().unwrap();
    let consume_rate = row["consumeRate"].as_f64().unwrap();
    assert!(consume_rate > produce_rate && produce_rate > 0.0, "{row:?}");
    // Rate x window = what Kafka's tool saw move between the two samples.
    let window = row["windowSeconds"].as_f64().unwrap();
    let produced = (after.0 - before.0) as f64;
    let consumed = (after.1 - before.1) as f64;
    assert!((produce_rate * window - produced).abs() < 0.01, "{row:?}");
    assert!((consume_rate * window - consumed).abs() < 0.01, "{row:?}");
    // Once samples exist, interpolated: offset 120 of partition 0 was passed half-way between
    // the samples (log end 100 then 140); partition 1 is caught up.
    assert_eq!(row["method"], "interpolation", "{row:?}");
    let behind = row["secondsBehind"].as_f64().unwrap();
    assert!((behind - window / 2.0).abs() < 1e-3, "{row:?}");
    let drain = row["drainSeconds"].as_f64().unwrap();
    assert!(
        (drain - truth as f64 / (consume_rate - produce_rate)).abs() < 1e-6,
        "{row:?}"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The timestamp Kafka stored with the record at `offset`, read with a consumer of our own.
fn record_timestamp_ms(topic: &str, partition: i32, offset: i64) -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bed().kafka.bootstrap())
        .set("group.id", "test-record-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))
        .unwrap();
    c.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(500)) {
            assert_eq!(
                m.offset(),
                offset,
                "the record at {topic}[{partition}]@{offset}"
            );
            return m.timestamp().to_millis().expect("a timestamp");
        }
    }
    panic!("no record at {topic}[{partition}]@{offset} within 20 s");
}

/// Commits on `orders`: `orders-fast` one record behind everywhere, `orders-slow` far behind
/// and never on partition 5. Neither commits on `payments`. Both commit without membership.
fn setup_orders() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let kafka = &kafka_bed().kafka;
        kafka.create_topic("orders", 6, 3);
        kafka.create_topic("payments", 2, 3);
        let produced: Vec<i64> = (0..6).map(|p| 10 + 7 * p).collect();
        for (p, n) in produced.iter().enumerate() {
            produce("orders", p as i32, *n as usize);
        }
        produce("payments", 0, 5);
        let fast: Vec<_> = (0..6)
            .map(|p| ("orders", p, produced[p as usize] - 1))
            .collect();
        let slow: Vec<_> = (0..5).map(|p| ("orders", p, p as i64)).collect();
        commit("orders-fast", &fast);
        commit("orders-slow", &slow);
    });
}

/// Log-end offsets of a topic's partitions as the bed's brokers report them (a fresh client).
fn log_ends(topic: &str) -> BTreeMap<i32, i64> {
    let c: BaseConsumer = kafka_bed()
        .kafka
        .plaintext_config()
        .create()
        .expect("a consumer");
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    md.topics()[0]
        .partitions()
        .iter()
        .map(|p| {
            let (_, high) = c
                .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                .expect("watermarks");
            (p.id(), high)
        })
        .collect()
}

#[tokio::test]
async fn consumer_lag_of_named_groups_matches_what_kafka_reads_per_partition_topic_and_group() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    setup_orders();
    let host = PluginHost::start().await;
    let ds = plaintext_datasource();
    let answer = host
        .query_one(
            &ds,
            "consumerLag",
            json!({"groups": ["orders-fast", "orders-slow"], "topic": "orders|pay.*"}),
        )
        .await;
    let ends = log_ends("orders");
    let groups = answer.frame("groups");
    for group in ["orders-fast", "orders-slow"] {
        let truth = bed.kafka.describe_group_offsets(group);
        let got = backend_partitions(&answer, group);
        assert!(
            got.iter().all(|r| r.0 == "orders"),
            "the groups committed only on orders: {got:?}"
        );
        // Kafka's tool lists the partitions a member-less group committed on; the backend
        // lists every partition of the topic, the ones without a commit too.
        let committed: Vec<_> = got.iter().filter(|r| r.2.is_some()).cloned().collect();
        let expected: Vec<_> = truth
            .iter()
            .map(|r| (r.topic.clone(), r.partition, r.committed, r.log_end, r.lag))
            .collect();
        assert_eq!(
            committed, expected,
            "{group}: backend vs kafka-consumer-groups"
        );
        assert_eq!(got.len(), ends.len(), "{group}: every partition of orders");
        for r in got.iter().filter(|r| r.2.is_none()) {
            assert_eq!(
                (r.3, r.4),
                (ends[&r.1], None),
                "{group}: no commit: log end known, lag unknown"
            );
        }
        let parts = answer.frame("partitions");
        for i in (0..parts.len()).filter(|&i| parts.row(i)["group"] == group) {
            let row = parts.row(i);
            assert_eq!(
                row["hasCommit"],
                Value::Bool(row["committedOffset"].is_i64())
            );
        }

        let row = groups.find_row("group", group).expect("group row");
        let tool_lag: i64 = truth.iter().filter_map(|r| r.lag).sum();
        assert_eq!(int(&row["lag"]), Some(tool_lag), "{row:?}");
        let without = (ends.len() - truth.len()) as i64;
        assert_eq!(int(&row["partitionsWithoutCommit"]), Some(without));
        // The real broker describes named groups too: state and members are Kafka's.
        let state = bed.kafka.describe_group_state(group);
        assert_eq!(row["state"], state.state.as_str(), "{row:?} vs {state:?}");
        assert_eq!(int(&row["members"]), Some(state.members as i64), "{row:?}");
    }
    // Both only commit, as Flink's Kafka source does: Empty is their normal state, so a small
    // lag is ok, not "no consumer is running".
    let fast = groups.find_row("group", "orders-fast").unwrap();
    assert_eq!(fast["status"], "ok", "{fast:?}");
    let slow = groups.find_row("group", "orders-slow").unwrap();
    assert_ne!(
        slow["status"], "ok",
        "a partition without a commit is a warning: {slow:?}"
    );
    assert!(
        slow["reason"]
            .as_str()
            .unwrap()
            .contains("without a committed offset"),
        "{slow:?}"
    );

    let topics = answer.frame("topics");
    assert_eq!(topics.len(), 2, "one row per (group, topic)");

    let meta = &answer.frame("partitions").meta["custom"];
    assert_eq!(
        meta["groupSource"], "listGroups+describeGroups",
        "Kafka lists the groups: {meta}"
    );
    // One ListOffsets per leader of the selected partitions (orders and payments).
    let md = bed.kafka.metadata().expect("metadata");
    let leaders: BTreeSet<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == "orders" || t.name() == "payments")
        .flat_map(|t| t.partitions().iter().map(|p| p.leader()))
        .collect();
    assert_eq!(
        meta["endOffsetRequests"].as_u64(),
        Some(leaders.len() as u64),
        "{meta}"
    );
    assert_eq!(meta["offsetFetchRequests"], 2, "{meta}");

    // One level only, for a table panel: the per-group sums.
    let answer = host
        .query_one(
            &ds,
            "consumerLag",
            json!({"groups": ["orders-fast", "orders-slow"], "granularity": "group"}),
        )
        .await;
    let names: Vec<&str> = answer.ok().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["groups"]);
    let slow = answer
        .frame("groups")
        .find_row("group", "orders-slow")
        .unwrap();
    let tool_lag: i64 = bed
        .kafka
        .describe_group_offsets("orders-slow")
        .iter()
        .filter_map(|r| r.lag)
        .sum();
    assert_eq!(int(&slow["lag"]), Some(tool_lag));
}

#[tokio::test]
async fn groups_named_in_the_datasource_are_read_when_the_query_names_none() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    setup_orders();
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bed.kafka.bootstrap(),
        "kafkaConsumerGroups": ["orders-fast"],
    }));
    let answer = host
        .query_one(&ds, "consumerLag", json!({"topic": "orders"}))
        .await;
    let groups = answer.frame("groups");
    assert_eq!(
        groups.len(),
        1,
        "only the datasource's group, though orders-slow exists"
    );
    let row = groups.row(0);
    assert_eq!(row["group"], "orders-fast");
    let truth: i64 = bed
        .kafka
        .describe_group_offsets("orders-fast")
        .iter()
        .filter_map(|r| r.lag)
        .sum();
    assert_eq!(int(&row["lag"]), Some(truth), "{row:?}");
    let state = bed.kafka.describe_group_state("orders-fast");
    assert_eq!(row["state"], state.state.as_str(), "{row:?} vs {state:?}");
    assert_eq!(int(&row["members"]), Some(state.members as i64), "{row:?}");
}

/// (topic -> (partitions, replication factor)) from TopicCommand `--describe`: partitions from
/// its partition lines, the replication factor from each topic's summary line.
fn topics_per_tool() -> BTreeMap<String, (u64, u64)> {
    let text = kafka_tool_ok(
        TOPIC_COMMAND,
        &[
            "--bootstrap-server",
            &kafka_bed().kafka.bootstrap(),
            "--describe",
        ],
    );
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (topic, _) in parse_topic_partitions(&text).expect("TopicCommand output") {
        out.entry(topic).or_default().0 += 1;
    }
    for line in text.lines().filter(|l| l.contains("PartitionCount:")) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let after = |key: &str| {
            let i = cells.iter().position(|c| *c == key).expect(key);
            cells[i + 1]
        };
        let rf = after("ReplicationFactor:")
            .parse()
            .expect("a replication factor");
        out.get_mut(after("Topic:"))
            .unwrap_or_else(|| panic!("a topic without partition lines: {line}"))
            .1 = rf;
    }
    out
}

/// `ConsumerGroupCommand --list`: every group Kafka knows.
fn groups_per_tool() -> BTreeSet<String> {
    kafka_tool_ok(
        CONSUMER_GROUP_COMMAND,
        &[
            "--bootstrap-server",
            &kafka_bed().kafka.bootstrap(),
            "--list",
        ],
    )
    .lines()
    .map(str::trim)
    .filter(|l| !l.is_empty())
    .map(str::to_string)
    .collect()
}

/// The registered brokers and the active controller, as ZooKeeper holds them: `dump` lists each
/// session's ephemeral znodes, and the controller's session owns `/controller` and its own
/// `/brokers/ids/N`.
fn brokers_and_controller_per_zookeeper() -> (BTreeSet<i64>, Option<i64>) {
    let dump = kafka_bed().zookeeper.four_letter("dump").expect("dump");
    let (_, sessions) = dump
        .split_once("Sessions with Ephemerals")
        .unwrap_or_else(|| panic!("no ephemerals in dump:\n{dump}"));
    let mut brokers = BTreeSet::new();
    let mut controller = None;
    // A session line (0x...) starts a block of its paths.
    let mut block: Vec<String> = Vec::new();
    let mut flush = |block: &mut Vec<String>| {
        let ids: Vec<i64> = block
            .iter()
            .filter_map(|p| p.strip_prefix("/brokers/ids/")?.parse().ok())
            .collect();
        brokers.extend(&ids);
        if block.iter().any(|p| p == "/controller") {
            controller = ids.first().copied();
        }
        block.clear();
    };
    for line in sessions.lines().map(str::trim) {
        if line.starts_with('/') {
            block.push(line.to_string());
        } else {
            flush(&mut block);
        }
    }
    flush(&mut block);
    (brokers, controller)
}

#[tokio::test]
async fn cluster_health_and_resources_describe_the_real_cluster() {
    // Exclusive: the whole cluster is compared with Kafka's tools, so no topic may appear.
    let _exclusive = FAULTS.write().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("inventory", 6, 3);
    bed.kafka.create_topic("inventory-audit", 2, 1);
    produce("inventory", 0, 10);
    commit("inventory-writer", &[("inventory", 0, 4)]);
    let app = Subscriber::start("inventory-app", "inventory");
    let deadline = Instant::now() + Duration::from_secs(60);
    while bed.kafka.describe_group_state("inventory-app").state != "Stable" {
        assert!(
            Instant::now() < deadline,
            "inventory-app never became Stable"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let host = PluginHost::start().await;
    let ds = plaintext_datasource();

    let answer = host.query_one(&ds, "clusterHealth", json!({})).await;
    let tool_topics = topics_per_tool();
    let (zk_brokers, zk_controller) = brokers_and_controller_per_zookeeper();
    let cluster = answer.frame("cluster").row(0);
    assert_eq!(
        int(&cluster["brokers"]),
        Some(zk_brokers.len() as i64),
        "{cluster:?}"
    );
    assert_eq!(
        int(&cluster["controller"]),
        zk_controller,
        "the controller ZooKeeper names: {cluster:?}"
    );
    let brokers = answer.frame("brokers");
    let ids: BTreeSet<i64> = (0..brokers.len())
        .map(|i| brokers.row(i)["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, zk_brokers, "the brokers registered in ZooKeeper");
    let flagged: Vec<i64> = (0..brokers.len())
        .map(|i| brokers.row(i))
        .filter(|r| r["controller"] == true)
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(flagged, zk_controller.into_iter().collect::<Vec<_>>());
    let partitions: u64 = tool_topics.values().map(|t| t.0).sum();
    assert_eq!(
        int(&cluster["partitions"]),
        Some(partitions as i64),
        "{cluster:?}"
    );
    assert_eq!(
        int(&cluster["topics"]),
        Some(tool_topics.len() as i64),
        "{cluster:?}"
    );
    // A healthy cluster per Kafka's tool: nothing under-replicated, nothing without a leader.
    let urp = bed.kafka.under_replicated_partitions();
    let unavailable = parse_topic_partitions(&kafka_tool_ok(
        TOPIC_COMMAND,
        &[
            "--bootstrap-server",
            &bed.kafka.bootstrap(),
            "--describe",
            "--unavailable-partitions",
        ],
    ))
    .unwrap();
    assert_eq!(
        int(&cluster["underReplicatedPartitions"]),
        Some(urp.len() as i64)
    );
    assert_eq!(
        int(&cluster["offlinePartitions"]),
        Some(unavailable.len() as i64)
    );
    assert!(
        urp.is_empty() && unavailable.is_empty(),
        "{urp:?} {unavailable:?}"
    );
    assert_eq!(cluster["status"], "ok", "{cluster:?}");
    let topics = answer.frame("topics");
    let got: BTreeMap<String, (u64, u64)> = (0..topics.len())
        .map(|i| topics.row(i))
        .map(|r| {
            (
                r["topic"].as_str().unwrap().to_string(),
                (
                    r["partitions"].as_u64().unwrap(),
                    r["replicationFactor"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(
        got, tool_topics,
        "(partitions, replication factor) per topic vs kafka-topics"
    );
    assert_eq!(got["inventory-audit"], (2, 1));

    let (status, body) = host.resource(&ds, "/kafka/topics").await;
    assert_eq!(status, 200, "{body}");
    let listed: BTreeMap<String, u64> = body["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["partitions"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<String, u64> = tool_topics
        .iter()
        .map(|(t, (p, _))| (t.clone(), *p))
        .collect();
    assert_eq!(listed, expected, "/kafka/topics vs kafka-topics");

    // The editor's group list: every group Kafka knows, with its state and members.
    let (status, body) = host.resource(&ds, "/kafka/groups").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "listGroups+describeGroups", "{body}");
    let listed: HashMap<String, &Value> = body["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|g| (g["name"].as_str().unwrap().to_string(), g))
        .collect();
    let names: BTreeSet<String> = listed.keys().cloned().collect();
    assert_eq!(
        names,
        groups_per_tool(),
        "/kafka/groups vs kafka-consumer-groups --list"
    );
    for group in ["inventory-app", "inventory-writer"] {
        let state = bed.kafka.describe_group_state(group);
        let g = listed[group];
        assert_eq!(
            g["state"],
            state.state.as_str(),
            "{group}: {g} vs {state:?}"
        );
        assert_eq!(
            g["members"].as_u64(),
            Some(state.members as u64),
            "{group}: {g}"
        );
    }
    assert_eq!(listed["inventory-app"]["state"], "Stable");
    app.close();
}

/// A consumerLag query's answer and how long it took.
async fn timed_lag(
    host: &PluginHost,
    ds: &DatasourceConfig,
    group: &str,
) -> (pipeline_tests::Answer, Duration) {
    let started = Instant::now();
    let answer = host
        .query(
            ds,
            &[Query::new(
                "A",
                "consumerLag",
                json!({"groups": [group], "topic": "outage"}),
            )],
        )
        .await
        .remove("A")
        .expect("an answer for A");
    (answer, started.elapsed())
}

/// Queries until one answers without error; panics with the last error past `bound`.
async fn until_recovered(
    host: &PluginHost,
    ds: &DatasourceConfig,
    group: &str,
    bound: Duration,
) -> pipeline_tests::Answer {
    let deadline = Instant::now() + bound;
    loop {
        let (answer, _) = timed_lag(host, ds, group).await;
        if answer.error.is_empty() {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery within {} s: {}",
            bound.as_secs(),
            answer.error
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_downed_cluster_fails_the_query_in_time_and_the_next_one_recovers() {
    let _exclusive = FAULTS.write().await;
    let bed = kafka_bed();
    let kafka = &bed.kafka;
    let _restore = RestoreCluster;
    kafka.create_topic("outage", 3, 3);
    produce("outage", 0, 10);
    commit("outage-reader", &[("outage", 0, 4)]);
    let tool_lag = || -> i64 {
        kafka
            .describe_group_offsets("outage-reader")
            .iter()
            .filter_map(|r| r.lag)
            .sum()
    };
    let truth = tool_lag();
    let mut host = PluginHost::start().await;
    let timeout = Duration::from_secs(3);
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka.bootstrap(),
        "queryTimeoutSeconds": timeout.as_secs(),
    }));
    let lag_of = |a: &pipeline_tests::Answer| int(&a.frame("groups").row(0)["lag"]);
    let (ok, _) = timed_lag(&host, &ds, "outage-reader").await;
    assert_eq!(lag_of(&ok), Some(truth));
    // What the query may take past its timeout: the gRPC round trip and the frames.
    let slack = Duration::from_secs(2);

    // Every broker hangs (SIGSTOP): connections stay open, nothing answers, the worst case
    // for a timeout. (A refused connection is check_health_names_what_failed's closed port;
    // stopping and starting all three JVMs would add a minute and a half on 2 cores.)
    for id in kafka.broker_ids() {
        kafka.pause_broker(id);
    }
    let (hung, took) = timed_lag(&host, &ds, "outage-reader").await;
    for id in kafka.broker_ids() {
        kafka.resume_broker(id);
    }
    eprintln!("brokers paused, after {took:?}: {}", hung.error);
    assert!(!hung.error.is_empty(), "a hanging cluster is an error");
    assert!(
        took < timeout + slack,
        "answered within the timeout: {took:?}"
    );
    assert!(
        hung.error.contains("Kafka") && hung.error.contains(&kafka.bootstrap()),
        "the error names Kafka and the servers asked: {}",
        hung.error
    );
    assert!(host.is_running(), "the plugin survives");
    let t = Instant::now();
    kafka.wait_fully_replicated(Duration::from_secs(120));
    let back = until_recovered(&host, &ds, "outage-reader", Duration::from_secs(60)).await;
    assert_eq!(lag_of(&back), Some(tool_lag()));
    eprintln!(
        "kafka_real: resumed and answering again in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    assert_eq!(tool_lag(), truth, "the commits survived the outage");
}

#[tokio::test]
async fn check_health_names_what_failed() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    let host = PluginHost::start().await;
    let (status, message, _) = host.check_health(&plaintext_datasource()).await;
    assert_eq!(status, 1, "{message}");

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let refused = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": format!("127.0.0.1:{port}"), "queryTimeoutSeconds": 3}));
    let (status, message, _) = host.check_health(&refused).await;
    eprintln!("refused: {message}");
    assert_eq!(status, 2);
    assert!(
        message.contains("TCP") && message.contains("kafkaBootstrapServers"),
        "{message}"
    );

    let dns = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": "no-such-host.invalid:9092", "queryTimeoutSeconds": 3}));
    let (status, message, _) = host.check_health(&dns).await;
    eprintln!("unresolvable: {message}");
    assert_eq!(status, 2);
    assert!(message.contains("DNS"), "{message}");

    // The brokers' real SASL_SSL listener, the right password, but a CA that did not sign them.
    let other = Tls::create(&pipeline_tests::bed::run_dir("kafka_real_other_ca"));
    let mut wrong_ca = sasl_datasource(bed.kafka.admin_user().1);
    wrong_ca.json_data["queryTimeoutSeconds"] = json!(5);
    wrong_ca = wrong_ca.with_secure("kafkaTlsCaCert", other.ca_pem());
    let (status, message, _) = host.check_health(&wrong_ca).await;
    eprintln!("unknown CA: {message}");
    assert_eq!(status, 2, "{message}");
    assert!(
        message.contains("TLS") && message.contains("kafkaTlsCaCert"),
        "the message names the setting to fix: {message}"
    );
    // SASL_SSL settings against the PLAINTEXT port: no TLS handshake is possible.
    let mut plaintext_port = sasl_datasource(bed.kafka.admin_user().1);
    plaintext_port.json_data["kafkaBootstrapServers"] = json!(bed.kafka.broker_bootstrap(1));
    plaintext_port.json_data["queryTimeoutSeconds"] = json!(5);
    let (status, message, _) = host.check_health(&plaintext_port).await;
    eprintln!("SASL_SSL on the PLAINTEXT port: {message}");
    assert_eq!(status, 2, "{message}");
    assert!(
        message.contains("kafkaSecurityProtocol"),
        "the message names the setting to fix: {message}"
    );
}

#[tokio::test]
async fn bad_lag_queries_name_the_field() {
    // No broker is asked: the query is refused before any request.
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({"kafkaBootstrapServers": "127.0.0.1:9"}));
    let a = host
        .query_one(&ds, "consumerLag", json!({"topic": "x"}))
        .await;
    assert!(a.error.contains("`group`"), "{}", a.error);
    let a = host
        .query_one(&ds, "consumerLag", json!({"group": "g(", "topic": "x"}))
        .await;
    assert!(
        a.error.contains("`group`") && a.error.contains("regex"),
        "{}",
        a.error
    );
    let a = host
        .query_one(
            &ds,
            "consumerLag",
            json!({"group": "g", "granularity": "broker"}),
        )
        .await;
    assert!(
        a.error.contains("granularity") && a.error.contains("partition"),
        "{}",
        a.error
    );
}

mod partial;
mod sampler;
