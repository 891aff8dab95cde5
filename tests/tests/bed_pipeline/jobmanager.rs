//! A JobManager that hangs (SIGSTOP: it keeps its port and answers nothing), read through the
//! datasource: the topology answers within the query's timeout, Flink one unknown node that
//! says it did not answer, the Kafka side still drawn with its verdicts; green again once the
//! JobManager is resumed.

use super::*;
use pipeline_model::frame_contract::node_ids;
use serde_json::json;

/// The query's own timeout, shorter than the datasource's 20 s, so the hang shows quickly.
const TIMEOUT_SECONDS: u64 = 5;

#[test]
fn a_paused_jobmanager_is_one_unknown_node_in_time_and_kafka_stays_drawn() {
    let (_turn, bed) = pipeline();
    let watch = watch(bed);
    let query = json!({ "timeoutSeconds": TIMEOUT_SECONDS });
    watch.until_with(
        query.clone(),
        "green before the pause",
        GREEN_BOUND,
        CauseSeen::green,
    );

    let flink = bed.flink();
    flink.pause_jobmanager();
    let resume = ResumeJobManager(flink);
    let (seen, took) = watch.until_with(
        query.clone(),
        "Flink unknown while its JobManager hangs",
        Duration::from_secs(60),
        |c| c.row(node_ids::FLINK_UNREACHABLE).is_some(),
    );
    let flink_node = seen.row(node_ids::FLINK_UNREACHABLE).unwrap();
    assert_eq!(flink_node["health"], "unknown", "{}", seen.summary());
    let reason = flink_node["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("did not answer"), "{reason}");
    // The first query after the pause already says so: within its timeout and a refresh.
    assert!(
        took < Duration::from_secs(TIMEOUT_SECONDS + 4),
        "named after {took:?}"
    );
    for topic in roas::TOPICS {
        let id = format!("{}{topic}", node_ids::TOPIC);
        assert_eq!(
            seen.health_of(&id),
            "ok",
            "{topic} still judged: {}",
            seen.summary()
        );
    }
    drop(resume);
    let t1 = Instant::now();
    watch.until_with(
        query,
        "green after the resume",
        GREEN_BOUND,
        CauseSeen::green,
    );
    eprintln!(
        "JobManager paused: Flink unknown (\"{reason}\") after {:.1} s; green {:.0} s after \
         the resume",
        took.as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
}

/// Resumes the JobManager even when an assertion fails, so the next test has a pipeline.
struct ResumeJobManager<'a>(&'a pipeline_tests::bed::flink::FlinkCluster);

impl Drop for ResumeJobManager<'_> {
    fn drop(&mut self) {
        self.0.resume_jobmanager();
    }
}
