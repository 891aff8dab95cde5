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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::bed::process::{self, free_port, http, rss_kib, Process};
use crate::bed::{cache_dir, jar_set, repo_root};

mod java;
mod rest;

use java::*;
pub use java::{bed_java_dir, cluster_classpath, ensure_java, flink_home};
pub use rest::{Backpressure, CheckpointCounts, JobSummary, Vertex};

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
        // A metric query to a TaskManager lost while asked holds that refresh back (and with it
        // every later one) for web.timeout, 10 min by default: the REST API would serve frozen
        // figures that long after each TaskManager kill. 60 s keeps it past the plugin's
        // staleness limit (FLINK_METRICS_STALE_SECONDS, 30 s), so the stale case can be seen.
        set("web.timeout", "60000".into());
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
    /// The TaskManagers whose JVM runs. One that exited by itself (Flink 2.3 ends a TaskManager
    /// whose sink failed fatally when its database went away) is forgotten here.
    pub fn taskmanager_ids(&self) -> Vec<String> {
        let mut tms = lock(&self.taskmanagers);
        tms.retain_mut(|t| t.process.running());
        tms.iter().map(|t| t.id.clone()).collect()
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
