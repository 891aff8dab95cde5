//! Fewer, larger things: a Flink job's chain of vertices drawn as one card, so a pipeline still
//! fits a dashboard panel at a size its text can be read. The card takes the worst health of
//! its vertices and the worst vertex's reason and numbers; clicking it shows the vertices again.

use std::collections::HashMap;

use pipeline_model::NodeKind;

use crate::graph::{Graph, GraphEdge, GraphNode, JobCard};

fn is_flink(n: &GraphNode) -> bool {
    n.kind.is_some_and(NodeKind::is_flink_vertex)
}

/// The jobs: Flink vertices joined by edges between them, two or more, each as node indices.
pub fn jobs(graph: &Graph) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..graph.nodes.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for e in &graph.edges {
        if is_flink(&graph.nodes[e.source]) && is_flink(&graph.nodes[e.target]) {
            let (a, b) = (root(&mut parent, e.source), root(&mut parent, e.target));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut by_root: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, n) in graph.nodes.iter().enumerate() {
        if is_flink(n) {
            let r = root(&mut parent, i);
            by_root.entry(r).or_default().push(i);
        }
    }
    let mut jobs: Vec<Vec<usize>> = by_root.into_values().filter(|m| m.len() > 1).collect();
    jobs.sort();
    jobs
}

/// The key a job is known by across refreshes: the smallest id of its vertices.
pub fn job_key(graph: &Graph, members: &[usize]) -> String {
    members
        .iter()
        .map(|&i| graph.nodes[i].id.as_str())
        .min()
        .unwrap_or_default()
        .to_string()
}

/// `graph` with every job not in `open` collapsed into one card.
pub fn collapse(graph: &Graph, open: &[String]) -> Graph {
    let mut card_of: Vec<Option<usize>> = vec![None; graph.nodes.len()];
    let mut cards: Vec<GraphNode> = Vec::new();
    for members in jobs(graph) {
        let key = job_key(graph, &members);
        if open.contains(&key) {
            continue;
        }
        for &m in &members {
            card_of[m] = Some(cards.len());
        }
        cards.push(job_card(graph, &members, key));
    }
    // Nodes keep their order; a job's card takes the place of its first vertex.
    let mut index = vec![0; graph.nodes.len()];
    let mut placed: Vec<Option<usize>> = vec![None; cards.len()];
    let mut nodes = Vec::new();
    for (i, n) in graph.nodes.iter().enumerate() {
        index[i] = match card_of[i] {
            None => {
                nodes.push(n.clone());
                nodes.len() - 1
            }
            Some(c) => *placed[c].get_or_insert_with(|| {
                nodes.push(cards[c].clone());
                nodes.len() - 1
            }),
        };
    }
    Graph {
        nodes,
        edges: merge_edges(&graph.edges, &index),
        ..graph.clone()
    }
}

fn job_card(graph: &Graph, members: &[usize], key: String) -> GraphNode {
    let nodes: Vec<&GraphNode> = members.iter().map(|&i| &graph.nodes[i]).collect();
    let worst = *nodes
        .iter()
        .max_by_key(|n| (n.health, n.bottleneck, !n.reason.is_empty()))
        .unwrap_or(&nodes[0]);
    // The job's name: our datasource writes it as every vertex's subtitle.
    let job_name = Some(nodes[0].subtitle.trim())
        .filter(|s| !s.is_empty() && nodes.iter().all(|n| n.subtitle.trim() == *s));
    let mut arcs = [0.0; 4];
    for n in &nodes {
        for (a, v) in arcs.iter_mut().zip(n.arcs) {
            *a += v;
        }
    }
    let bottleneck = nodes.iter().any(|n| n.bottleneck);
    GraphNode {
        id: format!("job:{key}"),
        title: job_name.unwrap_or(&nodes[0].title).to_string(),
        subtitle: format!("Flink job · {} vertices", nodes.len()),
        kind: Some(NodeKind::FlinkOperator),
        health: worst.health,
        reason: if worst.reason.is_empty() {
            String::new()
        } else {
            format!("{}: {}", worst.title, worst.reason)
        },
        main: worst.main.clone(),
        secondary: worst.secondary.clone(),
        // Its reason is the card's reason, named after the vertex.
        details: (worst.details.iter())
            .filter(|d| d.text != worst.reason)
            .cloned()
            .collect(),
        arcs,
        color: None,
        bottleneck,
        victim: !bottleneck && nodes.iter().any(|n| n.victim),
        row: worst.row,
        job: Some(JobCard {
            key,
            vertices: nodes.len(),
        }),
    }
}

