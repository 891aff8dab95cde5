//! The operators' health rules, one function per thing judged. Each returns a [`Verdict`]: the
//! health and a reason a person can act on. Pure: the backend feeds them what it measured, the
//! panel and the terminal check show what they say.
//!
//! The rules, in short (each limit is a field of [`Thresholds`]; a value at a limit is already
//! over it, see [`Health::grade`]):
//! - a topic is critical with an offline partition, warning with an under-replicated one;
//! - a consumer group is graded by its lag and its time lag; lag that keeps growing is a warning
//!   whatever its size; a Dead group, or an Empty one with lag left (unless it only commits
//!   offsets), is critical; a rebalance or a partition without a commit is a warning; its
//!   Burrow-style status over the sampled window ([`crate::consumer_status`]) counts as it says;
//! - a Flink vertex is graded by its backpressure and its watermark lag; a watermark stalled
//!   for `watermark_stalled_seconds` is critical; figures Flink last refreshed more than
//!   [`FLINK_METRICS_STALE_SECONDS`] ago are not graded at all (unknown);
//! - a job's last completed checkpoint older than `checkpoint_age_factor` expected intervals is
//!   critical, checkpoints failed since it a warning;
//! - a TaskManager is graded by its heap and its CPU load;
//! - what could not be looked at is unknown, never ok.

use crate::consumer_status::{GroupStatus, GroupVerdict};
use crate::{Health, ReasonCode, Thresholds};

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub health: Health,
    pub reason: String,
    /// What the reason says, as codes: one per finding at this verdict's level.
    pub codes: Vec<ReasonCode>,
}

impl Verdict {
    pub fn new(health: Health, code: ReasonCode, reason: impl Into<String>) -> Verdict {
        Verdict {
            health,
            reason: reason.into(),
            codes: vec![code],
        }
    }

    pub fn ok(reason: impl Into<String>) -> Verdict {
        Verdict::new(Health::Ok, ReasonCode::Healthy, reason)
    }

    pub fn unknown(code: ReasonCode, reason: impl Into<String>) -> Verdict {
        Verdict::new(Health::Unknown, code, reason)
    }

    pub fn has(&self, code: ReasonCode) -> bool {
        self.codes.contains(&code)
    }

    /// The worst of several verdicts; its reason is every reason at that level, joined, and its
    /// codes theirs. With nothing judged, the result is `Unknown` (`NotJudged`) with
    /// `empty_reason`.
    pub fn worst(verdicts: impl IntoIterator<Item = Verdict>, empty_reason: &str) -> Verdict {
        let all: Vec<Verdict> = verdicts.into_iter().collect();
        let Some(health) = all.iter().map(|v| v.health).max() else {
            return Verdict::unknown(ReasonCode::NotJudged, empty_reason);
        };
        let at_worst = || all.iter().filter(|v| v.health == health);
        let reasons: Vec<&str> = at_worst()
            .filter(|v| !v.reason.is_empty())
            .map(|v| v.reason.as_str())
            .collect();
        let mut codes: Vec<ReasonCode> = Vec::new();
        for c in at_worst().flat_map(|v| v.codes.iter().copied()) {
            if !codes.contains(&c) {
                codes.push(c);
            }
        }
        Verdict {
            health,
            reason: reasons.join("; "),
            codes,
        }
    }
}

/// A Kafka topic: offline partitions lose data, under-replicated ones are one failure from it.
/// `out_of_sync` are the brokers that hold a replica outside the in-sync set (a stopped broker).
pub fn topic(under_replicated: u64, offline: u64, out_of_sync: &[i32]) -> Verdict {
    let brokers = match out_of_sync {
        [] => String::new(),
        [one] => format!("; broker {one} is out of sync"),
        many => {
            let ids: Vec<String> = many.iter().map(i32::to_string).collect();
            format!("; brokers {} are out of sync", ids.join(", "))
        }
    };
    if offline > 0 {
        Verdict::new(
            Health::Critical,
            ReasonCode::PartitionsOffline,
            format!("{offline} offline partition(s): no leader, reads and writes fail{brokers}"),
        )
    } else if under_replicated > 0 {
        Verdict::new(
            Health::Warning,
            ReasonCode::PartitionsUnderReplicated,
            format!("{under_replicated} under-replicated partition(s){brokers}"),
        )
    } else {
        Verdict::ok("all partitions replicated")
    }
}

