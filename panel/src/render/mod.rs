//! Drawing with the DOM (SVG for the graph, HTML for tooltip, legend and messages), built once
//! per data change; zoom and pan only change one transform.
//!
//! - [`theme`]: colours and the style sheet; [`viewport`]: zoom/pan arithmetic;
//! - [`nodes`], [`edges`]: the SVG; [`overlay`]: tooltip and legend; [`dom`]: helpers;
//! - `pointer`: what the pointer is over, zoom, pan, hover and click;
//! - `live`: what survives a refresh (the user's view, the tooltip);
//! - [`plan`]: what to draw so its text can be read, `readable`: the Scene's side of it
//!   (caption, hint, Flink jobs opened and collapsed); [`measure`]: fitting text on a card;
//!   [`caption`]: the root cause above the graph and the pan/zoom hint.

pub mod caption;
pub mod dom;
pub mod edges;
mod live;
pub mod measure;
pub mod nodes;
pub mod overlay;
pub mod plan;
mod pointer;
mod readable;
pub mod theme;
pub mod viewport;

use std::sync::atomic::{AtomicUsize, Ordering};

use web_sys::{Document, Element, HtmlElement};

use crate::graph::{Graph, Problem};
use crate::layout::memory::Memory;
use crate::layout::{Direction, Layout};
use dom::{html_child, svg_child, Res};
use measure::Measure;
use nodes::CardStyle;
use plan::{Jobs, Margins, Mode, READABLE_SCALE};
use theme::{CardGeometry, Theme};
use viewport::View;

/// Panel options, as set in Grafana's panel editor.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub direction: Direction,
    /// Show `secondarystat` as the big number instead of `mainstat`.
    pub secondary_is_main: bool,
    pub compact: bool,
    /// Show the main number's threshold steps in the legend and colour it by them.
    pub show_thresholds: bool,
    pub show_legend: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            direction: Direction::LeftRight,
            secondary_is_main: false,
            compact: false,
            show_thresholds: false,
            show_legend: true,
        }
    }
}

/// What the pointer is over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    Node(usize),
    Edge(usize),
}

/// Numbers the panels of a page, so each has its own style scope and marker id.
static PANELS: AtomicUsize = AtomicUsize::new(0);

pub struct Scene {
    doc: Document,
    /// This panel's class: every style rule is under it.
    scope: String,
    /// Id of this panel's arrow marker (ids are page-wide).
    marker: String,
    root: HtmlElement,
    style: Element,
    svg: Element,
    viewport: Element,
    tooltip: HtmlElement,
    legend: HtmlElement,
    warnings: Element,
    message: Element,
    top: HtmlElement,
    caption: Element,
    hint: Element,
    /// The graph as read; `data` is what is drawn of it (jobs collapsed or not).
    full: Result<Graph, Problem>,
    data: Result<Graph, Problem>,
    jobs: Jobs,
    /// The panel option the jobs started from (see `readable::set_jobs_option`).
    jobs_option: Jobs,
    mode: Mode,
    card: CardGeometry,
    /// Room kept for the caption above the drawing and the legend below it.
    margins: Margins,
    measure: Box<dyn Measure>,
    /// The widest value of each stat of a kind (see `nodes::widest_values`).
    widest: std::collections::HashMap<String, f64>,
    layout: Layout,
    memory: Memory,
    /// Full cards (names, numbers) and edges (arrows, labels) are drawn over the overview only
    /// for what comes into view, so zooming into a large pipeline costs what is visible.
    detailed: Vec<bool>,
    edge_detailed: Vec<bool>,
    detail_layers: Option<(Element, Element)>,
    view: View,
    size: (f64, f64),
    pub theme: Theme,
    pub options: Options,
    /// Threshold steps of the main number: (label, colour).
    pub thresholds: Vec<(String, String)>,
    pub has_links: bool,
    hovered: Option<Target>,
    /// Where the pointer last moved, to show the tooltip again after a refresh.
    pointer: (f64, f64),
    press: Option<(f64, f64, View)>,
    dragged: bool,
    /// The user zoomed or panned since the last fit: a refresh keeps the view.
    user_view: bool,
}

