//! librdkafka's mock Kafka cluster, running inside the test process: real Kafka protocol over
//! TCP on loopback, several brokers, real produced records and real committed offsets. The
//! spawned backend connects to its bootstrap servers like to any cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::bindings as sys;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

/// Requests the mock brokers received, by Kafka API name.
pub type RequestCounts = BTreeMap<&'static str, usize>;

pub struct MockKafka {
    /// The producer owns the mock cluster (created with `test.mock.num.brokers`).
    producer: BaseProducer,
    bootstrap: String,
}

impl MockKafka {
    pub fn start(brokers: u32) -> MockKafka {
        let producer: BaseProducer = ClientConfig::new()
            .set("test.mock.num.brokers", brokers.to_string())
            .set("linger.ms", "5")
            .set("batch.num.messages", "10000")
            .set("queue.buffering.max.messages", "1000000")
            .create()
            .expect("a producer with a mock cluster");
        let bootstrap = producer
            .client()
            .mock_cluster()
            .expect("mock cluster")
            .bootstrap_servers();
        MockKafka {
            producer,
            bootstrap,
        }
    }

    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    pub fn cluster(&self) -> MockCluster<'_, rdkafka::producer::DefaultProducerContext> {
        self.producer.client().mock_cluster().expect("mock cluster")
    }

    pub fn create_topic(&self, topic: &str, partitions: i32, replication: i32) {
        self.cluster()
            .create_topic(topic, partitions, replication)
            .expect("create topic");
    }

    /// Produce `n` records to one partition.
    pub fn produce(&self, topic: &str, partition: i32, n: usize) {
        for i in 0..n {
            let payload = format!("record-{i}");
            let mut record = BaseRecord::<(), _>::to(topic)
                .partition(partition)
                .payload(&payload);
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((_, r)) => {
                        self.producer.poll(Duration::from_millis(10));
                        record = r;
                    }
                }
            }
        }
    }

    pub fn flush(&self) {
        self.producer
            .flush(Duration::from_secs(60))
            .expect("all records delivered");
    }

    /// A client of `group` (never subscribed) for committing offsets.
    pub fn group_client(&self, group: &str) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer")
    }

    /// Commit offsets for `group`: (topic, partition, next offset to read).
    pub fn commit(&self, group: &str, offsets: &[(&str, i32, i64)]) {
        let consumer = self.group_client(group);
        let mut tpl = TopicPartitionList::new();
        for (t, p, o) in offsets {
            tpl.add_partition_offset(t, *p, Offset::Offset(*o)).unwrap();
        }
        consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    }

    fn raw(&self) -> *mut sys::rd_kafka_mock_cluster_t {
        // SAFETY: the producer owns the mock cluster and outlives every use of the pointer.
        unsafe { sys::rd_kafka_handle_mock_cluster(self.producer.client().native_ptr()) }
    }

    /// Start counting requests (clears what was counted before).
    pub fn track_requests(&self) {
        unsafe {
            sys::rd_kafka_mock_start_request_tracking(self.raw());
            sys::rd_kafka_mock_clear_requests(self.raw());
        }
    }

    /// Requests received since [`Self::track_requests`], by API.
    pub fn requests(&self) -> RequestCounts {
        let mut counts = RequestCounts::new();
        unsafe {
            let mut n = 0usize;
            let reqs = sys::rd_kafka_mock_get_requests(self.raw(), &mut n);
            for i in 0..n {
                let key = sys::rd_kafka_mock_request_api_key(*reqs.add(i));
                *counts.entry(api_name(key)).or_default() += 1;
            }
            if !reqs.is_null() {
                sys::rd_kafka_mock_request_destroy_array(reqs, n);
            }
        }
        counts
    }
}

fn api_name(key: i16) -> &'static str {
    match key {
        0 => "Produce",
        1 => "Fetch",
        2 => "ListOffsets",
        3 => "Metadata",
        8 => "OffsetCommit",
        9 => "OffsetFetch",
        10 => "FindCoordinator",
        15 => "DescribeGroups",
        16 => "ListGroups",
        18 => "ApiVersions",
        _ => "other",
    }
}
