//! The Marketing ROAS pipeline, real, on loopback: the generator
//! (`provisioning/demo/roas-generator.py`, python3 + confluent-kafka) writes impressions, clicks
//! and conversions to Kafka; the Flink SQL job `roas-attribution` (`provisioning/demo/roas.sql`,
//! the demo's own file) attributes conversions to clicks, computes spend, revenue and ROAS per
//! campaign in 10 s windows and upserts them into PostgreSQL `roas_by_campaign`.
//!
//! Kafka is the caller's (the shared bed's cluster, or any broker): [`RoasPipeline::start`]
//! takes its PLAINTEXT bootstrap string and expects the three topics to exist
//! ([`create_topics`] makes them). The pipeline starts its own [`Postgres`] and
//! [`FlinkCluster`].
//!
//! Knobs (all `&self`, so the pipeline can live in a `static`): slow_operator / unslow_operator
//! (the job's `throttle()` UDF reads a control file), block_sink / unblock_sink, kill_taskmanager
//! / start_taskmanager, cancel_job / submit_job / resubmit_job (the consumer group resumes from
//! its committed offsets), stop_generator / start_generator / pause_generator / resume_generator.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::bed::flink::{FlinkCluster, FlinkOptions};
use crate::bed::kafka::block_on;
use crate::bed::postgres::{Postgres, SINK_TABLE};
use crate::bed::process::{self, Process};
use crate::bed::repo_root;

mod rows;
mod topics;

use rows::ROW_SQL;
pub use rows::{parse_rows, RoasRow};
pub use topics::{committed_offsets, create_topics, end_offsets};

/// `pipeline.name` of the job, and the Kafka consumer group of its three sources.
pub const JOB_NAME: &str = "roas-attribution";
pub const GROUP: &str = "roas-attribution";
pub const TOPICS: [&str; 3] = ["impressions", "clicks", "conversions"];
/// The job's tumbling window.
pub const WINDOW: Duration = Duration::from_secs(10);
/// The addresses written in roas.sql (the demo's hosts), replaced by the bed's.
pub const SQL_KAFKA: &str = "kafka:9092";
pub const SQL_POSTGRES: &str = "postgres:5432";
/// Environment variable naming the throttle's control file (read by the UDF in the TMs).
pub const THROTTLE_ENV: &str = "ROAS_THROTTLE_FILE";

const RUNNING_BOUND: Duration = Duration::from_secs(120);
const FIRST_ROWS_BOUND: Duration = Duration::from_secs(120);

pub fn sql_file() -> PathBuf {
    repo_root().join("provisioning/demo/roas.sql")
}

pub fn generator_script() -> PathBuf {
    repo_root().join("provisioning/demo/roas-generator.py")
}

/// One campaign's fixed prices, as the generator prints them (`--describe`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Campaign {
    pub campaign_id: String,
    pub impression_cost: f64,
    pub click_cost: f64,
    pub ctr: f64,
    pub cvr: f64,
    pub revenue: f64,
}

/// The generator's campaigns: what a window's spend and revenue must add up to.
pub fn campaigns() -> Vec<Campaign> {
    let out = process::run_tool(
        "roas-generator.py --describe",
        Command::new("python3")
            .arg(generator_script())
            .arg("--describe"),
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("--describe answered `{out}`: {e}"))
}

#[derive(Debug, Clone)]
pub struct RoasOptions {
    /// PLAINTEXT bootstrap servers of the Kafka cluster holding the topics.
    pub kafka_bootstrap: String,
    /// Impressions per second (clicks ~13 % of them, conversions ~2 %).
    pub rate: u32,
    pub flink: FlinkOptions,
}

impl RoasOptions {
    pub fn new(kafka_bootstrap: &str) -> RoasOptions {
        RoasOptions {
            kafka_bootstrap: kafka_bootstrap.to_string(),
            rate: 100,
            flink: FlinkOptions::default(),
        }
    }
}

/// How long start() took to reach each stage, from its first line.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub postgres_ready: Duration,
    pub cluster_ready: Duration,
    pub generator_ready: Duration,
    /// SubmitSql returned the job id (JVM + SQL planner).
    pub job_submitted: Duration,
    pub job_running: Duration,
    pub first_rows: Duration,
}