/// What is known about one consumer group's position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupFacts {
    /// Messages behind the log end, summed over the partitions that have a commit.
    pub lag: Option<f64>,
    /// Seconds behind the head.
    pub time_lag_seconds: Option<f64>,
    /// Whether lag grew over the sampled window.
    pub lag_growing: Option<bool>,
    /// Group state as Kafka names it (Stable, Empty, PreparingRebalance, CompletingRebalance, Dead).
    pub state: Option<String>,
    pub members: Option<u32>,
    /// The group only commits offsets and never had members (Kafka's "simple consumer group",
    /// as Flink's Kafka source commits): Empty is its normal state. `None` when unknown.
    pub offsets_only: Option<bool>,
    /// Partitions of the consumed topics that have no committed offset.
    pub partitions_without_commit: u64,
    /// Burrow-grade status over the sampled window (OK, WARN or ERR), when judged.
    pub consumer_status: Option<GroupVerdict>,
    /// Why the group's offsets could not be read (an ACL, a coordinator loading): then
    /// nothing else about it is known.
    pub read_error: Option<String>,
}

pub fn consumer_group(f: &GroupFacts, t: &Thresholds) -> Verdict {
    if let Some(e) = &f.read_error {
        return Verdict::unknown(ReasonCode::GroupUnreadable, e.clone());
    }
    let mut verdicts = Vec::new();
    // Two samples' rates see a committing consumer's sawtooth as growth by luck; once the
    // commit-by-commit status judges the group, its WARN is the one word on growth.
    let lag_growing = f.lag_growing.filter(|_| f.consumer_status.is_none());
    if let Some(lag) = f.lag {
        let h = Health::grade(lag, t.lag_warning, t.lag_critical);
        let growing = if lag_growing == Some(true) {
            " and growing"
        } else {
            ""
        };
        verdicts.push(match h {
            Health::Ok => Verdict::ok(format!("lag {lag:.0} messages")),
            _ => Verdict::new(
                h,
                ReasonCode::GroupLag,
                format!(
                    "lag {lag:.0} messages{growing} (threshold {:.0})",
                    threshold_for(h, t.lag_warning, t.lag_critical)
                ),
            ),
        });
        // Lag that keeps growing is the operators' "not keeping up", whatever its size.
        if h == Health::Ok && lag_growing == Some(true) && lag > 0.0 {
            verdicts.push(Verdict::new(
                Health::Warning,
                ReasonCode::GroupLagGrowing,
                format!("lag {lag:.0} messages and growing"),
            ));
        }
    }
    if let Some(s) = f.time_lag_seconds {
        let h = Health::grade(s, t.time_lag_warning_seconds, t.time_lag_critical_seconds);
        if h != Health::Ok {
            verdicts.push(Verdict::new(
                h,
                ReasonCode::GroupBehindHead,
                format!("{s:.0} s behind the head"),
            ));
        }
    }
    match f.state.as_deref() {
        Some("Dead") => verdicts.push(Verdict::new(
            Health::Critical,
            ReasonCode::GroupNoConsumer,
            "group is Dead: nobody consumes",
        )),
        // A group that only commits is always Empty: its lag says how it is doing.
        Some("Empty") if f.lag.unwrap_or(0.0) > 0.0 && f.offsets_only != Some(true) => verdicts
            .push(Verdict::new(
                Health::Critical,
                ReasonCode::GroupNoConsumer,
                "group is Empty while lag remains: no consumer is running",
            )),
        Some(s) if s.contains("Rebalance") => verdicts.push(Verdict::new(
            Health::Warning,
            ReasonCode::GroupRebalancing,
            format!("group is rebalancing ({s})"),
        )),
        _ => {}
    }
    if let Some(s) = f
        .consumer_status
        .as_ref()
        .filter(|s| s.status != GroupStatus::Ok)
    {
        verdicts.push(Verdict::new(
            s.status.health(),
            ReasonCode::GroupStatus,
            s.reason.clone(),
        ));
    }
    if f.partitions_without_commit > 0 {
        verdicts.push(Verdict::new(
            Health::Warning,
            ReasonCode::GroupUncommittedPartitions,
            format!(
                "{} partition(s) without a committed offset",
                f.partitions_without_commit
            ),
        ));
    }
    Verdict::worst(verdicts, "no committed offsets known for this group")
}

