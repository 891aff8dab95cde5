//! Measures what Grafana waits for when it starts the plugin: spawn to handshake line, over
//! repeated starts, and the size of the binary it spawns.
//!
//! `cargo run --release -p pipeline-tests --bin handshake_bench [runs]`

use pipeline_tests::host::backend_binary;
use pipeline_tests::PluginHost;

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let bin = backend_binary();
    let size = std::fs::metadata(&bin)
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()))
        .len();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let host = PluginHost::start().await;
        times.push(host.handshake);
        drop(host);
    }
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "binary: {} ({:.1} MiB)",
        bin.display(),
        size as f64 / 1048576.0
    );
    println!(
        "handshake over {runs} starts: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        ms(times[0]),
        ms(times[runs / 2]),
        ms(times[runs - 1])
    );
}
