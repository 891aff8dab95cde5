//! What coalescing saves a dashboard: 1 and 10 panels (topology and health in turn, one
//! QueryData request each, all sent at once as Grafana does on a refresh), with coalescing on
//! (the default window) and off (`coalesceWindowSeconds` 0), interleaved round by round on one
//! backend process. Counted per dashboard refresh: the REST requests a stub Flink received and
//! the requests librdkafka's mock brokers received; timed: each panel's answer and the whole
//! refresh (the slowest panel).
//!
//! The stub JobManager (`pipeline_tests::flink_stub`) runs one job of two vertices and, like a
//! real one (`rest.server.numThreads`, 4 by default), works on 4 requests at a time; each takes
//! `work_ms`. No JVM: the numbers are the backend's and the stub's, on this machine.
//!
//! `cargo run --release -p pipeline-tests --bin coalesce_bench [rounds] [work_ms]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use pipeline_tests::flink_stub::CountingFlink;
use pipeline_tests::kafka_mock::MockKafka;
use pipeline_tests::{DatasourceConfig, PluginHost, Query};
use serde_json::json;
use tokio::task::JoinSet;

/// The backend's default window; each datasource waits this out between refreshes.
const WINDOW: Duration = Duration::from_secs(2);
const GROUP: &str = "g-orders";

struct Case {
    panels: usize,
    coalescing: bool,
    ds: DatasourceConfig,
    flink_requests: Vec<usize>,
    kafka_requests: Vec<usize>,
    panel_latency: Vec<Duration>,
    refresh_latency: Vec<Duration>,
}

impl Case {
    fn name(&self) -> String {
        format!(
            "p{}-{}",
            self.panels,
            if self.coalescing { "on" } else { "off" }
        )
    }
}

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn mean(v: &[usize]) -> f64 {
    v.iter().sum::<usize>() as f64 / v.len() as f64
}

fn panels(n: usize) -> Vec<Query> {
    (0..n)
        .map(|i| match i % 2 {
            0 => Query::new(&format!("P{i}"), "topology", json!({})),
            _ => Query::new(&format!("P{i}"), "health", json!({"metric": "status"})),
        })
        .collect()
}

/// One dashboard refresh: every panel's request at once; each panel's latency and the whole's.
async fn refresh(host: &Arc<PluginHost>, case: &Case) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let mut requests = JoinSet::new();
    for q in panels(case.panels) {
        let (host, ds) = (host.clone(), case.ds.clone());
        requests.spawn(async move {
            let sent = Instant::now();
            let answer = host.query(&ds, std::slice::from_ref(&q)).await;
            let took = sent.elapsed();
            let a = &answer[&q.ref_id];
            assert!(a.error.is_empty(), "{}: {}", q.ref_id, a.error);
            took
        });
    }
    let each = requests.join_all().await;
    (each, started.elapsed())
}

#[tokio::main]
async fn main() {
    let rounds = arg(1, 20) as usize;
    let work = Duration::from_millis(arg(2, 5));
    let kafka = MockKafka::start(3);
    kafka.create_topic("orders", 6, 1);
    for p in 0..6 {
        kafka.produce("orders", p, 20);
    }
    kafka.flush();
    let commits: Vec<(&str, i32, i64)> = (0..6).map(|p| ("orders", p, 10)).collect();
    kafka.commit(GROUP, &commits);
    let flink = CountingFlink::start(work, 4).await;
    let host = Arc::new(PluginHost::start().await);
    let mut cases = Vec::new();
    for panels in [1, 10] {
        for coalescing in [true, false] {
            let mut case = Case {
                panels,
                coalescing,
                ds: DatasourceConfig::new(json!({})),
                flink_requests: Vec::new(),
                kafka_requests: Vec::new(),
                panel_latency: Vec::new(),
                refresh_latency: Vec::new(),
            };
            let mut json_data = json!({
                "kafkaBootstrapServers": kafka.bootstrap_servers(),
                "flinkUrl": flink.url(&case.name()),
                // The longest status window: the background sampler stays out of the counts.
                "kafkaStatusWindowSeconds": 3600,
                "pipeline": {"jobs": [{"job": "orders", "topics": ["orders"], "group": GROUP}]},
            });
            if !coalescing {
                json_data["coalesceWindowSeconds"] = json!(0);
            }
            case.ds = DatasourceConfig::new(json_data);
            // Warm up: the instance, connections, the group's coordinator.
            refresh(&host, &case).await;
            cases.push(case);
        }
    }
    tokio::time::sleep(WINDOW).await;
    for _ in 0..rounds {
        let round = Instant::now();
        for case in &mut cases {
            let before = flink.counted(&case.name()).requests;
            kafka.track_requests();
            let (each, whole) = refresh(&host, case).await;
            case.kafka_requests.push(kafka.requests().values().sum());
            case.flink_requests
                .push(flink.counted(&case.name()).requests - before);
            case.panel_latency.extend(each);
            case.refresh_latency.push(whole);
        }
        // Every datasource's last refresh is older than the window before its next one.
        tokio::time::sleep((WINDOW + Duration::from_millis(100)).saturating_sub(round.elapsed()))
            .await;
    }
    println!(
        "coalescing: {rounds} dashboard refreshes per case; stub Flink: 1 job, 2 vertices, 4 REST threads, {} ms a request; Kafka: librdkafka mock, 3 brokers, 1 group",
        work.as_millis()
    );
    println!(
        "{:>6}  {:<10}  {:>9}  {:>9}  {:>9}  {:>9}  {:>11}  {:>11}",
        "panels",
        "coalescing",
        "Flink req",
        "Kafka req",
        "panel p50",
        "panel p95",
        "refresh p50",
        "refresh p95"
    );
    for c in &cases {
        println!(
            "{:>6}  {:<10}  {:>9.1}  {:>9.1}  {:>6.1} ms  {:>6.1} ms  {:>8.1} ms  {:>8.1} ms",
            c.panels,
            if c.coalescing { "on (2 s)" } else { "off" },
            mean(&c.flink_requests),
            mean(&c.kafka_requests),
            ms(percentile(&c.panel_latency, 0.5)),
            ms(percentile(&c.panel_latency, 0.95)),
            ms(percentile(&c.refresh_latency, 0.5)),
            ms(percentile(&c.refresh_latency, 0.95)),
        );
    }
    println!("(requests are per dashboard refresh, means; latencies in ms)");
    for panels in [1, 10] {
        let of = |on: bool| {
            cases
                .iter()
                .find(|c| c.panels == panels && c.coalescing == on)
                .expect("every case ran")
        };
        let (on, off) = (of(true), of(false));
        let ratio = |f: &dyn Fn(&Case) -> f64| f(off) / f(on);
        println!(
            "{panels:>2} panels, off / on: Flink requests {:.1}x, Kafka requests {:.1}x, panel p50 {:.2}x, p95 {:.2}x, refresh p50 {:.2}x",
            ratio(&|c| mean(&c.flink_requests)),
            ratio(&|c| mean(&c.kafka_requests)),
            ratio(&|c| ms(percentile(&c.panel_latency, 0.5))),
            ratio(&|c| ms(percentile(&c.panel_latency, 0.95))),
            ratio(&|c| ms(percentile(&c.refresh_latency, 0.5))),
        );
    }
}
