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
    (turn, bed)
}

/// Polls `f` every 500 ms until it answers Ok; panics with the last reason after `bound`.
fn poll<T>(what: &str, bound: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + bound;
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {} s; last: {last}", bound.as_secs())
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
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

#[test]
fn the_job_runs_as_sources_join_window_sink_and_writes_plausible_roas() {
    let (_turn, bed) = pipeline();
    let vs = vertices(bed);
    assert!(vs.len() >= 5, "sources, join, aggregate, sink: {vs:?}");
    for v in &vs {
        assert_eq!(v.status, "RUNNING", "{}", v.name);
        assert_eq!(v.parallelism, 2, "{}", v.name);
    }
    let impressions = vertex(&vs, &format!("{SOURCE}impressions"));
    let clicks = vertex(&vs, &format!("{SOURCE}clicks"));
    let conversions = vertex(&vs, &format!("{SOURCE}conversions"));
    let join = vertex(&vs, "IntervalJoin");
    let local = vertex(&vs, "LocalWindowAggregate");
    let sink = vertex(&vs, "Sink: roas_sink");
    assert!(
        sink.name.contains("GlobalWindowAggregate"),
        "the sink is chained to the window: {}",
        sink.name
    );
    let ids = |v: &Vertex| -> Vec<String> { v.inputs.iter().map(|(id, _)| id.clone()).collect() };
    assert!(impressions.inputs.is_empty() && clicks.inputs.is_empty());
    let mut join_inputs = ids(join);
    join_inputs.sort();
    let mut expected = vec![clicks.id.clone(), conversions.id.clone()];
    expected.sort();
    assert_eq!(
        join_inputs, expected,
        "clicks and conversions meet in the join"
    );
    assert!(
        join.inputs.iter().all(|(_, ship)| ship == "HASH"),
        "{join:?}"
    );
    let mut local_inputs = ids(local);
    local_inputs.sort();
    let mut expected = vec![impressions.id.clone(), join.id.clone()];
    expected.sort();
    assert_eq!(
        local_inputs, expected,
        "spend and attributed revenue are unioned"
    );
    assert_eq!(sink.inputs, vec![(local.id.clone(), "HASH".to_string())]);

    // Rows for most campaigns, with attributed revenue somewhere.
    let rows = poll(
        "rows with revenue for 4 campaigns",
        Duration::from_secs(90),
        || {
            let rows = bed.rows();
            let campaigns: std::collections::BTreeSet<&str> =
                rows.iter().map(|r| r.campaign_id.as_str()).collect();
            if campaigns.len() >= 4 && rows.iter().any(|r| r.conversions > 0) {
                Ok(rows)
            } else {
                Err(format!("{} rows, campaigns {campaigns:?}", rows.len()))
            }
        },
    );
    let prices: BTreeMap<String, Campaign> = roas::campaigns()
        .into_iter()
        .map(|c| (c.campaign_id.clone(), c))
        .collect();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0);
    for r in &rows {
        let c = prices
            .get(&r.campaign_id)
            .unwrap_or_else(|| panic!("a campaign the generator does not have: {r:?}"));
        assert_eq!(r.window_end - r.window_start, 10.0, "10 s windows: {r:?}");
        assert_eq!(r.window_start % 10.0, 0.0, "aligned windows: {r:?}");
        let spend = r.impressions as f64 * c.impression_cost + r.clicks as f64 * c.click_cost;
        assert!(
            close(r.spend, spend),
            "spend = impressions and clicks at list price: {r:?}"
        );
        let revenue = r.conversions as f64 * c.revenue;
        assert!(
            close(r.revenue, revenue),
            "revenue = conversions x price: {r:?}"
        );
        assert!(
            r.conversions <= r.clicks,
            "conversions are attributed to clicks: {r:?}"
        );
        match r.roas {
            Some(roas) => {
                assert!(
                    close(roas, r.revenue / r.spend),
                    "roas = revenue / spend: {r:?}"
                );
                assert!((0.0..100.0).contains(&roas), "a plausible ROAS: {r:?}");
            }
            None => assert_eq!(r.spend, 0.0, "ROAS is NULL only without spend: {r:?}"),
        }
    }
    // The generator clicks ~13 % of impressions and converts ~16 % of clicks: the join neither
    // drops nor repeats clicks.
    let sum = |f: fn(&RoasRow) -> i64| rows.iter().map(f).sum::<i64>() as f64;
    let (imps, clicks, convs) = (
        sum(|r| r.impressions),
        sum(|r| r.clicks),
        sum(|r| r.conversions),
    );
    assert!(imps > 500.0, "{imps} impressions");
    assert!(
        (0.08..0.20).contains(&(clicks / imps)),
        "click rate {clicks}/{imps}"
    );
    assert!(
        (0.05..0.35).contains(&(convs / clicks)),
        "conversion rate {convs}/{clicks}"
    );
    // Fresh: the newest window closed within the last half minute.
    let newest = rows.iter().map(|r| r.window_end).fold(0.0, f64::max);
    assert!(
        now_epoch() - newest < 45.0,
        "newest window ends at {newest}"
    );
}

