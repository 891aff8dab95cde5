//! The Kafka query types: `consumerLag`, `timeLag` and `clusterHealth`, and their frames.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use grafana_plugin_sdk::data::{Frame, Metadata};
use grafana_plugin_sdk::prelude::*;
use pipeline_model::rules::{self, GroupFacts};
use pipeline_model::Thresholds;
use regex::Regex;
use serde::Deserialize;
use serde_json::json;

use super::client::{KafkaClient, KafkaError};
use super::cluster;
use super::lag::{by_topic, totals};
use super::offsets::{lag_snapshot, GroupInfo, LagSnapshot, Selection};
use super::record_time;
use super::status;
use super::time_lag;
use crate::error::QueryError;
use crate::frames::describe;

/// Fields of `consumerLag` and `timeLag` queries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LagQuery {
    /// Group name or regex (whole name). A plain name is read even when Kafka lists no groups.
    pub group: Option<String>,
    /// Groups read by name, whether or not Kafka lists them.
    pub groups: Vec<String>,
    /// Topic name or regex (whole name).
    pub topic: Option<String>,
    /// `consumerLag` only: the one frame a table panel should show; absent, all three.
    pub granularity: Option<Granularity>,
}

/// The level consumer lag is summed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Partition,
    Topic,
    Group,
}

