//! Consumer-lag snapshot at scale: 3 mock brokers, 10,000 partitions, 500 groups.
//!
//! The batched snapshot is the backend's `consumerLag` query (spawned binary, over gRPC); the
//! naive approach, measured in the same run against the same cluster, asks one partition at a
//! time (end offsets per partition, committed offset per group and partition). Requests are
//! counted by the mock brokers themselves (request tracking), so neither side counts its own.
//!
//! `cargo run --release -p pipeline-tests --bin kafka_bench [topics] [partitions/topic] [groups]`
//! with PIPELINE_BACKEND_BIN pointing at a release build of the backend.
//!
//! Which Kafka, and why: librdkafka's mock cluster, on purpose. The bench compares request
//! counts, and only the mock counts exactly what each broker received from one client (a real
//! broker has JMX request rates, shared and sampled); and 10,000 partitions with 500 groups'
//! commits live in the mock's memory, while the bed's three brokers (512 MB heaps each, sized
//! for the suites on 2 cores) are not meant to hold 10,000 partitions with their log segments
//! and indexes. What the numbers mean on a real broker (lag equal to `kafka-consumer-groups`,
//! groups found by listing) is proven in `tests/tests/kafka_real.rs`.

use std::time::{Duration, Instant};

use pipeline_tests::kafka_mock::{MockKafka, RequestCounts};
use pipeline_tests::{DatasourceConfig, PluginHost};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;

/// The naive side stops after this long and extrapolates from the share it finished.
const NAIVE_BUDGET: Duration = Duration::from_secs(90);

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn total(r: &RequestCounts) -> usize {
    r.values().sum()
}

/// Peak resident memory (VmHWM) of our child process running the backend binary.
fn backend_peak_kib() -> Option<u64> {
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let Some(after) = stat.rsplit_once(") ").map(|(_, rest)| rest) else {
            continue;
        };
        let ppid: u32 = after
            .split(' ')
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if ppid == me && stat.contains("(gpx_kafkaflink") {
            let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
            return status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
        }
    }
    None
}

