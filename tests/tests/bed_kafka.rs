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
        let k = kafka();
        let id = self.0;
        let restore = || {
            k.resume_broker(id);
            if k.pid(id).is_none() {
                k.start_broker(id);
            }
            k.wait_fully_replicated(Duration::from_secs(90));
        };
        if std::thread::panicking() {
            // A second panic while unwinding would abort the whole binary.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(restore)).is_err() {
                eprintln!("bed_kafka: broker {id} could not be restored");
            }
        } else {
            restore();
        }
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

fn poll_until<T>(bound: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + bound;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => {
                panic!("{what}: not within {} s ({e})", bound.as_secs())
            }
            Err(_) => std::thread::sleep(Duration::from_millis(300)),
        }
    }
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

#[test]
fn plaintext_and_sasl_ssl_carry_records_both_ways() {
    let _g = whole_cluster();
    let k = kafka();
    k.create_topic("bed-listeners", 3, 3);
    let (admin, password) = k.admin_user();
    let sasl = k.sasl_ssl_config(admin, password);
    let plain = k.plaintext_config();

    produce(&producer(&plain), "bed-listeners", 0, 5, "plain");
    let got = consume(&sasl, "bed-listeners", 0, 5);
    assert_eq!(
        got,
        (0..5).map(|i| format!("plain-0-{i}")).collect::<Vec<_>>()
    );

    produce(&producer(&sasl), "bed-listeners", 1, 5, "sasl");
    let got = consume(&plain, "bed-listeners", 1, 5);
    assert_eq!(
        got,
        (0..5).map(|i| format!("sasl-1-{i}")).collect::<Vec<_>>()
    );
}

#[test]
fn a_wrong_password_or_an_unknown_ca_is_refused() {
    let _g = whole_cluster();
    let k = kafka();
    let (admin, password) = k.admin_user();
    let connect = |config: ClientConfig| {
        let errors = Errors::default();
        let c: BaseConsumer<Errors> = config.create_with_context(errors.clone()).unwrap();
        let answer = c.fetch_metadata(None, Duration::from_secs(5)).map(|_| ());
        // Error events arrive through the consumer's queue.
        for _ in 0..5 {
            c.poll(Duration::from_millis(100));
        }
        (answer, errors.seen())
    };

    // Control: the same client with the right password is let in.
    let (answer, _) = connect(k.sasl_ssl_config(admin, password));
    answer.expect("admin with its password gets metadata");

    let (answer, seen) = connect(k.sasl_ssl_config(admin, "not-the-password"));
    assert!(answer.is_err(), "a wrong password got metadata");
    assert!(
        seen.iter()
            .any(|(code, _)| *code == Some(RDKafkaErrorCode::Authentication)),
        "no authentication error among {seen:?}"
    );

    let other = Tls::create(&bed::run_dir("bed_kafka_other_ca"));
    let mut config = k.sasl_ssl_config(admin, password);
    config.set("ssl.ca.pem", other.ca_pem());
    let (answer, seen) = connect(config);
    assert!(
        answer.is_err(),
        "a CA that did not sign the brokers was accepted"
    );
    assert!(
        seen.iter()
            .any(|(code, text)| *code == Some(RDKafkaErrorCode::SSL)
                && text.contains("certificate verify failed")),
        "no certificate verification error among {seen:?}"
    );
}

