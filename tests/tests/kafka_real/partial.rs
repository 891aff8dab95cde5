//! Partial answers on the real cluster: one group the user may not read, one partition without
//! a leader, one topic deleted while queries run. Each is its own row with its reason; every
//! other row is complete and equal to what was written; the query never fails as a whole.

use super::*;
use pipeline_tests::bed::kafka::RESTRICTED_GROUP;

/// SASL_SSL as `reader`, whom the bed's ACLs deny Describe on [`RESTRICTED_GROUP`].
fn reader_datasource() -> DatasourceConfig {
    let (user, password) = kafka_bed().kafka.reader_user();
    sasl_datasource_as(user, password)
}

/// (partition, log end, lag, problem) of one `partitions` row.
type PartRow = (i64, Option<i64>, Option<i64>, Option<String>);

/// The `partitions` rows of `group` on `topic`, by partition.
fn rows_of(answer: &pipeline_tests::Answer, group: &str, topic: &str) -> Vec<PartRow> {
    partition_rows(
        answer,
        |r| r["group"] == group && r["topic"] == topic,
        |r| {
            (
                r["partition"].as_i64().unwrap(),
                int(&r["logEndOffset"]),
                int(&r["lag"]),
                r["problem"].as_str().map(str::to_string),
            )
        },
    )
}

#[tokio::test]
async fn a_group_the_user_may_not_read_is_its_own_row_and_the_other_groups_are_complete() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("acl-orders", 3, 3);
    produce("acl-orders", 0, 7);
    commit(RESTRICTED_GROUP, &[("acl-orders", 0, 2)]);
    commit("acl-open", &[("acl-orders", 0, 3)]);
    let host = PluginHost::start().await;
    let answer = host
        .query_one(
            &reader_datasource(),
            "consumerLag",
            json!({"groups": [RESTRICTED_GROUP, "acl-open"], "topic": "acl-orders"}),
        )
        .await;
    assert!(
        answer.error.is_empty(),
        "a partial failure is a partial answer: {answer:#?}"
    );
    let groups = answer.frame("groups");
    let open = groups
        .find_row("group", "acl-open")
        .expect("the readable group");
    assert_eq!(int(&open["lag"]), Some(4), "{open:?}");
    assert_eq!(
        rows_of(&answer, "acl-open", "acl-orders").len(),
        3,
        "every partition of its topic"
    );
    let denied = groups
        .find_row("group", RESTRICTED_GROUP)
        .expect("the denied group keeps its row");
    assert_eq!(denied["status"], "unknown", "{denied:?}");
    assert!(denied["lag"].is_null(), "no lag is made up: {denied:?}");
    let reason = denied["reason"].as_str().unwrap();
    assert!(
        reason.contains("not allowed") && reason.contains("Describe on the group"),
        "the reason says what to grant: {reason}"
    );
    assert!(rows_of(&answer, RESTRICTED_GROUP, "acl-orders").is_empty());
}

