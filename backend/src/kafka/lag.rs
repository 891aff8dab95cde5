//! Consumer lag arithmetic: pure, so the numbers are checked without a broker.
//!
//! lag(partition) = log-end offset - committed offset. A partition the group never committed
//! has no lag value (`None`): reporting 0 would hide a consumer that never started.

use std::collections::BTreeMap;
use std::sync::Arc;

/// One partition as seen by one group. A snapshot holds one row per group-partition (200,000
/// at 2,000 groups of 100 partitions), so the names are shared, one allocation per group and
/// per topic, instead of two strings per row.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionLag {
    pub group: Arc<str>,
    pub topic: Arc<str>,
    pub partition: i32,
    /// `None` when Kafka could not say (no leader, topic deleted): `problem` says why.
    pub log_end: Option<i64>,
    pub committed: Option<i64>,
    pub lag: Option<i64>,
    pub problem: Option<String>,
}

impl PartitionLag {
    pub fn new(
        group: impl Into<Arc<str>>,
        topic: impl Into<Arc<str>>,
        partition: i32,
        log_end: i64,
        committed: Option<i64>,
    ) -> Self {
        PartitionLag {
            group: group.into(),
            topic: topic.into(),
            partition,
            log_end: Some(log_end),
            committed,
            lag: partition_lag(log_end, committed),
            problem: None,
        }
    }

    /// A partition whose log-end offset is unknown, and why: its lag is unknown too.
    pub fn unknown_end(
        group: impl Into<Arc<str>>,
        topic: impl Into<Arc<str>>,
        partition: i32,
        committed: Option<i64>,
        problem: &str,
    ) -> Self {
        PartitionLag {
            group: group.into(),
            topic: topic.into(),
            partition,
            log_end: None,
            committed,
            lag: None,
            problem: Some(problem.to_string()),
        }
    }
}

/// Lag of one partition. A committed offset past the log end (the log was truncated or the
/// end offset is older than the commit) counts as caught up, never as negative lag.
pub fn partition_lag(log_end: i64, committed: Option<i64>) -> Option<i64> {
    // Saturating: offsets come from the broker's answer and can be anything (the fuzzer found
    // i64::MIN log ends); a wrong number must never panic the plugin.
    committed
        .filter(|c| *c >= 0)
        .map(|c| log_end.saturating_sub(c).max(0))
}

/// Sums over a set of partitions (a group's topic, or the whole group).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LagTotals {
    /// Lag summed over the partitions that have a commit; `None` when none has.
    pub lag: Option<i64>,
    pub committed: Option<i64>,
    pub log_end: i64,
    /// Log end summed over the partitions that have a commit only, so that it and `committed`
    /// describe the same partitions (what a rate estimate compares).
    pub committed_log_end: i64,
    pub partitions: usize,
    pub without_commit: usize,
    /// Partitions whose log end is unknown (their `problem` says why).
    pub unknown_end: usize,
}

pub fn totals<'a>(parts: impl IntoIterator<Item = &'a PartitionLag>) -> LagTotals {
    let mut t = LagTotals::default();
    for p in parts {
        t.partitions += 1;
        let Some(log_end) = p.log_end else {
            t.unknown_end += 1;
            continue;
        };
        t.log_end = t.log_end.saturating_add(log_end);
        match (p.lag, p.committed) {
            (Some(lag), Some(c)) => {
                t.lag = Some(t.lag.unwrap_or(0).saturating_add(lag));
                t.committed = Some(t.committed.unwrap_or(0).saturating_add(c));
                t.committed_log_end = t.committed_log_end.saturating_add(log_end);
            }
            _ => t.without_commit += 1,
        }
    }
    t
}

/// Totals per (group, topic), in name order.
pub fn by_topic(parts: &[PartitionLag]) -> BTreeMap<(String, String), LagTotals> {
    // Keys are the rows' shared names (no allocation per row); named once per group and topic.
    let mut grouped: BTreeMap<(&str, &str), Vec<&PartitionLag>> = BTreeMap::new();
    for p in parts {
        grouped.entry((&p.group, &p.topic)).or_default().push(p);
    }
    grouped
        .into_iter()
        .map(|((g, t), v)| ((g.to_string(), t.to_string()), totals(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_end_minus_committed_and_missing_commits_stay_missing() {
        assert_eq!(partition_lag(100, Some(40)), Some(60));
        assert_eq!(partition_lag(100, None), None);
        // librdkafka reports "no commit" as a negative offset.
        assert_eq!(partition_lag(100, Some(-1001)), None);
        assert_eq!(partition_lag(10, Some(12)), Some(0));
    }

    #[test]
    fn absurd_offsets_from_a_broker_saturate_instead_of_panicking() {
        // Found by `cargo xtask fuzz`: a negative log end minus a commit overflowed.
        assert_eq!(partition_lag(i64::MIN, Some(5)), Some(0));
        assert_eq!(partition_lag(i64::MAX, Some(0)), Some(i64::MAX));
        let parts = [
            PartitionLag::new("g", "t", 0, i64::MAX, Some(0)),
            PartitionLag::new("g", "t", 1, i64::MAX, Some(1)),
        ];
        let t = totals(&parts);
        assert_eq!(t.log_end, i64::MAX);
        assert_eq!(t.lag, Some(i64::MAX));
        assert_eq!(t.committed_log_end, i64::MAX);
    }

    #[test]
    fn totals_skip_uncommitted_partitions_but_count_them() {
        let parts = [
            PartitionLag::new("g", "t", 0, 10, Some(4)),
            PartitionLag::new("g", "t", 1, 20, None),
            PartitionLag::new("g", "u", 0, 5, Some(5)),
        ];
        let t = totals(&parts);
        assert_eq!(t.lag, Some(6));
        assert_eq!(t.log_end, 35);
        assert_eq!(t.committed_log_end, 15, "partition t/1 has no commit");
        assert_eq!(t.partitions, 3);
        assert_eq!(t.without_commit, 1);
        let per_topic = by_topic(&parts);
        assert_eq!(per_topic[&("g".into(), "t".into())].lag, Some(6));
        assert_eq!(per_topic[&("g".into(), "u".into())].lag, Some(0));
        let none = totals(&[PartitionLag::new("g", "t", 0, 10, None)]);
        assert_eq!(none.lag, None);
        let offline = totals(&[
            PartitionLag::new("g", "t", 0, 10, Some(4)),
            PartitionLag::unknown_end("g", "t", 1, Some(3), "no leader"),
        ]);
        assert_eq!(offline.lag, Some(6), "the known partition's lag only");
        assert_eq!((offline.unknown_end, offline.without_commit), (1, 0));
    }
}
