//! What librdkafka reports about its broker connections, kept for the error messages: the last
//! error (the call that fails only says "timed out" or "transport failure"), and whether every
//! broker is down with each one's connection failure ("Connect to ipv4#127.0.0.1:9092 failed:
//! Connection refused"), so that a query can say so at once instead of waiting out its timeout
//! (see `KafkaClient::blocking`).
//!
//! librdkafka queues these reports as log and error events; they reach this context when the
//! client's queue is served (`KafkaClient::serve_events`).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

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

/// Every broker down, as librdkafka last reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokersDown {
    /// When librdkafka said so (when its report was served).
    pub at: Instant,
    /// Each broker's connection failure, shortened ("connection refused at 127.0.0.1:9092").
    pub failures: Vec<String>,
    /// What to check, from the first failure's kind.
    pub advice: &'static str,
}

#[derive(Default)]
struct Connections {
    /// When librdkafka last reported every broker down; cleared once a request is answered.
    all_down_at: Option<Instant>,
    /// The last connection failure of each broker, by librdkafka's name for it.
    failures: BTreeMap<String, String>,
}

/// The client's context: keeps the last error and the state of the connections.
#[derive(Default)]
pub struct ObserverContext {
    last_error: Mutex<Option<(Instant, String)>>,
    connections: Mutex<Connections>,
}

/// Broker names librdkafka's messages start with, at most this many are kept.
const MAX_BROKERS: usize = 64;

impl ObserverContext {
    /// The last error reported within `recent`: an older one may describe a fault that is gone.
    pub fn last_error(&self, recent: Duration) -> Option<String> {
        lock(&self.last_error)
            .as_ref()
            .filter(|(at, _)| at.elapsed() <= recent)
            .map(|(_, e)| e.clone())
    }

    /// Every broker is down and at least one failed while connecting (refused, unresolvable,
    /// TLS or SASL): a broker that merely closed an idle connection does not count.
    pub fn brokers_down(&self) -> Option<BrokersDown> {
        let c = lock(&self.connections);
        let at = c.all_down_at?;
        let failures: Vec<String> = c.failures.values().map(|f| shorten(f)).collect();
        let first = c.failures.values().next()?;
        Some(BrokersDown {
            at,
            advice: FailureKind::of(first).map_or(
                "check kafkaBootstrapServers and that the brokers are running",
                FailureKind::advice,
            ),
            failures,
        })
    }

    /// A request was answered: some broker is up again.
    pub fn answered(&self) {
        let mut c = lock(&self.connections);
        c.all_down_at = None;
        c.failures.clear();
    }

    fn connection_failed(&self, message: &str) {
        let Some((broker, failure)) = connect_failure(message) else {
            return;
        };
        let mut c = lock(&self.connections);
        if c.failures.len() < MAX_BROKERS || c.failures.contains_key(broker) {
            c.failures.insert(broker.to_string(), failure.to_string());
        }
    }
}

impl ClientContext for ObserverContext {
    fn error(&self, error: RdKafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            lock(&self.connections).all_down_at = Some(Instant::now());
        } else {
            self.connection_failed(reason);
        }
        *lock(&self.last_error) = Some((Instant::now(), format!("{error}: {reason}")));
    }

    // librdkafka's log lines carry the cause ("Failed to resolve", "Connection refused",
    // "SSL handshake failed"); they are kept as the last error rather than flooding the log.
    // Only warnings and worse arrive (`log_level` 4).
    fn log(&self, _level: RDKafkaLogLevel, _fac: &str, log_message: &str) {
        self.connection_failed(log_message);
        *lock(&self.last_error) = Some((Instant::now(), log_message.to_string()));
    }
}

impl ConsumerContext for ObserverContext {}

/// A broker's failure while connecting, as (broker, failure): librdkafka writes
/// "[thrd:127.0.0.1:9/bootstrap]: 127.0.0.1:9/bootstrap: Connect to ipv4#127.0.0.1:9 failed:
/// Connection refused (after 0ms in state CONNECT)". A failure of an established connection
/// ("in state UP": idle, or a broker that stopped answering) is not one.
fn connect_failure(message: &str) -> Option<(&str, &str)> {
    let text = match message.strip_prefix("[thrd:") {
        Some(rest) => rest.split_once("]: ").map_or(message, |(_, t)| t),
        None => message,
    };
    let (broker, failure) = text.split_once(": ")?;
    let connecting = !failure.contains("in state UP") && FailureKind::of(failure).is_some();
    (connecting && broker.contains(':') && !broker.contains(' ')).then_some((broker, failure))
}

