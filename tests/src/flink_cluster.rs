//! A real Apache Flink 2.3 MiniCluster for tests: `tests/flink-jobs/PipelineJobs.java` started
//! in its own JVM (see `tests/flink/README.md` for its flags). The JVM is killed when the handle
//! drops, and exits by itself when the test process ends (its stdin closes), so a cluster kept in
//! a `static` does not outlive the test binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use crate::bed::process::http_get;
use crate::bed::repo_root;

/// How long the JVM may take to start the cluster and get every job RUNNING (2 slow cores).
const START_BOUND: Duration = Duration::from_secs(120);

pub struct FlinkCluster {
    child: Child,
    rest_url: String,
    port: u16,
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
    /// A cluster started with `--rest-tls` is not waited for (this helper speaks plain HTTP
    /// only): its tests poll through the plugin.
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
        let (rest_url, port) = read_ready(&mut child);
        let tls = rest_url.starts_with("https:");
        let mut cluster = FlinkCluster {
            child,
            rest_url,
            port,
        };
        if !tls {
            cluster.wait_running(expected_jobs);
        }
        cluster
    }

    /// Base URL of the REST API, e.g. `http://127.0.0.1:41234`.
    pub fn rest_url(&self) -> &str {
        &self.rest_url
    }

    /// The REST API's loopback port (for a proxy in front of it, or a raw request).
    pub fn port(&self) -> u16 {
        self.port
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

/// Reads the launcher's stdout until `READY rest=http(s)://127.0.0.1:<port>`; the REST URL and
/// port. Panics after a bound.
fn read_ready(child: &mut Child) -> (String, u16) {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("READY rest=") {
                let url = url
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let port = url.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                let _ = tx.send(port.map(|p| (url, p)));
            }
            // Keep draining so the JVM never blocks on a full pipe.
        }
    });
    match rx.recv_timeout(START_BOUND) {
        Ok(Some(ready)) => ready,
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

/// `GET path` on loopback (the bed's HTTP/1.0 client: the test crate has no HTTP client
/// dependency), as JSON.
fn http_get_json(port: u16, path: &str) -> Result<serde_json::Value, String> {
    let body = http_get(port, path)?;
    serde_json::from_str(&body).map_err(|e| format!("{path}: not JSON: {e}"))
}

/// Keystores for a Flink REST API over HTTPS, made with the JDK's keytool: a test CA, a server
/// certificate it signed for 127.0.0.1, and the CA's certificate as PEM (what a user pastes into
/// the datasource's "CA certificate").
pub struct RestTls {
    pub dir: PathBuf,
    pub ca_pem: String,
}

impl RestTls {
    pub fn create(dir: &Path) -> RestTls {
        std::fs::create_dir_all(dir).expect("a directory for the keystores");
        let store = |name: &str| dir.join(name).display().to_string();
        let keytool = |args: &[&str]| {
            let out = Command::new("keytool")
                .args(args)
                .args(["-storepass", "changeit", "-noprompt"])
                .output()
                .expect("keytool (Java 17) is on PATH");
            assert!(
                out.status.success(),
                "keytool {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let (ca, server, trust) = (
            store("ca.p12"),
            store("server.p12"),
            store("truststore.p12"),
        );
        let (ca_pem, csr, server_pem) = (store("ca.pem"), store("server.csr"), store("server.pem"));
        for f in [&ca, &server, &trust] {
            let _ = std::fs::remove_file(f);
        }
        let key = ["-keyalg", "RSA", "-keysize", "2048", "-validity", "2"];
        keytool(
            &[
                &[
                    "-genkeypair",
                    "-alias",
                    "ca",
                    "-dname",
                    "CN=pipeline-health test CA",
                    "-ext",
                    "bc:c",
                    "-keystore",
                    &ca,
                ][..],
                &key,
            ]
            .concat(),
        );
        keytool(&[
            "-exportcert",
            "-rfc",
            "-alias",
            "ca",
            "-keystore",
            &ca,
            "-file",
            &ca_pem,
        ]);
        keytool(
            &[
                &[
                    "-genkeypair",
                    "-alias",
                    "server",
                    "-dname",
                    "CN=127.0.0.1",
                    "-keystore",
                    &server,
                ][..],
                &key,
            ]
            .concat(),
        );
        keytool(&[
            "-certreq",
            "-alias",
            "server",
            "-keystore",
            &server,
            "-file",
            &csr,
        ]);
        keytool(&[
            "-gencert",
            "-rfc",
            "-alias",
            "ca",
            "-keystore",
            &ca,
            "-infile",
            &csr,
            "-outfile",
            &server_pem,
            "-validity",
            "2",
            "-ext",
            "SAN=ip:127.0.0.1",
            "-ext",
            "EKU=serverAuth",
        ]);
        keytool(&[
            "-importcert",
            "-alias",
            "ca",
            "-keystore",
            &server,
            "-file",
            &ca_pem,
        ]);
        keytool(&[
            "-importcert",
            "-alias",
            "server",
            "-keystore",
            &server,
            "-file",
            &server_pem,
        ]);
        keytool(&[
            "-importcert",
            "-alias",
            "ca",
            "-keystore",
            &trust,
            "-file",
            &ca_pem,
        ]);
        RestTls {
            dir: dir.to_path_buf(),
            ca_pem: std::fs::read_to_string(&ca_pem).expect("the exported CA"),
        }
    }
}
