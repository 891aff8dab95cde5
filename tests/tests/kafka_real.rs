//! Kafka queries through the spawned backend against the bed's real Apache Kafka 3.7.1 cluster
//! (3 brokers, ZooKeeper mode, PLAINTEXT and SASL_SSL/SCRAM-SHA-512 listeners): the group
//! listing path with real states and member counts, lag checked against Kafka's own
//! `kafka-consumer-groups` tool read at the same moment, a stopped broker, and security.
//! No mock: everything here is what a real broker answers.

use std::time::{Duration, Instant};

use std::sync::OnceLock;

use pipeline_tests::bed::kafka::KafkaBed;
use pipeline_tests::{DatasourceConfig, PluginHost};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
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
/// cluster with a broker missing that it did not ask for.
static FAULTS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

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
    let ds = plaintext_datasource();
    let q = json!({"group": "pageview-counter", "topic": "pageviews"});
    let first = host.query_one(&ds, "timeLag", q.clone()).await;
    assert_eq!(first.frame("timeLag").row(0)["samples"], 1);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    produce("pageviews", 0, 40);
    commit(
        "pageview-counter",
        &[("pageviews", 0, 120), ("pageviews", 1, 100)],
    );
    let second = host.query_one(&ds, "timeLag", q).await;
    let row = second.frame("timeLag").row(0);
    let truth: i64 = bed
        .kafka
        .describe_group_offsets("pageview-counter")
        .iter()
        .filter_map(|r| r.lag)
        .sum();
    assert_eq!(row["lag"].as_f64(), Some(truth as f64), "{row:?}");
    assert_eq!(truth, 20);
    let produce_rate = row["produceRate"].as_f64().unwrap();
    let consume_rate = row["consumeRate"].as_f64().unwrap();
    assert!(consume_rate > produce_rate && produce_rate > 0.0, "{row:?}");
    let behind = row["secondsBehind"].as_f64().unwrap();
    assert!((behind - 20.0 / produce_rate).abs() < 1e-6, "{row:?}");
}
