//! Consumer-lag snapshot at scale on a real Apache Kafka 3.7.1 cluster (the bed: ZooKeeper and
//! 3 broker JVMs), with Burrow 1.2.1 beside it as the peer.
//!
//! What it measures, per stage of consumer groups (default 50, then 500, then 2000, on
//! 100 topics x 100 partitions): the backend's `consumerLag` query (`granularity: group`, every
//! `bench-g.*` group) through the spawned release binary over gRPC, as Grafana calls it, with a
//! fresh backend process per stage: the cold query's wall time (connects, finds coordinators),
//! the median, min and max of 5 warm ones, the requests one snapshot sends (as the backend counts
//! them in `meta.custom`, plus its one Metadata request), and the process's peak RSS (VmHWM).
//! Every answer is checked against what the bench wrote (lag = records produced minus offset
//! committed, per group); a wrong or missing row fails the run. At the last stage the same query
//! restricted to 10 topics shows that the request count does not follow the partition count.
//! Then Burrow reads the same cluster: the time of one scrape of every group's lag over its HTTP
//! API, sequentially, and its memory.
//!
//! Why the real bed and not librdkafka's mock: group listing and description, commits in
//! `__consumer_offsets` and log-end offsets come from real brokers (the mock imitates them), and
//! Burrow, which reads `__consumer_offsets` itself, cannot run against the mock at all. Topics
//! have replication factor 1 (the bed's default is 3) so that 10,000 partitions fit three 512 MB
//! brokers on 2 cores; `__consumer_offsets` keeps the bed's factor 3.
//!
//! ```text
//! cargo build --release -p pipeline-backend
//! PIPELINE_BACKEND_BIN=target/release/gpx_kafkaflink \
//!   cargo run --release -p pipeline-tests --bin kafka_bench -- [topics] [partitions] [stages e.g. 50,500,2000]
//! ```
//!
//! Burrow is the Debian package (`apt-get install -y burrow`, binary `/usr/bin/Burrow`), started
//! by the bed's `burrow` module; without it that part is skipped. Everything the bench starts
//! ends with it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pipeline_tests::bed::burrow::{self, Burrow, BurrowOptions};
use pipeline_tests::bed::kafka::KafkaBed;
use pipeline_tests::{Answer, DatasourceConfig, PluginHost};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};

mod burrow_peer;
mod measure;
mod plan;
mod workload;

use burrow_peer::*;
use measure::*;
use plan::*;
use workload::*;

const WARM_QUERIES: usize = 5;
/// Each group commits from its own short-lived client; a few at once hide the round trips.
const COMMIT_THREADS: usize = 8;
/// Topics per CreateTopics request: one huge request would outlive its timeout on the controller.
const CREATE_BATCH: usize = 10;
/// Topics of the filtered query at the last stage.
const FILTER_TOPICS: usize = 10;
const TOPICS_BOUND: Duration = Duration::from_secs(600);
/// Burrow reads all of `__consumer_offsets` from the start before it lists every group.
const BURROW_BOUND: Duration = Duration::from_secs(300);
const BURROW_CLUSTER: &str = "bed";

fn args() -> (usize, usize, Vec<usize>) {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| {
        a.get(i)
            .map(|s| s.parse().expect("topics and partitions are numbers"))
            .unwrap_or(default)
    };
    let stages: Vec<usize> = a
        .get(2)
        .map(|s| s.as_str())
        .unwrap_or("50,500,2000")
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("stages: comma-separated group counts")
        })
        .collect();
    assert!(
        stages.windows(2).all(|w| w[0] < w[1]) && stages[0] > 0,
        "stages must grow: {stages:?}"
    );
    (num(0, 100), num(1, 100), stages)
}

