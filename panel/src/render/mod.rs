//! Drawing with the DOM (SVG for the graph, HTML for tooltip, legend and messages), built once
//! per data change; zoom and pan only change one transform.
//!
//! - [`theme`]: colours and the style sheet; [`viewport`]: zoom/pan arithmetic;
//! - [`nodes`], [`edges`]: the SVG; [`overlay`]: tooltip and legend; [`dom`]: helpers;
//! - `pointer`: what the pointer is over, zoom, pan, hover and click.

pub mod dom;
pub mod edges;
pub mod nodes;
pub mod overlay;
mod pointer;
pub mod theme;
pub mod viewport;

use web_sys::{Document, Element, HtmlElement};

use crate::graph::{read_graph, Graph, Problem};
use crate::handoff::PanelData;
use crate::layout::{layout, Direction, Layout, Spacing};
use dom::{html_child, svg_child, Res};
use nodes::CardStyle;
use theme::{style_sheet, CardGeometry, Theme};
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

/// Below this zoom, card text would be under ~5 px: the first paint draws shapes, colours
/// and edges only, and the text is added the first time the view zooms in past it.
pub const DETAIL_SCALE: f64 = 0.45;
const LEGEND_ROOM: f64 = 22.0;
const WARNING_ROOM: f64 = 16.0;

pub struct Scene {
    doc: Document,
    root: HtmlElement,
    style: Element,
    svg: Element,
    viewport: Element,
    tooltip: HtmlElement,
    legend: HtmlElement,
    warnings: Element,
    message: Element,
    data: Result<Graph, Problem>,
    layout: Layout,
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
    press: Option<(f64, f64, View)>,
    dragged: bool,
}

impl Scene {
    /// Builds the panel's skeleton inside `container`.
    pub fn new(doc: Document, container: &Element) -> Res<Scene> {
        let root: HtmlElement = wasm_bindgen::JsCast::dyn_into(doc.create_element("div")?)?;
        root.set_attribute("class", "pht")?;
        container.append_child(&root)?;
        let style = html_child(&doc, &root, "style", "", None)?;
        let svg = svg_child(&doc, &root, "svg", "graph")?;
        let defs = svg_child(&doc, &svg, "defs", "")?;
        let marker = svg_child(&doc, &defs, "marker", "")?;
        for (k, v) in [
            ("id", "pht-arrow"),
            ("viewBox", "0 0 10 10"),
            ("refX", "9"),
            ("refY", "5"),
            ("markerWidth", "7"),
            ("markerHeight", "7"),
            ("orient", "auto-start-reverse"),
        ] {
            marker.set_attribute(k, v)?;
        }
        svg_child(&doc, &marker, "path", "arrow")?.set_attribute("d", "M0 0L10 5L0 10z")?;
        let viewport = svg_child(&doc, &svg, "g", "viewport")?;
        let warnings = html_child(&doc, &root, "div", "warnings", None)?;
        let legend: HtmlElement =
            wasm_bindgen::JsCast::dyn_into(html_child(&doc, &root, "div", "legend", None)?)?;
        let message = html_child(&doc, &root, "div", "message", None)?;
        let controls = html_child(&doc, &root, "div", "controls", None)?;
        for (act, label, title) in [
            ("in", "+", "Zoom in"),
            ("out", "\u{2212}", "Zoom out"),
            ("fit", "\u{2922}", "Fit the whole pipeline"),
        ] {
            let b = html_child(&doc, &controls, "button", "", Some(label))?;
            b.set_attribute("data-act", act)?;
            b.set_attribute("title", title)?;
            b.set_attribute("type", "button")?;
        }
        let tooltip: HtmlElement =
            wasm_bindgen::JsCast::dyn_into(html_child(&doc, &root, "div", "tooltip", None)?)?;
        tooltip.style().set_property("display", "none")?;
        Ok(Scene {
            doc,
            root,
            style,
            svg,
            viewport,
            tooltip,
            legend,
            warnings,
            message,
            data: Err(Problem::NoData),
            layout: Layout::default(),
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
            press: None,
            dragged: false,
        })
    }

    pub fn svg(&self) -> &Element {
        &self.svg
    }

    pub fn root(&self) -> &HtmlElement {
        &self.root
    }

    pub fn set_data(&mut self, data: &PanelData) {
        self.data = read_graph(data);
    }

    pub fn set_size(&mut self, width: f64, height: f64) -> Res<()> {
        self.size = (width.max(0.0), height.max(0.0));
        let s = self.root.style();
        s.set_property("width", &format!("{}px", self.size.0))?;
        s.set_property("height", &format!("{}px", self.size.1))?;
        self.svg
            .set_attribute("width", &format!("{}", self.size.0))?;
        self.svg
            .set_attribute("height", &format!("{}", self.size.1))?;
        Ok(())
    }

    fn geometry(&self) -> CardGeometry {
        CardGeometry::new(self.options.compact)
    }

