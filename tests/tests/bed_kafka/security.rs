//! The listeners and their security: records both ways over PLAINTEXT and SASL_SSL, a wrong
//! password or an unknown CA refused, and the reader's ACLs (every group but the restricted one).

use super::*;

#[test]
fn plaintext_and_sasl_ssl_carry_records_both_ways() {
    let _g = whole_cluster();
    let k = kafka();
    k.create_topic("bed-listeners", 3, 3);
    let (admin, password) = k.admin_user();
    let sasl = k.sasl_ssl_config(admin, password);
    let plain = k.plaintext_config();

    produce(&producer(&plain), "bed-listeners", 0, 5, "plain");
    let got = consume(&sasl, "bed-listeners", 0, 5);
    assert_eq!(
        got,
        (0..5).map(|i| format!("plain-0-{i}")).collect::<Vec<_>>()
    );

    produce(&producer(&sasl), "bed-listeners", 1, 5, "sasl");
    let got = consume(&plain, "bed-listeners", 1, 5);
    assert_eq!(
        got,
        (0..5).map(|i| format!("sasl-1-{i}")).collect::<Vec<_>>()
    );
}

#[test]
fn a_wrong_password_or_an_unknown_ca_is_refused() {
    let _g = whole_cluster();
    let k = kafka();
    let (admin, password) = k.admin_user();
    let connect = |config: ClientConfig| {
        let errors = Errors::default();
        let c: BaseConsumer<Errors> = config.create_with_context(errors.clone()).unwrap();
        let answer = c.fetch_metadata(None, Duration::from_secs(5)).map(|_| ());
        // Error events arrive through the consumer's queue.
        for _ in 0..5 {
            c.poll(Duration::from_millis(100));
        }
        (answer, errors.seen())
    };

    // Control: the same client with the right password is let in.
    let (answer, _) = connect(k.sasl_ssl_config(admin, password));
    answer.expect("admin with its password gets metadata");

    let (answer, seen) = connect(k.sasl_ssl_config(admin, "not-the-password"));
    assert!(answer.is_err(), "a wrong password got metadata");
    assert!(
        seen.iter()
            .any(|(code, _)| *code == Some(RDKafkaErrorCode::Authentication)),
        "no authentication error among {seen:?}"
    );

    let other = Tls::create(&bed::run_dir("bed_kafka_other_ca"));
    let mut config = k.sasl_ssl_config(admin, password);
    config.set("ssl.ca.pem", other.ca_pem());
    let (answer, seen) = connect(config);
    assert!(
        answer.is_err(),
        "a CA that did not sign the brokers was accepted"
    );
    assert!(
        seen.iter()
            .any(|(code, text)| *code == Some(RDKafkaErrorCode::SSL)
                && text.contains("certificate verify failed")),
        "no certificate verification error among {seen:?}"
    );
}

#[test]
fn the_reader_reads_every_group_but_the_restricted_one() {
    let _g = whole_cluster();
    let k = kafka();
    k.create_topic("bed-acl", 1, 3);
    produce(&producer(&k.plaintext_config()), "bed-acl", 0, 10, "acl");
    commit("bed-acl-open", "bed-acl", &[(0, 4)]);
    commit(RESTRICTED_GROUP, "bed-acl", &[(0, 6)]);

    let (reader, password) = k.reader_user();
    // The backend's path: OffsetFetch from a client whose group.id is the group.
    let committed = |group: &str| {
        let errors = Errors::default();
        let c: BaseConsumer<Errors> = k
            .sasl_ssl_config(reader, password)
            .set("group.id", group)
            .create_with_context(errors.clone())
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition("bed-acl", 0);
        let answer = c
            .committed_offsets(tpl, Duration::from_secs(5))
            .map(|tpl| tpl.find_partition("bed-acl", 0).unwrap().offset());
        for _ in 0..5 {
            c.poll(Duration::from_millis(100));
        }
        (answer, errors.seen())
    };
    let (open, _) = committed("bed-acl-open");
    assert_eq!(open.unwrap(), Offset::Offset(4));
    // librdkafka keeps asking for the coordinator until the call times out; the cause
    // (FindCoordinator refused) comes as an error event.
    let (denied, seen) = committed(RESTRICTED_GROUP);
    assert!(
        denied.is_err(),
        "the reader read the restricted group: {denied:?}"
    );
    assert!(
        seen.iter()
            .any(|(code, _)| *code == Some(RDKafkaErrorCode::GroupAuthorizationFailed)),
        "no group authorization error among {seen:?}"
    );

    // Describe on the cluster lets ListGroups name every group, but DescribeGroups of the
    // restricted one is refused: librdkafka leaves its state empty. Admin sees both.
    let groups_as = |config: ClientConfig| -> HashMap<String, String> {
        let c: BaseConsumer = config.create().unwrap();
        let list = c.fetch_group_list(None, Duration::from_secs(10)).unwrap();
        list.groups()
            .iter()
            .map(|g| (g.name().to_string(), g.state().to_string()))
            .collect()
    };
    let as_reader = groups_as(k.sasl_ssl_config(reader, password));
    assert_eq!(
        as_reader.get("bed-acl-open").map(String::as_str),
        Some("Empty")
    );
    assert_eq!(
        as_reader.get(RESTRICTED_GROUP).map(String::as_str),
        Some("")
    );
    let (admin, admin_password) = k.admin_user();
    let as_admin = groups_as(k.sasl_ssl_config(admin, admin_password));
    assert_eq!(
        as_admin.get(RESTRICTED_GROUP).map(String::as_str),
        Some("Empty")
    );

    // Kafka's own tool as the reader agrees.
    let rows = k
        .describe_group_offsets_as(reader, password, "bed-acl-open")
        .expect("the reader describes an open group");
    assert_eq!(
        rows.iter()
            .map(|r| (r.partition, r.committed, r.log_end))
            .collect::<Vec<_>>(),
        vec![(0, Some(4), 10)]
    );
    let err = k
        .describe_group_offsets_as(reader, password, RESTRICTED_GROUP)
        .expect_err("the reader described the restricted group");
    assert!(err.contains("GroupAuthorizationException"), "{err}");
}
