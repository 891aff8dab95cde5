//! Consumer lag on the real cluster against Kafka's own tools: one group's committed offsets
//! and log ends, named groups per partition, topic and group, groups named in the datasource,
//! and time lag following the produce and commit rates.

use super::*;

#[tokio::test]
async fn consumer_lag_equals_what_kafkas_own_tool_reads() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("billing-events", 6, 3);
    for p in 0..6 {
        produce("billing-events", p, 20 + 13 * p as usize);
    }
    // Committed like a Flink source commits: no membership, offsets only; partition 5 never.
    let commits: Vec<(&str, i32, i64)> = (0..5)
        .map(|p| ("billing-events", p, 3 * p as i64))
        .collect();
    commit("billing-writer", &commits);

    let host = PluginHost::start().await;
    let answer = host
        .query_one(
            &plaintext_datasource(),
            "consumerLag",
            json!({"group": "billing-.*", "topic": "billing-events"}),
        )
        .await;
    // The same moment: nothing produces to or commits on this topic any more.
    let truth = bed.kafka.describe_group_offsets("billing-writer");
    let mut expected: Vec<_> = truth
        .iter()
        .map(|r| (r.topic.clone(), r.partition, r.committed, r.log_end, r.lag))
        .collect();
    expected.sort();
    let got = backend_partitions(&answer, "billing-writer");
    // Kafka's tool lists only the partitions a member-less group committed on; the backend
    // also shows the partition without a commit (lag unknown, said so), which must be the
    // only difference.
    let committed: Vec<_> = got.iter().filter(|r| r.2.is_some()).cloned().collect();
    assert_eq!(
        committed, expected,
        "backend vs kafka-consumer-groups --describe"
    );
    assert_eq!(
        got.len(),
        6,
        "every partition, the uncommitted one too: {got:?}"
    );
    assert_eq!(
        got.iter().find(|r| r.2.is_none()).map(|r| (r.1, r.3, r.4)),
        Some((5, 20 + 13 * 5, None)),
        "partition 5 has no commit: log end known, lag unknown: {got:?}"
    );

    let groups = answer.frame("groups");
    let row = groups
        .find_row("group", "billing-writer")
        .expect("found by listing, not named");
    let tool_lag: i64 = truth.iter().filter_map(|r| r.lag).sum();
    assert_eq!(int(&row["lag"]), Some(tool_lag), "{row:?}");
    // A group that only commits (as Flink's Kafka source does) is Empty with no members.
    let state = bed.kafka.describe_group_state("billing-writer");
    assert_eq!(row["state"], state.state.as_str(), "{row:?} vs {state:?}");
    assert_eq!(state.state, "Empty");
    assert_eq!(int(&row["members"]), Some(0));
    assert_eq!(
        groups.meta["custom"]["groupSource"], "listGroups+describeGroups",
        "groups found by Kafka's listing: {:?}",
        groups.meta
    );
}

/// Sums over the group's partitions, as Kafka's tool reads them: (log end, committed, lag).
fn tool_sums(rows: &[GroupOffsetRow]) -> (i64, i64, i64) {
    rows.iter().fold((0, 0, 0), |(e, c, l), r| {
        (
            e + r.log_end,
            c + r.committed.unwrap_or(0),
            l + r.lag.unwrap_or(0),
        )
    })
}

