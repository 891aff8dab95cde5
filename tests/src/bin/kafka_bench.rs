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

/// What the bench writes, so that every expected lag is known without asking Kafka.
struct Plan {
    topics: usize,
    partitions: usize,
    width: usize,
}

impl Plan {
    fn new(topics: usize, partitions: usize) -> Plan {
        let width = (topics.saturating_sub(1).to_string().len()).max(3);
        Plan {
            topics,
            partitions,
            width,
        }
    }

    fn topic(&self, t: usize) -> String {
        format!("t{t:0w$}", w = self.width)
    }

    /// The first [`FILTER_TOPICS`] topics as a regex (`t00[0-9]` for 3-digit names).
    fn filter(&self) -> String {
        format!("t{}[0-9]", "0".repeat(self.width - 1))
    }

    fn group(&self, g: usize) -> String {
        format!("bench-g{g:04}")
    }

    fn topic_of(&self, g: usize) -> usize {
        g % self.topics
    }

    /// 3 to 7 records: neighbouring partitions differ, so a row swapped with another shows.
    fn produced(&self, t: usize, p: usize) -> i64 {
        3 + ((t + 2 * p) % 5) as i64
    }

    /// Somewhere from 0 to the log end: a commit of 0 (nothing consumed) included.
    fn committed(&self, g: usize, p: usize) -> i64 {
        let end = self.produced(self.topic_of(g), p);
        (g + p) as i64 % (end + 1)
    }

    fn lag(&self, g: usize) -> i64 {
        let t = self.topic_of(g);
        (0..self.partitions)
            .map(|p| self.produced(t, p) - self.committed(g, p))
            .sum()
    }
}

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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `VmHWM:`/`VmRSS:` line of /proc/PID/status, in KiB.
fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Peak resident memory (VmHWM) of our live child running the backend binary. A backend of an
/// earlier stage may still be a zombie (killed, not yet reaped): it has no memory lines.
fn backend_peak_kib() -> Option<u64> {
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head.split_once('(').map(|(_, c)| c).unwrap_or_default();
        let mut fields = rest.split(' ');
        let state = fields.next().unwrap_or_default();
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid != me || comm != "gpx_kafkaflink" || state == "Z" {
            continue;
        }
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        if let Some(kib) = proc_status_kib(pid, "VmHWM:") {
            return Some(kib);
        }
    }
    None
}

/// Creates the plan's topics in batches, then waits until every broker's metadata shows each
/// with all its partitions led.
async fn create_topics(bed: &KafkaBed, plan: &Plan) {
    let admin: AdminClient<DefaultClientContext> = bed
        .kafka
        .plaintext_config()
        .create()
        .expect("an admin client");
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(120)));
    let names: Vec<String> = (0..plan.topics).map(|t| plan.topic(t)).collect();
    for batch in names.chunks(CREATE_BATCH) {
        let new: Vec<NewTopic> = batch
            .iter()
            .map(|n| NewTopic::new(n, plan.partitions as i32, TopicReplication::Fixed(1)))
            .collect();
        let results = admin
            .create_topics(&new, &opts)
            .await
            .expect("CreateTopics");
        for r in results {
            match r {
                // A timed-out creation goes on in the controller: the metadata wait below decides.
                Ok(_)
                | Err((_, RDKafkaErrorCode::TopicAlreadyExists))
                | Err((_, RDKafkaErrorCode::RequestTimedOut)) => {}
                Err((t, code)) => panic!("CreateTopics {t}: {code:?}"),
            }
        }
    }
    let deadline = Instant::now() + TOPICS_BOUND;
    loop {
        let missing = bed.kafka.broker_ids().into_iter().find_map(|id| {
            let md = match bed.kafka.metadata_via(id, Duration::from_secs(30)) {
                Ok(md) => md,
                Err(e) => return Some(format!("broker {id}: {e}")),
            };
            let led: HashMap<&str, usize> = md
                .topics()
                .iter()
                .filter(|t| t.error().is_none())
                .map(|t| {
                    let n = t.partitions().iter().filter(|p| p.leader() >= 0).count();
                    (t.name(), n)
                })
                .collect();
            let short = names
                .iter()
                .filter(|n| led.get(n.as_str()) != Some(&plan.partitions))
                .count();
            (short > 0).then(|| format!("broker {id}: {short} topics not fully led yet"))
        });
        let Some(missing) = missing else { return };
        assert!(
            Instant::now() < deadline,
            "topics not ready within {} s: {missing}",
            TOPICS_BOUND.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Counts failed deliveries: the expected lags assume every record landed exactly once.
#[derive(Default)]
struct Deliveries {
    failed: AtomicUsize,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.first_error
                .lock()
                .unwrap()
                .get_or_insert_with(|| e.to_string());
        }
    }
}

