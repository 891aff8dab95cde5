//! A running consumer application's group: Stable with its members while it runs, Empty after
//! it stops, as Kafka's own `kafka-consumer-groups` describes it.

use super::*;

async fn group_row(
    host: &PluginHost,
    pattern: &str,
    group: &str,
) -> Option<std::collections::HashMap<String, Value>> {
    let answer = host
        .query(
            &plaintext_datasource(),
            &[pipeline_tests::Query::new(
                "A",
                "consumerLag",
                json!({"group": pattern, "granularity": "group"}),
            )],
        )
        .await;
    let a = answer.get("A")?;
    if !a.error.is_empty() {
        return None;
    }
    a.frames
        .iter()
        .find(|f| f.name == "groups")?
        .find_row("group", group)
}

/// Polls the backend until `check` holds for the group's row; panics with the last row.
async fn wait_group(
    host: &PluginHost,
    pattern: &str,
    group: &str,
    what: &str,
    check: impl Fn(&std::collections::HashMap<String, Value>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    while Instant::now() < deadline {
        last = group_row(host, pattern, group).await;
        if last.as_ref().is_some_and(&check) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("group {group}: {what} not seen within 60 s; last row {last:?}");
}

#[tokio::test]
async fn a_running_consumer_application_is_stable_with_its_members_and_empty_after_it_stops() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("audit-events", 4, 3);
    produce("audit-events", 0, 50);
    let host = PluginHost::start().await;
    let app = Subscriber::start("audit-app", "audit-events");
    // Kafka's own view first, so the backend is checked against a settled group.
    let deadline = Instant::now() + Duration::from_secs(60);
    while bed.kafka.describe_group_state("audit-app").state != "Stable" {
        assert!(
            Instant::now() < deadline,
            "audit-app never became Stable per kafka-consumer-groups"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_group(
        &host,
        "audit-.*",
        "audit-app",
        "Stable with 1 member",
        |r| r["state"] == "Stable" && int(&r["members"]) == Some(1),
    )
    .await;
    let second = Subscriber::start("audit-app", "audit-events");
    wait_group(
        &host,
        "audit-.*",
        "audit-app",
        "Stable with 2 members",
        |r| r["state"] == "Stable" && int(&r["members"]) == Some(2),
    )
    .await;
    assert_eq!(bed.kafka.describe_group_state("audit-app").members, 2);
    app.close();
    second.close();
    wait_group(
        &host,
        "audit-.*",
        "audit-app",
        "Empty with no members",
        |r| r["state"] == "Empty" && int(&r["members"]) == Some(0),
    )
    .await;
    assert_eq!(bed.kafka.describe_group_state("audit-app").state, "Empty");
}
