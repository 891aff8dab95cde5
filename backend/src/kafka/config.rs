//! The librdkafka configuration of a datasource's Kafka settings, and why a client could not be
//! made of them, named by the datasource's own setting (`kafkaTlsCaCert`, not librdkafka's
//! `ssl.ca.pem`) and never with a secret's text.

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError as RdKafkaError;
use thiserror::Error;

use crate::settings::{KafkaSettings, SettingsError};

/// Why a datasource has no Kafka client. Only its Kafka queries fail with it; Flink still
/// answers.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum KafkaSetupError {
    /// A Kafka field of the settings does not parse.
    #[error("{0}")]
    Settings(SettingsError),
    /// librdkafka refused a setting when the client was made.
    #[error("{setting}: {problem}")]
    Rejected {
        setting: &'static str,
        problem: String,
    },
}

/// librdkafka's name of each property the datasource sets, with the setting it comes from and
/// what it must hold. The first whose name a librdkafka message mentions is the one to fix.
const PROPERTIES: [(&str, &str, &str); 9] = [
    (
        "ssl.ca.pem",
        "kafkaTlsCaCert",
        "the PEM text of the CA certificate(s) that signed the brokers",
    ),
    (
        "ssl.certificate.pem",
        "kafkaTlsClientCert",
        "the PEM text of the client certificate",
    ),
    (
        "ssl.key.pem",
        "kafkaTlsClientKey",
        "the PEM text of the client certificate's private key (unencrypted)",
    ),
    (
        "bootstrap.servers",
        "kafkaBootstrapServers",
        "host:port of one or more brokers",
    ),
    (
        "security.protocol",
        "kafkaSecurityProtocol",
        "one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
    ),
    (
        "sasl.mechanism",
        "kafkaSaslMechanism",
        "one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
    ),
    ("sasl.username", "kafkaUsername", "the SASL user"),
    ("sasl.password", "kafkaPassword", "the SASL password"),
    (
        "sasl.",
        "kafkaSaslMechanism",
        "a SASL setup librdkafka supports",
    ),
];

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
        // A broker that is back is seen within a second, not after librdkafka's default 10 s
        // of backoff (a call fails at once while every broker is down: see `KafkaClient`).
        .set("reconnect.backoff.max.ms", "1000")
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

/// Why librdkafka refused to make a client of `settings`, in the datasource's terms.
pub fn rejected(e: &RdKafkaError, settings: &KafkaSettings) -> KafkaSetupError {
    let text = match e {
        // Its value may be a secret: only the property and librdkafka's complaint are kept.
        RdKafkaError::ClientConfig(_, description, key, _value) => format!("{key}: {description}"),
        RdKafkaError::ClientCreation(message) => message.clone(),
        other => other.to_string(),
    };
    let text = redact(&text, settings);
    if text.contains("key values mismatch") {
        return KafkaSetupError::Rejected {
            setting: "kafkaTlsClientKey",
            problem: format!(
                "the private key does not belong to the certificate in kafkaTlsClientCert ({})",
                in_our_terms(&text)
            ),
        };
    }
    let (setting, wanted) = PROPERTIES
        .iter()
        .find(|(property, _, _)| text.contains(property))
        .map_or(("Kafka settings", None), |(_, s, w)| (*s, Some(*w)));
    let problem = match wanted {
        Some(w) => format!(
            "librdkafka refused it ({}); it must be {w}",
            in_our_terms(&text)
        ),
        None => format!("the Kafka client could not be created ({text})"),
    };
    KafkaSetupError::Rejected { setting, problem }
}

/// librdkafka's message with its property names replaced by the datasource's settings.
fn in_our_terms(text: &str) -> String {
    let text = text.trim_start_matches("Client creation error: ");
    PROPERTIES
        .iter()
        .filter(|(property, _, _)| property.ends_with(|c: char| c.is_alphanumeric()))
        .fold(text.to_string(), |t, (property, setting, _)| {
            t.replace(property, setting)
        })
}