#[test]
fn a_slowed_operator_is_the_busy_bottleneck_and_its_inputs_are_backpressured() {
    let (_turn, bed) = pipeline();
    let vs = vertices(bed);
    let join = vertex(&vs, "IntervalJoin").clone();
    let clicks = vertex(&vs, &format!("{SOURCE}clicks")).clone();
    let conversions = vertex(&vs, &format!("{SOURCE}conversions")).clone();
    // Unslowed, and caught up after whatever the test before did, the join idles.
    poll(
        "the join idle before the slowdown",
        Duration::from_secs(120),
        || {
            let j = backpressure(bed, &join);
            (j.busy_ratio < 0.5).then_some(()).ok_or(format!("{j:?}"))
        },
    );

    // ~13 clicks/s over 2 subtasks; 300 ms each leaves room for ~7/s: saturated.
    let t0 = Instant::now();
    bed.slow_operator(Duration::from_millis(300));
    let (join_bp, clicks_bp) = poll(
        "the join busy and the clicks source backpressured HIGH",
        Duration::from_secs(150),
        || {
            let (j, c) = (backpressure(bed, &join), backpressure(bed, &clicks));
            if j.busy_ratio >= 0.8 && c.level == "high" {
                Ok((j, c))
            } else {
                Err(format!("join {j:?}, clicks {c:?}"))
            }
        },
    );
    let slowed_in = t0.elapsed();
    // The bottleneck itself is busy, not waiting on its own output.
    assert!(
        join_bp.ratio < 0.5,
        "the join is not backpressured: {join_bp:?}"
    );
    assert!(
        clicks_bp.ratio > 0.5 && clicks_bp.busy_ratio < 0.2,
        "{clicks_bp:?}"
    );
    // Conversions wait on the same join, but they are few: their level is only reported.
    let conv = backpressure(bed, &conversions);

    bed.unslow_operator();
    let t1 = Instant::now();
    let (j, c) = poll(
        "the join no longer busy and the clicks source no longer HIGH",
        Duration::from_secs(150),
        || {
            let (j, c) = (backpressure(bed, &join), backpressure(bed, &clicks));
            if j.busy_ratio < 0.5 && c.level != "high" {
                Ok((j, c))
            } else {
                Err(format!("join {j:?}, clicks {c:?}"))
            }
        },
    );
    eprintln!(
        "bed_pipeline: slowed -> HIGH in {:.0} s (conversions {}); unslowed -> cleared in \
         {:.0} s ({j:?}, {c:?})",
        slowed_in.as_secs_f64(),
        conv.level,
        t1.elapsed().as_secs_f64()
    );
}

#[test]
fn a_blocked_sink_freezes_the_table_and_fails_checkpoints_until_unblocked() {
    let (_turn, bed) = pipeline();
    let flink = bed.flink();
    let job = bed.job_id();
    // Start from a pipeline that checkpoints.
    let c0 = flink.checkpoints(&job).expect("checkpoint counts");
    poll("a completed checkpoint", Duration::from_secs(60), || {
        let c = flink.checkpoints(&job)?;
        (c.completed > c0.completed)
            .then_some(())
            .ok_or(format!("{c:?}"))
    });

    bed.block_sink();
    let locked_at = now_epoch();
    let waiters = poll(
        "the sink's JDBC writes waiting on the lock",
        Duration::from_secs(60),
        || match bed.postgres().lock_waiters(SINK_TABLE) {
            n if n > 0 => Ok(n),
            n => Err(format!("{n} waiters")),
        },
    );
    // The sink hangs from its first write after the lock (the next window's rows), not from
    // the lock itself: checkpoints count from there.
    let hung = flink.checkpoints(&job).expect("checkpoint counts");
    let frozen = bed.rows_while_blocked();
    let failed = poll(
        "a checkpoint failing while the sink hangs",
        Duration::from_secs(90),
        || {
            let c = flink.checkpoints(&job)?;
            (c.failed > hung.failed)
                .then_some(c.clone())
                .ok_or(format!("{c:?}"))
        },
    );
    // One checkpoint may have passed the sink before its writers hung.
    assert!(
        failed.completed <= hung.completed + 1,
        "checkpoints do not complete through a hanging sink: at the hang {hung:?}, now {failed:?}"
    );
    let still = bed.rows_while_blocked();
    assert_eq!(
        still, frozen,
        "nothing was written while the table was locked"
    );
    assert!(
        latest_write(&still) < locked_at,
        "no row written after the lock at {locked_at}: {}",
        latest_write(&still)
    );
    assert_eq!(
        flink.state_of(&job).as_deref(),
        Some("RUNNING"),
        "failing checkpoints are tolerated"
    );

    bed.unblock_sink();
    let unblocked_at = now_epoch();
    poll("rows written again", Duration::from_secs(60), || {
        let w = latest_write(&bed.rows());
        (w > unblocked_at)
            .then_some(())
            .ok_or(format!("latest write {w}"))
    });
    poll(
        "checkpoints completing again",
        Duration::from_secs(60),
        || {
            let c = flink.checkpoints(&job)?;
            (c.completed > failed.completed)
                .then_some(())
                .ok_or(format!("{c:?}"))
        },
    );
    assert_eq!(bed.postgres().lock_waiters(SINK_TABLE), 0);
    eprintln!(
        "bed_pipeline: blocked sink: {waiters} writers waited, {} checkpoint(s) failed",
        failed.failed - hung.failed
    );
}

