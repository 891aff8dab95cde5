//! Small builders for Grafana data frames, so every query sets display names and units the same
//! way (Grafana's unit ids: "short", "s", "ms", "percentunit", "bytes", "reqps", ...).

use grafana_plugin_sdk::data::{Field, FieldConfig, Metadata};
use grafana_plugin_sdk::prelude::*;
use pipeline_model::rules::Verdict;

/// Field config with a display name and, optionally, a Grafana unit id.
pub fn config(display_name: &str, unit: Option<&str>) -> FieldConfig {
    let mut c = FieldConfig::default();
    c.display_name = Some(display_name.to_string());
    c.unit = unit.map(str::to_string);
    c
}

/// Attach a display name and unit to a field.
pub fn describe(field: Field, display_name: &str, unit: Option<&str>) -> Field {
    field.with_config(config(display_name, unit))
}

/// The three columns every verdict is shown with: `status` (ok, warning, critical, unknown),
/// `code` (its number, for thresholds and alerts) and `reason`.
pub fn verdict_fields<'a>(verdicts: impl Iterator<Item = &'a Verdict> + Clone) -> [Field; 3] {
    [
        verdicts
            .clone()
            .map(|v| v.health.as_str())
            .into_field("status"),
        describe(
            verdicts.clone().map(|v| v.health.code()).into_field("code"),
            "Status code",
            None,
        ),
        verdicts.map(|v| v.reason.clone()).into_field("reason"),
    ]
}

/// Frame metadata whose `meta.custom` is `custom` with the keys of `extra` added.
pub fn custom_meta(mut custom: serde_json::Value, extra: serde_json::Value) -> Metadata {
    if let (Some(c), Some(e)) = (custom.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    let mut meta = Metadata::default();
    meta.custom = custom.as_object().cloned();
    meta
}