impl Scene {
    /// Builds the panel's skeleton inside `container`.
    pub fn new(doc: Document, container: &Element) -> Res<Scene> {
        let root: HtmlElement = wasm_bindgen::JsCast::dyn_into(doc.create_element("div")?)?;
        let scope = format!("pht-{}", PANELS.fetch_add(1, Ordering::Relaxed) + 1);
        let marker = format!("{scope}-arrow");
        root.set_attribute("class", &format!("pht {scope}"))?;
        container.append_child(&root)?;
        let style = html_child(&doc, &root, "style", "", None)?;
        let svg = svg_child(&doc, &root, "svg", "graph")?;
        let defs = svg_child(&doc, &svg, "defs", "")?;
        let arrow = svg_child(&doc, &defs, "marker", "")?;
        for (k, v) in [
            ("id", marker.as_str()),
            ("viewBox", "0 0 10 10"),
            ("refX", "9"),
            ("refY", "5"),
            ("markerWidth", "7"),
            ("markerHeight", "7"),
            ("orient", "auto-start-reverse"),
        ] {
            arrow.set_attribute(k, v)?;
        }
        svg_child(&doc, &arrow, "path", "arrow")?.set_attribute("d", "M0 0L10 5L0 10z")?;
        let viewport = svg_child(&doc, &svg, "g", "viewport")?;
        let top: HtmlElement =
            wasm_bindgen::JsCast::dyn_into(html_child(&doc, &root, "div", "top", None)?)?;
        let caption = html_child(&doc, &top, "div", "caption", None)?;
        let warnings = html_child(&doc, &top, "div", "warnings", None)?;
        let hint = html_child(&doc, &root, "div", "hint", None)?;
        let legend: HtmlElement =
            wasm_bindgen::JsCast::dyn_into(html_child(&doc, &root, "div", "legend", None)?)?;
        let message = html_child(&doc, &root, "div", "message", None)?;
        let controls = html_child(&doc, &root, "div", "controls", None)?;
        for (act, label, title) in [
            ("in", "+", "Zoom in"),
            ("out", "\u{2212}", "Zoom out"),
            ("fit", "\u{2922}", "Fit the whole pipeline"),
            ("jobs", "\u{229e}", "Show every Flink vertex"),
        ] {
            let b = html_child(&doc, &controls, "button", "", Some(label))?;
            b.set_attribute("data-act", act)?;
            b.set_attribute("title", title)?;
            b.set_attribute("type", "button")?;
        }
        let tooltip: HtmlElement =
            wasm_bindgen::JsCast::dyn_into(html_child(&doc, &root, "div", "tooltip", None)?)?;
        tooltip.style().set_property("display", "none")?;
        let measure = readable::canvas_measure(&doc);
        Ok(Scene {
            doc,
            scope,
            marker,
            root,
            style,
            svg,
            viewport,
            tooltip,
            legend,
            warnings,
            message,
            top,
            caption,
            hint,
            full: Err(Problem::NoData),
            data: Err(Problem::NoData),
            jobs: Jobs::Auto,
            jobs_option: Jobs::Auto,
            mode: Mode::Fit,
            card: CardGeometry::new(false),
            margins: (0.0, 0.0),
            measure,
            widest: Default::default(),
            layout: Layout::default(),
            memory: Memory::default(),
            detailed: Vec::new(),
            edge_detailed: Vec::new(),
            detail_layers: None,
            view: View::default(),
            size: (0.0, 0.0),
            theme: Theme::default(),
            options: Options::default(),
            thresholds: Vec::new(),
            has_links: false,
            hovered: None,
            pointer: (0.0, 0.0),
            press: None,
            dragged: false,
            user_view: false,
        })
    }

    pub fn svg(&self) -> &Element {
        &self.svg
    }

    pub fn root(&self) -> &HtmlElement {
        &self.root
    }

    /// Returns whether the size changed (the shim passes it on every render).
    pub fn set_size(&mut self, width: f64, height: f64) -> Res<bool> {
        let size = (width.max(0.0), height.max(0.0));
        let changed = size != self.size;
        self.size = size;
        let s = self.root.style();
        s.set_property("width", &format!("{}px", self.size.0))?;
        s.set_property("height", &format!("{}px", self.size.1))?;
        self.svg
            .set_attribute("width", &format!("{}", self.size.0))?;
        self.svg
            .set_attribute("height", &format!("{}", self.size.1))?;
        Ok(changed)
    }

    fn geometry(&self) -> CardGeometry {
        self.card
    }

