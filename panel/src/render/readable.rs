//! The Scene's side of [`super::plan`]: what is drawn of the graph at this size, the caption
//! and legend room it is planned around, the hint, and the Flink jobs opened or collapsed.

use super::live::same_target;
use super::measure::{Canvas, Estimate, Measure};
use super::plan::{self, Jobs, READABLE_SCALE};
use super::theme::style_sheet;
use super::{caption, nodes, overlay, Res, Scene};
use crate::graph::Graph;
use crate::layout::Spacing;

/// Text widths from a canvas of the page (no layout pass), else estimated.
pub(super) fn canvas_measure(doc: &web_sys::Document) -> Box<dyn Measure> {
    use wasm_bindgen::JsCast;
    let ctx = doc
        .create_element("canvas")
        .ok()
        .and_then(|c| c.dyn_into::<web_sys::HtmlCanvasElement>().ok())
        .and_then(|c| c.get_context("2d").ok().flatten())
        .and_then(|c| c.dyn_into().ok());
    match ctx {
        Some(ctx) => Box::new(Canvas(ctx)),
        None => Box::new(Estimate),
    }
}

impl Scene {
    pub(super) fn set_style(&self) {
        let css = style_sheet(&self.theme, &self.card, &self.scope)
            + &caption::css(&self.theme, &self.scope);
        self.style.set_text_content(Some(&css));
    }

    /// Caption, warnings and legend, then the room they take above and below the drawing.
    pub(super) fn fill_overlays(&mut self, graph: &Graph) -> Res<()> {
        caption::fill_caption(&self.doc, &self.caption, graph)?;
        if let Some(w) = graph.warnings.first() {
            let text = if graph.warnings.len() > 1 {
                format!("{w} (+{} more)", graph.warnings.len() - 1)
            } else {
                w.clone()
            };
            self.warnings.set_text_content(Some(&text));
        }
        let legend = if self.options.show_legend {
            self.legend.style().set_property("display", "flex")?;
            let steps = self
                .options
                .show_thresholds
                .then_some(self.thresholds.as_slice());
            overlay::fill_legend(&self.doc, &self.legend, graph, steps)?;
            self.legend.offset_height() as f64 + 6.0
        } else {
            self.legend.style().set_property("display", "none")?;
            0.0
        };
        self.margins = (self.top.offset_height() as f64, legend);
        // The hint sits above the legend, clear of the caption.
        let bottom = format!("bottom:{}px", legend.max(6.0));
        self.hint.set_attribute("style", &bottom)
    }

    /// Decides what of `full` is drawn (see [`plan::plan`]); returns the spacing to lay it out.
    pub(super) fn plan(&mut self, full: &Graph) -> Res<Spacing> {
        let o = &self.options;
        let p = plan::plan(
            full,
            &self.jobs,
            o.compact,
            o.direction,
            self.size,
            self.margins,
        );
        if p.geometry != self.card {
            self.card = p.geometry;
            self.set_style();
        }
        self.mode = p.mode;
        self.widest = nodes::widest_values(
            &p.graph.nodes,
            o.compact,
            o.secondary_is_main,
            self.measure.as_ref(),
        );
        let next = Ok(p.graph);
        self.hovered = self.hovered.and_then(|t| same_target(&self.data, &next, t));
        self.data = next;
        self.show_jobs_control(p.has_jobs)?;
        Ok(plan::spacing(&self.card, o.direction))
    }

    pub(super) fn fits_readable(&self, l: &crate::layout::Layout) -> bool {
        let (top, bottom) = self.margins;
        let v = super::viewport::View::fit((l.width, l.height), self.size, top, bottom);
        v.scale >= READABLE_SCALE - 1e-9
    }

    /// The view the plan starts with (all of it, or the readable part on the cause).
    pub(super) fn show_planned(&mut self) -> Res<()> {
        self.user_view = false;
        if let Ok(g) = &self.data {
            self.view = plan::view_for(self.mode, g, &self.layout, self.size, self.margins);
        }
        self.apply_view()
    }

    /// After a resize: what fits depends on the size, so plan and draw again, from the start.
    pub fn resized(&mut self) -> Res<()> {
        self.user_view = false;
        self.draw()
    }

    /// Text only where it reads at MIN_SCREEN_FONT or more (cards stay, as shapes); and the
    /// hint.
    pub(super) fn show_readable(&self) -> Res<()> {
        let readable = self.view.scale >= READABLE_SCALE - 1e-9;
        let class = if readable {
            "viewport"
        } else {
            "viewport small"
        };
        self.viewport.set_attribute("class", class)?;
        // Readable, every card in view is drawn in full (ensure_details): the overview hides.
        if let Some(o) = self.viewport.first_element_child() {
            o.set_attribute("style", if readable { "display:none" } else { "" })?;
        }
        let v = &self.view;
        let (w, h) = (self.layout.width * v.scale, self.layout.height * v.scale);
        let clipped = v.x < -1.0
            || v.y < self.margins.0 - 1.0
            || v.x + w > self.size.0 + 1.0
            || v.y + h > self.size.1 - self.margins.1 + 1.0;
        let hint = caption::hint_text(readable, clipped).filter(|_| self.data.is_ok());
        self.hint.set_text_content(hint);
        Ok(())
    }

    fn collapsed(&self) -> bool {
        matches!(&self.data, Ok(g) if g.nodes.iter().any(|n| n.job.is_some()))
    }

    fn show_jobs_control(&self, has_jobs: bool) -> Res<()> {
        let Some(b) = self.root.query_selector("[data-act=jobs]")? else {
            return Ok(());
        };
        let (label, title) = if self.collapsed() {
            ("\u{229e}", "Show every Flink vertex")
        } else {
            ("\u{229f}", "One card per Flink job")
        };
        b.set_text_content(Some(label));
        b.set_attribute("title", title)?;
        b.set_attribute("style", if has_jobs { "" } else { "display:none" })
    }

    /// The panel option: "auto", "jobs" (one card each) or "vertices". A changed option
    /// undoes the user's clicks.
    pub fn set_jobs_option(&mut self, option: &str) {
        let jobs = match option {
            "vertices" => Jobs::All,
            "jobs" => Jobs::Open(Vec::new()),
            _ => Jobs::Auto,
        };
        if jobs != self.jobs_option {
            self.jobs_option = jobs.clone();
            self.jobs = jobs;
        }
    }

    /// Opens one collapsed job (its card was clicked).
    pub fn open_job(&mut self, key: String) -> Res<()> {
        let mut open = match &self.jobs {
            Jobs::Open(keys) => keys.clone(),
            Jobs::Auto | Jobs::All => Vec::new(),
        };
        open.push(key);
        self.jobs = Jobs::Open(open);
        self.user_view = false;
        self.draw()
    }

    /// The jobs control: every vertex if any job is one card, else one card per job.
    pub fn toggle_jobs(&mut self) -> Res<()> {
        self.jobs = if self.collapsed() {
            Jobs::All
        } else {
            Jobs::Open(Vec::new())
        };
        self.user_view = false;
        self.draw()
    }
}
