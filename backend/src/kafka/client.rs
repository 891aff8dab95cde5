//! The Kafka client of one datasource instance. librdkafka keeps broker connections open, so
//! one client is reused by every query until the datasource's settings change.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as RdKafkaError;
use thiserror::Error;

use crate::settings::KafkaSettings;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum KafkaError {
    #[error("Kafka client settings were rejected: {0}")]
    Config(String),
    #[error("cannot reach Kafka at {servers}: {reason}")]
    Unreachable { servers: String, reason: String },
    #[error("Kafka did not answer within {seconds:.1} s ({servers}); check the bootstrap servers and the network")]
    Timeout { servers: String, seconds: f64 },
}

/// Summary of the cluster as the metadata request sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMetadata {
    pub brokers: Vec<(i32, String)>,
    pub topics: usize,
    pub partitions: usize,
}

#[derive(Clone)]
pub struct KafkaClient {
    consumer: Arc<BaseConsumer>,
    servers: String,
}

impl KafkaClient {
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        let consumer: BaseConsumer = client_config(settings)
            .create()
            .map_err(|e| KafkaError::Config(e.to_string()))?;
        Ok(KafkaClient {
            consumer: Arc::new(consumer),
            servers: settings.bootstrap_servers.clone(),
        })
    }

    pub fn consumer(&self) -> &Arc<BaseConsumer> {
        &self.consumer
    }

    pub fn servers(&self) -> &str {
        &self.servers
    }

    /// Ask any broker for the cluster metadata. librdkafka's calls block, so they run on
    /// tokio's blocking pool and never stall the gRPC server.
    pub async fn metadata(&self, timeout: Duration) -> Result<ClusterMetadata, KafkaError> {
        let consumer = self.consumer.clone();
        let servers = self.servers.clone();
        let result = tokio::task::spawn_blocking(move || consumer.fetch_metadata(None, timeout))
            .await
            .map_err(|e| KafkaError::Unreachable {
                servers: servers.clone(),
                reason: e.to_string(),
            })?;
        match result {
            Ok(md) => Ok(ClusterMetadata {
                brokers: md
                    .brokers()
                    .iter()
                    .map(|b| (b.id(), format!("{}:{}", b.host(), b.port())))
                    .collect(),
                topics: md.topics().len(),
                partitions: md.topics().iter().map(|t| t.partitions().len()).sum(),
            }),
            Err(RdKafkaError::MetadataFetch(
                rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
            )) => Err(KafkaError::Timeout {
                servers,
                seconds: timeout.as_secs_f64(),
            }),
            Err(e) => Err(KafkaError::Unreachable {
                servers,
                reason: e.to_string(),
            }),
        }
    }
}

/// librdkafka configuration for the settings. Secrets go only into librdkafka's config, which
/// never logs them.
pub fn client_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set(
            "security.protocol",
            settings.security_protocol.as_librdkafka(),
        )
        // A monitoring client reads only; it must never join or disturb the groups it watches.
        .set("group.id", "pipeline-health-observer")
        .set("enable.auto.commit", "false")
        .set("socket.timeout.ms", "10000")
        .set("log_level", "3");
    if let Some((mechanism, user, password)) = &settings.sasl {
        config
            .set("sasl.mechanism", mechanism.as_librdkafka())
            .set("sasl.username", user)
            .set("sasl.password", password.expose());
    }
    if let Some(ca) = &settings.ca_cert {
        config.set("ssl.ca.pem", ca.expose());
    }
    if let (Some(cert), Some(key)) = (&settings.client_cert, &settings.client_key) {
        config
            .set("ssl.certificate.pem", cert.expose())
            .set("ssl.key.pem", key.expose());
    }
    config
}