fn threshold_for(h: Health, warning: f64, critical: f64) -> f64 {
    if h == Health::Critical {
        critical
    } else {
        warning
    }
}

/// What is known about one Flink vertex.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VertexFacts {
    /// Backpressured ratio, the maximum over subtasks (0..1).
    pub backpressure: Option<f64>,
    /// Busy ratio, the maximum over subtasks (0..1).
    pub busy: Option<f64>,
    /// Seconds the vertex's minimum input watermark is behind wall clock.
    pub watermark_lag_seconds: Option<f64>,
    /// Seconds the watermark has not moved.
    pub watermark_stalled_seconds: Option<f64>,
    /// How old Flink's REST metrics were when read (the backpressure answer's `end-timestamp`):
    /// the time since the JobManager last refreshed its metric store.
    pub metrics_age_seconds: Option<f64>,
}

/// Flink refreshes the metrics its REST API serves at most every `metrics.fetcher.update-interval`
/// (10 s by default) while someone asks. Older than this, the refresh is stuck: the JobManager
/// waits on a metric query to a TaskManager that will never answer (one lost while asked) for
/// up to `web.timeout` (10 min by default), and meanwhile serves the last figures unchanged, so a
/// frozen watermark would read as a stalled job.
pub const FLINK_METRICS_STALE_SECONDS: f64 = 30.0;

impl VertexFacts {
    /// The age of the figures when Flink stopped refreshing them, else `None`.
    pub fn stale_for(&self) -> Option<f64> {
        self.metrics_age_seconds
            .filter(|a| *a > FLINK_METRICS_STALE_SECONDS)
    }
}

pub fn vertex(f: &VertexFacts, t: &Thresholds) -> Verdict {
    if let Some(age) = f.stale_for() {
        return Verdict::unknown(
            ReasonCode::MetricsStale,
            format!(
                "Flink's metrics for this vertex are {age:.0} s old: its JobManager's metric \
                 fetcher is stuck (after a lost TaskManager it can wait out web.timeout, 10 min \
                 by default); backpressure and watermarks not judged"
            ),
        );
    }
    let mut verdicts = Vec::new();
    if let Some(bp) = f.backpressure {
        let h = Health::grade(bp, t.backpressure_warning, t.backpressure_critical);
        verdicts.push(if h == Health::Ok {
            Verdict::ok(format!("backpressure {:.0} %", bp * 100.0))
        } else {
            Verdict::new(
                h,
                ReasonCode::Backpressured,
                format!("backpressured {:.0} % of the time", bp * 100.0),
            )
        });
    }
    if let Some(stalled) = f.watermark_stalled_seconds {
        if stalled >= t.watermark_stalled_seconds {
            verdicts.push(Verdict::new(
                Health::Critical,
                ReasonCode::WatermarkStalled,
                format!("watermark has not advanced for {stalled:.0} s"),
            ));
        }
    }
    if let Some(lag) = f.watermark_lag_seconds {
        let h = Health::grade(
            lag,
            t.watermark_lag_warning_seconds,
            t.watermark_lag_critical_seconds,
        );
        if h != Health::Ok {
            verdicts.push(Verdict::new(
                h,
                ReasonCode::WatermarkBehind,
                format!("watermark {lag:.0} s behind wall clock"),
            ));
        }
    }
    Verdict::worst(
        verdicts,
        "Flink serves no backpressure or watermarks for this vertex (none yet, or its \
         JobManager's metric fetcher is stuck)",
    )
}

