//! A real Apache Flink 2.3 session cluster, standalone like a deployment (not a MiniCluster):
//! one JobManager JVM (`StandaloneSessionClusterEntrypoint`) and TaskManager JVMs
//! (`TaskManagerRunner`), each started the way Flink's own `jobmanager.sh` / `taskmanager.sh`
//! start them: the memory flags come from Flink's `BashJavaUtils` for the same config. Jars:
//! the Flink 2.3 runtime of `.cache/flink/lib` (`tests/flink/fetch-flink.sh`), the connector jar
//! set `flink-connectors` (`tests/bed/jars/flink-connectors/pom.xml`) and the ROAS UDF jar
//! (`tests/bed/build-java.sh`). Every JVM has Flink's Prometheus reporter (from the plugins dir)
//! and the JMX exporter agent with the repo's `provisioning/exporters/jmx/flink-*.yml`, each on
//! a free port; logs go to files under the run directory.
//!
//! Knobs: [`FlinkCluster::kill_taskmanager`] (SIGKILL), [`FlinkCluster::start_taskmanager`] (a
//! new JVM joins), [`FlinkCluster::pause_jobmanager`] / [`FlinkCluster::resume_jobmanager`]
//! (SIGSTOP / SIGCONT). REST helpers read jobs, vertices, backpressure and checkpoints.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bed::process::{self, free_port, http, rss_kib, Process};
use crate::bed::{cache_dir, jar_set, repo_root};

const START_BOUND: Duration = Duration::from_secs(120);
/// JVMs started again on fresh ports when one dies at start (a port taken meanwhile).
const START_ATTEMPTS: u32 = 3;
const SUBMIT_BOUND: Duration = Duration::from_secs(180);

/// The cluster's shape and the settings the bed forces on every job it submits.
#[derive(Debug, Clone)]
pub struct FlinkOptions {
    pub slots: u32,
    pub parallelism: u32,
    pub checkpoint_interval: Duration,
    pub checkpoint_timeout: Duration,
    /// `jobmanager.memory.process.size`, e.g. "768m".
    pub jobmanager_memory: String,
    /// `taskmanager.memory.process.size`, e.g. "1152m".
    pub taskmanager_memory: String,
    /// Environment of every TaskManager JVM (the ROAS throttle's control file).
    pub taskmanager_env: Vec<(String, String)>,
}

impl Default for FlinkOptions {
    fn default() -> Self {
        FlinkOptions {
            slots: 4,
            parallelism: 2,
            checkpoint_interval: Duration::from_secs(5),
            checkpoint_timeout: Duration::from_secs(15),
            jobmanager_memory: "768m".into(),
            taskmanager_memory: "1152m".into(),
            taskmanager_env: Vec::new(),
        }
    }
}

/// Builds the bed's Java pieces once per process (`tests/bed/build-java.sh`, idempotent):
/// needs the Flink jars, so it fetches them first.
pub fn ensure_java() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        crate::flink_cluster::ensure_flink();
        crate::bed::ensure_jars();
        let root = repo_root();
        process::run_tool(
            "tests/bed/build-java.sh",
            Command::new("bash")
                .arg(root.join("tests/bed/build-java.sh"))
                .current_dir(&root),
        );
    });
}

/// `.cache/flink`: the Flink 2.3 runtime.
pub fn flink_home() -> PathBuf {
    repo_root().join(".cache/flink")
}

/// `.cache/bed/flink`: the UDF jar, the submitter's classes, BashJavaUtils.
pub fn bed_java_dir() -> PathBuf {
    cache_dir().join("flink")
}

/// The classpath of the cluster's JVMs: Flink's lib, the connectors, the ROAS UDF.
pub fn cluster_classpath() -> String {
    format!(
        "{}/lib/*:{}:{}",
        flink_home().display(),
        jar_set("flink-connectors"),
        bed_java_dir().join("roas-udf.jar").display()
    )
}

