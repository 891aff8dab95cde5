//! The pointer on the scene: hit tests, zoom, pan, the tooltip on hover and the click that
//! opens a link. The DOM stays as `draw` built it; these only move the view or the tooltip.

use super::{overlay, Res, Scene, Target};

/// Pointer travel (px) beyond which a press is a pan, not a click.
const CLICK_SLOP: f64 = 4.0;

impl Scene {
    /// The node under panel point (`x`, `y`), from the layout (works for the overview too).
    pub fn node_at(&self, x: f64, y: f64) -> Option<usize> {
        let Ok(graph) = &self.data else {
            return None;
        };
        let g = self.geometry();
        let cx = (x - self.view.x) / self.view.scale;
        let cy = (y - self.view.y) / self.view.scale;
        self.layout
            .nodes
            .iter()
            .take(graph.nodes.len())
            .position(|p| (p.x - cx).abs() <= g.width / 2.0 && (p.y - cy).abs() <= g.height / 2.0)
    }

    /// What is under the pointer: a node by geometry, else an edge label from the DOM hit.
    pub fn target_at(&self, x: f64, y: f64, dom_hit: Option<Target>) -> Option<Target> {
        self.node_at(x, y)
            .map(Target::Node)
            .or(dom_hit.filter(|t| matches!(t, Target::Edge(_))))
    }

    pub fn zoom_at(&mut self, x: f64, y: f64, factor: f64) -> Res<()> {
        self.view = self.view.zoom_at(x, y, factor);
        self.user_view = true;
        self.apply_view()
    }

    /// Zoom about the panel's centre (the + and - controls, the keyboard).
    pub fn zoom(&mut self, factor: f64) -> Res<()> {
        self.zoom_at(self.size.0 / 2.0, self.size.1 / 2.0, factor)
    }

    pub fn press(&mut self, x: f64, y: f64) {
        self.press = Some((x, y, self.view));
        self.dragged = false;
    }

    /// Pointer moved to (`x`, `y`) in panel coordinates over `target`.
    pub fn pointer_move(&mut self, x: f64, y: f64, target: Option<Target>) -> Res<()> {
        if let Some((px, py, start)) = self.press {
            if self.dragged || (x - px).hypot(y - py) > CLICK_SLOP {
                if !self.dragged {
                    self.svg.set_attribute("class", "graph dragging")?;
                }
                self.dragged = true;
                self.user_view = true;
                self.view = start.pan(x - px, y - py);
                self.hide_tooltip()?;
                return self.apply_view();
            }
        }
        self.pointer = (x, y);
        if target != self.hovered {
            self.hovered = target;
            self.fill_tooltip()?;
        }
        if self.hovered.is_some() {
            self.place_tooltip(x, y)?;
        }
        Ok(())
    }

    /// Shows the tooltip of the hovered node or edge, or hides it when there is none.
    pub(super) fn fill_tooltip(&mut self) -> Res<()> {
        let rows = match (self.hovered, &self.data) {
            (Some(Target::Node(i)), Ok(g)) => g
                .nodes
                .get(i)
                .map(|n| overlay::node_rows(n, self.has_links)),
            (Some(Target::Edge(i)), Ok(g)) => g.edges.get(i).map(|e| overlay::edge_rows(e, g)),
            _ => None,
        };
        match rows {
            Some(rows) => {
                overlay::fill_tooltip(&self.doc, &self.tooltip, &rows)?;
                self.tooltip.style().set_property("display", "block")
            }
            None => self.hide_tooltip(),
        }
    }

    pub(super) fn place_tooltip(&self, x: f64, y: f64) -> Res<()> {
        let (w, h) = (
            self.tooltip.offset_width() as f64,
            self.tooltip.offset_height() as f64,
        );
        // Beside the pointer, flipped to stay inside the panel.
        let left = if x + 14.0 + w > self.size.0 {
            (x - 14.0 - w).max(0.0)
        } else {
            x + 14.0
        };
        let top = if y + 14.0 + h > self.size.1 {
            (y - 14.0 - h).max(0.0)
        } else {
            y + 14.0
        };
        let s = self.tooltip.style();
        s.set_property("left", &format!("{left}px"))?;
        s.set_property("top", &format!("{top}px"))
    }

    pub fn hide_tooltip(&mut self) -> Res<()> {
        self.hovered = None;
        self.tooltip.style().set_property("display", "none")
    }

    /// Pointer released. Returns the clicked node's (frame index, row), unless the press was a pan.
    pub fn release(&mut self, target: Option<Target>) -> Res<Option<(usize, usize)>> {
        let was_drag = self.dragged;
        if self.press.take().is_some() && was_drag {
            self.svg.set_attribute("class", "graph")?;
        }
        self.dragged = false;
        if was_drag {
            return Ok(None);
        }
        // The links menu opens where the tooltip was.
        if matches!(target, Some(Target::Node(_))) {
            self.hide_tooltip()?;
        }
        let node = match (target, &self.data) {
            (Some(Target::Node(i)), Ok(g)) => g.nodes.get(i).map(|n| (g.nodes_frame, n)),
            _ => None,
        };
        // A job's card opens the job; any other card its data links.
        if let Some(key) = node
            .and_then(|(_, n)| n.job.as_ref())
            .map(|j| j.key.clone())
        {
            self.open_job(key)?;
            return Ok(None);
        }
        Ok(node.map(|(frame, n)| (frame, n.row)))
    }

    /// Panel-relative coordinates of a client (viewport) point.
    pub fn to_local(&self, client_x: f64, client_y: f64) -> (f64, f64) {
        let r = self.root.get_bounding_client_rect();
        (client_x - r.left(), client_y - r.top())
    }
}
