//! What to draw at a panel size so its text can be read: the whole graph with its cards as
//! they are or narrower; else each Flink job as one card; else the readable part of it, to be
//! panned; and for a pipeline too large for even that, the coloured overview. Pure, no DOM.

use super::theme::CardGeometry;
use super::viewport::View;
use crate::collapse::{collapse, job_key, jobs};
use crate::graph::Graph;
use crate::layout::{layout, Direction, Layout, Point, Spacing};

/// No text on screen is smaller than this (px).
pub const MIN_SCREEN_FONT: f64 = 11.0;
/// The smallest font of a card or an edge label, in drawing units (see the style sheet).
pub const MIN_CARD_FONT: f64 = 12.0;
/// Below this zoom, card text would be under [`MIN_SCREEN_FONT`]: only shapes are drawn.
pub const READABLE_SCALE: f64 = MIN_SCREEN_FONT / MIN_CARD_FONT;
/// Beyond this many cards, panning at a readable size is no way to see a pipeline.
pub const PAN_LIMIT: usize = 150;

/// Which Flink jobs show their vertices.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Jobs {
    /// Every vertex if that fits at a readable size, else one card per job.
    #[default]
    Auto,
    /// One card per job but for these (by [`job_key`]).
    Open(Vec<String>),
    /// Every vertex, panned if need be.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// All of it fits at a readable size.
    Fit,
    /// Shown at the smallest readable size; the rest is a drag away.
    Pan,
    /// Too large to read whole: coloured cards, text on zoom.
    Overview,
}

pub struct Plan {
    pub graph: Graph,
    pub geometry: CardGeometry,
    pub layout: Layout,
    pub mode: Mode,
    pub view: View,
    /// Whether the full graph has jobs that can be collapsed or opened.
    pub has_jobs: bool,
}

/// Room around the drawing: (top, bottom) for the caption and legend.
pub type Margins = (f64, f64);

pub fn spacing(g: &CardGeometry, direction: Direction) -> Spacing {
    // Gaps shrink with the cards; the edge labels (12 px) still fit between layers, beside
    // the edges in a row (left to right), above one another in a column (top to bottom).
    let k = g.width / 208.0;
    Spacing {
        node_width: g.width,
        node_height: g.height,
        layer_gap: match direction {
            Direction::TopBottom => 48.0,
            Direction::LeftRight if g.compact => 64.0,
            Direction::LeftRight => 96.0 * k,
        },
        node_gap: if g.compact { 14.0 } else { 26.0 * k },
        edge_gap: 10.0,
    }
}

fn lay(graph: &Graph, g: &CardGeometry, direction: Direction) -> Layout {
    let pairs: Vec<(usize, usize)> = graph.edges.iter().map(|e| (e.source, e.target)).collect();
    layout(graph.nodes.len(), &pairs, direction, &spacing(g, direction))
}

/// Picks the graph, card width and view for a panel of `size`.
pub fn plan(
    full: &Graph,
    jobs_state: &Jobs,
    compact: bool,
    direction: Direction,
    size: (f64, f64),
    margins: Margins,
) -> Plan {
    let has_jobs = !jobs(full).is_empty();
    let candidates: Vec<Graph> = match jobs_state {
        Jobs::Auto if has_jobs => vec![full.clone(), collapse(full, &[])],
        Jobs::Auto => vec![full.clone()],
        Jobs::Open(keys) => vec![collapse(full, keys)],
        Jobs::All => vec![full.clone()],
    };
    let widths: &[f64] = if compact {
        &[156.0, 136.0]
    } else {
        &[208.0, 180.0, 156.0]
    };
    let fit = |l: &Layout| View::fit((l.width, l.height), size, margins.0, margins.1);
    let panel_area = size.0 * size.1;
    for graph in &candidates {
        for &w in widths {
            let g = CardGeometry::sized(compact, w);
            // Cheap bound first: the cards alone at a readable size must fit the panel.
            let cards = graph.nodes.len() as f64 * g.width * g.height * READABLE_SCALE.powi(2);
            if cards > panel_area {
                continue;
            }
            let l = lay(graph, &g, direction);
            let view = fit(&l);
            if view.scale >= READABLE_SCALE - 1e-9 {
                return done(graph.clone(), g, l, Mode::Fit, view, has_jobs);
            }
        }
    }
    let last = candidates.last().unwrap_or(full);
    if last.nodes.len() <= PAN_LIMIT {
        // Panned anyway: full-width cards, for whole names.
        let g = CardGeometry::sized(compact, widths[0]);
        let l = lay(last, &g, direction);
        let view = readable_view(last, &l, size, margins);
        return done(last.clone(), g, l, Mode::Pan, view, has_jobs);
    }
    let g = CardGeometry::sized(compact, widths[0]);
    let l = lay(&candidates[0], &g, direction);
    let view = fit(&l);
    done(candidates[0].clone(), g, l, Mode::Overview, view, has_jobs)
}

fn done(graph: Graph, g: CardGeometry, l: Layout, mode: Mode, view: View, has: bool) -> Plan {
    Plan {
        graph,
        geometry: g,
        layout: l,
        mode,
        view,
        has_jobs: has,
    }
}

