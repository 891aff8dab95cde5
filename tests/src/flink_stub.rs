//! A stub Flink JobManager that counts what it is asked: one running job of two vertices,
//! answering every request of a topology refresh. Requests are counted by the first segment of
//! their path, so datasources whose Flink URL is `http://127.0.0.1:<port>/<name>` are counted
//! apart on one stub. Like a JobManager's REST server (`rest.server.numThreads`, 4 by default)
//! it works on a bounded number of requests at once, each taking `work`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

pub const JOB_ID: &str = "c0a1e5ce0000000000000000000000aa";
const SOURCE: &str = "c0a1e5ce0000000000000000000000b1";
const SINK: &str = "c0a1e5ce0000000000000000000000b2";

/// Requests of one topology refresh of the stub's job: the overview, the job's detail,
/// checkpoints and exceptions, and backpressure, watermarks and rates of each of its two vertices.
pub const ROUND: usize = 4 + 2 * 3;

/// Requests received, by name (the first path segment).
type Counts = Arc<Mutex<HashMap<String, Counted>>>;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    pub requests: usize,
    /// `/jobs/overview` requests: each refresh starts with one.
    pub refreshes: usize,
}

pub struct CountingFlink {
    port: u16,
    counts: Counts,
}

impl CountingFlink {
    /// A stub working on at most `threads` requests at once, each for `work`.
    pub async fn start(work: Duration, threads: usize) -> CountingFlink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("local address").port();
        let counts = Counts::default();
        let seen = counts.clone();
        let threads = Arc::new(Semaphore::new(threads));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, seen.clone(), threads.clone(), work));
            }
        });
        CountingFlink { port, counts }
    }

    /// The Flink URL of datasource `name`, counted apart from the others.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    pub fn counted(&self, name: &str) -> Counted {
        let counts = self.counts.lock().expect("counts");
        counts.get(name).copied().unwrap_or_default()
    }
}

/// Reads one HTTP request's head from `stream` and returns its path (query string included);
/// `None` when the peer closed first. The one request reader of the test suites' stub servers.
pub async fn request_path(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    Some(head.split_whitespace().nth(1).unwrap_or("/").to_string())
}

async fn serve(mut stream: TcpStream, counts: Counts, threads: Arc<Semaphore>, work: Duration) {
    // Keep-alive: the backend's client reuses connections, so serve requests until it closes.
    loop {
        let Some(path) = request_path(&mut stream).await else {
            return;
        };
        let (name, rest) = path[1..].split_once('/').unwrap_or((&path[1..], ""));
        let rest = format!("/{rest}");
        {
            let mut counts = counts.lock().expect("counts");
            let c = counts.entry(name.to_string()).or_default();
            c.requests += 1;
            c.refreshes += usize::from(rest == "/jobs/overview");
        }
        let (status, body) = answer(&rest);
        {
            let _thread = threads.acquire().await.expect("semaphore");
            tokio::time::sleep(work).await;
        }
        let reply = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn answer(path: &str) -> (u16, String) {
    let now = now_ms();
    let job = format!("/jobs/{JOB_ID}");
    let vertex = |v: &str| path.starts_with(&format!("{job}/vertices/{v}/"));
    let body = if path == "/jobs/overview" {
        json!({"jobs": [{"jid": JOB_ID, "name": "orders", "state": "RUNNING",
            "start-time": now - 60_000, "duration": 60_000}]})
    } else if path == job {
        json!({"jid": JOB_ID, "name": "orders", "state": "RUNNING", "now": now,
            "vertices": [
                {"id": SOURCE, "name": "Source: orders", "parallelism": 1, "status": "RUNNING"},
                {"id": SINK, "name": "Sink: totals", "parallelism": 1, "status": "RUNNING"}],
            "plan": {"nodes": [{"id": SOURCE, "inputs": []},
                {"id": SINK, "inputs": [{"id": SOURCE, "ship_strategy": "FORWARD"}]}]}})
    } else if path == format!("{job}/checkpoints") {
        json!({"counts": {"completed": 1, "failed": 0, "in_progress": 0},
            "latest": {"completed": {"id": 1, "status": "COMPLETED",
                "trigger_timestamp": now - 5_000, "latest_ack_timestamp": now - 4_900}},
            "history": []})
    } else if path == format!("{job}/exceptions") {
        json!({"exceptionHistory": {"entries": []}})
    } else if (vertex(SOURCE) || vertex(SINK)) && path.ends_with("/backpressure") {
        json!({"status": "ok", "backpressureLevel": "ok", "subtasks": [{"subtask": 0,
            "backpressureLevel": "ok", "ratio": 0.0, "busyRatio": 0.1, "idleRatio": 0.9}]})
    } else if vertex(SINK) && path.ends_with("/watermarks") {
        json!([{"id": "0.currentInputWatermark", "value": (now - 1_000).to_string()}])
    } else if vertex(SOURCE) && path.ends_with("/watermarks") {
        json!([])
    } else if (vertex(SOURCE) || vertex(SINK)) && path.contains("/subtasks/metrics") {
        json!([{"id": "numRecordsInPerSecond", "sum": 10.0},
            {"id": "numRecordsOutPerSecond", "sum": 10.0}])
    } else {
        return (404, r#"{"errors":["Not found."]}"#.to_string());
    };
    (200, body.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