pub struct RoasPipeline {
    dir: PathBuf,
    bootstrap: String,
    rate: u32,
    postgres: Postgres,
    flink: FlinkCluster,
    generator: Mutex<Option<Process>>,
    generator_runs: Mutex<u32>,
    job: Mutex<String>,
    throttle_file: PathBuf,
    timings: Timings,
}

impl RoasPipeline {
    /// Starts PostgreSQL and the Flink cluster (side by side), the generator, submits the job,
    /// and returns once it is RUNNING and its first rows are in roas_by_campaign.
    pub fn start(run_dir: &Path, options: RoasOptions) -> RoasPipeline {
        let t0 = Instant::now();
        crate::bed::flink::ensure_java();
        let dir = run_dir.join("roas");
        std::fs::create_dir_all(&dir).expect("the pipeline's run directory");
        let throttle_file = dir.join("throttle-micros");
        let _ = std::fs::remove_file(&throttle_file);
        let mut flink_options = options.flink.clone();
        flink_options
            .taskmanager_env
            .push((THROTTLE_ENV.into(), throttle_file.display().to_string()));

        let ((postgres, postgres_ready), (flink, cluster_ready)) = std::thread::scope(|s| {
            let pg = s.spawn(|| {
                let pg = Postgres::start(run_dir);
                (pg, t0.elapsed())
            });
            let fl = s.spawn(|| {
                let fl = FlinkCluster::start(run_dir, flink_options);
                (fl, t0.elapsed())
            });
            (
                pg.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                fl.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            )
        });
        let mut pipeline = RoasPipeline {
            dir,
            bootstrap: options.kafka_bootstrap.clone(),
            rate: options.rate,
            postgres,
            flink,
            generator: Mutex::new(None),
            generator_runs: Mutex::new(0),
            job: Mutex::new(String::new()),
            throttle_file,
            timings: Timings {
                postgres_ready,
                cluster_ready,
                generator_ready: Duration::ZERO,
                job_submitted: Duration::ZERO,
                job_running: Duration::ZERO,
                first_rows: Duration::ZERO,
            },
        };
        pipeline.start_generator();
        pipeline.timings.generator_ready = t0.elapsed();
        let id = pipeline.submit_only();
        pipeline.timings.job_submitted = t0.elapsed();
        pipeline.flink.wait_job_running(&id, RUNNING_BOUND);
        pipeline.timings.job_running = t0.elapsed();
        pipeline.wait_rows(FIRST_ROWS_BOUND, |n| n > 0);
        pipeline.timings.first_rows = t0.elapsed();
        pipeline
    }

    pub fn timings(&self) -> Timings {
        self.timings
    }

    pub fn postgres(&self) -> &Postgres {
        &self.postgres
    }

    pub fn flink(&self) -> &FlinkCluster {
        &self.flink
    }

    pub fn kafka_bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The id of the job this pipeline submitted last.
    pub fn job_id(&self) -> String {
        lock(&self.job).clone()
    }

    /// Submits roas.sql (addresses replaced), waits until it is RUNNING; the new job id.
    pub fn submit_job(&self) -> String {
        let id = self.submit_only();
        self.flink.wait_job_running(&id, RUNNING_BOUND);
        id
    }

    fn submit_only(&self) -> String {
        let replace = [
            (SQL_KAFKA.to_string(), self.bootstrap.clone()),
            (SQL_POSTGRES.to_string(), self.postgres.address()),
        ];
        let ids = self.flink.submit_sql(&sql_file(), &replace);
        assert_eq!(ids.len(), 1, "roas.sql has one INSERT, so one job: {ids:?}");
        *lock(&self.job) = ids[0].clone();
        ids[0].clone()
    }

    /// Cancels the current job (its last checkpoint has committed the group's offsets).
    pub fn cancel_job(&self) {
        self.flink.cancel_job(&self.job_id());
    }

    /// Cancel, then submit the same SQL again: a new job whose sources start from the group's
    /// committed offsets (`scan.startup.mode` = group-offsets).
    pub fn resubmit_job(&self) -> String {
        self.cancel_job();
        self.submit_job()
    }

    /// Makes `throttle()` (in the attribution vertex) sleep `per_record` for every click; the
    /// TaskManagers see it within 500 ms.
    pub fn slow_operator(&self, per_record: Duration) {
        let tmp = self.throttle_file.with_extension("tmp");
        std::fs::write(&tmp, per_record.as_micros().to_string()).expect("the throttle file");
        std::fs::rename(&tmp, &self.throttle_file).expect("the throttle file in place");
    }

