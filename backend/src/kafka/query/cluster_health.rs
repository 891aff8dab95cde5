//! The `clusterHealth` query: the cluster's verdict, its brokers and its topics.

use std::time::Duration;

use grafana_plugin_sdk::data::Frame;
use grafana_plugin_sdk::prelude::*;
use pipeline_model::rules;

use super::upstream;
use crate::error::QueryError;
use crate::frames::{describe, verdict_fields, Columns};
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
    let brokers = Columns::over(&f.brokers)
        .col("id", |b| b.0)
        .col("address", |b| b.1.clone())
        .col("controller", |b| Some(b.0) == f.controller)
        .frame("brokers");
    let topics = Columns::over(&f.topics)
        .col("topic", |t| t.name.clone())
        .col("partitions", |t| t.partitions)
        .col("replicationFactor", |t| t.replication_factor)
        .col("underReplicated", |t| t.under_replicated)
        .col("offline", |t| t.offline)
        .col("status", |t| {
            rules::topic(t.under_replicated, t.offline, &t.out_of_sync)
                .health
                .as_str()
        })
        .frame("topics");
    Ok(vec![summary, brokers, topics])
}
