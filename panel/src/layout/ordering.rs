//! Crossing reduction: order the vertices of each layer so edges cross as little as possible.
//! Barycentre heuristic, sweeping down then up, keeping the best order seen. Vertices with a rank
//! (their place in the last layout) keep their relative order; the others move freely among them.

use super::layering::LayeredGraph;

/// Most sweeps tried; pipelines settle in two or three.
const MAX_SWEEPS: usize = 12;
/// Stop after this many sweeps without improvement.
const PATIENCE: usize = 3;

/// Vertices of each layer, in drawing order.
pub fn reduce_crossings(g: &LayeredGraph) -> Vec<Vec<usize>> {
    reduce_crossings_ranked(g, &[])
}

/// [`reduce_crossings`] where the vertices with `rank[v]` keep the order of their ranks.
pub fn reduce_crossings_ranked(g: &LayeredGraph, rank: &[Option<f64>]) -> Vec<Vec<usize>> {
    let mut order = initial_order(g);
    let mut pos = positions(g, &order);
    for layer in order.iter_mut() {
        keep_ranked_order(layer, &mut pos, rank);
    }
    let mut best = order.clone();
    let mut best_crossings = count_crossings(g, &order, &pos);
    let mut stale = 0;
    for _ in 0..MAX_SWEEPS {
        if best_crossings == 0 || stale >= PATIENCE {
            break;
        }
        for layer in order.iter_mut().skip(1) {
            sort_by_barycentre(layer, &mut pos, |v| g.up(v));
            keep_ranked_order(layer, &mut pos, rank);
        }
        for l in (0..order.len().saturating_sub(1)).rev() {
            sort_by_barycentre(&mut order[l], &mut pos, |v| g.down(v));
            keep_ranked_order(&mut order[l], &mut pos, rank);
        }
        let c = count_crossings(g, &order, &pos);
        if c < best_crossings {
            best_crossings = c;
            best.clone_from(&order);
            stale = 0;
        } else {
            stale += 1;
        }
    }
    best
}

/// Depth-first from the sources in input order, so a pipeline's parts start out together.
fn initial_order(g: &LayeredGraph) -> Vec<Vec<usize>> {
    let n = g.vertex_count();
    let mut layers = vec![Vec::new(); g.layer_count()];
    let mut seen = vec![false; n];
    let mut stack = Vec::new();
    let roots = (0..n).filter(|&v| g.up(v).is_empty()).chain(0..n);
    for root in roots {
        if seen[root] {
            continue;
        }
        stack.push(root);
        while let Some(v) = stack.pop() {
            if seen[v] {
                continue;
            }
            seen[v] = true;
            layers[g.layer_of(v)].push(v);
            // Reverse so the first neighbour is visited first.
            stack.extend(g.down(v).iter().rev().filter(|&&d| !seen[d]));
        }
    }
    layers
}

