//! Cluster health: brokers, the active controller, topics and partitions. A healthy cluster has
//! no offline partitions, no under-replicated ones, and an active controller.

use std::time::Duration;

use pipeline_model::rules::{self, Verdict};
use pipeline_model::{Health, ReasonCode};
use rdkafka::consumer::Consumer;

use super::client::{KafkaClient, KafkaError};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicHealth {
    pub name: String,
    pub partitions: u64,
    pub under_replicated: u64,
    pub offline: u64,
    pub replication_factor: u64,
    /// Brokers holding a replica outside the in-sync set, ascending (a stopped broker).
    pub out_of_sync: Vec<i32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterFacts {
    pub brokers: Vec<(i32, String)>,
    /// The active controller's broker id, when Kafka names one.
    pub controller: Option<i32>,
    pub topics: Vec<TopicHealth>,
}

impl ClusterFacts {
    pub fn partitions(&self) -> u64 {
        self.topics.iter().map(|t| t.partitions).sum()
    }
    pub fn under_replicated(&self) -> u64 {
        self.topics.iter().map(|t| t.under_replicated).sum()
    }
    pub fn offline(&self) -> u64 {
        self.topics.iter().map(|t| t.offline).sum()
    }
}

/// The cluster verdict: no brokers or no controller is critical, then the partition rule.
pub fn verdict(f: &ClusterFacts) -> Verdict {
    let mut out_of_sync: Vec<i32> = f
        .topics
        .iter()
        .flat_map(|t| t.out_of_sync.clone())
        .collect();
    out_of_sync.sort_unstable();
    out_of_sync.dedup();
    let mut verdicts = vec![rules::topic(
        f.under_replicated(),
        f.offline(),
        &out_of_sync,
    )];
    if f.brokers.is_empty() {
        verdicts.push(Verdict::new(
            Health::Critical,
            ReasonCode::ClusterDegraded,
            "no brokers in the metadata",
        ));
    }
    // With KRaft the controller quorum is not among the brokers clients see, so any id
    // counts; -1 (none) is what a cluster without an active controller answers.
    if f.controller.is_none() {
        verdicts.push(Verdict::new(
            Health::Critical,
            ReasonCode::ClusterDegraded,
            "no active controller",
        ));
    }
    Verdict::worst(verdicts, "no cluster facts")
}

/// Metadata (one request) and the controller id. Blocking: run via [`KafkaClient::blocking`].
pub fn cluster_facts(client: &KafkaClient, timeout: Duration) -> Result<ClusterFacts, KafkaError> {
    let started = std::time::Instant::now();
    let md = client
        .consumer()
        .fetch_metadata(None, timeout)
        .map_err(|e| client.error_of(e, timeout))?;
    let left = timeout
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(1));
    let controller = super::admin::controller_id(client.consumer(), left);
    let topics = md
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| {
            let mut h = TopicHealth {
                name: t.name().to_string(),
                partitions: t.partitions().len() as u64,
                ..Default::default()
            };
            for p in t.partitions() {
                h.replication_factor = h.replication_factor.max(p.replicas().len() as u64);
                if p.leader() < 0 {
                    h.offline += 1;
                } else if p.isr().len() < p.replicas().len() {
                    h.under_replicated += 1;
                }
                for r in p.replicas() {
                    if !p.isr().contains(r) && !h.out_of_sync.contains(r) {
                        h.out_of_sync.push(*r);
                    }
                }
            }
            h.out_of_sync.sort_unstable();
            h
        })
        .collect();
    Ok(ClusterFacts {
        brokers: md
            .brokers()
            .iter()
            .map(|b| (b.id(), format!("{}:{}", b.host(), b.port())))
            .collect(),
        controller,
        topics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ClusterFacts {
        ClusterFacts {
            brokers: vec![(1, "a:9092".into()), (2, "b:9092".into())],
            controller: Some(1),
            topics: vec![TopicHealth {
                name: "t".into(),
                partitions: 4,
                ..Default::default()
            }],
        }
    }

    #[test]
    fn a_replicated_cluster_with_a_controller_is_ok() {
        assert_eq!(verdict(&facts()).health, Health::Ok);
    }

    #[test]
    fn offline_partitions_and_a_missing_controller_are_critical() {
        let mut f = facts();
        f.topics[0].under_replicated = 2;
        assert_eq!(verdict(&f).health, Health::Warning);
        f.topics[0].offline = 1;
        assert_eq!(verdict(&f).health, Health::Critical);
        let mut f = facts();
        f.controller = None;
        let v = verdict(&f);
        assert_eq!(v.health, Health::Critical);
        assert!(v.reason.contains("controller"), "{}", v.reason);
    }
}
