//! Kafka queries against librdkafka's mock cluster (3 brokers, in this test process), through
//! the spawned backend. Lag numbers are checked against ground truth computed here from what
//! was produced and committed.
//!
//! Path proven: the mock answers ListGroups empty and rejects DescribeGroups, so these tests
//! prove the fallback (groups named in the query, one OffsetFetch per group, state unknown);
//! the frames say so in `meta.custom.groupSource`, and the tests assert it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pipeline_tests::kafka_mock::MockKafka;
use pipeline_tests::{DatasourceConfig, PluginHost, Query};
use serde_json::{json, Value};

const PARTITIONS: i32 = 6;

/// Records produced per partition of `orders`, and what groups committed.
struct Truth {
    produced: Vec<i64>,
    committed: HashMap<&'static str, Vec<Option<i64>>>,
}

impl Truth {
    /// A group's lag: log end minus commit, summed over the partitions it committed.
    fn group_lag(&self, group: &str) -> i64 {
        self.committed[group]
            .iter()
            .zip(&self.produced)
            .filter_map(|(c, n)| c.map(|c| n - c))
            .sum()
    }
}

fn setup(kafka: &MockKafka) -> Truth {
    kafka.create_topic("orders", PARTITIONS, 3);
    kafka.create_topic("payments", 2, 3);
    let produced: Vec<i64> = (0..PARTITIONS).map(|p| 10 + 7 * p as i64).collect();
    for (p, n) in produced.iter().enumerate() {
        kafka.produce("orders", p as i32, *n as usize);
    }
    kafka.produce("payments", 0, 5);
    kafka.flush();
    // g-fast: close behind everywhere; g-slow: far behind and never committed partition 5.
    let fast: Vec<Option<i64>> = produced.iter().map(|n| Some(n - 1)).collect();
    let slow: Vec<Option<i64>> = (0..PARTITIONS)
        .map(|p| (p < 5).then_some(p as i64))
        .collect();
    for (group, offsets) in [("g-fast", &fast), ("g-slow", &slow)] {
        let commits: Vec<(&str, i32, i64)> = offsets
            .iter()
            .enumerate()
            .filter_map(|(p, o)| o.map(|o| ("orders", p as i32, o)))
            .collect();
        kafka.commit(group, &commits);
    }
    Truth {
        produced,
        committed: HashMap::from([("g-fast", fast), ("g-slow", slow)]),
    }
}

fn datasource(kafka: &MockKafka) -> DatasourceConfig {
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka.bootstrap_servers(),
        "queryTimeoutSeconds": 10,
    }))
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}

#[tokio::test]
async fn consumer_lag_matches_what_was_produced_and_committed() {
    let kafka = MockKafka::start(3);
    let truth = setup(&kafka);
    let host = PluginHost::start().await;
    let ds = datasource(&kafka);
    let answer = host
        .query_one(
            &ds,
            "consumerLag",
            json!({"groups": ["g-fast", "g-slow"], "topic": "orders|pay.*"}),
        )
        .await;

    let parts = answer.frame("partitions");
    let mut seen = 0;
    for i in 0..parts.len() {
        let row = parts.row(i);
        let group = row["group"].as_str().unwrap();
        let p = row["partition"].as_i64().unwrap() as usize;
        assert_eq!(
            row["topic"], "orders",
            "groups committed only on orders: {row:?}"
        );
        let committed = truth.committed[group][p];
        let expected_lag = committed.map(|c| truth.produced[p] - c);
        assert_eq!(
            int(&row["logEndOffset"]),
            Some(truth.produced[p]),
            "{row:?}"
        );
        assert_eq!(int(&row["committedOffset"]), committed, "{row:?}");
        assert_eq!(int(&row["lag"]), expected_lag, "{row:?}");
        assert_eq!(row["hasCommit"], Value::Bool(committed.is_some()));
        seen += 1;
    }
    assert_eq!(
        seen,
        2 * PARTITIONS as usize,
        "every partition of orders, per group"
    );

    let groups = answer.frame("groups");
    for (name, commits) in &truth.committed {
        let row = groups.find_row("group", name).expect("group row");
        assert_eq!(int(&row["lag"]), Some(truth.group_lag(name)), "{row:?}");
        let without = commits.iter().filter(|c| c.is_none()).count() as i64;
        assert_eq!(int(&row["partitionsWithoutCommit"]), Some(without));
        // The mock cannot describe groups: the state is unknown (null), never a made-up one.
        assert_eq!(row["state"], Value::Null);
    }
    let slow = groups.find_row("group", "g-slow").unwrap();
    assert_ne!(
        slow["status"], "ok",
        "a partition without a commit is a warning: {slow:?}"
    );
    assert!(slow["reason"]
        .as_str()
        .unwrap()
        .contains("without a committed offset"));

    let topics = answer.frame("topics");
    assert_eq!(topics.len(), 2, "one row per (group, topic)");

    let meta = &parts.meta["custom"];
    assert!(
        meta["groupSource"]
            .as_str()
            .unwrap()
            .starts_with("namedGroups"),
        "{meta}"
    );
    assert!(meta["endOffsetRequests"].as_i64().unwrap() <= 3, "{meta}");
    assert_eq!(meta["offsetFetchRequests"], 2, "{meta}");

    // One level only, for a table panel: the per-group sums.
    let answer = host
        .query_one(
            &ds,
            "consumerLag",
            json!({"groups": ["g-fast", "g-slow"], "granularity": "group"}),
        )
        .await;
    let names: Vec<&str> = answer.ok().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["groups"]);
    let slow = answer.frame("groups").find_row("group", "g-slow").unwrap();
    assert_eq!(int(&slow["lag"]), Some(truth.group_lag("g-slow")));
}

