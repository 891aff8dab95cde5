//! How many requests one consumer-lag snapshot sends, counted by the brokers themselves.
//!
//! Which Kafka, and why: librdkafka's mock cluster (3 brokers inside this test process), on
//! purpose. Its request tracking (`rd_kafka_mock_start_request_tracking`) records every request
//! each broker receives, by API, so the batching rule of `kafka::offsets` (one ListOffsets per
//! partition leader, one OffsetFetch per group, never one request per partition) is checked
//! from the broker's side. A real Kafka broker counts requests only as JMX rates
//! (`kafka.network:type=RequestMetrics`), shared by every client of the cluster and sampled, so
//! it cannot say exactly what one query sent. Everything else about Kafka (groups, state,
//! offsets as Kafka's tools read them, security, faults) is proven on the real bed in
//! `kafka_real.rs`. The mock answers ListGroups empty, so this snapshot reads the group named
//! in the query; and it answers an OffsetFetch for all of a group's partitions (a null topic
//! list, what ListConsumerGroupOffsets sends) with none, so the lag values themselves are
//! checked on the real brokers only.

use pipeline_tests::kafka_mock::MockKafka;
use pipeline_tests::{DatasourceConfig, PluginHost};
use serde_json::json;

fn datasource(kafka: &MockKafka) -> DatasourceConfig {
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka.bootstrap_servers(),
        "queryTimeoutSeconds": 10,
    }))
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
    assert_eq!(groups.row(0)["group"], "g-wide");
    let list_offsets = requests.get("ListOffsets").copied().unwrap_or(0);
    let offset_fetch = requests.get("OffsetFetch").copied().unwrap_or(0);
    eprintln!("requests for one snapshot of 300 partitions: {requests:?}");
    assert!(
        (1..=3).contains(&list_offsets),
        "one ListOffsets per leader (3 brokers), got {list_offsets}"
    );
    assert_eq!(offset_fetch, 1, "one OffsetFetch for the group");
    // What the frames say they sent is what the brokers received (the real bed can only
    // check these self-reported counts, in kafka_real.rs).
    let meta = &groups.meta["custom"];
    assert_eq!(
        meta["endOffsetRequests"].as_u64(),
        Some(list_offsets as u64),
        "{meta}"
    );
    assert_eq!(
        meta["offsetFetchRequests"].as_u64(),
        Some(offset_fetch as u64),
        "{meta}"
    );
    let total: usize = requests.values().sum();
    assert!(
        total < 20,
        "a snapshot is a handful of requests, got {requests:?}"
    );
}
