//! The `checkpoints` query: checkpoint counts, age, duration and size per job.

use grafana_plugin_sdk::data::Frame;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{load, meta, FlinkQuery, Loaded};
use crate::error::QueryError;
use crate::flink::snapshot::{JobSnapshot, Parts};
use crate::flink::FlinkClient;
use crate::frames::{verdict_fields, Columns};

pub async fn checkpoints(
    client: &FlinkClient,
    q: &FlinkQuery,
    t: &Thresholds,
) -> Result<Vec<Frame>, QueryError> {
    let parts = Parts {
        checkpoints: true,
        ..Parts::JOBS
    };
    let Loaded { snap, a, .. } = load(client, q, parts, None, t).await?;
    let j = &snap.jobs;
    let c = |job: &JobSnapshot| job.checkpoints.clone().unwrap_or_default();
    let last = |job: &JobSnapshot| c(job).last_completed;
    let frame = Columns::over(j)
        .col("jobId", |j| j.id.clone())
        .col("job", |j| j.name.clone())
        .col("completed", |j| c(j).completed)
        .shown("Completed", Some("short"))
        .col("failed", |j| c(j).failed)
        .shown("Failed", Some("short"))
        .col("inProgress", |j| c(j).in_progress)
        .shown("In progress", Some("short"))
        .col("failedSinceLastCompleted", |j| {
            c(j).failed_since_last_completed
        })
        .shown("Failed since last completed", Some("short"))
        .opt("lastCompletedAge", |j| last(j).map(|l| l.age_seconds))
        .shown("Last completed", Some("s"))
        .opt("lastDuration", |j| last(j).map(|l| l.duration_ms))
        .shown("Duration", Some("ms"))
        .opt("lastStateSize", |j| last(j).map(|l| l.state_size_bytes))
        .shown("State size", Some("bytes"))
        .opt("lastFailure", |j| c(j).last_failure)
        .fields(verdict_fields(a.iter().map(|a| &a.checkpoints)))
        .frame("checkpoints")
        .with_metadata(meta(&snap, json!({})));
    Ok(vec![frame])
}
