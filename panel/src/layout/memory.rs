//! The last layout, kept so a live dashboard's refresh does not reshuffle the drawing: the same
//! nodes and edges get the same layout back (numbers alone never move a node), and a changed
//! graph is laid out with a [`Hint`] from the last one, so the nodes it keeps hold their layer,
//! their order and (room allowing) their place. Keyed by node id, as rows may come in any order.

use std::collections::HashMap;

use super::{layout_hinted, Direction, Hint, Layout, Point, Spacing};

/// A layout and how far the nodes it shares with the last one typically moved (`None` when it
/// shares none: a new graph, or new options, where keeping the old view makes no sense).
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub layout: Layout,
    pub moved: Option<Point>,
}

#[derive(Debug, Clone, Default)]
pub struct Memory {
    last: Option<Last>,
}

#[derive(Debug, Clone)]
struct Last {
    ids: Vec<String>,
    edges: Vec<(usize, usize)>,
    direction: Direction,
    spacing: Spacing,
    layout: Layout,
}

impl Memory {
    /// Lays out nodes `ids` (unique) joined by `edges` (indices into `ids`), and remembers it.
    pub fn layout(
        &mut self,
        ids: &[&str],
        edges: &[(usize, usize)],
        direction: Direction,
        spacing: &Spacing,
    ) -> Placed {
        // A layout for other options says nothing about this one.
        let last = self
            .last
            .take()
            .filter(|l| l.direction == direction && l.spacing == *spacing);
        let layout = match &last {
            Some(l) if l.edges == edges && l.ids.iter().eq(ids) => l.layout.clone(),
            Some(l) => layout_hinted(ids.len(), edges, direction, spacing, &l.hint(ids)),
            None => layout_hinted(ids.len(), edges, direction, spacing, &Hint::default()),
        };
        let moved = last.as_ref().and_then(|l| l.typical_move(ids, &layout));
        self.last = Some(Last {
            ids: ids.iter().map(|s| s.to_string()).collect(),
            edges: edges.to_vec(),
            direction,
            spacing: *spacing,
            layout: layout.clone(),
        });
        Placed { layout, moved }
    }
}

impl Last {
    /// For each of `ids`, its index in the last layout.
    fn matches<'a>(&'a self, ids: &'a [&str]) -> impl Iterator<Item = Option<usize>> + 'a {
        let index: HashMap<&str, usize> = self
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        ids.iter().map(move |id| index.get(id).copied())
    }

    fn hint(&self, ids: &[&str]) -> Hint {
        let (layer, cross) = self
            .matches(ids)
            .map(|old| match old {
                Some(i) => {
                    let p = self.layout.nodes[i];
                    let across = match self.direction {
                        Direction::LeftRight => p.y,
                        Direction::TopBottom => p.x,
                    };
                    (Some(self.layout.layers[i]), Some(across))
                }
                None => (None, None),
            })
            .unzip();
        Hint { layer, cross }
    }

