//! The `backpressure` query: backpressured and busy ratio per vertex and per subtask, and the
//! bottleneck of each job.

use grafana_plugin_sdk::data::Frame;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{bottleneck_name, load, meta, vertex_keys, vertex_rows, FlinkQuery, Loaded};
use crate::error::QueryError;
use crate::flink::snapshot::Parts;
use crate::flink::FlinkClient;
use crate::frames::{verdict_fields, Columns};

pub async fn backpressure(
    client: &FlinkClient,
    q: &FlinkQuery,
    t: &Thresholds,
) -> Result<Vec<Frame>, QueryError> {
    let parts = Parts {
        load: true,
        ..Parts::JOBS
    };
    let Loaded { sel, snap, a } = load(client, q, parts, None, t).await?;
    let bottlenecks: Vec<_> = snap
        .jobs
        .iter()
        .zip(&a)
        .filter_map(|(j, a)| {
            Some(json!({
                "jobId": j.id, "job": j.name,
                "vertexId": a.bottleneck.as_deref()?, "vertex": bottleneck_name(j, a)?,
            }))
        })
        .collect();
    let rows = vertex_rows(&snap, &a, &sel);
    let vertices = Columns::over(&rows)
        .fields(vertex_keys(&rows))
        .col("parallelism", |r| r.vertex.parallelism)
        .opt("level", |r| r.vertex.backpressure_level.clone())
        .opt("backpressure", |r| r.vertex.backpressure)
        .shown("Backpressure", Some("percentunit"))
        .opt("busy", |r| r.vertex.busy)
        .shown("Busy", Some("percentunit"))
        .col("bottleneck", |r| r.a.is_bottleneck)
        .shown("Bottleneck", None)
        .fields(verdict_fields(rows.iter().map(|r| &r.a.verdict)))
        .frame("vertices")
        .with_metadata(meta(&snap, json!({ "bottlenecks": bottlenecks })));
    let subtasks: Vec<_> = rows
        .iter()
        .flat_map(|r| r.vertex.subtasks.iter().map(move |s| (r, s)))
        .collect();
    let subtask_frame = Columns::over(&subtasks)
        .col("jobId", |(r, _)| r.job.id.clone())
        .col("job", |(r, _)| r.job.name.clone())
        .col("vertexId", |(r, _)| r.vertex.id.clone())
        .col("vertex", |(r, _)| r.vertex.name.clone())
        .col("subtask", |(_, s)| s.subtask)
        .opt("level", |(_, s)| s.level.clone())
        .opt("backpressure", |(_, s)| s.backpressure)
        .shown("Backpressure", Some("percentunit"))
        .opt("busy", |(_, s)| s.busy)
        .shown("Busy", Some("percentunit"))
        .opt("idle", |(_, s)| s.idle)
        .shown("Idle", Some("percentunit"))
        .frame("subtasks")
        .with_metadata(meta(&snap, json!({ "bottlenecks": bottlenecks })));
    Ok(vec![vertices, subtask_frame])
}
