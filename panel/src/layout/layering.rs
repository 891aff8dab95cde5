//! Layer assignment and the layered graph (real nodes plus dummy vertices on long edges).

/// Layer of each node of an acyclic graph: longest path from the sources, then each source is
/// pulled right next to its nearest successor, so a topic read late in the pipeline sits beside
/// its reader instead of far away in column 0.
pub fn assign_layers(node_count: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    assign_layers_from(node_count, edges, &[])
}

/// [`assign_layers`] where node `v` takes no layer before `floor[v]` (its layer in the last
/// layout), so a refresh moves a node only when a new edge forces it. Layers are then shifted to
/// start at 0, which closes a column emptied by removed nodes.
pub fn assign_layers_from(
    node_count: usize,
    edges: &[(usize, usize)],
    floor: &[Option<usize>],
) -> Vec<usize> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    let mut indeg = vec![0usize; node_count];
    for &(s, t) in edges {
        out[s].push(t);
        indeg[t] += 1;
    }
    let sources: Vec<bool> = indeg.iter().map(|&d| d == 0).collect();
    let mut layer: Vec<usize> = (0..node_count)
        .map(|v| floor.get(v).copied().flatten().unwrap_or(0))
        .collect();
    // Kahn's order: every predecessor is final before its successors are visited.
    let mut queue: Vec<usize> = (0..node_count).filter(|&v| indeg[v] == 0).collect();
    let mut head = 0;
    while head < queue.len() {
        let v = queue[head];
        head += 1;
        for &t in &out[v] {
            layer[t] = layer[t].max(layer[v] + 1);
            indeg[t] -= 1;
            if indeg[t] == 0 {
                queue.push(t);
            }
        }
    }
    for v in 0..node_count {
        if sources[v] {
            if let Some(nearest) = out[v].iter().map(|&t| layer[t]).min() {
                layer[v] = nearest - 1;
            }
        }
    }
    let min = layer.iter().copied().min().unwrap_or(0);
    layer.iter_mut().for_each(|l| *l -= min);
    layer
}

/// The graph the ordering and positioning passes work on. Vertices `0..node_count` are the real
/// nodes; the rest are dummies, one per layer crossed by a long edge.
#[derive(Debug, Clone)]
pub struct LayeredGraph {
    node_count: usize,
    layer_of: Vec<usize>,
    /// Neighbours in the layer above (towards the sources) and below.
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
    /// For each (forward) edge, its vertices from source to target.
    chains: Vec<Vec<usize>>,
    layer_count: usize,
}

impl LayeredGraph {
    pub fn build(node_count: usize, layers: &[usize], edges: &[(usize, usize)]) -> LayeredGraph {
        let mut g = LayeredGraph {
            node_count,
            layer_of: layers.to_vec(),
            up: vec![Vec::new(); node_count],
            down: vec![Vec::new(); node_count],
            chains: Vec::with_capacity(edges.len()),
            layer_count: layers.iter().map(|&l| l + 1).max().unwrap_or(0),
        };
        for &(s, t) in edges {
            let mut chain = vec![s];
            let mut prev = s;
            for l in layers[s] + 1..layers[t] {
                let d = g.layer_of.len();
                g.layer_of.push(l);
                g.up.push(Vec::new());
                g.down.push(Vec::new());
                g.link(prev, d);
                chain.push(d);
                prev = d;
            }
            g.link(prev, t);
            chain.push(t);
            g.chains.push(chain);
        }
        g
    }

    fn link(&mut self, a: usize, b: usize) {
        self.down[a].push(b);
        self.up[b].push(a);
    }

    pub fn vertex_count(&self) -> usize {
        self.layer_of.len()
    }

    pub fn layer_count(&self) -> usize {
        self.layer_count
    }

    pub fn is_dummy(&self, v: usize) -> bool {
        v >= self.node_count
    }

    pub fn layer_of(&self, v: usize) -> usize {
        self.layer_of[v]
    }

    pub fn up(&self, v: usize) -> &[usize] {
        &self.up[v]
    }

    pub fn down(&self, v: usize) -> &[usize] {
        &self.down[v]
    }

    pub fn chains(&self) -> &[Vec<usize>] {
        &self.chains
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_follow_the_longest_path() {
        // 0 -> 1 -> 2 -> 3 and 0 -> 3: 3 sits after 2, not next to 0.
        let edges = [(0, 1), (1, 2), (2, 3), (0, 3)];
        assert_eq!(assign_layers(4, &edges), vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_late_source_sits_next_to_its_reader() {
        // 0 -> 1 -> 2 -> 3, and a side topic 4 read only by 3.
        let edges = [(0, 1), (1, 2), (2, 3), (4, 3)];
        assert_eq!(assign_layers(5, &edges)[4], 2);
    }

    #[test]
    fn floors_keep_old_layers_and_push_only_what_a_new_edge_forces() {
        let edges = [(0, 1), (1, 2), (2, 3), (4, 3)];
        let before = assign_layers(5, &edges);
        let floor: Vec<Option<usize>> = before.iter().map(|&l| Some(l)).collect();
        assert_eq!(assign_layers_from(5, &edges, &floor), before);
        // Node 5 inserted between 1 and 2: 2 and 3 move one layer on, 4 follows its reader.
        let mut grown = edges.to_vec();
        grown.extend([(1, 5), (5, 2)]);
        let mut floor6 = floor.clone();
        floor6.push(None);
        assert_eq!(
            assign_layers_from(6, &grown, &floor6),
            vec![0, 1, 3, 4, 3, 2]
        );
        // Node 0 removed (its layer emptied): the rest keep their order, shifted to start at 0.
        let rest = [(0, 1), (1, 2), (3, 2)];
        let floor = [Some(1), Some(2), Some(3), Some(2)];
        assert_eq!(assign_layers_from(4, &rest, &floor), vec![0, 1, 2, 1]);
    }

    #[test]
    fn every_edge_points_one_layer_down_after_dummies() {
        let edges = [(0, 1), (1, 2), (2, 3), (0, 3)];
        let layers = assign_layers(4, &edges);
        let g = LayeredGraph::build(4, &layers, &edges);
        assert_eq!(g.vertex_count(), 6);
        assert_eq!(g.layer_count(), 4);
        for v in 0..g.vertex_count() {
            for &d in g.down(v) {
                assert_eq!(g.layer_of(d), g.layer_of(v) + 1);
            }
        }
        assert_eq!(g.chains()[3].len(), 4);
        assert!(g.is_dummy(4) && !g.is_dummy(3));
    }
}
