//! Joining Kafka and Flink into one pipeline graph, with a verdict per node and the root cause.
//!
//! Links come from the pipeline description where it says so, else they are discovered: a Flink
//! source whose name mentions a topic reads it, and a consumer group that commits offsets for
//! that topic (named like the job, or the only one) is the job's group.

use std::collections::HashSet;

use pipeline_model::frame_contract::node_ids;
use pipeline_model::rules::Verdict;
use pipeline_model::{root_cause, Edge, Node, NodeKind, ReasonCode, Thresholds, Topology};

use super::description::PipelineDescription;
use super::facts::{FlinkFacts, KafkaFacts};

mod job;
mod kafka;
mod links;
mod unknown;

use job::{add_job, current_jobs};
use kafka::add_kafka_alone;
use links::{link_kafka, link_sinks};

/// Build the pipeline graph from one refresh's facts.
pub fn assemble(
    desc: &PipelineDescription,
    kafka: &KafkaFacts,
    flink: &FlinkFacts,
    t: &Thresholds,
) -> Topology {
    let mut graph = Graph::default();
    if let Some(reason) = &flink.unreachable {
        let mut node = Node::new(
            node_ids::FLINK_UNREACHABLE,
            "Flink",
            NodeKind::FlinkOperator,
        );
        node.subtitle = "unreachable".into();
        set_verdict(
            &mut node,
            Verdict::unknown(ReasonCode::Unreachable, reason.clone()),
        );
        graph.add(node);
    }
    for job in current_jobs(&flink.jobs) {
        add_job(&mut graph, job, t);
        let link = desc.for_job(&job.id, &job.name);
        link_kafka(&mut graph, job, link, kafka, t);
        link_sinks(&mut graph, job, link);
    }
    // Without Flink jobs the Kafka side is still worth drawing: every group with its topics.
    if flink.jobs.is_empty() {
        add_kafka_alone(&mut graph, kafka, t);
    }
    unknown::add_unknown_kafka(&mut graph, kafka, flink);
    let mut topology = graph.topology;
    root_cause::mark(&mut topology);
    topology
}

#[derive(Default)]
struct Graph {
    topology: Topology,
    ids: HashSet<String>,
    edge_ids: HashSet<String>,
}

impl Graph {
    fn add(&mut self, node: Node) {
        if self.ids.insert(node.id.clone()) {
            self.topology.nodes.push(node);
        }
    }

    fn connect(&mut self, source: &str, target: &str, label: String) {
        let edge = Edge::new(source, target, label);
        if self.edge_ids.insert(edge.id.clone()) {
            self.topology.edges.push(edge);
        }
    }

    fn node_mut(&mut self, id: &str) -> Option<&mut Node> {
        self.topology.nodes.iter_mut().find(|n| n.id == id)
    }
}

