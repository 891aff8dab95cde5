//! The `clusterHealth` query: the cluster's verdict, its brokers and its topics.

use std::time::Duration;

use grafana_plugin_sdk::data::Frame;
use grafana_plugin_sdk::prelude::*;
use pipeline_model::rules;

use super::upstream;
use crate::error::QueryError;
use crate::frames::{describe, verdict_fields};
use crate::kafka::client::KafkaClient;
use crate::kafka::cluster;

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
    let summary = Frame::new("cluster").with_fields(
        [
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
        ]
        .into_iter()
        .chain(verdict_fields(std::iter::once(&v))),
    );
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
