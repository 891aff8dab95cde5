//! Topology frames in the shape Grafana's Node Graph reads (a `nodes` and an `edges` frame,
//! `mainstat`, `secondarystat`, `arc__*`, `color`, `detail__*`), so the built-in Node Graph and
//! our panel draw the same answer.

use std::collections::BTreeMap;

use grafana_plugin_sdk::data::{Frame, Metadata, Threshold, ThresholdsConfig, VisType};
use grafana_plugin_sdk::prelude::*;
use pipeline_model::{Health, Node, Topology};

use crate::frames::{describe, Columns};

fn node_graph_meta(custom: Option<serde_json::Map<String, serde_json::Value>>) -> Metadata {
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::NodeGraph);
    meta.custom = custom;
    meta
}

/// "12 345" for counts, "0.5 s" for seconds, "80 %" for ratios: what a node card shows.
fn format_stat(value: f64, unit: &str) -> String {
    match unit {
        "percentunit" => format!("{:.0} %", value * 100.0),
        "s" if value >= 3600.0 => format!("{:.1} h", value / 3600.0),
        "s" if value >= 60.0 => format!("{:.1} min", value / 60.0),
        "s" => format!("{value:.1} s"),
        "reqps" => format!("{value:.0}/s"),
        _ if value.fract() == 0.0 => format!("{value:.0}"),
        _ => format!("{value:.2}"),
    }
}

/// The two headline numbers of a node, by kind.
fn headline(node: &Node) -> (String, String) {
    let pick = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| node.stats.iter().find(|s| s.name == *n))
            .map(|s| format!("{} {}", s.name, format_stat(s.value, s.unit)))
            .unwrap_or_default()
    };
    use pipeline_model::NodeKind::*;
    match node.kind {
        KafkaTopic => (
            pick(&["produce rate", "partitions"]),
            pick(&["under-replicated"]),
        ),
        ConsumerGroup => (pick(&["lag"]), pick(&["time lag", "members"])),
        FlinkSource | FlinkOperator | FlinkSink => (
            pick(&["busy", "records in"]),
            pick(&["backpressure", "checkpoint age"]),
        ),
        Database => (pick(&["records in"]), String::new()),
    }
}

/// The nodes and edges frames of a topology.
pub fn node_graph(topology: &Topology) -> Vec<Frame> {
    let nodes = &topology.nodes;
    let headlines: Vec<(String, String)> = nodes.iter().map(headline).collect();
    let arc = |h: Health| {
        nodes
            .iter()
            .map(move |n| if n.health == h { 1.0 } else { 0.0 })
            .collect::<Vec<f64>>()
    };
    // The SDK's FieldConfig has no `color`; a single base threshold step gives the arc its
    // colour, since Grafana colours fields by thresholds by default.
    let arc_field = |h: Health| {
        let mut step = Threshold::default();
        step.color = Some(h.color().to_string());
        let mut thresholds = ThresholdsConfig::default();
        thresholds.steps = vec![step];
        let mut config = crate::frames::config(h.as_str(), None);
        config.thresholds = Some(thresholds);
        arc(h)
            .into_field(format!("arc__{}", h.as_str()))
            .with_config(config)
    };
    // One detail column per stat name that any node has; nodes without it leave it empty.
    let mut stat_units: BTreeMap<&str, &str> = BTreeMap::new();
    for n in nodes {
        for s in &n.stats {
            stat_units.entry(s.name.as_str()).or_insert(s.unit);
        }
    }
    let mut fields = vec![
        nodes.iter().map(|n| n.id.clone()).into_field("id"),
        nodes.iter().map(|n| n.title.clone()).into_field("title"),
        nodes
            .iter()
            .map(|n| n.subtitle.clone())
            .into_field("subtitle"),
        describe(
            headlines.iter().map(|h| h.0.clone()).into_field("mainstat"),
            "Main",
            None,
        ),
        describe(
            headlines
                .iter()
                .map(|h| h.1.clone())
                .into_field("secondarystat"),
            "Secondary",
            None,
        ),
        arc_field(Health::Ok),
        arc_field(Health::Warning),
        arc_field(Health::Critical),
        arc_field(Health::Unknown),
        nodes.iter().map(|n| n.health.color()).into_field("color"),
        nodes.iter().map(|n| n.kind.as_str()).into_field("kind"),
        nodes.iter().map(|n| n.health.as_str()).into_field("health"),
        nodes.iter().map(|n| n.reason.clone()).into_field("reason"),
        nodes.iter().map(|n| n.bottleneck).into_field("bottleneck"),
        describe(
            nodes
                .iter()
                .map(|n| n.reason.clone())
                .into_field("detail__reason"),
            "Reason",
            None,
        ),
    ];
    for (name, unit) in &stat_units {
        let values = nodes.iter().map(|n| n.stat(name));
        fields.push(describe(
            values.into_opt_field(format!("detail__{}", name.replace(' ', "_"))),
            name,
            Some(unit),
        ));
    }
    let mut custom = serde_json::Map::new();
    custom.insert("verdict".into(), topology.verdict().as_str().into());
    custom.insert(
        "bottleneck".into(),
        topology.bottleneck().map(|n| n.id.clone()).into(),
    );
    let nodes_frame = Frame::new("nodes")
        .with_fields(fields)
        .with_metadata(node_graph_meta(Some(custom)));

    let edges = &topology.edges;
    let edges_frame = Columns::over(edges)
        .col("id", |e| e.id.clone())
        .col("source", |e| e.source.clone())
        .col("target", |e| e.target.clone())
        .col("mainstat", |e| e.label.clone())
        .shown("Flow", None)
        .frame("edges")
        .with_metadata(node_graph_meta(None));
    vec![nodes_frame, edges_frame]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_formatted_for_people() {
        assert_eq!(format_stat(0.8, "percentunit"), "80 %");
        assert_eq!(format_stat(90.0, "s"), "1.5 min");
        assert_eq!(format_stat(12.0, "short"), "12");
    }
}
