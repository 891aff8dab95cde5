//! Small builders for Grafana data frames, so every query sets display names and units the same
//! way (Grafana's unit ids: "short", "s", "ms", "percentunit", "bytes", "reqps", ...).

use grafana_plugin_sdk::data::{Field, FieldConfig};

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
