//! The Kafka client of one datasource instance: one librdkafka handle for all Kafka work
//! (metadata, group discovery, end and committed offsets of every group), reused by every query
//! until the datasource's settings change. librdkafka keeps one connection per broker open.

use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::types::RDKafkaErrorCode;
use thiserror::Error;
use tokio::sync::Semaphore;

use pipeline_model::consumer_status::StatusHistory;

use super::config::{client_config, rejected, KafkaSetupError};
use super::observer::{BrokersDown, FailureKind, ObserverContext};
use super::sampler::{self, Watched};
use super::status;
use super::time_lag::LagWindow;
use crate::settings::KafkaSettings;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum KafkaError {
    #[error("cannot reach Kafka at {servers}: {reason}")]
    Unreachable { servers: String, reason: String },
    /// librdkafka said every broker is down, each one's connection failing: said at once
    /// instead of after the timeout.
    #[error("cannot reach Kafka at {servers}: every broker is down ({failures}); {advice}")]
    BrokersDown {
        servers: String,
        failures: String,
        advice: &'static str,
    },
    #[error("Kafka did not answer within {seconds:.1} s ({servers}); check the bootstrap servers and the network")]
    Timeout { servers: String, seconds: f64 },
    #[error("Kafka answered in part: {0}")]
    Partial(String),
}

pub type ObserverConsumer = BaseConsumer<ObserverContext>;

/// How often a Kafka call in progress looks at what librdkafka reported.
const WATCH_EVERY: Duration = Duration::from_millis(50);
/// Every broker was down at librdkafka's last report, made before this call: the call is given
/// this long to be answered (the brokers may be back) before the report is believed.
const STALE_GRACE: Duration = Duration::from_secs(1);
/// Blocking Kafka work running at once per client, at most. Work outlives a query that gave up
/// (a librdkafka call runs to its own timeout), so without a bound a hung cluster asked every
/// second would hold a thread per call until those timeouts: the rest wait, without a thread,
/// within their query's timeout.
pub const MAX_IN_FLIGHT: usize = 16;
/// How often a record read waiting for its turn looks again.
const READER_WAIT_STEP: Duration = Duration::from_millis(10);
/// Broker failures named in one message at most.
const MAX_NAMED: usize = 3;

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
    /// [`MAX_IN_FLIGHT`] permits: one per piece of blocking work, held until it ends.
    in_flight: Arc<Semaphore>,
}

/// The datasource's Kafka client; clones share it. The background sampler holds only a weak
/// reference, so the client (and its connections) go when the datasource's instance does.
#[derive(Clone)]
pub struct KafkaClient {
    inner: Arc<Inner>,
}

