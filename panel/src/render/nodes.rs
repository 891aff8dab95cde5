//! Node cards: health stripe and outline, kind icon, name, kind or subtitle, the main and the
//! secondary number, the arc bar (share of ok/warning/critical/unknown) and the bottleneck badge.

use pipeline_model::{Health, NodeKind};
use web_sys::{Document, Element};

use super::dom::{svg_child, svg_text, Res};
use std::collections::HashMap;

use super::measure::{card_stats, shorten, Font, Measure, Stat};
use super::theme::{is_safe_color, CardGeometry};
use super::{dom, edges, theme};
use crate::graph::{Graph, GraphNode, Shown, ARCS};
use crate::layout::{Direction, Layout, Point};

/// Icon outlines in a 16x16 box, drawn with the card's secondary text colour.
pub fn icon_path(kind: Option<NodeKind>) -> &'static str {
    match kind {
        // A log: three rows of records.
        Some(NodeKind::KafkaTopic) => "M2 3h12M2 8h12M2 13h12M5 1v4M9 6v4M12 11v4",
        Some(NodeKind::ConsumerGroup) => {
            "M5 3.5a2.5 2.5 0 1 0 .01 0M11 3.5a2.5 2.5 0 1 0 .01 0M1 14c0-4 8-4 8 0M7 14c0-4 8-4 8 0"
        }
        Some(NodeKind::FlinkSource) => "M2 2v12M5 8h9M11 5l3 3-3 3",
        Some(NodeKind::FlinkOperator) => "M8 5a3 3 0 1 0 .01 0M8 1v3M8 12v3M1 8h3M12 8h3",
        Some(NodeKind::FlinkSink) => "M2 8h9M8 5l3 3-3 3M14 2v12",
        Some(NodeKind::Database) => "M2 4c0-3 12-3 12 0v8c0 3-12 3-12 0zM2 4c0 3 12 3 12 0",
        None => "M8 3a5 5 0 1 0 .01 0",
    }
}

pub fn kind_label(kind: Option<NodeKind>) -> &'static str {
    match kind {
        Some(NodeKind::KafkaTopic) => "Kafka topic",
        Some(NodeKind::ConsumerGroup) => "Consumer group",
        Some(NodeKind::FlinkSource) => "Flink source",
        Some(NodeKind::FlinkOperator) => "Flink operator",
        Some(NodeKind::FlinkSink) => "Flink sink",
        Some(NodeKind::Database) => "Database",
        None => "Node",
    }
}

/// The numbers in the order the options ask for: (big one, small one).
pub fn stats_in_order(
    node: &GraphNode,
    secondary_is_main: bool,
) -> (Option<&Shown>, Option<&Shown>) {
    if secondary_is_main {
        (node.secondary.as_ref(), node.main.as_ref())
    } else {
        (node.main.as_ref(), node.secondary.as_ref())
    }
}

pub struct CardStyle<'a> {
    pub geometry: CardGeometry,
    pub secondary_is_main: bool,
    /// Colour the main number by its threshold colour.
    pub threshold_colors: bool,
    /// See [`widest_values`].
    pub widest: &'a HashMap<String, f64>,
}

/// Draws the shape of node `index` centred on `at` into `parent`: card, health stripe and
/// outline, bottleneck badge. Returns its group, for [`draw_details`].
pub fn draw_card(
    doc: &Document,
    parent: &Element,
    index: usize,
    node: &GraphNode,
    at: Point,
) -> Res<Element> {
    let group = svg_child(
        doc,
        parent,
        "g",
        &format!(
            "node h-{}{}",
            node.health.as_str(),
            if node.bottleneck {
                " bottleneck"
            } else if node.victim {
                " victim"
            } else {
                ""
            }
        ),
    )?;
    group.set_attribute("transform", &format!("translate({:.1},{:.1})", at.x, at.y))?;
    group.set_attribute("data-i", &index.to_string())?;
    let card = svg_child(doc, &group, "rect", "card")?;
    let stripe = svg_child(doc, &group, "rect", "stripe")?;
    // A Node Graph `color` colours a node that has no health verdict of its own.
    if let Some(c) = node.color.as_deref().filter(|c| is_safe_color(c)) {
        if node.health == Health::Unknown {
            stripe.set_attribute("style", &format!("fill:{c}"))?;
            card.set_attribute("style", &format!("stroke:{c}"))?;
        }
    }
    if node.bottleneck {
        svg_text(doc, &group, "badge", "ROOT CAUSE")?;
    }
    Ok(group)
}