#[test]
fn the_reader_reads_every_group_but_the_restricted_one() {
    let _g = whole_cluster();
    let k = kafka();
    k.create_topic("bed-acl", 1, 3);
    produce(&producer(&k.plaintext_config()), "bed-acl", 0, 10, "acl");
    commit("bed-acl-open", "bed-acl", &[(0, 4)]);
    commit(RESTRICTED_GROUP, "bed-acl", &[(0, 6)]);

    let (reader, password) = k.reader_user();
    // The backend's path: OffsetFetch from a client whose group.id is the group.
    let committed = |group: &str| {
        let errors = Errors::default();
        let c: BaseConsumer<Errors> = k
            .sasl_ssl_config(reader, password)
            .set("group.id", group)
            .create_with_context(errors.clone())
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition("bed-acl", 0);
        let answer = c
            .committed_offsets(tpl, Duration::from_secs(5))
            .map(|tpl| tpl.find_partition("bed-acl", 0).unwrap().offset());
        for _ in 0..5 {
            c.poll(Duration::from_millis(100));
        }
        (answer, errors.seen())
    };
    let (open, _) = committed("bed-acl-open");
    assert_eq!(open.unwrap(), Offset::Offset(4));
    // librdkafka keeps asking for the coordinator until the call times out; the cause
    // (FindCoordinator refused) comes as an error event.
    let (denied, seen) = committed(RESTRICTED_GROUP);
    assert!(
        denied.is_err(),
        "the reader read the restricted group: {denied:?}"
    );
    assert!(
        seen.iter()
            .any(|(code, _)| *code == Some(RDKafkaErrorCode::GroupAuthorizationFailed)),
        "no group authorization error among {seen:?}"
    );

    // Describe on the cluster lets ListGroups name every group, but DescribeGroups of the
    // restricted one is refused: librdkafka leaves its state empty. Admin sees both.
    let groups_as = |config: ClientConfig| -> HashMap<String, String> {
        let c: BaseConsumer = config.create().unwrap();
        let list = c.fetch_group_list(None, Duration::from_secs(10)).unwrap();
        list.groups()
            .iter()
            .map(|g| (g.name().to_string(), g.state().to_string()))
            .collect()
    };
    let as_reader = groups_as(k.sasl_ssl_config(reader, password));
    assert_eq!(
        as_reader.get("bed-acl-open").map(String::as_str),
        Some("Empty")
    );
    assert_eq!(
        as_reader.get(RESTRICTED_GROUP).map(String::as_str),
        Some("")
    );
    let (admin, admin_password) = k.admin_user();
    let as_admin = groups_as(k.sasl_ssl_config(admin, admin_password));
    assert_eq!(
        as_admin.get(RESTRICTED_GROUP).map(String::as_str),
        Some("Empty")
    );

    // Kafka's own tool as the reader agrees.
    let rows = k
        .describe_group_offsets_as(reader, password, "bed-acl-open")
        .expect("the reader describes an open group");
    assert_eq!(
        rows.iter()
            .map(|r| (r.partition, r.committed, r.log_end))
            .collect::<Vec<_>>(),
        vec![(0, Some(4), 10)]
    );
    let err = k
        .describe_group_offsets_as(reader, password, RESTRICTED_GROUP)
        .expect_err("the reader described the restricted group");
    assert!(err.contains("GroupAuthorizationException"), "{err}");
}

#[test]
fn group_offsets_and_state_match_what_was_produced_and_committed() {
    let _g = whole_cluster();
    let k = kafka();
    let (topic, group) = ("bed-lag", "bed-lag-group");
    k.create_topic(topic, 3, 3);
    let p = producer(&k.plaintext_config());
    for (partition, n) in [(0, 10), (1, 20), (2, 30)] {
        produce(&p, topic, partition, n, "lag");
    }

    let member: BaseConsumer = k
        .plaintext_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "10000")
        .create()
        .unwrap();
    member.subscribe(&[topic]).unwrap();
    poll_until(Duration::from_secs(30), "all 3 partitions assigned", || {
        member.poll(Duration::from_millis(200));
        let n = member.assignment().map(|a| a.count()).unwrap_or(0);
        if n == 3 {
            Ok(())
        } else {
            Err(format!("{n} assigned"))
        }
    });
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(3))
        .unwrap();
    tpl.add_partition_offset(topic, 1, Offset::Offset(15))
        .unwrap();
    member.commit(&tpl, CommitMode::Sync).unwrap();

    let rows = k.describe_group_offsets(group);
    let member_id = rows[0].consumer_id.clone().expect("an active member");
    let row = |partition, committed, log_end, lag| GroupOffsetRow {
        topic: topic.into(),
        partition,
        committed,
        log_end,
        lag,
        consumer_id: Some(member_id.clone()),
    };
    assert_eq!(
        rows,
        vec![
            row(0, Some(3), 10, Some(7)),
            row(1, Some(15), 20, Some(5)),
            row(2, None, 30, None),
        ]
    );
    let state = k.describe_group_state(group);
    assert_eq!((state.state.as_str(), state.members), ("Stable", 1));
    assert!(k.broker_ids().contains(&state.coordinator.unwrap()));

    drop(member);
    let state = poll_until(Duration::from_secs(30), "the group empties", || {
        let s = k.describe_group_state(group);
        if s.state == "Empty" {
            Ok(s)
        } else {
            Err(format!("{s:?}"))
        }
    });
    assert_eq!(state.members, 0);
    // Without members only committed partitions are listed, and none is assigned.
    let rows = k.describe_group_offsets(group);
    let lags: HashMap<i32, (Option<i64>, Option<String>)> = rows
        .into_iter()
        .map(|r| (r.partition, (r.lag, r.consumer_id)))
        .collect();
    assert_eq!(
        lags,
        HashMap::from([(0, (Some(7), None)), (1, (Some(5), None))])
    );

    let missing = k.describe_group_state("bed-no-such-group");
    assert_eq!((missing.state.as_str(), missing.members), ("Dead", 0));
}

