//! The Flink query types: `jobs`, `jobGraph`, `backpressure`, `watermarks`, `checkpoints`,
//! `taskManagers`, and their frames.

use grafana_plugin_sdk::data::{Field, Frame, Metadata, VisType};
use grafana_plugin_sdk::prelude::*;
use pipeline_model::Thresholds;
use regex::Regex;
use serde::Deserialize;
use serde_json::json;

use super::assess::{assess_job, assess_task_manager, JobAssessment};
use super::snapshot::{self, FlinkSnapshot, JobSnapshot, Parts, VertexSnapshot};
use super::watermark_history::WatermarkHistory;
use super::FlinkClient;
use crate::error::QueryError;
use crate::frames::describe;

/// The query editor's listings: `flink/jobs` and `flink/jobs/<id>/vertices` (path without the
/// leading slash); `None` for any other path.
pub async fn resource(
    client: &FlinkClient,
    path: &str,
) -> Result<Option<serde_json::Value>, QueryError> {
    let segments: Vec<&str> = path.split('/').collect();
    let upstream = |e: super::FlinkError| QueryError::Upstream(e.to_string());
    match segments.as_slice() {
        ["flink", "jobs"] => {
            let overview: super::model::JobsOverview =
                client.get_json("/jobs/overview").await.map_err(upstream)?;
            let jobs: Vec<_> = overview
                .jobs
                .iter()
                .map(|j| json!({ "id": j.jid, "name": j.name, "state": j.state }))
                .collect();
            Ok(Some(json!({ "jobs": jobs })))
        }
        ["flink", "jobs", jid, "vertices"] => {
            // Job ids are hex; anything else would be spliced into the upstream URL.
            if jid.is_empty() || !jid.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(QueryError::InvalidQuery(format!(
                    "`{jid}` is not a Flink job id (32 hex digits)"
                )));
            }
            let detail: super::model::JobDetail = client
                .get_json(&format!("/jobs/{jid}"))
                .await
                .map_err(upstream)?;
            let vertices: Vec<_> = detail
                .vertices
                .iter()
                .map(|v| json!({ "id": v.id, "name": v.name }))
                .collect();
            Ok(Some(json!({ "vertices": vertices })))
        }
        _ => Ok(None),
    }
}

/// Fields of every Flink query type.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FlinkQuery {
    /// Job id, or a regex of job names (whole name). Empty: every job.
    pub job: Option<String>,
    /// Vertex id, or a regex of vertex names (whole name). Empty: every vertex.
    pub vertex: Option<String>,
}

fn pattern(field: &str, value: &Option<String>) -> Result<Option<Regex>, QueryError> {
    let Some(p) = value.as_deref().map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    Regex::new(&format!("^(?:{p})$"))
        .map(Some)
        .map_err(|e| QueryError::InvalidQuery(format!("field `{field}`: not a valid regex: {e}")))
}

/// A query's job and vertex selection, parsed once.
struct Selection {
    job: Option<Regex>,
    vertex: Option<Regex>,
}

impl Selection {
    fn of(q: &FlinkQuery) -> Result<Selection, QueryError> {
        Ok(Selection {
            job: pattern("job", &q.job)?,
            vertex: pattern("vertex", &q.vertex)?,
        })
    }

    fn vertex(&self, v: &VertexSnapshot) -> bool {
        snapshot::selects(self.vertex.as_ref(), &v.id, &v.name)
    }
}

/// A query's selection, the refreshed snapshot and its verdicts.
struct Loaded {
    sel: Selection,
    snap: FlinkSnapshot,
    a: Vec<JobAssessment>,
}

async fn load(
    client: &FlinkClient,
    q: &FlinkQuery,
    parts: Parts,
    history: Option<&WatermarkHistory>,
    t: &Thresholds,
) -> Result<Loaded, QueryError> {
    let sel = Selection::of(q)?;
    let snap = refresh(client, &sel, parts).await?;
    let a = assessed(&snap, history, t);
    Ok(Loaded { sel, snap, a })
}

async fn refresh(
    client: &FlinkClient,
    sel: &Selection,
    parts: Parts,
) -> Result<FlinkSnapshot, QueryError> {
    snapshot::fetch(client, sel.job.as_ref(), parts)
        .await
        .map_err(|e| QueryError::Upstream(e.to_string()))
}

