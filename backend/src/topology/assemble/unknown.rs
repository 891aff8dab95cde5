//! The parts of Kafka that could not be asked, drawn where they would be rather than left out:
//! an unreachable Kafka (or one whose settings are bad) is one unknown node feeding whatever
//! Kafka would feed, and consumer groups that could not be read are one unknown node that the
//! topics no group reads lead to.

use std::collections::HashSet;

use pipeline_model::frame_contract::node_ids;
use pipeline_model::rules::Verdict;
use pipeline_model::{Node, NodeKind, ReasonCode};

use super::{set_verdict, Graph};
use crate::topology::facts::{FlinkFacts, KafkaFacts};

pub(super) fn add_unknown_kafka(graph: &mut Graph, kafka: &KafkaFacts, flink: &FlinkFacts) {
    if let Some(reason) = &kafka.unreachable {
        add_unknown(
            graph,
            (node_ids::KAFKA_UNREACHABLE, "Kafka", NodeKind::KafkaTopic),
            ReasonCode::Unreachable,
            reason,
        );
        if flink.unreachable.is_some() {
            graph.connect(
                node_ids::KAFKA_UNREACHABLE,
                node_ids::FLINK_UNREACHABLE,
                String::new(),
            );
        }
        // What Kafka would feed: the topics drawn (a description names them) and every
        // source vertex that nothing feeds.
        let fed: HashSet<&str> = graph
            .topology
            .edges
            .iter()
            .map(|e| e.target.as_str())
            .collect();
        let feeds: Vec<String> = graph
            .topology
            .nodes
            .iter()
            .filter(|n| n.id != node_ids::KAFKA_UNREACHABLE)
            .filter(|n| {
                n.kind == NodeKind::KafkaTopic
                    || (n.kind == NodeKind::FlinkSource && !fed.contains(n.id.as_str()))
            })
            .map(|n| n.id.clone())
            .collect();
        for id in feeds {
            graph.connect(node_ids::KAFKA_UNREACHABLE, &id, String::new());
        }
    }
    if let Some(reason) = &kafka.groups_unknown {
        add_unknown(
            graph,
            (
                node_ids::KAFKA_GROUPS_UNKNOWN,
                "Consumer groups",
                NodeKind::ConsumerGroup,
            ),
            ReasonCode::GroupUnreadable,
            reason,
        );
        // The topics no group node reads: their readers are among the unknown groups.
        let read: HashSet<&str> = graph
            .topology
            .edges
            .iter()
            .filter(|e| e.target.starts_with(node_ids::GROUP))
            .map(|e| e.source.as_str())
            .collect();
        let unread: Vec<String> = graph
            .topology
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::KafkaTopic && !read.contains(n.id.as_str()))
            .map(|n| n.id.clone())
            .collect();
        for id in unread {
            graph.connect(&id, node_ids::KAFKA_GROUPS_UNKNOWN, String::new());
        }
    }
}

fn add_unknown(
    graph: &mut Graph,
    (id, title, kind): (&str, &str, NodeKind),
    code: ReasonCode,
    reason: &str,
) {
    let mut node = Node::new(id, title, kind);
    node.subtitle = "unknown".into();
    set_verdict(&mut node, Verdict::unknown(code, reason.to_string()));
    graph.add(node);
}

#[cfg(test)]
mod tests {
    use crate::topology::assemble::assemble;
    use crate::topology::description::PipelineDescription;
    use crate::topology::facts::{
        ConsumerGroupFacts, FlinkFacts, FlinkVertexFacts, JobFacts, KafkaFacts, TopicFacts,
    };
    use pipeline_model::frame_contract::node_ids;
    use pipeline_model::rules::{GroupFacts, VertexFacts};
    use pipeline_model::{Health, Thresholds, Topology};

