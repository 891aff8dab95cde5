//! The Kafka query types, one module each: `consumerLag`, `timeLag` and `clusterHealth`; here
//! what they share: the lag query's fields and group/topic selection, the lag snapshot and the
//! frames' `meta.custom`. [`listings`] answers the query editor's Kafka dropdowns.

mod cluster_health;
mod consumer_lag;
pub mod listings;
mod time_lag;

use std::time::Duration;

use grafana_plugin_sdk::data::Metadata;
use regex::Regex;
use serde::Deserialize;
use serde_json::json;

pub use cluster_health::cluster_health;
pub use consumer_lag::consumer_lag;
pub use time_lag::time_lag;

use super::client::{KafkaClient, KafkaError};
use super::offsets::{lag_snapshot, LagSnapshot, Selection};
use super::status;
use crate::error::QueryError;
use crate::frames::custom_meta;

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
    custom_meta(
        json!({
            "groupSource": snap.group_source.as_str(),
            "listGroupsError": snap.listing_error,
            "listGroupsRequests": snap.requests.list_groups,
            "describeGroupsRequests": snap.requests.describe_groups,
            "endOffsetRequests": snap.requests.list_offsets,
            "offsetFetchRequests": snap.requests.offset_fetch,
            "committedScope": "every partition each group committed on (ListConsumerGroupOffsets)",
            "snapshotMs": snap.elapsed.as_secs_f64() * 1000.0,
        }),
        extra,
    )
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
