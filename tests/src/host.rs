//! The plugin host: spawn, handshake, gRPC calls.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grafana_plugin_sdk::pluginv2::{
    data_client::DataClient, diagnostics_client::DiagnosticsClient,
    resource_client::ResourceClient, CallResourceRequest, CheckHealthRequest,
    CollectMetricsRequest, DataQuery, DataSourceInstanceSettings, PluginContext, QueryDataRequest,
    TimeRange,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::Channel;

use crate::arrow_frames::{decode_frame, DecodedFrame};

pub const PLUGIN_ID: &str = "pipelinehealth-kafkaflink-datasource";

/// Where the backend binary is: `PIPELINE_BACKEND_BIN` if set (handy while iterating on a debug
/// build), else the binary inside the built plugin directory, the one Grafana would run.
pub fn backend_binary() -> PathBuf {
    let root = crate::bed::repo_root();
    if let Ok(p) = std::env::var("PIPELINE_BACKEND_BIN") {
        // Relative paths are taken from the repository root, not from the test's directory.
        return root.join(p);
    }
    root.join("dist")
        .join(PLUGIN_ID)
        .join("gpx_kafkaflink_linux_amd64")
}

/// A datasource instance as Grafana would send it with every call.
#[derive(Debug, Clone)]
pub struct DatasourceConfig {
    pub uid: String,
    pub json_data: serde_json::Value,
    pub secure: HashMap<String, String>,
    /// Grafana's "settings last saved" stamp; change it to make the plugin rebuild its clients.
    pub updated_ms: i64,
}

impl DatasourceConfig {
    /// A new datasource instance with its own uid, so that the plugin builds fresh clients
    /// for it even when one plugin process serves several tests.
    pub fn new(json_data: serde_json::Value) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let uid = format!("test-ds-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        DatasourceConfig {
            uid,
            json_data,
            secure: HashMap::new(),
            updated_ms: 1_700_000_000_000,
        }
    }

    pub fn with_secure(mut self, key: &str, value: &str) -> Self {
        self.secure.insert(key.into(), value.into());
        self
    }

    pub(crate) fn context(&self) -> PluginContext {
        PluginContext {
            org_id: 1,
            plugin_id: PLUGIN_ID.into(),
            data_source_instance_settings: Some(DataSourceInstanceSettings {
                id: 1,
                uid: self.uid.clone(),
                name: "Pipeline Health".into(),
                json_data: serde_json::to_vec(&self.json_data).expect("json"),
                decrypted_secure_json_data: self.secure.clone(),
                last_updated_ms: self.updated_ms,
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// One query of a QueryData request.
#[derive(Debug, Clone)]
pub struct Query {
    pub ref_id: String,
    pub query_type: String,
    pub json: serde_json::Value,
}

impl Query {
    pub fn new(ref_id: &str, query_type: &str, json: serde_json::Value) -> Self {
        Query {
            ref_id: ref_id.into(),
            query_type: query_type.into(),
            json,
        }
    }
}

/// The answer to one query: frames, or an error with its status.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: i32,
    pub error: String,
    pub frames: Vec<DecodedFrame>,
}

impl Answer {
    /// The frames, failing the test with the plugin's error message when there is one.
    pub fn ok(&self) -> &[DecodedFrame] {
        assert!(
            self.error.is_empty(),
            "query failed with status {}: {}",
            self.status,
            self.error
        );
        &self.frames
    }

    pub fn frame(&self, name: &str) -> &DecodedFrame {
        self.ok()
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "no frame named {name}; got {:?}",
                    self.frames.iter().map(|f| &f.name).collect::<Vec<_>>()
                )
            })
    }
}

/// A running backend plugin process.
pub struct PluginHost {
    child: Child,
    pub(crate) channel: Channel,
    pub address: String,
    /// Time from spawn to the handshake line on stdout.
    pub handshake: Duration,
    stderr: Arc<Mutex<String>>,
}

impl PluginHost {
    /// Spawn the backend binary with the environment Grafana gives plugins and wait for its
    /// handshake. Panics (failing the test loudly) if the binary is missing or misbehaves.
    pub async fn start() -> PluginHost {
        Self::start_with_env(&[]).await
    }

