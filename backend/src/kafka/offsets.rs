//! One consumer-lag snapshot through the datasource's one client, in a number of requests that
//! does not depend on the partition count:
//!
//! - Metadata: one request (the partitions and their leaders).
//! - ListConsumerGroups: one per broker; DescribeConsumerGroups: one per coordinator.
//! - ListOffsets (latest): one per partition leader.
//! - ListConsumerGroupOffsets: one per group, for every partition it committed on, up to
//!   [`IN_FLIGHT`] at once.
//!
//! A failure confined to one group (an ACL, a coordinator still loading) or one partition (no
//! leader, a topic deleted mid-query) becomes that row's reason and the rest is complete; the
//! snapshot fails as a whole only when the cluster's metadata cannot be read.
//!
//! librdkafka calls block: callers run [`lag_snapshot`] on tokio's blocking pool.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use regex::Regex;

use super::admin::{self, AdminError};
use super::answers::{self, EndOffsets};
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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupInfo {
    pub name: String,
    pub state: Option<String>,
    /// The group protocol: "Classic", or "Consumer" for KIP-848 groups.
    pub kind: Option<String>,
    pub members: Option<u32>,
    /// The group only commits offsets and never had members (Kafka's "simple consumer
    /// group": an empty protocol type, as Flink's Kafka source commits). `None` when unknown.
    pub offsets_only: Option<bool>,
    /// Partitions of the selected topics the group has a commit on.
    pub committed_partitions: usize,
    /// Which member (client id) holds each assigned partition.
    pub assignment: BTreeMap<(String, i32), String>,
    /// Why the group's committed offsets could not be read; its rows are missing.
    pub error: Option<String>,
    /// Why the group could not be described (its state and members are unknown).
    pub describe_error: Option<String>,
}

/// Requests one snapshot sent, by API (FindCoordinator aside: librdkafka caches coordinators).
/// None of them depends on the number of partitions.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Requests {
    /// ListGroups requests: one per broker.
    pub list_groups: usize,
    /// DescribeGroups requests: librdkafka sends one per group, to its coordinator.
    pub describe_groups: usize,
    /// ListOffsets requests: one per leader of the selected partitions.
    pub list_offsets: usize,
    /// OffsetFetch requests: one per group.
    pub offset_fetch: usize,
}

#[derive(Debug, Clone)]
pub struct LagSnapshot {
    /// Seconds since the Unix epoch when the snapshot was taken.
    pub at: f64,
    pub groups: Vec<GroupInfo>,
    /// Partitions of every (group, topic) the group has committed on; partitions of such a
    /// topic without a commit are included with `committed: None`, and a partition whose end
    /// offset is unknown carries the reason in `problem`.
    pub partitions: Vec<PartitionLag>,
    pub group_source: GroupSource,
    /// Why group listing failed (in part or whole), when it did.
    pub listing_error: Option<String>,
    pub requests: Requests,
    pub elapsed: Duration,
}

/// Group offset requests kept in flight at once on the one client: enough to hide the round
/// trips of hundreds of groups, few enough not to flood a coordinator.
pub const IN_FLIGHT: usize = 64;

/// The share of the budget group discovery may take: offsets still have to be fetched.
const DISCOVERY_SHARE: f64 = 0.4;

fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

fn matches(pattern: &Option<Regex>, name: &str, default: bool) -> bool {
    pattern.as_ref().map_or(default, |r| r.is_match(name))
}

/// A partition of the selected topics and its leader (-1: none).
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedPartition {
    pub topic: String,
    pub partition: i32,
    pub leader: i32,
}

/// Partitions of the selected topics, with their leaders, and the number of brokers, from one
/// Metadata request.
pub fn selected_partitions(
    client: &KafkaClient,
    topic_pattern: &Option<Regex>,
    deadline: Instant,
) -> Result<(Vec<SelectedPartition>, usize), KafkaError> {
    use rdkafka::consumer::Consumer;
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
            out.push(SelectedPartition {
                topic: t.name().to_string(),
                partition: p.id(),
                leader: p.leader(),
            });
        }
    }
    Ok((out, md.brokers().len()))
}