/// The view a plan starts with: all of it, or (panned) the readable part on the cause.
pub fn view_for(mode: Mode, graph: &Graph, l: &Layout, size: (f64, f64), margins: Margins) -> View {
    match mode {
        Mode::Pan => readable_view(graph, l, size, margins),
        Mode::Fit | Mode::Overview => View::fit((l.width, l.height), size, margins.0, margins.1),
    }
}

/// The view at the smallest readable size, on the root cause (else where the data enters),
/// without showing empty space past the drawing's edges.
fn readable_view(graph: &Graph, l: &Layout, size: (f64, f64), margins: Margins) -> View {
    let s = READABLE_SCALE;
    let focus = graph
        .nodes
        .iter()
        .position(|n| n.bottleneck)
        .and_then(|i| l.nodes.get(i).copied())
        .unwrap_or(Point { x: 0.0, y: 0.0 });
    let margin = 12.0;
    // Above the top cards, room for their ROOT CAUSE badge.
    let (top, bottom) = (margins.0 + margin + 8.0, size.1 - margins.1 - margin);
    let place = |centre: f64, lo: f64, hi: f64, extent: f64| {
        if extent * s <= hi - lo {
            return lo + (hi - lo - extent * s) / 2.0;
        }
        // Keep the drawing's start at `lo` or before, its end at `hi` or after.
        ((lo + hi) / 2.0 - centre * s).min(lo).max(hi - extent * s)
    };
    View {
        scale: s,
        x: place(focus.x, margin, size.0 - margin, l.width),
        y: place(focus.y, top, bottom, l.height),
    }
}

/// The keys of every job of `graph`, to open them all.
pub fn all_job_keys(graph: &Graph) -> Vec<String> {
    jobs(graph).iter().map(|m| job_key(graph, m)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{GraphEdge, GraphNode};
    use pipeline_model::{Health, NodeKind};

    /// A chain of `n` nodes: topic, group, `n - 3` Flink vertices, database.
    fn chain(n: usize) -> Graph {
        let kind = |i: usize| match i {
            0 => NodeKind::KafkaTopic,
            1 => NodeKind::ConsumerGroup,
            i if i == n - 1 => NodeKind::Database,
            _ => NodeKind::FlinkOperator,
        };
        let nodes = (0..n)
            .map(|i| GraphNode {
                id: format!("n{i}"),
                title: format!("n{i}"),
                subtitle: String::new(),
                kind: Some(kind(i)),
                health: Health::Ok,
                reason: String::new(),
                main: None,
                secondary: None,
                details: Vec::new(),
                arcs: [1.0, 0.0, 0.0, 0.0],
                color: None,
                bottleneck: i == 1,
                victim: false,
                row: i,
                job: None,
            })
            .collect();
        let edges = (1..n)
            .map(|i| GraphEdge {
                id: format!("e{i}"),
                source: i - 1,
                target: i,
                main: None,
                secondary: None,
            })
            .collect();
        Graph {
            nodes,
            edges,
            ..Graph::default()
        }
    }

    fn plan_of(g: &Graph, jobs: &Jobs, size: (f64, f64)) -> Plan {
        plan(g, jobs, false, Direction::LeftRight, size, (24.0, 22.0))
    }

    #[test]
    fn a_short_chain_is_drawn_whole_and_readable() {
        let p = plan_of(&chain(4), &Jobs::Auto, (1100.0, 520.0));
        assert_eq!(p.mode, Mode::Fit);
        assert_eq!(p.graph.nodes.len(), 4);
        assert!(p.view.scale >= READABLE_SCALE);
    }

    #[test]
    fn a_long_chain_collapses_its_job_before_shrinking_text() {
        let p = plan_of(&chain(8), &Jobs::Auto, (1100.0, 520.0));
        assert_eq!((p.mode, p.graph.nodes.len()), (Mode::Fit, 4));
        assert!(p.view.scale >= READABLE_SCALE);
        // Opened by the user, it is panned at the smallest readable size instead.
        let open = Jobs::Open(all_job_keys(&chain(8)));
        let p = plan_of(&chain(8), &open, (1100.0, 520.0));
        assert_eq!((p.mode, p.graph.nodes.len()), (Mode::Pan, 8));
        assert_eq!(p.view.scale, READABLE_SCALE);
        // The view starts on the cause (node 1), the drawing's start not past the panel's.
        assert!(p.view.x <= 12.0);
    }

    #[test]
    fn a_huge_pipeline_is_an_overview() {
        // 100 chains of topic -> group -> two vertices -> database.
        let one = chain(5);
        let mut g = Graph::default();
        for k in 0..100 {
            let at = g.nodes.len();
            g.nodes.extend(one.nodes.iter().cloned().map(|mut n| {
                n.id = format!("{k}/{}", n.id);
                n
            }));
            g.edges.extend(one.edges.iter().cloned().map(|mut e| {
                e.source += at;
                e.target += at;
                e
            }));
        }
        let p = plan_of(&g, &Jobs::Auto, (1100.0, 520.0));
        assert_eq!(p.mode, Mode::Overview);
        assert_eq!(p.graph.nodes.len(), 500);
    }
}
