//! Kafka queries through the spawned backend against the bed's real Apache Kafka 3.7.1 cluster
//! (ZooKeeper and 3 broker JVMs, PLAINTEXT and SASL_SSL/SCRAM-SHA-512 listeners), started once
//! for this binary and shared by its tests.
//!
//! Which Kafka, and why: the real one, because every test here proves a Kafka feature that
//! librdkafka's mock does not have or only imitates: group listing and description (state,
//! members), committed offsets and lag as Kafka's own `kafka-consumer-groups` reads them, groups
//! named in the query or the datasource, cluster health and the editor's resources (topics,
//! groups with their state), replication (a stopped broker's under-replicated partitions),
//! security (SASL_SSL/SCRAM, TLS with the wrong CA), a whole cluster going down and coming
//! back, and failures shown rather than hidden (a refused connection said at once, a hung
//! coordinator). Expected values come from Kafka's tools and ZooKeeper, read at the same moment, not from
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
        pipeline_tests::bed::undo_in_drop("kafka_real: the cluster could not be restored", || {
            let kafka = &kafka_bed().kafka;
            kafka.restore_brokers(&kafka.broker_ids(), Duration::from_secs(120))
        });
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
    partition_rows(
        answer,
        |r| r["group"] == group,
        |r| {
            (
                r["topic"].as_str().unwrap().to_string(),
                r["partition"].as_i64().unwrap() as i32,
                int(&r["committedOffset"]),
                int(&r["logEndOffset"]).unwrap(),
                int(&r["lag"]),
            )
        },
    )
}

/// The answer's `partitions` frame rows that `keep` keeps, each read by `read`, sorted.
fn partition_rows<T: Ord>(
    answer: &pipeline_tests::Answer,
    keep: impl Fn(&HashMap<String, Value>) -> bool,
    read: impl Fn(&HashMap<String, Value>) -> T,
) -> Vec<T> {
    let parts = answer.frame("partitions");
    let mut rows: Vec<_> = (0..parts.len())
        .map(|i| parts.row(i))
        .filter(|r| keep(r))
        .map(|r| read(&r))
        .collect();
    rows.sort();
    rows
}

/// SASL_SSL with SCRAM-SHA-512 as the bed's admin user, with `password`.
fn sasl_datasource(password: &str) -> DatasourceConfig {
    sasl_datasource_as(kafka_bed().kafka.admin_user().0, password)
}

/// SASL_SSL with SCRAM-SHA-512 as `user`, trusting the bed's CA.
fn sasl_datasource_as(user: &str, password: &str) -> DatasourceConfig {
    let kafka = &kafka_bed().kafka;
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka.bootstrap_sasl_ssl(),
        "kafkaSecurityProtocol": "SASL_SSL",
        "kafkaSaslMechanism": "SCRAM-SHA-512",
        "kafkaUsername": user,
        "queryTimeoutSeconds": 15,
    }))
    .with_secure("kafkaPassword", password)
    .with_secure("kafkaTlsCaCert", kafka.ca_pem())
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

mod cluster;
mod failures;
mod flink_stub;
mod groups;
mod lag;
mod outage;
mod partial;
mod sampler;
mod security;
