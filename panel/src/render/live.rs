//! What survives a refresh of a live dashboard: the user's zoom and pan (nodes stay where they
//! were on screen) and the tooltip of the node or edge under the pointer, with the new numbers.

use super::{Res, Scene, Target};
use crate::graph::{read_graph, Graph, Problem};
use crate::handoff::PanelData;
use crate::layout::Point;

impl Scene {
    /// Reads new frames; the hovered node or edge is found again by its id once it is drawn
    /// (`readable::plan`), a job's card or its vertices as the plan has it.
    pub fn set_data(&mut self, data: &PanelData) {
        self.full = read_graph(data);
    }

    /// After a redraw: fits the drawing, unless the user has zoomed or panned and the new
    /// drawing shares nodes with the last (`moved`: how far they typically moved in it). Then
    /// the view stays, shifted by that move so those nodes stay put on screen.
    pub(super) fn settle_view(&mut self, moved: Option<Point>) -> Res<()> {
        match moved.filter(|_| self.user_view) {
            Some(m) => {
                let s = self.view.scale;
                self.view = self.view.pan(-m.x * s, -m.y * s);
                self.apply_view()
            }
            None => self.show_planned(),
        }
    }

    /// The hovered node's (or edge's) tooltip again, from the new data, where it was.
    pub(super) fn refresh_tooltip(&mut self) -> Res<()> {
        self.fill_tooltip()?;
        match self.hovered {
            Some(_) => self.place_tooltip(self.pointer.0, self.pointer.1),
            None => Ok(()),
        }
    }
}

/// `target` of graph `old` in graph `new`: the node with the same id, the edge with the same id.
pub(super) fn same_target(
    old: &Result<Graph, Problem>,
    new: &Result<Graph, Problem>,
    target: Target,
) -> Option<Target> {
    let (Ok(old), Ok(new)) = (old, new) else {
        return None;
    };
    match target {
        Target::Node(i) => {
            let id = &old.nodes.get(i)?.id;
            new.nodes.iter().position(|n| &n.id == id).map(Target::Node)
        }
        Target::Edge(i) => {
            let id = &old.edges.get(i)?.id;
            new.edges.iter().position(|e| &e.id == id).map(Target::Edge)
        }
    }
}
