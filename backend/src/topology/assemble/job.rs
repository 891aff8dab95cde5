//! A Flink job's part of the graph: its vertices with their stats and the verdicts of the one
//! job judgement (`pipeline_model::job_health`) the Flink queries read too.

use pipeline_model::frame_contract::vertex_id;
use pipeline_model::job_health::{self, JobInput, VertexInput};
use pipeline_model::node_stats as stat;
use pipeline_model::{Health, Node, Stat, Thresholds};

use super::Graph;
use crate::topology::facts::{FlinkVertexFacts, JobFacts};

pub(super) use pipeline_model::job_health::vertex_kind;

fn vertex_stats(v: &FlinkVertexFacts) -> Vec<Stat> {
    let f = &v.facts;
    let mut stats = vec![Stat::of(stat::PARALLELISM, v.parallelism as f64)];
    let optional = [
        (stat::BACKPRESSURE, f.backpressure),
        (stat::BUSY, f.busy),
        (stat::WATERMARK_LAG, f.watermark_lag_seconds),
        (stat::WATERMARK_STALLED, f.watermark_stalled_seconds),
        (stat::RECORDS_IN, v.records_in_per_second),
        (stat::RECORDS_OUT, v.records_out_per_second),
    ];
    stats.extend(
        optional
            .into_iter()
            .filter_map(|(s, val)| val.map(|x| Stat::of(s, x))),
    );
    stats
}

/// The job as the judgement takes it: the same shape `flink::assess` builds from a snapshot.
fn judgement_input(job: &JobFacts) -> JobInput<'_> {
    JobInput {
        name: &job.name,
        state: &job.state,
        vertices: job
            .vertices
            .iter()
            .map(|v| VertexInput {
                id: &v.id,
                name: &v.name,
                status: v.status.as_deref(),
                facts: v.facts.clone(),
                records_out_per_second: v.records_out_per_second,
            })
            .collect(),
        edges: job
            .edges
            .iter()
            .map(|(a, b, _)| (a.as_str(), b.as_str()))
            .collect(),
        checkpoints: Some((
            job.checkpoint_age_seconds,
            job.checkpoints_failed_since_completed,
        )),
        last_exception: job.last_exception.as_deref(),
    }
}

pub(super) fn add_job(graph: &mut Graph, job: &JobFacts, t: &Thresholds) {
    let judged = job_health::judge(&judgement_input(job), t);
    for (v, verdict) in job.vertices.iter().zip(judged.vertices) {
        let mut node = Node::new(
            vertex_id(&job.id, &v.id),
            v.name.clone(),
            vertex_kind(&v.name),
        );
        node.subtitle = job.name.clone();
        node.job = job.name.clone();
        node.stats = vertex_stats(v);
        if node.kind == pipeline_model::NodeKind::FlinkSink {
            if let Some(age) = job.checkpoint_age_seconds {
                node.stats.push(Stat::of(stat::CHECKPOINT_AGE, age));
            }
        }
        node.judged(verdict);
        // A vertex unknown for want of figures says which request failed, not only that
        // figures are missing.
        if let (Some(partial), Health::Ok | Health::Unknown) = (&job.partial, node.health) {
            node.reason = format!("{}; partial data: {partial}", node.reason);
        }
        graph.add(node);
    }
    for (up, down, strategy) in &job.edges {
        graph.connect(
            &vertex_id(&job.id, up),
            &vertex_id(&job.id, down),
            strategy.clone(),
        );
    }
}

/// The jobs worth drawing: of several with one name (a job cancelled and submitted again), the
/// one that runs, else the latest; Flink keeps finished jobs in its history for an hour.
pub(super) fn current_jobs(jobs: &[JobFacts]) -> Vec<&JobFacts> {
    const ENDED: [&str; 3] = ["CANCELED", "FINISHED", "FAILED"];
    let rank = |j: &JobFacts| (!ENDED.contains(&j.state.as_str()), j.start_time_ms);
    let mut chosen: Vec<&JobFacts> = Vec::new();
    for job in jobs {
        match chosen.iter_mut().find(|c| c.name == job.name) {
            Some(c) if rank(job) > rank(c) => *c = job,
            Some(_) => {}
            None => chosen.push(job),
        }
    }
    chosen
}
