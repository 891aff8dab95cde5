//! The `consumerLag` query: lag in messages per partition, per topic and per group, with each
//! group's verdict.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use grafana_plugin_sdk::data::Frame;
use grafana_plugin_sdk::prelude::*;
use pipeline_model::rules::{self, GroupFacts};
use pipeline_model::Thresholds;
use serde_json::json;

use super::{snapshot, snapshot_meta, Granularity, LagQuery};
use crate::error::QueryError;
use crate::frames::{describe, verdict_fields, Columns};
use crate::kafka::client::KafkaClient;
use crate::kafka::lag::{by_topic, totals, PartitionLag};
use crate::kafka::offsets::{GroupInfo, LagSnapshot};
use crate::kafka::status;

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
    Columns::over(p)
        .col("group", |r| r.group.to_string())
        .col("topic", |r| r.topic.to_string())
        .col("partition", |r| r.partition)
        .opt("committedOffset", |r| r.committed)
        .shown("Committed offset", Some("none"))
        .opt("logEndOffset", |r| r.log_end)
        .shown("Log-end offset", Some("none"))
        .opt("lag", |r| r.lag)
        .shown("Lag", Some("short"))
        .col("hasCommit", |r| r.committed.is_some())
        .opt("member", |r| owner(&by_name, r))
        .opt("problem", |r| r.problem.clone())
        .fields([statuses
            .partitions
            .iter()
            .map(|e| e.map(|e| e.status.as_str()))
            .into_opt_field("consumerStatus")])
        .fields([statuses
            .partitions
            .iter()
            .map(|e| e.map(|e| e.sentence()))
            .into_opt_field("consumerStatusReason")])
        .frame(Granularity::Partition.frame_name())
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
    let mut rows_of: HashMap<&str, Vec<&PartitionLag>> = HashMap::new();
    let mut topics_of: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for r in &snap.partitions {
        rows_of.entry(&*r.group).or_default().push(r);
        topics_of.entry(&*r.group).or_default().insert(&*r.topic);
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
                rules::Verdict::unknown(
                    pipeline_model::ReasonCode::GroupNoCommits,
                    format!(
                        "group {} has no committed offset on the selected topics",
                        g.name
                    ),
                )
            } else {
                rules::consumer_group(&facts, t)
            };
            (g, tot, verdict)
        })
        .collect();
    drop(window);
    Columns::over(&rows)
        .col("group", |(g, _, _)| g.name.clone())
        .opt("state", |(g, _, _)| g.state.clone())
        .opt("protocol", |(g, _, _)| g.kind.clone())
        .opt("members", |(g, _, _)| g.members)
        .opt("lag", |(_, t, _)| t.lag)
        .shown("Lag", Some("short"))
        .col("partitions", |(_, t, _)| t.partitions as u64)
        .col("partitionsWithoutCommit", |(_, t, _)| {
            t.without_commit as u64
        })
        .opt("consumerStatus", |(g, _, _)| {
            statuses.groups.get(&g.name).map(|s| s.status.as_str())
        })
        .fields(verdict_fields(rows.iter().map(|(_, _, v)| v)))
        .frame(Granularity::Group.frame_name())
        .with_metadata(snapshot_meta(snap, json!({})))
}

/// The member (client id) that holds the row's partition, if any.
fn owner(groups: &HashMap<&str, &GroupInfo>, r: &PartitionLag) -> Option<String> {
    groups
        .get(&*r.group)?
        .assignment
        .get(&(r.topic.to_string(), r.partition))
        .cloned()
}
