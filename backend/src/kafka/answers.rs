//! What the admin answers mean together: the groups a query selected, what
//! DescribeConsumerGroups said of them, and one lag row per partition each group consumes.
//!
//! Pure: [`super::offsets::lag_snapshot`] asks Kafka and hands the answers here, so every
//! combination of answers (a group denied, a partition without an end offset, a topic that
//! vanished) is tested, and fuzzed (`fuzz/fuzz_targets/kafka_answers.rs`), without a broker.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::admin::{self, AdminError, CommittedOffset};
use super::lag::PartitionLag;
use super::offsets::{GroupInfo, SelectedPartition, Selection};

/// Each group's committed offsets, in the order of the groups, or why they are unknown.
pub type GroupOffsets = Vec<Result<Vec<CommittedOffset>, AdminError>>;

/// Log-end offset of each asked partition, or why it is unknown.
pub type EndOffsets = HashMap<(String, i32), Result<i64, String>>;

/// The listed groups the selection asks for (named, or matching the pattern), with what Kafka
/// said about them, and the named groups Kafka did not list (state unknown, not Dead).
pub fn select_groups(listed: Vec<admin::ListedGroup>, sel: &Selection) -> Vec<GroupInfo> {
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
pub fn apply_descriptions(
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

/// One row per partition of every topic a group committed on (partitions of such a topic
/// without a commit too, `committed: None`); a group whose offsets are unknown gets its reason
/// and no rows.
pub fn lag_rows(
    groups: &mut [GroupInfo],
    offsets: GroupOffsets,
    partitions: &[SelectedPartition],
    ends: &EndOffsets,
) -> Vec<PartitionLag> {
    // The selected partitions by topic, so that each group visits only its own topics.
    let mut by_topic: BTreeMap<&str, Vec<&SelectedPartition>> = BTreeMap::new();
    for p in partitions {
        by_topic.entry(p.topic.as_str()).or_default().push(p);
    }
    // One shared name per topic and per group for all of the snapshot's rows.
    let topic_names: HashMap<&str, Arc<str>> =
        by_topic.keys().map(|t| (*t, Arc::from(*t))).collect();
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
        let group_name: Arc<str> = Arc::from(group.name.as_str());
        for p in consumed_partitions {
            let topic = Arc::clone(&topic_names[p.topic.as_str()]);
            let name = Arc::clone(&group_name);
            let committed = commits.get(&(p.topic.as_str(), p.partition)).copied();
            group.committed_partitions += usize::from(committed.is_some());
            let end = ends.get(&(p.topic.clone(), p.partition));
            rows.push(match end {
                Some(Ok(log_end)) => {
                    PartitionLag::new(name, topic, p.partition, *log_end, committed)
                }
                Some(Err(reason)) => {
                    PartitionLag::unknown_end(name, topic, p.partition, committed, reason)
                }
                None => PartitionLag::unknown_end(
                    name,
                    topic,
                    p.partition,
                    committed,
                    "end offset not in Kafka's answer",
                ),
            });
        }
    }
    rows
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
    use regex::Regex;

    /// What a group behind an ACL answers.
    fn denied() -> AdminError {
        AdminError {
            code: rdkafka::types::RDKafkaErrorCode::GroupAuthorizationFailed,
            message: "Group authorization failed".into(),
        }
    }

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
        let denied = denied();
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

    #[test]
    fn a_denied_group_has_its_reason_and_no_rows_and_the_rest_is_whole() {
        let mut groups = select_groups(
            vec![listed("a", "Stable", false), listed("b", "Stable", false)],
            &Selection {
                groups: vec!["a".into(), "b".into()],
                ..Default::default()
            },
        );
        let part = |p| SelectedPartition {
            topic: "orders".into(),
            partition: p,
            leader: 1,
        };
        let commit = CommittedOffset {
            topic: "orders".into(),
            partition: 0,
            offset: 40,
        };
        let denied = denied();
        let ends: EndOffsets = [
            (("orders".into(), 0), Ok(100)),
            (("orders".into(), 1), Err("no leader".into())),
        ]
        .into();
        let rows = lag_rows(
            &mut groups,
            vec![Ok(vec![commit]), Err(denied)],
            &[part(0), part(1)],
            &ends,
        );
        assert_eq!(
            rows.len(),
            2,
            "both partitions of the topic group a consumes"
        );
        assert_eq!((rows[0].committed, rows[0].lag), (Some(40), Some(60)));
        assert_eq!(rows[1].committed, None, "no commit on partition 1");
        assert_eq!(rows[1].problem.as_deref(), Some("no leader"));
        assert_eq!(groups[0].committed_partitions, 1);
        assert!(groups[1]
            .error
            .as_deref()
            .unwrap()
            .contains("grant the datasource's user"));
    }
}