#[test]
fn a_killed_taskmanager_restarts_the_job_and_a_new_one_brings_it_back() {
    let (_turn, bed) = pipeline();
    let flink = bed.flink();
    let job = bed.job_id();
    let restarts = flink.num_restarts(&job).expect("numRestarts");
    let restored = flink.checkpoints(&job).expect("checkpoints").restored;
    let newest = latest_window_end(bed);

    let killed = bed.kill_taskmanager();
    let t0 = Instant::now();
    // The job restarts at once and then waits, RUNNING on paper, with its tasks unscheduled:
    // the REST answers are cached for a few seconds, so the restart count is the sure sign.
    poll("the job restarting", Duration::from_secs(60), || {
        let n = flink.num_restarts(&job).unwrap_or_default();
        (n > restarts)
            .then_some(())
            .ok_or(format!("numRestarts {n}"))
    });
    let lost_in = t0.elapsed();
    let waiting = poll("tasks waiting for slots", Duration::from_secs(30), || {
        let vs = flink.vertices(&job)?;
        let states: Vec<String> = vs.iter().map(|v| v.status.clone()).collect();
        states
            .iter()
            .any(|s| s != "RUNNING")
            .then(|| states.clone())
            .ok_or(format!("{states:?}"))
    });
    poll(
        "the killed TaskManager gone",
        Duration::from_secs(30),
        || {
            let tms = flink.get("/taskmanagers")?;
            let gone = !tms.to_string().contains(&format!("\"{killed}\""));
            gone.then_some(()).ok_or(tms.to_string())
        },
    );
    let still: Vec<String> = flink
        .vertices(&job)
        .expect("vertices")
        .into_iter()
        .map(|v| v.status)
        .collect();
    assert!(
        still.iter().any(|s| s != "RUNNING"),
        "without a TaskManager nothing runs: {still:?}"
    );

    let started = bed.start_taskmanager();
    assert_ne!(started, killed);
    flink.wait_job_running(&job, Duration::from_secs(120));
    let back_in = t0.elapsed();
    assert_eq!(bed.job_id(), job, "the same job restarted");
    poll(
        "restored from a checkpoint",
        Duration::from_secs(30),
        || {
            let c = flink.checkpoints(&job)?;
            (c.restored > restored)
                .then_some(())
                .ok_or(format!("{c:?}"))
        },
    );
    poll(
        "new windows after the restart",
        Duration::from_secs(90),
        || {
            let w = latest_window_end(bed);
            (w > newest + 10.0)
                .then_some(())
                .ok_or(format!("newest window {w}"))
        },
    );
    eprintln!(
        "bed_pipeline: killed {killed}: restarted after {:.1} s (tasks {waiting:?}), RUNNING on \
         {started} after {:.1} s",
        lost_in.as_secs_f64(),
        back_in.as_secs_f64()
    );
}

