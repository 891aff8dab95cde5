//! The Kafka part of the graph: topic nodes and consumer group nodes with their verdicts.

use pipeline_model::frame_contract::{group_id, topic_id};
use pipeline_model::rules::{self, Verdict};
use pipeline_model::{Node, NodeKind, Stat, Thresholds};

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
            produce_rate,
            ..
        }) => {
            node.stats = vec![
                Stat::new("partitions", *partitions as f64, "short"),
                Stat::new("under-replicated", *under_replicated as f64, "short"),
                Stat::new("offline", *offline as f64, "short"),
            ];
            if let Some(rate) = produce_rate {
                node.stats.push(Stat::new("produce rate", *rate, "reqps"));
            }
            set_verdict(&mut node, rules::topic(*under_replicated, *offline));
        }
        None => {
            let reason = kafka
                .unreachable
                .clone()
                .unwrap_or_else(|| format!("topic {name} not found in Kafka"));
            set_verdict(&mut node, Verdict::unknown(reason));
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
        ("lag", f.lag, "short"),
        ("time lag", f.time_lag_seconds, "s"),
        ("drain time", group.drain_seconds, "s"),
        ("members", f.members.map(f64::from), "short"),
    ];
    node.stats = optional
        .into_iter()
        .filter_map(|(n, v, u)| v.map(|x| Stat::new(n, x, u)))
        .collect();
    set_verdict(&mut node, rules::consumer_group(f, t));
    let id = node.id.clone();
    graph.add(node);
    id
}
