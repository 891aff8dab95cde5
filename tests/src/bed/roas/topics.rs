//! The pipeline's Kafka topics: created for the job, and their committed and log-end offsets
//! as a plain client reads them.

use super::*;

/// Creates the three topics (`partitions` each, replication `rf`); existing ones are kept.
pub fn create_topics(bootstrap: &str, partitions: i32, rf: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("a Kafka admin client");
    let topics: Vec<NewTopic> = TOPICS
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(rf)))
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = block_on(admin.create_topics(&topics, &opts)).expect("CreateTopics answered");
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => panic!("create topic {t}: {e}"),
        }
    }
}

/// Committed offsets of `group` on the ROAS topics, per (topic, partition); `None` where the
/// group has no commit.
pub fn committed_offsets(bootstrap: &str, group: &str) -> BTreeMap<(String, i32), Option<i64>> {
    let consumer = offsets_client(bootstrap, group);
    let tpl = partitions(&consumer);
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(15))
        .expect("OffsetFetch answered");
    committed
        .elements()
        .iter()
        .map(|e| {
            let at = match e.offset() {
                Offset::Offset(n) => Some(n),
                _ => None,
            };
            ((e.topic().to_string(), e.partition()), at)
        })
        .collect()
}

/// Log-end offsets of the ROAS topics, per (topic, partition).
pub fn end_offsets(bootstrap: &str) -> BTreeMap<(String, i32), i64> {
    let consumer = offsets_client(bootstrap, GROUP);
    let tpl = partitions(&consumer);
    tpl.elements()
        .iter()
        .map(|e| {
            let (_, high) = consumer
                .fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(15))
                .expect("ListOffsets answered");
            ((e.topic().to_string(), e.partition()), high)
        })
        .collect()
}

pub(super) fn offsets_client(bootstrap: &str, group: &str) -> BaseConsumer {
    // Never subscribes: it asks the group's coordinator without joining the group.
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("a Kafka client")
}

pub(super) fn partitions(consumer: &BaseConsumer) -> TopicPartitionList {
    let md = consumer
        .fetch_metadata(None, Duration::from_secs(15))
        .expect("Metadata answered");
    let mut tpl = TopicPartitionList::new();
    for t in md.topics().iter().filter(|t| TOPICS.contains(&t.name())) {
        for p in t.partitions() {
            tpl.add_partition(t.name(), p.id());
        }
    }
    assert!(
        tpl.count() > 0,
        "none of the ROAS topics {TOPICS:?} exists on {}",
        md.orig_broker_name()
    );
    tpl
}
