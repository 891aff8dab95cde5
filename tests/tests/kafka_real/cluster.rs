//! The cluster as a whole: health and the editor's resources (topics, groups, brokers, the
//! controller) against Kafka's tools and ZooKeeper, and a stopped broker's under-replicated
//! partitions.

use super::*;

async fn cluster_row(host: &PluginHost) -> std::collections::HashMap<String, Value> {
    host.query_one(&plaintext_datasource(), "clusterHealth", json!({}))
        .await
        .frame("cluster")
        .row(0)
}

#[tokio::test]
async fn a_stopped_broker_shows_under_replicated_partitions_and_its_return_clears_them() {
    let _exclusive = FAULTS.write().await;
    let bed = kafka_bed();
    let _restore = RestoreCluster;
    bed.kafka.create_topic("ledger", 6, 3);
    let host = PluginHost::start().await;
    let healthy = cluster_row(&host).await;
    assert_eq!(healthy["brokers"], 3, "{healthy:?}");
    assert_eq!(healthy["underReplicatedPartitions"], 0, "{healthy:?}");
    assert_eq!(healthy["status"], "ok", "{healthy:?}");

    bed.kafka.stop_broker(3);
    let deadline = Instant::now() + Duration::from_secs(60);
    let row = loop {
        let row = cluster_row(&host).await;
        if int(&row["underReplicatedPartitions"]).unwrap_or(0) > 0 {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "no under-replicated partition seen: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let tool = bed.kafka.under_replicated_partitions();
    // The backend and Kafka's TopicCommand count the same partitions (internal topics too).
    assert_eq!(
        int(&row["underReplicatedPartitions"]),
        Some(tool.len() as i64),
        "backend {row:?} vs kafka-topics --under-replicated-partitions {tool:?}"
    );
    assert_ne!(row["status"], "ok", "{row:?}");
    assert!(
        row["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("under-replicated"),
        "the verdict says why: {row:?}"
    );
    assert_eq!(row["brokers"], 2, "{row:?}");
    let answer = host
        .query_one(&plaintext_datasource(), "clusterHealth", json!({}))
        .await;
    let ledger = answer
        .frame("topics")
        .find_row("topic", "ledger")
        .expect("ledger row");
    assert!(int(&ledger["underReplicated"]).unwrap() > 0, "{ledger:?}");
    assert_ne!(ledger["status"], "ok", "{ledger:?}");

    bed.kafka.start_broker(3);
    bed.kafka.wait_fully_replicated(Duration::from_secs(120));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = cluster_row(&host).await;
        if row["underReplicatedPartitions"] == 0 && row["status"] == "ok" && row["brokers"] == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the broker's return did not clear: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// (topic -> (partitions, replication factor)) from TopicCommand `--describe`: partitions from
/// its partition lines, the replication factor from each topic's summary line.
fn topics_per_tool() -> BTreeMap<String, (u64, u64)> {
    let text = kafka_tool_ok(
        TOPIC_COMMAND,
        &[
            "--bootstrap-server",
            &kafka_bed().kafka.bootstrap(),
            "--describe",
        ],
    );
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (topic, _) in parse_topic_partitions(&text).expect("TopicCommand output") {
        out.entry(topic).or_default().0 += 1;
    }
    for line in text.lines().filter(|l| l.contains("PartitionCount:")) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let after = |key: &str| {
            let i = cells.iter().position(|c| *c == key).expect(key);
            cells[i + 1]
        };
        let rf = after("ReplicationFactor:")
            .parse()
            .expect("a replication factor");
        out.get_mut(after("Topic:"))
            .unwrap_or_else(|| panic!("a topic without partition lines: {line}"))
            .1 = rf;
    }
    out
}

/// `ConsumerGroupCommand --list`: every group Kafka knows.
fn groups_per_tool() -> BTreeSet<String> {
    kafka_tool_ok(
        CONSUMER_GROUP_COMMAND,
        &[
            "--bootstrap-server",
            &kafka_bed().kafka.bootstrap(),
            "--list",
        ],
    )
    .lines()
    .map(str::trim)
    .filter(|l| !l.is_empty())
    .map(str::to_string)
    .collect()
}

/// The registered brokers and the active controller, as ZooKeeper holds them: `dump` lists each
/// session's ephemeral znodes, and the controller's session owns `/controller` and its own
/// `/brokers/ids/N`.
fn brokers_and_controller_per_zookeeper() -> (BTreeSet<i64>, Option<i64>) {
    let dump = kafka_bed().zookeeper.four_letter("dump").expect("dump");
    let (_, sessions) = dump
        .split_once("Sessions with Ephemerals")
        .unwrap_or_else(|| panic!("no ephemerals in dump:\n{dump}"));
    let mut brokers = BTreeSet::new();
    let mut controller = None;
    // A session line (0x...) starts a block of its paths.
    let mut block: Vec<String> = Vec::new();
    let mut flush = |block: &mut Vec<String>| {
        let ids: Vec<i64> = block
            .iter()
            .filter_map(|p| p.strip_prefix("/brokers/ids/")?.parse().ok())
            .collect();
        brokers.extend(&ids);
        if block.iter().any(|p| p == "/controller") {
            controller = ids.first().copied();
        }
        block.clear();
    };
    for line in sessions.lines().map(str::trim) {
        if line.starts_with('/') {
            block.push(line.to_string());
        } else {
            flush(&mut block);
        }
    }
    flush(&mut block);
    (brokers, controller)
}

#[tokio::test]
async fn cluster_health_and_resources_describe_the_real_cluster() {
    // Exclusive: the whole cluster is compared with Kafka's tools, so no topic may appear.
    let _exclusive = FAULTS.write().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("inventory", 6, 3);
    bed.kafka.create_topic("inventory-audit", 2, 1);
    produce("inventory", 0, 10);
    commit("inventory-writer", &[("inventory", 0, 4)]);
    let app = Subscriber::start("inventory-app", "inventory");
    let deadline = Instant::now() + Duration::from_secs(60);
    while bed.kafka.describe_group_state("inventory-app").state != "Stable" {
        assert!(
            Instant::now() < deadline,
            "inventory-app never became Stable"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let host = PluginHost::start().await;
    let ds = plaintext_datasource();

    let answer = host.query_one(&ds, "clusterHealth", json!({})).await;
    let tool_topics = topics_per_tool();
    let (zk_brokers, zk_controller) = brokers_and_controller_per_zookeeper();
    let cluster = answer.frame("cluster").row(0);
    assert_eq!(
        int(&cluster["brokers"]),
        Some(zk_brokers.len() as i64),
        "{cluster:?}"
    );
    assert_eq!(
        int(&cluster["controller"]),
        zk_controller,
        "the controller ZooKeeper names: {cluster:?}"
    );
    let brokers = answer.frame("brokers");
    let ids: BTreeSet<i64> = (0..brokers.len())
        .map(|i| brokers.row(i)["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, zk_brokers, "the brokers registered in ZooKeeper");
    let flagged: Vec<i64> = (0..brokers.len())
        .map(|i| brokers.row(i))
        .filter(|r| r["controller"] == true)
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(flagged, zk_controller.into_iter().collect::<Vec<_>>());
    let partitions: u64 = tool_topics.values().map(|t| t.0).sum();
    assert_eq!(
        int(&cluster["partitions"]),
        Some(partitions as i64),
        "{cluster:?}"
    );
    assert_eq!(
        int(&cluster["topics"]),
        Some(tool_topics.len() as i64),
        "{cluster:?}"
    );
    // A healthy cluster per Kafka's tool: nothing under-replicated, nothing without a leader.
    let urp = bed.kafka.under_replicated_partitions();
    let unavailable = parse_topic_partitions(&kafka_tool_ok(
        TOPIC_COMMAND,
        &[
            "--bootstrap-server",
            &bed.kafka.bootstrap(),
            "--describe",
            "--unavailable-partitions",
        ],
    ))
    .unwrap();
    assert_eq!(
        int(&cluster["underReplicatedPartitions"]),
        Some(urp.len() as i64)
    );
    assert_eq!(
        int(&cluster["offlinePartitions"]),
        Some(unavailable.len() as i64)
    );
    assert!(
        urp.is_empty() && unavailable.is_empty(),
        "{urp:?} {unavailable:?}"
    );
    assert_eq!(cluster["status"], "ok", "{cluster:?}");
    let topics = answer.frame("topics");
    let got: BTreeMap<String, (u64, u64)> = (0..topics.len())
        .map(|i| topics.row(i))
        .map(|r| {
            (
                r["topic"].as_str().unwrap().to_string(),
                (
                    r["partitions"].as_u64().unwrap(),
                    r["replicationFactor"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(
        got, tool_topics,
        "(partitions, replication factor) per topic vs kafka-topics"
    );
    assert_eq!(got["inventory-audit"], (2, 1));

    let (status, body) = host.resource(&ds, "/kafka/topics").await;
    assert_eq!(status, 200, "{body}");
    let listed: BTreeMap<String, u64> = body["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["partitions"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<String, u64> = tool_topics
        .iter()
        .map(|(t, (p, _))| (t.clone(), *p))
        .collect();
    assert_eq!(listed, expected, "/kafka/topics vs kafka-topics");

    // The editor's group list: every group Kafka knows, with its state and members.
    let (status, body) = host.resource(&ds, "/kafka/groups").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "listGroups+describeGroups", "{body}");
    let listed: HashMap<String, &Value> = body["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|g| (g["name"].as_str().unwrap().to_string(), g))
        .collect();
    let names: BTreeSet<String> = listed.keys().cloned().collect();
    assert_eq!(
        names,
        groups_per_tool(),
        "/kafka/groups vs kafka-consumer-groups --list"
    );
    for group in ["inventory-app", "inventory-writer"] {
        let state = bed.kafka.describe_group_state(group);
        let g = listed[group];
        assert_eq!(
            g["state"],
            state.state.as_str(),
            "{group}: {g} vs {state:?}"
        );
        assert_eq!(
            g["members"].as_u64(),
            Some(state.members as u64),
            "{group}: {g}"
        );
    }
    assert_eq!(listed["inventory-app"]["state"], "Stable");
    app.close();
    // Leave no one-replica topic behind: a later broker stop in this binary would make its
    // partition offline, and that test's verdict is about under-replicated ones.
    bed.kafka.delete_topic("inventory-audit");
}
