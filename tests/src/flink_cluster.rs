//! A real Apache Flink 2.3 MiniCluster for tests: `tests/flink-jobs/PipelineJobs.java` started
//! in its own JVM (see `tests/flink/README.md` for its flags). The JVM is killed when the handle
//! drops, and exits by itself when the test process ends (its stdin closes), so a cluster kept in
//! a `static` does not outlive the test binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// How long the JVM may take to start the cluster and get every job RUNNING (2 slow cores).
const START_BOUND: Duration = Duration::from_secs(120);

pub struct FlinkCluster {
    child: Child,
    rest_url: String,
    port: u16,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repo")
        .to_path_buf()
}

/// Runs `tests/flink/fetch-flink.sh` (idempotent: a no-op once the jars and classes exist).
pub fn ensure_flink() {
    let root = repo_root();
    let status = Command::new("bash")
        .arg(root.join("tests/flink/fetch-flink.sh"))
        .current_dir(&root)
        .status()
        .expect("bash runs tests/flink/fetch-flink.sh");
    assert!(
        status.success(),
        "tests/flink/fetch-flink.sh failed ({status}): real Flink is needed for these tests"
    );
}

/// The cluster most suites share, one per test binary: `pipeline-1` (a slow operator behind a
/// rebalance, so its upstream is backpressured), `pipeline-stalled-watermarks` (event time
/// freezes) and `pipeline-slow-checkpoints` (every checkpoint times out).
pub fn pipeline_cluster() -> &'static FlinkCluster {
    static CLUSTER: OnceLock<FlinkCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        FlinkCluster::start(
            &[
                "--jobs",
                "1",
                "--sleep-ms",
                "5",
                "--checkpoint-ms",
                "1000",
                "--stall-watermarks",
                "--slow-checkpoints",
            ],
            3,
        )
    })
}

impl FlinkCluster {
    /// Starts the launcher with `flags` (e.g. `["--jobs", "2", "--stall-watermarks"]`) on a free
    /// loopback port and waits until `expected_jobs` jobs are RUNNING. Panics after a bound.
    pub fn start(flags: &[&str], expected_jobs: usize) -> FlinkCluster {
        ensure_flink();
        let root = repo_root();
        let cache = root.join(".cache/flink");
        let classpath = format!(
            "{0}/lib/*:{0}/plugins/metrics-prometheus/*:{0}/classes",
            cache.display()
        );
        let mut child = Command::new("java")
            .args(["-Xmx1g", "-cp", &classpath, "PipelineJobs"])
            .args(["--rest-port", "0", "--exit-on-stdin-eof"])
            .args(flags)
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("java is installed (Java 17) and on PATH");
        let port = read_ready_port(&mut child);
        let mut cluster = FlinkCluster {
            child,
            rest_url: format!("http://127.0.0.1:{port}"),
            port,
        };
        cluster.wait_running(expected_jobs);
        cluster
    }

    /// Base URL of the REST API, e.g. `http://127.0.0.1:41234`.
    pub fn rest_url(&self) -> &str {
        &self.rest_url
    }

    /// GET a REST path and parse the JSON answer.
    pub fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        http_get_json(self.port, path)
    }

    /// Jobs by name -> id, from `/jobs/overview`.
    pub fn job_ids(&self) -> Vec<(String, String)> {
        let overview = self.get("/jobs/overview").expect("/jobs/overview answers");
        overview["jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|j| {
                (
                    j["name"].as_str().unwrap_or_default().to_string(),
                    j["jid"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    fn wait_running(&mut self, expected: usize) {
        let deadline = Instant::now() + START_BOUND;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the Flink launcher exited early ({status})");
            }
            match self.get("/jobs/overview") {
                Ok(v) => {
                    let running = v["jobs"]
                        .as_array()
                        .map(|jobs| jobs.iter().filter(|j| j["state"] == "RUNNING").count())
                        .unwrap_or(0);
                    if running >= expected {
                        return;
                    }
                    last = format!("{running} of {expected} jobs RUNNING");
                }
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!(
            "Flink jobs not RUNNING within {} s: {last}",
            START_BOUND.as_secs()
        );
    }
}

impl Drop for FlinkCluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the launcher's stdout until `READY rest=http://127.0.0.1:<port>`; panics after a bound.
fn read_ready_port(child: &mut Child) -> u16 {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("READY rest=http://127.0.0.1:") {
                let port = rest.split_whitespace().next().and_then(|p| p.parse().ok());
                let _ = tx.send(port);
            }
            // Keep draining so the JVM never blocks on a full pipe.
        }
    });
    match rx.recv_timeout(START_BOUND) {
        Ok(Some(port)) => port,
        Ok(None) => panic!("the Flink launcher printed READY without a port"),
        Err(_) => {
            let _ = child.kill();
            panic!(
                "the Flink launcher did not print READY within {} s",
                START_BOUND.as_secs()
            )
        }
    }
}

/// A minimal HTTP/1.0 GET on loopback (keeps the test crate free of an HTTP client dependency).
fn http_get_json(port: u16, path: &str) -> Result<serde_json::Value, String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or("answer without headers")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!(
            "{path}: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    serde_json::from_str(body).map_err(|e| format!("{path}: not JSON: {e}"))
}
