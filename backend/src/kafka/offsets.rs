//! One consumer-lag snapshot, fetched in batches: never one request per partition.
//!
//! - End offsets: one `offsets_for_times(LATEST)` call for every selected partition; librdkafka
//!   sends one ListOffsets request per partition leader.
//! - Committed offsets: one OffsetFetch per group for all of its partitions, sent to the group's
//!   coordinator by a client whose `group.id` is that group.
//! - Groups: ListGroups + DescribeGroups (one librdkafka call) on real brokers; when that lists
//!   nothing (librdkafka's mock cluster answers ListGroups empty and rejects DescribeGroups),
//!   the groups named in the query are used and their state is unknown. The frame says which.
//!
//! librdkafka calls block: callers run [`lag_snapshot`] on tokio's blocking pool.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use regex::Regex;

use super::client::{KafkaClient, KafkaError};
use super::lag::PartitionLag;

/// Which groups a query asks about and which topics.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Groups named exactly (always included, even when Kafka does not list them).
    pub groups: Vec<String>,
    /// Groups listed by Kafka whose name matches (anchored).
    pub group_pattern: Option<Regex>,
    /// Topics whose name matches (anchored); internal `__` topics only when matched explicitly.
    pub topic_pattern: Option<Regex>,
}

/// How the groups of a snapshot were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSource {
    /// Kafka listed and described the groups (state and members known).
    ListGroups,
    /// Kafka listed no groups; only the groups named in the query were read (state unknown).
    NamedInQuery,
}

impl GroupSource {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupSource::ListGroups => "listGroups+describeGroups",
            GroupSource::NamedInQuery => "namedGroups (Kafka listed no groups)",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupInfo {
    pub name: String,
    pub state: Option<String>,
    pub members: Option<u32>,
    /// The group only commits offsets and never had members (Kafka's "simple consumer
    /// group": an empty protocol type, as Flink's Kafka source commits). `None` when unknown.
    pub offsets_only: Option<bool>,
    /// Partitions of the selected topics the group has a commit on.
    pub committed_partitions: usize,
}

/// A partition of the cluster with its log-end offset.
#[derive(Debug, Clone, PartialEq)]
pub struct EndOffset {
    pub topic: String,
    pub partition: i32,
    pub leader: i32,
    pub log_end: i64,
}

#[derive(Debug, Clone)]
pub struct LagSnapshot {
    /// Seconds since the Unix epoch when the snapshot was taken.
    pub at: f64,
    pub groups: Vec<GroupInfo>,
    /// Partitions of every (group, topic) the group has committed on; partitions of such a
    /// topic without a commit are included with `committed: None`.
    pub partitions: Vec<PartitionLag>,
    pub group_source: GroupSource,
    /// Why group listing failed, when it did (the fallback was used).
    pub listing_error: Option<String>,
    /// Partition leaders asked for end offsets (= ListOffsets requests librdkafka sends).
    pub end_offset_leaders: usize,
    /// OffsetFetch requests sent: one per group, more for a group's full scan (chunks of
    /// [`OFFSET_FETCH_CHUNK`] partitions).
    pub offset_fetches: usize,
    pub elapsed: Duration,
}

/// Committed offsets of one group by (topic, partition); partitions without a commit absent.
pub type Commits = HashMap<(String, i32), i64>;

/// Parallel OffsetFetch calls: each waits one round trip to a coordinator.
const FETCH_WORKERS: usize = 8;

/// A group is asked about every selected partition at most this often; in between, only about
/// the topics it had committed on (librdkafka's OffsetFetch needs the partitions named, and
/// asking 500 groups about 10,000 partitions each would be 5 million lookups per refresh).
/// A group that starts consuming a new topic shows it after the next full scan.
pub const FULL_SCAN_EVERY: Duration = Duration::from_secs(300);

/// Partitions per OffsetFetch in a full scan. librdkafka matches each partition of the answer
/// against the request list one by one, so a 10,000-partition request costs 10^8 comparisons
/// in the client; chunks keep that linear in practice.
pub const OFFSET_FETCH_CHUNK: usize = 1_000;

/// Remaining time before `deadline`, at least 1 ms so librdkafka never gets 0 (= no wait).
fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

fn matches(pattern: &Option<Regex>, name: &str, default: bool) -> bool {
    pattern.as_ref().map_or(default, |r| r.is_match(name))
}

/// Partitions of the selected topics, with their leaders, from one Metadata request.
pub fn selected_partitions(
    client: &KafkaClient,
    topic_pattern: &Option<Regex>,
    deadline: Instant,
) -> Result<Vec<(String, i32, i32)>, KafkaError> {
    let wait = remaining(deadline);
    let md = client
        .consumer()
        .fetch_metadata(None, wait)
        .map_err(|e| client.error_of(e, wait))?;
    let mut out = Vec::new();
    for t in md.topics() {
        let internal = t.name().starts_with("__");
        if !matches(topic_pattern, t.name(), !internal) || t.error().is_some() {
            continue;
        }
        for p in t.partitions() {
            out.push((t.name().to_string(), p.id(), p.leader()));
        }
    }
    Ok(out)
}

/// Log-end offsets of the partitions: one librdkafka call, one ListOffsets per leader.
pub fn end_offsets(
    client: &KafkaClient,
    partitions: &[(String, i32, i32)],
    deadline: Instant,
) -> Result<Vec<EndOffset>, KafkaError> {
    if partitions.is_empty() {
        return Ok(Vec::new());
    }
    let mut tpl = TopicPartitionList::with_capacity(partitions.len());
    for (topic, partition, _) in partitions {
        tpl.add_partition_offset(topic, *partition, Offset::End)
            .map_err(|e| KafkaError::Config(e.to_string()))?;
    }
    let wait = remaining(deadline);
    let answer = client
        .consumer()
        .offsets_for_times(tpl, wait)
        .map_err(|e| client.error_of(e, wait))?;
    let mut ends: HashMap<(String, i32), i64> = HashMap::with_capacity(partitions.len());
    for e in answer.elements() {
        if let Offset::Offset(o) = e.offset() {
            ends.insert((e.topic().to_string(), e.partition()), o);
        }
    }
    partitions
        .iter()
        .map(|(topic, partition, leader)| {
            let log_end = ends
                .get(&(topic.clone(), *partition))
                .copied()
                .ok_or_else(|| {
                    KafkaError::Partial(format!(
                        "no end offset for {topic}[{partition}] (leader {leader} unavailable?)"
                    ))
                })?;
            Ok(EndOffset {
                topic: topic.clone(),
                partition: *partition,
                leader: *leader,
                log_end,
            })
        })
        .collect()
}

/// Committed offsets of one group for the given partitions: one OffsetFetch.
pub fn committed_offsets<'a>(
    client: &KafkaClient,
    group: &str,
    partitions: impl IntoIterator<Item = &'a EndOffset>,
    deadline: Instant,
) -> Result<Commits, KafkaError> {
    let consumer = client.group_client(group)?;
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition(&p.topic, p.partition);
    }
    let wait = remaining(deadline);
    let answer = consumer
        .committed_offsets(tpl, wait)
        .map_err(|e| client.error_of(e, wait))?;
    Ok(answer
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => Some(((e.topic().to_string(), e.partition()), o)),
            _ => None,
        })
        .collect())
}

