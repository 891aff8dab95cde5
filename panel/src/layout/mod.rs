//! Layered ("Sugiyama") layout of a directed graph, in four passes:
//!
//! 1. [`acyclic`]: reverse a small set of edges so the graph has no cycles (data flows one way).
//! 2. [`layering`]: give each node a layer (a column left-to-right, a row top-to-bottom), and
//!    split edges that span several layers into chains of dummy vertices.
//! 3. [`ordering`]: order each layer to reduce edge crossings (barycentre sweeps).
//! 4. [`position`]: place vertices along each layer as close to their neighbours as the spacing
//!    allows (exact least squares per layer).
//!
//! Pure code, no DOM: the renderer only reads the resulting [`Layout`]. [`memory`] keeps the last
//! layout so a refresh reuses it, or lays the changed graph out with a [`Hint`] from it.

pub mod acyclic;
pub mod layering;
pub mod memory;
pub mod ordering;
pub mod position;

/// Which way data flows on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    LeftRight,
    TopBottom,
}

/// Sizes in pixels. Nodes are all the same size (cards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spacing {
    pub node_width: f64,
    pub node_height: f64,
    /// Gap between neighbouring layers (room for edge labels).
    pub layer_gap: f64,
    /// Gap between neighbouring nodes in one layer.
    pub node_gap: f64,
    /// Room taken in a layer by an edge passing through it.
    pub edge_gap: f64,
}

