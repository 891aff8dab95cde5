//! PostgreSQL taken down under the running job, read through the datasource as the on-call
//! engineer reads it: the root cause it names, the database among the victims, and all green
//! again once the database is back (`bed_pipeline:` line with both times).

use super::*;
use pipeline_model::frame_contract::node_fields;

/// PostgreSQL shut down fast under the running job (its connections cut, nothing listening).
/// The datasource never connects to the database itself: what it sees is the job. The JDBC
/// sink's failure restarts the job (on Flink 2.3 it may take its TaskManager down with it);
/// the database and what the job feeds are the victims, and all is green once PostgreSQL is
/// back and the job runs again.
#[test]
fn a_database_taken_down_restarts_the_job_and_its_return_brings_it_back() {
    let (_turn, bed) = pipeline();
    let watch = watch(bed);
    let flink = bed.flink();
    let job = bed.job_id();
    let restarts = flink.num_restarts(&job).expect("numRestarts");

    bed.postgres().take_down();
    let t0 = Instant::now();
    let (seen, _) = watch.until("the restarting job named", CAUSE_BOUND, |c| {
        named(c, "job-restarting")
    });
    let named_in = t0.elapsed();
    // The verdict may come first: vertices leave RUNNING before Flink counts the restart,
    // and the JobManager may be slow to answer while it fails the job over.
    poll(
        "Flink counting the restart",
        Duration::from_secs(120),
        || match flink.num_restarts(&job) {
            Some(n) if n > restarts => Ok(()),
            other => Err(format!("numRestarts {other:?}, before {restarts}")),
        },
    );
    let db = seen.titled(DATABASE).expect("the database node");
    let db_id = db[node_fields::ID].as_str().unwrap_or_default().to_string();
    assert!(
        seen.victims.contains(&db_id) || seen.nodes.contains(&db_id),
        "the database is marked: {}",
        seen.summary()
    );
    assert_ne!(db[node_fields::HEALTH], "ok", "{}", seen.summary());
    let sentence = seen.sentence.clone().unwrap_or_default();
    bed.postgres().start_again();
    let t1 = Instant::now();
    // Whether the TaskManager died with the sink shows only once its heartbeat times out:
    // start a new one whenever none is registered, until the job runs again.
    let mut started = Vec::new();
    poll("the job running again", Duration::from_secs(240), || {
        if flink.taskmanager_ids().is_empty() {
            started.push(bed.start_taskmanager());
        }
        let states: Vec<String> = flink
            .vertices(&job)?
            .into_iter()
            .map(|v| v.status)
            .collect();
        states
            .iter()
            .all(|s| s == "RUNNING")
            .then_some(())
            .ok_or(format!("{states:?}"))
    });
    watch.until(
        "green after the database's return",
        GREEN_BOUND,
        CauseSeen::green,
    );
    eprintln!(
        "bed_pipeline: database down: job-restarting named after {:.0} s ({sentence}); \
         TaskManagers started after it: {started:?}; green {:.0} s after PostgreSQL started \
         again",
        named_in.as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
}
