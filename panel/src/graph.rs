//! From frames to the graph the panel draws: find the nodes and edges frames (ours or any in
//! Node Graph shape), read each row, and say clearly what is wrong when the frames are not usable.

use std::collections::HashMap;
use std::fmt;

use pipeline_model::frame_contract::{self, edge_fields as E, frames as F, node_fields as N};
use pipeline_model::{Health, NodeKind};

use crate::handoff::{Frame, PanelData};

/// A number as Grafana displays it, with the field's display name.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub label: String,
    pub text: String,
    /// Threshold colour, when the field has thresholds.
    pub color: Option<String>,
}

/// Arc fractions (ok, warning, critical, unknown), as in Grafana's Node Graph.
pub const ARCS: [(&str, Health); 4] = frame_contract::ARC_FIELDS;

#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    pub id: String,
    pub title: String,
    pub subtitle: String,
    pub kind: Option<NodeKind>,
    pub health: Health,
    pub reason: String,
    pub main: Option<Shown>,
    pub secondary: Option<Shown>,
    /// Every `detail__*` field, in frame order.
    pub details: Vec<Shown>,
    pub arcs: [f64; 4],
    /// The frame's `color` field, used when the node has no health of its own.
    pub color: Option<String>,
    pub bottleneck: bool,
    /// Row in the nodes frame (the shim resolves data links by row).
    pub row: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GraphEdge {
    pub id: String,
    pub source: usize,
    pub target: usize,
    pub main: Option<Shown>,
    pub secondary: Option<Shown>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// Problems that did not stop the drawing (dropped rows), shown above the graph.
    pub warnings: Vec<String>,
    /// Index of the nodes frame among the panel's frames (for data links).
    pub nodes_frame: usize,
}

impl Graph {
    pub fn bottleneck(&self) -> Option<&GraphNode> {
        self.nodes.iter().find(|n| n.bottleneck)
    }

    pub fn count(&self, health: Health) -> usize {
        self.nodes.iter().filter(|n| n.health == health).count()
    }
}

/// Why there is nothing to draw; the text is shown in the panel.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    NoData,
    NoNodes,
    QueryFailed(String),
    Malformed(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NoData => f.write_str(
                "No data. This panel draws the Topology query of the Pipeline Health data source, \
                 or any nodes and edges frames in Node Graph shape.",
            ),
            Problem::NoNodes => f.write_str(
                "The topology has no nodes: the query found no topics, consumer groups or jobs to draw.",
            ),
            Problem::QueryFailed(msg) => write!(f, "The query failed: {msg}"),
            Problem::Malformed(msg) => write!(f, "Cannot draw these frames: {msg}"),
        }
    }
}

/// Reads the graph out of the panel's data.
pub fn read_graph(data: &PanelData) -> Result<Graph, Problem> {
    if let Some(err) = data.error.as_deref().filter(|e| !e.trim().is_empty()) {
        return Err(Problem::QueryFailed(err.trim().to_string()));
    }
    let frames: Vec<(usize, &Frame)> = data
        .frames
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.fields.is_empty())
        .collect();
    if frames.is_empty() {
        return Err(Problem::NoData);
    }
    let is_edges = |f: &Frame| f.field(E::SOURCE).is_some() && f.field(E::TARGET).is_some();
    let find = |pred: &dyn Fn(&Frame) -> bool| frames.iter().copied().find(|(_, f)| pred(f));
    let edges_frame = find(&|f| is_edges(f)).or_else(|| find(&|f| f.name == F::EDGES));
    let nodes_frame = find(&|f| f.name == F::NODES)
        .or_else(|| find(&|f| !is_edges(f) && f.field(N::ID).is_some()));
    let Some((nodes_index, nodes_frame)) = nodes_frame else {
        let seen: Vec<String> = frames
            .iter()
            .map(|(_, f)| format!("\"{}\" ({})", f.name, f.field_names()))
            .collect();
        return Err(Problem::Malformed(format!(
            "no nodes frame. Expected a frame named \"nodes\" with an \"id\" field \
             (Node Graph shape); got {}.",
            seen.join("; ")
        )));
    };
    let mut graph = Graph {
        nodes_frame: nodes_index,
        ..Graph::default()
    };
    read_nodes(nodes_frame, &mut graph)?;
    if graph.nodes.is_empty() {
        return Err(Problem::NoNodes);
    }
    if let Some((_, edges_frame)) = edges_frame {
        read_edges(edges_frame, &mut graph)?;
    }
    Ok(graph)
}

