//! Why a verdict is what it is, as a code. The sentence beside it is for people and may be
//! reworded; the root-cause rules ([`crate::root_cause`]), the job judgement and the tests
//! match on these codes, never on the text.

macro_rules! reason_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $code:literal;)+) => {
        /// What a verdict says, by kind of finding. The wire name ([`ReasonCode::code`]) is what
        /// the frames carry in their `reasonCode` field and root-cause metadata.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ReasonCode {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl ReasonCode {
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant,)+];

            pub fn code(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $code,)+
                }
            }
        }
    };
}

reason_codes! {
    /// Judged and fine.
    Healthy = "healthy";
    /// Nothing to judge: no figures were available.
    NotJudged = "not-judged";
    /// The upstream (Kafka, Flink) could not be asked.
    Unreachable = "unreachable";
    /// Some of the figures are missing (one endpoint failed); the rest are judged.
    PartialData = "partial-data";
    /// A topic the pipeline names does not exist in Kafka.
    TopicMissing = "topic-missing";
    /// Partitions without a leader: reads and writes fail.
    PartitionsOffline = "partitions-offline";
    /// Partitions with a replica out of sync: one failure from data loss.
    PartitionsUnderReplicated = "partitions-under-replicated";
    /// A cluster without brokers in its metadata or without an active controller.
    ClusterDegraded = "cluster-degraded";
    /// A group's offsets could not be read (an ACL, a coordinator loading).
    GroupUnreadable = "group-unreadable";
    /// A group without committed offsets.
    GroupNoCommits = "group-no-commits";
    /// A group's lag over its threshold.
    GroupLag = "group-lag";
    /// A group's lag keeps growing.
    GroupLagGrowing = "group-lag-growing";
    /// A group's time lag over its threshold.
    GroupBehindHead = "group-behind-head";
    /// A Dead group, or an Empty one with lag left: nobody consumes.
    GroupNoConsumer = "group-no-consumer";
    /// A group rebalancing.
    GroupRebalancing = "group-rebalancing";
    /// The group's Burrow-style status over the window is WARN or ERR (STOP, STALL, REWIND).
    GroupStatus = "group-status";
    /// Partitions of the consumed topics without a committed offset.
    GroupUncommittedPartitions = "group-uncommitted-partitions";
    /// A vertex backpressured: it waits on something downstream.
    Backpressured = "backpressured";
    /// A vertex's watermark has not moved (where the stall starts).
    WatermarkStalled = "watermark-stalled";
    /// A vertex's watermark is held back by a stalled one upstream.
    WatermarkHeldUpstream = "watermark-held-upstream";
    /// A vertex's watermark far behind wall clock.
    WatermarkBehind = "watermark-behind";
    /// The job's sources read nothing: a stalled watermark is waiting for input, not stuck.
    InputIdle = "input-idle";
    /// Flink's REST metrics (backpressure, watermarks, rates) have not been refreshed for a
    /// while: its JobManager's metric fetcher waits on a query, so nothing is judged from them.
    MetricsStale = "metrics-stale";
    /// The last completed checkpoint is too old.
    CheckpointOverdue = "checkpoint-overdue";
    /// Checkpoints failed since the last completed one.
    CheckpointsFailing = "checkpoints-failing";
    /// No checkpoint completed yet (a young job, or checkpoints not enabled).
    NoCheckpointYet = "no-checkpoint-yet";
    /// The job is not RUNNING (CANCELED, FAILED, SUSPENDED, ...).
    JobNotRunning = "job-not-running";
    /// The job is RESTARTING, or RUNNING with tasks that are not.
    JobRestarting = "job-restarting";
    /// A TaskManager the job ran on was lost.
    TaskManagerLost = "taskmanager-lost";
    /// The busy vertex below backpressured ones: the cause of the backpressure.
    Bottleneck = "bottleneck";
    /// The bottleneck is a sink: it cannot write fast enough, or at all.
    SinkBlocked = "sink-blocked";
    /// A database its sink cannot write to.
    DatabaseNotAccepting = "database-not-accepting";
    /// A TaskManager's heap nearly full.
    HeapHigh = "heap-high";
    /// A TaskManager's CPU nearly saturated.
    CpuHigh = "cpu-high";
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ReasonCode::ALL {
            assert!(seen.insert(c.code()), "{c} twice");
            assert!(
                c.code()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{c}"
            );
        }
    }
}