/// The text without any secret of the settings, whole or line by line (librdkafka could quote
/// a line of a PEM it could not read).
fn redact(text: &str, settings: &KafkaSettings) -> String {
    let secrets = [
        &settings.ca_cert,
        &settings.client_cert,
        &settings.client_key,
    ]
    .into_iter()
    .flatten()
    .map(|s| s.expose())
    .chain(settings.sasl.as_ref().map(|(_, _, p)| p.expose()));
    let mut out = text.to_string();
    // Shorter pieces would also match words of the message itself.
    for secret in secrets.filter(|s| s.len() >= 6) {
        out = out.replace(secret, "<redacted>");
        for line in secret.lines().map(str::trim).filter(|l| l.len() >= 8) {
            out = out.replace(line, "<redacted>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::DatasourceSettings;
    use crate::settings::KafkaSettings;
    use rdkafka::consumer::BaseConsumer;
    use std::collections::HashMap;

    fn tls(secrets: &[(&str, &str)]) -> KafkaSettings {
        let j = serde_json::json!({"kafkaBootstrapServers": "127.0.0.1:9",
            "kafkaSecurityProtocol": "SSL"});
        let s: HashMap<String, String> = secrets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let parsed = DatasourceSettings::parse(&j, &s).unwrap();
        parsed.kafka.unwrap().unwrap()
    }

    /// librdkafka's real refusal (no broker is asked: the PEM is read when the client is made).
    fn refusal(settings: &KafkaSettings) -> KafkaSetupError {
        let made: Result<BaseConsumer, _> = client_config(settings).create();
        let e = made.err().expect("librdkafka refuses these settings");
        rejected(&e, settings)
    }

    #[test]
    fn a_ca_that_is_not_pem_names_kafka_tls_ca_cert_without_its_text() {
        for ca in [
            "not a pem 5ecret-ca-text",
            "-----BEGIN CERTIFICATE-----\nAAAA 5ecret-ca-text\n-----END CERTIFICATE-----\n",
        ] {
            let err = refusal(&tls(&[("kafkaTlsCaCert", ca)]));
            let text = err.to_string();
            assert!(text.starts_with("kafkaTlsCaCert: "), "{text}");
            assert!(text.contains("PEM"), "{text}");
            assert!(!text.contains("ssl.ca.pem"), "librdkafka's name: {text}");
            assert!(!text.contains("5ecret-ca-text"), "the CA leaked: {text}");
        }
    }

    #[test]
    fn a_client_certificate_or_key_that_does_not_parse_names_its_setting() {
        let cert = "not a cert 5ecret";
        let key = "not a key 5ecret";
        let err = refusal(&tls(&[
            ("kafkaTlsClientCert", cert),
            ("kafkaTlsClientKey", key),
        ]));
        let text = err.to_string();
        assert!(text.starts_with("kafkaTlsClientCert: "), "{text}");
        assert!(
            !text.contains("ssl.certificate.pem") && !text.contains("5ecret"),
            "{text}"
        );
    }

    #[test]
    fn a_config_error_keeps_the_property_but_never_its_value() {
        let settings = tls(&[
            ("kafkaTlsClientKey", "-----BEGIN PRIVATE KEY----- 5ecret"),
            ("kafkaTlsClientCert", "-----BEGIN CERTIFICATE----- 5ecret"),
        ]);
        let e = RdKafkaError::ClientConfig(
            rdkafka::types::RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "Invalid value".into(),
            "ssl.key.pem".into(),
            "-----BEGIN PRIVATE KEY----- 5ecret, and more".into(),
        );
        let text = rejected(&e, &settings).to_string();
        assert!(text.starts_with("kafkaTlsClientKey: "), "{text}");
        assert!(!text.contains("5ecret"), "{text}");
        let mismatch = RdKafkaError::ClientCreation(
            "ssl.key.pem failed: error:05800074:x509 certificate routines::key values mismatch"
                .into(),
        );
        let text = rejected(&mismatch, &settings).to_string();
        assert!(
            text.starts_with("kafkaTlsClientKey: ") && text.contains("kafkaTlsClientCert"),
            "{text}"
        );
    }
}
