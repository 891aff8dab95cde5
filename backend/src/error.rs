//! Errors a Grafana user sees. Every message says what to fix; none carries a secret.

use grafana_plugin_sdk::backend::{DataQueryError, DataQueryStatus};
use thiserror::Error;

/// Why one query failed. The other queries of the same request are unaffected.
#[derive(Debug, Error)]
pub enum QueryError {
    #[error("invalid query: {0}")]
    InvalidQuery(String),

    #[error("datasource settings: {0}")]
    Settings(#[from] crate::settings::SettingsError),

    /// A Kafka setting that does not parse or that librdkafka refused: the Kafka queries fail
    /// with it, the Flink ones still answer.
    #[error("datasource settings: {0} (Kafka only: the Flink queries still answer)")]
    KafkaSetup(#[from] crate::kafka::config::KafkaSetupError),

    #[error(
        "query type `{query_type}` needs {component} to be configured in the datasource settings"
    )]
    NotConfigured {
        query_type: &'static str,
        component: &'static str,
    },

    #[error("no answer within {seconds:.1} s (query timeout); check that {target} answers, or raise timeoutSeconds")]
    Timeout { seconds: f64, target: &'static str },

    #[error("{0}")]
    Upstream(String),
}

impl QueryError {
    /// A copy for each query of a request that shares one failure (bad datasource settings).
    pub fn shared_copy(&self) -> QueryError {
        match self {
            QueryError::Settings(s) => QueryError::Settings(s.clone()),
            QueryError::KafkaSetup(s) => QueryError::KafkaSetup(s.clone()),
            QueryError::InvalidQuery(m) => QueryError::InvalidQuery(m.clone()),
            other => QueryError::Upstream(other.to_string()),
        }
    }

    pub fn status(&self) -> DataQueryStatus {
        match self {
            QueryError::InvalidQuery(_)
            | QueryError::Settings(_)
            | QueryError::KafkaSetup(_)
            | QueryError::NotConfigured { .. } => DataQueryStatus::BadRequest,
            QueryError::Timeout { .. } => DataQueryStatus::Timeout,
            QueryError::Upstream(_) => DataQueryStatus::BadGateway,
        }
    }
}

/// A [`QueryError`] tagged with the query it belongs to, as the SDK requires.
#[derive(Debug, Error)]
#[error("{error}")]
pub struct RefIdError {
    pub ref_id: String,
    pub error: QueryError,
}

impl DataQueryError for RefIdError {
    fn ref_id(self) -> String {
        self.ref_id
    }

    fn status(&self) -> DataQueryStatus {
        self.error.status()
    }
}