/// Edges between the new nodes: those inside a job go, parallel ones become one (keeping their
/// label only when they all say the same).
fn merge_edges(edges: &[GraphEdge], index: &[usize]) -> Vec<GraphEdge> {
    let mut out: Vec<GraphEdge> = Vec::new();
    for e in edges {
        let (source, target) = (index[e.source], index[e.target]);
        if source == target {
            continue;
        }
        match out
            .iter_mut()
            .find(|o| o.source == source && o.target == target)
        {
            Some(o) => {
                if o.main != e.main {
                    o.main = None;
                }
                if o.secondary != e.secondary {
                    o.secondary = None;
                }
            }
            None => out.push(GraphEdge {
                source,
                target,
                ..e.clone()
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline_model::Health;

    fn node(id: &str, kind: NodeKind, health: Health) -> GraphNode {
        GraphNode {
            id: id.into(),
            title: id.into(),
            subtitle: if id.starts_with("flink/") {
                "roas".into()
            } else {
                String::new()
            },
            kind: Some(kind),
            health,
            reason: if health == Health::Ok {
                String::new()
            } else {
                "busy 97%".into()
            },
            main: None,
            secondary: None,
            details: Vec::new(),
            arcs: [1.0, 0.0, 0.0, 0.0],
            color: None,
            bottleneck: health == Health::Critical,
            victim: false,
            row: 0,
            job: None,
        }
    }

    fn edge(source: usize, target: usize) -> GraphEdge {
        GraphEdge {
            id: format!("{source}-{target}"),
            source,
            target,
            main: None,
            secondary: None,
        }
    }

    /// Two topics -> group -> two sources -> join -> sink -> database.
    fn roas() -> Graph {
        use NodeKind::*;
        Graph {
            nodes: vec![
                node("clicks", KafkaTopic, Health::Ok),
                node("impressions", KafkaTopic, Health::Ok),
                node("group", ConsumerGroup, Health::Warning),
                node("flink/j/a", FlinkSource, Health::Ok),
                node("flink/j/b", FlinkSource, Health::Ok),
                node("flink/j/join", FlinkOperator, Health::Critical),
                node("flink/j/sink", FlinkSink, Health::Warning),
                node("pg", Database, Health::Ok),
            ],
            edges: vec![
                edge(0, 2),
                edge(1, 2),
                edge(2, 3),
                edge(2, 4),
                edge(3, 5),
                edge(4, 5),
                edge(5, 6),
                edge(6, 7),
            ],
            ..Graph::default()
        }
    }

    #[test]
    fn a_job_becomes_one_card_with_its_worst_vertex() {
        let g = roas();
        assert_eq!(jobs(&g), vec![vec![3, 4, 5, 6]]);
        let c = collapse(&g, &[]);
        assert_eq!(c.nodes.len(), 5);
        let card = &c.nodes[3];
        assert_eq!(card.title, "roas");
        assert_eq!(card.health, Health::Critical);
        assert_eq!(card.reason, "flink/j/join: busy 97%");
        assert!(card.bottleneck);
        assert_eq!(card.arcs[0], 4.0);
        assert_eq!(card.job.as_ref().unwrap().vertices, 4);
        let pairs: Vec<(usize, usize)> = c.edges.iter().map(|e| (e.source, e.target)).collect();
        assert_eq!(pairs, [(0, 2), (1, 2), (2, 3), (3, 4)]);
    }

    #[test]
    fn an_open_job_stays_as_it_is() {
        let g = roas();
        let key = job_key(&g, &jobs(&g)[0]);
        assert_eq!(key, "flink/j/a");
        assert_eq!(collapse(&g, &[key]), g);
    }
}
