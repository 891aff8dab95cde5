//! Verdicts on a Flink snapshot: the bottleneck and each vertex's, checkpoint's and
//! TaskManager's health, from the shared rules in `pipeline_model` (no network here).

use pipeline_model::bottleneck::{self, Load};
use pipeline_model::rules::{self, Verdict, VertexFacts};
use pipeline_model::Thresholds;

use super::snapshot::{JobSnapshot, TaskManagerSnapshot};
use super::watermark_history::{WatermarkHistory, WatermarkTrend};

#[derive(Debug, Clone)]
pub struct VertexAssessment {
    /// Watermark lag behind wall clock (s), when the vertex has a watermark.
    pub watermark_lag_seconds: Option<f64>,
    /// Movement since the previous reading; `None` without history or without a watermark.
    pub trend: Option<WatermarkTrend>,
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
}

/// Judge one job. With `history`, watermark readings are recorded there (so call it once per
/// refresh for queries that report watermark movement, and without history otherwise).
pub fn assess_job(
    job: &JobSnapshot,
    history: Option<&WatermarkHistory>,
    t: &Thresholds,
    now_ms: i64,
) -> JobAssessment {
    let loads: Vec<Load> = job
        .vertices
        .iter()
        .map(|v| Load {
            id: &v.id,
            backpressure: v.backpressure,
            busy: v.busy,
        })
        .collect();
    let edges: Vec<(&str, &str)> = job
        .edges
        .iter()
        .map(|e| (e.upstream.as_str(), e.downstream.as_str()))
        .collect();
    let bottleneck = bottleneck::find(&loads, &edges, t).map(str::to_string);
    let vertices = job
        .vertices
        .iter()
        .map(|v| {
            let lag = v.watermark_ms.map(|w| (now_ms - w).max(0) as f64 / 1000.0);
            let trend = match (history, v.watermark_ms) {
                (Some(h), Some(w)) => Some(h.observe(&job.id, &v.id, w, now_ms)),
                _ => None,
            };
            let facts = VertexFacts {
                backpressure: v.backpressure,
                busy: v.busy,
                watermark_lag_seconds: lag,
                watermark_stalled_seconds: trend.map(|t| t.stalled_seconds),
            };
            VertexAssessment {
                watermark_lag_seconds: lag,
                trend,
                is_bottleneck: bottleneck.as_deref() == Some(v.id.as_str()),
                verdict: rules::vertex(&facts, t),
            }
        })
        .collect();
    let checkpoints = match &job.checkpoints {
        Some(c) => rules::checkpoints(
            c.last_completed.as_ref().map(|l| l.age_seconds),
            c.failed_since_last_completed,
            t,
        ),
        None => Verdict::unknown("checkpoints not read"),
    };
    JobAssessment {
        bottleneck,
        vertices,
        checkpoints,
    }
}

pub fn assess_task_manager(tm: &TaskManagerSnapshot, t: &Thresholds) -> Verdict {
    rules::taskmanager(tm.heap_ratio(), tm.cpu_load, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flink::snapshot::{Edge, VertexSnapshot};
    use pipeline_model::Health;

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
        assert_eq!(a.bottleneck.as_deref(), Some("slow"));
        assert!(a.vertices[1].is_bottleneck && !a.vertices[0].is_bottleneck);
        assert_eq!(a.vertices[0].verdict.health, Health::Critical);
        assert_eq!(a.vertices[1].watermark_lag_seconds, Some(1.0));
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
}
