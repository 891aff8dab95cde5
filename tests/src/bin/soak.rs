//! The long soak on a bed of its own: a dashboard queried every second through the plugin while
//! faults come and go (see `pipeline_tests::soak`), then a row per minute of answers, errors,
//! latency percentiles and the plugin's RSS, threads and open files. Exits 1 on any problem:
//! an answer missing, unclear or late, the plugin gone, or growth past the bounds.
//!
//!     cargo run -p pipeline-tests --release --bin soak -- --minutes 30

use std::time::Duration;

use pipeline_tests::bed::assembly::Bed;
use pipeline_tests::cause_watch::roas_datasource;
use pipeline_tests::soak;

fn main() {
    let mut minutes = 30.0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().map(|m| m.parse::<f64>())) {
            ("--minutes", Some(Ok(m))) if m > 0.0 => minutes = m,
            _ => {
                eprintln!("usage: soak [--minutes M] (default 30)");
                std::process::exit(2);
            }
        }
    }
    let bed = Bed::start("soak");
    let ds = roas_datasource(&bed.kafka().bootstrap(), &bed.roas.flink().rest_url());
    let length = Duration::from_secs_f64(minutes * 60.0);
    eprintln!("soak: {minutes} min, faults held 30 s each");
    let report = soak::run(&bed, ds, length, Duration::from_secs(30));
    println!("{}", report.table(60.0));
    for (at, what) in &report.actions {
        println!("{at:>6.0} s  {what}");
    }
    let problems = report.problems();
    let grew = report.growth();
    println!(
        "soak: {} panel answers, {} problems, growth: {}, plugin exited: {}",
        report.replies.len(),
        problems.len(),
        if grew.is_empty() {
            "none".to_string()
        } else {
            grew.join("; ")
        },
        report.plugin_exited
    );
    if report.plugin_exited {
        println!("the plugin's last words:\n{}", report.last_words);
    }
    for p in problems.iter().take(20) {
        println!("  {p}");
    }
    if !problems.is_empty() {
        println!("the plugin's HTTP/2 errors:\n{}", report.connection_log);
    }
    if !problems.is_empty() || !grew.is_empty() || report.plugin_exited {
        std::process::exit(1);
    }
}
