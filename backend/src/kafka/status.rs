//! Consumer-group status for a snapshot: every partition judged over the datasource's sampled
//! history by Burrow's rules (`pipeline_model::consumer_status`), and each group's worst.
//!
//! Every snapshot, whether a query's or the background sampler's, is recorded here; the
//! history is thinned to a few samples per window so that its memory does not grow with the
//! refresh rate, and the current snapshot is always judged as the newest sample.

use std::collections::HashMap;

use pipeline_model::consumer_status::{
    evaluate_partition, Evaluation, GroupStatus, GroupVerdict, HistoryLimits, OffsetSample,
    PartitionStatus, StatusHistory, StatusWindow,
};

use super::client::KafkaClient;
use super::lag::by_topic;
use super::offsets::LagSnapshot;
use super::time_lag::Sample;

/// History bounds for a window: samples at least `span / (min_samples + 1)` apart, so a
/// window holds the samples it needs whatever the refresh rate, and kept for a span and two
/// spacings (the sample that opens a window must survive). At the default 300 s window that is
/// about 9 samples (216 bytes) per partition.
pub fn limits(window: &StatusWindow) -> HistoryLimits {
    let spacing = spacing(window);
    HistoryLimits {
        max_samples_per_series: 2 * window.min_samples + 4,
        max_age_seconds: window.span_seconds + 2.0 * spacing,
        max_series: 1_000_000,
        min_spacing_seconds: spacing,
    }
}

/// Seconds between two kept samples, and the background sampler's period.
pub fn spacing(window: &StatusWindow) -> f64 {
    (window.span_seconds / (window.min_samples + 1) as f64).max(1.0)
}

/// Add the snapshot to the datasource's histories: per partition for the status, per
/// (group, topic) for time lag. Series no snapshot has seen for two spans are dropped.
pub fn record(client: &KafkaClient, snap: &LagSnapshot) {
    let span = client.settings().status_window.span_seconds;
    record_history(&mut client.history(), snap, span);
    let mut window = client.window();
    for ((group, topic), t) in by_topic(&snap.partitions) {
        if let Some(committed) = t.committed {
            let sample = Sample {
                at: snap.at,
                log_end: t.committed_log_end,
                committed,
            };
            window.record(&group, &topic, sample);
        }
    }
}

/// The per-partition part of [`record`]: pure.
pub fn record_history(history: &mut StatusHistory, snap: &LagSnapshot, span: f64) {
    for p in &snap.partitions {
        if let (Some(committed), Some(log_end)) = (p.committed, p.log_end) {
            let sample = OffsetSample {
                at: snap.at,
                committed,
                log_end,
            };
            history.record(&p.group, &p.topic, p.partition, sample);
        }
    }
    history.evict_unseen(snap.at, 2.0 * span);
}

/// The status of each row of a snapshot (`None` where the row has no commit or end offset)
/// and of each group with at least one such row.
#[derive(Debug, Clone, Default)]
pub struct Statuses {
    pub partitions: Vec<Option<Evaluation>>,
    pub groups: HashMap<String, GroupVerdict>,
}

pub fn evaluate(client: &KafkaClient, snap: &LagSnapshot) -> Statuses {
    evaluate_with(&client.history(), &client.settings().status_window, snap)
}

/// [`evaluate`] on a given history: pure.
pub fn evaluate_with(
    history: &StatusHistory,
    window: &StatusWindow,
    snap: &LagSnapshot,
) -> Statuses {
    let holders: HashMap<&str, _> = snap
        .groups
        .iter()
        .map(|g| (g.name.as_str(), &g.assignment))
        .collect();
    let partitions: Vec<Option<Evaluation>> = snap
        .partitions
        .iter()
        .map(|p| {
            let current = OffsetSample {
                at: snap.at,
                committed: p.committed?,
                log_end: p.log_end?,
            };
            let mut samples = history.samples(&p.group, &p.topic, p.partition).to_vec();
            if samples.last().is_none_or(|last| last.at < current.at) {
                samples.push(current);
            }
            let active = holders
                .get(&*p.group)
                .is_some_and(|a| a.contains_key(&(p.topic.to_string(), p.partition)));
            Some(evaluate_partition(&samples, snap.at, active, window))
        })
        .collect();
    let mut worst: HashMap<&str, Vec<(usize, Evaluation)>> = HashMap::new();
    for (i, e) in partitions.iter().enumerate() {
        if let Some(e) = e {
            worst
                .entry(&*snap.partitions[i].group)
                .or_default()
                .push((i, *e));
        }
    }
    let groups = snap
        .groups
        .iter()
        .filter_map(|g| {
            // A group with nothing to judge (no commit yet, or unreadable) has no status.
            let evals = worst.remove(g.name.as_str())?;
            Some((g.name.clone(), group_verdict(snap, &evals)))
        })
        .collect();
    Statuses { partitions, groups }
}

