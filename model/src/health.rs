//! Health states, ordered by how much attention they need.

use serde::{Deserialize, Serialize};

/// Verdict for a node, a component or the whole pipeline.
///
/// The order matters: `Ok < Unknown < Warning < Critical`, so the worst of several verdicts is
/// their maximum. `Unknown` ranks above `Ok` because "we could not look" must never read as
/// "all good".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    Unknown,
    Warning,
    Critical,
}

impl Health {
    /// Numeric code used in alerting series: 0 ok, 1 warning, 2 critical, 3 unknown.
    /// Alert rules compare against these, so the values are part of the public contract.
    pub fn code(self) -> i64 {
        match self {
            Health::Ok => 0,
            Health::Warning => 1,
            Health::Critical => 2,
            Health::Unknown => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Warning => "warning",
            Health::Critical => "critical",
            Health::Unknown => "unknown",
        }
    }

    /// Grafana palette colour names, so the built-in Node Graph and our panel agree.
    pub fn color(self) -> &'static str {
        self.colors().palette
    }

    /// Position in [`HEALTH_COLORS`] (and in every list ordered like it: ok, warning, critical,
    /// unknown).
    pub fn slot(self) -> usize {
        match self {
            Health::Ok => 0,
            Health::Warning => 1,
            Health::Critical => 2,
            Health::Unknown => 3,
        }
    }

    /// How this state is coloured.
    pub fn colors(self) -> &'static HealthColors {
        &HEALTH_COLORS[self.slot()]
    }

    /// The worst of a set of verdicts; `Ok` for an empty set.
    pub fn worst(items: impl IntoIterator<Item = Health>) -> Health {
        items.into_iter().max().unwrap_or(Health::Ok)
    }

    /// Grade a value where higher is worse.
    pub fn grade(value: f64, warning: f64, critical: f64) -> Health {
        if value.is_nan() {
            Health::Unknown
        } else if value >= critical {
            Health::Critical
        } else if value >= warning {
            Health::Warning
        } else {
            Health::Ok
        }
    }
}

/// How a health state is coloured, everywhere it is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthColors {
    pub health: Health,
    /// Grafana palette name: what the frames' `color` field and arc thresholds carry, and what
    /// the panel shim resolves with the live theme (`theme.visualization.getColorByName`).
    pub palette: &'static str,
    /// Hex in the dark theme: the panel's colour until the shim hands over Grafana's.
    pub dark: &'static str,
    /// Hex in the light theme (Grafana's `getColorByName` of `palette` in the light theme).
    pub light: &'static str,
}

/// Health colours in slot order (ok, warning, critical, unknown), the one definition the panel
/// and the generated TypeScript (`cargo xtask contract`) read.
pub const HEALTH_COLORS: [HealthColors; 4] = [
    HealthColors {
        health: Health::Ok,
        palette: "green",
        dark: "#73bf69",
        light: "#56a64b",
    },
    HealthColors {
        health: Health::Warning,
        palette: "orange",
        dark: "#ff9830",
        light: "#ff780a",
    },
    HealthColors {
        health: Health::Critical,
        palette: "red",
        dark: "#f2495c",
        light: "#e02f44",
    },
    HealthColors {
        health: Health::Unknown,
        palette: "gray",
        dark: "#8e8e8e",
        light: "#808080",
    },
];

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_prefers_critical_then_warning_then_unknown() {
        assert_eq!(
            Health::worst([Health::Ok, Health::Unknown]),
            Health::Unknown
        );
        assert_eq!(
            Health::worst([Health::Unknown, Health::Warning]),
            Health::Warning
        );
        assert_eq!(
            Health::worst([Health::Critical, Health::Warning]),
            Health::Critical
        );
        assert_eq!(Health::worst([]), Health::Ok);
    }

    #[test]
    fn grade_uses_inclusive_thresholds() {
        assert_eq!(Health::grade(0.79, 0.5, 0.8), Health::Warning);
        assert_eq!(Health::grade(0.8, 0.5, 0.8), Health::Critical);
        assert_eq!(Health::grade(0.1, 0.5, 0.8), Health::Ok);
        assert_eq!(Health::grade(f64::NAN, 0.5, 0.8), Health::Unknown);
    }

    #[test]
    fn codes_are_stable_for_alert_rules() {
        let codes: Vec<i64> = [
            Health::Ok,
            Health::Warning,
            Health::Critical,
            Health::Unknown,
        ]
        .iter()
        .map(|h| h.code())
        .collect();
        assert_eq!(codes, vec![0, 1, 2, 3]);
    }

    #[test]
    fn colour_slots_follow_the_table() {
        for (i, c) in HEALTH_COLORS.iter().enumerate() {
            assert_eq!(c.health.slot(), i);
            assert_eq!(c.health.colors(), c);
        }
        assert_eq!(Health::Critical.color(), "red");
        assert_eq!(Health::Unknown.color(), "gray");
    }
}
