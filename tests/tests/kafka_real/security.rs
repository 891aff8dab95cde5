//! SASL_SSL with SCRAM-SHA-512, and errors that name what to fix: a failed health check (TCP,
//! DNS, TLS, the security protocol) and a bad lag query (the field).

use super::*;

#[tokio::test]
async fn sasl_ssl_with_scram_works_with_the_right_secret_and_names_the_setting_without_the_secret()
{
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    bed.kafka.create_topic("secure-orders", 3, 3);
    produce("secure-orders", 1, 9);
    commit("secure-reader", &[("secure-orders", 1, 4)]);
    let mut host = PluginHost::start().await;

    let good = sasl_datasource(bed.kafka.admin_user().1);
    let (status, message, _) = host.check_health(&good).await;
    assert_eq!(status, 1, "CheckHealth OK over SASL_SSL: {message}");
    let answer = host
        .query_one(
            &good,
            "consumerLag",
            json!({"groups": ["secure-reader"], "topic": "secure-orders"}),
        )
        .await;
    let row = answer
        .frame("groups")
        .find_row("group", "secure-reader")
        .unwrap();
    assert_eq!(int(&row["lag"]), Some(5), "{row:?}");

    let wrong = "not-the-password-7f3a";
    let bad = sasl_datasource(wrong);
    let (status, message, details) = host.check_health(&bad).await;
    assert_ne!(status, 1, "a wrong password must not pass: {message}");
    assert!(
        message.contains("kafkaPassword") || message.contains("kafkaUsername"),
        "the message names the setting to fix: {message}"
    );
    let answer = host
        .query_one(&bad, "consumerLag", json!({"groups": ["secure-reader"]}))
        .await;
    assert!(
        !answer.error.is_empty(),
        "a query with a wrong password fails"
    );
    for text in [
        message.as_str(),
        &details.to_string(),
        &answer.error,
        &host.log(),
    ] {
        assert!(!text.contains(wrong), "the secret leaked: {text}");
        assert!(
            !text.contains(bed.kafka.admin_user().1),
            "the right secret leaked: {text}"
        );
    }
    assert!(host.is_running(), "the plugin survives a failed login");
}

#[tokio::test]
async fn check_health_names_what_failed() {
    let _shared = FAULTS.read().await;
    let bed = kafka_bed();
    let host = PluginHost::start().await;
    let (status, message, _) = host.check_health(&plaintext_datasource()).await;
    assert_eq!(status, 1, "{message}");

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let refused = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": format!("127.0.0.1:{port}"), "queryTimeoutSeconds": 3}));
    let (status, message, _) = host.check_health(&refused).await;
    eprintln!("refused: {message}");
    assert_eq!(status, 2);
    assert!(
        message.contains("TCP") && message.contains("kafkaBootstrapServers"),
        "{message}"
    );

    let dns = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": "no-such-host.invalid:9092", "queryTimeoutSeconds": 3}));
    let (status, message, _) = host.check_health(&dns).await;
    eprintln!("unresolvable: {message}");
    assert_eq!(status, 2);
    assert!(message.contains("DNS"), "{message}");

    // The brokers' real SASL_SSL listener, the right password, but a CA that did not sign them.
    let other = Tls::create(&pipeline_tests::bed::run_dir("kafka_real_other_ca"));
    let mut wrong_ca = sasl_datasource(bed.kafka.admin_user().1);
    wrong_ca.json_data["queryTimeoutSeconds"] = json!(5);
    wrong_ca = wrong_ca.with_secure("kafkaTlsCaCert", other.ca_pem());
    let (status, message, _) = host.check_health(&wrong_ca).await;
    eprintln!("unknown CA: {message}");
    assert_eq!(status, 2, "{message}");
    assert!(
        message.contains("TLS") && message.contains("kafkaTlsCaCert"),
        "the message names the setting to fix: {message}"
    );
    // SASL_SSL settings against the PLAINTEXT port: no TLS handshake is possible.
    let mut plaintext_port = sasl_datasource(bed.kafka.admin_user().1);
    plaintext_port.json_data["kafkaBootstrapServers"] = json!(bed.kafka.broker_bootstrap(1));
    plaintext_port.json_data["queryTimeoutSeconds"] = json!(5);
    let (status, message, _) = host.check_health(&plaintext_port).await;
    eprintln!("SASL_SSL on the PLAINTEXT port: {message}");
    assert_eq!(status, 2, "{message}");
    assert!(
        message.contains("kafkaSecurityProtocol"),
        "the message names the setting to fix: {message}"
    );
}

#[tokio::test]
async fn bad_lag_queries_name_the_field() {
    // No broker is asked: the query is refused before any request.
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
