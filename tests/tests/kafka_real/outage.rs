//! The whole cluster down: the query fails within its timeout, and the next one after the
//! cluster is back answers again, with the commits intact; many panels asking the hung cluster
//! at once hold a bounded number of the plugin's threads.

use super::*;
use pipeline_backend::kafka::client::MAX_IN_FLIGHT;
use pipeline_backend::BLOCKING_THREADS;
use pipeline_tests::bed::process::status_fields;

/// A consumerLag query's answer and how long it took.
async fn timed_lag(
    host: &PluginHost,
    ds: &DatasourceConfig,
    group: &str,
    topic: &str,
) -> (pipeline_tests::Answer, Duration) {
    let started = Instant::now();
    let answer = host
        .query(
            ds,
            &[Query::new(
                "A",
                "consumerLag",
                json!({"groups": [group], "topic": topic}),
            )],
        )
        .await
        .remove("A")
        .expect("an answer for A");
    (answer, started.elapsed())
}

/// Queries until one answers without error; panics with the last error past `bound`.
async fn until_recovered(
    host: &PluginHost,
    ds: &DatasourceConfig,
    group: &str,
    bound: Duration,
) -> pipeline_tests::Answer {
    let deadline = Instant::now() + bound;
    loop {
        let (answer, _) = timed_lag(host, ds, group, "outage").await;
        if answer.error.is_empty() {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery within {} s: {}",
            bound.as_secs(),
            answer.error
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_downed_cluster_fails_the_query_in_time_and_the_next_one_recovers() {
    let _exclusive = FAULTS.write().await;
    let bed = kafka_bed();
    let kafka = &bed.kafka;
    let _restore = RestoreCluster;
    kafka.create_topic("outage", 3, 3);
    produce("outage", 0, 10);
    commit("outage-reader", &[("outage", 0, 4)]);
    let tool_lag = || -> i64 {
        kafka
            .describe_group_offsets("outage-reader")
            .iter()
            .filter_map(|r| r.lag)
            .sum()
    };
    let truth = tool_lag();
    let mut host = PluginHost::start().await;
    let timeout = Duration::from_secs(3);
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka.bootstrap(),
        "queryTimeoutSeconds": timeout.as_secs(),
    }));
    let lag_of = |a: &pipeline_tests::Answer| int(&a.frame("groups").row(0)["lag"]);
    let (ok, _) = timed_lag(&host, &ds, "outage-reader", "outage").await;
    assert_eq!(lag_of(&ok), Some(truth));
    // What the query may take past its timeout: the gRPC round trip and the frames.
    let slack = Duration::from_secs(2);

    // Every broker hangs (SIGSTOP): connections stay open, nothing answers, the worst case
    // for a timeout. (A refused connection is check_health_names_what_failed's closed port;
    // stopping and starting all three JVMs would add a minute and a half on 2 cores.)
    for id in kafka.broker_ids() {
        kafka.pause_broker(id);
    }
    let (hung, took) = timed_lag(&host, &ds, "outage-reader", "outage").await;
    for id in kafka.broker_ids() {
        kafka.resume_broker(id);
    }
    eprintln!("brokers paused, after {took:?}: {}", hung.error);
    assert!(!hung.error.is_empty(), "a hanging cluster is an error");
    assert!(
        took < timeout + slack,
        "answered within the timeout: {took:?}"
    );
    assert!(
        hung.error.contains("Kafka") && hung.error.contains(&kafka.bootstrap()),
        "the error names Kafka and the servers asked: {}",
        hung.error
    );
    assert!(host.is_running(), "the plugin survives");
    let t = Instant::now();
    kafka.wait_fully_replicated(Duration::from_secs(120));
    let back = until_recovered(&host, &ds, "outage-reader", Duration::from_secs(60)).await;
    assert_eq!(lag_of(&back), Some(tool_lag()));
    eprintln!(
        "kafka_real: resumed and answering again in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    assert_eq!(tool_lag(), truth, "the commits survived the outage");
}

/// A dashboard's worth of panels asking a hung cluster at once (every broker SIGSTOPped): each
/// query fails within its timeout, saying so, and the plugin runs at most `MAX_IN_FLIGHT`
/// pieces of Kafka work meanwhile, its threads within `BLOCKING_THREADS`. Without that bound
/// each query held threads of the blocking pool until librdkafka's own timeouts, after the
/// query had given up: 64 queries, 137 threads.
#[tokio::test]
async fn a_hung_cluster_asked_by_many_panels_holds_a_bounded_number_of_threads() {
    let _exclusive = FAULTS.write().await;
    let kafka = &kafka_bed().kafka;
    let _restore = RestoreCluster;
    kafka.create_topic("outage-many", 3, 3);
    produce("outage-many", 0, 10);
    commit("outage-many-reader", &[("outage-many", 0, 4)]);
    let host = std::sync::Arc::new(PluginHost::start().await);
    let pid = host.pid().expect("the plugin's pid");
    let threads = move || status_fields(pid, &["Threads:"]).map_or(0, |v| v[0]);
    let timeout = Duration::from_secs(3);
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka.bootstrap(),
        "queryTimeoutSeconds": timeout.as_secs(),
    }));
    let (group, topic) = ("outage-many-reader", "outage-many");
    let (ok, _) = timed_lag(&host, &ds, group, topic).await;
    assert!(ok.error.is_empty(), "{}", ok.error);
    let before = threads();

    for id in kafka.broker_ids() {
        kafka.pause_broker(id);
    }
    let panels = 4 * MAX_IN_FLIGHT;
    let mut asked = tokio::task::JoinSet::new();
    for _ in 0..panels {
        let (host, ds) = (host.clone(), ds.clone());
        asked.spawn(async move { timed_lag(&host, &ds, group, topic).await });
    }
    let (mut most, mut names) = (before, String::new());
    let mut answers = Vec::new();
    while !asked.is_empty() {
        tokio::select! {
            Some(done) = asked.join_next() => answers.push(done.expect("a query task")),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {
                let now = threads();
                if now > most {
                    (most, names) = (now, thread_names(pid));
                }
            }
        }
    }
    for id in kafka.broker_ids() {
        kafka.resume_broker(id);
    }
    let slowest = answers.iter().map(|(_, took)| *took).max().unwrap();
    eprintln!(
        "kafka_real: {panels} queries on a hung cluster: threads {before} before, at most {most}; \
         slowest answer {slowest:?}"
    );
    for (answer, took) in &answers {
        assert!(
            answer.error.contains("Kafka"),
            "every query fails naming Kafka: {:?}",
            answer.error
        );
        assert!(*took < timeout + Duration::from_secs(2), "took {took:?}");
    }
    assert!(
        most <= before + BLOCKING_THREADS as u64,
        "{most} threads while {panels} queries waited on a hung cluster ({before} before): {names}"
    );
    let mut host = std::sync::Arc::into_inner(host).expect("every query is done");
    assert!(host.is_running(), "the plugin survives");
}

/// The process's threads by name, counted ("tokio-runtime-w x18, rdk:broker1 x1").
fn thread_names(pid: u32) -> String {
    let mut counts = BTreeMap::<String, usize>::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(name) = std::fs::read_to_string(task.path().join("comm")) {
            *counts.entry(name.trim().to_string()).or_default() += 1;
        }
    }
    counts
        .iter()
        .map(|(name, n)| format!("{name} x{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
