//! A failed side beside the other: Flink unreachable is one unknown node and the Kafka side still
//! renders; Kafka unreachable (issue 13) is one unknown node feeding the jobs' sources, said at
//! once; a Kafka setting that does not parse (a CA, a client
//! certificate or key, the bootstrap servers) fails the Kafka queries only, naming the
//! datasource's setting and never a secret's text, while every Flink query of the same
//! datasource answers.

use super::*;
use pipeline_tests::Query;

/// What the answer may take beyond what the backend itself waited, on 2 loaded cores.
const AT_ONCE: Duration = Duration::from_secs(2);
const JOBS: [&str; 3] = [
    "pipeline-1",
    "pipeline-stalled-watermarks",
    "pipeline-slow-checkpoints",
];

fn edges(answer: &Answer) -> Vec<HashMap<String, Value>> {
    rows(answer.frame("edges"))
}

/// The Flink jobs are running (their sources are drawn); then one more `topology` answer.
async fn settled(host: &PluginHost, ds: &DatasourceConfig) -> Answer {
    let deadline = Instant::now() + SETTLE_BOUND;
    loop {
        let answer = host.query_one(ds, "topology", json!({})).await;
        let nodes = rows(answer.frame("nodes"));
        let sources = JOBS.iter().filter(|job| {
            nodes.iter().any(|n| {
                n["subtitle"] == **job
                    && n["title"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("Source: clicks"))
            })
        });
        if sources.count() == JOBS.len() {
            return answer;
        }
        assert!(Instant::now() < deadline, "the jobs never ran: {nodes:#?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test]
async fn an_unreachable_flink_is_an_unknown_node_and_kafka_still_renders() {
    let host = PluginHost::start().await;
    let mut ds = datasource();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    ds.json_data["flinkUrl"] = json!(format!("http://127.0.0.1:{port}"));
    ds.json_data["pipeline"] = Value::Null;
    let answer = host
        .query_one(&ds, "topology", json!({"groups": ["clicks-enrich"]}))
        .await;
    assert!(answer.error.is_empty(), "partial, not failed: {answer:?}");
    let nodes = rows(answer.frame("nodes"));
    let flink = nodes.iter().find(|n| n["id"] == "flink").unwrap();
    assert_eq!(status(flink), "unknown");
    assert!(
        flink["reason"]
            .as_str()
            .unwrap()
            .contains(&port.to_string()),
        "the reason names what failed: {flink:?}"
    );
    let group = nodes
        .iter()
        .find(|n| n["id"] == "kafka/group/clicks-enrich")
        .unwrap_or_else(|| panic!("the Kafka side still renders: {nodes:#?}"));
    assert_eq!(group["detail__lag"].as_f64(), Some(group_truth().0));
}

#[tokio::test]
async fn an_unreachable_kafka_is_one_unknown_node_feeding_the_sources_said_at_once() {
    // Only Flink: the Kafka side is a port nothing listens on.
    let flink_url = pipeline_cluster().rest_url().to_string();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": closed, "flinkUrl": flink_url, "queryTimeoutSeconds": 10}));
    let host = PluginHost::start().await;
    settled(&host, &ds).await;
    let started = Instant::now();
    let answer = host.query_one(&ds, "topology", json!({})).await;
    let took = started.elapsed();
    eprintln!("topology with Kafka refused answered in {took:?}");
    assert!(took < AT_ONCE, "not the 10 s timeout: {took:?}");
    let nodes = rows(answer.frame("nodes"));
    let kafka = nodes
        .iter()
        .find(|n| n["id"] == "kafka")
        .unwrap_or_else(|| panic!("the Kafka side is drawn, unknown: {nodes:#?}"));
    assert_eq!(status(kafka), "unknown", "{kafka:?}");
    let reason = kafka["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("connection refused at {closed}")),
        "{reason}"
    );
    let edges = edges(&answer);
    let from_kafka: Vec<&str> = edges
        .iter()
        .filter(|e| e["source"] == "kafka")
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    for job in JOBS {
        let source = node(&nodes, job, "Source: clicks");
        assert!(
            from_kafka.contains(&source["id"].as_str().unwrap()),
            "{job}'s source is fed by the unknown Kafka: {from_kafka:?}"
        );
        // Flink's side is whole: the job's other vertices with their own verdicts.
        let slow = node(&nodes, job, "slow-score");
        assert!(
            !slow["reason"].as_str().unwrap().contains("Kafka"),
            "{slow:?}"
        );
    }
    for target in &from_kafka {
        let fed = nodes.iter().find(|n| n["id"] == *target).unwrap();
        let title = fed["title"].as_str().unwrap();
        assert!(
            title.starts_with("Source:"),
            "Kafka feeds sources only: {fed:?}"
        );
    }

    let health = host
        .query_one(&ds, "health", json!({"metric": "status"}))
        .await;
    let series = rows(health.frame("health"));
    let row = series
        .iter()
        .find(|r| r["name"] == "Kafka" && r["job"] == "")
        .unwrap_or_else(|| panic!("the Kafka node's series: {series:#?}"));
    assert_eq!(
        row["status"].as_f64(),
        Some(3.0),
        "unknown, for alert rules: {row:?}"
    );
}

/// The bed's SASL_SSL listener as its admin, with `ca` as the CA, beside the real Flink.
fn tls_datasource(ca: &str) -> DatasourceConfig {
    let flink_url = cluster().rest_url().to_string();
    let bed = &kafka().kafka;
    let (user, password) = bed.admin_user();
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bed.bootstrap_sasl_ssl(),
        "kafkaSecurityProtocol": "SASL_SSL",
        "kafkaSaslMechanism": "SCRAM-SHA-512",
        "kafkaUsername": user,
        "flinkUrl": flink_url,
        "queryTimeoutSeconds": 10,
    }))
    .with_secure("kafkaPassword", password)
    .with_secure("kafkaTlsCaCert", ca)
}

