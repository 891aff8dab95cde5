//! The timestamp of the record at a committed offset: the oldest record a group has not yet
//! consumed, so "now minus its timestamp" is how far behind the group is, from the first query.
//!
//! Read with the datasource's one client: it is assigned the partitions at those offsets (it
//! never joins a group or commits), polled until each has answered or the time is up, and
//! unassigned. One read at a time per client, since an assignment is the client's state; the
//! wait for that turn is part of the read's time.
//! Blocking: callers run it on tokio's blocking pool.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::client::KafkaClient;

/// Partitions read per query at most, the ones furthest behind first: each costs a fetch.
pub const MAX_READS: usize = 32;

/// Milliseconds since the Unix epoch of the record at each (topic, partition, offset), for the
/// partitions that answered in time.
pub fn timestamps(
    client: &KafkaClient,
    wanted: &[(String, i32, i64)],
    timeout: Duration,
) -> HashMap<(String, i32), i64> {
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return found;
    }
    let deadline = Instant::now() + timeout;
    let Some(_one_reader) = client.reader_lock_until(deadline) else {
        return found;
    };
    let consumer = client.consumer();
    let mut tpl = TopicPartitionList::with_capacity(wanted.len());
    for (topic, partition, offset) in wanted {
        if tpl
            .add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .is_err()
        {
            return found;
        }
    }
    if consumer.assign(&tpl).is_err() {
        return found;
    }
    while found.len() < wanted.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // Errors (a partition gone, a broker down) leave that partition without a time.
        if let Some(Ok(m)) = consumer.poll(left.min(Duration::from_millis(200))) {
            if let Some(ms) = m.timestamp().to_millis() {
                found
                    .entry((m.topic().to_string(), m.partition()))
                    .or_insert(ms);
            }
        }
    }
    let _ = consumer.unassign();
    found
}