#[tokio::test]
async fn groups_named_in_the_datasource_are_read_when_the_query_names_none() {
    let kafka = MockKafka::start(3);
    let truth = setup(&kafka);
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka.bootstrap_servers(),
        "kafkaConsumerGroups": ["g-fast"],
    }));
    let answer = host
        .query_one(&ds, "consumerLag", json!({"topic": "orders"}))
        .await;
    let groups = answer.frame("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(int(&groups.row(0)["lag"]), Some(truth.group_lag("g-fast")));
}

#[tokio::test]
async fn a_snapshot_sends_batched_requests_not_one_per_partition() {
    let kafka = MockKafka::start(3);
    kafka.create_topic("wide", 300, 1);
    kafka.produce("wide", 0, 3);
    kafka.flush();
    let commits: Vec<(&str, i32, i64)> = (0..300).map(|p| ("wide", p, 0)).collect();
    kafka.commit("g-wide", &commits);
    let host = PluginHost::start().await;
    let ds = datasource(&kafka);
    let q = json!({"group": "g-wide", "topic": "wide"});
    // Warm up: connections and the group's coordinator are found once per datasource.
    host.query_one(&ds, "consumerLag", q.clone()).await.ok();
    kafka.track_requests();
    let answer = host.query_one(&ds, "consumerLag", q).await;
    let requests = kafka.requests();
    let groups = answer.frame("groups");
    assert_eq!(int(&groups.row(0)["lag"]), Some(3));
    let list_offsets = requests.get("ListOffsets").copied().unwrap_or(0);
    let offset_fetch = requests.get("OffsetFetch").copied().unwrap_or(0);
    eprintln!("requests for one snapshot of 300 partitions: {requests:?}");
    assert!(
        (1..=3).contains(&list_offsets),
        "one ListOffsets per leader (3 brokers), got {list_offsets}"
    );
    assert_eq!(offset_fetch, 1, "one OffsetFetch for the group");
    let total: usize = requests.values().sum();
    assert!(
        total < 20,
        "a snapshot is a handful of requests, got {requests:?}"
    );
}

#[tokio::test]
async fn time_lag_comes_from_sampled_offsets() {
    let kafka = MockKafka::start(3);
    kafka.create_topic("clicks", 2, 3);
    kafka.produce("clicks", 0, 100);
    kafka.produce("clicks", 1, 100);
    kafka.flush();
    kafka.commit("g", &[("clicks", 0, 50), ("clicks", 1, 50)]);
    let host = PluginHost::start().await;
    let ds = datasource(&kafka);
    let q = json!({"group": "g", "topic": "clicks"});
    let first = host.query_one(&ds, "timeLag", q.clone()).await;
    let row = first.frame("timeLag").row(0);
    assert_eq!(row["samples"], 1);
    assert_eq!(row["secondsBehind"], Value::Null, "no rate from one sample");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    // 40 more produced, 120 more consumed: the group catches up.
    kafka.produce("clicks", 0, 40);
    kafka.flush();
    kafka.commit("g", &[("clicks", 0, 120), ("clicks", 1, 100)]);
    let second = host.query_one(&ds, "timeLag", q).await;
    let frame = second.frame("timeLag");
    let row = frame.row(0);
    assert_eq!(frame.meta["custom"]["method"], "offsetSampling");
    assert_eq!(row["method"], "offsetSampling");
    assert_eq!(row["samples"], 2);
    let lag = row["lag"].as_f64().unwrap();
    assert_eq!(lag, (140.0 - 120.0) + (100.0 - 100.0));
    let window = row["windowSeconds"].as_f64().unwrap();
    let produce = row["produceRate"].as_f64().unwrap();
    let consume = row["consumeRate"].as_f64().unwrap();
    assert!((produce * window - 40.0).abs() < 0.01, "{row:?}");
    assert!((consume * window - 120.0).abs() < 0.01, "{row:?}");
    let behind = row["secondsBehind"].as_f64().unwrap();
    assert!((behind - lag / produce).abs() < 1e-6, "{row:?}");
    let drain = row["drainSeconds"].as_f64().unwrap();
    assert!((drain - lag / (consume - produce)).abs() < 1e-6, "{row:?}");
}