/// Adds what is only legible close up to a card drawn by [`draw_card`]: kind icon, name,
/// subtitle, the numbers and the arc bar.
pub fn draw_details<'n>(
    doc: &Document,
    group: &Element,
    node: &'n GraphNode,
    style: &CardStyle,
    m: &dyn Measure,
) -> Res<()> {
    let g = &style.geometry;
    let icon = svg_child(doc, group, "path", "icon")?;
    icon.set_attribute("d", icon_path(node.kind))?;
    let icon_at = if g.compact {
        (-g.width / 2.0 + 11.0, -8.0)
    } else {
        (-g.width / 2.0 + 13.0, -g.height / 2.0 + 10.0)
    };
    icon.set_attribute(
        "transform",
        &format!("translate({},{})", icon_at.0, icon_at.1),
    )?;
    let text_room = g.width - if g.compact { 40.0 } else { 44.0 };
    let full = pipeline_model::vertex_name::shown(node.kind, &node.title);
    let title = shorten(m, &full, text_room, TITLE);
    svg_text(doc, group, "title", &title)?;
    let (main, second) = stats_in_order(node, style.secondary_is_main);
    let second = second.filter(|_| !g.compact);
    if !g.compact {
        let sub = if node.subtitle.is_empty() {
            kind_label(node.kind)
        } else {
            &node.subtitle
        };
        svg_text(doc, group, "sub", &shorten(m, sub, text_room, SMALL))?;
    }
    let main_font = Font {
        px: if g.compact { 12.0 } else { 15.0 },
        weight: 600,
    };
    let room = g.width - if g.compact { 40.0 } else { 24.0 };
    let widest = |s: &Shown, class: &str, f: Font| {
        let own = m.width(&s.text, f.px, f.weight);
        style
            .widest
            .get(&width_key(node, class, s))
            .map_or(own, |w| w.max(own))
    };
    let stat = |s: &'n Shown, class: &str, f: Font| Stat {
        label: name(s),
        value_width: widest(s, class, f),
    };
    let shown = card_stats(
        m,
        main.map(|s| stat(s, "main", main_font)),
        second.map(|s| stat(s, "second", SMALL)),
        room,
        SMALL,
    );
    let label = |s: &'n Shown, on: bool| if on { name(s) } else { "" };
    if let Some(s) = second.filter(|_| shown.second) {
        stat_text(doc, group, "second", s, label(s, shown.second_label))?;
    }
    if let Some(s) = main {
        let t = stat_text(doc, group, "main", s, label(s, shown.main_label))?;
        if let Some(c) = s
            .color
            .as_deref()
            .filter(|c| style.threshold_colors && is_safe_color(c))
        {
            t.set_attribute("style", &format!("fill:{c}"))?;
        }
    }
    if !g.compact && node.arcs.iter().any(|a| *a > 0.0) {
        draw_arcs(doc, group, &node.arcs, g)?;
    }
    Ok(())
}

/// Cards of one kind label a stat alike: its widest value decides for all of them.
pub fn width_key(node: &GraphNode, class: &str, s: &Shown) -> String {
    format!("{class}|{:?}|{}", node.kind, s.label)
}

