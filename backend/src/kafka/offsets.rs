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
) -> HashMap<(String, i32), Result<i64, String>> {
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

/// The listed groups the selection asks for (named, or matching the pattern), with what Kafka
/// said about them, and the named groups Kafka did not list (state unknown, not Dead).
fn select_groups(listed: Vec<admin::ListedGroup>, sel: &Selection) -> Vec<GroupInfo> {
    let mut by_name: BTreeMap<String, GroupInfo> = listed
        .into_iter()
        .filter(|g| {
            sel.groups.contains(&g.name)
                || sel
                    .group_pattern
                    .as_ref()
                    .is_some_and(|r| r.is_match(&g.name))
        })
        .map(|g| {
            let info = GroupInfo {
                name: g.name.clone(),
                state: Some(g.state).filter(|s| !s.is_empty()),
                kind: Some(g.kind).filter(|k| !k.is_empty()),
                offsets_only: Some(g.simple),
                ..Default::default()
            };
            (g.name, info)
        })
        .collect();
    for name in &sel.groups {
        by_name.entry(name.clone()).or_insert_with(|| GroupInfo {
            name: name.clone(),
            ..Default::default()
        });
    }
    by_name.into_values().collect()
}

/// Fill in state, members and assignment from DescribeConsumerGroups.
fn apply_descriptions(
    groups: &mut [GroupInfo],
    described: Result<admin::Descriptions, AdminError>,
) {
    let described = match described {
        Ok(d) => d,
        Err(e) => {
            for g in groups.iter_mut() {
                g.describe_error = Some(e.to_string());
            }
            return;
        }
    };
    let by_name: HashMap<_, _> = described.into_iter().collect();
    for g in groups.iter_mut() {
        match by_name.get(&g.name) {
            Some(Ok(d)) => {
                g.state = Some(d.state.clone());
                g.kind = Some(d.kind.clone());
                g.members = Some(d.members.len() as u32);
                g.offsets_only = Some(d.simple);
                g.assignment = d
                    .members
                    .iter()
                    .flat_map(|m| {
                        m.assignment
                            .iter()
                            .map(move |tp| (tp.clone(), m.client_id.clone()))
                    })
                    .collect();
            }
            Some(Err(e)) => g.describe_error = Some(e.to_string()),
            None => g.describe_error = Some("not in Kafka's answer".into()),
        }
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
    let mut groups = select_groups(listed, sel);
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
        apply_descriptions(&mut groups, d);
    }
    let offsets = offsets.unwrap_or_default();
    let leaders: BTreeSet<i32> = partitions
        .iter()
        .map(|p| p.leader)
        .filter(|l| *l >= 0)
        .collect();

    // The selected partitions by topic, so that each group visits only its own topics.
    let mut by_topic: BTreeMap<&str, Vec<&SelectedPartition>> = BTreeMap::new();
    for p in &partitions {
        by_topic.entry(p.topic.as_str()).or_default().push(p);
    }
    let mut rows = Vec::new();
    for (i, group) in groups.iter_mut().enumerate() {
        let commits = match offsets.get(i) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                group.error = Some(group_reason(e));
                continue;
            }
            None => {
                group.error = Some("committed offsets were not fetched".into());
                continue;
            }
        };
        let commits: HashMap<(&str, i32), i64> = commits
            .iter()
            .map(|c| ((c.topic.as_str(), c.partition), c.offset))
            .collect();
        let consumed: BTreeSet<&str> = commits.keys().map(|(t, _)| *t).collect();
        let consumed_partitions = consumed.iter().filter_map(|t| by_topic.get(t)).flatten();
        for p in consumed_partitions {
            let committed = commits.get(&(p.topic.as_str(), p.partition)).copied();
            group.committed_partitions += usize::from(committed.is_some());
            let end = ends.get(&(p.topic.clone(), p.partition));
            rows.push(match end {
                Some(Ok(log_end)) => {
                    PartitionLag::new(&group.name, &p.topic, p.partition, *log_end, committed)
                }
                Some(Err(reason)) => {
                    PartitionLag::unknown_end(&group.name, &p.topic, p.partition, committed, reason)
                }
                None => PartitionLag::unknown_end(
                    &group.name,
                    &p.topic,
                    p.partition,
                    committed,
                    "end offset not in Kafka's answer",
                ),
            });
        }
    }
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

/// What a user should know about a group whose offsets could not be read.
fn group_reason(e: &AdminError) -> String {
    use rdkafka::types::RDKafkaErrorCode as C;
    match e.code {
        C::GroupAuthorizationFailed => format!(
            "not allowed to read this group's offsets: grant the datasource's user Describe on the group ({e})"
        ),
        C::CoordinatorLoadInProgress | C::CoordinatorNotAvailable | C::NotCoordinator => {
            format!("the group's coordinator is not ready (moving or loading); retry shortly ({e})")
        }
        _ if e.is_timeout() => format!("no answer for the group's offsets in time ({e})"),
        _ => format!("committed offsets unknown: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, state: &str, simple: bool) -> admin::ListedGroup {
        admin::ListedGroup {
            name: name.into(),
            state: state.into(),
            kind: "Classic".into(),
            simple,
        }
    }

    #[test]
    fn a_named_group_kafka_lists_keeps_its_state_and_an_unlisted_one_is_unknown() {
        let kafka = vec![
            listed("billing", "Stable", false),
            listed("flink-enrich", "Empty", true),
            listed("other", "Empty", false),
        ];
        let sel = Selection {
            groups: vec!["billing".into(), "gone".into()],
            group_pattern: Some(Regex::new("^(?:flink-.*)$").unwrap()),
            topic_pattern: None,
        };
        let got = select_groups(kafka, &sel);
        let names: Vec<&str> = got.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["billing", "flink-enrich", "gone"]);
        assert_eq!(
            got[0].state.as_deref(),
            Some("Stable"),
            "named and listed: Kafka's state"
        );
        assert_eq!(got[1].offsets_only, Some(true), "matched by the pattern");
        assert_eq!(
            (got[2].state.as_ref(), got[2].members, got[2].offsets_only),
            (None, None, None),
            "named but not listed: unknown"
        );
    }

    #[test]
    fn a_group_that_cannot_be_described_keeps_its_listing_and_says_why() {
        let mut groups = select_groups(
            vec![listed("a", "Stable", false), listed("b", "Empty", false)],
            &Selection {
                groups: vec!["a".into(), "b".into()],
                ..Default::default()
            },
        );
        let member = admin::Member {
            client_id: "c-1".into(),
            consumer_id: "c-1-uuid".into(),
            host: "/10.0.0.1".into(),
            assignment: vec![("orders".into(), 0), ("orders".into(), 1)],
        };
        let a = admin::GroupDescription {
            name: "a".into(),
            state: "Stable".into(),
            kind: "Classic".into(),
            simple: false,
            assignor: "range".into(),
            coordinator: Some(1),
            members: vec![member],
        };
        let denied = AdminError {
            code: rdkafka::types::RDKafkaErrorCode::GroupAuthorizationFailed,
            message: "Group authorization failed".into(),
        };
        apply_descriptions(
            &mut groups,
            Ok(vec![("a".into(), Ok(a)), ("b".into(), Err(denied))]),
        );
        assert_eq!(groups[0].members, Some(1));
        assert_eq!(groups[0].assignment[&("orders".into(), 1)], "c-1");
        assert_eq!(
            groups[1].state.as_deref(),
            Some("Empty"),
            "the listing's state stays"
        );
        assert!(groups[1]
            .describe_error
            .as_deref()
            .unwrap()
            .contains("authorization"));
    }
}
