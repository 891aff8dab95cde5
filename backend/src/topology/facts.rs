//! What the topology is built from: the facts gathered from Kafka and Flink in one refresh,
//! in a shape independent of how they were fetched. A source that could not be asked leaves
//! its facts empty and says why in `unreachable`, so the rest of the graph still renders.

use pipeline_model::rules::{GroupFacts, VertexFacts};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct KafkaFacts {
    pub topics: Vec<TopicFacts>,
    pub groups: Vec<ConsumerGroupFacts>,
    /// Why Kafka could not be asked (a bad setting, unreachable, timed out).
    pub unreachable: Option<String>,
    /// Why the consumer groups could not be read while the topics could (their lag snapshot
    /// failed or ran out of time).
    pub groups_unknown: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicFacts {
    pub name: String,
    pub partitions: u64,
    pub under_replicated: u64,
    pub offline: u64,
    /// Brokers holding a replica of it outside the in-sync set.
    pub out_of_sync: Vec<i32>,
    /// Messages per second produced, when sampled.
    pub produce_rate: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsumerGroupFacts {
    pub name: String,
    /// Topics the group has committed offsets for.
    pub topics: Vec<String>,
    pub facts: GroupFacts,
    pub drain_seconds: Option<f64>,
    /// Records per second the group commits past, summed over its topics, when sampled.
    pub consume_rate: Option<f64>,
    /// Each topic's produce rate as the group's sampled window saw it (the topic's own).
    pub topic_produce_rates: Vec<(String, f64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlinkFacts {
    pub jobs: Vec<JobFacts>,
    pub unreachable: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFacts {
    pub id: String,
    pub name: String,
    pub state: String,
    /// When the job started (ms since the epoch): of two jobs with one name, the later.
    pub start_time_ms: i64,
    pub vertices: Vec<FlinkVertexFacts>,
    /// (upstream vertex id, downstream vertex id, ship strategy)
    pub edges: Vec<(String, String, String)>,
    pub checkpoint_age_seconds: Option<f64>,
    pub checkpoints_failed_since_completed: u64,
    /// Why parts of this job's facts are missing (a vertex endpoint failed, ...).
    pub partial: Option<String>,
    /// The job's last exception (first line), which names a lost TaskManager.
    pub last_exception: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlinkVertexFacts {
    pub id: String,
    pub name: String,
    pub parallelism: u32,
    /// Flink's execution state of the vertex (RUNNING, SCHEDULED, ...), when read.
    pub status: Option<String>,
    pub facts: VertexFacts,
    pub records_in_per_second: Option<f64>,
    pub records_out_per_second: Option<f64>,
}