fn set_verdict(node: &mut Node, v: Verdict) {
    node.judged(v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::facts::{ConsumerGroupFacts, FlinkVertexFacts, JobFacts, TopicFacts};
    use pipeline_model::rules::{GroupFacts, VertexFacts};
    use pipeline_model::Health;

    fn vertex(id: &str, name: &str, bp: f64, busy: f64) -> FlinkVertexFacts {
        FlinkVertexFacts {
            id: id.into(),
            name: name.into(),
            parallelism: 2,
            status: Some("RUNNING".into()),
            facts: VertexFacts {
                backpressure: Some(bp),
                busy: Some(busy),
                ..Default::default()
            },
            records_in_per_second: Some(100.0),
            records_out_per_second: Some(100.0),
        }
    }

    fn job() -> JobFacts {
        JobFacts {
            id: "j1".into(),
            name: "clickstream".into(),
            state: "RUNNING".into(),
            vertices: vec![
                vertex("v1", "Source: clicks -> Map", 0.9, 0.1),
                vertex("v2", "slow-enrich", 0.0, 0.97),
                vertex("v3", "Sink: orders-db", 0.0, 0.05),
            ],
            edges: vec![
                ("v1".into(), "v2".into(), "REBALANCE".into()),
                ("v2".into(), "v3".into(), "FORWARD".into()),
            ],
            checkpoint_age_seconds: Some(5.0),
            ..Default::default()
        }
    }

    fn kafka() -> KafkaFacts {
        KafkaFacts {
            topics: vec![TopicFacts {
                name: "clicks".into(),
                partitions: 4,
                ..Default::default()
            }],
            groups: vec![ConsumerGroupFacts {
                name: "clickstream-consumer".into(),
                topics: vec!["clicks".into()],
                facts: GroupFacts {
                    lag: Some(12.0),
                    ..Default::default()
                },
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn flink(job: JobFacts) -> FlinkFacts {
        FlinkFacts {
            jobs: vec![job],
            unreachable: None,
        }
    }

    #[test]
    fn discovers_topic_group_and_database_and_names_the_bottleneck() {
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &flink(job()),
            &Thresholds::default(),
        );
        assert!(t.dangling_edges().is_empty());
        let ids: Vec<&str> = t.nodes.iter().map(|n| n.id.as_str()).collect();
        for id in [
            "kafka/topic/clicks",
            "kafka/group/clickstream-consumer",
            "flink/j1/v1",
            "db/orders-db",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        assert!(t
            .edges
            .iter()
            .any(|e| e.source == "kafka/group/clickstream-consumer" && e.target == "flink/j1/v1"));
        let cause = t.bottleneck().expect("a bottleneck");
        assert_eq!(cause.title, "slow-enrich");
        let named = t.root_cause().unwrap();
        assert_eq!(named.code, ReasonCode::Bottleneck);
        assert_eq!(named.victims, vec!["flink/j1/v1".to_string()]);
        assert!(t.node("flink/j1/v1").unwrap().victim);
        assert!(t
            .node("flink/j1/v1")
            .unwrap()
            .reason
            .contains("waiting on slow-enrich"));
        assert_eq!(t.verdict(), Health::Critical);
    }

    #[test]
    fn a_cancelled_job_replaced_by_a_new_one_is_not_drawn() {
        let mut old = job();
        old.id = "j0".into();
        old.state = "CANCELED".into();
        old.start_time_ms = 1;
        let mut new = job();
        new.start_time_ms = 2;
        new.vertices[0].facts.backpressure = Some(0.0);
        let f = FlinkFacts {
            jobs: vec![old.clone(), new],
            unreachable: None,
        };
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &f,
            &Thresholds::default(),
        );
        assert!(t.nodes.iter().all(|n| !n.id.starts_with("flink/j0/")));
        assert_eq!(t.verdict(), Health::Ok, "{:?}", t.root_causes);
        assert_eq!(t.root_cause(), None);
        // Alone, the cancelled job is drawn, and it is the root cause.
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &flink(old),
            &Thresholds::default(),
        );
        let cause = t.root_cause().cloned().expect("a cause");
        assert_eq!(cause.code, ReasonCode::JobNotRunning);
        assert_eq!(
            cause.sentence,
            "job clickstream is CANCELED; affects database orders-db"
        );
        let db = t.node("db/orders-db").unwrap();
        assert_eq!(db.health, Health::Unknown, "{}", db.reason);
    }

    #[test]
    fn a_bottleneck_keeps_its_other_reasons() {
        let mut j = job();
        j.vertices[1].facts.watermark_stalled_seconds = Some(900.0);
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &flink(j),
            &Thresholds::default(),
        );
        let cause = t.bottleneck().unwrap();
        assert!(
            cause.reason.starts_with("bottleneck") && cause.reason.contains("not advanced"),
            "{}",
            cause.reason
        );
    }

    #[test]
    fn an_old_checkpoint_turns_the_sink_red() {
        let mut j = job();
        j.vertices[0].facts.backpressure = Some(0.0);
        j.checkpoint_age_seconds = Some(3600.0);
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &flink(j),
            &Thresholds::default(),
        );
        let sink = t.node("flink/j1/v3").unwrap();
        assert_eq!(sink.health, Health::Critical, "{}", sink.reason);
        assert!(sink.reason.contains("checkpoint"), "{}", sink.reason);
        assert_eq!(t.node("flink/j1/v1").unwrap().health, Health::Ok);
    }

    #[test]
    fn a_stalled_watermark_is_red_where_it_starts() {
        let mut j = job();
        j.vertices[0].facts.backpressure = Some(0.0);
        j.vertices[1].facts.watermark_stalled_seconds = Some(900.0);
        j.vertices[2].facts.watermark_stalled_seconds = Some(900.0);
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &flink(j),
            &Thresholds::default(),
        );
        assert_eq!(t.node("flink/j1/v2").unwrap().health, Health::Critical);
        let sink = t.node("flink/j1/v3").unwrap();
        assert_eq!(sink.health, Health::Warning, "{}", sink.reason);
        assert!(sink.reason.contains("held back upstream by slow-enrich"));
    }

    #[test]
    fn the_description_overrides_discovery() {
        let desc = PipelineDescription::parse(&serde_json::json!({"jobs": [{"job": "clickstream",
            "topics": ["clicks"], "group": "explicit-group",
            "sinks": [{"vertex": "orders", "database": "postgres: orders"}]}]}))
        .unwrap();
        let t = assemble(&desc, &kafka(), &flink(job()), &Thresholds::default());
        let g = t
            .node("kafka/group/explicit-group")
            .expect("described group");
        assert_eq!(g.health, Health::Unknown, "{}", g.reason);
        assert!(t.node("db/postgres: orders").is_some());
    }

    #[test]
    fn an_unreachable_flink_is_one_unknown_node_and_kafka_still_renders() {
        let f = FlinkFacts {
            jobs: vec![],
            unreachable: Some("cannot reach Flink at http://x".into()),
        };
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &f,
            &Thresholds::default(),
        );
        let node = t.node("flink").unwrap();
        assert_eq!(node.health, Health::Unknown);
        assert!(node.reason.contains("cannot reach Flink"));
        assert!(t.node("kafka/group/clickstream-consumer").is_some());
    }
}