/// Checkpoints of a job: the last completed one must be younger than N expected intervals.
pub fn checkpoints(
    last_completed_age_seconds: Option<f64>,
    failed_since_last_completed: u64,
    t: &Thresholds,
) -> Verdict {
    let limit = t.checkpoint_interval_seconds * t.checkpoint_age_factor;
    match last_completed_age_seconds {
        None if failed_since_last_completed > 0 => Verdict::new(
            Health::Critical,
            ReasonCode::CheckpointsFailing,
            format!("no checkpoint completed; {failed_since_last_completed} failed"),
        ),
        None => Verdict::unknown(ReasonCode::NoCheckpointYet, "no checkpoint completed yet"),
        Some(age) if age > limit => Verdict::new(
            Health::Critical,
            ReasonCode::CheckpointOverdue,
            format!("last completed checkpoint {age:.0} s ago (limit {limit:.0} s = {} x {:.0} s)", t.checkpoint_age_factor, t.checkpoint_interval_seconds),
        ),
        Some(age) if failed_since_last_completed > 0 => Verdict::new(
            Health::Warning,
            ReasonCode::CheckpointsFailing,
            format!("{failed_since_last_completed} checkpoint(s) failed since the last completed one ({age:.0} s ago)"),
        ),
        Some(age) => Verdict::ok(format!("last checkpoint {age:.0} s ago")),
    }
}

/// A database the pipeline writes to is not observed directly; it is judged by the verdict of
/// the sink that writes to it. A sink that is the bottleneck (busy while its upstream is
/// backpressured) cannot write there: critical. A healthy sink writes: ok. A sink of a job that
/// does not run writes nothing, and anything else says nothing about the database: unknown.
pub fn database(writer: &str, sink: &Verdict) -> Verdict {
    if sink.has(ReasonCode::SinkBlocked) {
        Verdict::new(
            Health::Critical,
            ReasonCode::DatabaseNotAccepting,
            format!(
                "does not take the writes of {writer} fast enough (the sink is the bottleneck)"
            ),
        )
    } else if sink.health == Health::Ok {
        Verdict::ok(format!("takes the writes of {writer}"))
    } else if sink.has(ReasonCode::JobNotRunning) || sink.has(ReasonCode::JobRestarting) {
        Verdict::unknown(
            ReasonCode::NotJudged,
            format!("not written: {}", sink.reason),
        )
    } else {
        Verdict::unknown(
            ReasonCode::NotJudged,
            format!(
                "not observed directly; its writer {writer} is {}",
                sink.health
            ),
        )
    }
}