/// How the snapshot was fetched, in every frame's `meta.custom`.
fn meta(snap: &FlinkSnapshot, extra: serde_json::Value) -> Metadata {
    let mut custom = json!({
        "snapshotMs": snap.elapsed.as_secs_f64() * 1000.0,
        "requests": snap.requests,
        "concurrency": snapshot::CONCURRENCY,
    });
    if let (Some(c), Some(e)) = (custom.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    let mut meta = Metadata::default();
    meta.custom = custom.as_object().cloned();
    meta
}

/// One row per selected vertex, with its job and assessment.
struct VertexRow<'a> {
    job: &'a JobSnapshot,
    vertex: &'a VertexSnapshot,
    a: &'a super::assess::VertexAssessment,
}

fn assessed(
    snap: &FlinkSnapshot,
    history: Option<&WatermarkHistory>,
    t: &Thresholds,
) -> Vec<JobAssessment> {
    snap.jobs
        .iter()
        .map(|j| assess_job(j, history, t, snap.fetched_at_ms))
        .collect()
}

fn vertex_rows<'a>(
    snap: &'a FlinkSnapshot,
    assessments: &'a [JobAssessment],
    sel: &Selection,
) -> Vec<VertexRow<'a>> {
    snap.jobs
        .iter()
        .zip(assessments)
        .flat_map(|(job, ja)| {
            job.vertices
                .iter()
                .zip(&ja.vertices)
                .map(move |(vertex, a)| VertexRow { job, vertex, a })
        })
        .filter(|r| sel.vertex(r.vertex))
        .collect()
}

fn bottleneck_name<'a>(job: &'a JobSnapshot, a: &JobAssessment) -> Option<&'a str> {
    let id = a.bottleneck.as_deref()?;
    job.vertices
        .iter()
        .find(|v| v.id == id)
        .map(|v| v.name.as_str())
}

/// The frames' common job/vertex columns.
fn vertex_keys(rows: &[VertexRow]) -> [Field; 4] {
    [
        rows.iter().map(|r| r.job.id.clone()).into_field("jobId"),
        rows.iter().map(|r| r.job.name.clone()).into_field("job"),
        rows.iter()
            .map(|r| r.vertex.id.clone())
            .into_field("vertexId"),
        rows.iter()
            .map(|r| r.vertex.name.clone())
            .into_field("vertex"),
    ]
}

fn verdict_fields<'a>(
    verdicts: impl Iterator<Item = &'a pipeline_model::rules::Verdict> + Clone,
) -> [Field; 3] {
    [
        verdicts
            .clone()
            .map(|v| v.health.as_str())
            .into_field("status"),
        describe(
            verdicts.clone().map(|v| v.health.code()).into_field("code"),
            "Status code",
            None,
        ),
        verdicts.map(|v| v.reason.clone()).into_field("reason"),
    ]
}

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

pub async fn job_graph(
    client: &FlinkClient,
    q: &FlinkQuery,
    t: &Thresholds,
) -> Result<Vec<Frame>, QueryError> {
    let parts = Parts {
        load: true,
        rates: true,
        ..Parts::JOBS
    };
    let Loaded { sel, snap, a } = load(client, q, parts, None, t).await?;
    let rows = vertex_rows(&snap, &a, &sel);
    // Vertex ids repeat across jobs built from the same code: qualify them with the job id.
    let node_id = |job: &JobSnapshot, vertex: &str| format!("{}/{}", job.id, vertex);
    let mut node_meta = meta(&snap, json!({}));
    node_meta.preferred_visualisation = Some(VisType::NodeGraph);
    let nodes = Frame::new("nodes")
        .with_fields([
            rows.iter()
                .map(|r| node_id(r.job, &r.vertex.id))
                .into_field("id"),
            rows.iter()
                .map(|r| r.vertex.name.clone())
                .into_field("title"),
            rows.iter()
                .map(|r| r.job.name.clone())
                .into_field("subtitle"),
            describe(
                rows.iter()
                    .map(|r| r.vertex.busy)
                    .into_opt_field("mainstat"),
                "Busy",
                Some("percentunit"),
            ),
            describe(
                rows.iter()
                    .map(|r| r.vertex.backpressure)
                    .into_opt_field("secondarystat"),
                "Backpressure",
                Some("percentunit"),
            ),
            rows.iter()
                .map(|r| r.a.verdict.health.color())
                .into_field("color"),
            describe(
                rows.iter()
                    .map(|r| r.vertex.parallelism)
                    .into_field("detail__parallelism"),
                "Parallelism",
                None,
            ),
            describe(
                rows.iter()
                    .map(|r| r.vertex.records_in_per_second)
                    .into_opt_field("detail__recordsIn"),
                "Records in",
                Some("reqps"),
            ),
            describe(
                rows.iter()
                    .map(|r| r.vertex.records_out_per_second)
                    .into_opt_field("detail__recordsOut"),
                "Records out",
                Some("reqps"),
            ),
            describe(
                rows.iter()
                    .map(|r| r.a.is_bottleneck)
                    .into_field("detail__bottleneck"),
                "Bottleneck",
                None,
            ),
            describe(
                rows.iter()
                    .map(|r| r.a.verdict.reason.clone())
                    .into_field("detail__reason"),
                "Why",
                None,
            ),
        ])
        .with_metadata(node_meta);
    let selected =
        |job: &JobSnapshot, id: &str| rows.iter().any(|r| r.job.id == job.id && r.vertex.id == id);
    let edges: Vec<_> = snap
        .jobs
        .iter()
        .flat_map(|j| j.edges.iter().map(move |e| (j, e)))
        .filter(|(j, e)| selected(j, &e.upstream) && selected(j, &e.downstream))
        .collect();
    let mut edge_meta = meta(&snap, json!({}));
    edge_meta.preferred_visualisation = Some(VisType::NodeGraph);
    let edge_frame = Frame::new("edges")
        .with_fields([
            edges
                .iter()
                .map(|(j, e)| format!("{}/{}->{}", j.id, e.upstream, e.downstream))
                .into_field("id"),
            edges
                .iter()
                .map(|(j, e)| node_id(j, &e.upstream))
                .into_field("source"),
            edges
                .iter()
                .map(|(j, e)| node_id(j, &e.downstream))
                .into_field("target"),
            describe(
                edges
                    .iter()
                    .map(|(_, e)| e.ship_strategy.clone())
                    .into_field("mainstat"),
                "Ship strategy",
                None,
            ),
        ])
        .with_metadata(edge_meta);
    Ok(vec![nodes, edge_frame])
}

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

