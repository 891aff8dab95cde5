//! The whole cluster down: the query fails within its timeout, and the next one after the
//! cluster is back answers again, with the commits intact.

use super::*;

/// A consumerLag query's answer and how long it took.
async fn timed_lag(
    host: &PluginHost,
    ds: &DatasourceConfig,
    group: &str,
) -> (pipeline_tests::Answer, Duration) {
    let started = Instant::now();
    let answer = host
        .query(
            ds,
            &[Query::new(
                "A",
                "consumerLag",
                json!({"groups": [group], "topic": "outage"}),
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
        let (answer, _) = timed_lag(host, ds, group).await;
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
    let (ok, _) = timed_lag(&host, &ds, "outage-reader").await;
    assert_eq!(lag_of(&ok), Some(truth));
    // What the query may take past its timeout: the gRPC round trip and the frames.
    let slack = Duration::from_secs(2);

    // Every broker hangs (SIGSTOP): connections stay open, nothing answers, the worst case
    // for a timeout. (A refused connection is check_health_names_what_failed's closed port;
    // stopping and starting all three JVMs would add a minute and a half on 2 cores.)
    for id in kafka.broker_ids() {
        kafka.pause_broker(id);
    }
    let (hung, took) = timed_lag(&host, &ds, "outage-reader").await;
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
