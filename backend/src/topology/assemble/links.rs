//! The edges between Kafka and Flink: from the pipeline description where it says so, else
//! discovered (a source vertex that mentions a topic reads it; the group committing on that
//! topic is the job's group), and each sink's database.

use std::collections::BTreeMap;

use pipeline_model::frame_contract::{database_id, vertex_id};
use pipeline_model::node_stats as stat;
use pipeline_model::rules::{self, Verdict};
use pipeline_model::{Node, NodeKind, ReasonCode, Stat, Thresholds};

use super::job::vertex_kind;
use super::kafka::{add_group, topic_node};
use super::{set_verdict, Graph};
use crate::topology::description::JobLink;
use crate::topology::facts::{ConsumerGroupFacts, FlinkVertexFacts, JobFacts, KafkaFacts};

/// Words of a vertex name, for matching topic names ("Source: KafkaSource-clicks" -> clicks).
/// Whether a vertex name mentions a topic as a whole word, or as the end of a word after a `-`
/// or `.`: Flink names a DataStream source `KafkaSource-clicks` and a Flink SQL one
/// `KafkaSource-default_catalog.default_database.clicks`.
fn mentions(vertex_name: &str, topic: &str) -> bool {
    vertex_name
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_' || c == '-'))
        .any(|w| {
            w == topic
                || w.match_indices(['-', '.'])
                    .any(|(i, _)| &w[i + 1..] == topic)
        })
}

pub(super) fn link_kafka(
    graph: &mut Graph,
    job: &JobFacts,
    link: Option<&JobLink>,
    kafka: &KafkaFacts,
    t: &Thresholds,
) {
    let sources: Vec<&FlinkVertexFacts> = job
        .vertices
        .iter()
        .filter(|v| vertex_kind(&v.name) == NodeKind::FlinkSource)
        .collect();
    // topic -> the source vertices that read it
    let mut reads: BTreeMap<String, Vec<&FlinkVertexFacts>> = BTreeMap::new();
    match link.filter(|l| !l.topics.is_empty()) {
        Some(l) => {
            for topic in &l.topics {
                let readers: Vec<_> = sources
                    .iter()
                    .copied()
                    .filter(|s| mentions(&s.name, topic))
                    .collect();
                reads.insert(
                    topic.clone(),
                    if readers.is_empty() {
                        sources.clone()
                    } else {
                        readers
                    },
                );
            }
        }
        None => {
            for topic in &kafka.topics {
                let readers: Vec<_> = sources
                    .iter()
                    .copied()
                    .filter(|s| mentions(&s.name, &topic.name))
                    .collect();
                if !readers.is_empty() {
                    reads.insert(topic.name.clone(), readers);
                }
            }
        }
    }
    for (topic, readers) in reads {
        let tnode = topic_node(&topic, kafka, t);
        let tid = tnode.id.clone();
        graph.add(tnode);
        let group = match link.and_then(|l| l.group.as_deref()) {
            Some(name) => Some(
                kafka
                    .groups
                    .iter()
                    .find(|g| g.name == name)
                    .cloned()
                    .unwrap_or_else(|| ConsumerGroupFacts {
                        name: name.to_string(),
                        ..Default::default()
                    }),
            ),
            None => discover_group(&topic, job, kafka),
        };
        let upstream = match group {
            Some(g) => {
                let gid = add_group(graph, &g, t);
                if g.topics.is_empty()
                    && kafka.unreachable.is_none()
                    && g.facts.lag.is_none()
                    && g.facts.read_error.is_none()
                {
                    if let Some(node) = graph.node_mut(&gid) {
                        set_verdict(
                            node,
                            Verdict::unknown(
                                ReasonCode::GroupNoCommits,
                                format!("group {} has no committed offsets", g.name),
                            ),
                        );
                    }
                }
                graph.connect(&tid, &gid, String::new());
                gid
            }
            None => tid,
        };
        for reader in readers {
            graph.connect(&upstream, &vertex_id(&job.id, &reader.id), String::new());
        }
    }
}

fn discover_group(topic: &str, job: &JobFacts, kafka: &KafkaFacts) -> Option<ConsumerGroupFacts> {
    let consumers: Vec<&ConsumerGroupFacts> = kafka
        .groups
        .iter()
        .filter(|g| g.topics.iter().any(|t| t == topic))
        .collect();
    let by_name = consumers
        .iter()
        .find(|g| g.name.contains(&job.name) || job.name.contains(&g.name));
    by_name
        .or(if consumers.len() == 1 {
            consumers.first()
        } else {
            None
        })
        .map(|g| (*g).clone())
}

pub(super) fn link_sinks(graph: &mut Graph, job: &JobFacts, link: Option<&JobLink>) {
    let sinks: Vec<&FlinkVertexFacts> = job
        .vertices
        .iter()
        .filter(|v| vertex_kind(&v.name) == NodeKind::FlinkSink)
        .collect();
    let described = link.map(|l| l.sinks.as_slice()).unwrap_or(&[]);
    for sink in sinks {
        let target = described
            .iter()
            .find(|s| s.vertex.as_deref().is_none_or(|v| sink.name.contains(v)))
            .map(|s| s.database.clone())
            .unwrap_or_else(|| sink_target_name(&sink.name));
        let mut node = Node::new(database_id(&target), target.clone(), NodeKind::Database);
        node.subtitle = "written by Flink".into();
        if let Some(rate) = sink.records_in_per_second {
            node.stats.push(Stat::of(stat::RECORDS_IN, rate));
        }
        let sink_id = vertex_id(&job.id, &sink.id);
        let writer = graph.node_mut(&sink_id).map(|n| Verdict {
            health: n.health,
            reason: n.reason.clone(),
            codes: n.codes.clone(),
        });
        let verdict = match writer {
            Some(w) => rules::database(&sink.name, &w),
            None => Verdict::unknown(ReasonCode::NotJudged, "its writer is not drawn"),
        };
        set_verdict(&mut node, verdict);
        let did = node.id.clone();
        graph.add(node);
        let label = sink
            .records_in_per_second
            .map(|r| format!("{r:.0} rec/s"))
            .unwrap_or_default();
        graph.connect(&sink_id, &did, label);
    }
}

/// "Sink: orders-db" -> "orders-db"; in a chained vertex the sink is the last part
/// ("slow-score -> orders-db: Writer" -> "orders-db").
fn sink_target_name(vertex_name: &str) -> String {
    let last = vertex_name
        .rsplit("->")
        .next()
        .unwrap_or(vertex_name)
        .trim();
    let part = last.strip_prefix("Sink:").unwrap_or(last).trim();
    part.trim_end_matches(": Writer")
        .trim_end_matches(": Committer")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_names_become_database_names() {
        assert_eq!(sink_target_name("Sink: orders-db"), "orders-db");
        assert_eq!(
            sink_target_name("Map -> Sink: jdbc-orders: Writer"),
            "jdbc-orders"
        );
        assert!(mentions("Source: KafkaSource-clicks", "clicks"));
        // Flink SQL's Kafka source, as the bed's ROAS job names it.
        let sql = "Source: KafkaSource-default_catalog.default_database.impressions -> Calc[2]";
        assert!(mentions(sql, "impressions"));
        assert!(mentions(sql, "default_database.impressions"));
        assert!(!mentions(sql, "pressions"));
        assert!(mentions("Source: orders.v1", "orders.v1"));
        assert!(!mentions("Source: clickstream", "clicks"));
    }
}
