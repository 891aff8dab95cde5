//! A real Flink 2.3 whose REST API speaks HTTPS only (Flink's own `security.ssl.rest.*`, with a
//! server certificate signed by a CA the test makes with keytool), asked through the spawned
//! backend: the datasource's "CA certificate" setting is what makes it trusted.

use std::time::{Duration, Instant};

use pipeline_tests::flink_cluster::{FlinkCluster, RestTls};
use pipeline_tests::{DatasourceConfig, PluginHost};
use serde_json::json;

const SETTLE_BOUND: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_flink_behind_tls_is_trusted_with_its_ca_and_refused_without() {
    let dir = std::env::temp_dir().join(format!("pipeline-health-tls-{}", std::process::id()));
    let tls = RestTls::create(&dir);
    let tls_dir = tls.dir.display().to_string();
    let cluster = FlinkCluster::start(&["--jobs", "1", "--rest-tls", &tls_dir], 1);
    let url = cluster.rest_url().to_string();
    assert!(url.starts_with("https://"), "{url}");
    let host = PluginHost::start().await;

    // With the CA: the jobs answer, once the job is RUNNING.
    let trusted = DatasourceConfig::new(json!({ "flinkUrl": url, "queryTimeoutSeconds": 10 }))
        .with_secure("flinkTlsCaCert", &tls.ca_pem);
    let deadline = Instant::now() + SETTLE_BOUND;
    loop {
        let answer = host.query_one(&trusted, "jobs", json!({})).await;
        let running = answer.error.is_empty()
            && answer
                .frame("jobs")
                .find_row("name", "pipeline-1")
                .is_some_and(|r| r["state"] == "RUNNING");
        if running {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pipeline-1 never RUNNING over TLS: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (status, message, _) = host.check_health(&trusted).await;
    assert_eq!(status, 1, "Save & test passes with the CA: {message}");

    // Without it: the certificate is not trusted, and the error says so.
    let untrusted = DatasourceConfig::new(json!({ "flinkUrl": url, "queryTimeoutSeconds": 10 }));
    let answer = host.query_one(&untrusted, "jobs", json!({})).await;
    assert!(answer.frames.is_empty());
    assert!(
        answer.error.contains("cannot reach Flink") && answer.error.contains("certificate"),
        "{}",
        answer.error
    );
    let (status, message, _) = host.check_health(&untrusted).await;
    assert_eq!(status, 2);
    assert!(message.contains("certificate"), "{message}");

    // A CA that is not PEM is a settings error naming the field.
    let garbage = DatasourceConfig::new(json!({ "flinkUrl": url }))
        .with_secure("flinkTlsCaCert", "-----BEGIN CERTIFICATE-----\nnope\n");
    let answer = host.query_one(&garbage, "jobs", json!({})).await;
    assert!(answer.error.contains("flinkTlsCaCert"), "{}", answer.error);
    assert!(
        !answer.error.contains("nope"),
        "the secret's text is never echoed: {}",
        answer.error
    );
    let _ = std::fs::remove_dir_all(&dir);
}