#[tokio::test]
async fn cluster_health_and_resources_describe_the_mock_cluster() {
    let kafka = MockKafka::start(3);
    kafka.create_topic("orders", 6, 3);
    kafka.create_topic("audit", 2, 1);
    let host = PluginHost::start().await;
    let ds = datasource(&kafka);
    let answer = host.query_one(&ds, "clusterHealth", json!({})).await;
    let cluster = answer.frame("cluster").row(0);
    assert_eq!(cluster["brokers"], 3, "{cluster:?}");
    assert!(
        cluster["controller"].is_i64(),
        "the mock names a controller: {cluster:?}"
    );
    assert_eq!(cluster["partitions"], 8, "{cluster:?}");
    assert_eq!(cluster["offlinePartitions"], 0);
    assert_eq!(cluster["status"], "ok", "{cluster:?}");
    let topics = answer.frame("topics");
    assert_eq!(
        topics.find_row("topic", "orders").unwrap()["replicationFactor"],
        3
    );

    let (status, body) = host.resource(&ds, "/kafka/topics").await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"orders") && names.contains(&"audit"),
        "{body}"
    );
    let (status, body) = host.resource(&ds, "/kafka/groups").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["groups"].is_array(), "{body}");
}

#[tokio::test]
async fn a_downed_cluster_fails_the_query_in_time_and_the_next_one_recovers() {
    let kafka = MockKafka::start(3);
    kafka.create_topic("orders", 3, 3);
    kafka.produce("orders", 0, 10);
    kafka.flush();
    kafka.commit("g", &[("orders", 0, 4)]);
    let mut host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka.bootstrap_servers(),
        "queryTimeoutSeconds": 3,
    }));
    let q = json!({"group": "g", "topic": "orders"});
    let ok = host.query_one(&ds, "consumerLag", q.clone()).await;
    assert_eq!(int(&ok.frame("groups").row(0)["lag"]), Some(6));

    for b in 1..=3 {
        kafka.cluster().broker_down(b).unwrap();
    }
    let started = Instant::now();
    let down = host.query_one(&ds, "consumerLag", q.clone()).await;
    let took = started.elapsed();
    assert!(!down.error.is_empty(), "a down cluster is an error");
    eprintln!("brokers down, after {took:?}: {}", down.error);
    assert!(
        took < Duration::from_secs(6),
        "answered within the timeout: {took:?}"
    );
    assert!(
        down.error.contains("Kafka") || down.error.contains("timeout"),
        "{}",
        down.error
    );
    assert!(host.is_running(), "the plugin survives");

    for b in 1..=3 {
        kafka.cluster().broker_up(b).unwrap();
    }
    // librdkafka reconnects with backoff: a few tries, no restart of the plugin.
    let mut recovered = None;
    for _ in 0..10 {
        let a = host.query_one(&ds, "consumerLag", q.clone()).await;
        if a.error.is_empty() {
            recovered = Some(a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let a = recovered.expect("the query recovers after the brokers come back");
    assert_eq!(int(&a.frame("groups").row(0)["lag"]), Some(6));

    // A slow broker: the answer still comes within the query timeout.
    for b in 1..=3 {
        kafka
            .cluster()
            .broker_round_trip_time(b, Duration::from_secs(5))
            .unwrap();
    }
    let started = Instant::now();
    let slow = host
        .query(
            &ds,
            &[Query::new(
                "A",
                "consumerLag",
                json!({"group": "g2", "topic": "orders"}),
            )],
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(
        !slow["A"].error.is_empty(),
        "a 5 s round trip cannot answer in 3 s"
    );
    assert!(host.is_running());
}

#[tokio::test]
async fn check_health_names_what_failed() {
    let kafka = MockKafka::start(1);
    let host = PluginHost::start().await;
    let ok = DatasourceConfig::new(json!({"kafkaBootstrapServers": kafka.bootstrap_servers()}));
    let (status, message, _) = host.check_health(&ok).await;
    assert_eq!(status, 1, "{message}");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let refused = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": format!("127.0.0.1:{port}"), "queryTimeoutSeconds": 3}));
    let (status, message, _) = host.check_health(&refused).await;
    assert_eq!(status, 2);
    assert!(message.contains("TCP"), "{message}");
    eprintln!("refused: {message}");
    let dns = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": "no-such-host.invalid:9092", "queryTimeoutSeconds": 3}));
    let (status, message, _) = host.check_health(&dns).await;
    assert_eq!(status, 2);
    assert!(message.contains("DNS"), "{message}");
    eprintln!("unresolvable: {message}");
}

#[tokio::test]
async fn bad_lag_queries_name_the_field() {
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({"kafkaBootstrapServers": "127.0.0.1:9"}));
    let a = host
        .query_one(&ds, "consumerLag", json!({"topic": "x"}))
        .await;
    assert!(a.error.contains("`group`"), "{}", a.error);
    let a = host
        .query_one(&ds, "consumerLag", json!({"group": "g(", "topic": "x"}))
        .await;
    assert!(
        a.error.contains("`group`") && a.error.contains("regex"),
        "{}",
        a.error
    );
    let a = host
        .query_one(
            &ds,
            "consumerLag",
            json!({"group": "g", "granularity": "broker"}),
        )
        .await;
    assert!(
        a.error.contains("granularity") && a.error.contains("partition"),
        "{}",
        a.error
    );
}
