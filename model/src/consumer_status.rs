//! Burrow-style status of a consumer group, judged partition by partition over a short history
//! of sampled offsets. Burrow sees every commit with its timestamp; we only see what OffsetFetch
//! returns when a snapshot is taken. So "a commit arrived" here means "the committed offset moved
//! between two samples", and whether anyone still consumes comes from group membership.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::Health;

/// One observation of one partition of one group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetSample {
    /// When we observed it (seconds since the Unix epoch), not when it was committed.
    pub at: f64,
    /// A real commit: partitions without one (OffsetFetch's -1) are not sampled.
    pub committed: i64,
    pub log_end: i64,
}

impl OffsetSample {
    /// Messages behind the log end; never negative, as the two reads are not atomic.
    pub fn lag(&self) -> i64 {
        self.log_end.saturating_sub(self.committed).max(0)
    }
}

/// A partition's verdict, in Burrow's vocabulary. Ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PartitionStatus {
    Ok,
    Warn,
    Stall,
    Stop,
    Rewind,
}

impl PartitionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionStatus::Ok => "OK",
            PartitionStatus::Warn => "WARN",
            PartitionStatus::Stall => "STALL",
            PartitionStatus::Stop => "STOP",
            PartitionStatus::Rewind => "REWIND",
        }
    }

    /// A consumer that does not progress loses freshness without bound, hence critical.
    pub fn health(self) -> Health {
        match self {
            PartitionStatus::Ok => Health::Ok,
            PartitionStatus::Warn => Health::Warning,
            _ => Health::Critical,
        }
    }
}

/// A group's verdict: Burrow folds every partition error into ERR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum GroupStatus {
    Ok,
    Warn,
    Err,
}

impl GroupStatus {
    /// The worst of the partitions' statuses; `Ok` for a group with none.
    pub fn combine(partitions: impl IntoIterator<Item = PartitionStatus>) -> GroupStatus {
        let of = |p| match p {
            PartitionStatus::Ok => GroupStatus::Ok,
            PartitionStatus::Warn => GroupStatus::Warn,
            _ => GroupStatus::Err,
        };
        let worst = partitions.into_iter().map(of).max();
        worst.unwrap_or(GroupStatus::Ok)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupStatus::Ok => "OK",
            GroupStatus::Warn => "WARN",
            GroupStatus::Err => "ERR",
        }
    }

    pub fn health(self) -> Health {
        match self {
            GroupStatus::Ok => Health::Ok,
            GroupStatus::Warn => Health::Warning,
            GroupStatus::Err => Health::Critical,
        }
    }
}

/// A group's status and the sentence that explains it (its worst partitions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupVerdict {
    pub status: GroupStatus,
    pub reason: String,
}

/// How much history a verdict needs. Burrow judges its last N commits; our samples arrive at
/// the refresh rate instead, so we ask for a span of time and a number of samples within it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusWindow {
    /// Samples needed in the window, counting the one that opens it.
    pub min_samples: usize,
    /// How far back the window reaches. Must exceed the slowest commit interval watched (a Flink
    /// job's checkpoint interval), or a healthy group looks stopped between two commits.
    pub span_seconds: f64,
}

/// Five minutes hold five of the one-minute checkpoints our thresholds assume, so a group that
/// commits on checkpoints moves several times per window. Six samples, because lag that merely
/// jitters comes out never falling by chance in about one window of 720 (1/6!); with three it
/// would warn in one of six.
pub const DEFAULT_WINDOW: StatusWindow = StatusWindow {
    min_samples: 6,
    span_seconds: 300.0,
};

/// Which rule decided, so the panel can tell them apart without parsing sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    NotEnoughHistory,
    CaughtUp,
    Rewound,
    LagZeroInWindow,
    Stopped,
    Stalled,
    LagGrowing,
    KeepingUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub status: PartitionStatus,
    pub reason: Reason,
    /// Lag in the newest sample; 0 without samples.
    pub lag: i64,
    /// Seconds from the sample that opens the window to `now`; 0 with too little history.
    pub window_seconds: f64,
}