/// Groups Kafka lists (with state and members), or why it could not list them.
fn listed_groups(client: &KafkaClient, deadline: Instant) -> Result<Vec<GroupInfo>, String> {
    // Discovery must not eat the whole budget: the offsets still have to be fetched.
    let budget = remaining(deadline).mul_f64(0.3);
    let list = client
        .consumer()
        .fetch_group_list(None, budget)
        .map_err(|e| e.to_string())?;
    Ok(list
        .groups()
        .iter()
        .map(|g| GroupInfo {
            name: g.name().to_string(),
            state: Some(g.state().to_string()).filter(|s| !s.is_empty()),
            members: Some(g.members().len() as u32),
            offsets_only: Some(g.protocol_type().is_empty()),
            committed_partitions: 0,
        })
        .collect())
}

/// The listed groups the selection asks for (named, or matching the pattern), with what Kafka
/// said about them, and the named groups Kafka did not list (state unknown, not Dead).
fn select_groups(listed: Vec<GroupInfo>, sel: &Selection) -> Vec<GroupInfo> {
    let mut by_name: BTreeMap<String, GroupInfo> = listed
        .into_iter()
        .filter(|g| {
            sel.groups.contains(&g.name)
                || sel
                    .group_pattern
                    .as_ref()
                    .is_some_and(|r| r.is_match(&g.name))
        })
        .map(|g| (g.name.clone(), g))
        .collect();
    for name in &sel.groups {
        by_name.entry(name.clone()).or_insert_with(|| GroupInfo {
            name: name.clone(),
            state: None,
            members: None,
            offsets_only: None,
            committed_partitions: 0,
        });
    }
    by_name.into_values().collect()
}