    /// Lays out and draws everything from scratch (data, options, theme or size changed).
    pub fn draw(&mut self) -> Res<()> {
        self.set_style();
        self.viewport.set_text_content(None);
        self.legend.set_text_content(None);
        self.warnings.set_text_content(None);
        self.caption.set_text_content(None);
        self.hint.set_text_content(None);
        let full = match &self.full {
            Err(problem) => {
                let class = match problem {
                    Problem::QueryFailed(_) | Problem::Malformed(_) => "message error",
                    Problem::NoData | Problem::NoNodes => "message",
                };
                self.message.set_attribute("class", class)?;
                self.message.set_text_content(Some(&problem.to_string()));
                self.svg.set_attribute("style", "display:none")?;
                self.legend.style().set_property("display", "none")?;
                self.data = Err(problem.clone());
                return self.hide_tooltip();
            }
            Ok(g) => g.clone(),
        };
        self.message.set_attribute("class", "message")?;
        self.message.set_text_content(None);
        self.svg.remove_attribute("style")?;
        self.fill_overlays(&full)?;
        let spacing = self.plan(&full)?;
        let geometry = self.card;
        let Ok(graph) = &self.data else {
            return Ok(());
        };
        let pairs: Vec<(usize, usize)> = graph.edges.iter().map(|e| (e.source, e.target)).collect();
        let ids: Vec<&str> = graph.nodes.iter().map(|n| n.id.as_str()).collect();
        let direction = self.options.direction;
        let mut placed = self.memory.layout(&ids, &pairs, direction, &spacing);
        // Places kept from a drawing of other cards (a job opened or collapsed) can spread this
        // one past what the plan found readable: then it is laid out afresh.
        if self.mode == Mode::Fit && !self.fits_readable(&placed.layout) {
            self.memory = Memory::default();
            placed = self.memory.layout(&ids, &pairs, direction, &spacing);
        }
        self.layout = placed.layout;

        let overview = nodes::draw_overview(&self.doc, graph, &self.layout, &geometry, direction)?;
        self.viewport.append_child(&overview)?;
        let edge_layer = svg_child(&self.doc, &self.viewport, "g", "detail")?;
        let node_layer = svg_child(&self.doc, &self.viewport, "g", "detail")?;
        self.detail_layers = Some((edge_layer, node_layer));
        self.detailed = vec![false; graph.nodes.len()];
        self.edge_detailed = vec![false; graph.edges.len()];

        self.settle_view(placed.moved)?;
        self.refresh_tooltip()
    }

    /// Shows the whole graph.
    pub fn fit(&mut self) -> Res<()> {
        self.user_view = false;
        self.view = View::fit(
            (self.layout.width, self.layout.height),
            self.size,
            self.margins.0,
            self.margins.1,
        );
        self.apply_view()
    }

    fn apply_view(&mut self) -> Res<()> {
        self.viewport
            .set_attribute("transform", &self.view.transform())?;
        self.show_readable()?;
        self.ensure_details()
    }

    /// Draws full cards (names, numbers) and edges (arrows, labels) over the overview for what
    /// is in or near the view, once the view is close enough to read them.
    fn ensure_details(&mut self) -> Res<()> {
        let (Ok(graph), Some((edge_layer, node_layer))) = (&self.data, &self.detail_layers) else {
            return Ok(());
        };
        // A pipeline of dashboard size is drawn in full at once: nothing pops in on a pan, and
        // zoomed out its cards stay (their text hidden, see `show_readable`).
        let all = graph.nodes.len() <= plan::PAN_LIMIT;
        if !all && self.view.scale < READABLE_SCALE - 1e-9 {
            return Ok(());
        }
        let g = self.geometry();
        let style = CardStyle {
            geometry: g,
            secondary_is_main: self.options.secondary_is_main,
            threshold_colors: self.options.show_thresholds,
            widest: &self.widest,
        };
        // The visible part of the drawing, grown by half a panel each way so a short pan finds
        // its cards ready.
        let (w, h) = (self.size.0 / self.view.scale, self.size.1 / self.view.scale);
        let (left, top) = (
            -self.view.x / self.view.scale,
            -self.view.y / self.view.scale,
        );
        let near = |p: &crate::layout::Point| {
            all || p.x + g.width / 2.0 >= left - w / 2.0
                && p.x - g.width / 2.0 <= left + w * 1.5
                && p.y + g.height / 2.0 >= top - h / 2.0
                && p.y - g.height / 2.0 <= top + h * 1.5
        };
        for (i, (node, at)) in graph.nodes.iter().zip(&self.layout.nodes).enumerate() {
            if !self.detailed[i] && near(at) {
                let group = nodes::draw_card(&self.doc, node_layer, i, node, *at)?;
                nodes::draw_details(&self.doc, &group, node, &style, self.measure.as_ref())?;
                self.detailed[i] = true;
            }
        }
        for (i, (edge, route)) in graph.edges.iter().zip(&self.layout.edges).enumerate() {
            if !self.edge_detailed[i] && (self.detailed[edge.source] || self.detailed[edge.target])
            {
                let direction = self.options.direction;
                edges::draw_edge(&self.doc, edge_layer, i, route, direction, &self.marker)?;
                edges::draw_label(&self.doc, edge_layer, i, edge, route)?;
                self.edge_detailed[i] = true;
            }
        }
        Ok(())
    }
}
