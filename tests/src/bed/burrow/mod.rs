//! Burrow, LinkedIn's consumer-lag monitor, on the bed's Kafka cluster: the reference
//! implementation of the consumer-status rules (OK, WARN, STOP, STALL, REWIND) that the
//! datasource follows, run as the peer that judges the same groups on the same cluster.
//!
//! It is Debian's package (`apt-get install -y burrow`, 1.2.1, binary `/usr/bin/Burrow`),
//! spawned with [`Process::spawn`] so that it ends with the test process, with its config, PID
//! file and JSON log under `<run dir>/burrow/`. Burrow reads every commit of
//! `__consumer_offsets` itself (from the start of the topic), keeps the last `intervals`
//! commits of each partition, and judges them when asked over its HTTP API.
//!
//! [`Burrow::start`] panics when Burrow is missing or exits, with the reason and the warnings
//! and errors of its log; [`Burrow::try_start`] says so in an `Err` instead (a bench that
//! measures without the peer when it is not installed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::kafka::KafkaCluster;
use super::process::{free_port, http, log_tail, Process};

mod status;

pub use status::{BurrowCommit, BurrowGroupStatus, BurrowWindow};

/// Debian's binary (capital B), then a hand-installed one.
const BINARIES: [&str; 2] = ["/usr/bin/Burrow", "/usr/bin/burrow"];

/// The client version Burrow's Kafka client (sarama) speaks. 2.1.0 is the highest that
/// Burrow 1.2.1 accepts: "2.2.0" and up end its start in "Unknown Kafka Version". Kafka 3.7
/// still answers the request versions of 2.1 (Metadata, ListOffsets, Fetch of
/// `__consumer_offsets`), so Burrow reads the bed's 3.7.1 cluster with it.
pub const KAFKA_VERSION: &str = "2.1.0";

/// From spawn until its HTTP server answers: it connects to ZooKeeper and every broker first.
const READY_BOUND: Duration = Duration::from_secs(60);
/// One request to its HTTP API on loopback.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How Burrow is configured; [`BurrowOptions::new`] gives Burrow's usual values.
#[derive(Debug, Clone)]
pub struct BurrowOptions {
    /// The cluster's name in Burrow's config and API paths (`/v3/kafka/<cluster>/...`).
    pub cluster: String,
    /// Regex of the groups Burrow keeps (its consumer module's `group-whitelist`).
    pub group_whitelist: String,
    /// `[storage] intervals`: how many commits of each partition Burrow keeps and evaluates.
    pub intervals: u32,
    /// `offset-refresh`: seconds between Burrow's requests of every partition's log end. The
    /// lag Burrow stores with each commit is the last log end it fetched minus the commit.
    pub offset_refresh_seconds: u32,
    /// The caching evaluator's `expire-cache`: seconds a group's evaluation is served again.
    pub expire_cache_seconds: u32,
    /// The Kafka client id of its connections.
    pub client_id: String,
}

impl BurrowOptions {
    /// `cluster` and `group_whitelist`, with Burrow's usual storage and refresh settings:
    /// 10 intervals, log ends every 10 s, evaluations cached for 10 s.
    pub fn new(cluster: &str, group_whitelist: &str) -> BurrowOptions {
        BurrowOptions {
            cluster: cluster.to_string(),
            group_whitelist: group_whitelist.to_string(),
            intervals: 10,
            offset_refresh_seconds: 10,
            expire_cache_seconds: 10,
            client_id: "burrow-bed".to_string(),
        }
    }
}

/// A running Burrow. Works from a `static`; dropping it ends the process.
pub struct Burrow {
    process: Mutex<Process>,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
    options: BurrowOptions,
    started: Instant,
}

impl Burrow {
    /// Starts Burrow on `kafka` under `run_dir/burrow/` and returns once its HTTP API lists
    /// the cluster. Panics when Burrow is not installed, exits, or does not answer, with the
    /// reason and its log's warnings and errors.
    pub fn start(kafka: &KafkaCluster, run_dir: &Path, options: BurrowOptions) -> Burrow {
        Burrow::try_start(kafka, run_dir, options).unwrap_or_else(|why| panic!("{why}"))
    }

