//! Breaking cycles: a layered drawing needs every edge to point "forward", so the back edges of
//! a depth-first search are drawn reversed. Pipelines rarely loop, so this is usually a no-op.

/// For each edge, whether it must be reversed to make the graph acyclic. Iterative DFS (no
/// recursion, so deep pipelines cannot overflow the small wasm stack), visiting roots in input
/// order so the result is deterministic.
pub fn reversed_edges(node_count: usize, edges: &[(usize, usize)]) -> Vec<bool> {
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    let mut in_degree = vec![0usize; node_count];
    for (i, &(s, t)) in edges.iter().enumerate() {
        out_edges[s].push(i);
        in_degree[t] += 1;
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let mut mark = vec![Mark::New; node_count];
    let mut reversed = vec![false; edges.len()];
    // Start from the sources first so that, in a pipeline, the reversed edge is the one that
    // closes the loop rather than one in the middle of the main flow.
    let roots = (0..node_count)
        .filter(|&v| in_degree[v] == 0)
        .chain(0..node_count);
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in roots {
        if mark[root] != Mark::New {
            continue;
        }
        mark[root] = Mark::OnStack;
        stack.push((root, 0));
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&e) = out_edges[v].get(*next) {
                *next += 1;
                let t = edges[e].1;
                match mark[t] {
                    Mark::New => {
                        mark[t] = Mark::OnStack;
                        stack.push((t, 0));
                    }
                    Mark::OnStack => reversed[e] = true,
                    Mark::Done => {}
                }
            } else {
                mark[v] = Mark::Done;
                stack.pop();
            }
        }
    }
    reversed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_acyclic(n: usize, edges: &[(usize, usize)], rev: &[bool]) -> bool {
        let fwd: Vec<(usize, usize)> = edges
            .iter()
            .zip(rev)
            .map(|(&(s, t), &r)| if r { (t, s) } else { (s, t) })
            .collect();
        // Kahn's algorithm consumes every node iff there is no cycle.
        let mut indeg = vec![0; n];
        for &(_, t) in &fwd {
            indeg[t] += 1;
        }
        let mut queue: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
        let mut seen = 0;
        while let Some(v) = queue.pop() {
            seen += 1;
            for &(s, t) in &fwd {
                if s == v {
                    indeg[t] -= 1;
                    if indeg[t] == 0 {
                        queue.push(t);
                    }
                }
            }
        }
        seen == n
    }

    #[test]
    fn a_dag_keeps_every_edge() {
        let edges = [(0, 1), (1, 2), (0, 2)];
        assert_eq!(reversed_edges(3, &edges), vec![false; 3]);
    }

    #[test]
    fn the_edge_closing_a_loop_is_reversed() {
        let edges = [(0, 1), (1, 2), (2, 3), (3, 1)];
        let rev = reversed_edges(4, &edges);
        assert_eq!(rev, vec![false, false, false, true]);
        assert!(is_acyclic(4, &edges, &rev));
    }

    #[test]
    fn tangled_cycles_become_acyclic() {
        let edges = [(0, 1), (1, 0), (1, 2), (2, 0), (2, 3), (3, 2), (3, 3 - 3)];
        let rev = reversed_edges(4, &edges);
        assert!(is_acyclic(4, &edges, &rev));
    }

    #[test]
    fn a_deep_chain_does_not_overflow() {
        let n = 100_000;
        let edges: Vec<(usize, usize)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        assert!(reversed_edges(n, &edges).iter().all(|r| !r));
    }
}
