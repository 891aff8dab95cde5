//! Limits behind every verdict, each defined once in the `thresholds!` list below: its Rust
//! field, its camelCase key (settings and query JSON), the label and unit the editors show, its
//! default and its doc. The defaults are the operators' rules: backpressure critical at 80 %,
//! checkpoints overdue after 3 expected intervals, and so on. A datasource sets its own; a query
//! may override any single field. The front end's table is generated from [`THRESHOLDS`]
//! (`cargo xtask contract`), and a test fails when the two drift.

use serde::{Deserialize, Serialize};

/// One row of the thresholds table, as the editors show it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ThresholdSpec {
    /// The camelCase key in settings and query JSON (the serde name of the field).
    pub key: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub default: f64,
}

// The struct, its default, the per-query overrides, `with_overrides` and the table all come from
// one list, so a threshold cannot be added to one and missed in another. A row:
//     /// doc
//     field: "camelCaseKey", "Editor label", "unit" = default;
macro_rules! thresholds {
    ($($(#[doc = $doc:literal])+ $field:ident: $key:literal, $label:literal, $unit:literal = $default:expr;)+) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Thresholds {
            $($(#[doc = $doc])+ #[serde(rename = $key)] pub $field: f64,)+
        }

        impl Default for Thresholds {
            fn default() -> Self {
                Thresholds {
                    $($field: $default,)+
                }
            }
        }

        /// Per-query overrides: every field optional, applied over the datasource's thresholds.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ThresholdOverrides {
            $($(#[doc = $doc])+ #[serde(rename = $key)] pub $field: Option<f64>,)+
        }

        /// Every threshold with its default, in the order the editors list them.
        pub const THRESHOLDS: &[ThresholdSpec] = &[
            $(ThresholdSpec { key: $key, label: $label, unit: $unit, default: $default },)+
        ];

        impl Thresholds {
            /// These thresholds with a query's overrides applied.
            pub fn with_overrides(&self, o: &ThresholdOverrides) -> Thresholds {
                Thresholds {
                    $($field: o.$field.unwrap_or(self.$field),)+
                }
            }

            /// The value under a camelCase key (a [`ThresholdSpec::key`]).
            pub fn get(&self, key: &str) -> Option<f64> {
                match key {
                    $($key => Some(self.$field),)+
                    _ => None,
                }
            }
        }

        /// The Rust field of each row, for the test that keys are their camelCase.
        #[cfg(test)]
        const FIELD_NAMES: &[&str] = &[$(stringify!($field),)+];
    };
}

thresholds! {
    /// Consumer lag in messages: warning.
    lag_warning: "lagWarning", "Lag warning", "messages" = 1_000.0;
    /// Consumer lag in messages: critical.
    lag_critical: "lagCritical", "Lag critical", "messages" = 10_000.0;
    /// Consumer time lag (seconds behind the head of the partition): warning.
    time_lag_warning_seconds: "timeLagWarningSeconds", "Time lag warning", "s" = 60.0;
    /// Consumer time lag (seconds behind the head of the partition): critical.
    time_lag_critical_seconds: "timeLagCriticalSeconds", "Time lag critical", "s" = 300.0;
    /// Backpressured ratio of a vertex (0..1): warning.
    backpressure_warning: "backpressureWarning", "Backpressure warning", "ratio 0..1" = 0.5;
    /// Backpressured ratio of a vertex (0..1): critical.
    backpressure_critical: "backpressureCritical", "Backpressure critical", "ratio 0..1" = 0.8;
    /// Busy ratio above which a vertex can be named the bottleneck (0..1).
    busy_bottleneck: "busyBottleneck", "Busy bottleneck", "ratio 0..1" = 0.8;
    /// Watermark lag behind wall clock: warning.
    watermark_lag_warning_seconds: "watermarkLagWarningSeconds", "Watermark lag warning", "s" = 60.0;
    /// Watermark lag behind wall clock: critical.
    watermark_lag_critical_seconds: "watermarkLagCriticalSeconds", "Watermark lag critical", "s" = 300.0;
    /// A watermark that did not move for this long is "stalled".
    watermark_stalled_seconds: "watermarkStalledSeconds", "Watermark stalled after", "s" = 120.0;
    /// Expected checkpoint interval.
    checkpoint_interval_seconds: "checkpointIntervalSeconds", "Checkpoint interval", "s" = 60.0;
    /// How many expected intervals old the last completed checkpoint may be.
    checkpoint_age_factor: "checkpointAgeFactor", "Checkpoint age factor", "intervals" = 3.0;
    /// TaskManager heap used / max (0..1): warning.
    heap_warning: "heapWarning", "Heap warning", "ratio 0..1" = 0.85;
    /// TaskManager heap used / max (0..1): critical.
    heap_critical: "heapCritical", "Heap critical", "ratio 0..1" = 0.95;
    /// TaskManager CPU load (0..1): warning.
    cpu_warning: "cpuWarning", "CPU warning", "ratio 0..1" = 0.9;
    /// TaskManager CPU load (0..1): critical.
    cpu_critical: "cpuCritical", "CPU critical", "ratio 0..1" = 0.98;
}

/// (warning, critical) keys where the warning may not be above the critical.
pub const WARNING_CRITICAL_PAIRS: &[(&str, &str)] = &[
    ("lagWarning", "lagCritical"),
    ("timeLagWarningSeconds", "timeLagCriticalSeconds"),
    ("backpressureWarning", "backpressureCritical"),
    ("watermarkLagWarningSeconds", "watermarkLagCriticalSeconds"),
    ("heapWarning", "heapCritical"),
    ("cpuWarning", "cpuCritical"),
];

/// Ratios the backend rejects above 1.
pub const RATIOS_AT_MOST_ONE: &[&str] = &[
    "backpressureCritical",
    "busyBottleneck",
    "heapCritical",
    "cpuCritical",
];

/// Thresholds that must be more than 0.
pub const POSITIVE: &[&str] = &["checkpointIntervalSeconds", "checkpointAgeFactor"];

impl Thresholds {
    /// Reject settings no operator means (warning above critical, ratios outside 0..1), with a
    /// message naming the field to fix.
    pub fn validate(&self) -> Result<(), String> {
        let value = |key: &str| self.get(key).expect("the tables above name thresholds");
        for &(wn, cn) in WARNING_CRITICAL_PAIRS {
            let (w, c) = (value(wn), value(cn));
            if !(w.is_finite() && c.is_finite()) || w < 0.0 || c < 0.0 {
                return Err(format!(
                    "thresholds {wn} and {cn} must be non-negative numbers"
                ));
            }
            if w > c {
                return Err(format!(
                    "threshold {wn} ({}) is above {cn} ({}); lower {wn} or raise {cn}",
                    crate::shown(w),
                    crate::shown(c)
                ));
            }
        }
        for &name in RATIOS_AT_MOST_ONE {
            let v = value(name);
            if v > 1.0 {
                return Err(format!(
                    "threshold {name} is a ratio between 0 and 1, got {}",
                    crate::shown(v)
                ));
            }
        }
        if POSITIVE.iter().any(|&k| value(k) <= 0.0) {
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

    #[test]
    fn the_table_keys_are_the_serde_names_and_defaults() {
        let json = serde_json::to_value(Thresholds::default()).unwrap();
        let obj = json.as_object().unwrap();
        assert_eq!(obj.len(), THRESHOLDS.len());
        for (spec, field) in THRESHOLDS.iter().zip(FIELD_NAMES) {
            // The key is the field in camelCase (the JSON shape predates the table).
            let mut camel = String::new();
            let mut upper = false;
            for ch in field.chars() {
                if ch == '_' {
                    upper = true;
                } else if upper {
                    camel.push(ch.to_ascii_uppercase());
                    upper = false;
                } else {
                    camel.push(ch);
                }
            }
            assert_eq!(spec.key, camel);
            assert_eq!(obj[spec.key], spec.default, "{}", spec.key);
            assert_eq!(Thresholds::default().get(spec.key), Some(spec.default));
        }
        let keys: Vec<&str> = THRESHOLDS.iter().map(|s| s.key).collect();
        for key in WARNING_CRITICAL_PAIRS
            .iter()
            .flat_map(|(w, c)| [w, c])
            .chain(RATIOS_AT_MOST_ONE)
            .chain(POSITIVE)
        {
            assert!(keys.contains(key), "{key} is not a threshold");
        }
    }

    #[test]
    fn overrides_use_the_same_keys_and_reject_unknown_ones() {
        let o: ThresholdOverrides =
            serde_json::from_str(r#"{"timeLagWarningSeconds": 5, "cpuCritical": 0.5}"#).unwrap();
        assert_eq!(o.time_lag_warning_seconds, Some(5.0));
        assert_eq!(o.cpu_critical, Some(0.5));
        assert!(serde_json::from_str::<ThresholdOverrides>(r#"{"lag_warning": 5}"#).is_err());
        let t = Thresholds::default().with_overrides(&ThresholdOverrides::default());
        assert_eq!(t, Thresholds::default());
    }
}