/// The groups of the selection and how they were found.
fn resolve_groups(
    client: &KafkaClient,
    sel: &Selection,
    deadline: Instant,
) -> (Vec<GroupInfo>, GroupSource, Option<String>) {
    let (listed, listing_error) = match listed_groups(client, deadline) {
        Ok(l) => (l, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let source = if listed.is_empty() {
        GroupSource::NamedInQuery
    } else {
        GroupSource::ListGroups
    };
    (select_groups(listed, sel), source, listing_error)
}

/// One full snapshot: metadata, end offsets, then committed offsets of every group.
pub fn lag_snapshot(
    client: &KafkaClient,
    sel: &Selection,
    timeout: Duration,
) -> Result<LagSnapshot, KafkaError> {
    let started = Instant::now();
    let deadline = started + timeout;
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let partitions = selected_partitions(client, &sel.topic_pattern, deadline)?;
    let (mut groups, group_source, listing_error) = resolve_groups(client, sel, deadline);
    let ends = end_offsets(client, &partitions, deadline)?;
    let leaders: BTreeSet<i32> = ends.iter().map(|e| e.leader).collect();

    let committed = fetch_all_committed(client, &groups, &ends, deadline)?;
    let offset_fetches = committed.iter().map(|(_, n)| n).sum();
    let mut rows = Vec::new();
    for (group, (commits, _)) in groups.iter_mut().zip(committed) {
        group.committed_partitions = commits.len();
        let consumed: BTreeSet<&str> = commits.keys().map(|(t, _)| t.as_str()).collect();
        for e in ends.iter().filter(|e| consumed.contains(e.topic.as_str())) {
            let c = commits.get(&(e.topic.clone(), e.partition)).copied();
            rows.push(PartitionLag::new(
                &group.name,
                &e.topic,
                e.partition,
                e.log_end,
                c,
            ));
        }
    }
    Ok(LagSnapshot {
        at,
        offset_fetches,
        groups,
        partitions: rows,
        group_source,
        listing_error,
        end_offset_leaders: leaders.len(),
        elapsed: started.elapsed(),
    })
}

/// One group's committed offsets: on the topics it is known to consume, or on every selected
/// partition when it was not scanned recently.
/// Returns the offsets and the number of OffsetFetch requests sent.
fn committed_for_group(
    client: &KafkaClient,
    group: &str,
    ends: &[EndOffset],
    deadline: Instant,
) -> Result<(Commits, usize), KafkaError> {
    if let Some(topics) = client.consumed_topics(group, FULL_SCAN_EVERY) {
        let known: BTreeSet<&str> = topics.iter().map(String::as_str).collect();
        let parts = ends.iter().filter(|e| known.contains(e.topic.as_str()));
        return Ok((committed_offsets(client, group, parts, deadline)?, 1));
    }
    let mut commits = HashMap::new();
    let mut requests = 0;
    for chunk in ends.chunks(OFFSET_FETCH_CHUNK) {
        commits.extend(committed_offsets(client, group, chunk, deadline)?);
        requests += 1;
    }
    let topics: BTreeSet<String> = commits.keys().map(|(t, _)| t.clone()).collect();
    client.remember_consumed_topics(group, topics.into_iter().collect());
    Ok((commits, requests))
}

/// Committed offsets of every group, a few groups at a time; the first failure wins.
fn fetch_all_committed(
    client: &KafkaClient,
    groups: &[GroupInfo],
    ends: &[EndOffset],
    deadline: Instant,
) -> Result<Vec<(Commits, usize)>, KafkaError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<_, KafkaError>>>> =
        Mutex::new((0..groups.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..FETCH_WORKERS.min(groups.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(group) = groups.get(i) else { break };
                let r = committed_for_group(client, &group.name, ends, deadline);
                let failed = r.is_err();
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                if failed {
                    // Skip the rest: one failure fails the snapshot anyway.
                    next.store(groups.len(), Ordering::Relaxed);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut out = Vec::with_capacity(groups.len());
    for (group, r) in groups.iter().zip(results) {
        match r {
            Some(Ok(c)) => out.push(c),
            Some(Err(e)) => {
                return Err(KafkaError::Partial(format!(
                    "committed offsets of group {}: {e}",
                    group.name
                )))
            }
            None => {
                return Err(KafkaError::Partial(format!(
                    "committed offsets of group {} were not fetched",
                    group.name
                )))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, state: &str, members: u32, offsets_only: bool) -> GroupInfo {
        GroupInfo {
            name: name.into(),
            state: Some(state.into()),
            members: Some(members),
            offsets_only: Some(offsets_only),
            committed_partitions: 0,
        }
    }

    #[test]
    fn a_named_group_kafka_lists_keeps_its_state_and_an_unlisted_one_is_unknown() {
        let kafka = vec![
            listed("billing", "Stable", 2, false),
            listed("flink-enrich", "Empty", 0, true),
            listed("other", "Empty", 0, false),
        ];
        let sel = Selection {
            groups: vec!["billing".into(), "gone".into()],
            group_pattern: Some(Regex::new("^(?:flink-.*)$").unwrap()),
            topic_pattern: None,
        };
        let got = select_groups(kafka.clone(), &sel);
        let names: Vec<&str> = got.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["billing", "flink-enrich", "gone"]);
        assert_eq!(
            got[0], kafka[0],
            "named and listed: Kafka's state and members"
        );
        assert_eq!(got[1], kafka[1], "matched by the pattern");
        assert_eq!(
            (got[2].state.as_ref(), got[2].members, got[2].offsets_only),
            (None, None, None),
            "named but not listed: unknown"
        );
    }
}