#[test]
fn a_stopped_broker_leaves_partitions_under_replicated_until_it_is_back() {
    let _g = fault_lock();
    let k = kafka();
    k.create_topic("bed-stop", 3, 3);
    k.wait_fully_replicated(Duration::from_secs(60));
    assert_eq!(k.under_replicated_partitions(), vec![]);

    let restore = Restore(2);
    let t = Instant::now();
    k.stop_broker(2);
    assert_eq!(k.pid(2), None, "broker 2 is gone");
    let urp = poll_until(
        Duration::from_secs(30),
        "under-replicated partitions",
        || {
            let urp = k.under_replicated_partitions();
            if urp.is_empty() {
                Err("none".into())
            } else {
                Ok(urp)
            }
        },
    );
    // Every partition of an RF 3 topic had a replica on broker 2.
    for p in 0..3 {
        assert!(urp.contains(&("bed-stop".to_string(), p)), "{urp:?}");
    }
    eprintln!(
        "bed_kafka: stop_broker(2) seen in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // min.insync.replicas=2: acks=all still succeeds with two of three.
    produce(&producer(&k.plaintext_config()), "bed-stop", 0, 3, "stop");

    let t = Instant::now();
    k.start_broker(2);
    k.wait_fully_replicated(Duration::from_secs(90));
    eprintln!(
        "bed_kafka: start_broker(2) + fully replicated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(k.under_replicated_partitions(), vec![]);
    drop(restore);
}

#[test]
fn a_killed_broker_drops_out_and_comes_back_on_its_old_log_dir() {
    let _g = fault_lock();
    let k = kafka();
    k.create_topic("bed-kill", 3, 3);
    produce(&producer(&k.plaintext_config()), "bed-kill", 0, 5, "before");
    k.wait_fully_replicated(Duration::from_secs(60));

    let restore = Restore(1);
    let t = Instant::now();
    k.kill_broker(1);
    // Its ZooKeeper session must time out before the others count it out.
    poll_until(
        Duration::from_secs(30),
        "broker 1 out of broker 2's metadata",
        || {
            let md = k.metadata_via(2, Duration::from_secs(5))?;
            if md.brokers().iter().any(|b| b.id() == 1) {
                Err("still listed".into())
            } else {
                Ok(())
            }
        },
    );
    eprintln!(
        "bed_kafka: kill_broker(1) seen in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    k.start_broker(1);
    k.wait_fully_replicated(Duration::from_secs(90));
    eprintln!(
        "bed_kafka: start_broker(1) after a kill + fully replicated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // The records written before the crash are still there, read from broker 1 too.
    let got = consume(&k.plaintext_config(), "bed-kill", 0, 5);
    assert_eq!(got.len(), 5);
    drop(restore);
}

#[test]
fn a_paused_broker_answers_nothing_and_catches_up_when_resumed() {
    let _g = fault_lock();
    let k = kafka();
    k.create_topic("bed-pause", 3, 3);
    k.wait_fully_replicated(Duration::from_secs(60));

    let restore = Restore(3);
    let t = Instant::now();
    k.pause_broker(3);
    assert!(k.pid(3).is_some(), "a paused broker still runs");
    let hung = k.metadata_via(3, Duration::from_secs(3));
    assert!(hung.is_err(), "a paused broker answered Metadata");
    poll_until(Duration::from_secs(30), "broker 3 counted out", || {
        let md = k.metadata_via(1, Duration::from_secs(5))?;
        if md.brokers().iter().any(|b| b.id() == 3) {
            return Err("still listed".into());
        }
        let urp = k.under_replicated_partitions();
        if urp.contains(&("bed-pause".to_string(), 0)) {
            Ok(())
        } else {
            Err(format!("under-replicated: {urp:?}"))
        }
    });
    eprintln!(
        "bed_kafka: pause_broker(3) seen in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    k.resume_broker(3);
    poll_until(Duration::from_secs(60), "broker 3 back", || {
        let md = k.metadata_via(3, Duration::from_secs(5))?;
        let in_cluster = k.metadata_via(1, Duration::from_secs(5))?;
        if md.brokers().len() == 3 && in_cluster.brokers().iter().any(|b| b.id() == 3) {
            Ok(())
        } else {
            Err("not registered again".into())
        }
    });
    k.wait_fully_replicated(Duration::from_secs(90));
    eprintln!(
        "bed_kafka: resume_broker(3) + fully replicated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    drop(restore);
}
