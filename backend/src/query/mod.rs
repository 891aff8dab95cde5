//! Typed queries: the JSON a Grafana panel sends, parsed per query so that one malformed query
//! gets its own error naming the bad field while the others in the request still run.

pub mod topology;

use std::time::Duration;

use pipeline_model::thresholds::ThresholdOverrides;
use pipeline_model::QueryType;
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
    /// Answer once, then push a new answer over Grafana Live every `liveIntervalSeconds`
    /// (see [`crate::live`]).
    pub live: bool,
    pub live_interval_seconds: Option<f64>,
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
    Topology(topology::TopologyQuery),
    Health(topology::HealthQuery),
    ConsumerLag(crate::kafka::query::LagQuery),
    TimeLag(crate::kafka::query::LagQuery),
    ClusterHealth(crate::kafka::query::ClusterHealthQuery),
    Jobs(crate::flink::query::FlinkQuery),
    JobGraph(crate::flink::query::FlinkQuery),
    Backpressure(crate::flink::query::FlinkQuery),
    Watermarks(crate::flink::query::FlinkQuery),
    Checkpoints(crate::flink::query::FlinkQuery),
    TaskManagers(crate::flink::query::FlinkQuery),
}

impl QueryKind {
    /// The query type this query is, from the one table of query types.
    pub fn query_type(&self) -> QueryType {
        match self {
            QueryKind::Topology(_) => QueryType::Topology,
            QueryKind::Health(_) => QueryType::Health,
            QueryKind::ConsumerLag(_) => QueryType::ConsumerLag,
            QueryKind::TimeLag(_) => QueryType::TimeLag,
            QueryKind::ClusterHealth(_) => QueryType::ClusterHealth,
            QueryKind::Jobs(_) => QueryType::Jobs,
            QueryKind::JobGraph(_) => QueryType::JobGraph,
            QueryKind::Backpressure(_) => QueryType::Backpressure,
            QueryKind::Watermarks(_) => QueryType::Watermarks,
            QueryKind::Checkpoints(_) => QueryType::Checkpoints,
            QueryKind::TaskManagers(_) => QueryType::TaskManagers,
        }
    }