fn text(frame: &Frame, name: &str, row: usize) -> String {
    frame
        .field(name)
        .and_then(|f| f.column.display(row))
        .unwrap_or_default()
}

fn shown(frame: &Frame, name: &str, row: usize) -> Option<Shown> {
    let field = frame.field(name)?;
    let text = field.column.display(row).filter(|t| !t.is_empty())?;
    Some(Shown {
        label: field.label.clone(),
        text,
        color: field.column.color(row),
    })
}

fn read_nodes(frame: &Frame, graph: &mut Graph) -> Result<(), Problem> {
    let Some(ids) = frame.field(N::ID) else {
        return Err(Problem::Malformed(format!(
            "the nodes frame has no \"id\" field (it has {}).",
            frame.field_names()
        )));
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (mut blank, mut duplicate) = (0, Vec::new());
    for row in 0..frame.rows() {
        let id = ids.column.raw_text(row).unwrap_or_default();
        if id.trim().is_empty() {
            blank += 1;
            continue;
        }
        if seen.contains_key(&id) {
            duplicate.push(id);
            continue;
        }
        let mut arcs = [0.0; 4];
        for (slot, (name, _)) in arcs.iter_mut().zip(ARCS) {
            *slot = frame
                .field(name)
                .and_then(|f| f.column.number(row))
                .filter(|v| *v > 0.0)
                .unwrap_or(0.0);
        }
        let health = frame
            .field(N::HEALTH)
            .and_then(|f| f.column.raw_text(row))
            .and_then(|h| parse_health(&h))
            .unwrap_or_else(|| health_from_arcs(&arcs));
        let details = frame
            .fields
            .iter()
            .filter(|f| f.name.starts_with(N::DETAIL_PREFIX))
            .filter_map(|f| {
                let text = f.column.display(row).filter(|t| !t.is_empty())?;
                let label = if f.label == f.name {
                    f.name[N::DETAIL_PREFIX.len()..].to_string()
                } else {
                    f.label.clone()
                };
                Some(Shown {
                    label,
                    text,
                    color: f.column.color(row),
                })
            })
            .collect();
        let title = text(frame, N::TITLE, row);
        seen.insert(id.clone(), graph.nodes.len());
        graph.nodes.push(GraphNode {
            title: if title.is_empty() { id.clone() } else { title },
            subtitle: text(frame, N::SUBTITLE, row),
            kind: NodeKind::parse(text(frame, N::KIND, row).trim()),
            health,
            reason: text(frame, N::REASON, row),
            main: shown(frame, N::MAINSTAT, row),
            secondary: shown(frame, N::SECONDARYSTAT, row),
            details,
            arcs,
            color: frame
                .field(N::COLOR)
                .and_then(|f| f.column.raw_text(row))
                .filter(|c| !c.trim().is_empty()),
            bottleneck: frame
                .field(N::BOTTLENECK)
                .is_some_and(|f| f.column.flag(row)),
            row,
            id,
        });
    }
    if blank > 0 {
        graph
            .warnings
            .push(format!("{blank} node row(s) without an id were skipped."));
    }
    if !duplicate.is_empty() {
        graph.warnings.push(format!(
            "{} node id(s) appear more than once; only the first row is drawn (e.g. \"{}\").",
            duplicate.len(),
            duplicate[0]
        ));
    }
    Ok(())
}

fn read_edges(frame: &Frame, graph: &mut Graph) -> Result<(), Problem> {
    let (Some(sources), Some(targets)) = (frame.field(E::SOURCE), frame.field(E::TARGET)) else {
        return Err(Problem::Malformed(format!(
            "the edges frame needs \"source\" and \"target\" fields (it has {}).",
            frame.field_names()
        )));
    };
    let index: HashMap<&str, usize> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut dangling = Vec::new();
    let mut edges = Vec::new();
    for row in 0..frame.rows() {
        let s = sources.column.raw_text(row).unwrap_or_default();
        let t = targets.column.raw_text(row).unwrap_or_default();
        match (index.get(s.as_str()), index.get(t.as_str())) {
            (Some(&source), Some(&target)) => {
                let id = text(frame, E::ID, row);
                edges.push(GraphEdge {
                    id: if id.is_empty() {
                        frame_contract::edge_id(&s, &t)
                    } else {
                        id
                    },
                    source,
                    target,
                    main: shown(frame, E::MAINSTAT, row),
                    secondary: shown(frame, E::SECONDARYSTAT, row),
                });
            }
            _ => dangling.push(format!("{s} -> {t}")),
        }
    }
    if !dangling.is_empty() {
        graph.warnings.push(format!(
            "{} edge(s) point to nodes missing from the nodes frame and are not drawn (e.g. {}).",
            dangling.len(),
            dangling[0]
        ));
    }
    graph.edges = edges;
    Ok(())
}

pub fn parse_health(s: &str) -> Option<Health> {
    match s.trim().to_ascii_lowercase().as_str() {
        "ok" | "healthy" => Some(Health::Ok),
        "warning" | "warn" => Some(Health::Warning),
        "critical" | "error" => Some(Health::Critical),
        "unknown" => Some(Health::Unknown),
        _ => None,
    }
}

/// Without a `health` field, the worst state that has a share of the node's arc.
fn health_from_arcs(arcs: &[f64; 4]) -> Health {
    Health::worst(
        arcs.iter()
            .zip(ARCS)
            .filter(|(v, _)| **v > 0.0)
            .map(|(_, (_, h))| h),
    )
    .max(if arcs.iter().all(|v| *v == 0.0) {
        Health::Unknown
    } else {
        Health::Ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handoff::{Column, Field};

    fn text_column(values: &[&str]) -> Column {
        Column::Text(values.iter().map(|s| s.to_string()).collect())
    }

    fn field(name: &str, column: Column) -> Field {
        Field {
            name: name.into(),
            label: name.into(),
            column,
        }
    }

    fn numbers(values: &[f64], unit: &str) -> Column {
        Column::Number {
            values: values.to_vec(),
            display: values.iter().map(|v| format!("{v} {unit}")).collect(),
            colors: Vec::new(),
        }
    }

    fn one_frame(name: &str, fields: Vec<Field>) -> PanelData {
        PanelData {
            frames: vec![Frame {
                name: name.into(),
                fields,
            }],
            error: None,
        }
    }

    fn topology() -> PanelData {
        PanelData {
            frames: vec![
                Frame {
                    name: "nodes".into(),
                    fields: vec![
                        field("id", text_column(&["t", "g", "db"])),
                        field("title", text_column(&["orders", "enricher", ""])),
                        field(
                            "kind",
                            text_column(&["kafka-topic", "consumer-group", "database"]),
                        ),
                        field("health", text_column(&["ok", "critical", "weird"])),
                        field("reason", text_column(&["", "lag 5 min", ""])),
                        field("mainstat", numbers(&[120.0, 30000.0, 1.0], "msg/s")),
                        field("bottleneck", numbers(&[0.0, 1.0, 0.0], "")),
                        field("detail__lag_seconds", numbers(&[0.0, 300.0, 0.0], "s")),
                        field("arc__ok", numbers(&[1.0, 0.0, 0.0], "")),
                        field("arc__critical", numbers(&[0.0, 1.0, 0.0], "")),
                    ],
                },
                Frame {
                    name: "edges".into(),
                    fields: vec![
                        field("id", text_column(&["e1", "e2", "e3"])),
                        field("source", text_column(&["t", "g", "g"])),
                        field("target", text_column(&["g", "db", "nowhere"])),
                        field("mainstat", numbers(&[120.0, 118.0, 1.0], "msg/s")),
                    ],
                },
            ],
            error: None,
        }
    }

    #[test]
    fn reads_nodes_edges_and_their_numbers() {
        let g = read_graph(&topology()).unwrap();
        assert_eq!(g.nodes.len(), 3);
        let group = &g.nodes[1];
        assert_eq!(group.title, "enricher");
        assert_eq!(group.kind, Some(NodeKind::ConsumerGroup));
        assert_eq!(group.health, Health::Critical);
        assert_eq!(group.reason, "lag 5 min");
        assert_eq!(group.main.as_ref().unwrap().text, "30000 msg/s");
        assert_eq!(group.details[0].label, "lag_seconds");
        assert!(group.bottleneck);
        assert_eq!(g.bottleneck().unwrap().id, "g");
        // A title-less node is called by its id; an unknown health word falls back to the arcs.
        assert_eq!(g.nodes[2].title, "db");
        assert_eq!(g.nodes[2].health, Health::Unknown);
        assert_eq!(g.edges.len(), 2);
        assert_eq!((g.edges[1].source, g.edges[1].target), (1, 2));
        assert_eq!(g.edges[0].main.as_ref().unwrap().text, "120 msg/s");
    }

    #[test]
    fn dangling_edges_are_dropped_with_a_warning() {
        let g = read_graph(&topology()).unwrap();
        assert_eq!(g.warnings.len(), 1);
        assert!(g.warnings[0].contains("g -> nowhere"), "{}", g.warnings[0]);
    }

    #[test]
    fn a_query_error_is_shown_as_such() {
        let data = PanelData {
            error: Some("Flink REST at http://x:8081 refused the connection".into()),
            ..topology()
        };
        let p = read_graph(&data).unwrap_err();
        assert!(p.to_string().starts_with("The query failed: Flink REST"));
    }

    #[test]
    fn no_frames_means_no_data() {
        assert_eq!(read_graph(&PanelData::default()), Err(Problem::NoData));
        let empty = PanelData {
            frames: vec![Frame::default()],
            error: None,
        };
        assert_eq!(read_graph(&empty), Err(Problem::NoData));
    }

    #[test]
    fn an_empty_nodes_frame_says_so() {
        let data = one_frame("nodes", vec![field("id", text_column(&[]))]);
        assert_eq!(read_graph(&data), Err(Problem::NoNodes));
    }

    #[test]
    fn frames_of_another_shape_name_what_was_found() {
        let data = one_frame(
            "A",
            vec![
                field("time", numbers(&[1.0], "")),
                field("value", numbers(&[2.0], "")),
            ],
        );
        let msg = read_graph(&data).unwrap_err().to_string();
        assert!(msg.contains("no nodes frame"), "{msg}");
        assert!(msg.contains("\"A\" (time, value)"), "{msg}");
    }

    #[test]
    fn a_nodes_frame_without_ids_is_malformed() {
        let data = one_frame("nodes", vec![field("title", text_column(&["x"]))]);
        let msg = read_graph(&data).unwrap_err().to_string();
        assert!(msg.contains("no \"id\" field (it has title)"), "{msg}");
    }

    #[test]
    fn duplicate_and_blank_ids_are_skipped_with_warnings() {
        let data = one_frame(
            "nodes",
            vec![field("id", text_column(&["a", "", "a", "b"]))],
        );
        let g = read_graph(&data).unwrap();
        assert_eq!(g.nodes.len(), 2);
        assert_eq!(g.warnings.len(), 2);
    }

    #[test]
    fn plain_node_graph_frames_work_with_numeric_ids() {
        let data = PanelData {
            frames: vec![
                Frame {
                    name: "".into(),
                    fields: vec![
                        field("id", numbers(&[1.0, 2.0], "")),
                        field("arc__warning", numbers(&[0.3, 0.0], "")),
                        field("arc__ok", numbers(&[0.7, 1.0], "")),
                    ],
                },
                Frame {
                    name: "".into(),
                    fields: vec![
                        field("source", numbers(&[1.0], "")),
                        field("target", numbers(&[2.0], "")),
                    ],
                },
            ],
            error: None,
        };
        let g = read_graph(&data).unwrap();
        assert_eq!(g.nodes[0].id, "1");
        assert_eq!(g.nodes_frame, 0);
        assert_eq!(g.nodes[0].health, Health::Warning);
        assert_eq!(g.nodes[1].health, Health::Ok);
        assert_eq!(g.edges.len(), 1);
        assert_eq!(g.edges[0].id, "1->2");
    }
}
