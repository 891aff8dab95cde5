//! Grafana data frames as the shim hands them over: column by column, numbers already formatted
//! by Grafana's display processor (units, decimals, threshold colours), so the panel shows the
//! same text as every other Grafana panel without reimplementing unit formatting.

#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Text(Vec<String>),
    Number {
        values: Vec<f64>,
        /// Grafana's formatted text of each value ("1.2 K", "35 s").
        display: Vec<String>,
        /// Threshold colour of each value (empty when the field has none).
        colors: Vec<String>,
    },
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::Number { values, .. } => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw value as text (numbers without unit), for ids and names.
    pub fn raw_text(&self, row: usize) -> Option<String> {
        match self {
            Column::Text(v) => v.get(row).cloned(),
            Column::Number { values, .. } => values.get(row).filter(|v| v.is_finite()).map(|v| {
                if v.fract() == 0.0 && v.abs() < 1e15 {
                    format!("{}", *v as i64)
                } else {
                    format!("{v}")
                }
            }),
        }
    }

    /// The value as Grafana would display it.
    pub fn display(&self, row: usize) -> Option<String> {
        match self {
            Column::Text(v) => v.get(row).cloned(),
            Column::Number {
                values, display, ..
            } => match display.get(row) {
                Some(d) if !d.is_empty() => Some(d.clone()),
                _ => self.raw_text(row).filter(|_| values.get(row).is_some()),
            },
        }
    }

    pub fn color(&self, row: usize) -> Option<String> {
        match self {
            Column::Number { colors, .. } => colors.get(row).filter(|c| !c.is_empty()).cloned(),
            Column::Text(_) => None,
        }
    }

    pub fn number(&self, row: usize) -> Option<f64> {
        match self {
            Column::Number { values, .. } => values.get(row).copied().filter(|v| v.is_finite()),
            Column::Text(v) => v.get(row).and_then(|s| s.trim().parse().ok()),
        }
    }

    /// Booleans arrive as numbers (0/1) or as text ("true").
    pub fn flag(&self, row: usize) -> bool {
        match self {
            Column::Number { values, .. } => values.get(row).is_some_and(|&v| v != 0.0),
            Column::Text(v) => v
                .get(row)
                .is_some_and(|s| matches!(s.trim(), "true" | "1" | "yes")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// Grafana's display name for the field (its config `displayName`, else the name).
    pub label: String,
    pub column: Column,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    pub name: String,
    pub fields: Vec<Field>,
    /// The frame's `meta.custom` entries, each as text (a list as its items).
    pub meta: Vec<(String, Vec<String>)>,
}

impl Frame {
    /// The values of a `meta.custom` key (an empty slice when absent or null).
    pub fn meta(&self, key: &str) -> &[String] {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub fn rows(&self) -> usize {
        self.fields
            .iter()
            .map(|f| f.column.len())
            .max()
            .unwrap_or(0)
    }

    pub fn field_names(&self) -> String {
        if self.fields.is_empty() {
            return "no fields".to_string();
        }
        self.fields
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What the panel received for one render: frames, or the query's error.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PanelData {
    pub frames: Vec<Frame>,
    pub error: Option<String>,
}