impl Evaluation {
    /// The verdict as a person reads it.
    pub fn sentence(&self) -> String {
        let s = self.window_seconds;
        match self.reason {
            Reason::NotEnoughHistory => "not enough history yet to judge".into(),
            Reason::CaughtUp => "no lag in the newest sample".into(),
            Reason::Rewound => {
                format!("committed offset went back in the last {s:.0} s and has not returned")
            }
            Reason::LagZeroInWindow => format!("lag was zero at least once in the last {s:.0} s"),
            Reason::Stopped => format!(
                "lag remains and the committed offset has not moved for {s:.0} s; \
                 no live member holds the partition"
            ),
            Reason::Stalled => format!(
                "lag remains and the committed offset has not moved for {s:.0} s, \
                 though a live member holds the partition"
            ),
            Reason::LagGrowing => format!("lag never fell and ended higher over the last {s:.0} s"),
            Reason::KeepingUp => format!("lag did not grow steadily over the last {s:.0} s"),
        }
    }
}

/// Judge one partition from its samples (oldest first) as of `now`. `active`: a live member of
/// the group is assigned this partition; false for groups that only commit (Flink's source).
///
/// The window opens at the newest sample at least `span_seconds` old, so it covers the span.
pub fn evaluate_partition(
    samples: &[OffsetSample],
    now: f64,
    active: bool,
    window: &StatusWindow,
) -> Evaluation {
    let opens = samples
        .iter()
        .rposition(|s| s.at <= now - window.span_seconds);
    let (status, reason, window_seconds) = match opens {
        Some(i) if samples.len() - i >= window.min_samples.max(2) => {
            let (status, reason) = judge(&samples[i..], active);
            (status, reason, now - samples[i].at)
        }
        // Never alarm on too little data.
        _ => (PartitionStatus::Ok, Reason::NotEnoughHistory, 0.0),
    };
    Evaluation {
        status,
        reason,
        lag: samples.last().map_or(0, OffsetSample::lag),
        window_seconds,
    }
}

/// Burrow's rules, worst first, over a window of at least two samples.
fn judge(w: &[OffsetSample], active: bool) -> (PartitionStatus, Reason) {
    let (first, last) = (w[0], w[w.len() - 1]);
    if last.lag() == 0 {
        // A partition at the head is fine whatever its history.
        (PartitionStatus::Ok, Reason::CaughtUp)
    } else if w.iter().any(|s| s.committed > last.committed) {
        // Went back and has not come back. Ahead of the zero-lag rule: a reset to the earliest
        // offset often follows a time with no lag.
        (PartitionStatus::Rewind, Reason::Rewound)
    } else if w.iter().any(|s| s.lag() == 0) {
        // Caught up at some point in the window: at worst a burst is being worked off.
        (PartitionStatus::Ok, Reason::LagZeroInWindow)
    } else if w.iter().all(|s| s.committed == first.committed) {
        // No commit moved for the whole span: a holder committing the same offset is stalled,
        // a partition nobody holds is stopped.
        if active {
            (PartitionStatus::Stall, Reason::Stalled)
        } else {
            (PartitionStatus::Stop, Reason::Stopped)
        }
    } else if lag_grows_at_commits(w) {
        // Commits arrive but never gain on the producers: the consumer is too slow.
        (PartitionStatus::Warn, Reason::LagGrowing)
    } else {
        (PartitionStatus::Ok, Reason::KeepingUp)
    }
}

/// Burrow judges lag at each commit. A consumer that commits every few seconds (Flink, on
/// checkpoints) shows a sawtooth between commits when sampled at any time: lag rises until the
/// next commit, then drops. So the trend is read at the samples where the committed offset
/// moved (plus the first), and needs three of them.
fn lag_grows_at_commits(w: &[OffsetSample]) -> bool {
    let mut at_commits = vec![w[0].lag()];
    for pair in w.windows(2) {
        if pair[1].committed != pair[0].committed {
            at_commits.push(pair[1].lag());
        }
    }
    at_commits.len() >= 3
        && at_commits.windows(2).all(|p| p[1] >= p[0])
        && at_commits[at_commits.len() - 1] > at_commits[0]
}

