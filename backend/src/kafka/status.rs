//! Consumer-group status for a snapshot: every partition judged over the datasource's sampled
//! history by Burrow's rules (`pipeline_model::consumer_status`), and each group's worst.
//!
//! Every snapshot, whether a query's or the background sampler's, is recorded here; the
//! history is thinned to a few samples per window so that its memory does not grow with the
//! refresh rate, and the current snapshot is always judged as the newest sample.

use std::collections::HashMap;

use pipeline_model::consumer_status::{
    evaluate_partition, Evaluation, GroupStatus, GroupVerdict, HistoryLimits, OffsetSample,
    PartitionStatus, StatusWindow,
};

use super::client::KafkaClient;
use super::lag::by_topic;
use super::offsets::LagSnapshot;
use super::time_lag::Sample;

/// History bounds for a window: samples at least `span / (2 * min_samples)` apart, so a
/// window holds about twice the samples it needs whatever the refresh rate, and kept for two
/// spans (the sample that opens a window must survive).
pub fn limits(window: &StatusWindow) -> HistoryLimits {
    HistoryLimits {
        max_samples_per_series: 4 * window.min_samples + 4,
        max_age_seconds: 2.0 * window.span_seconds,
        max_series: 1_000_000,
        min_spacing_seconds: spacing(window),
    }
}

/// Seconds between two kept samples, and the background sampler's period.
pub fn spacing(window: &StatusWindow) -> f64 {
    (window.span_seconds / (2 * window.min_samples.max(1)) as f64).max(1.0)
}

/// Add the snapshot to the datasource's histories: per partition for the status, per
/// (group, topic) for time lag. Series no snapshot has seen for two spans are dropped.
pub fn record(client: &KafkaClient, snap: &LagSnapshot) {
    let span = client.settings().status_window.span_seconds;
    {
        let mut history = client.history();
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

/// The status of each row of a snapshot (`None` where the row has no commit or end offset)
/// and of each group that could be read.
#[derive(Debug, Clone, Default)]
pub struct Statuses {
    pub partitions: Vec<Option<Evaluation>>,
    pub groups: HashMap<String, GroupVerdict>,
}

pub fn evaluate(client: &KafkaClient, snap: &LagSnapshot) -> Statuses {
    let window = client.settings().status_window;
    let history = client.history();
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
                .get(p.group.as_str())
                .is_some_and(|a| a.contains_key(&(p.topic.clone(), p.partition)));
            Some(evaluate_partition(&samples, snap.at, active, &window))
        })
        .collect();
    drop(history);
    let mut worst: HashMap<&str, Vec<(usize, Evaluation)>> = HashMap::new();
    for (i, e) in partitions.iter().enumerate() {
        if let Some(e) = e {
            worst
                .entry(snap.partitions[i].group.as_str())
                .or_default()
                .push((i, *e));
        }
    }
    let groups = snap
        .groups
        .iter()
        .filter(|g| g.error.is_none())
        .map(|g| {
            let evals = worst.remove(g.name.as_str()).unwrap_or_default();
            (g.name.clone(), group_verdict(snap, &evals))
        })
        .collect();
    Statuses { partitions, groups }
}

/// The group's status, explained by its worst partitions: how many and one example.
fn group_verdict(snap: &LagSnapshot, evals: &[(usize, Evaluation)]) -> GroupVerdict {
    let status = GroupStatus::combine(evals.iter().map(|(_, e)| e.status));
    let worst = evals.iter().map(|(_, e)| e.status).max();
    let reason = match worst {
        None => "no partition with a commit to judge".to_string(),
        Some(PartitionStatus::Ok) => {
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
