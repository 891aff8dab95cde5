//! Datasource instance settings: what the ConfigEditor saves in `jsonData` and
//! `secureJsonData`, parsed into typed settings with errors that name the field to fix.
//!
//! Secrets are only ever read from `secureJsonData` and are wrapped in [`Secret`], whose
//! `Debug` and `Display` never print the value.

use std::collections::HashMap;
use std::time::Duration;

use pipeline_model::consumer_status::{StatusWindow, DEFAULT_WINDOW};
use pipeline_model::timeouts::timeout_problem;
use pipeline_model::{shown, Thresholds};
use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum SettingsError {
    #[error("jsonData is not valid: {0}")]
    Json(String),
    #[error("{field}: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
}

fn field_err(field: &'static str, problem: impl Into<String>) -> SettingsError {
    SettingsError::Field {
        field,
        problem: problem.into(),
    }
}

/// A secret from `secureJsonData`. Never printed, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// `jsonData` as saved by the ConfigEditor. Unknown keys are ignored so that older backends
/// keep working with newer front ends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawJsonData {
    kafka_bootstrap_servers: Option<String>,
    kafka_security_protocol: Option<String>,
    kafka_sasl_mechanism: Option<String>,
    kafka_username: Option<String>,
    /// Consumer groups to watch when a query names none (Kafka may not list groups).
    kafka_consumer_groups: Option<Vec<String>>,
    /// How far back a consumer's status (OK/WARN/STOP/STALL/REWIND) looks.
    kafka_status_window_seconds: Option<f64>,
    flink_url: Option<String>,
    flink_auth: Option<String>,
    flink_username: Option<String>,
    query_timeout_seconds: Option<f64>,
    /// How long a topology refresh's facts are shared by later queries (0: not shared).
    coalesce_window_seconds: Option<f64>,
    thresholds: Option<serde_json::Value>,
    pipeline: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    /// The value librdkafka expects in `security.protocol`.
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl SaslMechanism {
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSettings {
    pub bootstrap_servers: String,
    pub security_protocol: SecurityProtocol,
    pub sasl: Option<(SaslMechanism, String, Secret)>,
    pub ca_cert: Option<Secret>,
    pub client_cert: Option<Secret>,
    pub client_key: Option<Secret>,
    /// Groups a lag query reads when it names none.
    pub consumer_groups: Vec<String>,
    /// The history a consumer-group status is judged over.
    pub status_window: StatusWindow,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FlinkAuth {
    None,
    Basic { username: String, password: Secret },
    Bearer { token: Secret },
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlinkSettings {
    /// Base URL of the Flink REST API, without a trailing slash.
    pub url: String,
    pub auth: FlinkAuth,
    pub ca_cert: Option<Secret>,
}

/// Everything a datasource instance is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasourceSettings {
    /// The Kafka side, or the error of its first bad field: that fails the Kafka queries only,
    /// never the Flink ones.
    pub kafka: Option<Result<KafkaSettings, SettingsError>>,
    pub flink: Option<FlinkSettings>,
    pub query_timeout: Duration,
    /// Topology and health queries within this of a refresh share its facts; zero shares none.
    pub coalesce_window: Duration,
    pub thresholds: Thresholds,
    /// The declarative pipeline description, kept raw until the topology parses it.
    pub pipeline: Option<serde_json::Value>,
}

pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Long enough for the panels of one dashboard refresh and its alert rules to share a refresh.
pub const DEFAULT_COALESCE_WINDOW: Duration = Duration::from_secs(2);
/// Shared facts are never older than this: staleness stays bounded.
pub const MAX_COALESCE_WINDOW: Duration = Duration::from_secs(60);

impl DatasourceSettings {
    /// Parse `jsonData` and the decrypted `secureJsonData` of a datasource instance.
    pub fn parse(
        json_data: &serde_json::Value,
        secure: &HashMap<String, String>,
    ) -> Result<Self, SettingsError> {
        let raw: RawJsonData = if json_data.is_null() {
            RawJsonData::default()
        } else {
            serde_json::from_value(json_data.clone())
                .map_err(|e| SettingsError::Json(e.to_string()))?
        };
        let secret = |key: &str| {
            secure
                .get(key)
                .filter(|v| !v.trim().is_empty())
                .map(|v| Secret(v.clone()))
        };

        let kafka = non_empty(&raw.kafka_bootstrap_servers)
            .map(|servers| parse_kafka(&raw, servers, &secret));
        let flink = match non_empty(&raw.flink_url) {
            None => None,
            Some(url) => Some(parse_flink(&raw, url, &secret)?),
        };
        let query_timeout = match raw.query_timeout_seconds {
            None => DEFAULT_QUERY_TIMEOUT,
            Some(s) => match timeout_problem(s) {
                None => Duration::from_secs_f64(s),
                Some(problem) => return Err(field_err("queryTimeoutSeconds", problem)),
            },
        };
        let max_window = MAX_COALESCE_WINDOW.as_secs_f64();
        let coalesce_window = match raw.coalesce_window_seconds {
            None => DEFAULT_COALESCE_WINDOW,
            Some(s) if s.is_finite() && (0.0..=max_window).contains(&s) => {
                Duration::from_secs_f64(s)
            }
            Some(s) => {
                return Err(field_err(
                    "coalesceWindowSeconds",
                    format!(
                    "must be between 0 (every query refreshes on its own) and {} seconds, got {}",
                    shown(max_window),
                    shown(s)
                ),
                ))
            }
        };
        let thresholds = match raw.thresholds {
            None | Some(serde_json::Value::Null) => Thresholds::default(),
            Some(v) => serde_json::from_value::<Thresholds>(v)
                .map_err(|e| field_err("thresholds", e.to_string()))?,
        };
        thresholds
            .validate()
            .map_err(|e| field_err("thresholds", e))?;
        Ok(DatasourceSettings {
            kafka,
            flink,
            query_timeout,
            coalesce_window,
            thresholds,
            pipeline: raw.pipeline,
        })
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_kafka(
    raw: &RawJsonData,
    servers: &str,
    secret: &dyn Fn(&str) -> Option<Secret>,
) -> Result<KafkaSettings, SettingsError> {
    for server in servers.split(',').map(str::trim) {
        let ok = server
            .rsplit_once(':')
            .map(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
            .unwrap_or(false);
        if !ok {
            return Err(field_err(
                "kafkaBootstrapServers",
                format!("`{server}` is not host:port (example: kafka-1:9092,kafka-2:9092)"),
            ));
        }
    }
    let security_protocol = match non_empty(&raw.kafka_security_protocol)
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("PLAINTEXT") => SecurityProtocol::Plaintext,
        Some("SSL") => SecurityProtocol::Ssl,
        Some("SASL_PLAINTEXT") => SecurityProtocol::SaslPlaintext,
        Some("SASL_SSL") => SecurityProtocol::SaslSsl,
        Some(other) => {
            return Err(field_err(
                "kafkaSecurityProtocol",
                format!("`{other}` is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
            ))
        }
    };
    let sasl = if security_protocol.uses_sasl() {
        let mechanism = match non_empty(&raw.kafka_sasl_mechanism)
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("PLAIN") => SaslMechanism::Plain,
            Some("SCRAM-SHA-256") => SaslMechanism::ScramSha256,
            Some("SCRAM-SHA-512") => SaslMechanism::ScramSha512,
            Some(other) => {
                return Err(field_err(
                    "kafkaSaslMechanism",
                    format!("`{other}` is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
                ))
            }
        };
        let user = non_empty(&raw.kafka_username)
            .ok_or_else(|| field_err("kafkaUsername", "is required with SASL"))?
            .to_string();
        let password = secret("kafkaPassword").ok_or_else(|| {
            field_err(
                "kafkaPassword",
                "is required with SASL (set it in the secure settings)",
            )
        })?;
        Some((mechanism, user, password))
    } else {
        None
    };
    let (ca_cert, client_cert, client_key) = if security_protocol.uses_tls() {
        (
            secret("kafkaTlsCaCert"),
            secret("kafkaTlsClientCert"),
            secret("kafkaTlsClientKey"),
        )
    } else {
        (None, None, None)
    };
    if client_cert.is_some() != client_key.is_some() {
        return Err(field_err(
            "kafkaTlsClientKey",
            "a client certificate and its key go together: set both or neither",
        ));
    }
    let status_window = match raw.kafka_status_window_seconds {
        None => DEFAULT_WINDOW,
        Some(s) if s.is_finite() && (10.0..=3600.0).contains(&s) => StatusWindow {
            span_seconds: s,
            ..DEFAULT_WINDOW
        },
        Some(s) => {
            return Err(field_err(
                "kafkaStatusWindowSeconds",
                format!(
                    "must be between 10 and 3600 seconds (longer than the slowest commit interval, such as a Flink job's checkpoint interval), got {}",
                    shown(s)
                ),
            ))
        }
    };
    Ok(KafkaSettings {
        status_window,
        consumer_groups: raw
            .kafka_consumer_groups
            .iter()
            .flatten()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect(),
        bootstrap_servers: servers.to_string(),
        security_protocol,
        sasl,
        ca_cert,
        client_cert,
        client_key,
    })
}

fn parse_flink(
    raw: &RawJsonData,
    url: &str,
    secret: &dyn Fn(&str) -> Option<Secret>,
) -> Result<FlinkSettings, SettingsError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(field_err(
            "flinkUrl",
            format!(
                "`{url}` must start with http:// or https:// (example: http://jobmanager:8081)"
            ),
        ));
    }
    let auth = match non_empty(&raw.flink_auth) {
        None | Some("none") => FlinkAuth::None,
        Some("basic") => FlinkAuth::Basic {
            username: non_empty(&raw.flink_username)
                .ok_or_else(|| field_err("flinkUsername", "is required with basic auth"))?
                .to_string(),
            password: secret("flinkPassword")
                .ok_or_else(|| field_err("flinkPassword", "is required with basic auth"))?,
        },
        Some("bearer") => FlinkAuth::Bearer {
            token: secret("flinkBearerToken")
                .ok_or_else(|| field_err("flinkBearerToken", "is required with bearer auth"))?,
        },
        Some(other) => {
            return Err(field_err(
                "flinkAuth",
                format!("`{other}` is not one of none, basic, bearer"),
            ))
        }
    };
    Ok(FlinkSettings {
        url: url.trim_end_matches('/').to_string(),
        auth,
        ca_cert: secret("flinkTlsCaCert"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secure(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The error of the settings as a whole, or else of their Kafka side.
    fn error_of(j: &serde_json::Value, secure: &HashMap<String, String>) -> String {
        match DatasourceSettings::parse(j, secure) {
            Err(e) => e.to_string(),
            Ok(s) => s
                .kafka
                .expect("a Kafka side")
                .expect_err("a bad Kafka field")
                .to_string(),
        }
    }

    #[test]
    fn a_bad_kafka_field_fails_the_kafka_side_only() {
        let j = json!({"kafkaBootstrapServers": "nohost", "flinkUrl": "http://f:8081"});
        let s = DatasourceSettings::parse(&j, &HashMap::new()).unwrap();
        let err = s.kafka.unwrap().unwrap_err().to_string();
        assert!(err.starts_with("kafkaBootstrapServers"), "{err}");
        assert_eq!(s.flink.unwrap().url, "http://f:8081");
    }

    #[test]
    fn empty_settings_configure_nothing() {
        let s = DatasourceSettings::parse(&json!({}), &HashMap::new()).unwrap();
        assert!(s.kafka.is_none() && s.flink.is_none());
        assert_eq!(s.query_timeout, DEFAULT_QUERY_TIMEOUT);
        assert_eq!(s.coalesce_window, DEFAULT_COALESCE_WINDOW);
    }

    #[test]
    fn a_coalescing_window_of_zero_turns_sharing_off() {
        let parse = |v: f64| {
            DatasourceSettings::parse(&json!({ "coalesceWindowSeconds": v }), &HashMap::new())
        };
        assert_eq!(parse(0.0).unwrap().coalesce_window, Duration::ZERO);
        assert_eq!(parse(60.0).unwrap().coalesce_window, MAX_COALESCE_WINDOW);
        let err = parse(600.0).unwrap_err().to_string();
        assert_eq!(
            err,
            "coalesceWindowSeconds: must be between 0 (every query refreshes on its own) and 60 seconds, got 600"
        );
    }

    #[test]
    fn sasl_requires_a_password_in_secure_settings() {
        let j = json!({"kafkaBootstrapServers": "k:9092", "kafkaSecurityProtocol": "SASL_SSL",
                        "kafkaSaslMechanism": "SCRAM-SHA-512", "kafkaUsername": "u"});
        let err = error_of(&j, &HashMap::new());
        assert!(err.starts_with("kafkaPassword"), "{err}");
        let s = DatasourceSettings::parse(&j, &secure(&[("kafkaPassword", "hunter2")])).unwrap();
        let (mech, user, pass) = s.kafka.unwrap().unwrap().sasl.unwrap();
        assert_eq!(mech, SaslMechanism::ScramSha512);
        assert_eq!(user, "u");
        assert_eq!(pass.expose(), "hunter2");
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let j = json!({"flinkUrl": "http://f:8081", "flinkAuth": "bearer"});
        let s = DatasourceSettings::parse(&j, &secure(&[("flinkBearerToken", "s3cr3t-token")]))
            .unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t-token"));
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (
                json!({"kafkaBootstrapServers": "nohost"}),
                "kafkaBootstrapServers",
            ),
            (
                json!({"kafkaBootstrapServers": "k:9092", "kafkaSecurityProtocol": "TLS"}),
                "kafkaSecurityProtocol",
            ),
            (json!({"flinkUrl": "jobmanager:8081"}), "flinkUrl"),
            (json!({"queryTimeoutSeconds": -1}), "queryTimeoutSeconds"),
            (
                json!({"coalesceWindowSeconds": 61}),
                "coalesceWindowSeconds",
            ),
            (
                json!({"coalesceWindowSeconds": -0.5}),
                "coalesceWindowSeconds",
            ),
            (
                json!({"thresholds": {"lagWarning": 10, "lagCritical": 1}}),
                "thresholds",
            ),
        ];
        for (j, field) in cases {
            let err = error_of(&j, &HashMap::new());
            assert!(
                err.starts_with(field),
                "expected error about {field}, got {err}"
            );
        }
    }

    #[test]
    fn out_of_range_numbers_are_echoed_compactly() {
        for (j, shown) in [
            (json!({"queryTimeoutSeconds": 1e308}), "got 1e308"),
            (
                json!({"kafkaBootstrapServers": "k:9092", "kafkaStatusWindowSeconds": 1e300}),
                "got 1e300",
            ),
            (json!({"thresholds": {"heapCritical": 1e200}}), "got 1e200"),
            (json!({"queryTimeoutSeconds": -1e-300}), "got -1e-300"),
            // Positive but too short to ask anything: refused, not a 0 ns timeout.
            (json!({"queryTimeoutSeconds": 1e-300}), "got 1e-300"),
        ] {
            let err = error_of(&j, &HashMap::new());
            assert!(err.ends_with(shown) && err.len() < 300, "{err}");
        }
    }
}
