//! One refresh of what the Flink REST API knows about the selected jobs, gathered with bounded
//! concurrency: the many small per-vertex requests of a refresh run at most [`CONCURRENCY`] at a
//! time instead of one after another, without flooding the JobManager.

use std::time::{Duration, Instant};

use regex::Regex;
use thiserror::Error;

use super::client::{FlinkClient, FlinkError};
use super::model;

mod decode;
pub mod finished;
mod requests;

pub use decode::{apply_backpressure, checkpoint_facts, edges_of, min_watermark, task_managers_of};
use requests::ask_all;
pub use requests::{apply, apply_vertex, Reply, Request};

/// Requests in flight at once during a refresh.
pub const CONCURRENCY: usize = 8;

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
    /// Cluster-level requests Flink failed to answer (the TaskManagers), why.
    pub unread: Vec<String>,
}

impl FlinkSnapshot {
    /// Every unread part, the cluster's then each job's: what a frame's notice lists.
    pub fn all_unread(&self) -> Vec<&str> {
        self.unread
            .iter()
            .chain(self.jobs.iter().flat_map(|j| &j.unread))
            .map(String::as_str)
            .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
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
    /// What Flink failed to answer about this job in this refresh, one sentence per request
    /// (the rest of the job is read): a partial answer, not a failed query.
    pub unread: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
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
    /// When Flink last refreshed the metrics it answered with (epoch ms, its clock).
    pub metrics_refreshed_ms: Option<i64>,
    pub subtasks: Vec<SubtaskLoad>,
    /// Minimum input watermark over subtasks (ms); `None` before the first watermark.
    pub watermark_ms: Option<i64>,
    /// How many input watermarks Flink reported (0 for sources, which have no input).
    pub watermark_inputs: usize,
    /// When the watermarks were read (local clock, ms): their lag is measured from then, not
    /// from the start of the refresh, which may be seconds earlier on a busy JobManager.
    pub watermark_read_ms: Option<i64>,
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

/// The jobs of the overview that `job_filter` selects, by name then id: what round 1 asks about.
pub fn jobs_of(overview: model::JobsOverview, job_filter: Option<&Regex>) -> Vec<JobSnapshot> {
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
    jobs
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
    let finished = client.finished_jobs();
    if parts.jobs {
        finished.retain_listed(overview.jobs.iter().map(|j| j.jid.as_str()));
    }
    let mut jobs = jobs_of(overview, job_filter);
    // Ended jobs already read whole are taken as read, not asked again.
    let mut remembered = vec![false; jobs.len()];
    for (job, known) in jobs.iter_mut().zip(&mut remembered) {
        if let Some(read) = finished.get(job, parts) {
            *job = read;
            *known = true;
        }
    }

    // Round 1: what each job is made of, plus the job-level facts.
    let mut round1 = Vec::new();
    for j in (0..jobs.len()).filter(|j| !remembered[*j]) {
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
    let mut unread = Vec::new();
    for (request, reply, _) in ask_all(client, &jobs, &[], round1, concurrency).await? {
        match reply {
            Ok(reply) => apply(&mut jobs, &mut task_managers, request, reply),
            Err(e) => note_unread(&mut jobs, &mut unread, request, e),
        }
    }

    for (job, known) in jobs.iter().zip(&remembered) {
        if !known {
            finished.keep(job, parts);
        }
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
    for (request, reply, at_ms) in
        ask_all(client, &jobs, &task_managers, round2, concurrency).await?
    {
        match reply {
            Ok(reply) => {
                apply_vertex(&mut jobs, &mut task_managers, request, reply);
                if let Request::Watermarks(j, v) = request {
                    jobs[j].vertices[v].watermark_read_ms = Some(at_ms);
                }
            }
            Err(e) => note_unread(&mut jobs, &mut unread, request, e),
        }
    }

    Ok(FlinkSnapshot {
        jobs,
        task_managers,
        fetched_at_ms,
        elapsed: started.elapsed(),
        requests,
        unread,
    })
}

/// Files the error of one request under its job (or the cluster, for TaskManager requests).
fn note_unread(
    jobs: &mut [JobSnapshot],
    cluster: &mut Vec<String>,
    request: Request,
    error: SnapshotError,
) {
    match request.job() {
        Some(j) => jobs[j].unread.push(error.to_string()),
        None => cluster.push(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
