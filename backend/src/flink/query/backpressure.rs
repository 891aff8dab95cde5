//! The `backpressure` query: backpressured and busy ratio per vertex and per subtask, and the
//! bottleneck of each job.

use grafana_plugin_sdk::data::Frame;
use grafana_plugin_sdk::prelude::*;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{bottleneck_name, load, meta, vertex_keys, vertex_rows, FlinkQuery, Loaded};
use crate::error::QueryError;
use crate::flink::snapshot::Parts;
use crate::flink::FlinkClient;
use crate::frames::{describe, verdict_fields};

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
    let [job_id, job, vertex_id, vertex] = vertex_keys(&rows);
    let vertices = Frame::new("vertices")
        .with_fields(
            [
                job_id,
                job,
                vertex_id,
                vertex,
                rows.iter()
                    .map(|r| r.vertex.parallelism)
                    .into_field("parallelism"),
                rows.iter()
                    .map(|r| r.vertex.backpressure_level.clone())
                    .into_opt_field("level"),
                describe(
                    rows.iter()
                        .map(|r| r.vertex.backpressure)
                        .into_opt_field("backpressure"),
                    "Backpressure",
                    Some("percentunit"),
                ),
                describe(
                    rows.iter().map(|r| r.vertex.busy).into_opt_field("busy"),
                    "Busy",
                    Some("percentunit"),
                ),
                describe(
                    rows.iter()
                        .map(|r| r.a.is_bottleneck)
                        .into_field("bottleneck"),
                    "Bottleneck",
                    None,
                ),
            ]
            .into_iter()
            .chain(verdict_fields(rows.iter().map(|r| &r.a.verdict))),
        )
        .with_metadata(meta(&snap, json!({ "bottlenecks": bottlenecks })));
    let subtasks: Vec<_> = rows
        .iter()
        .flat_map(|r| r.vertex.subtasks.iter().map(move |s| (r, s)))
        .collect();
    let subtask_frame = Frame::new("subtasks")
        .with_fields([
            subtasks
                .iter()
                .map(|(r, _)| r.job.id.clone())
                .into_field("jobId"),
            subtasks
                .iter()
                .map(|(r, _)| r.job.name.clone())
                .into_field("job"),
            subtasks
                .iter()
                .map(|(r, _)| r.vertex.id.clone())
                .into_field("vertexId"),
            subtasks
                .iter()
                .map(|(r, _)| r.vertex.name.clone())
                .into_field("vertex"),
            subtasks
                .iter()
                .map(|(_, s)| s.subtask)
                .into_field("subtask"),
            subtasks
                .iter()
                .map(|(_, s)| s.level.clone())
                .into_opt_field("level"),
            describe(
                subtasks
                    .iter()
                    .map(|(_, s)| s.backpressure)
                    .into_opt_field("backpressure"),
                "Backpressure",
                Some("percentunit"),
            ),
            describe(
                subtasks.iter().map(|(_, s)| s.busy).into_opt_field("busy"),
                "Busy",
                Some("percentunit"),
            ),
            describe(
                subtasks.iter().map(|(_, s)| s.idle).into_opt_field("idle"),
                "Idle",
                Some("percentunit"),
            ),
        ])
        .with_metadata(meta(&snap, json!({ "bottlenecks": bottlenecks })));
    Ok(vec![vertices, subtask_frame])
}
