//! The Kafka side of the test bed, proven on itself. Uses the bed's real Apache Kafka 3.7.1
//! cluster (three broker JVMs on a real ZooKeeper 3.8.4, JMX exporter agents with the repo's
//! own configs, SASL_SSL with SCRAM-SHA-512 and ACLs), started once for this binary and shared
//! by its tests. Tests that break the cluster (stop, kill, pause a broker) hold the exclusive
//! side of a lock and restore it before they end, even when they fail.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use pipeline_tests::bed::kafka::{block_on, GroupOffsetRow};
use pipeline_tests::bed::kafka::{KafkaBed, KafkaCluster, RESTRICTED_GROUP};
use pipeline_tests::bed::process::http_get;
use pipeline_tests::bed::process::rss_kib;
use pipeline_tests::bed::tls::Tls;
use pipeline_tests::bed::{self};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

fn bed() -> &'static KafkaBed {
    static BED: OnceLock<KafkaBed> = OnceLock::new();
    BED.get_or_init(|| {
        let t0 = Instant::now();
        let b = KafkaBed::start(&bed::run_dir("bed_kafka"));
        eprintln!(
            "bed_kafka: ZooKeeper + 3 brokers ready in {:.1} s ({:?})",
            t0.elapsed().as_secs_f64(),
            b.kafka.timings()
        );
        b
    })
}

fn kafka() -> &'static KafkaCluster {
    &bed().kafka
}

static FAULTS: RwLock<()> = RwLock::new(());

/// For tests that need all three brokers up; many may run at once.
fn whole_cluster() -> RwLockReadGuard<'static, ()> {
    FAULTS.read().unwrap_or_else(|e| e.into_inner())
}

/// For tests that break the cluster; they run alone.
fn fault_lock() -> RwLockWriteGuard<'static, ()> {
    FAULTS.write().unwrap_or_else(|e| e.into_inner())
}

/// Puts a broker back when a fault test ends, also when it fails half-way.
struct Restore(i32);

impl Drop for Restore {
    fn drop(&mut self) {
        let id = self.0;
        bed::undo_in_drop(
            &format!("bed_kafka: broker {id} could not be restored"),
            || kafka().restore_brokers(&[id], Duration::from_secs(90)),
        );
    }
}

/// An error event: its code and its text.
type ErrorEvent = (Option<RDKafkaErrorCode>, String);

/// Keeps librdkafka's error events (the call that fails only says "timed out").
#[derive(Default, Clone)]
struct Errors(Arc<Mutex<Vec<ErrorEvent>>>);

impl ClientContext for Errors {
    fn error(&self, error: KafkaError, reason: &str) {
        self.0
            .lock()
            .unwrap()
            .push((error.rdkafka_error_code(), format!("{error}: {reason}")));
    }
}

impl ConsumerContext for Errors {}

impl Errors {
    fn seen(&self) -> Vec<ErrorEvent> {
        self.0.lock().unwrap().clone()
    }
}

fn producer(config: &ClientConfig) -> FutureProducer {
    let mut c = config.clone();
    c.set("acks", "all").set("message.timeout.ms", "20000");
    c.create().expect("a producer")
}

/// Sends `n` records to one partition and waits for each acknowledgement.
fn produce(p: &FutureProducer, topic: &str, partition: i32, n: usize, tag: &str) {
    for i in 0..n {
        let payload = format!("{tag}-{partition}-{i}");
        let record = FutureRecord::<(), _>::to(topic)
            .partition(partition)
            .payload(&payload);
        let delivery = p
            .send_result(record)
            .map_err(|(e, _)| e)
            .expect("the record is queued");
        match block_on(delivery).expect("a delivery report") {
            Ok(d) => assert_eq!(d.partition, partition),
            Err((e, _)) => panic!("produce to {topic}-{partition}: {e}"),
        }
    }
}

/// Reads partition `partition` from the start until `n` payloads arrived.
fn consume(config: &ClientConfig, topic: &str, partition: i32, n: usize) -> Vec<String> {
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", "bed-kafka-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "consumed {} of {n} from {topic}-{partition}",
            got.len()
        );
        if let Some(m) = consumer.poll(Duration::from_millis(500)) {
            let m = m.unwrap_or_else(|e| panic!("consume {topic}-{partition}: {e}"));
            got.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
        }
    }
    got
}