impl KafkaClient {
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaSetupError> {
        let consumer: ObserverConsumer = client_config(settings)
            .create_with_context(ObserverContext::default())
            .map_err(|e| rejected(&e, settings))?;
        let client = KafkaClient {
            inner: Arc::new(Inner {
                consumer,
                settings: settings.clone(),
                window: Default::default(),
                history: Mutex::new(StatusHistory::new(status::limits(&settings.status_window))),
                watched: Default::default(),
                reader: Mutex::new(()),
                in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
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

    /// Exclusive use of the client's assignment (see `record_time`), waited for until
    /// `deadline` at most: `None` when another read still holds it then. Waiting counts against
    /// the caller's time, so reads slower than queries arrive cannot queue up without end (each
    /// waiter holds a thread of tokio's blocking pool, and outlives the query that gave up).
    pub fn reader_lock_until(&self, deadline: Instant) -> Option<MutexGuard<'_, ()>> {
        loop {
            match self.inner.reader.try_lock() {
                Ok(turn) => return Some(turn),
                Err(TryLockError::Poisoned(p)) => return Some(p.into_inner()),
                Err(TryLockError::WouldBlock) if Instant::now() >= deadline => return None,
                Err(TryLockError::WouldBlock) => std::thread::sleep(READER_WAIT_STEP),
            }
        }
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
        self.serve_events();
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

    /// Run blocking librdkafka work on tokio's blocking pool, so it never stalls the gRPC server,
    /// at most [`MAX_IN_FLIGHT`] at once. Meanwhile (also while waiting for a turn) librdkafka's
    /// reports are served: when it says every broker is down (each one refused, unresolvable, or
    /// failing TLS or SASL), the call fails at once saying so instead of waiting out its
    /// timeout. The work itself runs on to its own timeout, unobserved, holding its turn.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&KafkaClient) -> Result<T, KafkaError> + Send + 'static,
    ) -> Result<T, KafkaError> {
        // Reports queued before the call are served first, so that they count as older.
        self.serve_events();
        let started = Instant::now();
        let mut watch = tokio::time::interval(WATCH_EVERY);
        let turn = self.inner.in_flight.clone().acquire_owned();
        tokio::pin!(turn);
        let permit = loop {
            tokio::select! {
                permit = &mut turn => break permit.map_err(|_| {
                    KafkaError::Partial("internal: the Kafka client is shutting down".to_string())
                })?,
                _ = watch.tick() => self.fail_if_down(started)?,
            }
        };
        let client = self.clone();
        let mut task = tokio::task::spawn_blocking(move || {
            let _turn = permit;
            let answer = work(&client);
            if answer.is_ok() {
                client.consumer().context().answered();
            }
            answer
        });
        loop {
            tokio::select! {
                done = &mut task => {
                    return done.map_err(|e| {
                        KafkaError::Partial(format!("internal: Kafka task failed: {e}"))
                    })?;
                }
                _ = watch.tick() => self.fail_if_down(started)?,
            }
        }
    }

    fn fail_if_down(&self, started: Instant) -> Result<(), KafkaError> {
        match self.down_since(started) {
            Some(down) => Err(self.brokers_down(down)),
            None => Ok(()),
        }
    }

    /// Every broker down, reported during the call, or before it and still unanswered after
    /// [`STALE_GRACE`].
    fn down_since(&self, started: Instant) -> Option<BrokersDown> {
        self.serve_events();
        self.consumer()
            .context()
            .brokers_down()
            .filter(|d| d.at >= started || started.elapsed() >= STALE_GRACE)
    }

    fn brokers_down(&self, down: BrokersDown) -> KafkaError {
        let mut failures = down.failures.clone();
        failures.dedup();
        let more = failures.len().saturating_sub(MAX_NAMED);
        failures.truncate(MAX_NAMED);
        let mut failures = failures.join(", ");
        if more > 0 {
            failures.push_str(&format!(" and {more} more"));
        }
        KafkaError::BrokersDown {
            servers: self.servers().to_string(),
            failures,
            advice: down.advice,
        }
    }

    /// Serve the client's queued reports (to the context), unless a record read holds the
    /// client's assignment: its own polling serves them then, and a message must not be taken
    /// from it.
    fn serve_events(&self) {
        if let Ok(_reading) = self.inner.reader.try_lock() {
            drain_events(&self.inner.consumer);
        }
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
        self.blocking(move |c| {
            let md = c
                .consumer()
                .fetch_metadata(None, timeout)
                .map_err(|e| c.error_of(e, timeout))?;
            Ok(ClusterMetadata {
                brokers: md
                    .brokers()
                    .iter()
                    .map(|b| (b.id(), format!("{}:{}", b.host(), b.port())))
                    .collect(),
                topics: md.topics().len(),
                partitions: md.topics().iter().map(|t| t.partitions().len()).sum(),
            })
        })
        .await
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::DatasourceSettings;

    fn refusing_client() -> (KafkaClient, String) {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let servers = format!("127.0.0.1:{port}");
        let j = serde_json::json!({ "kafkaBootstrapServers": servers });
        let settings = DatasourceSettings::parse(&j, &Default::default()).unwrap();
        let client = KafkaClient::new(&settings.kafka.unwrap().unwrap()).unwrap();
        (client, servers)
    }

    #[tokio::test]
    async fn a_refused_connection_fails_the_call_at_once_and_again_on_the_next_call() {
        let (client, servers) = refusing_client();
        for call in ["first", "second (the outage already known)"] {
            let started = Instant::now();
            let err = client.metadata(Duration::from_secs(4)).await.unwrap_err();
            let took = started.elapsed();
            eprintln!("{call} call failed after {took:?}: {err}");
            let text = err.to_string();
            assert!(
                text.contains(&format!("connection refused at {servers}")),
                "{call}: {text}"
            );
            assert!(text.contains("kafkaBootstrapServers"), "{call}: {text}");
            assert!(took < Duration::from_secs(2), "{call} call took {took:?}");
        }
    }

    /// Reads that wait for another one's turn give up at their own deadline (before, each waited
    /// for the lock first and then took its full time, so at one query a second and reads of 5 s
    /// the waiters, each on a blocking thread, grew without end).
    #[test]
    fn a_record_read_waits_for_its_turn_only_within_its_own_time() {
        let (client, _) = refusing_client();
        let wanted = [("orders".to_string(), 0, 5)];
        let client = &client;
        let took = std::thread::scope(|s| {
            let (held, hold) = std::sync::mpsc::channel();
            s.spawn(move || {
                let _turn = client.reader_lock_until(Instant::now()).expect("free");
                held.send(()).unwrap();
                std::thread::sleep(Duration::from_secs(3));
            });
            hold.recv().unwrap();
            let started = Instant::now();
            let times =
                super::super::record_time::timestamps(client, &wanted, Duration::from_millis(300));
            assert!(times.is_empty(), "{times:?}");
            started.elapsed()
        });
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(1),
            "a 300 ms read behind a 3 s one took {took:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocking_work_runs_at_most_max_in_flight_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (client, _) = refusing_client();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let calls: Vec<_> = (0..4 * MAX_IN_FLIGHT)
            .map(|_| {
                let (client, running, most) = (client.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    client
                        .blocking(move |_| {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(100));
                            running.fetch_sub(1, Ordering::SeqCst);
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        for call in calls {
            // A refused connection may fail a call at once: that is an answer too.
            let _ = call.await.unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=MAX_IN_FLIGHT).contains(&most),
            "{most} pieces of Kafka work ran at once"
        );
    }
}
