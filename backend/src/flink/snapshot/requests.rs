//! The REST requests of a refresh, run [`super::CONCURRENCY`] at a time, and how each answer
//! is applied to the snapshot.

use futures::{StreamExt, TryStreamExt};

use super::decode::{
    apply_backpressure, checkpoint_facts, edges_of, last_exception, min_watermark, task_managers_of,
};
use super::{JobSnapshot, SnapshotError, TaskManagerSnapshot, VertexSnapshot};
use crate::flink::client::{FlinkClient, FlinkError};
use crate::flink::model;

/// One REST request of a refresh; indexes point into the snapshot's jobs/vertices/TaskManagers
/// (valid ones: the refresh made them from the snapshot it applies the answers to).
#[derive(Debug, Clone, Copy)]
pub enum Request {
    Detail(usize),
    Checkpoints(usize),
    Exceptions(usize),
    TaskManagers,
    Backpressure(usize, usize),
    Watermarks(usize, usize),
    Rates(usize, usize),
    TaskManagerMetrics(usize),
}

impl Request {
    /// The index of the job the request reads, if it reads one.
    pub fn job(self) -> Option<usize> {
        match self {
            Request::Detail(j)
            | Request::Checkpoints(j)
            | Request::Exceptions(j)
            | Request::Backpressure(j, _)
            | Request::Watermarks(j, _)
            | Request::Rates(j, _) => Some(j),
            Request::TaskManagers | Request::TaskManagerMetrics(_) => None,
        }
    }
}

pub enum Reply {
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

/// One request's answer, and when it came (local clock, ms).
type Answered = (Request, Result<Reply, SnapshotError>, i64);

/// Runs `requests`, [`super::CONCURRENCY`] at a time. An error that means Flink as a whole cannot
/// be read (unreachable, timed out, refused credentials) ends the refresh; an error of one path
/// (a job gone, a vertex answering HTTP 500 while it starts) is returned beside its request, so
/// that one job's or vertex's failure is a partial answer.
pub(super) async fn ask_all(
    client: &FlinkClient,
    jobs: &[JobSnapshot],
    task_managers: &[TaskManagerSnapshot],
    requests: Vec<Request>,
    concurrency: usize,
) -> Result<Vec<Answered>, SnapshotError> {
    futures::stream::iter(requests)
        .map(|r| async move {
            match ask(client, jobs, task_managers, r).await {
                Err(e) if !of_one_path(&e) => Err(e),
                answer => Ok((r, answer, chrono::Utc::now().timestamp_millis())),
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}

/// True for an error that concerns the one path asked, not the whole JobManager.
fn of_one_path(e: &SnapshotError) -> bool {
    match e {
        SnapshotError::JobGone { .. } => true,
        SnapshotError::Flink(FlinkError::Status { status, .. }) => {
            !matches!(status, 401 | 403 | 407)
        }
        SnapshotError::Flink(FlinkError::NotJson { .. }) => true,
        SnapshotError::Flink(_) => false,
    }
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
    let job = r.job().map(job_of);
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
            Reply::TaskManagers(task_managers_of(list))
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

/// Applies one round-1 answer (detail, checkpoints, exceptions, TaskManagers) to the snapshot;
/// pure, so that any answer Flink may give is fuzzed (`fuzz/fuzz_targets/flink_answers.rs`).
pub fn apply(
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

/// Applies one round-2 answer (a vertex's load, watermarks or rates, a TaskManager's metrics).
pub fn apply_vertex(
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