/// "Connect to ipv4#127.0.0.1:9 failed: Connection refused (after 0ms in state CONNECT)" ->
/// "connection refused at 127.0.0.1:9"; "Failed to resolve 'k:9092': Name or service not known"
/// -> "cannot resolve k:9092: Name or service not known"; anything else without its timing.
fn shorten(failure: &str) -> String {
    let failure = failure
        .split(" (after ")
        .next()
        .unwrap_or(failure)
        .trim_end_matches(')');
    if let Some(rest) = failure.strip_prefix("Connect to ") {
        if let Some((addr, cause)) = rest.split_once(" failed: ") {
            let addr = addr.split_once('#').map_or(addr, |(_, a)| a);
            return format!("{} at {addr}", cause.to_lowercase());
        }
    }
    if let Some(rest) = failure.strip_prefix("Failed to resolve '") {
        if let Some((addr, cause)) = rest.split_once("': ") {
            return format!("cannot resolve {addr}: {cause}");
        }
    }
    failure.to_string()
}

/// A poisoned lock only means another query panicked mid-insert of a whole value; the state is
/// still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// librdkafka 2.12's own lines, as the scratch run against a closed port printed them.
    const REFUSED_LOG: &str = "[thrd:127.0.0.1:2/bootstrap]: 127.0.0.1:2/bootstrap: Connect to \
        ipv4#127.0.0.1:2 failed: Connection refused (after 0ms in state CONNECT)";
    const REFUSED_ERROR: &str = "127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: \
        Connection refused (after 0ms in state CONNECT, 1 identical error(s) suppressed)";

    #[test]
    fn connection_failures_are_shortened_to_what_and_where() {
        let (broker, failure) = connect_failure(REFUSED_LOG).unwrap();
        assert_eq!(broker, "127.0.0.1:2/bootstrap");
        assert_eq!(shorten(failure), "connection refused at 127.0.0.1:2");
        let (_, failure) = connect_failure(REFUSED_ERROR).unwrap();
        assert_eq!(shorten(failure), "connection refused at 127.0.0.1:1");
        let dns = "k.invalid:9092/bootstrap: Failed to resolve 'k.invalid:9092': Name or service \
                   not known (after 3ms in state CONNECT)";
        let (_, failure) = connect_failure(dns).unwrap();
        assert_eq!(
            shorten(failure),
            "cannot resolve k.invalid:9092: Name or service not known"
        );
        // An idle connection the broker closed, and a line about no broker, are not failures.
        let idle = "127.0.0.1:9092/1: Disconnected (after 600012ms in state UP)";
        assert_eq!(connect_failure(idle), None);
        assert_eq!(connect_failure("2/2 brokers are down"), None);
    }

    #[test]
    fn every_broker_down_counts_only_with_a_connection_failure_and_ends_with_an_answer() {
        let ctx = ObserverContext::default();
        let all_down = RdKafkaError::Global(RDKafkaErrorCode::AllBrokersDown);
        ctx.log(
            RDKafkaLogLevel::Warning,
            "FAIL",
            "127.0.0.1:9/1: Disconnected (after 600012ms in state UP)",
        );
        ctx.error(all_down.clone(), "1/1 brokers are down");
        assert_eq!(ctx.brokers_down(), None, "idle disconnects are no outage");

        ctx.log(RDKafkaLogLevel::Error, "FAIL", REFUSED_LOG);
        let down = ctx.brokers_down().expect("every broker down, one refused");
        assert_eq!(down.failures, ["connection refused at 127.0.0.1:2"]);
        assert!(down.advice.starts_with("TCP"), "{}", down.advice);

        ctx.answered();
        assert_eq!(ctx.brokers_down(), None, "an answer ends the outage");
        ctx.log(RDKafkaLogLevel::Error, "FAIL", REFUSED_LOG);
        assert_eq!(
            ctx.brokers_down(),
            None,
            "one refused broker is not all of them"
        );
    }
}
