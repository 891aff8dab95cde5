//! Verdicts on a Flink snapshot: each job judged by `pipeline_model::job_health` (the one
//! judgement the topology reads too) and each TaskManager by the shared rules (no network here).

use pipeline_model::job_health::{self, JobInput, VertexInput};
use pipeline_model::rules::{self, Verdict, VertexFacts};
use pipeline_model::Thresholds;

use super::snapshot::{JobSnapshot, TaskManagerSnapshot, VertexSnapshot};
use super::watermark_history::{WatermarkHistory, WatermarkTrend};

#[derive(Debug, Clone)]
pub struct VertexAssessment {
    /// Watermark lag behind wall clock (s), when the vertex has a watermark.
    pub watermark_lag_seconds: Option<f64>,
    /// Movement since the previous reading; `None` without history or without a watermark.
    pub trend: Option<WatermarkTrend>,
    /// What the judgement graded: the topology hands the same facts to the same judgement.
    pub facts: VertexFacts,
    pub is_bottleneck: bool,
    pub verdict: Verdict,
}

#[derive(Debug, Clone)]
pub struct JobAssessment {
    /// Id of the vertex causing the backpressure, if any.
    pub bottleneck: Option<String>,
    /// Same order as the job's vertices.
    pub vertices: Vec<VertexAssessment>,
    pub checkpoints: Verdict,
    /// Whether the job runs (RUNNING with every task running), else why not.
    pub state: Verdict,
}

/// The facts of one vertex as the judgement takes them: a watermark counts as stalled only when
/// it did not move since the previous reading.
fn vertex_facts(
    v: &VertexSnapshot,
    watermark_lag_seconds: Option<f64>,
    trend: Option<WatermarkTrend>,
    now_ms: i64,
) -> VertexFacts {
    VertexFacts {
        backpressure: v.backpressure,
        busy: v.busy,
        watermark_lag_seconds,
        watermark_stalled_seconds: trend
            .filter(|tr| tr.advanced == Some(false))
            .map(|tr| tr.stalled_seconds),
        metrics_age_seconds: v
            .metrics_refreshed_ms
            .map(|at| (now_ms - at).max(0) as f64 / 1000.0),
    }
}

/// Judge one job. With `history`, watermark readings are recorded there (so call it once per
/// refresh for queries that report watermark movement, and without history otherwise).
pub fn assess_job(
    job: &JobSnapshot,
    history: Option<&WatermarkHistory>,
    t: &Thresholds,
    now_ms: i64,
) -> JobAssessment {
    let readings: Vec<(Option<f64>, Option<WatermarkTrend>, VertexFacts)> = job
        .vertices
        .iter()
        .map(|v| {
            let read_ms = v.watermark_read_ms.unwrap_or(now_ms);
            let lag = v.watermark_ms.map(|w| (read_ms - w).max(0) as f64 / 1000.0);
            let trend = match (history, v.watermark_ms) {
                (Some(h), Some(w)) => Some(h.observe(&job.id, &v.id, w, now_ms)),
                _ => None,
            };
            (lag, trend, vertex_facts(v, lag, trend, now_ms))
        })
        .collect();
    let input = JobInput {
        name: &job.name,
        state: &job.state,
        vertices: job
            .vertices
            .iter()
            .zip(&readings)
            .map(|(v, (_, _, facts))| VertexInput {
                id: &v.id,
                name: &v.name,
                status: (!v.status.is_empty()).then_some(v.status.as_str()),
                facts: facts.clone(),
                records_out_per_second: v.records_out_per_second,
            })
            .collect(),
        edges: job
            .edges
            .iter()
            .map(|e| (e.upstream.as_str(), e.downstream.as_str()))
            .collect(),
        checkpoints: job.checkpoints.as_ref().map(|c| {
            (
                c.last_completed.as_ref().map(|l| l.age_seconds),
                c.failed_since_last_completed,
            )
        }),
        last_exception: job.last_exception.as_deref(),
    };
    let judged = job_health::judge(&input, t);
    let vertices = readings
        .into_iter()
        .zip(judged.vertices)
        .enumerate()
        .map(|(i, ((lag, trend, facts), verdict))| VertexAssessment {
            watermark_lag_seconds: lag,
            trend,
            facts,
            is_bottleneck: judged.bottleneck == Some(i),
            verdict,
        })
        .collect();
    JobAssessment {
        bottleneck: judged.bottleneck.map(|i| job.vertices[i].id.clone()),
        vertices,
        checkpoints: judged.checkpoints,
        state: judged.state,
    }
}