/// Bounds of a [`StatusHistory`], so memory stays fixed whatever the cluster holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HistoryLimits {
    /// Samples kept per partition: 128 hold the default window at Grafana's 5 s minimum refresh.
    pub max_samples_per_series: usize,
    /// Samples this much older than their series' newest are dropped. Well above the window's
    /// span, so the sample that opens a window survives.
    pub max_age_seconds: f64,
    /// Partitions tracked; past this, new ones are refused rather than old ones forgotten.
    pub max_series: usize,
    /// A sample closer than this to the last kept one is not kept: with dashboards refreshing
    /// every second, the history would otherwise hold only the last few seconds.
    pub min_spacing_seconds: f64,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        HistoryLimits {
            max_samples_per_series: 128,
            max_age_seconds: 3.0 * DEFAULT_WINDOW.span_seconds,
            max_series: 10_000,
            min_spacing_seconds: 0.0,
        }
    }
}

/// Recent samples per (group, topic, partition), one store per datasource. No clock: every
/// time comes in as an argument.
///
/// Nested by group, then topic, then partition id (Kafka's ids are dense from 0), so a group's
/// and a topic's names are stored once rather than once per partition: at thousands of groups
/// of a hundred partitions each, the keys would otherwise outweigh the samples.
#[derive(Debug, Clone, Default)]
pub struct StatusHistory {
    limits: HistoryLimits,
    series: HashMap<String, HashMap<String, Vec<Vec<OffsetSample>>>>,
    /// Partitions with at least one sample.
    count: usize,
}

/// Partition ids past this are refused: ids are dense, and one would size a vector.
const MAX_PARTITION_ID: i32 = 1_000_000;

impl StatusHistory {
    pub fn new(limits: HistoryLimits) -> Self {
        StatusHistory {
            limits,
            ..Default::default()
        }
    }

    /// Add a sample; false when it was ignored (not newer than the last one of its series, or
    /// closer to it than the spacing, or a new series beyond `max_series`).
    pub fn record(
        &mut self,
        group: &str,
        topic: &str,
        partition: i32,
        sample: OffsetSample,
    ) -> bool {
        if !sample.at.is_finite() || !(0..=MAX_PARTITION_ID).contains(&partition) {
            return false;
        }
        let full = self.count >= self.limits.max_series;
        let exists = self.samples(group, topic, partition).last().copied();
        match exists {
            None if full => return false,
            Some(last)
                if sample.at <= last.at
                    || sample.at - last.at < self.limits.min_spacing_seconds =>
            {
                return false
            }
            _ => {}
        }
        let topics = match self.series.get_mut(group) {
            Some(t) => t,
            None => self.series.entry(group.to_string()).or_default(),
        };
        let partitions = match topics.get_mut(topic) {
            Some(p) => p,
            None => topics.entry(topic.to_string()).or_default(),
        };
        let i = partition as usize;
        if partitions.len() <= i {
            partitions.resize_with(i + 1, Vec::new);
        }
        let series = &mut partitions[i];
        if series.is_empty() {
            self.count += 1;
        }
        // Grown one at a time: a series holds a few samples, and doubling would waste up to half.
        series.reserve_exact(1);
        series.push(sample);
        let oldest = sample.at - self.limits.max_age_seconds;
        let too_old = series.iter().take_while(|s| s.at < oldest).count();
        let too_many = series
            .len()
            .saturating_sub(self.limits.max_samples_per_series.max(1));
        series.drain(..too_old.max(too_many));
        true
    }