pub async fn task_managers(client: &FlinkClient, t: &Thresholds) -> Result<Vec<Frame>, QueryError> {
    // TaskManagers belong to the cluster, not to a job: no per-job requests.
    let sel = Selection {
        job: None,
        vertex: None,
    };
    let parts = Parts {
        jobs: false,
        task_managers: true,
        ..Parts::JOBS
    };
    let snap = refresh(client, &sel, parts).await?;
    let tms = &snap.task_managers;
    let verdicts: Vec<_> = tms.iter().map(|tm| assess_task_manager(tm, t)).collect();
    let frame = Frame::new("taskManagers")
        .with_fields(
            [
                tms.iter().map(|tm| tm.id.clone()).into_field("id"),
                describe(
                    tms.iter().map(|tm| tm.slots).into_field("slots"),
                    "Slots",
                    Some("short"),
                ),
                describe(
                    tms.iter().map(|tm| tm.free_slots).into_field("freeSlots"),
                    "Free slots",
                    Some("short"),
                ),
                describe(
                    tms.iter()
                        .map(|tm| tm.heap_used_bytes)
                        .into_opt_field("heapUsed"),
                    "Heap used",
                    Some("bytes"),
                ),
                describe(
                    tms.iter()
                        .map(|tm| tm.heap_max_bytes)
                        .into_opt_field("heapMax"),
                    "Heap max",
                    Some("bytes"),
                ),
                describe(
                    tms.iter()
                        .map(|tm| tm.heap_ratio())
                        .into_opt_field("heapRatio"),
                    "Heap used of max",
                    Some("percentunit"),
                ),
                describe(
                    tms.iter().map(|tm| tm.cpu_load).into_opt_field("cpuLoad"),
                    "CPU load",
                    Some("percentunit"),
                ),
            ]
            .into_iter()
            .chain(verdict_fields(verdicts.iter())),
        )
        .with_metadata(meta(&snap, json!({})));
    Ok(vec![frame])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_job_regex_names_the_field() {
        let q = FlinkQuery {
            job: Some("(".into()),
            vertex: None,
        };
        let err = Selection::of(&q).err().unwrap().to_string();
        assert!(err.contains("field `job`"), "{err}");
    }

    #[test]
    fn vertex_filter_matches_whole_names_or_ids() {
        let q = FlinkQuery {
            job: None,
            vertex: Some("slow-score.*".into()),
        };
        let sel = Selection::of(&q).unwrap();
        let v = |id: &str, name: &str| VertexSnapshot {
            id: id.into(),
            name: name.into(),
            ..Default::default()
        };
        assert!(sel.vertex(&v("x", "slow-score -> orders-db: Writer")));
        assert!(!sel.vertex(&v("x", "Source: clicks -> enrich")));
    }
}
