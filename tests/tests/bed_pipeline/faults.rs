//! The fault knobs, each seen where it acts and then undone: a slowed operator (busy,
//! backpressure), a blocked sink (frozen table, failed checkpoints), a killed TaskManager
//! (restarts), a stopped generator (frozen topics).

use super::*;

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