fn positions(g: &LayeredGraph, order: &[Vec<usize>]) -> Vec<usize> {
    let mut pos = vec![0; g.vertex_count()];
    for layer in order {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
    pos
}

/// Sorts one layer by the mean position of each vertex's neighbours in the fixed layer. A vertex
/// with no neighbours there keeps its place. The sort is stable, so ties keep their order.
fn sort_by_barycentre<'a>(
    layer: &mut [usize],
    pos: &mut [usize],
    neighbours: impl Fn(usize) -> &'a [usize],
) {
    let mut keyed: Vec<(f64, usize)> = layer
        .iter()
        .map(|&v| {
            let ns = neighbours(v);
            let key = if ns.is_empty() {
                pos[v] as f64
            } else {
                ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64
            };
            (key, v)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (i, (_, v)) in keyed.into_iter().enumerate() {
        layer[i] = v;
        pos[v] = i;
    }
}

/// Puts the ranked vertices of a layer back in rank order, in the slots they hold now.
fn keep_ranked_order(layer: &mut [usize], pos: &mut [usize], rank: &[Option<f64>]) {
    let rank_of = |v: usize| rank.get(v).copied().flatten();
    let slots: Vec<usize> = (0..layer.len())
        .filter(|&i| rank_of(layer[i]).is_some())
        .collect();
    let mut ranked: Vec<(f64, usize)> = slots
        .iter()
        .filter_map(|&i| Some((rank_of(layer[i])?, layer[i])))
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (&i, (_, v)) in slots.iter().zip(ranked) {
        layer[i] = v;
        pos[v] = i;
    }
}

/// Total crossings between consecutive layers: for each pair, sort edges by their upper end and
/// count inversions of their lower ends with a Fenwick tree (O(E log V)).
pub fn count_crossings(g: &LayeredGraph, order: &[Vec<usize>], pos: &[usize]) -> u64 {
    let mut total = 0u64;
    let mut ends: Vec<(usize, usize)> = Vec::new();
    for pair in order.windows(2) {
        ends.clear();
        for &u in &pair[0] {
            for &v in g.down(u) {
                ends.push((pos[u], pos[v]));
            }
        }
        ends.sort_unstable();
        let mut tree = vec![0u64; pair[1].len() + 1];
        for (seen, &(_, p)) in ends.iter().enumerate() {
            // Edges already inserted whose lower end lies strictly right of this one cross it.
            let mut not_greater = 0u64;
            let mut i = p + 1;
            while i > 0 {
                not_greater += tree[i];
                i &= i - 1;
            }
            total += seen as u64 - not_greater;
            let mut i = p + 1;
            while i < tree.len() {
                tree[i] += 1;
                i += i & i.wrapping_neg();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::layering::assign_layers;

    fn build(n: usize, edges: &[(usize, usize)]) -> LayeredGraph {
        LayeredGraph::build(n, &assign_layers(n, edges), edges)
    }

    #[test]
    fn counts_the_crossings_of_a_given_order() {
        // Two sources, two targets, wired across: one crossing in this order.
        let g = build(4, &[(0, 3), (1, 2)]);
        let order = vec![vec![0, 1], vec![2, 3]];
        let pos = positions(&g, &order);
        assert_eq!(count_crossings(&g, &order, &pos), 1);
        let order = vec![vec![0, 1], vec![3, 2]];
        let pos = positions(&g, &order);
        assert_eq!(count_crossings(&g, &order, &pos), 0);
    }

    #[test]
    fn complete_bipartite_crossings_match_the_formula() {
        // K(3,3) has C(3,2)^2 = 9 crossings in any order.
        let mut edges = Vec::new();
        for a in 0..3 {
            for b in 3..6 {
                edges.push((a, b));
            }
        }
        let g = build(6, &edges);
        let order = vec![vec![0, 1, 2], vec![3, 4, 5]];
        let pos = positions(&g, &order);
        assert_eq!(count_crossings(&g, &order, &pos), 9);
    }

    #[test]
    fn untangles_a_crossed_ladder() {
        // Three parallel pipelines whose middle layer is listed in reverse.
        let edges = [(0, 5), (1, 4), (2, 3), (5, 6), (4, 7), (3, 8)];
        let g = build(9, &edges);
        let order = reduce_crossings(&g);
        let pos = positions(&g, &order);
        assert_eq!(count_crossings(&g, &order, &pos), 0);
    }

    #[test]
    fn ranked_vertices_keep_their_order_even_when_it_crosses() {
        // The crossed pair of `counts_the_crossings_of_a_given_order`, ranked 3 before 2.
        let g = build(4, &[(0, 3), (1, 2)]);
        let rank = [Some(0.0), Some(1.0), Some(5.0), Some(4.0)];
        assert_eq!(
            reduce_crossings_ranked(&g, &rank),
            vec![vec![0, 1], vec![3, 2]]
        );
        let rank = [Some(0.0), Some(1.0), Some(4.0), Some(5.0)];
        assert_eq!(
            reduce_crossings_ranked(&g, &rank),
            vec![vec![0, 1], vec![2, 3]]
        );
        // Unranked newcomers (4, 5) move freely around the ranked vertices.
        let g = build(6, &[(0, 3), (1, 2), (1, 4), (5, 4)]);
        let rank = [Some(0.0), Some(1.0), Some(4.0), Some(5.0), None, None];
        let order = reduce_crossings_ranked(&g, &rank);
        let at = |v: usize| order[1].iter().position(|&u| u == v).unwrap();
        assert!(at(2) < at(3), "ranked 2 stays before 3: {order:?}");
    }

    #[test]
    fn never_worse_than_the_initial_order() {
        let (n, edges) = crate::layout::tests_support::pipeline(500);
        let g = build(n, &edges);
        let init = initial_order(&g);
        let before = count_crossings(&g, &init, &positions(&g, &init));
        let order = reduce_crossings(&g);
        let after = count_crossings(&g, &order, &positions(&g, &order));
        assert!(after <= before, "{after} > {before}");
        // Every vertex is placed exactly once.
        let mut all: Vec<usize> = order.concat();
        all.sort_unstable();
        assert_eq!(all, (0..g.vertex_count()).collect::<Vec<_>>());
    }
}
