//! The `watermarks` query: watermark, watermark lag and its trend per vertex.

use grafana_plugin_sdk::data::Frame;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{load, meta, vertex_keys, vertex_rows, FlinkQuery, Loaded};
use crate::error::QueryError;
use crate::flink::snapshot::Parts;
use crate::flink::watermark_history::WatermarkHistory;
use crate::flink::FlinkClient;
use crate::frames::{verdict_fields, Columns};

pub async fn watermarks(
    client: &FlinkClient,
    history: &WatermarkHistory,
    q: &FlinkQuery,
    t: &Thresholds,
) -> Result<Vec<Frame>, QueryError> {
    // Load too: a vertex's verdict weighs its backpressure with its watermark.
    let parts = Parts {
        watermarks: true,
        load: true,
        ..Parts::JOBS
    };
    let Loaded { sel, snap, a } = load(client, q, parts, Some(history), t).await?;
    let rows = vertex_rows(&snap, &a, &sel);
    let frame = Columns::over(&rows)
        .fields(vertex_keys(&rows))
        .opt("watermark", |r| {
            r.vertex
                .watermark_ms
                .and_then(chrono::DateTime::from_timestamp_millis)
        })
        .shown("Watermark", None)
        .opt("lag", |r| r.a.watermark_lag_seconds)
        .shown("Watermark lag", Some("s"))
        .opt("advanced", |r| r.a.trend.and_then(|t| t.advanced))
        .shown("Advanced since last query", None)
        .opt("stalledFor", |r| r.a.trend.map(|t| t.stalled_seconds))
        .shown("Unchanged for", Some("s"))
        .col("inputs", |r| r.vertex.watermark_inputs as u64)
        .fields(verdict_fields(rows.iter().map(|r| &r.a.verdict)))
        .frame("watermarks")
        .with_metadata(meta(&snap, json!({})));
    Ok(vec![frame])
}