#[tokio::main]
async fn main() {
    let topics = arg(1, 100);
    let per_topic = arg(2, 100);
    let groups = arg(3, 500);
    let partitions = topics * per_topic;
    println!("setup: 3 mock brokers, {topics} topics x {per_topic} partitions = {partitions} partitions, {groups} groups");

    let setup = Instant::now();
    let kafka = MockKafka::start(3);
    let topic_names: Vec<String> = (0..topics).map(|t| format!("t-{t:03}")).collect();
    for t in &topic_names {
        kafka.create_topic(t, per_topic as i32, 1);
    }
    // (p % 5) + 1 records per partition: every end offset differs from its neighbour's.
    let produced = |p: usize| (p % 5 + 1) as i64;
    for t in &topic_names {
        for p in 0..per_topic {
            kafka.produce(t, p as i32, produced(p) as usize);
        }
    }
    kafka.flush();
    // Group g consumes topic g % topics and has committed min(p % 3, end) on each partition, except
    // partition 0, which it never committed.
    let group_names: Vec<String> = (0..groups).map(|g| format!("g-{g:03}")).collect();
    let committed = |p: usize| ((p % 3) as i64).min(produced(p));
    let truth_lag: i64 = groups as i64
        * (1..per_topic)
            .map(|p| produced(p) - committed(p))
            .sum::<i64>();
    // Commits from a few threads: each group's commit is its own client and round trips.
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| loop {
                let g = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(name) = group_names.get(g) else {
                    break;
                };
                let topic = &topic_names[g % topics];
                let commits: Vec<(&str, i32, i64)> = (1..per_topic)
                    .map(|p| (topic.as_str(), p as i32, committed(p)))
                    .collect();
                kafka.commit(name, &commits);
            });
        }
    });
    println!("setup took {:.1} s", setup.elapsed().as_secs_f64());

    // Batched: the backend, as Grafana calls it.
    let host = PluginHost::start().await;
    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka.bootstrap_servers(),
        "queryTimeoutSeconds": 120,
    }));
    let query = json!({"groups": group_names, "topic": "t-.*"});
    let mut batched = Vec::new();
    let mut batched_requests = Vec::new();
    for run in 0..4 {
        kafka.track_requests();
        let started = Instant::now();
        let answer = host.query_one(&ds, "consumerLag", query.clone()).await;
        let took = started.elapsed();
        let requests = kafka.requests();
        let frame = answer.frame("groups");
        let lag: i64 = frame
            .field("lag")
            .values
            .iter()
            .filter_map(|v| v.as_i64())
            .sum();
        if lag != truth_lag {
            let parts = answer.frame("partitions");
            for i in 0..parts.len().min(12) {
                eprintln!("{:?}", parts.row(i));
            }
        }
        assert_eq!(
            lag, truth_lag,
            "the snapshot's total lag must match ground truth"
        );
        let label = if run == 0 {
            "cold (first query: connects, finds coordinators)"
        } else {
            "warm"
        };
        println!(
            "batched snapshot {run} [{label}]: {:.1} ms, {} requests {:?}, total lag {lag} (truth {truth_lag})",
            took.as_secs_f64() * 1000.0,
            total(&requests),
            requests
        );
        if run > 0 {
            batched.push(took);
            batched_requests.push(total(&requests));
        }
    }
    let peak = backend_peak_kib();

    // Naive: one partition at a time, with a client per group as well (same connections reused).
    let naive_client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap_servers())
        .set("group.id", "naive-observer")
        .create()
        .expect("client");
    let group_clients: Vec<BaseConsumer> = group_names
        .iter()
        .map(|g| {
            ClientConfig::new()
                .set("bootstrap.servers", kafka.bootstrap_servers())
                .set("group.id", g)
                .create()
                .expect("client")
        })
        .collect();
    let timeout = Duration::from_secs(10);
    let work = partitions + groups * per_topic;
    kafka.track_requests();
    let started = Instant::now();
    let mut done = 0usize;
    let mut naive_lag = 0i64;
    let mut ends = std::collections::HashMap::new();
    'outer: for t in &topic_names {
        for p in 0..per_topic {
            let (_, high) = naive_client
                .fetch_watermarks(t, p as i32, timeout)
                .expect("watermarks");
            ends.insert((t.clone(), p as i32), high);
            done += 1;
            if started.elapsed() > NAIVE_BUDGET {
                break 'outer;
            }
        }
    }
    if started.elapsed() <= NAIVE_BUDGET {
        'groups: for (g, client) in group_clients.iter().enumerate() {
            let topic = &topic_names[g % topics];
            for p in 0..per_topic {
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition(topic, p as i32);
                let c = client.committed_offsets(tpl, timeout).expect("committed");
                if let Some(Offset::Offset(o)) = c.elements().first().map(|e| e.offset()) {
                    naive_lag += ends[&(topic.clone(), p as i32)] - o;
                }
                done += 1;
                if started.elapsed() > NAIVE_BUDGET {
                    break 'groups;
                }
            }
        }
    }
    let naive_took = started.elapsed();
    let naive_requests = kafka.requests();
    let complete = done == work;
    let scale = work as f64 / done as f64;
    let naive_full = naive_took.mul_f64(scale);
    let naive_full_requests = (total(&naive_requests) as f64 * scale).round() as usize;
    if complete {
        assert_eq!(naive_lag, truth_lag, "the naive snapshot must agree");
    }
    println!(
        "naive snapshot: {:.1} ms for {done} of {work} per-partition calls, {} requests {:?}{}",
        naive_took.as_secs_f64() * 1000.0,
        total(&naive_requests),
        naive_requests,
        if complete {
            String::new()
        } else {
            format!(
                "; extrapolated to the whole snapshot: {:.1} s, {naive_full_requests} requests",
                naive_full.as_secs_f64()
            )
        }
    );

    batched.sort();
    let median = batched[batched.len() / 2];
    println!("--- summary ({partitions} partitions, {groups} groups) ---");
    println!(
        "batched (warm, median of {}): {:.1} ms, {} requests per snapshot",
        batched.len(),
        median.as_secs_f64() * 1000.0,
        batched_requests[0]
    );
    println!(
        "naive{}: {:.1} ms, {naive_full_requests} requests",
        if complete { "" } else { " (extrapolated)" },
        naive_full.as_secs_f64() * 1000.0
    );
    println!(
        "speed-up: {:.1}x, requests: {:.0}x fewer",
        naive_full.as_secs_f64() / median.as_secs_f64(),
        naive_full_requests as f64 / batched_requests[0] as f64
    );
    match peak {
        Some(kib) => println!(
            "backend peak memory (VmHWM): {:.1} MiB",
            kib as f64 / 1024.0
        ),
        None => println!("backend peak memory: process not found"),
    }
}