    /// Lays out and draws everything from scratch (data, options or theme changed).
    pub fn draw(&mut self) -> Res<()> {
        let geometry = self.geometry();
        self.style
            .set_text_content(Some(&style_sheet(&self.theme, &geometry)));
        self.hide_tooltip()?;
        self.viewport.set_text_content(None);
        self.legend.set_text_content(None);
        self.warnings.set_text_content(None);
        let graph = match &self.data {
            Err(problem) => {
                let class = match problem {
                    Problem::QueryFailed(_) | Problem::Malformed(_) => "message error",
                    Problem::NoData | Problem::NoNodes => "message",
                };
                self.message.set_attribute("class", class)?;
                self.message.set_text_content(Some(&problem.to_string()));
                self.svg.set_attribute("style", "display:none")?;
                self.legend.style().set_property("display", "none")?;
                return Ok(());
            }
            Ok(g) => g,
        };
        self.message.set_attribute("class", "message")?;
        self.message.set_text_content(None);
        self.svg.remove_attribute("style")?;

        let spacing = Spacing {
            node_width: geometry.width,
            node_height: geometry.height,
            layer_gap: if geometry.compact { 70.0 } else { 96.0 },
            node_gap: if geometry.compact { 14.0 } else { 26.0 },
            edge_gap: 10.0,
        };
        let pairs: Vec<(usize, usize)> = graph.edges.iter().map(|e| (e.source, e.target)).collect();
        self.layout = layout(graph.nodes.len(), &pairs, self.options.direction, &spacing);

        // First paint: every card as a rectangle in one path per health state, every edge in
        // one path. A few DOM nodes however large the pipeline; details come with zoom.
        let overview = self.doc.create_element_ns(Some(dom::SVG_NS), "g")?;
        overview.set_attribute("class", "overview")?;
        overview.set_attribute("data-nodes", &graph.nodes.len().to_string())?;
        let mut lines = String::new();
        for route in &self.layout.edges {
            lines.push_str(&edges::route_path(route, self.options.direction));
        }
        svg_child(&self.doc, &overview, "path", "edge")?.set_attribute("d", &lines)?;
        let mut cards: [String; 5] = Default::default();
        for (node, at) in graph.nodes.iter().zip(&self.layout.nodes) {
            let rect = format!(
                "M{:.1} {:.1}h{w}v{h}h-{w}z",
                at.x - geometry.width / 2.0,
                at.y - geometry.height / 2.0,
                w = geometry.width,
                h = geometry.height
            );
            cards[theme::health_slot(node.health)].push_str(&rect);
            if node.bottleneck {
                cards[4].push_str(&rect);
            }
        }
        for (d, class) in
            cards
                .iter()
                .zip(["ov-ok", "ov-warning", "ov-critical", "ov-unknown", "ov-bn"])
        {
            if !d.is_empty() {
                svg_child(&self.doc, &overview, "path", class)?.set_attribute("d", d)?;
            }
        }
        self.viewport.append_child(&overview)?;
        let edge_layer = svg_child(&self.doc, &self.viewport, "g", "detail")?;
        let node_layer = svg_child(&self.doc, &self.viewport, "g", "detail")?;
        self.detail_layers = Some((edge_layer, node_layer));
        self.detailed = vec![false; graph.nodes.len()];
        self.edge_detailed = vec![false; graph.edges.len()];

        if let Some(w) = graph.warnings.first() {
            let text = if graph.warnings.len() > 1 {
                format!("{w} (+{} more)", graph.warnings.len() - 1)
            } else {
                w.clone()
            };
            self.warnings.set_text_content(Some(&text));
        }
        if self.options.show_legend {
            self.legend.style().set_property("display", "flex")?;
            let steps = self
                .options
                .show_thresholds
                .then_some(self.thresholds.as_slice());
            overlay::fill_legend(&self.doc, &self.legend, graph, steps)?;
        } else {
            self.legend.style().set_property("display", "none")?;
        }
        self.fit()
    }

    /// Shows the whole graph.
    pub fn fit(&mut self) -> Res<()> {
        let has_warnings = matches!(&self.data, Ok(g) if !g.warnings.is_empty());
        self.view = View::fit(
            (self.layout.width, self.layout.height),
            self.size,
            if has_warnings { WARNING_ROOM } else { 0.0 },
            if self.options.show_legend {
                LEGEND_ROOM
            } else {
                0.0
            },
        );
        self.apply_view()
    }

    fn apply_view(&mut self) -> Res<()> {
        self.viewport
            .set_attribute("transform", &self.view.transform())?;
        self.ensure_details()
    }

    /// Draws full cards (names, numbers) and edges (arrows, labels) over the overview for what
    /// is in or near the view, once the view is close enough to read them.
    fn ensure_details(&mut self) -> Res<()> {
        if self.view.scale < DETAIL_SCALE {
            return Ok(());
        }
        let (Ok(graph), Some((edge_layer, node_layer))) = (&self.data, &self.detail_layers) else {
            return Ok(());
        };
        let g = self.geometry();
        let style = CardStyle {
            geometry: g,
            secondary_is_main: self.options.secondary_is_main,
            threshold_colors: self.options.show_thresholds,
        };
        // The visible part of the drawing, grown by half a panel each way so a short pan finds
        // its cards ready.
        let (w, h) = (self.size.0 / self.view.scale, self.size.1 / self.view.scale);
        let (left, top) = (
            -self.view.x / self.view.scale,
            -self.view.y / self.view.scale,
        );
        let near = |p: &crate::layout::Point| {
            p.x + g.width / 2.0 >= left - w / 2.0
                && p.x - g.width / 2.0 <= left + w * 1.5
                && p.y + g.height / 2.0 >= top - h / 2.0
                && p.y - g.height / 2.0 <= top + h * 1.5
        };
        for (i, (node, at)) in graph.nodes.iter().zip(&self.layout.nodes).enumerate() {
            if !self.detailed[i] && near(at) {
                let group = nodes::draw_card(&self.doc, node_layer, i, node, *at)?;
                nodes::draw_details(&self.doc, &group, node, &style)?;
                self.detailed[i] = true;
            }
        }
        for (i, (edge, route)) in graph.edges.iter().zip(&self.layout.edges).enumerate() {
            if !self.edge_detailed[i] && (self.detailed[edge.source] || self.detailed[edge.target])
            {
                edges::draw_edge(&self.doc, edge_layer, i, route, self.options.direction)?;
                edges::draw_label(&self.doc, edge_layer, i, edge, route)?;
                self.edge_detailed[i] = true;
            }
        }
        Ok(())
    }
}
