//! Topology frames in the shape Grafana's Node Graph reads (a `nodes` and an `edges` frame,
//! `mainstat`, `secondarystat`, `arc__*`, `color`, `detail__*`), so the built-in Node Graph and
//! our panel draw the same answer.

use std::collections::BTreeMap;

use grafana_plugin_sdk::data::{Frame, Metadata, Threshold, ThresholdsConfig, VisType};
use grafana_plugin_sdk::prelude::*;
use pipeline_model::frame_contract::{
    detail_field, edge_fields, frames, node_fields, node_meta, ARC_FIELDS,
};
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
    let arc_column = |name: &str, h: Health| {
        let mut step = Threshold::default();
        step.color = Some(h.color().to_string());
        let mut thresholds = ThresholdsConfig::default();
        thresholds.steps = vec![step];
        let mut config = crate::frames::config(h.as_str(), None);
        config.thresholds = Some(thresholds);
        arc(h).into_field(name).with_config(config)
    };
    // One detail column per stat name that any node has; nodes without it leave it empty.
    let mut stat_units: BTreeMap<&str, &str> = BTreeMap::new();
    for n in nodes {
        for s in &n.stats {
            stat_units.entry(s.name.as_str()).or_insert(s.unit);
        }
    }
    let mut fields = vec![
        nodes
            .iter()
            .map(|n| n.id.clone())
            .into_field(node_fields::ID),
        nodes
            .iter()
            .map(|n| n.title.clone())
            .into_field(node_fields::TITLE),
        nodes
            .iter()
            .map(|n| n.subtitle.clone())
            .into_field(node_fields::SUBTITLE),
        describe(
            headlines
                .iter()
                .map(|h| h.0.clone())
                .into_field(node_fields::MAINSTAT),
            "Main",
            None,
        ),
        describe(
            headlines
                .iter()
                .map(|h| h.1.clone())
                .into_field(node_fields::SECONDARYSTAT),
            "Secondary",
            None,
        ),
    ];
    // arc__ok, arc__warning, arc__critical, arc__unknown: the contract's slot order.
    fields.extend(ARC_FIELDS.iter().map(|(name, h)| arc_column(name, *h)));
    fields.extend([
        nodes
            .iter()
            .map(|n| n.health.color())
            .into_field(node_fields::COLOR),
        nodes
            .iter()
            .map(|n| n.kind.as_str())
            .into_field(node_fields::KIND),
        nodes
            .iter()
            .map(|n| n.health.as_str())
            .into_field(node_fields::HEALTH),
        nodes
            .iter()
            .map(|n| n.reason.clone())
            .into_field(node_fields::REASON),
        nodes
            .iter()
            .map(|n| n.bottleneck)
            .into_field(node_fields::BOTTLENECK),
        describe(
            nodes
                .iter()
                .map(|n| n.reason.clone())
                .into_field(detail_field("reason")),
            "Reason",
            None,
        ),
    ]);
    for (name, unit) in &stat_units {
        let values = nodes.iter().map(|n| n.stat(name));
        fields.push(describe(
            values.into_opt_field(detail_field(name)),
            name,
            Some(unit),
        ));
    }
    let mut custom = serde_json::Map::new();
    custom.insert(
        node_meta::VERDICT.into(),
        topology.verdict().as_str().into(),
    );
    custom.insert(
        node_meta::BOTTLENECK.into(),
        topology.bottleneck().map(|n| n.id.clone()).into(),
    );
    let nodes_frame = Frame::new(frames::NODES)
        .with_fields(fields)
        .with_metadata(node_graph_meta(Some(custom)));

    let edges = &topology.edges;
    let edges_frame = Columns::over(edges)
        .col(edge_fields::ID, |e| e.id.clone())
        .col(edge_fields::SOURCE, |e| e.source.clone())
        .col(edge_fields::TARGET, |e| e.target.clone())
        .col(edge_fields::MAINSTAT, |e| e.label.clone())
        .shown("Flow", None)
        .frame(frames::EDGES)
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

    /// Every field the Node Graph frames carry is named in the frame contract, so a field added
    /// here without the contract (and so without the panel's generated copy) fails.
    #[test]
    fn every_node_graph_name_is_in_the_frame_contract() {
        use pipeline_model::frame_contract::{group_id, topic_id, vertex_id, ARC_FIELDS};
        use pipeline_model::{Edge, NodeKind, Stat};

        let mut topic = Node::new(topic_id("clicks"), "clicks", NodeKind::KafkaTopic);
        topic.health = Health::Ok;
        topic.stats.push(Stat::new("produce rate", 12.0, "reqps"));
        let mut group = Node::new(group_id("g"), "g", NodeKind::ConsumerGroup);
        group.health = Health::Warning;
        group.stats.push(Stat::new("lag", 40.0, "short"));
        group.stats.push(Stat::new("time lag", 90.0, "s"));
        let mut vertex = Node::new(vertex_id("j1", "v1"), "enrich", NodeKind::FlinkOperator);
        vertex.health = Health::Critical;
        vertex.reason = "bottleneck: busy 97 %".into();
        vertex.bottleneck = true;
        vertex.stats.push(Stat::new("busy", 0.97, "percentunit"));
        let topology = Topology {
            edges: vec![
                Edge::new(&topic.id, &group.id, ""),
                Edge::new(&group.id, &vertex.id, "12/s"),
            ],
            nodes: vec![topic, group, vertex],
        };

        let frames = node_graph(&topology);
        let names: Vec<&str> = frames.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, [frames::NODES, frames::EDGES]);

        let is_node_field = |name: &str| {
            node_fields::ALL.iter().any(|(_, v)| *v == name)
                && name != node_fields::ARC_PREFIX
                && name != node_fields::DETAIL_PREFIX
                || ARC_FIELDS.iter().any(|(arc, _)| *arc == name)
                || name
                    .strip_prefix(node_fields::DETAIL_PREFIX)
                    .is_some_and(|rest| !rest.is_empty())
        };
        let node_names: Vec<&str> = frames[0].fields().iter().map(|f| f.name.as_str()).collect();
        for name in &node_names {
            assert!(is_node_field(name), "`{name}` is not in node_fields::ALL");
        }
        // The stats' details are there too, so the prefix rule above was exercised.
        assert!(node_names.contains(&"detail__time_lag"), "{node_names:?}");
        for name in frames[1].fields().iter().map(|f| f.name.as_str()) {
            assert!(
                edge_fields::ALL.iter().any(|(_, v)| *v == name),
                "`{name}` is not in edge_fields::ALL"
            );
        }
        let custom = frames[0].meta.as_ref().and_then(|m| m.custom.as_ref());
        for key in custom.expect("nodes metadata").keys() {
            assert!(
                node_meta::ALL.iter().any(|(_, v)| v == key),
                "`{key}` is not in node_meta::ALL"
            );
        }
    }
}