#[tokio::test]
async fn a_partition_without_a_leader_is_its_own_row_and_the_rest_are_complete() {
    let _exclusive = FAULTS.write().await;
    let _restore = RestoreCluster;
    let bed = kafka_bed();
    // One replica per partition: stopping its broker leaves the partition without a leader.
    bed.kafka.create_topic("solo", 3, 1);
    for p in 0..3 {
        produce("solo", p, 5 + p as usize);
    }
    commit(
        "solo-reader",
        &[("solo", 0, 1), ("solo", 1, 1), ("solo", 2, 1)],
    );
    let leader_of = |p: i64| -> i32 {
        let md = bed.kafka.metadata().expect("metadata");
        let t = md
            .topics()
            .iter()
            .find(|t| t.name() == "solo")
            .expect("solo");
        t.partitions()[p as usize].leader()
    };
    let victim = leader_of(0);
    let offline: Vec<i64> = (0..3).filter(|&p| leader_of(p) == victim).collect();
    bed.kafka.stop_broker(victim);

    let host = PluginHost::start().await;
    let ds = plaintext_datasource();
    let deadline = Instant::now() + Duration::from_secs(90);
    let (answer, took) = loop {
        let started = Instant::now();
        let answer = host
            .query_one(
                &ds,
                "consumerLag",
                json!({"groups": ["solo-reader"], "topic": "solo"}),
            )
            .await;
        let took = started.elapsed();
        let rows = rows_of(&answer, "solo-reader", "solo");
        let leaderless_seen = rows.iter().any(|r| r.3.is_some());
        if answer.error.is_empty() && rows.len() == 3 && leaderless_seen {
            break (answer, took);
        }
        assert!(
            Instant::now() < deadline,
            "broker {victim} stopped: no answer with the offline partition's row; last: {answer:#?}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    assert!(
        took < Duration::from_secs(20),
        "answered within its timeout: {took:?}"
    );
    for (p, log_end, lag, problem) in rows_of(&answer, "solo-reader", "solo") {
        if offline.contains(&p) {
            let problem = problem.unwrap_or_default();
            assert!(problem.contains("no leader"), "solo[{p}]: {problem}");
            assert_eq!((log_end, lag), (None, None), "solo[{p}]: unknown, not zero");
        } else {
            assert_eq!(problem, None, "solo[{p}] has a leader");
            assert_eq!((log_end, lag), (Some(5 + p), Some(4 + p)), "solo[{p}]");
        }
    }
    let group = answer
        .frame("groups")
        .find_row("group", "solo-reader")
        .unwrap();
    let expected: i64 = (0..3).filter(|p| !offline.contains(p)).map(|p| 4 + p).sum();
    assert_eq!(
        int(&group["lag"]),
        Some(expected),
        "the group sums what is known: {group:?}"
    );

    // Leave the cluster as it was: a one-replica topic would make a later test's stopped broker
    // an offline partition instead of under-replicated ones (its verdict would differ).
    drop(_restore);
    bed.kafka.delete_topic("solo");
}

#[tokio::test]
async fn a_topic_deleted_while_queries_run_never_fails_them() {
    let _exclusive = FAULTS.write().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("doomed", 6, 3);
    bed.kafka.create_topic("kept", 3, 3);
    for p in 0..3 {
        produce("kept", p, 10);
    }
    let mut offsets: Vec<(&str, i32, i64)> = (0..6).map(|p| ("doomed", p, 0)).collect();
    offsets.extend((0..3).map(|p| ("kept", p, 4)));
    commit("doomed-reader", &offsets);
    let host = std::sync::Arc::new(PluginHost::start().await);
    let ds = plaintext_datasource();
    let q = json!({"groups": ["doomed-reader"], "topic": "doomed|kept"});

    // Queries back to back while the topic goes away.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = {
        let (host, ds, q, stop) = (host.clone(), ds.clone(), q.clone(), stop.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || answers.is_empty() {
                answers.push(host.query_one(&ds, "consumerLag", q.clone()).await);
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::spawn_blocking(|| kafka_bed().kafka.delete_topic("doomed"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = runner.await.unwrap();
    let last = host.query_one(&ds, "consumerLag", q).await;

    let saw_doomed = |a: &pipeline_tests::Answer| !rows_of(a, "doomed-reader", "doomed").is_empty();
    assert!(
        saw_doomed(&answers[0]),
        "the first query saw the topic: {:#?}",
        answers[0]
    );
    for (i, a) in answers.iter().chain([&last]).enumerate() {
        assert!(a.error.is_empty(), "query {i} failed as a whole: {a:#?}");
        let kept = rows_of(a, "doomed-reader", "kept");
        let expected: Vec<_> = (0..3).map(|p| (p, Some(10), Some(6), None)).collect();
        assert_eq!(kept, expected, "query {i}: the other topic is complete");
        for (p, log_end, _, problem) in rows_of(a, "doomed-reader", "doomed") {
            assert!(
                log_end.is_some()
                    || problem
                        .as_deref()
                        .is_some_and(|t| t.contains("no longer exists")),
                "query {i}: doomed[{p}] has its end offset or says why not: {problem:?}"
            );
        }
    }
    assert!(
        !saw_doomed(&last),
        "after the deletion the topic is gone: {last:#?}"
    );
    eprintln!("{} queries ran through the deletion", answers.len());
}

/// The coordinator of a group stopped (a clean shutdown: Kafka moves the group's
/// `__consumer_offsets` partition to another broker, which loads it): every answer meanwhile is
/// a partial one, the moved group whole with its real lag or its own row saying why not, the
/// group on another coordinator always whole; and the moved group is whole again on its new
/// coordinator within the bound.
#[tokio::test]
async fn a_moved_coordinator_leaves_the_group_its_own_row_until_it_is_whole_again() {
    let _exclusive = FAULTS.write().await;
    let _restore = RestoreCluster;
    let kafka = &kafka_bed().kafka;
    kafka.create_topic("moved-orders", 3, 3);
    produce("moved-orders", 0, 9);
    let coordinator = |g: &str| kafka.describe_group_state(g).coordinator;
    commit("moved-reader", &[("moved-orders", 0, 4)]);
    let moved_from = coordinator("moved-reader").expect("the group's coordinator");
    // A second group on another coordinator, to see that it is unaffected.
    let steady = (0..20)
        .map(|i| format!("steady-reader-{i}"))
        .find(|g| {
            commit(g, &[("moved-orders", 0, 6)]);
            coordinator(g).is_some_and(|c| c != moved_from)
        })
        .expect("a group on another coordinator");
    let ds = plaintext_datasource();
    let host = PluginHost::start().await;
    let query = json!({"groups": ["moved-reader", steady], "topic": "moved-orders"});
    kafka.stop_broker(moved_from);
    let started = Instant::now();
    let mut said_why = Vec::new();
    loop {
        let answer = host.query_one(&ds, "consumerLag", query.clone()).await;
        assert!(
            answer.error.is_empty(),
            "a partial answer, not a failed query: {answer:#?}"
        );
        let groups = answer.frame("groups");
        let other = groups.find_row("group", &steady).expect("the steady group");
        assert_eq!(int(&other["lag"]), Some(3), "unaffected: {other:?}");
        let moved = groups
            .find_row("group", "moved-reader")
            .expect("the moved group's row");
        if int(&moved["lag"]) == Some(5) {
            break;
        }
        // Not whole: no lag made up, and the reason says it is the coordinator or the time.
        assert!(
            moved["lag"].is_null(),
            "a wrong lag while moving: {moved:?}"
        );
        let reason = moved["reason"].as_str().unwrap_or_default().to_string();
        assert!(
            reason.contains("coordinator") || reason.contains("in time"),
            "{reason}"
        );
        said_why.push(reason);
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still not whole after 60 s: {said_why:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = started.elapsed();
    let moved_to = coordinator("moved-reader");
    assert!(
        moved_to.is_some_and(|c| c != moved_from),
        "moved to {moved_to:?}"
    );
    eprintln!(
        "coordinator {moved_from} stopped: the group whole again on {moved_to:?} after {:.1} s; \
         meanwhile {} answers said why not: {:?}",
        took.as_secs_f64(),
        said_why.len(),
        said_why.first()
    );
}
