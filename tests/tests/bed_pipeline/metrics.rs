//! The metrics endpoints of every part answer, and a paused JobManager's does not.

use super::*;

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
