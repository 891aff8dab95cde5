//! Time lag and drain time from offsets sampled over time.
//!
//! Each lag snapshot adds one sample (log-end and committed sums) per (group, topic) to a
//! bounded window kept by the datasource's Kafka client. From the oldest and newest sample:
//! produce rate = d(log end)/dt, consume rate = d(committed)/dt; seconds behind = lag / produce
//! rate (how long the producers took to write what is not yet consumed); drain time =
//! lag / (consume rate - produce rate) when the consumer is faster, otherwise never.

use std::collections::{BTreeMap, VecDeque};

use pipeline_model::consumer_status::StatusHistory;

use super::lag::PartitionLag;

/// The methods named in the frames, so that a reader knows where the seconds come from:
/// - [`METHOD`]: lag / produce rate, from the (group, topic) window (the fallback);
/// - [`INTERPOLATION`]: when the log end passed the committed offset, interpolated between the
///   sampled log-end offsets of the partition (kafka-lag-exporter's method);
/// - [`RECORD_TIMESTAMP`]: the timestamp of the record at the committed offset, read from
///   Kafka, for a partition behind by more than its samples reach (and on the first query).
pub const METHOD: &str = "offsetSampling";
pub const INTERPOLATION: &str = "interpolation";
pub const RECORD_TIMESTAMP: &str = "recordTimestamp";

/// When the log end reached `committed`, from (time, log end) samples oldest first, as seconds
/// before `now`. `None` when the samples do not reach back that far.
pub fn interpolate(samples: &[(f64, i64)], committed: i64, now: f64) -> Option<f64> {
    let last = samples.last()?;
    if committed >= last.1 {
        return Some(0.0);
    }
    let later = samples.iter().position(|s| s.1 > committed)?;
    let reached = match later.checked_sub(1).map(|i| samples[i]) {
        // Produced between two samples: assume a steady rate in between.
        Some((t0, e0)) => {
            let (t1, e1) = samples[later];
            t0 + (t1 - t0) * (committed - e0) as f64 / (e1 - e0) as f64
        }
        // Older than the oldest sample.
        None => return None,
    };
    Some((now - reached).max(0.0))
}

/// At most this many samples per (group, topic): one per refresh, enough for minutes of history.
pub const MAX_SAMPLES: usize = 120;
/// Samples older than this are dropped: rates should describe the recent past.
pub const MAX_AGE_SECONDS: f64 = 900.0;
/// At most this many (group, topic) series per datasource, so memory stays bounded.
pub const MAX_SERIES: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Seconds since the Unix epoch.
    pub at: f64,
    pub log_end: i64,
    pub committed: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimeLag {
    pub lag: i64,
    pub produce_rate: Option<f64>,
    pub consume_rate: Option<f64>,
    pub seconds_behind: Option<f64>,
    /// `Some(f64::INFINITY)` is never written: "never drains" is `None` with `drains == false`.
    pub drain_seconds: Option<f64>,
    pub drains: bool,
    pub window_seconds: f64,
    pub samples: usize,
}

/// The bounded window of samples, per (group, topic).
#[derive(Debug, Default)]
pub struct LagWindow {
    series: BTreeMap<(String, String), VecDeque<Sample>>,
}

impl LagWindow {
    pub fn record(&mut self, group: &str, topic: &str, sample: Sample) {
        let key = (group.to_string(), topic.to_string());
        if !self.series.contains_key(&key) && self.series.len() >= MAX_SERIES {
            return;
        }
        let series = self.series.entry(key).or_default();
        if series.back().is_some_and(|last| last.at >= sample.at) {
            return;
        }
        series.push_back(sample);
        while series.len() > MAX_SAMPLES
            || series
                .front()
                .is_some_and(|f| sample.at - f.at > MAX_AGE_SECONDS)
        {
            series.pop_front();
        }
    }

