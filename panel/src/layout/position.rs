//! Coordinate assignment along each layer. Each vertex wants to sit at the mean position of its
//! neighbours; the order is fixed and neighbours need a minimum gap. For one layer that is a
//! least-squares problem with chain constraints, solved exactly by isotonic regression (pool
//! adjacent violators, O(n)). Sweeping it down and up the layers straightens the edges.

use super::layering::LayeredGraph;

const SWEEPS: usize = 4;
/// Weight of a pinned vertex's wish: a free neighbour gives way to it, two pinned ones that
/// collide share the move.
const PIN_WEIGHT: f64 = 1e6;

/// Cross-axis centre of every vertex. `breadth[v]` is how much room `v` takes along its layer;
/// a vertex with `pin[v]` (its place in the last layout) stays there unless the gaps forbid it.
pub fn assign(
    g: &LayeredGraph,
    order: &[Vec<usize>],
    breadth: &[f64],
    node_gap: f64,
    pin: &[Option<f64>],
) -> Vec<f64> {
    let mut x = vec![0.0; g.vertex_count()];
    let offsets: Vec<Vec<f64>> = order
        .iter()
        .map(|layer| min_offsets(g, layer, breadth, node_gap))
        .collect();
    for (layer, off) in order.iter().zip(&offsets) {
        for (&v, &o) in layer.iter().zip(off) {
            x[v] = o;
        }
    }
    let mut desired = Vec::new();
    let mut weight = Vec::new();
    let mut place = |l: usize, x: &mut Vec<f64>, both: bool, upward: bool| {
        desired.clear();
        weight.clear();
        for &v in &order[l] {
            let ns: Vec<usize> = match (both, upward) {
                (true, _) => g.up(v).iter().chain(g.down(v)).copied().collect(),
                (false, false) => g.up(v).to_vec(),
                (false, true) => g.down(v).to_vec(),
            };
            if let Some(p) = pin.get(v).copied().flatten() {
                desired.push(p);
                weight.push(PIN_WEIGHT);
            } else if ns.is_empty() {
                desired.push(x[v]);
                weight.push(0.5);
            } else {
                desired.push(ns.iter().map(|&u| x[u]).sum::<f64>() / ns.len() as f64);
                weight.push(ns.len() as f64);
            }
        }
        let placed = fit_in_order(&desired, &weight, &offsets[l]);
        for (&v, p) in order[l].iter().zip(placed) {
            x[v] = p;
        }
    };
    let layers = order.len();
    for _ in 0..SWEEPS {
        for l in 1..layers {
            place(l, &mut x, false, false);
        }
        for l in (0..layers.saturating_sub(1)).rev() {
            place(l, &mut x, false, true);
        }
    }
    for l in 0..layers {
        place(l, &mut x, true, false);
    }
    // Shift so the drawing starts at 0.
    let min = (0..x.len())
        .map(|v| x[v] - breadth[v] / 2.0)
        .fold(f64::INFINITY, f64::min);
    if min.is_finite() {
        for p in &mut x {
            *p -= min;
        }
    }
    x
}

/// Smallest allowed distance of each vertex of a layer from the first one.
fn min_offsets(g: &LayeredGraph, layer: &[usize], breadth: &[f64], node_gap: f64) -> Vec<f64> {
    let mut off = Vec::with_capacity(layer.len());
    let mut acc = 0.0;
    for (i, &v) in layer.iter().enumerate() {
        if i > 0 {
            let u = layer[i - 1];
            // Edges passing through may run close together; real nodes keep their gap.
            let gap = if g.is_dummy(u) && g.is_dummy(v) {
                0.0
            } else {
                node_gap
            };
            acc += (breadth[u] + breadth[v]) / 2.0 + gap;
        }
        off.push(acc);
    }
    off
}

/// Positions closest (weighted least squares) to `desired` such that each is at least
/// `offsets[i] - offsets[i-1]` after the previous one: with `y = x - offset` the constraint is
/// `y` non-decreasing, so this is isotonic regression of `desired - offset`.
pub fn fit_in_order(desired: &[f64], weight: &[f64], offsets: &[f64]) -> Vec<f64> {
    // Blocks of pooled values: (weighted sum, total weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(desired.len());
    for i in 0..desired.len() {
        let w = weight[i];
        blocks.push((w * (desired[i] - offsets[i]), w, 1));
        while blocks.len() >= 2 {
            let (s2, w2, n2) = blocks[blocks.len() - 1];
            let (s1, w1, n1) = blocks[blocks.len() - 2];
            if s1 / w1 <= s2 / w2 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = (s1 + s2, w1 + w2, n1 + n2);
        }
    }
    let mut out = Vec::with_capacity(desired.len());
    for (s, w, n) in blocks {
        for _ in 0..n {
            out.push(s / w + offsets[out.len()]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_vertices_go_where_they_want() {
        let x = fit_in_order(&[0.0, 100.0, 200.0], &[1.0; 3], &[0.0, 10.0, 20.0]);
        assert_eq!(x, vec![0.0, 100.0, 200.0]);
    }

    #[test]
    fn crowded_vertices_spread_evenly_around_their_target() {
        // All three want 50 but need 10 apart: 40, 50, 60 is the least-squares answer.
        let x = fit_in_order(&[50.0; 3], &[1.0; 3], &[0.0, 10.0, 20.0]);
        assert_eq!(x, vec![40.0, 50.0, 60.0]);
    }

    #[test]
    fn heavier_vertices_move_less() {
        let x = fit_in_order(&[0.0, 0.0], &[3.0, 1.0], &[0.0, 10.0]);
        assert_eq!(x, vec![-2.5, 7.5]);
    }

    #[test]
    fn order_and_gaps_always_hold() {
        let desired = [30.0, 5.0, 90.0, 1.0, 44.0];
        let offsets = [0.0, 12.0, 30.0, 31.0, 60.0];
        let x = fit_in_order(&desired, &[1.0, 2.0, 1.0, 5.0, 1.0], &offsets);
        for i in 1..x.len() {
            assert!(x[i] - x[i - 1] >= offsets[i] - offsets[i - 1] - 1e-9);
        }
    }
}