/// A TaskManager: heap used/max and CPU load, both 0..1.
pub fn taskmanager(heap_ratio: Option<f64>, cpu_load: Option<f64>, t: &Thresholds) -> Verdict {
    let mut verdicts = Vec::new();
    if let Some(h) = heap_ratio {
        let g = Health::grade(h, t.heap_warning, t.heap_critical);
        verdicts.push(Verdict::new(
            g,
            if g == Health::Ok {
                ReasonCode::Healthy
            } else {
                ReasonCode::HeapHigh
            },
            format!("heap {:.0} % used", h * 100.0),
        ));
    }
    if let Some(c) = cpu_load {
        let g = Health::grade(c, t.cpu_warning, t.cpu_critical);
        verdicts.push(Verdict::new(
            g,
            if g == Health::Ok {
                ReasonCode::Healthy
            } else {
                ReasonCode::CpuHigh
            },
            format!("CPU {:.0} %", c * 100.0),
        ));
    }
    Verdict::worst(verdicts, "no heap or CPU figures")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Thresholds {
        Thresholds::default()
    }

    #[test]
    fn topic_offline_beats_under_replicated() {
        assert_eq!(topic(0, 0, &[]).health, Health::Ok);
        let v = topic(2, 0, &[3]);
        assert_eq!(v.health, Health::Warning);
        assert_eq!(
            v.reason,
            "2 under-replicated partition(s); broker 3 is out of sync"
        );
        let v = topic(2, 1, &[2, 3]);
        assert_eq!(v.health, Health::Critical);
        assert!(v.reason.contains("1 offline"), "{}", v.reason);
    }

    #[test]
    fn group_lag_is_graded_and_growth_noticed() {
        let mut f = GroupFacts {
            lag: Some(50_000.0),
            ..Default::default()
        };
        assert_eq!(consumer_group(&f, &t()).health, Health::Critical);
        f.lag = Some(10.0);
        assert_eq!(consumer_group(&f, &t()).health, Health::Ok);
        f.lag_growing = Some(true);
        let v = consumer_group(&f, &t());
        assert_eq!(v.health, Health::Warning);
        assert!(v.reason.contains("growing"), "{}", v.reason);
        // Judged commit by commit, the group's own status speaks for growth instead.
        f.consumer_status = Some(GroupVerdict {
            status: GroupStatus::Ok,
            reason: "every partition keeps up".into(),
        });
        assert_eq!(consumer_group(&f, &t()).health, Health::Ok);
        f.consumer_status = Some(GroupVerdict {
            status: GroupStatus::Warn,
            reason: "WARN on 1 partition(s)".into(),
        });
        assert_eq!(consumer_group(&f, &t()).health, Health::Warning);
    }

    #[test]
    fn empty_group_with_lag_is_critical_and_missing_commits_are_said() {
        let f = GroupFacts {
            lag: Some(5.0),
            state: Some("Empty".into()),
            ..Default::default()
        };
        assert_eq!(consumer_group(&f, &t()).health, Health::Critical);
        // A group that only commits offsets (Flink's Kafka source) is Empty while it runs.
        let f = GroupFacts {
            offsets_only: Some(true),
            ..f
        };
        let v = consumer_group(&f, &t());
        assert_eq!(v.health, Health::Ok, "{}", v.reason);
        assert_eq!(v.reason, "lag 5 messages");
        let f = GroupFacts {
            partitions_without_commit: 3,
            ..Default::default()
        };
        let v = consumer_group(&f, &t());
        assert_eq!(v.health, Health::Warning);
        assert!(v
            .reason
            .contains("3 partition(s) without a committed offset"));
        assert_eq!(
            consumer_group(&GroupFacts::default(), &t()).health,
            Health::Unknown
        );
    }

    #[test]
    fn vertex_backpressure_at_80_percent_is_critical() {
        let v = vertex(
            &VertexFacts {
                backpressure: Some(0.8),
                ..Default::default()
            },
            &t(),
        );
        assert_eq!(v.health, Health::Critical);
        let v = vertex(
            &VertexFacts {
                backpressure: Some(0.1),
                ..Default::default()
            },
            &t(),
        );
        assert_eq!(v.health, Health::Ok);
    }

    #[test]
    fn stalled_watermark_is_critical() {
        let f = VertexFacts {
            backpressure: Some(0.0),
            watermark_stalled_seconds: Some(600.0),
            ..Default::default()
        };
        let v = vertex(&f, &t());
        assert_eq!(v.health, Health::Critical);
        assert!(v.reason.contains("not advanced"), "{}", v.reason);
    }

    #[test]
    fn figures_flink_stopped_refreshing_are_not_judged() {
        // A frozen metric store: the watermark reads as stalled and the backpressure as high,
        // but neither is a fact about the job now.
        let frozen = |age: f64| VertexFacts {
            backpressure: Some(0.95),
            watermark_stalled_seconds: Some(600.0),
            metrics_age_seconds: Some(age),
            ..Default::default()
        };
        let v = vertex(&frozen(FLINK_METRICS_STALE_SECONDS + 1.0), &t());
        assert_eq!(v.health, Health::Unknown);
        assert!(v.has(ReasonCode::MetricsStale), "{v:?}");
        assert!(!v.has(ReasonCode::WatermarkStalled), "{v:?}");
        assert!(v.reason.contains("31 s old"), "{}", v.reason);
        assert!(v.reason.contains("web.timeout"), "{}", v.reason);
        // Fresh figures (the usual refresh lag of a second or two) are judged as ever.
        let v = vertex(&frozen(2.0), &t());
        assert_eq!(v.health, Health::Critical);
        assert!(v.has(ReasonCode::WatermarkStalled), "{v:?}");
    }

    #[test]
    fn old_checkpoint_is_critical_against_the_interval() {
        let th = Thresholds {
            checkpoint_interval_seconds: 10.0,
            ..t()
        };
        assert_eq!(checkpoints(Some(5.0), 0, &th).health, Health::Ok);
        assert_eq!(checkpoints(Some(5.0), 2, &th).health, Health::Warning);
        let v = checkpoints(Some(31.0), 0, &th);
        assert_eq!(v.health, Health::Critical);
        assert!(v.reason.contains("31 s ago"), "{}", v.reason);
        assert_eq!(checkpoints(None, 0, &th).health, Health::Unknown);
        assert_eq!(checkpoints(None, 1, &th).health, Health::Critical);
    }

    #[test]
    fn worst_joins_reasons_at_the_worst_level() {
        let v = Verdict::worst(
            [
                Verdict::ok("a"),
                Verdict::new(Health::Warning, ReasonCode::GroupLag, "b"),
                Verdict::new(Health::Warning, ReasonCode::Backpressured, "c"),
            ],
            "none",
        );
        assert_eq!(v.health, Health::Warning);
        assert_eq!(v.reason, "b; c");
        assert_eq!(
            v.codes,
            vec![ReasonCode::GroupLag, ReasonCode::Backpressured]
        );
        assert_eq!(
            Verdict::worst([], "none"),
            Verdict::unknown(ReasonCode::NotJudged, "none")
        );
    }

    #[test]
    fn a_database_is_judged_by_its_sink() {
        let mut blocked = Verdict::new(Health::Critical, ReasonCode::Bottleneck, "bottleneck");
        blocked.codes.push(ReasonCode::SinkBlocked);
        let v = database("Sink: pg", &blocked);
        assert_eq!(
            (v.health, v.codes),
            (Health::Critical, vec![ReasonCode::DatabaseNotAccepting])
        );
        assert_eq!(
            database("Sink: pg", &Verdict::ok("fine")).health,
            Health::Ok
        );
        let stopped = Verdict::new(
            Health::Critical,
            ReasonCode::JobNotRunning,
            "job j is FAILED",
        );
        let v = database("Sink: pg", &stopped);
        assert_eq!(
            (v.health, v.reason.as_str()),
            (Health::Unknown, "not written: job j is FAILED")
        );
        let overdue = Verdict::new(Health::Critical, ReasonCode::CheckpointOverdue, "old");
        assert_eq!(database("Sink: pg", &overdue).health, Health::Unknown);
    }

    #[test]
    fn taskmanager_heap_and_cpu() {
        assert_eq!(
            taskmanager(Some(0.97), Some(0.1), &t()).health,
            Health::Critical
        );
        assert_eq!(taskmanager(Some(0.5), Some(0.1), &t()).health, Health::Ok);
    }
}