impl Granularity {
    fn frame_name(self) -> &'static str {
        match self {
            Granularity::Partition => "partitions",
            Granularity::Topic => "topics",
            Granularity::Group => "groups",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterHealthQuery {}

fn anchored(field: &str, pattern: &str) -> Result<Regex, QueryError> {
    Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| QueryError::InvalidQuery(format!("field `{field}`: not a valid regex: {e}")))
}

/// A group filter without regex syntax (dots aside, common in names) is also a group name.
fn is_plain_name(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl LagQuery {
    /// What to read. `default_groups` (the datasource's `kafkaConsumerGroups`) are used when
    /// the query names no group.
    pub fn selection(&self, default_groups: &[String]) -> Result<Selection, QueryError> {
        let non_empty = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let group = non_empty(&self.group);
        let topic = non_empty(&self.topic);
        let mut groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        if let Some(g) = group.as_deref().filter(|g| is_plain_name(g)) {
            groups.push(g.to_string());
        }
        if group.is_none() && groups.is_empty() {
            groups = default_groups.to_vec();
        }
        if group.is_none() && groups.is_empty() {
            return Err(QueryError::InvalidQuery(
                "field `group`: name a consumer group or a regex of groups (or list them in `groups`, or set kafkaConsumerGroups in the datasource)".into(),
            ));
        }
        Ok(Selection {
            groups,
            group_pattern: group.as_deref().map(|g| anchored("group", g)).transpose()?,
            topic_pattern: topic.as_deref().map(|t| anchored("topic", t)).transpose()?,
        })
    }
}

/// The member (client id) that holds the row's partition, if any.
fn owner(groups: &HashMap<&str, &GroupInfo>, r: &super::lag::PartitionLag) -> Option<String> {
    groups
        .get(r.group.as_str())?
        .assignment
        .get(&(r.topic.clone(), r.partition))
        .cloned()
}

fn upstream(e: KafkaError) -> QueryError {
    QueryError::Upstream(e.to_string())
}

/// Take a snapshot and add it to the datasource's sampling window.
pub(crate) async fn snapshot(
    client: &KafkaClient,
    q: &LagQuery,
    timeout: Duration,
) -> Result<LagSnapshot, QueryError> {
    let sel = q.selection(&client.settings().consumer_groups)?;
    // Leave a margin so librdkafka's own timeout fires first and names what failed.
    let budget = timeout.mul_f64(0.9);
    client.watched().touch(&sel);
    let snap = client
        .blocking(move |c| lag_snapshot(c, &sel, budget))
        .await
        .map_err(upstream)?;
    status::record(client, &snap);
    Ok(snap)
}

/// How the snapshot was fetched, in every frame's `meta.custom`.
fn snapshot_meta(snap: &LagSnapshot, extra: serde_json::Value) -> Metadata {
    let mut custom = json!({
        "groupSource": snap.group_source.as_str(),
        "listGroupsError": snap.listing_error,
        "listGroupsRequests": snap.requests.list_groups,
        "describeGroupsRequests": snap.requests.describe_groups,
        "endOffsetRequests": snap.requests.list_offsets,
        "offsetFetchRequests": snap.requests.offset_fetch,
        "committedScope": "every partition each group committed on (ListConsumerGroupOffsets)",
        "snapshotMs": snap.elapsed.as_secs_f64() * 1000.0,
    });
    if let (Some(c), Some(e)) = (custom.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    let mut meta = Metadata::default();
    meta.custom = custom.as_object().cloned();
    meta
}

pub async fn consumer_lag(
    client: &KafkaClient,
    q: &LagQuery,
    t: &Thresholds,
    timeout: Duration,
) -> Result<Vec<Frame>, QueryError> {
    let snap = snapshot(client, q, timeout).await?;
    let statuses = status::evaluate(client, &snap);
    // Only the frames asked for are built: at thousands of groups the partition rows are most
    // of the work and memory.
    let wanted = |g: Granularity| q.granularity.is_none_or(|w| w == g);
    let mut frames = Vec::new();
    if wanted(Granularity::Group) {
        frames.push(groups_frame(client, &snap, &statuses, t));
    }
    if wanted(Granularity::Topic) {
        frames.push(topics_frame(&snap));
    }
    if wanted(Granularity::Partition) {
        frames.push(partitions_frame(&snap, &statuses));
    }
    Ok(frames)
}

fn partitions_frame(snap: &LagSnapshot, statuses: &status::Statuses) -> Frame {
    let p = &snap.partitions;
    let by_name: HashMap<&str, &GroupInfo> =
        snap.groups.iter().map(|g| (g.name.as_str(), g)).collect();
    Frame::new(Granularity::Partition.frame_name())
        .with_fields([
            p.iter().map(|r| r.group.clone()).into_field("group"),
            p.iter().map(|r| r.topic.clone()).into_field("topic"),
            p.iter().map(|r| r.partition).into_field("partition"),
            describe(
                p.iter()
                    .map(|r| r.committed)
                    .into_opt_field("committedOffset"),
                "Committed offset",
                Some("none"),
            ),
            describe(
                p.iter().map(|r| r.log_end).into_opt_field("logEndOffset"),
                "Log-end offset",
                Some("none"),
            ),
            describe(
                p.iter().map(|r| r.lag).into_opt_field("lag"),
                "Lag",
                Some("short"),
            ),
            p.iter()
                .map(|r| r.committed.is_some())
                .into_field("hasCommit"),
            p.iter()
                .map(|r| owner(&by_name, r))
                .into_opt_field("member"),
            p.iter()
                .map(|r| r.problem.clone())
                .into_opt_field("problem"),
            statuses
                .partitions
                .iter()
                .map(|e| e.map(|e| e.status.as_str()))
                .into_opt_field("consumerStatus"),
            statuses
                .partitions
                .iter()
                .map(|e| e.map(|e| e.sentence()))
                .into_opt_field("consumerStatusReason"),
        ])
        .with_metadata(snapshot_meta(snap, json!({})))
}

fn topics_frame(snap: &LagSnapshot) -> Frame {
    let per_topic = by_topic(&snap.partitions);
    Frame::new(Granularity::Topic.frame_name())
        .with_fields([
            per_topic.keys().map(|(g, _)| g.clone()).into_field("group"),
            per_topic.keys().map(|(_, t)| t.clone()).into_field("topic"),
            describe(
                per_topic.values().map(|t| t.lag).into_opt_field("lag"),
                "Lag",
                Some("short"),
            ),
            per_topic
                .values()
                .map(|t| t.partitions as u64)
                .into_field("partitions"),
            per_topic
                .values()
                .map(|t| t.without_commit as u64)
                .into_field("partitionsWithoutCommit"),
        ])
        .with_metadata(snapshot_meta(snap, json!({})))
}

fn groups_frame(
    client: &KafkaClient,
    snap: &LagSnapshot,
    statuses: &status::Statuses,
    t: &Thresholds,
) -> Frame {
    // Each group's rows and topics, gathered in one pass (not one scan per group).
    let mut rows_of: HashMap<&str, Vec<&super::lag::PartitionLag>> = HashMap::new();
    let mut topics_of: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for r in &snap.partitions {
        rows_of.entry(r.group.as_str()).or_default().push(r);
        topics_of
            .entry(r.group.as_str())
            .or_default()
            .insert(r.topic.as_str());
    }
    let window = client.window();
    let rows: Vec<_> = snap
        .groups
        .iter()
        .map(|g| {
            let tot = totals(rows_of.get(g.name.as_str()).into_iter().flatten().copied());
            let growing = topics_of
                .get(g.name.as_str())
                .into_iter()
                .flatten()
                .filter_map(|tp| window.estimate(&g.name, tp))
                .filter_map(|e| Some(e.produce_rate? > e.consume_rate?))
                .reduce(|a, b| a || b);
            let facts = GroupFacts {
                lag: tot.lag.map(|l| l as f64),
                time_lag_seconds: None,
                lag_growing: growing,
                state: g.state.clone(),
                members: g.members,
                offsets_only: g.offsets_only,
                partitions_without_commit: tot.without_commit as u64,
                consumer_status: statuses.groups.get(&g.name).cloned(),
                read_error: g.error.clone(),
            };
            let verdict = if g.committed_partitions == 0 && g.error.is_none() {
                rules::Verdict::unknown(format!(
                    "group {} has no committed offset on the selected topics",
                    g.name
                ))
            } else {
                rules::consumer_group(&facts, t)
            };
            (g, tot, verdict)
        })
        .collect();
    drop(window);
    Frame::new(Granularity::Group.frame_name())
        .with_fields([
            rows.iter()
                .map(|(g, _, _)| g.name.clone())
                .into_field("group"),
            rows.iter()
                .map(|(g, _, _)| g.state.clone())
                .into_opt_field("state"),
            rows.iter()
                .map(|(g, _, _)| g.kind.clone())
                .into_opt_field("protocol"),
            rows.iter()
                .map(|(g, _, _)| g.members)
                .into_opt_field("members"),
            describe(
                rows.iter().map(|(_, t, _)| t.lag).into_opt_field("lag"),
                "Lag",
                Some("short"),
            ),
            rows.iter()
                .map(|(_, t, _)| t.partitions as u64)
                .into_field("partitions"),
            rows.iter()
                .map(|(_, t, _)| t.without_commit as u64)
                .into_field("partitionsWithoutCommit"),
            rows.iter()
                .map(|(g, _, _)| statuses.groups.get(&g.name).map(|s| s.status.as_str()))
                .into_opt_field("consumerStatus"),
            rows.iter()
                .map(|(_, _, v)| v.health.as_str())
                .into_field("status"),
            describe(
                rows.iter()
                    .map(|(_, _, v)| v.health.code())
                    .into_field("code"),
                "Status code",
                None,
            ),
            rows.iter()
                .map(|(_, _, v)| v.reason.clone())
                .into_field("reason"),
        ])
        .with_metadata(snapshot_meta(snap, json!({})))
}

pub async fn time_lag(
    client: &KafkaClient,
    q: &LagQuery,
    timeout: Duration,
) -> Result<Vec<Frame>, QueryError> {
    let started = std::time::Instant::now();
    let snap = snapshot(client, q, timeout).await?;
    let (mut behind, unresolved) =
        time_lag::by_interpolation(&snap.partitions, snap.at, &client.history());
    // Partitions further behind than their samples reach: the record at the committed offset
    // says when it was written. Bounded in number and in time (what is left of the budget).
    let reads: Vec<(String, i32, i64)> = unresolved
        .iter()
        .take(record_time::MAX_READS)
        .filter_map(|p| Some((p.topic.clone(), p.partition, p.committed?)))
        .collect();
    let budget = timeout
        .mul_f64(0.9)
        .saturating_sub(started.elapsed())
        .min(Duration::from_secs(5));
    let times = if reads.is_empty() || budget.is_zero() {
        HashMap::new()
    } else {
        let wanted = reads.clone();
        client
            .blocking(move |c| Ok(record_time::timestamps(c, &wanted, budget)))
            .await
            .unwrap_or_default()
    };
    let now_ms = snap.at * 1000.0;
    for p in unresolved {
        if let Some(ms) = times.get(&(p.topic.clone(), p.partition)) {
            let seconds = ((now_ms - *ms as f64) / 1000.0).max(0.0);
            let key = (p.group.clone(), p.topic.clone());
            time_lag::fold(&mut behind, key, seconds, time_lag::RECORD_TIMESTAMP);
        }
    }
    let window = client.window();
    let rows: Vec<_> = by_topic(&snap.partitions)
        .into_keys()
        .filter_map(|(g, t)| {
            let mut e = window.estimate(&g, &t)?;
            let method = match behind.get(&(g.clone(), t.clone())) {
                Some((seconds, method)) => {
                    e.seconds_behind = Some(*seconds);
                    *method
                }
                None => time_lag::METHOD,
            };
            Some((g, t, e, method))
        })
        .collect();
    drop(window);
    let frame = Frame::new("timeLag")
        .with_fields([
            rows.iter().map(|r| r.0.clone()).into_field("group"),
            rows.iter().map(|r| r.1.clone()).into_field("topic"),
            describe(rows.iter().map(|r| r.2.lag).into_field("lag"), "Lag", Some("short")),
            describe(rows.iter().map(|r| r.2.produce_rate).into_opt_field("produceRate"), "Produce rate", Some("wps")),
            describe(rows.iter().map(|r| r.2.consume_rate).into_opt_field("consumeRate"), "Consume rate", Some("wps")),
            describe(rows.iter().map(|r| r.2.seconds_behind).into_opt_field("secondsBehind"), "Time behind", Some("s")),
            describe(rows.iter().map(|r| r.2.drain_seconds).into_opt_field("drainSeconds"), "Drain time", Some("s")),
            rows.iter().map(|r| r.2.drains).into_field("drains"),
            rows.iter().map(|r| r.2.samples as u64).into_field("samples"),
            describe(rows.iter().map(|r| r.2.window_seconds).into_field("windowSeconds"), "Window", Some("s")),
            rows.iter().map(|r| r.3).into_field("method"),
        ])
        .with_metadata(snapshot_meta(
            &snap,
            json!({
                "method": time_lag::METHOD,
                "methodNote": "per row: interpolation (when each partition's log end passed its committed offset, between sampled log ends), recordTimestamp (the record at the committed offset, for partitions behind further than the samples reach; at most 32 per query), offsetSampling (lag / produce rate); rates come from offsets sampled by this datasource",
                "maxSamples": time_lag::MAX_SAMPLES,
                "maxAgeSeconds": time_lag::MAX_AGE_SECONDS,
            }),
        ));
    Ok(vec![frame])
}

pub async fn cluster_health(
    client: &KafkaClient,
    timeout: Duration,
) -> Result<Vec<Frame>, QueryError> {
    let budget = timeout.mul_f64(0.9);
    let f = client
        .blocking(move |c| cluster::cluster_facts(c, budget))
        .await
        .map_err(upstream)?;
    let v = cluster::verdict(&f);
    let summary = Frame::new("cluster").with_fields([
        [f.brokers.len() as u64].into_iter().into_field("brokers"),
        [f.controller].into_iter().into_opt_field("controller"),
        [f.topics.len() as u64].into_iter().into_field("topics"),
        [f.partitions()].into_iter().into_field("partitions"),
        describe(
            [f.under_replicated()]
                .into_iter()
                .into_field("underReplicatedPartitions"),
            "Under-replicated partitions",
            Some("short"),
        ),
        describe(
            [f.offline()].into_iter().into_field("offlinePartitions"),
            "Offline partitions",
            Some("short"),
        ),
        [v.health.as_str()].into_iter().into_field("status"),
        describe(
            [v.health.code()].into_iter().into_field("code"),
            "Status code",
            None,
        ),
        [v.reason.clone()].into_iter().into_field("reason"),
    ]);
    let brokers = Frame::new("brokers").with_fields([
        f.brokers.iter().map(|b| b.0).into_field("id"),
        f.brokers.iter().map(|b| b.1.clone()).into_field("address"),
        f.brokers
            .iter()
            .map(|b| Some(b.0) == f.controller)
            .into_field("controller"),
    ]);
    let topics = Frame::new("topics").with_fields([
        f.topics.iter().map(|t| t.name.clone()).into_field("topic"),
        f.topics
            .iter()
            .map(|t| t.partitions)
            .into_field("partitions"),
        f.topics
            .iter()
            .map(|t| t.replication_factor)
            .into_field("replicationFactor"),
        f.topics
            .iter()
            .map(|t| t.under_replicated)
            .into_field("underReplicated"),
        f.topics.iter().map(|t| t.offline).into_field("offline"),
        f.topics
            .iter()
            .map(|t| rules::topic(t.under_replicated, t.offline).health.as_str())
            .into_field("status"),
    ]);
    Ok(vec![summary, brokers, topics])
}

/// `/kafka/topics`: topic names and partition counts for the query editor.
pub async fn topics_resource(
    client: &KafkaClient,
    timeout: Duration,
) -> Result<serde_json::Value, QueryError> {
    let f = client
        .blocking(move |c| cluster::cluster_facts(c, timeout))
        .await
        .map_err(upstream)?;
    Ok(
        json!({ "topics": f.topics.iter().map(|t| json!({"name": t.name, "partitions": t.partitions})).collect::<Vec<_>>() }),
    )
}

/// `/kafka/groups`: groups Kafka lists, and how they were found.
pub async fn groups_resource(
    client: &KafkaClient,
    timeout: Duration,
) -> Result<serde_json::Value, QueryError> {
    let listed = client
        .blocking(move |c| {
            let deadline = std::time::Instant::now() + timeout;
            let listed = super::admin::list_groups(c.consumer(), timeout)
                .map_err(|e| c.admin_error(e, timeout))?;
            let names: Vec<String> = listed.groups.iter().map(|g| g.name.clone()).collect();
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            // Members are a nicety for the editor: without a description the list still helps.
            let members: HashMap<String, usize> = super::admin::describe_groups(c.consumer(), &names, left)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(n, d)| Some((n, d.ok()?.members.len())))
                .collect();
            Ok(listed
                .groups
                .iter()
                .map(|g| json!({"name": g.name, "state": g.state, "type": g.kind, "members": members.get(&g.name)}))
                .collect::<Vec<_>>())
        })
        .await;
    Ok(match listed {
        Ok(groups) => json!({ "groups": groups, "source": "listGroups+describeGroups" }),
        // Listing is optional for the editor: a user can still type a group name.
        Err(e) => json!({ "groups": [], "source": "none", "error": e.to_string() }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(group: Option<&str>, groups: &[&str]) -> LagQuery {
        LagQuery {
            group: group.map(str::to_string),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            topic: None,
            granularity: None,
        }
    }

    #[test]
    fn a_plain_group_is_also_a_name_and_a_regex_is_not() {
        let s = q(Some("orders.v1"), &[]).selection(&[]).unwrap();
        assert_eq!(s.groups, vec!["orders.v1".to_string()]);
        let s = q(Some("orders-.*"), &[]).selection(&[]).unwrap();
        assert!(s.groups.is_empty());
        let re = s.group_pattern.unwrap();
        assert!(re.is_match("orders-eu") && !re.is_match("x-orders-eu"));
    }

    #[test]
    fn datasource_groups_apply_only_when_the_query_names_none() {
        let defaults = ["ds-group".to_string()];
        let s = q(None, &[]).selection(&defaults).unwrap();
        assert_eq!(s.groups, defaults.to_vec());
        let s = q(None, &["mine"]).selection(&defaults).unwrap();
        assert_eq!(s.groups, vec!["mine".to_string()]);
        let err = q(None, &[]).selection(&[]).unwrap_err().to_string();
        assert!(err.contains("`group`"), "{err}");
        let err = q(Some("a("), &[]).selection(&[]).unwrap_err().to_string();
        assert!(err.contains("`group`") && err.contains("regex"), "{err}");
    }
}