/// Commits `offsets` for `group` without joining it (a simple consumer group), over PLAINTEXT.
fn commit(group: &str, topic: &str, offsets: &[(i32, i64)]) {
    let consumer: BaseConsumer = kafka()
        .plaintext_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let mut tpl = TopicPartitionList::new();
    for &(p, o) in offsets {
        tpl.add_partition_offset(topic, p, Offset::Offset(o))
            .unwrap();
    }
    consumer
        .commit(&tpl, CommitMode::Sync)
        .unwrap_or_else(|e| panic!("commit {group}: {e}"));
}

/// The value of a sample line `name{...} value` or `name value` of a Prometheus text page.
fn sample(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn poll_until<T>(bound: Duration, what: &str, f: impl FnMut() -> Result<T, String>) -> T {
    bed::process::poll_until(what, bound, Duration::from_millis(300), f)
}

#[test]
fn three_brokers_answer_and_a_topic_gets_three_replicas() {
    let _g = whole_cluster();
    let k = kafka();
    assert_eq!(k.broker_ids(), vec![1, 2, 3]);
    for id in k.broker_ids() {
        let md = k
            .metadata_via(id, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("broker {id}: {e}"));
        let mut seen: Vec<i32> = md.brokers().iter().map(|b| b.id()).collect();
        seen.sort();
        assert_eq!(seen, vec![1, 2, 3], "broker {id}'s view of the cluster");
    }

    k.create_topic("bed-rf3", 3, 3);
    let md = k.metadata().unwrap();
    let t = md.topics().iter().find(|t| t.name() == "bed-rf3").unwrap();
    assert_eq!(t.partitions().len(), 3);
    for p in t.partitions() {
        let mut replicas = p.replicas().to_vec();
        replicas.sort();
        assert_eq!(replicas, vec![1, 2, 3], "partition {}", p.id());
        assert_eq!(p.isr().len(), 3, "partition {}", p.id());
    }
    // auto.create.topics.enable=false: producing to an unknown topic fails and creates nothing.
    let mut config = k.plaintext_config();
    config.set("message.timeout.ms", "3000");
    let p: FutureProducer = config.create().unwrap();
    let record = FutureRecord::<(), _>::to("bed-never-created").payload("x");
    let delivery = p.send_result(record).map_err(|(e, _)| e).unwrap();
    // librdkafka waits for the topic to appear until the message times out.
    let (err, _) = block_on(delivery)
        .unwrap()
        .expect_err("a record to a topic nobody created was delivered");
    assert_eq!(
        err.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageTimedOut),
        "{err}"
    );
    let md = k.metadata().unwrap();
    assert!(!md.topics().iter().any(|t| t.name() == "bed-never-created"));

    // The exporters serve what the repo's configs name: one active controller in all.
    let mut controllers = 0.0;
    for (id, port) in k.jmx_exporter_ports() {
        let page = http_get(port, "/metrics").unwrap_or_else(|e| panic!("broker {id}: {e}"));
        assert!(
            sample(&page, "kafka_server_replicamanager_partitioncount").unwrap_or(0.0) >= 1.0,
            "broker {id} exports its partition count"
        );
        controllers += sample(
            &page,
            "kafka_controller_kafkacontroller_activecontrollercount",
        )
        .unwrap_or_else(|| panic!("broker {id} exports ActiveControllerCount"));
    }
    assert_eq!(controllers, 1.0, "exactly one active controller");
    let zk = &bed().zookeeper;
    let page = http_get(zk.jmx_exporter_port, "/metrics").unwrap();
    assert!(sample(&page, "zookeeper_numaliveconnections").unwrap() >= 3.0);

    let mut rss = vec![(
        "zookeeper".to_string(),
        rss_kib(zk.process().pid().unwrap()).unwrap(),
    )];
    for id in k.broker_ids() {
        rss.push((format!("kafka-{id}"), rss_kib(k.pid(id).unwrap()).unwrap()));
    }
    let total: u64 = rss.iter().map(|(_, kib)| kib).sum();
    eprintln!(
        "bed_kafka: RSS {} (total {} MiB)",
        rss.iter()
            .map(|(n, kib)| format!("{n} {} MiB", kib / 1024))
            .collect::<Vec<_>>()
            .join(", "),
        total / 1024
    );
}

mod brokers;
mod groups;
mod security;
