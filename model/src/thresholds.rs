//! Limits behind every verdict. Defaults follow the operators' rules (see the domain notes):
//! backpressure critical at 80 %, checkpoints overdue after 3 expected intervals, and so on.
//! A datasource sets its own; a query may override any single field.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Thresholds {
    /// Consumer lag in messages.
    pub lag_warning: f64,
    pub lag_critical: f64,
    /// Consumer time lag (seconds behind the head of the partition).
    pub time_lag_warning_seconds: f64,
    pub time_lag_critical_seconds: f64,
    /// Backpressured ratio of a vertex (0..1).
    pub backpressure_warning: f64,
    pub backpressure_critical: f64,
    /// Busy ratio above which a vertex can be named the bottleneck (0..1).
    pub busy_bottleneck: f64,
    /// Watermark lag behind wall clock.
    pub watermark_lag_warning_seconds: f64,
    pub watermark_lag_critical_seconds: f64,
    /// A watermark that did not move for this long is "stalled".
    pub watermark_stalled_seconds: f64,
    /// Expected checkpoint interval; the last completed checkpoint may be this many intervals old.
    pub checkpoint_interval_seconds: f64,
    pub checkpoint_age_factor: f64,
    /// TaskManager heap used / max (0..1) and CPU load (0..1).
    pub heap_warning: f64,
    pub heap_critical: f64,
    pub cpu_warning: f64,
    pub cpu_critical: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            lag_warning: 1_000.0,
            lag_critical: 10_000.0,
            time_lag_warning_seconds: 60.0,
            time_lag_critical_seconds: 300.0,
            backpressure_warning: 0.5,
            backpressure_critical: 0.8,
            busy_bottleneck: 0.8,
            watermark_lag_warning_seconds: 60.0,
            watermark_lag_critical_seconds: 300.0,
            watermark_stalled_seconds: 120.0,
            checkpoint_interval_seconds: 60.0,
            checkpoint_age_factor: 3.0,
            heap_warning: 0.85,
            heap_critical: 0.95,
            cpu_warning: 0.9,
            cpu_critical: 0.98,
        }
    }
}

/// Per-query overrides: every field optional, applied over the datasource's thresholds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThresholdOverrides {
    pub lag_warning: Option<f64>,
    pub lag_critical: Option<f64>,
    pub time_lag_warning_seconds: Option<f64>,
    pub time_lag_critical_seconds: Option<f64>,
    pub backpressure_warning: Option<f64>,
    pub backpressure_critical: Option<f64>,
    pub busy_bottleneck: Option<f64>,
    pub watermark_lag_warning_seconds: Option<f64>,
    pub watermark_lag_critical_seconds: Option<f64>,
    pub watermark_stalled_seconds: Option<f64>,
    pub checkpoint_interval_seconds: Option<f64>,
    pub checkpoint_age_factor: Option<f64>,
    pub heap_warning: Option<f64>,
    pub heap_critical: Option<f64>,
    pub cpu_warning: Option<f64>,
    pub cpu_critical: Option<f64>,
}

impl Thresholds {
    /// These thresholds with a query's overrides applied.
    pub fn with_overrides(&self, o: &ThresholdOverrides) -> Thresholds {
        let pick = |over: Option<f64>, base: f64| over.unwrap_or(base);
        Thresholds {
            lag_warning: pick(o.lag_warning, self.lag_warning),
            lag_critical: pick(o.lag_critical, self.lag_critical),
            time_lag_warning_seconds: pick(
                o.time_lag_warning_seconds,
                self.time_lag_warning_seconds,
            ),
            time_lag_critical_seconds: pick(
                o.time_lag_critical_seconds,
                self.time_lag_critical_seconds,
            ),
            backpressure_warning: pick(o.backpressure_warning, self.backpressure_warning),
            backpressure_critical: pick(o.backpressure_critical, self.backpressure_critical),
            busy_bottleneck: pick(o.busy_bottleneck, self.busy_bottleneck),
            watermark_lag_warning_seconds: pick(
                o.watermark_lag_warning_seconds,
                self.watermark_lag_warning_seconds,
            ),
            watermark_lag_critical_seconds: pick(
                o.watermark_lag_critical_seconds,
                self.watermark_lag_critical_seconds,
            ),
            watermark_stalled_seconds: pick(
                o.watermark_stalled_seconds,
                self.watermark_stalled_seconds,
            ),
            checkpoint_interval_seconds: pick(
                o.checkpoint_interval_seconds,
                self.checkpoint_interval_seconds,
            ),
            checkpoint_age_factor: pick(o.checkpoint_age_factor, self.checkpoint_age_factor),
            heap_warning: pick(o.heap_warning, self.heap_warning),
            heap_critical: pick(o.heap_critical, self.heap_critical),
            cpu_warning: pick(o.cpu_warning, self.cpu_warning),
            cpu_critical: pick(o.cpu_critical, self.cpu_critical),
        }
    }