    /// The wire name of this query's type.
    pub fn name(&self) -> &'static str {
        self.query_type().name()
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
            if let Some(problem) = pipeline_model::timeouts::timeout_problem(t) {
                return Err(QueryError::InvalidQuery(format!(
                    "field `timeoutSeconds` {problem}"
                )));
            }
        }
        if let Some(t) = common.live_interval_seconds {
            if let Some(problem) = pipeline_model::timeouts::live_interval_problem(t) {
                return Err(QueryError::InvalidQuery(format!(
                    "field `liveIntervalSeconds` {problem}"
                )));
            }
        }
        let Some(query_type) = QueryType::from_name(query_type) else {
            return Err(QueryError::InvalidQuery(format!(
                "field `queryType`: unknown query type `{query_type}`; expected one of: {}",
                QueryType::names().collect::<Vec<_>>().join(", ")
            )));
        };
        let kind = match query_type {
            QueryType::Topology => QueryKind::Topology(parse_fields(json)?),
            QueryType::Health => QueryKind::Health(parse_fields(json)?),
            QueryType::ConsumerLag => QueryKind::ConsumerLag(parse_fields(json)?),
            QueryType::TimeLag => QueryKind::TimeLag(parse_fields(json)?),
            QueryType::ClusterHealth => QueryKind::ClusterHealth(parse_fields(json)?),
            QueryType::Jobs => QueryKind::Jobs(parse_fields(json)?),
            QueryType::JobGraph => QueryKind::JobGraph(parse_fields(json)?),
            QueryType::Backpressure => QueryKind::Backpressure(parse_fields(json)?),
            QueryType::Watermarks => QueryKind::Watermarks(parse_fields(json)?),
            QueryType::Checkpoints => QueryKind::Checkpoints(parse_fields(json)?),
            QueryType::TaskManagers => QueryKind::TaskManagers(parse_fields(json)?),
        };
        Ok(ParsedQuery { kind, common })
    }

    /// The datasource's thresholds with this query's overrides applied, checked by the same
    /// rules as the settings' (an override may only be wrong against the datasource's values,
    /// e.g. a warning above the datasource's critical).
    pub fn thresholds(
        &self,
        datasource: &pipeline_model::Thresholds,
    ) -> Result<pipeline_model::Thresholds, QueryError> {
        match &self.common.thresholds {
            Some(o) => {
                let t = datasource.with_overrides(o);
                t.validate()
                    .map_err(|e| QueryError::InvalidQuery(format!("field `thresholds`: {e}")))?;
                Ok(t)
            }
            None => Ok(datasource.clone()),
        }
    }

    /// How often a live query pushes a new answer; `None` for a query that is not live.
    pub fn live_interval(&self) -> Option<Duration> {
        self.common.live.then(|| {
            Duration::from_secs_f64(
                self.common
                    .live_interval_seconds
                    .unwrap_or(pipeline_model::timeouts::LIVE_INTERVAL_DEFAULT_SECONDS),
            )
        })
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
    fn unknown_query_type_error_lists_every_name_in_table_order() {
        let err = ParsedQuery::parse("lagg", &json!({}))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "field `queryType`: unknown query type `lagg`; expected one of: topology, health, \
                 consumerLag, timeLag, clusterHealth, jobs, jobGraph, backpressure, watermarks, \
                 checkpoints, taskManagers"
            ),
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

    #[test]
    fn an_out_of_range_timeout_is_echoed_compactly() {
        let err = ParsedQuery::parse("health", &json!({"timeoutSeconds": 1e308}))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("got 1e308"), "{err}");
        // The same rule as the datasource's: a positive timeout too short to ask anything.
        let err = ParsedQuery::parse("health", &json!({"timeoutSeconds": 1e-300}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("between 0.1 and 300 seconds") && err.ends_with("got 1e-300"),
            "{err}"
        );
    }

    #[test]
    fn a_live_query_has_an_interval_in_range_and_others_none() {
        let plain = ParsedQuery::parse("topology", &json!({})).unwrap();
        assert_eq!(plain.live_interval(), None);
        let live = ParsedQuery::parse("topology", &json!({"live": true})).unwrap();
        assert_eq!(live.live_interval(), Some(Duration::from_secs(10)));
        let every2 =
            ParsedQuery::parse("topology", &json!({"live": true, "liveIntervalSeconds": 2}));
        assert_eq!(
            every2.unwrap().live_interval(),
            Some(Duration::from_secs(2))
        );
        let err = ParsedQuery::parse(
            "topology",
            &json!({"live": true, "liveIntervalSeconds": 0.01}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with(
                "field `liveIntervalSeconds` must be between 1 and 3600 seconds, got 0.01"
            ),
            "{err}"
        );
    }

    #[test]
    fn overridden_thresholds_are_validated_over_the_datasource_ones() {
        let ds = pipeline_model::Thresholds::default();
        let q = ParsedQuery::parse(
            "health",
            &json!({"thresholds": {"lagWarning": 10, "lagCritical": 1}}),
        )
        .unwrap();
        let err = q.thresholds(&ds).unwrap_err().to_string();
        assert!(
            err.contains("field `thresholds`: threshold lagWarning (10) is above lagCritical (1)"),
            "{err}"
        );
        // Valid only together with the datasource's values: a warning above its critical.
        let q =
            ParsedQuery::parse("health", &json!({"thresholds": {"lagWarning": 20000}})).unwrap();
        assert!(q
            .thresholds(&ds)
            .unwrap_err()
            .to_string()
            .contains("lagCritical (10000)"));
        let q =
            ParsedQuery::parse("health", &json!({"thresholds": {"lagCritical": 5000}})).unwrap();
        assert_eq!(q.thresholds(&ds).unwrap().lag_critical, 5000.0);
    }
}
