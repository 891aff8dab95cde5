//! Load as a busy dashboard makes it: many queries in one request, many requests at once, and
//! the datasource's settings saved while queries run. Against a stub Flink with no jobs and one
//! TaskManager, whose id says which stub answered.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipeline_tests::flink_stub::request_path;
use pipeline_tests::{Answer, DatasourceConfig, PluginHost, Query};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// The query timeout of every datasource here; each bound below is asserted against it.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A Flink with no jobs and one TaskManager `tm`, answering each request after `delay`.
async fn flink_stub(tm: &'static str, delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, tm, delay));
        }
    });
    format!("http://{addr}")
}

async fn serve(mut socket: TcpStream, tm: &'static str, delay: Duration) {
    let Some(path) = request_path(&mut socket).await else {
        return;
    };
    let path = path.as_str();
    let (status, body) = if path == "/config" {
        (200, r#"{"flink-version":"2.3.0"}"#.to_string())
    } else if path == "/jobs/overview" {
        (200, r#"{"jobs":[]}"#.to_string())
    } else if path == "/taskmanagers" {
        let list = json!({"taskmanagers": [{"id": tm, "slotsNumber": 4, "freeSlots": 1}]});
        (200, list.to_string())
    } else if path.starts_with("/taskmanagers/") {
        let metrics = r#"[{"id":"Status.JVM.Memory.Heap.Used","value":"1000"},{"id":"Status.JVM.Memory.Heap.Max","value":"4000"}]"#;
        (200, metrics.to_string())
    } else {
        (404, "{}".to_string())
    };
    tokio::time::sleep(delay).await;
    let reply = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(reply.as_bytes()).await;
}

fn datasource(flink: &str) -> DatasourceConfig {
    DatasourceConfig::new(
        json!({ "flinkUrl": flink, "queryTimeoutSeconds": TIMEOUT.as_secs_f64() }),
    )
}

/// The TaskManager id a `taskManagers` answer lists: which stub answered.
fn tm_of(answer: &Answer) -> String {
    let row = answer.frame("taskManagers").row(0);
    row["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn fifty_queries_in_one_request_each_get_their_own_answer() {
    let host = PluginHost::start().await;
    let ds = datasource(&flink_stub("tm-1", Duration::ZERO).await);
    // Six kinds in turn: three good, three each failing in its own way.
    let kinds = [
        ("jobs", json!({})),
        ("taskManagers", json!({})),
        ("checkpoints", json!({})),
        ("jobs", json!({ "timeoutSeconds": "soon" })),
        ("lagz", json!({})),
        ("consumerLag", json!({})),
    ];
    let queries: Vec<Query> = (0..50)
        .map(|i| {
            let (kind, json) = &kinds[i % kinds.len()];
            Query::new(&format!("q{i}"), kind, json.clone())
        })
        .collect();
    let started = Instant::now();
    let answers = host.query(&ds, &queries).await;
    let took = started.elapsed();
    eprintln!("50 queries in one request answered in {took:?}");
    assert!(took < TIMEOUT, "{took:?}");
    assert_eq!(answers.len(), 50, "{:?}", answers.keys());
    for i in 0..50 {
        let a = &answers[&format!("q{i}")];
        match i % kinds.len() {
            0 => assert_eq!(a.frame("jobs").len(), 0, "q{i}"),
            1 => assert_eq!(tm_of(a), "tm-1", "q{i}"),
            2 => assert!(!a.ok().is_empty(), "q{i} has its frames"),
            3 => {
                assert_eq!(a.status, 400, "q{i}: {}", a.error);
                assert!(a.error.contains("timeoutSeconds"), "q{i}: {}", a.error);
            }
            4 => {
                assert_eq!(a.status, 400, "q{i}: {}", a.error);
                assert!(a.error.contains("lagz"), "q{i}: {}", a.error);
            }
            _ => {
                assert!(a.frames.is_empty(), "q{i}");
                assert!(
                    a.error.contains("Kafka") && a.error.contains("configured"),
                    "q{i}: {}",
                    a.error
                );
            }
        }
    }
}

#[tokio::test]
async fn fifty_concurrent_requests_all_answer_and_the_plugin_lives() {
    let host = Arc::new(PluginHost::start().await);
    let ds = datasource(&flink_stub("tm-1", Duration::from_millis(50)).await);
    let started = Instant::now();
    let mut requests = JoinSet::new();
    for _ in 0..50 {
        let (host, ds) = (host.clone(), ds.clone());
        requests.spawn(async move {
            let sent = Instant::now();
            let queries = [
                Query::new("A", "jobs", json!({})),
                Query::new("B", "taskManagers", json!({})),
            ];
            let answers = host.query(&ds, &queries).await;
            (sent.elapsed(), answers)
        });
    }
    let mut slowest = Duration::ZERO;
    let mut answered = 0;
    while let Some(done) = requests.join_next().await {
        let (took, answers) = done.expect("a request's task");
        slowest = slowest.max(took);
        assert_eq!(answers["A"].frame("jobs").len(), 0);
        assert_eq!(tm_of(&answers["B"]), "tm-1");
        answered += 1;
    }
    let took = started.elapsed();
    eprintln!("50 concurrent requests answered in {took:?}, the slowest in {slowest:?}");
    assert_eq!(answered, 50);
    assert!(took < TIMEOUT, "{took:?}");
    let mut host = Arc::into_inner(host).expect("no request holds the host any more");
    assert!(host.is_running(), "the plugin died under load");
    let (status, message, _) = host.check_health(&ds).await;
    assert_eq!(status, 1, "CheckHealth after the load: {message}");
}

#[tokio::test]
async fn settings_saved_under_load_switch_queries_to_the_new_flink_without_failing_any() {
    let host = Arc::new(PluginHost::start().await);
    // Stub A answers slowly, so queries on settings A are still running at the switch.
    let a = datasource(&flink_stub("tm-a", Duration::from_millis(100)).await);
    let mut b = a.clone();
    b.json_data["flinkUrl"] = json!(flink_stub("tm-b", Duration::ZERO).await);
    b.updated_ms = a.updated_ms + 60_000;
    let current = Arc::new(Mutex::new(a));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = JoinSet::new();
    for _ in 0..4 {
        let (host, current, stop) = (host.clone(), current.clone(), stop.clone());
        workers.spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let ds = current.lock().unwrap().clone();
                let sent = Instant::now();
                let answer = host.query_one(&ds, "taskManagers", json!({})).await;
                let took = sent.elapsed();
                assert!(answer.error.is_empty(), "a query failed: {}", answer.error);
                assert!(took < TIMEOUT, "{took:?}");
                seen.push((ds.updated_ms, tm_of(&answer), took));
            }
            seen
        });
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    *current.lock().unwrap() = b.clone();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    while let Some(done) = workers.join_next().await {
        seen.extend(done.expect("no query failed"));
    }
    let on_b: Vec<_> = seen.iter().filter(|s| s.0 == b.updated_ms).collect();
    let on_a = seen.len() - on_b.len();
    let slowest = seen.iter().map(|s| s.2).max().unwrap();
    eprintln!(
        "{} queries ({on_a} on A, {} on B), the slowest {slowest:?}",
        seen.len(),
        on_b.len()
    );
    assert!(on_a > 0 && !on_b.is_empty(), "both settings were queried");
    for (stamp, tm, _) in &seen {
        let expected = if *stamp == b.updated_ms {
            "tm-b"
        } else {
            "tm-a"
        };
        assert_eq!(
            tm, expected,
            "a query on settings {stamp} answered from {tm}"
        );
    }
    let after = host.query_one(&b, "taskManagers", json!({})).await;
    assert_eq!(tm_of(&after), "tm-b");
}
