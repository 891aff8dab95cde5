//! One refresh of what the Flink REST API knows about the selected jobs, gathered with bounded
//! concurrency: the many small per-vertex requests of a refresh run at most [`CONCURRENCY`] at a
//! time instead of one after another, without flooding the JobManager.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use regex::Regex;
use thiserror::Error;

use super::client::{FlinkClient, FlinkError};
use super::model;

/// Requests in flight at once during a refresh.
pub const CONCURRENCY: usize = 8;

/// Flink's `Long.MIN_VALUE` watermark: the vertex has not received a watermark yet.
const NO_WATERMARK: i64 = i64::MIN;

/// The longest exception text kept (the first line of the stack trace usually says enough).
const MAX_EXCEPTION_CHARS: usize = 300;

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Flink(#[from] FlinkError),
    #[error("Flink job {job} disappeared while it was being read ({path} answered HTTP 404); it was probably cancelled or restarted under a new id: refresh to see the current jobs")]
    JobGone { job: String, path: String },
}

/// Which parts of a job a query needs; fewer parts, fewer requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// The jobs themselves (overview, detail, graph); off for cluster-only questions.
    pub jobs: bool,
    pub load: bool,
    pub watermarks: bool,
    pub rates: bool,
    pub checkpoints: bool,
    pub exceptions: bool,
    pub task_managers: bool,
}

impl Parts {
    pub const ALL: Parts = Parts {
        jobs: true,
        load: true,
        watermarks: true,
        rates: true,
        checkpoints: true,
        exceptions: true,
        task_managers: true,
    };
    /// Only the job list and graphs; add the parts a query needs.
    pub const JOBS: Parts = Parts {
        jobs: true,
        load: false,
        watermarks: false,
        rates: false,
        checkpoints: false,
        exceptions: false,
        task_managers: false,
    };
}

#[derive(Debug, Clone, Default)]
pub struct FlinkSnapshot {
    pub jobs: Vec<JobSnapshot>,
    pub task_managers: Vec<TaskManagerSnapshot>,
    /// Wall-clock time of the refresh (ms since the epoch).
    pub fetched_at_ms: i64,
    pub elapsed: Duration,
    pub requests: usize,
}