    /// The median move of the nodes kept: the one most of them made (the whole drawing shifted
    /// to start at 0), not pulled off by the few a newcomer pushed aside.
    fn typical_move(&self, ids: &[&str], layout: &Layout) -> Option<Point> {
        let (mut dx, mut dy): (Vec<f64>, Vec<f64>) = self
            .matches(ids)
            .enumerate()
            .filter_map(|(new, old)| {
                let (p, q) = (layout.nodes[new], self.layout.nodes[old?]);
                Some((p.x - q.x, p.y - q.y))
            })
            .unzip();
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        (!dx.is_empty()).then(|| Point {
            x: median(&mut dx),
            y: median(&mut dy),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{layout, tests_support::pipeline};

    const LR: Direction = Direction::LeftRight;

    fn lay(memory: &mut Memory, ids: &[String], edges: &[(usize, usize)]) -> Placed {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        memory.layout(&ids, edges, LR, &Spacing::default())
    }

    /// `pipeline(n)` with ids n0, n1, ..., and a memory that laid it out once.
    fn remembered(n: usize) -> (Memory, Vec<String>, Vec<(usize, usize)>, Layout) {
        let (n, edges) = pipeline(n);
        let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        let mut memory = Memory::default();
        let first = lay(&mut memory, &ids, &edges);
        assert_eq!(
            first.moved, None,
            "nothing to compare the first layout with"
        );
        (memory, ids, edges, first.layout)
    }

    /// Old node `old` (now `new`) is where it was in `before`, less the typical move (what the
    /// view makes up for).
    fn assert_in_place(before: &Layout, after: &Placed, old: usize, new: usize) {
        let m = after.moved.unwrap();
        let (p, q) = (after.layout.nodes[new], before.nodes[old]);
        let d = (p.x - m.x - q.x, p.y - m.y - q.y);
        assert!(
            d.0.abs() < 1e-6 && d.1.abs() < 1e-6,
            "node {old} moved by {d:?}"
        );
    }

    #[test]
    fn the_same_graph_gets_the_same_layout_and_no_move() {
        let (mut memory, ids, edges, first) = remembered(120);
        assert_eq!(first, layout(ids.len(), &edges, LR, &Spacing::default()));
        let again = lay(&mut memory, &ids, &edges);
        assert_eq!(again.layout, first);
        assert_eq!(again.moved, Some(Point::default()));
    }

    #[test]
    fn rows_in_another_order_keep_every_node_in_place() {
        let (mut memory, ids, edges, first) = remembered(64);
        // The same graph with its rows reversed: node i is now row n-1-i.
        let n = ids.len();
        let flip = |v: usize| n - 1 - v;
        let rev_ids: Vec<String> = ids.iter().rev().cloned().collect();
        let rev_edges: Vec<(usize, usize)> =
            edges.iter().map(|&(s, t)| (flip(s), flip(t))).collect();
        let again = lay(&mut memory, &rev_ids, &rev_edges);
        for i in 0..n {
            assert_in_place(&first, &again, i, flip(i));
        }
    }

    #[test]
    fn a_new_node_leaves_the_others_in_layer_order_and_place() {
        let (mut memory, ids, edges, before) = remembered(40);
        // A new reader of the first topic (n40 <- n0), the fan-out a new consumer group adds.
        let n = ids.len();
        let mut grown_ids = ids.clone();
        grown_ids.push("n40".into());
        let mut grown = edges.clone();
        grown.push((0, n));
        let after = lay(&mut memory, &grown_ids, &grown);
        let new_layer = after.layout.layers[n];
        assert_eq!(new_layer, before.layers[0] + 1);
        let fresh = layout(n + 1, &grown, LR, &Spacing::default());
        assert_ne!(
            fresh.nodes[..n],
            before.nodes[..],
            "without memory, nodes would move"
        );
        for i in 0..n {
            assert_eq!(
                after.layout.layers[i], before.layers[i],
                "n{i} keeps its layer"
            );
            // Its layer is packed, so the newcomer pushes its neighbours apart; no other moves.
            if before.layers[i] != new_layer {
                assert_in_place(&before, &after, i, i);
            }
        }
        assert_layer_orders_kept(&before, &after.layout, n);
    }

    /// Every layer lists the old nodes in the order it had them in.
    fn assert_layer_orders_kept(before: &Layout, after: &Layout, old: usize) {
        let layers = after.layers.iter().max().map_or(0, |l| l + 1);
        for layer in 0..layers {
            let mut now: Vec<usize> = (0..old).filter(|&i| after.layers[i] == layer).collect();
            let mut was = now.clone();
            now.sort_by(|&a, &b| after.nodes[a].y.total_cmp(&after.nodes[b].y));
            was.sort_by(|&a, &b| before.nodes[a].y.total_cmp(&before.nodes[b].y));
            assert_eq!(now, was, "order of layer {layer}");
        }
    }

    #[test]
    fn an_inserted_node_shifts_what_it_must_and_keeps_the_order() {
        // Three parallel chains a -> b -> c; then x goes in between a1 and b1.
        let ids: Vec<String> = ["a0", "a1", "a2", "b0", "b1", "b2", "c0", "c1", "c2"]
            .map(String::from)
            .to_vec();
        let edges = vec![(0, 3), (3, 6), (1, 4), (4, 7), (2, 5), (5, 8)];
        let mut memory = Memory::default();
        let before = lay(&mut memory, &ids, &edges).layout;
        let mut grown_ids = ids.clone();
        grown_ids.push("x".into());
        let mut grown: Vec<(usize, usize)> =
            edges.iter().copied().filter(|&e| e != (1, 4)).collect();
        grown.extend([(1, 9), (9, 4)]);
        let after = lay(&mut memory, &grown_ids, &grown).layout;
        // b1 and c1 move one layer on; every layer keeps its old nodes' top-to-bottom order.
        assert_eq!(after.layers[4], before.layers[4] + 1);
        assert_eq!(after.layers[7], before.layers[7] + 1);
        assert_eq!(after.layers[3], before.layers[3]);
        assert_layer_orders_kept(&before, &after, 9);
    }

    #[test]
    fn a_removed_node_just_disappears_and_new_options_start_afresh() {
        let (mut memory, ids, edges, before) = remembered(12);
        // The last node (a leaf) gone: every other keeps its place.
        let kept: Vec<(usize, usize)> = edges.iter().copied().filter(|&(_, t)| t != 11).collect();
        let after = lay(&mut memory, &ids[..11], &kept);
        for i in 0..11 {
            assert_in_place(&before, &after, i, i);
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let tb = memory.layout(&refs, &edges, Direction::TopBottom, &Spacing::default());
        assert_eq!(tb.moved, None);
        assert_eq!(
            tb.layout,
            layout(12, &edges, Direction::TopBottom, &Spacing::default())
        );
        let other = memory.layout(
            &["p", "q"],
            &[(0, 1)],
            Direction::TopBottom,
            &Spacing::default(),
        );
        assert_eq!(other.moved, None, "a graph with no node in common");
    }
}
