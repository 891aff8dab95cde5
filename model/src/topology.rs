//! The pipeline as a graph: what the backend computes from Kafka and Flink and the panel draws.
//!
//! Nodes are Kafka topics, consumer groups, Flink vertices and the sinks' databases; edges follow
//! the data. Each node carries its verdict, the one-line reason and the numbers behind it.

use crate::{Health, ReasonCode};

/// What a node stands for. The names are the `kind` values of the topology frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    KafkaTopic,
    ConsumerGroup,
    FlinkSource,
    FlinkOperator,
    FlinkSink,
    Database,
}

impl NodeKind {
    pub const ALL: [NodeKind; 6] = [
        NodeKind::KafkaTopic,
        NodeKind::ConsumerGroup,
        NodeKind::FlinkSource,
        NodeKind::FlinkOperator,
        NodeKind::FlinkSink,
        NodeKind::Database,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::KafkaTopic => "kafka-topic",
            NodeKind::ConsumerGroup => "consumer-group",
            NodeKind::FlinkSource => "flink-source",
            NodeKind::FlinkOperator => "flink-operator",
            NodeKind::FlinkSink => "flink-sink",
            NodeKind::Database => "database",
        }
    }

    /// A vertex of a Flink job (source, operator or sink).
    pub fn is_flink_vertex(self) -> bool {
        matches!(
            self,
            NodeKind::FlinkSource | NodeKind::FlinkOperator | NodeKind::FlinkSink
        )
    }

    pub fn parse(s: &str) -> Option<NodeKind> {
        NodeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One number behind a verdict, with its Grafana unit id ("short", "s", "percentunit", ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
}

impl Stat {
    pub fn new(name: &str, value: f64, unit: &'static str) -> Stat {
        Stat {
            name: name.to_string(),
            value,
            unit,
        }
    }

    /// A stat named in [`crate::node_stats`], with its unit.
    pub fn of(stat: crate::node_stats::StatName, value: f64) -> Stat {
        Stat::new(stat.name, value, stat.unit)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub title: String,
    pub subtitle: String,
    /// The Flink job's name for a job's vertices, empty for other nodes: with `kind` and
    /// `title` it names the node stably across resubmissions (the id carries the job id).
    pub job: String,
    pub kind: NodeKind,
    pub health: Health,
    /// One line a person can act on: why the node has its verdict.
    pub reason: String,
    /// What `reason` says, as codes (what rules match on; the text may change).
    pub codes: Vec<ReasonCode>,
    pub stats: Vec<Stat>,
    /// Named as the root cause (see [`crate::root_cause`]); the field keeps the name Grafana
    /// users know from the Flink UI's "bottleneck".
    pub bottleneck: bool,
    /// Unhealthy because of the root cause.
    pub victim: bool,
}

impl Node {
    pub fn new(id: impl Into<String>, title: impl Into<String>, kind: NodeKind) -> Node {
        Node {
            id: id.into(),
            title: title.into(),
            subtitle: String::new(),
            job: String::new(),
            kind,
            health: Health::Unknown,
            reason: String::new(),
            codes: Vec::new(),
            stats: Vec::new(),
            bottleneck: false,
            victim: false,
        }
    }

    pub fn has(&self, code: ReasonCode) -> bool {
        self.codes.contains(&code)
    }

    /// Take a verdict's health, reason and codes.
    pub fn judged(&mut self, v: crate::rules::Verdict) {
        self.health = v.health;
        self.reason = v.reason;
        self.codes = v.codes;
    }

    pub fn stat(&self, name: &str) -> Option<f64> {
        self.stats.iter().find(|s| s.name == name).map(|s| s.value)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub id: String,
    pub source: String,
    pub target: String,
    /// What flows: a rate or a lag, already formatted for display.
    pub label: String,
}

impl Edge {
    pub fn new(source: &str, target: &str, label: impl Into<String>) -> Edge {
        Edge {
            id: crate::frame_contract::edge_id(source, target),
            source: source.into(),
            target: target.into(),
            label: label.into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Topology {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// What each pipeline's trouble comes from, the most pressing first; empty when all is
    /// well.
    pub root_causes: Vec<crate::root_cause::RootCause>,
}

impl Topology {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The pipeline's verdict: its worst node (`Ok` for an empty pipeline).
    pub fn verdict(&self) -> Health {
        Health::worst(self.nodes.iter().map(|n| n.health))
    }

    /// The most pressing root cause, if any.
    pub fn root_cause(&self) -> Option<&crate::root_cause::RootCause> {
        self.root_causes.first()
    }

    /// The main node of the most pressing root cause, if any.
    pub fn bottleneck(&self) -> Option<&Node> {
        self.node(&self.root_cause()?.nodes[0])
    }

    /// Ids of the nodes directly upstream of `id`.
    pub fn upstream<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.edges
            .iter()
            .filter(move |e| e.target == id)
            .map(|e| e.source.as_str())
    }

    /// Ids of the nodes directly downstream of `id`.
    pub fn downstream<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.edges
            .iter()
            .filter(move |e| e.source == id)
            .map(|e| e.target.as_str())
    }

    /// Edges whose ends are not nodes of this topology (a bug in whoever built it).
    pub fn dangling_edges(&self) -> Vec<&Edge> {
        self.edges
            .iter()
            .filter(|e| self.node(&e.source).is_none() || self.node(&e.target).is_none())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, health: Health) -> Node {
        Node {
            health,
            ..Node::new(id, id, NodeKind::FlinkOperator)
        }
    }

    #[test]
    fn verdict_is_the_worst_node() {
        let t = Topology {
            nodes: vec![
                node("a", Health::Ok),
                node("b", Health::Warning),
                node("c", Health::Ok),
            ],
            edges: vec![Edge::new("a", "b", ""), Edge::new("b", "c", "")],
            root_causes: Vec::new(),
        };
        assert_eq!(t.verdict(), Health::Warning);
        assert_eq!(t.downstream("a").collect::<Vec<_>>(), vec!["b"]);
        assert!(t.dangling_edges().is_empty());
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in NodeKind::ALL {
            assert_eq!(NodeKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(NodeKind::parse("kafka"), None);
    }

    #[test]
    fn dangling_edges_are_found() {
        let t = Topology {
            nodes: vec![node("a", Health::Ok)],
            edges: vec![Edge::new("a", "zz", "")],
            root_causes: Vec::new(),
        };
        assert_eq!(t.dangling_edges().len(), 1);
    }
}