/// JDK 17 module openings Flink's own config passes to every JVM (Kryo reflects into these).
const JAVA_OPENS: &[&str] = &[
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.text=ALL-UNNAMED",
    "--add-opens=java.base/java.time=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED",
];

const LOG4J: &str = "\
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = Console
appender.console.name = Console
appender.console.type = CONSOLE
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
";

const LOG4J_CLIENT: &str = "\
rootLogger.level = WARN
rootLogger.appenderRef.console.ref = Console
appender.console.name = Console
appender.console.type = CONSOLE
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c - %m%n
";

struct TaskManager {
    id: String,
    process: Process,
    prometheus_port: u16,
    jmx_port: u16,
}

pub struct FlinkCluster {
    dir: PathBuf,
    options: FlinkOptions,
    common: BTreeMap<String, String>,
    rest_port: u16,
    jobmanager: Mutex<Process>,
    jm_prometheus_port: u16,
    jm_jmx_port: u16,
    tm_jvm_args: Vec<String>,
    taskmanagers: Mutex<Vec<TaskManager>>,
    tm_started: Mutex<u32>,
    started_in: Duration,
}

impl FlinkCluster {
    /// Writes the config, starts the JobManager and one TaskManager, and returns once the
    /// TaskManager is registered with all its slots free. Panics with the log's tail otherwise.
    pub fn start(run_dir: &Path, options: FlinkOptions) -> FlinkCluster {
        let t0 = Instant::now();
        ensure_java();
        process::reap_orphans();
        let dir = run_dir.join("flink");
        let checkpoints = dir.join("checkpoints");
        let tmp = dir.join("tmp");
        for d in [&dir, &checkpoints, &tmp] {
            std::fs::create_dir_all(d).expect("the Flink run directory");
        }
        std::fs::write(dir.join("log4j.properties"), LOG4J).expect("log4j.properties");
        std::fs::write(dir.join("log4j-client.properties"), LOG4J_CLIENT)
            .expect("log4j-client.properties");

        let ms = |d: Duration| format!("{}ms", d.as_millis());
        let mut common = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            common.insert(k.to_string(), v);
        };
        set("jobmanager.rpc.address", "127.0.0.1".into());
        set("jobmanager.bind-host", "127.0.0.1".into());
        set("rest.address", "127.0.0.1".into());
        set("rest.bind-address", "127.0.0.1".into());
        set("taskmanager.host", "127.0.0.1".into());
        set("taskmanager.bind-host", "127.0.0.1".into());
        // Ports nobody else needs to know are the OS's choice (0): no race for them.
        set("blob.server.port", "0".into());
        set("taskmanager.rpc.port", "0".into());
        set("taskmanager.data.port", "0".into());
        set(
            "jobmanager.memory.process.size",
            options.jobmanager_memory.clone(),
        );
        set("jobmanager.memory.jvm-metaspace.size", "160m".into());
        set(
            "taskmanager.memory.process.size",
            options.taskmanager_memory.clone(),
        );
        // Streaming SQL on the hashmap backend needs little managed memory; heap does the work.
        set("taskmanager.memory.managed.fraction", "0.1".into());
        set("taskmanager.numberOfTaskSlots", options.slots.to_string());
        set("parallelism.default", options.parallelism.to_string());
        set("state.backend.type", "hashmap".into());
        set(
            "execution.checkpointing.dir",
            format!("file://{}", checkpoints.display()),
        );
        set(
            "execution.checkpointing.interval",
            ms(options.checkpoint_interval),
        );
        set(
            "execution.checkpointing.timeout",
            ms(options.checkpoint_timeout),
        );
        set("restart-strategy.type", "fixed-delay".into());
        set(
            "restart-strategy.fixed-delay.attempts",
            "1000000".to_string(),
        );
        set("restart-strategy.fixed-delay.delay", "2s".into());
        // A killed TaskManager is noticed in seconds, not after the default 50 s.
        set("heartbeat.interval", "2000".into());
        set("heartbeat.timeout", "10000".into());
        // The REST API's metric store (backpressure, busy ratios) refreshes every second.
        set("metrics.fetcher.update-interval", "1000".into());
        // In-flight data sized to ~1 s of throughput, as in production: a slow operator
        // backpressures its inputs in seconds instead of after megabytes of buffers.
        set(
            "taskmanager.network.memory.buffer-debloat.enabled",
            "true".into(),
        );
        set(
            "metrics.reporter.prom.factory.class",
            "org.apache.flink.metrics.prometheus.PrometheusReporterFactory".into(),
        );
        set("io.tmp.dirs", tmp.display().to_string());

