//! HTML overlays on the drawing: the hover tooltip (every number and the reason) and the legend.

use pipeline_model::Health;
use web_sys::{Document, Element};

use super::dom::{html_child, Res};
use super::nodes::kind_label;
use crate::graph::{Graph, GraphEdge, GraphNode, ARCS};

/// One line of a tooltip.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Title(String),
    /// Health verdict, and whether the node is the bottleneck.
    Verdict(Health, bool),
    Reason(String),
    Stat(String, String),
    Hint(String),
}

pub fn node_rows(node: &GraphNode, has_links: bool) -> Vec<Row> {
    let mut rows = vec![
        Row::Title(node.title.clone()),
        Row::Stat(
            kind_label(node.kind).to_string(),
            if node.subtitle.is_empty() {
                node.id.clone()
            } else {
                node.subtitle.clone()
            },
        ),
        Row::Verdict(node.health, node.bottleneck),
    ];
    if !node.reason.is_empty() {
        rows.push(Row::Reason(node.reason.clone()));
    }
    for s in node.main.iter().chain(&node.secondary).chain(&node.details) {
        rows.push(Row::Stat(s.label.clone(), s.text.clone()));
    }
    if node.arcs.iter().any(|a| *a > 0.0) {
        let total: f64 = node.arcs.iter().sum();
        let parts: Vec<String> = node
            .arcs
            .iter()
            .zip(ARCS)
            .filter(|(a, _)| **a > 0.0)
            .map(|(a, (_, h))| format!("{} {:.0}%", h.as_str(), a / total * 100.0))
            .collect();
        rows.push(Row::Stat("Share".into(), parts.join(" · ")));
    }
    if has_links {
        rows.push(Row::Hint("Click for links".into()));
    }
    rows
}

pub fn edge_rows(edge: &GraphEdge, graph: &Graph) -> Vec<Row> {
    let name = |i: usize| {
        graph
            .nodes
            .get(i)
            .map(|n| n.title.clone())
            .unwrap_or_default()
    };
    let mut rows = vec![Row::Title(format!(
        "{} → {}",
        name(edge.source),
        name(edge.target)
    ))];
    for s in edge.main.iter().chain(&edge.secondary) {
        rows.push(Row::Stat(s.label.clone(), s.text.clone()));
    }
    rows
}

/// Replaces the tooltip's content with `rows`.
pub fn fill_tooltip(doc: &Document, tip: &Element, rows: &[Row]) -> Res<()> {
    tip.set_text_content(None);
    for row in rows {
        match row {
            Row::Title(t) => {
                html_child(doc, tip, "div", "t", Some(t))?;
            }
            Row::Verdict(h, bottleneck) => {
                let line = html_child(doc, tip, "div", "", None)?;
                html_child(doc, &line, "span", "k", Some("Health"))?;
                let mut text = h.as_str().to_uppercase();
                if *bottleneck {
                    text.push_str(" · bottleneck");
                }
                html_child(
                    doc,
                    &line,
                    "span",
                    &format!("h-{}", h.as_str()),
                    Some(&text),
                )?;
            }
            Row::Reason(r) => {
                html_child(doc, tip, "div", "r", Some(r))?;
            }
            Row::Stat(k, v) => {
                let line = html_child(doc, tip, "div", "", None)?;
                html_child(doc, &line, "span", "k", Some(k))?;
                html_child(doc, &line, "span", "", Some(v))?;
            }
            Row::Hint(h) => {
                html_child(doc, tip, "div", "k", Some(h))?;
            }
        }
    }
    Ok(())
}

/// The legend: health colours with counts, the bottleneck mark and, when asked for, the main
/// number's threshold steps.
pub fn fill_legend(
    doc: &Document,
    legend: &Element,
    graph: &Graph,
    thresholds: Option<&[(String, String)]>,
) -> Res<()> {
    legend.set_text_content(None);
    for h in [
        Health::Ok,
        Health::Warning,
        Health::Critical,
        Health::Unknown,
    ] {
        let item = html_child(doc, legend, "span", "item", None)?;
        html_child(doc, &item, "i", &format!("h-{}", h.as_str()), None)?;
        html_child(
            doc,
            &item,
            "span",
            "",
            Some(&format!("{} {}", h.as_str(), graph.count(h))),
        )?;
    }
    if let Some(b) = graph.bottleneck() {
        let item = html_child(doc, legend, "span", "item", None)?;
        html_child(doc, &item, "i", "bn", None)?;
        html_child(
            doc,
            &item,
            "span",
            "",
            Some(&format!("bottleneck: {}", b.title)),
        )?;
    }
    if let Some(steps) = thresholds.filter(|s| !s.is_empty()) {
        let item = html_child(doc, legend, "span", "item thresholds", None)?;
        html_child(doc, &item, "span", "", Some("thresholds:"))?;
        for (label, color) in steps {
            let i = html_child(doc, &item, "i", "", None)?;
            if super::theme::is_safe_color(color) {
                i.set_attribute("style", &format!("background:{color};margin-left:6px"))?;
            }
            html_child(doc, &item, "span", "", Some(label))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Shown;
    use pipeline_model::NodeKind;

    fn node() -> GraphNode {
        GraphNode {
            id: "g1".into(),
            title: "enricher".into(),
            subtitle: String::new(),
            kind: Some(NodeKind::ConsumerGroup),
            health: Health::Critical,
            reason: "lag 12 min, growing".into(),
            main: Some(Shown {
                label: "Lag".into(),
                text: "120 K".into(),
                color: None,
            }),
            secondary: None,
            details: vec![Shown {
                label: "Time lag".into(),
                text: "12 min".into(),
                color: None,
            }],
            arcs: [0.25, 0.0, 0.75, 0.0],
            color: None,
            bottleneck: true,
            row: 0,
        }
    }

    #[test]
    fn node_tooltip_lists_every_number_and_the_reason() {
        let rows = node_rows(&node(), true);
        assert_eq!(rows[0], Row::Title("enricher".into()));
        assert_eq!(rows[1], Row::Stat("Consumer group".into(), "g1".into()));
        assert_eq!(rows[2], Row::Verdict(Health::Critical, true));
        assert!(rows.contains(&Row::Reason("lag 12 min, growing".into())));
        assert!(rows.contains(&Row::Stat("Lag".into(), "120 K".into())));
        assert!(rows.contains(&Row::Stat("Time lag".into(), "12 min".into())));
        assert!(rows.contains(&Row::Stat("Share".into(), "ok 25% · critical 75%".into())));
        assert_eq!(rows.last(), Some(&Row::Hint("Click for links".into())));
        assert!(!node_rows(&node(), false)
            .iter()
            .any(|r| matches!(r, Row::Hint(_))));
    }
}
