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
use crate::frames::Columns;

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
    let frame = Columns::over(j)
        .col("id", |j| j.id.clone())
        .col("name", |j| j.name.clone())
        .col("state", |j| j.state.clone())
        .opt("startTime", |j| {
            chrono::DateTime::from_timestamp_millis(j.start_time_ms)
        })
        .shown("Started", None)
        .col("uptime", |j| j.duration_ms as f64 / 1000.0)
        .shown("Uptime", Some("s"))
        .col("vertices", |j| j.vertices.len() as u64)
        .fields([j
            .iter()
            .zip(&a)
            .map(|(j, a)| bottleneck_name(j, a).map(str::to_string))
            .into_opt_field("bottleneck")])
        .fields([a
            .iter()
            .map(|a| a.checkpoints.health.as_str())
            .into_field("checkpointStatus")])
        .opt("lastException", |j| j.last_exception.clone())
        .opt("unread", |j| {
            (!j.unread.is_empty()).then(|| j.unread.join("; "))
        })
        .frame("jobs")
        .with_metadata(meta(&snap, json!({})));
    Ok(vec![frame])
}
