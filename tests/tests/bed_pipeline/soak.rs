//! Three minutes of a pipeline dashboard (every panel once a second, through the plugin binary)
//! while a broker stops, a TaskManager dies, the job is cancelled, the JobManager hangs and the
//! settings are saved anew, each for 10 s. Every answer is frames or an error that says what
//! is wrong, within the datasource's timeout; the plugin never exits and its memory, threads
//! and open files do not grow. The 30-minute run is `cargo run -p pipeline-tests --release
//! --bin soak -- --minutes 30`.

use super::*;
use pipeline_tests::bed::assembly::shared;
use pipeline_tests::soak;

#[test]
fn three_minutes_of_a_dashboard_with_faults_answers_every_panel_and_nothing_grows() {
    let (_turn, pipeline) = pipeline();
    let ds = roas_datasource(pipeline.kafka_bootstrap(), &pipeline.flink().rest_url());
    let report = soak::run(
        shared(),
        ds,
        Duration::from_secs(180),
        Duration::from_secs(10),
    );
    eprintln!("soak, 3 min:\n{}", report.table(30.0));
    for (at, what) in &report.actions {
        eprintln!("{at:>6.0} s  {what}");
    }
    assert!(
        !report.plugin_exited,
        "the plugin exited during the soak; its last words:\n{}",
        report.last_words
    );
    let problems = report.problems();
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\nthe plugin's HTTP/2 errors:\n{}",
        problems.len(),
        problems.join("\n"),
        report.connection_log
    );
    assert_eq!(
        report.growth(),
        Vec::<String>::new(),
        "growth over the soak"
    );
    let panels = soak::dashboard().len();
    assert!(
        report.replies.len() >= panels * 170,
        "{} answers for {panels} panels in 180 s",
        report.replies.len()
    );
    // Every fault was made and undone (the last pair may be cut by the end of the run).
    assert!(report.actions.len() >= 8, "{:?}", report.actions);
}
