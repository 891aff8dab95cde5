//! From frames to the graph the panel draws: find the nodes and edges frames (ours or any in
//! Node Graph shape), read each row, and say clearly what is wrong when the frames are not usable.

use std::collections::HashMap;
use std::fmt;

mod stats;

use pipeline_model::frame_contract::{
    self, edge_fields as E, frames as F, node_fields as N, node_meta as M,
};
use pipeline_model::{Health, NodeKind};

use crate::handoff::{Frame, PanelData};

/// A number as Grafana displays it, with what it measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub label: String,
    /// The value alone, as Grafana displays it ("97.0%").
    pub text: String,
    /// Threshold colour, when the field has thresholds.
    pub color: Option<String>,
    /// The field the value was read from, so one number is listed once.
    pub source: String,
}

/// A card standing for a whole Flink job (its vertices collapsed).
#[derive(Debug, Clone, PartialEq)]
pub struct JobCard {
    /// Stable across refreshes: the smallest id of its vertices.
    pub key: String,
    pub vertices: usize,
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
    /// Named as the root cause (the frames' `bottleneck` field).
    pub bottleneck: bool,
    /// Unhealthy because of the root cause.
    pub victim: bool,
    /// Row in the nodes frame (the shim resolves data links by row).
    pub row: usize,
    /// Set on a card that stands for a collapsed Flink job.
    pub job: Option<JobCard>,
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
    /// The root cause in a sentence (the nodes frame's `rootCause`, else the marked node's reason).
    pub root_cause: Option<String>,
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
    read_cause(nodes_frame, &mut graph);
    Ok(graph)
}

/// Marks every node of the cause (`causeNodes`, `bottleneck` metadata) and keeps its sentence.
fn read_cause(frame: &Frame, graph: &mut Graph) {
    for id in frame
        .meta(M::CAUSE_NODES)
        .iter()
        .chain(frame.meta(M::BOTTLENECK))
    {
        if let Some(n) = graph.nodes.iter_mut().find(|n| &n.id == id) {
            n.bottleneck = true;
        }
    }
    graph.root_cause = frame
        .meta(M::ROOT_CAUSE)
        .first()
        .filter(|s| !s.trim().is_empty())
        .cloned()
        .or_else(|| {
            let b = graph.bottleneck()?;
            Some(if b.reason.is_empty() {
                b.title.clone()
            } else {
                format!("{}: {}", b.title, b.reason)
            })
        });
}

fn text(frame: &Frame, name: &str, row: usize) -> String {
    frame
        .field(name)
        .and_then(|f| f.column.display(row))
        .unwrap_or_default()
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
                    source: f.name.clone(),
                })
            })
            .collect::<Vec<_>>();
        let title = text(frame, N::TITLE, row);
        seen.insert(id.clone(), graph.nodes.len());
        graph.nodes.push(GraphNode {
            title: if title.is_empty() { id.clone() } else { title },
            subtitle: text(frame, N::SUBTITLE, row),
            kind: NodeKind::parse(text(frame, N::KIND, row).trim()),
            health,
            reason: text(frame, N::REASON, row),
            main: stats::stat(frame, N::MAINSTAT, row, &details),
            secondary: stats::stat(frame, N::SECONDARYSTAT, row, &details),
            details,
            arcs,
            color: frame
                .field(N::COLOR)
                .and_then(|f| f.column.raw_text(row))
                .filter(|c| !c.trim().is_empty()),
            bottleneck: frame
                .field(N::BOTTLENECK)
                .is_some_and(|f| f.column.flag(row)),
            victim: frame.field(N::VICTIM).is_some_and(|f| f.column.flag(row)),
            row,
            id,
            job: None,
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
                    main: stats::stat(frame, E::MAINSTAT, row, &[]),
                    secondary: stats::stat(frame, E::SECONDARYSTAT, row, &[]),
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
mod tests;
