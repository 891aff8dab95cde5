//! Node cards: health stripe and outline, kind icon, name, kind or subtitle, the main and the
//! secondary number, the arc bar (share of ok/warning/critical/unknown) and the bottleneck badge.

use pipeline_model::{Health, NodeKind};
use web_sys::{Document, Element};

use super::dom::{svg_child, svg_text, truncate, Res};
use super::theme::{is_safe_color, CardGeometry};
use crate::graph::{GraphNode, Shown, ARCS};
use crate::layout::Point;

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

pub struct CardStyle {
    pub geometry: CardGeometry,
    pub secondary_is_main: bool,
    /// Colour the main number by its threshold colour.
    pub threshold_colors: bool,
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
            if node.bottleneck { " bottleneck" } else { "" }
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
        svg_text(doc, &group, "badge", "BOTTLENECK")?;
    }
    Ok(group)
}

/// Adds what is only legible close up to a card drawn by [`draw_card`]: kind icon, name,
/// subtitle, the numbers and the arc bar.
pub fn draw_details(
    doc: &Document,
    group: &Element,
    node: &GraphNode,
    style: &CardStyle,
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
    svg_text(doc, group, "title", &truncate(&node.title, g.title_chars()))?;
    let (main, second) = stats_in_order(node, style.secondary_is_main);
    if !g.compact {
        let sub = if node.subtitle.is_empty() {
            kind_label(node.kind)
        } else {
            &node.subtitle
        };
        svg_text(doc, group, "sub", &truncate(sub, g.title_chars() + 2))?;
        if let Some(s) = second {
            svg_text(doc, group, "second", &truncate(&s.text, 14))?;
        }
    }
    if let Some(m) = main {
        let t = svg_text(doc, group, "main", &truncate(&m.text, 16))?;
        if let Some(c) = m
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
