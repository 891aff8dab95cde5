//! The root cause of backpressure. A backpressured vertex is a victim: it waits on something
//! downstream. The bottleneck is the first vertex downstream of a victim that is busy but not
//! itself backpressured. Report that one, not the victims.

use crate::Thresholds;

/// What the rule needs to know about a vertex.
#[derive(Debug, Clone, PartialEq)]
pub struct Load<'a> {
    pub id: &'a str,
    /// Backpressured ratio, max over subtasks (0..1); `None` when unknown.
    pub backpressure: Option<f64>,
    /// Busy ratio, max over subtasks (0..1); `None` when unknown.
    pub busy: Option<f64>,
}

/// The bottleneck's id, if the graph has backpressure with a busy vertex below it.
///
/// `edges` are (upstream, downstream) pairs. Several victims can share one bottleneck; when
/// they point at different ones, the busiest wins.
pub fn find<'a>(
    vertices: &[Load<'a>],
    edges: &[(&'a str, &'a str)],
    t: &Thresholds,
) -> Option<&'a str> {
    let load = |id: &str| vertices.iter().find(|v| v.id == id);
    let is_victim = |v: &Load| {
        v.backpressure
            .is_some_and(|bp| bp >= t.backpressure_warning)
    };
    let is_busy_free = |v: &Load| {
        v.busy.is_some_and(|b| b >= t.busy_bottleneck)
            && v.backpressure.is_none_or(|bp| bp < t.backpressure_warning)
    };
    let mut candidates: Vec<&Load<'a>> = Vec::new();
    for victim in vertices.iter().filter(|v| is_victim(v)) {
        // Breadth-first downstream of the victim; the first busy, unblocked vertex is the cause.
        let mut frontier = vec![victim.id];
        let mut seen = vec![victim.id];
        'search: while !frontier.is_empty() {
            let mut next = Vec::new();
            for id in frontier {
                for &(_, down) in edges.iter().filter(|(up, _)| *up == id) {
                    if seen.contains(&down) {
                        continue;
                    }
                    seen.push(down);
                    if let Some(v) = load(down) {
                        if is_busy_free(v) {
                            candidates.push(v);
                            break 'search;
                        }
                    }
                    next.push(down);
                }
            }
            frontier = next;
        }
    }
    candidates
        .into_iter()
        .max_by(|a, b| a.busy.unwrap_or(0.0).total_cmp(&b.busy.unwrap_or(0.0)))
        .map(|v| v.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: &str, bp: f64, busy: f64) -> Load<'_> {
        Load {
            id,
            backpressure: Some(bp),
            busy: Some(busy),
        }
    }

    #[test]
    fn the_busy_vertex_below_the_victims_is_named() {
        // source -> parse -> slow -> sink: source and parse wait on slow.
        let vs = [
            v("source", 0.9, 0.1),
            v("parse", 0.85, 0.2),
            v("slow", 0.0, 0.98),
            v("sink", 0.0, 0.05),
        ];
        let es = [("source", "parse"), ("parse", "slow"), ("slow", "sink")];
        assert_eq!(find(&vs, &es, &Thresholds::default()), Some("slow"));
    }

    #[test]
    fn no_backpressure_means_no_bottleneck() {
        let vs = [v("a", 0.0, 0.99), v("b", 0.0, 0.99)];
        assert_eq!(find(&vs, &[("a", "b")], &Thresholds::default()), None);
    }

    #[test]
    fn a_busy_vertex_that_is_itself_backpressured_is_a_victim_too() {
        let vs = [v("a", 0.9, 0.1), v("b", 0.9, 0.95), v("c", 0.0, 0.9)];
        assert_eq!(
            find(&vs, &[("a", "b"), ("b", "c")], &Thresholds::default()),
            Some("c")
        );
    }

    #[test]
    fn unknown_loads_are_not_guessed() {
        let vs = [
            v("a", 0.9, 0.1),
            Load {
                id: "b",
                backpressure: None,
                busy: None,
            },
        ];
        assert_eq!(find(&vs, &[("a", "b")], &Thresholds::default()), None);
    }

    #[test]
    fn of_two_bottlenecks_the_busier_wins() {
        let vs = [
            v("a", 0.9, 0.1),
            v("b", 0.0, 0.85),
            v("c", 0.9, 0.1),
            v("d", 0.0, 0.99),
        ];
        assert_eq!(
            find(&vs, &[("a", "b"), ("c", "d")], &Thresholds::default()),
            Some("d")
        );
    }
}
