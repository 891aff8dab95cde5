//! The `watermarks` query: watermark, watermark lag and its trend per vertex.

use grafana_plugin_sdk::data::Frame;
use grafana_plugin_sdk::prelude::*;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{load, meta, vertex_keys, vertex_rows, FlinkQuery, Loaded};
use crate::error::QueryError;
use crate::flink::snapshot::Parts;
use crate::flink::watermark_history::WatermarkHistory;
use crate::flink::FlinkClient;
use crate::frames::{describe, verdict_fields};

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
    let [job_id, job, vertex_id, vertex] = vertex_keys(&rows);
    let frame = Frame::new("watermarks")
        .with_fields(
            [
                job_id,
                job,
                vertex_id,
                vertex,
                describe(
                    rows.iter()
                        .map(|r| {
                            r.vertex
                                .watermark_ms
                                .and_then(chrono::DateTime::from_timestamp_millis)
                        })
                        .into_opt_field("watermark"),
                    "Watermark",
                    None,
                ),
                describe(
                    rows.iter()
                        .map(|r| r.a.watermark_lag_seconds)
                        .into_opt_field("lag"),
                    "Watermark lag",
                    Some("s"),
                ),
                describe(
                    rows.iter()
                        .map(|r| r.a.trend.and_then(|t| t.advanced))
                        .into_opt_field("advanced"),
                    "Advanced since last query",
                    None,
                ),
                describe(
                    rows.iter()
                        .map(|r| r.a.trend.map(|t| t.stalled_seconds))
                        .into_opt_field("stalledFor"),
                    "Unchanged for",
                    Some("s"),
                ),
                rows.iter()
                    .map(|r| r.vertex.watermark_inputs as u64)
                    .into_field("inputs"),
            ]
            .into_iter()
            .chain(verdict_fields(rows.iter().map(|r| &r.a.verdict))),
        )
        .with_metadata(meta(&snap, json!({})));
    Ok(vec![frame])
}
