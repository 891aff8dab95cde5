//! The Pipeline Topology panel: the pipeline drawn as a layered graph, coloured by health.
//!
//! - [`layout`]: pure layered layout (no DOM), unit-tested natively.
//! - [`handoff`], [`graph`]: Grafana frames as handed over by the shim, and the graph read from them
//!   (with the messages for no data, errors and malformed frames).
//! - [`render`]: SVG/HTML drawing with web-sys, tooltip, legend, zoom and pan.
//!
//! The JS shim (`shim/module.ts`) creates a [`TopologyPanel`] per panel, passes the frames
//! column by column, the size, the theme colours and the options, then calls `render`.

pub mod collapse;
pub mod graph;
pub mod handoff;
pub mod layout;
pub mod render;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, MouseEvent, WheelEvent};

use handoff::{Column, Field, Frame, PanelData};
use layout::Direction;
use pipeline_model::frame_contract::node_fields;
use render::{Scene, Target};

/// A DOM listener: element, event name and the Rust closure behind it.
type Listener = (Element, &'static str, Closure<dyn FnMut(Event)>);

/// One panel instance, owned by the shim's React component.
#[wasm_bindgen]
pub struct TopologyPanel {
    scene: Rc<RefCell<Scene>>,
    data: PanelData,
    /// Kept alive as long as the panel: the DOM listeners call into them.
    listeners: Vec<Listener>,
}

#[wasm_bindgen]
impl TopologyPanel {
    /// Builds the panel inside `container`. `on_node_click(frameIndex, row, clientX, clientY)` is
    /// called with the clicked node's frame and row (the shim resolves and opens its data links).
    #[wasm_bindgen(constructor)]
    pub fn new(
        container: Element,
        on_node_click: js_sys::Function,
    ) -> Result<TopologyPanel, JsValue> {
        let doc = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| JsValue::from_str("no document"))?;
        let scene = Rc::new(RefCell::new(Scene::new(doc, &container)?));
        let mut panel = TopologyPanel {
            scene,
            data: PanelData::default(),
            listeners: Vec::new(),
        };
        panel.wire_events(on_node_click)?;
        Ok(panel)
    }

    /// Starts a new set of frames (call `add_frame` and the field adders, then `render`).
    pub fn clear_data(&mut self) {
        self.data = PanelData::default();
    }

    pub fn add_frame(&mut self, name: String) {
        self.data.frames.push(Frame {
            name,
            ..Frame::default()
        });
    }

    /// A `meta.custom` entry of the last frame added (a list as its items, text as one).
    pub fn add_frame_meta(&mut self, key: String, values: Vec<String>) {
        if let Some(frame) = self.data.frames.last_mut() {
            frame.meta.push((key, values));
        }
    }

    /// A string field of the last frame added.
    pub fn add_text_field(&mut self, name: String, label: String, values: Vec<String>) {
        self.push_field(name, label, Column::Text(values));
    }

    /// A numeric (or boolean, as 0/1) field of the last frame added, with Grafana's display text
    /// and threshold colour for each value.
    pub fn add_number_field(
        &mut self,
        name: String,
        label: String,
        values: Vec<f64>,
        display: Vec<String>,
        colors: Vec<String>,
    ) {
        self.push_field(
            name,
            label,
            Column::Number {
                values,
                display,
                colors,
            },
        );
    }

    /// The query's error (PanelData.errors), shown instead of the graph.
    pub fn set_error(&mut self, message: String) {
        self.data.error = Some(message);
    }

    /// `direction`: "LR" or "TB"; `main_stat`: "mainstat" or "secondarystat".
    pub fn set_options(
        &mut self,
        direction: &str,
        main_stat: &str,
        compact: bool,
        show_thresholds: bool,
        show_legend: bool,
    ) {
        let mut s = self.scene.borrow_mut();
        s.options = render::Options {
            direction: if direction == "TB" {
                Direction::TopBottom
            } else {
                Direction::LeftRight
            },
            secondary_is_main: main_stat == node_fields::SECONDARYSTAT,
            compact,
            show_thresholds,
            show_legend,
        };
    }

    /// How Flink jobs are drawn: "auto" (one card per job when every vertex would not fit at a
    /// readable size), "jobs" (always one card) or "vertices" (every vertex).
    pub fn set_flink_jobs(&mut self, option: &str) {
        self.scene.borrow_mut().set_jobs_option(option);
    }

    /// Threshold steps of the main number, for the legend: labels and colours.
    pub fn set_thresholds(&mut self, labels: Vec<String>, colors: Vec<String>) {
        self.scene.borrow_mut().thresholds = labels.into_iter().zip(colors).collect();
    }

    /// Grafana theme colours: background, card, text, secondary text, border, primary, then the
    /// ok, warning, critical and unknown colours.
    pub fn set_theme(&mut self, dark: bool, colors: Vec<String>) {
        self.scene.borrow_mut().theme = render::theme::Theme::from_list(dark, &colors);
    }

    /// Whether nodes have data links (the tooltip then says so).
    pub fn set_has_links(&mut self, has_links: bool) {
        self.scene.borrow_mut().has_links = has_links;
    }

    /// New panel size: what fits depends on it, so it is planned and drawn again. The same
    /// size again (the shim passes it with every refresh) keeps the user's zoom and pan.
    pub fn resize(&mut self, width: f64, height: f64) -> Result<(), JsValue> {
        let mut s = self.scene.borrow_mut();
        if s.set_size(width, height)? {
            s.resized()?;
        }
        Ok(())
    }

    /// Reads the frames, lays the graph out and draws it (or the message saying why not).
    pub fn render(&mut self) -> Result<(), JsValue> {
        let mut s = self.scene.borrow_mut();
        s.set_data(&self.data);
        s.draw()
    }

    /// Removes the panel's DOM and its listeners.
    pub fn destroy(&mut self) {
        for (el, kind, cb) in self.listeners.drain(..) {
            let _ = el.remove_event_listener_with_callback(kind, cb.as_ref().unchecked_ref());
        }
        self.scene.borrow().root().remove();
    }
}