impl Default for Spacing {
    fn default() -> Spacing {
        Spacing {
            node_width: 200.0,
            node_height: 72.0,
            layer_gap: 90.0,
            node_gap: 24.0,
            edge_gap: 12.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// Where everything goes. Coordinates start at (0, 0); `width`/`height` bound the drawing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Layout {
    /// Centre of each node, in input order.
    pub nodes: Vec<Point>,
    /// For each input edge, the points its line passes through, from source to target
    /// (empty for a self-loop). The first and last points sit on the node borders.
    pub edges: Vec<Vec<Point>>,
    /// Layer of each node (0 = where data enters).
    pub layers: Vec<usize>,
    pub width: f64,
    pub height: f64,
}

/// What the last layout says of each node (by input index; `None` or missing for a new node).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hint {
    /// The node's last layer: it takes no earlier one.
    pub layer: Vec<Option<usize>>,
    /// The node's last place across the layers: it keeps its order and, room allowing, its place.
    pub cross: Vec<Option<f64>>,
}

/// Lays out `node_count` nodes joined by `edges` (pairs of node indices, source to target).
/// Edges with an index out of range are the caller's bug; they are ignored rather than panicking.
pub fn layout(
    node_count: usize,
    edges: &[(usize, usize)],
    direction: Direction,
    spacing: &Spacing,
) -> Layout {
    layout_hinted(node_count, edges, direction, spacing, &Hint::default())
}

/// [`layout`] seeded with where the nodes were last time.
pub fn layout_hinted(
    node_count: usize,
    edges: &[(usize, usize)],
    direction: Direction,
    spacing: &Spacing,
    hint: &Hint,
) -> Layout {
    let valid: Vec<(usize, usize)> = edges
        .iter()
        .map(|&(s, t)| {
            if s < node_count && t < node_count {
                (s, t)
            } else {
                (usize::MAX, usize::MAX)
            }
        })
        .collect();
    // Self-loops and invalid edges take no part in layering.
    let usable: Vec<(usize, usize)> = valid
        .iter()
        .copied()
        .filter(|&(s, t)| s != usize::MAX && s != t)
        .collect();
    let reversed = acyclic::reversed_edges(node_count, &usable);
    let forward: Vec<(usize, usize)> = usable
        .iter()
        .zip(&reversed)
        .map(|(&(s, t), &r)| if r { (t, s) } else { (s, t) })
        .collect();
    let layers = layering::assign_layers_from(node_count, &forward, &hint.layer);
    let graph = layering::LayeredGraph::build(node_count, &layers, &forward);
    let order = ordering::reduce_crossings_ranked(&graph, &hint.cross);

    // The layer axis carries the node's length along the flow, the cross axis its breadth.
    let (along, across) = match direction {
        Direction::LeftRight => (spacing.node_width, spacing.node_height),
        Direction::TopBottom => (spacing.node_height, spacing.node_width),
    };
    let breadth: Vec<f64> = (0..graph.vertex_count())
        .map(|v| {
            if graph.is_dummy(v) {
                spacing.edge_gap
            } else {
                across
            }
        })
        .collect();
    let cross = position::assign(&graph, &order, &breadth, spacing.node_gap, &hint.cross);

    let layer_count = order.len();
    let main = |layer: usize| along / 2.0 + layer as f64 * (along + spacing.layer_gap);
    let to_point = |layer: usize, c: f64| match direction {
        Direction::LeftRight => Point {
            x: main(layer),
            y: c,
        },
        Direction::TopBottom => Point {
            x: c,
            y: main(layer),
        },
    };
    let vertex_point = |v: usize| to_point(graph.layer_of(v), cross[v]);

    let nodes: Vec<Point> = (0..node_count).map(vertex_point).collect();

    // Routes: chains of vertices, reversed back for edges that were turned around.
    let mut chains = graph.chains().iter();
    let mut routes = Vec::with_capacity(valid.len());
    let mut reversed_iter = reversed.iter();
    for &(s, t) in &valid {
        if s == usize::MAX || s == t {
            routes.push(Vec::new());
            continue;
        }
        let flipped = *reversed_iter.next().unwrap_or(&false);
        let chain = chains.next().map(|c| c.as_slice()).unwrap_or(&[]);
        let mut pts: Vec<Point> = chain.iter().map(|&v| vertex_point(v)).collect();
        clip_ends(&mut pts, direction, along);
        if flipped {
            pts.reverse();
        }
        routes.push(pts);
    }

    let extent_cross = (0..graph.vertex_count())
        .map(|v| cross[v] + breadth[v] / 2.0)
        .fold(0.0, f64::max);
    let extent_main = if layer_count == 0 {
        0.0
    } else {
        main(layer_count - 1) + along / 2.0
    };
    let (width, height) = match direction {
        Direction::LeftRight => (extent_main, extent_cross),
        Direction::TopBottom => (extent_cross, extent_main),
    };
    Layout {
        nodes,
        edges: routes,
        layers,
        width,
        height,
    }
}

/// Moves a route's end points from node centres to the node borders facing the flow.
fn clip_ends(pts: &mut [Point], direction: Direction, along: f64) {
    let half = along / 2.0;
    let n = pts.len();
    if n < 2 {
        return;
    }
    match direction {
        Direction::LeftRight => {
            pts[0].x += half;
            pts[n - 1].x -= half;
        }
        Direction::TopBottom => {
            pts[0].y += half;
            pts[n - 1].y -= half;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(a: Point, b: Point, s: &Spacing) -> bool {
        (a.x - b.x).abs() < s.node_width && (a.y - b.y).abs() < s.node_height
    }

    #[test]
    fn a_chain_flows_left_to_right_on_one_line() {
        let s = Spacing::default();
        let l = layout(3, &[(0, 1), (1, 2)], Direction::LeftRight, &s);
        assert!(l.nodes[0].x < l.nodes[1].x && l.nodes[1].x < l.nodes[2].x);
        assert_eq!(l.nodes[0].y, l.nodes[1].y);
        assert_eq!(l.nodes[1].y, l.nodes[2].y);
        // The edge leaves the right border of its source and enters the left border of its target.
        assert_eq!(
            l.edges[0].first().unwrap().x,
            l.nodes[0].x + s.node_width / 2.0
        );
        assert_eq!(
            l.edges[0].last().unwrap().x,
            l.nodes[1].x - s.node_width / 2.0
        );
        assert!(l.width >= 3.0 * s.node_width && l.height >= s.node_height);
    }

    #[test]
    fn top_bottom_swaps_the_axes() {
        let s = Spacing::default();
        let l = layout(2, &[(0, 1)], Direction::TopBottom, &s);
        assert!(l.nodes[0].y < l.nodes[1].y);
        assert_eq!(l.nodes[0].x, l.nodes[1].x);
        assert!(l.height >= 2.0 * s.node_height);
    }

    #[test]
    fn no_two_nodes_overlap_in_a_wide_fan() {
        let s = Spacing::default();
        // One topic read by 30 consumers that all write to one sink.
        let mut edges = Vec::new();
        for i in 1..=30 {
            edges.push((0, i));
            edges.push((i, 31));
        }
        let l = layout(32, &edges, Direction::LeftRight, &s);
        for a in 0..32 {
            for b in a + 1..32 {
                assert!(!overlaps(l.nodes[a], l.nodes[b], &s), "{a} overlaps {b}");
            }
        }
        // The fan's source and sink sit in the middle of the fan, not at one end.
        let ys: Vec<f64> = (1..=30).map(|i| l.nodes[i].y).collect();
        let mid = (ys.iter().cloned().fold(f64::MAX, f64::min)
            + ys.iter().cloned().fold(f64::MIN, f64::max))
            / 2.0;
        assert!((l.nodes[0].y - mid).abs() < 1.0);
        assert!((l.nodes[31].y - mid).abs() < 1.0);
    }

    #[test]
    fn long_edges_bend_through_the_layers_they_cross() {
        let s = Spacing::default();
        let l = layout(
            4,
            &[(0, 1), (1, 2), (2, 3), (0, 3)],
            Direction::LeftRight,
            &s,
        );
        // 0 -> 3 spans three layers: two dummy points between its ends.
        assert_eq!(l.edges[3].len(), 4);
        let xs: Vec<f64> = l.edges[3].iter().map(|p| p.x).collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn cycles_self_loops_and_bad_indices_do_not_break_it() {
        let s = Spacing::default();
        let l = layout(
            3,
            &[(0, 1), (1, 2), (2, 0), (1, 1), (0, 9)],
            Direction::LeftRight,
            &s,
        );
        assert_eq!(l.nodes.len(), 3);
        assert_eq!(l.edges.len(), 5);
        assert!(l.edges[3].is_empty() && l.edges[4].is_empty());
        // The edge that closes the cycle still runs from its source to its target.
        let back = &l.edges[2];
        assert_eq!(back.first().unwrap().x, l.nodes[2].x - s.node_width / 2.0);
        assert_eq!(back.last().unwrap().x, l.nodes[0].x + s.node_width / 2.0);
    }

    #[test]
    fn empty_graph_has_an_empty_layout() {
        let l = layout(0, &[], Direction::LeftRight, &Spacing::default());
        assert!(l.nodes.is_empty());
        assert_eq!((l.width, l.height), (0.0, 0.0));
    }

    #[test]
    fn a_two_thousand_node_pipeline_is_laid_out_without_overlaps() {
        let s = Spacing::default();
        let (n, edges) = crate::layout::tests_support::pipeline(2000);
        let l = layout(n, &edges, Direction::LeftRight, &s);
        // Nodes of one layer never overlap.
        let mut by_layer: std::collections::HashMap<usize, Vec<f64>> = Default::default();
        for (i, p) in l.nodes.iter().enumerate() {
            by_layer.entry(l.layers[i]).or_default().push(p.y);
        }
        for ys in by_layer.values_mut() {
            ys.sort_by(f64::total_cmp);
            assert!(ys.windows(2).all(|w| w[1] - w[0] >= s.node_height));
        }
        for (&(a, b), route) in edges.iter().zip(&l.edges) {
            assert!(l.layers[a] < l.layers[b], "edge {a}->{b} goes backwards");
            assert!(route.len() >= 2);
        }
    }
}

/// Graphs shaped like real pipelines, shared by the tests of every pass.
#[cfg(test)]
pub(crate) mod tests_support {
    /// `n` nodes in chains of topic -> group -> source -> operators -> sink -> database, with
    /// some topics shared by two jobs (fan-out) and some databases shared (fan-in).
    pub fn pipeline(n: usize) -> (usize, Vec<(usize, usize)>) {
        let mut edges = Vec::new();
        let chain = 8;
        let mut i = 0;
        while i + chain <= n {
            for k in 0..chain - 1 {
                edges.push((i + k, i + k + 1));
            }
            if i >= chain {
                // Fan-out from the previous chain's topic, fan-in to its database.
                edges.push((i - chain, i + 1));
                edges.push((i + chain - 2, i - 1));
            }
            i += chain;
        }
        for k in i..n {
            if k > 0 {
                edges.push((k - 1, k));
            }
        }
        (n, edges)
    }
}