    /// The plugin and a two-worker runtime of its own to call it from, for blocking callers.
    /// Keep both: the gRPC connection's task lives in that runtime and dies with it.
    pub fn start_blocking() -> (tokio::runtime::Runtime, PluginHost) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let host = runtime.block_on(PluginHost::start());
        (runtime, host)
    }

    pub async fn start_with_env(extra_env: &[(&str, &str)]) -> PluginHost {
        let bin = backend_binary();
        assert!(
            bin.exists(),
            "backend binary {} is missing: build the plugin first (`cargo xtask dist`) or set PIPELINE_BACKEND_BIN",
            bin.display()
        );
        let started = Instant::now();
        let mut cmd = Command::new(&bin);
        // What Grafana's go-plugin client sets for a backend plugin.
        cmd.env("PLUGIN_PROTOCOL_VERSIONS", "2")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("grafana_plugin_type", "datasource")
            .env("GF_VERSION", "12.0.0")
            .env("GF_EDITION", "oss")
            .env("GF_PLUGIN_VERSION", env!("CARGO_PKG_VERSION"))
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("no handshake line within 20 s")
            .expect("reading stdout")
            .expect("plugin closed stdout before the handshake");
        let handshake = started.elapsed();
        let address = parse_handshake(&line);
        // Keep draining stdout and stderr so the plugin never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        // PIPELINE_PLUGIN_STDERR=<file> also appends the plugin's stderr there, so a plugin that
        // dies in a long run (the soak) leaves its last words on disk.
        let mut tee = std::env::var_os("PIPELINE_PLUGIN_STDERR").and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        tokio::spawn(async move {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err_pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                if let Some(file) = tee.as_mut() {
                    let _ = std::io::Write::write_all(file, &buf[..n]);
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("valid uri")
            .connect()
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the plugin at {address}: {e}"));
        PluginHost {
            child,
            channel,
            address,
            handshake,
            stderr,
        }
    }

    /// Everything the plugin logged to stderr so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The plugin's process id, for reading its memory, threads and files from /proc.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether the process is still alive (it must never crash on bad input).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// How the process ended ("exit status: 1", "signal: 6 (SIGABRT) (core dumped)"), or
    /// `None` while it runs.
    pub fn exit_status(&mut self) -> Option<String> {
        self.child.try_wait().ok().flatten().map(|s| s.to_string())
    }

    pub async fn query(&self, ds: &DatasourceConfig, queries: &[Query]) -> HashMap<String, Answer> {
        let raw: Vec<_> = queries
            .iter()
            .map(|q| {
                let json = serde_json::to_vec(&q.json).unwrap();
                (q.ref_id.as_str(), q.query_type.as_str(), json)
            })
            .collect();
        self.query_bytes(ds, &raw).await
    }

    /// Queries whose JSON bytes are sent as given (refId, queryType, bytes), for what a
    /// well-behaved client never sends: JSON that does not parse, bytes that are not UTF-8.
    pub async fn query_bytes(
        &self,
        ds: &DatasourceConfig,
        queries: &[(&str, &str, Vec<u8>)],
    ) -> HashMap<String, Answer> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let request = QueryDataRequest {
            plugin_context: Some(ds.context()),
            headers: HashMap::new(),
            queries: queries
                .iter()
                .map(|(ref_id, query_type, json)| DataQuery {
                    ref_id: ref_id.to_string(),
                    query_type: query_type.to_string(),
                    max_data_points: 1000,
                    interval_ms: 1000,
                    time_range: Some(TimeRange {
                        from_epoch_ms: now_ms - 3_600_000,
                        to_epoch_ms: now_ms,
                    }),
                    json: json.clone(),
                })
                .collect(),
        };
        let response = DataClient::new(self.channel.clone())
            .query_data(request)
            .await
            // Debug, not Display: a "transport error" names its cause (hyper's, h2's) only
            // in its source.
            .unwrap_or_else(|s| {
                panic!("QueryData failed as a whole (it must answer per query): {s:?}")
            })
            .into_inner();
        response
            .responses
            .into_iter()
            .map(|(ref_id, r)| {
                let frames = r.frames.iter().map(|b| decode_frame(b)).collect();
                (
                    ref_id,
                    Answer {
                        status: r.status,
                        error: r.error,
                        frames,
                    },
                )
            })
            .collect()
    }

    /// One query, its answer.
    pub async fn query_one(
        &self,
        ds: &DatasourceConfig,
        query_type: &str,
        json: serde_json::Value,
    ) -> Answer {
        let mut answers = self.query(ds, &[Query::new("A", query_type, json)]).await;
        answers.remove("A").expect("an answer for refId A")
    }

    /// CheckHealth: (status, message, details). Status is 1 for OK, 2 for ERROR.
    pub async fn check_health(&self, ds: &DatasourceConfig) -> (i32, String, serde_json::Value) {
        let r = DiagnosticsClient::new(self.channel.clone())
            .check_health(CheckHealthRequest {
                plugin_context: Some(ds.context()),
                headers: HashMap::new(),
            })
            .await
            .expect("CheckHealth call")
            .into_inner();
        let details = if r.json_details.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&r.json_details).expect("json details")
        };
        (r.status, r.message, details)
    }

    /// CollectMetrics: the Prometheus exposition text.
    pub async fn collect_metrics(&self) -> String {
        let r = DiagnosticsClient::new(self.channel.clone())
            .collect_metrics(CollectMetricsRequest {
                plugin_context: Some(PluginContext {
                    org_id: 1,
                    plugin_id: PLUGIN_ID.into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("CollectMetrics call")
            .into_inner();
        let payload = r.metrics.map(|m| m.prometheus).unwrap_or_default();
        String::from_utf8(payload).expect("utf-8 metrics")
    }

    /// CallResource: (HTTP status, body parsed as JSON).
    pub async fn resource(&self, ds: &DatasourceConfig, path: &str) -> (i32, serde_json::Value) {
        let mut stream = ResourceClient::new(self.channel.clone())
            .call_resource(CallResourceRequest {
                plugin_context: Some(ds.context()),
                path: path.trim_start_matches('/').into(),
                method: "GET".into(),
                url: path.trim_start_matches('/').into(),
                headers: HashMap::new(),
                body: Default::default(),
            })
            .await
            .expect("CallResource call")
            .into_inner();
        let first = stream
            .message()
            .await
            .expect("resource stream")
            .expect("one response");
        let body = serde_json::from_slice(&first.body).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&first.body).into_owned())
        });
        (first.code, body)
    }
}

/// `1|2|tcp|127.0.0.1:PORT|grpc` -> `127.0.0.1:PORT`
pub fn parse_handshake(line: &str) -> String {
    let parts: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(parts.len(), 5, "handshake line has 5 fields: {line}");
    assert_eq!(parts[0], "1", "go-plugin core protocol version: {line}");
    assert_eq!(parts[1], "2", "Grafana plugin protocol version: {line}");
    assert_eq!(parts[2], "tcp", "network: {line}");
    assert_eq!(parts[4], "grpc", "protocol: {line}");
    parts[3].to_string()
}