/// The group's status, explained by its worst partitions: how many and one example.
fn group_verdict(snap: &LagSnapshot, evals: &[(usize, Evaluation)]) -> GroupVerdict {
    let status = GroupStatus::combine(evals.iter().map(|(_, e)| e.status));
    let worst = evals.iter().map(|(_, e)| e.status).max();
    let reason = match worst {
        None | Some(PartitionStatus::Ok) => {
            let history = evals.iter().all(|(_, e)| e.window_seconds == 0.0);
            if history {
                "not enough history yet to judge".to_string()
            } else {
                format!(
                    "every partition keeps up over the last {:.0} s",
                    evals[0].1.window_seconds.max(0.0)
                )
            }
        }
        Some(w) => {
            let of_worst: Vec<&(usize, Evaluation)> =
                evals.iter().filter(|(_, e)| e.status == w).collect();
            let (i, e) = of_worst[0];
            let p = &snap.partitions[*i];
            format!(
                "{} on {} partition(s), e.g. {}[{}]: {}",
                w.as_str(),
                of_worst.len(),
                p.topic,
                p.partition,
                e.sentence()
            )
        }
    };
    GroupVerdict { status, reason }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pipeline_model::consumer_status::DEFAULT_WINDOW;

    use super::*;
    use crate::kafka::lag::PartitionLag;
    use crate::kafka::offsets::{GroupInfo, GroupSource, Requests};

    /// A snapshot at `at` of group "flink" (no members) on two partitions of "clicks", and
    /// group "app" whose member holds its one partition; `None` for a partition without commit.
    fn snap(at: f64, flink: [(i64, i64); 2], app: (i64, Option<i64>)) -> LagSnapshot {
        let mut app_group = GroupInfo {
            name: "app".into(),
            ..Default::default()
        };
        app_group
            .assignment
            .insert(("orders".into(), 0), "app-1".into());
        LagSnapshot {
            at,
            groups: vec![
                GroupInfo {
                    name: "flink".into(),
                    ..Default::default()
                },
                app_group,
                GroupInfo {
                    name: "denied".into(),
                    error: Some("not allowed".into()),
                    ..Default::default()
                },
            ],
            partitions: vec![
                PartitionLag::new("flink", "clicks", 0, flink[0].1, Some(flink[0].0)),
                PartitionLag::new("flink", "clicks", 1, flink[1].1, Some(flink[1].0)),
                PartitionLag::new("app", "orders", 0, app.0, app.1),
            ],
            group_source: GroupSource::ListGroups,
            listing_error: None,
            requests: Requests::default(),
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn a_group_whose_offsets_stop_moving_with_lag_is_err_and_names_its_partitions() {
        let window = StatusWindow {
            span_seconds: 60.0,
            ..DEFAULT_WINDOW
        };
        let mut history = StatusHistory::new(limits(&window));
        let mut last = Statuses::default();
        // Every second for 100 s: clicks[0] stuck at 100 while the log grows, clicks[1]
        // caught up.
        for i in 0..=100 {
            let at = 1_000.0 + i as f64;
            let end = 150 + 2 * i;
            let s = snap(at, [(100, end), (end, end)], (7, None));
            record_history(&mut history, &s, window.span_seconds);
            last = evaluate_with(&history, &window, &s);
        }
        let flink = &last.groups["flink"];
        assert_eq!(flink.status, GroupStatus::Err, "{flink:?}");
        assert!(
            flink
                .reason
                .starts_with("STOP on 1 partition(s), e.g. clicks[0]"),
            "{}",
            flink.reason
        );
        assert_eq!(
            last.partitions[1].map(|e| e.status),
            Some(PartitionStatus::Ok)
        );
        // No commit: no status for the row, and a group with nothing to judge has none.
        assert_eq!(last.partitions[2], None);
        assert!(!last.groups.contains_key("app") && !last.groups.contains_key("denied"));
        // The history keeps a sample per spacing (60 / 7 s) over a span and two spacings, not
        // one per snapshot.
        let kept = history.samples("flink", "clicks", 0).len();
        assert!((8..=10).contains(&kept), "{kept} samples kept of 101");
    }

    #[test]
    fn a_held_partition_that_does_not_move_is_stall_not_stop() {
        let window = StatusWindow {
            span_seconds: 30.0,
            ..DEFAULT_WINDOW
        };
        let mut history = StatusHistory::new(limits(&window));
        let mut last = Statuses::default();
        for i in 0..=20 {
            let s = snap(
                2_000.0 + 3.0 * i as f64,
                [(5, 5), (5, 5)],
                (50 + i, Some(10)),
            );
            record_history(&mut history, &s, window.span_seconds);
            last = evaluate_with(&history, &window, &s);
        }
        assert_eq!(
            last.partitions[2].map(|e| e.status),
            Some(PartitionStatus::Stall)
        );
        assert_eq!(last.groups["app"].status, GroupStatus::Err);
        assert_eq!(last.groups["flink"].status, GroupStatus::Ok, "caught up");
    }
}