#[derive(Debug, Clone, Default)]
pub struct JobSnapshot {
    pub id: String,
    pub name: String,
    pub state: String,
    pub start_time_ms: i64,
    pub duration_ms: i64,
    /// The JobManager's clock at the detail request (ms); 0 when the detail was not read.
    pub jobmanager_now_ms: i64,
    pub vertices: Vec<VertexSnapshot>,
    pub edges: Vec<Edge>,
    pub checkpoints: Option<CheckpointFacts>,
    pub last_exception: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct VertexSnapshot {
    pub id: String,
    pub name: String,
    pub parallelism: u32,
    pub status: String,
    /// Flink's own level: ok | low | high.
    pub backpressure_level: Option<String>,
    /// Max over subtasks of the backpressured ratio (0..1).
    pub backpressure: Option<f64>,
    /// Max over subtasks of the busy ratio (0..1).
    pub busy: Option<f64>,
    pub subtasks: Vec<SubtaskLoad>,
    /// Minimum input watermark over subtasks (ms); `None` before the first watermark.
    pub watermark_ms: Option<i64>,
    /// How many input watermarks Flink reported (0 for sources, which have no input).
    pub watermark_inputs: usize,
    pub records_in_per_second: Option<f64>,
    pub records_out_per_second: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubtaskLoad {
    pub subtask: u32,
    pub level: Option<String>,
    pub backpressure: Option<f64>,
    pub busy: Option<f64>,
    pub idle: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub upstream: String,
    pub downstream: String,
    pub ship_strategy: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckpointFacts {
    pub completed: u64,
    pub failed: u64,
    pub in_progress: u64,
    pub last_completed: Option<CompletedCheckpoint>,
    /// Failures after the last completed checkpoint (from Flink's recent history).
    pub failed_since_last_completed: u64,
    pub last_failure: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompletedCheckpoint {
    pub id: u64,
    pub age_seconds: f64,
    pub duration_ms: i64,
    pub state_size_bytes: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskManagerSnapshot {
    pub id: String,
    pub slots: u32,
    pub free_slots: u32,
    pub heap_used_bytes: Option<f64>,
    pub heap_max_bytes: Option<f64>,
    pub cpu_load: Option<f64>,
}

impl TaskManagerSnapshot {
    pub fn heap_ratio(&self) -> Option<f64> {
        match (self.heap_used_bytes, self.heap_max_bytes) {
            (Some(u), Some(m)) if m > 0.0 => Some(u / m),
            _ => None,
        }
    }
}

/// True when `filter` (an anchored regex) matches the job's name or id; no filter selects all.
pub fn selects(filter: Option<&Regex>, id: &str, name: &str) -> bool {
    filter.is_none_or(|r| r.is_match(name) || r.is_match(id))
}

/// Refresh the jobs `job_filter` selects, [`CONCURRENCY`] requests at a time.
pub async fn fetch(
    client: &FlinkClient,
    job_filter: Option<&Regex>,
    parts: Parts,
) -> Result<FlinkSnapshot, SnapshotError> {
    fetch_with(client, job_filter, parts, CONCURRENCY).await
}

/// [`fetch`] with a chosen bound on requests in flight (1 = one after another, for comparison).
pub async fn fetch_with(
    client: &FlinkClient,
    job_filter: Option<&Regex>,
    parts: Parts,
    concurrency: usize,
) -> Result<FlinkSnapshot, SnapshotError> {
    let started = Instant::now();
    let fetched_at_ms = chrono::Utc::now().timestamp_millis();
    let overview: model::JobsOverview = if parts.jobs {
        client.get_json("/jobs/overview").await?
    } else {
        model::JobsOverview::default()
    };
    let mut jobs: Vec<JobSnapshot> = overview
        .jobs
        .into_iter()
        .filter(|j| selects(job_filter, &j.jid, &j.name))
        .map(|j| JobSnapshot {
            id: j.jid,
            name: j.name,
            state: j.state,
            start_time_ms: j.start_time,
            duration_ms: j.duration,
            ..Default::default()
        })
        .collect();
    jobs.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));

    // Round 1: what each job is made of, plus the job-level facts.
    let mut round1 = Vec::new();
    for j in 0..jobs.len() {
        round1.push(Request::Detail(j));
        if parts.checkpoints {
            round1.push(Request::Checkpoints(j));
        }
        if parts.exceptions {
            round1.push(Request::Exceptions(j));
        }
    }
    if parts.task_managers {
        round1.push(Request::TaskManagers);
    }
    let mut requests = usize::from(parts.jobs) + round1.len();
    let mut task_managers = Vec::new();
    for (request, reply) in ask_all(client, &jobs, &[], round1, concurrency).await? {
        apply(&mut jobs, &mut task_managers, request, reply);
    }

    // Round 2: per vertex and per TaskManager.
    let mut round2 = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        if job.state != "RUNNING" {
            continue; // finished or failed jobs have no live load or watermarks
        }
        for v in 0..job.vertices.len() {
            if parts.load {
                round2.push(Request::Backpressure(j, v));
            }
            if parts.watermarks {
                round2.push(Request::Watermarks(j, v));
            }
            if parts.rates {
                round2.push(Request::Rates(j, v));
            }
        }
    }
    round2.extend((0..task_managers.len()).map(Request::TaskManagerMetrics));
    requests += round2.len();
    for (request, reply) in ask_all(client, &jobs, &task_managers, round2, concurrency).await? {
        apply_vertex(&mut jobs, &mut task_managers, request, reply);
    }

    Ok(FlinkSnapshot {
        jobs,
        task_managers,
        fetched_at_ms,
        elapsed: started.elapsed(),
        requests,
    })
}

/// One REST request of a refresh; indexes point into the snapshot's jobs/vertices/TaskManagers.
#[derive(Debug, Clone, Copy)]
enum Request {
    Detail(usize),
    Checkpoints(usize),
    Exceptions(usize),
    TaskManagers,
    Backpressure(usize, usize),
    Watermarks(usize, usize),
    Rates(usize, usize),
    TaskManagerMetrics(usize),
}

enum Reply {
    Detail(model::JobDetail),
    Checkpoints(model::Checkpoints),
    Exceptions(model::Exceptions),
    TaskManagers(Vec<TaskManagerSnapshot>),
    Backpressure(model::Backpressure),
    Metrics(Vec<model::MetricValue>),
    Rates(Vec<model::AggregatedMetric>),
}

const TASK_MANAGER_METRICS: &str =
    "Status.JVM.Memory.Heap.Used,Status.JVM.Memory.Heap.Max,Status.JVM.CPU.Load";

async fn ask_all(
    client: &FlinkClient,
    jobs: &[JobSnapshot],
    task_managers: &[TaskManagerSnapshot],
    requests: Vec<Request>,
    concurrency: usize,
) -> Result<Vec<(Request, Reply)>, SnapshotError> {
    futures::stream::iter(requests)
        .map(|r| async move {
            ask(client, jobs, task_managers, r)
                .await
                .map(|reply| (r, reply))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}

async fn ask(
    client: &FlinkClient,
    jobs: &[JobSnapshot],
    task_managers: &[TaskManagerSnapshot],
    r: Request,
) -> Result<Reply, SnapshotError> {
    let job_of = |j: usize| &jobs[j];
    let vertex = |j: usize, v: usize| {
        let job = job_of(j);
        format!("/jobs/{}/vertices/{}", job.id, job.vertices[v].id)
    };
    let path = match r {
        Request::Detail(j) => format!("/jobs/{}", job_of(j).id),
        Request::Checkpoints(j) => format!("/jobs/{}/checkpoints", job_of(j).id),
        Request::Exceptions(j) => format!("/jobs/{}/exceptions", job_of(j).id),
        Request::TaskManagers => "/taskmanagers".to_string(),
        Request::Backpressure(j, v) => format!("{}/backpressure", vertex(j, v)),
        Request::Watermarks(j, v) => format!("{}/watermarks", vertex(j, v)),
        Request::Rates(j, v) => format!(
            "{}/subtasks/metrics?get=numRecordsInPerSecond,numRecordsOutPerSecond&agg=sum",
            vertex(j, v)
        ),
        Request::TaskManagerMetrics(t) => format!(
            "/taskmanagers/{}/metrics?get={TASK_MANAGER_METRICS}",
            task_managers[t].id
        ),
    };
    let job = match r {
        Request::TaskManagers => None,
        Request::Detail(j)
        | Request::Checkpoints(j)
        | Request::Exceptions(j)
        | Request::Backpressure(j, _)
        | Request::Watermarks(j, _)
        | Request::Rates(j, _) => Some(job_of(j)),
        Request::TaskManagerMetrics(_) => None,
    };
    let gone = |e: FlinkError| match (&e, job) {
        (FlinkError::Status { status: 404, .. }, Some(job)) => SnapshotError::JobGone {
            job: format!("`{}` ({})", job.name, job.id),
            path: path.clone(),
        },
        _ => SnapshotError::Flink(e),
    };
    Ok(match r {
        Request::Detail(_) => Reply::Detail(client.get_json(&path).await.map_err(gone)?),
        Request::Checkpoints(_) => Reply::Checkpoints(client.get_json(&path).await.map_err(gone)?),
        Request::Exceptions(_) => Reply::Exceptions(client.get_json(&path).await.map_err(gone)?),
        Request::TaskManagers => {
            let list: model::TaskManagers = client.get_json(&path).await?;
            Reply::TaskManagers(
                list.taskmanagers
                    .into_iter()
                    .map(|t| TaskManagerSnapshot {
                        id: t.id,
                        slots: t.slots_number,
                        free_slots: t.free_slots,
                        ..Default::default()
                    })
                    .collect(),
            )
        }
        Request::Backpressure(..) => {
            Reply::Backpressure(client.get_json(&path).await.map_err(gone)?)
        }
        Request::Watermarks(..) | Request::TaskManagerMetrics(_) => {
            Reply::Metrics(client.get_json(&path).await.map_err(gone)?)
        }
        Request::Rates(..) => Reply::Rates(client.get_json(&path).await.map_err(gone)?),
    })
}

fn apply(
    jobs: &mut [JobSnapshot],
    task_managers: &mut Vec<TaskManagerSnapshot>,
    request: Request,
    reply: Reply,
) {
    match (request, reply) {
        (Request::Detail(j), Reply::Detail(d)) => {
            let job = &mut jobs[j];
            job.state = d.state;
            job.jobmanager_now_ms = d.now;
            job.edges = edges_of(&d.plan);
            job.vertices = d
                .vertices
                .into_iter()
                .map(|v| VertexSnapshot {
                    id: v.id,
                    name: v.name,
                    parallelism: v.parallelism,
                    status: v.status,
                    ..Default::default()
                })
                .collect();
        }
        (Request::Checkpoints(j), Reply::Checkpoints(c)) => {
            jobs[j].checkpoints = Some(checkpoint_facts(&c));
        }
        (Request::Exceptions(j), Reply::Exceptions(e)) => {
            jobs[j].last_exception = last_exception(&e);
        }
        (Request::TaskManagers, Reply::TaskManagers(list)) => *task_managers = list,
        _ => {}
    }
}

fn apply_vertex(
    jobs: &mut [JobSnapshot],
    task_managers: &mut [TaskManagerSnapshot],
    request: Request,
    reply: Reply,
) {
    match (request, reply) {
        (Request::Backpressure(j, v), Reply::Backpressure(b)) => {
            apply_backpressure(&mut jobs[j].vertices[v], &b)
        }
        (Request::Watermarks(j, v), Reply::Metrics(m)) => {
            let vertex = &mut jobs[j].vertices[v];
            vertex.watermark_inputs = m.len();
            vertex.watermark_ms = min_watermark(&m);
        }
        (Request::Rates(j, v), Reply::Rates(r)) => {
            let vertex = &mut jobs[j].vertices[v];
            let sum = |id: &str| r.iter().find(|m| m.id == id).and_then(|m| m.sum);
            vertex.records_in_per_second = sum("numRecordsInPerSecond");
            vertex.records_out_per_second = sum("numRecordsOutPerSecond");
        }
        (Request::TaskManagerMetrics(t), Reply::Metrics(m)) => {
            let tm = &mut task_managers[t];
            let value = |id: &str| {
                m.iter()
                    .find(|x| x.id == id)
                    .and_then(|x| x.value.as_deref())
                    .and_then(|s| s.parse::<f64>().ok())
            };
            tm.heap_used_bytes = value("Status.JVM.Memory.Heap.Used");
            tm.heap_max_bytes = value("Status.JVM.Memory.Heap.Max");
            tm.cpu_load = value("Status.JVM.CPU.Load");
        }
        _ => {}
    }
}

/// The job graph's edges: each plan node's inputs are its upstream vertices.
pub fn edges_of(plan: &model::Plan) -> Vec<Edge> {
    plan.nodes
        .iter()
        .flat_map(|n| {
            n.inputs.iter().map(|i| Edge {
                upstream: i.id.clone(),
                downstream: n.id.clone(),
                ship_strategy: i.ship_strategy.clone(),
            })
        })
        .collect()
}

pub fn apply_backpressure(vertex: &mut VertexSnapshot, b: &model::Backpressure) {
    // Until Flink has sampled, it answers without numbers; report unknown, not zero.
    if b.status != "ok" {
        return;
    }
    let max = |f: fn(&model::SubtaskBackpressure) -> Option<f64>| {
        b.subtasks.iter().filter_map(f).reduce(f64::max)
    };
    vertex.backpressure_level = b.backpressure_level.clone();
    vertex.backpressure = max(|s| s.ratio);
    vertex.busy = max(|s| s.busy_ratio);
    vertex.subtasks = b
        .subtasks
        .iter()
        .map(|s| SubtaskLoad {
            subtask: s.subtask,
            level: s.backpressure_level.clone(),
            backpressure: s.ratio,
            busy: s.busy_ratio,
            idle: s.idle_ratio,
        })
        .collect();
}

/// The vertex's event-time: the smallest input watermark over its subtasks. `None` while any
/// input still has none (Flink reports Long.MIN_VALUE) and for sources (no inputs).
pub fn min_watermark(values: &[model::MetricValue]) -> Option<i64> {
    let parsed: Vec<i64> = values
        .iter()
        .filter(|m| m.id.ends_with("currentInputWatermark"))
        .filter_map(|m| m.value.as_deref()?.parse().ok())
        .collect();
    let min = parsed.into_iter().min()?;
    (min != NO_WATERMARK).then_some(min)
}

pub fn checkpoint_facts(c: &model::Checkpoints) -> CheckpointFacts {
    let completed = c.latest.completed.as_ref();
    let last_id = completed.map(|c| c.id).unwrap_or(0);
    let failed_in_history = c
        .history
        .iter()
        .filter(|h| h.status == "FAILED" && h.id > last_id)
        .count() as u64;
    let failed_since_last_completed = match completed {
        None => c.counts.failed,
        Some(_) => failed_in_history,
    };
    // Ages from the checkpoint's own timestamps against the local clock; the JobManager's
    // clock is the same machine's or NTP-synced in practice.
    let now = chrono::Utc::now().timestamp_millis();
    CheckpointFacts {
        completed: c.counts.completed,
        failed: c.counts.failed,
        in_progress: c.counts.in_progress,
        last_completed: completed.map(|l| CompletedCheckpoint {
            id: l.id,
            age_seconds: (now - l.latest_ack_timestamp.max(l.trigger_timestamp)).max(0) as f64
                / 1000.0,
            duration_ms: l.end_to_end_duration,
            state_size_bytes: l.state_size,
        }),
        failed_since_last_completed,
        last_failure: c
            .latest
            .failed
            .as_ref()
            .and_then(|f| f.failure_message.clone()),
    }
}

fn last_exception(e: &model::Exceptions) -> Option<String> {
    let entry = e.exception_history.entries.first()?;
    let first_line = entry
        .stacktrace
        .lines()
        .next()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or(&entry.exception_name);
    Some(first_line.chars().take(MAX_EXCEPTION_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(id: &str, value: &str) -> model::MetricValue {
        model::MetricValue {
            id: id.into(),
            value: Some(value.into()),
        }
    }

    #[test]
    fn watermark_is_the_minimum_over_subtasks() {
        let m = [
            metric("0.currentInputWatermark", "2000"),
            metric("1.currentInputWatermark", "1500"),
        ];
        assert_eq!(min_watermark(&m), Some(1500));
    }

    #[test]
    fn long_min_value_means_no_watermark_yet() {
        let m = [
            metric("0.currentInputWatermark", "2000"),
            metric("1.currentInputWatermark", "-9223372036854775808"),
        ];
        assert_eq!(min_watermark(&m), None);
        assert_eq!(min_watermark(&[]), None);
    }

    #[test]
    fn backpressure_takes_the_worst_subtask() {
        let b: model::Backpressure = serde_json::from_value(serde_json::json!({
            "status": "ok", "backpressureLevel": "high",
            "subtasks": [
                {"subtask": 0, "ratio": 0.2, "busyRatio": 0.9, "idleRatio": 0.0},
                {"subtask": 1, "ratio": 0.95, "busyRatio": 0.1, "idleRatio": 0.0}
            ]
        }))
        .unwrap();
        let mut v = VertexSnapshot::default();
        apply_backpressure(&mut v, &b);
        assert_eq!(v.backpressure, Some(0.95));
        assert_eq!(v.busy, Some(0.9));
        assert_eq!(v.subtasks.len(), 2);
        assert_eq!(v.backpressure_level.as_deref(), Some("high"));
    }

    #[test]
    fn unsampled_backpressure_stays_unknown() {
        let b: model::Backpressure =
            serde_json::from_value(serde_json::json!({"status": "deprecated"})).unwrap();
        let mut v = VertexSnapshot::default();
        apply_backpressure(&mut v, &b);
        assert_eq!(v.backpressure, None);
    }

    #[test]
    fn failures_count_only_after_the_last_completed_checkpoint() {
        let c: model::Checkpoints = serde_json::from_value(serde_json::json!({
            "counts": {"completed": 5, "failed": 4, "in_progress": 0},
            "latest": {"completed": {"id": 7, "trigger_timestamp": 1, "latest_ack_timestamp": 2,
                                     "end_to_end_duration": 12, "state_size": 300}},
            "history": [{"id": 9, "status": "FAILED"}, {"id": 8, "status": "FAILED"},
                        {"id": 7, "status": "COMPLETED"}, {"id": 6, "status": "FAILED"}]
        }))
        .unwrap();
        let f = checkpoint_facts(&c);
        assert_eq!(f.failed_since_last_completed, 2);
        assert_eq!(f.last_completed.as_ref().unwrap().duration_ms, 12);
    }

    #[test]
    fn job_filter_matches_name_or_id() {
        let r = Regex::new("^(?:pipeline-.*)$").unwrap();
        assert!(selects(Some(&r), "abc", "pipeline-1"));
        assert!(!selects(Some(&r), "abc", "other"));
        assert!(selects(None, "abc", "other"));
        let id = Regex::new("^(?:abc)$").unwrap();
        assert!(selects(Some(&id), "abc", "other"));
    }
}
