//! Reading frames into the graph.

use super::*;
use crate::handoff::{Column, Field};

fn text_column(values: &[&str]) -> Column {
    Column::Text(values.iter().map(|s| s.to_string()).collect())
}

fn field(name: &str, column: Column) -> Field {
    Field {
        name: name.into(),
        label: name.into(),
        column,
    }
}

fn numbers(values: &[f64], unit: &str) -> Column {
    Column::Number {
        values: values.to_vec(),
        display: values.iter().map(|v| format!("{v} {unit}")).collect(),
        colors: Vec::new(),
    }
}

fn one_frame(name: &str, fields: Vec<Field>) -> PanelData {
    PanelData {
        frames: vec![Frame {
            name: name.into(),
            fields,
            ..Frame::default()
        }],
        error: None,
    }
}

fn topology() -> PanelData {
    PanelData {
        frames: vec![
            Frame {
                name: "nodes".into(),
                fields: vec![
                    field("id", text_column(&["t", "g", "db"])),
                    field("title", text_column(&["orders", "enricher", ""])),
                    field(
                        "kind",
                        text_column(&["kafka-topic", "consumer-group", "database"]),
                    ),
                    field("health", text_column(&["ok", "critical", "weird"])),
                    field("reason", text_column(&["", "lag 5 min", ""])),
                    field("mainstat", numbers(&[120.0, 30000.0, 1.0], "msg/s")),
                    field("bottleneck", numbers(&[0.0, 1.0, 0.0], "")),
                    field("detail__lag_seconds", numbers(&[0.0, 300.0, 0.0], "s")),
                    field("arc__ok", numbers(&[1.0, 0.0, 0.0], "")),
                    field("arc__critical", numbers(&[0.0, 1.0, 0.0], "")),
                ],
                ..Frame::default()
            },
            Frame {
                name: "edges".into(),
                fields: vec![
                    field("id", text_column(&["e1", "e2", "e3"])),
                    field("source", text_column(&["t", "g", "g"])),
                    field("target", text_column(&["g", "db", "nowhere"])),
                    field("mainstat", numbers(&[120.0, 118.0, 1.0], "msg/s")),
                ],
                ..Frame::default()
            },
        ],
        error: None,
    }
}

#[test]
fn reads_nodes_edges_and_their_numbers() {
    let g = read_graph(&topology()).unwrap();
    assert_eq!(g.nodes.len(), 3);
    let group = &g.nodes[1];
    assert_eq!(group.title, "enricher");
    assert_eq!(group.kind, Some(NodeKind::ConsumerGroup));
    assert_eq!(group.health, Health::Critical);
    assert_eq!(group.reason, "lag 5 min");
    assert_eq!(group.main.as_ref().unwrap().text, "30000 msg/s");
    assert_eq!(group.details[0].label, "lag_seconds");
    assert!(group.bottleneck);
    assert_eq!(g.bottleneck().unwrap().id, "g");
    // A title-less node is called by its id; an unknown health word falls back to the arcs.
    assert_eq!(g.nodes[2].title, "db");
    assert_eq!(g.nodes[2].health, Health::Unknown);
    assert_eq!(g.edges.len(), 2);
    assert_eq!((g.edges[1].source, g.edges[1].target), (1, 2));
    assert_eq!(g.edges[0].main.as_ref().unwrap().text, "120 msg/s");
}

#[test]
fn dangling_edges_are_dropped_with_a_warning() {
    let g = read_graph(&topology()).unwrap();
    assert_eq!(g.warnings.len(), 1);
    assert!(g.warnings[0].contains("g -> nowhere"), "{}", g.warnings[0]);
}

#[test]
fn a_query_error_is_shown_as_such() {
    let data = PanelData {
        error: Some("Flink REST at http://x:8081 refused the connection".into()),
        ..topology()
    };
    let p = read_graph(&data).unwrap_err();
    assert!(p.to_string().starts_with("The query failed: Flink REST"));
}

#[test]
fn no_frames_means_no_data() {
    assert_eq!(read_graph(&PanelData::default()), Err(Problem::NoData));
    let empty = PanelData {
        frames: vec![Frame::default()],
        error: None,
    };
    assert_eq!(read_graph(&empty), Err(Problem::NoData));
}

#[test]
fn an_empty_nodes_frame_says_so() {
    let data = one_frame("nodes", vec![field("id", text_column(&[]))]);
    assert_eq!(read_graph(&data), Err(Problem::NoNodes));
}

#[test]
fn frames_of_another_shape_name_what_was_found() {
    let data = one_frame(
        "A",
        vec![
            field("time", numbers(&[1.0], "")),
            field("value", numbers(&[2.0], "")),
        ],
    );
    let msg = read_graph(&data).unwrap_err().to_string();
    assert!(msg.contains("no nodes frame"), "{msg}");
    assert!(msg.contains("\"A\" (time, value)"), "{msg}");
}

#[test]
fn a_nodes_frame_without_ids_is_malformed() {
    let data = one_frame("nodes", vec![field("title", text_column(&["x"]))]);
    let msg = read_graph(&data).unwrap_err().to_string();
    assert!(msg.contains("no \"id\" field (it has title)"), "{msg}");
}

#[test]
fn duplicate_and_blank_ids_are_skipped_with_warnings() {
    let data = one_frame(
        "nodes",
        vec![field("id", text_column(&["a", "", "a", "b"]))],
    );
    let g = read_graph(&data).unwrap();
    assert_eq!(g.nodes.len(), 2);
    assert_eq!(g.warnings.len(), 2);
}

#[test]
fn plain_node_graph_frames_work_with_numeric_ids() {
    let data = PanelData {
        frames: vec![
            Frame {
                name: "".into(),
                fields: vec![
                    field("id", numbers(&[1.0, 2.0], "")),
                    field("arc__warning", numbers(&[0.3, 0.0], "")),
                    field("arc__ok", numbers(&[0.7, 1.0], "")),
                ],
                ..Frame::default()
            },
            Frame {
                name: "".into(),
                fields: vec![
                    field("source", numbers(&[1.0], "")),
                    field("target", numbers(&[2.0], "")),
                ],
                ..Frame::default()
            },
        ],
        error: None,
    };
    let g = read_graph(&data).unwrap();
    assert_eq!(g.nodes[0].id, "1");
    assert_eq!(g.nodes_frame, 0);
    assert_eq!(g.nodes[0].health, Health::Warning);
    assert_eq!(g.nodes[1].health, Health::Ok);
    assert_eq!(g.edges.len(), 1);
    assert_eq!(g.edges[0].id, "1->2");
}