    /// Reject settings no operator means (warning above critical, ratios outside 0..1), with a
    /// message naming the field to fix.
    pub fn validate(&self) -> Result<(), String> {
        let pairs = [
            (
                "lagWarning",
                self.lag_warning,
                "lagCritical",
                self.lag_critical,
            ),
            (
                "timeLagWarningSeconds",
                self.time_lag_warning_seconds,
                "timeLagCriticalSeconds",
                self.time_lag_critical_seconds,
            ),
            (
                "backpressureWarning",
                self.backpressure_warning,
                "backpressureCritical",
                self.backpressure_critical,
            ),
            (
                "watermarkLagWarningSeconds",
                self.watermark_lag_warning_seconds,
                "watermarkLagCriticalSeconds",
                self.watermark_lag_critical_seconds,
            ),
            (
                "heapWarning",
                self.heap_warning,
                "heapCritical",
                self.heap_critical,
            ),
            (
                "cpuWarning",
                self.cpu_warning,
                "cpuCritical",
                self.cpu_critical,
            ),
        ];
        for (wn, w, cn, c) in pairs {
            if !(w.is_finite() && c.is_finite()) || w < 0.0 || c < 0.0 {
                return Err(format!(
                    "thresholds {wn} and {cn} must be non-negative numbers"
                ));
            }
            if w > c {
                return Err(format!(
                    "threshold {wn} ({w}) is above {cn} ({c}); lower {wn} or raise {cn}"
                ));
            }
        }
        let ratios = [
            ("backpressureCritical", self.backpressure_critical),
            ("busyBottleneck", self.busy_bottleneck),
            ("heapCritical", self.heap_critical),
            ("cpuCritical", self.cpu_critical),
        ];
        for (name, v) in ratios {
            if v > 1.0 {
                return Err(format!(
                    "threshold {name} is a ratio between 0 and 1, got {v}"
                ));
            }
        }
        if self.checkpoint_interval_seconds <= 0.0 || self.checkpoint_age_factor <= 0.0 {
            return Err(
                "thresholds checkpointIntervalSeconds and checkpointAgeFactor must be positive"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_given_fields() {
        let base = Thresholds::default();
        let o = ThresholdOverrides {
            lag_critical: Some(5.0),
            lag_warning: Some(1.0),
            ..Default::default()
        };
        let t = base.with_overrides(&o);
        assert_eq!(t.lag_critical, 5.0);
        assert_eq!(t.lag_warning, 1.0);
        assert_eq!(t.backpressure_critical, base.backpressure_critical);
    }

    #[test]
    fn validate_names_the_field_to_fix() {
        let t = Thresholds {
            lag_warning: 10.0,
            lag_critical: 5.0,
            ..Default::default()
        };
        let err = t.validate().unwrap_err();
        assert!(
            err.contains("lagWarning") && err.contains("lagCritical"),
            "{err}"
        );
        let t = Thresholds {
            backpressure_critical: 80.0,
            backpressure_warning: 50.0,
            ..Default::default()
        };
        assert!(t.validate().unwrap_err().contains("backpressureCritical"));
        assert!(Thresholds::default().validate().is_ok());
    }

    #[test]
    fn partial_json_keeps_defaults() {
        let t: Thresholds = serde_json::from_str(r#"{"lagCritical": 42}"#).unwrap();
        assert_eq!(t.lag_critical, 42.0);
        assert_eq!(t.lag_warning, Thresholds::default().lag_warning);
    }
}