/// Log-end offsets of the partitions, or why each is unknown. Partitions without a leader are
/// not asked (librdkafka would wait for a leader until the timeout).
pub fn end_offsets(
    client: &KafkaClient,
    partitions: &[SelectedPartition],
    deadline: Instant,
) -> EndOffsets {
    let mut out = HashMap::with_capacity(partitions.len());
    let mut ask = Vec::with_capacity(partitions.len());
    for p in partitions {
        let key = (p.topic.clone(), p.partition);
        if p.leader < 0 {
            out.insert(key, Err("no leader: the partition is offline".to_string()));
        } else {
            ask.push(key);
        }
    }
    match admin::end_offsets(client.consumer(), &ask, remaining(deadline)) {
        Ok(answers) => {
            for (key, r) in answers {
                out.insert(key, r.map_err(|e| partition_reason(&e)));
            }
        }
        Err(e) => {
            let reason = format!("end offset unknown: {e}");
            for key in ask {
                out.insert(key, Err(reason.clone()));
            }
        }
    }
    out
}

fn partition_reason(e: &AdminError) -> String {
    use rdkafka::types::RDKafkaErrorCode as C;
    match e.code {
        C::UnknownTopicOrPartition | C::UnknownTopic | C::UnknownPartition => {
            "the topic or partition no longer exists (deleted during the query?)".into()
        }
        C::LeaderNotAvailable | C::NotLeaderForPartition => {
            format!("no leader answered for the end offset ({e})")
        }
        _ => format!("end offset unknown: {e}"),
    }
}

/// One full snapshot: metadata and groups, then end offsets, descriptions and committed offsets
/// concurrently.
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
    let consumer = client.consumer();
    let discovery = timeout.mul_f64(DISCOVERY_SHARE);
    let (partitions, listing) = std::thread::scope(|s| {
        let listing = s.spawn(|| admin::list_groups(consumer, discovery));
        let partitions = selected_partitions(client, &sel.topic_pattern, deadline);
        (partitions, listing.join())
    });
    let (partitions, brokers) = partitions?;
    let (listed, listing_error) = match listing {
        Ok(Ok(l)) => {
            let error = (!l.errors.is_empty()).then(|| l.errors.join("; "));
            (l.groups, error)
        }
        Ok(Err(e)) => (Vec::new(), Some(e.to_string())),
        Err(_) => (Vec::new(), Some("internal: group listing panicked".into())),
    };
    let group_source = if listed.is_empty() {
        GroupSource::NamedInQuery
    } else {
        GroupSource::ListGroups
    };
    let mut groups = answers::select_groups(listed, sel);
    let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();

    let (ends, described, offsets) = std::thread::scope(|s| {
        let described = s.spawn(|| {
            // Describing is only worth it where Kafka listed the groups (the mock does not).
            (group_source == GroupSource::ListGroups)
                .then(|| admin::describe_groups(consumer, &names, remaining(deadline)))
        });
        let offsets =
            s.spawn(|| admin::group_offsets(consumer, &names, remaining(deadline), IN_FLIGHT));
        let ends = end_offsets(client, &partitions, deadline);
        (ends, described.join(), offsets.join())
    });
    let mut describe_groups = 0;
    if let Ok(Some(d)) = described {
        describe_groups = names.len();
        answers::apply_descriptions(&mut groups, d);
    }
    let offsets = offsets.unwrap_or_default();
    let leaders: BTreeSet<i32> = partitions
        .iter()
        .map(|p| p.leader)
        .filter(|l| *l >= 0)
        .collect();

    let rows = answers::lag_rows(&mut groups, offsets, &partitions, &ends);
    Ok(LagSnapshot {
        at,
        requests: Requests {
            list_groups: brokers,
            describe_groups,
            list_offsets: leaders.len(),
            offset_fetch: names.len(),
        },
        groups,
        partitions: rows,
        group_source,
        listing_error,
        elapsed: started.elapsed(),
    })
}