        // Memory flags depend on the memory settings only: computed once per role.
        let probe = write_config(&dir.join("conf-probe"), &common, &[]);
        let jm_jvm = memory_args(&probe, "GET_JM_RESOURCE_PARAMS");
        let tm_jvm_args = memory_args(&probe, "GET_TM_RESOURCE_PARAMS");

        // The ports others must know are picked here; another process may take one between
        // the pick and the bind, so a JVM that dies at start is started again on new ports.
        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            let rest_port = free_port();
            let jm_prometheus_port = free_port();
            let jm_jmx_port = free_port();
            let mut common = common.clone();
            common.insert("jobmanager.rpc.port".into(), free_port().to_string());
            common.insert("rest.port".into(), rest_port.to_string());
            let jm_conf = write_config(
                &dir.join("conf-jobmanager"),
                &common,
                &[("metrics.reporter.prom.port", jm_prometheus_port.to_string())],
            );
            let mut jm_cmd = java_command(
                &dir,
                &jm_jvm,
                jm_jmx_port,
                "flink-jobmanager.yml",
                "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                &jm_conf,
            );
            jm_cmd.current_dir(&dir);
            let jobmanager = Process::spawn(
                "flink-jobmanager",
                jm_cmd,
                &dir.join(format!("jobmanager-{attempt}.log")),
            );
            let cluster = FlinkCluster {
                dir: dir.clone(),
                options: options.clone(),
                common,
                rest_port,
                jobmanager: Mutex::new(jobmanager),
                jm_prometheus_port,
                jm_jmx_port,
                tm_jvm_args: tm_jvm_args.clone(),
                taskmanagers: Mutex::new(Vec::new()),
                tm_started: Mutex::new(0),
                started_in: Duration::ZERO,
            };
            // The TaskManager retries its registration, so it can start beside the JobManager.
            let tm = cluster.spawn_taskmanager();
            let up = wait_up(&mut lock(&cluster.jobmanager), START_BOUND, || {
                http(rest_port, "GET", "/overview", Duration::from_secs(5)).map(|_| ())
            });
            match up {
                Ok(()) => {
                    cluster.wait_registered(tm);
                    return FlinkCluster {
                        started_in: t0.elapsed(),
                        ..cluster
                    };
                }
                Err(e) => failures.push(format!("attempt {attempt}: {e}")),
            }
        }
        panic!(
            "the Flink JobManager did not start:\n{}",
            failures.join("\n")
        );
    }

    /// How long start() took, from the first JVM to a registered TaskManager.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    pub fn options(&self) -> &FlinkOptions {
        &self.options
    }

    pub fn rest_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rest_port)
    }

    pub fn rest_port(&self) -> u16 {
        self.rest_port
    }

    /// Flink's Prometheus reporter: (JobManager, newest live TaskManager).
    pub fn prometheus_ports(&self) -> (u16, Option<u16>) {
        let tms = lock(&self.taskmanagers);
        (
            self.jm_prometheus_port,
            tms.last().map(|t| t.prometheus_port),
        )
    }

    /// The JMX exporter agents: (JobManager, newest live TaskManager).
    pub fn jmx_exporter_ports(&self) -> (u16, Option<u16>) {
        let tms = lock(&self.taskmanagers);
        (self.jm_jmx_port, tms.last().map(|t| t.jmx_port))
    }

    /// Resource ids of the live TaskManagers this handle started (`tm-1`, `tm-2`, ...).
    pub fn taskmanager_ids(&self) -> Vec<String> {
        lock(&self.taskmanagers)
            .iter()
            .map(|t| t.id.clone())
            .collect()
    }

    pub fn checkpoint_dir(&self) -> PathBuf {
        self.dir.join("checkpoints")
    }

    pub fn jobmanager_log(&self) -> PathBuf {
        lock(&self.jobmanager).log_path().to_path_buf()
    }

    pub fn jobmanager_pid(&self) -> Option<u32> {
        lock(&self.jobmanager).pid()
    }

    /// Resident memory of the JobManager JVM, in KiB (from /proc).
    pub fn jobmanager_rss_kib(&self) -> Option<u64> {
        self.jobmanager_pid().and_then(rss_kib)
    }

    /// Resident memory of the newest live TaskManager JVM, in KiB.
    pub fn taskmanager_rss_kib(&self) -> Option<u64> {
        let pid = lock(&self.taskmanagers).last()?.process.pid()?;
        rss_kib(pid)
    }

    /// The knob: SIGKILL to the newest live TaskManager (a crash: nothing flushed, its tasks
    /// fail, the job restarts and waits for slots). Returns its resource id.
    pub fn kill_taskmanager(&self) -> String {
        let mut tm = lock(&self.taskmanagers)
            .pop()
            .expect("a live TaskManager to kill");
        tm.process.kill();
        tm.id
    }

    /// The knob: a new TaskManager JVM (fresh ports) joins; returns its resource id once it is
    /// registered.
    pub fn start_taskmanager(&self) -> String {
        let id = self.spawn_taskmanager();
        self.wait_registered(id)
    }

    /// SIGSTOP to the JobManager: it holds its sockets and answers nothing.
    pub fn pause_jobmanager(&self) {
        lock(&self.jobmanager).pause();
    }

    pub fn resume_jobmanager(&self) {
        lock(&self.jobmanager).resume();
    }

    /// GET a REST path, JSON answer.
    pub fn get(&self, path: &str) -> Result<Value, String> {
        self.get_within(path, Duration::from_secs(10))
    }

    pub fn get_within(&self, path: &str, timeout: Duration) -> Result<Value, String> {
        let body = http(self.rest_port, "GET", path, timeout)?;
        serde_json::from_str(&body).map_err(|e| format!("{path}: not JSON: {e}"))
    }

    /// PATCH a REST path (job cancellation answers 202 with `{}`).
    pub fn patch(&self, path: &str) -> Result<Value, String> {
        let body = http(self.rest_port, "PATCH", path, Duration::from_secs(10))?;
        serde_json::from_str(&body).map_err(|e| format!("{path}: not JSON: {e}"))
    }

    /// Every job the cluster knows, from `/jobs/overview`.
    pub fn jobs(&self) -> Vec<JobSummary> {
        let Ok(v) = self.get("/jobs/overview") else {
            return Vec::new();
        };
        v["jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|j| JobSummary {
                id: j["jid"].as_str().unwrap_or_default().to_string(),
                name: j["name"].as_str().unwrap_or_default().to_string(),
                state: j["state"].as_str().unwrap_or_default().to_string(),
                start_time: j["start-time"].as_i64().unwrap_or_default(),
            })
            .collect()
    }

    /// The newest job named `name` (any state).
    pub fn job_id(&self, name: &str) -> Option<String> {
        self.newest(name).map(|j| j.id)
    }

    /// The state of the newest job named `name`.
    pub fn job_state(&self, name: &str) -> Option<String> {
        self.newest(name).map(|j| j.state)
    }

    fn newest(&self, name: &str) -> Option<JobSummary> {
        self.jobs()
            .into_iter()
            .filter(|j| j.name == name)
            .max_by_key(|j| j.start_time)
    }

    /// The state of job `id` (`RUNNING`, `RESTARTING`, `CANCELED`, ...).
    pub fn state_of(&self, id: &str) -> Option<String> {
        let v = self.get(&format!("/jobs/{id}")).ok()?;
        v["state"].as_str().map(str::to_string)
    }

    /// `PATCH /jobs/:jid?mode=cancel`, then waits until the job is CANCELED.
    pub fn cancel_job(&self, id: &str) {
        self.patch(&format!("/jobs/{id}?mode=cancel"))
            .unwrap_or_else(|e| panic!("cancel job {id}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let state = self.state_of(id);
            if state.as_deref() == Some("CANCELED") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} not CANCELED within 60 s (state {state:?})"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Job `id`'s vertices in the order the REST API lists them, with their inputs (the job
    /// graph's edges, from `plan.nodes[].inputs`).
    pub fn vertices(&self, id: &str) -> Result<Vec<Vertex>, String> {
        let v = self.get(&format!("/jobs/{id}"))?;
        let mut inputs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for node in v["plan"]["nodes"].as_array().into_iter().flatten() {
            let list = node["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    (
                        i["id"].as_str().unwrap_or_default().to_string(),
                        i["ship_strategy"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            inputs.insert(node["id"].as_str().unwrap_or_default().to_string(), list);
        }
        Ok(v["vertices"]
            .as_array()
            .ok_or(format!("/jobs/{id}: no vertices"))?
            .iter()
            .map(|x| {
                let vid = x["id"].as_str().unwrap_or_default().to_string();
                Vertex {
                    inputs: inputs.remove(&vid).unwrap_or_default(),
                    id: vid,
                    name: x["name"].as_str().unwrap_or_default().to_string(),
                    parallelism: x["parallelism"].as_u64().unwrap_or_default() as u32,
                    status: x["status"].as_str().unwrap_or_default().to_string(),
                    read_records: x["metrics"]["read-records"].as_i64().unwrap_or_default(),
                    write_records: x["metrics"]["write-records"].as_i64().unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Waits until job `id` is RUNNING with every vertex RUNNING; panics after `bound` with
    /// the last state and the JobManager log's tail.
    pub fn wait_job_running(&self, id: &str, bound: Duration) {
        let deadline = Instant::now() + bound;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            match (self.state_of(id), self.vertices(id)) {
                (Some(s), Ok(vs)) if s == "RUNNING" && vs.iter().all(|v| v.status == "RUNNING") => {
                    return
                }
                (s, vs) => {
                    last = format!(
                        "job {s:?}, vertices {:?}",
                        vs.map(|vs| vs.into_iter().map(|v| v.status).collect::<Vec<_>>())
                    )
                }
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!(
            "job {id} not RUNNING within {} s: {last}\njobmanager log:\n{}",
            bound.as_secs(),
            process::log_tail(&self.jobmanager_log(), 3000)
        );
    }

    /// `/jobs/:jid/vertices/:vid/backpressure`, reduced to the worst subtask.
    pub fn backpressure(&self, job: &str, vertex: &str) -> Result<Backpressure, String> {
        let v = self.get(&format!("/jobs/{job}/vertices/{vertex}/backpressure"))?;
        let subtasks = v["subtasks"].as_array().cloned().unwrap_or_default();
        let max = |k: &str| {
            subtasks
                .iter()
                .filter_map(|s| s[k].as_f64())
                .fold(0.0_f64, f64::max)
        };
        Ok(Backpressure {
            status: v["status"].as_str().unwrap_or_default().to_string(),
            level: v["backpressureLevel"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            ratio: max("ratio"),
            busy_ratio: max("busyRatio"),
            idle_ratio: max("idleRatio"),
            subtasks: subtasks.len(),
        })
    }

    /// `/jobs/:jid/checkpoints` counts.
    pub fn checkpoints(&self, job: &str) -> Result<CheckpointCounts, String> {
        let v = self.get(&format!("/jobs/{job}/checkpoints"))?;
        let c = &v["counts"];
        Ok(CheckpointCounts {
            completed: c["completed"].as_i64().unwrap_or_default(),
            failed: c["failed"].as_i64().unwrap_or_default(),
            in_progress: c["in_progress"].as_i64().unwrap_or_default(),
            restored: c["restored"].as_i64().unwrap_or_default(),
            latest_failure: v["latest"]["failed"]["failure_message"]
                .as_str()
                .map(str::to_string),
        })
    }

    /// The job's `numRestarts` metric.
    pub fn num_restarts(&self, job: &str) -> Option<i64> {
        let v = self
            .get(&format!("/jobs/{job}/metrics?get=numRestarts"))
            .ok()?;
        v.as_array()?.first()?["value"].as_str()?.parse().ok()
    }

    /// Submits a SQL script with `pipelinehealth.bed.SubmitSql` (see its doc): `replace` swaps
    /// addresses written in the script, and the cluster's REST address and this bed's checkpoint
    /// settings override the script's SETs. Returns the job ids it printed.
    pub fn submit_sql(&self, script: &Path, replace: &[(String, String)]) -> Vec<String> {
        let classpath = format!(
            "{}:{}",
            cluster_classpath(),
            bed_java_dir().join("classes").display()
        );
        let mut cmd = Command::new("java");
        cmd.arg(format!(
            "-Dlog4j.configurationFile=file:{}",
            self.dir.join("log4j-client.properties").display()
        ))
        .args(JAVA_OPENS)
        .args([
            "-Xmx512m",
            "-cp",
            &classpath,
            "pipelinehealth.bed.SubmitSql",
        ])
        .arg("--sql")
        .arg(script);
        for (from, to) in replace {
            cmd.args(["--replace", &format!("{from}={to}")]);
        }
        for (k, v) in self.job_overrides() {
            cmd.args(["--set", &format!("{k}={v}")]);
        }
        let out = run_bounded("SubmitSql", &mut cmd, SUBMIT_BOUND);
        out.lines()
            .filter_map(|l| l.strip_prefix("JOB_ID "))
            .map(|s| s.trim().to_string())
            .collect()
    }

    /// What the bed sets on every job over the script's own SETs: where the cluster is and the
    /// checkpoint cadence the bed was started with.
    pub fn job_overrides(&self) -> Vec<(String, String)> {
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        vec![
            ("rest.address".into(), "127.0.0.1".into()),
            ("rest.port".into(), self.rest_port.to_string()),
            (
                "execution.checkpointing.interval".into(),
                ms(self.options.checkpoint_interval),
            ),
            (
                "execution.checkpointing.timeout".into(),
                ms(self.options.checkpoint_timeout),
            ),
            (
                "parallelism.default".into(),
                self.options.parallelism.to_string(),
            ),
        ]
    }

    fn spawn_taskmanager(&self) -> String {
        let n = {
            let mut started = lock(&self.tm_started);
            *started += 1;
            *started
        };
        let id = format!("tm-{n}");
        let prometheus_port = free_port();
        let jmx_port = free_port();
        let conf = write_config(
            &self.dir.join(format!("conf-taskmanager-{n}")),
            &self.common,
            &[
                ("taskmanager.resource-id", id.clone()),
                ("metrics.reporter.prom.port", prometheus_port.to_string()),
            ],
        );
        let mut cmd = java_command(
            &self.dir,
            &self.tm_jvm_args,
            jmx_port,
            "flink-taskmanager.yml",
            "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
            &conf,
        );
        cmd.current_dir(&self.dir);
        for (k, v) in &self.options.taskmanager_env {
            cmd.env(k, v);
        }
        let process = Process::spawn(
            &format!("flink-taskmanager-{n}"),
            cmd,
            &self.dir.join(format!("taskmanager-{n}.log")),
        );
        lock(&self.taskmanagers).push(TaskManager {
            id: id.clone(),
            process,
            prometheus_port,
            jmx_port,
        });
        id
    }

    /// Waits until TaskManager `id` is registered with all its slots; one that dies at start
    /// is replaced by a new one (fresh ports). The id of the one that made it.
    fn wait_registered(&self, mut id: String) -> String {
        let port = self.rest_port;
        let slots = self.options.slots as i64;
        let mut failures = Vec::new();
        for _ in 1..=START_ATTEMPTS {
            let check = || -> Result<(), String> {
                let body = http(port, "GET", "/taskmanagers", Duration::from_secs(5))?;
                let v: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
                let tm = v["taskmanagers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|t| t["id"] == id.as_str())
                    .ok_or(format!("{id} not registered yet"))?;
                if tm["slotsNumber"].as_i64() == Some(slots) {
                    Ok(())
                } else {
                    Err(format!("{id}: {} slots", tm["slotsNumber"]))
                }
            };
            let up = {
                let mut tms = lock(&self.taskmanagers);
                let tm = tms
                    .iter_mut()
                    .find(|t| t.id == id)
                    .expect("the TaskManager just spawned");
                wait_up(&mut tm.process, START_BOUND, check)
            };
            match up {
                Ok(()) => return id,
                Err(e) => {
                    failures.push(e);
                    lock(&self.taskmanagers).retain(|t| t.id != id);
                    id = self.spawn_taskmanager();
                }
            }
        }
        panic!("no TaskManager could start:\n{}", failures.join("\n"));
    }
}

/// Polls `ready` every 200 ms. Err (with the log's tail) when the process exits first: the
/// caller may start it again. Panics when `bound` passes.
fn wait_up(
    process: &mut Process,
    bound: Duration,
    mut ready: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let deadline = Instant::now() + bound;
    loop {
        let last = match ready() {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if !process.running() {
            return Err(format!(
                "{} exited at start ({last}); log {}:\n{}",
                process.name(),
                process.log_path().display(),
                process.log_tail(3000)
            ));
        }
        assert!(
            Instant::now() < deadline,
            "{} not ready within {} s ({last}); log {}:\n{}",
            process.name(),
            bound.as_secs(),
            process.log_path().display(),
            process.log_tail(3000)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[derive(Debug, Clone)]
pub struct JobSummary {
    pub id: String,
    pub name: String,
    pub state: String,
    pub start_time: i64,
}

#[derive(Debug, Clone)]
pub struct Vertex {
    pub id: String,
    pub name: String,
    pub parallelism: u32,
    pub status: String,
    /// Upstream vertex ids with the edge's ship strategy (HASH, FORWARD, ...).
    pub inputs: Vec<(String, String)>,
    pub read_records: i64,
    pub write_records: i64,
}

/// A vertex's backpressure, as the Web UI shows it: the level and the worst subtask's ratios.
#[derive(Debug, Clone)]
pub struct Backpressure {
    pub status: String,
    /// ok | low | high
    pub level: String,
    pub ratio: f64,
    pub busy_ratio: f64,
    pub idle_ratio: f64,
    pub subtasks: usize,
}

#[derive(Debug, Clone)]
pub struct CheckpointCounts {
    pub completed: i64,
    pub failed: i64,
    pub in_progress: i64,
    pub restored: i64,
    pub latest_failure: Option<String>,
}

fn write_config(dir: &Path, common: &BTreeMap<String, String>, own: &[(&str, String)]) -> PathBuf {
    std::fs::create_dir_all(dir).expect("a Flink config directory");
    let mut all = common.clone();
    for (k, v) in own {
        all.insert(k.to_string(), v.clone());
    }
    let mut text = String::from("# Written by tests/src/bed/flink.rs for one JVM of the bed.\n");
    for (k, v) in &all {
        text.push_str(&format!("{k}: {}\n", yaml_scalar(v)));
    }
    std::fs::write(dir.join("config.yaml"), text).expect("config.yaml");
    dir.to_path_buf()
}

/// A YAML scalar that stays a string (paths with `:`, class names).
fn yaml_scalar(v: &str) -> String {
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
    {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Flink's BashJavaUtils for `conf`: the JVM flags (-Xmx, -Xms, direct and metaspace limits)
/// and the derived memory settings as `-D key=value` dynamic properties, exactly what
/// jobmanager.sh / taskmanager.sh would pass.
fn memory_args(conf: &Path, command: &str) -> Vec<String> {
    let classpath = format!(
        "{}:{}/lib/*",
        bed_java_dir().join("bash-java-utils.jar").display(),
        flink_home().display()
    );
    let out = process::run_tool(
        "Flink BashJavaUtils",
        Command::new("java")
            .args(["-Xmx128m", "-cp", &classpath])
            .arg("org.apache.flink.runtime.util.bash.BashJavaUtils")
            .arg(command)
            .arg("--configDir")
            .arg(conf),
    );
    let results: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("BASH_JAVA_UTILS_EXEC_RESULT:"))
        .collect();
    assert_eq!(
        results.len(),
        2,
        "BashJavaUtils {command}: expected JVM flags and dynamic properties, got:\n{out}"
    );
    let jvm: Vec<String> = results[0].split_whitespace().map(String::from).collect();
    let dynamic: Vec<String> = results[1].split_whitespace().map(String::from).collect();
    // The marker between the two halves, for java_command.
    [jvm, vec!["--".into()], dynamic].concat()
}

fn java_command(
    dir: &Path,
    memory: &[String],
    jmx_port: u16,
    jmx_config: &str,
    main: &str,
    conf: &Path,
) -> Command {
    let split = memory
        .iter()
        .position(|a| a == "--")
        .unwrap_or(memory.len());
    let (jvm, dynamic) = (&memory[..split], &memory[(split + 1).min(memory.len())..]);
    let agent = format!(
        "-javaagent:{}=127.0.0.1:{jmx_port}:{}",
        cache_dir()
            .join("jars/jmx-agent/jmx_prometheus_javaagent-0.20.0.jar")
            .display(),
        repo_root()
            .join("provisioning/exporters/jmx")
            .join(jmx_config)
            .display()
    );
    let mut cmd = Command::new("java");
    cmd.args(jvm)
        .args(JAVA_OPENS)
        .arg(format!(
            "-Dlog4j.configurationFile=file:{}",
            dir.join("log4j.properties").display()
        ))
        .arg(agent)
        .args(["-cp", &cluster_classpath(), main])
        .arg("--configDir")
        .arg(conf)
        .args(dynamic)
        .env(
            "FLINK_PLUGINS_DIR",
            flink_home().join("plugins").display().to_string(),
        )
        .stdin(Stdio::null());
    cmd
}

/// Runs a command to completion within `bound`; its stdout. Panics with stderr on failure.
fn run_bounded(what: &str, cmd: &mut Command, bound: Duration) -> String {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + bound;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    match status {
        Some(s) if s.success() => out,
        Some(s) => panic!("{what} failed ({s}):\n{out}\n{err}"),
        None => panic!(
            "{what} did not finish within {} s:\n{out}\n{err}",
            bound.as_secs()
        ),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_with_colons_or_slashes_stay_strings() {
        assert_eq!(yaml_scalar("127.0.0.1"), "127.0.0.1");
        assert_eq!(yaml_scalar("1152m"), "1152m");
        assert_eq!(yaml_scalar("file:///tmp/ck"), "\"file:///tmp/ck\"");
        assert_eq!(yaml_scalar("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn config_files_hold_common_and_own_settings() {
        let dir = std::env::temp_dir().join(format!("flink-conf-test-{}", std::process::id()));
        let common = BTreeMap::from([
            ("rest.port".to_string(), "1".to_string()),
            ("a.b".to_string(), "x".to_string()),
        ]);
        write_config(&dir, &common, &[("rest.port", "2".to_string())]);
        let text = std::fs::read_to_string(dir.join("config.yaml")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(text.contains("rest.port: 2\n"), "own settings win: {text}");
        assert!(text.contains("a.b: x\n"), "{text}");
        assert!(!text.contains("rest.port: 1"), "{text}");
    }
}