/// Produces the plan's records; returns how many.
fn produce(bed: &KafkaBed, plan: &Plan) -> usize {
    // Idempotence: a retried batch is not written twice, so the log ends are exact.
    let producer: BaseProducer<Deliveries> = bed
        .kafka
        .plaintext_config()
        .set("enable.idempotence", "true")
        .set("linger.ms", "20")
        .create_with_context(Deliveries::default())
        .expect("a producer");
    let mut sent = 0;
    for t in 0..plan.topics {
        let topic = plan.topic(t);
        for p in 0..plan.partitions {
            for _ in 0..plan.produced(t, p) {
                let mut record = BaseRecord::<(), str>::to(&topic)
                    .partition(p as i32)
                    .payload("x");
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                            record = r;
                            producer.poll(Duration::from_millis(50));
                        }
                        Err((e, _)) => panic!("produce to {topic}-{p}: {e}"),
                    }
                }
                sent += 1;
                if sent % 1000 == 0 {
                    producer.poll(Duration::ZERO);
                }
            }
        }
    }
    producer
        .flush(Duration::from_secs(300))
        .expect("every record delivered");
    let ctx = producer.context();
    let failed = ctx.failed.load(Ordering::Relaxed);
    assert_eq!(
        failed,
        0,
        "{failed} records not delivered, first: {:?}",
        ctx.first_error.lock().unwrap()
    );
    sent
}

/// Commits group `g`'s offsets on every partition of its topic, without joining the group
/// (as a Flink source commits).
fn commit_group(bootstrap: &str, plan: &Plan, g: usize) -> Result<(), String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", plan.group(g))
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| e.to_string())?;
    let topic = plan.topic(plan.topic_of(g));
    let mut tpl = TopicPartitionList::with_capacity(plan.partitions);
    for p in 0..plan.partitions {
        tpl.add_partition_offset(&topic, p as i32, Offset::Offset(plan.committed(g, p)))
            .map_err(|e| e.to_string())?;
    }
    // The first commits of a run may meet a coordinator still loading its partition.
    let mut last = String::new();
    for attempt in 1..=5 {
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(300 * attempt));
    }
    Err(format!("commit {}: {last}", plan.group(g)))
}

fn commit_groups(bed: &KafkaBed, plan: &Plan, from: usize, to: usize) {
    let bootstrap = bed.kafka.bootstrap();
    let next = AtomicUsize::new(from);
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..COMMIT_THREADS {
            s.spawn(|| loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                if g >= to {
                    break;
                }
                if let Err(e) = commit_group(&bootstrap, plan, g) {
                    errors.lock().unwrap().push(e);
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap();
    assert!(errors.is_empty(), "commits failed: {errors:?}");
}

/// Requests of one snapshot as the backend reports them in `meta.custom`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Requests {
    list_groups: u64,
    describe_groups: u64,
    end_offsets: u64,
    offset_fetch: u64,
}

impl Requests {
    fn from_meta(meta: &Value) -> Option<Requests> {
        let c = &meta["custom"];
        Some(Requests {
            list_groups: c["listGroupsRequests"].as_u64()?,
            describe_groups: c["describeGroupsRequests"].as_u64()?,
            end_offsets: c["endOffsetRequests"].as_u64()?,
            offset_fetch: c["offsetFetchRequests"].as_u64()?,
        })
    }

    /// With the one Metadata request the backend does not count.
    fn total(&self) -> u64 {
        self.list_groups + self.describe_groups + self.end_offsets + self.offset_fetch + 1
    }
}

/// Wrong rows of one answer (missing, extra, duplicated, or a lag other than the plan's) and
/// the requests it reports. Groups whose topic is not among the first `selected_topics` must
/// show no lag (or 0). The first few problems go to stderr.
fn check(
    answer: &Answer,
    plan: &Plan,
    groups: usize,
    selected_topics: usize,
) -> (usize, Option<Requests>) {
    if !answer.error.is_empty() {
        eprintln!("query failed (status {}): {}", answer.status, answer.error);
        return (groups, None);
    }
    let Some(frame) = answer.frames.iter().find(|f| f.name == "groups") else {
        eprintln!(
            "no groups frame: {:?}",
            answer.frames.iter().map(|f| &f.name).collect::<Vec<_>>()
        );
        return (groups, None);
    };
    let requests = Requests::from_meta(&frame.meta);
    let mut rows: HashMap<&str, Option<i64>> = HashMap::new();
    let mut wrong = 0;
    let mut report = |what: String| {
        wrong += 1;
        if wrong <= 5 {
            eprintln!("mismatch: {what}");
        }
    };
    let names = &frame.field("group").values;
    let lags = &frame.field("lag").values;
    for (name, lag) in names.iter().zip(lags) {
        let name = name.as_str().unwrap_or_default();
        if rows.insert(name, lag.as_i64()).is_some() {
            report(format!("{name}: two rows"));
        }
    }
    let expected: BTreeMap<String, Option<i64>> = (0..groups)
        .map(|g| {
            let selected = plan.topic_of(g) < selected_topics;
            (plan.group(g), selected.then(|| plan.lag(g)))
        })
        .collect();
    for name in rows.keys().filter(|n| !expected.contains_key(**n)) {
        report(format!("{name}: a row the bench did not commit"));
    }
    for (name, want) in &expected {
        let got = rows.get(name.as_str()).copied();
        let ok = match (want, got) {
            (_, None) => false,
            (Some(w), Some(g)) => g == Some(*w),
            (None, Some(g)) => g.unwrap_or(0) == 0,
        };
        if !ok {
            report(format!("{name}: lag {got:?}, expected {want:?}"));
        }
    }
    (wrong, requests)
}

struct Timings {
    cold: Duration,
    /// Sorted.
    warm: Vec<Duration>,
    requests: Vec<Requests>,
    mismatches: usize,
}

impl Timings {
    fn median(&self) -> Duration {
        self.warm[self.warm.len() / 2]
    }

    /// "61" or "61-63" when snapshots disagreed.
    fn requests_text(&self) -> String {
        let totals: Vec<u64> = self.requests.iter().map(Requests::total).collect();
        match (totals.iter().min(), totals.iter().max()) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}-{b}"),
            _ => "?".into(),
        }
    }
}

