//! Time lag and drain time from offsets sampled over time.
//!
//! Each lag snapshot adds one sample (log-end and committed sums) per (group, topic) to a
//! bounded window kept by the datasource's Kafka client. From the oldest and newest sample:
//! produce rate = d(log end)/dt, consume rate = d(committed)/dt; seconds behind = lag / produce
//! rate (how long the producers took to write what is not yet consumed); drain time =
//! lag / (consume rate - produce rate) when the consumer is faster, otherwise never.

use std::collections::{BTreeMap, VecDeque};

/// The method named in the frames, so that a reader knows where the seconds come from.
pub const METHOD: &str = "offsetSampling";

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
