//! The background sampler on the real cluster: after one query, the datasource keeps taking
//! snapshots of what was asked, so the time-lag window fills while nobody queries.

use super::*;

#[tokio::test]
async fn the_datasource_keeps_sampling_between_queries() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("sampled", 2, 3);
    produce("sampled", 0, 30);
    commit("sampled-reader", &[("sampled", 0, 10), ("sampled", 1, 0)]);
    let host = PluginHost::start().await;
    // A 20 s window: a background snapshot every 20 / 7 s.
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bed.kafka.bootstrap(),
        "queryTimeoutSeconds": 20,
        "kafkaStatusWindowSeconds": 20,
    }));
    let q = json!({"group": "sampled-reader", "topic": "sampled"});
    let first = host.query_one(&ds, "timeLag", q.clone()).await;
    assert_eq!(first.frame("timeLag").row(0)["samples"], 1);
    tokio::time::sleep(Duration::from_secs(15)).await;
    let second = host.query_one(&ds, "timeLag", q).await;
    let row = second.frame("timeLag").row(0);
    let samples = row["samples"].as_i64().unwrap();
    // The two queries and, in 15 s at one snapshot per 2.9 s, about 5 more; the 2-core bed
    // may delay one or two.
    assert!(
        samples >= 4,
        "the sampler added snapshots while nobody asked: {row:?}"
    );
    assert_eq!(int(&row["lag"]), Some(20), "{row:?}");
}