    pub fn estimate(&self, group: &str, topic: &str) -> Option<TimeLag> {
        let series = self.series.get(&(group.to_string(), topic.to_string()))?;
        Some(estimate(series.iter().copied()))
    }

    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

/// Rates and times from a series of samples, oldest first.
pub fn estimate(samples: impl IntoIterator<Item = Sample>) -> TimeLag {
    let samples: Vec<Sample> = samples.into_iter().collect();
    let (first, last) = match (samples.first(), samples.last()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => {
            return TimeLag {
                lag: 0,
                produce_rate: None,
                consume_rate: None,
                seconds_behind: None,
                drain_seconds: None,
                drains: false,
                window_seconds: 0.0,
                samples: 0,
            }
        }
    };
    let lag = (last.log_end - last.committed).max(0);
    let dt = last.at - first.at;
    let (produce_rate, consume_rate) = if samples.len() >= 2 && dt > 0.0 {
        (
            Some(((last.log_end - first.log_end) as f64 / dt).max(0.0)),
            Some(((last.committed - first.committed) as f64 / dt).max(0.0)),
        )
    } else {
        (None, None)
    };
    let seconds_behind = match produce_rate {
        _ if lag == 0 => Some(0.0),
        Some(p) if p > 0.0 => Some(lag as f64 / p),
        _ => None,
    };
    let (drain_seconds, drains) = match (produce_rate, consume_rate) {
        _ if lag == 0 => (Some(0.0), true),
        (Some(p), Some(c)) if c > p => (Some(lag as f64 / (c - p)), true),
        _ => (None, false),
    };
    TimeLag {
        lag,
        produce_rate,
        consume_rate,
        seconds_behind,
        drain_seconds,
        drains,
        window_seconds: dt.max(0.0),
        samples: samples.len(),
    }
}

/// Seconds behind per (group, topic): the largest over its partitions, with the method that
/// gave it.
pub type Behind = BTreeMap<(String, String), (f64, &'static str)>;

/// Keep the larger of what `key` had and `seconds`.
pub fn fold(behind: &mut Behind, key: (String, String), seconds: f64, method: &'static str) {
    let e = behind.entry(key).or_insert((seconds, method));
    if seconds > e.0 {
        *e = (seconds, method);
    }
}

/// Seconds behind by interpolation for every partition whose samples reach back to its
/// committed offset (`at` is the snapshot's time, its log ends the newest sample); the
/// partitions behind by more than their samples reach are returned, furthest behind first.
pub fn by_interpolation<'a>(
    parts: &'a [PartitionLag],
    at: f64,
    history: &StatusHistory,
) -> (Behind, Vec<&'a PartitionLag>) {
    let mut behind = Behind::new();
    let mut unresolved = Vec::new();
    for p in parts {
        let (Some(committed), Some(log_end)) = (p.committed, p.log_end) else {
            continue;
        };
        let mut samples: Vec<(f64, i64)> = history
            .samples(&p.group, &p.topic, p.partition)
            .iter()
            .filter(|s| s.at < at)
            .map(|s| (s.at, s.log_end))
            .collect();
        samples.push((at, log_end));
        let key = (p.group.to_string(), p.topic.to_string());
        match interpolate(&samples, committed, at) {
            Some(seconds) => fold(&mut behind, key, seconds, INTERPOLATION),
            None => unresolved.push(p),
        }
    }
    unresolved.sort_by_key(|p| std::cmp::Reverse(p.lag.unwrap_or(0)));
    (behind, unresolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at: f64, log_end: i64, committed: i64) -> Sample {
        Sample {
            at,
            log_end,
            committed,
        }
    }

    #[test]
    fn a_faster_consumer_drains() {
        // 10 msg/s produced, 30 msg/s consumed, 400 behind at the end.
        let t = estimate([s(0.0, 1000, 400), s(10.0, 1100, 700)]);
        assert_eq!(t.lag, 400);
        assert_eq!(t.produce_rate, Some(10.0));
        assert_eq!(t.consume_rate, Some(30.0));
        assert_eq!(t.seconds_behind, Some(40.0));
        assert_eq!(t.drain_seconds, Some(20.0));
        assert!(t.drains);
    }

    #[test]
    fn a_slower_consumer_never_drains_and_one_sample_knows_no_rates() {
        let t = estimate([s(0.0, 1000, 400), s(10.0, 1200, 500)]);
        assert_eq!(t.drain_seconds, None);
        assert!(!t.drains);
        let one = estimate([s(0.0, 1000, 400)]);
        assert_eq!(one.produce_rate, None);
        assert_eq!(one.seconds_behind, None);
        assert_eq!(estimate([s(0.0, 5, 5)]).seconds_behind, Some(0.0));
    }

    #[test]
    fn interpolation_finds_when_the_log_end_passed_the_committed_offset() {
        let samples = [(100.0, 1_000), (110.0, 1_100), (120.0, 1_300)];
        // 1,200 was written half-way between the samples at 110 s and 120 s.
        assert_eq!(interpolate(&samples, 1_200, 130.0), Some(15.0));
        assert_eq!(interpolate(&samples, 1_000, 130.0), Some(30.0));
        assert_eq!(interpolate(&samples, 1_300, 130.0), Some(0.0), "caught up");
        assert_eq!(
            interpolate(&samples, 900, 130.0),
            None,
            "older than the samples"
        );
        assert_eq!(interpolate(&[], 5, 1.0), None);
    }

    #[test]
    fn the_window_is_bounded_in_count_and_age() {
        let mut w = LagWindow::default();
        for i in 0..(MAX_SAMPLES + 50) {
            w.record("g", "t", s(i as f64, i as i64, 0));
        }
        assert_eq!(w.estimate("g", "t").unwrap().samples, MAX_SAMPLES);
        w.record("g", "t", s(10_000.0, 0, 0));
        assert_eq!(w.estimate("g", "t").unwrap().samples, 1);
        // Samples that do not move forward in time are ignored.
        w.record("g", "t", s(5.0, 0, 0));
        assert_eq!(w.estimate("g", "t").unwrap().samples, 1);
    }
}