impl TopologyPanel {
    fn push_field(&mut self, name: String, label: String, column: Column) {
        if self.data.frames.is_empty() {
            self.add_frame(String::new());
        }
        if let Some(frame) = self.data.frames.last_mut() {
            let label = if label.is_empty() {
                name.clone()
            } else {
                label
            };
            frame.fields.push(Field {
                name,
                label,
                column,
            });
        }
    }

    fn listen(
        &mut self,
        el: &Element,
        kind: &'static str,
        handler: impl FnMut(Event) + 'static,
    ) -> Result<(), JsValue> {
        let cb = Closure::<dyn FnMut(Event)>::new(handler);
        el.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref())?;
        self.listeners.push((el.clone(), kind, cb));
        Ok(())
    }

    fn wire_events(&mut self, on_node_click: js_sys::Function) -> Result<(), JsValue> {
        let (svg, root): (Element, Element) = {
            let s = self.scene.borrow();
            (s.svg().clone(), s.root().clone().into())
        };
        let scene = self.scene.clone();
        self.listen(&svg, "wheel", move |e| {
            if let Some(w) = e.dyn_ref::<WheelEvent>() {
                e.prevent_default();
                let mut s = scene.borrow_mut();
                let (x, y) = s.to_local(w.client_x() as f64, w.client_y() as f64);
                let _ = s.zoom_at(x, y, (-w.delta_y() * 0.0015).exp());
            }
        })?;
        let scene = self.scene.clone();
        self.listen(&svg, "mousedown", move |e| {
            if let Some(m) = e.dyn_ref::<MouseEvent>().filter(|m| m.button() == 0) {
                let mut s = scene.borrow_mut();
                let (x, y) = s.to_local(m.client_x() as f64, m.client_y() as f64);
                s.press(x, y);
            }
        })?;
        let scene = self.scene.clone();
        self.listen(&svg, "mousemove", move |e| {
            if let Some(m) = e.dyn_ref::<MouseEvent>() {
                let mut s = scene.borrow_mut();
                let (x, y) = s.to_local(m.client_x() as f64, m.client_y() as f64);
                let target = s.target_at(x, y, target_of(&e));
                let _ = s.pointer_move(x, y, target);
            }
        })?;
        let scene = self.scene.clone();
        self.listen(&svg, "mouseleave", move |_| {
            let mut s = scene.borrow_mut();
            let _ = s.release(None);
            let _ = s.hide_tooltip();
        })?;
        let scene = self.scene.clone();
        self.listen(&svg, "mouseup", move |e| {
            let Some(m) = e.dyn_ref::<MouseEvent>() else {
                return;
            };
            // Release the borrow before calling out: the shim may re-render synchronously.
            let hit = {
                let mut s = scene.borrow_mut();
                let (x, y) = s.to_local(m.client_x() as f64, m.client_y() as f64);
                let target = s.target_at(x, y, target_of(&e));
                s.release(target).ok().flatten()
            };
            if let Some((frame, row)) = hit {
                let args = js_sys::Array::of4(
                    &JsValue::from_f64(frame as f64),
                    &JsValue::from_f64(row as f64),
                    &JsValue::from_f64(m.client_x() as f64),
                    &JsValue::from_f64(m.client_y() as f64),
                );
                let _ = on_node_click.apply(&JsValue::NULL, &args);
            }
        })?;
        let scene = self.scene.clone();
        self.listen(&root, "click", move |e| {
            let act = e
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|el| el.closest("[data-act]").ok().flatten())
                .and_then(|el| el.get_attribute("data-act"));
            let mut s = scene.borrow_mut();
            let _ = match act.as_deref() {
                Some("in") => s.zoom(1.25),
                Some("out") => s.zoom(0.8),
                Some("fit") => s.fit(),
                Some("jobs") => s.toggle_jobs(),
                _ => Ok(()),
            };
        })?;
        Ok(())
    }
}

impl Drop for TopologyPanel {
    fn drop(&mut self) {
        self.destroy();
    }
}

/// The node or edge under an event, from the `data-i` / `data-e` attributes set when drawing.
fn target_of(e: &Event) -> Option<Target> {
    let el = e.target()?.dyn_into::<Element>().ok()?;
    let hit = el.closest("[data-i],[data-e]").ok()??;
    if let Some(i) = hit.get_attribute("data-i") {
        return i.parse().ok().map(Target::Node);
    }
    hit.get_attribute("data-e")?.parse().ok().map(Target::Edge)
}

/// Layout alone, for the benchmark against dagre: node centres as x0, y0, x1, y1, ...
#[wasm_bindgen]
pub fn layout_only(
    node_count: usize,
    sources: Vec<u32>,
    targets: Vec<u32>,
    top_bottom: bool,
) -> Vec<f64> {
    let edges: Vec<(usize, usize)> = sources
        .iter()
        .zip(&targets)
        .map(|(&s, &t)| (s as usize, t as usize))
        .collect();
    let direction = if top_bottom {
        Direction::TopBottom
    } else {
        Direction::LeftRight
    };
    let l = layout::layout(node_count, &edges, direction, &layout::Spacing::default());
    l.nodes.iter().flat_map(|p| [p.x, p.y]).collect()
}
