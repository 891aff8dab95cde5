//! The Kafka client of one datasource instance: one librdkafka handle for all Kafka work
//! (metadata, group discovery, end and committed offsets of every group), reused by every query
//! until the datasource's settings change. librdkafka keeps one connection per broker open.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use thiserror::Error;

use pipeline_model::consumer_status::StatusHistory;

use super::sampler::{self, Watched};
use super::status;
use super::time_lag::LagWindow;
use crate::settings::KafkaSettings;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum KafkaError {
    #[error("Kafka client settings were rejected: {0}")]
    Config(String),
    #[error("cannot reach Kafka at {servers}: {reason}")]
    Unreachable { servers: String, reason: String },
    #[error("Kafka did not answer within {seconds:.1} s ({servers}); check the bootstrap servers and the network")]
    Timeout { servers: String, seconds: f64 },
    #[error("Kafka answered in part: {0}")]
    Partial(String),
}

/// What went wrong talking to a broker, named so that the user knows what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Dns,
    Tcp,
    Tls,
    Auth,
}

impl FailureKind {
    /// Classify librdkafka's error text (it reports the cause only as text).
    pub fn of(reason: &str) -> Option<FailureKind> {
        // librdkafka names brokers by their listener ("sasl_ssl://host:port/1: SSL handshake
        // failed"); the scheme says nothing about what failed, so it must not count as a word.
        let mut r = reason.to_ascii_lowercase();
        for scheme in ["sasl_ssl://", "sasl_plaintext://", "ssl://", "plaintext://"] {
            r = r.replace(scheme, "");
        }
        if r.contains("resolve") {
            Some(FailureKind::Dns)
        } else if r.contains("sasl") || r.contains("authentication") {
            Some(FailureKind::Auth)
        } else if r.contains("ssl") || r.contains("certificate") || r.contains("tls") {
            Some(FailureKind::Tls)
        } else if r.contains("connect") || r.contains("refused") || r.contains("disconnected") {
            Some(FailureKind::Tcp)
        } else {
            None
        }
    }

    pub fn advice(self) -> &'static str {
        match self {
            FailureKind::Dns => {
                "DNS: a bootstrap host name does not resolve (check kafkaBootstrapServers)"
            }
            FailureKind::Tcp => {
                "TCP: the broker port cannot be reached, refused or dropped (check kafkaBootstrapServers)"
            }
            FailureKind::Tls => {
                "TLS: the handshake failed (check kafkaSecurityProtocol, kafkaTlsCaCert, kafkaTlsClientCert and kafkaTlsClientKey)"
            }
            FailureKind::Auth => {
                "authentication: SASL failed (check kafkaSaslMechanism, kafkaUsername and kafkaPassword)"
            }
        }
    }
}

/// Keeps the last connection error librdkafka reported, whose text says what failed
/// (the call that fails only says "timed out" or "transport failure").
#[derive(Default)]
pub struct ObserverContext {
    last_error: Mutex<Option<(Instant, String)>>,
}

impl ObserverContext {
    /// The last error reported within `recent`: an older one may describe a fault that is gone.
    pub fn last_error(&self, recent: Duration) -> Option<String> {
        lock(&self.last_error)
            .as_ref()
            .filter(|(at, _)| at.elapsed() <= recent)
            .map(|(_, e)| e.clone())
    }
}

impl ClientContext for ObserverContext {
    fn error(&self, error: RdKafkaError, reason: &str) {
        *lock(&self.last_error) = Some((Instant::now(), format!("{error}: {reason}")));
    }

    // librdkafka's log lines carry the cause ("Failed to resolve", "Connection refused",
    // "SSL handshake failed"); they are kept as the last error rather than flooding the log.
    // Only warnings and worse arrive (`log_level` 4).
    fn log(&self, _level: RDKafkaLogLevel, _fac: &str, log_message: &str) {
        *lock(&self.last_error) = Some((Instant::now(), log_message.to_string()));
    }
}

