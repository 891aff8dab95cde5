//! Whether a watermark moves: Flink only reports its current value, so "advanced since the
//! previous query" and "stalled for N s" need the value seen before. Kept per datasource
//! instance, keyed by (job id, vertex id).

use std::collections::HashMap;
use std::sync::Mutex;

/// What the history says about one watermark reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WatermarkTrend {
    /// `None` on the first reading (nothing to compare with).
    pub advanced: Option<bool>,
    /// How long the watermark has had its current value (0 when it just moved).
    pub stalled_seconds: f64,
}

#[derive(Default)]
pub struct WatermarkHistory {
    /// (job, vertex) -> (watermark ms, when that value was first seen, ms).
    seen: Mutex<HashMap<(String, String), (i64, i64)>>,
}

impl WatermarkHistory {
    /// Record a reading taken at `now_ms` and compare it with the previous one.
    pub fn observe(
        &self,
        job: &str,
        vertex: &str,
        watermark_ms: i64,
        now_ms: i64,
    ) -> WatermarkTrend {
        // A poisoned lock only means another query panicked mid-insert; the map is still whole.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let key = (job.to_string(), vertex.to_string());
        match seen.get(&key).copied() {
            Some((previous, since)) if watermark_ms <= previous => WatermarkTrend {
                advanced: Some(false),
                stalled_seconds: (now_ms - since).max(0) as f64 / 1000.0,
            },
            previous => {
                seen.insert(key, (watermark_ms, now_ms));
                WatermarkTrend {
                    advanced: previous.map(|_| true),
                    stalled_seconds: 0.0,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reading_is_neither_advancing_nor_stalled() {
        let h = WatermarkHistory::default();
        let t = h.observe("j", "v", 1_000, 50_000);
        assert_eq!(t.advanced, None);
        assert_eq!(t.stalled_seconds, 0.0);
    }

    #[test]
    fn a_moving_watermark_advances() {
        let h = WatermarkHistory::default();
        h.observe("j", "v", 1_000, 50_000);
        let t = h.observe("j", "v", 2_000, 51_000);
        assert_eq!(t.advanced, Some(true));
        assert_eq!(t.stalled_seconds, 0.0);
    }

    #[test]
    fn a_stuck_watermark_counts_from_when_its_value_was_first_seen() {
        let h = WatermarkHistory::default();
        h.observe("j", "v", 1_000, 50_000);
        h.observe("j", "v", 1_000, 60_000);
        let t = h.observe("j", "v", 1_000, 80_000);
        assert_eq!(t.advanced, Some(false));
        assert_eq!(t.stalled_seconds, 30.0);
    }

    #[test]
    fn vertices_and_jobs_are_tracked_apart() {
        let h = WatermarkHistory::default();
        h.observe("j", "a", 1_000, 0);
        h.observe("j", "b", 5_000, 0);
        assert_eq!(h.observe("j", "a", 2_000, 1_000).advanced, Some(true));
        assert_eq!(h.observe("k", "a", 2_000, 1_000).advanced, None);
    }
}