    /// The samples of one partition, oldest first; empty when unknown.
    pub fn samples(&self, group: &str, topic: &str, partition: i32) -> &[OffsetSample] {
        usize::try_from(partition)
            .ok()
            .and_then(|i| self.series.get(group)?.get(topic)?.get(i))
            .map_or(&[], Vec::as_slice)
    }

    /// Drop series not sampled since `now - older_than_seconds`: a deleted topic, a removed group.
    pub fn evict_unseen(&mut self, now: f64, older_than_seconds: f64) {
        let cutoff = now - older_than_seconds;
        let mut dropped = 0;
        for topics in self.series.values_mut() {
            for partitions in topics.values_mut() {
                for s in partitions.iter_mut() {
                    if s.last().is_some_and(|last| last.at < cutoff) {
                        *s = Vec::new();
                        dropped += 1;
                    }
                }
                while partitions.last().is_some_and(Vec::is_empty) {
                    partitions.pop();
                }
            }
            topics.retain(|_, p| !p.is_empty());
        }
        self.series.retain(|_, t| !t.is_empty());
        self.count -= dropped;
    }

    /// Drop every series of a group at once, e.g. when Kafka reports it deleted.
    pub fn forget_group(&mut self, group: &str) {
        if let Some(topics) = self.series.remove(group) {
            let n: usize = topics.values().flatten().filter(|s| !s.is_empty()).count();
            self.count -= n;
        }
    }

    /// Number of partitions tracked.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PartitionStatus::*;

    /// Burrow's test timeline: samples every 100 s from 100 s, judged at 600 s over 500 s.
    const W: StatusWindow = StatusWindow {
        min_samples: 5,
        span_seconds: 500.0,
    };
    const MOVING: [i64; 5] = [1000, 2000, 3000, 4000, 5000];

    fn sample(at: f64, committed: i64, lag: i64) -> OffsetSample {
        let log_end = committed + lag;
        OffsetSample {
            at,
            committed,
            log_end,
        }
    }

    fn burrow(offsets: &[i64], lags: &[i64]) -> Vec<OffsetSample> {
        let s = |(i, (&c, &lag))| sample(100.0 * (i + 1) as f64, c, lag);
        offsets.iter().zip(lags).enumerate().map(s).collect()
    }

    fn judge(offsets: &[i64], lags: &[i64], active: bool) -> (PartitionStatus, Reason) {
        let e = evaluate_partition(&burrow(offsets, lags), 600.0, active, &W);
        (e.status, e.reason)
    }

    #[test]
    fn too_little_history_or_zero_lag_in_the_window_is_ok() {
        let stalled = burrow(&[1000; 5], &[100, 150, 200, 250, 300]);
        let e = evaluate_partition(&stalled[1..], 600.0, true, &W);
        assert_eq!((e.status, e.lag), (Ok, 300));
        assert_eq!(e.sentence(), "not enough history yet to judge");
        // Five samples, but at 550 s the oldest is younger than the span.
        let e = evaluate_partition(&stalled, 550.0, true, &W);
        assert_eq!(e.reason, Reason::NotEnoughHistory);
        // Burrow cases 0 and 4: moving or stuck offsets, but caught up at the start.
        let lags = [0, 50, 100, 150, 200];
        assert_eq!(judge(&MOVING, &lags, false), (Ok, Reason::LagZeroInWindow));
        assert_eq!(judge(&[1000; 5], &lags, true).0, Ok);
        // Burrow case 8: no lag now, whatever came before.
        let lags = [50, 100, 150, 200, 0];
        assert_eq!(judge(&MOVING, &lags, false), (Ok, Reason::CaughtUp));
    }