/// One cold query (unless `warm_only`) and [`WARM_QUERIES`] warm ones, each checked.
async fn measure(
    host: &PluginHost,
    ds: &DatasourceConfig,
    query: &Value,
    plan: &Plan,
    groups: usize,
    selected_topics: usize,
) -> Timings {
    let mut all = Vec::new();
    let mut requests = Vec::new();
    let mut mismatches = 0;
    for _ in 0..=WARM_QUERIES {
        let started = Instant::now();
        let answer = host.query_one(ds, "consumerLag", query.clone()).await;
        all.push(started.elapsed());
        let (wrong, req) = check(&answer, plan, groups, selected_topics);
        mismatches = mismatches.max(wrong);
        requests.extend(req);
    }
    let cold = all.remove(0);
    all.sort();
    Timings {
        cold,
        warm: all,
        requests,
        mismatches,
    }
}

struct Stage {
    groups: usize,
    commit: Duration,
    timings: Timings,
    peak_kib: Option<u64>,
}

/// What Burrow did with the same cluster.
struct BurrowRun {
    listed_after: Duration,
    scrape: Duration,
    cached_scrape: Duration,
    rss_kib: Option<u64>,
    hwm_kib: Option<u64>,
    wrong_lags: usize,
    failed_requests: usize,
}

/// Starts Burrow on the bed, waits until it lists all `groups`, then scrapes every group's lag
/// one request after another (twice: the second pass hits its evaluator's 10 s cache).
/// `Err` says why Burrow could not be measured, with its log's warnings and errors.
fn run_burrow(
    bed: &KafkaBed,
    plan: &Plan,
    groups: usize,
    run_dir: &Path,
) -> Result<BurrowRun, String> {
    let mut options = BurrowOptions::new(BURROW_CLUSTER, "^bench-g.*$");
    options.client_id = "burrow-bench".into();
    let burrow = Burrow::try_start(&bed.kafka, run_dir, options)?;
    let listed_after = burrow.wait_listed(
        |names| {
            let n = names.iter().filter(|n| n.starts_with("bench-g")).count();
            if n >= groups {
                Ok(())
            } else {
                Err(format!("lists {n} of {groups} groups"))
            }
        },
        BURROW_BOUND,
    )?;
    let get = |path: &str| burrow.get(path);
    let list_path = format!("/v3/kafka/{BURROW_CLUSTER}/consumer");

    // One scrape: the group list, then each group's lag, as a collector of every group does.
    let scrape = || {
        let t0 = Instant::now();
        let mut failed = 0;
        let mut lags = HashMap::new();
        if get(&list_path).is_err() {
            failed += 1;
        }
        for g in 0..groups {
            let name = plan.group(g);
            match get(&format!("/v3/kafka/{BURROW_CLUSTER}/consumer/{name}/lag")) {
                Ok(v) if v["error"] == false => {
                    lags.insert(g, v["status"]["totallag"].as_i64());
                }
                _ => failed += 1,
            }
        }
        (t0.elapsed(), lags, failed)
    };
    let (scrape_time, lags, failed_requests) = scrape();
    let (cached_scrape, _, _) = scrape();
    let wrong_lags = (0..groups)
        .filter(|g| lags.get(g).copied().flatten() != Some(plan.lag(*g)))
        .count();
    let pid = burrow
        .pid()
        .ok_or_else(|| "Burrow has no PID".to_string())?;
    let run = BurrowRun {
        listed_after,
        scrape: scrape_time,
        cached_scrape,
        rss_kib: proc_status_kib(pid, "VmRSS:"),
        hwm_kib: proc_status_kib(pid, "VmHWM:"),
        wrong_lags,
        failed_requests,
    };
    let problems = burrow.problems();
    if !problems.is_empty() {
        println!(
            "Burrow's log has warnings or errors ({}):",
            burrow.log_path().display()
        );
        for l in problems.iter().take(8) {
            println!("  {l}");
        }
    }
    Ok(run)
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