#[tokio::test]
async fn time_lag_on_the_real_cluster_follows_the_produce_and_commit_rates() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("pageviews", 2, 3);
    produce("pageviews", 0, 100);
    produce("pageviews", 1, 100);
    commit(
        "pageview-counter",
        &[("pageviews", 0, 50), ("pageviews", 1, 50)],
    );
    let host = PluginHost::start().await;
    // The background sampler waits an hour-long window's spacing (5 min): only the test's own
    // queries sample here.
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bed.kafka.bootstrap(),
        "queryTimeoutSeconds": 20,
        "kafkaStatusWindowSeconds": 3600,
    }));
    let q = json!({"group": "pageview-counter", "topic": "pageviews"});
    let asked = now_ms();
    let first = host.query_one(&ds, "timeLag", q.clone()).await;
    let answered = now_ms();
    let before = tool_sums(&bed.kafka.describe_group_offsets("pageview-counter"));
    let row = first.frame("timeLag").row(0);
    assert_eq!(row["samples"], 1);
    assert_eq!(row["lag"].as_f64(), Some(before.2 as f64), "{row:?}");
    // From the first query: the oldest unconsumed record's own timestamp, as Kafka stored it.
    assert_eq!(row["method"], "recordTimestamp", "{row:?}");
    let oldest = [0, 1]
        .into_iter()
        .map(|p| record_timestamp_ms("pageviews", p, 50))
        .min()
        .unwrap();
    let behind = row["secondsBehind"].as_f64().unwrap();
    let (low, high) = (
        (asked - oldest) as f64 / 1e3,
        (answered - oldest) as f64 / 1e3,
    );
    assert!(
        low - 0.01 <= behind && behind <= high + 0.01,
        "{behind} s behind, the record at offset 50 is {low}..{high} s old"
    );

    // 40 more produced, 120 more consumed: the group catches up. The tool call above already
    // put time between the two samples; the rates are checked against offsets, not a clock.
    produce("pageviews", 0, 40);
    commit(
        "pageview-counter",
        &[("pageviews", 0, 120), ("pageviews", 1, 100)],
    );
    let second = host.query_one(&ds, "timeLag", q).await;
    let frame = second.frame("timeLag");
    let row = frame.row(0);
    let truth = bed.kafka.describe_group_offsets("pageview-counter");
    let after = tool_sums(&truth);
    let truth: i64 = truth.iter().filter_map(|r| r.lag).sum();
    assert_eq!(row["lag"].as_f64(), Some(truth as f64), "{row:?}");
    assert_eq!(truth, 20);
    assert_eq!(frame.meta["custom"]["method"], "offsetSampling");
    assert_eq!(row["samples"], 2);
    let produce_rate = row["produceRate"].as_f64().unwrap();
    let consume_rate = row["consumeRate"].as_f64().unwrap();
    assert!(consume_rate > produce_rate && produce_rate > 0.0, "{row:?}");
    // Rate x window = what Kafka's tool saw move between the two samples.
    let window = row["windowSeconds"].as_f64().unwrap();
    let produced = (after.0 - before.0) as f64;
    let consumed = (after.1 - before.1) as f64;
    assert!((produce_rate * window - produced).abs() < 0.01, "{row:?}");
    assert!((consume_rate * window - consumed).abs() < 0.01, "{row:?}");
    // Once samples exist, interpolated: offset 120 of partition 0 was passed half-way between
    // the samples (log end 100 then 140); partition 1 is caught up.
    assert_eq!(row["method"], "interpolation", "{row:?}");
    let behind = row["secondsBehind"].as_f64().unwrap();
    assert!((behind - window / 2.0).abs() < 1e-3, "{row:?}");
    let drain = row["drainSeconds"].as_f64().unwrap();
    assert!(
        (drain - truth as f64 / (consume_rate - produce_rate)).abs() < 1e-6,
        "{row:?}"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The timestamp Kafka stored with the record at `offset`, read with a consumer of our own.
fn record_timestamp_ms(topic: &str, partition: i32, offset: i64) -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bed().kafka.bootstrap())
        .set("group.id", "test-record-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))
        .unwrap();
    c.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(500)) {
            assert_eq!(
                m.offset(),
                offset,
                "the record at {topic}[{partition}]@{offset}"
            );
            return m.timestamp().to_millis().expect("a timestamp");
        }
    }
    panic!("no record at {topic}[{partition}]@{offset} within 20 s");
}

/// Commits on `orders`: `orders-fast` one record behind everywhere, `orders-slow` far behind
/// and never on partition 5. Neither commits on `payments`. Both commit without membership.
fn setup_orders() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let kafka = &kafka_bed().kafka;
        kafka.create_topic("orders", 6, 3);
        kafka.create_topic("payments", 2, 3);
        let produced: Vec<i64> = (0..6).map(|p| 10 + 7 * p).collect();
        for (p, n) in produced.iter().enumerate() {
            produce("orders", p as i32, *n as usize);
        }
        produce("payments", 0, 5);
        let fast: Vec<_> = (0..6)
            .map(|p| ("orders", p, produced[p as usize] - 1))
            .collect();
        let slow: Vec<_> = (0..5).map(|p| ("orders", p, p as i64)).collect();
        commit("orders-fast", &fast);
        commit("orders-slow", &slow);
    });
}

/// Log-end offsets of a topic's partitions as the bed's brokers report them (a fresh client).
fn log_ends(topic: &str) -> BTreeMap<i32, i64> {
    let c: BaseConsumer = kafka_bed()
        .kafka
        .plaintext_config()
        .create()
        .expect("a consumer");
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    md.topics()[0]
        .partitions()
        .iter()
        .map(|p| {
            let (_, high) = c
                .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                .expect("watermarks");
            (p.id(), high)
        })
        .collect()
}

