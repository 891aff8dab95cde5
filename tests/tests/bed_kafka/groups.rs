//! Ground truth about groups: Kafka's own tools read the offsets and state that were produced
//! and committed.

use super::*;

#[test]
fn group_offsets_and_state_match_what_was_produced_and_committed() {
    let _g = whole_cluster();
    let k = kafka();
    let (topic, group) = ("bed-lag", "bed-lag-group");
    k.create_topic(topic, 3, 3);
    let p = producer(&k.plaintext_config());
    for (partition, n) in [(0, 10), (1, 20), (2, 30)] {
        produce(&p, topic, partition, n, "lag");
    }

    let member: BaseConsumer = k
        .plaintext_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "10000")
        .create()
        .unwrap();
    member.subscribe(&[topic]).unwrap();
    poll_until(Duration::from_secs(30), "all 3 partitions assigned", || {
        member.poll(Duration::from_millis(200));
        let n = member.assignment().map(|a| a.count()).unwrap_or(0);
        if n == 3 {
            Ok(())
        } else {
            Err(format!("{n} assigned"))
        }
    });
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(3))
        .unwrap();
    tpl.add_partition_offset(topic, 1, Offset::Offset(15))
        .unwrap();
    member.commit(&tpl, CommitMode::Sync).unwrap();

    let rows = k.describe_group_offsets(group);
    let member_id = rows[0].consumer_id.clone().expect("an active member");
    let row = |partition, committed, log_end, lag| GroupOffsetRow {
        topic: topic.into(),
        partition,
        committed,
        log_end,
        lag,
        consumer_id: Some(member_id.clone()),
    };
    assert_eq!(
        rows,
        vec![
            row(0, Some(3), 10, Some(7)),
            row(1, Some(15), 20, Some(5)),
            row(2, None, 30, None),
        ]
    );
    let state = k.describe_group_state(group);
    assert_eq!((state.state.as_str(), state.members), ("Stable", 1));
    assert!(k.broker_ids().contains(&state.coordinator.unwrap()));

    drop(member);
    let state = poll_until(Duration::from_secs(30), "the group empties", || {
        let s = k.describe_group_state(group);
        if s.state == "Empty" {
            Ok(s)
        } else {
            Err(format!("{s:?}"))
        }
    });
    assert_eq!(state.members, 0);
    // Without members only committed partitions are listed, and none is assigned.
    let rows = k.describe_group_offsets(group);
    let lags: HashMap<i32, (Option<i64>, Option<String>)> = rows
        .into_iter()
        .map(|r| (r.partition, (r.lag, r.consumer_id)))
        .collect();
    assert_eq!(
        lags,
        HashMap::from([(0, (Some(7), None)), (1, (Some(5), None))])
    );

    let missing = k.describe_group_state("bed-no-such-group");
    assert_eq!((missing.state.as_str(), missing.members), ("Dead", 0));
}
