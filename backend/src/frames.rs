//! Small builders for Grafana data frames, so every query sets display names and units the same
//! way (Grafana's unit ids: "short", "s", "ms", "percentunit", "bytes", "reqps", ...).

use grafana_plugin_sdk::data::{Field, FieldConfig, Frame, Metadata};
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

/// The columns of one frame, each computed from every row: `.col` for a value per row, `.opt`
/// for a value that may be absent (null), `.shown` for the display name and unit of the column
/// just added.
pub struct Columns<'r, R> {
    rows: &'r [R],
    fields: Vec<Field>,
}

impl<'r, R> Columns<'r, R> {
    pub fn over(rows: &'r [R]) -> Self {
        Columns {
            rows,
            fields: Vec::new(),
        }
    }

    /// A column of `f(row)` for every row.
    pub fn col<F, T>(mut self, name: &str, f: F) -> Self
    where
        F: FnMut(&'r R) -> T,
        std::iter::Map<std::slice::Iter<'r, R>, F>: IntoField,
    {
        self.fields.push(self.rows.iter().map(f).into_field(name));
        self
    }

    /// A column of `f(row)` for every row, `None` as null.
    pub fn opt<F, T>(mut self, name: &str, f: F) -> Self
    where
        F: FnMut(&'r R) -> T,
        std::iter::Map<std::slice::Iter<'r, R>, F>: IntoOptField,
    {
        self.fields
            .push(self.rows.iter().map(f).into_opt_field(name));
        self
    }

    /// Display name and unit of the column added last.
    pub fn shown(mut self, display_name: &str, unit: Option<&str>) -> Self {
        if let Some(field) = self.fields.pop() {
            self.fields.push(describe(field, display_name, unit));
        }
        self
    }

    /// Columns built elsewhere (shared ones such as [`verdict_fields`]), in order.
    pub fn fields(mut self, fields: impl IntoIterator<Item = Field>) -> Self {
        self.fields.extend(fields);
        self
    }

    pub fn frame(self, name: &str) -> Frame {
        Frame::new(name).with_fields(self.fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        name: &'static str,
        lag: Option<i64>,
        verdict: Verdict,
    }

    #[test]
    fn columns_build_the_same_fields_as_writing_them_out() {
        let rows = [
            Row {
                name: "a",
                lag: Some(3),
                verdict: Verdict::ok("fine"),
            },
            Row {
                name: "b",
                lag: None,
                verdict: Verdict::unknown(pipeline_model::ReasonCode::GroupNoCommits, "no commit"),
            },
        ];
        let by_hand = Frame::new("f").with_fields(
            [
                rows.iter().map(|r| r.name).into_field("name"),
                describe(
                    rows.iter().map(|r| r.lag).into_opt_field("lag"),
                    "Lag",
                    Some("short"),
                ),
            ]
            .into_iter()
            .chain(verdict_fields(rows.iter().map(|r| &r.verdict))),
        );
        let built = Columns::over(&rows)
            .col("name", |r| r.name)
            .opt("lag", |r| r.lag)
            .shown("Lag", Some("short"))
            .fields(verdict_fields(rows.iter().map(|r| &r.verdict)))
            .frame("f");
        assert_eq!(format!("{built:?}"), format!("{by_hand:?}"));
    }
}