/// `consumerLag`, `jobs` and `topology` in one request.
async fn ask(host: &PluginHost, ds: &DatasourceConfig) -> HashMap<String, Answer> {
    host.query(
        ds,
        &[
            Query::new(
                "L",
                "consumerLag",
                json!({"groups": ["clicks-enrich"], "topic": "clicks"}),
            ),
            Query::new("J", "jobs", json!({})),
            Query::new("T", "topology", json!({})),
        ],
    )
    .await
}

fn assert_flink_answers(answers: &HashMap<String, Answer>) {
    let jobs = answers["J"].frame("jobs");
    assert!(
        JOBS.iter().all(|j| jobs.find_row("name", j).is_some()),
        "every Flink job listed: {:?}",
        answers["J"]
    );
}

#[tokio::test]
async fn a_kafka_setting_that_does_not_parse_fails_the_kafka_side_only_naming_the_setting() {
    let host = PluginHost::start().await;
    let bed = &kafka().kafka;
    // The right CA: Kafka answers, so what changes below is the setting alone.
    let good = tls_datasource(bed.ca_pem());
    settled(&host, &good).await;
    let answers = ask(&host, &good).await;
    let row = answers["L"]
        .frame("groups")
        .find_row("group", "clicks-enrich");
    assert_eq!(row.unwrap()["lag"].as_f64(), Some(group_truth().0));
    assert_flink_answers(&answers);

    let marker = "5ecret-not-a-pem";
    let cases = [
        (
            "kafkaTlsCaCert",
            tls_datasource(&format!("not a pem {marker}")),
        ),
        (
            "kafkaTlsClientCert",
            tls_datasource(bed.ca_pem())
                .with_secure("kafkaTlsClientCert", &format!("not a cert {marker}"))
                .with_secure("kafkaTlsClientKey", &format!("not a key {marker}")),
        ),
        // A real certificate (the CA's own) with a key that is not PEM.
        (
            "kafkaTlsClientKey",
            tls_datasource(bed.ca_pem())
                .with_secure("kafkaTlsClientCert", bed.ca_pem())
                .with_secure("kafkaTlsClientKey", &format!("not a key {marker}")),
        ),
        // Not a secret, and refused by the settings' own parse rather than by librdkafka.
        ("kafkaBootstrapServers", {
            let mut ds = tls_datasource(bed.ca_pem());
            ds.json_data["kafkaBootstrapServers"] = json!("kafka-without-a-port");
            ds
        }),
    ];
    for (setting, ds) in cases {
        let answers = ask(&host, &ds).await;
        let lag = &answers["L"];
        assert!(
            lag.error.contains(setting) && !lag.error.contains(".pem"),
            "{setting}: the datasource's setting, not librdkafka's: {}",
            lag.error
        );
        assert_flink_answers(&answers);
        let topology = &answers["T"];
        let nodes = rows(topology.frame("nodes"));
        let kafka = nodes.iter().find(|n| n["id"] == "kafka").unwrap();
        assert_eq!(status(kafka), "unknown");
        assert!(
            kafka["reason"].as_str().unwrap().contains(setting),
            "{kafka:?}"
        );
        let source = node(&nodes, "pipeline-1", "Source: clicks");
        assert!(edges(topology)
            .iter()
            .any(|e| e["source"] == "kafka" && e["target"] == source["id"]));

        let (code, message, details) = host.check_health(&ds).await;
        assert_eq!(code, 2, "{message}");
        let components = details["components"].as_array().unwrap();
        let of = |c: &str| components.iter().find(|r| r["component"] == c).unwrap();
        assert_eq!(of("kafka")["status"], "critical", "{details}");
        assert!(of("kafka")["reason"].as_str().unwrap().contains(setting));
        assert_eq!(of("flink")["status"], "ok", "{details}");
        for text in [
            lag.error.as_str(),
            &message,
            &details.to_string(),
            &host.log(),
        ] {
            assert!(
                !text.contains(marker),
                "{setting}: the secret leaked: {text}"
            );
        }
    }
}
