//! Full refresh of a real Flink MiniCluster running several pipeline jobs: the backend's
//! snapshot with bounded concurrency (`flink::snapshot::CONCURRENCY` requests in flight) against
//! the same snapshot taken one request at a time, in the same run, alternating, on the same
//! cluster and HTTP client.
//!
//! `cargo run --release -p pipeline-tests --bin flink_bench [jobs] [rounds]`

use std::time::{Duration, Instant};

use pipeline_backend::flink::snapshot::{fetch_with, Parts, CONCURRENCY};
use pipeline_backend::flink::FlinkClient;
use pipeline_backend::settings::{FlinkAuth, FlinkSettings};
use pipeline_tests::flink_cluster::FlinkCluster;

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let jobs = arg(1, 6);
    let rounds = arg(2, 15);
    let jobs_flag = jobs.to_string();
    eprintln!("starting a Flink MiniCluster with {jobs} jobs ...");
    let cluster = FlinkCluster::start(&["--jobs", &jobs_flag, "--parallelism", "1"], jobs);
    let settings = FlinkSettings {
        url: cluster.rest_url().to_string(),
        auth: FlinkAuth::None,
        ca_cert: None,
    };
    let client = FlinkClient::new(&settings, Duration::from_secs(30)).expect("client");
    // Warm up: connections, JIT on the JobManager side, first metric samples.
    for _ in 0..3 {
        fetch_with(&client, None, Parts::ALL, CONCURRENCY)
            .await
            .expect("refresh");
    }
    let (mut concurrent, mut sequential) = (Vec::new(), Vec::new());
    let mut requests = 0;
    for _ in 0..rounds {
        for (bound, times) in [(CONCURRENCY, &mut concurrent), (1, &mut sequential)] {
            let started = Instant::now();
            let snap = fetch_with(&client, None, Parts::ALL, bound)
                .await
                .expect("refresh");
            times.push(started.elapsed());
            assert_eq!(snap.jobs.len(), jobs, "every job in the snapshot");
            requests = snap.requests;
        }
    }
    let (c, s) = (median(concurrent), median(sequential));
    println!("flink full refresh: {jobs} jobs, {requests} REST requests per refresh, {rounds} rounds, medians");
    println!(
        "  concurrent (bound {CONCURRENCY}): {:>8.1} ms",
        c.as_secs_f64() * 1000.0
    );
    println!(
        "  sequential (bound 1): {:>8.1} ms",
        s.as_secs_f64() * 1000.0
    );
    println!("  speed-up: {:.2}x", s.as_secs_f64() / c.as_secs_f64());
}
