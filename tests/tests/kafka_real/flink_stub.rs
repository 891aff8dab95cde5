//! A Flink REST API that answers a topology refresh well, for the tests whose Kafka side is
//! the real cluster and whose Flink side only has to be there: one RUNNING job, `orders`, of
//! two vertices, `Source: <topic>` -> `Sink: orders-db`. Written by hand as `flink_faults`'
//! stub is; the real Flink's join is `topology`'s.

use pipeline_tests::flink_stub::request_path;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

pub const JOB_ID: &str = "0123456789abcdef0123456789abcdef";
pub const JOB_NAME: &str = "orders";
pub const SOURCE_ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1";
pub const SINK_ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2";

/// The stub's URL; its job's source reads `topic` (by name, as Flink names a Kafka source).
pub async fn start(topic: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let topic = topic.to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, topic.clone()));
        }
    });
    url
}

/// The node id of the stub's source vertex in the topology.
pub fn source_node() -> String {
    format!("flink/{JOB_ID}/{SOURCE_ID}")
}

async fn serve(mut stream: TcpStream, topic: String) {
    let Some(path) = request_path(&mut stream).await else {
        return;
    };
    let path = path.split('?').next().unwrap_or(&path);
    let job = format!("/jobs/{JOB_ID}");
    let body = match path {
        "/config" => json!({"flink-version": "stub"}),
        "/jobs/overview" => json!({"jobs": [{"jid": JOB_ID, "name": JOB_NAME,
            "state": "RUNNING", "start-time": 1, "duration": 1000}]}),
        p if p == job => json!({
            "jid": JOB_ID, "name": JOB_NAME, "state": "RUNNING", "now": 2000,
            "vertices": [
                {"id": SOURCE_ID, "name": format!("Source: {topic}"), "parallelism": 1,
                 "status": "RUNNING"},
                {"id": SINK_ID, "name": "Sink: orders-db", "parallelism": 1,
                 "status": "RUNNING"},
            ],
            "plan": {"nodes": [
                {"id": SOURCE_ID, "inputs": []},
                {"id": SINK_ID, "inputs": [{"id": SOURCE_ID, "ship_strategy": "FORWARD"}]},
            ]},
        }),
        p if p.ends_with("/backpressure") => json!({"status": "ok",
            "backpressureLevel": "ok", "subtasks": [{"subtask": 0,
            "backpressureLevel": "ok", "ratio": 0.0, "busyRatio": 0.1}]}),
        p if p.ends_with("/watermarks") || p.ends_with("/metrics") => json!([]),
        p if p.ends_with("/checkpoints") => json!({}),
        "/taskmanagers" => json!({"taskmanagers": [{"id": "tm-1", "slotsNumber": 4,
            "freeSlots": 1}]}),
        _ => json!({}),
    }
    .to_string();
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
}
