//! Serde shapes of the Flink REST answers this plugin reads (as a real Flink 2.3 JobManager
//! sends them). Only the fields used are declared; every field is defaulted, so a Flink version
//! that drops one degrades to "unknown" instead of failing the whole query.

use serde::{Deserialize, Deserializer};

/// A number Flink may also send as a string: Jackson writes a metric that is not there yet as
/// `"NaN"` (seen in backpressure ratios of a job that just started). Not finite is `None`.
fn lenient_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Float(f64),
        Text(String),
    }
    Ok(match Option::<Number>::deserialize(d)? {
        Some(Number::Float(v)) => Some(v),
        Some(Number::Text(t)) => t.trim().parse::<f64>().ok(),
        None => None,
    }
    .filter(|v| v.is_finite()))
}

/// `GET /jobs/overview`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobsOverview {
    pub jobs: Vec<JobOverview>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobOverview {
    pub jid: String,
    pub name: String,
    pub state: String,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    pub duration: i64,
}

/// `GET /jobs/:jid`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobDetail {
    pub jid: String,
    pub name: String,
    pub state: String,
    /// The JobManager's clock when it answered (ms); ages are computed against it.
    pub now: i64,
    pub vertices: Vec<JobVertex>,
    pub plan: Plan,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobVertex {
    pub id: String,
    pub name: String,
    pub parallelism: u32,
    pub status: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Plan {
    pub nodes: Vec<PlanNode>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlanNode {
    pub id: String,
    pub inputs: Vec<PlanInput>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlanInput {
    /// The upstream vertex.
    pub id: String,
    pub ship_strategy: String,
}

/// `GET /jobs/:jid/vertices/:vid/backpressure`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Backpressure {
    /// "ok" once sampled; "deprecated" while Flink has no numbers yet.
    pub status: String,
    pub backpressure_level: Option<String>,
    /// When the JobManager last refreshed the metrics behind this answer (epoch ms).
    #[serde(rename = "end-timestamp", deserialize_with = "lenient_number")]
    pub end_timestamp: Option<f64>,
    pub subtasks: Vec<SubtaskBackpressure>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SubtaskBackpressure {
    pub subtask: u32,
    pub backpressure_level: Option<String>,
    #[serde(deserialize_with = "lenient_number")]
    pub ratio: Option<f64>,
    #[serde(deserialize_with = "lenient_number")]
    pub busy_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient_number")]
    pub idle_ratio: Option<f64>,
}

/// One entry of a metrics answer: `[{"id": "...", "value": "..."}]` (values are strings).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MetricValue {
    pub id: String,
    pub value: Option<String>,
}

/// One entry of an aggregated metrics answer (`?agg=sum`): `[{"id": "...", "sum": 1.0}]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AggregatedMetric {
    pub id: String,
    #[serde(deserialize_with = "lenient_number")]
    pub sum: Option<f64>,
}

/// `GET /jobs/:jid/checkpoints`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Checkpoints {
    pub counts: CheckpointCounts,
    pub latest: LatestCheckpoints,
    pub history: Vec<CheckpointEntry>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CheckpointCounts {
    pub completed: u64,
    pub failed: u64,
    pub in_progress: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LatestCheckpoints {
    pub completed: Option<CheckpointEntry>,
    pub failed: Option<CheckpointEntry>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CheckpointEntry {
    pub id: u64,
    pub status: String,
    pub trigger_timestamp: i64,
    pub latest_ack_timestamp: i64,
    pub end_to_end_duration: i64,
    pub state_size: i64,
    pub failure_timestamp: Option<i64>,
    pub failure_message: Option<String>,
}

/// `GET /taskmanagers`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TaskManagers {
    pub taskmanagers: Vec<TaskManagerInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskManagerInfo {
    pub id: String,
    pub slots_number: u32,
    pub free_slots: u32,
}

/// `GET /jobs/:jid/exceptions`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Exceptions {
    pub exception_history: ExceptionHistory,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ExceptionHistory {
    pub entries: Vec<ExceptionEntry>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExceptionEntry {
    pub exception_name: String,
    pub stacktrace: String,
    pub timestamp: i64,
    pub task_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_backpressure_answer_decodes() {
        let text = r#"{"status":"ok","backpressureLevel":"high","end-timestamp":1,
            "subtasks":[{"subtask":0,"backpressureLevel":"high","ratio":1.0,"idleRatio":0.001,
            "busyRatio":0.0,"backpressure-level":"high"}],"backpressure-level":"high"}"#;
        let b: Backpressure = serde_json::from_str(text).unwrap();
        assert_eq!(b.backpressure_level.as_deref(), Some("high"));
        assert_eq!(b.subtasks[0].ratio, Some(1.0));
        assert_eq!(b.subtasks[0].busy_ratio, Some(0.0));
        // A vertex whose metrics are not there yet: Flink writes NaN as a string.
        let raw = r#"{"status":"ok","backpressureLevel":"ok","subtasks":[{"subtask":0,
            "ratio":0.0,"idleRatio":"NaN","busyRatio":"NaN"},{"subtask":1,"ratio":"0.25"}]}"#;
        let b: Backpressure = serde_json::from_str(raw).unwrap();
        assert_eq!(b.subtasks[0].busy_ratio, None);
        assert_eq!(b.subtasks[0].idle_ratio, None);
        assert_eq!(b.subtasks[0].ratio, Some(0.0));
        assert_eq!(b.subtasks[1].ratio, Some(0.25));
        assert_eq!(b.subtasks[1].busy_ratio, None);
    }

    #[test]
    fn a_real_plan_gives_edges_with_ship_strategy() {
        let text = r#"{"jid":"j","name":"p","state":"RUNNING","now":5,"vertices":[
            {"id":"a","name":"Source: clicks -> enrich","parallelism":2,"status":"RUNNING"}],
            "plan":{"nodes":[{"id":"b","inputs":[{"id":"a","num":0,"exchange":"pipelined_bounded",
            "ship_strategy":"REBALANCE"}]},{"id":"a"}]}}"#;
        let d: JobDetail = serde_json::from_str(text).unwrap();
        assert_eq!(d.plan.nodes[0].inputs[0].id, "a");
        assert_eq!(d.plan.nodes[0].inputs[0].ship_strategy, "REBALANCE");
        assert!(d.plan.nodes[1].inputs.is_empty());
    }

    #[test]
    fn checkpoints_without_any_completed_decode() {
        let text = r#"{"counts":{"completed":0,"failed":3,"in_progress":1},
            "latest":{"completed":null,"failed":{"id":3,"status":"FAILED","trigger_timestamp":10,
            "failure_timestamp":20,"failure_message":"Checkpoint expired before completing."}},
            "history":[{"id":3,"status":"FAILED"}]}"#;
        let c: Checkpoints = serde_json::from_str(text).unwrap();
        assert!(c.latest.completed.is_none());
        assert_eq!(c.counts.failed, 3);
        assert_eq!(
            c.latest.failed.unwrap().failure_message.as_deref(),
            Some("Checkpoint expired before completing.")
        );
    }
}