    #[test]
    fn an_offset_that_went_back_and_stays_behind_is_rewind() {
        // Burrow case 15: 3000 -> 2000 -> 2500, never back to 3000.
        let s = burrow(&[1000, 2000, 3000, 2000, 2500], &[100, 150, 200, 1250, 300]);
        let e = evaluate_partition(&s, 600.0, true, &W);
        assert_eq!(e.status, Rewind);
        let expected = "committed offset went back in the last 500 s and has not returned";
        assert_eq!(e.sentence(), expected);
        // Burrow case 7: the consumer got past 3000 again, so the rewind is forgiven.
        let lags = [100, 150, 200, 1250, 300];
        let recovered = judge(&[1000, 2000, 3000, 2000, 4000], &lags, true);
        assert_eq!(recovered, (Ok, Reason::KeepingUp));
        // A reset to the start after a time at the head: rewind beats the zero-lag rule.
        let reset = judge(&[5000, 5000, 0, 10, 20], &[0, 0, 5000, 4990, 4980], true);
        assert_eq!(reset.0, Rewind);
    }

    #[test]
    fn unmoving_offset_with_lag_is_stall_when_held_and_stop_when_not() {
        // Burrow cases 5 and 6: same offset every time, lag growing or flat.
        for lags in [[100, 150, 200, 250, 300], [100; 5]] {
            assert_eq!(judge(&[1000; 5], &lags, true), (Stall, Reason::Stalled));
            assert_eq!(judge(&[1000; 5], &lags, false), (Stop, Reason::Stopped));
        }
        let e = evaluate_partition(&burrow(&[1000; 5], &[100; 5]), 600.0, false, &W);
        let said = e.sentence();
        assert!(
            said.contains("not moved for 500 s; no live member"),
            "{said}"
        );
        assert_eq!(e.status.health(), Health::Critical);
        // Burrow cases 9 and 10: commits at the head until 500 s, then none while data arrives.
        let offsets = [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5];
        let s = burrow(&offsets, &[0, 0, 0, 0, 0, 100, 200, 300, 400, 500, 600]);
        // At 1000 s the window opens on the last sample at the head: recently caught up.
        let e = evaluate_partition(&s[..10], 1000.0, false, &W);
        assert_eq!(e.reason, Reason::LagZeroInWindow);
        // At 1100 s it opens at 600 s: every sample is behind at the same offset.
        assert_eq!(evaluate_partition(&s, 1100.0, false, &W).status, Stop);
    }

    #[test]
    fn lag_that_never_falls_is_warn_and_lag_that_falls_is_ok() {
        // Burrow case 3's samples, judged before its commits could look stopped: too slow.
        let growing = judge(&MOVING, &[50, 100, 150, 200, 250], true);
        assert_eq!(growing, (Warn, Reason::LagGrowing));
        assert_eq!(Warn.health(), Health::Warning);
        let falling = judge(&MOVING, &[250, 200, 150, 100, 50], true);
        assert_eq!(falling, (Ok, Reason::KeepingUp));
        // Flat lag with moving offsets keeps pace with the producers.
        assert_eq!(judge(&MOVING, &[70; 5], false), (Ok, Reason::KeepingUp));
    }

    #[test]
    fn a_checkpointing_consumer_is_judged_at_its_commits_not_between_them() {
        // Commits every third sample; lag rises between commits and drops at each one.
        let offsets = [100, 100, 100, 400, 400, 400, 700, 700, 700];
        // Keeping up: at the commits the lag is back to 50 each time.
        let keeping_up = [50, 150, 250, 50, 150, 250, 50, 150, 250];
        assert_eq!(judge(&offsets, &keeping_up, false).0, Ok);
        // Too slow: at each commit the lag is higher than at the one before.
        let falling_behind = [50, 200, 350, 150, 300, 450, 250, 400, 550];
        let e = judge(&offsets, &falling_behind, false);
        assert_eq!(e, (Warn, Reason::LagGrowing));
        // Two commits are too few to call a trend.
        assert_eq!(judge(&offsets[..6], &falling_behind[..6], false).0, Ok);
    }

