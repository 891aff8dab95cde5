//! What the Flink REST answers mean: the job graph's edges, a vertex's backpressure and
//! watermark, a job's checkpoint facts and its last exception.

use super::{
    CheckpointFacts, CompletedCheckpoint, Edge, SubtaskLoad, TaskManagerSnapshot, VertexSnapshot,
};
use crate::flink::model;

/// Flink's `Long.MIN_VALUE` watermark: the vertex has not received a watermark yet.
const NO_WATERMARK: i64 = i64::MIN;

/// The longest exception text kept (the first line of the stack trace usually says enough).
const MAX_EXCEPTION_CHARS: usize = 300;

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
    vertex.metrics_refreshed_ms = b.end_timestamp.map(|t| t as i64);
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

pub(super) fn last_exception(e: &model::Exceptions) -> Option<String> {
    let entry = e.exception_history.entries.first()?;
    let first_line = entry
        .stacktrace
        .lines()
        .next()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or(&entry.exception_name);
    Some(first_line.chars().take(MAX_EXCEPTION_CHARS).collect())
}

/// `GET /taskmanagers`: each TaskManager and its slots (its metrics come in round 2).
pub fn task_managers_of(list: model::TaskManagers) -> Vec<TaskManagerSnapshot> {
    list.taskmanagers
        .into_iter()
        .map(|t| TaskManagerSnapshot {
            id: t.id,
            slots: t.slots_number,
            free_slots: t.free_slots,
            ..Default::default()
        })
        .collect()
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
        assert_eq!(v.metrics_refreshed_ms, None);
        let b: model::Backpressure = serde_json::from_value(serde_json::json!({
            "status": "ok", "end-timestamp": 1_796_360_157_917_i64, "subtasks": []
        }))
        .unwrap();
        apply_backpressure(&mut v, &b);
        assert_eq!(v.metrics_refreshed_ms, Some(1_796_360_157_917));
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
}
