//! The `jobs` query: one row per Flink job with its state, uptime, bottleneck and checkpoint
//! status.

use grafana_plugin_sdk::data::Frame;
use grafana_plugin_sdk::prelude::*;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{bottleneck_name, load, meta, FlinkQuery, Loaded};
use crate::error::QueryError;
use crate::flink::snapshot::Parts;
use crate::flink::FlinkClient;
use crate::frames::describe;

pub async fn jobs(
    client: &FlinkClient,
    q: &FlinkQuery,
    t: &Thresholds,
) -> Result<Vec<Frame>, QueryError> {
    let parts = Parts {
        load: true,
        checkpoints: true,
        exceptions: true,
        ..Parts::JOBS
    };
    let Loaded { snap, a, .. } = load(client, q, parts, None, t).await?;
    let j = &snap.jobs;
    let frame = Frame::new("jobs")
        .with_fields([
            j.iter().map(|j| j.id.clone()).into_field("id"),
            j.iter().map(|j| j.name.clone()).into_field("name"),
            j.iter().map(|j| j.state.clone()).into_field("state"),
            describe(
                j.iter()
                    .map(|j| chrono::DateTime::from_timestamp_millis(j.start_time_ms))
                    .into_opt_field("startTime"),
                "Started",
                None,
            ),
            describe(
                j.iter()
                    .map(|j| j.duration_ms as f64 / 1000.0)
                    .into_field("uptime"),
                "Uptime",
                Some("s"),
            ),
            j.iter()
                .map(|j| j.vertices.len() as u64)
                .into_field("vertices"),
            j.iter()
                .zip(&a)
                .map(|(j, a)| bottleneck_name(j, a).map(str::to_string))
                .into_opt_field("bottleneck"),
            a.iter()
                .map(|a| a.checkpoints.health.as_str())
                .into_field("checkpointStatus"),
            j.iter()
                .map(|j| j.last_exception.clone())
                .into_opt_field("lastException"),
        ])
        .with_metadata(meta(&snap, json!({})));
    Ok(vec![frame])
}