pub fn assess_task_manager(tm: &TaskManagerSnapshot, t: &Thresholds) -> Verdict {
    rules::taskmanager(tm.heap_ratio(), tm.cpu_load, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flink::snapshot::Edge;
    use pipeline_model::{Health, ReasonCode};

    fn vertex(id: &str, bp: f64, busy: f64, watermark: Option<i64>) -> VertexSnapshot {
        VertexSnapshot {
            id: id.into(),
            name: id.into(),
            backpressure: Some(bp),
            busy: Some(busy),
            watermark_ms: watermark,
            ..Default::default()
        }
    }

    fn job() -> JobSnapshot {
        JobSnapshot {
            id: "j".into(),
            name: "pipeline".into(),
            state: "RUNNING".into(),
            vertices: vec![
                vertex("src", 1.0, 0.0, None),
                vertex("slow", 0.0, 0.99, Some(9_000)),
            ],
            edges: vec![Edge {
                upstream: "src".into(),
                downstream: "slow".into(),
                ship_strategy: "REBALANCE".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_busy_vertex_below_the_backpressured_one_is_the_bottleneck() {
        let a = assess_job(&job(), None, &Thresholds::default(), 10_000);
        assert_eq!(a.state.health, Health::Ok);
        assert_eq!(a.bottleneck.as_deref(), Some("slow"));
        assert!(a.vertices[1].is_bottleneck && !a.vertices[0].is_bottleneck);
        assert_eq!(a.vertices[0].verdict.health, Health::Critical);
        assert_eq!(a.vertices[1].watermark_lag_seconds, Some(1.0));
    }

    #[test]
    fn watermark_lag_is_measured_when_the_watermark_was_read() {
        // Read 700 ms after the refresh began (a queue on a busy JobManager): 1.7 s behind then.
        let mut j = job();
        j.vertices[1].watermark_read_ms = Some(10_700);
        let a = assess_job(&j, None, &Thresholds::default(), 10_000);
        assert_eq!(a.vertices[1].watermark_lag_seconds, Some(1.7));
    }

    #[test]
    fn a_watermark_stuck_long_enough_is_critical() {
        let h = WatermarkHistory::default();
        let t = Thresholds::default();
        assess_job(&job(), Some(&h), &t, 10_000);
        let later = 10_000 + (t.watermark_stalled_seconds as i64 + 1) * 1000;
        let a = assess_job(&job(), Some(&h), &t, later);
        let slow = &a.vertices[1];
        assert_eq!(slow.trend.unwrap().advanced, Some(false));
        assert_eq!(slow.verdict.health, Health::Critical);
        assert!(
            slow.verdict.reason.contains("not advanced"),
            "{}",
            slow.verdict.reason
        );
    }

    #[test]
    fn figures_of_a_frozen_metric_store_name_no_stall_and_no_bottleneck() {
        // Flink's REST served the same figures for the whole window: its last refresh was
        // before the first reading.
        let mut frozen = job();
        for v in &mut frozen.vertices {
            v.metrics_refreshed_ms = Some(5_000);
        }
        let h = WatermarkHistory::default();
        let t = Thresholds::default();
        assess_job(&frozen, Some(&h), &t, 10_000);
        let later = 10_000 + (t.watermark_stalled_seconds as i64 + 1) * 1000;
        let a = assess_job(&frozen, Some(&h), &t, later);
        assert_eq!(a.bottleneck, None);
        for v in &a.vertices {
            assert_eq!(v.verdict.health, Health::Unknown, "{:?}", v.verdict);
            assert!(v.verdict.has(ReasonCode::MetricsStale), "{:?}", v.verdict);
        }
        // Refreshed during the request (its clock a little ahead of ours): judged as ever.
        let mut fresh = job();
        for v in &mut fresh.vertices {
            v.metrics_refreshed_ms = Some(later + 300);
        }
        let a = assess_job(&fresh, None, &t, later);
        assert_eq!(a.bottleneck.as_deref(), Some("slow"));
    }
}
