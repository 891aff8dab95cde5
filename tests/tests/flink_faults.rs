//! Fault injection for the Flink queries: a hand-written HTTP server that misbehaves on purpose
//! (real Flink does not fail on demand). Each fault must give its own clear per-query error
//! within the timeout, while another query of the same request still succeeds.
//!
//! The stub routes by the first path segment, so one server serves every fault: the datasource's
//! Flink URL is `http://127.0.0.1:<port>/<fault>`. `/taskmanagers` always answers well.
//! The `huge` faults stream 50 MiB, far above the backend's 8 MiB cap on an answer.
//!
//! Kafka: none. One test names an unreachable bootstrap address (`127.0.0.1:1`) only to have a
//! datasource with Kafka and no Flink URL; the Flink query under test never asks Kafka.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pipeline_backend::flink::client::MAX_IN_FLIGHT;

use pipeline_tests::flink_stub::request_path;
use pipeline_tests::{Answer, DatasourceConfig, PluginHost, Query};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const JOB_ID: &str = "0123456789abcdef0123456789abcdef";

async fn start_stub() -> u16 {
    start_counting_stub().await.0
}

/// The stub, the connections it holds open now, and the most it ever held open at once.
async fn start_counting_stub() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = listener.local_addr().unwrap().port();
    let (open, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (now, peak) = (open.clone(), most.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (open, most) = (open.clone(), most.clone());
            tokio::spawn(async move {
                most.fetch_max(open.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                serve(stream).await;
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (port, now, peak)
}

async fn serve(mut stream: TcpStream) {
    let Some(path) = request_path(&mut stream).await else {
        return;
    };
    let (fault, rest) = path[1..].split_once('/').unwrap_or((&path[1..], ""));
    let rest = format!("/{rest}");
    let overview = json!({"jobs": [{"jid": JOB_ID, "name": "orders", "state": "RUNNING",
        "start-time": 1, "duration": 1000}]})
    .to_string();
    let (status, body) = if rest.starts_with("/taskmanagers/") {
        (
            200,
            r#"[{"id":"Status.JVM.Memory.Heap.Used","value":"1000"},{"id":"Status.JVM.Memory.Heap.Max","value":"4000"}]"#.to_string(),
        )
    } else if rest == "/taskmanagers" {
        (
            200,
            r#"{"taskmanagers":[{"id":"tm-1","slotsNumber":4,"freeSlots":1}]}"#.to_string(),
        )
    } else {
        match (fault, rest.as_str()) {
            ("e500", _) => (500, "internal error".to_string()),
            ("notjson", _) => (200, "<html><body>Login required</body></html>".to_string()),
            // 50 MiB of JSON-ish bytes, declared in Content-Length or not.
            ("huge", _) => return stream_huge(&mut stream, true).await,
            ("hugestream", _) => return stream_huge(&mut stream, false).await,
            // Accept, read the request, never answer; hold the socket until the client
            // closes it (which is when it stops counting as open).
            ("hang", _) => {
                let mut scratch = [0u8; 256];
                let closed =
                    async { while stream.read(&mut scratch).await.is_ok_and(|n| n > 0) {} };
                let _ = tokio::time::timeout(Duration::from_secs(120), closed).await;
                return;
            }
            // The job is listed, then gone when its details are asked for.
            ("gone", "/jobs/overview") => (200, overview),
            ("gone", _) => (404, r#"{"errors":["Job could not be found."]}"#.to_string()),
            // The job and its one vertex are read; every other part of it fails (a vertex's
            // backpressure answers 500 while the job is still starting, as seen on CI).
            ("part500", "/jobs/overview") => (200, overview),
            ("part500", p) if p == format!("/jobs/{JOB_ID}") => (
                200,
                json!({"jid": JOB_ID, "name": "orders", "state": "RUNNING", "now": 2,
                    "vertices": [{"id": "v1", "name": "Source: orders", "parallelism": 1,
                        "status": "RUNNING"}],
                    "plan": {"nodes": [{"id": "v1"}]}})
                .to_string(),
            ),
            ("part500", _) => (500, "internal error".to_string()),
            // A JobManager whose metric store stopped refreshing 5 minutes ago (its fetcher
            // waits on a query to a lost TaskManager): the source reads as backpressured and
            // the sink as busy, the figures of a bottleneck, but they are that old.
            ("frozen", "/jobs/overview") => (200, overview),
            ("frozen", p) if p == format!("/jobs/{JOB_ID}") => (
                200,
                json!({"jid": JOB_ID, "name": "orders", "state": "RUNNING", "now": 2,
                    "vertices": [
                        {"id": "v1", "name": "Source: orders", "parallelism": 1, "status": "RUNNING"},
                        {"id": "v2", "name": "Sink: totals", "parallelism": 1, "status": "RUNNING"}],
                    "plan": {"nodes": [{"id": "v1"}, {"id": "v2", "inputs": [{"id": "v1"}]}]}})
                .to_string(),
            ),
            ("frozen", p) if p.ends_with("/backpressure") => {
                let (ratio, busy) = if p.contains("/v1/") { (0.95, 0.0) } else { (0.0, 0.99) };
                let refreshed = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64
                    - 300_000;
                (
                    200,
                    json!({"status": "ok", "backpressureLevel": "high", "end-timestamp": refreshed,
                        "subtasks": [{"subtask": 0, "ratio": ratio, "busyRatio": busy}]})
                    .to_string(),
                )
            }
            _ => (404, "{}".to_string()),
        }
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
}

/// How much the "huge" faults send: far above the backend's 8 MiB cap.
const HUGE_BYTES: usize = 50 * 1024 * 1024;

/// Stream [`HUGE_BYTES`] in 64 KiB chunks (never held whole), with a Content-Length or
/// delimited by the connection's close; stop once the backend hangs up.
async fn stream_huge(stream: &mut TcpStream, declared: bool) {
    let length = if declared {
        format!("Content-Length: {HUGE_BYTES}\r\n")
    } else {
        String::new()
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..HUGE_BYTES / chunk.len() {
        if stream.write_all(&chunk).await.is_err() {
            return;
        }
    }
}

/// Ask `jobs` (which meets the fault) and `taskManagers` (which does not) in one request.
async fn ask(fault: &str) -> (Answer, Answer) {
    let port = start_stub().await;
    let host = PluginHost::start().await;
    ask_on(&host, port, fault).await
}

/// [`ask`] on a running host and stub, for a test that asks several faults of one stub.
async fn ask_on(host: &PluginHost, port: u16, fault: &str) -> (Answer, Answer) {
    let ds = DatasourceConfig::new(json!({
        "flinkUrl": format!("http://127.0.0.1:{port}/{fault}"),
        "queryTimeoutSeconds": 2,
    }));
    let mut answers = host
        .query(
            &ds,
            &[
                Query::new("A", "jobs", json!({})),
                Query::new("B", "taskManagers", json!({})),
            ],
        )
        .await;
    let a = answers.remove("A").expect("answer A");
    let b = answers.remove("B").expect("answer B");
    (a, b)
}

fn assert_other_query_ok(b: &Answer) {
    let tm = b.frame("taskManagers").row(0);
    assert_eq!(tm["id"], "tm-1");
    assert_eq!(tm["heapRatio"], 0.25);
}

#[tokio::test]
async fn http_500_names_the_status_and_path() {
    let (a, b) = ask("e500").await;
    assert!(a.frames.is_empty());
    assert!(a.error.contains("HTTP 500"), "{}", a.error);
    assert!(a.error.contains("/jobs/overview"), "{}", a.error);
    assert_other_query_ok(&b);
}

#[tokio::test]
async fn an_answer_that_is_not_json_says_so() {
    let (a, b) = ask("notjson").await;
    assert!(a.error.contains("not the JSON expected"), "{}", a.error);
    assert!(
        !a.error.contains("Login required"),
        "the body is not echoed: {}",
        a.error
    );
    assert_other_query_ok(&b);
}

#[tokio::test]
async fn a_hanging_flink_times_out_with_the_configured_timeout() {
    let (a, b) = ask("hang").await;
    assert!(a.error.contains("within 2.0 s"), "{}", a.error);
    assert_other_query_ok(&b);
}

/// A JobManager that accepts and never answers (a long GC pause, SIGSTOP), asked by a busy
/// dashboard: every query times out on time, and the plugin holds a bounded number of sockets
/// instead of one per panel per refresh.
#[tokio::test]
async fn a_hanging_flink_asked_by_many_panels_holds_a_bounded_number_of_connections() {
    let (port, open_now, most_open) = start_counting_stub().await;
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({
        "flinkUrl": format!("http://127.0.0.1:{port}/hang"),
        "queryTimeoutSeconds": 2,
    }));
    let kinds = [
        "jobs",
        "checkpoints",
        "backpressure",
        "watermarks",
        "jobGraph",
    ];
    let queries: Vec<Query> = (0..40)
        .map(|i| Query::new(&format!("Q{i}"), kinds[i % kinds.len()], json!({})))
        .collect();
    let started = Instant::now();
    // Halfway through the timeout every request that got a turn is hanging and no socket is
    // being closed: what is open then is exactly what the plugin holds.
    let midway = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        open_now.load(Ordering::SeqCst)
    };
    let (a, b, c, held) = tokio::join!(
        host.query(&ds, &queries),
        host.query(&ds, &queries),
        host.query(&ds, &queries),
        midway
    );
    let answers = [a, b, c];
    let took = started.elapsed();
    for answer in answers.iter().flat_map(|a| a.values()) {
        assert!(answer.error.contains("within 2.0 s"), "{}", answer.error);
    }
    assert_eq!(answers.iter().map(|a| a.len()).sum::<usize>(), 120);
    assert!(took < Duration::from_secs(6), "all answered in {took:?}");
    assert!(
        (1..=MAX_IN_FLIGHT).contains(&held),
        "{held} connections held open at once for 120 queries"
    );
    // The stub sees a close only when it reads the end of the stream, a moment after the
    // plugin drops a timed-out request, so a request given the freed turn can overlap it
    // (CI saw 17). Without the bound it would be one socket per request: 120.
    let most = most_open.load(Ordering::SeqCst);
    assert!(
        most <= 2 * MAX_IN_FLIGHT,
        "{most} connections open at once for 120 queries"
    );
}

#[tokio::test]
async fn a_huge_answer_is_refused_at_the_size_cap_within_the_timeout() {
    // The host does not expose the plugin's pid, so the backend's RSS (VmHWM) is not read here;
    // the cap bounds what the client buffers (`MAX_BODY_BYTES` in backend/src/flink/client.rs).
    let port = start_stub().await;
    let host = PluginHost::start().await;
    for fault in ["huge", "hugestream"] {
        let started = Instant::now();
        let (a, b) = ask_on(&host, port, fault).await;
        let took = started.elapsed();
        eprintln!("{fault}: answered in {took:?}");
        assert!(a.frames.is_empty(), "{fault}");
        assert!(
            a.error.contains(
                "Flink's answer to /jobs/overview is larger than 8388608 bytes; is the Flink REST URL right?"
            ),
            "{fault}: {}",
            a.error
        );
        assert!(
            took < Duration::from_secs(2),
            "{fault}: {took:?} on a 2 s timeout"
        );
        assert_other_query_ok(&b);
    }
}

/// The row of the one job in a `jobs` answer that must have answered, with its frame's notice.
fn partial_job_row(a: &Answer) -> (HashMap<String, serde_json::Value>, String) {
    let frame = a.frame("jobs");
    let notice = frame.meta["notices"][0].clone();
    assert_eq!(notice["severity"], "warning", "{:?}", frame.meta);
    let text = notice["text"].as_str().unwrap_or_default().to_string();
    (frame.row(0), text)
}

#[tokio::test]
async fn a_job_gone_mid_refresh_is_named_on_its_row() {
    let (a, b) = ask("gone").await;
    let (row, notice) = partial_job_row(&a);
    assert_eq!(row["name"], "orders");
    let unread = row["unread"].as_str().unwrap_or_default();
    for said in ["disappeared", "orders", "404"] {
        assert!(unread.contains(said), "{said}: {unread}");
        assert!(notice.contains(said), "{said}: {notice}");
    }
    assert_other_query_ok(&b);
}

#[tokio::test]
async fn a_vertex_answering_500_is_a_partial_answer_not_a_failed_query() {
    let (a, b) = ask("part500").await;
    let (row, notice) = partial_job_row(&a);
    assert_eq!(row["name"], "orders");
    assert_eq!(row["vertices"], 1, "the job's graph was read");
    let unread = row["unread"].as_str().unwrap_or_default();
    assert!(
        unread.contains("/vertices/v1/backpressure with HTTP 500"),
        "{unread}"
    );
    assert!(unread.contains("/checkpoints with HTTP 500"), "{unread}");
    assert!(notice.starts_with("partial answer: "), "{notice}");
    assert_other_query_ok(&b);
}

#[tokio::test]
async fn figures_flink_stopped_refreshing_are_unknown_and_name_no_bottleneck() {
    let port = start_stub().await;
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({
        "flinkUrl": format!("http://127.0.0.1:{port}/frozen"),
        "queryTimeoutSeconds": 2,
    }));
    let mut answers = host
        .query(&ds, &[Query::new("A", "backpressure", json!({}))])
        .await;
    let a = answers.remove("A").expect("answer A");
    let vertices = a.frame("vertices");
    assert_eq!(vertices.len(), 2);
    for i in 0..2 {
        let row = vertices.row(i);
        assert_eq!(row["status"], "unknown", "{row:?}");
        assert_eq!(row["bottleneck"], false, "{row:?}");
        let reason = row["reason"].as_str().unwrap_or_default();
        for said in ["metrics for this vertex are 300 s old", "web.timeout"] {
            assert!(reason.contains(said), "{said}: {reason}");
        }
    }
    assert_eq!(vertices.meta["custom"]["bottlenecks"], json!([]));
}

#[tokio::test]
async fn flink_queries_without_a_flink_url_ask_for_one() {
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({ "kafkaBootstrapServers": "127.0.0.1:1" }));
    let a = host.query_one(&ds, "backpressure", json!({})).await;
    assert!(a.error.contains("Flink"), "{}", a.error);
    assert!(a.error.contains("configured"), "{}", a.error);
}
