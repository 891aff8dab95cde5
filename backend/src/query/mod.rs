//! Typed queries: the JSON a Grafana panel sends, parsed per query so that one malformed query
//! gets its own error naming the bad field while the others in the request still run.

pub mod health;

use std::time::Duration;

use pipeline_model::thresholds::ThresholdOverrides;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::QueryError;

/// Fields every query type may carry besides its own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CommonOptions {
    /// Overrides the datasource's query timeout for this query (seconds).
    pub timeout_seconds: Option<f64>,
    /// Overrides single thresholds of the datasource for this query.
    pub thresholds: Option<ThresholdOverrides>,
}

/// One parsed query.
#[derive(Debug, Clone)]
pub struct ParsedQuery {
    pub kind: QueryKind,
    pub common: CommonOptions,
}

/// What a query asks for. Each variant's fields are parsed from the same JSON object.
#[derive(Debug, Clone)]
pub enum QueryKind {
    Health(health::HealthQuery),
}

/// Every query type name the front end may send, with whether this backend serves it yet.
pub const QUERY_TYPES: &[&str] = &["health"];

impl QueryKind {
    pub fn name(&self) -> &'static str {
        match self {
            QueryKind::Health(_) => "health",
        }
    }
}

impl ParsedQuery {
    /// Parse one query. `query_type` comes from Grafana's `queryType` (the proto field); the
    /// JSON model's own `queryType` is the fallback for clients that only set it there.
    pub fn parse(query_type: &str, json: &serde_json::Value) -> Result<ParsedQuery, QueryError> {
        if !json.is_object() && !json.is_null() {
            return Err(QueryError::InvalidQuery(
                "the query must be a JSON object".into(),
            ));
        }
        let query_type = if query_type.is_empty() {
            json.get("queryType").and_then(|v| v.as_str()).unwrap_or("")
        } else {
            query_type
        };
        let common: CommonOptions = parse_fields(json)?;
        if let Some(t) = common.timeout_seconds {
            if !(t.is_finite() && t > 0.0 && t <= 300.0) {
                return Err(QueryError::InvalidQuery(format!(
                    "field `timeoutSeconds` must be between 0 and 300, got {t}"
                )));
            }
        }
        let kind = match query_type {
            "health" | "" => QueryKind::Health(parse_fields(json)?),
            other => {
                return Err(QueryError::InvalidQuery(format!(
                    "field `queryType`: unknown query type `{other}`; expected one of: {}",
                    QUERY_TYPES.join(", ")
                )))
            }
        };
        Ok(ParsedQuery { kind, common })
    }

    /// The timeout for this query: its own override, else the datasource's.
    pub fn timeout(&self, datasource_default: Duration) -> Duration {
        self.common
            .timeout_seconds
            .map(Duration::from_secs_f64)
            .unwrap_or(datasource_default)
    }
}

/// Deserialize `T` from the query JSON; on failure, name the field that is wrong.
pub fn parse_fields<T: DeserializeOwned>(json: &serde_json::Value) -> Result<T, QueryError> {
    let json = if json.is_null() {
        &serde_json::Value::Object(Default::default())
    } else {
        json
    };
    serde_path_to_error::deserialize(json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            QueryError::InvalidQuery(inner.to_string())
        } else {
            QueryError::InvalidQuery(format!("field `{path}`: {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_query_type_lists_the_known_ones() {
        let err = ParsedQuery::parse("lagg", &json!({}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`queryType`") && err.contains("health"),
            "{err}"
        );
    }

    #[test]
    fn wrong_field_type_names_the_field() {
        let err = ParsedQuery::parse("health", &json!({"timeoutSeconds": "soon"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("timeoutSeconds"), "{err}");
        let err = ParsedQuery::parse("health", &json!({"thresholds": {"lagCritical": "x"}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("thresholds.lagCritical"), "{err}");
    }

    #[test]
    fn grafana_fields_are_tolerated() {
        let q = ParsedQuery::parse(
            "health",
            &json!({"refId": "A", "datasource": {"uid": "x"}, "hide": false, "intervalMs": 1000}),
        )
        .unwrap();
        assert_eq!(q.kind.name(), "health");
    }

    #[test]
    fn query_type_falls_back_to_the_json_model() {
        let q = ParsedQuery::parse("", &json!({"queryType": "health"})).unwrap();
        assert_eq!(q.kind.name(), "health");
    }
}