    #[test]
    fn group_is_its_worst_partition_with_errors_folded() {
        assert_eq!(GroupStatus::combine([Ok, Warn, Ok]), GroupStatus::Warn);
        for bad in [Stall, Stop, Rewind] {
            assert_eq!(GroupStatus::combine([Warn, bad]), GroupStatus::Err);
        }
        assert_eq!(GroupStatus::combine([]), GroupStatus::Ok);
        assert_eq!(GroupStatus::Err.health(), Health::Critical);
        let names = (GroupStatus::Err.as_str(), Stall.as_str());
        assert_eq!(names, ("ERR", "STALL"));
        let json = serde_json::to_string(&[Rewind, Ok]).unwrap();
        assert_eq!(json, r#"["REWIND","OK"]"#);
    }

    #[test]
    fn samples_closer_than_the_spacing_are_not_kept() {
        let limits = HistoryLimits {
            min_spacing_seconds: 10.0,
            ..HistoryLimits::default()
        };
        let mut h = StatusHistory::new(limits);
        for i in 0..60 {
            h.record("g", "t", 0, sample(1000.0 + i as f64, 42, 10));
        }
        let kept: Vec<f64> = h.samples("g", "t", 0).iter().map(|s| s.at).collect();
        assert_eq!(kept, [1000.0, 1010.0, 1020.0, 1030.0, 1040.0, 1050.0]);
    }

    #[test]
    fn default_store_and_window_call_a_stall_after_five_minutes_at_5_s_refresh() {
        let mut h = StatusHistory::new(HistoryLimits::default());
        for at in (0..=80).map(|i| 1000.0 + 5.0 * i as f64) {
            assert!(h.record("g", "t", 0, sample(at, 42, 10)));
            let e = evaluate_partition(h.samples("g", "t", 0), at, true, &DEFAULT_WINDOW);
            let expected = if at < 1300.0 { Ok } else { Stall };
            assert_eq!(e.status, expected, "at {at}: {}", e.sentence());
        }
    }

    #[test]
    fn store_ignores_out_of_order_samples_and_trims_by_count_and_age() {
        let limits = HistoryLimits {
            max_samples_per_series: 3,
            max_age_seconds: 100.0,
            max_series: 10,
            min_spacing_seconds: 0.0,
        };
        let mut h = StatusHistory::new(limits);
        assert!(h.record("g", "t", 0, sample(10.0, 1, 0)));
        assert!(!h.record("g", "t", 0, sample(10.0, 2, 0)), "same time");
        assert!(!h.record("g", "t", 0, sample(5.0, 3, 0)), "older");
        assert!(!h.record("g", "t", 0, sample(f64::NAN, 3, 0)));
        let times = |h: &StatusHistory| -> Vec<f64> {
            h.samples("g", "t", 0).iter().map(|s| s.at).collect()
        };
        for at in [20.0, 30.0, 40.0] {
            h.record("g", "t", 0, sample(at, 1, 0));
        }
        assert_eq!(times(&h), [20.0, 30.0, 40.0], "three kept, newest");
        h.record("g", "t", 0, sample(135.0, 1, 0));
        assert_eq!(times(&h), [40.0, 135.0], "20 and 30 are over 100 s older");
        assert!(h.samples("g", "t", 1).is_empty());
    }

    #[test]
    fn store_refuses_series_past_its_limit_and_evicts_the_unseen() {
        let limits = HistoryLimits {
            max_series: 2,
            ..HistoryLimits::default()
        };
        let mut h = StatusHistory::new(limits);
        assert!(h.record("a", "t", 0, sample(10.0, 1, 0)));
        assert!(h.record("a", "t", 1, sample(10.0, 1, 0)));
        assert!(!h.record("b", "t", 0, sample(10.0, 1, 0)), "third series");
        assert!(h.record("a", "t", 1, sample(50.0, 1, 0)), "known ones grow");
        h.evict_unseen(60.0, 30.0);
        assert_eq!(h.len(), 1, "a/t/0 was last seen at 10 s");
        assert!(h.record("b", "t", 0, sample(60.0, 1, 0)), "room again");
        h.forget_group("a");
        assert_eq!(h.samples("b", "t", 0).len(), 1);
        h.forget_group("b");
        assert!(h.is_empty());
    }
}
