//! Frames as the panel receives them: any data-frame JSON a query of any datasource may give
//! (the corpus starts from frames our backend produced on the bed), handed over column by column
//! as the TS shim does, read into the graph, planned at dashboard sizes (jobs collapsed, laid
//! out) and each card's tooltip built. No input may panic: the panel shows a message instead.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_panel::graph::read_graph;
use pipeline_panel::handoff::{Column, Field, Frame, PanelData};
use pipeline_panel::layout::Direction;
use pipeline_panel::render::overlay::node_rows;
use pipeline_panel::render::plan::{plan, Jobs};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let data = handoff(&json);
    let Ok(graph) = read_graph(&data) else {
        return;
    };
    for node in &graph.nodes {
        let _ = node_rows(node, true);
    }
    for (jobs, direction, size) in [
        (Jobs::Auto, Direction::LeftRight, (400.0, 250.0)),
        (Jobs::All, Direction::TopBottom, (1100.0, 520.0)),
    ] {
        let _ = plan(&graph, &jobs, false, direction, size, (16.0, 40.0));
    }
});

/// What the shim passes: each frame's name, `meta.custom` as text, each field's name, display
/// name and values (numbers and booleans as numbers, null as NaN).
fn handoff(json: &Value) -> PanelData {
    let frames = json.as_array().map(Vec::as_slice).unwrap_or_default();
    PanelData {
        frames: frames.iter().map(frame).collect(),
        error: None,
    }
}

fn frame(f: &Value) -> Frame {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let meta = f["meta"]["custom"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let items = v
                        .as_array()
                        .map_or_else(|| vec![text(v)], |a| a.iter().map(text).collect());
                    (k.clone(), items)
                })
                .collect()
        })
        .unwrap_or_default();
    let fields = f["fields"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    Frame {
        name: f["name"].as_str().unwrap_or_default().to_string(),
        meta,
        fields: fields
            .iter()
            .map(|field| {
                let name = field["name"].as_str().unwrap_or_default().to_string();
                let label = field["config"]["displayName"]
                    .as_str()
                    .map_or_else(|| name.clone(), str::to_string);
                let values = field["values"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let column = if field["type"] == "string" {
                    Column::Text(values.iter().map(text).collect())
                } else {
                    Column::Number {
                        values: values
                            .iter()
                            .map(|v| {
                                v.as_f64()
                                    .or(v.as_bool().map(f64::from))
                                    .unwrap_or(f64::NAN)
                            })
                            .collect(),
                        display: Vec::new(),
                        colors: field["config"]["color"]["fixedColor"]
                            .as_str()
                            .map(|c| vec![c.to_string(); values.len()])
                            .unwrap_or_default(),
                    }
                };
                Field {
                    name,
                    label,
                    column,
                }
            })
            .collect(),
    }
}
