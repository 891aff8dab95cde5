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

/// A tooltip is read at a glance; longer, it covers the cards the user is looking at.
pub const MAX_TOOLTIP_ROWS: usize = 12;

/// The node's tooltip: name, kind, health, the reason once and each number once.
pub fn node_rows(node: &GraphNode, has_links: bool) -> Vec<Row> {
    let kind = kind_text(node);
    let mut rows = vec![
        Row::Title(node.title.clone()),
        Row::Hint(kind),
        Row::Verdict(node.health, node.bottleneck),
    ];
    if !node.reason.is_empty() {
        rows.push(Row::Reason(node.reason.clone()));
    }
    let mut sources: Vec<&str> = Vec::new();
    let headline: Vec<&str> = node
        .main
        .iter()
        .chain(&node.secondary)
        .map(|s| s.text.as_str())
        .collect();
    let mut details = Vec::new();
    for (i, s) in node
        .main
        .iter()
        .chain(&node.secondary)
        .chain(&node.details)
        .enumerate()
    {
        let row = Row::Stat(s.label.clone(), s.text.clone());
        // The reason also comes as a detail; a headline number is a detail too, by its field
        // (our text stats) or by its value (Throughput is the vertex's records in).
        let repeated = i >= headline.len() && headline.contains(&s.text.as_str());
        if s.text == node.reason
            || repeated
            || sources.contains(&s.source.as_str())
            || rows.contains(&row)
            || details.contains(&row)
        {
            continue;
        }
        sources.push(&s.source);
        if i < headline.len() {
            rows.push(row);
        } else {
            details.push(row);
        }
    }
    let mut tail = Vec::new();
    // A share of one state is the health again; a mix is news.
    if node.arcs.iter().filter(|a| **a > 0.0).count() > 1 {
        let total: f64 = node.arcs.iter().sum();
        let parts: Vec<String> = node
            .arcs
            .iter()
            .zip(ARCS)
            .filter(|(a, _)| **a > 0.0)
            .map(|(a, (_, h))| format!("{} {:.0}%", h.as_str(), a / total * 100.0))
            .collect();
        tail.push(Row::Stat("Share".into(), parts.join(" · ")));
    }
    if let Some(job) = &node.job {
        tail.push(Row::Hint(format!(
            "Click to show its {} vertices",
            job.vertices
        )));
    } else if has_links {
        tail.push(Row::Hint("Click for links".into()));
    }
    // The details give way first: name, verdict, reason and headline numbers always show, and a
    // job card's vertex details show in full once the job is opened.
    details.truncate(MAX_TOOLTIP_ROWS.saturating_sub(rows.len() + tail.len()));
    rows.extend(details);
    rows.extend(tail);
    rows
}

/// "Consumer group · Stable": the kind, and the subtitle when it says more.
fn kind_text(node: &GraphNode) -> String {
    let kind = if node.job.is_some() {
        "Flink job"
    } else {
        kind_label(node.kind)
    };
    let sub = node.subtitle.trim();
    if sub.is_empty() || sub.eq_ignore_ascii_case(kind) || node.job.is_some() {
        kind.to_string()
    } else {
        format!("{kind} · {sub}")
    }
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
                    text.push_str(" · root cause");
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
    // The key to the dashed outline; the cause itself is named in the caption.
    if graph.bottleneck().is_some() {
        let item = html_child(doc, legend, "span", "item", None)?;
        html_child(doc, &item, "i", "bn", None)?;
        html_child(doc, &item, "span", "", Some("root cause"))?;
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
    use crate::graph::{JobCard, Shown};
    use pipeline_model::NodeKind;

    fn shown(label: &str, text: &str, source: &str) -> Shown {
        Shown {
            label: label.into(),
            text: text.into(),
            color: None,
            source: source.into(),
        }
    }

    fn node() -> GraphNode {
        GraphNode {
            id: "g1".into(),
            title: "enricher".into(),
            subtitle: "Stable".into(),
            kind: Some(NodeKind::ConsumerGroup),
            health: Health::Critical,
            reason: "lag 12 min, growing".into(),
            // The card's lag is the `detail__lag` field, as our datasource writes it.
            main: Some(shown("lag", "120 K", "detail__lag")),
            secondary: None,
            details: vec![
                shown("Reason", "lag 12 min, growing", "detail__reason"),
                shown("lag", "120 K", "detail__lag"),
                shown("Time lag", "12 min", "detail__time_lag"),
            ],
            arcs: [0.0, 0.0, 1.0, 0.0],
            color: None,
            bottleneck: true,
            victim: false,
            row: 0,
            job: None,
        }
    }

    /// A collapsed Flink job of six vertices, on the group node's numbers.
    fn job_card() -> GraphNode {
        GraphNode {
            job: Some(JobCard {
                key: "flink/j/a".into(),
                vertices: 6,
            }),
            ..node()
        }
    }

    #[test]
    fn node_tooltip_says_each_thing_once() {
        let rows = node_rows(&node(), true);
        assert_eq!(
            rows,
            [
                Row::Title("enricher".into()),
                Row::Hint("Consumer group · Stable".into()),
                Row::Verdict(Health::Critical, true),
                Row::Reason("lag 12 min, growing".into()),
                Row::Stat("lag".into(), "120 K".into()),
                Row::Stat("Time lag".into(), "12 min".into()),
                Row::Hint("Click for links".into()),
            ]
        );
        assert!(!node_rows(&node(), false)
            .iter()
            .any(|r| matches!(r, Row::Hint(h) if h.contains("links"))));
    }

    #[test]
    fn a_job_card_offers_its_vertices() {
        let mut n = job_card();
        n.arcs = [0.5, 0.0, 0.5, 0.0];
        let rows = node_rows(&n, true);
        assert_eq!(rows[1], Row::Hint("Flink job".into()));
        assert!(rows.contains(&Row::Stat("Share".into(), "ok 50% · critical 50%".into())));
        assert_eq!(
            rows.last(),
            Some(&Row::Hint("Click to show its 6 vertices".into()))
        );
    }

    #[test]
    fn a_long_tooltip_drops_details_first() {
        let mut n = job_card();
        n.arcs = [0.5, 0.25, 0.25, 0.0];
        n.secondary = Some(shown("Behind", "40 s", "secondary"));
        n.details = (0..9)
            .map(|i| shown(&format!("d{i}"), &format!("{i} %"), &format!("detail__{i}")))
            .collect();
        let rows = node_rows(&n, true);
        assert_eq!(rows.len(), MAX_TOOLTIP_ROWS);
        assert_eq!(rows[4], Row::Stat("lag".into(), "120 K".into()));
        assert_eq!(rows[5], Row::Stat("Behind".into(), "40 s".into()));
        assert_eq!(
            rows[6],
            Row::Stat("d0".into(), "0 %".into()),
            "details in their order"
        );
        assert!(matches!(&rows[MAX_TOOLTIP_ROWS - 2], Row::Stat(l, _) if l == "Share"));
        assert!(matches!(&rows[MAX_TOOLTIP_ROWS - 1], Row::Hint(h) if h.contains("6 vertices")));
    }
}