    /// [`Burrow::start`], with the reason in an `Err` instead of a panic.
    pub fn try_start(
        kafka: &KafkaCluster,
        run_dir: &Path,
        options: BurrowOptions,
    ) -> Result<Burrow, String> {
        let Some(bin) = BINARIES.into_iter().find(|p| Path::new(p).exists()) else {
            return Err(format!(
                "Burrow is not installed (none of {BINARIES:?}; apt-get install -y burrow)"
            ));
        };
        let dir = run_dir.join("burrow");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let port = free_port();
        std::fs::write(dir.join("burrow.toml"), config(kafka, &dir, port, &options))
            .map_err(|e| format!("Burrow's config: {e}"))?;
        let log = dir.join("burrow.log");
        let mut cmd = Command::new(bin);
        cmd.arg("-config-dir").arg(&dir);
        let process = Process::spawn("burrow", cmd, &log);
        let burrow = Burrow {
            process: Mutex::new(process),
            port,
            dir,
            log,
            options,
            started: Instant::now(),
        };
        let clusters = "/v3/kafka";
        let mut last = String::from("no answer yet");
        loop {
            if !burrow.running() {
                return Err(burrow.explain(&format!("Burrow exited at its start ({last})")));
            }
            match burrow.get(clusters) {
                Ok(v)
                    if v["clusters"].as_array().is_some_and(|c| {
                        c.iter().any(|n| n == burrow.options.cluster.as_str())
                    }) =>
                {
                    return Ok(burrow)
                }
                Ok(v) => last = format!("{clusters}: {v}"),
                Err(e) => last = e,
            }
            if burrow.started.elapsed() > READY_BOUND {
                return Err(burrow.explain(&format!(
                    "Burrow did not answer within {} s ({last})",
                    READY_BOUND.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The port of its HTTP API on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> Option<u32> {
        self.lock().pid()
    }

    pub fn options(&self) -> &BurrowOptions {
        &self.options
    }

    /// `<run dir>/burrow/`: its config, PID file and log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Since the process was spawned.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn running(&self) -> bool {
        self.lock().running()
    }

    fn lock(&self) -> MutexGuard<'_, Process> {
        self.process.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `GET path` on its API: the JSON of a 2xx answer.
    pub fn get(&self, path: &str) -> Result<Value, String> {
        let body = http(self.port, "GET", path, REQUEST_TIMEOUT)?;
        serde_json::from_str(&body).map_err(|e| format!("{path}: not JSON: {e}"))
    }

    /// The groups Burrow lists for its cluster.
    pub fn groups(&self) -> Result<Vec<String>, String> {
        let path = format!("/v3/kafka/{}/consumer", self.options.cluster);
        let v = self.get(&path)?;
        let list = v["consumers"]
            .as_array()
            .ok_or_else(|| format!("{path}: no consumers in {v}"))?;
        Ok(list
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect())
    }

    /// Polls the group list every 250 ms until `ready` accepts it (its `Err` says what is
    /// missing); returns the time since Burrow was spawned. `Err` when Burrow exits or `bound`
    /// passes first, with the last reason and its log's problems.
    pub fn wait_listed(
        &self,
        mut ready: impl FnMut(&[String]) -> Result<(), String>,
        bound: Duration,
    ) -> Result<Duration, String> {
        let t0 = Instant::now();
        let mut last = String::from("no answer yet");
        loop {
            if !self.running() {
                return Err(self.explain(&format!("Burrow exited ({last})")));
            }
            match self.groups() {
                Ok(groups) => match ready(&groups) {
                    Ok(()) => return Ok(self.started.elapsed()),
                    Err(e) => last = e,
                },
                Err(e) => last = e,
            }
            if t0.elapsed() > bound {
                return Err(self.explain(&format!(
                    "Burrow did not list the groups within {} s ({last})",
                    bound.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The group's evaluation from `GET /v3/kafka/<cluster>/consumer/<group>/lag`, which lists
    /// every partition with its status (`/status` lists only those not OK). `None` when Burrow
    /// holds no commit of the group (it answers 404), or did not answer (the reason goes to
    /// stderr). Panics when Burrow has exited.
    pub fn group_status(&self, group: &str) -> Option<BurrowGroupStatus> {
        let path = format!("/v3/kafka/{}/consumer/{group}/lag", self.options.cluster);
        match self.get(&path) {
            Ok(v) => match BurrowGroupStatus::from_answer(&v) {
                Ok(s) => Some(s),
                Err(e) => {
                    eprintln!("burrow: {path}: {e}");
                    None
                }
            },
            Err(e) if e.contains("HTTP 404") => None,
            Err(e) => {
                if !self.running() {
                    panic!("{}", self.explain(&format!("Burrow exited ({e})")));
                }
                eprintln!("burrow: {path}: {e}");
                None
            }
        }
    }

    /// The commits Burrow holds of each partition of the group (`GET
    /// /v3/kafka/<cluster>/consumer/<group>`), sorted by topic and partition: what its rules
    /// judge. `None` as for [`Burrow::group_status`].
    pub fn windows(&self, group: &str) -> Option<Vec<BurrowWindow>> {
        let path = format!("/v3/kafka/{}/consumer/{group}", self.options.cluster);
        let v = match self.get(&path) {
            Ok(v) => v,
            Err(e) if e.contains("HTTP 404") => return None,
            Err(e) => {
                if !self.running() {
                    panic!("{}", self.explain(&format!("Burrow exited ({e})")));
                }
                eprintln!("burrow: {path}: {e}");
                return None;
            }
        };
        let topics = v["topics"].as_object()?;
        let mut out = Vec::new();
        for (topic, partitions) in topics {
            for (i, p) in partitions.as_array().into_iter().flatten().enumerate() {
                let commits = p["offsets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| !c.is_null())
                    .map(|c| BurrowCommit {
                        offset: c["offset"].as_i64().unwrap_or(-1),
                        timestamp_ms: c["timestamp"].as_i64().unwrap_or(0),
                        lag: c["lag"].as_i64().unwrap_or(0),
                    })
                    .collect();
                out.push(BurrowWindow {
                    topic: topic.clone(),
                    partition: i as i32,
                    commits,
                });
            }
        }
        out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Some(out)
    }

    /// Warnings and errors of its JSON log, one line per distinct message with its count,
    /// and every line that is not JSON (a Go panic).
    pub fn problems(&self) -> Vec<String> {
        problems(&self.log)
    }

    /// `why`, then the log's problems (or its tail when it has none).
    fn explain(&self, why: &str) -> String {
        let problems = self.problems();
        let lines = if problems.is_empty() {
            format!("(no warnings; log tail:)\n{}", log_tail(&self.log, 2000))
        } else {
            problems
                .iter()
                .take(12)
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        format!("{why}; Burrow's log {}:\n{lines}", self.log.display())
    }
}

/// [`Burrow::problems`] of a log file.
pub fn problems(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut order = Vec::new();
    for line in text.lines() {
        let key = match serde_json::from_str::<Value>(line) {
            Ok(v) => {
                let level = v["level"].as_str().unwrap_or_default();
                if !matches!(level, "warn" | "error" | "panic" | "fatal" | "dpanic") {
                    continue;
                }
                let mut v = v;
                if let Some(o) = v.as_object_mut() {
                    o.remove("ts");
                    // Per-partition fields would make every line distinct.
                    for k in ["offset", "partition", "group", "topic"] {
                        o.remove(k);
                    }
                }
                v.to_string()
            }
            Err(_) if line.trim().is_empty() || line.starts_with("Reading configuration") => {
                continue
            }
            Err(_) => line.to_string(),
        };
        let n = seen.entry(key.clone()).or_insert(0);
        if *n == 0 {
            order.push(key);
        }
        *n += 1;
    }
    order
        .into_iter()
        .map(|k| format!("{}x {k}", seen[&k]))
        .collect()
}

/// Burrow's `burrow.toml`: one Kafka cluster read over PLAINTEXT, `__consumer_offsets` read
/// from its start, in-memory storage, the caching evaluator, the HTTP API on loopback.
fn config(kafka: &KafkaCluster, dir: &Path, port: u16, o: &BurrowOptions) -> String {
    let quoted = |list: String| {
        list.split(',')
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let servers = quoted(kafka.bootstrap());
    let zookeeper = quoted(kafka.zookeeper_connect().to_string());
    let cluster = &o.cluster;
    format!(
        r#"[general]
pidfile="{pidfile}"

[logging]
level="info"

[zookeeper]
servers=[{zookeeper}]
timeout=6
root-path="/burrow"

[client-profile.bed]
client-id="{client_id}"
kafka-version="{KAFKA_VERSION}"

[cluster.{cluster}]
class-name="kafka"
servers=[{servers}]
client-profile="bed"
topic-refresh=60
offset-refresh={offset_refresh}

[consumer.{cluster}]
class-name="kafka"
cluster="{cluster}"
servers=[{servers}]
client-profile="bed"
offsets-topic="__consumer_offsets"
start-latest=false
group-whitelist="{whitelist}"

[storage.default]
class-name="inmemory"
workers=20
intervals={intervals}
expire-group=604800
min-distance=1

[evaluator.default]
class-name="caching"
expire-cache={expire_cache}

[httpserver.default]
address="127.0.0.1:{port}"
"#,
        pidfile = dir.join("burrow.pid").display(),
        client_id = o.client_id,
        offset_refresh = o.offset_refresh_seconds,
        whitelist = o.group_whitelist.replace('\\', "\\\\").replace('"', "\\\""),
        intervals = o.intervals,
        expire_cache = o.expire_cache_seconds,
    )
}
