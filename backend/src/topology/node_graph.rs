//! Topology frames in the shape Grafana's Node Graph reads (a `nodes` and an `edges` frame,
//! `mainstat`, `secondarystat`, `arc__*`, `color`, `detail__*`), so the built-in Node Graph and
//! our panel draw the same answer.

use std::collections::BTreeMap;

use grafana_plugin_sdk::data::{Field, Frame, Metadata, Threshold, ThresholdsConfig, VisType};
use grafana_plugin_sdk::prelude::*;
use pipeline_model::frame_contract::{
    detail_field, edge_fields, frames, node_fields, node_meta, ARC_FIELDS,
};
use pipeline_model::node_stats::{self, Headline};
use pipeline_model::{Health, Node, Topology};

use crate::frames::{describe, Columns};

fn node_graph_meta(custom: Option<serde_json::Map<String, serde_json::Value>>) -> Metadata {
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::NodeGraph);
    meta.custom = custom;
    meta
}

/// A headline column: for each node the stat its kind shows there (see
/// [`pipeline_model::node_stats::headline`]), numeric, with the column's display name and unit,
/// so Grafana formats it (and its thresholds compare it) the same way everywhere.
fn headline_field(nodes: &[Node], name: &str, column: Headline, secondary: bool) -> Field {
    let values = nodes.iter().map(|n| {
        let (main, second) = node_stats::headline(n.kind);
        let picked = if secondary { second } else { main };
        picked.and_then(|s| n.stat(s.name))
    });
    describe(
        values.into_opt_field(name),
        column.display_name,
        Some(column.unit),
    )
}

/// The nodes and edges frames of a topology.
pub fn node_graph(topology: &Topology) -> Vec<Frame> {
    let nodes = &topology.nodes;
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
        headline_field(nodes, node_fields::MAINSTAT, node_stats::MAIN, false),
        headline_field(
            nodes,
            node_fields::SECONDARYSTAT,
            node_stats::SECONDARY,
            true,
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
        nodes
            .iter()
            .map(|n| n.victim)
            .into_field(node_fields::VICTIM),
        nodes
            .iter()
            .map(|n| {
                let codes: Vec<&str> = n.codes.iter().map(|c| c.code()).collect();
                codes.join(",")
            })
            .into_field(node_fields::REASON_CODE),
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
    let cause = topology.root_cause();
    custom.insert(
        node_meta::ROOT_CAUSE.into(),
        cause.map(|c| c.sentence.clone()).into(),
    );
    custom.insert(
        node_meta::ROOT_CAUSE_CODE.into(),
        cause.map(|c| c.code.code()).into(),
    );
    custom.insert(
        node_meta::CAUSE_NODES.into(),
        cause.map(|c| c.nodes.clone()).unwrap_or_default().into(),
    );
    custom.insert(
        node_meta::VICTIMS.into(),
        cause.map(|c| c.victims.clone()).unwrap_or_default().into(),
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

    /// Every field the Node Graph frames carry is named in the frame contract, so a field added
    /// here without the contract (and so without the panel's generated copy) fails.
    #[test]
    fn every_node_graph_name_is_in_the_frame_contract() {
        use pipeline_model::frame_contract::{group_id, topic_id, vertex_id, ARC_FIELDS};
        use pipeline_model::{Edge, NodeKind, Stat};

        let mut topic = Node::new(topic_id("clicks"), "clicks", NodeKind::KafkaTopic);
        topic.health = Health::Ok;
        topic.stats.push(Stat::of(node_stats::PRODUCE_RATE, 12.0));
        let mut group = Node::new(group_id("g"), "g", NodeKind::ConsumerGroup);
        group.health = Health::Warning;
        group.stats.push(Stat::of(node_stats::LAG, 40.0));
        group.stats.push(Stat::of(node_stats::TIME_LAG, 90.0));
        let mut vertex = Node::new(vertex_id("j1", "v1"), "enrich", NodeKind::FlinkOperator);
        vertex.health = Health::Critical;
        vertex.reason = "bottleneck: busy 97 %".into();
        vertex.codes = vec![pipeline_model::ReasonCode::Bottleneck];
        vertex.stats.push(Stat::of(node_stats::BUSY, 0.97));
        let mut topology = Topology {
            edges: vec![
                Edge::new(&topic.id, &group.id, ""),
                Edge::new(&group.id, &vertex.id, "12/s"),
            ],
            nodes: vec![topic, group, vertex],
            root_causes: Vec::new(),
        };
        pipeline_model::root_cause::mark(&mut topology);
        assert!(topology.root_cause().is_some());

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
        // The headline numbers are numbers, with the unit and name of their column: a topic's
        // produce rate is its throughput, a group's time lag how far behind it is.
        let field = |name: &str| {
            frames[0]
                .fields()
                .iter()
                .find(|f| f.name == name)
                .unwrap_or_else(|| panic!("no {name}"))
        };
        for (name, column) in [
            (node_fields::MAINSTAT, node_stats::MAIN),
            (node_fields::SECONDARYSTAT, node_stats::SECONDARY),
        ] {
            let f = field(name);
            let config = f.config.as_ref().expect("a headline has a config");
            assert_eq!(config.unit.as_deref(), Some(column.unit), "{name}");
            assert_eq!(config.display_name.as_deref(), Some(column.display_name));
            assert_eq!(
                f.values().data_type(),
                &grafana_plugin_sdk::arrow2::datatypes::DataType::Float64
            );
        }
        let main = field(node_fields::MAINSTAT).values();
        let secondary = field(node_fields::SECONDARYSTAT).values();
        // Rows: topic, group, vertex. Nulls where a kind has no such number.
        assert!(main.is_valid(0) && main.is_null(1) && main.is_null(2));
        assert!(secondary.is_null(0) && secondary.is_valid(1) && secondary.is_null(2));
        let custom = frames[0].meta.as_ref().and_then(|m| m.custom.as_ref());
        for key in custom.expect("nodes metadata").keys() {
            assert!(
                node_meta::ALL.iter().any(|(_, v)| v == key),
                "`{key}` is not in node_meta::ALL"
            );
        }
    }
}