/// The widest value of each stat, by [`width_key`].
pub fn widest_values(
    nodes: &[GraphNode],
    compact: bool,
    secondary_is_main: bool,
    m: &dyn Measure,
) -> HashMap<String, f64> {
    let mut widest: HashMap<String, f64> = HashMap::new();
    let main_px = if compact { 12.0 } else { 15.0 };
    for n in nodes {
        let (main, second) = stats_in_order(n, secondary_is_main);
        for (class, s, f) in [
            ("main", main, (main_px, 600)),
            ("second", second, (12.0, 400)),
        ] {
            if let Some(s) = s {
                let w = m.width(&s.text, f.0, f.1);
                let e = widest.entry(width_key(n, class, s)).or_default();
                *e = e.max(w);
            }
        }
    }
    widest
}

/// A stat's label on the card: none for a field without a display name ("mainstat").
fn name(s: &Shown) -> &str {
    if s.label == s.source {
        ""
    } else {
        &s.label
    }
}

const TITLE: Font = Font {
    px: 13.0,
    weight: 500,
};
const SMALL: Font = Font {
    px: 12.0,
    weight: 400,
};

/// A stat as its (possibly shortened) label and its whole value; `data-stat` names it in full.
fn stat_text(doc: &Document, group: &Element, class: &str, s: &Shown, label: &str) -> Res<Element> {
    let t = svg_child(doc, group, "text", class)?;
    t.set_attribute("data-stat", &s.label)?;
    let label = if label.is_empty() {
        String::new()
    } else {
        format!("{label} ")
    };
    for (class, text) in [("l", label.as_str()), ("v", s.text.as_str())] {
        if !text.is_empty() {
            svg_child(doc, &t, "tspan", class)?.set_text_content(Some(text));
        }
    }
    Ok(t)
}

/// First paint: every card as a rectangle in one path per health state, every edge in one
/// path. A few DOM nodes however large the pipeline; details come with zoom.
pub fn draw_overview(
    doc: &Document,
    graph: &Graph,
    layout: &Layout,
    geometry: &CardGeometry,
    direction: Direction,
) -> Res<Element> {
    let overview = doc.create_element_ns(Some(dom::SVG_NS), "g")?;
    overview.set_attribute("class", "overview")?;
    overview.set_attribute("data-nodes", &graph.nodes.len().to_string())?;
    let mut lines = String::new();
    for route in &layout.edges {
        lines.push_str(&edges::route_path(route, direction));
    }
    svg_child(doc, &overview, "path", "edge")?.set_attribute("d", &lines)?;
    let mut cards: [String; 5] = Default::default();
    for (node, at) in graph.nodes.iter().zip(&layout.nodes) {
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
            svg_child(doc, &overview, "path", class)?.set_attribute("d", d)?;
        }
    }
    Ok(overview)
}

/// The arc fractions as a thin stacked bar along the bottom of the card.
fn draw_arcs(doc: &Document, group: &Element, arcs: &[f64; 4], g: &CardGeometry) -> Res<()> {
    let total: f64 = arcs.iter().sum();
    let (x0, width, y) = (-g.width / 2.0 + 8.0, g.width - 14.0, g.height / 2.0 - 6.0);
    let bg = svg_child(doc, group, "rect", "arcbg")?;
    bg.set_attribute("x", &format!("{x0}"))?;
    bg.set_attribute("y", &format!("{y}"))?;
    bg.set_attribute("width", &format!("{width}"))?;
    bg.set_attribute("height", "3")?;
    let mut x = x0;
    for (share, (_, health)) in arcs.iter().zip(ARCS) {
        if *share <= 0.0 {
            continue;
        }
        let w = width * share / total;
        let r = svg_child(doc, group, "rect", &format!("a-{}", health.as_str()))?;
        r.set_attribute("x", &format!("{x:.1}"))?;
        r.set_attribute("y", &format!("{y}"))?;
        r.set_attribute("width", &format!("{w:.1}"))?;
        r.set_attribute("height", "3")?;
        x += w;
    }
    Ok(())
}
