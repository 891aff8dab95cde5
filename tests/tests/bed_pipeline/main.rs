//! The Marketing ROAS pipeline on the real test bed, and its fault knobs.
//!
//! Real parts, nothing mocked: Apache Kafka (the bed's brokers: [`kafka_bootstrap`]), the
//! Python generator (`provisioning/demo/roas-generator.py`, confluent-kafka), a standalone Flink
//! 2.3 cluster (JobManager and TaskManager JVMs with Flink's Prometheus reporter and the JMX
//! exporter agent), the Flink SQL job of `provisioning/demo/roas.sql` with the Kafka and JDBC
//! connectors from Maven Central, and PostgreSQL 15 holding `roas_by_campaign`.
//!
//! One pipeline per test binary, shared; the tests take turns (every knob changes the pipeline
//! for everyone) and each restores it before it ends. Every time-dependent check polls until a
//! deadline.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pipeline_tests::bed::assembly::shared;
use pipeline_tests::bed::flink::{Backpressure, Vertex};
use pipeline_tests::bed::postgres::SINK_TABLE;
use pipeline_tests::bed::roas::{self, Campaign, RoasPipeline, RoasRow};
use pipeline_tests::cause_watch::{roas_datasource, CauseSeen, CauseWatch, DATABASE};

/// The pipeline of the shared bed (real 3-broker Kafka, its topics with 6 partitions and 3
/// replicas), started once for this binary. Prints each stage's time and the bed's memory.
fn bed() -> &'static RoasPipeline {
    static PRINTED: Once = Once::new();
    let whole = shared();
    PRINTED.call_once(|| {
        let pipeline = &whole.roas;
        let t = pipeline.timings();
        let f = pipeline.flink();
        eprintln!(
            "bed_pipeline: whole bed ready in {:.1} s; pipeline: postgres ready {:.1} s (own \
             {:.1} s), flink cluster ready {:.1} s (own {:.1} s), generator {:.1} s, job \
             submitted {:.1} s, RUNNING {:.1} s, first rows {:.1} s",
            whole.started_in.as_secs_f64(),
            t.postgres_ready.as_secs_f64(),
            pipeline.postgres().started_in().as_secs_f64(),
            t.cluster_ready.as_secs_f64(),
            f.started_in().as_secs_f64(),
            t.generator_ready.as_secs_f64(),
            t.job_submitted.as_secs_f64(),
            t.job_running.as_secs_f64(),
            t.first_rows.as_secs_f64(),
        );
        let rss = whole.rss_kib();
        let total: u64 = rss.iter().map(|(_, k)| k).sum();
        eprintln!(
            "bed_pipeline: RSS {} MiB in all: {}",
            total / 1024,
            rss.iter()
                .map(|(n, k)| format!("{n} {} MiB", k / 1024))
                .collect::<Vec<_>>()
                .join(", ")
        );
    });
    &whole.roas
}

/// The pipeline, to this test alone, restored to health: generator on, nothing slowed or
/// blocked, a TaskManager, the job RUNNING.
fn pipeline() -> (MutexGuard<'static, ()>, &'static RoasPipeline) {
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let bed = bed();
    bed.unslow_operator();
    bed.unblock_sink();
    bed.postgres().start_again();
    bed.resume_generator();
    bed.start_generator();
    if bed.flink().taskmanager_ids().is_empty() {
        bed.start_taskmanager();
    }
    if bed.flink().state_of(&bed.job_id()).as_deref() == Some("CANCELED") {
        bed.submit_job();
    }
    bed.flink()
        .wait_job_running(&bed.job_id(), Duration::from_secs(120));
    // A TaskManager killed by the test before can leave Flink serving frozen metrics for its
    // web.timeout (60 s on the bed): judged from those, nothing would turn green.
    if let Err(e) = bed
        .flink()
        .wait_task_metrics(&bed.job_id(), Duration::from_secs(120))
    {
        panic!(
            "the bed did not come back to health: {e}\njobmanager log:\n{}",
            pipeline_tests::bed::process::log_tail(&bed.flink().jobmanager_log(), 3000)
        );
    }
    (turn, bed)
}

/// The datasource watching this pipeline through the real plugin binary (started before the
/// fault, so its status window and watermark history see the healthy pipeline first).
fn watch(bed: &RoasPipeline) -> CauseWatch {
    CauseWatch::start(roas_datasource(
        bed.kafka_bootstrap(),
        &bed.flink().rest_url(),
    ))
}

/// From a fault to the datasource naming its cause: the fault's own effects (backpressure, a
/// restart, failed checkpoints) plus a refresh or two on the loaded 2-core bed.
const CAUSE_BOUND: Duration = Duration::from_secs(150);
/// From the fault's removal to all green: the backlog drained, the checkpoints completing.
const GREEN_BOUND: Duration = Duration::from_secs(180);

fn named(seen: &CauseSeen, code: &str) -> bool {
    seen.code.as_deref() == Some(code)
}

/// Polls `f` every 500 ms until it answers Ok; panics with the last reason after `bound`.
fn poll<T>(what: &str, bound: Duration, f: impl FnMut() -> Result<T, String>) -> T {
    pipeline_tests::bed::process::poll_until(what, bound, Duration::from_millis(500), f)
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

fn vertex<'a>(vertices: &'a [Vertex], part: &str) -> &'a Vertex {
    vertices
        .iter()
        .find(|v| v.name.contains(part))
        .unwrap_or_else(|| {
            let names: Vec<&str> = vertices.iter().map(|v| v.name.as_str()).collect();
            panic!("no vertex named like `{part}` in {names:?}")
        })
}

const SOURCE: &str = "Source: KafkaSource-default_catalog.default_database.";

fn vertices(bed: &RoasPipeline) -> Vec<Vertex> {
    bed.flink()
        .vertices(&bed.job_id())
        .expect("the job's vertices")
}

fn backpressure(bed: &RoasPipeline, v: &Vertex) -> Backpressure {
    bed.flink()
        .backpressure(&bed.job_id(), &v.id)
        .expect("the vertex's backpressure")
}

fn latest_write(rows: &[RoasRow]) -> f64 {
    rows.iter().map(|r| r.written_at).fold(0.0, f64::max)
}

fn latest_window_end(bed: &RoasPipeline) -> f64 {
    bed.rows().iter().map(|r| r.window_end).fold(0.0, f64::max)
}

fn total(offsets: &BTreeMap<(String, i32), i64>) -> i64 {
    offsets.values().sum()
}

mod database;
mod faults;
mod job;
mod jobmanager;
mod live;
mod metrics;
mod soak;
