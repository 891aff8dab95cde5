//! The Flink REST client: one `reqwest::Client` per datasource instance, so connections are
//! kept alive across queries; every request is time- and size-bounded. A request is bounded by
//! the datasource's query timeout, or by the timeout of the query it runs for when that query
//! runs under [`FlinkClient::with_request_timeout`] (longer or shorter, same client).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::de::DeserializeOwned;
use thiserror::Error;
use tokio::sync::Semaphore;

use super::snapshot::finished::FinishedJobs;
use crate::settings::{FlinkAuth, FlinkSettings};

/// Flink answers are small JSON documents; anything far larger is a misconfigured URL or a proxy
/// error page, and must not exhaust the plugin's memory.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Requests in flight at once on one datasource, over all its queries. A JobManager that hangs
/// (a GC pause, SIGSTOP) accepts connections and never answers; without this bound every panel's
/// refresh opens new ones until their timeouts, hundreds of sockets on a busy dashboard. Two
/// refreshes fit side by side ([`super::snapshot::CONCURRENCY`] each); waiting for a turn counts
/// against the request's timeout, so nothing waits longer than it did.
pub const MAX_IN_FLIGHT: usize = 2 * super::snapshot::CONCURRENCY;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum FlinkError {
    #[error("cannot reach Flink at {url}: {reason}; check the Flink REST URL and that the JobManager is up")]
    Unreachable { url: String, reason: String },
    #[error("Flink answered {path} with HTTP {status}{hint}")]
    Status {
        path: String,
        status: u16,
        hint: &'static str,
    },
    #[error("Flink's answer to {path} is not the JSON expected: {reason}")]
    NotJson { path: String, reason: String },
    #[error("Flink's answer to {path} is larger than {limit} bytes; is the Flink REST URL right?")]
    TooLarge { path: String, limit: usize },
    #[error("Flink did not answer {path} within {seconds:.1} s")]
    Timeout { path: String, seconds: f64 },
    #[error("Flink TLS settings: {0}")]
    Tls(String),
}

tokio::task_local! {
    /// The timeout of the query this task answers, when it runs under `with_request_timeout`.
    static QUERY_TIMEOUT: Duration;
}

#[derive(Clone, Debug)]
pub struct FlinkClient {
    http: reqwest::Client,
    base: String,
    auth: FlinkAuth,
    request_timeout: Duration,
    /// Answers about ended jobs, which Flink never changes: read once per datasource.
    finished: Arc<FinishedJobs>,
    /// [`MAX_IN_FLIGHT`] permits, shared by the clones of this client.
    in_flight: Arc<Semaphore>,
}

impl FlinkClient {
    pub fn new(settings: &FlinkSettings, request_timeout: Duration) -> Result<Self, FlinkError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(request_timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("pipeline-health/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &settings.ca_cert {
            let cert = reqwest::Certificate::from_pem(ca.expose().as_bytes())
                .map_err(|_| FlinkError::Tls("flinkTlsCaCert is not a PEM certificate".into()))?;
            builder = builder.add_root_certificate(cert);
        }
        // A PEM block that parses as text but not as a certificate only fails here.
        let http = builder.build().map_err(|e| {
            let cause = describe_reqwest_error(&e);
            FlinkError::Tls(match settings.ca_cert {
                Some(_) => format!("flinkTlsCaCert is not a usable PEM certificate ({cause})"),
                None => cause,
            })
        })?;
        Ok(FlinkClient {
            http,
            base: settings.url.clone(),
            auth: settings.auth.clone(),
            request_timeout,
            finished: Arc::default(),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    /// Run `work` with every Flink request it makes bounded by `timeout` instead of the
    /// datasource's query timeout, so a query's own `timeoutSeconds` reaches its requests
    /// (the topology's included) without a client per query.
    pub async fn with_request_timeout<F: std::future::Future>(
        timeout: Duration,
        work: F,
    ) -> F::Output {
        QUERY_TIMEOUT.scope(timeout, work).await
    }

    /// The bound of one request: the running query's timeout, else the datasource's.
    fn request_timeout(&self) -> Duration {
        QUERY_TIMEOUT
            .try_with(|t| *t)
            .unwrap_or(self.request_timeout)
    }

    pub fn finished_jobs(&self) -> &FinishedJobs {
        &self.finished
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// GET `path` (starting with `/`) and decode the JSON answer as `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, FlinkError> {
        let body = self.get_bytes(path).await?;
        serde_json::from_slice(&body).map_err(|e| FlinkError::NotJson {
            path: path.to_string(),
            reason: e.to_string(),
        })
    }

    async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, FlinkError> {
        let fut = async {
            // Never closed: the semaphore lives as long as the client.
            let _turn = self.in_flight.acquire().await.ok();
            self.fetch(path).await
        };
        let timeout = self.request_timeout();
        match tokio::time::timeout(timeout, fut).await {
            Ok(result) => result,
            Err(_) => Err(FlinkError::Timeout {
                path: path.to_string(),
                seconds: timeout.as_secs_f64(),
            }),
        }
    }

    async fn fetch(&self, path: &str) -> Result<Vec<u8>, FlinkError> {
        let mut request = self.http.get(format!("{}{}", self.base, path));
        request = match &self.auth {
            FlinkAuth::None => request,
            FlinkAuth::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose()))
            }
            FlinkAuth::Bearer { token } => request.bearer_auth(token.expose()),
        };
        let response = request.send().await.map_err(|e| FlinkError::Unreachable {
            url: self.base.clone(),
            reason: describe_reqwest_error(&e),
        })?;
        let status = response.status();
        if !status.is_success() {
            let hint = match status.as_u16() {
                401 | 403 => "; check the Flink credentials in the datasource settings",
                404 => "; the job or vertex may be gone, or the URL points at something that is not Flink",
                _ => "",
            };
            return Err(FlinkError::Status {
                path: path.to_string(),
                status: status.as_u16(),
                hint,
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n as usize > MAX_BODY_BYTES)
        {
            return Err(FlinkError::TooLarge {
                path: path.to_string(),
                limit: MAX_BODY_BYTES,
            });
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| FlinkError::Unreachable {
                url: self.base.clone(),
                reason: describe_reqwest_error(&e),
            })?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(FlinkError::TooLarge {
                    path: path.to_string(),
                    limit: MAX_BODY_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// reqwest's Display stops at "error sending request"; the cause chain says what happened
/// (connection refused, DNS, certificate). URLs carry no secrets here: credentials travel in
/// headers, never in the URL.
fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_query_timeout_replaces_the_datasource_one_for_its_requests() {
        let settings = FlinkSettings {
            url: "http://127.0.0.1:1".into(),
            auth: FlinkAuth::None,
            ca_cert: None,
        };
        let client = FlinkClient::new(&settings, Duration::from_secs(1)).unwrap();
        assert_eq!(client.request_timeout(), Duration::from_secs(1));
        for query in [Duration::from_secs(7), Duration::from_millis(300)] {
            let inside =
                FlinkClient::with_request_timeout(query, async { client.request_timeout() }).await;
            assert_eq!(inside, query);
        }
        assert_eq!(client.request_timeout(), Duration::from_secs(1));
    }
}
