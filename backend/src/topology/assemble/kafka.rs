//! The Kafka part of the graph: topic nodes and consumer group nodes with their verdicts.

use pipeline_model::frame_contract::{group_id, topic_id};
use pipeline_model::node_stats as stat;
use pipeline_model::rules::{self, Verdict};
use pipeline_model::{Node, NodeKind, ReasonCode, Stat, Thresholds};

use super::{set_verdict, Graph};
use crate::topology::facts::{ConsumerGroupFacts, KafkaFacts, TopicFacts};

pub(super) fn topic_node(name: &str, kafka: &KafkaFacts, t: &Thresholds) -> Node {
    let mut node = Node::new(topic_id(name), name, NodeKind::KafkaTopic);
    node.subtitle = "Kafka topic".into();
    let _ = t;
    match kafka.topics.iter().find(|x| x.name == name) {
        Some(TopicFacts {
            partitions,
            under_replicated,
            offline,
            out_of_sync,
            produce_rate,
            ..
        }) => {
            node.stats = vec![
                Stat::of(stat::PARTITIONS, *partitions as f64),
                Stat::of(stat::UNDER_REPLICATED, *under_replicated as f64),
                Stat::of(stat::OFFLINE, *offline as f64),
            ];
            if let Some(rate) = produce_rate {
                node.stats.push(Stat::of(stat::PRODUCE_RATE, *rate));
            }
            set_verdict(
                &mut node,
                rules::topic(*under_replicated, *offline, out_of_sync),
            );
        }
        None => {
            let verdict = match &kafka.unreachable {
                Some(reason) => Verdict::unknown(ReasonCode::Unreachable, reason.clone()),
                None => Verdict::unknown(
                    ReasonCode::TopicMissing,
                    format!("topic {name} not found in Kafka"),
                ),
            };
            set_verdict(&mut node, verdict);
        }
    }
    node
}

pub(super) fn add_group(graph: &mut Graph, group: &ConsumerGroupFacts, t: &Thresholds) -> String {
    let mut node = Node::new(
        group_id(&group.name),
        group.name.clone(),
        NodeKind::ConsumerGroup,
    );
    node.subtitle = group
        .facts
        .state
        .clone()
        .unwrap_or_else(|| "consumer group".into());
    let f = &group.facts;
    let optional = [
        (stat::LAG, f.lag),
        (stat::TIME_LAG, f.time_lag_seconds),
        (stat::CONSUME_RATE, group.consume_rate),
        (stat::DRAIN_TIME, group.drain_seconds),
        (stat::MEMBERS, f.members.map(f64::from)),
    ];
    node.stats = optional
        .into_iter()
        .filter_map(|(s, v)| v.map(|x| Stat::of(s, x)))
        .collect();
    set_verdict(&mut node, rules::consumer_group(f, t));
    let id = node.id.clone();
    graph.add(node);
    id
}

/// The Kafka side without Flink jobs: every group with its topics, a group whose offsets could
/// not be read on its own with the reason, and every topic when the groups could not be read.
pub(super) fn add_kafka_alone(graph: &mut Graph, kafka: &KafkaFacts, t: &Thresholds) {
    for group in &kafka.groups {
        if group.topics.is_empty() && group.facts.read_error.is_none() {
            continue;
        }
        let gid = add_group(graph, group, t);
        for topic in &group.topics {
            let node = topic_node(topic, kafka, t);
            let tid = node.id.clone();
            graph.add(node);
            graph.connect(&tid, &gid, String::new());
        }
    }
    if kafka.groups_unknown.is_some() {
        for topic in kafka.topics.iter().filter(|t| !t.name.starts_with("__")) {
            graph.add(topic_node(&topic.name, kafka, t));
        }
    }
}