    pub fn unslow_operator(&self) {
        let _ = std::fs::remove_file(&self.throttle_file);
    }

    pub fn operator_slowed(&self) -> bool {
        self.throttle_file.exists()
    }

    pub fn block_sink(&self) {
        self.postgres.block_sink();
    }

    pub fn unblock_sink(&self) {
        self.postgres.unblock_sink();
    }

    pub fn kill_taskmanager(&self) -> String {
        self.flink.kill_taskmanager()
    }

    pub fn start_taskmanager(&self) -> String {
        self.flink.start_taskmanager()
    }

    /// Starts the generator (a no-op while one runs) and waits for its first delivered event.
    pub fn start_generator(&self) {
        let mut slot = lock(&self.generator);
        if let Some(p) = slot.as_mut() {
            if p.running() {
                p.resume();
                return;
            }
        }
        let n = {
            let mut runs = lock(&self.generator_runs);
            *runs += 1;
            *runs
        };
        let log = self.dir.join(format!("generator-{n}.log"));
        let mut cmd = Command::new("python3");
        cmd.arg(generator_script())
            .args(["--bootstrap", &self.bootstrap])
            .args(["--rate", &self.rate.to_string()])
            .env("PYTHONUNBUFFERED", "1");
        let mut p = Process::spawn("roas-generator", cmd, &log);
        p.wait_ready(Duration::from_secs(60), || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("roas-generator: ready") {
                Ok(())
            } else {
                Err("no event delivered yet".to_string())
            }
        });
        *slot = Some(p);
    }

    /// SIGTERM: the generator flushes what it queued and exits.
    pub fn stop_generator(&self) {
        if let Some(mut p) = lock(&self.generator).take() {
            p.stop(Duration::from_secs(15));
        }
    }

    /// SIGSTOP: the generator hangs (its connections stay open).
    pub fn pause_generator(&self) {
        if let Some(p) = lock(&self.generator).as_ref() {
            p.pause();
        }
    }

    pub fn resume_generator(&self) {
        if let Some(p) = lock(&self.generator).as_ref() {
            p.resume();
        }
    }

    pub fn generator_running(&self) -> bool {
        lock(&self.generator)
            .as_mut()
            .map(|p| p.running())
            .unwrap_or(false)
    }

    /// Every row of roas_by_campaign (blocks while the sink is blocked; see
    /// [`RoasPipeline::rows_while_blocked`]).
    pub fn rows(&self) -> Vec<RoasRow> {
        parse_rows(&self.postgres.psql(ROW_SQL))
    }

    /// The rows, read inside the blocking session while the sink is blocked.
    pub fn rows_while_blocked(&self) -> Vec<RoasRow> {
        parse_rows(&self.postgres.query_while_blocked(&format!("{ROW_SQL};")))
    }

    pub fn row_count(&self) -> i64 {
        self.postgres.count_rows(SINK_TABLE)
    }

    /// Waits until the row count satisfies `ok`; the count. Panics after `bound` with the
    /// job's state and the last exceptions.
    pub fn wait_rows(&self, bound: Duration, ok: impl Fn(i64) -> bool) -> i64 {
        let deadline = Instant::now() + bound;
        loop {
            let n = self.row_count();
            if ok(n) {
                return n;
            }
            if Instant::now() >= deadline {
                let job = self.job_id();
                let exceptions = self
                    .flink
                    .get(&format!("/jobs/{job}/exceptions?maxExceptions=3"))
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                panic!(
                    "roas_by_campaign holds {n} rows after {} s; job {job} is {:?}; \
                     exceptions: {}",
                    bound.as_secs(),
                    self.flink.state_of(&job),
                    &exceptions[..exceptions.len().min(3000)]
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The group's committed offsets on the ROAS topics.
    pub fn committed_offsets(&self) -> BTreeMap<(String, i32), Option<i64>> {
        committed_offsets(&self.bootstrap, GROUP)
    }

    pub fn end_offsets(&self) -> BTreeMap<(String, i32), i64> {
        end_offsets(&self.bootstrap)
    }
}

impl Drop for RoasPipeline {
    fn drop(&mut self) {
        self.stop_generator();
        self.unslow_operator();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