#[tokio::main]
async fn main() -> ExitCode {
    let (topics, partitions, stages) = args();
    let plan = Plan::new(topics, partitions);
    let total_partitions = topics * partitions;
    println!(
        "kafka_bench: real Apache Kafka 3.7.1 (bed: ZooKeeper + 3 brokers, 512 MB heaps, 2 cores), \
         {topics} topics x {partitions} partitions = {total_partitions} partitions, replication \
         factor 1 (so the bed holds them), group stages {stages:?}"
    );
    println!(
        "backend: {} (fresh process per stage), {WARM_QUERIES} warm queries per stage",
        pipeline_tests::host::backend_binary().display()
    );

    let t0 = Instant::now();
    let run_dir = pipeline_tests::bed::run_dir("kafka_bench");
    let bed = KafkaBed::start(&run_dir);
    println!(
        "bed up in {:.1} s (logs under {})",
        t0.elapsed().as_secs_f64(),
        run_dir.display()
    );
    let t1 = Instant::now();
    create_topics(&bed, &plan).await;
    println!(
        "{topics} topics created and led on every broker in {:.1} s",
        t1.elapsed().as_secs_f64()
    );
    let t2 = Instant::now();
    let records = produce(&bed, &plan);
    println!(
        "{records} records produced (3-7 per partition) in {:.1} s",
        t2.elapsed().as_secs_f64()
    );

    let ds = DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bed.kafka.bootstrap(),
        "queryTimeoutSeconds": 60,
    }));
    let full = json!({"group": "bench-g.*", "granularity": "group"});
    let filtered = json!({"group": "bench-g.*", "topic": plan.filter(), "granularity": "group"});
    let filter_topics = FILTER_TOPICS.min(topics);
    let mut results: Vec<Stage> = Vec::new();
    let mut filtered_timings = None;
    let mut committed = 0;
    for (i, &groups) in stages.iter().enumerate() {
        let t = Instant::now();
        commit_groups(&bed, &plan, committed, groups);
        let commit = t.elapsed();
        println!(
            "stage {}: {} new groups committed in {:.1} s",
            i + 1,
            groups - committed,
            commit.as_secs_f64()
        );
        committed = groups;
        let host = PluginHost::start().await;
        let timings = measure(&host, &ds, &full, &plan, groups, topics).await;
        let peak_kib = backend_peak_kib();
        if i + 1 == stages.len() {
            let t = measure(&host, &ds, &filtered, &plan, groups, filter_topics).await;
            filtered_timings = Some(t);
        }
        drop(host);
        results.push(Stage {
            groups,
            commit,
            timings,
            peak_kib,
        });
    }

    println!();
    println!("consumerLag, granularity group, every bench group ({total_partitions} partitions in the cluster):");
    println!(
        "{:>7} {:>12} {:>9} {:>9} {:>19} {:>13} {:>9} {:>10}",
        "groups",
        "group-parts",
        "commit s",
        "cold ms",
        "warm ms med (range)",
        "req/snapshot",
        "peak MiB",
        "mismatches",
    );
    for s in &results {
        let w = &s.timings;
        println!(
            "{:>7} {:>12} {:>9.1} {:>9.1} {:>8.1} ({:.1}-{:.1}) {:>13} {:>9} {:>10}",
            s.groups,
            s.groups * partitions,
            s.commit.as_secs_f64(),
            ms(w.cold),
            ms(w.median()),
            ms(w.warm[0]),
            ms(w.warm[w.warm.len() - 1]),
            w.requests_text(),
            s.peak_kib.map_or("?".into(), |k| format!("{:.1}", mib(k))),
            w.mismatches,
        );
    }
    for pair in results.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if let (Some(ka), Some(kb)) = (a.peak_kib, b.peak_kib) {
            let extra = (b.groups - a.groups) as f64;
            println!(
                "growth {} -> {} groups: {:.2} KiB peak RSS and {:.3} ms warm per extra group",
                a.groups,
                b.groups,
                (kb as f64 - ka as f64) / extra,
                (ms(b.timings.median()) - ms(a.timings.median())) / extra,
            );
        }
    }
    let last = results.last().expect("at least one stage");
    if let Some(r) = last.timings.requests.last() {
        println!(
            "requests of one snapshot at {} groups: 1 Metadata + {} ListGroups + {} DescribeGroups + {} ListOffsets + {} OffsetFetch = {}",
            last.groups,
            r.list_groups,
            r.describe_groups,
            r.end_offsets,
            r.offset_fetch,
            r.total()
        );
    }
    let filtered_timings = filtered_timings.expect("the last stage's filtered query");
    println!(
        "requests vs partitions at {} groups: all {topics} topics ({total_partitions} partitions): {} requests, warm {:.1} ms; topic {} ({filter_topics} topics, {} partitions): {} requests, warm {:.1} ms, {} mismatches",
        last.groups,
        last.timings.requests_text(),
        ms(last.timings.median()),
        plan.filter(),
        filter_topics * partitions,
        filtered_timings.requests_text(),
        ms(filtered_timings.median()),
        filtered_timings.mismatches,
    );

    println!();
    println!(
        "peer: Burrow 1.2.1 (Debian), kafka-version {}, reading __consumer_offsets, {} groups:",
        burrow::KAFKA_VERSION,
        last.groups
    );
    match run_burrow(&bed, &plan, last.groups, &run_dir) {
        Ok(b) => {
            println!(
                "  listed every group {:.1} s after start; one scrape (list + {} x GET .../consumer/GROUP/lag, sequential, HTTP/1.0): {:.1} ms (again, evaluator cache warm: {:.1} ms); {} failed requests; {} of {} groups with totallag != truth",
                b.listed_after.as_secs_f64(),
                last.groups,
                ms(b.scrape),
                ms(b.cached_scrape),
                b.failed_requests,
                b.wrong_lags,
                last.groups,
            );
            let ours = last.peak_kib;
            println!(
                "  Burrow RSS {} MiB (peak {} MiB) vs backend peak {} MiB{}",
                b.rss_kib.map_or("?".into(), |k| format!("{:.1}", mib(k))),
                b.hwm_kib.map_or("?".into(), |k| format!("{:.1}", mib(k))),
                ours.map_or("?".into(), |k| format!("{:.1}", mib(k))),
                match (b.hwm_kib, ours) {
                    (Some(h), Some(o)) => format!(" ({:.2}x)", h as f64 / o as f64),
                    _ => String::new(),
                }
            );
            println!(
                "  all groups' lag: Burrow scrape {:.1} ms vs backend warm snapshot {:.1} ms ({:.2}x), cold {:.1} ms ({:.2}x); Burrow also reads every commit and polls log ends every 10 s while idle",
                ms(b.scrape),
                ms(last.timings.median()),
                b.scrape.as_secs_f64() / last.timings.median().as_secs_f64(),
                ms(last.timings.cold),
                b.scrape.as_secs_f64() / last.timings.cold.as_secs_f64(),
            );
        }
        Err(why) => println!("  not measured: {why}"),
    }
    println!(
        "kafka_exporter and KMinion: not measured: the Go module proxy refuses both (403 \"This module version is not available\" for github.com/danielqsj/kafka_exporter and github.com/redpanda-data/kminion/v2) and Debian packages neither"
    );

    let wrong: usize =
        results.iter().map(|s| s.timings.mismatches).sum::<usize>() + filtered_timings.mismatches;
    if wrong > 0 {
        println!("FAILED: {wrong} rows differ from what the bench wrote");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
