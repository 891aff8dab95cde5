//! The `checkpoints` query: checkpoint counts, age, duration and size per job.

use grafana_plugin_sdk::data::Frame;
use grafana_plugin_sdk::prelude::*;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{load, meta, FlinkQuery, Loaded};
use crate::error::QueryError;
use crate::flink::snapshot::{JobSnapshot, Parts};
use crate::flink::FlinkClient;
use crate::frames::{describe, verdict_fields};

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
    let frame = Frame::new("checkpoints")
        .with_fields(
            [
                j.iter().map(|j| j.id.clone()).into_field("jobId"),
                j.iter().map(|j| j.name.clone()).into_field("job"),
                describe(
                    j.iter().map(|j| c(j).completed).into_field("completed"),
                    "Completed",
                    Some("short"),
                ),
                describe(
                    j.iter().map(|j| c(j).failed).into_field("failed"),
                    "Failed",
                    Some("short"),
                ),
                describe(
                    j.iter().map(|j| c(j).in_progress).into_field("inProgress"),
                    "In progress",
                    Some("short"),
                ),
                describe(
                    j.iter()
                        .map(|j| c(j).failed_since_last_completed)
                        .into_field("failedSinceLastCompleted"),
                    "Failed since last completed",
                    Some("short"),
                ),
                describe(
                    j.iter()
                        .map(|j| last(j).map(|l| l.age_seconds))
                        .into_opt_field("lastCompletedAge"),
                    "Last completed",
                    Some("s"),
                ),
                describe(
                    j.iter()
                        .map(|j| last(j).map(|l| l.duration_ms))
                        .into_opt_field("lastDuration"),
                    "Duration",
                    Some("ms"),
                ),
                describe(
                    j.iter()
                        .map(|j| last(j).map(|l| l.state_size_bytes))
                        .into_opt_field("lastStateSize"),
                    "State size",
                    Some("bytes"),
                ),
                j.iter()
                    .map(|j| c(j).last_failure)
                    .into_opt_field("lastFailure"),
            ]
            .into_iter()
            .chain(verdict_fields(a.iter().map(|a| &a.checkpoints))),
        )
        .with_metadata(meta(&snap, json!({})));
    Ok(vec![frame])
}