impl ConsumerContext for ObserverContext {}

pub type ObserverConsumer = BaseConsumer<ObserverContext>;

/// Summary of the cluster as the metadata request sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMetadata {
    pub brokers: Vec<(i32, String)>,
    pub topics: usize,
    pub partitions: usize,
}

/// What one datasource's Kafka side keeps between queries.
pub struct Inner {
    consumer: ObserverConsumer,
    settings: KafkaSettings,
    /// Offsets sampled by earlier snapshots, for time lag and drain time.
    window: Mutex<LagWindow>,
    /// Per-partition offsets over the status window, for the consumer-group status.
    history: Mutex<StatusHistory>,
    /// The selections queries asked about recently, which the background sampler keeps fresh.
    watched: Mutex<Watched>,
    /// Held while the client is assigned partitions to read record timestamps.
    reader: Mutex<()>,
}

/// The datasource's Kafka client; clones share it. The background sampler holds only a weak
/// reference, so the client (and its connections) go when the datasource's instance does.
#[derive(Clone)]
pub struct KafkaClient {
    inner: Arc<Inner>,
}

impl KafkaClient {
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        let consumer: ObserverConsumer = client_config(settings)
            .create_with_context(ObserverContext::default())
            .map_err(|e| KafkaError::Config(e.to_string()))?;
        let client = KafkaClient {
            inner: Arc::new(Inner {
                consumer,
                settings: settings.clone(),
                window: Default::default(),
                history: Mutex::new(StatusHistory::new(status::limits(&settings.status_window))),
                watched: Default::default(),
                reader: Mutex::new(()),
            }),
        };
        sampler::start(&client);
        Ok(client)
    }

    pub(super) fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    pub(super) fn upgrade(weak: &Weak<Inner>) -> Option<KafkaClient> {
        weak.upgrade().map(|inner| KafkaClient { inner })
    }

    pub fn window(&self) -> MutexGuard<'_, LagWindow> {
        lock(&self.inner.window)
    }

    pub fn history(&self) -> MutexGuard<'_, StatusHistory> {
        lock(&self.inner.history)
    }

    pub fn watched(&self) -> MutexGuard<'_, Watched> {
        lock(&self.inner.watched)
    }

    /// Exclusive use of the client's assignment (see `record_time`).
    pub fn reader_lock(&self) -> MutexGuard<'_, ()> {
        lock(&self.inner.reader)
    }

    /// A librdkafka error as a message that says what failed: a timeout names the time
    /// waited, and the last connection error (DNS, TCP, TLS, auth) is added when known.
    pub fn error_of(&self, e: RdKafkaError, waited: Duration) -> KafkaError {
        let timed_out = e.rdkafka_error_code() == Some(RDKafkaErrorCode::OperationTimedOut);
        self.classify(timed_out, e.to_string(), waited)
    }

    /// An Admin API failure of the whole request, classified like [`Self::error_of`].
    pub fn admin_error(&self, e: super::admin::AdminError, waited: Duration) -> KafkaError {
        self.classify(e.is_timeout(), e.to_string(), waited)
    }

    fn classify(&self, timed_out: bool, error: String, waited: Duration) -> KafkaError {
        drain_events(&self.inner.consumer);
        let cause = self
            .inner
            .consumer
            .context()
            .last_error(waited + Duration::from_secs(5));
        let detail = cause.as_deref().map(|c| match FailureKind::of(c) {
            Some(k) => format!("{} ({c})", k.advice()),
            None => c.to_string(),
        });
        match (timed_out, detail) {
            (true, None) => KafkaError::Timeout {
                servers: self.inner.settings.bootstrap_servers.clone(),
                seconds: waited.as_secs_f64(),
            },
            (_, Some(d)) => KafkaError::Unreachable {
                servers: self.inner.settings.bootstrap_servers.clone(),
                reason: format!("{error}; {d}"),
            },
            (false, None) => KafkaError::Unreachable {
                servers: self.inner.settings.bootstrap_servers.clone(),
                reason: error,
            },
        }
    }

    /// Run blocking librdkafka work on tokio's blocking pool, so it never stalls the gRPC server.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&KafkaClient) -> Result<T, KafkaError> + Send + 'static,
    ) -> Result<T, KafkaError> {
        let client = self.clone();
        tokio::task::spawn_blocking(move || work(&client))
            .await
            .map_err(|e| KafkaError::Partial(format!("internal: Kafka task failed: {e}")))?
    }

    pub fn consumer(&self) -> &ObserverConsumer {
        &self.inner.consumer
    }

    pub fn settings(&self) -> &KafkaSettings {
        &self.inner.settings
    }

    pub fn servers(&self) -> &str {
        &self.inner.settings.bootstrap_servers
    }

    /// Ask any broker for the cluster metadata. librdkafka's calls block, so they run on
    /// tokio's blocking pool and never stall the gRPC server.
    pub async fn metadata(&self, timeout: Duration) -> Result<ClusterMetadata, KafkaError> {
        let client = self.clone();
        let result =
            tokio::task::spawn_blocking(move || client.consumer().fetch_metadata(None, timeout))
                .await
                .map_err(|e| KafkaError::Unreachable {
                    servers: self.servers().to_string(),
                    reason: e.to_string(),
                })?;
        let md = result.map_err(|e| self.error_of(e, timeout))?;
        Ok(ClusterMetadata {
            brokers: md
                .brokers()
                .iter()
                .map(|b| (b.id(), format!("{}:{}", b.host(), b.port())))
                .collect(),
            topics: md.topics().len(),
            partitions: md.topics().iter().map(|t| t.partitions().len()).sum(),
        })
    }
}