#[tokio::test]
async fn consumer_lag_of_named_groups_matches_what_kafka_reads_per_partition_topic_and_group() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    setup_orders();
    let host = PluginHost::start().await;
    let ds = plaintext_datasource();
    let answer = host
        .query_one(
            &ds,
            "consumerLag",
            json!({"groups": ["orders-fast", "orders-slow"], "topic": "orders|pay.*"}),
        )
        .await;
    let ends = log_ends("orders");
    let groups = answer.frame("groups");
    for group in ["orders-fast", "orders-slow"] {
        let truth = bed.kafka.describe_group_offsets(group);
        let got = backend_partitions(&answer, group);
        assert!(
            got.iter().all(|r| r.0 == "orders"),
            "the groups committed only on orders: {got:?}"
        );
        // Kafka's tool lists the partitions a member-less group committed on; the backend
        // lists every partition of the topic, the ones without a commit too.
        let committed: Vec<_> = got.iter().filter(|r| r.2.is_some()).cloned().collect();
        let expected: Vec<_> = truth
            .iter()
            .map(|r| (r.topic.clone(), r.partition, r.committed, r.log_end, r.lag))
            .collect();
        assert_eq!(
            committed, expected,
            "{group}: backend vs kafka-consumer-groups"
        );
        assert_eq!(got.len(), ends.len(), "{group}: every partition of orders");
        for r in got.iter().filter(|r| r.2.is_none()) {
            assert_eq!(
                (r.3, r.4),
                (ends[&r.1], None),
                "{group}: no commit: log end known, lag unknown"
            );
        }
        let parts = answer.frame("partitions");
        for i in (0..parts.len()).filter(|&i| parts.row(i)["group"] == group) {
            let row = parts.row(i);
            assert_eq!(
                row["hasCommit"],
                Value::Bool(row["committedOffset"].is_i64())
            );
        }

        let row = groups.find_row("group", group).expect("group row");
        let tool_lag: i64 = truth.iter().filter_map(|r| r.lag).sum();
        assert_eq!(int(&row["lag"]), Some(tool_lag), "{row:?}");
        let without = (ends.len() - truth.len()) as i64;
        assert_eq!(int(&row["partitionsWithoutCommit"]), Some(without));
        // The real broker describes named groups too: state and members are Kafka's.
        let state = bed.kafka.describe_group_state(group);
        assert_eq!(row["state"], state.state.as_str(), "{row:?} vs {state:?}");
        assert_eq!(int(&row["members"]), Some(state.members as i64), "{row:?}");
    }
    // Both only commit, as Flink's Kafka source does: Empty is their normal state, so a small
    // lag is ok, not "no consumer is running".
    let fast = groups.find_row("group", "orders-fast").unwrap();
    assert_eq!(fast["status"], "ok", "{fast:?}");
    let slow = groups.find_row("group", "orders-slow").unwrap();
    assert_ne!(
        slow["status"], "ok",
        "a partition without a commit is a warning: {slow:?}"
    );
    assert!(
        slow["reason"]
            .as_str()
            .unwrap()
            .contains("without a committed offset"),
        "{slow:?}"
    );

    let topics = answer.frame("topics");
    assert_eq!(topics.len(), 2, "one row per (group, topic)");

    let meta = &answer.frame("partitions").meta["custom"];
    assert_eq!(
        meta["groupSource"], "listGroups+describeGroups",
        "Kafka lists the groups: {meta}"
    );
    // One ListOffsets per leader of the selected partitions (orders and payments).
    let md = bed.kafka.metadata().expect("metadata");
    let leaders: BTreeSet<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == "orders" || t.name() == "payments")
        .flat_map(|t| t.partitions().iter().map(|p| p.leader()))
        .collect();
    assert_eq!(
        meta["endOffsetRequests"].as_u64(),
        Some(leaders.len() as u64),
        "{meta}"
    );
    assert_eq!(meta["offsetFetchRequests"], 2, "{meta}");

    // One level only, for a table panel: the per-group sums.
    let answer = host
        .query_one(
            &ds,
            "consumerLag",
            json!({"groups": ["orders-fast", "orders-slow"], "granularity": "group"}),
        )
        .await;
    let names: Vec<&str> = answer.ok().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["groups"]);
    let slow = answer
        .frame("groups")
        .find_row("group", "orders-slow")
        .unwrap();
    let tool_lag: i64 = bed
        .kafka
        .describe_group_offsets("orders-slow")
        .iter()
        .filter_map(|r| r.lag)
        .sum();
    assert_eq!(int(&slow["lag"]), Some(tool_lag));
}

#[tokio::test]
async fn groups_named_in_the_datasource_are_read_when_the_query_names_none() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    setup_orders();
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bed.kafka.bootstrap(),
        "kafkaConsumerGroups": ["orders-fast"],
    }));
    let answer = host
        .query_one(&ds, "consumerLag", json!({"topic": "orders"}))
        .await;
    let groups = answer.frame("groups");
    assert_eq!(
        groups.len(),
        1,
        "only the datasource's group, though orders-slow exists"
    );
    let row = groups.row(0);
    assert_eq!(row["group"], "orders-fast");
    let truth: i64 = bed
        .kafka
        .describe_group_offsets("orders-fast")
        .iter()
        .filter_map(|r| r.lag)
        .sum();
    assert_eq!(int(&row["lag"]), Some(truth), "{row:?}");
    let state = bed.kafka.describe_group_state("orders-fast");
    assert_eq!(row["state"], state.state.as_str(), "{row:?} vs {state:?}");
    assert_eq!(int(&row["members"]), Some(state.members as i64), "{row:?}");
}
