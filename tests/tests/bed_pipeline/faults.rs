//! The fault knobs, each seen where it acts and then undone: a slowed operator (busy,
//! backpressure), a blocked sink (frozen table, failed checkpoints), a killed TaskManager
//! (restarts), a stopped generator (frozen topics), a stopped broker (under-replicated
//! partitions).
//!
//! Each fault is also read through the datasource, as the on-call engineer reads it: the test
//! polls the topology until the root cause it names is this fault's (its code, its nodes, its
//! victims and the sentence), then, once the fault is undone, until the pipeline is all green
//! again, and prints both times (`root cause:` lines).

use super::*;
use pipeline_tests::panel_fixtures;

#[test]
fn a_slowed_operator_is_the_busy_bottleneck_and_its_inputs_are_backpressured() {
    let (_turn, bed) = pipeline();
    let watch = watch(bed);
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
    // The datasource names the join, and the clicks source as its victim (asked from the
    // fault on, before the bed's own checks, so the time is the datasource's).
    let (seen, _) = watch.until("the join named as the bottleneck", CAUSE_BOUND, |c| {
        named(c, "bottleneck") && c.title_of(&c.nodes[0]).contains("IntervalJoin")
    });
    let named_in = t0.elapsed();
    panel_fixtures::save("roas-slow-operator", &seen.frames);
    let clicks_node = seen
        .titled(&format!("{SOURCE}clicks"))
        .expect("the clicks source");
    assert!(
        seen.victims
            .contains(&clicks_node["id"].as_str().unwrap().to_string()),
        "{}",
        seen.summary()
    );
    let sentence = seen.sentence.clone().unwrap_or_default();
    assert!(
        sentence.contains("IntervalJoin") && sentence.contains("bottleneck: busy"),
        "{sentence}"
    );

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
    let (green, _) = watch.until("green after the slowdown", GREEN_BOUND, CauseSeen::green);
    panel_fixtures::save("roas-healthy", &green.frames);
    eprintln!(
        "root cause: slowed operator named after {:.0} s ({sentence}); green {:.0} s after \
         the fix",
        named_in.as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
}

#[test]
fn a_blocked_sink_freezes_the_table_and_fails_checkpoints_until_unblocked() {
    let (_turn, bed) = pipeline();
    let watch = watch(bed);
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
    let t0 = Instant::now();
    let locked_at = now_epoch();
    // The datasource names the sink and the database it cannot write to (asked from the
    // fault on, before the bed's own checks).
    let (seen, _) = watch.until("the blocked sink named", CAUSE_BOUND, |c| {
        named(c, "sink-blocked")
    });
    let named_in = t0.elapsed();
    panel_fixtures::save("roas-sink-blocked", &seen.frames);
    let db = seen.titled(DATABASE).expect("the database node");
    assert_eq!(
        seen.nodes[1],
        db["id"].as_str().unwrap(),
        "{}",
        seen.summary()
    );
    assert_eq!(db["health"], "critical", "{db:?}");
    let sentence = seen.sentence.clone().unwrap_or_default();
    assert!(sentence.contains("the sink cannot write"), "{sentence}");

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
    let t1 = Instant::now();
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
    let (green, _) = watch.until("green after the unblock", GREEN_BOUND, CauseSeen::green);
    assert_eq!(green.health_of(db["id"].as_str().unwrap()), "ok");
    eprintln!(
        "root cause: blocked sink named after {:.0} s ({sentence}); green {:.0} s after the fix",
        named_in.as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
}

#[test]
fn a_killed_taskmanager_restarts_the_job_and_a_new_one_brings_it_back() {
    let (_turn, bed) = pipeline();
    let watch = watch(bed);
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
    // The datasource names the restarting job and the TaskManager it lost.
    let (seen, _) = watch.until("the lost TaskManager named", CAUSE_BOUND, |c| {
        named(c, "job-restarting") && c.sentence.as_deref().is_some_and(|s| s.contains(&killed))
    });
    let named_in = t0.elapsed();
    let sentence = seen.sentence.clone().unwrap_or_default();

    let started = bed.start_taskmanager();
    let t1 = Instant::now();
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
    watch.until(
        "green after the new TaskManager",
        GREEN_BOUND,
        CauseSeen::green,
    );
    eprintln!(
        "root cause: lost TaskManager named after {:.0} s ({sentence}); green {:.0} s after a \
         new one started",
        named_in.as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
}

#[test]
fn a_stopped_generator_freezes_the_topics_and_a_started_one_feeds_them_again() {
    let (_turn, bed) = pipeline();
    let watch = watch(bed);
    bed.stop_generator();
    let t0 = Instant::now();
    assert!(!bed.generator_running());
    let stopped = bed.end_offsets();
    // Observed for a few seconds: not one event more.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        assert_eq!(bed.end_offsets(), stopped, "no events while stopped");
        std::thread::sleep(Duration::from_millis(500));
    }
    // No false alarm: with a stall limit shorter than the wait (the default is 120 s), the
    // watermarks that stop with the input are named idle input, a warning; the group is at
    // lag 0 and OK; nothing is critical.
    let query = serde_json::json!({"thresholds": {"watermarkStalledSeconds": 30}});
    let group = format!("kafka/group/{}", roas::GROUP);
    let (seen, _) = watch.until_with(query, "the idle input named", CAUSE_BOUND, |c| {
        named(c, "input-idle")
    });
    let row = seen.row(&group).expect("the group's node");
    assert_eq!(
        (row["health"].as_str(), row["detail__lag"].as_f64()),
        (Some("ok"), Some(0.0)),
        "{row:?}"
    );
    assert_eq!(seen.verdict, "warning", "{}", seen.summary());
    let idle_in = t0.elapsed();
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
    watch.until("green with input again", GREEN_BOUND, CauseSeen::green);
    eprintln!(
        "root cause: stopped generator named idle input after {:.0} s ({:?}); green {:.0} s \
         after it started",
        idle_in.as_secs_f64(),
        seen.sentence,
        (t0.elapsed() - idle_in).as_secs_f64()
    );
}

#[test]
fn a_stopped_broker_is_named_on_the_topics_it_led_and_its_return_clears_them() {
    let (_turn, bed) = pipeline();
    let watch = watch(bed);
    let kafka = shared().kafka();
    let broker = 2;
    let _restore = RestoreBroker(broker);
    kafka.stop_broker(broker);
    let t0 = Instant::now();
    let (seen, _) = watch.until("under-replicated topics named", CAUSE_BOUND, |c| {
        named(c, "partitions-under-replicated") && c.nodes.len() == roas::TOPICS.len()
    });
    let named_in = t0.elapsed();
    panel_fixtures::save("roas-broker-down", &seen.frames);
    for topic in roas::TOPICS {
        let id = format!("kafka/topic/{topic}");
        assert!(seen.nodes.contains(&id), "{topic}: {}", seen.summary());
        assert_eq!(seen.health_of(&id), "warning");
    }
    let sentence = seen.sentence.clone().unwrap_or_default();
    assert!(
        sentence.contains(&format!("broker {broker} is out of sync")),
        "{sentence}"
    );
    kafka.restore_brokers(&[broker], BROKER_BOUND);
    let t1 = Instant::now();
    watch.until("green with the broker back", GREEN_BOUND, CauseSeen::green);
    eprintln!(
        "root cause: stopped broker named after {:.0} s ({sentence}); green {:.0} s after it \
         came back",
        named_in.as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
}

const BROKER_BOUND: Duration = Duration::from_secs(120);

/// Starts the stopped broker again however the test ends, so the next test finds three.
struct RestoreBroker(i32);

impl Drop for RestoreBroker {
    fn drop(&mut self) {
        let id = self.0;
        pipeline_tests::bed::undo_in_drop(
            &format!("bed_pipeline: broker {id} could not be restored"),
            || shared().kafka().restore_brokers(&[id], BROKER_BOUND),
        );
    }
}
