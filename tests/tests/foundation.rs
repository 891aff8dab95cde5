//! The backend as Grafana runs it: spawned, handshake on stdout, services over gRPC.
//! These tests need no Kafka or Flink: they prove the wiring (settings, typed queries,
//! per-query errors, timeouts, resources, metrics) with unreachable or misbehaving upstreams.

#[path = "foundation/alerting.rs"]
mod alerting;
#[path = "foundation/cli.rs"]
mod cli;
#[path = "foundation/coalesce.rs"]
mod coalesce;
#[path = "foundation/live.rs"]
mod live;
#[path = "foundation/load.rs"]
mod load;
#[path = "foundation/query_options.rs"]
mod query_options;

use std::time::{Duration, Instant};

use pipeline_tests::{DatasourceConfig, PluginHost, Query};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// A local HTTP server that accepts connections and never answers: a Flink that hangs.
async fn hanging_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

/// A local HTTP server that answers every request with `status` and `body`.
async fn answering_server(status: u16, body: &'static str) -> String {
    stoppable_answering_server(status, body).await.0
}

/// [`answering_server`] and its accept loop, which the test may abort: from then on every
/// connection is refused.
async fn stoppable_answering_server(
    status: u16,
    body: &'static str,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), server)
}

/// A loopback port with nothing listening.
async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn handshake_follows_the_go_plugin_protocol() {
    let host = PluginHost::start().await;
    assert!(
        host.address.starts_with("127.0.0.1:"),
        "plugin must listen on loopback: {}",
        host.address
    );
    eprintln!("handshake took {:?}", host.handshake);
}

#[tokio::test]
async fn a_malformed_query_fails_alone() {
    let host = PluginHost::start().await;
    // A Flink with no jobs: every path answers the same empty overview.
    let flink = answering_server(200, r#"{"jobs":[]}"#).await;
    let ds = DatasourceConfig::new(json!({ "flinkUrl": flink }));
    let answers = host
        .query(
            &ds,
            &[
                Query::new("good", "jobs", json!({})),
                Query::new("badtype", "lagz", json!({})),
                Query::new("badfield", "jobs", json!({ "timeoutSeconds": "soon" })),
            ],
        )
        .await;
    let good = &answers["good"];
    assert!(good.error.is_empty(), "{}", good.error);
    assert_eq!(good.frame("jobs").len(), 0);

    let bad_type = &answers["badtype"];
    assert!(bad_type.frames.is_empty());
    assert!(
        bad_type.error.contains("queryType") && bad_type.error.contains("lagz"),
        "{}",
        bad_type.error
    );
    assert_eq!(bad_type.status, 400);
    let bad_field = &answers["badfield"];
    assert!(
        bad_field.error.contains("timeoutSeconds"),
        "{}",
        bad_field.error
    );
}

#[tokio::test]
async fn a_hanging_upstream_is_cut_at_the_query_timeout() {
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(
        json!({ "flinkUrl": hanging_server().await, "queryTimeoutSeconds": 1.5 }),
    );
    let started = Instant::now();
    let answer = host.query_one(&ds, "jobs", json!({})).await;
    let took = started.elapsed();
    assert!(answer.frames.is_empty());
    assert!(
        answer.error.contains("did not answer") && answer.error.contains("1.5"),
        "{}",
        answer.error
    );
    assert!(
        took < Duration::from_secs(5),
        "answer took {took:?} with a 1.5 s timeout"
    );
    // The topology answers in part: the hanging side is an unknown node, within the timeout.
    let answer = host.query_one(&ds, "topology", json!({})).await;
    let flink = answer.frame("nodes").find_row("id", "flink").unwrap();
    assert_eq!(flink["health"], "unknown");
    assert!(
        flink["reason"].as_str().unwrap().contains("did not answer"),
        "{flink:?}"
    );
    // A per-query override shorter than the datasource's timeout wins.
    let started = Instant::now();
    let answer = host
        .query_one(&ds, "jobs", json!({ "timeoutSeconds": 0.5 }))
        .await;
    assert!(answer.error.contains("0.5"), "{:?}", answer.error);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn bad_settings_give_every_query_the_same_actionable_error() {
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({ "flinkUrl": "jobmanager:8081" }));
    let answers = host
        .query(
            &ds,
            &[
                Query::new("A", "health", json!({})),
                Query::new("B", "health", json!({})),
            ],
        )
        .await;
    for id in ["A", "B"] {
        assert!(
            answers[id].error.contains("flinkUrl") && answers[id].error.contains("http://"),
            "{}",
            answers[id].error
        );
    }
    let (status, message, _) = host.check_health(&ds).await;
    assert_eq!(status, 2, "CheckHealth must report an error");
    assert!(message.contains("flinkUrl"), "{message}");
}

#[tokio::test]
async fn check_health_names_what_failed_and_never_echoes_secrets() {
    let host = PluginHost::start().await;
    let port = closed_port().await;
    let ds = DatasourceConfig::new(json!({
        "flinkUrl": format!("http://127.0.0.1:{port}"),
        "flinkAuth": "bearer",
        "queryTimeoutSeconds": 3
    }))
    .with_secure("flinkBearerToken", "tok-5ecret-value");
    let (status, message, details) = host.check_health(&ds).await;
    assert_eq!(status, 2);
    assert!(
        message.contains("cannot reach Flink") && message.contains(&port.to_string()),
        "{message}"
    );
    assert_eq!(details["components"][0]["status"], "critical");
    let answer = host.query_one(&ds, "health", json!({})).await;
    let places = [
        ("the health message", message.clone()),
        ("the health details", details.to_string()),
        (
            "the query answer",
            format!("{:?} {}", answer.frames, answer.error),
        ),
        ("the plugin log", host.log()),
    ];
    for (place, text) in places {
        if let Some(at) = text.find("tok-5ecret-value") {
            panic!(
                "the secret leaked into {place}: ...{}...",
                &text[at.saturating_sub(200)..at]
            );
        }
    }

    let ok = DatasourceConfig::new(
        json!({ "flinkUrl": answering_server(200, r#"{"flink-version":"2.3.0"}"#).await }),
    );
    let (status, message, _) = host.check_health(&ok).await;
    assert_eq!(status, 1, "{message}");
}

#[tokio::test]
async fn flink_errors_say_what_is_wrong() {
    let host = PluginHost::start().await;
    for (status, body, expect) in [
        (500, "oops", "HTTP 500"),
        (200, "<html>proxy</html>", "not the JSON"),
    ] {
        let ds = DatasourceConfig::new(json!({ "flinkUrl": answering_server(status, body).await }));
        let answer = host.query_one(&ds, "jobs", json!({})).await;
        assert!(answer.frames.is_empty());
        assert!(answer.error.contains(expect), "{}", answer.error);
    }
}

#[tokio::test]
async fn resources_and_metrics_answer() {
    let mut host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({}));
    let (code, body) = host.resource(&ds, "/query-types").await;
    assert_eq!(code, 200);
    assert!(body["queryTypes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "health"));
    let (code, body) = host.resource(&ds, "/no-such-thing").await;
    assert_eq!(code, 404);
    assert!(body["error"].as_str().unwrap().contains("no-such-thing"));

    let _ = host.query_one(&ds, "nope", json!({})).await;
    let metrics = host.collect_metrics().await;
    assert!(
        metrics.contains("pipeline_health_queries_total"),
        "{metrics}"
    );
    assert!(metrics.contains(r#"outcome="error""#), "{metrics}");
    assert!(host.is_running());
}
