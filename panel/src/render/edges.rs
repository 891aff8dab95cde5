//! Edges: smooth curves through the layout's route points, an arrow at the target and the
//! rate or lag as a label halfway.

use std::fmt::Write;

use web_sys::{Document, Element};

use super::dom::{svg_child, svg_text, Res};
use crate::graph::GraphEdge;
use crate::layout::{Direction, Point};

/// SVG path data: cubic segments that leave and enter each point along the flow direction.
pub fn route_path(points: &[Point], direction: Direction) -> String {
    let mut d = String::new();
    let Some(first) = points.first() else {
        return d;
    };
    let _ = write!(d, "M{:.1} {:.1}", first.x, first.y);
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (c1, c2) = match direction {
            Direction::LeftRight => {
                let dx = (b.x - a.x) / 2.0;
                ((a.x + dx, a.y), (b.x - dx, b.y))
            }
            Direction::TopBottom => {
                let dy = (b.y - a.y) / 2.0;
                ((a.x, a.y + dy), (b.x, b.y - dy))
            }
        };
        let _ = write!(
            d,
            "C{:.1} {:.1} {:.1} {:.1} {:.1} {:.1}",
            c1.0, c1.1, c2.0, c2.1, b.x, b.y
        );
    }
    d
}

/// Where the label goes: the middle route point, or halfway along a single segment.
pub fn label_point(points: &[Point]) -> Option<Point> {
    match points.len() {
        0 => None,
        n if n % 2 == 1 => Some(points[n / 2]),
        n => {
            let (a, b) = (points[n / 2 - 1], points[n / 2]);
            Some(Point {
                x: (a.x + b.x) / 2.0,
                y: (a.y + b.y) / 2.0,
            })
        }
    }
}

pub fn label_text(edge: &GraphEdge) -> String {
    match (&edge.main, &edge.secondary) {
        (Some(m), Some(s)) => format!("{} · {}", m.text, s.text),
        (Some(m), None) => m.text.clone(),
        (None, Some(s)) => s.text.clone(),
        (None, None) => String::new(),
    }
}

/// Draws the line of edge `index`, ending in the arrow marker `marker` (an element id).
pub fn draw_edge(
    doc: &Document,
    parent: &Element,
    index: usize,
    route: &[Point],
    direction: Direction,
    marker: &str,
) -> Res<()> {
    if route.len() < 2 {
        return Ok(());
    }
    let path = svg_child(doc, parent, "path", "edge")?;
    path.set_attribute("d", &route_path(route, direction))?;
    path.set_attribute("marker-end", &format!("url(#{marker})"))?;
    path.set_attribute("data-e", &index.to_string())
}

/// Draws the rate or lag label of edge `index` (only legible close up, like node details).
pub fn draw_label(
    doc: &Document,
    parent: &Element,
    index: usize,
    edge: &GraphEdge,
    route: &[Point],
) -> Res<()> {
    let text = label_text(edge);
    if let (Some(p), false, true) = (label_point(route), text.is_empty(), route.len() >= 2) {
        let label = svg_text(doc, parent, "elabel", &text)?;
        label.set_attribute("x", &format!("{:.1}", p.x))?;
        label.set_attribute("y", &format!("{:.1}", p.y - 5.0))?;
        label.set_attribute("data-e", &index.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    #[test]
    fn curves_leave_along_the_flow() {
        let d = route_path(&[p(0.0, 0.0), p(100.0, 50.0)], Direction::LeftRight);
        assert_eq!(d, "M0.0 0.0C50.0 0.0 50.0 50.0 100.0 50.0");
        let d = route_path(&[p(0.0, 0.0), p(50.0, 100.0)], Direction::TopBottom);
        assert_eq!(d, "M0.0 0.0C0.0 50.0 50.0 50.0 50.0 100.0");
        assert_eq!(route_path(&[], Direction::LeftRight), "");
    }

    #[test]
    fn labels_sit_in_the_middle() {
        assert_eq!(
            label_point(&[p(0.0, 0.0), p(10.0, 20.0)]),
            Some(p(5.0, 10.0))
        );
        assert_eq!(
            label_point(&[p(0.0, 0.0), p(10.0, 20.0), p(30.0, 0.0)]),
            Some(p(10.0, 20.0))
        );
    }
}