#[test]
fn a_resubmitted_job_resumes_from_the_groups_committed_offsets() {
    let (_turn, bed) = pipeline();
    let flink = bed.flink();
    bed.stop_generator();
    let end = bed.end_offsets();
    // The job catches up and a checkpoint commits the log end for every partition.
    poll(
        "the group committed at the log end",
        Duration::from_secs(90),
        || {
            let committed = bed.committed_offsets();
            let behind: Vec<_> = end
                .iter()
                .filter(|(tp, e)| **e > 0 && committed.get(*tp).copied().flatten() != Some(**e))
                .collect();
            behind
                .is_empty()
                .then_some(())
                .ok_or(format!("{} partitions behind: {behind:?}", behind.len()))
        },
    );
    let before = bed.committed_offsets();
    let old = bed.job_id();
    let new = bed.resubmit_job();
    assert_ne!(new, old);
    assert_eq!(flink.state_of(&old).as_deref(), Some("CANCELED"));

    // Nothing new in the topics yet: the new job's first checkpoint commits the same offsets.
    poll(
        "the new job's first checkpoint",
        Duration::from_secs(60),
        || {
            let c = flink.checkpoints(&new)?;
            (c.completed > 0).then_some(()).ok_or(format!("{c:?}"))
        },
    );
    let after = bed.committed_offsets();
    for (tp, at) in &before {
        assert!(
            after.get(tp).copied().flatten() >= *at,
            "{tp:?}: committed {at:?} before, {:?} after: the group never moves back",
            after.get(tp)
        );
    }

    // What the new job's sources emit is bounded by what was produced after the restart.
    let e0 = total(&end);
    bed.start_generator();
    let emitted = poll(
        "the new job's sources reading",
        Duration::from_secs(60),
        || {
            let sources: i64 = vertices(bed)
                .iter()
                .filter(|v| v.name.starts_with(SOURCE))
                .map(|v| v.write_records)
                .sum();
            (sources > 0).then_some(sources).ok_or("0 records".into())
        },
    );
    let e1 = total(&bed.end_offsets());
    assert!(
        e1 - e0 < e0,
        "the check needs less new data ({}) than old ({e0})",
        e1 - e0
    );
    assert!(
        emitted <= e1 - e0,
        "the new job emitted {emitted} records, more than the {} produced since it started: \
         it re-read old ones (from earliest instead of the group's offsets)",
        e1 - e0
    );
    poll("rows from the new job", Duration::from_secs(90), || {
        let w = latest_window_end(bed);
        (w > now_epoch() - 30.0)
            .then_some(())
            .ok_or(format!("newest window {w}"))
    });
}

#[test]
fn a_stopped_generator_freezes_the_topics_and_a_started_one_feeds_them_again() {
    let (_turn, bed) = pipeline();
    bed.stop_generator();
    assert!(!bed.generator_running());
    let stopped = bed.end_offsets();
    // Observed for a few seconds: not one event more.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        assert_eq!(bed.end_offsets(), stopped, "no events while stopped");
        std::thread::sleep(Duration::from_millis(500));
    }
    bed.start_generator();
    poll("every topic growing again", Duration::from_secs(30), || {
        let now = bed.end_offsets();
        let grown: Vec<&str> = roas::TOPICS
            .iter()
            .copied()
            .filter(|t| {
                let sum = |m: &BTreeMap<(String, i32), i64>| -> i64 {
                    m.iter()
                        .filter(|((tt, _), _)| tt == t)
                        .map(|(_, v)| v)
                        .sum()
                };
                sum(&now) > sum(&stopped)
            })
            .collect();
        (grown.len() == 3)
            .then_some(())
            .ok_or(format!("grown: {grown:?}"))
    });
}

#[test]
fn metrics_endpoints_answer_and_a_paused_jobmanager_does_not() {
    let (_turn, bed) = pipeline();
    let flink = bed.flink();
    let metrics = |port: u16| {
        pipeline_tests::bed::process::http(port, "GET", "/metrics", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!(":{port}/metrics: {e}"))
    };
    let (jm_prom, tm_prom) = flink.prometheus_ports();
    let (jm_jmx, tm_jmx) = flink.jmx_exporter_ports();
    let (tm_prom, tm_jmx) = (
        tm_prom.expect("a TaskManager"),
        tm_jmx.expect("a TaskManager"),
    );
    assert!(metrics(jm_prom).contains("flink_jobmanager_numRunningJobs"));
    let tm = poll("task metrics of the job", Duration::from_secs(30), || {
        let m = metrics(tm_prom);
        m.contains("flink_taskmanager_job_task_busyTimeMsPerSecond")
            .then_some(m)
            .ok_or("no task metrics yet".into())
    });
    assert!(
        tm.contains("job_name=\"roas_attribution\""),
        "the job's tasks are reported"
    );
    for port in [jm_jmx, tm_jmx] {
        let m = metrics(port);
        assert!(
            m.contains("jvm_memory_bytes_used"),
            ":{port} has the JVM collectors"
        );
        assert!(
            m.contains("java_lang_operatingsystem_processcpuload"),
            ":{port} has the OS rule"
        );
    }

    flink.pause_jobmanager();
    let paused = flink.get_within("/overview", Duration::from_secs(2));
    flink.resume_jobmanager();
    assert!(
        paused.is_err(),
        "a stopped JobManager answers nothing: {paused:?}"
    );
    poll(
        "the JobManager answering again",
        Duration::from_secs(20),
        || flink.get("/overview").map(|_| ()),
    );
    flink.wait_job_running(&bed.job_id(), Duration::from_secs(60));
}