    fn vertex(id: &str, name: &str) -> FlinkVertexFacts {
        FlinkVertexFacts {
            id: id.into(),
            name: name.into(),
            parallelism: 1,
            facts: VertexFacts {
                backpressure: Some(0.0),
                busy: Some(0.1),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Two sources (one reads `clicks`, one `views`) joined into one sink.
    fn flink() -> FlinkFacts {
        FlinkFacts {
            jobs: vec![JobFacts {
                id: "j1".into(),
                name: "clickstream".into(),
                state: "RUNNING".into(),
                vertices: vec![
                    vertex("v1", "Source: clicks"),
                    vertex("v2", "Source: views"),
                    vertex("v3", "Sink: orders-db"),
                ],
                edges: vec![
                    ("v1".into(), "v3".into(), "FORWARD".into()),
                    ("v2".into(), "v3".into(), "FORWARD".into()),
                ],
                ..Default::default()
            }],
            unreachable: None,
        }
    }

    fn unreachable_kafka() -> KafkaFacts {
        KafkaFacts {
            unreachable: Some("cannot reach Kafka at k:9092: connection refused at k:9092".into()),
            ..Default::default()
        }
    }

    fn edge(t: &Topology, source: &str, target: &str) -> bool {
        t.edges
            .iter()
            .any(|e| e.source == source && e.target == target)
    }

    fn build(desc: &PipelineDescription, kafka: &KafkaFacts, flink: &FlinkFacts) -> Topology {
        assemble(desc, kafka, flink, &Thresholds::default())
    }

    #[test]
    fn an_unreachable_kafka_beside_flink_jobs_is_one_unknown_node_feeding_their_sources() {
        let t = build(
            &PipelineDescription::default(),
            &unreachable_kafka(),
            &flink(),
        );
        assert!(t.dangling_edges().is_empty());
        let kafka = t.node(node_ids::KAFKA_UNREACHABLE).expect("the Kafka node");
        assert_eq!(kafka.health, Health::Unknown);
        assert!(
            kafka.reason.contains("connection refused at k:9092"),
            "{}",
            kafka.reason
        );
        assert!(edge(&t, "kafka", "flink/j1/v1") && edge(&t, "kafka", "flink/j1/v2"));
        assert!(
            !edge(&t, "kafka", "flink/j1/v3"),
            "a sink is not fed by Kafka"
        );
        // Flink's side is whole, with its own verdicts.
        assert_eq!(t.node("flink/j1/v3").unwrap().health, Health::Ok);
        assert!(t.node("db/orders-db").is_some());
    }

    #[test]
    fn described_topics_of_an_unreachable_kafka_hang_off_the_kafka_node() {
        let desc = PipelineDescription::parse(&serde_json::json!({"jobs": [{"job": "clickstream",
            "topics": ["clicks"], "group": "enrich"}]}))
        .unwrap();
        let t = build(&desc, &unreachable_kafka(), &flink());
        let topic = t.node("kafka/topic/clicks").expect("the described topic");
        assert_eq!(topic.health, Health::Unknown);
        assert!(
            topic.reason.contains("connection refused"),
            "{}",
            topic.reason
        );
        assert!(edge(&t, "kafka", "kafka/topic/clicks"));
        assert!(edge(&t, "kafka/topic/clicks", "kafka/group/enrich"));
        // The description sends the topic to every source it names none of: both are fed.
        assert!(!edge(&t, "kafka", "flink/j1/v1"), "fed through its topic");
    }

    #[test]
    fn with_flink_unreachable_too_the_two_unknown_nodes_are_joined() {
        let f = FlinkFacts {
            jobs: vec![],
            unreachable: Some("cannot reach Flink".into()),
        };
        let t = build(&PipelineDescription::default(), &unreachable_kafka(), &f);
        assert_eq!(t.nodes.len(), 2);
        assert!(edge(&t, "kafka", "flink"));
    }

    fn groups_unknown(named: &[&str]) -> KafkaFacts {
        let reason =
            "consumer groups unknown: Kafka did not answer for the consumer groups within 7.6 s";
        KafkaFacts {
            topics: ["clicks", "views", "__consumer_offsets"]
                .iter()
                .map(|n| TopicFacts {
                    name: n.to_string(),
                    partitions: 3,
                    under_replicated: u64::from(*n == "views"),
                    ..Default::default()
                })
                .collect(),
            groups: named
                .iter()
                .map(|n| ConsumerGroupFacts {
                    name: n.to_string(),
                    facts: GroupFacts {
                        read_error: Some(reason.into()),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect(),
            groups_unknown: Some(reason.into()),
            unreachable: None,
        }
    }

    #[test]
    fn unreadable_groups_keep_the_topics_and_their_replication_without_flink() {
        let t = build(
            &PipelineDescription::default(),
            &groups_unknown(&["billing"]),
            &FlinkFacts::default(),
        );
        assert!(t.dangling_edges().is_empty());
        assert_eq!(t.node("kafka/topic/clicks").unwrap().health, Health::Ok);
        let views = t.node("kafka/topic/views").unwrap();
        assert_eq!(views.health, Health::Warning, "{}", views.reason);
        assert!(
            t.node("kafka/topic/__consumer_offsets").is_none(),
            "internal"
        );
        let groups = t
            .node(node_ids::KAFKA_GROUPS_UNKNOWN)
            .expect("the groups node");
        assert_eq!(groups.health, Health::Unknown);
        assert!(groups.reason.contains("within 7.6 s"), "{}", groups.reason);
        assert!(edge(&t, "kafka/topic/clicks", "kafka/groups"));
        let billing = t.node("kafka/group/billing").expect("a named group stays");
        assert_eq!(billing.health, Health::Unknown);
        assert!(
            billing.reason.contains("consumer groups unknown"),
            "{}",
            billing.reason
        );
    }

    #[test]
    fn unreadable_groups_beside_flink_link_topics_to_sources_and_to_the_unknown_groups() {
        let t = build(
            &PipelineDescription::default(),
            &groups_unknown(&[]),
            &flink(),
        );
        assert!(edge(&t, "kafka/topic/clicks", "flink/j1/v1"));
        assert!(edge(&t, "kafka/topic/views", "flink/j1/v2"));
        assert!(edge(&t, "kafka/topic/clicks", "kafka/groups"));
        let desc = PipelineDescription::parse(&serde_json::json!({"jobs": [{"job": "clickstream",
            "topics": ["clicks"], "group": "enrich"}]}))
        .unwrap();
        let t = build(&desc, &groups_unknown(&["enrich"]), &flink());
        let enrich = t.node("kafka/group/enrich").unwrap();
        assert_eq!(enrich.health, Health::Unknown);
        assert!(
            enrich.reason.contains("consumer groups unknown"),
            "{}",
            enrich.reason
        );
        assert!(
            !edge(&t, "kafka/topic/clicks", "kafka/groups"),
            "read by its group"
        );
    }
}