/// A poisoned lock only means another query panicked mid-insert of a whole value; the map is
/// still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A client that never consumes still receives error events on its queue; serve them so they
/// do not pile up (their text already reached the context's log callback).
fn drain_events(consumer: &ObserverConsumer) {
    for _ in 0..64 {
        if consumer.poll(Duration::ZERO).is_none() {
            break;
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
        // Records are read only for their timestamps (one per partition behind): fetch little.
        .set("max.partition.fetch.bytes", "65536")
        .set("fetch.max.bytes", "1048576")
        .set("queued.max.messages.kbytes", "1024")
        .set("log_level", "4");
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

#[cfg(test)]
mod tests {
    use super::FailureKind;

    #[test]
    fn librdkafka_messages_are_classified() {
        let cases = [
            (
                "Failed to resolve 'k:9092': Name or service not known",
                Some(FailureKind::Dns),
            ),
            (
                "Connect to ipv4#127.0.0.1:9 failed: Connection refused",
                Some(FailureKind::Tcp),
            ),
            (
                "SSL handshake failed: certificate verify failed",
                Some(FailureKind::Tls),
            ),
            (
                "SASL authentication error: Authentication failed",
                Some(FailureKind::Auth),
            ),
            ("something else", None),
            // The bed's real Kafka 3.7.1 over SASL_SSL: the broker's name holds "sasl_ssl".
            (
                "[thrd:sasl_ssl://127.0.0.1:36263/bootstrap]: sasl_ssl://127.0.0.1:36263/bootstrap: \
                 SSL handshake failed: ../ssl/statem/statem_clnt.c:1889:tls_post_process_server_certificate \
                 error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified",
                Some(FailureKind::Tls),
            ),
            (
                "sasl_ssl://127.0.0.1:36263/bootstrap: SASL authentication error: Authentication failed \
                 during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
                Some(FailureKind::Auth),
            ),
            (
                "sasl_ssl://127.0.0.1:36263/1: Connect to ipv4#127.0.0.1:36263 failed: Connection refused",
                Some(FailureKind::Tcp),
            ),
        ];
        for (text, kind) in cases {
            assert_eq!(FailureKind::of(text), kind, "{text}");
        }
    }
}
