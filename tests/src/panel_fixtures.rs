//! The panel's test fixtures, written from what the backend really answered on the bed.
//!
//! The bed's fault tests save the topology frames they saw for each scenario (healthy, slowed
//! operator, blocked sink, stopped broker) as Grafana's `DataFrameDTO` JSON (`name`, `meta`,
//! `fields` with `name`, `type`, `config`, `values`), which the browser tests hand to
//! `toDataFrame` and then to the panel, as Grafana would. The files are committed, so the panel
//! suite runs without a bed, and the test command rewrites them before the browser suite runs.

use std::fs;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::DecodedFrame;

/// Where the fixtures live: `tests/browser/panel/fixtures/backend/`.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser/panel/fixtures/backend")
}

/// A frame as `toDataFrame` of @grafana/data takes it.
pub fn data_frame_dto(frame: &DecodedFrame) -> Value {
    let fields: Vec<Value> = frame
        .fields
        .iter()
        .map(|f| {
            let mut field = json!({"name": f.name, "type": f.grafana_type, "values": f.values});
            if !f.config.is_null() {
                field["config"] = f.config.clone();
            }
            field
        })
        .collect();
    let mut dto = json!({"name": frame.name, "fields": fields});
    if !frame.meta.is_null() {
        dto["meta"] = frame.meta.clone();
    }
    dto
}

/// Writes `frames` as the fixture `scenario` (`<dir>/<scenario>.json`).
pub fn save(scenario: &str, frames: &[DecodedFrame]) {
    let dtos: Vec<Value> = frames.iter().map(data_frame_dto).collect();
    write(scenario, &Value::Array(dtos));
}

/// Writes a live query's first answer (as [`save`] does) and the pushes that followed it, each
/// as the plugin sent it over Grafana Live: `{"answer": [...], "pushes": [...]}`.
pub fn save_live(scenario: &str, answer: &[DecodedFrame], pushes: &[Value]) {
    let answer: Vec<Value> = answer.iter().map(data_frame_dto).collect();
    write(scenario, &json!({"answer": answer, "pushes": pushes}));
}

fn write(scenario: &str, content: &Value) {
    let dir = dir();
    fs::create_dir_all(&dir).expect("the panel fixtures' directory");
    let text = serde_json::to_string_pretty(content).expect("frames as JSON");
    let path = dir.join(format!("{scenario}.json"));
    fs::write(&path, text + "\n").unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
