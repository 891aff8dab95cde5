//! A datasource's settings as Grafana hands them over: `jsonData` (any JSON a user or a
//! provisioning file wrote) and the decrypted `secureJsonData`. Parsed as an instance is built,
//! then turned into the librdkafka configuration and the Flink HTTP client (which reads the CA
//! certificate). Besides "no panic": no error and no debug print may show a secret.
#![no_main]

use std::collections::HashMap;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use pipeline_backend::flink::FlinkClient;
use pipeline_backend::kafka::config::client_config;
use pipeline_backend::settings::DatasourceSettings;

// The input is a datasource as a provisioning file holds it (the corpus starts from ours):
// {"jsonData": {...}, "secureJsonData": {"kafkaPassword": "...", ...}}.

/// The start of every probe secret: a text no setting prints.
const PROBE: &str = "probe-secret-";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(datasource) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let json = datasource.get("jsonData").cloned().unwrap_or_default();
    let secure: HashMap<String, String> = datasource
        .get("secureJsonData")
        .and_then(|s| s.as_object())
        .map(|s| {
            s.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    // What the plugin shows from these settings, and from the same settings with other
    // secrets. A probe secret shown is a leak; so is a real secret shown that the output with
    // probes does not hold anywhere. One that is a part of what the settings print anyway
    // (`SASL_SSL`, or "fli" inside `flinkTlsCaCert`, as the fuzzer found) reveals nothing.
    let probes: HashMap<String, String> = secure
        .keys()
        .enumerate()
        .map(|(i, k)| (k.clone(), format!("{PROBE}{i}-0123456789")))
        .collect();
    let (real, probed) = (shown(&json, &secure), shown(&json, &probes));
    for text in &probed {
        assert!(!text.contains(PROBE), "a secret shown: {text}");
    }
    for secret in secure.values().filter(|s| s.trim().len() >= 3) {
        let shown_anyway = probed.iter().any(|p| p.contains(secret.as_str()));
        for text in &real {
            assert!(
                !text.contains(secret.as_str()) || shown_anyway,
                "a secret shown: {text}"
            );
        }
    }
});

/// Every text the plugin may show from settings: the error, or the debug print of what was
/// parsed and the errors of building its Kafka configuration and Flink client.
fn shown(json: &serde_json::Value, secure: &HashMap<String, String>) -> Vec<String> {
    let settings = match DatasourceSettings::parse(json, secure) {
        Err(e) => return vec![e.to_string()],
        Ok(s) => s,
    };
    let mut out = vec![format!("{settings:?}")];
    match &settings.kafka {
        // The configuration itself holds the password for librdkafka and is never printed.
        Some(Ok(kafka)) => drop(client_config(kafka)),
        Some(Err(e)) => out.push(e.to_string()),
        None => {}
    }
    if let Some(flink) = &settings.flink {
        if let Err(e) = FlinkClient::new(flink, Duration::from_secs(1)) {
            out.push(e.to_string());
        }
    }
    out
}
